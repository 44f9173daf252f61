/* llmsim plan: capacity search.  The smallest (or with --maximize the
 * largest) value of one key at which the scenario's SLO holds and every
 * deployment keeps up, found by a monotone search with common random
 * numbers; with --candidates, that search for every combination of the
 * candidate keys, ranked by cost. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study.h"

#define MAX_CAND_KEYS 8
#define MAX_CANDIDATES 4096
#define EVALS_PER_CANDIDATE 64 /* point index = candidate x 64 + evaluation */
#define MIN_REPLICATIONS 4     /* percentile intervals need a few replications */
#define ESCALATE 4             /* uncertain verdicts rerun with 4x the replications, once */

static void usage(FILE *f)
{
    fputs("usage: llmsim plan [SCENARIO.yaml] --search KEY [--min A] [--max B] [--maximize]\n"
          "                   [--candidates KEY=V1,V2,...]... [--step S | --tol R] [--json] [-o OUT.h5]\n"
          "                   [--set KEY=VALUE]... [--seed N] [--replications N] [--jobs N] [--shard i/N]\n"
          "                   [--quiet] [--progress | --no-progress]\n"
          "\n"
          "Finds the smallest value of KEY (e.g. deployments.NAME.replicas) at which the scenario's\n"
          "slo holds at its percentile and every deployment is stable; --maximize finds the largest\n"
          "value that still holds (e.g. workload.arrivals.rate_per_s).  Each value is run with the\n"
          "same seeds (common random numbers) and at least 4 replications; a target is met when the\n"
          "percentile's 95% interval lies below it, missed when it lies above, and a straddling\n"
          "value is rerun with 4x the replications before its point estimate decides (marked\n"
          "'marginal').  With --candidates, the search runs for every combination of the candidate\n"
          "values and ranks them by $/hour at their answer (ties: more SLO headroom first).\n"
          "\n"
          "  --search KEY          the key to search: whole numbers when --min and --max are whole\n"
          "                        (with --maximize only for replicas, tp and max_* keys), else\n"
          "                        continuous; --step 1 forces whole numbers\n"
          "  --min A, --max B      the range (default --min 1; without --max the search doubles\n"
          "                        from --min until the answer is bracketed)\n"
          "  --maximize            the largest value that holds instead of the smallest\n"
          "  --candidates KEY=V1,V2,...  candidate values of another key (repeat for a product)\n"
          "  --tol R               continuous search: stop within R x the value (default 0.01)\n"
          "  --json                one JSON object: key, value, cost_per_hour_usd, slo_met, ...\n"
          "  -o OUT.h5             write every evaluated point (/sweep and /points) to a file\n"
          "  --shard i/N           run only the candidates with index % N == i (see llmsim merge)\n"
          "  --progress            each evaluation's progress on stderr (default: on a terminal)\n"
          "  --no-progress         never show progress\n"
          "  --quiet               print nothing but errors (with --json, the JSON only)\n"
          "  --force               evaluate values past the resource budget (see llmsim run --help)\n",
          f);
}

struct cand_key {
    char key[256];
    size_t n;
    char *vals[256];
};

struct search_ctx {
    const struct study_args *a;
    const char *key;
    size_t cand;                /* candidate index */
    struct scn_override csets[MAX_CAND_KEYS];
    size_t n_csets;
    int integer;
    int reps;                   /* replications per evaluation */
    struct study_point *evals;  /* this candidate's evaluations, in order */
    size_t n_evals;
    int failed;                 /* an evaluation failed (error printed) */
    int usage_error;
    int verbose;
};

static void fmt_value(char *buf, size_t n, double x, int integer)
{
    if (integer)
        snprintf(buf, n, "%.0f", x);
    else
        snprintf(buf, n, "%.6g", x);
}

/* ok(x): the SLO holds and every deployment is stable at KEY = x. */
static int holds(void *vctx, double x)
{
    struct search_ctx *c = vctx;
    if (c->n_evals >= EVALS_PER_CANDIDATE || study_stop)
        return -1;
    char v[64];
    fmt_value(v, sizeof v, x, c->integer);
    struct study_point *p = &c->evals[c->n_evals];
    memset(p, 0, sizeof *p);
    p->index = c->cand * EVALS_PER_CANDIDATE + c->n_evals;
    p->origin = "--search";
    for (size_t k = 0; k < c->n_csets; k++)
        if (study_point_set(p, c->csets[k].key, c->csets[k].value) != 0)
            return -1;
    if (study_point_set(p, c->key, v) != 0)
        return -1;
    c->n_evals++;
    int reps = c->reps;
    for (int round = 0; round < 2; round++) {
        if (round) {
            free(p->rows);
            p->rows = NULL;
            free(p->resolved);
            p->resolved = NULL;
            reps *= ESCALATE;
        }
        p->replications = reps;
        char what[160];
        snprintf(what, sizeof what, "plan: %s = %s", c->key, v);
        struct cli_progress prog;
        cli_progress_init(&prog, c->a->quiet ? 0 : c->a->progress, what);
        int rc = study_eval_point(c->a, p, c->a->jobs, &prog);
        cli_progress_end(&prog);
        if (rc == 1)
            return -1;
        if (rc < 0) {
            study_print_point_error(c->a, p);
            c->failed = 1;
            c->usage_error = study_failure_exit(p, 1) == LLMSIM_EXIT_USAGE;
            return -1;
        }
        struct ana_slo_check chk;
        ana_slo_check(&p->slo, p->rows, p->n_rows, &chk);
        int ok = chk.stable && chk.verdict != ANA_SLO_MISSED;
        if (chk.verdict == ANA_SLO_UNCERTAIN && round == 0 && chk.stable)
            continue;
        if (chk.verdict == ANA_SLO_UNCERTAIN)
            ok = chk.stable && chk.value <= chk.target; /* the point estimate decides */
        if (c->verbose) {
            fprintf(stderr, "plan: %s = %s: %s", c->key, v,
                    !chk.stable ? "overloaded" : ok ? "holds" : "misses the SLO");
            if (chk.metric) {
                fprintf(stderr, " (%s %.4g s", chk.metric, chk.value);
                if (isfinite(chk.ci95))
                    fprintf(stderr, " +- %.2g", chk.ci95);
                fprintf(stderr, ", target %.4g s%s)", chk.target, chk.verdict == ANA_SLO_UNCERTAIN ? ", marginal" : "");
            }
            fprintf(stderr, "%s\n", round ? " after a rerun with more replications" : "");
        }
        return ok;
    }
    return 0;
}

struct cand_result {
    size_t index;
    char label[512];
    int found;
    double value;
    const struct study_point *at; /* the evaluation at the answer */
    struct ana_slo_check chk;
    double cost_hour, cost_month, cost_1m, cost_1k;
};

static const struct study_point *find_eval(const struct search_ctx *c, double x, int integer)
{
    char v[64];
    fmt_value(v, sizeof v, x, integer);
    for (size_t i = c->n_evals; i-- > 0;)
        if (!strcmp(c->evals[i].sets[c->evals[i].n_sets - 1].value, v) && c->evals[i].rows)
            return &c->evals[i];
    return NULL;
}

static int split_list(const char *text, struct cand_key *k)
{
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || k->n >= sizeof k->vals / sizeof k->vals[0])
            return -1;
        k->vals[k->n++] = strndup(p, len);
        p += len + (comma ? 1 : 0);
        if (comma && !*p)
            return -1;
    }
    return k->n > 0 ? 0 : -1;
}

static void print_error(const struct llmsim_error *e)
{
    if (e->line > 0)
        fprintf(stderr, "%s:%d:%d: %s\n", e->file, e->line, e->col, e->msg);
    else
        fprintf(stderr, "%s: %s\n", e->file[0] ? e->file : "llmsim", e->msg);
}

int cmd_plan(int argc, char **argv)
{
    struct study_args a;
    study_args_init(&a, "plan");
    const char *key = NULL, *min_s = NULL, *max_s = NULL;
    double step = 0, tol = 0.01;
    int maximize = 0, exit_code = LLMSIM_EXIT_USAGE;
    struct cand_key ck[MAX_CAND_KEYS];
    size_t nck = 0;
    memset(ck, 0, sizeof ck);
    struct sim_scenario base;
    memset(&base, 0, sizeof base);
    struct search_ctx *ctxs = NULL;
    struct cand_result *res = NULL;
    size_t n_cand = 1, n_mine = 0;
    struct ana_h5 *h5 = NULL;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return LLMSIM_EXIT_OK;
        }
        int takes = !strcmp(o, "--search") || !strcmp(o, "--min") || !strcmp(o, "--max") ||
                    !strcmp(o, "--candidates") || !strcmp(o, "--step") || !strcmp(o, "--tol");
        if (takes && i + 1 >= argc) {
            cli_errorf("plan: %s needs a value", o);
            goto done;
        }
        if (!strcmp(o, "--search")) {
            key = argv[++i];
        } else if (!strcmp(o, "--min")) {
            min_s = argv[++i];
            if (!study_is_number(min_s)) {
                cli_errorf("plan: --min needs a number, got '%s'", min_s);
                goto done;
            }
        } else if (!strcmp(o, "--max")) {
            max_s = argv[++i];
            if (!study_is_number(max_s)) {
                cli_errorf("plan: --max needs a number, got '%s'", max_s);
                goto done;
            }
        } else if (!strcmp(o, "--step")) {
            const char *v = argv[++i];
            if (!study_is_number(v) || strtod(v, NULL) != 1) {
                cli_errorf("plan: --step takes 1 (a search over whole numbers), got '%s'", v);
                goto done;
            }
            step = 1;
        } else if (!strcmp(o, "--tol")) {
            const char *v = argv[++i];
            tol = study_is_number(v) ? strtod(v, NULL) : -1;
            if (!(tol > 0 && tol < 1)) {
                cli_errorf("plan: --tol needs a number between 0 and 1, got '%s'", v);
                goto done;
            }
        } else if (!strcmp(o, "--maximize")) {
            maximize = 1;
        } else if (!strcmp(o, "--candidates")) {
            const char *v = argv[++i], *eq = strchr(v, '=');
            if (!eq || eq == v || nck >= MAX_CAND_KEYS || (size_t)(eq - v) >= sizeof ck[0].key) {
                cli_errorf("plan: --candidates '%s' is not KEY=V1,V2,... (at most %d keys)", v, MAX_CAND_KEYS);
                goto done;
            }
            snprintf(ck[nck].key, sizeof ck[nck].key, "%.*s", (int)(eq - v), v);
            if (split_list(eq + 1, &ck[nck]) != 0) {
                cli_errorf("plan: --candidates %s: '%s' is not a list of values V1,V2,... (at most 256)", ck[nck].key,
                           eq + 1);
                nck++;
                goto done;
            }
            nck++;
        } else {
            int r = study_arg(&a, argc, argv, &i);
            if (r < 0)
                goto done;
            if (r == 0) {
                cli_errorf("plan: unknown option '%s' (see `llmsim plan --help`)", o);
                goto done;
            }
        }
    }
    if (!key) {
        cli_errorf("plan: --search KEY is required (e.g. --search deployments.NAME.replicas)");
        goto done;
    }
    if (study_shard_env(&a) != 0)
        goto done;
    double lo = min_s ? strtod(min_s, NULL) : 1, hi = max_s ? strtod(max_s, NULL) : NAN;
    if (!(lo >= 0) || (max_s && !(hi > lo))) {
        cli_errorf("plan: the range needs 0 <= --min < --max, got %g and %g", lo, hi);
        goto done;
    }
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = study_load(&a, NULL, 0, NULL, &base, &err);
    if (rc != 0) {
        print_error(&err);
        exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
        goto done;
    }
    /* The key must load at the lower bound (a located error otherwise). */
    {
        char v[64];
        snprintf(v, sizeof v, "%.15g", lo > 0 ? lo : 1);
        struct scn_override ov = {key, v};
        struct sim_scenario t;
        rc = study_load(&a, &ov, 1, "--search", &t, &err);
        sim_scenario_free(&t);
        if (rc != 0) {
            print_error(&err);
            exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
            goto done;
        }
    }
    for (size_t j = 0; j < nck; j++) {
        for (size_t k = 0; k < ck[j].n; k++) {
            struct scn_override ov = {ck[j].key, ck[j].vals[k]};
            struct sim_scenario t;
            rc = study_load(&a, &ov, 1, "--candidates", &t, &err);
            sim_scenario_free(&t);
            if (rc != 0) {
                print_error(&err);
                exit_code = rc == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
                goto done;
            }
        }
        if ((double)n_cand * (double)ck[j].n > MAX_CANDIDATES) {
            cli_errorf("plan: more than %d candidate combinations", MAX_CANDIDATES);
            goto done;
        }
        n_cand *= ck[j].n;
    }
    int integer = step == 1 || (floor(lo) == lo && (!max_s || floor(hi) == hi) && !maximize);
    if (step != 1 && maximize && floor(lo) == lo && (!max_s || floor(hi) == hi)) {
        /* A whole-number key (replicas, tp, max_batch) searched upwards. */
        const char *last = strrchr(key, '.');
        last = last ? last + 1 : key;
        integer = !strcmp(last, "replicas") || !strcmp(last, "tp") || !strncmp(last, "max_", 4);
    }
    int reps = base.replications > MIN_REPLICATIONS ? base.replications : MIN_REPLICATIONS;

    ctxs = calloc(n_cand, sizeof *ctxs);
    res = calloc(n_cand, sizeof *res);
    if (!ctxs || !res) {
        cli_errorf("out of memory");
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    char path[4096] = "";
    if (a.out) {
        if ((rc = study_open_file(&a, &base, "plan", n_cand * EVALS_PER_CANDIDATE, &h5, path, sizeof path)) != 0) {
            exit_code = rc;
            goto done;
        }
        if (ana_h5_set_attr(h5, "search_key", key, NULL, &err) != 0) {
            print_error(&err);
            exit_code = LLMSIM_EXIT_RUNTIME;
            goto done;
        }
    }
    study_catch_signals();
    int interrupted = 0, failed = 0, usage_err = 0;
    for (size_t ci = 0; ci < n_cand && !interrupted && !failed; ci++) {
        if ((int)(ci % (size_t)a.shard_n) != a.shard_i)
            continue;
        struct search_ctx *c = &ctxs[ci];
        c->a = &a;
        c->key = key;
        c->cand = ci;
        c->integer = integer;
        c->reps = reps;
        c->verbose = !a.quiet && !a.json;
        c->evals = calloc(EVALS_PER_CANDIDATE, sizeof *c->evals);
        if (!c->evals) {
            cli_errorf("out of memory");
            failed = 1;
            break;
        }
        struct cand_result *r = &res[n_mine++];
        r->index = ci;
        size_t rest = ci;
        size_t sel[MAX_CAND_KEYS];
        for (size_t j = nck; j-- > 0;) {
            sel[j] = rest % ck[j].n;
            rest /= ck[j].n;
        }
        for (size_t j = 0; j < nck; j++) {
            c->csets[j] = (struct scn_override){ck[j].key, ck[j].vals[sel[j]]};
            size_t len = strlen(r->label);
            snprintf(r->label + len, sizeof r->label - len, "%s%s=%s", j ? " " : "",
                     strrchr(ck[j].key, '.') ? strrchr(ck[j].key, '.') + 1 : ck[j].key, ck[j].vals[sel[j]]);
        }
        c->n_csets = nck;
        if (nck && c->verbose)
            fprintf(stderr, "plan: candidate %s\n", r->label);
        struct ana_search s = {.lo = lo, .hi = hi, .integer = integer, .maximize = maximize, .rel_tol = tol};
        rc = ana_plan_search(&s, holds, c, &r->value, &r->found);
        if (rc < 0) {
            if (c->failed) {
                failed = 1;
                usage_err = c->usage_error;
            } else if (study_stop) {
                interrupted = 1;
            } else {
                /* out of evaluations: report as not found */
                r->found = 0;
            }
        }
        if (r->found && (r->at = find_eval(c, r->value, integer)) != NULL) {
            const struct study_point *p = r->at;
            ana_slo_check(&p->slo, p->rows, p->n_rows, &r->chk);
            r->cost_hour = ana_row_stat(p->rows, p->n_rows, "all", "cost_per_hour_usd", "mean");
            r->cost_month = ana_row_stat(p->rows, p->n_rows, "all", "cost_per_month_usd", "mean");
            r->cost_1m = ana_row_stat(p->rows, p->n_rows, "all", "cost_per_1m_output_tokens_usd", "mean");
            r->cost_1k = ana_row_stat(p->rows, p->n_rows, "all", "cost_per_1k_usd", "mean");
        } else {
            r->found = 0;
        }
    }
    if (failed) {
        exit_code = usage_err ? LLMSIM_EXIT_USAGE : LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    /* The evaluated points to the file, in index order. */
    if (h5) {
        size_t n_total = n_cand * EVALS_PER_CANDIDATE, nf = 0;
        const struct study_point **fin = calloc(n_total, sizeof *fin);
        const char **kv[MAX_CAND_KEYS + 1] = {0};
        int ok = fin != NULL;
        for (size_t j = 0; j <= nck && ok; j++)
            ok = (kv[j] = calloc(n_total, sizeof *kv[j])) != NULL;
        for (size_t ci = 0; ci < n_cand && ok; ci++)
            for (size_t k = 0; k < ctxs[ci].n_evals; k++) {
                const struct study_point *p = &ctxs[ci].evals[k];
                if (!p->rows)
                    continue;
                if (study_write_point(h5, p, n_total, &err) != 0) {
                    print_error(&err);
                    ok = 0;
                    break;
                }
                for (size_t j = 0; j <= nck; j++)
                    kv[j][nf] = p->sets[j].value;
                fin[nf++] = p;
            }
        struct study_key_col kc[MAX_CAND_KEYS + 1];
        for (size_t j = 0; j < nck; j++)
            kc[j] = (struct study_key_col){ck[j].key, kv[j], 0};
        kc[nck] = (struct study_key_col){key, kv[nck], 1};
        for (size_t j = 0; j < nck && ok; j++) {
            kc[j].numeric = 1;
            for (size_t i = 0; i < nf; i++)
                kc[j].numeric &= study_is_number(kv[j][i]);
        }
        int wrc = ok ? study_write_sweep(h5, fin, nf, kc, nck + 1, NULL, &err) : -1;
        if (wrc == 0) {
            struct ana_h5 *h = h5;
            h5 = NULL;
            wrc = ana_h5_close(h, !interrupted, &err);
        }
        for (size_t j = 0; j <= nck; j++)
            free(kv[j]);
        free(fin);
        if (wrc != 0) {
            if (ok)
                print_error(&err);
            exit_code = LLMSIM_EXIT_RUNTIME;
            goto done;
        }
    }
    if (interrupted) {
        cli_errorf("plan: interrupted%s%s", path[0] ? "; the evaluated points are in " : "", path);
        exit_code = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    /* Rank: found first, by $/hour. */
    for (size_t i = 1; i < n_mine; i++)
        for (size_t j = i; j > 0; j--) {
            struct cand_result *x = &res[j - 1], *y = &res[j];
            int swap = (!x->found && y->found) ||
                       (x->found && y->found &&
                        (y->cost_hour < x->cost_hour ||
                         (y->cost_hour == x->cost_hour && (y->chk.headroom > x->chk.headroom ||
                                                           (y->chk.headroom == x->chk.headroom && y->index < x->index)))));
            if (!swap)
                break;
            struct cand_result t = *x;
            *x = *y;
            *y = t;
        }
    const struct cand_result *best = n_mine > 0 && res[0].found ? &res[0] : NULL;
    if (a.json) {
        printf("{\"key\": ");
        cli_json_str(stdout, key);
        printf(", \"goal\": \"%s\", \"value\": ", maximize ? "maximize" : "minimize");
        cli_json_num(stdout, best ? best->value : NAN, 10);
        printf(", \"found\": %s, \"cost_per_hour_usd\": ", best ? "true" : "false");
        cli_json_num(stdout, best ? best->cost_hour : NAN, 10);
        printf(", \"cost_per_month_usd\": ");
        cli_json_num(stdout, best ? best->cost_month : NAN, 10);
        printf(", \"slo_met\": %s, \"stable\": %s", best && best->chk.verdict != ANA_SLO_MISSED ? "true" : "false",
               best && best->chk.stable ? "true" : "false");
        if (best && best->chk.metric) {
            printf(", \"slo_metric\": \"%s\", \"slo_value_s\": ", best->chk.metric);
            cli_json_num(stdout, best->chk.value, 10);
            printf(", \"slo_target_s\": ");
            cli_json_num(stdout, best->chk.target, 10);
            printf(", \"headroom\": ");
            cli_json_num(stdout, best->chk.headroom, 10);
        }
        if (nck) {
            printf(", \"candidate\": ");
            cli_json_str(stdout, best ? best->label : "");
            printf(", \"candidates\": [");
            for (size_t i = 0; i < n_mine; i++) {
                const struct cand_result *r = &res[i];
                printf("%s\n  {\"candidate\": ", i ? "," : "");
                cli_json_str(stdout, r->label);
                printf(", \"found\": %s, \"value\": ", r->found ? "true" : "false");
                cli_json_num(stdout, r->found ? r->value : NAN, 10);
                printf(", \"cost_per_hour_usd\": ");
                cli_json_num(stdout, r->found ? r->cost_hour : NAN, 10);
                printf(", \"cost_per_month_usd\": ");
                cli_json_num(stdout, r->found ? r->cost_month : NAN, 10);
                printf(", \"cost_per_1m_output_tokens_usd\": ");
                cli_json_num(stdout, r->found ? r->cost_1m : NAN, 10);
                printf(", \"headroom\": ");
                cli_json_num(stdout, r->found ? r->chk.headroom : NAN, 10);
                printf("}");
            }
            printf("\n]");
        }
        printf("}\n");
    } else if (!a.quiet) {
        const char *goal = maximize ? "largest" : "smallest";
        const struct sim_slo_cfg *slo = &base.slo;
        if (slo->ttft_s > 0 || slo->itl_s > 0 || slo->e2e_s > 0)
            printf("plan: the %s %s at which the SLO holds at p%g", goal, key, slo->percentile);
        else
            printf("plan: the %s %s at which every deployment keeps up (the scenario sets no slo)", goal, key);
        printf(" (%d replications per value, common random numbers)\n", reps);
        if (nck) {
            printf("%-4s %-34s %10s %10s %12s %12s %9s\n", "rank", "candidate", "value", "$/hour", "$/month",
                   "$/1M out", "headroom");
            for (size_t i = 0; i < n_mine; i++) {
                const struct cand_result *r = &res[i];
                if (!r->found) {
                    printf("%-4zu %-34.34s %10s %10s %12s %12s %9s\n", i + 1, r->label, "none", "-", "-", "-", "-");
                    continue;
                }
                char v[32];
                fmt_value(v, sizeof v, r->value, integer);
                printf("%-4zu %-34.34s %10s %10.2f %12.0f %12.4g %8.0f%%\n", i + 1, r->label, v, r->cost_hour,
                       r->cost_month, r->cost_1m, isfinite(r->chk.headroom) ? 100 * r->chk.headroom : NAN);
            }
        }
        if (best) {
            char v[32];
            fmt_value(v, sizeof v, best->value, integer);
            printf("answer: %s%s%s = %s: $%.2f per hour, $%.0f per month, $%.4g per 1k requests", nck ? best->label : "",
                   nck ? ", " : "", key, v, best->cost_hour, best->cost_month, best->cost_1k);
            if (best->chk.metric)
            {
                printf("; %s p%g %.4g s", best->chk.metric, slo->percentile, best->chk.value);
                if (isfinite(best->chk.ci95))
                    printf(" (+- %.2g)", best->chk.ci95);
                printf(" against %.4g s, headroom %.0f%%", best->chk.target, 100 * best->chk.headroom);
            }
            printf("\n");
        } else {
            printf("answer: no value of %s in the range holds%s\n", key,
                   max_s ? "" : " (the search doubled 16 times)");
        }
        if (path[0])
            printf("results: %s\n", path);
    }
    exit_code = LLMSIM_EXIT_OK;
done:
    if (h5)
        ana_h5_abort(h5);
    if (ctxs)
        for (size_t ci = 0; ci < n_cand; ci++) {
            for (size_t k = 0; k < ctxs[ci].n_evals; k++)
                study_point_free(&ctxs[ci].evals[k]);
            free(ctxs[ci].evals);
        }
    free(ctxs);
    free(res);
    for (size_t j = 0; j < nck; j++)
        for (size_t k = 0; k < ck[j].n; k++)
            free(ck[j].vals[k]);
    sim_scenario_free(&base);
    return exit_code;
}
