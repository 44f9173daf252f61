/* llmsim: the inside of a simulated world, shared by the files that
 * implement llmsim/world.h.  Private to sim/src.
 *
 * Files and their parts:
 *   world.c         allocation, the event loop (sim_step / sim_run_until),
 *                   statistics, timeseries sampling, records and the sink;
 *   world_source.c  the workload: lazy arrivals, class, difficulty and
 *                   lengths of each request, routing across deployments;
 *   world_arrivals.c time-varying Poisson arrivals (diurnal, mmpp, spikes)
 *                   and the clients of a closed workload;
 *   world_serve.c   deployments: api endpoints and self-hosted replicas with
 *                   their FIFO queues and replica routing;
 *   world_batch.c   the batching schedulers (static, dynamic, continuous with
 *                   optional chunked prefill), KV memory and preemption;
 *   world_scale.c   replica lifecycle (provisioning, ready, draining,
 *                   released), the routable set, billing as provisioned,
 *                   and the autoscaler;
 *   world_disagg.c  prefill/decode disaggregation: the hand-off from a
 *                   prefill replica to a decode replica and the KV transfer.
 * Functions shared between them carry the internal prefix simi_.
 *
 * Everything that outlives one event is referred to by index, never by
 * pointer into a growing array: requests by their slot in the request pool,
 * replicas by (deployment, replica).  The pool and the FIFO rings grow
 * geometrically, so nothing is allocated per event in steady state.
 *
 * Events (struct sim_event):
 *   SIMI_EV_ARRIVAL     target -, payload = trace row (trace workloads) or client (closed)
 *   SIMI_EV_API_DONE    target = deployment, payload = request slot
 *   SIMI_EV_REPLICA_DONE target = deployment, payload = request slot
 *   SIMI_EV_SAMPLE      target -, payload = sample number k (t = k x interval)
 *   SIMI_EV_ITER_END    target = deployment, payload = replica: a batch iteration ends
 *   SIMI_EV_TURN        target -, payload = session slot: the session's next turn arrives
 *   SIMI_EV_PREFETCH    target -, payload = session slot | hit << 32: a prefetched guess goes out
 *   SIMI_EV_BATCH_TIMER target = deployment, payload = replica: dynamic batching's wait ran out
 *   SIMI_EV_AUTOSCALE   target = deployment, payload = evaluation number k (t = k x interval)
 *   SIMI_EV_REPLICA_READY target = deployment, payload = replica: provisioning and loading done
 *   SIMI_EV_SPOT        target = deployment, payload = replica | what << 32: a spot replica is
 *                       interrupted (what 0) or its replacement starts provisioning (what 1)
 *   SIMI_EV_KV_DONE     target = deployment, payload = request slot: its KV cache reached its
 *                       decode replica
 *
 * A disaggregated deployment d (cfg->disagg) is its decode pool; its
 * prefill pool is one more struct simi_deploy after the scenario's
 * deployments (w->deploy[d->prefill_pool], index >= w->n_deploy), whose
 * requests keep r->deployment = d. */
#ifndef LLMSIM_WORLD_INTERNAL_H
#define LLMSIM_WORLD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "llmsim/cache.h"
#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/pes.h"
#include "llmsim/record.h"
#include "llmsim/world.h"

/* "No request" in an index field. */
#define SIMI_NONE UINT32_MAX

/* world.arrival_seq when no arrival is held: every event of the set sorts
 * before (INFINITY, SIMI_NO_SEQ). */
#define SIMI_NO_SEQ UINT64_MAX

/* Identity of a trace's block chain before its first block: block j's key
 * is sim_cache_key(key of block j - 1, hash_ids[j]).  Shared by the
 * provider caches, the prefix cache and prefix-affinity routing, so the
 * three agree on what a prefix is. */
#define SIMI_BLOCK_KEY0 0x6d6f6f6eULL

/* Cache points kept per request (stable segment boundaries). */
#define SIMI_MAX_PTS 8

/* Longest random stream name ("deployment/<name>/replica" and the like). */
#define SIMI_STREAM_MAX (SIM_NAME_MAX + 32)

enum simi_event_kind {
    SIMI_EV_ARRIVAL = 1,
    SIMI_EV_API_DONE,
    SIMI_EV_REPLICA_DONE,
    SIMI_EV_SAMPLE,
    SIMI_EV_ITER_END,   /* target = deployment, payload = replica */
    SIMI_EV_TURN,       /* target -, payload = session slot: its next turn arrives */
    SIMI_EV_RETRY,      /* target = deployment, payload = request slot: retry after a 429 */
    SIMI_EV_BATCH_TIMER, /* target = deployment, payload = replica (dynamic batching) */
    SIMI_EV_RL_WAKE,     /* target = deployment, payload = 0 (its rate limits) or quota + 1: a client-side
                            rate-limit queue may send */
    SIMI_EV_PREFETCH,    /* target -, payload = session slot | hit << 32: a guess of the next turn goes out */
    SIMI_EV_AUTOSCALE,   /* target = deployment, payload = evaluation number */
    SIMI_EV_REPLICA_READY, /* target = deployment, payload = replica */
    SIMI_EV_SPOT,          /* target = deployment, payload = replica | what << 32 */
    SIMI_EV_KV_DONE        /* target = deployment, payload = request slot: KV cache transferred */
};

/* Life of a replica slot (world_scale.c).  Without autoscale every slot is
 * ready from time 0 to the end. */
enum simi_replica_state {
    SIMI_RS_OFF = 0,      /* not provisioned (never, or released): not billed */
    SIMI_RS_STARTING,     /* provisioning and loading weights: billed, gets no requests */
    SIMI_RS_READY,        /* billed, routable */
    SIMI_RS_DRAINING      /* billed, finishing what it holds, gets no new requests */
};

/* One request on its way through the world.  Times are absolute. */
struct simi_req {
    uint64_t id; /* arrival order, from 0 */
    double arrival_s;
    double dispatch_s; /* routed to a deployment or replica queue */
    double start_s;    /* service (prefill) started */
    double first_token_s;
    double done_s;
    uint32_t input_tokens;
    uint32_t output_tokens;
    int32_t class_idx;
    int32_t difficulty; /* enum sim_difficulty */
    int32_t deployment;
    int32_t replica;    /* 0 for api deployments */
    uint32_t next_free; /* free-list link while the slot is unused */
    double gpu_cost_usd;  /* GPU time attributed to this request, USD */
    uint32_t preemptions; /* times preempted for KV memory */
    uint32_t flags;       /* SIM_RF_* bits set on the way */
    /* batching schedulers (world_batch.c) */
    uint8_t phase;        /* enum simi_phase */
    uint32_t prompt_need; /* tokens to prefill: input, + generated after a preemption */
    uint32_t prompt_done; /* of those, prefilled so far */
    uint32_t generated;   /* output tokens produced (decoding: as of dec_t0) */
    uint32_t chunk;       /* prompt tokens scheduled in the current iteration */
    uint64_t dec_t0;      /* replica iteration count when decoding started */
    uint32_t dec_ctx0;    /* context tokens (KV slots) at dec_t0 */
    double dec_cost0;     /* replica's cumulative decode cost per request at dec_t0 */
    uint32_t prev, next;  /* running list of the replica, oldest first */
    uint32_t gen;         /* generation: finishing-heap entries with another value are stale */
    /* prompt caching: the prompt's stable prefix as cache points */
    uint32_t trace_row;   /* trace row (block hashes), SIMI_NONE for generated requests */
    uint32_t n_pts;       /* cache points (boundaries of stable segments, in order) */
    uint64_t pt_key[SIMI_MAX_PTS];    /* identity of the prefix up to the point; these three are
                                         read only below n_pts (simi_pool_get leaves them stale) */
    uint32_t pt_tokens[SIMI_MAX_PTS]; /* prompt tokens up to the point */
    float pt_ttl_s[SIMI_MAX_PTS];     /* breakpoint TTL (300 or 3600), 0 = not a breakpoint */
    uint32_t session;                 /* session slot, SIMI_NONE when not in a session */
    uint64_t session_id;              /* its session number (the slot may be reused first) */
    uint32_t turn;                    /* turn within the session, from 1 */
    uint32_t cached_tokens;           /* prompt tokens read from the cache */
    uint32_t write_5m_tokens, write_1h_tokens; /* prompt tokens written (billed at those TTLs) */
    double quality_u;     /* the request's quality draw, uniform on [0, 1) */
    uint32_t hit_blocks;  /* self-hosted prefix cache: KV blocks shared from the cache */
    uint32_t kept_blocks; /* blocks it computed before its last preemption that are still free but
                             not reused (engines that keep them in the prefix cache, vLLM V1) */
    uint32_t kept_from;   /* the block where they start (after its shared prefix) */
    uint32_t hit_entries; /* cache entries it pins (its first points) */
    uint32_t attempts;    /* 429s received so far */
    /* what a rules router sees of the prompt text */
    uint32_t chars, words;
    uint32_t seg_mask;    /* bit s: segment s of its class has tokens (first 32 segments) */
    uint8_t qmark;        /* the prompt holds a question mark */
    double penalty_u;     /* uniform draw for the output-control quality penalties */
    /* cascade: the tier serving it now and what earlier tiers cost */
    uint32_t tier_pos;    /* index into routing.tiers */
    uint32_t tiers;       /* deployments that answered it so far, including the current one */
    double first_start_s; /* service start at its first tier */
    double prior_line[4]; /* earlier tiers' input, cache write, cache read, output lines */
    double prior_gpu_usd, prior_nocache_usd;
    /* prefetch: the time the user's message comes (a hit), else the arrival */
    double user_s;
    uint32_t client;      /* closed workloads: the client that sent it, SIMI_NONE otherwise */
    uint32_t requeues;    /* times a spot interruption sent it back to be routed again */
    /* disaggregation (world_disagg.c): while its KV cache waits for and
     * crosses the link, the prefill replica still holding it and how many
     * blocks */
    uint32_t xfer_src;
    uint32_t xfer_blocks;
};

enum simi_phase { SIMI_PH_QUEUED = 0, SIMI_PH_PREFILL, SIMI_PH_DECODE };

/* What the replicas of a deployment do (world_disagg.c). */
enum simi_role {
    SIMI_ROLE_BOTH = 0, /* prefill and decode (colocated) */
    SIMI_ROLE_PREFILL,  /* prefill pool: a request leaves after its first token */
    SIMI_ROLE_DECODE    /* decode pool: requests arrive with their prompt computed elsewhere */
};

struct simi_batch; /* world_batch.c */

/* The request pool: slots recycled through an index-based free list. */
struct simi_pool {
    struct simi_req *slot; /* cap slots; moves when it grows */
    uint32_t cap;          /* slots allocated */
    uint32_t used;         /* slots ever handed out (the rest were never used) */
    uint32_t free_head;    /* first recycled slot, SIMI_NONE when none */
    uint32_t live;         /* slots currently holding a request */
};

/* A FIFO of request slots: a ring buffer whose capacity is a power of two. */
struct simi_fifo {
    uint32_t *buf;
    uint32_t cap;  /* 0 until the first push, then a power of two */
    uint32_t head; /* index of the oldest element */
    uint32_t len;  /* elements held */
};

struct simi_deploy;

/* A waiting queue in a deployment's queue order (queue_order.c): one FIFO
 * lane per priority tier (order priority), per tenant (order fair) or one
 * (fifo), plus a background lane of deferred requests served only when
 * every other lane is empty.  Requests are slots of the request pool. */
struct simi_wq {
    uint32_t len;             /* requests waiting, background included */
    uint32_t n_lanes;         /* lanes, background included (the last) */
    struct simi_fifo *lane;   /* n_lanes FIFOs, owned; NULL until simi_wq_init */
    uint64_t *busy;           /* bit l: lane l holds requests (n_lanes bits), owned */
    const struct simi_deploy *d; /* its deployment: order, lane of each class, weights */
    double *vtc;              /* fair: each tenant's virtual token counter, owned */
    uint32_t last_left;       /* fair: the tenant whose lane emptied last, SIMI_NONE before */
};

struct simi_replica {
    /* First what each event of a batching replica and each routing decision
     * touch, in one cache line (least_loaded walks every replica's load and
     * state; an iteration's end its batch, busy time and price). */
    uint32_t current;        /* request slot in service, SIMI_NONE when idle */
    uint32_t load;           /* requests queued here + in service here */
    uint8_t state;           /* enum simi_replica_state */
    uint8_t spot;            /* a spot slot (world_scale.c) */
    struct simi_batch *batch; /* batching schedulers' state, NULL for scheduler none */
    double busy_s;           /* seconds of finished service */
    double busy_since_s;     /* start of the current service (when busy) */
    double usd_per_s;        /* its GPU price: tp x $/GPU-h / 3600, discounted when spot */
    /* handles of its pending events, cancelled when it is interrupted */
    uint64_t ev_handle;      /* the completion (scheduler none) or iteration end (batching) */
    uint64_t timer_handle;   /* dynamic batching's timer */
    uint64_t ready_handle;   /* its SIMI_EV_REPLICA_READY while starting */
    uint64_t spot_handle;    /* its next drawn interruption */
    struct simi_wq queue;    /* per-replica queue (scheduler none, unless the queue is shared) */
    double busy_at_sample_s; /* busy time up to the previous sampling instant */
    double prov_start_s;     /* billed since (when provisioned) */
    double ready_s;          /* routable since (when ready) */
    double busy_at_eval_s;   /* busy time up to the previous autoscaler evaluation */
};

/* A sliding one-minute rate-limit window (api rate_limits, self-hosted
 * per-tenant quotas; world_serve.c): its limits (0 = none), the starts of
 * the last 60 s (ring) and their sums, and the client-side queue of
 * on_limit queue. */
struct simi_rlwin {
    double lim_req, lim_in, lim_out; /* per minute */
    double backoff_s;
    int client_queue;
    struct simi_rl_entry { double t, in, out; } *ring;
    uint32_t cap, head, len;
    double req, in, out;
    struct simi_fifo wait;        /* client-side queue (client_queue) */
    int wake_pending;             /* a SIMI_EV_RL_WAKE is scheduled */
};

struct simi_deploy {
    const struct sim_deployment_cfg *cfg;
    gsl_rng *rng_latency;          /* "deployment/<name>/latency" */
    gsl_rng *rng_replica;          /* "deployment/<name>/replica" (self-hosted, random routing) */
    int n_replicas;                /* 0 for api deployments */
    struct simi_replica *replicas; /* n_replicas, owned */
    struct simi_wq shared;         /* the deployment's queue when cfg->queue_shared */
    uint32_t rr_next;              /* round robin: the next replica */
    uint32_t waiting;              /* requests queued, not in service */
    uint32_t running;              /* requests in service (api: in flight) */
    uint64_t completed;
    uint64_t output_tokens;       /* of finished requests */
    uint64_t rejected;            /* never fit one replica's KV memory */
    uint64_t preemptions;
    uint64_t iterations;
    double flops, bytes;          /* roofline totals over all iterations */
    double kv_cap_blocks;         /* KV blocks of one replica (inf = unbounded) */
    double billed_usd;            /* sum of finished requests' billed API lines */
    struct sim_cache **caches;    /* prompt cache shards (api with prompt_cache), owned */
    gsl_rng *rng_shard;           /* "deployment/<name>/shard" */
    gsl_rng *rng_batch;           /* "deployment/<name>/batch" (api) */
    struct simi_rlwin rl;         /* api rate limits */
    gsl_rng *rng_retry;           /* "deployment/<name>/retry": backoff jitter (api; self-hosted with quotas) */
    uint64_t rate_limited;        /* 429s answered (rate limits and quotas) */
    struct simi_rlwin *quota;     /* self-hosted: [i] the window of cfg->quotas[i] (owned, NULL: none) */
    int32_t *quota_of_class;      /* [class]: its tenant's quota, -1 = none (owned, NULL: no quotas) */
    uint32_t quota_waiting;       /* requests in the quotas' client-side queues (not in `waiting`) */
    /* admissions (service starts), for spillover's expected wait */
    double adm_last_s, adm_gap_s; /* latest admission, moving mean of the gaps between them */
    uint64_t admissions;
    uint64_t calls;               /* answers it gave (each cascade tier counts) */
    uint64_t escalated;           /* of those, judged failed and passed to the next tier */
    double gpu_usd_per_replica_s; /* tp x gpu_hour_usd / 3600 */
    /* queue order and admission control (queue_order.c) */
    uint32_t n_lanes;             /* lanes of its waiting queues, without the background one */
    uint32_t *lane_of_class;      /* [class]: tier (priority) or tenant (fair) number, 0 (fifo); owned */
    double *inv_weight;           /* fair: [tenant] 1 / weight, owned */
    int32_t *rule_of_class;       /* [class]: its tier's admission rule, -1 = none; owned (NULL: no rules) */
    uint64_t shed, deferred;      /* requests refused / deferred by admission control */
    /* Replica lifecycle (world_scale.c).  live: the routable (ready)
     * replicas in ascending index order, the only ones routing looks at. */
    int *live;                    /* n_replicas slots, the first n_live used (owned) */
    int n_live;
    int n_starting, n_draining;   /* replicas in those states */
    int n_billed;                 /* replicas billed now: starting + ready + draining */
    double billed_closed_s;       /* replica-seconds of released replicas */
    double billed_open_start_s;   /* sum of the billed replicas' prov_start_s */
    /* autoscaler */
    double as_window_s;           /* start of the current evaluation window */
    double as_below_since_s;      /* first of the evaluations in a row that wanted fewer, -1 = none */
    int as_below_max;             /* the largest of those wants */
    double as_ttft_sum_s;         /* slo policy: TTFTs of the first tokens in the window */
    uint64_t as_ttft_n;
    uint64_t scale_ups, scale_ins;
    /* spot (world_scale.c) */
    gsl_rng *rng_spot;            /* "deployment/<name>/spot": times to interruption */
    int spot_n_billed;            /* spot replicas billed now */
    double spot_closed_s;         /* replica-seconds of interrupted spot replicas */
    double spot_open_start_s;     /* sum of the billed spot replicas' prov_start_s */
    uint64_t interruptions, requeued;
    struct simi_fifo orphans;     /* requests routed while no replica is ready (per-replica queues) */
    struct simi_fifo requeue;     /* scratch: the requests of the replica being interrupted */
    struct mdl_roofline_prep roofline; /* cfg->roofline's per-step constants (batching, roofline) */
    struct mdl_linear_memo *linear_memo; /* MDL_LINEAR_MEMO entries: linear parts of recent step shapes */
    /* disaggregation (world_disagg.c) */
    uint8_t role;                 /* enum simi_role */
    int32_t record_dep;           /* deployment index in records: its own, or the parent's for a pool */
    int32_t prefill_pool;         /* decode pool: index of its prefill pool in w->deploy, else -1 */
    double *link_free_s;          /* decode pool: when each prefill replica's link is free (owned) */
    uint64_t kv_transfers;        /* decode pool: transfers finished */
    double kv_transfer_s;         /* ... sum of their times (link queue + latency + bytes / bandwidth) */
    double kv_wait_s;             /* ... sum of their waits for a decode slot (first token to transfer) */
};

/* A multi-turn session between its turns (world_source.c). */
struct simi_session {
    uint64_t id;           /* session number, from 0 */
    uint64_t key;          /* base of its prefix identities */
    uint32_t class_idx;
    uint32_t turns;        /* turns it will have */
    uint32_t turn;         /* turns started */
    uint64_t prompt_tokens;/* prompt of the latest turn */
    uint32_t answer_tokens;/* answer of the latest turn */
    uint32_t n_stable;     /* stable prefix points (kept for every turn) */
    uint64_t st_key[SIMI_MAX_PTS];
    uint32_t st_tokens[SIMI_MAX_PTS];
    float st_ttl_s[SIMI_MAX_PTS];
    float bp_ttl_s;        /* TTL of the conversation breakpoints */
    double pf_user_s;      /* prefetch: when the user's next message comes */
    uint32_t next_free;
};

struct simi_class {
    const struct sim_class_cfg *cfg;
    uint32_t **var_len;   /* [segment][variant]: fixed length of each stable variant, owned */
    double **var_cum;     /* [segment][variant]: cumulative popularity, owned */
    gsl_rng *rng_variants;                   /* "class/<name>/variants" */
    gsl_rng *rng_lengths;                    /* "class/<name>/lengths" */
    gsl_rng *rng_difficulty;                 /* "class/<name>/difficulty" */
    int has_difficulty;                      /* difficulty probabilities given (else all simple) */
    double difficulty_cum[SIM_N_DIFFICULTY]; /* cumulative probabilities */
};

struct sim_world {
    const struct sim_scenario *sc; /* not owned; outlives the world */
    uint32_t replication;
    struct sim_sink sink;
    struct sim_pes *pes;
    double now_s;
    int failed; /* negative code once a sink failed, else 0 */

    /* workload */
    gsl_rng *rng_arrivals; /* "arrivals" */
    gsl_rng *rng_class;    /* "class-choice" */
    gsl_rng *rng_route;    /* "route" */
    size_t n_classes;
    struct simi_class *classes; /* owned */
    double *class_cum;          /* cumulative shares, n_classes, owned */
    double *route_cum;          /* split routing: cumulative weights, owned */
    int arrival_pending;        /* an arrival is pending: held below (open workloads) or in the
                                   pending-event set (closed ones) */
    double arrival_t_s;         /* open workloads: the next arrival's time, INFINITY when none is */
    uint64_t arrival_seq;       /* its seq, reserved from the set (SIMI_NO_SEQ when none is) */
    uint64_t arrival_row;       /* its payload (trace row) */
    struct simi_session *sessions; /* session slots, owned */
    uint32_t n_sessions_alloc, n_sessions_used, session_free;
    uint64_t sessions_started;
    uint64_t turns_scheduled;   /* later turns scheduled (first turns are arrivals) */
    uint64_t turns_pending;     /* of those, and of prefetched guesses, not out yet (the run is live
                                   while any is) */
    gsl_rng *rng_turns;         /* "sessions/turns" */
    gsl_rng *rng_think;         /* "sessions/think" */
    gsl_rng *rng_quality;       /* "quality": one draw per request, when quality_draw */
    int quality_draw;           /* some outcome reads quality_u: a joint table, success
                                   probabilities of a deployment or its classes */
    gsl_rng *rng_penalty;       /* "quality-penalty": one draw per request */
    gsl_rng *rng_cascade;       /* "cascade": one draw per answer judged */
    gsl_rng *rng_features;      /* "features": prompt text features */
    gsl_rng *rng_prefetch;      /* "prefetch": one draw per prefetch */
    int cls_n;                  /* classifier: labels, deployment per predicted label and the */
    int cls_to[SIM_MAX_LABELS]; /* cumulative confusion rows */
    double cls_cum[SIM_MAX_LABELS][SIM_MAX_LABELS];
    double *exp_quality;        /* cost_aware: [class * n_deploy + d], expected success */
    double *exp_output;         /* cost_aware: [class], expected output tokens */
    double *class_gpu_usd;      /* [class * n_deploy + d]: GPU cost of each answer, by its class and
                                   the deployment that gave it (cascades: every tier) */
    int *rule_seg;              /* rules: [rule * 2 * n_classes + 2 c + (0 segment | 1 no_segment)],
                                   segment index in class c, -1 when it has none of that name */
    uint64_t scheduled;         /* arrivals scheduled so far (including the pending one) */
    double last_arrival_s;      /* time of the latest scheduled arrival */
    gsl_rng *rng_mmpp;          /* "arrivals/mmpp": the modulating state's path */
    int mmpp_state;             /* mmpp: current state, 0 or 1 */
    double mmpp_until_s;        /* mmpp: when the current state ends */
    uint32_t clients_thinking;  /* closed: clients with their next request scheduled */

    /* deployments */
    size_t n_deploy;                        /* the scenario's */
    size_t n_deploy_all;                    /* n_deploy + prefill pools of disaggregated ones */
    struct simi_deploy *deploy;             /* n_deploy_all, owned */
    struct sim_deployment_stats *dep_stats; /* filled by sim_world_stats, owned */

    struct simi_pool pool;

    /* statistics */
    uint64_t events;
    uint64_t arrivals;
    uint64_t completed;
    uint64_t in_system; /* arrived, not finished */
    double area;        /* integral of in_system up to area_t_s */
    double area_t_s;
    double sum_sojourn_s;
    double makespan_s;

    /* timeseries */
    double ts_interval_s; /* 0 = off */
    double ts_last_s;     /* previous sampling instant (0 before the first) */
    uint64_t ts_rows;     /* rows emitted */
    int ts_capped;        /* sampling stopped at SIM_MAX_TS_ROWS */
};

/* world.c */
/* Adds the number-in-system integral up to t and changes the count by delta. */
void simi_in_system(struct sim_world *w, double t, int delta);
/* Schedules an event, storing its handle in *handle when handle is not NULL
 * (for sim_pes_cancel); returns 0 or a negative code.  Inline: every event
 * passes here, and the call is most of the work. */
static inline int simi_schedule_h(struct sim_world *w, double t, uint32_t kind, uint32_t target,
                                  uint64_t payload, uint64_t *handle)
{
    LLMSIM_ASSERT(t >= w->now_s);
    return sim_pes_push_at(w->pes, t, kind, target, payload, handle);
}
/* The same without the handle. */
static inline int simi_schedule(struct sim_world *w, double t, uint32_t kind, uint32_t target,
                                uint64_t payload)
{
    return simi_schedule_h(w, t, kind, target, payload, NULL);
}
/* Schedules the open workload's next arrival (trace row `row`) at t.  It
 * is held by the world instead of pushed: the arrival stream has at most one
 * pending, and sim_step merges it with the set by (time, seq), taking the
 * seq a push would have got now (sim_pes_reserve_seq), so that every event
 * comes out in the order a push would have given.  Saves the set a push and
 * a pop per request. */
static inline void simi_schedule_arrival(struct sim_world *w, double t, uint64_t row)
{
    LLMSIM_ASSERT(t >= w->now_s && w->arrival_seq == SIMI_NO_SEQ);
    w->arrival_t_s = t;
    w->arrival_seq = sim_pes_reserve_seq(w->pes);
    w->arrival_row = row;
}
/* Finishes request slot q, whose done_s is the current time: cost lines,
 * statistics, slot release, then the record to the sink.  Returns 0 or the
 * sink's negative code. */
int simi_finish(struct sim_world *w, uint32_t q);

/* The random stream "<group>/<name>/<what>" of this world (llmsim/rng.h);
 * NULL when out of memory. */
gsl_rng *simi_stream(const struct sim_world *w, const char *group, const char *name,
                     const char *what);

/* Request pool. */
int simi_pool_get(struct simi_pool *p, uint32_t *out);
void simi_pool_put(struct simi_pool *p, uint32_t q);

/* FIFO rings. */
int simi_fifo_push(struct simi_fifo *f, uint32_t x);
uint32_t simi_fifo_pop(struct simi_fifo *f);
void simi_fifo_free(struct simi_fifo *f);

/* world_source.c */
/* Checks the workload and routing and allocates their streams. */
int simi_source_init(struct sim_world *w, struct llmsim_error *err);
void simi_source_free(struct sim_world *w);
/* Schedules the next arrival unless the horizon is reached. */
int simi_source_schedule_next(struct sim_world *w);
/* Handles an arrival event: makes the request, routes and dispatches it,
 * then schedules the next arrival. */
int simi_source_arrival(struct sim_world *w, const struct sim_event *ev);
/* Routes a new request (class, lengths and quality draw set) to its
 * deployment and hands it over. */
int simi_source_route(struct sim_world *w, uint32_t q);
/* Handles SIMI_EV_PREFETCH: a guess of a session's next turn goes out. */
int simi_source_prefetch(struct sim_world *w, const struct sim_event *ev);
/* Handles SIMI_EV_TURN: the session's next turn arrives. */
int simi_source_turn(struct sim_world *w, const struct sim_event *ev);
/* Schedules the first arrival (or, closed, every client's first request). */
int simi_source_start(struct sim_world *w);
/* Request r is finishing now (answered or rejected): a session schedules its
 * next turn or ends, a closed workload's client thinks again. */
int simi_source_done(struct sim_world *w, const struct simi_req *r);

/* world_arrivals.c */
/* Whether the workload's arrivals come from the time-varying Poisson
 * generator (diurnal, or poisson with mmpp or spikes). */
int simi_arrivals_varying(const struct sim_workload_cfg *wl);
/* Checks the diurnal, closed, mmpp and spike settings; allocates the mmpp's
 * stream and draws its first state. */
int simi_arrivals_init(struct sim_world *w, struct llmsim_error *err);
void simi_arrivals_free(struct sim_world *w);
/* The next time-varying arrival after last_arrival_s: 0 and *t, or 1 when
 * none comes before the horizon's duration. */
int simi_arrivals_next(struct sim_world *w, double *t);
/* Closed workloads: schedules every client's first request; a client's
 * request goes out (its arrival event fired); its request is done. */
int simi_arrivals_closed_start(struct sim_world *w);
void simi_arrivals_client_sends(struct sim_world *w);
int simi_arrivals_client_done(struct sim_world *w, const struct simi_req *r);

/* world_serve.c */
int simi_serve_init(struct sim_world *w, struct llmsim_error *err);
void simi_serve_free(struct sim_world *w);
/* Hands request slot q (deployment already chosen) to its deployment. */
int simi_serve_dispatch(struct sim_world *w, uint32_t q);
/* Replica j of d just turned ready: with a shared queue it takes the head. */
int simi_serve_replica_ready(struct sim_world *w, struct simi_deploy *d, int j);
/* Handles a completion event (api or replica). */
int simi_serve_done(struct sim_world *w, const struct sim_event *ev);
/* A request started service at deployment d now (spillover's wait estimate). */
void simi_note_admit(struct sim_world *w, struct simi_deploy *d);
/* Admissions a request arriving at deployment d now must wait for: the
 * requests waiting, plus one when no self-hosted replica has room for it
 * (simi_batch_has_room; scheduler none: every replica busy).  0 = it would
 * start at once (or join the next iteration). */
uint32_t simi_ahead(const struct simi_deploy *d);
/* The wait a request arriving at d now can expect, seconds. */
double simi_expected_wait_s(const struct sim_world *w, const struct simi_deploy *d);
/* SIMI_EV_RL_WAKE: sends what a client-side queue of deployment d can. */
int simi_serve_rl_wake(struct sim_world *w, const struct sim_event *ev);
/* Busy seconds of a replica up to now (finished service + the current one). */
double simi_replica_busy_s(const struct sim_world *w, const struct simi_replica *r);
/* x if it is a positive number, else 0 (clamps negative and NaN draws). */
double simi_nonneg(double x);

/* queue_order.c */
/* Works out deployment d's lanes (order) and admission rules. */
int simi_order_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err);
void simi_order_free(struct simi_deploy *d);
/* Sets up / releases a waiting queue of deployment d (empty). */
int simi_wq_init(struct simi_wq *q, const struct simi_deploy *d);
void simi_wq_free(struct simi_wq *q);
/* Request q joins the back (front: a preempted request goes first again)
 * of its lane; defer: of the background lane. */
int simi_wq_push(struct sim_world *w, struct simi_wq *f, uint32_t q);
int simi_wq_push_front(struct sim_world *w, struct simi_wq *f, uint32_t q);
int simi_wq_defer(struct sim_world *w, struct simi_wq *f, uint32_t q);
/* The request the order serves next, SIMI_NONE when none waits; pop takes
 * it out (order fair charges its tenant for the prompt). */
uint32_t simi_wq_peek(const struct sim_world *w, const struct simi_wq *f);
uint32_t simi_wq_pop(struct sim_world *w, struct simi_wq *f);
/* A spot interruption: every request of f is appended to out, lane by
 * lane (lane order, each lane in its own order, the background last), and
 * f is left empty with its fair counters reset (the machine is gone). */
int simi_wq_drain(struct simi_wq *f, struct simi_fifo *out);
/* Requests waiting outside the background lane. */
uint32_t simi_wq_foreground(const struct simi_wq *f);
/* Request q (class cls, output tokens) finished: order fair charges its
 * tenant for the output it received from queue f. */
void simi_wq_done(struct sim_world *w, struct simi_wq *f, uint32_t q);
/* Admission control of request q joining queue f of deployment d, where
 * it would wait: 0 = admit, 1 = shed (rejected), 2 = defer. */
int simi_admission(const struct sim_world *w, const struct simi_deploy *d, const struct simi_wq *f, uint32_t q);

/* world_cache.c */
int simi_cache_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err);
void simi_cache_free(struct simi_deploy *d);
/* Looks the request's prefix up (hits slide their TTL) and works out the
 * tokens it reads and writes; *shard and *hit_point are for the write. */
int simi_cache_lookup(struct sim_world *w, struct simi_deploy *d, struct simi_req *r, struct sim_cache **shard,
                      int *hit_point);
/* Writes the entries the request misses, readable from ready_s. */
int simi_cache_write(struct sim_world *w, struct simi_deploy *d, struct simi_req *r, struct sim_cache *c,
                     int hit_point, double ready_s);
/* Adds the caches' storage fees and unread writes to the deployment stats. */
void simi_cache_report(const struct simi_deploy *d, double now, struct sim_deployment_stats *s);

/* world_scale.c */
/* Sets up the lifecycle of self-hosted deployment d's replicas (all of them
 * ready without autoscale; cfg->replicas of them with it) and schedules the
 * first evaluation. */
int simi_scale_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err);
/* SIMI_EV_AUTOSCALE and SIMI_EV_REPLICA_READY. */
int simi_scale_event(struct sim_world *w, const struct sim_event *ev);
/* Replica j of d may have emptied: releases it when it was draining. */
int simi_scale_check_drained(struct sim_world *w, struct simi_deploy *d, int j);
/* A first token of d came now, after ttft_s (slo policy). */
void simi_scale_note_ttft(struct simi_deploy *d, double ttft_s);
/* Replica-seconds billed by d from 0 to t (t at or after the latest change). */
double simi_scale_billed_s(const struct simi_deploy *d, double t);
/* Of those, the spot replicas'. */
double simi_scale_spot_billed_s(const struct simi_deploy *d, double t);
/* GPU cost of the replica-seconds billed by d from 0 to t, USD. */
double simi_scale_gpu_usd(const struct simi_deploy *d, double t);
/* SIMI_EV_SPOT. */
int simi_scale_spot_event(struct sim_world *w, const struct sim_event *ev);

/* world_batch.c */
/* Forgets what a released replica held (its prefix cache): a slot provisioned
 * again is a fresh machine. */
void simi_batch_reset(struct simi_replica *rp);
/* Sets up the batching state of deployment d (scheduler other than none). */
int simi_batch_init(struct sim_world *w, struct simi_deploy *d, struct llmsim_error *err);
void simi_batch_free(struct simi_deploy *d);
/* Request q joins replica j's queue (or is rejected when it can never fit). */
int simi_batch_dispatch(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q);
/* SIMI_EV_ITER_END and SIMI_EV_BATCH_TIMER. */
int simi_batch_event(struct sim_world *w, const struct sim_event *ev);
/* Whether a request joining replica rp now could start without waiting for
 * another to leave: continuous batching with a free batch slot and free KV
 * memory, request-level batching with no batch in progress. */
int simi_batch_has_room(const struct simi_replica *rp);
/* Requests waiting / running at a replica, and the share of its KV memory in use. */
uint32_t simi_batch_waiting(const struct simi_replica *rp);
uint32_t simi_batch_running(const struct simi_replica *rp);
double simi_batch_kv_frac(const struct simi_replica *rp);
/* The waiting queue of a batching replica. */
struct simi_wq *simi_batch_wq(struct simi_replica *rp);
/* Replica j of d is interrupted: every request it holds (running, in
 * admission order, then waiting) is appended to `out` and taken off its
 * books (the deployment's running and waiting counts, the replica's load),
 * its batching state is emptied as if fresh, and the busy time of an
 * iteration in progress is counted.  The caller cancels the replica's
 * pending events. */
int simi_batch_interrupt(struct sim_world *w, struct simi_deploy *d, int j, struct simi_fifo *out);
/* Tokens held by a replica's prefix cache (0 without one). */
double simi_batch_cache_tokens(const struct simi_replica *rp);
/* Decode pool: request q, prefilled elsewhere (its KV cache still there),
 * waits at replica j for a batch slot and KV memory. */
int simi_batch_accept(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q);
/* Decode pool: request q's KV cache reached replica j (its blocks were
 * allocated when the transfer started); it decodes from the next iteration. */
int simi_batch_land(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q);
/* Prefill pool: replica j frees the blocks of a KV cache it sent. */
int simi_batch_release(struct sim_world *w, struct simi_deploy *d, int j, double blocks);

/* world_serve.c */
/* The replica of deployment d that request r joins (replica_routing). */
int simi_choose_replica(struct simi_deploy *d, const struct simi_req *r, const struct sim_world *w);

/* world_disagg.c */
/* Sets up the prefill pool p of disaggregated deployment d. */
int simi_disagg_init(struct sim_world *w, struct simi_deploy *d, struct simi_deploy *p, struct llmsim_error *err);
void simi_disagg_free(struct simi_deploy *d);
/* A new request for disaggregated deployment d: to a prefill replica. */
int simi_disagg_dispatch(struct sim_world *w, struct simi_deploy *d, uint32_t q);
/* Prefill replica r->replica of pool p computed request q's prompt and
 * emitted its first token; it still holds `blocks` KV blocks of it. */
int simi_disagg_prefilled(struct sim_world *w, struct simi_deploy *p, uint32_t q, double blocks);
/* Decode replica j of d admitted request q: its KV cache starts its way. */
int simi_disagg_transfer(struct sim_world *w, struct simi_deploy *d, int j, uint32_t q);
/* SIMI_EV_KV_DONE. */
int simi_disagg_event(struct sim_world *w, const struct sim_event *ev);

#endif
