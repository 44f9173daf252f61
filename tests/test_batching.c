/* Batching schedulers: hand-computed iteration timing, equivalence with
 * scheduler none for a lone request, KV memory, preemption and rejection,
 * conservation, static vs continuous, chunked prefill, determinism, and the
 * claim that simulation cost grows with iterations, not tokens x batch.
 *
 * Scenarios are YAML text loaded with the scenario loader (the loader is
 * tested elsewhere); the linear latency model keeps the arithmetic exact. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* Linear model used throughout: prefill = a + b n + c n^2 and
 * decode step = a + b_batch B + c_context C. */
#define PA 0.02
#define PB 1.5e-4
#define PC 2.0e-8
#define DA 0.011
#define DB 3.0e-4
#define DC 2.0e-7

struct recs {
    struct sim_request_record *r;
    size_t n, cap;
    double iter_tokens;  /* decode tokens over all iterations */
    double iter_time;    /* sum of iteration durations */
    uint64_t iterations;
};

static int collect(void *ctx, const struct sim_request_record *r)
{
    struct recs *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->r = realloc(c->r, c->cap * sizeof *c->r);
        ck_assert_ptr_nonnull(c->r);
    }
    c->r[c->n++] = *r;
    return 0;
}

static int collect_iter(void *ctx, const struct sim_iter_record *it)
{
    struct recs *c = ctx;
    c->iter_tokens += it->decode_tokens;
    c->iter_time += it->duration_s;
    c->iterations++;
    return 0;
}

static void run(const struct sim_scenario *sc, uint32_t rep, struct recs *out, struct sim_world_stats *st_out,
                struct sim_deployment_stats *dep0)
{
    memset(out, 0, sizeof *out);
    struct sim_sink sink = {out, collect, NULL, collect_iter, NULL};
    struct sim_world *w = NULL;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = sim_world_alloc(&w, sc, rep, &sink, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(sim_run(w), 0);
    struct sim_world_stats st;
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.arrivals, st.completed);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.completed, out->n);
    if (st.sum_sojourn_s > 0)
        ck_assert_double_le(fabs(st.area_in_system - st.sum_sojourn_s) / st.sum_sojourn_s, 1e-9);
    if (st_out)
        *st_out = st;
    if (dep0)
        *dep0 = st.deployments[0];
    sim_world_free(w);
}

/* A scenario of `n` requests with constant lengths arriving `gap_s` apart. */
static char *scenario(const char *sched, int n, double gap_s, int in, int out, const char *extra)
{
    char *buf = malloc(4096);
    ck_assert_ptr_nonnull(buf);
    snprintf(buf, 4096,
             "name: t\nseed: 5\nhorizon: {requests: %d}\n"
             "workload:\n  arrivals: {process: constant, rate_per_s: %.17g}\n"
             "  classes:\n    - name: c\n      prompt: [{segment: p, tokens: %d}]\n      output_tokens: %d\n"
             "deployments:\n  - name: d\n    kind: self-hosted\n    gpu_hour_usd: 3.6\n"
             "    scheduler: %s\n"
             "    latency: {model: linear, prefill_s: {a: %.17g, b: %.17g, c: %.17g}, "
             "decode_step_s: {a: %.17g, b_batch: %.17g, c_context: %.17g}}\n%s",
             n, 1.0 / gap_s, in, out, sched, PA, PB, PC, DA, DB, DC, extra ? extra : "");
    return buf;
}

static double prefill(double n)
{
    return PA + PB * n + PC * n * n;
}

static double decode(double batch, double ctx)
{
    return DA + DB * batch + DC * ctx;
}

/* One request alone: continuous batching times it exactly as scheduler none,
 * with chunked prefill or without (stated: the engine's default is on). */
START_TEST(lone_request_matches_scheduler_none)
{
    const char *scheds[] = {
        "{policy: none}",
        "{policy: continuous, max_batch: 8, max_batched_tokens: 4096, chunked_prefill: false}",
        "{policy: continuous, max_batch: 8, max_batched_tokens: 4096, chunked_prefill: true}",
        "{policy: static, max_batch: 8}", "{policy: dynamic, max_batch: 8, max_wait_ms: 0}"};
    double first = -1, done = -1;
    for (int k = 0; k < 5; k++) {
        char *y = scenario(scheds[k], 1, 1.0, 1000, 120, NULL);
        struct sim_scenario sc;
        tu_load_yaml(&sc, y, NULL, 0);
        struct recs rs;
        run(&sc, 0, &rs, NULL, NULL);
        ck_assert_uint_eq(rs.n, 1);
        double t0 = rs.r[0].arrival_s;
        double want_first = prefill(1000);
        double want_done = want_first;
        for (int j = 1; j < 120; j++)
            want_done += decode(1, 1000 + j);
        ck_assert_double_eq_tol(rs.r[0].first_token_s - t0, want_first, 1e-12);
        ck_assert_double_eq_tol(rs.r[0].done_s - t0, want_done, 1e-9);
        if (k > 0) {
            ck_assert_double_eq_tol(rs.r[0].first_token_s - t0, first, 1e-12);
            ck_assert_double_eq_tol(rs.r[0].done_s - t0, done, 1e-9);
            /* GPU cost: the whole busy time at 3.6 $/h = 0.001 $/s. */
            ck_assert_double_eq_tol(rs.r[0].cost_gpu_usd, want_done * 0.001, 1e-12);
        }
        first = rs.r[0].first_token_s - t0;
        done = rs.r[0].done_s - t0;
        free(rs.r);
        sim_scenario_free(&sc);
        free(y);
    }
}
END_TEST

/* Two requests 1 ms apart with continuous batching (no chunking, stated:
 * vLLM V1, the default engine, chunks): the second waits for the first's
 * prefill, is prefilled alone (decoding pauses), then both decode together.
 * Hand-computed timeline. */
START_TEST(two_requests_hand_timeline)
{
    char *y = scenario(
        "{policy: continuous, max_batch: 8, max_batched_tokens: 4096, chunked_prefill: false}", 2,
        0.001, 500, 4, NULL);
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    run(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 2);
    /* Arrivals at 0.001 and 0.002 (constant process: first at 1/rate). */
    double a1 = 0.001, a2 = 0.002;
    double t = a1 + prefill(500); /* first token of request 1 */
    double f1 = t;
    t += prefill(500); /* request 2 prefilled alone; request 1 paused */
    double f2 = t;
    /* Then decode iterations with both: contexts 501 and 501, then 502, 502... */
    double ctx = 2 * 500.0;
    for (int k = 1; k <= 3; k++)
        t += decode(2, ctx + 2 * k);
    /* Both need 3 more tokens: they finish together. */
    const struct sim_request_record *r1 = rs.r[0].id == 0 ? &rs.r[0] : &rs.r[1];
    const struct sim_request_record *r2 = rs.r[0].id == 0 ? &rs.r[1] : &rs.r[0];
    ck_assert_double_eq_tol(r1->arrival_s, a1, 1e-15);
    ck_assert_double_eq_tol(r2->arrival_s, a2, 1e-15);
    ck_assert_double_eq_tol(r1->first_token_s, f1, 1e-12);
    ck_assert_double_eq_tol(r2->first_token_s, f2, 1e-12);
    ck_assert_double_eq_tol(r2->queue_s, f1 - a2, 1e-12);
    ck_assert_double_eq_tol(r1->done_s, t, 1e-12);
    ck_assert_double_eq_tol(r2->done_s, t, 1e-12);
    /* GPU cost: prefills to their owners, decode iterations split evenly. */
    double dec = t - f2;
    ck_assert_double_eq_tol(r1->cost_gpu_usd, (prefill(500) + dec / 2) * 0.001, 1e-12);
    ck_assert_double_eq_tol(r2->cost_gpu_usd, (prefill(500) + dec / 2) * 0.001, 1e-12);
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

/* Chunked prefill: decodes first, the rest of the budget to prompt chunks. */
START_TEST(chunked_prefill_hand_timeline)
{
    char *y = scenario("{policy: continuous, max_batch: 8, max_batched_tokens: 256, chunked_prefill: true}", 1,
                       1.0, 600, 3, NULL);
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    run(&sc, 0, &rs, NULL, NULL);
    /* 600 prompt tokens in chunks of 256, 256, 88: prefill iterations of
     * a + b c + c c^2 each (the quadratic term per chunk). */
    double t = 1.0;
    t += prefill(256) + prefill(256) + prefill(88);
    ck_assert_double_eq_tol(rs.r[0].first_token_s, t, 1e-12);
    t += decode(1, 601) + decode(1, 602);
    ck_assert_double_eq_tol(rs.r[0].done_s, t, 1e-12);
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

/* Static batching: everyone returns when the longest is done. */
START_TEST(static_batch_returns_together)
{
    const char *yaml =
        "name: s\nseed: 9\nhorizon: {requests: 40}\n"
        "workload:\n  arrivals: {process: constant, rate_per_s: 1000}\n"
        "  classes:\n    - name: c\n      prompt: [{segment: p, tokens: 300}]\n"
        "      output_tokens: {dist: uniform, min: 5, max: 200}\n"
        "deployments:\n  - name: d\n    kind: self-hosted\n    gpu_hour_usd: 1\n"
        "    scheduler: {policy: static, max_batch: 10}\n"
        "    latency: {model: linear, prefill_s: {a: 0.02, b: 1.5e-4}, decode_step_s: {a: 0.011, b_batch: 3.0e-4}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct recs rs;
    run(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 40);
    /* A batch shares its prefill: group by first-token time.  Within a
     * batch every request returns at the same instant; a batch holds at most
     * max_batch requests; 40 requests need at least 4 batches. */
    int groups = 0;
    for (size_t i = 0; i < rs.n; i++) {
        int size = 0, first = 1;
        for (size_t j = 0; j < rs.n; j++) {
            if (rs.r[j].first_token_s != rs.r[i].first_token_s)
                continue;
            size++;
            ck_assert_double_eq(rs.r[j].done_s, rs.r[i].done_s);
            if (j < i)
                first = 0;
        }
        ck_assert_int_le(size, 10);
        groups += first;
    }
    ck_assert_int_ge(groups, 4);
    free(rs.r);
    sim_scenario_free(&sc);
}
END_TEST

static const char *chat_yaml(const char *sched, double rate, const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "name: chat\nseed: 21\nhorizon: {duration_s: 900, warmup_s: 100}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: %.17g}\n"
             "  classes:\n    - name: c\n"
             "      prompt: [{segment: p, tokens: {dist: lognormal, mean: 800, cv: 0.8, max: 6000}}]\n"
             "      output_tokens: {dist: lognormal, mean: 200, cv: 0.8, max: 1500}\n"
             "deployments:\n  - name: d\n    kind: self-hosted\n    replicas: 2\n    gpu_hour_usd: 2.5\n"
             "    scheduler: %s\n"
             "    latency: {model: linear, prefill_s: {a: 0.015, b: 6.0e-5}, "
             "decode_step_s: {a: 0.0125, b_batch: 3.0e-4, c_context: 1.0e-7}}\n%s",
             rate, sched, extra ? extra : "");
    return buf;
}

static double pctl(double *x, size_t n, double p)
{
    for (size_t i = 1; i < n; i++) {
        double v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1] > v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
    double h = (n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return x[lo] + (h - lo) * (x[hi] - x[lo]);
}

static double p95_ttft(const struct recs *rs)
{
    double *x = malloc(rs->n * sizeof *x);
    size_t m = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (!(rs->r[i].flags & SIM_RF_WARMUP))
            x[m++] = rs->r[i].ttft_s;
    double v = pctl(x, m, 0.95);
    free(x);
    return v;
}

/* At equal load, continuous batching beats static on p95 TTFT (Orca's result). */
START_TEST(continuous_beats_static_on_ttft)
{
    const char *pol[] = {
        "{policy: static, max_batch: 32}",
        "{policy: continuous, max_batch: 32, max_batched_tokens: 8192, chunked_prefill: false}"};
    double p95[2];
    for (int k = 0; k < 2; k++) {
        struct sim_scenario sc;
        tu_load_yaml(&sc, chat_yaml(pol[k], 2.0, NULL), NULL, 0);
        struct recs rs;
        run(&sc, 0, &rs, NULL, NULL);
        p95[k] = p95_ttft(&rs);
        free(rs.r);
        sim_scenario_free(&sc);
    }
    ck_assert_msg(p95[1] < 0.5 * p95[0], "continuous p95 TTFT %g, static %g", p95[1], p95[0]);
}
END_TEST

/* Chunked prefill lowers p99 inter-token latency when long prompts arrive:
 * without it a long prompt's prefill iteration pauses every decode. */
START_TEST(chunked_prefill_lowers_p99_itl)
{
    const char *classes =
        "name: mix\nseed: 4\nhorizon: {duration_s: 900, warmup_s: 60}\n"
        "workload:\n  arrivals: {process: poisson, rate_per_s: 3}\n  classes:\n"
        "    - {name: chat, share: 0.9, prompt: [{segment: p, tokens: {dist: lognormal, mean: 300, cv: 0.5}}], "
        "output_tokens: {dist: lognormal, mean: 300, cv: 0.5}}\n"
        "    - {name: doc, share: 0.1, prompt: [{segment: p, tokens: 16000}], output_tokens: 50}\n"
        "deployments:\n  - name: d\n    kind: self-hosted\n    gpu_hour_usd: 2.5\n"
        "    scheduler: {policy: continuous, max_batch: 64, max_batched_tokens: 512, chunked_prefill: ";
    const char *tail = "}\n    latency: {model: linear, prefill_s: {a: 0.015, b: 6.0e-5}, "
                       "decode_step_s: {a: 0.0125, b_batch: 3.0e-4, c_context: 1.0e-7}}\n";
    double p99[2];
    for (int k = 0; k < 2; k++) {
        char y[4096];
        snprintf(y, sizeof y, "%s%s%s", classes, k ? "true" : "false", tail);
        struct sim_scenario sc;
        tu_load_yaml(&sc, y, NULL, 0);
        struct recs rs;
        run(&sc, 0, &rs, NULL, NULL);
        double *x = malloc(rs.n * sizeof *x);
        size_t m = 0;
        for (size_t i = 0; i < rs.n; i++)
            if (!(rs.r[i].flags & SIM_RF_WARMUP) && rs.r[i].class_idx == 0)
                x[m++] = rs.r[i].mean_itl_s;
        p99[k] = pctl(x, m, 0.99);
        free(x);
        free(rs.r);
        sim_scenario_free(&sc);
    }
    ck_assert_msg(p99[1] < 0.8 * p99[0], "p99 ITL chunked %g, not chunked %g", p99[1], p99[0]);
}
END_TEST

/* Preemptions appear when KV memory is small and vanish when it is large;
 * every request still completes with all its tokens.  Under both admission
 * rules: vLLM V1's (the blocks of the step's tokens, a preempted request's
 * blocks kept in the prefix cache) and V0's (the whole prompt with a 1%
 * watermark). */
START_TEST(preemption_with_small_kv)
{
    const char *engine = _i ? "vllm-v0" : "vllm-v1";
    uint64_t pre[2];
    double kv[2] = {9000, 2000000};
    for (int k = 0; k < 2; k++) {
        char extra[96];
        snprintf(extra, sizeof extra, "    kv_capacity_tokens: %.0f\n    engine: %s\n", kv[k],
                 engine);
        struct sim_scenario sc;
        tu_load_yaml(&sc,
                     chat_yaml("{policy: continuous, max_batch: 128, max_batched_tokens: 8192, "
                               "chunked_prefill: false}",
                               6.0, extra),
                     NULL, 0);
        struct recs rs;
        struct sim_deployment_stats ds;
        run(&sc, 0, &rs, NULL, &ds);
        uint64_t sum = 0;
        for (size_t i = 0; i < rs.n; i++) {
            sum += rs.r[i].preemptions;
            ck_assert(!(rs.r[i].flags & SIM_RF_REJECTED));
            if (rs.r[i].preemptions)
                ck_assert(rs.r[i].flags & SIM_RF_PREEMPTED);
            ck_assert(rs.r[i].done_s >= rs.r[i].first_token_s);
        }
        ck_assert_uint_eq(sum, ds.preemptions);
        ck_assert_int_eq(sc.deployments[0].admit_whole_prompt, _i);
        pre[k] = sum;
        free(rs.r);
        sim_scenario_free(&sc);
    }
    ck_assert_uint_gt(pre[0], 10);
    ck_assert_uint_eq(pre[1], 0);
}
END_TEST

/* A request larger than one replica's KV memory is rejected, not stuck. */
START_TEST(oversized_request_rejected)
{
    char *y = scenario("{policy: continuous, max_batch: 8, max_batched_tokens: 8192}", 3, 0.5, 5000, 100,
                       "    kv_capacity_tokens: 4096\n");
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    struct sim_deployment_stats ds;
    run(&sc, 0, &rs, NULL, &ds);
    ck_assert_uint_eq(rs.n, 3);
    ck_assert_uint_eq(ds.rejected, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(rs.r[i].flags & SIM_RF_REJECTED);
        ck_assert_int_eq(rs.r[i].success, 0);
        ck_assert_double_eq(rs.r[i].cost_gpu_usd, 0);
    }
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

/* Token-weighted ITL from the iteration records equals the per-token view:
 * sum over iterations of decode tokens x duration equals the sum over
 * requests of (output - 1) x mean ITL when nothing is paused by prefills. */
START_TEST(iteration_records_cover_decode_tokens)
{
    char *y = scenario("{policy: continuous, max_batch: 64, max_batched_tokens: 65536, chunked_prefill: true}",
                       200, 0.05, 200, 60, NULL);
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    struct sim_deployment_stats ds;
    run(&sc, 0, &rs, NULL, &ds);
    double tokens = 0;
    for (size_t i = 0; i < rs.n; i++)
        tokens += rs.r[i].output_tokens - 1;
    ck_assert_double_eq_tol(rs.iter_tokens, tokens, 1e-6);
    ck_assert_uint_eq(rs.iterations, ds.iterations);
    ck_assert_double_eq_tol(rs.iter_time, ds.busy_s, 1e-6);
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

/* Simulation work grows with iterations, not with tokens x batch: events
 * are arrivals + iterations + completions, whatever the batch size. */
START_TEST(events_scale_with_iterations)
{
    char *y = scenario("{policy: continuous, max_batch: 256, max_batched_tokens: 65536}", 2000, 0.001, 100, 400,
                       NULL);
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    struct sim_world_stats st;
    struct sim_deployment_stats ds;
    run(&sc, 0, &rs, &st, &ds);
    /* 2,000 requests x 400 tokens = 800,000 tokens, in far fewer iterations. */
    ck_assert_uint_lt(ds.iterations, 20000);
    ck_assert_uint_le(st.events, 2000 + ds.iterations + 2000 + 1000);
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

START_TEST(batched_determinism)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, chat_yaml("{policy: continuous, max_batch: 64, max_batched_tokens: 2048, chunked_prefill: true}",
                        3.0, "    kv_capacity_tokens: 30000\n    replica_routing: power_of_two\n"), NULL, 0);
    struct recs a, b, c;
    run(&sc, 0, &a, NULL, NULL);
    run(&sc, 0, &b, NULL, NULL);
    run(&sc, 1, &c, NULL, NULL);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_int_eq(memcmp(a.r, b.r, a.n * sizeof *a.r), 0);
    ck_assert(a.n != c.n || memcmp(a.r, c.r, a.n * sizeof *a.r) != 0);
    free(a.r);
    free(b.r);
    free(c.r);
    sim_scenario_free(&sc);
}
END_TEST

/* Dynamic batching waits max_wait for a partial batch. */
START_TEST(dynamic_waits_for_partial_batch)
{
    char *y = scenario("{policy: dynamic, max_batch: 4, max_wait_ms: 250}", 1, 1.0, 100, 2, NULL);
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    struct recs rs;
    run(&sc, 0, &rs, NULL, NULL);
    ck_assert_double_eq_tol(rs.r[0].queue_s, 0.25, 1e-12);
    free(rs.r);
    sim_scenario_free(&sc);
    free(y);
}
END_TEST

/* The self-hosted prefix cache: a shared system prompt is prefilled once and
 * then read from KV memory; TTFT falls; prefix affinity keeps each prefix on
 * the replica that holds it. */
static const char *prefix_yaml(const char *extra, int variants, int replicas, const char *routing)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "name: pfx\nseed: 17\nhorizon: {requests: 3000}\n"
             "workload:\n  arrivals: {process: poisson, rate_per_s: 6}\n"
             "  classes: [{name: c, prompt: [{segment: system, tokens: 4000, stable: true, variants: %d}, "
             "{segment: q, tokens: {dist: lognormal, mean: 100, cv: 0.5}}], output_tokens: 60}]\n"
             "deployments:\n  - name: d\n    kind: self-hosted\n    gpu_hour_usd: 2\n    replicas: %d\n"
             "    replica_routing: %s\n    kv_capacity_tokens: 400000\n"
             "    scheduler: {policy: continuous, max_batch: 64, max_batched_tokens: 8192, chunked_prefill: true}\n"
             "    latency: {model: linear, prefill_s: {a: 0.01, b: 6.0e-5}, "
             "decode_step_s: {a: 0.0125, b_batch: 3.0e-4, c_context: 1.0e-7}}\n%s",
             variants, replicas, routing, extra);
    return buf;
}

static void ttft_and_hits(const struct recs *rs, double *mean_ttft, double *hit_share, double *cached_share)
{
    double t = 0, in = 0, cached = 0;
    size_t hits = 0;
    for (size_t i = 0; i < rs->n; i++) {
        t += rs->r[i].ttft_s;
        hits += rs->r[i].cached_tokens > 0;
        in += rs->r[i].input_tokens;
        cached += rs->r[i].cached_tokens;
    }
    *mean_ttft = t / rs->n;
    *hit_share = (double)hits / rs->n;
    *cached_share = cached / in;
}

START_TEST(prefix_cache_shares_system_prompt)
{
    struct sim_scenario sc;
    struct recs a, b;
    double ta, tb, ha, hb, ca, cb;
    /* Without the cache (stated: vLLM V1, the default engine, has it on). */
    tu_load_yaml(&sc, prefix_yaml("    prefix_cache: {enabled: false}\n", 1, 1, "round_robin"),
                 NULL, 0);
    run(&sc, 0, &a, NULL, NULL);
    sim_scenario_free(&sc);
    tu_load_yaml(&sc, prefix_yaml("    prefix_cache: {enabled: true}\n", 1, 1, "round_robin"), NULL, 0);
    run(&sc, 0, &b, NULL, NULL);
    sim_scenario_free(&sc);
    ttft_and_hits(&a, &ta, &ha, &ca);
    ttft_and_hits(&b, &tb, &hb, &cb);
    ck_assert_double_eq(ha, 0);
    /* All but the first few (arriving before the first prefill is done) hit
     * the whole 4,000-token system prompt. */
    ck_assert_double_gt(hb, 0.99);
    for (size_t i = 0; i < b.n; i++)
        if (b.r[i].cached_tokens > 0)
            ck_assert_uint_eq(b.r[i].cached_tokens, 4000);
    ck_assert_msg(tb < 0.5 * ta, "mean TTFT with prefix cache %g, without %g", tb, ta);

    /* Unsaid, the engine decides: on for vLLM V1 (the same run as
     * enabled: true), off for vLLM V0 (the same as enabled: false). */
    struct recs c;
    tu_load_yaml(&sc, prefix_yaml("", 1, 1, "round_robin"), NULL, 0);
    ck_assert_int_eq(sc.deployments[0].prefix_cache, 1);
    run(&sc, 0, &c, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_uint_eq(c.n, b.n);
    ck_assert_int_eq(memcmp(c.r, b.r, c.n * sizeof *c.r), 0);
    free(c.r);
    tu_load_yaml(&sc, prefix_yaml("    engine: vllm-v0\n", 1, 1, "round_robin"), NULL, 0);
    ck_assert_int_eq(sc.deployments[0].prefix_cache, 0);
    run(&sc, 0, &c, NULL, NULL);
    sim_scenario_free(&sc);
    double tc, hc, cc;
    ttft_and_hits(&c, &tc, &hc, &cc);
    ck_assert_double_eq(hc, 0);
    free(c.r);
    free(a.r);
    free(b.r);
}
END_TEST

START_TEST(prefix_affinity_keeps_prefixes_together)
{
    const char *pc = "    prefix_cache: {enabled: true}\n";
    struct sim_scenario sc;
    struct recs a, b;
    double ta, tb, ha, hb, ca, cb;
    /* 40 system prompts over 4 replicas whose memory holds ~a quarter of them. */
    char extra[256];
    snprintf(extra, sizeof extra, "%s", pc);
    tu_load_yaml(&sc, prefix_yaml(extra, 40, 4, "round_robin"), NULL, 0);
    struct scn_override o[] = {{"deployments.d.kv_capacity_tokens", "60000"}};
    sim_scenario_free(&sc);
    tu_load_yaml(&sc, prefix_yaml(extra, 40, 4, "round_robin"), o, 1);
    run(&sc, 0, &a, NULL, NULL);
    sim_scenario_free(&sc);
    tu_load_yaml(&sc, prefix_yaml(extra, 40, 4, "prefix_affinity"), o, 1);
    run(&sc, 0, &b, NULL, NULL);
    sim_scenario_free(&sc);
    ttft_and_hits(&a, &ta, &ha, &ca);
    ttft_and_hits(&b, &tb, &hb, &cb);
    ck_assert_msg(cb > ca + 0.1, "cached share: affinity %g, round robin %g", cb, ca);
    free(a.r);
    free(b.r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batching");
    TCase *tc = tcase_create("batching");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, lone_request_matches_scheduler_none);
    tcase_add_test(tc, two_requests_hand_timeline);
    tcase_add_test(tc, chunked_prefill_hand_timeline);
    tcase_add_test(tc, static_batch_returns_together);
    tcase_add_test(tc, continuous_beats_static_on_ttft);
    tcase_add_test(tc, chunked_prefill_lowers_p99_itl);
    tcase_add_loop_test(tc, preemption_with_small_kv, 0, 2);
    tcase_add_test(tc, oversized_request_rejected);
    tcase_add_test(tc, iteration_records_cover_decode_tokens);
    tcase_add_test(tc, events_scale_with_iterations);
    tcase_add_test(tc, batched_determinism);
    tcase_add_test(tc, dynamic_waits_for_partial_batch);
    tcase_add_test(tc, prefix_cache_shares_system_prompt);
    tcase_add_test(tc, prefix_affinity_keeps_prefixes_together);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
