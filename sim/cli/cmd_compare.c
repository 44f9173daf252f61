/* llmsim compare: results files side by side, with the confidence interval
 * of every difference against the first file.
 *
 * Per file: the root attributes and /summary (ana_h5_read), the replications
 * attribute and /scenario (ana_h5_read_extra) and, when the file has
 * /requests, per-group figures (ana_h5_read_groups: one group per
 * replication, or time batches of a single replication).  Files are put in
 * natural order of their paths (--baseline puts one first) and labelled by
 * the resolved scenario keys that differ between them (compare.h).
 *
 * A row is a metric of one scope; it is left out when no file has it (or,
 * for cost lines, cache and rejection rows, when it is zero in every file).
 * The difference shown is that of the values shown (pooled over
 * replications, as /summary has them).  Its 95% half-width comes from:
 *   - the group figures when both files have them: paired differences
 *     (Student t over the groups) when the two files ran on common random
 *     numbers (same seed, same replications, and for single replications
 *     the same batch window), Welch over the groups otherwise;
 *   - else, for means, Welch's combination of the two summaries' ci95
 *     (degrees of freedom: replications - 1, or 9 for the ten batch means of
 *     a single replication);
 *   - else, for percentiles, the two summaries' percentile half-widths
 *     (p50_ci95 ... p99_ci95, results.h "Percentile intervals") in
 *     quadrature, sqrt(a^2 + b^2): the files' estimates taken as independent
 *     (normal approximation).  Files on common random numbers are positively
 *     correlated, so for them it is conservative: there is no paired form
 *     without per-group figures;
 *   - else none.
 * The cost rows use the group figures only where every cost is attributed to
 * requests (no idle GPU time, no cache storage fee, no wasted prefetch): the
 * requests' lines then make up the whole cost.
 *
 * Exit status: 0; 2 for a usage error or a file that is not a readable
 * llmsim results file; 1 when out of memory.  An incomplete file (complete =
 * 0) is compared with a warning and marked. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "llmsim/compare.h"
#include "llmsim/results.h"

static const char usage[] =
    "usage: llmsim compare A.h5 B.h5 ... [--by class|deployment|tenant|tier] [--csv | --json]\n"
    "                      [--baseline FILE]\n"
    "\n"
    "Prints results files side by side: latency percentiles, throughput, the cost per\n"
    "1000 requests and its lines, $/hour and $/month, quality, SLO attainment and\n"
    "goodput, cache hit ratios and, per self-hosted deployment, GPU busy time, MFU and\n"
    "preemptions (rows no file has are left out).  Files are taken in natural order of\n"
    "their names (run2 before run10) and labelled by the scenario keys that set them\n"
    "apart.  Every file after the first gets its difference from the first with the\n"
    "half-width of its 95% confidence interval, and '*' when the interval excludes 0:\n"
    "paired by replication (or by time batch of one replication) when the files share\n"
    "their seed (common random numbers), unpaired otherwise.\n"
    "\n"
    "options:\n"
    "  --by class        one table per request class instead of one for all requests\n"
    "  --by deployment   one table per deployment\n"
    "  --by tenant       one table per tenant (scenarios whose classes name tenants)\n"
    "  --by tier         one table per priority tier (classes with more than one priority)\n"
    "  --csv             one CSV row per metric: a column per file, then per later file\n"
    "                    its difference, half-width, significance and method\n"
    "  --json            the same as one JSON object, with the files' labels\n"
    "  --baseline FILE   compare against FILE (one of the files) instead of the first\n"
    "  -h, --help        show this help\n";

#define WIDTH_MAX 100 /* text output fits this many columns for 2-3 files */
#define LABEL_MAX 90  /* bytes of a file label */
#define HOURS_PER_MONTH 730.0
#define BATCH_DOF 9.0 /* ten batch means of one replication (results.h) */

enum kind { K_SUMMARY, K_GOODPUT, K_HOUR, K_MONTH };
enum show { SH_ALWAYS, SH_PRESENT, SH_NONZERO, SH_NOT_ONE };
enum cost_ci { CC_ANY, CC_TOTAL, CC_GPU }; /* when group cost figures stand for the row */

struct rowdef {
    const char *section; /* NULL: GPU rows (section named by the deployment) */
    const char *label;
    const char *unit;
    const char *metric; /* /summary metric */
    enum ana_gstat stat;
    int count; /* the value is the row's count */
    double scale;
    enum show show;
    enum kind kind;
    const char *gq; /* group quantity for the CI; NULL: none */
    double gscale;  /* display units per group unit */
    enum cost_ci cc;
    int runlevel; /* a run-level metric (its count is replications) */
    int flag;     /* 1/0 shown as yes/no */
};

/* clang-format off */
static const struct rowdef rowdefs[] = {
    {"latency", "requests", "", "e2e_s", ANA_GS_MEAN, 1, 1, SH_ALWAYS, K_SUMMARY, NULL, 0, CC_ANY, 0, 0},
    {"latency", "TTFT p50", "ms", "ttft_s", ANA_GS_P50, 0, 1e3, SH_PRESENT, K_SUMMARY, "ttft_s", 1e3, CC_ANY, 0, 0},
    {"latency", "TTFT p95", "ms", "ttft_s", ANA_GS_P95, 0, 1e3, SH_PRESENT, K_SUMMARY, "ttft_s", 1e3, CC_ANY, 0, 0},
    {"latency", "TTFT p99", "ms", "ttft_s", ANA_GS_P99, 0, 1e3, SH_PRESENT, K_SUMMARY, "ttft_s", 1e3, CC_ANY, 0, 0},
    {"latency", "ITL p50", "ms", "itl_s", ANA_GS_P50, 0, 1e3, SH_PRESENT, K_SUMMARY, "itl_s", 1e3, CC_ANY, 0, 0},
    {"latency", "ITL p95", "ms", "itl_s", ANA_GS_P95, 0, 1e3, SH_PRESENT, K_SUMMARY, "itl_s", 1e3, CC_ANY, 0, 0},
    {"latency", "ITL p99", "ms", "itl_s", ANA_GS_P99, 0, 1e3, SH_PRESENT, K_SUMMARY, "itl_s", 1e3, CC_ANY, 0, 0},
    {"latency", "E2E p50", "s", "e2e_s", ANA_GS_P50, 0, 1, SH_PRESENT, K_SUMMARY, "e2e_s", 1, CC_ANY, 0, 0},
    {"latency", "E2E p95", "s", "e2e_s", ANA_GS_P95, 0, 1, SH_PRESENT, K_SUMMARY, "e2e_s", 1, CC_ANY, 0, 0},
    {"latency", "E2E p99", "s", "e2e_s", ANA_GS_P99, 0, 1, SH_PRESENT, K_SUMMARY, "e2e_s", 1, CC_ANY, 0, 0},
    {"latency", "queue p95", "ms", "queue_s", ANA_GS_P95, 0, 1e3, SH_NONZERO, K_SUMMARY, "queue_s", 1e3, CC_ANY, 0, 0},
    {"throughput and cost", "throughput", "req/s", "throughput_rps", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"throughput and cost", "cost / 1k req", "USD", "cost_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, "cost_usd", 1e3, CC_TOTAL, 1, 0},
    {"throughput and cost", "  input", "USD", "cost_input_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, "cost_input_usd", 1e3, CC_ANY, 1, 0},
    {"throughput and cost", "  cache write", "USD", "cost_cache_write_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, "cost_cache_write_usd", 1e3, CC_ANY, 1, 0},
    {"throughput and cost", "  cache read", "USD", "cost_cache_read_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, "cost_cache_read_usd", 1e3, CC_ANY, 1, 0},
    {"throughput and cost", "  output", "USD", "cost_output_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, "cost_output_usd", 1e3, CC_ANY, 1, 0},
    {"throughput and cost", "  GPU", "USD", "cost_gpu_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, "cost_gpu_usd", 1e3, CC_GPU, 1, 0},
    {"throughput and cost", "  cache storage", "USD", "cost_cache_storage_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"throughput and cost", "  electricity", "USD", "cost_energy_per_1k_usd", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"throughput and cost", "cost / hour", "USD", "cost_per_hour_usd", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_HOUR, NULL, 0, CC_ANY, 1, 0},
    {"throughput and cost", "cost / month", "USD", "cost_per_month_usd", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_MONTH, NULL, 0, CC_ANY, 1, 0},
    {"quality and SLO", "quality", "%", "success", ANA_GS_MEAN, 0, 100, SH_NOT_ONE, K_SUMMARY, "success", 100, CC_ANY, 0, 0},
    {"quality and SLO", "SLO attainment", "%", "slo_met", ANA_GS_MEAN, 0, 100, SH_PRESENT, K_SUMMARY, "slo_met", 100, CC_ANY, 0, 0},
    {"quality and SLO", "goodput", "req/s", "slo_met", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_GOODPUT, NULL, 0, CC_ANY, 1, 0},
    {"quality and SLO", "rejected", "%", "rejected", ANA_GS_MEAN, 0, 100, SH_NONZERO, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"quality and SLO", "stable", "", "stable", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 1},
    {"cache", "requests with a hit", "%", "cache_hit_requests", ANA_GS_MEAN, 0, 100, SH_NONZERO, K_SUMMARY, "cache_hit_requests", 100, CC_ANY, 0, 0},
    {"cache", "prompt tokens hit", "%", "cache_hit_tokens", ANA_GS_MEAN, 0, 100, SH_NONZERO, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"cache", "saved / 1k req", "USD", "savings_usd_per_1k", ANA_GS_MEAN, 0, 1, SH_NONZERO, K_SUMMARY, NULL, 0, CC_ANY, 0, 0},
    {"energy", "energy", "kWh", "energy_kwh", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"energy", "energy / 1k req", "kWh", "energy_per_1k_kwh", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"energy", "electricity", "USD", "energy_usd", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"energy", "CO2", "kg", "co2_g", ANA_GS_MEAN, 0, 1e-3, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {"energy", "CO2 / 1k req", "g", "co2_per_1k_g", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
};
/* Per self-hosted deployment. */
static const struct rowdef gpu_rowdefs[] = {
    {NULL, "busy", "%", "utilization", ANA_GS_MEAN, 0, 100, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {NULL, "MFU", "%", "mfu", ANA_GS_MEAN, 0, 100, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
    {NULL, "preemptions", "", "preemptions_total", ANA_GS_MEAN, 0, 1, SH_PRESENT, K_SUMMARY, NULL, 0, CC_ANY, 1, 0},
};
/* clang-format on */
#define N_ROWDEFS (sizeof rowdefs / sizeof rowdefs[0])
#define N_GPU_ROWDEFS (sizeof gpu_rowdefs / sizeof gpu_rowdefs[0])

static const char *const stat_names[ANA_GS_N] = {"mean", "p50", "p90", "p95", "p99"};

/* Everything read from one file. */
struct file {
    const char *path;
    size_t arg; /* position on the command line (ties in the order) */
    struct ana_h5_info info;
    struct ana_h5_extra x;
    struct ana_flat flat; /* resolved scenario (empty when unreadable) */
    struct ana_groups groups;
    int has_groups;
    char *label;
    double fleet_hour_usd; /* self-hosted only: sum of replicas x tp x gpu_hour_usd; NaN */
};

/* One output row. */
struct outrow {
    const struct rowdef *def;
    char scope[ANA_SCOPE_MAX]; /* scope of the values */
    char section[ANA_SCOPE_MAX + 8];
    double *v;           /* per file, display units; NaN = none */
    double *hw;          /* per file: 95% half-width of v[k] - v[0]; NaN = none */
    const char **method; /* per file: "paired", "welch", "welch-summary" or NULL */
};

static double flat_num(const struct ana_flat *f, const char *key)
{
    const char *v = ana_flat_get(f, key);
    if (!v || !*v)
        return NAN;
    char *end;
    double x = strtod(v, &end);
    return *end == '\0' ? x : NAN;
}

/* replicas x tp x gpu_hour_usd over the deployments, NaN unless every one is
 * self-hosted with the three numbers. */
static double fleet_hour(const struct ana_flat *f)
{
    double sum = 0;
    int any = 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *k = f->e[i].key;
        size_t len = strlen(k);
        if (strncmp(k, "deployments.", 12) != 0 || len < 17 || strcmp(k + len - 5, ".kind") != 0)
            continue;
        if (strcmp(f->e[i].value, "self-hosted") != 0)
            return NAN;
        char key[512];
        int p = (int)(len - 5);
        /* An autoscaled fleet's size varies: only the run's summary knows its cost. */
        snprintf(key, sizeof key, "%.*s.autoscale.min", p, k);
        if (ana_flat_get(f, key) != NULL)
            return NAN;
        snprintf(key, sizeof key, "%.*s.replicas", p, k);
        double r = flat_num(f, key);
        snprintf(key, sizeof key, "%.*s.tp", p, k);
        double tp = flat_num(f, key);
        snprintf(key, sizeof key, "%.*s.gpu_hour_usd", p, k);
        double usd = flat_num(f, key);
        if (!isfinite(tp))
            tp = 1;
        if (!isfinite(r) || !isfinite(usd))
            return NAN;
        sum += r * tp * usd;
        any = 1;
    }
    return any ? sum : NAN;
}

static const struct ana_summary_row *find(const struct file *f, const char *scope,
                                          const char *metric)
{
    return ana_summary_find(f->info.rows, f->info.n_rows, scope, metric);
}

static double stat_of(const struct ana_summary_row *r, enum ana_gstat s)
{
    switch (s) {
    case ANA_GS_MEAN:
        return r->mean;
    case ANA_GS_P50:
        return r->p50;
    case ANA_GS_P90:
        return r->p90;
    case ANA_GS_P95:
        return r->p95;
    default:
        return r->p99;
    }
}

/* The 95% half-width of a summary row's percentile s (NaN for the mean or
 * when the file has none). */
static double pct_ci_of(const struct ana_summary_row *r, enum ana_gstat s)
{
    switch (s) {
    case ANA_GS_P50:
        return r->p50_ci95;
    case ANA_GS_P90:
        return r->p90_ci95;
    case ANA_GS_P95:
        return r->p95_ci95;
    case ANA_GS_P99:
        return r->p99_ci95;
    default:
        return NAN;
    }
}

/* Whether file f's /summary has a percentile interval (files before them
 * have none). */
static int has_pct_ci(const struct file *f)
{
    for (size_t i = 0; i < f->info.n_rows; i++) {
        const struct ana_summary_row *r = &f->info.rows[i];
        if (isfinite(r->p50_ci95) || isfinite(r->p90_ci95) || isfinite(r->p95_ci95) ||
            isfinite(r->p99_ci95))
            return 1;
    }
    return 0;
}

static double summary_mean(const struct file *f, const char *scope, const char *metric)
{
    const struct ana_summary_row *r = find(f, scope, metric);
    return r ? r->mean : NAN;
}

/* The row's value for file f in display units; NaN when it has none. */
static double value_of(const struct file *f, const struct rowdef *d, const char *scope)
{
    const struct ana_summary_row *r = find(f, scope, d->metric);
    double v;
    switch (d->kind) {
    case K_GOODPUT:
        v = (r && r->count > 0 ? r->mean : NAN) * summary_mean(f, scope, "throughput_rps");
        break;
    case K_HOUR:
    case K_MONTH:
        v = r ? r->mean : NAN;
        if (!isfinite(v) && strcmp(scope, "all") == 0)
            v = f->fleet_hour_usd * (d->kind == K_MONTH ? HOURS_PER_MONTH : 1.0);
        break;
    default:
        if (!r)
            return NAN;
        if (d->count)
            return (double)r->count;
        v = stat_of(r, d->stat);
    }
    return isfinite(v) ? v * d->scale : NAN;
}

/* Whether two files ran on common random numbers with matching groups. */
static int paired(const struct file *a, const struct file *b)
{
    const struct ana_groups *x = &a->groups, *y = &b->groups;
    if (!a->has_groups || !b->has_groups || a->info.seed != b->info.seed ||
        x->by_replication != y->by_replication || x->n_groups != y->n_groups)
        return 0;
    return x->by_replication || (x->t0 == y->t0 && x->t1 == y->t1);
}

/* Whether every cost of file f is attributed to requests (for the cost
 * rows' group figures). */
static int costs_attributed(const struct file *f, enum cost_ci cc)
{
    if (cc == CC_ANY)
        return 1;
    double idle = summary_mean(f, "all", "gpu_idle_usd");
    if (isfinite(idle) && idle > 1e-12)
        return 0;
    if (cc == CC_GPU)
        return 1;
    double storage = summary_mean(f, "all", "cost_cache_storage_per_1k_usd");
    double wasted = summary_mean(f, "all", "prefetch_wasted_per_1k_usd");
    return !(isfinite(storage) && storage > 0) && !(isfinite(wasted) && wasted > 0);
}

/* Degrees of freedom behind a summary row's ci95. */
static double summary_dof(const struct file *f, const struct ana_summary_row *r, int runlevel)
{
    int reps = f->x.replications > 0 ? f->x.replications : 1;
    if (runlevel)
        return r->count >= 2 ? (double)r->count - 1 : NAN;
    return reps >= 2 ? reps - 1.0 : BATCH_DOF;
}

/* The 95% half-width of value(b) - value(a) for row d; *method says how. */
static double half_width(const struct file *a, const struct file *b, const struct rowdef *d,
                         const char *scope, const char **method, double *ga, double *gb)
{
    *method = NULL;
    if (d->gq && a->has_groups && b->has_groups && costs_attributed(a, d->cc) &&
        costs_attributed(b, d->cc) &&
        ana_groups_values(&a->groups, scope, d->gq, d->stat, ga) == 0 &&
        ana_groups_values(&b->groups, scope, d->gq, d->stat, gb) == 0) {
        double dof, hw;
        if (paired(a, b)) {
            hw = ana_diff_paired(ga, gb, a->groups.n_groups, &dof);
            *method = "paired";
        } else {
            hw = ana_diff_welch(ga, a->groups.n_groups, gb, b->groups.n_groups, &dof);
            *method = "welch";
        }
        if (isfinite(hw))
            return hw * d->gscale;
        *method = NULL;
    }
    if (d->kind == K_GOODPUT || d->count || d->flag)
        return NAN;
    const struct ana_summary_row *ra = find(a, scope, d->metric), *rb = find(b, scope, d->metric);
    if (!ra || !rb)
        return NAN;
    if (d->stat != ANA_GS_MEAN) {
        double hw = ana_diff_quadrature(pct_ci_of(ra, d->stat), pct_ci_of(rb, d->stat));
        if (!isfinite(hw))
            return NAN;
        *method = "summary-quadrature";
        return hw * d->scale;
    }
    double dof;
    double hw = ana_diff_welch_ci(ra->ci95, summary_dof(a, ra, d->runlevel), rb->ci95,
                                  summary_dof(b, rb, d->runlevel), &dof);
    if (!isfinite(hw))
        return NAN;
    *method = "welch-summary";
    return hw * d->scale;
}

/* ---- building the rows ------------------------------------------------ */

struct table {
    struct outrow *rows;
    size_t n, cap;
};

static int shown(const struct rowdef *d, const double *v, size_t nfiles)
{
    for (size_t f = 0; f < nfiles; f++) {
        if (!isfinite(v[f]))
            continue;
        switch (d->show) {
        case SH_ALWAYS:
        case SH_PRESENT:
            return 1;
        case SH_NONZERO:
            if (fabs(v[f]) > 1e-12) /* rounding noise of a zero sum is zero */
                return 1;
            break;
        case SH_NOT_ONE:
            if (fabs(v[f] - d->scale) > 1e-12 * d->scale)
                return 1;
            break;
        }
    }
    return d->show == SH_ALWAYS;
}

/* Adds the row d of scope, if shown.  Returns 0 or -1 (memory). */
static int add_row(struct table *t, const struct rowdef *d, const char *scope, const char *section,
                   struct file *files, size_t nfiles, double *ga, double *gb)
{
    double *v = calloc(2 * nfiles, sizeof *v);
    const char **m = calloc(nfiles, sizeof *m);
    if (!v || !m) {
        free(v);
        free(m);
        return -1;
    }
    for (size_t f = 0; f < nfiles; f++)
        v[f] = value_of(&files[f], d, scope);
    if (!shown(d, v, nfiles)) {
        free(v);
        free(m);
        return 0;
    }
    double *hw = v + nfiles;
    hw[0] = NAN;
    for (size_t f = 1; f < nfiles; f++) {
        hw[f] = half_width(&files[0], &files[f], d, scope, &m[f], ga, gb);
        /* Rounding noise of identical runs is no spread. */
        if (hw[f] <= 1e-12 * fmax(fabs(v[0]), fabs(v[f])))
            hw[f] = 0.0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        struct outrow *r = realloc(t->rows, cap * sizeof *r);
        if (!r) {
            free(v);
            free(m);
            return -1;
        }
        t->rows = r;
        t->cap = cap;
    }
    struct outrow *r = &t->rows[t->n++];
    r->def = d;
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    snprintf(r->section, sizeof r->section, "%s", section);
    r->v = v;
    r->hw = hw;
    r->method = m;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].v);
        free(t->rows[i].method);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* Adds name to the list when new.  Returns 0 or -1 (memory). */
static int add_name(const char ***list, size_t *n, size_t *cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], name) == 0)
            return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        const char **l = realloc(*list, c * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = name;
    return 0;
}

/* The rows of one scope: the headline rows, then GPU rows per self-hosted
 * deployment (every deployment under "all", its own under its scope). */
static int build_scope(struct table *t, const char *scope, struct file *files, size_t nfiles,
                       double *ga, double *gb)
{
    for (size_t i = 0; i < N_ROWDEFS; i++)
        if (add_row(t, &rowdefs[i], scope, rowdefs[i].section, files, nfiles, ga, gb) != 0)
            return -1;
    const char **deps = NULL;
    size_t nd = 0, cap = 0;
    int rc = 0;
    for (size_t f = 0; f < nfiles && rc == 0; f++)
        for (size_t i = 0; i < files[f].info.n_rows && rc == 0; i++) {
            const struct ana_summary_row *r = &files[f].info.rows[i];
            if (strncmp(r->scope, "deployment:", 11) != 0 || strcmp(r->metric, "utilization") ||
                r->count == 0)
                continue;
            if (strcmp(scope, "all") == 0 || strcmp(scope, r->scope) == 0)
                rc = add_name(&deps, &nd, &cap, r->scope);
        }
    for (size_t k = 0; k < nd && rc == 0; k++) {
        char section[ANA_SCOPE_MAX + 8];
        snprintf(section, sizeof section, "GPU %s", deps[k] + 11);
        for (size_t i = 0; i < N_GPU_ROWDEFS && rc == 0; i++)
            rc = add_row(t, &gpu_rowdefs[i], deps[k], section, files, nfiles, ga, gb);
    }
    free(deps);
    return rc;
}

/* ---- text output ------------------------------------------------------ */

#define CELL 64

/* "  label (unit)" */
static void row_label(char *buf, size_t n, const struct rowdef *d)
{
    snprintf(buf, n, "  %s%s%s%s", d->label, d->unit[0] ? " (" : "", d->unit,
             d->unit[0] ? ")" : "");
}

static void fmt_value(char *buf, size_t n, double v, const struct rowdef *d)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else if (d->flag)
        snprintf(buf, n, "%s", v == d->scale ? "yes" : v == 0 ? "no" : "partly");
    else if (d->count)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.4g", v);
}

/* Sums in another order differ in the last bits: not a difference. */
static double diff_of(const double *v, size_t k)
{
    double d = v[k] - v[0];
    if (fabs(d) <= 1e-12 * fmax(fabs(v[k]), fabs(v[0])))
        d = 0.0;
    return d;
}

static int significant(double diff, double hw)
{
    return isfinite(diff) && isfinite(hw) && fabs(diff) > hw;
}

static void fmt_diff(char *buf, size_t n, const struct outrow *r, size_t k)
{
    double d = diff_of(r->v, k);
    if (!isfinite(d) || r->def->flag) {
        snprintf(buf, n, "-");
        return;
    }
    char ci[32] = "";
    if (isfinite(r->hw[k]))
        snprintf(ci, sizeof ci, " +-%.2g%s", r->hw[k], significant(d, r->hw[k]) ? "*" : "");
    snprintf(buf, n, r->def->count ? "%+.0f%s" : "%+.4g%s", d, ci);
}

static void fmt_rel(char *buf, size_t n, const struct outrow *r, size_t k)
{
    double d = diff_of(r->v, k);
    if (!isfinite(d) || r->def->flag || r->v[0] == 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%+.1f%%", 100 * d / fabs(r->v[0]));
}

/* A line being built, printed without trailing spaces. */
struct line {
    char s[2048];
    size_t len;
};

static void line_addf(struct line *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void line_addf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->s + l->len, sizeof l->s - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len = l->len + (size_t)n < sizeof l->s ? l->len + (size_t)n : sizeof l->s - 1;
}

static void line_print(struct line *l)
{
    while (l->len > 0 && l->s[l->len - 1] == ' ')
        l->len--;
    l->s[l->len] = '\0';
    puts(l->s);
    l->len = 0;
}

/* Prints one table (scope title, rows) for the files cols[0..nc-1] (the
 * baseline first), with or without the relative columns.  w holds three
 * widths per file: value, difference, relative difference. */
static void print_block(const char *title, const struct table *t, size_t lw, const size_t *cols,
                        size_t nc, int rel, const size_t *w)
{
    struct line l = {.len = 0};
    line_addf(&l, "%-*s", (int)lw, title);
    for (size_t c = 0; c < nc; c++) {
        size_t k = cols[c];
        char h[32];
        snprintf(h, sizeof h, "[%zu]", k + 1);
        line_addf(&l, "  %*s", (int)w[3 * k], h);
        if (k > 0) {
            snprintf(h, sizeof h, "[%zu]-[1]", k + 1);
            line_addf(&l, "  %-*s", (int)w[3 * k + 1], h);
            if (rel)
                line_addf(&l, "  %*s", (int)w[3 * k + 2], "rel");
        }
    }
    line_print(&l);
    const char *section = "";
    for (size_t i = 0; i < t->n; i++) {
        const struct outrow *r = &t->rows[i];
        if (strcmp(r->section, section) != 0) {
            section = r->section;
            printf("%s\n", section);
        }
        char cell[CELL];
        row_label(cell, sizeof cell, r->def);
        line_addf(&l, "%-*s", (int)lw, cell);
        for (size_t c = 0; c < nc; c++) {
            size_t k = cols[c];
            fmt_value(cell, sizeof cell, r->v[k], r->def);
            line_addf(&l, "  %*s", (int)w[3 * k], cell);
            if (k > 0) {
                fmt_diff(cell, sizeof cell, r, k);
                line_addf(&l, "  %-*s", (int)w[3 * k + 1], cell);
                if (rel) {
                    fmt_rel(cell, sizeof cell, r, k);
                    line_addf(&l, "  %*s", (int)w[3 * k + 2], cell);
                }
            }
        }
        line_print(&l);
    }
}

static void print_text(const char *title, const struct table *t, size_t nfiles)
{
    size_t *w = calloc(3 * nfiles, sizeof *w);
    size_t *cols = calloc(nfiles, sizeof *cols);
    if (!w || !cols) {
        free(w);
        free(cols);
        cli_errorf("out of memory");
        return;
    }
    size_t lw = strlen(title);
    for (size_t k = 0; k < nfiles; k++) {
        w[3 * k] = k >= 9 ? 4 : 3;
        w[3 * k + 1] = k > 0 ? strlen("[10]-[1]") : 0;
        w[3 * k + 2] = k > 0 ? 3 : 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct outrow *r = &t->rows[i];
        char cell[CELL];
        row_label(cell, sizeof cell, r->def);
        if (strlen(cell) > lw)
            lw = strlen(cell);
        if (strlen(r->section) > lw)
            lw = strlen(r->section);
        for (size_t k = 0; k < nfiles; k++) {
            fmt_value(cell, sizeof cell, r->v[k], r->def);
            if (strlen(cell) > w[3 * k])
                w[3 * k] = strlen(cell);
            if (k == 0)
                continue;
            fmt_diff(cell, sizeof cell, r, k);
            if (strlen(cell) > w[3 * k + 1])
                w[3 * k + 1] = strlen(cell);
            fmt_rel(cell, sizeof cell, r, k);
            if (strlen(cell) > w[3 * k + 2])
                w[3 * k + 2] = strlen(cell);
        }
    }
    /* Everything on one line if it fits, else without the relative columns,
     * else in blocks of as many files as fit beside the baseline. */
    size_t full = lw + 2 + w[0], bare = full;
    for (size_t k = 1; k < nfiles; k++) {
        full += 6 + w[3 * k] + w[3 * k + 1] + w[3 * k + 2];
        bare += 4 + w[3 * k] + w[3 * k + 1];
    }
    int rel = full <= WIDTH_MAX;
    if (rel || bare <= WIDTH_MAX || nfiles <= 1) {
        for (size_t k = 0; k < nfiles; k++)
            cols[k] = k;
        print_block(title, t, lw, cols, nfiles, rel, w);
    } else {
        size_t k = 1;
        while (k < nfiles) {
            size_t nc = 1, width = lw + 2 + w[0];
            cols[0] = 0;
            while (k < nfiles) {
                size_t add = 4 + w[3 * k] + w[3 * k + 1];
                if (nc > 1 && width + add > WIDTH_MAX)
                    break;
                width += add;
                cols[nc++] = k++;
            }
            if (cols[1] > 1)
                putchar('\n');
            print_block(title, t, lw, cols, nc, 0, w);
        }
    }
    free(w);
    free(cols);
}

/* ---- CSV and JSON ----------------------------------------------------- */

static void csv_str(const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csv_num(double v)
{
    if (isfinite(v))
        printf("%.10g", v);
}

static void print_csv_header(const struct file *files, size_t nfiles)
{
    fputs("scope,section,metric,stat,label,unit", stdout);
    for (size_t f = 0; f < nfiles; f++) {
        putchar(',');
        csv_str(files[f].path);
    }
    static const char *const what[] = {"diff", "ci95", "significant", "method"};
    for (size_t f = 1; f < nfiles; f++)
        for (size_t j = 0; j < 4; j++) {
            char h[1100];
            snprintf(h, sizeof h, "%s %s", what[j], files[f].path);
            putchar(',');
            csv_str(h);
        }
    putchar('\n');
}

static void print_csv(const struct table *t, size_t nfiles)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct outrow *r = &t->rows[i];
        csv_str(r->scope);
        putchar(',');
        csv_str(r->section);
        printf(",%s,%s,", r->def->metric, r->def->count ? "count" : stat_names[r->def->stat]);
        csv_str(r->def->kind == K_GOODPUT ? "goodput" : r->def->label + strspn(r->def->label, " "));
        printf(",%s", r->def->unit);
        for (size_t f = 0; f < nfiles; f++) {
            putchar(',');
            csv_num(r->v[f]);
        }
        for (size_t f = 1; f < nfiles; f++) {
            double d = diff_of(r->v, f);
            putchar(',');
            csv_num(d);
            putchar(',');
            csv_num(r->hw[f]);
            putchar(',');
            if (isfinite(r->hw[f]) && isfinite(d))
                fputs(significant(d, r->hw[f]) ? "true" : "false", stdout);
            printf(",%s", r->method[f] ? r->method[f] : "");
        }
        putchar('\n');
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.10g", v);
    else
        fputs("null", stdout);
}

/* ---- main ------------------------------------------------------------- */

/* The path without its extension (".h5"), malloc'ed; NULL when out of memory. */
static char *stem(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t len = dot && dot > (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
    char *s = malloc(len + 1);
    if (s)
        snprintf(s, len + 1, "%s", path);
    return s;
}

/* Natural order of the paths without their extensions, so that rate-2.h5
 * comes before rate-2.5.h5; then of the whole paths; then command-line order. */
static int file_order(const void *a, const void *b)
{
    const struct file *x = a, *y = b;
    char *sx = stem(x->path), *sy = stem(y->path);
    int c = sx && sy ? ana_natural_cmp(sx, sy) : 0;
    free(sx);
    free(sy);
    if (!c)
        c = ana_natural_cmp(x->path, y->path);
    return c ? c : x->arg < y->arg ? -1 : x->arg > y->arg;
}

static void file_free(struct file *f)
{
    ana_h5_info_free(&f->info);
    ana_h5_extra_free(&f->x);
    ana_flat_free(&f->flat);
    ana_groups_free(&f->groups);
    free(f->label);
}

/* Maps a library failure on path to an exit status, printing the message. */
static int report(const struct llmsim_error *err, const char *path)
{
    char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 8];
    llmsim_error_format(err, msg, sizeof msg);
    if (err->file[0])
        cli_errorf("compare: %s", msg);
    else
        cli_errorf("compare: %s: %s", path, msg);
    return err->code == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
}

/* Reads everything of file f but its label.  Returns an exit status. */
static int load_file(struct file *f)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (ana_h5_read(f->path, &f->info, &err) != 0)
        return report(&err, f->path);
    if (ana_h5_read_extra(f->path, &f->x, &err) != 0)
        return report(&err, f->path);
    if (!f->info.complete)
        cli_errorf("compare: warning: %s: the run did not complete (complete = 0); its figures "
                   "may be partial",
                   f->path);
    if (f->info.n_rows == 0)
        cli_errorf("compare: warning: %s: no /summary table", f->path);
    f->fleet_hour_usd = NAN;
    struct ana_groups_opts o = {.t0 = NAN, .t1 = NAN};
    if (f->x.resolved) {
        if (ana_flat_yaml(f->x.resolved, &f->flat, &err) != 0) {
            if (err.code == LLMSIM_ENOMEM)
                return report(&err, f->path);
            cli_errorf("compare: warning: %s: /scenario/resolved cannot be read (%s); the file "
                       "is labelled by its name",
                       f->path, err.msg);
            llmsim_error_clear(&err);
        }
        f->fleet_hour_usd = fleet_hour(&f->flat);
        double warm = flat_num(&f->flat, "horizon.warmup_s");
        o.t0 = isfinite(warm) ? warm : 0.0;
        o.t1 = flat_num(&f->flat, "horizon.duration_s");
        double ms[3] = {flat_num(&f->flat, "slo.ttft_ms"), flat_num(&f->flat, "slo.itl_ms"),
                        flat_num(&f->flat, "slo.e2e_ms")};
        o.slo_ttft_s = isfinite(ms[0]) ? ms[0] / 1e3 : 0;
        o.slo_itl_s = isfinite(ms[1]) ? ms[1] / 1e3 : 0;
        o.slo_e2e_s = isfinite(ms[2]) ? ms[2] / 1e3 : 0;
    }
    int rc = ana_h5_read_groups(f->path, &o, &f->groups, &err);
    if (rc == LLMSIM_ENOMEM)
        return report(&err, f->path);
    if (rc != 0 && rc != LLMSIM_ENOTFOUND) {
        char msg[LLMSIM_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err.msg);
        cli_errorf("compare: warning: %s: %s; its differences get confidence intervals from the "
                   "summaries only",
                   f->path, msg);
    }
    f->has_groups = rc == 0;
    return LLMSIM_EXIT_OK;
}

/* The label of every file: the differing scenario keys, else the file name. */
static int make_labels(struct file *files, size_t nfiles, const char ***keys, size_t *n_keys)
{
    struct ana_flat *flats = calloc(nfiles, sizeof *flats);
    if (!flats)
        return -1;
    for (size_t f = 0; f < nfiles; f++)
        flats[f] = files[f].flat;
    int rc = ana_flat_differing(flats, nfiles, keys, n_keys);
    for (size_t f = 0; rc == 0 && f < nfiles; f++) {
        files[f].label = ana_flat_label(flats, nfiles, f, *keys, *n_keys, LABEL_MAX);
        if (!files[f].label) {
            rc = -1;
        } else if (!files[f].label[0]) {
            const char *base = strrchr(files[f].path, '/');
            base = base ? base + 1 : files[f].path;
            size_t len = strlen(base);
            if (len > 3 && strcmp(base + len - 3, ".h5") == 0)
                len -= 3;
            free(files[f].label);
            files[f].label = malloc(len + 1);
            if (!files[f].label)
                rc = -1;
            else
                snprintf(files[f].label, len + 1, "%s", base);
        }
    }
    free(flats);
    return rc;
}

/* How file k's differences get their intervals, for the legend. */
static void describe_ci(char *buf, size_t n, const struct file *a, const struct file *b)
{
    if (a->has_groups && b->has_groups) {
        if (paired(a, b)) {
            if (a->groups.by_replication)
                snprintf(buf, n,
                         "paired over %zu replications (same seed %llu: common random "
                         "numbers)",
                         a->groups.n_groups, (unsigned long long)a->info.seed);
            else
                snprintf(buf, n,
                         "paired over %zu time batches of one replication (same seed "
                         "%llu: common random numbers)",
                         a->groups.n_groups, (unsigned long long)a->info.seed);
        } else {
            snprintf(buf, n, "unpaired, Welch over %zu and %zu %s (%s)", a->groups.n_groups,
                     b->groups.n_groups,
                     a->groups.by_replication && b->groups.by_replication ? "replications"
                                                                          : "groups",
                     a->info.seed != b->info.seed ? "seeds differ" : "groups differ");
        }
    } else if (has_pct_ci(a) && has_pct_ci(b)) {
        snprintf(buf, n,
                 "Welch from the summaries' intervals, percentiles in quadrature (%s has no "
                 "/requests)",
                 !a->has_groups ? "[1]" : "this file");
    } else {
        snprintf(buf, n, "Welch from the summaries' intervals (means only: %s has no /requests)",
                 !a->has_groups ? "[1]" : "this file");
    }
}

int cmd_compare(int argc, char **argv)
{
    const char *by = NULL, *baseline = NULL;
    int csv = 0, json = 0;
    struct file *files = calloc(argc > 0 ? (size_t)argc : 1, sizeof *files);
    if (!files) {
        cli_errorf("out of memory");
        return LLMSIM_EXIT_RUNTIME;
    }
    size_t nfiles = 0;
    int options = 1, rc = LLMSIM_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage, stdout);
            free(files);
            return LLMSIM_EXIT_OK;
        } else if (options && strcmp(a, "--") == 0) {
            options = 0;
        } else if (options && (strcmp(a, "--by") == 0 || strcmp(a, "--baseline") == 0)) {
            if (i + 1 >= argc) {
                cli_errorf("compare: %s needs a value (see llmsim compare --help)", a);
                free(files);
                return LLMSIM_EXIT_USAGE;
            }
            if (a[2] == 'b' && a[3] == 'y')
                by = argv[++i];
            else
                baseline = argv[++i];
        } else if (options && strncmp(a, "--by=", 5) == 0) {
            by = a + 5;
        } else if (options && strncmp(a, "--baseline=", 11) == 0) {
            baseline = a + 11;
        } else if (options && strcmp(a, "--csv") == 0) {
            csv = 1;
        } else if (options && strcmp(a, "--json") == 0) {
            json = 1;
        } else if (options && a[0] == '-' && a[1] != '\0') {
            cli_errorf("compare: unknown option '%s' (see `llmsim compare --help`)", a);
            free(files);
            return LLMSIM_EXIT_USAGE;
        } else {
            files[nfiles].path = a;
            files[nfiles].arg = nfiles;
            nfiles++;
        }
    }
    if (by && strcmp(by, "class") != 0 && strcmp(by, "deployment") != 0 && strcmp(by, "tenant") != 0 &&
        strcmp(by, "tier") != 0) {
        cli_errorf("compare: --by %s: expected class, deployment, tenant or tier", by);
        free(files);
        return LLMSIM_EXIT_USAGE;
    }
    if (csv && json) {
        cli_errorf("compare: --csv and --json exclude each other");
        free(files);
        return LLMSIM_EXIT_USAGE;
    }
    if (nfiles == 0) {
        cli_errorf("compare: no results files (usage: llmsim compare A.h5 B.h5 ... [--by "
                   "class|deployment] [--csv | --json])");
        free(files);
        return LLMSIM_EXIT_USAGE;
    }
    qsort(files, nfiles, sizeof *files, file_order);
    if (baseline) {
        size_t b = 0;
        while (b < nfiles && strcmp(files[b].path, baseline) != 0)
            b++;
        if (b == nfiles) {
            cli_errorf("compare: --baseline %s is not one of the files compared", baseline);
            free(files);
            return LLMSIM_EXIT_USAGE;
        }
        struct file keep = files[b];
        memmove(files + 1, files, b * sizeof *files);
        files[0] = keep;
    }

    const char **keys = NULL, **scopes = NULL;
    size_t n_keys = 0, nscopes = 0, scap = 0, maxg = 1;
    double *ga = NULL, *gb = NULL;
    struct table *tables = NULL;
    for (size_t f = 0; f < nfiles; f++) {
        if ((rc = load_file(&files[f])) != LLMSIM_EXIT_OK)
            goto out;
        if (files[f].has_groups && files[f].groups.n_groups > maxg)
            maxg = files[f].groups.n_groups;
    }
    ga = malloc(maxg * sizeof *ga);
    gb = malloc(maxg * sizeof *gb);
    if (!ga || !gb || make_labels(files, nfiles, &keys, &n_keys) != 0)
        goto nomem;

    if (!by) {
        if (add_name(&scopes, &nscopes, &scap, "all") != 0)
            goto nomem;
    } else {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s:", by);
        for (size_t f = 0; f < nfiles; f++)
            for (size_t i = 0; i < files[f].info.n_rows; i++)
                if (strncmp(files[f].info.rows[i].scope, prefix, strlen(prefix)) == 0 &&
                    add_name(&scopes, &nscopes, &scap, files[f].info.rows[i].scope) != 0)
                    goto nomem;
        if (nscopes == 0)
            cli_errorf("compare: warning: no %s scopes in these files", by);
    }
    tables = calloc(nscopes ? nscopes : 1, sizeof *tables);
    if (!tables)
        goto nomem;
    for (size_t s = 0; s < nscopes; s++)
        if (build_scope(&tables[s], scopes[s], files, nfiles, ga, gb) != 0)
            goto nomem;

    if (csv) {
        print_csv_header(files, nfiles);
        for (size_t s = 0; s < nscopes; s++)
            print_csv(&tables[s], nfiles);
    } else if (json) {
        printf("{\n  \"baseline\": ");
        json_str(files[0].path);
        printf(",\n  \"files\": [\n");
        for (size_t f = 0; f < nfiles; f++) {
            const struct file *x = &files[f];
            printf("    {\"path\": ");
            json_str(x->path);
            printf(", \"label\": ");
            json_str(x->label);
            printf(", \"scenario\": ");
            json_str(x->info.scenario_name);
            printf(", \"seed\": %llu, \"replications\": %d, \"complete\": %s, \"differs\": {",
                   (unsigned long long)x->info.seed, x->x.replications,
                   x->info.complete ? "true" : "false");
            for (size_t k = 0; k < n_keys; k++) {
                const char *v = ana_flat_get(&x->flat, keys[k]);
                printf("%s", k ? ", " : "");
                json_str(keys[k]);
                printf(": ");
                if (v)
                    json_str(v);
                else
                    fputs("null", stdout);
            }
            printf("}, \"ci\": ");
            if (f == 0) {
                fputs("null", stdout);
            } else {
                char d[256];
                describe_ci(d, sizeof d, &files[0], x);
                json_str(d);
            }
            printf("}%s\n", f + 1 < nfiles ? "," : "");
        }
        printf("  ],\n  \"rows\": [");
        int first = 1;
        for (size_t s = 0; s < nscopes; s++)
            for (size_t i = 0; i < tables[s].n; i++) {
                const struct outrow *r = &tables[s].rows[i];
                printf("%s\n    {\"scope\": ", first ? "" : ",");
                first = 0;
                json_str(r->scope);
                printf(", \"section\": ");
                json_str(r->section);
                printf(", \"metric\": ");
                json_str(r->def->kind == K_GOODPUT ? "goodput" : r->def->metric);
                printf(", \"stat\": \"%s\", \"label\": ",
                       r->def->count ? "count" : stat_names[r->def->stat]);
                json_str(r->def->label + strspn(r->def->label, " "));
                printf(", \"unit\": ");
                json_str(r->def->unit);
                const char *names[] = {"values", "diff", "ci95", "significant", "method"};
                for (int part = 0; part < 5; part++) {
                    printf(", \"%s\": [", names[part]);
                    for (size_t f = 0; f < nfiles; f++) {
                        printf("%s", f ? ", " : "");
                        double d = f ? diff_of(r->v, f) : NAN;
                        if (part == 0)
                            json_num(r->v[f]);
                        else if (part == 1)
                            json_num(d);
                        else if (part == 2)
                            json_num(f ? r->hw[f] : NAN);
                        else if (part == 3)
                            fputs(f && isfinite(d) && isfinite(r->hw[f])
                                      ? (significant(d, r->hw[f]) ? "true" : "false")
                                      : "null",
                                  stdout);
                        else if (f && r->method[f])
                            json_str(r->method[f]);
                        else
                            fputs("null", stdout);
                    }
                    putchar(']');
                }
                putchar('}');
            }
        printf("\n  ]\n}\n");
    } else {
        for (size_t f = 0; f < nfiles; f++) {
            const struct file *x = &files[f];
            double stable = summary_mean(x, "all", "stable");
            printf("[%zu] %s: %s%s%s\n", f + 1, x->path, x->label,
                   x->info.complete ? "" : " (INCOMPLETE)",
                   isfinite(stable) && stable < 1 ? " (overloaded)" : "");
        }
        if (nfiles > 1) {
            putchar('\n');
            for (size_t f = 1; f < nfiles; f++) {
                char d[256];
                describe_ci(d, sizeof d, &files[0], &files[f]);
                printf("[%zu]-[1]: %s\n", f + 1, d);
            }
            printf("differences: [k]-[1] +-half-width of its 95%% confidence interval, * when it "
                   "excludes 0\n");
        }
        for (size_t s = 0; s < nscopes; s++) {
            putchar('\n');
            print_text(scopes[s], &tables[s], nfiles);
        }
    }
    goto out;

nomem:
    cli_errorf("out of memory");
    rc = LLMSIM_EXIT_RUNTIME;
out:
    for (size_t s = 0; tables && s < nscopes; s++)
        table_free(&tables[s]);
    free(tables);
    for (size_t f = 0; f < nfiles; f++)
        file_free(&files[f]);
    free(files);
    free(keys);
    free(scopes);
    free(ga);
    free(gb);
    return rc;
}
