/* Shared machinery of sweep, plan and levers (see study.h). */
#include "study.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

volatile sig_atomic_t study_stop;

static void on_signal(int sig)
{
    (void)sig;
    study_stop = 1;
}

void study_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void study_args_init(struct study_args *a, const char *cmd)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->jobs = 1;
    a->progress = -1;
    a->shard_n = 1;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_shard(struct study_args *a, const char *v, const char *from)
{
    long i, n;
    const char *slash = strchr(v, '/');
    char ib[32];
    if (!slash || (size_t)(slash - v) >= sizeof ib) {
        cli_errorf("%s: %s: '%s' is not i/N (e.g. 0/4: the first of four shards, i from 0 to N-1)", a->cmd, from, v);
        return -1;
    }
    memcpy(ib, v, (size_t)(slash - v));
    ib[slash - v] = '\0';
    if (parse_int(slash + 1, 1, 100000, &n) != 0 || parse_int(ib, 0, n - 1, &i) != 0) {
        cli_errorf("%s: %s: '%s' is not i/N with N from 1 to 100000 and i from 0 to N-1", a->cmd, from, v);
        return -1;
    }
    a->shard_i = (int)i;
    a->shard_n = (int)n;
    a->shard_given = 1;
    return 0;
}

int study_arg(struct study_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    int need = !strcmp(o, "-o") || !strcmp(o, "--output") || !strcmp(o, "--seed") || !strcmp(o, "--set") ||
               !strcmp(o, "--replications") || !strcmp(o, "--jobs") || !strcmp(o, "--shard");
    const char *val = NULL;
    if (need) {
        if (*i + 1 >= argc) {
            cli_errorf("%s: %s needs a value", a->cmd, o);
            return -1;
        }
        val = argv[++*i];
    }
    if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
        a->out = val;
    } else if (!strcmp(o, "--seed") || !strcmp(o, "--replications")) {
        if (a->n_sets >= STUDY_MAX_SETS) {
            cli_errorf("%s: too many overrides", a->cmd);
            return -1;
        }
        int is_seed = !strcmp(o, "--seed");
        char *buf = is_seed ? a->seed_buf : a->reps_buf;
        snprintf(buf, sizeof a->seed_buf, "%s", val);
        a->sets[a->n_sets].key = is_seed ? "seed" : "replications";
        a->sets[a->n_sets++].value = buf;
    } else if (!strcmp(o, "--set")) {
        struct llmsim_error err;
        llmsim_error_clear(&err);
        if (a->n_sets >= STUDY_MAX_SETS) {
            cli_errorf("%s: too many overrides", a->cmd);
            return -1;
        }
        if (scn_parse_override(argv[*i], &a->sets[a->n_sets], &err) != 0) {
            cli_errorf("%s: %s", a->cmd, err.msg);
            return -1;
        }
        a->n_sets++;
    } else if (!strcmp(o, "--jobs")) {
        long j;
        if (parse_int(val, 1, 64, &j) != 0) {
            cli_errorf("%s: --jobs needs a whole number from 1 to 64, got '%s'", a->cmd, val);
            return -1;
        }
        a->jobs = (int)j;
    } else if (!strcmp(o, "--shard")) {
        return parse_shard(a, val, "--shard") == 0 ? 1 : -1;
    } else if (!strcmp(o, "--progress")) {
        a->progress = 1;
    } else if (!strcmp(o, "--no-progress")) {
        a->progress = 0;
    } else if (!strcmp(o, "--quiet") || !strcmp(o, "-q")) {
        a->quiet = 1;
    } else if (!strcmp(o, "--force")) {
        scn_set_force(1); /* past the resource budget (process-wide) */
    } else if (!strcmp(o, "--json")) {
        a->json = 1;
    } else if (o[0] == '-' && o[1] != '\0') {
        return 0;
    } else if (a->scenario == NULL) {
        a->scenario = o;
    } else {
        cli_errorf("%s: more than one scenario given ('%s' and '%s'); run them one by one (a --set "
                   "value with spaces needs quotes)",
                   a->cmd, a->scenario, o);
        return -1;
    }
    return 1;
}

int study_shard_env(struct study_args *a)
{
    if (a->shard_given)
        return 0;
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *from = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT";
    long base = 0;
    if (id && cnt) {
        const char *mn = getenv("SLURM_ARRAY_TASK_MIN");
        if (mn && parse_int(mn, 0, 100000000, &base) != 0)
            base = 0;
    } else {
        id = getenv("OMPI_COMM_WORLD_RANK");
        cnt = getenv("OMPI_COMM_WORLD_SIZE");
        from = "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE";
        if (!id || !cnt) {
            id = getenv("PMI_RANK");
            cnt = getenv("PMI_SIZE");
            from = "PMI_RANK/PMI_SIZE";
        }
    }
    if (!id || !cnt)
        return 0;
    long i;
    if (parse_int(id, 0, 100000000, &i) != 0) {
        cli_errorf("%s: %s: '%s' is not a whole number", a->cmd, from, id);
        return -1;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%ld/%s", i - base, cnt);
    return parse_shard(a, buf, from);
}

int study_point_set(struct study_point *p, const char *key, const char *value)
{
    if (p->n_sets >= sizeof p->sets / sizeof p->sets[0])
        return -1;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    p->owned[p->n_owned++] = k;
    p->owned[p->n_owned++] = v;
    p->sets[p->n_sets].key = k;
    p->sets[p->n_sets++].value = v;
    size_t len = strlen(p->label);
    snprintf(p->label + len, sizeof p->label - len, "%s%s=%s", len ? ", " : "", key, value);
    return 0;
}

void study_point_free(struct study_point *p)
{
    for (size_t i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    p->n_owned = p->n_sets = 0;
    free(p->rows);
    p->rows = NULL;
    free(p->resolved);
    p->resolved = NULL;
    if (p->spool)
        fclose(p->spool);
    p->spool = NULL;
    if (p->names)
        for (size_t i = 0; i < p->n_classes + p->n_deployments; i++)
            free(p->names[i]);
    free(p->names);
    p->names = NULL;
}

int study_load(const struct study_args *a, const struct scn_override *extra, size_t n_extra, const char *origin,
               struct sim_scenario *out, struct llmsim_error *err)
{
    struct scn_override all[STUDY_MAX_SETS + 64];
    size_t n = 0;
    for (size_t i = 0; i < a->n_sets; i++)
        all[n++] = a->sets[i];
    for (size_t i = 0; i < n_extra && n < sizeof all / sizeof all[0]; i++)
        all[n++] = extra[i];
    int rc = a->scenario ? scn_load_file(out, a->scenario, all, n, err)
                         : scn_load_string(out, scn_default_scenario_yaml, strlen(scn_default_scenario_yaml),
                                           SCN_DEFAULT_NAME, all, n, err);
    if (rc != 0 && origin && !strncmp(err->file, "--set ", 6)) {
        /* Name the option that gave the bad override. */
        for (size_t i = 0; i < n_extra; i++)
            if (!strcmp(err->file + 6, extra[i].key)) {
                char f[sizeof err->file];
                snprintf(f, sizeof f, "%s %s", origin, extra[i].key); /* like --set KEY */
                snprintf(err->file, sizeof err->file, "%s", f);
                break;
            }
    }
    return rc;
}

char *study_given_text(const struct study_args *a)
{
    if (!a->scenario)
        return strdup(scn_default_scenario_yaml);
    FILE *f = fopen(a->scenario, "rb");
    if (!f)
        return strdup("");
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && (size_t)len <= SCN_MAX_FILE_BYTES && fseek(f, 0, SEEK_SET) == 0) {
            buf = calloc((size_t)len + 1, 1);
            if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf ? buf : strdup("");
}

/* ---- running points ------------------------------------------------------ */

static int spool_req(void *ctx, const struct sim_request_record *r)
{
    return fwrite(r, sizeof *r, 1, ctx) == 1 ? 0 : LLMSIM_EIO;
}

/* Runs one point; fills its results. */
static void run_point(const struct study_args *a, struct study_point *p, int jobs, int want_requests,
                      struct cli_progress *prog)
{
    struct sim_scenario sc;
    llmsim_error_clear(&p->err);
    struct scn_override sets[44];
    size_t n = 0;
    for (size_t i = 0; i < p->n_sets; i++)
        sets[n++] = p->sets[i];
    char reps[32];
    if (p->replications > 0) {
        snprintf(reps, sizeof reps, "%d", p->replications);
        sets[n].key = "replications";
        sets[n++].value = reps;
    }
    p->rc = study_load(a, sets, n, p->origin, &sc, &p->err);
    if (p->rc != 0) {
        p->rc = -abs(p->rc);
        return;
    }
    struct ana_stats *stats = NULL;
    p->slo = sc.slo;
    p->resolved = scn_resolved_yaml(&sc);
    if (!p->resolved || ana_stats_alloc(&stats, &sc) != 0) {
        p->rc = llmsim_error_set(&p->err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    struct sim_sink spool = {0};
    if (want_requests && sc.output.requests) {
        p->n_classes = sc.workload.n_classes;
        p->n_deployments = sc.n_deployments;
        p->names = calloc(p->n_classes + p->n_deployments, sizeof *p->names);
        p->spool = tmpfile();
        if (!p->names || !p->spool) {
            p->rc = llmsim_error_set(&p->err, LLMSIM_EIO, NULL, 0, 0, "cannot create a temporary file: %s",
                                     strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < p->n_classes; i++)
            p->names[i] = strdup(sc.workload.classes[i].name);
        for (size_t i = 0; i < p->n_deployments; i++)
            p->names[p->n_classes + i] = strdup(sc.deployments[i].name);
        spool = (struct sim_sink){p->spool, spool_req, NULL, NULL, NULL};
    }
    struct ana_run_opts ro = {.jobs = jobs, .sink = p->spool ? &spool : NULL, .stop = &study_stop,
                              .progress = prog ? cli_progress_update : NULL, .progress_ctx = prog};
    p->rc = ana_run_scenario(&sc, &ro, stats, &p->counts, &p->err);
    if (p->rc == 0 && ana_stats_summary(stats, &p->rows, &p->n_rows) != 0)
        p->rc = llmsim_error_set(&p->err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
out:
    ana_stats_free(stats);
    sim_scenario_free(&sc);
}

struct pool {
    const struct study_args *a;
    struct study_point *pts;
    size_t n, next;
    int want_requests;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *worker(void *arg)
{
    struct pool *pl = arg;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        size_t i = pl->next < pl->n && !study_stop ? pl->next++ : pl->n;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n)
            break;
        run_point(pl->a, &pl->pts[i], 1, pl->want_requests, NULL);
        pthread_mutex_lock(&pl->mu);
        pl->pts[i].done = 1;
        pthread_cond_broadcast(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
    }
    pthread_mutex_lock(&pl->mu);
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

void study_group_name(char *buf, size_t size, size_t i, size_t n_total)
{
    int w = 4;
    for (size_t t = n_total > 0 ? n_total - 1 : 0; t >= 10000; t /= 10)
        w++;
    snprintf(buf, size, "points/p%0*zu", w, i);
}

static void print_point_error(const struct study_args *a, const struct study_point *p)
{
    const struct llmsim_error *e = &p->err;
    if (e->file[0] && e->line > 0)
        fprintf(stderr, "%s:%d:%d: %s\n", e->file, e->line, e->col, e->msg);
    else if (e->file[0])
        fprintf(stderr, "%s: %s\n", e->file, e->msg);
    else
        cli_errorf("%s: point %zu (%s): %s", a->cmd, p->index, p->label[0] ? p->label : "baseline",
                   e->msg[0] ? e->msg : llmsim_strerror(p->rc));
}

int study_failure_exit(const struct study_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pts[i].rc == LLMSIM_ESCENARIO || pts[i].rc == LLMSIM_EINVAL)
            return LLMSIM_EXIT_USAGE;
    return LLMSIM_EXIT_RUNTIME;
}

int study_eval_point(const struct study_args *a, struct study_point *p, int jobs, struct cli_progress *prog)
{
    run_point(a, p, jobs, 0, prog);
    p->done = 1;
    return p->rc;
}

void study_print_point_error(const struct study_args *a, const struct study_point *p)
{
    print_point_error(a, p);
}

/* Writes one finished point's group. */
int study_write_point(struct ana_h5 *h5, const struct study_point *p, size_t n_total, struct llmsim_error *err)
{
    char name[64];
    study_group_name(name, sizeof name, p->index, n_total);
    struct ana_h5_meta meta = {.scenario_resolved = p->resolved,
                               .write_requests = p->spool != NULL,
                               .class_names = (const char *const *)p->names,
                               .n_classes = p->n_classes,
                               .deployment_names = p->names ? (const char *const *)p->names + p->n_classes : NULL,
                               .n_deployments = p->n_deployments};
    int64_t idx = (int64_t)p->index;
    int rc = ana_h5_group_begin(h5, name, &meta, err);
    if (rc == 0)
        rc = ana_h5_set_attr(h5, "point", NULL, &idx, err);
    if (rc == 0)
        rc = ana_h5_set_attr(h5, "overrides", p->label, NULL, err);
    if (rc == 0)
        rc = ana_h5_write_summary(h5, p->rows, p->n_rows, err);
    if (rc == 0 && p->spool) {
        struct sim_sink s = ana_h5_sink(h5);
        struct sim_request_record r;
        rewind(p->spool);
        while (rc == 0 && fread(&r, sizeof r, 1, p->spool) == 1)
            rc = s.request ? s.request(s.ctx, &r) : 0;
    }
    if (rc == 0)
        rc = ana_h5_group_end(h5, err);
    return rc;
}

int study_run_points(const struct study_args *a, struct study_point *pts, size_t n, size_t n_total,
                     struct ana_h5 *h5, struct cli_progress *prog)
{
    struct pool pl = {.a = a, .pts = pts, .n = n, .want_requests = h5 != NULL};
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    int threads = a->jobs < (int)n ? a->jobs : (int)n;
    pthread_t th[64];
    int started = 0;
    if (threads > 1) {
        for (int k = 0; k < threads; k++) {
            if (pthread_create(&th[k], NULL, worker, &pl) != 0)
                break;
            started++;
        }
        if (started == 0) {
            cli_errorf("%s: cannot start a thread", a->cmd);
            return -1;
        }
    }
    int result = 0;
    for (size_t i = 0; i < n; i++) {
        if (started == 0) {
            if (study_stop)
                break;
            run_point(a, &pts[i], 1, pl.want_requests, NULL);
            pts[i].done = 1;
        } else {
            pthread_mutex_lock(&pl.mu);
            while (!pts[i].done && !(study_stop && pl.next <= i))
                pthread_cond_wait(&pl.cv, &pl.mu);
            int done = pts[i].done;
            pthread_mutex_unlock(&pl.mu);
            if (!done)
                break;
        }
        if (pts[i].rc < 0) {
            print_point_error(a, &pts[i]);
            result = -1;
            study_stop = 1; /* start nothing more */
            break;
        }
        if (pts[i].rc == 1) {
            result = 1;
            break;
        }
        if (h5) {
            struct llmsim_error err;
            llmsim_error_clear(&err);
            if (study_write_point(h5, &pts[i], n_total, &err) != 0) {
                fprintf(stderr, "%s: %s\n", err.file[0] ? err.file : "llmsim", err.msg);
                result = -1;
                study_stop = 1;
                break;
            }
            pts[i].written = 1;
            if (pts[i].spool) {
                fclose(pts[i].spool);
                pts[i].spool = NULL;
            }
        }
        if (prog)
            cli_progress_update(prog, (double)(i + 1) / (double)n);
    }
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
    if (result == 0 && study_stop)
        result = 1;
    /* Points left unfinished are not results. */
    for (size_t i = 0; i < n; i++)
        if (pts[i].done && pts[i].rc != 0 && result != -1)
            result = result == 0 ? 1 : result;
    return result;
}

/* ---- /sweep ---------------------------------------------------------------- */

struct headline {
    const char *metric, *stat;
};
static const struct headline headlines[] = {
    {"ttft_s", "p50"}, {"ttft_s", "p95"}, {"ttft_s", "p99"}, {"ttft_s", "mean"},
    {"e2e_s", "p50"}, {"e2e_s", "p95"}, {"e2e_s", "p99"}, {"e2e_s", "mean"},
    {"itl_s", "p50"}, {"itl_s", "p95"}, {"itl_s", "p99"},
    {"queue_s", "mean"}, {"queue_s", "p95"},
    {"throughput_rps", "mean"}, {"offered_rps", "mean"}, {"achieved_rps", "mean"},
    {"input_tokens_per_s", "mean"}, {"output_tokens_per_s", "mean"},
    {"cost_per_1k_usd", "mean"}, {"cost_per_1m_output_tokens_usd", "mean"},
    {"cost_per_hour_usd", "mean"}, {"cost_per_month_usd", "mean"},
    {"success", "mean"}, {"slo_met", "mean"}, {"rejected", "mean"},
    {"utilization", "mean"}, {"mfu", "mean"}, {"preemptions", "mean"},
    {"cache_hit_tokens", "mean"}, {"savings_pct", "mean"},
};
#define N_HEAD (sizeof headlines / sizeof headlines[0])

static const char *units_of(const char *metric)
{
    size_t n = strlen(metric);
    if (n > 2 && !strcmp(metric + n - 2, "_s"))
        return "s";
    if (strstr(metric, "usd"))
        return "USD";
    if (strstr(metric, "_rps") || strstr(metric, "per_s"))
        return "1/s";
    return "1";
}

double study_latency(const struct study_point *p, const char **name)
{
    const char *metric = "e2e_s", *stat = "p95";
    const struct sim_slo_cfg *s = &p->slo;
    if (s->ttft_s > 0 || s->itl_s > 0 || s->e2e_s > 0) {
        metric = s->ttft_s > 0 ? "ttft_s" : s->e2e_s > 0 ? "e2e_s" : "itl_s";
        stat = s->percentile <= 50 ? "p50" : s->percentile <= 90 ? "p90" : s->percentile <= 95 ? "p95" : "p99";
    }
    if (name) {
        static _Thread_local char buf[32];
        snprintf(buf, sizeof buf, "%s_%s", metric, stat);
        *name = buf;
    }
    return ana_row_stat(p->rows, p->n_rows, "all", metric, stat);
}

void study_pareto(const struct study_point *const *pts, size_t n, int *on)
{
    double *c = calloc(n ? n : 1, sizeof *c), *l = calloc(n ? n : 1, sizeof *l), *q = calloc(n ? n : 1, sizeof *q);
    int *el = calloc(n ? n : 1, sizeof *el);
    if (!c || !l || !q || !el) {
        for (size_t i = 0; i < n; i++)
            on[i] = 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            struct ana_slo_check chk;
            ana_slo_check(NULL, pts[i]->rows, pts[i]->n_rows, &chk);
            c[i] = ana_row_stat(pts[i]->rows, pts[i]->n_rows, "all", "cost_per_1k_usd", "mean");
            l[i] = study_latency(pts[i], NULL);
            q[i] = ana_row_stat(pts[i]->rows, pts[i]->n_rows, "all", "success", "mean");
            el[i] = chk.stable;
        }
        ana_pareto(c, l, q, el, n, on);
    }
    free(c);
    free(l);
    free(q);
    free(el);
}

int study_is_number(const char *s)
{
    char *end;
    if (!s || !*s)
        return 0;
    errno = 0;
    double v = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(v);
}

int study_write_sweep(struct ana_h5 *h5, const struct study_point *const *pts, size_t n,
                      const struct study_key_col *keys, size_t n_keys, int *pareto_out, struct llmsim_error *err)
{
    size_t ncols = 1 + n_keys + 2 * N_HEAD + 3;
    struct ana_col *cols = calloc(ncols, sizeof *cols);
    int *on = calloc(n ? n : 1, sizeof *on);
    char (*descs)[160] = calloc(ncols, sizeof *descs);
    int rc = 0;
    if (!cols || !on || !descs) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t j = 0; j < ncols; j++) {
        if (!(cols[j].f64 = calloc(n ? n : 1, sizeof(double))) || !(cols[j].i64 = calloc(n ? n : 1, sizeof(int64_t))) ||
            !(cols[j].str = calloc(n ? n : 1, sizeof(char *)))) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            goto out;
        }
    }
    study_pareto(pts, n, on);
    snprintf(cols[k].name, sizeof cols[k].name, "point");
    cols[k].type = ANA_COL_I64;
    cols[k].desc = "point index (its group is /points/pNNNN)";
    for (size_t i = 0; i < n; i++)
        cols[k].i64[i] = (int64_t)pts[i]->index;
    k++;
    for (size_t j = 0; j < n_keys; j++, k++) {
        snprintf(cols[k].name, sizeof cols[k].name, "%s", keys[j].name);
        cols[k].type = keys[j].numeric ? ANA_COL_F64 : ANA_COL_STR;
        cols[k].desc = "the value this point gives the key";
        for (size_t i = 0; i < n; i++) {
            if (keys[j].numeric)
                cols[k].f64[i] = strtod(keys[j].vals[i], NULL);
            else
                cols[k].str[i] = (char *)keys[j].vals[i];
        }
    }
    for (size_t h = 0; h < N_HEAD; h++) {
        for (int ci = 0; ci < 2; ci++, k++) {
            snprintf(cols[k].name, sizeof cols[k].name, "%s_%s%s", headlines[h].metric, headlines[h].stat,
                     ci ? "_ci95" : "");
            cols[k].type = ANA_COL_F64;
            cols[k].units = units_of(headlines[h].metric);
            snprintf(descs[k], sizeof descs[k], "%s%s of %s, scope all (/summary)", ci ? "95% CI half-width of the " : "",
                     headlines[h].stat, headlines[h].metric);
            cols[k].desc = descs[k];
            char st[24];
            snprintf(st, sizeof st, "%s%s", headlines[h].stat, ci ? "_ci95" : "");
            for (size_t i = 0; i < n; i++)
                cols[k].f64[i] = ana_row_stat(pts[i]->rows, pts[i]->n_rows, "all", headlines[h].metric, st);
        }
    }
    snprintf(cols[k].name, sizeof cols[k].name, "stable");
    cols[k].type = ANA_COL_I64;
    cols[k].desc = "1 when every deployment kept up with its arrivals, else 0 (overloaded)";
    size_t kst = k++;
    snprintf(cols[k].name, sizeof cols[k].name, "slo_met");
    cols[k].type = ANA_COL_I64;
    cols[k].desc = "SLO verdict: 1 met, 0 missed, 2 uncertain (the interval straddles a target), -1 no SLO";
    size_t kslo = k++;
    snprintf(cols[k].name, sizeof cols[k].name, "pareto");
    cols[k].type = ANA_COL_I64;
    cols[k].desc = "1 on the Pareto frontier of (cost per request, latency percentile, quality) among stable points";
    size_t kpar = k++;
    for (size_t i = 0; i < n; i++) {
        struct ana_slo_check chk;
        ana_slo_check(&pts[i]->slo, pts[i]->rows, pts[i]->n_rows, &chk);
        cols[kst].i64[i] = chk.stable;
        cols[kslo].i64[i] = chk.verdict;
        cols[kpar].i64[i] = on[i];
        if (pareto_out)
            pareto_out[i] = on[i];
    }
    rc = ana_h5_write_table(h5, "sweep", cols, ncols, n, err);
out:
    if (cols)
        for (size_t j = 0; j < ncols; j++) {
            free(cols[j].f64);
            free(cols[j].i64);
            free(cols[j].str);
        }
    free(cols);
    free(on);
    free(descs);
    return rc;
}

static int make_parents(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
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

int study_open_file(const struct study_args *a, const struct sim_scenario *base, const char *kind, size_t n_total,
                    struct ana_h5 **h5, char *path, size_t path_size)
{
    if (a->out) {
        snprintf(path, path_size, "%s", a->out);
    } else {
        const char *p = base->output.path ? base->output.path : "results/out.h5";
        const char *dot = strrchr(p, '.'), *slash = strrchr(p, '/');
        if (!dot || (slash && dot < slash))
            dot = p + strlen(p);
        if (a->shard_n > 1)
            snprintf(path, path_size, "%.*s-%s-shard%d-of-%d%s", (int)(dot - p), p, kind, a->shard_i, a->shard_n, dot);
        else
            snprintf(path, path_size, "%.*s-%s%s", (int)(dot - p), p, kind, dot);
    }
    {
        const char *in[64];
        size_t n_in = cli_scenario_inputs(base, a->scenario, in, sizeof in / sizeof in[0]);
        int bad = cli_check_output(a->cmd, a->out ? "-o" : "output.path", path, CLI_OUT_HDF5, in, n_in);
        if (bad)
            return bad;
    }
    if (make_parents(path) != 0) {
        cli_errorf("%s: cannot create the folder of '%s': %s", a->cmd, path, strerror(errno));
        return LLMSIM_EXIT_RUNTIME;
    }
    char *given = study_given_text(a);
    char *resolved = scn_resolved_yaml(base);
    struct ana_h5_meta meta = {.scenario_name = base->name,
                               .seed = base->seed,
                               .replications = base->replications,
                               .scenario_text = given,
                               .scenario_resolved = resolved,
                               .kind = kind,
                               .no_tables = 1};
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = ana_h5_open(h5, path, &meta, &err);
    free(given);
    free(resolved);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", err.file[0] ? err.file : path, err.msg);
        return LLMSIM_EXIT_RUNTIME;
    }
    int64_t tot = (int64_t)n_total, si = a->shard_i, sn = a->shard_n;
    struct study_point lat = {.slo = base->slo};
    const char *latname;
    study_latency(&lat, &latname);
    if (ana_h5_set_attr(*h5, "points_total", NULL, &tot, &err) != 0 ||
        ana_h5_set_attr(*h5, "pareto_latency", latname, NULL, &err) != 0 ||
        (a->shard_n > 1 && (ana_h5_set_attr(*h5, "shard_index", NULL, &si, &err) != 0 ||
                            ana_h5_set_attr(*h5, "shard_count", NULL, &sn, &err) != 0))) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        ana_h5_abort(*h5);
        *h5 = NULL;
        return LLMSIM_EXIT_RUNTIME;
    }
    return 0;
}
