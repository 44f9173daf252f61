/* Tests of the pending-event set (sim/src/pes.c, llmsim/pes.h).
 *
 * The central test is a property test: 10^5 random operations (push with
 * many equal times, pop, peek, cancel of live, stale, popped and made-up
 * handles, the odd clear, and an event held outside the set with a reserved
 * seq, merged through pop_before) applied both to the set and to a reference
 * model, a plain array kept sorted by (time, push order), and compared after
 * every operation.  The other tests pin down one rule of the contract each.  All
 * randomness comes from mt19937 seeded with 12345, so failures reproduce. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <gsl/gsl_rng.h>

#include "llmsim/error.h"
#include "llmsim/pes.h"

#define TEST_SEED 12345

/* ---------------------------------------------------------------- model */

/* One event of the reference model. */
struct mev {
    double time;     /* event time, seconds */
    uint64_t id;     /* push order in the test; plays the role of seq */
    uint64_t handle; /* handle returned by sim_pes_push */
    uint32_t kind;   /* copied to the event */
    uint32_t target; /* copied to the event */
};

/* The reference model: live events sorted by (time, id), earliest first. */
struct model {
    struct mev *ev; /* ev[0 .. n) sorted */
    size_t n;       /* live events */
    size_t cap;     /* capacity of ev */
};

static int mev_less(const struct mev *a, const struct mev *b)
{
    return a->time < b->time || (a->time == b->time && a->id < b->id);
}

static void model_push(struct model *m, struct mev e)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->ev = realloc(m->ev, m->cap * sizeof *m->ev);
        ck_assert_ptr_nonnull(m->ev);
    }
    /* Upper bound: the first element that sorts after e. */
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mev_less(&e, &m->ev[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(&m->ev[lo + 1], &m->ev[lo], (m->n - lo) * sizeof *m->ev);
    m->ev[lo] = e;
    m->n++;
}

static void model_remove_at(struct model *m, size_t i)
{
    memmove(&m->ev[i], &m->ev[i + 1], (m->n - i - 1) * sizeof *m->ev);
    m->n--;
}

/* Removes the event with this handle; returns 1 when there was one. */
static int model_cancel(struct model *m, uint64_t handle)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->ev[i].handle == handle) {
            model_remove_at(m, i);
            return 1;
        }
    return 0;
}

/* Asserts that ev (from the set) is model event e; payload carries the id. */
static void check_same(const struct sim_event *ev, const struct mev *e)
{
    ck_assert_uint_eq(ev->payload, e->id);
    /* Compare bit patterns so that infinities and the sign of zero count. */
    ck_assert_mem_eq(&ev->time, &e->time, sizeof ev->time);
    ck_assert_uint_eq(ev->kind, e->kind);
    ck_assert_uint_eq(ev->target, e->target);
}

/* A time for a random push.  Most draws come from small sets of values so
 * that ties are common; the rest cover continuous values, the current clock,
 * signed zeros and infinities. */
static double random_time(gsl_rng *r, double now)
{
    unsigned long u = gsl_rng_uniform_int(r, 100);
    if (u < 35)
        return 0.6180339887 * (double)gsl_rng_uniform_int(r, 8) + 1.2345;
    if (u < 45)
        return now;
    if (u < 85)
        return 97.31 * gsl_rng_uniform(r) - 3.17;
    if (u < 92)
        return INFINITY;
    if (u < 95)
        return -INFINITY;
    if (u < 97)
        return -0.0;
    return 0.0;
}

/* ev, just popped, must be the model's earliest event: checks it, notes the
 * seq it carried and that it popped, and removes it from the model. */
static void took_front(struct model *m, const struct sim_event *ev, uint64_t *seq_of, unsigned char *popped)
{
    check_same(ev, &m->ev[0]);
    seq_of[ev->payload] = ev->seq;
    popped[ev->payload] = 1;
    model_remove_at(m, 0);
}

/* ------------------------------------------------------------ property */

/* Applies ops random operations to a set and to the model, comparing them
 * after each.  The mix alternates between growing and draining: every phase
 * operations when band is 0, else growing up to band events and draining
 * down to band / 4.  The set must reach more than want_max events. */
static void random_ops_match_model(size_t ops, size_t phase, size_t band, size_t want_max)
{
    const size_t OPS = ops, PHASE = phase;
    int growing = 1;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, TEST_SEED);
    struct sim_pes *p = sim_pes_alloc(1);
    ck_assert_ptr_nonnull(p);
    struct model m = {NULL, 0, 0};

    /* Every handle ever issued (cancel picks among them, stale or not) and
     * the seq each popped event carried, by push id. */
    uint64_t *handles = malloc(OPS * sizeof *handles);
    uint64_t *seq_of = malloc(OPS * sizeof *seq_of);
    unsigned char *popped = calloc(OPS, 1);
    ck_assert(handles && seq_of && popped);
    size_t nh = 0;
    double now = 0.0;
    size_t max_size = 0, cancels_hit = 0, cancels_missed = 0;
    /* The event held outside the set, the way the world holds the next
     * arrival: its id takes a place in push order like a push, and its seq
     * comes from sim_pes_reserve_seq. */
    int held = 0;
    struct mev hold = {0};
    uint64_t hold_seq = 0;
    size_t held_first = 0, held_after = 0;

    for (size_t op = 0; op < OPS; op++) {
        if (band == 0)
            growing = (op / PHASE) % 2 == 0;
        else if (m.n >= band || m.n <= band / 4)
            growing = m.n < band;
        unsigned long push = growing ? 650 : 300; /* per mille */
        unsigned long pop = push + (1000 - push) * 6 / 10;
        unsigned long peek = push + (1000 - push) * 7 / 10;
        unsigned long u = gsl_rng_uniform_int(r, 1000);
        struct sim_event ev;
        if (gsl_rng_uniform_int(r, 5000) == 0) {
            sim_pes_clear(p);
            m.n = 0;
        } else if (u < push && !held && gsl_rng_uniform_int(r, 5) == 0) {
            hold = (struct mev){random_time(r, now), nh, 0, 0, 0};
            hold_seq = sim_pes_reserve_seq(p);
            handles[nh++] = 0; /* no handle: cancel picks it as 0 */
            held = 1;
        } else if (u < push) {
            struct mev e = {random_time(r, now), nh, 0, (uint32_t)gsl_rng_get(r),
                            (uint32_t)gsl_rng_get(r)};
            struct sim_event in = {e.time, 0xdeadbeefcafeULL, e.kind, e.target, e.id};
            uint64_t h = 0;
            ck_assert_int_eq(sim_pes_push(p, &in, &h), 0);
            ck_assert_uint_ne(h, 0);
            e.handle = h;
            handles[nh++] = h;
            model_push(&m, e);
        } else if (u < pop && held) {
            /* The merge: the set's earliest if it sorts before the held
             * event, else the held event. */
            int expect = m.n > 0 && mev_less(&m.ev[0], &hold);
            int got = sim_pes_pop_before(p, hold.time, hold_seq, &ev);
            ck_assert_int_eq(got, expect);
            if (got) {
                took_front(&m, &ev, seq_of, popped);
                now = ev.time;
                held_after++;
            } else {
                seq_of[hold.id] = hold_seq;
                popped[hold.id] = 1;
                now = hold.time;
                held = 0;
                held_first++;
            }
        } else if (u < pop) {
            int got = sim_pes_pop(p, &ev);
            ck_assert_int_eq(got, m.n > 0);
            if (got) {
                took_front(&m, &ev, seq_of, popped);
                now = ev.time;
            }
        } else if (u < peek) {
            int got = sim_pes_peek(p, &ev);
            ck_assert_int_eq(got, m.n > 0);
            if (got)
                check_same(&ev, &m.ev[0]);
        } else {
            uint64_t h;
            unsigned long v = gsl_rng_uniform_int(r, 20);
            if (v == 0 || nh == 0)
                h = 0;
            else if (v == 1)
                h = (uint64_t)gsl_rng_get(r) << 32 | gsl_rng_get(r);
            else if (v < 8 && m.n > 0)
                h = m.ev[gsl_rng_uniform_int(r, m.n)].handle; /* a live one */
            else
                h = handles[gsl_rng_uniform_int(r, nh)]; /* most are stale */
            int expect = h != 0 && model_cancel(&m, h);
            ck_assert_int_eq(sim_pes_cancel(p, h), expect);
            if (expect)
                cancels_hit++;
            else
                cancels_missed++;
        }
        ck_assert_uint_eq(sim_pes_size(p), m.n);
        if (m.n > max_size)
            max_size = m.n;
    }

    /* Drain what is left, the held event at its place. */
    struct sim_event ev;
    if (held) {
        while (m.n > 0 && mev_less(&m.ev[0], &hold)) {
            ck_assert_int_eq(sim_pes_pop_before(p, hold.time, hold_seq, &ev), 1);
            took_front(&m, &ev, seq_of, popped);
        }
        ck_assert_int_eq(sim_pes_pop_before(p, hold.time, hold_seq, &ev), 0);
        seq_of[hold.id] = hold_seq;
        popped[hold.id] = 1;
    }
    for (size_t i = 0; i < m.n; i++) {
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        check_same(&ev, &m.ev[i]);
        seq_of[ev.payload] = ev.seq;
        popped[ev.payload] = 1;
    }
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    ck_assert_uint_eq(sim_pes_size(p), 0);

    /* seq follows push order, reservations included: strictly increasing
     * over the ids that popped. */
    int have_prev = 0;
    uint64_t prev = 0;
    for (size_t id = 0; id < nh; id++) {
        if (!popped[id])
            continue;
        if (have_prev)
            ck_assert_uint_gt(seq_of[id], prev);
        prev = seq_of[id];
        have_prev = 1;
    }

    /* The run must have exercised what it claims to. */
    ck_assert_uint_gt(max_size, want_max);
    ck_assert_uint_gt(cancels_hit, OPS / 100);
    ck_assert_uint_gt(cancels_missed, OPS / 100);
    ck_assert_uint_gt(held_first, OPS / 200);
    ck_assert_uint_gt(held_after, OPS / 200);

    free(handles);
    free(seq_of);
    free(popped);
    free(m.ev);
    sim_pes_free(p);
    gsl_rng_free(r);
}

/* Sizes sweep from empty to a few thousand: the heap. */
START_TEST(test_random_ops_match_model)
{
    random_ops_match_model(100000, 4000, 0, 1000);
}
END_TEST

/* Sizes go up and down across the bounds where the sorted list of a small
 * set turns into the heap and back (32 and 16 events), many times. */
START_TEST(test_random_ops_list_heap_bounds)
{
    random_ops_match_model(100000, 0, 40, 32);
}
END_TEST

/* ------------------------------------------------------------- ordering */

START_TEST(test_fifo_on_equal_times)
{
    enum { N = 3000 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, TEST_SEED);
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    /* Three tied times, interleaved at random; payload is the push order. */
    const double times[3] = {2.385, 7.0231, INFINITY};
    for (uint64_t i = 0; i < N; i++) {
        struct sim_event ev = {times[gsl_rng_uniform_int(r, 3)], 0, 3, 5, i};
        ck_assert_int_eq(sim_pes_push(p, &ev, NULL), 0);
    }
    struct sim_event ev;
    double last_time = -INFINITY;
    uint64_t last_payload = 0, last_seq = 0;
    int first = 1;
    for (size_t k = 0; k < N; k++) {
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        ck_assert(ev.time >= last_time);
        if (!first && ev.time == last_time) {
            ck_assert_uint_gt(ev.payload, last_payload);
            ck_assert_uint_gt(ev.seq, last_seq);
        }
        last_time = ev.time;
        last_payload = ev.payload;
        last_seq = ev.seq;
        first = 0;
    }
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    sim_pes_free(p);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_signed_zero_and_infinities)
{
    struct sim_pes *p = sim_pes_alloc(4);
    ck_assert_ptr_nonnull(p);
    /* -0.0 and 0.0 compare equal, so they tie and keep push order. */
    const double t[5] = {INFINITY, 0.0, -0.0, -INFINITY, 1.618};
    for (uint64_t i = 0; i < 5; i++) {
        struct sim_event ev = {t[i], 0, 0, 0, i};
        ck_assert_int_eq(sim_pes_push(p, &ev, NULL), 0);
    }
    const uint64_t order[5] = {3, 1, 2, 4, 0};
    struct sim_event ev;
    for (size_t k = 0; k < 5; k++) {
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        ck_assert_uint_eq(ev.payload, order[k]);
        ck_assert_mem_eq(&ev.time, &t[order[k]], sizeof ev.time);
    }
    sim_pes_free(p);
}
END_TEST

/* An event held outside the set with a reserved seq ties with the set's
 * events of its time by that seq: after those pushed before the
 * reservation, before those pushed after it; signed zeros tie.  With fill
 * far-future events first, so that the set is the list (fill 0) or the
 * heap (fill 40). */
static void reserved_seq_ties(int fill)
{
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < fill; i++) {
        struct sim_event f = {100.0 + i, 0, 0, 0, 1000 + (uint64_t)i};
        ck_assert_int_eq(sim_pes_push(p, &f, NULL), 0);
    }
    const double t[4] = {1.0, 1.0, 0.5, 0.0};
    struct sim_event a = {t[0], 0, 0, 0, 0};
    ck_assert_int_eq(sim_pes_push(p, &a, NULL), 0);
    struct sim_event z = {t[3], 0, 0, 0, 3};
    ck_assert_int_eq(sim_pes_push(p, &z, NULL), 0);
    uint64_t r1 = sim_pes_reserve_seq(p); /* held at 1.0 */
    uint64_t r0 = sim_pes_reserve_seq(p); /* held at -0.0 */
    ck_assert_uint_eq(r0, r1 + 1);
    struct sim_event b = {t[1], 0, 0, 0, 1};
    ck_assert_int_eq(sim_pes_push(p, &b, NULL), 0);
    struct sim_event c = {t[2], 0, 0, 0, 2};
    ck_assert_int_eq(sim_pes_push(p, &c, NULL), 0);
    struct sim_event ev;
    ck_assert_int_eq(sim_pes_peek(p, &ev), 1);
    ck_assert_uint_gt(ev.seq, 0);

    /* -0.0 held: z (0.0, pushed before the reservation) comes first. */
    ck_assert_int_eq(sim_pes_pop_before(p, -0.0, r0, &ev), 1);
    ck_assert_uint_eq(ev.payload, 3);
    ck_assert_uint_lt(ev.seq, r1);
    ck_assert_int_eq(sim_pes_pop_before(p, -0.0, r0, &ev), 0);
    /* 1.0 held: c (0.5), then a (pushed before), then the held one, then b. */
    ck_assert_int_eq(sim_pes_pop_before(p, 1.0, r1, &ev), 1);
    ck_assert_uint_eq(ev.payload, 2);
    ck_assert_uint_gt(ev.seq, r0);
    ck_assert_int_eq(sim_pes_pop_before(p, 1.0, r1, &ev), 1);
    ck_assert_uint_eq(ev.payload, 0);
    ck_assert_int_eq(sim_pes_pop_before(p, 1.0, r1, &ev), 0);
    ck_assert_int_eq(sim_pes_pop_before(p, 1.0, r1, &ev), 0); /* nothing taken */
    ck_assert_uint_eq(sim_pes_size(p), 1 + (size_t)fill);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
    ck_assert_uint_eq(ev.payload, 1);
    ck_assert_uint_gt(ev.seq, r0);

    /* An infinite time ties with the bound (INFINITY, UINT64_MAX) and
     * sorts before it, as sim_pes_pop has it; a held infinite time sorts
     * after an infinite event pushed before its reservation. */
    struct sim_event inf = {INFINITY, 0, 0, 0, 4};
    ck_assert_int_eq(sim_pes_push(p, &inf, NULL), 0);
    uint64_t ri = sim_pes_reserve_seq(p);
    for (int i = 0; i < fill; i++) {
        ck_assert_int_eq(sim_pes_pop_before(p, INFINITY, ri, &ev), 1);
        ck_assert_uint_eq(ev.payload, 1000 + (uint64_t)i);
    }
    ck_assert_int_eq(sim_pes_pop_before(p, INFINITY, ri, &ev), 1);
    ck_assert_uint_eq(ev.payload, 4);
    ck_assert_int_eq(sim_pes_pop_before(p, INFINITY, ri, &ev), 0);
    ck_assert_int_eq(sim_pes_pop_before(p, INFINITY, UINT64_MAX, &ev), 0);
    /* Sequence numbers go on after the reservations. */
    ck_assert_int_eq(sim_pes_push(p, &a, NULL), 0);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
    ck_assert_uint_gt(ev.seq, ri);
    sim_pes_free(p);
}

START_TEST(test_reserved_seq_ties_list)
{
    reserved_seq_ties(0);
}
END_TEST

START_TEST(test_reserved_seq_ties_heap)
{
    reserved_seq_ties(40);
}
END_TEST

START_TEST(test_peek_equals_pop)
{
    enum { N = 2000 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, TEST_SEED);
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    struct sim_event ev, pk;
    ck_assert_int_eq(sim_pes_peek(p, &pk), 0);

    uint64_t h[N]; /* handle by payload */
    for (uint64_t i = 0; i < N; i++) {
        struct sim_event in = {floor(50.0 * gsl_rng_uniform(r)) * 0.731, 0,
                               (uint32_t)gsl_rng_get(r), (uint32_t)gsl_rng_get(r), i};
        ck_assert_int_eq(sim_pes_push(p, &in, &h[i]), 0);
    }
    /* Cancel a third, so that peek has tombstones to step over. */
    for (size_t i = 0; i < N; i += 3)
        ck_assert_int_eq(sim_pes_cancel(p, h[i]), 1);
    size_t left = sim_pes_size(p);
    ck_assert_uint_eq(left, N - (N + 2) / 3);
    size_t steps = 0;
    while (left > 0) {
        ck_assert_int_eq(sim_pes_peek(p, &pk), 1);
        ck_assert_int_eq(sim_pes_peek(p, &ev), 1); /* peek twice: no change */
        ck_assert_mem_eq(&pk, &ev, sizeof pk);
        ck_assert_uint_eq(sim_pes_size(p), left);
        if (++steps % 5 == 0) {
            /* Cancel the top itself: the next peek must skip it. */
            ck_assert_int_eq(sim_pes_cancel(p, h[pk.payload]), 1);
            left--;
            if (left > 0) {
                ck_assert_int_eq(sim_pes_peek(p, &ev), 1);
                ck_assert_uint_ne(ev.payload, pk.payload);
                ck_assert(ev.time > pk.time || (ev.time == pk.time && ev.seq > pk.seq));
            }
            continue;
        }
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        ck_assert_mem_eq(&pk, &ev, sizeof pk);
        left--;
    }
    ck_assert_uint_eq(sim_pes_size(p), 0);
    ck_assert_int_eq(sim_pes_peek(p, &pk), 0);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    sim_pes_free(p);
    gsl_rng_free(r);
}
END_TEST

/* -------------------------------------------------------------- handles */

START_TEST(test_stale_after_pop_cancel_clear)
{
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    struct sim_event a = {4.821, 0, 1, 2, 11}, b = {9.137, 0, 3, 4, 22}, ev;
    uint64_t ha, hb;
    ck_assert_int_eq(sim_pes_cancel(p, 0), 0);
    ck_assert_int_eq(sim_pes_push(p, &a, &ha), 0);
    ck_assert_int_eq(sim_pes_push(p, &b, &hb), 0);
    ck_assert_uint_ne(ha, 0);
    ck_assert_uint_ne(hb, 0);
    ck_assert_uint_ne(ha, hb);

    /* After pop. */
    ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
    ck_assert_uint_eq(ev.payload, 11);
    ck_assert_int_eq(sim_pes_cancel(p, ha), 0);
    ck_assert_uint_eq(sim_pes_size(p), 1);

    /* After cancel: the second cancel is a no-op, and so is the tombstone. */
    ck_assert_int_eq(sim_pes_cancel(p, hb), 1);
    ck_assert_int_eq(sim_pes_cancel(p, hb), 0);
    ck_assert_uint_eq(sim_pes_size(p), 0);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    ck_assert_int_eq(sim_pes_cancel(p, hb), 0);

    /* After clear: every handle, live or cancelled, goes stale. */
    enum { N = 100 };
    uint64_t h[N];
    for (uint64_t i = 0; i < N; i++) {
        struct sim_event in = {0.25 * (double)(i % 9) + 0.137, 0, 0, 0, i};
        ck_assert_int_eq(sim_pes_push(p, &in, &h[i]), 0);
    }
    for (size_t i = 0; i < N; i += 4)
        ck_assert_int_eq(sim_pes_cancel(p, h[i]), 1);
    sim_pes_clear(p);
    ck_assert_uint_eq(sim_pes_size(p), 0);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    ck_assert_int_eq(sim_pes_peek(p, &ev), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(sim_pes_cancel(p, h[i]), 0);

    /* The cleared slots are reused by new events, which old handles must not
     * reach. */
    uint64_t g[N];
    for (uint64_t i = 0; i < N; i++) {
        struct sim_event in = {1.0 / (double)(i + 3), 0, 0, 0, 1000 + i};
        ck_assert_int_eq(sim_pes_push(p, &in, &g[i]), 0);
        for (size_t j = 0; j < N; j++)
            ck_assert_uint_ne(g[i], h[j]);
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(sim_pes_cancel(p, h[i]), 0);
    ck_assert_uint_eq(sim_pes_size(p), N);
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(sim_pes_cancel(p, g[i]), 1);
    ck_assert_uint_eq(sim_pes_size(p), 0);
    sim_pes_free(p);
}
END_TEST

START_TEST(test_slot_reuse_keeps_old_handles_stale)
{
    /* A set of capacity 1 that never holds more than one event has a single
     * slot, so every push below reuses the slot of the one before. */
    enum { ROUNDS = 5000 };
    struct sim_pes *p = sim_pes_alloc(1);
    ck_assert_ptr_nonnull(p);
    uint64_t *old = malloc(ROUNDS * sizeof *old);
    ck_assert_ptr_nonnull(old);
    struct sim_event ev;
    for (uint64_t i = 0; i < ROUNDS; i++) {
        struct sim_event in = {3.14159 * (double)i, 0, 7, 9, i};
        uint64_t h;
        ck_assert_int_eq(sim_pes_push(p, &in, &h), 0);
        /* No earlier handle (all stale) may touch the new event. */
        for (uint64_t j = i >= 64 ? i - 64 : 0; j < i; j++)
            ck_assert_int_eq(sim_pes_cancel(p, old[j]), 0);
        ck_assert_uint_eq(sim_pes_size(p), 1);
        old[i] = h;
        /* Retire it by pop or by cancel, alternately. */
        if (i % 2 == 0) {
            ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
            ck_assert_uint_eq(ev.payload, i);
        } else {
            ck_assert_int_eq(sim_pes_cancel(p, h), 1);
            ck_assert_int_eq(sim_pes_pop(p, &ev), 0); /* discards the tombstone */
        }
        ck_assert_uint_eq(sim_pes_size(p), 0);
    }
    for (size_t j = 0; j < ROUNDS; j++)
        ck_assert_int_eq(sim_pes_cancel(p, old[j]), 0);
    free(old);
    sim_pes_free(p);
}
END_TEST

START_TEST(test_handles_from_another_set_or_made_up)
{
    struct sim_pes *p = sim_pes_alloc(0);
    struct sim_pes *q = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    struct sim_event in = {6.626, 0, 0, 0, 1};
    uint64_t h;
    ck_assert_int_eq(sim_pes_push(p, &in, &h), 0);
    /* q never issued a handle: nothing it holds can be cancelled. */
    ck_assert_int_eq(sim_pes_cancel(q, h), 0);
    ck_assert_int_eq(sim_pes_cancel(p, UINT64_MAX), 0);
    ck_assert_int_eq(sim_pes_cancel(p, h ^ (1ULL << 32)), 0);
    ck_assert_int_eq(sim_pes_cancel(p, h + 1), 0);
    ck_assert_uint_eq(sim_pes_size(p), 1);
    ck_assert_int_eq(sim_pes_cancel(p, h), 1);
    /* Near misses of a handle whose event is now a tombstone still in the
     * heap (this assumes the generation sits in the high 32 bits). */
    for (uint64_t d = 1; d <= 3; d++) {
        ck_assert_int_eq(sim_pes_cancel(p, h + (d << 32)), 0);
        ck_assert_int_eq(sim_pes_cancel(p, h - (d << 32)), 0);
    }
    ck_assert_uint_eq(sim_pes_size(p), 0);
    struct sim_event ev;
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    sim_pes_free(p);
    sim_pes_free(q);
}
END_TEST

/* ------------------------------------------------------- errors, memory */

START_TEST(test_nan_rejected)
{
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    struct sim_event good = {2.718, 0, 1, 1, 5};
    ck_assert_int_eq(sim_pes_push(p, &good, NULL), 0);
    struct sim_event bad = {NAN, 0, 1, 1, 6};
    uint64_t h = 0x5eed;
    ck_assert_int_eq(sim_pes_push(p, &bad, &h), LLMSIM_EINVAL);
    ck_assert_uint_eq(h, 0x5eed); /* left untouched on error */
    bad.time = -NAN;
    ck_assert_int_eq(sim_pes_push(p, &bad, NULL), LLMSIM_EINVAL);
    ck_assert_uint_eq(sim_pes_size(p), 1);
    struct sim_event ev;
    ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
    ck_assert_uint_eq(ev.payload, 5);
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    sim_pes_free(p);
}
END_TEST

START_TEST(test_growth_from_capacity_1)
{
    /* Large enough that the heap passes 2^15 entries, where pes.c switches
     * the way it searches children, so both searches run. */
    enum { N = 50000 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, TEST_SEED);
    struct sim_pes *p = sim_pes_alloc(1);
    ck_assert_ptr_nonnull(p);
    double *t = malloc(N * sizeof *t);
    uint64_t *h = malloc(N * sizeof *h);
    ck_assert(t && h);
    for (uint64_t i = 0; i < N; i++) {
        t[i] = 1e3 * gsl_rng_uniform(r) + 0.577;
        struct sim_event in = {t[i], 0, (uint32_t)i, (uint32_t)(N - i), i};
        ck_assert_int_eq(sim_pes_push(p, &in, &h[i]), 0);
        ck_assert_uint_eq(sim_pes_size(p), i + 1);
    }
    /* Handles issued before a growth still work after it. */
    for (size_t i = 1; i < N; i += 2)
        ck_assert_int_eq(sim_pes_cancel(p, h[i]), 1);
    ck_assert_uint_eq(sim_pes_size(p), N / 2);
    struct sim_event ev;
    double last = -INFINITY;
    for (size_t k = 0; k < N / 2; k++) {
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        ck_assert_uint_eq(ev.payload % 2, 0);
        ck_assert(ev.time >= last);
        ck_assert(ev.time == t[ev.payload]);
        ck_assert_uint_eq(ev.kind, ev.payload);
        ck_assert_uint_eq(ev.target, N - ev.payload);
        last = ev.time;
    }
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    free(t);
    free(h);
    sim_pes_free(p);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_mass_cancel_then_drain)
{
    /* Cancelling most of a large set (far-future timeouts that never fire)
     * must leave the order of the survivors intact and the set reusable. */
    enum { N = 10000 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, TEST_SEED);
    struct sim_pes *p = sim_pes_alloc(16);
    ck_assert_ptr_nonnull(p);
    uint64_t *h = malloc(N * sizeof *h);
    unsigned char *keep = malloc(N);
    ck_assert(h && keep);
    for (uint64_t i = 0; i < N; i++) {
        struct sim_event in = {floor(200.0 * gsl_rng_uniform(r)) * 0.093, 0, 0, 0, i};
        ck_assert_int_eq(sim_pes_push(p, &in, &h[i]), 0);
        keep[i] = gsl_rng_uniform(r) < 0.1;
    }
    size_t kept = 0;
    for (size_t i = 0; i < N; i++) {
        if (keep[i])
            kept++;
        else
            ck_assert_int_eq(sim_pes_cancel(p, h[i]), 1);
        ck_assert_uint_eq(sim_pes_size(p), kept + (N - 1 - i));
    }
    struct sim_event ev;
    double last_t = -INFINITY;
    uint64_t last_id = 0;
    for (size_t k = 0; k < kept; k++) {
        ck_assert_int_eq(sim_pes_pop(p, &ev), 1);
        ck_assert(keep[ev.payload]);
        ck_assert(ev.time > last_t || (ev.time == last_t && ev.payload > last_id));
        last_t = ev.time;
        last_id = ev.payload;
        ck_assert_int_eq(sim_pes_cancel(p, h[ev.payload]), 0);
    }
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    free(h);
    free(keep);
    sim_pes_free(p);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_alloc_and_free_edges)
{
    sim_pes_free(NULL);
    /* A hint that no set could ever hold is refused without allocating. */
    ck_assert_ptr_null(sim_pes_alloc(SIZE_MAX));
    struct sim_pes *p = sim_pes_alloc(0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(sim_pes_size(p), 0);
    struct sim_event ev;
    ck_assert_int_eq(sim_pes_pop(p, &ev), 0);
    ck_assert_int_eq(sim_pes_peek(p, &ev), 0);
    sim_pes_clear(p); /* clearing an empty set is fine */
    ck_assert_uint_eq(sim_pes_size(p), 0);
    sim_pes_free(p);
}
END_TEST

static Suite *pes_suite(void)
{
    Suite *s = suite_create("pes");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_random_ops_match_model);
    tcase_add_test(tc, test_random_ops_list_heap_bounds);
    tcase_add_test(tc, test_fifo_on_equal_times);
    tcase_add_test(tc, test_signed_zero_and_infinities);
    tcase_add_test(tc, test_reserved_seq_ties_list);
    tcase_add_test(tc, test_reserved_seq_ties_heap);
    tcase_add_test(tc, test_peek_equals_pop);
    tcase_add_test(tc, test_stale_after_pop_cancel_clear);
    tcase_add_test(tc, test_slot_reuse_keeps_old_handles_stale);
    tcase_add_test(tc, test_handles_from_another_set_or_made_up);
    tcase_add_test(tc, test_nan_rejected);
    tcase_add_test(tc, test_growth_from_capacity_1);
    tcase_add_test(tc, test_mass_cancel_then_drain);
    tcase_add_test(tc, test_alloc_and_free_edges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}
