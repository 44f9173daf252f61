/* The simulated world beyond queueing theory: timing arithmetic of the api
 * and linear latency models against hand-computed values, replica routing,
 * the horizon, trace replay, determinism and common random numbers,
 * timeseries rows, statistics, the stepping API, sink failures and every
 * scenario error sim_world_alloc reports.
 *
 * Scenarios are built in C from a small base (one class, one deployment)
 * that each test adjusts. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/config.h"
#include "llmsim/world.h"
#include "testutil.h"

/* ---- scenario building ------------------------------------------------- */

static void set_name(char *dst, const char *src)
{
    snprintf(dst, SIM_NAME_MAX, "%s", src);
}

static void dist_exp(struct mdl_dist *d, double mean)
{
    mdl_dist_constant(d, mean);
    d->kind = MDL_DIST_EXPONENTIAL;
    ck_assert_int_eq(mdl_dist_prepare(d, NULL), 0);
}

static void dist_lognormal(struct mdl_dist *d, double mean, double cv)
{
    mdl_dist_constant(d, mean);
    d->kind = MDL_DIST_LOGNORMAL;
    d->sd = cv * mean;
    ck_assert_int_eq(mdl_dist_prepare(d, NULL), 0);
}

/* Allocates n classes, each with the given number of constant segments. */
static void add_classes(struct sim_scenario *sc, size_t n, size_t segments)
{
    struct sim_workload_cfg *wl = &sc->workload;
    wl->n_classes = n;
    wl->classes = calloc(n, sizeof *wl->classes);
    ck_assert_ptr_nonnull(wl->classes);
    for (size_t i = 0; i < n; i++) {
        struct sim_class_cfg *c = &wl->classes[i];
        char name[SIM_NAME_MAX];
        snprintf(name, sizeof name, "class%zu", i);
        set_name(c->name, name);
        c->share = 1.0 / (double)n;
        c->difficulty[SIM_DIFF_MODERATE] = 1.0;
        c->n_segments = segments;
        c->segments = calloc(segments, sizeof *c->segments);
        ck_assert(segments == 0 || c->segments != NULL);
        for (size_t s = 0; s < segments; s++) {
            set_name(c->segments[s].name, "segment");
            mdl_dist_constant(&c->segments[s].tokens, 100.0);
            c->segments[s].variants = 1;
        }
        mdl_dist_constant(&c->output_tokens, 50.0);
    }
}

/* Allocates n deployments; all self-hosted, one replica, exponential
 * service time of mean 1 s, until a test changes them. */
static void add_deployments(struct sim_scenario *sc, size_t n)
{
    sc->n_deployments = n;
    sc->deployments = calloc(n, sizeof *sc->deployments);
    ck_assert_ptr_nonnull(sc->deployments);
    for (size_t i = 0; i < n; i++) {
        struct sim_deployment_cfg *d = &sc->deployments[i];
        char name[SIM_NAME_MAX];
        snprintf(name, sizeof name, "dep%zu", i);
        set_name(d->name, name);
        d->kind = SIM_DEPLOY_SELF_HOSTED;
        d->latency_kind = MDL_LAT_SERVICE_TIME;
        dist_exp(&d->service_time_s, 1.0);
        mdl_dist_constant(&d->api.itl_ms, 20.0);
        d->replicas = 1;
        d->tp = 1;
        d->gpu_hour_usd = 2.0;
        d->scheduler = SIM_SCHED_NONE;
        d->replica_routing = SIM_RR_ROUND_ROBIN;
    }
}

/* Releases the classes (or deployments) of sc so a test can add others. */
static void drop_classes(struct sim_scenario *sc)
{
    struct sim_workload_cfg *wl = &sc->workload;
    for (size_t i = 0; i < wl->n_classes; i++) {
        for (size_t s = 0; s < wl->classes[i].n_segments; s++)
            mdl_dist_free(&wl->classes[i].segments[s].tokens);
        free(wl->classes[i].segments);
        mdl_dist_free(&wl->classes[i].output_tokens);
    }
    free(wl->classes);
    wl->classes = NULL;
    wl->n_classes = 0;
}

static void drop_deployments(struct sim_scenario *sc)
{
    for (size_t i = 0; i < sc->n_deployments; i++) {
        mdl_dist_free(&sc->deployments[i].service_time_s);
        mdl_dist_free(&sc->deployments[i].api.itl_ms);
    }
    free(sc->deployments);
    sc->deployments = NULL;
    sc->n_deployments = 0;
}

/* The base: Poisson arrivals at rate, one class with one segment, one
 * self-hosted deployment, n requests. */
static void base(struct sim_scenario *sc, uint64_t seed, double rate, uint64_t n)
{
    memset(sc, 0, sizeof *sc);
    set_name(sc->name, "world-test");
    sc->seed = seed;
    sc->max_requests = n;
    sc->replications = 1;
    sc->workload.process = SIM_ARRIVAL_POISSON;
    sc->workload.rate_per_s = rate;
    add_classes(sc, 1, 1);
    add_deployments(sc, 1);
    sc->routing.policy = SIM_ROUTE_FIXED;
    sc->routing.to = 0;
}

/* Makes deployment i an api deployment with the given latency figures. */
static void make_api(struct sim_deployment_cfg *d, double network_ms, double base_ms,
                     double prefill_tps, double itl_ms)
{
    d->kind = SIM_DEPLOY_API;
    d->latency_kind = MDL_LAT_API;
    d->api.network_ms = network_ms;
    d->api.ttft_base_ms = base_ms;
    d->api.prefill_tokens_per_s = prefill_tps;
    d->api.cached_prefill_tokens_per_s = 0;
    mdl_dist_free(&d->api.itl_ms);
    mdl_dist_constant(&d->api.itl_ms, itl_ms);
    snprintf(d->price.id, sizeof d->price.id, "test-model");
    d->price.input_per_mtok = 3.0;
    d->price.output_per_mtok = 15.0;
    d->price.cache_read_mult = 0.1;
    d->price.cache_write_5m_mult = 1.25;
    d->price.cache_write_1h_mult = 2.0;
    d->price.batch_discount = 0.5;
}

/* ---- record collection ------------------------------------------------- */

struct recs {
    struct sim_request_record *v;
    size_t n, cap;
    struct sim_ts_record *ts;
    size_t nts, capts;
    size_t fail_after; /* fail the request sink on this call (1-based); 0 = never */
    size_t fail_ts_after;
};

static int collect(void *ctx, const struct sim_request_record *r)
{
    struct recs *c = ctx;
    if (c->fail_after && c->n + 1 == c->fail_after)
        return LLMSIM_EIO;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        ck_assert_ptr_nonnull(c->v);
    }
    c->v[c->n++] = *r;
    return 0;
}

static int collect_ts(void *ctx, const struct sim_ts_record *t)
{
    struct recs *c = ctx;
    if (c->fail_ts_after && c->nts + 1 == c->fail_ts_after)
        return LLMSIM_ENOMEM;
    if (c->nts == c->capts) {
        c->capts = c->capts ? 2 * c->capts : 256;
        c->ts = realloc(c->ts, c->capts * sizeof *c->ts);
        ck_assert_ptr_nonnull(c->ts);
    }
    c->ts[c->nts++] = *t;
    return 0;
}

static void recs_free(struct recs *c)
{
    free(c->v);
    free(c->ts);
    memset(c, 0, sizeof *c);
}

/* Runs replication rep of sc to the end, collecting records and stats. */
static void run_all(const struct sim_scenario *sc, uint32_t rep, struct recs *out,
                    struct sim_world_stats *st_out, double *dep_cost)
{
    struct sim_sink sink = {.ctx = out, .request = collect, .timeseries = collect_ts};
    struct sim_world *w;
    struct llmsim_error err;
    int rc = sim_world_alloc(&w, sc, rep, &sink, &err);
    ck_assert_msg(rc == 0, "alloc: %s", err.msg);
    ck_assert_int_eq(sim_run(w), 0);
    if (st_out != NULL) {
        sim_world_stats(w, st_out);
        if (dep_cost != NULL)
            *dep_cost = st_out->deployments[0].gpu_cost_usd;
        st_out->deployments = NULL; /* freed with the world */
    }
    sim_world_free(w);
}

static double mean_queue(const struct recs *c)
{
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++)
        s += c->v[i].queue_s;
    return s / (double)c->n;
}

/* ---- api timing and cost ----------------------------------------------- */

/* Constant arrivals every 0.5 s up to 10 s: the first at 1/rate, the last at
 * the horizon itself; TTFT = (50 + 300) ms + 2000 / 10000 s = 0.55 s;
 * E2E = 0.55 + 100 x 0.020 = 2.55 s; cost lines at $3 / $15 per Mtok. */
START_TEST(api_timing_and_cost_exact)
{
    struct sim_scenario sc;
    base(&sc, 11, 2.0, 0);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.duration_s = 10.0;
    /* Two segments of 1500 and 500 tokens, 101 output tokens. */
    drop_classes(&sc);
    add_classes(&sc, 1, 2);
    struct sim_class_cfg *c = &sc.workload.classes[0];
    mdl_dist_constant(&c->segments[0].tokens, 1500.0);
    mdl_dist_constant(&c->segments[1].tokens, 500.0);
    mdl_dist_constant(&c->output_tokens, 101.0);
    make_api(&sc.deployments[0], 50.0, 300.0, 10000.0, 20.0);

    struct recs rs = {0};
    struct sim_world_stats st;
    run_all(&sc, 0, &rs, &st, NULL);
    ck_assert_uint_eq(rs.n, 20);
    ck_assert_uint_eq(st.arrivals, 20);
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        ck_assert_uint_eq(r->id, i); /* equal latencies: completion order = arrival order */
        ck_assert_double_eq_tol(r->arrival_s, 0.5 * (double)(i + 1), 1e-12);
        ck_assert_double_eq(r->dispatch_s, r->arrival_s);
        ck_assert_double_eq(r->prefill_start_s, r->arrival_s);
        ck_assert_double_eq(r->queue_s, 0.0);
        ck_assert_double_eq_tol(r->ttft_s, 0.55, 1e-12);
        ck_assert_double_eq_tol(r->e2e_s, 2.55, 1e-12);
        ck_assert_double_eq_tol(r->mean_itl_s, 0.020, 1e-12);
        ck_assert_double_eq_tol(r->done_s - r->first_token_s, 100 * 0.020, 1e-12);
        ck_assert_uint_eq(r->input_tokens, 2000);
        ck_assert_uint_eq(r->output_tokens, 101);
        ck_assert_uint_eq(r->cached_tokens, 0);
        ck_assert_uint_eq(r->cache_write_tokens, 0);
        ck_assert_int_eq(r->replica, 0);
        ck_assert_int_eq(r->deployment, 0);
        ck_assert_int_eq(r->class_idx, 0);
        ck_assert_int_eq(r->difficulty, SIM_DIFF_MODERATE);
        ck_assert_int_eq(r->session, -1);
        ck_assert_int_eq(r->turn, 0);
        ck_assert_int_eq(r->replication, 0);
        ck_assert_double_eq_tol(r->cost_input_usd, 2000 * 3.0e-6, 1e-15);
        ck_assert_double_eq_tol(r->cost_output_usd, 101 * 15.0e-6, 1e-15);
        ck_assert_double_eq(r->cost_cache_read_usd, 0.0);
        ck_assert_double_eq(r->cost_cache_write_usd, 0.0);
        ck_assert_double_eq(r->cost_gpu_usd, 0.0);
        ck_assert_double_eq_tol(r->cost_nocache_usd, 2000 * 3.0e-6 + 101 * 15.0e-6, 1e-15);
        ck_assert_uint_eq(r->success, 1);
        ck_assert_uint_eq(r->flags, 0);
    }
    ck_assert_double_eq_tol(st.makespan_s, 10.0 + 2.55, 1e-12);
    /* Twenty requests, each 2.55 s in the system. */
    ck_assert_double_eq_tol(st.area_in_system, 20 * 2.55, 1e-9);
    ck_assert_double_eq_tol(st.sum_sojourn_s, 20 * 2.55, 1e-9);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* An api deployment has no replicas: no provisioned time and no GPU cost. */
START_TEST(api_stats_no_gpu)
{
    struct sim_scenario sc;
    base(&sc, 12, 5.0, 200);
    make_api(&sc.deployments[0], 40.0, 200.0, 20000.0, 15.0);
    struct sim_world *w;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, NULL, NULL), 0);
    ck_assert_int_eq(sim_run(w), 0);
    struct sim_world_stats st;
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.n_deployments, 1);
    ck_assert_uint_eq(st.deployments[0].completed, 200);
    ck_assert_double_eq(st.deployments[0].provisioned_s, 0.0);
    ck_assert_double_eq(st.deployments[0].gpu_cost_usd, 0.0);
    ck_assert_double_eq(st.deployments[0].gpu_busy_cost_usd, 0.0);
    sim_world_free(w);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- linear latency ------------------------------------------------------ */

/* Prefill = 0.02 + 1e-4 x 1000 + 7e-9 x 1000^2 = 0.127 s.  Decode: 199 steps
 * of 0.015 + 2e-4 + 1e-8 x (1000 + j), j = 1..199, that is
 * 199 x 0.01521 + 1e-8 x 199 x 200 / 2 = 3.02679 + 0.000199 = 3.026989 s.
 * Arrivals every 2 s, so requests queue behind each other on one replica:
 * each starts when the previous one is done (FIFO). */
START_TEST(linear_latency_hand_arithmetic)
{
    struct sim_scenario sc;
    base(&sc, 13, 0.5, 6);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    struct sim_class_cfg *c = &sc.workload.classes[0];
    mdl_dist_constant(&c->segments[0].tokens, 1000.0);
    mdl_dist_constant(&c->output_tokens, 200.0);
    struct sim_deployment_cfg *d = &sc.deployments[0];
    d->latency_kind = MDL_LAT_LINEAR;
    d->linear = (struct mdl_linear_latency){.prefill_a_s = 0.02,
                                            .prefill_b_s = 1.0e-4,
                                            .prefill_c_s = 7.0e-9,
                                            .decode_a_s = 0.015,
                                            .decode_b_batch_s = 2.0e-4,
                                            .decode_c_context_s = 1.0e-8};
    d->tp = 2;
    d->gpu_hour_usd = 3.0;
    const double prefill = 0.127, decode = 3.026989, service = prefill + decode;

    struct recs rs = {0};
    struct sim_world_stats st;
    double gpu_cost;
    run_all(&sc, 0, &rs, &st, &gpu_cost);
    ck_assert_uint_eq(rs.n, 6);
    double prev_done = 0.0;
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        ck_assert_uint_eq(r->id, i);
        ck_assert_double_eq_tol(r->arrival_s, 2.0 * (double)(i + 1), 1e-12);
        ck_assert_double_eq(r->dispatch_s, r->arrival_s);
        double start = fmax(r->arrival_s, prev_done);
        ck_assert_double_eq_tol(r->prefill_start_s, start, 1e-12);
        ck_assert_double_eq_tol(r->first_token_s - r->prefill_start_s, prefill, 1e-12);
        ck_assert_double_eq_tol(r->done_s - r->first_token_s, decode, 1e-12);
        ck_assert_double_eq_tol(r->mean_itl_s, decode / 199.0, 1e-12);
        ck_assert_double_eq_tol(r->queue_s, start - r->arrival_s, 1e-12);
        ck_assert_double_eq_tol(r->cost_gpu_usd, service * 2 * 3.0 / 3600.0, 1e-15);
        ck_assert_double_eq(r->cost_nocache_usd, r->cost_gpu_usd);
        ck_assert_double_eq(r->cost_input_usd + r->cost_output_usd, 0.0);
        prev_done = r->done_s;
    }
    ck_assert_double_eq_tol(rs.v[1].queue_s, service - 2.0, 1e-12);
    ck_assert_double_eq_tol(st.makespan_s, 2.0 + 6 * service, 1e-9);
    ck_assert_double_eq_tol(gpu_cost, 1 * st.makespan_s * 2 * 3.0 / 3600.0, 1e-15);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* Constant service time: first token = done = end of service. */
START_TEST(service_time_first_token_is_done)
{
    struct sim_scenario sc;
    base(&sc, 14, 0.8, 500);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 500);
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        ck_assert_double_eq(r->first_token_s, r->done_s);
        ck_assert_double_eq(r->ttft_s, r->e2e_s);
        ck_assert_double_ge(r->queue_s, 0.0);
        ck_assert_double_ge(r->done_s, r->prefill_start_s);
        /* One replica, FIFO: completion order is arrival order. */
        ck_assert_uint_eq(r->id, i);
        if (i > 0)
            ck_assert_double_eq(r->prefill_start_s, fmax(r->arrival_s, rs.v[i - 1].done_s));
    }
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- replica routing ----------------------------------------------------- */

static void per_replica(struct sim_scenario *sc, int c, enum sim_replica_routing rr)
{
    sc->deployments[0].replicas = c;
    sc->deployments[0].queue_shared = 0;
    sc->deployments[0].replica_routing = rr;
}

START_TEST(round_robin_balances_exactly)
{
    struct sim_scenario sc;
    base(&sc, 21, 3.0, 4000);
    per_replica(&sc, 4, SIM_RR_ROUND_ROBIN);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 4000);
    uint64_t count[4] = {0};
    for (size_t i = 0; i < rs.n; i++) {
        ck_assert_int_eq(rs.v[i].replica, (int)(rs.v[i].id % 4));
        count[rs.v[i].replica]++;
    }
    for (int j = 0; j < 4; j++)
        ck_assert_uint_eq(count[j], 1000);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* c = 4, rho = 0.8.  Random splitting of a Poisson stream gives four
 * independent M/M/1 queues at rho = 0.8 (Wq = 4 s); join-the-shortest-queue
 * is close to the shared M/M/4 queue (Wq = 0.75 s) and never better. */
START_TEST(least_loaded_beats_random)
{
    const uint64_t n = 200000;
    double wq_random, wq_least, wq_shared;
    struct recs rs = {0};
    struct sim_scenario sc;

    base(&sc, 22, 3.2, n);
    sc.warmup_s = 0;
    per_replica(&sc, 4, SIM_RR_RANDOM);
    run_all(&sc, 0, &rs, NULL, NULL);
    wq_random = mean_queue(&rs);
    uint64_t count[4] = {0};
    for (size_t i = 0; i < rs.n; i++)
        count[rs.v[i].replica]++;
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol((double)count[j] / (double)n, 0.25, 0.01);
    recs_free(&rs);

    per_replica(&sc, 4, SIM_RR_LEAST_LOADED);
    run_all(&sc, 0, &rs, NULL, NULL);
    wq_least = mean_queue(&rs);
    recs_free(&rs);

    sc.deployments[0].queue_shared = 1;
    run_all(&sc, 0, &rs, NULL, NULL);
    wq_shared = mean_queue(&rs);
    recs_free(&rs);

    fprintf(stderr, "c=4 rho=0.8: Wq random %.3f, least_loaded %.3f, shared %.3f\n", wq_random,
            wq_least, wq_shared);
    ck_assert_double_eq_tol(wq_random, 4.0, 0.6);
    ck_assert_double_lt(wq_least, 0.5 * wq_random);
    ck_assert_double_ge(wq_least, wq_shared);
    ck_assert_double_eq_tol(wq_shared, 0.7455, 0.08);
    sim_scenario_free(&sc);
}
END_TEST

/* Ties go to the lowest index: with arrivals far apart (every replica idle)
 * a shared queue and least_loaded both send every request to replica 0. */
START_TEST(ties_go_to_lowest_replica)
{
    struct sim_scenario sc;
    base(&sc, 23, 0.1, 50);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.deployments[0].replicas = 3;
    mdl_dist_constant(&sc.deployments[0].service_time_s, 1.0);
    for (int shared = 0; shared < 2; shared++) {
        sc.deployments[0].queue_shared = shared;
        sc.deployments[0].replica_routing = SIM_RR_LEAST_LOADED;
        struct recs rs = {0};
        run_all(&sc, 0, &rs, NULL, NULL);
        ck_assert_uint_eq(rs.n, 50);
        for (size_t i = 0; i < rs.n; i++)
            ck_assert_int_eq(rs.v[i].replica, 0);
        recs_free(&rs);
    }
    sim_scenario_free(&sc);
}
END_TEST

/* Two requests at once on two replicas: the shared queue and least_loaded
 * use both; the third waits for the first replica to finish. */
START_TEST(shared_queue_takes_head)
{
    struct sim_scenario sc;
    base(&sc, 24, 1.0, 0);
    static const double t[] = {1.0, 1.0, 1.0, 1.5};
    static const uint32_t tok[] = {10, 10, 10, 10};
    sc.workload.process = SIM_ARRIVAL_TRACE;
    sc.workload.trace_speedup = 1.0;
    sc.workload.trace.n = 4;
    sc.workload.trace.t_s = malloc(sizeof t);
    sc.workload.trace.input_tokens = malloc(sizeof tok);
    sc.workload.trace.output_tokens = malloc(sizeof tok);
    memcpy(sc.workload.trace.t_s, t, sizeof t);
    memcpy(sc.workload.trace.input_tokens, tok, sizeof tok);
    memcpy(sc.workload.trace.output_tokens, tok, sizeof tok);
    sc.deployments[0].replicas = 2;
    sc.deployments[0].queue_shared = 1;
    mdl_dist_constant(&sc.deployments[0].service_time_s, 2.0);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 4);
    /* ids 0 and 1 start at 1 on replicas 0 and 1, finish at 3; id 2 then
     * takes replica 0 (its completion was scheduled first), id 3 replica 1. */
    static const int replica[] = {0, 1, 0, 1};
    static const double start[] = {1.0, 1.0, 3.0, 3.0};
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        ck_assert_uint_eq(r->id, i);
        ck_assert_int_eq(r->replica, replica[i]);
        ck_assert_double_eq(r->prefill_start_s, start[i]);
        ck_assert_double_eq(r->done_s, start[i] + 2.0);
    }
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- routing across deployments ------------------------------------------ */

START_TEST(split_routing_follows_weights)
{
    struct sim_scenario sc;
    base(&sc, 31, 10.0, 20000);
    /* Three api deployments with weights 0.25, 0, 0.75. */
    drop_deployments(&sc);
    add_deployments(&sc, 3);
    for (int i = 0; i < 3; i++)
        make_api(&sc.deployments[i], 10.0 * (i + 1), 100.0, 5000.0, 10.0);
    sc.routing.policy = SIM_ROUTE_SPLIT;
    sc.routing.weights = calloc(3, sizeof *sc.routing.weights);
    ck_assert_ptr_nonnull(sc.routing.weights);
    sc.routing.weights[0] = 0.25;
    sc.routing.weights[2] = 0.75;
    struct recs rs = {0};
    struct sim_world_stats st;
    run_all(&sc, 0, &rs, &st, NULL);
    uint64_t count[3] = {0};
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        count[r->deployment]++;
        /* The latency is the chosen deployment's. */
        double ttft = (10.0 * (r->deployment + 1) + 100.0) * 1e-3 + 100.0 / 5000.0;
        ck_assert_double_eq_tol(r->ttft_s, ttft, 1e-12);
    }
    ck_assert_uint_eq(count[1], 0);
    ck_assert_double_eq_tol((double)count[0] / 20000.0, 0.25, 0.01);
    ck_assert_uint_eq(count[0] + count[2], 20000);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- workload ------------------------------------------------------------ */

/* The duration stops arrivals (none after it), in-flight requests drain,
 * the first Poisson arrival is one gap after 0, and the warm-up flag marks
 * exactly the requests that arrived before warmup_s. */
START_TEST(horizon_duration_and_warmup)
{
    struct sim_scenario sc;
    base(&sc, 41, 0.9, 0);
    sc.duration_s = 2000.0;
    sc.warmup_s = 300.0;
    struct recs rs = {0};
    struct sim_world_stats st;
    run_all(&sc, 0, &rs, &st, NULL);
    ck_assert_uint_eq(st.arrivals, rs.n);
    ck_assert_uint_gt(rs.n, 1500);
    ck_assert_uint_lt(rs.n, 2100);
    double first = INFINITY, last = 0;
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        first = fmin(first, r->arrival_s);
        last = fmax(last, r->arrival_s);
        ck_assert_uint_eq(r->flags & SIM_RF_WARMUP, r->arrival_s < 300.0 ? SIM_RF_WARMUP : 0u);
    }
    ck_assert_double_gt(first, 0.0);
    ck_assert_double_le(last, 2000.0);
    ck_assert_double_ge(st.makespan_s, last);
    recs_free(&rs);

    /* Both limits: whichever comes first. */
    sc.max_requests = 100;
    run_all(&sc, 0, &rs, &st, NULL);
    ck_assert_uint_eq(rs.n, 100);
    recs_free(&rs);

    /* The boundary: a request arriving exactly at warmup_s is not flagged. */
    sc.max_requests = 0;
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.workload.rate_per_s = 1.0;
    sc.warmup_s = 3.0;
    sc.duration_s = 10.0;
    run_all(&sc, 0, &rs, &st, NULL);
    ck_assert_uint_eq(rs.n, 10);
    for (size_t i = 0; i < rs.n; i++)
        ck_assert_uint_eq(rs.v[i].flags, rs.v[i].id < 2 ? SIM_RF_WARMUP : 0u);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* Gamma gaps: mean 1/rate, coefficient of variation cv. */
START_TEST(gamma_arrivals_moments)
{
    struct sim_scenario sc;
    base(&sc, 42, 4.0, 100000);
    sc.workload.process = SIM_ARRIVAL_GAMMA;
    sc.workload.cv = 2.0;
    make_api(&sc.deployments[0], 1.0, 1.0, 1e6, 1.0);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 100000);
    /* Constant latencies: completion order is arrival order. */
    double s = 0, s2 = 0, prev = 0;
    for (size_t i = 0; i < rs.n; i++) {
        ck_assert_uint_eq(rs.v[i].id, i);
        double g = rs.v[i].arrival_s - prev;
        prev = rs.v[i].arrival_s;
        s += g;
        s2 += g * g;
    }
    double m = s / rs.n, var = s2 / rs.n - m * m;
    ck_assert_double_eq_tol(m, 0.25, 0.01);
    ck_assert_double_eq_tol(sqrt(var) / m, 2.0, 0.08);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* Class shares, difficulty probabilities and length rounding. */
START_TEST(classes_difficulty_lengths)
{
    struct sim_scenario sc;
    base(&sc, 43, 50.0, 50000);
    drop_classes(&sc);
    add_classes(&sc, 2, 3);
    struct sim_class_cfg *a = &sc.workload.classes[0], *b = &sc.workload.classes[1];
    a->share = 0.3;
    b->share = 0.7;
    a->difficulty[SIM_DIFF_SIMPLE] = 0.2;
    a->difficulty[SIM_DIFF_MODERATE] = 0.5;
    a->difficulty[SIM_DIFF_COMPLEX] = 0.3;
    b->difficulty[SIM_DIFF_MODERATE] = 0.0;
    b->difficulty[SIM_DIFF_COMPLEX] = 1.0;
    /* Segments of 10.4, -5 (counts 0) and 0.6 tokens; output 0.2 -> 1. */
    mdl_dist_constant(&a->segments[0].tokens, 10.4);
    mdl_dist_constant(&a->segments[1].tokens, -5.0);
    mdl_dist_constant(&a->segments[2].tokens, 0.6);
    mdl_dist_constant(&a->output_tokens, 0.2);
    mdl_dist_constant(&b->output_tokens, 7.5);
    make_api(&sc.deployments[0], 1.0, 1.0, 1e6, 1.0);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    uint64_t n_class[2] = {0}, n_diff[3] = {0};
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        n_class[r->class_idx]++;
        if (r->class_idx == 0) {
            n_diff[r->difficulty]++;
            ck_assert_uint_eq(r->input_tokens, 11);
            ck_assert_uint_eq(r->output_tokens, 1);
            ck_assert_double_eq(r->mean_itl_s, 0.0);
            ck_assert_double_eq(r->first_token_s, r->done_s);
        } else {
            ck_assert_int_eq(r->difficulty, SIM_DIFF_COMPLEX);
            ck_assert_uint_eq(r->input_tokens, 300);
            ck_assert_uint_eq(r->output_tokens, 8);
        }
    }
    ck_assert_double_eq_tol((double)n_class[0] / rs.n, 0.3, 0.01);
    ck_assert_double_eq_tol((double)n_diff[0] / n_class[0], 0.2, 0.015);
    ck_assert_double_eq_tol((double)n_diff[1] / n_class[0], 0.5, 0.015);
    ck_assert_double_eq_tol((double)n_diff[2] / n_class[0], 0.3, 0.015);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* A trace: times divided by the speedup, lengths as given (output 0 -> 1),
 * class 0, and max_requests cuts it short. */
START_TEST(trace_replay)
{
    static const double t[] = {0.0, 1.0, 1.0, 4.5, 10.0};
    static const uint32_t in[] = {100, 2000, 3, 0, 77};
    static const uint32_t out[] = {10, 0, 5, 1, 9};
    struct sim_scenario sc;
    base(&sc, 44, 1.0, 0);
    sc.workload.process = SIM_ARRIVAL_TRACE;
    sc.workload.trace_speedup = 2.0;
    sc.workload.trace.n = 5;
    sc.workload.trace.t_s = malloc(sizeof t);
    sc.workload.trace.input_tokens = malloc(sizeof in);
    sc.workload.trace.output_tokens = malloc(sizeof out);
    memcpy(sc.workload.trace.t_s, t, sizeof t);
    memcpy(sc.workload.trace.input_tokens, in, sizeof in);
    memcpy(sc.workload.trace.output_tokens, out, sizeof out);
    make_api(&sc.deployments[0], 0.0, 100.0, 1000.0, 10.0);
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 5);
    for (size_t i = 0; i < rs.n; i++) {
        const struct sim_request_record *r = &rs.v[i];
        size_t k = r->id;
        ck_assert_double_eq(r->arrival_s, t[k] / 2.0);
        ck_assert_uint_eq(r->input_tokens, in[k]);
        ck_assert_uint_eq(r->output_tokens, out[k] ? out[k] : 1);
        ck_assert_int_eq(r->class_idx, 0);
        ck_assert_double_eq_tol(r->ttft_s, 0.1 + in[k] / 1000.0, 1e-12);
    }
    recs_free(&rs);
    sc.max_requests = 3;
    run_all(&sc, 0, &rs, NULL, NULL);
    ck_assert_uint_eq(rs.n, 3);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- determinism and common random numbers -------------------------------- */

static void lognormal_workload(struct sim_scenario *sc)
{
    struct sim_class_cfg *c = &sc->workload.classes[0];
    mdl_dist_free(&c->segments[0].tokens);
    dist_lognormal(&c->segments[0].tokens, 800.0, 0.7);
    dist_lognormal(&c->output_tokens, 250.0, 0.9);
}

/* Two worlds of the same scenario and replication, stepped alternately in
 * one thread, produce identical record streams; another replication does
 * not. */
START_TEST(determinism_same_seed)
{
    struct sim_scenario sc;
    base(&sc, 51, 1.7, 5000);
    lognormal_workload(&sc);
    sc.deployments[0].replicas = 2;
    sc.deployments[0].replica_routing = SIM_RR_RANDOM;
    sc.output.timeseries_interval_s = 50.0;

    struct recs a = {0}, b = {0}, c = {0};
    struct sim_sink sa = {.ctx = &a, .request = collect, .timeseries = collect_ts};
    struct sim_sink sb = {.ctx = &b, .request = collect, .timeseries = collect_ts};
    struct sim_world *wa, *wb;
    ck_assert_int_eq(sim_world_alloc(&wa, &sc, 3, &sa, NULL), 0);
    ck_assert_int_eq(sim_world_alloc(&wb, &sc, 3, &sb, NULL), 0);
    int ra = 1, rb = 1;
    while (ra == 1 || rb == 1) {
        if (ra == 1)
            ra = sim_step(wa);
        if (rb == 1)
            rb = sim_step(wb);
    }
    ck_assert_int_eq(ra, 0);
    ck_assert_int_eq(rb, 0);
    ck_assert_uint_eq(a.n, 5000);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_uint_eq(a.nts, b.nts);
    for (size_t i = 0; i < a.n; i++)
        ck_assert(memcmp(&a.v[i], &b.v[i], sizeof a.v[i]) == 0);
    for (size_t i = 0; i < a.nts; i++)
        ck_assert(memcmp(&a.ts[i], &b.ts[i], sizeof a.ts[i]) == 0);
    ck_assert_int_eq(a.v[0].replication, 3);
    sim_world_free(wa);
    sim_world_free(wb);

    run_all(&sc, 4, &c, NULL, NULL);
    ck_assert_uint_eq(c.n, 5000);
    size_t same = 0;
    for (size_t i = 0; i < c.n; i++)
        same += c.v[i].arrival_s == a.v[i].arrival_s || c.v[i].input_tokens == a.v[i].input_tokens;
    ck_assert_uint_lt(same, 100);
    recs_free(&a);
    recs_free(&b);
    recs_free(&c);
    sim_scenario_free(&sc);
}
END_TEST

/* Changing class B's output distribution leaves class A's draws alone: the
 * same requests (by id) are of class A, with the same lengths and arrival
 * times, because every class draws from its own stream. */
START_TEST(crn_class_streams_independent)
{
    struct sim_scenario s1 = {0}, s2 = {0};
    struct recs r1 = {0}, r2 = {0};
    for (int v = 0; v < 2; v++) {
        struct sim_scenario *sc = v ? &s2 : &s1;
        base(sc, 52, 3.0, 0);
        drop_classes(sc);
        add_classes(sc, 2, 1);
        sc->max_requests = 20000;
        sc->workload.classes[0].share = 0.4;
        sc->workload.classes[1].share = 0.6;
        for (int k = 0; k < 2; k++) {
            struct sim_class_cfg *c = &sc->workload.classes[k];
            dist_lognormal(&c->segments[0].tokens, 500.0 + 300.0 * k, 0.5);
            dist_lognormal(&c->output_tokens, 200.0, 0.8);
        }
        if (v == 1) {
            /* B: another kind and mean, so a different number of uniforms per draw. */
            struct mdl_dist *o = &sc->workload.classes[1].output_tokens;
            mdl_dist_constant(o, 900.0);
            o->kind = MDL_DIST_GAMMA;
            o->sd = 0.5 * 900.0;
            ck_assert_int_eq(mdl_dist_prepare(o, NULL), 0);
        }
        make_api(&sc->deployments[0], 30.0, 200.0, 8000.0, 12.0);
        run_all(sc, 0, v ? &r2 : &r1, NULL, NULL);
    }
    ck_assert_uint_eq(r1.n, r2.n);
    /* Index both by id. */
    struct sim_request_record *by1 = calloc(r1.n, sizeof *by1), *by2 = calloc(r2.n, sizeof *by2);
    ck_assert(by1 && by2);
    for (size_t i = 0; i < r1.n; i++) {
        by1[r1.v[i].id] = r1.v[i];
        by2[r2.v[i].id] = r2.v[i];
    }
    size_t n_a = 0, b_out_differs = 0;
    for (size_t i = 0; i < r1.n; i++) {
        ck_assert_double_eq(by1[i].arrival_s, by2[i].arrival_s);
        ck_assert_int_eq(by1[i].class_idx, by2[i].class_idx);
        if (by1[i].class_idx == 0) {
            n_a++;
            ck_assert_uint_eq(by1[i].input_tokens, by2[i].input_tokens);
            ck_assert_uint_eq(by1[i].output_tokens, by2[i].output_tokens);
            ck_assert_int_eq(by1[i].difficulty, by2[i].difficulty);
            ck_assert_double_eq(by1[i].e2e_s, by2[i].e2e_s);
        } else {
            b_out_differs += by1[i].output_tokens != by2[i].output_tokens;
        }
    }
    ck_assert_uint_gt(n_a, 7000);
    ck_assert_uint_gt(b_out_differs, 10000);
    free(by1);
    free(by2);
    recs_free(&r1);
    recs_free(&r2);
    sim_scenario_free(&s1);
    sim_scenario_free(&s2);
}
END_TEST

/* ---- timeseries and statistics -------------------------------------------- */

/* Rows every 10 s: a deployment row then one row per replica; the
 * deployment row carries the sums and the mean busy fraction; busy fractions
 * integrate to the busy time; costs grow with provisioned time; sampling stops
 * once the run has drained (at most one row set after the last completion). */
START_TEST(timeseries_rows)
{
    struct sim_scenario sc;
    base(&sc, 61, 1.5, 3000);
    sc.deployments[0].replicas = 2;
    sc.deployments[0].tp = 4;
    sc.deployments[0].gpu_hour_usd = 2.5;
    sc.deployments[0].replica_routing = SIM_RR_LEAST_LOADED;
    sc.output.timeseries_interval_s = 10.0;
    struct recs rs = {0};
    struct sim_world_stats st;
    struct sim_world *w;
    struct sim_sink sink = {.ctx = &rs, .request = collect, .timeseries = collect_ts};
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &sink, NULL), 0);
    ck_assert_int_eq(sim_run(w), 0);
    sim_world_stats(w, &st);

    const double usd_per_replica_s = 4 * 2.5 / 3600.0;
    ck_assert_uint_eq(rs.nts % 3, 0);
    size_t samples = rs.nts / 3;
    ck_assert_uint_gt(samples, 100);
    double busy_int[2] = {0, 0}, prev_t = 0;
    for (size_t k = 0; k < samples; k++) {
        const struct sim_ts_record *d = &rs.ts[3 * k], *r0 = d + 1, *r1 = d + 2;
        double tk = 10.0 * (double)(k + 1);
        ck_assert_double_eq_tol(d->t_s, tk, 1e-9);
        ck_assert_int_eq(d->replica, -1);
        ck_assert_int_eq(r0->replica, 0);
        ck_assert_int_eq(r1->replica, 1);
        ck_assert_int_eq(d->replicas, 2);
        ck_assert_int_eq(r0->replicas, 1);
        ck_assert_int_eq(d->queue_len, r0->queue_len + r1->queue_len);
        ck_assert_int_eq(d->running, r0->running + r1->running);
        ck_assert_double_eq_tol(d->busy_frac, 0.5 * (r0->busy_frac + r1->busy_frac), 1e-12);
        ck_assert_double_eq_tol(d->cost_cum_usd, 2 * tk * usd_per_replica_s, 1e-12);
        ck_assert_double_eq_tol(r0->cost_cum_usd, tk * usd_per_replica_s, 1e-12);
        for (int j = 0; j < 2; j++) {
            const struct sim_ts_record *r = d + 1 + j;
            ck_assert_double_ge(r->busy_frac, -1e-12);
            ck_assert_double_le(r->busy_frac, 1.0 + 1e-12);
            ck_assert_int_ge(r->queue_len, 0);
            ck_assert_double_eq(r->kv_used_frac, 0.0);
            ck_assert_double_eq(r->cache_tokens, 0.0);
            busy_int[j] += r->busy_frac * (d->t_s - prev_t);
        }
        prev_t = d->t_s;
    }
    /* The last sample comes at or after the last completion and less than an
     * interval after it. */
    ck_assert_double_ge(prev_t, st.makespan_s);
    ck_assert_double_lt(prev_t, st.makespan_s + 10.0);
    ck_assert_double_eq(st.now_s, prev_t);
    ck_assert_double_eq_tol(busy_int[0] + busy_int[1], st.deployments[0].busy_s,
                            1e-9 * st.deployments[0].busy_s);

    /* Statistics against the records. */
    double gpu_sum = 0, busy_sum = 0;
    for (size_t i = 0; i < rs.n; i++) {
        gpu_sum += rs.v[i].cost_gpu_usd;
        busy_sum += rs.v[i].done_s - rs.v[i].prefill_start_s;
    }
    ck_assert_double_eq_tol(st.deployments[0].busy_s, busy_sum, 1e-9 * busy_sum);
    ck_assert_double_eq_tol(st.deployments[0].gpu_busy_cost_usd, gpu_sum, 1e-9 * gpu_sum);
    ck_assert_double_eq_tol(st.deployments[0].provisioned_s, 2 * st.makespan_s, 1e-9);
    ck_assert_double_eq_tol(st.deployments[0].gpu_cost_usd, 2 * st.makespan_s * usd_per_replica_s,
                            1e-12);
    ck_assert_double_le(st.deployments[0].gpu_busy_cost_usd, st.deployments[0].gpu_cost_usd);
    ck_assert_uint_eq(st.events, 2 * 3000 + samples);
    sim_world_free(w);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* An api deployment has one row per sample: requests in flight and the
 * billed lines of the finished requests. */
START_TEST(timeseries_api_rows)
{
    struct sim_scenario sc;
    base(&sc, 62, 2.0, 0);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.duration_s = 20.0;
    make_api(&sc.deployments[0], 50.0, 300.0, 10000.0, 20.0); /* e2e = 0.35 + 0.01 + 49 x 0.02 */
    sc.output.timeseries_interval_s = 5.0;
    struct recs rs = {0};
    run_all(&sc, 0, &rs, NULL, NULL);
    const double e2e = 0.35 + 0.01 + 49 * 0.02, cost = 100 * 3e-6 + 50 * 15e-6;
    ck_assert_uint_eq(rs.n, 40);
    ck_assert_uint_eq(rs.nts, 5); /* t = 5, 10, 15, 20, and 25 after the drain at 21.34 */
    for (size_t k = 0; k < rs.nts; k++) {
        const struct sim_ts_record *r = &rs.ts[k];
        double tk = 5.0 * (double)(k + 1);
        ck_assert_double_eq(r->t_s, tk);
        ck_assert_int_eq(r->replica, -1);
        ck_assert_int_eq(r->replicas, 0);
        ck_assert_int_eq(r->queue_len, 0);
        /* Arrivals at 0.5 j, j = 1..40, each e2e in the system. */
        int arrived = 0, done = 0;
        for (int j = 1; j <= 40; j++) {
            /* A sample was scheduled before the arrival at the same instant,
             * so it pops first and does not see it. */
            arrived += 0.5 * j < tk;
            done += 0.5 * j + e2e <= tk;
        }
        ck_assert_int_eq(r->running, arrived - done);
        ck_assert_double_eq_tol(r->cost_cum_usd, done * cost, 1e-12);
        ck_assert_double_eq(r->busy_frac, 0.0);
    }
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* Ties between an arrival and a sample at the same instant go by the order
 * in which the two were scheduled (the world holds the next arrival outside
 * the pending-event set, with the seq its push would have had).  Arrivals
 * every 2 s, samples every 1 s: the arrival at 2 j was scheduled at
 * 2 (j - 1), before the sample at 2 j (scheduled at 2 j - 1), so it pops
 * first and the sample sees it; timeseries_api_rows has the other way
 * round. */
START_TEST(arrival_ties_sample_in_schedule_order)
{
    struct sim_scenario sc;
    base(&sc, 63, 0.5, 0);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.duration_s = 20.0;
    make_api(&sc.deployments[0], 50.0, 300.0, 10000.0, 20.0); /* e2e = 0.35 + 0.01 + 49 x 0.02 */
    sc.output.timeseries_interval_s = 1.0;
    struct recs rs = {0};
    struct sim_world_stats st;
    run_all(&sc, 0, &rs, &st, NULL);
    const double e2e = 0.35 + 0.01 + 49 * 0.02;
    ck_assert_uint_eq(rs.n, 10);
    ck_assert_uint_eq(rs.nts, 22); /* t = 1 .. 22: the last completion is at 21.34 */
    ck_assert_uint_eq(st.events, 2 * 10 + 22);
    for (size_t k = 0; k < rs.nts; k++) {
        const struct sim_ts_record *r = &rs.ts[k];
        double tk = (double)(k + 1);
        ck_assert_double_eq(r->t_s, tk);
        int arrived = 0, done = 0;
        for (int j = 1; j <= 10; j++) {
            arrived += 2.0 * j <= tk;
            done += 2.0 * j + e2e <= tk;
        }
        ck_assert_int_eq(r->running, arrived - done);
    }
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- stepping API and sinks ---------------------------------------------- */

START_TEST(step_and_run_until_semantics)
{
    struct sim_scenario sc;
    base(&sc, 71, 1.0, 10);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    mdl_dist_constant(&sc.deployments[0].service_time_s, 0.25);
    struct sim_world *w;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, NULL, NULL), 0);
    ck_assert_double_eq(sim_world_now(w), 0.0);
    /* Nothing happens before t = 1: the clock moves to 0.5 and stays. */
    ck_assert_int_eq(sim_run_until(w, 0.5), 1);
    ck_assert_double_eq(sim_world_now(w), 0.5);
    ck_assert_int_eq(sim_run_until(w, 0.2), 1); /* never backwards */
    ck_assert_double_eq(sim_world_now(w), 0.5);
    /* The arrival at exactly 1.0 is processed by run_until(1.0). */
    ck_assert_int_eq(sim_run_until(w, 1.0), 1);
    struct sim_world_stats st;
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.arrivals, 1);
    ck_assert_uint_eq(st.in_flight, 1);
    ck_assert_double_eq(st.area_in_system, 0.0);
    /* One step: the completion at 1.25. */
    ck_assert_int_eq(sim_step(w), 1);
    ck_assert_double_eq(sim_world_now(w), 1.25);
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.completed, 1);
    ck_assert_double_eq(st.area_in_system, 0.25);
    ck_assert_uint_eq(st.events, 2);
    /* To the end: 10 arrivals, 10 completions, last at 10.25. */
    ck_assert_int_eq(sim_run_until(w, 100.0), 0);
    ck_assert_double_eq(sim_world_now(w), 100.0);
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.completed, 10);
    ck_assert_double_eq(st.makespan_s, 10.25);
    ck_assert_double_eq_tol(st.area_in_system, 2.5, 1e-12);
    ck_assert_int_eq(sim_step(w), 0);
    ck_assert_int_eq(sim_run(w), 0);
    sim_world_free(w);
    sim_scenario_free(&sc);
}
END_TEST

/* A sink that fails stops the run with its code, and the world stays stopped. */
START_TEST(sink_error_propagates)
{
    struct sim_scenario sc;
    base(&sc, 72, 1.0, 100);
    struct recs rs = {.fail_after = 5};
    struct sim_sink sink = {.ctx = &rs, .request = collect};
    struct sim_world *w;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &sink, NULL), 0);
    ck_assert_int_eq(sim_run(w), LLMSIM_EIO);
    ck_assert_uint_eq(rs.n, 4);
    ck_assert_int_eq(sim_step(w), LLMSIM_EIO);
    ck_assert_int_eq(sim_run_until(w, 1e9), LLMSIM_EIO);
    struct sim_world_stats st;
    sim_world_stats(w, &st);
    ck_assert_uint_eq(st.completed, 5); /* the fifth was finished, its record refused */
    sim_world_free(w);
    recs_free(&rs);

    /* The timeseries sink too. */
    struct recs ts = {.fail_ts_after = 3};
    struct sim_sink sink2 = {.ctx = &ts, .request = collect, .timeseries = collect_ts};
    sc.output.timeseries_interval_s = 7.0;
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &sink2, NULL), 0);
    ck_assert_int_eq(sim_run(w), LLMSIM_ENOMEM);
    ck_assert_uint_eq(ts.nts, 2);
    sim_world_free(w);
    recs_free(&ts);

    /* NULL callbacks are allowed. */
    struct sim_sink empty = {0};
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, &empty, NULL), 0);
    ck_assert_int_eq(sim_run(w), 0);
    sim_world_free(w);
    sim_scenario_free(&sc);
}
END_TEST

/* ---- scenario errors --------------------------------------------------------- */

/* Each case breaks one thing in a valid base scenario. */
static void expect_einval(void (*breakit)(struct sim_scenario *), const char *needle)
{
    struct sim_scenario sc;
    base(&sc, 81, 1.0, 10);
    breakit(&sc);
    struct sim_world *w = (struct sim_world *)&sc; /* must be reset to NULL */
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(sim_world_alloc(&w, &sc, 0, NULL, &err), LLMSIM_EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(err.code, LLMSIM_EINVAL);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
    sim_scenario_free(&sc);
}

static void b_api_latency_on_self_hosted(struct sim_scenario *sc)
{
    sc->deployments[0].latency_kind = MDL_LAT_API;
}
static void b_service_time_on_api(struct sim_scenario *sc)
{
    sc->deployments[0].kind = SIM_DEPLOY_API;
}
static void b_no_replicas(struct sim_scenario *sc)
{
    sc->deployments[0].replicas = 0;
}
static void b_too_many_replicas(struct sim_scenario *sc)
{
    sc->deployments[0].replicas = SIM_MAX_REPLICAS + 1;
}
static void b_tp(struct sim_scenario *sc)
{
    sc->deployments[0].tp = 0;
}
static void b_gpu_price(struct sim_scenario *sc)
{
    sc->deployments[0].gpu_hour_usd = -1;
}
static void b_scheduler(struct sim_scenario *sc)
{
    sc->deployments[0].scheduler = 7;
}
static void b_replica_routing(struct sim_scenario *sc)
{
    sc->deployments[0].replica_routing = 9;
}
static void b_kind(struct sim_scenario *sc)
{
    sc->deployments[0].kind = 5;
}
static void b_no_deployments(struct sim_scenario *sc)
{
    sc->n_deployments = 0;
}
static void b_route_to(struct sim_scenario *sc)
{
    sc->routing.to = 1;
}
static void b_route_policy(struct sim_scenario *sc)
{
    sc->routing.policy = 99;
}
static void b_split_no_weights(struct sim_scenario *sc)
{
    sc->routing.policy = SIM_ROUTE_SPLIT;
}
static void b_split_weights(struct sim_scenario *sc)
{
    sc->routing.policy = SIM_ROUTE_SPLIT;
    sc->routing.weights = calloc(1, sizeof *sc->routing.weights);
    sc->routing.weights[0] = 0.5;
}
static void b_rate(struct sim_scenario *sc)
{
    sc->workload.rate_per_s = 0;
}
static void b_gamma_cv(struct sim_scenario *sc)
{
    sc->workload.process = SIM_ARRIVAL_GAMMA;
    sc->workload.cv = 0;
}
static void b_process(struct sim_scenario *sc)
{
    sc->workload.process = 11;
}
static void b_shares(struct sim_scenario *sc)
{
    sc->workload.classes[0].share = 0.5;
}
static void b_difficulty(struct sim_scenario *sc)
{
    sc->workload.classes[0].difficulty[SIM_DIFF_SIMPLE] = -0.5;
    sc->workload.classes[0].difficulty[SIM_DIFF_COMPLEX] = 0.5;
}
static void b_no_classes(struct sim_scenario *sc)
{
    drop_classes(sc);
}
static void b_trace_speedup(struct sim_scenario *sc)
{
    sc->workload.process = SIM_ARRIVAL_TRACE;
    sc->workload.trace_speedup = 0;
}
static void b_trace_unsorted(struct sim_scenario *sc)
{
    sc->workload.process = SIM_ARRIVAL_TRACE;
    sc->workload.trace_speedup = 1;
    struct sim_trace *t = &sc->workload.trace;
    t->n = 2;
    t->t_s = calloc(2, sizeof *t->t_s);
    t->input_tokens = calloc(2, sizeof *t->input_tokens);
    t->output_tokens = calloc(2, sizeof *t->output_tokens);
    t->t_s[0] = 5.0;
    t->t_s[1] = 4.0;
}
static void b_interval(struct sim_scenario *sc)
{
    sc->output.timeseries_interval_s = -1;
}
static void b_warmup(struct sim_scenario *sc)
{
    sc->warmup_s = NAN;
}

START_TEST(alloc_errors)
{
    expect_einval(b_api_latency_on_self_hosted, "service_time, linear or roofline");
    expect_einval(b_service_time_on_api, "api latency model");
    expect_einval(b_no_replicas, "replicas");
    expect_einval(b_too_many_replicas, "replicas");
    expect_einval(b_tp, "tp");
    expect_einval(b_gpu_price, "gpu_hour_usd");
    expect_einval(b_scheduler, "scheduler");
    expect_einval(b_replica_routing, "replica routing");
    expect_einval(b_kind, "kind");
    expect_einval(b_no_deployments, "no deployments");
    expect_einval(b_route_to, "fixed target");
    expect_einval(b_route_policy, "policy");
    expect_einval(b_split_no_weights, "weight");
    expect_einval(b_split_weights, "sum to 1");
    expect_einval(b_rate, "rate_per_s");
    expect_einval(b_gamma_cv, "cv");
    expect_einval(b_process, "arrival process");
    expect_einval(b_shares, "shares");
    expect_einval(b_difficulty, "difficulty");
    expect_einval(b_no_classes, "class");
    expect_einval(b_trace_speedup, "speedup");
    expect_einval(b_trace_unsorted, "sorted");
    expect_einval(b_interval, "timeseries_interval_s");
    expect_einval(b_warmup, "warmup_s");
}
END_TEST

/* A horizon that ends before the first arrival: nothing happens, no sample
 * is scheduled, the run is over at once. */
START_TEST(empty_run)
{
    struct sim_scenario sc;
    base(&sc, 91, 1.0, 0);
    sc.workload.process = SIM_ARRIVAL_CONSTANT;
    sc.duration_s = 0.5;
    sc.output.timeseries_interval_s = 1.0;
    struct recs rs = {0};
    struct sim_world_stats st;
    run_all(&sc, 0, &rs, &st, NULL);
    ck_assert_uint_eq(rs.n, 0);
    ck_assert_uint_eq(rs.nts, 0);
    ck_assert_uint_eq(st.events, 0);
    ck_assert_double_eq(st.makespan_s, 0.0);
    recs_free(&rs);
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(config_names_and_free)
{
    ck_assert_str_eq(sim_arrival_process_name(SIM_ARRIVAL_POISSON), "poisson");
    ck_assert_str_eq(sim_arrival_process_name(SIM_ARRIVAL_GAMMA), "gamma");
    ck_assert_str_eq(sim_arrival_process_name(SIM_ARRIVAL_CONSTANT), "constant");
    ck_assert_str_eq(sim_arrival_process_name(SIM_ARRIVAL_TRACE), "trace");
    ck_assert_ptr_null(sim_arrival_process_name((enum sim_arrival_process)42));
    ck_assert_str_eq(sim_deploy_kind_name(SIM_DEPLOY_API), "api");
    ck_assert_str_eq(sim_deploy_kind_name(SIM_DEPLOY_SELF_HOSTED), "self-hosted");
    ck_assert_ptr_null(sim_deploy_kind_name((enum sim_deploy_kind)42));
    ck_assert_str_eq(sim_replica_routing_name(SIM_RR_ROUND_ROBIN), "round_robin");
    ck_assert_str_eq(sim_replica_routing_name(SIM_RR_RANDOM), "random");
    ck_assert_str_eq(sim_replica_routing_name(SIM_RR_LEAST_LOADED), "least_loaded");
    ck_assert_ptr_null(sim_replica_routing_name((enum sim_replica_routing)42));
    ck_assert_str_eq(sim_difficulty_name(SIM_DIFF_SIMPLE), "simple");
    ck_assert_str_eq(sim_difficulty_name(SIM_DIFF_MODERATE), "moderate");
    ck_assert_str_eq(sim_difficulty_name(SIM_DIFF_COMPLEX), "complex");
    ck_assert_ptr_null(sim_difficulty_name((enum sim_difficulty)42));

    /* free of NULL and of a zeroed struct are no-ops; free zeroes. */
    sim_scenario_free(NULL);
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    sim_scenario_free(&sc);
    base(&sc, 1, 1.0, 1);
    sc.description = malloc(8);
    sc.output.path = malloc(8);
    sim_scenario_free(&sc);
    ck_assert_ptr_null(sc.workload.classes);
    ck_assert_ptr_null(sc.deployments);
    ck_assert_uint_eq(sc.n_deployments, 0);
    sim_scenario_free(&sc);
    sim_world_free(NULL);
}
END_TEST

static Suite *world_suite(void)
{
    Suite *s = suite_create("world");
    TCase *t = tcase_create("timing");
    tcase_add_test(t, api_timing_and_cost_exact);
    tcase_add_test(t, api_stats_no_gpu);
    tcase_add_test(t, linear_latency_hand_arithmetic);
    tcase_add_test(t, service_time_first_token_is_done);
    suite_add_tcase(s, t);

    t = tcase_create("routing");
    tcase_add_test(t, round_robin_balances_exactly);
    tcase_add_test(t, least_loaded_beats_random);
    tcase_add_test(t, ties_go_to_lowest_replica);
    tcase_add_test(t, shared_queue_takes_head);
    tcase_add_test(t, split_routing_follows_weights);
    suite_add_tcase(s, t);

    t = tcase_create("workload");
    tcase_add_test(t, horizon_duration_and_warmup);
    tcase_add_test(t, gamma_arrivals_moments);
    tcase_add_test(t, classes_difficulty_lengths);
    tcase_add_test(t, trace_replay);
    suite_add_tcase(s, t);

    t = tcase_create("determinism");
    tcase_add_test(t, determinism_same_seed);
    tcase_add_test(t, crn_class_streams_independent);
    suite_add_tcase(s, t);

    t = tcase_create("outputs");
    tcase_add_test(t, timeseries_rows);
    tcase_add_test(t, timeseries_api_rows);
    tcase_add_test(t, arrival_ties_sample_in_schedule_order);
    tcase_add_test(t, step_and_run_until_semantics);
    tcase_add_test(t, sink_error_propagates);
    tcase_add_test(t, empty_run);
    suite_add_tcase(s, t);

    t = tcase_create("errors");
    tcase_add_test(t, alloc_errors);
    tcase_add_test(t, config_names_and_free);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(world_suite());
}
