/* What `llmsim plan`, `sweep` and `levers` decide from their points'
 * summaries (llmsim/study.h): the monotone search, the SLO verdict and the
 * Pareto frontier, the search checked end to end against queueing theory.
 *
 * Plan on M/M/c.  An M/M/c system with one shared queue (scheduler none,
 * exponential service_time, as scenarios/examples/mmc.yaml) has a sojourn
 * time T = Wq + S whose distribution is known in closed form (Gross and
 * Harris, Fundamentals of Queueing Theory, section 2.3): a request waits
 * with probability C(c, a), Erlang's C for a = lambda / mu, and then its
 * wait is Exp(b) with b = c mu - lambda, independent of its Exp(mu)
 * service, so
 *
 *   P(T > t) = (1 - C) e^{-mu t} + C (b e^{-mu t} - mu e^{-b t}) / (b - mu)
 *
 * (b != mu; at b = mu the second term is C (1 + mu t) e^{-mu t}).  The
 * 95th percentile t95(c) solves P(T > t) = 0.05 (bisection).  The suite
 * evaluates the plan's predicate the way `llmsim plan` does (cmd_plan.c):
 * at least 4 replications, the verdict of ana_slo_check on the pooled p95
 * and its 95% interval, one rerun with 4x the replications when the
 * interval straddles the target, then the point estimate; a deployment
 * that does not keep up fails.  The scenario is loaded from YAML with the
 * searched key as an override and run with ana_run_scenario, as every
 * study point is. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"
#include "llmsim/results.h"
#include "llmsim/runner.h"
#include "llmsim/scenario.h"
#include "llmsim/study.h"
#include "testutil.h"

#define MU 10.0         /* service rate per server, 1/s (mean service 0.1 s) */
#define N_REQ 20000     /* requests per replication */
#define MIN_REPS 4      /* as cmd_plan.c */
#define ESCALATE 4      /* as cmd_plan.c */
#define MAX_EVALS 64

/* ---- the closed form ---------------------------------------------------- */

static double erlang_c(int c, double a)
{
    double term = 1.0, sum = 0.0; /* a^k / k! */
    for (int k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
    }
    double top = term * c / (c - a);
    return top / (sum + top);
}

/* P(T > t) for M/M/c at arrival rate lambda (lambda < c mu). */
static double sojourn_sf(double t, int c, double lambda)
{
    double C = erlang_c(c, lambda / MU), b = c * MU - lambda;
    double wait = fabs(b - MU) < 1e-12 ? (1.0 + MU * t) * exp(-MU * t)
                                        : (b * exp(-MU * t) - MU * exp(-b * t)) / (b - MU);
    return (1.0 - C) * exp(-MU * t) + C * wait;
}

/* The sojourn time's 95th percentile. */
static double t95(int c, double lambda)
{
    double lo = 0, hi = 1;
    while (sojourn_sf(hi, c, lambda) > 0.05)
        hi *= 2;
    for (int i = 0; i < 200; i++) {
        double m = 0.5 * (lo + hi);
        if (sojourn_sf(m, c, lambda) > 0.05)
            lo = m;
        else
            hi = m;
    }
    return 0.5 * (lo + hi);
}

/* The largest lambda < c mu with t95(c, lambda) <= target (t95 grows with
 * lambda). */
static double lambda_max(int c, double target)
{
    double lo = 1e-9, hi = c * MU * (1 - 1e-9);
    for (int i = 0; i < 200; i++) {
        double m = 0.5 * (lo + hi);
        if (t95(c, m) <= target)
            lo = m;
        else
            hi = m;
    }
    return 0.5 * (lo + hi);
}

START_TEST(closed_form_sanity)
{
    /* c = 1: T ~ Exp(mu - lambda), t95 = ln 20 / (mu - lambda). */
    ck_assert_double_eq_tol(t95(1, 6.0), log(20.0) / (MU - 6.0), 1e-9);
    /* The b = mu branch is the limit of the other. */
    ck_assert_double_eq_tol(sojourn_sf(0.2, 5, 40.0), sojourn_sf(0.2, 5, 40.0 + 1e-7), 1e-6);
    /* Erlang C by hand: c = 2, a = 1 gives 1/3. */
    ck_assert_double_eq_tol(erlang_c(2, 1.0), 1.0 / 3.0, 1e-15);
}
END_TEST

/* ---- the plan predicate on a loaded scenario ----------------------------- */

static const char mmc_fmt[] =
    "name: plan-mmc\n"
    "seed: %d\n"
    "horizon: {requests: %d, warmup_s: 50}\n"
    "replications: %d\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: %.17g}\n"
    "  classes:\n"
    "    - name: job\n"
    "      prompt: [{segment: prompt, tokens: 100}]\n"
    "      output_tokens: 10\n"
    "deployments:\n"
    "  - name: pool\n"
    "    kind: self-hosted\n"
    "    replicas: %d\n"
    "    queue: shared\n"
    "    gpu_hour_usd: 2.0\n"
    "    scheduler: {policy: none}\n"
    "    latency: {model: service_time, service_time_s: {dist: exponential, mean: %.17g}}\n"
    "slo: {e2e_ms: %.17g, percentile: 95}\n"
    "output: {path: results/plan-mmc.h5, requests: false}\n";

/* One evaluation of the predicate. */
struct eval {
    double x;
    int ok;
    int rounds;     /* 1, or 2 after the rerun with more replications */
    int verdict;    /* the last round's */
    int stable;
    double value;   /* e2e p95 of the last round, s */
    double ci95;    /* its half-width */
    double ci95_first; /* the first round's half-width */
};

struct plan_ctx {
    char yaml[2048];
    const char *key; /* the searched key */
    int integer;
    struct eval evals[MAX_EVALS];
    int n;
};

/* Loads the scenario with key = x and `reps` replications, runs it and
 * checks its SLO. */
static void evaluate(const struct plan_ctx *c, double x, int reps, struct ana_slo_check *chk)
{
    char xs[64], rs[16];
    if (c->integer)
        snprintf(xs, sizeof xs, "%.0f", x);
    else
        snprintf(xs, sizeof xs, "%.6g", x);
    snprintf(rs, sizeof rs, "%d", reps);
    struct scn_override ov[2] = {{c->key, xs}, {"replications", rs}};
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_string(&sc, c->yaml, strlen(c->yaml), "plan-mmc.yaml", ov, 2, &err);
    ck_assert_msg(rc == 0, "%s:%d:%d: %s", err.file, err.line, err.col, err.msg);
    struct ana_stats *stats = NULL;
    ck_assert_int_eq(ana_stats_alloc(&stats, &sc), 0);
    struct ana_run_opts ro = {.jobs = 2};
    struct ana_run_counts counts;
    rc = ana_run_scenario(&sc, &ro, stats, &counts, &err);
    ck_assert_msg(rc == 0, "run failed: %s", err.msg);
    ck_assert_int_eq(counts.replications_done, reps);
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(stats, &rows, &n), 0);
    ana_slo_check(&sc.slo, rows, n, chk);
    free(rows);
    ana_stats_free(stats);
    sim_scenario_free(&sc);
}

/* ok(x): the SLO holds and the pool keeps up, decided as cmd_plan.c does. */
static int holds(void *vctx, double x)
{
    struct plan_ctx *c = vctx;
    ck_assert_int_lt(c->n, MAX_EVALS);
    struct eval *e = &c->evals[c->n++];
    memset(e, 0, sizeof *e);
    e->x = x;
    struct ana_slo_check chk;
    for (int round = 0; round < 2; round++) {
        evaluate(c, x, round ? MIN_REPS * ESCALATE : MIN_REPS, &chk);
        e->rounds = round + 1;
        if (round == 0)
            e->ci95_first = chk.ci95;
        if (chk.verdict == ANA_SLO_UNCERTAIN && chk.stable && round == 0)
            continue;
        break;
    }
    ck_assert_ptr_nonnull(chk.metric);
    ck_assert_str_eq(chk.metric, "e2e_s");
    e->verdict = chk.verdict;
    e->stable = chk.stable;
    e->value = chk.value;
    e->ci95 = chk.ci95;
    e->ok = chk.stable && (chk.verdict == ANA_SLO_MET || (chk.verdict == ANA_SLO_UNCERTAIN && chk.value <= chk.target));
    return e->ok;
}

static const struct eval *find(const struct plan_ctx *c, double x)
{
    for (int i = c->n - 1; i >= 0; i--)
        if (c->evals[i].x == x)
            return &c->evals[i];
    return NULL;
}

/* The fewest servers that keep the sojourn p95 under a target.  lambda =
 * 32/s on servers of mu = 10/s (a = 3.2): t95 is 0.4738 s with 4 servers
 * and 0.3284 s with 5 (then 0.3064 s with 6), so the target, midway in log
 * between the first two (0.3945 s), lies 20% from both, several times the
 * half-width of the p95 interval at these run lengths (about 7% at c = 4,
 * 1.3% at c = 5): the run decides each side by its interval, not by a
 * coin.  The search starts at 1 and doubles (1, 2, 4, 8), then bisects;
 * with 1, 2 and 3 servers the queue grows without bound. */
START_TEST(plan_mmc_servers_against_erlang_c)
{
    const double lambda = 32.0;
    const int c_design = 5;
    const double target = sqrt(t95(c_design - 1, lambda) * t95(c_design, lambda));
    int c_star = 0;
    for (int c = (int)floor(lambda / MU) + 1; c < 100 && !c_star; c++)
        if (t95(c, lambda) <= target)
            c_star = c;
    ck_assert_int_eq(c_star, c_design);

    struct plan_ctx *ctx = calloc(1, sizeof *ctx);
    ck_assert_ptr_nonnull(ctx);
    snprintf(ctx->yaml, sizeof ctx->yaml, mmc_fmt, 2024, N_REQ, MIN_REPS, lambda, 4, 1.0 / MU, 1000.0 * target);
    ctx->key = "deployments.pool.replicas";
    ctx->integer = 1;
    struct ana_search s = {.lo = 1, .hi = NAN, .integer = 1};
    double x;
    int found;
    ck_assert_int_eq(ana_plan_search(&s, holds, ctx, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_double_eq(x, c_star);

    /* The two sides of the answer were decided by their intervals. */
    const struct eval *below = find(ctx, c_star - 1), *at = find(ctx, c_star);
    ck_assert_ptr_nonnull(below);
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(below->verdict, ANA_SLO_MISSED);
    ck_assert_int_eq(at->verdict, ANA_SLO_MET);
    ck_assert_int_eq(below->stable, 1);
    /* ... and their p95 agree with the closed form within 3 half-widths
     * (as tests/test_queueing.c checks means). */
    ck_assert_double_le(fabs(below->value - t95(c_star - 1, lambda)), 3 * below->ci95);
    ck_assert_double_le(fabs(at->value - t95(c_star, lambda)), 3 * at->ci95);
    /* Fewer servers than the offered load do not keep up. */
    for (int c = 1; c < lambda / MU; c++) {
        const struct eval *e = find(ctx, c);
        if (e)
            ck_assert_msg(!e->stable && !e->ok, "%d servers judged stable", c);
    }
    ck_assert_ptr_nonnull(find(ctx, 1));
    free(ctx);
}
END_TEST

/* The largest arrival rate that 4 servers carry with the sojourn p95 under
 * the same target (--maximize, continuous), against lambda_max of the closed
 * form (29.1/s).
 *
 * Tolerance.  A value judged to hold is one whose interval lies under the
 * target (its true p95 is under it, with 95% confidence), or one whose
 * interval straddles the target after the rerun and whose point estimate is
 * under it: its true p95 is then within 2 half-widths of the target.  Likewise
 * for a value judged to fail.  So every decision is right except where
 * |t95(lambda) - target| <= 2 h, h the p95 half-width (the first round's,
 * the larger), a band of lambdas 2 h / t95'(lambda) wide on either side of
 * lambda_max, t95' the closed form's slope there.  The bisection stops
 * when its bracket is within rel_tol of its upper end, which adds rel_tol x
 * lambda.  With h about 0.02 s and t95' about 0.018 s per request/s the
 * tolerance is about 2.5 requests/s (9%); the range searched is 20 to 38. */
START_TEST(plan_mmc_max_rate_against_erlang_c)
{
    const int c = 4;
    const double target = sqrt(t95(4, 32.0) * t95(5, 32.0));
    const double lam_star = lambda_max(c, target);
    ck_assert_double_eq_tol(t95(c, lam_star), target, 1e-9);

    struct plan_ctx *ctx = calloc(1, sizeof *ctx);
    ck_assert_ptr_nonnull(ctx);
    snprintf(ctx->yaml, sizeof ctx->yaml, mmc_fmt, 2024, N_REQ, MIN_REPS, 32.0, c, 1.0 / MU, 1000.0 * target);
    ctx->key = "workload.arrivals.rate_per_s";
    ctx->integer = 0;
    const double rel_tol = 0.01;
    struct ana_search s = {.lo = 20, .hi = 38, .maximize = 1, .rel_tol = rel_tol};
    double x;
    int found;
    ck_assert_int_eq(ana_plan_search(&s, holds, ctx, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    const struct eval *at = find(ctx, x);
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(at->ok, 1);
    ck_assert(isfinite(at->ci95_first) && at->ci95_first > 0);
    const double d = 1e-3;
    const double slope = (t95(c, x + d) - t95(c, x - d)) / (2 * d);
    const double tol = 2 * at->ci95_first / slope + rel_tol * x;
    ck_assert_msg(fabs(x - lam_star) <= tol, "found %g requests/s, closed form %g, tolerance %g", x, lam_star, tol);
    /* The tolerance is tight enough for the test to mean something. */
    ck_assert_double_lt(tol, 0.15 * lam_star);
    /* Both ends of the range were evaluated: 20 holds, 38 does not. */
    ck_assert_int_eq(find(ctx, 20)->ok, 1);
    ck_assert_int_eq(find(ctx, 38)->ok, 0);
    free(ctx);
}
END_TEST

/* ---- the search on known predicates --------------------------------------- */

struct threshold {
    double at;   /* ok(x) is x >= at (minimise) or x <= at (maximise) */
    int maximize;
    int calls;
    int fail_at_call; /* > 0: return -7 on that call */
};

static int thr_ok(void *vctx, double x)
{
    struct threshold *t = vctx;
    if (++t->calls == t->fail_at_call)
        return -7;
    return t->maximize ? x <= t->at : x >= t->at;
}

START_TEST(search_known_predicates)
{
    double x;
    int found;
    /* Integer, doubling from 1: 1, 2, 4, 8, 16 (holds), then 12, 14, 13. */
    struct threshold t = {.at = 13};
    struct ana_search s = {.lo = 1, .hi = NAN, .integer = 1};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_double_eq(x, 13);
    ck_assert_int_eq(t.calls, 8);
    /* Holds at the lower end: one evaluation. */
    t = (struct threshold){.at = 0.5};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_double_eq(x, 1);
    ck_assert_int_eq(t.calls, 1);
    /* Nothing in [1, 10] holds: not found, no error. */
    t = (struct threshold){.at = 11};
    s = (struct ana_search){.lo = 1, .hi = 10, .integer = 1};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 0);
    ck_assert(isnan(x));
    /* Doubling gives up after max_doublings. */
    t = (struct threshold){.at = 1e9};
    s = (struct ana_search){.lo = 1, .hi = NAN, .integer = 1, .max_doublings = 5};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(t.calls, 6);
    /* Continuous: within rel_tol of the threshold, from above. */
    t = (struct threshold){.at = 2.385};
    s = (struct ana_search){.lo = 0.1, .hi = 10, .rel_tol = 1e-4};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_double_ge(x, 2.385);
    ck_assert_double_le(x - 2.385, 1e-4 * x);
    /* Maximise, integer, in a range: the largest x <= 37.9. */
    t = (struct threshold){.at = 37.9, .maximize = 1};
    s = (struct ana_search){.lo = 2, .hi = 100, .integer = 1, .maximize = 1};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_double_eq(x, 37);
    /* Maximise, continuous, doubling: from below, within rel_tol. */
    t = (struct threshold){.at = 29.125, .maximize = 1};
    s = (struct ana_search){.lo = 1, .hi = NAN, .maximize = 1, .rel_tol = 1e-3};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_double_le(x, 29.125);
    ck_assert_double_le(29.125 - x, 2e-3 * 29.125);
    /* Maximise where the lower end already fails: not found. */
    t = (struct threshold){.at = 0.5, .maximize = 1};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), 0);
    ck_assert_int_eq(found, 0);
    /* A negative code from the predicate ends the search and is returned. */
    t = (struct threshold){.at = 13, .fail_at_call = 3};
    s = (struct ana_search){.lo = 1, .hi = NAN, .integer = 1};
    ck_assert_int_eq(ana_plan_search(&s, thr_ok, &t, &x, &found), -7);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(t.calls, 3);
}
END_TEST

/* ---- Pareto --------------------------------------------------------------- */

START_TEST(pareto_hand_made)
{
    /*            cost  latency  quality  eligible
     * 0          1.0     2.0     0.90       1      on (ties with 3)
     * 1          2.0     1.0     0.90       1      on
     * 2          2.0     2.0     0.90       1      dominated by 0 and 1
     * 3          1.0     2.0     0.90       1      on (equal to 0: both stay)
     * 4          0.5     0.5     0.99       0      off, and dominates nobody
     * 5          3.0     3.0     0.95       1      on only through its quality
     * 6          NaN     0.1     0.99       1      off (no cost)
     * 7          2.0     1.0     0.85       1      dominated by 1 (worse quality only) */
    const double cost[] = {1.0, 2.0, 2.0, 1.0, 0.5, 3.0, NAN, 2.0};
    const double lat[] = {2.0, 1.0, 2.0, 2.0, 0.5, 3.0, 0.1, 1.0};
    const double q[] = {0.90, 0.90, 0.90, 0.90, 0.99, 0.95, 0.99, 0.85};
    const int el[] = {1, 1, 1, 1, 0, 1, 1, 1};
    const size_t n = sizeof cost / sizeof cost[0];
    int on[8];
    ana_pareto(cost, lat, q, el, n, on);
    const int want_q[] = {1, 1, 0, 1, 0, 1, 0, 0};
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(on[i] == want_q[i], "with quality: point %zu on=%d", i, on[i]);
    /* Without quality, 5 is dominated by 0 and 7 equals 1 (a tie: both on). */
    ana_pareto(cost, lat, NULL, el, n, on);
    const int want_nq[] = {1, 1, 0, 1, 0, 0, 0, 1};
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(on[i] == want_nq[i], "without quality: point %zu on=%d", i, on[i]);
    /* An eligible point without quality drops quality for all ... */
    double q2[8];
    memcpy(q2, q, sizeof q2);
    q2[2] = NAN;
    ana_pareto(cost, lat, q2, el, n, on);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(on[i] == want_nq[i], "quality dropped: point %zu on=%d", i, on[i]);
    /* ... an ineligible one does not. */
    memcpy(q2, q, sizeof q2);
    q2[4] = NAN;
    ana_pareto(cost, lat, q2, el, n, on);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(on[i] == want_q[i], "ineligible without quality: point %zu on=%d", i, on[i]);
    /* Nothing eligible: nothing on the frontier; one point: on. */
    const int none[] = {0, 0, 0, 0, 0, 0, 0, 0};
    ana_pareto(cost, lat, q, none, n, on);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(on[i], 0);
    ana_pareto(cost, lat, q, el, 1, on);
    ck_assert_int_eq(on[0], 1);
}
END_TEST

/* ---- SLO verdicts ------------------------------------------------------- */

static struct ana_summary_row row(const char *scope, const char *metric, double p95, double p95_ci95)
{
    struct ana_summary_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.scope, sizeof r.scope, "%s", scope);
    snprintf(r.metric, sizeof r.metric, "%s", metric);
    r.count = 1000;
    r.mean = 0.5 * p95;
    r.p50 = 0.4 * p95;
    r.p90 = 0.9 * p95;
    r.p95 = p95;
    r.p99 = 1.5 * p95;
    r.ci95 = 0.01;
    r.p50_ci95 = r.p90_ci95 = r.p99_ci95 = NAN;
    r.p95_ci95 = p95_ci95;
    return r;
}

START_TEST(slo_verdicts)
{
    struct ana_slo_check k;
    struct sim_slo_cfg slo = {.e2e_s = 1.2, .percentile = 95};
    struct ana_summary_row rows[4];

    /* met: the interval [0.9, 1.1] lies under 1.2 */
    rows[0] = row("all", "e2e_s", 1.0, 0.1);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MET);
    ck_assert_int_eq(k.point_estimate, 0);
    ck_assert_int_eq(k.stable, 1);
    ck_assert_str_eq(k.metric, "e2e_s");
    ck_assert_double_eq(k.value, 1.0);
    ck_assert_double_eq(k.ci95, 0.1);
    ck_assert_double_eq(k.target, 1.2);
    ck_assert_double_eq_tol(k.headroom, 0.2 / 1.2, 1e-15);
    /* missed: [1.4, 1.6] lies over it */
    rows[0] = row("all", "e2e_s", 1.5, 0.1);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED);
    ck_assert_double_lt(k.headroom, 0);
    /* uncertain: [1.05, 1.25] straddles it, either side of the estimate */
    rows[0] = row("all", "e2e_s", 1.15, 0.1);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_UNCERTAIN);
    rows[0] = row("all", "e2e_s", 1.25, 0.1);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_UNCERTAIN);
    /* no interval: the point estimate decides, and says so */
    rows[0] = row("all", "e2e_s", 1.1, NAN);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MET);
    ck_assert_int_eq(k.point_estimate, 1);
    rows[0] = row("all", "e2e_s", 1.3, NAN);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED);
    ck_assert_int_eq(k.point_estimate, 1);
    /* a target with nothing measured is not shown to hold */
    rows[0] = row("all", "ttft_s", 0.5, 0.01);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED);
    /* only scope "all" counts */
    rows[0] = row("class:a", "e2e_s", 1.0, 0.1);
    ana_slo_check(&slo, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED);

    /* Several targets: every one must be met, one missed misses, and the
     * binding target is the one with the least headroom. */
    struct sim_slo_cfg two = {.ttft_s = 0.5, .e2e_s = 1.2, .percentile = 95};
    rows[0] = row("all", "ttft_s", 0.3, 0.01); /* headroom 0.4 */
    rows[1] = row("all", "e2e_s", 1.0, 0.1);   /* headroom 0.167 */
    ana_slo_check(&two, rows, 2, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MET);
    ck_assert_str_eq(k.metric, "e2e_s");
    rows[1] = row("all", "e2e_s", 1.15, 0.1);
    ana_slo_check(&two, rows, 2, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_UNCERTAIN);
    rows[0] = row("all", "ttft_s", 0.7, 0.01);
    ana_slo_check(&two, rows, 2, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED); /* missed wins over uncertain */
    ck_assert_str_eq(k.metric, "ttft_s");
    ck_assert_double_eq_tol(k.headroom, -0.4, 1e-12);

    /* The percentile picks the columns: p99 and its interval. */
    struct sim_slo_cfg p99 = {.e2e_s = 1.2, .percentile = 99};
    rows[0] = row("all", "e2e_s", 1.0, 0.1); /* p99 1.5, no p99 interval */
    ana_slo_check(&p99, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MISSED);
    ck_assert_int_eq(k.point_estimate, 1);
    ck_assert_double_eq(k.value, 1.5);
    rows[0].p99 = 1.1;
    rows[0].p99_ci95 = 0.05;
    ana_slo_check(&p99, rows, 1, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_MET);
    ck_assert_int_eq(k.point_estimate, 0);

    /* No SLO: verdict none, stability still read from deployment rows. */
    rows[0] = row("all", "e2e_s", 1.0, 0.1);
    rows[1] = row("deployment:a", "stable", 1.0, NAN);
    rows[1].mean = 1;
    rows[2] = row("deployment:b", "stable", 1.0, NAN);
    rows[2].mean = 0.5; /* one of two replications overloaded */
    rows[2].count = 2;
    ana_slo_check(NULL, rows, 3, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_NONE);
    ck_assert_int_eq(k.stable, 0);
    ck_assert_ptr_null(k.metric);
    struct sim_slo_cfg empty = {.percentile = 95};
    ana_slo_check(&empty, rows, 2, &k);
    ck_assert_int_eq(k.verdict, ANA_SLO_NONE);
    ck_assert_int_eq(k.stable, 1);
    /* A stable row without samples, or outside a deployment scope, is not
     * read. */
    rows[2].count = 0;
    rows[3] = row("all", "stable", 1.0, NAN);
    rows[3].mean = 0;
    ana_slo_check(&slo, rows, 4, &k);
    ck_assert_int_eq(k.stable, 1);
    ck_assert_int_eq(k.verdict, ANA_SLO_MET);

    /* ana_row_stat: the named statistic, NaN when absent or empty. */
    ck_assert_double_eq(ana_row_stat(rows, 4, "all", "e2e_s", "p95"), 1.0);
    ck_assert_double_eq(ana_row_stat(rows, 4, "all", "e2e_s", "p95_ci95"), 0.1);
    ck_assert_double_eq(ana_row_stat(rows, 4, "all", "e2e_s", "ci95"), 0.01);
    ck_assert(isnan(ana_row_stat(rows, 4, "all", "e2e_s", "p42")));
    ck_assert(isnan(ana_row_stat(rows, 4, "all", "nosuch", "mean")));
    ck_assert(isnan(ana_row_stat(rows, 4, "deployment:b", "stable", "mean")));
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("decisions");
    tcase_add_test(tc, closed_form_sanity);
    tcase_add_test(tc, search_known_predicates);
    tcase_add_test(tc, pareto_hand_made);
    tcase_add_test(tc, slo_verdicts);
    suite_add_tcase(s, tc);
    TCase *mmc = tcase_create("mmc");
    tcase_add_test(mmc, plan_mmc_servers_against_erlang_c);
    tcase_add_test(mmc, plan_mmc_max_rate_against_erlang_c);
    suite_add_tcase(s, mmc);
    return s;
}

int main(void)
{
    return tu_run_suite(plan_suite());
}
