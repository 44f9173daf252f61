/* The key-table walker and typed value readers of the scenario loader.
 *
 * Numbers are parsed whole-string (strtod must consume every character), so
 * "12abc" and "1,000" are errors rather than 12 and 1; NaN and infinities are
 * refused everywhere.  Every error names the key path and points at the
 * offending node. */
#include "loader_internal.h"
#include "infile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "llmsim/scenario.h"

int scn_fail(struct scn_ctx *c, const struct yn_node *n, const char *fmt, ...)
{
    char msg[LLMSIM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = n && n->file ? n->file : "";
    int line = n ? n->line : 0, col = n ? n->col : 0;
    if (c->path_len > 0)
        return llmsim_error_set(c->err, LLMSIM_ESCENARIO, file, line, col, "%s: %s", c->path, msg);
    return llmsim_error_set(c->err, LLMSIM_ESCENARIO, file, line, col, "%s", msg);
}

size_t scn_path_push(struct scn_ctx *c, const char *key)
{
    size_t mark = c->path_len;
    int k = snprintf(c->path + c->path_len, sizeof c->path - c->path_len, "%s%s",
                     c->path_len ? "." : "", key);
    if (k > 0)
        c->path_len += (size_t)k;
    if (c->path_len >= sizeof c->path)
        c->path_len = sizeof c->path - 1;
    return mark;
}

size_t scn_path_push_index(struct scn_ctx *c, size_t i)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", i);
    return scn_path_push(c, buf);
}

size_t scn_path_push_item(struct scn_ctx *c, const struct yn_node *item, size_t i)
{
    const struct yn_node *nm = yn_get(item, "name");
    if (nm == NULL)
        nm = yn_get(item, "segment");
    if (nm && nm->type == YN_SCALAR && !yn_is_null(nm) && strlen(nm->str) < 64 &&
        strpbrk(nm->str, ". \t") == NULL)
        return scn_path_push(c, nm->str);
    return scn_path_push_index(c, i);
}

void scn_path_pop(struct scn_ctx *c, size_t mark)
{
    c->path_len = mark;
    c->path[mark] = '\0';
}

size_t scn_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

const char *scn_did_you_mean(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = scn_edit_distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    /* Accept up to a third of the word's length in edits (at least 1, at
     * most 3), so "rate_per_sec" finds "rate_per_s" but "x" finds nothing. */
    size_t limit = wl / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    if (best_d <= limit)
        return best;
    /* A truncated key ("rate" for "rate_per_s") is a likely slip too. */
    if (wl >= 3)
        for (size_t i = 0; i < n; i++)
            if (strncmp(cands[i], word, wl) == 0)
                return cands[i];
    return NULL;
}

int scn_get_scalar(struct scn_ctx *c, const struct yn_node *n, const char **out)
{
    if (n->type != YN_SCALAR)
        return scn_fail(c, n, "expected a value, got %s", yn_type_name(n->type));
    if (yn_is_null(n))
        return scn_fail(c, n, "missing value");
    *out = n->str;
    return 0;
}

/* Whether s is a decimal number as the reference defines it: an optional
 * sign, digits with an optional fraction (at least one digit in all) and an
 * optional exponent.  strtod alone would also take hexadecimal ("0x10",
 * "0x1p10"), "nan", "inf" and leading blanks. */
static int is_decimal_number(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

int scn_get_double(struct scn_ctx *c, const struct yn_node *n, double *out)
{
    if (n->type != YN_SCALAR)
        return scn_fail(c, n, "expected a number, got %s", yn_type_name(n->type));
    if (yn_is_null(n))
        return scn_fail(c, n, "missing value (expected a number)");
    const char *s = n->str;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return scn_fail(c, n, "expected a number, got '%s'", s);
    if (!n->plain)
        return scn_fail(c, n, "expected a number, got the quoted or tagged string \"%s\" (write it plain, without quotes or tag)", s);
    if (!is_decimal_number(s))
        return scn_fail(c, n, "expected a decimal number, got '%s' (hexadecimal, nan and inf are not accepted)", s);
    if (!isfinite(v) || errno == ERANGE)
        return scn_fail(c, n, "number '%s' is not finite or out of range", s);
    *out = v;
    return 0;
}

int scn_get_bool(struct scn_ctx *c, const struct yn_node *n, int *out)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, n, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes") || !strcmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no") || !strcmp(s, "off")) {
        *out = 0;
        return 0;
    }
    return scn_fail(c, n, "expected true or false, got '%s'", s);
}

int scn_get_name(struct scn_ctx *c, const struct yn_node *n, char *buf, size_t size)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, n, &s);
    if (rc)
        return rc;
    if (strlen(s) >= size)
        return scn_fail(c, n, "name is longer than %zu characters", size - 1);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return scn_fail(c, n, "name contains a control character");
    memcpy(buf, s, strlen(s) + 1);
    return 0;
}

/* Formats a value and a limit it was compared with so that they read
 * differently when they differ: %g, or all the digits needed when %g would
 * print both alike (100000001 against 1e+08). */
static void fmt_pair(double v, double lim, char *vb, char *lb, size_t size)
{
    snprintf(vb, size, "%g", v);
    snprintf(lb, size, "%g", lim);
    if (strcmp(vb, lb) == 0 && v != lim) {
        for (int prec = 9; prec <= 17; prec++) {
            snprintf(vb, size, "%.*g", prec, v);
            snprintf(lb, size, "%.*g", prec, lim);
            if (strcmp(vb, lb) != 0)
                break;
        }
    }
}

static int check_range(struct scn_ctx *c, const struct yn_node *n, double v, double lo, double hi,
                       unsigned flags)
{
    char vb[40], lb[40];
    if ((flags & SCN_KF_LO_OPEN) ? !(v > lo) : !(v >= lo)) {
        fmt_pair(v, lo, vb, lb, sizeof vb);
        return scn_fail(c, n, "must be %s %s, got %s", (flags & SCN_KF_LO_OPEN) ? ">" : ">=", lb, vb);
    }
    if (v > hi) {
        fmt_pair(v, hi, vb, lb, sizeof vb);
        return scn_fail(c, n, "%s is too large (at most %s)", vb, lb);
    }
    return 0;
}

/* Reads a file of numbers for an empirical distribution: one value per line,
 * optionally followed by a comma or blanks and a weight; '#' starts a
 * comment. */
static int read_empirical_file(struct scn_ctx *c, const struct yn_node *n, const char *rel,
                               struct mdl_dist *d)
{
    char path[1024];
    if (rel[0] == '/' || c->dir[0] == '\0')
        snprintf(path, sizeof path, "%s", rel);
    else
        snprintf(path, sizeof path, "%s/%s", c->dir, rel);
    FILE *f = NULL;
    char why[160];
    int orc = scn_open_input(path, SCN_EMPIRICAL_MAX_BYTES, &f, why, sizeof why);
    if (orc == -1)
        return scn_fail(c, n, "cannot open '%s': %s", path, strerror(errno));
    if (orc != 0)
        return scn_fail(c, n, "'%s' %s", path, why);
    size_t cap = 0, cnt = 0;
    double *vals = NULL, *wts = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    int rc = 0, lineno = 0, any_weight = 0;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)got) != NULL) {
            rc = llmsim_error_set(c->err, LLMSIM_ESCENARIO, path, lineno,
                                  (int)((char *)memchr(line, '\0', (size_t)got) - line) + 1,
                                  "line contains a NUL byte (not a text file?)");
            break;
        }
        if (got > 1000) {
            rc = llmsim_error_set(c->err, LLMSIM_ESCENARIO, path, lineno, 1,
                                  "line is longer than 1000 characters");
            break;
        }
        char *h = strchr(line, '#');
        if (h)
            *h = '\0';
        for (char *p = line; *p; p++)
            if (*p == ',')
                *p = ' ';
        char *p = line, *end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r')
            continue;
        double v = strtod(p, &end), w = 1.0;
        if (end == p || !isfinite(v)) {
            rc = llmsim_error_set(c->err, LLMSIM_ESCENARIO, path, lineno, (int)(p - line) + 1,
                                  "expected a number");
            break;
        }
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != '\n' && *p != '\r') {
            w = strtod(p, &end);
            if (end == p || !isfinite(w)) {
                rc = llmsim_error_set(c->err, LLMSIM_ESCENARIO, path, lineno, (int)(p - line) + 1,
                                      "expected a weight");
                break;
            }
            any_weight = 1;
        }
        if (cnt >= SCN_EMPIRICAL_MAX_VALUES) {
            rc = llmsim_error_set(c->err, LLMSIM_ELIMIT, path, lineno, 1,
                                  "more than 10^7 values; refusing to load");
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 256;
            double *nv = realloc(vals, cap * sizeof *nv), *nw;
            if (nv)
                vals = nv;
            nw = nv ? realloc(wts, cap * sizeof *nw) : NULL;
            if (!nv || !nw) {
                rc = llmsim_error_set(c->err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
                break;
            }
            wts = nw;
        }
        vals[cnt] = v;
        wts[cnt] = w;
        cnt++;
    }
    if (rc == 0 && ferror(f))
        rc = scn_fail(c, n, "cannot read '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (rc == 0 && cnt == 0)
        rc = scn_fail(c, n, "'%s' holds no values", path);
    if (rc == 0) {
        struct llmsim_error e2;
        llmsim_error_clear(&e2);
        if (mdl_dist_empirical(d, cnt, vals, any_weight ? wts : NULL, &e2) != 0)
            rc = scn_fail(c, n, "%s", e2.msg);
    }
    free(vals);
    free(wts);
    return rc;
}

static int read_number_list(struct scn_ctx *c, const struct yn_node *n, double **out, size_t *cnt)
{
    if (n->type != YN_SEQ)
        return scn_fail(c, n, "expected a list of numbers, got %s", yn_type_name(n->type));
    if (n->n == 0)
        return scn_fail(c, n, "list is empty");
    double *v = malloc(n->n * sizeof *v);
    if (v == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, n->file, 0, 0, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        size_t m = scn_path_push_index(c, i);
        int rc = scn_get_double(c, n->vals[i], &v[i]);
        scn_path_pop(c, m);
        if (rc) {
            free(v);
            return rc;
        }
    }
    *out = v;
    *cnt = n->n;
    return 0;
}

int scn_get_dist(struct scn_ctx *c, const struct yn_node *n, struct mdl_dist *d, double lo, double hi)
{
    memset(d, 0, sizeof *d);
    d->min = -INFINITY;
    d->max = INFINITY;
    if (n->type == YN_SCALAR) {
        double v;
        int rc = scn_get_double(c, n, &v);
        if (rc)
            return rc;
        if ((rc = check_range(c, n, v, lo, hi, 0)))
            return rc;
        mdl_dist_constant(d, v);
        return 0;
    }
    if (n->type != YN_MAP)
        return scn_fail(c, n, "expected a number or a distribution mapping {dist: ..., mean: ...}, got %s",
                        yn_type_name(n->type));
    static const char *const keys[] = {"dist", "mean", "cv", "sd", "min", "max", "values", "weights", "path"};
    const size_t nkeys = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->str;
        size_t j;
        for (j = 0; j < nkeys; j++)
            if (!strcmp(k, keys[j]))
                break;
        if (j == nkeys) {
            const char *near = scn_did_you_mean(k, keys, nkeys);
            size_t m = scn_path_push(c, k);
            int rc = near ? scn_fail(c, n->keys[i], "unknown distribution key '%s' (did you mean '%s'?)", k, near)
                          : scn_fail(c, n->keys[i],
                                     "unknown distribution key '%s' (expected one of dist, mean, cv, sd, min, max, values, weights, path)",
                                     k);
            scn_path_pop(c, m);
            return rc;
        }
    }
    const struct yn_node *kn = yn_get(n, "dist");
    if (kn == NULL)
        return scn_fail(c, n, "distribution needs 'dist' (constant, exponential, lognormal, gamma, normal, uniform, geometric or empirical)");
    const char *kname = NULL;
    size_t m = scn_path_push(c, "dist");
    int rc = scn_get_scalar(c, kn, &kname);
    if (rc == 0 && mdl_dist_kind_parse(kname, &d->kind) != 0) {
        static const char *const kinds[] = {"constant", "exponential", "lognormal", "gamma",
                                            "normal", "uniform", "geometric", "empirical"};
        const char *near = scn_did_you_mean(kname, kinds, 8);
        rc = near ? scn_fail(c, kn, "unknown distribution '%s' (did you mean '%s'?)", kname, near)
                  : scn_fail(c, kn, "unknown distribution '%s' (expected constant, exponential, lognormal, gamma, normal, uniform, geometric or empirical)", kname);
    }
    scn_path_pop(c, m);
    if (rc)
        return rc;

    /* Which keys each kind takes. */
    int want_mean = d->kind != MDL_DIST_UNIFORM && d->kind != MDL_DIST_EMPIRICAL;
    int want_spread = d->kind == MDL_DIST_LOGNORMAL || d->kind == MDL_DIST_GAMMA || d->kind == MDL_DIST_NORMAL;
    int want_data = d->kind == MDL_DIST_EMPIRICAL;
    struct {
        const char *key;
        int allowed;
    } rules[] = {{"mean", want_mean}, {"cv", want_spread}, {"sd", want_spread},
                 {"values", want_data}, {"weights", want_data}, {"path", want_data}};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct yn_node *v = yn_get(n, rules[i].key);
        if (v && !rules[i].allowed) {
            size_t mm = scn_path_push(c, rules[i].key);
            rc = scn_fail(c, v, "'%s' does not apply to a %s distribution", rules[i].key, kname);
            scn_path_pop(c, mm);
            return rc;
        }
    }
    double val;
    const struct yn_node *v;
#define READ_OPT(key, field)                                                  \
    if ((v = yn_get(n, key)) != NULL) {                                       \
        size_t mm = scn_path_push(c, key);                                    \
        rc = scn_get_double(c, v, &val);                                      \
        scn_path_pop(c, mm);                                                  \
        if (rc)                                                               \
            return rc;                                                        \
        field = val;                                                          \
    }
    READ_OPT("mean", d->mean)
    READ_OPT("sd", d->sd)
    READ_OPT("min", d->min)
    READ_OPT("max", d->max)
#undef READ_OPT
    if (want_mean && yn_get(n, "mean") == NULL)
        return scn_fail(c, n, "a %s distribution needs 'mean'", kname);
    if (want_spread) {
        const struct yn_node *cvn = yn_get(n, "cv"), *sdn = yn_get(n, "sd");
        if (cvn && sdn)
            return scn_fail(c, n, "give either 'cv' or 'sd', not both");
        if (!cvn && !sdn)
            return scn_fail(c, n, "a %s distribution needs 'cv' or 'sd'", kname);
        if (cvn) {
            size_t mm = scn_path_push(c, "cv");
            rc = scn_get_double(c, cvn, &val);
            if (rc == 0 && val < 0)
                rc = scn_fail(c, cvn, "must be >= 0, got %g", val);
            if (rc == 0 && val > SCN_DIST_CV_MAX)
                rc = scn_fail(c, cvn, "%g is too large (at most %g)", val, SCN_DIST_CV_MAX);
            scn_path_pop(c, mm);
            if (rc)
                return rc;
            d->sd = val * fabs(d->mean);
        } else if (d->sd < 0) {
            size_t mm = scn_path_push(c, "sd");
            rc = scn_fail(c, sdn, "must be >= 0, got %g", d->sd);
            scn_path_pop(c, mm);
            return rc;
        } else if (d->kind != MDL_DIST_NORMAL && d->mean > 0 && d->sd > SCN_DIST_CV_MAX * d->mean) {
            size_t mm = scn_path_push(c, "sd");
            rc = scn_fail(c, sdn, "%g is more than %g times the mean (cv at most %g)", d->sd,
                          SCN_DIST_CV_MAX, SCN_DIST_CV_MAX);
            scn_path_pop(c, mm);
            return rc;
        }
    }
    if (d->kind == MDL_DIST_UNIFORM && (yn_get(n, "min") == NULL || yn_get(n, "max") == NULL))
        return scn_fail(c, n, "a uniform distribution needs 'min' and 'max'");
    if (want_data) {
        const struct yn_node *vals = yn_get(n, "values"), *w = yn_get(n, "weights"),
                             *p = yn_get(n, "path");
        if ((vals == NULL) == (p == NULL))
            return scn_fail(c, n, "an empirical distribution needs exactly one of 'values' or 'path'");
        if (p) {
            const char *s = NULL;
            size_t mm = scn_path_push(c, "path");
            rc = scn_get_scalar(c, p, &s);
            if (rc == 0 && w)
                rc = scn_fail(c, w, "'weights' cannot be combined with 'path' (put weights in the file)");
            if (rc == 0)
                rc = read_empirical_file(c, p, s, d);
            scn_path_pop(c, mm);
            if (rc)
                return rc;
        } else {
            double *xs = NULL, *ws = NULL;
            size_t nx = 0, nw = 0;
            size_t mm = scn_path_push(c, "values");
            rc = read_number_list(c, vals, &xs, &nx);
            scn_path_pop(c, mm);
            if (rc == 0 && w) {
                mm = scn_path_push(c, "weights");
                rc = read_number_list(c, w, &ws, &nw);
                if (rc == 0 && nw != nx)
                    rc = scn_fail(c, w, "%zu weights for %zu values", nw, nx);
                scn_path_pop(c, mm);
            }
            if (rc == 0) {
                struct llmsim_error e2;
                llmsim_error_clear(&e2);
                if (mdl_dist_empirical(d, nx, xs, ws, &e2) != 0)
                    rc = scn_fail(c, n, "%s", e2.msg);
            }
            free(xs);
            free(ws);
            if (rc)
                return rc;
        }
    }
    struct llmsim_error e2;
    llmsim_error_clear(&e2);
    if (mdl_dist_prepare(d, &e2) != 0) {
        mdl_dist_free(d);
        return scn_fail(c, n, "%s", e2.msg);
    }
    double mean = mdl_dist_mean(d);
    if (!(mean >= lo) || mean > hi) {
        mdl_dist_free(d);
        return scn_fail(c, n, "distribution mean %g is outside [%g, %g]", mean, lo, hi);
    }
    if (isinf(d->min) && lo >= 0) {
        /* A non-negative quantity: draws below lo are clamped to it, so a
         * max below lo would make every draw lo. */
        if (d->max < lo) {
            const struct yn_node *mx = yn_get(n, "max");
            size_t mm = scn_path_push(c, "max");
            rc = scn_fail(c, mx ? mx : n, "must be >= %g (the implicit min, the lower end of the range), got %g",
                          lo, d->max);
            scn_path_pop(c, mm);
            mdl_dist_free(d);
            return rc;
        }
        d->min = lo;
    }
    return 0;
}

static int read_typed(struct scn_ctx *c, const struct scn_key *k, const struct yn_node *v, void *obj)
{
    char *base = (char *)obj + k->off;
    double x;
    int rc;
    switch (k->type) {
    case SCN_K_DOUBLE:
        if ((rc = scn_get_double(c, v, &x)) || (rc = check_range(c, v, x, k->lo, k->hi, k->flags)))
            return rc;
        *(double *)base = x;
        return 0;
    case SCN_K_INT:
    case SCN_K_U64:
        if ((rc = scn_get_double(c, v, &x)))
            return rc;
        if (x != floor(x))
            return scn_fail(c, v, "expected a whole number, got %s", v->str);
        if ((rc = check_range(c, v, x, k->lo, k->hi, k->flags)))
            return rc;
        if (k->type == SCN_K_INT) {
            *(int *)base = (int)x;
        } else {
            /* Parse again as an integer so that seeds keep all 64 bits;
             * 2^64 and more do not fit (the double check above rounds). */
            char *end;
            errno = 0;
            unsigned long long u = strtoull(v->str, &end, 10);
            int whole = *end == '\0' && v->str[0] != '-';
            if ((whole && errno == ERANGE) || (!whole && x >= 18446744073709551616.0))
                return scn_fail(c, v, "%s is too large (at most 18446744073709551615, 2^64 - 1)", v->str);
            if (whole && errno == 0)
                *(uint64_t *)base = (uint64_t)u;
            else
                *(uint64_t *)base = (uint64_t)x;
        }
        return 0;
    case SCN_K_BOOL:
        return scn_get_bool(c, v, (int *)base);
    case SCN_K_NAME:
        return scn_get_name(c, v, base, SIM_NAME_MAX);
    case SCN_K_STRDUP: {
        const char *s = NULL;
        if ((rc = scn_get_scalar(c, v, &s)))
            return rc;
        char *dup = strdup(s);
        if (dup == NULL)
            return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
        free(*(char **)base);
        *(char **)base = dup;
        return 0;
    }
    case SCN_K_STRBUF: {
        const char *s = NULL;
        if ((rc = scn_get_scalar(c, v, &s)))
            return rc;
        size_t size = (size_t)k->hi;
        if (strlen(s) >= size)
            return scn_fail(c, v, "longer than %zu characters", size - 1);
        memcpy(base, s, strlen(s) + 1);
        return 0;
    }
    case SCN_K_DIST: {
        struct mdl_dist *d = (struct mdl_dist *)base;
        mdl_dist_free(d);
        return scn_get_dist(c, v, d, k->lo, k->hi);
    }
    case SCN_K_FN:
        return k->fn(c, v, obj);
    }
    return LLMSIM_EINVAL;
}

int scn_process_map(struct scn_ctx *c, const struct yn_node *n, const struct scn_key *table,
                    size_t n_keys, void *obj)
{
    if (n->type != YN_MAP)
        return scn_fail(c, n, "expected a mapping, got %s", yn_type_name(n->type));
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->str;
        size_t j;
        for (j = 0; j < n_keys; j++)
            if (!strcmp(k, table[j].key))
                break;
        if (j < n_keys)
            continue;
        const char *cands[64] = {0};
        size_t nc = n_keys < 64 ? n_keys : 64;
        for (j = 0; j < nc; j++)
            cands[j] = table[j].key;
        const char *near = scn_did_you_mean(k, cands, nc);
        if (near)
            return scn_fail(c, n->keys[i], "unknown key '%s' (did you mean '%s'?)", k, near);
        char list[400] = "";
        size_t len = 0;
        for (j = 0; j < nc && len < sizeof list - 40; j++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", cands[j]);
        return scn_fail(c, n->keys[i], "unknown key '%s' (expected one of: %s)", k, list);
    }
    for (size_t j = 0; j < n_keys; j++) {
        const struct yn_node *v = yn_get(n, table[j].key);
        if (v == NULL) {
            if (table[j].flags & SCN_KF_REQUIRED)
                return scn_fail(c, n, "missing required key '%s'", table[j].key);
            continue;
        }
        size_t m = scn_path_push(c, table[j].key);
        int rc = read_typed(c, &table[j], v, obj);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    return 0;
}
