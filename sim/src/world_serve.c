/* Deployments of a world: api endpoints and self-hosted replicas.
 *
 * api: unlimited concurrency.  A request starts at once; its time to first
 * token is mdl_api_ttft_s (cached prompt tokens at the cached rate, see
 * world_cache.c) and its
 * inter-token latency one draw of itl_ms for the whole request, so
 * done = first token + (output - 1) x itl.  One completion event each.
 *
 * self-hosted, scheduler none: every replica serves one request at a time,
 * first come first served.  With queue_shared the deployment has one FIFO
 * (the M/M/c discipline): an arrival goes to the idle replica of lowest
 * index, or waits; a replica that finishes takes the head of the queue.
 * Otherwise each replica has its own FIFO and the replica is chosen when the
 * request arrives, by replica_routing: round_robin, random (stream
 * "deployment/<name>/replica"), or least_loaded (fewest requests queued plus
 * in service at that replica, ties to the lowest index: join the shortest
 * queue).  Service times come from the stream "deployment/<name>/latency",
 * drawn when service starts; the latency models are in models/ (latency.h).
 * Busy time is accumulated per replica, which gives the utilisation in the
 * statistics and the busy fractions of the timeseries.
 *
 * Routing looks only at the routable (ready) replicas, d->live, in
 * ascending index order (world_scale.c): every policy picks a position in
 * that list, so ties still go to the lowest index and a deployment without
 * autoscale, whose replicas are all ready, routes as it always did. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/rng.h"
#include "world_internal.h"

static int bad(struct llmsim_error *err, const struct sim_deployment_cfg *c, const char *what)
{
    return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "deployment %s: %s", c->name, what);
}

/* Replicas, routing stream, batching state and replica lifecycle of a
 * self-hosted deployment (or a prefill pool) with configuration c. */
static int init_self_hosted(struct sim_world *w, struct simi_deploy *d, const struct sim_deployment_cfg *c,
                            struct llmsim_error *err)
{
    if (c->latency_kind != MDL_LAT_SERVICE_TIME && c->latency_kind != MDL_LAT_LINEAR &&
        c->latency_kind != MDL_LAT_ROOFLINE)
        return bad(err, c,
                   "a self-hosted deployment needs the service_time, linear or roofline "
                   "latency model");
    if (c->replicas < 1 || c->replicas > SIM_MAX_REPLICAS)
        return bad(err, c, "replicas must be between 1 and 4096");
    if (c->tp < 1)
        return bad(err, c, "tp must be >= 1");
    if (!(isfinite(c->gpu_hour_usd) && c->gpu_hour_usd >= 0))
        return bad(err, c, "gpu_hour_usd must be finite and >= 0");
    if (c->scheduler == SIM_SCHED_NONE && c->latency_kind == MDL_LAT_ROOFLINE)
        return bad(err, c, "the roofline model times batch iterations; use a batching scheduler");
    if (c->scheduler != SIM_SCHED_NONE && c->latency_kind == MDL_LAT_SERVICE_TIME)
        return bad(err, c, "service_time latency applies to scheduler none");
    if ((unsigned)c->replica_routing > SIM_RR_PREFIX_AFFINITY)
        return bad(err, c, "unknown replica routing");
    /* world_scale.c's autoscaler sizes and routes one pool of replicas; the
     * two pools of a disaggregated deployment would each need their own. */
    if (c->autoscale.enabled && d->role != SIMI_ROLE_BOTH)
        return bad(err, c, "autoscale does not apply to a disaggregated deployment");
    /* Nor does spot: an interrupted replica of either pool would have to
     * hand back the KV caches it sends, receives or waits for. */
    if (c->spot.enabled && d->role != SIMI_ROLE_BOTH)
        return bad(err, c, "spot does not apply to a disaggregated deployment");
    /* With autoscale a slot for each replica it may grow to. */
    d->n_replicas = c->autoscale.enabled ? c->autoscale.max : c->replicas;
    d->gpu_usd_per_replica_s = c->tp * c->gpu_hour_usd / 3600.0;
    d->replicas = calloc((size_t)d->n_replicas, sizeof *d->replicas);
    if (d->replicas == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    /* Queue order (queue_order.c): the waiting queues of scheduler none and
     * of batch admission. */
    int rc = simi_order_init(w, d, err);
    if (rc)
        return rc;
    for (int j = 0; j < d->n_replicas; j++) {
        d->replicas[j].current = SIMI_NONE;
        d->replicas[j].usd_per_s = d->gpu_usd_per_replica_s; /* spot slots: world_scale.c */
        if (c->scheduler == SIM_SCHED_NONE && !c->queue_shared && simi_wq_init(&d->replicas[j].queue, d) != 0)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (c->scheduler == SIM_SCHED_NONE && c->queue_shared && simi_wq_init(&d->shared, d) != 0)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    /* A prefill pool routes with a stream of its own, so that adding one
     * leaves the decode pool's draws alone. */
    d->rng_replica = simi_stream(w, d->role == SIMI_ROLE_PREFILL ? "prefill" : "deployment", c->name, "replica");
    if (d->rng_replica == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    d->kv_cap_blocks = INFINITY;
    if (c->scheduler != SIM_SCHED_NONE && (rc = simi_batch_init(w, d, err)) != 0)
        return rc;
    /* Every replica's lifecycle, the prefill pool's too: ready from time 0,
     * routable through d->live and billed by replica-seconds. */
    return simi_scale_init(w, d, err);
}

static void rl_free(struct simi_rlwin *l)
{
    free(l->ring);
    l->ring = NULL;
    simi_fifo_free(&l->wait);
}

/* Per-tenant quotas of self-hosted deployment d: a window per quota and
 * each class's quota (its tenant's). */
static int init_quotas(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err)
{
    const struct sim_deployment_cfg *c = d->cfg;
    if (c->n_quotas == 0)
        return 0;
    const struct sim_workload_cfg *wl = &w->sc->workload;
    d->quota = calloc(c->n_quotas, sizeof *d->quota);
    d->quota_of_class = malloc((wl->n_classes ? wl->n_classes : 1) * sizeof *d->quota_of_class);
    d->rng_retry = simi_stream(w, "deployment", c->name, "retry");
    if (d->quota == NULL || d->quota_of_class == NULL || d->rng_retry == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t k = 0; k < c->n_quotas; k++) {
        const struct sim_quota_cfg *q = &c->quotas[k];
        d->quota[k] = (struct simi_rlwin){.lim_req = q->requests_per_min, .lim_in = q->input_tokens_per_min,
                                          .lim_out = q->output_tokens_per_min, .backoff_s = q->backoff_s,
                                          .client_queue = q->client_queue};
    }
    for (size_t k = 0; k < wl->n_classes; k++) {
        d->quota_of_class[k] = -1;
        for (size_t i = 0; i < c->n_quotas; i++)
            if (!strcmp(c->quotas[i].tenant, sim_class_tenant(&wl->classes[k])))
                d->quota_of_class[k] = (int32_t)i;
    }
    return 0;
}

int simi_serve_init(struct sim_world *w, struct llmsim_error *err)
{
    const struct sim_scenario *sc = w->sc;
    if (sc->n_deployments == 0 || sc->deployments == NULL)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "no deployments");
    size_t pools = 0;
    for (size_t i = 0; i < sc->n_deployments; i++)
        pools += sc->deployments[i].kind == SIM_DEPLOY_SELF_HOSTED && sc->deployments[i].disagg != NULL;
    w->deploy = calloc(sc->n_deployments + pools, sizeof *w->deploy);
    if (w->deploy == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    w->n_deploy = w->n_deploy_all = sc->n_deployments;

    for (size_t i = 0; i < w->n_deploy; i++) {
        const struct sim_deployment_cfg *c = &sc->deployments[i];
        struct simi_deploy *d = &w->deploy[i];
        d->cfg = c;
        d->record_dep = (int32_t)i;
        d->prefill_pool = -1;
        if (c->kind == SIM_DEPLOY_API) {
            if (c->latency_kind != MDL_LAT_API)
                return bad(err, c, "an api deployment needs the api latency model");
            int rc = simi_cache_init(w, d, err);
            if (rc)
                return rc;
            d->rng_batch = simi_stream(w, "deployment", c->name, "batch");
            d->rng_retry = simi_stream(w, "deployment", c->name, "retry");
            if (d->rng_batch == NULL || d->rng_retry == NULL)
                return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            d->rl = (struct simi_rlwin){.lim_req = c->rl_requests_per_min, .lim_in = c->rl_input_tokens_per_min,
                                        .lim_out = c->rl_output_tokens_per_min, .backoff_s = c->rl_backoff_s,
                                        .client_queue = c->rl_client_queue};
        } else if (c->kind == SIM_DEPLOY_SELF_HOSTED) {
            d->role = c->disagg != NULL ? SIMI_ROLE_DECODE : SIMI_ROLE_BOTH;
            int rc = init_self_hosted(w, d, c, err);
            if (rc == 0)
                rc = init_quotas(w, d, err);
            if (rc)
                return rc;
            if (c->disagg != NULL) {
                struct simi_deploy *p = &w->deploy[w->n_deploy_all];
                d->prefill_pool = (int32_t)w->n_deploy_all++;
                p->cfg = &c->disagg->prefill;
                p->role = SIMI_ROLE_PREFILL;
                p->record_dep = (int32_t)i;
                p->prefill_pool = -1;
                if ((rc = init_self_hosted(w, p, p->cfg, err)) != 0 || (rc = simi_disagg_init(w, d, p, err)) != 0)
                    return rc;
            }
        } else {
            return bad(err, c, "unknown kind");
        }
        d->rng_latency = simi_stream(w, "deployment", c->name, "latency");
        if (d->rng_latency == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return 0;
}

void simi_serve_free(struct sim_world *w)
{
    for (size_t i = 0; w->deploy != NULL && i < w->n_deploy_all; i++) {
        struct simi_deploy *d = &w->deploy[i];
        simi_disagg_free(d);
        gsl_rng_free(d->rng_latency);
        gsl_rng_free(d->rng_replica);
        gsl_rng_free(d->rng_batch);
        gsl_rng_free(d->rng_retry);
        rl_free(&d->rl);
        for (size_t k = 0; d->quota != NULL && k < d->cfg->n_quotas; k++)
            rl_free(&d->quota[k]);
        free(d->quota);
        free(d->quota_of_class);
        simi_batch_free(d);
        simi_cache_free(d);
        for (int j = 0; d->replicas != NULL && j < d->n_replicas; j++)
            simi_wq_free(&d->replicas[j].queue);
        free(d->replicas);
        free(d->live);
        simi_wq_free(&d->shared);
        simi_order_free(d);
        simi_fifo_free(&d->orphans);
        simi_fifo_free(&d->requeue);
        gsl_rng_free(d->rng_spot);
    }
    free(w->deploy);
    w->deploy = NULL;
    w->n_deploy = w->n_deploy_all = 0;
}


/* Starts request q on replica j of deployment d now. */
static int start(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_req *r = &w->pool.slot[q];
    const struct sim_deployment_cfg *c = d->cfg;
    LLMSIM_ASSERT(rp->current == SIMI_NONE);
    r->replica = j;
    r->start_s = w->now_s;
    if (c->latency_kind == MDL_LAT_SERVICE_TIME) {
        /* The first token comes when service ends (design.md section 7). */
        r->done_s = r->start_s + simi_nonneg(mdl_dist_sample(&c->service_time_s, d->rng_latency));
        r->first_token_s = r->done_s;
    } else {
        double prefill = simi_nonneg(mdl_linear_prefill_s(&c->linear, r->input_tokens));
        double decode =
            simi_nonneg(mdl_linear_decode_alone_s(&c->linear, r->input_tokens, r->output_tokens));
        r->first_token_s = r->start_s + prefill;
        r->done_s = r->first_token_s + decode;
    }
    /* (+=: what an interrupted earlier service used stays paid for) */
    r->gpu_cost_usd += (r->done_s - r->start_s) * rp->usd_per_s;
    simi_scale_note_ttft(d, r->first_token_s - r->dispatch_s);
    simi_note_admit(w, d);
    rp->current = q;
    rp->busy_since_s = r->start_s;
    if (c->queue_shared)
        rp->load++;
    d->running++;
    return simi_schedule_h(w, r->done_s, SIMI_EV_REPLICA_DONE, (uint32_t)(d - w->deploy), q, &rp->ev_handle);
}

/* The routable replica with the fewest requests, the first in the
 * routable list on a tie.  Runs for every request, over every replica:
 * each candidate is the key load << 32 | position, whose minimum is the
 * fewest requests at the lowest position, taken without branches (a
 * branch on "fewer" is a coin flip among similar loads: a misprediction
 * every few replicas). */
static int least_loaded(const struct simi_deploy *d)
{
    const struct simi_replica *rs = d->replicas;
    const int *live = d->live;
    uint64_t best = UINT64_MAX;
    LLMSIM_ASSERT(d->n_live > 0);
    if (d->n_live == d->n_replicas) {
        /* Every replica routable: live, ascending and distinct, is 0, 1,
         * ..., so the replicas are walked in place, without the index. */
        for (int i = 0, n = d->n_replicas; i < n; i++) {
            uint64_t k = (uint64_t)rs[i].load << 32 | (uint32_t)i;
            best = k < best ? k : best;
        }
        return (int)(uint32_t)best;
    }
    for (int i = 0, n = d->n_live; i < n; i++) {
        uint64_t k = (uint64_t)rs[live[i]].load << 32 | (uint32_t)i;
        best = k < best ? k : best;
    }
    return live[(uint32_t)best];
}

/* Prefix affinity: rendezvous (highest random weight) hashing of the
 * request's prefix identity over the replicas, so requests sharing a prefix
 * meet on the replica that caches it and losing a replica moves only its
 * share; when that replica holds more than twice the mean load plus one
 * request, the least loaded takes the request instead. */
__attribute__((noinline)) static int prefix_affinity(const struct simi_deploy *d, const struct simi_req *r,
                                                   const struct sim_world *w)
{
    uint64_t key = r->n_pts > 0 ? r->pt_key[0] : 0;
    const struct sim_trace *t = &w->sc->workload.trace;
    if (r->trace_row != SIMI_NONE && t->hash_off != NULL && t->hash_off[r->trace_row] < t->hash_off[r->trace_row + 1])
        key = sim_cache_key(SIMI_BLOCK_KEY0, t->hash_ids[t->hash_off[r->trace_row]]);
    if (key == 0)
        return least_loaded(d);
    int best = d->live[0];
    uint64_t best_w = 0;
    double total = 0;
    for (int i = 0; i < d->n_live; i++) {
        int j = d->live[i];
        uint64_t hw = sim_cache_key(key, (uint64_t)j + 1);
        if (i == 0 || hw > best_w) {
            best_w = hw;
            best = j;
        }
        total += d->replicas[j].load;
    }
    if (d->replicas[best].load > 2.0 * total / d->n_live + 1.0)
        return least_loaded(d);
    return best;
}

/* Least KV: the smallest share of KV memory in use; ties to the least
 * loaded, then the lowest index.  Out of line (like prefix_affinity), so
 * that simi_choose_replica's other policies need no stack frame. */
__attribute__((noinline)) static int least_kv(const struct simi_deploy *d)
{
    int best = d->live[0];
    for (int i = 1; i < d->n_live; i++) {
        int j = d->live[i];
        double fj = simi_batch_kv_frac(&d->replicas[j]);
        double fb = simi_batch_kv_frac(&d->replicas[best]);
        if (fj < fb || (fj == fb && d->replicas[j].load < d->replicas[best].load))
            best = j;
    }
    return best;
}

int simi_choose_replica(struct simi_deploy *d, const struct simi_req *r, const struct sim_world *w)
{
    switch (d->cfg->replica_routing) {
    case SIM_RR_PREFIX_AFFINITY:
        return prefix_affinity(d, r, w);
    case SIM_RR_ROUND_ROBIN: {
        /* The next position in the routable list (its length may change). */
        uint32_t i = d->rr_next % (uint32_t)d->n_live;
        d->rr_next = (i + 1) % (uint32_t)d->n_live;
        return d->live[i];
    }
    case SIM_RR_RANDOM:
        return d->live[gsl_rng_uniform_int(d->rng_replica, (unsigned long)d->n_live)];
    case SIM_RR_POWER_OF_TWO: {
        /* Two distinct replicas at random; the less loaded (the first on a tie). */
        if (d->n_live == 1)
            return d->live[0];
        int a = (int)gsl_rng_uniform_int(d->rng_replica, (unsigned long)d->n_live);
        int b = (int)gsl_rng_uniform_int(d->rng_replica, (unsigned long)d->n_live - 1);
        if (b >= a)
            b++;
        a = d->live[a];
        b = d->live[b];
        return d->replicas[b].load < d->replicas[a].load ? b : a;
    }
    case SIM_RR_LEAST_KV:
        if (d->replicas[0].batch != NULL)
            return least_kv(d);
        /* Without KV memory (scheduler none) the least loaded replica. */
        /* fall through */
    case SIM_RR_LEAST_LOADED:
    default:
        return least_loaded(d);
    }
}

/* Sliding-window rate limits: whether a request may start now.  Starts of
 * the last 60 s are kept with their tokens; a start that would push any
 * limit over within (now - 60, now] is refused, so no one-minute window
 * ever holds more than the limits.  *never: r alone exceeds a token limit. */
static int rl_never(const struct simi_rlwin *l, const struct simi_req *r)
{
    return (l->lim_in > 0 && r->input_tokens > l->lim_in) || (l->lim_out > 0 && r->output_tokens > l->lim_out);
}

static int rl_admit(struct simi_rlwin *l, const struct simi_req *r, double now, int *never)
{
    *never = rl_never(l, r);
    if (*never)
        return 0;
    while (l->len > 0 && l->ring[l->head].t + 60.0 <= now) {
        const struct simi_rl_entry *e = &l->ring[l->head];
        l->req -= 1;
        l->in -= e->in;
        l->out -= e->out;
        l->head = (l->head + 1) % l->cap;
        l->len--;
    }
    if (l->len == 0)
        l->req = l->in = l->out = 0; /* no rounding residue */
    if ((l->lim_req > 0 && l->req + 1 > l->lim_req) || (l->lim_in > 0 && l->in + r->input_tokens > l->lim_in) ||
        (l->lim_out > 0 && l->out + r->output_tokens > l->lim_out))
        return 0;
    if (l->len == l->cap) {
        uint32_t ncap = l->cap ? 2 * l->cap : 256;
        struct simi_rl_entry *n = malloc((size_t)ncap * sizeof *n);
        if (n == NULL)
            return -1;
        for (uint32_t i = 0; i < l->len; i++)
            n[i] = l->ring[(l->head + i) % l->cap];
        free(l->ring);
        l->ring = n;
        l->cap = ncap;
        l->head = 0;
    }
    l->ring[(l->head + l->len) % l->cap] = (struct simi_rl_entry){now, r->input_tokens, r->output_tokens};
    l->len++;
    l->req += 1;
    l->in += r->input_tokens;
    l->out += r->output_tokens;
    return 1;
}

/* Where a new request for d queues: its prefill pool when disaggregated. */
static const struct simi_deploy *front(const struct simi_deploy *d)
{
    return d->prefill_pool >= 0 ? d + (d->prefill_pool - d->record_dep) : d;
}

void simi_note_admit(struct sim_world *w, struct simi_deploy *d)
{
    if (d->admissions > 0) {
        double gap = w->now_s - d->adm_last_s;
        d->adm_gap_s = d->admissions == 1 ? gap : d->adm_gap_s + (gap - d->adm_gap_s) / 32.0;
    }
    d->adm_last_s = w->now_s;
    d->admissions++;
}

uint32_t simi_ahead(const struct simi_deploy *d)
{
    d = front(d);
    uint32_t ahead = d->waiting;
    if (ahead > 0 || d->cfg->kind != SIM_DEPLOY_SELF_HOSTED)
        return ahead;
    for (int i = 0; i < d->n_live; i++)
        if (simi_batch_has_room(&d->replicas[d->live[i]]))
            return 0;
    return 1; /* every replica busy or full: it waits for a departure */
}

/* The admissions ahead (simi_ahead) times the mean gap
 * between admissions (a moving mean over about the last 32).  For M/M/c
 * this is exact in expectation: a saturated deployment admits one request
 * per 1 / (c mu).  0 with nothing ahead, infinite while too few admissions
 * were seen to tell. */
double simi_expected_wait_s(const struct sim_world *w, const struct simi_deploy *d)
{
    (void)w;
    uint32_t ahead = simi_ahead(d);
    d = front(d);
    if (ahead == 0)
        return 0.0;
    if (d->admissions < 2)
        return INFINITY;
    return (double)ahead * d->adm_gap_s;
}

/* The earliest time the sliding window leaves room for r (its sums as of
 * the last purge): when enough of the oldest starts have left it. */
static double rl_room_at(const struct simi_rlwin *l, const struct simi_req *r)
{
    double req = l->req, in = l->in, out = l->out;
    for (uint32_t i = 0; i < l->len; i++) {
        const struct simi_rl_entry *e = &l->ring[(l->head + i) % l->cap];
        req -= 1;
        in -= e->in;
        out -= e->out;
        if ((l->lim_req <= 0 || req + 1 <= l->lim_req) && (l->lim_in <= 0 || in + r->input_tokens <= l->lim_in) &&
            (l->lim_out <= 0 || out + r->output_tokens <= l->lim_out))
            return e->t + 60.0;
    }
    return l->len ? l->ring[(l->head + l->len - 1) % l->cap].t + 60.0 : 0.0;
}

/* Window `which` of d: 0 its rate limits, k + 1 its quota k. */
static struct simi_rlwin *rl_window(struct simi_deploy *d, uint32_t which)
{
    return which == 0 ? &d->rl : &d->quota[which - 1];
}

static int rl_wake_at(struct sim_world *w, struct simi_deploy *d, uint32_t which, double t)
{
    struct simi_rlwin *l = rl_window(d, which);
    if (l->wake_pending)
        return 0;
    l->wake_pending = 1;
    return simi_schedule(w, t > w->now_s ? t : w->now_s, SIMI_EV_RL_WAKE, (uint32_t)(d - w->deploy), which);
}

/* Sends request q to api deployment d now (rate limits passed). */
static int api_send(struct sim_world *w, struct simi_deploy *d, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    const struct sim_deployment_cfg *c = d->cfg;
    struct sim_cache *shard = NULL;
    int hit = -1;
    int rc = simi_cache_lookup(w, d, r, &shard, &hit);
    if (rc)
        return rc;
    double cached = r->cached_tokens;
    double ttft = simi_nonneg(mdl_api_ttft_s(&c->api, r->input_tokens - cached, cached));
    double itl = simi_nonneg(mdl_dist_sample(&c->api.itl_ms, d->rng_latency)) * 1e-3;
    r->replica = 0;
    r->start_s = w->now_s;
    r->first_token_s = r->start_s + ttft;
    r->done_s = r->first_token_s + (double)(r->output_tokens - 1) * itl;
    if (c->batch_api || (w->n_classes > 0 && w->sc->workload.classes[r->class_idx].batch)) {
        /* Batch API: the whole answer arrives with the batch's results
         * (no streaming); every line is billed at the batch discount. */
        r->flags |= SIM_RF_BATCH;
        r->done_s = r->start_s + simi_nonneg(mdl_dist_sample(&c->batch_completion_s, d->rng_batch));
        r->first_token_s = r->done_s;
    }
    /* What it writes is readable once its first token is out. */
    if ((rc = simi_cache_write(w, d, r, shard, hit, r->first_token_s)) != 0)
        return rc;
    simi_note_admit(w, d);
    d->running++;
    return simi_schedule(w, r->done_s, SIMI_EV_API_DONE, (uint32_t)r->deployment, q);
}

static int route(struct sim_world *w, uint32_t q);

int simi_serve_rl_wake(struct sim_world *w, const struct sim_event *ev)
{
    LLMSIM_ASSERT(ev->target < w->n_deploy);
    struct simi_deploy *d = &w->deploy[ev->target];
    uint32_t which = (uint32_t)ev->payload;
    LLMSIM_ASSERT(which == 0 || (d->quota != NULL && which <= d->cfg->n_quotas));
    struct simi_rlwin *l = rl_window(d, which);
    l->wake_pending = 0;
    while (l->wait.len > 0) {
        uint32_t q = l->wait.buf[l->wait.head];
        int never = 0, ok = rl_admit(l, &w->pool.slot[q], w->now_s, &never);
        if (ok < 0)
            return LLMSIM_ENOMEM;
        if (!ok) /* (never-fitting requests are refused before they queue) */
            return rl_wake_at(w, d, which, rl_room_at(l, &w->pool.slot[q]));
        simi_fifo_pop(&l->wait);
        int rc;
        if (which == 0) {
            d->waiting--;
            rc = api_send(w, d, q);
        } else {
            d->quota_waiting--;
            rc = route(w, q);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Request q meets window `which` of d now: *pass = 1 when it may go on;
 * else it is refused for good (larger than a whole minute's limit), waits
 * in the window's client-side queue, or gets a 429 and a retry. */
static int rl_gate(struct sim_world *w, struct simi_deploy *d, uint32_t which, uint32_t q, int *pass)
{
    struct simi_req *r = &w->pool.slot[q];
    struct simi_rlwin *l = rl_window(d, which);
    int never = rl_never(l, r);
    int ok = 0;
    *pass = 0;
    if (!never && !(l->client_queue && l->wait.len > 0)) /* the client queue is FIFO */
        ok = rl_admit(l, r, w->now_s, &never);
    if (ok < 0)
        return LLMSIM_ENOMEM;
    if (ok) {
        *pass = 1;
        return 0;
    }
    if (never) {
        /* Larger than a whole minute's limit: no retry can ever pass. */
        r->flags |= SIM_RF_REJECTED;
        r->start_s = r->first_token_s = r->done_s = w->now_s;
        return simi_finish(w, q);
    }
    if (l->client_queue) {
        /* Wait in the client's queue until the window has room (a quota's
         * queue is the tenant's, outside the deployment's own queue). */
        r->flags |= SIM_RF_CLIENT_QUEUED;
        if (which == 0)
            d->waiting++;
        else
            d->quota_waiting++;
        int rc = simi_fifo_push(&l->wait, q);
        if (rc)
            return rc;
        if (l->wait.len == 1)
            return rl_wake_at(w, d, which, rl_room_at(l, r));
        return 0;
    }
    /* 429: retry after min(backoff x 2^attempt, 60 s) x (1 + U[0, 1)). */
    r->flags |= SIM_RF_RATE_LIMITED;
    d->rate_limited++;
    double wait = l->backoff_s * pow(2.0, r->attempts);
    if (wait > 60.0)
        wait = 60.0;
    wait *= 1.0 + mdl_rng_uniform(d->rng_retry);
    r->attempts++;
    return simi_schedule(w, w->now_s + wait, SIMI_EV_RETRY, (uint32_t)r->deployment, q);
}

/* Admission control shed request q (a 429): rejected, never served. */
static int shed(struct sim_world *w, struct simi_deploy *d, struct simi_replica *rp, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    r->flags |= SIM_RF_REJECTED | SIM_RF_SHED;
    r->start_s = r->first_token_s = r->done_s = w->now_s;
    d->shed++;
    if (rp != NULL) {
        LLMSIM_ASSERT(rp->load > 0);
        rp->load--;
    }
    return simi_finish(w, q);
}

/* Request q waits in queue f (scheduler none; rp: its replica, NULL for
 * the shared queue), unless admission control sheds or defers it. */
static int enqueue(struct sim_world *w, struct simi_deploy *d, struct simi_wq *f, struct simi_replica *rp,
                   uint32_t q)
{
    /* A request routed again after a spot interruption keeps the decision
     * taken when it arrived (admitted, or deferred to the background). */
    int adm = (w->pool.slot[q].flags & SIM_RF_REQUEUED) ? 0 : simi_admission(w, d, f, q);
    if (adm == 1)
        return shed(w, d, rp, q);
    d->waiting++;
    if (adm == 2) {
        w->pool.slot[q].flags |= SIM_RF_DEFERRED;
        d->deferred++;
        return simi_wq_defer(w, f, q);
    }
    return (w->pool.slot[q].flags & SIM_RF_DEFERRED) ? simi_wq_defer(w, f, q) : simi_wq_push(w, f, q);
}

int simi_serve_dispatch(struct sim_world *w, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    struct simi_deploy *d = &w->deploy[r->deployment];
    const struct sim_deployment_cfg *c = d->cfg;
    int pass = 1, rc = 0;

    if (c->kind == SIM_DEPLOY_API && (d->rl.lim_req > 0 || d->rl.lim_in > 0 || d->rl.lim_out > 0))
        rc = rl_gate(w, d, 0, q, &pass);
    else if (d->quota != NULL && r->class_idx >= 0 && d->quota_of_class[r->class_idx] >= 0 &&
             !(r->flags & SIM_RF_REQUEUED)) /* (a requeued request passed its quota when it arrived) */
        rc = rl_gate(w, d, (uint32_t)d->quota_of_class[r->class_idx] + 1, q, &pass);
    if (rc || !pass)
        return rc;
    if (c->kind == SIM_DEPLOY_API)
        return api_send(w, d, q);
    return route(w, q);
}

/* Request q, past its tenant's quota, joins self-hosted deployment d. */
static int route(struct sim_world *w, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    struct simi_deploy *d = &w->deploy[r->deployment];
    const struct sim_deployment_cfg *c = d->cfg;
    if (c->queue_shared) {
        for (int i = 0; i < d->n_live; i++)
            if (d->replicas[d->live[i]].current == SIMI_NONE)
                return start(w, d, d->live[i], q);
        return enqueue(w, d, &d->shared, NULL, q);
    }
    if (d->prefill_pool >= 0)
        return simi_disagg_dispatch(w, d, q);
    if (d->n_live == 0) {
        /* every replica interrupted: it waits for a replacement */
        d->waiting++;
        return simi_fifo_push(&d->orphans, q);
    }
    int j = simi_choose_replica(d, r, w);
    struct simi_replica *rp = &d->replicas[j];
    rp->load++;
    if (rp->batch != NULL) {
        /* Admission control applies where the request would wait. */
        struct simi_wq *f = simi_batch_wq(rp);
        int adm = (r->flags & SIM_RF_REQUEUED) || (simi_batch_has_room(rp) && f->len == 0)
                      ? 0
                      : simi_admission(w, d, f, q);
        if (adm == 1)
            return shed(w, d, rp, q);
        if (adm == 2) {
            r->flags |= SIM_RF_DEFERRED;
            d->deferred++;
        }
        return simi_batch_dispatch(w, d, j, q);
    }
    if (rp->current == SIMI_NONE) {
        LLMSIM_ASSERT(rp->queue.len == 0);
        return start(w, d, j, q);
    }
    r->replica = j;
    return enqueue(w, d, &rp->queue, rp, q);
}

int simi_serve_replica_ready(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    /* Requests that found no ready replica are routed now, in arrival order
     * (this replica being the only ready one, they all come here). */
    uint32_t n = d->orphans.len;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t q = simi_fifo_pop(&d->orphans);
        d->waiting--;
        int rc = route(w, q);
        if (rc)
            return rc;
    }
    if (rp->batch != NULL || !d->cfg->queue_shared || rp->current != SIMI_NONE)
        return 0; /* per-replica queues: new arrivals find it */
    uint32_t next = simi_wq_pop(w, &d->shared);
    if (next == SIMI_NONE)
        return 0;
    d->waiting--;
    return start(w, d, j, next);
}

int simi_serve_done(struct sim_world *w, const struct sim_event *ev)
{
    uint32_t q = (uint32_t)ev->payload;
    LLMSIM_ASSERT(ev->target < w->n_deploy && q < w->pool.used);
    struct simi_deploy *d = &w->deploy[ev->target];
    LLMSIM_ASSERT(d->running > 0);
    d->running--;
    if (ev->kind == SIMI_EV_REPLICA_DONE) {
        const struct simi_req *r = &w->pool.slot[q];
        struct simi_replica *rp = &d->replicas[r->replica];
        LLMSIM_ASSERT(rp->current == q && rp->load > 0);
        rp->busy_s += r->done_s - r->start_s;
        rp->current = SIMI_NONE;
        rp->load--;
        /* A draining replica finishes its own queue but takes nothing more
         * from the shared one. */
        struct simi_wq *f = d->cfg->queue_shared ? &d->shared : &rp->queue;
        simi_wq_done(w, f, q);
        uint32_t next = d->cfg->queue_shared && rp->state == SIMI_RS_DRAINING ? SIMI_NONE : simi_wq_pop(w, f);
        if (next != SIMI_NONE) {
            d->waiting--;
            int rc = start(w, d, r->replica, next);
            if (rc != 0)
                return rc;
        }
        int rc = simi_scale_check_drained(w, d, r->replica);
        if (rc != 0)
            return rc;
    }
    return simi_finish(w, q);
}
