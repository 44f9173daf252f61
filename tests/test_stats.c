/* Summary statistics (analysis/src/stats.c) against hand-computed values:
 * type-7 percentiles, Student t and batch-means confidence intervals,
 * warm-up and rejected-request exclusion, preemptions, the token-weighted
 * inter-token latency histogram (accuracy and bounded memory), scopes,
 * run-level cost and engine arithmetic, the prompt-cache metrics (hit
 * shares, TTFT split, savings, storage in the run's cost), and every
 * error. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "llmsim/results.h"

/* t_{0.975, dof}, from tables (Student t, two-sided 95%). */
#define T975_2 4.302652729911275
#define T975_9 2.262157162798205

static struct sim_class_cfg classes[2];
static struct sim_deployment_cfg deployments[2];

static struct sim_scenario make_scenario(double warmup_s)
{
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    memset(classes, 0, sizeof classes);
    memset(deployments, 0, sizeof deployments);
    snprintf(sc.name, sizeof sc.name, "stats-test");
    snprintf(classes[0].name, sizeof classes[0].name, "lookup");
    snprintf(classes[1].name, sizeof classes[1].name, "analysis");
    snprintf(deployments[0].name, sizeof deployments[0].name, "sonnet");
    snprintf(deployments[1].name, sizeof deployments[1].name, "llama8b");
    deployments[0].kind = SIM_DEPLOY_API;
    deployments[1].kind = SIM_DEPLOY_SELF_HOSTED;
    sc.warmup_s = warmup_s;
    sc.replications = 1;
    sc.workload.n_classes = 2;
    sc.workload.classes = classes;
    sc.n_deployments = 2;
    sc.deployments = deployments;
    return sc;
}

/* A request whose every per-request metric is v (itl with 2 output tokens). */
static struct sim_request_record req(int rep, int cls, int dep, double v)
{
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    r.replication = rep;
    r.class_idx = cls;
    r.deployment = dep;
    r.session = -1;
    r.ttft_s = v;
    r.e2e_s = v;
    r.queue_s = v;
    r.mean_itl_s = v;
    r.first_token_s = v; /* two tokens streamed v apart */
    r.done_s = 2 * v;
    r.input_tokens = 100;
    r.output_tokens = 2;
    return r;
}

static struct ana_stats *alloc_stats(double warmup_s)
{
    struct sim_scenario sc = make_scenario(warmup_s);
    struct ana_stats *s = NULL;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void add(struct ana_stats *s, struct sim_request_record r)
{
    ck_assert_int_eq(ana_stats_add(s, &r), 0);
}

/* The summary row (scope, metric), which must exist. */
static struct ana_summary_row row_of(struct ana_stats *s, const char *scope, const char *metric)
{
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    const struct ana_summary_row *r = ana_summary_find(rows, n, scope, metric);
    ck_assert_msg(r != NULL, "no row %s %s", scope, metric);
    struct ana_summary_row copy = *r;
    free(rows);
    return copy;
}

#define TOL 1e-12

START_TEST(test_t_quantile)
{
    /* GSL's inversion is good to about 1e-10 relative. */
    ck_assert_double_eq_tol(ana_t_quantile(0.975, 2), T975_2, 1e-9);
    ck_assert_double_eq_tol(ana_t_quantile(0.975, 9), T975_9, 1e-9);
    ck_assert_double_eq_tol(ana_t_quantile(0.5, 7), 0.0, 1e-15);
}
END_TEST

/* Type 7 on 1..20 added in a scrambled order: h = 19 p. */
START_TEST(test_percentiles_1_to_20)
{
    struct ana_stats *s = alloc_stats(0);
    for (int i = 0; i < 20; i++)
        add(s, req(0, 0, 0, (double)((i * 7) % 20 + 1))); /* 7 is prime to 20 */
    struct ana_summary_row r = row_of(s, "all", "ttft_s");
    ck_assert_uint_eq(r.count, 20);
    ck_assert_double_eq_tol(r.mean, 10.5, TOL);
    ck_assert_double_eq_tol(r.p50, 10.5, TOL);  /* h = 9.5  */
    ck_assert_double_eq_tol(r.p90, 18.1, TOL);  /* h = 17.1 */
    ck_assert_double_eq_tol(r.p95, 19.05, TOL); /* h = 18.05 */
    ck_assert_double_eq_tol(r.p99, 19.81, TOL); /* h = 18.81 */
    ana_stats_free(s);
}
END_TEST

START_TEST(test_percentiles_small)
{
    struct ana_stats *s = alloc_stats(0);
    add(s, req(0, 0, 0, 2.385));
    struct ana_summary_row r = row_of(s, "all", "e2e_s");
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq_tol(r.p50, 2.385, TOL);
    ck_assert_double_eq_tol(r.p99, 2.385, TOL);
    ck_assert(isnan(r.ci95)); /* one replication, fewer than 20 samples */
    add(s, req(0, 0, 0, 0.385));
    r = row_of(s, "all", "e2e_s");
    ck_assert_double_eq_tol(r.p50, 1.385, TOL);
    ck_assert_double_eq_tol(r.p95, 0.385 + 0.95 * 2.0, TOL);
    ck_assert_double_eq_tol(r.p99, 0.385 + 0.99 * 2.0, TOL);
    ana_stats_free(s);
}
END_TEST

/* One replication: batch means over 10 batches.  1..20 in order gives batch
 * means 1.5, 3.5, ..., 19.5 with sum of squared deviations 330. */
START_TEST(test_batch_means)
{
    double want = T975_9 * sqrt(330.0 / 9.0 / 10.0);
    struct ana_stats *s = alloc_stats(0);
    for (int i = 1; i <= 20; i++)
        add(s, req(0, 0, 0, i));
    ck_assert_double_eq_tol(row_of(s, "all", "queue_s").ci95, want, 1e-9);
    ana_stats_free(s);

    /* 25 samples: b = 2 and the 5 earliest are left out of the batches
     * (but not out of the mean). */
    s = alloc_stats(0);
    for (int i = 0; i < 5; i++)
        add(s, req(0, 0, 0, 1000.0));
    for (int i = 1; i <= 20; i++)
        add(s, req(0, 0, 0, i));
    struct ana_summary_row r = row_of(s, "all", "queue_s");
    ck_assert_double_eq_tol(r.ci95, want, 1e-9);
    ck_assert_double_eq_tol(r.mean, (5000.0 + 210.0) / 25.0, TOL);
    ana_stats_free(s);

    /* 19 samples: too few. */
    s = alloc_stats(0);
    for (int i = 1; i <= 19; i++)
        add(s, req(0, 0, 0, i));
    ck_assert(isnan(row_of(s, "all", "queue_s").ci95));
    ana_stats_free(s);
}
END_TEST

/* Three replications: Student t over the replication means 1.5, 3.5, 4.0
 * (mean 3, squared deviations 2.25 + 0.25 + 1 = 3.5). */
START_TEST(test_ci_replications)
{
    struct ana_stats *s = alloc_stats(0);
    add(s, req(0, 0, 0, 1.0));
    add(s, req(0, 0, 0, 2.0));
    add(s, req(1, 0, 0, 2.5));
    add(s, req(1, 0, 0, 3.5));
    add(s, req(1, 0, 0, 4.5));
    add(s, req(2, 0, 0, 4.0));
    struct ana_summary_row r = row_of(s, "all", "ttft_s");
    ck_assert_uint_eq(r.count, 6);
    ck_assert_double_eq_tol(r.mean, 17.5 / 6.0, TOL); /* pooled samples */
    ck_assert_double_eq_tol(r.ci95, T975_2 * sqrt(3.5 / 2.0) / sqrt(3.0), 1e-9);
    /* Sorted pooled 1, 2, 2.5, 3.5, 4, 4.5: p50 at h = 2.5. */
    ck_assert_double_eq_tol(r.p50, 3.0, TOL);
    ana_stats_free(s);
}
END_TEST

START_TEST(test_warmup_excluded)
{
    struct ana_stats *s = alloc_stats(60);
    for (int i = 0; i < 3; i++) {
        struct sim_request_record r = req(0, 0, 0, 100.0);
        r.flags = SIM_RF_WARMUP;
        r.cost_output_usd = 1.0;
        add(s, r);
    }
    for (int i = 1; i <= 4; i++) {
        struct sim_request_record r = req(0, 0, 0, i);
        r.flags = SIM_RF_TRUNCATED; /* other flags do not exclude */
        r.cost_output_usd = 0.5;
        add(s, r);
    }
    struct ana_summary_row r = row_of(s, "all", "ttft_s");
    ck_assert_uint_eq(r.count, 4);
    ck_assert_double_eq_tol(r.p99, 3.97, TOL);
    r = row_of(s, "all", "cost_usd");
    ck_assert_double_eq_tol(r.mean, 0.5, TOL); /* per-request: warm-up left out */

    struct sim_deployment_stats ds[2] = {{0}};
    struct sim_world_stats ws = {.makespan_s = 260, .n_deployments = 2, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    r = row_of(s, "all", "throughput_rps");
    ck_assert_double_eq_tol(r.mean, 4.0 / 200.0, TOL); /* measured / (makespan - warm-up) */
    r = row_of(s, "all", "cost_per_1k_usd");
    ck_assert_double_eq_tol(r.mean, 1000.0 * (3 * 1.0 + 4 * 0.5) / 7.0, 1e-9); /* all requests */
    ana_stats_free(s);
}
END_TEST

START_TEST(test_itl_needs_two_tokens)
{
    struct ana_stats *s = alloc_stats(0);
    struct sim_request_record r = req(0, 0, 0, 0.25);
    add(s, r);
    r.output_tokens = 1;
    r.mean_itl_s = NAN; /* not looked at */
    add(s, r);
    r.output_tokens = 0;
    add(s, r);
    /* service_time model: all tokens arrive when service ends, no ITL information */
    r = req(0, 0, 0, 0.25);
    r.output_tokens = 10;
    r.first_token_s = r.done_s = 3.0;
    r.mean_itl_s = 0;
    add(s, r);
    ck_assert_uint_eq(row_of(s, "all", "itl_s").count, 1);
    ck_assert_uint_eq(row_of(s, "all", "ttft_s").count, 4);
    ck_assert_double_eq_tol(row_of(s, "all", "output_tokens").mean, (2 + 1 + 0 + 10) / 4.0, TOL);
    ana_stats_free(s);
}
END_TEST

START_TEST(test_scopes)
{
    struct ana_stats *s = alloc_stats(0);
    add(s, req(0, 0, 0, 1.0));
    add(s, req(0, 0, 1, 2.0));
    add(s, req(0, 1, 1, 4.0));
    add(s, req(0, 1, 1, 8.0));
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    /* 5 scopes x (16 request metrics + rejected + cache_hit_tokens +
     * savings_pct), itl_token_s for all and the 2 deployments, run metrics:
     * all 40, classes 21, deployments 39. */
    ck_assert_uint_eq(n, 5 * 19 + 3 + 40 + 2 * 21 + 2 * 39);
    ck_assert_str_eq(rows[0].scope, "all");
    ck_assert_str_eq(rows[0].metric, "ttft_s");
    const struct ana_summary_row *r = ana_summary_find(rows, n, "class:lookup", "ttft_s");
    ck_assert_uint_eq(r->count, 2);
    ck_assert_double_eq_tol(r->mean, 1.5, TOL);
    r = ana_summary_find(rows, n, "class:analysis", "e2e_s");
    ck_assert_double_eq_tol(r->mean, 6.0, TOL);
    r = ana_summary_find(rows, n, "deployment:sonnet", "queue_s");
    ck_assert_uint_eq(r->count, 1);
    r = ana_summary_find(rows, n, "deployment:llama8b", "queue_s");
    ck_assert_uint_eq(r->count, 3);
    ck_assert_double_eq_tol(r->p50, 4.0, TOL);
    r = ana_summary_find(rows, n, "all", "littles_law_rel_err");
    ck_assert_uint_eq(r->count, 0); /* no add_run yet */
    ck_assert(isnan(r->mean));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "in_system_mean"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "gpu_idle_usd"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "itl_token_s"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "utilization"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "class:lookup", "rejected"));
    ck_assert_ptr_nonnull(
        ana_summary_find(rows, n, "class:lookup", "cost_per_1m_output_tokens_usd"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "all", "kv_capacity_tokens"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "deployment:sonnet", "kv_capacity_tokens"));
    /* Per scope: request metrics, rejected, cache_hit_tokens, savings_pct,
     * itl_token_s, then run metrics. */
    ck_assert_str_eq(rows[7].metric, "preemptions");
    ck_assert_str_eq(rows[8].metric, "cache_hit_requests");
    ck_assert_str_eq(rows[12].metric, "savings_usd_per_1k");
    ck_assert_str_eq(rows[13].metric, "perceived_s");
    ck_assert_str_eq(rows[14].metric, "slo_met");
    ck_assert_str_eq(rows[15].metric, "success");
    ck_assert_str_eq(rows[16].metric, "rejected");
    ck_assert_str_eq(rows[17].metric, "cache_hit_tokens");
    ck_assert_str_eq(rows[18].metric, "savings_pct");
    ck_assert_str_eq(rows[19].metric, "itl_token_s");
    ck_assert_str_eq(rows[20].metric, "throughput_rps");
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "class:lookup", "cache_hit_tokens"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "class:lookup", "savings_pct"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "class:lookup", "ttft_hit_s"));
    ck_assert_ptr_nonnull(
        ana_summary_find(rows, n, "class:lookup", "cost_cache_storage_per_1k_usd"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "cache_storage_usd"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:lookup", "cache_tokens"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "all", "cache_unread_writes"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "deployment:llama8b", "cache_tokens"));
    ck_assert_ptr_nonnull(ana_summary_find(rows, n, "deployment:sonnet", "gpu_idle_usd"));
    ck_assert_ptr_null(ana_summary_find(rows, n, "class:none", "ttft_s"));
    ck_assert_ptr_null(ana_summary_find(NULL, 0, "all", "ttft_s"));
    free(rows);
    ana_stats_free(s);
}
END_TEST

static struct sim_request_record costed(int cls, int dep, double gpu_usd, uint32_t flags)
{
    struct sim_request_record r = req(0, cls, dep, 1.0);
    if (dep == 0) { /* api: billed lines */
        r.cost_input_usd = 0.01;
        r.cost_cache_write_usd = 0.02;
        r.cost_cache_read_usd = 0.003;
        r.cost_output_usd = 0.05;
    }
    r.cost_gpu_usd = gpu_usd;
    r.flags = flags;
    return r;
}

/* Run-level cost arithmetic, by hand.  Deployment 0 (api) serves 3 lookup
 * requests and 1 warm-up analysis request, each billed 0.083; deployment 1
 * (self-hosted, 10 USD provisioned, 1.5 USD attributed) serves 1 lookup
 * request (0.5 USD of GPU) and 2 analysis requests (0.5 each). */
START_TEST(test_run_costs)
{
    struct ana_stats *s = alloc_stats(100);
    add(s, costed(0, 0, 0, 0));
    add(s, costed(0, 0, 0, 0));
    add(s, costed(0, 0, 0, 0));
    add(s, costed(1, 0, 0, SIM_RF_WARMUP));
    add(s, costed(0, 1, 0.5, 0));
    add(s, costed(1, 1, 0.5, 0));
    add(s, costed(1, 1, 0.5, 0));
    struct sim_deployment_stats ds[2] = {
        {.completed = 4},
        {.completed = 3, .gpu_cost_usd = 10.0, .gpu_busy_cost_usd = 1.5},
    };
    struct sim_world_stats ws = {.makespan_s = 1100,
                                 .area_in_system = 50,
                                 .sum_sojourn_s = 48,
                                 .n_deployments = 2,
                                 .deployments = ds,
                                 .completed = 7};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), LLMSIM_ESTATE);

    const double billed = 0.083, tol = 1e-9;
    /* all: 7 requests, 6 measured over 1000 s. */
    ck_assert_double_eq_tol(row_of(s, "all", "throughput_rps").mean, 6.0 / 1000.0, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1k_usd").mean,
                            1000.0 * (4 * billed + 10.0) / 7.0, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_input_per_1k_usd").mean, 1000.0 * 0.04 / 7, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_cache_write_per_1k_usd").mean, 1000.0 * 0.08 / 7,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_cache_read_per_1k_usd").mean, 1000.0 * 0.012 / 7,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_output_per_1k_usd").mean, 1000.0 * 0.2 / 7, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_gpu_per_1k_usd").mean, 10000.0 / 7, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "gpu_idle_usd").mean, 8.5, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "in_system_mean").mean, 50.0 / 1100.0, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "littles_law_rel_err").mean, 2.0 / 48.0, tol);
    struct ana_summary_row r = row_of(s, "all", "cost_per_1k_usd");
    ck_assert_uint_eq(r.count, 1);
    ck_assert(isnan(r.ci95));

    /* deployment:llama8b: 3 requests, its provisioned 10 USD. */
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "cost_per_1k_usd").mean, 10000.0 / 3,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "gpu_idle_usd").mean, 8.5, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "throughput_rps").mean, 0.003, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cost_per_1k_usd").mean, 1000.0 * billed,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "throughput_rps").mean, 0.003, tol);

    /* Classes share the 10 USD by attributed GPU cost: lookup 1/3, analysis 2/3. */
    double lookup = row_of(s, "class:lookup", "cost_per_1k_usd").mean;
    double analysis = row_of(s, "class:analysis", "cost_per_1k_usd").mean;
    ck_assert_double_eq_tol(lookup, 1000.0 * (3 * billed + 10.0 / 3) / 4, tol);
    ck_assert_double_eq_tol(analysis, 1000.0 * (billed + 20.0 / 3) / 3, tol);
    ck_assert_double_eq_tol(lookup * 4 + analysis * 3, 1000.0 * (4 * billed + 10.0), tol);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "throughput_rps").mean, 0.002, tol);
    ana_stats_free(s);
}
END_TEST

/* With no GPU cost attributed, classes share by request counts. */
START_TEST(test_run_costs_by_count)
{
    struct ana_stats *s = alloc_stats(0);
    add(s, costed(0, 1, 0, 0));
    add(s, costed(1, 1, 0, 0));
    add(s, costed(1, 1, 0, 0));
    struct sim_deployment_stats ds[2] = {{0}, {.completed = 3, .gpu_cost_usd = 6.0}};
    struct sim_world_stats ws = {.makespan_s = 10, .n_deployments = 2, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cost_gpu_per_1k_usd").mean, 2000.0, 1e-9);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cost_gpu_per_1k_usd").mean, 2000.0, 1e-9);
    ana_stats_free(s);
}
END_TEST

/* Run-level metrics over 3 replications: Student t over the values. */
START_TEST(test_run_ci)
{
    struct ana_stats *s = alloc_stats(0);
    const double makespan[3] = {100.0, 125.0, 80.0};
    struct sim_deployment_stats ds[2] = {{0}};
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < 10; i++)
            add(s, req(rep, 0, 0, 1.0));
        struct sim_world_stats ws = {
            .makespan_s = makespan[rep], .n_deployments = 2, .deployments = ds};
        ck_assert_int_eq(ana_stats_add_run(s, (uint32_t)rep, &ws), 0);
    }
    /* Throughputs 0.1, 0.08, 0.125: mean 0.101666..., deviations
     * -0.0016667, -0.0216667, 0.0233333. */
    double m = (0.1 + 0.08 + 0.125) / 3;
    double ss = (0.1 - m) * (0.1 - m) + (0.08 - m) * (0.08 - m) + (0.125 - m) * (0.125 - m);
    struct ana_summary_row r = row_of(s, "all", "throughput_rps");
    ck_assert_uint_eq(r.count, 3);
    ck_assert_double_eq_tol(r.mean, m, TOL);
    ck_assert_double_eq_tol(r.p50, 0.1, TOL);
    ck_assert_double_eq_tol(r.ci95, T975_2 * sqrt(ss / 2) / sqrt(3), 1e-9);
    /* Undefined values (no requests in class:analysis) are left out. */
    ck_assert_uint_eq(row_of(s, "class:analysis", "cost_per_1k_usd").count, 0);
    ck_assert_uint_eq(row_of(s, "class:analysis", "throughput_rps").count, 3);
    ana_stats_free(s);
}
END_TEST

START_TEST(test_sink)
{
    struct ana_stats *s = alloc_stats(0);
    struct sim_sink sink = ana_stats_sink(s);
    ck_assert_ptr_eq(sink.ctx, s);
    ck_assert_ptr_null(sink.timeseries);
    ck_assert_ptr_nonnull(sink.iteration);
    struct sim_request_record r = req(0, 1, 1, 3.25);
    ck_assert_int_eq(sink.request(sink.ctx, &r), 0);
    r.class_idx = 2;
    ck_assert_int_eq(sink.request(sink.ctx, &r), LLMSIM_EINVAL);
    ck_assert_uint_eq(row_of(s, "class:analysis", "ttft_s").count, 1);
    struct sim_iter_record it = {.deployment = 1, .itl_s = 0.02, .decode_tokens = 7};
    ck_assert_int_eq(sink.iteration(sink.ctx, &it), 0);
    it.deployment = 2;
    ck_assert_int_eq(sink.iteration(sink.ctx, &it), LLMSIM_EINVAL);
    ck_assert_uint_eq(row_of(s, "deployment:llama8b", "itl_token_s").count, 7);
    ana_stats_free(s);
}
END_TEST

START_TEST(test_errors)
{
    struct ana_stats *s = alloc_stats(0);
    struct sim_request_record r = req(0, 0, 0, 1.0);
    struct sim_request_record bad = r;
    bad.class_idx = 2;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_EINVAL);
    bad = r;
    bad.class_idx = -1;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_EINVAL);
    bad = r;
    bad.deployment = 2;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_EINVAL);
    bad = r;
    bad.replication = -1;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_EINVAL);
    bad = r;
    bad.replication = SIM_MAX_REPLICATIONS;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    bad = r;
    bad.ttft_s = NAN;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    bad = r;
    bad.cost_gpu_usd = INFINITY;
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    ck_assert_int_eq(ana_stats_add(s, NULL), LLMSIM_EINVAL);
    ck_assert_int_eq(ana_stats_add(NULL, &r), LLMSIM_EINVAL);

    struct sim_deployment_stats ds[2] = {{0}};
    struct sim_world_stats ws = {.makespan_s = 1, .n_deployments = 1, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), LLMSIM_EINVAL);
    ws.n_deployments = 2;
    ck_assert_int_eq(ana_stats_add_run(s, SIM_MAX_REPLICATIONS, &ws), LLMSIM_ERANGE);
    ck_assert_int_eq(ana_stats_add_run(s, 0, NULL), LLMSIM_EINVAL);

    /* Nothing added: every row is there with count 0 and NaN statistics. */
    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(rows[i].count, 0);
        ck_assert(isnan(rows[i].mean) && isnan(rows[i].p99) && isnan(rows[i].ci95));
    }
    free(rows);
    ck_assert_int_eq(ana_stats_summary(NULL, &rows, &n), LLMSIM_EINVAL);
    struct ana_stats *none = NULL;
    ck_assert_int_eq(ana_stats_alloc(&none, NULL), LLMSIM_EINVAL);
    ana_stats_free(NULL);
    ana_stats_free(s);
}
END_TEST

/* Growth across many samples and replications keeps every value. */
START_TEST(test_growth)
{
    struct ana_stats *s = alloc_stats(0);
    const int n = 100000;
    for (int i = 0; i < n; i++)
        add(s, req(i % 5, i % 2, (i / 2) % 2, (double)(i + 1)));
    struct ana_summary_row r = row_of(s, "all", "ttft_s");
    ck_assert_uint_eq(r.count, (uint64_t)n);
    ck_assert_double_eq_tol(r.mean, (n + 1) / 2.0, 1e-6);
    ck_assert_double_eq_tol(r.p50, (n + 1) / 2.0, 1e-9);
    ck_assert_double_eq_tol(r.p99, 1 + 0.99 * (n - 1), 1e-6);
    ck_assert_uint_eq(row_of(s, "class:lookup", "ttft_s").count, (uint64_t)n / 2);
    ana_stats_free(s);
}
END_TEST

/* One class and one deployment (their scopes alias "all") and a horizon of
 * 100 requests that the two replications outgrow: the "all" sample arrays,
 * sized from the horizon, grow past it; the class and deployment rows,
 * sums included, are those of "all"; and with an exact limit below the
 * horizon, compact mode still starts past that limit. */
START_TEST(test_horizon_growth)
{
    struct sim_scenario sc = make_scenario(0);
    sc.workload.n_classes = 1;
    sc.n_deployments = 1;
    sc.max_requests = 100;
    struct ana_stats *s = NULL;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    const int n = 1000;
    for (int i = 0; i < n; i++) {
        struct sim_request_record r = req(i % 2, 0, 0, (double)(i + 1));
        r.cost_nocache_usd = 2;
        r.cost_output_usd = 1;
        if (i % 10 == 3)
            r.flags |= SIM_RF_REJECTED; /* 4, 14, ..., 994: no samples */
        add(s, r);
    }
    const char *scopes[] = {"all", "class:lookup", "deployment:sonnet"};
    for (int k = 0; k < 3; k++) {
        struct ana_summary_row t = row_of(s, scopes[k], "ttft_s");
        ck_assert_uint_eq(t.count, 900);
        ck_assert_double_eq_tol(t.mean, (500500.0 - 49900.0) / 900.0, 1e-9);
        ck_assert_double_eq_tol(t.p50, 500.5, 1e-9); /* 500 and 501, neither rejected */
        struct ana_summary_row rj = row_of(s, scopes[k], "rejected");
        ck_assert_uint_eq(rj.count, 100);
        ck_assert_double_eq_tol(rj.mean, 0.1, TOL);
        struct ana_summary_row sv = row_of(s, scopes[k], "savings_pct");
        ck_assert_uint_eq(sv.count, 900);
        ck_assert_double_eq_tol(sv.mean, 50.0, TOL);
    }
    ana_stats_free(s);

    sc.max_requests = 1000;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    ana_stats_set_exact_limit(s, 50);
    for (int i = 0; i < 200; i++) {
        add(s, req(0, 0, 0, (double)(i + 1)));
        ck_assert_int_eq(ana_stats_compact(s), i >= 50);
    }
    struct ana_summary_row t = row_of(s, "all", "ttft_s");
    ck_assert_uint_eq(t.count, 200);
    ck_assert_double_eq_tol(t.mean, 100.5, 1e-9);
    ana_stats_free(s);
}
END_TEST

/* |got - want| <= rel |want|. */
static void ck_rel(double got, double want, double rel)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want), "got %.17g, want %.17g within %g", got,
                  want, rel);
}

/* The documented bound of the itl_token_s percentiles. */
#define HIST_REL 0.005

/* Rejected requests: in `rejected` only, never in a latency, token or cost
 * sample, nor in throughput or the per-1k denominators. */
START_TEST(test_rejected)
{
    struct ana_stats *s = alloc_stats(10);
    for (int i = 1; i <= 3; i++) {
        struct sim_request_record r = req(0, 0, 0, i);
        r.cost_output_usd = 0.3;
        add(s, r);
    }
    struct sim_request_record rj = req(0, 0, 0, NAN); /* time metrics not looked at */
    rj.output_tokens = 0;
    rj.flags = SIM_RF_REJECTED;
    add(s, rj);
    rj.class_idx = 1;
    rj.deployment = 1;
    add(s, rj);
    rj.flags = SIM_RF_REJECTED | SIM_RF_WARMUP; /* warm-up: not counted */
    add(s, rj);
    struct sim_request_record bad = rj;
    bad.cost_output_usd = NAN; /* cost lines still are */
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);

    const char *per_request[] = {"ttft_s",
                                 "e2e_s",
                                 "queue_s",
                                 "itl_s",
                                 "input_tokens",
                                 "output_tokens",
                                 "cost_usd",
                                 "preemptions",
                                 "cache_hit_requests",
                                 "cache_write_tokens",
                                 "ttft_miss_s",
                                 "savings_usd_per_1k",
                                 "savings_pct"};
    for (size_t m = 0; m < sizeof per_request / sizeof per_request[0]; m++)
        ck_assert_uint_eq(row_of(s, "all", per_request[m]).count, 3);
    ck_assert_uint_eq(row_of(s, "all", "cache_hit_tokens").count, 300); /* 3 x 100 input */
    ck_assert_double_eq_tol(row_of(s, "all", "ttft_s").mean, 2.0, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_usd").mean, 0.3, TOL);
    ck_assert_uint_eq(row_of(s, "class:analysis", "ttft_s").count, 0);

    struct ana_summary_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(ana_stats_summary(s, &rows, &n), 0);
    ck_assert_uint_eq(ana_summary_find(rows, n, "all", "rejected")->count, 2);
    free(rows);
    struct ana_summary_row r = row_of(s, "all", "rejected");
    ck_assert_double_eq_tol(r.mean, 2.0 / 5.0, TOL); /* of 5 non-warm-up requests */
    ck_assert(isnan(r.ci95));                        /* one replication */
    r = row_of(s, "class:lookup", "rejected");
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq_tol(r.mean, 0.25, TOL);
    r = row_of(s, "class:analysis", "rejected");
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq_tol(r.mean, 1.0, TOL);
    r = row_of(s, "deployment:sonnet", "rejected");
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq_tol(r.mean, 0.25, TOL);

    struct sim_deployment_stats ds[2] = {{0}};
    struct sim_world_stats ws = {.makespan_s = 110, .n_deployments = 2, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_double_eq_tol(row_of(s, "all", "throughput_rps").mean, 3.0 / 100.0, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1k_usd").mean, 1000.0 * 0.9 / 3, 1e-9);
    /* class:analysis served nothing: its per-1k costs are undefined. */
    ck_assert_uint_eq(row_of(s, "class:analysis", "cost_per_1k_usd").count, 0);

    /* A second replication without rejections: shares 0.4 and 0. */
    for (int i = 0; i < 3; i++)
        add(s, req(1, 0, 0, 1.0));
    r = row_of(s, "all", "rejected");
    ck_assert_uint_eq(r.count, 2);
    ck_assert_double_eq_tol(r.mean, 2.0 / 8.0, TOL);
    ck_assert_double_eq_tol(r.p50, 0.2, TOL);
    ck_assert_double_eq_tol(r.ci95, ana_t_quantile(0.975, 1) * sqrt(0.08) / sqrt(2.0), 1e-9);
    r = row_of(s, "class:analysis", "rejected"); /* replication 1 offered it nothing */
    ck_assert_double_eq_tol(r.mean, 1.0, TOL);
    ck_assert(isnan(r.ci95));
    ana_stats_free(s);
}
END_TEST

/* Preemptions per served, non-warm-up request: 0, 1, 3, 0. */
START_TEST(test_preemptions)
{
    struct ana_stats *s = alloc_stats(0);
    const uint32_t p[4] = {0, 1, 0, 3};
    for (int i = 0; i < 4; i++) {
        struct sim_request_record r = req(0, i % 2, 1, 1.0);
        r.preemptions = p[i];
        r.flags = p[i] ? SIM_RF_PREEMPTED : 0;
        add(s, r);
    }
    struct sim_request_record r = req(0, 0, 1, 1.0);
    r.preemptions = 10;
    r.flags = SIM_RF_WARMUP | SIM_RF_PREEMPTED;
    add(s, r);
    r.flags = SIM_RF_REJECTED;
    add(s, r);
    struct ana_summary_row row = row_of(s, "all", "preemptions");
    ck_assert_uint_eq(row.count, 4);
    ck_assert_double_eq_tol(row.mean, 1.0, TOL);
    ck_assert_double_eq_tol(row.p50, 0.5, TOL);
    ck_assert_double_eq_tol(row.p90, 2.4, TOL);  /* sorted 0 0 1 3, h = 2.7 */
    ck_assert_double_eq_tol(row.p99, 2.94, TOL); /* h = 2.97 */
    row = row_of(s, "class:analysis", "preemptions");
    ck_assert_double_eq_tol(row.mean, 2.0, TOL); /* 1 and 3 (odd i) */
    ck_assert_uint_eq(row_of(s, "deployment:llama8b", "preemptions").count, 4);
    ck_assert_uint_eq(row_of(s, "deployment:sonnet", "preemptions").count, 0);
    ana_stats_free(s);
}
END_TEST

static void add_iter(struct ana_stats *s, int rep, int dep, double start, double dur, double tok)
{
    struct sim_iter_record it = {.replication = rep,
                                 .deployment = dep,
                                 .start_s = start,
                                 .itl_s = dur,
                                 .decode_tokens = tok,
                                 .batch = (int32_t)tok};
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), 0);
}

/* Weights 1, 2, 3, 4 on 10, 20, 30, 40 ms: cumulative 1, 3, 6, 10 of 10, so
 * p50 (5) = 30 ms and p90 .. p99 = 40 ms; mean 300 / 10 ms = 30 ms. */
START_TEST(test_itl_token_weighted)
{
    struct ana_stats *s = alloc_stats(5);
    const double d[4] = {0.040, 0.010, 0.030, 0.020};
    const double w[4] = {4, 1, 3, 2};
    for (int i = 0; i < 4; i++)
        add_iter(s, 0, 1, 5.0 + i, d[i], w[i]);
    add_iter(s, 0, 1, 4.999, 1.0, 100); /* started in the warm-up */
    add_iter(s, 0, 1, 6.0, 1.0, 0);     /* prefill only */
    struct ana_summary_row r = row_of(s, "deployment:llama8b", "itl_token_s");
    ck_assert_uint_eq(r.count, 10);
    ck_assert_double_eq_tol(r.mean, 0.030, TOL);
    ck_rel(r.p50, 0.030, HIST_REL);
    ck_rel(r.p90, 0.040, HIST_REL);
    ck_rel(r.p95, 0.040, HIST_REL);
    ck_rel(r.p99, 0.040, HIST_REL);
    ck_assert(isnan(r.ci95));
    struct ana_summary_row a = row_of(s, "all", "itl_token_s");
    ck_assert_uint_eq(a.count, 10);
    ck_assert(a.p50 == r.p50);
    r = row_of(s, "deployment:sonnet", "itl_token_s");
    ck_assert_uint_eq(r.count, 0);
    ck_assert(isnan(r.mean) && isnan(r.p50) && isnan(r.p99));
    /* The per-request itl_s is untouched by iterations. */
    ck_assert_uint_eq(row_of(s, "all", "itl_s").count, 0);

    /* A second replication (mean 20 ms, 5 tokens on deployment 0): Student t
     * over the replications' weighted means 30 and 20 ms. */
    add_iter(s, 1, 0, 10.0, 0.020, 5);
    a = row_of(s, "all", "itl_token_s");
    ck_assert_uint_eq(a.count, 15);
    ck_assert_double_eq_tol(a.mean, (0.300 + 0.100) / 15, TOL);
    ck_assert_double_eq_tol(a.ci95, ana_t_quantile(0.975, 1) * sqrt(0.00005) / sqrt(2.0), 1e-9);
    /* Pooled cumulative weights: 10 ms 1, 20 ms 7, 30 ms 10, 40 ms 14 of 15. */
    ck_rel(a.p50, 0.020, HIST_REL);
    ck_rel(a.p90, 0.040, HIST_REL);
    ck_assert(isnan(row_of(s, "deployment:llama8b", "itl_token_s").ci95));
    ana_stats_free(s);
}
END_TEST

static int cmp_pair(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x > y) - (x < y);
}

/* Against the exact weighted quantile (smallest d with W(<= d) >= p W) of a
 * log-uniform sample over 7 decades with integer weights; out-of-range
 * durations are clamped. */
START_TEST(test_itl_token_accuracy)
{
    enum { N = 20000 };
    struct ana_stats *s = alloc_stats(0);
    double(*x)[2] = malloc(sizeof *x * N);
    ck_assert_ptr_nonnull(x);
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    double total = 0, wsum = 0;
    for (int i = 0; i < N; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(state >> 11) * 0x1p-53;
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i][0] = 1e-5 * pow(10.0, 7.0 * u);
        x[i][1] = (double)(1 + (state >> 58)); /* 1 .. 64 */
        add_iter(s, i % 3, i % 2, 1.0, x[i][0], x[i][1]);
        total += x[i][1];
        wsum += x[i][0] * x[i][1];
    }
    qsort(x, N, sizeof *x, cmp_pair);
    struct ana_summary_row r = row_of(s, "all", "itl_token_s");
    ck_assert_uint_eq(r.count, (uint64_t)total);
    ck_rel(r.mean, wsum / total, 1e-12);
    const double ps[4] = {0.50, 0.90, 0.95, 0.99};
    const double got[4] = {r.p50, r.p90, r.p95, r.p99};
    for (int k = 0; k < 4; k++) {
        double cum = 0, want = NAN;
        for (int i = 0; i < N; i++) {
            cum += x[i][1];
            if (cum >= ps[k] * total) {
                want = x[i][0];
                break;
            }
        }
        ck_rel(got[k], want, HIST_REL);
    }
    free(x);
    ana_stats_free(s);

    s = alloc_stats(0);
    add_iter(s, 0, 0, 0.0, 1e-9, 1);
    add_iter(s, 0, 0, 0.0, 0.0, 1);
    add_iter(s, 0, 0, 0.0, 1e6, 2);
    r = row_of(s, "all", "itl_token_s");
    ck_assert_uint_eq(r.count, 4);
    ck_assert_double_eq_tol(r.mean, (1e-9 + 2e6) / 4, 1e-6);
    ck_rel(r.p50, 1e-6, HIST_REL); /* clamped to the range */
    ck_rel(r.p90, 1e4, HIST_REL);
    ck_assert(r.p50 >= 1e-6 && r.p90 <= 1e4);
    ana_stats_free(s);
}
END_TEST

START_TEST(test_itl_token_errors)
{
    struct ana_stats *s = alloc_stats(0);
    struct sim_iter_record ok = {.deployment = 1, .itl_s = 0.01, .decode_tokens = 3};
    struct sim_iter_record it = ok;
    it.deployment = 2;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_EINVAL);
    it = ok;
    it.deployment = -1;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_EINVAL);
    it = ok;
    it.replication = -1;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_EINVAL);
    it = ok;
    it.replication = SIM_MAX_REPLICATIONS;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_ERANGE);
    it = ok;
    it.itl_s = -0.01;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_ERANGE);
    it = ok;
    it.itl_s = INFINITY;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_ERANGE);
    it = ok;
    it.decode_tokens = NAN;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_ERANGE);
    it = ok;
    it.start_s = NAN;
    ck_assert_int_eq(ana_stats_add_iteration(s, &it), LLMSIM_ERANGE);
    ck_assert_int_eq(ana_stats_add_iteration(s, NULL), LLMSIM_EINVAL);
    ck_assert_int_eq(ana_stats_add_iteration(NULL, &ok), LLMSIM_EINVAL);
    ck_assert_uint_eq(row_of(s, "all", "itl_token_s").count, 0); /* nothing added */
    ana_stats_free(s);
}
END_TEST

/* 10^6 iterations allocate nothing once the histograms exist. */
START_TEST(test_itl_token_memory)
{
    struct ana_stats *s = alloc_stats(0);
    add_iter(s, 0, 0, 0.0, 0.01, 1); /* allocates the histograms and replication 0 */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    size_t before = mallinfo2().uordblks;
#endif
    double tokens = 1;
    int rc = 0;
    for (int i = 0; i < 1000000; i++) { /* no Check call inside: it may allocate */
        struct sim_iter_record it = {.deployment = i % 2,
                                     .start_s = 1.0,
                                     .itl_s = 1e-4 * (1 + i % 50000),
                                     .decode_tokens = 1 + i % 32};
        rc |= ana_stats_add_iteration(s, &it);
        tokens += it.decode_tokens;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    size_t after = mallinfo2().uordblks;
    ck_assert_uint_eq(after, before);
#endif
    ck_assert_int_eq(rc, 0);
    struct ana_summary_row r = row_of(s, "all", "itl_token_s");
    ck_assert_uint_eq(r.count, (uint64_t)tokens);
    ck_assert(isfinite(r.p99));
    ana_stats_free(s);
}
END_TEST

/* Engine figures, one api deployment (sonnet) and one self-hosted
 * (llama8b): utilization 300 / 400, MFU, MBU, preemptions, iterations, KV
 * capacity, and the cost per 1M output tokens of every scope. */
START_TEST(test_run_engine)
{
    struct ana_stats *s = alloc_stats(0);
    for (int i = 0; i < 2; i++) { /* api, lookup: 1000 output tokens at 15 USD / 1M */
        struct sim_request_record r = req(0, 0, 0, 1.0);
        r.output_tokens = 1000;
        r.cost_output_usd = 0.015;
        add(s, r);
    }
    for (int i = 0; i < 3; i++) { /* self-hosted: 500 output tokens, 0.01 USD of GPU */
        struct sim_request_record r = req(0, i == 2, 1, 1.0);
        r.output_tokens = 500;
        r.cost_gpu_usd = 0.01;
        r.flags = i == 0 ? SIM_RF_WARMUP : 0; /* warm-up spending counts too */
        add(s, r);
    }
    struct sim_deployment_stats ds[2] = {
        {.completed = 2,
         .busy_s = 100,
         .provisioned_s = 50,
         .mfu = NAN,
         .mbu = NAN,
         .kv_capacity_tokens = 0,
         .iterations = 9}, /* api: ignored */
        {.completed = 3,
         .busy_s = 300,
         .provisioned_s = 400,
         .gpu_cost_usd = 2.0,
         .gpu_busy_cost_usd = 0.03,
         .iterations = 1234,
         .preemptions = 5,
         .output_tokens = 1500,
         .flops = 4e15,
         .bytes = 6e12,
         .mfu = 0.4,
         .mbu = 0.6,
         .kv_capacity_tokens = 65536},
    };
    struct sim_world_stats ws = {.makespan_s = 100, .n_deployments = 2, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    const double tol = 1e-9;
    ck_assert_double_eq_tol(row_of(s, "all", "utilization").mean, 0.75, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "idle_share").mean, 0.25, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "utilization").mean, 0.75, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "idle_share").mean, 0.25, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "mfu").mean, 0.4, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "mbu").mean, 0.6, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "mfu").mean, 0.4, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "mbu").mean, 0.6, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "preemptions_total").mean, 5, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "preemptions_total").mean, 5, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "iterations").mean, 1234, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "iterations").mean, 1234, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "kv_capacity_tokens").mean, 65536, TOL);
    const char *engine[] = {"utilization",       "idle_share",        "mfu", "mbu", "iterations",
                            "preemptions_total", "kv_capacity_tokens"};
    for (size_t m = 0; m < sizeof engine / sizeof engine[0]; m++)
        ck_assert_uint_eq(row_of(s, "deployment:sonnet", engine[m]).count, 0);

    /* all: (0.03 billed + 2 provisioned) / 3500 output tokens (warm-up in). */
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1m_output_tokens_usd").mean,
                            1e6 * 2.03 / 3500, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cost_per_1m_output_tokens_usd").mean,
                            15.0, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "cost_per_1m_output_tokens_usd").mean,
                            1e6 * 2.0 / 1500, tol);
    /* Classes: lookup has 2 of the 3 self-hosted requests' GPU cost, so
     * 2/3 of the 2 USD, and 2000 + 1000 tokens; analysis 1/3 and 500. */
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cost_per_1m_output_tokens_usd").mean,
                            1e6 * (0.03 + 4.0 / 3) / 3000, tol);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cost_per_1m_output_tokens_usd").mean,
                            1e6 * (2.0 / 3) / 500, tol);
    ana_stats_free(s);

    /* Both self-hosted: sums, and MFU pooled over busy GPU-seconds x peak:
     * (1e15 + 4e15) / (1e15 / 0.5 + 4e15 / 0.4); a NaN MBU is left out. */
    struct sim_scenario sc = make_scenario(0);
    deployments[0].kind = SIM_DEPLOY_SELF_HOSTED;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    add(s, req(0, 0, 0, 1.0));
    ds[0] = (struct sim_deployment_stats){.busy_s = 50,
                                          .provisioned_s = 100,
                                          .iterations = 100,
                                          .preemptions = 2,
                                          .flops = 1e15,
                                          .bytes = 1e12,
                                          .mfu = 0.5,
                                          .mbu = NAN,
                                          .kv_capacity_tokens = INFINITY};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_double_eq_tol(row_of(s, "all", "utilization").mean, 350.0 / 500.0, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "utilization").mean, 0.5, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "mfu").mean, 5e15 / 1.2e16, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "mbu").mean, 0.6, TOL);
    ck_assert_uint_eq(row_of(s, "deployment:sonnet", "mbu").count, 0);
    ck_assert_double_eq_tol(row_of(s, "all", "preemptions_total").mean, 7, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "iterations").mean, 1334, TOL);
    ck_assert_uint_eq(row_of(s, "deployment:sonnet", "kv_capacity_tokens").count, 0); /* inf */
    ana_stats_free(s);

    /* Only api deployments: no engine figures at all. */
    sc = make_scenario(0);
    deployments[1].kind = SIM_DEPLOY_API;
    ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_uint_eq(row_of(s, "all", "utilization").count, 0);
    ck_assert_uint_eq(row_of(s, "all", "iterations").count, 0);
    ck_assert_uint_eq(row_of(s, "all", "cost_per_1m_output_tokens_usd").count, 0); /* no tokens */
    ana_stats_free(s);
}
END_TEST

/* A request of input_tokens `input`, `cached` of them read from a cache,
 * `written` written to one, and time to first token ttft. */
static struct sim_request_record cached_req(int rep, int cls, int dep, uint32_t input,
                                            uint32_t cached, uint32_t written, double ttft)
{
    struct sim_request_record r = req(rep, cls, dep, 1.0);
    r.input_tokens = input;
    r.cached_tokens = cached;
    r.cache_write_tokens = written;
    r.ttft_s = ttft;
    return r;
}

/* Four measured requests of 1000 input tokens with 0, 900, 900, 0 cached:
 * half of them hit, 1800 / 4000 = 0.45 of their tokens; the hits' TTFT
 * 0.2 and 0.4 s, the misses' 1 and 3 s.  A warm-up hit and a rejected
 * request are left out. */
START_TEST(test_cache_hits)
{
    struct ana_stats *s = alloc_stats(10);
    add(s, cached_req(0, 0, 0, 1000, 0, 1000, 1.0));
    add(s, cached_req(0, 0, 0, 1000, 900, 0, 0.2));
    add(s, cached_req(0, 1, 0, 1000, 900, 100, 0.4));
    add(s, cached_req(0, 1, 1, 1000, 0, 500, 3.0));
    struct sim_request_record r = cached_req(0, 0, 0, 5000, 5000, 0, 0.01);
    r.flags = SIM_RF_WARMUP;
    add(s, r);
    r = cached_req(0, 1, 1, 7000, 3000, 4000, NAN);
    r.flags = SIM_RF_REJECTED;
    r.cost_nocache_usd = NAN; /* not looked at */
    add(s, r);

    struct ana_summary_row row = row_of(s, "all", "cache_hit_requests");
    ck_assert_uint_eq(row.count, 4);
    ck_assert_double_eq_tol(row.mean, 0.5, TOL);
    ck_assert_double_eq_tol(row.p50, 0.5, TOL); /* sorted 0 0 1 1, h = 1.5 */
    ck_assert_double_eq_tol(row.p90, 1.0, TOL);
    ck_assert(isnan(row.ci95)); /* one replication, fewer than 20 samples */

    row = row_of(s, "all", "cache_hit_tokens");
    ck_assert_uint_eq(row.count, 4000);
    ck_assert_double_eq_tol(row.mean, 0.45, TOL);
    ck_assert_double_eq_tol(row.p50, 0.45, TOL);
    ck_assert(isnan(row.ci95));

    row = row_of(s, "all", "cache_write_tokens");
    ck_assert_uint_eq(row.count, 4);
    ck_assert_double_eq_tol(row.mean, 400.0, TOL);
    ck_assert_double_eq_tol(row.p50, 300.0, TOL); /* sorted 0 100 500 1000 */
    ck_assert_double_eq_tol(row.p90, 850.0, TOL); /* h = 2.7 */

    row = row_of(s, "all", "ttft_hit_s");
    ck_assert_uint_eq(row.count, 2);
    ck_assert_double_eq_tol(row.mean, 0.3, TOL);
    ck_assert_double_eq_tol(row.p99, 0.2 + 0.99 * 0.2, TOL);
    row = row_of(s, "all", "ttft_miss_s");
    ck_assert_uint_eq(row.count, 2);
    ck_assert_double_eq_tol(row.mean, 2.0, TOL);
    ck_assert_double_eq_tol(row.p50, 2.0, TOL);
    ck_assert_uint_eq(row_of(s, "all", "ttft_s").count, 4);

    /* Scopes: lookup 0 and 900 of 2000; analysis 900 and 0 of 2000;
     * sonnet 1800 of 3000 (3 requests, 2 hits); llama8b no hit. */
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cache_hit_tokens").mean, 0.45, TOL);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cache_hit_requests").mean, 0.5, TOL);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "ttft_hit_s").mean, 0.4, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cache_hit_tokens").mean, 0.6, TOL);
    ck_assert_uint_eq(row_of(s, "deployment:sonnet", "cache_hit_tokens").count, 3000);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cache_hit_requests").mean, 2.0 / 3,
                            TOL);
    row = row_of(s, "deployment:llama8b", "cache_hit_tokens");
    ck_assert_uint_eq(row.count, 1000);
    ck_assert_double_eq_tol(row.mean, 0.0, TOL);
    ck_assert_uint_eq(row_of(s, "deployment:llama8b", "ttft_hit_s").count, 0);
    ck_assert(isnan(row_of(s, "deployment:llama8b", "ttft_hit_s").mean));
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "ttft_miss_s").mean, 3.0, TOL);

    /* A second replication with 2 requests of 1000 tokens, 100 cached each:
     * a ratio of sums over the pool, (1800 + 200) / 6000, not the mean of the
     * replications' ratios 0.45 and 0.1; Student t over those. */
    add(s, cached_req(1, 0, 0, 1000, 100, 0, 0.5));
    add(s, cached_req(1, 0, 0, 1000, 100, 0, 0.7));
    row = row_of(s, "all", "cache_hit_tokens");
    ck_assert_uint_eq(row.count, 6000);
    ck_assert_double_eq_tol(row.mean, 1.0 / 3, TOL);
    ck_assert_double_eq_tol(row.p50, 0.275, TOL);
    ck_assert_double_eq_tol(row.ci95,
                            ana_t_quantile(0.975, 1) * sqrt(2 * 0.175 * 0.175) / sqrt(2.0), 1e-9);
    row = row_of(s, "all", "cache_hit_requests");
    ck_assert_double_eq_tol(row.mean, 4.0 / 6, TOL);
    /* Student t over the replication means 0.5 and 1. */
    ck_assert_double_eq_tol(row.ci95, ana_t_quantile(0.975, 1) * sqrt(0.125) / sqrt(2.0), 1e-9);
    ck_assert_double_eq_tol(row_of(s, "all", "ttft_hit_s").mean, (0.2 + 0.4 + 0.5 + 0.7) / 4, TOL);
    ana_stats_free(s);
}
END_TEST

/* A request with billed lines (input, cache write, cache read, output), a
 * GPU line and the counterfactual cost without caching. */
static struct sim_request_record saved_req(int cls, int dep, const double lines[5], double nocache,
                                           uint32_t flags)
{
    struct sim_request_record r = req(0, cls, dep, 1.0);
    r.cost_input_usd = lines[0];
    r.cost_cache_write_usd = lines[1];
    r.cost_cache_read_usd = lines[2];
    r.cost_output_usd = lines[3];
    r.cost_gpu_usd = lines[4];
    r.cost_nocache_usd = nocache;
    r.flags = flags;
    return r;
}

/* Savings.  Measured requests (billed incl. GPU -> without caching):
 *   A lookup sonnet   0.001 + 0.002 + 0.0003 + 0.005 = 0.0083 -> 0.01  saves  0.0017
 *   B lookup sonnet   0.004 + 0.005               = 0.009  -> 0.008 saves -0.001
 *   C lookup llama8b  GPU 0.002                         -> 0.003 saves  0.001
 *   D analysis llama8b nothing                          -> 0     saves  0
 * all: 0.0017 saved of 0.021 over 4 requests; a warm-up and a rejected
 * request are left out. */
START_TEST(test_cache_savings)
{
    const double a[5] = {0.001, 0.002, 0.0003, 0.005, 0};
    const double b[5] = {0.004, 0, 0, 0.005, 0};
    const double c[5] = {0, 0, 0, 0, 0.002};
    const double d[5] = {0, 0, 0, 0, 0};
    struct ana_stats *s = alloc_stats(10);
    add(s, saved_req(0, 0, a, 0.01, 0));
    add(s, saved_req(0, 0, b, 0.008, 0));
    add(s, saved_req(0, 1, c, 0.003, 0));
    add(s, saved_req(1, 1, d, 0, 0));
    add(s, saved_req(1, 0, a, 100.0, SIM_RF_WARMUP));
    add(s, saved_req(1, 0, d, NAN, SIM_RF_REJECTED)); /* not looked at */
    struct sim_request_record bad = saved_req(0, 0, a, INFINITY, 0);
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);
    bad.flags = SIM_RF_WARMUP; /* checked in the warm-up too, like the cost lines */
    ck_assert_int_eq(ana_stats_add(s, &bad), LLMSIM_ERANGE);

    const double tol = 1e-9;
    struct ana_summary_row row = row_of(s, "all", "savings_usd_per_1k");
    ck_assert_uint_eq(row.count, 4);
    ck_assert_double_eq_tol(row.mean, 1000.0 * 0.0017 / 4, tol);
    ck_assert_double_eq_tol(row.p50, 0.5, tol); /* sorted -1, 0, 1, 1.7 (x 1000), h = 1.5 */
    ck_assert(isnan(row.ci95));
    row = row_of(s, "all", "savings_pct");
    ck_assert_uint_eq(row.count, 4);
    ck_assert_double_eq_tol(row.mean, 100.0 * 0.0017 / 0.021, tol);
    ck_assert_double_eq_tol(row.p50, 100.0 * 0.0017 / 0.021, tol); /* one replication */
    ck_assert(isnan(row.ci95));

    ck_assert_double_eq_tol(row_of(s, "class:lookup", "savings_usd_per_1k").mean,
                            1000.0 * 0.0017 / 3, tol);
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "savings_pct").mean, 100.0 * 0.0017 / 0.021,
                            tol);
    /* Nothing would have been spent: 0, not NaN. */
    row = row_of(s, "class:analysis", "savings_pct");
    ck_assert_uint_eq(row.count, 1);
    ck_assert_double_eq_tol(row.mean, 0.0, TOL);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "savings_usd_per_1k").mean, 0.0, TOL);
    /* sonnet: 0.0007 of 0.018 over 2; llama8b: 0.001 of 0.003 over 2. */
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "savings_usd_per_1k").mean, 0.35, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "savings_pct").mean,
                            100.0 * 0.0007 / 0.018, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "savings_usd_per_1k").mean, 0.5, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "savings_pct").mean, 100.0 / 3, tol);

    /* Caching that costs more (a write premium never repaid): negative. */
    struct ana_stats *s2 = alloc_stats(0);
    add(s2, saved_req(0, 0, b, 0.006, 0));
    ck_assert_double_eq_tol(row_of(s2, "all", "savings_pct").mean, -50.0, tol);
    ck_assert_double_eq_tol(row_of(s2, "all", "savings_usd_per_1k").mean, -3.0, tol);
    ana_stats_free(s2);

    /* No measured request: NaN, count 0. */
    s2 = alloc_stats(0);
    add(s2, saved_req(0, 0, a, 0.01, SIM_RF_WARMUP));
    row = row_of(s2, "all", "savings_pct");
    ck_assert_uint_eq(row.count, 0);
    ck_assert(isnan(row.mean) && isnan(row.p50));
    ck_assert(isnan(row_of(s2, "all", "cache_hit_tokens").mean));
    ana_stats_free(s2);
    ana_stats_free(s);
}
END_TEST

/* Run-level prompt-cache figures and the storage fee in the run's cost.
 * sonnet (api): a lookup request writing 300 tokens and an analysis request
 * writing 100, 0.01 USD of output each, 0.5 USD of storage; llama8b
 * (self-hosted, 2 USD provisioned): one analysis request.  Total 0.02 +
 * 2 + 0.5 = 2.52 USD over 3 requests and 6 output tokens. */
START_TEST(test_cache_run)
{
    struct ana_stats *s = alloc_stats(0);
    struct sim_request_record r = cached_req(0, 0, 0, 1000, 0, 300, 1.0);
    r.cost_output_usd = 0.01;
    add(s, r);
    r = cached_req(0, 1, 0, 1000, 0, 100, 1.0);
    r.cost_output_usd = 0.01;
    add(s, r);
    r = cached_req(0, 1, 1, 1000, 0, 0, 1.0);
    r.cost_gpu_usd = 0.01;
    add(s, r);
    struct sim_deployment_stats ds[2] = {
        {.completed = 2,
         .cache_storage_usd = 0.5,
         .cache_unread_write_usd = 0.2,
         .cache_unread_writes = 3,
         .cache_tokens = 12000},
        {.completed = 1, .gpu_cost_usd = 2.0, .gpu_busy_cost_usd = 0.01},
    };
    struct sim_world_stats ws = {.makespan_s = 10, .n_deployments = 2, .deployments = ds};
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);

    const double tol = 1e-9;
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1k_usd").mean, 1000.0 * 2.52 / 3, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_cache_storage_per_1k_usd").mean,
                            1000.0 * 0.5 / 3, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1m_output_tokens_usd").mean, 1e6 * 2.52 / 6,
                            tol);
    /* The lines add up to the total. */
    const char *lines[] = {"cost_input_per_1k_usd",      "cost_cache_write_per_1k_usd",
                           "cost_cache_read_per_1k_usd", "cost_output_per_1k_usd",
                           "cost_gpu_per_1k_usd",        "cost_cache_storage_per_1k_usd"};
    double sum = 0;
    for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++)
        sum += row_of(s, "all", lines[l]).mean;
    ck_assert_double_eq_tol(sum, 840.0, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cache_storage_usd").mean, 0.5, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "cache_unread_write_usd").mean, 0.2, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "cache_unread_writes").mean, 3, TOL);
    ck_assert_double_eq_tol(row_of(s, "all", "cache_tokens").mean, 12000, TOL);
    ck_assert_uint_eq(row_of(s, "all", "cache_tokens").count, 1);

    /* Deployments: sonnet (0.02 + 0.5) / 2; llama8b 2 / 1, no cache. */
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cost_per_1k_usd").mean, 260.0, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cost_cache_storage_per_1k_usd").mean,
                            250.0, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cost_per_1m_output_tokens_usd").mean,
                            1e6 * 0.52 / 4, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cache_storage_usd").mean, 0.5, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:sonnet", "cache_unread_writes").mean, 3, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "cost_per_1k_usd").mean, 2000.0, tol);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "cost_cache_storage_per_1k_usd").mean,
                            0.0, TOL);
    ck_assert_double_eq_tol(row_of(s, "deployment:llama8b", "cache_tokens").mean, 0.0, TOL);

    /* Classes: storage shared 300 : 100 by cache-write tokens; lookup
     * 0.01 + 0.375 over 1 request, analysis 0.01 + 2 + 0.125 over 2. */
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cost_cache_storage_per_1k_usd").mean, 375.0,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cost_per_1k_usd").mean, 385.0, tol);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cost_cache_storage_per_1k_usd").mean, 62.5,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cost_per_1k_usd").mean, 1067.5, tol);
    ana_stats_free(s);

    /* Nothing written: storage shared by served requests, 1 : 2 on sonnet
     * (a warm-up request counts, as for the GPU shares): 0.2 over 1 request
     * and 0.4 over 2. */
    s = alloc_stats(10);
    add(s, cached_req(0, 0, 0, 1000, 0, 0, 1.0));
    add(s, cached_req(0, 1, 0, 1000, 0, 0, 1.0));
    r = cached_req(0, 1, 0, 1000, 0, 0, 1.0);
    r.flags = SIM_RF_WARMUP;
    add(s, r);
    ds[0].cache_storage_usd = 0.6;
    ds[1].gpu_cost_usd = 0;
    ck_assert_int_eq(ana_stats_add_run(s, 0, &ws), 0);
    ck_assert_double_eq_tol(row_of(s, "class:lookup", "cost_cache_storage_per_1k_usd").mean, 200.0,
                            tol);
    ck_assert_double_eq_tol(row_of(s, "class:analysis", "cost_cache_storage_per_1k_usd").mean,
                            200.0, tol);
    ck_assert_double_eq_tol(row_of(s, "all", "cost_per_1k_usd").mean, 200.0, tol);
    ana_stats_free(s);
}

/* Compact mode against the exact path on the same records: counts and
 * means equal, percentiles within the histogram's 0.5% bound (exact for a
 * 0/1 metric and a constant one), intervals equal across replications
 * (Student t over the same replication means) and of the same size with
 * one replication (10 to 19 batch means instead of 10). */
START_TEST(test_compact_mode)
{
    const int reps_of[2] = {1, 3};
    for (int c = 0; c < 2; c++) {
        struct ana_stats *ex = alloc_stats(0), *co = alloc_stats(0);
        ana_stats_set_exact_limit(co, 2000);
        ck_assert(!ana_stats_compact(co));
        uint64_t x = 88172645463325252ULL; /* xorshift64 */
        for (int rep = 0; rep < reps_of[c]; rep++)
            for (int i = 0; i < 20000; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                double u = (double)(x >> 11) / 9007199254740992.0;
                /* lognormal-ish latencies over four decades, some zeros, signed savings */
                struct sim_request_record r = req(rep, i % 2, (i / 2) % 2, exp(8 * u - 5));
                r.queue_s = u < 0.3 ? 0.0 : r.queue_s;
                r.cached_tokens = u < 0.4 ? 10 : 0;
                r.cost_nocache_usd = u - 0.5; /* savings of both signs */
                r.success = u < 0.7;
                ck_assert_int_eq(ana_stats_add(ex, &r), 0);
                ck_assert_int_eq(ana_stats_add(co, &r), 0);
            }
        ck_assert(ana_stats_compact(co));
        ck_assert(!ana_stats_compact(ex));
        struct ana_summary_row *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        ck_assert_int_eq(ana_stats_summary(ex, &a, &na), 0);
        ck_assert_int_eq(ana_stats_summary(co, &b, &nb), 0);
        ck_assert_uint_eq(na, nb);
        const char *metrics[] = {"ttft_s", "queue_s", "input_tokens", "cache_hit_requests", "savings_usd_per_1k",
                                 "success"};
        const char *scopes[] = {"all", "class:lookup", "deployment:llama8b"};
        for (int k = 0; k < 3; k++)
            for (int m = 0; m < 6; m++) {
                const struct ana_summary_row *e = ana_summary_find(a, na, scopes[k], metrics[m]);
                const struct ana_summary_row *q = ana_summary_find(b, nb, scopes[k], metrics[m]);
                ck_assert_uint_eq(e->count, q->count);
                ck_assert_double_eq_tol(q->mean, e->mean, 1e-9 * (1 + fabs(e->mean)));
                const double pe[] = {e->p50, e->p90, e->p95, e->p99}, pq[] = {q->p50, q->p90, q->p95, q->p99};
                for (int j = 0; j < 4; j++)
                    ck_assert_msg(fabs(pq[j] - pe[j]) <= 0.005 * fabs(pe[j]) + 1e-12, "%s %s p%d: %.9g vs exact %.9g",
                                  scopes[k], metrics[m], j, pq[j], pe[j]);
                if (!strcmp(metrics[m], "input_tokens") || !strcmp(metrics[m], "cache_hit_requests") ||
                    !strcmp(metrics[m], "success"))
                    for (int j = 0; j < 4; j++)
                        ck_assert_double_eq(pq[j], pe[j]);
                if (reps_of[c] > 1)
                    ck_assert_double_eq_tol(q->ci95, e->ci95, 1e-9 * (1 + e->ci95));
                else if (e->ci95 > 0)
                    ck_assert_msg(q->ci95 > 0.4 * e->ci95 && q->ci95 < 2.5 * e->ci95, "%s %s ci %g vs %g", scopes[k],
                                  metrics[m], q->ci95, e->ci95);
            }
        free(a);
        free(b);
        ana_stats_free(ex);
        ana_stats_free(co);
    }
}
END_TEST

END_TEST

/* Type-7 percentile p of sorted x[0..n-1] (see stats.c). */
static double q7(const double *x, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t i = (size_t)floor(h);
    return i + 1 < n ? x[i] + (h - floor(h)) * (x[i + 1] - x[i]) : x[i];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks row r against the samples x[rep][0..n[rep]-1] of nrep
 * replications, in record order: count, mean, percentiles, and the
 * interval of the mean (Student t over the replications' means, or batch
 * means over the one's consecutive samples, which depend on the order). */
static void check_row(struct ana_summary_row r, double x[][600], const size_t *n, int nrep)
{
    double all[1200], sum = 0, means[10];
    size_t total = 0;
    for (int k = 0; k < nrep; k++) {
        double ks = 0;
        for (size_t j = 0; j < n[k]; j++) {
            all[total++] = x[k][j];
            sum += x[k][j];
            ks += x[k][j];
        }
        means[k] = ks / (double)n[k];
    }
    ck_assert_uint_eq(r.count, total);
    ck_assert_double_eq_tol(r.mean, sum / (double)total, TOL);
    size_t nm = (size_t)nrep;
    double t = 12.706204736174698; /* t_{0.975, 1} */
    if (nrep == 1) {
        size_t b = n[0] / 10, skip = n[0] - 10 * b;
        for (size_t k = 0; k < 10; k++) {
            means[k] = 0;
            for (size_t j = 0; j < b; j++)
                means[k] += x[0][skip + k * b + j];
            means[k] /= (double)b;
        }
        nm = 10;
        t = T975_9;
    }
    double m = 0, ss = 0;
    for (size_t k = 0; k < nm; k++)
        m += means[k] / (double)nm;
    for (size_t k = 0; k < nm; k++)
        ss += (means[k] - m) * (means[k] - m);
    ck_assert_double_eq_tol(r.ci95, t * sqrt(ss / (double)(nm - 1)) / sqrt((double)nm), 1e-9);
    qsort(all, total, sizeof *all, cmp_double);
    ck_assert_double_eq_tol(r.p50, q7(all, total, 0.50), TOL);
    ck_assert_double_eq_tol(r.p90, q7(all, total, 0.90), TOL);
    ck_assert_double_eq_tol(r.p95, q7(all, total, 0.95), TOL);
    ck_assert_double_eq_tol(r.p99, q7(all, total, 0.99), TOL);
}

/* Both rows hold the same numbers, bit for bit (NaN as NaN). */
static void same_row(struct ana_summary_row a, struct ana_summary_row b)
{
    const double x[] = {a.mean, a.p50, a.p90, a.p95, a.p99, a.ci95, a.p50_ci95, a.p90_ci95, a.p95_ci95, a.p99_ci95};
    const double y[] = {b.mean, b.p50, b.p90, b.p95, b.p99, b.ci95, b.p50_ci95, b.p90_ci95, b.p95_ci95, b.p99_ci95};
    ck_assert_uint_eq(a.count, b.count);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        ck_assert_msg(memcmp(&x[i], &y[i], sizeof x[i]) == 0, "%s %s field %zu: %.17g vs %.17g", a.scope,
                      a.metric, i, x[i], y[i]);
}

/* Metrics that start as copies of another (perceived_s and ttft_miss_s of
 * ttft_s) or as constants (preemptions 0) and stop being so midway: the
 * samples kept before and after must all be there, in order.  perceived_s is
 * checked against a run where it differs from ttft_s from the first
 * request on, the others against their samples. */
START_TEST(test_virtual_samples)
{
    for (int nrep = 1; nrep <= 2; nrep++) {
        struct ana_stats *a = alloc_stats(0), *b = alloc_stats(0);
        static double pre[2][600], miss[2][600], pre_c[2][600], miss_c[2][600];
        size_t npre[2] = {0, 0}, nmiss[2] = {0, 0}, npre_c[2] = {0, 0}, nmiss_c[2] = {0, 0};
        uint64_t x = 88172645463325252ULL; /* xorshift64 */
        for (int rep = 0; rep < nrep; rep++)
            for (int i = 0; i < 600; i++) {
                double u[2];
                for (int k = 0; k < 2; k++) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    u[k] = (double)(x >> 11) / 9007199254740992.0;
                }
                struct sim_request_record r = req(rep, i % 2, (i / 2) % 2, 0.5 + u[0]);
                r.perceived_s = i < 250 + 40 * rep ? r.ttft_s : 0.5 + u[1];
                r.preemptions = i < 300 - 50 * rep ? 0 : (uint32_t)(i % 3);
                r.cached_tokens = i < 350 || i % 4 ? 0 : 10;
                add(a, r);
                pre[rep][npre[rep]++] = r.preemptions;
                if (r.cached_tokens == 0)
                    miss[rep][nmiss[rep]++] = r.ttft_s;
                if (i % 2 == 1) {
                    pre_c[rep][npre_c[rep]++] = r.preemptions;
                    if (r.cached_tokens == 0)
                        miss_c[rep][nmiss_c[rep]++] = r.ttft_s;
                }
                /* perceived_s never ttft_s (nor a constant past its first) */
                r.ttft_s += 1000;
                add(b, r);
            }
        const char *scopes[3] = {"all", "class:analysis", "deployment:llama8b"};
        for (int k = 0; k < 3; k++)
            same_row(row_of(a, scopes[k], "perceived_s"), row_of(b, scopes[k], "perceived_s"));
        check_row(row_of(a, "all", "preemptions"), pre, npre, nrep);
        check_row(row_of(a, "all", "ttft_miss_s"), miss, nmiss, nrep);
        check_row(row_of(a, "class:analysis", "preemptions"), pre_c, npre_c, nrep);
        check_row(row_of(a, "class:analysis", "ttft_miss_s"), miss_c, nmiss_c, nrep);
        ana_stats_free(a);
        ana_stats_free(b);
    }
}
END_TEST

/* The lean path of ana_stats_add (one class, one deployment, no SLO, exact
 * mode) against the general one, which an SLO nobody misses sends the same
 * requests through: every row the lean run has must be the general run's,
 * bit for bit.  The horizon spans several of rep_room's prefault windows
 * (65536 samples), and preemptions stop being a constant and cache hits
 * start in the second, so virtual arrays are made real midway; a second
 * replication is shorter than the horizon. */
START_TEST(test_lean_path)
{
    struct sim_scenario sc = make_scenario(0);
    sc.workload.n_classes = 1;
    sc.n_deployments = 1;
    sc.max_requests = 150000;
    struct ana_stats *a = NULL, *b = NULL;
    ck_assert_int_eq(ana_stats_alloc(&a, &sc), 0);
    sc.slo.ttft_s = 1e9;
    ck_assert_int_eq(ana_stats_alloc(&b, &sc), 0);
    uint64_t x = 88172645463325252ULL; /* xorshift64 */
    for (int rep = 0; rep < 2; rep++) {
        int nreq = rep == 0 ? 150000 : 7000;
        for (int i = 0; i < nreq; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            double u = (double)(x >> 11) / 9007199254740992.0;
            struct sim_request_record r = req(rep, 0, 0, 0.5 + u);
            r.arrival_s = i * 0.01;
            r.prefill_start_s = r.arrival_s;
            r.first_token_s = r.arrival_s + r.ttft_s;
            r.done_s = r.first_token_s + r.mean_itl_s;
            r.perceived_s = r.ttft_s;
            r.cost_gpu_usd = 1e-4 * u;
            r.cost_nocache_usd = r.cost_gpu_usd;
            r.success = 1;
            r.preemptions = i < 70000 ? 0 : (uint32_t)(i % 3);
            r.cached_tokens = i < 100000 || i % 5 ? 0 : 20;
            if (i % 97 == 5)
                r.flags |= SIM_RF_REJECTED;
            add(a, r);
            add(b, r);
        }
        /* The run-level rows read the sums and the overload bins. */
        struct sim_deployment_stats ds = {.completed = (uint64_t)nreq, .gpu_cost_usd = 3.0};
        struct sim_world_stats ws = {
            .makespan_s = nreq * 0.01 + 2, .n_deployments = 1, .deployments = &ds};
        ck_assert_int_eq(ana_stats_add_run(a, (uint32_t)rep, &ws), 0);
        ck_assert_int_eq(ana_stats_add_run(b, (uint32_t)rep, &ws), 0);
    }
    struct ana_summary_row *rows = NULL, *rows_b = NULL;
    size_t n = 0, n_b = 0;
    ck_assert_int_eq(ana_stats_summary(a, &rows, &n), 0);
    ck_assert_int_eq(ana_stats_summary(b, &rows_b, &n_b), 0);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].metric, "slo_met") == 0)
            continue; /* no samples without an SLO */
        const struct ana_summary_row *g =
            ana_summary_find(rows_b, n_b, rows[i].scope, rows[i].metric);
        ck_assert_msg(g != NULL, "no row %s %s", rows[i].scope, rows[i].metric);
        same_row(rows[i], *g);
    }
    /* And every served request's samples are there: i = 5 mod 97 is
     * rejected. */
    ck_assert_uint_eq(row_of(a, "all", "ttft_s").count,
                      150000 - (150000 + 91) / 97 + 7000 - (7000 + 91) / 97);
    ck_assert_uint_eq(row_of(a, "all", "preemptions").count,
                      150000 - (150000 + 91) / 97 + 7000 - (7000 + 91) / 97);
    ck_assert(isfinite(row_of(a, "all", "offered_rps").mean));
    free(rows);
    free(rows_b);
    ana_stats_free(a);
    ana_stats_free(b);
}
END_TEST

/* A metric whose every sample is one constant with no exact sum (cost_usd
 * 0.1): the summary works it out without the samples in memory, and must
 * still add them one by one, in order, as it adds a real array's. */
START_TEST(test_constant_rows)
{
    for (int nrep = 1; nrep <= 2; nrep++) {
        struct sim_scenario sc = make_scenario(0);
        sc.workload.n_classes = 1;
        sc.n_deployments = 1;
        struct ana_stats *s = NULL;
        ck_assert_int_eq(ana_stats_alloc(&s, &sc), 0);
        double sum = 0;
        int n = 0;
        for (int rep = 0; rep < nrep; rep++)
            for (int i = 0; i < (rep == 0 ? 1003 : 517); i++) {
                struct sim_request_record r = req(rep, 0, 0, 1.0 + i);
                r.cost_gpu_usd = 0.1;
                add(s, r);
                sum += 0.1;
                n++;
            }
        struct ana_summary_row c = row_of(s, "all", "cost_usd");
        ck_assert_uint_eq(c.count, (uint64_t)n);
        double mean = sum / n;
        ck_assert_msg(memcmp(&c.mean, &mean, sizeof mean) == 0, "mean %.17g, want %.17g", c.mean,
                      mean);
        ck_assert(mean != 0.1); /* the sum of copies is not n x 0.1 */
        ck_assert(c.p50 == 0.1 && c.p90 == 0.1 && c.p95 == 0.1 && c.p99 == 0.1);
        ck_assert(isfinite(c.ci95));
        ana_stats_free(s);
    }
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 60); /* the compact-mode comparison is slow under the sanitizers */
    tcase_add_test(tc, test_t_quantile);
    tcase_add_test(tc, test_percentiles_1_to_20);
    tcase_add_test(tc, test_percentiles_small);
    tcase_add_test(tc, test_batch_means);
    tcase_add_test(tc, test_ci_replications);
    tcase_add_test(tc, test_warmup_excluded);
    tcase_add_test(tc, test_itl_needs_two_tokens);
    tcase_add_test(tc, test_scopes);
    tcase_add_test(tc, test_compact_mode);
    tcase_add_test(tc, test_virtual_samples);
    tcase_add_test(tc, test_lean_path);
    tcase_add_test(tc, test_constant_rows);
    tcase_add_test(tc, test_run_costs);
    tcase_add_test(tc, test_run_costs_by_count);
    tcase_add_test(tc, test_run_ci);
    tcase_add_test(tc, test_sink);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_growth);
    tcase_add_test(tc, test_horizon_growth);
    tcase_add_test(tc, test_rejected);
    tcase_add_test(tc, test_preemptions);
    tcase_add_test(tc, test_itl_token_weighted);
    tcase_add_test(tc, test_itl_token_accuracy);
    tcase_add_test(tc, test_itl_token_errors);
    tcase_add_test(tc, test_itl_token_memory);
    tcase_add_test(tc, test_run_engine);
    tcase_add_test(tc, test_cache_hits);
    tcase_add_test(tc, test_cache_savings);
    tcase_add_test(tc, test_cache_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stats_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
