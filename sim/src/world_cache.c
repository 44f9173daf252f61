/* Provider prompt caches of api deployments (design.md section 4, "Caches").
 *
 * A request's cacheable prefix is the run of stable segments from the start
 * of its prompt (world_source.c turns it into cache points: the identity and
 * token count of the prefix up to each stable segment's end), or for a
 * Mooncake trace the chain of its 512-token block hashes.  Semantics:
 *
 *   anthropic  only breakpoints (segments marked cache: 5m | 1h) are
 *              entries; a breakpoint prefix shorter than the model's minimum
 *              is not cached.  The longest readable breakpoint entry is a
 *              hit (read at the read multiplier; its TTL restarts); every
 *              later breakpoint is written (billed at the write multiplier
 *              of its TTL for the tokens since the previous one).  An entry
 *              becomes readable when the response that wrote it produces its
 *              first token, so simultaneous identical requests all miss and
 *              all pay the write.
 *   openai     automatic: nothing for prompts under the minimum (1,024); every
 *              stable boundary of at least the minimum is an entry, a hit
 *              counts in 128-token steps, writes cost the input price (no
 *              premium), retention 300 s of inactivity unless ttl_s says
 *              otherwise (OpenAI documents 5-10 minutes; the lower bound).
 *   gemini     explicit entries at breakpoints like anthropic, TTL 3,600 s by
 *              default, no write premium; a storage fee per million tokens per
 *              hour for as long as entries live.
 *   ideal      every stable boundary (every block of a Mooncake trace) is an
 *              entry, usable from the request's arrival, no minimum and no
 *              premium; LRU beyond capacity_tokens, TTL sliding on each use
 *              when ttl_s is set.  The hit is the longest run of cached blocks
 *              from the first; all the request's blocks are then refreshed,
 *              last to first (the first block most recently used), each
 *              costing a full block of capacity (tests/tools/cache_replay.py
 *              is the independent replay of these rules).
 *
 * With shards > 1 the deployment has that many independent caches and a
 * request uses one: chosen by the hash of its first prefix point, or
 * uniformly at random (stream "deployment/<name>/shard"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "world_internal.h"

#define OPENAI_STEP_TOKENS 128.0
#define OPENAI_DEFAULT_TTL_S 300.0
#define GEMINI_DEFAULT_TTL_S 3600.0

int simi_cache_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err)
{
    const struct sim_prompt_cache_cfg *pc = &d->cfg->cache;
    if (!pc->enabled)
        return 0;
    if (pc->shards < 1)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "deployment %s: prompt cache shards must be >= 1",
                                d->cfg->name);
    d->caches = calloc((size_t)pc->shards, sizeof *d->caches);
    if (d->caches == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    for (int i = 0; i < pc->shards; i++) {
        d->caches[i] = sim_cache_alloc(pc->capacity_tokens);
        if (d->caches[i] == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (pc->shards > 1 && !pc->shard_by_prefix) {
        d->rng_shard = simi_stream(w, "deployment", d->cfg->name, "shard");
        if (d->rng_shard == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return 0;
}

void simi_cache_free(struct simi_deploy *d)
{
    if (d->caches != NULL)
        for (int i = 0; i < d->cfg->cache.shards; i++)
            sim_cache_free(d->caches[i]);
    free(d->caches);
    d->caches = NULL;
    gsl_rng_free(d->rng_shard);
    d->rng_shard = NULL;
}

static struct sim_cache *shard_of(struct simi_deploy *d, const struct simi_req *r, uint64_t first_key)
{
    int n = d->cfg->cache.shards;
    if (n <= 1)
        return d->caches[0];
    if (d->cfg->cache.shard_by_prefix)
        return d->caches[first_key % (uint64_t)n];
    (void)r;
    return d->caches[gsl_rng_uniform_int(d->rng_shard, (unsigned long)n)];
}

/* TTL of an entry at point i. */
static double entry_ttl(const struct sim_prompt_cache_cfg *pc, const struct simi_req *r, uint32_t i)
{
    if (pc->ttl_s > 0)
        return pc->ttl_s;
    switch (pc->semantics) {
    case SIM_CACHE_ANTHROPIC:
        return r->pt_ttl_s[i] > 0 ? r->pt_ttl_s[i] : 300.0;
    case SIM_CACHE_OPENAI:
        return OPENAI_DEFAULT_TTL_S;
    case SIM_CACHE_GEMINI:
        return GEMINI_DEFAULT_TTL_S;
    case SIM_CACHE_IDEAL:
    default:
        return INFINITY;
    }
}

/* Whether a write at point i is billed at the 1-hour rate: the breakpoint's
 * declared TTL decides (a ttl_s override changes how long entries live, not
 * the tier they are bought at). */
static int one_hour(const struct sim_prompt_cache_cfg *pc, const struct simi_req *r, uint32_t i)
{
    return pc->semantics == SIM_CACHE_ANTHROPIC && r->pt_ttl_s[i] >= 3600;
}

/* Whether point i of r is an entry under these semantics. */
static int is_entry(const struct sim_prompt_cache_cfg *pc, const struct simi_req *r, uint32_t i)
{
    if (r->pt_tokens[i] < pc->min_tokens || r->pt_tokens[i] == 0)
        return 0;
    if (pc->semantics == SIM_CACHE_ANTHROPIC || pc->semantics == SIM_CACHE_GEMINI)
        return r->pt_ttl_s[i] > 0;
    if (pc->semantics == SIM_CACHE_OPENAI)
        return r->input_tokens >= pc->min_tokens;
    return 1;
}

/* Mooncake blocks under ideal semantics. */
static int trace_blocks(struct sim_world *w, struct simi_deploy *d, struct simi_req *r, double *cached_out)
{
    const struct sim_trace *t = &w->sc->workload.trace;
    const struct sim_prompt_cache_cfg *pc = &d->cfg->cache;
    uint64_t lo = t->hash_off[r->trace_row], hi = t->hash_off[r->trace_row + 1];
    double bt = t->block_tokens;
    uint64_t first = lo < hi ? sim_cache_key(SIMI_BLOCK_KEY0, t->hash_ids[lo]) : 0;
    struct sim_cache *c = shard_of(d, r, first);
    double ttl = pc->ttl_s > 0 ? pc->ttl_s : INFINITY;
    /* Lookup: the run of cached blocks from the first. */
    uint64_t key = SIMI_BLOCK_KEY0;
    double cached = 0, tok;
    for (uint64_t j = lo; j < hi; j++) {
        key = sim_cache_key(key, t->hash_ids[j]);
        if (!sim_cache_peek(c, key, w->now_s, &tok))
            break;
        double rest = (double)r->input_tokens - (double)(j - lo) * bt;
        cached += rest < bt ? rest : bt;
    }
    /* Refresh or insert every block, last to first, usable at once. */
    uint64_t n = hi - lo;
    if (n > 0) {
        uint64_t *keys = malloc(n * sizeof *keys);
        if (keys == NULL)
            return LLMSIM_ENOMEM;
        key = SIMI_BLOCK_KEY0;
        for (uint64_t j = 0; j < n; j++) {
            key = sim_cache_key(key, t->hash_ids[lo + j]);
            keys[j] = key;
        }
        int rc = 0;
        for (uint64_t j = n; j-- > 0 && rc == 0;) {
            double b;
            if (sim_cache_peek(c, keys[j], w->now_s, &b))
                sim_cache_touch(c, keys[j], w->now_s);
            else
                rc = sim_cache_put(c, keys[j], bt, ttl, w->now_s, w->now_s, 0.0);
        }
        free(keys);
        if (rc)
            return rc;
    }
    *cached_out = cached > r->input_tokens ? r->input_tokens : cached;
    return 0;
}

int simi_cache_lookup(struct sim_world *w, struct simi_deploy *d, struct simi_req *r, struct sim_cache **shard,
                      int *hit_point)
{
    const struct sim_prompt_cache_cfg *pc = &d->cfg->cache;
    *shard = NULL;
    *hit_point = -1;
    r->cached_tokens = r->write_5m_tokens = r->write_1h_tokens = 0;
    if (!pc->enabled)
        return 0;
    if (r->trace_row != SIMI_NONE && w->sc->workload.trace.hash_off != NULL) {
        double cached = 0;
        int rc = trace_blocks(w, d, r, &cached);
        r->cached_tokens = (uint32_t)cached;
        return rc;
    }
    if (r->n_pts == 0)
        return 0;
    struct sim_cache *c = shard_of(d, r, r->pt_key[0]);
    *shard = c;
    double tok;
    for (int i = (int)r->n_pts - 1; i >= 0; i--) {
        if (!is_entry(pc, r, (uint32_t)i))
            continue;
        if (sim_cache_peek(c, r->pt_key[i], w->now_s, &tok)) {
            sim_cache_touch(c, r->pt_key[i], w->now_s);
            double cached = r->pt_tokens[i];
            if (pc->semantics == SIM_CACHE_OPENAI)
                cached = floor(cached / OPENAI_STEP_TOKENS) * OPENAI_STEP_TOKENS;
            r->cached_tokens = (uint32_t)cached;
            *hit_point = i;
            break;
        }
    }
    /* Tokens written: from the hit (or the start) to each later entry, at that entry's TTL. */
    double prev = *hit_point >= 0 ? r->pt_tokens[*hit_point] : 0.0;
    for (uint32_t i = (uint32_t)(*hit_point + 1); i < r->n_pts; i++) {
        if (!is_entry(pc, r, i))
            continue;
        double span = r->pt_tokens[i] - prev;
        if (one_hour(pc, r, i))
            r->write_1h_tokens += (uint32_t)span;
        else
            r->write_5m_tokens += (uint32_t)span;
        prev = r->pt_tokens[i];
    }
    return 0;
}

int simi_cache_write(struct sim_world *w, struct simi_deploy *d, struct simi_req *r, struct sim_cache *c,
                     int hit_point, double ready_s)
{
    const struct sim_prompt_cache_cfg *pc = &d->cfg->cache;
    if (c == NULL)
        return 0;
    const struct mdl_price *p = &d->cfg->price;
    double prev = hit_point >= 0 ? r->pt_tokens[hit_point] : 0.0;
    if (pc->semantics == SIM_CACHE_IDEAL)
        ready_s = w->now_s;
    for (uint32_t i = (uint32_t)(hit_point + 1); i < r->n_pts; i++) {
        if (!is_entry(pc, r, i))
            continue;
        double ttl = entry_ttl(pc, r, i);
        double mult = pc->semantics == SIM_CACHE_IDEAL ? 1.0
                      : one_hour(pc, r, i)              ? p->cache_write_1h_mult
                                                        : p->cache_write_5m_mult;
        double write_usd = (r->pt_tokens[i] - prev) * p->input_per_mtok * 1e-6 * mult;
        prev = r->pt_tokens[i];
        int rc = sim_cache_put(c, r->pt_key[i], r->pt_tokens[i], ttl, w->now_s, ready_s, write_usd);
        if (rc)
            return rc;
    }
    return 0;
}

void simi_cache_report(const struct simi_deploy *d, double now, struct sim_deployment_stats *s)
{
    if (d->caches == NULL)
        return;
    const struct mdl_price *p = &d->cfg->price;
    for (int i = 0; i < d->cfg->cache.shards; i++) {
        struct sim_cache_stats cs;
        sim_cache_stats(d->caches[i], now, &cs);
        s->cache_tokens += cs.tokens;
        s->cache_unread_writes += cs.unread_leaves;
        s->cache_unread_write_usd += cs.unread_write_usd;
        if (d->cfg->cache.semantics == SIM_CACHE_GEMINI)
            s->cache_storage_usd += cs.token_seconds / 3600.0 * p->cache_storage_per_mtok_hour * 1e-6;
    }
}
