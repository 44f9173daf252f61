/* A prefix cache with sliding TTLs and an LRU capacity; see llmsim/cache.h.
 *
 * Storage: entries in a pool (index-based free list), found through an
 * open-addressing hash table of entry indices (linear probing, load <= 1/2,
 * backward-shift deletion so that no tombstones accumulate), and linked
 * into one LRU list per TTL value.  Expired entries are at the tails of
 * their lists and are removed there lazily. */
#include "llmsim/cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"

#define NONE UINT32_MAX

struct entry {
    uint64_t key;
    double tokens;
    double last_use_s;  /* last read or write: the TTL runs from here */
    double ready_s;     /* readable from */
    double inserted_s;  /* for token-seconds */
    double write_usd;   /* what the write cost */
    uint64_t reads;
    uint32_t pins;       /* running requests using it: not evictable */
    uint32_t prev, next; /* LRU list links (prev = towards the head) */
    uint32_t list;       /* which TTL list */
    uint32_t next_free;
};

struct lru {
    double ttl_s;
    uint32_t head, tail;
};

struct sim_cache {
    double capacity;      /* tokens, +inf = unbounded */
    double used;          /* tokens resident */
    struct entry *e;
    uint32_t n_alloc, n_used, free_head;
    uint64_t live;
    uint32_t *table;      /* entry index or NONE; size mask + 1 */
    uint64_t mask;
    struct lru lists[SIM_CACHE_MAX_TTLS];
    int n_lists;
    struct sim_cache_stats st;
};

uint64_t sim_cache_key(uint64_t prefix_key, uint64_t value)
{
    /* SplitMix64-style finalisation of the pair. */
    uint64_t x = prefix_key ^ (value + 0x9e3779b97f4a7c15ULL + (prefix_key << 6) + (prefix_key >> 2));
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t slot_of(uint64_t key, uint64_t mask)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ULL;
    return (x ^ (x >> 32)) & mask;
}

struct sim_cache *sim_cache_alloc(double capacity_tokens)
{
    struct sim_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->capacity = capacity_tokens > 0 ? capacity_tokens : INFINITY;
    c->mask = 63;
    c->table = malloc((c->mask + 1) * sizeof *c->table);
    if (c->table == NULL) {
        free(c);
        return NULL;
    }
    memset(c->table, 0xff, (c->mask + 1) * sizeof *c->table);
    c->free_head = NONE;
    return c;
}

void sim_cache_free(struct sim_cache *c)
{
    if (c == NULL)
        return;
    free(c->e);
    free(c->table);
    free(c);
}

static uint64_t find_slot(const struct sim_cache *c, uint64_t key)
{
    uint64_t i = slot_of(key, c->mask);
    while (c->table[i] != NONE && c->e[c->table[i]].key != key)
        i = (i + 1) & c->mask;
    return i;
}

static int grow_table(struct sim_cache *c)
{
    uint64_t nmask = c->mask * 2 + 1;
    uint32_t *nt = malloc((nmask + 1) * sizeof *nt);
    if (nt == NULL)
        return LLMSIM_ENOMEM;
    memset(nt, 0xff, (nmask + 1) * sizeof *nt);
    for (uint64_t i = 0; i <= c->mask; i++) {
        uint32_t x = c->table[i];
        if (x == NONE)
            continue;
        uint64_t j = slot_of(c->e[x].key, nmask);
        while (nt[j] != NONE)
            j = (j + 1) & nmask;
        nt[j] = x;
    }
    free(c->table);
    c->table = nt;
    c->mask = nmask;
    return 0;
}

/* Backward-shift deletion of the table slot holding key. */
static void table_remove(struct sim_cache *c, uint64_t key)
{
    uint64_t i = find_slot(c, key);
    LLMSIM_ASSERT(c->table[i] != NONE);
    c->table[i] = NONE;
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & c->mask;
        uint32_t x = c->table[j];
        if (x == NONE)
            break;
        uint64_t home = slot_of(c->e[x].key, c->mask);
        /* Move x back to i when its home is not cyclically within (i, j]. */
        int between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            c->table[i] = x;
            c->table[j] = NONE;
            i = j;
        }
    }
}

static void lru_unlink(struct sim_cache *c, uint32_t x)
{
    struct entry *en = &c->e[x];
    struct lru *l = &c->lists[en->list];
    if (en->prev != NONE)
        c->e[en->prev].next = en->next;
    else
        l->head = en->next;
    if (en->next != NONE)
        c->e[en->next].prev = en->prev;
    else
        l->tail = en->prev;
}

static void lru_push_head(struct sim_cache *c, uint32_t x, uint32_t list)
{
    struct entry *en = &c->e[x];
    struct lru *l = &c->lists[list];
    en->list = list;
    en->prev = NONE;
    en->next = l->head;
    if (l->head != NONE)
        c->e[l->head].prev = x;
    else
        l->tail = x;
    l->head = x;
}

/* Removes entry x at time t (for an eviction or an expiry). */
static void drop(struct sim_cache *c, uint32_t x, double t, int expired)
{
    struct entry *en = &c->e[x];
    lru_unlink(c, x);
    table_remove(c, en->key);
    c->used -= en->tokens;
    if (c->live == 1)
        c->used = 0; /* no rounding residue once empty */
    c->live--;
    c->st.token_seconds += en->tokens * (t - en->inserted_s);
    if (expired)
        c->st.expirations++;
    else
        c->st.evictions++;
    if (en->reads == 0) {
        c->st.unread_leaves++;
        c->st.unread_write_usd += en->write_usd;
    }
    en->next_free = c->free_head;
    c->free_head = x;
}

/* Removes every entry whose TTL ran out before `now`.  An entry is readable
 * up to and including last use + TTL (a 300 s TTL still hits a request 300 s
 * after the last use); it lived (for storage) until then. */
static void purge(struct sim_cache *c, double now)
{
    for (int k = 0; k < c->n_lists; k++) {
        struct lru *l = &c->lists[k];
        while (l->tail != NONE && c->e[l->tail].last_use_s + l->ttl_s < now) {
            if (c->e[l->tail].pins > 0) {
                /* In use: it stays; its TTL restarts from now. */
                uint32_t x = l->tail;
                c->e[x].last_use_s = now;
                lru_unlink(c, x);
                lru_push_head(c, x, (uint32_t)k);
                continue;
            }
            drop(c, l->tail, c->e[l->tail].last_use_s + l->ttl_s, 1);
        }
    }
}

int sim_cache_peek(struct sim_cache *c, uint64_t key, double now, double *tokens)
{
    purge(c, now);
    uint64_t i = find_slot(c, key);
    if (c->table[i] == NONE)
        return 0;
    const struct entry *en = &c->e[c->table[i]];
    if (en->ready_s > now)
        return 0;
    *tokens = en->tokens;
    return 1;
}

void sim_cache_touch(struct sim_cache *c, uint64_t key, double now)
{
    uint64_t i = find_slot(c, key);
    LLMSIM_ASSERT(c->table[i] != NONE);
    uint32_t x = c->table[i];
    struct entry *en = &c->e[x];
    en->reads++;
    en->last_use_s = now;
    uint32_t list = en->list;
    lru_unlink(c, x);
    lru_push_head(c, x, list);
}

static int list_for(struct sim_cache *c, double ttl_s)
{
    for (int k = 0; k < c->n_lists; k++)
        if (c->lists[k].ttl_s == ttl_s)
            return k;
    if (c->n_lists == SIM_CACHE_MAX_TTLS)
        return LLMSIM_ELIMIT;
    c->lists[c->n_lists] = (struct lru){ttl_s, NONE, NONE};
    return c->n_lists++;
}

/* The least recently used unpinned entry over all lists, NONE when none.
 * Pinned entries are recent (pinned when read), so the walk from each tail
 * is short. */
static uint32_t lru_victim(const struct sim_cache *c)
{
    uint32_t best = NONE;
    for (int k = 0; k < c->n_lists; k++) {
        uint32_t t = c->lists[k].tail;
        while (t != NONE && c->e[t].pins > 0)
            t = c->e[t].prev;
        if (t != NONE && (best == NONE || c->e[t].last_use_s < c->e[best].last_use_s))
            best = t;
    }
    return best;
}

static uint32_t must_find(const struct sim_cache *c, uint64_t key)
{
    uint64_t i = find_slot(c, key);
    LLMSIM_ASSERT(c->table[i] != NONE);
    return c->table[i];
}

void sim_cache_pin(struct sim_cache *c, uint64_t key)
{
    c->e[must_find(c, key)].pins++;
}

void sim_cache_unpin(struct sim_cache *c, uint64_t key)
{
    struct entry *en = &c->e[must_find(c, key)];
    LLMSIM_ASSERT(en->pins > 0);
    en->pins--;
}

double sim_cache_evict(struct sim_cache *c, double tokens, double now)
{
    double freed = 0;
    while (freed < tokens) {
        uint32_t v = lru_victim(c);
        if (v == NONE)
            break;
        freed += c->e[v].tokens;
        drop(c, v, now, 0);
    }
    return freed;
}

double sim_cache_tokens(const struct sim_cache *c)
{
    return c->used;
}

int sim_cache_put(struct sim_cache *c, uint64_t key, double tokens, double ttl_s, double now, double ready_s,
                  double write_usd)
{
    purge(c, now);
    int list = list_for(c, ttl_s);
    if (list < 0)
        return list;
    uint64_t i = find_slot(c, key);
    if (c->table[i] != NONE) {
        uint32_t x = c->table[i];
        struct entry *en = &c->e[x];
        en->last_use_s = now;
        if (ready_s < en->ready_s)
            en->ready_s = ready_s;
        lru_unlink(c, x);
        lru_push_head(c, x, (uint32_t)list);
        return 0;
    }
    if (tokens > c->capacity)
        return 0;
    while (c->used + tokens > c->capacity) {
        uint32_t v = lru_victim(c);
        if (v == NONE)
            return 0; /* everything left is pinned: not stored */
        drop(c, v, now, 0);
    }
    if ((c->live + 1) * 2 > c->mask + 1) {
        int rc = grow_table(c);
        if (rc)
            return rc;
    }
    uint32_t x;
    if (c->free_head != NONE) {
        x = c->free_head;
        c->free_head = c->e[x].next_free;
    } else {
        if (c->n_used == c->n_alloc) {
            if (c->n_alloc >= UINT32_MAX / 2)
                return LLMSIM_ELIMIT;
            uint32_t n = c->n_alloc ? 2 * c->n_alloc : 64;
            struct entry *ne = realloc(c->e, (size_t)n * sizeof *ne);
            if (ne == NULL)
                return LLMSIM_ENOMEM;
            c->e = ne;
            c->n_alloc = n;
        }
        x = c->n_used++;
    }
    c->table[find_slot(c, key)] = x;
    struct entry *en = &c->e[x];
    *en = (struct entry){.key = key, .tokens = tokens, .last_use_s = now, .ready_s = ready_s,
                         .inserted_s = now, .write_usd = write_usd, .reads = 0, .pins = 0};
    lru_push_head(c, x, (uint32_t)list);
    c->used += tokens;
    c->live++;
    c->st.inserts++;
    return 0;
}

void sim_cache_stats(struct sim_cache *c, double now, struct sim_cache_stats *out)
{
    purge(c, now);
    *out = c->st;
    out->tokens = c->used;
    out->entries = c->live;
    for (int k = 0; k < c->n_lists; k++)
        for (uint32_t x = c->lists[k].head; x != NONE; x = c->e[x].next)
            out->token_seconds += c->e[x].tokens * (now - c->e[x].inserted_s);
}
