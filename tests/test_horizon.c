/* The horizon: what stops arrivals (docs/scenario-reference.md, horizon).
 *
 * A trace workload may leave the horizon out and is then replayed whole;
 * drawn arrivals need a duration or a request count, and the loader says
 * which is missing and where.  A --set of one bound on a file that sets the
 * other keeps both, and arrivals stop at whichever comes first; a --set of
 * the whole horizon mapping replaces it.  Each rule is checked on the
 * scenario as loaded and on the requests a run lets in. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* 300 ShareGPT requests over 29.1 s (scenarios/traces/sharegpt-300). */
#define TRACE_FILE "data/trace_whole.yaml"
#define TRACE_ROWS 300
#define TRACE_LAST_S 29.100521

/* Drawn arrivals at 7.25 requests/s on an api deployment; %s is the
 * test's horizon line. */
static const char *const drawn = "name: h\nseed: 13\n%s"
                                 "workload:\n"
                                 "  arrivals: {process: poisson, rate_per_s: 7.25}\n"
                                 "  classes:\n"
                                 "    - name: chat\n"
                                 "      prompt: [{segment: p, tokens: 300}]\n"
                                 "      output_tokens: 40\n"
                                 "deployments:\n"
                                 "  - {name: haiku, kind: api, model: claude-haiku-4-5}\n";

/* Counts the requests a run lets in and their latest arrival. */
struct tally {
    uint64_t n;
    double last_arrival_s;
};

static int tally_request(void *ctx, const struct sim_request_record *r)
{
    struct tally *t = ctx;
    t->n++;
    if (r->arrival_s > t->last_arrival_s)
        t->last_arrival_s = r->arrival_s;
    return 0;
}

static struct tally run(const struct sim_scenario *sc)
{
    struct tally t = {0, -1};
    struct sim_sink sink = {&t, tally_request, NULL, NULL, NULL};
    struct sim_world_stats ws;
    tu_run_world(sc, &sink, &ws, NULL);
    ck_assert_uint_eq(ws.arrivals, t.n);
    return t;
}

static void load_file(struct sim_scenario *sc, const char *path, const struct scn_override *o,
                      size_t n)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_file(sc, path, o, n, &err);
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s", msg);
}

static void load_drawn(struct sim_scenario *sc, const char *horizon, const struct scn_override *o,
                       size_t n)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, drawn, horizon);
    tu_load_yaml(sc, yaml, o, n);
}

/* The formatted error of loading text (which must fail as a scenario error). */
static void load_error(const char *text, const struct scn_override *o, size_t n, char *msg,
                       size_t len)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_load_string(&sc, text, strlen(text), "test.yaml", o, n, &err),
                     LLMSIM_ESCENARIO);
    llmsim_error_format(&err, msg, len);
}

START_TEST(test_trace_without_horizon_replays_it_whole)
{
    struct sim_scenario sc;
    load_file(&sc, TRACE_FILE, NULL, 0);
    ck_assert(sc.duration_s == 0);
    ck_assert_uint_eq(sc.max_requests, 0);
    ck_assert_uint_eq(sc.workload.trace.n, TRACE_ROWS);
    struct tally t = run(&sc);
    ck_assert_uint_eq(t.n, TRACE_ROWS);
    ck_assert_double_eq_tol(t.last_arrival_s, TRACE_LAST_S, 1e-6);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_trace_bounds_still_apply)
{
    /* A request count or a duration given on the command line cuts the
     * replay short, a warm-up before the last arrival is accepted. */
    struct scn_override req[] = {{"horizon.requests", "117"}};
    struct sim_scenario sc;
    load_file(&sc, TRACE_FILE, req, 1);
    ck_assert_uint_eq(run(&sc).n, 117);
    sim_scenario_free(&sc);

    struct scn_override dur[] = {{"horizon.duration_s", "12.5"}, {"horizon.warmup_s", "2.5"}};
    load_file(&sc, TRACE_FILE, dur, 2);
    struct tally t = run(&sc);
    ck_assert_uint_gt(t.n, 0);
    ck_assert_uint_lt(t.n, TRACE_ROWS);
    ck_assert(t.last_arrival_s <= 12.5);
    sim_scenario_free(&sc);

    struct scn_override warm[] = {{"horizon.warmup_s", "29"}};
    load_file(&sc, TRACE_FILE, warm, 1);
    ck_assert_uint_eq(run(&sc).n, TRACE_ROWS);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_trace_warmup_must_end_before_the_last_arrival)
{
    char msg[1024];
    struct scn_override o[] = {{"horizon.warmup_s", "29.2"}};
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_load_file(&sc, TRACE_FILE, o, 1, &err), LLMSIM_ESCENARIO);
    llmsim_error_format(&err, msg, sizeof msg);
    ck_assert_str_eq(
        msg,
        "--set horizon.warmup_s:1:1: horizon.warmup_s: warmup_s (29.2) must end before the last "
        "arrival replayed (29.1005 s into the trace)");
    /* With a request count the last arrival replayed is that row's. */
    struct scn_override o2[] = {{"horizon.requests", "10"}, {"horizon.warmup_s", "5"}};
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_load_file(&sc, TRACE_FILE, o2, 2, &err), LLMSIM_ESCENARIO);
    ck_assert_ptr_nonnull(
        strstr(err.msg, "warmup_s (5) must end before the last arrival replayed"));
}
END_TEST

START_TEST(test_drawn_arrivals_need_a_bound)
{
    char text[2048], msg[1024];
    snprintf(text, sizeof text, drawn, "");
    load_error(text, NULL, 0, msg, sizeof msg);
    ck_assert_str_eq(msg, "test.yaml:1:1: missing required key 'horizon'");
    snprintf(text, sizeof text, drawn, "horizon: {warmup_s: 5}\n");
    load_error(text, NULL, 0, msg, sizeof msg);
    ck_assert_str_eq(
        msg, "test.yaml:3:10: horizon: give 'duration_s' or 'requests' (or both); only a trace "
             "workload may leave both out, to be replayed whole");
    /* Replacing the whole horizon with an override is checked the same way. */
    snprintf(text, sizeof text, drawn, "horizon: {duration_s: 60}\n");
    struct scn_override o[] = {{"horizon", "{warmup_s: 1}"}};
    load_error(text, o, 1, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "horizon: give 'duration_s' or 'requests' (or both)"));
}
END_TEST

START_TEST(test_set_one_bound_keeps_the_other)
{
    /* duration_s 600 at 7.25/s lets in about 4350 requests. */
    struct sim_scenario sc;
    struct scn_override small[] = {{"horizon.requests", "1000"}};
    load_drawn(&sc, "horizon: {duration_s: 600, warmup_s: 30}\n", small, 1);
    ck_assert_double_eq(sc.duration_s, 600);
    ck_assert_uint_eq(sc.max_requests, 1000);
    ck_assert_double_eq(sc.warmup_s, 30);
    struct tally t = run(&sc);
    ck_assert_uint_eq(t.n, 1000); /* the count came first */
    ck_assert(t.last_arrival_s < 600);
    sim_scenario_free(&sc);

    struct scn_override large[] = {{"horizon.requests", "100000"}};
    load_drawn(&sc, "horizon: {duration_s: 600, warmup_s: 30}\n", large, 1);
    t = run(&sc);
    ck_assert_uint_lt(t.n, 100000); /* the file's duration came first */
    ck_assert(t.last_arrival_s <= 600);
    ck_assert_uint_gt(t.n, 7.25 * 600 - 4 * sqrt(7.25 * 600));
    sim_scenario_free(&sc);

    /* The other way round. */
    struct scn_override dur[] = {{"horizon.duration_s", "60"}};
    load_drawn(&sc, "horizon: {requests: 2000}\n", dur, 1);
    ck_assert_double_eq(sc.duration_s, 60);
    ck_assert_uint_eq(sc.max_requests, 2000);
    t = run(&sc);
    ck_assert_uint_lt(t.n, 2000);
    ck_assert(t.last_arrival_s <= 60);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_set_whole_horizon_replaces_it)
{
    struct sim_scenario sc;
    struct scn_override o[] = {{"horizon", "{requests: 5000}"}};
    load_drawn(&sc, "horizon: {duration_s: 600, warmup_s: 30}\n", o, 1);
    ck_assert(sc.duration_s == 0);
    ck_assert(sc.warmup_s == 0);
    ck_assert_uint_eq(sc.max_requests, 5000);
    ck_assert_uint_eq(run(&sc).n, 5000);
    sim_scenario_free(&sc);

    /* An empty horizon on a trace: the whole trace, whatever the file said. */
    struct scn_override none[] = {{"horizon", "{}"}, {"horizon.requests", "50"}};
    load_file(&sc, TRACE_FILE, none, 1);
    ck_assert_uint_eq(run(&sc).n, TRACE_ROWS);
    sim_scenario_free(&sc);
    load_file(&sc, TRACE_FILE, none, 2);
    ck_assert_uint_eq(run(&sc).n, 50);
    sim_scenario_free(&sc);
}
END_TEST

static Suite *horizon_suite(void)
{
    Suite *s = suite_create("horizon");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_trace_without_horizon_replays_it_whole);
    tcase_add_test(tc, test_trace_bounds_still_apply);
    tcase_add_test(tc, test_trace_warmup_must_end_before_the_last_arrival);
    tcase_add_test(tc, test_drawn_arrivals_need_a_bound);
    tcase_add_test(tc, test_set_one_bound_keeps_the_other);
    tcase_add_test(tc, test_set_whole_horizon_replaces_it);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(horizon_suite());
}
