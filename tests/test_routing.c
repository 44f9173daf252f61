/* Routers across deployments and the levers around them, against closed
 * forms: cascade cost and quality from the RouteLLM joint shares, spillover
 * as the M/M/c/K loss system, the cost-aware router's choices, classifier
 * confusion matrices, rules on prompt text features, prefetch accounting,
 * the client-side rate-limit queue and the output-control quality
 * penalties.  Tolerances are 4 standard errors of the estimate (or the
 * replications' Student-t half-widths), so a correct model fails about once
 * in 15,000 runs and a wrong one by many times that. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

#define MAX_ROWS 200000

/* Every record of a run, kept for per-request checks. */
struct keep {
    size_t n;
    struct sim_request_record *r;
};

static int keep_rec(void *ctx, const struct sim_request_record *r)
{
    struct keep *k = ctx;
    ck_assert_uint_lt(k->n, MAX_ROWS);
    k->r[k->n++] = *r;
    return 0;
}

/* Loads yaml and runs it: records into *k (allocated), summary into rows. */
static void run(const char *yaml, struct keep *k, struct ana_summary_row **rows, size_t *n)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    k->n = 0;
    k->r = malloc(MAX_ROWS * sizeof *k->r);
    ck_assert_ptr_nonnull(k->r);
    struct sim_sink sink = {k, keep_rec, NULL, NULL, NULL};
    tu_summarize(&sc, &sink, rows, n);
    sim_scenario_free(&sc);
}

/* The billed API lines of a record (the GPU line apart). */
static double lines_usd(const struct sim_request_record *r)
{
    return r->cost_input_usd + r->cost_output_usd + r->cost_cache_read_usd + r->cost_cache_write_usd;
}

static double se4(double p, double n)
{
    return 4.0 * sqrt(p * (1.0 - p) / n);
}

/* Two priced tiers (12x apart per token) with MMLU's joint outcome shares. */
static const char *tiers_yaml(const char *routing, int requests)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "name: t\nseed: 3\nhorizon: {requests: %d}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n"
             "  classes: [{name: c, prompt: [{segment: p, tokens: 1000}], output_tokens: 200}]\n"
             "deployments:\n"
             "  - {name: strong, kind: api, model: x-large, price: {input_per_mtok: 12, output_per_mtok: 60}}\n"
             "  - {name: weak, kind: api, model: x-small, price: {input_per_mtok: 1, output_per_mtok: 5}}\n"
             "routing: %s\n"
             "quality:\n  joint: {strong: strong, weak: weak, both: 0.628, only_strong: 0.1778, only_weak: 0.0528, "
             "neither: 0.1414}\n",
             requests, routing);
    return buf;
}

/* Cascade weak -> strong: cost = cheap cost + escalation share x strong
 * cost, per request and in total; a failure caught with probability d
 * escalates, so the share is d x (only strong + neither) and quality is
 * both + only weak + d x only strong.  A false alarm f also escalates good
 * answers: share (only strong + neither) + f (both + only weak), quality
 * both + (1 - f) only weak + only strong (the strong tier fails the
 * only-weak questions it is handed). */
START_TEST(cascade_cost_and_quality)
{
    const double weak_usd = 1000 * 1e-6 + 200 * 5e-6, strong_usd = 1000 * 12e-6 + 200 * 60e-6;
    const struct {
        double detect, false_alarm, share, quality;
    } c[] = {{0.8, 0.0, 0.8 * (0.1778 + 0.1414), 0.628 + 0.0528 + 0.8 * 0.1778},
             {1.0, 0.1, 0.1778 + 0.1414 + 0.1 * (0.628 + 0.0528), 0.628 + 0.9 * 0.0528 + 0.1778}};
    for (int i = 0; i < 2; i++) {
        char routing[160];
        snprintf(routing, sizeof routing, "{policy: cascade, tiers: [weak, strong], detect: %g, false_alarm: %g}",
                 c[i].detect, c[i].false_alarm);
        struct keep k;
        struct ana_summary_row *rows;
        size_t n;
        run(tiers_yaml(routing, 40000), &k, &rows, &n);
        size_t esc = 0, ok = 0;
        for (size_t j = 0; j < k.n; j++) {
            const struct sim_request_record *r = &k.r[j];
            double total = lines_usd(r);
            if (r->flags & SIM_RF_ESCALATED) {
                esc++;
                ck_assert_int_eq(r->tiers, 2);
                ck_assert_int_eq(r->deployment, 0);
                ck_assert_double_eq_tol(r->cost_escalated_usd, weak_usd, 1e-12);
                ck_assert_double_eq_tol(total, weak_usd + strong_usd, 1e-12);
                /* both latencies: the strong answer starts after the weak one ended */
                ck_assert(r->first_token_s > r->prefill_start_s);
            } else {
                ck_assert_int_eq(r->tiers, 1);
                ck_assert_int_eq(r->deployment, 1);
                ck_assert_double_eq_tol(total, weak_usd, 1e-12);
            }
            ok += r->success;
        }
        double share = (double)esc / (double)k.n;
        ck_assert_double_eq_tol(share, c[i].share, se4(c[i].share, k.n));
        ck_assert_double_eq_tol(tu_metric(rows, n, "all", "escalated_share"), share, 1e-12);
        ck_assert_double_eq_tol(tu_metric(rows, n, "all", "cost_per_1k_usd"), 1000 * (weak_usd + share * strong_usd),
                                1e-9);
        ck_assert_double_eq_tol((double)ok / k.n, c[i].quality, se4(c[i].quality, k.n));
        ck_assert_double_eq(tu_metric(rows, n, "deployment:weak", "calls"), (double)k.n);
        ck_assert_double_eq(tu_metric(rows, n, "deployment:weak", "escalated_calls"), (double)esc);
        ck_assert_double_eq(tu_metric(rows, n, "deployment:strong", "calls"), (double)esc);
        free(rows);
        free(k.r);
    }
}
END_TEST

/* Binary classifier with a confusion matrix [[p(weak|weak suffices),
 * p(strong|weak suffices)], [p(weak|needs strong), p(strong|needs strong)]]:
 * quality = both + p(strong|needs) only_strong + p(weak|suffices) only_weak. */
START_TEST(classifier_confusion)
{
    struct keep k;
    struct ana_summary_row *rows;
    size_t n;
    run(tiers_yaml("{policy: classifier, strong: strong, weak: weak, confusion: [[0.7, 0.3], [0.1, 0.9]]}", 40000), &k,
        &rows, &n);
    double q = tu_metric(rows, n, "all", "success");
    double want = 0.628 + 0.9 * 0.1778 + 0.7 * 0.0528;
    ck_assert_double_eq_tol(q, want, se4(want, k.n));
    size_t strong = 0;
    for (size_t j = 0; j < k.n; j++)
        strong += k.r[j].deployment == 0;
    double ws = 0.1778 * 0.9 + (1 - 0.1778) * 0.3;
    ck_assert_double_eq_tol((double)strong / k.n, ws, se4(ws, k.n));
    free(rows);
    free(k.r);
}
END_TEST

/* By difficulty: with accuracy a, a request of true difficulty t goes to
 * its own tier with probability a and to each other with (1 - a) / 2. */
START_TEST(classifier_by_difficulty)
{
    const double acc[] = {1.0, 0.7};
    for (int i = 0; i < 2; i++) {
        char y[2048];
        snprintf(y, sizeof y,
                 "name: d\nseed: 5\nhorizon: {requests: 30000}\n"
                 "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n"
                 "  classes: [{name: c, difficulty: {simple: 0.5, moderate: 0.3, complex: 0.2}, "
                 "prompt: [{segment: p, tokens: 100}], output_tokens: 20}]\n"
                 "deployments:\n  - {name: small, kind: api, model: claude-haiku-4-5}\n"
                 "  - {name: mid, kind: api, model: claude-sonnet-4-6}\n  - {name: big, kind: api, model: claude-opus-4-6}\n"
                 "routing: {policy: classifier, by_difficulty: {simple: small, moderate: mid, complex: big}, "
                 "accuracy: %g}\n",
                 acc[i]);
        struct keep k;
        struct ana_summary_row *rows;
        size_t n;
        run(y, &k, &rows, &n);
        size_t cnt[3][3] = {{0}}, tot[3] = {0};
        for (size_t j = 0; j < k.n; j++) {
            cnt[k.r[j].difficulty][k.r[j].deployment]++;
            tot[k.r[j].difficulty]++;
        }
        for (int t = 0; t < 3; t++)
            for (int d = 0; d < 3; d++) {
                double p = t == d ? acc[i] : (1 - acc[i]) / 2;
                if (acc[i] == 1.0)
                    ck_assert_uint_eq(cnt[t][d], t == d ? tot[t] : 0);
                else
                    ck_assert_double_eq_tol((double)cnt[t][d] / tot[t], p, se4(p, tot[t]));
            }
        free(rows);
        free(k.r);
    }
}
END_TEST

/* Blocking probability of the M/M/c/(c + K) queue (birth-death chain): the
 * share of arrivals finding c in service and K waiting (PASTA). */
static double mmck_block(double lambda, double mu, int c, int K)
{
    double p = 1, sum = 1;
    for (int i = 1; i <= c + K; i++) {
        p *= lambda / (mu * (i < c ? i : c));
        sum += p;
    }
    return p / sum;
}

/* Spillover from a self-hosted tier with a queue bound K to an api tier is
 * the M/M/c/(c + K) loss system: the spilled share is its blocking
 * probability.  max_wait_s: 0 spills whenever anyone waits, i.e. K = 0. */
START_TEST(spillover_is_mmck)
{
    const struct {
        int c, shared;
        double lambda;
        const char *bound;
        int K;
    } t[] = {{1, 0, 0.8, "max_queue: 2", 2},
             {3, 1, 2.4, "max_queue: 2", 2},
             {3, 1, 2.4, "max_queue: 0", 0},
             {1, 0, 0.8, "max_wait_s: 0", 0}};
    for (int i = 0; i < 4; i++) {
        char y[2048];
        snprintf(y, sizeof y,
                 "name: s\nseed: 8\nreplications: 10\nhorizon: {requests: 30000, warmup_s: 200}\n"
                 "workload:\n  arrivals: {process: poisson, rate_per_s: %g}\n"
                 "  classes: [{name: c, prompt: [{segment: p, tokens: 10}], output_tokens: 10}]\n"
                 "deployments:\n  - {name: gpu, kind: self-hosted, replicas: %d, gpu_hour_usd: 2, %s"
                 "scheduler: {policy: none}, latency: {model: service_time, service_time_s: {dist: exponential, "
                 "mean: 1}}}\n"
                 "  - {name: api, kind: api, model: claude-haiku-4-5}\n"
                 "routing: {policy: spillover, tiers: [gpu, api], %s}\n",
                 t[i].lambda, t[i].c, t[i].shared ? "queue: shared, " : "", t[i].bound);
        struct sim_scenario sc;
        tu_load_yaml(&sc, y, NULL, 0);
        struct ana_summary_row *rows;
        size_t n;
        tu_summarize(&sc, NULL, &rows, &n);
        sim_scenario_free(&sc);
        const struct ana_summary_row *r = ana_summary_find(rows, n, "all", "spilled_share");
        double want = mmck_block(t[i].lambda, 1.0, t[i].c, t[i].K);
        ck_assert_uint_eq(r->count, 10);
        ck_assert_msg(r->ci95 < 0.1 * want, "ci95 %g too wide", r->ci95);
        ck_assert_msg(fabs(r->mean - want) <= 2 * r->ci95, "case %d: spilled %.5f +- %.5f, M/M/c/K %.5f", i, r->mean,
                      r->ci95, want);
        free(rows);
    }
}
END_TEST

/* cost_aware: the cheapest tier whose expected quality for the class meets
 * the target (per-class figures win over the difficulty mix), else the
 * best expected quality. */
START_TEST(cost_aware_choices)
{
    const struct {
        double target;
        int easy, hard, mixed, special;
    } t[] = {{0.9, 0, 2, 2, 0}, {0.8, 0, 2, 1, 0}, {0.99, 2, 2, 2, 0}};
    for (int i = 0; i < 3; i++) {
        char y[3072];
        snprintf(y, sizeof y,
                 "name: ca\nseed: 1\nhorizon: {requests: 4000}\n"
                 "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n  classes:\n"
                 "    - {name: easy, share: 0.25, difficulty: simple, prompt: [{segment: p, tokens: 300}], output_tokens: 50}\n"
                 "    - {name: hard, share: 0.25, difficulty: complex, prompt: [{segment: p, tokens: 300}], output_tokens: 50}\n"
                 "    - {name: mixed, share: 0.25, difficulty: {simple: 0.5, moderate: 0, complex: 0.5}, "
                 "prompt: [{segment: p, tokens: 300}], output_tokens: 50}\n"
                 "    - {name: special, share: 0.25, difficulty: complex, prompt: [{segment: p, tokens: 300}], "
                 "output_tokens: 50}\n"
                 "deployments:\n"
                 "  - {name: cheap, kind: api, model: a, price: {input_per_mtok: 1, output_per_mtok: 5}}\n"
                 "  - {name: mid, kind: api, model: b, price: {input_per_mtok: 3, output_per_mtok: 15}}\n"
                 "  - {name: top, kind: api, model: c, price: {input_per_mtok: 15, output_per_mtok: 75}}\n"
                 "routing: {policy: cost_aware, tiers: [top, mid, cheap], quality_target: %g}\n"
                 "quality:\n  cheap: {simple: 0.95, moderate: 0.8, complex: 0.5, classes: {special: 0.999}}\n"
                 "  mid: {simple: 0.97, moderate: 0.9, complex: 0.7}\n  top: {simple: 0.98, moderate: 0.95, complex: 0.9}\n",
                 t[i].target);
        struct keep k;
        struct ana_summary_row *rows;
        size_t n;
        run(y, &k, &rows, &n);
        const int want[4] = {t[i].easy, t[i].hard, t[i].mixed, t[i].special};
        for (size_t j = 0; j < k.n; j++)
            ck_assert_msg(k.r[j].deployment == want[k.r[j].class_idx], "target %g class %d went to %d", t[i].target,
                          k.r[j].class_idx, k.r[j].deployment);
        /* per-class success applies to the special class at cheap */
        if (t[i].special == 0) {
            double q = tu_metric(rows, n, "class:special", "success");
            ck_assert_double_eq_tol(q, 0.999, 0.01);
        }
        free(rows);
        free(k.r);
    }
}
END_TEST

/* Rules on text features: the lesson's "under 1,000 characters, a question
 * mark, fewer than 20 words -> small model", and segment presence. */
START_TEST(rules_on_text)
{
    const char *y =
        "name: rt\nseed: 9\nhorizon: {requests: 20000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n  classes:\n"
        /* 20 tokens: 80 characters, 15 words; a question mark half the time */
        "    - {name: short, share: 0.4, prompt: [{segment: q, tokens: 20}], output_tokens: 20, "
        "features: {question_mark: 0.5}}\n"
        /* 400 tokens: 1,600 characters */
        "    - {name: long, share: 0.2, prompt: [{segment: q, tokens: 400}], output_tokens: 20, "
        "features: {question_mark: 1}}\n"
        /* 40 tokens but 30 words (given): too many words */
        "    - {name: wordy, share: 0.2, prompt: [{segment: q, tokens: 40}], output_tokens: 20, "
        "features: {words: 30, question_mark: 1}}\n"
        "    - {name: docs, share: 0.2, prompt: [{segment: document, tokens: {dist: uniform, min: 0, max: 1}}, "
        "{segment: q, tokens: 2000}], output_tokens: 20}\n"
        "deployments:\n  - {name: small, kind: api, model: claude-haiku-4-5}\n"
        "  - {name: large, kind: api, model: claude-sonnet-4-6}\n  - {name: rag, kind: api, model: claude-sonnet-4-6}\n"
        "routing:\n  policy: rules\n  rules:\n"
        "    - {when: {prompt_chars_lt: 1000, question_mark: true, words_lt: 20}, to: small}\n"
        "    - {when: {segment: document}, to: rag}\n"
        "  default: large\n";
    struct keep k;
    struct ana_summary_row *rows;
    size_t n;
    run(y, &k, &rows, &n);
    size_t short_n = 0, short_small = 0, docs_n = 0, docs_rag = 0;
    for (size_t j = 0; j < k.n; j++) {
        const struct sim_request_record *r = &k.r[j];
        switch (r->class_idx) {
        case 0:
            short_n++;
            short_small += r->deployment == 0;
            ck_assert_int_ne(r->deployment, 2);
            break;
        case 1:
        case 2:
            ck_assert_int_eq(r->deployment, 1);
            break;
        default:
            docs_n++;
            /* the document segment is present when it drew 1 token */
            ck_assert_int_eq(r->deployment, r->input_tokens == 2001 ? 2 : 1);
            docs_rag += r->deployment == 2;
        }
    }
    ck_assert_double_eq_tol((double)short_small / short_n, 0.5, se4(0.5, short_n));
    ck_assert_double_eq_tol((double)docs_rag / docs_n, 0.5, se4(0.5, docs_n));
    free(rows);
    free(k.r);
}
END_TEST

static const char *prefetch_yaml(double hit)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "name: pf\nseed: 4\nhorizon: {requests: 3000}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: 0.5}\n"
             "  classes: [{name: chat, prompt: [{segment: system, tokens: 500, stable: true}, "
             "{segment: msg, tokens: 50}], output_tokens: 100, prefetch: {hit_probability: %g}}]\n"
             "  sessions: {turns: 5, think_time_s: 60}\n"
             "deployments:\n  - {name: api, kind: api, model: claude-haiku-4-5, latency: {model: api, itl_ms: 20}}\n",
             hit);
    return buf;
}

/* Prefetch: a right guess is the next turn, issued when the previous answer
 * came, so with a think time far above the latency the user waits for
 * nothing; a wrong guess is paid for and never shown. */
START_TEST(prefetch_hits_and_waste)
{
    const double hits[] = {1.0, 0.0, 0.5};
    for (int i = 0; i < 3; i++) {
        struct keep k;
        struct ana_summary_row *rows;
        size_t n;
        run(prefetch_yaml(hits[i]), &k, &rows, &n);
        size_t later = 0, hit = 0, wasted = 0, real = 0;
        double wasted_usd = 0, saved = 0;
        for (size_t j = 0; j < k.n; j++) {
            const struct sim_request_record *r = &k.r[j];
            double usd = lines_usd(r);
            if (r->flags & SIM_RF_PREFETCH_WASTED) {
                wasted++;
                wasted_usd += usd;
                continue;
            }
            real++;
            if (r->turn >= 2)
                later++;
            if (r->flags & SIM_RF_PREFETCH_HIT) {
                hit++;
                ck_assert_int_ge(r->turn, 2);
                ck_assert_double_eq(r->perceived_s, 0.0);
                saved += r->ttft_s;
            } else {
                ck_assert_double_eq(r->perceived_s, r->ttft_s); /* streaming: TTFT */
            }
        }
        if (hits[i] == 1.0) {
            /* Guesses go out when the user has the answer: turn 2 when turn 1
             * is done, every later one the think time (60 s) after the
             * previous guess, when the user sends that message; never a whole
             * session ahead of the user. */
            for (size_t j = 0; j < k.n; j++) {
                const struct sim_request_record *r = &k.r[j];
                if (r->turn < 2)
                    continue;
                const struct sim_request_record *prev = NULL;
                for (size_t m = 0; m < k.n && !prev; m++)
                    if (k.r[m].session == r->session && k.r[m].turn == r->turn - 1)
                        prev = &k.r[m];
                ck_assert_ptr_nonnull(prev);
                if (r->turn == 2)
                    ck_assert_double_eq(r->arrival_s, prev->done_s);
                else
                    ck_assert_double_eq_tol(r->arrival_s, prev->arrival_s + 60.0, 1e-9);
            }
            ck_assert_uint_eq(hit, later);
            ck_assert_uint_eq(wasted, 0);
            ck_assert_double_eq_tol(tu_metric(rows, n, "all", "prefetch_saved_s"), saved / hit, 1e-9);
        } else if (hits[i] == 0.0) {
            ck_assert_uint_eq(hit, 0);
            ck_assert_uint_eq(wasted, later); /* one wrong guess per later turn */
        } else {
            ck_assert_double_eq_tol((double)hit / later, 0.5, se4(0.5, later));
            ck_assert_uint_eq(hit + wasted, later);
        }
        ck_assert_double_eq(tu_metric(rows, n, "all", "prefetch_wasted_requests"), (double)wasted);
        ck_assert_double_eq_tol(tu_metric(rows, n, "all", "prefetch_wasted_per_1k_usd"), 1000 * wasted_usd / real, 1e-9);
        ck_assert_double_eq_tol(tu_metric(rows, n, "all", "prefetch_hit_share"), (double)hit / real, 1e-12);
        free(rows);
        free(k.r);
    }
}
END_TEST

/* The client-side queue: no 429s, requests sent in arrival order, and no
 * one-minute window holds more starts than the limit. */
START_TEST(client_queue_holds_limits)
{
    const char *y =
        "name: cq\nseed: 2\nhorizon: {requests: 1500}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 2}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: 500}], output_tokens: 50}]\n"
        "deployments:\n  - {name: api, kind: api, model: claude-haiku-4-5, "
        "rate_limits: {requests_per_min: 60, input_tokens_per_min: 40000, on_limit: queue}}\n";
    struct keep k;
    struct ana_summary_row *rows;
    size_t n;
    run(y, &k, &rows, &n);
    ck_assert_uint_eq(k.n, 1500);
    double *start = malloc(k.n * sizeof *start), *by_id = malloc(k.n * sizeof *by_id);
    size_t queued = 0;
    for (size_t j = 0; j < k.n; j++) {
        ck_assert(!(k.r[j].flags & SIM_RF_RATE_LIMITED));
        queued += (k.r[j].flags & SIM_RF_CLIENT_QUEUED) != 0;
        start[j] = k.r[j].prefill_start_s;
        by_id[k.r[j].id] = k.r[j].prefill_start_s;
    }
    for (size_t j = 1; j < k.n; j++)
        ck_assert(by_id[j] >= by_id[j - 1]); /* first in, first out */
    qsort(start, k.n, sizeof *start, tu_cmp_double);
    for (size_t j = 0; j + 60 < k.n; j++)
        ck_assert_msg(start[j] + 60.0 <= start[j + 60], "61 starts within %.17g s", start[j + 60] - start[j]);
    /* (a start leaves the window (t - 60, t] when start + 60 <= t, compared
     * as the engine does: the difference of the two can round below 60) */
    /* twice the allowed rate: most requests wait, and the limit is the throughput */
    ck_assert_uint_gt(queued, k.n / 2);
    ck_assert_double_eq_tol(start[k.n - 1], (k.n - 60) * 1.0, 60.0);
    ck_assert_double_eq_tol(tu_metric(rows, n, "all", "client_queued_share"), (double)queued / k.n, 1e-12);
    free(start);
    free(by_id);
    free(rows);
    free(k.r);
}
END_TEST

/* Quality penalties: a truncated answer keeps its success with 1 - t, a
 * verbosity v < 1 keeps it with 1 - p (1 - v). */
START_TEST(quality_penalties)
{
    const struct {
        const char *oc;
        double want;
    } t[] = {{"{max_tokens: 100, truncation_penalty: 0.3}", 0.7},
             {"{verbosity: 0.5, verbosity_penalty: 0.4}", 0.8},
             {"{max_tokens: 50, truncation_penalty: 0.3, verbosity: 0.5, verbosity_penalty: 0.4}", 0.56},
             {"{max_tokens: 500, truncation_penalty: 0.3}", 1.0}};
    for (int i = 0; i < 4; i++) {
        char y[1024];
        snprintf(y, sizeof y,
                 "name: qp\nseed: 6\nhorizon: {requests: 20000}\n"
                 "workload:\n  arrivals: {process: poisson, rate_per_s: 20}\n"
                 "  classes: [{name: c, prompt: [{segment: p, tokens: 100}], output_tokens: 200}]\n"
                 "deployments:\n  - {name: api, kind: api, model: claude-haiku-4-5}\n"
                 "quality: {api: 1}\noutput_control: %s\n",
                 t[i].oc);
        struct keep k;
        struct ana_summary_row *rows;
        size_t n;
        run(y, &k, &rows, &n);
        double q = tu_metric(rows, n, "all", "success");
        if (t[i].want == 1.0)
            ck_assert_double_eq(q, 1.0);
        else
            ck_assert_double_eq_tol(q, t[i].want, se4(t[i].want, k.n));
        free(rows);
        free(k.r);
    }
}
END_TEST

/* Regressions from review: a cascade's next tier is billed at its own
 * terms (not the Batch API discount of the tier below), a class's GPU cost
 * includes the lower self-hosted tier its requests went through, and
 * spillover with max_queue 0 keeps on a batching tier only requests that
 * start at once. */
START_TEST(cascade_terms_and_gpu_share)
{
    const char *y =
        "name: cb\nseed: 7\nhorizon: {requests: 3000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 2}\n  classes:\n"
        "    - {name: easy, share: 0.5, difficulty: simple, prompt: [{segment: p, tokens: 1000}], output_tokens: 100}\n"
        "    - {name: hard, share: 0.5, difficulty: complex, prompt: [{segment: p, tokens: 1000}], output_tokens: 100}\n"
        "deployments:\n"
        "  - {name: gpu, kind: self-hosted, replicas: 2, gpu_hour_usd: 3, scheduler: {policy: none}, "
        "latency: {model: service_time, service_time_s: 0.5}}\n"
        "  - {name: cheap, kind: api, model: a, batch: true, price: {input_per_mtok: 1, output_per_mtok: 5}}\n"
        "  - {name: top, kind: api, model: b, price: {input_per_mtok: 10, output_per_mtok: 50}}\n"
        "routing: {policy: cascade, tiers: [gpu, cheap, top], detect: 1}\n"
        "quality:\n  gpu: {simple: 1, moderate: 1, complex: 0}\n  cheap: {simple: 1, moderate: 1, complex: 0}\n"
        "  top: 1\n";
    struct keep k;
    struct ana_summary_row *rows;
    size_t n;
    run(y, &k, &rows, &n);
    const double gpu_usd = 0.5 * 3.0 / 3600, cheap_usd = 0.5 * (1000e-6 + 100 * 5e-6), top_usd = 1000e-5 + 100 * 50e-6;
    for (size_t j = 0; j < k.n; j++) {
        const struct sim_request_record *r = &k.r[j];
        double lines = lines_usd(r);
        if (r->class_idx == 1) { /* every tier but the last fails it */
            ck_assert_int_eq(r->tiers, 3);
            ck_assert(!(r->flags & SIM_RF_BATCH));
            ck_assert_double_eq_tol(lines, cheap_usd + top_usd, 1e-12);
            ck_assert_double_eq_tol(r->cost_gpu_usd, gpu_usd, 1e-12);
            ck_assert_double_eq_tol(r->cost_escalated_usd, gpu_usd + cheap_usd, 1e-12);
        } else {
            ck_assert_int_eq(r->tiers, 1);
            ck_assert_double_eq_tol(lines, 0.0, 1e-15);
        }
    }
    /* Both classes used the GPUs alike, so they share its provisioned cost
     * evenly (to the sampling of their request counts). */
    double ge = tu_metric(rows, n, "class:easy", "cost_gpu_per_1k_usd"),
           gh = tu_metric(rows, n, "class:hard", "cost_gpu_per_1k_usd");
    ck_assert_double_eq_tol(gh, ge, 0.1 * ge);
    ck_assert_double_eq_tol(tu_metric(rows, n, "class:hard", "cost_per_1k_usd"),
                            gh + 1000 * (cheap_usd + top_usd), 1e-6);
    free(rows);
    free(k.r);

    /* Spillover with max_queue 0 in front of static batches of 4: the GPU
     * keeps only requests that start at once. */
    const char *sp =
        "name: sb\nseed: 3\nhorizon: {requests: 4000}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 6}\n"
        "  classes: [{name: c, prompt: [{segment: p, tokens: 200}], output_tokens: 50}]\n"
        "deployments:\n"
        "  - {name: gpu, kind: self-hosted, replicas: 1, gpu_hour_usd: 2, scheduler: {policy: static, max_batch: 4}, "
        "latency: {model: linear, prefill_s: {a: 0.05, b: 0.0001}, decode_step_s: {a: 0.02, b_batch: 0.001}}}\n"
        "  - {name: api, kind: api, model: claude-haiku-4-5}\n"
        "routing: {policy: spillover, tiers: [gpu, api], max_queue: 0}\n";
    run(sp, &k, &rows, &n);
    size_t on_gpu = 0;
    for (size_t j = 0; j < k.n; j++)
        if (k.r[j].deployment == 0) {
            on_gpu++;
            ck_assert_double_eq_tol(k.r[j].queue_s, 0.0, 1e-9);
        }
    ck_assert_uint_gt(on_gpu, k.n / 10);
    ck_assert_uint_lt(on_gpu, k.n);
    free(rows);
    free(k.r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("routing");
    TCase *tc = tcase_create("routing");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cascade_cost_and_quality);
    tcase_add_test(tc, classifier_confusion);
    tcase_add_test(tc, classifier_by_difficulty);
    tcase_add_test(tc, spillover_is_mmck);
    tcase_add_test(tc, cost_aware_choices);
    tcase_add_test(tc, rules_on_text);
    tcase_add_test(tc, prefetch_hits_and_waste);
    tcase_add_test(tc, client_queue_holds_limits);
    tcase_add_test(tc, quality_penalties);
    tcase_add_test(tc, cascade_terms_and_gpu_share);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
