/* Prefill/decode disaggregation: a self-hosted deployment whose prompts are
 * computed on a prefill pool and whose outputs are decoded on a decode pool
 * (Splitwise: Patel et al., "Splitwise: Efficient Generative LLM Inference
 * Using Phase Splitting", ISCA 2024; DistServe: Zhong et al., "DistServe:
 * Disaggregating Prefill and Decoding for Goodput-optimized Large Language
 * Model Serving", OSDI 2024).
 *
 * The way of one request:
 *   1. It arrives, a prefill replica is chosen by the deployment's
 *      replica_routing (stream "prefill/<name>/replica") and it queues there;
 *      the replica's continuous batching (world_batch.c) prefills it.  The
 *      iteration that completes its prompt emits its first token: TTFT ends
 *      there, as in both papers (the prefill instance returns the first
 *      token to the client).  A request of one output token is done.
 *   2. Otherwise it leaves the prefill replica, whose KV blocks for its
 *      prompt stay allocated, and waits at a decode replica chosen by the
 *      same replica_routing within the decode pool (stream
 *      "deployment/<name>/replica").
 *   3. Between two of its iterations the decode replica admits it once a
 *      batch slot and KV blocks for the prompt are free (preempted requests
 *      of its own go first): the blocks are allocated and the KV cache is
 *      pulled from the prefill replica.  This is DistServe's design: the
 *      decode instance fetches a KV cache when it has memory for it, the
 *      prefill instance's memory serving as the queueing buffer meanwhile.
 *   4. The transfer moves kv_bytes_per_token x prompt tokens (every layer's
 *      K and V at the KV dtype, mdl_llm_kv_bytes_per_token: the bytes the
 *      roofline counts per context token).  Each prefill replica has one
 *      link, used first come first served: a transfer occupies it for
 *      bytes / bandwidth and arrives latency after its last byte left
 *      (store and forward), so an uncontended transfer takes exactly
 *      latency + bytes / bandwidth and transfers from one replica queue
 *      behind each other; replicas' links are independent.  Both papers move
 *      the KV cache over the prefill machine's own interconnect (InfiniBand
 *      between machines in Splitwise; NVLink or the node's network in
 *      DistServe), which is what makes the link per prefill replica.
 *      Splitwise overlaps the transfer with the prefill layer by layer; the
 *      model here starts it when the prefill ends and the decode side is
 *      ready, as DistServe's pull does, so for Splitwise it is an upper
 *      bound on the transfer's cost.
 *   5. When the cache has arrived the prefill replica frees its blocks and
 *      the request decodes from the decode replica's next iteration on.  Its
 *      second token therefore comes after the wait for a decode slot, the
 *      transfer and one decode iteration: the first inter-token gap carries
 *      them (mean_itl_s includes it; the token-weighted itl_token_s, taken
 *      from decode iterations, does not).
 * A decode replica that runs out of KV memory preempts and recomputes as a
 * colocated one does (the recompute prefills on the decode replica).
 *
 * The deployment's statistics add both pools: busy and provisioned
 * replica-seconds, GPU cost, FLOPs and bytes (world.c). */
#include <math.h>
#include <stdlib.h>

#include "world_internal.h"

int simi_disagg_init(struct sim_world *w, struct simi_deploy *d, struct simi_deploy *p, struct llmsim_error *err)
{
    (void)w;
    const struct sim_disagg_cfg *g = d->cfg->disagg;
    if (!(g->link_bytes_per_s > 0) || !(g->link_latency_s >= 0) || !(g->kv_bytes_per_token > 0))
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: the link needs a bandwidth > 0 and a latency >= 0, and the "
                                "model KV bytes per token",
                                d->cfg->name);
    if (d->cfg->scheduler != SIM_SCHED_CONTINUOUS || p->cfg->scheduler != SIM_SCHED_CONTINUOUS ||
        d->cfg->prefix_cache || p->cfg->prefix_cache || d->cfg->spec.enabled)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: disaggregated pools need continuous batching without a prefix "
                                "cache or speculative decoding",
                                d->cfg->name);
    d->link_free_s = calloc((size_t)p->n_replicas, sizeof *d->link_free_s);
    if (d->link_free_s == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    return 0;
}

void simi_disagg_free(struct simi_deploy *d)
{
    free(d->link_free_s);
    d->link_free_s = NULL;
}

int simi_disagg_dispatch(struct sim_world *w, struct simi_deploy *d, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    /* Refused at the door when no decode replica could ever hold it (the
     * prefill pool checks its prompt itself). */
    double prompt = r->input_tokens > 0 ? r->input_tokens : 1;
    if (ceil((prompt + r->output_tokens) / d->cfg->block_tokens) > d->kv_cap_blocks) {
        r->flags |= SIM_RF_REJECTED;
        r->start_s = r->first_token_s = r->done_s = w->now_s;
        d->rejected++;
        return simi_finish(w, q);
    }
    struct simi_deploy *p = &w->deploy[d->prefill_pool];
    int j = simi_choose_replica(p, r, w);
    p->replicas[j].load++;
    return simi_batch_dispatch(w, p, j, q);
}

int simi_disagg_prefilled(struct sim_world *w, struct simi_deploy *p, uint32_t q, double blocks)
{
    (void)p;
    struct simi_req *r = &w->pool.slot[q];
    struct simi_deploy *d = &w->deploy[r->deployment];
    LLMSIM_ASSERT(d->prefill_pool == (int32_t)(p - w->deploy));
    r->xfer_src = (uint32_t)r->replica;
    r->xfer_blocks = (uint32_t)blocks;
    int j = simi_choose_replica(d, r, w);
    d->replicas[j].load++;
    return simi_batch_accept(w, d, j, q);
}

int simi_disagg_transfer(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q)
{
    (void)j;
    struct simi_req *r = &w->pool.slot[q];
    const struct sim_disagg_cfg *g = d->cfg->disagg;
    double bytes = g->kv_bytes_per_token * r->prompt_need;
    double send_s = bytes / g->link_bytes_per_s;
    double *free_at = &d->link_free_s[r->xfer_src];
    double start = *free_at > w->now_s ? *free_at : w->now_s;
    *free_at = start + send_s;
    double end = start + send_s + g->link_latency_s;
    d->kv_transfers++;
    d->kv_transfer_s += end - w->now_s;
    d->kv_wait_s += w->now_s - r->first_token_s;
    return simi_schedule(w, end, SIMI_EV_KV_DONE, (uint32_t)(d - w->deploy), q);
}

int simi_disagg_event(struct sim_world *w, const struct sim_event *ev)
{
    LLMSIM_ASSERT(ev->target < w->n_deploy);
    struct simi_deploy *d = &w->deploy[ev->target];
    uint32_t q = (uint32_t)ev->payload;
    const struct simi_req *r = &w->pool.slot[q];
    int rc = simi_batch_release(w, &w->deploy[d->prefill_pool], (int)r->xfer_src, r->xfer_blocks);
    if (rc)
        return rc;
    return simi_batch_land(w, d, r->replica, q);
}
