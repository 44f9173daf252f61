/* llmsim: parameterised probability distributions.
 *
 * A struct mdl_dist describes one distribution by the parameters users think
 * in (mean and coefficient of variation, not mu and sigma of the underlying
 * normal), and draws from it with a caller-supplied gsl_rng.  Parameterisation
 * (all "mean" values are of the distribution before clamping):
 *
 *   constant     value = mean
 *   exponential  mean > 0                       (rate 1/mean)
 *   lognormal    mean > 0, cv >= 0 (or sd >= 0)  sigma^2 = ln(1 + cv^2),
 *                                                mu = ln(mean) - sigma^2 / 2
 *   gamma        mean > 0, cv > 0 (or sd > 0)    shape k = 1 / cv^2,
 *                                                scale theta = mean * cv^2
 *   normal       mean, sd >= 0 (or cv >= 0: sd = cv * |mean|)
 *   uniform      min < max: the bounds themselves (mean = (min + max) / 2)
 *   geometric    mean >= 1, on {1, 2, ...}       p = 1 / mean
 *   empirical    values[] with optional weights[] (default equal): draws one
 *                of the values with probability weight / sum(weights)
 *
 * min and max (optional; -inf / +inf when absent) clamp every draw into
 * [min, max] (except for uniform, where they are the support).  Clamping, not
 * rejection, so that one draw always consumes the same random numbers and the
 * mass beyond a cap lands on the cap (as with a max_tokens limit).
 *
 * Ownership: mdl_dist_free() releases the values/weights arrays of an
 * empirical distribution (which the struct owns once set through
 * mdl_dist_empirical); free of a zeroed struct is a no-op.  mdl_dist_sample is
 * pure given the rng state: it reads the struct, never writes it. */
#ifndef LLMSIM_DIST_H
#define LLMSIM_DIST_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "llmsim/error.h"

enum mdl_dist_kind {
    MDL_DIST_CONSTANT = 0,
    MDL_DIST_EXPONENTIAL,
    MDL_DIST_LOGNORMAL,
    MDL_DIST_GAMMA,
    MDL_DIST_NORMAL,
    MDL_DIST_UNIFORM,
    MDL_DIST_GEOMETRIC,
    MDL_DIST_EMPIRICAL
};

struct mdl_dist {
    enum mdl_dist_kind kind;
    double mean;  /* mean of the unclamped distribution (uniform: derived) */
    double sd;    /* standard deviation (cv * mean when given as cv) */
    double min;   /* clamp lower bound, -INFINITY when absent; uniform: support */
    double max;   /* clamp upper bound, +INFINITY when absent; uniform: support */
    /* derived by mdl_dist_prepare: */
    double p1, p2;    /* kind-specific: lognormal (mu, sigma), gamma (k, theta), geometric (p) */
    size_t n;         /* empirical: number of values */
    double *values;   /* empirical: owned */
    double *cumw;     /* empirical: cumulative normalised weights, owned; cumw[n-1] == 1 */
};

/* Names as used in scenarios ("constant", "lognormal", ...); NULL for an
 * out-of-range kind. */
const char *mdl_dist_kind_name(enum mdl_dist_kind k);
/* Parses a kind name; returns 0 or LLMSIM_ENOTFOUND. */
int mdl_dist_kind_parse(const char *name, enum mdl_dist_kind *out);

/* A constant distribution (min/max open). */
void mdl_dist_constant(struct mdl_dist *d, double value);

/* Checks the parameters that are set in d (kind, mean, sd, min, max) and
 * derives p1/p2.  Returns 0, or LLMSIM_ERANGE with a message in err (no
 * location: the caller adds it) for: non-finite parameters, mean <= 0 where a
 * positive mean is required, negative sd, min > max, uniform with min >= max
 * or an infinite bound, geometric mean < 1. */
int mdl_dist_prepare(struct mdl_dist *d, struct llmsim_error *err);

/* Makes d empirical over n values (copied) with weights (copied, may be NULL
 * for equal weights), keeping d->min/max.  Returns 0, LLMSIM_ENOMEM, or
 * LLMSIM_ERANGE (n == 0, a non-finite value, a negative or all-zero weight). */
int mdl_dist_empirical(struct mdl_dist *d, size_t n, const double *values, const double *weights,
                       struct llmsim_error *err);

/* One draw, clamped to [min, max]. */
double mdl_dist_sample(const struct mdl_dist *d, gsl_rng *r);

/* Mean of the unclamped distribution. */
double mdl_dist_mean(const struct mdl_dist *d);

/* Deep copy (dst must not own arrays yet).  Returns 0 or LLMSIM_ENOMEM. */
int mdl_dist_copy(struct mdl_dist *dst, const struct mdl_dist *src);

void mdl_dist_free(struct mdl_dist *d);

#endif
