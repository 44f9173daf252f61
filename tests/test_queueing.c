/* Validation of the engine against queueing theory (design.md section 9).
 *
 * Scenarios are built in C: one class with one constant prompt segment, one
 * self-hosted deployment with scheduler none and the service_time latency
 * model, Poisson arrivals.  Service times have mean 1/mu = 1 s.  Each case
 * runs R independent replications of N requests; requests that arrive during
 * the warm-up are left out of the waiting-time means.  The 95% confidence
 * interval of the mean waiting time in queue uses Student t over the R
 * replication means.  Two things are asserted: the interval is tight (half
 * width under 5% of the expected value, so the test has power), and the
 * closed form lies within 3 half-widths of the simulated mean.  Seeds are
 * fixed, so the outcome is deterministic.
 *
 * Closed forms (Kleinrock, Queueing Systems vol. 1; Gross and Harris):
 *   M/M/1   Wq = rho / (mu - lambda)
 *   M/D/1   Wq = rho / (2 mu (1 - rho))                (Pollaczek-Khinchine)
 *   M/M/c   Wq = C(c, a) / (c mu - lambda), a = lambda / mu, with Erlang's
 *           C(c, a) = (a^c / c!) (c / (c - a)) /
 *                     (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))
 *
 * On every replication the suite also checks Little's law in its
 * sample-path form (the integral of the number in system equals the sum of
 * sojourn times once the run has drained) and conservation (every arrival
 * finished, nothing in flight), and across replications that the
 * time-average number in system agrees with lambda x mean sojourn within the
 * confidence interval.  A run stopped half way with sim_run_until must
 * account for every arrival as finished or in flight. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "llmsim/config.h"
#include "llmsim/world.h"
#include "testutil.h"

#define MU 1.0 /* service rate, 1/s */

/* One self-hosted validation scenario (owned by the caller; release with
 * sim_scenario_free). */
static void build(struct sim_scenario *sc, uint64_t seed, double lambda, enum mdl_dist_kind service,
                  int replicas, int shared, enum sim_replica_routing rr, uint64_t n,
                  double warmup_s)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "validation");
    sc->seed = seed;
    sc->max_requests = n;
    sc->warmup_s = warmup_s;
    sc->replications = 1;

    struct sim_workload_cfg *wl = &sc->workload;
    wl->process = SIM_ARRIVAL_POISSON;
    wl->rate_per_s = lambda;
    wl->n_classes = 1;
    wl->classes = calloc(1, sizeof *wl->classes);
    ck_assert_ptr_nonnull(wl->classes);
    struct sim_class_cfg *c = &wl->classes[0];
    snprintf(c->name, sizeof c->name, "only");
    c->share = 1.0;
    c->difficulty[SIM_DIFF_SIMPLE] = 1.0;
    c->n_segments = 1;
    c->segments = calloc(1, sizeof *c->segments);
    ck_assert_ptr_nonnull(c->segments);
    snprintf(c->segments[0].name, sizeof c->segments[0].name, "question");
    mdl_dist_constant(&c->segments[0].tokens, 100.0);
    c->segments[0].variants = 1;
    mdl_dist_constant(&c->output_tokens, 50.0);

    sc->n_deployments = 1;
    sc->deployments = calloc(1, sizeof *sc->deployments);
    ck_assert_ptr_nonnull(sc->deployments);
    struct sim_deployment_cfg *d = &sc->deployments[0];
    snprintf(d->name, sizeof d->name, "gpu");
    d->kind = SIM_DEPLOY_SELF_HOSTED;
    d->latency_kind = MDL_LAT_SERVICE_TIME;
    mdl_dist_constant(&d->service_time_s, 1.0 / MU);
    d->service_time_s.kind = service;
    ck_assert_int_eq(mdl_dist_prepare(&d->service_time_s, NULL), 0);
    d->replicas = replicas;
    d->tp = 1;
    d->gpu_hour_usd = 2.5;
    d->scheduler = SIM_SCHED_NONE;
    d->queue_shared = shared;
    d->replica_routing = rr;
    sc->routing.policy = SIM_ROUTE_FIXED;
    sc->routing.to = 0;
}

/* Sums over the requests that arrived after the warm-up. */
struct acc {
    double sum_queue_s;
    uint64_t n;
};

static int acc_request(void *ctx, const struct sim_request_record *r)
{
    struct acc *a = ctx;
    if (!(r->flags & SIM_RF_WARMUP)) {
        a->sum_queue_s += r->queue_s;
        a->n++;
    }
    return 0;
}

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

struct case_result {
    double wq_mean, wq_hw; /* replicated mean waiting time in queue and CI half-width */
};

/* Runs R replications of sc, checking Little's law and conservation on each,
 * and returns the waiting-time estimate. */
static struct case_result run_case(const char *label, const struct sim_scenario *sc, double lambda,
                                   int R, double wq_expected)
{
    double *wq = calloc((size_t)R, sizeof *wq);
    double *L = calloc((size_t)R, sizeof *L);
    double *lw = calloc((size_t)R, sizeof *lw);
    ck_assert(wq && L && lw);
    for (int r = 0; r < R; r++) {
        struct acc a = {0};
        struct sim_sink sink = {.ctx = &a, .request = acc_request};
        struct sim_world *w;
        struct llmsim_error err;
        ck_assert_int_eq(sim_world_alloc(&w, sc, (uint32_t)r, &sink, &err), 0);
        ck_assert_int_eq(sim_run(w), 0);
        struct sim_world_stats st;
        sim_world_stats(w, &st);

        /* Conservation. */
        ck_assert_uint_eq(st.arrivals, sc->max_requests);
        ck_assert_uint_eq(st.completed, st.arrivals);
        ck_assert_uint_eq(st.in_flight, 0);
        ck_assert_uint_eq(st.deployments[0].completed, st.completed);
        /* Little's law, sample path: the run drained, so the integral of the
         * number in system is the sum of the sojourn times. */
        ck_assert_double_le(fabs(st.area_in_system - st.sum_sojourn_s), 1e-9 * st.sum_sojourn_s);
        ck_assert_double_eq(st.makespan_s, st.now_s);

        ck_assert_uint_gt(a.n, sc->max_requests / 2);
        wq[r] = a.sum_queue_s / (double)a.n;
        L[r] = st.area_in_system / st.makespan_s;
        lw[r] = lambda * st.sum_sojourn_s / (double)st.completed;
        sim_world_free(w);
    }
    struct case_result res;
    mean_ci(wq, R, &res.wq_mean, &res.wq_hw);

    /* Little's law with the true arrival rate: L = lambda W within the CI of
     * the time-average number in system. */
    double l_mean, l_hw, lw_mean, lw_hw;
    mean_ci(L, R, &l_mean, &l_hw);
    mean_ci(lw, R, &lw_mean, &lw_hw);
    fprintf(stderr,
            "%-22s Wq expected %.4f simulated %.4f +- %.4f (%.2f%% hw, %.2f hw off); "
            "L %.4f +- %.4f, lambda W %.4f\n",
            label, wq_expected, res.wq_mean, res.wq_hw, 100.0 * res.wq_hw / wq_expected,
            fabs(res.wq_mean - wq_expected) / res.wq_hw, l_mean, l_hw, lw_mean);
    ck_assert_double_le(fabs(l_mean - lw_mean), 3.0 * l_hw);

    free(wq);
    free(L);
    free(lw);
    return res;
}

static void check_closed_form(const struct case_result *res, double expected)
{
    ck_assert_double_lt(res->wq_hw, 0.05 * expected);
    ck_assert_double_le(fabs(res->wq_mean - expected), 3.0 * res->wq_hw);
}

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

START_TEST(mm1_rho_050)
{
    double lambda = 0.5, rho = lambda / MU;
    struct sim_scenario sc;
    build(&sc, 20240611, lambda, MDL_DIST_EXPONENTIAL, 1, 0, SIM_RR_ROUND_ROBIN, 100000, 500.0);
    double expected = rho / (MU - lambda);
    struct case_result res = run_case("M/M/1 rho=0.50", &sc, lambda, 20, expected);
    check_closed_form(&res, expected);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(mm1_rho_085)
{
    double lambda = 0.85, rho = lambda / MU;
    struct sim_scenario sc;
    build(&sc, 7391, lambda, MDL_DIST_EXPONENTIAL, 1, 0, SIM_RR_ROUND_ROBIN, 400000, 3000.0);
    double expected = rho / (MU - lambda);
    struct case_result res = run_case("M/M/1 rho=0.85", &sc, lambda, 24, expected);
    check_closed_form(&res, expected);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(md1_rho_080)
{
    double lambda = 0.8, rho = lambda / MU;
    struct sim_scenario sc;
    build(&sc, 99173, lambda, MDL_DIST_CONSTANT, 1, 0, SIM_RR_ROUND_ROBIN, 150000, 1000.0);
    double expected = rho / (2.0 * MU * (1.0 - rho));
    struct case_result res = run_case("M/D/1 rho=0.80", &sc, lambda, 20, expected);
    check_closed_form(&res, expected);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(mmc_4_rho_080_shared)
{
    int c = 4;
    double lambda = 0.8 * c * MU, a = lambda / MU;
    struct sim_scenario sc;
    build(&sc, 31337, lambda, MDL_DIST_EXPONENTIAL, c, 1, SIM_RR_ROUND_ROBIN, 300000, 1000.0);
    double expected = erlang_c(c, a) / (c * MU - lambda);
    struct case_result res = run_case("M/M/4 shared rho=0.80", &sc, lambda, 20, expected);
    check_closed_form(&res, expected);
    sim_scenario_free(&sc);
}
END_TEST

/* Erlang C against a value computed by hand: c = 2, a = 1 gives
 * C = (1/2 * 2) / (1 + 1 + 1) = 1/3. */
START_TEST(erlang_c_hand_value)
{
    ck_assert_double_eq_tol(erlang_c(2, 1.0), 1.0 / 3.0, 1e-15);
    ck_assert_double_eq_tol(erlang_c(1, 0.85), 0.85, 1e-15); /* M/M/1: P(wait) = rho */
}
END_TEST

/* Conservation while the run is under way: stopped at checkpoints, every
 * arrival is finished or in flight, and the clock is where it was sent. */
START_TEST(conservation_mid_run)
{
    double lambda = 0.9;
    struct sim_scenario sc;
    build(&sc, 4242, lambda, MDL_DIST_EXPONENTIAL, 1, 0, SIM_RR_ROUND_ROBIN, 20000, 0.0);
    struct sim_world *w;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, NULL, NULL), 0);
    struct sim_world_stats st;
    int busy_checkpoints = 0;
    uint64_t prev_arrivals = 0;
    for (int k = 1; k <= 20; k++) {
        double t = 1000.0 * k; /* the run lasts about 20000 / 0.9 = 22222 s */
        ck_assert_int_eq(sim_run_until(w, t), 1);
        ck_assert_double_eq(sim_world_now(w), t);
        sim_world_stats(w, &st);
        ck_assert_double_eq(st.now_s, t);
        ck_assert_uint_eq(st.arrivals, st.completed + st.in_flight);
        ck_assert_uint_gt(st.arrivals, prev_arrivals);
        prev_arrivals = st.arrivals;
        busy_checkpoints += st.in_flight > 0;
        /* The integral runs to the clock, so it covers at least the sojourns
         * of the finished requests (up to rounding). */
        ck_assert_double_ge(st.area_in_system, st.sum_sojourn_s * (1.0 - 1e-12));
    }
    /* At rho = 0.9 the server is busy at most checkpoints. */
    ck_assert_int_ge(busy_checkpoints, 10);
    ck_assert_int_eq(sim_run(w), 0);
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.arrivals, 20000);
    ck_assert_uint_eq(st.completed, 20000);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_double_le(fabs(st.area_in_system - st.sum_sojourn_s), 1e-9 * st.sum_sojourn_s);
    /* One server: its busy time is the sum of the service times, and the
     * utilisation is close to rho. */
    ck_assert_double_le(st.deployments[0].busy_s, st.makespan_s);
    ck_assert_double_eq_tol(st.deployments[0].busy_s / st.makespan_s, lambda / MU, 0.03);
    sim_world_free(w);
    sim_scenario_free(&sc);
}
END_TEST

static Suite *queueing_suite(void)
{
    Suite *s = suite_create("queueing");
    TCase *tc = tcase_create("closed_forms");
    tcase_add_test(tc, erlang_c_hand_value);
    tcase_add_test(tc, mm1_rho_050);
    tcase_add_test(tc, mm1_rho_085);
    tcase_add_test(tc, md1_rho_080);
    tcase_add_test(tc, mmc_4_rho_080_shared);
    tcase_add_test(tc, conservation_mid_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(queueing_suite());
}
