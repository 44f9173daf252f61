/* Calibrating the step-time model from per-request measurements by
 * simulation in the loop (llmsim/calib_requests.h has the method;
 * docs/calibrate.md, "calibrate requests", the reasons).
 *
 * Layout: the CSV reader; picking the deployment; a replayer (a shallow copy
 * of the scenario whose workload is the measurements as a trace, routed to
 * the deployment, with its own deployments array so that parameters can be
 * set per replay, run as R jittered replicates); the objective; batches of
 * replays run in threads; the Nelder-Mead fit (plain and whitened); the
 * Gauss-Newton matrix (intervals, whitening, polishing steps); the refits
 * with other jitter seeds; the k-fold held-out errors. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "llmsim/calib_requests.h"
#include "llmsim/world.h"

#define CREQ_MAX_BYTES (1u << 30) /* measurement file size limit */
#define CREQ_MAX_THREADS 16
#define CREQ_MAX_REPS 256 /* replicates per evaluation */
#define CREQ_GN_ITERS 8   /* Gauss-Newton steps after the simplex */
#define CREQ_GN_TOL 0.05  /* ... until the step is below this many standard deviations */
#define CREQ_GN_MAX 0.5   /* largest Gauss-Newton step in any log coordinate */
#define CREQ_BLOCKS 10    /* blocks of consecutive requests of the cluster-robust variance */
#define CREQ_GN_SET 99    /* jitter seed set of the Gauss-Newton replays */
#define CREQ_MAX_SETS 16
#define CREQ_MAX_FOLDS 64
#define CREQ_Z95 1.959963984540054
#define CREQ_FD_STEP 0.2       /* central-difference step of the Jacobian, log units */
#define CREQ_SCREEN 0.2        /* +-20% screening change */
#define CREQ_STEP1 0.3         /* first simplex: step per parameter, log units */
#define CREQ_STEP2 0.1         /* restart from the best point */
#define CREQ_TOL 1e-3          /* simplex size at which a pass stops (log units) */
#define CREQ_TOL_Z 0.02        /* the same in whitened coordinates (standard deviations) */
#define CREQ_SINGULAR 1e-8     /* smallest / largest eigenvalue of the unit-diagonal J'WJ */
#define CREQ_MIN_VAR 1e-8      /* floor of a kind's mean squared log error (weights) */
#define CREQ_GEMM_OFFSET 128.0 /* tokens added to gemm_half_tokens before the log */

/* ---- the CSV reader ------------------------------------------------------------ */

enum { COL_ARRIVAL, COL_INPUT, COL_OUTPUT, COL_TTFT, COL_E2E, N_COLS };
static const char *const col_names[N_COLS] = {"arrival_s", "input_tokens", "output_tokens",
                                              "ttft_s", "e2e_s"};

struct row {
    double v[N_COLS];
    int line;
    size_t order;
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->v[COL_ARRIVAL] != y->v[COL_ARRIVAL])
        return x->v[COL_ARRIVAL] < y->v[COL_ARRIVAL] ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* One field of a line: [b, e) after trimming blanks; col is 1-based. */
struct field {
    const char *b, *e;
    int col;
};

/* Splits [p, end) at commas into at most max fields; returns the count. */
static int split(const char *p, const char *end, struct field *f, int max)
{
    const char *line = p;
    int n = 0;
    for (;;) {
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *b = p, *e = q;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (n < max)
            f[n] = (struct field){b, e, (int)(b - line) + 1};
        n++;
        if (q >= end)
            break;
        p = q + 1;
    }
    return n;
}

static int field_is(const struct field *f, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(f->e - f->b) == n && memcmp(f->b, s, n) == 0;
}

/* Parses a field as a finite number. */
static int field_number(const struct field *f, double *out)
{
    char buf[64];
    size_t n = (size_t)(f->e - f->b);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, f->b, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    double x = strtod(buf, &end);
    if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

static void show_field(const struct field *f, char *buf, size_t n)
{
    size_t k = (size_t)(f->e - f->b);
    if (k > 40)
        snprintf(buf, n, "%.40s...", f->b);
    else
        snprintf(buf, n, "%.*s", (int)k, f->b);
}

void ana_creq_data_free(struct ana_creq_data *d)
{
    if (d == NULL)
        return;
    free(d->arrival_s);
    free(d->input_tokens);
    free(d->output_tokens);
    free(d->ttft_s);
    free(d->e2e_s);
    free(d->line);
    memset(d, 0, sizeof *d);
}

static int rows_to_data(struct ana_creq_data *d, struct row *rows, size_t n)
{
    qsort(rows, n, sizeof *rows, cmp_row);
    d->n = n;
    d->arrival_s = malloc(n * sizeof *d->arrival_s);
    d->input_tokens = malloc(n * sizeof *d->input_tokens);
    d->output_tokens = malloc(n * sizeof *d->output_tokens);
    d->ttft_s = malloc(n * sizeof *d->ttft_s);
    d->e2e_s = malloc(n * sizeof *d->e2e_s);
    d->line = malloc(n * sizeof *d->line);
    if (!d->arrival_s || !d->input_tokens || !d->output_tokens || !d->ttft_s || !d->e2e_s ||
        !d->line) {
        ana_creq_data_free(d);
        return LLMSIM_ENOMEM;
    }
    double t0 = rows[0].v[COL_ARRIVAL];
    for (size_t i = 0; i < n; i++) {
        d->arrival_s[i] = rows[i].v[COL_ARRIVAL] - t0;
        d->input_tokens[i] = (uint32_t)rows[i].v[COL_INPUT];
        d->output_tokens[i] = (uint32_t)rows[i].v[COL_OUTPUT];
        d->ttft_s[i] = rows[i].v[COL_TTFT];
        d->e2e_s[i] = rows[i].v[COL_E2E];
        d->line[i] = rows[i].line;
    }
    return 0;
}

int ana_creq_parse(struct ana_creq_data *d, const char *text, size_t len, const char *name,
                   struct llmsim_error *err)
{
    memset(d, 0, sizeof *d);
    const char *p = text, *end = text + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;
    int at[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        at[c] = -1;
    int ncols = 0, header = 0, lineno = 0, need = 0;
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    struct field *f = NULL;
    int fcap = 0;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        lineno++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q == le) { /* blank line */
            p = next;
            continue;
        }
        int k = split(p, le, NULL, 0);
        if (k > fcap) {
            struct field *nf = realloc(f, (size_t)k * sizeof *f);
            if (nf == NULL) {
                rc = LLMSIM_ENOMEM;
                break;
            }
            f = nf;
            fcap = k;
        }
        split(p, le, f, fcap);
        if (!header) {
            header = 1;
            ncols = k;
            for (int i = 0; i < k; i++)
                for (int c = 0; c < N_COLS; c++)
                    if (field_is(&f[i], col_names[c])) {
                        if (at[c] >= 0) {
                            rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, f[i].col,
                                                  "column '%s' appears twice in the header",
                                                  col_names[c]);
                            break;
                        }
                        at[c] = i;
                    }
            for (int c = 0; c < N_COLS && rc == 0; c++) {
                if (at[c] < 0)
                    rc = llmsim_error_set(
                        err, LLMSIM_EINVAL, name, lineno, 1,
                        "missing column '%s' (the header needs arrival_s, input_tokens, "
                        "output_tokens, ttft_s and e2e_s; other columns are ignored)",
                        col_names[c]);
                else if (at[c] + 1 > need)
                    need = at[c] + 1;
            }
            p = next;
            continue;
        }
        if (k < need) {
            int miss = 0;
            for (int c = 0; c < N_COLS; c++)
                if (at[c] >= k) {
                    miss = c;
                    break;
                }
            rc = llmsim_error_set(
                err, LLMSIM_EINVAL, name, lineno, (int)(le - p) + 1,
                "%d fields, but the header has %d (column '%s' is missing on this row)", k, ncols,
                col_names[miss]);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            if (nc > SIM_MAX_REQUESTS + 1)
                nc = SIM_MAX_REQUESTS + 1;
            if (n >= SIM_MAX_REQUESTS) {
                rc =
                    llmsim_error_set(err, LLMSIM_ELIMIT, name, lineno, 1, "more than %llu requests",
                                     (unsigned long long)SIM_MAX_REQUESTS);
                break;
            }
            struct row *nr = realloc(rows, nc * sizeof *rows);
            if (nr == NULL) {
                rc = LLMSIM_ENOMEM;
                break;
            }
            rows = nr;
            cap = nc;
        }
        struct row *r = &rows[n];
        r->line = lineno;
        r->order = n;
        for (int c = 0; c < N_COLS && rc == 0; c++) {
            const struct field *fc = &f[at[c]];
            char shown[64];
            show_field(fc, shown, sizeof shown);
            if (field_number(fc, &r->v[c]) != 0) {
                rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                      "%s: '%s' is not a finite number", col_names[c], shown);
                break;
            }
            double x = r->v[c];
            if (c == COL_INPUT || c == COL_OUTPUT) {
                if (x != floor(x))
                    rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                          "%s: '%s' is not a whole number of tokens", col_names[c],
                                          shown);
                else if (x < 1)
                    rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                          "%s must be at least 1, got %s", col_names[c], shown);
                else if (x > SIM_MAX_TOKENS)
                    rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                          "%s: %s is above the limit of %.0f tokens", col_names[c],
                                          shown, SIM_MAX_TOKENS);
            } else if (x < 0) {
                rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                      "%s must not be negative, got %s", col_names[c], shown);
            } else if (c == COL_TTFT && x == 0) {
                rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno, fc->col,
                                      "ttft_s must be > 0 (a first token takes time), got %s",
                                      shown);
            } else if (c == COL_E2E && x < r->v[COL_TTFT]) {
                rc = llmsim_error_set(
                    err, LLMSIM_EINVAL, name, lineno, fc->col,
                    "e2e_s (%s) is less than ttft_s (%g): the last token cannot come before "
                    "the first",
                    shown, r->v[COL_TTFT]);
            }
        }
        if (rc)
            break;
        n++;
        p = next;
    }
    free(f);
    if (rc == 0 && !header)
        rc = llmsim_error_set(
            err, LLMSIM_EINVAL, name, 1, 1,
            "empty file: expected a header line arrival_s,input_tokens,output_tokens,ttft_s,e2e_s "
            "and one row per request");
    else if (rc == 0 && n < 2)
        rc = llmsim_error_set(err, LLMSIM_EINVAL, name, lineno + 1, 1,
                              "need at least 2 requests to calibrate, found %zu", n);
    if (rc == LLMSIM_ENOMEM)
        llmsim_error_set(err, LLMSIM_ENOMEM, name, 0, 0, "out of memory");
    if (rc == 0 && rows_to_data(d, rows, n) != 0)
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, name, 0, 0, "out of memory");
    free(rows);
    return rc;
}

int ana_creq_read(struct ana_creq_data *d, const char *path, struct llmsim_error *err)
{
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf != NULL) {
        size_t k = fread(buf + n, 1, cap - n, fp);
        n += k;
        if (n < cap)
            break;
        if (cap >= CREQ_MAX_BYTES) {
            rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, 0, 0, "file larger than %u MiB",
                                  CREQ_MAX_BYTES >> 20);
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (nb == NULL)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    if (rc == 0 && buf == NULL)
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    if (rc == 0 && ferror(fp))
        rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "read error: %s", strerror(errno));
    fclose(fp);
    if (rc == 0)
        rc = ana_creq_parse(d, buf, n, path, err);
    free(buf);
    return rc;
}

/* ---- the deployment ----------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128)
        return la > lb ? la : lb;
    size_t prev[129], cur[129];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

static int is_roofline(const struct sim_deployment_cfg *d)
{
    return d->kind == SIM_DEPLOY_SELF_HOSTED && d->latency_kind == MDL_LAT_ROOFLINE && d->has_gpu &&
           d->has_llm;
}

int ana_creq_deployment(const struct sim_scenario *sc, const char *name, int *index,
                        struct llmsim_error *err)
{
    if (name != NULL) {
        const char *near = NULL;
        size_t best = (size_t)-1;
        for (size_t i = 0; i < sc->n_deployments; i++) {
            const struct sim_deployment_cfg *d = &sc->deployments[i];
            if (!strcmp(d->name, name)) {
                if (!is_roofline(d))
                    return llmsim_error_set(
                        err, LLMSIM_EINVAL, NULL, 0, 0,
                        "deployment '%s' is not a self-hosted deployment with the roofline "
                        "latency model (a 'gpu' and a 'model'); only those can be calibrated",
                        name);
                *index = (int)i;
                return 0;
            }
            size_t e = edit_distance(name, d->name);
            if (e < best) {
                best = e;
                near = d->name;
            }
        }
        size_t lim = strlen(name) / 2 > 2 ? strlen(name) / 2 : 2;
        if (near != NULL && best <= lim)
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "scenario '%s' has no deployment '%s' (did you mean '%s'?)",
                                    sc->name, name, near);
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "scenario '%s' has no deployment '%s'", sc->name, name);
    }
    int found = -1, count = 0;
    char names[256] = "";
    size_t nl = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        if (!is_roofline(&sc->deployments[i]))
            continue;
        if (found < 0)
            found = (int)i;
        count++;
        int k = snprintf(names + nl, sizeof names - nl, "%s%s", nl ? ", " : "",
                         sc->deployments[i].name);
        if (k > 0 && nl + (size_t)k < sizeof names)
            nl += (size_t)k;
    }
    if (count == 0)
        return llmsim_error_set(
            err, LLMSIM_EINVAL, NULL, 0, 0,
            "scenario '%s' has no self-hosted deployment with the roofline latency model "
            "(kind: self-hosted with a 'gpu' and a 'model'); there is nothing to calibrate",
            sc->name);
    if (count > 1)
        return llmsim_error_set(
            err, LLMSIM_EINVAL, NULL, 0, 0,
            "scenario '%s' has %d self-hosted roofline deployments (%s); name the one the "
            "measurements come from with --deployment",
            sc->name, count, names);
    *index = found;
    return 0;
}

void ana_creq_defaults(const struct sim_scenario *sc, int dep, double p[MDL_N_PARAMS])
{
    const struct sim_deployment_cfg *d = &sc->deployments[dep];
    struct mdl_roofline r;
    mdl_roofline_init(&r, &d->roofline.gpu, &d->roofline.llm, d->roofline.tp, d->roofline.weights,
                      d->roofline.kv);
    mdl_roofline_set_engine(&r, d->roofline.engine);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        p[i] = mdl_roofline_param_get(&r, i);
}

/* ---- the replayer ------------------------------------------------------------------------

 * A replayer owns a shallow copy of the scenario whose workload is the
 * measurements as a trace, routed to the deployment, and its own copy of the
 * deployments array (the parameters are set per replay).  It runs R
 * replicates whose arrivals are jittered (uniform, width J, fixed seeds) and
 * re-sorted, and gives each row the geometric means over the replicates of
 * its simulated TTFT and of its decode time (E2E - TTFT): the phase of an
 * arrival within the engine's step, which the measurements cannot tell, is
 * averaged out.  R = 1 with J = 0 is the plain replay. */
struct replayer {
    struct sim_scenario sc;          /* shallow copy of the base, nothing owned but deps */
    struct sim_deployment_cfg *deps; /* own copy of the deployments array */
    int dep;
    const struct ana_creq_data *d;
    int reps;
    double *arr;        /* reps x n: arrival times of each replicate */
    uint32_t *in, *out; /* reps x n: their token counts */
    uint32_t *perm;     /* reps x n: row of the m-th arrival of each replicate */
    double *t1, *e1;    /* one replay, by record id */
    double *lt, *ld;    /* reps x n: each replicate's log TTFT and log decode time, by row */
    double *ttft, *e2e; /* by row */
    size_t got, rejected;
};

static int rp_sink(void *ctx, const struct sim_request_record *r)
{
    struct replayer *rp = ctx;
    if (r->id >= rp->d->n)
        return LLMSIM_ESTATE;
    if (r->flags & SIM_RF_REJECTED) {
        rp->t1[r->id] = rp->e1[r->id] = NAN;
    } else {
        rp->t1[r->id] = r->ttft_s;
        rp->e1[r->id] = r->e2e_s;
    }
    rp->got++;
    return 0;
}

static void rp_free(struct replayer *rp)
{
    free(rp->deps);
    free(rp->arr);
    free(rp->in);
    free(rp->out);
    free(rp->perm);
    free(rp->t1);
    free(rp->e1);
    free(rp->lt);
    free(rp->ld);
    free(rp->ttft);
    free(rp->e2e);
    memset(rp, 0, sizeof *rp);
}

/* splitmix64: a uniform in [0, 1) from (replicate, row), the same on every
 * machine and thread. */
static double jitter_uniform(uint64_t rep, uint64_t row)
{
    uint64_t z = (rep + 1) * 0x9E3779B97F4A7C15ULL + row * 0xD1B54A32D192ED03ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

struct keyed {
    double t;
    uint32_t row;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int rp_init(struct replayer *rp, const struct sim_scenario *base, int dep,
                   const struct ana_creq_data *d, int reps, double jitter_s, int set)
{
    memset(rp, 0, sizeof *rp);
    size_t n = d->n;
    rp->dep = dep;
    rp->d = d;
    rp->reps = reps < 1 ? 1 : reps;
    size_t rn = (size_t)rp->reps * n;
    rp->deps = malloc(base->n_deployments * sizeof *rp->deps);
    rp->arr = malloc(rn * sizeof *rp->arr);
    rp->in = malloc(rn * sizeof *rp->in);
    rp->out = malloc(rn * sizeof *rp->out);
    rp->perm = malloc(rn * sizeof *rp->perm);
    rp->t1 = malloc(n * sizeof *rp->t1);
    rp->e1 = malloc(n * sizeof *rp->e1);
    rp->lt = malloc(rn * sizeof *rp->lt);
    rp->ld = malloc(rn * sizeof *rp->ld);
    rp->ttft = malloc(n * sizeof *rp->ttft);
    rp->e2e = malloc(n * sizeof *rp->e2e);
    struct keyed *k = malloc(n * sizeof *k);
    if (!rp->deps || !rp->arr || !rp->in || !rp->out || !rp->perm || !rp->t1 || !rp->e1 ||
        !rp->lt || !rp->ld || !rp->ttft || !rp->e2e || !k) {
        free(k);
        rp_free(rp);
        return LLMSIM_ENOMEM;
    }
    for (int r = 0; r < rp->reps; r++) {
        for (size_t i = 0; i < n; i++) {
            k[i].t = d->arrival_s[i] +
                     (jitter_s > 0
                          ? jitter_s * (jitter_uniform((uint64_t)set * 1000 + (uint64_t)r, i) - 0.5)
                          : 0.0);
            k[i].row = (uint32_t)i;
        }
        if (jitter_s > 0)
            qsort(k, n, sizeof *k, cmp_keyed);
        double t0 = k[0].t;
        for (size_t m = 0; m < n; m++) {
            size_t at = (size_t)r * n + m;
            rp->arr[at] = k[m].t - t0;
            rp->perm[at] = k[m].row;
            rp->in[at] = d->input_tokens[k[m].row];
            rp->out[at] = d->output_tokens[k[m].row];
        }
    }
    free(k);
    memcpy(rp->deps, base->deployments, base->n_deployments * sizeof *rp->deps);
    struct sim_scenario *s = &rp->sc;
    *s = *base;
    s->deployments = rp->deps;
    s->description = NULL;
    s->duration_s = 0;
    s->max_requests = 0;
    s->warmup_s = 0;
    s->replications = 1;
    struct sim_workload_cfg *wl = &s->workload;
    wl->process = SIM_ARRIVAL_TRACE;
    wl->rate_per_s = 0;
    memset(&wl->trace, 0, sizeof wl->trace);
    wl->trace_speedup = 1.0;
    wl->sessions.enabled = 0;
    memset(&s->routing, 0, sizeof s->routing);
    s->routing.policy = SIM_ROUTE_FIXED;
    s->routing.to = dep;
    s->routing.fallback = dep;
    memset(&s->output_control, 0, sizeof s->output_control);
    s->output_control.verbosity = 1.0;
    memset(&s->slo, 0, sizeof s->slo);
    memset(&s->joint, 0, sizeof s->joint);
    memset(&s->output, 0, sizeof s->output);
    return 0;
}

/* Replays with parameters p (NULL = as loaded) and fills rp->ttft, rp->e2e
 * (NaN for a request rejected in some replicate) and rp->rejected. */
static int rp_run(struct replayer *rp, const double *p, struct llmsim_error *err)
{
    const struct ana_creq_data *d = rp->d;
    size_t n = d->n;
    struct sim_deployment_cfg *dc = &rp->deps[rp->dep];
    if (p != NULL)
        for (int i = 0; i < MDL_N_PARAMS; i++)
            mdl_roofline_param_set(&dc->roofline, i, p[i]);
    /* ttft and e2e accumulate the logs of TTFT and of the decode time. */
    for (size_t i = 0; i < n; i++)
        rp->ttft[i] = rp->e2e[i] = 0;
    for (int r = 0; r < rp->reps; r++) {
        size_t at = (size_t)r * n;
        rp->sc.workload.trace = (struct sim_trace){.n = n,
                                                   .t_s = rp->arr + at,
                                                   .input_tokens = rp->in + at,
                                                   .output_tokens = rp->out + at};
        for (size_t m = 0; m < n; m++)
            rp->t1[m] = rp->e1[m] = NAN;
        rp->got = 0;
        struct sim_sink sink = {rp, rp_sink, NULL, NULL, NULL};
        struct sim_world *w = NULL;
        int rc = sim_world_alloc(&w, &rp->sc, 0, &sink, err);
        if (rc != 0)
            return rc;
        rc = sim_run(w);
        sim_world_free(w);
        if (rc != 0)
            return llmsim_error_set(err, rc, NULL, 0, 0, "replay failed: %s", llmsim_strerror(rc));
        if (rp->got != n)
            return llmsim_error_set(err, LLMSIM_ESTATE, NULL, 0, 0,
                                    "replay finished %zu of %zu requests", rp->got, n);
        for (size_t m = 0; m < n; m++) {
            size_t i = rp->perm[at + m];
            double t = rp->t1[m], dec = rp->e1[m] - rp->t1[m];
            double a = log(t > 1e-12 ? t : 1e-12); /* NaN stays NaN */
            double b =
                d->output_tokens[i] >= 2 ? log(dec > 1e-12 ? dec : 1e-12) : (isnan(t) ? NAN : 0.0);
            rp->lt[at + i] = a;
            rp->ld[at + i] = b;
            rp->ttft[i] += a;
            rp->e2e[i] += b;
        }
    }
    rp->rejected = 0;
    for (size_t i = 0; i < n; i++) {
        double t = exp(rp->ttft[i] / rp->reps);
        double dec = d->output_tokens[i] >= 2 ? exp(rp->e2e[i] / rp->reps) : 0.0;
        rp->ttft[i] = t;
        rp->e2e[i] = t + dec;
        if (!isfinite(rp->ttft[i]) || !isfinite(rp->e2e[i])) {
            rp->ttft[i] = rp->e2e[i] = NAN;
            rp->rejected++;
        }
    }
    return 0;
}

static int check_dep(const struct sim_scenario *sc, int dep, struct llmsim_error *err)
{
    if (dep < 0 || (size_t)dep >= sc->n_deployments || !is_roofline(&sc->deployments[dep]))
        return llmsim_error_set(
            err, LLMSIM_EINVAL, NULL, 0, 0,
            "deployment %d is not a self-hosted deployment with the roofline latency model", dep);
    return 0;
}

int ana_creq_replay(const struct sim_scenario *sc, int dep, const double *p,
                    const struct ana_creq_data *d, double *ttft, double *e2e, size_t *rejected,
                    struct llmsim_error *err)
{
    int rc = check_dep(sc, dep, err);
    if (rc)
        return rc;
    struct replayer rp;
    if (rp_init(&rp, sc, dep, d, 1, 0.0, 0) != 0)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    rc = rp_run(&rp, p, err);
    if (rc == 0) {
        memcpy(ttft, rp.ttft, d->n * sizeof *ttft);
        memcpy(e2e, rp.e2e, d->n * sizeof *e2e);
        if (rejected)
            *rejected = rp.rejected;
    }
    rp_free(&rp);
    return rc;
}

/* ---- residuals and errors ---------------------------------------------------------------- */

/* Measured TPOT of row i, NaN when it has none (one output token, or
 * e2e == ttft). */
static double meas_tpot(const struct ana_creq_data *d, size_t i)
{
    if (d->output_tokens[i] < 2)
        return NAN;
    double t = (d->e2e_s[i] - d->ttft_s[i]) / (d->output_tokens[i] - 1.0);
    return t > 0 ? t : NAN;
}

static double pred_tpot(const struct ana_creq_data *d, size_t i, double ttft, double e2e)
{
    double t = (e2e - ttft) / (d->output_tokens[i] - 1.0);
    return t > 1e-12 ? t : 1e-12;
}

/* Sums of squared log errors and counts over the rows with mask[i] (NULL =
 * all): [0] TTFT, of the mean log error of each bin of `bin` consecutive
 * requests (by arrival; 1 = each request), [1] TPOT, of each request.
 * With rp (whose ttft and e2e these are) and R > 1 replicates, each squared
 * error is made unbiased for the squared error of the replicates' mean
 * prediction as R grows: the between-replicate variance of the prediction /
 * R is taken off (else parameters under which the schedule is less chaotic
 * would look better by that much). */
static void sq_errors(const struct ana_creq_data *d, const unsigned char *mask, const double *ttft,
                      const double *e2e, int bin, const struct replayer *rp, double ss[2],
                      double cnt[2])
{
    ss[0] = ss[1] = cnt[0] = cnt[1] = 0;
    size_t n = d->n, b = bin < 1 ? 1 : (size_t)bin;
    int R = rp != NULL && rp->reps <= CREQ_MAX_REPS ? rp->reps : 1;
    double bs = 0, bm[CREQ_MAX_REPS] = {0};
    int bc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((mask && !mask[i]) || !isfinite(ttft[i]) || !isfinite(e2e[i]))) {
            bs += log((ttft[i] > 1e-12 ? ttft[i] : 1e-12) / d->ttft_s[i]);
            bc++;
            for (int r = 0; R > 1 && r < R; r++)
                bm[r] += rp->lt[(size_t)r * n + i];
            double m = meas_tpot(d, i);
            if (isfinite(m)) {
                double q = log(pred_tpot(d, i, ttft[i], e2e[i]) / m);
                double corr = 0;
                if (R > 1) {
                    double mu = 0, v = 0;
                    for (int r = 0; r < R; r++)
                        mu += rp->ld[(size_t)r * n + i] / R;
                    for (int r = 0; r < R; r++)
                        v += (rp->ld[(size_t)r * n + i] - mu) * (rp->ld[(size_t)r * n + i] - mu);
                    corr = v / (R - 1) / R;
                }
                ss[1] += q * q - corr;
                cnt[1] += 1;
            }
        }
        if ((i + 1) % b == 0 || i + 1 == n) {
            if (bc > 0) {
                double a = bs / bc, corr = 0;
                if (R > 1) {
                    double mu = 0, v = 0;
                    for (int r = 0; r < R; r++)
                        mu += bm[r] / bc / R;
                    for (int r = 0; r < R; r++)
                        v += (bm[r] / bc - mu) * (bm[r] / bc - mu);
                    corr = v / (R - 1) / R;
                }
                ss[0] += a * a - corr;
                cnt[0] += 1;
            }
            bs = 0;
            bc = 0;
            for (int r = 0; r < R; r++)
                bm[r] = 0;
        }
    }
}

/* The data part of the objective: w NULL, the mean TTFT term + the mean
 * TPOT term (stage 1); else the chi-square w[0] x TTFT sum + w[1] x TPOT
 * sum (stage 2, w = 1 / each kind's variance).  NaN with no scored row. */
static double data_objective(const struct ana_creq_data *d, const unsigned char *mask,
                             const double *ttft, const double *e2e, int bin,
                             const struct replayer *rp, const double *w)
{
    double ss[2], cnt[2];
    sq_errors(d, mask, ttft, e2e, bin, rp, ss, cnt);
    if (cnt[0] == 0)
        return NAN;
    if (w != NULL)
        return w[0] * ss[0] + w[1] * ss[1];
    return ss[0] / cnt[0] + (cnt[1] > 0 ? ss[1] / cnt[1] : 0.0);
}

/* pred / meas - 1 of kind k for row i (NaN when not scored). */
static double rel_err(const struct ana_creq_data *d, size_t i, int k, double ttft, double e2e)
{
    if (!isfinite(ttft) || !isfinite(e2e))
        return NAN;
    switch (k) {
    case ANA_CREQ_TTFT:
        return ttft / d->ttft_s[i] - 1.0;
    case ANA_CREQ_TPOT: {
        double m = meas_tpot(d, i);
        return isfinite(m) ? pred_tpot(d, i, ttft, e2e) / m - 1.0 : NAN;
    }
    default:
        return e2e / d->e2e_s[i] - 1.0;
    }
}

static int score(const struct ana_creq_data *d, const double *ttft, const double *e2e,
                 struct ana_creq_errors *out)
{
    memset(out, 0, sizeof *out);
    double *buf = malloc(d->n * sizeof *buf);
    if (buf == NULL)
        return LLMSIM_ENOMEM;
    int *cnt[3] = {&out->n_ttft, &out->n_tpot, &out->n_e2e};
    for (int k = 0; k < 3; k++) {
        size_t m = 0;
        double sm = 0, sp = 0, ss = 0;
        for (size_t i = 0; i < d->n; i++) {
            double r = rel_err(d, i, k, ttft[i], e2e[i]);
            if (!isfinite(r))
                continue;
            double meas = k == ANA_CREQ_TTFT   ? d->ttft_s[i]
                          : k == ANA_CREQ_TPOT ? meas_tpot(d, i)
                                               : d->e2e_s[i];
            sm += meas;
            sp += meas * (1.0 + r);
            ss += r;
            buf[m++] = fabs(r);
        }
        *cnt[k] = (int)m;
        out->mean_meas[k] = m ? sm / (double)m : NAN;
        out->mean_pred[k] = m ? sp / (double)m : NAN;
        out->mean_signed[k] = m ? ss / (double)m : NAN;
        out->median_abs[k] = mdl_median(buf, m);
    }
    free(buf);
    out->objective = data_objective(d, NULL, ttft, e2e, 1, NULL, NULL);
    for (size_t i = 0; i < d->n; i++)
        out->rejected += !isfinite(ttft[i]) || !isfinite(e2e[i]);
    return 0;
}

/* ---- options -------------------------------------------------------------------------------- */

void ana_creq_options_default(struct ana_creq_options *o)
{
    o->folds = 5;
    o->max_iter = 200;
    o->prior_weight = 1e-3;
    o->prior_sd = 1.0;
    o->ident_rel = 1e-4;
    o->replicates = 4;
    o->gn_replicates = 16;
    o->seed_sets = 4;
    /* By default only the two hardware efficiencies a run's latencies pin
     * down and that transfer to other models: mfu (prefill throughput, seen
     * in TTFT) and mbu (decode steps, seen in TPOT).  Within one model's run
     * mbu and the fixed per-step times (host overhead, per-layer time,
     * attention bandwidth) all add to every decode step and trade off: fitted
     * together on the RTX PRO 6000 Llama-3.1-8B run, they predicted the
     * Qwen3 runs on the same GPU 24-54% off, worse than the defaults; mfu and
     * mbu alone, within 18% (docs/calibrate.md).  --params widens the set. */
    o->only = (1u << MDL_P_MFU) | (1u << MDL_P_MBU);
    o->ttft_bin = 16;
    o->jitter_s = 0;
    o->threads = 0;
}

/* The jitter width: as given, else the median measured TPOT (about one
 * engine step), within [1 ms, 100 ms]. */
static double jitter_of(const struct ana_creq_options *o, const struct ana_creq_data *d)
{
    if (o->jitter_s > 0)
        return o->jitter_s;
    double *v = malloc(d->n * sizeof *v);
    size_t m = 0;
    for (size_t i = 0; v != NULL && i < d->n; i++) {
        double t = meas_tpot(d, i);
        if (isfinite(t))
            v[m++] = t;
    }
    double j = m ? mdl_median(v, m) : 0.02;
    free(v);
    return j < 1e-3 ? 1e-3 : j > 0.1 ? 0.1 : j;
}

int ana_creq_evaluate(const struct sim_scenario *sc, int dep, const double *p,
                      const struct ana_creq_data *d, const struct ana_creq_options *opt,
                      struct ana_creq_errors *out, struct llmsim_error *err)
{
    struct ana_creq_options o;
    if (opt)
        o = *opt;
    else
        ana_creq_options_default(&o);
    int rc = check_dep(sc, dep, err);
    if (rc)
        return rc;
    struct replayer rp;
    if (rp_init(&rp, sc, dep, d, o.replicates, o.replicates > 1 ? jitter_of(&o, d) : 0.0, 0) != 0)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    rc = rp_run(&rp, p, err);
    if (rc == 0 && score(d, rp.ttft, rp.e2e, out) != 0)
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    rp_free(&rp);
    return rc;
}

/* ---- the parameter space ------------------------------------------------------------------------
 */

struct space {
    double x0[MDL_N_PARAMS]; /* defaults */
    double c[MDL_N_PARAMS];  /* offset before the log (0 but for parameters whose default is 0) */
    int nf;                  /* free parameters */
    int idx[MDL_N_PARAMS];   /* their indices */
};

/* Offsets: gemm_half_tokens (default 0 tokens) and any parameter whose
 * default is 0 get their typical scale. */
static double offset_of(int i, double x0)
{
    if (i == MDL_P_GEMM_HALF)
        return CREQ_GEMM_OFFSET;
    if (x0 > 0)
        return 0;
    switch (i) {
    case MDL_P_STEP:
        return 1e-3;
    case MDL_P_HOST_SEQ:
        return 10e-6;
    case MDL_P_LAUNCH:
        return 20e-6;
    case MDL_P_AR_LAT:
        return 10e-6;
    default:
        return 0.1;
    }
}

static double range_lo(int i)
{
    const struct mdl_param_desc *pd = &mdl_roofline_params[i];
    return pd->lo_open ? pd->lo + 1e-9 * (pd->hi - pd->lo) : pd->lo;
}

static double clamp_param(int i, double x)
{
    double lo = range_lo(i), hi = mdl_roofline_params[i].hi;
    return !(x >= lo) ? lo : x > hi ? hi : x;
}

/* Value of parameter i at log offset u, clamped to its range. */
static double to_value(const struct space *s, int i, double u)
{
    return clamp_param(i, (s->x0[i] + s->c[i]) * exp(u) - s->c[i]);
}

/* Full parameter vector from the free parameters' u (others at defaults). */
static void to_params(const struct space *s, const double *u, double p[MDL_N_PARAMS])
{
    memcpy(p, s->x0, sizeof s->x0);
    for (int k = 0; k < s->nf; k++)
        p[s->idx[k]] = to_value(s, s->idx[k], u[k]);
}

/* ---- replays in threads
 * ----------------------------------------------------------------------------- */

struct job {
    double p[MDL_N_PARAMS];
    double *ttft, *e2e; /* outputs (n each) */
    int rc;
    struct llmsim_error err;
};

struct pool {
    const struct ana_creq_data *d;
    int bin;         /* requests per TTFT bin */
    double prior_sd; /* stage-2 prior (Gauss-Newton matrix) */
    int threads;
    struct replayer *rp; /* one per thread */
    long replays;        /* parameter vectors simulated (each reps replays) */
};

struct batch_arg {
    struct pool *pool;
    int t, stride; /* jobs t, t + stride, ... */
    struct job *jobs;
    int n;
};

static void *batch_thread(void *arg)
{
    struct batch_arg *a = arg;
    struct replayer *rp = &a->pool->rp[a->t];
    for (int j = a->t; j < a->n; j += a->stride) {
        struct job *jb = &a->jobs[j];
        llmsim_error_clear(&jb->err);
        jb->rc = rp_run(rp, jb->p, &jb->err);
        if (jb->rc == 0) {
            memcpy(jb->ttft, rp->ttft, rp->d->n * sizeof *jb->ttft);
            memcpy(jb->e2e, rp->e2e, rp->d->n * sizeof *jb->e2e);
        }
    }
    return NULL;
}

static void copy_err(struct llmsim_error *dst, const struct llmsim_error *src)
{
    if (dst != NULL && dst != src)
        *dst = *src;
}

/* Runs n jobs on the pool's threads (job j on thread j mod threads; the
 * share of a thread that cannot start runs here). */
static int run_batch(struct pool *pl, struct job *jobs, int n, struct llmsim_error *err)
{
    int nt = pl->threads < n ? pl->threads : n;
    struct batch_arg args[CREQ_MAX_THREADS];
    pthread_t th[CREQ_MAX_THREADS];
    int started[CREQ_MAX_THREADS] = {0};
    for (int t = 0; t < nt; t++) {
        args[t] = (struct batch_arg){pl, t, nt, jobs, n};
        if (t > 0 && pthread_create(&th[t], NULL, batch_thread, &args[t]) == 0)
            started[t] = 1;
    }
    if (nt > 0)
        batch_thread(&args[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            batch_thread(&args[t]);
    }
    pl->replays += n;
    for (int j = 0; j < n; j++)
        if (jobs[j].rc != 0) {
            copy_err(err, &jobs[j].err);
            return jobs[j].rc;
        }
    return 0;
}

/* ---- the Nelder-Mead fit
 * --------------------------------------------------------------------------- */

struct fit_ctx {
    const struct space *s;
    const struct ana_creq_data *d;
    const unsigned char *mask; /* training rows (NULL = all) */
    struct replayer *rp;
    int chi;             /* 0: stage 1 (equal-weight means); 1: stage 2 (chi-square, w) */
    double w[2];         /* stage 2: 1 / variance of the TTFT bin and TPOT residuals */
    int bin;             /* requests per TTFT bin */
    double prior_weight; /* stage 1: weight of sum u^2 */
    double prior_sd;     /* stage 2: sd of the prior on each u */
    const double *T;     /* NULL: the simplex moves u; else u = base + T z (nf x nf, row-major) */
    double base[MDL_N_PARAMS];
    long evals;
    int rc;
    struct llmsim_error err;
};

static double objective_u(const double *u, void *arg)
{
    struct fit_ctx *fc = arg;
    if (fc->rc != 0)
        return GSL_POSINF;
    double p[MDL_N_PARAMS];
    to_params(fc->s, u, p);
    fc->evals++;
    int rc = rp_run(fc->rp, p, &fc->err);
    if (rc != 0) {
        fc->rc = rc;
        return GSL_POSINF;
    }
    double f = data_objective(fc->d, fc->mask, fc->rp->ttft, fc->rp->e2e, fc->bin, fc->rp,
                              fc->chi ? fc->w : NULL);
    if (!isfinite(f))
        return GSL_POSINF;
    double pr = 0;
    for (int k = 0; k < fc->s->nf; k++)
        pr += u[k] * u[k];
    return f + (fc->chi ? pr / (fc->prior_sd * fc->prior_sd) : fc->prior_weight * pr);
}

/* u of the simplex point x. */
static void point_u(const struct fit_ctx *fc, const gsl_vector *x, double *u)
{
    int nf = fc->s->nf;
    for (int a = 0; a < nf; a++) {
        if (fc->T == NULL) {
            u[a] = gsl_vector_get(x, (size_t)a);
            continue;
        }
        u[a] = fc->base[a];
        for (int b = 0; b < nf; b++)
            u[a] += fc->T[a * nf + b] * gsl_vector_get(x, (size_t)b);
    }
}

static double gsl_objective(const gsl_vector *x, void *arg)
{
    struct fit_ctx *fc = arg;
    double u[MDL_N_PARAMS];
    point_u(fc, x, u);
    return objective_u(u, arg);
}

/* Two Nelder-Mead passes, the second from the best point of the first with
 * steps x CREQ_STEP2 / CREQ_STEP1.  The simplex starts at z0 with steps
 * step[k] (when fc->T is NULL, z is u itself).  u gets the best point.
 * Returns 0 or a replay error; *fmin, *iters, *converged (of the last
 * pass) set. */
static int nelder_mead(struct fit_ctx *fc, const double *z0, const double *step, double tol,
                       int max_iter, double *u, double *fmin, int *iters, int *converged)
{
    int nf = fc->s->nf;
    *iters = 0;
    *converged = 1;
    if (nf == 0) {
        *fmin = objective_u(u, fc);
        return fc->rc;
    }
    gsl_multimin_fminimizer *m =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, (size_t)nf);
    gsl_vector *x = gsl_vector_alloc((size_t)nf), *st = gsl_vector_alloc((size_t)nf);
    if (m == NULL || x == NULL || st == NULL) {
        gsl_multimin_fminimizer_free(m);
        gsl_vector_free(x);
        gsl_vector_free(st);
        return fc->rc = llmsim_error_set(&fc->err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    gsl_multimin_function fn = {gsl_objective, (size_t)nf, fc};
    double best = GSL_POSINF, zb[MDL_N_PARAMS];
    memcpy(zb, z0, (size_t)nf * sizeof *zb);
    for (int pass = 0; pass < 2 && fc->rc == 0; pass++) {
        double scale = pass == 0 ? 1.0 : CREQ_STEP2 / CREQ_STEP1;
        for (int k = 0; k < nf; k++) {
            gsl_vector_set(x, (size_t)k, zb[k]);
            gsl_vector_set(st, (size_t)k, step[k] * scale);
        }
        if (gsl_multimin_fminimizer_set(m, &fn, x, st) != GSL_SUCCESS)
            break;
        int conv = 0;
        for (int it = 0; it < max_iter && fc->rc == 0; it++) {
            (*iters)++;
            if (gsl_multimin_fminimizer_iterate(m) != GSL_SUCCESS)
                break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), tol) == GSL_SUCCESS) {
                conv = 1;
                break;
            }
        }
        double f = gsl_multimin_fminimizer_minimum(m);
        if (f <= best) {
            best = f;
            for (int k = 0; k < nf; k++)
                zb[k] = gsl_vector_get(m->x, (size_t)k);
        }
        *converged = conv;
    }
    gsl_vector_view zv = gsl_vector_view_array(zb, (size_t)nf);
    point_u(fc, &zv.vector, u);
    gsl_multimin_fminimizer_free(m);
    gsl_vector_free(x);
    gsl_vector_free(st);
    *fmin = best;
    return fc->rc;
}

/* Nelder-Mead in the parameters' own log coordinates from u (in/out). */
static int nm_plain(struct fit_ctx *fc, double *u, int max_iter, double *fmin, int *iters,
                    int *converged)
{
    double step[MDL_N_PARAMS];
    for (int k = 0; k < fc->s->nf; k++)
        step[k] = CREQ_STEP1;
    fc->T = NULL;
    double z0[MDL_N_PARAMS];
    memcpy(z0, u, (size_t)fc->s->nf * sizeof *z0);
    return nelder_mead(fc, z0, step, CREQ_TOL, max_iter, u, fmin, iters, converged);
}

/* Whitening of the free parameters from the Gauss-Newton matrix: u = base +
 * T z with T = D^-1 V L^-1/2 (A scaled to unit diagonal by D = diag(sqrt
 * A_kk) is V L V'), so that one unit of z is about one standard deviation
 * along each principal direction; Tinv = L^1/2 V' D. */
struct whiten {
    int ok;
    double T[MDL_N_PARAMS * MDL_N_PARAMS], Tinv[MDL_N_PARAMS * MDL_N_PARAMS];
};

/* Nelder-Mead in whitened coordinates from u (in/out) around base (u when
 * base is NULL): steps of one unit of z, at most CREQ_STEP1 in any log
 * coordinate. */
static int nm_whitened(struct fit_ctx *fc, const struct whiten *wt, const double *base, double *u,
                       int max_iter, double *fmin, int *iters, int *converged)
{
    int nf = fc->s->nf;
    fc->T = wt->T;
    for (int a = 0; a < nf; a++)
        fc->base[a] = base ? base[a] : u[a];
    double z0[MDL_N_PARAMS], step[MDL_N_PARAMS];
    for (int a = 0; a < nf; a++) {
        z0[a] = 0;
        for (int b = 0; b < nf; b++)
            z0[a] += wt->Tinv[a * nf + b] * (u[b] - fc->base[b]);
        double big = 0;
        for (int b = 0; b < nf; b++)
            big = fabs(wt->T[b * nf + a]) > big ? fabs(wt->T[b * nf + a]) : big;
        step[a] = big > CREQ_STEP1 ? CREQ_STEP1 / big : 1.0;
    }
    int rc = nelder_mead(fc, z0, step, CREQ_TOL_Z, max_iter, u, fmin, iters, converged);
    fc->T = NULL;
    return rc;
}

/* Stage-2 weights: 1 / the mean squared residual of each kind (TTFT bins,
 * TPOT) at the replay (ttft, e2e), so that the stage-2 objective is a
 * chi-square (feasible generalised least squares). */
static void variance_weights(const struct ana_creq_data *d, const unsigned char *mask,
                             const struct replayer *rp, int bin, double w[2])
{
    double ss[2], cnt[2];
    sq_errors(d, mask, rp->ttft, rp->e2e, bin, rp, ss, cnt);
    for (int k = 0; k < 2; k++) {
        double v = cnt[k] > 0 ? ss[k] / cnt[k] : 0;
        w[k] = cnt[k] > 0 ? 1.0 / (v > CREQ_MIN_VAR ? v : CREQ_MIN_VAR) : 0;
    }
}

/* ---- intervals
 * -----------------------------------------------------------------------------------------------
 */

/* The smooth residual vector for the Gauss-Newton matrix: each request's
 * TPOT log error (NaN where none), then the mean TTFT log error of each bin
 * of CREQ_BIN consecutive requests (by arrival).  A single request's TTFT
 * moves by up to a step or more when any step time changes (which step its
 * prompt joins, the batches after it): finite differences of per-request
 * TTFT measure that scheduling noise, not the parameters' effect, while bin
 * means average it out. */
static size_t n_bins(size_t n, int bin)
{
    return (n + (size_t)bin - 1) / (size_t)bin;
}

static void smooth_residuals(const struct ana_creq_data *d, int bin, const double *ttft,
                             const double *e2e, double *r)
{
    size_t n = d->n, nb = n_bins(n, bin), B = (size_t)bin;
    for (size_t i = 0; i < n; i++) {
        double m = meas_tpot(d, i);
        r[i] = isfinite(m) && isfinite(ttft[i]) && isfinite(e2e[i])
                   ? log(pred_tpot(d, i, ttft[i], e2e[i]) / m)
                   : NAN;
    }
    for (size_t b = 0; b < nb; b++) {
        double s = 0;
        int c = 0;
        for (size_t i = b * B; i < n && i < (b + 1) * B; i++)
            if (isfinite(ttft[i])) {
                s += log((ttft[i] > 1e-12 ? ttft[i] : 1e-12) / d->ttft_s[i]);
                c++;
            }
        r[n + b] = c ? s / c : NAN;
    }
}

/* Gauss-Newton covariance of the free u at u: central differences (steps
 * CREQ_FD_STEP) of the smooth residual vector, each residual weighted by 1 /
 * the mean square of its kind (TPOT, TTFT bin) at u; Cov = (J'WJ)^-1 x
 * N / (N - p).  sd[k] gets the standard deviations; *singular is set (and
 * sd left NaN) when the unit-diagonal J'WJ has an eigenvalue below
 * CREQ_SINGULAR of the largest, *worst then the free index with the largest
 * share of that eigenvector. */
/* What a Gauss-Newton evaluation gives besides the intervals: the step
 * -(J'WJ + I / prior_sd^2)^-1 (J'W r + u / prior_sd^2), the objective
 * chi = sum w r^2 + sum u^2 / prior_sd^2 and the weights w of the two
 * kinds of residuals. */
struct gn_out {
    double step[MDL_N_PARAMS];
    double chi;
    double w[2];
};

static int intervals(struct pool *pl, const struct space *s, const double *u, double *sd,
                     int *singular, int *worst, struct whiten *wt, struct gn_out *go,
                     struct llmsim_error *err)
{
    wt->ok = 0;
    memset(go, 0, sizeof *go);
    go->chi = NAN;
    const struct ana_creq_data *d = pl->d;
    int nf = s->nf;
    *singular = 0;
    *worst = -1;
    for (int k = 0; k < nf; k++)
        sd[k] = NAN;
    if (nf == 0)
        return 0;
    size_t n = d->n, nr = n + n_bins(n, pl->bin);
    int np = 1 + 2 * nf;
    struct job *jobs = calloc((size_t)np, sizeof *jobs);
    double *store = malloc((size_t)np * 2 * n * sizeof *store);
    double *res = malloc((size_t)np * nr * sizeof *res);
    gsl_matrix *A = gsl_matrix_calloc((size_t)nf, (size_t)nf),
               *V = gsl_matrix_alloc((size_t)nf, (size_t)nf);
    gsl_vector *ev = gsl_vector_alloc((size_t)nf);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)nf);
    int rc = 0;
    if (!jobs || !store || !res || !A || !V || !ev || !ws) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (int j = 0; j < np; j++) {
        double uu[MDL_N_PARAMS];
        memcpy(uu, u, (size_t)nf * sizeof *uu);
        if (j > 0)
            uu[(j - 1) / 2] += j % 2 ? CREQ_FD_STEP : -CREQ_FD_STEP;
        to_params(s, uu, jobs[j].p);
        jobs[j].ttft = store + (size_t)j * 2 * n;
        jobs[j].e2e = jobs[j].ttft + n;
    }
    rc = run_batch(pl, jobs, np, err);
    if (rc)
        goto out;
    for (int j = 0; j < np; j++)
        smooth_residuals(d, pl->bin, jobs[j].ttft, jobs[j].e2e, res + (size_t)j * nr);
    double ss[2] = {0, 0}, cnt[2] = {0, 0};
    for (size_t k = 0; k < nr; k++)
        if (isfinite(res[k])) {
            ss[k >= n] += res[k] * res[k];
            cnt[k >= n] += 1;
        }
    double wk[2];
    for (int g = 0; g < 2; g++) {
        double v = cnt[g] > 0 ? ss[g] / cnt[g] : 0;
        wk[g] = 1.0 / (v > CREQ_MIN_VAR ? v : CREQ_MIN_VAR);
        go->w[g] = wk[g];
    }
    go->chi = 0;
    for (size_t k = 0; k < nr; k++)
        if (isfinite(res[k]))
            go->chi += wk[k >= n] * res[k] * res[k];
    for (int a = 0; a < nf; a++)
        go->chi += u[a] * u[a] / (pl->prior_sd * pl->prior_sd);
    /* A = J'WJ; and the scores w r J summed over each block of consecutive
     * requests, for the cluster-robust variance below. */
    double tot = 0;
    double score[CREQ_BLOCKS][MDL_N_PARAMS];
    memset(score, 0, sizeof score);
    for (size_t k = 0; k < nr; k++) {
        double jr[MDL_N_PARAMS];
        int ok = isfinite(res[k]);
        for (int a = 0; a < nf && ok; a++) {
            double rp = res[(size_t)(1 + 2 * a) * nr + k], rm = res[(size_t)(2 + 2 * a) * nr + k];
            ok = isfinite(rp) && isfinite(rm);
            jr[a] = ok ? (rp - rm) / (2 * CREQ_FD_STEP) : 0;
        }
        if (!ok)
            continue;
        tot += 1;
        double w = wk[k >= n];
        size_t row = k < n ? k : (k - n) * (size_t)pl->bin; /* a bin by its first request */
        size_t blk = row * CREQ_BLOCKS / n;
        for (int a = 0; a < nf; a++) {
            score[blk][a] += w * res[k] * jr[a];
            for (int b = 0; b < nf; b++)
                *gsl_matrix_ptr(A, (size_t)a, (size_t)b) += w * jr[a] * jr[b];
        }
    }
    /* The prior's information: one pseudo-residual u_k / prior_sd each. */
    for (int a = 0; a < nf; a++)
        *gsl_matrix_ptr(A, (size_t)a, (size_t)a) += 1.0 / (pl->prior_sd * pl->prior_sd);
    double sc[MDL_N_PARAMS];
    for (int a = 0; a < nf; a++) {
        sc[a] = sqrt(gsl_matrix_get(A, (size_t)a, (size_t)a));
        if (!(sc[a] > 0)) {
            *singular = 1;
            *worst = a;
            goto out;
        }
    }
    for (int a = 0; a < nf; a++)
        for (int b = 0; b < nf; b++)
            gsl_matrix_set(A, (size_t)a, (size_t)b,
                           gsl_matrix_get(A, (size_t)a, (size_t)b) / (sc[a] * sc[b]));
    gsl_eigen_symmv(A, ev, V, ws);
    gsl_eigen_symmv_sort(ev, V, GSL_EIGEN_SORT_VAL_ASC);
    double lmin = gsl_vector_get(ev, 0), lmax = gsl_vector_get(ev, (size_t)nf - 1);
    if (!(lmin > CREQ_SINGULAR * lmax) || !(tot > nf)) {
        *singular = 1;
        double big = -1;
        for (int a = 0; a < nf; a++)
            if (fabs(gsl_matrix_get(V, (size_t)a, 0)) > big) {
                big = fabs(gsl_matrix_get(V, (size_t)a, 0));
                *worst = a;
            }
        goto out;
    }
    /* Model-based: (J'WJ)^-1 x N / (N - p).  Cluster-robust (sandwich):
     * A^-1 (sum over blocks of g g') A^-1 x G / (G - 1), g a block's
     * score: residuals of nearby requests are correlated (a queue state
     * lasts), which the model-based form ignores.  The larger of the two. */
    double Ainv[MDL_N_PARAMS][MDL_N_PARAMS];
    for (int a = 0; a < nf; a++)
        for (int b = 0; b < nf; b++) {
            double v = 0;
            for (int c = 0; c < nf; c++)
                v += gsl_matrix_get(V, (size_t)a, (size_t)c) *
                     gsl_matrix_get(V, (size_t)b, (size_t)c) / gsl_vector_get(ev, (size_t)c);
            Ainv[a][b] = v / (sc[a] * sc[b]);
        }
    for (int a = 0; a < nf; a++) {
        double vm = Ainv[a][a] * tot / (tot - nf), vs = 0;
        for (int g = 0; g < CREQ_BLOCKS; g++) {
            double x = 0;
            for (int b = 0; b < nf; b++)
                x += Ainv[a][b] * score[g][b];
            vs += x * x;
        }
        vs *= CREQ_BLOCKS / (CREQ_BLOCKS - 1.0);
        sd[a] = sqrt(vm > vs ? vm : vs);
    }
    double grad[MDL_N_PARAMS];
    for (int a = 0; a < nf; a++) {
        grad[a] = u[a] / (pl->prior_sd * pl->prior_sd);
        for (int g = 0; g < CREQ_BLOCKS; g++)
            grad[a] += score[g][a];
    }
    for (int a = 0; a < nf; a++) {
        go->step[a] = 0;
        for (int b = 0; b < nf; b++)
            go->step[a] -= Ainv[a][b] * grad[b];
    }
    for (int a = 0; a < nf; a++)
        for (int c = 0; c < nf; c++) {
            double l = sqrt(gsl_vector_get(ev, (size_t)c)),
                   v = gsl_matrix_get(V, (size_t)a, (size_t)c);
            wt->T[a * nf + c] = v / (sc[a] * l);
            wt->Tinv[c * nf + a] = l * v * sc[a];
        }
    wt->ok = 1;
out:
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(ev);
    gsl_eigen_symmv_free(ws);
    free(jobs);
    free(store);
    free(res);
    return rc;
}

/* The smooth objective (chi, weights w) at each of n parameter points, in
 * one batch of replays. */
static int chi_batch(struct pool *pl, const struct space *s, const double *us, int n,
                     const double w[2], double *chi, struct llmsim_error *err)
{
    const struct ana_creq_data *d = pl->d;
    size_t nd = d->n, nr = nd + n_bins(nd, pl->bin);
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    double *store = malloc((size_t)n * 2 * nd * sizeof *store), *res = malloc(nr * sizeof *res);
    int rc = 0;
    if (!jobs || !store || !res) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (int j = 0; j < n; j++) {
        to_params(s, us + (size_t)j * MDL_N_PARAMS, jobs[j].p);
        jobs[j].ttft = store + (size_t)j * 2 * nd;
        jobs[j].e2e = jobs[j].ttft + nd;
    }
    rc = run_batch(pl, jobs, n, err);
    for (int j = 0; rc == 0 && j < n; j++) {
        smooth_residuals(d, pl->bin, jobs[j].ttft, jobs[j].e2e, res);
        double c = 0;
        for (size_t k = 0; k < nr; k++)
            if (isfinite(res[k]))
                c += w[k >= nd] * res[k] * res[k];
        for (int a = 0; a < s->nf; a++)
            c += us[(size_t)j * MDL_N_PARAMS + a] * us[(size_t)j * MDL_N_PARAMS + a] /
                 (pl->prior_sd * pl->prior_sd);
        chi[j] = c;
    }
out:
    free(jobs);
    free(store);
    free(res);
    return rc;
}

/* Gauss-Newton from u (in/out) on the smooth residual vector: up to
 * CREQ_GN_ITERS steps, each with a backtracking line search (full, half,
 * quarter, eighth step evaluated at once), stopping when no step lowers the
 * objective or the step is below CREQ_GN_TOL standard deviations.  The
 * simplex is robust far from the optimum; these steps follow the narrow
 * valleys of nearly interchangeable parameters, which a simplex in the
 * scheduling noise stalls in.  Leaves the intervals of the final point in
 * sd, singular, worst, wt. */
static int gn_polish(struct pool *pl, const struct space *s, double *u, double *sd, int *singular,
                     int *worst, struct whiten *wt, struct llmsim_error *err)
{
    int nf = s->nf;
    struct gn_out go;
    int rc = intervals(pl, s, u, sd, singular, worst, wt, &go, err);
    for (int it = 0; rc == 0 && it < CREQ_GN_ITERS && wt->ok && nf > 0; it++) {
        double us[4 * MDL_N_PARAMS], chi[4];
        double big = 0;
        for (int a = 0; a < nf; a++)
            if (isfinite(sd[a]) && sd[a] > 0 && fabs(go.step[a]) / sd[a] > big)
                big = fabs(go.step[a]) / sd[a];
        if (!(big > CREQ_GN_TOL))
            break;
        /* At most CREQ_GN_MAX in any log coordinate per step. */
        double lim = 1;
        for (int a = 0; a < nf; a++)
            if (fabs(go.step[a]) * lim > CREQ_GN_MAX)
                lim = CREQ_GN_MAX / fabs(go.step[a]);
        for (int j = 0; j < 4; j++)
            for (int a = 0; a < nf; a++)
                us[j * MDL_N_PARAMS + a] = u[a] + lim * go.step[a] / (double)(1 << j);
        rc = chi_batch(pl, s, us, 4, go.w, chi, err);
        if (rc)
            break;
        int best = -1;
        for (int j = 0; j < 4; j++)
            if (chi[j] < go.chi && (best < 0 || chi[j] < chi[best]))
                best = j;
        if (best < 0)
            break;
        memcpy(u, us + best * MDL_N_PARAMS, (size_t)nf * sizeof *u);
        rc = intervals(pl, s, u, sd, singular, worst, wt, &go, err);
    }
    return rc;
}

/* ---- the folds
 * --------------------------------------------------------------------------------------------------
 */

struct fold_arg {
    struct pool *pool;
    int t, stride; /* folds t, t + stride, ... */
    const struct space *s;
    int folds, max_iter;
    double w[2], prior_sd;
    const struct whiten *wt; /* of the full-data fit (wt->ok 0: plain coordinates) */
    const double *u_full;    /* the full-data fit, the centre of the whitened coordinates */
    double *ttft, *e2e;      /* held-out predictions, written for each fold's rows */
    long evals;
    int rc;
    struct llmsim_error err;
};

static void fold_range(size_t n, int k, int f, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)f / (size_t)k;
    *hi = n * (size_t)(f + 1) / (size_t)k;
}

static void *fold_thread(void *arg)
{
    struct fold_arg *a = arg;
    const struct ana_creq_data *d = a->pool->d;
    struct replayer *rp = &a->pool->rp[a->t];
    unsigned char *mask = malloc(d->n);
    if (mask == NULL) {
        a->rc = llmsim_error_set(&a->err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    for (int f = a->t; f < a->folds && a->rc == 0; f += a->stride) {
        size_t lo, hi;
        fold_range(d->n, a->folds, f, &lo, &hi);
        for (size_t i = 0; i < d->n; i++)
            mask[i] = i < lo || i >= hi;
        struct fit_ctx fc = {.s = a->s,
                             .d = d,
                             .mask = mask,
                             .rp = rp,
                             .chi = 1,
                             .w = {a->w[0], a->w[1]},
                             .bin = a->pool->bin,
                             .prior_sd = a->prior_sd};
        double u[MDL_N_PARAMS], fmin;
        memcpy(u, a->u_full, (size_t)a->s->nf * sizeof *u);
        int iters, conv;
        int rc = a->wt->ok
                     ? nm_whitened(&fc, a->wt, a->u_full, u, a->max_iter, &fmin, &iters, &conv)
                     : nm_plain(&fc, u, a->max_iter, &fmin, &iters, &conv);
        a->evals += fc.evals;
        if (rc) {
            a->rc = rc;
            a->err = fc.err;
            break;
        }
        double p[MDL_N_PARAMS];
        to_params(a->s, u, p);
        rc = rp_run(rp, p, &a->err);
        a->evals++;
        if (rc) {
            a->rc = rc;
            break;
        }
        for (size_t i = lo; i < hi; i++) {
            a->ttft[i] = rp->ttft[i];
            a->e2e[i] = rp->e2e[i];
        }
    }
    free(mask);
    return NULL;
}

static int run_folds(struct pool *pl, const struct space *s, const struct ana_creq_options *o,
                     const double w[2], const struct whiten *wt, const double *u_full, double *ttft,
                     double *e2e, struct llmsim_error *err)
{
    int nt = pl->threads < o->folds ? pl->threads : o->folds;
    struct fold_arg args[CREQ_MAX_THREADS];
    pthread_t th[CREQ_MAX_THREADS];
    int started[CREQ_MAX_THREADS] = {0};
    for (int t = 0; t < nt; t++) {
        args[t] = (struct fold_arg){.pool = pl,
                                    .t = t,
                                    .stride = nt,
                                    .s = s,
                                    .folds = o->folds,
                                    .max_iter = o->max_iter,
                                    .w = {w[0], w[1]},
                                    .prior_sd = o->prior_sd,
                                    .wt = wt,
                                    .u_full = u_full,
                                    .ttft = ttft,
                                    .e2e = e2e};
        if (t > 0 && pthread_create(&th[t], NULL, fold_thread, &args[t]) == 0)
            started[t] = 1;
    }
    fold_thread(&args[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fold_thread(&args[t]);
    }
    for (int t = 0; t < nt; t++)
        pl->replays += args[t].evals;
    for (int t = 0; t < nt; t++)
        if (args[t].rc) {
            copy_err(err, &args[t].err);
            return args[t].rc;
        }
    return 0;
}

/* ---- refits with other jitter seeds
 * ------------------------------------------------------------------------ */

struct set_arg {
    const struct sim_scenario *sc;
    int dep;
    const struct ana_creq_data *d;
    const struct space *s;
    const struct whiten *wt;
    int reps, set, bin, max_iter;
    double jitter_s, prior_sd, w[2];
    double u[MDL_N_PARAMS]; /* in: the start (and the whitening's centre); out: the optimum */
    long evals;
    int rc;
    struct llmsim_error err;
};

static void *set_thread(void *arg)
{
    struct set_arg *a = arg;
    struct replayer rp;
    if (rp_init(&rp, a->sc, a->dep, a->d, a->reps, a->jitter_s, a->set) != 0) {
        a->rc = llmsim_error_set(&a->err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        return NULL;
    }
    struct fit_ctx fc = {.s = a->s,
                         .d = a->d,
                         .rp = &rp,
                         .chi = 1,
                         .w = {a->w[0], a->w[1]},
                         .bin = a->bin,
                         .prior_sd = a->prior_sd};
    double base[MDL_N_PARAMS], fmin;
    memcpy(base, a->u, sizeof base);
    int iters, conv;
    a->rc = nm_whitened(&fc, a->wt, base, a->u, a->max_iter, &fmin, &iters, &conv);
    if (a->rc)
        a->err = fc.err;
    a->evals = fc.evals;
    rp_free(&rp);
    return NULL;
}

struct sets_arg {
    struct set_arg *sets;
    int n, t, stride;
};

static void *sets_thread(void *arg)
{
    struct sets_arg *a = arg;
    for (int j = a->t; j < a->n; j += a->stride)
        set_thread(&a->sets[j]);
    return NULL;
}

static int run_sets(struct set_arg *sets, int n, int threads, struct llmsim_error *err)
{
    int nt = threads < n ? threads : n;
    struct sets_arg args[CREQ_MAX_THREADS];
    pthread_t th[CREQ_MAX_THREADS];
    int started[CREQ_MAX_THREADS] = {0};
    for (int t = 0; t < nt; t++) {
        args[t] = (struct sets_arg){sets, n, t, nt};
        if (t > 0 && pthread_create(&th[t], NULL, sets_thread, &args[t]) == 0)
            started[t] = 1;
    }
    if (nt > 0)
        sets_thread(&args[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            sets_thread(&args[t]);
    }
    for (int j = 0; j < n; j++)
        if (sets[j].rc) {
            copy_err(err, &sets[j].err);
            return sets[j].rc;
        }
    return 0;
}

/* ---- the whole fit
 * -------------------------------------------------------------------------------------------------
 */

static int candidate(const struct sim_deployment_cfg *dc, int i)
{
    switch (i) {
    case MDL_P_MFU:
    case MDL_P_GEMM_HALF:
    case MDL_P_MBU:
    case MDL_P_ATTN_MFU:
    case MDL_P_ATTN_MBU:
    case MDL_P_STEP:
    case MDL_P_HOST_SEQ:
        return 1;
    case MDL_P_AR_LAT:
    case MDL_P_LINK_EFF:
        return dc->roofline.tp > 1;
    case MDL_P_LAUNCH:
        return mdl_engine_info(dc->roofline.engine)->eager;
    }
    return 0;
}

static void param_text(int i, double v, char *buf, size_t n)
{
    const struct mdl_param_desc *pd = &mdl_roofline_params[i];
    snprintf(buf, n, "%.4g%s%s", v * pd->scale, pd->unit[0] ? " " : "", pd->unit);
}

static int threads_of(const struct ana_creq_options *o)
{
    long t = o->threads;
    if (t <= 0) {
        t = sysconf(_SC_NPROCESSORS_ONLN);
        if (t < 1)
            t = 1;
    }
    return t > CREQ_MAX_THREADS ? CREQ_MAX_THREADS : (int)t;
}

static void add_warning(struct mdl_cal_entry *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void add_warning(struct mdl_cal_entry *e, const char *fmt, ...)
{
    if (e->n_warnings >= MDL_CAL_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->warning[e->n_warnings], sizeof e->warning[0], fmt, ap);
    va_end(ap);
    e->n_warnings++;
}

/* Appends name to a ", "-separated list. */
static void list_add(char *buf, size_t n, const char *name)
{
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "%s%s", l ? ", " : "", name);
}

int ana_creq_fit(const struct sim_scenario *sc, int dep, const struct ana_creq_data *d,
                 const struct ana_creq_options *opt, struct ana_creq_result *res,
                 struct llmsim_error *err)
{
    struct ana_creq_options o;
    if (opt)
        o = *opt;
    else
        ana_creq_options_default(&o);
    memset(res, 0, sizeof *res);
    int rc = check_dep(sc, dep, err);
    if (rc)
        return rc;
    if (d->n < 2)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "need at least 2 requests to calibrate, got %zu", d->n);
    if (o.folds < 2)
        o.folds = 0;
    if ((size_t)o.folds > d->n)
        o.folds = (int)d->n;
    if (o.folds > CREQ_MAX_FOLDS)
        o.folds = CREQ_MAX_FOLDS;
    if (o.max_iter < 1)
        o.max_iter = 1;
    if (o.replicates < 1)
        o.replicates = 1;
    if (o.replicates > CREQ_MAX_REPS)
        o.replicates = CREQ_MAX_REPS;
    if (o.replicates == 1)
        o.seed_sets = 1; /* a plain replay has no seeds to vary */
    if (o.gn_replicates < 1)
        o.gn_replicates = 1;
    if (o.gn_replicates > CREQ_MAX_REPS)
        o.gn_replicates = CREQ_MAX_REPS;
    /* At least 16 bins: a short run keeps some TTFT resolution. */
    if ((size_t)o.ttft_bin > d->n / 16)
        o.ttft_bin = (int)(d->n / 16);
    if (o.ttft_bin < 1)
        o.ttft_bin = 1;
    const struct sim_deployment_cfg *dc = &sc->deployments[dep];
    struct mdl_cal_entry *e = &res->entry;
    snprintf(e->gpu, sizeof e->gpu, "%s", dc->roofline.gpu.id);
    snprintf(e->engine, sizeof e->engine, "%s", mdl_engine_name(dc->roofline.engine));
    e->rows = d->n > 0x7fffffff ? 0x7fffffff : (int)d->n;
    e->folds = o.folds;
    res->jitter_s = jitter_of(&o, d);

    struct space s;
    memset(&s, 0, sizeof s);
    ana_creq_defaults(sc, dep, s.x0);
    memcpy(res->defaults, s.x0, sizeof s.x0);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        s.c[i] = offset_of(i, s.x0[i]);
        e->value[i] = s.x0[i];
        e->ci_lo[i] = e->ci_hi[i] = NAN;
        res->candidate[i] = candidate(dc, i) && (o.only == 0 || (o.only >> i & 1u));
        res->sensitivity[i] = NAN;
        res->gn_half[i] = res->sim_half[i] = NAN;
    }

    struct pool pl = {.d = d, .bin = o.ttft_bin, .prior_sd = o.prior_sd, .threads = threads_of(&o)};
    struct pool pg = pl; /* the Gauss-Newton matrix: more replicates */
    const int max_jobs = 1 + 2 * MDL_N_PARAMS;
    pl.rp = calloc((size_t)pl.threads, sizeof *pl.rp);
    pg.rp = calloc((size_t)pg.threads, sizeof *pg.rp);
    struct job *jobs = calloc((size_t)max_jobs, sizeof *jobs);
    double *store = malloc((size_t)max_jobs * 2 * d->n * sizeof *store);
    double *held = malloc(2 * d->n * sizeof *held);
    if (pl.rp == NULL || pg.rp == NULL || jobs == NULL || store == NULL || held == NULL) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    for (int t = 0; t < pl.threads; t++)
        if (rp_init(&pl.rp[t], sc, dep, d, o.replicates, o.replicates > 1 ? res->jitter_s : 0.0,
                    0) != 0 ||
            rp_init(&pg.rp[t], sc, dep, d, o.gn_replicates,
                    o.gn_replicates > 1 ? res->jitter_s : 0.0, CREQ_GN_SET) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
    for (int j = 0; j < max_jobs; j++) {
        jobs[j].ttft = store + (size_t)j * 2 * d->n;
        jobs[j].e2e = jobs[j].ttft + d->n;
    }

    {
        char list[160] = "";
        for (int i = 0; i < MDL_N_PARAMS; i++) {
            double v = mdl_roofline_param_get(&dc->roofline, i);
            if (res->candidate[i] && fabs(v - s.x0[i]) > 1e-9 * fabs(s.x0[i]) + 1e-15)
                list_add(list, sizeof list, mdl_roofline_params[i].name);
        }
        if (list[0])
            add_warning(e,
                        "the scenario's own values of %s (a calibration or latency keys) were set "
                        "aside: the fit "
                        "starts from the defaults",
                        list);
    }

    /* Screening at the defaults: +-20% of each candidate, in one batch. */
    int nj = 1, which[1 + 2 * MDL_N_PARAMS];
    memcpy(jobs[0].p, s.x0, sizeof s.x0);
    which[0] = -1;
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        if (!res->candidate[i])
            continue;
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            memcpy(jobs[nj].p, s.x0, sizeof s.x0);
            jobs[nj].p[i] = clamp_param(i, (s.x0[i] + s.c[i]) * (1.0 + sgn * CREQ_SCREEN) - s.c[i]);
            which[nj++] = i;
        }
    }
    rc = run_batch(&pl, jobs, nj, err);
    if (rc)
        goto done;
    if (score(d, jobs[0].ttft, jobs[0].e2e, &res->before) != 0) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    double f0 = res->before.objective;
    res->objective0 = f0;
    if (!isfinite(f0)) {
        rc = llmsim_error_set(
            err, LLMSIM_ENUMERIC, NULL, 0, 0,
            "the replay with the default parameters gives no finite error (is every request "
            "rejected?)");
        goto done;
    }
    if (res->before.rejected > 0)
        add_warning(e,
                    "%zu of %zu requests never fit one replica's KV memory in the simulation and "
                    "are left out",
                    res->before.rejected, d->n);
    for (int j = 1; j < nj; j++) {
        double f = data_objective(d, NULL, jobs[j].ttft, jobs[j].e2e, o.ttft_bin, NULL, NULL);
        double rel = fabs(f - f0) / (f0 > 1e-300 ? f0 : 1e-300);
        int i = which[j];
        if (!isfinite(rel))
            rel = INFINITY;
        if (isnan(res->sensitivity[i]) || rel > res->sensitivity[i])
            res->sensitivity[i] = rel;
    }
    for (int i = 0; i < MDL_N_PARAMS; i++)
        if (res->candidate[i] && res->sensitivity[i] >= o.ident_rel)
            s.idx[s.nf++] = i;

    /* Stage 1: equal weights, from the defaults. */
    double u[MDL_N_PARAMS] = {0}, sd[MDL_N_PARAMS];
    struct replayer *rp0 = &pl.rp[0];
    struct fit_ctx fc = {
        .s = &s, .d = d, .rp = rp0, .w = {1, 1}, .bin = o.ttft_bin, .prior_weight = o.prior_weight};
    double fmin;
    int iters, conv;
    rc = nm_plain(&fc, u, o.max_iter, &fmin, &iters, &conv);
    pl.replays += fc.evals;
    res->iterations += iters;
    if (rc) {
        copy_err(err, &fc.err);
        goto done;
    }
    {
        double p[MDL_N_PARAMS];
        to_params(&s, u, p);
        rc = rp_run(rp0, p, err);
        pl.replays++;
        if (rc)
            goto done;
        variance_weights(d, NULL, rp0, o.ttft_bin, res->weight);
    }

    /* Stage 2: weights 1 / variance of each kind; drop the parameters whose
     * interval is wider than their value (or whose curvature is not
     * positive) and refit, until none is dropped. */
    int singular = 0, worst = -1;
    struct whiten wt;
    memset(&wt, 0, sizeof wt);
    char dropped[160] = "";
    for (int round = 0; round <= MDL_N_PARAMS; round++) {
        struct fit_ctx f2 = {.s = &s,
                             .d = d,
                             .rp = rp0,
                             .chi = 1,
                             .w = {res->weight[0], res->weight[1]},
                             .bin = o.ttft_bin,
                             .prior_sd = o.prior_sd};
        /* The plain simplex, then one in the coordinates whitened by the
         * Gauss-Newton matrix there: a plain simplex crawls along the
         * ridges of nearly interchangeable parameters (mbu and the step
         * overhead both add to every decode step). */
        rc = nm_plain(&f2, u, o.max_iter, &fmin, &iters, &conv);
        res->iterations += iters;
        if (rc == 0 && round == 0) {
            /* Also from the defaults: the equal-weight stage can end in
             * another basin (its objective is dominated by the scheduling
             * noise of TTFT); keep the better start. */
            double u0[MDL_N_PARAMS] = {0}, f0b;
            int it0, cv0;
            rc = nm_plain(&f2, u0, o.max_iter, &f0b, &it0, &cv0);
            res->iterations += it0;
            if (rc == 0 && f0b < fmin) {
                memcpy(u, u0, sizeof u0);
                fmin = f0b;
                conv = cv0;
            }
        }
        if (rc == 0)
            rc = gn_polish(&pg, &s, u, sd, &singular, &worst, &wt, err);
        pl.replays += f2.evals;
        res->converged = conv;
        if (rc) {
            if (f2.rc)
                copy_err(err, &f2.err);
            goto done;
        }
        int drop = -1;
        if (singular && worst >= 0) {
            drop = worst;
        } else if (!singular) {
            double widest = 1.0;
            for (int k = 0; k < s.nf; k++) {
                int i = s.idx[k];
                double v = to_value(&s, i, u[k]);
                double lo = to_value(&s, i, u[k] - CREQ_Z95 * sd[k]),
                       hi = to_value(&s, i, u[k] + CREQ_Z95 * sd[k]);
                double rel = v > 0 ? (hi - lo) / v : INFINITY;
                if (rel > widest) {
                    widest = rel;
                    drop = k;
                }
            }
        }
        if (drop < 0 || s.nf == 0)
            break;
        /* One at a time, the least determined first. */
        list_add(dropped, sizeof dropped, mdl_roofline_params[s.idx[drop]].name);
        for (int k = drop; k + 1 < s.nf; k++) {
            s.idx[k] = s.idx[k + 1];
            u[k] = u[k + 1];
        }
        s.nf--;
        singular = 0;
    }
    if (dropped[0])
        add_warning(e, "not determined by these data, kept at the default: %s", dropped);

    /* The simplex also finds the scheduling noise that R replicates leave
     * in the objective: refit from the optimum with other jitter seeds
     * (whitened coordinates, in threads), average the optima and add their
     * spread to the Gauss-Newton variance. */
    double sd_sim[MDL_N_PARAMS];
    for (int k = 0; k < MDL_N_PARAMS; k++)
        sd_sim[k] = NAN;
    if (o.seed_sets > 1 && wt.ok && s.nf > 0) {
        struct set_arg sa[CREQ_MAX_SETS];
        int ns = o.seed_sets > CREQ_MAX_SETS ? CREQ_MAX_SETS : o.seed_sets;
        for (int k = 1; k < ns; k++) {
            sa[k] = (struct set_arg){.sc = sc,
                                     .dep = dep,
                                     .d = d,
                                     .s = &s,
                                     .wt = &wt,
                                     .reps = o.replicates,
                                     .jitter_s = res->jitter_s,
                                     .set = k,
                                     .bin = o.ttft_bin,
                                     .prior_sd = o.prior_sd,
                                     .max_iter = o.max_iter,
                                     .w = {res->weight[0], res->weight[1]}};
            memcpy(sa[k].u, u, sizeof u);
        }
        rc = run_sets(sa + 1, ns - 1, pl.threads, err);
        if (rc)
            goto done;
        double mean[MDL_N_PARAMS];
        for (int k = 0; k < s.nf; k++) {
            double m = u[k];
            for (int j = 1; j < ns; j++)
                m += sa[j].u[k];
            mean[k] = m / ns;
            double v = (u[k] - mean[k]) * (u[k] - mean[k]);
            for (int j = 1; j < ns; j++)
                v += (sa[j].u[k] - mean[k]) * (sa[j].u[k] - mean[k]);
            sd_sim[k] = sqrt(v / (ns - 1) / ns);
        }
        for (int j = 1; j < ns; j++)
            pl.replays += sa[j].evals;
        memcpy(u, mean, sizeof mean);
    }
    if (!res->converged)
        add_warning(e,
                    "the simplex did not shrink below %g within %d iterations; the values are the "
                    "best found",
                    CREQ_TOL, o.max_iter);
    {
        char list[160] = "";
        for (int k = 0; k < s.nf; k++) {
            int i = s.idx[k];
            e->fitted[i] = 1;
            e->value[i] = to_value(&s, i, u[k]);
            res->gn_half[i] = isfinite(sd[k]) ? CREQ_Z95 * sd[k] : NAN;
            res->sim_half[i] = isfinite(sd_sim[k]) ? CREQ_Z95 * sd_sim[k] : NAN;
            double tot = sd[k] * sd[k] + (isfinite(sd_sim[k]) ? sd_sim[k] * sd_sim[k] : 0.0);
            if (isfinite(tot)) {
                e->ci_lo[i] = to_value(&s, i, u[k] - CREQ_Z95 * sqrt(tot));
                e->ci_hi[i] = to_value(&s, i, u[k] + CREQ_Z95 * sqrt(tot));
                if (e->ci_hi[i] - e->ci_lo[i] > e->value[i])
                    add_warning(e,
                                "%s is poorly determined: its 95%% interval [%.4g, %.4g] is wider "
                                "than its value",
                                mdl_roofline_params[i].name,
                                e->ci_lo[i] * mdl_roofline_params[i].scale,
                                e->ci_hi[i] * mdl_roofline_params[i].scale);
            }
            const struct mdl_param_desc *pd = &mdl_roofline_params[i];
            if (e->value[i] >= pd->hi || e->value[i] <= range_lo(i)) {
                char t[48];
                param_text(i, e->value[i], t, sizeof t);
                add_warning(e, "%s ended at the edge of its range (%s)", pd->name, t);
            }
            if (singular)
                list_add(list, sizeof list, pd->name);
        }
        if (singular)
            add_warning(e,
                        "the Hessian of the objective is singular: %s cannot all be told apart by "
                        "these data; "
                        "no intervals",
                        list);
    }

    /* In-sample errors. */
    rc = rp_run(rp0, e->value, err);
    pl.replays++;
    if (rc)
        goto done;
    if (score(d, rp0->ttft, rp0->e2e, &res->after) != 0) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    res->objective = res->after.objective;

    /* Held out. */
    struct ana_creq_errors ho;
    memset(&ho, 0, sizeof ho);
    int have_ho = 0;
    if (o.folds >= 2) {
        for (size_t i = 0; i < 2 * d->n; i++)
            held[i] = NAN;
        rc = run_folds(&pl, &s, &o, res->weight, &wt, u, held, held + d->n, err);
        if (rc)
            goto done;
        if (score(d, held, held + d->n, &ho) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        have_ho = 1;
        res->heldout = ho;
    }
    static const char *const kind_names[3] = {"ttft", "tpot", "e2e"};
    const int *ns[3] = {&res->after.n_ttft, &res->after.n_tpot, &res->after.n_e2e};
    for (int k = 0; k < 3; k++) {
        struct mdl_cal_regime *g = &e->regime[e->n_regimes++];
        snprintf(g->name, sizeof g->name, "%s", kind_names[k]);
        g->rows = *ns[k];
        g->in_median_abs = res->after.median_abs[k];
        g->in_mean_signed = res->after.mean_signed[k];
        g->heldout_median_abs = have_ho ? ho.median_abs[k] : NAN;
    }
    if (res->after.n_tpot == 0)
        add_warning(e, "no request has 2 or more output tokens with e2e_s > ttft_s: TPOT is not "
                       "measured, only TTFT "
                       "is fitted");
    if (dc->replicas > 1)
        add_warning(e,
                    "deployment %s has %d replicas: the measurements must come from as many "
                    "engines behind the "
                    "same replica routing",
                    dc->name, dc->replicas);
    res->replays = pl.replays * o.replicates + pg.replays * o.gn_replicates;

done:
    for (int t = 0; pl.rp != NULL && t < pl.threads; t++)
        rp_free(&pl.rp[t]);
    for (int t = 0; pg.rp != NULL && t < pg.threads; t++)
        rp_free(&pg.rp[t]);
    free(pl.rp);
    free(pg.rp);
    free(jobs);
    free(store);
    free(held);
    return rc;
}
