/* llmsim: bounded-memory summaries of a stream of values, for runs too large
 * to keep every sample (design.md section 8).  Private to analysis/src.
 *
 * ana_vhist: a histogram of real values over logarithmic buckets.  A value x
 * with |x| >= ANA_VH_TINY falls in bucket k = floor(log|x| / log r), r =
 * ANA_VH_RATIO = 1.01, on its sign's side; smaller magnitudes count as zero.
 * Buckets are allocated over the range of k seen on each side only, so
 * memory follows the spread of the values (about 230 buckets per decade),
 * not a fixed range.  The exact count, minimum and maximum are kept.  A
 * value's stand-in is the geometric midpoint of its bucket, r^(k + 1/2)
 * (negated on the negative side), clamped to [minimum, maximum]; every
 * value of the bucket is within a factor sqrt(r) of it, so a stand-in is
 * within sqrt(1.01) - 1 < 0.4988% of the value it replaces (values counted
 * as zero: within ANA_VH_TINY).  Quantiles are type 7 (as the exact path)
 * over the stand-ins.  The clamp makes a metric that takes one value, or two
 * (0 and 1, say), come out exact.
 *
 * ana_vhist_quantile_smooth is the type-7 quantile over other stand-ins,
 * for the spread of percentiles across sections (replications or batches,
 * see results.h, "Percentile intervals"): the j-th (0-based) of the c values
 * of a bucket [lo, hi) stands at lo + (j + 1/2) (hi - lo) / c (mirrored on
 * the negative side; clamped to [minimum, maximum]), so that a section's
 * percentile moves continuously with its data instead of jumping from one
 * bucket's midpoint to the next (two sections whose percentiles fall in one
 * bucket would otherwise look identical and the spread would vanish).  It is
 * in the same bucket as the exact value, so within a factor r of it.
 * ana_vhist_quantile_err bounds |ana_vhist_quantile - exact type-7
 * quantile|: a stand-in s of a value x has |s - x| <= (sqrt(r) - 1) |s|
 * (clamping only moves s towards x), so the interpolation of two stand-ins
 * s_lo, s_hi is within (sqrt(r) - 1) max(|s_lo|, |s_hi|) (+ ANA_VH_TINY for
 * values counted as zero) of the exact quantile; 0 when every value is the
 * same (minimum = maximum: the stand-ins are exact).
 *
 * ana_bmeans: batch means over consecutive values in bounded memory: values
 * go into batches of bsize consecutive values; when 2 x ANA_BM_BATCHES
 * batches are full, neighbours merge and bsize doubles, so between
 * ANA_BM_BATCHES and 2 ANA_BM_BATCHES - 1 full batches of equal size are
 * always at hand (the values of the unfinished last batch are left out).
 *
 * ana_qbatch: the same batches, each kept as an ana_vhist instead of a sum
 * (merging two batches adds their bucket counts), plus the histogram of the
 * unfinished batch, so that each batch's percentile (sectioning) and the
 * percentile of all the values (the batches and the unfinished one merged)
 * can be had.  Memory: at most 2 ANA_BM_BATCHES + 1 histograms, each over
 * the spread of its values, whatever the number of values. */
#ifndef LLMSIM_SKETCH_H
#define LLMSIM_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define ANA_VH_RATIO 1.01
#define ANA_VH_TINY 1e-12

struct ana_vhist {
    uint64_t n;      /* values added */
    uint64_t zero;   /* of them, |x| < ANA_VH_TINY */
    double min, max; /* exact extremes (valid when n > 0) */
    int32_t k0[2];   /* [0] positive, [1] negative side: bucket index of cnt[side][0] */
    uint32_t nk[2];  /* buckets allocated */
    uint64_t *cnt[2];
};

/* Adds x (finite).  Returns 0 or LLMSIM_ENOMEM (h unchanged). */
int ana_vhist_add(struct ana_vhist *h, double x);
/* Adds every value of src to dst.  Returns 0 or LLMSIM_ENOMEM (dst unchanged). */
int ana_vhist_merge(struct ana_vhist *dst, const struct ana_vhist *src);
/* Type-7 quantile of the stand-ins, NaN when empty. */
double ana_vhist_quantile(const struct ana_vhist *h, double p);
/* Type-7 quantile of the spread stand-ins (see above), NaN when empty. */
double ana_vhist_quantile_smooth(const struct ana_vhist *h, double p);
/* Bound on the error of ana_vhist_quantile(h, p) (see above), NaN when empty. */
double ana_vhist_quantile_err(const struct ana_vhist *h, double p);
void ana_vhist_free(struct ana_vhist *h);

#define ANA_BM_BATCHES 10

struct ana_bmeans {
    double bsum[2 * ANA_BM_BATCHES];
    uint32_t nb;    /* full batches */
    uint64_t bsize; /* values per batch (0 before the first value) */
    uint64_t curn;  /* values in the unfinished batch */
    double cur;     /* their sum */
};

void ana_bmeans_add(struct ana_bmeans *b, double x);
/* The means of the full batches into means[0 .. 2 ANA_BM_BATCHES); returns how many. */
size_t ana_bmeans_get(const struct ana_bmeans *b, double *means);

struct ana_qbatch {
    struct ana_vhist b[2 * ANA_BM_BATCHES]; /* the full batches */
    struct ana_vhist cur;                   /* the unfinished one */
    uint32_t nb;                            /* full batches */
    uint64_t bsize;                         /* values per batch (0 before the first value) */
    int broken;                             /* a merge ran out of memory: nothing to trust */
};

/* Adds x (finite) to q and, unless NULL, to the histogram also (the
 * bucket worked out once for both).  Returns 0 or LLMSIM_ENOMEM (x added
 * to neither; or, when a merge of full batches failed, x added and q
 * marked broken, as it stays: every later call fails). */
int ana_qbatch_add(struct ana_qbatch *q, double x, struct ana_vhist *also);
/* Every value added, in one histogram *out (to free).  Returns 0 or
 * LLMSIM_ENOMEM (*out empty). */
int ana_qbatch_all(const struct ana_qbatch *q, struct ana_vhist *out);
void ana_qbatch_free(struct ana_qbatch *q);

#endif
