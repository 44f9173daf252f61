/* The pending-event set: a sorted list while it is small and an
 * array-backed 4-ary min-heap when it is not, with lazy cancellation; see
 * llmsim/pes.h for the contract.
 *
 * Small sets: a sorted array.  A simulation mostly holds a handful of
 * pending events (one per replica and source), and at that size a sorted
 * array beats any heap: pop takes the first entry, push compares the new
 * event with the middle one and walks from the nearer end, moving the
 * entries on its way one place outwards.  The next iteration of a replica
 * is due after most other events and the next arrival before most, so
 * either walk is short.  That linear lists are the best event sets for
 * small sets was found by Jones 1986 ("An empirical comparison of
 * priority-queue and event-set implementations", CACM 29(4)).  The list
 * occupies list[lo .. lo + n) within list[0 .. PES_LIST_SPAN): pop advances
 * lo, and a push that finds no room on its side first moves the list to the
 * middle of the span (once in (PES_LIST_SPAN - PES_LIST_MAX) / 2 pushes or
 * more).  A push that would make the list longer than PES_LIST_MAX turns it
 * into a heap (its entries in order are a sorted array, which is a heap); a
 * heap that shrinks to PES_LIST_MIN entries is sorted back into a list on
 * the next pop.  The gap between the two bounds keeps a set near one bound
 * from converting at every event.
 *
 * Large sets: the implicit d-ary heap (Johnson 1975, "Priority queues with
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
 * bench/README.md).  Pop leaves the root empty (hole) rather than refilling
 * it at once, because nearly every pop is followed by a push from the popped
 * event's handler: a push that finds the hole puts its entry there and sifts
 * it down, one sift for the pair instead of two (the "replace top" of the
 * hold model); anything else that comes first (another pop, a peek, a
 * compaction, a clear) fills the hole the ordinary way.
 *
 * Layout.  The list and heap arrays hold only what orders the events and a
 * slot index, so that shifting and sifting touch as little memory as
 * possible: a list entry the time (16 bytes: a new event goes after every
 * event of its time, so the list needs no seq), a heap entry the time as an
 * integer of the same order (time_key) and the seq, which compare as one
 * integer (24 bytes).  The rest of the event (seq, kind, target, payload)
 * lives in a slot table that never moves relative to its index; a slot also
 * carries the generation that makes handles safe.  The heap and slot arrays
 * have the same capacity and grow together by doubling; the list's array
 * has a fixed PES_LIST_SPAN entries.  Free slots form an intrusive singly
 * linked list.
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
 * states.  A tombstone keeps its slot until its list or heap entry is discarded,
 * so an entry never refers to a slot that has been recycled.
 *
 * Tombstones are discarded when they reach the root or the head of the
 * list (in pop and peek).  So
 * that a caller that cancels many far-future events cannot make the heap grow
 * without bound, cancel rebuilds the heap without tombstones (Floyd's O(n)
 * heap construction) once tombstones outnumber live events; a rebuild follows
 * at least n/2 cancellations of an n-entry heap, so cancel stays amortised
 * O(1).  (A list is never rebuilt: it is shorter than PES_COMPACT_MIN.)  The
 * rebuild, like a conversion between list and heap or the hole, changes the
 * array layout but never the pop order, which depends only on the total order
 * (time, seq). */
#include "llmsim/pes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/error.h"

/* Capacity used when the caller passes 0. */
#define PES_DEFAULT_CAPACITY 64

/* At most this many slots: the index must fit the low 32 bits of a handle. */
#define PES_MAX_SLOTS ((size_t)UINT32_MAX)

/* Marks the end of the free list. */
#define PES_NIL UINT32_MAX

/* Heaps up to this many entries are assumed to stay in cache (24 bytes of heap
 * plus 32 of slot an entry: 1.75 MiB), which selects how sift_down searches
 * children; see min4_branchless and min4_branchy.  Only speed depends on it. */
#define PES_CACHED_ENTRIES ((size_t)1 << 15)

/* Heaps smaller than this are never rebuilt on cancel: draining them is as
 * cheap as rebuilding them. */
#define PES_COMPACT_MIN 64

/* The list becomes a heap past PES_LIST_MAX entries and a heap becomes a
 * list again at PES_LIST_MIN; the list stays within list[0 .. PES_LIST_SPAN).
 * At 32 entries a push into the list moves 8 entries on average, about the
 * cost of a heap's pop and push.  Only speed depends on these. */
#define PES_LIST_MAX 32
#define PES_LIST_MIN 16
#define PES_LIST_SPAN 128

/* One heap node: the sort key and where the rest of the event lives.  key
 * and seq together compare as one unsigned integer. */
struct entry {
    uint64_t key;  /* time_key(event time); primary key */
    uint64_t seq;  /* insertion counter; secondary key, unique in the set */
    uint32_t slot; /* index into sim_pes.slots */
};

/* One list entry, 16 bytes.  The list needs no seq: a new event has the
 * largest seq in the set and goes after every event of the same time, so
 * the list's order by time alone is the order (time, seq). */
struct lentry {
    double time;   /* event time */
    uint32_t slot; /* index into sim_pes.slots */
};

/* The rest of the event, and the generation that makes handles safe; 32
 * bytes, so that a slot never straddles two cache lines.  The time is in
 * the list or heap entry. */
struct slot {
    uint64_t seq;     /* sim_event.seq */
    uint64_t payload; /* sim_event.payload */
    uint32_t kind;    /* sim_event.kind */
    uint32_t target;  /* sim_event.target */
    uint32_t gen;     /* generation: odd while live, even when free or a tombstone */
    uint32_t next;    /* free: next free slot (PES_NIL ends the list); in the heap: 1 when the
                         time is -0.0 (which time_key does not tell from 0.0), else 0 */
};

struct sim_pes {
    struct lentry *list; /* PES_LIST_SPAN entries; the list is list[lo .. lo + n), sorted by time */
    struct entry *heap;  /* cap entries; the heap is heap[0 .. n), a 4-ary min-heap on (key, seq) */
    struct slot *slots;  /* slots[0 .. cap), each free, live or a tombstone */
    size_t lo;           /* list: index of its first entry */
    size_t n;            /* entries: live events plus tombstones, plus the hole when set */
    size_t cap;          /* capacity of both heap and slots, in entries */
    size_t live;         /* live events */
    size_t used;         /* slots[0 .. used) have ever been handed out */
    uint32_t free_head;  /* first free slot below used, or PES_NIL */
    int is_list;         /* the entries are the list's, not the heap's */
    int hole;            /* heap: heap[0] is empty, its event popped and nothing in its place */
    uint64_t next_seq;   /* seq of the next push; never reset, so seq is unique */
};

/* Maps a time that is not NaN to an unsigned integer in the same order: the
 * IEEE 754 bit pattern with the sign bit flipped for positive numbers and
 * every bit flipped for negative ones (the usual radix-sort key of floats;
 * Herf 2001, "Radix tricks").  The two zeros compare equal as doubles, so
 * -0.0 is mapped as 0.0 and ties with it by seq. */
static inline uint64_t time_key(double t)
{
    uint64_t b;
    t += 0.0; /* -0.0 + 0.0 is 0.0 (IEEE 754 6.3, rounding to nearest); every other t is kept */
    memcpy(&b, &t, sizeof b);
    return b ^ ((uint64_t)-(int64_t)(b >> 63) | (UINT64_C(1) << 63));
}

/* The heap entry of the event in slot s, due at t; marks the slot
 * when t is -0.0, for key_time. */
static inline struct entry heap_entry(struct sim_pes *p, double t, uint32_t s)
{
    p->slots[s].next = t == 0 && signbit(t);
    return (struct entry){time_key(t), p->slots[s].seq, s};
}

/* The time of slot s's heap entry with key k: time_key inverted, and the
 * sign of a zero from the slot. */
static inline double key_time(const struct sim_pes *p, uint64_t k, uint32_t s)
{
    uint64_t b = k >> 63 ? k ^ (UINT64_C(1) << 63) : ~k;
    double t;
    memcpy(&t, &b, sizeof t);
    return p->slots[s].next ? -0.0 : t;
}

/* True when a sorts before b in the total order (time, then seq).  With a
 * 128-bit integer type the pair is one unsigned comparison (two instructions
 * on x86-64, no branch); otherwise the same order written with & and | so
 * that it compiles to flag arithmetic without branches. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 pes_u128;
static inline int entry_less(const struct entry *a, const struct entry *b)
{
    return ((pes_u128)a->key << 64 | a->seq) < ((pes_u128)b->key << 64 | b->seq);
}
#else
static inline int entry_less(const struct entry *a, const struct entry *b)
{
    return (a->key < b->key) | ((a->key == b->key) & (a->seq < b->seq));
}
#endif

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
 * worth more than the mispredictions cost.  (Hence the comparison written
 * with && and ||: the one-integer entry_less compiles to conditional moves,
 * which wait for the comparison.) */
static inline int entry_less_branchy(const struct entry *a, const struct entry *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static inline size_t min4_branchy(const struct entry *h, size_t c)
{
    size_t l = c, r = c + 2;
    if (entry_less_branchy(&h[c + 1], &h[c]))
        l = c + 1;
    if (entry_less_branchy(&h[c + 3], &h[c + 2]))
        r = c + 3;
    if (entry_less_branchy(&h[r], &h[l]))
        return r;
    return l;
}

/* Moves x, the newest entry, up from the hole at index i to its place.  x
 * has the largest seq in the set, so it sorts before another entry exactly
 * when its key is smaller. */
static inline void sift_up(struct entry *h, size_t i, struct entry x)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (x.key >= h[parent].key)
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

/* Moves x down from the hole at index i of the n-entry heap h to its place. */
static void sift_down(struct entry *h, size_t n, size_t i, struct entry x)
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

/* Heap: removes the root entry, or the hole at the root (the heap must not
 * be empty). */
static inline void remove_root(struct sim_pes *p)
{
    LLMSIM_ASSERT(p->n > 0 && !p->is_list);
    p->n--;
    if (p->n > 0)
        sift_down(p->heap, p->n, 0, p->heap[p->n]);
}

/* Heap: fills the root hole, if any, the ordinary way. */
static inline void fill_hole(struct sim_pes *p)
{
    if (p->hole) {
        p->hole = 0;
        remove_root(p);
    }
}

/* List: moves the entries to the middle of the span, leaving room on both
 * sides. */
static void list_center(struct sim_pes *p)
{
    size_t base = (PES_LIST_SPAN - p->n) / 2;
    memmove(p->list + base, p->list + p->lo, p->n * sizeof *p->list);
    p->lo = base;
}

static void list_insert_centered(struct sim_pes *p, double t, uint32_t slot);

/* List: inserts the newest event (time t, slot) at its place
 * (n < PES_LIST_MAX): after every entry whose time is not later.  Compared
 * with the middle entry it goes to one half, and the entries between it and
 * that half's end move one place outwards; the middle entry itself stops
 * either walk, so neither needs a bounds check. */
static inline void list_insert(struct sim_pes *p, double t, uint32_t slot)
{
    struct lentry *h = p->list;
    size_t n = p->n;
    if (n == 0) {
        p->lo = PES_LIST_SPAN / 2;
        h[p->lo] = (struct lentry){t, slot};
        p->n = 1;
        return;
    }
    if (t < h[p->lo + n / 2].time) {
        if (p->lo == 0) {
            list_insert_centered(p, t, slot);
            return;
        }
        size_t i = p->lo;
        while (h[i].time <= t) {
            h[i - 1] = h[i];
            i++;
        }
        h[i - 1] = (struct lentry){t, slot};
        p->lo--;
    } else {
        if (p->lo + n == PES_LIST_SPAN) {
            list_insert_centered(p, t, slot);
            return;
        }
        size_t i = p->lo + n;
        while (t < h[i - 1].time) {
            h[i] = h[i - 1];
            i--;
        }
        h[i] = (struct lentry){t, slot};
    }
    p->n = n + 1;
}

/* list_insert for a list without room on the new entry's side: moves the
 * list to the middle of the span first.  Out of line, so that a push needs
 * no stack frame. */
__attribute__((noinline)) static void list_insert_centered(struct sim_pes *p, double t, uint32_t slot)
{
    list_center(p);
    list_insert(p, t, slot);
}

/* Turns the list into the heap: the list's order is (time, seq), so its
 * entries in order are a sorted array, which is a heap.  There is room:
 * n < cap. */
static void list_to_heap(struct sim_pes *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct lentry *e = &p->list[p->lo + i];
        p->heap[i] = heap_entry(p, e->time, e->slot);
    }
    p->is_list = 0;
}

/* Turns the heap into the list: sorts its entries (insertion sort; the heap
 * has at most PES_LIST_MIN of them) into the middle of the list's span. */
static void heap_to_list(struct sim_pes *p)
{
    fill_hole(p);
    struct entry *h = p->heap;
    for (size_t k = 1; k < p->n; k++) {
        struct entry x = h[k];
        size_t i = k;
        while (i > 0 && entry_less(&x, &h[i - 1])) {
            h[i] = h[i - 1];
            i--;
        }
        h[i] = x;
    }
    p->lo = (PES_LIST_SPAN - p->n) / 2;
    for (size_t i = 0; i < p->n; i++)
        p->list[p->lo + i] = (struct lentry){key_time(p, h[i].key, h[i].slot), h[i].slot};
    p->is_list = 1;
}

/* Puts slot s, whose generation is already even, on the free list. */
static inline void release_slot(struct sim_pes *p, uint32_t s)
{
    LLMSIM_ASSERT((p->slots[s].gen & 1u) == 0);
    p->slots[s].next = p->free_head;
    p->free_head = s;
}

/* Copies the event of slot s (live), due at t, out to *ev. */
static inline void copy_out(const struct sim_pes *p, uint32_t s, double t, struct sim_event *ev)
{
    const struct slot *sl = &p->slots[s];
    ev->time = t;
    ev->seq = sl->seq;
    ev->kind = sl->kind;
    ev->target = sl->target;
    ev->payload = sl->payload;
}

/* Discards tombstones from the front until the earliest entry is live or
 * the set is empty (a hole is filled first). */
static void drop_tombstones(struct sim_pes *p)
{
    if (p->is_list) {
        while (p->n > 0 && !(p->slots[p->list[p->lo].slot].gen & 1u)) {
            release_slot(p, p->list[p->lo].slot);
            p->lo++;
            p->n--;
        }
        return;
    }
    fill_hole(p);
    while (p->n > 0) {
        uint32_t s = p->heap[0].slot;
        if (p->slots[s].gen & 1u)
            return;
        remove_root(p);
        release_slot(p, s);
    }
}

/* Resizes the heap and slot arrays to hold new_cap entries.  On failure the
 * set is unchanged (a heap array that did grow is merely larger than cap). */
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
    LLMSIM_ASSERT(!p->is_list);
    fill_hole(p);
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
    p->list = malloc(PES_LIST_SPAN * sizeof *p->list);
    p->heap = NULL;
    p->slots = NULL;
    p->lo = 0;
    p->n = 0;
    p->cap = 0;
    p->live = 0;
    p->used = 0;
    p->free_head = PES_NIL;
    p->is_list = 1;
    p->hole = 0;
    p->next_seq = 0;
    if (p->list == NULL || resize(p, capacity_hint ? capacity_hint : PES_DEFAULT_CAPACITY) != 0) {
        sim_pes_free(p);
        return NULL;
    }
    return p;
}

void sim_pes_free(struct sim_pes *p)
{
    if (p == NULL)
        return;
    free(p->list);
    free(p->heap);
    free(p->slots);
    free(p);
}

/* Puts a never used slot on the empty free list, growing both arrays when
 * they are full: slot used - 1, generation 0. */
static int new_slot(struct sim_pes *p)
{
    /* Every slot below used is in the set (live or tombstone), so used == n
     * here and the arrays need room exactly when slots do (a hole's slot is
     * on the free list, so there is no hole either). */
    LLMSIM_ASSERT(p->used == p->n && !p->hole);
    if (p->used == p->cap) {
        if (p->cap == PES_MAX_SLOTS)
            return LLMSIM_ENOMEM;
        size_t new_cap = p->cap > PES_MAX_SLOTS / 2 ? PES_MAX_SLOTS : 2 * p->cap;
        int rc = resize(p, new_cap);
        if (rc != 0)
            return rc;
    }
    p->slots[p->used++].gen = 0;
    release_slot(p, (uint32_t)(p->used - 1));
    return 0;
}

/* sim_pes_push for a set whose free list is empty: adds a slot to it and
 * pushes again.  Out of line, and the push's only call that needs its
 * arguments afterwards, so that the push itself keeps them in
 * call-clobbered registers (no stack frame); it runs only while the set
 * reaches a new largest size. */
__attribute__((noinline)) static int push_new_slot(struct sim_pes *p, double t, uint32_t kind, uint32_t target,
                                                   uint64_t payload, uint64_t *handle)
{
    int rc = new_slot(p);
    if (rc != 0)
        return rc;
    return sim_pes_push_at(p, t, kind, target, payload, handle);
}

/* Push of slot s into the heap, or into a full list, which becomes the heap
 * first.  Out of line, so that the list's push stays short. */
__attribute__((noinline)) static void heap_push(struct sim_pes *p, double t, uint32_t s)
{
    if (p->is_list) {
        LLMSIM_ASSERT(p->n == PES_LIST_MAX);
        list_to_heap(p);
    }
    struct entry e = heap_entry(p, t, s);
    if (p->hole) {
        p->hole = 0;
        sift_down(p->heap, p->n, 0, e);
    } else {
        sift_up(p->heap, p->n++, e);
    }
}

int sim_pes_push_at(struct sim_pes *p, double t, uint32_t kind, uint32_t target, uint64_t payload,
                    uint64_t *handle)
{
    if (isnan(t))
        return LLMSIM_EINVAL;

    uint32_t s = p->free_head; /* slot for the new event */
    if (s == PES_NIL)
        return push_new_slot(p, t, kind, target, payload, handle);
    p->free_head = p->slots[s].next;

    struct slot *sl = &p->slots[s];
    LLMSIM_ASSERT((sl->gen & 1u) == 0);
    uint32_t gen = sl->gen + 1;
    sl->gen = gen;
    sl->seq = p->next_seq++;
    sl->kind = kind;
    sl->target = target;
    sl->payload = payload;
    p->live++;
    if (handle != NULL)
        *handle = (uint64_t)gen << 32 | s;

    /* Last, so that the calls below need nothing kept across them. */
    if (p->is_list && p->n < PES_LIST_MAX)
        list_insert(p, t, s);
    else
        heap_push(p, t, s);
    return 0;
}

/* The list's pop: takes entries from the head until one is live or the
 * list is empty, freeing the tombstones met on the way; the live one is
 * taken into *ev (1) when it sorts before (t, seq), else left in place (0).
 * Its generation moves on to even, which frees its slot.  The list holds no
 * seq, but the caller's seq decides only a tie of times, and then the
 * slot's seq is at hand. */
static inline int list_pop_before(struct sim_pes *p, double t, uint64_t seq, struct sim_event *ev)
{
    while (p->n > 0) {
        const struct lentry *e = &p->list[p->lo];
        uint32_t s = e->slot;
        struct slot *sl = &p->slots[s];
        uint32_t gen = sl->gen;
        if (gen & 1u) {
            if (!(e->time < t || (e->time == t && sl->seq < seq)))
                return 0;
            copy_out(p, s, e->time, ev);
            sl->gen = gen + 1;
            p->live--;
            p->lo++;
            p->n--;
            release_slot(p, s);
            return 1;
        }
        p->lo++;
        p->n--;
        release_slot(p, s);
    }
    LLMSIM_ASSERT(p->live == 0);
    return 0;
}

/* The heap's pop_before; a heap that has shrunk to PES_LIST_MIN entries
 * becomes the list first.  Out of line, so that the list's pop stays
 * short. */
__attribute__((noinline)) static int heap_pop_before(struct sim_pes *p, double t, uint64_t seq,
                                                     struct sim_event *ev)
{
    if (p->n - (size_t)p->hole <= PES_LIST_MIN) {
        heap_to_list(p);
        return list_pop_before(p, t, seq, ev);
    }
    fill_hole(p);
    const struct entry bound = {time_key(t), seq, 0};
    while (p->n > 0) {
        uint32_t s = p->heap[0].slot;
        struct slot *sl = &p->slots[s];
        if (sl->gen & 1u) {
            if (!entry_less(&p->heap[0], &bound))
                return 0;
            copy_out(p, s, key_time(p, p->heap[0].key, s), ev);
            sl->gen++;
            p->live--;
            release_slot(p, s);
            p->hole = 1; /* the next push or pop fills it */
            return 1;
        }
        remove_root(p);
        release_slot(p, s);
    }
    LLMSIM_ASSERT(p->live == 0);
    return 0;
}

int sim_pes_push(struct sim_pes *p, const struct sim_event *ev, uint64_t *handle)
{
    return sim_pes_push_at(p, ev->time, ev->kind, ev->target, ev->payload, handle);
}

int sim_pes_pop_before(struct sim_pes *p, double t, uint64_t seq, struct sim_event *ev)
{
    return p->is_list ? list_pop_before(p, t, seq, ev) : heap_pop_before(p, t, seq, ev);
}

/* Every live event sorts before (INFINITY, UINT64_MAX): seq never gets
 * there. */
int sim_pes_pop(struct sim_pes *p, struct sim_event *ev)
{
    return sim_pes_pop_before(p, INFINITY, UINT64_MAX, ev);
}

uint64_t sim_pes_reserve_seq(struct sim_pes *p)
{
    return p->next_seq++;
}

int sim_pes_peek(struct sim_pes *p, struct sim_event *ev)
{
    drop_tombstones(p);
    if (p->n == 0)
        return 0;
    if (p->is_list)
        copy_out(p, p->list[p->lo].slot, p->list[p->lo].time, ev);
    else
        copy_out(p, p->heap[0].slot, key_time(p, p->heap[0].key, p->heap[0].slot), ev);
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
    size_t entries = p->n - (size_t)p->hole; /* live events and tombstones */
    if (entries >= PES_COMPACT_MIN && entries - p->live > p->live)
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
     * clear can never match events pushed after it.  A hole's slot is
     * already free. */
    for (size_t i = (size_t)p->hole; i < p->n; i++) {
        uint32_t s = p->is_list ? p->list[p->lo + i].slot : p->heap[i].slot;
        if (p->slots[s].gen & 1u)
            p->slots[s].gen++;
        release_slot(p, s);
    }
    p->lo = 0;
    p->n = 0;
    p->live = 0;
    p->is_list = 1;
    p->hole = 0;
}
