/* llmsim: fitting the step-time model's hardware and engine parameters to
 * measurements (`llmsim calibrate`).
 *
 * Two sources of measurements share one result and one file format:
 *
 *   steps     measured times of engine steps (or of kernels: the linear
 *             layers, one all-reduce), one row each, fitted here by
 *             weighted non-linear least squares on relative error
 *             (gsl_multifit_nlinear, trust region) in models/;
 *   requests  per-request TTFT and E2E of a real run, fitted in analysis/ by
 *             replaying the arrivals through the simulator (simulation in
 *             the loop, gsl_multimin).
 *
 * Only hardware and engine parameters are fitted (mdl_roofline_params), never
 * per-model factors, so a calibration made with one model transfers to other
 * models on the same GPU and engine.  A parameter the data cannot pin down
 * (its column of the Jacobian is negligible, or its 95% interval wider than
 * its own value) keeps its default, which acts as the prior, and the report
 * says so.
 *
 * The file written (CAL.yaml) is read back by scenarios/src/calibration.c:
 *
 *   llmsim_calibration: 1
 *   calibrations:
 *     - gpu: h100-sxm
 *       engine: vllm-v1            # `any` when the data had no host part
 *       parameters:
 *         mfu: {value: 0.61, ci95: [0.60, 0.62], fitted: true}
 *         step_overhead_ms: {value: 2, fitted: false}
 *       report: {...}              # for people: errors per regime, warnings
 *
 * Ownership: results are plain structs; the caller owns what it passes. */
#ifndef LLMSIM_CALIBRATE_H
#define LLMSIM_CALIBRATE_H

#include <stdio.h>

#include "llmsim/error.h"
#include "llmsim/hardware.h"

#define MDL_CAL_MAX_REGIMES 32
#define MDL_CAL_MAX_WARNINGS 16

/* Prediction errors of one regime (prefill, decode, mixed, linear,
 * allreduce, per tp; or ttft / tpot / e2e for request fits). */
struct mdl_cal_regime {
    char name[48];               /* "decode tp 2" */
    int rows;
    double in_median_abs;        /* median |predicted / measured - 1|, in sample */
    double in_mean_signed;       /* mean predicted / measured - 1, in sample */
    double heldout_median_abs;   /* the same, k-fold held out (NaN when not computed) */
};

/* One fitted (GPU, engine) entry. */
struct mdl_cal_entry {
    char gpu[MDL_ID_MAX];
    char engine[16];                     /* engine name or "any" */
    double value[MDL_N_PARAMS];          /* in struct units (mdl_roofline_param_get) */
    double ci_lo[MDL_N_PARAMS], ci_hi[MDL_N_PARAMS]; /* 95% interval, NaN when not fitted */
    int fitted[MDL_N_PARAMS];            /* 1: fitted; 0: the default (prior) kept */
    int rows;
    int folds;                           /* k of the k-fold held-out errors (0 = none) */
    struct mdl_cal_regime regime[MDL_CAL_MAX_REGIMES];
    int n_regimes;
    char warning[MDL_CAL_MAX_WARNINGS][160];
    int n_warnings;
};

/* Writes entries as a calibration file (format above).  `kind` is "steps"
 * or "requests", `data` the measurement file's name.  Returns 0 or
 * LLMSIM_EIO. */
int mdl_cal_write(FILE *f, const char *kind, const char *data, const struct mdl_cal_entry *entries, int n);

/* Prints a human report of one entry (parameters with intervals, which ones
 * kept their default, errors per regime, warnings). */
void mdl_cal_print(FILE *f, const struct mdl_cal_entry *e);

/* ---- step rows and their fit (`llmsim calibrate steps`) ----------------------
 *
 * One measured row: an engine step, or a kernel class of one.  Its tokens:
 *
 *   prefill    `batch` requests, each prefilling prompt_tokens after
 *              context_tokens already cached (one engine step);
 *   decode     `batch` requests, each decoding one token at context_tokens
 *              of context (one engine step; prompt_tokens unused);
 *   linear     the linear layers of every transformer layer (GEMMs with
 *              their element-wise kernels, no attention, communication, LM
 *              head or host work) over batch x prompt_tokens tokens: the
 *              body-linear class of the roofline,
 *                max(2 x body params x T / (tp x peak x e(T)),
 *                    body weight bytes / (tp x bandwidth x mbu));
 *   allreduce  one all-reduce of batch x prompt_tokens tokens of the model's
 *              hidden activations in 16 bits over tp GPUs,
 *                allreduce_latency + 2 (tp - 1) / tp x bytes / (link_gbs x link_eff).
 *
 * Prefill and decode rows are timed with mdl_roofline_iter under the row's
 * engine; linear and allreduce rows do not depend on an engine. */
enum mdl_cal_kind { MDL_CAL_PREFILL = 0, MDL_CAL_DECODE, MDL_CAL_LINEAR, MDL_CAL_ALLREDUCE };
#define MDL_CAL_N_KINDS 4
/* "prefill", "decode", "linear", "allreduce" ("?" outside the enum). */
const char *mdl_cal_kind_name(enum mdl_cal_kind k);
/* Reads those names; 0 or LLMSIM_EINVAL. */
int mdl_cal_kind_parse(const char *s, enum mdl_cal_kind *out);

struct mdl_cal_step {
    struct mdl_gpu gpu;          /* resolved entry (catalog or inline) */
    struct mdl_llm llm;
    int tp;                      /* GPUs of the replica (the all-reduce group), >= 1 */
    enum mdl_cal_kind kind;
    double batch;                /* requests (prefill, decode) or a token multiplier, >= 1 */
    double prompt_tokens;        /* tokens per request (prefill) or per batch unit (linear, allreduce) */
    double context_tokens;       /* tokens already in the KV cache of each request */
    double time_s;               /* measured, > 0 */
    enum mdl_dtype weights, kv;
    enum mdl_engine engine;      /* engine of the deployment the row belongs to */
    int line;                    /* line in the measurement file, for messages (0 = none) */
};

/* The step a prefill or decode row describes, in the terms of
 * mdl_roofline_iter (all zero for kernel rows). */
void mdl_cal_step_iter(const struct mdl_cal_step *s, struct mdl_iter *it);

/* The model's time of row s with parameters p (struct units, indexed as
 * mdl_roofline_params), seconds. */
double mdl_cal_step_predict(const struct mdl_cal_step *s, const double p[MDL_N_PARAMS]);

/* The default parameters of the row's GPU and engine (mdl_roofline_init,
 * mdl_roofline_set_engine): the prior of a fit. */
void mdl_cal_step_defaults(const struct mdl_cal_step *s, double p[MDL_N_PARAMS]);

/* Fit settings; mdl_cal_options_default gives the documented ones. */
struct mdl_cal_options {
    int folds;              /* k of the k-fold held-out errors (>= 2), 0 = none; default 5 */
    double prior_sd;        /* sd of the prior on log(parameter), in log units; default 2 */
    double zero_column;     /* a Jacobian column under this share of the largest is no
                               information; default 1e-3 */
    double corr_warn;       /* |correlation| above which a pair is warned about; default 0.95 */
    int max_iter;           /* trust-region iterations per fit; default 500 */
};
void mdl_cal_options_default(struct mdl_cal_options *o);

/* Fits rows[0..n) (docs/calibrate.md has the method): one entry per (GPU
 * id, engine) group in order of first appearance, engine "any" for a group
 * of kernel rows only.  *entries is malloc'ed (free() it), *n_entries set.
 * opt NULL = the defaults.  Returns 0; LLMSIM_EINVAL when a group has fewer
 * than 2 rows or a row is out of range (err names its line); LLMSIM_ENUMERIC
 * when the model gives no finite time for a row at the defaults;
 * LLMSIM_ENOMEM. */
int mdl_cal_fit_steps(const struct mdl_cal_step *rows, size_t n, const struct mdl_cal_options *opt,
                      struct mdl_cal_entry **entries, int *n_entries, struct llmsim_error *err);

/* Median of v[0..n) (sorts v in place); NaN when n = 0.  Shared by the
 * step and request fits and their reports. */
double mdl_median(double *v, size_t n);

#endif
