/* The resource budget (docs/scenario-reference.md, "Resource budget"):
 * the estimate's arithmetic (span, time-series rows, /requests rows,
 * bytes), refusals located at the key to change, --force (scn_set_force)
 * letting the budget pass but not absurd time distributions, and the
 * world's own cap on time-series rows. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmsim/record.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* An M/M/1-like scenario; the %s are the horizon, the rate, the service
 * time, and the output mapping. */
static const char *const fmt = "name: b\nseed: 1\nhorizon: %s\nreplications: 3\n"
                               "workload:\n"
                               "  arrivals: {process: poisson, rate_per_s: %s}\n"
                               "  classes:\n"
                               "    - name: job\n"
                               "      prompt: [{segment: p, tokens: 100}]\n"
                               "      output_tokens: 10\n"
                               "deployments:\n"
                               "  - name: server\n"
                               "    kind: self-hosted\n"
                               "    replicas: 4\n"
                               "    gpu_hour_usd: 2.0\n"
                               "    scheduler: {policy: none}\n"
                               "    latency: {model: service_time, service_time_s: %s}\n"
                               "  - {name: api, kind: api, model: claude-haiku-4-5}\n"
                               "routing: {policy: split, weights: {server: 0.5, api: 0.5}}\n"
                               "output: %s\n";

static int load(struct sim_scenario *sc, struct llmsim_error *err, const char *horizon, const char *rate,
                const char *service, const char *output)
{
    char text[4096];
    snprintf(text, sizeof text, fmt, horizon, rate, service, output);
    return scn_load_string(sc, text, strlen(text), "b.yaml", NULL, 0, err);
}

START_TEST(test_estimate_arithmetic)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    int rc = load(&sc, &err, "{requests: 1000}", "10", "{dist: constant, mean: 2}",
                  "{timeseries_interval_s: 5}");
    ck_assert_msg(rc == 0, "%s", err.msg);
    struct scn_budget b;
    scn_budget_estimate(&sc, &b);
    ck_assert_int_eq(b.span_from, SCN_SPAN_RATE);
    ck_assert_double_eq_tol(b.arrival_span_s, 100.0, 1e-9);     /* 1000 requests / 10 per s */
    ck_assert_double_eq_tol(b.span_s, 102.0, 1e-9);             /* + mean service time */
    ck_assert_double_eq(b.rows_per_sample, 1 + 4 + 1); /* deployment rows + replica rows */
    ck_assert_double_eq(b.ts_rows, floor(102.0 / 5) * 6 * 3);
    ck_assert_double_eq(b.request_rows, 3000);
    ck_assert_double_eq_tol(b.bytes, b.ts_rows * sizeof(struct sim_ts_record) +
                                         3000.0 * sizeof(struct sim_request_record), 1e-6);
    sim_scenario_free(&sc);

    /* A duration shorter than requests / rate bounds the span. */
    rc = load(&sc, &err, "{duration_s: 50, requests: 1000}", "10", "{dist: constant, mean: 2}",
              "{timeseries_interval_s: 0, requests: false}");
    ck_assert_msg(rc == 0, "%s", err.msg);
    scn_budget_estimate(&sc, &b);
    ck_assert_int_eq(b.span_from, SCN_SPAN_DURATION);
    ck_assert_double_eq(b.arrival_span_s, 50.0);
    ck_assert_double_eq(b.ts_rows, 0);
    ck_assert_double_eq(b.request_rows, 0);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_refusals_are_located)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    scn_set_force(0);
    int rc = load(&sc, &err, "{requests: 1000}", "10", "{dist: constant, mean: 2}",
                  "{timeseries_interval_s: 1e-300}");
    ck_assert_int_eq(rc, LLMSIM_ESCENARIO);
    ck_assert_int_eq(err.line, 20);
    ck_assert_msg(strstr(err.msg, "output.timeseries_interval_s: ") == err.msg, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "--force"));

    rc = load(&sc, &err, "{requests: 1000}", "1e-300", "{dist: constant, mean: 2}", "{timeseries_interval_s: 0}");
    ck_assert_int_eq(rc, LLMSIM_ESCENARIO);
    ck_assert_int_eq(err.line, 6);
    ck_assert_msg(strstr(err.msg, "workload.arrivals.rate_per_s: ") == err.msg, "%s", err.msg);

    rc = load(&sc, &err, "{requests: 1000}", "10", "{dist: uniform, min: -1e308, max: 1e308}",
              "{timeseries_interval_s: 0}");
    ck_assert_int_eq(rc, LLMSIM_ESCENARIO);
    ck_assert_int_eq(err.line, 17);
    ck_assert_msg(strstr(err.msg, "deployments.server.latency.service_time_s: a time cannot be negative") == err.msg,
                  "%s", err.msg);

    /* --force lets the budget pass, never absurd times. */
    scn_set_force(1);
    rc = load(&sc, &err, "{requests: 1000}", "1e-300", "{dist: constant, mean: 2}", "{timeseries_interval_s: 1}");
    ck_assert_msg(rc == 0, "%s", err.msg);
    sim_scenario_free(&sc);
    rc = load(&sc, &err, "{requests: 1000}", "10", "{dist: uniform, min: -1e308, max: 1e308}",
              "{timeseries_interval_s: 0}");
    ck_assert_int_eq(rc, LLMSIM_ESCENARIO);
    scn_set_force(0);
}
END_TEST

static int count_ts(void *ctx, const struct sim_ts_record *r)
{
    (void)r;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* The world stops sampling at SIM_MAX_TS_ROWS rows whatever the loader let in. */
START_TEST(test_world_caps_timeseries_rows)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    scn_set_force(1);
    /* 2 requests 10^9 s apart (the rate is a forced 2e-9), sampled every 1 s,
     * 6 rows per sample: 6e9 rows without the cap. */
    int rc = load(&sc, &err, "{requests: 2}", "2e-9", "{dist: constant, mean: 2}", "{timeseries_interval_s: 1}");
    scn_set_force(0);
    ck_assert_msg(rc == 0, "%s", err.msg);
    uint64_t rows = 0;
    struct sim_sink sink = {&rows, NULL, count_ts, NULL, NULL};
    struct sim_world *w;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &sink, &err), 0);
    int st;
    while ((st = sim_step(w)) == 1)
        ;
    ck_assert_int_eq(st, 0);
    struct sim_world_stats ws;
    sim_world_stats(w, &ws);
    ck_assert_int_eq(ws.ts_capped, 1);
    ck_assert_uint_eq(ws.ts_rows, rows);
    ck_assert_uint_le(rows, SIM_MAX_TS_ROWS);
    ck_assert_uint_ge(rows, SIM_MAX_TS_ROWS - 6);
    sim_world_free(w);
    sim_scenario_free(&sc);
}
END_TEST

static Suite *budget_suite(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_estimate_arithmetic);
    tcase_add_test(tc, test_refusals_are_located);
    tcase_add_test(tc, test_world_caps_timeseries_rows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(budget_suite());
}
