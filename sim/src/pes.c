/* The pending-event set: an array-backed 4-ary min-heap with lazy
 * cancellation; see llmsim/pes.h for the contract.
 *
 * Algorithm: the implicit d-ary heap (Johnson 1975, "Priority queues with
 * update and finding minimum spanning trees"; Knuth TAOCP vol. 3, 5.2.3) with
 * d = 4.  Node i has children 4i+1 .. 4i+4 and parent (i-1)/4.  Insertion
 * sifts up and deletion of the minimum sifts the last element down from the
 * root, both by moving a hole rather than swapping, so each level costs one
 * copy.  A 4-ary heap is half as deep as a binary one and does its extra
 * comparisons among siblings that sit next to each other in memory, which is
 * what makes it faster than the binary heap in the classic hold-model
 * benchmark (LaMarca and Ladner 1996, "The influence of caches on the
 * performance of heaps").  The smallest of four children is found without
 * branches while the heap fits in cache and with branches beyond it, because
 * each is faster in its own regime (see min4_branchless, min4_branchy and
 * bench/README.md).
 *
 * Layout.  The heap array holds only the keys (time, seq) and a slot index,
 * 24 bytes an entry, so that sifting touches as little memory as possible.
 * The rest of an event (kind, target, payload) lives in a slot table that
 * never moves relative to its index; a slot also carries the generation that
 * makes handles safe.  Both arrays have the same capacity and grow together
 * by doubling.  Free slots form an intrusive singly linked list.
 *
 * Slot life cycle and generations.  The generation of a slot is odd exactly
 * while the slot holds a live event:
 *
 *     free (even) --push: gen++--> live (odd) --pop: gen++--> free (even)
 *                                   |
 *                                   +--cancel: gen++--> tombstone (even)
 *                                                        --reaches top--> free
 *
 * A handle is (generation << 32) | slot index, with the generation of the
 * push, which is odd and so never 0: the handle is never 0.  A handle is
 * live iff its generation equals the current generation of its slot (this
 * implies odd).  Every transition out of "live" increments the generation, so
 * a handle goes stale as soon as its event pops, is cancelled or is cleared,
 * and stays stale when the slot is reused (the new occupant has a later
 * generation).  Generations are 32 bits: a stale handle could alias a new
 * event only after its slot has been reused 2^31 times, a limit the header
 * states.  A tombstone keeps its slot until its heap entry is discarded, so
 * a heap entry never refers to a slot that has been recycled.
 *
 * Tombstones are discarded when they reach the root (in pop and peek).  So
 * that a caller that cancels many far-future events cannot make the heap grow
 * without bound, cancel rebuilds the heap without tombstones (Floyd's O(n)
 * heap construction) once tombstones outnumber live events; a rebuild follows
 * at least n/2 cancellations of an n-entry heap, so cancel stays amortised
 * O(1).  The rebuild changes the array layout but never the pop order, which
 * depends only on the total order (time, seq). */
#include "llmsim/pes.h"

#include <math.h>
#include <stdlib.h>

#include "llmsim/error.h"

/* Capacity used when the caller passes 0. */
#define PES_DEFAULT_CAPACITY 64

/* At most this many slots: the index must fit the low 32 bits of a handle. */
#define PES_MAX_SLOTS ((size_t)UINT32_MAX)

/* Marks the end of the free list. */
#define PES_NIL UINT32_MAX

/* Heaps up to this many entries are assumed to stay in cache (24 bytes of heap
 * plus 24 of slot an entry: 1.5 MiB), which selects how sift_down searches
 * children; see min4_branchless and min4_branchy.  Only speed depends on it. */
#define PES_CACHED_ENTRIES ((size_t)1 << 15)

/* Heaps smaller than this are never rebuilt on cancel: draining them is as
 * cheap as rebuilding them. */
#define PES_COMPACT_MIN 64

/* One heap node: the sort key and where the rest of the event lives. */
struct entry {
    double time;   /* event time, seconds; primary key; never NaN */
    uint64_t seq;  /* insertion counter; secondary key, unique in the set */
    uint32_t slot; /* index into sim_pes.slots */
};

/* The part of an event that does not take part in the ordering. */
struct slot {
    uint64_t payload; /* sim_event.payload */
    uint32_t kind;    /* sim_event.kind */
    uint32_t target;  /* sim_event.target */
    uint32_t gen;     /* generation: odd while live, even when free or a tombstone */
    uint32_t next;    /* next free slot (PES_NIL ends the list); only meaningful when free */
};

struct sim_pes {
    struct entry *heap; /* heap[0 .. n) is a 4-ary min-heap on (time, seq) */
    struct slot *slots; /* slots[0 .. cap), each free, live or a tombstone */
    size_t n;           /* heap entries: live events plus tombstones */
    size_t cap;         /* capacity of both heap and slots, in entries */
    size_t live;        /* live events (n - live is the tombstone count) */
    size_t used;        /* slots[0 .. used) have ever been handed out */
    uint32_t free_head; /* first free slot below used, or PES_NIL */
    uint64_t next_seq;  /* seq of the next push; never reset, so seq is unique */
};

/* True when a sorts before b in the total order (time, then seq).  Written
 * with & and | rather than && and || so that it compiles to flag arithmetic
 * without branches. */
static inline int entry_less(const struct entry *a, const struct entry *b)
{
    return (a->time < b->time) | ((a->time == b->time) & (a->seq < b->seq));
}

/* Index of the smallest of h[c .. c+3], without branches.  In a heap that
 * fits in cache the outcomes of these comparisons are coin flips, and a
 * mispredicted branch costs more than computing both sides. */
static inline size_t min4_branchless(const struct entry *h, size_t c)
{
    size_t l = c + (size_t)entry_less(&h[c + 1], &h[c]);
    size_t r = c + 2 + (size_t)entry_less(&h[c + 3], &h[c + 2]);
    return entry_less(&h[r], &h[l]) ? r : l;
}

/* Index of the smallest of h[c .. c+3], with branches.  In a heap much larger
 * than the cache the next level is a cache miss, and a predicted branch lets
 * the processor start loading it before the comparisons resolve; that is
 * worth more than the mispredictions cost. */
static inline size_t min4_branchy(const struct entry *h, size_t c)
{
    size_t l = c, r = c + 2;
    if (h[c + 1].time < h[c].time || (h[c + 1].time == h[c].time && h[c + 1].seq < h[c].seq))
        l = c + 1;
    if (h[c + 3].time < h[c + 2].time ||
        (h[c + 3].time == h[c + 2].time && h[c + 3].seq < h[c + 2].seq))
        r = c + 3;
    if (h[r].time < h[l].time || (h[r].time == h[l].time && h[r].seq < h[l].seq))
        return r;
    return l;
}

/* Moves x up from the hole at index i to its place. */
static inline void sift_up(struct entry *h, size_t i, struct entry x)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!entry_less(&x, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

/* Moves x down from the hole at index i of the n-entry heap h to its place. */
static inline void sift_down(struct entry *h, size_t n, size_t i, struct entry x)
{
    int in_cache = n <= PES_CACHED_ENTRIES; /* pick the faster child search */
    for (;;) {
        size_t c = 4 * i + 1; /* first child */
        size_t best;          /* smallest child */
        if (c + 3 < n) {
            best = in_cache ? min4_branchless(h, c) : min4_branchy(h, c);
        } else if (c < n) {
            best = c;
            for (size_t k = c + 1; k < n; k++)
                if (entry_less(&h[k], &h[best]))
                    best = k;
        } else {
            break;
        }
        if (!entry_less(&h[best], &x))
            break;
        h[i] = h[best];
        i = best;
    }
    h[i] = x;
}

/* Removes the root entry (the heap must not be empty). */
static inline void remove_root(struct sim_pes *p)
{
    LLMSIM_ASSERT(p->n > 0);
    p->n--;
    if (p->n > 0)
        sift_down(p->heap, p->n, 0, p->heap[p->n]);
}

/* Puts slot s, whose generation is already even, on the free list. */
static inline void release_slot(struct sim_pes *p, uint32_t s)
{
    LLMSIM_ASSERT((p->slots[s].gen & 1u) == 0);
    p->slots[s].next = p->free_head;
    p->free_head = s;
}

/* Discards tombstones from the root until the root is live or the heap is
 * empty. */
static void drop_tombstones(struct sim_pes *p)
{
    while (p->n > 0) {
        uint32_t s = p->heap[0].slot;
        if (p->slots[s].gen & 1u)
            return;
        remove_root(p);
        release_slot(p, s);
    }
}

/* Resizes both arrays to hold new_cap entries.  On failure the set is
 * unchanged (a heap array that did grow is merely larger than cap). */
static int resize(struct sim_pes *p, size_t new_cap)
{
    LLMSIM_ASSERT(new_cap >= p->n && new_cap <= PES_MAX_SLOTS);
    struct entry *heap = realloc(p->heap, new_cap * sizeof *heap);
    if (heap == NULL)
        return LLMSIM_ENOMEM;
    p->heap = heap;
    struct slot *slots = realloc(p->slots, new_cap * sizeof *slots);
    if (slots == NULL)
        return LLMSIM_ENOMEM;
    p->slots = slots;
    p->cap = new_cap;
    return 0;
}

/* Rebuilds the heap without its tombstones (Floyd's bottom-up heapify). */
static void compact(struct sim_pes *p)
{
    size_t k = 0; /* live entries kept so far */
    for (size_t i = 0; i < p->n; i++) {
        uint32_t s = p->heap[i].slot;
        if (p->slots[s].gen & 1u)
            p->heap[k++] = p->heap[i];
        else
            release_slot(p, s);
    }
    LLMSIM_ASSERT(k == p->live);
    p->n = k;
    if (k > 1)
        for (size_t i = (k - 2) / 4 + 1; i-- > 0;)
            sift_down(p->heap, k, i, p->heap[i]);
}

struct sim_pes *sim_pes_alloc(size_t capacity_hint)
{
    if (capacity_hint > PES_MAX_SLOTS)
        return NULL;
    struct sim_pes *p = malloc(sizeof *p);
    if (p == NULL)
        return NULL;
    p->heap = NULL;
    p->slots = NULL;
    p->n = 0;
    p->cap = 0;
    p->live = 0;
    p->used = 0;
    p->free_head = PES_NIL;
    p->next_seq = 0;
    if (resize(p, capacity_hint ? capacity_hint : PES_DEFAULT_CAPACITY) != 0) {
        sim_pes_free(p);
        return NULL;
    }
    return p;
}

void sim_pes_free(struct sim_pes *p)
{
    if (p == NULL)
        return;
    free(p->heap);
    free(p->slots);
    free(p);
}

int sim_pes_push(struct sim_pes *p, const struct sim_event *ev, uint64_t *handle)
{
    if (isnan(ev->time))
        return LLMSIM_EINVAL;

    uint32_t s; /* slot for the new event */
    if (p->free_head != PES_NIL) {
        s = p->free_head;
        p->free_head = p->slots[s].next;
    } else {
        /* Every slot below used is in the heap (live or tombstone), so
         * used == n here and the heap needs room exactly when slots do. */
        LLMSIM_ASSERT(p->used == p->n);
        if (p->used == p->cap) {
            if (p->cap == PES_MAX_SLOTS)
                return LLMSIM_ENOMEM;
            size_t new_cap = p->cap > PES_MAX_SLOTS / 2 ? PES_MAX_SLOTS : 2 * p->cap;
            int rc = resize(p, new_cap);
            if (rc != 0)
                return rc;
        }
        s = (uint32_t)p->used++;
        p->slots[s].gen = 0;
    }

    struct slot *sl = &p->slots[s];
    LLMSIM_ASSERT((sl->gen & 1u) == 0);
    sl->gen++;
    sl->kind = ev->kind;
    sl->target = ev->target;
    sl->payload = ev->payload;

    struct entry e = {ev->time, p->next_seq++, s};
    sift_up(p->heap, p->n++, e);
    p->live++;
    if (handle != NULL)
        *handle = (uint64_t)sl->gen << 32 | s;
    return 0;
}

int sim_pes_pop(struct sim_pes *p, struct sim_event *ev)
{
    while (p->n > 0) {
        struct entry top = p->heap[0];
        remove_root(p);
        struct slot *sl = &p->slots[top.slot];
        if (sl->gen & 1u) {
            ev->time = top.time;
            ev->seq = top.seq;
            ev->kind = sl->kind;
            ev->target = sl->target;
            ev->payload = sl->payload;
            sl->gen++;
            release_slot(p, top.slot);
            p->live--;
            return 1;
        }
        release_slot(p, top.slot);
    }
    LLMSIM_ASSERT(p->live == 0);
    return 0;
}

int sim_pes_peek(struct sim_pes *p, struct sim_event *ev)
{
    drop_tombstones(p);
    if (p->n == 0)
        return 0;
    const struct entry *top = &p->heap[0];
    const struct slot *sl = &p->slots[top->slot];
    ev->time = top->time;
    ev->seq = top->seq;
    ev->kind = sl->kind;
    ev->target = sl->target;
    ev->payload = sl->payload;
    return 1;
}

int sim_pes_cancel(struct sim_pes *p, uint64_t handle)
{
    uint64_t s = handle & UINT32_MAX; /* slot index */
    uint32_t gen = (uint32_t)(handle >> 32);
    /* Issued handles carry an odd generation and a slot below used, so handle
     * 0 fails here, and so does a stale handle (its slot has moved on to a
     * later generation). */
    if (s >= p->used || (gen & 1u) == 0 || p->slots[s].gen != gen)
        return 0;
    p->slots[s].gen++;
    p->live--;
    if (p->n >= PES_COMPACT_MIN && p->n - p->live > p->live)
        compact(p);
    return 1;
}

size_t sim_pes_size(const struct sim_pes *p)
{
    return p->live;
}

void sim_pes_clear(struct sim_pes *p)
{
    /* Generations are kept, not reset, so that handles issued before the
     * clear can never match events pushed after it. */
    for (size_t i = 0; i < p->n; i++) {
        uint32_t s = p->heap[i].slot;
        if (p->slots[s].gen & 1u)
            p->slots[s].gen++;
        release_slot(p, s);
    }
    p->n = 0;
    p->live = 0;
}
