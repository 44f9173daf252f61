/* Batching schedulers of self-hosted replicas: static, dynamic and
 * continuous batching, KV memory in blocks, preemption, speculative decoding.
 *
 * One replica runs one iteration at a time; an iteration either prefills
 * prompt tokens, decodes one token (one speculative step) for every request
 * in the decode phase, or both.  Policies:
 *
 *   static      when the replica is idle, take up to max_batch waiting
 *               requests, prefill them in one iteration, then decode until
 *               the longest is done.  Requests that finish early stay in the
 *               batch as padding (their slots still compute) and every
 *               request returns when the batch ends (FasterTransformer-style
 *               request-level batching, the baseline of the Orca paper).  KV
 *               memory for prompt + output is reserved at admission, so a
 *               static batch never runs out of it.
 *   dynamic     as static, but a partial batch starts only once the oldest
 *               waiting request has waited max_wait_s (Triton's dynamic
 *               batcher); a full batch starts at once.
 *   continuous  iteration-level scheduling (Orca; vLLM): requests join and
 *               leave between iterations, up to max_batch running.  Without
 *               chunked prefill, vLLM's default (v0) rule: when a waiting
 *               request can be admitted the iteration is a prefill of the
 *               admitted prompts (at most max_batched_tokens, a longer prompt
 *               alone), and decoding pauses; otherwise it is a decode
 *               iteration.  With chunked_prefill (Sarathi-Serve): every
 *               iteration decodes all decoding requests and fills the rest of
 *               the max_batched_tokens budget with prompt chunks, first come
 *               first served.  KV memory is allocated in blocks as tokens are
 *               stored; admission needs the prompt's (chunk's) blocks plus a
 *               1% watermark; when decoding needs a block and none is free,
 *               the newest running request is preempted (its blocks freed,
 *               back to the head of the queue) and later recomputed: its
 *               prompt and the tokens it had generated are prefilled again.
 *
 * Cost per iteration is O(1) amortised, independent of batch size and
 * output length: decoding requests are not visited per iteration.  The
 * replica keeps running sums (requests decoding, their total context), and
 * a decoding request's state is a function of the count of decode
 * iterations since it started decoding.  Requests finish through a binary
 * heap keyed by the decode iteration of their last token.  KV blocks: a
 * request needs a new block in the decode iteration where its context
 * crosses a block boundary, which happens for iteration numbers in one
 * residue class modulo the block size, so per-class counters give the
 * blocks needed by an iteration in O(1).  GPU time is attributed to requests
 * in proportion to the token slots they occupy in each iteration: prefill
 * chunks directly, decode slots through a cumulative per-request cost (the
 * request takes the difference between when it starts and stops decoding).
 *
 * Speculative decoding (Leviathan et al. 2023; design.md section 4): a decode
 * iteration is k draft-model steps plus one verify pass of the target over
 * k + 1 tokens per request, and yields tau = (1 - a^(k+1)) / (1 - a) tokens
 * per request on average; the engine uses that expectation (a request needs
 * ceil(remaining / tau) steps), and KV grows by tau slots per request per
 * step, accumulated fractionally.
 *
 * Disaggregated pools (world_disagg.c) use two hooks here: a prefill-pool
 * replica hands a request over once its prefill emitted the first token
 * (hand_off), keeping its KV blocks until the transfer ends; a decode-pool
 * replica takes requests whose prompt was computed elsewhere at iteration
 * boundaries (take_arrivals): a waiting one when a batch slot and the
 * prompt's blocks are free (the transfer starts, the blocks allocated), a
 * transferred one straight into the decode phase. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "world_internal.h"

struct heap_ent {
    uint64_t key; /* decode iteration of the request's last token */
    uint64_t id;  /* the request's id: a recycled slot holds another request */
    uint32_t q;   /* request slot */
    uint32_t gen; /* the request's generation when pushed */
};

struct simi_batch {
    /* What every iteration reads or writes comes first, together: an
     * iteration's end arrives after the other replicas' and the arrivals'
     * events have been through the cache, so each cache line of this state
     * it touches is likely a miss (cachegrind: several per iteration when
     * these fields were spread over the struct).  The struct is allocated
     * on a cache-line boundary (simi_batch_init). */
    int in_iter;            /* an iteration is in progress */
    int iter_decodes;       /* the iteration in progress advances the decoding requests */
    uint32_t n_running;     /* running requests (below) */
    uint32_t n_dec;         /* requests decoding (static: padding included) */
    uint32_t n_dec_active;  /* decoding requests still producing real tokens */
    uint32_t next_res;      /* (dec_it + 1) % bs: the residue class of the next decode iteration */
    int bs;                 /* KV block size, tokens */
    int unit_tau;           /* tau == 1.0: whole tokens, the block counters below apply */
    uint64_t it;            /* iterations finished */
    uint64_t dec_it;        /* decode iterations finished */
    double sum_ctx;         /* total context (KV slots) of the decoding requests */
    double used_blocks;     /* blocks allocated */
    double cap_blocks;      /* KV blocks of the replica, +inf = unbounded */
    double cache_blocks;    /* prefix cache's tokens / bs, kept up to date after each put and eviction (free_blocks) */
    double kept_blocks;     /* blocks of preempted requests kept for their recompute (below) */
    double tau;             /* tokens per decode step per request */
    double inv_bs;          /* 1 / bs when bs is a power of two (exact), else 0: see per_block */
    double slots_per_dec;   /* token slots a decoding request occupies per iteration (1 or k+1) */
    double dec_cost_cum;    /* sum over decode iterations of the GPU cost of one decoding request */
    double last_dec_end_s;  /* when the previous decode iteration ended (tokens' previous gap) */
    double iter_start_s;    /* the iteration in progress: its start, */
    double iter_cost_per_slot; /* its GPU cost per token slot, */
    double iter_need_blocks;   /* and the KV blocks its decode step took */
    uint32_t *bucket;       /* bs counters: decoding requests by block-boundary residue */
    struct heap_ent *heap;  /* decoding requests by the decode iteration of their last token */
    size_t heap_n, heap_cap;
    const struct sim_deployment_cfg *cfg;
    struct simi_fifo prefill; /* the running requests still prefilling, in admission order */
    int is_static;          /* static or dynamic (request-level batching) */
    uint8_t role;           /* enum simi_role of the deployment */
    uint8_t start_slow;     /* a decode pool or static batching: maybe_start_pool_or_static decides */
    struct simi_wq waiting; /* in the deployment's queue order (queue_order.c) */
    /* running requests, in admission order */
    uint32_t run_head, run_tail;
    /* static / dynamic */
    int batch_open;
    int timer_pending;
    /* prefix cache: KV blocks of finished prompts, kept in the memory running
     * requests leave free (cache_blocks above); entries are a prompt's blocks
     * between two cache points, pinned while a running request shares them */
    struct sim_cache *pcache;
    /* blocks of preempted requests kept for their recompute (vLLM V1),
     * evicted oldest preemption first, after the cache's entries
     * (kept_blocks above) */
    struct simi_fifo kept_q; /* request slots in preemption order (stale when their kept_blocks is 0) */
    /* disaggregation */
    struct simi_fifo pending; /* decode pool: prefilled elsewhere, waiting for a slot and KV memory */
    struct simi_fifo landed;  /* decode pool: KV transferred, to decode from the next iteration */
    uint32_t incoming;        /* decode pool: admitted, KV blocks allocated, transfer under way or landed */
};

/* The request at the head of FIFO f, SIMI_NONE when empty (the decode
 * pool's queue of requests whose KV cache is on its way). */
static uint32_t fifo_peek(const struct simi_fifo *f)
{
    return f->len ? f->buf[f->head] : SIMI_NONE;
}

/* fmax(0.0, x) as glibc computes it (maxsd: -0.0 stays -0.0, NaN gives
 * 0.0), without the call: it runs in every iteration. */
static double max0(double x)
{
    return x >= 0.0 ? x : 0.0;
}

/* ceil(x), the same value: positive values below 2^52 (the token and block
 * counts here) by truncation, which is exact there and a few instructions
 * against the compiler's long inline ceil for plain x86-64; anything else
 * by ceil. */
static double ceil_pos(double x)
{
    if (x > 0.0 && x < 0x1p52) {
        double t = (double)(int64_t)x;
        return t < x ? t + 1.0 : t;
    }
    return ceil(x);
}

/* x / bs.  For a power-of-two bs, x * (1 / bs) is the same double for
 * every x (both are the exact x 2^-k, rounded once; IEEE 754), and a
 * multiplication, not a division: a finishing request and each prompt chunk
 * divide token counts by the block size several times. */
static inline double per_block(const struct simi_batch *b, double x)
{
    return b->inv_bs > 0 ? x * b->inv_bs : x / b->bs;
}

static double blocks_for(const struct simi_batch *b, double tokens)
{
    return ceil_pos(per_block(b, tokens));
}

/* The prefix cache's size in blocks changed (a put or an eviction): the
 * same quotient free_blocks used to take at each call, taken once. */
static void cache_changed(struct simi_batch *b)
{
    b->cache_blocks = per_block(b, sim_cache_tokens(b->pcache));
}

static double free_blocks(const struct simi_batch *b)
{
    return b->cap_blocks - b->used_blocks - b->cache_blocks - b->kept_blocks;
}

/* make_room when `need` blocks are short_by > 0 more than are free. */
static void make_room_evict(struct sim_world *w, struct simi_batch *b, double need, double short_by, double now)
{
    if (b->pcache != NULL) {
        sim_cache_evict(b->pcache, short_by * b->bs, now);
        cache_changed(b);
    }
    short_by = need - free_blocks(b);
    while (short_by > 0 && b->kept_q.len > 0) {
        struct simi_req *r = &w->pool.slot[b->kept_q.buf[b->kept_q.head]];
        double take = r->kept_blocks < short_by ? r->kept_blocks : ceil(short_by);
        r->kept_blocks -= (uint32_t)take;
        b->kept_blocks -= take;
        short_by -= take;
        if (r->kept_blocks == 0)
            (void)simi_fifo_pop(&b->kept_q);
    }
}

/* Makes `need` blocks free if evicting unpinned prefix-cache entries (least
 * recently used first), then blocks kept for preempted requests (oldest
 * preemption first, each from its last block), can.  Returns the free
 * blocks then (free_blocks). */
static inline double make_room(struct sim_world *w, struct simi_batch *b, double need, double now)
{
    double avail = free_blocks(b);
    double short_by = need - avail;
    if (short_by <= 0)
        return avail; /* the common case: nothing to evict */
    make_room_evict(w, b, need, short_by, now);
    return free_blocks(b);
}

/* Blocks kept free when admitting next to running requests (0 when unbounded). */
static double watermark(const struct simi_batch *b)
{
    return isinf(b->cap_blocks) ? 0.0 : b->cfg->kv_watermark * b->cap_blocks;
}

/* ---- set-up ------------------------------------------------------------- */

/* KV budget of one replica, in tokens; +inf when nothing bounds it.  From
 * memory, as the engine accounts for it (sim_deployment_kv_budget). */
static double kv_capacity_tokens(const struct sim_deployment_cfg *c, struct llmsim_error *err, int *rc)
{
    *rc = 0;
    if (c->kv_capacity_tokens > 0)
        return c->kv_capacity_tokens;
    if (!(c->has_gpu && c->has_llm))
        return INFINITY;
    struct mdl_kv_budget kb;
    sim_deployment_kv_budget(c, &kb);
    if (kb.blocks < 1)
        *rc = llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                               "deployment %s: no room for KV cache: %.2f GiB usable per GPU, weights "
                               "%.2f GiB, activations %.2f GiB, non-torch %.2f GiB",
                               c->name, kb.usable_bytes / MDL_GIB, kb.weight_bytes / MDL_GIB,
                               kb.activation_bytes / MDL_GIB, kb.non_torch_bytes / MDL_GIB);
    return kb.tokens;
}

int simi_batch_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err)
{
    const struct sim_deployment_cfg *c = d->cfg;
    if (c->latency_kind != MDL_LAT_ROOFLINE && c->latency_kind != MDL_LAT_LINEAR)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: batching needs the roofline or linear latency model",
                                c->name);
    if (c->max_batch < 1 || c->block_tokens < 1 || !(c->max_batched_tokens >= 1))
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: max_batch, max_batched_tokens and block_tokens must be >= 1",
                                c->name);
    if (c->queue_shared)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: a shared queue applies to scheduler none", c->name);
    if (c->spec.enabled && c->latency_kind != MDL_LAT_ROOFLINE)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: speculative decoding needs the roofline latency model",
                                c->name);
    if (c->latency_kind == MDL_LAT_ROOFLINE) {
        mdl_roofline_prepare(&c->roofline, &d->roofline);
        if (d->linear_memo == NULL && !(d->linear_memo = calloc(MDL_LINEAR_MEMO, sizeof *d->linear_memo)))
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    int rc;
    double cap_tokens = kv_capacity_tokens(c, err, &rc);
    if (rc)
        return rc;
    d->kv_cap_blocks = isinf(cap_tokens) ? INFINITY : floor(cap_tokens / c->block_tokens);
    if (d->kv_cap_blocks < 1)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                "deployment %s: KV memory holds less than one block", c->name);
    for (int j = 0; j < d->n_replicas; j++) {
        /* On a cache line of its own (see struct simi_batch). */
        struct simi_batch *b = aligned_alloc(64, (sizeof *b + 63) / 64 * 64);
        if (b == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        memset(b, 0, sizeof *b);
        d->replicas[j].batch = b;
        b->cfg = c;
        b->role = d->role;
        b->is_static = c->scheduler == SIM_SCHED_STATIC || c->scheduler == SIM_SCHED_DYNAMIC;
        b->start_slow = b->role == SIMI_ROLE_DECODE || b->is_static;
        b->bs = c->block_tokens;
        b->inv_bs = (b->bs & (b->bs - 1)) == 0 ? 1.0 / b->bs : 0.0;
        b->cap_blocks = d->kv_cap_blocks;
        b->tau = c->spec.enabled ? mdl_spec_tokens_per_step(c->spec.acceptance, c->spec.k) : 1.0;
        b->unit_tau = b->tau == 1.0;
        b->next_res = 1 % (uint32_t)b->bs;
        b->slots_per_dec = c->spec.enabled ? c->spec.k + 1.0 : 1.0;
        b->run_head = b->run_tail = SIMI_NONE;
        b->bucket = calloc((size_t)b->bs, sizeof *b->bucket);
        if (b->bucket == NULL || simi_wq_init(&b->waiting, d) != 0)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        if (c->prefix_cache) {
            b->pcache = sim_cache_alloc(INFINITY); /* bounded by free KV memory, see make_room */
            if (b->pcache == NULL)
                return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        }
    }
    (void)w;
    return 0;
}

void simi_batch_free(struct simi_deploy *d)
{
    free(d->linear_memo);
    d->linear_memo = NULL;
    for (int j = 0; d->replicas != NULL && j < d->n_replicas; j++) {
        struct simi_batch *b = d->replicas[j].batch;
        if (b == NULL)
            continue;
        simi_wq_free(&b->waiting);
        simi_fifo_free(&b->prefill);
        simi_fifo_free(&b->kept_q);
        simi_fifo_free(&b->pending);
        simi_fifo_free(&b->landed);
        free(b->bucket);
        free(b->heap);
        sim_cache_free(b->pcache);
        free(b);
        d->replicas[j].batch = NULL;
    }
}

struct simi_wq *simi_batch_wq(struct simi_replica *rp)
{
    return &rp->batch->waiting;
}

void simi_batch_reset(struct simi_replica *rp)
{
    struct simi_batch *b = rp->batch;
    if (b == NULL)
        return;
    LLMSIM_ASSERT(!b->in_iter && b->n_running == 0 && b->waiting.len == 0 && b->n_dec == 0);
    if (b->pcache != NULL) {
        sim_cache_evict(b->pcache, INFINITY, 0.0); /* nothing is pinned: no request runs */
        cache_changed(b);
    }
    b->kept_blocks = 0;
    b->kept_q.head = b->kept_q.len = 0;
    b->used_blocks = 0;
    b->last_dec_end_s = 0;
    b->batch_open = 0;
}

uint32_t simi_batch_waiting(const struct simi_replica *rp)
{
    return rp->batch ? rp->batch->waiting.len + rp->batch->pending.len : 0;
}

int simi_batch_has_room(const struct simi_replica *rp)
{
    const struct simi_batch *b = rp->batch;
    if (b == NULL)
        return rp->current == SIMI_NONE;
    if (b->is_static)
        return !b->batch_open;
    return b->n_running + b->incoming < (uint32_t)b->cfg->max_batch && free_blocks(b) >= 1;
}

uint32_t simi_batch_running(const struct simi_replica *rp)
{
    return rp->batch ? rp->batch->n_running + rp->batch->incoming : 0;
}

double simi_batch_kv_frac(const struct simi_replica *rp)
{
    const struct simi_batch *b = rp->batch;
    if (b == NULL || isinf(b->cap_blocks))
        return 0.0;
    return b->used_blocks / b->cap_blocks;
}

double simi_batch_cache_tokens(const struct simi_replica *rp)
{
    const struct simi_batch *b = rp->batch;
    return b && b->pcache ? sim_cache_tokens(b->pcache) : 0.0;
}

/* ---- prefix cache ---------------------------------------------------------- */

/* Cache point j of a request: its prefix identity and where it ends, rounded
 * down to whole KV blocks.  Generated requests use their stable-segment
 * points, trace requests their block hashes.  Returns 0 past the last. */
static int point(const struct sim_world *w, const struct simi_batch *b, const struct simi_req *r, uint32_t j,
                 uint64_t *key, double *end)
{
    const struct sim_trace *t = &w->sc->workload.trace;
    if (r->trace_row != SIMI_NONE && t->hash_off != NULL) {
        uint64_t lo = t->hash_off[r->trace_row], hi = t->hash_off[r->trace_row + 1];
        if (lo + j >= hi)
            return 0;
        uint64_t k = SIMI_BLOCK_KEY0;
        for (uint64_t i = lo; i <= lo + j; i++)
            k = sim_cache_key(k, t->hash_ids[i]);
        double e = (double)(j + 1) * t->block_tokens;
        *key = k;
        *end = floor(per_block(b, e < r->input_tokens ? e : r->input_tokens)) * b->bs;
        return 1;
    }
    if (j >= r->n_pts)
        return 0;
    *key = r->pt_key[j];
    *end = floor(per_block(b, (double)r->pt_tokens[j])) * b->bs;
    return 1;
}

/* Whether a request has a cache point at all (point(..., 0, ...) != 0):
 * most generated requests have none, and nothing to match or promote. */
static int has_points(const struct sim_world *w, const struct simi_req *r)
{
    const struct sim_trace *t = &w->sc->workload.trace;
    if (r->trace_row != SIMI_NONE && t->hash_off != NULL)
        return t->hash_off[r->trace_row] < t->hash_off[r->trace_row + 1];
    return r->n_pts > 0;
}

/* The run of cached entries from the first point: tokens it covers (whole
 * blocks); with pin, the entries are pinned and counted in the request. */
static double prefix_match(const struct sim_world *w, struct simi_batch *b, struct simi_req *r, int pin)
{
    if (b->pcache == NULL)
        return 0.0;
    if (!has_points(w, r)) {
        if (pin)
            r->hit_entries = r->hit_blocks = 0;
        return 0.0;
    }
    double hit = 0, prev = 0, end, tok;
    uint64_t key;
    uint32_t entries = 0;
    /* At least the prompt's last token is computed (it yields the logits). */
    double limit = floor(per_block(b, (double)r->prompt_need - 1)) * b->bs;
    for (uint32_t j = 0; point(w, b, r, j, &key, &end); j++) {
        if (end <= prev)
            continue; /* not a whole block further: no entry of its own */
        /* An entry stored for a shorter span (another request's points, a
         * shorter last block) does not hold these tokens. */
        if (end > limit || !sim_cache_peek(b->pcache, key, w->now_s, &tok) || tok < end - prev)
            break;
        if (pin) {
            sim_cache_touch(b->pcache, key, w->now_s);
            sim_cache_pin(b->pcache, key);
        }
        entries++;
        hit = prev = end;
    }
    if (pin) {
        r->hit_entries = entries;
        r->hit_blocks = (uint32_t)per_block(b, hit);
    }
    return hit;
}

/* Releases the entries a request pinned. */
static void prefix_unpin(const struct sim_world *w, struct simi_batch *b, struct simi_req *r)
{
    if (b->pcache == NULL || r->hit_entries == 0)
        return;
    double prev = 0, end;
    uint64_t key;
    uint32_t done = 0;
    for (uint32_t j = 0; done < r->hit_entries && point(w, b, r, j, &key, &end); j++) {
        if (end <= prev)
            continue;
        sim_cache_unpin(b->pcache, key);
        done++;
        prev = end;
    }
    r->hit_entries = 0;
    r->hit_blocks = 0;
}

/* A request whose prompt is now fully in KV memory hands its prompt blocks
 * (up to its last cache point) to the cache, which shares them from now on
 * (vLLM's automatic prefix caching: a full block is shareable once
 * computed); it keeps them pinned while it runs.  Blocks another request
 * already cached are deduplicated: its own copies are freed. */
static int prefix_promote(struct sim_world *w, struct simi_batch *b, struct simi_req *r)
{
    if (b->pcache == NULL)
        return 0;
    if (!has_points(w, r)) {
        /* No entries: nothing pinned, nothing to hand over (hit_blocks and
         * hit_entries are 0); a cache over the free memory still shrinks. */
        make_room(w, b, 0, w->now_s);
        return 0;
    }
    double own_before = r->hit_blocks;
    prefix_unpin(w, b, r);
    double prev = 0, end;
    uint64_t key;
    uint32_t entries = 0;
    for (uint32_t j = 0; point(w, b, r, j, &key, &end); j++) {
        if (end <= prev)
            continue;
        int rc = sim_cache_put(b->pcache, key, end - prev, INFINITY, w->now_s, w->now_s, 0.0);
        cache_changed(b);
        if (rc)
            return rc;
        double tok;
        if (!sim_cache_peek(b->pcache, key, w->now_s, &tok))
            break; /* could not be stored */
        sim_cache_pin(b->pcache, key);
        entries++;
        prev = end;
    }
    r->hit_entries = entries;
    r->hit_blocks = (uint32_t)per_block(b, prev);
    b->used_blocks -= r->hit_blocks - own_before;
    make_room(w, b, 0, w->now_s);
    return 0;
}

/* ---- small structures ----------------------------------------------------- */

/* The finishing heap: a binary min-heap on key (Williams 1964) in
 * heap[0 .. heap_n), followed by a sentinel, heap[heap_n].key = UINT64_MAX,
 * so that heap_pop takes the smaller child without first testing that the
 * right one exists: the sentinel never wins, which is the choice the test
 * made.  The choice is then a comparison added to an index, no branch (the
 * outcome is a coin flip: cachegrind counted 2.6 mispredictions a pop with
 * the branch).  Which of two equal keys pops first follows from the heap's
 * layout, and the finishing order of a step's requests is in the results:
 * the comparisons are exactly the ones the heap always made. */
static int heap_push(struct simi_batch *b, uint64_t key, uint64_t id, uint32_t q, uint32_t gen)
{
    if (b->heap_n + 1 >= b->heap_cap) {
        size_t cap = b->heap_cap ? 2 * b->heap_cap : 64;
        struct heap_ent *h = realloc(b->heap, cap * sizeof *h);
        if (h == NULL)
            return LLMSIM_ENOMEM;
        b->heap = h;
        b->heap_cap = cap;
    }
    size_t i = b->heap_n++;
    struct heap_ent e = {key, id, q, gen};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (b->heap[p].key <= key)
            break;
        b->heap[i] = b->heap[p];
        i = p;
    }
    b->heap[i] = e;
    b->heap[b->heap_n].key = UINT64_MAX;
    return 0;
}

static void heap_pop(struct simi_batch *b)
{
    struct heap_ent last = b->heap[--b->heap_n];
    size_t i = 0, n = b->heap_n;
    b->heap[n].key = UINT64_MAX; /* the new sentinel */
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        /* heap[l + 1] is a child or the sentinel */
        size_t m = l + (b->heap[l + 1].key < b->heap[l].key);
        if (last.key <= b->heap[m].key)
            break;
        b->heap[i] = b->heap[m];
        i = m;
    }
    if (n > 0)
        b->heap[i] = last;
}

/* Empties the finishing heap (its sentinel at the front). */
static void heap_clear(struct simi_batch *b)
{
    b->heap_n = 0;
    if (b->heap != NULL)
        b->heap[0].key = UINT64_MAX;
}

static uint32_t fifo_pop_back(struct simi_fifo *f)
{
    if (f->len == 0)
        return SIMI_NONE;
    f->len--;
    return f->buf[(f->head + f->len) & (f->cap - 1)];
}

static void run_append(struct sim_world *w, struct simi_batch *b, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    r->prev = b->run_tail;
    r->next = SIMI_NONE;
    if (b->run_tail != SIMI_NONE)
        w->pool.slot[b->run_tail].next = q;
    else
        b->run_head = q;
    b->run_tail = q;
    b->n_running++;
}

static inline void run_remove(struct sim_world *w, struct simi_batch *b, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    if (r->prev != SIMI_NONE)
        w->pool.slot[r->prev].next = r->next;
    else
        b->run_head = r->next;
    if (r->next != SIMI_NONE)
        w->pool.slot[r->next].prev = r->prev;
    else
        b->run_tail = r->prev;
    LLMSIM_ASSERT(b->n_running > 0);
    b->n_running--;
}

/* ---- decoding requests ------------------------------------------------------ */

/* Decode iterations a request has done since it started decoding. */
static double dec_steps(const struct simi_batch *b, const struct simi_req *r)
{
    return (double)(b->dec_it - r->dec_t0);
}

/* Context (KV slots) of a decoding request now. */
static double dec_ctx(const struct simi_batch *b, const struct simi_req *r)
{
    return r->dec_ctx0 + dec_steps(b, r) * b->tau;
}

/* Output tokens produced by a decoding request so far. */
static uint32_t dec_generated(const struct simi_batch *b, const struct simi_req *r)
{
    double g = r->generated + floor(dec_steps(b, r) * b->tau + 1e-9);
    return g >= r->output_tokens ? r->output_tokens : (uint32_t)g;
}

/* Block-boundary residue class: decode iteration n (1-based count) needs a
 * new block for this request iff n = dec_t0 + 1 - ctx0 (mod bs). */
static uint32_t residue(const struct simi_batch *b, uint64_t t0, uint32_t ctx0)
{
    uint64_t bs = (uint64_t)b->bs;
    return (uint32_t)((t0 % bs + 1 + bs - (uint64_t)ctx0 % bs) % bs);
}

/* Request q has its whole prompt in KV and its next token pending: it starts
 * decoding after the current decode-iteration count. */
static int dec_enter(struct simi_batch *b, struct simi_req *r, uint32_t q)
{
    r->phase = SIMI_PH_DECODE;
    r->dec_t0 = b->dec_it;
    r->dec_ctx0 = r->prompt_need;
    r->dec_cost0 = b->dec_cost_cum;
    b->n_dec++;
    b->n_dec_active++;
    b->sum_ctx += r->dec_ctx0;
    if (b->unit_tau)
        b->bucket[residue(b, r->dec_t0, r->dec_ctx0)]++;
    uint32_t remaining = r->output_tokens - r->generated;
    /* With tau = 1 the quotient is `remaining` itself: remaining - 1e-9 rounds
     * into (remaining - 1, remaining], whose ceiling is remaining (0 stays 0). */
    uint64_t steps = b->unit_tau ? remaining : (uint64_t)ceil_pos(remaining / b->tau - 1e-9);
    if (steps < 1)
        steps = 1;
    return heap_push(b, r->dec_t0 + steps, r->id, q, r->gen);
}

/* Request q stops decoding (finished or preempted): its aggregates go, it
 * takes its share of the decode cost, its KV blocks are freed. */
static inline void dec_leave(struct simi_batch *b, struct simi_req *r)
{
    double ctx = dec_ctx(b, r);
    b->sum_ctx -= ctx;
    if (b->n_dec == 1)
        b->sum_ctx = 0.0; /* no rounding residue once empty */
    b->n_dec--;
    if (b->unit_tau)
        b->bucket[residue(b, r->dec_t0, r->dec_ctx0)]--;
    r->gpu_cost_usd += b->dec_cost_cum - r->dec_cost0;
    r->gen++; /* its heap entry, if any, is stale from now on */
}

/* ---- admission, preemption ------------------------------------------------- */

static inline double held_blocks(const struct simi_batch *b, const struct simi_req *r)
{
    if (b->is_static)
        return blocks_for(b, (double)r->input_tokens + r->output_tokens);
    if (r->phase == SIMI_PH_DECODE && b->tau != 1.0)
        /* Speculation grows KV by tau slots per step on average: charged
         * and released as a fraction of a block, so the two always match. */
        return blocks_for(b, r->dec_ctx0) + per_block(b, dec_ctx(b, r) - r->dec_ctx0) - r->hit_blocks;
    if (r->phase == SIMI_PH_DECODE)
        return blocks_for(b, dec_ctx(b, r)) - r->hit_blocks;
    return blocks_for(b, r->prompt_done) - r->hit_blocks;
}

/* Preempts the newest running request: frees its KV, sends it back to the
 * head of the queue to be recomputed. */
static int preempt_newest(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b)
{
    uint32_t q = b->run_tail;
    LLMSIM_ASSERT(q != SIMI_NONE);
    struct simi_req *r = &w->pool.slot[q];
    double held = held_blocks(b, r);
    if (r->phase == SIMI_PH_DECODE) {
        uint32_t g = dec_generated(b, r);
        b->n_dec_active--;
        dec_leave(b, r);
        r->generated = g;
    } else {
        /* The newest running request, when prefilling, is the newest prefilling one. */
        uint32_t x = fifo_pop_back(&b->prefill);
        LLMSIM_ASSERT(x == q);
        (void)x;
    }
    /* What it computed: its prompt so far, or its whole context. */
    double computed = r->phase == SIMI_PH_DECODE ? (double)r->prompt_need + (dec_ctx(b, r) - r->dec_ctx0)
                                                 : (double)r->prompt_done;
    b->used_blocks -= held;
    if (b->pcache != NULL && b->cfg->preempt_keeps_cache && !b->is_static) {
        /* vLLM V1 frees a preempted request's blocks into the free queue
         * with their prefix hashes, last block first: until other requests
         * reuse them (from the tail end), its recompute reads them.  Its
         * shared prefix stays in the cache; its own full blocks are kept
         * here, evicted after the cache's (make_room). */
        double full = floor(per_block(b, fmin(computed, (double)r->input_tokens + r->generated - 1)));
        double own = full - r->hit_blocks;
        if (own > held)
            own = held;
        if (own >= 1) {
            r->kept_from = r->hit_blocks;
            r->kept_blocks = (uint32_t)own;
            b->kept_blocks += own;
            int rc = simi_fifo_push(&b->kept_q, q);
            if (rc)
                return rc;
        }
    }
    prefix_unpin(w, b, r);
    r->cached_tokens = 0;
    run_remove(w, b, q);
    r->phase = SIMI_PH_QUEUED;
    r->prompt_need = r->input_tokens + r->generated;
    if (r->prompt_need < 1)
        r->prompt_need = 1;
    r->prompt_done = 0;
    r->preemptions++;
    r->flags |= SIM_RF_PREEMPTED;
    d->preemptions++;
    d->running--;
    d->waiting++;
    return simi_wq_push_front(w, &b->waiting, q);
}

/* Admits the head of the queue into the running set. */
static void admit(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b)
{
    uint32_t q = simi_wq_pop(w, &b->waiting);
    struct simi_req *r = &w->pool.slot[q];
    if (r->start_s < 0) {
        r->start_s = w->now_s;
        simi_note_admit(w, d);
    }
    r->phase = SIMI_PH_PREFILL;
    run_append(w, b, q);
    d->waiting--;
    d->running++;
    if (b->is_static)
        b->used_blocks += held_blocks(b, r);
}

/* ---- iterations -------------------------------------------------------------- */

/* Time of one speculative iteration: the target's step (gpu_s, its GPU
 * time) and the draft model's.  The draft runs on the same GPUs within the
 * same engine step: it prefills the same prompt tokens and makes k decode
 * steps per speculative step; the CPU work is the step's, counted once. */
static double spec_iter_time(struct simi_deploy *d, const struct mdl_iter *it, double gpu)
{
    const struct sim_deployment_cfg *c = d->cfg;
    struct mdl_roofline dm = c->roofline;
    dm.llm = c->spec.draft;
    struct mdl_iter dit = *it;
    if (it->decode_tokens > 0) {
        double reqs = it->decode_tokens / (c->spec.k + 1.0);
        dit.decode_tokens = reqs;
        dit.decode_context = it->decode_context / (c->spec.k + 1.0);
        dit.decode_kv_read = 0;
    }
    struct mdl_iter_cost dc;
    if (dit.prefill_tokens > 0) {
        struct mdl_iter pit = dit;
        pit.decode_tokens = pit.decode_context = 0;
        pit.requests = 0;
        mdl_roofline_iter(&dm, &pit, &dc);
        gpu += dc.gpu_s;
        d->flops += dc.flops;
        d->bytes += dc.bytes;
    }
    if (dit.decode_tokens > 0) {
        struct mdl_iter sit = dit;
        sit.prefill_tokens = sit.prefill_pairs = sit.prefill_kv_read = 0;
        sit.requests = 0;
        mdl_roofline_iter(&dm, &sit, &dc);
        gpu += c->spec.k * dc.gpu_s;
        d->flops += c->spec.k * dc.flops;
        d->bytes += c->spec.k * dc.bytes;
    }
    return mdl_roofline_step_s(&c->roofline, gpu, it->requests);
}

/* Time of one iteration from the latency model. */
static double iter_time(struct simi_deploy *d, const struct mdl_iter *it, double prefill_sq)
{
    const struct sim_deployment_cfg *c = d->cfg;
    if (c->latency_kind == MDL_LAT_LINEAR) {
        const struct mdl_linear_latency *l = &c->linear;
        double t = 0;
        if (it->prefill_tokens > 0)
            t += l->prefill_a_s + l->prefill_b_s * it->prefill_tokens + l->prefill_c_s * prefill_sq;
        if (it->decode_tokens > 0) {
            /* A mixed iteration shares the fixed term of the prefill. */
            t += (it->prefill_tokens > 0 ? 0.0 : l->decode_a_s) + l->decode_b_batch_s * it->decode_tokens +
                 l->decode_c_context_s * it->decode_context;
        }
        return simi_nonneg(t);
    }
    double gpu;
    double t = mdl_roofline_step_memo(&d->roofline, d->linear_memo, it, &d->flops, &d->bytes, &gpu);
    if (c->spec.enabled) {
        struct mdl_iter sit = *it; /* the caller's stays out of memory */
        return spec_iter_time(d, &sit, gpu);
    }
    return t;
}

static inline int start_next(struct sim_world *w, struct simi_deploy *d, int j, const struct simi_batch *b);

/* A request that was not admitted after all gives its kept blocks back to
 * the kept pool (its queue entry may have gone as stale meanwhile). */
static int keep_again(struct sim_world *w, struct simi_batch *b, struct simi_req *r, double kept)
{
    if (kept <= 0)
        return 0;
    b->used_blocks -= kept;
    b->kept_blocks += kept;
    r->kept_blocks = (uint32_t)kept;
    return simi_fifo_push(&b->kept_q, (uint32_t)(r - w->pool.slot));
}

/* The prompt work of the iteration iter_begin forms: chunks of the requests
 * already prefilling, then admissions, within the token budget left by the
 * n_dec0 requests decoding when it began; their sums go to *it (prompt
 * fields), *prefill_sq and *scheduled (one per sequence with a chunk). */
static int prompt_work(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b, int prefill_iter,
                       int preempted, uint32_t n_dec0, struct mdl_iter *it, double *prefill_sq,
                       double *scheduled)
{
    const struct sim_deployment_cfg *c = d->cfg;
    int rc;
    double budget = c->max_batched_tokens;
    if (!b->is_static && c->chunked_prefill) {
        budget -= n_dec0 * b->slots_per_dec;
        if (budget < 0)
            budget = 0; /* verify slots alone fill the iteration */
    }
    double seqs = 0;
    if (!b->is_static && (prefill_iter || c->chunked_prefill)) {
        /* Continue partially prefilled requests (chunked prefill), oldest first. */
        for (uint32_t i = 0; i < b->prefill.len; i++) {
            uint32_t q = b->prefill.buf[(b->prefill.head + i) & (b->prefill.cap - 1)];
            struct simi_req *r = &w->pool.slot[q];
            double left = (double)r->prompt_need - r->prompt_done;
            double chunk = max0(left < budget ? left : floor(budget));
            double extra = blocks_for(b, r->prompt_done + chunk) - blocks_for(b, r->prompt_done);
            double avail = make_room(w, b, extra, w->now_s);
            if (chunk > 0 && extra > avail) {
                chunk = floor((avail + blocks_for(b, r->prompt_done)) * b->bs) - r->prompt_done;
                if (chunk < 0)
                    chunk = 0;
                extra = blocks_for(b, r->prompt_done + chunk) - blocks_for(b, r->prompt_done);
            }
            r->chunk = (uint32_t)(chunk > 0 ? chunk : 0);
            budget -= r->chunk;
            b->used_blocks += extra;
        }
        /* Admit from the queue while the budget, the batch and KV memory allow. */
        while (!preempted && b->waiting.len > 0 && b->n_running < (uint32_t)c->max_batch && budget > 0) {
            /* The head stays the head until admitted (nothing here touches
             * the queue): one peek. */
            uint32_t q = simi_wq_peek(w, &b->waiting);
            struct simi_req *r = &w->pool.slot[q];
            /* Cached blocks need no prefill and no new memory; pinned at
             * once so that making room cannot evict them. */
            double hit = prefix_match(w, b, r, 1);
            /* Its own blocks kept since its preemption follow its shared
             * prefix when that is whole again: they become its blocks. */
            double kept = 0;
            if (r->kept_blocks > 0) {
                kept = hit == (double)r->kept_from * b->bs ? r->kept_blocks : 0.0;
                double limit = floor(per_block(b, (double)r->prompt_need - 1)) - per_block(b, hit);
                if (kept > limit)
                    kept = limit > 0 ? limit : 0;
                b->kept_blocks -= r->kept_blocks;
                b->used_blocks += kept;
                r->kept_blocks = 0;
            }
            double left = r->prompt_need - hit - kept * b->bs;
            double chunk = c->chunked_prefill ? (left < budget ? left : floor(budget)) : left;
            if (!c->chunked_prefill && chunk > budget && it->prefill_tokens + seqs > 0) {
                prefix_unpin(w, b, r);
                if ((rc = keep_again(w, b, r, kept)) != 0)
                    return rc;
                break; /* a prompt over the budget runs alone */
            }
            double extra = blocks_for(b, hit + kept * b->bs + chunk) - per_block(b, hit) - kept;
            double reserve = b->n_running > 0 ? watermark(b) : 0.0;
            /* Engines that admit whole prompts only (vLLM V0, SGLang) need
             * room for all of it; vLLM V1 for the tokens of this step. */
            double need = c->admit_whole_prompt ? blocks_for(b, r->prompt_need) - per_block(b, hit) - kept : extra;
            if (need > make_room(w, b, need + reserve, w->now_s) - reserve) {
                prefix_unpin(w, b, r);
                if ((rc = keep_again(w, b, r, kept)) != 0)
                    return rc;
                break;
            }
            admit(w, d, b);
            if ((rc = simi_fifo_push(&b->prefill, q)) != 0)
                return rc;
            r = &w->pool.slot[q];
            r->cached_tokens = (uint32_t)(hit + kept * b->bs);
            r->prompt_done = r->cached_tokens;
            r->chunk = (uint32_t)chunk;
            budget -= chunk;
            b->used_blocks += extra;
            seqs += 1; /* only to know that something was admitted */
        }
    } else if (b->is_static && prefill_iter) {
        for (uint32_t i = 0; i < b->prefill.len; i++) {
            uint32_t q = b->prefill.buf[(b->prefill.head + i) & (b->prefill.cap - 1)];
            struct simi_req *r = &w->pool.slot[q];
            r->chunk = r->prompt_need - r->prompt_done;
        }
    }
    /* Sum the prompt work of this iteration. */
    for (uint32_t i = 0; i < b->prefill.len; i++) {
        uint32_t q = b->prefill.buf[(b->prefill.head + i) & (b->prefill.cap - 1)];
        const struct simi_req *r = &w->pool.slot[q];
        double cch = r->chunk, p = r->prompt_done;
        if (cch <= 0)
            continue;
        *scheduled += 1;
        it->prefill_tokens += cch;
        it->prefill_pairs += cch * p + cch * (cch + 1) / 2;
        it->prefill_kv_read += p;
        *prefill_sq += cch * cch;
    }
    return 0;
}

/* Forms the next iteration of replica j and schedules its end; does nothing
 * when there is nothing to run. */
static int iter_begin(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_batch *b = rp->batch;
    const struct sim_deployment_cfg *c = d->cfg;
    LLMSIM_ASSERT(!b->in_iter);
    int rc;

    int prefill_iter = 0, decode_iter = 0;
    uint32_t n_dec0 = b->n_dec; /* chunked prefill: the decoding requests fill the budget first */
    if (b->is_static) {
        prefill_iter = b->prefill.len > 0;
        decode_iter = !prefill_iter && b->n_dec > 0;
    } else if (c->chunked_prefill) {
        decode_iter = b->n_dec > 0;
    } else {
        /* vLLM v0: prefill first when a waiting request can be admitted. */
        uint32_t h = simi_wq_peek(w, &b->waiting);
        if (h != SIMI_NONE && b->n_running < (uint32_t)c->max_batch) {
            struct simi_req *hr = &w->pool.slot[h];
            /* Pin the head's cached prefix while making room, so the room is
             * not made by evicting the very blocks it would read. */
            double need = blocks_for(b, hr->prompt_need) - per_block(b, prefix_match(w, b, hr, 1));
            make_room(w, b, need + watermark(b), w->now_s);
            prefix_unpin(w, b, hr);
            prefill_iter = need <= free_blocks(b) - watermark(b) || b->n_running == 0;
            if (prefill_iter && need > free_blocks(b))
                prefill_iter = 0; /* cannot fit even alone right now */
        }
        decode_iter = !prefill_iter && b->n_dec > 0;
    }

    /* KV blocks this decode iteration needs; preempt the newest until they fit. */
    double need_blocks = 0;
    int preempted = 0; /* vLLM (V0 and V1) admits no waiting request in a step that preempted */
    if (decode_iter && !b->is_static) {
        for (;;) {
            if (b->unit_tau)
                need_blocks = b->bucket[b->next_res];
            else
                need_blocks = per_block(b, b->n_dec * b->tau);
            if (need_blocks <= make_room(w, b, need_blocks, w->now_s) || b->n_running <= 1)
                break;
            if ((rc = preempt_newest(w, d, b)) != 0)
                return rc;
            preempted = 1;
            if (b->n_dec == 0) {
                decode_iter = 0;
                need_blocks = 0;
                break;
            }
        }
        b->used_blocks += need_blocks;
    }

    struct mdl_iter it = {0};
    double prefill_sq = 0;
    double scheduled = decode_iter ? b->n_dec : 0.0; /* sequences in the step */
    /* Most iterations have no prompt work: nothing prefilling, nobody waiting.
     * Its sums come back in pw, so that `it` itself never has its address
     * taken on the way to the inline step formula and stays in registers. */
    if (b->prefill.len > 0 || b->waiting.len > 0) {
        struct mdl_iter pw = {0};
        rc = prompt_work(w, d, b, prefill_iter, preempted, n_dec0, &pw, &prefill_sq, &scheduled);
        if (rc != 0)
            return rc;
        it.prefill_tokens = pw.prefill_tokens;
        it.prefill_pairs = pw.prefill_pairs;
        it.prefill_kv_read = pw.prefill_kv_read;
    }
    if (decode_iter) {
        it.decode_tokens = b->n_dec * b->slots_per_dec;
        double kv = max0(b->sum_ctx + b->n_dec);
        it.decode_context = b->slots_per_dec * kv;
        it.decode_kv_read = kv; /* each request reads its KV once */
    }
    it.requests = scheduled;
    if (it.prefill_tokens <= 0 && !decode_iter) {
        /* Nothing can run.  With requests holding memory but none able to
         * move (all prefills stalled for KV), free the newest and retry. */
        if (b->n_running > 0 && !b->is_static) {
            if ((rc = preempt_newest(w, d, b)) != 0)
                return rc;
            return iter_begin(w, d, j);
        }
        if (preempted && b->waiting.len > 0)
            return iter_begin(w, d, j); /* everything was preempted: admit afresh */
        return 0;
    }

    double t = iter_time(d, &it, prefill_sq);
    double slots = it.prefill_tokens + it.decode_tokens;
    b->in_iter = 1;
    b->iter_decodes = decode_iter;
    b->iter_start_s = w->now_s;
    b->iter_need_blocks = need_blocks;
    b->iter_cost_per_slot = slots > 0 ? t * rp->usd_per_s / slots : 0.0;
    rp->current = SIMI_NONE - 1; /* busy: an iteration is running */
    rp->busy_since_s = w->now_s;
    d->iterations++;
    return simi_schedule_h(w, w->now_s + t, SIMI_EV_ITER_END, (uint32_t)(d - w->deploy), (uint64_t)j,
                           &rp->ev_handle);
}

/* Request q is done now: leaves the replica and the world. */
static int finish_req(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    /* Its cached prompt blocks stay, evictable from now on. */
    prefix_unpin(w, b, r);
    run_remove(w, b, q);
    r->done_s = w->now_s;
    LLMSIM_ASSERT(d->running > 0);
    d->running--;
    d->output_tokens += r->output_tokens;
    struct simi_replica *rp = &d->replicas[r->replica];
    LLMSIM_ASSERT(rp->load > 0);
    rp->load--;
    return simi_finish(w, q);
}

/* Prefill pool: request q's prompt is computed and its first token out; it
 * leaves the replica for a decode replica, its KV blocks staying allocated
 * here until the transfer ends (simi_batch_release). */
static int hand_off(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    double held = held_blocks(b, r);
    prefix_unpin(w, b, r);
    run_remove(w, b, q);
    r->phase = SIMI_PH_QUEUED;
    LLMSIM_ASSERT(d->running > 0);
    d->running--;
    struct simi_replica *rp = &d->replicas[r->replica];
    LLMSIM_ASSERT(rp->load > 0);
    rp->load--;
    return simi_disagg_prefilled(w, d, q, held);
}

/* Decode pool, between iterations: transferred requests join the decode
 * phase; then, while no preempted request waits (they go first, as in
 * vLLM) and a batch slot and the prompt's blocks (plus the watermark next
 * to other requests) are free, the oldest waiting request is admitted and
 * its KV transfer starts. */
static int take_arrivals(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_batch *b = d->replicas[j].batch;
    int rc;
    while (b->landed.len > 0) {
        uint32_t q = simi_fifo_pop(&b->landed);
        LLMSIM_ASSERT(b->incoming > 0);
        b->incoming--;
        run_append(w, b, q);
        if ((rc = dec_enter(b, &w->pool.slot[q], q)) != 0)
            return rc;
    }
    while (b->waiting.len == 0 && b->pending.len > 0 && b->n_running + b->incoming < (uint32_t)b->cfg->max_batch) {
        const struct simi_req *r = &w->pool.slot[fifo_peek(&b->pending)];
        double need = blocks_for(b, r->prompt_need);
        double reserve = b->n_running + b->incoming > 0 ? watermark(b) : 0.0;
        if (need > free_blocks(b) - reserve)
            break;
        uint32_t q = simi_fifo_pop(&b->pending);
        b->used_blocks += need;
        b->incoming++;
        d->waiting--;
        d->running++;
        if ((rc = simi_disagg_transfer(w, d, j, q)) != 0)
            return rc;
    }
    return 0;
}

static int iter_end(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_batch *b = rp->batch;
    const struct sim_deployment_cfg *c = d->cfg;
    LLMSIM_ASSERT(b->in_iter);
    b->in_iter = 0;
    rp->busy_s += w->now_s - b->iter_start_s;
    rp->current = SIMI_NONE;
    b->it++;
    int rc;

    struct sim_iter_record ir = {
        .replication = (int32_t)w->replication,
        .deployment = d->record_dep,
        .replica = j,
        .start_s = b->iter_start_s,
        .duration_s = w->now_s - b->iter_start_s,
        .batch = (int32_t)b->n_running,
    };

    /* Decoding requests advance. */
    if (b->iter_decodes) {
        b->dec_it++;
        if (++b->next_res == (uint32_t)b->bs)
            b->next_res = 0;
        b->sum_ctx += b->n_dec * b->tau;

        b->dec_cost_cum += b->slots_per_dec * b->iter_cost_per_slot;
        ir.decode_tokens = b->n_dec_active * b->tau;
        /* Decoders produced their previous token when the previous decode
         * iteration ended (or, for those that just finished prefill, at the
         * end of their prefill, no earlier than that). */
        double since = b->last_dec_end_s > 0 ? b->last_dec_end_s : b->iter_start_s;
        double gap = since < b->iter_start_s && w->now_s - since > 0 && b->n_dec > 0 ? w->now_s - since
                                                                                     : ir.duration_s;
        /* x / 1.0 is x exactly (IEEE 754): without speculation, no division. */
        ir.itl_s = b->unit_tau ? gap : gap / b->tau;
        b->last_dec_end_s = w->now_s;
    }

    /* Prompt chunks: cost, progress, first tokens.  The requests still
     * prefilling stay in the FIFO, in order, compacted in place (nothing
     * called from here reads this replica's FIFO). */
    uint32_t n_pf = b->prefill.len, n_stay = 0, mask = b->prefill.cap - 1;
    for (uint32_t i = 0; i < n_pf; i++) {
        uint32_t q = b->prefill.buf[(b->prefill.head + i) & mask];
        struct simi_req *r = &w->pool.slot[q];
        if (r->chunk == 0) {
            b->prefill.buf[(b->prefill.head + n_stay++) & mask] = q;
            continue;
        }
        ir.prefill_tokens += r->chunk;
        r->gpu_cost_usd += r->chunk * b->iter_cost_per_slot;
        r->prompt_done += r->chunk;
        r->chunk = 0;
        if (r->prompt_done < r->prompt_need) {
            b->prefill.buf[(b->prefill.head + n_stay++) & mask] = q;
            continue;
        }
        /* The prefill yields the next token. */
        if ((rc = prefix_promote(w, b, r)) != 0)
            return rc;
        r->generated++;
        if (r->generated == 1) {
            r->first_token_s = w->now_s;
            simi_scale_note_ttft(d, r->first_token_s - r->dispatch_s);
        }
        if (r->generated >= r->output_tokens && !b->is_static) {
            b->used_blocks -= held_blocks(b, r);
            if ((rc = finish_req(w, d, b, q)) != 0)
                return rc;
            continue;
        }
        if (b->role == SIMI_ROLE_PREFILL) {
            if ((rc = hand_off(w, d, b, q)) != 0)
                return rc;
            continue;
        }
        if ((rc = dec_enter(b, r, q)) != 0)
            return rc;
        if (r->generated >= r->output_tokens) /* static: padding from the start */
            b->n_dec_active--;
    }
    b->prefill.len = n_stay;

    /* Requests whose last token came in this iteration. */
    while (b->heap_n > 0 && b->heap[0].key <= b->dec_it) {
        struct heap_ent e = b->heap[0];
        heap_pop(b);
        struct simi_req *r = &w->pool.slot[e.q];
        if (e.id != r->id || e.gen != r->gen || r->phase != SIMI_PH_DECODE)
            continue; /* stale: preempted since */
        if (b->is_static) {
            if (dec_generated(b, r) >= r->output_tokens && r->generated < r->output_tokens) {
                /* now padding until the batch ends */
                r->generated = r->output_tokens;
                b->n_dec_active--;
            }
            continue;
        }
        r->generated = r->output_tokens;
        b->n_dec_active--;
        double held = held_blocks(b, r);
        dec_leave(b, r);
        b->used_blocks -= held;
        if ((rc = finish_req(w, d, b, e.q)) != 0)
            return rc;
    }

    /* A static batch ends when no request produces real tokens any more. */
    if (b->is_static && b->batch_open && b->n_dec_active == 0 && b->prefill.len == 0) {
        while (b->run_head != SIMI_NONE) {
            uint32_t q = b->run_head;
            struct simi_req *r = &w->pool.slot[q];
            if (r->phase == SIMI_PH_DECODE)
                dec_leave(b, r);
            b->used_blocks -= held_blocks(b, r);
            if ((rc = finish_req(w, d, b, q)) != 0)
                return rc;
        }
        b->n_dec_active = 0;
        heap_clear(b);
        b->batch_open = 0;
        b->used_blocks = 0;
    }

    if (b->n_dec == 0) {
        b->last_dec_end_s = 0; /* no decoder waits for a next token (a static batch ended, too) */
    }

    if (w->sink.iteration != NULL) {
        rc = w->sink.iteration(w->sink.ctx, &ir);
        if (rc < 0)
            return rc;
    }
    (void)c;
    /* rp and b are still this replica's: the replica array is allocated
     * once (world_serve.c) and a replica keeps its batch state. */
    if ((rc = start_next(w, d, j, b)) != 0)
        return rc;
    /* Only a draining replica is released once idle (most are not). */
    return rp->state == SIMI_RS_DRAINING ? simi_scale_check_drained(w, d, j) : 0;
}

/* Starts a static/dynamic batch when its rule says so. */
static int open_batch(struct sim_world *w, struct simi_deploy *d, struct simi_batch *b)
{
    const struct sim_deployment_cfg *c = d->cfg;
    while (b->waiting.len > 0 && b->n_running < (uint32_t)c->max_batch) {
        uint32_t q = simi_wq_peek(w, &b->waiting);
        struct simi_req *r = &w->pool.slot[q];
        if (blocks_for(b, (double)r->input_tokens + r->output_tokens) > free_blocks(b))
            break;
        admit(w, d, b);
        int rc = simi_fifo_push(&b->prefill, q);
        if (rc)
            return rc;
    }
    b->batch_open = b->n_running > 0;
    return 0;
}

/* maybe_start for a decode-pool replica or a static batch. */
static int maybe_start_pool_or_static(struct sim_world *w, struct simi_deploy *d, int j)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_batch *b = rp->batch;
    const struct sim_deployment_cfg *c = d->cfg;
    if (b->role == SIMI_ROLE_DECODE) {
        int rc = take_arrivals(w, d, j);
        if (rc)
            return rc;
    }
    if (b->is_static && !b->batch_open) {
        if (b->waiting.len == 0)
            return 0;
        if (c->scheduler == SIM_SCHED_DYNAMIC && b->waiting.len < (uint32_t)c->max_batch) {
            const struct simi_req *oldest = &w->pool.slot[simi_wq_peek(w, &b->waiting)];
            double due = oldest->dispatch_s + c->max_wait_s;
            if (w->now_s < due) {
                if (!b->timer_pending) {
                    b->timer_pending = 1;
                    return simi_schedule_h(w, due, SIMI_EV_BATCH_TIMER, (uint32_t)(d - w->deploy),
                                           (uint64_t)j, &rp->timer_handle);
                }
                return 0;
            }
        }
        int rc = open_batch(w, d, b);
        if (rc)
            return rc;
    }
    return iter_begin(w, d, j);
}

/* Starts the next iteration of an idle replica if there is work.  Inline:
 * it runs after every iteration, and a continuous-batching replica outside
 * a decode pool goes straight to iter_begin. */
static inline int start_next(struct sim_world *w, struct simi_deploy *d, int j, const struct simi_batch *b)
{
    if (b->in_iter)
        return 0;
    if (b->start_slow)
        return maybe_start_pool_or_static(w, d, j);
    return iter_begin(w, d, j);
}

/* start_next of replica j, its batch looked up. */
static inline int maybe_start(struct sim_world *w, struct simi_deploy *d, int j)
{
    return start_next(w, d, j, d->replicas[j].batch);
}

int simi_batch_dispatch(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_batch *b = rp->batch;
    struct simi_req *r = &w->pool.slot[q];
    r->replica = j;
    r->start_s = -1;
    r->phase = SIMI_PH_QUEUED;
    r->prompt_need = r->input_tokens > 0 ? r->input_tokens : 1;
    r->prompt_done = 0;
    r->generated = 0;
    r->chunk = 0;
    r->gen = 0;
    r->preemptions = 0;
    r->kept_blocks = 0;
    r->kept_from = 0;
    /* A request that cannot fit one replica's KV memory even alone never
     * runs (a prefill pool keeps the prompt only). */
    double out = b->role == SIMI_ROLE_PREFILL ? 0.0 : r->output_tokens;
    if (blocks_for(b, (double)r->prompt_need + out) > b->cap_blocks) {
        r->flags |= SIM_RF_REJECTED;
        r->start_s = r->first_token_s = r->done_s = w->now_s;
        d->rejected++;
        LLMSIM_ASSERT(rp->load > 0);
        rp->load--;
        return simi_finish(w, q);
    }
    d->waiting++;
    int rc = (r->flags & SIM_RF_DEFERRED) ? simi_wq_defer(w, &b->waiting, q) : simi_wq_push(w, &b->waiting, q);
    if (rc)
        return rc;
    return maybe_start(w, d, j);
}

int simi_batch_accept(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q)
{
    struct simi_batch *b = d->replicas[j].batch;
    LLMSIM_ASSERT(b->role == SIMI_ROLE_DECODE);
    struct simi_req *r = &w->pool.slot[q];
    r->replica = j;
    r->phase = SIMI_PH_QUEUED;
    d->waiting++;
    int rc = simi_fifo_push(&b->pending, q);
    if (rc)
        return rc;
    return maybe_start(w, d, j);
}

int simi_batch_land(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q)
{
    int rc = simi_fifo_push(&d->replicas[j].batch->landed, q);
    if (rc)
        return rc;
    return maybe_start(w, d, j);
}

int simi_batch_release(struct sim_world *w, struct simi_deploy *d, int j, double blocks)
{
    struct simi_batch *b = d->replicas[j].batch;
    b->used_blocks -= blocks;
    LLMSIM_ASSERT(b->used_blocks > -0.5);
    return maybe_start(w, d, j);
}

int simi_batch_interrupt(struct sim_world *w, struct simi_deploy *d, int j, struct simi_fifo *out)
{
    struct simi_replica *rp = &d->replicas[j];
    struct simi_batch *b = rp->batch;
    /* Spot is refused for disaggregated deployments (loader, world_serve.c):
     * a pool's pending and landed requests and its KV transfers in flight
     * are not handed back here. */
    LLMSIM_ASSERT(b->role == SIMI_ROLE_BOTH);
    if (b->in_iter) {
        /* The GPU worked until now; the iteration's tokens are lost. */
        rp->busy_s += w->now_s - b->iter_start_s;
        b->in_iter = 0;
    }
    rp->current = SIMI_NONE;
    for (uint32_t q = b->run_head; q != SIMI_NONE;) {
        struct simi_req *r = &w->pool.slot[q];
        uint32_t next = r->next;
        if (r->phase == SIMI_PH_DECODE)
            dec_leave(b, r); /* takes its share of the decode cost so far */
        prefix_unpin(w, b, r);
        r->kept_blocks = 0;
        LLMSIM_ASSERT(d->running > 0);
        d->running--;
        int rc = simi_fifo_push(out, q);
        if (rc)
            return rc;
        q = next;
    }
    LLMSIM_ASSERT(d->waiting >= b->waiting.len);
    d->waiting -= b->waiting.len;
    uint32_t from = out->len;
    int rc = simi_wq_drain(&b->waiting, out);
    if (rc)
        return rc;
    for (uint32_t i = from; i < out->len; i++)
        w->pool.slot[out->buf[(out->head + i) & (out->cap - 1)]].kept_blocks = 0;
    LLMSIM_ASSERT(b->n_dec == 0);
    b->run_head = b->run_tail = SIMI_NONE;
    b->n_running = 0;
    b->n_dec_active = 0;
    b->sum_ctx = 0;
    b->prefill.head = b->prefill.len = 0;
    heap_clear(b);
    b->timer_pending = 0;
    b->batch_open = 0;
    rp->load = 0;
    simi_batch_reset(rp); /* KV memory, the prefix cache and kept blocks: gone with the machine */
    return 0;
}

int simi_batch_event(struct sim_world *w, const struct sim_event *ev)
{
    LLMSIM_ASSERT(ev->target < w->n_deploy_all);
    struct simi_deploy *d = &w->deploy[ev->target];
    int j = (int)ev->payload;
    LLMSIM_ASSERT(j >= 0 && j < d->n_replicas);
    if (ev->kind == SIMI_EV_ITER_END)
        return iter_end(w, d, j);
    d->replicas[j].batch->timer_pending = 0;
    return maybe_start(w, d, j);
}
