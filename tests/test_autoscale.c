/* Autoscaling of self-hosted deployments (sim/src/world_scale.c): the
 * scale-up delay, the scale-in cooldown replayed from the records, billing
 * as provisioned, and min == max giving a static deployment's results.
 *
 * The load step comes from an Azure-format trace written by the test
 * (seconds, prompt tokens, output tokens), so no arrival process beyond the
 * existing trace replay is needed.  Service is one request at a time per
 * replica for exactly 1 s (service_time latency), which makes every busy
 * interval known from the request records: the test recomputes what the
 * autoscaler saw instead of trusting what it reports. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

/* Trace: one request every 1 / rate s in each phase [t0, t1). */
static void write_trace(const char *path)
{
    static const double phase[][3] = {{0, 300, 0.5}, {300, 900, 3.0}, {900, 2400, 0.5}};
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("TIMESTAMP,ContextTokens,GeneratedTokens\n", f);
    for (int p = 0; p < 3; p++)
        for (double t = phase[p][0]; t < phase[p][1] - 1e-9; t += 1.0 / phase[p][2])
            fprintf(f, "%.6f,100,10\n", t);
    fclose(f);
}

/* Provisioning 30 s + 10 GB at 2 GB/s = 35 s. */
#define SCENARIO_FMT \
    "name: step\n" \
    "horizon: {warmup_s: 0}\n" \
    "workload:\n" \
    "  trace: {path: %s, format: azure-2023}\n" \
    "deployments:\n" \
    "  - name: pool\n" \
    "    kind: self-hosted\n" \
    "    tp: 2\n" \
    "    gpu_hour_usd: 2.385\n" \
    "    replica_routing: least_loaded\n" \
    "    scheduler: {policy: none}\n" \
    "    latency: {model: service_time, service_time_s: 1.0}\n" \
    "    autoscale: {min: 1, max: 6, target_utilization: 0.6, interval_s: 10, scale_in_cooldown_s: 60,\n" \
    "                provision_s: 30, load_bandwidth_gbs: 2, weights_gb: 10}\n" \
    "output: {timeseries_interval_s: 0}\n"

/* One run of the step scenario, with what its sink kept. */
struct step {
    struct sim_scenario sc;
    struct tu_log l;
    struct sim_world_stats ws;
    struct sim_deployment_stats ds;
    char *dir; /* holds the trace */
};

static void step_run(struct step *r)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_tmpdir();
    char trace[1024], yaml[4096];
    snprintf(trace, sizeof trace, "%s/step.csv", r->dir);
    write_trace(trace);
    snprintf(yaml, sizeof yaml, SCENARIO_FMT, trace);
    tu_load_yaml(&r->sc, yaml, NULL, 0);
    ck_assert_double_eq_tol(r->sc.deployments[0].autoscale.delay_s, 35.0, 1e-12);
    r->l.keep_requests = 1;
    struct sim_sink sink;
    tu_log_sink(&r->l, &sink);
    tu_run_world(&r->sc, &sink, &r->ws, &r->ds);
}

static void step_free(struct step *r)
{
    sim_scenario_free(&r->sc);
    tu_log_free(&r->l);
    tu_remove_dir(r->dir);
}

/* Busy seconds of replica j within (a, b] from the records (service [start, done]). */
static double busy_in(const struct tu_log *l, int j, double a, double b)
{
    double s = 0;
    for (size_t i = 0; i < l->n_req; i++) {
        const struct sim_request_record *r = &l->req[i];
        if (r->replica != j)
            continue;
        double lo = r->prefill_start_s > a ? r->prefill_start_s : a;
        double hi = r->done_s < b ? r->done_s : b;
        if (hi > lo)
            s += hi - lo;
    }
    return s;
}

/* The time replica j turned ready / was drained at or before t (its latest
 * life), or NAN. */
static double last_event(const struct tu_log *l, int j, int ev, double t)
{
    double at = NAN;
    for (size_t i = 0; i < l->n_sc; i++)
        if (l->sc[i].replica == j && l->sc[i].event == ev && l->sc[i].t_s <= t)
            at = l->sc[i].t_s;
    return at;
}

/* A step from 0.5 to 3 requests/s at 300 s: the first evaluation after it
 * (310 s) sees the one replica busy all along (utilisation 1 against a target
 * of 0.6, wanting ceil(1 / 0.6) = 2) and provisions; every replica turns
 * ready exactly provisioning + weights / bandwidth = 35 s after its decision.
 * Then the test replays the utilisation rule on the records at every
 * evaluation: scale-ups where it wants more, scale-ins exactly
 * scale_in_cooldown_s after the first of a run of evaluations wanting fewer
 * (once during the peak, when 6 replicas at 3/6 = 0.5 want 5, and again
 * after the drop at 900 s), and nothing anywhere else. */
START_TEST(step_scales_up_after_delay_and_in_after_cooldown)
{
    struct step r;
    step_run(&r);
    ck_assert_uint_eq(r.ws.completed, 150 + 1800 + 750);

    /* Before the step nothing changes: one replica at utilisation 0.5 is
     * outside the tolerance band (0.5 / 0.6 = 0.83), but ceil(1 x 0.83) = 1
     * is the count already. */
    double first_prov = NAN, first_drain = NAN;
    int n_ready = 0;
    for (size_t i = 0; i < r.l.n_sc; i++) {
        const struct sim_scale_record *s = &r.l.sc[i];
        if (s->event == SIM_SCALE_PROVISION && s->t_s > 0 && isnan(first_prov))
            first_prov = s->t_s;
        if (s->event == SIM_SCALE_DRAIN && isnan(first_drain))
            first_drain = s->t_s;
        if (s->event == SIM_SCALE_READY && s->decided_s > 0) {
            n_ready++;
            ck_assert_double_eq_tol(s->t_s - s->decided_s, 35.0, 1e-9);
            ck_assert_double_eq(s->decided_s, last_event(&r.l, s->replica, SIM_SCALE_PROVISION, s->t_s));
        }
    }
    ck_assert_double_eq(first_prov, 310.0);
    ck_assert_int_ge(n_ready, 3); /* 3 requests/s need at least 3 one-request replicas */
    ck_assert_uint_eq(r.ds.scale_ups, (uint64_t)n_ready);
    ck_assert(!isnan(first_drain));

    /* Replay of every evaluation t = 10 k up to the end: over the replicas
     * ready at t (from the records), utilisation = busy / ready seconds in
     * (t - 10, t]; the want is ceil(n x utilisation / 0.6), the count kept
     * when within 10% of the target, clamped to [1, 6].  Up: the records
     * must show want - current provisions at t.  In: once every evaluation
     * since below_since wanted fewer and 60 s have passed, the records must
     * show current - (largest of those wants) drains at t; and at no other
     * evaluation. */
    const double dt = 10.0, target = 0.6, tol = 0.1, cooldown = 60.0;
    double below_since = NAN, last_drain_window = NAN;
    int below_max = 0, n_drains = 0, n_provs = 0;
    double end = r.l.sc[r.l.n_sc - 1].t_s + dt;
    for (double t = dt; t <= end; t += dt) {
        double busy = 0, avail = 0;
        int n_live = 0, n_starting = 0;
        for (int j = 0; j < 6; j++) {
            /* state just before the evaluation's own actions */
            double pv = last_event(&r.l, j, SIM_SCALE_PROVISION, t - 1e-9);
            double rd = last_event(&r.l, j, SIM_SCALE_READY, t - 1e-9);
            double dr = last_event(&r.l, j, SIM_SCALE_DRAIN, t - 1e-9);
            if (isnan(pv) || (!isnan(dr) && dr >= pv))
                continue; /* off or draining */
            if (isnan(rd) || rd < pv) {
                n_starting++;
                continue;
            }
            n_live++;
            double from = rd > t - dt ? rd : t - dt;
            busy += busy_in(&r.l, j, from, t);
            avail += t - from;
        }
        double ratio = busy / avail / target;
        int current = n_live + n_starting;
        int want = fabs(ratio - 1) <= tol ? current : (int)ceil(n_live * ratio - 1e-9);
        want = want < 1 ? 1 : want > 6 ? 6 : want;
        int provs = 0, drains = 0;
        for (size_t i = 0; i < r.l.n_sc; i++) {
            provs += r.l.sc[i].t_s == t && r.l.sc[i].event == SIM_SCALE_PROVISION;
            drains += r.l.sc[i].t_s == t && r.l.sc[i].event == SIM_SCALE_DRAIN;
        }
        if (want > current) {
            ck_assert_msg(provs == want - current, "t=%g: %d provisions, replay wants %d", t, provs, want - current);
            below_since = NAN;
        } else if (want < current && n_starting == 0) {
            ck_assert_int_eq(provs, 0);
            if (isnan(below_since)) {
                below_since = t;
                below_max = want;
            }
            below_max = want > below_max ? want : below_max;
            if (t - below_since >= cooldown - 1e-9) {
                ck_assert_msg(drains == current - below_max, "t=%g: %d drains, replay wants %d", t, drains,
                              current - below_max);
                ck_assert_double_eq_tol(t - below_since, cooldown, 1e-9); /* evaluations every 10 s */
                last_drain_window = below_since;
                below_since = NAN;
            } else {
                ck_assert_msg(drains == 0, "t=%g: drained before the cooldown ran out", t);
            }
        } else {
            ck_assert_int_eq(provs, 0);
            ck_assert_int_eq(drains, 0);
            below_since = NAN;
        }
        n_provs += provs;
        n_drains += drains;
    }
    ck_assert_int_eq(n_provs, n_ready);
    ck_assert_uint_eq(r.ds.scale_ins, (uint64_t)n_drains);
    /* The last scale-in came after the drop at 900 s, a cooldown after the
     * first evaluation of the run of evaluations that wanted fewer. */
    ck_assert_double_gt(last_drain_window, 900.0);
    /* The load fell back to 0.5/s, which one replica holds: every extra
     * replica is released by the end. */
    ck_assert_uint_eq(r.ds.scale_ins, r.ds.scale_ups);
    step_free(&r);
}
END_TEST

/* Billing: replica-seconds are the sum over every replica life of (release,
 * or the end of the run, minus the provisioning start); the GPU cost is that
 * x tp x gpu_hour_usd / 3600; requests never ran on a replica outside its
 * ready interval. */
START_TEST(billing_is_replica_seconds_provisioned)
{
    struct step r;
    step_run(&r);
    double sum = 0;
    for (size_t i = 0; i < r.l.n_sc; i++) {
        const struct sim_scale_record *s = &r.l.sc[i];
        if (s->event != SIM_SCALE_PROVISION)
            continue;
        double end = r.ws.makespan_s;
        for (size_t k = i + 1; k < r.l.n_sc; k++)
            if (r.l.sc[k].replica == s->replica && r.l.sc[k].event == SIM_SCALE_RELEASE) {
                end = r.l.sc[k].t_s;
                break;
            }
        ck_assert_double_ge(end, s->t_s);
        sum += end - s->t_s;
    }
    ck_assert_double_eq_tol(r.ds.provisioned_s, sum, 1e-9 * sum);
    ck_assert_double_eq_tol(r.ds.gpu_cost_usd, 2 * 2.385 * sum / 3600.0, 1e-9 * r.ds.gpu_cost_usd);
    /* Less than the peak count held all run long, more than one replica's. */
    ck_assert_double_lt(r.ds.provisioned_s, 6 * r.ws.makespan_s);
    ck_assert_double_gt(r.ds.provisioned_s, r.ws.makespan_s);
    for (size_t i = 0; i < r.l.n_req; i++) {
        const struct sim_request_record *q = &r.l.req[i];
        double rd = last_event(&r.l, q->replica, SIM_SCALE_READY, q->prefill_start_s);
        double dr = last_event(&r.l, q->replica, SIM_SCALE_DRAIN, q->dispatch_s);
        ck_assert(!isnan(rd) && rd <= q->dispatch_s);            /* routed only to a ready replica */
        ck_assert(isnan(dr) || dr < rd || dr > q->dispatch_s);   /* never to a draining one */
    }
    /* The summary's cost per hour is the provisioned cost over the run. */
    struct ana_summary_row *rows;
    size_t n;
    tu_summarize(&r.sc, NULL, &rows, &n);
    ck_assert_double_eq_tol(tu_metric(rows, n, "all", "cost_per_hour_usd"), 3600.0 * r.ds.gpu_cost_usd / r.ws.makespan_s,
                            1e-9 * r.ds.gpu_cost_usd);
    free(rows);
    step_free(&r);
}
END_TEST

static void same_summary(const char *yaml_static, const char *yaml_auto)
{
    struct sim_scenario a, b;
    tu_load_yaml(&a, yaml_static, NULL, 0);
    tu_load_yaml(&b, yaml_auto, NULL, 0);
    ck_assert(b.deployments[0].autoscale.enabled && !a.deployments[0].autoscale.enabled);
    struct ana_summary_row *ra, *rb;
    size_t na, nb;
    tu_summarize(&a, NULL, &ra, &na);
    tu_summarize(&b, NULL, &rb, &nb);
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(ra[i].scope, rb[i].scope);
        ck_assert_str_eq(ra[i].metric, rb[i].metric);
        ck_assert_uint_eq(ra[i].count, rb[i].count);
        /* bit for bit (NaN where both are NaN) */
        const double *x = &ra[i].mean, *y = &rb[i].mean;
        for (int k = 0; k < 5; k++)
            ck_assert_msg(memcmp(&x[k], &y[k], sizeof x[k]) == 0, "%s %s differs: %.17g vs %.17g", ra[i].scope,
                          ra[i].metric, x[k], y[k]);
    }
    free(ra);
    free(rb);
    sim_scenario_free(&a);
    sim_scenario_free(&b);
}

#define EQ_FMT \
    "name: eq\n" \
    "seed: 5\n" \
    "replications: 2\n" \
    "horizon: {duration_s: 400, warmup_s: 30}\n" \
    "workload:\n" \
    "  arrivals: {process: poisson, rate_per_s: %s}\n" \
    "  classes:\n" \
    "    - name: chat\n" \
    "      prompt: [{segment: q, tokens: {dist: lognormal, mean: 400, cv: 0.8}}]\n" \
    "      output_tokens: {dist: lognormal, mean: 120, cv: 0.7}\n" \
    "deployments:\n" \
    "  - name: pool\n" \
    "    kind: self-hosted\n" \
    "    replicas: 3\n" \
    "    gpu_hour_usd: 1.7\n" \
    "    replica_routing: %s\n" \
    "%s" \
    "%s"

/* With min == max the autoscaler evaluates but can change nothing: results
 * equal the static deployment's exactly, for random routing (draws from the
 * routable list), power of two, and continuous batching. */
START_TEST(min_equals_max_is_static)
{
    static const char *none = "    scheduler: {policy: none}\n"
                              "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.9}}\n";
    static const char *cont = "    scheduler: {policy: continuous, max_batch: 16}\n"
                              "    kv_capacity_tokens: 20000\n"
                              "    latency: {model: linear, prefill_s: {a: 0.01, b: 1.0e-4}, "
                              "decode_step_s: {a: 0.012, b_batch: 4.0e-4}}\n";
    static const char *as = "    autoscale: {min: 3, max: 3, target_utilization: 0.5, interval_s: 7, "
                            "scale_in_cooldown_s: 0, cold_start_s: 40}\n";
    const char *cases[][3] = {{"2.7", "random", none}, {"2.7", "power_of_two", none}, {"9", "least_kv", cont}};
    for (size_t i = 0; i < 3; i++) {
        char ys[2048], ya[2048];
        snprintf(ys, sizeof ys, EQ_FMT, cases[i][0], cases[i][1], cases[i][2], "");
        snprintf(ya, sizeof ya, EQ_FMT, cases[i][0], cases[i][1], cases[i][2], as);
        same_summary(ys, ya);
    }
}
END_TEST

/* The resolved scenario prints the autoscaler and reloads to the same delay. */
START_TEST(resolved_prints_autoscale)
{
    struct sim_scenario sc;
    tu_load_yaml(&sc,
                 "name: r\nhorizon: {duration_s: 10}\n"
                 "workload: {arrivals: {process: poisson, rate_per_s: 1}, classes: [{name: c, prompt: [{segment: q, "
                 "tokens: 10}], output_tokens: 5}]}\n"
                 "deployments:\n"
                 "  - {name: d, kind: self-hosted, model: llama-3.1-8b, gpu: h100-sxm, replicas: 2,\n"
                 "     autoscale: {min: 1, max: 4, policy: queue, target_queue: 3}}\n",
                 NULL, 0);
    const struct sim_autoscale_cfg *as = &sc.deployments[0].autoscale;
    /* Llama-3.1-8B bf16 weights over 2 GB/s after 120 s of provisioning. */
    ck_assert_double_gt(as->weights_gb, 15.0);
    ck_assert_double_lt(as->weights_gb, 17.0);
    ck_assert_double_eq_tol(as->delay_s, 120.0 + as->weights_gb / 2.0, 1e-12);
    ck_assert_int_eq(as->policy, SIM_AS_QUEUE);
    char *text = scn_resolved_yaml(&sc);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "autoscale: {min: 1, max: 4, policy: queue, target_queue: 3,"));
    struct sim_scenario again;
    tu_load_yaml(&again, text, NULL, 0);
    ck_assert_double_eq(again.deployments[0].autoscale.delay_s, as->delay_s);
    ck_assert_int_eq(again.deployments[0].replicas, 2);
    free(text);
    sim_scenario_free(&again);
    sim_scenario_free(&sc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("autoscale");
    TCase *tc = tcase_create("autoscale");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, step_scales_up_after_delay_and_in_after_cooldown);
    tcase_add_test(tc, billing_is_replica_seconds_provisioned);
    tcase_add_test(tc, min_equals_max_is_static);
    tcase_add_test(tc, resolved_prints_autoscale);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
