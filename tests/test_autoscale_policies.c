/* Autoscaling (sim/src/world_scale.c) on a diurnal day against static peak
 * provisioning, and the kv and slo policies each scaling up under a load
 * that lifts its metric above the target and not under one that does not.
 *
 * Service is one request at a time per replica for exactly S seconds
 * (service_time latency, scheduler none) in the diurnal and slo cases, so
 * the busy time of the fleet is N x S exactly and the offered load of each
 * hour is known from the profile; the kv case needs KV memory, so it runs
 * continuous batching with the roofline model and a small KV capacity. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* Runs yaml, keeping its scale records and counting its requests in *l
 * (emptied first). */
static void run(const char *yaml, struct tu_log *l, struct sim_world_stats *ws,
                struct sim_deployment_stats *ds)
{
    struct sim_scenario sc;
    tu_log_free(l);
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct sim_sink sink;
    tu_log_sink(l, &sink);
    tu_run_world(&sc, &sink, ws, ds);
    sim_scenario_free(&sc);
}

/* Replica-seconds billed within [a, b): each PROVISION record opens a
 * billed life that the replica's next RELEASE (or the end) closes. */
static double billed_in(const struct tu_log *l, double a, double b, double end)
{
    double s = 0;
    for (size_t i = 0; i < l->n_sc; i++) {
        if (l->sc[i].event != SIM_SCALE_PROVISION)
            continue;
        double lo = l->sc[i].t_s, hi = end;
        for (size_t k = i + 1; k < l->n_sc; k++)
            if (l->sc[k].replica == l->sc[i].replica &&
                (l->sc[k].event == SIM_SCALE_RELEASE || l->sc[k].event == SIM_SCALE_INTERRUPT)) {
                hi = l->sc[k].t_s;
                break;
            }
        lo = lo > a ? lo : a;
        hi = hi < b ? hi : b;
        if (hi > lo)
            s += hi - lo;
    }
    return s;
}

/* A day: a raised cosine between 0.2 and 2 requests/s peaking at 14:00
 * (docs/scenario-reference.md, diurnal), S = 2 s per request.  Offered load
 * lambda(h) S: 4 Erlangs at the peak, 0.4 at the trough (02:00).  A static
 * fleet for the peak needs c with 4 / c < 1 and a waiting probability that
 * keeps queues short: c = 6 (rho 0.67, Erlang C about 0.2). */
#define DAY_FMT \
    "name: day\n" \
    "seed: 5\n" \
    "horizon: {duration_s: 86400, warmup_s: 0}\n" \
    "workload:\n" \
    "  arrivals: {process: diurnal, profile: {peak_per_s: 2.0, trough_per_s: 0.2, peak_hour: 14}}\n" \
    "  classes: [{name: c, prompt: [{segment: p, tokens: 100}], output_tokens: 10}]\n" \
    "deployments:\n" \
    "  - name: pool\n" \
    "    kind: self-hosted\n" \
    "    gpu_hour_usd: 2.0\n" \
    "    replica_routing: least_loaded\n" \
    "    scheduler: {policy: none}\n" \
    "    latency: {model: service_time, service_time_s: 2.0}\n" \
    "    %s\n" \
    "output: {timeseries_interval_s: 0}\n"

START_TEST(diurnal_day_costs_less_than_static_peak)
{
    char yaml[4096];
    struct tu_log logs[2] = {{0}, {0}}, *st = &logs[0], *au = &logs[1];
    struct sim_world_stats wss, wsa;
    struct sim_deployment_stats dss, dsa;
    snprintf(yaml, sizeof yaml, DAY_FMT, "replicas: 6");
    run(yaml, st, &wss, &dss);
    snprintf(yaml, sizeof yaml, DAY_FMT,
             "autoscale: {min: 1, max: 8, target_utilization: 0.6, interval_s: 60, "
             "scale_in_cooldown_s: 300, provision_s: 60, load_bandwidth_gbs: 2, weights_gb: 2}");
    run(yaml, au, &wsa, &dsa);
    /* Same arrivals (same seed, same stream), all served. */
    ck_assert_uint_eq(st->n_req, au->n_req);
    double work = 2.0 * (double)au->n_req; /* replica-seconds of service, exactly */
    /* Static: six replicas billed the whole run. */
    ck_assert_double_eq_tol(dss.provisioned_s, 6 * wss.makespan_s, 1e-9 * dss.provisioned_s);
    /* The autoscaled fleet costs less ... */
    ck_assert_double_lt(dsa.gpu_cost_usd, dss.gpu_cost_usd);
    /* ... but cannot bill less than the service it gave (a replica serves
     * one request at a time, only while billed) nor below its floor of
     * min = 1 replica: the saving is at most 1 - max(N S, T) / (6 T), about
     * 1 - (1.1 x 2) / 6 = 63% for this profile's mean rate of 1.1/s. */
    ck_assert_double_ge(dsa.provisioned_s, work);
    ck_assert_double_ge(dsa.provisioned_s, wsa.makespan_s - 1e-6);
    double saving = 1 - dsa.gpu_cost_usd / dss.gpu_cost_usd;
    double bound = 1 - fmax(work, wsa.makespan_s) / (6 * wss.makespan_s);
    ck_assert_double_le(saving, bound + 1e-12);
    /* The billed replicas follow the profile: four hours around the peak
     * (12:00-16:00, load 3.5 to 4 Erlangs, about 6-7 replicas wanted at a
     * 0.6 target) hold far more replica-seconds than four around the
     * trough (00:00-04:00, 0.4 to 0.6 Erlangs: the floor of one replica
     * suffices).  A factor of three leaves room for the cold starts and the
     * cooldown (a fleet that did not follow the load would have 1). */
    double peak = billed_in(au, 12 * 3600.0, 16 * 3600.0, wsa.makespan_s);
    double trough = billed_in(au, 0, 4 * 3600.0, wsa.makespan_s);
    ck_assert_msg(peak > 3 * trough, "peak hours %g, trough hours %g replica-seconds", peak, trough);
    ck_assert_uint_gt(dsa.scale_ups, 0);
    tu_log_free(st);
    tu_log_free(au);
}
END_TEST

/* One replica with exactly S = 0.2 s per request; the slo policy wants the
 * mean TTFT of the last interval at 500 ms.  With scheduler none the first
 * token comes when service ends, so TTFT = wait + 0.2 s.  At 0.5/s (rho
 * 0.1, M/D/1 mean wait rho S / (2 (1 - rho)) = 11 ms) the mean TTFT is
 * about 0.21 s, well inside the target and its 10% tolerance: no scale-up.
 * At 8/s (rho 1.6) the queue grows without bound on one replica: TTFT
 * passes the target within the first intervals and the fleet must grow to
 * at least ceil(8 x 0.2 / 1) = 2 replicas to be stable. */
#define SLO_FMT \
    "name: slo\n" \
    "seed: 9\n" \
    "horizon: {duration_s: 1200, warmup_s: 0}\n" \
    "workload:\n" \
    "  arrivals: {process: poisson, rate_per_s: %g}\n" \
    "  classes: [{name: c, prompt: [{segment: p, tokens: 100}], output_tokens: 10}]\n" \
    "deployments:\n" \
    "  - name: pool\n" \
    "    kind: self-hosted\n" \
    "    gpu_hour_usd: 2.0\n" \
    "    replica_routing: least_loaded\n" \
    "    scheduler: {policy: none}\n" \
    "    latency: {model: service_time, service_time_s: 0.2}\n" \
    "    autoscale: {min: 1, max: 6, policy: slo, target_ttft_ms: 500, interval_s: 15,\n" \
    "                scale_in_cooldown_s: 120, cold_start_s: 30}\n" \
    "output: {timeseries_interval_s: 0}\n"

/* The most replicas billed at once. */
static int most_billed(const struct tu_log *l, int start)
{
    int n = start, most = start;
    for (size_t i = 0; i < l->n_sc; i++) {
        if (l->sc[i].event == SIM_SCALE_PROVISION && l->sc[i].t_s > 0)
            n++;
        else if (l->sc[i].event == SIM_SCALE_RELEASE)
            n--;
        most = n > most ? n : most;
    }
    return most;
}

/* The scenario `light` never scales up; `heavy` (the same at a higher
 * arrival rate) does, to two replicas or more. */
static void scales_only_under_load(const char *light, const char *heavy)
{
    struct tu_log log = {0}, *l = &log;
    struct sim_world_stats ws;
    struct sim_deployment_stats ds;
    run(light, l, &ws, &ds);
    ck_assert_uint_eq(ds.scale_ups, 0);
    run(heavy, l, &ws, &ds);
    ck_assert_uint_gt(ds.scale_ups, 0);
    ck_assert_int_ge(most_billed(l, 1), 2);
    tu_log_free(l);
}

START_TEST(slo_policy_follows_ttft)
{
    char light[4096], heavy[4096];
    snprintf(light, sizeof light, SLO_FMT, 0.5);
    snprintf(heavy, sizeof heavy, SLO_FMT, 8.0);
    scales_only_under_load(light, heavy);
}
END_TEST

/* Continuous batching on one H100 with Llama-3.1-8B and a KV capacity of
 * 16,384 tokens; requests of 2,000 prompt and 200 output tokens hold up to
 * 2,200 tokens each, so 7 in flight fill it.  The kv policy wants 50% use.
 * At 0.1/s a request takes well under a second (roofline step times of
 * milliseconds), so on average far less than one request is in flight:
 * KV use stays near 0 and nothing scales.  At 40/s the replica cannot keep
 * up with 80,000 prompt tokens a second in 16K tokens of KV: it holds as
 * many requests as fit, KV use stays near 1 > 0.5 x 1.1, and it scales. */
#define KV_FMT \
    "name: kv\n" \
    "seed: 3\n" \
    "horizon: {duration_s: 600, warmup_s: 0}\n" \
    "workload:\n" \
    "  arrivals: {process: poisson, rate_per_s: %g}\n" \
    "  classes: [{name: c, prompt: [{segment: p, tokens: 2000}], output_tokens: 200}]\n" \
    "deployments:\n" \
    "  - name: pool\n" \
    "    kind: self-hosted\n" \
    "    model: llama-3.1-8b\n" \
    "    gpu: h100-sxm\n" \
    "    kv_capacity_tokens: 16384\n" \
    "    scheduler: {policy: continuous, max_batch: 64, max_batched_tokens: 4096, chunked_prefill: true}\n" \
    "    replica_routing: least_loaded\n" \
    "    autoscale: {min: 1, max: 4, policy: kv, target_kv: 0.5, interval_s: 15,\n" \
    "                scale_in_cooldown_s: 120, cold_start_s: 30}\n" \
    "output: {timeseries_interval_s: 0}\n"

START_TEST(kv_policy_follows_kv_use)
{
    char light[4096], heavy[4096];
    snprintf(light, sizeof light, KV_FMT, 0.1);
    snprintf(heavy, sizeof heavy, KV_FMT, 40.0);
    scales_only_under_load(light, heavy);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("autoscale_policies");
    TCase *tc = tcase_create("policies");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, diurnal_day_costs_less_than_static_peak);
    tcase_add_test(tc, slo_policy_follows_ttft);
    tcase_add_test(tc, kv_policy_follows_kv_use);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
