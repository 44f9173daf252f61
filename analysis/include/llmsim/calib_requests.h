/* llmsim: calibrating the step-time model from per-request measurements of a
 * real run (`llmsim calibrate requests`), by simulation in the loop.
 *
 * The measurements are one row per request of a run on one self-hosted
 * deployment: when it arrived and how long it took,
 *
 *   arrival_s,input_tokens,output_tokens,ttft_s,e2e_s
 *
 * (TTFT and E2E measured from the arrival; columns in any order, extra
 * columns ignored).  A replay builds the scenario's world with the workload
 * replaced by exactly these arrivals and token counts (a trace, times from
 * the earliest arrival), every request routed to the deployment, no warm-up,
 * one replication, and reads each request's simulated TTFT and E2E from the
 * request sink (record id = arrival order = the row's rank by arrival time).
 *
 * The fit (docs/calibrate.md, "calibrate requests", has the method and the
 * reasons):
 *
 *   parameters  u_i = log(x_i / default_i) (gemm_half_tokens, whose default
 *               may be 0: log((x + 128) / (default + 128))), clamped to the
 *               parameter's range; candidates mfu, gemm_half_tokens, mbu,
 *               attn_mfu, attn_mbu, step_overhead_ms, host_per_seq_us, the
 *               all-reduce pair when tp > 1, the launch floor on an eager
 *               engine;
 *   replay      each evaluation averages R replicates (default 4) whose
 *               arrivals are jittered by +-J/2 (J about one engine step): a
 *               single request's TTFT jumps by a step or more when any step
 *               time changes (which step its prompt joins, the batches
 *               after), so the prediction is the geometric mean over
 *               replicates;
 *   objective   stage 1: mean over requests of log(pred TTFT / meas TTFT)^2
 *               (TTFT as the mean log error of bins of 16 consecutive
 *               requests, fewer when that would leave under 16 bins) + mean
 *               over requests with >= 2 output tokens of
 *               log(pred TPOT / meas TPOT)^2 + 1e-3 x sum u_i^2, where
 *               TPOT = (e2e - ttft) / (output tokens - 1); stage 2: the same
 *               squares weighted by 1 / each kind's mean square at the
 *               stage-1 optimum (a chi-square) + sum u_i^2 (prior sd 1),
 *               less the between-replicate variance / R of each term;
 *   search      Nelder-Mead simplex (gsl_multimin nmsimplex2, steps 0.3,
 *               then 0.1 from the best point, at most 200 iterations each)
 *               in stage 1 from the defaults, in stage 2 from the better of
 *               the stage-1 optimum and the defaults, then Gauss-Newton steps
 *               with a line search on the smooth residual vector;
 *   identified  a parameter whose change by +-20% at the defaults moves the
 *               stage-1 objective by at least 1e-4 of it, and whose 95%
 *               interval is not wider than its value (else it is fixed at
 *               its default and the rest refitted, one at a time);
 *   intervals   Gauss-Newton on the smooth residual vector (per-request TPOT
 *               errors, per-bin TTFT errors; central differences over 16
 *               replicates): the larger of (J'WJ)^-1 N / (N - p) and the
 *               cluster-robust sandwich over 10 blocks of consecutive
 *               requests, plus the spread of the optima refitted with 3
 *               other jitter seed sets; NaN and a warning when J'WJ is
 *               singular;
 *   held out    k folds of contiguous requests (by arrival rank): refit on
 *               the other k - 1 folds (warm-started from the full fit),
 *               replay every arrival (queueing needs them all), score only
 *               the held-out fold.
 *
 * Every number is deterministic: fixed starts, steps, caps and jitter seeds,
 * and replays that run in threads are combined in a fixed order, so the
 * result does not depend on the thread count.
 *
 * Ownership: the caller frees ana_creq_data with ana_creq_data_free; results
 * are plain structs. */
#ifndef LLMSIM_CALIB_REQUESTS_H
#define LLMSIM_CALIB_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "llmsim/calibrate.h"
#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/hardware.h"

/* Per-request measurements, sorted by arrival (stable: equal times keep the
 * file's order). */
struct ana_creq_data {
    size_t n;
    double *arrival_s; /* from the earliest arrival, seconds */
    uint32_t *input_tokens;
    uint32_t *output_tokens;
    double *ttft_s; /* from arrival */
    double *e2e_s;  /* from arrival */
    int *line;      /* line of the row in the file (1-based), for messages */
};

/* Parses CSV text (header line, then one row per request; a trailing
 * newline and blank lines are allowed; CRLF is accepted).  name is used in
 * messages.  Errors are located "name:line:col": empty input, a missing
 * column, a row with too few fields, a non-numeric or non-finite value, a
 * negative time, a TTFT of 0, e2e_s < ttft_s, token counts that are not
 * whole numbers or are < 1 (or above SIM_MAX_TOKENS), fewer than 2 rows.
 * Returns 0, LLMSIM_EINVAL (err filled), LLMSIM_ELIMIT (more than
 * SIM_MAX_REQUESTS rows), LLMSIM_ENOMEM. */
int ana_creq_parse(struct ana_creq_data *d, const char *text, size_t len, const char *name,
                   struct llmsim_error *err);

/* Reads path and parses it as above; LLMSIM_EIO when it cannot be read. */
int ana_creq_read(struct ana_creq_data *d, const char *path, struct llmsim_error *err);

/* Frees the arrays (a zeroed struct is fine) and zeroes *d. */
void ana_creq_data_free(struct ana_creq_data *d);

/* The deployment to calibrate: the one named (a self-hosted deployment with
 * the roofline latency model), or when name is NULL the only such one.
 * Returns 0 with *index set, or LLMSIM_EINVAL with a message (none, several
 * and no name, an unknown name with a "did you mean", a name that is not a
 * self-hosted roofline deployment). */
int ana_creq_deployment(const struct sim_scenario *sc, const char *name, int *index,
                        struct llmsim_error *err);

/* The default parameters of deployment dep (struct units, indexed as
 * mdl_roofline_params): mdl_roofline_init for its GPU, model, tp and dtypes,
 * then its engine's host defaults.  The fit starts from them and they are
 * its prior. */
void ana_creq_defaults(const struct sim_scenario *sc, int dep, double p[MDL_N_PARAMS]);

/* Replays the measurements through deployment dep with parameters p (NULL =
 * the deployment's parameters as loaded, a calibration or explicit values
 * included) and writes each row's simulated TTFT and E2E (NaN for a request
 * the simulator rejected: too large for a replica's KV memory).  *rejected
 * (may be NULL) gets their count.  Returns 0, LLMSIM_EINVAL (err filled:
 * the world refused the configuration), LLMSIM_ENOMEM, or a world error. */
int ana_creq_replay(const struct sim_scenario *sc, int dep, const double *p,
                    const struct ana_creq_data *d, double *ttft, double *e2e, size_t *rejected,
                    struct llmsim_error *err);

/* Fit settings; ana_creq_options_default gives the documented ones. */
struct ana_creq_options {
    /* k of the held-out errors (>= 2), 0 = none; default 5 */
    int folds;
    /* Nelder-Mead iterations of each of the two passes; default 200 */
    int max_iter;
    /* stage 1: weight of sum u_i^2 in the objective; default 1e-3 */
    double prior_weight;
    /* stage 2 (chi-square): sd of the Gaussian prior on each u_i; default 1 */
    double prior_sd;
    /* smallest relative change of the objective for +-20%; default 1e-4 */
    double ident_rel;
    /* jittered replays averaged per evaluation; default 4 (1 = the plain replay) */
    int replicates;
    /* the same for the Gauss-Newton matrix (intervals, whitening, steps); default 16 */
    int gn_replicates;
    /* jitter seed sets the final fit is repeated with and averaged over; default 4 (1 = one) */
    int seed_sets;
    /* TTFT term: mean log error of bins of this many consecutive requests (fewer when that
     * leaves under 16 bins); default 16 (1 = each request) */
    int ttft_bin;
    /* width of the uniform jitter of the arrivals, s; 0 = the median measured TPOT (about one
     * engine step) within [1 ms, 100 ms]; default 0 */
    double jitter_s;
    /* bit i set: parameter i may be fitted (still only if the engine and tp allow it and the
     * data identify it); 0 = every candidate; default mfu and mbu (see the .c file) */
    unsigned only;
    /* replays run at once; 0 = the CPUs, at most 16; default 0.  The result does not depend
     * on it. */
    int threads;
};
void ana_creq_options_default(struct ana_creq_options *o);

/* Errors of one replay against the measurements, per kind. */
struct ana_creq_errors {
    int n_ttft, n_tpot, n_e2e;         /* rows scored */
    double mean_meas[3], mean_pred[3]; /* means of ttft, tpot, e2e (seconds) */
    double median_abs[3];              /* median |pred / meas - 1| */
    double mean_signed[3];             /* mean (pred / meas - 1) */
    double objective;                  /* the data part of F */
    size_t rejected;                   /* requests the simulator rejected */
};
enum { ANA_CREQ_TTFT = 0, ANA_CREQ_TPOT = 1, ANA_CREQ_E2E = 2 };

/* Replays with parameters p (NULL = as loaded) as the fit does (opt's
 * replicates and jitter; NULL = the defaults) and scores every row. */
int ana_creq_evaluate(const struct sim_scenario *sc, int dep, const double *p,
                      const struct ana_creq_data *d, const struct ana_creq_options *opt,
                      struct ana_creq_errors *out, struct llmsim_error *err);

/* Everything a fit found. */
struct ana_creq_result {
    /* values, intervals, regimes ttft / tpot / e2e, warnings */
    struct mdl_cal_entry entry;
    /* the prior (ana_creq_defaults) */
    double defaults[MDL_N_PARAMS];
    /* 1: considered for the fit (by the engine, tp and ana_creq_options.only) */
    int candidate[MDL_N_PARAMS];
    /* max |F(+-20%) - F| / F at the defaults (NaN: not a candidate) */
    double sensitivity[MDL_N_PARAMS];
    /* errors with the defaults, with the fitted values, and k-fold held out (zero without
     * folds) */
    struct ana_creq_errors before, after, heldout;
    /* the data part of the objective with equal weights (per request), at the defaults and at
     * the fit */
    double objective0, objective;
    /* stage-2 weights of the TTFT and TPOT terms */
    double weight[2];
    /* 95% half-widths in log units: from the Gauss-Newton matrix, and from the refits with
     * other jitter seeds (NaN: not computed) */
    double gn_half[MDL_N_PARAMS], sim_half[MDL_N_PARAMS];
    /* jitter width used, s */
    double jitter_s;
    /* Nelder-Mead iterations of the full-data fit */
    int iterations;
    /* the last simplex shrank below its tolerance */
    int converged;
    /* simulations run (replicates counted), folds included */
    long replays;
};

/* Fits the parameters of deployment dep to the measurements (method above)
 * and fills *res; res->entry.gpu and .engine are the deployment's GPU id
 * and engine name.  opt NULL = the defaults.  Returns 0; LLMSIM_EINVAL with
 * a message when dep is not a self-hosted roofline deployment, the data has
 * fewer than 2 rows, or the world refuses the scenario; LLMSIM_ENUMERIC when
 * the replay gives no finite objective at the defaults; LLMSIM_ENOMEM. */
int ana_creq_fit(const struct sim_scenario *sc, int dep, const struct ana_creq_data *d,
                 const struct ana_creq_options *opt, struct ana_creq_result *res,
                 struct llmsim_error *err);

#endif
