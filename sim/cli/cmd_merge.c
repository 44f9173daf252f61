/* llmsim merge: the shard files of one sweep, plan or levers run (--shard
 * i/N) into one file that reads like the file of the unsharded run: the same
 * root attributes (without shard_index and shard_count, with merged_from),
 * /scenario, every /points group in point order, and the root tables (/sweep)
 * with their rows in point order and the Pareto frontier computed over all
 * points. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "study.h"

static void usage(FILE *f)
{
    fputs("usage: llmsim merge SHARD.h5... -o OUT.h5 [--quiet]\n"
          "\n"
          "Merges the files of `llmsim sweep`, `plan` or `levers` run with --shard i/N (or as a\n"
          "Slurm array task or an MPI rank) into one file that reads like the file of the run\n"
          "without shards: the points of every shard in point order, /sweep sorted by point with\n"
          "its pareto column computed over all points.  The shards must all be complete and come\n"
          "from the same run (same kind, resolved scenario, points, varied keys and shard count),\n"
          "one file for each shard 0 to N-1.\n"
          "\n"
          "  -o, --output OUT.h5   the merged file (written to a temporary name, then renamed)\n"
          "  -q, --quiet           print nothing on success\n",
          f);
}

/* What one shard file says about itself. */
struct shard {
    const char *path;
    struct ana_h5_info info;
    char kind[32], zip[16], latency[64];
    char *keys;       /* varied_keys, NULL when absent */
    int has_zip, has_latency, has_total;
    int64_t index, count, total, reps;
    char *given, *resolved;
    char **roots; /* root link names */
    size_t n_roots;
    char **points; /* names under /points */
    size_t n_points;
};

/* One point group of the merged file. */
struct mpoint {
    int64_t idx;
    const char *name; /* "p0003" (owned by its shard) */
    const struct shard *from;
};

static int exit_of(int code)
{
    return code == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
}

static void report(const struct llmsim_error *e, const char *path)
{
    cli_errorf("merge: %s: %s", e->file[0] ? e->file : path, e->msg);
}

/* A string root attribute: 1 when present, 0 when absent, or a negative code. */
static int str_attr(const char *path, const char *name, char *buf, size_t n, struct llmsim_error *err)
{
    llmsim_error_clear(err);
    int rc = ana_h5_read_attr(path, name, buf, n, NULL, err);
    if (rc == LLMSIM_EINVAL) {
        buf[0] = '\0';
        llmsim_error_clear(err);
        return 0;
    }
    return rc == 0 ? 1 : rc;
}

static int num_attr(const char *path, const char *name, int64_t *v, struct llmsim_error *err)
{
    llmsim_error_clear(err);
    int rc = ana_h5_read_attr(path, name, NULL, 0, v, err);
    if (rc == LLMSIM_EINVAL) {
        llmsim_error_clear(err);
        return 0;
    }
    return rc == 0 ? 1 : rc;
}

static void shard_free(struct shard *s)
{
    ana_h5_info_free(&s->info);
    free(s->keys);
    free(s->given);
    free(s->resolved);
    ana_h5_names_free(s->roots, s->n_roots);
    ana_h5_names_free(s->points, s->n_points);
}

/* Reads what merge checks of one file.  Returns 0 or an exit code (message
 * printed). */
static int shard_read(struct shard *s)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = ana_h5_read(s->path, &s->info, &err);
    if (rc != 0) {
        report(&err, s->path);
        return exit_of(rc);
    }
    int r = str_attr(s->path, "kind", s->kind, sizeof s->kind, &err);
    if (r < 0) {
        report(&err, s->path);
        return exit_of(r);
    }
    if (r == 0 || (strcmp(s->kind, "sweep") && strcmp(s->kind, "plan") && strcmp(s->kind, "levers"))) {
        cli_errorf("merge: %s: a %s file, not the output of `llmsim sweep`, `plan` or `levers`", s->path,
                   r == 0 ? "run" : s->kind);
        return LLMSIM_EXIT_USAGE;
    }
    if (!s->info.complete) {
        cli_errorf("merge: %s is not complete (complete = 0: its %s was interrupted or failed); run that shard "
                   "again",
                   s->path, s->kind);
        return LLMSIM_EXIT_USAGE;
    }
    char big[8192];
    if ((r = str_attr(s->path, "varied_keys", big, sizeof big, &err)) < 0 ||
        (r > 0 && !(s->keys = strdup(big))) ||
        (r = s->has_zip = str_attr(s->path, "zip", s->zip, sizeof s->zip, &err)) < 0 ||
        (r = s->has_latency = str_attr(s->path, "pareto_latency", s->latency, sizeof s->latency, &err)) < 0 ||
        (r = s->has_total = num_attr(s->path, "points_total", &s->total, &err)) < 0 ||
        (r = num_attr(s->path, "replications", &s->reps, &err)) < 0) {
        if (r >= 0) {
            cli_errorf("out of memory");
            return LLMSIM_EXIT_RUNTIME;
        }
        report(&err, s->path);
        return exit_of(r);
    }
    int64_t v;
    s->index = 0;
    s->count = 1;
    int hi = num_attr(s->path, "shard_index", &v, &err);
    if (hi > 0)
        s->index = v;
    int hc = hi >= 0 ? num_attr(s->path, "shard_count", &v, &err) : hi;
    if (hc > 0)
        s->count = v;
    if (hi < 0 || hc < 0) {
        report(&err, s->path);
        return exit_of(hi < 0 ? hi : hc);
    }
    if (hi != hc || s->count < 1 || s->index < 0 || s->index >= s->count) {
        cli_errorf("merge: %s: shard_index %lld and shard_count %lld do not make a shard i of N", s->path,
                   (long long)s->index, (long long)s->count);
        return LLMSIM_EXIT_USAGE;
    }
    llmsim_error_clear(&err);
    if ((rc = ana_h5_read_text(s->path, "scenario/given", &s->given, &err)) != 0 ||
        (rc = ana_h5_read_text(s->path, "scenario/resolved", &s->resolved, &err)) != 0 ||
        (rc = ana_h5_list(s->path, "/", &s->roots, &s->n_roots, &err)) != 0 ||
        (rc = ana_h5_list(s->path, "points", &s->points, &s->n_points, &err)) != 0) {
        report(&err, s->path);
        return exit_of(rc);
    }
    return 0;
}

/* Whether shard b belongs with a (the first): 0, or an exit code after a
 * message naming both. */
static int shard_match(const struct shard *a, const struct shard *b)
{
    const char *what = NULL;
    char detail[256] = "";
    if (strcmp(a->kind, b->kind)) {
        what = "kind";
        snprintf(detail, sizeof detail, " ('%s' and '%s')", b->kind, a->kind);
    } else if (strcmp(a->info.llmsim_version, b->info.llmsim_version) ||
               a->info.schema_version != b->info.schema_version) {
        what = "llmsim version";
        snprintf(detail, sizeof detail, " (%s and %s)", b->info.llmsim_version, a->info.llmsim_version);
    } else if (strcmp(a->resolved, b->resolved)) {
        what = "resolved scenario (/scenario/resolved)";
    } else if (a->info.seed != b->info.seed || a->reps != b->reps) {
        what = "seed or replications";
    } else if (a->has_total != b->has_total || a->total != b->total) {
        what = "points_total";
        snprintf(detail, sizeof detail, " (%lld and %lld)", (long long)b->total, (long long)a->total);
    } else if ((a->keys == NULL) != (b->keys == NULL) || (a->keys && strcmp(a->keys, b->keys))) {
        what = "varied keys";
    } else if (a->has_zip != b->has_zip || strcmp(a->zip, b->zip)) {
        what = "--zip";
    } else if (a->has_latency != b->has_latency || strcmp(a->latency, b->latency)) {
        what = "pareto_latency";
    } else if (a->count != b->count) {
        what = "shard count";
        snprintf(detail, sizeof detail, " (shard %lld of %lld, and %lld of %lld)", (long long)b->index,
                 (long long)b->count, (long long)a->index, (long long)a->count);
    }
    if (!what)
        return 0;
    cli_errorf("merge: %s and %s differ in their %s%s: they are not shards of one run", b->path, a->path, what,
               detail);
    return LLMSIM_EXIT_USAGE;
}

static int cmp_point(const void *x, const void *y)
{
    const struct mpoint *a = x, *b = y;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* A row of a shard's table: its point, shard and row there. */
struct trow {
    int64_t idx;
    size_t s, r;
};

static int cmp_row(const void *x, const void *y)
{
    const struct trow *a = x, *b = y;
    if (a->idx != b->idx)
        return (a->idx > b->idx) - (a->idx < b->idx);
    return (a->s > b->s) - (a->s < b->s);
}

static const struct ana_col *find_col(const struct ana_col *cols, size_t n, const char *name)
{
    for (size_t j = 0; j < n; j++)
        if (!strcmp(cols[j].name, name))
            return &cols[j];
    return NULL;
}

/* The latency of the frontier at every row, from the table's column of that
 * name or else (a percentile the table does not carry, e.g. ttft_s_p90) from
 * each point's /summary. */
static int row_latency(const char *latname, const struct ana_col *cols, size_t ncols, size_t n,
                       const struct mpoint *pts, size_t n_pts, double *lat)
{
    const struct ana_col *c = find_col(cols, ncols, latname);
    if (c && c->type == ANA_COL_F64) {
        memcpy(lat, c->f64, n * sizeof *lat);
        return 0;
    }
    const char *us = strrchr(latname, '_');
    const struct ana_col *pc = find_col(cols, ncols, "point");
    if (!us || !pc) {
        cli_errorf("merge: cannot find the frontier's latency %s", latname);
        return LLMSIM_EXIT_USAGE;
    }
    char metric[64], stat[16];
    snprintf(metric, sizeof metric, "%.*s", (int)(us - latname), latname);
    snprintf(stat, sizeof stat, "%s", us + 1);
    for (size_t i = 0; i < n; i++) {
        struct mpoint key = {.idx = pc->i64[i]};
        const struct mpoint *p = bsearch(&key, pts, n_pts, sizeof *pts, cmp_point);
        if (!p) {
            cli_errorf("merge: point %lld of the table has no group /points/p...", (long long)key.idx);
            return LLMSIM_EXIT_USAGE;
        }
        char name[128];
        snprintf(name, sizeof name, "points/%s/summary", p->name);
        struct ana_col *sc = NULL;
        size_t snc = 0, snr = 0;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        int rc = ana_h5_read_table(p->from->path, name, &sc, &snc, &snr, &err);
        if (rc != 0) {
            report(&err, p->from->path);
            return exit_of(rc);
        }
        const struct ana_col *scope = find_col(sc, snc, "scope"), *met = find_col(sc, snc, "metric"),
                             *cnt = find_col(sc, snc, "count"), *st = find_col(sc, snc, stat);
        lat[i] = NAN;
        for (size_t r = 0; scope && met && cnt && st && r < snr; r++)
            if (scope->type == ANA_COL_STR && met->type == ANA_COL_STR && !strcmp(scope->str[r], "all") &&
                !strcmp(met->str[r], metric))
                lat[i] = (cnt->type == ANA_COL_I64 ? cnt->i64[r] : 1) == 0 || st->type != ANA_COL_F64
                             ? NAN
                             : st->f64[r];
        ana_cols_free(sc, snc, snr);
    }
    return 0;
}

/* The latency name of the frontier for files that do not say it: from the
 * SLO of the resolved scenario, as sweep, plan and levers choose it. */
static int latency_from_scenario(const struct shard *s, char *buf, size_t n)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_load_string(&sc, s->resolved, strlen(s->resolved), s->path, NULL, 0, &err) != 0) {
        cli_errorf("merge: %s has no pareto_latency attribute and its resolved scenario does not load (%s); "
                   "cannot recompute the Pareto frontier",
                   s->path, err.msg);
        return LLMSIM_EXIT_USAGE;
    }
    struct study_point p = {.slo = sc.slo};
    const char *name;
    study_latency(&p, &name);
    snprintf(buf, n, "%s", name);
    sim_scenario_free(&sc);
    return 0;
}

/* Concatenates root table `name` of the shards, rows in point order, with
 * the pareto column recomputed; writes it to h. */
static int merge_table(struct ana_h5 *h, const char *out, const char *name, struct shard *sh, size_t ns,
                       const struct mpoint *pts, size_t n_pts, const char *latname, int check_groups)
{
    struct ana_col **cols = calloc(ns, sizeof *cols);
    size_t *nc = calloc(ns, sizeof *nc), *nr = calloc(ns, sizeof *nr);
    struct ana_col *m = NULL;
    struct trow *rows = NULL;
    size_t total = 0, ncols = 0;
    double *lat = NULL;
    int *on = NULL, *el = NULL, code = 0;
    if (!cols || !nc || !nr) {
        code = LLMSIM_EXIT_RUNTIME;
        cli_errorf("out of memory");
        goto out;
    }
    for (size_t s = 0; s < ns; s++) {
        struct llmsim_error err;
        llmsim_error_clear(&err);
        int rc = ana_h5_read_table(sh[s].path, name, &cols[s], &nc[s], &nr[s], &err);
        if (rc != 0) {
            report(&err, sh[s].path);
            code = exit_of(rc);
            goto out;
        }
        int same = nc[s] == nc[0];
        for (size_t j = 0; same && j < nc[s]; j++)
            same = !strcmp(cols[s][j].name, cols[0][j].name) && cols[s][j].type == cols[0][j].type;
        if (!same) {
            cli_errorf("merge: the columns of /%s differ between %s and %s (a key with numbers in one shard and "
                       "words in another?)",
                       name, sh[s].path, sh[0].path);
            code = LLMSIM_EXIT_USAGE;
            goto out;
        }
        total += nr[s];
    }
    ncols = nc[0];
    const struct ana_col *pc0 = find_col(cols[0], ncols, "point");
    if (!pc0 || pc0->type != ANA_COL_I64) {
        cli_errorf("merge: /%s of %s has no integer `point` column; cannot merge it", name, sh[0].path);
        code = LLMSIM_EXIT_USAGE;
        goto out;
    }
    size_t kp = (size_t)(pc0 - cols[0]);
    /* Rows in point order. */
    rows = calloc(total ? total : 1, sizeof *rows);
    m = calloc(ncols, sizeof *m);
    if (!rows || !m) {
        code = LLMSIM_EXIT_RUNTIME;
        cli_errorf("out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t s = 0; s < ns; s++)
        for (size_t i = 0; i < nr[s]; i++, k++)
            rows[k] = (struct trow){cols[s][kp].i64[i], s, i};
    qsort(rows, total, sizeof *rows, cmp_row);
    for (size_t i = 1; i < total; i++)
        if (rows[i].idx == rows[i - 1].idx) {
            cli_errorf("merge: point %lld is in /%s of both %s and %s", (long long)rows[i].idx, name,
                       sh[rows[i - 1].s].path, sh[rows[i].s].path);
            code = LLMSIM_EXIT_USAGE;
            goto out;
        }
    for (size_t i = 0; i < total && check_groups; i++) {
        struct mpoint key = {.idx = rows[i].idx};
        if (!bsearch(&key, pts, n_pts, sizeof *pts, cmp_point)) {
            cli_errorf("merge: %s: point %lld is in /%s but has no group under /points", sh[rows[i].s].path,
                       (long long)key.idx, name);
            code = LLMSIM_EXIT_USAGE;
            goto out;
        }
    }
    if (check_groups && total != n_pts) {
        cli_errorf("merge: /%s has %zu rows but /points has %zu groups", name, total, n_pts);
        code = LLMSIM_EXIT_USAGE;
        goto out;
    }
    for (size_t j = 0; j < ncols && code == 0; j++) {
        m[j] = cols[0][j];
        m[j].f64 = NULL;
        m[j].i64 = NULL;
        m[j].str = NULL;
        m[j].units_owned = m[j].desc_owned = NULL;
        size_t n = total ? total : 1;
        if ((m[j].type == ANA_COL_F64 && !(m[j].f64 = calloc(n, sizeof(double)))) ||
            (m[j].type == ANA_COL_I64 && !(m[j].i64 = calloc(n, sizeof(int64_t)))) ||
            (m[j].type == ANA_COL_STR && !(m[j].str = calloc(n, sizeof(char *))))) {
            code = LLMSIM_EXIT_RUNTIME;
            cli_errorf("out of memory");
            break;
        }
        for (size_t i = 0; i < total; i++) {
            size_t s = rows[i].s, r = rows[i].r;
            if (m[j].type == ANA_COL_F64)
                m[j].f64[i] = cols[s][j].f64[r];
            else if (m[j].type == ANA_COL_I64)
                m[j].i64[i] = cols[s][j].i64[r];
            else
                m[j].str[i] = cols[s][j].str[r];
        }
    }
    if (code != 0)
        goto out;
    /* The frontier over all points, as study_pareto draws it: cost per 1k
     * requests, the latency percentile, quality, among stable points. */
    struct ana_col *par = NULL;
    for (size_t j = 0; j < ncols; j++)
        if (!strcmp(m[j].name, "pareto") && m[j].type == ANA_COL_I64)
            par = &m[j];
    if (par && ns > 1) {
        const struct ana_col *cost = find_col(m, ncols, "cost_per_1k_usd_mean"),
                             *qual = find_col(m, ncols, "success_mean"), *stab = find_col(m, ncols, "stable");
        if (!cost || !qual || !stab || cost->type != ANA_COL_F64 || qual->type != ANA_COL_F64 ||
            stab->type != ANA_COL_I64) {
            cli_errorf("merge: /%s has a pareto column but not cost_per_1k_usd_mean, success_mean and stable",
                       name);
            code = LLMSIM_EXIT_USAGE;
            goto out;
        }
        lat = calloc(total ? total : 1, sizeof *lat);
        on = calloc(total ? total : 1, sizeof *on);
        el = calloc(total ? total : 1, sizeof *el);
        if (!lat || !on || !el) {
            code = LLMSIM_EXIT_RUNTIME;
            cli_errorf("out of memory");
            goto out;
        }
        if ((code = row_latency(latname, m, ncols, total, pts, n_pts, lat)) != 0)
            goto out;
        for (size_t i = 0; i < total; i++)
            el[i] = stab->i64[i] == 1;
        ana_pareto(cost->f64, lat, qual->f64, el, total, on);
        for (size_t i = 0; i < total; i++)
            par->i64[i] = on[i];
    }
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = ana_h5_write_table(h, name, m, ncols, total, &err);
    if (rc != 0) {
        report(&err, out);
        code = LLMSIM_EXIT_RUNTIME;
    }
out:
    if (m)
        for (size_t j = 0; j < ncols; j++) {
            free(m[j].f64);
            free(m[j].i64);
            free(m[j].str);
        }
    free(m);
    for (size_t s = 0; cols && s < ns; s++)
        ana_cols_free(cols[s], nc[s], nr[s]);
    free(cols);
    free(nc);
    free(nr);
    free(rows);
    free(lat);
    free(on);
    free(el);
    return code;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    int quiet = 0, code = LLMSIM_EXIT_USAGE;
    size_t ns = 0;
    struct shard *sh = calloc(argc > 1 ? (size_t)argc : 1, sizeof *sh);
    struct mpoint *pts = NULL;
    size_t n_pts = 0;
    struct ana_h5 *h = NULL;
    if (!sh) {
        cli_errorf("out of memory");
        return LLMSIM_EXIT_RUNTIME;
    }
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            free(sh);
            return LLMSIM_EXIT_OK;
        }
        if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
            if (i + 1 >= argc) {
                cli_errorf("merge: %s needs a value", o);
                goto done;
            }
            out = argv[++i];
        } else if (!strcmp(o, "-q") || !strcmp(o, "--quiet")) {
            quiet = 1;
        } else if (o[0] == '-' && o[1] != '\0') {
            cli_errorf("merge: unknown option '%s' (see `llmsim merge --help`)", o);
            goto done;
        } else {
            sh[ns++].path = o;
        }
    }
    if (ns == 0 || !out) {
        cli_errorf("merge: %s (usage: llmsim merge SHARD.h5... -o OUT.h5)",
                   ns == 0 ? "no shard files given" : "-o OUT.h5 is required");
        goto done;
    }
    /* The shards are checked against the output just below, with their own message. */
    if (cli_check_output("merge", "-o", out, CLI_OUT_HDF5, NULL, 0) != 0)
        goto done;
    for (size_t s = 0; s < ns; s++) {
        if (same_file(sh[s].path, out)) {
            cli_errorf("merge: the output %s is one of the shards; write the merged file elsewhere", out);
            goto done;
        }
        if ((code = shard_read(&sh[s])) != 0)
            goto done;
        if (s > 0 && (code = shard_match(&sh[0], &sh[s])) != 0)
            goto done;
    }
    code = LLMSIM_EXIT_USAGE;
    /* One file for every shard 0..N-1. */
    int64_t N = sh[0].count;
    const struct shard **by = calloc((size_t)N, sizeof *by);
    if (!by) {
        cli_errorf("out of memory");
        code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    for (size_t s = 0; s < ns; s++) {
        if (by[sh[s].index]) {
            cli_errorf("merge: %s and %s are both shard %lld of %lld", by[sh[s].index]->path, sh[s].path,
                       (long long)sh[s].index, (long long)N);
            free(by);
            goto done;
        }
        by[sh[s].index] = &sh[s];
    }
    char missing[512] = "";
    int64_t n_missing = 0;
    for (int64_t i = 0; i < N; i++)
        if (!by[i]) {
            if (n_missing < 20)
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%lld",
                         n_missing ? ", " : "", (long long)i);
            n_missing++;
        }
    free(by);
    if (n_missing > 0) {
        cli_errorf("merge: shard%s %s%s of %lld %s missing (%zu file%s given)", n_missing > 1 ? "s" : "", missing,
                   n_missing > 20 ? ", ..." : "", (long long)N, n_missing > 1 ? "are" : "is", ns,
                   ns == 1 ? "" : "s");
        goto done;
    }
    /* The same root tables everywhere (a shard without points has no
     * /points group). */
    for (size_t s = 1; s < ns; s++) {
        size_t i = 0, j = 0;
        int same = 1;
        while (same) {
            while (i < sh[s].n_roots && !strcmp(sh[s].roots[i], "points"))
                i++;
            while (j < sh[0].n_roots && !strcmp(sh[0].roots[j], "points"))
                j++;
            if (i == sh[s].n_roots || j == sh[0].n_roots)
                break;
            same = !strcmp(sh[s].roots[i++], sh[0].roots[j++]);
        }
        if (!same || i != sh[s].n_roots || j != sh[0].n_roots) {
            cli_errorf("merge: %s and %s hold different root groups and tables", sh[s].path, sh[0].path);
            goto done;
        }
    }
    /* Every point group, in point order. */
    size_t cap = 0;
    for (size_t s = 0; s < ns; s++)
        cap += sh[s].n_points;
    pts = calloc(cap ? cap : 1, sizeof *pts);
    if (!pts) {
        cli_errorf("out of memory");
        code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    for (size_t s = 0; s < ns; s++)
        for (size_t j = 0; j < sh[s].n_points; j++) {
            const char *nm = sh[s].points[j];
            char *end;
            errno = 0;
            unsigned long long v = nm[0] == 'p' ? strtoull(nm + 1, &end, 10) : 0;
            if (nm[0] != 'p' || !nm[1] || *end || errno) {
                cli_errorf("merge: %s: /points/%s is not a point group (pNNNN)", sh[s].path, nm);
                goto done;
            }
            pts[n_pts++] = (struct mpoint){(int64_t)v, nm, &sh[s]};
        }
    qsort(pts, n_pts, sizeof *pts, cmp_point);
    for (size_t i = 1; i < n_pts; i++)
        if (pts[i].idx == pts[i - 1].idx) {
            cli_errorf("merge: point %lld is in both %s and %s", (long long)pts[i].idx, pts[i - 1].from->path,
                       pts[i].from->path);
            goto done;
        }
    int dense = strcmp(sh[0].kind, "plan") != 0; /* sweep and levers run every point; plan some */
    if (dense && sh[0].has_total && (int64_t)n_pts != sh[0].total) {
        cli_errorf("merge: the %zu shards hold %zu of the %lld points", ns, n_pts, (long long)sh[0].total);
        goto done;
    }
    char latname[64];
    if (sh[0].has_latency)
        snprintf(latname, sizeof latname, "%s", sh[0].latency);
    else if (ns > 1 && (code = latency_from_scenario(&sh[0], latname, sizeof latname)) != 0)
        goto done;
    code = LLMSIM_EXIT_USAGE;

    /* Write: the first shard's root attributes and /scenario, the groups,
     * the tables. */
    struct ana_h5_meta meta = {.scenario_name = sh[0].info.scenario_name,
                               .seed = sh[0].info.seed,
                               .replications = (int)sh[0].reps,
                               .scenario_text = sh[0].given,
                               .scenario_resolved = sh[0].resolved,
                               .kind = sh[0].kind,
                               .no_tables = 1};
    struct llmsim_error err;
    llmsim_error_clear(&err);
    static const char *const skip[] = {"complete", "created_utc", "shard_index", "shard_count", "merged_from"};
    int64_t nm = N;
    int rc = ana_h5_open(&h, out, &meta, &err);
    if (rc == 0)
        rc = ana_h5_copy_attrs(h, sh[0].path, skip, sizeof skip / sizeof skip[0], &err);
    if (rc == 0)
        rc = ana_h5_set_attr(h, "merged_from", NULL, &nm, &err);
    for (size_t i = 0; i < n_pts && rc == 0; i++) {
        char name[128];
        snprintf(name, sizeof name, "points/%s", pts[i].name);
        rc = ana_h5_copy_group(h, pts[i].from->path, name, &err);
    }
    if (rc != 0) {
        report(&err, out);
        code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    for (size_t j = 0; j < sh[0].n_roots; j++) {
        const char *r = sh[0].roots[j];
        if (!strcmp(r, "scenario") || !strcmp(r, "points"))
            continue;
        if ((code = merge_table(h, out, r, sh, ns, pts, n_pts, latname, !strcmp(r, "sweep"))) != 0)
            goto done;
    }
    llmsim_error_clear(&err);
    struct ana_h5 *hh = h;
    h = NULL;
    if ((rc = ana_h5_close(hh, 1, &err)) != 0) {
        report(&err, out);
        code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    if (!quiet)
        printf("merged %zu shard%s of %s %s (%zu points) into %s\n", ns, ns == 1 ? "" : "s", sh[0].kind,
               sh[0].info.scenario_name, n_pts, out);
    code = LLMSIM_EXIT_OK;
done:
    if (h)
        ana_h5_abort(h);
    for (size_t s = 0; s < ns; s++)
        shard_free(&sh[s]);
    free(sh);
    free(pts);
    return code;
}
