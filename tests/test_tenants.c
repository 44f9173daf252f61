/* Multi-tenant serving (issue 15): queue order and admission control
 * against closed forms, through the scenario keys (class `priority` and
 * `tenant`, `scheduler.order`, `admission`).
 *
 * Every case uses one self-hosted server (scheduler none, service_time
 * latency with exponential service of mean 1/mu = 1 s) and Poisson
 * arrivals, as tests/test_queueing.c does, and the same acceptance rule:
 * R independent replications, a Student t 95% confidence interval over the
 * replication means that is tight (half width under 5% of the expected
 * value, so the test has power) and holds the closed form within 3 half
 * widths (a false failure then has probability far below 1%).
 *
 * Closed forms:
 *   Non-preemptive priority M/G/1 (Cobham 1954; Kleinrock, Queueing
 *   Systems vol. 2, section 3.6): class k (1 = highest) waits
 *     W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k)),
 *     W0 = sum_i lambda_i E[S_i^2] / 2,  sigma_k = sum_{i<=k} rho_i;
 *   with exponential service E[S^2] = 2 / mu^2.  Kleinrock's conservation
 *   law: sum_k rho_k W_k equals the FIFO value rho Wq(M/M/1).
 *   M/M/1/K (Gross and Harris, Fundamentals of Queueing Theory, 2.5): an
 *   arrival finds K in the system, and is lost, with probability
 *     P_K = (1 - rho) rho^K / (1 - rho^(K + 1)).
 *
 * Fairness: the bound of the Virtual Token Counter (Sheng et al.,
 * "Fairness in Serving Large Language Models", OSDI 2024, Theorem 4.4):
 * two tenants backlogged over [t1, t2) receive service (w_in x prompt
 * tokens + w_out x output tokens) within 2 U of each other, U the largest
 * service one selection can add to a counter before the next selection.
 * The paper charges output per decode step (U = max(w_in L_in, w_out M));
 * llmsim charges it when the request finishes, and with one server nothing
 * is selected meanwhile, so U = w_in L_in + w_out L_out of one request.
 * The argument: at every selection the counters of backlogged tenants are
 * within U of each other (the one chosen had the least and gains at most U),
 * no counter is lifted while its tenant stays backlogged, and service over
 * the interval is the change of the counter. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "llmsim/config.h"
#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* Mean and 95% CI half-width (Student t) of x[0..n-1]. */
static void mean_ci(const double *x, int n, double *mean, double *hw)
{
    double m = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int i = 0; i < n; i++)
        s2 += (x[i] - m) * (x[i] - m);
    s2 /= n - 1;
    *mean = m;
    *hw = gsl_cdf_tdist_Pinv(0.975, n - 1) * sqrt(s2 / n);
}

static void check_closed_form(const char *label, double mean, double hw, double expected)
{
    fprintf(stderr, "%-34s expected %.4f simulated %.4f +- %.4f (%.2f%% hw, %.2f hw off)\n", label, expected,
            mean, hw, 100.0 * hw / expected, fabs(mean - expected) / hw);
    ck_assert_double_lt(hw, 0.05 * expected);
    ck_assert_double_le(fabs(mean - expected), 3.0 * hw);
}

/* Per class: measured requests, their summed wait, and those shed. */
#define MAXC 2
struct acc {
    double sum_queue_s[MAXC];
    uint64_t n[MAXC], shed[MAXC], deferred[MAXC];
    int64_t last_id[MAXC]; /* FIFO within a class: ids start in order */
    double last_start_s[MAXC];
    int out_of_order;
};

static int acc_request(void *ctx, const struct sim_request_record *r)
{
    struct acc *a = ctx;
    ck_assert(r->class_idx >= 0 && r->class_idx < MAXC);
    int c = r->class_idx;
    if (r->flags & SIM_RF_WARMUP)
        return 0;
    if (r->flags & SIM_RF_SHED) {
        ck_assert(r->flags & SIM_RF_REJECTED);
        a->shed[c]++;
        return 0;
    }
    a->deferred[c] += (r->flags & SIM_RF_DEFERRED) != 0;
    a->sum_queue_s[c] += r->queue_s;
    a->n[c]++;
    return 0;
}

static const char *two_class_yaml =
    "name: cobham\n"
    "seed: 15015\n"
    "horizon: {requests: 100000, warmup_s: 2000}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 0.7}\n"
    "  classes:\n"
    "    - {name: hi, share: 0.428571428571428571, priority: 1, prompt: [{segment: q, tokens: 100}], output_tokens: 50}\n"
    "    - {name: lo, share: 0.571428571428571429, prompt: [{segment: q, tokens: 100}], output_tokens: 50}\n"
    "deployments:\n"
    "  - name: server\n"
    "    kind: self-hosted\n"
    "    gpu_hour_usd: 2\n"
    "    scheduler: {policy: none, order: priority}\n"
    "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 1}}\n";

/* Runs R replications of sc; per class the replication means of the wait. */
static void run_reps(const struct sim_scenario *sc, int R, double *wq /* [R * MAXC] */, struct acc *total)
{
    memset(total, 0, sizeof *total);
    for (int r = 0; r < R; r++) {
        struct acc a;
        memset(&a, 0, sizeof a);
        struct sim_sink sink = {.ctx = &a, .request = acc_request};
        struct sim_world *w;
        struct llmsim_error err;
        ck_assert_int_eq(sim_world_alloc(&w, sc, (uint32_t)r, &sink, &err), 0);
        ck_assert_int_eq(sim_run(w), 0);
        struct sim_world_stats st;
        sim_world_stats(w, &st);
        ck_assert_uint_eq(st.in_flight, 0);
        ck_assert_uint_eq(st.completed, st.arrivals);
        for (int c = 0; c < MAXC; c++) {
            wq[r * MAXC + c] = a.n[c] ? a.sum_queue_s[c] / (double)a.n[c] : NAN;
            total->n[c] += a.n[c];
            total->shed[c] += a.shed[c];
            total->deferred[c] += a.deferred[c];
        }
        sim_world_free(w);
    }
}

START_TEST(cobham_two_classes)
{
    const int R = 20;
    const double mu = 1.0, l1 = 0.3, l2 = 0.4, rho1 = l1 / mu, rho2 = l2 / mu;
    const double W0 = (l1 + l2) * (2.0 / (mu * mu)) / 2.0;
    const double W1 = W0 / (1.0 - rho1), W2 = W0 / ((1.0 - rho1) * (1.0 - rho1 - rho2));
    struct sim_scenario sc;
    tu_load_yaml(&sc, two_class_yaml, NULL, 0);
    ck_assert_int_eq(sc.deployments[0].order, SIM_ORDER_PRIORITY);
    double wq[20 * MAXC], x[20], m1, h1, m2, h2;
    struct acc tot;
    run_reps(&sc, R, wq, &tot);
    for (int r = 0; r < R; r++)
        x[r] = wq[r * MAXC];
    mean_ci(x, R, &m1, &h1);
    check_closed_form("priority M/M/1 class 1 (W1)", m1, h1, W1);
    for (int r = 0; r < R; r++)
        x[r] = wq[r * MAXC + 1];
    mean_ci(x, R, &m2, &h2);
    check_closed_form("priority M/M/1 class 2 (W2)", m2, h2, W2);
    /* Conservation law: the load-weighted waits are FIFO's. */
    for (int r = 0; r < R; r++)
        x[r] = (rho1 * wq[r * MAXC] + rho2 * wq[r * MAXC + 1]) / (rho1 + rho2);
    double mc, hc, rho = rho1 + rho2;
    mean_ci(x, R, &mc, &hc);
    check_closed_form("conservation (rho-weighted Wq)", mc, hc, rho / (mu - (l1 + l2)));
    sim_scenario_free(&sc);
}
END_TEST

/* The same traffic in FIFO order: both classes wait the M/M/1 Wq. */
START_TEST(fifo_two_classes)
{
    const int R = 20;
    struct scn_override o = {"deployments.server.scheduler.order", "fifo"};
    struct sim_scenario sc;
    tu_load_yaml(&sc, two_class_yaml, &o, 1);
    double wq[20 * MAXC], x[20], m, h;
    struct acc tot;
    run_reps(&sc, R, wq, &tot);
    for (int c = 0; c < MAXC; c++) {
        for (int r = 0; r < R; r++)
            x[r] = wq[r * MAXC + c];
        mean_ci(x, R, &m, &h);
        check_closed_form(c == 0 ? "fifo M/M/1 class 1" : "fifo M/M/1 class 2", m, h, 0.7 / (1.0 - 0.7));
    }
    sim_scenario_free(&sc);
}
END_TEST

static const char *mm1k_yaml =
    "name: mm1k\n"
    "seed: 4242\n"
    "horizon: {requests: 40000, warmup_s: 200}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 0.9}\n"
    "  classes:\n"
    "    - {name: job, prompt: [{segment: q, tokens: 100}], output_tokens: 50}\n"
    "deployments:\n"
    "  - name: server\n"
    "    kind: self-hosted\n"
    "    gpu_hour_usd: 2\n"
    "    scheduler: {policy: none}\n"
    "    admission: [{tier: 0, max_queue: 4}]\n"
    "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 1}}\n";

/* M/M/1/K with K = max_queue + 1 = 5 at rho = 0.9 and 1.3: the share of
 * arrivals shed is P_K. */
static void mm1k_case(const char *rate, double rho, int R)
{
    const int K = 5;
    const double pk = (1.0 - rho) * pow(rho, K) / (1.0 - pow(rho, K + 1));
    struct scn_override o = {"workload.arrivals.rate_per_s", rate};
    struct sim_scenario sc;
    tu_load_yaml(&sc, mm1k_yaml, &o, 1);
    double *x = calloc((size_t)R, sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int r = 0; r < R; r++) {
        struct acc a;
        memset(&a, 0, sizeof a);
        struct sim_sink sink = {.ctx = &a, .request = acc_request};
        struct sim_world *w;
        struct llmsim_error err;
        ck_assert_int_eq(sim_world_alloc(&w, &sc, (uint32_t)r, &sink, &err), 0);
        ck_assert_int_eq(sim_run(w), 0);
        x[r] = (double)a.shed[0] / (double)(a.shed[0] + a.n[0]);
        sim_world_free(w);
    }
    double m, h;
    mean_ci(x, R, &m, &h);
    char label[64];
    snprintf(label, sizeof label, "M/M/1/5 loss at rho=%.2f", rho);
    check_closed_form(label, m, h, pk);
    free(x);
    sim_scenario_free(&sc);
}

START_TEST(mm1k_loss)
{
    mm1k_case("0.9", 0.9, 12);
    mm1k_case("1.3", 1.3, 12);
}
END_TEST

/* Deferring instead of shedding: nothing is lost, and deferred requests
 * wait longer than the ones admitted to the foreground. */
START_TEST(defer_serves_everything)
{
    struct scn_override o[2] = {{"deployments.server.admission", "[{tier: 0, max_queue: 4, action: defer}]"},
                                {"horizon.requests", "20000"}};
    struct sim_scenario sc;
    tu_load_yaml(&sc, mm1k_yaml, o, 2);
    ck_assert_int_eq(sc.deployments[0].admission[0].defer, 1);
    struct acc a;
    memset(&a, 0, sizeof a);
    struct sim_sink sink = {.ctx = &a, .request = acc_request};
    struct sim_world_stats st;
    tu_run_world(&sc, &sink, &st, NULL);
    ck_assert_uint_eq(a.shed[0], 0);
    ck_assert_uint_eq(st.completed, st.arrivals);
    ck_assert_uint_gt(a.deferred[0], 100);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- fairness ------------------------------------------------------------ */

#define NREQ_MAX 4096
struct fair_rec {
    double arrival_s, start_s, done_s;
    int tenant;
    double in, out;
};
struct fair_acc {
    struct fair_rec r[NREQ_MAX];
    size_t n;
};

static int fair_request(void *ctx, const struct sim_request_record *r)
{
    struct fair_acc *a = ctx;
    ck_assert_uint_lt(a->n, NREQ_MAX);
    a->r[a->n++] = (struct fair_rec){r->arrival_s, r->prefill_start_s, r->done_s, r->class_idx,
                                     r->input_tokens, r->output_tokens};
    return 0;
}

struct ev {
    double t;
    int kind; /* 0 arrival, 1 start, 2 done (in this order at equal times) */
    size_t i;
};

static int cmp_ev(const void *pa, const void *pb)
{
    const struct ev *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->kind - b->kind;
}

/* The spread (max - min) of W_a - W_b, service as the counters count it
 * (w_in x prompt at the start, w_out x output at the end), over the
 * longest stretch in which both tenants are backlogged (requests waiting). */
static double service_spread(const struct fair_acc *a, double w_in, double w_out)
{
    struct ev *e = malloc(3 * a->n * sizeof *e);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < a->n; i++) {
        e[3 * i] = (struct ev){a->r[i].arrival_s, 0, i};
        e[3 * i + 1] = (struct ev){a->r[i].start_s, 1, i};
        e[3 * i + 2] = (struct ev){a->r[i].done_s, 2, i};
    }
    qsort(e, 3 * a->n, sizeof *e, cmp_ev);
    long queued[2] = {0, 0};
    double W[2] = {0, 0}, best = 0, lo = 0, hi = 0, len0 = 0, len = 0;
    int in = 0;
    double t_in = 0;
    for (size_t k = 0; k < 3 * a->n; k++) {
        const struct fair_rec *r = &a->r[e[k].i];
        if (e[k].kind == 0)
            queued[r->tenant]++;
        else if (e[k].kind == 1) {
            queued[r->tenant]--;
            W[r->tenant] += w_in * r->in;
        } else
            W[r->tenant] += w_out * r->out;
        int both = queued[0] > 0 && queued[1] > 0;
        double d = W[0] - W[1];
        if (both && !in) {
            in = 1;
            t_in = e[k].t;
            lo = hi = d;
        } else if (in) {
            lo = fmin(lo, d);
            hi = fmax(hi, d);
            if (!both) {
                in = 0;
                len = e[k].t - t_in;
                if (len > len0) {
                    len0 = len;
                    best = hi - lo;
                }
            }
        }
    }
    free(e);
    fprintf(stderr, "backlogged stretch %.1f s, spread of W_a - W_b %.1f\n", len0, best);
    ck_assert_double_gt(len0, 300.0); /* the test has power: a long shared backlog */
    return best;
}

static const char *fair_yaml =
    "name: fair\n"
    "seed: 777\n"
    "horizon: {duration_s: 600}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 3}\n"
    "  classes:\n"
    "    - {name: noisy, tenant: a, share: 0.8, prompt: [{segment: q, tokens: {dist: uniform, min: 50, max: 300}}], "
    "output_tokens: {dist: uniform, min: 10, max: 100}}\n"
    "    - {name: quiet, tenant: b, share: 0.2, prompt: [{segment: q, tokens: {dist: uniform, min: 50, max: 300}}], "
    "output_tokens: {dist: uniform, min: 10, max: 100}}\n"
    "deployments:\n"
    "  - name: server\n"
    "    kind: self-hosted\n"
    "    gpu_hour_usd: 2\n"
    "    scheduler: {policy: none, order: fair}\n"
    "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 1}}\n";

START_TEST(vtc_bound_equal_weights)
{
    /* Defaults w_in = 1, w_out = 2; U = 1 x 300 + 2 x 100. */
    const double U = 1.0 * 300 + 2.0 * 100;
    struct sim_scenario sc;
    tu_load_yaml(&sc, fair_yaml, NULL, 0);
    ck_assert_double_eq(sc.deployments[0].fair_w_in, 1.0);
    ck_assert_double_eq(sc.deployments[0].fair_w_out, 2.0);
    struct fair_acc *a = calloc(1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    struct sim_sink sink = {.ctx = a, .request = fair_request};
    tu_run_world(&sc, &sink, NULL, NULL);
    double spread = service_spread(a, 1.0, 2.0);
    ck_assert_double_le(spread, 2.0 * U);
    sim_scenario_free(&sc);

    /* FIFO serves the noisy tenant four times as often: far past the bound. */
    struct scn_override o = {"deployments.server.scheduler", "{policy: none, order: fifo}"};
    tu_load_yaml(&sc, fair_yaml, &o, 1);
    a->n = 0;
    tu_run_world(&sc, &sink, NULL, NULL);
    spread = service_spread(a, 1.0, 2.0);
    ck_assert_double_gt(spread, 10.0 * 2.0 * U);
    sim_scenario_free(&sc);
    free(a);
}
END_TEST

/* Weights 3:1 give the noisy tenant three times the service of the quiet
 * one while both are backlogged: W_a / 3 - W_b stays within 2 U / 1. */
START_TEST(vtc_weights)
{
    struct scn_override o = {"deployments.server.scheduler", "{policy: none, order: fair, weights: {a: 3}}"};
    struct sim_scenario sc;
    tu_load_yaml(&sc, fair_yaml, &o, 1);
    struct fair_acc *a = calloc(1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    struct sim_sink sink = {.ctx = a, .request = fair_request};
    tu_run_world(&sc, &sink, NULL, NULL);
    /* Tenant a's service in units of its weight: scale its tokens by 1/3. */
    for (size_t i = 0; i < a->n; i++)
        if (a->r[i].tenant == 0) {
            a->r[i].in /= 3.0;
            a->r[i].out /= 3.0;
        }
    double spread = service_spread(a, 1.0, 2.0);
    ck_assert_double_le(spread, 2.0 * (300.0 + 2.0 * 100.0));
    sim_scenario_free(&sc);
    free(a);
}
END_TEST

/* Admission into batches follows the order too: with continuous batching
 * at overload the high tier waits far less than the low one. */
START_TEST(priority_batch_admission)
{
    static const char *yaml =
        "name: batchprio\n"
        "seed: 99\n"
        "horizon: {duration_s: 300, warmup_s: 30}\n"
        "workload:\n"
        "  arrivals: {process: poisson, rate_per_s: 6}\n"
        "  classes:\n"
        "    - {name: hi, share: 0.3, priority: 5, prompt: [{segment: q, tokens: 200}], output_tokens: 100}\n"
        "    - {name: lo, share: 0.7, prompt: [{segment: q, tokens: 200}], output_tokens: 100}\n"
        "deployments:\n"
        "  - name: gpu\n"
        "    kind: self-hosted\n"
        "    gpu_hour_usd: 2\n"
        "    scheduler: {policy: continuous, max_batch: 8, order: priority}\n"
        "    latency: {model: linear, prefill_s: {a: 0.02, b: 1.5e-4}, decode_step_s: {a: 0.011, b_batch: 3.0e-4}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct acc a;
    memset(&a, 0, sizeof a);
    struct sim_sink sink = {.ctx = &a, .request = acc_request};
    tu_run_world(&sc, &sink, NULL, NULL);
    double hi = a.sum_queue_s[0] / (double)a.n[0], lo = a.sum_queue_s[1] / (double)a.n[1];
    fprintf(stderr, "continuous batching, order priority: hi waits %.3f s, lo %.3f s\n", hi, lo);
    ck_assert_double_lt(10.0 * hi, lo);
    sim_scenario_free(&sc);
}
END_TEST

/* The summary gets tenant:NAME and tier:N scopes: each a union of classes
 * (its counts and tokens the sum of theirs) with the class rows, and
 * Jain's index over the tenants on "all". */
START_TEST(summary_scopes)
{
    static const char *yaml =
        "name: scopes\n"
        "seed: 5\n"
        "horizon: {duration_s: 400, warmup_s: 20}\n"
        "workload:\n"
        "  arrivals: {process: poisson, rate_per_s: 0.8}\n"
        "  classes:\n"
        "    - {name: a1, tenant: acme, share: 0.3, priority: 2, prompt: [{segment: q, tokens: 100}], output_tokens: 40}\n"
        "    - {name: a2, tenant: acme, share: 0.3, prompt: [{segment: q, tokens: 200}], output_tokens: 20}\n"
        "    - {name: g1, tenant: globex, share: 0.4, prompt: [{segment: q, tokens: 300}], output_tokens: 10}\n"
        "deployments:\n"
        "  - name: server\n"
        "    kind: self-hosted\n"
        "    gpu_hour_usd: 2\n"
        "    scheduler: {policy: none, order: priority}\n"
        "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 1}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    const struct ana_summary_row *a1 = ana_summary_find(rows, n, "class:a1", "e2e_s");
    const struct ana_summary_row *a2 = ana_summary_find(rows, n, "class:a2", "e2e_s");
    const struct ana_summary_row *g1 = ana_summary_find(rows, n, "class:g1", "e2e_s");
    const struct ana_summary_row *acme = ana_summary_find(rows, n, "tenant:acme", "e2e_s");
    const struct ana_summary_row *globex = ana_summary_find(rows, n, "tenant:globex", "e2e_s");
    const struct ana_summary_row *t2 = ana_summary_find(rows, n, "tier:2", "e2e_s");
    const struct ana_summary_row *t0 = ana_summary_find(rows, n, "tier:0", "e2e_s");
    ck_assert(a1 && a2 && g1 && acme && globex && t2 && t0);
    ck_assert_uint_eq(acme->count, a1->count + a2->count);
    ck_assert_uint_eq(globex->count, g1->count);
    ck_assert_uint_eq(t2->count, a1->count);
    ck_assert_uint_eq(t0->count, a2->count + g1->count);
    /* Tokens per second and the cost lines add up over the tenants. */
    double in_all = tu_metric(rows, n, "all", "input_tokens_per_s");
    double in_t = tu_metric(rows, n, "tenant:acme", "input_tokens_per_s") +
                  tu_metric(rows, n, "tenant:globex", "input_tokens_per_s");
    ck_assert_double_eq_tol(in_all, in_t, 1e-9 * in_all);
    double hour = tu_metric(rows, n, "class:a1", "cost_per_hour_usd") + tu_metric(rows, n, "class:a2", "cost_per_hour_usd");
    ck_assert_double_eq_tol(tu_metric(rows, n, "tenant:acme", "cost_per_hour_usd"), hour, 1e-9 * hour);
    /* Jain's index from the two tenants' token rates. */
    double x = tu_metric(rows, n, "tenant:acme", "input_tokens_per_s") +
               tu_metric(rows, n, "tenant:acme", "output_tokens_per_s");
    double y = tu_metric(rows, n, "tenant:globex", "input_tokens_per_s") +
               tu_metric(rows, n, "tenant:globex", "output_tokens_per_s");
    ck_assert_double_eq_tol(tu_metric(rows, n, "all", "jain_index"), (x + y) * (x + y) / (2 * (x * x + y * y)),
                            1e-12);
    /* Tenant and tier scopes have no itl_token_s row (classes do not either). */
    ck_assert_ptr_null(ana_summary_find(rows, n, "tenant:acme", "itl_token_s"));
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

/* Per-tenant quotas (deployments[].quotas) against their closed form.
 * Tenant heavy offers Poisson lambda_h = 2 requests/s against a quota of
 * q = 60 requests per minute; tenant light offers lambda_l = 0.5/s and has
 * none.  The server (scheduler none, exponential service of mean 0.05 s)
 * is lightly loaded (rho = 1.5 x 0.05 = 0.075), so a request starts within
 * a fraction of a second of passing its quota.
 *   Upper bound: the sliding window admits at most q in any 60 s, so over
 *   [T0, T1) (T = T1 - T0 = 3000 s) at most q T / 60 + q = 3060 starts.
 *   Lower bound: the window stays saturated (the offered load is twice the
 *   quota and the 429s keep coming back), and a slot freed at some instant
 *   is taken by the next attempt; new arrivals alone are Poisson at
 *   lambda_h, so the expected gap is at most 1 / lambda_h = 0.5 s and a slot
 *   turns over at least every 60.5 s on average: at least q T / 60.5 - q =
 *   2915 starts, less 3 standard deviations of the count (sqrt(q T / 60) =
 *   55, for the randomness of the gaps): 2751.  With on_limit queue the queued
 *   request is sent the moment a slot frees: at least q T / 60 - q.
 *   The light tenant is unaffected: no 429, no client queueing, and its
 *   starts are Poisson with mean lambda_l T = 1500 (3 standard deviations:
 *   +-117). */
struct quota_acc {
    uint64_t starts[2], limited[2], queued[2];
};

static int quota_request(void *ctx, const struct sim_request_record *r)
{
    struct quota_acc *a = ctx;
    ck_assert(r->class_idx >= 0 && r->class_idx < 2);
    a->limited[r->class_idx] += (r->flags & SIM_RF_RATE_LIMITED) != 0;
    a->queued[r->class_idx] += (r->flags & SIM_RF_CLIENT_QUEUED) != 0;
    if (r->prefill_start_s >= 600.0 && r->prefill_start_s < 3600.0 && !(r->flags & SIM_RF_REJECTED))
        a->starts[r->class_idx]++;
    return 0;
}

START_TEST(quota_closed_form)
{
    static const char *yaml =
        "name: quota\n"
        "seed: 1515\n"
        "horizon: {duration_s: 4000}\n"
        "workload:\n"
        "  arrivals: {process: poisson, rate_per_s: 2.5}\n"
        "  classes:\n"
        "    - {name: heavy, tenant: heavy, share: 0.8, prompt: [{segment: q, tokens: 100}], output_tokens: 20}\n"
        "    - {name: light, tenant: light, share: 0.2, prompt: [{segment: q, tokens: 100}], output_tokens: 20}\n"
        "deployments:\n"
        "  - name: server\n"
        "    kind: self-hosted\n"
        "    gpu_hour_usd: 2\n"
        "    scheduler: {policy: none}\n"
        "    quotas: [{tenant: heavy, requests_per_min: 60}]\n"
        "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.05}}\n";
    for (int queue = 0; queue < 2; queue++) {
        struct sim_scenario sc;
        struct scn_override o = {"deployments.server.quotas", queue ? "[{tenant: heavy, requests_per_min: 60, on_limit: queue}]"
                                                                    : "[{tenant: heavy, requests_per_min: 60, on_limit: retry}]"};
        tu_load_yaml(&sc, yaml, &o, 1);
        ck_assert_uint_eq(sc.deployments[0].n_quotas, 1);
        struct quota_acc a;
        memset(&a, 0, sizeof a);
        struct sim_sink sink = {.ctx = &a, .request = quota_request};
        struct sim_world *w;
        struct llmsim_error err;
        ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &sink, &err), 0);
        ck_assert_int_eq(sim_run(w), 0);
        sim_world_free(w);
        double q = 60.0, T = 3000.0, lo = queue ? q * T / 60.0 - q : q * T / 60.5 - q - 3.0 * sqrt(q * T / 60.0);
        fprintf(stderr, "quota on_limit %-5s heavy starts %llu in [%.0f, %.0f]; light %llu (1500 +- 117); "
                        "heavy 429s %llu, queued %llu\n", queue ? "queue" : "retry",
                (unsigned long long)a.starts[0], lo, q * T / 60.0 + q, (unsigned long long)a.starts[1],
                (unsigned long long)a.limited[0], (unsigned long long)a.queued[0]);
        ck_assert_double_le((double)a.starts[0], q * T / 60.0 + q);
        ck_assert_double_ge((double)a.starts[0], lo);
        ck_assert_double_le(fabs((double)a.starts[1] - 1500.0), 3.0 * sqrt(1500.0));
        ck_assert_uint_eq(a.limited[1] + a.queued[1], 0);
        ck_assert_uint_gt(queue ? a.queued[0] : a.limited[0], 0);
        ck_assert_uint_eq(queue ? a.limited[0] : a.queued[0], 0);
        sim_scenario_free(&sc);
    }
}
END_TEST

static Suite *tenants_suite(void)
{
    Suite *s = suite_create("tenants");
    TCase *tc = tcase_create("closed forms");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, cobham_two_classes);
    tcase_add_test(tc, fifo_two_classes);
    tcase_add_test(tc, mm1k_loss);
    tcase_add_test(tc, defer_serves_everything);
    tcase_add_test(tc, vtc_bound_equal_weights);
    tcase_add_test(tc, vtc_weights);
    tcase_add_test(tc, priority_batch_admission);
    tcase_add_test(tc, summary_scopes);
    tcase_add_test(tc, quota_closed_form);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(tenants_suite());
}
