/* llmsim: natural order, flattened scenarios and their differences, and the
 * confidence intervals of differences (compare.h).
 *
 * Scenarios are flattened from libyaml's document tree (yaml_parser_load).
 * The loader expands aliases into shared nodes, so a document of a few
 * aliases could flatten into very many entries: the walk stops at
 * FLAT_MAX_ENTRIES entries and FLAT_MAX_DEPTH levels.
 *
 * Differing keys: the union of the n scenarios' key paths is kept in an
 * open-addressing hash table (FNV-1a), so that finding them is linear in the
 * total number of entries. */
#include "llmsim/compare.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define FLAT_MAX_ENTRIES 1000000u
#define FLAT_MAX_DEPTH 64

/* ---- natural order ---------------------------------------------------- */

int ana_natural_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return a ? 1 : b ? -1 : 0;
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *ea = a, *eb = b;
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            const char *da = a, *db = b;
            while (isdigit((unsigned char)*a))
                a++;
            while (isdigit((unsigned char)*b))
                b++;
            size_t la = (size_t)(a - da), lb = (size_t)(b - db);
            if (la != lb)
                return la < lb ? -1 : 1; /* more significant digits: larger */
            int c = memcmp(da, db, la);
            if (c != 0)
                return c;
            /* Equal values: fewer leading zeros first ("7" before "07"). */
            size_t za = (size_t)(da - ea), zb = (size_t)(db - eb);
            if (za != zb)
                return za < zb ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

/* ---- flattening ------------------------------------------------------- */

/* A growable string. */
struct sbuf {
    char *s;
    size_t len, cap;
};

static int sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
        return -1;
    b->s = s;
    b->cap = cap;
    return 0;
}

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (sb_reserve(b, n) != 0)
        return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static int sb_addf(struct sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int sb_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sb_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

struct walker {
    yaml_document_t *doc;
    struct ana_flat *out;
    size_t cap;       /* entries allocated in out->e */
    struct sbuf path; /* key path of the node being walked */
    int rc;           /* first failure */
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int add_entry(struct walker *w, const char *value, size_t len)
{
    if (w->out->n >= FLAT_MAX_ENTRIES)
        return w->rc = LLMSIM_ELIMIT;
    if (w->out->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct ana_flat_entry *e = realloc(w->out->e, cap * sizeof *e);
        if (!e)
            return w->rc = LLMSIM_ENOMEM;
        w->out->e = e;
        w->cap = cap;
    }
    char *k = dup_n(w->path.s ? w->path.s : "", w->path.len);
    char *v = dup_n(value, len);
    if (!k || !v) {
        free(k);
        free(v);
        return w->rc = LLMSIM_ENOMEM;
    }
    w->out->e[w->out->n].key = k;
    w->out->e[w->out->n].value = v;
    w->out->n++;
    return 0;
}

static const char *scalar_of(yaml_node_t *n, size_t *len)
{
    *len = n->data.scalar.length;
    return (const char *)n->data.scalar.value;
}

/* The scalar value of key "name" in mapping m; NULL when none. */
static yaml_node_t *mapping_name(yaml_document_t *doc, yaml_node_t *m)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
            k->data.scalar.length == 4 && memcmp(k->data.scalar.value, "name", 4) == 0 &&
            v->data.scalar.length > 0)
            return v;
    }
    return NULL;
}

static int walk(struct walker *w, yaml_node_t *n, int depth);

/* Walks child under path component comp (len bytes), then restores the path. */
static int walk_child(struct walker *w, const char *comp, size_t len, yaml_node_t *child, int depth)
{
    size_t saved = w->path.len;
    if ((saved > 0 && sb_add(&w->path, ".", 1) != 0) || sb_add(&w->path, comp, len) != 0)
        return w->rc = LLMSIM_ENOMEM;
    int rc = walk(w, child, depth + 1);
    w->path.len = saved;
    w->path.s[saved] = '\0';
    return rc;
}

static int walk(struct walker *w, yaml_node_t *n, int depth)
{
    if (!n)
        return add_entry(w, "", 0);
    if (depth > FLAT_MAX_DEPTH)
        return w->rc = LLMSIM_ELIMIT;
    size_t len;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = scalar_of(n, &len);
        return add_entry(w, s, len);
    }
    case YAML_MAPPING_NODE:
        if (n->data.mapping.pairs.start == n->data.mapping.pairs.top)
            return add_entry(w, "{}", 2);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
            const char *ks = "?";
            len = 1;
            if (k && k->type == YAML_SCALAR_NODE)
                ks = scalar_of(k, &len);
            if (walk_child(w, ks, len, yaml_document_get_node(w->doc, p->value), depth) != 0)
                return w->rc;
        }
        return 0;
    case YAML_SEQUENCE_NODE: {
        yaml_node_item_t *b = n->data.sequence.items.start, *e = n->data.sequence.items.top;
        if (b == e)
            return add_entry(w, "[]", 2);
        int scalars = 1, named = 1;
        for (yaml_node_item_t *i = b; i < e; i++) {
            yaml_node_t *c = yaml_document_get_node(w->doc, *i);
            scalars &= c && c->type == YAML_SCALAR_NODE;
            named &= c && c->type == YAML_MAPPING_NODE && mapping_name(w->doc, c) != NULL;
        }
        if (scalars) {
            struct sbuf v = {0};
            int rc = sb_add(&v, "[", 1);
            for (yaml_node_item_t *i = b; rc == 0 && i < e; i++) {
                const char *s = scalar_of(yaml_document_get_node(w->doc, *i), &len);
                rc = (i > b ? sb_add(&v, ", ", 2) : 0) || sb_add(&v, s, len);
            }
            if (rc == 0)
                rc = sb_add(&v, "]", 1);
            if (rc != 0) {
                free(v.s);
                return w->rc = LLMSIM_ENOMEM;
            }
            rc = add_entry(w, v.s, v.len);
            free(v.s);
            return rc;
        }
        for (yaml_node_item_t *i = b; i < e; i++) {
            yaml_node_t *c = yaml_document_get_node(w->doc, *i);
            char idx[32];
            const char *comp = idx;
            if (named) {
                comp = scalar_of(mapping_name(w->doc, c), &len);
            } else {
                snprintf(idx, sizeof idx, "%zu", (size_t)(i - b));
                len = strlen(idx);
            }
            if (walk_child(w, comp, len, c, depth) != 0)
                return w->rc;
        }
        return 0;
    }
    default:
        return add_entry(w, "", 0);
    }
}

int ana_flat_yaml(const char *text, struct ana_flat *out, struct llmsim_error *err)
{
    if (!out)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "no output");
    out->e = NULL;
    out->n = 0;
    if (!text)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "no scenario text");
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = llmsim_error_set(
            err, parser.error == YAML_MEMORY_ERROR ? LLMSIM_ENOMEM : LLMSIM_EINVAL, NULL,
            (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1, "not YAML: %s",
            parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return rc;
    }
    struct walker w = {.doc = &doc, .out = out};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root)
        walk(&w, root, 0);
    free(w.path.s);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (w.rc != 0) {
        ana_flat_free(out);
        return llmsim_error_set(err, w.rc, NULL, 0, 0,
                                w.rc == LLMSIM_ELIMIT ? "scenario too large or too deep to compare"
                                                      : "out of memory");
    }
    return 0;
}

const char *ana_flat_get(const struct ana_flat *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i].key, key) == 0)
            return f->e[i].value;
    return NULL;
}

void ana_flat_free(struct ana_flat *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->e[i].key);
        free(f->e[i].value);
    }
    free(f->e);
    f->e = NULL;
    f->n = 0;
}

/* ---- differing keys --------------------------------------------------- */

/* A set of strings (not owned) with their insertion order. */
struct strset {
    const char **slot; /* hash table, NULL = empty */
    size_t nslot;      /* power of two, > 2 x count */
    const char **order;
    size_t n;
};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot of s (first len bytes; s[len] need not be NUL). */
static size_t set_slot(const struct strset *t, const char *s, size_t len)
{
    size_t i = (size_t)fnv1a(s, len) & (t->nslot - 1);
    while (t->slot[i] && !(strlen(t->slot[i]) == len && memcmp(t->slot[i], s, len) == 0))
        i = (i + 1) & (t->nslot - 1);
    return i;
}

static int set_has(const struct strset *t, const char *s, size_t len)
{
    return t->nslot && t->slot[set_slot(t, s, len)] != NULL;
}

static int set_init(struct strset *t, size_t max)
{
    memset(t, 0, sizeof *t);
    t->nslot = 16;
    while (t->nslot < 2 * max + 2)
        t->nslot *= 2;
    t->slot = calloc(t->nslot, sizeof *t->slot);
    t->order = malloc((max ? max : 1) * sizeof *t->order);
    return t->slot && t->order ? 0 : -1;
}

static void set_add(struct strset *t, const char *s)
{
    size_t i = set_slot(t, s, strlen(s));
    if (!t->slot[i]) {
        t->slot[i] = s;
        t->order[t->n++] = s;
    }
}

static void set_free(struct strset *t)
{
    free(t->slot);
    free(t->order);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Whether key k is a consequence of a differing catalog choice in the set d
 * of differing keys (see compare.h). */
static int derived(const struct strset *d, const char *k)
{
    char buf[1024];
    size_t len = strlen(k);
    if (len + 16 >= sizeof buf)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (k[i] != '.')
            continue;
        /* prefix P = k[0..i): beside or under a differing P.id */
        memcpy(buf, k, i);
        memcpy(buf + i, ".id", 4);
        if (strcmp(k, buf) != 0 && set_has(d, buf, i + 3))
            return 1;
        /* P.latency.* or P.gpu_hour_usd when P's gpu or model differs */
        const char *rest = k + i + 1;
        if (strncmp(rest, "latency.", 8) == 0 || strcmp(rest, "gpu_hour_usd") == 0) {
            memcpy(buf + i, ".gpu.id", 8);
            if (set_has(d, buf, i + 7))
                return 1;
            memcpy(buf + i, ".model.id", 10);
            if (set_has(d, buf, i + 9))
                return 1;
        }
    }
    return 0;
}

int ana_flat_differing(const struct ana_flat *f, size_t n, const char ***keys, size_t *n_keys)
{
    *keys = NULL;
    *n_keys = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += f[i].n;
    struct strset all, diff;
    if (set_init(&all, total) != 0 || set_init(&diff, total) != 0) {
        set_free(&all);
        set_free(&diff);
        return LLMSIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < f[i].n; j++)
            set_add(&all, f[i].e[j].key);
    for (size_t k = 0; k < all.n; k++) {
        const char *key = all.order[k];
        const char *v0 = ana_flat_get(&f[0], key);
        int same = 1;
        for (size_t i = 1; i < n && same; i++) {
            const char *v = ana_flat_get(&f[i], key);
            same = (v == NULL) == (v0 == NULL) && (!v || strcmp(v, v0) == 0);
        }
        if (!same && strcmp(key, "output.path") != 0)
            set_add(&diff, key);
    }
    const char **out = malloc((diff.n ? diff.n : 1) * sizeof *out);
    if (!out) {
        set_free(&all);
        set_free(&diff);
        return LLMSIM_ENOMEM;
    }
    int name_differs = set_has(&diff, "name", 4);
    /* Output settings (requests table, timeseries interval, compression)
     * change no figure: listed only when nothing else differs. */
    int others = 0;
    for (size_t k = 0; k < diff.n && !others; k++)
        others = strncmp(diff.order[k], "output.", 7) != 0;
    size_t m = 0;
    for (size_t k = 0; k < diff.n; k++) {
        const char *key = diff.order[k];
        if ((name_differs && strcmp(key, "description") == 0) || derived(&diff, key) ||
            (others && strncmp(key, "output.", 7) == 0))
            continue;
        out[m++] = key;
    }
    set_free(&all);
    set_free(&diff);
    *keys = out;
    *n_keys = m;
    return 0;
}

/* ---- labels ----------------------------------------------------------- */

/* Whether another key path of the scenarios (or its X of an X.id) ends with
 * the components `suffix`; self is the key being shortened. */
static int suffix_ambiguous(const struct ana_flat *f, size_t n, const char *self,
                            const char *suffix)
{
    size_t sl = strlen(suffix);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < f[i].n; j++) {
            const char *k = f[i].e[j].key;
            if (strcmp(k, self) == 0)
                continue;
            size_t kl = strlen(k);
            for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) { /* the X of X.id */
                    if (!ends_with(k, ".id"))
                        break;
                    kl -= 3;
                }
                if (kl >= sl && memcmp(k + kl - sl, suffix, sl) == 0 &&
                    (kl == sl || k[kl - sl - 1] == '.'))
                    return 1;
            }
        }
    return 0;
}

/* Appends the display form of key: X for X.id, then the shortest unique
 * suffix of two or more components. */
static int add_short_key(struct sbuf *b, const struct ana_flat *f, size_t n, const char *key)
{
    size_t len = strlen(key);
    if (len > 3 && ends_with(key, ".id"))
        len -= 3;
    char *k = dup_n(key, len);
    if (!k)
        return -1;
    const char *s = k;
    /* Candidate suffixes from two components up to the whole key. */
    const char *cand[FLAT_MAX_DEPTH + 2];
    size_t nc = 0;
    for (const char *p = k + len; p > k && nc < FLAT_MAX_DEPTH; p--)
        if (p[-1] == '.')
            cand[nc++] = p;
    cand[nc++] = k;
    for (size_t c = 1; c < nc; c++) { /* cand[0] is the last component alone */
        if (!suffix_ambiguous(f, n, key, cand[c])) {
            s = cand[c];
            break;
        }
    }
    int rc = sb_add(b, s, strlen(s));
    free(k);
    return rc;
}

/* Appends a value for reading: numbers in %.6g, control characters as spaces. */
static int add_value(struct sbuf *b, const char *v)
{
    char *end;
    double x = strtod(v, &end);
    if (*v && !isspace((unsigned char)*v) && *end == '\0' && isfinite(x) &&
        strpbrk(v, ".eE") != NULL)
        return sb_addf(b, "%.6g", x);
    for (; *v; v++) {
        char c = (unsigned char)*v < 0x20 ? ' ' : *v;
        if (sb_add(b, &c, 1) != 0)
            return -1;
    }
    return 0;
}

char *ana_flat_label(const struct ana_flat *f, size_t n, size_t i, const char *const *keys,
                     size_t n_keys, size_t max_len)
{
    struct sbuf out = {0};
    if (sb_add(&out, "", 0) != 0)
        return NULL;
    size_t present = 0;
    for (size_t k = 0; k < n_keys; k++)
        present += ana_flat_get(&f[i], keys[k]) != NULL;
    size_t shown = 0, candidates = present ? present : n_keys;
    for (size_t k = 0; k < n_keys; k++) {
        const char *v = ana_flat_get(&f[i], keys[k]);
        if (present && !v)
            continue;
        struct sbuf item = {0};
        int rc = add_short_key(&item, f, n, keys[k]);
        rc = rc || sb_add(&item, "=", 1) || (v ? add_value(&item, v) : sb_add(&item, "(none)", 6));
        if (rc != 0) {
            free(item.s);
            free(out.s);
            return NULL;
        }
        /* Room for this item, and for ", +N more" if others follow. */
        size_t more = shown + 1 < candidates ? 16 : 0;
        size_t need = out.len + (shown ? 2 : 0) + item.len + more;
        if (shown > 0 && need > max_len) {
            free(item.s);
            break;
        }
        rc = (shown ? sb_add(&out, ", ", 2) : 0) || sb_add(&out, item.s, item.len);
        free(item.s);
        if (rc != 0) {
            free(out.s);
            return NULL;
        }
        shown++;
    }
    if (shown < candidates && sb_addf(&out, ", +%zu more", candidates - shown) != 0) {
        free(out.s);
        return NULL;
    }
    return out.s;
}

/* ---- differences ------------------------------------------------------ */

double ana_diff_paired(const double *a, const double *b, size_t n, double *dof)
{
    double mean = 0, m2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            continue;
        double d = b[i] - a[i], delta = d - mean;
        k++;
        mean += delta / (double)k;
        m2 += delta * (d - mean);
    }
    if (dof)
        *dof = k >= 2 ? (double)(k - 1) : NAN;
    if (k < 2)
        return NAN;
    double sd = sqrt(m2 / (double)(k - 1));
    return ana_t_quantile(0.975, (double)(k - 1)) * sd / sqrt((double)k);
}

/* Mean and variance (n - 1) of the finite values; *k their number. */
static void mean_var(const double *x, size_t n, size_t *k, double *mean, double *var)
{
    double m = 0, m2 = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        double delta = x[i] - m;
        c++;
        m += delta / (double)c;
        m2 += delta * (x[i] - m);
    }
    *k = c;
    *mean = m;
    *var = c >= 2 ? m2 / (double)(c - 1) : NAN;
}

double ana_diff_welch(const double *a, size_t na, const double *b, size_t nb, double *dof)
{
    size_t ka, kb;
    double ma, va, mb, vb;
    mean_var(a, na, &ka, &ma, &va);
    mean_var(b, nb, &kb, &mb, &vb);
    if (dof)
        *dof = NAN;
    if (ka < 2 || kb < 2)
        return NAN;
    double sa = va / (double)ka, sb = vb / (double)kb, s2 = sa + sb;
    if (!(s2 > 0)) {
        if (dof)
            *dof = (double)(ka + kb - 2);
        return 0.0;
    }
    double nu = s2 * s2 / (sa * sa / (double)(ka - 1) + sb * sb / (double)(kb - 1));
    if (dof)
        *dof = nu;
    return ana_t_quantile(0.975, nu) * sqrt(s2);
}

double ana_diff_welch_ci(double ci_a, double dof_a, double ci_b, double dof_b, double *dof)
{
    if (dof)
        *dof = NAN;
    if (!isfinite(ci_a) || !isfinite(ci_b) || !(dof_a >= 1) || !(dof_b >= 1) || ci_a < 0 ||
        ci_b < 0)
        return NAN;
    double sa = ci_a / ana_t_quantile(0.975, dof_a), sb = ci_b / ana_t_quantile(0.975, dof_b);
    double a2 = sa * sa, b2 = sb * sb, s2 = a2 + b2;
    if (!(s2 > 0)) {
        if (dof)
            *dof = dof_a + dof_b;
        return 0.0;
    }
    double nu = s2 * s2 / (a2 * a2 / dof_a + b2 * b2 / dof_b);
    if (dof)
        *dof = nu;
    return ana_t_quantile(0.975, nu) * sqrt(s2);
}

double ana_diff_quadrature(double ci_a, double ci_b)
{
    if (!isfinite(ci_a) || !isfinite(ci_b) || ci_a < 0 || ci_b < 0)
        return NAN;
    return hypot(ci_a, ci_b);
}
