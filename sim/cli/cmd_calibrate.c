/* llmsim calibrate: fit the roofline model's hardware and engine parameters
 * to measurements and write a calibration file that scenarios use with
 * `latency: {model: roofline, calibration: CAL.yaml}` (docs/calibrate.md).
 *
 *   steps     measured step or kernel times (CSV), fitted here
 *   requests  per-request times of a real run (cmd_calibrate_requests.c)
 *
 * The file is written under a temporary name beside -o and renamed onto it
 * only when complete, so an error never leaves a partial file under the
 * final name. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "llmsim/calibrate.h"
#include "llmsim/scenario.h"

static void usage(FILE *f)
{
    fputs(
        "usage: llmsim calibrate steps STEPS.csv [--scenario S.yaml] -o CAL.yaml [--folds K] "
        "[--quiet]\n"
        "       llmsim calibrate requests ...   (`llmsim calibrate requests --help`)\n"
        "       llmsim calibrate check STEPS.csv --calibration CAL.yaml [--scenario S.yaml]\n"
        "\n"
        "Fits the roofline step-time model's hardware and engine parameters (mfu, mbu,\n"
        "gemm_half_tokens, attention efficiencies, all-reduce latency and link efficiency,\n"
        "host overheads) to measured times, one entry per GPU and engine, and writes a\n"
        "calibration file for `latency: {model: roofline, calibration: CAL.yaml}`.\n"
        "\n"
        "steps: STEPS.csv has a header naming gpu, model, tp, kind, batch, prompt_tokens,\n"
        "context_tokens and time_ms (optional weights_dtype, kv_dtype; other columns are\n"
        "ignored), one measurement per line.  kind is prefill, decode (engine steps), linear\n"
        "or allreduce (kernel profiles).  Parameters the data cannot pin down keep their\n"
        "defaults and are marked `fitted: false`.  The report (95% intervals, errors per\n"
        "regime in sample and held out, warnings) goes to standard output.\n"
        "\n"
        "  -o, --output CAL.yaml  calibration file to write (required)\n"
        "  --scenario S.yaml      resolve inline GPUs and models, and take each GPU's engine,\n"
        "                         from this scenario's deployments (default engine: vllm-v1)\n"
        "  --folds K              k of the k-fold held-out errors (default 5, 0 = none)\n"
        "  --quiet                print nothing but errors\n"
        "\n"
        "check: predicts every row of STEPS.csv with the defaults and with CAL.yaml (say,\n"
        "a calibration made from other rows: held-out measurements) and prints the errors\n"
        "per GPU, model, tp and kind.\n"
        "\n"
        "Exit codes: 0 ok, 1 the fit or the write failed, 2 bad input (FILE:LINE:COL: message).\n",
        f);
}

int cli_write_calibration(const char *who, const char *path, const char *kind, const char *data,
                          const struct mdl_cal_entry *e, int n)
{
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (tmp == NULL) {
        cli_errorf("%s: out of memory", who);
        return LLMSIM_EXIT_RUNTIME;
    }
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        cli_errorf("%s: cannot write '%s': %s", who, tmp, strerror(errno));
        free(tmp);
        return LLMSIM_EXIT_RUNTIME;
    }
    int rc = mdl_cal_write(f, kind, data, e, n);
    if (fclose(f) != 0)
        rc = LLMSIM_EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = LLMSIM_EIO;
    if (rc != 0) {
        cli_errorf("%s: cannot write '%s': %s", who, path, strerror(errno));
        remove(tmp);
        free(tmp);
        return LLMSIM_EXIT_RUNTIME;
    }
    free(tmp);
    return LLMSIM_EXIT_OK;
}

static void print_error(const struct llmsim_error *err)
{
    char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 32];
    llmsim_error_format(err, msg, sizeof msg);
    fprintf(stderr, "%s\n", msg);
}

/* Reads the measurement rows, resolving names against the scenario when
 * given; prints the located error.  Returns an exit code. */
static int read_rows(const char *csv, const char *scenario, struct mdl_cal_step **rows, size_t *n)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    int have_sc = 0;
    if (scenario != NULL) {
        if (scn_load_file(&sc, scenario, NULL, 0, &err) != 0) {
            print_error(&err);
            return LLMSIM_EXIT_USAGE;
        }
        have_sc = 1;
    }
    int rc = scn_steps_csv_read(csv, have_sc ? &sc : NULL, rows, n, &err);
    if (have_sc)
        sim_scenario_free(&sc);
    if (rc != 0) {
        print_error(&err);
        return rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
    }
    return LLMSIM_EXIT_OK;
}

static int calibrate_steps(int argc, char **argv)
{
    const char *csv = NULL, *scenario = NULL, *out = NULL;
    int quiet = 0;
    struct mdl_cal_options opt;
    mdl_cal_options_default(&opt);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int need = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--scenario") ||
                   !strcmp(a, "--folds");
        if (need && i + 1 >= argc) {
            cli_errorf("calibrate steps: %s needs a value", a);
            return LLMSIM_EXIT_USAGE;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return LLMSIM_EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = argv[++i];
        } else if (!strcmp(a, "--scenario")) {
            scenario = argv[++i];
        } else if (!strcmp(a, "--folds")) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || k < 0 || k == 1 || k > 100) {
                cli_errorf(
                    "calibrate steps: --folds needs 0 or a whole number from 2 to 100, got '%s'",
                    argv[i]);
                return LLMSIM_EXIT_USAGE;
            }
            opt.folds = (int)k;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_errorf("calibrate steps: unknown option '%s' (see `llmsim calibrate --help`)", a);
            return LLMSIM_EXIT_USAGE;
        } else if (csv == NULL) {
            csv = a;
        } else {
            cli_errorf("calibrate steps: more than one measurement file given ('%s' and '%s')", csv,
                       a);
            return LLMSIM_EXIT_USAGE;
        }
    }
    if (csv == NULL || out == NULL) {
        cli_errorf("calibrate steps: %s (usage: llmsim calibrate steps STEPS.csv -o CAL.yaml)",
                   csv == NULL ? "no measurement file given"
                               : "no output file given (-o CAL.yaml)");
        return LLMSIM_EXIT_USAGE;
    }

    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    int rc = read_rows(csv, scenario, &rows, &n);
    if (rc != LLMSIM_EXIT_OK)
        return rc;
    const char *in[2] = {csv, scenario};
    if ((rc = cli_check_output("calibrate steps", "-o", out, CLI_OUT_YAML, in, scenario ? 2 : 1)) != 0) {
        free(rows);
        return rc;
    }
    struct mdl_cal_entry *entries = NULL;
    int ne = 0;
    rc = mdl_cal_fit_steps(rows, n, &opt, &entries, &ne, &err);
    free(rows);
    if (rc != 0) {
        /* Row-level problems were refused by the reader; what is left is
         * the fit itself.  Locate it in the measurement file when it names
         * a row. */
        if (err.line > 0 && err.file[0] == '\0')
            snprintf(err.file, sizeof err.file, "%s", csv);
        print_error(&err);
        return rc == LLMSIM_EINVAL ? LLMSIM_EXIT_USAGE : LLMSIM_EXIT_RUNTIME;
    }
    if (!quiet)
        for (int k = 0; k < ne; k++)
            mdl_cal_print(stdout, &entries[k]);
    rc = cli_write_calibration("calibrate", out, "steps", csv, entries, ne);
    if (rc == LLMSIM_EXIT_OK && !quiet)
        printf("calibration: %s (%d entr%s)\n", out, ne, ne == 1 ? "y" : "ies");
    free(entries);
    return rc;
}

/* ---- check: a calibration against rows it was not fitted on ---------------- */

struct check_group {
    char key[160];      /* "h100-sxm llama-2-70b tp 4 linear" */
    size_t n;
    double *err_def;    /* predicted / measured - 1 with the defaults */
    double *err_cal;    /* ... with the calibration */
};

/* Median of |v| (v is overwritten). */
static double median_abs(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i]);
    return mdl_median(v, n);
}

static double mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : NAN;
}

static int calibrate_check(int argc, char **argv)
{
    const char *csv = NULL, *scenario = NULL, *cal = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int need = !strcmp(a, "--calibration") || !strcmp(a, "--scenario");
        if (need && i + 1 >= argc) {
            cli_errorf("calibrate check: %s needs a value", a);
            return LLMSIM_EXIT_USAGE;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return LLMSIM_EXIT_OK;
        } else if (!strcmp(a, "--calibration")) {
            cal = argv[++i];
        } else if (!strcmp(a, "--scenario")) {
            scenario = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_errorf("calibrate check: unknown option '%s' (see `llmsim calibrate --help`)", a);
            return LLMSIM_EXIT_USAGE;
        } else if (csv == NULL) {
            csv = a;
        } else {
            cli_errorf("calibrate check: more than one measurement file given ('%s' and '%s')", csv, a);
            return LLMSIM_EXIT_USAGE;
        }
    }
    if (csv == NULL || cal == NULL) {
        cli_errorf("calibrate check: %s (usage: llmsim calibrate check STEPS.csv --calibration CAL.yaml)",
                   csv == NULL ? "no measurement file given" : "no calibration given (--calibration CAL.yaml)");
        return LLMSIM_EXIT_USAGE;
    }
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct mdl_cal_step *rows = NULL;
    size_t n = 0;
    int rc = read_rows(csv, scenario, &rows, &n);
    if (rc != LLMSIM_EXIT_OK)
        return rc;
    struct check_group *g = calloc(n, sizeof *g);
    double *all_def = calloc(n, sizeof *all_def), *all_cal = calloc(n, sizeof *all_cal);
    size_t ng = 0;
    rc = LLMSIM_EXIT_OK;
    if (g == NULL || all_def == NULL || all_cal == NULL) {
        cli_errorf("calibrate check: out of memory");
        rc = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    /* The calibration's parameters for the last GPU and engine seen (rows
     * come grouped, so the file is read once per group). */
    char last_gpu[MDL_ID_MAX] = "";
    int last_engine = -1;
    double over[MDL_N_PARAMS];
    for (size_t i = 0; i < n; i++) {
        const struct mdl_cal_step *s = &rows[i];
        if (strcmp(last_gpu, s->gpu.id) != 0 || last_engine != (int)s->engine) {
            struct mdl_roofline r;
            mdl_roofline_init(&r, &s->gpu, &s->llm, s->tp, s->weights, s->kv);
            mdl_roofline_set_engine(&r, s->engine);
            for (int k = 0; k < MDL_N_PARAMS; k++)
                mdl_roofline_param_set(&r, k, NAN);
            if (scn_calibration_apply_file(cal, &r, &err) != 0) {
                print_error(&err);
                rc = LLMSIM_EXIT_USAGE;
                goto done;
            }
            for (int k = 0; k < MDL_N_PARAMS; k++)
                over[k] = mdl_roofline_param_get(&r, k);
            snprintf(last_gpu, sizeof last_gpu, "%s", s->gpu.id);
            last_engine = (int)s->engine;
        }
        double def[MDL_N_PARAMS], p[MDL_N_PARAMS];
        mdl_cal_step_defaults(s, def);
        for (int k = 0; k < MDL_N_PARAMS; k++)
            p[k] = isnan(over[k]) ? def[k] : over[k];
        double ed = mdl_cal_step_predict(s, def) / s->time_s - 1, ec = mdl_cal_step_predict(s, p) / s->time_s - 1;
        char key[160];
        snprintf(key, sizeof key, "%s %s tp %d %s", s->gpu.id, s->llm.id, s->tp, mdl_cal_kind_name(s->kind));
        size_t j = 0;
        while (j < ng && strcmp(g[j].key, key) != 0)
            j++;
        if (j == ng) {
            snprintf(g[ng].key, sizeof g[ng].key, "%s", key);
            g[ng].err_def = calloc(n, sizeof(double));
            g[ng].err_cal = calloc(n, sizeof(double));
            if (g[ng].err_def == NULL || g[ng].err_cal == NULL) {
                cli_errorf("calibrate check: out of memory");
                free(g[ng].err_def);
                free(g[ng].err_cal);
                rc = LLMSIM_EXIT_RUNTIME;
                goto done;
            }
            ng++;
        }
        g[j].err_def[g[j].n] = ed;
        g[j].err_cal[g[j].n] = ec;
        g[j].n++;
        all_def[i] = ed;
        all_cal[i] = ec;
    }
    printf("%-44s %6s %18s %18s %10s\n", "rows (gpu, model, tp, kind)", "n", "median |err| def", "median |err| cal",
           "mean cal");
    for (size_t j = 0; j < ng; j++) {
        double mc = mean(g[j].err_cal, g[j].n);
        printf("%-44s %6zu %17.1f%% %17.1f%% %+9.1f%%\n", g[j].key, g[j].n, 100 * median_abs(g[j].err_def, g[j].n),
               100 * median_abs(g[j].err_cal, g[j].n), 100 * mc);
    }
    double mc = mean(all_cal, n);
    printf("%-44s %6zu %17.1f%% %17.1f%% %+9.1f%%\n", "all", n, 100 * median_abs(all_def, n),
           100 * median_abs(all_cal, n), 100 * mc);
done:
    for (size_t j = 0; g != NULL && j < ng; j++) {
        free(g[j].err_def);
        free(g[j].err_cal);
    }
    free(g);
    free(all_def);
    free(all_cal);
    free(rows);
    return rc;
}

int cmd_calibrate(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LLMSIM_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        usage(stdout);
        return LLMSIM_EXIT_OK;
    }
    if (!strcmp(sub, "steps"))
        return calibrate_steps(argc - 1, argv + 1);
    if (!strcmp(sub, "requests"))
        return cmd_calibrate_requests(argc - 1, argv + 1);
    if (!strcmp(sub, "check"))
        return calibrate_check(argc - 1, argv + 1);
    cli_errorf("calibrate: unknown source '%s' (steps, requests or check; see `llmsim calibrate --help`)",
               sub);
    return LLMSIM_EXIT_USAGE;
}
