/* Cost projections and overload (/summary rows cost_per_hour_usd,
 * cost_per_month_usd, input_tokens_per_s, output_tokens_per_s, offered_rps,
 * achieved_rps, queue_growth and stable; analysis/src/stats.c).
 *
 * Closed forms:
 *   - a self-hosted fleet costs replicas x tp x gpu_hour_usd per hour,
 *     whatever the traffic; an api deployment whose every request costs c
 *     costs c x N / (last arrival) per second of arrivals; a month is 730 h;
 *   - tokens per second are the measured requests' tokens over the measured
 *     period (makespan - warmup_s), as throughput_rps counts requests;
 *   - a FIFO single server (M/M/1, service rate mu) offered lambda requests/s
 *     keeps up when lambda < mu: it serves what arrives; when lambda > mu it
 *     is never idle once its queue has built up, so it serves mu per second
 *     and its queue grows by lambda - mu per second;
 *   - an api deployment limited to R requests per minute serves R / 60 per
 *     second when more is offered (the client-side queue holds the rest);
 *   - a deterministic queue (arrivals every 0.1 s, 0.2 s of service each)
 *     serves exactly 5 of the 10 requests/s offered, and its queue at time t
 *     is 5 t, so the mean queue of the last quarter of [0, T] exceeds that of
 *     the first by 5 x 3T/4 = three quarters of the shortfall 5T.
 * Tolerances are three standard errors of a Poisson count where the
 * figure is random.  The Batch API's answers take half an hour, far longer
 * than a 600-s window: completions fall short of arrivals by much more than
 * sampling noise, yet nothing waits, and the deployment is stable. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* What a run's records add up to, for the closed forms. */
struct acc {
    double warmup_s;
    uint64_t n;           /* every record */
    uint64_t measured;    /* not warm-up */
    double input, output; /* measured requests' tokens */
    double billed_usd;    /* every request's billed lines */
    double last_arrival_s, makespan_s;
};

static int acc_request(void *ctx, const struct sim_request_record *r)
{
    struct acc *a = ctx;
    a->n++;
    if (!(r->flags & SIM_RF_WARMUP)) {
        a->measured++;
        a->input += r->input_tokens;
        a->output += r->output_tokens;
    }
    a->billed_usd +=
        r->cost_input_usd + r->cost_cache_write_usd + r->cost_cache_read_usd + r->cost_output_usd;
    if (r->arrival_s > a->last_arrival_s)
        a->last_arrival_s = r->arrival_s;
    if (r->done_s > a->makespan_s)
        a->makespan_s = r->done_s;
    return 0;
}

static const struct ana_summary_row *row(const struct ana_summary_row *rows, size_t n,
                                         const char *scope, const char *metric)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, scope, metric);
    ck_assert_msg(r != NULL, "no row %s / %s", scope, metric);
    return r;
}

/* One FIFO server with exponential service of mean 0.1 s (mu = 10/s) at
 * lambda requests/s, 5 replications of 2000 s after a 100-s warm-up. */
static void mm1(double lambda, struct ana_summary_row **rows, size_t *n)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: mm1\nseed: 71\nreplications: 5\nhorizon: {duration_s: 2100, warmup_s: 100}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: %.17g}\n"
             "  classes: [{name: job, prompt: [{segment: p, tokens: 100}], output_tokens: 10}]\n"
             "deployments:\n"
             "  - name: server\n    kind: self-hosted\n    replicas: 1\n    gpu_hour_usd: 2.385\n"
             "    scheduler: {policy: none}\n"
             "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.1}}\n"
             "output: {timeseries_interval_s: 0}\n",
             lambda);
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    tu_summarize(&sc, NULL, rows, n);
    sim_scenario_free(&sc);
}

START_TEST(test_mm1_keeps_up)
{
    struct ana_summary_row *rows;
    size_t n;
    const double lambda = 8.125, window = 5 * 2000.0; /* all replications */
    mm1(lambda, &rows, &n);
    const struct ana_summary_row *st = row(rows, n, "deployment:server", "stable");
    ck_assert_uint_eq(st->count, 5);
    ck_assert_double_eq(st->mean, 1);
    ck_assert_double_eq(row(rows, n, "all", "stable")->mean, 1);
    double offered = row(rows, n, "deployment:server", "offered_rps")->mean;
    double achieved = row(rows, n, "deployment:server", "achieved_rps")->mean;
    double se = sqrt(lambda / window); /* of the rate from a Poisson count */
    ck_assert_msg(fabs(offered - lambda) < 3 * se, "offered %g", offered);
    /* It serves what arrives, less the change in what it holds. */
    ck_assert_msg(fabs(achieved - offered) < 0.01 * offered, "achieved %g offered %g", achieved,
                  offered);
    ck_assert(fabs(row(rows, n, "deployment:server", "queue_growth")->mean) < 5);
    free(rows);
}
END_TEST

START_TEST(test_mm1_overloaded)
{
    struct ana_summary_row *rows;
    size_t n;
    const double lambda = 12.385, mu = 10, window = 5 * 2000.0;
    mm1(lambda, &rows, &n);
    const struct ana_summary_row *st = row(rows, n, "deployment:server", "stable");
    ck_assert_uint_eq(st->count, 5);
    ck_assert_double_eq(st->mean, 0); /* in every replication */
    ck_assert_double_eq(row(rows, n, "all", "stable")->mean, 0);
    double offered = row(rows, n, "deployment:server", "offered_rps")->mean;
    double achieved = row(rows, n, "deployment:server", "achieved_rps")->mean;
    ck_assert_msg(fabs(offered - lambda) < 3 * sqrt(lambda / window), "offered %g", offered);
    /* Never idle once the queue built up (within the first seconds). */
    ck_assert_msg(fabs(achieved - mu) < 3 * sqrt(mu / window) + 0.01 * mu, "achieved %g", achieved);
    /* The queue grows by lambda - mu per second: three quarters of the
     * window's shortfall between its first and last quarters. */
    double growth = row(rows, n, "deployment:server", "queue_growth")->mean;
    double want = 0.75 * (lambda - mu) * 2000;
    ck_assert_msg(fabs(growth - want) < 0.1 * want, "queue growth %g, want %g", growth, want);
    free(rows);
}
END_TEST

START_TEST(test_fleet_cost_per_hour)
{
    /* 3 replicas of tp 2 at $2.385 per GPU-hour: $14.31 per hour, however
     * busy; tokens per second over the measured period. */
    const char *yaml =
        "name: fleet\nseed: 5\nhorizon: {duration_s: 900, warmup_s: 60}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 1.7}\n"
        "  classes: [{name: chat, prompt: [{segment: p, tokens: {dist: lognormal, mean: 800, cv: "
        "0.6}}],"
        " output_tokens: {dist: lognormal, mean: 150, cv: 0.5}}]\n"
        "deployments:\n"
        "  - name: llama\n    kind: self-hosted\n    replicas: 3\n    tp: 2\n    gpu_hour_usd: "
        "2.385\n"
        "    scheduler: {policy: none}\n"
        "    latency:\n      model: linear\n      prefill_s: {a: 0.015, b: 6.0e-5, c: 0}\n"
        "      decode_step_s: {a: 0.0125, b_batch: 0.0003, c_context: 1.0e-7}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct acc a = {.warmup_s = 60, .last_arrival_s = -1};
    struct sim_sink sink = {&a, acc_request, NULL, NULL, NULL};
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, &sink, &rows, &n);
    const double hour = 3 * 2 * 2.385;
    const char *scopes[] = {"all", "class:chat", "deployment:llama"};
    for (int k = 0; k < 3; k++) {
        ck_assert_double_eq_tol(row(rows, n, scopes[k], "cost_per_hour_usd")->mean, hour,
                                1e-9 * hour);
        ck_assert_double_eq_tol(row(rows, n, scopes[k], "cost_per_month_usd")->mean, 730 * hour,
                                1e-9 * 730 * hour);
        double span = a.makespan_s - a.warmup_s;
        ck_assert_double_eq_tol(row(rows, n, scopes[k], "input_tokens_per_s")->mean, a.input / span,
                                1e-9 * a.input / span);
        ck_assert_double_eq_tol(row(rows, n, scopes[k], "output_tokens_per_s")->mean,
                                a.output / span, 1e-9 * a.output / span);
    }
    /* input_tokens_per_s is throughput_rps times the mean prompt. */
    double thr = row(rows, n, "all", "throughput_rps")->mean,
           in = row(rows, n, "all", "input_tokens")->mean;
    ck_assert_double_eq_tol(row(rows, n, "all", "input_tokens_per_s")->mean, thr * in,
                            1e-9 * thr * in);
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_api_cost_per_hour)
{
    /* Every request costs 2000 x $3/M + 500 x $15/M = $0.0135 on Sonnet
     * 4.6: the spend per hour of arrivals, not diluted by the drain. */
    const char *yaml =
        "name: api\nseed: 23\nhorizon: {requests: 6000, warmup_s: 20}\nreplications: 2\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 12.5}\n"
        "  classes: [{name: fixed, prompt: [{segment: p, tokens: 2000}], output_tokens: 500}]\n"
        "deployments:\n  - {name: sonnet, kind: api, model: claude-sonnet-4-6}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    /* Replication by replication, against that replication's records. */
    double want[2];
    struct ana_stats *st = NULL;
    ck_assert_int_eq(ana_stats_alloc(&st, &sc), 0);
    for (uint32_t rep = 0; rep < 2; rep++) {
        struct acc a = {.warmup_s = 20, .last_arrival_s = -1};
        struct sim_tee tee = {{&a, acc_request, NULL, NULL, NULL}, ana_stats_sink(st)};
        struct sim_sink sink = sim_tee_sink(&tee);
        struct sim_world *w = NULL;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        ck_assert_int_eq(sim_world_alloc(&w, &sc, rep, &sink, &err), 0);
        ck_assert_int_eq(sim_run(w), 0);
        struct sim_world_stats ws;
        sim_world_stats(w, &ws);
        ck_assert_int_eq(ana_stats_add_run(st, rep, &ws), 0);
        sim_world_free(w);
        ck_assert_uint_eq(a.n, 6000);
        ck_assert_double_eq_tol(a.billed_usd, 6000 * 0.0135, 1e-9);
        want[rep] = 3600 * 6000 * 0.0135 / a.last_arrival_s;
        ck_assert(a.makespan_s > a.last_arrival_s); /* a drain the figure leaves out */
    }
    struct ana_summary_row *rows;
    size_t n;
    ck_assert_int_eq(ana_stats_summary(st, &rows, &n), 0);
    const struct ana_summary_row *r = row(rows, n, "all", "cost_per_hour_usd");
    ck_assert_uint_eq(r->count, 2);
    double mean = (want[0] + want[1]) / 2;
    ck_assert_double_eq_tol(r->mean, mean, 1e-9 * mean);
    ck_assert(isfinite(r->ci95) && r->ci95 > 0);
    /* About 12.5 x 3600 x $0.0135 = $607.50 per hour. */
    ck_assert_double_eq_tol(r->mean, 607.5, 3 * 607.5 / sqrt(6000));
    ck_assert_double_eq_tol(row(rows, n, "deployment:sonnet", "cost_per_hour_usd")->mean, mean,
                            1e-9 * mean);
    ck_assert_double_eq_tol(row(rows, n, "all", "cost_per_month_usd")->mean, 730 * mean,
                            1e-9 * 730 * mean);
    free(rows);
    ana_stats_free(st);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_long_answers_are_not_overload)
{
    const char *yaml = "name: b\nseed: 29\nhorizon: {duration_s: 600}\n"
                       "workload:\n  arrivals: {process: poisson, rate_per_s: 5}\n"
                       "  classes: [{name: job, batch: true, prompt: [{segment: p, tokens: 900}], "
                       "output_tokens: 80}]\n"
                       "deployments:\n  - {name: sonnet, kind: api, model: claude-sonnet-4-6}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    double offered = row(rows, n, "deployment:sonnet", "offered_rps")->mean;
    double achieved = row(rows, n, "deployment:sonnet", "achieved_rps")->mean;
    double window = 600; /* within a bin of it */
    double shortfall = (offered - achieved) * window, arrived = offered * window;
    ck_assert_msg(shortfall > 3 * sqrt(arrived), "shortfall %g of %g", shortfall, arrived);
    ck_assert_double_eq(row(rows, n, "deployment:sonnet", "queue_growth")->mean, 0);
    ck_assert_double_eq(row(rows, n, "deployment:sonnet", "stable")->mean, 1);
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_rate_limit_caps_an_api)
{
    /* 200 requests per minute let 3.333 requests/s through: at 4.125
     * offered the client-side queue grows; at 240 per minute it keeps up. */
    const char *base =
        "name: rl\nseed: 37\nhorizon: {duration_s: 900, warmup_s: 60}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 4.125}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: 400}], output_tokens: 60}]\n"
        "deployments:\n  - {name: sonnet, kind: api, model: claude-sonnet-4-6}\n";
    const char *limits[] = {"{requests_per_min: 200, on_limit: queue}",
                            "{requests_per_min: 300, on_limit: queue}"};
    for (int k = 0; k < 2; k++) {
        struct scn_override o[] = {{"deployments.sonnet.rate_limits", limits[k]}};
        struct sim_scenario sc;
        tu_load_yaml(&sc, base, o, 1);
        struct ana_summary_row *rows;
        size_t n;
        tu_summarize(&sc, NULL, &rows, &n);
        double offered = row(rows, n, "deployment:sonnet", "offered_rps")->mean;
        double achieved = row(rows, n, "deployment:sonnet", "achieved_rps")->mean;
        double stable = row(rows, n, "deployment:sonnet", "stable")->mean;
        ck_assert_msg(fabs(offered - 4.125) < 3 * sqrt(4.125 / 840), "offered %g", offered);
        if (k == 0) {
            ck_assert_msg(fabs(achieved - 200 / 60.0) < 0.01 * 200 / 60.0, "achieved %g", achieved);
            ck_assert_double_eq(stable, 0);
        } else {
            ck_assert_msg(fabs(achieved - offered) < 0.01 * offered, "achieved %g", achieved);
            ck_assert_double_eq(stable, 1);
        }
        free(rows);
        sim_scenario_free(&sc);
    }
}
END_TEST

/* A scenario for feeding records by hand: one class, one deployment. */
static struct ana_stats *hand_stats(struct sim_scenario *sc, double warmup_s)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "name: hand\nhorizon: {requests: 10, warmup_s: %g}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: 1}\n"
             "  classes: [{name: c, prompt: [{segment: p, tokens: 10}], output_tokens: 2}]\n"
             "deployments:\n  - {name: d, kind: api, model: claude-haiku-4-5}\n",
             warmup_s);
    tu_load_yaml(sc, yaml, NULL, 0);
    struct ana_stats *s = NULL;
    ck_assert_int_eq(ana_stats_alloc(&s, sc), 0);
    return s;
}

/* A deterministic FIFO server: arrivals every 0.1 s up to 400 s, `service_s`
 * each; returns the makespan. */
static double feed_fifo(struct ana_stats *s, double service_s)
{
    double free_at = 0;
    for (int i = 1; i <= 4000; i++) {
        struct sim_request_record r;
        memset(&r, 0, sizeof r);
        r.id = (uint64_t)i;
        r.session = -1;
        r.arrival_s = 0.1 * i;
        r.prefill_start_s = r.arrival_s > free_at ? r.arrival_s : free_at;
        r.first_token_s = r.done_s = free_at = r.prefill_start_s + service_s;
        r.ttft_s = r.e2e_s = r.done_s - r.arrival_s;
        r.queue_s = r.prefill_start_s - r.arrival_s;
        r.input_tokens = 10;
        r.output_tokens = 1;
        ck_assert_int_eq(ana_stats_add(s, &r), 0);
    }
    return free_at;
}

static void hand_run(struct ana_stats *s, double makespan_s)
{
    struct sim_deployment_stats ds;
    memset(&ds, 0, sizeof ds);
    struct sim_world_stats ws;
    memset(&ws, 0, sizeof ws);
    ws.makespan_s = makespan_s;
    ws.n_deployments = 1;
    ws.deployments = &ds;
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
}

START_TEST(test_deterministic_queue)
{
    struct sim_scenario sc;
    struct ana_stats *s = hand_stats(&sc, 0);
    /* 0.2 s of service: 5 of 10 requests/s served; times reach 800 s, so
     * the bins merge many times on the way. */
    hand_run(s, feed_fifo(s, 0.2));
    struct ana_summary_row *rows;
    size_t n;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    ck_assert_double_eq_tol(row(rows, n, "deployment:d", "offered_rps")->mean, 10, 0.02);
    ck_assert_double_eq_tol(row(rows, n, "deployment:d", "achieved_rps")->mean, 5, 0.02);
    /* Queue 5 t: the last quarter's mean exceeds the first's by 5 x 300. */
    ck_assert_double_eq_tol(row(rows, n, "deployment:d", "queue_growth")->mean, 1500, 15);
    ck_assert_double_eq(row(rows, n, "deployment:d", "stable")->mean, 0);
    free(rows);
    ana_stats_free(s);
    sim_scenario_free(&sc);

    /* 0.05 s of service keeps up: nothing waits. */
    s = hand_stats(&sc, 0);
    hand_run(s, feed_fifo(s, 0.05));
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    ck_assert_double_eq_tol(row(rows, n, "deployment:d", "offered_rps")->mean, 10, 0.02);
    ck_assert_double_eq_tol(row(rows, n, "deployment:d", "achieved_rps")->mean, 10, 0.02);
    ck_assert_double_eq(row(rows, n, "deployment:d", "queue_growth")->mean, 0);
    ck_assert_double_eq(row(rows, n, "deployment:d", "stable")->mean, 1);
    free(rows);
    ana_stats_free(s);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_bad_times_refused)
{
    /* A warm-up past the last arrival leaves no window (the records here
     * are not flagged as warm-up: the window goes by warmup_s alone). */
    struct sim_scenario sc;
    struct ana_stats *s = hand_stats(&sc, 1.75);
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    r.session = -1;
    r.arrival_s = 1.5;
    r.prefill_start_s = 1.75;
    r.first_token_s = r.done_s = 2.25;
    r.ttft_s = r.e2e_s = 0.75;
    r.output_tokens = 1;
    struct sim_request_record bad = r;
    bad.done_s = NAN;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    bad = r;
    bad.arrival_s = -1;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    bad = r;
    bad.prefill_start_s = INFINITY;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    /* Nothing was added: the one good request is alone. */
    ck_assert_int_eq(ana_stats_add(s, &r), 0);
    /* A rejected request's times are not looked at. */
    bad.flags = SIM_RF_REJECTED;
    ck_assert_int_eq(ana_stats_add(s, &bad), 0);
    hand_run(s, 2.25);
    struct ana_summary_row *rows;
    size_t n;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    ck_assert_uint_eq(row(rows, n, "all", "e2e_s")->count, 1);
    ck_assert_uint_eq(row(rows, n, "all", "rejected")->count, 1);
    /* No window, no verdict. */
    ck_assert_uint_eq(row(rows, n, "deployment:d", "stable")->count, 0);
    ck_assert(isnan(row(rows, n, "deployment:d", "offered_rps")->mean));
    free(rows);
    ana_stats_free(s);
    sim_scenario_free(&sc);
}
END_TEST

static Suite *overload_suite(void)
{
    Suite *s = suite_create("overload");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_mm1_keeps_up);
    tcase_add_test(tc, test_mm1_overloaded);
    tcase_add_test(tc, test_fleet_cost_per_hour);
    tcase_add_test(tc, test_api_cost_per_hour);
    tcase_add_test(tc, test_long_answers_are_not_overload);
    tcase_add_test(tc, test_rate_limit_caps_an_api);
    tcase_add_test(tc, test_deterministic_queue);
    tcase_add_test(tc, test_bad_times_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(overload_suite());
}
