/* Parameterised distributions (models/src/dist.c): moments, clamping,
 * supports, empirical frequencies, every documented error, determinism.
 *
 * Statistical tolerances.  Each moment test takes N = 200,000 draws from a
 * fixed seed and accepts a sample mean within 4 standard errors of the
 * theoretical mean, the standard error being computed from the theoretical
 * sd (sd / sqrt(N)), not from the sample.  The sample variance s^2 has
 * asymptotic variance (mu4 - sd^4) / N = sd^4 (excess kurtosis + 2) / N, again
 * from the theoretical moments; the sample cv = s / mean then moves by about
 * d(s^2) / (2 sd^2) - d(mean) / mean relative to the true cv, so it is
 * accepted within cv x (4 se(s^2) / (2 sd^2) + 4 se(mean) / |mean|), a
 * union of the two 4-sigma bounds.  Frequencies (empirical values, clamped
 * mass) are accepted within 4 binomial standard errors sqrt(p (1 - p) / N).
 * The seeds are fixed, so the tests are deterministic; the bounds say how
 * unlikely a failure of a correct implementation would be (~6e-5 each). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>

#include "llmsim/dist.h"
#include "llmsim/error.h"
#include "testutil.h"

#define N 200000
#define SEED 2385u

static gsl_rng *new_rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(r);
    gsl_rng_set(r, seed);
    return r;
}

/* A distribution of the given kind with open clamp bounds. */
static struct mdl_dist make(enum mdl_dist_kind kind, double mean, double sd)
{
    struct mdl_dist d;
    mdl_dist_constant(&d, mean);
    d.kind = kind;
    d.sd = sd;
    return d;
}

static void prepare_ok(struct mdl_dist *d)
{
    struct llmsim_error e;
    llmsim_error_clear(&e);
    int rc = mdl_dist_prepare(d, &e);
    ck_assert_msg(rc == 0, "prepare failed (%d): %s", rc, e.msg);
}

/* Mean and cv of N draws against the theory (see the top of the file). */
static void check_moments(const struct mdl_dist *d, double mu, double sd, double kurt_excess)
{
    const char *name = mdl_dist_kind_name(d->kind);
    gsl_rng *r = new_rng(SEED);
    double m = 0.0, m2 = 0.0; /* Welford running mean and sum of squares */
    for (int i = 1; i <= N; i++) {
        double x = mdl_dist_sample(d, r);
        double delta = x - m;
        m += delta / i;
        m2 += delta * (x - m);
    }
    gsl_rng_free(r);
    double s = sqrt(m2 / (N - 1));

    double se_mean = sd / sqrt(N);
    ck_assert_msg(fabs(m - mu) <= 4 * se_mean, "%s: sample mean %.6g, expected %.6g +- %.3g",
                  name, m, mu, 4 * se_mean);

    double se_var = sd * sd * sqrt((kurt_excess + 2.0) / N);
    double cv = sd / fabs(mu);
    double tol = cv * (4 * se_var / (2 * sd * sd) + 4 * se_mean / fabs(mu));
    ck_assert_msg(fabs(s / fabs(m) - cv) <= tol, "%s: sample cv %.6g, expected %.6g +- %.3g",
                  name, s / fabs(m), cv, tol);
}

/* Share of N draws equal to x, checked against p within 4 binomial SE. */
static void check_share(const char *what, long count, double p)
{
    double share = (double)count / N;
    double tol = 4 * sqrt(p * (1 - p) / N);
    ck_assert_msg(fabs(share - p) <= tol, "%s: share %.6g, expected %.6g +- %.3g", what, share,
                  p, tol);
}

START_TEST(test_kind_names)
{
    for (int k = MDL_DIST_CONSTANT; k <= MDL_DIST_EMPIRICAL; k++) {
        const char *name = mdl_dist_kind_name((enum mdl_dist_kind)k);
        ck_assert_ptr_nonnull(name);
        enum mdl_dist_kind back = MDL_DIST_CONSTANT;
        ck_assert_int_eq(mdl_dist_kind_parse(name, &back), 0);
        ck_assert_int_eq(back, k);
    }
    ck_assert_str_eq(mdl_dist_kind_name(MDL_DIST_LOGNORMAL), "lognormal");
    ck_assert_str_eq(mdl_dist_kind_name(MDL_DIST_GEOMETRIC), "geometric");
    ck_assert_ptr_null(mdl_dist_kind_name((enum mdl_dist_kind)(MDL_DIST_EMPIRICAL + 1)));
    enum mdl_dist_kind k = MDL_DIST_NORMAL;
    ck_assert_int_eq(mdl_dist_kind_parse("Lognormal", &k), LLMSIM_ENOTFOUND);
    ck_assert_int_eq(mdl_dist_kind_parse("", &k), LLMSIM_ENOTFOUND);
    ck_assert_int_eq(mdl_dist_kind_parse("weibull", &k), LLMSIM_ENOTFOUND);
    ck_assert_int_eq(mdl_dist_kind_parse(NULL, &k), LLMSIM_ENOTFOUND);
    ck_assert_int_eq(k, MDL_DIST_NORMAL); /* untouched on failure */
}
END_TEST

START_TEST(test_constant)
{
    struct mdl_dist d;
    mdl_dist_constant(&d, 2.385);
    ck_assert(isinf(d.min) && d.min < 0);
    ck_assert(isinf(d.max) && d.max > 0);
    prepare_ok(&d);
    ck_assert_double_eq(mdl_dist_mean(&d), 2.385);
    gsl_rng *r = new_rng(SEED);
    for (int i = 0; i < 1000; i++)
        ck_assert_double_eq(mdl_dist_sample(&d, r), 2.385);
    d.max = 1.5;
    prepare_ok(&d);
    ck_assert_double_eq(mdl_dist_sample(&d, r), 1.5);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_exponential)
{
    struct mdl_dist d = make(MDL_DIST_EXPONENTIAL, 2.385, 0);
    prepare_ok(&d);
    ck_assert_double_eq(d.sd, 2.385);
    ck_assert_double_eq(mdl_dist_mean(&d), 2.385);
    check_moments(&d, 2.385, 2.385, 6.0);
}
END_TEST

static double lognormal_kurtosis(double cv)
{
    double e = 1 + cv * cv; /* exp(sigma^2) */
    return e * e * e * e + 2 * e * e * e + 3 * e * e - 6;
}

START_TEST(test_lognormal)
{
    const double cvs[] = {0.3, 0.8, 1.7};
    for (size_t i = 0; i < sizeof cvs / sizeof cvs[0]; i++) {
        double mean = 312.5, sd = cvs[i] * 312.5;
        struct mdl_dist d = make(MDL_DIST_LOGNORMAL, mean, sd);
        prepare_ok(&d);
        double s2 = log(1 + cvs[i] * cvs[i]);
        ck_assert_double_eq_tol(d.p2, sqrt(s2), 1e-12);
        ck_assert_double_eq_tol(d.p1, log(mean) - s2 / 2, 1e-12);
        check_moments(&d, mean, sd, lognormal_kurtosis(cvs[i]));
    }
    /* sd = 0 is a point mass at the mean. */
    struct mdl_dist d = make(MDL_DIST_LOGNORMAL, 60, 0);
    prepare_ok(&d);
    gsl_rng *r = new_rng(SEED);
    ck_assert_double_eq_tol(mdl_dist_sample(&d, r), 60, 1e-9);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_gamma)
{
    /* cv < 1 (shape > 1) and cv > 1 (shape < 1) take different GSL paths. */
    const double cvs[] = {0.6, 1.5};
    for (size_t i = 0; i < sizeof cvs / sizeof cvs[0]; i++) {
        double mean = 2.385, sd = cvs[i] * 2.385;
        struct mdl_dist d = make(MDL_DIST_GAMMA, mean, sd);
        prepare_ok(&d);
        double k = 1 / (cvs[i] * cvs[i]);
        ck_assert_double_eq_tol(d.p1, k, 1e-12);
        ck_assert_double_eq_tol(d.p2, mean / k, 1e-12);
        check_moments(&d, mean, sd, 6.0 / k);
    }
}
END_TEST

START_TEST(test_normal)
{
    struct mdl_dist d = make(MDL_DIST_NORMAL, 2.385, 0.7);
    prepare_ok(&d);
    check_moments(&d, 2.385, 0.7, 0.0);
    /* A negative mean is allowed for the normal. */
    d = make(MDL_DIST_NORMAL, -41.25, 3.5);
    prepare_ok(&d);
    check_moments(&d, -41.25, 3.5, 0.0);
}
END_TEST

START_TEST(test_uniform)
{
    struct mdl_dist d = make(MDL_DIST_UNIFORM, NAN, NAN); /* mean and sd are derived */
    d.min = 1.5;
    d.max = 7.25;
    ck_assert_double_eq(mdl_dist_mean(&d), 4.375);
    prepare_ok(&d);
    ck_assert_double_eq(d.mean, 4.375);
    ck_assert_double_eq_tol(d.sd, 5.75 / sqrt(12), 1e-12);
    check_moments(&d, 4.375, 5.75 / sqrt(12), -1.2);
    gsl_rng *r = new_rng(SEED + 1);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    gsl_rng_free(r);
    ck_assert(lo >= 1.5 && lo < 1.5 + 1e-3);
    ck_assert(hi < 7.25 && hi > 7.25 - 1e-3);
}
END_TEST

START_TEST(test_geometric)
{
    struct mdl_dist d = make(MDL_DIST_GEOMETRIC, 4.0, 0);
    prepare_ok(&d);
    double p = 0.25;
    ck_assert_double_eq(d.p1, p);
    ck_assert_double_eq_tol(d.sd, sqrt(1 - p) / p, 1e-12);
    check_moments(&d, 4.0, sqrt(1 - p) / p, 6 + p * p / (1 - p));

    /* Support {1, 2, ...}: integers, smallest 1, P(1) = p. */
    gsl_rng *r = new_rng(SEED + 2);
    long ones = 0;
    double lo = INFINITY;
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        ck_assert_double_eq(x, floor(x));
        lo = fmin(lo, x);
        ones += x == 1.0;
    }
    ck_assert_double_eq(lo, 1.0);
    check_share("geometric P(1)", ones, p);

    /* mean 1: always 1. */
    d = make(MDL_DIST_GEOMETRIC, 1.0, 0);
    prepare_ok(&d);
    ck_assert_double_eq(d.sd, 0.0);
    for (int i = 0; i < 1000; i++)
        ck_assert_double_eq(mdl_dist_sample(&d, r), 1.0);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_empirical_frequencies)
{
    const double values[] = {2.385, 7.1, 11.0, 40.5, -3.25, 0.0};
    const double weights[] = {0.0, 0.1, 3.2, 1.7, 0.5, 0.0}; /* zeros first and last */
    enum { K = 6 };
    struct mdl_dist d;
    mdl_dist_constant(&d, 0);
    struct llmsim_error e;
    ck_assert_int_eq(mdl_dist_empirical(&d, K, values, weights, &e), 0);
    prepare_ok(&d);
    ck_assert_int_eq(d.kind, MDL_DIST_EMPIRICAL);
    ck_assert_uint_eq(d.n, K);
    ck_assert_double_eq(d.cumw[K - 1], 1.0);

    double total = 5.5, mu = 0, var = 0, mu4 = 0;
    for (int i = 0; i < K; i++)
        mu += weights[i] / total * values[i];
    for (int i = 0; i < K; i++) {
        double dv = values[i] - mu;
        var += weights[i] / total * dv * dv;
        mu4 += weights[i] / total * dv * dv * dv * dv;
    }
    ck_assert_double_eq_tol(mdl_dist_mean(&d), mu, 1e-12);
    ck_assert_double_eq_tol(d.sd, sqrt(var), 1e-12);
    check_moments(&d, mu, sqrt(var), mu4 / (var * var) - 3);

    long count[K] = {0};
    gsl_rng *r = new_rng(SEED + 3);
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        int j = 0;
        while (j < K && values[j] != x)
            j++;
        ck_assert_msg(j < K, "draw %g is not one of the values", x);
        count[j]++;
    }
    for (int i = 0; i < K; i++) {
        if (weights[i] == 0)
            ck_assert_int_eq(count[i], 0);
        else
            check_share("empirical value", count[i], weights[i] / total);
    }

    /* Equal weights when none are given; the second call replaces (and
     * releases) the first arrays. */
    ck_assert_int_eq(mdl_dist_empirical(&d, 4, values, NULL, &e), 0);
    ck_assert_uint_eq(d.n, 4);
    ck_assert_double_eq_tol(mdl_dist_mean(&d), (2.385 + 7.1 + 11.0 + 40.5) / 4, 1e-12);
    long c4[4] = {0};
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        for (int j = 0; j < 4; j++)
            c4[j] += x == values[j];
    }
    for (int j = 0; j < 4; j++)
        check_share("equal-weight value", c4[j], 0.25);
    gsl_rng_free(r);
    mdl_dist_free(&d);
}
END_TEST

START_TEST(test_clamping)
{
    /* Lognormal output lengths capped at [100, 400]: the mass beyond each
     * bound lands on it (clamping, not rejection). */
    struct mdl_dist d = make(MDL_DIST_LOGNORMAL, 300, 240);
    d.min = 100;
    d.max = 400;
    prepare_ok(&d);
    ck_assert_double_eq(mdl_dist_mean(&d), 300); /* of the unclamped distribution */
    gsl_rng *r = new_rng(SEED + 4);
    long at_min = 0, at_max = 0;
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        ck_assert(x >= 100 && x <= 400);
        at_min += x == 100;
        at_max += x == 400;
    }
    check_share("lognormal mass at min", at_min, gsl_cdf_lognormal_P(100, d.p1, d.p2));
    check_share("lognormal mass at max", at_max, gsl_cdf_lognormal_Q(400, d.p1, d.p2));

    /* Geometric capped at 5: P(X >= 5) = (1 - p)^4 lands on 5. */
    d = make(MDL_DIST_GEOMETRIC, 4.0, 0);
    d.max = 5;
    prepare_ok(&d);
    long at5 = 0;
    for (int i = 0; i < N; i++) {
        double x = mdl_dist_sample(&d, r);
        ck_assert(x >= 1 && x <= 5);
        at5 += x == 5;
    }
    check_share("geometric mass at max", at5, pow(0.75, 4));

    /* Every other kind respects its bounds too. */
    struct mdl_dist ds[4];
    ds[0] = make(MDL_DIST_EXPONENTIAL, 2.385, 0);
    ds[1] = make(MDL_DIST_GAMMA, 2.385, 3.0);
    ds[2] = make(MDL_DIST_NORMAL, 2.385, 4.0);
    ds[3] = make(MDL_DIST_CONSTANT, 2.385, 0);
    for (int k = 0; k < 4; k++) {
        ds[k].min = 2.0;
        ds[k].max = 2.5;
        prepare_ok(&ds[k]);
        for (int i = 0; i < 20000; i++) {
            double x = mdl_dist_sample(&ds[k], r);
            ck_assert(x >= 2.0 && x <= 2.5);
        }
    }
    /* min == max is a point mass. */
    ds[2].min = ds[2].max = 7.5;
    prepare_ok(&ds[2]);
    ck_assert_double_eq(mdl_dist_sample(&ds[2], r), 7.5);

    /* Empirical values beyond the bounds are clamped as well. */
    const double values[] = {1.0, 50.0, 1000.0};
    struct mdl_dist e;
    mdl_dist_constant(&e, 0);
    e.min = 10;
    e.max = 100;
    ck_assert_int_eq(mdl_dist_empirical(&e, 3, values, NULL, NULL), 0);
    ck_assert_double_eq(e.min, 10); /* kept */
    ck_assert_double_eq(e.max, 100);
    prepare_ok(&e);
    for (int i = 0; i < 1000; i++) {
        double x = mdl_dist_sample(&e, r);
        ck_assert(x == 10 || x == 50 || x == 100);
    }
    mdl_dist_free(&e);
    gsl_rng_free(r);
}
END_TEST

/* Expects mdl_dist_prepare to refuse d with LLMSIM_ERANGE and a message
 * containing want, with no location. */
static void expect_prepare_error(struct mdl_dist d, const char *want)
{
    struct llmsim_error e;
    llmsim_error_clear(&e);
    int rc = mdl_dist_prepare(&d, &e);
    ck_assert_msg(rc == LLMSIM_ERANGE, "expected ERANGE for \"%s\", got %d", want, rc);
    ck_assert_int_eq(e.code, LLMSIM_ERANGE);
    ck_assert_str_eq(e.file, "");
    ck_assert_int_eq(e.line, 0);
    ck_assert_int_eq(e.col, 0);
    ck_assert_msg(strstr(e.msg, want) != NULL, "message \"%s\" lacks \"%s\"", e.msg, want);
    /* A NULL error struct is allowed. */
    ck_assert_int_eq(mdl_dist_prepare(&d, NULL), LLMSIM_ERANGE);
}

START_TEST(test_prepare_errors)
{
    struct mdl_dist d;

    /* The message format of the contract, exactly. */
    d = make(MDL_DIST_LOGNORMAL, -3, 1);
    struct llmsim_error e;
    ck_assert_int_eq(mdl_dist_prepare(&d, &e), LLMSIM_ERANGE);
    ck_assert_str_eq(e.msg, "lognormal mean must be > 0, got -3");

    /* Unknown kind. */
    d = make((enum mdl_dist_kind)42, 1, 0);
    expect_prepare_error(d, "unknown distribution kind 42");

    /* Non-finite parameters. */
    expect_prepare_error(make(MDL_DIST_CONSTANT, NAN, 0), "constant mean must be finite");
    expect_prepare_error(make(MDL_DIST_EXPONENTIAL, INFINITY, 0),
                         "exponential mean must be finite");
    expect_prepare_error(make(MDL_DIST_LOGNORMAL, 5, NAN), "lognormal sd must be finite");
    expect_prepare_error(make(MDL_DIST_GAMMA, 5, INFINITY), "gamma sd must be finite");
    expect_prepare_error(make(MDL_DIST_NORMAL, -INFINITY, 1), "normal mean must be finite");
    expect_prepare_error(make(MDL_DIST_NORMAL, 1, NAN), "normal sd must be finite");
    expect_prepare_error(make(MDL_DIST_GEOMETRIC, NAN, 0), "geometric mean must be finite");
    d = make(MDL_DIST_NORMAL, 1, 1);
    d.min = NAN;
    expect_prepare_error(d, "min and max must be numbers");
    d = make(MDL_DIST_NORMAL, 1, 1);
    d.max = NAN;
    expect_prepare_error(d, "min and max must be numbers");
    d = make(MDL_DIST_NORMAL, 1, 1);
    d.min = INFINITY;
    expect_prepare_error(d, "min and max must be numbers");
    d = make(MDL_DIST_NORMAL, 1, 1);
    d.max = -INFINITY;
    expect_prepare_error(d, "min and max must be numbers");

    /* mean <= 0 where a positive mean is required. */
    expect_prepare_error(make(MDL_DIST_EXPONENTIAL, 0, 0), "exponential mean must be > 0, got 0");
    expect_prepare_error(make(MDL_DIST_EXPONENTIAL, -2.5, 0),
                         "exponential mean must be > 0, got -2.5");
    expect_prepare_error(make(MDL_DIST_LOGNORMAL, 0, 1), "lognormal mean must be > 0, got 0");
    expect_prepare_error(make(MDL_DIST_GAMMA, -1, 1), "gamma mean must be > 0, got -1");

    /* Negative sd (and a zero sd for the gamma, whose shape is 1 / cv^2). */
    expect_prepare_error(make(MDL_DIST_LOGNORMAL, 5, -0.5), "lognormal sd must be >= 0, got -0.5");
    expect_prepare_error(make(MDL_DIST_GAMMA, 5, -1), "gamma sd must be >= 0, got -1");
    expect_prepare_error(make(MDL_DIST_NORMAL, 5, -1), "normal sd must be >= 0, got -1");
    expect_prepare_error(make(MDL_DIST_GAMMA, 5, 0), "gamma sd (cv x mean) must be > 0, got 0");

    /* Derived parameters out of range. */
    expect_prepare_error(make(MDL_DIST_LOGNORMAL, 1e-300, 1e300), "lognormal cv");
    expect_prepare_error(make(MDL_DIST_GAMMA, 1, 1e-200), "gamma cv");

    /* min > max. */
    d = make(MDL_DIST_EXPONENTIAL, 3, 0);
    d.min = 10;
    d.max = 2;
    expect_prepare_error(d, "exponential min must be <= max, got min 10, max 2");

    /* Uniform with min >= max or an infinite bound. */
    d = make(MDL_DIST_UNIFORM, 0, 0);
    d.min = d.max = 4;
    expect_prepare_error(d, "uniform min must be < max, got min 4, max 4");
    d.min = 5;
    expect_prepare_error(d, "uniform min must be <= max");
    d = make(MDL_DIST_UNIFORM, 0, 0); /* bounds left open */
    expect_prepare_error(d, "uniform needs finite min and max");
    d.min = 1;
    expect_prepare_error(d, "uniform needs finite min and max");

    /* Geometric mean < 1 (and above the overflow guard). */
    expect_prepare_error(make(MDL_DIST_GEOMETRIC, 0.5, 0), "geometric mean must be >= 1, got 0.5");
    expect_prepare_error(make(MDL_DIST_GEOMETRIC, -3, 0), "geometric mean must be >= 1");
    expect_prepare_error(make(MDL_DIST_GEOMETRIC, 2e8, 0), "geometric mean must be <=");

    /* Empirical without values. */
    expect_prepare_error(make(MDL_DIST_EMPIRICAL, 1, 0), "empirical distribution has no values");
}
END_TEST

static void expect_empirical_error(size_t n, const double *values, const double *weights,
                                   int code, const char *want)
{
    const double keep[] = {1.0, 2.0};
    struct mdl_dist d;
    mdl_dist_constant(&d, 0);
    ck_assert_int_eq(mdl_dist_empirical(&d, 2, keep, NULL, NULL), 0);
    struct llmsim_error e;
    llmsim_error_clear(&e);
    int rc = mdl_dist_empirical(&d, n, values, weights, &e);
    ck_assert_msg(rc == code, "expected %d for \"%s\", got %d", code, want, rc);
    ck_assert_int_eq(e.code, code);
    ck_assert_str_eq(e.file, "");
    ck_assert_msg(strstr(e.msg, want) != NULL, "message \"%s\" lacks \"%s\"", e.msg, want);
    /* A failed call leaves the distribution as it was. */
    ck_assert_uint_eq(d.n, 2);
    ck_assert_double_eq(d.values[1], 2.0);
    ck_assert_double_eq(mdl_dist_mean(&d), 1.5);
    ck_assert_int_eq(mdl_dist_empirical(&d, n, values, weights, NULL), code);
    mdl_dist_free(&d);
}

START_TEST(test_empirical_errors)
{
    const double v[] = {1.0, 2.385, 3.0};
    const double w[] = {1.0, 2.0, 3.0};
    expect_empirical_error(0, v, w, LLMSIM_ERANGE, "at least one value");

    const double v_nan[] = {1.0, NAN, 3.0};
    const double v_inf[] = {1.0, 2.0, -INFINITY};
    expect_empirical_error(3, v_nan, w, LLMSIM_ERANGE, "empirical value 2 must be finite");
    expect_empirical_error(3, v_inf, NULL, LLMSIM_ERANGE, "empirical value 3 must be finite");

    const double w_neg[] = {1.0, -0.5, 3.0};
    const double w_zero[] = {0.0, 0.0, 0.0};
    const double w_nan[] = {NAN, 1.0, 1.0};
    const double w_inf[] = {1.0, INFINITY, 1.0};
    const double w_big[] = {1e308, 1e308, 1e308};
    expect_empirical_error(3, v, w_neg, LLMSIM_ERANGE, "empirical weight 2 must be finite and >= 0");
    expect_empirical_error(3, v, w_zero, LLMSIM_ERANGE, "must not all be zero");
    expect_empirical_error(3, v, w_nan, LLMSIM_ERANGE, "empirical weight 1");
    expect_empirical_error(3, v, w_inf, LLMSIM_ERANGE, "empirical weight 2");
    expect_empirical_error(3, v, w_big, LLMSIM_ERANGE, "sum to infinity");

    /* Out of memory: a count whose arrays cannot be sized is refused before
     * any value is read. */
    expect_empirical_error(SIZE_MAX / sizeof(double) + 1, v, NULL, LLMSIM_ENOMEM,
                           "does not fit in memory");
}
END_TEST

START_TEST(test_copy_and_free)
{
    const double v[] = {2.385, 7.0, 9.5};
    const double w[] = {1.0, 2.0, 0.5};
    struct mdl_dist a, b;
    mdl_dist_constant(&a, 0);
    a.max = 8.0;
    ck_assert_int_eq(mdl_dist_empirical(&a, 3, v, w, NULL), 0);
    prepare_ok(&a);
    ck_assert_int_eq(mdl_dist_copy(&b, &a), 0);
    ck_assert_ptr_ne(b.values, a.values);
    ck_assert_ptr_ne(b.cumw, a.cumw);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_double_eq(b.max, 8.0);
    ck_assert_double_eq(b.mean, a.mean);
    gsl_rng *r1 = new_rng(SEED), *r2 = new_rng(SEED);
    for (int i = 0; i < 1000; i++)
        ck_assert_double_eq(mdl_dist_sample(&a, r1), mdl_dist_sample(&b, r2));
    mdl_dist_free(&a); /* b stays valid */
    ck_assert_ptr_null(a.values);
    ck_assert_ptr_null(a.cumw);
    ck_assert_uint_eq(a.n, 0);
    mdl_dist_free(&a); /* twice is harmless */
    for (int i = 0; i < 1000; i++) {
        double x = mdl_dist_sample(&b, r2);
        ck_assert(x == 2.385 || x == 7.0 || x == 8.0);
    }
    mdl_dist_free(&b);

    /* Copying a distribution without arrays. */
    struct mdl_dist c = make(MDL_DIST_GAMMA, 2.385, 1.2);
    prepare_ok(&c);
    ck_assert_int_eq(mdl_dist_copy(&b, &c), 0);
    ck_assert_ptr_null(b.values);
    gsl_rng_set(r1, SEED);
    gsl_rng_set(r2, SEED);
    ck_assert_double_eq(mdl_dist_sample(&b, r1), mdl_dist_sample(&c, r2));
    mdl_dist_free(&b);

    /* Out of memory: arrays too large to size (never read). */
    c = make(MDL_DIST_EMPIRICAL, 1, 0);
    c.n = SIZE_MAX / sizeof(double) + 1;
    c.values = (double *)v;
    c.cumw = (double *)w;
    ck_assert_int_eq(mdl_dist_copy(&b, &c), LLMSIM_ENOMEM);
    ck_assert_ptr_null(b.values);
    ck_assert_ptr_null(b.cumw);
    mdl_dist_free(&b);

    /* Freeing a zeroed struct, or NULL, does nothing. */
    struct mdl_dist z;
    memset(&z, 0, sizeof z);
    mdl_dist_free(&z);
    mdl_dist_free(NULL);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
}
END_TEST

START_TEST(test_determinism)
{
    const double v[] = {1.0, 2.0, 4.0, 8.0};
    struct mdl_dist ds[8];
    ds[0] = make(MDL_DIST_CONSTANT, 2.385, 0);
    ds[1] = make(MDL_DIST_EXPONENTIAL, 2.385, 0);
    ds[2] = make(MDL_DIST_LOGNORMAL, 2.385, 1.5);
    ds[3] = make(MDL_DIST_GAMMA, 2.385, 1.5);
    ds[4] = make(MDL_DIST_NORMAL, 2.385, 1.5);
    ds[5] = make(MDL_DIST_UNIFORM, 0, 0);
    ds[5].min = -1.25;
    ds[5].max = 3.5;
    ds[6] = make(MDL_DIST_GEOMETRIC, 2.385, 0);
    mdl_dist_constant(&ds[7], 0);
    ck_assert_int_eq(mdl_dist_empirical(&ds[7], 4, v, NULL, NULL), 0);
    for (int k = 0; k < 8; k++)
        prepare_ok(&ds[k]);

    /* Same seed, same draws (bit for bit), whichever kinds are interleaved. */
    gsl_rng *a = new_rng(SEED), *b = new_rng(SEED), *c = new_rng(SEED + 99);
    int differ = 0;
    for (int i = 0; i < 2000; i++) {
        for (int k = 0; k < 8; k++) {
            double x = mdl_dist_sample(&ds[k], a);
            double y = mdl_dist_sample(&ds[k], b);
            ck_assert_int_eq(memcmp(&x, &y, sizeof x), 0);
            differ += x != mdl_dist_sample(&ds[k], c);
        }
    }
    ck_assert_int_gt(differ, 1000); /* another seed gives other draws */
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
    for (int k = 0; k < 8; k++)
        mdl_dist_free(&ds[k]);
}
END_TEST

static Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kind_names);
    tcase_add_test(tc, test_constant);
    tcase_add_test(tc, test_exponential);
    tcase_add_test(tc, test_lognormal);
    tcase_add_test(tc, test_gamma);
    tcase_add_test(tc, test_normal);
    tcase_add_test(tc, test_uniform);
    tcase_add_test(tc, test_geometric);
    tcase_add_test(tc, test_empirical_frequencies);
    tcase_add_test(tc, test_clamping);
    tcase_add_test(tc, test_prepare_errors);
    tcase_add_test(tc, test_empirical_errors);
    tcase_add_test(tc, test_copy_and_free);
    tcase_add_test(tc, test_determinism);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(dist_suite());
}
