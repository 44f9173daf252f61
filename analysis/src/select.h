/* llmsim: exact order statistics of doubles by radix selection, for the
 * summary's percentiles (stats.c).  Private to analysis/src.
 *
 * The summary reads a handful of order statistics of each metric's samples:
 * two per type-7 percentile, of each section (a batch or a replication) and
 * of all the samples.  Sorting every sample to read eight of them was most
 * of the summary's cost (issue 12); selection reads each sample a fixed
 * number of times whatever its rank.
 *
 * Method: radix selection (MSD radix sort that recurses only into the
 * buckets holding a wanted rank; Knuth, TAOCP vol. 3, 5.2.5, and the
 * "radix select" of GPU top-k, e.g. Alabi et al., "Fast k-selection
 * algorithms for graphics processing units", JEA 17, 2012) over the IEEE-754
 * bit patterns made order-preserving unsigned keys (negative numbers with
 * every bit flipped, others with the sign bit set).  A digit is the key's
 * offset from the smallest key, shifted so that the span from the smallest
 * to the largest key fits the digit's buckets: one pass counts each part's
 * buckets (noting every value's bucket), the wanted ranks' buckets follow
 * from the counts (a part's alone, or all parts' summed for the pooled
 * ranks), one pass copies the keys of those buckets out, and each such
 * bucket is selected again the same way on its few keys (at most 64 / bits
 * levels: a bucket spans 2^shift keys; a small one is sorted).  Zeros of
 * either sign are one value, +0.0, as in a comparison sort's order that
 * makes -0.0 +0.0 first: -0.0 keys sit just below +0.0 keys, so ranks are
 * unchanged and the value read is made +0.0.  Values must not be NaN. */
#ifndef LLMSIM_SELECT_H
#define LLMSIM_SELECT_H

#include <stddef.h>
#include <stdint.h>

struct sel_group;

/* Most ranks asked of one part, or of all the parts, in one call. */
#define ANA_SEL_RANKS 16

/* A part of the values: x[0..n-1], and the nrank <= ANA_SEL_RANKS
 * ranks (0-based, ascending, repeats allowed, each < n) wanted of the part
 * alone; out[i] receives the value of rank rank[i]. */
struct ana_sel_part {
    const double *x;
    size_t n;
    const size_t *rank;
    size_t nrank;
    double *out;
};

/* Scratch reused across calls: zero-initialise, release with
 * ana_sel_free. */
struct ana_sel {
    uint32_t *hist; /* the parts' bucket counts, then write cursors */
    size_t hist_cap;
    uint16_t *bucket; /* every value's bucket */
    size_t bucket_cap;
    uint64_t *keys; /* the keys copied out, and as many again to recurse */
    size_t keys_cap;
    struct sel_group *group; /* the buckets holding wanted ranks */
    size_t group_cap;
    unsigned char *flag; /* per bucket: wanted by the part (1), by the pool (2); the pool's */
};

void ana_sel_free(struct ana_sel *sc);

/* Order statistics of nparts parts at once: each part's own ranks (see
 * struct ana_sel_part) and the nrank <= ANA_SEL_RANKS ranks (ascending,
 * each < the parts' total) of all the parts' values taken together, into
 * out.  min and max are the smallest and largest value (zeros of either
 * sign alike).  The parts hold fewer than 2^31 values in all.  Returns 0
 * or LLMSIM_ENOMEM. */
int ana_select_parts(struct ana_sel *sc, const struct ana_sel_part *part, size_t nparts, double min,
                     double max, const size_t *rank, size_t nrank, double *out);

/* The same for x[0..n-1] alone (min and max found here). */
int ana_select(struct ana_sel *sc, const double *x, size_t n, const size_t *rank, size_t nrank,
               double *out);

#endif
