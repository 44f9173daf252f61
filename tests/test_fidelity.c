/* Whole runs of a real engine, predicted without calibration.
 *
 * Data: measured vLLM runs published by LLMServingSim
 * (models/calibration/llmservingsim-vllm, MIT): 300 ShareGPT requests at
 * ~10 req/s, per-request TTFT and E2E.  The scenarios
 * scenarios/examples/validate-*.yaml replay the same arrivals and token
 * counts (scenarios/traces/llmservingsim-vllm) with the engine settings the runs
 * recorded, and the test compares the means of TTFT, TPOT ((e2e - ttft) /
 * (output - 1)) and E2E, computed here from the measured CSVs.
 *
 * Bounds: the acceptance is 25% on each mean (goal 10%).  Measured
 * (docs/calibration.md): RTX PRO 6000 Llama-3.1-8B -7% / -2% / -3%
 * (asserted at the 10% goal); 2 x RTX PRO 6000 Qwen3-32B tp 2 +15% / +5% /
 * +9% and RTX 4090 Llama-3.1-8B +15% / +17% / +16% (its KV cache of 41,408
 * tokens thrashes: ~240 preemptions), both asserted at 25%.  These are
 * deterministic replays (one trace, one seed): the bounds carry no
 * sampling error. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/calib_requests.h"
#include "llmsim/config.h"
#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

struct measured {
    double ttft, tpot, e2e;
};

/* Means of a measured CSV (arrival_s,input_tokens,output_tokens,ttft_s,e2e_s). */
static struct measured read_measured(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[256];
    ck_assert(fgets(line, sizeof line, f) != NULL); /* header */
    double st = 0, sp = 0, se = 0;
    int n = 0, np = 0;
    while (fgets(line, sizeof line, f)) {
        double a, in, out, ttft, e2e;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &a, &in, &out, &ttft, &e2e) != 5)
            continue;
        st += ttft;
        se += e2e;
        n++;
        if (out >= 2) {
            sp += (e2e - ttft) / (out - 1);
            np++;
        }
    }
    fclose(f);
    ck_assert_int_eq(n, 300);
    return (struct measured){st / n, sp / np, se / n};
}

static struct measured simulate(const char *path)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_file(&sc, path, NULL, 0, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    struct measured m = {tu_metric(rows, n, "all", "ttft_s"), tu_metric(rows, n, "all", "itl_s"),
                         tu_metric(rows, n, "all", "e2e_s")};
    free(rows);
    sim_scenario_free(&sc);
    return m;
}

static void check_run(const char *scenario, const char *csv, double bound)
{
    struct measured real = read_measured(csv);
    struct measured sim = simulate(scenario);
    double e[3] = {sim.ttft / real.ttft - 1, sim.tpot / real.tpot - 1, sim.e2e / real.e2e - 1};
    const char *what[3] = {"TTFT", "TPOT", "E2E"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(e[i]) <= bound, "%s: %s mean off by %+.1f%% (bound %.0f%%): sim %.4g, measured %.4g",
                      scenario, what[i], 100 * e[i], 100 * bound,
                      i == 0 ? sim.ttft : i == 1 ? sim.tpot : sim.e2e,
                      i == 0 ? real.ttft : i == 1 ? real.tpot : real.e2e);
}

START_TEST(test_rtxpro6000_llama8b)
{
    check_run("../scenarios/examples/validate-rtxpro6000-llama8b.yaml",
              "../models/calibration/llmservingsim-vllm/rtxpro6000_llama-3.1-8b.csv", 0.10);
}
END_TEST

START_TEST(test_rtxpro6000_qwen3_32b_tp2)
{
    check_run("../scenarios/examples/validate-rtxpro6000-qwen3-32b.yaml",
              "../models/calibration/llmservingsim-vllm/rtxpro6000_qwen3-32b.csv", 0.25);
}
END_TEST

START_TEST(test_rtx4090_llama8b)
{
    check_run("../scenarios/examples/validate-rtx4090-llama8b.yaml",
              "../models/calibration/llmservingsim-vllm/rtx4090_llama-3.1-8b.csv", 0.25);
}
END_TEST

/* Llama-2-70B on two A100-80GB (tp 2), 512 prompt / 128 output tokens at
 * 2.5 req/s: the case where the old accounting (memory_gb x 10^9, weights
 * only) left a KV cache ~2.8x too small and the queue grew without bound.
 * With vLLM's accounting the replica holds about 28,800 tokens (45
 * requests) and keeps up: served throughput equals the offered rate (within 3%: the run
 * sees ~2,700 arrivals, so the Poisson count alone varies by 2%), mean TTFT
 * under a second, and the second half of the run no slower than the first
 * (no growing queue). */
START_TEST(test_llama2_70b_a100_tp2_stable)
{
    static const char *yaml =
        "name: llama2-70b-a100-tp2\n"
        "seed: 7\n"
        "horizon: {duration_s: 1200, warmup_s: 120}\n"
        "workload:\n"
        "  arrivals: {process: poisson, rate_per_s: 2.5}\n"
        "  classes:\n"
        "    - {name: fixed, share: 1, prompt: [{segment: prompt, tokens: 512}], output_tokens: 128}\n"
        "deployments:\n"
        "  - {name: llama70b, kind: self-hosted, model: llama-2-70b, gpu: a100-80gb, tp: 2}\n"
        "routing: {policy: fixed, to: llama70b}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    const struct sim_deployment_cfg *d = &sc.deployments[0];
    ck_assert_double_ge(d->kv_budget.tokens, 25000);
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    double thr = tu_metric(rows, n, "all", "throughput_rps");
    double ttft = tu_metric(rows, n, "all", "ttft_s");
    ck_assert_msg(fabs(thr / 2.5 - 1) < 0.03, "throughput %.3f req/s", thr);
    ck_assert_msg(ttft < 1.0, "mean TTFT %.3f s", ttft);
    free(rows);
    /* The same run cut short at half the time has the same latency: no
     * backlog builds up. */
    sc.duration_s = 660;
    tu_summarize(&sc, NULL, &rows, &n);
    double ttft_half = tu_metric(rows, n, "all", "ttft_s");
    ck_assert_msg(ttft < 2.0 * ttft_half + 0.2, "TTFT %.3f s over 1,200 s vs %.3f s over 660 s", ttft, ttft_half);
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

/* A calibration from one model's requests transfers to other models on the
 * same GPU (issue 9: within 20%).  `llmsim calibrate requests` on the RTX
 * PRO 6000 Llama-3.1-8B run (its default parameters, mfu and mbu), applied
 * to the Qwen3-32B (tp 2) run on the same GPU: measured +17.5% / +7.5% /
 * +11.3% on the TTFT / TPOT / E2E means, asserted at 20%. */
START_TEST(test_requests_calibration_transfers)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct sim_scenario src, dst;
    ck_assert_msg(scn_load_file(&src, "../scenarios/examples/validate-rtxpro6000-llama8b.yaml", NULL, 0, &err) == 0,
                  "%s", err.msg);
    ck_assert_msg(scn_load_file(&dst, "../scenarios/examples/validate-rtxpro6000-qwen3-32b.yaml", NULL, 0, &err) == 0,
                  "%s", err.msg);
    struct ana_creq_data ds, dd;
    memset(&ds, 0, sizeof ds);
    memset(&dd, 0, sizeof dd);
    ck_assert_int_eq(ana_creq_read(&ds, "../models/calibration/llmservingsim-vllm/rtxpro6000_llama-3.1-8b.csv", &err), 0);
    ck_assert_int_eq(ana_creq_read(&dd, "../models/calibration/llmservingsim-vllm/rtxpro6000_qwen3-32b.csv", &err), 0);
    struct ana_creq_options opt;
    ana_creq_options_default(&opt);
    opt.folds = 0;
    struct ana_creq_result *res = calloc(1, sizeof *res);
    ck_assert(res != NULL);
    ck_assert_msg(ana_creq_fit(&src, 0, &ds, &opt, res, &err) == 0, "%s", err.msg);
    /* The fitted hardware parameters over the Qwen deployment's defaults. */
    double p[MDL_N_PARAMS];
    ana_creq_defaults(&dst, 0, p);
    p[MDL_P_MFU] = res->entry.value[MDL_P_MFU];
    p[MDL_P_MBU] = res->entry.value[MDL_P_MBU];
    struct ana_creq_errors e;
    ck_assert_msg(ana_creq_evaluate(&dst, 0, p, &dd, &opt, &e, &err) == 0, "%s", err.msg);
    const char *what[3] = {"TTFT", "TPOT", "E2E"};
    for (int k = 0; k < 3; k++) {
        double x = e.mean_pred[k] / e.mean_meas[k] - 1;
        ck_assert_msg(fabs(x) <= 0.20, "Qwen3-32B with the Llama calibration: %s mean %+.1f%%", what[k], 100 * x);
    }
    free(res);
    ana_creq_data_free(&ds);
    ana_creq_data_free(&dd);
    sim_scenario_free(&src);
    sim_scenario_free(&dst);
}
END_TEST

static Suite *fidelity_suite(void)
{
    Suite *s = suite_create("fidelity");
    TCase *tc = tcase_create("vllm_runs");
    tcase_add_test(tc, test_rtxpro6000_llama8b);
    tcase_add_test(tc, test_rtxpro6000_qwen3_32b_tp2);
    tcase_add_test(tc, test_rtx4090_llama8b);
    tcase_add_test(tc, test_llama2_70b_a100_tp2_stable);
    tcase_add_test(tc, test_requests_calibration_transfers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(fidelity_suite());
}
