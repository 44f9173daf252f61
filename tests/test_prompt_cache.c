/* Provider prompt caches on api deployments: the lesson's arithmetic, the
 * Anthropic rules (TTL refresh, expiry, concurrent misses, minimum length,
 * dynamic-before-stable), OpenAI's 128-token steps, shards, and the ideal
 * cache on the Mooncake trace against the independent replay's figures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

struct sums {
    size_t n, hits;
    double input, cached, written, read_usd, write_usd, input_usd, nocache_usd, billed_usd;
};

static int collect(void *ctx, const struct sim_request_record *r)
{
    struct sums *s = ctx;
    s->n++;
    s->hits += r->cached_tokens > 0;
    s->input += r->input_tokens;
    s->cached += r->cached_tokens;
    s->written += r->cache_write_tokens;
    s->read_usd += r->cost_cache_read_usd;
    s->write_usd += r->cost_cache_write_usd;
    s->input_usd += r->cost_input_usd;
    s->nocache_usd += r->cost_nocache_usd;
    s->billed_usd += r->cost_input_usd + r->cost_cache_write_usd + r->cost_cache_read_usd + r->cost_output_usd;
    return 0;
}

static struct sums run_yaml(const char *yaml, const struct scn_override *o, size_t n)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, o, n);
    struct sums s;
    memset(&s, 0, sizeof s);
    struct sim_sink sink = {&s, collect, NULL, NULL, NULL};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    return s;
}

/* One class, requests `gap_s` apart; prompt given as YAML flow list. */
static const char *yaml(int n, double gap_s, const char *prompt, const char *model, const char *cache)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "name: pc\nseed: 3\nhorizon: {requests: %d}\n"
             "workload:\n  arrivals: {process: constant, rate_per_s: %.17g}\n"
             "  classes: [{name: c, prompt: %s, output_tokens: 100}]\n"
             "deployments:\n  - {name: api, kind: api, model: %s, prompt_cache: %s}\n",
             n, 1.0 / gap_s, prompt, model, cache);
    return buf;
}

#define SYS10K "[{segment: system, tokens: 10000, stable: true, cache: 5m}]"

/* A 10,000-token system prompt reused by 1,000 requests inside the TTL: one
 * write at 1.25x, then 999 reads at 0.1x of the uncached prompt cost. */
START_TEST(reused_prompt_inside_ttl)
{
    struct sums s = run_yaml(yaml(1000, 5.0, SYS10K, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    double uncached = 1000 * 10000 * 3e-6;
    double want = (1.25 + 999 * 0.1) / 1000 * uncached;
    ck_assert_uint_eq(s.hits, 999);
    ck_assert_double_eq_tol(s.read_usd + s.write_usd + s.input_usd, want, 1e-9);
    ck_assert_double_eq_tol(s.write_usd, 1.25 * 10000 * 3e-6, 1e-12);
}
END_TEST

/* Spaced wider than the 5-minute TTL, every request pays the write. */
START_TEST(spaced_beyond_ttl_all_write)
{
    struct sums s = run_yaml(yaml(50, 301.0, SYS10K, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_double_eq_tol(s.write_usd, 50 * 1.25 * 10000 * 3e-6, 1e-12);
    ck_assert_double_eq(s.read_usd, 0);
}
END_TEST

/* Hits every 290 s keep refreshing the TTL, far past 300 s from the write. */
START_TEST(ttl_refresh_on_hit)
{
    struct sums s = run_yaml(yaml(20, 290.0, SYS10K, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    ck_assert_uint_eq(s.hits, 19);
}
END_TEST

/* A 1-hour breakpoint survives gaps a 5-minute one does not, at 2x to write. */
START_TEST(one_hour_breakpoint)
{
    struct sums s = run_yaml(yaml(10, 1800.0, "[{segment: system, tokens: 10000, stable: true, cache: 1h}]",
                                  "claude-sonnet-4-6", "{enabled: true}"),
                             NULL, 0);
    ck_assert_uint_eq(s.hits, 9);
    ck_assert_double_eq_tol(s.write_usd, 2.0 * 10000 * 3e-6, 1e-12);
}
END_TEST

/* Requests 1 ms apart: an entry is readable only once the writer's first
 * token is out (~1.5 s here), so the first burst all miss and all write. */
START_TEST(concurrent_misses_all_write)
{
    struct sums s = run_yaml(yaml(20, 0.001, SYS10K, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_double_eq_tol(s.write_usd, 20 * 1.25 * 10000 * 3e-6, 1e-12);
}
END_TEST

/* Below the model's minimum cacheable length (2,048 for Sonnet 4.6): not cached. */
START_TEST(minimum_length)
{
    struct sums s = run_yaml(yaml(30, 5.0, "[{segment: system, tokens: 2000, stable: true, cache: 5m}]",
                                  "claude-sonnet-4-6", "{enabled: true}"),
                             NULL, 0);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_double_eq(s.written, 0);
    s = run_yaml(yaml(30, 5.0, "[{segment: system, tokens: 2048, stable: true, cache: 5m}]", "claude-sonnet-4-6",
                      "{enabled: true}"),
                 NULL, 0);
    ck_assert_uint_eq(s.hits, 29);
}
END_TEST

/* A dynamic segment before the stable one makes everything after it uncacheable. */
START_TEST(dynamic_before_stable)
{
    struct sums s = run_yaml(yaml(30, 5.0,
                                  "[{segment: q, tokens: {dist: uniform, min: 10, max: 50}}, "
                                  "{segment: system, tokens: 10000, stable: true, cache: 5m}]",
                                  "claude-sonnet-4-6", "{enabled: true}"),
                             NULL, 0);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_double_eq(s.written, 0);
    s = run_yaml(yaml(30, 5.0,
                      "[{segment: system, tokens: 10000, stable: true, cache: 5m}, "
                      "{segment: q, tokens: {dist: uniform, min: 10, max: 50}}]",
                      "claude-sonnet-4-6", "{enabled: true}"),
                 NULL, 0);
    ck_assert_uint_eq(s.hits, 29);
}
END_TEST

/* The lesson's 81% cut: no write premium and a 0.9 hit rate make the cached
 * portion cost (1 - h) + h x 0.1 = 0.19 of uncached. */
START_TEST(lesson_81_percent)
{
    struct scn_override o[] = {{"deployments.api.price.cache_write_5m_mult", "1.0"}};
    struct sums s =
        run_yaml(yaml(1000, 3.0, "[{segment: doc, tokens: 5000, stable: true, cache: 5m, variants: 100}]",
                      "claude-sonnet-4-6", "{enabled: true, ttl_s: 86400}"),
                 o, 1);
    double h = s.cached / s.input;
    double ratio = (s.read_usd + s.write_usd + s.input_usd) / (s.input * 3e-6);
    ck_assert_double_eq_tol(ratio, (1 - h) + h * 0.1, 1e-12);
    ck_assert_double_eq_tol(h, 0.9, 1e-12); /* each of the 100 variants misses once */
    ck_assert_double_eq_tol(ratio, 0.19, 0.00005);
}
END_TEST

/* OpenAI: automatic from 1,024 tokens, hits in 128-token steps, no premium. */
START_TEST(openai_steps)
{
    struct sums s = run_yaml(yaml(10, 5.0,
                                  "[{segment: system, tokens: 1500, stable: true}, {segment: q, tokens: 20}]",
                                  "gpt-4.1", "{enabled: true}"),
                             NULL, 0);
    ck_assert_uint_eq(s.hits, 9);
    ck_assert_double_eq(s.cached, 9 * 1408.0);
    /* No premium: writing costs what input costs. */
    ck_assert_double_eq_tol(s.write_usd, 1500 * 2e-6, 1e-12);
    s = run_yaml(yaml(10, 5.0, "[{segment: system, tokens: 1000, stable: true}, {segment: q, tokens: 20}]",
                      "gpt-4.1", "{enabled: true}"),
                 NULL, 0);
    ck_assert_uint_eq(s.hits, 0);
}
END_TEST

/* With 4 shards chosen at random a request hits only its shard's entry: the
 * first request of each shard misses. */
START_TEST(shards_split_the_cache)
{
    struct sums one = run_yaml(yaml(200, 5.0, SYS10K, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    struct sums four =
        run_yaml(yaml(200, 5.0, SYS10K, "claude-sonnet-4-6", "{enabled: true, shards: 4}"), NULL, 0);
    ck_assert_uint_eq(one.hits, 199);
    ck_assert_uint_eq(four.hits, 196);
    struct sums hashed = run_yaml(
        yaml(200, 5.0, SYS10K, "claude-sonnet-4-6", "{enabled: true, shards: 4, shard_by: prefix_hash}"), NULL, 0);
    ck_assert_uint_eq(hashed.hits, 199);
}
END_TEST

/* The ideal cache on the Mooncake conversation trace reproduces the
 * independent replay (tests/tools/cache_replay.py) exactly. */
START_TEST(mooncake_ideal_matches_replay)
{
    const char *base = "name: mc\nseed: 1\nhorizon: {requests: 100000}\n"
                       "workload: {trace: {path: ../scenarios/traces/mooncake-fast25/conversation_trace.jsonl, "
                       "format: mooncake}}\n"
                       "deployments:\n  - {name: api, kind: api, model: claude-haiku-4-5, "
                       "prompt_cache: {enabled: true, semantics: ideal}}\n";
    struct scn_override cap[] = {{"deployments.api.prompt_cache.capacity_tokens", "3000000"}};
    struct scn_override ttl[] = {{"deployments.api.prompt_cache.ttl_s", "300"}};
    struct sums a = run_yaml(base, NULL, 0);
    struct sums b = run_yaml(base, cap, 1);
    struct sums c = run_yaml(base, ttl, 1);
    ck_assert_uint_eq(a.n, 12031);
    ck_assert_double_eq(a.input, 144793823.0);
    ck_assert_double_eq(a.cached, 54098411.0);
    ck_assert_double_eq(b.cached, 20087299.0);
    ck_assert_double_eq(c.cached, 42480677.0);
}
END_TEST

/* Gemini: explicit entries live their TTL and pay storage per token-hour:
 * one 10,000-token entry kept alive for the whole run by requests every
 * 60 s, then expiring an hour after the last use. */
START_TEST(gemini_storage_fee)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml(10, 60.0, SYS10K, "gemini-2.5-flash", "{enabled: true}"), NULL, 0);
    struct sums s;
    memset(&s, 0, sizeof s);
    struct sim_sink sink = {&s, collect, NULL, NULL, NULL};
    struct sim_world_stats st;
    struct sim_deployment_stats ds;
    tu_run_world(&sc, &sink, &st, &ds);
    ck_assert_uint_eq(s.hits, 9);
    /* Written at t = 60 s; it is still resident when the run ends (the last
     * request finishes shortly after t = 600 s): storage = 10,000 tokens x
     * the time since the write x $1 per MTok-hour. */
    double lived = st.now_s - 60.0;
    ck_assert_double_eq_tol(ds.cache_storage_usd, 10000 * lived / 3600.0 * 1.0e-6, 1e-12);
    /* Reads at the cached price: 0.075 / 0.30 of input. */
    ck_assert_double_eq_tol(s.read_usd, 9 * 10000 * 0.075e-6, 1e-12);
    sim_scenario_free(&sc);
}
END_TEST

/* Zipf popularity concentrates traffic on a few documents: more hits than
 * uniform popularity over the same 200 variants and TTL. */
START_TEST(zipf_variants_hit_more)
{
    const char *u = "[{segment: doc, tokens: 5000, stable: true, cache: 5m, variants: 200}]";
    const char *z = "[{segment: doc, tokens: 5000, stable: true, cache: 5m, variants: 200, popularity: zipf, zipf_s: 1.1}]";
    struct sums su = run_yaml(yaml(2000, 2.0, u, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    struct sums sz = run_yaml(yaml(2000, 2.0, z, "claude-sonnet-4-6", "{enabled: true}"), NULL, 0);
    ck_assert_msg(sz.hits > su.hits + 200, "zipf %zu hits, uniform %zu", sz.hits, su.hits);
}
END_TEST

struct turns {
    size_t n;
    struct sim_request_record r[4096];
};

static int keep(void *ctx, const struct sim_request_record *r)
{
    struct turns *t = ctx;
    if (t->n < 4096)
        t->r[t->n++] = *r;
    return 0;
}

static int find_turn(const struct turns *t, int64_t session, int32_t turn)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i].session == session && t->r[i].turn == turn)
            return (int)i;
    return -1;
}

/* Sessions: each turn's prompt is the previous prompt + the previous answer +
 * a new message; with a cache, turn t reads the previous turn's prompt and
 * writes the rest; turns follow the previous answer by the think time. */
START_TEST(sessions_grow_the_prefix)
{
    const char *y = "name: s\nseed: 8\nhorizon: {requests: 2000}\n"
                    "workload:\n  arrivals: {process: poisson, rate_per_s: 0.2}\n"
                    "  classes: [{name: chat, prompt: [{segment: system, tokens: 3000, stable: true, cache: 5m}, "
                    "{segment: m, tokens: {dist: lognormal, mean: 80, cv: 0.5}}], "
                    "output_tokens: {dist: lognormal, mean: 200, cv: 0.5}}]\n"
                    "  sessions: {turns: {dist: geometric, mean: 4}, think_time_s: {dist: exponential, mean: 20}}\n"
                    "deployments:\n  - {name: api, kind: api, model: claude-sonnet-4-6, prompt_cache: {enabled: true}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, y, NULL, 0);
    static struct turns t;
    t.n = 0;
    struct sim_sink sink = {&t, keep, NULL, NULL, NULL};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_uint_eq(t.n, 2000);
    size_t later = 0, sessions = 0;
    double think = 0;
    for (size_t i = 0; i < t.n; i++) {
        const struct sim_request_record *r = &t.r[i];
        ck_assert_int_ge(r->session, 0);
        ck_assert_int_ge(r->turn, 1);
        if (r->turn == 1) {
            sessions++;
            continue;
        }
        int p = find_turn(&t, r->session, r->turn - 1);
        ck_assert_int_ge(p, 0);
        const struct sim_request_record *q = &t.r[p];
        /* prompt = previous prompt + previous answer + a message of >= 1 token */
        ck_assert_uint_gt(r->input_tokens, q->input_tokens + q->output_tokens);
        ck_assert_double_ge(r->arrival_s, q->done_s);
        think += r->arrival_s - q->done_s;
        later++;
        /* Within the 5-minute TTL the previous prompt is read, the rest written. */
        if (r->arrival_s - q->first_token_s <= 300) {
            ck_assert_uint_eq(r->cached_tokens, q->input_tokens);
            ck_assert_uint_eq(r->cache_write_tokens, r->input_tokens - q->input_tokens);
        }
    }
    /* Geometric turns with mean 4 (sd 3.46; ~500 sessions: standard error
     * 0.155, 4 standard errors 0.62); think time mean 20 s (standard error
     * 20 / sqrt(1500) ~ 0.52 s, 4 standard errors 2.1). */
    ck_assert_double_eq_tol((double)t.n / sessions, 4.0, 0.62);
    ck_assert_double_eq_tol(think / later, 20.0, 2.1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prompt_cache");
    TCase *tc = tcase_create("prompt_cache");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, reused_prompt_inside_ttl);
    tcase_add_test(tc, spaced_beyond_ttl_all_write);
    tcase_add_test(tc, ttl_refresh_on_hit);
    tcase_add_test(tc, one_hour_breakpoint);
    tcase_add_test(tc, concurrent_misses_all_write);
    tcase_add_test(tc, minimum_length);
    tcase_add_test(tc, dynamic_before_stable);
    tcase_add_test(tc, lesson_81_percent);
    tcase_add_test(tc, openai_steps);
    tcase_add_test(tc, shards_split_the_cache);
    tcase_add_test(tc, mooncake_ideal_matches_replay);
    tcase_add_test(tc, sessions_grow_the_prefix);
    tcase_add_test(tc, gemini_storage_fee);
    tcase_add_test(tc, zipf_variants_hit_more);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
