/* llmsim run: load a scenario, run its replications, write the results file
 * and print the summary table.
 *
 * Records flow through one tee sink into the HDF5 writer and the statistics
 * accumulator.  SIGINT/SIGTERM/SIGHUP stop the run between event batches; what was
 * simulated so far is written with complete = false under the final name, so
 * nothing already computed is lost and nothing half-written is mistaken for a
 * finished run. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include "cli.h"
#include "study.h"
#include "llmsim/results.h"
#include "llmsim/runner.h"
#include "llmsim/tail.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"


/* Hours in a month for the cost projection: 365 x 24 / 12. */
#define HOURS_PER_MONTH 730.0

/* The horizon bound that stopped a replication's arrivals (llmsim/runner.h). */
enum { STOP_DURATION = ANA_STOP_DURATION, STOP_REQUESTS = ANA_STOP_REQUESTS, STOP_TRACE = ANA_STOP_TRACE,
       N_STOPS = ANA_N_STOPS };
static const char *const stop_names[N_STOPS] = {"duration_s", "requests", "trace"};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct run_opts {
    struct study_args s; /* the options run shares with sweep, plan and levers */
    int tail;            /* --tail */
};

static void run_usage(FILE *f)
{
    fputs("usage: llmsim run [SCENARIO.yaml] [-o OUT.h5] [--seed N] [--set KEY=VALUE]...\n"
          "                  [--replications N] [--jobs N] [--tail] [--json] [--quiet]\n"
          "                  [--progress | --no-progress] [--force]\n"
          "\n"
          "Simulates the scenario (the built-in default RAG assistant when none is given),\n"
          "writes the results file (HDF5: /requests, /timeseries, /summary, /scenario) and\n"
          "prints the summary: TTFT, inter-token, end-to-end and queueing percentiles,\n"
          "throughput and tokens per second, cost per 1k requests by line, cost per hour\n"
          "and per month, per class and per deployment.  Warns on stderr when a\n"
          "deployment cannot keep up (overloaded) or thrashes its KV cache.\n"
          "\n"
          "  -o, --output OUT.h5   results file (default: the scenario's output.path): a new\n"
          "                        path or an HDF5 file, named .h5, .hdf5 or .he5 (never an input)\n"
          "  --seed N              override the scenario seed\n"
          "  --set KEY=VALUE       override any scenario key, e.g. --set workload.arrivals.rate_per_s=20\n"
          "                        or --set 'deployments.sonnet.latency.itl_ms={dist: lognormal, mean: 20, cv: 0.3}'\n"
          "  --replications N      independent replications (95% confidence intervals over them)\n"
          "  --jobs N              run up to N replications at once in threads (same results for any N)\n"
          "  --json                print the headline figures, each deployment's stable flag and\n"
          "                        the whole summary as JSON instead of the table\n"
          "  --tail                also show where the slowest 5% of requests (E2E and TTFT) spent\n"
          "                        their time against the median, and what they share; written\n"
          "                        to /tail (docs/tail.md)\n"
          "  --progress            show progress on stderr (default: when stderr is a terminal)\n"
          "  --no-progress         never show progress\n"
          "  --quiet               print nothing but errors\n"
          "  --force               run past the resource budget (virtual span, time-series rows,\n"
          "                        results bytes: docs/scenario-reference.md); Ctrl-C still stops it\n",
          f);
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    memset(o, 0, sizeof *o);
    study_args_init(&o->s, "run");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return 1;
        } else if (!strcmp(a, "--tail")) {
            o->tail = 1;
            continue;
        } else if (strcmp(a, "--shard") != 0) { /* a run has no points to shard */
            r = study_arg(&o->s, argc, argv, &i);
        }
        if (r < 0)
            return -1;
        if (r == 0) {
            cli_errorf("run: unknown option '%s' (see `llmsim run --help`)", a);
            return -1;
        }
    }
    return 0;
}

/* Creates the parent folders of path (mkdir -p of its dirname). */
static int make_parents(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return -1;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static void print_error(const struct llmsim_error *err)
{
    char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 32];
    llmsim_error_format(err, msg, sizeof msg);
    fprintf(stderr, "%s\n", msg);
}

static double val(const struct ana_summary_row *rows, size_t n, const char *scope, const char *metric,
                  size_t field)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, scope, metric);
    if (r == NULL)
        return NAN;
    return *(const double *)((const char *)r + field);
}

#define F_MEAN offsetof(struct ana_summary_row, mean)
#define F_P50 offsetof(struct ana_summary_row, p50)
#define F_P95 offsetof(struct ana_summary_row, p95)
#define F_P99 offsetof(struct ana_summary_row, p99)
#define F_CI offsetof(struct ana_summary_row, ci95)

/* The row's value at percentile p (50, 90, 95 or 99: the loader allows no other). */
static double slo_percentile(const struct ana_summary_row *r, double p)
{
    return p <= 50 ? r->p50 : p <= 90 ? r->p90 : p <= 95 ? r->p95 : r->p99;
}

static void print_latency_row(const struct ana_summary_row *rows, size_t n, const char *label,
                              const char *metric, double scale)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, "all", metric);
    if (r == NULL || r->count == 0) {
        printf("  %-14s %10s\n", label, "-");
        return;
    }
    printf("  %-14s %10.4g %10.4g %10.4g %10.4g %10.3g\n", label, r->p50 * scale, r->p95 * scale,
           r->p99 * scale, r->mean * scale, r->ci95 * scale);
}

/* The 95% CI half-widths of p50/p95/p99 of the latency rows (one line;
 * nothing when none is known). */
static void print_percentile_cis(const struct ana_summary_row *rows, size_t n)
{
    static const char *const metric[] = {"ttft_s", "itl_s", "e2e_s", "queue_s"};
    static const char *const label[] = {"TTFT", "inter-token", "end-to-end", "queue"};
    const char *sep = "  95% CI of p50/p95/p99 (+/- s): ";
    for (int i = 0; i < 4; i++) {
        const struct ana_summary_row *r = ana_summary_find(rows, n, "all", metric[i]);
        if (r == NULL || r->count == 0 || !(isfinite(r->p50_ci95) || isfinite(r->p95_ci95) || isfinite(r->p99_ci95)))
            continue;
        printf("%s%s %.2g/%.2g/%.2g", sep, label[i], r->p50_ci95, r->p95_ci95, r->p99_ci95);
        sep = "; ";
    }
    if (sep[0] == ';')
        printf("\n");
}

/* What the router did, when it does more than pick a deployment. */
static void print_routing(const struct sim_scenario *sc, const struct ana_summary_row *rows, size_t n)
{
    const struct sim_routing_cfg *rt = &sc->routing;
    if (rt->policy == SIM_ROUTE_CASCADE) {
        printf("cascade               %.2f%% of requests escalated; answers per tier:",
               100 * val(rows, n, "all", "escalated_share", F_MEAN));
        for (size_t i = 0; i < rt->n_tiers; i++) {
            char scope[ANA_SCOPE_MAX];
            snprintf(scope, sizeof scope, "deployment:%s", sc->deployments[rt->tiers[i]].name);
            printf(" %s %.0f (%.0f passed up)", sc->deployments[rt->tiers[i]].name, val(rows, n, scope, "calls", F_MEAN),
                   val(rows, n, scope, "escalated_calls", F_MEAN));
        }
        printf("\n  (an escalated request pays every tier it went through; its row is its last tier's)\n");
    } else if (rt->policy == SIM_ROUTE_SPILLOVER) {
        printf("spillover             %.2f%% of requests went past %s\n",
               100 * val(rows, n, "all", "spilled_share", F_MEAN), sc->deployments[rt->tiers[0]].name);
    }
    int prefetch = 0;
    for (size_t i = 0; i < sc->workload.n_classes; i++)
        prefetch |= sc->workload.classes[i].prefetch;
    if (prefetch) {
        double saved = val(rows, n, "all", "prefetch_saved_s", F_MEAN);
        printf("prefetch              %.2f%% of requests were prefetch hits, each waited %.4g s less on average; "
               "wasted %.0f prefetches, $%.4f per 1k requests\n",
               100 * val(rows, n, "all", "prefetch_hit_share", F_MEAN), isfinite(saved) ? saved : 0.0,
               val(rows, n, "all", "prefetch_wasted_requests", F_MEAN),
               val(rows, n, "all", "prefetch_wasted_per_1k_usd", F_MEAN));
        const struct ana_summary_row *pr = ana_summary_find(rows, n, "all", "perceived_s");
        if (pr != NULL && pr->count > 0)
            printf("  perceived latency (what users waited for) p50 %.4g s, p95 %.4g s\n", pr->p50, pr->p95);
    }
}

/* "arrivals stopped by ...", with the replications of each bound when
 * they differ. */
static void format_stops(char *buf, size_t n, const struct sim_scenario *sc,
                         const int count[N_STOPS])
{
    int kinds = 0;
    for (int k = 0; k < N_STOPS; k++)
        kinds += count[k] > 0;
    size_t len = (size_t)snprintf(buf, n, "arrivals stopped");
    const char *sep = "";
    for (int k = 0; k < N_STOPS && len < n; k++) {
        if (count[k] == 0)
            continue;
        if (k == STOP_DURATION)
            len += (size_t)snprintf(buf + len, n - len, "%s by duration_s = %g s", sep,
                                    sc->duration_s);
        else if (k == STOP_REQUESTS)
            len += (size_t)snprintf(buf + len, n - len, "%s by requests = %llu", sep,
                                    (unsigned long long)sc->max_requests);
        else
            len += (size_t)snprintf(buf + len, n - len, "%s by the end of the trace", sep);
        if (kinds > 1 && len < n)
            len += (size_t)snprintf(buf + len, n - len, " in %d replication%s", count[k],
                                    count[k] == 1 ? "" : "s");
        sep = ",";
    }
}

/* A dollar figure: cents, or four decimals under $1. */
static void usd(char *buf, size_t n, double v)
{
    snprintf(buf, n, fabs(v) < 1 && v != 0 ? "$%.4f" : "$%.2f", v);
}

/* The fleet's cost per hour and per month at this traffic, split into
 * provisioned GPUs and api spend when both exist. */
static void print_projection(const struct sim_scenario *sc, const struct ana_summary_row *rows,
                             size_t n)
{
    double hour = val(rows, n, "all", "cost_per_hour_usd", F_MEAN);
    double ci = val(rows, n, "all", "cost_per_hour_usd", F_CI);
    double gpu_hour = 0, api_hour = 0;
    long gpus = 0;
    double gpus_auto = 0; /* mean GPUs of autoscaled deployments: their $/h over $/GPU-h */
    int n_api = 0, n_auto = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        char scope[ANA_SCOPE_MAX];
        snprintf(scope, sizeof scope, "deployment:%s", d->name);
        double h = val(rows, n, scope, "cost_per_hour_usd", F_MEAN);
        if (d->kind == SIM_DEPLOY_SELF_HOSTED && d->autoscale.enabled) {
            n_auto++;
            gpus_auto += d->gpu_hour_usd > 0 && isfinite(h) ? h / d->gpu_hour_usd : NAN;
            gpu_hour += isfinite(h) ? h : 0;
        } else if (d->kind == SIM_DEPLOY_SELF_HOSTED) {
            gpus += (long)d->replicas * d->tp;
            if (d->disagg != NULL) /* and its prefill pool's */
                gpus += (long)d->disagg->prefill.replicas * d->disagg->prefill.tp;
            gpu_hour += isfinite(h) ? h : 0;
        } else {
            n_api++;
            api_hour += isfinite(h) ? h : 0;
        }
    }
    char a[32], b[32], c[32];
    usd(a, sizeof a, hour);
    usd(b, sizeof b, HOURS_PER_MONTH * hour);
    printf("cost per hour         %s", a);
    if (isfinite(ci) && ci > 0)
        printf(" (+/- %.3g)", ci);
    printf(", per month (730 h) %s:", b);
    usd(a, sizeof a, gpu_hour);
    usd(c, sizeof c, api_hour);
    if (n_auto > 0) {
        /* Autoscaled: the GPUs provisioned on average over the run. */
        if (isfinite(gpus_auto))
            printf(" %.2f GPUs provisioned on average (autoscaled)", (double)gpus + gpus_auto);
        else
            printf(" GPUs provisioned as autoscaled");
        if (n_api > 0)
            printf(" %s + api spend at this traffic %s", a, c);
        printf("\n");
    } else if (gpus > 0 && n_api > 0)
        printf(" %ld GPU%s provisioned %s + api spend at this traffic %s\n", gpus,
               gpus == 1 ? "" : "s", a, c);
    else if (gpus > 0)
        printf(" %ld GPU%s provisioned\n", gpus, gpus == 1 ? "" : "s");
    else
        printf(" api spend at this traffic\n");
}

/* Per tenant and per tier (scopes tenant:NAME and tier:N, present when the
 * workload has them): requests served and shed, waits, token throughput,
 * then Jain's index over the tenants. */
static void print_groups(const struct ana_summary_row *rows, size_t n)
{
    int header = 0;
    for (size_t i = 0; i < n; i++) {
        const char *scope = rows[i].scope;
        if ((strncmp(scope, "tenant:", 7) != 0 && strncmp(scope, "tier:", 5) != 0) ||
            strcmp(rows[i].metric, "e2e_s") != 0)
            continue;
        if (!header)
            printf("\n%-24s %9s %9s %10s %10s %10s %12s\n", "by tenant and tier", "requests", "shed", "queue p95",
                   "TTFT p95", "E2E p95", "tokens/s");
        header = 1;
        const struct ana_summary_row *rej = ana_summary_find(rows, n, scope, "rejected");
        printf("  %-22s %9llu %8.2f%% %10.4g %10.4g %10.4g %12.5g\n", scope, (unsigned long long)rows[i].count,
               rej && isfinite(rej->mean) ? 100 * rej->mean : 0.0, val(rows, n, scope, "queue_s", F_P95),
               val(rows, n, scope, "ttft_s", F_P95), val(rows, n, scope, "e2e_s", F_P95),
               val(rows, n, scope, "input_tokens_per_s", F_MEAN) + val(rows, n, scope, "output_tokens_per_s", F_MEAN));
    }
    double jain = val(rows, n, "all", "jain_index", F_MEAN);
    if (isfinite(jain))
        printf("  Jain's fairness index over tenants (tokens/s): %.4f (1 = equal shares)\n", jain);
}

static void print_table(const struct sim_scenario *sc, const struct ana_summary_row *rows, size_t n,
                        const char *path, uint64_t warmup_skipped, const char *stops)
{
    const struct ana_summary_row *e2e = ana_summary_find(rows, n, "all", "e2e_s");
    printf("llmsim: %s (seed %llu, %d replication%s", sc->name, (unsigned long long)sc->seed,
           sc->replications, sc->replications == 1 ? "" : "s");
    printf(", %llu requests measured", e2e ? (unsigned long long)e2e->count : 0ULL);
    if (warmup_skipped)
        printf(", %llu in warm-up left out", (unsigned long long)warmup_skipped);
    if (stops[0])
        printf("; %s", stops);
    printf(")\n");
    if (sc->description)
        printf("  %s\n", sc->description);
    printf("\nlatency (s)           p50        p95        p99       mean  ci95(mean)\n");
    print_latency_row(rows, n, "TTFT", "ttft_s", 1);
    print_latency_row(rows, n, "inter-token", "itl_s", 1);
    print_latency_row(rows, n, "end-to-end", "e2e_s", 1);
    print_latency_row(rows, n, "queue", "queue_s", 1);
    print_percentile_cis(rows, n);

    double thr = val(rows, n, "all", "throughput_rps", F_MEAN);
    double thr_ci = val(rows, n, "all", "throughput_rps", F_CI);
    printf("\nthroughput            %.4g requests/s", thr);
    if (isfinite(thr_ci))
        printf(" (+/- %.3g)", thr_ci);
    printf("\n");
    double tin = val(rows, n, "all", "input_tokens_per_s", F_MEAN);
    double tout = val(rows, n, "all", "output_tokens_per_s", F_MEAN);
    printf(tin >= 1000 ? "tokens per second     %.0f input" : "tokens per second     %.4g input",
           tin);
    printf(tout >= 1000 ? ", %.0f output\n" : ", %.4g output\n", tout);
    double c1k = val(rows, n, "all", "cost_per_1k_usd", F_MEAN);
    double c1k_ci = val(rows, n, "all", "cost_per_1k_usd", F_CI);
    printf("cost per 1k requests  $%.4f", c1k);
    if (isfinite(c1k_ci))
        printf(" (+/- %.3g)", c1k_ci);
    double storage = val(rows, n, "all", "cost_cache_storage_per_1k_usd", F_MEAN);
    if (isfinite(storage) && storage > 0)
        printf("\n  cache storage $%.4f", storage);
    printf("\n  input $%.4f  cache write $%.4f  cache read $%.4f  output $%.4f  GPU $%.4f\n",
           val(rows, n, "all", "cost_input_per_1k_usd", F_MEAN),
           val(rows, n, "all", "cost_cache_write_per_1k_usd", F_MEAN),
           val(rows, n, "all", "cost_cache_read_per_1k_usd", F_MEAN),
           val(rows, n, "all", "cost_output_per_1k_usd", F_MEAN),
           val(rows, n, "all", "cost_gpu_per_1k_usd", F_MEAN));
    double elec = val(rows, n, "all", "cost_energy_per_1k_usd", F_MEAN);
    if (isfinite(elec) && elec > 0)
        printf("  electricity $%.4f (energy.bill_electricity)\n", elec);
    double idle = val(rows, n, "all", "gpu_idle_usd", F_MEAN);
    if (isfinite(idle) && idle > 0)
        printf("  GPU idle (provisioned, unused) $%.4f per replication\n", idle);
    print_projection(sc, rows, n);
    double intr = val(rows, n, "all", "interruptions", F_MEAN);
    if (isfinite(intr))
        printf("spot                  %.4g interruptions, %.4g requests requeued, %.4g spot replica-hours "
               "billed (means per replication)\n",
               intr, val(rows, n, "all", "requeued_requests", F_MEAN), val(rows, n, "all", "spot_replica_hours", F_MEAN));
    int cached = 0;
    for (size_t i = 0; i < sc->n_deployments; i++)
        cached |= sc->deployments[i].kind == SIM_DEPLOY_API && sc->deployments[i].cache.enabled;
    if (cached) {
        const struct ana_summary_row *ht = ana_summary_find(rows, n, "all", "cache_hit_tokens");
        printf("prompt cache          hits: %.1f%% of requests, %.2f%% of prompt tokens (token hit ratio %.6f)\n",
               100 * val(rows, n, "all", "cache_hit_requests", F_MEAN), 100 * (ht ? ht->mean : NAN),
               ht ? ht->mean : NAN);
        char hit[32] = "-", miss[32] = "-";
        double th = val(rows, n, "all", "ttft_hit_s", F_P50), tm = val(rows, n, "all", "ttft_miss_s", F_P50);
        if (isfinite(th))
            snprintf(hit, sizeof hit, "%.4g s", th);
        if (isfinite(tm))
            snprintf(miss, sizeof miss, "%.4g s", tm);
        printf("  saved $%.4f per 1k requests (%.1f%% of the no-cache cost); TTFT p50 %s with a hit, %s without\n",
               val(rows, n, "all", "savings_usd_per_1k", F_MEAN), val(rows, n, "all", "savings_pct", F_MEAN), hit,
               miss);
        printf("  writes never read: %.0f ($%.4f); storage $%.4f\n",
               val(rows, n, "all", "cache_unread_writes", F_MEAN), val(rows, n, "all", "cache_unread_write_usd", F_MEAN),
               val(rows, n, "all", "cache_storage_usd", F_MEAN));
    }
    /* Quality is shown when something can make an answer fail: quality
     * figures, or an output-control penalty. */
    int has_quality = sc->joint.enabled || sc->output_control.truncation_penalty > 0 ||
                      sc->output_control.verbosity_penalty > 0;
    for (size_t i = 0; i < sc->n_deployments; i++)
        has_quality |= sc->deployments[i].has_quality;
    if (has_quality) {
        printf("quality               %.2f%% of answers successful", 100 * val(rows, n, "all", "success", F_MEAN));
        for (size_t i = 0; i < sc->n_deployments; i++) {
            char scope[ANA_SCOPE_MAX];
            snprintf(scope, sizeof scope, "deployment:%s", sc->deployments[i].name);
            double q = val(rows, n, scope, "success", F_MEAN);
            if (isfinite(q))
                printf("; %s %.2f%%", sc->deployments[i].name, 100 * q);
        }
        printf("\n  quality-cost point: %.2f%% successful at $%.4f per 1k requests\n",
               100 * val(rows, n, "all", "success", F_MEAN), c1k);
    }
    print_routing(sc, rows, n);
    const struct sim_slo_cfg *slo = &sc->slo;
    if (slo->ttft_s > 0 || slo->itl_s > 0 || slo->e2e_s > 0) {
        /* Each target against its percentile, then goodput: requests meeting all. */
        double p = slo->percentile;
        printf("SLO at p%g          ", p);
        const struct {
            const char *label, *metric;
            double target;
        } t[] = {{"TTFT", "ttft_s", slo->ttft_s}, {"ITL", "itl_s", slo->itl_s}, {"E2E", "e2e_s", slo->e2e_s}};
        const char *sep = "";
        for (int i = 0; i < 3; i++) {
            if (t[i].target <= 0)
                continue;
            const struct ana_summary_row *r = ana_summary_find(rows, n, "all", t[i].metric);
            double v = r ? slo_percentile(r, p) : NAN;
            printf("%s%s %.4g s <= %.4g s %s", sep, t[i].label, v, t[i].target,
                   isfinite(v) ? (v <= t[i].target ? "met" : "MISSED") : "-");
            sep = ";  ";
        }
        double good = val(rows, n, "all", "slo_met", F_MEAN);
        double thr2 = val(rows, n, "all", "throughput_rps", F_MEAN);
        printf("\n  goodput %.1f%% of requests meet every target (%.4g requests/s)\n", 100 * good, good * thr2);
    }
    double lq = val(rows, n, "all", "in_system_mean", F_MEAN);
    double lerr = val(rows, n, "all", "littles_law_rel_err", F_MEAN);
    if (isfinite(lq))
        printf("in system (time avg)  %.4g requests (Little's law L = lambda W holds to %.1g)\n", lq,
               isfinite(lerr) ? lerr : 0.0);

    /* With quality figures, a quality column (success per class and per
     * tier); with an SLO, a goodput column (share meeting every target). */
    int has_slo = slo->ttft_s > 0 || slo->itl_s > 0 || slo->e2e_s > 0;
    for (int part = 0; part < 2; part++) {
        size_t count = part == 0 ? sc->workload.n_classes : sc->n_deployments;
        printf(part == 0 ? "\n%-24s %9s %10s %10s %10s %12s%s%s\n" : "%-24s %9s %10s %10s %10s %12s%s%s\n",
               part == 0 ? "by class" : "by deployment", "requests", "TTFT p95", "ITL p50", "E2E p95", "$ per 1k",
               has_quality ? "    quality" : "", has_slo ? "    goodput" : "");
        for (size_t i = 0; i < count; i++) {
            const char *name = part == 0 ? sc->workload.classes[i].name : sc->deployments[i].name;
            char scope[ANA_SCOPE_MAX];
            snprintf(scope, sizeof scope, "%s:%s", part == 0 ? "class" : "deployment", name);
            const struct ana_summary_row *r = ana_summary_find(rows, n, scope, "e2e_s");
            printf("  %-22s %9llu %10.4g %10.4g %10.4g %12.4f", name, r ? (unsigned long long)r->count : 0ULL,
                   val(rows, n, scope, "ttft_s", F_P95), val(rows, n, scope, "itl_s", F_P50),
                   val(rows, n, scope, "e2e_s", F_P95), 1000 * val(rows, n, scope, "cost_usd", F_MEAN));
            if (has_quality)
                printf(" %9.2f%%", 100 * val(rows, n, scope, "success", F_MEAN));
            if (has_slo)
                printf(" %9.1f%%", 100 * val(rows, n, scope, "slo_met", F_MEAN));
            printf("\n");
        }
    }
    print_groups(rows, n);
    /* Self-hosted deployments: how hard the GPUs work. */
    int header = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->kind != SIM_DEPLOY_SELF_HOSTED)
            continue;
        char scope[ANA_SCOPE_MAX];
        snprintf(scope, sizeof scope, "deployment:%s", d->name);
        if (!header) {
            printf("\n%-24s %7s %6s %6s %11s %10s %10s %12s\n", "GPU serving", "busy", "MFU", "MBU",
                   "preempted", "rejected", "ITL p99", "$/1M out");
            header = 1;
        }
        const struct ana_summary_row *rej = ana_summary_find(rows, n, scope, "rejected");
        char mfu[16] = "-", mbu[16] = "-", itl[16] = "-";
        double v = val(rows, n, scope, "mfu", F_MEAN);
        if (isfinite(v)) /* roofline only */
            snprintf(mfu, sizeof mfu, "%.1f%%", 100 * v);
        v = val(rows, n, scope, "mbu", F_MEAN);
        if (isfinite(v))
            snprintf(mbu, sizeof mbu, "%.1f%%", 100 * v);
        v = val(rows, n, scope, "itl_token_s", F_P99);
        if (isfinite(v)) /* batching schedulers only */
            snprintf(itl, sizeof itl, "%.4g", v);
        printf("  %-22s %6.1f%% %6s %6s %11.0f %10llu %10s %12.4f\n", d->name,
               100 * val(rows, n, scope, "utilization", F_MEAN), mfu, mbu,
               val(rows, n, scope, "preemptions_total", F_MEAN), rej ? (unsigned long long)rej->count : 0ULL, itl,
               val(rows, n, scope, "cost_per_1m_output_tokens_usd", F_MEAN));
    }
    if (header)
        printf("  (ITL p99 token-weighted: the inter-token gap at the 99th percentile of all decoded tokens)\n");

    /* Energy and carbon of the self-hosted GPUs (the `energy` section). */
    if (sc->energy.enabled) {
        const struct sim_energy_cfg *e = &sc->energy;
        printf("\nenergy (PUE %.3g, $%.4g/kWh, %.4g g CO2/kWh; electricity %s)\n", e->pue, e->usd_per_kwh,
               e->g_co2_per_kwh,
               e->bill ? "added to the cost (bill_electricity)" : "not added to the cost: GPU-hour prices include it");
        printf("  %-22s %12s %12s %12s %12s %13s\n", "", "kWh", "kWh/1k req", "$", "kg CO2", "g CO2/1k req");
        for (size_t i = 0; i <= sc->n_deployments; i++) {
            char scope[ANA_SCOPE_MAX];
            if (i == 0)
                snprintf(scope, sizeof scope, "all");
            else if (sc->deployments[i - 1].kind == SIM_DEPLOY_SELF_HOSTED)
                snprintf(scope, sizeof scope, "deployment:%s", sc->deployments[i - 1].name);
            else
                continue;
            printf("  %-22s %12.4g %12.4g %12.4g %12.4g %13.4g\n", i == 0 ? "all" : sc->deployments[i - 1].name,
                   val(rows, n, scope, "energy_kwh", F_MEAN), val(rows, n, scope, "energy_per_1k_kwh", F_MEAN),
                   val(rows, n, scope, "energy_usd", F_MEAN), val(rows, n, scope, "co2_g", F_MEAN) / 1e3,
                   val(rows, n, scope, "co2_per_1k_g", F_MEAN));
        }
        printf("  (per replication; the GPUs' power only, idle + (max - idle) x busy share, times the PUE)\n");
    }

    /* KV memory of each self-hosted replica, as its engine accounts for it. */
    header = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->kind != SIM_DEPLOY_SELF_HOSTED || d->scheduler == SIM_SCHED_NONE)
            continue;
        char scope[ANA_SCOPE_MAX];
        snprintf(scope, sizeof scope, "deployment:%s", d->name);
        double cap = val(rows, n, scope, "kv_capacity_tokens", F_MEAN);
        if (!isfinite(cap))
            continue;
        if (!header) {
            printf("\n%-24s %11s %9s %8s %8s  %s\n", "KV cache per replica", "tokens", "blocks", "GiB/GPU",
                   "holds", "(requests of the mean prompt + output)");
            header = 1;
        }
        double size = val(rows, n, scope, "input_tokens", F_MEAN) + val(rows, n, scope, "output_tokens", F_MEAN);
        char gib[16] = "-";
        if (d->has_gpu && d->has_llm) /* the loader's accounting of this deployment */
            snprintf(gib, sizeof gib, "%.2f", cap * d->kv_budget.bytes_per_token / MDL_GIB);
        printf("  %-22s %11.0f %9.0f %8s %8.1f  %s, %s\n", d->name, cap, cap / d->block_tokens, gib,
               size > 0 ? cap / size : NAN, mdl_engine_name(d->engine),
               d->kv_capacity_tokens > 0 ? "kv_capacity_tokens" : "from memory");
    }

    int dis_header = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->kind != SIM_DEPLOY_SELF_HOSTED || d->disagg == NULL)
            continue;
        if (!dis_header) {
            printf("\n%-24s %9s %13s %13s %13s %13s\n", "disaggregated", "replicas", "prefill busy",
                   "decode busy", "KV wait (s)", "KV xfer (s)");
            dis_header = 1;
        }
        char scope[ANA_SCOPE_MAX], pools[32];
        snprintf(scope, sizeof scope, "deployment:%s", d->name);
        snprintf(pools, sizeof pools, "%d+%d", d->disagg->prefill.replicas, d->replicas);
        printf("  %-22s %9s %12.1f%% %12.1f%% %13.4g %13.4g\n", d->name, pools,
               100 * val(rows, n, scope, "prefill_utilization", F_MEAN),
               100 * val(rows, n, scope, "decode_utilization", F_MEAN), val(rows, n, scope, "kv_wait_s", F_MEAN),
               val(rows, n, scope, "kv_transfer_s", F_MEAN));
    }
    if (dis_header)
        printf("  (replicas: prefill + decode; KV wait: first token to the decode replica's admission;\n"
               "   KV xfer: link queue + latency + bytes / bandwidth; means per transferred request)\n");

    int api_header = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->kind != SIM_DEPLOY_API)
            continue;
        if (!api_header) {
            printf("\napi latency figures (`llmsim catalog api-latency`; the pooled default: "
                   "docs/calibration.md)\n");
            api_header = 1;
        }
        char src[400];
        scn_api_latency_source(d, src, sizeof src);
        printf("  %-22s %s\n", d->name, src);
    }

    printf("\n($ per 1k by class and deployment: billed lines + GPU time used by measured requests;\n"
           " the total above covers every request, warm-up included, and idle provisioned GPU time.)\n");
    if (path)
        printf("results: %s\n", path);
}

/* Whether a deployment scope kept up in every replication (a scope without
 * a verdict, too short a window, counts as stable). */
static int is_stable(const struct ana_summary_row *rows, size_t n, const char *scope)
{
    double st = val(rows, n, scope, "stable", F_MEAN);
    return !isfinite(st) || st >= 1;
}

static void print_json(const struct sim_scenario *sc, const struct ana_summary_row *rows, size_t n,
                       const char *path, const int stops[N_STOPS])
{
    printf("{\"scenario\": ");
    cli_json_str(stdout, sc->name);
    printf(", \"seed\": %llu, \"replications\": %d, \"results\": ", (unsigned long long)sc->seed,
           sc->replications);
    if (path)
        cli_json_str(stdout, path);
    else
        printf("null");
    int kinds = 0, last = 0;
    for (int k = 0; k < N_STOPS; k++)
        if (stops[k] > 0) {
            kinds++;
            last = k;
        }
    printf(",\n \"arrivals_stopped_by\": ");
    cli_json_str(stdout, kinds == 1 ? stop_names[last] : kinds > 1 ? "mixed" : "none");
    const char *headline[] = {"cost_per_hour_usd", "cost_per_month_usd", "input_tokens_per_s",
                              "output_tokens_per_s"};
    for (size_t k = 0; k < sizeof headline / sizeof *headline; k++) {
        printf(", \"%s\": ", headline[k]);
        cli_json_num(stdout, val(rows, n, "all", headline[k], F_MEAN), 17);
    }
    const char *energy[] = {"energy_kwh", "energy_per_1k_kwh", "energy_usd", "co2_g", "co2_per_1k_g"};
    size_t n_energy = sc->energy.enabled ? sizeof energy / sizeof *energy : 0;
    for (size_t k = 0; k < n_energy; k++) {
        printf(", \"%s\": ", energy[k]);
        cli_json_num(stdout, val(rows, n, "all", energy[k], F_MEAN), 17);
    }
    printf(", \"stable\": %s,\n \"deployments\": [", is_stable(rows, n, "all") ? "true" : "false");
    for (size_t i = 0; i < sc->n_deployments; i++) {
        char scope[ANA_SCOPE_MAX];
        snprintf(scope, sizeof scope, "deployment:%s", sc->deployments[i].name);
        printf("%s\n  {\"name\": ", i ? "," : "");
        cli_json_str(stdout, sc->deployments[i].name);
        printf(", \"stable\": %s", is_stable(rows, n, scope) ? "true" : "false");
        if (sc->deployments[i].kind == SIM_DEPLOY_API) {
            char src[400];
            scn_api_latency_source(&sc->deployments[i], src, sizeof src);
            printf(", \"latency_profile\": ");
            if (sc->deployments[i].api_profile[0])
                cli_json_str(stdout, sc->deployments[i].api_profile);
            else
                printf("null");
            printf(", \"latency_source\": ");
            cli_json_str(stdout, src);
        }
        const char *fig[] = {"offered_rps", "achieved_rps", "queue_growth", "cost_per_hour_usd"};
        for (size_t k = 0; k < sizeof fig / sizeof *fig; k++) {
            printf(", \"%s\": ", fig[k]);
            cli_json_num(stdout, val(rows, n, scope, fig[k], F_MEAN), 17);
        }
        for (size_t k = 0; k < n_energy; k++) {
            printf(", \"%s\": ", energy[k]);
            cli_json_num(stdout, val(rows, n, scope, energy[k], F_MEAN), 17);
        }
        printf("}");
    }
    printf("\n ]");
    printf(", \"summary\": [");
    for (size_t i = 0; i < n; i++) {
        const struct ana_summary_row *r = &rows[i];
        printf("%s\n  {\"scope\": ", i ? "," : "");
        cli_json_str(stdout, r->scope);
        printf(", \"metric\": ");
        cli_json_str(stdout, r->metric);
        printf(", \"count\": %llu", (unsigned long long)r->count);
        const char *names[] = {"mean", "p50", "p90", "p95", "p99", "ci95", "p50_ci95", "p90_ci95", "p95_ci95",
                               "p99_ci95"};
        const double v[] = {r->mean, r->p50, r->p90, r->p95, r->p99, r->ci95, r->p50_ci95, r->p90_ci95, r->p95_ci95,
                            r->p99_ci95};
        for (int k = 0; k < 10; k++) {
            printf(", \"%s\": ", names[k]);
            cli_json_num(stdout, v[k], 17);
        }
        printf("}");
    }
    printf("\n]}\n");
}

/* Warns when a deployment cannot keep up with what is offered to it (the
 * `stable` row of /summary, whose test results.h describes): both rates,
 * how much its queue grew, and what to change. */
static void warn_overload(const struct sim_deployment_cfg *d, const struct ana_summary_row *rows,
                          size_t n)
{
    char scope[ANA_SCOPE_MAX];
    snprintf(scope, sizeof scope, "deployment:%s", d->name);
    const struct ana_summary_row *st = ana_summary_find(rows, n, scope, "stable");
    if (st == NULL || st->count == 0 || st->mean >= 1)
        return;
    char reps[64] = "";
    if (st->count > 1)
        snprintf(reps, sizeof reps, " in %.0f of %llu replications",
                 (1 - st->mean) * (double)st->count, (unsigned long long)st->count);
    const char *fix =
        d->kind == SIM_DEPLOY_SELF_HOSTED
            ? "add replicas, use a faster GPU (or more GPUs per replica), or lower the arrival rate"
            : "raise its rate limits, send part of the traffic elsewhere, or lower the arrival "
              "rate";
    fprintf(stderr,
            "llmsim: warning: deployment %s is overloaded%s: %.4g requests/s offered but %.4g "
            "served while requests arrived, and its queue grew by %.0f; latency grows with the "
            "horizon; %s\n",
            d->name, reps, val(rows, n, scope, "offered_rps", F_MEAN),
            val(rows, n, scope, "achieved_rps", F_MEAN),
            val(rows, n, scope, "queue_growth", F_MEAN), fix);
}

/* A --set of one horizon bound keeps the scenario's other bound, and
 * arrivals stop at whichever comes first: say so when the other one won. */
static void note_horizon(const struct sim_scenario *sc, const struct scn_override *sets,
                         size_t n_sets, const int stops[N_STOPS])
{
    int set_requests = 0, set_duration = 0;
    for (size_t i = 0; i < n_sets; i++) {
        set_requests |= !strcmp(sets[i].key, "horizon.requests");
        set_duration |= !strcmp(sets[i].key, "horizon.duration_s");
    }
    char warmup[48] = "";
    if (sc->warmup_s > 0)
        snprintf(warmup, sizeof warmup, ", warmup_s: %g", sc->warmup_s);
    if (set_requests && !set_duration && stops[STOP_DURATION] > 0)
        fprintf(stderr,
                "llmsim: note: arrivals stopped by the scenario's duration_s = %g s before "
                "requests = %llu: --set keeps the other bound, and arrivals stop at whichever "
                "comes first; to drop it, replace the whole horizon: --set "
                "'horizon={requests: %llu%s}'\n",
                sc->duration_s, (unsigned long long)sc->max_requests,
                (unsigned long long)sc->max_requests, warmup);
    if (set_duration && !set_requests && stops[STOP_REQUESTS] > 0)
        fprintf(stderr,
                "llmsim: note: arrivals stopped by the scenario's requests = %llu before "
                "duration_s = %g s: --set keeps the other bound, and arrivals stop at whichever "
                "comes first; to drop it, replace the whole horizon: --set "
                "'horizon={duration_s: %g%s}'\n",
                (unsigned long long)sc->max_requests, sc->duration_s, sc->duration_s, warmup);
}

/* A rate-limit line: n of the measured requests were held back (how), and
 * the mean wait of the `one` of them that a single tier answered (a
 * cascade's queue_s ends when its first tier started).  Nothing when n = 0. */
static void print_wait_line(const char *how, const char *sep, uint64_t n, uint64_t one, double wait_s,
                            uint64_t measured)
{
    if (n == 0)
        return;
    printf("rate limits: %llu of %llu measured requests %s (%.1f%%)", (unsigned long long)n,
           (unsigned long long)measured, how, 100.0 * (double)n / (double)measured);
    if (one > 0)
        printf("%s %.4g s on average before starting%s", sep, wait_s / (double)one,
               one < n ? " (the ones a single tier answered)" : "");
    printf("\n");
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr != 0)
        return pr > 0 ? LLMSIM_EXIT_OK : LLMSIM_EXIT_USAGE;

    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct sim_scenario sc;
    char *given = NULL;
    int rc;
    if (o.s.scenario) {
        rc = scn_load_file(&sc, o.s.scenario, o.s.sets, o.s.n_sets, &err);
        if (rc == 0) {
            FILE *f = fopen(o.s.scenario, "rb");
            if (f) {
                /* The text as given, for /scenario; the loader already bounded its size. */
                fseek(f, 0, SEEK_END);
                long len = ftell(f);
                fseek(f, 0, SEEK_SET);
                given = len >= 0 ? calloc((size_t)len + 1, 1) : NULL;
                if (given && fread(given, 1, (size_t)len, f) != (size_t)len) {
                    free(given);
                    given = NULL;
                }
                fclose(f);
            }
        }
    } else {
        rc = scn_load_string(&sc, scn_default_scenario_yaml, strlen(scn_default_scenario_yaml),
                             SCN_DEFAULT_NAME, o.s.sets, o.s.n_sets, &err);
        given = strdup(scn_default_scenario_yaml);
    }
    if (rc != 0) {
        print_error(&err);
        free(given);
        return rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
    }
    if (o.s.out) {
        char *p = strdup(o.s.out);
        if (p == NULL) {
            cli_errorf("out of memory");
            sim_scenario_free(&sc);
            free(given);
            return LLMSIM_EXIT_RUNTIME;
        }
        free(sc.output.path);
        sc.output.path = p;
    }
    {
        /* Before anything is simulated: a bad output would only fail (or
         * destroy a file) at the end. */
        const char *in[64];
        size_t n_in = cli_scenario_inputs(&sc, o.s.scenario, in, sizeof in / sizeof in[0]);
        int bad = cli_check_output("run", o.s.out ? "-o" : "output.path", sc.output.path, CLI_OUT_HDF5, in, n_in);
        if (bad) {
            sim_scenario_free(&sc);
            free(given);
            return bad;
        }
    }
    char *resolved = scn_resolved_yaml(&sc);
    int exit_code = LLMSIM_EXIT_RUNTIME;
    struct ana_stats *stats = NULL;
    struct ana_tail *tail = NULL;
    struct ana_h5 *h5 = NULL;
    struct ana_summary_row *rows = NULL;
    size_t n_rows = 0;
    const char **cnames = NULL, **dnames = NULL;
    uint64_t warm = 0;
    int interrupted = 0;
    int stops[N_STOPS] = {0};
    char stop_text[256] = "";

    if (resolved == NULL || ana_stats_alloc(&stats, &sc) != 0) {
        cli_errorf("out of memory");
        goto done;
    }
    cnames = calloc(sc.workload.n_classes, sizeof *cnames);
    dnames = calloc(sc.n_deployments, sizeof *dnames);
    if (cnames == NULL || dnames == NULL) {
        cli_errorf("out of memory");
        goto done;
    }
    for (size_t i = 0; i < sc.workload.n_classes; i++)
        cnames[i] = sc.workload.classes[i].name;
    for (size_t i = 0; i < sc.n_deployments; i++)
        dnames[i] = sc.deployments[i].name;
    if (make_parents(sc.output.path) != 0) {
        cli_errorf("cannot create the folder of '%s': %s", sc.output.path, strerror(errno));
        goto done;
    }
    struct ana_h5_meta meta = {
        .scenario_name = sc.name,
        .seed = sc.seed,
        .replications = sc.replications,
        .scenario_text = given ? given : "",
        .scenario_resolved = resolved,
        .class_names = cnames,
        .n_classes = sc.workload.n_classes,
        .deployment_names = dnames,
        .n_deployments = sc.n_deployments,
        .write_requests = sc.output.requests,
        .compression = sc.output.compression,
    };
    if (ana_h5_open(&h5, sc.output.path, &meta, &err) != 0) {
        print_error(&err);
        goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal: stop and keep what was simulated */

    struct sim_sink h5sink = ana_h5_sink(h5);
    struct sim_tee tee;
    if (o.tail) {
        if (ana_tail_alloc(&tail, &sc) != 0) {
            cli_errorf("out of memory");
            goto done;
        }
        tee = (struct sim_tee){h5sink, ana_tail_sink(tail)};
        h5sink = sim_tee_sink(&tee);
    }
    struct ana_run_counts counts;
    struct cli_progress prog;
    cli_progress_init(&prog, o.s.quiet ? 0 : o.s.progress, "run");
    struct ana_run_opts ro = {.jobs = o.s.jobs, .sink = &h5sink, .stop = &g_stop,
                              .progress = cli_progress_update, .progress_ctx = &prog};
    rc = ana_run_scenario(&sc, &ro, stats, &counts, &err);
    cli_progress_end(&prog);
    if (rc < 0) {
        if (!err.file[0] && o.s.scenario)
            snprintf(err.file, sizeof err.file, "%s", o.s.scenario);
        print_error(&err);
        goto done;
    }
    interrupted = rc == 1;
    if (counts.ts_capped)
        fprintf(stderr, "llmsim: warning: the time series of %d replication(s) stopped at %llu rows (the "
                        "safety limit); raise output.timeseries_interval_s\n",
                counts.ts_capped, (unsigned long long)SIM_MAX_TS_ROWS);
    warm = counts.warm;
    memcpy(stops, counts.stops, sizeof stops);
    format_stops(stop_text, sizeof stop_text, &sc, stops);
    if (ana_stats_summary(stats, &rows, &n_rows) != 0) {
        cli_errorf("out of memory");
        goto done;
    }
    for (size_t i = 0; i < sc.n_deployments && !o.s.quiet; i++) {
        /* Past ~85% utilisation small timing errors become large queueing errors. */
        char scope[ANA_SCOPE_MAX];
        snprintf(scope, sizeof scope, "deployment:%s", sc.deployments[i].name);
        double u = val(rows, n_rows, scope, "utilization", F_MEAN);
        /* With batching the replica is busy whenever anything runs; its load
         * shows in queueing and KV memory, not in this share. */
        if (sc.deployments[i].kind == SIM_DEPLOY_SELF_HOSTED && sc.deployments[i].scheduler == SIM_SCHED_NONE &&
            u > 0.85)
            fprintf(stderr,
                    "llmsim: warning: deployment %s is busy %.0f%% of the time; above ~85%% small errors "
                    "in the timing model become large errors in queueing delay\n",
                    sc.deployments[i].name, 100 * u);
        /* KV thrashing: requests evicted and recomputed again and again. */
        const struct ana_summary_row *pre = ana_summary_find(rows, n_rows, scope, "preemptions");
        if (pre != NULL && pre->count > 0 && (pre->mean > 0.1 || pre->p99 >= 5))
            fprintf(stderr,
                    "llmsim: warning: deployment %s preempts its requests for KV memory %.2f times per request "
                    "(p99 %.0f): the KV cache thrashes, and recomputing evicted requests inflates latency and "
                    "lowers throughput; lower max_batch or max_batched_tokens, use an fp8 KV cache, or add "
                    "replicas\n",
                    sc.deployments[i].name, pre->mean, pre->p99);
        warn_overload(&sc.deployments[i], rows, n_rows);
    }
    if (!o.s.quiet)
        note_horizon(&sc, o.s.sets, o.s.n_sets, stops);
    if (ana_h5_write_summary(h5, rows, n_rows, &err) != 0 ||
        ana_stats_write_tenant_ts(stats, h5, &err) != 0) {
        print_error(&err);
        goto done;
    }
    if (tail && (ana_tail_compute(tail) != 0 || ana_tail_write(tail, h5, &err) != 0)) {
        if (err.msg[0])
            print_error(&err);
        else
            cli_errorf("out of memory");
        goto done;
    }
    {
        struct ana_h5 *h = h5;
        h5 = NULL;
        if (ana_h5_close(h, !interrupted, &err) != 0) {
            print_error(&err);
            goto done;
        }
    }
    if (interrupted) {
        cli_errorf("interrupted; the results so far are in %s (complete = false)", sc.output.path);
        goto done;
    }
    if (!o.s.quiet && !o.s.json) {
        print_wait_line("got a 429 and retried", "; they waited", counts.limited, counts.limited_one,
                        counts.limited_queue_s, counts.measured);
        print_wait_line("waited in the client-side queue", ",", counts.queued, counts.queued_one, counts.queued_s,
                        counts.measured);
    }
    if (!o.s.quiet && !o.s.json && ana_stats_compact(stats))
        printf("statistics: more than %llu measured requests, so percentiles come from logarithmic histograms "
               "(within 0.5%%); counts and means are exact\n",
               (unsigned long long)ANA_EXACT_REQUESTS);
    if (!o.s.quiet) {
        if (o.s.json)
            print_json(&sc, rows, n_rows, sc.output.path, stops);
        else
            print_table(&sc, rows, n_rows, sc.output.path, warm, stop_text);
        if (tail && !o.s.json) {
            printf("\n");
            ana_tail_print(tail, stdout);
        }
    }
    exit_code = LLMSIM_EXIT_OK;
done:
    if (h5)
        ana_h5_abort(h5);
    free(rows);
    ana_stats_free(stats);
    ana_tail_free(tail);
    free(cnames);
    free(dnames);
    free(resolved);
    free(given);
    sim_scenario_free(&sc);
    return exit_code;
}
