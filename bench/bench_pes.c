/* Hold-model benchmark of the pending-event set (sim/src/pes.c).
 *
 * The hold model (Jones 1986, "An empirical comparison of priority-queue and
 * event-set implementations", CACM 29(4)) measures a priority queue the way a
 * discrete-event simulation uses it: the set is filled with N events whose
 * times are drawn from an exponential distribution, and then each "hold"
 * pops the earliest event and pushes a new one at the popped time plus an
 * exponential(1) increment, so the size stays N.  We report the cost of one
 * hold (one pop plus one push) for several N.
 *
 * Method: the increments are drawn in advance (mt19937, fixed seed) into a
 * table that the timed loop reads in order, so the time of the random number
 * generator is not counted.  Before timing, the set is warmed up with N holds
 * (at least 10^5), so that the distribution of pending times reaches the
 * steady state of the model and the arrays have their final size.  Each N is
 * timed REPS times and the median and minimum ns/hold are printed.  Time is
 * the CPU time of the process (CLOCK_PROCESS_CPUTIME_ID), not wall-clock
 * time: the benchmark is single-threaded, so on an idle machine the two
 * agree, and on a shared CI machine CPU time leaves out the periods when the
 * process was descheduled.  The loop checks that popped times never
 * decrease, which both validates the set and keeps the compiler from
 * discarding the work.
 *
 * Usage: bench_pes [--smoke].  --smoke runs a tiny version (well under a
 * second) that only checks the benchmark still works.  Output is a markdown
 * table on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "bench_util.h"
#include "llmsim/pes.h"

#define BENCH_SEED 12345

/* Increments table size (a power of two, 512 KiB of doubles): large enough
 * that the cycle does not correlate with the heap, small enough to stream. */
#define INC_COUNT (1u << 16)

/* Timed repetitions per N. */
#define REPS 3

/* One row of the benchmark. */
struct bench_case {
    size_t n;     /* pending events */
    size_t holds; /* timed holds per repetition */
};

/* N = 10 is the size a simulation mostly runs at (a few events per replica
 * and source); 10^3 .. 10^6 are the classic hold-model sizes.  The hold
 * counts keep the whole run near 10 s on a 2-core machine. */
static const struct bench_case full_cases[] = {
    {10, 10000000},    {1000, 5000000},    {10000, 5000000},
    {100000, 3000000}, {1000000, 2000000},
};

static const struct bench_case smoke_cases[] = {
    {10, 20000},
    {1000, 20000},
};

/* CPU time of this process, seconds. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Performs `holds` holds on p, starting at increment index *k.  Returns 0, or
 * -1 when the set misbehaves (empty, or a popped time decreasing). */
static int hold(struct sim_pes *p, const double *inc, size_t *k, size_t holds)
{
    struct sim_event ev;
    double last = -1.0; /* time of the previous pop, seconds */
    size_t j = *k;      /* next increment */
    for (size_t i = 0; i < holds; i++) {
        if (!sim_pes_pop(p, &ev) || ev.time < last)
            return -1;
        last = ev.time;
        ev.time += inc[j++ & (INC_COUNT - 1)];
        if (sim_pes_push(p, &ev, NULL) != 0)
            return -1;
    }
    *k = j;
    return 0;
}

/* Runs one row; fills the median and minimum ns/hold.  Returns 0 or -1. */
static int run_case(const struct bench_case *c, const double *inc, int reps, double *median,
                    double *best)
{
    struct sim_pes *p = sim_pes_alloc(c->n);
    if (p == NULL)
        return -1;
    size_t k = 0; /* next increment */
    for (size_t i = 0; i < c->n; i++) {
        struct sim_event ev = {inc[k++ & (INC_COUNT - 1)], 0, 1, 2, i};
        if (sim_pes_push(p, &ev, NULL) != 0)
            goto fail;
    }
    size_t warm = c->n > 100000 ? c->n : 100000;
    if (hold(p, inc, &k, warm) != 0)
        goto fail;

    double t[REPS]; /* ns/hold of each repetition */
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_s();
        if (hold(p, inc, &k, c->holds) != 0)
            goto fail;
        t[r] = (cpu_s() - t0) * 1e9 / (double)c->holds;
    }
    if (sim_pes_size(p) != c->n)
        goto fail;
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp_double);
    *median = t[reps / 2];
    *best = t[0];
    sim_pes_free(p);
    return 0;

fail:
    sim_pes_free(p);
    return -1;
}

int main(int argc, char **argv)
{
    int smoke = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
        } else {
            fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
            return 2;
        }
    }
    const struct bench_case *cases = smoke ? smoke_cases : full_cases;
    size_t ncases = smoke ? sizeof smoke_cases / sizeof smoke_cases[0]
                          : sizeof full_cases / sizeof full_cases[0];
    int reps = smoke ? 1 : REPS;

    double *inc = malloc(INC_COUNT * sizeof *inc);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (inc == NULL || rng == NULL) {
        fprintf(stderr, "bench_pes: out of memory\n");
        free(inc);
        gsl_rng_free(rng);
        return 1;
    }
    gsl_rng_set(rng, BENCH_SEED);
    for (size_t i = 0; i < INC_COUNT; i++)
        inc[i] = gsl_ran_exponential(rng, 1.0);
    gsl_rng_free(rng);

    printf("| N (pending events) | holds timed | CPU ns/hold (median of %d) "
           "| CPU ns/hold (min) |\n",
           reps);
    printf("|---:|---:|---:|---:|\n");
    int rc = 0;
    for (size_t i = 0; i < ncases; i++) {
        double median, best;
        if (run_case(&cases[i], inc, reps, &median, &best) != 0) {
            fprintf(stderr, "bench_pes: N = %zu failed\n", cases[i].n);
            rc = 1;
            break;
        }
        printf("| %zu | %zu | %.1f | %.1f |\n", cases[i].n, cases[i].holds, median, best);
        fflush(stdout);
    }
    free(inc);
    return rc;
}
