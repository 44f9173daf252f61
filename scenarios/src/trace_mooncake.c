/* Mooncake trace reader (kvcache-ai/Mooncake, FAST'25 release, traces/):
 * JSON lines, one request per line,
 *     {"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2]}
 * timestamp in milliseconds from the trace start, hash_ids the remapped
 * hashes of the prompt's 512-token blocks (the last block may be partial), so
 * len(hash_ids) == ceil(input_length / 512).
 *
 * A small hand-written parser of exactly that shape (no JSON library): each
 * non-blank line is one object with exactly those four keys, in any order;
 * unknown and duplicate keys are errors, as are numbers of the wrong kind
 * (fractions or negatives where a count is expected) and a block count that
 * does not match input_length.  Every error is located at file:line:col (byte
 * column, 1-based).  Times become seconds relative to the earliest row and
 * rows are sorted by time (stable), like the Azure reader. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "infile.h"

/* Longest line accepted: ceil(SIM_MAX_TOKENS / 512) ids of up to 10 digits
 * with separators need about 240 KB; leave room for whitespace. */
#define MC_MAX_LINE (4u << 20)
#define MC_MAX_NUMBER 64 /* characters in one number */

/* ---- line reader (handles any line length up to MC_MAX_LINE and NUL bytes) ---- */

struct mc_reader {
    FILE *f;
    char chunk[65536];
    size_t pos, len;
    int eof;
    char *line;
    size_t line_len, line_cap;
};

/* Reads the next line (without its '\n') into r->line / r->line_len.
 * Returns 1 when a line was read, 0 at end of file, -1 on a line that is too
 * long, -2 when out of memory, -3 on a read error. */
static int mc_next_line(struct mc_reader *r)
{
    r->line_len = 0;
    int got = 0;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                return got;
            r->len = fread(r->chunk, 1, sizeof r->chunk, r->f);
            r->pos = 0;
            if (r->len == 0) {
                r->eof = 1;
                if (ferror(r->f))
                    return -3;
                return got;
            }
        }
        got = 1;
        const char *start = r->chunk + r->pos;
        const char *nl = memchr(start, '\n', r->len - r->pos);
        size_t take = nl ? (size_t)(nl - start) : r->len - r->pos;
        if (r->line_len + take > MC_MAX_LINE)
            return -1;
        if (r->line_len + take + 1 > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap : 4096;
            while (cap < r->line_len + take + 1)
                cap *= 2;
            char *nb = realloc(r->line, cap);
            if (nb == NULL)
                return -2;
            r->line = nb;
            r->line_cap = cap;
        }
        memcpy(r->line + r->line_len, start, take);
        r->line_len += take;
        r->line[r->line_len] = '\0';
        r->pos += take;
        if (nl) {
            r->pos++;
            return 1;
        }
    }
}

/* ---- one-line JSON object parser ---- */

enum mc_key { K_TIMESTAMP, K_INPUT, K_OUTPUT, K_HASH, K_COUNT };
static const char *const mc_key_names[K_COUNT] = {"timestamp", "input_length", "output_length", "hash_ids"};

struct mc_parser {
    const char *path;
    int lineno;
    const char *s; /* the line */
    size_t len;
    size_t i; /* cursor */
    struct llmsim_error *err;
    /* hash ids of the whole file, in file order (grown here) */
    uint32_t *ids;
    size_t n_ids, cap_ids;
};

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int mc_fail(const struct mc_parser *p, int code, size_t at, const char *fmt, ...)
{
    char msg[LLMSIM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int col = at >= (size_t)INT32_MAX ? INT32_MAX : (int)at + 1;
    return llmsim_error_set(p->err, code, p->path, p->lineno, col, "%s", msg);
}

static void mc_skip_ws(struct mc_parser *p)
{
    while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' || p->s[p->i] == '\n'))
        p->i++;
}

/* A description of the character at the cursor, for "expected X, found Y". */
static const char *mc_found(const struct mc_parser *p, char *buf, size_t n)
{
    if (p->i >= p->len)
        return "end of line";
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '\0')
        return "a NUL byte";
    if (c < 0x20 || c >= 0x7f)
        snprintf(buf, n, "byte 0x%02x", c);
    else
        snprintf(buf, n, "'%c'", c);
    return buf;
}

static int mc_expect(struct mc_parser *p, char c, const char *what)
{
    if (p->i < p->len && p->s[p->i] == c) {
        p->i++;
        return 0;
    }
    char buf[16];
    return mc_fail(p, LLMSIM_ESCENARIO, p->i, "expected %s, found %s", what, mc_found(p, buf, sizeof buf));
}

/* Scans a JSON number at the cursor (strict grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?).
 * Sets *neg, *integral (no fraction or exponent) and leaves the cursor after it. */
static int mc_scan_number(struct mc_parser *p, const char *key, int *neg, int *integral)
{
    size_t start = p->i;
    const char *s = p->s;
    *neg = 0;
    *integral = 1;
    if (p->i < p->len && s[p->i] == '-') {
        *neg = 1;
        p->i++;
    }
    if (p->i >= p->len || s[p->i] < '0' || s[p->i] > '9') {
        if (*neg)
            return mc_fail(p, LLMSIM_ESCENARIO, p->i, "expected a digit after '-' in %s", key);
        char buf[16];
        return mc_fail(p, LLMSIM_ESCENARIO, start, "expected a number for %s, found %s", key, mc_found(p, buf, sizeof buf));
    }
    if (s[p->i] == '0' && p->i + 1 < p->len && s[p->i + 1] >= '0' && s[p->i + 1] <= '9')
        return mc_fail(p, LLMSIM_ESCENARIO, start, "leading zeros are not allowed in JSON numbers (%s)", key);
    while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
        p->i++;
    if (p->i < p->len && s[p->i] == '.') {
        *integral = 0;
        p->i++;
        if (p->i >= p->len || s[p->i] < '0' || s[p->i] > '9')
            return mc_fail(p, LLMSIM_ESCENARIO, p->i, "expected a digit after '.' in %s", key);
        while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    if (p->i < p->len && (s[p->i] == 'e' || s[p->i] == 'E')) {
        *integral = 0;
        p->i++;
        if (p->i < p->len && (s[p->i] == '+' || s[p->i] == '-'))
            p->i++;
        if (p->i >= p->len || s[p->i] < '0' || s[p->i] > '9')
            return mc_fail(p, LLMSIM_ESCENARIO, p->i, "expected a digit in the exponent of %s", key);
        while (p->i < p->len && s[p->i] >= '0' && s[p->i] <= '9')
            p->i++;
    }
    if (p->i - start > MC_MAX_NUMBER)
        return mc_fail(p, LLMSIM_ESCENARIO, start, "number is too long for %s", key);
    return 0;
}

/* A whole number in [0, max] at the cursor. */
static int mc_parse_uint(struct mc_parser *p, const char *key, uint64_t max, const char *max_text, uint64_t *out)
{
    size_t start = p->i;
    int neg, integral;
    int rc = mc_scan_number(p, key, &neg, &integral);
    if (rc)
        return rc;
    if (!integral)
        return mc_fail(p, LLMSIM_ESCENARIO, start, "%s must be a whole number (no fraction or exponent)", key);
    uint64_t v = 0;
    int over = 0;
    for (size_t k = start + (size_t)neg; k < p->i; k++) {
        unsigned d = (unsigned)(p->s[k] - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    if (neg && (v != 0 || over))
        return mc_fail(p, LLMSIM_ESCENARIO, start, "%s must not be negative", key);
    if (over || v > max)
        return mc_fail(p, LLMSIM_ESCENARIO, start, "%s is out of range (at most %s)", key, max_text);
    *out = v;
    return 0;
}

static int mc_push_id(struct mc_parser *p, uint32_t id)
{
    if (p->n_ids == p->cap_ids) {
        size_t cap = p->cap_ids ? p->cap_ids * 2 : 65536;
        if (cap > SIZE_MAX / sizeof *p->ids)
            return llmsim_error_set(p->err, LLMSIM_ENOMEM, p->path, 0, 0, "out of memory");
        uint32_t *nb = realloc(p->ids, cap * sizeof *nb);
        if (nb == NULL)
            return llmsim_error_set(p->err, LLMSIM_ENOMEM, p->path, 0, 0, "out of memory");
        p->ids = nb;
        p->cap_ids = cap;
    }
    p->ids[p->n_ids++] = id;
    return 0;
}

/* The hash_ids array at the cursor; appends to p->ids. */
static int mc_parse_hash_ids(struct mc_parser *p)
{
    int rc = mc_expect(p, '[', "'[' to start the hash_ids array");
    if (rc)
        return rc;
    mc_skip_ws(p);
    if (p->i < p->len && p->s[p->i] == ']') {
        p->i++;
        return 0;
    }
    for (;;) {
        mc_skip_ws(p);
        uint64_t v;
        if ((rc = mc_parse_uint(p, "hash_ids element", UINT32_MAX, "4294967295", &v)) != 0)
            return rc;
        if ((rc = mc_push_id(p, (uint32_t)v)) != 0)
            return rc;
        mc_skip_ws(p);
        if (p->i < p->len && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        return mc_expect(p, ']', "',' or ']' in hash_ids");
    }
}

struct mc_row {
    double t_ms;
    uint32_t in, out;
    size_t order;
    uint64_t off; /* first id in the file-order id array */
    uint32_t cnt;
};

/* Parses the object on the current line into *r (the cursor is at '{'). */
static int mc_parse_object(struct mc_parser *p, struct mc_row *r)
{
    int rc = mc_expect(p, '{', "'{' (one JSON object per line)");
    if (rc)
        return rc;
    int seen[K_COUNT] = {0};
    size_t hash_col = 0;
    size_t first_id = p->n_ids;
    mc_skip_ws(p);
    if (p->i < p->len && p->s[p->i] == '}') {
        /* empty object: reported as a missing key below */
    } else {
        for (;;) {
            mc_skip_ws(p);
            size_t key_at = p->i;
            if ((rc = mc_expect(p, '"', "'\"' to start a key")) != 0)
                return rc;
            size_t ks = p->i;
            while (p->i < p->len && p->s[p->i] != '"') {
                unsigned char c = (unsigned char)p->s[p->i];
                if (c == '\\')
                    return mc_fail(p, LLMSIM_ESCENARIO, p->i, "escape sequences are not allowed in keys");
                if (c < 0x20)
                    return mc_fail(p, LLMSIM_ESCENARIO, p->i, "control character in a key");
                p->i++;
            }
            if (p->i >= p->len)
                return mc_fail(p, LLMSIM_ESCENARIO, key_at, "unterminated key string");
            size_t klen = p->i - ks;
            p->i++;
            int k = 0;
            while (k < K_COUNT && !(strlen(mc_key_names[k]) == klen && memcmp(mc_key_names[k], p->s + ks, klen) == 0))
                k++;
            if (k == K_COUNT) {
                char key[48], hint[96] = "";
                if (klen < sizeof key) {
                    memcpy(key, p->s + ks, klen);
                    key[klen] = '\0';
                    size_t best = SIZE_MAX;
                    int bk = -1;
                    for (int j = 0; j < K_COUNT; j++) {
                        size_t d = scn_edit_distance(key, mc_key_names[j]);
                        if (d < best) {
                            best = d;
                            bk = j;
                        }
                    }
                    if (bk >= 0 && best <= 3 && best < klen)
                        snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", mc_key_names[bk]);
                }
                return mc_fail(p, LLMSIM_ESCENARIO, key_at,
                               "unknown key \"%.*s\"%s; a mooncake row has exactly timestamp, input_length, "
                               "output_length and hash_ids",
                               (int)(klen > 40 ? 40 : klen), p->s + ks, hint);
            }
            if (seen[k])
                return mc_fail(p, LLMSIM_ESCENARIO, key_at, "duplicate key \"%s\"", mc_key_names[k]);
            seen[k] = 1;
            mc_skip_ws(p);
            if ((rc = mc_expect(p, ':', "':' after the key")) != 0)
                return rc;
            mc_skip_ws(p);
            size_t val_at = p->i;
            uint64_t v;
            switch (k) {
            case K_TIMESTAMP: {
                int neg, integral;
                if ((rc = mc_scan_number(p, "timestamp", &neg, &integral)) != 0)
                    return rc;
                char buf[MC_MAX_NUMBER + 1];
                size_t nlen = p->i - val_at;
                memcpy(buf, p->s + val_at, nlen);
                buf[nlen] = '\0';
                double ms = strtod(buf, NULL);
                if (!isfinite(ms))
                    return mc_fail(p, LLMSIM_ESCENARIO, val_at, "timestamp is out of range");
                if (ms < 0)
                    return mc_fail(p, LLMSIM_ESCENARIO, val_at,
                                   "timestamp must not be negative (milliseconds from the trace start)");
                r->t_ms = ms + 0.0; /* -0 becomes 0 */
                break;
            }
            case K_INPUT:
            case K_OUTPUT:
                if ((rc = mc_parse_uint(p, mc_key_names[k], (uint64_t)SIM_MAX_TOKENS, "10000000", &v)) != 0)
                    return rc;
                if (k == K_INPUT)
                    r->in = (uint32_t)v;
                else
                    r->out = (uint32_t)v;
                break;
            default:
                hash_col = val_at;
                if ((rc = mc_parse_hash_ids(p)) != 0)
                    return rc;
                break;
            }
            mc_skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            break;
        }
    }
    size_t close_at = p->i;
    if ((rc = mc_expect(p, '}', "',' or '}' after a value")) != 0)
        return rc;
    for (int k = 0; k < K_COUNT; k++)
        if (!seen[k])
            return mc_fail(p, LLMSIM_ESCENARIO, close_at, "missing key \"%s\"", mc_key_names[k]);
    mc_skip_ws(p);
    if (p->i < p->len) {
        char buf[16];
        return mc_fail(p, LLMSIM_ESCENARIO, p->i, "unexpected %s after the object (one object per line)",
                       mc_found(p, buf, sizeof buf));
    }
    size_t cnt = p->n_ids - first_id;
    uint64_t need = ((uint64_t)r->in + SCN_MOONCAKE_BLOCK_TOKENS - 1) / SCN_MOONCAKE_BLOCK_TOKENS;
    if (cnt != need)
        return mc_fail(p, LLMSIM_ESCENARIO, hash_col,
                       "hash_ids has %zu block%s but input_length %u needs ceil(%u / %u) = %llu", cnt,
                       cnt == 1 ? "" : "s", r->in, r->in, SCN_MOONCAKE_BLOCK_TOKENS, (unsigned long long)need);
    r->off = first_id;
    r->cnt = (uint32_t)cnt;
    return 0;
}

static int mc_cmp_row(const void *a, const void *b)
{
    const struct mc_row *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

int scn_trace_read_mooncake(struct sim_trace *t, const char *path, struct llmsim_error *err)
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
    struct mc_reader *rd = calloc(1, sizeof *rd);
    if (rd == NULL) {
        fclose(f);
        return llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    }
    rd->f = f;
    struct mc_parser p = {.path = path, .err = err};
    struct mc_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        int got = mc_next_line(rd);
        if (got == 0)
            break;
        p.lineno++;
        if (got == -1) {
            rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, p.lineno, 1,
                                  "line is longer than %u bytes, too long for a mooncake trace", MC_MAX_LINE);
            break;
        }
        if (got == -2) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
            break;
        }
        if (got == -3) {
            rc = llmsim_error_set(err, LLMSIM_EIO, path, p.lineno, 0, "read error");
            break;
        }
        p.s = rd->line;
        p.len = rd->line_len;
        p.i = 0;
        if (p.lineno == 1 && p.len >= 3 && memcmp(p.s, "\xef\xbb\xbf", 3) == 0)
            p.i = 3; /* UTF-8 byte order mark */
        mc_skip_ws(&p);
        if (p.i == p.len)
            continue; /* blank line */
        struct mc_row r = {0};
        r.order = n;
        if ((rc = mc_parse_object(&p, &r)) != 0)
            break;
        if (n == cap) {
            if (cap >= (size_t)SIM_MAX_REQUESTS) {
                rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, p.lineno, 1, "trace has more than %llu rows",
                                      (unsigned long long)SIM_MAX_REQUESTS);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            struct mc_row *nr = realloc(rows, cap * sizeof *nr);
            if (nr == NULL) {
                rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
                break;
            }
            rows = nr;
        }
        rows[n++] = r;
    }
    fclose(f);
    free(rd->line);
    free(rd);
    if (rc == 0 && n == 0)
        rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, p.lineno ? p.lineno : 1, 1, "trace has no requests");
    if (rc == 0) {
        qsort(rows, n, sizeof *rows, mc_cmp_row);
        t->t_s = malloc(n * sizeof *t->t_s);
        t->input_tokens = malloc(n * sizeof *t->input_tokens);
        t->output_tokens = malloc(n * sizeof *t->output_tokens);
        t->hash_off = malloc((n + 1) * sizeof *t->hash_off);
        t->hash_ids = malloc((p.n_ids ? p.n_ids : 1) * sizeof *t->hash_ids);
        if (!t->t_s || !t->input_tokens || !t->output_tokens || !t->hash_off || !t->hash_ids) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        } else {
            uint64_t off = 0;
            for (size_t i = 0; i < n; i++) {
                t->t_s[i] = (rows[i].t_ms - rows[0].t_ms) / 1000.0;
                t->input_tokens[i] = rows[i].in;
                t->output_tokens[i] = rows[i].out;
                t->hash_off[i] = off;
                if (rows[i].cnt)
                    memcpy(t->hash_ids + off, p.ids + rows[i].off, rows[i].cnt * sizeof *t->hash_ids);
                off += rows[i].cnt;
            }
            t->hash_off[n] = off;
            t->block_tokens = SCN_MOONCAKE_BLOCK_TOKENS;
            t->n = n;
        }
    }
    free(rows);
    free(p.ids);
    if (rc) {
        free(t->t_s);
        free(t->input_tokens);
        free(t->output_tokens);
        free(t->hash_off);
        free(t->hash_ids);
        memset(t, 0, sizeof *t);
    }
    return rc;
}
