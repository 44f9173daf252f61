/* llmsim: exact order statistics of doubles by radix selection (select.h). */
#include "select.h"

#include "llmsim/error.h"

#include <stdlib.h>
#include <string.h>

#define SEL_BITS 12    /* widest digit: 4096 buckets */
#define SEL_MIN_BITS 4 /* narrowest */
#define SEL_SORT 32    /* keys at most this many are sorted instead */

/* The IEEE-754 bit pattern of x as an unsigned key in the order of the
 * values: negative numbers have every bit flipped, others the sign bit. */
static uint64_t dkey(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    /* every bit or the sign bit flipped, without a branch (the mask is all
     * ones or zero by an arithmetic shift of the sign, written portably) */
    uint64_t neg = 0 - (u >> 63);
    return u ^ (neg | 0x8000000000000000ULL);
}

/* The value whose key is k (the inverse of dkey), -0.0 made +0.0. */
static double kval(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~0x8000000000000000ULL : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x == 0 ? 0.0 : x;
}

/* Number of significant bits of v. */
static unsigned bitlen(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

/* Digit width for buckets of about `per` keys each on average: about a
 * quarter as many buckets as keys, within [SEL_MIN_BITS, SEL_BITS], so
 * that clearing and scanning the counts costs less than the keys do. */
static unsigned digit_bits(size_t per)
{
    unsigned b = bitlen(per);
    b = b > 2 ? b - 2 : 0;
    return b < SEL_MIN_BITS ? SEL_MIN_BITS : b > SEL_BITS ? SEL_BITS : b;
}

/* The shift that puts keys lo..hi (lo < hi) into at most 2^bits buckets. */
static unsigned digit_shift(uint64_t lo, uint64_t hi, unsigned bits)
{
    unsigned span = bitlen(hi - lo);
    return span > bits ? span - bits : 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return LLMSIM_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

void ana_sel_free(struct ana_sel *sc)
{
    free(sc->hist);
    free(sc->bucket);
    free(sc->keys);
    free(sc->group);
    free(sc->flag);
    memset(sc, 0, sizeof *sc);
}

/* A bucket, b (of part `part`, at the top level), holding wanted ranks:
 * its cnt keys go to keys[off ..), `below` keys are in earlier buckets,
 * and ranks rank[0 .. nrank) fall in it, their values to go to out. */
struct sel_group {
    size_t b, part, off, cnt, below;
    const size_t *rank;
    size_t nrank;
    double *out;
};

/* Walks counts h[0..nb-1] of keys ranked from base on as far as the last
 * rank of rank[0..nrank-1] (ascending, values to out): makes a group of
 * every bucket holding one, their keys to go from *off on, and turns those
 * buckets' counts into write cursors.  Returns the groups, at most
 * nrank. */
static size_t sel_groups(uint32_t *h, const size_t *rank, size_t nrank, size_t base, double *out,
                         size_t *off, struct sel_group *g)
{
    size_t ng = 0, i = 0, below = base;
    for (size_t b = 0; i < nrank; b++) {
        size_t c = h[b];
        if (rank[i] < below + c) {
            struct sel_group *gr = &g[ng++];
            gr->b = b;
            gr->off = *off;
            gr->cnt = c;
            gr->below = below;
            gr->rank = rank + i;
            gr->out = out + i;
            while (i < nrank && rank[i] < below + c)
                i++;
            gr->nrank = (size_t)(rank + i - gr->rank);
            h[b] = (uint32_t)*off;
            *off += c;
        }
        below += c;
    }
    return ng;
}

/* Insertion sort of k[0..m-1] (m <= SEL_SORT). */
static void sort_keys(uint64_t *k, size_t m)
{
    for (size_t i = 1; i < m; i++) {
        uint64_t v = k[i];
        size_t j = i;
        for (; j > 0 && k[j - 1] > v; j--)
            k[j] = k[j - 1];
        k[j] = v;
    }
}

/* Values of ranks rank[i] - base (ascending, < m) of keys k[0..m-1] into
 * out[i]; tmp has room for m keys; both are overwritten.  hist and fl have
 * room for 2^SEL_BITS counts and flags (free once the keys are copied out,
 * so every level shares them). */
static void sel_keys(uint32_t *hist, unsigned char *fl, uint64_t *k, size_t m, uint64_t *tmp, const size_t *rank,
                     size_t nrank, size_t base, double *out)
{
    if (m <= SEL_SORT) {
        sort_keys(k, m);
        for (size_t i = 0; i < nrank; i++)
            out[i] = kval(k[rank[i] - base]);
        return;
    }
    uint64_t lo = k[0], hi = k[0];
    for (size_t j = 1; j < m; j++) {
        lo = k[j] < lo ? k[j] : lo;
        hi = k[j] > hi ? k[j] : hi;
    }
    if (lo == hi) {
        for (size_t i = 0; i < nrank; i++)
            out[i] = kval(lo);
        return;
    }
    unsigned shift = digit_shift(lo, hi, digit_bits(m));
    size_t nb = (size_t)((hi - lo) >> shift) + 1;
    memset(hist, 0, nb * sizeof *hist);
    for (size_t j = 0; j < m; j++)
        hist[(k[j] - lo) >> shift]++;
    struct sel_group g[ANA_SEL_RANKS];
    size_t off = 0, ng = sel_groups(hist, rank, nrank, base, out, &off, g);
    memset(fl, 0, nb);
    for (size_t i = 0; i < ng; i++)
        fl[g[i].b] = 1;
    for (size_t j = 0; j < m; j++) {
        size_t b = (size_t)((k[j] - lo) >> shift);
        if (fl[b])
            tmp[hist[b]++] = k[j];
    }
    for (size_t i = 0; i < ng; i++)
        sel_keys(hist, fl, tmp + g[i].off, g[i].cnt, k + g[i].off, g[i].rank, g[i].nrank,
                 g[i].below, g[i].out);
}

/* Copies the key of x, of a bucket flagged f, to the cursors of the bucket
 * that want it: *own (flag 1, the part's) and *pool (flag 2). */
static inline void copy_key(double x, unsigned f, uint32_t *own, uint32_t *pool, uint64_t *keys)
{
    if (f & 1)
        keys[(*own)++] = dkey(x);
    if (f & 2)
        keys[(*pool)++] = dkey(x);
}

int ana_select_parts(struct ana_sel *sc, const struct ana_sel_part *part, size_t nparts, double min,
                     double max, const size_t *rank, size_t nrank, double *out)
{
    LLMSIM_ASSERT(nrank <= ANA_SEL_RANKS);
    size_t n = 0, used = 0, ranks = nrank;
    for (size_t p = 0; p < nparts; p++) {
        LLMSIM_ASSERT(part[p].nrank <= ANA_SEL_RANKS);
        n += part[p].n;
        used += part[p].n > 0;
        ranks += part[p].nrank;
    }
    /* Counts and cursors (into twice n keys) are 32 bits. */
    LLMSIM_ASSERT(n < (size_t)1 << 31);
    if (n == 0)
        return 0;
    if (min == max) { /* one value (a metric that is always 0, say) */
        for (size_t i = 0; i < nrank; i++)
            out[i] = min == 0 ? 0.0 : min;
        for (size_t p = 0; p < nparts; p++)
            for (size_t i = 0; i < part[p].nrank; i++)
                part[p].out[i] = min == 0 ? 0.0 : min;
        return 0;
    }
    /* -0.0 sits just below +0.0: a zero bound takes in both. */
    uint64_t lo = dkey(min == 0 ? -0.0 : min), hi = dkey(max == 0 ? 0.0 : max);
    unsigned shift = digit_shift(lo, hi, digit_bits(n / used));
    size_t nb = (size_t)((hi - lo) >> shift) + 1;
    /* Counts: one table per part, then the pool's (at least 2^SEL_BITS in
     * all, for sel_keys). */
    size_t nh = (nparts + 1) * nb;
    if (grow((void **)&sc->hist, &sc->hist_cap, nh > 1u << SEL_BITS ? nh : 1u << SEL_BITS,
             sizeof *sc->hist) ||
        grow((void **)&sc->bucket, &sc->bucket_cap, n, sizeof *sc->bucket) ||
        grow((void **)&sc->group, &sc->group_cap, ranks, sizeof *sc->group))
        return LLMSIM_ENOMEM;
    if (!sc->flag && !(sc->flag = malloc((size_t)2 << SEL_BITS)))
        return LLMSIM_ENOMEM;
    uint32_t *pool = sc->hist + nparts * nb;
    memset(pool, 0, nb * sizeof *pool);
    uint16_t *bk = sc->bucket;
    for (size_t p = 0; p < nparts; p++) {
        uint32_t *h = sc->hist + p * nb;
        const double *x = part[p].x;
        memset(h, 0, nb * sizeof *h);
        size_t len = part[p].n, i = 0;
        /* Two values a turn: the loop's own instructions are a fifth of
         * this pass's, half that unrolled. */
        for (; i + 2 <= len; i += 2) {
            size_t b0 = (size_t)((dkey(x[i]) - lo) >> shift);
            size_t b1 = (size_t)((dkey(x[i + 1]) - lo) >> shift);
            bk[i] = (uint16_t)b0;
            bk[i + 1] = (uint16_t)b1;
            h[b0]++;
            h[b1]++;
        }
        if (i < len) {
            size_t b = (size_t)((dkey(x[i]) - lo) >> shift);
            bk[i] = (uint16_t)b;
            h[b]++;
        }
        for (size_t b = 0; b < nb; b++)
            pool[b] += h[b];
        bk += part[p].n;
    }
    /* The buckets of the wanted ranks, their counts turned into cursors:
     * the pool's keys first, then each part's, in bucket order. */
    struct sel_group *g = sc->group;
    size_t off = 0, npg = sel_groups(pool, rank, nrank, 0, out, &off, g), ng = npg;
    unsigned char *fl = sc->flag, *pool_fl = sc->flag + ((size_t)1 << SEL_BITS);
    memset(pool_fl, 0, nb);
    for (size_t i = 0; i < npg; i++)
        pool_fl[g[i].b] = 2;
    for (size_t p = 0; p < nparts; p++) {
        size_t k = sel_groups(sc->hist + p * nb, part[p].rank, part[p].nrank, 0, part[p].out, &off,
                              g + ng);
        for (; k > 0; k--)
            g[ng++].part = p;
    }
    size_t total = off;
    if (grow((void **)&sc->keys, &sc->keys_cap, 2 * total, sizeof *sc->keys))
        return LLMSIM_ENOMEM;
    /* Copy the wanted buckets' keys out, part by part: flag 1, the part's
     * own buckets, flag 2, the pool's. */
    uint64_t *keys = sc->keys;
    const struct sel_group *pg = g + npg; /* the next part's groups */
    bk = sc->bucket;
    for (size_t p = 0; p < nparts; p++) {
        uint32_t *h = sc->hist + p * nb;
        const double *x = part[p].x;
        size_t len = part[p].n; /* not reread after each store to keys */
        if (part[p].nrank == 0 && npg == 0) {
            bk += len;
            continue;
        }
        memcpy(fl, pool_fl, nb);
        for (; pg < g + ng && pg->part == p; pg++)
            fl[pg->b] |= 1;
        /* Four values a turn, tested at once: almost none is copied. */
        size_t i = 0;
        for (; i + 4 <= len; i += 4)
            if (fl[bk[i]] | fl[bk[i + 1]] | fl[bk[i + 2]] | fl[bk[i + 3]])
                for (size_t j = i; j < i + 4; j++)
                    copy_key(x[j], fl[bk[j]], h + bk[j], pool + bk[j], keys);
        for (; i < len; i++)
            copy_key(x[i], fl[bk[i]], h + bk[i], pool + bk[i], keys);
        bk += len;
    }
    for (size_t i = 0; i < ng; i++)
        sel_keys(sc->hist, fl, keys + g[i].off, g[i].cnt, keys + total + g[i].off, g[i].rank,
                 g[i].nrank, g[i].below, g[i].out);
    return 0;
}

int ana_select(struct ana_sel *sc, const double *x, size_t n, const size_t *rank, size_t nrank,
               double *out)
{
    if (n == 0)
        return 0;
    double min = x[0], max = x[0];
    for (size_t i = 1; i < n; i++) {
        min = x[i] < min ? x[i] : min;
        max = x[i] > max ? x[i] : max;
    }
    struct ana_sel_part all = {x, n, NULL, 0, NULL};
    return ana_select_parts(sc, &all, 1, min, max, rank, nrank, out);
}
