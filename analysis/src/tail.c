/* llmsim: tail attribution (see llmsim/tail.h and docs/tail.md).
 *
 * The sink keeps one struct kept per measured request in a growable array
 * (capacity doubling up to the cap); past the cap, algorithm R (Vitter 1985):
 * the i-th measured request (from 0, i >= cap) replaces slot j, drawn
 * uniformly from [0, i], when j < cap, so every request seen is in the
 * sample with probability cap / seen.  ana_tail_compute sorts a copy of each
 * metric's values for the type-7 percentiles, then counts and sums in one
 * pass per metric. */
#include "llmsim/tail.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bits of kept.bits. */
enum {
    KB_RATE_LIMITED = 1u << 0,
    KB_CLIENT_QUEUED = 1u << 1,
    KB_ESCALATED = 1u << 2,
    KB_PREEMPTED = 1u << 3,
    KB_CACHE_HIT = 1u << 4,
    KB_SPILLED = 1u << 5,
    KB_BATCH = 1u << 6
};

/* What one request leaves behind: 48 bytes. */
struct kept {
    double e2e_s, ttft_s, queue_s, escalation_s;
    uint32_t input_tokens, output_tokens;
    uint16_t class_idx, deployment, replica;
    uint8_t turn; /* 0 none, 1, 2, 3 (3-4), 4 (5+) */
    uint8_t bits;
};
_Static_assert(sizeof(struct kept) == 48, "struct kept is 48 bytes");

/* Feature dimensions; their categories are laid out one after the other. */
enum {
    D_CLASS,
    D_DEPLOYMENT,
    D_REPLICA,
    D_PROMPT,
    D_OUTPUT,
    D_TURN,
    D_CACHE,
    D_PREEMPTED,
    D_ESCALATED,
    D_RATE_LIMITED,
    D_CLIENT_QUEUED,
    D_SPILLED,
    D_BATCH,
    N_DIMS
};
#define N_TOKEN_BUCKETS 34 /* 0, then [2^k, 2^(k+1)) for k = 0..32 */
#define N_TURNS 5

struct ana_tail {
    size_t nc, nd;
    char (*class_names)[SIM_NAME_MAX];
    char (*dep_names)[SIM_NAME_MAX];
    uint64_t seed;
    uint64_t rng; /* SplitMix64 state */
    uint64_t cap; /* kept requests before sampling */
    uint64_t measured;
    struct kept *v;
    size_t n, alloc;
    /* results */
    int computed;
    struct ana_tail_summary sum[ANA_TAIL_N_METRICS];
    struct ana_tail_row *rows;
    size_t nrows;
};

static const char *const metric_names[ANA_TAIL_N_METRICS] = {"e2e_s", "ttft_s"};
static const char *const comp_names[ANA_TAIL_N_COMPS] = {
    "rate_limit_wait", "queue", "escalation", "prefill", "decode", "preempted_service"};
static const char *const comp_labels[ANA_TAIL_N_COMPS] = {
    "rate-limit and retry wait",    "scheduler queue", "escalation (lower tiers)",
    "prefill (start to 1st token)", "decode",          "service of preempted reqs"};

const char *ana_tail_metric_name(int metric)
{
    return metric >= 0 && metric < ANA_TAIL_N_METRICS ? metric_names[metric] : NULL;
}

const char *ana_tail_comp_name(int comp)
{
    return comp >= 0 && comp < ANA_TAIL_N_COMPS ? comp_names[comp] : NULL;
}

/* ---- per-request components --------------------------------------------- */

static void kept_of(const struct sim_request_record *r, struct kept *k)
{
    memset(k, 0, sizeof *k);
    k->e2e_s = r->e2e_s;
    k->ttft_s = r->ttft_s;
    k->queue_s = r->queue_s;
    double esc = 0;
    if (r->tiers > 1) {
        /* prefill_start_s is the first tier's start, dispatch_s the
         * dispatch to the answering tier (world.c). */
        esc = r->dispatch_s - r->prefill_start_s;
        double room = r->ttft_s - r->queue_s;
        if (!(esc > 0)) /* NaN too */
            esc = 0;
        if (esc > room)
            esc = room > 0 ? room : 0;
    }
    k->escalation_s = esc;
    k->input_tokens = r->input_tokens;
    k->output_tokens = r->output_tokens;
    k->class_idx = (uint16_t)r->class_idx;
    k->deployment = (uint16_t)r->deployment;
    k->replica = (uint16_t)r->replica;
    k->turn = r->session < 0 || r->turn <= 0 ? 0
              : r->turn == 1                 ? 1
              : r->turn == 2                 ? 2
              : r->turn <= 4                 ? 3
                                             : 4;
    uint32_t f = r->flags;
    k->bits =
        (uint8_t)(((f & SIM_RF_RATE_LIMITED) ? KB_RATE_LIMITED : 0) |
                  ((f & SIM_RF_CLIENT_QUEUED) ? KB_CLIENT_QUEUED : 0) |
                  ((r->tiers > 1 || (f & SIM_RF_ESCALATED)) ? KB_ESCALATED : 0) |
                  ((r->preemptions > 0 || (f & SIM_RF_PREEMPTED)) ? KB_PREEMPTED : 0) |
                  (r->cached_tokens > 0 ? KB_CACHE_HIT : 0) |
                  ((f & SIM_RF_SPILLED) ? KB_SPILLED : 0) | ((f & SIM_RF_BATCH) ? KB_BATCH : 0));
}

static double kept_components(const struct kept *k, int metric, double out[ANA_TAIL_N_COMPS])
{
    for (int c = 0; c < ANA_TAIL_N_COMPS; c++)
        out[c] = 0;
    int limited = (k->bits & (KB_RATE_LIMITED | KB_CLIENT_QUEUED)) != 0;
    int preempted = (k->bits & KB_PREEMPTED) != 0;
    out[limited ? ANA_TAIL_RATE_LIMIT : ANA_TAIL_QUEUE] = k->queue_s;
    out[ANA_TAIL_ESCALATION] = k->escalation_s;
    double first = k->ttft_s - k->queue_s - k->escalation_s;
    out[preempted ? ANA_TAIL_PREEMPTED : ANA_TAIL_PREFILL] += first;
    if (metric == ANA_TAIL_TTFT)
        return k->ttft_s;
    out[preempted ? ANA_TAIL_PREEMPTED : ANA_TAIL_DECODE] += k->e2e_s - k->ttft_s;
    return k->e2e_s;
}

double ana_tail_components(const struct sim_request_record *r, int metric,
                           double out[ANA_TAIL_N_COMPS])
{
    for (int c = 0; c < ANA_TAIL_N_COMPS; c++)
        out[c] = 0;
    if (!r || metric < 0 || metric >= ANA_TAIL_N_METRICS)
        return NAN;
    struct kept k;
    kept_of(r, &k);
    return kept_components(&k, metric, out);
}

/* ---- handle and sink ---------------------------------------------------- */

int ana_tail_alloc(struct ana_tail **out, const struct sim_scenario *sc)
{
    if (!out || !sc)
        return LLMSIM_EINVAL;
    *out = NULL;
    if (sc->workload.n_classes > 65535 || sc->n_deployments > 65535)
        return LLMSIM_EINVAL;
    struct ana_tail *t = calloc(1, sizeof *t);
    if (!t)
        return LLMSIM_ENOMEM;
    t->nc = sc->workload.n_classes;
    t->nd = sc->n_deployments;
    t->class_names = calloc(t->nc ? t->nc : 1, sizeof *t->class_names);
    t->dep_names = calloc(t->nd ? t->nd : 1, sizeof *t->dep_names);
    if (!t->class_names || !t->dep_names) {
        ana_tail_free(t);
        return LLMSIM_ENOMEM;
    }
    for (size_t c = 0; c < t->nc; c++)
        snprintf(t->class_names[c], SIM_NAME_MAX, "%s", sc->workload.classes[c].name);
    for (size_t d = 0; d < t->nd; d++)
        snprintf(t->dep_names[d], SIM_NAME_MAX, "%s", sc->deployments[d].name);
    t->seed = sc->seed;
    t->rng = sc->seed ^ 0x7461696c2d726573ULL; /* "tail-res" */
    t->cap = ANA_TAIL_CAP;
    *out = t;
    return 0;
}

void ana_tail_free(struct ana_tail *t)
{
    if (!t)
        return;
    free(t->class_names);
    free(t->dep_names);
    free(t->v);
    free(t->rows);
    free(t);
}

int ana_tail_set_cap(struct ana_tail *t, uint64_t cap)
{
    if (!t || cap == 0)
        return LLMSIM_EINVAL;
    if (t->measured > 0)
        return LLMSIM_ESTATE;
    t->cap = cap;
    return 0;
}

uint64_t ana_tail_measured(const struct ana_tail *t)
{
    return t ? t->measured : 0;
}

uint64_t ana_tail_kept(const struct ana_tail *t)
{
    return t ? (uint64_t)t->n : 0;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) (bound >= 1), without modulo bias. */
static uint64_t uniform_below(uint64_t *s, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t x = splitmix64(s);
        if (x >= threshold)
            return x % bound;
    }
}

static int tail_add(void *ctx, const struct sim_request_record *r)
{
    struct ana_tail *t = ctx;
    if (r->flags & (SIM_RF_WARMUP | SIM_RF_REJECTED | SIM_RF_PREFETCH_WASTED))
        return 0;
    size_t ncls = t->nc ? t->nc : 1;
    if (r->class_idx < 0 || (size_t)r->class_idx >= ncls || r->deployment < 0 ||
        (size_t)r->deployment >= (t->nd ? t->nd : 1) || r->replica < 0 || r->replica > 65535)
        return LLMSIM_EINVAL;
    if (!isfinite(r->ttft_s) || !isfinite(r->e2e_s) || !isfinite(r->queue_s))
        return LLMSIM_ERANGE;
    struct kept k;
    kept_of(r, &k);
    if ((uint64_t)t->n < t->cap) {
        if (t->n == t->alloc) {
            size_t na = t->alloc ? 2 * t->alloc : 1024;
            if ((uint64_t)na > t->cap)
                na = (size_t)t->cap;
            struct kept *nv = realloc(t->v, na * sizeof *nv);
            if (!nv)
                return LLMSIM_ENOMEM;
            t->v = nv;
            t->alloc = na;
        }
        t->v[t->n++] = k;
    } else {
        uint64_t j = uniform_below(&t->rng, t->measured + 1);
        if (j < t->cap)
            t->v[j] = k;
    }
    t->measured++;
    t->computed = 0;
    return 0;
}

struct sim_sink ana_tail_sink(struct ana_tail *t)
{
    return (struct sim_sink){t, tail_add, NULL, NULL, NULL};
}

/* ---- features ----------------------------------------------------------- */

/* Category layout: off[d] is dimension d's first index, off[N_DIMS] the total. */
struct layout {
    size_t off[N_DIMS + 1];
    size_t *rep_off; /* per deployment: first replica index within D_REPLICA */
    uint16_t *rep_max;
};

static size_t dim_size(const struct ana_tail *t, const struct layout *L, int d)
{
    switch (d) {
    case D_CLASS:
        return t->nc ? t->nc : 1;
    case D_DEPLOYMENT:
        return t->nd ? t->nd : 1;
    case D_REPLICA: {
        size_t n = 0;
        for (size_t i = 0; i < (t->nd ? t->nd : 1); i++)
            n += (size_t)L->rep_max[i] + 1;
        return n;
    }
    case D_PROMPT:
    case D_OUTPUT:
        return N_TOKEN_BUCKETS;
    case D_TURN:
        return N_TURNS;
    default:
        return 2; /* flags: 0 yes, 1 no (cache: 0 hit, 1 miss) */
    }
}

static size_t token_bucket(uint32_t n)
{
    size_t b = 0;
    while (n) {
        b++;
        n >>= 1;
    }
    return b; /* 0 for 0; k + 1 for [2^k, 2^(k+1)) */
}

static void fmt_tokens(char *buf, size_t n, uint64_t v)
{
    if (v >= (1ULL << 20) && v % (1ULL << 20) == 0)
        snprintf(buf, n, "%lluM", (unsigned long long)(v >> 20));
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, n, "%lluk", (unsigned long long)(v >> 10));
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

/* The categories of request k, one per dimension, as global indices. */
static void categories(const struct layout *L, const struct kept *k, size_t cat[N_DIMS])
{
    cat[D_CLASS] = L->off[D_CLASS] + k->class_idx;
    cat[D_DEPLOYMENT] = L->off[D_DEPLOYMENT] + k->deployment;
    cat[D_REPLICA] = L->off[D_REPLICA] + L->rep_off[k->deployment] + k->replica;
    cat[D_PROMPT] = L->off[D_PROMPT] + token_bucket(k->input_tokens);
    cat[D_OUTPUT] = L->off[D_OUTPUT] + token_bucket(k->output_tokens);
    cat[D_TURN] = L->off[D_TURN] + k->turn;
    static const uint8_t bit_of[N_DIMS] = {[D_CACHE] = KB_CACHE_HIT,
                                           [D_PREEMPTED] = KB_PREEMPTED,
                                           [D_ESCALATED] = KB_ESCALATED,
                                           [D_RATE_LIMITED] = KB_RATE_LIMITED,
                                           [D_CLIENT_QUEUED] = KB_CLIENT_QUEUED,
                                           [D_SPILLED] = KB_SPILLED,
                                           [D_BATCH] = KB_BATCH};
    for (int d = D_CACHE; d < N_DIMS; d++)
        cat[d] = L->off[d] + ((k->bits & bit_of[d]) ? 0 : 1);
}

static void category_name(const struct ana_tail *t, const struct layout *L, int d, size_t i,
                          char *buf, size_t n)
{
    static const char *const flag_dim[N_DIMS] = {
        [D_PREEMPTED] = "preempted",       [D_ESCALATED] = "escalated",
        [D_RATE_LIMITED] = "rate_limited", [D_CLIENT_QUEUED] = "client_queued",
        [D_SPILLED] = "spilled",           [D_BATCH] = "batch"};
    static const char *const turns[N_TURNS] = {"none", "1", "2", "3-4", "5+"};
    char lo[24], hi[24];
    switch (d) {
    case D_CLASS:
        if (t->nc)
            snprintf(buf, n, "class:%s", t->class_names[i]);
        else
            snprintf(buf, n, "class:%zu", i);
        break;
    case D_DEPLOYMENT:
        if (t->nd)
            snprintf(buf, n, "deployment:%s", t->dep_names[i]);
        else
            snprintf(buf, n, "deployment:%zu", i);
        break;
    case D_REPLICA: {
        size_t dep = 0;
        while (dep + 1 < (t->nd ? t->nd : 1) && L->rep_off[dep + 1] <= i)
            dep++;
        if (t->nd)
            snprintf(buf, n, "replica:%s/%zu", t->dep_names[dep], i - L->rep_off[dep]);
        else
            snprintf(buf, n, "replica:%zu", i - L->rep_off[dep]);
        break;
    }
    case D_PROMPT:
    case D_OUTPUT: {
        const char *what = d == D_PROMPT ? "prompt" : "output";
        if (i == 0) {
            snprintf(buf, n, "%s:0", what);
        } else {
            fmt_tokens(lo, sizeof lo, 1ULL << (i - 1));
            fmt_tokens(hi, sizeof hi, 1ULL << i);
            snprintf(buf, n, "%s:%s-%s", what, lo, hi);
        }
        break;
    }
    case D_TURN:
        snprintf(buf, n, "turn:%s", turns[i]);
        break;
    case D_CACHE:
        snprintf(buf, n, "cache:%s", i == 0 ? "hit" : "miss");
        break;
    default:
        snprintf(buf, n, "%s:%s", flag_dim[d], i == 0 ? "yes" : "no");
        break;
    }
}

/* Whether a category is shown: its dimension has two or more categories
 * present, and a replica's deployment had more than replica 0 serve. */
static int category_shown(const struct ana_tail *t, const struct layout *L, const uint64_t *all,
                          int d, size_t i)
{
    size_t present = 0;
    for (size_t j = L->off[d]; j < L->off[d + 1]; j++)
        present += all[j] > 0;
    if (present < 2 || all[L->off[d] + i] == 0)
        return 0;
    if (d == D_REPLICA) {
        size_t dep = 0;
        while (dep + 1 < (t->nd ? t->nd : 1) && L->rep_off[dep + 1] <= i)
            dep++;
        return L->rep_max[dep] > 0;
    }
    return 1;
}

/* ---- compute ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Features: lift descending (NaN last), then tail count descending, then name. */
static int cmp_feature(const void *a, const void *b)
{
    const struct ana_tail_row *x = a, *y = b;
    int xn = isnan(x->lift), yn = isnan(y->lift);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->lift != y->lift)
        return x->lift < y->lift ? 1 : -1;
    if (x->tail_count != y->tail_count)
        return x->tail_count < y->tail_count ? 1 : -1;
    if (x->all_count != y->all_count)
        return x->all_count < y->all_count ? 1 : -1;
    return strcmp(x->name, y->name);
}

static struct ana_tail_row *new_row(struct ana_tail_row **rows, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        struct ana_tail_row *r = realloc(*rows, nc * sizeof *r);
        if (!r)
            return NULL;
        *rows = r;
        *cap = nc;
    }
    struct ana_tail_row *r = &(*rows)[(*n)++];
    memset(r, 0, sizeof *r);
    r->tail_mean_s = r->median_mean_s = r->delta_s = r->delta_share = NAN;
    r->tail_share = r->all_share = r->lift = NAN;
    return r;
}

int ana_tail_compute(struct ana_tail *t)
{
    if (!t)
        return LLMSIM_EINVAL;
    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
    t->computed = 0;
    size_t rows_cap = 0, n = t->n, nd = t->nd ? t->nd : 1;
    int rc = 0;
    struct layout L = {{0}, NULL, NULL};
    double *x = malloc((n ? n : 1) * sizeof *x);
    L.rep_off = calloc(nd, sizeof *L.rep_off);
    L.rep_max = calloc(nd, sizeof *L.rep_max);
    uint64_t *all = NULL, *tail = NULL, *band = NULL;
    if (!x || !L.rep_off || !L.rep_max) {
        rc = LLMSIM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (t->v[i].replica > L.rep_max[t->v[i].deployment])
            L.rep_max[t->v[i].deployment] = t->v[i].replica;
    for (size_t d = 1; d < nd; d++)
        L.rep_off[d] = L.rep_off[d - 1] + (size_t)L.rep_max[d - 1] + 1;
    for (int d = 0; d < N_DIMS; d++)
        L.off[d + 1] = L.off[d] + dim_size(t, &L, d);
    size_t K = L.off[N_DIMS];
    all = calloc(K, sizeof *all);
    tail = calloc(K, sizeof *tail);
    band = calloc(K, sizeof *band);
    if (!all || !tail || !band) {
        rc = LLMSIM_ENOMEM;
        goto out;
    }
    size_t cat[N_DIMS];
    for (size_t i = 0; i < n; i++) {
        categories(&L, &t->v[i], cat);
        for (int d = 0; d < N_DIMS; d++)
            all[cat[d]]++;
    }

    for (int m = 0; m < ANA_TAIL_N_METRICS; m++) {
        struct ana_tail_summary *s = &t->sum[m];
        memset(s, 0, sizeof *s);
        for (size_t i = 0; i < n; i++)
            x[i] = m == ANA_TAIL_E2E ? t->v[i].e2e_s : t->v[i].ttft_s;
        qsort(x, n, sizeof *x, cmp_double);
        s->n = n;
        s->threshold_s = ana_quantile7(x, n, ANA_TAIL_P);
        s->median_lo_s = ana_quantile7(x, n, ANA_TAIL_BAND_LO);
        s->median_hi_s = ana_quantile7(x, n, ANA_TAIL_BAND_HI);
        double tsum[ANA_TAIL_N_COMPS + 1] = {0}, bsum[ANA_TAIL_N_COMPS + 1] = {0};
        memset(tail, 0, K * sizeof *tail);
        memset(band, 0, K * sizeof *band);
        for (size_t i = 0; i < n; i++) {
            double comp[ANA_TAIL_N_COMPS];
            double v = kept_components(&t->v[i], m, comp);
            int in_tail = v > s->threshold_s, in_band = v >= s->median_lo_s && v <= s->median_hi_s;
            if (!in_tail && !in_band)
                continue;
            double *acc = in_tail ? tsum : bsum;
            for (int c = 0; c < ANA_TAIL_N_COMPS; c++)
                acc[c] += comp[c];
            acc[ANA_TAIL_N_COMPS] += v;
            categories(&L, &t->v[i], cat);
            uint64_t *cnt = in_tail ? tail : band;
            for (int d = 0; d < N_DIMS; d++)
                cnt[cat[d]]++;
            if (in_tail)
                s->tail_n++;
            else
                s->median_n++;
        }
        /* Components, then total. */
        struct ana_tail_row *total = NULL;
        size_t first = t->nrows;
        for (int c = 0; c <= ANA_TAIL_N_COMPS; c++) {
            if (c == ANA_TAIL_DECODE && m == ANA_TAIL_TTFT)
                continue;
            struct ana_tail_row *r = new_row(&t->rows, &t->nrows, &rows_cap);
            if (!r) {
                rc = LLMSIM_ENOMEM;
                goto out;
            }
            r->metric = m;
            snprintf(r->name, sizeof r->name, "%s", c < ANA_TAIL_N_COMPS ? comp_names[c] : "total");
            r->tail_mean_s = s->tail_n ? tsum[c] / (double)s->tail_n : NAN;
            r->median_mean_s = s->median_n ? bsum[c] / (double)s->median_n : NAN;
            r->delta_s = r->tail_mean_s - r->median_mean_s;
            r->tail_count = s->tail_n;
            r->median_count = s->median_n;
            r->all_count = n;
            if (c == ANA_TAIL_N_COMPS)
                total = r;
        }
        for (size_t i = first; i < t->nrows; i++)
            t->rows[i].delta_share = total->delta_s != 0 && isfinite(total->delta_s)
                                         ? t->rows[i].delta_s / total->delta_s
                                         : NAN;
        /* Features. */
        size_t ffirst = t->nrows;
        for (int d = 0; d < N_DIMS; d++)
            for (size_t i = 0; i < L.off[d + 1] - L.off[d]; i++) {
                if (!category_shown(t, &L, all, d, i))
                    continue;
                size_t g = L.off[d] + i;
                struct ana_tail_row *r = new_row(&t->rows, &t->nrows, &rows_cap);
                if (!r) {
                    rc = LLMSIM_ENOMEM;
                    goto out;
                }
                r->metric = m;
                r->feature = 1;
                category_name(t, &L, d, i, r->name, sizeof r->name);
                r->tail_count = tail[g];
                r->median_count = band[g];
                r->all_count = all[g];
                r->all_share = (double)all[g] / (double)n;
                if (s->tail_n) {
                    r->tail_share = (double)tail[g] / (double)s->tail_n;
                    r->lift = r->tail_share / r->all_share;
                }
            }
        qsort(t->rows + ffirst, t->nrows - ffirst, sizeof *t->rows, cmp_feature);
    }
    t->computed = 1;
out:
    free(x);
    free(L.rep_off);
    free(L.rep_max);
    free(all);
    free(tail);
    free(band);
    if (rc != 0) {
        free(t->rows);
        t->rows = NULL;
        t->nrows = 0;
    }
    return rc;
}

int ana_tail_get_summary(const struct ana_tail *t, int metric, struct ana_tail_summary *out)
{
    if (!t || !out || metric < 0 || metric >= ANA_TAIL_N_METRICS)
        return LLMSIM_EINVAL;
    if (!t->computed)
        return LLMSIM_ESTATE;
    *out = t->sum[metric];
    return 0;
}

size_t ana_tail_rows(const struct ana_tail *t, const struct ana_tail_row **rows)
{
    if (rows)
        *rows = t && t->computed ? t->rows : NULL;
    return t && t->computed ? t->nrows : 0;
}

const struct ana_tail_row *ana_tail_find(const struct ana_tail *t, int metric, const char *name)
{
    if (!t || !t->computed || !name)
        return NULL;
    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].metric == metric && !strcmp(t->rows[i].name, name))
            return &t->rows[i];
    return NULL;
}

/* ---- print -------------------------------------------------------------- */

static void print_metric(const struct ana_tail *t, int m, FILE *f)
{
    static const char *const titles[ANA_TAIL_N_METRICS] = {"E2E", "TTFT"};
    const struct ana_tail_summary *s = &t->sum[m];
    if (s->tail_n == 0) {
        fprintf(f, "%s: no request above p95 = %.4g s (too few distinct values)\n", titles[m],
                s->threshold_s);
        return;
    }
    fprintf(f, "%s: %llu requests above p95 = %.4g s; median band %llu requests (%.4g to %.4g s)\n",
            titles[m], (unsigned long long)s->tail_n, s->threshold_s,
            (unsigned long long)s->median_n, s->median_lo_s, s->median_hi_s);
    fprintf(f, "  %-30s %11s %11s %11s %9s\n", "mean seconds per request", "tail", "median",
            "delta", "of delta");
    const struct ana_tail_row *total = NULL;
    for (size_t i = 0; i < t->nrows; i++) {
        const struct ana_tail_row *r = &t->rows[i];
        if (r->metric != m || r->feature)
            continue;
        if (!strcmp(r->name, "total")) {
            total = r;
            continue;
        }
        if (r->tail_mean_s == 0 && (r->median_mean_s == 0 || isnan(r->median_mean_s)))
            continue; /* a component neither group has */
        int c = 0;
        while (c < ANA_TAIL_N_COMPS - 1 && strcmp(comp_names[c], r->name))
            c++;
        fprintf(f, "    %-28s %11.4g %11.4g %+11.4g %8.1f%%\n", comp_labels[c], r->tail_mean_s,
                r->median_mean_s, r->delta_s, 100.0 * r->delta_share);
    }
    if (total)
        fprintf(f, "    %-28s %11.4g %11.4g %+11.4g %8.1f%%\n",
                m == ANA_TAIL_E2E ? "total (E2E)" : "total (TTFT)", total->tail_mean_s,
                total->median_mean_s, total->delta_s, 100.0 * total->delta_share);
    int shown = 0;
    for (size_t i = 0; i < t->nrows && shown < 10; i++) {
        const struct ana_tail_row *r = &t->rows[i];
        if (r->metric != m || !r->feature || r->tail_count < ANA_TAIL_MIN_SUPPORT || !(r->lift > 1))
            continue;
        if (!shown) {
            char head[64];
            snprintf(head, sizeof head, "shared by the tail (lift > 1, >= %d in tail)",
                     ANA_TAIL_MIN_SUPPORT);
            fprintf(f, "  %-46s %9s %9s %7s %7s\n", head, "in tail", "overall", "lift", "tail n");
        }
        fprintf(f, "    %-44.44s %8.1f%% %8.1f%% %7.3g %7llu\n", r->name, 100.0 * r->tail_share,
                100.0 * r->all_share, r->lift, (unsigned long long)r->tail_count);
        shown++;
    }
    if (!shown)
        fprintf(f,
                "  shared by the tail: no feature with >= %d tail requests is over-represented\n",
                ANA_TAIL_MIN_SUPPORT);
}

void ana_tail_print(const struct ana_tail *t, FILE *f)
{
    if (!t || !f)
        return;
    if (!t->computed) {
        fprintf(f, "tail attribution: not computed\n");
        return;
    }
    if (t->n == 0) {
        fprintf(f, "tail attribution: no measured requests\n");
        return;
    }
    if (t->measured > t->n)
        fprintf(f,
                "tail attribution: %llu measured requests; figures from a uniform sample of %llu "
                "of them\n"
                "  (reservoir, seed %llu: the same on every run)\n",
                (unsigned long long)t->measured, (unsigned long long)t->n,
                (unsigned long long)t->seed);
    else
        fprintf(f, "tail attribution: %llu measured requests\n", (unsigned long long)t->measured);
    fprintf(f,
            "  tail: above p95; median band: p45 to p55 (type-7 percentiles); lift: share in the\n"
            "  tail / share overall (docs/tail.md)\n");
    for (int m = 0; m < ANA_TAIL_N_METRICS; m++) {
        fputc('\n', f);
        print_metric(t, m, f);
    }
}

/* ---- write -------------------------------------------------------------- */

enum {
    C_METRIC,
    C_KIND,
    C_NAME,
    C_TAIL_MEAN,
    C_MEDIAN_MEAN,
    C_DELTA,
    C_DELTA_SHARE,
    C_TAIL_SHARE,
    C_ALL_SHARE,
    C_LIFT,
    C_TAIL_COUNT,
    C_MEDIAN_COUNT,
    C_ALL_COUNT,
    C_THRESHOLD,
    C_MEDIAN_LO,
    C_MEDIAN_HI,
    C_MEASURED,
    C_SAMPLED,
    N_COLS
};

static const struct ana_col_spec col_spec[N_COLS] = {
    {"metric", ANA_COL_STR, "", "latency metric whose tail this is: e2e_s or ttft_s"},
    {"kind", ANA_COL_STR, "", "component (time component, or total) or feature (request feature)"},
    {"name", ANA_COL_STR, "",
     "component (rate_limit_wait, queue, escalation, prefill, decode, preempted_service, total) or "
     "feature (class:, deployment:, replica:, prompt:, output:, turn:, cache:, preempted:, "
     "escalated:, "
     "rate_limited:, client_queued:, spilled:, batch:)"},
    {"tail_mean_s", ANA_COL_F64, "s", "component: mean seconds per tail request (above p95)"},
    {"median_mean_s", ANA_COL_F64, "s",
     "component: mean seconds per median-band request (p45 to p55)"},
    {"delta_s", ANA_COL_F64, "s", "component: tail_mean_s - median_mean_s"},
    {"delta_share", ANA_COL_F64, "1", "component: delta_s / the total row's delta_s"},
    {"tail_share", ANA_COL_F64, "1", "feature: share of the tail requests with it"},
    {"all_share", ANA_COL_F64, "1", "feature: share of all (kept) measured requests with it"},
    {"lift", ANA_COL_F64, "1",
     "feature: tail_share / all_share (> 1: over-represented in the tail)"},
    {"tail_count", ANA_COL_I64, "requests", "tail requests (feature: with it)"},
    {"median_count", ANA_COL_I64, "requests", "median-band requests (feature: with it)"},
    {"all_count", ANA_COL_I64, "requests", "kept measured requests (feature: with it)"},
    {"threshold_s", ANA_COL_F64, "s", "the metric's p95 (type 7): the tail is strictly above it"},
    {"median_lo_s", ANA_COL_F64, "s", "the metric's p45: the median band's lower end"},
    {"median_hi_s", ANA_COL_F64, "s", "the metric's p55: the median band's upper end"},
    {"measured", ANA_COL_I64, "requests",
     "measured requests seen (warm-up, rejected, wasted prefetches out)"},
    {"sampled", ANA_COL_I64, "", "1 when the figures come from a uniform reservoir sample of them"},
};

int ana_tail_write(const struct ana_tail *t, struct ana_h5 *h, struct llmsim_error *err)
{
    if (!t || !h)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "tail: nothing to write");
    if (!t->computed)
        return llmsim_error_set(err, LLMSIM_ESTATE, NULL, 0, 0, "tail: not computed");
    size_t n = t->nrows;
    struct ana_col cols[N_COLS];
    int rc = ana_cols_alloc(cols, col_spec, N_COLS, n);
    if (rc != 0) {
        rc = llmsim_error_set(err, rc, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ana_tail_row *r = &t->rows[i];
        const struct ana_tail_summary *s = &t->sum[r->metric];
        cols[C_METRIC].str[i] = (char *)metric_names[r->metric];
        cols[C_KIND].str[i] = (char *)(r->feature ? "feature" : "component");
        cols[C_NAME].str[i] = (char *)r->name;
        cols[C_TAIL_MEAN].f64[i] = r->tail_mean_s;
        cols[C_MEDIAN_MEAN].f64[i] = r->median_mean_s;
        cols[C_DELTA].f64[i] = r->delta_s;
        cols[C_DELTA_SHARE].f64[i] = r->delta_share;
        cols[C_TAIL_SHARE].f64[i] = r->tail_share;
        cols[C_ALL_SHARE].f64[i] = r->all_share;
        cols[C_LIFT].f64[i] = r->lift;
        cols[C_TAIL_COUNT].i64[i] = (int64_t)r->tail_count;
        cols[C_MEDIAN_COUNT].i64[i] = (int64_t)r->median_count;
        cols[C_ALL_COUNT].i64[i] = (int64_t)r->all_count;
        cols[C_THRESHOLD].f64[i] = s->threshold_s;
        cols[C_MEDIAN_LO].f64[i] = s->median_lo_s;
        cols[C_MEDIAN_HI].f64[i] = s->median_hi_s;
        cols[C_MEASURED].i64[i] = (int64_t)t->measured;
        cols[C_SAMPLED].i64[i] = t->measured > (uint64_t)t->n;
    }
    rc = ana_h5_write_table(h, "tail", cols, N_COLS, n, err);
out:
    ana_cols_release(cols, N_COLS); /* the strings themselves are borrowed */
    return rc;
}
