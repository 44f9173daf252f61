/* llmsim: results: summary statistics and the HDF5 results file.
 *
 * Statistics.  A struct ana_stats collects, per scope ("all", "class:NAME",
 * "deployment:NAME", and when the workload names tenants "tenant:NAME",
 * when its classes have more than one priority "tier:N") and per metric, the exact samples of every finished
 * request that is flagged neither SIM_RF_WARMUP nor SIM_RF_REJECTED,
 * separately per replication.  ana_stats_summary() turns them into rows of
 * count, mean and percentiles (exact, from the sorted pooled samples; linear
 * interpolation between order statistics, type 7 of Hyndman and Fan, as numpy
 * and pandas do) and ci95, the half-width of a 95% confidence interval for
 * the mean:
 *   - when R >= 2 replications have samples in the row's scope, Student t
 *     over the R replication means (t_{0.975, R-1} s / sqrt(R));
 *   - when one has, the method of batch means over 10 batches of b =
 *     floor(n / 10) consecutive samples, the n - 10 b earliest left out
 *     (t_{0.975, 9} s / sqrt(10)), NaN when fewer than 20 samples.
 * The mean is that of the pooled samples.  Metrics per request: ttft_s,
 * e2e_s, queue_s, itl_s (the request's mean inter-token latency, requests
 * with >= 2 output tokens streamed apart only: not the service_time model,
 * whose tokens all come when service ends), input_tokens, output_tokens, cost_usd
 * (billed lines + the request's GPU line), preemptions (times the request
 * was preempted for KV memory; the mean is preemptions per served request),
 * and for prompt caching:
 *   cache_hit_requests   1 when cached_tokens > 0, else 0: the mean is the
 *                        share of requests with a cache hit (percentiles of
 *                        the 0/1 values)
 *   cache_write_tokens   the request's cache_write_tokens
 *   ttft_hit_s           ttft_s of the requests with cached_tokens > 0 only
 *   ttft_miss_s          ttft_s of the requests with cached_tokens == 0 only
 *   savings_usd_per_1k   1000 x (cost_nocache_usd - cost_usd): the mean is
 *                        1000 x (sum of cost_nocache_usd - sum of billed lines
 *                        and GPU lines) / measured requests, what caching
 *                        saved per 1000 requests (negative when it cost more,
 *                        as with unread writes at a premium); the percentiles
 *                        are those of the per-request saving times 1000.
 *
 * More rows per scope follow them:
 *   rejected     count = non-warm-up requests flagged SIM_RF_REJECTED (never
 *                served: too large for one replica's KV memory; they are in
 *                no other per-request metric); mean = their share of the
 *                non-warm-up requests, served or rejected (0 when none was
 *                rejected, NaN with no requests); percentiles and ci95
 *                (Student t, NaN below 2) over the replications' shares
 *   cache_hit_tokens  token hit ratio, a ratio of sums (not a mean of
 *                per-request ratios): count = input tokens of the measured
 *                requests; mean = their sum of cached_tokens / their sum of
 *                input_tokens (NaN with no input token); percentiles and
 *                ci95 (Student t, NaN below 2) over the replications' ratios
 *   savings_pct  share of the cost that caching saved, a ratio of sums:
 *                count = measured requests; mean = 100 x (sum of
 *                cost_nocache_usd - sum of cost_usd) / sum of
 *                cost_nocache_usd over them (0 when that sum is 0, NaN with
 *                no request); percentiles and ci95 (Student t, NaN below 2)
 *                over the replications' percentages
 *   itl_token_s  ("all" and "deployment:NAME" only) token-weighted
 *                inter-token latency from the sink's iteration callback: each
 *                batch iteration with decode_tokens > 0 that started at or
 *                after warmup_s adds its duration_s with weight
 *                decode_tokens (every decode token of the iteration waited
 *                that long).  count = the weights' sum (decode tokens,
 *                rounded); mean = the exact weighted mean; p50 ... p99 =
 *                weighted percentiles (the smallest duration d with weight
 *                W(<= d) >= p W) from a histogram of fixed size (logarithmic
 *                buckets with edge ratio 1.01 from 1e-6 s to 1e4 s; a
 *                percentile is its bucket's geometric midpoint, within 0.5%
 *                (relative) of the exact weighted percentile; durations
 *                outside the range count in the end buckets and percentiles
 *                are clamped to it), so memory does not grow with the number
 *                of iterations; ci95 = Student t over the replications'
 *                weighted means (NaN below 2 replications).  itl_s, the mean
 *                over requests of each request's mean gap, weighs every
 *                request alike; itl_token_s weighs every token alike.
 *
 * Run-level metrics come from ana_stats_add_run, one value per replication;
 * the row's count is the number of replications with a defined value, its
 * mean, percentiles and ci95 (Student t, NaN below 2) are over those values:
 *   throughput_rps       served (not rejected) non-warm-up requests
 *                        / (makespan_s - warmup_s)
 *   cost_per_1k_usd      1000 x (billed lines of ALL requests, warm-up
 *                        included, + provisioned GPU cost, idle included,
 *                        + prompt-cache storage fees) / ALL served requests:
 *                        what the run spent per 1000 requests
 *   cost_input_per_1k_usd, cost_cache_write_per_1k_usd,
 *   cost_cache_read_per_1k_usd, cost_output_per_1k_usd, cost_gpu_per_1k_usd,
 *   cost_cache_storage_per_1k_usd
 *                        the same per line; they add up to cost_per_1k_usd
 *   gpu_idle_usd         provisioned GPU cost - the part attributed to requests
 *   in_system_mean       area_in_system / makespan_s
 *   littles_law_rel_err  |area_in_system - sum_sojourn_s| / sum_sojourn_s
 *   utilization          busy_s / provisioned_s of the self-hosted
 *                        deployments ("all": their sums)
 *   idle_share           1 - utilization
 *   mfu, mbu             the deployment's sim_deployment_stats mfu, mbu;
 *                        "all": sum of flops / sum of (flops / mfu) over the
 *                        deployments with mfu > 0, i.e. pooled over their
 *                        busy GPU-seconds x peak (mbu likewise with bytes)
 *   cost_per_1m_output_tokens_usd
 *                        1e6 x the numerator of cost_per_1k_usd / output
 *                        tokens of ALL served requests (warm-up included)
 *   preemptions_total    sim_deployment_stats preemptions ("all": the sum)
 *   iterations           sim_deployment_stats iterations ("all": the sum)
 *   kv_capacity_tokens   one replica's KV budget (left out when 0 or infinite)
 *   cache_storage_usd    sim_deployment_stats cache_storage_usd: prompt-cache
 *                        storage fees of the run ("all": the sum)
 *   cache_unread_write_usd
 *                        cache_unread_write_usd: write cost of cache entries
 *                        never read ("all": the sum)
 *   cache_unread_writes  cache_unread_writes: such entries ("all": the sum)
 *   cache_tokens         cache_tokens: tokens resident in the prompt caches at
 *                        the end ("all": the sum)
 *                        (the four cache figures are 0 for deployments without
 *                        a prompt cache)
 *   escalated_share, spilled_share, rate_limited_share, client_queued_share,
 *   prefetch_hit_share   share of the measured served requests flagged
 *                        SIM_RF_ESCALATED, _SPILLED, _RATE_LIMITED,
 *                        _CLIENT_QUEUED, _PREFETCH_HIT
 *   prefetch_saved_s     over the measured prefetch hits, the mean of (ttft_s
 *                        when the class streams, else e2e_s) - perceived_s:
 *                        the wait the prefetch took off the user (NaN with none)
 *   prefetch_wasted_per_1k_usd
 *                        1000 x cost of ALL wasted prefetches (flag
 *                        SIM_RF_PREFETCH_WASTED; part of cost_per_1k_usd) /
 *                        ALL served requests
 *   prefetch_wasted_requests  wasted prefetches (warm-up included); they are
 *                        in no per-request metric and no request count
 *   calls, escalated_calls  ("all" and deployments) sim_deployment_stats calls
 *                        and escalated: answers given, and of them those a
 *                        cascade passed up ("all": the sums)
 *   cost_per_hour_usd    3600 x (provisioned GPU cost + prompt-cache storage
 *                        fees) / makespan_s + 3600 x billed lines of ALL
 *                        requests / the arrival period [0, last arrival]:
 *                        a self-hosted fleet's replicas x tp x gpu_hour_usd,
 *                        an api deployment's spend at the offered rate
 *   cost_per_month_usd   730 x cost_per_hour_usd
 *   input_tokens_per_s, output_tokens_per_s
 *                        the measured requests' input (output) tokens
 *                        / (makespan_s - warmup_s), as throughput_rps
 *   offered_rps, achieved_rps, queue_growth, stable
 *                        ("all" and deployments) over a window of whole time
 *                        bins from warmup_s to the last arrival (no value
 *                        when it spans fewer than 4 bins): requests that
 *                        arrived in it per second, requests completed in it
 *                        per second (warm-up arrivals included), the mean
 *                        number waiting for service over its last quarter
 *                        less that over its first, and 0 when the deployment
 *                        could not keep up (arrived - completed > 3
 *                        sqrt(arrived), and queue_growth > a quarter of that
 *                        shortfall), else 1 (analysis/src/stats.c says why);
 *                        "all": the sums over the deployments, stable when
 *                        every deployment is.  The bins (a fixed 4096 per
 *                        deployment, 48 KiB, allocated with a replication's
 *                        first record and freed by its ana_stats_add_run)
 *                        count served requests, wasted prefetches included
 *   jain_index           ("all", only with two or more tenants) Jain's
 *                        fairness index (sum x)^2 / (n sum x^2) of the
 *                        tenants' input + output tokens per second
 * Scope "all" has all but kv_capacity_tokens; "deployment:NAME" all but
 * in_system_mean and littles_law_rel_err (its GPU line is its own provisioned
 * cost, its storage line its own storage fees); "class:NAME" throughput_rps,
 * the cost_per_1k lines, cost_per_1m_output_tokens_usd, cost_per_hour_usd,
 * cost_per_month_usd and the tokens per second, with each
 * deployment's provisioned GPU cost shared among classes in proportion to the
 * GPU cost attributed to their requests there (to their served request
 * counts where none was), and its cache storage fees in proportion to their
 * served requests' cache_write_tokens there (to their served request counts
 * where none was written), so class lines add up to the "all" lines.
 * utilization, idle_share, mfu, mbu, preemptions_total, iterations and
 * kv_capacity_tokens are defined for self-hosted deployments only ("all":
 * when the scenario has one); like every undefined (NaN or infinite) value
 * they are left out of the row.  ana_stats must see every request of a
 * replication (warm-up included) before that replication's
 * ana_stats_add_run.  Iterations may come at any time (they feed itl_token_s
 * only).
 *
 * Percentile intervals.  p50_ci95 ... p99_ci95 are half-widths of 95%
 * confidence intervals of the percentiles, by sectioning (Asmussen and
 * Glynn, "Stochastic Simulation", Springer 2007, chapter III; Nakayama,
 * "Confidence intervals using sectioning for quantiles when applying
 * variance-reduction techniques", ACM TOMACS 24(4), 2014).  The samples are
 * split into k sections; with q_i the type-7 percentile of section i and q
 * the row's percentile (that of all the samples), the half-width is
 * t_{0.975, k-1} S / sqrt(k), S^2 = sum (q_i - q)^2 / (k - 1).  S is taken
 * about q, not about the mean of the q_i: the interval is one for the
 * percentile the row shows, and the bias of a section's percentile (of
 * order 1 / its samples, against 1 / all of them for q) widens it rather
 * than moving its centre; S is at least the plain standard deviation of
 * the q_i.  The sections:
 *   - when R >= 2 replications have samples in the row's scope, the R
 *     replications (k = R, each replication's own percentile);
 *   - when one has, the 10 batches of ci95's batch means, b = floor(n / 10)
 *     consecutive samples each (the n - 10 b earliest are in q, in no
 *     batch; k = 10).
 * A section of m samples has about m min(p, 1 - p) of them beyond the
 * percentile p, and its percentile is close to normal, as the method
 * needs, when that binomial count is: the usual rule asks for 10.  So every
 * section must hold at least 20 samples for p50, 100 for p90, 200 for p95
 * and 1000 for p99 (one replication: 200, 1000, 2000, 10000 samples), else
 * the half-width is NaN.  On independent exponential samples at exactly
 * those sizes the intervals covered the true percentile in 94.2% to 96.1%
 * of 1000 to 2000 experiments each (1, 2, 5 or 10 replications).  On
 * strongly correlated samples (a queue near saturation) the sections are not
 * independent enough and the intervals are too narrow, p99's most, like
 * the mean's: M/M/1 sojourn times at load 0.8, one replication of 10^4
 * requests: p50 95%, p95 87%, p99 76% (ci95 of the mean 92%); ten of 10^4:
 * 93%, 94%, 91%.  Use more and longer replications there.
 * In compact mode the sections come from histograms of the same buckets
 * (analysis/src/sketch.h): a replication keeps its samples' batches (the
 * same 10 to 19 batches as its batch means; k = their number, each batch
 * at least the sizes above) as histograms while it runs, and at its
 * ana_stats_add_run only its four percentiles per scope and metric, and the
 * first replication to end its batches' percentiles, so memory does not
 * grow with the requests (nor, beyond those four numbers, with the
 * replications).  The section percentiles and the
 * centre are taken with each bucket's count spread evenly over the bucket
 * (so they move continuously with the data, each within its bucket of the
 * exact value), and the half-width adds the bound on the error of the
 * row's percentile (at most (sqrt(1.01) - 1) times the bucket midpoints it
 * interpolates, under 0.5%): conservative, 96% to 100% coverage in
 * such experiments.  itl_token_s: the replications (R >= 2; NaN with one:
 * the iterations are not batched), each replication's weighted percentile from
 * its own histogram (18 KiB per iteration scope while it runs, its four
 * percentiles after its add_run), weights spread evenly over each bucket,
 * each replication with at least the sizes above in iterations, plus
 * (sqrt(1.01) - 1) times the row's percentile for the histogram's
 * resolution.  Records of a replication that come after its
 * ana_stats_add_run (requests in compact mode, iterations for
 * itl_token_s) leave its percentiles unknown, and those rows' half-widths
 * NaN.  Rows whose percentiles are over the replications' values (the
 * run-level metrics, rejected, cache_hit_tokens, savings_pct) get NaN: a
 * percentile of R values describes how replications differ, not an
 * estimate that more samples sharpen, and even a distribution-free
 * interval for it (the smallest and largest value cover the p-quantile
 * with probability 1 - p^R - (1 - p)^R) needs R >= 6 for p50 and R >= 59
 * for p95.
 *
 * Results file (design.md section 7).  ana_h5_open creates "<path>.tmp-<pid>"
 * beside the target and writes the root attributes (llmsim_version,
 * schema_version, scenario_name, seed, replications, created_utc, complete =
 * 0), /scenario (string datasets given and resolved) and empty /requests
 * (unless meta.write_requests is 0) and /timeseries tables: 1-D chunked
 * compound datasets whose members are all the record fields, in struct
 * order (class_idx is named `class`), with `units` and `description`
 * attributes (string arrays aligned with the members), `class_names` and
 * `deployment_names` on /requests and `deployment_names` on /timeseries.
 * pandas.read_hdf(path, "requests") (and "timeseries", "summary") loads
 * them, as does h5py.  ana_h5_sink() gives the struct sim_sink that appends
 * rows (buffered one chunk, < 1 MiB, at a time; gzip level meta.compression
 * with shuffle when > 0; iterations are not stored: its iteration callback
 * is NULL).  ana_h5_write_summary
 * writes /summary once.  ana_h5_close with ok != 0 sets complete = 1, closes,
 * fsyncs, renames onto the final name and fsyncs the directory; with ok == 0
 * (after an interruption) it does the same but leaves complete = 0.  When a
 * write failed (an append, or anything in close) the temporary file is
 * removed instead, so no file of unknown consistency takes the final name.
 * ana_h5_abort removes the temporary file.  Every HDF5 call is checked and
 * mapped to LLMSIM_EHDF5 with one message (file = the final path); see
 * ana_h5_init for HDF5's error printing and exit handler.
 *
 * Threads: an ana_stats or ana_h5 handle is used by one thread at a time;
 * different handles may be used from different threads (HDF5 serialises its
 * own calls).
 *
 * Ownership: the caller owns every handle; *_free(NULL) is a no-op. */
#ifndef LLMSIM_RESULTS_H
#define LLMSIM_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/record.h"
#include "llmsim/world.h"

#define ANA_SCOPE_MAX 80
#define ANA_METRIC_MAX 32

/* One /summary row. */
struct ana_summary_row {
    char scope[ANA_SCOPE_MAX];   /* "all", "class:lookup", "deployment:sonnet" */
    char metric[ANA_METRIC_MAX]; /* "ttft_s", "cost_per_1k_usd", ... */
    uint64_t count;              /* samples (requests, or replications for run-level metrics) */
    double mean, p50, p90, p95, p99;
    double ci95; /* half-width of the 95% CI of the mean; NaN when unknown */
    /* Half-widths of 95% CIs of the percentiles (see "Percentile intervals"
     * above); NaN when unknown. */
    double p50_ci95, p90_ci95, p95_ci95, p99_ci95;
};

struct ana_stats;

/* Scopes come from the scenario's classes and deployments (names copied;
 * sc need not outlive s), as does warmup_s.  Returns 0, LLMSIM_EINVAL (NULL
 * argument) or LLMSIM_ENOMEM. */
int ana_stats_alloc(struct ana_stats **out, const struct sim_scenario *sc);
void ana_stats_free(struct ana_stats *s);

/* Adds one finished request: its billed lines and GPU cost always, its
 * per-request metrics unless it is flagged SIM_RF_WARMUP or SIM_RF_REJECTED
 * (a rejected non-warm-up request counts in `rejected` only; its time
 * metrics and cost_nocache_usd are not looked at).  Returns 0,
 * LLMSIM_EINVAL (class, deployment or replication index out of range),
 * LLMSIM_ERANGE (replication >= SIM_MAX_REPLICATIONS, or a metric or cost
 * line, cost_nocache_usd included, that is NaN or infinite; or a served
 * request's arrival_s, prefill_start_s or done_s that is negative, NaN or
 * infinite) or LLMSIM_ENOMEM; on failure nothing is added. */
int ana_stats_add(struct ana_stats *s, const struct sim_request_record *r);

/* Percentiles are exact (from every sample) up to ANA_EXACT_REQUESTS
 * measured requests over all replications; past that the statistics switch
 * to compact mode: per scope and metric a logarithmic histogram pooled over
 * the replications (percentiles within 0.5% of the exact ones, see
 * analysis/src/sketch.h) and per replication the count, sum and batch
 * sums, so that counts, means and confidence intervals stay exact (the
 * one-replication interval uses 10 to 19 batches instead of 10).  Memory no
 * longer grows with the number of requests. */
#define ANA_EXACT_REQUESTS 1000000ULL
/* Sets that limit (before the first record; 0 = compact from the start). */
void ana_stats_set_exact_limit(struct ana_stats *s, uint64_t requests);
/* Whether the statistics went compact. */
int ana_stats_compact(const struct ana_stats *s);

/* Adds one batch iteration to itl_token_s (nothing when decode_tokens is 0
 * or it started before warmup_s).  The first one allocates the fixed-size
 * histograms (about 18 KiB each for "all" and every deployment); later
 * ones allocate nothing but a replication's first record.  Returns 0, LLMSIM_EINVAL
 * (deployment or replication index out of range), LLMSIM_ERANGE
 * (replication >= SIM_MAX_REPLICATIONS; start_s, duration_s or decode_tokens
 * NaN or infinite, or duration_s or decode_tokens negative) or
 * LLMSIM_ENOMEM; on failure nothing is added. */
int ana_stats_add_iteration(struct ana_stats *s, const struct sim_iter_record *it);

/* Adds the run-level figures of one finished replication (call after its
 * last request).  Returns 0, LLMSIM_EINVAL (ws->n_deployments differs from
 * the scenario's), LLMSIM_ERANGE (replication too large), LLMSIM_ESTATE
 * (called twice for a replication) or LLMSIM_ENOMEM. */
int ana_stats_add_run(struct ana_stats *s, uint32_t replication, const struct sim_world_stats *ws);

/* A sink that feeds ana_stats_add and ana_stats_add_iteration (timeseries
 * callback NULL). */
struct sim_sink ana_stats_sink(struct ana_stats *s);

/* Computes the summary rows (malloc'ed array in *rows, count in *n): for
 * each scope in the order all, classes, deployments, tenants, tiers, the
 * per-request metrics, rejected, cache_hit_tokens, savings_pct, itl_token_s
 * (not for classes, tenants and tiers), and the run-level ones that apply
 * (tenant and tier scopes get the class ones, their classes' shares
 * summed).  Every row is present;
 * rows without samples have count 0 and NaN statistics (but rejected's mean
 * is 0 when requests came and none was rejected).  Returns 0, LLMSIM_EINVAL
 * or LLMSIM_ENOMEM. */
int ana_stats_summary(const struct ana_stats *s, struct ana_summary_row **rows, size_t *n);

/* Finds a row; NULL when absent. */
const struct ana_summary_row *ana_summary_find(const struct ana_summary_row *rows, size_t n,
                                               const char *scope, const char *metric);

/* Metadata written as root attributes and /scenario.  NULL strings are
 * written as "" (name arrays may be NULL too). */
struct ana_h5_meta {
    const char *scenario_name;
    uint64_t seed;
    int replications;
    const char *scenario_text;      /* as given */
    const char *scenario_resolved;  /* defaults and overrides applied */
    const char *const *class_names; /* n_classes names, stored as /requests attribute */
    size_t n_classes;
    const char *const *deployment_names; /* n_deployments names */
    size_t n_deployments;
    int write_requests; /* 0: no /requests table */
    int compression;    /* gzip level 0-9 with shuffle, 0 = none */
    const char *kind;   /* root attribute `kind`: "run" (NULL), "sweep", "plan", "levers" */
    int no_tables;      /* 1: no root /requests or /timeseries (files of point groups) */
};

struct ana_h5;

/* Prepares HDF5 for this process and thread: calls H5dont_atexit() once (so
 * that HDF5 does not flush or crash in an exit handler after a failed write;
 * it only takes effect before the process's first other HDF5 call, so main()
 * and tests that call HDF5 themselves call this first) and switches off
 * HDF5's automatic error printing for the calling thread (a per-thread
 * setting).  Every ana_h5_* function calls it on entry.  Returns 0 or
 * LLMSIM_EHDF5. */
int ana_h5_init(void);

/* Creates the temporary file and writes everything but the rows and
 * /summary.  Returns 0, LLMSIM_EINVAL (no path or meta, compression outside
 * 0-9), LLMSIM_EIO (the temporary file cannot be created: "cannot create
 * PATH.tmp-PID: No such file or directory"), LLMSIM_EHDF5 or LLMSIM_ENOMEM;
 * on failure nothing is left on disk and *out is NULL. */
int ana_h5_open(struct ana_h5 **out, const char *path, const struct ana_h5_meta *meta,
                struct llmsim_error *err);
/* The sink that appends /requests (request callback NULL when
 * meta.write_requests was 0) and /timeseries rows (iteration callback
 * NULL).  A callback returns 0 or
 * the negative code of a failed write; the message is kept in h and
 * reported by ana_h5_close, and every later append fails the same way. */
struct sim_sink ana_h5_sink(struct ana_h5 *h);
/* Writes /summary (once: LLMSIM_ESTATE the second time).  Returns 0 or a
 * negative code (err). */
int ana_h5_write_summary(struct ana_h5 *h, const struct ana_summary_row *rows, size_t n,
                         struct llmsim_error *err);
/* Writes the buffered rows; ok != 0: complete = 1.  Then closes, fsyncs,
 * renames onto the final name, fsyncs the directory; h is freed.  Returns 0
 * or a negative code (err): the first failed append's, LLMSIM_EHDF5 (the
 * temporary file is removed), LLMSIM_EIO (fsync or rename failed: the
 * temporary file is removed; or the directory fsync failed: the file is in
 * place but may not survive a crash). */
int ana_h5_close(struct ana_h5 *h, int ok, struct llmsim_error *err);
/* Closes and removes the temporary file and frees h.  NULL is a no-op. */
void ana_h5_abort(struct ana_h5 *h);

/* Point groups (sweep, plan, levers): ana_h5_group_begin creates the group
 * `name` ("points/p0003", intermediate groups created) with a
 * `scenario_resolved` string dataset (meta->scenario_resolved) and, when
 * meta->write_requests, a `requests` table like the root's (name attributes
 * from meta); until ana_h5_group_end, ana_h5_sink() appends requests there
 * (its timeseries callback is NULL) and ana_h5_write_summary,
 * ana_h5_write_text, ana_h5_set_attr and ana_h5_write_table write into the
 * group.  One group is open at a time; ana_h5_close ends an open one.
 * Return 0 or a negative code (err). */
int ana_h5_group_begin(struct ana_h5 *h, const char *name, const struct ana_h5_meta *meta,
                       struct llmsim_error *err);
int ana_h5_group_end(struct ana_h5 *h, struct llmsim_error *err);
/* A scalar UTF-8 string dataset at the current location. */
int ana_h5_write_text(struct ana_h5 *h, const char *name, const char *text, struct llmsim_error *err);
/* An attribute of the current location (the root, or the open group): a
 * string when str != NULL, else the int64 *num; replaces an existing one. */
int ana_h5_set_attr(struct ana_h5 *h, const char *name, const char *str, const int64_t *num,
                    struct llmsim_error *err);

/* Tables whose columns are chosen at run time (/sweep, /tail): 1-D
 * compound datasets, doubles and int64 as such, strings fixed-length (the
 * longest value + 1 bytes), with `units` and `description` attributes. */
enum ana_col_type { ANA_COL_F64, ANA_COL_I64, ANA_COL_STR };
struct ana_col {
    char name[96];
    enum ana_col_type type;
    const char *units, *desc; /* NULL: "" */
    double *f64;              /* nrows values of the column's type */
    int64_t *i64;
    char **str;
    char *units_owned, *desc_owned; /* read back: what units/desc point to */
};
int ana_h5_write_table(struct ana_h5 *h, const char *name, const struct ana_col *cols, size_t ncols,
                       size_t nrows, struct llmsim_error *err);
/* A column of a table to be written: name, type, units and description. */
struct ana_col_spec {
    const char *name;
    enum ana_col_type type;
    const char *units, *desc;
};
/* Sets cols[0..ncols-1] from spec (zeroed first) and allocates each one's
 * value array for nrows (at least one) values of its type; string columns
 * get an array of borrowed pointers.  Returns 0 or LLMSIM_ENOMEM (then
 * ana_cols_release still applies). */
int ana_cols_alloc(struct ana_col *cols, const struct ana_col_spec *spec, size_t ncols, size_t nrows);
/* Frees what ana_cols_alloc allocated (not the strings the rows point to). */
void ana_cols_release(struct ana_col *cols, size_t ncols);
/* /tenant_timeseries, written when the workload names two or more tenants
 * and the scenario samples /timeseries: per replication, interval of
 * output.timeseries_interval_s (t_s its end) and tenant, the served
 * requests that completed in the interval, their input and output tokens,
 * their service as the fair order counts it (w_in x input + w_out x output,
 * the first deployment with order fair's weights, else 1 and 2), and Jain's
 * index of the tenants' service in the interval.  Nothing without them.
 * Returns 0 or a negative code (err). */
int ana_stats_write_tenant_ts(const struct ana_stats *s, struct ana_h5 *h, struct llmsim_error *err);
/* Copies the object `name` (e.g. "points/p0003") of the file src_path to
 * the same name in h (merge). */
int ana_h5_copy_group(struct ana_h5 *h, const char *src_path, const char *name, struct llmsim_error *err);
/* Reads table `name` of a file: columns malloc'ed (value arrays, strings,
 * units and descriptions owned; free with ana_cols_free).  Integer columns
 * come back as int64, floats as double, strings as char *. */
int ana_h5_read_table(const char *path, const char *name, struct ana_col **cols, size_t *ncols,
                      size_t *nrows, struct llmsim_error *err);
void ana_cols_free(struct ana_col *cols, size_t ncols, size_t nrows);
/* A scalar string dataset of a file (malloc'ed). */
int ana_h5_read_text(const char *path, const char *name, char **text, struct llmsim_error *err);
/* A root attribute: into str (n bytes) when str != NULL, else *num. */
int ana_h5_read_attr(const char *path, const char *name, char *str, size_t n, int64_t *num,
                     struct llmsim_error *err);
/* The names of the links in group `group` ("/" for the root) of a file, in
 * name order (malloc'ed; free with ana_h5_names_free); none when the group
 * does not exist. */
int ana_h5_list(const char *path, const char *group, char ***names, size_t *n, struct llmsim_error *err);
void ana_h5_names_free(char **names, size_t n);
/* Copies the root attributes of the file src_path onto h's root with their
 * types and values (replacing those of the same name), except the n_skip
 * names in skip (merge). */
int ana_h5_copy_attrs(struct ana_h5 *h, const char *src_path, const char *const *skip, size_t n_skip,
                      struct llmsim_error *err);

/* Reading back (compare): the root attributes and /summary of a file
 * (rows NULL and n_rows 0 when it has no /summary, as after an
 * interruption).  Returns 0, LLMSIM_EIO (cannot open the path), LLMSIM_EHDF5
 * (not an HDF5 file, or a read failed), LLMSIM_EINVAL (not an llmsim results
 * file: no llmsim_version attribute, or /summary lacks a column),
 * LLMSIM_ERANGE (schema_version newer than ANA_SCHEMA_VERSION) or
 * LLMSIM_ENOMEM; err->file is the path.  On failure *info holds nothing to
 * free. */
struct ana_h5_info {
    char scenario_name[128];
    char llmsim_version[32];
    int schema_version;
    uint64_t seed;
    int complete;
    struct ana_summary_row *rows; /* malloc'ed */
    size_t n_rows;
};
int ana_h5_read(const char *path, struct ana_h5_info *info, struct llmsim_error *err);
/* Frees info->rows (info itself is the caller's); NULL is a no-op. */
void ana_h5_info_free(struct ana_h5_info *info);

/* Student t quantile t_{p, dof} (gsl_cdf_tdist_Pinv; about 1e-10 relative). */
double ana_t_quantile(double p, double dof);

#define ANA_SCHEMA_VERSION 2

/* The type-7 quantile (linear interpolation, R's default) p in [0, 1] of
 * sorted x[0..n-1]; NaN for n == 0.  The percentiles of /summary. */
double ana_quantile7(const double *x, size_t n, double p);

#endif
