/* The prefix cache: sliding TTL, expiry after an idle gap, ready times, LRU
 * capacity, wasted writes, storage token-seconds, and the hash table under
 * random operations against a brute-force reference. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "llmsim/cache.h"
#include "llmsim/error.h"
#include "testutil.h"

START_TEST(ttl_slides_on_hit)
{
    struct sim_cache *c = sim_cache_alloc(INFINITY);
    double tok;
    ck_assert_int_eq(sim_cache_put(c, 7, 1000, 300, 0.0, 0.0, 0.00375), 0);
    /* Hits at 290 s intervals keep it alive well past 300 s. */
    for (double t = 290; t < 3000; t += 290) {
        ck_assert_msg(sim_cache_peek(c, 7, t, &tok), "expired at %g", t);
        ck_assert_double_eq(tok, 1000);
        sim_cache_touch(c, 7, t);
    }
    sim_cache_free(c);
}
END_TEST

START_TEST(expires_after_idle_gap)
{
    struct sim_cache *c = sim_cache_alloc(INFINITY);
    double tok;
    ck_assert_int_eq(sim_cache_put(c, 7, 1000, 300, 10.0, 10.0, 0.5), 0);
    ck_assert(sim_cache_peek(c, 7, 310.0, &tok)); /* last use + TTL: still readable */
    ck_assert(!sim_cache_peek(c, 7, 310.001, &tok));
    struct sim_cache_stats st;
    sim_cache_stats(c, 400, &st);
    ck_assert_uint_eq(st.expirations, 1);
    ck_assert_uint_eq(st.unread_leaves, 1);
    ck_assert_double_eq(st.unread_write_usd, 0.5);
    /* It lived 300 s: 1000 tokens x 300 s. */
    ck_assert_double_eq_tol(st.token_seconds, 300000, 1e-6);
    ck_assert_uint_eq(st.entries, 0);
    sim_cache_free(c);
}
END_TEST

START_TEST(readable_only_from_ready_time)
{
    struct sim_cache *c = sim_cache_alloc(INFINITY);
    double tok;
    ck_assert_int_eq(sim_cache_put(c, 1, 500, 300, 0.0, 0.8, 0), 0);
    ck_assert(!sim_cache_peek(c, 1, 0.5, &tok));
    ck_assert(sim_cache_peek(c, 1, 0.8, &tok));
    /* A second identical write before that does not delay it, an earlier ready time advances it. */
    ck_assert_int_eq(sim_cache_put(c, 2, 500, 300, 0.0, 0.8, 0), 0);
    ck_assert_int_eq(sim_cache_put(c, 2, 500, 300, 0.1, 0.6, 0), 0);
    ck_assert(sim_cache_peek(c, 2, 0.6, &tok));
    sim_cache_free(c);
}
END_TEST

START_TEST(lru_capacity)
{
    struct sim_cache *c = sim_cache_alloc(3000);
    double tok;
    ck_assert_int_eq(sim_cache_put(c, 1, 1000, INFINITY, 1, 1, 0), 0);
    ck_assert_int_eq(sim_cache_put(c, 2, 1000, INFINITY, 2, 2, 0), 0);
    ck_assert_int_eq(sim_cache_put(c, 3, 1000, 3600, 3, 3, 0), 0);
    ck_assert(sim_cache_peek(c, 1, 4, &tok));
    sim_cache_touch(c, 1, 4); /* 2 is now the least recently used */
    ck_assert_int_eq(sim_cache_put(c, 4, 1500, INFINITY, 5, 5, 0), 0);
    /* 1,500 more tokens: 2 goes, then 3 (last used at 3 < 4). */
    ck_assert(!sim_cache_peek(c, 2, 5, &tok));
    ck_assert(!sim_cache_peek(c, 3, 5, &tok));
    ck_assert(sim_cache_peek(c, 1, 5, &tok));
    ck_assert(sim_cache_peek(c, 4, 5, &tok));
    /* Larger than the whole capacity: not stored, nothing evicted. */
    ck_assert_int_eq(sim_cache_put(c, 5, 4000, INFINITY, 6, 6, 0), 0);
    ck_assert(!sim_cache_peek(c, 5, 6, &tok));
    struct sim_cache_stats st;
    sim_cache_stats(c, 6, &st);
    ck_assert_double_eq(st.tokens, 2500);
    ck_assert_uint_eq(st.evictions, 2);
    sim_cache_free(c);
}
END_TEST

START_TEST(too_many_ttls)
{
    struct sim_cache *c = sim_cache_alloc(INFINITY);
    for (int k = 0; k < SIM_CACHE_MAX_TTLS; k++)
        ck_assert_int_eq(sim_cache_put(c, (uint64_t)k, 10, 100.0 + k, 0, 0, 0), 0);
    ck_assert_int_eq(sim_cache_put(c, 99, 10, 1.5, 0, 0, 0), LLMSIM_ELIMIT);
    sim_cache_free(c);
}
END_TEST

/* 2 x 10^5 random puts, touches and peeks with two TTLs and a capacity,
 * against a brute-force reference of the same rules. */
START_TEST(random_against_reference)
{
    enum { N = 3000 };
    struct ref {
        int live;
        double tokens, last, ttl;
    } ref[N] = {{0}};
    struct sim_cache *c = sim_cache_alloc(40000);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 4242);
    double t = 0, used = 0;
    for (int op = 0; op < 200000; op++) {
        t += 0.01 + gsl_rng_uniform(r) * 0.2;
        uint64_t k = gsl_rng_uniform_int(r, N);
        /* reference expiry */
        for (int i = 0; i < N; i++)
            if (ref[i].live && ref[i].last + ref[i].ttl < t) {
                ref[i].live = 0;
                used -= ref[i].tokens;
            }
        double tok;
        int got = sim_cache_peek(c, k, t, &tok);
        ck_assert_int_eq(got, ref[k].live);
        if (gsl_rng_uniform(r) < 0.5) {
            if (got) {
                sim_cache_touch(c, k, t);
                ref[k].last = t;
            }
        } else {
            double tokens = 100 + (double)(k % 7) * 150;
            double ttl = (k % 2) ? 30.0 : 90.0;
            ck_assert_int_eq(sim_cache_put(c, k, tokens, ttl, t, t, 0), 0);
            if (ref[k].live) {
                ref[k].last = t;
                ref[k].ttl = ttl;
            } else {
                while (used + tokens > 40000) {
                    int v = -1;
                    for (int i = 0; i < N; i++)
                        if (ref[i].live && (v < 0 || ref[i].last < ref[v].last))
                            v = i;
                    ref[v].live = 0;
                    used -= ref[v].tokens;
                }
                ref[k] = (struct ref){1, tokens, t, ttl};
                used += tokens;
            }
        }
    }
    struct sim_cache_stats st;
    sim_cache_stats(c, t, &st);
    ck_assert_double_eq_tol(st.tokens, used, 1e-6);
    gsl_rng_free(r);
    sim_cache_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ttl_slides_on_hit);
    tcase_add_test(tc, expires_after_idle_gap);
    tcase_add_test(tc, readable_only_from_ready_time);
    tcase_add_test(tc, lru_capacity);
    tcase_add_test(tc, too_many_ttls);
    tcase_add_test(tc, random_against_reference);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
