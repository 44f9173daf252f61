/* Helpers shared by the Check suites; see testutil.h. */
#include "testutil.h"

#include <check.h>

#include "llmsim/results.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, 4096, f);
        n += k;
        if (k < 4096)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tu_run(const char *cmd, char **output)
{
    char *full = malloc(strlen(cmd) + 16);
    if (!full)
        return -1;
    sprintf(full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (!p)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        pclose(p);
        return -1;
    }
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                pclose(p);
                return -1;
            }
            buf = nb;
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/llmsim-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void tu_load_yaml(struct sim_scenario *sc, const char *yaml, const struct scn_override *o, size_t n)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_string(sc, yaml, strlen(yaml), "test.yaml", o, n, &err);
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s", msg);
}

void tu_run_world(const struct sim_scenario *sc, const struct sim_sink *sink, struct sim_world_stats *st,
                  struct sim_deployment_stats *dep0)
{
    struct sim_world *w = NULL;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_msg(sim_world_alloc(&w, sc, 0, sink, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(sim_run(w), 0);
    struct sim_world_stats ws;
    sim_world_stats(w, &ws);
    if (dep0 != NULL)
        *dep0 = ws.deployments[0];
    ws.deployments = NULL; /* freed with the world */
    if (st != NULL)
        *st = ws;
    sim_world_free(w);
}

void tu_summarize(const struct sim_scenario *sc, const struct sim_sink *extra, struct ana_summary_row **rows,
                  size_t *n)
{
    struct ana_stats *st = NULL;
    ck_assert_int_eq(ana_stats_alloc(&st, sc), 0);
    struct sim_tee tee = {extra != NULL ? *extra : (struct sim_sink){NULL, NULL, NULL, NULL, NULL}, ana_stats_sink(st)};
    struct sim_sink sink = sim_tee_sink(&tee);
    for (int rep = 0; rep < sc->replications; rep++) {
        struct sim_world *w = NULL;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        ck_assert_msg(sim_world_alloc(&w, sc, (uint32_t)rep, &sink, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(sim_run(w), 0);
        struct sim_world_stats ws;
        sim_world_stats(w, &ws);
        ck_assert_int_eq(ana_stats_add_run(st, (uint32_t)rep, &ws), 0);
        sim_world_free(w);
    }
    ck_assert_int_eq(ana_stats_summary(st, rows, n), 0);
    ana_stats_free(st);
}

double tu_metric(const struct ana_summary_row *rows, size_t n, const char *scope, const char *metric)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, scope, metric);
    ck_assert_msg(r != NULL, "no row %s / %s", scope, metric);
    return r->mean;
}

int tu_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void tu_remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* Room for one more element of size sz in *arr (*cap of them), doubling. */
static void tu_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return;
    size_t c = *cap ? 2 * *cap : 1024;
    void *v = realloc(*arr, c * sz);
    ck_assert_ptr_nonnull(v);
    *arr = v;
    *cap = c;
}

static int tu_log_request(void *ctx, const struct sim_request_record *r)
{
    struct tu_log *l = ctx;
    if (l->keep_requests) {
        tu_grow((void **)&l->req, &l->cap_req, l->n_req, sizeof *l->req);
        l->req[l->n_req] = *r;
    }
    l->n_req++;
    return 0;
}

static int tu_log_scale(void *ctx, const struct sim_scale_record *s)
{
    struct tu_log *l = ctx;
    tu_grow((void **)&l->sc, &l->cap_sc, l->n_sc, sizeof *l->sc);
    l->sc[l->n_sc++] = *s;
    return 0;
}

void tu_log_sink(struct tu_log *l, struct sim_sink *out)
{
    *out = (struct sim_sink){.ctx = l, .request = tu_log_request, .scale = tu_log_scale};
}

void tu_log_free(struct tu_log *l)
{
    free(l->req);
    free(l->sc);
    l->req = NULL;
    l->sc = NULL;
    l->n_req = l->cap_req = l->n_sc = l->cap_sc = 0;
}
