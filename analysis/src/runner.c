/* llmsim: running a scenario's replications (see llmsim/runner.h). */
#include "llmsim/runner.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/world.h"

/* Events between looks at the stop flag (a few milliseconds of work, so a
 * signal is honoured promptly whatever the virtual time scale: a slice of
 * virtual time could hold billions of events, or never end when events lie
 * at huge times) and between progress reports. */
#define STOP_EVERY 1024u
#define PROGRESS_EVERY 65536u
#define MAX_WAVE 64  /* threads of one wave */

int ana_stop_of(const struct sim_scenario *sc, uint64_t generated)
{
    if (sc->max_requests > 0 && generated >= sc->max_requests)
        return ANA_STOP_REQUESTS;
    if (sc->workload.process == SIM_ARRIVAL_TRACE && generated >= sc->workload.trace.n)
        return ANA_STOP_TRACE;
    return ANA_STOP_DURATION;
}

/* Counts warm-up, measured and rate-limited requests on their way to the
 * statistics, then hands every record on: to the statistics by direct
 * calls (a record a call, not three), then to the extra sink. */
struct counter {
    struct ana_stats *stats;
    struct sim_sink extra;
    struct ana_run_counts *c;
    uint64_t *generated; /* [replication]: requests the horizon let in (wasted prefetches not) */
    int n_reps;
};

static int count_request(void *ctx, const struct sim_request_record *r)
{
    struct counter *w = ctx;
    struct ana_run_counts *c = w->c;
    if (!(r->flags & SIM_RF_PREFETCH_WASTED) && r->replication >= 0 && r->replication < w->n_reps)
        w->generated[r->replication]++;
    if (r->flags & SIM_RF_PREFETCH_WASTED) {
        /* a wrong guess: neither measured nor left out, only paid for */
    } else if (r->flags & SIM_RF_WARMUP) {
        c->warm++;
    } else {
        c->measured++;
        /* The wait is queue_s only for a request one tier answered: a
         * cascade's queue_s ends when its first tier started. */
        if (r->flags & SIM_RF_RATE_LIMITED) {
            c->limited++;
            if (r->tiers <= 1) {
                c->limited_one++;
                c->limited_queue_s += r->queue_s;
            }
        }
        if (r->flags & SIM_RF_CLIENT_QUEUED) {
            c->queued++;
            if (r->tiers <= 1) {
                c->queued_one++;
                c->queued_s += r->queue_s;
            }
        }
    }
    int rc = ana_stats_add(w->stats, r);
    if (rc == 0 && w->extra.request)
        rc = w->extra.request(w->extra.ctx, r);
    return rc;
}

/* The statistics take no sampling rows. */
static int count_ts(void *ctx, const struct sim_ts_record *r)
{
    struct counter *w = ctx;
    return w->extra.timeseries ? w->extra.timeseries(w->extra.ctx, r) : 0;
}

static int count_iter(void *ctx, const struct sim_iter_record *r)
{
    struct counter *w = ctx;
    int rc = ana_stats_add_iteration(w->stats, r);
    if (rc == 0 && w->extra.iteration)
        rc = w->extra.iteration(w->extra.ctx, r);
    return rc;
}

/* count_iter without an extra sink of iterations (the HDF5 writer has
 * none): a jump, for the most frequent record. */
static int count_iter_stats(void *ctx, const struct sim_iter_record *r)
{
    return ana_stats_add_iteration(((struct counter *)ctx)->stats, r);
}

/* One replication, run directly into the sink or into a spool file. */
struct rep_job {
    const struct sim_scenario *sc;
    uint32_t rep;
    const struct sim_sink *direct; /* sequential: the real sink */
    FILE *spool;                   /* parallel: tagged records, replayed later */
    volatile sig_atomic_t *stop;
    /* sequential only: progress of the running replication */
    void (*progress)(void *ctx, double done);
    void *progress_ctx;
    double done_before, share; /* work done before it, its share of the whole */
    const uint64_t *generated;
    int rc; /* 0, a negative code, or 1 when interrupted */
    struct llmsim_error err;
    struct sim_world_stats ws; /* copied out of the world */
    struct sim_deployment_stats *deps;
};

enum { TAG_REQ = 1, TAG_TS = 2, TAG_ITER = 3 };

static int spool_write(FILE *f, int tag, const void *p, size_t n)
{
    unsigned char t = (unsigned char)tag;
    return fwrite(&t, 1, 1, f) == 1 && fwrite(p, n, 1, f) == 1 ? 0 : LLMSIM_EIO;
}

static int spool_req(void *ctx, const struct sim_request_record *r)
{
    return spool_write(ctx, TAG_REQ, r, sizeof *r);
}

static int spool_ts(void *ctx, const struct sim_ts_record *r)
{
    return spool_write(ctx, TAG_TS, r, sizeof *r);
}

static int spool_iter(void *ctx, const struct sim_iter_record *r)
{
    return spool_write(ctx, TAG_ITER, r, sizeof *r);
}

/* The running replication's share of its horizon done at virtual time t. */
static double horizon_done(const struct sim_scenario *sc, double t, uint64_t generated)
{
    double f = 0;
    if (sc->duration_s > 0 && isfinite(sc->duration_s))
        f = t / sc->duration_s;
    if (sc->max_requests > 0 && (double)generated / (double)sc->max_requests > f)
        f = (double)generated / (double)sc->max_requests;
    if (sc->workload.process == SIM_ARRIVAL_TRACE && sc->workload.trace.n > 0 &&
        (double)generated / (double)sc->workload.trace.n > f)
        f = (double)generated / (double)sc->workload.trace.n;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

static void run_one(struct rep_job *job)
{
    struct sim_sink spool = {job->spool, spool_req, spool_ts, spool_iter, NULL};
    const struct sim_sink *sink = job->direct ? job->direct : &spool;
    struct sim_world *w = NULL;
    llmsim_error_clear(&job->err);
    job->rc = sim_world_alloc(&w, job->sc, job->rep, sink, &job->err);
    if (job->rc != 0)
        return;
    /* Run event by event, looking at the stop flag every STOP_EVERY events. */
    int st;
    uint64_t k = 0;
    while ((st = sim_step(w)) == 1) {
        if (++k % STOP_EVERY != 0)
            continue;
        if (job->stop && *job->stop)
            break; /* st == 1: interrupted */
        if (job->progress && k % PROGRESS_EVERY == 0)
            job->progress(job->progress_ctx, job->done_before + job->share * horizon_done(job->sc, sim_world_now(w),
                                                                                        job->generated[job->rep]));
    }
    job->rc = st;
    sim_world_stats(w, &job->ws);
    /* The world's arrays die with it: keep copies (one allocation). */
    size_t ncg = (job->ws.n_classes ? job->ws.n_classes : 1) * job->ws.n_deployments;
    job->deps = malloc(job->ws.n_deployments * sizeof *job->deps + ncg * sizeof(double));
    if (job->deps == NULL) {
        job->rc = LLMSIM_ENOMEM;
        job->ws.class_gpu_usd = NULL;
    } else {
        memcpy(job->deps, job->ws.deployments, job->ws.n_deployments * sizeof *job->deps);
        double *cg = (double *)(void *)(job->deps + job->ws.n_deployments);
        memcpy(cg, job->ws.class_gpu_usd, ncg * sizeof *cg);
        job->ws.class_gpu_usd = cg;
    }
    job->ws.deployments = job->deps;
    sim_world_free(w);
}

static void *run_thread(void *arg)
{
    run_one(arg);
    return NULL;
}

static int replay(struct rep_job *job, const struct sim_sink *sink)
{
    if (job->spool == NULL || job->rc < 0)
        return 0;
    rewind(job->spool);
    union {
        struct sim_request_record req;
        struct sim_ts_record ts;
        struct sim_iter_record it;
    } u;
    int tag, rc = 0;
    while (rc == 0 && (tag = fgetc(job->spool)) != EOF) {
        size_t n = tag == TAG_REQ ? sizeof u.req : tag == TAG_TS ? sizeof u.ts : sizeof u.it;
        if (fread(&u, n, 1, job->spool) != 1)
            return LLMSIM_EIO;
        if (tag == TAG_REQ && sink->request)
            rc = sink->request(sink->ctx, &u.req);
        else if (tag == TAG_TS && sink->timeseries)
            rc = sink->timeseries(sink->ctx, &u.ts);
        else if (tag == TAG_ITER && sink->iteration)
            rc = sink->iteration(sink->ctx, &u.it);
    }
    return rc;
}

/* A replication's failure into err, or its run-level figures into the
 * statistics.  Returns 0, 1 (interrupted) or a negative code. */
static int finish_job(struct rep_job *job, struct ana_stats *stats, struct ana_run_counts *c,
                      struct llmsim_error *err)
{
    if (job->rc < 0) {
        if (job->err.msg[0])
            *err = job->err;
        else
            llmsim_error_set(err, job->rc, NULL, 0, 0, "run failed in replication %u: %s", job->rep,
                             llmsim_strerror(job->rc));
        return job->rc;
    }
    if (job->ws.ts_capped)
        c->ts_capped++;
    if (job->rc == 1)
        return 1;
    int rc = ana_stats_add_run(stats, job->rep, &job->ws);
    if (rc != 0)
        return llmsim_error_set(err, rc, NULL, 0, 0, "cannot add replication %u's figures: %s", job->rep,
                                llmsim_strerror(rc));
    c->replications_done++;
    return 0;
}

int ana_run_scenario(const struct sim_scenario *sc, const struct ana_run_opts *o, struct ana_stats *stats,
                     struct ana_run_counts *counts, struct llmsim_error *err)
{
    if (!sc || !o || !stats || !counts || o->jobs < 1)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "ana_run_scenario: bad arguments");
    memset(counts, 0, sizeof *counts);
    uint64_t *generated = calloc((size_t)sc->replications, sizeof *generated);
    if (!generated)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    struct counter cnt = {.stats = stats, .c = counts, .generated = generated, .n_reps = sc->replications};
    if (o->sink)
        cnt.extra = *o->sink;
    struct sim_sink sink = {&cnt, count_request, count_ts, cnt.extra.iteration ? count_iter : count_iter_stats,
                            NULL};
    int jobs = o->jobs > MAX_WAVE ? MAX_WAVE : o->jobs;
    int rc = 0;
    double share = 1.0 / sc->replications;
    for (int r0 = 0; r0 < sc->replications && rc == 0; r0 += jobs) {
        int n = sc->replications - r0 < jobs ? sc->replications - r0 : jobs;
        if (n == 1) {
            struct rep_job job = {.sc = sc, .rep = (uint32_t)r0, .direct = &sink, .stop = o->stop,
                                  .progress = o->progress, .progress_ctx = o->progress_ctx,
                                  .done_before = r0 * share, .share = share, .generated = generated};
            run_one(&job);
            rc = finish_job(&job, stats, counts, err);
            free(job.deps);
        } else {
            struct rep_job wave[MAX_WAVE];
            pthread_t th[MAX_WAVE];
            int started = 0;
            for (int k = 0; k < n; k++) {
                wave[k] = (struct rep_job){.sc = sc, .rep = (uint32_t)(r0 + k), .stop = o->stop};
                wave[k].spool = tmpfile();
                if (wave[k].spool == NULL && rc == 0)
                    rc = llmsim_error_set(err, LLMSIM_EIO, NULL, 0, 0, "cannot create a temporary file: %s",
                                          strerror(errno));
            }
            for (int k = 0; k < n && rc == 0; k++) {
                if (pthread_create(&th[k], NULL, run_thread, &wave[k]) != 0) {
                    rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "cannot start a thread");
                    break;
                }
                started++;
            }
            for (int k = 0; k < started; k++)
                pthread_join(th[k], NULL);
            for (int k = 0; k < n && rc == 0; k++) {
                int e = replay(&wave[k], &sink);
                if (e != 0) {
                    rc = llmsim_error_set(err, e, NULL, 0, 0, "cannot read back replication %d's records: %s",
                                          r0 + k, llmsim_strerror(e));
                    break;
                }
                rc = finish_job(&wave[k], stats, counts, err);
            }
            for (int k = 0; k < n; k++) {
                if (wave[k].spool)
                    fclose(wave[k].spool);
                free(wave[k].deps);
            }
        }
        if (o->progress && rc == 0)
            o->progress(o->progress_ctx, (double)(r0 + n) / sc->replications);
    }
    for (int r = 0; r < sc->replications; r++)
        if (r < counts->replications_done)
            counts->stops[ana_stop_of(sc, generated[r])]++;
    free(generated);
    return rc;
}
