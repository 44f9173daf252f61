/* llmsim: summary statistics of finished requests and replications.
 *
 * Storage.  Per replication, per scope ("all", each class, each deployment)
 * and per per-request metric, a growable array of the exact samples of the
 * measured (non-warm-up, served) requests, in completion order; capacities
 * double, so appends are amortised O(1).  An array that is so far a copy of
 * an earlier metric's or a constant is not stored until a sample breaks
 * that (struct dvec).  A class scope when there is one
 * class, and a deployment scope when there is one deployment, store
 * nothing: they hold the samples of "all" (scope_alias).  Beside them, per replication and
 * scope, sums over every served request (warm-up included) of the billed cost
 * lines and output tokens, the counts of measured and rejected requests, and
 * the sums over the measured requests of input and cached tokens, cost and
 * counterfactual cost without caching (the ratio-of-sums rows
 * cache_hit_tokens and savings_pct); and per replication a (class x
 * deployment) table of attributed GPU cost, cache-write tokens and request
 * counts: the run-level cost figures are made from these when the
 * replication's ana_stats_add_run arrives.
 *
 * Token-weighted inter-token latency (itl_token_s).  Batch iterations are
 * not kept: per replication and scope ("all" and each deployment) only the
 * sums of the weights w (decode tokens) and of w x duration, for the count,
 * the mean and the confidence interval; and per scope, pooled over the
 * replications, a histogram of the weights over HIST_N logarithmic buckets,
 * [HIST_LO r^k, HIST_LO r^(k+1)) with r = HIST_RATIO = 1.01, covering
 * [HIST_LO, HIST_HI] = [1e-6 s, 1e4 s].  Memory is therefore fixed (HIST_N
 * doubles per scope) whatever the number of iterations.  A percentile is the
 * geometric midpoint HIST_LO r^(k+1/2) of the bucket that holds the weighted
 * quantile (the smallest duration d whose cumulative weight W(<= d) reaches
 * p W); any value of the bucket is within a factor sqrt(r) of it, so the
 * relative error is at most sqrt(1.01) - 1 < 0.4988%.  Durations outside the
 * range are counted (in the weights, the count and the exact mean) in the
 * end buckets, and percentiles are clamped to [HIST_LO, HIST_HI].
 *
 * Percentiles: type 7 of Hyndman and Fan (1996), "Sample quantiles in
 * statistical packages", The American Statistician 50(4): for sorted x[0..n-1]
 * and probability p, h = (n - 1) p and Q(p) = x[floor h] + (h - floor h)
 * (x[floor h + 1] - x[floor h]), the default of numpy, pandas and R.
 *
 * Confidence intervals of the mean (results.h): Student t over the
 * replication means when two or more replications have samples; the method of
 * batch means (Law, "Simulation Modeling and Analysis", chapter 9) over 10
 * batches of consecutive samples when one has.  With n samples the batches
 * hold b = floor(n / 10) samples each and the n - 10 b earliest samples are
 * left out (they are the ones closest to the initial transient).
 *
 * Percentile intervals (results.h, "Percentile intervals"): sectioning.  In
 * exact mode the summary takes each section's (a replication's samples, or
 * a batch of the one replication's) type-7 percentiles and those of all the
 * samples from the few order statistics they read, selected together in
 * place (select.h: one pass to count, one to copy out the buckets holding
 * them; no sort).  The minimum section sizes, pct_min, are
 * ceil(SECTION_TAIL / min(p, 1 - p)) with SECTION_TAIL = 10 expected
 * samples beyond the percentile.  In compact mode a running replication
 * keeps, per slot, an ana_qbatch (sketch.h): its batch means' batches as
 * histograms, fed with the same values in the same order, so they are the
 * same batches; its add_run (or the switch to compact mode, for
 * replications that had theirs) turns them into the replication's four
 * percentiles (rq) and, for the first replication to get there, the
 * batches' percentiles (sect), and frees them.  itl_token_s: a running
 * replication's own weight histogram per iteration scope (itl_h), turned
 * into its four weighted percentiles (itl_q) at its add_run.  Histogram
 * percentiles for the sections and their centre spread each bucket's count
 * (weight) evenly over the bucket: with midpoints, two sections whose
 * percentiles fall in one bucket would look identical.
 *
 * Run-level metrics and what each scope gets are defined in results.h.  The
 * GPU line of a class is each deployment's provisioned cost times the class's
 * share of the GPU cost attributed to that deployment's requests (of its
 * requests when none was attributed), so that class lines add up to "all";
 * its cache storage line likewise, with shares of the deployment's
 * cache-write tokens (of its requests when none was written).
 *
 * Cost per hour.  Time-based costs (provisioned GPUs, prompt-cache storage)
 * are divided by the makespan, so a self-hosted fleet's figure is exactly
 * replicas x tp x gpu_hour_usd; per-request charges (the billed lines) by the
 * arrival period [0, last arrival], so an api deployment's figure is its
 * spend at the offered rate, not diluted by the drain after arrivals stop.
 *
 * Overload (offered_rps, achieved_rps, queue_growth, stable).  Per
 * replication and deployment, the served requests' arrival, service-start
 * and completion times are counted in OV_BINS bins of one width, which
 * doubles (adjacent bins merged) whenever a time falls past the last bin, so
 * memory is fixed and the counts stay exact at every bin boundary.  The
 * window runs over whole bins from the first boundary at or after warmup_s
 * to the last at or before the last arrival: A requests arrived in it, C
 * completed in it (warm-up arrivals included), and at each boundary the
 * number waiting is the arrivals before it less the service starts before
 * it.  A deployment that keeps up completes what arrives, less the change
 * in the number it holds, which stays bounded; one that cannot keep up
 * falls behind by (offered - capacity) x window, and what it cannot serve
 * waits.  It is flagged unstable when both hold:
 *   - the shortfall A - C exceeds 3 sqrt(A): the achieved rate C / T is below
 *     the offered rate A / T by more than three standard errors of the
 *     offered rate, A being (for Poisson arrivals) a Poisson count with
 *     standard error sqrt(A), so the gap is not sampling noise;
 *   - the queue grows: the mean number waiting over the window's last
 *     quarter exceeds that over its first quarter by more than a quarter of
 *     the shortfall (a steady overload gives three quarters of it).  This
 *     spares deployments whose answers take long against the window (the
 *     Batch API, long generations): they end the window holding more
 *     requests in service than they started with, but nothing waits. */
#define _DEFAULT_SOURCE /* madvise, MADV_POPULATE_WRITE */
#include "llmsim/results.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>

#include "select.h"
#include "sketch.h"

/* Per-request metrics. */
enum {
    M_TTFT,
    M_E2E,
    M_QUEUE,
    M_ITL,
    M_INPUT,
    M_OUTPUT,
    M_COST,
    M_PREEMPT,
    M_CACHE_HIT,   /* 1 when cached_tokens > 0 */
    M_CACHE_WRITE, /* cache_write_tokens */
    M_TTFT_HIT,    /* ttft_s of requests with cached_tokens > 0 */
    M_TTFT_MISS,   /* ttft_s of requests with cached_tokens == 0 */
    M_SAVINGS_1K,  /* 1000 x (cost_nocache_usd - cost_usd) */
    M_PERCEIVED,   /* what the user waits for: TTFT when the class streams, else E2E */
    M_SLO_MET,     /* 1 when the request meets every SLO target set (only with an SLO) */
    M_SUCCESS,     /* 1 when the answer was judged successful: the mean is quality */
    N_REQ_METRICS
};
static const char *const req_metric_names[N_REQ_METRICS] = {
    "ttft_s",
    "e2e_s",
    "queue_s",
    "itl_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "preemptions",
    "cache_hit_requests",
    "cache_write_tokens",
    "ttft_hit_s",
    "ttft_miss_s",
    "savings_usd_per_1k",
    "perceived_s",
    "slo_met",
    "success",
};

/* Scope kinds, as bits saying where a run-level metric applies. */
enum { SK_ALL = 1, SK_CLASS = 2, SK_DEPLOYMENT = 4 };
/* Tenant and tier scopes are unions of classes: they get the class rows. */

/* Run-level metrics. */
enum {
    R_THROUGHPUT,
    R_COST_1K,
    R_INPUT_1K,
    R_CACHE_WRITE_1K,
    R_CACHE_READ_1K,
    R_OUTPUT_1K,
    R_GPU_1K,
    R_STORAGE_1K,
    R_GPU_IDLE,
    R_IN_SYSTEM,
    R_LITTLE,
    R_UTIL,
    R_IDLE,
    R_MFU,
    R_MBU,
    R_COST_1M_OUT,
    R_PREEMPT,
    R_ITER,
    R_KV_CAP,
    R_CACHE_STORAGE,
    R_CACHE_UNREAD_USD,
    R_CACHE_UNREAD_N,
    R_CACHE_TOKENS,
    R_ESCALATED,
    R_SPILLED,
    R_LIMITED,
    R_CLIENT_QUEUED,
    R_PF_HIT,
    R_PF_SAVED,
    R_PF_WASTED_1K,
    R_PF_WASTED_N,
    R_CALLS,
    R_ESC_CALLS,
    R_COST_HOUR,
    R_COST_MONTH,
    R_INPUT_TPS,
    R_OUTPUT_TPS,
    R_OFFERED,
    R_ACHIEVED,
    R_QUEUE_GROWTH,
    R_STABLE,
    /* Jain's fairness index over the tenants' token throughput: a row only
     * when the workload names two or more tenants (run_row) */
    R_JAIN,
    /* energy: rows only with the scenario's `energy` section (run_row);
     * these stay last */
    R_ENERGY_KWH,
    R_ENERGY_1K,
    R_ENERGY_USD,
    R_CO2,
    R_CO2_1K,
    R_COST_ENERGY_1K,
    /* spot: rows only when a deployment has spot replicas (run_row) */
    R_SPOT_INTERRUPTIONS,
    R_SPOT_REQUEUED,
    R_SPOT_HOURS,
    /* prefill/decode disaggregation: rows only when a deployment is
     * disaggregated (run_row); these stay last */
    R_KV_TRANSFER,
    R_KV_WAIT,
    R_PREFILL_UTIL,
    R_DECODE_UTIL,
    N_RUN_METRICS
};
static const struct {
    const char *name;
    unsigned scopes; /* SK_* bits */
} run_metrics[N_RUN_METRICS] = {
    {"throughput_rps", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_input_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_cache_write_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_cache_read_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_output_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_gpu_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_cache_storage_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"gpu_idle_usd", SK_ALL | SK_DEPLOYMENT},
    {"in_system_mean", SK_ALL},
    {"littles_law_rel_err", SK_ALL},
    {"utilization", SK_ALL | SK_DEPLOYMENT},
    {"idle_share", SK_ALL | SK_DEPLOYMENT},
    {"mfu", SK_ALL | SK_DEPLOYMENT},
    {"mbu", SK_ALL | SK_DEPLOYMENT},
    {"cost_per_1m_output_tokens_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"preemptions_total", SK_ALL | SK_DEPLOYMENT},
    {"iterations", SK_ALL | SK_DEPLOYMENT},
    {"kv_capacity_tokens", SK_DEPLOYMENT},
    {"cache_storage_usd", SK_ALL | SK_DEPLOYMENT},
    {"cache_unread_write_usd", SK_ALL | SK_DEPLOYMENT},
    {"cache_unread_writes", SK_ALL | SK_DEPLOYMENT},
    {"cache_tokens", SK_ALL | SK_DEPLOYMENT},
    {"escalated_share", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"spilled_share", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"rate_limited_share", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"client_queued_share", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"prefetch_hit_share", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"prefetch_saved_s", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"prefetch_wasted_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"prefetch_wasted_requests", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"calls", SK_ALL | SK_DEPLOYMENT},
    {"escalated_calls", SK_ALL | SK_DEPLOYMENT},
    {"cost_per_hour_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"cost_per_month_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"input_tokens_per_s", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"output_tokens_per_s", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"offered_rps", SK_ALL | SK_DEPLOYMENT},
    {"achieved_rps", SK_ALL | SK_DEPLOYMENT},
    {"queue_growth", SK_ALL | SK_DEPLOYMENT},
    {"stable", SK_ALL | SK_DEPLOYMENT},
    {"jain_index", SK_ALL},
    {"energy_kwh", SK_ALL | SK_DEPLOYMENT},
    {"energy_per_1k_kwh", SK_ALL | SK_DEPLOYMENT},
    {"energy_usd", SK_ALL | SK_DEPLOYMENT},
    {"co2_g", SK_ALL | SK_DEPLOYMENT},
    {"co2_per_1k_g", SK_ALL | SK_DEPLOYMENT},
    {"cost_energy_per_1k_usd", SK_ALL | SK_CLASS | SK_DEPLOYMENT},
    {"interruptions", SK_ALL | SK_DEPLOYMENT},
    {"requeued_requests", SK_ALL | SK_DEPLOYMENT},
    {"spot_replica_hours", SK_ALL | SK_DEPLOYMENT},
    {"kv_transfer_s", SK_ALL | SK_DEPLOYMENT},
    {"kv_wait_s", SK_ALL | SK_DEPLOYMENT},
    {"prefill_utilization", SK_ALL | SK_DEPLOYMENT},
    {"decode_utilization", SK_ALL | SK_DEPLOYMENT},
};

/* Hours in a month for cost_per_month_usd: 365 x 24 / 12. */
#define HOURS_PER_MONTH 730.0

/* The overload bins (see the top of the file). */
#define OV_BINS 4096
#define OV_WIDTH0 0x1p-10 /* s: the first bin width */
enum { OV_ARRIVE, OV_START, OV_DONE, OV_KINDS };

/* Billed lines summed per scope (all requests). */
enum { L_INPUT, L_CACHE_WRITE, L_CACHE_READ, L_OUTPUT, N_LINES };

#define BATCHES 10
#define BATCH_MIN_SAMPLES 20

/* Percentile intervals (results.h): the percentiles of a row, and the
 * fewest samples a section (a replication or a batch) must hold for each:
 * ceil(SECTION_TAIL / min(p, 1 - p)), so that SECTION_TAIL of them are
 * expected beyond the percentile (see the top of the file). */
#define N_PCT 4
#define SECTION_TAIL 10
static const double pct_p[N_PCT] = {0.50, 0.90, 0.95, 0.99};
static const uint64_t pct_min[N_PCT] = {20, 100, 200, 1000};

/* The itl_token_s histogram (see the top of the file). */
#define HIST_LO 1e-6
#define HIST_HI 1e4
#define HIST_RATIO 1.01
#define HIST_N 2315 /* ceil(log(HIST_HI / HIST_LO) / log(HIST_RATIO)) */
/* Mantissa bits of hist_bucket's start-table index: a cell spans a ratio of
 * 1 + 2^-7, less than HIST_RATIO. */
#define HIST_CELL_BITS 7

/* A metric's samples in one replication and scope.  Until a request shows
 * otherwise an array is virtual, so that the copies and constants a run
 * produces (ttft_miss_s without prompt caching and perceived_s of streaming
 * classes are ttft_s; preemptions, cache writes and the like are often 0
 * throughout) take no memory and no stores: DV_NONE before its first sample,
 * DV_TWIN "the samples of the earlier metric twin of this scope so far" (each
 * sample equal, bit for bit, to twin's of the same request, and pushed exactly
 * when twin's was, so n is twin's n; twin itself is DV_CONST or DV_REAL) and
 * DV_CONST "n copies of c".  The first request that breaks that turns it into
 * DV_REAL (dvec_settle), an array filled with what it stood for; readers see
 * the samples through dvec_view.  cap is kept for a virtual array as if it
 * were real, so that "all"'s room (rep_room) counts for it too. */
enum { DV_NONE, DV_REAL, DV_TWIN, DV_CONST };

struct dvec {
    double *v; /* DV_REAL: the samples */
    size_t n, cap;
    int state;
    int twin; /* DV_TWIN */
    double c; /* DV_CONST */
};

/* A scope's metrics whose dvec is DV_REAL, and DV_TWIN or DV_CONST (the
 * others are DV_NONE), one bit each. */
struct smask {
    uint32_t real, virt;
    /* Measured requests the scope has samples of: the n of its virtual
     * ALWAYS_MASK metrics, which every one of them has (dvec_n), so that
     * they are counted once, not once each. */
    size_t count;
    /* dvec_settle's quick check: the constants (cm, their values cc) and
     * the twins (tm, of te); and the real ALWAYS_MASK metrics (ra), which
     * push_samples appends to without looking at the request's metrics.  As
     * dvec_prepare left them. */
    unsigned nc, nt, nra;
    uint8_t cm[N_REQ_METRICS], tm[N_REQ_METRICS], te[N_REQ_METRICS], ra[N_REQ_METRICS];
    double cc[N_REQ_METRICS];
    /* "all" only: the kernel refused MADV_POPULATE_WRITE (prefault), so it
     * is not asked again. */
    int no_prefault;
};

/* What a dvec holds: n samples at v, or (v NULL) n copies of c. */
struct dview {
    const double *v;
    double c;
    size_t n;
};

struct scope_acc {
    uint64_t requests;        /* every served request (not rejected), warm-up included */
    uint64_t measured;        /* served requests not flagged SIM_RF_WARMUP */
    uint64_t rejected;        /* rejected requests not flagged SIM_RF_WARMUP */
    double output_tokens;     /* output tokens of every served request */
    double line_usd[N_LINES]; /* billed lines of every request */
    /* Measured requests only (the ratio-of-sums rows). */
    uint64_t input_tokens;  /* their input_tokens */
    uint64_t output_measured; /* their output_tokens */
    uint64_t cached_tokens; /* their cached_tokens */
    double cost_usd;        /* their billed lines + GPU line */
    double nocache_usd;     /* their cost_nocache_usd */
    uint64_t escalated, spilled, limited, client_queued, pf_hits; /* of them, flagged so */
    double pf_saved_s;      /* prefetch hits: latency the user did not wait for */
    /* wasted prefetches (every one, warm-up included) */
    uint64_t wasted;
    double wasted_usd;
};

/* Compact mode: what a replication keeps of a metric's samples. */
struct tally {
    uint64_t n;
    double sum;
    struct ana_bmeans bm; /* for the batch-means interval of one replication */
};

/* Compact mode: the batch percentiles of the first replication with samples
 * of a slot to reach its add_run (kept: it has been taken; nb 0: none to
 * use, as when later samples of that replication came after its add_run). */
struct sections {
    int kept;
    uint32_t rep;   /* the replication */
    uint32_t nb;    /* batches */
    uint64_t bsize; /* samples per batch */
    double q[N_PCT][2 * ANA_BM_BATCHES];
};

struct rep {
    struct dvec *samples;  /* [scope * N_REQ_METRICS + metric] */
    struct smask *mask;    /* [scope]: which of its dvecs are real, which virtual */
    struct scope_acc *acc; /* [scope]; read through acc_of */
    double *itl_w;         /* [iscope]: decode tokens of measured iterations */
    double *itl_wd;        /* [iscope]: their sum of tokens x itl_s */
    double *gpu_cd_usd;    /* [class * nd + deployment]: cost_gpu_usd of every request */
    double *cw_cd;         /* [class * nd + deployment]: cache_write_tokens of every served one */
    uint64_t *requests_cd; /* [class * nd + deployment]: every served request */
    double *run;           /* [scope * N_RUN_METRICS + metric], NaN where undefined */
    int has_run;           /* ana_stats_add_run was called */
    /* overload: [(deployment * OV_KINDS + kind) * OV_BINS + bin] counts of
     * the served requests' arrivals, service starts and completions in bins
     * of ov_width seconds; NULL before the first and after add_run */
    uint32_t *ov;
    double ov_width;       /* s */
    /* 1 / ov_width.  The width is a power of two, so its reciprocal is
     * exact and x * ov_inv is x / ov_width, bit for bit (both are the
     * correctly rounded x / ov_width, IEEE 754 section 5.4.1), without a
     * division per count. */
    double ov_inv;
    double last_arrival_s; /* latest arrival of any request, s (-1 before the first) */
    struct tally *tally;   /* compact mode: [scope * N_REQ_METRICS + metric], NULL before */
    /* Percentile intervals in compact mode: per slot, the batches of this
     * replication's samples as histograms until its add_run (then NULL),
     * and its percentiles from then on ([slot * N_PCT + j], NaN unknown). */
    struct ana_qbatch *qs;
    double *rq;
    /* Percentile intervals of itl_token_s: per iteration scope, this
     * replication's histogram of decode tokens ([iscope * HIST_N + bucket],
     * from its first iteration to its add_run, then NULL), its weighted
     * percentiles from its add_run on ([iscope * N_PCT + j], NaN unknown)
     * and its measured iterations. */
    double *itl_h;
    double *itl_q;
    uint64_t *itl_n;
    int itl_done; /* add_run has taken itl_h's percentiles */
    /* Tenant time series (ana_stats_write_tenant_ts): per interval of
     * tts_interval_s and tenant, [(bin * nt + tenant) * 3 + {requests,
     * input tokens, output tokens}] of the served requests that completed in
     * it; NULL without two tenants or a time-series interval. */
    double *tts;
    size_t tts_bins;
    /* Exact mode: samples the "all" scope's arrays can each take before
     * they grow or have their next pages prefaulted (rep_room), so that a
     * request checks one count, not one capacity per metric. */
    size_t room;
};

struct ana_stats {
    size_t nc, nd;                /* classes, deployments */
    /* Tenant time series: the interval (output.timeseries_interval_s; 0 =
     * none) and the counter weights of an input and an output token (the
     * first deployment with order fair's, else the VTC paper's 1 and 2). */
    double tts_interval_s, tts_w_in, tts_w_out;
    size_t nt, ntier;             /* tenant and tier scopes (0 when the workload names no tenant / has
                                     one priority) */
    int *tenant_of, *tier_of;     /* [class]: its tenant and tier number */
    size_t nscopes;               /* 1 + nc + nd + nt + ntier: all, classes, deployments, tenants, tiers */
    char (*scope)[ANA_SCOPE_MAX]; /* scope names */
    double warmup_s;
    unsigned char *self_hosted; /* [deployment]: SIM_DEPLOY_SELF_HOSTED */
    unsigned char *streaming;   /* [class]: the class streams its answers */
    struct sim_slo_cfg slo;     /* targets (0 = not set) */
    int has_slo;
    int energy;                 /* the scenario accounts energy: its rows are written */
    int spot;                   /* a deployment has spot replicas: the spot rows are written */
    int bill_energy;            /* ... and adds the electricity $ to the costs */
    int disagg;                 /* a deployment is disaggregated: the kv_transfer_s etc. rows are written */
    size_t nreps;               /* slots in reps */
    struct rep **reps;          /* [replication], NULL until the first record */
    /* [iscope * HIST_N + bucket]: decode tokens of every replication's
     * measured iterations; NULL until the first.  edges: [HIST_N + 1],
     * HIST_LO HIST_RATIO^k, allocated with hist. */
    double *hist;
    double *edges;
    uint16_t *hist_start; /* [hist_cell]: the bucket of the cell's smallest value */
    /* Compact mode (see the top of the file): past exact_limit measured
     * requests, samples go into histograms pooled over the replications. */
    uint64_t exact_limit;  /* measured requests kept exactly (all replications) */
    uint64_t stored;       /* measured served requests so far */
    int compact;
    struct ana_vhist *vh;  /* [scope * N_REQ_METRICS + metric] once compact */
    struct sections *sect; /* [scope * N_REQ_METRICS + metric] once compact */
    /* The class scope (one class) and the deployment scope (one
     * deployment) are aliases of "all": its samples (scope_alias) and
     * its sums (acc_of). */
    int alias_class, alias_dep;
    int plain; /* both, and no tenant or tier scope: "all" is the one to add to */
    /* plain, without an SLO, in exact mode: the common case, which
     * ana_stats_add takes through a copy of its work specialised for it
     * (add_request); go_compact clears it. */
    int lean;
    /* Requests a replication can hold (the horizon's request count, else
     * the trace's rows; 0: unbounded): its "all" sample arrays start at
     * that size instead of growing to it (rep_room). */
    uint64_t horizon;
};

/* Iteration scopes ("iscope"): 0 is "all", 1 + d deployment d. */
static size_t n_iscopes(const struct ana_stats *s)
{
    return 1 + s->nd;
}

/* The iteration scope whose histograms hold scope j's: with one deployment
 * its scope (1) is an alias of "all" (0), whose histograms receive the very
 * additions in the same order, so the common path of
 * ana_stats_add_iteration fills only "all"'s (two of the four buckets it
 * would touch at random places, a cache miss each). */
static size_t hist_scope(const struct ana_stats *s, size_t j)
{
    return s->alias_dep && j == 1 ? 0 : j;
}

static unsigned scope_kind(const struct ana_stats *s, size_t k)
{
    return k == 0 ? SK_ALL : k <= s->nc ? SK_CLASS : k <= s->nc + s->nd ? SK_DEPLOYMENT : SK_CLASS;
}

/* Scope k is a tenant or tier scope (a union of classes). */
static int scope_group(const struct ana_stats *s, size_t k)
{
    return k > s->nc + s->nd;
}

/* Whether class c belongs to the tenant or tier scope k. */
static int group_has(const struct ana_stats *s, size_t k, size_t c)
{
    size_t g = k - 1 - s->nc - s->nd;
    return g < s->nt ? (size_t)s->tenant_of[c] == g : (size_t)s->tier_of[c] == g - s->nt;
}

/* Whether scope k holds every request "all" holds (the one class, or the
 * one deployment): its per-request samples are then not stored, since
 * they are the samples of "all" in the same order, and its rows are
 * those of "all" (same_as_all).  A third of the statistics memory and of
 * the stores of ana_stats_add for a one-class, one-deployment scenario. */
static int scope_alias(const struct ana_stats *s, size_t k)
{
    unsigned kind = scope_kind(s, k);
    return (kind == SK_CLASS && s->nc == 1 && !scope_group(s, k)) || (kind == SK_DEPLOYMENT && s->nd == 1);
}

/* Scope k's sums in replication rep.  The aliased class and deployment
 * scopes (alias_class, alias_dep) would receive the very additions of
 * "all", in the same order, so they read "all"'s sums instead of keeping a
 * copy up to date with every request. */
static const struct scope_acc *acc_of(const struct ana_stats *s, const struct rep *rep, size_t k)
{
    int alias = (k == 1 && s->alias_class) || (k == 1 + s->nc && s->alias_dep);
    return &rep->acc[alias ? 0 : k];
}

/* Index of the lowest set bit of u != 0 (metrics are visited in
 * increasing order, as a loop over them would). */
static unsigned ctz32(uint32_t u)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctz(u);
#else
    unsigned k = 0;
    while (!(u & 1u)) {
        u >>= 1;
        k++;
    }
    return k;
#endif
}

/* In *out, the capacity an array of capacity cap (0: none yet) grows to
 * so as to hold need samples: from 64, doubling.  Returns 0 or
 * LLMSIM_ENOMEM (more bytes than a size_t counts). */
static int grown_cap(size_t cap, size_t need, size_t *out)
{
    cap = cap ? cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(double))
            return LLMSIM_ENOMEM;
        cap *= 2;
    }
    *out = cap;
    return 0;
}

/* Sets d's capacity to exactly cap >= d->n (a virtual array only takes the
 * number: it is allocated when it becomes real).  Returns 0 or
 * LLMSIM_ENOMEM (d unchanged). */
static int dvec_resize(struct dvec *d, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(double))
        return LLMSIM_ENOMEM;
    if (d->state != DV_REAL) {
        d->cap = cap;
        return 0;
    }
    double *v = realloc(d->v, cap * sizeof *v);
    if (!v)
        return LLMSIM_ENOMEM;
    d->v = v;
    d->cap = cap;
    return 0;
}

/* Grows d, doubling, until it has room for need samples. */
static int dvec_reserve(struct dvec *d, size_t need)
{
    size_t cap;
    if (need <= d->cap)
        return 0;
    return grown_cap(d->cap, need, &cap) != 0 ? LLMSIM_ENOMEM : dvec_resize(d, cap);
}

/* The metrics whose samples every served request has (the others: itl_s
 * with two streamed tokens, ttft_hit_s or ttft_miss_s, slo_met with an
 * SLO). */
#define ALWAYS_MASK                                                                                \
    (((1u << N_REQ_METRICS) - 1) &                                                                 \
     ~((1u << M_ITL) | (1u << M_TTFT_HIT) | (1u << M_TTFT_MISS) | (1u << M_SLO_MET)))

/* x and y are the same double, bit for bit (as memcmp compares samples). */
static inline int same_bits(double x, double y)
{
    uint64_t a, b;
    memcpy(&a, &x, sizeof a);
    memcpy(&b, &y, sizeof b);
    return a == b;
}

/* The samples metric m of the scope whose dvecs start at base (its masks
 * mk) holds. */
static size_t dvec_n(const struct dvec *base, const struct smask *mk, int m)
{
    return ((mk->virt & ALWAYS_MASK) >> m) & 1u ? mk->count : base[m].n;
}

/* The samples of metric m of the scope whose dvecs start at base. */
static struct dview dvec_view(const struct dvec *base, const struct smask *mk, int m)
{
    const struct dvec *d = &base[m];
    const struct dvec *e = d->state == DV_TWIN ? &base[d->twin] : d;
    size_t n = dvec_n(base, mk, m);
    return e->state == DV_REAL ? (struct dview){e->v, 0, n} : (struct dview){NULL, e->c, n};
}

/* The samples of metric slot i (scope * N_REQ_METRICS + metric) of rep. */
static struct dview slot_view(const struct rep *rep, size_t i)
{
    return dvec_view(&rep->samples[i - i % N_REQ_METRICS], &rep->mask[i / N_REQ_METRICS],
                     (int)(i % N_REQ_METRICS));
}

/* Samples rep_room grants at most at a time, prefaulting their pages in
 * each real array of "all": 512 KiB of each, so that the kernel maps an
 * array's pages a batch per call instead of a page fault per 4 KiB as the
 * samples reach them, and never more than that ahead of the samples. */
#define PREFAULT_SAMPLES 65536

/* Has the kernel map, writable, the pages of samples [from, to) of v,
 * which lie in one allocation (madvise(2), MADV_POPULATE_WRITE, Linux 5.14
 * on): the page faults the stores would take, taken at once.  Where that
 * is refused it tells *off and is not asked again; the stores fault as
 * they would have. */
static void prefault(double *v, size_t from, size_t to, int *off)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    long pg = sysconf(_SC_PAGESIZE);
    if (*off || to <= from || pg <= 0)
        return;
    /* From the start of the page holding sample from: madvise takes page
     * boundaries, and populating a mapped page again changes nothing. */
    uintptr_t a = (uintptr_t)(v + from) & ~((uintptr_t)pg - 1), e = (uintptr_t)(v + to);
    if (madvise((void *)a, e - a, MADV_POPULATE_WRITE) != 0)
        *off = 1;
#else
    (void)v;
    (void)from;
    (void)to;
    *off = 1;
#endif
}

/* Turns virtual metric m of the scope at base into an array of its samples,
 * of its capacity (which has room for the request at hand).  Should that
 * much memory not be there, it takes the doubling size instead and lowers
 * *room ("all"'s count, else NULL) to what that leaves.  For "all", the
 * pages of the samples copied and of the room are prefaulted, as rep_room
 * does.  Returns 0 or LLMSIM_ENOMEM (then m is as it was). */
static int dvec_materialise(struct dvec *base, struct smask *mk, int m, size_t *room)
{
    struct dvec *d = &base[m];
    struct dview w = dvec_view(base, mk, m);
    size_t n = w.n, cap;
    /* Only "all"'s virtual arrays have their capacity kept (rep_room). */
    if (grown_cap(d->cap, n + 1, &cap) != 0)
        return LLMSIM_ENOMEM;
    double *v = malloc(cap * sizeof *v);
    if (!v) {
        size_t want = cap;
        if (grown_cap(0, n + 1, &cap) != 0 || cap >= want || !(v = malloc(cap * sizeof *v)))
            return LLMSIM_ENOMEM;
        if (room && *room > cap - n)
            *room = cap - n;
    }
    if (room && !mk->no_prefault)
        prefault(v, 0, n + *room, &mk->no_prefault);
    if (w.v)
        memcpy(v, w.v, n * sizeof *v);
    else
        for (size_t j = 0; j < n; j++)
            v[j] = w.c;
    d->v = v;
    d->n = n;
    d->cap = cap;
    d->state = DV_REAL;
    mk->real |= 1u << m;
    mk->virt &= ~(1u << m);
    return 0;
}

/* dvec_settle's quick check of the scope's virtual metrics, after a change
 * of their states. */
static void dvec_prepare(const struct dvec *base, struct smask *mk)
{
    mk->nc = mk->nt = mk->nra = 0;
    for (uint32_t u = mk->real & ALWAYS_MASK; u != 0; u &= u - 1)
        mk->ra[mk->nra++] = (uint8_t)ctz32(u);
    for (uint32_t u = mk->virt; u != 0; u &= u - 1) {
        unsigned m = ctz32(u);
        if (base[m].state == DV_CONST) {
            mk->cm[mk->nc] = (uint8_t)m;
            mk->cc[mk->nc++] = base[m].c;
        } else {
            mk->tm[mk->nt] = (uint8_t)m;
            mk->te[mk->nt++] = (uint8_t)base[m].twin;
        }
    }
}

/* Before a measured request's samples v of the metrics in use go into the
 * scope at base: decides each virtual metric's state at its first sample
 * (the twin of the earliest metric pushed with it for the first time too,
 * equal to it and not a twin itself, else a constant), and makes real the
 * ones this request breaks (a twin of a constant that goes on being that
 * constant becomes the constant instead).  Changes how the samples are
 * held, never what they are, so a failure leaves nothing half added.
 * Returns 0 or LLMSIM_ENOMEM. */
static int dvec_settle_all(struct dvec *base, struct smask *mk, const double *v, uint32_t use,
                           size_t *room)
{
    uint32_t fromc = 0; /* made real here from a constant (whose c stays) */
    /* The virtual ones, and those with a first sample here. */
    for (uint32_t u = mk->virt | (use & ~mk->real); u != 0; u &= u - 1) {
        int m = (int)ctz32(u);
        struct dvec *d = &base[m];
        uint32_t in = (use >> m) & 1u;
        if (d->state == DV_NONE) {
            mk->virt |= 1u << m;
            d->state = DV_CONST;
            d->c = v[m];
            for (int e = 0; e < m; e++)
                if (((use >> e) & 1u) && dvec_n(base, mk, e) == 0 && base[e].state != DV_TWIN &&
                    same_bits(v[e], v[m])) {
                    d->state = DV_TWIN;
                    d->twin = e;
                    break;
                }
            continue;
        }
        if (d->state == DV_CONST && (!in || same_bits(v[m], d->c)))
            continue;
        if (d->state == DV_TWIN) {
            const struct dvec *e = &base[d->twin];
            if (in == ((use >> d->twin) & 1u) && (!in || same_bits(v[m], v[d->twin])))
                continue;
            if ((e->state == DV_CONST || ((fromc >> d->twin) & 1u)) && (!in || same_bits(v[m], e->c))) {
                d->state = DV_CONST;
                d->c = e->c;
                continue;
            }
        }
        fromc |= d->state == DV_CONST ? 1u << m : 0u;
        int rc = dvec_materialise(base, mk, m, room);
        if (rc) {
            dvec_prepare(base, mk);
            return rc;
        }
    }
    dvec_prepare(base, mk);
    return 0;
}

/* dvec_settle_all when the request breaks or starts some virtual metric;
 * most requests go on every one (its value is the constant, its twin's). */
static inline int dvec_settle(struct dvec *base, struct smask *mk, const double *v, uint32_t use, size_t *room)
{
    int quiet = (use & ~(mk->real | mk->virt)) == 0;
    for (unsigned i = 0; i < mk->nc && quiet; i++)
        quiet = same_bits(v[mk->cm[i]], mk->cc[i]) || !((use >> mk->cm[i]) & 1u);
    for (unsigned i = 0; i < mk->nt && quiet; i++) {
        unsigned m = mk->tm[i], e = mk->te[i];
        quiet = ((use >> m) & 1u) == ((use >> e) & 1u) && (!((use >> m) & 1u) || same_bits(v[m], v[e]));
    }
    return quiet ? 0 : dvec_settle_all(base, mk, v, use, room);
}

/* Exact mode, when the "all" scope's arrays are full (rep->room == 0):
 * grows each array that can get samples (slo_met only with an SLO) to the
 * same capacity, doubling as dvec_reserve does, and sets rep->room to what
 * they can take.  A replication's first arrays are sized for its horizon
 * instead (the request count, at most the samples left before compact
 * mode: exact_limit + 1 - stored), so that a run of known length does not
 * copy its samples over and over while they grow; without a request count,
 * or when that much memory is not there, they start at 64 and double.  A
 * virtual array only takes the capacity, allocated if it becomes real
 * (dvec_materialise).
 * Returns 0 or LLMSIM_ENOMEM. */
static int rep_room(const struct ana_stats *s, struct rep *rep)
{
    struct dvec *d = rep->samples;
    uint32_t slots = ((1u << N_REQ_METRICS) - 1) & ~(s->has_slo ? 0u : 1u << M_SLO_MET);
    size_t most = 0;
    for (uint32_t u = slots; u != 0; u &= u - 1)
        if (dvec_n(d, &rep->mask[0], (int)ctz32(u)) > most)
            most = dvec_n(d, &rep->mask[0], (int)ctz32(u));
    if (most == 0 && d[M_TTFT].cap == 0 && s->horizon > 0) {
        uint64_t left = s->exact_limit - s->stored + 1;
        uint64_t want = s->horizon < left ? s->horizon : left;
        int rc = 0;
        for (uint32_t u = slots; u != 0 && rc == 0 && want > 64 && want <= SIZE_MAX; u &= u - 1)
            rc = dvec_resize(&d[ctz32(u)], (size_t)want);
        /* Out of memory for all of it: grow as the run goes instead. */
        for (uint32_t u = slots; u != 0 && rc != 0; u &= u - 1) {
            free(d[ctz32(u)].v);
            memset(&d[ctz32(u)], 0, sizeof *d);
            rep->mask[0].real &= ~(1u << ctz32(u));
            rep->mask[0].virt &= ~(1u << ctz32(u));
        }
        if (rc != 0)
            dvec_prepare(d, &rep->mask[0]);
    }
    size_t room = SIZE_MAX;
    for (uint32_t u = slots; u != 0; u &= u - 1) {
        struct dvec *x = &d[ctz32(u)];
        if (dvec_reserve(x, most + 1) != 0)
            return LLMSIM_ENOMEM;
        size_t n = dvec_n(d, &rep->mask[0], (int)ctz32(u));
        if (x->cap - n < room)
            room = x->cap - n;
    }
    if (!rep->mask[0].no_prefault) {
        room = room < PREFAULT_SAMPLES ? room : PREFAULT_SAMPLES;
        for (uint32_t u = rep->mask[0].real & slots; u != 0; u &= u - 1) {
            struct dvec *x = &d[ctz32(u)];
            prefault(x->v, x->n, x->n + room, &rep->mask[0].no_prefault);
        }
    }
    rep->room = room;
    return 0;
}

static void rep_free(const struct ana_stats *s, struct rep *r)
{
    if (!r)
        return;
    if (r->samples)
        for (size_t i = 0; i < s->nscopes * N_REQ_METRICS; i++)
            free(r->samples[i].v);
    free(r->samples);
    free(r->mask);
    free(r->acc);
    free(r->itl_w);
    free(r->itl_wd);
    free(r->gpu_cd_usd);
    free(r->cw_cd);
    free(r->requests_cd);
    free(r->run);
    free(r->tally);
    if (r->qs)
        for (size_t i = 0; i < s->nscopes * N_REQ_METRICS; i++)
            ana_qbatch_free(&r->qs[i]);
    free(r->qs);
    free(r->rq);
    free(r->itl_h);
    free(r->itl_q);
    free(r->itl_n);
    free(r->tts);
    free(r->ov);
    free(r);
}

/* A compact-mode replication's tallies and interval storage: the batch
 * histograms (with qs != 0) and its percentiles (NaN until its add_run).
 * Returns 0 or LLMSIM_ENOMEM. */
static int rep_compact_alloc(const struct ana_stats *s, struct rep *r, int qs)
{
    size_t nslots = s->nscopes * N_REQ_METRICS;
    if (!r->tally)
        r->tally = calloc(nslots, sizeof *r->tally);
    if (qs && !r->qs && !(r->qs = calloc(nslots, sizeof *r->qs)))
        return LLMSIM_ENOMEM;
    if (!r->rq && (r->rq = malloc(nslots * N_PCT * sizeof *r->rq)) != NULL)
        for (size_t i = 0; i < nslots * N_PCT; i++)
            r->rq[i] = NAN;
    return r->tally && (!qs || r->qs) && r->rq ? 0 : LLMSIM_ENOMEM;
}

/* The replication's storage, allocated on first use. */
static int rep_alloc(struct ana_stats *s, int64_t replication, struct rep **out)
{
    if (replication < 0)
        return LLMSIM_EINVAL;
    if (replication >= SIM_MAX_REPLICATIONS)
        return LLMSIM_ERANGE;
    size_t i = (size_t)replication;
    if (i >= s->nreps) {
        size_t n = s->nreps ? s->nreps : 4;
        while (n <= i)
            n *= 2;
        struct rep **reps = realloc(s->reps, n * sizeof *reps);
        if (!reps)
            return LLMSIM_ENOMEM;
        memset(reps + s->nreps, 0, (n - s->nreps) * sizeof *reps);
        s->reps = reps;
        s->nreps = n;
    }
    if (!s->reps[i]) {
        size_t ncd = s->nc * s->nd > 0 ? s->nc * s->nd : 1;
        struct rep *r = calloc(1, sizeof *r);
        if (!r)
            return LLMSIM_ENOMEM;
        r->samples = calloc(s->nscopes * N_REQ_METRICS, sizeof *r->samples);
        r->mask = calloc(s->nscopes, sizeof *r->mask);
        r->acc = calloc(s->nscopes, sizeof *r->acc);
        r->itl_w = calloc(n_iscopes(s), sizeof *r->itl_w);
        r->itl_wd = calloc(n_iscopes(s), sizeof *r->itl_wd);
        r->gpu_cd_usd = calloc(ncd, sizeof *r->gpu_cd_usd);
        r->cw_cd = calloc(ncd, sizeof *r->cw_cd);
        r->requests_cd = calloc(ncd, sizeof *r->requests_cd);
        r->run = malloc(s->nscopes * N_RUN_METRICS * sizeof *r->run);
        r->itl_q = malloc(n_iscopes(s) * N_PCT * sizeof *r->itl_q);
        r->itl_n = calloc(n_iscopes(s), sizeof *r->itl_n);
        if (!r->samples || !r->mask || !r->acc || !r->itl_w || !r->itl_wd || !r->gpu_cd_usd || !r->cw_cd ||
            !r->requests_cd || !r->run || !r->itl_q || !r->itl_n ||
            (s->compact && rep_compact_alloc(s, r, 1) != 0)) {
            rep_free(s, r);
            return LLMSIM_ENOMEM;
        }
        for (size_t k = 0; k < s->nscopes * N_RUN_METRICS; k++)
            r->run[k] = NAN;
        for (size_t k = 0; k < n_iscopes(s) * N_PCT; k++)
            r->itl_q[k] = NAN;
        r->last_arrival_s = -1;
        s->reps[i] = r;
    }
    *out = s->reps[i];
    return 0;
}

/* rep_alloc, with the common case (storage already there: every record
 * but a replication's first) inline in the per-record paths. */
static inline int rep_get(struct ana_stats *s, int64_t replication, struct rep **out)
{
    if (replication >= 0 && (uint64_t)replication < s->nreps && s->reps[replication] != NULL) {
        *out = s->reps[replication];
        return 0;
    }
    return rep_alloc(s, replication, out);
}

int ana_stats_alloc(struct ana_stats **out, const struct sim_scenario *sc)
{
    if (!out || !sc)
        return LLMSIM_EINVAL;
    *out = NULL;
    struct ana_stats *s = calloc(1, sizeof *s);
    if (!s)
        return LLMSIM_ENOMEM;
    s->nc = sc->workload.n_classes;
    s->nd = sc->n_deployments;
    s->tenant_of = calloc(s->nc ? s->nc : 1, sizeof *s->tenant_of);
    s->tier_of = calloc(s->nc ? s->nc : 1, sizeof *s->tier_of);
    if (!s->tenant_of || !s->tier_of) {
        free(s->tenant_of);
        free(s->tier_of);
        free(s);
        return LLMSIM_ENOMEM;
    }
    if (s->nc > 0 && sim_workload_has_tenants(&sc->workload))
        s->nt = sim_workload_tenants(&sc->workload, s->tenant_of);
    if (s->nc > 0 && sim_workload_has_tiers(&sc->workload))
        s->ntier = sim_workload_tiers(&sc->workload, s->tier_of);
    s->nscopes = 1 + s->nc + s->nd + s->nt + s->ntier;
    s->warmup_s = sc->warmup_s;
    s->tts_interval_s = s->nt >= 2 && sc->output.timeseries_interval_s > 0 ? sc->output.timeseries_interval_s : 0;
    s->tts_w_in = 1.0;
    s->tts_w_out = 2.0;
    for (size_t d = 0; d < sc->n_deployments; d++)
        if (sc->deployments[d].order == SIM_ORDER_FAIR) {
            s->tts_w_in = sc->deployments[d].fair_w_in;
            s->tts_w_out = sc->deployments[d].fair_w_out;
            break;
        }
    s->exact_limit = ANA_EXACT_REQUESTS;
    s->alias_class = s->nc == 1;
    s->alias_dep = s->nd == 1;
    s->plain = s->alias_class && s->alias_dep && s->nt == 0 && s->ntier == 0;
    s->horizon = sc->max_requests;
    if (sc->workload.process == SIM_ARRIVAL_TRACE && (s->horizon == 0 || sc->workload.trace.n < s->horizon))
        s->horizon = sc->workload.trace.n;
    s->scope = calloc(s->nscopes, sizeof *s->scope);
    s->self_hosted = calloc(s->nd ? s->nd : 1, sizeof *s->self_hosted);
    s->streaming = calloc(s->nc ? s->nc : 1, sizeof *s->streaming);
    if (!s->scope || !s->self_hosted || !s->streaming) {
        free(s->tenant_of);
        free(s->tier_of);
        free(s->scope);
        free(s->self_hosted);
        free(s->streaming);
        free(s);
        return LLMSIM_ENOMEM;
    }
    for (size_t c = 0; c < s->nc; c++)
        s->streaming[c] = (unsigned char)(sc->workload.classes[c].streaming != 0);
    s->slo = sc->slo;
    s->has_slo = sc->slo.ttft_s > 0 || sc->slo.itl_s > 0 || sc->slo.e2e_s > 0;
    s->lean = s->plain && !s->has_slo;
    s->energy = sc->energy.enabled;
    for (size_t i = 0; i < sc->n_deployments; i++)
        s->spot |= sc->deployments[i].spot.enabled;
    s->bill_energy = sc->energy.enabled && sc->energy.bill;
    for (size_t d = 0; d < sc->n_deployments; d++)
        s->disagg |= sc->deployments[d].kind == SIM_DEPLOY_SELF_HOSTED && sc->deployments[d].disagg != NULL;
    snprintf(s->scope[0], ANA_SCOPE_MAX, "all");
    for (size_t c = 0; c < s->nc; c++)
        snprintf(s->scope[1 + c], ANA_SCOPE_MAX, "class:%.*s", SIM_NAME_MAX,
                 sc->workload.classes[c].name);
    for (size_t d = 0; d < s->nd; d++) {
        snprintf(s->scope[1 + s->nc + d], ANA_SCOPE_MAX, "deployment:%.*s", SIM_NAME_MAX,
                 sc->deployments[d].name);
        s->self_hosted[d] = sc->deployments[d].kind == SIM_DEPLOY_SELF_HOSTED;
    }
    for (size_t c = 0; c < s->nc; c++) {
        const struct sim_class_cfg *cl = &sc->workload.classes[c];
        if (s->nt > 0)
            snprintf(s->scope[1 + s->nc + s->nd + (size_t)s->tenant_of[c]], ANA_SCOPE_MAX, "tenant:%.*s",
                     SIM_NAME_MAX, sim_class_tenant(cl));
        if (s->ntier > 0)
            snprintf(s->scope[1 + s->nc + s->nd + s->nt + (size_t)s->tier_of[c]], ANA_SCOPE_MAX, "tier:%d",
                     cl->priority);
    }
    *out = s;
    return 0;
}

void ana_stats_free(struct ana_stats *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nreps; i++)
        rep_free(s, s->reps[i]);
    free(s->reps);
    free(s->tenant_of);
    free(s->tier_of);
    free(s->scope);
    free(s->self_hosted);
    free(s->streaming);
    free(s->hist);
    free(s->edges);
    free(s->hist_start);
    for (size_t i = 0; s->vh && i < s->nscopes * N_REQ_METRICS; i++)
        ana_vhist_free(&s->vh[i]);
    free(s->vh);
    free(s->sect);
    free(s);
}

void ana_stats_set_exact_limit(struct ana_stats *s, uint64_t requests)
{
    if (s)
        s->exact_limit = requests;
}

int ana_stats_compact(const struct ana_stats *s)
{
    return s && s->compact;
}

/* One sample of metric slot i (scope * N_REQ_METRICS + metric) of
 * replication ri in compact mode. */
static int compact_add(struct ana_stats *s, struct rep *rep, size_t ri, size_t i, double x)
{
    int rc = rep->qs ? ana_qbatch_add(&rep->qs[i], x, &s->vh[i]) : ana_vhist_add(&s->vh[i], x);
    if (rc)
        return rc;
    if (!rep->qs) {
        /* After the replication's add_run: its percentiles and batches no
         * longer cover all its samples. */
        for (int j = 0; j < N_PCT; j++)
            rep->rq[i * N_PCT + (size_t)j] = NAN;
        if (s->sect[i].kept && s->sect[i].rep == ri)
            s->sect[i].nb = 0;
    }
    struct tally *t = &rep->tally[i];
    t->n++;
    t->sum += x;
    ana_bmeans_add(&t->bm, x);
    return 0;
}

/* Compact mode, at a replication's add_run: its percentiles from its batch
 * histograms, the batches' percentiles of each slot where no replication
 * has left them yet, and the histograms freed.  Returns 0 or
 * LLMSIM_ENOMEM (then the slots done so far are done, and calling it again
 * does the rest). */
static int rep_close_sections(struct ana_stats *s, struct rep *rep, size_t ri)
{
    if (!rep->qs)
        return 0;
    for (size_t i = 0; i < s->nscopes * N_REQ_METRICS; i++) {
        struct ana_qbatch *q = &rep->qs[i];
        if (q->cur.n == 0 && q->nb == 0)
            continue;
        if (!q->broken) {
            struct ana_vhist all;
            int rc = ana_qbatch_all(q, &all);
            if (rc)
                return rc;
            for (int j = 0; j < N_PCT; j++)
                rep->rq[i * N_PCT + (size_t)j] = ana_vhist_quantile_smooth(&all, pct_p[j]);
            ana_vhist_free(&all);
        }
        struct sections *sc = &s->sect[i];
        if (!sc->kept) {
            sc->kept = 1;
            sc->rep = (uint32_t)ri;
            sc->nb = q->broken ? 0 : q->nb;
            sc->bsize = q->bsize;
            for (int j = 0; j < N_PCT; j++)
                for (uint32_t b = 0; b < sc->nb; b++)
                    sc->q[j][b] = ana_vhist_quantile_smooth(&q->b[b], pct_p[j]);
        }
        ana_qbatch_free(q);
    }
    free(rep->qs);
    rep->qs = NULL;
    return 0;
}

/* Switches to compact mode: every sample kept so far, in order, goes into
 * the histograms and tallies, and the sample arrays are freed; replications
 * that had their add_run leave their percentiles and batches at once. */
static int go_compact(struct ana_stats *s)
{
    size_t nslots = s->nscopes * N_REQ_METRICS;
    s->vh = calloc(nslots, sizeof *s->vh);
    s->sect = calloc(nslots, sizeof *s->sect);
    if (!s->vh || !s->sect)
        return LLMSIM_ENOMEM;
    /* Batch histograms for one ended replication at a time (each is closed
     * after its samples), so memory does not grow with the replications. */
    for (size_t r = 0; r < s->nreps; r++)
        if (s->reps[r] && rep_compact_alloc(s, s->reps[r], !s->reps[r]->has_run) != 0)
            return LLMSIM_ENOMEM;
    for (size_t r = 0; r < s->nreps; r++) {
        struct rep *rep = s->reps[r];
        if (rep && rep->has_run && rep_compact_alloc(s, rep, 1) != 0)
            return LLMSIM_ENOMEM;
        for (size_t i = 0; rep && i < nslots; i++) {
            struct dview w = slot_view(rep, i);
            for (size_t j = 0; j < w.n; j++) {
                int rc = compact_add(s, rep, r, i, w.v ? w.v[j] : w.c);
                if (rc)
                    return rc;
            }
        }
        /* Freed after every slot has been read: a twin reads its metric's. */
        for (size_t i = 0; rep && i < nslots; i++) {
            free(rep->samples[i].v);
            memset(&rep->samples[i], 0, sizeof rep->samples[i]);
        }
        if (rep)
            memset(rep->mask, 0, s->nscopes * sizeof *rep->mask);
        int rc = rep && rep->has_run ? rep_close_sections(s, rep, r) : 0;
        if (rc)
            return rc;
    }
    s->compact = 1;
    s->lean = 0;
    return 0;
}

/* Halves the resolution of a replication's overload bins: bin i becomes
 * bins 2i and 2i + 1, and the width doubles. */
static void ov_merge(const struct ana_stats *s, struct rep *rep)
{
    for (size_t j = 0; j < s->nd * OV_KINDS; j++) {
        uint32_t *b = &rep->ov[j * OV_BINS];
        for (size_t i = 0; i < OV_BINS / 2; i++)
            b[i] = b[2 * i] + b[2 * i + 1];
        memset(b + OV_BINS / 2, 0, OV_BINS / 2 * sizeof *b);
    }
    rep->ov_width *= 2;
    rep->ov_inv = 1.0 / rep->ov_width;
}

/* Counts time x (in bin widths) in bins, the last bin for x at or past
 * its end. */
static inline void ov_count(uint32_t *bins, double x)
{
    size_t bin = (size_t)x;
    bins[bin < OV_BINS ? bin : OV_BINS - 1]++;
}

/* Counts a served request's arrival, service start and completion in its
 * deployment's overload bins (allocated on first use).  Inline in both
 * copies of add_request: a call costs it a fifth more. */
static inline __attribute__((always_inline)) int
ov_record(const struct ana_stats *s, struct rep *rep, const struct sim_request_record *r)
{
    double ta = r->arrival_s, ts = r->prefill_start_s, td = r->done_s;
    /* Finite and not negative (NaN fails every comparison). */
    if (!(ta >= 0 && ta <= DBL_MAX && ts >= 0 && ts <= DBL_MAX && td >= 0 && td <= DBL_MAX))
        return LLMSIM_ERANGE;
    /* A service start outside [arrival, done] would count a negative wait. */
    if (ts < ta)
        ts = ta;
    if (ts > td)
        ts = td;
    if (!rep->ov) {
        rep->ov = calloc(s->nd * OV_KINDS * OV_BINS, sizeof *rep->ov);
        if (!rep->ov)
            return LLMSIM_ENOMEM;
        rep->ov_width = OV_WIDTH0;
        rep->ov_inv = 1.0 / OV_WIDTH0;
    }
    double tmax = td > ta ? td : ta;
    while (tmax >= OV_BINS * rep->ov_width)
        ov_merge(s, rep);
    uint32_t *ov = &rep->ov[(size_t)r->deployment * OV_KINDS * OV_BINS];
    ov_count(ov + OV_ARRIVE * OV_BINS, ta * rep->ov_inv);
    ov_count(ov + OV_START * OV_BINS, ts * rep->ov_inv);
    ov_count(ov + OV_DONE * OV_BINS, td * rep->ov_inv);
    return 0;
}

/* Counts a served request in its tenant's time-series interval (the one
 * its answer completed in), growing the replication's bins by doubling. */
static int tts_add(const struct ana_stats *s, struct rep *rep, const struct sim_request_record *r)
{
    double b = floor(r->done_s / s->tts_interval_s);
    if (!(b < (double)SIM_MAX_TS_ROWS))
        return LLMSIM_ERANGE;
    size_t bin = (size_t)b;
    if (bin >= rep->tts_bins) {
        size_t n = rep->tts_bins ? rep->tts_bins : 64;
        while (n <= bin)
            n *= 2;
        double *v = realloc(rep->tts, n * s->nt * 3 * sizeof *v);
        if (!v)
            return LLMSIM_ENOMEM;
        memset(v + rep->tts_bins * s->nt * 3, 0, (n - rep->tts_bins) * s->nt * 3 * sizeof *v);
        rep->tts = v;
        rep->tts_bins = n;
    }
    double *c = &rep->tts[(bin * s->nt + (size_t)s->tenant_of[r->class_idx]) * 3];
    c[0] += 1;
    c[1] += r->input_tokens;
    c[2] += r->output_tokens;
    return 0;
}

/* Appends sample x to d, which has room. */
static inline void push1(struct dvec *d, double x)
{
    d->v[d->n++] = x;
}

/* Appends a measured request's samples v of the metrics in use to a
 * scope's arrays, which have room and have been settled (dvec_settle): the
 * real ones store them, the virtual ones count them. */
static inline void push_samples(struct dvec *d, struct smask *mk, const double *v, uint32_t use)
{
    for (unsigned i = 0; i < mk->nra; i++)
        push1(&d[mk->ra[i]], v[mk->ra[i]]);
    for (uint32_t u = use & mk->real & ~ALWAYS_MASK; u != 0; u &= u - 1)
        push1(&d[ctz32(u)], v[ctz32(u)]);
    for (uint32_t u = use & mk->virt & ~ALWAYS_MASK; u != 0; u &= u - 1)
        d[ctz32(u)].n++;
    mk->count++;
}

/* One request's additions to the accumulators of a scope it belongs to:
 * each of its scopes gets the same, in the same order. */
static inline void acc_add(struct scope_acc *a, const struct sim_request_record *r, const double *line,
                           double cost, int served, int wasted, int measured, int streaming)
{
    for (int l = 0; l < N_LINES; l++)
        a->line_usd[l] += line[l];
    if (wasted) {
        a->wasted++;
        a->wasted_usd += cost;
        return;
    }
    if (!served) {
        a->rejected += (uint64_t)measured;
        return;
    }
    a->requests++;
    a->output_tokens += r->output_tokens;
    if (!measured)
        return;
    a->measured++;
    a->input_tokens += r->input_tokens;
    a->output_measured += r->output_tokens;
    a->cached_tokens += r->cached_tokens;
    a->cost_usd += cost;
    a->nocache_usd += r->cost_nocache_usd;
    /* Most requests have none of these flags: one test for them all. */
    if (r->flags & (SIM_RF_ESCALATED | SIM_RF_SPILLED | SIM_RF_RATE_LIMITED | SIM_RF_CLIENT_QUEUED |
                    SIM_RF_PREFETCH_HIT)) {
        a->escalated += (r->flags & SIM_RF_ESCALATED) != 0;
        a->spilled += (r->flags & SIM_RF_SPILLED) != 0;
        a->limited += (r->flags & SIM_RF_RATE_LIMITED) != 0;
        a->client_queued += (r->flags & SIM_RF_CLIENT_QUEUED) != 0;
        if (r->flags & SIM_RF_PREFETCH_HIT) {
            a->pf_hits++;
            a->pf_saved_s += (streaming ? r->ttft_s : r->e2e_s) - r->perceived_s;
        }
    }
}

/* A measured request's samples v of the metrics in use into scope k's
 * arrays (which have room) or, in compact mode, its tallies. */
static inline int store_samples(struct ana_stats *s, struct rep *rep, size_t ri, size_t k,
                                const double *v, uint32_t use, int lean)
{
    if (lean || !s->compact) {
        push_samples(&rep->samples[k * N_REQ_METRICS], &rep->mask[k], v, use);
        return 0;
    }
    for (uint32_t u = use; u != 0; u &= u - 1) {
        unsigned m = ctz32(u);
        int rc = compact_add(s, rep, ri, k * N_REQ_METRICS + m, v[m]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ana_stats_add's work.  With lean set (s->lean holds: see there) the
 * compiler drops what such a scenario never does, the SLO test, the loops
 * over the other scopes, the tenant series, the (class x deployment) index,
 * and keeps the very same statements for the rest, so both copies add
 * alike. */
static inline __attribute__((always_inline)) int
add_request(struct ana_stats *s, const struct sim_request_record *r, int lean)
{
    if (lean ? r->class_idx != 0 || r->deployment != 0
             : r->class_idx < 0 || (size_t)r->class_idx >= s->nc || r->deployment < 0 ||
                   (size_t)r->deployment >= s->nd)
        return LLMSIM_EINVAL;
    double line[N_LINES] = {r->cost_input_usd, r->cost_cache_write_usd, r->cost_cache_read_usd,
                            r->cost_output_usd};
    double v[N_REQ_METRICS];
    v[M_TTFT] = r->ttft_s;
    v[M_E2E] = r->e2e_s;
    v[M_QUEUE] = r->queue_s;
    v[M_ITL] = r->mean_itl_s;
    v[M_INPUT] = r->input_tokens;
    v[M_OUTPUT] = r->output_tokens;
    v[M_COST] =
        line[L_INPUT] + line[L_CACHE_WRITE] + line[L_CACHE_READ] + line[L_OUTPUT] + r->cost_gpu_usd;
    v[M_PREEMPT] = r->preemptions;
    int hit = r->cached_tokens > 0;
    v[M_CACHE_HIT] = hit;
    v[M_CACHE_WRITE] = r->cache_write_tokens;
    v[M_TTFT_HIT] = r->ttft_s;
    v[M_TTFT_MISS] = r->ttft_s;
    v[M_SAVINGS_1K] = 1000.0 * (r->cost_nocache_usd - v[M_COST]);
    v[M_PERCEIVED] = r->perceived_s;
    v[M_SUCCESS] = r->success ? 1.0 : 0.0;
    /* The ITL target applies to answers streamed token by token. */
    int has_itl = r->output_tokens >= 2 && r->done_s > r->first_token_s;
    v[M_SLO_MET] = !lean && s->has_slo && (s->slo.ttft_s <= 0 || r->ttft_s <= s->slo.ttft_s) &&
                   (s->slo.itl_s <= 0 || !has_itl || r->mean_itl_s <= s->slo.itl_s) &&
                   (s->slo.e2e_s <= 0 || r->e2e_s <= s->slo.e2e_s);
    /* A rejected request was never served: no per-request metric, only its
     * (normally zero) cost lines and the rejected count. */
    int served = !(r->flags & SIM_RF_REJECTED);
    /* A wasted prefetch was never shown: only its cost counts. */
    int wasted = (r->flags & SIM_RF_PREFETCH_WASTED) != 0;
    if (wasted)
        served = 0;
    if (!isfinite(v[M_COST]))
        return LLMSIM_ERANGE;
    /* The metrics this request has a sample of, one bit each.  ITL needs
     * two output tokens streamed apart: the service_time model delivers
     * every token when service ends (first token == done), so it says
     * nothing about inter-token latency. */
    uint32_t use = 0;
    if (served) {
        use = ALWAYS_MASK;
        use |= has_itl ? 1u << M_ITL : 0u;
        use |= hit ? 1u << M_TTFT_HIT : 1u << M_TTFT_MISS;
        use |= !lean && s->has_slo ? 1u << M_SLO_MET : 0u;
    }
    /* Each sample in use must be finite.  The counts (tokens, preemptions)
     * and the 0/1 metrics always are, and ttft_hit_s / ttft_miss_s are
     * ttft_s: the times and the savings are the ones to look at. */
    if (served && !(isfinite(v[M_TTFT]) && isfinite(v[M_E2E]) && isfinite(v[M_QUEUE]) &&
                    (!has_itl || isfinite(v[M_ITL])) && isfinite(v[M_SAVINGS_1K]) &&
                    isfinite(v[M_PERCEIVED])))
        return LLMSIM_ERANGE;

    struct rep *rep;
    int rc = rep_get(s, r->replication, &rep);
    if (rc != 0)
        return rc;
    size_t scopes[5] = {0, 1 + (size_t)r->class_idx, 1 + s->nc + (size_t)r->deployment, 0, 0};
    /* The scopes that hold what "all" holds (scope_alias: the one class or
     * deployment): they store no samples, and their sums are those of
     * "all". */
    int alias[5] = {0, s->alias_class, s->alias_dep, 0, 0};
    int nsc = 3;
    if (!lean && s->nt > 0)
        scopes[nsc++] = 1 + s->nc + s->nd + (size_t)s->tenant_of[r->class_idx];
    if (!lean && s->ntier > 0)
        scopes[nsc++] = 1 + s->nc + s->nd + s->nt + (size_t)s->tier_of[r->class_idx];
    /* The first scope after "all" that stores on its own (none when plain). */
    int k0 = lean || s->plain ? nsc : 1;
    int measured = !(r->flags & SIM_RF_WARMUP);
    int samples = measured && served;
    if (samples && (lean || !s->compact)) {
        /* Reserve first, so that a failed allocation leaves nothing half
         * added: "all" keeps one count of its room, the others look at each
         * array. */
        if (rep->room == 0 && (rc = rep_room(s, rep)) != 0)
            return rc;
        for (int k = k0; k < nsc; k++)
            for (uint32_t u = alias[k] ? 0 : use & rep->mask[scopes[k]].real; u != 0; u &= u - 1) {
                struct dvec *d = &rep->samples[scopes[k] * N_REQ_METRICS + ctz32(u)];
                if (d->n == d->cap && dvec_reserve(d, d->n + 1) != 0)
                    return LLMSIM_ENOMEM;
            }
        if ((rc = dvec_settle(rep->samples, &rep->mask[0], v, use, &rep->room)) != 0)
            return rc;
        for (int k = k0; k < nsc; k++)
            if (!alias[k] && (rc = dvec_settle(&rep->samples[scopes[k] * N_REQ_METRICS], &rep->mask[scopes[k]],
                                               v, use, NULL)) != 0)
                return rc;
    }
    /* The overload bins count whatever kept the deployment busy: wasted
     * prefetches too, rejected requests not. */
    if (!(r->flags & SIM_RF_REJECTED) && (rc = ov_record(s, rep, r)) != 0)
        return rc;
    if (isfinite(r->arrival_s) && r->arrival_s > rep->last_arrival_s)
        rep->last_arrival_s = r->arrival_s;
    int streaming = s->streaming[r->class_idx];
    size_t ri = (size_t)r->replication;
    /* The aliased scopes' sums are these (acc_of). */
    acc_add(&rep->acc[0], r, line, v[M_COST], served, wasted, measured, streaming);
    if (samples && (rc = store_samples(s, rep, ri, 0, v, use, lean)) != 0)
        return rc;
    for (int k = k0; k < nsc; k++) {
        if (alias[k])
            continue;
        acc_add(&rep->acc[scopes[k]], r, line, v[M_COST], served, wasted, measured, streaming);
        if (samples && (rc = store_samples(s, rep, ri, scopes[k], v, use, lean)) != 0)
            return rc;
    }
    if (samples && (lean || !s->compact))
        rep->room--;
    if (measured && served && ++s->stored > s->exact_limit && (lean || !s->compact) &&
        (rc = go_compact(s)) != 0)
        return rc;
    if (!lean && s->tts_interval_s > 0 && served && isfinite(r->done_s) && r->done_s >= 0 &&
        (rc = tts_add(s, rep, r)) != 0)
        return rc;
    size_t cd = lean ? 0 : (size_t)r->class_idx * s->nd + (size_t)r->deployment;
    rep->gpu_cd_usd[cd] += r->cost_gpu_usd;
    rep->requests_cd[cd] += (uint64_t)served;
    if (served)
        rep->cw_cd[cd] += r->cache_write_tokens;
    return 0;
}

int ana_stats_add(struct ana_stats *s, const struct sim_request_record *r)
{
    if (!s || !r)
        return LLMSIM_EINVAL;
    return s->lean ? add_request(s, r, 1) : add_request(s, r, 0);
}

/* The bucket of the histogram whose edges are tabulated in edges: the
 * largest k <= HIST_N - 1 with edges[k] <= x.  Binary search; used to build
 * the start table only. */
static size_t hist_search(const double *edges, double x)
{
    size_t lo = 0, hi = HIST_N - 1; /* edges[lo] <= x holds (or lo is 0) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (edges[mid] <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* The start-table cell of x in [HIST_LO, HIST_HI]: the leading bits of its
 * IEEE pattern (exponent and HIST_CELL_BITS of mantissa), from HIST_LO's. */
static size_t hist_cell(double x)
{
    uint64_t u, lo;
    double l = HIST_LO;
    memcpy(&u, &x, sizeof u);
    memcpy(&lo, &l, sizeof lo);
    return (size_t)((u >> (52 - HIST_CELL_BITS)) - (lo >> (52 - HIST_CELL_BITS)));
}

/* The histogram bucket of duration x (clamped to [HIST_LO, HIST_HI]):
 * the k with edges[k] <= x < edges[k + 1], the last bucket for HIST_HI.
 * A positive double's bit pattern grows with it, so its leading bits name
 * a cell [c, c (1 + 2^-HIST_CELL_BITS)) of values; start[cell] is the
 * bucket of the cell's smallest value (hist_search), a lower bound of x's
 * bucket, and a cell spans less than one bucket ratio (1 + 2^-7 < 1.01),
 * so at most two edges are compared.  The result is the tabulated edges'
 * bucket exactly, as with any search over them. */
static size_t hist_bucket(const double *edges, const uint16_t *start, double x)
{
    if (!(x > HIST_LO))
        return 0;
    if (x > HIST_HI)
        x = HIST_HI;
    size_t k = start[hist_cell(x)];
    while (k + 1 < HIST_N && x >= edges[k + 1])
        k++;
    return k;
}

static int hist_alloc(struct ana_stats *s)
{
    if (s->hist)
        return 0;
    size_t ncells = hist_cell(HIST_HI) + 1;
    double *edges = malloc((HIST_N + 1) * sizeof *edges);
    double *hist = calloc(n_iscopes(s) * HIST_N, sizeof *hist);
    uint16_t *start = malloc(ncells * sizeof *start);
    if (!edges || !hist || !start) {
        free(edges);
        free(hist);
        free(start);
        return LLMSIM_ENOMEM;
    }
    for (size_t k = 0; k <= HIST_N; k++)
        edges[k] = HIST_LO * pow(HIST_RATIO, (double)k);
    LLMSIM_ASSERT(edges[HIST_N - 1] < HIST_HI && edges[HIST_N] >= HIST_HI);
    double lo = HIST_LO;
    uint64_t lo_bits;
    memcpy(&lo_bits, &lo, sizeof lo_bits);
    for (size_t c = 0; c < ncells; c++) {
        /* The smallest double of cell c (HIST_LO for the first). */
        uint64_t u = ((lo_bits >> (52 - HIST_CELL_BITS)) + c) << (52 - HIST_CELL_BITS);
        double x;
        memcpy(&x, &u, sizeof x);
        start[c] = (uint16_t)hist_search(edges, x < HIST_LO ? HIST_LO : x);
    }
    s->edges = edges;
    s->hist = hist;
    s->hist_start = start;
    return 0;
}

/* The bucket of histogram h where the cumulative weight reaches p times
 * its total (the last non-empty bucket at most), the weight below it in
 * *below and p times the total in *target; HIST_N with no weight.  Both
 * histogram quantiles below use it, so they pick the same bucket. */
static size_t hist_quantile_bucket(const double *h, double p, double *below, double *target)
{
    double total = 0;
    size_t last = HIST_N;
    for (size_t k = 0; k < HIST_N; k++)
        if (h[k] > 0) {
            total += h[k];
            last = k;
        }
    *below = 0;
    *target = p * total;
    if (last == HIST_N)
        return HIST_N;
    size_t k = 0;
    for (; k < last; k++) {
        if (h[k] > 0 && *below + h[k] >= *target)
            break;
        *below += h[k];
    }
    return k;
}

/* The weighted quantile p of histogram h with each bucket's weight spread
 * evenly over the bucket: in the bucket k where the cumulative weight
 * reaches p W, edges[k] + (p W - W(below k)) / h[k] x (edges[k + 1] -
 * edges[k]), clamped to [HIST_LO, HIST_HI]; NaN with no weight.  For the
 * percentile intervals only (see the top of the file). */
static double hist_quantile_smooth(const double *h, const double *edges, double p)
{
    double cum, target;
    size_t k = hist_quantile_bucket(h, p, &cum, &target);
    if (k == HIST_N)
        return NAN;
    double f = (target - cum) / h[k];
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    double v = edges[k] + f * (edges[k + 1] - edges[k]);
    return v < HIST_LO ? HIST_LO : v > HIST_HI ? HIST_HI : v;
}

/* ana_stats_add_iteration in general: the checks, the histograms
 * allocated on first use, and the iterations after the replication's
 * add_run.  Kept out of the common path. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int add_iteration(struct ana_stats *s, const struct sim_iter_record *it)
{
    if (it->deployment < 0 || (size_t)it->deployment >= s->nd)
        return LLMSIM_EINVAL;
    if (it->replication < 0)
        return LLMSIM_EINVAL;
    if (it->replication >= SIM_MAX_REPLICATIONS)
        return LLMSIM_ERANGE;
    if (!isfinite(it->start_s) || !isfinite(it->itl_s) || it->itl_s < 0 ||
        !isfinite(it->decode_tokens) || it->decode_tokens < 0)
        return LLMSIM_ERANGE;
    if (it->decode_tokens == 0 || it->start_s < s->warmup_s)
        return 0;
    struct rep *rep;
    int rc = rep_get(s, it->replication, &rep);
    if (rc == 0)
        rc = hist_alloc(s);
    if (rc == 0 && !rep->itl_h && !rep->itl_done &&
        !(rep->itl_h = calloc(n_iscopes(s) * HIST_N, sizeof *rep->itl_h)))
        rc = LLMSIM_ENOMEM;
    if (rc != 0)
        return rc;
    const size_t isc[2] = {0, 1 + (size_t)it->deployment};
    size_t b = hist_bucket(s->edges, s->hist_start, it->itl_s);
    for (int k = 0; k < 2; k++) {
        rep->itl_w[isc[k]] += it->decode_tokens;
        rep->itl_wd[isc[k]] += it->decode_tokens * it->itl_s;
        rep->itl_n[isc[k]]++;
        /* A scope whose histograms are another's (hist_scope) adds to none. */
        int own = hist_scope(s, isc[k]) == isc[k];
        if (own)
            s->hist[isc[k] * HIST_N + b] += it->decode_tokens;
        if (rep->itl_h) {
            if (own)
                rep->itl_h[isc[k] * HIST_N + b] += it->decode_tokens;
        } else {
            /* After the replication's add_run: its percentiles no longer
             * cover all its iterations. */
            for (int j = 0; j < N_PCT; j++)
                rep->itl_q[isc[k] * N_PCT + (size_t)j] = NAN;
        }
    }
    return 0;
}

int ana_stats_add_iteration(struct ana_stats *s, const struct sim_iter_record *it)
{
    if (!s || !it)
        return LLMSIM_EINVAL;
    /* The common case, tested at once: one deployment, a replication whose
     * histograms are there (so its add_run has not come), and a measured
     * iteration with decode tokens, its numbers finite and not negative
     * (NaN fails every comparison).  Everything else: add_iteration. */
    double w = it->decode_tokens, x = it->itl_s, t = it->start_s;
    struct rep *rep;
    if (!(s->alias_dep && it->deployment == 0 && (uint32_t)it->replication < s->nreps &&
          (rep = s->reps[it->replication]) != NULL && rep->itl_h != NULL && w > 0 && w <= DBL_MAX &&
          x >= 0 && x <= DBL_MAX && t >= s->warmup_s && t <= DBL_MAX))
        return add_iteration(s, it);
    /* The one deployment's iteration scope gets the very additions of
     * "all", in the same order: its sums are those of "all", and its
     * histograms are read from "all"'s (hist_scope). */
    size_t b = hist_bucket(s->edges, s->hist_start, x);
    rep->itl_w[1] = rep->itl_w[0] += w;
    rep->itl_wd[1] = rep->itl_wd[0] += w * x;
    rep->itl_n[1] = ++rep->itl_n[0];
    s->hist[b] += w;
    rep->itl_h[b] += w;
    return 0;
}

/* Fills the cost metrics of one scope: lines billed to its requests plus
 * gpu_usd, storage_usd (cache storage fees) and energy_usd (electricity
 * billed: 0 unless energy.bill_electricity), over its served requests or
 * their output tokens (NaN with none). */
static void set_costs(double *run, const struct scope_acc *a, double gpu_usd, double storage_usd,
                      double energy_usd)
{
    double k = a->requests > 0 ? 1000.0 / (double)a->requests : NAN;
    double total = gpu_usd + storage_usd + energy_usd;
    run[R_COST_ENERGY_1K] = k * energy_usd;
    for (int l = 0; l < N_LINES; l++)
        total += a->line_usd[l];
    run[R_COST_1K] = k * total;
    run[R_INPUT_1K] = k * a->line_usd[L_INPUT];
    run[R_CACHE_WRITE_1K] = k * a->line_usd[L_CACHE_WRITE];
    run[R_CACHE_READ_1K] = k * a->line_usd[L_CACHE_READ];
    run[R_OUTPUT_1K] = k * a->line_usd[L_OUTPUT];
    run[R_GPU_1K] = k * gpu_usd;
    run[R_STORAGE_1K] = k * storage_usd;
    run[R_COST_1M_OUT] = a->output_tokens > 0 ? 1e6 * total / a->output_tokens : NAN;
    double m = a->measured > 0 ? 1.0 / (double)a->measured : NAN;
    run[R_ESCALATED] = m * (double)a->escalated;
    run[R_SPILLED] = m * (double)a->spilled;
    run[R_LIMITED] = m * (double)a->limited;
    run[R_CLIENT_QUEUED] = m * (double)a->client_queued;
    run[R_PF_HIT] = m * (double)a->pf_hits;
    run[R_PF_SAVED] = a->pf_hits > 0 ? a->pf_saved_s / (double)a->pf_hits : NAN;
    run[R_PF_WASTED_1K] = k * a->wasted_usd;
    run[R_PF_WASTED_N] = (double)a->wasted;
}

/* Fills the figures of a self-hosted deployment (left NaN otherwise). */
static void set_engine(double *run, const struct sim_deployment_stats *ds)
{
    run[R_UTIL] = ds->provisioned_s > 0 ? ds->busy_s / ds->provisioned_s : NAN;
    run[R_IDLE] = 1.0 - run[R_UTIL];
    run[R_MFU] = ds->mfu;
    run[R_MBU] = ds->mbu;
    run[R_PREEMPT] = (double)ds->preemptions;
    run[R_ITER] = (double)ds->iterations;
    run[R_KV_CAP] = ds->kv_capacity_tokens > 0 ? ds->kv_capacity_tokens : NAN;
}

/* Fills the disaggregation figures of "all" (sums over the deployments) or
 * of one deployment (n = 1): mean KV transfer time and wait for a decode
 * slot per transferred request, and each pool's utilisation (busy over
 * provisioned replica-seconds); NaN where nothing is disaggregated. */
static void set_disagg(double *run, const struct sim_deployment_stats *ds, size_t n)
{
    double xfers = 0, xfer_s = 0, wait_s = 0, pb = 0, pp = 0, db = 0, dp = 0;
    for (size_t d = 0; d < n; d++) {
        if (!isfinite(ds[d].prefill_provisioned_s))
            continue;
        xfers += (double)ds[d].kv_transfers;
        xfer_s += ds[d].kv_transfer_s;
        wait_s += ds[d].kv_wait_s;
        pb += ds[d].prefill_busy_s;
        pp += ds[d].prefill_provisioned_s;
        db += ds[d].busy_s - ds[d].prefill_busy_s;
        dp += ds[d].provisioned_s - ds[d].prefill_provisioned_s;
    }
    run[R_KV_TRANSFER] = xfers > 0 ? xfer_s / xfers : NAN;
    run[R_KV_WAIT] = xfers > 0 ? wait_s / xfers : NAN;
    run[R_PREFILL_UTIL] = pp > 0 ? pb / pp : NAN;
    run[R_DECODE_UTIL] = dp > 0 ? db / dp : NAN;
}

/* Fills the energy figures of a scope from its facility energy, electricity
 * cost and emissions (NaN when no deployment of it has a GPU to account)
 * and its served requests. */
static void set_energy(double *run, const struct scope_acc *a, double kwh, double usd, double g)
{
    double k = a->requests > 0 ? 1000.0 / (double)a->requests : NAN;
    run[R_ENERGY_KWH] = kwh;
    run[R_ENERGY_1K] = k * kwh;
    run[R_ENERGY_USD] = usd;
    run[R_CO2] = g;
    run[R_CO2_1K] = k * g;
}

/* Fills the prompt-cache figures of "all" (the sums over the deployments) or
 * of one deployment (n = 1). */
static void set_cache(double *run, const struct sim_deployment_stats *ds, size_t n)
{
    double storage = 0, unread_usd = 0, unread_n = 0, tokens = 0;
    for (size_t d = 0; d < n; d++) {
        storage += ds[d].cache_storage_usd;
        unread_usd += ds[d].cache_unread_write_usd;
        unread_n += (double)ds[d].cache_unread_writes;
        tokens += ds[d].cache_tokens;
    }
    run[R_CACHE_STORAGE] = storage;
    run[R_CACHE_UNREAD_USD] = unread_usd;
    run[R_CACHE_UNREAD_N] = unread_n;
    run[R_CACHE_TOKENS] = tokens;
}

/* The periods a replication's rates are taken over, s. */
struct periods {
    double makespan; /* the run: time-based costs */
    double arrivals; /* [0, last arrival]: per-request charges */
    double measured; /* makespan - warmup_s: throughput and tokens */
};

/* Cost per hour and per month, and tokens per second, of one scope: its
 * time-based costs time_usd (provisioned GPUs, cache storage) per hour of
 * the makespan plus its billed lines per hour of the arrival period; its
 * measured requests' tokens per second of the measured period. */
static void set_rates(double *run, const struct scope_acc *a, double time_usd,
                      const struct periods *p)
{
    double billed = 0; /* wasted prefetches' lines included */
    for (int l = 0; l < N_LINES; l++)
        billed += a->line_usd[l];
    double hour = 0;
    if (time_usd != 0)
        hour += p->makespan > 0 ? 3600.0 * time_usd / p->makespan : NAN;
    if (billed != 0)
        hour += p->arrivals > 0 ? 3600.0 * billed / p->arrivals : NAN;
    run[R_COST_HOUR] = hour;
    run[R_COST_MONTH] = HOURS_PER_MONTH * hour;
    run[R_INPUT_TPS] = p->measured > 0 ? (double)a->input_tokens / p->measured : NAN;
    run[R_OUTPUT_TPS] = p->measured > 0 ? (double)a->output_measured / p->measured : NAN;
}

/* The overload verdict of one deployment in one replication (see the top
 * of the file). */
struct overload {
    uint64_t arrived, completed; /* A and C in the window */
    double window_s;             /* T, 0 when the window has fewer than 4 bins */
    double queue_growth;         /* mean waiting, last quarter - first quarter */
    int stable;
};

static void ov_eval(const struct ana_stats *s, const struct rep *rep, size_t d, struct overload *o)
{
    memset(o, 0, sizeof *o);
    o->stable = 1;
    if (!rep->ov || !(rep->last_arrival_s >= 0))
        return;
    double w = rep->ov_width;
    double k0f = ceil(s->warmup_s / w), k1f = floor(rep->last_arrival_s / w);
    if (!(k1f - k0f >= 4) || k1f > OV_BINS)
        return;
    size_t k0 = (size_t)k0f, k1 = (size_t)k1f, m = (k1 - k0) / 4;
    const uint32_t *arr = &rep->ov[((size_t)d * OV_KINDS + OV_ARRIVE) * OV_BINS];
    const uint32_t *st = &rep->ov[((size_t)d * OV_KINDS + OV_START) * OV_BINS];
    const uint32_t *dn = &rep->ov[((size_t)d * OV_KINDS + OV_DONE) * OV_BINS];
    /* Cumulative counts before boundary k, for k = 0 .. k1. */
    uint64_t ca = 0, cs = 0, cd = 0, a0 = 0, d0 = 0;
    double q_first = 0, q_last = 0;
    for (size_t k = 0; k <= k1; k++) {
        if (k == k0) {
            a0 = ca;
            d0 = cd;
        }
        double waiting = (double)ca - (double)cs;
        if (k >= k0 && k <= k0 + m)
            q_first += waiting;
        if (k >= k1 - m)
            q_last += waiting;
        if (k < k1) {
            ca += arr[k];
            cs += st[k];
            cd += dn[k];
        }
    }
    o->arrived = ca - a0;
    o->completed = cd - d0;
    o->window_s = (double)(k1 - k0) * w;
    o->queue_growth = (q_last - q_first) / (double)(m + 1);
    double shortfall = (double)o->arrived - (double)o->completed;
    o->stable = !(shortfall > 3.0 * sqrt((double)o->arrived) && o->queue_growth > shortfall / 4);
}

static void set_overload(double *run, const struct overload *o)
{
    if (!(o->window_s > 0))
        return;
    run[R_OFFERED] = (double)o->arrived / o->window_s;
    run[R_ACHIEVED] = (double)o->completed / o->window_s;
    run[R_QUEUE_GROWTH] = o->queue_growth;
    run[R_STABLE] = o->stable;
}

/* Adds class c's share of each deployment's provisioned GPU cost, cache
 * storage fees and billed electricity to *gpu, *storage and *energy. */
static void class_costs(const struct ana_stats *s, const struct rep *rep, const struct sim_world_stats *ws,
                        size_t c, double *gpu, double *storage, double *energy)
{
    /* The world's table counts every answer where it ran (a cascade's
     * lower tiers too); the records' table, the last tier only. */
    const double *gpu_cd = ws->class_gpu_usd && ws->n_classes == s->nc ? ws->class_gpu_usd : rep->gpu_cd_usd;
    for (size_t d = 0; d < s->nd; d++) {
        double w_gpu = 0, w_cw = 0, w_req = 0;
        for (size_t c2 = 0; c2 < s->nc; c2++) {
            w_gpu += gpu_cd[c2 * s->nd + d];
            w_cw += rep->cw_cd[c2 * s->nd + d];
            w_req += (double)rep->requests_cd[c2 * s->nd + d];
        }
        double req_share = w_req > 0 ? (double)rep->requests_cd[c * s->nd + d] / w_req : 0;
        double share = w_gpu > 0 ? gpu_cd[c * s->nd + d] / w_gpu : req_share;
        *gpu += share * ws->deployments[d].gpu_cost_usd;
        /* Electricity follows the GPU time it powers. */
        if (s->bill_energy && isfinite(ws->deployments[d].energy_usd))
            *energy += share * ws->deployments[d].energy_usd;
        share = w_cw > 0 ? rep->cw_cd[c * s->nd + d] / w_cw : req_share;
        *storage += share * ws->deployments[d].cache_storage_usd;
    }
}

int ana_stats_add_run(struct ana_stats *s, uint32_t replication, const struct sim_world_stats *ws)
{
    if (!s || !ws)
        return LLMSIM_EINVAL;
    if (ws->n_deployments != s->nd || (s->nd > 0 && !ws->deployments))
        return LLMSIM_EINVAL;
    struct rep *rep;
    int rc = rep_get(s, replication, &rep);
    if (rc != 0)
        return rc;
    if (rep->has_run)
        return LLMSIM_ESTATE;
    /* Its samples are all in: the percentiles of its histograms. */
    if (s->compact && (rc = rep_close_sections(s, rep, replication)) != 0)
        return rc;
    if (rep->itl_h) {
        for (size_t j = 0; j < n_iscopes(s); j++)
            for (int k = 0; k < N_PCT; k++)
                rep->itl_q[j * N_PCT + (size_t)k] =
                    rep->itl_w[j] > 0
                        ? hist_quantile_smooth(&rep->itl_h[hist_scope(s, j) * HIST_N], s->edges, pct_p[k])
                        : NAN;
        free(rep->itl_h);
        rep->itl_h = NULL;
    }
    rep->itl_done = 1;

    double span = ws->makespan_s - s->warmup_s;
    const struct periods per = {
        ws->makespan_s, rep->last_arrival_s > 0 ? rep->last_arrival_s : ws->makespan_s, span};
    double gpu_all = 0, idle_all = 0, storage_all = 0;
    /* Energy of the deployments that account it (NaN: none does); billed_all
     * is the part added to the costs. */
    double kwh_all = NAN, eusd_all = NAN, co2_all = NAN, billed_all = 0;
    /* Self-hosted totals; MFU (MBU) pooled as sum of FLOPs (bytes) over sum
     * of the busy GPU-seconds x peak, each deployment's being flops / mfu. */
    double busy = 0, prov = 0, preempt = 0, iter = 0, fl = 0, fl_cap = 0, by = 0, by_cap = 0;
    size_t n_self = 0;
    for (size_t d = 0; d < s->nd; d++) {
        const struct sim_deployment_stats *ds = &ws->deployments[d];
        gpu_all += ds->gpu_cost_usd;
        storage_all += ds->cache_storage_usd;
        idle_all += ds->gpu_cost_usd - ds->gpu_busy_cost_usd;
        if (isfinite(ds->energy_kwh)) {
            kwh_all = (isnan(kwh_all) ? 0 : kwh_all) + ds->energy_kwh;
            eusd_all = (isnan(eusd_all) ? 0 : eusd_all) + ds->energy_usd;
            co2_all = (isnan(co2_all) ? 0 : co2_all) + ds->co2_g;
            if (s->bill_energy)
                billed_all += ds->energy_usd;
        }
        if (!s->self_hosted[d])
            continue;
        n_self++;
        busy += ds->busy_s;
        prov += ds->provisioned_s;
        preempt += (double)ds->preemptions;
        iter += (double)ds->iterations;
        if (isfinite(ds->mfu) && ds->mfu > 0 && isfinite(ds->flops)) {
            fl += ds->flops;
            fl_cap += ds->flops / ds->mfu;
        }
        if (isfinite(ds->mbu) && ds->mbu > 0 && isfinite(ds->bytes)) {
            by += ds->bytes;
            by_cap += ds->bytes / ds->mbu;
        }
    }
    for (size_t k = 0; k < s->nscopes; k++) {
        double *run = &rep->run[k * N_RUN_METRICS];
        const struct scope_acc *a = acc_of(s, rep, k);
        run[R_THROUGHPUT] = span > 0 ? (double)a->measured / span : NAN;
        if (k == 0) {
            set_costs(run, a, gpu_all, storage_all, billed_all);
            set_rates(run, a, gpu_all + storage_all + billed_all, &per);
            set_energy(run, a, kwh_all, eusd_all, co2_all);
            /* Every deployment's window is the same: the sums over them, and
             * stable when each is. */
            struct overload all = {0}, o;
            all.stable = 1;
            for (size_t d = 0; d < s->nd; d++) {
                ov_eval(s, rep, d, &o);
                all.arrived += o.arrived;
                all.completed += o.completed;
                all.window_s = o.window_s;
                all.queue_growth += o.queue_growth;
                all.stable &= o.stable;
            }
            set_overload(run, &all);
            set_cache(run, ws->deployments, s->nd);
            set_disagg(run, ws->deployments, s->nd);
            run[R_GPU_IDLE] = idle_all;
            run[R_IN_SYSTEM] = ws->makespan_s > 0 ? ws->area_in_system / ws->makespan_s : NAN;
            run[R_LITTLE] = ws->sum_sojourn_s > 0
                                ? fabs(ws->area_in_system - ws->sum_sojourn_s) / ws->sum_sojourn_s
                                : NAN;
            run[R_UTIL] = prov > 0 ? busy / prov : NAN;
            run[R_IDLE] = 1.0 - run[R_UTIL];
            run[R_MFU] = fl_cap > 0 ? fl / fl_cap : NAN;
            run[R_MBU] = by_cap > 0 ? by / by_cap : NAN;
            run[R_PREEMPT] = n_self > 0 ? preempt : NAN;
            run[R_ITER] = n_self > 0 ? iter : NAN;
            double calls = 0, esc = 0;
            for (size_t d = 0; d < s->nd; d++) {
                calls += (double)ws->deployments[d].calls;
                esc += (double)ws->deployments[d].escalated;
            }
            run[R_CALLS] = calls;
            run[R_ESC_CALLS] = esc;
            run[R_SPOT_INTERRUPTIONS] = run[R_SPOT_REQUEUED] = run[R_SPOT_HOURS] = 0;
            for (size_t d = 0; d < s->nd; d++) {
                run[R_SPOT_INTERRUPTIONS] += (double)ws->deployments[d].interruptions;
                run[R_SPOT_REQUEUED] += (double)ws->deployments[d].requeued;
                run[R_SPOT_HOURS] += ws->deployments[d].spot_provisioned_s / 3600.0;
            }
        } else if (k <= s->nc || scope_group(s, k)) {
            /* A class's (a tenant's, a tier's: its classes') share of each
             * deployment's provisioned GPU cost and of its cache storage fees. */
            double gpu = 0, storage = 0, energy = 0;
            for (size_t c = 0; c < s->nc; c++)
                if (k <= s->nc ? c == k - 1 : group_has(s, k, c))
                    class_costs(s, rep, ws, c, &gpu, &storage, &energy);
            set_costs(run, a, gpu, storage, energy);
            set_rates(run, a, gpu + storage + energy, &per);
        } else {
            size_t d = k - 1 - s->nc;
            const struct sim_deployment_stats *ds = &ws->deployments[d];
            double billed = s->bill_energy && isfinite(ds->energy_usd) ? ds->energy_usd : 0;
            set_costs(run, a, ds->gpu_cost_usd, ds->cache_storage_usd, billed);
            set_rates(run, a, ds->gpu_cost_usd + ds->cache_storage_usd + billed, &per);
            set_energy(run, a, ds->energy_kwh, ds->energy_usd, ds->co2_g);
            struct overload o;
            ov_eval(s, rep, d, &o);
            set_overload(run, &o);
            set_cache(run, ds, 1);
            set_disagg(run, ds, 1);
            run[R_GPU_IDLE] = ds->gpu_cost_usd - ds->gpu_busy_cost_usd;
            run[R_SPOT_INTERRUPTIONS] = (double)ds->interruptions;
            run[R_SPOT_REQUEUED] = (double)ds->requeued;
            run[R_SPOT_HOURS] = ds->spot_provisioned_s / 3600.0;
            run[R_CALLS] = (double)ds->calls;
            run[R_ESC_CALLS] = (double)ds->escalated;
            if (s->self_hosted[d])
                set_engine(run, ds);
        }
    }
    /* Jain's index (Jain, Chiu and Hawe, DEC-TR-301, 1984) of the tenants'
     * token throughput x_i (input + output tokens per second):
     * (sum x_i)^2 / (n sum x_i^2), 1 when all get the same, 1/n when one
     * gets everything. */
    if (s->nt >= 2) {
        double sx = 0, sx2 = 0;
        for (size_t t = 0; t < s->nt; t++) {
            const double *run = &rep->run[(1 + s->nc + s->nd + t) * N_RUN_METRICS];
            double x = (isfinite(run[R_INPUT_TPS]) ? run[R_INPUT_TPS] : 0) +
                       (isfinite(run[R_OUTPUT_TPS]) ? run[R_OUTPUT_TPS] : 0);
            sx += x;
            sx2 += x * x;
        }
        rep->run[R_JAIN] = sx2 > 0 ? sx * sx / ((double)s->nt * sx2) : NAN;
    }
    rep->has_run = 1;
    free(rep->ov);
    rep->ov = NULL;
    return 0;
}

static int stats_sink_request(void *ctx, const struct sim_request_record *r)
{
    return ana_stats_add(ctx, r);
}

static int stats_sink_iteration(void *ctx, const struct sim_iter_record *it)
{
    return ana_stats_add_iteration(ctx, it);
}

struct sim_sink ana_stats_sink(struct ana_stats *s)
{
    return (struct sim_sink){s, stats_sink_request, NULL, stats_sink_iteration, NULL};
}

/* ---- summary ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Comparison sort of x[0..n-1] (finite values), -0.0 made +0.0 first so
 * that equal values are the same bits (as ana_select_parts reads them). */
static void sort_small(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] == 0)
            x[i] = 0.0;
    qsort(x, n, sizeof *x, cmp_double);
}

double ana_quantile7(const double *x, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return x[n - 1];
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

static double mean_of(const double *x, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return n ? sum / (double)n : NAN;
}

/* t_{0.975, k-1} s / sqrt(k) over k values; NaN for k < 2. */
static double t_halfwidth(const double *x, size_t k)
{
    if (k < 2)
        return NAN;
    double m = mean_of(x, k), ss = 0;
    for (size_t i = 0; i < k; i++)
        ss += (x[i] - m) * (x[i] - m);
    double sd = sqrt(ss / (double)(k - 1));
    return ana_t_quantile(0.975, (double)(k - 1)) * sd / sqrt((double)k);
}

/* Fills the row's statistics: n values, their mean (summed in record
 * order), their percentiles pct_p (NaN with none); percentile intervals
 * NaN. */
static void fill_row_q(struct ana_summary_row *row, const char *scope, const char *metric,
                       size_t n, double mean, double ci95, const double *pq)
{
    memset(row, 0, sizeof *row);
    snprintf(row->scope, sizeof row->scope, "%s", scope);
    snprintf(row->metric, sizeof row->metric, "%s", metric);
    row->count = n;
    row->mean = mean;
    row->p50 = pq[0];
    row->p90 = pq[1];
    row->p95 = pq[2];
    row->p99 = pq[3];
    row->ci95 = ci95;
    row->p50_ci95 = row->p90_ci95 = row->p95_ci95 = row->p99_ci95 = NAN;
}

/* Fills the row's statistics from sorted x[0..n-1] and their mean. */
static void fill_row_sorted(struct ana_summary_row *row, const char *scope, const char *metric,
                            const double *x, size_t n, double mean, double ci95)
{
    double pq[N_PCT];
    for (int j = 0; j < N_PCT; j++)
        pq[j] = ana_quantile7(x, n, pct_p[j]);
    fill_row_q(row, scope, metric, n, mean, ci95, pq);
}

/* Sorts x[0..n-1] in place and fills the row's statistics (percentile
 * intervals NaN: the rows over replications' values, see results.h). */
static void fill_row(struct ana_summary_row *row, const char *scope, const char *metric, double *x,
                     size_t n, double ci95)
{
    double mean = mean_of(x, n);
    sort_small(x, n);
    fill_row_sorted(row, scope, metric, x, n, mean, ci95);
}

/* Sectioning (see the top of the file): t_{0.975, k-1} S / sqrt(k), S^2 =
 * sum (q_i - center)^2 / (k - 1) over the k sections' percentiles q_i,
 * about the percentile center of all the samples; NaN for k < 2 or a value
 * that is not finite. */
static double section_halfwidth(const double *q, size_t k, double center)
{
    if (k < 2 || !isfinite(center))
        return NAN;
    double ss = 0;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(q[i]))
            return NAN;
        ss += (q[i] - center) * (q[i] - center);
    }
    return ana_t_quantile(0.975, (double)(k - 1)) * sqrt(ss / (double)(k - 1)) / sqrt((double)k);
}

/* Sets the row's p*_ci95 from ns sections' percentiles (percentile j of
 * section i at q[j * cap + i]), the smallest section holding smin samples,
 * centred on center[j], plus err[j] (the resolution of a histogram's
 * percentile; NULL: exact). */
static void set_pct_ci(struct ana_summary_row *row, const double *q, size_t cap, size_t ns,
                       uint64_t smin, const double *center, const double *err)
{
    double *out[N_PCT] = {&row->p50_ci95, &row->p90_ci95, &row->p95_ci95, &row->p99_ci95};
    for (int j = 0; j < N_PCT; j++)
        *out[j] = ns >= 2 && smin >= pct_min[j]
                      ? section_halfwidth(q + (size_t)j * cap, ns, center[j]) + (err ? err[j] : 0.0)
                      : NAN;
}

/* The ranks the type-7 percentiles pct_p of n > 0 values read, floor h and
 * floor h + 1 (when < n; see ana_quantile7), ascending without repeats
 * (rank holds 2 N_PCT).  Returns their number. */
static size_t q7_ranks(size_t n, size_t *rank)
{
    size_t m = 0;
    for (int j = 0; j < N_PCT; j++) {
        size_t lo = (size_t)floor((double)(n - 1) * pct_p[j]);
        /* lo never decreases with j, so a rank not past the last is had */
        for (size_t r = lo; r <= lo + 1 && r < n; r++)
            if (m == 0 || r > rank[m - 1])
                rank[m++] = r;
    }
    return m;
}

/* Type-7 percentile p of n values from the values v[i] of their ranks
 * rank[i] (q7_ranks): ana_quantile7's arithmetic over them. */
static double q7_of(size_t n, double p, const size_t *rank, const double *v)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h), i = 0;
    while (rank[i] != lo)
        i++;
    if (lo + 1 >= n)
        return v[i];
    return v[i] + (h - (double)lo) * (v[i + 1] - v[i]);
}

/* Adds x[0..n-1] in order to *total and returns their sum from 0 (the
 * order mean_of sums in, so both are its sums bit for bit), widening
 * [*min, *max] to hold them: one pass for a part's mean, the running
 * total's and the bounds ana_select_parts needs. */
static double scan_part(const double *x, size_t n, double *total, double *min, double *max)
{
    double t = *total, sum = 0, lo = *min, hi = *max;
    /* Two values a turn (the sums still in order): the loop's own
     * instructions were a third of the pass.  The bounds in this order are a
     * single minsd / maxsd each (x86-64). */
    const double *end = x + (n & ~(size_t)1);
    for (; x < end; x += 2) {
        double v = x[0], w = x[1];
        t += v;
        sum += v;
        t += w;
        sum += w;
        lo = lo < v ? lo : v;
        hi = hi > v ? hi : v;
        lo = lo < w ? lo : w;
        hi = hi > w ? hi : w;
    }
    if (n & 1) {
        double v = x[0];
        t += v;
        sum += v;
        lo = lo < v ? lo : v;
        hi = hi > v ? hi : v;
    }
    *total = t;
    *min = lo;
    *max = hi;
    return sum;
}

/* scan_part of n copies of c, without them in memory: the same additions
 * in the same order, and the bounds, which c alone moves. */
static double scan_const(double c, size_t n, double *total, double *min, double *max)
{
    double t = *total, sum = 0;
    for (size_t j = 0; j < n; j++) {
        t += c;
        sum += c;
    }
    if (n > 0) {
        *min = *min < c ? *min : c;
        *max = *max > c ? *max : c;
    }
    *total = t;
    return sum;
}

/* Scratch of fill_row_exact, allocated once per summary: a part per
 * section (cap >= max(replications, BATCHES) + 1), each with room for
 * 2 N_PCT ranks and their values. */
struct exact_scratch {
    struct ana_sel sel;
    struct ana_sel_part *part;
    size_t *rank;
    double *val;
    struct dview *w; /* [replication] */
    double *cv; /* the samples of the constant (virtual) arrays, ncv of room */
    size_t ncv;
    int no_prefault; /* see prefault */
};

/* Points part at the samples of each replication's view w[r] that has
 * some, writing those of a constant into es->cv (one stretch of copies for
 * all the replications when they hold one constant, else one each), and
 * returns the parts' count.  Returns SIZE_MAX when out of memory. */
static size_t exact_parts(const struct dview *w, size_t nr, struct exact_scratch *es,
                          struct ana_sel_part *part)
{
    size_t sum = 0, most = 0, np = 0;
    int one = 1;
    double c = 0;
    for (size_t r = 0; r < nr; r++) {
        if (w[r].v || w[r].n == 0)
            continue;
        if (sum > 0 && !same_bits(w[r].c, c))
            one = 0;
        c = w[r].c;
        sum += w[r].n;
        most = w[r].n > most ? w[r].n : most;
    }
    size_t need = one ? most : sum;
    if (need > es->ncv) {
        double *v = need <= SIZE_MAX / sizeof *v ? realloc(es->cv, need * sizeof *v) : NULL;
        if (!v)
            return SIZE_MAX;
        /* Written whole below (it may be as large as a run's samples). */
        prefault(v, es->ncv, need, &es->no_prefault);
        es->cv = v;
        es->ncv = need;
    }
    size_t off = 0;
    for (size_t r = 0; r < nr; r++) {
        const double *x = w[r].v;
        if (w[r].n == 0)
            continue;
        if (!x && (!one || off == 0)) {
            size_t n = one ? most : w[r].n;
            for (size_t j = 0; j < n; j++)
                es->cv[off + j] = w[r].c;
            off += n;
        }
        if (!x)
            x = one ? es->cv : es->cv + off - w[r].n;
        part[np++] = (struct ana_sel_part){x, w[r].n, NULL, 0, NULL};
    }
    return np;
}

/* Exact mode, metric slot i of the nreps replications: the row from every
 * sample, read in place.  The sections (see the top of the file) are the
 * replications with samples when two or more have some, else the BATCHES
 * batches of the one (none below BATCHES samples; its earliest samples
 * outside them); section i's percentile pct_p[j] goes to q[j * cap + i].
 * The mean is summed in record order, the interval is Student t over the
 * replications' means or batch means over the batches, and the percentiles
 * of each section and of all the samples are order statistics selected by
 * ana_select_parts (a sort of each section was most of a large run's
 * summary, issue 12).  Returns 0 or LLMSIM_ENOMEM. */
static int fill_row_exact(const struct ana_stats *s, size_t i, struct ana_summary_row *row,
                          const char *scope, const char *metric, struct exact_scratch *es,
                          double *means, double *q, size_t cap)
{
    struct ana_sel_part *part = es->part;
    size_t total = 0;
    for (size_t r = 0; r < s->nreps; r++) {
        es->w[r] = s->reps[r] ? slot_view(s->reps[r], i) : (struct dview){NULL, 0, 0};
        total += es->w[r].n;
    }
    /* Every sample one constant c (a metric that never varied, such as
     * preemptions without any): the parts stay unwritten (x NULL), scanned
     * by scan_const, and the selection, all of whose values are c, reads
     * none of them (min == max). */
    int one = 1;
    double c = 0;
    size_t seen = 0, np = 0;
    for (size_t r = 0; r < s->nreps && one; r++) {
        if (es->w[r].n == 0)
            continue;
        one = !es->w[r].v && (seen == 0 || same_bits(es->w[r].c, c));
        c = es->w[r].c;
        seen++;
    }
    if (one)
        for (size_t r = 0; r < s->nreps; r++)
            if (es->w[r].n > 0)
                part[np++] = (struct ana_sel_part){NULL, es->w[r].n, NULL, 0, NULL};
    if (!one && (np = exact_parts(es->w, s->nreps, es, part)) == SIZE_MAX)
        return LLMSIM_ENOMEM;
    size_t nr = np, first = 0, ns = nr;
    if (nr == 1) {
        /* The batches of batch means, the earliest samples outside them. */
        const double *x = part[0].x;
        size_t bs = total / BATCHES, skip = total - bs * BATCHES;
        np = 0;
        if (skip > 0)
            part[np++] = (struct ana_sel_part){x, skip, NULL, 0, NULL};
        first = np;
        ns = bs > 0 ? BATCHES : 0;
        for (size_t k = 0; k < ns; k++)
            part[np++] = (struct ana_sel_part){x ? x + skip + k * bs : NULL, bs, NULL, 0, NULL};
    }
    double sum = 0, min = INFINITY, max = -INFINITY;
    uint64_t smin = UINT64_MAX;
    for (size_t p = 0; p < np; p++) {
        double ps = one ? scan_const(c, part[p].n, &sum, &min, &max)
                        : scan_part(part[p].x, part[p].n, &sum, &min, &max);
        if (p < first)
            continue;
        means[p - first] = ps / (double)part[p].n;
        part[p].rank = es->rank + p * 2 * N_PCT;
        part[p].nrank = q7_ranks(part[p].n, es->rank + p * 2 * N_PCT);
        part[p].out = es->val + p * 2 * N_PCT;
        if (part[p].n < smin)
            smin = part[p].n;
    }
    /* Batch means want BATCH_MIN_SAMPLES; a replication's mean, one. */
    double ci = nr >= 2                               ? t_halfwidth(means, nr)
                : nr == 1 && total >= BATCH_MIN_SAMPLES ? t_halfwidth(means, BATCHES)
                                                        : NAN;
    size_t prank[2 * N_PCT], npr = total ? q7_ranks(total, prank) : 0;
    double pval[2 * N_PCT], pq[N_PCT] = {NAN, NAN, NAN, NAN};
    int rc = ana_select_parts(&es->sel, part, np, min, max, prank, npr, pval);
    if (rc)
        return rc;
    for (int j = 0; j < N_PCT && total; j++)
        pq[j] = q7_of(total, pct_p[j], prank, pval);
    for (size_t k = 0; k < ns; k++)
        for (int j = 0; j < N_PCT; j++)
            q[(size_t)j * cap + k] =
                q7_of(part[first + k].n, pct_p[j], part[first + k].rank, part[first + k].out);
    fill_row_q(row, scope, metric, total, total ? sum / (double)total : NAN, ci, pq);
    set_pct_ci(row, q, cap, ns, total ? smin : 0, pq, NULL);
    return 0;
}

/* Weighted quantile from the histogram h: the geometric midpoint of the
 * first bucket whose cumulative weight reaches p times the total, clamped to
 * [HIST_LO, HIST_HI]; NaN with no weight. */
static double hist_quantile(const double *h, const double *edges, double p)
{
    double cum, target;
    size_t k = hist_quantile_bucket(h, p, &cum, &target);
    if (k == HIST_N)
        return NAN;
    double mid = sqrt(edges[k] * edges[k + 1]);
    return mid < HIST_LO ? HIST_LO : mid > HIST_HI ? HIST_HI : mid;
}

/* The `rejected` row of scope k: count = rejected measured requests, mean =
 * their share of the measured requests offered (served or rejected),
 * percentiles and ci95 over the replications' shares. */
static void fill_rejected(const struct ana_stats *s, size_t k, struct ana_summary_row *row,
                          double *x)
{
    uint64_t rejected = 0, offered = 0;
    size_t nr = 0;
    for (size_t i = 0; i < s->nreps; i++) {
        const struct scope_acc *a = s->reps[i] ? acc_of(s, s->reps[i], k) : NULL;
        if (!a || a->measured + a->rejected == 0)
            continue;
        rejected += a->rejected;
        offered += a->measured + a->rejected;
        x[nr++] = (double)a->rejected / (double)(a->measured + a->rejected);
    }
    double ci = t_halfwidth(x, nr);
    fill_row(row, s->scope[k], "rejected", x, nr, ci);
    row->count = rejected;
    row->mean = offered > 0 ? (double)rejected / (double)offered : NAN;
}

/* The cache_hit_tokens row of scope k: count = input tokens of the measured
 * requests, mean = their cached tokens / their input tokens (NaN with no
 * input token), percentiles and ci95 over the replications' ratios. */
static void fill_cache_hit_tokens(const struct ana_stats *s, size_t k, struct ana_summary_row *row,
                                  double *x)
{
    uint64_t input = 0, cached = 0;
    size_t nr = 0;
    for (size_t i = 0; i < s->nreps; i++) {
        const struct scope_acc *a = s->reps[i] ? acc_of(s, s->reps[i], k) : NULL;
        if (!a || a->input_tokens == 0)
            continue;
        input += a->input_tokens;
        cached += a->cached_tokens;
        x[nr++] = (double)a->cached_tokens / (double)a->input_tokens;
    }
    double ci = t_halfwidth(x, nr);
    fill_row(row, s->scope[k], "cache_hit_tokens", x, nr, ci);
    row->count = input;
    row->mean = input > 0 ? (double)cached / (double)input : NAN;
}

/* 100 x (nocache - cost) / nocache, 0 when nocache is 0. */
static double savings_pct(double nocache_usd, double cost_usd)
{
    return nocache_usd != 0 ? 100.0 * (nocache_usd - cost_usd) / nocache_usd : 0.0;
}

/* The savings_pct row of scope k: count = measured requests, mean = the
 * percentage saved over their pooled sums (NaN with none), percentiles and
 * ci95 over the replications' percentages. */
static void fill_savings_pct(const struct ana_stats *s, size_t k, struct ana_summary_row *row,
                             double *x)
{
    uint64_t measured = 0;
    double nocache = 0, cost = 0;
    size_t nr = 0;
    for (size_t i = 0; i < s->nreps; i++) {
        const struct scope_acc *a = s->reps[i] ? acc_of(s, s->reps[i], k) : NULL;
        if (!a || a->measured == 0)
            continue;
        measured += a->measured;
        nocache += a->nocache_usd;
        cost += a->cost_usd;
        x[nr++] = savings_pct(a->nocache_usd, a->cost_usd);
    }
    double ci = t_halfwidth(x, nr);
    fill_row(row, s->scope[k], "savings_pct", x, nr, ci);
    row->count = measured;
    row->mean = measured > 0 ? savings_pct(nocache, cost) : NAN;
}

/* The itl_token_s row of iteration scope j (scope k): count = decode tokens
 * (rounded), mean = token-weighted mean, percentiles from the histogram,
 * ci95 Student t over the replications' weighted means, percentile
 * intervals by sectioning over the replications' weighted percentiles (two
 * or more; q has room for N_PCT x cap values, cap >= s->nreps). */
static void fill_itl_token(const struct ana_stats *s, size_t k, size_t j,
                           struct ana_summary_row *row, double *x, double *q, size_t cap)
{
    size_t ns = 0;
    uint64_t smin = UINT64_MAX;
    for (size_t i = 0; i < s->nreps; i++) {
        const struct rep *r = s->reps[i];
        if (!r || !(r->itl_w[j] > 0))
            continue;
        for (int p = 0; p < N_PCT; p++)
            q[(size_t)p * cap + ns] =
                r->itl_h ? hist_quantile_smooth(&r->itl_h[hist_scope(s, j) * HIST_N], s->edges, pct_p[p])
                         : r->itl_q[j * N_PCT + (size_t)p];
        if (r->itl_n[j] < smin)
            smin = r->itl_n[j];
        ns++;
    }
    double w = 0, wd = 0;
    size_t nr = 0;
    for (size_t i = 0; i < s->nreps; i++) {
        const struct rep *r = s->reps[i];
        if (!r || !(r->itl_w[j] > 0))
            continue;
        w += r->itl_w[j];
        wd += r->itl_wd[j];
        x[nr++] = r->itl_wd[j] / r->itl_w[j];
    }
    memset(row, 0, sizeof *row);
    row->p50_ci95 = row->p90_ci95 = row->p95_ci95 = row->p99_ci95 = NAN;
    snprintf(row->scope, sizeof row->scope, "%s", s->scope[k]);
    snprintf(row->metric, sizeof row->metric, "%s", "itl_token_s");
    row->count = w > 0 ? (uint64_t)llround(w) : 0;
    row->mean = w > 0 ? wd / w : NAN;
    const double *h = s->hist ? &s->hist[hist_scope(s, j) * HIST_N] : NULL;
    row->p50 = h ? hist_quantile(h, s->edges, 0.50) : NAN;
    row->p90 = h ? hist_quantile(h, s->edges, 0.90) : NAN;
    row->p95 = h ? hist_quantile(h, s->edges, 0.95) : NAN;
    row->p99 = h ? hist_quantile(h, s->edges, 0.99) : NAN;
    row->ci95 = t_halfwidth(x, nr);
    if (h && ns >= 2) {
        /* Centred on the spread-weight percentile of all the iterations;
         * the shown percentile (a bucket's midpoint) is within (sqrt(r) -
         * 1) times itself of the exact one. */
        const double shown[N_PCT] = {row->p50, row->p90, row->p95, row->p99};
        double center[N_PCT], err[N_PCT];
        for (int p = 0; p < N_PCT; p++) {
            center[p] = hist_quantile_smooth(h, s->edges, pct_p[p]);
            err[p] = (sqrt(HIST_RATIO) - 1.0) * shown[p];
        }
        set_pct_ci(row, q, cap, ns, smin, center, err);
    }
}

/* Whether scope k has, in every replication, as many samples of metric m
 * as "all": then it has the same samples, since its requests are a subset
 * of all the requests and samples are appended in record order. */
static int same_as_all(const struct ana_stats *s, size_t k, int m)
{
    if (scope_alias(s, k))
        return 1;
    for (size_t i = 0; i < s->nreps; i++) {
        if (!s->reps[i])
            continue;
        if (s->compact) {
            if (s->reps[i]->tally[(size_t)m].n != s->reps[i]->tally[k * N_REQ_METRICS + (size_t)m].n)
                return 0;
            continue;
        }
        const struct rep *r = s->reps[i];
        if (dvec_n(r->samples, &r->mask[0], m) != dvec_n(&r->samples[k * N_REQ_METRICS], &r->mask[k], m))
            return 0;
    }
    return 1;
}

/* Whether a and b hold the same samples, bit for bit.  A twin shares its
 * metric's array and constants compare as one value: the comparison of
 * 10^6 samples is left for arrays that are really there. */
static int views_equal(struct dview a, struct dview b)
{
    if (a.n != b.n)
        return 0;
    if (a.n == 0 || (a.v && a.v == b.v))
        return 1;
    if (a.v && b.v)
        return memcmp(a.v, b.v, a.n * sizeof *a.v) == 0;
    if (!a.v && !b.v)
        return same_bits(a.c, b.c);
    const double *x = a.v ? a.v : b.v;
    double c = a.v ? b.c : a.c;
    for (size_t j = 0; j < a.n; j++)
        if (!same_bits(x[j], c))
            return 0;
    return 1;
}

/* Exact mode: the earlier metric e < m of scope k (twin[e] < 0: not itself
 * a copy) whose samples are m's, bit for bit, in every replication, else
 * -1.  Its row is then m's, the row being a function of the samples alone:
 * so it is for ttft_miss_s without prompt caching (ttft_s's samples),
 * perceived_s of streaming classes (ttft_s's again) and the metrics that
 * are 0 throughout, and a comparison that stops at the first difference
 * costs much less than a row of 10^6 samples. */
static int same_samples(const struct ana_stats *s, size_t k, int m, const int *twin)
{
    for (int e = 0; e < m; e++) {
        if (twin[e] >= 0)
            continue;
        int same = 1;
        for (size_t i = 0; i < s->nreps && same; i++) {
            if (!s->reps[i])
                continue;
            const struct dvec *base = &s->reps[i]->samples[k * N_REQ_METRICS];
            const struct smask *mk = &s->reps[i]->mask[k];
            same = views_equal(dvec_view(base, mk, e), dvec_view(base, mk, m));
        }
        if (same)
            return e;
    }
    return -1;
}

/* The percentile intervals of metric slot i in compact mode (the row's
 * percentiles set): sectioning over the replications' percentiles (two or
 * more with samples), else over the one's batch percentiles, about the
 * spread-stand-in percentile of all the samples, plus the bound on the
 * shown percentile's error.  q has room for N_PCT x cap values, cap >=
 * max(s->nreps, 2 ANA_BM_BATCHES).  Returns 0 or LLMSIM_ENOMEM. */
static int pct_ci_compact(const struct ana_stats *s, size_t i, struct ana_summary_row *row,
                          double *q, size_t cap)
{
    size_t nr = 0, only = 0;
    uint64_t smin = UINT64_MAX;
    for (size_t r = 0; r < s->nreps; r++) {
        const struct rep *rep = s->reps[r];
        if (!rep || rep->tally[i].n == 0)
            continue;
        if (rep->tally[i].n < smin)
            smin = rep->tally[i].n;
        if (rep->qs && rep->qs[i].broken) {
            for (int j = 0; j < N_PCT; j++)
                q[(size_t)j * cap + nr] = NAN;
        } else if (rep->qs) {
            /* A replication still running (no add_run yet). */
            struct ana_vhist all;
            if (ana_qbatch_all(&rep->qs[i], &all) != 0)
                return LLMSIM_ENOMEM;
            for (int j = 0; j < N_PCT; j++)
                q[(size_t)j * cap + nr] = ana_vhist_quantile_smooth(&all, pct_p[j]);
            ana_vhist_free(&all);
        } else {
            for (int j = 0; j < N_PCT; j++)
                q[(size_t)j * cap + nr] = rep->rq[i * N_PCT + (size_t)j];
        }
        only = r;
        nr++;
    }
    size_t ns = nr;
    if (nr == 1) {
        /* The batches of the one replication. */
        const struct rep *rep = s->reps[only];
        const struct sections *sc = &s->sect[i];
        ns = 0;
        if (rep->qs && !rep->qs[i].broken) {
            const struct ana_qbatch *b = &rep->qs[i];
            ns = b->nb;
            smin = b->bsize;
            for (int j = 0; j < N_PCT; j++)
                for (size_t k = 0; k < ns; k++)
                    q[(size_t)j * cap + k] = ana_vhist_quantile_smooth(&b->b[k], pct_p[j]);
        } else if (!rep->qs && sc->kept && sc->rep == only) {
            ns = sc->nb;
            smin = sc->bsize;
            for (int j = 0; j < N_PCT; j++)
                memcpy(q + (size_t)j * cap, sc->q[j], ns * sizeof *q);
        }
    }
    double center[N_PCT], err[N_PCT];
    for (int j = 0; j < N_PCT; j++) {
        center[j] = ana_vhist_quantile_smooth(&s->vh[i], pct_p[j]);
        err[j] = ana_vhist_quantile_err(&s->vh[i], pct_p[j]);
    }
    set_pct_ci(row, q, cap, ns, smin, center, err);
    return 0;
}

/* The row of metric slot i in compact mode: count and mean exact, the
 * percentiles from the pooled histogram, the interval from the
 * replications' means (two or more) or the batch means of the one, the
 * percentile intervals from pct_ci_compact.  Returns 0 or LLMSIM_ENOMEM. */
static int fill_row_compact(const struct ana_stats *s, size_t i, struct ana_summary_row *row,
                            const char *scope, const char *metric, double *means, double *q,
                            size_t cap)
{
    memset(row, 0, sizeof *row);
    row->p50_ci95 = row->p90_ci95 = row->p95_ci95 = row->p99_ci95 = NAN;
    snprintf(row->scope, sizeof row->scope, "%s", scope);
    snprintf(row->metric, sizeof row->metric, "%s", metric);
    uint64_t n = 0;
    double sum = 0;
    size_t nr = 0;
    const struct tally *only = NULL;
    for (size_t r = 0; r < s->nreps; r++) {
        const struct tally *t = s->reps[r] ? &s->reps[r]->tally[i] : NULL;
        if (!t || t->n == 0)
            continue;
        n += t->n;
        sum += t->sum;
        means[nr++] = t->sum / (double)t->n;
        only = t;
    }
    row->count = n;
    row->mean = n ? sum / (double)n : NAN;
    const struct ana_vhist *h = &s->vh[i];
    row->p50 = ana_vhist_quantile(h, 0.50);
    row->p90 = ana_vhist_quantile(h, 0.90);
    row->p95 = ana_vhist_quantile(h, 0.95);
    row->p99 = ana_vhist_quantile(h, 0.99);
    if (nr >= 2) {
        row->ci95 = t_halfwidth(means, nr);
    } else if (nr == 1 && only->n >= BATCH_MIN_SAMPLES) {
        double bm[2 * ANA_BM_BATCHES];
        row->ci95 = t_halfwidth(bm, ana_bmeans_get(&only->bm, bm));
    } else {
        row->ci95 = NAN;
    }
    return n ? pct_ci_compact(s, i, row, q, cap) : 0;
}

/* Whether scope k has a /summary row of run-level metric m: energy rows
 * only when the scenario accounts energy, spot rows only when it has spot
 * replicas, disaggregation rows only when a deployment is disaggregated,
 * jain_index only with two or more tenants, so that other scenarios keep
 * exactly the rows they had. */
static int run_row(const struct ana_stats *s, size_t k, int m)
{
    if (!(run_metrics[m].scopes & scope_kind(s, k)))
        return 0;
    /* the optional groups from the last: each has its own gate */
    if (m >= R_KV_TRANSFER)
        return s->disagg;
    if (m >= R_SPOT_INTERRUPTIONS)
        return s->spot;
    if (m == R_JAIN)
        return s->nt >= 2;
    return m < R_ENERGY_KWH || s->energy;
}

int ana_stats_summary(const struct ana_stats *s, struct ana_summary_row **rows, size_t *n)
{
    if (!s || !rows || !n)
        return LLMSIM_EINVAL;
    *rows = NULL;
    *n = 0;
    size_t nrows = 0;
    for (size_t k = 0; k < s->nscopes; k++) {
        /* rejected, cache_hit_tokens, savings_pct, itl_token_s */
        nrows += N_REQ_METRICS + 3 + (scope_kind(s, k) != SK_CLASS);
        for (int m = 0; m < N_RUN_METRICS; m++)
            nrows += run_row(s, k, m);
    }
    /* Percentile intervals: cap sections' percentiles; exact mode: a part
     * per section and the earliest samples (fill_row_exact). */
    size_t cap = s->nreps > 2 * ANA_BM_BATCHES ? s->nreps : 2 * ANA_BM_BATCHES;
    size_t nparts = s->nreps > BATCHES + 1 ? s->nreps : BATCHES + 1;
    struct ana_summary_row *out = calloc(nrows, sizeof *out);
    double *x = malloc((s->nreps ? s->nreps : 1) * sizeof *x);
    double *means = malloc((s->nreps > BATCHES ? s->nreps : BATCHES) * sizeof *means);
    double *secq = malloc(N_PCT * cap * sizeof *secq);
    struct exact_scratch es = {0};
    if (!s->compact) {
        es.part = malloc(nparts * sizeof *es.part);
        es.rank = malloc(nparts * 2 * N_PCT * sizeof *es.rank);
        es.val = malloc(nparts * 2 * N_PCT * sizeof *es.val);
        es.w = malloc((s->nreps ? s->nreps : 1) * sizeof *es.w);
    }
    int rc = 0;
    if (!out || !x || !means || !secq || (!s->compact && (!es.part || !es.rank || !es.val || !es.w))) {
        rc = LLMSIM_ENOMEM;
        goto done;
    }

    size_t row = 0;
    size_t all_row[N_REQ_METRICS]; /* the "all" scope's row of each metric */
    for (size_t k = 0; k < s->nscopes; k++) {
        int twin[N_REQ_METRICS]; /* same_samples */
        for (int m = 0; m < N_REQ_METRICS; m++) {
            twin[m] = -1;
            if (k == 0)
                all_row[m] = row;
            else if (same_as_all(s, k, m)) {
                /* A scope holding every measured request (one class, one
                 * deployment) has the very samples of "all", in the same
                 * order: its row is the same, and reading 10^6 samples
                 * again would cost as much as the first time. */
                out[row] = out[all_row[m]];
                snprintf(out[row].scope, sizeof out[row].scope, "%s", s->scope[k]);
                row++;
                continue;
            }
            if (s->compact) {
                if ((rc = fill_row_compact(s, k * N_REQ_METRICS + (size_t)m, &out[row++],
                                           s->scope[k], req_metric_names[m], means, secq, cap)) !=
                    0)
                    goto done;
                continue;
            }
            if ((twin[m] = same_samples(s, k, m, twin)) >= 0) {
                out[row] = out[row - (size_t)(m - twin[m])];
                snprintf(out[row].metric, sizeof out[row].metric, "%s", req_metric_names[m]);
                row++;
                continue;
            }
            if ((rc = fill_row_exact(s, k * N_REQ_METRICS + (size_t)m, &out[row++], s->scope[k],
                                     req_metric_names[m], &es, means, secq, cap)) != 0)
                goto done;
        }
        fill_rejected(s, k, &out[row++], x);
        fill_cache_hit_tokens(s, k, &out[row++], x);
        fill_savings_pct(s, k, &out[row++], x);
        if (scope_kind(s, k) != SK_CLASS)
            fill_itl_token(s, k, k == 0 ? 0 : k - s->nc, &out[row++], x, secq, cap);
        for (int m = 0; m < N_RUN_METRICS; m++) {
            if (!run_row(s, k, m))
                continue;
            size_t nr = 0;
            for (size_t i = 0; i < s->nreps; i++) {
                const struct rep *r = s->reps[i];
                if (r && r->has_run && isfinite(r->run[k * N_RUN_METRICS + (size_t)m]))
                    x[nr++] = r->run[k * N_RUN_METRICS + (size_t)m];
            }
            double ci = t_halfwidth(x, nr);
            fill_row(&out[row++], s->scope[k], run_metrics[m].name, x, nr, ci);
        }
    }
    LLMSIM_ASSERT(row == nrows);
    *rows = out;
    *n = nrows;
    out = NULL;
done:
    free(out);
    free(x);
    free(means);
    free(secq);
    free(es.part);
    free(es.rank);
    free(es.val);
    free(es.w);
    free(es.cv);
    ana_sel_free(&es.sel);
    return rc;
}

const struct ana_summary_row *ana_summary_find(const struct ana_summary_row *rows, size_t n,
                                               const char *scope, const char *metric)
{
    if (!rows || !scope || !metric)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].scope, scope) == 0 && strcmp(rows[i].metric, metric) == 0)
            return &rows[i];
    return NULL;
}

double ana_t_quantile(double p, double dof)
{
    return gsl_cdf_tdist_Pinv(p, dof);
}

/* The replication's tenant time-series intervals up to the last in which
 * a request completed. */
static size_t tts_last(const struct ana_stats *s, const struct rep *rep)
{
    size_t last = 0;
    for (size_t b = 0; rep && b < rep->tts_bins; b++)
        for (size_t t = 0; t < s->nt; t++)
            if (rep->tts[(b * s->nt + t) * 3] > 0)
                last = b + 1;
    return last;
}

/* /tenant_timeseries (see results.h): one row per replication, interval up
 * to the last with a completion, and tenant. */
int ana_stats_write_tenant_ts(const struct ana_stats *s, struct ana_h5 *h, struct llmsim_error *err)
{
    if (!s || !h)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "tenant time series: nothing to write");
    if (s->tts_interval_s <= 0)
        return 0;
    size_t nrows = 0;
    for (size_t r = 0; r < s->nreps; r++)
        nrows += tts_last(s, s->reps[r]) * s->nt;
    enum { C_T, C_REP, C_TENANT, C_REQ, C_IN, C_OUT, C_SERVICE, C_JAIN, N_TT };
    static const struct ana_col_spec spec[N_TT] = {
        {"t_s", ANA_COL_F64, "s", "end of the interval"},
        {"replication", ANA_COL_I64, "", "replication index, from 0"},
        {"tenant", ANA_COL_STR, "", "tenant name"},
        {"requests", ANA_COL_I64, "requests", "served requests of the tenant that completed in the interval"},
        {"input_tokens", ANA_COL_F64, "tokens", "their input tokens"},
        {"output_tokens", ANA_COL_F64, "tokens", "their output tokens"},
        {"service", ANA_COL_F64, "tokens", "w_in x input + w_out x output tokens (the fair order's weights)"},
        {"jain_index", ANA_COL_F64, "1", "Jain's index of the tenants' service in the interval (NaN with none)"},
    };
    struct ana_col cols[N_TT];
    int rc = ana_cols_alloc(cols, spec, N_TT, nrows);
    if (rc == 0) {
        size_t i = 0;
        for (size_t r = 0; r < s->nreps; r++) {
            const struct rep *rep = s->reps[r];
            size_t last = tts_last(s, rep);
            for (size_t b = 0; b < last; b++) {
                /* Jain, Chiu and Hawe (1984): (sum x)^2 / (n sum x^2). */
                double sum = 0, sq = 0;
                for (size_t t = 0; t < s->nt; t++) {
                    const double *c = &rep->tts[(b * s->nt + t) * 3];
                    double x = s->tts_w_in * c[1] + s->tts_w_out * c[2];
                    sum += x;
                    sq += x * x;
                }
                double jain = sq > 0 ? sum * sum / ((double)s->nt * sq) : NAN;
                for (size_t t = 0; t < s->nt; t++, i++) {
                    const double *c = &rep->tts[(b * s->nt + t) * 3];
                    cols[C_T].f64[i] = (double)(b + 1) * s->tts_interval_s;
                    cols[C_REP].i64[i] = (int64_t)r;
                    /* the scope name without its "tenant:" prefix */
                    cols[C_TENANT].str[i] = (char *)s->scope[1 + s->nc + s->nd + t] + 7;
                    cols[C_REQ].i64[i] = (int64_t)c[0];
                    cols[C_IN].f64[i] = c[1];
                    cols[C_OUT].f64[i] = c[2];
                    cols[C_SERVICE].f64[i] = s->tts_w_in * c[1] + s->tts_w_out * c[2];
                    cols[C_JAIN].f64[i] = jain;
                }
            }
        }
        rc = ana_h5_write_table(h, "tenant_timeseries", cols, N_TT, nrows, err);
    } else {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    ana_cols_release(cols, N_TT);
    return rc;
}
