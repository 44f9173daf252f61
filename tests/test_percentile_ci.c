/* Confidence intervals of the /summary percentiles (results.h, "Percentile
 * intervals"): sectioning over replications against a hand computation,
 * over the batches of one replication against an independent computation,
 * the section-size rule (NaN below it), the rows that get no interval,
 * itl_token_s, compact mode (intervals kept across a replication's
 * add_run, and the histogram's resolution in the half-width), late records,
 * and the coverage of the 95% intervals on exponential samples, judged
 * against a 99% binomial acceptance band. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "llmsim/results.h"

#include "../analysis/src/sketch.h" /* private to analysis/: its bounds tested here */

#define T975_2 4.302652729911275 /* t_{0.975, 2} */
#define T975_9 2.262157162798205 /* t_{0.975, 9} */

static struct sim_class_cfg classes[1];
static struct sim_deployment_cfg deployments[1];

/* One class (chat), one self-hosted deployment (gpu). */
static struct ana_stats *alloc_stats(void)
{
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    memset(classes, 0, sizeof classes);
    memset(deployments, 0, sizeof deployments);
    snprintf(sc.name, sizeof sc.name, "pct-ci");
    snprintf(classes[0].name, sizeof classes[0].name, "chat");
    snprintf(deployments[0].name, sizeof deployments[0].name, "gpu");
    deployments[0].kind = SIM_DEPLOY_SELF_HOSTED;
    sc.replications = 1;
    sc.workload.n_classes = 1;
    sc.workload.classes = classes;
    sc.n_deployments = 1;
    sc.deployments = deployments;
    struct ana_stats *s = NULL;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    return s;
}

/* A served request of replication rep whose latencies are all v. */
static void add(struct ana_stats *s, int rep, double v)
{
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    r.replication = rep;
    r.session = -1;
    r.ttft_s = r.e2e_s = r.queue_s = r.mean_itl_s = v;
    r.first_token_s = v;
    r.done_s = 2 * v;
    r.input_tokens = 100;
    r.output_tokens = 2;
    ck_assert_int_eq(ana_stats_add(s, &r), 0);
}

static void add_run(struct ana_stats *s, int rep)
{
    struct sim_deployment_stats ds = {0};
    struct sim_world_stats ws = {.makespan_s = 100.0, .n_deployments = 1, .deployments = &ds};
    ck_assert_int_eq(ana_stats_add_run(s, (uint32_t)rep, &ws), 0);
}

static void add_iter(struct ana_stats *s, int rep, double dur, double tokens)
{
    struct sim_iter_record it = {
        .replication = rep, .deployment = 0, .start_s = 1.0, .itl_s = dur, .decode_tokens = tokens};
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), 0);
}

static struct ana_summary_row row_of(struct ana_stats *s, const char *metric)
{
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    const struct ana_summary_row *r = ana_summary_find(rows, n, "all", metric);
    ck_assert_msg(r != NULL, "no row %s", metric);
    struct ana_summary_row copy = *r;
    free(rows);
    return copy;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type 7 of x[0..n-1], sorted here (an implementation independent of stats.c). */
static double pct7(double *x, size_t n, double p)
{
    qsort(x, n, sizeof *x, cmp_d);
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    return lo + 1 < n ? x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]) : x[n - 1];
}

/* Three replications of 20 samples: 1..20, 2..21 and 4..23.  Their medians
 * are 10.5, 11.5 and 13.5; the pooled median (h = 29.5 of 60) is 12, since
 * 29 samples are <= 11 and 32 are <= 12.  Sectioning about 12: S^2 =
 * (2.25 + 0.25 + 2.25) / 2 = 2.375, half-width t_{0.975,2} S / sqrt(3).
 * 20 samples per replication are too few for p90 and beyond (100, 200,
 * 1000 needed). */
START_TEST(test_replications_by_hand)
{
    struct ana_stats *s = alloc_stats();
    const int first[3] = {1, 2, 4};
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < 20; i++)
            add(s, rep, first[rep] + (i * 7) % 20); /* scrambled order */
    struct ana_summary_row r = row_of(s, "ttft_s");
    ck_assert_double_eq_tol(r.p50, 12.0, 1e-12);
    ck_assert_double_eq_tol(r.p50_ci95, T975_2 * sqrt(2.375) / sqrt(3.0), 1e-9);
    ck_assert(isnan(r.p90_ci95) && isnan(r.p95_ci95) && isnan(r.p99_ci95));
    /* The same in every scope that holds these samples. */
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    const struct ana_summary_row *c = ana_summary_find(rows, n, "class:chat", "e2e_s");
    ck_assert_double_eq_tol(c->p50_ci95, r.p50_ci95, 1e-12);
    free(rows);
    ana_stats_free(s);
}
END_TEST

/* Three replications of 1000 samples each, every percentile defined:
 * against the formula computed here from each replication's own type-7
 * percentile and the pooled one. */
START_TEST(test_replications_formula)
{
    struct ana_stats *s = alloc_stats();
    static double all[3000], one[1000];
    const double p[4] = {0.50, 0.90, 0.95, 0.99};
    double rq[4][3];
    uint64_t x = 88172645463325252ULL; /* xorshift64 */
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < 1000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            double v = -log((double)((x >> 11) + 1) * 0x1p-53) * (1 + 0.2 * rep);
            add(s, rep, v);
            all[rep * 1000 + i] = one[i] = v;
        }
        for (int j = 0; j < 4; j++)
            rq[j][rep] = pct7(one, 1000, p[j]);
    }
    struct ana_summary_row r = row_of(s, "e2e_s");
    const double got[4] = {r.p50_ci95, r.p90_ci95, r.p95_ci95, r.p99_ci95};
    const double pooled[4] = {r.p50, r.p90, r.p95, r.p99};
    for (int j = 0; j < 4; j++) {
        double q = pct7(all, 3000, p[j]), ss = 0;
        ck_assert_double_eq_tol(pooled[j], q, 1e-12 * q);
        for (int rep = 0; rep < 3; rep++)
            ss += (rq[j][rep] - q) * (rq[j][rep] - q);
        double want = T975_2 * sqrt(ss / 2) / sqrt(3.0);
        ck_assert_msg(fabs(got[j] - want) <= 1e-9 * want, "p%g: %.12g, want %.12g", 100 * p[j],
                      got[j], want);
    }
    ana_stats_free(s);
}
END_TEST

/* One replication of 205 samples: five early outliers left out of the
 * batches (but not out of the pooled median), then 1..200 in order, so
 * batch j holds 20j+1 .. 20j+20 with median 20j + 10.5.  The pooled median
 * (h = 102 of 205) is 103. */
START_TEST(test_one_replication_batches)
{
    struct ana_stats *s = alloc_stats();
    for (int i = 0; i < 5; i++)
        add(s, 0, 1000.0);
    for (int i = 1; i <= 200; i++)
        add(s, 0, i);
    struct ana_summary_row r = row_of(s, "queue_s");
    ck_assert_double_eq_tol(r.p50, 103.0, 1e-12);
    double ss = 0;
    for (int j = 0; j < 10; j++)
        ss += (20.0 * j + 10.5 - 103.0) * (20.0 * j + 10.5 - 103.0);
    ck_assert_double_eq_tol(r.p50_ci95, T975_9 * sqrt(ss / 9) / sqrt(10.0), 1e-9);
    ck_assert(isnan(r.p90_ci95)); /* batches of 20 < 100 */
    ana_stats_free(s);
}
END_TEST

/* The section-size rule: each batch (one replication) or replication must
 * hold ceil(10 / min(p, 1 - p)) samples: 20, 100, 200, 1000. */
START_TEST(test_section_rule)
{
    const int n[] = {199, 200, 999, 1000, 1999, 2000, 9999, 10000};
    for (size_t c = 0; c < sizeof n / sizeof n[0]; c++) {
        struct ana_stats *s = alloc_stats();
        for (int i = 0; i < n[c]; i++)
            add(s, 0, 1.0 + (i * 7919) % 1000);
        struct ana_summary_row r = row_of(s, "ttft_s");
        int b = n[c] / 10;
        ck_assert_msg(isnan(r.p50_ci95) == (b < 20), "n %d p50 %g", n[c], r.p50_ci95);
        ck_assert_msg(isnan(r.p90_ci95) == (b < 100), "n %d p90 %g", n[c], r.p90_ci95);
        ck_assert_msg(isnan(r.p95_ci95) == (b < 200), "n %d p95 %g", n[c], r.p95_ci95);
        ck_assert_msg(isnan(r.p99_ci95) == (b < 1000), "n %d p99 %g", n[c], r.p99_ci95);
        ana_stats_free(s);
    }
    /* Replications: the smallest one decides (19 < 20 for p50). */
    struct ana_stats *s = alloc_stats();
    for (int i = 0; i < 500; i++)
        add(s, 0, i);
    for (int i = 0; i < 19; i++)
        add(s, 1, i);
    ck_assert(isnan(row_of(s, "ttft_s").p50_ci95));
    add(s, 1, 19);
    ck_assert(isfinite(row_of(s, "ttft_s").p50_ci95));
    ana_stats_free(s);
    /* No sample, one sample: NaN. */
    s = alloc_stats();
    ck_assert(isnan(row_of(s, "ttft_s").p50_ci95));
    add(s, 0, 1.0);
    ck_assert(isnan(row_of(s, "ttft_s").p50_ci95));
    ana_stats_free(s);
}
END_TEST

/* Rows whose percentiles are over the replications' values (run-level
 * figures, rejected, the ratio-of-sums rows) get no percentile interval. */
START_TEST(test_rows_without)
{
    struct ana_stats *s = alloc_stats();
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < 50; i++)
            add(s, rep, 1.0 + i + rep);
        add_run(s, rep);
    }
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    const char *none[] = {"throughput_rps", "cost_per_1k_usd", "rejected", "cache_hit_tokens",
                          "savings_pct"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        const struct ana_summary_row *r = ana_summary_find(rows, n, "all", none[i]);
        ck_assert_msg(r && isfinite(r->p50) && isfinite(r->ci95), "%s", none[i]);
        ck_assert_msg(isnan(r->p50_ci95) && isnan(r->p90_ci95) && isnan(r->p95_ci95) &&
                          isnan(r->p99_ci95),
                      "%s", none[i]);
    }
    ck_assert(isfinite(ana_summary_find(rows, n, "all", "ttft_s")->p50_ci95));
    free(rows);
    ana_stats_free(s);
}
END_TEST

/* itl_token_s: none with one replication; with identical replications the
 * sections agree and the half-width is the histogram's resolution alone,
 * (sqrt(1.01) - 1) x the percentile; a replication's iterations after its
 * add_run take it out (NaN with two). */
START_TEST(test_itl_token)
{
    struct ana_stats *s = alloc_stats();
    for (int i = 0; i < 300; i++)
        add_iter(s, 0, 0.010 + 0.0001 * (i % 97), 1 + i % 5);
    struct ana_summary_row r = row_of(s, "itl_token_s");
    ck_assert(isfinite(r.p50) && isnan(r.p50_ci95));
    for (int i = 0; i < 300; i++)
        add_iter(s, 1, 0.010 + 0.0001 * (i % 97), 1 + i % 5);
    r = row_of(s, "itl_token_s");
    const double pct[4] = {r.p50, r.p90, r.p95, r.p99},
                 hw[4] = {r.p50_ci95, r.p90_ci95, r.p95_ci95, r.p99_ci95};
    for (int j = 0; j < 3; j++) /* 300 iterations: enough for p50, p90 and p95 */
        ck_assert_double_eq_tol(hw[j], (sqrt(1.01) - 1) * pct[j], 1e-12 * pct[j]);
    ck_assert(isnan(hw[3]));
    /* A replication that differs: wider. */
    for (int i = 0; i < 300; i++)
        add_iter(s, 2, 0.012 + 0.0001 * (i % 97), 1 + i % 5);
    struct ana_summary_row before = row_of(s, "itl_token_s");
    ck_assert(before.p50_ci95 > 0.0001);
    /* Closed replications keep their percentiles. */
    for (int rep = 0; rep < 3; rep++)
        add_run(s, rep);
    struct ana_summary_row after = row_of(s, "itl_token_s");
    ck_assert_double_eq_tol(after.p50_ci95, before.p50_ci95, 1e-15);
    ck_assert_double_eq_tol(after.p95_ci95, before.p95_ci95, 1e-15);
    add_iter(s, 0, 0.5, 1); /* late */
    ck_assert(isnan(row_of(s, "itl_token_s").p50_ci95));
    ana_stats_free(s);
}
END_TEST

/* Compact mode: the same intervals whether or not replications closed
 * (add_run) before the summary, and whether compact mode began before or
 * after they closed; within the 0.5% resolution of identical replications;
 * a late sample takes its replication out. */
START_TEST(test_compact)
{
    struct ana_stats *a = alloc_stats(), *b = alloc_stats(), *c = alloc_stats();
    ana_stats_set_exact_limit(a, 0);    /* compact from the start, never closed */
    ana_stats_set_exact_limit(b, 0);    /* compact from the start, closed */
    ana_stats_set_exact_limit(c, 3500); /* compact after two closed replications, in the third */
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    for (int rep = 0; rep < 4; rep++) {
        for (int i = 0; i < 1200; i++) {
            double v = gsl_ran_exponential(g, 1.0);
            add(a, rep, v);
            add(b, rep, v);
            add(c, rep, v);
        }
        add_run(b, rep);
        add_run(c, rep);
    }
    ck_assert(ana_stats_compact(a) && ana_stats_compact(b) && ana_stats_compact(c));
    struct ana_summary_row ra = row_of(a, "ttft_s"), rb = row_of(b, "ttft_s"),
                           rc = row_of(c, "ttft_s");
    const double ha[4] = {ra.p50_ci95, ra.p90_ci95, ra.p95_ci95, ra.p99_ci95},
                 hb[4] = {rb.p50_ci95, rb.p90_ci95, rb.p95_ci95, rb.p99_ci95},
                 hc[4] = {rc.p50_ci95, rc.p90_ci95, rc.p95_ci95, rc.p99_ci95};
    for (int j = 0; j < 4; j++) {
        ck_assert_msg(isfinite(ha[j]) && ha[j] > 0, "p%d %g", j, ha[j]);
        ck_assert_double_eq_tol(hb[j], ha[j], 1e-12 * ha[j]);
        ck_assert_double_eq_tol(hc[j], ha[j], 1e-12 * ha[j]);
    }
    /* One replication: batches of the running or the closed replication. */
    struct ana_stats *d = alloc_stats(), *e = alloc_stats();
    ana_stats_set_exact_limit(d, 0);
    ana_stats_set_exact_limit(e, 0);
    for (int i = 0; i < 3000; i++) {
        double v = gsl_ran_exponential(g, 1.0);
        add(d, 0, v);
        add(e, 0, v);
    }
    add_run(e, 0);
    struct ana_summary_row rd = row_of(d, "ttft_s"), re = row_of(e, "ttft_s");
    ck_assert(isfinite(rd.p95_ci95) && isnan(rd.p99_ci95)); /* 11 batches of 256 */
    ck_assert_double_eq_tol(re.p50_ci95, rd.p50_ci95, 1e-12 * rd.p50_ci95);
    ck_assert_double_eq_tol(re.p95_ci95, rd.p95_ci95, 1e-12 * rd.p95_ci95);
    add(e, 0, 1.0); /* late: the batches no longer cover the replication */
    ck_assert(isnan(row_of(e, "ttft_s").p50_ci95));
    add(b, 2, 1.0); /* late in replication 2: it leaves the sections, so NaN */
    ck_assert(isnan(row_of(b, "ttft_s").p50_ci95));
    /* Identical replications: only the resolution term, under 0.5%. */
    struct ana_stats *f = alloc_stats();
    ana_stats_set_exact_limit(f, 0);
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < 500; i++)
            add(f, rep, 0.1 + 0.01 * (i % 50));
    struct ana_summary_row rf = row_of(f, "ttft_s");
    ck_assert(rf.p50_ci95 > 0 && rf.p50_ci95 <= 0.0051 * rf.p50);
    gsl_rng_free(g);
    ana_stats_free(a);
    ana_stats_free(b);
    ana_stats_free(c);
    ana_stats_free(d);
    ana_stats_free(e);
    ana_stats_free(f);
}
END_TEST

/* The histogram pieces the compact intervals rest on (sketch.h): the bound
 * ana_vhist_quantile_err holds against the exact type-7 quantile, on values
 * of both signs, zeros and ties; the spread quantile stays within a factor
 * 1.01 of the exact one; ana_qbatch keeps the batches of ana_bmeans and
 * every value. */
START_TEST(test_sketch_bounds)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 3);
    static double x[20000];
    const double ps[] = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
    for (int c = 0; c < 4; c++) {
        struct ana_vhist h = {0};
        size_t n = c == 3 ? 7 : 20000;
        for (size_t i = 0; i < n; i++) {
            double v = c == 0   ? gsl_ran_exponential(g, 2.0)
                       : c == 1 ? gsl_ran_gaussian(g, 3.0)              /* both signs */
                       : c == 2 ? (double)gsl_rng_uniform_int(g, 5) - 1 /* ties, zeros */
                                : 100 + gsl_rng_uniform(g);
            x[i] = v;
            ck_assert_int_eq(ana_vhist_add(&h, v), 0);
        }
        qsort(x, n, sizeof *x, cmp_d);
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
            double exact = pct7(x, n, ps[j]), got = ana_vhist_quantile(&h, ps[j]);
            double err = ana_vhist_quantile_err(&h, ps[j]),
                   sm = ana_vhist_quantile_smooth(&h, ps[j]);
            ck_assert_msg(fabs(got - exact) <= err, "case %d p %g: %.12g vs %.12g, bound %g", c,
                          ps[j], got, exact, err);
            /* under 0.5% of the neighbouring stand-ins, here within 1 of the quantile */
            ck_assert_msg(err <= 0.005 * fabs(got) + 0.005 * 1.01 + 1e-12, "case %d p %g: bound %g",
                          c, ps[j], err);
            ck_assert_msg(fabs(sm - exact) <= 0.0101 * fabs(exact) + 1e-12,
                          "case %d p %g: %.12g vs %.12g", c, ps[j], sm, exact);
        }
        ana_vhist_free(&h);
    }
    /* One value: exact, no error. */
    struct ana_vhist one = {0};
    ck_assert_int_eq(ana_vhist_add(&one, 2.5), 0);
    ck_assert_double_eq(ana_vhist_quantile_err(&one, 0.99), 0);
    ck_assert_double_eq(ana_vhist_quantile_smooth(&one, 0.99), 2.5);
    ana_vhist_free(&one);
    /* Batches. */
    struct ana_qbatch q;
    struct ana_bmeans bm;
    struct ana_vhist pooled = {0}, all;
    memset(&q, 0, sizeof q);
    memset(&bm, 0, sizeof bm);
    for (int i = 0; i < 12345; i++) {
        double v = gsl_ran_exponential(g, 1.0);
        ck_assert_int_eq(ana_qbatch_add(&q, v, &pooled), 0);
        ana_bmeans_add(&bm, v);
    }
    double means[2 * ANA_BM_BATCHES];
    ck_assert_uint_eq(q.nb, ana_bmeans_get(&bm, means));
    ck_assert_uint_eq(q.bsize, bm.bsize);
    ck_assert_uint_eq(pooled.n, 12345);
    uint64_t sum = q.cur.n;
    for (uint32_t b = 0; b < q.nb; b++) {
        ck_assert_uint_eq(q.b[b].n, q.bsize);
        sum += q.b[b].n;
    }
    ck_assert_uint_eq(sum, 12345);
    ck_assert_int_eq(ana_qbatch_all(&q, &all), 0);
    ck_assert_uint_eq(all.n, 12345);
    ck_assert_double_eq(ana_vhist_quantile(&all, 0.9), ana_vhist_quantile(&pooled, 0.9));
    ana_vhist_free(&all);
    ana_vhist_free(&pooled);
    ana_qbatch_free(&q);
    gsl_rng_free(g);
}
END_TEST

/* The acceptance band [lo, hi] of Binomial(n, q) at level 1 - alpha:
 * P(X < lo) <= alpha / 2 and P(X > hi) <= alpha / 2, lo as large and hi
 * as small as can be. */
static void binomial_band(unsigned n, double q, double alpha, unsigned *lo, unsigned *hi)
{
    *lo = 0;
    while (*lo < n && gsl_cdf_binomial_P(*lo, q, n) <= alpha / 2) /* P(X <= lo) = P(X < lo + 1) */
        (*lo)++;
    *hi = 0;
    while (*hi < n && gsl_cdf_binomial_Q(*hi, q, n) > alpha / 2) /* P(X > hi) */
        (*hi)++;
}

/* How many of `experiments` runs of reps x n iid exponential samples (mean
 * 1) have p95 +- p95_ci95 around the true -ln(0.05) (and likewise p50 in
 * *cover50). */
static unsigned coverage(unsigned experiments, int reps, int n, int compact, unsigned *cover50)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 1);
    const double q95 = -log(0.05), q50 = log(2.0);
    unsigned hit = 0;
    *cover50 = 0;
    for (unsigned e = 0; e < experiments; e++) {
        struct ana_stats *s = alloc_stats();
        if (compact)
            ana_stats_set_exact_limit(s, 0);
        for (int rep = 0; rep < reps; rep++)
            for (int i = 0; i < n; i++)
                add(s, rep, gsl_ran_exponential(g, 1.0));
        struct ana_summary_row r = row_of(s, "ttft_s");
        ck_assert(isfinite(r.p95_ci95) && isfinite(r.p50_ci95));
        hit += fabs(r.p95 - q95) <= r.p95_ci95;
        *cover50 += fabs(r.p50 - q50) <= r.p50_ci95;
        ana_stats_free(s);
    }
    gsl_rng_free(g);
    return hit;
}

/* 400 experiments of one replication x 5000 samples (batches of 500), and
 * 200 of 5 replications x 1000 and of compact mode: the number of
 * intervals that cover the true percentile (p95 and p50) must be in the
 * acceptance band of Binomial(experiments, 0.95).  Compact mode widens by
 * the histogram's resolution, so there the number must only not fall below
 * the band.  Six checks share a 1% chance of failing a correct method
 * (Bonferroni: each band at 1 - 0.01 / 6); the seed is fixed, so the
 * outcome does not change from run to run. */
START_TEST(test_coverage)
{
    unsigned lo, hi, c50;
    binomial_band(400, 0.95, 0.01 / 6, &lo, &hi);
    ck_assert(lo < 380 && hi > 380 && hi < 400);
    unsigned c = coverage(400, 1, 5000, 0, &c50);
    printf("coverage, exact, 1 x 5000: p95 %u/400, p50 %u/400 (band %u..%u)\n", c, c50, lo, hi);
    ck_assert_msg(c >= lo && c <= hi, "p95 covered %u of 400, band %u..%u", c, lo, hi);
    ck_assert_msg(c50 >= lo && c50 <= hi, "p50 covered %u of 400, band %u..%u", c50, lo, hi);
    binomial_band(200, 0.95, 0.01 / 6, &lo, &hi);
    ck_assert(lo < 190 && hi > 190 && hi < 200);
    c = coverage(200, 5, 1000, 0, &c50);
    printf("coverage, exact, 5 x 1000: p95 %u/200, p50 %u/200 (band %u..%u)\n", c, c50, lo, hi);
    ck_assert_msg(c >= lo && c <= hi, "p95 covered %u of 200, band %u..%u", c, lo, hi);
    ck_assert_msg(c50 >= lo && c50 <= hi, "p50 covered %u of 200, band %u..%u", c50, lo, hi);
    c = coverage(200, 1, 5000, 1, &c50);
    printf("coverage, compact, 1 x 5000: p95 %u/200, p50 %u/200\n", c, c50);
    ck_assert_msg(c >= lo && c50 >= lo, "compact: p95 %u, p50 %u of 200, band from %u", c, c50, lo);
}
END_TEST

static Suite *pct_suite(void)
{
    Suite *s = suite_create("percentile_ci");
    TCase *tc = tcase_create("percentile_ci");
    tcase_set_timeout(tc, 600); /* the coverage experiments are slow under the sanitizers */
    tcase_add_test(tc, test_replications_by_hand);
    tcase_add_test(tc, test_replications_formula);
    tcase_add_test(tc, test_one_replication_batches);
    tcase_add_test(tc, test_section_rule);
    tcase_add_test(tc, test_rows_without);
    tcase_add_test(tc, test_itl_token);
    tcase_add_test(tc, test_compact);
    tcase_add_test(tc, test_sketch_bounds);
    tcase_add_test(tc, test_coverage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pct_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
