/* The simulated world: allocation, the event loop, statistics, timeseries
 * sampling and records; see llmsim/world.h for the contract and
 * world_internal.h for how the parts fit together.
 *
 * The loop is the classic next-event time advance: pop the earliest event
 * from the pending-event set (ties in scheduling order), move the clock to
 * its time, let the part of the world it concerns react.  Arrivals are
 * generated lazily (one pending arrival at a time), so the set holds one
 * event per request in service plus a constant, whatever the horizon.
 *
 * The number-in-system integral is kept exactly: it is advanced at every
 * change of the count (arrival, completion), so when a run has drained it
 * equals the sum of the sojourn times up to rounding, which is Little's law
 * L = lambda W in its sample-path form (L T = sum of W = lambda T W). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/rng.h"
#include "world_internal.h"

/* Initial sizes; both grow by doubling. */
#define POOL_INITIAL 64u
#define FIFO_INITIAL 16u

/* ---- request pool ---------------------------------------------------- */

/* Zeroes n >= 8 bytes at p with fixed-size stores.  memset of a struct's
 * few hundred bytes compiles to `rep stosq`, whose start-up costs tens of
 * cycles (Intel 64 and IA-32 Architectures Optimization Reference Manual,
 * "Enhanced REP MOVSB and STOSB operation": fast only from a few hundred
 * bytes up); with n a constant this unrolls into a run of 16-byte stores,
 * the last 8-byte one possibly overlapping (GCC; other compilers expand
 * a memset of constant size inline themselves). */
static inline void zero_bytes(void *p, size_t n)
{
#if defined(__GNUC__) && !defined(__clang__)
    typedef uint64_t zero16 __attribute__((vector_size(16), aligned(1), may_alias));
    typedef uint64_t zero8 __attribute__((aligned(1), may_alias));
    unsigned char *b = p;
#pragma GCC unroll 32
    for (size_t i = 0; i + 16 <= n; i += 16)
        *(zero16 *)(void *)(b + i) = (zero16){0, 0};
    if (n % 16 != 0)
        *(zero8 *)(void *)(b + n - 8) = 0;
#else
    memset(p, 0, n);
#endif
}

int simi_pool_get(struct simi_pool *p, uint32_t *out)
{
    uint32_t q;
    if (p->free_head != SIMI_NONE) {
        q = p->free_head;
        p->free_head = p->slot[q].next_free;
    } else {
        if (p->used == p->cap) {
            /* SIMI_NONE must stay out of range of any slot index. */
            if (p->cap >= UINT32_MAX / 2)
                return LLMSIM_ELIMIT;
            uint32_t ncap = p->cap ? 2 * p->cap : POOL_INITIAL;
            struct simi_req *ns = realloc(p->slot, (size_t)ncap * sizeof *ns);
            if (ns == NULL)
                return LLMSIM_ENOMEM;
            p->slot = ns;
            p->cap = ncap;
        }
        q = p->used++;
    }
    p->live++;
    /* A fresh request is all zeros, but for its cache points: they are read
     * only below n_pts (0 here) and written as n_pts grows, so the stale
     * points of an earlier request are never seen. */
    struct simi_req *r = &p->slot[q];
    zero_bytes(r, offsetof(struct simi_req, pt_key));
    zero_bytes(&r->session, sizeof *r - offsetof(struct simi_req, session));
    p->slot[q].next_free = SIMI_NONE;
    p->slot[q].client = SIMI_NONE;
    *out = q;
    return 0;
}

void simi_pool_put(struct simi_pool *p, uint32_t q)
{
    LLMSIM_ASSERT(q < p->used && p->live > 0);
    p->slot[q].next_free = p->free_head;
    p->free_head = q;
    p->live--;
}

/* ---- FIFO rings ------------------------------------------------------- */

/* Doubles a full ring.  Out of line, so that a push into a ring with room
 * is a leaf without a stack frame. */
__attribute__((noinline)) static int fifo_grow(struct simi_fifo *f)
{
    if (f->cap >= UINT32_MAX / 2)
        return LLMSIM_ELIMIT;
    uint32_t ncap = f->cap ? 2 * f->cap : FIFO_INITIAL;
    uint32_t *nb = malloc((size_t)ncap * sizeof *nb);
    if (nb == NULL)
        return LLMSIM_ENOMEM;
    /* Unroll the ring so the oldest element lands at index 0. */
    for (uint32_t i = 0; i < f->len; i++)
        nb[i] = f->buf[(f->head + i) & (f->cap - 1)];
    free(f->buf);
    f->buf = nb;
    f->cap = ncap;
    f->head = 0;
    return 0;
}

int simi_fifo_push(struct simi_fifo *f, uint32_t x)
{
    if (f->len == f->cap) {
        int rc = fifo_grow(f);
        if (rc != 0)
            return rc;
    }
    f->buf[(f->head + f->len) & (f->cap - 1)] = x;
    f->len++;
    return 0;
}

uint32_t simi_fifo_pop(struct simi_fifo *f)
{
    if (f->len == 0)
        return SIMI_NONE;
    uint32_t x = f->buf[f->head];
    f->head = (f->head + 1) & (f->cap - 1);
    f->len--;
    return x;
}

void simi_fifo_free(struct simi_fifo *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* ---- shared helpers ---------------------------------------------------- */

gsl_rng *simi_stream(const struct sim_world *w, const char *group, const char *name,
                     const char *what)
{
    char buf[SIMI_STREAM_MAX];
    snprintf(buf, sizeof buf, "%s/%s/%s", group, name, what);
    return sim_rng_alloc(w->sc->seed, w->replication, buf);
}

/* Inline (C99 6.7.4: with world_internal.h's declaration this is still the
 * external definition) into simi_finish, which runs it for every request. */
inline __attribute__((always_inline)) void simi_in_system(struct sim_world *w, double t, int delta)
{
    LLMSIM_ASSERT(t >= w->area_t_s);
    w->area += (double)w->in_system * (t - w->area_t_s);
    w->area_t_s = t;
    if (delta < 0) {
        LLMSIM_ASSERT(w->in_system > 0);
        w->in_system--;
    } else if (delta > 0) {
        w->in_system++;
    }
}

/* Whether the deployment serving r answers it successfully: by the joint
 * outcome table when it is one of the table's two tiers, else by its
 * success probability for r's class or difficulty (1 without one).  See
 * struct sim_quality_joint_cfg for why one draw per request.  Then the
 * output-control penalties: a truncated answer keeps its success with
 * probability 1 - truncation_penalty, and a verbosity v < 1 keeps it with
 * 1 - verbosity_penalty x (1 - v) (one more draw per request).  Inline,
 * as account_answer is: simi_finish runs both for every request, and a
 * call of each cost it a tenth of its work. */
static inline __attribute__((always_inline)) uint8_t answer_ok(const struct sim_world *w,
                                                               const struct simi_req *r)
{
    const struct sim_quality_joint_cfg *j = &w->sc->joint;
    double u = r->quality_u;
    int ok;
    const struct sim_deployment_cfg *d = &w->sc->deployments[r->deployment];
    if (j->enabled && (r->deployment == j->strong || r->deployment == j->weak)) {
        /* u falls in [0, both), [both, +only_strong), [.., +only_weak), [.., 1) */
        if (u < j->both)
            ok = 1;
        else if (u < j->both + j->only_strong)
            ok = r->deployment == j->strong;
        else if (u < j->both + j->only_strong + j->only_weak)
            ok = r->deployment == j->weak;
        else
            ok = 0;
    } else if (d->class_success != NULL && w->n_classes > 0 && !isnan(d->class_success[r->class_idx])) {
        ok = u < d->class_success[r->class_idx];
    } else {
        ok = !d->has_quality || u < d->success[r->difficulty];
    }
    const struct sim_output_control_cfg *oc = &w->sc->output_control;
    double keep = 1.0;
    if ((r->flags & SIM_RF_TRUNCATED) && oc->truncation_penalty > 0)
        keep *= 1.0 - oc->truncation_penalty;
    if (oc->verbosity > 0 && oc->verbosity < 1 && oc->verbosity_penalty > 0)
        keep *= 1.0 - oc->verbosity_penalty * (1.0 - oc->verbosity);
    return (uint8_t)(ok && (keep >= 1.0 || r->penalty_u < keep));
}

/* Accounts for the answer r got at its current deployment (the final one,
 * or a cascade tier it leaves): counts the answer, bills its lines to the
 * deployment and its GPU time to (class, deployment); fills lines[4]
 * (input, cache write, cache read, output; 0 for self-hosted) and *nocache,
 * the answer's cost with caching off (its GPU time when self-hosted). */
static inline __attribute__((always_inline)) void
account_answer(struct sim_world *w, const struct simi_req *r, double lines_usd[4], double *nocache)
{
    struct simi_deploy *d = &w->deploy[r->deployment];
    const struct sim_deployment_cfg *dc = d->cfg;
    d->calls++;
    w->class_gpu_usd[(size_t)r->class_idx * w->n_deploy + (size_t)r->deployment] += r->gpu_cost_usd;
    lines_usd[0] = lines_usd[1] = lines_usd[2] = lines_usd[3] = 0;
    *nocache = r->gpu_cost_usd;
    if (dc->kind != SIM_DEPLOY_API)
        return;
    /* Prompt tokens split into read, written and the rest; the
     * counterfactual bills them all as uncached input. */
    double in = r->input_tokens, rd = r->cached_tokens, w5 = r->write_5m_tokens, w1 = r->write_1h_tokens;
    struct mdl_cost_tokens tok = {.input_uncached = in - rd - w5 - w1,
                                  .cache_write_5m = w5,
                                  .cache_write_1h = w1,
                                  .cache_read = rd,
                                  .output = r->output_tokens,
                                  .batch = (r->flags & SIM_RF_BATCH) != 0};
    struct mdl_price price = dc->price;
    if (dc->cache.enabled && dc->cache.semantics == SIM_CACHE_IDEAL)
        price.cache_write_5m_mult = price.cache_write_1h_mult = 1.0; /* no premium */
    struct mdl_cost_lines l;
    mdl_cost_lines(&price, &tok, &l);
    lines_usd[0] = l.input_usd;
    lines_usd[1] = l.cache_write_usd;
    lines_usd[2] = l.cache_read_usd;
    lines_usd[3] = l.output_usd;
    *nocache = l.nocache_usd;
    d->billed_usd += mdl_cost_total(&l);
}

/* Cascade: whether r's answer at its current tier is passed up to the next
 * (a failure caught with probability detect, a success flagged with
 * probability false_alarm; never from the last tier).  When it is, the
 * answer's cost goes to the request's earlier-tier sums and r is sent on. */
static int escalate(struct sim_world *w, uint32_t q, int *sent)
{
    struct simi_req *r = &w->pool.slot[q];
    const struct sim_routing_cfg *rt = &w->sc->routing;
    *sent = 0;
    if (rt->policy != SIM_ROUTE_CASCADE || r->tier_pos + 1 >= rt->n_tiers || (r->flags & SIM_RF_REJECTED))
        return 0;
    int ok = answer_ok(w, r);
    double u = mdl_rng_uniform(w->rng_cascade);
    if (!(ok ? u < rt->false_alarm : u < rt->detect))
        return 0;
    struct simi_deploy *d = &w->deploy[r->deployment];
    double lines[4], nocache;
    account_answer(w, r, lines, &nocache);
    for (int i = 0; i < 4; i++)
        r->prior_line[i] += lines[i];
    r->prior_gpu_usd += r->gpu_cost_usd;
    r->prior_nocache_usd += nocache;
    d->escalated++;
    if (r->tiers == 1)
        r->first_start_s = r->start_s;
    r->tiers++;
    r->tier_pos++;
    r->flags |= SIM_RF_ESCALATED;
    r->flags &= ~(uint32_t)SIM_RF_BATCH; /* the next tier decides for itself */
    r->deployment = rt->tiers[r->tier_pos];
    r->replica = 0;
    r->gpu_cost_usd = 0;
    r->cached_tokens = r->write_5m_tokens = r->write_1h_tokens = 0;
    r->hit_blocks = r->hit_entries = 0;
    r->attempts = 0;
    r->dispatch_s = w->now_s;
    *sent = 1;
    return simi_serve_dispatch(w, q);
}

int simi_finish(struct sim_world *w, uint32_t q)
{
    /* Order fair: the batch's queue charges the tenant for the output it
     * got (scheduler none's queues are charged in simi_serve_done). */
    const struct simi_deploy *dq = &w->deploy[w->pool.slot[q].deployment];
    if (dq->n_replicas > 0 && dq->replicas[w->pool.slot[q].replica].batch != NULL &&
        !(w->pool.slot[q].flags & SIM_RF_REJECTED))
        simi_wq_done(w, simi_batch_wq(&dq->replicas[w->pool.slot[q].replica]), q);
    int sent = 0, erc = escalate(w, q, &sent);
    if (sent || erc != 0)
        return erc;
    const struct simi_req *r = &w->pool.slot[q];
    struct simi_deploy *d = &w->deploy[r->deployment];
    LLMSIM_ASSERT(r->done_s == w->now_s);

    /* Zeroed first so that its padding is too (the spool writes it whole). */
    struct sim_request_record rec;
    zero_bytes(&rec, sizeof rec);
    rec.id = r->id;
    rec.replication = (int32_t)w->replication;
    rec.class_idx = r->class_idx;
    rec.session = r->session != SIMI_NONE ? (int64_t)r->session_id : -1;
    rec.turn = r->session != SIMI_NONE ? (int32_t)r->turn : 0;
    rec.deployment = r->deployment;
    rec.replica = r->replica;
    rec.difficulty = r->difficulty;
    rec.arrival_s = r->arrival_s;
    rec.dispatch_s = r->dispatch_s;
    rec.prefill_start_s = r->tiers > 1 ? r->first_start_s : r->start_s;
    rec.first_token_s = r->first_token_s;
    rec.done_s = r->done_s;
    rec.ttft_s = r->first_token_s - r->arrival_s;
    rec.e2e_s = r->done_s - r->arrival_s;
    rec.queue_s = rec.prefill_start_s - r->arrival_s;
    rec.mean_itl_s = r->output_tokens > 1
                         ? (r->done_s - r->first_token_s) / (double)(r->output_tokens - 1)
                         : 0.0;
    rec.input_tokens = r->input_tokens;
    rec.cached_tokens = r->cached_tokens;
    rec.cache_write_tokens = r->write_5m_tokens + r->write_1h_tokens;
    rec.output_tokens = r->output_tokens;
    double lines[4], nocache;
    account_answer(w, r, lines, &nocache);
    rec.cost_input_usd = lines[0] + r->prior_line[0];
    rec.cost_cache_write_usd = lines[1] + r->prior_line[1];
    rec.cost_cache_read_usd = lines[2] + r->prior_line[2];
    rec.cost_output_usd = lines[3] + r->prior_line[3];
    rec.cost_gpu_usd = r->gpu_cost_usd + r->prior_gpu_usd;
    rec.cost_nocache_usd = nocache + r->prior_nocache_usd;
    rec.cost_escalated_usd = r->prior_line[0] + r->prior_line[1] + r->prior_line[2] + r->prior_line[3] + r->prior_gpu_usd;
    rec.tiers = (int32_t)r->tiers;
    rec.preemptions = r->preemptions;
    rec.success = (r->flags & SIM_RF_REJECTED) ? 0 : answer_ok(w, r);
    rec.flags = r->flags | (r->arrival_s < w->sc->warmup_s ? SIM_RF_WARMUP : 0u);
    int streaming = w->n_classes > 0 && w->classes[r->class_idx].cfg->streaming;
    double shown = streaming ? r->first_token_s : r->done_s;
    rec.perceived_s = shown - (r->user_s > r->arrival_s ? r->user_s : r->arrival_s);
    if (rec.perceived_s < 0)
        rec.perceived_s = 0; /* a prefetch hit ready before the user asked */

    int trc = simi_source_done(w, r);
    if (trc < 0)
        return trc;
    simi_in_system(w, w->now_s, -1);
    w->completed++;
    d->completed++;
    w->sum_sojourn_s += rec.e2e_s;
    w->makespan_s = w->now_s;
    simi_pool_put(&w->pool, q);

    if (w->sink.request != NULL) {
        int rc = w->sink.request(w->sink.ctx, &rec);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- timeseries --------------------------------------------------------- */

static int emit_ts(struct sim_world *w, const struct sim_ts_record *row)
{
    if (w->sink.timeseries == NULL)
        return 0;
    int rc = w->sink.timeseries(w->sink.ctx, row);
    return rc < 0 ? rc : 0;
}

/* One row per deployment (replica -1) and one per self-hosted replica.
 * Out of line: inlined into dispatch, its frame would be paid by every
 * event. */
__attribute__((noinline)) static int sample(struct sim_world *w, uint64_t k)
{
    double t = w->now_s;
    double span = t - w->ts_last_s; /* the interval just ended */
    uint64_t rows = 0;
    for (size_t i = 0; i < w->n_deploy; i++)
        rows += 1 + (uint64_t)w->deploy[i].n_billed;
    if (w->ts_rows + rows > SIM_MAX_TS_ROWS) {
        w->ts_capped = 1; /* a safety net: stop sampling, let the run go on */
        return 0;
    }
    w->ts_rows += rows;
    for (size_t i = 0; i < w->n_deploy; i++) {
        struct simi_deploy *d = &w->deploy[i];
        struct sim_ts_record row;
        memset(&row, 0, sizeof row);
        row.t_s = t;
        row.replication = (int32_t)w->replication;
        row.deployment = (int32_t)i;
        row.replica = -1;
        row.queue_len = (int32_t)d->waiting;
        row.running = (int32_t)d->running;
        /* The replicas billed now (starting, ready or draining): all of
         * them without autoscale.  Rows and means cover those only. */
        row.replicas = d->n_billed;
        row.cost_cum_usd = d->billed_usd + simi_scale_gpu_usd(d, t);
        if (d->prefill_pool >= 0) {
            /* The rows of a disaggregated deployment describe its decode
             * pool; its cost includes the prefill pool's billed GPUs. */
            const struct simi_deploy *p = &w->deploy[d->prefill_pool];
            row.cost_cum_usd += simi_scale_gpu_usd(p, t);
        }

        /* Per-replica busy fractions first, so the deployment row can carry
         * their mean; the replica rows follow the deployment row.  A
         * replica provisioned within the interval counts from then. */
        double busy_sum = 0.0, kv_sum = 0.0;
        for (int j = 0; j < d->n_replicas; j++) {
            const struct simi_replica *rp = &d->replicas[j];
            if (rp->state == SIMI_RS_OFF)
                continue;
            double busy = simi_replica_busy_s(w, rp) - rp->busy_at_sample_s;
            double own = rp->prov_start_s > w->ts_last_s ? t - rp->prov_start_s : span;
            busy_sum += own > 0 ? busy / own : 0.0;
            kv_sum += simi_batch_kv_frac(rp);
        }
        row.busy_frac = d->n_billed > 0 ? busy_sum / d->n_billed : 0.0;
        row.kv_used_frac = d->n_billed > 0 ? kv_sum / d->n_billed : 0.0;
        int rc = emit_ts(w, &row);
        if (rc < 0)
            return rc;

        for (int j = 0; j < d->n_replicas; j++) {
            struct simi_replica *rp = &d->replicas[j];
            if (rp->state == SIMI_RS_OFF)
                continue;
            double busy_total = simi_replica_busy_s(w, rp);
            double own = rp->prov_start_s > w->ts_last_s ? t - rp->prov_start_s : span;
            struct sim_ts_record rr = row;
            rr.replica = j;
            rr.queue_len = (int32_t)(rp->batch ? simi_batch_waiting(rp) : rp->queue.len);
            rr.running = (int32_t)(rp->batch ? simi_batch_running(rp) : rp->current != SIMI_NONE);
            rr.kv_used_frac = simi_batch_kv_frac(rp);
            rr.cache_tokens = simi_batch_cache_tokens(rp);
            rr.busy_frac = own > 0 ? (busy_total - rp->busy_at_sample_s) / own : 0.0;
            rr.replicas = 1;
            rr.cost_cum_usd = (t - rp->prov_start_s) * rp->usd_per_s;
            rp->busy_at_sample_s = busy_total;
            rc = emit_ts(w, &rr);
            if (rc < 0)
                return rc;
        }
    }
    w->ts_last_s = t;

    /* Keep sampling while the run is live; once nothing can happen any more
     * the sampler must stop, or the run would never end. */
    if (w->arrival_pending || w->in_system > 0 || w->turns_pending > 0)
        return simi_schedule(w, (double)(k + 1) * w->ts_interval_s, SIMI_EV_SAMPLE, 0, k + 1);
    return 0;
}

/* ---- allocation ----------------------------------------------------------- */

int sim_world_alloc(struct sim_world **out, const struct sim_scenario *sc, uint32_t replication,
                    const struct sim_sink *sink, struct llmsim_error *err)
{
    LLMSIM_ASSERT(out != NULL && sc != NULL);
    *out = NULL;
    int rc;
    struct sim_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    w->sc = sc;
    w->replication = replication;
    if (sink != NULL)
        w->sink = *sink;
    w->pool.free_head = SIMI_NONE;
    w->arrival_t_s = INFINITY;
    w->arrival_seq = SIMI_NO_SEQ;

    double iv = sc->output.timeseries_interval_s;
    if (!(iv >= 0) || isinf(iv)) {
        rc = llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                              "output.timeseries_interval_s must be finite and >= 0");
        goto fail;
    }
    w->ts_interval_s = iv;
    if (!(sc->duration_s >= 0) || !(sc->warmup_s >= 0)) {
        rc = llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                              "duration_s and warmup_s must be >= 0");
        goto fail;
    }

    w->pes = sim_pes_alloc(0);
    if (w->pes == NULL) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    if ((rc = simi_serve_init(w, err)) != 0)
        goto fail;
    if ((rc = simi_source_init(w, err)) != 0)
        goto fail;
    w->dep_stats = calloc(w->n_deploy, sizeof *w->dep_stats);
    w->class_gpu_usd = calloc((w->n_classes ? w->n_classes : 1) * w->n_deploy, sizeof *w->class_gpu_usd);
    if (w->dep_stats == NULL || w->class_gpu_usd == NULL) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }

    if ((rc = simi_source_start(w)) != 0) {
        llmsim_error_set(err, rc, NULL, 0, 0, "cannot schedule the first arrival");
        goto fail;
    }
    if (w->ts_interval_s > 0 && w->arrival_pending) {
        if ((rc = simi_schedule(w, w->ts_interval_s, SIMI_EV_SAMPLE, 0, 1)) != 0) {
            llmsim_error_set(err, rc, NULL, 0, 0, "cannot schedule the first sample");
            goto fail;
        }
    }
    *out = w;
    return 0;

fail:
    sim_world_free(w);
    return rc;
}

void sim_world_free(struct sim_world *w)
{
    if (w == NULL)
        return;
    simi_source_free(w);
    simi_serve_free(w);
    free(w->dep_stats);
    free(w->class_gpu_usd);
    free(w->pool.slot);
    sim_pes_free(w->pes);
    free(w);
}

/* ---- stepping ------------------------------------------------------------ */

static int dispatch(struct sim_world *w, const struct sim_event *ev)
{
    switch (ev->kind) {
    case SIMI_EV_ARRIVAL:
        return simi_source_arrival(w, ev);
    case SIMI_EV_API_DONE:
    case SIMI_EV_REPLICA_DONE:
        return simi_serve_done(w, ev);
    case SIMI_EV_SAMPLE:
        return sample(w, ev->payload);
    case SIMI_EV_ITER_END:
    case SIMI_EV_BATCH_TIMER:
        return simi_batch_event(w, ev);
    case SIMI_EV_TURN:
        return simi_source_turn(w, ev);
    case SIMI_EV_RETRY:
        return simi_serve_dispatch(w, (uint32_t)ev->payload);
    case SIMI_EV_RL_WAKE:
        return simi_serve_rl_wake(w, ev);
    case SIMI_EV_PREFETCH:
        return simi_source_prefetch(w, ev);
    case SIMI_EV_AUTOSCALE:
    case SIMI_EV_REPLICA_READY:
        return simi_scale_event(w, ev);
    case SIMI_EV_SPOT:
        return simi_scale_spot_event(w, ev);
    case SIMI_EV_KV_DONE:
        return simi_disagg_event(w, ev);
    default:
        LLMSIM_ASSERT(!"unknown event kind");
        return LLMSIM_ESTATE;
    }
}

int sim_step(struct sim_world *w)
{
    if (w->failed)
        return w->failed;
    struct sim_event ev;
    int rc;
    /* The next event is the set's earliest or the held arrival, whichever
     * comes first by (time, seq); with no arrival held the bound is past
     * every event.  The arrival goes to its handler without the switch. */
    if (sim_pes_pop_before(w->pes, w->arrival_t_s, w->arrival_seq, &ev)) {
        LLMSIM_ASSERT(ev.time >= w->now_s); /* the clock never goes backwards */
        w->now_s = ev.time;
        w->events++;
        rc = dispatch(w, &ev);
    } else if (w->arrival_seq != SIMI_NO_SEQ) {
        ev = (struct sim_event){.time = w->arrival_t_s, .seq = w->arrival_seq, .kind = SIMI_EV_ARRIVAL,
                                .payload = w->arrival_row};
        w->arrival_t_s = INFINITY;
        w->arrival_seq = SIMI_NO_SEQ;
        LLMSIM_ASSERT(ev.time >= w->now_s);
        w->now_s = ev.time;
        w->events++;
        rc = simi_source_arrival(w, &ev);
    } else {
        return 0;
    }
    if (rc < 0) {
        w->failed = rc;
        return rc;
    }
    return 1;
}

/* The time of the next event, the held arrival included: 1 and *t, or 0
 * when nothing is pending. */
static int next_time(struct sim_world *w, double *t)
{
    struct sim_event ev;
    int in_set = sim_pes_peek(w->pes, &ev);
    if (w->arrival_seq == SIMI_NO_SEQ) {
        if (in_set)
            *t = ev.time;
        return in_set;
    }
    *t = in_set && ev.time < w->arrival_t_s ? ev.time : w->arrival_t_s;
    return 1;
}

int sim_run_until(struct sim_world *w, double t_s)
{
    if (w->failed)
        return w->failed;
    double next;
    int more;
    while ((more = next_time(w, &next)) && next <= t_s) {
        int rc = sim_step(w);
        if (rc < 0)
            return rc;
    }
    if (isfinite(t_s) && t_s > w->now_s)
        w->now_s = t_s;
    return more ? 1 : 0;
}

int sim_run(struct sim_world *w)
{
    int rc;
    while ((rc = sim_step(w)) == 1)
        ;
    return rc;
}

double sim_world_now(const struct sim_world *w)
{
    return w->now_s;
}

double simi_nonneg(double x)
{
    return x > 0 ? x : 0.0;
}

double simi_replica_busy_s(const struct sim_world *w, const struct simi_replica *r)
{
    double b = r->busy_s;
    if (r->current != SIMI_NONE)
        b += w->now_s - r->busy_since_s;
    return b;
}

/* Adds busy GPU-seconds x peak FLOP/s (bytes/s) of deployment or pool d,
 * busy for busy_s replica-seconds, to *fl and *by. */
static void pool_caps(const struct sim_world *w, const struct simi_deploy *d, double busy_s, double *fl, double *by)
{
    (void)w;
    const struct mdl_roofline *m = &d->cfg->roofline;
    int fp8 = m->weights == MDL_DTYPE_FP8 && m->gpu.fp8_tflops > 0;
    double peak = (fp8 ? m->gpu.fp8_tflops : m->gpu.bf16_tflops) * 1e12;
    double gpu_s = busy_s * d->cfg->tp;
    *fl += gpu_s * peak;
    *by += gpu_s * m->gpu.bandwidth_gbs * 1e9;
}

/* Adds prefill pool p to its deployment's statistics s: its replicas are
 * provisioned, billed and powered like the deployment's own. */
static void add_pool(const struct sim_world *w, const struct simi_deploy *p, struct sim_deployment_stats *s,
                     const struct sim_energy_cfg *en)
{
    double busy = 0;
    for (int j = 0; j < p->n_replicas; j++)
        busy += simi_replica_busy_s(w, &p->replicas[j]);
    double prov = simi_scale_billed_s(p, w->makespan_s);
    s->prefill_busy_s = busy;
    s->prefill_provisioned_s = prov;
    s->busy_s += busy;
    s->provisioned_s += prov;
    s->gpu_cost_usd += simi_scale_gpu_usd(p, w->makespan_s);
    s->gpu_busy_cost_usd += busy * p->gpu_usd_per_replica_s;
    s->iterations += p->iterations;
    s->preemptions += p->preemptions;
    s->rejected += p->rejected;
    s->output_tokens += p->output_tokens;
    s->flops += p->flops;
    s->bytes += p->bytes;
    const struct sim_deployment_cfg *c = p->cfg;
    if (en->enabled && c->has_gpu && isfinite(s->energy_kwh)) {
        const struct mdl_gpu *g = &c->roofline.gpu;
        double kwh = en->pue * c->tp * (g->idle_w * prov + (g->max_w - g->idle_w) * busy) / 3.6e6;
        s->energy_kwh += kwh;
        s->energy_usd += kwh * en->usd_per_kwh;
        s->co2_g += kwh * en->g_co2_per_kwh;
    }
}

void sim_world_stats(const struct sim_world *w, struct sim_world_stats *out)
{
    memset(out, 0, sizeof *out);
    out->now_s = w->now_s;
    out->makespan_s = w->makespan_s;
    out->arrivals = w->arrivals;
    out->completed = w->completed;
    out->in_flight = w->in_system;
    out->events = w->events;
    out->ts_rows = w->ts_rows;
    out->ts_capped = w->ts_capped;
    /* The integral runs to the clock, not just to the last change. */
    out->area_in_system = w->area + (double)w->in_system * (w->now_s - w->area_t_s);
    out->sum_sojourn_s = w->sum_sojourn_s;
    out->n_deployments = w->n_deploy;
    /* The stats array belongs to the world but is refreshed here: the world
     * is const to the caller, the array it points to is not. */
    out->deployments = w->dep_stats;
    out->n_classes = w->n_classes;
    out->class_gpu_usd = w->class_gpu_usd;
    for (size_t i = 0; i < w->n_deploy; i++) {
        const struct simi_deploy *d = &w->deploy[i];
        struct sim_deployment_stats *s = &w->dep_stats[i];
        memset(s, 0, sizeof *s);
        s->completed = d->completed;
        s->calls = d->calls;
        s->escalated = d->escalated;
        for (int j = 0; j < d->n_replicas; j++)
            s->busy_s += simi_replica_busy_s(w, &d->replicas[j]);
        /* Billed as provisioned, up to the end of the run (the last
         * completion; every provisioning and release happens before it). */
        s->provisioned_s = simi_scale_billed_s(d, w->makespan_s);
        s->gpu_cost_usd = simi_scale_gpu_usd(d, w->makespan_s);
        s->scale_ups = d->scale_ups;
        s->scale_ins = d->scale_ins;
        s->gpu_busy_cost_usd = s->busy_s * d->gpu_usd_per_replica_s;
        if (d->cfg->spot.enabled) {
            s->spot_provisioned_s = simi_scale_spot_billed_s(d, w->makespan_s);
            s->interruptions = d->interruptions;
            s->requeued = d->requeued;
            s->gpu_busy_cost_usd = 0;
            for (int j = 0; j < d->n_replicas; j++)
                s->gpu_busy_cost_usd += simi_replica_busy_s(w, &d->replicas[j]) * d->replicas[j].usd_per_s;
        }
        s->iterations = d->iterations;
        s->preemptions = d->preemptions;
        s->rejected = d->rejected;
        s->output_tokens = d->output_tokens;
        s->flops = d->flops;
        s->bytes = d->bytes;
        s->kv_capacity_tokens = d->kv_cap_blocks * d->cfg->block_tokens;
        simi_cache_report(d, w->now_s, s);
        s->mfu = s->mbu = NAN;
        const struct sim_deployment_cfg *c = d->cfg;
        s->energy_kwh = s->energy_usd = s->co2_g = NAN;
        const struct sim_energy_cfg *en = &w->sc->energy;
        if (en->enabled && c->kind == SIM_DEPLOY_SELF_HOSTED && c->has_gpu) {
            /* P = idle + (max - idle) x u per GPU, u the replica's busy
             * indicator (sim_energy_cfg): the integral over the provisioned
             * time is idle x provisioned + (max - idle) x busy.  J -> kWh. */
            const struct mdl_gpu *g = &c->roofline.gpu;
            double joules = c->tp * (g->idle_w * s->provisioned_s + (g->max_w - g->idle_w) * s->busy_s);
            s->energy_kwh = en->pue * joules / 3.6e6;
            s->energy_usd = s->energy_kwh * en->usd_per_kwh;
            s->co2_g = s->energy_kwh * en->g_co2_per_kwh;
        }
        s->prefill_busy_s = s->prefill_provisioned_s = NAN;
        s->kv_transfers = d->kv_transfers;
        s->kv_transfer_s = d->kv_transfer_s;
        s->kv_wait_s = d->kv_wait_s;
        double own_busy_s = s->busy_s;
        if (d->prefill_pool >= 0)
            add_pool(w, &w->deploy[d->prefill_pool], s, en);
        if (c->kind == SIM_DEPLOY_SELF_HOSTED && c->latency_kind == MDL_LAT_ROOFLINE) {
            /* MFU (MBU): FLOPs (bytes) over busy GPU-seconds x peak, summed
             * over the pools of a disaggregated deployment. */
            double fl_cap = 0, by_cap = 0;
            pool_caps(w, d, own_busy_s, &fl_cap, &by_cap);
            if (d->prefill_pool >= 0)
                pool_caps(w, &w->deploy[d->prefill_pool], s->prefill_busy_s, &fl_cap, &by_cap);
            if (fl_cap > 0) {
                s->mfu = s->flops / fl_cap;
                s->mbu = s->bytes / by_cap;
            }
        }
    }
}
