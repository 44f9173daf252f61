/* Spot capacity of self-hosted deployments (sim/src/world_scale.c):
 * interruptions at a known rate against their Poisson bound, conservation
 * of the requests an interruption sends back (each completes exactly once,
 * flagged), billing at the discounted price recomputed from the scaling
 * records, the replacement's cold start, a rate of 0 giving an on-demand
 * deployment at the discounted price, and a spot/on-demand mix under
 * continuous batching with listed interruptions, and the queues of
 * scheduler.order drained by an interruption with admission decisions
 * kept. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

struct run {
    struct sim_scenario sc;
    struct tu_log l;
    struct sim_world_stats ws;
    struct sim_deployment_stats ds;
};

static void run_yaml(struct run *r, const char *yaml)
{
    memset(r, 0, sizeof *r);
    tu_load_yaml(&r->sc, yaml, NULL, 0);
    r->l.keep_requests = 1;
    struct sim_sink sink;
    tu_log_sink(&r->l, &sink);
    tu_run_world(&r->sc, &sink, &r->ws, &r->ds);
}

static void run_free(struct run *r)
{
    sim_scenario_free(&r->sc);
    tu_log_free(&r->l);
}

/* Every arrival finished exactly once: ids 0..n-1 each seen once. */
static void check_conservation(const struct run *r)
{
    ck_assert_uint_eq(r->ws.completed, r->ws.arrivals);
    ck_assert_uint_eq(r->l.n_req, r->ws.arrivals);
    unsigned char *seen = calloc(r->l.n_req, 1);
    ck_assert_ptr_nonnull(seen);
    for (size_t i = 0; i < r->l.n_req; i++) {
        ck_assert_uint_lt(r->l.req[i].id, r->l.n_req);
        ck_assert_int_eq(seen[r->l.req[i].id], 0);
        seen[r->l.req[i].id] = 1;
    }
    free(seen);
}

/* Spot replica-seconds recomputed from the records: each spot slot is
 * billed from time 0 or its replacement's PROVISION to its INTERRUPT or the
 * end of the run.  Also checks every replacement turns ready delay_s after
 * its provisioning and is provisioned acquire_s after the interruption. */
static double spot_seconds(const struct run *r, int first_spot, int n, double delay_s, double acquire_s)
{
    double total = 0;
    for (int j = first_spot; j < n; j++) {
        double since = 0, last_intr = -1;
        int on = 1;
        for (size_t k = 0; k < r->l.n_sc; k++) {
            const struct sim_scale_record *s = &r->l.sc[k];
            if (s->replica != j)
                continue;
            if (s->event == SIM_SCALE_INTERRUPT) {
                ck_assert(on);
                total += s->t_s - since;
                last_intr = s->t_s;
                on = 0;
            } else if (s->event == SIM_SCALE_PROVISION) {
                ck_assert(!on);
                ck_assert_double_eq_tol(s->t_s - last_intr, acquire_s, 1e-9);
                since = s->t_s;
                on = 1;
            } else if (s->event == SIM_SCALE_READY) {
                ck_assert_double_eq_tol(s->t_s - since, delay_s, 1e-9);
            }
        }
        if (on)
            total += r->ws.makespan_s - since;
    }
    return total;
}

#define M_SCN(SPOT, PRICE)                                                                          \
    "name: spot\n"                                                                                  \
    "seed: 41\n"                                                                                    \
    "horizon: {duration_s: 72000, warmup_s: 0}\n"                                                   \
    "workload:\n"                                                                                   \
    "  arrivals: {process: poisson, rate_per_s: 1.5}\n"                                             \
    "  classes:\n"                                                                                  \
    "    - {name: job, prompt: [{segment: p, tokens: 100}], output_tokens: 10}\n"                   \
    "deployments:\n"                                                                                \
    "  - name: pool\n"                                                                              \
    "    kind: self-hosted\n"                                                                       \
    "    replicas: 4\n"                                                                             \
    "    tp: 2\n"                                                                                   \
    "    gpu_hour_usd: " PRICE "\n"                                                                 \
    "    scheduler: {policy: none}\n"                                                               \
    "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.9}}\n" SPOT    \
    "output: {timeseries_interval_s: 0}\n"

/* 4 spot replicas for 20 h at 3 interruptions per replica-hour: about 240.
 * N - rate x T (T the billed spot replica-hours) is a martingale whose
 * variance at the end is rate x E[T], so N lies within 4 standard
 * deviations, 4 sqrt(rate T), of rate T except with probability 6e-5
 * (normal approximation, good at a mean of 240). */
START_TEST(test_rate_conservation_billing)
{
    struct run r;
    run_yaml(&r, M_SCN("    spot: {discount: 0.65, rate_per_h: 3, cold_start_s: 95.5, acquire_s: 12.25}\n", "2.385"));
    const struct sim_spot_cfg *sp = &r.sc.deployments[0].spot;
    ck_assert_int_eq(sp->n_spot, 4);
    double T_h = r.ds.spot_provisioned_s / 3600.0;
    double mean = 3.0 * T_h;
    ck_assert_msg(fabs((double)r.ds.interruptions - mean) <= 4.0 * sqrt(mean), "%llu interruptions in %.3f "
                  "spot replica-hours, expected %.1f", (unsigned long long)r.ds.interruptions, T_h, mean);
    ck_assert_uint_gt(r.ds.interruptions, 100);
    /* Every slot billed except while waiting acquire_s for a replacement. */
    ck_assert_double_eq_tol(r.ds.spot_provisioned_s, 4 * r.ws.makespan_s - 12.25 * (double)r.ds.interruptions,
                            1e-6 * r.ds.spot_provisioned_s);
    check_conservation(&r);
    size_t flagged = 0;
    for (size_t i = 0; i < r.l.n_req; i++)
        flagged += (r.l.req[i].flags & SIM_RF_REQUEUED) != 0;
    ck_assert_uint_gt(flagged, 0);
    ck_assert_uint_le(flagged, r.ds.requeued);
    /* Billing: the discounted price x the spot replica-seconds, recomputed. */
    double secs = spot_seconds(&r, 0, 4, 95.5, 12.25);
    ck_assert_double_eq_tol(r.ds.spot_provisioned_s, secs, 1e-9 * secs);
    ck_assert_double_eq_tol(r.ds.provisioned_s, secs, 1e-9 * secs);
    double price = 2 * 2.385 * (1 - 0.65) / 3600.0;
    ck_assert_double_eq_tol(r.ds.gpu_cost_usd, price * secs, 1e-9 * price * secs);
    run_free(&r);
}
END_TEST

/* Rate 0: the same answers as on-demand replicas at the discounted price. */
START_TEST(test_rate_zero_is_discounted_on_demand)
{
    struct run a, b;
    run_yaml(&a, M_SCN("    spot: {discount: 0.4, rate_per_h: 0, cold_start_s: 60}\n", "2.5"));
    run_yaml(&b, M_SCN("", "1.5"));
    ck_assert_uint_eq(a.ds.interruptions, 0);
    ck_assert_uint_eq(a.l.n_req, b.l.n_req);
    for (size_t i = 0; i < a.l.n_req; i++) {
        struct sim_request_record x = a.l.req[i], y = b.l.req[i];
        ck_assert_double_eq_tol(x.cost_gpu_usd, y.cost_gpu_usd, 1e-12 * y.cost_gpu_usd + 1e-18);
        x.cost_gpu_usd = y.cost_gpu_usd = 0;
        x.cost_nocache_usd = y.cost_nocache_usd = 0;
        ck_assert(memcmp(&x, &y, sizeof x) == 0);
    }
    ck_assert_double_eq_tol(a.ds.gpu_cost_usd, b.ds.gpu_cost_usd, 1e-12 * b.ds.gpu_cost_usd);
    ck_assert_double_eq(a.ds.provisioned_s, b.ds.provisioned_s);
    run_free(&a);
    run_free(&b);
}
END_TEST

/* Continuous batching, one on-demand and one spot replica, interrupted at
 * listed times while it holds running and queued requests. */
#define B_SCN                                                                                          \
    "name: spotb\n"                                                                                    \
    "seed: 5\n"                                                                                        \
    "horizon: {duration_s: 900, warmup_s: 0}\n"                                                        \
    "workload:\n"                                                                                      \
    "  arrivals: {process: poisson, rate_per_s: 6}\n"                                                  \
    "  classes:\n"                                                                                     \
    "    - {name: chat, prompt: [{segment: p, tokens: {dist: lognormal, mean: 800, cv: 0.5}}],\n"    \
    "       output_tokens: {dist: lognormal, mean: 200, cv: 0.5}}\n"                                   \
    "deployments:\n"                                                                                   \
    "  - name: pool\n"                                                                                 \
    "    kind: self-hosted\n"                                                                          \
    "    model: llama-3.1-8b\n"                                                                        \
    "    gpu: h100-sxm\n"                                                                              \
    "    replicas: 2\n"                                                                                \
    "    gpu_hour_usd: 3.1\n"                                                                          \
    "    scheduler: {policy: continuous, max_batch: 64, max_batched_tokens: 4096, chunked_prefill: true}\n" \
    "    replica_routing: least_loaded\n"                                                              \
    "    spot: {share: 0.5, discount: 0.7, interruptions: [{t_s: 200, replica: 1}, {t_s: 210, replica: 1},\n" \
    "           {t_s: 500.5, replica: 1}], cold_start_s: 60}\n"                                        \
    "output: {timeseries_interval_s: 0}\n"

START_TEST(test_batching_mix)
{
    struct run r;
    run_yaml(&r, B_SCN);
    /* 210 falls inside the replacement's cold start: it interrupts the starting replica too */
    ck_assert_uint_eq(r.ds.interruptions, 3);
    check_conservation(&r);
    size_t flagged = 0;
    for (size_t i = 0; i < r.l.n_req; i++) {
        const struct sim_request_record *q = &r.l.req[i];
        if (!(q->flags & SIM_RF_REQUEUED))
            continue;
        flagged++;
        ck_assert(q->arrival_s <= 500.5);
        ck_assert(q->done_s > 200);
        ck_assert(q->ttft_s > 0 && q->e2e_s >= q->ttft_s);
    }
    ck_assert_uint_gt(flagged, 0);
    ck_assert_uint_le(flagged, r.ds.requeued);
    double secs = spot_seconds(&r, 1, 2, 60, 0);
    ck_assert_double_eq_tol(r.ds.spot_provisioned_s, secs, 1e-9 * secs);
    double rate = 3.1 / 3600.0;
    double want = (r.ds.provisioned_s - secs) * rate + secs * rate * 0.3;
    ck_assert_double_eq_tol(r.ds.gpu_cost_usd, want, 1e-9 * want);
    ck_assert_double_eq_tol(r.ds.provisioned_s - secs, r.ws.makespan_s, 1e-9 * r.ws.makespan_s);
    run_free(&r);
}
END_TEST

/* Spot interruptions drain the queues of scheduler.order (queue_order.c):
 * two tiers and two tenants on one on-demand and one spot replica near
 * saturation, so that queues are long when the spot replica is lost; the
 * low tier is deferred past 3 requests ahead of it, the high tier shed past
 * 6.  Every arrival finishes exactly once whatever the order and the
 * scheduler, and a request routed again keeps its admission decision: none
 * is both requeued and shed (at this load a second admission would shed
 * many), and each tier has requeued requests. */
static const char *const T_FMT =
    "name: spott\n"
    "seed: 9\n"
    "horizon: {duration_s: 1200, warmup_s: 0}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: %s}\n"
    "  classes:\n"
    "    - {name: chat, tenant: app, priority: 5, share: 0.5,\n"
    "       prompt: [{segment: p, tokens: 300}], output_tokens: 100}\n"
    "    - {name: docs, tenant: reports, share: 0.5, prompt: [{segment: q, tokens: 1500}],\n"
    "       output_tokens: 200}\n"
    "deployments:\n"
    "  - name: pool\n"
    "    kind: self-hosted\n"
    "%s"
    "    replicas: 2\n"
    "    gpu_hour_usd: 3\n"
    "    replica_routing: least_loaded\n"
    "    scheduler: {%s, order: %s}\n"
    "    admission: [{tier: 0, max_queue: 3, action: defer}, {tier: 5, max_queue: 6}]\n"
    "    spot: {share: 0.5, discount: 0.6, interruptions: [{t_s: 300, replica: 1}, {t_s: 700, replica: 1},\n"
    "           {t_s: 1000, replica: 1}], cold_start_s: 30}\n"
    "output: {timeseries_interval_s: 0}\n";

static void check_requeued_tiers(const char *rate, const char *engine, const char *sched, const char *order)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, T_FMT, rate, engine, sched, order);
    struct run r;
    run_yaml(&r, yaml);
    ck_assert_uint_eq(r.ds.interruptions, 3);
    check_conservation(&r);
    size_t requeued[2] = {0, 0}, deferred = 0;
    for (size_t i = 0; i < r.l.n_req; i++) {
        uint32_t f = r.l.req[i].flags;
        int c = r.l.req[i].class_idx;
        ck_assert_msg(!((f & SIM_RF_REQUEUED) && (f & SIM_RF_SHED)), "%s/%s: request %llu requeued and shed",
                      sched, order, (unsigned long long)r.l.req[i].id);
        ck_assert(!((f & SIM_RF_SHED) && (f & SIM_RF_DEFERRED)));
        if (f & SIM_RF_SHED)
            ck_assert(c == 0 && (f & SIM_RF_REJECTED)); /* only the high tier has a reject rule */
        if (f & SIM_RF_DEFERRED)
            ck_assert_int_eq(c, 1); /* only the low tier is deferred */
        deferred += (f & SIM_RF_DEFERRED) != 0;
        if (f & SIM_RF_REQUEUED)
            requeued[c]++;
    }
    ck_assert_msg(requeued[0] > 0 && requeued[1] > 0, "%s/%s: requeued %zu chat, %zu docs", sched, order,
                  requeued[0], requeued[1]);
    ck_assert_uint_le(requeued[0] + requeued[1], r.ds.requeued);
    ck_assert_uint_gt(deferred, 0);
    run_free(&r);
}

START_TEST(test_tenant_queues_drained)
{
    static const char *const orders[] = {"priority", "fair", "fifo"};
    /* scheduler none: 2 servers of mean service 0.45 s at 4 requests/s (rho 0.9) */
    const char *plain = "    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.45}}\n";
    for (int i = 0; i < 3; i++)
        check_requeued_tiers("4", plain, "policy: none", orders[i]);
    /* continuous batching on two H100s past their capacity for these prompts */
    const char *gpu = "    model: llama-3.1-8b\n    gpu: h100-sxm\n";
    for (int i = 0; i < 2; i++)
        check_requeued_tiers("40", gpu, "policy: continuous, max_batch: 32", orders[i]);
}
END_TEST

static Suite *spot_suite(void)
{
    Suite *s = suite_create("spot");
    TCase *tc = tcase_create("spot");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rate_conservation_billing);
    tcase_add_test(tc, test_rate_zero_is_discounted_on_demand);
    tcase_add_test(tc, test_batching_mix);
    tcase_add_test(tc, test_tenant_queues_drained);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(spot_suite());
}
