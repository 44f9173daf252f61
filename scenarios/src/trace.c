/* Trace readers.  Azure LLM inference trace 2023 (Azure/AzurePublicDataset,
 * the trace of the Splitwise paper): CSV with a header line
 * "TIMESTAMP,ContextTokens,GeneratedTokens" and one request per line; the
 * timestamp is wall-clock text "YYYY-MM-DD HH:MM:SS.fffffff" (UTC, a real
 * date from 1970 to 2100) or, in derived files, a number of seconds written
 * as digits with an optional fraction.  Errors name the file line and column.  Times are made relative to the
 * earliest row and rows are sorted by time (stable), so unsorted files replay
 * correctly. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "llmsim/scenario.h"
#include "infile.h"

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

/* Reads exactly `width` digits at s into *v; returns 0 or -1. */
static int fixed_digits(const char *s, int width, int *v)
{
    int x = 0;
    for (int i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : d[m - 1];
}

#define TRACE_YEAR_MIN 1970
#define TRACE_YEAR_MAX 2100
#define TRACE_SECONDS_MAX 4102444800.0 /* 2100-01-01 00:00:00 in seconds since 1970 */

/* Parses a timestamp field of len bytes: "YYYY-MM-DD HH:MM:SS" with an
 * optional fraction of digits, or a number of seconds written as digits
 * with an optional fraction (no sign, blank, exponent or hexadecimal).
 * Returns 0 and seconds in *t, or -1 with the 0-based column of the fault in
 * *col and the reason in *why. */
static int parse_time(const char *s, size_t len, double *t, size_t *col, const char **why)
{
    *col = 0;
    if (len == 0) {
        *why = "empty TIMESTAMP";
        return -1;
    }
    if (len >= 5 && s[4] == '-') {
        int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
        /* Layout: YYYY-MM-DD HH:MM:SS[.f...] */
        static const char *const layout = "dddd-dd-dd dd:dd:dd";
        for (size_t i = 0; layout[i]; i++) {
            if (i >= len) {
                *col = i;
                *why = "truncated TIMESTAMP (expected YYYY-MM-DD HH:MM:SS[.fffffff])";
                return -1;
            }
            int ok = layout[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == layout[i];
            if (!ok) {
                *col = i;
                *why = "bad TIMESTAMP (expected YYYY-MM-DD HH:MM:SS[.fffffff], digits only)";
                return -1;
            }
        }
        fixed_digits(s, 4, &y);
        fixed_digits(s + 5, 2, &mo);
        fixed_digits(s + 8, 2, &d);
        fixed_digits(s + 11, 2, &h);
        fixed_digits(s + 14, 2, &mi);
        fixed_digits(s + 17, 2, &sec);
        if (y < TRACE_YEAR_MIN || y > TRACE_YEAR_MAX) {
            *why = "TIMESTAMP year out of range (1970 to 2100)";
            return -1;
        }
        if (mo < 1 || mo > 12) {
            *col = 5;
            *why = "TIMESTAMP month out of range (01 to 12)";
            return -1;
        }
        if (d < 1 || d > days_in_month(y, mo)) {
            *col = 8;
            *why = "TIMESTAMP day does not exist in that month";
            return -1;
        }
        if (h > 23 || mi > 59 || sec > 59) {
            *col = h > 23 ? 11 : mi > 59 ? 14 : 17;
            *why = h > 23 ? "TIMESTAMP hour out of range (00 to 23)"
                 : mi > 59 ? "TIMESTAMP minute out of range (00 to 59)"
                           : "TIMESTAMP second out of range (00 to 59)";
            return -1;
        }
        double frac = 0.0, scale = 0.1;
        size_t i = 19;
        if (i < len) {
            if (s[i] != '.' || i + 1 == len) {
                *col = i;
                *why = "bad TIMESTAMP fraction (expected '.' and digits after the seconds)";
                return -1;
            }
            for (i++; i < len; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    *col = i;
                    *why = "bad TIMESTAMP fraction (digits only)";
                    return -1;
                }
                frac += (s[i] - '0') * scale;
                scale /= 10;
            }
        }
        *t = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600.0 + mi * 60.0 +
             sec + frac;
        return 0;
    }
    /* Seconds: digits, optionally '.' and digits. */
    size_t i = 0, intd = 0, fracd = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, intd++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            fracd++;
    if (i != len || intd == 0 || (intd < len && s[intd] == '.' && fracd == 0) || intd > 12) {
        *col = i < len ? i : 0;
        *why = "bad TIMESTAMP (expected YYYY-MM-DD HH:MM:SS[.fffffff] or seconds written as digits, e.g. 12.5)";
        return -1;
    }
    char buf[64];
    if (len >= sizeof buf) {
        *why = "TIMESTAMP has too many digits";
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!(v <= TRACE_SECONDS_MAX)) {
        *why = "TIMESTAMP in seconds is too large (at most 4102444800, 2100-01-01)";
        return -1;
    }
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
    FILE *f = NULL;
    char why[160];
    int orc = scn_open_input(path, SCN_TRACE_MAX_BYTES, &f, why, sizeof why);
    if (orc == -1)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open trace '%s': %s", path,
                                strerror(errno));
    if (orc != 0)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "trace '%s' %s", path, why);
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    size_t cap = 0, n = 0;
    struct row *rows = NULL;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        const char *nul = memchr(line, '\0', len);
        if (nul != NULL) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, (int)(nul - line) + 1,
                                  "line contains a NUL byte (not a text file?)");
            break;
        }
        if (len > 511) {
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
        size_t tcol = 0;
        const char *twhy = NULL;
        if (parse_time(line, (size_t)(c1 - line), &r.t, &tcol, &twhy) != 0) {
            rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, lineno, (int)tcol + 1, "%s", twhy);
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
    free(line);
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
