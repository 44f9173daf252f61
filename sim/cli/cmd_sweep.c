/* llmsim sweep: the scenario at every combination of the varied keys'
 * values, with common random numbers; /sweep and /points in one file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study.h"

#define MAX_DIMS 32

struct dim {
    char key[256];
    size_t n;
    char **vals; /* owned */
    int numeric;
    const char *origin; /* "--vary" or "sweep" */
};

static void usage(FILE *f)
{
    fputs("usage: llmsim sweep [SCENARIO.yaml] [--vary KEY=V1,V2,...]... [--zip] [-o OUT.h5]\n"
          "                    [--set KEY=VALUE]... [--seed N] [--replications N] [--jobs N]\n"
          "                    [--shard i/N] [--json] [--quiet] [--progress | --no-progress]\n"
          "\n"
          "Runs the scenario at every combination of the varied keys' values (the cartesian\n"
          "product; --zip pairs the i-th values instead), every point with the same seeds\n"
          "(common random numbers), and writes /sweep (one row per point: the keys, headline\n"
          "metrics with 95% CI half-widths, stable, slo_met, pareto) and /points/pNNNN\n"
          "(each point's /summary, its resolved scenario, and /requests when the scenario's\n"
          "output.requests is on).  Without --vary, the scenario's sweep: list is used.\n"
          "\n"
          "  --vary KEY=V1,V2,...  values of one key path (YAML flow values; commas inside [] or\n"
          "                        {} do not split); FROM:TO:STEP gives a numeric range\n"
          "  --zip                 pair the lists (all the same length) instead of the product\n"
          "  -o, --output OUT.h5   results file (default: output.path with -sweep)\n"
          "  --set KEY=VALUE       override a key at every point\n"
          "  --jobs N              run up to N points at once in threads (same results for any N)\n"
          "  --shard i/N           run only the points with index % N == i (0 <= i < N), for\n"
          "                        `llmsim merge`; read from SLURM_ARRAY_TASK_ID/COUNT or Open\n"
          "                        MPI's OMPI_COMM_WORLD_RANK/SIZE when not given\n"
          "  --json                print the points as JSON instead of the table\n"
          "  --force               run points past the resource budget (see llmsim run --help)\n",
          f);
}

/* Splits "a,b,{c: 1, d: 2},[e, f]" at top-level commas; FROM:TO:STEP
 * expands to a range. */
static int split_values(struct dim *d, const char *text)
{
    const char *colon1 = strchr(text, ':');
    if (colon1 && !strchr(text, ',') && !strchr(text, '{') && !strchr(text, '[')) {
        char a[64], b[64], c[64];
        const char *colon2 = strchr(colon1 + 1, ':');
        if (colon2 && (size_t)(colon1 - text) < sizeof a && (size_t)(colon2 - colon1 - 1) < sizeof b &&
            strlen(colon2 + 1) < sizeof c) {
            snprintf(a, sizeof a, "%.*s", (int)(colon1 - text), text);
            snprintf(b, sizeof b, "%.*s", (int)(colon2 - colon1 - 1), colon1 + 1);
            snprintf(c, sizeof c, "%s", colon2 + 1);
            if (study_is_number(a) && study_is_number(b) && study_is_number(c)) {
                double lo = strtod(a, NULL), hi = strtod(b, NULL), st = strtod(c, NULL);
                if (!(st > 0) || !(hi >= lo)) {
                    cli_errorf("sweep: --vary %s=%s: a range FROM:TO:STEP needs FROM <= TO and STEP > 0",
                               d->key, text);
                    return -1;
                }
                double cnt = floor((hi - lo) / st * (1 + 1e-12) + 1e-9) + 1;
                if (cnt > 10000) {
                    cli_errorf("sweep: --vary %s=%s: %.0f values; at most 10000", d->key, text, cnt);
                    return -1;
                }
                d->n = (size_t)cnt;
                d->vals = calloc(d->n, sizeof *d->vals);
                for (size_t i = 0; d->vals && i < d->n; i++) {
                    char v[64];
                    snprintf(v, sizeof v, "%.15g", lo + (double)i * st);
                    d->vals[i] = strdup(v);
                }
                return d->vals ? 0 : -1;
            }
        }
    }
    size_t len = strlen(text), cap = 8;
    d->vals = calloc(cap, sizeof *d->vals);
    int depth = 0;
    char quote = 0;
    size_t start = 0;
    for (size_t i = 0; d->vals && i <= len; i++) {
        char ch = text[i];
        if (quote) {
            if (ch == quote)
                quote = 0;
            else if (ch == '\0')
                break;
            continue;
        }
        if (ch == '"' || ch == '\'')
            quote = ch;
        else if (ch == '[' || ch == '{')
            depth++;
        else if (ch == ']' || ch == '}')
            depth--;
        if ((ch == ',' && depth == 0) || ch == '\0') {
            size_t a = start, b = i;
            while (a < b && text[a] == ' ')
                a++;
            while (b > a && text[b - 1] == ' ')
                b--;
            if (b == a) {
                cli_errorf("sweep: --vary %s=%s: value %zu is empty", d->key, text, d->n + 1);
                return -1;
            }
            if (d->n == cap) {
                char **nv = realloc(d->vals, 2 * cap * sizeof *nv);
                if (!nv)
                    return -1;
                d->vals = nv;
                cap *= 2;
            }
            d->vals[d->n++] = strndup(text + a, b - a);
            start = i + 1;
            if (d->n > 10000) {
                cli_errorf("sweep: --vary %s: more than 10000 values", d->key);
                return -1;
            }
        }
    }
    if (quote || depth != 0) {
        cli_errorf("sweep: --vary %s=%s: unbalanced %s", d->key, text, quote ? "quote" : "brackets");
        return -1;
    }
    return d->vals ? 0 : -1;
}

static double stat(const struct study_point *p, const char *metric, const char *st)
{
    return ana_row_stat(p->rows, p->n_rows, "all", metric, st);
}

static void print_table(const struct dim *dims, size_t nd, const struct study_point *const *pts, size_t n,
                        const int *on, const char *path, int complete)
{
    const char *latname;
    study_latency(pts[0], &latname);
    printf("%-6s", "point");
    for (size_t j = 0; j < nd; j++) {
        const char *k = strrchr(dims[j].key, '.');
        printf(" %14.14s", k ? k + 1 : dims[j].key);
    }
    printf(" %10s %10s %10s %11s %8s %8s %7s %6s\n", "ttft p95", "e2e p95", "$ per 1k", "$ per month", "quality",
           "goodput", "stable", "pareto");
    for (size_t i = 0; i < n; i++) {
        const struct study_point *p = pts[i];
        printf("%-6zu", p->index);
        for (size_t j = 0; j < nd; j++) {
            /* the point's value of key j: its j-th override */
            printf(" %14.14s", j < p->n_sets ? p->sets[j].value : "-");
        }
        struct ana_slo_check chk;
        ana_slo_check(&p->slo, p->rows, p->n_rows, &chk);
        double q = stat(p, "success", "mean"), g = stat(p, "slo_met", "mean");
        char qs[16] = "-", gs[16] = "-";
        if (isfinite(q))
            snprintf(qs, sizeof qs, "%.1f%%", 100 * q);
        if (isfinite(g))
            snprintf(gs, sizeof gs, "%.1f%%", 100 * g);
        printf(" %10.4g %10.4g %10.4g %11.0f %8s %8s %7s %6s\n", stat(p, "ttft_s", "p95"), stat(p, "e2e_s", "p95"),
               stat(p, "cost_per_1k_usd", "mean"), stat(p, "cost_per_month_usd", "mean"), qs, gs,
               chk.stable ? "yes" : "NO", on[i] ? "*" : "");
    }
    printf("pareto: frontier of ($ per request, %s, quality) among stable points\n", latname);
    printf("results: %s%s\n", path, complete ? "" : " (complete = false)");
}

static void print_json(const struct dim *dims, size_t nd, const struct study_point *const *pts, size_t n,
                       const int *on, const char *path, int complete)
{
    printf("{\"results\": ");
    cli_json_str(stdout, path);
    printf(", \"complete\": %s, \"keys\": [", complete ? "true" : "false");
    for (size_t j = 0; j < nd; j++) {
        printf("%s", j ? ", " : "");
        cli_json_str(stdout, dims[j].key);
    }
    printf("], \"points\": [");
    static const char *const m[][2] = {{"ttft_s", "p50"}, {"ttft_s", "p95"}, {"ttft_s", "p99"}, {"e2e_s", "p50"},
                                       {"e2e_s", "p95"}, {"e2e_s", "p99"}, {"queue_s", "mean"},
                                       {"throughput_rps", "mean"}, {"cost_per_1k_usd", "mean"},
                                       {"cost_per_hour_usd", "mean"}, {"cost_per_month_usd", "mean"},
                                       {"success", "mean"}, {"slo_met", "mean"}};
    for (size_t i = 0; i < n; i++) {
        const struct study_point *p = pts[i];
        printf("%s\n  {\"point\": %zu", i ? "," : "", p->index);
        for (size_t j = 0; j < nd && j < p->n_sets; j++) {
            printf(", ");
            cli_json_str(stdout, dims[j].key);
            printf(": ");
            if (dims[j].numeric)
                cli_json_num(stdout, strtod(p->sets[j].value, NULL), 10);
            else
                cli_json_str(stdout, p->sets[j].value);
        }
        for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
            printf(", \"%s_%s\": ", m[k][0], m[k][1]);
            cli_json_num(stdout, stat(p, m[k][0], m[k][1]), 10);
        }
        struct ana_slo_check chk;
        ana_slo_check(&p->slo, p->rows, p->n_rows, &chk);
        printf(", \"stable\": %s, \"slo_met\": %d, \"pareto\": %s}", chk.stable ? "true" : "false", chk.verdict,
               on[i] ? "true" : "false");
    }
    printf("\n]}\n");
}

int cmd_sweep(int argc, char **argv)
{
    struct study_args a;
    study_args_init(&a, "sweep");
    struct dim dims[MAX_DIMS];
    size_t nd = 0;
    int zip = 0, exit_code = LLMSIM_EXIT_USAGE;
    memset(dims, 0, sizeof dims);
    struct sim_scenario base;
    memset(&base, 0, sizeof base);
    struct study_point *pts = NULL;
    size_t n_pts = 0, n_total = 1;
    struct ana_h5 *h5 = NULL;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return LLMSIM_EXIT_OK;
        }
        if (!strcmp(o, "--zip")) {
            zip = 1;
            continue;
        }
        if (!strcmp(o, "--vary")) {
            if (i + 1 >= argc) {
                cli_errorf("sweep: --vary needs KEY=V1,V2,...");
                goto done;
            }
            const char *v = argv[++i], *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                cli_errorf("sweep: --vary '%s' is not KEY=V1,V2,... (e.g. --vary workload.arrivals.rate_per_s=5,10,20)",
                           v);
                goto done;
            }
            if (nd >= MAX_DIMS || (size_t)(eq - v) >= sizeof dims[0].key) {
                cli_errorf("sweep: too many --vary keys (at most %d) or a key path too long", MAX_DIMS);
                goto done;
            }
            snprintf(dims[nd].key, sizeof dims[nd].key, "%.*s", (int)(eq - v), v);
            for (size_t j = 0; j < nd; j++)
                if (!strcmp(dims[j].key, dims[nd].key)) {
                    cli_errorf("sweep: --vary %s is given twice", dims[nd].key);
                    goto done;
                }
            dims[nd].origin = "--vary";
            if (split_values(&dims[nd++], eq + 1) != 0)
                goto done;
            continue;
        }
        int r = study_arg(&a, argc, argv, &i);
        if (r < 0)
            goto done;
        if (r == 0) {
            cli_errorf("sweep: unknown option '%s' (see `llmsim sweep --help`)", o);
            goto done;
        }
    }
    if (study_shard_env(&a) != 0)
        goto done;

    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = study_load(&a, NULL, 0, NULL, &base, &err);
    if (rc != 0) {
        if (err.line > 0)
            fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        else
            fprintf(stderr, "%s: %s\n", err.file, err.msg);
        exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
        goto done;
    }
    if (nd == 0) {
        for (size_t j = 0; j < base.n_sweep && nd < MAX_DIMS; j++, nd++) {
            snprintf(dims[nd].key, sizeof dims[nd].key, "%s", base.sweep[j].key);
            dims[nd].origin = "sweep";
            dims[nd].n = base.sweep[j].n_values;
            dims[nd].vals = calloc(dims[nd].n, sizeof *dims[nd].vals);
            for (size_t k = 0; dims[nd].vals && k < dims[nd].n; k++)
                dims[nd].vals[k] = strdup(base.sweep[j].values[k]);
        }
    }
    if (nd == 0) {
        cli_errorf("sweep: nothing to vary: give --vary KEY=V1,V2,... or a sweep: list in the scenario");
        goto done;
    }
    /* Every value on its own must load: located errors before anything runs. */
    for (size_t j = 0; j < nd; j++) {
        dims[j].numeric = 1;
        for (size_t k = 0; k < dims[j].n; k++) {
            if (!dims[j].vals[k]) {
                cli_errorf("out of memory");
                exit_code = LLMSIM_EXIT_RUNTIME;
                goto done;
            }
            dims[j].numeric &= study_is_number(dims[j].vals[k]);
            struct scn_override ov = {dims[j].key, dims[j].vals[k]};
            struct sim_scenario t;
            llmsim_error_clear(&err);
            rc = study_load(&a, &ov, 1, dims[j].origin, &t, &err);
            sim_scenario_free(&t);
            if (rc != 0) {
                if (err.line > 0)
                    fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
                else
                    fprintf(stderr, "%s: %s\n", err.file, err.msg);
                exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
                goto done;
            }
        }
    }
    if (zip) {
        for (size_t j = 1; j < nd; j++)
            if (dims[j].n != dims[0].n) {
                cli_errorf("sweep: --zip pairs the lists, which need the same length: %s has %zu values, %s has %zu",
                           dims[0].key, dims[0].n, dims[j].key, dims[j].n);
                goto done;
            }
        n_total = dims[0].n;
    } else {
        for (size_t j = 0; j < nd; j++) {
            if ((double)n_total * (double)dims[j].n > STUDY_MAX_POINTS) {
                cli_errorf("sweep: the product of the value lists has more than %d points; split the sweep",
                           STUDY_MAX_POINTS);
                goto done;
            }
            n_total *= dims[j].n;
        }
    }
    /* This shard's points. */
    pts = calloc(n_total, sizeof *pts);
    if (!pts) {
        cli_errorf("out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    for (size_t idx = 0; idx < n_total; idx++) {
        if ((int)(idx % (size_t)a.shard_n) != a.shard_i)
            continue;
        struct study_point *p = &pts[n_pts++];
        p->index = idx;
        p->origin = "--vary";
        size_t rest = idx;
        size_t sel[MAX_DIMS];
        for (size_t j = nd; j-- > 0;) { /* the last key varies fastest */
            sel[j] = zip ? idx : rest % dims[j].n;
            if (!zip)
                rest /= dims[j].n;
        }
        for (size_t j = 0; j < nd; j++)
            if (study_point_set(p, dims[j].key, dims[j].vals[sel[j]]) != 0) {
                cli_errorf("out of memory");
                exit_code = LLMSIM_EXIT_RUNTIME;
                goto done;
            }
    }
    char path[4096];
    if ((rc = study_open_file(&a, &base, "sweep", n_total, &h5, path, sizeof path)) != 0) {
        exit_code = rc;
        goto done;
    }
    char keys[2048] = "";
    for (size_t j = 0; j < nd; j++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", j ? "\n" : "", dims[j].key);
    llmsim_error_clear(&err);
    if (ana_h5_set_attr(h5, "varied_keys", keys, NULL, &err) != 0 ||
        ana_h5_set_attr(h5, "zip", zip ? "true" : "false", NULL, &err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    study_catch_signals();
    struct cli_progress prog;
    cli_progress_init(&prog, a.quiet ? 0 : a.progress, "sweep");
    cli_progress_units(&prog, (double)n_pts, "points");
    int res = study_run_points(&a, pts, n_pts, n_total, h5, &prog);
    cli_progress_end(&prog);
    if (res < 0) {
        exit_code = study_failure_exit(pts, n_pts);
        goto done; /* the file is aborted there */
    }
    /* The finished points, in index order. */
    const struct study_point **fin = calloc(n_pts ? n_pts : 1, sizeof *fin);
    const char **kv[MAX_DIMS] = {0};
    int *on = calloc(n_pts ? n_pts : 1, sizeof *on);
    size_t nf = 0;
    struct study_key_col kc[MAX_DIMS];
    int ok = fin && on;
    for (size_t j = 0; j < nd && ok; j++)
        ok = (kv[j] = calloc(n_pts ? n_pts : 1, sizeof *kv[j])) != NULL;
    for (size_t i = 0; i < n_pts && ok; i++)
        if (pts[i].written) /* its group is in the file */ {
            for (size_t j = 0; j < nd; j++)
                kv[j][nf] = pts[i].sets[j].value;
            fin[nf++] = &pts[i];
        }
    for (size_t j = 0; j < nd; j++)
        kc[j] = (struct study_key_col){dims[j].key, kv[j], dims[j].numeric};
    llmsim_error_clear(&err);
    int wrc = ok ? study_write_sweep(h5, fin, nf, kc, nd, on, &err) : LLMSIM_ENOMEM;
    if (wrc == 0) {
        struct ana_h5 *h = h5;
        h5 = NULL;
        wrc = ana_h5_close(h, res == 0, &err);
    }
    if (wrc != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg[0] ? err.msg : "out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
    } else if (res == 1) {
        cli_errorf("sweep: interrupted; the %zu finished points are in %s (complete = false)", nf, path);
        exit_code = LLMSIM_EXIT_RUNTIME;
    } else {
        if (!a.quiet && nf > 0) {
            if (a.json)
                print_json(dims, nd, fin, nf, on, path, 1);
            else
                print_table(dims, nd, fin, nf, on, path, 1);
        }
        for (size_t i = 0; i < nf && !a.quiet; i++) {
            struct ana_slo_check chk;
            ana_slo_check(NULL, fin[i]->rows, fin[i]->n_rows, &chk);
            if (!chk.stable)
                fprintf(stderr,
                        "llmsim: warning: point %zu (%s) is overloaded: a deployment cannot keep up with its "
                        "arrivals; its latency and cost figures describe a growing queue, not a steady state\n",
                        fin[i]->index, fin[i]->label);
        }
        exit_code = LLMSIM_EXIT_OK;
    }
    for (size_t j = 0; j < nd; j++)
        free(kv[j]);
    free(fin);
    free(on);
done:
    if (h5)
        ana_h5_abort(h5);
    for (size_t i = 0; i < n_pts; i++)
        study_point_free(&pts[i]);
    free(pts);
    for (size_t j = 0; j < nd; j++) {
        for (size_t k = 0; k < dims[j].n; k++)
            free(dims[j].vals ? dims[j].vals[k] : NULL);
        free(dims[j].vals);
    }
    sim_scenario_free(&base);
    return exit_code;
}
