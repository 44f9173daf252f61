/* llmsim's MT19937 gsl_rng type and its inline draws (models/src/mt19937.c,
 * llmsim/mt19937.h): the same words, doubles and variates as GSL's mt19937,
 * bit for bit and draw for draw.
 *
 * Every comparison is against gsl_rng_mt19937 seeded alike, over whole
 * sequences (memcmp of the doubles), and ends by checking that both
 * generators stand at the same word, so a variate that consumed one word
 * more or less than GSL's would fail even where its values happened to
 * agree. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "llmsim/dist.h"
#include "llmsim/error.h"
#include "llmsim/mt19937.h"
#include "llmsim/rng.h"
#include "testutil.h"

#define WORDS 100000   /* words and doubles per seed */
#define VARIATES 1000000 /* draws per parameter set of the inline variates */

/* 0 (GSL's default 4357), 1, the default itself, the largest 32-bit seed,
 * seeds beyond 32 bits (2^32 is not 0 to GSL, but its low word is), and
 * some arbitrary ones. */
static const unsigned long seeds[] = {
    0UL,          1UL,          4357UL,       0xffffffffUL, 0x100000000UL, 0x123456789abcdefUL,
    2385UL,       0x9e3779b9UL, 0x7fffffffUL, 0x80000000UL, 31337UL,       0xdeadbeefUL,
};
#define N_SEEDS (sizeof seeds / sizeof seeds[0])

static gsl_rng *ours(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(mdl_mt19937);
    ck_assert_ptr_nonnull(r);
    gsl_rng_set(r, seed);
    return r;
}

static gsl_rng *gsls(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(r);
    gsl_rng_set(r, seed);
    return r;
}

/* Both generators are at the same point of the same sequence. */
static void same_position(gsl_rng *a, gsl_rng *b)
{
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(gsl_rng_get(a), gsl_rng_get(b));
}

static void same_doubles(const double *x, const double *y, size_t n, const char *what)
{
    if (memcmp(x, y, n * sizeof *x) == 0)
        return;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&x[i], &y[i], sizeof x[i]) == 0, "%s: draw %zu: %.17g, GSL %.17g",
                      what, i, x[i], y[i]);
}

START_TEST(test_type_fields)
{
    ck_assert_str_eq(mdl_mt19937->name, "mt19937");
    ck_assert_uint_eq(mdl_mt19937->max, gsl_rng_mt19937->max);
    ck_assert_uint_eq(mdl_mt19937->min, gsl_rng_mt19937->min);
    gsl_rng *r = sim_rng_alloc(1, 0, "arrivals");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(r->type, &mdl_mt19937_type);
    ck_assert_ptr_eq(mdl_mt_of(r), r->state);
    gsl_rng_free(r);
    gsl_rng *g = gsls(1);
    ck_assert_ptr_null(mdl_mt_of(g));
    gsl_rng_free(g);
}
END_TEST

START_TEST(test_words)
{
    for (size_t i = 0; i < N_SEEDS; i++) {
        gsl_rng *a = ours(seeds[i]), *b = gsls(seeds[i]);
        for (int k = 0; k < WORDS; k++) {
            unsigned long wa = gsl_rng_get(a), wb = gsl_rng_get(b);
            ck_assert_msg(wa == wb, "seed %lu word %d: %lu, GSL %lu", seeds[i], k, wa, wb);
        }
        /* The inline word, on the same stream. */
        struct mdl_mt_state *s = mdl_mt_of(a);
        for (int k = 0; k < WORDS; k++)
            ck_assert_uint_eq(mdl_mt_word(s), gsl_rng_get(b));
        same_position(a, b);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
}
END_TEST

START_TEST(test_doubles)
{
    double *x = malloc(WORDS * sizeof *x), *y = malloc(WORDS * sizeof *y);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < N_SEEDS; i++) {
        gsl_rng *a = ours(seeds[i]), *b = gsls(seeds[i]);
        for (int k = 0; k < WORDS; k++) {
            x[k] = gsl_rng_uniform(a);
            y[k] = gsl_rng_uniform(b);
        }
        same_doubles(x, y, WORDS, "gsl_rng_uniform");
        for (int k = 0; k < WORDS; k++) {
            x[k] = mdl_rng_uniform(a);
            y[k] = gsl_rng_uniform(b);
        }
        same_doubles(x, y, WORDS, "mdl_rng_uniform");
        for (int k = 0; k < WORDS; k++) {
            x[k] = gsl_rng_uniform_pos(a);
            y[k] = gsl_rng_uniform_pos(b);
        }
        same_doubles(x, y, WORDS, "gsl_rng_uniform_pos");
        const unsigned long ns[] = {1, 2, 3, 16, 1000, 0x80000001UL, 0xffffffffUL};
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (int k = 0; k < WORDS / 10; k++)
                ck_assert_uint_eq(gsl_rng_uniform_int(a, ns[j]), gsl_rng_uniform_int(b, ns[j]));
        same_position(a, b);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
    free(x);
    free(y);
}
END_TEST

/* The inline uniform on a generator of GSL's own type is gsl_rng_uniform. */
START_TEST(test_uniform_other_type)
{
    gsl_rng *a = gsls(99), *b = gsls(99);
    for (int k = 0; k < WORDS; k++) {
        double x = mdl_rng_uniform(a), y = gsl_rng_uniform(b);
        ck_assert(memcmp(&x, &y, sizeof x) == 0);
    }
    same_position(a, b);
    gsl_rng_free(a);
    gsl_rng_free(b);
}
END_TEST

/* Copies of the state continue the sequence, mid-block and at its end. */
START_TEST(test_clone_memcpy)
{
    gsl_rng *a = ours(7), *b = gsls(7);
    for (int k = 0; k < 1000; k++)
        ck_assert_uint_eq(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng *c = gsl_rng_clone(a);
    ck_assert_ptr_nonnull(c);
    gsl_rng *d = ours(8);
    ck_assert_int_eq(gsl_rng_memcpy(d, a), 0);
    for (int k = 0; k < 2000; k++) {
        unsigned long w = gsl_rng_get(b);
        ck_assert_uint_eq(gsl_rng_get(a), w);
        ck_assert_uint_eq(gsl_rng_get(c), w);
        ck_assert_uint_eq(gsl_rng_get(d), w);
    }
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
    gsl_rng_free(d);
}
END_TEST

/* Reseeding overwrites a used state completely. */
START_TEST(test_reseed)
{
    gsl_rng *a = ours(5), *b = gsls(6);
    for (int k = 0; k < 777; k++)
        (void)gsl_rng_get(a);
    gsl_rng_set(a, 6);
    for (int k = 0; k < 5000; k++)
        ck_assert_uint_eq(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
}
END_TEST

/* One variate: ours or GSL's, parameters p. */
typedef double variate_fn(const gsl_rng *r, const double *p);

static double our_exponential(const gsl_rng *r, const double *p)
{
    return mdl_ran_exponential(r, p[0]);
}

static double gsl_exponential(const gsl_rng *r, const double *p)
{
    return gsl_ran_exponential(r, p[0]);
}

static double our_lognormal(const gsl_rng *r, const double *p)
{
    return mdl_ran_lognormal(r, p[0], p[1]);
}

static double gsl_lognormal(const gsl_rng *r, const double *p)
{
    return gsl_ran_lognormal(r, p[0], p[1]);
}

/* VARIATES draws of ours on our generator against GSL's on GSL's, for each
 * of n parameter sets of 2 values, each from its own seed. */
static void same_variates(variate_fn *mine, variate_fn *theirs, const double (*params)[2], size_t n,
                          const char *what)
{
    double *x = malloc(VARIATES * sizeof *x), *y = malloc(VARIATES * sizeof *y);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t j = 0; j < n; j++) {
        unsigned long seed = seeds[(3 * j + 1) % N_SEEDS];
        gsl_rng *a = ours(seed), *b = gsls(seed);
        for (int k = 0; k < VARIATES; k++) {
            x[k] = mine(a, params[j]);
            y[k] = theirs(b, params[j]);
        }
        same_doubles(x, y, VARIATES, what);
        same_position(a, b);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
    free(x);
    free(y);
}

/* Means (the second value unused): 1, the bench's interarrival time, a
 * token count, large, and tiny. */
static const double exp_params[][2] = {{1.0, 0}, {2.0857e-3, 0}, {250.0, 0}, {1.0e6, 0}, {1.0e-300, 0}};

START_TEST(test_exponential)
{
    same_variates(our_exponential, gsl_exponential, exp_params,
                  sizeof exp_params / sizeof exp_params[0], "mdl_ran_exponential");
}
END_TEST

/* (zeta, sigma) pairs: the bench's prompt and output lengths (mean 1000 and
 * 250, cv 0.8), a standard one, a narrow and a very wide one. */
static const double logn_params[][2] = {
    {6.6629319434, 0.7033465885}, {5.2766376, 0.7033465885}, {0.0, 1.0}, {-3.0, 0.05}, {2.0, 3.0},
};

START_TEST(test_lognormal)
{
    same_variates(our_lognormal, gsl_lognormal, logn_params,
                  sizeof logn_params / sizeof logn_params[0], "mdl_ran_lognormal");
}
END_TEST

/* Mixed, as in a simulation: the variates and the plain draws interleaved
 * on one stream, and the inline variates on GSL's own type too. */
START_TEST(test_interleaved)
{
    gsl_rng *a = ours(2385), *b = gsls(2385), *c = gsls(2385);
    for (int k = 0; k < VARIATES / 4; k++) {
        double x[4], y[4], z[4];
        x[0] = mdl_ran_exponential(a, 0.002);
        y[0] = gsl_ran_exponential(b, 0.002);
        z[0] = mdl_ran_exponential(c, 0.002);
        x[1] = mdl_ran_lognormal(a, 6.66, 0.70);
        y[1] = gsl_ran_lognormal(b, 6.66, 0.70);
        z[1] = mdl_ran_lognormal(c, 6.66, 0.70);
        x[2] = mdl_rng_uniform(a);
        y[2] = gsl_rng_uniform(b);
        z[2] = mdl_rng_uniform(c);
        x[3] = (double)gsl_rng_uniform_int(a, 16);
        y[3] = (double)gsl_rng_uniform_int(b, 16);
        z[3] = (double)gsl_rng_uniform_int(c, 16);
        ck_assert(memcmp(x, y, sizeof x) == 0);
        ck_assert(memcmp(z, y, sizeof z) == 0);
    }
    for (int i = 0; i < 4; i++) {
        unsigned long w = gsl_rng_get(b);
        ck_assert_uint_eq(gsl_rng_get(a), w);
        ck_assert_uint_eq(gsl_rng_get(c), w);
    }
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
}
END_TEST

/* GSL's samplers on our type, through its function pointers. */
START_TEST(test_gsl_samplers)
{
    enum { K = 100000 };
    for (int which = 0; which < 8; which++) {
        gsl_rng *a = ours(seeds[which % N_SEEDS]), *b = gsls(seeds[which % N_SEEDS]);
        for (int k = 0; k < K; k++) {
            double x = 0, y = 0;
            switch (which) {
            case 0:
                x = gsl_ran_gamma(a, 1.5625, 640.0);
                y = gsl_ran_gamma(b, 1.5625, 640.0);
                break;
            case 1:
                x = gsl_ran_gamma(a, 0.3, 2.0); /* shape < 1: a second uniform */
                y = gsl_ran_gamma(b, 0.3, 2.0);
                break;
            case 2:
                x = gsl_ran_gaussian(a, 3.0);
                y = gsl_ran_gaussian(b, 3.0);
                break;
            case 3:
                x = gsl_ran_gaussian_ziggurat(a, 3.0);
                y = gsl_ran_gaussian_ziggurat(b, 3.0);
                break;
            case 4:
                x = (double)gsl_ran_geometric(a, 0.01);
                y = (double)gsl_ran_geometric(b, 0.01);
                break;
            case 5:
                x = gsl_ran_flat(a, -2.0, 7.0);
                y = gsl_ran_flat(b, -2.0, 7.0);
                break;
            case 6:
                x = (double)gsl_ran_poisson(a, 37.5);
                y = (double)gsl_ran_poisson(b, 37.5);
                break;
            case 7:
                x = gsl_ran_lognormal(a, 1.0, 0.5);
                y = gsl_ran_lognormal(b, 1.0, 0.5);
                break;
            }
            ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "sampler %d draw %d: %.17g, GSL %.17g",
                          which, k, x, y);
        }
        same_position(a, b);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
}
END_TEST

/* mdl_dist_sample gives the same draws on either generator, for the kinds
 * that draw inline and for the others. */
START_TEST(test_dist_sample)
{
    enum { K = 200000 };
    const enum mdl_dist_kind kinds[] = {MDL_DIST_EXPONENTIAL, MDL_DIST_LOGNORMAL, MDL_DIST_GAMMA,
                                        MDL_DIST_NORMAL, MDL_DIST_GEOMETRIC};
    for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
        struct mdl_dist d;
        mdl_dist_constant(&d, 250.0);
        d.kind = kinds[j];
        d.sd = 200.0;
        d.max = 600.0;
        struct llmsim_error e;
        llmsim_error_clear(&e);
        ck_assert_int_eq(mdl_dist_prepare(&d, &e), 0);
        gsl_rng *a = ours(4357), *b = gsls(0);
        for (int k = 0; k < K; k++) {
            double x = mdl_dist_sample(&d, a), y = mdl_dist_sample(&d, b);
            ck_assert(memcmp(&x, &y, sizeof x) == 0);
        }
        same_position(a, b);
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
    const double values[] = {1, 2, 3, 5, 8, 13};
    struct mdl_dist d;
    mdl_dist_constant(&d, 0.0);
    struct llmsim_error e;
    llmsim_error_clear(&e);
    ck_assert_int_eq(mdl_dist_empirical(&d, 6, values, NULL, &e), 0);
    ck_assert_int_eq(mdl_dist_prepare(&d, &e), 0);
    gsl_rng *a = ours(11), *b = gsls(11);
    for (int k = 0; k < K; k++)
        ck_assert(mdl_dist_sample(&d, a) == mdl_dist_sample(&d, b));
    same_position(a, b);
    gsl_rng_free(a);
    gsl_rng_free(b);
    mdl_dist_free(&d);
}
END_TEST

static Suite *rng_mt_suite(void)
{
    Suite *s = suite_create("rng_mt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_type_fields);
    tcase_add_test(tc, test_words);
    tcase_add_test(tc, test_doubles);
    tcase_add_test(tc, test_uniform_other_type);
    tcase_add_test(tc, test_clone_memcpy);
    tcase_add_test(tc, test_reseed);
    tcase_add_test(tc, test_exponential);
    tcase_add_test(tc, test_lognormal);
    tcase_add_test(tc, test_interleaved);
    tcase_add_test(tc, test_gsl_samplers);
    tcase_add_test(tc, test_dist_sample);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(rng_mt_suite());
}
