/* llmsim: a simulated world and the stepping API to run it.
 *
 * A world is one replication of one scenario: its sources, router,
 * deployments, replicas and queues, a virtual clock and a pending-event set.
 * It is built from a struct sim_scenario, which must outlive the world (the
 * world keeps a pointer to it), and a replication index, which together with
 * the scenario seed determine every random stream (see llmsim/rng.h).  No globals: any number of worlds can run side by side,
 * in one thread or many.
 *
 * Stepping, in the GSL initialise / iterate / test style:
 *
 *     struct sim_world *w;
 *     if (sim_world_alloc(&w, sc, rep, &sink, &err) != 0) ...
 *     while ((rc = sim_step(w)) == 1) ;        // or sim_run_until(w, t)
 *     sim_world_stats(w, &st);
 *     sim_world_free(w);
 *
 * Arrivals stop at the horizon (duration or request count); requests in
 * flight then drain, so a run ends with every arrival finished.  Finished
 * requests go to the sink in completion order. */
#ifndef LLMSIM_WORLD_H
#define LLMSIM_WORLD_H

#include <stdint.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/record.h"

struct sim_world;

/* Time-series rows one replication may emit: a safety net under the
 * loader's resource budget (a scenario past the budget runs only with
 * --force).  Past it the world stops sampling and sets ts_capped in its
 * statistics; the run itself goes on. */
#define SIM_MAX_TS_ROWS 100000000ull

/* Per-deployment totals at the end (or so far) of a run. */
struct sim_deployment_stats {
    uint64_t completed;       /* requests finished */
    uint64_t calls;           /* answers given (a cascade's escalated answers count too) */
    uint64_t escalated;       /* answers judged failed and passed up a cascade */
    double busy_s;            /* replica-seconds spent serving */
    double provisioned_s;     /* replica-seconds provisioned: the integral over [0, makespan] of the
                                 replicas billed (replicas x makespan without autoscale) */
    double gpu_cost_usd;      /* provisioned GPU cost: provisioned_s x tp x $/GPU-h / 3600, the spot
                                 replicas' seconds at the discounted price */
    uint64_t scale_ups;       /* replicas the autoscaler provisioned */
    uint64_t scale_ins;       /* replicas it drained */
    double spot_provisioned_s;/* of provisioned_s, the spot replicas' (billed at the discount) */
    uint64_t interruptions;   /* spot replicas interrupted */
    uint64_t requeued;        /* requests held by them when interrupted, routed again (a request
                                 interrupted twice counts twice) */
    double gpu_busy_cost_usd; /* the part of it attributed to requests */
    uint64_t iterations;      /* batch iterations run (batching schedulers) */
    uint64_t preemptions;     /* requests preempted for KV memory */
    uint64_t rejected;        /* requests that could never fit one replica's KV memory */
    uint64_t output_tokens;   /* output tokens of finished requests */
    double flops;             /* FLOPs of all iterations (roofline), over all GPUs */
    double bytes;             /* bytes moved by all iterations (roofline), over all GPUs */
    double mfu;               /* flops / (busy GPU-seconds x peak), NaN without a roofline */
    double mbu;               /* bytes / (busy GPU-seconds x bandwidth), NaN without a roofline */
    double kv_capacity_tokens;/* KV budget of one replica, tokens (inf = unbounded) */
    /* energy (self-hosted deployments with a GPU, when the scenario has an
     * `energy` section; NaN otherwise): see sim_energy_cfg */
    double energy_kwh;        /* facility energy: pue x GPU energy over the provisioned time, kWh */
    double energy_usd;        /* its electricity cost, USD */
    double co2_g;             /* its emissions at the grid intensity, g CO2-eq */
    /* provider prompt cache (api deployments with prompt_cache enabled) */
    double cache_storage_usd;      /* storage fee of entries for the time they lived (gemini) */
    double cache_unread_write_usd; /* write cost of entries that left (or remain) without a read */
    uint64_t cache_unread_writes;  /* such entries */
    double cache_tokens;           /* tokens resident at the end, over all shards */
};

struct sim_world_stats {
    double now_s;              /* virtual clock */
    double makespan_s;         /* time of the last completion (end of run) */
    uint64_t arrivals;         /* requests generated */
    uint64_t completed;        /* requests finished (sent to the sink) */
    uint64_t in_flight;        /* arrived, not finished */
    uint64_t events;           /* events processed */
    uint64_t ts_rows;          /* time-series rows emitted */
    int ts_capped;             /* sampling stopped at SIM_MAX_TS_ROWS rows */
    double area_in_system;     /* integral over time of the number of requests in the system */
    double sum_sojourn_s;      /* sum over finished requests of e2e_s */
    size_t n_deployments;
    struct sim_deployment_stats *deployments; /* owned by the world; valid until free */
    size_t n_classes;
    /* [class * n_deployments + d]: GPU cost of the answers of each class at
     * each deployment, warm-up included (a cascade's lower tiers count where
     * they ran); owned by the world, valid until free */
    const double *class_gpu_usd;
};

/* Builds a world for replication `replication` of sc.  The scenario must
 * outlive the world.  The sink (copied) may have NULL callbacks.  Returns 0,
 * LLMSIM_ENOMEM or LLMSIM_EINVAL (with err filled) for a scenario the engine
 * cannot run. */
int sim_world_alloc(struct sim_world **out, const struct sim_scenario *sc, uint32_t replication,
                    const struct sim_sink *sink, struct llmsim_error *err);

/* Processes the next event.  Returns 1 when an event was processed, 0 when
 * the run is over (nothing pending), or a negative code: a sink failed
 * (its code), or a pool or queue could not grow (LLMSIM_ENOMEM,
 * LLMSIM_ELIMIT).  After a failure the world stays stopped and returns the
 * same code on every later call. */
int sim_step(struct sim_world *w);

/* Processes every event with time <= t_s, then sets the clock to t_s (when
 * no event is left earlier).  Returns 1 when events remain after t_s, 0 when
 * the run is over, or a negative code. */
int sim_run_until(struct sim_world *w, double t_s);

/* Runs to the end.  Returns 0 or a negative code. */
int sim_run(struct sim_world *w);

double sim_world_now(const struct sim_world *w);
void sim_world_stats(const struct sim_world *w, struct sim_world_stats *out);
void sim_world_free(struct sim_world *w);

#endif
