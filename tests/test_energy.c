/* Energy and carbon of self-hosted GPUs (the scenario's `energy` section,
 * sim_energy_cfg in llmsim/config.h).
 *
 * Closed form: constant arrivals at rate r (the k-th at k / r), a constant
 * service time s < 1 / r and round-robin replicas make the busy time exact,
 * N x s, and the makespan N / r + s (the last arrival plus its service), so
 * the facility energy is
 *
 *     E = pue x tp x (idle_w x replicas x makespan + (max_w - idle_w) x N x s) / 3.6e6 kWh,
 *
 * which the run must reproduce to rounding (relative 1e-12: a few hundred
 * additions of doubles).  The derived rows follow from E by definition:
 * $ = E x price, g = E x intensity, per 1k = 1000 x total / served
 * requests.  Billing the electricity (bill_electricity) must raise
 * cost_per_1k_usd by exactly the electricity per 1k requests and nothing
 * else; without an `energy` section no energy row exists.  The resolved
 * scenario prints the section and the GPU's power. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "testutil.h"

#define N_REQ 1000
#define RATE 2.0      /* requests/s */
#define SERVICE 0.3   /* s, below 1 / RATE: no request ever waits */
#define IDLE_W 61.7
#define MAX_W 412.5
#define TP 2
#define REPLICAS 2
#define PUE 1.23
#define PRICE 0.137   /* USD/kWh */
#define INTENSITY 389 /* g CO2/kWh */

static const char *const yaml_fmt =
    "name: energy-closed-form\n"
    "seed: 11\n"
    "horizon: {requests: %d}\n"
    "workload:\n"
    "  arrivals: {process: constant, rate_per_s: %g}\n"
    "  classes:\n"
    "    - name: job\n"
    "      prompt: [{segment: prompt, tokens: 100}]\n"
    "      output_tokens: 10\n"
    "deployments:\n"
    "  - name: server\n"
    "    kind: self-hosted\n"
    "    gpu: {name: lab-gpu, bf16_tflops: 100, memory_gib: 40, bandwidth_gbs: 1000, hour_usd: 1.5,\n"
    "          idle_w: %g, max_w: %g}\n"
    "    tp: %d\n"
    "    replicas: %d\n"
    "    replica_routing: round_robin\n"
    "    scheduler: {policy: none}\n"
    "    latency: {model: service_time, service_time_s: %g}\n"
    "%s";

static void load(struct sim_scenario *sc, const char *energy)
{
    char buf[4096];
    snprintf(buf, sizeof buf, yaml_fmt, N_REQ, RATE, IDLE_W, MAX_W, TP, REPLICAS, SERVICE, energy);
    tu_load_yaml(sc, buf, NULL, 0);
}

static const char *const energy_on = "energy: {pue: 1.23, electricity_usd_per_kwh: 0.137, grid_g_co2_per_kwh: 389}\n";

START_TEST(test_closed_form)
{
    struct sim_scenario sc;
    load(&sc, energy_on);
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    double makespan = N_REQ / RATE + SERVICE;
    double want = PUE * TP * (IDLE_W * REPLICAS * makespan + (MAX_W - IDLE_W) * N_REQ * SERVICE) / 3.6e6;
    const char *scopes[] = {"all", "deployment:server"};
    for (int k = 0; k < 2; k++) {
        double kwh = tu_metric(rows, n, scopes[k], "energy_kwh");
        ck_assert_msg(fabs(kwh - want) <= 1e-12 * want, "%s: energy %.17g kWh, closed form %.17g", scopes[k], kwh,
                      want);
        /* The run's own utilisation row gives the same busy share. */
        double u = tu_metric(rows, n, scopes[k], "utilization");
        ck_assert_double_eq_tol(u, N_REQ * SERVICE / (REPLICAS * makespan), 1e-12);
        double usd = tu_metric(rows, n, scopes[k], "energy_usd");
        double g = tu_metric(rows, n, scopes[k], "co2_g");
        ck_assert_double_eq_tol(usd, kwh * PRICE, 1e-12 * usd);
        ck_assert_double_eq_tol(g, kwh * INTENSITY, 1e-12 * g);
        ck_assert_double_eq_tol(tu_metric(rows, n, scopes[k], "energy_per_1k_kwh"), 1000 * kwh / N_REQ, 1e-12);
        ck_assert_double_eq_tol(tu_metric(rows, n, scopes[k], "co2_per_1k_g"), 1000 * g / N_REQ, 1e-9);
        /* Not billed by default: the cost line is zero. */
        ck_assert_double_eq(tu_metric(rows, n, scopes[k], "cost_energy_per_1k_usd"), 0.0);
    }
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

/* Billing adds the electricity to every cost figure, and only that. */
START_TEST(test_billing)
{
    struct sim_scenario plain, billed;
    load(&plain, energy_on);
    load(&billed, "energy: {pue: 1.23, electricity_usd_per_kwh: 0.137, grid_g_co2_per_kwh: 389, "
                  "bill_electricity: true}\n");
    struct ana_summary_row *r0, *r1;
    size_t n0, n1;
    tu_summarize(&plain, NULL, &r0, &n0);
    tu_summarize(&billed, NULL, &r1, &n1);
    ck_assert_uint_eq(n0, n1);
    const char *scopes[] = {"all", "class:job", "deployment:server"};
    for (int k = 0; k < 3; k++) {
        double e1k = 1000 * tu_metric(r1, n1, "all", "energy_usd") / N_REQ; /* one deployment: all of it */
        double c0 = tu_metric(r0, n0, scopes[k], "cost_per_1k_usd");
        double c1 = tu_metric(r1, n1, scopes[k], "cost_per_1k_usd");
        ck_assert_msg(fabs(c1 - c0 - e1k) <= 1e-12 * c1, "%s: cost %.17g -> %.17g, electricity %.17g per 1k",
                      scopes[k], c0, c1, e1k);
        ck_assert_double_eq_tol(tu_metric(r1, n1, scopes[k], "cost_energy_per_1k_usd"), e1k, 1e-12 * e1k);
        ck_assert_double_eq(tu_metric(r1, n1, scopes[k], "cost_gpu_per_1k_usd"),
                            tu_metric(r0, n0, scopes[k], "cost_gpu_per_1k_usd"));
    }
    free(r0);
    free(r1);
    sim_scenario_free(&plain);
    sim_scenario_free(&billed);
}
END_TEST

/* No `energy` section: no energy row at all (older results keep their rows). */
START_TEST(test_off_without_section)
{
    struct sim_scenario sc;
    load(&sc, "");
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&sc, NULL, &rows, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(rows[i].metric, "energy") == NULL && strstr(rows[i].metric, "co2") == NULL,
                      "row %s %s without an energy section", rows[i].scope, rows[i].metric);
    free(rows);
    sim_scenario_free(&sc);
}
END_TEST

/* `energy:` alone takes the documented defaults; the resolved scenario
 * prints the section and the GPU's power. */
START_TEST(test_defaults_and_resolved)
{
    struct sim_scenario sc;
    load(&sc, "energy:\n");
    ck_assert_int_eq(sc.energy.enabled, 1);
    ck_assert_double_eq(sc.energy.pue, SIM_ENERGY_DEFAULT_PUE);
    ck_assert_double_eq(sc.energy.usd_per_kwh, SIM_ENERGY_DEFAULT_USD_PER_KWH);
    ck_assert_double_eq(sc.energy.g_co2_per_kwh, SIM_ENERGY_DEFAULT_G_CO2_PER_KWH);
    ck_assert_int_eq(sc.energy.bill, 0);
    char *text = scn_resolved_yaml(&sc);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "energy: {pue: 1.1000000000000001, electricity_usd_per_kwh: "));
    ck_assert_ptr_nonnull(strstr(text, "bill_electricity: false}"));
    ck_assert_ptr_nonnull(strstr(text, "idle_w: 61.700000000000003, max_w: 412.5"));
    /* The resolved text loads back to the same section. */
    struct sim_scenario again;
    tu_load_yaml(&again, text, NULL, 0);
    ck_assert_int_eq(again.energy.enabled, 1);
    ck_assert_double_eq(again.energy.pue, sc.energy.pue);
    ck_assert_double_eq(again.deployments[0].roofline.gpu.idle_w, IDLE_W);
    free(text);
    sim_scenario_free(&again);
    sim_scenario_free(&sc);
}
END_TEST

/* Every catalog GPU carries its power, idle below maximum. */
START_TEST(test_catalog_power)
{
    const char *ids[] = {"a100-40gb", "a100-80gb", "h100-sxm", "h200", "b200", "l4", "l40s", "mi300x",
                         "rtx-4090", "rtx-pro-6000"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        const struct mdl_gpu *g = scn_gpu_lookup(ids[i], NULL);
        ck_assert_ptr_nonnull(g);
        ck_assert_msg(g->idle_w > 0 && g->max_w > g->idle_w, "%s: idle %g W, max %g W", ids[i], g->idle_w,
                      g->max_w);
    }
    ck_assert_double_eq(scn_gpu_lookup("h100-sxm", NULL)->max_w, 700);
}
END_TEST

static Suite *energy_suite(void)
{
    Suite *s = suite_create("energy");
    TCase *tc = tcase_create("energy");
    tcase_add_test(tc, test_closed_form);
    tcase_add_test(tc, test_billing);
    tcase_add_test(tc, test_off_without_section);
    tcase_add_test(tc, test_defaults_and_resolved);
    tcase_add_test(tc, test_catalog_power);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(energy_suite());
}
