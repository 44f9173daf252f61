/* llmsim levers: the optimisation ladder.  The baseline, each lever of the
 * scenario's `levers:` list alone, and the levers stacked in order, all with
 * common random numbers; cost, latency percentiles, quality and goodput with
 * deltas against the baseline and the previous step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study.h"

static void usage(FILE *f)
{
    fputs("usage: llmsim levers [SCENARIO.yaml] [-o OUT.h5] [--set KEY=VALUE]... [--seed N]\n"
          "                     [--replications N] [--jobs N] [--shard i/N] [--json] [--quiet]\n"
          "\n"
          "Runs the optimisation ladder that the scenario's levers: list declares: the baseline,\n"
          "each lever alone, then the levers stacked in their order (the first lever stacked is\n"
          "the first alone, run once), every step with the same seeds (common random numbers).\n"
          "Prints each step's cost per 1k requests, TTFT p95, E2E p50/p95/p99, quality and\n"
          "goodput, with deltas against the baseline and (stacked) the previous step, and writes\n"
          "/sweep (columns point, mode, lever, levers) and /points like `llmsim sweep`.\n"
          "\n"
          "  -o, --output OUT.h5   results file (default: output.path with -levers)\n"
          "  --jobs N              run up to N steps at once in threads (same results for any N)\n"
          "  --shard i/N           run only the steps with index % N == i (see llmsim merge)\n"
          "  --force               run steps past the resource budget (see llmsim run --help)\n",
          f);
}

static double st(const struct study_point *p, const char *metric, const char *stat)
{
    return ana_row_stat(p->rows, p->n_rows, "all", metric, stat);
}

static void pct(char *buf, size_t n, double a, double b)
{
    if (isfinite(a) && isfinite(b) && b != 0)
        snprintf(buf, n, "%+.1f%%", 100 * (a - b) / b);
    else
        snprintf(buf, n, "-");
}

int cmd_levers(int argc, char **argv)
{
    struct study_args a;
    study_args_init(&a, "levers");
    int exit_code = LLMSIM_EXIT_USAGE;
    struct sim_scenario base;
    memset(&base, 0, sizeof base);
    struct study_point *pts = NULL;
    size_t n_total = 0, n_pts = 0;
    struct ana_h5 *h5 = NULL;
    char **modes = NULL, **names = NULL, **stacks = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return LLMSIM_EXIT_OK;
        }
        int r = study_arg(&a, argc, argv, &i);
        if (r < 0)
            goto done;
        if (r == 0) {
            cli_errorf("levers: unknown option '%s' (see `llmsim levers --help`)", argv[i]);
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
    size_t L = base.n_levers;
    if (L == 0) {
        cli_errorf("levers: %s declares no levers: add a levers: list of {name: NAME, set: {KEY.PATH: VALUE}} "
                   "entries (docs/scenario-reference.md)",
                   a.scenario ? a.scenario : SCN_DEFAULT_NAME);
        goto done;
    }
    /* Every lever must load on its own: located errors before anything runs. */
    for (size_t l = 0; l < L; l++) {
        struct scn_override ov[256];
        for (size_t k = 0; k < base.levers[l].n_sets; k++)
            ov[k] = (struct scn_override){base.levers[l].sets[k].key, base.levers[l].sets[k].value};
        struct sim_scenario t;
        char origin[128];
        snprintf(origin, sizeof origin, "lever '%s':", base.levers[l].name);
        rc = study_load(&a, ov, base.levers[l].n_sets, origin, &t, &err);
        sim_scenario_free(&t);
        if (rc != 0) {
            if (!strncmp(err.file, "lever '", 7)) /* the lever's own override: locate the lever */
                fprintf(stderr, "%s:%d:%d: levers[%zu] '%s': %s\n", a.scenario ? a.scenario : SCN_DEFAULT_NAME,
                        base.levers[l].line, base.levers[l].col, l, base.levers[l].name, err.msg);
            else if (err.line > 0)
                fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
            else
                fprintf(stderr, "%s: %s\n", err.file, err.msg);
            exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
            goto done;
        }
    }
    n_total = 1 + L + (L > 1 ? L - 1 : 0);
    pts = calloc(n_total, sizeof *pts);
    modes = calloc(n_total, sizeof *modes);
    names = calloc(n_total, sizeof *names);
    stacks = calloc(n_total, sizeof *stacks);
    if (!pts || !modes || !names || !stacks) {
        cli_errorf("out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    for (size_t idx = 0; idx < n_total; idx++) {
        size_t first = 0, last = 0; /* levers [first, last) pulled */
        const char *mode;
        if (idx == 0) {
            mode = "baseline";
        } else if (idx <= L) {
            mode = "alone";
            first = idx - 1;
            last = idx;
        } else {
            mode = "stacked";
            last = idx - L + 1;
        }
        char stack[1024] = "";
        for (size_t l = first; l < last; l++)
            snprintf(stack + strlen(stack), sizeof stack - strlen(stack), "%s%s", l > first ? " + " : "",
                     base.levers[l].name);
        modes[idx] = strdup(mode);
        names[idx] = strdup(idx == 0 ? "baseline" : base.levers[last - 1].name);
        stacks[idx] = strdup(idx == 0 ? "" : stack);
        if ((int)(idx % (size_t)a.shard_n) != a.shard_i)
            continue;
        struct study_point *p = &pts[n_pts++];
        p->index = idx;
        p->origin = "lever";
        for (size_t l = first; l < last; l++)
            for (size_t k = 0; k < base.levers[l].n_sets; k++)
                if (study_point_set(p, base.levers[l].sets[k].key, base.levers[l].sets[k].value) != 0) {
                    cli_errorf("levers: step %zu pulls more than 40 overrides at once", idx);
                    goto done;
                }
    }
    char path[4096];
    if ((rc = study_open_file(&a, &base, "levers", n_total, &h5, path, sizeof path)) != 0) {
        exit_code = rc;
        goto done;
    }
    study_catch_signals();
    struct cli_progress prog;
    cli_progress_init(&prog, a.quiet ? 0 : a.progress, "levers");
    cli_progress_units(&prog, (double)n_pts, "steps");
    int res = study_run_points(&a, pts, n_pts, n_total, h5, &prog);
    cli_progress_end(&prog);
    if (res < 0) {
        exit_code = study_failure_exit(pts, n_pts);
        goto done; /* the file is aborted there */
    }
    const struct study_point **fin = calloc(n_pts ? n_pts : 1, sizeof *fin);
    const char **c_mode = calloc(n_pts ? n_pts : 1, sizeof *c_mode), **c_name = calloc(n_pts ? n_pts : 1, sizeof *c_name),
               **c_stack = calloc(n_pts ? n_pts : 1, sizeof *c_stack);
    size_t nf = 0;
    if (!fin || !c_mode || !c_name || !c_stack) {
        cli_errorf("out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
    } else {
        for (size_t i = 0; i < n_pts; i++)
            if (pts[i].written) /* its group is in the file */ {
                c_mode[nf] = modes[pts[i].index];
                c_name[nf] = names[pts[i].index];
                c_stack[nf] = stacks[pts[i].index];
                fin[nf++] = &pts[i];
            }
        struct study_key_col kc[3] = {{"mode", c_mode, 0}, {"lever", c_name, 0}, {"levers", c_stack, 0}};
        int wrc = study_write_sweep(h5, fin, nf, kc, 3, NULL, &err);
        if (wrc == 0) {
            struct ana_h5 *h = h5;
            h5 = NULL;
            wrc = ana_h5_close(h, res == 0, &err);
        }
        if (wrc != 0) {
            fprintf(stderr, "%s: %s\n", path, err.msg);
            exit_code = LLMSIM_EXIT_RUNTIME;
        } else if (res == 1) {
            cli_errorf("levers: interrupted; the %zu finished steps are in %s (complete = false)", nf, path);
            exit_code = LLMSIM_EXIT_RUNTIME;
        } else {
            exit_code = LLMSIM_EXIT_OK;
        }
    }
    if (exit_code == LLMSIM_EXIT_OK && !a.quiet && nf > 0) {
        const struct study_point *b = fin[0]->index == 0 ? fin[0] : NULL;
        if (a.json) {
            printf("{\"results\": ");
            cli_json_str(stdout, path);
            printf(", \"steps\": [");
            for (size_t i = 0; i < nf; i++) {
                const struct study_point *p = fin[i];
                printf("%s\n  {\"step\": %zu, \"mode\": ", i ? "," : "", p->index);
                cli_json_str(stdout, c_mode[i]);
                printf(", \"lever\": ");
                cli_json_str(stdout, c_name[i]);
                printf(", \"levers\": ");
                cli_json_str(stdout, c_stack[i]);
                static const char *const m[][2] = {{"cost_per_1k_usd", "mean"}, {"ttft_s", "p95"}, {"e2e_s", "p50"},
                                                   {"e2e_s", "p95"},           {"e2e_s", "p99"},  {"success", "mean"},
                                                   {"slo_met", "mean"},        {"throughput_rps", "mean"}};
                for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
                    printf(", \"%s_%s\": ", m[k][0], m[k][1]);
                    cli_json_num(stdout, st(p, m[k][0], m[k][1]), 10);
                }
                struct ana_slo_check chk;
                ana_slo_check(&p->slo, p->rows, p->n_rows, &chk);
                printf(", \"stable\": %s}", chk.stable ? "true" : "false");
            }
            printf("\n]}\n");
        } else {
            printf("levers: %s, %d replication%s per step, common random numbers\n", base.name, base.replications,
                   base.replications == 1 ? "" : "s");
            printf("%-34s %9s %8s %8s %9s %9s %9s %9s %8s %8s\n", "step", "$ per 1k", "vs base", "vs prev",
                   "ttft p95", "e2e p50", "e2e p95", "e2e p99", "quality", "goodput");
            const struct study_point *prev = b;
            for (size_t i = 0; i < nf; i++) {
                const struct study_point *p = fin[i];
                char label[64], d0[16], d1[16] = "";
                if (p->index == 0)
                    snprintf(label, sizeof label, "baseline");
                else if (!strcmp(c_mode[i], "alone"))
                    snprintf(label, sizeof label, "%.26s alone", c_name[i]);
                else
                    snprintf(label, sizeof label, "+ %.31s", c_name[i]);
                if (p->index == 1 && base.n_levers > 1)
                    snprintf(label, sizeof label, "%.26s alone", c_name[i]);
                double c = st(p, "cost_per_1k_usd", "mean");
                pct(d0, sizeof d0, c, b ? st(b, "cost_per_1k_usd", "mean") : NAN);
                int stacked = p->index == 0 || !strcmp(c_mode[i], "stacked") || p->index == 1;
                if (p->index > 0 && strcmp(c_mode[i], "stacked") == 0)
                    pct(d1, sizeof d1, c, prev ? st(prev, "cost_per_1k_usd", "mean") : NAN);
                double q = st(p, "success", "mean"), g = st(p, "slo_met", "mean");
                char qs[16] = "-", gs[16] = "-";
                if (isfinite(q))
                    snprintf(qs, sizeof qs, "%.1f%%", 100 * q);
                if (isfinite(g))
                    snprintf(gs, sizeof gs, "%.1f%%", 100 * g);
                printf("%-34s %9.4g %8s %8s %9.4g %9.4g %9.4g %9.4g %8s %8s\n", label, c, p->index ? d0 : "",
                       d1, st(p, "ttft_s", "p95"), st(p, "e2e_s", "p50"), st(p, "e2e_s", "p95"), st(p, "e2e_s", "p99"),
                       qs, gs);
                if (stacked)
                    prev = p;
                if (p->index == L && L > 1)
                    printf("stacked, in order (%s first):\n", base.levers[0].name);
            }
            printf("results: %s\n", path);
        }
    }
    free(fin);
    free(c_mode);
    free(c_name);
    free(c_stack);
done:
    if (h5)
        ana_h5_abort(h5);
    for (size_t i = 0; i < n_pts; i++)
        study_point_free(&pts[i]);
    free(pts);
    for (size_t i = 0; i < n_total; i++) {
        free(modes ? modes[i] : NULL);
        free(names ? names[i] : NULL);
        free(stacks ? stacks[i] : NULL);
    }
    free(modes);
    free(names);
    free(stacks);
    sim_scenario_free(&base);
    return exit_code;
}
