/* llmsim: what a simulated world reports, and the sink interface it reports to.
 *
 * The engine emits one struct sim_request_record per finished request (in
 * completion order) and, when a sampling interval is set, struct
 * sim_ts_record rows for every deployment and replica at each sampling
 * instant.  A struct sim_sink receives them; analysis/ implements sinks (the
 * HDF5 writer, the summary accumulator) and sim/ never sees how records are
 * stored.  The record structs are the in-memory layout of the results file's
 * rows, so writers can describe them with offsetof() and write them as is.
 *
 * Time definitions (design.md section 7): all *_s durations are measured from
 * the request's arrival.  queue_s runs until service (prefill) starts, ttft_s
 * until the first output token, e2e_s until the last; mean_itl_s =
 * (done - first token) / (output tokens - 1), 0 for a single-token output.
 *
 * A sink callback returns 0 to go on or a negative LLMSIM_E* code, which stops
 * the run and is returned by sim_run_until/sim_step. */
#ifndef LLMSIM_RECORD_H
#define LLMSIM_RECORD_H

#include <stdint.h>

/* Bits of sim_request_record.flags. */
enum sim_request_flag {
    SIM_RF_WARMUP = 1u << 0,   /* arrived before the warm-up ended: left out of summaries */
    SIM_RF_TRUNCATED = 1u << 1, /* output cut by a max_tokens cap */
    SIM_RF_REJECTED = 1u << 2,  /* never served: prompt + output exceed one replica's KV memory,
                                   or shed by admission control (SIM_RF_SHED) */
    SIM_RF_PREEMPTED = 1u << 3, /* preempted at least once (KV memory ran out), recomputed */
    SIM_RF_BATCH = 1u << 4,     /* sent through the Batch API (discounted, delayed) */
    SIM_RF_RATE_LIMITED = 1u << 5, /* got at least one 429 and retried */
    SIM_RF_ESCALATED = 1u << 6,   /* cascade: a lower tier's answer was judged failed and passed up */
    SIM_RF_SPILLED = 1u << 7,     /* spillover: the preferred tier was over its bound */
    SIM_RF_PREFETCH_HIT = 1u << 8, /* a prefetched guess of this turn was right: the user waited
                                      only for what was left of it (perceived_s) */
    SIM_RF_PREFETCH_WASTED = 1u << 9, /* a prefetched guess that was wrong: paid for, never shown
                                         (left out of latency and quality figures) */
    SIM_RF_CLIENT_QUEUED = 1u << 10, /* waited in the client-side rate-limit queue */
    SIM_RF_REQUEUED = 1u << 11,     /* held by a spot replica when it was interrupted: routed again and
                                       recomputed from its prompt (every such time counts in the
                                       deployment's requeued) */
    SIM_RF_SHED = 1u << 12,     /* refused by admission control (a 429): also SIM_RF_REJECTED */
    SIM_RF_DEFERRED = 1u << 13  /* admission control deferred it to the background queue */
};

struct sim_request_record {
    uint64_t id;              /* arrival order within the replication, from 0 */
    int32_t replication;      /* replication index, from 0 */
    int32_t class_idx;        /* index into the scenario's classes */
    int64_t session;          /* session id, -1 when not in a session */
    int32_t turn;             /* turn within the session, 0 when not in a session */
    int32_t deployment;       /* index into the scenario's deployments */
    int32_t replica;          /* replica that served it, 0 for api deployments */
    int32_t difficulty;       /* enum sim_difficulty */
    double arrival_s;         /* absolute virtual time of arrival */
    double dispatch_s;        /* absolute: routed to a deployment/replica queue */
    double prefill_start_s;   /* absolute: service started */
    double first_token_s;     /* absolute: first output token */
    double done_s;            /* absolute: last output token */
    double ttft_s;            /* first_token_s - arrival_s */
    double e2e_s;             /* done_s - arrival_s */
    double queue_s;           /* prefill_start_s - arrival_s */
    double mean_itl_s;        /* (done - first token) / (output tokens - 1) */
    uint32_t input_tokens;    /* whole prompt */
    uint32_t cached_tokens;   /* prompt tokens read from a cache */
    uint32_t cache_write_tokens; /* prompt tokens written to a cache */
    uint32_t output_tokens;
    double cost_input_usd;       /* uncached input */
    double cost_cache_write_usd;
    double cost_cache_read_usd;
    double cost_output_usd;
    double cost_gpu_usd;         /* GPU time this request used, at the hourly rate */
    double cost_nocache_usd;     /* counterfactual cost with caching off (API lines + GPU) */
    uint32_t preemptions;        /* times preempted for KV memory and recomputed */
    uint8_t success;             /* answer judged successful (1 without quality figures) */
    uint32_t flags;              /* enum sim_request_flag bits */
    int32_t tiers;               /* deployments that answered it in turn: 1 + escalations (cascade) */
    double cost_escalated_usd;   /* of the cost lines above, what lower cascade tiers were paid */
    double perceived_s;          /* what the user waited for: ttft_s when the class streams, else
                                    e2e_s; a prefetch hit counts from the user's message */
};

/* One sampling row; replica = -1 is the deployment as a whole. */
struct sim_ts_record {
    double t_s;           /* sampling instant */
    int32_t replication;
    int32_t deployment;
    int32_t replica;
    int32_t queue_len;    /* requests waiting (not yet in service) */
    int32_t running;      /* requests in service */
    double kv_used_frac;  /* share of KV memory in use (batching schedulers; mean over replicas
                             on the deployment row; 0 when KV memory is unbounded) */
    double cache_tokens;  /* tokens held in caches */
    double busy_frac;     /* share of the last interval the servers were busy (mean over replicas) */
    int32_t replicas;     /* replicas provisioned (billed: starting, ready or draining) at t_s */
    double cost_cum_usd;  /* cost accrued so far (requests finished + GPU-hours provisioned) */
};

/* One batch iteration of a self-hosted replica (batching schedulers). */
struct sim_iter_record {
    int32_t replication;
    int32_t deployment;
    int32_t replica;
    double start_s;        /* iteration start */
    double duration_s;     /* iteration time */
    double itl_s;          /* gap each decode token of this iteration followed: time since the
                              previous decode iteration ended (prefill iterations that paused
                              decoding included), per token (/ tokens per step when speculating) */
    double decode_tokens;  /* output tokens produced by decoding requests (excl. padding) */
    double prefill_tokens; /* prompt tokens processed */
    int32_t batch;         /* requests in the batch (incl. static padding) */
};

/* One step in the life of an autoscaled replica (deployments with
 * autoscale only).  A replica slot is provisioned (billing starts), becomes
 * ready (requests may be routed to it), drains (no new requests) and is
 * released (billing stops); a released slot may be provisioned again.  A
 * spot replica (deployments with spot) may instead be interrupted (billing
 * stops) and its slot provisioned again for the replacement.  The
 * replicas present at time 0 are reported as provisioned and ready at 0. */
enum sim_scale_event {
    SIM_SCALE_PROVISION = 0, /* the autoscaler asked for it: billed from now */
    SIM_SCALE_READY,         /* provisioned and the weights loaded: serves from now */
    SIM_SCALE_DRAIN,         /* chosen for a scale-in: gets no new requests */
    SIM_SCALE_RELEASE,       /* drained: handed back, billed until now */
    SIM_SCALE_INTERRUPT      /* a spot replica reclaimed by the cloud: billed until now, its
                                requests routed again */
};

struct sim_scale_record {
    int32_t replication;
    int32_t deployment;
    int32_t replica;   /* slot index */
    int32_t event;     /* enum sim_scale_event */
    double t_s;        /* when it happened */
    double decided_s;  /* the evaluation that caused it (t_s for release) */
    int32_t provisioned; /* replicas billed after the event */
    int32_t ready;       /* replicas taking requests after the event */
};

struct sim_sink {
    void *ctx;
    /* Called once per finished request, in completion order. May be NULL. */
    int (*request)(void *ctx, const struct sim_request_record *r);
    /* Called once per sampling row. May be NULL. */
    int (*timeseries)(void *ctx, const struct sim_ts_record *t);
    /* Called once per batch iteration (token-weighted inter-token latency:
     * every decode token of the iteration followed a gap of itl_s). May be NULL. */
    int (*iteration)(void *ctx, const struct sim_iter_record *it);
    /* Called at each autoscaling step (struct sim_scale_record). May be NULL. */
    int (*scale)(void *ctx, const struct sim_scale_record *s);
};

/* Two sinks as one: every record goes to a, then to b (unless a failed).
 * The caller owns the struct sim_tee, which must outlive the returned sink. */
struct sim_tee {
    struct sim_sink a, b;
};
struct sim_sink sim_tee_sink(struct sim_tee *t);

#endif
