/* Step-time measurements for `llmsim calibrate steps`: a CSV file with a
 * header naming at least the columns
 *
 *   gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms
 *
 * in any order (other columns are ignored; weights_dtype and kv_dtype are
 * read when present, bf16 otherwise), one measured step or kernel per line
 * (llmsim/calibrate.h defines the kinds).  Blank lines and lines starting
 * with '#' are skipped; a field may be double-quoted.  GPU and model names
 * are catalog ids or the names of a --scenario's inline entries, which take
 * precedence; the engine of a row is that of the scenario deployment on the
 * same GPU (and preferably model); with a scenario, a GPU none of its
 * deployments runs on is an error; without one, every row is vllm-v1.
 *
 * Every problem is reported as file:line:col at the start of the offending
 * field, the form the scenario loader uses. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/calibrate.h"
#include "llmsim/scenario.h"
#include "loader_internal.h"
#include "infile.h"

#define STEPS_MAX_ROWS 10000000u

enum col {
    C_GPU = 0,
    C_MODEL,
    C_TP,
    C_KIND,
    C_BATCH,
    C_PROMPT,
    C_CONTEXT,
    C_TIME,
    C_WEIGHTS,
    C_KV,
    N_COLS
};
#define N_REQUIRED (C_TIME + 1)
static const char *const COL_NAMES[N_COLS] = {
    "gpu",           "model",          "tp",      "kind",          "batch",
    "prompt_tokens", "context_tokens", "time_ms", "weights_dtype", "kv_dtype"};

/* One field of a line: text (NUL-terminated in the line buffer) and the
 * 1-based column where it starts. */
struct field {
    char *s;
    int col;
};

/* Splits line in place at commas; trims blanks and one pair of double
 * quotes (with "" inside meaning "); returns the number of fields, or -1
 * past max. */
static int split(char *line, struct field *f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == max)
            return -1;
        f[n].col = (int)(p - line) + 1;
        if (*p == '"') {
            char *w = ++p;
            f[n].s = w;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *w++ = *p++;
            }
            if (*p == '"')
                p++;
            char *end = w;
            while (*p && *p != ',')
                p++;
            int more = *p == ',';
            *end = '\0';
            n++;
            if (!more)
                return n;
            p++;
            continue;
        }
        f[n].s = p;
        char *c = strchr(p, ',');
        char *end = c ? c : p + strlen(p);
        char *t = end;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        int more = c != NULL;
        *t = '\0';
        n++;
        if (!more)
            return n;
        p = end + 1;
    }
}

struct reader {
    const char *path;
    const struct sim_scenario *sc;
    struct llmsim_error *err;
    int line;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(struct reader *r, int col, const char *fmt, ...)
{
    char msg[LLMSIM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return llmsim_error_set(r->err, LLMSIM_ESCENARIO, r->path, r->line, col, "%s", msg);
}

static int number(struct reader *r, const struct field *f, const char *name, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(f->s, &end);
    if (f->s[0] == '\0' || end == f->s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return fail(r, f->col, "%s: '%s' is not a number", name, f->s);
    *out = v;
    return 0;
}

/* A GPU (is_gpu) or a model by name: the scenario's deployments first
 * (inline entries), then the catalog; *out is a struct mdl_gpu or mdl_llm. */
static int find_entry(struct reader *r, const struct field *f, int is_gpu, void *out)
{
    const char *noun = is_gpu ? "GPU" : "model", *catalog = is_gpu ? "catalog" : "LLM catalog";
    const char *names[256];
    size_t nn = 0;
    for (size_t i = 0; r->sc != NULL && i < r->sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &r->sc->deployments[i];
        if (!(is_gpu ? d->has_gpu : d->has_llm))
            continue;
        const char *id = is_gpu ? d->roofline.gpu.id : d->roofline.llm.id;
        if (!strcmp(id, f->s)) {
            if (is_gpu)
                *(struct mdl_gpu *)out = d->roofline.gpu;
            else
                *(struct mdl_llm *)out = d->roofline.llm;
            return 0;
        }
        if (nn < 256)
            names[nn++] = id;
    }
    const char *near = NULL;
    if (is_gpu) {
        const struct mdl_gpu *g = scn_gpu_lookup(f->s, &near);
        if (g != NULL) {
            *(struct mdl_gpu *)out = *g;
            return 0;
        }
    } else {
        const struct mdl_llm *m = scn_llm_lookup(f->s, &near);
        if (m != NULL) {
            *(struct mdl_llm *)out = *m;
            return 0;
        }
    }
    const char *mine = scn_did_you_mean(f->s, names, nn);
    if (mine != NULL)
        near = mine;
    char hint[160] = "";
    if (near != NULL)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    if (r->sc != NULL)
        return fail(r, f->col, "%s '%s' is neither in the %s nor in the scenario%s", noun, f->s, catalog, hint);
    return fail(r, f->col, "%s '%s' is not in the %s%s; `llmsim catalog %s` lists them, or define it inline in a --scenario",
                noun, f->s, catalog, hint, is_gpu ? "gpus" : "models");
}

/* The engine of the scenario deployment serving this GPU (and model, when
 * one does), else the default engine. */
static enum mdl_engine engine_of(const struct sim_scenario *sc, const char *gpu, const char *model)
{
    int best = -1;
    for (size_t i = 0; sc != NULL && i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (!d->has_gpu || strcmp(d->roofline.gpu.id, gpu) != 0)
            continue;
        if (d->has_llm && !strcmp(d->roofline.llm.id, model))
            return d->engine;
        if (best < 0)
            best = (int)i;
    }
    return best >= 0 ? sc->deployments[best].engine : MDL_ENGINE_VLLM_V1;
}

static int gpu_in_scenario(const struct sim_scenario *sc, const char *gpu)
{
    for (size_t i = 0; i < sc->n_deployments; i++)
        if (sc->deployments[i].has_gpu && !strcmp(sc->deployments[i].roofline.gpu.id, gpu))
            return 1;
    return 0;
}

/* Reads one data line (fields f[0..nf)) into *s. */
static int read_row(struct reader *r, const int *at, const struct field *f, struct mdl_cal_step *s)
{
    memset(s, 0, sizeof *s);
    s->line = r->line;
    int rc;
    if ((rc = find_entry(r, &f[at[C_GPU]], 1, &s->gpu)) || (rc = find_entry(r, &f[at[C_MODEL]], 0, &s->llm)))
        return rc;
    const struct field *ft = &f[at[C_TP]];
    double tp = 0;
    if ((rc = number(r, ft, "tp", &tp)))
        return rc;
    if (tp < 1 || tp > 4096 || tp != floor(tp))
        return fail(r, ft->col, "tp must be a whole number from 1 to 4096, got %s", ft->s);
    s->tp = (int)tp;
    if (s->llm.heads % s->tp != 0)
        return fail(r, ft->col, "tp %d does not divide the %d attention heads of '%s'", s->tp,
                    s->llm.heads, s->llm.id);
    const struct field *fk = &f[at[C_KIND]];
    if (mdl_cal_kind_parse(fk->s, &s->kind) != 0) {
        const char *kinds[MDL_CAL_N_KINDS];
        for (int k = 0; k < MDL_CAL_N_KINDS; k++)
            kinds[k] = mdl_cal_kind_name((enum mdl_cal_kind)k);
        const char *near = scn_did_you_mean(fk->s, kinds, MDL_CAL_N_KINDS);
        char hint[96] = "";
        if (near != NULL)
            snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        return fail(r, fk->col,
                    "unknown kind '%s'%s; kinds are prefill, decode, linear and allreduce", fk->s,
                    hint);
    }
    const struct field *fb = &f[at[C_BATCH]], *fp = &f[at[C_PROMPT]], *fc = &f[at[C_CONTEXT]];
    const struct field *fm = &f[at[C_TIME]];
    double ms = 0;
    if ((rc = number(r, fb, "batch", &s->batch)) ||
        (rc = number(r, fp, "prompt_tokens", &s->prompt_tokens)) ||
        (rc = number(r, fc, "context_tokens", &s->context_tokens)) ||
        (rc = number(r, fm, "time_ms", &ms)))
        return rc;
    if (s->batch < 1)
        return fail(r, fb->col, "batch must be at least 1, got %s", fb->s);
    if (s->prompt_tokens < 0 || s->prompt_tokens > SIM_MAX_TOKENS)
        return fail(r, fp->col, "prompt_tokens must be from 0 to %g, got %s", SIM_MAX_TOKENS,
                    fp->s);
    if (s->kind != MDL_CAL_DECODE && s->prompt_tokens < 1)
        return fail(r, fp->col, "a %s row needs prompt_tokens >= 1, got %s",
                    mdl_cal_kind_name(s->kind), fp->s);
    if (s->context_tokens < 0 || s->context_tokens > SIM_MAX_TOKENS)
        return fail(r, fc->col, "context_tokens must be from 0 to %g, got %s", SIM_MAX_TOKENS,
                    fc->s);
    if (!(ms > 0))
        return fail(r, fm->col, "time_ms must be positive, got %s", fm->s);
    s->time_s = ms * 1e-3;
    if (s->kind == MDL_CAL_ALLREDUCE && s->tp < 2)
        return fail(r, ft->col, "an allreduce row needs tp >= 2 (GPUs in the all-reduce), got %d",
                    s->tp);
    if (s->tp > 1 && !(s->gpu.link_gbs > 0))
        return fail(r, ft->col, "tp %d needs a scale-up link, but GPU '%s' has link_gbs %g", s->tp,
                    s->gpu.id, s->gpu.link_gbs);
    s->weights = s->kv = MDL_DTYPE_BF16;
    for (int c = C_WEIGHTS; c <= C_KV; c++) {
        if (at[c] < 0)
            continue;
        const struct field *fd = &f[at[c]];
        enum mdl_dtype *d = c == C_WEIGHTS ? &s->weights : &s->kv;
        if (fd->s[0] != '\0' && mdl_dtype_parse(fd->s, d) != 0)
            return fail(r, fd->col, "%s: unknown dtype '%s' (expected bf16, fp8, int8 or int4)",
                        COL_NAMES[c], fd->s);
    }
    if (r->sc != NULL && !gpu_in_scenario(r->sc, s->gpu.id)) {
        /* With a scenario, each GPU's engine is its deployment's: a GPU none
         * of them runs on has none, and is most likely a slip. */
        char have[256] = "";
        size_t hl = 0;
        for (size_t i = 0; i < r->sc->n_deployments; i++) {
            const struct sim_deployment_cfg *d = &r->sc->deployments[i];
            if (!d->has_gpu)
                continue;
            int k = snprintf(have + hl, sizeof have - hl, "%s'%s'", hl ? ", " : "", d->roofline.gpu.id);
            if (k > 0 && hl + (size_t)k < sizeof have)
                hl += (size_t)k;
        }
        return fail(r, f[at[C_GPU]].col,
                    "gpu '%s' is not the GPU of any deployment of the scenario (%s); the scenario gives "
                    "each GPU its engine: add a deployment on '%s', or calibrate without --scenario",
                    s->gpu.id, hl ? have : "it has no self-hosted GPU", s->gpu.id);
    }
    s->engine = engine_of(r->sc, s->gpu.id, s->llm.id);
    return 0;
}

int scn_steps_csv_read(const char *path, const struct sim_scenario *sc, struct mdl_cal_step **rows,
                       size_t *n, struct llmsim_error *err)
{
    *rows = NULL;
    *n = 0;
    FILE *fp = NULL;
    char why[160];
    int orc = scn_open_input(path, SCN_TRACE_MAX_BYTES, &fp, why, sizeof why);
    if (orc == -1)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    if (orc != 0)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "the file %s", why);
    struct reader r = {path, sc, err, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int at[N_COLS], header_line = 0, header_fields = 0, rc = 0;
    struct field *f = NULL;
    int fmax = 0;
    struct mdl_cal_step *out = NULL;
    int *gpu_col = NULL;
    size_t nr = 0, rcap = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        r.line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *t = line + strspn(line, " \t");
        if (*t == '\0' || *t == '#')
            continue;
        /* At most one field per byte, plus one. */
        if ((int)len + 1 > fmax) {
            struct field *nf = realloc(f, ((size_t)len + 1) * sizeof *f);
            if (nf == NULL) {
                rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, r.line, 0, "out of memory");
                goto done;
            }
            f = nf;
            fmax = (int)len + 1;
        }
        int nf = split(line, f, fmax);
        if (header_line == 0) {
            header_line = r.line;
            header_fields = nf;
            for (int c = 0; c < N_COLS; c++)
                at[c] = -1;
            for (int k = 0; k < nf; k++)
                for (int c = 0; c < N_COLS; c++)
                    if (!strcmp(f[k].s, COL_NAMES[c])) {
                        if (at[c] >= 0) {
                            rc = fail(&r, f[k].col, "duplicate column '%s'", COL_NAMES[c]);
                            goto done;
                        }
                        at[c] = k;
                    }
            for (int c = 0; c < N_REQUIRED; c++)
                if (at[c] < 0) {
                    rc = fail(
                        &r, 1,
                        "missing column '%s' (the header must name gpu, model, tp, kind, batch, "
                        "prompt_tokens, context_tokens and time_ms)",
                        COL_NAMES[c]);
                    goto done;
                }
            continue;
        }
        if (nf != header_fields) {
            rc = fail(&r, 1, "%d fields where the header has %d", nf, header_fields);
            goto done;
        }
        if (nr == STEPS_MAX_ROWS) {
            rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, r.line, 1, "more than %u rows",
                                  STEPS_MAX_ROWS);
            goto done;
        }
        if (nr == rcap) {
            size_t nc = rcap ? 2 * rcap : 256;
            struct mdl_cal_step *no = realloc(out, nc * sizeof *out);
            int *ng = no ? realloc(gpu_col, nc * sizeof *ng) : NULL;
            if (no != NULL)
                out = no;
            if (ng == NULL) {
                rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, r.line, 0, "out of memory");
                goto done;
            }
            gpu_col = ng;
            rcap = nc;
        }
        if ((rc = read_row(&r, at, f, &out[nr])) != 0)
            goto done;
        gpu_col[nr] = f[at[C_GPU]].col;
        nr++;
    }
    if (ferror(fp)) {
        rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
        goto done;
    }
    if (header_line == 0) {
        rc = llmsim_error_set(
            err, LLMSIM_ESCENARIO, path, 1, 1,
            "empty file: expected a header line naming gpu, model, tp, kind, batch, "
            "prompt_tokens, context_tokens and time_ms, then one row per measurement");
        goto done;
    }
    if (nr == 0) {
        rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, header_line, 1,
                              "no measurements after the header");
        goto done;
    }
    /* A fit is per (GPU, engine): each needs two rows at the very least.
     * first[g] is the first row of group g, second[g] its second or nr. */
    size_t *first = malloc(nr * sizeof *first), *second = malloc(nr * sizeof *second), ng = 0;
    if (first == NULL || second == NULL) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    } else {
        for (size_t i = 0; i < nr; i++) {
            size_t g = 0;
            while (g < ng && !(out[first[g]].engine == out[i].engine &&
                               !strcmp(out[first[g]].gpu.id, out[i].gpu.id)))
                g++;
            if (g == ng) {
                first[ng] = i;
                second[ng++] = nr;
            } else if (second[g] == nr) {
                second[g] = i;
            }
        }
        for (size_t g = 0; g < ng && rc == 0; g++)
            if (second[g] == nr) {
                const struct mdl_cal_step *o = &out[first[g]];
                rc = llmsim_error_set(err, LLMSIM_ESCENARIO, path, o->line, gpu_col[first[g]],
                                      "the only row for GPU '%s' with engine %s: a fit needs at "
                                      "least 2 rows per GPU and engine",
                                      o->gpu.id, mdl_engine_name(o->engine));
            }
    }
    free(first);
    free(second);
done:
    free(line);
    free(f);
    free(gpu_col);
    fclose(fp);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *n = nr;
    return 0;
}
