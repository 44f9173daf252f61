/* llmsim: what sweeps, capacity plans and lever ladders decide from the
 * summaries of their points: the SLO verdict, the Pareto frontier, and the
 * monotone search of `llmsim plan`.
 *
 * SLO verdict.  A scenario's slo sets targets on TTFT, the request's mean
 * inter-token latency and E2E at one percentile p (50, 90, 95 or 99).  For
 * each target set, the point estimate v (the pooled type-7 percentile of
 * scope "all") and the half-width h of its 95% confidence interval (the
 * row's pNN_ci95) give: met when v + h <= target, missed when v - h >
 * target, and uncertain otherwise (or when h is unknown: then v <= target
 * decides, and the verdict says it is a point estimate).  The scenario
 * meets its SLO when every target is met, misses it when one is missed.
 * Stability: every deployment's `stable` row (1 when it kept up with its
 * arrivals, results.h) must be 1 where it is defined.
 *
 * Pareto frontier.  Among the eligible points (stable, cost and latency
 * finite), point i is on the frontier when no eligible j is at least as good
 * on every objective and better on one: cost per request (lower), a latency
 * percentile (lower) and quality (higher; left out when any eligible point
 * has none).  Equal points are all on the frontier.
 *
 * Search.  ana_plan_search finds, for a predicate ok(x) that is monotone in
 * x (false then true when minimising, true then false when maximising), the
 * boundary value: the smallest x in [lo, hi] with ok(x) (or the largest with
 * ok(x) when maximising).  Integer searches step by 1; continuous ones stop
 * when the bracket is within rel_tol of its upper end.  Without hi it
 * brackets first by doubling from lo (at most max_doublings times). */
#ifndef LLMSIM_STUDY_H
#define LLMSIM_STUDY_H

#include <stddef.h>

#include "llmsim/config.h"
#include "llmsim/results.h"

enum ana_verdict { ANA_SLO_NONE = -1, ANA_SLO_MISSED = 0, ANA_SLO_MET = 1, ANA_SLO_UNCERTAIN = 2 };

struct ana_slo_check {
    int verdict;       /* enum ana_verdict: NONE when the scenario sets no target */
    int point_estimate; /* 1 when some target had no interval and its estimate decided */
    int stable;        /* 1 when every deployment with a stable row is stable */
    /* The binding target: the one with the least relative headroom. */
    const char *metric; /* "ttft_s", "itl_s", "e2e_s" or NULL */
    double value, ci95, target;
    double headroom; /* min over targets of (target - value) / target */
};

void ana_slo_check(const struct sim_slo_cfg *slo, const struct ana_summary_row *rows, size_t n,
                   struct ana_slo_check *out);

/* The value of row (scope, metric) at stat "mean", "p50", "p90", "p95",
 * "p99", "ci95", "p50_ci95", ...; NaN when absent. */
double ana_row_stat(const struct ana_summary_row *rows, size_t n, const char *scope, const char *metric,
                    const char *stat);

/* Marks the frontier: on[i] = 1 or 0.  quality may be NULL; eligible[i] 0
 * keeps point i off it. */
void ana_pareto(const double *cost, const double *latency, const double *quality, const int *eligible, size_t n,
                int *on);

/* The monotone search (above).  ok returns 1 (holds), 0 (does not) or a
 * negative code that ends the search.  Returns 0 with *found 1 and *x the
 * boundary, 0 with *found 0 when no value in range holds, or ok's code. */
struct ana_search {
    double lo, hi;      /* hi NaN: bracket by doubling from lo */
    int integer;        /* step 1 */
    int maximize;
    double rel_tol;     /* continuous: stop when hi - lo <= rel_tol * hi (default 0.01 when 0) */
    int max_doublings;  /* default 16 when 0 */
};
int ana_plan_search(const struct ana_search *s, int (*ok)(void *ctx, double x), void *ctx, double *x, int *found);

#endif
