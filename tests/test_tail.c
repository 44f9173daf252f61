/* Tail attribution (analysis/src/tail.c): hand-made requests whose slow
 * ones are known, the type-7 tail rule, lifts and component deltas against
 * hand computations, components that add up, reservoir sampling (bounded,
 * deterministic), empty input, errors, the /tail round trip through HDF5,
 * and whole simulated runs (preemptions, a cascade). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/tail.h"
#include "llmsim/world.h"
#include "testutil.h"

#define TOL 1e-9

/* A scenario with classes A and B and deployments api and gpu. */
struct fixture {
    struct sim_class_cfg classes[2];
    struct sim_deployment_cfg deps[2];
    struct sim_scenario sc;
};

static void fixture_init(struct fixture *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    snprintf(f->classes[0].name, SIM_NAME_MAX, "A");
    snprintf(f->classes[1].name, SIM_NAME_MAX, "B");
    snprintf(f->deps[0].name, SIM_NAME_MAX, "api");
    snprintf(f->deps[1].name, SIM_NAME_MAX, "gpu");
    f->deps[0].kind = SIM_DEPLOY_API;
    f->deps[1].kind = SIM_DEPLOY_SELF_HOSTED;
    f->deps[1].replicas = 3;
    snprintf(f->sc.name, SIM_NAME_MAX, "tail-test");
    f->sc.seed = seed;
    f->sc.replications = 1;
    f->sc.workload.n_classes = 2;
    f->sc.workload.classes = f->classes;
    f->sc.n_deployments = 2;
    f->sc.deployments = f->deps;
}

/* A consistent record: arrival 10 i, the given queue, TTFT and E2E. */
static struct sim_request_record rec(uint64_t i, double queue, double ttft, double e2e)
{
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    r.id = i;
    r.session = -1;
    r.tiers = 1;
    r.arrival_s = 10.0 * (double)i;
    r.dispatch_s = r.arrival_s;
    r.prefill_start_s = r.arrival_s + queue;
    r.first_token_s = r.arrival_s + ttft;
    r.done_s = r.arrival_s + e2e;
    r.queue_s = queue;
    r.ttft_s = ttft;
    r.e2e_s = e2e;
    r.input_tokens = 1000;
    r.output_tokens = 100;
    r.success = 1;
    return r;
}

/* The 1000 requests of the main test: every tenth is of class B (100), and
 * half of those (i % 20 == 0, 50) have long prompts (8192 tokens) and are
 * slow: queue 2 s, TTFT 3 s + 1e-4 i, E2E 10 s + 0.01 i.  The others:
 * queue 0.01 s, TTFT 0.3 s + 1e-5 i, E2E 1 s + 0.001 i (all distinct). */
static int is_slow(uint64_t i)
{
    return i % 20 == 0;
}

static struct sim_request_record main_rec(uint64_t i)
{
    double x = (double)i;
    struct sim_request_record r = is_slow(i) ? rec(i, 2.0, 3.0 + 1e-4 * x, 10.0 + 0.01 * x)
                                             : rec(i, 0.01, 0.3 + 1e-5 * x, 1.0 + 0.001 * x);
    r.class_idx = i % 10 == 0 ? 1 : 0;
    if (is_slow(i))
        r.input_tokens = 8192;
    else
        r.input_tokens = 1000 + (uint32_t)(i % 7); /* prompt:512-1k */
    r.deployment = (int32_t)((i / 3) % 2);
    r.replica = r.deployment == 1 ? (int32_t)(i % 3) : 0;
    r.session = i % 6 ? (int64_t)(i / 6) : -1;
    r.turn = i % 6 ? (int32_t)(i % 6) : 0;
    r.cached_tokens = i % 4 == 1 ? 500 : 0;
    return r;
}

static struct ana_tail *feed_main(const struct sim_scenario *sc)
{
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(&t, sc), 0);
    struct sim_sink s = ana_tail_sink(t);
    ck_assert_ptr_nonnull(s.request);
    ck_assert_ptr_null(s.timeseries);
    ck_assert_ptr_null(s.iteration);
    for (uint64_t i = 0; i < 1000; i++) {
        struct sim_request_record r = main_rec(i);
        ck_assert_int_eq(s.request(s.ctx, &r), 0);
    }
    /* Left out: warm-up, rejected, wasted prefetches (all very slow). */
    uint32_t skip[3] = {SIM_RF_WARMUP, SIM_RF_REJECTED, SIM_RF_PREFETCH_WASTED};
    for (int k = 0; k < 3; k++) {
        struct sim_request_record r = rec(2000 + (uint64_t)k, 50, 60, 99);
        r.flags = skip[k];
        ck_assert_int_eq(s.request(s.ctx, &r), 0);
    }
    ck_assert_int_eq(ana_tail_compute(t), 0);
    return t;
}

static double mean_over(const uint64_t *idx, size_t n, double (*f)(uint64_t))
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += f(idx[k]);
    return s / (double)n;
}

static double prefill_of(uint64_t i)
{
    struct sim_request_record r = main_rec(i);
    return r.ttft_s - r.queue_s;
}
static double decode_of(uint64_t i)
{
    struct sim_request_record r = main_rec(i);
    return r.e2e_s - r.ttft_s;
}
static double e2e_of(uint64_t i)
{
    return main_rec(i).e2e_s;
}

START_TEST(test_hand_computed)
{
    struct fixture f;
    fixture_init(&f, 42);
    struct ana_tail *t = feed_main(&f.sc);
    ck_assert_uint_eq(ana_tail_measured(t), 1000);
    ck_assert_uint_eq(ana_tail_kept(t), 1000);

    /* Hand computation.  Both metrics sort the 950 fast requests (in index
     * order) below the 50 slow ones.  Type 7: p95 = x[949] + 0.05 (x[950] -
     * x[949]); the tail is strictly above it: the 50 slow ones.  The median
     * band p45..p55 = sorted positions 450..549: the fast requests of ranks
     * 450..549. */
    uint64_t fast[950], slow[50], band[100];
    size_t nf = 0, ns = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        if (is_slow(i))
            slow[ns++] = i;
        else
            fast[nf++] = i;
    }
    ck_assert_uint_eq(nf, 950);
    memcpy(band, fast + 450, sizeof band);

    struct ana_tail_summary s;
    ck_assert_int_eq(ana_tail_get_summary(t, ANA_TAIL_E2E, &s), 0);
    ck_assert_uint_eq(s.n, 1000);
    ck_assert_uint_eq(s.tail_n, 50);
    ck_assert_uint_eq(s.median_n, 100);
    double x949 = e2e_of(fast[949]), x950 = e2e_of(slow[0]);
    ck_assert_double_eq_tol(s.threshold_s, x949 + 0.05 * (x950 - x949), TOL);
    ck_assert_double_eq_tol(
        s.median_lo_s, e2e_of(fast[449]) + 0.55 * (e2e_of(fast[450]) - e2e_of(fast[449])), TOL);
    ck_assert_int_eq(ana_tail_get_summary(t, ANA_TAIL_TTFT, &s), 0);
    ck_assert_uint_eq(s.tail_n, 50);
    ck_assert_uint_eq(s.median_n, 100);

    /* Component means and deltas (E2E). */
    const struct ana_tail_row *q = ana_tail_find(t, ANA_TAIL_E2E, "queue");
    ck_assert_ptr_nonnull(q);
    ck_assert_double_eq_tol(q->tail_mean_s, 2.0, TOL);
    ck_assert_double_eq_tol(q->median_mean_s, 0.01, TOL);
    ck_assert_double_eq_tol(q->delta_s, 1.99, TOL);
    ck_assert_uint_eq(q->tail_count, 50);
    ck_assert_uint_eq(q->median_count, 100);
    const struct ana_tail_row *p = ana_tail_find(t, ANA_TAIL_E2E, "prefill");
    ck_assert_double_eq_tol(
        p->delta_s, mean_over(slow, 50, prefill_of) - mean_over(band, 100, prefill_of), TOL);
    const struct ana_tail_row *d = ana_tail_find(t, ANA_TAIL_E2E, "decode");
    ck_assert_double_eq_tol(d->tail_mean_s, mean_over(slow, 50, decode_of), TOL);
    ck_assert_double_eq_tol(d->delta_s,
                            mean_over(slow, 50, decode_of) - mean_over(band, 100, decode_of), TOL);
    const struct ana_tail_row *tot = ana_tail_find(t, ANA_TAIL_E2E, "total");
    ck_assert_double_eq_tol(tot->delta_s,
                            mean_over(slow, 50, e2e_of) - mean_over(band, 100, e2e_of), TOL);
    ck_assert_double_eq_tol(tot->delta_share, 1.0, TOL);
    ck_assert_double_eq_tol(q->delta_s + p->delta_s + d->delta_s, tot->delta_s, TOL);
    ck_assert_double_eq_tol(q->delta_share + p->delta_share + d->delta_share, 1.0, TOL);
    ck_assert_double_eq_tol(ana_tail_find(t, ANA_TAIL_E2E, "rate_limit_wait")->tail_mean_s, 0, TOL);
    ck_assert_double_eq_tol(ana_tail_find(t, ANA_TAIL_E2E, "escalation")->delta_s, 0, TOL);
    ck_assert_double_eq_tol(ana_tail_find(t, ANA_TAIL_E2E, "preempted_service")->delta_s, 0, TOL);
    ck_assert_ptr_null(ana_tail_find(t, ANA_TAIL_TTFT, "decode")); /* no decode in TTFT */
    const struct ana_tail_row *tq = ana_tail_find(t, ANA_TAIL_TTFT, "queue");
    ck_assert_double_eq_tol(tq->delta_s, 1.99, TOL);

    /* Lifts: class B is 10% of all and 100% of the tail (lift 10); the
     * 8k-16k prompts 5% and 100% (lift 20); class A never in the tail. */
    for (int m = 0; m < ANA_TAIL_N_METRICS; m++) {
        const struct ana_tail_row *b = ana_tail_find(t, m, "class:B");
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(b->feature, 1);
        ck_assert_uint_eq(b->tail_count, 50);
        ck_assert_uint_eq(b->all_count, 100);
        ck_assert_double_eq_tol(b->tail_share, 1.0, TOL);
        ck_assert_double_eq_tol(b->all_share, 0.1, TOL);
        ck_assert_double_eq_tol(b->lift, 10.0, TOL);
        const struct ana_tail_row *lp = ana_tail_find(t, m, "prompt:8k-16k");
        ck_assert_ptr_nonnull(lp);
        ck_assert_double_eq_tol(lp->lift, 20.0, TOL);
        ck_assert_double_eq_tol(ana_tail_find(t, m, "class:A")->lift, 0.0, TOL);
        ck_assert_ptr_nonnull(ana_tail_find(t, m, "prompt:512-1k"));
    }
    /* Deployment gpu: (i / 3) % 2 == 1; of the slow i = 20 k that is
     * (20 k / 3) % 2 == 1.  Hand count. */
    uint64_t gpu_tail = 0, gpu_all = 0, turn34_all = 0, hit_all = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        int gpu = (i / 3) % 2 == 1;
        gpu_all += (uint64_t)gpu;
        gpu_tail += (uint64_t)(gpu && is_slow(i));
        turn34_all += (uint64_t)(i % 6 == 3 || i % 6 == 4);
        hit_all += (uint64_t)(i % 4 == 1);
    }
    const struct ana_tail_row *g = ana_tail_find(t, ANA_TAIL_E2E, "deployment:gpu");
    ck_assert_uint_eq(g->tail_count, gpu_tail);
    ck_assert_uint_eq(g->all_count, gpu_all);
    ck_assert_double_eq_tol(g->lift, ((double)gpu_tail / 50.0) / ((double)gpu_all / 1000.0), TOL);
    ck_assert_uint_eq(ana_tail_find(t, ANA_TAIL_E2E, "turn:3-4")->all_count, turn34_all);
    ck_assert_uint_eq(ana_tail_find(t, ANA_TAIL_E2E, "cache:hit")->all_count, hit_all);
    ck_assert_uint_eq(ana_tail_find(t, ANA_TAIL_E2E, "cache:hit")->tail_count,
                      0); /* 20k % 4 == 0 */
    ck_assert_ptr_nonnull(ana_tail_find(t, ANA_TAIL_E2E, "replica:gpu/2"));
    ck_assert_ptr_null(ana_tail_find(t, ANA_TAIL_E2E, "replica:api/0")); /* only replica 0 served */
    /* No request is preempted or escalated: one category only, not shown. */
    ck_assert_ptr_null(ana_tail_find(t, ANA_TAIL_E2E, "preempted:no"));
    ck_assert_ptr_null(ana_tail_find(t, ANA_TAIL_E2E, "escalated:no"));

    /* Features come sorted by lift, highest first, after the components. */
    const struct ana_tail_row *rows = NULL;
    size_t n = ana_tail_rows(t, &rows);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(rows[0].name, "rate_limit_wait");
    double last = INFINITY;
    int seen_feature = 0;
    for (size_t i = 0; i < n && rows[i].metric == ANA_TAIL_E2E; i++) {
        if (!rows[i].feature) {
            ck_assert_int_eq(seen_feature, 0);
            continue;
        }
        seen_feature = 1;
        ck_assert(rows[i].lift <= last);
        last = rows[i].lift;
    }
    ck_assert_str_eq(ana_tail_find(t, ANA_TAIL_E2E, "prompt:8k-16k")->name, "prompt:8k-16k");

    /* The printed table. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    ana_tail_print(t, mf);
    fclose(mf);
    ck_assert_msg(strstr(buf, "tail attribution: 1000 measured requests") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "E2E: 50 requests above p95") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "TTFT: 50 requests above p95") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "prompt:8k-16k") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "class:B") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "class:A ") == NULL, "%s", buf); /* lift 0: not shown */
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        size_t w = nl ? (size_t)(nl - line) : strlen(line);
        ck_assert_msg(w <= 100, "line wider than 100: %.*s", (int)w, line);
        line += w + (nl != NULL);
    }
    free(buf);
    ana_tail_free(t);
}
END_TEST

/* Components of varied records: which component gets what, and that they
 * add up to the metric. */
START_TEST(test_components)
{
    double c[ANA_TAIL_N_COMPS];
    /* Rate-limited: the queue is a rate-limit wait. */
    struct sim_request_record r = rec(1, 4.0, 4.5, 9.0);
    r.flags = SIM_RF_RATE_LIMITED;
    ck_assert_double_eq_tol(ana_tail_components(&r, ANA_TAIL_E2E, c), 9.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_RATE_LIMIT], 4.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_QUEUE], 0.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_PREFILL], 0.5, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_DECODE], 4.5, TOL);
    r.flags = SIM_RF_CLIENT_QUEUED;
    ana_tail_components(&r, ANA_TAIL_TTFT, c);
    ck_assert_double_eq_tol(c[ANA_TAIL_RATE_LIMIT], 4.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_DECODE], 0.0, TOL);
    /* A cascade: first tier started at 1 s, dispatched to the second at 3 s,
     * first token at 3.8 s. */
    r = rec(2, 1.0, 3.8, 6.0);
    r.tiers = 2;
    r.flags = SIM_RF_ESCALATED;
    r.dispatch_s = r.arrival_s + 3.0;
    ck_assert_double_eq_tol(ana_tail_components(&r, ANA_TAIL_TTFT, c), 3.8, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_QUEUE], 1.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_ESCALATION], 2.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_PREFILL], 0.8, TOL);
    /* Preempted: the whole service is the preempted component. */
    r = rec(3, 0.5, 2.0, 7.0);
    r.preemptions = 2;
    ana_tail_components(&r, ANA_TAIL_E2E, c);
    ck_assert_double_eq_tol(c[ANA_TAIL_QUEUE], 0.5, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_PREFILL], 0.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_DECODE], 0.0, TOL);
    ck_assert_double_eq_tol(c[ANA_TAIL_PREEMPTED], 6.5, TOL);
    ck_assert(isnan(ana_tail_components(&r, 7, c)));

    /* Random mixtures add up. */
    uint64_t s = 12345;
    for (int i = 0; i < 20000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u1 = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        double queue = 100 * u1 * u1, ttft = queue + 10 * u2, e2e = ttft + 50 * u1 * u2;
        r = rec((uint64_t)i, queue, ttft, e2e);
        r.flags =
            (uint32_t)(s >> 40) & (SIM_RF_RATE_LIMITED | SIM_RF_CLIENT_QUEUED | SIM_RF_PREEMPTED);
        r.tiers = 1 + (int32_t)((s >> 50) % 3);
        r.dispatch_s =
            r.prefill_start_s + (ttft - queue) * (1.5 * u2 - 0.25); /* sometimes out of range */
        r.preemptions = (uint32_t)((s >> 33) % 2);
        for (int m = 0; m < ANA_TAIL_N_METRICS; m++) {
            double v = ana_tail_components(&r, m, c), sum = 0;
            for (int k = 0; k < ANA_TAIL_N_COMPS; k++) {
                ck_assert(c[k] >= -1e-12);
                sum += c[k];
            }
            ck_assert_double_eq(v, m == ANA_TAIL_E2E ? e2e : ttft);
            ck_assert_msg(fabs(sum - v) <= 1e-12 * (1 + v), "components %.17g != %.17g", sum, v);
        }
    }
}
END_TEST

/* Ties: when more than 5% share the top value, nothing is strictly above
 * p95, and the output says so. */
START_TEST(test_ties)
{
    struct fixture f;
    fixture_init(&f, 1);
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(&t, &f.sc), 0);
    struct sim_sink s = ana_tail_sink(t);
    for (uint64_t i = 0; i < 200; i++) {
        struct sim_request_record r =
            i < 100 ? rec(i, 0, 1, 2 + 0.01 * (double)i) : rec(i, 0, 1, 5);
        ck_assert_int_eq(s.request(s.ctx, &r), 0);
    }
    ck_assert_int_eq(ana_tail_compute(t), 0);
    struct ana_tail_summary su;
    ck_assert_int_eq(ana_tail_get_summary(t, ANA_TAIL_E2E, &su), 0);
    ck_assert_double_eq_tol(su.threshold_s, 5.0, TOL);
    ck_assert_uint_eq(su.tail_n, 0);
    ck_assert(isnan(ana_tail_find(t, ANA_TAIL_E2E, "total")->tail_mean_s));
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    ana_tail_print(t, mf);
    fclose(mf);
    ck_assert_msg(strstr(buf, "E2E: no request above p95 = 5 s") != NULL, "%s", buf);
    free(buf);
    ana_tail_free(t);
}
END_TEST

/* Past the cap: a uniform sample of exactly cap requests, the same on every
 * run with the same seed, another with another seed. */
static struct ana_tail *feed_many(uint64_t seed, uint64_t cap, uint64_t n)
{
    struct fixture f;
    fixture_init(&f, seed);
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(&t, &f.sc), 0);
    ck_assert_int_eq(ana_tail_set_cap(t, cap), 0);
    struct sim_sink s = ana_tail_sink(t);
    for (uint64_t i = 0; i < n; i++) {
        struct sim_request_record r =
            rec(i, 0.001 * (double)(i % 100), 0.5 + 0.0001 * (double)(i % 1000), 1.0 + (double)i);
        r.class_idx = (int32_t)(i % 2);
        r.input_tokens = (uint32_t)(1 + i % 5000);
        ck_assert_int_eq(s.request(s.ctx, &r), 0);
        ck_assert_uint_le(ana_tail_kept(t), cap);
    }
    ck_assert_int_eq(ana_tail_compute(t), 0);
    return t;
}

START_TEST(test_reservoir)
{
    struct ana_tail *a = feed_many(42, 1000, 20000), *b = feed_many(42, 1000, 20000),
                    *c = feed_many(43, 1000, 20000);
    ck_assert_uint_eq(ana_tail_measured(a), 20000);
    ck_assert_uint_eq(ana_tail_kept(a), 1000);
    struct ana_tail_summary sa, sb, sc;
    ana_tail_get_summary(a, ANA_TAIL_E2E, &sa);
    ana_tail_get_summary(b, ANA_TAIL_E2E, &sb);
    ana_tail_get_summary(c, ANA_TAIL_E2E, &sc);
    ck_assert_uint_eq(sa.n, 1000);
    ck_assert_uint_eq(sa.tail_n, 50);
    /* E2E = 1 + i: p95 of a uniform sample of 1000 of 20000 is near 19000
     * (standard error about 140). */
    ck_assert_msg(fabs(sa.threshold_s - 19000) < 700, "p95 %g", sa.threshold_s);
    ck_assert_msg(fabs(sa.median_lo_s - 9000) < 1000, "p45 %g", sa.median_lo_s);
    /* Same seed: identical rows. */
    const struct ana_tail_row *ra = NULL, *rb = NULL;
    size_t na = ana_tail_rows(a, &ra), nb = ana_tail_rows(b, &rb);
    ck_assert_uint_eq(na, nb);
    ck_assert_double_eq(sa.threshold_s, sb.threshold_s);
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(ra[i].name, rb[i].name);
        ck_assert_uint_eq(ra[i].tail_count, rb[i].tail_count);
        ck_assert_uint_eq(ra[i].all_count, rb[i].all_count);
        ck_assert(ra[i].tail_mean_s == rb[i].tail_mean_s ||
                  (isnan(ra[i].tail_mean_s) && isnan(rb[i].tail_mean_s)));
    }
    ck_assert(sa.threshold_s != sc.threshold_s);
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    ana_tail_print(a, mf);
    fclose(mf);
    ck_assert_msg(strstr(buf, "20000 measured requests; figures from a uniform sample of 1000") !=
                      NULL,
                  "%s", buf);
    free(buf);
    /* Under the cap nothing is sampled. */
    struct ana_tail *d = feed_many(42, 5000, 5000);
    ck_assert_uint_eq(ana_tail_kept(d), 5000);
    ana_tail_free(a);
    ana_tail_free(b);
    ana_tail_free(c);
    ana_tail_free(d);
}
END_TEST

START_TEST(test_empty)
{
    struct fixture f;
    fixture_init(&f, 3);
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(&t, &f.sc), 0);
    struct ana_tail_summary su;
    ck_assert_int_eq(ana_tail_get_summary(t, ANA_TAIL_E2E, &su), LLMSIM_ESTATE);
    struct sim_sink s = ana_tail_sink(t);
    struct sim_request_record r = rec(0, 1, 2, 3);
    r.flags = SIM_RF_WARMUP;
    ck_assert_int_eq(s.request(s.ctx, &r), 0);
    ck_assert_int_eq(ana_tail_compute(t), 0);
    ck_assert_uint_eq(ana_tail_measured(t), 0);
    ck_assert_int_eq(ana_tail_get_summary(t, ANA_TAIL_TTFT, &su), 0);
    ck_assert_uint_eq(su.n, 0);
    ck_assert_uint_eq(su.tail_n, 0);
    ck_assert(isnan(su.threshold_s));
    const struct ana_tail_row *rows = NULL;
    size_t n = ana_tail_rows(t, &rows);
    ck_assert_uint_eq(n, 13); /* 6 + total for E2E, 5 + total for TTFT; no features */
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rows[i].feature, 0);
        ck_assert_uint_eq(rows[i].all_count, 0);
        ck_assert(isnan(rows[i].tail_mean_s));
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    ana_tail_print(t, mf);
    fclose(mf);
    ck_assert_str_eq(buf, "tail attribution: no measured requests\n");
    free(buf);
    ana_tail_free(t);
    ana_tail_free(NULL);
}
END_TEST

START_TEST(test_errors)
{
    struct fixture f;
    fixture_init(&f, 3);
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(NULL, &f.sc), LLMSIM_EINVAL);
    ck_assert_int_eq(ana_tail_alloc(&t, NULL), LLMSIM_EINVAL);
    ck_assert_int_eq(ana_tail_alloc(&t, &f.sc), 0);
    ck_assert_int_eq(ana_tail_set_cap(t, 0), LLMSIM_EINVAL);
    struct sim_sink s = ana_tail_sink(t);
    struct sim_request_record r = rec(0, 1, 2, 3);
    r.class_idx = 2;
    ck_assert_int_eq(s.request(s.ctx, &r), LLMSIM_EINVAL);
    r.class_idx = 0;
    r.deployment = 2;
    ck_assert_int_eq(s.request(s.ctx, &r), LLMSIM_EINVAL);
    r.deployment = 0;
    r.replica = -1;
    ck_assert_int_eq(s.request(s.ctx, &r), LLMSIM_EINVAL);
    r.replica = 0;
    r.e2e_s = NAN;
    ck_assert_int_eq(s.request(s.ctx, &r), LLMSIM_ERANGE);
    ck_assert_uint_eq(ana_tail_measured(t), 0); /* nothing kept on failure */
    r.e2e_s = 3;
    ck_assert_int_eq(s.request(s.ctx, &r), 0);
    ck_assert_int_eq(ana_tail_set_cap(t, 10), LLMSIM_ESTATE);
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(ana_tail_write(t, NULL, &err), LLMSIM_EINVAL);
    ck_assert_str_eq(ana_tail_metric_name(ANA_TAIL_TTFT), "ttft_s");
    ck_assert_ptr_null(ana_tail_metric_name(2));
    ck_assert_str_eq(ana_tail_comp_name(ANA_TAIL_PREEMPTED), "preempted_service");
    ck_assert_ptr_null(ana_tail_comp_name(-1));
    ana_tail_free(t);
}
END_TEST

static int col_of(const struct ana_col *cols, size_t ncols, const char *name)
{
    for (size_t j = 0; j < ncols; j++)
        if (!strcmp(cols[j].name, name))
            return (int)j;
    ck_abort_msg("no column %s", name);
    return -1;
}

START_TEST(test_h5_round_trip)
{
    ck_assert_int_eq(ana_h5_init(), 0);
    struct fixture f;
    fixture_init(&f, 42);
    struct ana_tail *t = feed_main(&f.sc);
    char *dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/tail.h5", dir);
    struct ana_h5_meta meta = {
        .scenario_name = "tail-test", .seed = 42, .replications = 1, .no_tables = 1};
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct ana_h5 *h = NULL;
    ck_assert_msg(ana_h5_open(&h, path, &meta, &err) == 0, "%s", err.msg);
    struct ana_tail *raw = NULL;
    ck_assert_int_eq(ana_tail_alloc(&raw, &f.sc), 0);
    ck_assert_int_eq(ana_tail_write(raw, h, &err), LLMSIM_ESTATE); /* not computed */
    ana_tail_free(raw);
    ck_assert_msg(ana_tail_write(t, h, &err) == 0, "%s", err.msg);
    ck_assert_msg(ana_h5_close(h, 1, &err) == 0, "%s", err.msg);

    struct ana_col *cols = NULL;
    size_t ncols = 0, nrows = 0;
    ck_assert_msg(ana_h5_read_table(path, "tail", &cols, &ncols, &nrows, &err) == 0, "%s", err.msg);
    const struct ana_tail_row *rows = NULL;
    ck_assert_uint_eq(nrows, ana_tail_rows(t, &rows));
    ck_assert_uint_eq(ncols, 18);
    int cm = col_of(cols, ncols, "metric"), ck = col_of(cols, ncols, "kind"),
        cn = col_of(cols, ncols, "name"), cl = col_of(cols, ncols, "lift"),
        ct = col_of(cols, ncols, "tail_count"), cd = col_of(cols, ncols, "delta_s"),
        cth = col_of(cols, ncols, "threshold_s"), cs = col_of(cols, ncols, "sampled"),
        cme = col_of(cols, ncols, "measured");
    ck_assert_int_eq(cols[cm].type, ANA_COL_STR);
    ck_assert_int_eq(cols[cl].type, ANA_COL_F64);
    ck_assert_int_eq(cols[ct].type, ANA_COL_I64);
    ck_assert_str_eq(cols[cl].units, "1");
    ck_assert_str_eq(cols[cd].units, "s");
    ck_assert(strlen(cols[cl].desc) > 10);
    int found_b = 0, found_q = 0;
    for (size_t i = 0; i < nrows; i++) {
        ck_assert_str_eq(cols[cn].str[i], rows[i].name);
        ck_assert_int_eq(cols[cs].i64[i], 0);
        ck_assert_int_eq(cols[cme].i64[i], 1000);
        if (!strcmp(cols[cm].str[i], "e2e_s") && !strcmp(cols[cn].str[i], "class:B")) {
            found_b = 1;
            ck_assert_str_eq(cols[ck].str[i], "feature");
            ck_assert_double_eq_tol(cols[cl].f64[i], 10.0, TOL);
            ck_assert_int_eq(cols[ct].i64[i], 50);
            ck_assert(isnan(cols[cd].f64[i]));
        }
        if (!strcmp(cols[cm].str[i], "ttft_s") && !strcmp(cols[cn].str[i], "queue")) {
            found_q = 1;
            ck_assert_str_eq(cols[ck].str[i], "component");
            ck_assert_double_eq_tol(cols[cd].f64[i], 1.99, TOL);
            ck_assert(isnan(cols[cl].f64[i]));
            struct ana_tail_summary su;
            ana_tail_get_summary(t, ANA_TAIL_TTFT, &su);
            ck_assert_double_eq(cols[cth].f64[i], su.threshold_s);
        }
    }
    ck_assert(found_b && found_q);
    ana_cols_free(cols, ncols, nrows);
    ana_tail_free(t);

    /* Empty: the component rows, counts 0. */
    struct ana_tail *e = NULL;
    ck_assert_int_eq(ana_tail_alloc(&e, &f.sc), 0);
    ck_assert_int_eq(ana_tail_compute(e), 0);
    snprintf(path, sizeof path, "%s/empty.h5", dir);
    ck_assert_msg(ana_h5_open(&h, path, &meta, &err) == 0, "%s", err.msg);
    ck_assert_msg(ana_tail_write(e, h, &err) == 0, "%s", err.msg);
    ck_assert_msg(ana_h5_close(h, 1, &err) == 0, "%s", err.msg);
    ck_assert_msg(ana_h5_read_table(path, "tail", &cols, &ncols, &nrows, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(nrows, 13);
    ck_assert_int_eq(cols[col_of(cols, ncols, "all_count")].i64[0], 0);
    ana_cols_free(cols, ncols, nrows);
    ana_tail_free(e);
    tu_remove_dir(dir);
}
END_TEST

/* A sink that checks every measured record's components add up, then
 * passes it on. */
struct check_sink {
    struct sim_sink next;
    uint64_t preempted, escalated, limited;
};

static int check_request(void *ctx, const struct sim_request_record *r)
{
    struct check_sink *cs = ctx;
    if (!(r->flags & (SIM_RF_WARMUP | SIM_RF_REJECTED | SIM_RF_PREFETCH_WASTED))) {
        for (int m = 0; m < ANA_TAIL_N_METRICS; m++) {
            double c[ANA_TAIL_N_COMPS], sum = 0;
            double v = ana_tail_components(r, m, c);
            for (int k = 0; k < ANA_TAIL_N_COMPS; k++) {
                ck_assert_msg(c[k] >= -1e-9, "component %d = %g", k, c[k]);
                sum += c[k];
            }
            ck_assert_msg(fabs(sum - v) <= 1e-9 * (1 + v), "%g != %g", sum, v);
            ck_assert_double_eq_tol(
                v, m == ANA_TAIL_E2E ? r->done_s - r->arrival_s : r->first_token_s - r->arrival_s,
                1e-9 * (1 + v));
            if (r->tiers > 1 && m == ANA_TAIL_E2E)
                ck_assert_double_eq_tol(c[ANA_TAIL_ESCALATION], r->dispatch_s - r->prefill_start_s,
                                        1e-9);
        }
        cs->preempted += r->preemptions > 0;
        cs->escalated += r->tiers > 1;
        cs->limited += (r->flags & SIM_RF_RATE_LIMITED) != 0;
    }
    return cs->next.request(cs->next.ctx, r);
}

static struct ana_tail *run_file(const char *path, const struct scn_override *o, size_t n,
                                 struct check_sink *cs)
{
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_file(&sc, path, o, n, &err);
    ck_assert_msg(rc == 0, "%s: %s", path, err.msg);
    struct ana_tail *t = NULL;
    ck_assert_int_eq(ana_tail_alloc(&t, &sc), 0);
    memset(cs, 0, sizeof *cs);
    cs->next = ana_tail_sink(t);
    struct sim_sink s = {cs, check_request, NULL, NULL, NULL};
    tu_run_world(&sc, &s, NULL, NULL);
    ck_assert_int_eq(ana_tail_compute(t), 0);
    sim_scenario_free(&sc);
    return t;
}

/* A replica short of KV memory at 2 requests/s: requests are preempted,
 * and the E2E tail is the long answers (decode), the TTFT tail the queue. */
START_TEST(test_run_preemptions)
{
    struct scn_override o[] = {{"workload.arrivals.rate_per_s", "2"}};
    struct check_sink cs;
    struct ana_tail *t = run_file("data/kv_thrash.yaml", o, 1, &cs);
    ck_assert_uint_gt(cs.preempted, 0);
    const struct ana_tail_row *p = ana_tail_find(t, ANA_TAIL_E2E, "preempted:yes");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->all_count, cs.preempted);
    ck_assert_msg(ana_tail_find(t, ANA_TAIL_E2E, "preempted_service")->tail_mean_s > 0,
                  "preempted service");
    const struct ana_tail_row *lo = ana_tail_find(t, ANA_TAIL_E2E, "output:2k-4k");
    ck_assert_ptr_nonnull(lo);
    ck_assert_msg(lo->lift > 5, "lift %g", lo->lift);
    ck_assert_msg(ana_tail_find(t, ANA_TAIL_E2E, "decode")->delta_share > 0.5, "decode share");
    ck_assert_msg(ana_tail_find(t, ANA_TAIL_TTFT, "queue")->delta_share > 0.5, "queue share");
    ana_tail_free(t);
}
END_TEST

/* A cascade (Haiku, then Sonnet): the TTFT tail is the escalated requests
 * and their time at the lower tier.  With a binding rate limit on Haiku
 * the tail is the rate-limit wait instead. */
START_TEST(test_run_cascade)
{
    struct scn_override o[] = {
        {"routing", "{policy: cascade, tiers: [haiku, sonnet], detect: 0.8}"},
        {"horizon", "{duration_s: 900, warmup_s: 60}"},
        {"deployments.haiku.rate_limits", "{requests_per_min: 300}"},
    };
    const char *path = LLMSIM_SOURCE_DIR "/scenarios/examples/routing-walkthrough.yaml";
    struct check_sink cs;
    struct ana_tail *t = run_file(path, o, 3, &cs);
    ck_assert_uint_gt(cs.escalated, 0);
    const struct ana_tail_row *e = ana_tail_find(t, ANA_TAIL_TTFT, "escalated:yes");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->all_count, cs.escalated);
    ck_assert_msg(e->lift > 2.0, "lift %g", e->lift);
    ck_assert_msg(ana_tail_find(t, ANA_TAIL_TTFT, "escalation")->delta_share > 0.5,
                  "escalation share");
    ck_assert_ptr_nonnull(ana_tail_find(t, ANA_TAIL_E2E, "class:analysis"));
    ana_tail_free(t);

    o[2].value = "{requests_per_min: 200}"; /* below the 240 offered */
    t = run_file(path, o, 3, &cs);
    ck_assert_uint_gt(cs.limited, 0);
    const struct ana_tail_row *l = ana_tail_find(t, ANA_TAIL_E2E, "rate_limited:yes");
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(l->all_count, cs.limited);
    ck_assert_msg(l->lift > 1.0, "lift %g", l->lift);
    ck_assert_msg(ana_tail_find(t, ANA_TAIL_E2E, "rate_limit_wait")->delta_share > 0.5,
                  "rate-limit share");
    ana_tail_free(t);
}
END_TEST

static Suite *tail_suite(void)
{
    Suite *s = suite_create("tail");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_components);
    tcase_add_test(tc, test_ties);
    tcase_add_test(tc, test_reservoir);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_h5_round_trip);
    tcase_add_test(tc, test_run_preemptions);
    tcase_add_test(tc, test_run_cascade);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(tail_suite());
}
