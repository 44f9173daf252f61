/* Calibration files (`llmsim calibrate ... -o CAL.yaml`) as a scenario uses
 * them: `latency: {model: roofline, calibration: CAL.yaml}`.
 *
 * The file holds one entry per (GPU, engine) it was fitted for:
 *
 *   llmsim_calibration: 1
 *   calibrations:
 *     - gpu: h100-sxm            # catalog id or inline name
 *       engine: vllm-v1          # or `any` when the data had no engine part (kernel profiles)
 *       parameters:
 *         mfu: {value: 0.61, ci95: [0.60, 0.62], fitted: true}
 *         step_overhead_ms: {value: 2.0, fitted: false}   # not identified: the default (prior)
 *
 * Values are in the units of the scenario keys (mdl_roofline_params).  Other
 * keys (the fit report, the source) are for people and are not read.  The
 * deployment takes the entry of its GPU and engine (an `any` entry when there
 * is no exact one); none is an error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "loader_internal.h"
#include "infile.h"

#define CAL_MAX_BYTES (4u << 20)

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int at_node(struct llmsim_error *err, const struct yn_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return llmsim_error_set(err, LLMSIM_ESCENARIO, n->file, n->line, n->col, "%s", msg);
}

static int read_text(const char *path, char **text, size_t *len, char *why, size_t why_size)
{
    FILE *f = NULL;
    int orc = scn_open_input(path, CAL_MAX_BYTES, &f, why, why_size);
    if (orc != 0)
        return orc;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        if (cap >= CAL_MAX_BYTES) {
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (nb == NULL)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad) {
        free(buf);
        return -1;
    }
    *text = buf;
    *len = n;
    return 0;
}

/* Reads one parameter mapping {value, ci95, fitted} into r. */
static int read_param(struct llmsim_error *err, const struct yn_node *key, const struct yn_node *v,
                      struct mdl_roofline *r)
{
    int i = mdl_roofline_param_find(key->str);
    if (i < 0) {
        const char *names[MDL_N_PARAMS];
        for (int k = 0; k < MDL_N_PARAMS; k++)
            names[k] = mdl_roofline_params[k].name;
        const char *near = scn_did_you_mean(key->str, names, MDL_N_PARAMS);
        return near ? at_node(err, key, "unknown parameter '%s' (did you mean '%s'?)", key->str, near)
                    : at_node(err, key, "unknown parameter '%s'", key->str);
    }
    const struct yn_node *val = v->type == YN_MAP ? yn_get(v, "value") : v;
    if (val == NULL || val->type != YN_SCALAR)
        return at_node(err, v, "parameter '%s' needs a number 'value'", key->str);
    char *end = NULL;
    errno = 0;
    double x = strtod(val->str, &end);
    if (end == val->str || *end != '\0' || errno != 0 || !isfinite(x))
        return at_node(err, val, "'%s' is not a number (parameter %s)", val->str, key->str);
    const struct mdl_param_desc *p = &mdl_roofline_params[i];
    double s = x / p->scale;
    if (!(p->lo_open ? s > p->lo : s >= p->lo) || !(s <= p->hi)) {
        char range[96];
        snprintf(range, sizeof range, "%s%g, %g]", p->lo_open ? "(" : "[", p->lo * p->scale, p->hi * p->scale);
        return at_node(err, val, "parameter %s is out of its range %s", key->str, range);
    }
    mdl_roofline_param_set(r, i, s);
    return 0;
}

static int apply_entry(struct llmsim_error *err, const struct yn_node *e, struct mdl_roofline *r)
{
    const struct yn_node *ps = yn_get(e, "parameters");
    if (ps == NULL || ps->type != YN_MAP)
        return at_node(err, ps ? ps : e, "a calibration entry needs a 'parameters' mapping");
    for (size_t k = 0; k < ps->n; k++) {
        int rc = read_param(err, ps->keys[k], ps->vals[k], r);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *scalar_of(const struct yn_node *map, const char *key)
{
    const struct yn_node *n = yn_get(map, key);
    return n != NULL && n->type == YN_SCALAR ? n->str : NULL;
}

int scn_calibration_apply(struct scn_ctx *c, const struct yn_node *at, const char *path, struct mdl_roofline *r)
{
    char *text = NULL;
    size_t len = 0;
    char why[160];
    int trc = read_text(path, &text, &len, why, sizeof why);
    if (trc == -2)
        return scn_fail(c, at, "calibration '%s' %s", path, why);
    if (trc != 0)
        return scn_fail(c, at, "cannot read calibration '%s': %s", path, strerror(errno));
    struct yn_node *root = NULL;
    int rc = yn_parse(text, len, path, 100000, 16, &root, c->err);
    free(text);
    if (rc)
        return rc;
    if (root == NULL || root->type != YN_MAP || yn_get(root, "llmsim_calibration") == NULL) {
        rc = llmsim_error_set(c->err, LLMSIM_ESCENARIO, path, root ? root->line : 1, root ? root->col : 1,
                              "not an llmsim calibration file (no 'llmsim_calibration' key)");
        yn_free(root);
        return rc;
    }
    const char *ver = scalar_of(root, "llmsim_calibration");
    const struct yn_node *list = yn_get(root, "calibrations");
    if (ver == NULL || strcmp(ver, "1") != 0)
        rc = at_node(c->err, yn_get(root, "llmsim_calibration"),
                     "calibration format version '%s' is not known to this llmsim (expected 1)", ver ? ver : "?");
    else if (list == NULL || list->type != YN_SEQ || list->n == 0)
        rc = at_node(c->err, list ? list : root, "a calibration file needs a non-empty 'calibrations' list%s%s", "",
                     "");
    if (rc) {
        yn_free(root);
        return rc;
    }
    const char *engine = mdl_engine_name(r->engine);
    const struct yn_node *exact = NULL, *any = NULL;
    char have[512] = "";
    size_t hl = 0;
    for (size_t i = 0; i < list->n; i++) {
        const struct yn_node *e = list->vals[i];
        const char *g = e->type == YN_MAP ? scalar_of(e, "gpu") : NULL;
        const char *en = e->type == YN_MAP ? scalar_of(e, "engine") : NULL;
        if (g == NULL || en == NULL) {
            rc = at_node(c->err, e, "a calibration entry needs 'gpu' and 'engine'");
            yn_free(root);
            return rc;
        }
        if (strcmp(en, "any") != 0 && mdl_engine_parse(en, &(enum mdl_engine){0}) != 0) {
            rc = at_node(c->err, yn_get(e, "engine"), "unknown engine '%s' in calibration", en);
            yn_free(root);
            return rc;
        }
        int k = snprintf(have + hl, sizeof have - hl, "%s%s/%s", i ? ", " : "", g, en);
        if (k > 0 && hl + (size_t)k < sizeof have)
            hl += (size_t)k;
        if (strcmp(g, r->gpu.id) != 0)
            continue;
        if (!strcmp(en, engine) && exact == NULL)
            exact = e;
        else if (!strcmp(en, "any") && any == NULL)
            any = e;
    }
    const struct yn_node *use = exact ? exact : any;
    if (use == NULL) {
        yn_free(root);
        return scn_fail(c, at,
                        "calibration '%s' is for %s, not for this deployment's GPU '%s' with engine '%s'; "
                        "calibrate on this GPU and engine, or remove the calibration",
                        path, have, r->gpu.id, engine);
    }
    rc = apply_entry(c->err, use, r);
    yn_free(root);
    return rc;
}

int scn_calibration_apply_file(const char *path, struct mdl_roofline *r, struct llmsim_error *err)
{
    struct scn_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.dir = "";
    c.file = path;
    struct yn_node at;
    memset(&at, 0, sizeof at);
    at.type = YN_SCALAR;
    at.file = path;
    at.line = 1;
    at.col = 1;
    return scn_calibration_apply(&c, &at, path, r);
}
