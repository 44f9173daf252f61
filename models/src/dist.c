/* Parameterised probability distributions; see llmsim/dist.h.
 *
 * Users give a mean and a spread (cv or sd); mdl_dist_prepare turns them
 * into the natural parameters of GSL's samplers (GSL reference manual,
 * "Random Number Distributions"):
 *
 *   exponential  gsl_ran_exponential(mu = mean)
 *   lognormal    gsl_ran_lognormal(zeta = mu, sigma) with
 *                sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2, so that
 *                E[X] = exp(mu + sigma^2 / 2) = mean and sd(X) = cv * mean
 *   gamma        gsl_ran_gamma(a = k, b = theta) with k = 1 / cv^2 and
 *                theta = mean * cv^2 (E[X] = k theta, Var = k theta^2)
 *   normal       mean + gsl_ran_gaussian_ziggurat(sd)
 *   uniform      gsl_ran_flat(min, max): the clamp bounds are the support
 *   geometric    gsl_ran_geometric(p = 1 / mean), support {1, 2, ...}
 *   empirical    inverse transform: one uniform u in [0, 1), then a binary
 *                search for the first cumulative weight above u
 *
 * The cv is sd / mean throughout; the loader converts a given cv into sd, so
 * the struct carries sd only.  Every draw is then clamped into [min, max].
 * prepare also fills in sd for the kinds whose spread follows from the mean
 * (exponential, geometric, uniform, constant), so that mean and sd describe
 * every prepared distribution.
 *
 * The exponential, the lognormal and the empirical's uniform are drawn by the
 * inline equivalents of llmsim/mt19937.h, which give GSL's results bit for
 * bit on any generator and skip GSL's calls through function pointers on
 * llmsim's own. */
#include "llmsim/dist.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "llmsim/mt19937.h"

/* gsl_ran_geometric converts log(u) / log(1 - p) + 1 to unsigned int.  For
 * u >= 2^-61 (finer than any GSL generator's resolution) this stays below
 * UINT32_MAX as long as the mean is at most about 1.0e8, so larger means are
 * refused instead of overflowing. */
#define GEOMETRIC_MEAN_MAX 1.0e8

static const char *const kind_names[] = {
    [MDL_DIST_CONSTANT] = "constant",       [MDL_DIST_EXPONENTIAL] = "exponential",
    [MDL_DIST_LOGNORMAL] = "lognormal",     [MDL_DIST_GAMMA] = "gamma",
    [MDL_DIST_NORMAL] = "normal",           [MDL_DIST_UNIFORM] = "uniform",
    [MDL_DIST_GEOMETRIC] = "geometric",     [MDL_DIST_EMPIRICAL] = "empirical",
};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

const char *mdl_dist_kind_name(enum mdl_dist_kind k)
{
    if ((unsigned)k >= KIND_COUNT)
        return NULL;
    return kind_names[k];
}

int mdl_dist_kind_parse(const char *name, enum mdl_dist_kind *out)
{
    if (name == NULL)
        return LLMSIM_ENOTFOUND;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum mdl_dist_kind)i;
            return 0;
        }
    }
    return LLMSIM_ENOTFOUND;
}

void mdl_dist_constant(struct mdl_dist *d, double value)
{
    /* An initialiser: whatever d held is overwritten, not released. */
    memset(d, 0, sizeof *d);
    d->kind = MDL_DIST_CONSTANT;
    d->mean = value;
    d->sd = 0.0;
    d->min = -INFINITY;
    d->max = INFINITY;
}

/* Checks that a parameter is finite; name is "mean" or "sd". */
static int need_finite(const char *kind, const char *name, double v, struct llmsim_error *err)
{
    if (!isfinite(v))
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s %s must be finite, got %g",
                                kind, name, v);
    return 0;
}

static int need_positive_mean(const char *kind, double mean, struct llmsim_error *err)
{
    int rc = need_finite(kind, "mean", mean, err);
    if (rc)
        return rc;
    if (!(mean > 0))
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s mean must be > 0, got %g",
                                kind, mean);
    return 0;
}

static int need_sd(const char *kind, double sd, struct llmsim_error *err)
{
    int rc = need_finite(kind, "sd", sd, err);
    if (rc)
        return rc;
    if (sd < 0)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s sd must be >= 0, got %g",
                                kind, sd);
    return 0;
}

/* Clamp bounds: NaN is refused, and so is a bound that excludes everything
 * (min = +inf or max = -inf); min == max is allowed (a point mass). */
static int check_bounds(const struct mdl_dist *d, const char *kind, struct llmsim_error *err)
{
    if (isnan(d->min) || isnan(d->max) || d->min == INFINITY || d->max == -INFINITY)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "%s min and max must be numbers, got min %g, max %g", kind,
                                d->min, d->max);
    if (d->min > d->max)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "%s min must be <= max, got min %g, max %g", kind, d->min, d->max);
    return 0;
}

int mdl_dist_prepare(struct mdl_dist *d, struct llmsim_error *err)
{
    const char *kind = mdl_dist_kind_name(d->kind);
    if (kind == NULL)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "unknown distribution kind %d",
                                (int)d->kind);
    int rc = check_bounds(d, kind, err);
    if (rc)
        return rc;

    switch (d->kind) {
    case MDL_DIST_CONSTANT:
        if ((rc = need_finite(kind, "mean", d->mean, err)))
            return rc;
        d->sd = 0.0;
        d->p1 = d->p2 = 0.0;
        return 0;

    case MDL_DIST_EXPONENTIAL:
        if ((rc = need_positive_mean(kind, d->mean, err)))
            return rc;
        d->sd = d->mean;
        d->p1 = d->p2 = 0.0;
        return 0;

    case MDL_DIST_LOGNORMAL: {
        if ((rc = need_positive_mean(kind, d->mean, err)) || (rc = need_sd(kind, d->sd, err)))
            return rc;
        double cv = d->sd / d->mean;
        double s2 = log1p(cv * cv);
        double mu = log(d->mean) - 0.5 * s2;
        if (!isfinite(s2) || !isfinite(mu))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "lognormal cv (sd / mean) is too large, got %g", cv);
        d->p1 = mu;
        d->p2 = sqrt(s2);
        return 0;
    }

    case MDL_DIST_GAMMA: {
        if ((rc = need_positive_mean(kind, d->mean, err)) || (rc = need_sd(kind, d->sd, err)))
            return rc;
        if (!(d->sd > 0))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "gamma sd (cv x mean) must be > 0, got %g", d->sd);
        double cv = d->sd / d->mean;
        double k = 1.0 / (cv * cv);
        double theta = d->mean * cv * cv;
        if (!isfinite(k) || !isfinite(theta) || !(k > 0) || !(theta > 0))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "gamma cv (sd / mean) is out of range, got %g", cv);
        d->p1 = k;
        d->p2 = theta;
        return 0;
    }

    case MDL_DIST_NORMAL:
        if ((rc = need_finite(kind, "mean", d->mean, err)) || (rc = need_sd(kind, d->sd, err)))
            return rc;
        d->p1 = d->p2 = 0.0;
        return 0;

    case MDL_DIST_UNIFORM:
        if (!isfinite(d->min) || !isfinite(d->max))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "uniform needs finite min and max, got min %g, max %g", d->min,
                                    d->max);
        if (!(d->min < d->max))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "uniform min must be < max, got min %g, max %g", d->min,
                                    d->max);
        d->mean = 0.5 * (d->min + d->max);
        d->sd = (d->max - d->min) / sqrt(12.0);
        d->p1 = d->p2 = 0.0;
        return 0;

    case MDL_DIST_GEOMETRIC:
        if ((rc = need_finite(kind, "mean", d->mean, err)))
            return rc;
        if (!(d->mean >= 1))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "geometric mean must be >= 1, got %g", d->mean);
        if (d->mean > GEOMETRIC_MEAN_MAX)
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "geometric mean must be <= %g, got %g", GEOMETRIC_MEAN_MAX,
                                    d->mean);
        d->p1 = 1.0 / d->mean;
        d->p2 = 0.0;
        d->sd = sqrt(1.0 - d->p1) / d->p1;
        return 0;

    case MDL_DIST_EMPIRICAL:
        /* mean, sd and cumw were derived by mdl_dist_empirical. */
        if (d->n == 0 || d->values == NULL || d->cumw == NULL)
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "empirical distribution has no values");
        return 0;
    }
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "unknown distribution kind %d",
                            (int)d->kind);
}

int mdl_dist_empirical(struct mdl_dist *d, size_t n, const double *values, const double *weights,
                       struct llmsim_error *err)
{
    if (n == 0)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "empirical distribution needs at least one value");
    if (n > SIZE_MAX / sizeof(double))
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0,
                                "empirical distribution of %zu values does not fit in memory", n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "empirical value %zu must be finite, got %g", i + 1,
                                    values[i]);
    }
    double total = 0.0; /* sum of the weights */
    if (weights != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(weights[i]) || weights[i] < 0)
                return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                        "empirical weight %zu must be finite and >= 0, got %g",
                                        i + 1, weights[i]);
            total += weights[i];
        }
        if (!(total > 0))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "empirical weights must not all be zero");
        if (!isfinite(total))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                    "empirical weights sum to infinity");
    } else {
        total = (double)n;
    }

    double *v = malloc(n * sizeof *v);
    double *c = malloc(n * sizeof *c);
    if (v == NULL || c == NULL) {
        free(v);
        free(c);
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0,
                                "out of memory for an empirical distribution of %zu values", n);
    }
    memcpy(v, values, n * sizeof *v);

    /* Cumulative normalised weights, and the mean and (population) sd of the
     * weighted values in two passes for accuracy. */
    double acc = 0.0;  /* running sum of the weights */
    double mean = 0.0; /* weighted mean of the values */
    for (size_t i = 0; i < n; i++) {
        double w = weights != NULL ? weights[i] : 1.0;
        acc += w;
        c[i] = acc / total;
        mean += w / total * v[i];
    }
    c[n - 1] = 1.0; /* exactly, whatever the rounding, so every u < 1 is found */
    double var = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = (weights != NULL ? weights[i] : 1.0) / total;
        var += w * (v[i] - mean) * (v[i] - mean);
    }

    /* The struct owns its arrays: release any it held before. */
    free(d->values);
    free(d->cumw);
    d->kind = MDL_DIST_EMPIRICAL;
    d->n = n;
    d->values = v;
    d->cumw = c;
    d->mean = mean;
    d->sd = sqrt(var);
    d->p1 = d->p2 = 0.0;
    return 0;
}

static double clamp(const struct mdl_dist *d, double x)
{
    if (x < d->min)
        return d->min;
    if (x > d->max)
        return d->max;
    return x;
}

/* Index of the first cumulative weight above u (u in [0, 1), cumw[n-1] = 1):
 * a value with zero weight repeats its predecessor's cumw and is never
 * chosen. */
static size_t empirical_index(const double *cumw, size_t n, double u)
{
    size_t lo = 0, hi = n - 1; /* the answer lies in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cumw[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

double mdl_dist_sample(const struct mdl_dist *d, gsl_rng *r)
{
    /* Token lengths are lognormal in most scenarios: one predictable branch
     * instead of the switch's indirect jump. */
    if (d->kind == MDL_DIST_LOGNORMAL)
        return clamp(d, mdl_ran_lognormal(r, d->p1, d->p2));
    switch (d->kind) {
    case MDL_DIST_CONSTANT:
        return clamp(d, d->mean);
    case MDL_DIST_EXPONENTIAL:
        return clamp(d, mdl_ran_exponential(r, d->mean));
    case MDL_DIST_LOGNORMAL:
        return clamp(d, mdl_ran_lognormal(r, d->p1, d->p2));
    case MDL_DIST_GAMMA:
        return clamp(d, gsl_ran_gamma(r, d->p1, d->p2));
    case MDL_DIST_NORMAL:
        return clamp(d, d->mean + gsl_ran_gaussian_ziggurat(r, d->sd));
    case MDL_DIST_UNIFORM:
        return gsl_ran_flat(r, d->min, d->max);
    case MDL_DIST_GEOMETRIC:
        return clamp(d, (double)gsl_ran_geometric(r, d->p1));
    case MDL_DIST_EMPIRICAL:
        LLMSIM_ASSERT(d->n > 0 && d->cumw != NULL);
        return clamp(d, d->values[empirical_index(d->cumw, d->n, mdl_rng_uniform(r))]);
    }
    LLMSIM_ASSERT(!"unknown distribution kind");
    return NAN;
}

double mdl_dist_mean(const struct mdl_dist *d)
{
    if (d->kind == MDL_DIST_UNIFORM)
        return 0.5 * (d->min + d->max);
    return d->mean;
}

int mdl_dist_copy(struct mdl_dist *dst, const struct mdl_dist *src)
{
    *dst = *src;
    dst->values = NULL;
    dst->cumw = NULL;
    if (src->n == 0 || (src->values == NULL && src->cumw == NULL))
        return 0;
    if (src->n > SIZE_MAX / sizeof(double)) {
        dst->n = 0;
        return LLMSIM_ENOMEM;
    }
    size_t bytes = src->n * sizeof(double);
    if (src->values != NULL && (dst->values = malloc(bytes)) == NULL)
        goto fail;
    if (src->cumw != NULL && (dst->cumw = malloc(bytes)) == NULL)
        goto fail;
    if (src->values != NULL)
        memcpy(dst->values, src->values, bytes);
    if (src->cumw != NULL)
        memcpy(dst->cumw, src->cumw, bytes);
    return 0;
fail:
    free(dst->values);
    dst->values = NULL;
    dst->n = 0;
    return LLMSIM_ENOMEM;
}

void mdl_dist_free(struct mdl_dist *d)
{
    if (d == NULL)
        return;
    free(d->values);
    free(d->cumw);
    d->values = NULL;
    d->cumw = NULL;
    d->n = 0;
}
