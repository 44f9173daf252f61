/* llmsim: running a loaded scenario's replications into the statistics
 * (and an optional extra sink such as the results file).
 *
 * Replications run in waves of `jobs` threads, each with its own world; a
 * parallel wave spools its records to temporary files that are replayed in
 * replication order, so the statistics and every record stream are the
 * same whatever `jobs` is.  Replication r uses the seed stream r of the
 * scenario's seed (the world derives it), so two scenarios run with the
 * same seed share their random numbers (common random numbers) wherever
 * their draws line up.
 *
 * Interruption: when *stop becomes nonzero (a signal handler), the running
 * replications stop within about a thousand events (milliseconds of work,
 * whatever the virtual time scale); the statistics keep the records
 * delivered so far but no run-level figures for the interrupted
 * replications, and ana_run_scenario returns 1. */
#ifndef LLMSIM_RUNNER_H
#define LLMSIM_RUNNER_H

#include <signal.h>
#include <stdint.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/record.h"
#include "llmsim/results.h"

/* The horizon bound that stopped a replication's arrivals. */
enum { ANA_STOP_DURATION, ANA_STOP_REQUESTS, ANA_STOP_TRACE, ANA_N_STOPS };

/* What the records said on their way to the statistics. */
struct ana_run_counts {
    uint64_t warm;                    /* warm-up requests */
    uint64_t measured;                /* measured requests (not warm-up, not wasted prefetches) */
    uint64_t limited, limited_one;    /* measured requests that got a 429; of them answered by one tier */
    double limited_queue_s;           /* the latter's summed queue_s */
    uint64_t queued, queued_one;      /* ... that waited in the client-side queue */
    double queued_s;
    int stops[ANA_N_STOPS];           /* replications whose arrivals each bound stopped */
    int replications_done;            /* replications run to their end */
    int ts_capped;                    /* replications whose time series stopped at SIM_MAX_TS_ROWS */
};

struct ana_run_opts {
    int jobs;                     /* replications run at once, >= 1 */
    const struct sim_sink *sink;  /* NULL, or a sink that sees every record after the statistics */
    volatile sig_atomic_t *stop;  /* NULL, or an interruption flag */
    /* NULL, or called by the calling thread as the run advances: done in
     * [0, 1] is the share of the scenario's work finished (replications
     * done, plus the running one's share of its horizon when they run one
     * at a time). */
    void (*progress)(void *ctx, double done);
    void *progress_ctx;
};

/* Runs every replication of sc.  stats must be fresh (ana_stats_alloc of
 * sc).  Returns 0, 1 when interrupted, or a negative code with err set (a
 * world could not be built, a sink failed, out of memory, a temporary file
 * failed). */
int ana_run_scenario(const struct sim_scenario *sc, const struct ana_run_opts *o, struct ana_stats *stats,
                     struct ana_run_counts *counts, struct llmsim_error *err);

/* Which bound stops arrivals of a replication that let in `generated`
 * requests (ANA_STOP_*). */
int ana_stop_of(const struct sim_scenario *sc, uint64_t generated);

#endif
