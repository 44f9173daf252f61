/* llmsim: what `llmsim compare` needs beyond /summary.
 *
 * Four independent pieces:
 *
 * Natural order.  ana_natural_cmp orders names as people do: runs of digits
 * compare as numbers, so "run2.h5" comes before "run10.h5".
 *
 * Flattened scenarios.  ana_flat_yaml turns a YAML document (the resolved
 * scenario a results file stores under /scenario/resolved) into (key path,
 * value) pairs in document order: mapping keys are joined with dots, an
 * element of a sequence of mappings is named by its `name` key when every
 * element has one (deployments.llama8b.replicas, as `--set` names it) and by
 * its index otherwise (workload.classes.lookup.prompt.0.tokens); a sequence
 * of scalars is one value ("[haiku, sonnet]"); empty collections are "{}" and
 * "[]".  ana_flat_differing lists the key paths whose values are not the same
 * in every one of n scenarios, the way the files differ in their overrides:
 * output.path is left out (every file has its own), the other output.* keys
 * (which change no figure) are left out unless nothing else differs,
 * `description` is left out when `name` differs, and a catalog entry copied in whole (a mapping
 * with an `id`, as gpu: and model: are) counts once, by its id: the keys
 * beside a differing X.id and, for a deployment whose gpu or model id
 * differs, its latency parameters and gpu_hour_usd (which come from that
 * entry) are not listed.  ana_flat_label writes one file's label from those
 * keys: "key=value, ..." with each key shortened to its shortest suffix of at
 * least two components that no other key path of the n scenarios ends with
 * (X.id written as X), numbers in %.6g, keys the file lacks left out (or
 * "key=(none)" when it lacks all).
 *
 * Results file, beyond ana_h5_read: ana_h5_read_extra reads the
 * `replications` root attribute and the /scenario texts.  ana_h5_read_groups
 * reads /requests and computes per group (replication, or time batch) the
 * figures whose differences compare pairs, so that a difference between two
 * files gets a confidence interval:
 *   - with R >= 2 replications one group per replication (replication r of
 *     two files with the same seed ran on the same random numbers);
 *   - with one replication, `batches` groups of equal length of arrival time
 *     over [t0, t1) (the method of batch means, Law, "Simulation Modeling and
 *     Analysis", chapter 9, on time batches so that two files' batches cover
 *     the same arrivals when their arrival streams are common).
 * Within a group and scope ("all", "class:NAME", "deployment:NAME") the
 * requests are those of /summary's per-request metrics: not warm-up, not
 * rejected, not a wasted prefetch.  Quantities (names as in /summary where
 * they mean the same): ttft_s, e2e_s, queue_s, itl_s (requests with two
 * output tokens streamed apart), perceived_s, success, slo_met (only with an
 * SLO in the options), cache_hit_requests, cost_usd (billed lines + GPU
 * line), and the per-request lines cost_input_usd, cost_cache_write_usd,
 * cost_cache_read_usd, cost_output_usd, cost_gpu_usd; statistics: the mean of
 * every quantity, p50, p90, p95 and p99 (type 7) of the first five.
 *
 * Differences.  ana_diff_paired gives the 95% half-width of the mean of
 * paired differences b_g - a_g (Student t with G - 1 degrees of freedom over
 * the G pairs where both are finite); ana_diff_welch that of the difference
 * of two independent means (Welch, with Welch-Satterthwaite degrees of
 * freedom); ana_diff_welch_ci combines two published half-widths the same
 * way, given the degrees of freedom each came from; ana_diff_quadrature
 * combines two published half-widths of independent estimates without
 * degrees of freedom, sqrt(a^2 + b^2) (the normal approximation: the
 * variance of a difference of independent estimates is the sum of theirs),
 * as `llmsim compare` does for the percentile intervals of /summary
 * (results.h, "Percentile intervals"), which include a bound on the
 * histogram's resolution in compact mode and so are not Student t
 * intervals with known degrees of freedom.
 *
 * Ownership: the caller owns every struct; *_free(NULL) is a no-op. */
#ifndef LLMSIM_COMPARE_H
#define LLMSIM_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "llmsim/error.h"
#include "llmsim/results.h"

/* < 0, 0 or > 0 as a sorts before, with or after b in natural order
 * (digit runs by value, then by length so "07" follows "7"; other bytes as
 * unsigned chars).  NULL sorts first. */
int ana_natural_cmp(const char *a, const char *b);

/* ---- flattened scenarios ---------------------------------------------- */

struct ana_flat_entry {
    char *key;   /* dotted key path */
    char *value; /* scalar text as written (quotes removed) */
};

struct ana_flat {
    struct ana_flat_entry *e; /* malloc'ed, document order */
    size_t n;
};

/* Flattens one YAML document.  Returns 0, LLMSIM_EINVAL (text NULL or not
 * YAML: err says where), LLMSIM_ELIMIT (nested deeper than 64) or
 * LLMSIM_ENOMEM; on failure *out is empty. */
int ana_flat_yaml(const char *text, struct ana_flat *out, struct llmsim_error *err);
/* The value of key; NULL when absent. */
const char *ana_flat_get(const struct ana_flat *f, const char *key);
void ana_flat_free(struct ana_flat *f);

/* The key paths that differ among the n scenarios f[0..n-1] (see above), in
 * the order they first appear, as a malloc'ed array of n_keys strings that
 * point into the f entries (free only the array; f must outlive it).
 * Returns 0 or LLMSIM_ENOMEM. */
int ana_flat_differing(const struct ana_flat *f, size_t n, const char ***keys, size_t *n_keys);

/* File i's label from the differing keys (malloc'ed; NULL when out of
 * memory).  At most max_len bytes: keys that do not fit are counted in a
 * trailing ", +N more".  With no key, an empty string. */
char *ana_flat_label(const struct ana_flat *f, size_t n, size_t i, const char *const *keys,
                     size_t n_keys, size_t max_len);

/* ---- results file ----------------------------------------------------- */

/* The root attribute replications (0 when absent) and the /scenario texts
 * (malloc'ed; NULL when absent).  Returns 0, LLMSIM_EIO, LLMSIM_EHDF5 or
 * LLMSIM_ENOMEM (err->file is the path); on failure nothing is left to free. */
struct ana_h5_extra {
    int replications;
    char *given;    /* /scenario/given */
    char *resolved; /* /scenario/resolved */
};
int ana_h5_read_extra(const char *path, struct ana_h5_extra *x, struct llmsim_error *err);
void ana_h5_extra_free(struct ana_h5_extra *x);

enum ana_gstat { ANA_GS_MEAN, ANA_GS_P50, ANA_GS_P90, ANA_GS_P95, ANA_GS_P99, ANA_GS_N };

struct ana_groups_opts {
    double slo_ttft_s, slo_itl_s, slo_e2e_s; /* targets; 0 = none; all 0: no slo_met */
    double t0, t1;  /* batch window of arrival times; NaN: the measured requests' span */
    size_t batches; /* groups of a one-replication file (0: 10) */
};

struct ana_groups {
    int by_replication; /* 1: a group per replication; 0: time batches */
    size_t n_groups;
    double t0, t1;   /* the batch window used (NaN with replications) */
    size_t n_scopes; /* "all", then classes, then deployments, from /requests' names */
    char (*scopes)[ANA_SCOPE_MAX];
    double *v; /* [scope][group][quantity][statistic], NaN where a group has no sample */
    int has_slo;
};

/* Reads /requests of path into per-group figures.  Returns 0,
 * LLMSIM_ENOTFOUND (the file has no /requests table: output.requests was
 * off), LLMSIM_EINVAL (a column or name attribute missing, or a request with
 * a class, deployment or replication out of range), LLMSIM_EIO,
 * LLMSIM_EHDF5 or LLMSIM_ENOMEM; on failure *g holds nothing to free. */
int ana_h5_read_groups(const char *path, const struct ana_groups_opts *o, struct ana_groups *g,
                       struct llmsim_error *err);
/* Copies the n_groups values of (scope, quantity, statistic) to out.
 * Returns 0, or LLMSIM_ENOTFOUND when the scope or quantity is unknown or
 * the statistic is not kept for it (or slo_met without an SLO). */
int ana_groups_values(const struct ana_groups *g, const char *scope, const char *quantity,
                      enum ana_gstat stat, double *out);
void ana_groups_free(struct ana_groups *g);

/* ---- differences ------------------------------------------------------ */

/* Half-width of the 95% CI of the mean of b[i] - a[i] over the pairs where
 * both are finite; *dof = pairs - 1.  NaN when fewer than 2 pairs. */
double ana_diff_paired(const double *a, const double *b, size_t n, double *dof);
/* Half-width of the 95% CI of mean(b) - mean(a) (finite values only), Welch;
 * NaN when either side has fewer than 2 values.  A side with no spread
 * (every value equal) adds nothing; both without spread give 0. */
double ana_diff_welch(const double *a, size_t na, const double *b, size_t nb, double *dof);
/* The same from two 95% half-widths and the degrees of freedom they were
 * computed with (Student t): NaN when either is not finite or dof < 1. */
double ana_diff_welch_ci(double ci_a, double dof_a, double ci_b, double dof_b, double *dof);
/* sqrt(ci_a^2 + ci_b^2): the 95% half-width of the difference of two
 * independent estimates with 95% half-widths ci_a and ci_b (normal
 * approximation); NaN when either is not finite or is negative. */
double ana_diff_quadrature(double ci_a, double ci_b);

#endif
