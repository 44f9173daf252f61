/* llmsim compare: headline metrics of results files side by side.
 *
 * Reads the root attributes and /summary of each file (ana_h5_read) and
 * prints one table per scope ("all", or every class or deployment with
 * --by): latency percentiles, throughput and cost per 1000 requests with its
 * lines.  For the second and later files each cell also shows the difference
 * from the first file, absolute and relative.  Means of run-level metrics
 * carry their 95% confidence half-width (from replications) where known.
 *
 * Exit status: 0, or 2 for a usage error or a file that cannot be read as an
 * llmsim results file.  A file whose run did not complete (complete = 0) is
 * compared with a warning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "llmsim/results.h"

static const char usage[] =
    "usage: llmsim compare A.h5 B.h5 ... [--by class|deployment]\n"
    "\n"
    "Prints the headline metrics of llmsim results files side by side: TTFT,\n"
    "inter-token and end-to-end latency percentiles, queueing, throughput and\n"
    "the cost per 1000 requests with its lines.  For every file after the\n"
    "first, each value is followed by its difference from the first file\n"
    "(absolute, then relative).  \"+-\" is the half-width of the 95% confidence\n"
    "interval of a mean over replications.\n"
    "\n"
    "options:\n"
    "  --by class        one table per request class instead of one for all requests\n"
    "  --by deployment   one table per deployment\n"
    "  -h, --help        show this help\n";

enum stat { ST_COUNT, ST_MEAN, ST_P50, ST_P95, ST_P99 };

/* One line of the table. */
struct headline {
    const char *label;  /* what the reader sees, units included */
    const char *metric; /* summary metric */
    enum stat stat;
    double scale; /* display = value x scale */
};

static const struct headline headlines[] = {
    {"requests", "e2e_s", ST_COUNT, 1},
    {"TTFT p50 (ms)", "ttft_s", ST_P50, 1e3},
    {"TTFT p95 (ms)", "ttft_s", ST_P95, 1e3},
    {"TTFT p99 (ms)", "ttft_s", ST_P99, 1e3},
    {"ITL p50 (ms)", "itl_s", ST_P50, 1e3},
    {"ITL p95 (ms)", "itl_s", ST_P95, 1e3},
    {"E2E p50 (s)", "e2e_s", ST_P50, 1},
    {"E2E p95 (s)", "e2e_s", ST_P95, 1},
    {"E2E p99 (s)", "e2e_s", ST_P99, 1},
    {"queue p95 (ms)", "queue_s", ST_P95, 1e3},
    {"throughput (req/s)", "throughput_rps", ST_MEAN, 1},
    {"cost / 1k req (USD)", "cost_per_1k_usd", ST_MEAN, 1},
    {"  input", "cost_input_per_1k_usd", ST_MEAN, 1},
    {"  cache write", "cost_cache_write_per_1k_usd", ST_MEAN, 1},
    {"  cache read", "cost_cache_read_per_1k_usd", ST_MEAN, 1},
    {"  output", "cost_output_per_1k_usd", ST_MEAN, 1},
    {"  GPU", "cost_gpu_per_1k_usd", ST_MEAN, 1},
};
#define N_HEADLINES (sizeof headlines / sizeof headlines[0])

#define CELL_MAX 96

/* The headline's value in a row; NaN when there is none. */
static double value_of(const struct ana_summary_row *r, const struct headline *h)
{
    if (!r)
        return NAN;
    switch (h->stat) {
    case ST_COUNT:
        return (double)r->count;
    case ST_MEAN:
        return r->mean * h->scale;
    case ST_P50:
        return r->p50 * h->scale;
    case ST_P95:
        return r->p95 * h->scale;
    case ST_P99:
        return r->p99 * h->scale;
    }
    return NAN;
}

/* "%.4g" (integers as integers), "-" for NaN; sign: always show the sign. */
static void format_number(char *buf, size_t n, double v, int sign, int integer)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else if (integer)
        snprintf(buf, n, sign ? "%+.0f" : "%.0f", v);
    else
        snprintf(buf, n, sign ? "%+.4g" : "%.4g", v);
}

/* "value", "value +-ci", and for later files " (diff, pct%)".  The
 * half-width is left out when it is zero or rounding noise. */
static void format_cell(char *buf, size_t n, const struct ana_summary_row *r,
                        const struct ana_summary_row *base, const struct headline *h, int is_first)
{
    int integer = h->stat == ST_COUNT;
    double v = value_of(r, h);
    char num[32], ci[40] = "", diff[72] = "";
    format_number(num, sizeof num, v, 0, integer);
    if (r && h->stat == ST_MEAN && isfinite(v) && isfinite(r->ci95) &&
        r->ci95 * h->scale > 1e-9 * fabs(v)) {
        char c[32];
        format_number(c, sizeof c, r->ci95 * h->scale, 0, 0);
        snprintf(ci, sizeof ci, " +-%s", c);
    }
    double b = value_of(base, h);
    if (!is_first && isfinite(v) && isfinite(b)) {
        char d[32], p[32];
        double delta = v - b;
        /* Sums in another order differ in the last bits: not a difference. */
        if (fabs(delta) <= 1e-12 * fmax(fabs(v), fabs(b)))
            delta = 0.0;
        format_number(d, sizeof d, delta, 1, integer);
        if (b != 0)
            snprintf(p, sizeof p, "%+.1f%%", 100.0 * delta / fabs(b));
        else
            snprintf(p, sizeof p, "-");
        snprintf(diff, sizeof diff, " (%s, %s)", d, p);
    }
    snprintf(buf, n, "%s%s%s", num, ci, diff);
}

/* Adds scope to the list when new.  Returns 0 or -1 (out of memory). */
static int add_scope(const char ***list, size_t *n, size_t *cap, const char *scope)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], scope) == 0)
            return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        const char **l = realloc(*list, c * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = scope;
    return 0;
}

static void print_table(const char *scope, struct ana_h5_info *info, char **paths, size_t nfiles)
{
    size_t ncols = nfiles + 1;
    char(*cells)[CELL_MAX] = calloc((N_HEADLINES + 1) * ncols, CELL_MAX);
    size_t *width = calloc(ncols, sizeof *width);
    if (!cells || !width) {
        free(cells);
        free(width);
        cli_errorf("out of memory");
        return;
    }
    snprintf(cells[0], CELL_MAX, "%s", scope);
    for (size_t f = 0; f < nfiles; f++)
        snprintf(cells[1 + f], CELL_MAX, "%s", paths[f]);
    for (size_t i = 0; i < N_HEADLINES; i++) {
        const struct headline *h = &headlines[i];
        char(*row)[CELL_MAX] = &cells[(i + 1) * ncols];
        snprintf(row[0], CELL_MAX, "%s", h->label);
        const struct ana_summary_row *base =
            ana_summary_find(info[0].rows, info[0].n_rows, scope, h->metric);
        for (size_t f = 0; f < nfiles; f++) {
            const struct ana_summary_row *r =
                ana_summary_find(info[f].rows, info[f].n_rows, scope, h->metric);
            format_cell(row[1 + f], CELL_MAX, r, base, h, f == 0);
        }
    }
    for (size_t i = 0; i <= N_HEADLINES; i++)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = strlen(cells[i * ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t i = 0; i <= N_HEADLINES; i++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[i * ncols + c];
            if (c == 0)
                printf("%-*s", (int)width[c], s);
            else
                printf("  %*s", (int)width[c], s);
        }
        putchar('\n');
    }
    free(cells);
    free(width);
}

int cmd_compare(int argc, char **argv)
{
    const char *by = NULL;
    char **paths = calloc(argc > 0 ? (size_t)argc : 1, sizeof *paths);
    if (!paths) {
        cli_errorf("out of memory");
        return LLMSIM_EXIT_RUNTIME;
    }
    size_t nfiles = 0;
    int options = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage, stdout);
            free(paths);
            return LLMSIM_EXIT_OK;
        } else if (options && strcmp(a, "--") == 0) {
            options = 0;
        } else if (options && strcmp(a, "--by") == 0) {
            if (i + 1 >= argc) {
                cli_errorf("compare: --by needs a value: class or deployment");
                free(paths);
                return LLMSIM_EXIT_USAGE;
            }
            by = argv[++i];
        } else if (options && strncmp(a, "--by=", 5) == 0) {
            by = a + 5;
        } else if (options && a[0] == '-' && a[1] != '\0') {
            cli_errorf("compare: unknown option %s (see llmsim compare --help)", a);
            free(paths);
            return LLMSIM_EXIT_USAGE;
        } else {
            paths[nfiles++] = argv[i];
        }
    }
    if (by && strcmp(by, "class") != 0 && strcmp(by, "deployment") != 0) {
        cli_errorf("compare: --by %s: expected class or deployment", by);
        free(paths);
        return LLMSIM_EXIT_USAGE;
    }
    if (nfiles == 0) {
        cli_errorf("compare: no results files (usage: llmsim compare A.h5 B.h5 ... "
                   "[--by class|deployment])");
        free(paths);
        return LLMSIM_EXIT_USAGE;
    }

    int rc = LLMSIM_EXIT_OK;
    const char **scopes = NULL;
    size_t nscopes = 0, cap = 0;
    struct ana_h5_info *info = calloc(nfiles, sizeof *info);
    if (!info) {
        cli_errorf("out of memory");
        free(paths);
        return LLMSIM_EXIT_RUNTIME;
    }
    for (size_t f = 0; f < nfiles; f++) {
        struct llmsim_error err;
        llmsim_error_clear(&err);
        if (ana_h5_read(paths[f], &info[f], &err) != 0) {
            char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 8];
            llmsim_error_format(&err, msg, sizeof msg);
            if (err.file[0])
                cli_errorf("%s", msg);
            else
                cli_errorf("%s: %s", paths[f], msg);
            rc = LLMSIM_EXIT_USAGE;
            goto out;
        }
        if (!info[f].complete)
            cli_errorf("%s: warning: the run did not complete (complete = 0); figures may be "
                       "partial",
                       paths[f]);
        if (info[f].n_rows == 0)
            cli_errorf("%s: warning: no /summary table", paths[f]);
    }

    for (size_t f = 0; f < nfiles; f++)
        printf("[%zu] %s: scenario %s, seed %llu, llmsim %s%s\n", f + 1, paths[f],
               info[f].scenario_name[0] ? info[f].scenario_name : "(unnamed)",
               (unsigned long long)info[f].seed, info[f].llmsim_version,
               info[f].complete ? "" : ", INCOMPLETE");
    putchar('\n');

    if (!by) {
        if (add_scope(&scopes, &nscopes, &cap, "all") != 0)
            goto nomem;
    } else {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s:", by);
        for (size_t f = 0; f < nfiles; f++)
            for (size_t i = 0; i < info[f].n_rows; i++)
                if (strncmp(info[f].rows[i].scope, prefix, strlen(prefix)) == 0 &&
                    add_scope(&scopes, &nscopes, &cap, info[f].rows[i].scope) != 0)
                    goto nomem;
        if (nscopes == 0)
            cli_errorf("compare: no %s scopes in these files", by);
    }
    for (size_t k = 0; k < nscopes; k++) {
        if (k > 0)
            putchar('\n');
        print_table(scopes[k], info, paths, nfiles);
    }
    goto out;

nomem:
    cli_errorf("out of memory");
    rc = LLMSIM_EXIT_RUNTIME;
out:
    for (size_t f = 0; f < nfiles; f++)
        ana_h5_info_free(&info[f]);
    free(info);
    free(scopes);
    free(paths);
    return rc;
}
