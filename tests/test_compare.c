/* llmsim compare: natural order, flattened scenarios and labels, the
 * confidence intervals of differences (against hand computations), per-group
 * figures read back from /requests, and the command itself on results files
 * written here with known differences: a shift that is significant under
 * common random numbers, replications in another order (no difference:
 * pooled figures equal, not significant, paired and unpaired), CSV and JSON
 * shapes, and every documented error path. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "llmsim/compare.h"
#include "llmsim/record.h"
#include "llmsim/results.h"
#include "testutil.h"

#define T975_3 3.182446305284263 /* t_{0.975, 3} */
#define T975_6 2.446911851144969 /* t_{0.975, 6} */

/* ---- natural order ---------------------------------------------------- */

START_TEST(test_natural_order)
{
    ck_assert_int_lt(ana_natural_cmp("file2", "file10"), 0);
    ck_assert_int_gt(ana_natural_cmp("file10", "file9"), 0);
    ck_assert_int_eq(ana_natural_cmp("run-3.h5", "run-3.h5"), 0);
    ck_assert_int_lt(ana_natural_cmp("a7", "a07"), 0); /* equal values: fewer zeros first */
    ck_assert_int_lt(ana_natural_cmp("x1y2", "x1y10"), 0);
    ck_assert_int_lt(ana_natural_cmp("abc", "abd"), 0);
    ck_assert_int_lt(ana_natural_cmp("ab", "abc"), 0);
    ck_assert_int_lt(ana_natural_cmp("r99999999999999999999", "r100000000000000000000"), 0);
    ck_assert_int_lt(ana_natural_cmp(NULL, "a"), 0);
    ck_assert_int_eq(ana_natural_cmp(NULL, NULL), 0);

    const char *names[] = {"s10.h5", "s2.h5", "s1.h5", "s100.h5", "s9.h5", "a.h5"};
    const char *want[] = {"a.h5", "s1.h5", "s2.h5", "s9.h5", "s10.h5", "s100.h5"};
    size_t n = sizeof names / sizeof names[0];
    for (size_t i = 1; i < n; i++) /* insertion sort with the comparison */
        for (size_t j = i; j > 0 && ana_natural_cmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(names[i], want[i]);
}
END_TEST

/* ---- flattening and labels -------------------------------------------- */

START_TEST(test_flatten)
{
    static const char doc[] = "# comment\n"
                              "name: \"x\"\n"
                              "seed: 42\n"
                              "horizon: {duration_s: 600, warmup_s: 60}\n"
                              "workload:\n"
                              "  classes:\n"
                              "    - name: chat\n"
                              "      prompt:\n"
                              "        - {segment: system, tokens: 1200}\n"
                              "        - {segment: q, tokens: {dist: lognormal, mean: 80}}\n"
                              "routing: {policy: cascade, tiers: [haiku, sonnet]}\n"
                              "empty: {}\n"
                              "none: []\n";
    struct ana_flat f;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(ana_flat_yaml(doc, &f, &err), 0);
    ck_assert_str_eq(ana_flat_get(&f, "name"), "x");
    ck_assert_str_eq(ana_flat_get(&f, "seed"), "42");
    ck_assert_str_eq(ana_flat_get(&f, "horizon.warmup_s"), "60");
    ck_assert_str_eq(ana_flat_get(&f, "workload.classes.chat.name"), "chat");
    ck_assert_str_eq(ana_flat_get(&f, "workload.classes.chat.prompt.0.tokens"), "1200");
    ck_assert_str_eq(ana_flat_get(&f, "workload.classes.chat.prompt.1.tokens.dist"), "lognormal");
    ck_assert_str_eq(ana_flat_get(&f, "routing.tiers"), "[haiku, sonnet]");
    ck_assert_str_eq(ana_flat_get(&f, "empty"), "{}");
    ck_assert_str_eq(ana_flat_get(&f, "none"), "[]");
    ck_assert_ptr_null(ana_flat_get(&f, "routing"));
    ck_assert_str_eq(f.e[0].key, "name"); /* document order */
    ck_assert_str_eq(f.e[f.n - 1].key, "none");
    ana_flat_free(&f);
    ana_flat_free(&f); /* twice is harmless */
    ana_flat_free(NULL);

    ck_assert_int_eq(ana_flat_yaml("a: [1, 2\nb: 3\n", &f, &err), LLMSIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "not YAML") != NULL, "message: %s", err.msg);
    ck_assert_int_gt(err.line, 0);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_int_eq(ana_flat_yaml(NULL, &f, &err), LLMSIM_EINVAL);

    /* Deeper than the limit. */
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    ck_assert_int_eq(ana_flat_yaml(deep, &f, &err), LLMSIM_EINVAL); /* unclosed: not YAML */
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    ck_assert_int_eq(ana_flat_yaml(deep, &f, &err), LLMSIM_ELIMIT);
}
END_TEST

/* Resolved scenarios as llmsim writes them, cut down. */
#define RESOLVED(name, seed, rate, gpu, mem, mfu, tp, path)                                        \
    "name: \"" name "\"\n"                                                                         \
    "description: \"about " name "\"\n"                                                            \
    "seed: " seed "\n"                                                                             \
    "workload:\n"                                                                                  \
    "  arrivals: {process: poisson, rate_per_s: " rate "}\n"                                       \
    "  classes:\n"                                                                                 \
    "    - name: \"chat\"\n"                                                                       \
    "      output_tokens: {dist: lognormal, mean: 250, max: 4096}\n"                               \
    "    - name: \"code\"\n"                                                                       \
    "      output_tokens: {dist: lognormal, mean: 600, max: 4096}\n"                               \
    "deployments:\n"                                                                               \
    "  - name: \"llama\"\n"                                                                        \
    "    kind: self-hosted\n"                                                                      \
    "    gpu: {id: \"" gpu "\", memory_gib: " mem ", hour_usd: 2}\n"                               \
    "    latency: {model: roofline, mfu: " mfu "}\n"                                               \
    "    replicas: 2\n"                                                                            \
    "    tp: " tp "\n"                                                                             \
    "output: {path: \"" path "\", requests: true}\n"

START_TEST(test_labels)
{
    const char *docs[3] = {
        RESOLVED("cap", "7", "2", "h100-sxm", "79.19", "0.66300000000000003", "4", "a.h5"),
        RESOLVED("cap", "7", "2.5", "h100-sxm", "79.19", "0.66300000000000003", "4", "b.h5"),
        RESOLVED("cap", "7", "2", "h200", "139.81", "0.5", "2", "c.h5"),
    };
    struct ana_flat f[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ana_flat_yaml(docs[i], &f[i], NULL), 0);
    const char **keys = NULL;
    size_t nk = 0;
    ck_assert_int_eq(ana_flat_differing(f, 3, &keys, &nk), 0);
    /* The rate, the GPU by its id (memory, price and latency come with it),
     * tp; not output.path. */
    ck_assert_uint_eq(nk, 3);
    ck_assert_str_eq(keys[0], "workload.arrivals.rate_per_s");
    ck_assert_str_eq(keys[1], "deployments.llama.gpu.id");
    ck_assert_str_eq(keys[2], "deployments.llama.tp");
    char *l0 = ana_flat_label(f, 3, 0, keys, nk, 90);
    char *l1 = ana_flat_label(f, 3, 1, keys, nk, 90);
    char *l2 = ana_flat_label(f, 3, 2, keys, nk, 90);
    ck_assert_str_eq(l0, "arrivals.rate_per_s=2, llama.gpu=h100-sxm, llama.tp=4");
    ck_assert_str_eq(l1, "arrivals.rate_per_s=2.5, llama.gpu=h100-sxm, llama.tp=4");
    ck_assert_str_eq(l2, "arrivals.rate_per_s=2, llama.gpu=h200, llama.tp=2");
    free(l2);
    /* Too long: what does not fit is counted. */
    l2 = ana_flat_label(f, 3, 2, keys, nk, 40);
    ck_assert_str_eq(l2, "arrivals.rate_per_s=2, +2 more");
    free(l0);
    free(l1);
    free(l2);
    free(keys);

    /* Two files alike but for a class's output cap: the key is long enough
     * to tell the classes apart. */
    struct ana_flat g[2];
    ck_assert_int_eq(ana_flat_yaml(docs[0], &g[0], NULL), 0);
    ck_assert_int_eq(ana_flat_yaml("name: \"cap\"\n"
                                   "workload:\n"
                                   "  classes:\n"
                                   "    - name: \"chat\"\n"
                                   "      output_tokens: {dist: lognormal, mean: 250, max: 1024}\n"
                                   "output: {path: \"x.h5\", requests: false}\n",
                                   &g[1], NULL),
                     0);
    ck_assert_int_eq(ana_flat_differing(g, 2, &keys, &nk), 0);
    int found = 0;
    for (size_t k = 0; k < nk; k++) {
        found |= strcmp(keys[k], "workload.classes.chat.output_tokens.max") == 0;
        /* output settings change no figure: not listed beside other keys */
        ck_assert_msg(strncmp(keys[k], "output.", 7) != 0, "%s listed", keys[k]);
    }
    ck_assert(found);
    free(keys);
    ana_flat_free(&g[1]);
    ck_assert_int_eq(ana_flat_yaml("name: \"cap\"\nseed: 7\n", &g[1], NULL), 0);
    /* A file that lacks every differing key: "(none)". */
    ana_flat_free(&g[0]);
    ck_assert_int_eq(ana_flat_yaml("name: \"cap\"\nseed: 7\nslo: {ttft_ms: 300}\n", &g[0], NULL),
                     0);
    ck_assert_int_eq(ana_flat_differing(g, 2, &keys, &nk), 0);
    ck_assert_uint_eq(nk, 1);
    l0 = ana_flat_label(g, 2, 0, keys, nk, 90);
    l1 = ana_flat_label(g, 2, 1, keys, nk, 90);
    ck_assert_str_eq(l0, "slo.ttft_ms=300");
    ck_assert_str_eq(l1, "slo.ttft_ms=(none)");
    free(l0);
    free(l1);
    free(keys);
    /* Only output settings differ: then they are the label; the name
     * differs: the description is not listed. */
    ana_flat_free(&g[0]);
    ana_flat_free(&g[1]);
    ck_assert_int_eq(
        ana_flat_yaml("name: a\ndescription: x\noutput: {requests: true}\n", &g[0], NULL), 0);
    ck_assert_int_eq(
        ana_flat_yaml("name: a\ndescription: x\noutput: {requests: false}\n", &g[1], NULL), 0);
    ck_assert_int_eq(ana_flat_differing(g, 2, &keys, &nk), 0);
    ck_assert_uint_eq(nk, 1);
    ck_assert_str_eq(keys[0], "output.requests");
    free(keys);
    ana_flat_free(&g[1]);
    ck_assert_int_eq(
        ana_flat_yaml("name: b\ndescription: y\noutput: {requests: false}\n", &g[1], NULL), 0);
    ck_assert_int_eq(ana_flat_differing(g, 2, &keys, &nk), 0);
    ck_assert_uint_eq(nk, 1);
    ck_assert_str_eq(keys[0], "name");
    free(keys);
    /* Nothing differs: empty labels (the command falls back to file names). */
    ck_assert_int_eq(ana_flat_differing(g, 1, &keys, &nk), 0);
    ck_assert_uint_eq(nk, 0);
    l0 = ana_flat_label(g, 1, 0, keys, nk, 90);
    ck_assert_str_eq(l0, "");
    free(l0);
    free(keys);
    ana_flat_free(&g[0]);
    ana_flat_free(&g[1]);
    for (int i = 0; i < 3; i++)
        ana_flat_free(&f[i]);
}
END_TEST

/* ---- differences ------------------------------------------------------ */

START_TEST(test_diff_ci)
{
    /* Paired: d = {0.1, 0.3, 0.2, 0.4}, mean 0.25, sd sqrt(0.05 / 3). */
    double a[] = {1.0, 2.385, 3.0, 4.5, NAN}, b[] = {1.1, 2.685, 3.2, 4.9, 7.0};
    double dof = 0;
    double hw = ana_diff_paired(a, b, 5, &dof);
    ck_assert_double_eq(dof, 3);
    ck_assert_double_eq_tol(hw, T975_3 * sqrt(0.05 / 3) / 2, 1e-9);
    ck_assert(isnan(ana_diff_paired(a, b, 1, &dof)));
    ck_assert(isnan(dof));
    /* Identical pairs: no spread. */
    ck_assert_double_eq(ana_diff_paired(a, a, 4, NULL), 0);

    /* Welch, equal sizes and variances: dof = 2 (n - 1). */
    double x[] = {1, 2, 3, 4}, y[] = {11, 12, 13, 14};
    hw = ana_diff_welch(x, 4, y, 4, &dof);
    ck_assert_double_eq_tol(dof, 6, 1e-12);
    ck_assert_double_eq_tol(hw, T975_6 * sqrt(2 * (5.0 / 3) / 4), 1e-9);
    /* Unequal: the Welch-Satterthwaite degrees of freedom. */
    double z[] = {2.0, 2.5, 9.0};
    hw = ana_diff_welch(x, 4, z, 3, &dof);
    double va = 5.0 / 3 / 4, mz = 13.5 / 3, vz = 0;
    for (int i = 0; i < 3; i++)
        vz += (z[i] - mz) * (z[i] - mz);
    vz = vz / 2 / 3;
    double nu = (va + vz) * (va + vz) / (va * va / 3 + vz * vz / 2);
    ck_assert_double_eq_tol(dof, nu, 1e-12);
    ck_assert_double_eq_tol(hw, ana_t_quantile(0.975, nu) * sqrt(va + vz), 1e-12);
    ck_assert(isnan(ana_diff_welch(x, 1, y, 4, &dof)));
    double c[] = {3, 3, 3};
    ck_assert_double_eq(ana_diff_welch(c, 3, c, 3, NULL), 0);

    /* From published half-widths: back to standard errors and combined. */
    double se_a = 0.4 / ana_t_quantile(0.975, 9), se_b = 0.3 / ana_t_quantile(0.975, 4);
    double s2 = se_a * se_a + se_b * se_b;
    nu = s2 * s2 / (pow(se_a, 4) / 9 + pow(se_b, 4) / 4);
    hw = ana_diff_welch_ci(0.4, 9, 0.3, 4, &dof);
    ck_assert_double_eq_tol(dof, nu, 1e-9);
    ck_assert_double_eq_tol(hw, ana_t_quantile(0.975, nu) * sqrt(s2), 1e-12);
    ck_assert(isnan(ana_diff_welch_ci(NAN, 9, 0.3, 4, &dof)));
    ck_assert(isnan(ana_diff_welch_ci(0.4, 0, 0.3, 4, &dof)));
    ck_assert_double_eq(ana_diff_welch_ci(0, 9, 0, 4, NULL), 0);

    /* In quadrature: sqrt(0.3^2 + 0.4^2). */
    ck_assert_double_eq_tol(ana_diff_quadrature(0.3, 0.4), 0.5, 1e-15);
    ck_assert_double_eq(ana_diff_quadrature(0, 0), 0);
    ck_assert(isnan(ana_diff_quadrature(NAN, 0.4)));
    ck_assert(isnan(ana_diff_quadrature(0.3, INFINITY)));
    ck_assert(isnan(ana_diff_quadrature(-0.3, 0.4)));
}
END_TEST

/* ---- synthetic results files ------------------------------------------ */

#define REPS 4
#define PER_REP 400

enum variant {
    V_BASE,     /* TTFT 0.5 + 0.1 u */
    V_SHIFTED,  /* + 4 ms + 1 ms of noise: significant under common random numbers */
    V_REVERSED, /* the base replications in reverse order: no difference */
};

/* A uniform in [0, 1) from (rep, i, salt) (splitmix64). */
static double unif(int rep, uint64_t i, uint64_t salt)
{
    uint64_t z = ((uint64_t)rep << 40) ^ (i << 8) ^ salt;
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static double ttft_of(enum variant v, int rep, uint64_t i)
{
    int src = v == V_REVERSED ? REPS - 1 - rep : rep;
    double t = 0.5 + 0.1 * unif(src, i, 1);
    if (v == V_SHIFTED)
        t += 0.004 + 0.001 * (unif(rep, i, 2) - 0.5);
    return t;
}

static struct sim_request_record make_req(enum variant v, int rep, uint64_t i)
{
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    int src = v == V_REVERSED ? REPS - 1 - rep : rep;
    r.id = i;
    r.replication = rep;
    r.arrival_s = 0.5 * (double)i;
    r.ttft_s = ttft_of(v, rep, i);
    r.first_token_s = r.arrival_s + r.ttft_s;
    r.e2e_s = r.ttft_s + 2.0 + 0.5 * unif(src, i, 3);
    r.done_s = r.arrival_s + r.e2e_s;
    r.mean_itl_s = (r.e2e_s - r.ttft_s) / 99;
    r.perceived_s = r.ttft_s;
    r.input_tokens = 100;
    r.output_tokens = 100;
    r.cost_output_usd = 0.001 + 0.0005 * unif(src, i, 4);
    r.cost_nocache_usd = r.cost_output_usd;
    r.success = 1;
    return r;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type 7 percentile of x[0..n-1] (sorted here). */
static double pct7(double *x, size_t n, double p)
{
    qsort(x, n, sizeof *x, cmp_d);
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    return lo + 1 < n ? x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]) : x[n - 1];
}

/* The percentile half-widths the next synthetic files' latency rows carry
 * (s; NaN: none, as files written before they existed). */
static double synth_pct_ci = NAN;

/* A summary row over values x[0..n-1] (pooled) with ci95 from per-group
 * means, and percentile half-widths synth_pct_ci x 1, 2, 3, 4. */
static struct ana_summary_row row_of(const char *metric, double *x, size_t n, const double *gm,
                                     size_t ng)
{
    struct ana_summary_row r;
    memset(&r, 0, sizeof r);
    r.p50_ci95 = synth_pct_ci;
    r.p90_ci95 = 2 * synth_pct_ci;
    r.p95_ci95 = 3 * synth_pct_ci;
    r.p99_ci95 = 4 * synth_pct_ci;
    snprintf(r.scope, sizeof r.scope, "all");
    snprintf(r.metric, sizeof r.metric, "%s", metric);
    r.count = n;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    r.mean = s / (double)n;
    r.p50 = pct7(x, n, 0.50);
    r.p90 = pct7(x, n, 0.90);
    r.p95 = pct7(x, n, 0.95);
    r.p99 = pct7(x, n, 0.99);
    double m = 0, v = 0;
    for (size_t g = 0; g < ng; g++)
        m += gm[g] / (double)ng;
    for (size_t g = 0; g < ng; g++)
        v += (gm[g] - m) * (gm[g] - m) / (double)(ng - 1);
    r.ci95 = ng >= 2 ? ana_t_quantile(0.975, (double)(ng - 1)) * sqrt(v / (double)ng) : NAN;
    return r;
}

/* Writes a results file of variant v: seed, replicas (the scenario key that
 * sets files apart), complete or not, with or without /requests. */
static void write_synth(const char *path, enum variant v, uint64_t seed, int replicas, int ok,
                        int requests)
{
    static const char *const cls[] = {"chat"}, *const dep[] = {"api"};
    char resolved[512];
    snprintf(resolved, sizeof resolved,
             "name: \"synth\"\nseed: %llu\nreplications: %d\n"
             "horizon: {duration_s: 200, warmup_s: 0}\n"
             "deployments:\n  - name: \"api\"\n    kind: api\n    replicas: %d\n"
             "output: {path: \"%s\", requests: %s}\n",
             (unsigned long long)seed, REPS, replicas, path, requests ? "true" : "false");
    struct ana_h5_meta meta = {
        .scenario_name = "synth",
        .seed = seed,
        .replications = REPS,
        .scenario_text = "name: synth\n",
        .scenario_resolved = resolved,
        .class_names = cls,
        .n_classes = 1,
        .deployment_names = dep,
        .n_deployments = 1,
        .write_requests = requests,
    };
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct ana_h5 *h = NULL;
    ck_assert_msg(ana_h5_open(&h, path, &meta, &err) == 0, "%s", err.msg);
    struct sim_sink sink = ana_h5_sink(h);
    double ttft[REPS * PER_REP], e2e[REPS * PER_REP];
    double gm_t[REPS], gm_e[REPS], cost[REPS];
    size_t n = 0;
    for (int rep = 0; rep < REPS; rep++) {
        double st = 0, se = 0, sc = 0;
        for (uint64_t i = 0; i < PER_REP; i++) {
            struct sim_request_record r = make_req(v, rep, i);
            if (requests)
                ck_assert_int_eq(sink.request(sink.ctx, &r), 0);
            ttft[n] = r.ttft_s;
            e2e[n++] = r.e2e_s;
            st += r.ttft_s;
            se += r.e2e_s;
            sc += r.cost_output_usd;
        }
        gm_t[rep] = st / PER_REP;
        gm_e[rep] = se / PER_REP;
        cost[rep] = 1000 * sc / PER_REP;
    }
    struct ana_summary_row rows[5];
    rows[4] = row_of("ttft_s", ttft, n, gm_t, REPS);
    snprintf(rows[4].scope, sizeof rows[4].scope, "class:chat");
    rows[0] = row_of("ttft_s", ttft, n, gm_t, REPS);
    rows[1] = row_of("e2e_s", e2e, n, gm_e, REPS);
    double c2[REPS];
    memcpy(c2, cost, sizeof c2);
    rows[2] = row_of("cost_per_1k_usd", c2, REPS, cost, REPS);
    rows[2].count = REPS; /* run-level: one value per replication */
    memcpy(c2, cost, sizeof c2);
    rows[3] = row_of("cost_output_per_1k_usd", c2, REPS, cost, REPS);
    ck_assert_msg(ana_h5_write_summary(h, rows, 5, &err) == 0, "%s", err.msg);
    ck_assert_msg(ana_h5_close(h, ok, &err) == 0, "%s", err.msg);
}

/* Per-replication p50 of TTFT in ms. */
static void rep_p50_ms(enum variant v, double *out)
{
    double x[PER_REP];
    for (int rep = 0; rep < REPS; rep++) {
        for (uint64_t i = 0; i < PER_REP; i++)
            x[i] = ttft_of(v, rep, i);
        out[rep] = 1e3 * pct7(x, PER_REP, 0.5);
    }
}

START_TEST(test_groups)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/g.h5", dir);
    write_synth(path, V_SHIFTED, 5, 1, 1, 1);
    struct ana_groups g;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct ana_groups_opts o = {.slo_ttft_s = 0.55, .t0 = NAN, .t1 = NAN};
    ck_assert_msg(ana_h5_read_groups(path, &o, &g, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(g.by_replication, 1);
    ck_assert_uint_eq(g.n_groups, REPS);
    ck_assert_uint_eq(g.n_scopes, 3);
    ck_assert_str_eq(g.scopes[1], "class:chat");
    ck_assert_str_eq(g.scopes[2], "deployment:api");
    double v[REPS], want[REPS];
    ck_assert_int_eq(ana_groups_values(&g, "all", "ttft_s", ANA_GS_P50, v), 0);
    rep_p50_ms(V_SHIFTED, want);
    for (int r = 0; r < REPS; r++)
        ck_assert_double_eq_tol(1e3 * v[r], want[r], 1e-9);
    /* slo_met: the share of TTFTs at or under 0.55 s, per replication. */
    ck_assert_int_eq(ana_groups_values(&g, "class:chat", "slo_met", ANA_GS_MEAN, v), 0);
    for (int r = 0; r < REPS; r++) {
        int met = 0;
        for (uint64_t i = 0; i < PER_REP; i++)
            met += ttft_of(V_SHIFTED, r, i) <= 0.55;
        ck_assert_double_eq_tol(v[r], met / (double)PER_REP, 1e-12);
    }
    ck_assert_int_eq(ana_groups_values(&g, "all", "cost_usd", ANA_GS_MEAN, v), 0);
    ck_assert_int_eq(ana_groups_values(&g, "all", "cost_usd", ANA_GS_P95, v), LLMSIM_ENOTFOUND);
    ck_assert_int_eq(ana_groups_values(&g, "class:nope", "ttft_s", ANA_GS_MEAN, v),
                     LLMSIM_ENOTFOUND);
    ck_assert_int_eq(ana_groups_values(&g, "all", "nope", ANA_GS_MEAN, v), LLMSIM_ENOTFOUND);
    ana_groups_free(&g);
    /* Without an SLO there is no slo_met. */
    o.slo_ttft_s = 0;
    ck_assert_int_eq(ana_h5_read_groups(path, &o, &g, &err), 0);
    ck_assert_int_eq(ana_groups_values(&g, "all", "slo_met", ANA_GS_MEAN, v), LLMSIM_ENOTFOUND);
    ana_groups_free(&g);
    ana_groups_free(NULL);

    /* The extras: replications and the scenario texts. */
    struct ana_h5_extra x;
    ck_assert_int_eq(ana_h5_read_extra(path, &x, &err), 0);
    ck_assert_int_eq(x.replications, REPS);
    ck_assert_str_eq(x.given, "name: synth\n");
    ck_assert_ptr_nonnull(strstr(x.resolved, "replicas: 1"));
    ana_h5_extra_free(&x);
    ana_h5_extra_free(NULL);

    /* No /requests: ENOTFOUND; a missing file: EIO. */
    snprintf(path, sizeof path, "%s/noreq.h5", dir);
    write_synth(path, V_BASE, 5, 1, 1, 0);
    ck_assert_int_eq(ana_h5_read_groups(path, NULL, &g, &err), LLMSIM_ENOTFOUND);
    snprintf(path, sizeof path, "%s/absent.h5", dir);
    ck_assert_int_eq(ana_h5_read_groups(path, NULL, &g, &err), LLMSIM_EIO);
    ck_assert_int_eq(ana_h5_read_extra(path, &x, &err), LLMSIM_EIO);
    tu_remove_dir(dir);
}
END_TEST

/* One replication: time batches of the arrival window. */
START_TEST(test_batches)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/one.h5", dir);
    static const char *const cls[] = {"a", "b"}, *const dep[] = {"d"};
    struct ana_h5_meta meta = {.scenario_name = "one",
                               .seed = 3,
                               .replications = 1,
                               .class_names = cls,
                               .n_classes = 2,
                               .deployment_names = dep,
                               .n_deployments = 1,
                               .write_requests = 1};
    struct ana_h5 *h = NULL;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), 0);
    struct sim_sink sink = ana_h5_sink(h);
    /* 1000 requests, one per 0.1 s from t = 0.05 (off the batch edges); the
     * first 50 s are warm-up; TTFT = 1 + arrival / 100; class by parity; one
     * rejected. */
    for (uint64_t i = 0; i < 1000; i++) {
        struct sim_request_record r;
        memset(&r, 0, sizeof r);
        r.id = i;
        r.arrival_s = 0.1 * (double)i + 0.05;
        r.ttft_s = 1 + r.arrival_s / 100;
        r.e2e_s = r.ttft_s;
        r.class_idx = (int32_t)(i % 2);
        r.output_tokens = 1;
        r.flags = (r.arrival_s < 50 ? SIM_RF_WARMUP : 0) | (i == 777 ? SIM_RF_REJECTED : 0);
        ck_assert_int_eq(sink.request(sink.ctx, &r), 0);
    }
    ck_assert_int_eq(ana_h5_close(h, 1, &err), 0);
    struct ana_groups g;
    struct ana_groups_opts o = {.t0 = 50, .t1 = 100, .batches = 5};
    ck_assert_msg(ana_h5_read_groups(path, &o, &g, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(g.by_replication, 0);
    ck_assert_uint_eq(g.n_groups, 5);
    ck_assert_double_eq(g.t0, 50);
    ck_assert_double_eq(g.t1, 100);
    double v[5];
    ck_assert_int_eq(ana_groups_values(&g, "all", "ttft_s", ANA_GS_MEAN, v), 0);
    /* Batch j holds arrivals [50 + 10 j, 60 + 10 j): 100 requests (99 in
     * batch 2, which loses the rejected one at 77.75 s). */
    for (int j = 0; j < 5; j++) {
        double s = 0;
        int n = 0;
        for (uint64_t i = 0; i < 1000; i++) {
            double a = 0.1 * (double)i + 0.05;
            if (i != 777 && a >= 50 + 10 * j && a < 60 + 10 * j) {
                s += 1 + a / 100;
                n++;
            }
        }
        ck_assert_int_eq(n, j == 2 ? 99 : 100);
        ck_assert_double_eq_tol(v[j], s / n, 1e-12);
    }
    /* itl_s needs two output tokens: none here. */
    ck_assert_int_eq(ana_groups_values(&g, "class:b", "itl_s", ANA_GS_P50, v), 0);
    for (int j = 0; j < 5; j++)
        ck_assert(isnan(v[j]));
    ana_groups_free(&g);
    /* No window given: the measured arrivals' span, 10 batches. */
    ck_assert_int_eq(ana_h5_read_groups(path, NULL, &g, &err), 0);
    ck_assert_uint_eq(g.n_groups, 10);
    ck_assert_double_eq_tol(g.t0, 50.05, 1e-12);
    ck_assert(g.t1 > 99.95 && g.t1 < 99.95 + 1e-9);
    ana_groups_free(&g);
    tu_remove_dir(dir);
}
END_TEST

/* ---- the command ------------------------------------------------------ */

/* Runs `llmsim compare ARGS` in dir, stdout in *out, stderr in *err_text;
 * returns the exit status. */
static int compare(const char *dir, const char *args, char **out, char **err_text)
{
    char cmd[8192], errpath[4096];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "{ cd %s && %s compare %s 2>%s; }", dir, LLMSIM_BINARY, args,
             errpath);
    int st = tu_run(cmd, out);
    *err_text = tu_read_file(errpath, NULL);
    ck_assert_ptr_nonnull(*err_text);
    return st;
}

/* The CSV line of the row (scope, metric, stat), split at commas into f. */
static int csv_fields(char *csv, const char *prefix, char **f, int max)
{
    char *line = strstr(csv, prefix);
    ck_assert_msg(line != NULL, "no CSV row %s in:\n%s", prefix, csv);
    line += line[0] == '\n';
    char *end = strchr(line, '\n');
    if (end)
        *end = '\0';
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* Four files: run1 (base), run2 (shifted), run9 (base replications reversed,
 * another seed), run10 (reversed, same seed); named so that natural and
 * byte order differ. */
static char *four_files(void)
{
    char *dir = tu_tmpdir();
    char p[4096];
    snprintf(p, sizeof p, "%s/run1.h5", dir);
    write_synth(p, V_BASE, 5, 1, 1, 1);
    snprintf(p, sizeof p, "%s/run2.h5", dir);
    write_synth(p, V_SHIFTED, 5, 2, 1, 1);
    snprintf(p, sizeof p, "%s/run9.h5", dir);
    write_synth(p, V_REVERSED, 6, 3, 1, 1);
    snprintf(p, sizeof p, "%s/run10.h5", dir);
    write_synth(p, V_REVERSED, 5, 4, 1, 1);
    return dir;
}

START_TEST(test_command_text)
{
    char *dir = four_files();
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(dir, "run10.h5 run9.h5 run2.h5 run1.h5", &out, &err), 0);
    /* Natural order, labels from the keys that differ. */
    const char *legend[] = {
        "[1] run1.h5: seed=5, api.replicas=1\n", "[2] run2.h5: seed=5, api.replicas=2\n",
        "[3] run9.h5: seed=6, api.replicas=3\n", "[4] run10.h5: seed=5, api.replicas=4\n"};
    const char *at = out;
    for (int i = 0; i < 4; i++) {
        const char *p = strstr(out, legend[i]);
        ck_assert_msg(p != NULL && p >= at, "legend line %d missing or out of order:\n%s", i, out);
        at = p;
    }
    ck_assert_ptr_nonnull(strstr(out, "[2]-[1]: paired over 4 replications (same seed 5"));
    ck_assert_ptr_nonnull(strstr(out, "[3]-[1]: unpaired, Welch over 4 and 4 replications"));
    ck_assert_str_eq(err, "");
    /* Readable at 100 columns: four files wrap into blocks. */
    for (char *line = out; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        ck_assert_msg(len <= 100, "line of %zu columns: %.*s", len, (int)len, line);
        ck_assert_msg(len == 0 || line[len - 1] != ' ', "trailing space: %.*s", (int)len, line);
        line = nl ? nl + 1 : line + len;
    }
    /* The shifted file's TTFT p50 is significantly higher ('*'), the
     * reversed one's is not different at all. */
    char *row = strstr(out, "  TTFT p50 (ms)");
    ck_assert_ptr_nonnull(row);
    char *nl = strchr(row, '\n');
    *nl = '\0';
    ck_assert_msg(count_char(row, '*') == 1, "row: %s", row);
    free(out);
    free(err);

    /* Two or three files fit on one line each, relative column included for two. */
    ck_assert_int_eq(compare(dir, "run1.h5 run2.h5", &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "rel"));
    free(out);
    free(err);
    /* --baseline puts a file first. */
    ck_assert_int_eq(compare(dir, "run1.h5 run2.h5 --baseline run2.h5", &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "[1] run2.h5"));
    ck_assert_ptr_nonnull(strstr(out, "[2] run1.h5"));
    free(out);
    free(err);
    /* --by class: one table per class. */
    ck_assert_int_eq(compare(dir, "run1.h5 run2.h5 --by class", &out, &err), 0);
    ck_assert_msg(strstr(out, "\nclass:chat ") != NULL, "%s", out);
    free(out);
    free(err);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_command_csv)
{
    char *dir = four_files();
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(dir, "run1.h5 run2.h5 run9.h5 run10.h5 --csv", &out, &err), 0);
    /* Header: 6 columns, 4 values, 3 x (diff, ci95, significant, method). */
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    ck_assert_str_eq(out, "scope,section,metric,stat,label,unit,run1.h5,run2.h5,run9.h5,run10.h5,"
                          "diff run2.h5,ci95 run2.h5,significant run2.h5,method run2.h5,"
                          "diff run9.h5,ci95 run9.h5,significant run9.h5,method run9.h5,"
                          "diff run10.h5,ci95 run10.h5,significant run10.h5,method run10.h5");
    *nl = '\n';
    for (char *line = out; *line;) {
        char *e = strchr(line, '\n');
        ck_assert_ptr_nonnull(e);
        *e = '\0';
        ck_assert_msg(count_char(line, ',') == 21, "fields: %s", line);
        *e = '\n';
        line = e + 1;
    }
    double a[REPS], b[REPS], c[REPS];
    rep_p50_ms(V_BASE, a);
    rep_p50_ms(V_SHIFTED, b);
    rep_p50_ms(V_REVERSED, c);
    char *f[32];
    int n = csv_fields(out, "\nall,latency,ttft_s,p50,TTFT p50,ms,", f, 32);
    ck_assert_int_eq(n, 22);
    /* run2 - run1: paired over the replications. */
    double mean = 0, m2 = 0;
    for (int r = 0; r < REPS; r++)
        mean += (b[r] - a[r]) / REPS;
    for (int r = 0; r < REPS; r++)
        m2 += (b[r] - a[r] - mean) * (b[r] - a[r] - mean);
    double hw = T975_3 * sqrt(m2 / (REPS - 1)) / sqrt(REPS);
    ck_assert_double_eq_tol(strtod(f[11], NULL), hw, 1e-8 * hw);
    ck_assert(strtod(f[10], NULL) > 3.5 && strtod(f[10], NULL) < 4.5);
    ck_assert_str_eq(f[12], "true");
    ck_assert_str_eq(f[13], "paired");
    /* run9 - run1: the same replications under another seed: Welch, no
     * difference in the pooled figure (the same samples), not significant. */
    double m = 0, v = 0;
    for (int r = 0; r < REPS; r++)
        m += a[r] / REPS;
    for (int r = 0; r < REPS; r++)
        v += (a[r] - m) * (a[r] - m) / (REPS - 1);
    ck_assert_str_eq(f[14], "0");
    hw = T975_6 * sqrt(2 * v / REPS);
    ck_assert_double_eq_tol(strtod(f[15], NULL), hw, 1e-8 * hw);
    ck_assert_str_eq(f[16], "false");
    ck_assert_str_eq(f[17], "welch");
    /* run10 - run1: same seed, replications in another order: paired. */
    mean = m2 = 0;
    for (int r = 0; r < REPS; r++)
        mean += (c[r] - a[r]) / REPS;
    for (int r = 0; r < REPS; r++)
        m2 += (c[r] - a[r] - mean) * (c[r] - a[r] - mean);
    hw = T975_3 * sqrt(m2 / (REPS - 1)) / sqrt(REPS);
    ck_assert_str_eq(f[18], "0");
    ck_assert_double_eq_tol(strtod(f[19], NULL), hw, 1e-8 * hw);
    ck_assert(hw > 0);
    ck_assert_str_eq(f[20], "false");
    ck_assert_str_eq(f[21], "paired");
    free(out);
    free(err);

    /* A file without /requests: means get Welch from the summaries' ci95
     * (replications - 1 degrees of freedom), percentiles nothing. */
    char p[4096];
    snprintf(p, sizeof p, "%s/noreq.h5", dir);
    write_synth(p, V_SHIFTED, 5, 7, 1, 0);
    ck_assert_int_eq(compare(dir, "run1.h5 noreq.h5 --baseline run1.h5 --csv", &out, &err), 0);
    n = csv_fields(out, "\nall,throughput and cost,cost_per_1k_usd,mean,", f, 32);
    ck_assert_int_eq(n, 12);
    ck_assert_str_eq(f[11], "welch-summary");
    char *out2 = NULL;
    free(err);
    ck_assert_int_eq(compare(dir, "run1.h5 noreq.h5 --baseline run1.h5 --csv", &out2, &err), 0);
    n = csv_fields(out2, "\nall,latency,ttft_s,p50,", f, 32);
    ck_assert_str_eq(f[9], "");  /* no half-width */
    ck_assert_str_eq(f[11], ""); /* no method */
    free(out);
    free(out2);
    free(err);
    tu_remove_dir(dir);
}
END_TEST

/* Files without /requests whose /summary carries percentile intervals: a
 * percentile's difference gets the two half-widths in quadrature
 * (summary-quadrature), whether or not the files share their seed (no
 * paired form from summaries: conservative under common random numbers);
 * means keep welch-summary. */
START_TEST(test_command_pct_ci)
{
    char *dir = tu_tmpdir();
    char p[4096];
    synth_pct_ci = 0.003; /* 3 ms for p50, 9 ms for p95 */
    snprintf(p, sizeof p, "%s/base.h5", dir);
    write_synth(p, V_BASE, 5, 1, 1, 0);
    synth_pct_ci = 0.004;
    snprintf(p, sizeof p, "%s/other.h5", dir);
    write_synth(p, V_SHIFTED, 6, 2, 1, 0);
    snprintf(p, sizeof p, "%s/same.h5", dir);
    write_synth(p, V_SHIFTED, 5, 3, 1, 0);
    synth_pct_ci = NAN;
    snprintf(p, sizeof p, "%s/old.h5", dir);
    write_synth(p, V_SHIFTED, 5, 4, 1, 0);
    char *out = NULL, *err = NULL, *f[32];
    const char *others[] = {"other.h5", "same.h5"};
    for (int k = 0; k < 2; k++) {
        char args[256];
        snprintf(args, sizeof args, "base.h5 %s --baseline base.h5 --csv", others[k]);
        ck_assert_int_eq(compare(dir, args, &out, &err), 0);
        int n = csv_fields(out, "\nall,latency,ttft_s,p50,", f, 32);
        ck_assert_int_eq(n, 12);
        ck_assert_double_eq_tol(strtod(f[9], NULL), 1e3 * hypot(0.003, 0.004), 1e-9); /* ms */
        ck_assert_str_eq(f[11], "summary-quadrature");
        /* The shift is 4 ms against +-5 ms: not significant. */
        ck_assert_str_eq(f[10], "false");
        free(out);
        free(err);
        ck_assert_int_eq(compare(dir, args, &out, &err), 0);
        n = csv_fields(out, "\nall,latency,e2e_s,p95,", f, 32);
        ck_assert_double_eq_tol(strtod(f[9], NULL), hypot(0.009, 0.012), 1e-12); /* s */
        ck_assert_str_eq(f[11], "summary-quadrature");
        free(out);
        free(err);
        ck_assert_int_eq(compare(dir, args, &out, &err), 0);
        n = csv_fields(out, "\nall,throughput and cost,cost_per_1k_usd,mean,", f, 32);
        ck_assert_str_eq(f[11], "welch-summary");
        free(out);
        free(err);
    }
    /* The legend says so; a file without percentile intervals gets none. */
    ck_assert_int_eq(compare(dir, "base.h5 other.h5 old.h5 --baseline base.h5", &out, &err), 0);
    ck_assert_msg(strstr(out,
                         "[2]-[1]: Welch from the summaries' intervals (means only: [1] has no "
                         "/requests)\n") != NULL,
                  "%s", out); /* old.h5 sorts before other.h5 */
    ck_assert_msg(strstr(out,
                         "[3]-[1]: Welch from the summaries' intervals, percentiles in quadrature "
                         "([1] has no /requests)\n") != NULL,
                  "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(compare(dir, "base.h5 old.h5 --baseline base.h5 --csv", &out, &err), 0);
    csv_fields(out, "\nall,latency,ttft_s,p50,", f, 32);
    ck_assert_str_eq(f[9], "");
    ck_assert_str_eq(f[11], "");
    free(out);
    free(err);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_command_json)
{
    char *dir = four_files();
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(dir, "run10.h5 run1.h5 --json", &out, &err), 0);
    ck_assert_msg(out[0] == '{', "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "\"baseline\": \"run1.h5\""));
    ck_assert_ptr_nonnull(strstr(out, "\"label\": \"api.replicas=4\""));
    ck_assert_ptr_nonnull(strstr(out, "\"differs\": {\"deployments.api.replicas\": \"1\"}"));
    ck_assert_ptr_nonnull(strstr(out, "\"metric\": \"ttft_s\", \"stat\": \"p50\""));
    if (tu_run("/usr/bin/python3 -c 'import json'", NULL) == 0) {
        char cmd[8192];
        char *py = NULL;
        snprintf(cmd, sizeof cmd,
                 "cd %s && %s compare run10.h5 run1.h5 --json | /usr/bin/python3 -c 'import "
                 "json, sys; d = json.load(sys.stdin); r = d[\"rows\"]; "
                 "assert [f[\"path\"] for f in d[\"files\"]] == [\"run1.h5\", \"run10.h5\"]; "
                 "assert all(len(x[k]) == 2 for x in r for k in (\"values\", \"diff\", "
                 "\"ci95\", \"significant\", \"method\")); "
                 "assert all(x[\"diff\"][0] is None for x in r); "
                 "t = [x for x in r if x[\"metric\"] == \"ttft_s\" and x[\"stat\"] == \"p95\"][0]; "
                 "assert t[\"significant\"][1] is False and t[\"method\"][1] == \"paired\"; "
                 "print(len(r))'",
                 dir, LLMSIM_BINARY);
        int st = tu_run(cmd, &py);
        ck_assert_msg(st == 0, "python: %s", py);
        ck_assert_int_gt(atoi(py), 5);
        free(py);
    }
    free(out);
    free(err);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_command_errors)
{
    char *dir = four_files();
    char p[4096];
    char *out = NULL, *err = NULL;
    struct {
        const char *args;
        int status;
        const char *message; /* on stderr */
    } cases[] = {
        {"run1.h5 absent.h5", 2, "llmsim: compare: absent.h5: cannot open: No such file"},
        {"run1.h5 text.h5", 2, "llmsim: compare: text.h5: not an HDF5 file"},
        {"run1.h5 foreign.h5", 2,
         "llmsim: compare: foreign.h5: not an llmsim results file (no llmsim_version attribute)"},
        {"", 2, "llmsim: compare: no results files"},
        {"run1.h5 --csv --json", 2, "--csv and --json exclude each other"},
        {"run1.h5 --by model", 2, "--by model: expected class, deployment, tenant or tier"},
        {"run1.h5 --by", 2, "--by needs a value"},
        {"run1.h5 --baseline run2.h5", 2, "--baseline run2.h5 is not one of the files"},
        {"run1.h5 --frobnicate", 2, "compare: unknown option '--frobnicate' (see `llmsim compare --help`)"},
        {"--help", 0, ""},
    };
    snprintf(p, sizeof p, "%s/text.h5", dir);
    FILE *fp = fopen(p, "w");
    fputs("not hdf5\n", fp);
    fclose(fp);
    snprintf(p, sizeof p, "%s/foreign.h5", dir);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    H5Fclose(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = compare(dir, cases[i].args, &out, &err);
        ck_assert_msg(st == cases[i].status, "'%s': exit %d, stderr %s", cases[i].args, st, err);
        ck_assert_msg(strstr(err, cases[i].message) != NULL, "'%s': stderr %s", cases[i].args, err);
        if (cases[i].status == 2)
            ck_assert_msg(out[0] == '\0', "'%s': stdout %s", cases[i].args, out);
        free(out);
        free(err);
    }

    /* An incomplete file is compared, with a warning, and marked. */
    snprintf(p, sizeof p, "%s/cut.h5", dir);
    write_synth(p, V_BASE, 5, 8, 0, 1);
    ck_assert_int_eq(compare(dir, "run1.h5 cut.h5 --baseline run1.h5", &out, &err), 0);
    ck_assert_msg(strstr(err, "warning: cut.h5: the run did not complete (complete = 0)") != NULL,
                  "%s", err);
    ck_assert_msg(strstr(out, "[2] cut.h5: api.replicas=8 (INCOMPLETE)") != NULL, "%s", out);
    free(out);
    free(err);
    /* So is a file whose /requests is damaged (a column missing): its
     * differences get intervals from the summaries only. */
    snprintf(p, sizeof p, "%s/odd.h5", dir);
    write_synth(p, V_BASE, 5, 9, 1, 1);
    hid_t h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(h, "requests", H5P_DEFAULT), 0);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(t, "ttft_s", 0, H5T_NATIVE_DOUBLE);
    hsize_t dim = 1;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(h, "requests", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(h);
    ck_assert_int_eq(compare(dir, "run1.h5 odd.h5 --baseline run1.h5", &out, &err), 0);
    ck_assert_msg(strstr(err, "warning: odd.h5:") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "Welch from the summaries' intervals"));
    free(out);
    free(err);
    tu_remove_dir(dir);
}
END_TEST

static Suite *compare_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_natural_order);
    tcase_add_test(tc, test_flatten);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_diff_ci);
    tcase_add_test(tc, test_groups);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_command_text);
    tcase_add_test(tc, test_command_csv);
    tcase_add_test(tc, test_command_pct_ci);
    tcase_add_test(tc, test_command_json);
    tcase_add_test(tc, test_command_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ana_h5_init();
    return tu_run_suite(compare_suite());
}
