/* llmsim: tail attribution (`llmsim run --tail`, the /tail table).
 *
 * For the slowest requests, those above the 95th percentile of E2E and,
 * separately, of TTFT, where their time went against the median request,
 * and which features they share more often than the run as a whole.
 * docs/tail.md explains how to read it, with an example.
 *
 * Requests.  The sink keeps every measured request: finished, not flagged
 * SIM_RF_WARMUP, SIM_RF_REJECTED or SIM_RF_PREFETCH_WASTED (the requests of
 * the /summary latency rows), of every replication, pooled.  It keeps a
 * compact 48-byte struct per request, not the record.  Past the cap
 * (ANA_TAIL_CAP, ana_tail_set_cap) it keeps a uniform sample of that many
 * instead (reservoir sampling, Vitter's algorithm R, with a SplitMix64
 * generator seeded from the scenario seed; records come in a deterministic
 * order, replication by replication, so the sample is the same on every run
 * and for any --jobs); every figure is then the sample's, and the output
 * says so.
 *
 * The tail and the median band, per metric (e2e_s, ttft_s) over the kept
 * requests: p95, p45 and p55 are type-7 percentiles (ana_quantile7, as in
 * /summary); the tail is the requests STRICTLY above p95 (5% of them when
 * the values are distinct: 50 of 1000), the median band the requests with
 * p45 <= value <= p55 (about 10%).
 *
 * Time components of one request (ana_tail_components); they add up to the
 * metric (ttft_s or e2e_s of the record) for every request:
 *   rate_limit_wait    queue_s when the request is flagged SIM_RF_RATE_LIMITED
 *                      (429s and retries) or SIM_RF_CLIENT_QUEUED (client-side
 *                      rate-limit queue), else 0
 *   queue              queue_s otherwise: waiting for the scheduler (or for the
 *                      API to start it) before service started
 *   escalation         cascades (tiers > 1): dispatch_s - prefill_start_s, the
 *                      time from service start at the first tier to dispatch
 *                      to the tier that answered (the lower tiers' answers and
 *                      their judging), clamped to [0, ttft_s - queue_s]; 0 for
 *                      one tier.  For a cascade, prefill_start_s and queue_s
 *                      are those of the FIRST tier (record.h, world.c); a wait
 *                      at a later tier (its queue or rate limit) counts in
 *                      prefill below
 *   prefill            ttft_s - queue_s - escalation: service start (at the
 *                      answering tier, dispatch for a cascade) to the first
 *                      token; for API deployments the provider's time to first
 *                      token; for the Batch API the whole batch delay (its
 *                      first token is its last)
 *   decode             e2e_s - ttft_s (E2E only)
 *   preempted_service  requests preempted at least once (preemptions > 0 or
 *                      SIM_RF_PREEMPTED): their prefill and decode go here
 *                      instead, because the record cannot separate the
 *                      recompute from the rest of the service
 * For TTFT the components are the same without decode.
 *
 * Rows.  For each metric (E2E, then TTFT): one component row per component
 * (decode for E2E only) and a "total" row (the metric itself), with the mean
 * seconds over the tail and over the median band, their difference and its
 * share of the total difference; then one feature row per category present
 * among the kept requests, sorted by lift (highest first):
 *   class:NAME, deployment:NAME, replica:DEPLOYMENT/J (deployments where more
 *   than replica 0 served), prompt:LO-HI (input_tokens in [LO, HI), powers of
 *   two: prompt:2k-4k is 2048-4095 tokens; prompt:0), output:LO-HI (the same
 *   for output_tokens), turn:none (not in a session), turn:1, turn:2,
 *   turn:3-4, turn:5+, cache:hit (cached_tokens > 0) and cache:miss,
 *   preempted:yes/no, escalated:yes/no (tiers > 1 or SIM_RF_ESCALATED),
 *   rate_limited:yes/no (SIM_RF_RATE_LIMITED), client_queued:yes/no,
 *   spilled:yes/no, batch:yes/no (SIM_RF_BATCH).
 * A dimension shows only where it has two or more categories present.  Its
 * tail_share = tail requests with the feature / tail requests, all_share =
 * kept requests with it / kept requests, lift = tail_share / all_share (1:
 * as common in the tail as overall; 3: three times as common).  The printed
 * table shows up to ten features with lift > 1 and at least
 * ANA_TAIL_MIN_SUPPORT tail requests, and leaves out the components that are
 * 0 in both groups; the file has every row.
 *
 * Threads: one thread at a time per handle.  Ownership: the caller owns the
 * handle; ana_tail_free(NULL) is a no-op. */
#ifndef LLMSIM_TAIL_H
#define LLMSIM_TAIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/record.h"
#include "llmsim/results.h"

#define ANA_TAIL_CAP 1000000ULL /* kept requests before sampling */
#define ANA_TAIL_MIN_SUPPORT 5  /* tail requests a printed feature needs */
#define ANA_TAIL_P 0.95         /* tail: above this percentile */
#define ANA_TAIL_BAND_LO 0.45   /* median band: between these percentiles */
#define ANA_TAIL_BAND_HI 0.55

enum ana_tail_metric { ANA_TAIL_E2E = 0, ANA_TAIL_TTFT, ANA_TAIL_N_METRICS };

enum ana_tail_comp {
    ANA_TAIL_RATE_LIMIT = 0,
    ANA_TAIL_QUEUE,
    ANA_TAIL_ESCALATION,
    ANA_TAIL_PREFILL,
    ANA_TAIL_DECODE,
    ANA_TAIL_PREEMPTED,
    ANA_TAIL_N_COMPS
};

/* "e2e_s", "ttft_s"; NULL out of range. */
const char *ana_tail_metric_name(int metric);
/* "rate_limit_wait", "queue", "escalation", "prefill", "decode",
 * "preempted_service"; NULL out of range. */
const char *ana_tail_comp_name(int comp);

/* The components of record r for metric (enum ana_tail_metric) into
 * out[ANA_TAIL_N_COMPS] (those that do not apply are 0); returns the
 * metric's value (r->ttft_s or r->e2e_s), which they add up to (up to
 * rounding), or NaN for a bad metric. */
double ana_tail_components(const struct sim_request_record *r, int metric,
                           double out[ANA_TAIL_N_COMPS]);

struct ana_tail;

/* Names of classes and deployments are copied (sc need not outlive t), the
 * seed is sc->seed.  Returns 0, LLMSIM_EINVAL (NULL argument, more than
 * 65535 classes or deployments) or LLMSIM_ENOMEM. */
int ana_tail_alloc(struct ana_tail **out, const struct sim_scenario *sc);
void ana_tail_free(struct ana_tail *t);

/* Sets the number of requests kept before sampling (before the first
 * record).  Returns 0, LLMSIM_EINVAL (cap 0) or LLMSIM_ESTATE (records
 * already came). */
int ana_tail_set_cap(struct ana_tail *t, uint64_t cap);

/* The sink: its request callback keeps the measured requests (others are
 * skipped) and returns 0, LLMSIM_EINVAL (class, deployment or replica index
 * out of range), LLMSIM_ERANGE (ttft_s, e2e_s or queue_s NaN or infinite)
 * or LLMSIM_ENOMEM; on failure nothing is kept.  Timeseries and iteration
 * callbacks are NULL. */
struct sim_sink ana_tail_sink(struct ana_tail *t);

/* Measured requests seen, and kept (fewer once sampling). */
uint64_t ana_tail_measured(const struct ana_tail *t);
uint64_t ana_tail_kept(const struct ana_tail *t);

/* Computes the rows (again after more records, if called again).  Returns
 * 0 (also with no measured request: then every count is 0 and every mean
 * NaN), LLMSIM_EINVAL or LLMSIM_ENOMEM. */
int ana_tail_compute(struct ana_tail *t);

/* Per metric, after ana_tail_compute. */
struct ana_tail_summary {
    uint64_t n;                      /* kept requests */
    uint64_t tail_n, median_n;       /* in the tail, in the median band */
    double threshold_s;              /* p95 (the tail is above it) */
    double median_lo_s, median_hi_s; /* p45, p55 */
};
struct ana_tail_row {
    int metric;            /* enum ana_tail_metric */
    int feature;           /* 0: a component or "total", 1: a feature */
    char name[160];        /* "queue", "total", "class:analysis", "prompt:2k-4k" */
    double tail_mean_s;    /* components: mean over the tail (NaN for features) */
    double median_mean_s;  /* mean over the median band */
    double delta_s;        /* tail_mean_s - median_mean_s */
    double delta_share;    /* delta_s / the total row's delta_s */
    double tail_share;     /* features: share of the tail with it (NaN for components) */
    double all_share;      /* share of the kept requests with it */
    double lift;           /* tail_share / all_share */
    uint64_t tail_count;   /* components: tail requests; features: those with it */
    uint64_t median_count; /* the same for the median band */
    uint64_t all_count;    /* components: kept requests; features: those with it */
};
/* Returns 0, or LLMSIM_ESTATE before ana_tail_compute / LLMSIM_EINVAL. */
int ana_tail_get_summary(const struct ana_tail *t, int metric, struct ana_tail_summary *out);
/* All rows, E2E's then TTFT's (NULL and 0 before ana_tail_compute). */
size_t ana_tail_rows(const struct ana_tail *t, const struct ana_tail_row **rows);
/* The row of metric named name; NULL when absent. */
const struct ana_tail_row *ana_tail_find(const struct ana_tail *t, int metric, const char *name);

/* The human table (<= 100 columns), after ana_tail_compute. */
void ana_tail_print(const struct ana_tail *t, FILE *f);

/* Writes the rows as table "tail" at h's current location (the root, or an
 * open point group) with ana_h5_write_table: one row per ana_tail_row,
 * columns metric, kind ("component" or "feature"), name, tail_mean_s,
 * median_mean_s, delta_s, delta_share, tail_share, all_share, lift (NaN
 * where they do not apply), tail_count, median_count, all_count, and the
 * metric's threshold_s, median_lo_s, median_hi_s, with measured (requests
 * seen) and sampled (1 when the kept requests are a sample) on every row.
 * Returns 0, LLMSIM_ESTATE (not computed) or the writer's code (err). */
int ana_tail_write(const struct ana_tail *t, struct ana_h5 *h, struct llmsim_error *err);

#endif
