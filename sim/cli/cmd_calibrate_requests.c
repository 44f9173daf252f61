/* llmsim calibrate requests: fit the roofline step-time model of one
 * self-hosted deployment to per-request measurements of a real run by
 * replaying them through the simulator (analysis/src/calib_requests.c has
 * the method, docs/calibrate.md the reasons), write the calibration file and
 * print the report.
 *
 * With --evaluate nothing is fitted: the measurements are replayed with the
 * defaults, with the scenario's parameters as loaded and, with --calibration,
 * with a calibration file's, and the errors are printed (a calibration made
 * on one model's run, checked on another model's run on the same GPU).
 *
 * The file is written under a temporary name beside -o and renamed onto it
 * only when complete. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "llmsim/calib_requests.h"
#include "llmsim/calibrate.h"
#include "llmsim/scenario.h"

static void usage(FILE *f)
{
    fputs(
        "usage: llmsim calibrate requests REQUESTS.csv --scenario S.yaml [--deployment NAME]\n"
        "                                 -o CAL.yaml [--folds K] [--params P,...|all]\n"
        "                                 [--replicates R] [--threads N] [--quiet]\n"
        "       llmsim calibrate requests REQUESTS.csv --scenario S.yaml [--deployment NAME]\n"
        "                                 --evaluate [--calibration CAL.yaml]\n"
        "\n"
        "Fits the hardware and engine parameters of the roofline step-time model of one\n"
        "self-hosted deployment of the scenario (the only one, or --deployment) to the\n"
        "per-request times of a real run, by replaying its arrivals through the simulator:\n"
        "the workload becomes exactly these requests (times from the first arrival), all\n"
        "routed to the deployment, one replication, no warm-up.  The objective is the\n"
        "squared log error of each request's TTFT and TPOT; parameters the data cannot pin\n"
        "down keep their defaults (`fitted: false`).  Writes CAL.yaml for\n"
        "`latency: {model: roofline, calibration: CAL.yaml}` and prints the report: values\n"
        "with 95% intervals, median errors of TTFT, TPOT and E2E in sample and k-fold held\n"
        "out, warnings.\n"
        "\n"
        "REQUESTS.csv has a header with the columns arrival_s, input_tokens, output_tokens,\n"
        "ttft_s and e2e_s (seconds; TTFT and E2E measured from the arrival; other columns are\n"
        "ignored), one request per line.  The scenario describes the deployment as it ran:\n"
        "GPU, model, tp, engine, scheduler limits, replicas.\n"
        "\n"
        "  -o, --output CAL.yaml   calibration file to write (required unless --evaluate)\n"
        "  --scenario S.yaml       the scenario with the deployment (required)\n"
        "  --deployment NAME       the deployment the measurements come from (default: the\n"
        "                          scenario's only self-hosted roofline deployment)\n"
        "  --folds K               k of the held-out errors (default 5, 0 = none)\n"
        "  --params P,...|all      the parameters to fit (names as in the file, e.g.\n"
        "                          mbu,step_overhead_ms; all = every one the engine and tp\n"
        "                          allow and the data identify); default mfu,mbu, the two\n"
        "                          that one run pins down and that transfer to other models\n"
        "  --replicates R          jittered replays averaged per evaluation (default 4)\n"
        "  --threads N             replays run at once (default: the CPUs); the result is\n"
        "                          the same for any N\n"
        "  --evaluate              fit nothing: print the errors of the defaults and of the\n"
        "                          scenario's parameters as loaded\n"
        "  --calibration CAL.yaml  with --evaluate: also the errors with this calibration\n"
        "  --quiet                 print nothing but errors\n"
        "\n"
        "Exit codes: 0 ok, 1 the fit or the write failed, 2 bad input (FILE:LINE:COL: message).\n",
        f);
}

struct opts {
    const char *csv, *scenario, *deployment, *out, *calibration;
    int evaluate, quiet;
    struct ana_creq_options fit;
};

static void print_error(const struct llmsim_error *err)
{
    char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 32];
    llmsim_error_format(err, msg, sizeof msg);
    fprintf(stderr, "%s\n", msg);
}

/* A whole number in [lo, hi]; -1 (with a message) otherwise. */
static int whole(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        cli_errorf("calibrate requests: %s needs a whole number from %ld to %ld, got '%s'", opt, lo,
                   hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --params a,b,c into the bit mask. */
static int parse_params(const char *s, unsigned *mask)
{
    *mask = 0;
    if (!strcmp(s, "all"))
        return 0; /* every candidate */
    char buf[512];
    if (strlen(s) >= sizeof buf) {
        cli_errorf("calibrate requests: --params is too long");
        return -1;
    }
    strcpy(buf, s);
    for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        int i = mdl_roofline_param_find(tok);
        if (i < 0) {
            const char *names[MDL_N_PARAMS];
            for (int k = 0; k < MDL_N_PARAMS; k++)
                names[k] = mdl_roofline_params[k].name;
            const char *near = scn_did_you_mean(tok, names, MDL_N_PARAMS);
            if (near != NULL)
                cli_errorf(
                    "calibrate requests: unknown parameter '%s' in --params (did you mean '%s'?)",
                    tok, near);
            else
                cli_errorf("calibrate requests: unknown parameter '%s' in --params", tok);
            return -1;
        }
        *mask |= 1u << i;
    }
    if (*mask == 0) {
        cli_errorf("calibrate requests: --params names no parameter");
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    ana_creq_options_default(&o->fit);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int need = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--scenario") ||
                   !strcmp(a, "--deployment") || !strcmp(a, "--folds") || !strcmp(a, "--params") ||
                   !strcmp(a, "--threads") || !strcmp(a, "--calibration") ||
                   !strcmp(a, "--replicates");
        if (need && i + 1 >= argc) {
            cli_errorf("calibrate requests: %s needs a value", a);
            return -1;
        }
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            o->out = argv[++i];
        } else if (!strcmp(a, "--scenario")) {
            o->scenario = argv[++i];
        } else if (!strcmp(a, "--deployment")) {
            o->deployment = argv[++i];
        } else if (!strcmp(a, "--calibration")) {
            o->calibration = argv[++i];
        } else if (!strcmp(a, "--folds")) {
            if (whole(a, argv[++i], 0, 64, &v) != 0)
                return -1;
            if (v == 1) {
                cli_errorf("calibrate requests: --folds needs 0 (none) or at least 2");
                return -1;
            }
            o->fit.folds = (int)v;
        } else if (!strcmp(a, "--threads")) {
            if (whole(a, argv[++i], 1, 16, &v) != 0)
                return -1;
            o->fit.threads = (int)v;
        } else if (!strcmp(a, "--replicates")) {
            if (whole(a, argv[++i], 1, 64, &v) != 0)
                return -1;
            o->fit.replicates = (int)v;
        } else if (!strcmp(a, "--params")) {
            if (parse_params(argv[++i], &o->fit.only) != 0)
                return -1;
        } else if (!strcmp(a, "--evaluate")) {
            o->evaluate = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_errorf(
                "calibrate requests: unknown option '%s' (see `llmsim calibrate requests --help`)",
                a);
            return -1;
        } else if (o->csv == NULL) {
            o->csv = a;
        } else {
            cli_errorf("calibrate requests: more than one measurement file given ('%s' and '%s')",
                       o->csv, a);
            return -1;
        }
    }
    if (o->csv == NULL) {
        cli_errorf("calibrate requests: no measurement file given (usage: llmsim calibrate "
                   "requests REQUESTS.csv "
                   "--scenario S.yaml -o CAL.yaml)");
        return -1;
    }
    if (o->scenario == NULL) {
        cli_errorf("calibrate requests: no scenario given (--scenario S.yaml describes the "
                   "deployment that ran)");
        return -1;
    }
    if (!o->evaluate && o->out == NULL) {
        cli_errorf("calibrate requests: no output file given (-o CAL.yaml), or --evaluate");
        return -1;
    }
    if (o->calibration != NULL && !o->evaluate) {
        cli_errorf("calibrate requests: --calibration goes with --evaluate (a fit starts from the "
                   "defaults)");
        return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void errors_header(void)
{
    printf("  %-26s %-5s %10s %10s %8s %13s %10s\n", "parameters", "", "measured", "simulated",
           "mean", "median |err|", "mean err");
}

/* One block of rows: the means and errors of TTFT, TPOT and E2E. */
static void errors_rows(const char *label, const struct ana_creq_errors *e)
{
    static const char *const kinds[3] = {"TTFT", "TPOT", "E2E"};
    static const double scale[3] = {1e3, 1e3, 1};
    static const char *const unit[3] = {"ms", "ms", "s"};
    for (int k = 0; k < 3; k++) {
        const char *lab = k == 0 ? label : "";
        if (!(e->mean_meas[k] > 0)) {
            printf("  %-26s %-5s %10s %10s %8s %13s %10s\n", lab, kinds[k], "-", "-", "-", "-",
                   "-");
            continue;
        }
        char m[32], p[32];
        snprintf(m, sizeof m, "%.4g %s", e->mean_meas[k] * scale[k], unit[k]);
        snprintf(p, sizeof p, "%.4g %s", e->mean_pred[k] * scale[k], unit[k]);
        printf("  %-26s %-5s %10s %10s %+7.1f%% %12.1f%% %+9.1f%%\n", lab, kinds[k], m, p,
               100 * (e->mean_pred[k] / e->mean_meas[k] - 1), 100 * e->median_abs[k],
               100 * e->mean_signed[k]);
    }
}

static int evaluate(const struct opts *o, const struct sim_scenario *sc, int dep,
                    const struct ana_creq_data *d)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    double def[MDL_N_PARAMS], loaded[MDL_N_PARAMS], cal[MDL_N_PARAMS];
    ana_creq_defaults(sc, dep, def);
    for (int i = 0; i < MDL_N_PARAMS; i++)
        loaded[i] = mdl_roofline_param_get(&sc->deployments[dep].roofline, i);
    if (o->calibration != NULL) {
        struct mdl_roofline r = sc->deployments[dep].roofline;
        for (int i = 0; i < MDL_N_PARAMS; i++)
            mdl_roofline_param_set(&r, i, def[i]);
        if (scn_calibration_apply_file(o->calibration, &r, &err) != 0) {
            print_error(&err);
            return LLMSIM_EXIT_USAGE;
        }
        for (int i = 0; i < MDL_N_PARAMS; i++)
            cal[i] = mdl_roofline_param_get(&r, i);
    }
    struct {
        const char *label;
        const double *p;
    } rows[3] = {{"defaults", def}, {"the scenario as loaded", loaded}, {"the calibration", cal}};
    int nrows = o->calibration != NULL ? 3 : 2;
    if (!o->quiet) {
        const struct sim_deployment_cfg *dc = &sc->deployments[dep];
        printf("%s: %zu requests replayed on deployment %s (%s, %s, tp %d, %s, %d replica%s)\n\n",
               o->csv, d->n, dc->name, dc->model, dc->roofline.gpu.id, dc->tp,
               mdl_engine_name(dc->engine), dc->replicas, dc->replicas == 1 ? "" : "s");
        errors_header();
    }
    for (int k = 0; k < nrows; k++) {
        struct ana_creq_errors e;
        if (ana_creq_evaluate(sc, dep, rows[k].p, d, &o->fit, &e, &err) != 0) {
            print_error(&err);
            return err.code == LLMSIM_EINVAL ? LLMSIM_EXIT_USAGE : LLMSIM_EXIT_RUNTIME;
        }
        if (!o->quiet) {
            errors_rows(rows[k].label, &e);
            if (e.rejected)
                printf("  (%zu requests never fit one replica's KV memory and are left out)\n",
                       e.rejected);
        }
    }
    return LLMSIM_EXIT_OK;
}

int cmd_calibrate_requests(int argc, char **argv)
{
    struct opts o;
    int pr = parse(argc, argv, &o);
    if (pr != 0)
        return pr > 0 ? LLMSIM_EXIT_OK : LLMSIM_EXIT_USAGE;

    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct ana_creq_data d;
    int rc = ana_creq_read(&d, o.csv, &err);
    if (rc != 0) {
        print_error(&err);
        return rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
    }
    struct sim_scenario sc;
    rc = scn_load_file(&sc, o.scenario, NULL, 0, &err);
    if (rc != 0) {
        print_error(&err);
        ana_creq_data_free(&d);
        return rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
    }
    int exit_code = LLMSIM_EXIT_USAGE, dep = -1;
    struct ana_creq_result *res = NULL;
    if (ana_creq_deployment(&sc, o.deployment, &dep, &err) != 0) {
        cli_errorf("calibrate requests: %s: %s", o.scenario, err.msg);
        goto done;
    }
    if (o.evaluate) {
        exit_code = evaluate(&o, &sc, dep, &d);
        goto done;
    }
    {
        /* Before the fit, which simulates for minutes. */
        const char *in[66] = {o.csv, o.calibration};
        size_t n_in = 2 + cli_scenario_inputs(&sc, o.scenario, in + 2, 64);
        if ((exit_code = cli_check_output("calibrate requests", "-o", o.out, CLI_OUT_YAML, in, n_in)) != 0)
            goto done;
        exit_code = LLMSIM_EXIT_USAGE;
    }
    res = calloc(1, sizeof *res);
    if (res == NULL) {
        cli_errorf("calibrate requests: out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    double t0 = now_s();
    rc = ana_creq_fit(&sc, dep, &d, &o.fit, res, &err);
    double t1 = now_s();
    if (rc != 0) {
        if (err.msg[0])
            cli_errorf("calibrate requests: %s", err.msg);
        else
            cli_errorf("calibrate requests: %s", llmsim_strerror(rc));
        exit_code = rc == LLMSIM_EINVAL ? LLMSIM_EXIT_USAGE : LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    if (!o.quiet) {
        const struct sim_deployment_cfg *dc = &sc.deployments[dep];
        printf("%s: %zu requests on deployment %s (%s, tp %d, %d replica%s); %ld simulations in "
               "%.1f s\n\n",
               o.csv, d.n, dc->name, dc->model, dc->tp, dc->replicas, dc->replicas == 1 ? "" : "s",
               res->replays, t1 - t0);
        mdl_cal_print(stdout, &res->entry);
        errors_header();
        errors_rows("defaults", &res->before);
        errors_rows("fitted", &res->after);
        if (o.fit.folds >= 2)
            errors_rows("held out (k-fold)", &res->heldout);
        printf("\n");
    }
    exit_code = cli_write_calibration("calibrate requests", o.out, "requests", o.csv, &res->entry, 1);
    if (exit_code == LLMSIM_EXIT_OK && !o.quiet)
        printf("calibration: %s (gpu %s, engine %s)\n", o.out, res->entry.gpu, res->entry.engine);
done:
    free(res);
    sim_scenario_free(&sc);
    ana_creq_data_free(&d);
    return exit_code;
}
