/* Named random streams (sim/src/rng.c): seed derivation as documented in
 * llmsim/rng.h, never 0, independent of the environment. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "llmsim/rng.h"
#include "testutil.h"

/* An independent rendering of the documented derivation, so the test pins
 * the contract rather than the code. */
static uint64_t ref_fnv1a64(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static uint64_t ref_mix(uint64_t seed, uint32_t rep, const char *name)
{
    uint64_t z = sim_splitmix64(seed);
    z = sim_splitmix64(z ^ rep);
    return sim_splitmix64(z ^ ref_fnv1a64(name));
}

/* Multiplicative inverse of an odd a modulo 2^64 (Newton: each step doubles
 * the number of correct low bits, starting from 3 for a * a == 1 mod 8). */
static uint64_t inv_mod64(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 5; i++)
        x *= 2 - a * x;
    return x;
}

/* Undoes z ^= z >> k. */
static uint64_t unxorshift(uint64_t z, int k)
{
    uint64_t x = z;
    for (int i = 0; i < 64 / k + 1; i++)
        x = z ^ (x >> k);
    return x;
}

/* Inverse of sim_splitmix64, to craft inputs whose mix is a chosen value. */
static uint64_t inv_splitmix64(uint64_t z)
{
    z = unxorshift(z, 31);
    z *= inv_mod64(UINT64_C(0x94d049bb133111eb));
    z = unxorshift(z, 27);
    z *= inv_mod64(UINT64_C(0xbf58476d1ce4e5b9));
    z = unxorshift(z, 30);
    return z - UINT64_C(0x9e3779b97f4a7c15);
}

START_TEST(test_splitmix_vectors)
{
    /* First outputs of SplitMix64 from state 0 (the published reference
     * sequence of Vigna's splitmix64.c starts 0xe220a8397b1dcdaf). */
    ck_assert_uint_eq(sim_splitmix64(0), UINT64_C(0xe220a8397b1dcdaf));
    ck_assert_uint_eq(sim_splitmix64(UINT64_C(0x9e3779b97f4a7c15)), UINT64_C(0x6e789e6aa1b965f4));
    const uint64_t xs[] = {0, 1, 42, UINT64_C(0xdeadbeefcafebabe), UINT64_MAX};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        ck_assert_uint_eq(inv_splitmix64(sim_splitmix64(xs[i])), xs[i]);
}
END_TEST

START_TEST(test_seed_matches_contract)
{
    const char *names[] = {"", "arrivals", "lengths/lookup", "routing", "latency/sonnet/0"};
    for (uint64_t seed = 0; seed < 5; seed++)
        for (uint32_t rep = 0; rep < 4; rep++)
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                uint64_t z = ref_mix(seed * 7919 + 42, rep, names[i]);
                unsigned long want = (unsigned long)(z & 0xffffffffu);
                ck_assert_uint_ne(want, 0); /* none of these hit the substitute */
                ck_assert_uint_eq(sim_stream_seed(seed * 7919 + 42, rep, names[i]), want);
            }
}
END_TEST

START_TEST(test_seed_never_zero)
{
    /* Craft scenario seeds whose mixed value has its low 32 bits all zero:
     * run the derivation backwards from the target. */
    const char *names[] = {"arrivals", "", "quality/complex"};
    const uint64_t targets[] = {0, UINT64_C(0x0000000100000000), UINT64_C(0xffffffff00000000)};
    unsigned long first = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (size_t j = 0; j < sizeof targets / sizeof targets[0]; j++) {
            uint32_t rep = (uint32_t)(3 * i + j);
            uint64_t z2 = inv_splitmix64(targets[j]) ^ ref_fnv1a64(names[i]);
            uint64_t z1 = inv_splitmix64(z2) ^ rep;
            uint64_t seed = inv_splitmix64(z1);
            ck_assert_uint_eq(ref_mix(seed, rep, names[i]), targets[j]);
            unsigned long s = sim_stream_seed(seed, rep, names[i]);
            ck_assert_uint_ne(s, 0);
            ck_assert_uint_le(s, 0xffffffffUL);
            if (first == 0)
                first = s;
            ck_assert_uint_eq(s, first); /* one fixed substitute */

            /* And the generator really is seeded with it, not with 4357. */
            gsl_rng *a = sim_rng_alloc(seed, rep, names[i]);
            gsl_rng *b = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng *c = gsl_rng_alloc(gsl_rng_mt19937);
            ck_assert_ptr_nonnull(a);
            ck_assert_ptr_nonnull(b);
            ck_assert_ptr_nonnull(c);
            gsl_rng_set(b, s);
            gsl_rng_set(c, 4357);
            unsigned long va = gsl_rng_get(a);
            ck_assert_uint_eq(va, gsl_rng_get(b));
            ck_assert_uint_ne(va, gsl_rng_get(c));
            gsl_rng_free(a);
            gsl_rng_free(b);
            gsl_rng_free(c);
        }
    }
    /* Ordinary inputs, including seed 0 and replication 0, are never 0 either. */
    for (uint64_t seed = 0; seed < 2000; seed++)
        ck_assert_uint_ne(sim_stream_seed(seed, 0, "arrivals"), 0);
}
END_TEST

START_TEST(test_names_distinct)
{
    /* Many stream names of one scenario: all seeds distinct (a 32-bit
     * collision among 400 names has probability ~2e-5, and the inputs are
     * fixed, so this is deterministic). */
    enum { N = 400 };
    unsigned long seeds[N];
    char name[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "%s/%d", i % 2 ? "lengths" : "arrivals", i / 2);
        seeds[i] = sim_stream_seed(42, 0, name);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(seeds[i], seeds[j]);
    }
    /* Names that differ in one character, in order or only in case. */
    ck_assert_uint_ne(sim_stream_seed(42, 0, "ab"), sim_stream_seed(42, 0, "ba"));
    ck_assert_uint_ne(sim_stream_seed(42, 0, "Arrivals"), sim_stream_seed(42, 0, "arrivals"));
    ck_assert_uint_ne(sim_stream_seed(42, 0, ""), sim_stream_seed(42, 0, "a"));
}
END_TEST

START_TEST(test_same_inputs_same_sequence)
{
    gsl_rng *a = sim_rng_alloc(2385, 3, "latency/sonnet");
    gsl_rng *b = sim_rng_alloc(2385, 3, "latency/sonnet");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(gsl_rng_name(a), "mt19937");
    for (int i = 0; i < 10000; i++)
        ck_assert_uint_eq(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
}
END_TEST

START_TEST(test_replication_changes_seed)
{
    for (uint32_t rep = 0; rep < 200; rep++) {
        ck_assert_uint_ne(sim_stream_seed(42, rep, "arrivals"),
                          sim_stream_seed(42, rep + 1, "arrivals"));
        ck_assert_uint_ne(sim_stream_seed(42, rep, "arrivals"),
                          sim_stream_seed(43, rep, "arrivals"));
    }
    gsl_rng *a = sim_rng_alloc(42, 0, "arrivals");
    gsl_rng *b = sim_rng_alloc(42, 1, "arrivals");
    ck_assert_uint_ne(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
}
END_TEST

START_TEST(test_environment_ignored)
{
    enum { K = 64 };
    unsigned long before[K];
    unsigned long seed_before = sim_stream_seed(7, 0, "arrivals");
    gsl_rng *r = sim_rng_alloc(7, 0, "arrivals");
    ck_assert_ptr_nonnull(r);
    for (int i = 0; i < K; i++)
        before[i] = gsl_rng_get(r);
    gsl_rng_free(r);

    ck_assert_int_eq(setenv("GSL_RNG_SEED", "7", 1), 0);
    ck_assert_int_eq(setenv("GSL_RNG_TYPE", "ranlux", 1), 0);
    /* Even if some other code in the process reads the environment into
     * GSL's globals, the streams must not move. */
    gsl_rng_env_setup();
    ck_assert_uint_eq(sim_stream_seed(7, 0, "arrivals"), seed_before);
    r = sim_rng_alloc(7, 0, "arrivals");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(gsl_rng_name(r), "mt19937");
    for (int i = 0; i < K; i++)
        ck_assert_uint_eq(gsl_rng_get(r), before[i]);
    gsl_rng_free(r);
    unsetenv("GSL_RNG_SEED");
    unsetenv("GSL_RNG_TYPE");
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_splitmix_vectors);
    tcase_add_test(tc, test_seed_matches_contract);
    tcase_add_test(tc, test_seed_never_zero);
    tcase_add_test(tc, test_names_distinct);
    tcase_add_test(tc, test_same_inputs_same_sequence);
    tcase_add_test(tc, test_replication_changes_seed);
    tcase_add_test(tc, test_environment_ignored);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(rng_suite());
}
