/* Bounded-memory summaries of a stream of values; see sketch.h. */
#include "sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"

/* Bucket index of magnitude a >= ANA_VH_TINY. */
static int32_t bucket_of(double a)
{
    return (int32_t)floor(log(a) / log(ANA_VH_RATIO));
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

int ana_vhist_add(struct ana_vhist *h, double x)
{
    double a = fabs(x);
    if (a >= ANA_VH_TINY) {
        int s = x < 0;
        int32_t k = bucket_of(a);
        int rc = ensure(h, s, k);
        if (rc)
            return rc;
        h->cnt[s][k - h->k0[s]]++;
    } else {
        h->zero++;
    }
    if (h->n == 0 || x < h->min)
        h->min = x;
    if (h->n == 0 || x > h->max)
        h->max = x;
    h->n++;
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

double ana_vhist_quantile(const struct ana_vhist *h, double p)
{
    if (h->n == 0)
        return NAN;
    double r = (double)(h->n - 1) * p;
    uint64_t lo = (uint64_t)floor(r);
    double v = value_at(h, lo);
    if (lo + 1 >= h->n)
        return v;
    return v + (r - (double)lo) * (value_at(h, lo + 1) - v);
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
