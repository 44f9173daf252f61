/* Fitting the roofline's hardware and engine parameters to measured step and
 * kernel times (`llmsim calibrate steps`), and the calibration file they are
 * written to; see llmsim/calibrate.h for the row kinds and docs/calibrate.md
 * for the method in prose.
 *
 * The fit, per (GPU, engine) group of rows:
 *
 *   - Parameters are fitted as theta = log(x + c): plain logarithms for the
 *     efficiencies, which are strictly positive, and an offset c (one token,
 *     1 us, 10 us, 0.1 us: below any value that matters) for the parameters
 *     whose default may be 0 (gemm_half_tokens, the latencies and host
 *     times).  A log scale makes steps relative and keeps values positive.
 *   - Residuals are log(predicted / measured), the relative error, divided by
 *     the residual standard deviation of the row's regime (kind x tp) as
 *     estimated from a first fit (feasible generalised least squares: the
 *     all-reduce rows of a profile scatter five times more than its GEMM
 *     rows, and must not set the intervals of the GEMM parameters).
 *   - A Gaussian prior centred on the default with a standard deviation of
 *     2 in log units (a factor of 7 either way) adds one residual per free
 *     parameter.  It is far weaker than any informative data, but keeps a
 *     parameter the data say nothing about from wandering during the fit.
 *   - gsl_multifit_nlinear, trust region (Levenberg-Marquardt) with a
 *     central finite-difference Jacobian: the model is piecewise smooth (a
 *     max of compute and memory time per kernel class), so analytic
 *     derivatives would buy little.
 *   - Identifiability: a parameter the row kinds cannot inform is never
 *     free (no host parameters from kernel rows, no link parameters without
 *     all-reduce rows or tp > 1, the launch floor only on an eager engine).
 *     After each fit, parameters whose Jacobian column is below 1e-3 of the
 *     largest are fixed at their defaults; then, among those whose 95%
 *     interval is wider than their value, one is fixed and the fit repeated
 *     (one at a time, since fixing one of a correlated pair often pins the
 *     other): the one whose refit stays in range with the smallest residual,
 *     so that of two parameters the data cannot tell apart, the one whose
 *     default agrees with the data is the one fixed.
 *   - 95% intervals: the covariance (J^T J)^-1 at the solution scaled by the
 *     weighted residual variance, Student-t quantile, carried back to the
 *     parameter's own units by the delta method (dx/dtheta = x + c).
 *   - Held-out errors: k folds by row index within the group (row i in fold
 *     i mod k), each refitted on the other folds with the same free set.
 *
 * Nothing here reads files: rows come in resolved (scenarios/src/steps_csv.c
 * reads the CSV and the catalogs). */
#include "llmsim/calibrate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

/* Offsets c of theta = log(x + c), in struct units; 0 = a plain logarithm
 * (the parameter's range excludes 0). */
static const double PARAM_OFFSET[MDL_N_PARAMS] = {
    [MDL_P_MFU] = 0.0,       /* range (0, 1]: plain log */
    [MDL_P_GEMM_HALF] = 1.0, /* tokens; range [0, 1e5] */
    [MDL_P_MBU] = 0.0,       /* (0, 1] */
    [MDL_P_ATTN_MFU] = 0.0,  /* (0, 1] */
    [MDL_P_ATTN_MBU] = 0.0,  /* (0, 1] */
    [MDL_P_AR_LAT] = 1e-6,   /* s; range [0, 1] */
    [MDL_P_LINK_EFF] = 0.0,  /* (0, 1] */
    [MDL_P_STEP] = 1e-5,     /* s; [0, 10] */
    [MDL_P_HOST_SEQ] = 1e-7, /* s; [0, 0.01] */
    [MDL_P_LAUNCH] = 1e-7,   /* s; [0, 0.01] */
    [MDL_P_LAYER] = 1e-7,    /* s; [0, 0.01] */
};

/* Regime residual sd before the first fit has measured one. */
#define INITIAL_SD 0.1
/* Floor of a regime's residual sd: exact (synthetic) data would otherwise
 * get infinite weight. */
#define MIN_SD 1e-6
/* theta may leave its prior centre by at most this (e^30: beyond any real
 * value), so that exp() stays finite whatever step the solver tries. */
#define THETA_SPAN 30.0

/* ---- kinds ---------------------------------------------------------------------- */

static const char *const KIND_NAMES[MDL_CAL_N_KINDS] = {"prefill", "decode", "linear", "allreduce"};

const char *mdl_cal_kind_name(enum mdl_cal_kind k)
{
    return (unsigned)k < MDL_CAL_N_KINDS ? KIND_NAMES[k] : "?";
}

int mdl_cal_kind_parse(const char *s, enum mdl_cal_kind *out)
{
    for (int i = 0; s != NULL && i < MDL_CAL_N_KINDS; i++)
        if (!strcmp(s, KIND_NAMES[i])) {
            *out = (enum mdl_cal_kind)i;
            return 0;
        }
    return LLMSIM_EINVAL;
}

static int is_kernel(enum mdl_cal_kind k)
{
    return k == MDL_CAL_LINEAR || k == MDL_CAL_ALLREDUCE;
}

/* ---- the model of one row ------------------------------------------------------------ */

void mdl_cal_step_iter(const struct mdl_cal_step *s, struct mdl_iter *it)
{
    memset(it, 0, sizeof *it);
    double b = s->batch, p = s->prompt_tokens, c = s->context_tokens;
    if (s->kind == MDL_CAL_PREFILL) {
        it->prefill_tokens = b * p;
        /* Token i of the chunk (1-based) attends to the c cached tokens and
         * to i chunk tokens: sum over i of (c + i). */
        it->prefill_pairs = b * (p * c + p * (p + 1.0) / 2.0);
        it->prefill_kv_read = b * c;
        it->requests = b;
    } else if (s->kind == MDL_CAL_DECODE) {
        it->decode_tokens = b;
        it->decode_context = b * (c + 1.0);
        it->decode_kv_read = b * c;
        it->requests = b;
    }
}

static void row_roofline(const struct mdl_cal_step *s, struct mdl_roofline *m)
{
    mdl_roofline_init(m, &s->gpu, &s->llm, s->tp, s->weights, s->kv);
    mdl_roofline_set_engine(m, s->engine);
}

void mdl_cal_step_defaults(const struct mdl_cal_step *s, double p[MDL_N_PARAMS])
{
    struct mdl_roofline m;
    row_roofline(s, &m);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        p[i] = mdl_roofline_param_get(&m, i);
}

/* The body-linear class of mdl_roofline_iter (llmsim/hardware.h) without
 * the LM head and the embedding rows: a kernel profile times the
 * transformer layers only.  The body is the active parameters less the
 * embedding table and the head, floored at a tenth of them as hardware.c
 * floors it. */
static double linear_time(const struct mdl_roofline *m, double tokens)
{
    const struct mdl_llm *l = &m->llm;
    double active = l->active_params_b;
    double body_b = active - mdl_llm_embedding_params_b(l) - mdl_llm_lm_head_params_b(l);
    if (body_b < 0.1 * active)
        body_b = 0.1 * active;
    int fp8 = m->weights == MDL_DTYPE_FP8 && m->gpu.fp8_tflops > 0;
    double peak = m->tp * (fp8 ? m->gpu.fp8_tflops : m->gpu.bf16_tflops) * 1e12;
    double eff = m->mfu * (m->gemm_half_tokens > 0 ? tokens / (tokens + m->gemm_half_tokens) : 1.0);
    double compute = 2.0 * body_b * 1e9 * tokens / (peak * eff);
    double memory = mdl_llm_touched_weight_bytes(l, m->weights, tokens) /
                    (m->tp * m->gpu.bandwidth_gbs * 1e9 * m->mbu);
    /* A layer profile includes its small kernels: the fixed time per layer. */
    return (compute > memory ? compute : memory) + l->layers * m->layer_s;
}

/* One ring all-reduce of `tokens` rows of 16-bit hidden activations, the
 * term mdl_roofline_iter counts twice per layer. */
static double allreduce_time(const struct mdl_roofline *m, double tokens)
{
    double bytes = tokens * m->llm.hidden * 2.0;
    return m->allreduce_latency_s +
           2.0 * (m->tp - 1) / m->tp * bytes / (m->gpu.link_gbs * 1e9 * m->link_eff);
}

/* Time of row s on configuration m, whose parameters are set to p. */
static double predict_on(const struct mdl_cal_step *s, struct mdl_roofline *m,
                         const double p[MDL_N_PARAMS])
{
    for (int i = 0; i < MDL_N_PARAMS; i++)
        mdl_roofline_param_set(m, i, p[i]);
    double tokens = s->batch * s->prompt_tokens;
    switch (s->kind) {
    case MDL_CAL_LINEAR:
        return linear_time(m, tokens);
    case MDL_CAL_ALLREDUCE:
        return allreduce_time(m, tokens);
    case MDL_CAL_PREFILL:
    case MDL_CAL_DECODE:
        break;
    }
    struct mdl_iter it;
    struct mdl_iter_cost c;
    mdl_cal_step_iter(s, &it);
    mdl_roofline_iter(m, &it, &c);
    return c.time_s;
}

double mdl_cal_step_predict(const struct mdl_cal_step *s, const double p[MDL_N_PARAMS])
{
    struct mdl_roofline m;
    row_roofline(s, &m);
    return predict_on(s, &m, p);
}

void mdl_cal_options_default(struct mdl_cal_options *o)
{
    o->folds = 5;
    o->prior_sd = 2.0;
    o->zero_column = 1e-3;
    o->corr_warn = 0.95;
    o->max_iter = 500;
}

/* ---- the fit ----------------------------------------------------------------------- */

/* What the residual function sees. */
struct fit_ctx {
    const struct mdl_cal_step *rows; /* all rows */
    const size_t *grp;               /* the group's rows (indices into rows) */
    struct mdl_roofline *rl;         /* one prepared configuration per group row */
    const double *wt;                /* weight per group row: 1 / regime sd */
    const size_t *use;               /* group-row positions fitted now */
    size_t n;                        /* how many */
    double base[MDL_N_PARAMS];       /* values of the fixed parameters (struct units) */
    double theta0[MDL_N_PARAMS];     /* prior centres, log(default + c) */
    int free_idx[MDL_N_PARAMS];      /* parameter index of each free position */
    int n_free;
    double prior_w; /* 1 / prior sd */
};

static double param_of_theta(int i, double theta, double theta0)
{
    if (theta > theta0 + THETA_SPAN)
        theta = theta0 + THETA_SPAN;
    if (theta < theta0 - THETA_SPAN)
        theta = theta0 - THETA_SPAN;
    double x = exp(theta) - PARAM_OFFSET[i];
    return x > 0.0 ? x : 0.0;
}

static void expand(const struct fit_ctx *fc, const gsl_vector *x, double p[MDL_N_PARAMS])
{
    memcpy(p, fc->base, sizeof fc->base);
    for (int k = 0; k < fc->n_free; k++) {
        int i = fc->free_idx[k];
        p[i] = param_of_theta(i, gsl_vector_get(x, (size_t)k), fc->theta0[i]);
    }
}

/* log(predicted / measured), kept finite: a trial step into absurd
 * territory gets a large residual rather than a NaN that stops the solver. */
static double log_ratio(double pred, double meas)
{
    if (!(pred > 1e-300))
        pred = 1e-300;
    if (pred > 1e300)
        pred = 1e300;
    return log(pred / meas);
}

static int residuals(const gsl_vector *x, void *params, gsl_vector *f)
{
    struct fit_ctx *fc = params;
    double p[MDL_N_PARAMS];
    expand(fc, x, p);
    for (size_t j = 0; j < fc->n; j++) {
        size_t g = fc->use[j];
        const struct mdl_cal_step *s = &fc->rows[fc->grp[g]];
        gsl_vector_set(f, j, fc->wt[g] * log_ratio(predict_on(s, &fc->rl[g], p), s->time_s));
    }
    for (int k = 0; k < fc->n_free; k++) {
        int i = fc->free_idx[k];
        gsl_vector_set(f, fc->n + (size_t)k,
                       fc->prior_w * (gsl_vector_get(x, (size_t)k) - fc->theta0[i]));
    }
    return GSL_SUCCESS;
}

/* Result of one fit. */
struct fit_out {
    double theta[MDL_N_PARAMS];   /* all parameters; fixed ones at theta0 */
    double colnorm[MDL_N_PARAMS]; /* Jacobian column norm over the data rows (free ones) */
    double cov[MDL_N_PARAMS]
              [MDL_N_PARAMS]; /* of theta, scaled by the residual variance (free ones) */
    double s2;                /* weighted residual variance of the data rows */
    int converged;            /* 0: stopped at the iteration limit */
};

/* Fits the free parameters of fc starting from theta (all parameters) and
 * fills *o.  0 or LLMSIM_ENOMEM / LLMSIM_ENUMERIC. */
static int fit_once(struct fit_ctx *fc, const double theta[MDL_N_PARAMS], int max_iter,
                    struct fit_out *o)
{
    memcpy(o->theta, theta, sizeof o->theta);
    memset(o->colnorm, 0, sizeof o->colnorm);
    memset(o->cov, 0, sizeof o->cov);
    o->s2 = NAN;
    o->converged = 1;
    size_t p = (size_t)fc->n_free, nres = fc->n + p;
    if (p == 0)
        return 0;
    gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
    par.fdtype = GSL_MULTIFIT_NLINEAR_CTRDIFF;
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, nres, p);
    gsl_vector *x = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    int rc = 0;
    if (w == NULL || x == NULL || cov == NULL) {
        rc = LLMSIM_ENOMEM;
        goto done;
    }
    gsl_multifit_nlinear_fdf fdf;
    memset(&fdf, 0, sizeof fdf);
    fdf.f = residuals;
    fdf.df = NULL; /* finite differences */
    fdf.fvv = NULL;
    fdf.n = nres;
    fdf.p = p;
    fdf.params = fc;
    for (size_t k = 0; k < p; k++)
        gsl_vector_set(x, k, theta[fc->free_idx[k]]);
    int info = 0;
    if (gsl_multifit_nlinear_init(x, &fdf, w) != GSL_SUCCESS) {
        rc = LLMSIM_ENUMERIC;
        goto done;
    }
    int st = gsl_multifit_nlinear_driver((size_t)max_iter, 1e-10, 1e-10, 0.0, NULL, NULL, &info, w);
    /* GSL_ENOPROG: no step lowers the cost any more, which at a minimum
     * reached with finite differences is the usual way to stop.  The
     * driver reports it on the first iteration as GSL_EMAXITER with info
     * GSL_ENOPROG: the start (a refit from the previous solution) is
     * already the minimum. */
    if (st == GSL_EMAXITER && info == GSL_ENOPROG)
        st = GSL_ENOPROG;
    if (st == GSL_EMAXITER)
        o->converged = 0;
    else if (st != GSL_SUCCESS && st != GSL_ENOPROG) {
        rc = LLMSIM_ENUMERIC;
        goto done;
    }
    gsl_vector_memcpy(x, gsl_multifit_nlinear_position(w));
    /* Re-initialising evaluates the residuals and the Jacobian at the
     * solution itself. */
    if (gsl_multifit_nlinear_init(x, &fdf, w) != GSL_SUCCESS) {
        rc = LLMSIM_ENUMERIC;
        goto done;
    }
    const gsl_matrix *J = gsl_multifit_nlinear_jac(w);
    const gsl_vector *f = gsl_multifit_nlinear_residual(w);
    double ssr = 0.0;
    for (size_t j = 0; j < fc->n; j++)
        ssr += gsl_vector_get(f, j) * gsl_vector_get(f, j);
    size_t dof = fc->n > p ? fc->n - p : 1;
    o->s2 = ssr / (double)dof;
    for (size_t k = 0; k < p; k++) {
        double s = 0.0;
        for (size_t j = 0; j < fc->n; j++)
            s += gsl_matrix_get(J, j, k) * gsl_matrix_get(J, j, k);
        o->colnorm[fc->free_idx[k]] = sqrt(s);
        o->theta[fc->free_idx[k]] = gsl_vector_get(x, k);
    }
    if (gsl_multifit_nlinear_covar(J, 0.0, cov) != GSL_SUCCESS) {
        rc = LLMSIM_ENUMERIC;
        goto done;
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++)
            o->cov[fc->free_idx[a]][fc->free_idx[b]] = gsl_matrix_get(cov, a, b) * o->s2;
    for (size_t k = 0; k < p; k++)
        if (!isfinite(o->theta[fc->free_idx[k]]))
            rc = LLMSIM_ENUMERIC;
done:
    gsl_matrix_free(cov);
    gsl_vector_free(x);
    gsl_multifit_nlinear_free(w);
    return rc;
}

/* How many free parameters of p are outside their range. */
static int out_of_range(const struct fit_ctx *fc, const double p[MDL_N_PARAMS])
{
    int n = 0;
    for (int k = 0; k < fc->n_free; k++) {
        int i = fc->free_idx[k];
        const struct mdl_param_desc *d = &mdl_roofline_params[i];
        n += p[i] > d->hi || (d->lo_open ? p[i] <= d->lo : p[i] < d->lo);
    }
    return n;
}

/* Parameter values of a fit: the free ones from theta, the others base. */
static void values_of(const struct fit_ctx *fc, const double theta[MDL_N_PARAMS],
                      double p[MDL_N_PARAMS])
{
    memcpy(p, fc->base, sizeof fc->base);
    for (int k = 0; k < fc->n_free; k++) {
        int i = fc->free_idx[k];
        p[i] = param_of_theta(i, theta[i], fc->theta0[i]);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mdl_median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Regime (kind x tp) of each group row, and the regimes in kind, tp order. */
struct regimes {
    int n;
    enum mdl_cal_kind kind[MDL_CAL_MAX_REGIMES];
    int tp[MDL_CAL_MAX_REGIMES];
    int *of;      /* regime of each group row, -1 when past MDL_CAL_MAX_REGIMES */
    int overflow; /* rows without a regime slot */
};

static int find_regimes(const struct mdl_cal_step *rows, const size_t *grp, size_t n,
                        struct regimes *r)
{
    r->n = 0;
    r->overflow = 0;
    r->of = malloc(n * sizeof *r->of);
    if (r->of == NULL)
        return LLMSIM_ENOMEM;
    /* Collect the distinct (kind, tp) pairs sorted: a report reads best
     * kind by kind, tp ascending. */
    for (int k = 0; k < MDL_CAL_N_KINDS; k++) {
        int last = 0;
        for (;;) {
            int best = 0;
            for (size_t j = 0; j < n; j++) {
                const struct mdl_cal_step *s = &rows[grp[j]];
                if ((int)s->kind == k && s->tp > last && (best == 0 || s->tp < best))
                    best = s->tp;
            }
            if (best == 0)
                break;
            if (r->n < MDL_CAL_MAX_REGIMES) {
                r->kind[r->n] = (enum mdl_cal_kind)k;
                r->tp[r->n] = best;
                r->n++;
            }
            last = best;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const struct mdl_cal_step *s = &rows[grp[j]];
        r->of[j] = -1;
        for (int q = 0; q < r->n; q++)
            if (r->kind[q] == s->kind && r->tp[q] == s->tp)
                r->of[j] = q;
        r->overflow += r->of[j] < 0;
    }
    return 0;
}

/* Weights 1 / sd per regime from the residuals at parameters p: each
 * regime's mean square with one pseudo-row of the pooled mean square, so
 * that a regime of two rows does not get an extreme weight by chance. */
static void regime_weights(struct fit_ctx *fc, const struct regimes *rg,
                           const double p[MDL_N_PARAMS], size_t n_grp, double *wt)
{
    double ss[MDL_CAL_MAX_REGIMES + 1] = {0}, cnt[MDL_CAL_MAX_REGIMES + 1] = {0};
    double pool = 0.0;
    for (size_t j = 0; j < n_grp; j++) {
        const struct mdl_cal_step *s = &fc->rows[fc->grp[j]];
        double e = log_ratio(predict_on(s, &fc->rl[j], p), s->time_s);
        int q = rg->of[j] >= 0 ? rg->of[j] : MDL_CAL_MAX_REGIMES;
        ss[q] += e * e;
        cnt[q] += 1.0;
        pool += e * e;
    }
    pool /= (double)n_grp;
    for (size_t j = 0; j < n_grp; j++) {
        int q = rg->of[j] >= 0 ? rg->of[j] : MDL_CAL_MAX_REGIMES;
        double var = (ss[q] + pool) / (cnt[q] + 1.0);
        double sd = sqrt(var);
        wt[j] = 1.0 / (sd > MIN_SD ? sd : MIN_SD);
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
warn(struct mdl_cal_entry *e, const char *fmt, ...)
{
    if (e->n_warnings >= MDL_CAL_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->warning[e->n_warnings], sizeof e->warning[0], fmt, ap);
    va_end(ap);
    e->n_warnings++;
}

/* A parameter's value in its file units, for messages. */
static double file_value(int i, double v)
{
    return v * mdl_roofline_params[i].scale;
}

static const char *unit_sep(int i)
{
    return mdl_roofline_params[i].unit[0] ? " " : "";
}

/* Whether parameter i belongs in entry e: an entry for any engine has no
 * engine (host) parameters. */
static int applies(const struct mdl_cal_entry *e, int i)
{
    return !(mdl_roofline_params[i].engine && !strcmp(e->engine, "any"));
}

/* Fits one group (rows grp[0..n)) into *e. */
static int fit_group(const struct mdl_cal_step *rows, const size_t *grp, size_t n,
                     const struct mdl_cal_options *opt, struct mdl_cal_entry *e,
                     struct llmsim_error *err)
{
    const struct mdl_cal_step *first = &rows[grp[0]];
    int kernel_only = 1, has_lin = 0, has_attn = 0, has_comm = 0, has_host = 0;
    for (size_t j = 0; j < n; j++) {
        const struct mdl_cal_step *s = &rows[grp[j]];
        kernel_only &= is_kernel(s->kind);
        has_lin |= s->kind != MDL_CAL_ALLREDUCE;
        has_attn |= !is_kernel(s->kind);
        has_host |= !is_kernel(s->kind);
        has_comm |= s->kind == MDL_CAL_ALLREDUCE || (!is_kernel(s->kind) && s->tp > 1);
    }
    memset(e, 0, sizeof *e);
    snprintf(e->gpu, sizeof e->gpu, "%s", first->gpu.id);
    snprintf(e->engine, sizeof e->engine, "%s",
             kernel_only ? "any" : mdl_engine_name(first->engine));
    e->rows = (int)n;

    /* Which parameters the row kinds can inform at all. */
    int cand[MDL_N_PARAMS] = {0};
    cand[MDL_P_MFU] = cand[MDL_P_GEMM_HALF] = cand[MDL_P_MBU] = cand[MDL_P_LAYER] = has_lin;
    cand[MDL_P_ATTN_MFU] = cand[MDL_P_ATTN_MBU] = has_attn;
    cand[MDL_P_AR_LAT] = cand[MDL_P_LINK_EFF] = has_comm;
    cand[MDL_P_STEP] = cand[MDL_P_HOST_SEQ] = has_host;
    cand[MDL_P_LAUNCH] = has_host && mdl_engine_info(first->engine)->eager;

    struct fit_ctx fc;
    memset(&fc, 0, sizeof fc);
    fc.rows = rows;
    fc.grp = grp;
    fc.prior_w = 1.0 / opt->prior_sd;
    double def[MDL_N_PARAMS];
    mdl_cal_step_defaults(first, def);
    memcpy(fc.base, def, sizeof def);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        fc.theta0[i] = log(def[i] + PARAM_OFFSET[i]);

    struct regimes rg = {0};
    double *wt = malloc(n * sizeof *wt);
    size_t *use = malloc(n * sizeof *use);
    struct mdl_roofline *rl = malloc(n * sizeof *rl);
    double *err_in = malloc(n * sizeof *err_in), *err_out = malloc(n * sizeof *err_out);
    double *tmp = malloc(n * sizeof *tmp);
    struct fit_out *fo = malloc(sizeof *fo);
    int rc = find_regimes(rows, grp, n, &rg);
    if (rc == 0 && (!wt || !use || !rl || !err_in || !err_out || !tmp || !fo))
        rc = LLMSIM_ENOMEM;
    if (rc)
        goto done;
    fc.rl = rl;
    fc.wt = wt;
    fc.use = use;
    for (size_t j = 0; j < n; j++) {
        row_roofline(&rows[grp[j]], &rl[j]);
        use[j] = j;
        wt[j] = 1.0 / INITIAL_SD;
        double t = predict_on(&rows[grp[j]], &rl[j], def);
        if (!(t > 0) || !isfinite(t)) {
            rc = llmsim_error_set(err, LLMSIM_ENUMERIC, NULL, rows[grp[j]].line, 0,
                                  "the model gives no finite positive time for this row (%s on %s)",
                                  rows[grp[j]].llm.id, rows[grp[j]].gpu.id);
            goto done;
        }
    }
    fc.n = n;

    int is_free[MDL_N_PARAMS];
    memcpy(is_free, cand, sizeof cand);
    double theta[MDL_N_PARAMS];
    memcpy(theta, fc.theta0, sizeof theta);
    int zero_col[MDL_N_PARAMS] = {0}, wide[MDL_N_PARAMS] = {0};
    double wide_half[MDL_N_PARAMS] = {0}, wide_val[MDL_N_PARAMS] = {0};
    for (int pass = 0;; pass++) {
        fc.n_free = 0;
        for (int i = 0; i < MDL_N_PARAMS; i++)
            if (is_free[i])
                fc.free_idx[fc.n_free++] = i;
        if ((rc = fit_once(&fc, theta, opt->max_iter, fo)) != 0) {
            if (rc == LLMSIM_ENUMERIC)
                llmsim_error_set(err, rc, NULL, 0, 0, "the fit for %s failed numerically", e->gpu);
            goto done;
        }
        memcpy(theta, fo->theta, sizeof theta);
        if (pass < 2) {
            /* Two rounds of regime weights: from the unweighted fit, then
             * from the first weighted one. */
            double p[MDL_N_PARAMS];
            values_of(&fc, theta, p);
            regime_weights(&fc, &rg, p, n, wt);
            continue;
        }
        if (fc.n_free == 0)
            break;
        double big = 0.0;
        for (int k = 0; k < fc.n_free; k++)
            if (fo->colnorm[fc.free_idx[k]] > big)
                big = fo->colnorm[fc.free_idx[k]];
        int dropped = 0;
        for (int k = 0; k < fc.n_free; k++) {
            int i = fc.free_idx[k];
            if (!(fo->colnorm[i] >= opt->zero_column * big)) {
                is_free[i] = 0;
                zero_col[i] = 1;
                theta[i] = fc.theta0[i];
                dropped = 1;
            }
        }
        if (dropped)
            continue;
        /* Parameters whose interval is wider than their value.  One of
         * them is fixed at its default: the one whose loss the data mind
         * least, i.e. whose refit without it stays in range and leaves the
         * smallest residual (of two collinear parameters, fixing the one
         * whose default is far from the data would push the other out of
         * its range to compensate). */
        double tq = gsl_cdf_tdist_Pinv(
            0.975, n > (size_t)fc.n_free ? (double)(n - (size_t)fc.n_free) : 1.0);
        int cand_wide[MDL_N_PARAMS], n_wide = 0;
        double half_of[MDL_N_PARAMS] = {0}, val_of[MDL_N_PARAMS] = {0};
        for (int k = 0; k < fc.n_free; k++) {
            int i = fc.free_idx[k];
            double x = param_of_theta(i, theta[i], fc.theta0[i]);
            double half = tq * exp(theta[i]) * sqrt(fo->cov[i][i] > 0 ? fo->cov[i][i] : 0.0);
            if (!(half <= x)) {
                cand_wide[n_wide++] = i;
                half_of[i] = half;
                val_of[i] = x;
            }
        }
        if (n_wide == 0)
            break;
        int pick = cand_wide[0];
        if (n_wide > 1) {
            double best_s2 = INFINITY;
            int best_out = MDL_N_PARAMS + 1;
            struct fit_ctx trial = fc;
            for (int c = 0; c < n_wide; c++) {
                int i = cand_wide[c];
                trial.n_free = 0;
                for (int k = 0; k < fc.n_free; k++)
                    if (fc.free_idx[k] != i)
                        trial.free_idx[trial.n_free++] = fc.free_idx[k];
                double th[MDL_N_PARAMS];
                memcpy(th, theta, sizeof th);
                th[i] = fc.theta0[i];
                if ((rc = fit_once(&trial, th, opt->max_iter, fo)) != 0) {
                    if (rc == LLMSIM_ENUMERIC)
                        llmsim_error_set(err, rc, NULL, 0, 0, "the fit for %s failed numerically",
                                         e->gpu);
                    goto done;
                }
                double p[MDL_N_PARAMS];
                values_of(&trial, fo->theta, p);
                int out = out_of_range(&trial, p);
                if (out < best_out || (out == best_out && fo->s2 < best_s2)) {
                    best_out = out;
                    best_s2 = fo->s2;
                    pick = i;
                }
            }
        }
        is_free[pick] = 0;
        wide[pick] = 1;
        wide_half[pick] = half_of[pick];
        wide_val[pick] = val_of[pick];
        theta[pick] = fc.theta0[pick];
    }

    /* Values and intervals. */
    double tq =
        gsl_cdf_tdist_Pinv(0.975, n > (size_t)fc.n_free ? (double)(n - (size_t)fc.n_free) : 1.0);
    double fitted_p[MDL_N_PARAMS];
    values_of(&fc, theta, fitted_p);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        e->value[i] = fitted_p[i];
        e->ci_lo[i] = e->ci_hi[i] = NAN;
        e->fitted[i] = is_free[i];
        if (!is_free[i])
            continue;
        double half = tq * exp(theta[i]) * sqrt(fo->cov[i][i] > 0 ? fo->cov[i][i] : 0.0);
        e->ci_lo[i] = fitted_p[i] - half;
        e->ci_hi[i] = fitted_p[i] + half;
    }

    /* Report: what was not fitted and why, clamping, correlations. */
    if (!fo->converged)
        warn(e, "the fit stopped after %d iterations without converging", opt->max_iter);
    char list[160] = "";
    size_t ll = 0;
    for (int i = 0; i < MDL_N_PARAMS; i++)
        if (!cand[i] && applies(e, i)) {
            int k = snprintf(list + ll, sizeof list - ll, "%s%s", ll ? ", " : "",
                             mdl_roofline_params[i].name);
            if (k > 0 && ll + (size_t)k < sizeof list)
                ll += (size_t)k;
        }
    if (ll)
        warn(e, "not measured by these row kinds, defaults kept: %s", list);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        const struct mdl_param_desc *d = &mdl_roofline_params[i];
        if (zero_col[i])
            warn(e,
                 "%s: no row depends on it (Jacobian column < %g of the largest); default %g%s%s "
                 "kept",
                 d->name, opt->zero_column, file_value(i, def[i]), unit_sep(i), d->unit);
        else if (wide[i])
            warn(e,
                 "%s: not identified (95%% interval +-%.3g%s%s wider than the value %.3g); default "
                 "%g%s%s kept",
                 d->name, file_value(i, wide_half[i]), unit_sep(i), d->unit,
                 file_value(i, wide_val[i]), file_value(i, def[i]), unit_sep(i), d->unit);
        if (!is_free[i])
            continue;
        double lo = d->lo, hi = d->hi;
        if (e->value[i] > hi || (d->lo_open ? e->value[i] <= lo : e->value[i] < lo)) {
            double v = e->value[i] > hi ? hi : (d->lo_open ? lo + 1e-6 * (hi - lo) : lo);
            warn(e, "%s: fitted %.4g is outside its range; set to %.4g", d->name,
                 file_value(i, e->value[i]), file_value(i, v));
            e->value[i] = v;
        }
    }
    for (int a = 0; a < fc.n_free; a++)
        for (int b = a + 1; b < fc.n_free; b++) {
            int i = fc.free_idx[a], j = fc.free_idx[b];
            double den = sqrt(fo->cov[i][i] * fo->cov[j][j]);
            double r = den > 0 ? fo->cov[i][j] / den : 0.0;
            if (fabs(r) > opt->corr_warn)
                warn(e,
                     "%s and %s are strongly correlated (r = %+.3f): the data fix a combination of "
                     "them "
                     "better than each",
                     mdl_roofline_params[i].name, mdl_roofline_params[j].name, r);
        }
    if (rg.overflow)
        warn(e, "%d rows fall outside the first %d regimes and are left out of the regime table",
             rg.overflow, MDL_CAL_MAX_REGIMES);

    /* In-sample errors. */
    for (size_t j = 0; j < n; j++) {
        const struct mdl_cal_step *s = &rows[grp[j]];
        err_in[j] = predict_on(s, &rl[j], e->value) / s->time_s - 1.0;
        err_out[j] = NAN;
    }
    /* Held-out errors: refit on all folds but one with the same free set,
     * starting from the full fit (deterministic, and cheap). */
    int k = opt->folds;
    if (k > (int)n)
        k = (int)n;
    e->folds = k >= 2 ? k : 0;
    for (int fold = 0; e->folds && fold < k; fold++) {
        fc.n = 0;
        for (size_t j = 0; j < n; j++)
            if ((int)(j % (size_t)k) != fold)
                use[fc.n++] = j;
        if ((rc = fit_once(&fc, theta, opt->max_iter, fo)) != 0) {
            if (rc == LLMSIM_ENUMERIC)
                llmsim_error_set(err, rc, NULL, 0, 0, "a held-out fit for %s failed numerically",
                                 e->gpu);
            goto done;
        }
        double p[MDL_N_PARAMS];
        values_of(&fc, fo->theta, p);
        for (size_t j = (size_t)fold; j < n; j += (size_t)k)
            err_out[j] = predict_on(&rows[grp[j]], &rl[j], p) / rows[grp[j]].time_s - 1.0;
    }
    fc.n = n;

    e->n_regimes = rg.n;
    for (int q = 0; q < rg.n; q++) {
        struct mdl_cal_regime *r = &e->regime[q];
        snprintf(r->name, sizeof r->name, "%s tp %d", mdl_cal_kind_name(rg.kind[q]), rg.tp[q]);
        size_t m = 0;
        double sum = 0.0;
        for (size_t j = 0; j < n; j++)
            if (rg.of[j] == q) {
                tmp[m++] = fabs(err_in[j]);
                sum += err_in[j];
            }
        r->rows = (int)m;
        r->in_mean_signed = m ? sum / (double)m : NAN;
        r->in_median_abs = mdl_median(tmp, m);
        m = 0;
        for (size_t j = 0; j < n; j++)
            if (rg.of[j] == q && !isnan(err_out[j]))
                tmp[m++] = fabs(err_out[j]);
        r->heldout_median_abs = mdl_median(tmp, m);
    }
done:
    free(rg.of);
    free(wt);
    free(use);
    free(rl);
    free(err_in);
    free(err_out);
    free(tmp);
    free(fo);
    return rc;
}

int mdl_cal_fit_steps(const struct mdl_cal_step *rows, size_t n, const struct mdl_cal_options *opt,
                      struct mdl_cal_entry **entries, int *n_entries, struct llmsim_error *err)
{
    struct mdl_cal_options def;
    if (opt == NULL) {
        mdl_cal_options_default(&def);
        opt = &def;
    }
    *entries = NULL;
    *n_entries = 0;
    if (n == 0)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "no rows to fit");
    if (opt->folds == 1 || opt->folds < 0 || !(opt->prior_sd > 0))
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "fit options: folds must be 0 or >= 2 and prior_sd > 0");
    for (size_t i = 0; i < n; i++) {
        const struct mdl_cal_step *s = &rows[i];
        if (!(s->time_s > 0) || !isfinite(s->time_s) || !(s->batch >= 1) || s->tp < 1 ||
            !(s->prompt_tokens >= 0) || !(s->context_tokens >= 0) ||
            (unsigned)s->kind >= MDL_CAL_N_KINDS ||
            (s->kind != MDL_CAL_DECODE && !(s->batch * s->prompt_tokens >= 1)))
            return llmsim_error_set(
                err, LLMSIM_EINVAL, NULL, s->line, 0,
                "row %zu is out of range (time > 0, batch >= 1, tp >= 1, tokens >= 0, "
                "at least one token)",
                i + 1);
    }
    /* Groups by (GPU id, engine) in order of first appearance. */
    size_t *order = malloc(n * sizeof *order);
    int *gid = malloc(n * sizeof *gid);
    struct mdl_cal_entry *out = NULL;
    int rc = 0, ng = 0;
    if (order == NULL || gid == NULL) {
        rc = LLMSIM_ENOMEM;
        goto done;
    }
    /* order[g] is, while grouping, the first row of group g. */
    for (size_t i = 0; i < n; i++) {
        gid[i] = -1;
        for (int g = 0; g < ng && gid[i] < 0; g++)
            if (rows[order[g]].engine == rows[i].engine &&
                !strcmp(rows[order[g]].gpu.id, rows[i].gpu.id))
                gid[i] = g;
        if (gid[i] < 0) {
            order[ng] = i;
            gid[i] = ng++;
        }
    }
    out = calloc((size_t)ng, sizeof *out);
    if (out == NULL) {
        rc = LLMSIM_ENOMEM;
        goto done;
    }
    for (int g = 0; g < ng; g++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (gid[i] == g)
                order[m++] = i;
        if (m < 2) {
            rc =
                llmsim_error_set(err, LLMSIM_EINVAL, NULL, rows[order[0]].line, 0,
                                 "only one row for GPU '%s' with engine %s: a fit needs at least 2",
                                 rows[order[0]].gpu.id, mdl_engine_name(rows[order[0]].engine));
            goto done;
        }
        if ((rc = fit_group(rows, order, m, opt, &out[g], err)) != 0) {
            if (rc == LLMSIM_ENOMEM)
                llmsim_error_set(err, rc, NULL, 0, 0, "out of memory");
            goto done;
        }
    }
done:
    free(order);
    free(gid);
    if (rc) {
        free(out);
        return rc;
    }
    *entries = out;
    *n_entries = ng;
    return 0;
}

/* ---- the file and the report ------------------------------------------------------------- */

/* A YAML scalar: plain when it is a simple identifier, else double-quoted
 * with escapes. */
static void yaml_str(FILE *f, const char *s)
{
    int plain = s[0] != '\0' && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
                                 (s[0] >= '0' && s[0] <= '9'));
    for (const char *c = s; plain && *c; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                *c == '-' || *c == '_' || *c == '.';
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

/* A number for the file with `digits` significant digits, `.nan` for a
 * missing one.  Parameters get 6 (far inside any interval), the report's
 * errors 3. */
static void yaml_num(FILE *f, double v, int digits)
{
    if (isnan(v))
        fputs(".nan", f);
    else
        fprintf(f, "%.*g", digits, v);
}

int mdl_cal_write(FILE *f, const char *kind, const char *data, const struct mdl_cal_entry *entries,
                  int n)
{
    fputs("# llmsim calibration of the roofline step-time model (docs/calibrate.md).\n"
          "# Values are in the units of the scenario keys of `latency: {model: roofline}`;\n"
          "# ci95 is the 95% interval of a fitted value; `fitted: false` marks a parameter the\n"
          "# data could not pin down, which keeps its default.  A scenario uses the file with\n"
          "# `latency: {model: roofline, calibration: THIS.yaml}`; `report` is for people.\n",
          f);
    fputs("llmsim_calibration: 1\nkind: ", f);
    yaml_str(f, kind);
    fputs("\ndata: ", f);
    yaml_str(f, data);
    fputs("\ncalibrations:\n", f);
    for (int k = 0; k < n; k++) {
        const struct mdl_cal_entry *e = &entries[k];
        fputs("  - gpu: ", f);
        yaml_str(f, e->gpu);
        fputs("\n    engine: ", f);
        yaml_str(f, e->engine);
        fprintf(f, "\n    rows: %d\n    parameters:\n", e->rows);
        for (int i = 0; i < MDL_N_PARAMS; i++) {
            if (!applies(e, i))
                continue;
            const struct mdl_param_desc *d = &mdl_roofline_params[i];
            fprintf(f, "      %s: {value: ", d->name);
            yaml_num(f, e->value[i] * d->scale, 6);
            if (e->fitted[i]) {
                fputs(", ci95: [", f);
                yaml_num(f, e->ci_lo[i] * d->scale, 6);
                fputs(", ", f);
                yaml_num(f, e->ci_hi[i] * d->scale, 6);
                fputs("], fitted: true}\n", f);
            } else {
                fputs(", fitted: false}\n", f);
            }
        }
        fprintf(f, "    report:\n      folds: %d\n      regimes:\n", e->folds);
        if (e->n_regimes == 0)
            fputs("        []\n", f);
        for (int q = 0; q < e->n_regimes; q++) {
            const struct mdl_cal_regime *r = &e->regime[q];
            fputs("        - {regime: ", f);
            yaml_str(f, r->name);
            fprintf(f, ", rows: %d, median_abs_error: ", r->rows);
            yaml_num(f, r->in_median_abs, 3);
            fputs(", mean_error: ", f);
            yaml_num(f, r->in_mean_signed, 3);
            fputs(", heldout_median_abs_error: ", f);
            yaml_num(f, r->heldout_median_abs, 3);
            fputs("}\n", f);
        }
        fputs("      warnings:", f);
        if (e->n_warnings == 0)
            fputs(" []", f);
        fputc('\n', f);
        for (int w = 0; w < e->n_warnings; w++) {
            fputs("        - ", f);
            yaml_str(f, e->warning[w]);
            fputc('\n', f);
        }
    }
    return ferror(f) ? LLMSIM_EIO : 0;
}

static void pct(FILE *f, double v, int sign)
{
    if (isnan(v))
        fprintf(f, "%9s", "-");
    else
        fprintf(f, sign ? "%+8.1f%%" : "%8.1f%%", 100.0 * v);
}

void mdl_cal_print(FILE *f, const struct mdl_cal_entry *e)
{
    fprintf(f, "%s, engine %s: %d rows", e->gpu, e->engine, e->rows);
    if (e->folds)
        fprintf(f, ", %d-fold held-out errors", e->folds);
    fputs("\n\n  parameter              value          95% interval\n", f);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        if (!applies(e, i))
            continue;
        const struct mdl_param_desc *d = &mdl_roofline_params[i];
        char val[48];
        snprintf(val, sizeof val, "%.4g%s%s", e->value[i] * d->scale, unit_sep(i), d->unit);
        fprintf(f, "  %-22s %-14s ", d->name, val);
        if (e->fitted[i])
            fprintf(f, "[%.4g, %.4g]\n", e->ci_lo[i] * d->scale, e->ci_hi[i] * d->scale);
        else
            fputs("default (not fitted)\n", f);
    }
    if (e->n_regimes) {
        fputs("\n  regime              rows   median |err|   mean err   held-out median |err|\n",
              f);
        for (int q = 0; q < e->n_regimes; q++) {
            const struct mdl_cal_regime *r = &e->regime[q];
            fprintf(f, "  %-18s %5d      ", r->name, r->rows);
            pct(f, r->in_median_abs, 0);
            fputs("  ", f);
            pct(f, r->in_mean_signed, 1);
            fputs("           ", f);
            pct(f, r->heldout_median_abs, 0);
            fputc('\n', f);
        }
    }
    if (e->n_warnings) {
        fputs("\n  warnings:\n", f);
        for (int w = 0; w < e->n_warnings; w++)
            fprintf(f, "  - %s\n", e->warning[w]);
    }
    fputc('\n', f);
}
