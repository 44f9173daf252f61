/* llmsim: a prefix cache with sliding TTLs and an LRU capacity.
 *
 * Entries are identified by a 64-bit key (the identity of a prompt prefix:
 * a hash of the content up to a cache breakpoint or block) and hold a number
 * of tokens.  An entry is readable from its ready time (Anthropic: once the
 * response that wrote it has produced its first token; ideal caches: at
 * once).  Each entry has its own TTL, which slides: the entry expires when
 * more than TTL seconds pass without a read or a write touching it.  A capacity in
 * tokens bounds the cache; beyond it the least recently used entries go.
 *
 * Expiry needs no timer events: entries sit in one LRU list per distinct
 * TTL (most recently used at the head); with a constant TTL per list, expiry
 * order equals last-use order, so expired entries are always at the tails
 * and are purged there, lazily, whenever the cache is used (design.md
 * section 3).  Lookups and inserts are O(1) amortised (an open-addressing
 * hash table with tombstone-free backward-shift deletion).
 *
 * Accounting kept for reports: tokens resident, entries written and never
 * read before leaving (wasted writes, with what their writes cost), and the
 * token-seconds entries lived (Gemini-style storage fees).
 *
 * Ownership: sim_cache_alloc / sim_cache_free; free(NULL) is a no-op. */
#ifndef LLMSIM_CACHE_H
#define LLMSIM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define SIM_CACHE_MAX_TTLS 4 /* distinct TTL values in one cache */

struct sim_cache;

struct sim_cache_stats {
    double tokens;              /* resident now */
    uint64_t entries;           /* resident now */
    uint64_t inserts;           /* entries written */
    uint64_t evictions;         /* left for capacity */
    uint64_t expirations;       /* left after their TTL */
    uint64_t unread_leaves;     /* entries that left without a single read */
    double unread_write_usd;    /* what writing those entries cost */
    double token_seconds;       /* sum over entries of tokens x time resident (so far) */
};

/* capacity_tokens: +inf (or <= 0) for unbounded.  Returns NULL when out of memory. */
struct sim_cache *sim_cache_alloc(double capacity_tokens);
void sim_cache_free(struct sim_cache *c);

/* Finds a readable, unexpired entry with this key at time now (purging
 * expired entries first).  Returns 1 and its token count in *tokens when
 * found, else 0.  Does not touch the entry. */
int sim_cache_peek(struct sim_cache *c, uint64_t key, double now, double *tokens);

/* Marks a read of the entry at time now: its TTL restarts.  The entry must
 * exist (after a successful peek at the same time). */
void sim_cache_touch(struct sim_cache *c, uint64_t key, double now);

/* Writes (or refreshes) an entry of `tokens` tokens with this TTL (seconds,
 * +inf for none), readable from ready_s; write_usd is what the write cost
 * (for the wasted-write report).  An existing entry is refreshed (its TTL
 * restarts; a later ready time does not delay it).  Evicts least recently
 * used entries beyond the capacity; an entry larger than the capacity is not
 * stored.  Returns 0, LLMSIM_ENOMEM, or LLMSIM_ELIMIT (more distinct TTLs
 * than SIM_CACHE_MAX_TTLS). */
int sim_cache_put(struct sim_cache *c, uint64_t key, double tokens, double ttl_s, double now, double ready_s,
                  double write_usd);

/* Pinning (self-hosted prefix caches): a pinned entry is in use by a running
 * request and is neither evicted nor expired; pins count.  The entry must
 * exist. */
void sim_cache_pin(struct sim_cache *c, uint64_t key);
void sim_cache_unpin(struct sim_cache *c, uint64_t key);

/* Evicts unpinned entries, least recently used first, until at least
 * `tokens` tokens are freed or none is left; returns the tokens freed. */
double sim_cache_evict(struct sim_cache *c, double tokens, double now);

/* Tokens resident now. */
double sim_cache_tokens(const struct sim_cache *c);

/* Purges what has expired by `now` and fills *out (token_seconds up to now). */
void sim_cache_stats(struct sim_cache *c, double now, struct sim_cache_stats *out);

/* 64-bit mixing of a key with a value (for building prefix identities). */
uint64_t sim_cache_key(uint64_t prefix_key, uint64_t value);

#endif
