/* Output control, streaming and SLOs: truncation by max_tokens, the
 * verbosity factor, perceived latency (TTFT when streaming, E2E otherwise)
 * and goodput against hand-computed values. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

struct acc {
    size_t n, truncated, fast;
    double out, e2e, ttft;
};

static int collect(void *ctx, const struct sim_request_record *r)
{
    struct acc *a = ctx;
    a->n++;
    a->truncated += (r->flags & SIM_RF_TRUNCATED) != 0;
    a->out += r->output_tokens;
    a->e2e += r->e2e_s;
    a->ttft += r->ttft_s;
    a->fast += r->ttft_s <= 1.0;
    return 0;
}

/* Runs the scenario through both a collecting sink and the statistics. */
static void run(const char *yaml, struct acc *a, struct ana_summary_row **rows, size_t *n)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    memset(a, 0, sizeof *a);
    struct sim_sink sink = {a, collect, NULL, NULL, NULL};
    tu_summarize(&sc, &sink, rows, n);
    sim_scenario_free(&sc);
}

static const char *yaml(const char *classes, const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "name: l\nseed: 4\nhorizon: {requests: 2000}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: 5}\n  classes: %s\n"
             "deployments:\n  - name: api\n    kind: api\n    model: claude-haiku-4-5\n"
             "    latency: {model: api, itl_ms: 20}\n%s",
             classes, extra);
    return buf;
}

START_TEST(max_tokens_truncates_and_flags)
{
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    run(yaml("[{name: c, prompt: [{segment: p, tokens: 500}], output_tokens: {dist: uniform, min: 100, max: 900}}]",
             "output_control: {max_tokens: 400}\n"),
        &a, &rows, &n);
    const struct ana_summary_row *out = ana_summary_find(rows, n, "all", "output_tokens");
    ck_assert_double_le(out->p99, 400);
    /* Uniform on [100, 900]: 5/8 of the draws exceed 400 (4 standard errors of 2,000 draws: 0.043). */
    ck_assert_double_eq_tol((double)a.truncated / a.n, 5.0 / 8.0, 0.043);
    free(rows);
}
END_TEST

START_TEST(verbosity_scales_output)
{
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    run(yaml("[{name: c, prompt: [{segment: p, tokens: 500}], output_tokens: 400}]",
             "output_control: {verbosity: 0.55}\n"),
        &a, &rows, &n);
    ck_assert_double_eq(a.out, 2000 * 220.0);
    ck_assert_uint_eq(a.truncated, 0);
    /* Output cost: 220 tokens x $5 / MTok per request. */
    const struct ana_summary_row *c = ana_summary_find(rows, n, "all", "cost_output_per_1k_usd");
    ck_assert_double_eq_tol(c->mean, 1000 * 220 * 5e-6, 1e-9);
    free(rows);
}
END_TEST

/* A streaming class waits for its first token, a non-streaming one for the
 * whole answer. */
START_TEST(perceived_latency)
{
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    run(yaml("[{name: s, share: 0.5, streaming: true, prompt: [{segment: p, tokens: 500}], output_tokens: 300}, "
             "{name: b, share: 0.5, streaming: false, prompt: [{segment: p, tokens: 500}], output_tokens: 300}]",
             ""),
        &a, &rows, &n);
    const struct ana_summary_row *ps = ana_summary_find(rows, n, "class:s", "perceived_s");
    const struct ana_summary_row *ts = ana_summary_find(rows, n, "class:s", "ttft_s");
    const struct ana_summary_row *pb = ana_summary_find(rows, n, "class:b", "perceived_s");
    const struct ana_summary_row *eb = ana_summary_find(rows, n, "class:b", "e2e_s");
    ck_assert_double_eq(ps->mean, ts->mean);
    ck_assert_double_eq(pb->mean, eb->mean);
    /* TTFT = (50 + 410) ms + 500 / 10,000 s; E2E adds 299 x 20 ms. */
    ck_assert_double_eq_tol(ps->mean, 0.51, 1e-12);
    ck_assert_double_eq_tol(pb->mean, 0.51 + 299 * 0.02, 1e-9);
    free(rows);
}
END_TEST

/* Goodput: with a 1 s TTFT target, short prompts (TTFT 0.56 s) meet it and
 * long ones (1.36 s) do not: goodput is exactly the short share realised. */
START_TEST(goodput)
{
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    run(yaml("[{name: short, share: 0.7, prompt: [{segment: p, tokens: 1000}], output_tokens: 50}, "
             "{name: long, share: 0.3, prompt: [{segment: p, tokens: 9000}], output_tokens: 50}]",
             "slo: {ttft_ms: 1000, percentile: 95}\n"),
        &a, &rows, &n);
    const struct ana_summary_row *g = ana_summary_find(rows, n, "all", "slo_met");
    ck_assert_uint_eq(g->count, 2000);
    ck_assert_double_eq_tol(g->mean, (double)a.fast / a.n, 1e-12);
    ck_assert_double_eq_tol(g->mean, 0.7, 0.041); /* 4 standard errors of a 0.7 share in 2,000 */
    ck_assert_double_eq(ana_summary_find(rows, n, "class:short", "slo_met")->mean, 1.0);
    ck_assert_double_eq(ana_summary_find(rows, n, "class:long", "slo_met")->mean, 0.0);
    free(rows);
}
END_TEST

/* RouteLLM's MMLU shares for GPT-4 (strong) and Mixtral (weak): both right
 * 62.80%, only strong 17.78%, only weak 5.28%, neither 14.14%.  A random
 * split sending a share s to the strong tier reaches (1 - s) 68.08% +
 * s 80.58%. */
START_TEST(random_split_quality)
{
    const char *y =
        "name: q\nseed: 12\nhorizon: {requests: 20000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: 300}], output_tokens: 100}]\n"
        "deployments:\n  - {name: strong, kind: api, model: claude-sonnet-4-6}\n"
        "  - {name: weak, kind: api, model: claude-haiku-4-5}\n"
        "routing: {policy: split, weights: {strong: 0.3, weak: 0.7}}\n"
        "quality:\n  joint: {strong: strong, weak: weak, both: 0.628, only_strong: 0.1778, only_weak: 0.0528, "
        "neither: 0.1414}\n";
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    run(y, &a, &rows, &n);
    /* 20,000 Bernoulli answers: standard error <= 0.0035, 4 of them 0.014. */
    double q = ana_summary_find(rows, n, "all", "success")->mean;
    ck_assert_double_eq_tol(q, 0.7 * 0.6808 + 0.3 * 0.8058, 0.014);
    const struct ana_summary_row *qs = ana_summary_find(rows, n, "deployment:strong", "success");
    const struct ana_summary_row *qw = ana_summary_find(rows, n, "deployment:weak", "success");
    ck_assert_double_eq_tol(qs->mean, 0.8058, 4 * sqrt(0.8058 * 0.1942 / qs->count));
    ck_assert_double_eq_tol(qw->mean, 0.6808, 4 * sqrt(0.6808 * 0.3192 / qw->count));
    free(rows);
}
END_TEST

/* The oracle router (a classifier of accuracy 1) sends exactly the questions
 * only the strong tier answers to it: quality 62.80 + 17.78 + 5.28 = 85.86%
 * with 17.78% strong calls; accuracy a gives 62.80 + a (17.78 + 5.28). */
START_TEST(classifier_and_oracle)
{
    double acc[2] = {1.0, 0.8};
    for (int k = 0; k < 2; k++) {
        char y[2048];
        snprintf(y, sizeof y,
                 "name: o\nseed: 21\nhorizon: {requests: 20000}\n"
                 "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n"
                 "  classes: [{name: c, prompt: [{segment: p, tokens: 300}], output_tokens: 100}]\n"
                 "deployments:\n  - {name: strong, kind: api, model: claude-sonnet-4-6}\n"
                 "  - {name: weak, kind: api, model: claude-haiku-4-5}\n"
                 "routing: {policy: classifier, strong: strong, weak: weak, accuracy: %g}\n"
                 "quality:\n  joint: {strong: strong, weak: weak, both: 0.628, only_strong: 0.1778, "
                 "only_weak: 0.0528, neither: 0.1414}\n",
                 acc[k]);
        struct acc a;
        struct ana_summary_row *rows;
        size_t n;
        run(y, &a, &rows, &n);
        double q = ana_summary_find(rows, n, "all", "success")->mean;
        double strong = (double)ana_summary_find(rows, n, "deployment:strong", "success")->count / a.n;
        /* 20,000 requests: 4 standard errors of a share near 0.86 are 0.0098. */
        ck_assert_double_eq_tol(q, 0.628 + acc[k] * (0.1778 + 0.0528), 0.0098);
        /* strong calls: the only-strong band when right, the other bands when wrong
         * (a share near 0.31 at most: 4 standard errors 0.013) */
        ck_assert_double_eq_tol(strong, acc[k] * 0.1778 + (1 - acc[k]) * (1 - 0.1778), 0.013);
        if (acc[k] == 1.0) {
            /* the oracle never sends a question the weak tier answers to the strong one, and
             * every strong call succeeds */
            ck_assert_double_eq(ana_summary_find(rows, n, "deployment:strong", "success")->mean, 1.0);
        }
        free(rows);
    }
}
END_TEST

struct routed {
    size_t n, bad;
};

static int check_rule(void *ctx, const struct sim_request_record *r)
{
    struct routed *t = ctx;
    /* deployments: 0 small, 1 large; classes: 0 lookup, 1 analysis */
    int want = (r->class_idx == 0 && r->input_tokens < 1500) ? 0 : 1;
    t->n++;
    t->bad += r->deployment != want;
    return 0;
}

/* Rules: the first matching rule decides, else the default. */
START_TEST(rules_router)
{
    const char *y =
        "name: r\nseed: 2\nhorizon: {requests: 3000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 10}\n"
        "  classes:\n    - {name: lookup, share: 0.6, prompt: [{segment: p, tokens: {dist: uniform, min: 500, max: 2500}}], output_tokens: 50}\n"
        "    - {name: analysis, share: 0.4, prompt: [{segment: p, tokens: 800}], output_tokens: 50}\n"
        "deployments:\n  - {name: small, kind: api, model: claude-haiku-4-5}\n  - {name: large, kind: api, model: claude-sonnet-4-6}\n"
        "routing:\n  policy: rules\n  rules: [{when: {class: lookup, prompt_tokens_lt: 1500}, to: small}]\n  default: large\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct routed t = {0, 0};
    struct sim_sink sink = {&t, check_rule, NULL, NULL, NULL};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_uint_eq(t.n, 3000);
    ck_assert_uint_eq(t.bad, 0);
}
END_TEST

/* Routing a share f = 0.7 to a tier 12x cheaper per token (same lengths)
 * costs (1 - f) + f / 12 = 0.358 of all-large. */
START_TEST(routing_cost_ratio)
{
    const char *base =
        "name: f\nseed: 6\nhorizon: {requests: 100000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 50}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: 1000}], output_tokens: 200}]\n"
        "deployments:\n  - {name: large, kind: api, model: x-large, price: {input_per_mtok: 12, output_per_mtok: 60}}\n"
        "  - {name: small, kind: api, model: x-small, price: {input_per_mtok: 1, output_per_mtok: 5}}\n"
        "routing: {policy: split, weights: {large: ";
    double cost[2];
    const char *w[2][2] = {{"1", "0"}, {"0.3", "0.7"}};
    for (int k = 0; k < 2; k++) {
        char y[2048];
        snprintf(y, sizeof y, "%s%s, small: %s}}\n", base, w[k][0], w[k][1]);
        struct acc a;
        struct ana_summary_row *rows;
        size_t n;
        run(y, &a, &rows, &n);
        cost[k] = ana_summary_find(rows, n, "all", "cost_per_1k_usd")->mean;
        free(rows);
    }
    /* The small share is binomial(100,000, 0.7): standard error 0.00145 of the
     * share, 0.00133 of the ratio (x 11/12); 4 of them: 0.0053. */
    ck_assert_double_eq_tol(cost[1] / cost[0], 0.3 + 0.7 / 12, 0.0053);
}
END_TEST

struct batch_acc {
    size_t n, batch;
    double billed, nocache, min_e2e, max_e2e;
};

static int collect_batch(void *ctx, const struct sim_request_record *r)
{
    struct batch_acc *b = ctx;
    b->n++;
    b->batch += (r->flags & SIM_RF_BATCH) != 0;
    b->billed += r->cost_input_usd + r->cost_output_usd + r->cost_cache_read_usd + r->cost_cache_write_usd;
    b->nocache += r->cost_nocache_usd;
    if (b->n == 1 || r->e2e_s < b->min_e2e)
        b->min_e2e = r->e2e_s;
    if (r->e2e_s > b->max_e2e)
        b->max_e2e = r->e2e_s;
    ck_assert_double_eq(r->first_token_s, r->done_s); /* no streaming */
    return 0;
}

/* The Batch API halves every line and delivers within its completion window. */
START_TEST(batch_api)
{
    const char *y =
        "name: b\nseed: 5\nhorizon: {requests: 500}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 1}\n"
        "  classes: [{name: offline, prompt: [{segment: p, tokens: 2000}], output_tokens: 500}]\n"
        "deployments:\n  - name: api\n    kind: api\n    model: claude-sonnet-4-6\n"
        "    batch: {completion_s: {dist: uniform, min: 600, max: 7200}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct batch_acc b;
    memset(&b, 0, sizeof b);
    struct sim_sink sink = {&b, collect_batch, NULL, NULL, NULL};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_uint_eq(b.batch, 500);
    /* $0.0135 per request at list price, half of it through the Batch API. */
    ck_assert_double_eq_tol(b.billed, 500 * 0.0135 / 2, 1e-9);
    ck_assert_double_eq_tol(b.nocache, 500 * 0.0135 / 2, 1e-9);
    ck_assert_double_ge(b.min_e2e, 600);
    ck_assert_double_le(b.max_e2e, 7200);
}
END_TEST

struct starts {
    size_t n, limited;
    double t[6000], in[6000], out[6000], extra_wait;
};

static int keep_start(void *ctx, const struct sim_request_record *r)
{
    struct starts *a = ctx;
    if (a->n < 6000) {
        a->t[a->n] = r->prefill_start_s;
        a->in[a->n] = r->input_tokens;
        a->out[a->n] = r->output_tokens;
        a->n++;
    }
    if (r->flags & SIM_RF_RATE_LIMITED) {
        a->limited++;
        a->extra_wait += r->queue_s;
    }
    return 0;
}

/* Rate limits: offered 3x what the limits allow, no one-minute window of
 * request starts ever holds more than the limits, and the excess waits. */
START_TEST(rate_limits_hold_in_every_minute)
{
    const char *y =
        "name: rl\nseed: 8\nhorizon: {requests: 5000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 15}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: {dist: uniform, min: 200, max: 1800}}], "
        "output_tokens: {dist: uniform, min: 50, max: 350}}]\n"
        "deployments:\n  - name: api\n    kind: api\n    model: claude-haiku-4-5\n"
        "    rate_limits: {requests_per_min: 400, input_tokens_per_min: 300000, output_tokens_per_min: 60000}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    static struct starts a;
    memset(&a, 0, sizeof a);
    struct sim_sink sink = {&a, keep_start, NULL, NULL, NULL};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_uint_eq(a.n, 5000);
    ck_assert_uint_gt(a.limited, 1000);
    /* Every window (t - 60, t] ending at a start: sums within the limits
     * (any one-minute window holds no more than the one ending at its last
     * start). */
    double *ts = malloc(a.n * sizeof *ts);
    for (size_t i = 0; i < a.n; i++)
        ts[i] = a.t[i];
    qsort(ts, a.n, sizeof *ts, tu_cmp_double);
    for (size_t i = 0; i < a.n; i++) {
        double req = 0, in = 0, out = 0;
        for (size_t j = 0; j < a.n; j++) {
            if (a.t[j] > ts[i] - 60.0 && a.t[j] <= ts[i]) {
                req += 1;
                in += a.in[j];
                out += a.out[j];
            }
        }
        ck_assert_double_le(req, 400);
        ck_assert_double_le(in, 300000);
        ck_assert_double_le(out, 60000);
    }
    free(ts);
}
END_TEST

/* Success by difficulty: 0.9 on simple and 0.5 on complex questions, half
 * of each, is 0.7 overall. */
START_TEST(success_by_difficulty)
{
    struct acc a;
    struct ana_summary_row *rows;
    size_t n;
    const char *y = yaml("[{name: c, difficulty: {simple: 0.5, complex: 0.5}, prompt: [{segment: p, tokens: 300}], "
                         "output_tokens: 100}]",
                         "quality: {api: {simple: 0.9, moderate: 0.7, complex: 0.5}}\n");
    run(y, &a, &rows, &n);
    /* 2,000 answers: standard error 0.0102, 4 of them 0.041 */
    ck_assert_double_eq_tol(ana_summary_find(rows, n, "all", "success")->mean, 0.7, 0.041);
    free(rows);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("levers");
    TCase *tc = tcase_create("levers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, max_tokens_truncates_and_flags);
    tcase_add_test(tc, verbosity_scales_output);
    tcase_add_test(tc, perceived_latency);
    tcase_add_test(tc, goodput);
    tcase_add_test(tc, random_split_quality);
    tcase_add_test(tc, success_by_difficulty);
    tcase_add_test(tc, classifier_and_oracle);
    tcase_add_test(tc, rules_router);
    tcase_add_test(tc, routing_cost_ratio);
    tcase_add_test(tc, batch_api);
    tcase_add_test(tc, rate_limits_hold_in_every_minute);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
