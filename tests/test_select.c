/* Radix selection of order statistics (analysis/src/select.h) against a
 * comparison sort: every rank (or a dense set) of random, heavily tied,
 * signed-zero, extreme-exponent, near-equal and tiny inputs, alone and as
 * parts with pooled ranks, bit for bit (-0.0 read as +0.0). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"

#include "../analysis/src/select.h" /* private to analysis/: tested here */

static uint64_t rng_state;

/* splitmix64 (Steele, Lea and Flood, OOPSLA 2014). */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) * 0x1p-53;
}

enum { D_UNIFORM, D_TIED, D_ZEROS, D_ZEROPOS, D_ZERONEG, D_EXTREME, D_NEAR, D_LOGNORMAL, D_INTEGER, D_SORTED, D_SAME,
       D_COUNT };

/* A finite value of distribution kind d. */
static double draw(int d, size_t i)
{
    switch (d) {
    case D_UNIFORM:
        return (unif() - 0.5) * 2e3;
    case D_TIED: {
        static const double v[] = {0.0, -0.0, 1.0, 2.0, 3.0, -1.0};
        return v[rnd() % 6];
    }
    case D_ZEROS: { /* signed zeros among small numbers of both signs */
        uint64_t r = rnd() % 8;
        return r < 3 ? 0.0 : r < 6 ? -0.0 : r == 6 ? -DBL_MIN * unif() : DBL_MIN * unif();
    }
    case D_ZEROPOS: { /* +0.0 first, so a running minimum is +0.0 with -0.0s: keys a step apart */
        const double v[] = {0.0, -0.0, nextafter(0.0, 1.0)};
        return i == 0 ? 0.0 : v[rnd() % 3];
    }
    case D_ZERONEG: { /* -0.0 first, so a running maximum is -0.0 with +0.0s */
        const double v[] = {0.0, -0.0, nextafter(0.0, -1.0)};
        return i == 0 ? -0.0 : v[rnd() % 3];
    }
    case D_EXTREME: { /* any finite bit pattern: subnormals to DBL_MAX, both signs */
        for (;;) {
            uint64_t u = rnd();
            double x;
            memcpy(&x, &u, sizeof x);
            if (isfinite(x))
                return x;
        }
    }
    case D_NEAR: { /* a few ulps apart, with one far value: deep recursion */
        if (i == 0)
            return 1e300;
        return nextafter(1.0, 2.0) + (double)(rnd() % 1000) * DBL_EPSILON;
    }
    case D_LOGNORMAL: /* skewed like latencies */
        return exp(3.0 * (unif() + unif() + unif() - 1.5));
    case D_INTEGER:
        return (double)(rnd() % 2000);
    case D_SORTED:
        return (double)i * 0.5 - 10.0;
    default:
        return -2.5;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* x[0..n-1] sorted with every zero +0.0: the order statistics expected. */
static double *sorted_copy(const double *x, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        s[i] = x[i] == 0 ? 0.0 : x[i];
    qsort(s, n, sizeof *s, cmp_double);
    return s;
}

/* Same value, same bits (so -0.0 read where +0.0 is expected fails). */
static void ck_same(double got, double want, size_t rank)
{
    ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "rank %zu: got %a, want %a", rank, got,
                  want);
}

/* Checks ana_select over ranks r, r + step, ... of x[0..n-1] in calls of up
 * to ANA_SEL_RANKS ranks, the last of each call repeated once. */
static void check_select(struct ana_sel *sc, const double *x, size_t n, size_t step)
{
    double *s = sorted_copy(x, n);
    for (size_t r = 0; r < n;) {
        size_t rank[ANA_SEL_RANKS], m = 0;
        for (; m < ANA_SEL_RANKS - 1 && r < n; r += step)
            rank[m++] = r;
        rank[m] = rank[m - 1];
        m++;
        double out[ANA_SEL_RANKS];
        ck_assert_int_eq(ana_select(sc, x, n, rank, m, out), 0);
        for (size_t i = 0; i < m; i++)
            ck_same(out[i], s[rank[i]], rank[i]);
    }
    if (n > 0 && (n - 1) % step != 0) { /* the largest */
        size_t last = n - 1;
        double v;
        ck_assert_int_eq(ana_select(sc, x, n, &last, 1, &v), 0);
        ck_same(v, s[last], last);
    }
    free(s);
}

static const size_t sizes[] = {1, 2, 3, 5, 31, 32, 33, 64, 100, 255, 256, 257, 1000, 4097, 20000};

START_TEST(test_every_rank)
{
    rng_state = 12345;
    struct ana_sel sc = {0};
    for (int d = 0; d < D_COUNT; d++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = sizes[k];
            double *x = malloc(n * sizeof *x);
            ck_assert_ptr_nonnull(x);
            for (size_t i = 0; i < n; i++)
                x[i] = draw(d, i);
            if (d == D_SORTED && k % 2) /* and reversed */
                for (size_t i = 0; i < n / 2; i++) {
                    double t = x[i];
                    x[i] = x[n - 1 - i];
                    x[n - 1 - i] = t;
                }
            /* every rank up to 4097 values, a dense set past that */
            check_select(&sc, x, n, n <= 4097 ? 1 : 7);
            free(x);
        }
    ana_sel_free(&sc);
}
END_TEST

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Random ascending ranks of n > 0 values, the largest and repeats among
 * them at times (at most ANA_SEL_RANKS). */
static size_t some_ranks(size_t n, size_t *rank)
{
    size_t m = 1 + rnd() % ANA_SEL_RANKS;
    for (size_t i = 0; i < m; i++)
        rank[i] = i == 0 && rnd() % 2 ? n - 1 : i > 0 && rnd() % 4 == 0 ? rank[i - 1] : rnd() % n;
    qsort(rank, m, sizeof *rank, cmp_size);
    return m;
}

#define MAX_PARTS 300

/* Parts of random sizes (empty ones too) of distribution d: each part's
 * ranks and the pooled ranks against sorts of each part and of all; every
 * fourth trial many small parts (many replications: narrow digits). */
START_TEST(test_parts)
{
    rng_state = 777;
    struct ana_sel sc = {0};
    for (int trial = 0; trial < 400; trial++) {
        int d = trial % D_COUNT;
        int many = trial % 4 == 0;
        size_t np = 1 + rnd() % (many ? MAX_PARTS : 12), len[MAX_PARTS], n = 0;
        for (size_t p = 0; p < np; p++) {
            size_t r = rnd() % 8;
            len[p] = r == 0 ? 0 : r < 4 || many ? rnd() % 40 : rnd() % 3000;
            n += len[p];
        }
        double *x = malloc((n ? n : 1) * sizeof *x);
        ck_assert_ptr_nonnull(x);
        double min = INFINITY, max = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            x[i] = draw(d, i);
            min = x[i] < min ? x[i] : min;
            max = x[i] > max ? x[i] : max;
        }
        static struct ana_sel_part part[MAX_PARTS];
        static size_t rank[MAX_PARTS][ANA_SEL_RANKS];
        static double out[MAX_PARTS][ANA_SEL_RANKS];
        size_t prank[ANA_SEL_RANKS];
        double pout[ANA_SEL_RANKS];
        size_t at = 0;
        for (size_t p = 0; p < np; p++) {
            size_t m = len[p] && rnd() % 5 ? some_ranks(len[p], rank[p]) : 0;
            part[p] = (struct ana_sel_part){x + at, len[p], rank[p], m, out[p]};
            at += len[p];
        }
        size_t npr = n && rnd() % 5 ? some_ranks(n, prank) : 0;
        ck_assert_int_eq(ana_select_parts(&sc, part, np, min, max, prank, npr, pout), 0);
        for (size_t p = 0; p < np; p++) {
            double *s = sorted_copy(part[p].x, part[p].n);
            for (size_t i = 0; i < part[p].nrank; i++)
                ck_same(out[p][i], s[rank[p][i]], rank[p][i]);
            free(s);
        }
        double *s = sorted_copy(x, n);
        for (size_t i = 0; i < npr; i++)
            ck_same(pout[i], s[prank[i]], prank[i]);
        free(s);
        free(x);
    }
    ana_sel_free(&sc);
}
END_TEST

/* One value throughout, and zeros of both signs only: +0.0 read. */
START_TEST(test_one_value)
{
    struct ana_sel sc = {0};
    double x[300];
    size_t rank[3] = {0, 150, 299};
    double out[3];
    for (size_t i = 0; i < 300; i++)
        x[i] = i % 3 ? -0.0 : 0.0;
    ck_assert_int_eq(ana_select(&sc, x, 300, rank, 3, out), 0);
    for (int i = 0; i < 3; i++)
        ck_same(out[i], 0.0, rank[i]);
    struct ana_sel_part part = {x, 300, rank, 3, out};
    ck_assert_int_eq(ana_select_parts(&sc, &part, 1, -0.0, -0.0, NULL, 0, NULL), 0);
    for (int i = 0; i < 3; i++)
        ck_same(out[i], 0.0, rank[i]);
    for (size_t i = 0; i < 300; i++)
        x[i] = -7.25;
    ck_assert_int_eq(ana_select(&sc, x, 300, rank, 3, out), 0);
    for (int i = 0; i < 3; i++)
        ck_same(out[i], -7.25, rank[i]);
    /* nothing at all */
    ck_assert_int_eq(ana_select(&sc, x, 0, NULL, 0, NULL), 0);
    ana_sel_free(&sc);
}
END_TEST

static Suite *select_suite(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("select");
    tcase_set_timeout(tc, 120); /* every rank of every input is slow under the sanitizers */
    tcase_add_test(tc, test_every_rank);
    tcase_add_test(tc, test_parts);
    tcase_add_test(tc, test_one_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(select_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
