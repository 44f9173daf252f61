/* Bounded-memory summaries of a stream of values; see sketch.h. */
#include "sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"

/* Bucket index of magnitude a >= ANA_VH_TINY: floor(log a / log r), the
 * floor taken by truncation and a correction below zero (|t| < 10^5, and
 * floor() is a library call without SSE4.1). */
static int32_t bucket_of(double a)
{
    double t = log(a) / log(ANA_VH_RATIO);
    int32_t k = (int32_t)t;
    return (double)k > t ? k - 1 : k;
}

/* Where a value goes: the zero count, or bucket k of side s. */
struct vkey {
    int zero, s;
    int32_t k;
};

static struct vkey key_of(double x)
{
    struct vkey key = {1, 0, 0};
    double a = fabs(x);
    if (a >= ANA_VH_TINY) {
        key.zero = 0;
        key.s = x < 0;
        key.k = bucket_of(a);
    }
    return key;
}

/* Makes room for bucket k on side s.  Returns 0 or LLMSIM_ENOMEM. */
static int ensure(struct ana_vhist *h, int s, int32_t k)
{
    if (h->nk[s] > 0 && k >= h->k0[s] && k < h->k0[s] + (int32_t)h->nk[s])
        return 0;
    int32_t lo = h->nk[s] ? (k < h->k0[s] ? k : h->k0[s]) : k;
    int32_t hi = h->nk[s] ? (k >= h->k0[s] + (int32_t)h->nk[s] ? k : h->k0[s] + (int32_t)h->nk[s] - 1) : k;
    /* Grow geometrically, with slack on the side that grew. */
    uint32_t need = (uint32_t)(hi - lo + 1), n = h->nk[s] ? 2 * h->nk[s] : 64;
    while (n < need)
        n *= 2;
    int32_t slack = (int32_t)(n - need);
    int32_t nk0 = lo;
    if (h->nk[s] && k < h->k0[s])
        nk0 = lo - slack; /* grew downwards: the room goes below */
    else if (!h->nk[s])
        nk0 = lo - slack / 2;
    uint64_t *c = calloc(n, sizeof *c);
    if (c == NULL)
        return LLMSIM_ENOMEM;
    if (h->nk[s])
        memcpy(c + (h->k0[s] - nk0), h->cnt[s], h->nk[s] * sizeof *c);
    free(h->cnt[s]);
    h->cnt[s] = c;
    h->k0[s] = nk0;
    h->nk[s] = n;
    return 0;
}

/* Room for the value of key in h.  Returns 0 or LLMSIM_ENOMEM. */
static inline int room(struct ana_vhist *h, struct vkey key)
{
    return key.zero ? 0 : ensure(h, key.s, key.k);
}

/* Counts x (key its place; room made). */
static inline void put(struct ana_vhist *h, struct vkey key, double x)
{
    if (key.zero)
        h->zero++;
    else
        h->cnt[key.s][key.k - h->k0[key.s]]++;
    if (h->n == 0 || x < h->min)
        h->min = x;
    if (h->n == 0 || x > h->max)
        h->max = x;
    h->n++;
}

int ana_vhist_add(struct ana_vhist *h, double x)
{
    struct vkey key = key_of(x);
    int rc = room(h, key);
    if (rc)
        return rc;
    put(h, key, x);
    return 0;
}

static double clampv(const struct ana_vhist *h, double v)
{
    return v < h->min ? h->min : v > h->max ? h->max : v;
}

/* The stand-in of the i-th smallest value (0-based, i < n). */
static double value_at(const struct ana_vhist *h, uint64_t i)
{
    uint64_t cum = 0;
    /* negatives: largest magnitude first */
    for (int32_t j = (int32_t)h->nk[1] - 1; j >= 0; j--) {
        cum += h->cnt[1][j];
        if (i < cum)
            return clampv(h, -pow(ANA_VH_RATIO, h->k0[1] + j + 0.5));
    }
    cum += h->zero;
    if (i < cum)
        return clampv(h, 0.0);
    for (uint32_t j = 0; j < h->nk[0]; j++) {
        cum += h->cnt[0][j];
        if (i < cum)
            return clampv(h, pow(ANA_VH_RATIO, h->k0[0] + (int32_t)j + 0.5));
    }
    return h->max;
}

/* Type-7 quantile p of the n values whose i-th smallest is at(h, i). */
static double type7(const struct ana_vhist *h, double p, double (*at)(const struct ana_vhist *, uint64_t))
{
    if (h->n == 0)
        return NAN;
    double r = (double)(h->n - 1) * p;
    uint64_t lo = (uint64_t)floor(r);
    double v = at(h, lo);
    if (lo + 1 >= h->n)
        return v;
    return v + (r - (double)lo) * (at(h, lo + 1) - v);
}

double ana_vhist_quantile(const struct ana_vhist *h, double p)
{
    return type7(h, p, value_at);
}

/* The spread stand-in of the i-th smallest value (0-based, i < n): the
 * j-th of a bucket's c values at lo + (j + 1/2) (hi - lo) / c. */
static double smooth_at(const struct ana_vhist *h, uint64_t i)
{
    uint64_t cum = 0;
    /* negatives: largest magnitude first, so from the bucket's outer edge */
    for (int32_t j = (int32_t)h->nk[1] - 1; j >= 0; j--) {
        uint64_t c = h->cnt[1][j];
        if (i < cum + c) {
            double lo = pow(ANA_VH_RATIO, h->k0[1] + j), hi = lo * ANA_VH_RATIO;
            return clampv(h, -(hi - ((double)(i - cum) + 0.5) / (double)c * (hi - lo)));
        }
        cum += c;
    }
    cum += h->zero;
    if (i < cum)
        return clampv(h, 0.0);
    for (uint32_t j = 0; j < h->nk[0]; j++) {
        uint64_t c = h->cnt[0][j];
        if (i < cum + c) {
            double lo = pow(ANA_VH_RATIO, h->k0[0] + (int32_t)j), hi = lo * ANA_VH_RATIO;
            return clampv(h, lo + ((double)(i - cum) + 0.5) / (double)c * (hi - lo));
        }
        cum += c;
    }
    return h->max;
}

double ana_vhist_quantile_smooth(const struct ana_vhist *h, double p)
{
    return type7(h, p, smooth_at);
}

double ana_vhist_quantile_err(const struct ana_vhist *h, double p)
{
    if (h->n == 0)
        return NAN;
    if (h->min == h->max)
        return 0.0;
    double r = (double)(h->n - 1) * p;
    uint64_t lo = (uint64_t)floor(r);
    double a = fabs(value_at(h, lo)), b = lo + 1 < h->n ? fabs(value_at(h, lo + 1)) : a;
    return (sqrt(ANA_VH_RATIO) - 1.0) * (a > b ? a : b) + ANA_VH_TINY;
}

int ana_vhist_merge(struct ana_vhist *dst, const struct ana_vhist *src)
{
    if (src->n == 0)
        return 0;
    for (int s = 0; s < 2; s++) {
        uint32_t first = src->nk[s], last = 0;
        for (uint32_t j = 0; j < src->nk[s]; j++)
            if (src->cnt[s][j]) {
                if (first == src->nk[s])
                    first = j;
                last = j;
            }
        if (first == src->nk[s])
            continue;
        int rc = ensure(dst, s, src->k0[s] + (int32_t)first);
        if (rc == 0)
            rc = ensure(dst, s, src->k0[s] + (int32_t)last);
        if (rc)
            return rc; /* the counts are untouched: only the room grew */
    }
    for (int s = 0; s < 2; s++)
        for (uint32_t j = 0; j < src->nk[s]; j++)
            if (src->cnt[s][j])
                dst->cnt[s][src->k0[s] + (int32_t)j - dst->k0[s]] += src->cnt[s][j];
    dst->zero += src->zero;
    if (dst->n == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->n == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->n += src->n;
    return 0;
}

void ana_vhist_free(struct ana_vhist *h)
{
    free(h->cnt[0]);
    free(h->cnt[1]);
    memset(h, 0, sizeof *h);
}

void ana_bmeans_add(struct ana_bmeans *b, double x)
{
    if (b->bsize == 0)
        b->bsize = 1;
    b->cur += x;
    if (++b->curn < b->bsize)
        return;
    b->bsum[b->nb++] = b->cur;
    b->cur = 0;
    b->curn = 0;
    if (b->nb == 2 * ANA_BM_BATCHES) {
        for (int i = 0; i < ANA_BM_BATCHES; i++)
            b->bsum[i] = b->bsum[2 * i] + b->bsum[2 * i + 1];
        b->nb = ANA_BM_BATCHES;
        b->bsize *= 2;
    }
}

size_t ana_bmeans_get(const struct ana_bmeans *b, double *means)
{
    for (uint32_t i = 0; i < b->nb; i++)
        means[i] = b->bsum[i] / (double)b->bsize;
    return b->nb;
}

int ana_qbatch_add(struct ana_qbatch *q, double x, struct ana_vhist *also)
{
    if (q->broken)
        return LLMSIM_ENOMEM;
    struct vkey key = key_of(x); /* once for both histograms */
    int rc = room(&q->cur, key);
    if (rc == 0 && also)
        rc = room(also, key);
    if (rc)
        return rc;
    put(&q->cur, key, x);
    if (also)
        put(also, key, x);
    if (q->bsize == 0)
        q->bsize = 1;
    if (q->cur.n < q->bsize)
        return 0;
    q->b[q->nb++] = q->cur;
    memset(&q->cur, 0, sizeof q->cur);
    if (q->nb == 2 * ANA_BM_BATCHES) {
        /* Batch i becomes batches 2i and 2i + 1 merged; slot i is empty by
         * then (its old batch went into slot i / 2). */
        for (uint32_t i = 0; i < ANA_BM_BATCHES; i++) {
            if ((rc = ana_vhist_merge(&q->b[2 * i], &q->b[2 * i + 1])) != 0) {
                q->broken = 1;
                return rc;
            }
            ana_vhist_free(&q->b[2 * i + 1]);
            if (i > 0) {
                q->b[i] = q->b[2 * i];
                memset(&q->b[2 * i], 0, sizeof q->b[2 * i]);
            }
        }
        q->nb = ANA_BM_BATCHES;
        q->bsize *= 2;
    }
    return 0;
}

int ana_qbatch_all(const struct ana_qbatch *q, struct ana_vhist *out)
{
    memset(out, 0, sizeof *out);
    int rc = ana_vhist_merge(out, &q->cur);
    for (uint32_t i = 0; rc == 0 && i < q->nb; i++)
        rc = ana_vhist_merge(out, &q->b[i]);
    if (rc)
        ana_vhist_free(out);
    return rc;
}

void ana_qbatch_free(struct ana_qbatch *q)
{
    for (uint32_t i = 0; i < 2 * ANA_BM_BATCHES; i++)
        ana_vhist_free(&q->b[i]);
    ana_vhist_free(&q->cur);
    memset(q, 0, sizeof *q);
}
