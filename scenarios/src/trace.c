/* Trace readers.  Azure LLM inference trace 2023 (Azure/AzurePublicDataset,
 * the trace of the Splitwise paper): CSV with a header line
 * "TIMESTAMP,ContextTokens,GeneratedTokens" and one request per line; the
 * timestamp is wall-clock text "YYYY-MM-DD HH:MM:SS.fffffff" (UTC) or, in
 * derived files, a number of seconds.  Times are made relative to the
 * earliest row and rows are sorted by time (stable), so unsorted files replay
 * correctly. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

/* Parses a timestamp field; returns 0 and seconds in *t, or -1. */
static int parse_time(const char *s, size_t len, double *t)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    int y, mo, d, h, mi, n = 0;
    double sec;
    if (sscanf(buf, "%4d-%2d-%2d %2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 &&
        (size_t)n == len) {
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
            return -1;
        *t = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || !isfinite(v) || v < 0)
        return -1;
    *t = v;
    return 0;
}

static int parse_count(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)SIM_MAX_TOKENS)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

struct row {
    double t;
    uint32_t in, out;
    size_t order;
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

int scn_trace_read_azure(struct sim_trace *t, const char *path, struct llmsim_error *err)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open trace '%s': %s", path,
                                strerror(errno));
    char line[512];
    int lineno = 0, rc = 0;
    size_t cap = 0, n = 0;
    struct row *rows = NULL;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, 1, "line is too long for an azure-2023 trace");
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (lineno == 1) {
            if (strcmp(line, "TIMESTAMP,ContextTokens,GeneratedTokens") != 0) {
                rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, 1, 1,
                                      "expected the azure-2023 header 'TIMESTAMP,ContextTokens,GeneratedTokens'");
                break;
            }
            continue;
        }
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c2 == NULL || strchr(c2 + 1, ',')) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, 1, "expected 3 comma-separated fields");
            break;
        }
        struct row r = {0, 0, 0, n};
        if (parse_time(line, (size_t)(c1 - line), &r.t) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, 1,
                                  "bad TIMESTAMP (expected YYYY-MM-DD HH:MM:SS.fffffff or seconds)");
            break;
        }
        if (parse_count(c1 + 1, (size_t)(c2 - c1 - 1), &r.in) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, (int)(c1 - line) + 2,
                                  "bad ContextTokens (expected a whole number up to %.0e)", SIM_MAX_TOKENS);
            break;
        }
        if (parse_count(c2 + 1, strlen(c2 + 1), &r.out) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, (int)(c2 - line) + 2,
                                  "bad GeneratedTokens (expected a whole number up to %.0e)", SIM_MAX_TOKENS);
            break;
        }
        if (n == cap) {
            if (cap >= (size_t)SIM_MAX_REQUESTS) {
                rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, lineno, 1, "trace has more than %llu rows",
                                      (unsigned long long)SIM_MAX_REQUESTS);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            struct row *nr = realloc(rows, cap * sizeof *nr);
            if (nr == NULL) {
                rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
                break;
            }
            rows = nr;
        }
        rows[n++] = r;
    }
    if (rc == 0 && ferror(f))
        rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "read error");
    fclose(f);
    if (rc == 0 && n == 0)
        rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno ? lineno : 1, 1, "trace has no requests");
    if (rc == 0) {
        qsort(rows, n, sizeof *rows, cmp_row);
        t->t_s = malloc(n * sizeof *t->t_s);
        t->input_tokens = malloc(n * sizeof *t->input_tokens);
        t->output_tokens = malloc(n * sizeof *t->output_tokens);
        if (!t->t_s || !t->input_tokens || !t->output_tokens) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                t->t_s[i] = rows[i].t - rows[0].t;
                t->input_tokens[i] = rows[i].in;
                t->output_tokens[i] = rows[i].out;
            }
            t->n = n;
        }
    }
    free(rows);
    if (rc) {
        free(t->t_s);
        free(t->input_tokens);
        free(t->output_tokens);
        memset(t, 0, sizeof *t);
    }
    return rc;
}
