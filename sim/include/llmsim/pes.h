/* llmsim: the pending-event set.
 *
 * A priority queue of future events ordered by (time, sequence number): the
 * event with the smallest time pops first, and events with equal times pop in
 * the order they were scheduled (the sequence number is a counter the set
 * assigns on every insert).  That total order is what makes runs
 * deterministic: nothing depends on heap layout, pointer values or timing.
 *
 * The implementation is a sorted array while the set holds at most 32
 * events (what a simulation mostly holds) and an array-backed 4-ary
 * min-heap beyond (a d-ary heap with d = 4 halves the depth of a binary
 * heap and keeps a node's four children next to each other in memory: 96
 * bytes of keys, two cache lines); see sim/src/pes.c.  Events are plain
 * structs copied in and out; the set never hands out pointers into
 * its array, because the array moves when it grows.
 *
 * Handles: sim_pes_push() returns a uint64_t handle, never 0.  A handle stays
 * valid until its event pops or is cancelled; after that, cancelling it is a
 * harmless no-op that returns 0.  Cancellation is lazy: the slot keeps its
 * place in the heap with a tombstone and is discarded when it reaches the top;
 * when a cancel leaves tombstones outnumbering live events the heap is
 * rebuilt without them, so cancel costs amortised O(1) and cancelled
 * far-future events do not pile up.  A handle is (slot index, generation):
 * slots are recycled, and the generation counter makes a stale handle miss
 * the new occupant of its slot.  Generations are 32 bits, so a stale handle
 * could hit a new event only after its slot had been reused 2^31 times.  A
 * handle belongs to the set that issued it: passed to another set it may
 * cancel an unrelated event.
 *
 * Ownership: the caller owns the set (sim_pes_alloc / sim_pes_free);
 * sim_pes_free(NULL) is a no-op.  The set never allocates in push/pop except
 * to grow its arrays geometrically (amortised O(1), no per-event malloc). */
#ifndef LLMSIM_PES_H
#define LLMSIM_PES_H

#include <stddef.h>
#include <stdint.h>

/* One event.  kind and target are interpreted by the world; payload is a
 * small integer (a request index, a replica index), never a pointer into a
 * growing array.  seq is only an output: sim_pes_push ignores it, and
 * sim_pes_pop and sim_pes_peek report the value the push assigned. */
struct sim_event {
    double time;      /* virtual time, seconds */
    uint64_t seq;     /* set by sim_pes_push: insertion order, tie-breaker */
    uint32_t kind;    /* event kind, world-defined */
    uint32_t target;  /* entity index (deployment, replica, source), world-defined */
    uint64_t payload; /* world-defined small datum */
};

struct sim_pes;

/* Allocates an empty set with room for capacity_hint events (0 = default).
 * Returns NULL when out of memory or when capacity_hint exceeds the most
 * events a set can hold (2^32 - 1). */
struct sim_pes *sim_pes_alloc(size_t capacity_hint);
void sim_pes_free(struct sim_pes *p);

/* Inserts a copy of ev; its seq field is ignored (the copy gets the next
 * sequence number; *ev is not modified).  Stores the handle in *handle when
 * handle is not NULL.  Returns 0, LLMSIM_EINVAL for a NaN time (infinite times
 * are allowed), or LLMSIM_ENOMEM when the arrays cannot grow (out of memory,
 * or 2^32 - 1 events and tombstones pending).  On error the set and *handle
 * are unchanged. */
int sim_pes_push(struct sim_pes *p, const struct sim_event *ev, uint64_t *handle);

/* sim_pes_push of the event (t, kind, target, payload), passed by value:
 * what the world's scheduling calls, so that no struct goes through
 * memory on the way. */
int sim_pes_push_at(struct sim_pes *p, double t, uint32_t kind, uint32_t target, uint64_t payload,
                    uint64_t *handle);

/* Removes the earliest live event into *ev.  Returns 1 when an event was
 * popped, 0 when the set holds no live event. */
int sim_pes_pop(struct sim_pes *p, struct sim_event *ev);

/* Copies the earliest live event into *ev without removing it (discarding
 * tombstones on the way).  Returns 1 or 0 like sim_pes_pop. */
int sim_pes_peek(struct sim_pes *p, struct sim_event *ev);

/* An event kept outside the set.  A caller that holds the next event of a
 * stream itself (the world holds the next open-loop arrival: there is only
 * ever one, and it would otherwise be pushed and popped once per request)
 * takes the sequence number its push would have got from
 * sim_pes_reserve_seq, at the moment it would have pushed, and merges it
 * with the set through sim_pes_pop_before: the events then come out in the
 * order (time, seq) that pushing it would have given, ties included.
 *
 * sim_pes_reserve_seq returns the next sequence number and consumes it: no
 * event in the set has it, events pushed before it have smaller ones and
 * events pushed after it larger ones. */
uint64_t sim_pes_reserve_seq(struct sim_pes *p);

/* Removes the earliest live event into *ev if it sorts before (t, seq) in
 * the order (time, seq), where seq is a reserved sequence number (so no event
 * of the set ties with it) and t is not NaN.  Returns 1 when an event was
 * popped, 0 when the set holds no live event before (t, seq).  With
 * (INFINITY, UINT64_MAX) it is sim_pes_pop. */
int sim_pes_pop_before(struct sim_pes *p, double t, uint64_t seq, struct sim_event *ev);

/* Cancels the event with this handle.  Returns 1 when a live event was
 * cancelled, 0 when the handle was stale (already popped, cancelled or
 * cleared) or was 0. */
int sim_pes_cancel(struct sim_pes *p, uint64_t handle);

/* Number of live (not cancelled) events. */
size_t sim_pes_size(const struct sim_pes *p);

/* Removes every event; outstanding handles become stale.  Keeps the
 * capacity; sequence numbers continue from where they were. */
void sim_pes_clear(struct sim_pes *p);

#endif
