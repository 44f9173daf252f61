/* Replica lifecycle and autoscaling of self-hosted deployments.
 *
 * Every replica slot of a self-hosted deployment is off, starting, ready or
 * draining (enum simi_replica_state).  Only ready replicas are routable: the
 * deployment keeps them in `live`, in ascending index order, and every
 * replica-routing policy (world_serve.c) chooses among those, so a static
 * deployment (all slots ready from 0) routes exactly as it always did.
 *
 * Billing follows the clouds: a replica is billed from the moment its
 * provisioning is requested (the VM or node is being allocated and booted,
 * the engine started and the weights loaded, all on billed GPUs) until it is
 * released after draining.  The integral of the billed count is kept in O(1)
 * per change: the seconds of released replicas, the number billed now and
 * the sum of their start times, so that at time T the integral is
 * closed + n x T - sum(starts).  Without autoscale that is replicas x T,
 * exactly as before.
 *
 * The autoscaler is the Kubernetes horizontal pod autoscaler's algorithm
 * (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/,
 * "Algorithm details", checked 2026-12): every interval_s it reads one
 * metric over the ready replicas and wants
 *     ceil(ready x metric / target)
 * replicas, unless metric / target is within the tolerance of 1 (then it
 * keeps the count); clamped to [min, max].
 *   utilization  busy share of the ready replicas since the previous
 *                evaluation (busy seconds / ready seconds in the window; a
 *                batching replica is busy while an iteration runs, which is
 *                what DCGM's GPU utilisation counts);
 *   queue        requests waiting (not in service) per ready replica at the
 *                evaluation (vLLM's num_requests_waiting), so the want is
 *                ceil(waiting / target);
 *   kv           mean share of KV memory in use over the ready replicas at
 *                the evaluation (vLLM's gpu_cache_usage_perc);
 *   slo          mean TTFT of the first tokens produced since the previous
 *                evaluation (a running sum and count, reset per evaluation;
 *                measured from the request's dispatch to this deployment; a
 *                window with no first token keeps the count).
 * Each evaluation costs O(replicas); nothing is added per request event
 * except two additions for the slo sums.
 *
 * Scale up: when the want exceeds the replicas ready or starting, the
 * missing ones start now (the lowest free slots) and turn ready delay_s
 * later, the delay being provisioning plus weights over load bandwidth
 * (see the defaults in scenarios/src/loader.c).  Scale in: the HPA's
 * downscale stabilisation window: only when no replica is starting and
 * every evaluation for scale_in_cooldown_s has wanted fewer does the count
 * drop, to the largest of those wants.  The replicas to drop are the ready
 * ones holding the fewest requests (ties: the highest slot); each stops
 * receiving requests, finishes what it holds (its queue included), and is
 * released the moment it is empty.  A draining replica is not taken back:
 * a later scale-up provisions a fresh one, as a terminating pod or VM is
 * not revived.
 *
 * Spot capacity (deployments with `spot`, no autoscale): the highest n_spot
 * slots are spot instances.  Each provisioned spot replica is interrupted
 * after an exponential time of mean 1 / rate_per_h hours drawn when it is
 * provisioned (stream "deployment/<name>/spot"), and at the listed times;
 * the interruption hazard runs while it is billed (starting or ready), so
 * interruptions per billed spot replica-hour are Poisson with mean
 * rate_per_h.  The clouds give notice first (AWS: two minutes, "Spot
 * Instance interruption notices", docs.aws.amazon.com/AWSEC2/latest/
 * UserGuide/spot-instance-termination-notices.html; GCP: 30 seconds of
 * ACPI soft shutdown, docs.cloud.google.com/compute/docs/instances/spot,
 * checked 2026-12); llmsim does not act on it (the pessimistic case of a
 * stack that does not drain on the notice).  At the interruption the slot
 * is off and billing stops (both clouds bill a reclaimed spot instance up
 * to its termination, per second on AWS Linux and GCP); the requests it
 * held, in service (their KV is lost) or queued, are routed again as the
 * gateway retries them: from scratch, their prompt prefilled again, each
 * flagged SIM_RF_REQUEUED and counted.  With no replica ready they wait in
 * the deployment's orphan queue until one is.  The replacement is
 * requested acquire_s later (unbilled) and then provisioned like an
 * autoscaled replica: billed from then, ready spot.delay_s later.
 * Interruptions, replacements and their readiness go to the scaling
 * records.  Events after the run is over (nothing in flight or to come)
 * are dropped, so billing never runs past the last completion. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "world_internal.h"

static int emit(struct sim_world *w, const struct simi_deploy *d, int j, int event, double decided_s)
{
    if (w->sink.scale == NULL)
        return 0;
    struct sim_scale_record s;
    memset(&s, 0, sizeof s);
    s.replication = (int32_t)w->replication;
    s.deployment = (int32_t)(d - w->deploy);
    s.replica = j;
    s.event = event;
    s.t_s = w->now_s;
    s.decided_s = decided_s;
    s.provisioned = d->n_billed;
    s.ready = d->n_live;
    int rc = w->sink.scale(w->sink.ctx, &s);
    return rc < 0 ? rc : 0;
}

double simi_scale_billed_s(const struct simi_deploy *d, double t)
{
    return d->billed_closed_s + (double)d->n_billed * t - d->billed_open_start_s;
}

double simi_scale_spot_billed_s(const struct simi_deploy *d, double t)
{
    return d->spot_closed_s + (double)d->spot_n_billed * t - d->spot_open_start_s;
}

double simi_scale_gpu_usd(const struct simi_deploy *d, double t)
{
    double billed = simi_scale_billed_s(d, t);
    if (!d->cfg->spot.enabled)
        return billed * d->gpu_usd_per_replica_s;
    double spot = simi_scale_spot_billed_s(d, t);
    return (billed - spot) * d->gpu_usd_per_replica_s + spot * d->gpu_usd_per_replica_s * (1.0 - d->cfg->spot.discount);
}

void simi_scale_note_ttft(struct simi_deploy *d, double ttft_s)
{
    d->as_ttft_sum_s += ttft_s;
    d->as_ttft_n++;
}

/* Inserts replica j into the routable set, keeping ascending order. */
static void live_add(struct simi_deploy *d, int j)
{
    int i = d->n_live;
    while (i > 0 && d->live[i - 1] > j) {
        d->live[i] = d->live[i - 1];
        i--;
    }
    d->live[i] = j;
    d->n_live++;
}

static void live_remove(struct simi_deploy *d, int j)
{
    int i = 0;
    while (i < d->n_live && d->live[i] != j)
        i++;
    LLMSIM_ASSERT(i < d->n_live);
    memmove(&d->live[i], &d->live[i + 1], (size_t)(d->n_live - i - 1) * sizeof *d->live);
    d->n_live--;
}

/* Draws when spot replica j, provisioned now, will be interrupted. */
static int spot_draw(struct sim_world *w, struct simi_deploy *d, int j)
{
    double rate = d->cfg->spot.rate_per_h;
    if (!(rate > 0))
        return 0;
    double t = w->now_s + gsl_ran_exponential(d->rng_spot, 3600.0 / rate);
    return simi_schedule_h(w, t, SIMI_EV_SPOT, (uint32_t)(d - w->deploy), (uint64_t)j, &d->replicas[j].spot_handle);
}

static int spot_init(struct sim_world *w, struct simi_deploy *d)
{
    const struct sim_spot_cfg *sp = &d->cfg->spot;
    LLMSIM_ASSERT(sp->n_spot >= 1 && sp->n_spot <= d->n_replicas && !d->cfg->autoscale.enabled);
    d->rng_spot = simi_stream(w, "deployment", d->cfg->name, "spot");
    if (d->rng_spot == NULL)
        return LLMSIM_ENOMEM;
    for (int j = d->n_replicas - sp->n_spot; j < d->n_replicas; j++) {
        d->replicas[j].spot = 1;
        d->replicas[j].usd_per_s = d->gpu_usd_per_replica_s * (1.0 - sp->discount);
        d->spot_n_billed++; /* provisioned at 0: nothing to add to the sum of starts */
        int rc = spot_draw(w, d, j);
        if (rc)
            return rc;
    }
    for (int i = 0; i < sp->n_trace; i++) {
        int j = sp->trace[i].replica;
        LLMSIM_ASSERT(j >= 0 && j < d->n_replicas && d->replicas[j].spot);
        int rc = simi_schedule(w, sp->trace[i].t_s, SIMI_EV_SPOT, (uint32_t)(d - w->deploy), (uint64_t)j);
        if (rc)
            return rc;
    }
    return 0;
}

int simi_scale_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err)
{
    const struct sim_deployment_cfg *c = d->cfg;
    const struct sim_autoscale_cfg *as = &c->autoscale;
    if (as->enabled) {
        if (!(as->min >= 1 && as->min <= as->max && as->max == d->n_replicas && c->replicas >= as->min &&
              c->replicas <= as->max))
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "deployment %s: autoscale needs 1 <= min <= replicas <= max", c->name);
        if (!(as->interval_s > 0 && isfinite(as->interval_s)) || !(as->target > 0 && isfinite(as->target)) ||
            !(as->delay_s >= 0 && isfinite(as->delay_s)) || !(as->scale_in_cooldown_s >= 0) ||
            !(as->tolerance >= 0 && as->tolerance < 1) || (unsigned)as->policy > SIM_AS_SLO)
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "deployment %s: autoscale needs interval_s > 0, a target > 0, a finite "
                                    "delay >= 0, a cooldown >= 0 and a tolerance in [0, 1)", c->name);
        if (as->policy == SIM_AS_KV && (c->scheduler == SIM_SCHED_NONE || isinf(d->kv_cap_blocks)))
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "deployment %s: the kv autoscaling policy needs bounded KV memory",
                                    c->name);
    }
    d->live = malloc((size_t)d->n_replicas * sizeof *d->live);
    if (d->live == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    int initial = as->enabled ? c->replicas : d->n_replicas;
    for (int j = 0; j < initial; j++) {
        d->replicas[j].state = SIMI_RS_READY;
        d->live[d->n_live++] = j;
    }
    d->n_billed = initial;
    d->as_below_since_s = -1;
    if (c->spot.enabled) {
        int rc = spot_init(w, d);
        if (rc)
            return llmsim_error_set(err, rc, NULL, 0, 0, "cannot set up the spot replicas");
    }
    if (!as->enabled)
        return 0;
    for (int j = 0; j < initial; j++) {
        int rc = emit(w, d, j, SIM_SCALE_PROVISION, 0.0);
        if (rc == 0)
            rc = emit(w, d, j, SIM_SCALE_READY, 0.0);
        if (rc)
            return llmsim_error_set(err, rc, NULL, 0, 0, "the sink refused a scaling record");
    }
    int rc = simi_schedule(w, as->interval_s, SIMI_EV_AUTOSCALE, (uint32_t)(d - w->deploy), 1);
    if (rc)
        return llmsim_error_set(err, rc, NULL, 0, 0, "cannot schedule the first autoscaler evaluation");
    return 0;
}

static int release(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    LLMSIM_ASSERT(rp->state == SIMI_RS_DRAINING && rp->load == 0);
    rp->state = SIMI_RS_OFF;
    d->n_draining--;
    d->n_billed--;
    d->billed_closed_s += w->now_s - rp->prov_start_s;
    d->billed_open_start_s -= rp->prov_start_s;
    if (d->n_billed == 0)
        d->billed_open_start_s = 0; /* no rounding residue */
    simi_batch_reset(rp);
    return emit(w, d, j, SIM_SCALE_RELEASE, w->now_s);
}

int simi_scale_check_drained(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    if (rp->state != SIMI_RS_DRAINING || rp->load > 0)
        return 0;
    return release(w, d, j);
}

/* Off slot j starts provisioning now (billed from now) and is ready
 * delay_s later. */
static int start_provisioning(struct sim_world *w, struct simi_deploy *d, int j, double delay_s)
{
    struct simi_replica *rp = &d->replicas[j];
    rp->state = SIMI_RS_STARTING;
    rp->prov_start_s = w->now_s;
    /* the slot's busy time so far belongs to its previous life */
    rp->busy_at_sample_s = simi_replica_busy_s(w, rp);
    d->n_starting++;
    d->n_billed++;
    d->billed_open_start_s += w->now_s;
    int rc = emit(w, d, j, SIM_SCALE_PROVISION, w->now_s);
    if (rc)
        return rc;
    return simi_schedule_h(w, w->now_s + delay_s, SIMI_EV_REPLICA_READY, (uint32_t)(d - w->deploy),
                           (uint64_t)j, &rp->ready_handle);
}

static int provision(struct sim_world *w, struct simi_deploy *d)
{
    int j = 0;
    while (j < d->n_replicas && d->replicas[j].state != SIMI_RS_OFF)
        j++;
    LLMSIM_ASSERT(j < d->n_replicas); /* the want never exceeds max = n_replicas */
    d->scale_ups++;
    return start_provisioning(w, d, j, d->cfg->autoscale.delay_s);
}

/* Stops routing to the ready replica holding the fewest requests (ties: the
 * highest slot) and releases it at once when it holds none. */
static int drain_one(struct sim_world *w, struct simi_deploy *d)
{
    LLMSIM_ASSERT(d->n_live > 1);
    int best = d->live[d->n_live - 1];
    for (int i = d->n_live - 2; i >= 0; i--)
        if (d->replicas[d->live[i]].load < d->replicas[best].load)
            best = d->live[i];
    live_remove(d, best);
    d->replicas[best].state = SIMI_RS_DRAINING;
    d->n_draining++;
    d->scale_ins++;
    int rc = emit(w, d, best, SIM_SCALE_DRAIN, w->now_s);
    if (rc)
        return rc;
    return simi_scale_check_drained(w, d, best);
}

/* The replicas the policy wants now (before clamping), or -1 to keep the count. */
static double want(struct sim_world *w, struct simi_deploy *d)
{
    const struct sim_autoscale_cfg *as = &d->cfg->autoscale;
    double t = w->now_s, n = d->n_live, metric;
    switch (as->policy) {
    case SIM_AS_UTILIZATION: {
        double busy = 0, avail = 0;
        for (int i = 0; i < d->n_live; i++) {
            const struct simi_replica *rp = &d->replicas[d->live[i]];
            busy += simi_replica_busy_s(w, rp) - rp->busy_at_eval_s;
            /* busy_at_eval_s was set when the window started or, for a
             * replica that turned ready within it, at that moment */
            avail += t - (rp->ready_s > d->as_window_s ? rp->ready_s : d->as_window_s);
        }
        metric = avail > 0 ? busy / avail : 0.0;
        break;
    }
    case SIM_AS_QUEUE: {
        double waiting = d->cfg->queue_shared ? d->shared.len : 0;
        for (int i = 0; i < d->n_live; i++) {
            const struct simi_replica *rp = &d->replicas[d->live[i]];
            waiting += rp->batch ? simi_batch_waiting(rp) : rp->queue.len;
        }
        metric = waiting / n;
        break;
    }
    case SIM_AS_KV: {
        double kv = 0;
        for (int i = 0; i < d->n_live; i++)
            kv += simi_batch_kv_frac(&d->replicas[d->live[i]]);
        metric = kv / n;
        break;
    }
    case SIM_AS_SLO:
    default:
        if (d->as_ttft_n == 0)
            return -1;
        metric = d->as_ttft_sum_s / (double)d->as_ttft_n;
        break;
    }
    double ratio = metric / as->target;
    if (fabs(ratio - 1.0) <= as->tolerance)
        return -1;
    /* ceil, forgiving the rounding of n x ratio at whole numbers */
    return ceil(n * ratio - 1e-9);
}

static int evaluate(struct sim_world *w, struct simi_deploy *d, uint64_t k)
{
    const struct sim_autoscale_cfg *as = &d->cfg->autoscale;
    double t = w->now_s;
    int current = d->n_live + d->n_starting;
    double x = want(w, d);
    int wanted = x < 0 ? d->n_live + d->n_starting : x > as->max ? as->max : x < as->min ? as->min : (int)x;
    /* the next window */
    for (int j = 0; j < d->n_replicas; j++)
        if (d->replicas[j].state != SIMI_RS_OFF)
            d->replicas[j].busy_at_eval_s = simi_replica_busy_s(w, &d->replicas[j]);
    d->as_window_s = t;
    d->as_ttft_sum_s = 0;
    d->as_ttft_n = 0;
    int rc = 0;

    if (wanted > current) {
        d->as_below_since_s = -1;
        for (int i = current; i < wanted && rc == 0; i++)
            rc = provision(w, d);
    } else if (wanted < current && d->n_starting == 0) {
        if (d->as_below_since_s < 0) {
            d->as_below_since_s = t;
            d->as_below_max = wanted;
        } else if (wanted > d->as_below_max) {
            d->as_below_max = wanted;
        }
        /* evaluation times are k x interval: forgive their rounding */
        if (t - d->as_below_since_s >= as->scale_in_cooldown_s - 1e-9 * t) {
            int keep = d->as_below_max;
            d->as_below_since_s = -1;
            while (d->n_live > keep && rc == 0)
                rc = drain_one(w, d);
        }
    } else {
        d->as_below_since_s = -1;
    }
    if (rc)
        return rc;
    /* Keep evaluating while the run is live, as the sampler does. */
    if (w->arrival_pending || w->in_system > 0 || w->turns_pending > 0)
        return simi_schedule(w, (double)(k + 1) * as->interval_s, SIMI_EV_AUTOSCALE, (uint32_t)(d - w->deploy),
                             k + 1);
    return 0;
}

static int ready(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    LLMSIM_ASSERT(rp->state == SIMI_RS_STARTING);
    rp->state = SIMI_RS_READY;
    rp->ready_s = w->now_s;
    rp->busy_at_eval_s = simi_replica_busy_s(w, rp);
    d->n_starting--;
    live_add(d, j);
    int rc = emit(w, d, j, SIM_SCALE_READY, rp->prov_start_s);
    if (rc)
        return rc;
    return simi_serve_replica_ready(w, d, j);
}

int simi_scale_event(struct sim_world *w, const struct sim_event *ev)
{
    LLMSIM_ASSERT(ev->target < w->n_deploy);
    struct simi_deploy *d = &w->deploy[ev->target];
    if (ev->kind == SIMI_EV_AUTOSCALE)
        return evaluate(w, d, ev->payload);
    LLMSIM_ASSERT(ev->payload < (uint64_t)d->n_replicas);
    return ready(w, d, (int)ev->payload);
}

/* ---- spot ------------------------------------------------------------------ */

static void cancel(struct sim_world *w, uint64_t *handle)
{
    if (*handle != 0)
        (void)sim_pes_cancel(w->pes, *handle);
    *handle = 0;
}

/* Takes every request off scheduler-none replica j into d->requeue. */
static int take_plain(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    if (rp->current != SIMI_NONE) {
        struct simi_req *r = &w->pool.slot[rp->current];
        rp->busy_s += w->now_s - rp->busy_since_s;
        /* start() charged the whole service: the part not served is not used */
        r->gpu_cost_usd -= (r->done_s - w->now_s) * rp->usd_per_s;
        LLMSIM_ASSERT(d->running > 0);
        d->running--;
        int rc = simi_fifo_push(&d->requeue, rp->current);
        if (rc)
            return rc;
        rp->current = SIMI_NONE;
    }
    LLMSIM_ASSERT(d->waiting >= rp->queue.len);
    d->waiting -= rp->queue.len;
    int rc = simi_wq_drain(&rp->queue, &d->requeue);
    if (rc)
        return rc;
    rp->load = 0;
    return 0;
}

static int interrupt(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    if (rp->state == SIMI_RS_OFF)
        return 0; /* a listed interruption of a slot waiting for its replacement */
    LLMSIM_ASSERT(rp->spot && (rp->state == SIMI_RS_STARTING || rp->state == SIMI_RS_READY));
    double t = w->now_s;
    cancel(w, &rp->spot_handle);
    d->n_billed--;
    d->billed_closed_s += t - rp->prov_start_s;
    d->billed_open_start_s -= rp->prov_start_s;
    if (d->n_billed == 0)
        d->billed_open_start_s = 0; /* no rounding residue */
    d->spot_n_billed--;
    d->spot_closed_s += t - rp->prov_start_s;
    d->spot_open_start_s -= rp->prov_start_s;
    if (d->spot_n_billed == 0)
        d->spot_open_start_s = 0;
    d->requeue.head = d->requeue.len = 0;
    int rc = 0;
    if (rp->state == SIMI_RS_STARTING) {
        cancel(w, &rp->ready_handle);
        d->n_starting--;
    } else {
        live_remove(d, j);
        cancel(w, &rp->ev_handle);
        cancel(w, &rp->timer_handle);
        rc = rp->batch ? simi_batch_interrupt(w, d, j, &d->requeue) : take_plain(w, d, j);
    }
    rp->state = SIMI_RS_OFF;
    d->interruptions++;
    if (rc == 0)
        rc = emit(w, d, j, SIM_SCALE_INTERRUPT, t);
    if (rc == 0)
        rc = simi_schedule(w, t + d->cfg->spot.acquire_s, SIMI_EV_SPOT, (uint32_t)(d - w->deploy),
                           (uint64_t)j | (1ull << 32));
    while (rc == 0 && d->requeue.len > 0) {
        uint32_t q = simi_fifo_pop(&d->requeue);
        struct simi_req *r = &w->pool.slot[q];
        r->requeues++;
        r->flags |= SIM_RF_REQUEUED;
        r->dispatch_s = t;
        r->cached_tokens = 0;
        d->requeued++;
        rc = simi_serve_dispatch(w, q);
    }
    return rc;
}

/* The replacement of interrupted spot slot j starts provisioning now. */
static int replace(struct sim_world *w, struct simi_deploy *d, int j)
{
    LLMSIM_ASSERT(d->replicas[j].state == SIMI_RS_OFF && d->replicas[j].spot);
    d->spot_n_billed++;
    d->spot_open_start_s += w->now_s;
    int rc = start_provisioning(w, d, j, d->cfg->spot.delay_s);
    if (rc == 0)
        rc = spot_draw(w, d, j);
    return rc;
}

int simi_scale_spot_event(struct sim_world *w, const struct sim_event *ev)
{
    LLMSIM_ASSERT(ev->target < w->n_deploy);
    struct simi_deploy *d = &w->deploy[ev->target];
    int j = (int)(ev->payload & 0xffffffffu);
    LLMSIM_ASSERT(j >= 0 && j < d->n_replicas);
    if (!(w->arrival_pending || w->in_system > 0 || w->turns_pending > 0))
        return 0; /* the run is over: billing ends at the last completion */
    if (ev->payload >> 32)
        return replace(w, d, j);
    return interrupt(w, d, j);
}
