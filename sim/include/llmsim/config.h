/* llmsim: the plain configuration structs a simulated world is built from.
 *
 * scenarios/ fills a struct sim_scenario from YAML (applying defaults,
 * resolving catalog names to the entries themselves, checking ranges), but
 * nothing here knows about files: a world can be built from C by filling the
 * structs directly (see tests/).  All names are resolved to indices before a
 * world sees them; all prices and model parameters are copied in, so a
 * scenario owns everything it points to.
 *
 * Ownership: sim_scenario_free() releases every array and every owned
 * distribution; free of a zeroed struct (or NULL) is a no-op.  Units are in
 * the field names or their comments. */
#ifndef LLMSIM_CONFIG_H
#define LLMSIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "llmsim/dist.h"
#include "llmsim/hardware.h"
#include "llmsim/latency.h"
#include "llmsim/price.h"

#define SIM_NAME_MAX 64

/* Hard limits that keep absurd scenarios from exhausting memory.  The loader
 * refuses larger values with an explanation. */
#define SIM_MAX_REQUESTS 100000000ULL /* 10^8 generated requests per replication */
#define SIM_MAX_REPLICAS 4096         /* replicas per deployment */
#define SIM_MAX_REPLICATIONS 1000
#define SIM_MAX_DURATION_S 3.1536e8   /* ten years of virtual time */
#define SIM_MAX_TOKENS 1.0e7          /* tokens in one prompt or one output */

enum sim_difficulty { SIM_DIFF_SIMPLE = 0, SIM_DIFF_MODERATE = 1, SIM_DIFF_COMPLEX = 2 };
#define SIM_N_DIFFICULTY 3

/* One prompt segment of a request class, in prompt order. */
struct sim_segment_cfg {
    char name[SIM_NAME_MAX];  /* "system", "document", "question", ... */
    struct mdl_dist tokens;   /* tokens per request (rounded, >= 0) */
    int stable;               /* same content across requests (cacheable) */
    double cache_ttl_s;       /* breakpoint TTL (300 or 3600), 0 = not a breakpoint */
    int variants;             /* number of distinct stable contents (>= 1) */
    double zipf_s;            /* variant popularity: 0 = uniform, > 0 = Zipf exponent (rank^-s) */
};

struct sim_class_cfg {
    char name[SIM_NAME_MAX];
    double share;                       /* probability that an arrival is of this class */
    double difficulty[SIM_N_DIFFICULTY]; /* probabilities of simple / moderate / complex */
    size_t n_segments;
    struct sim_segment_cfg *segments;   /* owned */
    struct mdl_dist output_tokens;      /* output tokens per request (rounded, >= 1) */
    int streaming;                      /* tokens shown as they come: the user waits for TTFT,
                                           else for the whole answer (E2E) */
    int batch;                          /* sent through the provider's Batch API (api deployments) */
    /* Prompt text features that rules route on (the router sees the text,
     * not the tokens): characters and words of the whole prompt are drawn
     * from the distributions when given, else derived from the prompt's
     * tokens (chars_per_token, words_per_token); the prompt holds a
     * question mark with probability question_mark.  Stream
     * "features". */
    int has_characters, has_words;
    struct mdl_dist characters;         /* prompt characters (when has_characters) */
    struct mdl_dist words;              /* prompt words (when has_words) */
    double chars_per_token;             /* default 4 */
    double words_per_token;             /* default 0.75 */
    double question_mark;               /* probability, default 0 */
    /* Prefetch (sessions only): during the think time after each answer the
     * client issues its guess of the next turn; the guess is right with
     * probability prefetch_hit.  0 = off. */
    int prefetch;
    double prefetch_hit;
    /* Multi-tenant serving (docs/scenario-reference.md#tenants-and-tiers).
     * The tenant the class's requests belong to ("" = the class's own name:
     * sim_class_tenant) and its priority tier: larger is served first by a
     * queue with order priority; 0 by default. */
    char tenant[SIM_NAME_MAX];
    int priority;
};

enum sim_arrival_process {
    SIM_ARRIVAL_POISSON = 0, /* exponential gaps with mean 1/rate */
    SIM_ARRIVAL_GAMMA,       /* gamma gaps with mean 1/rate and cv */
    SIM_ARRIVAL_CONSTANT,    /* gaps of exactly 1/rate */
    SIM_ARRIVAL_TRACE,       /* timestamps and lengths from a trace */
    SIM_ARRIVAL_DIURNAL,     /* Poisson with a rate that follows the hour of the day (and week) */
    SIM_ARRIVAL_CLOSED       /* N clients, each sending its next request a think time after the answer */
};

/* Hours in a week: the longest hourly table of a diurnal profile. */
#define SIM_HOURS_PER_WEEK 168
/* Listed rate spikes per workload. */
#define SIM_MAX_SPIKES 64
/* Clients of a closed workload. */
#define SIM_MAX_CLIENTS 1000000

enum sim_diurnal_shape {
    SIM_DIURNAL_SINE = 0, /* trough + (peak - trough) (1 + cos(2 pi (h - peak_hour) / 24)) / 2 */
    SIM_DIURNAL_TABLE     /* one rate per hour of the day (24) or of the week (168) */
};

/* The rate profile of a diurnal workload, by the hour h of the day (or of
 * the week, Monday 00:00 = 0) on a clock that reads start_day and
 * start_hour at virtual time 0. */
struct sim_diurnal_cfg {
    enum sim_diurnal_shape shape;
    double peak_per_s;   /* sine: rate at peak_hour, requests/s */
    double trough_per_s; /* sine: rate 12 h away from it, requests/s */
    double peak_hour;    /* sine: hour of the day of the peak, [0, 24) */
    int n_hours;         /* table: 24 or 168 */
    double hourly_per_s[SIM_HOURS_PER_WEEK]; /* table: rate through each hour, requests/s */
    int has_weekly;      /* weekly multipliers given (24-hour table or sine) */
    double weekly[7];    /* multiplier of each day, Monday first */
    double start_hour;   /* hour of the day at virtual time 0, [0, 24) */
    int start_day;       /* day of the week at virtual time 0, 0 = Monday */
};

/* A listed spike: the rate is multiplied by `multiplier` over
 * [at_s, at_s + duration_s). */
struct sim_spike_cfg {
    double at_s;       /* start, virtual seconds */
    double duration_s; /* length, s */
    double multiplier; /* >= 0 (0: an outage of the traffic) */
};

/* A two-state Markov-modulated Poisson process on top of a poisson or
 * diurnal rate: state i multiplies the rate by multiplier[i] and lasts an
 * exponential time of mean mean_sojourn_s[i]; the first state is drawn from
 * the stationary distribution. */
struct sim_mmpp_cfg {
    int enabled;
    double multiplier[2];
    double mean_sojourn_s[2];
};

/* A closed workload: `clients` users, each thinking for a draw of
 * think_time_s, sending a request, waiting for its answer (or its
 * rejection), thinking again. */
struct sim_closed_cfg {
    int clients;          /* 1 to SIM_MAX_CLIENTS */
    struct mdl_dist think_time_s; /* seconds */
};

/* A replayed trace: arrival times and token counts, sorted by time. */
struct sim_trace {
    size_t n;
    double *t_s;            /* arrival offset from the first row, seconds (owned) */
    uint32_t *input_tokens; /* owned */
    uint32_t *output_tokens;/* owned */
    /* Prompt block hashes (Mooncake traces): row i's prompt is the chain of
     * blocks hash_ids[hash_off[i] .. hash_off[i + 1]), block j covering
     * tokens [j * block_tokens, min((j + 1) * block_tokens, input_tokens[i])).
     * Equal ids at the same position after equal prefixes are the same KV
     * prefix. */
    uint32_t block_tokens;  /* tokens per hashed block (512 for mooncake), 0 when the trace has no block hashes */
    uint64_t *hash_off;     /* n + 1 offsets into hash_ids (owned), NULL when none */
    uint32_t *hash_ids;     /* hash_off[n] block ids (owned), NULL when none */
};

/* Multi-turn sessions: an arrival starts a session; each later turn comes
 * a think time after the previous answer, its prompt the previous prompt +
 * the previous answer + a new message (the class's dynamic segments). */
struct sim_session_cfg {
    int enabled;
    struct mdl_dist turns;        /* turns per session (rounded, >= 1) */
    struct mdl_dist think_time_s; /* between an answer and the next turn, seconds */
};

struct sim_workload_cfg {
    enum sim_arrival_process process;
    double rate_per_s;   /* mean arrival rate (poisson, gamma, constant) */
    double cv;           /* gamma: coefficient of variation of the gaps */
    struct sim_diurnal_cfg diurnal; /* SIM_ARRIVAL_DIURNAL */
    struct sim_closed_cfg closed;   /* SIM_ARRIVAL_CLOSED */
    struct sim_mmpp_cfg mmpp;       /* poisson and diurnal: bursts of a modulating state */
    size_t n_spikes;                /* poisson and diurnal: listed spikes, in start order */
    struct sim_spike_cfg spikes[SIM_MAX_SPIKES];
    size_t n_classes;
    struct sim_class_cfg *classes; /* owned; shares sum to 1 */
    struct sim_trace trace;        /* SIM_ARRIVAL_TRACE only; requests get class 0 */
    double trace_speedup;          /* trace times are divided by this (> 0) */
    char trace_path[1024];         /* the trace file as opened (resolved against the scenario's folder) */
    char trace_format[32];         /* "azure-2023" or "mooncake" */
    struct sim_session_cfg sessions; /* optional (not with a trace) */
};

enum sim_deploy_kind { SIM_DEPLOY_API = 0, SIM_DEPLOY_SELF_HOSTED };

enum sim_sched_policy {
    SIM_SCHED_NONE = 0,   /* one request at a time per replica, FIFO */
    SIM_SCHED_STATIC,     /* a batch of up to max_batch runs to completion; all return together */
    SIM_SCHED_DYNAMIC,    /* as static, started when max_batch wait or the oldest waited max_wait_s */
    SIM_SCHED_CONTINUOUS  /* iteration-level batching (Orca / vLLM), optional chunked prefill */
};

/* Speculative decoding: a draft model proposes k tokens, the target verifies
 * them in one pass; each token is accepted with probability `acceptance`. */
struct sim_spec_cfg {
    int enabled;
    struct mdl_llm draft;  /* resolved draft model */
    int k;                 /* speculated tokens per step, >= 1 */
    double acceptance;     /* per-token acceptance rate, [0, 1] */
};

/* The order in which a self-hosted queue serves its waiting requests
 * (scheduler none: who starts next; batching schedulers: who is admitted
 * into the batch next).  sim/src/queue_order.c. */
enum sim_queue_order {
    SIM_ORDER_FIFO = 0, /* first come, first served */
    SIM_ORDER_PRIORITY, /* non-preemptive strict priority on the class's priority, FIFO within a level */
    SIM_ORDER_FAIR      /* Virtual Token Counter (Sheng et al., OSDI 2024): the backlogged tenant with
                           the least weighted service received */
};

/* A tenant's weight under order fair: its counter grows by service / weight. */
struct sim_tenant_weight {
    char tenant[SIM_NAME_MAX];
    double weight; /* > 0 */
};

/* A per-tenant quota at a self-hosted deployment (deployments[].quotas):
 * the API rate limits' semantics (sliding one-minute window of started
 * requests, 429 and backoff or a client-side queue) applied to one tenant's
 * requests before they reach the deployment's queue.  0 = no limit. */
struct sim_quota_cfg {
    char tenant[SIM_NAME_MAX];
    double requests_per_min, input_tokens_per_min, output_tokens_per_min;
    double backoff_s;     /* first retry delay (doubles per attempt, capped at 60 s) */
    int client_queue;     /* on_limit queue: wait in the tenant's FIFO instead of a 429 */
};

/* Admission control of one priority tier at a self-hosted deployment: a
 * request of the tier that would have to wait is shed when the queue it
 * would join already holds max_queue requests that would be served before
 * it (order priority: of its tier and above; else all, the background
 * queue not counted) or when its expected wait (those requests plus one,
 * times the mean gap between admissions at that queue) exceeds max_wait_s.  Shed requests are rejected
 * (flags SIM_RF_REJECTED | SIM_RF_SHED, a 429 to the client) or, with
 * defer, wait in a background queue that is served only when nothing else
 * waits (flag SIM_RF_DEFERRED). */
struct sim_admission_cfg {
    int tier;          /* the classes' priority it applies to */
    double max_queue;  /* requests waiting ahead of it, >= 0 (inf = no bound) */
    double max_wait_s; /* expected wait, seconds (inf = no bound) */
    int defer;         /* 1: to the background queue; 0: reject */
};

enum sim_replica_routing {
    SIM_RR_ROUND_ROBIN = 0,
    SIM_RR_RANDOM,
    SIM_RR_LEAST_LOADED, /* join the shortest queue (requests queued + in service) */
    SIM_RR_POWER_OF_TWO, /* the less loaded of two replicas drawn at random */
    SIM_RR_LEAST_KV,     /* the replica with the smallest share of KV memory in use */
    SIM_RR_PREFIX_AFFINITY /* consistent hashing on the prompt prefix, least loaded when overloaded */
};

/* Prompt-cache semantics of an api deployment (design.md section 4, "Caches"). */
enum sim_cache_semantics {
    SIM_CACHE_ANTHROPIC = 0, /* explicit breakpoints, sliding 5m/1h TTL, write premium, readable once
                                the writer's first token is out, minimum length */
    SIM_CACHE_OPENAI,        /* automatic for prompts >= minimum, 128-token steps, no premium */
    SIM_CACHE_GEMINI,        /* explicit, TTL, storage fee per token-hour */
    SIM_CACHE_IDEAL          /* usable from arrival, no minimum, no premium (hit-ratio studies) */
};

struct sim_prompt_cache_cfg {
    int enabled;
    enum sim_cache_semantics semantics;
    double ttl_s;            /* > 0: overrides the TTL of every entry; 0 = the semantics' default */
    double capacity_tokens;  /* LRU capacity, +inf = unbounded */
    double min_tokens;       /* shortest cacheable prefix, tokens */
    int shards;              /* independent caches; a request hits only its own shard */
    int shard_by_prefix;     /* 1: shard = hash of the first prefix; 0: uniformly at random */
};

struct sim_disagg_cfg;

/* Autoscaling of a self-hosted deployment (design.md section 4, "Other
 * levers"; the rules are those of the Kubernetes horizontal pod autoscaler).
 * Every interval_s the policy's metric is read and the wanted count is
 * ceil(ready x metric / target), clamped to [min, max].  More than are
 * provisioned (ready + starting): the missing replicas start provisioning
 * now and become ready delay_s later (billed from now).  Fewer: only when no
 * replica is starting and every evaluation for scale_in_cooldown_s wanted
 * fewer, the surplus (down to the largest of those wants) stops receiving
 * requests, drains, and is released (billing stops) when empty.  See
 * sim/src/world_scale.c. */
enum sim_autoscale_policy {
    SIM_AS_UTILIZATION = 0, /* busy share of the ready replicas over the last interval */
    SIM_AS_QUEUE,           /* requests waiting per ready replica, at the evaluation */
    SIM_AS_KV,              /* mean share of KV memory in use over the ready replicas, at the evaluation */
    SIM_AS_SLO              /* mean TTFT of the first tokens of the last interval */
};

struct sim_autoscale_cfg {
    int enabled;
    int min, max;                 /* replicas, 1 <= min <= max <= SIM_MAX_REPLICAS */
    enum sim_autoscale_policy policy;
    double target;                /* the policy's target: share (utilization, kv), requests (queue),
                                     seconds (slo) */
    double interval_s;            /* between evaluations, > 0 */
    double tolerance;             /* metric / target within 1 +/- this: keep the count, [0, 1) */
    double scale_in_cooldown_s;   /* wants below the count for this long before a scale-in, >= 0 */
    double cold_start_s;          /* >= 0: the whole scale-up delay as given; < 0: not given */
    double provision_s;           /* machine provisioning up to the engine start, seconds */
    double load_bandwidth_gbs;    /* weights load rate, 1e9 bytes per second */
    double weights_gb;            /* bytes to load / 1e9 (the model's weights unless given) */
    int weights_given;            /* weights_gb came from the scenario */
    double delay_s;               /* resolved scale-up delay: cold_start_s, else provision_s +
                                     weights_gb / load_bandwidth_gbs */
};

/* Spot (preemptible) capacity of a self-hosted deployment without
 * autoscale.  The highest n_spot replica slots are spot: billed at
 * gpu_hour_usd x (1 - discount) while provisioned, and interrupted by the
 * cloud, each provisioned spot replica independently at rate_per_h (an
 * exponential time to interruption, memoryless, so interruptions per
 * provisioned spot replica-hour are Poisson with that mean) and at the
 * listed times.  An interrupted replica stops at once (llmsim does not act
 * on the notice): billing stops, the requests it held (in service and
 * queued) are routed again from scratch (their KV is lost), and a
 * replacement is provisioned acquire_s later (unbilled wait), then billed
 * while it provisions and loads weights for delay_s before it serves.  See
 * sim/src/world_scale.c. */
#define SIM_MAX_SPOT_TRACE 256

struct sim_spot_interruption {
    double t_s; /* when */
    int replica; /* which slot (a spot one) */
};

struct sim_spot_cfg {
    int enabled;
    double share;        /* share of the replicas that are spot, (0, 1] */
    int n_spot;          /* resolved: round(share x replicas), >= 1; the highest slots */
    double discount;     /* off the on-demand GPU price, [0, 1) */
    double rate_per_h;   /* interruptions per provisioned spot replica-hour, >= 0 */
    double acquire_s;    /* interruption to the replacement's provisioning start (unbilled), >= 0 */
    struct sim_spot_interruption trace[SIM_MAX_SPOT_TRACE]; /* listed interruptions, any order */
    int n_trace;
    /* the replacement's cold start, as autoscale's: cold_start_s, else
     * provision_s + weights_gb / load_bandwidth_gbs */
    double cold_start_s; /* >= 0: given; < 0: not given */
    double provision_s;
    double load_bandwidth_gbs;
    double weights_gb;
    int weights_given;
    double delay_s;      /* resolved replacement delay, seconds */
};

struct sim_deployment_cfg {
    char name[SIM_NAME_MAX];
    enum sim_deploy_kind kind;
    char model[SIM_NAME_MAX];  /* catalog id of the model (price entry for api) */
    struct mdl_price price;    /* resolved, overrides applied (api) */
    struct sim_prompt_cache_cfg cache; /* provider prompt cache (api) */
    int batch_api;                  /* every request through the Batch API */
    /* API rate limits per minute (0 = none): a request starts only when the
     * last 60 s of started requests leave room for it in every limit; else
     * it gets a 429 and retries after an exponential backoff with jitter */
    double rl_requests_per_min, rl_input_tokens_per_min, rl_output_tokens_per_min;
    double rl_backoff_s;            /* first retry delay (doubles per attempt, capped at 60 s) */
    int rl_client_queue;            /* 1: over-limit requests wait in a client-side FIFO instead
                                       (no 429s): each is sent the moment the window has room */
    struct mdl_dist batch_completion_s; /* Batch API: arrival to results, seconds */
    /* latency */
    enum mdl_latency_kind latency_kind;
    struct mdl_api_latency api;        /* MDL_LAT_API */
    /* api: the measured profile (models/catalog/api_latency.yaml) whose
     * figures are the latency defaults, "" for the pooled default; and
     * whether the scenario gave any latency figure itself */
    char api_profile[SIM_NAME_MAX];
    int api_latency_given;
    struct mdl_dist service_time_s;    /* MDL_LAT_SERVICE_TIME */
    struct mdl_linear_latency linear;  /* MDL_LAT_LINEAR */
    /* self-hosted */
    int replicas;                   /* >= 1 */
    int tp;                         /* GPUs per replica (tensor parallel degree) */
    double gpu_hour_usd;            /* USD per GPU-hour, billed while provisioned */
    enum sim_sched_policy scheduler;
    int max_batch;                  /* requests per batch (batching schedulers) */
    double max_batched_tokens;      /* tokens per iteration (continuous), +inf = no limit */
    int chunked_prefill;            /* continuous: split prompts into chunks sharing iterations with decodes */
    int admit_whole_prompt;         /* continuous: admission needs the whole prompt's blocks (else the step's) */
    double kv_watermark;            /* continuous: share of KV blocks kept free when admitting */
    int preempt_keeps_cache;        /* a preempted request's computed prompt blocks go to the prefix cache */
    double max_wait_s;              /* dynamic: longest wait of the oldest request before a partial batch */
    int queue_shared;               /* one FIFO for all replicas (M/M/c) */
    enum sim_queue_order order;     /* scheduler.order: which waiting request goes next */
    double fair_w_in, fair_w_out;   /* order fair: counter weight of an input and an output token */
    size_t n_tenant_weights;        /* order fair: tenants with a weight other than 1 */
    struct sim_tenant_weight *tenant_weights; /* owned */
    size_t n_admission;             /* admission control rules, one per tier (owned) */
    struct sim_admission_cfg *admission;
    size_t n_quotas;                /* per-tenant quotas (self-hosted), one per tenant (owned) */
    struct sim_quota_cfg *quotas;
    enum sim_replica_routing replica_routing; /* when queues are per replica */
    /* hardware (self-hosted) */
    int has_gpu;                    /* roofline.gpu is set */
    int has_llm;                    /* roofline.llm is set (self-hosted model resolved) */
    struct mdl_roofline roofline;   /* GPU, model, tp, dtypes, engine, efficiencies (MDL_LAT_ROOFLINE) */
    enum mdl_engine engine;         /* serving engine (also roofline.engine); rules in world_batch.c */
    char calibration[1024];         /* calibration file applied to the roofline ("" = none), as opened */
    double gpu_memory_utilization;  /* share of GPU memory for weights + KV, (0, 1] */
    double kv_capacity_tokens;      /* > 0: exact KV budget per replica; 0: from memory; inf: unbounded */
    struct mdl_kv_budget kv_budget; /* the engine's memory accounting, per GPU (self-hosted with gpu and model) */
    int block_tokens;               /* KV block size, tokens */
    int prefix_cache;               /* keep finished prompts' KV blocks for later prefix hits */
    struct sim_spec_cfg spec;       /* speculative decoding */
    int has_quality;                /* success probabilities given */
    double success[SIM_N_DIFFICULTY]; /* probability of a successful answer by difficulty */
    double *class_success;          /* per class (n_classes, owned), NaN = by difficulty; NULL = none */
    struct sim_autoscale_cfg autoscale; /* self-hosted: replicas (the count at time 0) vary in [min, max] */
    struct sim_spot_cfg spot;           /* self-hosted: spot replicas, interruptions, replacements */
    /* Prefill/decode disaggregation (owned; NULL = prefill and decode share
     * every replica).  When set, this struct describes the decode pool
     * (gpu, tp, replicas, KV budget, scheduler) and disagg->prefill the
     * prefill pool; see struct sim_disagg_cfg. */
    struct sim_disagg_cfg *disagg;
};

/* A disaggregated self-hosted deployment (Splitwise, Patel et al., ISCA
 * 2024; DistServe, Zhong et al., OSDI 2024): the same model on a prefill
 * pool and a decode pool.  A request is prefilled on a prefill replica,
 * whose iteration emits its first token; it then waits at a decode replica
 * (chosen by the deployment's replica_routing) until that replica has a
 * batch slot and KV memory for the prompt, and its KV cache,
 * kv_bytes_per_token x prompt tokens, crosses the prefill replica's link:
 * one FIFO link per prefill replica, busy bytes / bandwidth per transfer,
 * each arriving latency after its bytes are sent.  The prefill replica
 * holds the blocks until the transfer ends (DistServe's pull). */
struct sim_disagg_cfg {
    struct sim_deployment_cfg prefill; /* the prefill pool: a copy of the deployment with its gpu, tp,
                                          replicas, gpu_hour_usd, gpu_memory_utilization and batch
                                          limits; disagg and class_success NULL */
    double link_bytes_per_s;           /* bandwidth of one prefill replica's link, bytes/s (> 0) */
    double link_latency_s;             /* latency of one transfer, seconds (>= 0) */
    double kv_bytes_per_token;         /* KV bytes one prompt token moves (model and kv dtype) */
};

enum sim_routing_policy {
    SIM_ROUTE_FIXED = 0,
    SIM_ROUTE_SPLIT,
    SIM_ROUTE_CLASSIFIER, /* strong tier for the requests that need it, judged with an accuracy */
    SIM_ROUTE_RULES,      /* the first matching rule, else the default */
    SIM_ROUTE_CASCADE,    /* cheapest tier first, escalate a detected failure to the next */
    SIM_ROUTE_SPILLOVER,  /* the first tier whose queue and expected wait are under the bounds */
    SIM_ROUTE_COST_AWARE  /* the cheapest tier whose expected quality meets the target */
};

#define SIM_MAX_TIERS 16
#define SIM_MAX_LABELS 3

/* One routing rule: every condition set must hold (0, -1 or "" = not set). */
struct sim_route_rule {
    int class_idx;           /* -1 = any class */
    double prompt_tokens_lt; /* > 0: prompt shorter than this */
    double prompt_tokens_ge; /* > 0: prompt at least this long */
    double chars_lt, chars_ge; /* > 0: prompt characters below / at least */
    double words_lt, words_ge; /* > 0: prompt words below / at least */
    int question_mark;       /* 0 = any, 1 = with a question mark, 2 = without */
    char segment[SIM_NAME_MAX];    /* non-empty: the prompt has this segment (> 0 tokens) */
    char no_segment[SIM_NAME_MAX]; /* non-empty: the prompt lacks this segment */
    int to;                  /* deployment index */
};

struct sim_routing_cfg {
    enum sim_routing_policy policy;
    int to;          /* fixed: deployment index */
    double *weights; /* split: one weight per deployment, sum 1 (owned) */
    /* classifier: each request has a true label and the classifier
     * predicts one, row `label` of the confusion matrix giving the
     * probabilities of each prediction; the request goes to label_to[pred].
     * Binary (by_difficulty = 0): label 1 = "needs the strong tier", true
     * when, under the joint quality table of the two tiers, only the strong
     * one answers it (else, without a table, when it is complex); label_to =
     * {weak, strong}.  by_difficulty: the label is the difficulty (simple,
     * moderate, complex).  An accuracy a is the matrix with a on the
     * diagonal and (1 - a) / (labels - 1) elsewhere; a = 1 is the oracle. */
    int strong, weak;
    int by_difficulty;
    int n_labels;                                    /* 2 or 3 */
    int label_to[SIM_MAX_LABELS];                    /* deployment per predicted label */
    double confusion[SIM_MAX_LABELS][SIM_MAX_LABELS];/* [true][predicted], rows sum to 1 */
    double accuracy;                                 /* as given (NaN when a matrix was) */
    size_t n_rules;               /* rules: in order (owned) */
    struct sim_route_rule *rules;
    int fallback;                 /* rules: deployment when no rule matches */
    /* cascade, spillover, cost_aware: deployments in order (cheapest or
     * preferred first) */
    size_t n_tiers;
    int tiers[SIM_MAX_TIERS];
    double detect;       /* cascade: probability that a failed answer is caught (then escalated) */
    double false_alarm;  /* cascade: probability that a good answer is escalated anyway */
    double max_queue;    /* spillover: most requests that may wait at a tier, counting the new one when it
                            would have to wait (inf = no bound; 0 = take it only if it starts at once) */
    double max_wait_s;   /* spillover: ... and its expected wait is at most this (inf = no bound) */
    double quality_target; /* cost_aware: expected success probability wanted, [0, 1] */
};

/* Output length control (design.md section 4, "Other levers"). */
struct sim_output_control_cfg {
    double max_tokens; /* > 0: answers longer than this are cut (flag SIM_RF_TRUNCATED) */
    double verbosity;  /* factor on every drawn output length (1 = as drawn) */
    /* Quality penalties: a truncated answer that would have succeeded fails
     * with probability truncation_penalty; a verbosity below 1 multiplies
     * every success probability by 1 - verbosity_penalty x (1 - verbosity). */
    double truncation_penalty;
    double verbosity_penalty;
};

/* Service-level objectives: a request is good when it meets every target
 * that is set; the run meets a target when that percentile does. */
struct sim_slo_cfg {
    double ttft_s;     /* > 0: target for time to first token */
    double itl_s;      /* > 0: target for the request's mean inter-token latency */
    double e2e_s;      /* > 0: target for end-to-end latency */
    double percentile; /* the percentile the targets apply to, (0, 100] */
};

/* Answer quality (design.md section 4, "Quality").  Each request draws one
 * uniform number u (stream "quality") when it is made; a deployment answers
 * it successfully when u < its success probability for the request's
 * difficulty, so tiers' outcomes are correlated (a question hard for one is
 * hard for all) and routing changes never change the draws.  A joint table
 * for a pair of tiers fixes the shares of (both right, only strong, only
 * weak, neither) exactly instead: u picks the outcome. */
struct sim_quality_joint_cfg {
    int enabled;
    int strong, weak;       /* deployment indices */
    double both, only_strong, only_weak, neither; /* shares, sum 1 */
};

/* Energy and carbon of the self-hosted GPUs (the `energy` section; off
 * unless the scenario has one).  Each GPU of a replica draws
 *
 *     P(t) = idle_w + (max_w - idle_w) x u(t),
 *
 * u(t) = 1 while the replica serves (a batch iteration or a request in
 * service) and 0 while it is provisioned but idle, so that over a run
 *
 *     E_IT = tp x (idle_w x provisioned_s + (max_w - idle_w) x busy_s)
 *
 * summed over replicas, and the facility draws E = pue x E_IT.  The linear
 * utilisation model is the one of Fan, Weber and Barroso, "Power
 * provisioning for a warehouse-sized computer" (ISCA 2007), applied per
 * GPU; idle_w and max_w come from the GPU (models/catalog/gpus.yaml).
 * Electricity costs usd_per_kwh x E and emits g_co2_per_kwh x E. */
struct sim_energy_cfg {
    int enabled;          /* the scenario has an `energy` section */
    double pue;           /* power usage effectiveness, >= 1 (facility / IT energy) */
    double usd_per_kwh;   /* electricity price, USD per kWh */
    double g_co2_per_kwh; /* grid carbon intensity, g CO2-eq per kWh */
    int bill;             /* 1: the electricity $ is added to the run's cost
                             (an owned fleet; rented GPU-hours include power) */
};

/* Defaults of the `energy` keys (docs/scenario-reference.md#energy).
 * PUE: Google's fleet-wide average annual PUE for 2023, 1.10 (Google 2024
 * Environmental Report, read 2026-12; the industry average it quotes is
 * 1.58, Uptime Institute).
 * Price: 8.92 US cents per kWh, the average revenue per kWh of Virginia's
 * industrial sector in 2023 (EIA Electric Power Annual, data for 2023,
 * released 2024-10-17, read 2026-12): the largest US data-centre market.
 * Intensity: 436 g CO2-eq per kWh, the world average of electricity
 * generation in 2022 (Ember, Global Electricity Review 2023, read 2026-12). */
#define SIM_ENERGY_DEFAULT_PUE 1.10
#define SIM_ENERGY_DEFAULT_USD_PER_KWH 0.0892
#define SIM_ENERGY_DEFAULT_G_CO2_PER_KWH 436.0

struct sim_output_cfg {
    char *path;                  /* results file, owned; NULL = none */
    int requests;                /* write the /requests table */
    double timeseries_interval_s;/* > 0: sample /timeseries at this interval */
    int compression;             /* gzip level 0-9 for the tables (0 = none) */
};

struct sim_scenario {
    char name[SIM_NAME_MAX];
    char *description;          /* owned, may be NULL */
    uint64_t seed;
    double duration_s;          /* arrivals stop after this time (0 = unbounded) */
    uint64_t max_requests;      /* arrivals stop after this many (0 = unbounded) */
    double warmup_s;            /* requests arriving earlier are flagged and left out of summaries */
    int replications;           /* >= 1 */
    struct sim_workload_cfg workload;
    size_t n_deployments;
    struct sim_deployment_cfg *deployments; /* owned */
    struct sim_routing_cfg routing;
    struct sim_output_control_cfg output_control;
    struct sim_slo_cfg slo;
    struct sim_energy_cfg energy;
    struct sim_quality_joint_cfg joint;
    struct sim_output_cfg output;
    /* Studies (llmsim sweep and levers; the simulation ignores them).  Each
     * override is a dotted key path and a YAML flow value, as with --set. */
    size_t n_sweep;
    struct sim_sweep_dim *sweep; /* owned: the `sweep:` list, in order */
    size_t n_levers;
    struct sim_lever *levers;    /* owned: the `levers:` list, in order */
};

struct sim_override_text {
    char *key, *value; /* owned */
};
/* One varied key of a sweep: its values (flow text) in order. */
struct sim_sweep_dim {
    char *key;
    size_t n_values;
    char **values;
    int line, col; /* where the entry starts in the scenario */
};
/* One lever of the optimisation ladder: a name and the overrides that pull it. */
struct sim_lever {
    char *name;
    size_t n_sets;
    struct sim_override_text *sets;
    int line, col;
};

void sim_scenario_free(struct sim_scenario *s);

/* The KV budget of one replica of a self-hosted deployment with a GPU and a
 * model, as its engine accounts for it (mdl_kv_budget with the
 * deployment's utilisation, batch limits, block size and draft model). */
void sim_deployment_kv_budget(const struct sim_deployment_cfg *d, struct mdl_kv_budget *out);

/* The long-run mean arrival rate of a generated workload, requests/s:
 * rate_per_s, the profile's mean over its day or week, times the mmpp's
 * stationary mean multiplier (spikes, being finite, left out); closed:
 * clients over the mean think time, the bound the answers' latency only
 * lowers (+inf with no think time); NaN for a trace. */
double sim_workload_mean_rate(const struct sim_workload_cfg *w);
/* The rate of a diurnal profile at hour h of the week (h in [0, 168)),
 * requests/s, before any mmpp or spike multiplier. */
double sim_diurnal_rate(const struct sim_diurnal_cfg *d, double h);

/* Names of enum values as they appear in scenarios. */
const char *sim_arrival_process_name(enum sim_arrival_process p);
const char *sim_deploy_kind_name(enum sim_deploy_kind k);
const char *sim_replica_routing_name(enum sim_replica_routing r);
const char *sim_difficulty_name(enum sim_difficulty d);
const char *sim_sched_policy_name(enum sim_sched_policy p);
const char *sim_autoscale_policy_name(enum sim_autoscale_policy p);
const char *sim_queue_order_name(enum sim_queue_order o);

/* The tenant of a class: its `tenant`, else its own name. */
const char *sim_class_tenant(const struct sim_class_cfg *c);
/* The tenants of a workload in order of first appearance among its
 * classes: idx[c] (n_classes entries) receives the tenant number of class
 * c; returns the number of tenants. */
size_t sim_workload_tenants(const struct sim_workload_cfg *w, int *idx);
/* The priority tiers of a workload, highest first: idx[c] receives the
 * tier number of class c (0 = the highest priority); returns the number of
 * distinct priorities. */
size_t sim_workload_tiers(const struct sim_workload_cfg *w, int *idx);
/* Whether the workload names tenants (some class has `tenant`) and has
 * tiers (some class has a priority other than 0): the summaries then have
 * tenant:NAME and tier:N scopes. */
int sim_workload_has_tenants(const struct sim_workload_cfg *w);
int sim_workload_has_tiers(const struct sim_workload_cfg *w);
/* The weight of tenant `name` under order fair at deployment d (1 unless given). */
double sim_tenant_weight(const struct sim_deployment_cfg *d, const char *name);

#endif
