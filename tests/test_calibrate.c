/* `llmsim calibrate steps`: the fit of the roofline parameters to step rows
 * (models/src/calibrate.c), the measurement CSV (scenarios/src/steps_csv.c),
 * the calibration file as a scenario reads it back
 * (scenarios/src/calibration.c), and the shipped Vidur calibration
 * (models/calibration/vidur.yaml from vidur-steps.csv). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "llmsim/calibrate.h"
#include "llmsim/config.h"
#include "llmsim/scenario.h"
#include "testutil.h"

static const struct mdl_gpu *gpu(const char *id)
{
    const struct mdl_gpu *g = scn_gpu_lookup(id, NULL);
    ck_assert_msg(g != NULL, "GPU %s missing", id);
    return g;
}

static const struct mdl_llm *llm(const char *id)
{
    const struct mdl_llm *m = scn_llm_lookup(id, NULL);
    ck_assert_msg(m != NULL, "model %s missing", id);
    return m;
}

/* The known parameters of the synthetic data: every one away from its
 * default (struct units; H100's defaults are in gpus.yaml). */
static void truth(double p[MDL_N_PARAMS])
{
    p[MDL_P_MFU] = 0.55;
    p[MDL_P_GEMM_HALF] = 120.0;
    p[MDL_P_MBU] = 0.72;
    p[MDL_P_ATTN_MFU] = 0.4;
    p[MDL_P_ATTN_MBU] = 0.6;
    p[MDL_P_AR_LAT] = 25e-6;
    p[MDL_P_LINK_EFF] = 0.35;
    p[MDL_P_STEP] = 1.5e-3;
    p[MDL_P_HOST_SEQ] = 15e-6;
    p[MDL_P_LAUNCH] = 40e-6; /* vllm-v0's default: its floor never binds below */
    p[MDL_P_LAYER] = 40e-6;  /* H100's default: 56 us */
}

#define SYN_MAX 320

/* A grid of prefill and decode steps of the first n_models of Llama-3.1-8B
 * (32 layers), Llama-3.1-70B (80) and Llama-3.2-1B (16) at tp 1, 2 and 4
 * on one H100 under `engine`, timed by the model at the true parameters,
 * each multiplied by exp(sd x z) with z standard normal (sd = 0: exact).
 * The fixed time per layer (layers x layer_overhead) is told apart from
 * the step overhead, the same for every model, and from the weight reads
 * only by the models' different layer counts per weight byte.  The first
 * two models fix it in noise-free data, but at 3% noise its 95% interval
 * was wider than half its value in 298 of 300 fits (seeds 1000-1299);
 * with the 1B model, whose 16 x 40 us are a large share of its short
 * steps, it was narrower in all 300.  Returns the row count; rows has
 * room for SYN_MAX. */
static size_t synthetic(struct mdl_cal_step *rows, enum mdl_engine engine, double sd,
                        const int *tps, int n_tp, int n_models, unsigned long seed)
{
    static const char *const models[] = {"llama-3.1-8b", "llama-3.1-70b", "llama-3.2-1b"};
    static const double pf_batch[] = {1, 4}, pf_prompt[] = {16, 64, 256, 1024, 4096},
                        pf_ctx[] = {0, 2048};
    static const double dc_batch[] = {1, 8, 32, 128}, dc_ctx[] = {128, 1024, 8192};
    double p[MDL_N_PARAMS];
    truth(p);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    size_t n = 0;
    ck_assert(n_models >= 1 && n_models <= 3);
    for (int m = 0; m < n_models; m++)
        for (int t = 0; t < n_tp; t++)
            for (int kind = 0; kind < 2; kind++) {
                int nb = kind ? 4 : 2, np = kind ? 1 : 5, nc = kind ? 3 : 2;
                for (int b = 0; b < nb; b++)
                    for (int q = 0; q < np; q++)
                        for (int c = 0; c < nc; c++) {
                            ck_assert_uint_lt(n, SYN_MAX);
                            struct mdl_cal_step *s = &rows[n++];
                            memset(s, 0, sizeof *s);
                            s->gpu = *gpu("h100-sxm");
                            s->llm = *llm(models[m]);
                            s->tp = tps[t];
                            s->kind = kind ? MDL_CAL_DECODE : MDL_CAL_PREFILL;
                            s->batch = kind ? dc_batch[b] : pf_batch[b];
                            s->prompt_tokens = kind ? 0 : pf_prompt[q];
                            s->context_tokens = kind ? dc_ctx[c] : pf_ctx[c];
                            s->weights = s->kv = MDL_DTYPE_BF16;
                            s->engine = engine;
                            s->line = (int)n + 1;
                            s->time_s =
                                mdl_cal_step_predict(s, p) * exp(sd * gsl_ran_gaussian(r, 1.0));
                        }
            }
    gsl_rng_free(r);
    return n;
}

static const int TP_124[] = {1, 2, 4};

static void fit(const struct mdl_cal_step *rows, size_t n, struct mdl_cal_entry **e, int *ne)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = mdl_cal_fit_steps(rows, n, NULL, e, ne, &err);
    ck_assert_msg(rc == 0, "fit failed: %s", err.msg);
}

/* ---- parameter recovery ------------------------------------------------------- */

START_TEST(test_recovery_exact)
{
    /* Noise-free rows from known parameters: every parameter the grid
     * informs comes back to 1e-3.  The prior pulls by far less: a factor
     * e^2 from the default costs one unit of residual, while each row's
     * residual is divided by its regime's scatter, here the floor 1e-6.
     * The launch floor of vllm-v0 (16, 32 or 80 layers x 40 us) is below
     * every GPU time of the grid, which is the same layers x the true
     * layer_overhead of 40 us plus the weight reads and more: no row
     * depends on it.  The fixed time per layer is recovered with the
     * rest. */
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V0, 0.0, TP_124, 3, 3, 1);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    ck_assert_int_eq(ne, 1);
    ck_assert_str_eq(e[0].gpu, "h100-sxm");
    ck_assert_str_eq(e[0].engine, "vllm-v0");
    ck_assert_int_eq(e[0].rows, (int)n);
    double p[MDL_N_PARAMS];
    truth(p);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        if (i == MDL_P_LAUNCH)
            continue;
        ck_assert_msg(e[0].fitted[i], "%s not fitted", mdl_roofline_params[i].name);
        ck_assert_msg(fabs(e[0].value[i] / p[i] - 1) < 1e-3, "%s: %g, truth %g",
                      mdl_roofline_params[i].name, e[0].value[i], p[i]);
    }
    ck_assert(!e[0].fitted[MDL_P_LAUNCH]);
    ck_assert_double_eq(e[0].value[MDL_P_LAUNCH], 40e-6);
    free(e);
}
END_TEST

START_TEST(test_recovery_noisy)
{
    /* 3% lognormal noise: every 95% interval holds the truth and is
     * narrower than half the value.  Over 300 seeds (1000-1299) each
     * parameter's interval held it in 92.7-97.0% of the fits (the nominal
     * 95%: mfu 93.3%, gemm_half_tokens 92.7, mbu 94.7, attn_mfu 97.0,
     * attn_mbu 93.3, allreduce_latency 96.0, link_efficiency 94.3,
     * step_overhead 92.7, host_per_seq 93.7, layer_overhead 94.7) and every
     * interval was narrower than half its value in all 300, but with ten
     * intervals one misses now and then (all ten held in 179 of the 300
     * fits); this seed is fixed, and the test is of the arithmetic: a wrong
     * scale of the covariance or of the delta method misses by far more
     * than one interval. */
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V0, 0.03, TP_124, 3, 3, 20261107);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    ck_assert_int_eq(ne, 1);
    double p[MDL_N_PARAMS];
    truth(p);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        const char *name = mdl_roofline_params[i].name;
        if (i == MDL_P_LAUNCH) {
            ck_assert_msg(!e[0].fitted[i], "launch floor fitted");
            continue;
        }
        ck_assert_msg(e[0].fitted[i], "%s not fitted", name);
        ck_assert_msg(e[0].ci_lo[i] <= p[i] && p[i] <= e[0].ci_hi[i],
                      "%s: truth %g outside [%g, %g]", name, p[i], e[0].ci_lo[i], e[0].ci_hi[i]);
        ck_assert_msg(e[0].ci_hi[i] - e[0].ci_lo[i] < 0.5 * e[0].value[i],
                      "%s: interval [%g, %g] too wide", name, e[0].ci_lo[i], e[0].ci_hi[i]);
    }
    mdl_cal_print(stdout, &e[0]);
    free(e);
}
END_TEST

/* Kernel rows (linear layers and all-reduces) of two models on one H100,
 * exact: a kernel profile fixes the GEMM and link parameters and the fixed
 * time per layer (a layer profile includes its small kernels) alone. */
static size_t kernel_rows(struct mdl_cal_step *rows, const double p[MDL_N_PARAMS])
{
    static const char *const models[] = {"llama-3.1-8b", "llama-2-70b"};
    static const double tokens[] = {1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 16384};
    static const int tps[] = {2, 4, 8};
    size_t n = 0;
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < 11; k++)
                for (int kind = 0; kind < 2; kind++) {
                    struct mdl_cal_step *s = &rows[n++];
                    memset(s, 0, sizeof *s);
                    s->gpu = *gpu("h100-sxm");
                    s->llm = *llm(models[m]);
                    s->tp = tps[t];
                    s->kind = kind ? MDL_CAL_ALLREDUCE : MDL_CAL_LINEAR;
                    s->batch = 1;
                    s->prompt_tokens = tokens[k];
                    s->weights = s->kv = MDL_DTYPE_BF16;
                    s->engine = MDL_ENGINE_VLLM_V1;
                    s->line = (int)n + 1;
                    s->time_s = mdl_cal_step_predict(s, p);
                }
    return n;
}

START_TEST(test_recovery_kernels)
{
    struct mdl_cal_step rows[132];
    double p[MDL_N_PARAMS];
    truth(p);
    size_t n = kernel_rows(rows, p);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    ck_assert_int_eq(ne, 1);
    ck_assert_str_eq(e[0].engine, "any");
    static const int want[] = {MDL_P_MFU,    MDL_P_GEMM_HALF, MDL_P_MBU,
                               MDL_P_AR_LAT, MDL_P_LINK_EFF,  MDL_P_LAYER};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = want[k];
        ck_assert_msg(e[0].fitted[i], "%s not fitted", mdl_roofline_params[i].name);
        ck_assert_msg(fabs(e[0].value[i] / p[i] - 1) < 1e-3, "%s: %g, truth %g",
                      mdl_roofline_params[i].name, e[0].value[i], p[i]);
    }
    /* Attention and host parameters are not in kernel rows at all. */
    double def[MDL_N_PARAMS];
    mdl_cal_step_defaults(&rows[0], def);
    for (int i = MDL_P_ATTN_MFU; i <= MDL_P_ATTN_MBU; i++) {
        ck_assert(!e[0].fitted[i]);
        ck_assert_double_eq(e[0].value[i], def[i]);
        ck_assert(isnan(e[0].ci_lo[i]) && isnan(e[0].ci_hi[i]));
    }
    ck_assert_int_eq(e[0].n_warnings, 1);
    ck_assert_str_eq(e[0].warning[0],
                     "not measured by these row kinds, defaults kept: attn_mfu, attn_mbu");
    free(e);

    /* The fixed time per layer is a candidate wherever linear rows are, and
     * only there: all-reduce rows alone leave it (and the GEMM parameters)
     * at the GPU's defaults; linear rows alone fit it with the GEMM
     * parameters and leave the link's. */
    struct mdl_cal_step sub[66];
    for (int kind = 0; kind < 2; kind++) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if ((int)rows[j].kind == (kind ? MDL_CAL_ALLREDUCE : MDL_CAL_LINEAR))
                sub[m++] = rows[j];
        ck_assert_uint_eq(m, 66);
        fit(sub, m, &e, &ne);
        ck_assert_int_eq(ne, 1);
        ck_assert_int_eq(e[0].n_warnings, 1);
        if (kind) {
            ck_assert_str_eq(e[0].warning[0],
                             "not measured by these row kinds, defaults kept: mfu, "
                             "gemm_half_tokens, mbu, attn_mfu, attn_mbu, "
                             "layer_overhead_us");
            ck_assert(!e[0].fitted[MDL_P_LAYER]);
            ck_assert_double_eq(e[0].value[MDL_P_LAYER], def[MDL_P_LAYER]);
            ck_assert_double_eq_tol(def[MDL_P_LAYER], 56e-6, 1e-15); /* H100's, gpus.yaml */
            ck_assert(e[0].fitted[MDL_P_AR_LAT] && e[0].fitted[MDL_P_LINK_EFF]);
        } else {
            ck_assert_str_eq(e[0].warning[0], "not measured by these row kinds, defaults kept: "
                                              "attn_mfu, attn_mbu, allreduce_latency_us, "
                                              "link_efficiency");
            for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
                int i = want[k];
                if (i == MDL_P_AR_LAT || i == MDL_P_LINK_EFF)
                    continue;
                ck_assert_msg(e[0].fitted[i] && fabs(e[0].value[i] / p[i] - 1) < 1e-3,
                              "linear rows alone: %s %g", mdl_roofline_params[i].name,
                              e[0].value[i]);
            }
        }
        free(e);
    }
}
END_TEST

/* ---- what the data cannot tell ------------------------------------------------- */

static int has_warning(const struct mdl_cal_entry *e, const char *text)
{
    for (int w = 0; w < e->n_warnings; w++)
        if (strstr(e->warning[w], text) != NULL)
            return 1;
    return 0;
}

START_TEST(test_unidentified)
{
    /* tp 1 only, on an engine that overlaps its host work with the GPU and
     * launches no eager kernels: no row carries an all-reduce (link
     * parameters not even tried), the launch floor does not exist, and the
     * host time (2 ms + 10 us per sequence by default, 1.5 ms + 15 us in
     * truth) hides behind GPU steps of 6 ms and more, so no row depends on
     * it.  All of them keep their defaults exactly: the link's are H100's
     * measured ones from gpus.yaml.  (The grid's two larger models only:
     * the 1B model's short steps, 1.7 to 2.2 ms of GPU time at small
     * contexts, would show a host time of 1.5 to 3.4 ms.)  The fixed time
     * per layer is a GPU parameter, a candidate with any prefill or decode
     * row, and recovered. */
    static const int tp1[] = {1};
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V1, 0.0, tp1, 1, 2, 7);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    ck_assert_int_eq(ne, 1);
    ck_assert_str_eq(e[0].engine, "vllm-v1");
    double def[MDL_N_PARAMS];
    mdl_cal_step_defaults(&rows[0], def);
    static const int none[] = {MDL_P_AR_LAT, MDL_P_LINK_EFF, MDL_P_STEP, MDL_P_HOST_SEQ,
                               MDL_P_LAUNCH};
    for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) {
        int i = none[k];
        ck_assert_msg(!e[0].fitted[i], "%s fitted", mdl_roofline_params[i].name);
        ck_assert_double_eq(e[0].value[i], def[i]);
    }
    ck_assert_double_eq(e[0].value[MDL_P_AR_LAT], gpu("h100-sxm")->allreduce_latency_us * 1e-6);
    ck_assert_double_eq_tol(e[0].value[MDL_P_AR_LAT], 30.3e-6, 1e-15);
    ck_assert_double_eq(e[0].value[MDL_P_LINK_EFF], 0.392);
    ck_assert_double_eq(e[0].value[MDL_P_LAUNCH], 0.0);
    ck_assert(has_warning(&e[0],
                          "not measured by these row kinds, defaults kept: allreduce_latency_us, "
                          "link_efficiency, launch_per_layer_us"));
    ck_assert(has_warning(&e[0],
                          "step_overhead_ms: no row depends on it (Jacobian column < 0.001 of the "
                          "largest); default 2 ms kept"));
    ck_assert(has_warning(&e[0], "host_per_seq_us: no row depends on it"));
    /* The GPU side is still recovered. */
    double p[MDL_N_PARAMS];
    truth(p);
    static const int gpu_side[] = {MDL_P_MFU,      MDL_P_GEMM_HALF, MDL_P_MBU,
                                   MDL_P_ATTN_MFU, MDL_P_ATTN_MBU,  MDL_P_LAYER};
    for (size_t k = 0; k < sizeof gpu_side / sizeof gpu_side[0]; k++) {
        int i = gpu_side[k];
        ck_assert_msg(e[0].fitted[i] && fabs(e[0].value[i] / p[i] - 1) < 1e-3, "%s: %g",
                      mdl_roofline_params[i].name, e[0].value[i]);
    }
    free(e);
}
END_TEST

START_TEST(test_wide_interval)
{
    /* Decode steps of one model at one batch size and context on a
     * synchronous engine, with noise: the host time per sequence and the
     * step overhead add up to one constant, so at most one of them can be
     * fitted; the other's interval is wider than its value and it keeps its
     * default with a warning. */
    struct mdl_cal_step rows[12];
    double p[MDL_N_PARAMS];
    truth(p);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    for (int k = 0; k < 12; k++) {
        struct mdl_cal_step *s = &rows[k];
        memset(s, 0, sizeof *s);
        s->gpu = *gpu("h100-sxm");
        s->llm = *llm("llama-3.1-8b");
        s->tp = 1;
        s->kind = MDL_CAL_DECODE;
        s->batch = 16;
        s->context_tokens = 1000;
        s->engine = MDL_ENGINE_VLLM_V0;
        s->time_s = mdl_cal_step_predict(s, p) * exp(0.02 * gsl_ran_gaussian(r, 1.0));
    }
    gsl_rng_free(r);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, 12, &e, &ne);
    mdl_cal_print(stdout, &e[0]);
    ck_assert(!e[0].fitted[MDL_P_STEP] || !e[0].fitted[MDL_P_HOST_SEQ]);
    ck_assert(has_warning(&e[0], "not identified (95% interval +-"));
    double def[MDL_N_PARAMS];
    mdl_cal_step_defaults(&rows[0], def);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        if (!e[0].fitted[i])
            ck_assert_double_eq(e[0].value[i], def[i]);
    /* Whatever stays free still explains the data. */
    ck_assert_double_lt(e[0].regime[0].in_median_abs, 0.03);
    free(e);
}
END_TEST

/* ---- held-out errors ----------------------------------------------------------- */

START_TEST(test_heldout_exact)
{
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V0, 0.0, TP_124, 3, 3, 1);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    ck_assert_int_eq(e[0].folds, 5);
    static const char *const names[] = {"prefill tp 1", "prefill tp 2", "prefill tp 4",
                                        "decode tp 1",  "decode tp 2",  "decode tp 4"};
    ck_assert_int_eq(e[0].n_regimes, 6);
    for (int q = 0; q < 6; q++) {
        const struct mdl_cal_regime *g = &e[0].regime[q];
        ck_assert_str_eq(g->name, names[q]);
        ck_assert_int_eq(g->rows, q < 3 ? 60 : 36); /* 3 models x 20 prefill or 12 decode rows */
        ck_assert_msg(g->in_median_abs < 1e-4 && fabs(g->in_mean_signed) < 1e-4, "%s: %g %g",
                      g->name, g->in_median_abs, g->in_mean_signed);
        ck_assert_msg(g->heldout_median_abs < 1e-3, "%s held out: %g", g->name,
                      g->heldout_median_abs);
    }
    free(e);

    /* No folds asked: none computed. */
    struct mdl_cal_options o;
    mdl_cal_options_default(&o);
    o.folds = 0;
    struct llmsim_error err;
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, &o, &e, &ne, &err), 0);
    ck_assert_int_eq(e[0].folds, 0);
    ck_assert(isnan(e[0].regime[0].heldout_median_abs));
    free(e);
}
END_TEST

/* ---- the model of a row ----------------------------------------------------------- */

START_TEST(test_row_model)
{
    struct mdl_cal_step s;
    memset(&s, 0, sizeof s);
    s.gpu = *gpu("a100-80gb");
    s.llm = *llm("llama-2-7b");
    s.tp = 1;
    s.kind = MDL_CAL_LINEAR;
    s.batch = 2;
    s.prompt_tokens = 2048;
    double p[MDL_N_PARAMS];
    mdl_cal_step_defaults(&s, p);
    p[MDL_P_MFU] = 0.6;
    p[MDL_P_MBU] = 0.7;
    p[MDL_P_GEMM_HALF] = 0.0;
    p[MDL_P_LAYER] = 50e-6;
    /* Compute-bound: 2 x body x T / (peak x mfu); the body leaves out the
     * embedding table and the LM head, 32000 x 4096 each.  A layer profile
     * includes the layers' small kernels: plus 32 layers x 50 us = 1.6 ms. */
    double body = 6.74e9 - 2.0 * 32000 * 4096, fixed = 32 * 50e-6;
    ck_assert_double_eq_tol(mdl_cal_step_predict(&s, p), 2.0 * body * 4096 / (312e12 * 0.6) + fixed,
                            1e-12);
    p[MDL_P_GEMM_HALF] = 4096.0; /* e(T) halves at T = 4096 */
    ck_assert_double_eq_tol(mdl_cal_step_predict(&s, p),
                            2.0 * 2.0 * body * 4096 / (312e12 * 0.6) + fixed, 1e-12);
    /* Memory-bound at one token: the body's bytes at mbu of peak bandwidth,
     * plus the same fixed time. */
    s.batch = 1;
    s.prompt_tokens = 1;
    p[MDL_P_GEMM_HALF] = 0.0;
    ck_assert_double_eq_tol(mdl_cal_step_predict(&s, p), body * 2.0 / (2039e9 * 0.7) + fixed,
                            1e-12);
    /* Without it, the roofline alone (9.08 ms of weight reads). */
    p[MDL_P_LAYER] = 0.0;
    ck_assert_double_eq_tol(mdl_cal_step_predict(&s, p), body * 2.0 / (2039e9 * 0.7), 1e-12);
    p[MDL_P_LAYER] = 50e-6;
    /* All-reduce over 4 GPUs of 100 tokens x 4096 x 2 bytes. */
    s.kind = MDL_CAL_ALLREDUCE;
    s.tp = 4;
    s.prompt_tokens = 100;
    p[MDL_P_AR_LAT] = 31e-6;
    p[MDL_P_LINK_EFF] = 0.37;
    ck_assert_double_eq_tol(mdl_cal_step_predict(&s, p),
                            31e-6 + 1.5 * 100 * 4096 * 2.0 / (600e9 * 0.37), 1e-15);
    /* Engine steps are mdl_roofline_iter's. */
    s.kind = MDL_CAL_PREFILL;
    s.tp = 2;
    s.batch = 3;
    s.prompt_tokens = 700;
    s.context_tokens = 300;
    s.engine = MDL_ENGINE_SGLANG;
    struct mdl_iter it;
    mdl_cal_step_iter(&s, &it);
    ck_assert_double_eq(it.prefill_tokens, 2100);
    ck_assert_double_eq(it.prefill_pairs, 3 * (700.0 * 300 + 700.0 * 701 / 2));
    ck_assert_double_eq(it.prefill_kv_read, 900);
    ck_assert_double_eq(it.requests, 3);
    struct mdl_roofline m;
    mdl_roofline_init(&m, &s.gpu, &s.llm, 2, MDL_DTYPE_BF16, MDL_DTYPE_BF16);
    mdl_roofline_set_engine(&m, MDL_ENGINE_SGLANG);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        mdl_roofline_param_set(&m, i, p[i]);
    struct mdl_iter_cost c;
    mdl_roofline_iter(&m, &it, &c);
    ck_assert_double_eq(mdl_cal_step_predict(&s, p), c.time_s);
    s.kind = MDL_CAL_DECODE;
    mdl_cal_step_iter(&s, &it);
    ck_assert_double_eq(it.decode_tokens, 3);
    ck_assert_double_eq(it.decode_context, 903);
    ck_assert_double_eq(it.decode_kv_read, 900);
    ck_assert_double_eq(it.prefill_tokens, 0);
    mdl_roofline_iter(&m, &it, &c);
    ck_assert_double_eq(mdl_cal_step_predict(&s, p), c.time_s);
    /* Kind names. */
    enum mdl_cal_kind k = MDL_CAL_PREFILL;
    ck_assert_int_eq(mdl_cal_kind_parse("allreduce", &k), 0);
    ck_assert_int_eq(k, MDL_CAL_ALLREDUCE);
    ck_assert_int_eq(mdl_cal_kind_parse("mixed", &k), LLMSIM_EINVAL);
    ck_assert_str_eq(mdl_cal_kind_name(MDL_CAL_DECODE), "decode");
    ck_assert_str_eq(mdl_cal_kind_name((enum mdl_cal_kind)9), "?");
}
END_TEST

START_TEST(test_fit_errors)
{
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V0, 0.0, TP_124, 1, 3, 1);
    struct mdl_cal_entry *e = (struct mdl_cal_entry *)&e;
    int ne = 3;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(mdl_cal_fit_steps(rows, 0, NULL, &e, &ne, &err), LLMSIM_EINVAL);
    ck_assert_str_eq(err.msg, "no rows to fit");
    ck_assert_ptr_null(e);
    ck_assert_int_eq(ne, 0);
    /* A second GPU with one row. */
    rows[n - 1].gpu = *gpu("a100-80gb");
    rows[n - 1].line = 42;
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, NULL, &e, &ne, &err), LLMSIM_EINVAL);
    ck_assert_int_eq(err.line, 42);
    ck_assert_str_eq(
        err.msg, "only one row for GPU 'a100-80gb' with engine vllm-v0: a fit needs at least 2");
    rows[n - 1].gpu = *gpu("h100-sxm");
    rows[3].time_s = -1.0;
    rows[3].line = 9;
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, NULL, &e, &ne, &err), LLMSIM_EINVAL);
    ck_assert_int_eq(err.line, 9);
    ck_assert_str_eq(
        err.msg, "row 4 is out of range (time > 0, batch >= 1, tp >= 1, tokens >= 0, at least one "
                 "token)");
    rows[3].time_s = 1.0;
    struct mdl_cal_options o;
    mdl_cal_options_default(&o);
    o.folds = 1;
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, &o, &e, &ne, &err), LLMSIM_EINVAL);
    ck_assert_str_eq(err.msg, "fit options: folds must be 0 or >= 2 and prior_sd > 0");
    /* A model that gives no time: a GPU without bandwidth. */
    mdl_cal_options_default(&o);
    for (size_t i = 0; i < n; i++)
        rows[i].gpu.bandwidth_gbs = 0.0;
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, &o, &e, &ne, &err), LLMSIM_ENUMERIC);
    ck_assert_int_eq(err.line, rows[0].line);
    ck_assert_str_eq(
        err.msg, "the model gives no finite positive time for this row (llama-3.1-8b on h100-sxm)");
}
END_TEST

/* ---- the measurement CSV ------------------------------------------------------------ */

static char *g_dir;

/* Writes text to DIR/name and returns the path (static buffer). */
static const char *put(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Reads CSV text; returns the formatted error with the file name cut off
 * ("" when it loaded). */
static const char *csv_error(const char *text, const struct sim_scenario *sc)
{
    static char msg[1200];
    const char *path = put("steps.csv", text);
    struct mdl_cal_step *rows = (struct mdl_cal_step *)&rows;
    size_t n = 7;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_steps_csv_read(path, sc, &rows, &n, &err);
    if (rc == 0) {
        free(rows);
        return "";
    }
    ck_assert_ptr_null(rows);
    ck_assert_uint_eq(n, 0);
    llmsim_error_format(&err, msg, sizeof msg);
    size_t pl = strlen(path);
    ck_assert_msg(!strncmp(msg, path, pl), "%s", msg);
    return msg + pl;
}

#define HDR "gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms\n"
#define OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,9.5\n"

START_TEST(test_csv_read)
{
    const char *path =
        put("ok.csv", "# measured 2026-11-03\n"
                      "note,kind,gpu,model,tp,batch,prompt_tokens,context_tokens,time_ms,kv_dtype\n"
                      "\n"
                      "a,prefill,h100-sxm,llama-3.1-8b,2,4,512,0,31.25,fp8\n"
                      " \"b,c\" , decode ,\"h100-sxm\",llama-3.1-8b,2,16,0,2048,12.5,\n");
    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    struct llmsim_error err;
    ck_assert_int_eq(scn_steps_csv_read(path, NULL, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(rows[0].gpu.id, "h100-sxm");
    ck_assert_str_eq(rows[0].llm.id, "llama-3.1-8b");
    ck_assert_int_eq(rows[0].kind, MDL_CAL_PREFILL);
    ck_assert_int_eq(rows[0].tp, 2);
    ck_assert_double_eq(rows[0].batch, 4);
    ck_assert_double_eq(rows[0].prompt_tokens, 512);
    ck_assert_double_eq_tol(rows[0].time_s, 0.03125, 1e-15);
    ck_assert_int_eq(rows[0].kv, MDL_DTYPE_FP8);
    ck_assert_int_eq(rows[0].weights, MDL_DTYPE_BF16);
    ck_assert_int_eq(rows[0].engine, MDL_ENGINE_VLLM_V1);
    ck_assert_int_eq(rows[0].line, 4);
    ck_assert_int_eq(rows[1].kind, MDL_CAL_DECODE);
    ck_assert_double_eq(rows[1].context_tokens, 2048);
    ck_assert_int_eq(rows[1].kv, MDL_DTYPE_BF16); /* empty field: the default */
    ck_assert_int_eq(rows[1].line, 5);
    free(rows);
}
END_TEST

START_TEST(test_csv_errors)
{
    ck_assert_str_eq(csv_error("", NULL),
                     ":1:1: empty file: expected a header line naming gpu, model, tp, kind, "
                     "batch, prompt_tokens, context_tokens and time_ms, then one row per "
                     "measurement");
    ck_assert_str_eq(csv_error("# only a comment\n\n", NULL),
                     ":1:1: empty file: expected a header line naming gpu, model, tp, kind, batch, "
                     "prompt_tokens, "
                     "context_tokens and time_ms, then one row per measurement");
    ck_assert_str_eq(csv_error(HDR, NULL), ":1:1: no measurements after the header");
    ck_assert_str_eq(
        csv_error("gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time\n" OK1, NULL),
        ":1:1: missing column 'time_ms' (the header must name gpu, model, tp, kind, batch, "
        "prompt_tokens, context_tokens and time_ms)");
    ck_assert_str_eq(
        csv_error("gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms,tp\n", NULL),
        ":1:62: duplicate column 'tp'");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000\n", NULL),
                     ":3:1: 7 fields where the header has 8");
    ck_assert_str_eq(
        csv_error(HDR OK1 "h100,llama-3.1-8b,1,decode,8,0,1000,9.5\n", NULL),
        ":3:1: GPU 'h100' is not in the catalog (did you mean 'h100-sxm'?); `llmsim catalog gpus` "
        "lists them, or define it inline in a --scenario");
    ck_assert_str_eq(
        csv_error(HDR OK1 "h100-sxm,llama-3.1-8c,1,decode,8,0,1000,9.5\n", NULL),
        ":3:10: model 'llama-3.1-8c' is not in the LLM catalog (did you mean 'llama-3.1-8b'?); "
        "`llmsim catalog models` lists them, or define it inline in a --scenario");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,two,decode,8,0,1000,9.5\n", NULL),
                     ":3:23: tp: 'two' is not a number");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1.5,decode,8,0,1000,9.5\n", NULL),
                     ":3:23: tp must be a whole number from 1 to 4096, got 1.5");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,3,decode,8,0,1000,9.5\n", NULL),
                     ":3:23: tp 3 does not divide the 32 attention heads of 'llama-3.1-8b'");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decod,8,0,1000,9.5\n", NULL),
                     ":3:25: unknown kind 'decod' (did you mean 'decode'?); kinds are prefill, "
                     "decode, linear and "
                     "allreduce");
    ck_assert_str_eq(
        csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,mixed,8,0,1000,9.5\n", NULL),
        ":3:25: unknown kind 'mixed'; kinds are prefill, decode, linear and allreduce");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,0,0,1000,9.5\n", NULL),
                     ":3:32: batch must be at least 1, got 0");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,abc\n", NULL),
                     ":3:41: time_ms: 'abc' is not a number");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,nan\n", NULL),
                     ":3:41: time_ms: 'nan' is not a number");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,-2.5\n", NULL),
                     ":3:41: time_ms must be positive, got -2.5");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,0\n", NULL),
                     ":3:41: time_ms must be positive, got 0");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,,9.5\n", NULL),
                     ":3:36: context_tokens: '' is not a number");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,0,-1,9.5\n", NULL),
                     ":3:36: context_tokens must be from 0 to 1e+07, got -1");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,decode,8,-1,0,9.5\n", NULL),
                     ":3:34: prompt_tokens must be from 0 to 1e+07, got -1");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,prefill,8,0,0,9.5\n", NULL),
                     ":3:35: a prefill row needs prompt_tokens >= 1, got 0");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,llama-3.1-8b,1,allreduce,1,64,0,0.05\n", NULL),
                     ":3:23: an allreduce row needs tp >= 2 (GPUs in the all-reduce), got 1");
    ck_assert_str_eq(
        csv_error("gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms,weights_dtype\n"
                  "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,9.5,fp4\n",
                  NULL),
        ":2:45: weights_dtype: unknown dtype 'fp4' (expected bf16, fp8, int8 or int4)");
    ck_assert_str_eq(
        csv_error(HDR OK1 OK1 "a100-80gb,llama-3.1-8b,1,decode,8,0,1000,9.5\n" OK1, NULL),
        ":4:1: the only row for GPU 'a100-80gb' with engine vllm-v1: a fit needs at least 2 rows "
        "per "
        "GPU and engine");
    ck_assert_str_eq(csv_error(HDR OK1 OK1, NULL), "");

    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    struct llmsim_error err;
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/none.csv", g_dir);
    ck_assert_int_eq(scn_steps_csv_read(missing, NULL, &rows, &n, &err), LLMSIM_EIO);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    ck_assert_str_eq(err.file, missing);
}
END_TEST

/* A scenario with an inline GPU (no scale-up link) on vllm-v0 and a catalog
 * GPU on sglang, whose names and engines a CSV takes. */
static const char *SCENARIO_INLINE =
    "name: cal\n"
    "horizon: {duration_s: 60}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 1}\n"
    "  classes:\n"
    "    - {name: chat, prompt: [{segment: p, tokens: 100}], output_tokens: 10}\n"
    "deployments:\n"
    "  - name: lab\n"
    "    kind: self-hosted\n"
    "    model: llama-3.1-8b\n"
    "    gpu: {name: labgpu, bf16_tflops: 400, memory_gib: 96, bandwidth_gbs: 2500, hour_usd: 2}\n"
    "    engine: vllm-v0\n"
    "  - name: cloud\n"
    "    kind: self-hosted\n"
    "    model: llama-3.1-8b\n"
    "    gpu: h100-sxm\n"
    "    engine: sglang\n"
    "routing: {policy: fixed, to: lab}\n";

START_TEST(test_csv_scenario)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc, SCENARIO_INLINE, NULL, 0);
    const char *path = put("lab.csv", HDR "labgpu,llama-3.1-8b,1,decode,8,0,1000,9.5\n"
                                          "labgpu,llama-3.1-8b,1,prefill,1,1000,0,40\n"
                                          "h100-sxm,llama-3.1-8b,1,decode,8,0,1000,9.5\n"
                                          "h100-sxm,llama-3.1-8b,1,decode,16,0,1000,9.9\n");
    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    struct llmsim_error err;
    ck_assert_int_eq(scn_steps_csv_read(path, &sc, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_double_eq(rows[0].gpu.bf16_tflops, 400);
    ck_assert_int_eq(rows[0].engine, MDL_ENGINE_VLLM_V0);
    ck_assert_int_eq(rows[2].engine, MDL_ENGINE_SGLANG);
    free(rows);
    /* One fit entry per GPU and engine. */
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    ck_assert_int_eq(scn_steps_csv_read(path, &sc, &rows, &n, &err), 0);
    struct mdl_cal_options o;
    mdl_cal_options_default(&o);
    ck_assert_int_eq(mdl_cal_fit_steps(rows, n, &o, &e, &ne, &err), 0);
    ck_assert_int_eq(ne, 2);
    ck_assert_str_eq(e[0].gpu, "labgpu");
    ck_assert_str_eq(e[0].engine, "vllm-v0");
    ck_assert_str_eq(e[1].engine, "sglang");
    ck_assert_int_eq(e[0].folds, 2); /* two rows: leave one out */
    free(e);
    free(rows);

    ck_assert_str_eq(csv_error(HDR OK1 "labgpu2,llama-3.1-8b,1,decode,8,0,1000,9.5\n", &sc),
                     ":3:1: GPU 'labgpu2' is neither in the catalog nor in the scenario (did you "
                     "mean 'labgpu'?)");
    ck_assert_str_eq(csv_error(HDR OK1 "h100-sxm,lama,1,decode,8,0,1000,9.5\n", &sc),
                     ":3:10: model 'lama' is neither in the LLM catalog nor in the scenario");
    ck_assert_str_eq(csv_error(HDR "labgpu,llama-3.1-8b,2,decode,8,0,1000,9.5\n", &sc),
                     ":2:21: tp 2 needs a scale-up link, but GPU 'labgpu' has link_gbs 0");
    /* A catalog GPU that no deployment of the scenario runs on has no engine. */
    ck_assert_str_eq(csv_error(HDR OK1 "a100-80gb,llama-3.1-8b,1,decode,16,0,1000,9.9\n", &sc),
                     ":3:1: gpu 'a100-80gb' is not the GPU of any deployment of the scenario ('labgpu', "
                     "'h100-sxm'); the scenario gives each GPU its engine: add a deployment on 'a100-80gb', "
                     "or calibrate without --scenario");
    sim_scenario_free(&sc);
}
END_TEST

/* ---- the calibration file as a scenario reads it ---------------------------------- */

/* A scenario with one deployment of llama-3.1-8b on `gpu` x tp under
 * `engine`, calibrated by `cal`. */
static int load_calibrated(struct sim_scenario *sc, const char *gpu_id, const char *model, int tp,
                           const char *engine, const char *cal, struct llmsim_error *err)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "name: cal\n"
             "horizon: {duration_s: 60}\n"
             "workload:\n"
             "  arrivals: {process: poisson, rate_per_s: 1}\n"
             "  classes:\n"
             "    - {name: chat, prompt: [{segment: p, tokens: 100}], output_tokens: 10}\n"
             "deployments:\n"
             "  - name: d\n"
             "    kind: self-hosted\n"
             "    model: %s\n"
             "    gpu: %s\n"
             "    tp: %d\n"
             "    engine: %s\n"
             "    latency: {model: roofline, calibration: %s}\n",
             model, gpu_id, tp, engine, cal);
    llmsim_error_clear(err);
    return scn_load_string(sc, yaml, strlen(yaml), "test.yaml", NULL, 0, err);
}

static const char *write_cal(const char *name, const struct mdl_cal_entry *e, int n)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(mdl_cal_write(f, "steps", "synthetic \"grid\"", e, n), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

START_TEST(test_file_round_trip)
{
    struct mdl_cal_step rows[SYN_MAX];
    size_t n = synthetic(rows, MDL_ENGINE_VLLM_V0, 0.03, TP_124, 3, 3, 20261107);
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    fit(rows, n, &e, &ne);
    const char *cal = write_cal("cal.yaml", e, ne);
    struct sim_scenario sc;
    struct llmsim_error err;
    int rc = load_calibrated(&sc, "h100-sxm", "llama-3.1-8b", 2, "vllm-v0", cal, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    const struct mdl_roofline *r = &sc.deployments[0].roofline;
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        /* The file carries 6 significant digits. */
        double got = mdl_roofline_param_get(r, i), want = e[0].value[i];
        ck_assert_msg(fabs(got - want) <= 5e-6 * fabs(want), "%s: %.9g, fitted %.9g",
                      mdl_roofline_params[i].name, got, want);
    }
    ck_assert_str_eq(sc.deployments[0].calibration, cal);
    sim_scenario_free(&sc);

    /* Another GPU, or another engine: refused, naming what the file has. */
    char want[2048];
    ck_assert_int_ne(load_calibrated(&sc, "a100-80gb", "llama-3.1-8b", 1, "vllm-v0", cal, &err), 0);
    snprintf(
        want, sizeof want,
        "deployments.d.latency.calibration: calibration '%s' is for h100-sxm/vllm-v0, not for this "
        "deployment's GPU 'a100-80gb' with engine 'vllm-v0'; calibrate on this GPU and engine, or "
        "remove the "
        "calibration",
        cal);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_ne(load_calibrated(&sc, "h100-sxm", "llama-3.1-8b", 1, "vllm-v1", cal, &err), 0);
    ck_assert_ptr_nonnull(
        strstr(err.msg, "is for h100-sxm/vllm-v0, not for this deployment's GPU 'h100-sxm' "
                        "with engine 'vllm-v1'"));
    free(e);

    /* An entry for any engine has no host parameters: the deployment keeps
     * its own engine's. */
    double p[MDL_N_PARAMS];
    truth(p);
    size_t nk = kernel_rows(rows, p);
    fit(rows, nk, &e, &ne);
    cal = write_cal("kernels.yaml", e, ne);
    char *text = tu_read_file(cal, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strstr(text, "step_overhead_ms"));
    ck_assert_ptr_nonnull(strstr(text, "    engine: any\n"));
    ck_assert_ptr_nonnull(strstr(text, "data: \"synthetic \\\"grid\\\"\"\n"));
    ck_assert_ptr_nonnull(strstr(text, "        - {regime: \"linear tp 2\", rows: 22, "));
    free(text);
    rc = load_calibrated(&sc, "h100-sxm", "llama-3.1-8b", 4, "vllm-v0", cal, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    r = &sc.deployments[0].roofline;
    ck_assert_double_eq(r->step_overhead_s, mdl_engine_info(MDL_ENGINE_VLLM_V0)->host_step_s);
    ck_assert_double_eq(r->launch_layer_s, mdl_engine_info(MDL_ENGINE_VLLM_V0)->launch_layer_s);
    ck_assert_double_eq_tol(r->mfu, 0.55, 1e-3 * 0.55);
    ck_assert_double_eq_tol(r->link_eff, 0.35, 1e-3 * 0.35);
    ck_assert_double_eq_tol(r->layer_s, 40e-6, 1e-3 * 40e-6); /* a hardware parameter: kept */
    sim_scenario_free(&sc);
    free(e);
}
END_TEST

/* ---- the shipped Vidur calibration ----------------------------------------------------- */

START_TEST(test_shipped_vidur)
{
    /* models/calibration/vidur.yaml, read the way a scenario reads it,
     * against every row of the measurements it was fitted to
     * (vidur-steps.csv: per-layer GEMM and element-wise times of 7-70B
     * Llama models and NCCL all-reduces on A100-80GB and H100).
     *
     * Bounds, per regime: the median |error| each regime has with the
     * shipped file (recomputed here; the file's own report agrees to 0.1
     * point), plus 1 point.  With the fixed time per layer the linear
     * medians are 2.2-4.6% on A100 and 3.2-6.7% on H100 (10.3% at H100
     * tp 8 before it: 12% was the bound then); the all-reduce ones did not
     * change (4.5-11.6%, A100 tp 8's small messages scattering 7-60 us;
     * 15% was the bound).  A refit after small changes to the catalog or
     * the defaults moves the values in their sixth digit (an unfitted
     * attn_mbu not at all for these rows) and the medians by far less
     * than a point, while the same file with layer_overhead_us set to 0
     * misses several regimes (H100 linear tp 1, 2, 8: 5.7%, 8.1%, 16.3%;
     * A100 linear tp 8: 6.4%), and a file that failed to load,
     * a wrong unit or a misread column misses by far more (a factor of 2
     * is 50%). */
    static const struct {
        const char *gpu;
        enum mdl_cal_kind kind;
        int tp;
        size_t rows;
        double median;
    } want[] = {
        {"a100-80gb", MDL_CAL_LINEAR, 1, 710, 0.022},
        {"a100-80gb", MDL_CAL_LINEAR, 2, 1420, 0.046},
        {"a100-80gb", MDL_CAL_LINEAR, 4, 710, 0.024},
        {"a100-80gb", MDL_CAL_LINEAR, 8, 710, 0.046},
        {"a100-80gb", MDL_CAL_ALLREDUCE, 2, 991, 0.045},
        {"a100-80gb", MDL_CAL_ALLREDUCE, 4, 991, 0.087},
        {"a100-80gb", MDL_CAL_ALLREDUCE, 8, 991, 0.116},
        {"h100-sxm", MDL_CAL_LINEAR, 1, 259, 0.032},
        {"h100-sxm", MDL_CAL_LINEAR, 2, 518, 0.035},
        {"h100-sxm", MDL_CAL_LINEAR, 4, 259, 0.033},
        {"h100-sxm", MDL_CAL_LINEAR, 8, 259, 0.067},
        {"h100-sxm", MDL_CAL_ALLREDUCE, 2, 991, 0.096},
        {"h100-sxm", MDL_CAL_ALLREDUCE, 4, 991, 0.078},
        {"h100-sxm", MDL_CAL_ALLREDUCE, 8, 991, 0.037},
    };
    /* The fitted values the scenario must take from the file, not from
     * gpus.yaml's rounded ones (A100: mfu 0.679, mbu 0.821, 60 us; H100:
     * 0.663, 0.980, 56 us). */
    static const struct {
        const char *gpu;
        double mfu, mbu, layer_us;
    } fitted[] = {{"a100-80gb", 0.678968, 0.821077, 60.0579},
                  {"h100-sxm", 0.66307, 0.980418, 55.578}};
    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    struct llmsim_error err;
    int rc = scn_steps_csv_read(LLMSIM_SOURCE_DIR "/models/calibration/vidur-steps.csv", NULL,
                                &rows, &n, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_gt(n, 10000);
    double worst = 0.0;
    size_t checked = 0;
    for (int g = 0; g < 2; g++) {
        const char *gid = fitted[g].gpu;
        struct sim_scenario sc;
        rc = load_calibrated(&sc, gid, "llama-2-70b", 4, "vllm-v1",
                             LLMSIM_SOURCE_DIR "/models/calibration/vidur.yaml", &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        double p[MDL_N_PARAMS];
        for (int i = 0; i < MDL_N_PARAMS; i++)
            p[i] = mdl_roofline_param_get(&sc.deployments[0].roofline, i);
        sim_scenario_free(&sc);
        ck_assert_double_eq_tol(p[MDL_P_MFU], fitted[g].mfu, 1e-9);
        ck_assert_double_eq_tol(p[MDL_P_MBU], fitted[g].mbu, 1e-9);
        ck_assert_double_eq_tol(p[MDL_P_LAYER] * 1e6, fitted[g].layer_us, 1e-9);
        for (int kind = MDL_CAL_LINEAR; kind <= MDL_CAL_ALLREDUCE; kind++)
            for (int tp = 1; tp <= 8; tp *= 2) {
                double *err_abs = malloc(n * sizeof *err_abs);
                size_t m = 0;
                for (size_t j = 0; j < n; j++)
                    if (!strcmp(rows[j].gpu.id, gid) && (int)rows[j].kind == kind &&
                        rows[j].tp == tp)
                        err_abs[m++] =
                            fabs(mdl_cal_step_predict(&rows[j], p) / rows[j].time_s - 1.0);
                if (m > 0) {
                    qsort(err_abs, m, sizeof *err_abs, tu_cmp_double);
                    double med = err_abs[m / 2];
                    printf("shipped %s %s tp %d: %zu rows, median |err| %.1f%%\n", gid,
                           mdl_cal_kind_name((enum mdl_cal_kind)kind), tp, m, 100 * med);
                    if (med > worst)
                        worst = med;
                    size_t w = 0;
                    while (w < sizeof want / sizeof want[0] &&
                           !(!strcmp(want[w].gpu, gid) && (int)want[w].kind == kind &&
                             want[w].tp == tp))
                        w++;
                    ck_assert_msg(w < sizeof want / sizeof want[0],
                                  "%s %s tp %d: unexpected regime", gid,
                                  mdl_cal_kind_name((enum mdl_cal_kind)kind), tp);
                    ck_assert_uint_eq(m, want[w].rows);
                    ck_assert_msg(
                        med < want[w].median + 0.01, "%s %s tp %d: median |err| %.4f, shipped %.3f",
                        gid, mdl_cal_kind_name((enum mdl_cal_kind)kind), tp, med, want[w].median);
                    checked++;
                }
                free(err_abs);
            }
    }
    ck_assert_uint_eq(checked, sizeof want / sizeof want[0]);
    printf("shipped: worst regime median |err| %.1f%%\n", 100 * worst);
    free(rows);
}
END_TEST

int main(void)
{
    g_dir = tu_tmpdir();
    if (g_dir == NULL)
        return EXIT_FAILURE;
    Suite *s = suite_create("calibrate");
    TCase *tr = tcase_create("recovery");
    tcase_add_test(tr, test_recovery_exact);
    tcase_add_test(tr, test_recovery_noisy);
    tcase_add_test(tr, test_recovery_kernels);
    suite_add_tcase(s, tr);
    TCase *tu = tcase_create("identifiability");
    tcase_add_test(tu, test_unidentified);
    tcase_add_test(tu, test_wide_interval);
    tcase_add_test(tu, test_heldout_exact);
    suite_add_tcase(s, tu);
    TCase *tm = tcase_create("rows");
    tcase_add_test(tm, test_row_model);
    tcase_add_test(tm, test_fit_errors);
    tcase_add_test(tm, test_csv_read);
    tcase_add_test(tm, test_csv_errors);
    tcase_add_test(tm, test_csv_scenario);
    suite_add_tcase(s, tm);
    TCase *tf = tcase_create("file");
    tcase_add_test(tf, test_file_round_trip);
    tcase_add_test(tf, test_shipped_vidur);
    suite_add_tcase(s, tf);
    int rc = tu_run_suite(s);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        rc = EXIT_FAILURE;
    free(g_dir);
    return rc;
}
