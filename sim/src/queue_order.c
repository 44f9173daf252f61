/* Queue order and admission control of self-hosted deployments.
 *
 * A waiting queue (struct simi_wq) holds the requests that wait for a
 * server (scheduler none) or for admission into a batch (batching
 * schedulers).  It is a set of FIFO lanes; which lane a request joins and
 * which lane is served next is the deployment's scheduler.order:
 *
 *   fifo      one lane: first come, first served.
 *   priority  one lane per priority tier, highest first: non-preemptive
 *             strict priority, FIFO within a tier.  The busy lanes are a
 *             bit set, so the next lane is a count of trailing zeros per 64
 *             tiers: O(1) for up to 64 tiers (O(tiers / 64) beyond).
 *   fair      one lane per tenant, served by the Virtual Token Counter of
 *             Sheng et al., "Fairness in Serving Large Language Models"
 *             (OSDI 2024, Algorithm 2): each tenant has a counter of the
 *             weighted service it received, w_in per prompt token and
 *             w_out per output token, divided by the tenant's weight; the
 *             next request is the oldest of the backlogged tenant with the
 *             smallest counter (ties to the tenant listed first).  A tenant
 *             that becomes backlogged has its counter lifted to the
 *             smallest counter of the backlogged tenants, or, when none is
 *             backlogged, to the counter of the tenant that left the queue
 *             last, so that idling earns no credit.  Selection scans the
 *             tenants: O(tenants) per admission.
 *             The paper charges output tokens as each decode step makes
 *             them; here a request's output is charged when it finishes
 *             (simi_wq_done), so that the cost stays O(1) per request
 *             rather than per token.  With scheduler none and one server
 *             the counters are therefore exact at every selection (the
 *             server picks only when its request has finished); with
 *             batches they lag by the output of the requests running.
 *
 * Every order has a last, background lane: requests that admission control
 * deferred.  It is served only when every other lane is empty, i.e. when
 * the deployment has capacity that no foreground request wants.
 *
 * Admission control (simi_admission): a request whose tier has a rule and
 * that would have to wait is shed when the queue it joins already holds
 * max_queue requests that would be served before it (order priority: of
 * its tier and above; else every foreground request), or when its expected
 * wait (those requests plus one, times the mean gap between admissions) is
 * above max_wait_s.  With max_queue = K - 1 on
 * one server this is the M/M/1/K queue: an arrival that finds K requests
 * in the system is lost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "world_internal.h"

static uint32_t lane_of(const struct sim_world *w, const struct simi_wq *f, uint32_t q)
{
    int32_t c = w->pool.slot[q].class_idx;
    return f->d->lane_of_class != NULL && c >= 0 ? f->d->lane_of_class[c] : 0;
}

int simi_order_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err)
{
    const struct sim_deployment_cfg *c = d->cfg;
    const struct sim_workload_cfg *wl = &w->sc->workload;
    size_t nc = wl->n_classes;
    d->n_lanes = 1;
    if (nc == 0)
        return 0;
    int *idx = malloc(nc * sizeof *idx);
    if (idx == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    if (c->order != SIM_ORDER_FIFO) {
        size_t n = c->order == SIM_ORDER_PRIORITY ? sim_workload_tiers(wl, idx) : sim_workload_tenants(wl, idx);
        d->lane_of_class = malloc(nc * sizeof *d->lane_of_class);
        if (d->lane_of_class == NULL)
            goto nomem;
        for (size_t k = 0; k < nc; k++)
            d->lane_of_class[k] = (uint32_t)idx[k];
        d->n_lanes = (uint32_t)n;
        if (c->order == SIM_ORDER_FAIR) {
            d->inv_weight = malloc(n * sizeof *d->inv_weight);
            if (d->inv_weight == NULL)
                goto nomem;
            for (size_t k = 0; k < nc; k++) {
                double wt = sim_tenant_weight(c, sim_class_tenant(&wl->classes[k]));
                if (!(wt > 0 && isfinite(wt))) {
                    free(idx);
                    return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                            "deployment %s: tenant weights must be finite and > 0", c->name);
                }
                d->inv_weight[idx[k]] = 1.0 / wt;
            }
        }
    }
    if (c->n_admission > 0) {
        d->rule_of_class = malloc(nc * sizeof *d->rule_of_class);
        if (d->rule_of_class == NULL)
            goto nomem;
        for (size_t k = 0; k < nc; k++) {
            d->rule_of_class[k] = -1;
            for (size_t j = 0; j < c->n_admission; j++)
                if (c->admission[j].tier == wl->classes[k].priority)
                    d->rule_of_class[k] = (int32_t)j;
        }
    }
    free(idx);
    return 0;
nomem:
    free(idx);
    return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
}

void simi_order_free(struct simi_deploy *d)
{
    free(d->lane_of_class);
    free(d->inv_weight);
    free(d->rule_of_class);
    d->lane_of_class = NULL;
    d->inv_weight = NULL;
    d->rule_of_class = NULL;
}

int simi_wq_init(struct simi_wq *q, const struct simi_deploy *d)
{
    memset(q, 0, sizeof *q);
    q->d = d;
    q->n_lanes = d->n_lanes + 1;
    q->last_left = SIMI_NONE;
    q->lane = calloc(q->n_lanes, sizeof *q->lane);
    q->busy = calloc((q->n_lanes + 63) / 64, sizeof *q->busy);
    if (d->cfg->order == SIM_ORDER_FAIR)
        q->vtc = calloc(d->n_lanes, sizeof *q->vtc);
    if (q->lane == NULL || q->busy == NULL || (d->cfg->order == SIM_ORDER_FAIR && q->vtc == NULL))
        return LLMSIM_ENOMEM;
    return 0;
}

void simi_wq_free(struct simi_wq *q)
{
    for (uint32_t l = 0; q->lane != NULL && l < q->n_lanes; l++)
        simi_fifo_free(&q->lane[l]);
    free(q->lane);
    free(q->busy);
    free(q->vtc);
    memset(q, 0, sizeof *q);
}

static int lane_busy(const struct simi_wq *f, uint32_t l)
{
    return (f->busy[l / 64] >> (l % 64)) & 1u;
}

/* Order fair: tenant l is about to become backlogged (its lane is empty). */
static void vtc_lift(struct simi_wq *f, uint32_t l)
{
    uint32_t fg = f->n_lanes - 1;
    double lo = INFINITY;
    for (uint32_t k = 0; k < fg; k++)
        if (lane_busy(f, k) && f->vtc[k] < lo)
            lo = f->vtc[k];
    if (isinf(lo))
        lo = f->last_left != SIMI_NONE ? f->vtc[f->last_left] : 0.0;
    if (f->vtc[l] < lo)
        f->vtc[l] = lo;
}

/* Puts q into lane l, at the back or at the front. */
static int lane_push(struct simi_wq *f, uint32_t l, uint32_t q, int front)
{
    struct simi_fifo *x = &f->lane[l];
    if (f->vtc != NULL && l + 1 < f->n_lanes && x->len == 0)
        vtc_lift(f, l);
    int rc = simi_fifo_push(x, q); /* grows the ring when needed */
    if (rc)
        return rc;
    if (front) {
        /* Rotate: the element just appended at the tail moves to the head. */
        x->head = (x->head + x->cap - 1) & (x->cap - 1);
        x->buf[x->head] = q;
    }
    f->busy[l / 64] |= UINT64_C(1) << (l % 64);
    f->len++;
    return 0;
}

int simi_wq_push(struct sim_world *w, struct simi_wq *f, uint32_t q)
{
    return lane_push(f, lane_of(w, f, q), q, 0);
}

int simi_wq_push_front(struct sim_world *w, struct simi_wq *f, uint32_t q)
{
    /* A preempted request that was deferred goes back to the background. */
    uint32_t l = (w->pool.slot[q].flags & SIM_RF_DEFERRED) ? f->n_lanes - 1 : lane_of(w, f, q);
    return lane_push(f, l, q, 1);
}

int simi_wq_defer(struct sim_world *w, struct simi_wq *f, uint32_t q)
{
    (void)w;
    return lane_push(f, f->n_lanes - 1, q, 0);
}

/* The lane served next, n_lanes when every lane is empty. */
static uint32_t next_lane(const struct simi_wq *f)
{
    uint32_t fg = f->n_lanes - 1;
    if (f->vtc != NULL) {
        uint32_t best = fg;
        for (uint32_t k = 0; k < fg; k++)
            if (lane_busy(f, k) && (best == fg || f->vtc[k] < f->vtc[best]))
                best = k;
        if (best < fg)
            return best;
        return lane_busy(f, fg) ? fg : f->n_lanes;
    }
    /* fifo and priority: the lowest busy lane (tier 0 is the highest). */
    uint32_t words = (f->n_lanes + 63) / 64;
    for (uint32_t i = 0; i < words; i++)
        if (f->busy[i])
            return i * 64 + (uint32_t)__builtin_ctzll(f->busy[i]);
    return f->n_lanes;
}

uint32_t simi_wq_peek(const struct sim_world *w, const struct simi_wq *f)
{
    (void)w;
    if (f->len == 0)
        return SIMI_NONE;
    const struct simi_fifo *x = &f->lane[next_lane(f)];
    return x->buf[x->head];
}

uint32_t simi_wq_pop(struct sim_world *w, struct simi_wq *f)
{
    if (f->len == 0)
        return SIMI_NONE;
    uint32_t l = next_lane(f);
    uint32_t q = simi_fifo_pop(&f->lane[l]);
    f->len--;
    if (f->lane[l].len == 0) {
        f->busy[l / 64] &= ~(UINT64_C(1) << (l % 64));
        if (f->vtc != NULL && l + 1 < f->n_lanes)
            f->last_left = l;
    }
    if (f->vtc != NULL) {
        /* The prompt is served on admission (VTC charges w_p x prompt). */
        const struct simi_req *r = &w->pool.slot[q];
        uint32_t t = lane_of(w, f, q);
        f->vtc[t] += f->d->cfg->fair_w_in * r->input_tokens * f->d->inv_weight[t];
    }
    return q;
}

int simi_wq_drain(struct simi_wq *f, struct simi_fifo *out)
{
    /* Lane by lane: the highest tier first under order priority, the
     * background lane last; each lane keeps its arrival order.  Nobody is
     * charged (they got no service here). */
    for (uint32_t l = 0; l < f->n_lanes; l++)
        while (f->lane[l].len > 0) {
            int rc = simi_fifo_push(out, simi_fifo_pop(&f->lane[l]));
            if (rc)
                return rc;
            f->len--;
        }
    memset(f->busy, 0, (f->n_lanes + 63) / 64 * sizeof *f->busy);
    /* The scheduler's counters were in the process that is gone: the
     * replacement starts from zero, like a fresh server. */
    if (f->vtc != NULL)
        memset(f->vtc, 0, (f->n_lanes - 1) * sizeof *f->vtc);
    f->last_left = SIMI_NONE;
    return 0;
}

uint32_t simi_wq_foreground(const struct simi_wq *f)
{
    return f->len - f->lane[f->n_lanes - 1].len;
}

void simi_wq_done(struct sim_world *w, struct simi_wq *f, uint32_t q)
{
    if (f->vtc == NULL)
        return;
    const struct simi_req *r = &w->pool.slot[q];
    uint32_t t = lane_of(w, f, q);
    f->vtc[t] += f->d->cfg->fair_w_out * r->output_tokens * f->d->inv_weight[t];
}

/* Requests in f that the order serves before q: under order priority
 * those of its tier and above, else every foreground request. */
static uint32_t ahead_of(const struct sim_world *w, const struct simi_wq *f, uint32_t q)
{
    if (f->d->cfg->order != SIM_ORDER_PRIORITY)
        return simi_wq_foreground(f);
    uint32_t n = 0, l = lane_of(w, f, q);
    for (uint32_t k = 0; k <= l; k++)
        n += f->lane[k].len;
    return n;
}

int simi_admission(const struct sim_world *w, const struct simi_deploy *d, const struct simi_wq *f, uint32_t q)
{
    int32_t c = w->pool.slot[q].class_idx;
    if (d->rule_of_class == NULL || c < 0 || d->rule_of_class[c] < 0)
        return 0;
    const struct sim_admission_cfg *a = &d->cfg->admission[d->rule_of_class[c]];
    uint32_t ahead = ahead_of(w, f, q);
    /* Its expected wait: the requests ahead of it, plus the one it waits for
     * to leave, times the mean gap between admissions at its queue (the
     * deployment's gap, times the ready replicas when each has its own
     * queue: fewer while autoscaling or after a spot interruption);
     * unknown (no shedding on it) until two admissions were seen. */
    double gap = d->adm_gap_s * (d->cfg->queue_shared || d->n_live < 1 ? 1.0 : (double)d->n_live);
    int over = (double)ahead >= a->max_queue ||
               (isfinite(a->max_wait_s) && d->admissions >= 2 && (ahead + 1.0) * gap > a->max_wait_s);
    return over ? 1 + a->defer : 0;
}
