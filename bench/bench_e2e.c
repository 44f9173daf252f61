/* End-to-end benchmark: a chat workload on 16 self-hosted GPU replicas.
 *
 * What a user's `llmsim run` costs, at increasing scale: the whole pipeline
 * of a run (scenario, world, continuous-batching replicas with the roofline
 * timing model, the statistics accumulator and the HDF5 results file with
 * /requests, /timeseries and /summary), wired as sim/cli/cmd_run.c wires it:
 * one tee sink feeds the HDF5 writer and the statistics.
 *
 * Scenario: Poisson arrivals of one chat class (prompt lognormal mean 1,000
 * tokens, cv 0.8, at most 16,000; output lognormal mean 250, cv 0.8, at most
 * 4,096) routed to the least-loaded of 16 replicas of Llama-3.1-8B on one
 * H100 SXM each, fp8 weights and KV cache, continuous batching with chunked
 * prefill (max_batch 256, max_batched_tokens 8192); /timeseries sampled
 * every 60 s of virtual time.
 *
 * Load: about 80% of saturation.  First the saturation throughput of one
 * replica is measured: SAT_REQUESTS requests arrive at SAT_RATE_PER_S (far
 * above capacity, so the queue never empties until the last one is
 * admitted), and the rate is the number of completions between the 10% and
 * the 80% marks of the completion sequence divided by the virtual time
 * between them, which leaves out the start (batch filling) and the drain at
 * the end.  The benchmark's arrival rate is then 0.8 x 16 x that.
 *
 * Scale points: horizon {requests: N} for N = 10^4, 10^5, 10^6, each with
 * the results file and without it (statistics only), to separate the cost of
 * simulating from the cost of writing.  Each point runs in a forked
 * child process, so that its peak RSS (getrusage ru_maxrss, the high-water
 * mark of the process) is its own and not the largest point's so far; the
 * child sends its figures back through a pipe.  The clock (CLOCK_MONOTONIC)
 * runs from after the scenario is parsed until the summary is computed and
 * the results file closed (fsync and rename included); it is split into
 * setup (statistics, file created, world built), run (sim_run with its
 * sinks), summary (ana_stats_summary) and close.  The results file goes to
 * a fresh temporary folder (mkdtemp under $TMPDIR or /tmp); its size is
 * taken before it is deleted, and the folder is removed at the end.
 *
 * Each point is run REPS times (each a fresh child); the tables give the
 * median of each time and the rates derived from the median wall time, and
 * the largest peak RSS.  A last table shows what was simulated (achieved
 * throughput, latency percentiles), so that a change of the model that
 * changes the load is noticed.
 *
 * Usage: bench_e2e [--smoke | --big] [--reps N].  --smoke runs only N =
 * 10^4 with the file, once (well under a second; CI runs it); --big adds
 * N = 10^7.  Output is markdown on stdout. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "bench_util.h"
#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"

#define REPLICAS 16
#define LOAD 0.8               /* target share of saturation */
#define SAT_REQUESTS 8000      /* requests of the saturation run */
#define SAT_RATE_PER_S 10000.0 /* its arrival rate, far above one replica's capacity */
#define SAT_LO 0.10            /* completion-sequence window of the saturation rate */
#define SAT_HI 0.80
#define TS_INTERVAL_S 60.0 /* /timeseries sampling interval */
#define REPS 3             /* default repetitions per point */
#define REPS_MAX 25

/* One scale point. */
struct point {
    unsigned long long requests;
    int hdf5; /* write the results file */
};

/* Each size with and without the file (the smaller ones are cheap, and show
 * what the writer adds to memory at every scale).  The same size twice is the
 * same simulation (same scenario and seed). */
static const struct point full_points[] = {
    {10000ULL, 1}, {10000ULL, 0}, {100000ULL, 1}, {100000ULL, 0}, {1000000ULL, 1}, {1000000ULL, 0},
};

/* --big: also 10^7 (about two minutes a repetition, 2 GiB of memory and a
 * 1.8 GB file). */
static const struct point big_points[] = {
    {10000ULL, 1},   {10000ULL, 0},   {100000ULL, 1},   {100000ULL, 0},
    {1000000ULL, 1}, {1000000ULL, 0}, {10000000ULL, 1}, {10000000ULL, 0},
};

static const struct point smoke_points[] = {
    {10000ULL, 1},
};

/* What a child sends back (plain data, written whole through a pipe). */
struct result {
    int ok;
    char msg[1536];
    /* saturation run */
    double sat_rps;       /* completions per second in the window */
    double sat_rps_whole; /* completions / makespan, for comparison */
    /* scale point */
    double wall_s, cpu_s;
    double setup_s;   /* of wall_s: statistics, results file created, world built */
    double run_s;     /* of wall_s: sim_run, with the sinks (statistics, rows to the file) */
    double summary_s; /* of wall_s: ana_stats_summary (sorting the samples) */
    double close_s;   /* of wall_s: /summary written, file closed, fsynced, renamed */
    uint64_t completed, events, iterations, preemptions;
    long maxrss_kib;      /* peak RSS of the child at the end */
    long rss_run_kib;     /* peak RSS before the summary (simulation, sinks, file rows) */
    long rss_start_kib;   /* ru_maxrss when the child started (the parent's pages at fork) */
    long long file_bytes; /* results file size, -1 without one */
    double makespan_s;
    double thr_rps, ttft_p50, ttft_p99, e2e_p50, e2e_p99, in_system, mfu;
};

/* The scenario, as YAML text (the format users write). */
static int scenario_yaml(char *buf, size_t n, unsigned long long requests, double rate_per_s,
                         int replicas, double ts_interval_s)
{
    int len = snprintf(buf, n,
                       "name: bench-e2e\n"
                       "description: chat workload on self-hosted Llama-3.1-8B, H100 SXM, fp8\n"
                       "seed: 20240611\n"
                       "horizon: {requests: %llu}\n"
                       "workload:\n"
                       "  arrivals: {process: poisson, rate_per_s: %.17g}\n"
                       "  classes:\n"
                       "    - name: chat\n"
                       "      prompt: [{segment: prompt, tokens: {dist: lognormal, mean: 1000, "
                       "cv: 0.8, max: 16000}}]\n"
                       "      output_tokens: {dist: lognormal, mean: 250, cv: 0.8, max: 4096}\n"
                       "deployments:\n"
                       "  - name: llama8b\n"
                       "    kind: self-hosted\n"
                       "    model: llama-3.1-8b\n"
                       "    gpu: h100-sxm\n"
                       "    tp: 1\n"
                       "    replicas: %d\n"
                       "    weights_dtype: fp8\n"
                       "    kv_dtype: fp8\n"
                       "    scheduler: {policy: continuous, max_batch: 256, max_batched_tokens: "
                       "8192, chunked_prefill: true}\n"
                       "    replica_routing: least_loaded\n"
                       "output: {requests: true, timeseries_interval_s: %g}\n",
                       requests, rate_per_s, replicas, ts_interval_s);
    return len > 0 && (size_t)len < n ? len : -1;
}

/* User + system CPU time of this process, seconds. */
static double cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + 1e-6 * (double)ru->ru_utime.tv_usec +
           (double)ru->ru_stime.tv_sec + 1e-6 * (double)ru->ru_stime.tv_usec;
}

static void fail(struct result *res, const char *what, const struct llmsim_error *err, int code)
{
    char m[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 32] = "";
    if (err && err->code != 0)
        llmsim_error_format(err, m, sizeof m);
    res->ok = 0;
    snprintf(res->msg, sizeof res->msg, "%s: %s%s%s", what, llmsim_strerror(code), m[0] ? ": " : "",
             m);
}

/* ---- saturation of one replica -------------------------------------------- */

struct done_times {
    double *t;
    size_t n, cap;
};

static int collect_done(void *ctx, const struct sim_request_record *r)
{
    struct done_times *d = ctx;
    if (d->n >= d->cap)
        return LLMSIM_ELIMIT;
    d->t[d->n++] = r->done_s;
    return 0;
}

static void run_saturation(const void *arg, struct result *res)
{
    (void)arg;
    char yaml[2048];
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    int len = scenario_yaml(yaml, sizeof yaml, SAT_REQUESTS, SAT_RATE_PER_S, 1, 0.0);
    struct done_times d = {calloc(SAT_REQUESTS, sizeof(double)), 0, SAT_REQUESTS};
    struct sim_world *w = NULL;
    int rc;
    if (len < 0 || d.t == NULL) {
        fail(res, "saturation: setup", NULL, LLMSIM_ENOMEM);
        goto done;
    }
    if ((rc = scn_load_string(&sc, yaml, (size_t)len, "bench_e2e saturation", NULL, 0, &err)) !=
        0) {
        fail(res, "saturation: scenario", &err, rc);
        goto done;
    }
    struct sim_sink sink = {&d, collect_done, NULL, NULL, NULL};
    if ((rc = sim_world_alloc(&w, &sc, 0, &sink, &err)) != 0) {
        fail(res, "saturation: world", &err, rc);
        goto done;
    }
    if ((rc = sim_run(w)) != 0) {
        fail(res, "saturation: run", NULL, rc);
        goto done;
    }
    struct sim_world_stats ws;
    sim_world_stats(w, &ws);
    if (d.n != SAT_REQUESTS || ws.completed != SAT_REQUESTS) {
        fail(res, "saturation: not every request completed", NULL, LLMSIM_ESTATE);
        goto done;
    }
    size_t lo = (size_t)(SAT_LO * SAT_REQUESTS), hi = (size_t)(SAT_HI * SAT_REQUESTS);
    double span = d.t[hi] - d.t[lo];
    if (!(span > 0)) {
        fail(res, "saturation: empty window", NULL, LLMSIM_ENUMERIC);
        goto done;
    }
    res->sat_rps = (double)(hi - lo) / span;
    res->sat_rps_whole = (double)ws.completed / ws.makespan_s;
    res->ok = 1;
done:
    sim_world_free(w);
    sim_scenario_free(&sc);
    free(d.t);
}

/* ---- one scale point ------------------------------------------------------- */

struct point_arg {
    struct point pt;
    double rate_per_s;
    const char *path; /* results file */
};

static double row_val(const struct ana_summary_row *rows, size_t n, const char *metric, int p)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, "all", metric);
    if (r == NULL || r->count == 0)
        return NAN;
    return p == 50 ? r->p50 : p == 99 ? r->p99 : r->mean;
}

static void run_point(const void *argp, struct result *res)
{
    const struct point_arg *a = argp;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    res->rss_start_kib = ru0.ru_maxrss;
    res->file_bytes = -1;

    char yaml[2048];
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    char *resolved = NULL;
    struct ana_stats *stats = NULL;
    struct ana_h5 *h5 = NULL;
    struct sim_world *w = NULL;
    struct ana_summary_row *rows = NULL;
    size_t n_rows = 0;
    const char **cnames = NULL, **dnames = NULL;
    int rc;

    int len =
        scenario_yaml(yaml, sizeof yaml, a->pt.requests, a->rate_per_s, REPLICAS, TS_INTERVAL_S);
    if (len < 0) {
        fail(res, "scenario text", NULL, LLMSIM_ELIMIT);
        goto done;
    }
    if ((rc = scn_load_string(&sc, yaml, (size_t)len, "bench_e2e", NULL, 0, &err)) != 0) {
        fail(res, "scenario", &err, rc);
        goto done;
    }
    char *p = strdup(a->path);
    if (p == NULL) {
        fail(res, "setup", NULL, LLMSIM_ENOMEM);
        goto done;
    }
    free(sc.output.path);
    sc.output.path = p;

    double t0 = bench_mono_s();
    getrusage(RUSAGE_SELF, &ru0);
    if ((rc = ana_stats_alloc(&stats, &sc)) != 0) {
        fail(res, "statistics", NULL, rc);
        goto done;
    }
    struct sim_sink sink = ana_stats_sink(stats);
    struct sim_tee tee;
    if (a->pt.hdf5) {
        resolved = scn_resolved_yaml(&sc);
        cnames = calloc(sc.workload.n_classes, sizeof *cnames);
        dnames = calloc(sc.n_deployments, sizeof *dnames);
        if (resolved == NULL || cnames == NULL || dnames == NULL) {
            fail(res, "setup", NULL, LLMSIM_ENOMEM);
            goto done;
        }
        for (size_t i = 0; i < sc.workload.n_classes; i++)
            cnames[i] = sc.workload.classes[i].name;
        for (size_t i = 0; i < sc.n_deployments; i++)
            dnames[i] = sc.deployments[i].name;
        struct ana_h5_meta meta = {
            .scenario_name = sc.name,
            .seed = sc.seed,
            .replications = sc.replications,
            .scenario_text = yaml,
            .scenario_resolved = resolved,
            .class_names = cnames,
            .n_classes = sc.workload.n_classes,
            .deployment_names = dnames,
            .n_deployments = sc.n_deployments,
            .write_requests = sc.output.requests,
            .compression = sc.output.compression,
        };
        if ((rc = ana_h5_open(&h5, sc.output.path, &meta, &err)) != 0) {
            fail(res, "results file", &err, rc);
            goto done;
        }
        tee.a = ana_h5_sink(h5);
        tee.b = sink;
        sink = sim_tee_sink(&tee);
    }

    if ((rc = sim_world_alloc(&w, &sc, 0, &sink, &err)) != 0) {
        fail(res, "world", &err, rc);
        goto done;
    }
    double t_run = bench_mono_s();
    if ((rc = sim_run(w)) != 0) {
        fail(res, "run", NULL, rc);
        goto done;
    }
    struct sim_world_stats ws;
    sim_world_stats(w, &ws);
    if ((rc = ana_stats_add_run(stats, 0, &ws)) != 0) {
        fail(res, "statistics", NULL, rc);
        goto done;
    }
    double t_summary = bench_mono_s();
    struct rusage ru_run;
    getrusage(RUSAGE_SELF, &ru_run);
    if ((rc = ana_stats_summary(stats, &rows, &n_rows)) != 0) {
        fail(res, "summary", NULL, rc);
        goto done;
    }
    double t_close = bench_mono_s();
    if (h5) {
        if ((rc = ana_h5_write_summary(h5, rows, n_rows, &err)) != 0) {
            fail(res, "results file summary", &err, rc);
            goto done;
        }
        struct ana_h5 *h = h5;
        h5 = NULL;
        if ((rc = ana_h5_close(h, 1, &err)) != 0) {
            fail(res, "results file close", &err, rc);
            goto done;
        }
    }
    double t1 = bench_mono_s();
    getrusage(RUSAGE_SELF, &ru1);

    if (a->pt.hdf5) {
        struct stat st;
        if (stat(a->path, &st) != 0) {
            fail(res, "results file missing", NULL, LLMSIM_EIO);
            goto done;
        }
        res->file_bytes = (long long)st.st_size;
        unlink(a->path);
    }
    if (ws.arrivals != a->pt.requests || ws.completed != a->pt.requests || ws.in_flight != 0) {
        snprintf(res->msg, sizeof res->msg, "%llu arrivals, %llu completed, %llu in flight",
                 (unsigned long long)ws.arrivals, (unsigned long long)ws.completed,
                 (unsigned long long)ws.in_flight);
        goto done;
    }
    res->wall_s = t1 - t0;
    res->cpu_s = cpu_s(&ru1) - cpu_s(&ru0);
    res->setup_s = t_run - t0;
    res->run_s = t_summary - t_run;
    res->summary_s = t_close - t_summary;
    res->close_s = t1 - t_close;
    res->maxrss_kib = ru1.ru_maxrss;
    res->rss_run_kib = ru_run.ru_maxrss;
    res->completed = ws.completed;
    res->events = ws.events;
    res->makespan_s = ws.makespan_s;
    for (size_t i = 0; i < ws.n_deployments; i++) {
        res->iterations += ws.deployments[i].iterations;
        res->preemptions += ws.deployments[i].preemptions;
    }
    res->thr_rps = row_val(rows, n_rows, "throughput_rps", 0);
    res->ttft_p50 = row_val(rows, n_rows, "ttft_s", 50);
    res->ttft_p99 = row_val(rows, n_rows, "ttft_s", 99);
    res->e2e_p50 = row_val(rows, n_rows, "e2e_s", 50);
    res->e2e_p99 = row_val(rows, n_rows, "e2e_s", 99);
    res->in_system = row_val(rows, n_rows, "in_system_mean", 0);
    res->mfu = row_val(rows, n_rows, "mfu", 0);
    res->ok = 1;
done:
    if (h5)
        ana_h5_abort(h5);
    sim_world_free(w);
    free(rows);
    ana_stats_free(stats);
    free(cnames);
    free(dnames);
    free(resolved);
    sim_scenario_free(&sc);
}

/* ---- running in a child ---------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Runs fn in a forked child and returns its result in *res.  Returns 0 when
 * the child reported success and exited with status 0. */
static int in_child(void (*fn)(const void *, struct result *), const void *arg, struct result *res)
{
    memset(res, 0, sizeof *res);
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(res->msg, sizeof res->msg, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(res->msg, sizeof res->msg, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        struct result r;
        memset(&r, 0, sizeof r);
        fn(arg, &r);
        int wrote = write_all(fd[1], &r, sizeof r) == 0;
        close(fd[1]);
        /* exit, not _exit: the stdio buffers were flushed before the fork, and
         * the exit handlers include the sanitizers' leak check. */
        exit(wrote && r.ok ? 0 : 1);
    }
    close(fd[1]);
    int got = read_all(fd[0], res, sizeof *res) == 0;
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(res->msg, sizeof res->msg, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!got) {
        res->ok = 0;
        snprintf(res->msg, sizeof res->msg, "the child sent no result");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (res->ok)
            snprintf(res->msg, sizeof res->msg, "the child %s %d after its run (a leak report?)",
                     WIFEXITED(status) ? "exited with status" : "was killed by signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        res->ok = 0;
    }
    return res->ok ? 0 : -1;
}

/* Removes whatever a failed child left in the temporary folder, then it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
                unlink(p);
        }
        closedir(d);
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench_e2e: cannot remove %s: %s\n", dir, strerror(errno));
}

static double mib(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

int main(int argc, char **argv)
{
    int smoke = 0, big = 0, reps = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
        } else if (strcmp(argv[i], "--big") == 0) {
            big = 1;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > REPS_MAX) {
                fprintf(stderr, "bench_e2e: --reps needs a whole number from 1 to %d\n", REPS_MAX);
                return 2;
            }
            reps = (int)r;
        } else {
            fprintf(stderr, "usage: %s [--smoke | --big] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 0)
        reps = smoke ? 1 : REPS;
    const struct point *points = full_points;
    size_t npoints = sizeof full_points / sizeof full_points[0];
    if (smoke) {
        points = smoke_points;
        npoints = sizeof smoke_points / sizeof smoke_points[0];
    } else if (big) {
        points = big_points;
        npoints = sizeof big_points / sizeof big_points[0];
    }

    struct result sat;
    if (in_child(run_saturation, NULL, &sat) != 0) {
        fprintf(stderr, "bench_e2e: %s\n", sat.msg);
        return 1;
    }
    double rate = LOAD * REPLICAS * sat.sat_rps;
    printf("Saturation of one replica: %.2f requests/s (completions %.0f%%..%.0f%% of %d requests "
           "arriving at %.0f/s; %.2f over the whole run, drain included)\n\n",
           sat.sat_rps, 100 * SAT_LO, 100 * SAT_HI, SAT_REQUESTS, SAT_RATE_PER_S,
           sat.sat_rps_whole);
    printf("Arrival rate: %.2f x %d x %.2f = %.2f requests/s\n\n", LOAD, REPLICAS, sat.sat_rps,
           rate);

    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/bench_e2e.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
            (int)sizeof dir ||
        mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_e2e: cannot create a temporary folder: %s\n", strerror(errno));
        return 1;
    }

    /* Per point: the last repetition's result, with the medians of the times
     * and the largest peak RSS over the repetitions written into it. */
    struct result out[sizeof big_points / sizeof big_points[0]];
    int rc = 0;
    for (size_t i = 0; i < npoints && rc == 0; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/e2e-%llu.h5", dir, points[i].requests);
        struct point_arg arg = {points[i], rate, path};
        double wall[REPS_MAX], cpu[REPS_MAX], setup[REPS_MAX], run[REPS_MAX], summ[REPS_MAX],
            clo[REPS_MAX];
        long rss = 0, rss_run = 0;
        for (int r = 0; r < reps; r++) {
            struct result res;
            if (in_child(run_point, &arg, &res) != 0) {
                fprintf(stderr, "bench_e2e: N = %llu%s failed: %s\n", points[i].requests,
                        points[i].hdf5 ? "" : " (no HDF5)", res.msg);
                rc = 1;
                break;
            }
            wall[r] = res.wall_s;
            cpu[r] = res.cpu_s;
            setup[r] = res.setup_s;
            run[r] = res.run_s;
            summ[r] = res.summary_s;
            clo[r] = res.close_s;
            if (res.maxrss_kib > rss)
                rss = res.maxrss_kib;
            if (res.rss_run_kib > rss_run)
                rss_run = res.rss_run_kib;
            out[i] = res;
        }
        if (rc != 0)
            break;
        out[i].maxrss_kib = rss;
        out[i].rss_run_kib = rss_run;
        out[i].wall_s = bench_median(wall, reps);
        out[i].cpu_s = bench_median(cpu, reps);
        out[i].setup_s = bench_median(setup, reps);
        out[i].run_s = bench_median(run, reps);
        out[i].summary_s = bench_median(summ, reps);
        out[i].close_s = bench_median(clo, reps);
    }
    remove_dir(dir);
    if (rc != 0)
        return rc;

    printf("| requests | HDF5 | wall s (median of %d) | CPU s | simulated requests/s | events "
           "| events/s | batch iterations | peak RSS MiB | HDF5 file MiB |\n",
           reps);
    printf("|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < npoints; i++) {
        const struct result *r = &out[i];
        char fsz[32];
        if (r->file_bytes >= 0)
            snprintf(fsz, sizeof fsz, "%.1f", mib((double)r->file_bytes));
        else
            snprintf(fsz, sizeof fsz, "-");
        printf("| %llu | %s | %.3f | %.3f | %.0f | %llu | %.3g | %llu | %.1f | %s |\n",
               points[i].requests, points[i].hdf5 ? "yes" : "no", r->wall_s, r->cpu_s,
               (double)r->completed / r->wall_s, (unsigned long long)r->events,
               (double)r->events / r->wall_s, (unsigned long long)r->iterations,
               (double)r->maxrss_kib / 1024.0, fsz);
    }
    printf("\nPeak RSS is each child's ru_maxrss; a child starts with about %.1f MiB "
           "(the parent's pages at fork).\n",
           (double)out[0].rss_start_kib / 1024.0);

    printf("\nWhere the wall time goes (medians; `run` is sim_run with the sinks: the statistics "
           "and the rows to the file):\n\n");
    printf(
        "| requests | HDF5 | setup s | run s | summary s | file close s | requests/s of run alone "
        "| events/s of run alone | peak RSS before the summary MiB |\n");
    printf("|---:|:---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < npoints; i++) {
        const struct result *r = &out[i];
        char clo[32];
        if (points[i].hdf5)
            snprintf(clo, sizeof clo, "%.3f", r->close_s);
        else
            snprintf(clo, sizeof clo, "-");
        printf("| %llu | %s | %.3f | %.3f | %.3f | %s | %.0f | %.3g | %.1f |\n", points[i].requests,
               points[i].hdf5 ? "yes" : "no", r->setup_s, r->run_s, r->summary_s, clo,
               (double)r->completed / r->run_s, (double)r->events / r->run_s,
               (double)r->rss_run_kib / 1024.0);
    }

    printf("\nWhat was simulated (offered %.2f requests/s):\n\n", rate);
    printf("| requests | virtual time s | throughput requests/s | TTFT p50 s | TTFT p99 s "
           "| E2E p50 s | E2E p99 s | in system per replica | MFU | preemptions |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < npoints; i++) {
        const struct result *r = &out[i];
        if (i > 0 && points[i].requests == points[i - 1].requests)
            continue; /* the same simulation, with and without the file */
        printf("| %llu | %.0f | %.2f | %.3f | %.3f | %.2f | %.2f | %.1f | %.1f%% | %llu |\n",
               points[i].requests, r->makespan_s, r->thr_rps, r->ttft_p50, r->ttft_p99, r->e2e_p50,
               r->e2e_p99, r->in_system / REPLICAS, 100 * r->mfu,
               (unsigned long long)r->preemptions);
    }
    return 0;
}
