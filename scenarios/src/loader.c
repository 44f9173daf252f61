/* The scenario schema: YAML tree to struct sim_scenario (design.md section 5).
 *
 * Each mapping of the format has a key table below; scn_process_map (keys.c)
 * walks it.  Cross-references (routing targets, shares that must sum to 1)
 * are checked once the parts they refer to are read.  Keys that belong to the
 * scenario format but whose feature this version does not simulate yet are
 * refused with a message saying so, rather than silently ignored. */
/* realpath() is XSI. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/quality.h"
#include "llmsim/scenario.h"
#include "budget.h"
#include "loader_internal.h"
#include "infile.h"
#include "ynode.h"

/* Defaults of the api latency model, from the llmperf calibration
 * (docs/calibration.md, "Hosted API latency"). */
#define API_DEFAULT_NETWORK_MS 50.0
#define API_DEFAULT_TTFT_BASE_MS 410.0
#define API_DEFAULT_PREFILL_TOKENS_PER_S 10000.0
/* Cached prompt tokens skip prefill compute; only loading the cached KV
 * remains.  An assumption (20x the prefill rate) until the caching issue
 * calibrates it. */
#define API_DEFAULT_CACHED_PREFILL_TOKENS_PER_S 200000.0
#define API_DEFAULT_ITL_MEAN_MS 18.0
#define API_DEFAULT_ITL_CV 0.10

#define OFF(type, field) offsetof(type, field)
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* State shared by the handlers of one load. */
struct load {
    struct scn_ctx c;
    struct sim_scenario *sc;
    struct sim_deployment_cfg *dep; /* deployment being read */
    int dep_has_price;               /* the deployment gave a price mapping */
    int block_tokens_set;            /* the deployment gave kv_block_tokens */
    /* what the deployment gave, for defaults that depend on the engine and
     * the GPU (applied once every key is read) */
    double rl_given[MDL_N_PARAMS];   /* roofline parameters in struct units, NaN = not given */
    const struct yn_node *cal_node;  /* latency.calibration, NULL = none */
    char cal_path[1024];             /* its file, joined to the scenario's folder */
    double sched_max_batch;          /* NaN = not given */
    double sched_batched_tokens;     /* NaN = not given */
    int sched_chunked;               /* -1 = not given */
};

static struct load *L(struct scn_ctx *c)
{
    return (struct load *)c; /* struct load starts with its scn_ctx */
}

/* ---- horizon ---------------------------------------------------------- */

static const struct scn_key horizon_keys[] = {
    {"duration_s", SCN_K_DOUBLE, OFF(struct sim_scenario, duration_s), 0, SIM_MAX_DURATION_S, SCN_KF_LO_OPEN, NULL},
    {"requests", SCN_K_U64, OFF(struct sim_scenario, max_requests), 1, (double)SIM_MAX_REQUESTS, 0, NULL},
    {"warmup_s", SCN_K_DOUBLE, OFF(struct sim_scenario, warmup_s), 0, SIM_MAX_DURATION_S, 0, NULL},
};

/* Both bounds may be given (arrivals stop at whichever comes first) and a
 * --set of one keeps the other.  Whether a bound is needed at all depends on
 * the workload, which comes later: resolve() checks it (a trace without
 * either is replayed whole). */
static int h_horizon(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    int rc = scn_process_map(c, v, horizon_keys, NKEYS(horizon_keys), sc);
    if (rc)
        return rc;
    if (sc->duration_s > 0 && sc->warmup_s >= sc->duration_s)
        return scn_fail(c, v, "warmup_s (%g) must be shorter than duration_s (%g)", sc->warmup_s,
                        sc->duration_s);
    return 0;
}

/* ---- workload ----------------------------------------------------------- */

static int h_process(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"poisson", "gamma", "constant", "diurnal", "closed"};
    static const enum sim_arrival_process procs[] = {SIM_ARRIVAL_POISSON, SIM_ARRIVAL_GAMMA, SIM_ARRIVAL_CONSTANT,
                                                     SIM_ARRIVAL_DIURNAL, SIM_ARRIVAL_CLOSED};
    for (size_t i = 0; i < NKEYS(names); i++)
        if (!strcmp(s, names[i])) {
            w->process = procs[i];
            return 0;
        }
    const char *near = scn_did_you_mean(s, names, NKEYS(names));
    return near ? scn_fail(c, v, "unknown arrival process '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown arrival process '%s' (expected poisson, gamma, constant, diurnal or closed)",
                           s);
}

/* Reads a list of n_min..n_max numbers in [lo, hi] into out; *n gets the count. */
static int read_numbers(struct scn_ctx *c, const struct yn_node *v, double *out, size_t n_min, size_t n_max,
                        double lo, double hi, const char *what, size_t *n)
{
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of %s, got %s", what, yn_type_name(v->type));
    if (v->n < n_min || v->n > n_max) {
        if (n_min == n_max)
            return scn_fail(c, v, "expected %zu %s, got %zu", n_min, what, v->n);
        return scn_fail(c, v, "expected %zu to %zu %s, got %zu", n_min, n_max, what, v->n);
    }
    for (size_t i = 0; i < v->n; i++) {
        size_t m = scn_path_push_index(c, i);
        int rc = scn_get_double(c, v->vals[i], &out[i]);
        if (rc == 0 && !(out[i] >= lo && out[i] <= hi))
            rc = scn_fail(c, v->vals[i], "%g is out of range [%g, %g]", out[i], lo, hi);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    *n = v->n;
    return 0;
}

/* The largest rate any hour, mmpp state or spike may give, requests/s (as rate_per_s). */
#define ARRIVAL_RATE_MAX 1e7
/* The largest mmpp or spike multiplier. */
#define ARRIVAL_MULTIPLIER_MAX 1e4

static int h_hourly(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_diurnal_cfg *d = obj;
    size_t n = 0;
    if (v->type == YN_SEQ && v->n != 24 && v->n != SIM_HOURS_PER_WEEK)
        return scn_fail(c, v,
                        "expected 24 hourly rates (one per hour of the day, from 00:00) or 168 (one per hour "
                        "of the week, from Monday 00:00), got %zu",
                        v->n);
    int rc = read_numbers(c, v, d->hourly_per_s, 24, SIM_HOURS_PER_WEEK, 0, ARRIVAL_RATE_MAX, "hourly rates", &n);
    if (rc)
        return rc;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d->hourly_per_s[i];
    if (!(sum > 0))
        return scn_fail(c, v, "every hourly rate is 0: no request would ever arrive");
    d->n_hours = (int)n;
    d->shape = SIM_DIURNAL_TABLE;
    return 0;
}

static int h_weekly(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_diurnal_cfg *d = obj;
    size_t n = 0;
    int rc = read_numbers(c, v, d->weekly, 7, 7, 0, ARRIVAL_MULTIPLIER_MAX, "day multipliers (Monday first)", &n);
    if (rc)
        return rc;
    if (!(d->weekly[0] + d->weekly[1] + d->weekly[2] + d->weekly[3] + d->weekly[4] + d->weekly[5] + d->weekly[6] > 0))
        return scn_fail(c, v, "every day multiplier is 0: no request would ever arrive");
    d->has_weekly = 1;
    return 0;
}

static const struct scn_key profile_keys[] = {
    {"peak_per_s", SCN_K_DOUBLE, OFF(struct sim_diurnal_cfg, peak_per_s), 0, ARRIVAL_RATE_MAX, SCN_KF_LO_OPEN, NULL},
    {"trough_per_s", SCN_K_DOUBLE, OFF(struct sim_diurnal_cfg, trough_per_s), 0, ARRIVAL_RATE_MAX, 0, NULL},
    {"peak_hour", SCN_K_DOUBLE, OFF(struct sim_diurnal_cfg, peak_hour), 0, 24, 0, NULL},
    {"hourly_per_s", SCN_K_FN, 0, 0, 0, 0, h_hourly},
    {"weekly", SCN_K_FN, 0, 0, 0, 0, h_weekly},
    {"start_hour", SCN_K_DOUBLE, OFF(struct sim_diurnal_cfg, start_hour), 0, 24, 0, NULL},
    {"start_day", SCN_K_INT, OFF(struct sim_diurnal_cfg, start_day), 0, 6, 0, NULL},
};

/* Fails at key `key` of mapping v (the key's own path and place). */
static int fail_at_key(struct scn_ctx *c, const struct yn_node *v, const char *key, const char *msg)
{
    size_t m = scn_path_push(c, key);
    int rc = scn_fail(c, yn_get(v, key), "%s", msg);
    scn_path_pop(c, m);
    return rc;
}

/* profile: {peak_per_s, trough_per_s, peak_hour} or {hourly_per_s: [24 or
 * 168]}, with optional weekly, start_hour, start_day. */
static int h_profile(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_diurnal_cfg *d = &((struct sim_workload_cfg *)obj)->diurnal;
    memset(d, 0, sizeof *d);
    int rc = scn_process_map(c, v, profile_keys, NKEYS(profile_keys), d);
    if (rc)
        return rc;
    const struct yn_node *table = yn_get(v, "hourly_per_s"), *peak = yn_get(v, "peak_per_s"),
                         *trough = yn_get(v, "trough_per_s"), *hour = yn_get(v, "peak_hour");
    char msg[200];
    if (table && (peak || trough || hour))
        return fail_at_key(c, v, peak ? "peak_per_s" : trough ? "trough_per_s" : "peak_hour",
                           "give either hourly_per_s or {peak_per_s, trough_per_s, peak_hour}, not both");
    if (!table) {
        if (!(peak && trough && hour))
            return scn_fail(c, v,
                            "a diurnal profile needs hourly_per_s, or all of peak_per_s, trough_per_s and "
                            "peak_hour (missing '%s')",
                            !peak ? "peak_per_s" : !trough ? "trough_per_s" : "peak_hour");
        if (d->peak_hour >= 24) {
            snprintf(msg, sizeof msg, "peak_hour must be in [0, 24), got %g", d->peak_hour);
            return fail_at_key(c, v, "peak_hour", msg);
        }
        if (d->trough_per_s > d->peak_per_s) {
            snprintf(msg, sizeof msg, "trough_per_s (%g) is above peak_per_s (%g)", d->trough_per_s,
                     d->peak_per_s);
            return fail_at_key(c, v, "trough_per_s", msg);
        }
        d->shape = SIM_DIURNAL_SINE;
    }
    if (d->start_hour >= 24) {
        snprintf(msg, sizeof msg, "start_hour must be in [0, 24), got %g", d->start_hour);
        return fail_at_key(c, v, "start_hour", msg);
    }
    if (d->has_weekly && d->n_hours == SIM_HOURS_PER_WEEK)
        return fail_at_key(c, v, "weekly",
                           "a 168-hour table already gives every hour of the week; drop weekly (or give 24 rates)");
    if (yn_get(v, "start_day") && !d->has_weekly && d->n_hours != SIM_HOURS_PER_WEEK)
        return fail_at_key(c, v, "start_day",
                           "start_day needs a weekly profile (weekly multipliers or a 168-hour table)");
    return 0;
}

static int h_mmpp_multipliers(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_mmpp_cfg *m = obj;
    size_t n = 0;
    int rc = read_numbers(c, v, m->multiplier, 2, 2, 0, ARRIVAL_MULTIPLIER_MAX, "rate multipliers", &n);
    if (rc == 0 && !(m->multiplier[0] + m->multiplier[1] > 0))
        rc = scn_fail(c, v, "both multipliers are 0: no request would ever arrive");
    return rc;
}

static int h_mmpp_sojourns(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_mmpp_cfg *m = obj;
    size_t n = 0;
    int rc = read_numbers(c, v, m->mean_sojourn_s, 2, 2, 0, SIM_MAX_DURATION_S, "mean sojourns in seconds", &n);
    for (size_t i = 0; rc == 0 && i < 2; i++)
        if (!(m->mean_sojourn_s[i] > 0)) {
            size_t mk = scn_path_push_index(c, i);
            rc = scn_fail(c, v->vals[i], "a mean sojourn must be > 0, got %g", m->mean_sojourn_s[i]);
            scn_path_pop(c, mk);
        }
    return rc;
}

static const struct scn_key mmpp_keys[] = {
    {"multipliers", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_mmpp_multipliers},
    {"mean_sojourn_s", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_mmpp_sojourns},
};

static int h_mmpp(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    memset(&w->mmpp, 0, sizeof w->mmpp);
    int rc = scn_process_map(c, v, mmpp_keys, NKEYS(mmpp_keys), &w->mmpp);
    if (rc == 0)
        w->mmpp.enabled = 1;
    return rc;
}

static const struct scn_key spike_keys[] = {
    {"at_s", SCN_K_DOUBLE, OFF(struct sim_spike_cfg, at_s), 0, SIM_MAX_DURATION_S, SCN_KF_REQUIRED, NULL},
    {"duration_s", SCN_K_DOUBLE, OFF(struct sim_spike_cfg, duration_s), 0, SIM_MAX_DURATION_S,
     SCN_KF_REQUIRED | SCN_KF_LO_OPEN, NULL},
    {"multiplier", SCN_K_DOUBLE, OFF(struct sim_spike_cfg, multiplier), 0, ARRIVAL_MULTIPLIER_MAX, SCN_KF_REQUIRED,
     NULL},
};

static int h_spikes(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of {at_s, duration_s, multiplier}, got %s", yn_type_name(v->type));
    if (v->n > SIM_MAX_SPIKES)
        return scn_fail(c, v, "%zu spikes; at most %d are allowed", v->n, SIM_MAX_SPIKES);
    for (size_t i = 0; i < v->n; i++) {
        size_t m = scn_path_push_index(c, i);
        memset(&w->spikes[i], 0, sizeof w->spikes[i]);
        int rc = scn_process_map(c, v->vals[i], spike_keys, NKEYS(spike_keys), &w->spikes[i]);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    w->n_spikes = v->n;
    return 0;
}

static const struct scn_key arrival_keys[] = {
    {"process", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_process},
    {"rate_per_s", SCN_K_DOUBLE, OFF(struct sim_workload_cfg, rate_per_s), 0, ARRIVAL_RATE_MAX, SCN_KF_LO_OPEN, NULL},
    {"cv", SCN_K_DOUBLE, OFF(struct sim_workload_cfg, cv), 0, 100, SCN_KF_LO_OPEN, NULL},
    {"profile", SCN_K_FN, 0, 0, 0, 0, h_profile},
    {"clients", SCN_K_INT, OFF(struct sim_workload_cfg, closed.clients), 1, SIM_MAX_CLIENTS, 0, NULL},
    {"think_time_s", SCN_K_DIST, OFF(struct sim_workload_cfg, closed.think_time_s), 0, 8.64e5, 0, NULL},
    {"mmpp", SCN_K_FN, 0, 0, 0, 0, h_mmpp},
    {"spikes", SCN_K_FN, 0, 0, 0, 0, h_spikes},
};

/* Which keys each process needs (1) and accepts (2), in arrival_keys' order
 * after `process`. */
static const struct {
    enum sim_arrival_process p;
    unsigned char use[7]; /* rate_per_s, cv, profile, clients, think_time_s, mmpp, spikes */
} arrival_use[] = {
    {SIM_ARRIVAL_POISSON, {1, 0, 0, 0, 0, 2, 2}},  {SIM_ARRIVAL_GAMMA, {1, 1, 0, 0, 0, 0, 0}},
    {SIM_ARRIVAL_CONSTANT, {1, 0, 0, 0, 0, 0, 0}}, {SIM_ARRIVAL_DIURNAL, {0, 0, 1, 0, 0, 2, 2}},
    {SIM_ARRIVAL_CLOSED, {0, 0, 0, 1, 1, 0, 0}},
};

static int h_arrivals(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    w->cv = 0;
    w->n_spikes = 0;
    w->mmpp.enabled = 0;
    int rc = scn_process_map(c, v, arrival_keys, NKEYS(arrival_keys), w);
    if (rc)
        return rc;
    const char *pname = sim_arrival_process_name(w->process);
    for (size_t i = 0; i < NKEYS(arrival_use); i++) {
        if (arrival_use[i].p != w->process)
            continue;
        for (size_t k = 0; k < 7; k++) {
            const char *key = arrival_keys[k + 1].key;
            const struct yn_node *n = yn_get(v, key);
            if (arrival_use[i].use[k] == 1 && n == NULL)
                return scn_fail(c, v, "a %s arrival process needs '%s'", pname, key);
            if (arrival_use[i].use[k] == 0 && n != NULL) {
                size_t m = scn_path_push(c, key);
                rc = (k >= 5) ? scn_fail(c, n, "'%s' modulates a Poisson rate: it applies to the poisson and diurnal "
                                               "processes, not to %s", key, pname)
                              : scn_fail(c, n, "'%s' does not apply to the %s process", key, pname);
                scn_path_pop(c, m);
                return rc;
            }
        }
    }
    return 0;
}

static int h_cache_ttl(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_segment_cfg *s = obj;
    const char *t = NULL;
    int rc = scn_get_scalar(c, v, &t);
    if (rc)
        return rc;
    if (!strcmp(t, "5m"))
        s->cache_ttl_s = 300;
    else if (!strcmp(t, "1h"))
        s->cache_ttl_s = 3600;
    else if (!strcmp(t, "none"))
        s->cache_ttl_s = 0;
    else
        return scn_fail(c, v, "cache must be 5m, 1h or none, got '%s'", t);
    return 0;
}

static int h_popularity(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_segment_cfg *g = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "uniform"))
        g->zipf_s = 0;
    else if (!strcmp(s, "zipf"))
        g->zipf_s = g->zipf_s > 0 ? g->zipf_s : 1.0;
    else
        return scn_fail(c, v, "popularity must be uniform or zipf, got '%s'", s);
    return 0;
}

static const struct scn_key segment_keys[] = {
    {"segment", SCN_K_NAME, OFF(struct sim_segment_cfg, name), 0, 0, SCN_KF_REQUIRED, NULL},
    {"tokens", SCN_K_DIST, OFF(struct sim_segment_cfg, tokens), 0, SIM_MAX_TOKENS, SCN_KF_REQUIRED, NULL},
    {"stable", SCN_K_BOOL, OFF(struct sim_segment_cfg, stable), 0, 0, 0, NULL},
    {"cache", SCN_K_FN, 0, 0, 0, 0, h_cache_ttl},
    {"variants", SCN_K_INT, OFF(struct sim_segment_cfg, variants), 1, 1e6, 0, NULL},
    {"zipf_s", SCN_K_DOUBLE, OFF(struct sim_segment_cfg, zipf_s), 0, 10, SCN_KF_LO_OPEN, NULL},
    {"popularity", SCN_K_FN, 0, 0, 0, 0, h_popularity},
};

static int h_prompt(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_class_cfg *cl = obj;
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of segments, got %s", yn_type_name(v->type));
    if (v->n == 0)
        return scn_fail(c, v, "a prompt needs at least one segment");
    if (v->n > 64)
        return scn_fail(c, v, "%zu segments; at most 64 are allowed", v->n);
    cl->segments = calloc(v->n, sizeof *cl->segments);
    if (cl->segments == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    cl->n_segments = v->n;
    for (size_t i = 0; i < v->n; i++) {
        struct sim_segment_cfg *s = &cl->segments[i];
        s->variants = 1;
        size_t m = scn_path_push_item(c, v->vals[i], i);
        int rc = scn_process_map(c, v->vals[i], segment_keys, NKEYS(segment_keys), s);
        if (rc == 0 && s->cache_ttl_s > 0 && !s->stable)
            rc = scn_fail(c, v->vals[i], "segment '%s' is a cache breakpoint but not stable; "
                                         "add 'stable: true' or remove 'cache'", s->name);
        if (rc == 0 && s->variants > 1 && !s->stable)
            rc = scn_fail(c, v->vals[i], "'variants' applies to stable segments only");
        if (rc == 0 && (yn_get(v->vals[i], "popularity") || yn_get(v->vals[i], "zipf_s")) && s->variants < 2)
            rc = scn_fail(c, v->vals[i], "'popularity' and 'zipf_s' apply to segments with variants");
        if (rc == 0 && yn_get(v->vals[i], "zipf_s") && !yn_get(v->vals[i], "popularity"))
            rc = scn_fail(c, yn_get(v->vals[i], "zipf_s"), "'zipf_s' needs 'popularity: zipf'");
        if (rc == 0 && s->cache_ttl_s > 0) {
            /* Anthropic's rules: at most 4 breakpoints, longer TTLs first. */
            int n_bp = 0;
            for (size_t j = 0; j <= i; j++)
                n_bp += cl->segments[j].cache_ttl_s > 0;
            if (n_bp > 4)
                rc = scn_fail(c, yn_get(v->vals[i], "cache"), "a prompt has at most 4 cache breakpoints; this is the %dth",
                              n_bp);
            for (size_t j = 0; rc == 0 && j < i; j++)
                if (cl->segments[j].cache_ttl_s > 0 && cl->segments[j].cache_ttl_s < s->cache_ttl_s)
                    rc = scn_fail(c, yn_get(v->vals[i], "cache"),
                                  "a 1h breakpoint must come before every 5m one (segment '%s' is 5m)",
                                  cl->segments[j].name);
        }
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_difficulty_name(const char *s, int *out)
{
    if (!strcmp(s, "simple"))
        *out = SIM_DIFF_SIMPLE;
    else if (!strcmp(s, "moderate"))
        *out = SIM_DIFF_MODERATE;
    else if (!strcmp(s, "complex"))
        *out = SIM_DIFF_COMPLEX;
    else
        return -1;
    return 0;
}

static int h_difficulty(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_class_cfg *cl = obj;
    memset(cl->difficulty, 0, sizeof cl->difficulty);
    if (v->type == YN_SCALAR) {
        const char *s = NULL;
        int d = 0, rc = scn_get_scalar(c, v, &s);
        if (rc)
            return rc;
        if (parse_difficulty_name(s, &d) != 0)
            return scn_fail(c, v, "difficulty must be simple, moderate or complex (or a mapping of "
                                  "their probabilities), got '%s'", s);
        cl->difficulty[d] = 1.0;
        return 0;
    }
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected simple, moderate, complex or a mapping of probabilities");
    double sum = 0;
    for (size_t i = 0; i < v->n; i++) {
        int d = 0;
        size_t m = scn_path_push(c, v->keys[i]->str);
        int rc = 0;
        if (parse_difficulty_name(v->keys[i]->str, &d) != 0)
            rc = scn_fail(c, v->keys[i], "unknown difficulty '%s' (expected simple, moderate or complex)",
                          v->keys[i]->str);
        double p = 0;
        if (rc == 0)
            rc = scn_get_double(c, v->vals[i], &p);
        if (rc == 0 && (p < 0 || p > 1))
            rc = scn_fail(c, v->vals[i], "a probability must be in [0, 1], got %g", p);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        cl->difficulty[d] = p;
        sum += p;
    }
    if (fabs(sum - 1.0) > 1e-6)
        return scn_fail(c, v, "difficulty probabilities sum to %.9g, not 1", sum);
    return 0;
}

static const struct scn_key feature_keys[] = {
    {"characters", SCN_K_DIST, OFF(struct sim_class_cfg, characters), 0, 1e8, 0, NULL},
    {"words", SCN_K_DIST, OFF(struct sim_class_cfg, words), 0, 1e8, 0, NULL},
    {"chars_per_token", SCN_K_DOUBLE, OFF(struct sim_class_cfg, chars_per_token), 0, 100, SCN_KF_LO_OPEN, NULL},
    {"words_per_token", SCN_K_DOUBLE, OFF(struct sim_class_cfg, words_per_token), 0, 100, SCN_KF_LO_OPEN, NULL},
    {"question_mark", SCN_K_DOUBLE, OFF(struct sim_class_cfg, question_mark), 0, 1, 0, NULL},
};

/* features: {characters: DIST, words: DIST, chars_per_token, words_per_token, question_mark: p} */
static int h_features(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_class_cfg *cl = obj;
    int rc = scn_process_map(c, v, feature_keys, NKEYS(feature_keys), cl);
    cl->has_characters = yn_get(v, "characters") != NULL;
    cl->has_words = yn_get(v, "words") != NULL;
    return rc;
}

static const struct scn_key prefetch_keys[] = {
    {"hit_probability", SCN_K_DOUBLE, OFF(struct sim_class_cfg, prefetch_hit), 0, 1, SCN_KF_REQUIRED, NULL},
};

/* prefetch: {hit_probability: p} (sessions only) */
static int h_prefetch(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_class_cfg *cl = obj;
    int rc = scn_process_map(c, v, prefetch_keys, NKEYS(prefetch_keys), cl);
    cl->prefetch = rc == 0;
    return rc;
}

static const struct scn_key class_keys[] = {
    {"name", SCN_K_NAME, OFF(struct sim_class_cfg, name), 0, 0, SCN_KF_REQUIRED, NULL},
    {"share", SCN_K_DOUBLE, OFF(struct sim_class_cfg, share), 0, 1, 0, NULL},
    {"difficulty", SCN_K_FN, 0, 0, 0, 0, h_difficulty},
    {"prompt", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_prompt},
    {"output_tokens", SCN_K_DIST, OFF(struct sim_class_cfg, output_tokens), 0, SIM_MAX_TOKENS, SCN_KF_REQUIRED, NULL},
    {"streaming", SCN_K_BOOL, OFF(struct sim_class_cfg, streaming), 0, 0, 0, NULL},
    {"batch", SCN_K_BOOL, OFF(struct sim_class_cfg, batch), 0, 0, 0, NULL},
    {"features", SCN_K_FN, 0, 0, 0, 0, h_features},
    {"prefetch", SCN_K_FN, 0, 0, 0, 0, h_prefetch},
    {"tenant", SCN_K_NAME, OFF(struct sim_class_cfg, tenant), 0, 0, 0, NULL},
    {"priority", SCN_K_INT, OFF(struct sim_class_cfg, priority), -1000000, 1000000, 0, NULL},
};

static int h_classes(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of classes, got %s", yn_type_name(v->type));
    if (v->n == 0)
        return scn_fail(c, v, "at least one class is needed");
    if (v->n > 1024)
        return scn_fail(c, v, "%zu classes; at most 1024 are allowed", v->n);
    w->classes = calloc(v->n, sizeof *w->classes);
    if (w->classes == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    w->n_classes = v->n;
    double sum = 0;
    for (size_t i = 0; i < v->n; i++) {
        struct sim_class_cfg *cl = &w->classes[i];
        cl->difficulty[SIM_DIFF_MODERATE] = 1.0;
        cl->streaming = 1;
        cl->chars_per_token = 4.0;
        cl->words_per_token = 0.75;
        cl->share = v->n == 1 ? 1.0 : NAN;
        size_t m = scn_path_push_item(c, v->vals[i], i);
        int rc = scn_process_map(c, v->vals[i], class_keys, NKEYS(class_keys), cl);
        if (rc == 0 && isnan(cl->share))
            rc = scn_fail(c, v->vals[i], "missing required key 'share' (needed when there is more "
                                         "than one class)");
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (!strcmp(w->classes[j].name, cl->name))
                rc = scn_fail(c, yn_get(v->vals[i], "name"), "duplicate class name '%s'", cl->name);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        sum += cl->share;
    }
    if (fabs(sum - 1.0) > 1e-6)
        return scn_fail(c, v, "class shares sum to %.9g, not 1", sum);
    return 0;
}

static int h_trace(struct scn_ctx *c, const struct yn_node *v, void *obj);

static const struct scn_key session_keys[] = {
    {"turns", SCN_K_DIST, OFF(struct sim_session_cfg, turns), 1, 10000, SCN_KF_REQUIRED, NULL},
    {"think_time_s", SCN_K_DIST, OFF(struct sim_session_cfg, think_time_s), 0, 8.64e5, SCN_KF_REQUIRED, NULL},
};

static int h_sessions(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    int rc = scn_process_map(c, v, session_keys, NKEYS(session_keys), &w->sessions);
    if (rc == 0)
        w->sessions.enabled = 1;
    return rc;
}

static const struct scn_key workload_keys[] = {
    {"arrivals", SCN_K_FN, 0, 0, 0, 0, h_arrivals},
    {"classes", SCN_K_FN, 0, 0, 0, 0, h_classes},
    {"trace", SCN_K_FN, 0, 0, 0, 0, h_trace},
    {"sessions", SCN_K_FN, 0, 0, 0, 0, h_sessions},
};

struct trace_opts {
    char path[1024];     /* as given, joined to the scenario's folder (for reading and messages) */
    char abs_path[1024]; /* absolute (for the resolved scenario) */
    char format[32];
    double speedup;
};

static const struct scn_key trace_keys[] = {
    {"path", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, NULL},
    {"format", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, NULL},
    {"speedup", SCN_K_DOUBLE, OFF(struct trace_opts, speedup), 0, 1e6, SCN_KF_LO_OPEN, NULL},
};

static int h_trace_path(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct trace_opts *t = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    char joined[1024];
    int k = (s[0] == '/' || c->dir[0] == '\0') ? snprintf(joined, sizeof joined, "%s", s)
                                               : snprintf(joined, sizeof joined, "%s/%s", c->dir, s);
    if (k < 0 || (size_t)k >= sizeof joined)
        return scn_fail(c, v, "path is too long");
    /* Absolute, so that the resolved scenario loads from any folder. */
    char abs[PATH_MAX];
    if (realpath(joined, abs) == NULL)
        return scn_fail(c, v, "cannot open trace '%s': %s", joined, strerror(errno));
    if (strlen(abs) >= sizeof t->abs_path)
        return scn_fail(c, v, "path is too long");
    memcpy(t->abs_path, abs, strlen(abs) + 1);
    memcpy(t->path, joined, strlen(joined) + 1);
    return 0;
}

static int h_trace_format(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct trace_opts *t = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "azure-2023")) {
        snprintf(t->format, sizeof t->format, "%s", s);
        return 0;
    }
    if (!strcmp(s, "mooncake")) {
        snprintf(t->format, sizeof t->format, "%s", s);
        return 0;
    }
    if (!strcmp(s, "csv"))
        return scn_fail(c, v, "trace format 'csv' is part of the format but not read by this version "
                              "(use azure-2023 or mooncake)");
    static const char *const f[] = {"azure-2023", "mooncake"};
    const char *near = scn_did_you_mean(s, f, 2);
    return near ? scn_fail(c, v, "unknown trace format '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown trace format '%s' (expected azure-2023 or mooncake)", s);
}

static int h_trace(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_workload_cfg *w = obj;
    struct trace_opts t = {.speedup = 1.0};
    struct scn_key keys[NKEYS(trace_keys)];
    memcpy(keys, trace_keys, sizeof keys);
    keys[0].fn = h_trace_path;
    keys[1].fn = h_trace_format;
    int rc = scn_process_map(c, v, keys, NKEYS(keys), &t);
    if (rc)
        return rc;
    w->process = SIM_ARRIVAL_TRACE;
    w->trace_speedup = t.speedup;
    snprintf(w->trace_path, sizeof w->trace_path, "%s", t.abs_path);
    snprintf(w->trace_format, sizeof w->trace_format, "%s", t.format);
    struct llmsim_error e2;
    llmsim_error_clear(&e2);
    rc = !strcmp(t.format, "mooncake") ? scn_trace_read_mooncake(&w->trace, t.path, &e2)
                                       : scn_trace_read_azure(&w->trace, t.path, &e2);
    if (rc) {
        if (e2.line > 0) {
            *c->err = e2;
            return rc;
        }
        return scn_fail(c, yn_get(v, "path"), "%s", e2.msg);
    }
    return 0;
}

static int h_workload(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    struct sim_workload_cfg *w = &sc->workload;
    w->trace_speedup = 1.0;
    int rc = scn_process_map(c, v, workload_keys, NKEYS(workload_keys), w);
    if (rc)
        return rc;
    const struct yn_node *arr = yn_get(v, "arrivals"), *tr = yn_get(v, "trace");
    if (arr && tr)
        return scn_fail(c, tr, "give either 'arrivals' (with 'classes') or 'trace', not both");
    if (tr && yn_get(v, "sessions"))
        return scn_fail(c, yn_get(v, "sessions"), "sessions apply to generated arrivals, not to a trace");
    if (!arr && !tr)
        return scn_fail(c, v, "missing 'arrivals' (or 'trace')");
    if (arr && !yn_get(v, "classes"))
        return scn_fail(c, v, "missing required key 'classes'");
    if (tr) {
        if (w->n_classes > 1)
            return scn_fail(c, yn_get(v, "classes"), "a trace workload has one class (lengths come from the trace)");
        if (w->n_classes == 0) {
            w->classes = calloc(1, sizeof *w->classes);
            if (w->classes == NULL)
                return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
            w->n_classes = 1;
            snprintf(w->classes[0].name, SIM_NAME_MAX, "trace");
            w->classes[0].share = 1.0;
            w->classes[0].difficulty[SIM_DIFF_MODERATE] = 1.0;
            w->classes[0].streaming = 1;
            mdl_dist_constant(&w->classes[0].output_tokens, 1.0);
        }
    }
    return 0;
}

/* ---- deployments -------------------------------------------------------- */

static int h_kind(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "api"))
        d->kind = SIM_DEPLOY_API;
    else if (!strcmp(s, "self-hosted"))
        d->kind = SIM_DEPLOY_SELF_HOSTED;
    else {
        static const char *const k[] = {"api", "self-hosted"};
        const char *near = scn_did_you_mean(s, k, 2);
        return near ? scn_fail(c, v, "unknown deployment kind '%s' (did you mean '%s'?)", s, near)
                    : scn_fail(c, v, "unknown deployment kind '%s' (expected api or self-hosted)", s);
    }
    return 0;
}

/* A GPU or LLM given as a catalog id or as an inline mapping. */
static int read_llm(struct scn_ctx *c, const struct yn_node *v, struct mdl_llm *out)
{
    if (v->type == YN_MAP)
        return scn_read_llm(c, v, out, 1);
    char id[SIM_NAME_MAX];
    int rc = scn_get_name(c, v, id, sizeof id);
    if (rc)
        return rc;
    const char *near = NULL;
    const struct mdl_llm *m = scn_llm_lookup(id, &near);
    if (m == NULL)
        return near ? scn_fail(c, v, "model '%s' is not in the LLM catalog (did you mean '%s'?); "
                                     "`llmsim catalog models` lists them, or define it inline", id, near)
                    : scn_fail(c, v, "model '%s' is not in the LLM catalog; `llmsim catalog models` "
                                     "lists them, or define it inline", id);
    *out = *m;
    return 0;
}

static int h_gpu(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'gpu' applies to self-hosted deployments only");
    int rc;
    if (v->type == YN_MAP) {
        rc = scn_read_gpu(c, v, &d->roofline.gpu, 1);
    } else {
        char id[SIM_NAME_MAX];
        if ((rc = scn_get_name(c, v, id, sizeof id)))
            return rc;
        const char *near = NULL;
        const struct mdl_gpu *g = scn_gpu_lookup(id, &near);
        if (g == NULL)
            return near ? scn_fail(c, v, "GPU '%s' is not in the catalog (did you mean '%s'?); "
                                         "`llmsim catalog gpus` lists them, or define it inline", id, near)
                        : scn_fail(c, v, "GPU '%s' is not in the catalog; `llmsim catalog gpus` lists "
                                         "them, or define it inline", id);
        d->roofline.gpu = *g;
    }
    if (rc == 0)
        d->has_gpu = 1;
    return rc;
}

static int h_model(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind == SIM_DEPLOY_SELF_HOSTED) {
        int rc = read_llm(c, v, &d->roofline.llm);
        if (rc)
            return rc;
        d->has_llm = 1;
        snprintf(d->model, sizeof d->model, "%s", d->roofline.llm.id);
        return 0;
    }
    if (v->type == YN_MAP)
        return scn_fail(c, v, "an api deployment's model is a price catalog id (override prices under 'price')");
    int rc = scn_get_name(c, v, d->model, sizeof d->model);
    if (rc)
        return rc;
    const char *near = NULL;
    const struct mdl_price *p = scn_price_lookup(d->model, &near);
    if (p) {
        d->price = *p;
        return 0;
    }
    if (L(c)->dep_has_price) {
        memset(&d->price, 0, sizeof d->price);
        snprintf(d->price.id, sizeof d->price.id, "%s", d->model);
        snprintf(d->price.provider, sizeof d->price.provider, "custom");
        d->price.cache_write_5m_mult = d->price.cache_write_1h_mult = 1.0;
        d->price.cache_read_mult = 1.0;
        d->price.batch_discount = 0.5;
        snprintf(d->price.source, sizeof d->price.source, "scenario");
        return 0;
    }
    if (near)
        return scn_fail(c, v, "model '%s' is not in the price catalog (did you mean '%s'?); "
                              "`llmsim catalog prices` lists them, or give its prices under 'price'",
                        d->model, near);
    return scn_fail(c, v, "model '%s' is not in the price catalog; `llmsim catalog prices` lists "
                          "them, or give its prices under 'price'", d->model);
}

static const struct scn_key price_keys[] = {
    {"input_per_mtok", SCN_K_DOUBLE, OFF(struct mdl_price, input_per_mtok), 0, 1e4, 0, NULL},
    {"output_per_mtok", SCN_K_DOUBLE, OFF(struct mdl_price, output_per_mtok), 0, 1e4, 0, NULL},
    {"cache_write_5m_mult", SCN_K_DOUBLE, OFF(struct mdl_price, cache_write_5m_mult), 0, 100, 0, NULL},
    {"cache_write_1h_mult", SCN_K_DOUBLE, OFF(struct mdl_price, cache_write_1h_mult), 0, 100, 0, NULL},
    {"cache_read_mult", SCN_K_DOUBLE, OFF(struct mdl_price, cache_read_mult), 0, 100, 0, NULL},
    {"cache_storage_per_mtok_hour", SCN_K_DOUBLE, OFF(struct mdl_price, cache_storage_per_mtok_hour), 0, 1e4, 0, NULL},
    {"min_cache_tokens", SCN_K_DOUBLE, OFF(struct mdl_price, min_cache_tokens), 0, SIM_MAX_TOKENS, 0, NULL},
    {"batch_discount", SCN_K_DOUBLE, OFF(struct mdl_price, batch_discount), 0, 1, 0, NULL},
    {"long_context_above_tokens", SCN_K_DOUBLE, OFF(struct mdl_price, long_context_above_tokens), 0, SIM_MAX_TOKENS, 0, NULL},
    {"long_input_per_mtok", SCN_K_DOUBLE, OFF(struct mdl_price, long_input_per_mtok), 0, 1e4, 0, NULL},
    {"long_output_per_mtok", SCN_K_DOUBLE, OFF(struct mdl_price, long_output_per_mtok), 0, 1e4, 0, NULL},
};

static int price_differs(const struct mdl_price *a, const struct mdl_price *b)
{
    return a->input_per_mtok != b->input_per_mtok || a->output_per_mtok != b->output_per_mtok ||
           a->cache_write_5m_mult != b->cache_write_5m_mult ||
           a->cache_write_1h_mult != b->cache_write_1h_mult || a->cache_read_mult != b->cache_read_mult ||
           a->cache_storage_per_mtok_hour != b->cache_storage_per_mtok_hour ||
           a->min_cache_tokens != b->min_cache_tokens || a->batch_discount != b->batch_discount ||
           a->long_context_above_tokens != b->long_context_above_tokens ||
           a->long_input_per_mtok != b->long_input_per_mtok ||
           a->long_output_per_mtok != b->long_output_per_mtok;
}

static int h_price(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_API)
        return scn_fail(c, v, "'price' applies to api deployments (self-hosted ones pay gpu_hour_usd)");
    int rc = scn_process_map(c, v, price_keys, NKEYS(price_keys), &d->price);
    if (rc)
        return rc;
    if (scn_price_lookup(d->model, NULL) == NULL &&
        (!yn_get(v, "input_per_mtok") || !yn_get(v, "output_per_mtok")))
        return scn_fail(c, v, "model '%s' is not in the catalog: give at least input_per_mtok and "
                              "output_per_mtok", d->model);
    if ((rc = scn_check_long_context(c, v, &d->price)) != 0)
        return rc;
    const struct mdl_price *cat = scn_price_lookup(d->model, NULL);
    if (cat != NULL && price_differs(cat, &d->price)) {
        size_t len = strlen(d->price.source);
        snprintf(d->price.source + len, sizeof d->price.source - len, " (overridden by the scenario)");
    }
    return 0;
}

struct cache_opts {
    char semantics[16];
    double ttl_s, capacity_tokens, min_tokens, shards;
    char shard_by[16];
    int enabled;
};

static int h_cache_semantics(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct cache_opts *o = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"anthropic", "openai", "gemini", "ideal"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, names[i])) {
            snprintf(o->semantics, sizeof o->semantics, "%s", s);
            return 0;
        }
    }
    const char *near = scn_did_you_mean(s, names, 4);
    return near ? scn_fail(c, v, "unknown cache semantics '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown cache semantics '%s' (expected anthropic, openai, gemini or ideal)", s);
}

static int h_shard_by(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct cache_opts *o = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (strcmp(s, "random") && strcmp(s, "prefix_hash"))
        return scn_fail(c, v, "shard_by must be random or prefix_hash, got '%s'", s);
    snprintf(o->shard_by, sizeof o->shard_by, "%s", s);
    return 0;
}

static const struct scn_key cache_keys[] = {
    {"enabled", SCN_K_BOOL, OFF(struct cache_opts, enabled), 0, 0, 0, NULL},
    {"semantics", SCN_K_FN, 0, 0, 0, 0, h_cache_semantics},
    {"ttl_s", SCN_K_DOUBLE, OFF(struct cache_opts, ttl_s), 0, 8.64e5, SCN_KF_LO_OPEN, NULL},
    {"capacity_tokens", SCN_K_DOUBLE, OFF(struct cache_opts, capacity_tokens), 0, 1e12, SCN_KF_LO_OPEN, NULL},
    {"min_tokens", SCN_K_DOUBLE, OFF(struct cache_opts, min_tokens), 0, SIM_MAX_TOKENS, 0, NULL},
    {"shards", SCN_K_DOUBLE, OFF(struct cache_opts, shards), 1, 4096, 0, NULL},
    {"shard_by", SCN_K_FN, 0, 0, 0, 0, h_shard_by},
};

static int h_prompt_cache(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_API)
        return scn_fail(c, v, "'prompt_cache' applies to api deployments (self-hosted ones use "
                              "'prefix_cache')");
    struct cache_opts o = {"", 0, 0, -1, 1, "random", 1};
    int rc = scn_process_map(c, v, cache_keys, NKEYS(cache_keys), &o);
    if (rc)
        return rc;
    if (o.shards != floor(o.shards))
        return scn_fail(c, yn_get(v, "shards"), "shards must be a whole number");
    struct sim_prompt_cache_cfg *pc = &d->cache;
    pc->enabled = o.enabled;
    if (o.semantics[0] == '\0') {
        const char *p = d->price.provider;
        if (!strcmp(p, "anthropic"))
            snprintf(o.semantics, sizeof o.semantics, "anthropic");
        else if (!strcmp(p, "openai"))
            snprintf(o.semantics, sizeof o.semantics, "openai");
        else if (!strcmp(p, "google"))
            snprintf(o.semantics, sizeof o.semantics, "gemini");
        else
            return scn_fail(c, v, "give 'semantics' (anthropic, openai, gemini or ideal): the provider of "
                                  "'%s' is not known", d->model);
    }
    pc->semantics = !strcmp(o.semantics, "anthropic") ? SIM_CACHE_ANTHROPIC
                    : !strcmp(o.semantics, "openai")  ? SIM_CACHE_OPENAI
                    : !strcmp(o.semantics, "gemini")  ? SIM_CACHE_GEMINI
                                                      : SIM_CACHE_IDEAL;
    pc->ttl_s = o.ttl_s;
    pc->capacity_tokens = o.capacity_tokens > 0 ? o.capacity_tokens : INFINITY;
    pc->min_tokens = o.min_tokens >= 0 ? o.min_tokens
                     : pc->semantics == SIM_CACHE_IDEAL ? 0.0
                                                        : d->price.min_cache_tokens;
    if (L(c)->sc->workload.trace.hash_off != NULL && pc->semantics != SIM_CACHE_IDEAL && pc->enabled)
        return scn_fail(c, v, "a Mooncake trace's block hashes replay through 'semantics: ideal' only");
    pc->shards = (int)o.shards;
    pc->shard_by_prefix = !strcmp(o.shard_by, "prefix_hash");
    return 0;
}

/* latency.profile: a measured profile's id, checked here and applied once
 * the deployment is read (apply_api_profile). */
static int h_api_profile(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    (void)obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    const char *near = NULL;
    if (scn_api_profile_lookup(s, &near) == NULL)
        return near ? scn_fail(c, v, "unknown latency profile '%s' (did you mean '%s'?); "
                                     "`llmsim catalog api-latency` lists them", s, near)
                    : scn_fail(c, v, "unknown latency profile '%s'; `llmsim catalog api-latency` "
                                     "lists them", s);
    snprintf(L(c)->dep->api_profile, sizeof L(c)->dep->api_profile, "%s", s);
    return 0;
}

static const struct scn_key api_latency_keys[] = {
    {"model", SCN_K_FN, 0, 0, 0, 0, NULL},
    {"profile", SCN_K_FN, 0, 0, 0, 0, h_api_profile},
    {"network_ms", SCN_K_DOUBLE, OFF(struct mdl_api_latency, network_ms), 0, 1e6, 0, NULL},
    {"ttft_base_ms", SCN_K_DOUBLE, OFF(struct mdl_api_latency, ttft_base_ms), 0, 1e7, 0, NULL},
    {"prefill_tokens_per_s", SCN_K_DOUBLE, OFF(struct mdl_api_latency, prefill_tokens_per_s), 0, 1e9, SCN_KF_LO_OPEN, NULL},
    {"cached_prefill_tokens_per_s", SCN_K_DOUBLE, OFF(struct mdl_api_latency, cached_prefill_tokens_per_s), 0, 1e10, SCN_KF_LO_OPEN, NULL},
    {"itl_ms", SCN_K_DIST, OFF(struct mdl_api_latency, itl_ms), 0, 1e6, 0, NULL},
};

static const struct scn_key service_time_keys[] = {
    {"model", SCN_K_FN, 0, 0, 0, 0, NULL},
    {"service_time_s", SCN_K_DIST, OFF(struct sim_deployment_cfg, service_time_s), 0, 1e7, SCN_KF_REQUIRED, NULL},
};

static const struct scn_key prefill_keys[] = {
    {"a", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, prefill_a_s), 0, 1e4, 0, NULL},
    {"b", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, prefill_b_s), 0, 1e2, 0, NULL},
    {"c", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, prefill_c_s), 0, 1e2, 0, NULL},
};
static const struct scn_key decode_keys[] = {
    {"a", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, decode_a_s), 0, 1e4, 0, NULL},
    {"b_batch", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, decode_b_batch_s), 0, 1e2, 0, NULL},
    {"c_context", SCN_K_DOUBLE, OFF(struct mdl_linear_latency, decode_c_context_s), 0, 1e2, 0, NULL},
};

static int h_prefill_s(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    return scn_process_map(c, v, prefill_keys, NKEYS(prefill_keys), &d->linear);
}

static int h_decode_s(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    return scn_process_map(c, v, decode_keys, NKEYS(decode_keys), &d->linear);
}

static const struct scn_key linear_keys[] = {
    {"model", SCN_K_FN, 0, 0, 0, 0, NULL},
    {"prefill_s", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_prefill_s},
    {"decode_step_s", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_decode_s},
};

static int h_skip(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    return 0; /* read by the caller before the table is walked */
}

/* latency: {model: roofline, calibration: CAL.yaml, PARAM: value...}: the
 * parameters by their names in mdl_roofline_params, in the units there;
 * recorded and applied over the engine's defaults and the calibration once
 * the deployment's GPU, model and engine are known (finish_self_hosted). */
static int h_calibration_path(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    struct load *ld = L(c);
    int k = (s[0] == '/' || c->dir[0] == '\0') ? snprintf(ld->cal_path, sizeof ld->cal_path, "%s", s)
                                               : snprintf(ld->cal_path, sizeof ld->cal_path, "%s/%s", c->dir, s);
    if (k < 0 || (size_t)k >= sizeof ld->cal_path)
        return scn_fail(c, v, "path is too long");
    ld->cal_node = v;
    return 0;
}

static int read_roofline(struct scn_ctx *c, const struct yn_node *v)
{
    struct load *ld = L(c);
    double given[MDL_N_PARAMS];
    struct scn_key keys[MDL_N_PARAMS + 2];
    keys[0] = (struct scn_key){"model", SCN_K_FN, 0, 0, 0, 0, h_skip};
    keys[1] = (struct scn_key){"calibration", SCN_K_FN, 0, 0, 0, 0, h_calibration_path};
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        const struct mdl_param_desc *p = &mdl_roofline_params[i];
        given[i] = NAN;
        keys[2 + i] = (struct scn_key){p->name, SCN_K_DOUBLE, (size_t)i * sizeof(double), p->lo * p->scale,
                                       p->hi * p->scale, p->lo_open ? SCN_KF_LO_OPEN : 0, NULL};
    }
    int rc = scn_process_map(c, v, keys, MDL_N_PARAMS + 2, given);
    if (rc)
        return rc;
    for (int i = 0; i < MDL_N_PARAMS; i++)
        ld->rl_given[i] = given[i] / mdl_roofline_params[i].scale;
    return 0;
}

/* engine: vllm-v1 | vllm-v0 | sglang */
static int h_engine(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (mdl_engine_parse(s, &d->engine) == 0)
        return 0;
    const char *names[MDL_N_ENGINES];
    for (int i = 0; i < MDL_N_ENGINES; i++)
        names[i] = mdl_engine_name((enum mdl_engine)i);
    const char *near = scn_did_you_mean(s, names, MDL_N_ENGINES);
    return near ? scn_fail(c, v, "unknown engine '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown engine '%s' (expected vllm-v1, vllm-v0 or sglang)", s);
}

static int h_latency(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected a mapping {model: ..., ...}, got %s", yn_type_name(v->type));
    const char *model = d->kind == SIM_DEPLOY_API ? "api" : NULL;
    const struct yn_node *mn = yn_get(v, "model");
    if (mn) {
        size_t m = scn_path_push(c, "model");
        int rc = scn_get_scalar(c, mn, &model);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    } else if (model == NULL) {
        return scn_fail(c, v, "missing required key 'model' (service_time, linear or roofline)");
    }
    struct scn_key keys[8];
    size_t nk;
    void *target = d;
    if (!strcmp(model, "api")) {
        if (d->kind != SIM_DEPLOY_API)
            return scn_fail(c, mn, "the api latency model is for api deployments; self-hosted ones "
                                   "use service_time or linear");
        d->latency_kind = MDL_LAT_API;
        memcpy(keys, api_latency_keys, sizeof api_latency_keys);
        nk = NKEYS(api_latency_keys);
        target = &d->api;
    } else if (!strcmp(model, "service_time")) {
        if (d->kind != SIM_DEPLOY_SELF_HOSTED)
            return scn_fail(c, mn, "latency model 'service_time' is for self-hosted deployments");
        d->latency_kind = MDL_LAT_SERVICE_TIME;
        memcpy(keys, service_time_keys, sizeof service_time_keys);
        nk = NKEYS(service_time_keys);
    } else if (!strcmp(model, "linear")) {
        if (d->kind != SIM_DEPLOY_SELF_HOSTED)
            return scn_fail(c, mn, "latency model 'linear' is for self-hosted deployments");
        d->latency_kind = MDL_LAT_LINEAR;
        memcpy(keys, linear_keys, sizeof linear_keys);
        nk = NKEYS(linear_keys);
    } else if (!strcmp(model, "roofline")) {
        if (d->kind != SIM_DEPLOY_SELF_HOSTED)
            return scn_fail(c, mn, "latency model 'roofline' is for self-hosted deployments");
        d->latency_kind = MDL_LAT_ROOFLINE;
        return read_roofline(c, v);
    } else {
        static const char *const m[] = {"api", "service_time", "linear", "roofline"};
        const char *near = scn_did_you_mean(model, m, 4);
        return near ? scn_fail(c, mn, "unknown latency model '%s' (did you mean '%s'?)", model, near)
                    : scn_fail(c, mn, "unknown latency model '%s' (expected api, service_time, linear or roofline)", model);
    }
    keys[0].fn = h_skip;
    return scn_process_map(c, v, keys, nk, target);
}

struct sched_opts {
    char policy[32];
    double max_batch, max_batched_tokens, max_wait_ms;
    int chunked_prefill;
    struct sim_deployment_cfg *d; /* order, weights, w_in and w_out go straight to it */
};

static int h_policy(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sched_opts *o = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"none", "static", "dynamic", "continuous"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, names[i])) {
            snprintf(o->policy, sizeof o->policy, "%s", s);
            return 0;
        }
    }
    const char *near = scn_did_you_mean(s, names, 4);
    return near ? scn_fail(c, v, "unknown scheduler '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown scheduler '%s' (expected none, static, dynamic or continuous)", s);
}

/* scheduler.order: fifo | priority | fair (sim/src/queue_order.c). */
static int h_order(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sched_opts *o = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"fifo", "priority", "fair"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(s, names[i])) {
            o->d->order = (enum sim_queue_order)i;
            return 0;
        }
    }
    const char *near = scn_did_you_mean(s, names, 3);
    return near ? scn_fail(c, v, "unknown queue order '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown queue order '%s' (expected fifo, priority or fair)", s);
}

/* scheduler.weights: {TENANT: weight > 0, ...} (order fair); the names are
 * checked against the workload's tenants in check_tenants. */
static int h_tenant_weights(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = ((struct sched_opts *)obj)->d;
    if (v->type != YN_MAP || v->n == 0)
        return scn_fail(c, v, "expected a mapping {TENANT: weight, ...}");
    free(d->tenant_weights);
    d->n_tenant_weights = 0;
    d->tenant_weights = calloc(v->n, sizeof *d->tenant_weights);
    if (d->tenant_weights == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        struct sim_tenant_weight *t = &d->tenant_weights[i];
        size_t m = scn_path_push(c, v->keys[i]->str);
        int rc = scn_get_name(c, v->keys[i], t->tenant, SIM_NAME_MAX);
        if (rc == 0)
            rc = scn_get_double(c, v->vals[i], &t->weight);
        if (rc == 0 && !(t->weight > 0 && t->weight <= 1e6))
            rc = scn_fail(c, v->vals[i], "a tenant weight must be > 0 and at most 1e6, got %g (a tenant "
                                         "with weight 0 would never be served while others wait)", t->weight);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        d->n_tenant_weights++;
    }
    return 0;
}

static int fair_weight(struct scn_ctx *c, const struct yn_node *v, double *out)
{
    int rc = scn_get_double(c, v, out);
    if (rc == 0 && !(*out >= 0 && *out <= 1e6))
        rc = scn_fail(c, v, "expected a token weight between 0 and 1e6, got %g", *out);
    return rc;
}

static int h_fair_w_in(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    return fair_weight(c, v, &((struct sched_opts *)obj)->d->fair_w_in);
}

static int h_fair_w_out(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    return fair_weight(c, v, &((struct sched_opts *)obj)->d->fair_w_out);
}

static const struct scn_key sched_keys[] = {
    {"policy", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_policy},
    {"max_batch", SCN_K_DOUBLE, OFF(struct sched_opts, max_batch), 1, 65536, 0, NULL},
    {"max_batched_tokens", SCN_K_DOUBLE, OFF(struct sched_opts, max_batched_tokens), 1, 1e8, 0, NULL},
    {"chunked_prefill", SCN_K_BOOL, OFF(struct sched_opts, chunked_prefill), 0, 0, 0, NULL},
    {"max_wait_ms", SCN_K_DOUBLE, OFF(struct sched_opts, max_wait_ms), 0, 1e7, 0, NULL},
    {"order", SCN_K_FN, 0, 0, 0, 0, h_order},
    {"weights", SCN_K_FN, 0, 0, 0, 0, h_tenant_weights},
    {"w_in", SCN_K_FN, 0, 0, 0, 0, h_fair_w_in},
    {"w_out", SCN_K_FN, 0, 0, 0, 0, h_fair_w_out},
};

static int h_scheduler(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    struct sched_opts o = {"", NAN, NAN, 10, -1, d};
    /* The Virtual Token Counter's defaults: an output token counts twice an
     * input token (Sheng et al., "Fairness in Serving Large Language
     * Models", OSDI 2024, section 4: w_p = 1, w_q = 2, read 2026-12). */
    d->order = SIM_ORDER_FIFO;
    if (v->type == YN_SCALAR && !yn_is_null(v)) {
        if (!strcmp(v->str, "none") || !strcmp(v->str, "continuous") || !strcmp(v->str, "dynamic"))
            return scn_fail(c, v, "expected a mapping, got the value '%s' (write {policy: %s})", v->str, v->str);
        return scn_fail(c, v, "expected a mapping {policy: none, continuous or dynamic, ...}, got the value '%s'",
                        v->str);
    }
    int rc = scn_process_map(c, v, sched_keys, NKEYS(sched_keys), &o);
    if (rc)
        return rc;
    if (!isnan(o.max_batch) && o.max_batch != floor(o.max_batch))
        return scn_fail(c, yn_get(v, "max_batch"), "max_batch must be a whole number");
    int none = !strcmp(o.policy, "none"), cont = !strcmp(o.policy, "continuous"),
        dyn = !strcmp(o.policy, "dynamic");
    static const char *const opt[] = {"max_batch", "max_batched_tokens", "chunked_prefill", "max_wait_ms"};
    for (int i = 0; i < 4; i++) {
        const struct yn_node *k = yn_get(v, opt[i]);
        int ok = !none && (i == 0 || (i == 1 && cont) || (i == 2 && cont) || (i == 3 && dyn));
        if (k && !ok) {
            size_t m = scn_path_push(c, opt[i]);
            rc = scn_fail(c, k, "'%s' does not apply to scheduler %s", opt[i], o.policy);
            scn_path_pop(c, m);
            return rc;
        }
    }
    d->scheduler = none ? SIM_SCHED_NONE : !strcmp(o.policy, "static") ? SIM_SCHED_STATIC
                                          : dyn ? SIM_SCHED_DYNAMIC : SIM_SCHED_CONTINUOUS;
    /* Not given: the engine's defaults, set in finish_self_hosted. */
    L(c)->sched_max_batch = o.max_batch;
    L(c)->sched_batched_tokens = cont ? o.max_batched_tokens : NAN;
    L(c)->sched_chunked = o.chunked_prefill;
    d->max_batch = isnan(o.max_batch) ? 256 : (int)o.max_batch;
    d->max_batched_tokens = INFINITY;
    d->chunked_prefill = o.chunked_prefill > 0;
    d->max_wait_s = o.max_wait_ms * 1e-3;
    static const char *const fair_only[] = {"weights", "w_in", "w_out"};
    for (int i = 0; i < 3; i++) {
        const struct yn_node *k = yn_get(v, fair_only[i]);
        if (k && d->order != SIM_ORDER_FAIR) {
            size_t m = scn_path_push(c, fair_only[i]);
            rc = scn_fail(c, k, "'%s' applies to order fair only", fair_only[i]);
            scn_path_pop(c, m);
            return rc;
        }
    }
    if (d->order == SIM_ORDER_FAIR && d->fair_w_in == 0 && d->fair_w_out == 0)
        return scn_fail(c, v, "w_in and w_out are both 0: the fair order would count no service");
    return 0;
}

static int h_dtype(struct scn_ctx *c, const struct yn_node *v, enum mdl_dtype *out, int kv)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (mdl_dtype_parse(s, out) != 0) {
        if (!strcmp(s, "fp16") || !strcmp(s, "float16") || !strcmp(s, "f16") || !strcmp(s, "half") ||
            !strcmp(s, "bfloat16"))
            return scn_fail(c, v, "unknown %s type '%s' (write bf16: 16-bit types are modelled as bf16, 2 bytes "
                            "per value)", kv ? "KV cache" : "weight", s);
        return scn_fail(c, v, "unknown %s type '%s' (expected bf16, fp8, int8%s)", kv ? "KV cache" : "weight",
                        s, kv ? "" : " or int4");
    }
    if (kv && *out == MDL_DTYPE_INT4)
        return scn_fail(c, v, "int4 KV caches are not modelled (expected bf16, fp8 or int8)");
    return 0;
}

static int h_weights_dtype(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    return h_dtype(c, v, &d->roofline.weights, 0);
}

static int h_kv_dtype(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    return h_dtype(c, v, &d->roofline.kv, 1);
}

static int h_spec_draft(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_spec_cfg *sp = obj;
    return read_llm(c, v, &sp->draft);
}

static const struct scn_key spec_keys[] = {
    {"draft", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_spec_draft},
    {"k", SCN_K_INT, OFF(struct sim_spec_cfg, k), 1, 64, SCN_KF_REQUIRED, NULL},
    {"acceptance", SCN_K_DOUBLE, OFF(struct sim_spec_cfg, acceptance), 0, 1, SCN_KF_REQUIRED, NULL},
};

struct prefix_opts {
    int enabled;
    double block_tokens;
};

static const struct scn_key prefix_keys[] = {
    {"enabled", SCN_K_BOOL, OFF(struct prefix_opts, enabled), 0, 0, 0, NULL},
    {"block_tokens", SCN_K_DOUBLE, OFF(struct prefix_opts, block_tokens), 1, 4096, 0, NULL},
};

static int h_prefix_cache(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'prefix_cache' applies to self-hosted deployments (api ones use 'prompt_cache')");
    struct prefix_opts o = {1, 0};
    int rc = scn_process_map(c, v, prefix_keys, NKEYS(prefix_keys), &o);
    if (rc)
        return rc;
    if (o.block_tokens > 0) {
        if (o.block_tokens != floor(o.block_tokens))
            return scn_fail(c, yn_get(v, "block_tokens"), "block_tokens must be a whole number");
        if (L(c)->block_tokens_set && o.block_tokens != d->block_tokens)
            return scn_fail(c, yn_get(v, "block_tokens"), "block_tokens (%g) differs from kv_block_tokens (%d): "
                                                          "they are the same KV block", o.block_tokens, d->block_tokens);
        d->block_tokens = (int)o.block_tokens; /* the KV block size */
    }
    d->prefix_cache = o.enabled;
    return 0;
}

/* on_limit: retry (a 429, then backoff) | queue (wait client-side) */
static int get_on_limit(struct scn_ctx *c, const struct yn_node *v, int *client_queue)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "retry") || !strcmp(s, "queue")) {
        *client_queue = !strcmp(s, "queue");
        return 0;
    }
    return scn_fail(c, v, "unknown on_limit '%s' (expected retry or queue)", s);
}

static int h_on_limit(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    return get_on_limit(c, v, &((struct sim_deployment_cfg *)obj)->rl_client_queue);
}

static const struct scn_key rate_limit_keys[] = {
    {"requests_per_min", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, rl_requests_per_min), 1, 1e9, 0, NULL},
    {"input_tokens_per_min", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, rl_input_tokens_per_min), 1, 1e12, 0, NULL},
    {"output_tokens_per_min", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, rl_output_tokens_per_min), 1, 1e12, 0, NULL},
    {"backoff_s", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, rl_backoff_s), 0, 3600, SCN_KF_LO_OPEN, NULL},
    {"on_limit", SCN_K_FN, 0, 0, 0, 0, h_on_limit},
};

static int h_rate_limits(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_API)
        return scn_fail(c, v, "'rate_limits' apply to api deployments");
    d->rl_backoff_s = 1.0;
    int rc = scn_process_map(c, v, rate_limit_keys, NKEYS(rate_limit_keys), d);
    if (rc == 0 && d->rl_requests_per_min <= 0 && d->rl_input_tokens_per_min <= 0 && d->rl_output_tokens_per_min <= 0)
        rc = scn_fail(c, v, "give at least one of requests_per_min, input_tokens_per_min, output_tokens_per_min");
    return rc;
}

static int h_quota_on_limit(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    return get_on_limit(c, v, &((struct sim_quota_cfg *)obj)->client_queue);
}

/* The rate_limits keys, for one tenant (same names, ranges and meaning). */
static const struct scn_key quota_keys[] = {
    {"tenant", SCN_K_NAME, OFF(struct sim_quota_cfg, tenant), 0, 0, SCN_KF_REQUIRED, NULL},
    {"requests_per_min", SCN_K_DOUBLE, OFF(struct sim_quota_cfg, requests_per_min), 1, 1e9, 0, NULL},
    {"input_tokens_per_min", SCN_K_DOUBLE, OFF(struct sim_quota_cfg, input_tokens_per_min), 1, 1e12, 0, NULL},
    {"output_tokens_per_min", SCN_K_DOUBLE, OFF(struct sim_quota_cfg, output_tokens_per_min), 1, 1e12, 0, NULL},
    {"backoff_s", SCN_K_DOUBLE, OFF(struct sim_quota_cfg, backoff_s), 0, 3600, SCN_KF_LO_OPEN, NULL},
    {"on_limit", SCN_K_FN, 0, 0, 0, 0, h_quota_on_limit},
};

/* quotas: [{tenant: NAME, requests_per_min, input_tokens_per_min,
 * output_tokens_per_min, backoff_s, on_limit}, ...] (self-hosted): a
 * tenant's rate limits at this deployment; the tenants are checked against
 * the classes in check_tenants. */
static int h_quotas(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'quotas' apply to self-hosted deployments (an api deployment has 'rate_limits')");
    if (v->type != YN_SEQ || v->n == 0)
        return scn_fail(c, v, "expected a list of quotas [{tenant: NAME, requests_per_min: n}]");
    if (v->n > 1024)
        return scn_fail(c, v, "%zu quotas; at most 1024 are allowed", v->n);
    free(d->quotas);
    d->n_quotas = 0;
    d->quotas = calloc(v->n, sizeof *d->quotas);
    if (d->quotas == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        struct sim_quota_cfg *q = &d->quotas[i];
        q->backoff_s = 1.0; /* as rate_limits */
        size_t m = scn_path_push_item(c, v->vals[i], i);
        int rc = scn_process_map(c, v->vals[i], quota_keys, NKEYS(quota_keys), q);
        if (rc == 0 && q->requests_per_min <= 0 && q->input_tokens_per_min <= 0 && q->output_tokens_per_min <= 0)
            rc = scn_fail(c, v->vals[i], "give at least one of requests_per_min, input_tokens_per_min, "
                                         "output_tokens_per_min");
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (!strcmp(d->quotas[j].tenant, q->tenant))
                rc = scn_fail(c, yn_get(v->vals[i], "tenant"), "a second quota for tenant '%s'", q->tenant);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        d->n_quotas++;
    }
    return 0;
}

/* batch: true | {completion_s: DIST}: the Batch API for every request. */
static int h_batch(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_API)
        return scn_fail(c, v, "'batch' (the providers' Batch API) applies to api deployments");
    if (v->type == YN_SCALAR)
        return scn_get_bool(c, v, &d->batch_api);
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected true, false or {completion_s: DISTRIBUTION}");
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->keys[i]->str, "completion_s")) {
            size_t m = scn_path_push(c, v->keys[i]->str);
            int rc = scn_fail(c, v->keys[i], "unknown key '%s' (expected completion_s)", v->keys[i]->str);
            scn_path_pop(c, m);
            return rc;
        }
    }
    const struct yn_node *cs = yn_get(v, "completion_s");
    if (cs == NULL)
        return scn_fail(c, v, "missing required key 'completion_s'");
    size_t m = scn_path_push(c, "completion_s");
    mdl_dist_free(&d->batch_completion_s);
    int rc = scn_get_dist(c, cs, &d->batch_completion_s, 0, 86400);
    scn_path_pop(c, m);
    if (rc == 0)
        d->batch_api = 1;
    return rc;
}

static int h_speculative(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'speculative' applies to self-hosted deployments only");
    int rc = scn_process_map(c, v, spec_keys, NKEYS(spec_keys), &d->spec);
    if (rc == 0)
        d->spec.enabled = 1;
    return rc;
}

static int h_queue(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (!strcmp(s, "shared"))
        d->queue_shared = 1;
    else if (!strcmp(s, "per_replica"))
        d->queue_shared = 0;
    else
        return scn_fail(c, v, "queue must be shared or per_replica, got '%s'", s);
    return 0;
}

static int h_replica_routing(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"round_robin", "random",   "least_loaded",
                                        "power_of_two", "least_kv", "prefix_affinity"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(s, names[i])) {
            d->replica_routing = (enum sim_replica_routing)i;
            return 0;
        }
    }
    const char *near = scn_did_you_mean(s, names, 6);
    return near ? scn_fail(c, v, "unknown replica routing '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown replica routing '%s' (expected round_robin, random, least_loaded, "
                                 "power_of_two, least_kv or prefix_affinity)", s);
}

/* `disaggregated` (struct sim_disagg_cfg): read once the rest of the
 * deployment is (finish_disaggregated); here only where it may appear. */
static int h_disaggregated(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'disaggregated' (separate prefill and decode pools) applies to self-hosted "
                              "deployments only");
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected a mapping {prefill: {...}, decode: {...}, link: {bandwidth_gbs, "
                              "latency_us}}, got %s", yn_type_name(v->type));
    return 0;
}

/* A pool's own keys; the rest of the deployment's keys apply to both pools. */
static const struct scn_key pool_keys[] = {
    {"gpu", SCN_K_FN, 0, 0, 0, 0, h_gpu},
    {"tp", SCN_K_INT, OFF(struct sim_deployment_cfg, tp), 1, 64, 0, NULL},
    {"replicas", SCN_K_INT, OFF(struct sim_deployment_cfg, replicas), 1, SIM_MAX_REPLICAS, 0, NULL},
    {"gpu_hour_usd", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, gpu_hour_usd), 0, 1e4, 0, NULL},
    {"gpu_memory_utilization", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, gpu_memory_utilization), 0, 1,
     SCN_KF_LO_OPEN, NULL},
    {"max_batch", SCN_K_INT, OFF(struct sim_deployment_cfg, max_batch), 1, 1e6, 0, NULL},
    {"max_batched_tokens", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, max_batched_tokens), 1, 1e9, 0, NULL},
};

struct link_in {
    double bandwidth_gbs; /* GB/s (1e9 bytes/s) */
    double latency_us;
};

static const struct scn_key link_keys[] = {
    {"bandwidth_gbs", SCN_K_DOUBLE, OFF(struct link_in, bandwidth_gbs), 0, 1e6, SCN_KF_REQUIRED | SCN_KF_LO_OPEN,
     NULL},
    {"latency_us", SCN_K_DOUBLE, OFF(struct link_in, latency_us), 0, 1e9, SCN_KF_REQUIRED, NULL},
};

struct admission_opts {
    double tier, max_queue, max_wait_s;
    int defer;
};

static int h_admission_action(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct admission_opts *o = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    static const char *const names[] = {"reject", "defer"};
    for (int i = 0; i < 2; i++)
        if (!strcmp(s, names[i])) {
            o->defer = i;
            return 0;
        }
    const char *near = scn_did_you_mean(s, names, 2);
    return near ? scn_fail(c, v, "unknown action '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown action '%s' (expected reject or defer)", s);
}

static const struct scn_key admission_keys[] = {
    {"tier", SCN_K_DOUBLE, OFF(struct admission_opts, tier), -1000000, 1000000, SCN_KF_REQUIRED, NULL},
    {"max_queue", SCN_K_DOUBLE, OFF(struct admission_opts, max_queue), 0, 1e9, 0, NULL},
    {"max_wait_s", SCN_K_DOUBLE, OFF(struct admission_opts, max_wait_s), 0, SIM_MAX_DURATION_S, 0, NULL},
    {"action", SCN_K_FN, 0, 0, 0, 0, h_admission_action},
};

/* admission: [{tier: N, max_queue: n, max_wait_s: s, action: reject | defer}, ...]
 * (self-hosted): one rule per priority tier; the tiers are checked against
 * the classes in check_tenants. */
static int h_admission(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (v->type != YN_SEQ || v->n == 0)
        return scn_fail(c, v, "expected a list of rules [{tier: N, max_queue: n, max_wait_s: s, action: reject}]");
    if (v->n > 1024)
        return scn_fail(c, v, "%zu admission rules; at most 1024 are allowed", v->n);
    free(d->admission);
    d->n_admission = 0;
    d->admission = calloc(v->n, sizeof *d->admission);
    if (d->admission == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        struct admission_opts o = {NAN, INFINITY, INFINITY, 0};
        size_t m = scn_path_push_item(c, v->vals[i], i);
        int rc = scn_process_map(c, v->vals[i], admission_keys, NKEYS(admission_keys), &o);
        if (rc == 0 && o.tier != floor(o.tier))
            rc = scn_fail(c, yn_get(v->vals[i], "tier"), "tier must be a whole number (a class priority)");
        if (rc == 0 && isinf(o.max_queue) && isinf(o.max_wait_s))
            rc = scn_fail(c, v->vals[i], "an admission rule needs a bound: max_queue (requests waiting) "
                                         "and/or max_wait_s");
        if (rc == 0 && !isinf(o.max_queue) && o.max_queue != floor(o.max_queue))
            rc = scn_fail(c, yn_get(v->vals[i], "max_queue"), "max_queue must be a whole number");
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (d->admission[j].tier == (int)o.tier)
                rc = scn_fail(c, yn_get(v->vals[i], "tier"), "a second rule for tier %d", (int)o.tier);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        d->admission[i] = (struct sim_admission_cfg){(int)o.tier, o.max_queue, o.max_wait_s, o.defer};
        d->n_admission++;
    }
    return 0;
}

/* ---- autoscale ------------------------------------------------------------
 *
 * autoscale: {min, max, policy, target_utilization | target_queue |
 * target_kv | target_ttft_ms, interval_s, tolerance, scale_in_cooldown_s,
 * cold_start_s | provision_s, load_bandwidth_gbs, weights_gb}; the rules
 * are in sim/src/world_scale.c.  Defaults, with their sources (checked
 * 2026-12-07):
 *   interval_s 15: the Kubernetes HPA's sync period
 *     (--horizontal-pod-autoscaler-sync-period, default 15 s;
 *     kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/);
 *   tolerance 0.1: the HPA's --horizontal-pod-autoscaler-tolerance default;
 *   scale_in_cooldown_s 300: the HPA's scale-down stabilisation window
 *     (behavior.scaleDown.stabilizationWindowSeconds, default 300 s);
 *   provision_s 120: from the scaling request to an engine ready to load
 *     weights on a fresh cloud GPU VM: node provisioning 60-120 s, driver
 *     initialisation 20-40 s, image pull 30-90 s (systemoverflow.com, "Cold
 *     start problem: model loading and predictive warming strategies"),
 *     or instance provisioning 10-60 s, image pull 5-30 s, server start
 *     5-15 s (paralleliq.ai, "Serverless GPU cold start latency: causes and
 *     solutions"); 120 s lies inside both ranges' sums (20-105 and
 *     110-250 s) near their meeting point, and is design.md's example;
 *   load_bandwidth_gbs 2: weights read from a local NVMe or network file
 *     system at 2 GB/s (paralleliq.ai, same page, which puts object storage
 *     at 0.2-0.5 GB/s; a PCIe 4 datacenter NVMe drive reads 6.9 GB/s
 *     sequentially, Samsung PM9A3 datasheet), so a 16 GB 8B model loads in
 *     8 s and a 140 GB 70B model in 70 s;
 *   weights_gb: the model's weights at its weights_dtype (plus a draft
 *     model's), all of which one replica loads. */
#define AS_DEFAULT_INTERVAL_S 15.0
#define AS_DEFAULT_TOLERANCE 0.1
#define AS_DEFAULT_COOLDOWN_S 300.0
#define AS_DEFAULT_PROVISION_S 120.0
#define AS_DEFAULT_LOAD_GBS 2.0

static const char *const as_policy_names[] = {"utilization", "queue", "kv", "slo"};
static const char *const as_target_keys[] = {"target_utilization", "target_queue", "target_kv", "target_ttft_ms"};

static int h_as_policy(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_autoscale_cfg *as = obj;
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, as_policy_names[i])) {
            as->policy = (enum sim_autoscale_policy)i;
            return 0;
        }
    }
    const char *near = scn_did_you_mean(s, as_policy_names, 4);
    return near ? scn_fail(c, v, "unknown autoscaling policy '%s' (did you mean '%s'?)", s, near)
                : scn_fail(c, v, "unknown autoscaling policy '%s' (expected utilization, queue, kv or slo)", s);
}

/* Targets are read into `target` one at a time; which one was given is
 * found from the node (h_autoscale). */
static const struct scn_key autoscale_keys[] = {
    {"min", SCN_K_INT, OFF(struct sim_autoscale_cfg, min), 1, SIM_MAX_REPLICAS, SCN_KF_REQUIRED, NULL},
    {"max", SCN_K_INT, OFF(struct sim_autoscale_cfg, max), 1, SIM_MAX_REPLICAS, SCN_KF_REQUIRED, NULL},
    {"policy", SCN_K_FN, 0, 0, 0, 0, h_as_policy},
    {"target_utilization", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, target), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"target_queue", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, target), 0, 1e6, SCN_KF_LO_OPEN, NULL},
    {"target_kv", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, target), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"target_ttft_ms", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, target), 0, 3.6e6, SCN_KF_LO_OPEN, NULL},
    {"interval_s", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, interval_s), 0, 86400, SCN_KF_LO_OPEN, NULL},
    {"tolerance", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, tolerance), 0, 0.99, 0, NULL},
    {"scale_in_cooldown_s", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, scale_in_cooldown_s), 0, 86400, 0, NULL},
    {"cold_start_s", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, cold_start_s), 0, 86400, 0, NULL},
    {"provision_s", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, provision_s), 0, 86400, 0, NULL},
    {"load_bandwidth_gbs", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, load_bandwidth_gbs), 0, 1e4, SCN_KF_LO_OPEN, NULL},
    {"weights_gb", SCN_K_DOUBLE, OFF(struct sim_autoscale_cfg, weights_gb), 0, 1e5, 0, NULL},
};

/* Fails at key `key` of mapping v (its path pushed). */
static int fail_at(struct scn_ctx *c, const struct yn_node *v, const char *key, const char *msg)
{
    size_t m = scn_path_push(c, key);
    int rc = scn_fail(c, yn_get(v, key), "%s", msg);
    scn_path_pop(c, m);
    return rc;
}

static int h_autoscale(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'autoscale' applies to self-hosted deployments (api capacity is the provider's)");
    struct sim_autoscale_cfg *as = &d->autoscale;
    memset(as, 0, sizeof *as);
    as->interval_s = AS_DEFAULT_INTERVAL_S;
    as->tolerance = AS_DEFAULT_TOLERANCE;
    as->scale_in_cooldown_s = AS_DEFAULT_COOLDOWN_S;
    as->cold_start_s = -1;
    as->provision_s = AS_DEFAULT_PROVISION_S;
    as->load_bandwidth_gbs = AS_DEFAULT_LOAD_GBS;
    int rc = scn_process_map(c, v, autoscale_keys, NKEYS(autoscale_keys), as);
    if (rc)
        return rc;
    if (as->min > as->max) {
        char msg[128];
        snprintf(msg, sizeof msg, "min (%d) is larger than max (%d)", as->min, as->max);
        return fail_at(c, v, "min", msg);
    }
    int given = -1;
    for (int i = 0; i < 4; i++) {
        if (yn_get(v, as_target_keys[i]) == NULL)
            continue;
        if (given >= 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "give one target: %s and %s are both given", as_target_keys[given],
                     as_target_keys[i]);
            return fail_at(c, v, as_target_keys[i], msg);
        }
        given = i;
    }
    if (yn_get(v, "policy") == NULL) {
        if (given < 0)
            return scn_fail(c, v, "give a target (target_utilization, target_queue, target_kv or "
                                  "target_ttft_ms) or a policy");
        as->policy = (enum sim_autoscale_policy)given;
    } else if (given >= 0 && given != (int)as->policy) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s is the target of the %s policy, not of %s", as_target_keys[given],
                 as_policy_names[given], as_policy_names[as->policy]);
        return fail_at(c, v, as_target_keys[given], msg);
    } else if (given < 0 && as->policy != SIM_AS_SLO) {
        char msg[128];
        snprintf(msg, sizeof msg, "the %s policy needs '%s'", as_policy_names[as->policy],
                 as_target_keys[as->policy]);
        return fail_at(c, v, "policy", msg);
    }
    if (as->policy == SIM_AS_SLO)
        as->target *= 1e-3; /* ms to s; 0 = from slo.ttft_ms (resolve) */
    if (yn_get(v, "cold_start_s")) {
        static const char *const parts[] = {"provision_s", "load_bandwidth_gbs", "weights_gb"};
        for (int i = 0; i < 3; i++)
            if (yn_get(v, parts[i]))
                return fail_at(c, v, parts[i], "cold_start_s is the whole scale-up delay; give it or its "
                                               "parts (provision_s, load_bandwidth_gbs, weights_gb), not both");
    }
    as->weights_given = yn_get(v, "weights_gb") != NULL;
    as->enabled = 1;
    return 0;
}

/* A cold start (autoscale's scale-up, spot's replacement): cold_start_s
 * when given (>= 0), else provision_s + the weights over the load
 * bandwidth, the weights being the model's (and a draft model's) at its
 * weights_dtype unless given.  Fails at node n. */
static int cold_start(struct scn_ctx *c, const struct yn_node *n, const struct sim_deployment_cfg *d,
                      double cold_start_s, double provision_s, double load_gbs, int weights_given,
                      double *weights_gb, double *delay_s)
{
    if (cold_start_s >= 0) {
        *delay_s = cold_start_s;
        return 0;
    }
    if (!weights_given) {
        if (!d->has_llm)
            return scn_fail(c, n, "no model to take the weights from: give weights_gb (or cold_start_s, the "
                                  "whole delay)");
        *weights_gb = (mdl_llm_weight_bytes(&d->roofline.llm, d->roofline.weights) +
                       (d->spec.enabled ? mdl_llm_weight_bytes(&d->spec.draft, d->roofline.weights) : 0)) /
                      1e9;
    }
    *delay_s = provision_s + *weights_gb / load_gbs;
    return 0;
}

static const struct scn_key spot_trace_keys[] = {
    {"t_s", SCN_K_DOUBLE, OFF(struct sim_spot_interruption, t_s), 0, 1e9, SCN_KF_REQUIRED, NULL},
    {"replica", SCN_K_INT, OFF(struct sim_spot_interruption, replica), 0, SIM_MAX_REPLICAS - 1, SCN_KF_REQUIRED,
     NULL},
};

static int h_spot_trace(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_spot_cfg *sp = obj;
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of {t_s, replica}, got %s", yn_type_name(v->type));
    if (v->n > SIM_MAX_SPOT_TRACE)
        return scn_fail(c, v, "%zu interruptions; at most %d are allowed", v->n, SIM_MAX_SPOT_TRACE);
    for (size_t i = 0; i < v->n; i++) {
        size_t m = scn_path_push_index(c, i);
        memset(&sp->trace[i], 0, sizeof sp->trace[i]);
        int rc = scn_process_map(c, v->vals[i], spot_trace_keys, NKEYS(spot_trace_keys), &sp->trace[i]);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    sp->n_trace = (int)v->n;
    return 0;
}

/* The autoscaler against the rest of the deployment, once every key is read:
 * the replicas at time 0, the weights it loads and the delay. */
static int finish_autoscale(struct scn_ctx *c, const struct yn_node *dn, struct sim_deployment_cfg *d)
{
    struct sim_autoscale_cfg *as = &d->autoscale;
    const struct yn_node *an = yn_get(dn, "autoscale");
    size_t m = scn_path_push(c, "autoscale");
    int rc = 0;
    if (yn_get(dn, "replicas") == NULL) {
        d->replicas = as->min;
    } else if (d->replicas < as->min || d->replicas > as->max) {
        scn_path_pop(c, m);
        m = scn_path_push(c, "replicas");
        rc = scn_fail(c, yn_get(dn, "replicas"), "replicas (%d), the count at time 0, must lie within autoscale's "
                                                 "min (%d) and max (%d)", d->replicas, as->min, as->max);
    }
    if (rc == 0 && as->policy == SIM_AS_KV &&
        (d->scheduler == SIM_SCHED_NONE || !(d->kv_capacity_tokens > 0 || (d->has_gpu && d->has_llm))))
        rc = scn_fail(c, an, "the kv policy reads KV memory use: it needs a batching scheduler and bounded KV "
                             "memory ('gpu' and 'model', or kv_capacity_tokens)");
    if (rc == 0)
        rc = cold_start(c, an, d, as->cold_start_s, as->provision_s, as->load_bandwidth_gbs, as->weights_given,
                        &as->weights_gb, &as->delay_s);
    scn_path_pop(c, m);
    return rc;
}

/* ---- spot ------------------------------------------------------------------
 *
 * spot: {share, discount, rate_per_h, interruptions: [{t_s, replica}],
 * acquire_s, cold_start_s | provision_s, load_bandwidth_gbs, weights_gb};
 * the rules are in sim/src/world_scale.c.  The replacement's cold start
 * takes autoscale's defaults and sources (above).  No default discount or
 * rate: both vary by instance type, region and hour (AWS: "up to 90%" off
 * on-demand, aws.amazon.com/ec2/spot/pricing/; GCP: Spot VMs "up to 91%"
 * off, docs.cloud.google.com/compute/docs/instances/create-use-spot, checked
 * 2026-12), and AWS publishes interruption frequencies per instance type
 * only as bands (Spot Instance Advisor: <5%, 5-10%, ..., >20% per month).
 * acquire_s 0: AWS Auto Scaling and GCP managed instance groups request a
 * replacement as soon as an instance is reclaimed; give acquire_s when spot
 * capacity takes time to come back. */
static const struct scn_key spot_keys[] = {
    {"share", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, share), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"discount", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, discount), 0, 0.999, SCN_KF_REQUIRED, NULL},
    {"rate_per_h", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, rate_per_h), 0, 3600, 0, NULL},
    {"interruptions", SCN_K_FN, 0, 0, 0, 0, h_spot_trace},
    {"acquire_s", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, acquire_s), 0, 86400, 0, NULL},
    {"cold_start_s", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, cold_start_s), 0, 86400, 0, NULL},
    {"provision_s", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, provision_s), 0, 86400, 0, NULL},
    {"load_bandwidth_gbs", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, load_bandwidth_gbs), 0, 1e4, SCN_KF_LO_OPEN, NULL},
    {"weights_gb", SCN_K_DOUBLE, OFF(struct sim_spot_cfg, weights_gb), 0, 1e5, 0, NULL},
};

static int h_spot(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_deployment_cfg *d = obj;
    if (d->kind != SIM_DEPLOY_SELF_HOSTED)
        return scn_fail(c, v, "'spot' applies to self-hosted deployments (api capacity is the provider's)");
    struct sim_spot_cfg *sp = &d->spot;
    memset(sp, 0, sizeof *sp);
    sp->share = 1.0;
    sp->cold_start_s = -1;
    sp->provision_s = AS_DEFAULT_PROVISION_S;
    sp->load_bandwidth_gbs = AS_DEFAULT_LOAD_GBS;
    int rc = scn_process_map(c, v, spot_keys, NKEYS(spot_keys), sp);
    if (rc)
        return rc;
    if (yn_get(v, "rate_per_h") == NULL && yn_get(v, "interruptions") == NULL)
        return scn_fail(c, v, "give rate_per_h (interruptions per spot replica-hour), interruptions (a list of "
                              "{t_s, replica}), or both");
    if (yn_get(v, "cold_start_s")) {
        static const char *const parts[] = {"provision_s", "load_bandwidth_gbs", "weights_gb"};
        for (int i = 0; i < 3; i++)
            if (yn_get(v, parts[i]))
                return fail_at(c, v, parts[i], "cold_start_s is the whole replacement delay; give it or its "
                                               "parts (provision_s, load_bandwidth_gbs, weights_gb), not both");
    }
    sp->weights_given = yn_get(v, "weights_gb") != NULL;
    sp->enabled = 1;
    return 0;
}

/* Spot against the rest of the deployment: the spot slots, the listed
 * interruptions' replicas and the replacement delay. */
static int finish_spot(struct scn_ctx *c, const struct yn_node *dn, struct sim_deployment_cfg *d)
{
    struct sim_spot_cfg *sp = &d->spot;
    const struct yn_node *sn = yn_get(dn, "spot");
    size_t m = scn_path_push(c, "spot");
    int rc = 0;
    sp->n_spot = (int)lround(sp->share * d->replicas);
    if (d->autoscale.enabled)
        rc = scn_fail(c, sn, "spot capacity together with autoscale is not simulated yet: give a fixed "
                             "'replicas' count");
    else if (sp->n_spot < 1)
        rc = fail_at(c, sn, "share", "share x replicas rounds to no spot replica");
    for (int i = 0; rc == 0 && i < sp->n_trace; i++) {
        int j = sp->trace[i].replica;
        if (j >= d->replicas - sp->n_spot && j < d->replicas)
            continue;
        const struct yn_node *tn = yn_get(sn, "interruptions");
        size_t m2 = scn_path_push(c, "interruptions");
        scn_path_push_index(c, (size_t)i);
        char msg[200];
        snprintf(msg, sizeof msg, "replica %d is not a spot replica: the spot ones are %d to %d (the highest "
                 "share x replicas slots)", j, d->replicas - sp->n_spot, d->replicas - 1);
        rc = fail_at(c, tn->vals[i], "replica", msg);
        scn_path_pop(c, m2);
    }
    if (rc == 0)
        rc = cold_start(c, sn, d, sp->cold_start_s, sp->provision_s, sp->load_bandwidth_gbs, sp->weights_given,
                        &sp->weights_gb, &sp->delay_s);
    scn_path_pop(c, m);
    return rc;
}

static const struct scn_key deployment_keys[] = {
    {"name", SCN_K_NAME, OFF(struct sim_deployment_cfg, name), 0, 0, SCN_KF_REQUIRED, NULL},
    {"kind", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_kind},
    {"gpu", SCN_K_FN, 0, 0, 0, 0, h_gpu},
    {"model", SCN_K_FN, 0, 0, 0, 0, h_model},
    {"price", SCN_K_FN, 0, 0, 0, 0, h_price},
    {"latency", SCN_K_FN, 0, 0, 0, 0, h_latency},
    {"engine", SCN_K_FN, 0, 0, 0, 0, h_engine},
    {"replicas", SCN_K_INT, OFF(struct sim_deployment_cfg, replicas), 1, SIM_MAX_REPLICAS, 0, NULL},
    {"tp", SCN_K_INT, OFF(struct sim_deployment_cfg, tp), 1, 64, 0, NULL},
    {"gpu_hour_usd", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, gpu_hour_usd), 0, 1e4, 0, NULL},
    {"scheduler", SCN_K_FN, 0, 0, 0, 0, h_scheduler},
    {"queue", SCN_K_FN, 0, 0, 0, 0, h_queue},
    {"admission", SCN_K_FN, 0, 0, 0, 0, h_admission},
    {"replica_routing", SCN_K_FN, 0, 0, 0, 0, h_replica_routing},
    {"prompt_cache", SCN_K_FN, 0, 0, 0, 0, h_prompt_cache},
    {"rate_limits", SCN_K_FN, 0, 0, 0, 0, h_rate_limits},
    {"quotas", SCN_K_FN, 0, 0, 0, 0, h_quotas},
    {"weights_dtype", SCN_K_FN, 0, 0, 0, 0, h_weights_dtype},
    {"kv_dtype", SCN_K_FN, 0, 0, 0, 0, h_kv_dtype},
    {"gpu_memory_utilization", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, gpu_memory_utilization), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"kv_capacity_tokens", SCN_K_DOUBLE, OFF(struct sim_deployment_cfg, kv_capacity_tokens), 1, 1e12, 0, NULL},
    {"kv_block_tokens", SCN_K_INT, OFF(struct sim_deployment_cfg, block_tokens), 1, 4096, 0, NULL},
    {"prefix_cache", SCN_K_FN, 0, 0, 0, 0, h_prefix_cache},
    {"speculative", SCN_K_FN, 0, 0, 0, 0, h_speculative},
    {"autoscale", SCN_K_FN, 0, 0, 0, 0, h_autoscale},
    {"spot", SCN_K_FN, 0, 0, 0, 0, h_spot},
    {"batch", SCN_K_FN, 0, 0, 0, 0, h_batch},
    {"disaggregated", SCN_K_FN, 0, 0, 0, 0, h_disaggregated},
};

/* Keys that only one kind of deployment takes. */
static int check_kind_keys(struct scn_ctx *c, const struct yn_node *v, const struct sim_deployment_cfg *d)
{
    static const char *const self_only[] = {"replicas", "tp", "gpu_hour_usd", "scheduler", "queue",
                                            "replica_routing", "weights_dtype", "kv_dtype",
                                            "gpu_memory_utilization", "kv_capacity_tokens",
                                            "kv_block_tokens", "engine", "admission"};
    for (size_t i = 0; i < sizeof self_only / sizeof self_only[0]; i++) {
        const struct yn_node *k = yn_get(v, self_only[i]);
        if (k && d->kind == SIM_DEPLOY_API) {
            size_t m = scn_path_push(c, self_only[i]);
            int rc = scn_fail(c, k, "'%s' applies to self-hosted deployments only", self_only[i]);
            scn_path_pop(c, m);
            return rc;
        }
    }
    return 0;
}

/* Defaults and cross-checks of a self-hosted deployment once all its keys are read. */
static int finish_self_hosted(struct scn_ctx *c, const struct yn_node *dn, struct sim_deployment_cfg *d)
{
    if (yn_get(dn, "latency") == NULL) {
        if (!(d->has_gpu && d->has_llm))
            return scn_fail(c, dn, "missing required key 'latency' (or give 'gpu' and 'model' for the "
                                   "roofline model)");
        d->latency_kind = MDL_LAT_ROOFLINE;
    }
    if (isnan(d->gpu_hour_usd)) {
        if (!d->has_gpu)
            return scn_fail(c, dn, "missing required key 'gpu_hour_usd' (USD per GPU-hour, billed while "
                                   "provisioned), or give a catalog 'gpu'");
        d->gpu_hour_usd = d->roofline.gpu.hour_usd;
    }
    /* The engine's behaviour and defaults (models/include/llmsim/hardware.h). */
    struct load *ld = L(c);
    const struct mdl_engine_info *ei = mdl_engine_info(d->engine);
    const struct mdl_gpu *gpu = d->has_gpu ? &d->roofline.gpu : NULL;
    if (yn_get(dn, "gpu_memory_utilization") == NULL)
        d->gpu_memory_utilization = mdl_engine_default_mem_util(d->engine, d->tp);
    if (d->latency_kind == MDL_LAT_ROOFLINE && d->scheduler == SIM_SCHED_NONE &&
        yn_get(dn, "scheduler") == NULL)
        d->scheduler = SIM_SCHED_CONTINUOUS; /* the roofline times engine steps */
    if (d->scheduler == SIM_SCHED_CONTINUOUS && isnan(ld->sched_max_batch))
        d->max_batch = mdl_engine_default_max_seqs(d->engine, gpu);
    if (d->scheduler == SIM_SCHED_CONTINUOUS) {
        d->chunked_prefill = ld->sched_chunked >= 0 ? ld->sched_chunked : ei->chunked_prefill;
        d->max_batched_tokens = !isnan(ld->sched_batched_tokens)
                                    ? ld->sched_batched_tokens
                                    : mdl_engine_default_batched_tokens(d->engine, gpu, d->chunked_prefill);
        if (d->max_batched_tokens < d->max_batch) {
            if (isnan(ld->sched_batched_tokens))
                d->max_batched_tokens = d->max_batch; /* the engine raises its budget to max_num_seqs */
            else
                return scn_fail(c, yn_get(dn, "scheduler"),
                                "max_batched_tokens (%g) must be at least max_batch (%d): every running "
                                "request decodes one token per iteration", d->max_batched_tokens, d->max_batch);
        }
        if (yn_get(dn, "prefix_cache") == NULL && !d->spec.enabled)
            d->prefix_cache = ei->prefix_cache;
    }
    d->admit_whole_prompt = ei->admit_whole_prompt;
    d->kv_watermark = ei->watermark;
    d->preempt_keeps_cache = ei->preempt_keeps_cache;

    if (d->has_gpu && d->has_llm) {
        /* Defaults for this GPU and engine, then the calibration, then the
         * scenario's own values. */
        struct mdl_roofline r;
        mdl_roofline_init(&r, &d->roofline.gpu, &d->roofline.llm, d->tp, d->roofline.weights, d->roofline.kv);
        mdl_roofline_set_engine(&r, d->engine);
        d->roofline = r;
    } else {
        d->roofline.tp = d->tp;
        d->roofline.engine = d->engine;
    }
    if (ld->cal_node != NULL) {
        if (!(d->has_gpu && d->has_llm))
            return scn_fail(c, ld->cal_node, "a calibration applies to the roofline model of a deployment "
                                             "with 'gpu' and 'model'");
        size_t m = scn_path_push(c, "latency");
        size_t m2 = scn_path_push(c, "calibration");
        int rc = scn_calibration_apply(c, ld->cal_node, ld->cal_path, &d->roofline);
        scn_path_pop(c, m2);
        scn_path_pop(c, m);
        if (rc)
            return rc;
        snprintf(d->calibration, sizeof d->calibration, "%s", ld->cal_path);
    }
    for (int k = 0; k < MDL_N_PARAMS; k++)
        if (!isnan(ld->rl_given[k]))
            mdl_roofline_param_set(&d->roofline, k, ld->rl_given[k]);

    if (d->latency_kind == MDL_LAT_ROOFLINE) {
        if (!d->has_gpu || !d->has_llm)
            return scn_fail(c, yn_get(dn, "latency"), "the roofline model needs 'gpu' and 'model'");
        struct llmsim_error e2;
        llmsim_error_clear(&e2);
        if (mdl_roofline_check(&d->roofline, &e2) != 0)
            return scn_fail(c, dn, "%s", e2.msg);
    }
    if (d->has_gpu && d->has_llm) {
        sim_deployment_kv_budget(d, &d->kv_budget);
        const struct mdl_kv_budget *kb = &d->kv_budget;
        if (d->kv_capacity_tokens <= 0 && kb->blocks < 1) {
            const struct yn_node *k = yn_get(dn, "gpu_memory_utilization");
            return scn_fail(c, k ? k : dn,
                            "no room for a KV block on %s x %d: %.2f x %.2f GiB = %.2f GiB usable per GPU, "
                            "minus weights %.2f GiB, activations %.2f GiB, non-torch and CUDA graphs %.2f GiB leaves %.2f GiB; "
                            "raise gpu_memory_utilization or tp, or use smaller weights",
                            d->roofline.gpu.id, d->tp, d->gpu_memory_utilization, d->roofline.gpu.memory_gib,
                            kb->usable_bytes / MDL_GIB, kb->weight_bytes / MDL_GIB, kb->activation_bytes / MDL_GIB,
                            (kb->non_torch_bytes + kb->cuda_graph_bytes) / MDL_GIB, kb->kv_bytes / MDL_GIB);
        }
    }
    if (d->kv_capacity_tokens > 0 && d->kv_capacity_tokens < d->block_tokens)
        return scn_fail(c, yn_get(dn, "kv_capacity_tokens"), "kv_capacity_tokens (%g) is less than one KV block "
                                                             "(%d tokens)", d->kv_capacity_tokens, d->block_tokens);
    if (d->scheduler == SIM_SCHED_NONE && d->latency_kind == MDL_LAT_ROOFLINE)
        return scn_fail(c, yn_get(dn, "scheduler"), "the roofline model times batch iterations; use "
                                                     "static, dynamic or continuous");
    if (d->scheduler != SIM_SCHED_NONE && d->latency_kind == MDL_LAT_SERVICE_TIME)
        return scn_fail(c, yn_get(dn, "scheduler"), "service_time latency applies to scheduler none only");
    if (d->scheduler != SIM_SCHED_NONE && d->queue_shared)
        return scn_fail(c, yn_get(dn, "queue"), "a shared queue applies to scheduler none only");
    if (d->spec.enabled) {
        if (d->latency_kind != MDL_LAT_ROOFLINE)
            return scn_fail(c, yn_get(dn, "speculative"), "speculative decoding needs the roofline model");
        if (d->scheduler != SIM_SCHED_CONTINUOUS)
            return scn_fail(c, yn_get(dn, "speculative"), "speculative decoding needs continuous batching");
    }
    if (d->prefix_cache && d->scheduler != SIM_SCHED_CONTINUOUS)
        return scn_fail(c, yn_get(dn, "prefix_cache"), "the prefix cache needs continuous batching");
    if (d->prefix_cache && d->spec.enabled)
        return scn_fail(c, yn_get(dn, "prefix_cache"), "the prefix cache and speculative decoding together "
                                                       "are not modelled");
    if (yn_get(dn, "weights_dtype") && !d->has_llm)
        return scn_fail(c, yn_get(dn, "weights_dtype"), "weights_dtype needs a 'model' to apply to");
    if (d->autoscale.enabled) {
        int arc = finish_autoscale(c, dn, d);
        if (arc)
            return arc;
    }
    if (d->spot.enabled)
        return finish_spot(c, dn, d);
    return 0;
}

/* One pool of a disaggregated deployment: the deployment as read (raw, not
 * yet finished) with the pool's keys, then the same defaults and checks as
 * a deployment of its own.  Keys the pool gives win over the defaults. */
static int finish_pool(struct scn_ctx *c, const struct yn_node *dn, const struct yn_node *pn,
                       const struct sim_deployment_cfg *raw, struct sim_deployment_cfg *p)
{
    *p = *raw;
    if (pn != NULL && !yn_is_null(pn)) {
        if (pn->type != YN_MAP)
            return scn_fail(c, pn, "expected a mapping {gpu, tp, replicas, ...}, got %s", yn_type_name(pn->type));
        /* A GPU of the pool's own is billed at its catalog price unless the
         * pool says otherwise. */
        if (yn_get(pn, "gpu") != NULL)
            p->gpu_hour_usd = NAN;
        int rc = scn_process_map(c, pn, pool_keys, NKEYS(pool_keys), p);
        if (rc)
            return rc;
    }
    double mem = p->gpu_memory_utilization, mb = p->max_batch, mbt = p->max_batched_tokens;
    int rc = finish_self_hosted(c, dn, p);
    if (rc)
        return rc;
    const struct yn_node *k;
    if (pn != NULL && pn->type == YN_MAP && (k = yn_get(pn, "gpu_memory_utilization")) != NULL) {
        p->gpu_memory_utilization = mem;
        if (p->has_gpu && p->has_llm) {
            sim_deployment_kv_budget(p, &p->kv_budget);
            if (p->kv_capacity_tokens <= 0 && p->kv_budget.blocks < 1)
                return scn_fail(c, k, "no room for a KV block at gpu_memory_utilization %g on %s x %d", mem,
                                p->roofline.gpu.id, p->tp);
        }
    }
    if (pn != NULL && pn->type == YN_MAP && yn_get(pn, "max_batch") != NULL)
        p->max_batch = (int)mb;
    if (pn != NULL && pn->type == YN_MAP && yn_get(pn, "max_batched_tokens") != NULL)
        p->max_batched_tokens = mbt;
    if (p->max_batched_tokens < p->max_batch)
        return scn_fail(c, pn ? pn : dn, "max_batched_tokens (%g) must be at least max_batch (%d)",
                        p->max_batched_tokens, p->max_batch);
    return 0;
}

/* A self-hosted deployment with `disaggregated`: the prefill pool goes to
 * d->disagg->prefill, the decode pool to d itself (so the deployment's
 * gpu, tp, replicas and KV budget are the decode pool's).  Called instead
 * of finish_self_hosted. */
static int finish_disaggregated(struct scn_ctx *c, const struct yn_node *dn, struct sim_deployment_cfg *d)
{
    const struct yn_node *v = yn_get(dn, "disaggregated");
    static const char *const keys[] = {"prefill", "decode", "link"};
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        if (strcmp(k, "prefill") && strcmp(k, "decode") && strcmp(k, "link")) {
            const char *near = scn_did_you_mean(k, keys, 3);
            size_t m = scn_path_push(c, "disaggregated");
            scn_path_push(c, k);
            int rc = near ? scn_fail(c, v->keys[i], "unknown key '%s' (did you mean '%s'?)", k, near)
                          : scn_fail(c, v->keys[i], "unknown key '%s' (expected prefill, decode or link)", k);
            scn_path_pop(c, m);
            return rc;
        }
    }
    /* world_scale.c's autoscaler sizes one pool of replicas by one metric;
     * a disaggregated deployment has two pools, which would need a policy
     * each (and a fleet that keeps their ratio), none of which is modelled. */
    if (yn_get(dn, "autoscale") != NULL)
        return fail_at(c, dn, "autoscale", "autoscale with disaggregated pools is not modelled (the autoscaler "
                                           "sizes one pool of replicas, a disaggregated deployment has two); "
                                           "remove 'autoscale' or 'disaggregated'");
    /* An interrupted spot replica hands every request it holds back to be
     * routed again (world_scale.c); a prefill replica's KV caches on their
     * way, or a decode replica's requests waiting for or receiving one,
     * would need a recovery of their own, which is not modelled. */
    if (yn_get(dn, "spot") != NULL)
        return fail_at(c, dn, "spot", "spot capacity with disaggregated pools is not modelled (an interrupted "
                                      "replica would lose KV caches in transfer); remove 'spot' or "
                                      "'disaggregated'");
    size_t m = scn_path_push(c, "disaggregated");
    int rc = 0;
    const struct yn_node *ln = yn_get(v, "link");
    if (ln == NULL)
        rc = scn_fail(c, v, "missing required key 'link' ({bandwidth_gbs, latency_us}: the KV cache's way from "
                            "a prefill replica to a decode replica)");
    if (rc == 0 && yn_get(dn, "speculative") != NULL)
        rc = scn_fail(c, v, "speculative decoding with disaggregated pools is not modelled (the draft "
                            "model's KV cache would move too)");
    const struct yn_node *pc = yn_get(dn, "prefix_cache");
    if (rc == 0 && d->prefix_cache && pc != NULL)
        rc = scn_fail(c, pc, "the prefix cache with disaggregated pools is not modelled; set "
                             "prefix_cache: {enabled: false}");
    struct sim_disagg_cfg *g = NULL;
    if (rc == 0 && (g = calloc(1, sizeof *g)) == NULL)
        rc = llmsim_error_set(c->err, LLMSIM_ENOMEM, dn->file, 0, 0, "out of memory");
    struct link_in li = {NAN, NAN};
    if (rc == 0) {
        size_t m2 = scn_path_push(c, "link");
        rc = ln->type == YN_MAP ? scn_process_map(c, ln, link_keys, NKEYS(link_keys), &li)
                                : scn_fail(c, ln, "expected a mapping {bandwidth_gbs, latency_us}, got %s",
                                           yn_type_name(ln->type));
        scn_path_pop(c, m2);
    }
    struct sim_deployment_cfg raw = *d;
    if (rc == 0) {
        size_t m2 = scn_path_push(c, "prefill");
        rc = finish_pool(c, dn, yn_get(v, "prefill"), &raw, &g->prefill);
        scn_path_pop(c, m2);
    }
    if (rc == 0) {
        size_t m2 = scn_path_push(c, "decode");
        rc = finish_pool(c, dn, yn_get(v, "decode"), &raw, d);
        scn_path_pop(c, m2);
    }
    if (rc == 0 && (d->scheduler != SIM_SCHED_CONTINUOUS || g->prefill.scheduler != SIM_SCHED_CONTINUOUS))
        rc = scn_fail(c, v, "disaggregated pools need scheduler continuous (iteration-level batching)");
    if (rc == 0 && d->latency_kind != MDL_LAT_ROOFLINE && d->latency_kind != MDL_LAT_LINEAR)
        rc = scn_fail(c, v, "disaggregated pools need the roofline or linear latency model");
    if (rc == 0 && !d->has_llm)
        rc = scn_fail(c, v, "disaggregated pools need the deployment's 'model' (its KV bytes per token size "
                            "the transfers)");
    if (rc == 0 && (g->prefill.roofline.llm.layers != d->roofline.llm.layers))
        rc = scn_fail(c, v, "both pools serve the deployment's model");
    scn_path_pop(c, m);
    if (rc) {
        free(g);
        return rc;
    }
    d->prefix_cache = g->prefill.prefix_cache = 0;
    g->prefill.disagg = NULL;
    g->prefill.class_success = NULL;
    g->link_bytes_per_s = li.bandwidth_gbs * 1e9;
    g->link_latency_s = li.latency_us * 1e-6;
    /* The prompt's KV cache, every layer, K and V, at the KV dtype: what the
     * roofline reads per context token (models/src/hardware.c). */
    g->kv_bytes_per_token = mdl_llm_kv_bytes_per_token(&d->roofline.llm, d->roofline.kv);
    d->disagg = g;
    return 0;
}

/* An api deployment's latency defaults from its measured profile: the one
 * `latency.profile` names, else the one whose id is the deployment's model;
 * figures the scenario gives under `latency` stay.  Without a profile the
 * pooled defaults set in h_deployments stay. */
static void apply_api_profile(const struct yn_node *dn, struct sim_deployment_cfg *d)
{
    static const char *const figures[] = {"network_ms", "ttft_base_ms", "prefill_tokens_per_s",
                                          "cached_prefill_tokens_per_s", "itl_ms"};
    const struct yn_node *lat = dn->type == YN_MAP ? yn_get(dn, "latency") : NULL;
    int given[NKEYS(figures)];
    d->api_latency_given = 0;
    for (size_t k = 0; k < NKEYS(figures); k++) {
        given[k] = lat != NULL && lat->type == YN_MAP && yn_get(lat, figures[k]) != NULL;
        d->api_latency_given |= given[k];
    }
    const struct mdl_api_profile *p =
        scn_api_profile_lookup(d->api_profile[0] ? d->api_profile : d->model, NULL);
    if (p == NULL)
        return;
    snprintf(d->api_profile, sizeof d->api_profile, "%s", p->id);
    if (!given[0])
        d->api.network_ms = p->network_ms;
    if (!given[1])
        d->api.ttft_base_ms = p->ttft_base_ms;
    if (!given[2])
        d->api.prefill_tokens_per_s = p->prefill_tokens_per_s;
    if (!given[4]) {
        d->api.itl_ms.kind = MDL_DIST_LOGNORMAL;
        d->api.itl_ms.mean = p->itl_mean_ms;
        d->api.itl_ms.sd = p->itl_mean_ms * p->itl_cv;
        mdl_dist_prepare(&d->api.itl_ms, NULL);
    }
}

static int h_deployments(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    if (v->type != YN_SEQ)
        return scn_fail(c, v, "expected a list of deployments, got %s", yn_type_name(v->type));
    if (v->n == 0)
        return scn_fail(c, v, "at least one deployment is needed");
    if (v->n > 256)
        return scn_fail(c, v, "%zu deployments; at most 256 are allowed", v->n);
    sc->deployments = calloc(v->n, sizeof *sc->deployments);
    if (sc->deployments == NULL)
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    sc->n_deployments = v->n;
    for (size_t i = 0; i < v->n; i++) {
        struct sim_deployment_cfg *d = &sc->deployments[i];
        const struct yn_node *dn = v->vals[i];
        d->replicas = 1;
        d->tp = 1;
        d->gpu_hour_usd = NAN;
        d->replica_routing = SIM_RR_ROUND_ROBIN;
        /* The Virtual Token Counter's defaults: an output token counts twice
         * an input token (Sheng et al., "Fairness in Serving Large Language
         * Models", OSDI 2024, section 4: w_p = 1, w_q = 2, read 2026-12). */
        d->fair_w_in = 1.0;
        d->fair_w_out = 2.0;
        d->latency_kind = MDL_LAT_API;
        d->scheduler = SIM_SCHED_NONE;
        d->max_batch = 1;
        d->max_batched_tokens = INFINITY;
        d->gpu_memory_utilization = 0.9;
        d->block_tokens = 16;
        d->roofline.weights = MDL_DTYPE_BF16;
        d->roofline.kv = MDL_DTYPE_BF16;
        d->engine = MDL_ENGINE_VLLM_V1;
        d->api.network_ms = API_DEFAULT_NETWORK_MS;
        d->api.ttft_base_ms = API_DEFAULT_TTFT_BASE_MS;
        d->api.prefill_tokens_per_s = API_DEFAULT_PREFILL_TOKENS_PER_S;
        d->api.cached_prefill_tokens_per_s = API_DEFAULT_CACHED_PREFILL_TOKENS_PER_S;
        memset(&d->api.itl_ms, 0, sizeof d->api.itl_ms);
        d->api.itl_ms.kind = MDL_DIST_LOGNORMAL;
        d->api.itl_ms.mean = API_DEFAULT_ITL_MEAN_MS;
        d->api.itl_ms.sd = API_DEFAULT_ITL_MEAN_MS * API_DEFAULT_ITL_CV;
        d->api.itl_ms.min = 0;
        d->api.itl_ms.max = INFINITY;
        mdl_dist_prepare(&d->api.itl_ms, NULL);
        /* Batch API results: most batches finish within an hour, all within 24 h
         * (the providers' documentation); an assumption until measured. */
        d->batch_completion_s.kind = MDL_DIST_LOGNORMAL;
        d->batch_completion_s.mean = 1800;
        d->batch_completion_s.sd = 1800;
        d->batch_completion_s.min = 60;
        d->batch_completion_s.max = 86400;
        mdl_dist_prepare(&d->batch_completion_s, NULL);
        L(c)->dep = d;
        L(c)->dep_has_price = dn->type == YN_MAP && yn_get(dn, "price") != NULL;
        L(c)->block_tokens_set = dn->type == YN_MAP && yn_get(dn, "kv_block_tokens") != NULL;
        for (int k = 0; k < MDL_N_PARAMS; k++)
            L(c)->rl_given[k] = NAN;
        L(c)->cal_node = NULL;
        L(c)->cal_path[0] = '\0';
        L(c)->sched_max_batch = NAN;
        L(c)->sched_batched_tokens = NAN;
        L(c)->sched_chunked = -1;
        size_t m = scn_path_push_item(c, dn, i);
        int rc = scn_process_map(c, dn, deployment_keys, NKEYS(deployment_keys), d);
        if (rc == 0)
            rc = check_kind_keys(c, dn, d);
        if (rc == 0 && d->kind == SIM_DEPLOY_API && d->model[0] == '\0')
            rc = scn_fail(c, dn, "missing required key 'model' (an api deployment needs a price catalog id)");
        if (rc == 0 && d->kind == SIM_DEPLOY_API)
            apply_api_profile(dn, d);
        if (rc == 0 && d->kind == SIM_DEPLOY_SELF_HOSTED)
            rc = yn_get(dn, "disaggregated") ? finish_disaggregated(c, dn, d) : finish_self_hosted(c, dn, d);
        if (isnan(d->gpu_hour_usd))
            d->gpu_hour_usd = 0;
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (!strcmp(sc->deployments[j].name, d->name))
                rc = scn_fail(c, yn_get(dn, "name"), "duplicate deployment name '%s'", d->name);
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- routing, output ------------------------------------------------------ */

static int find_deployment(struct scn_ctx *c, const struct yn_node *v, const struct sim_scenario *sc,
                           const char *name, int *out)
{
    for (size_t i = 0; i < sc->n_deployments; i++) {
        if (!strcmp(sc->deployments[i].name, name)) {
            *out = (int)i;
            return 0;
        }
    }
    const char *cands[256];
    for (size_t i = 0; i < sc->n_deployments; i++)
        cands[i] = sc->deployments[i].name;
    const char *near = scn_did_you_mean(name, cands, sc->n_deployments);
    if (near)
        return scn_fail(c, v, "no deployment named '%s' (did you mean '%s'?)", name, near);
    return scn_fail(c, v, "no deployment named '%s'", name);
}

/* Refuses keys of v other than "policy" and allowed[]. */
static int policy_keys(struct scn_ctx *c, const struct yn_node *v, const char *pol, const char *const *allowed,
                       size_t n)
{
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        int ok = !strcmp(k, "policy");
        for (size_t j = 0; j < n && !ok; j++)
            ok = !strcmp(k, allowed[j]);
        if (ok)
            continue;
        char list[256] = "";
        for (size_t j = 0; j < n; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", allowed[j]);
        size_t m = scn_path_push(c, k);
        const char *near = scn_did_you_mean(k, allowed, n);
        int rc = near ? scn_fail(c, v->keys[i], "unknown key '%s' for policy %s (did you mean '%s'?)", k, pol, near)
                      : scn_fail(c, v->keys[i], "unknown key '%s' for policy %s (expected %s)", k, pol, list);
        scn_path_pop(c, m);
        return rc;
    }
    return 0;
}

/* A deployment named by the scalar at key k of v. */
static int read_deployment(struct scn_ctx *c, const struct yn_node *v, const char *k, const struct sim_scenario *sc,
                           int *out)
{
    const struct yn_node *x = yn_get(v, k);
    size_t m = scn_path_push(c, k);
    const char *name = NULL;
    int rc = scn_get_scalar(c, x, &name);
    if (rc == 0)
        rc = find_deployment(c, x, sc, name, out);
    scn_path_pop(c, m);
    return rc;
}

/* A probability at key k of v, when present. */
static int read_prob_key(struct scn_ctx *c, const struct yn_node *v, const char *k, double *out)
{
    const struct yn_node *x = yn_get(v, k);
    if (x == NULL)
        return 0;
    size_t m = scn_path_push(c, k);
    int rc = scn_get_double(c, x, out);
    if (rc == 0 && !(*out >= 0 && *out <= 1))
        rc = scn_fail(c, x, "must be a probability in [0, 1], got %g", *out);
    scn_path_pop(c, m);
    return rc;
}

static int routing_classifier(struct scn_ctx *c, const struct yn_node *v, struct sim_scenario *sc)
{
    static const char *const keys[] = {"strong", "weak", "accuracy", "confusion", "by_difficulty"};
    struct sim_routing_cfg *rt = &sc->routing;
    rt->policy = SIM_ROUTE_CLASSIFIER;
    int rc = policy_keys(c, v, "classifier", keys, 5);
    if (rc)
        return rc;
    const struct yn_node *bd = yn_get(v, "by_difficulty");
    if (bd != NULL) {
        if (yn_get(v, "strong") || yn_get(v, "weak"))
            return scn_fail(c, v, "give either by_difficulty or strong and weak, not both");
        size_t m = scn_path_push(c, "by_difficulty");
        static const char *const diff[] = {"simple", "moderate", "complex"};
        if (bd->type != YN_MAP)
            rc = scn_fail(c, bd, "expected {simple: DEPLOYMENT, moderate: DEPLOYMENT, complex: DEPLOYMENT}");
        for (size_t i = 0; rc == 0 && i < bd->n; i++) {
            const char *k = bd->keys[i]->str;
            if (strcmp(k, "simple") && strcmp(k, "moderate") && strcmp(k, "complex"))
                rc = scn_fail(c, bd->keys[i], "unknown difficulty '%s' (expected simple, moderate, complex)", k);
        }
        for (int t = 0; rc == 0 && t < 3; t++) {
            if (yn_get(bd, diff[t]) == NULL)
                rc = scn_fail(c, bd, "missing required key '%s'", diff[t]);
            else
                rc = read_deployment(c, bd, diff[t], sc, &rt->label_to[t]);
        }
        scn_path_pop(c, m);
        if (rc)
            return rc;
        rt->by_difficulty = 1;
        rt->n_labels = 3;
    } else {
        if (!yn_get(v, "strong") || !yn_get(v, "weak"))
            return scn_fail(c, v, "policy classifier needs 'strong' and 'weak' (or 'by_difficulty')");
        if ((rc = read_deployment(c, v, "strong", sc, &rt->strong)) || (rc = read_deployment(c, v, "weak", sc, &rt->weak)))
            return rc;
        if (rt->strong == rt->weak)
            return scn_fail(c, v, "strong and weak must be two different deployments");
        rt->n_labels = 2;
        rt->label_to[0] = rt->weak;
        rt->label_to[1] = rt->strong;
    }
    const struct yn_node *cm = yn_get(v, "confusion");
    if (cm != NULL && yn_get(v, "accuracy"))
        return scn_fail(c, v, "give either accuracy or confusion, not both");
    int n = rt->n_labels;
    if (cm == NULL) {
        rt->accuracy = 1.0;
        if ((rc = read_prob_key(c, v, "accuracy", &rt->accuracy)) != 0)
            return rc;
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                rt->confusion[a][b] = a == b ? rt->accuracy : (1.0 - rt->accuracy) / (n - 1);
        return 0;
    }
    rt->accuracy = NAN;
    size_t m = scn_path_push(c, "confusion");
    const char *shape = n == 2 ? "[[weak|weak, strong|weak], [weak|needs strong, strong|needs strong]]: rows are "
                                 "the truth (the weak tier suffices, only the strong one answers), columns "
                                 "the prediction"
                               : "3 rows of 3 probabilities: rows are the true difficulty (simple, moderate, "
                                 "complex), columns the predicted one";
    if (cm->type != YN_SEQ || cm->n != (size_t)n)
        rc = scn_fail(c, cm, "expected %s", shape);
    for (int a = 0; rc == 0 && a < n; a++) {
        const struct yn_node *row = cm->vals[a];
        size_t m2 = scn_path_push_index(c, (size_t)a);
        double sum = 0;
        if (row->type != YN_SEQ || row->n != (size_t)n)
            rc = scn_fail(c, row, "expected %s", shape);
        for (int b = 0; rc == 0 && b < n; b++) {
            rc = scn_get_double(c, row->vals[b], &rt->confusion[a][b]);
            if (rc == 0 && !(rt->confusion[a][b] >= 0 && rt->confusion[a][b] <= 1))
                rc = scn_fail(c, row->vals[b], "a probability must be in [0, 1], got %g", rt->confusion[a][b]);
            sum += rt->confusion[a][b];
        }
        if (rc == 0 && fabs(sum - 1.0) > 1e-6)
            rc = scn_fail(c, row, "a row sums to %.9g, not 1", sum);
        scn_path_pop(c, m2);
    }
    scn_path_pop(c, m);
    return rc;
}

/* tiers: [DEPLOYMENT, ...] in order; absent = every deployment when allowed. */
static int read_tiers(struct scn_ctx *c, const struct yn_node *v, struct sim_scenario *sc, int required)
{
    struct sim_routing_cfg *rt = &sc->routing;
    const struct yn_node *t = yn_get(v, "tiers");
    if (t == NULL) {
        if (required)
            return scn_fail(c, v, "missing required key 'tiers' (deployments in order, e.g. [haiku, sonnet])");
        rt->n_tiers = sc->n_deployments < SIM_MAX_TIERS ? sc->n_deployments : SIM_MAX_TIERS;
        for (size_t i = 0; i < rt->n_tiers; i++)
            rt->tiers[i] = (int)i;
        return 0;
    }
    size_t m = scn_path_push(c, "tiers");
    int rc = 0;
    if (t->type != YN_SEQ || t->n < 2 || t->n > SIM_MAX_TIERS)
        rc = scn_fail(c, t, "expected a list of 2 to %d deployments, in order", SIM_MAX_TIERS);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const char *name = NULL;
        size_t m2 = scn_path_push_index(c, i);
        rc = scn_get_scalar(c, t->vals[i], &name);
        if (rc == 0)
            rc = find_deployment(c, t->vals[i], sc, name, &rt->tiers[i]);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (rt->tiers[j] == rt->tiers[i])
                rc = scn_fail(c, t->vals[i], "deployment '%s' is listed twice", name);
        scn_path_pop(c, m2);
    }
    scn_path_pop(c, m);
    rt->n_tiers = rc == 0 ? t->n : 0;
    return rc;
}

static int routing_tiered(struct scn_ctx *c, const struct yn_node *v, struct sim_scenario *sc, const char *pol)
{
    struct sim_routing_cfg *rt = &sc->routing;
    int rc;
    if (!strcmp(pol, "cascade")) {
        static const char *const keys[] = {"tiers", "detect", "false_alarm"};
        rt->policy = SIM_ROUTE_CASCADE;
        rt->detect = 1.0;
        if ((rc = policy_keys(c, v, pol, keys, 3)) || (rc = read_tiers(c, v, sc, 1)) ||
            (rc = read_prob_key(c, v, "detect", &rt->detect)) || (rc = read_prob_key(c, v, "false_alarm", &rt->false_alarm)))
            return rc;
        return 0;
    }
    if (!strcmp(pol, "spillover")) {
        static const char *const keys[] = {"tiers", "max_queue", "max_wait_s"};
        static const char *const bounds[] = {"max_queue", "max_wait_s"};
        rt->policy = SIM_ROUTE_SPILLOVER;
        rt->max_queue = rt->max_wait_s = INFINITY;
        if ((rc = policy_keys(c, v, pol, keys, 3)) || (rc = read_tiers(c, v, sc, 1)))
            return rc;
        for (size_t i = 0; i < 2; i++) {
            const struct yn_node *x = yn_get(v, bounds[i]);
            if (x == NULL)
                continue;
            size_t m = scn_path_push(c, bounds[i]);
            double *dst = i == 0 ? &rt->max_queue : &rt->max_wait_s;
            rc = scn_get_double(c, x, dst);
            if (rc == 0 && !(*dst >= 0 && *dst <= 1e9))
                rc = scn_fail(c, x, "must be in [0, 1e9], got %g", *dst);
            if (rc == 0 && i == 0 && *dst != floor(*dst))
                rc = scn_fail(c, x, "max_queue must be a whole number of requests");
            scn_path_pop(c, m);
            if (rc)
                return rc;
        }
        if (isinf(rt->max_queue) && isinf(rt->max_wait_s))
            return scn_fail(c, v, "policy spillover needs a bound: max_queue (requests waiting) and/or max_wait_s");
        return 0;
    }
    static const char *const keys[] = {"tiers", "quality_target"};
    rt->policy = SIM_ROUTE_COST_AWARE;
    if ((rc = policy_keys(c, v, pol, keys, 2)) || (rc = read_tiers(c, v, sc, 0)))
        return rc;
    if (yn_get(v, "quality_target") == NULL)
        return scn_fail(c, v, "policy cost_aware needs 'quality_target' (the expected success wanted, e.g. 0.9)");
    return read_prob_key(c, v, "quality_target", &rt->quality_target);
}

/* One condition of a rule. */
static int rule_condition(struct scn_ctx *c, const struct yn_node *key, const struct yn_node *val,
                          struct sim_scenario *sc, struct sim_route_rule *ru)
{
    static const char *const conds[] = {"class", "prompt_tokens_lt", "prompt_tokens_ge", "prompt_chars_lt",
                                        "prompt_chars_ge", "words_lt", "words_ge", "question_mark",
                                        "segment", "no_segment"};
    const char *k = key->str, *name = NULL;
    int rc = 0;
    if (!strcmp(k, "class")) {
        rc = scn_get_scalar(c, val, &name);
        for (size_t q = 0; rc == 0 && q < sc->workload.n_classes; q++)
            if (!strcmp(sc->workload.classes[q].name, name))
                ru->class_idx = (int)q;
        if (rc == 0 && ru->class_idx < 0)
            rc = scn_fail(c, val, "no class named '%s'", name);
        return rc;
    }
    double *num[] = {&ru->prompt_tokens_lt, &ru->prompt_tokens_ge, &ru->chars_lt, &ru->chars_ge, &ru->words_lt,
                     &ru->words_ge};
    for (int i = 0; i < 6; i++) {
        if (strcmp(k, conds[1 + i]))
            continue;
        double x = 0;
        rc = scn_get_double(c, val, &x);
        if (rc == 0 && !(x > 0 && x <= 1e12))
            rc = scn_fail(c, val, "must be > 0, got %g", x);
        if (rc == 0)
            *num[i] = x;
        return rc;
    }
    if (!strcmp(k, "question_mark")) {
        int b = 0;
        rc = scn_get_bool(c, val, &b);
        ru->question_mark = b ? 1 : 2;
        return rc;
    }
    if (!strcmp(k, "segment") || !strcmp(k, "no_segment")) {
        rc = scn_get_scalar(c, val, &name);
        if (rc)
            return rc;
        const char *cands[64];
        size_t nc = 0;
        int found = 0;
        for (size_t q = 0; q < sc->workload.n_classes; q++)
            for (size_t g = 0; g < sc->workload.classes[q].n_segments; g++) {
                const char *sn = sc->workload.classes[q].segments[g].name;
                found |= !strcmp(sn, name);
                if (nc < 64)
                    cands[nc++] = sn;
            }
        if (!found) {
            const char *near = scn_did_you_mean(name, cands, nc);
            return near ? scn_fail(c, val, "no class has a prompt segment named '%s' (did you mean '%s'?)", name, near)
                        : scn_fail(c, val, "no class has a prompt segment named '%s'", name);
        }
        if (strlen(name) >= SIM_NAME_MAX)
            return scn_fail(c, val, "segment name too long");
        snprintf(!strcmp(k, "segment") ? ru->segment : ru->no_segment, SIM_NAME_MAX, "%s", name);
        return 0;
    }
    const char *near = scn_did_you_mean(k, conds, 10);
    return near ? scn_fail(c, key, "unknown condition '%s' (did you mean '%s'?)", k, near)
                : scn_fail(c, key, "unknown condition '%s' (expected class, prompt_tokens_lt/ge, prompt_chars_lt/ge, "
                                   "words_lt/ge, question_mark, segment, no_segment)", k);
}

static int routing_rules(struct scn_ctx *c, const struct yn_node *v, struct sim_scenario *sc)
{
    static const char *const keys[] = {"rules", "default"};
    struct sim_routing_cfg *rt = &sc->routing;
    rt->policy = SIM_ROUTE_RULES;
    int rc = policy_keys(c, v, "rules", keys, 2);
    if (rc)
        return rc;
    const struct yn_node *list = yn_get(v, "rules");
    if (yn_get(v, "default") == NULL || list == NULL)
        return scn_fail(c, v, "policy rules needs 'rules' and 'default'");
    if ((rc = read_deployment(c, v, "default", sc, &rt->fallback)) != 0)
        return rc;
    size_t m = scn_path_push(c, "rules");
    if (list->type != YN_SEQ || list->n == 0 || list->n > 256) {
        rc = scn_fail(c, list, "expected a list of 1 to 256 rules {when: {...}, to: DEPLOYMENT}");
        scn_path_pop(c, m);
        return rc;
    }
    rt->rules = calloc(list->n, sizeof *rt->rules);
    if (rt->rules == NULL) {
        scn_path_pop(c, m);
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    }
    rt->n_rules = list->n;
    for (size_t i = 0; i < list->n && rc == 0; i++) {
        struct sim_route_rule *ru = &rt->rules[i];
        ru->class_idx = -1;
        const struct yn_node *r = list->vals[i];
        size_t m2 = scn_path_push_index(c, i);
        const struct yn_node *when = r->type == YN_MAP ? yn_get(r, "when") : NULL;
        if (r->type != YN_MAP || when == NULL || yn_get(r, "to") == NULL || r->n != 2)
            rc = scn_fail(c, r, "a rule is {when: {...}, to: DEPLOYMENT}");
        if (rc == 0)
            rc = read_deployment(c, r, "to", sc, &ru->to);
        if (rc == 0 && when->type != YN_MAP)
            rc = scn_fail(c, when, "expected a mapping of conditions");
        if (rc == 0) {
            size_t m3 = scn_path_push(c, "when");
            for (size_t j = 0; rc == 0 && j < when->n; j++) {
                size_t m4 = scn_path_push(c, when->keys[j]->str);
                rc = rule_condition(c, when->keys[j], when->vals[j], sc, ru);
                scn_path_pop(c, m4);
            }
            scn_path_pop(c, m3);
        }
        scn_path_pop(c, m2);
    }
    scn_path_pop(c, m);
    return rc;
}

static int h_routing(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    static const char *const policies[] = {"fixed", "split", "rules", "classifier", "cascade", "spillover",
                                           "cost_aware"};
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected a mapping {policy: ...}, got %s", yn_type_name(v->type));
    const struct yn_node *p = yn_get(v, "policy");
    if (p == NULL)
        return scn_fail(c, v, "missing required key 'policy' (fixed, split, rules, classifier, cascade, spillover "
                              "or cost_aware)");
    const char *pol = NULL;
    size_t m = scn_path_push(c, "policy");
    int rc = scn_get_scalar(c, p, &pol);
    int known = 0;
    for (size_t i = 0; rc == 0 && i < 7; i++)
        known |= !strcmp(pol, policies[i]);
    if (rc == 0 && !known) {
        const char *near = scn_did_you_mean(pol, policies, 7);
        rc = near ? scn_fail(c, p, "unknown routing policy '%s' (did you mean '%s'?)", pol, near)
                  : scn_fail(c, p, "unknown routing policy '%s' (expected fixed, split, rules, classifier, cascade, "
                                   "spillover or cost_aware)", pol);
    }
    scn_path_pop(c, m);
    if (rc)
        return rc;
    if (!strcmp(pol, "rules"))
        return routing_rules(c, v, sc);
    if (!strcmp(pol, "classifier"))
        return routing_classifier(c, v, sc);
    if (!strcmp(pol, "cascade") || !strcmp(pol, "spillover") || !strcmp(pol, "cost_aware"))
        return routing_tiered(c, v, sc, pol);
    int fixed = !strcmp(pol, "fixed");
    static const char *const to_key[] = {"to"}, *const weights_key[] = {"weights"};
    if ((rc = policy_keys(c, v, pol, fixed ? to_key : weights_key, 1)) != 0)
        return rc;
    if (fixed) {
        sc->routing.policy = SIM_ROUTE_FIXED;
        if (yn_get(v, "to") == NULL)
            return scn_fail(c, v, "missing required key 'to'");
        return read_deployment(c, v, "to", sc, &sc->routing.to);
    }
    sc->routing.policy = SIM_ROUTE_SPLIT;
    const struct yn_node *w = yn_get(v, "weights");
    if (w == NULL)
        return scn_fail(c, v, "missing required key 'weights'");
    m = scn_path_push(c, "weights");
    if (w->type != YN_MAP) {
        rc = scn_fail(c, w, "expected a mapping {deployment: weight, ...}");
        scn_path_pop(c, m);
        return rc;
    }
    sc->routing.weights = calloc(sc->n_deployments, sizeof(double));
    if (sc->routing.weights == NULL) {
        scn_path_pop(c, m);
        return llmsim_error_set(c->err, LLMSIM_ENOMEM, v->file, 0, 0, "out of memory");
    }
    double sum = 0;
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        int idx = 0;
        double x = 0;
        size_t m2 = scn_path_push(c, w->keys[i]->str);
        rc = find_deployment(c, w->keys[i], sc, w->keys[i]->str, &idx);
        if (rc == 0)
            rc = scn_get_double(c, w->vals[i], &x);
        if (rc == 0 && (x < 0 || x > 1))
            rc = scn_fail(c, w->vals[i], "a weight must be in [0, 1], got %g", x);
        scn_path_pop(c, m2);
        if (rc == 0) {
            sc->routing.weights[idx] = x;
            sum += x;
        }
    }
    if (rc == 0 && fabs(sum - 1.0) > 1e-6)
        rc = scn_fail(c, w, "routing weights sum to %.9g, not 1", sum);
    scn_path_pop(c, m);
    return rc;
}

static const struct scn_key output_keys[] = {
    {"path", SCN_K_STRDUP, OFF(struct sim_output_cfg, path), 0, 0, 0, NULL},
    {"requests", SCN_K_BOOL, OFF(struct sim_output_cfg, requests), 0, 0, 0, NULL},
    {"timeseries_interval_s", SCN_K_DOUBLE, OFF(struct sim_output_cfg, timeseries_interval_s), 0, 1e7, 0, NULL},
    {"compression", SCN_K_INT, OFF(struct sim_output_cfg, compression), 0, 9, 0, NULL},
};

static int h_output(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    return scn_process_map(c, v, output_keys, NKEYS(output_keys), &sc->output);
}

static const struct scn_key output_control_keys[] = {
    {"max_tokens", SCN_K_DOUBLE, OFF(struct sim_output_control_cfg, max_tokens), 1, SIM_MAX_TOKENS, 0, NULL},
    {"verbosity", SCN_K_DOUBLE, OFF(struct sim_output_control_cfg, verbosity), 0, 100, SCN_KF_LO_OPEN, NULL},
    {"truncation_penalty", SCN_K_DOUBLE, OFF(struct sim_output_control_cfg, truncation_penalty), 0, 1, 0, NULL},
    {"verbosity_penalty", SCN_K_DOUBLE, OFF(struct sim_output_control_cfg, verbosity_penalty), 0, 1, 0, NULL},
};

static int h_output_control(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    int rc = scn_process_map(c, v, output_control_keys, NKEYS(output_control_keys), &sc->output_control);
    if (rc == 0 && sc->output_control.max_tokens != floor(sc->output_control.max_tokens))
        rc = scn_fail(c, yn_get(v, "max_tokens"), "max_tokens must be a whole number");
    return rc;
}

struct slo_opts {
    double ttft_ms, itl_ms, e2e_ms, percentile;
};

static const struct scn_key slo_keys[] = {
    {"ttft_ms", SCN_K_DOUBLE, OFF(struct slo_opts, ttft_ms), 0, 1e9, SCN_KF_LO_OPEN, NULL},
    {"itl_ms", SCN_K_DOUBLE, OFF(struct slo_opts, itl_ms), 0, 1e9, SCN_KF_LO_OPEN, NULL},
    {"e2e_ms", SCN_K_DOUBLE, OFF(struct slo_opts, e2e_ms), 0, 1e10, SCN_KF_LO_OPEN, NULL},
    {"percentile", SCN_K_DOUBLE, OFF(struct slo_opts, percentile), 0, 100, SCN_KF_LO_OPEN, NULL},
};

static int h_slo(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    struct slo_opts o = {0, 0, 0, 95};
    int rc = scn_process_map(c, v, slo_keys, NKEYS(slo_keys), &o);
    if (rc)
        return rc;
    if (o.ttft_ms <= 0 && o.itl_ms <= 0 && o.e2e_ms <= 0)
        return scn_fail(c, v, "give at least one target: ttft_ms, itl_ms or e2e_ms");
    if (o.percentile != 50 && o.percentile != 90 && o.percentile != 95 && o.percentile != 99)
        return scn_fail(c, yn_get(v, "percentile"), "percentile must be 50, 90, 95 or 99 (the summary's "
                                                    "percentiles), got %g", o.percentile);
    sc->slo = (struct sim_slo_cfg){o.ttft_ms * 1e-3, o.itl_ms * 1e-3, o.e2e_ms * 1e-3, o.percentile};
    return 0;
}

/* The `energy` section (sim_energy_cfg): present means on, each key
 * defaulting to the cited SIM_ENERGY_DEFAULT_* value.  PUE is facility over
 * IT energy, so at least 1; 5 only catches typos (Uptime Institute's
 * survey average is about 1.6). */
static const struct scn_key energy_keys[] = {
    {"pue", SCN_K_DOUBLE, OFF(struct sim_energy_cfg, pue), 1, 5, 0, NULL},
    {"electricity_usd_per_kwh", SCN_K_DOUBLE, OFF(struct sim_energy_cfg, usd_per_kwh), 0, 100, 0, NULL},
    {"grid_g_co2_per_kwh", SCN_K_DOUBLE, OFF(struct sim_energy_cfg, g_co2_per_kwh), 0, 5000, 0, NULL},
    {"bill_electricity", SCN_K_BOOL, OFF(struct sim_energy_cfg, bill), 0, 0, 0, NULL},
};

static int h_energy(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    struct sim_energy_cfg e = {1, SIM_ENERGY_DEFAULT_PUE, SIM_ENERGY_DEFAULT_USD_PER_KWH,
                               SIM_ENERGY_DEFAULT_G_CO2_PER_KWH, 0};
    if (yn_is_null(v)) {
        sc->energy = e; /* `energy:` alone: every default */
        return 0;
    }
    int rc = scn_process_map(c, v, energy_keys, NKEYS(energy_keys), &e);
    if (rc == 0)
        sc->energy = e;
    return rc;
}

/* With energy on, every self-hosted deployment needs a GPU with idle and
 * maximum power (catalog GPUs have both; inline ones may not). */
static int check_energy(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc)
{
    if (!sc->energy.enabled)
        return 0;
    const struct yn_node *deps = yn_get(root, "deployments");
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->kind != SIM_DEPLOY_SELF_HOSTED)
            continue;
        const struct yn_node *dn = deps && deps->type == YN_SEQ && i < deps->n ? deps->vals[i] : root;
        const struct yn_node *gn = dn->type == YN_MAP ? yn_get(dn, "gpu") : NULL;
        const char *miss = !d->has_gpu                ? NULL
                           : !(d->roofline.gpu.idle_w > 0) ? "idle_w"
                           : !(d->roofline.gpu.max_w > 0)  ? "max_w"
                                                           : "";
        if (miss && !miss[0])
            continue;
        size_t m = scn_path_push(c, "deployments");
        scn_path_push(c, d->name);
        int rc;
        if (miss == NULL) {
            rc = scn_fail(c, dn, "energy needs the GPU of every self-hosted deployment (its idle and "
                                 "maximum power): give 'gpu' (a catalog id or an inline GPU with idle_w "
                                 "and max_w)");
        } else {
            scn_path_push(c, "gpu");
            rc = scn_fail(c, gn ? gn : dn, "energy needs the GPU's '%s' (W); the inline GPU '%s' has none",
                          miss, d->roofline.gpu.id);
        }
        scn_path_pop(c, m);
        return rc;
    }
    return 0;
}

/* ---- studies: sweep and levers ---------------------------------------- */

#define STUDY_MAX_VALUES 10000u /* values of one swept key */
#define STUDY_MAX_LEVERS 64u
#define STUDY_MAX_SETS 256u     /* overrides of one lever */

/* Refuses keys of an entry other than those allowed (with a did-you-mean). */
static int only_keys(struct scn_ctx *c, const struct yn_node *v, const char *what,
                     const char *const *allowed, size_t n_allowed)
{
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        size_t j = 0;
        while (j < n_allowed && strcmp(k, allowed[j]))
            j++;
        if (j == n_allowed) {
            const char *near = scn_did_you_mean(k, allowed, n_allowed);
            return scn_fail(c, v->keys[i], "%s: unknown key '%s'%s%s%s", what, k, near ? " (did you mean '" : "",
                            near ? near : "", near ? "'?)" : "");
        }
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int h_sweep(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    if (v->type != YN_SEQ || v->n == 0)
        return scn_fail(c, v, "expected a list of {key: KEY.PATH, values: [...]} or {key: KEY.PATH, range: "
                              "[FROM, TO, STEP]} entries");
    if (v->n > 32)
        return scn_fail(c, v, "%zu swept keys; at most 32", v->n);
    sc->sweep = calloc(v->n, sizeof *sc->sweep);
    if (!sc->sweep)
        return scn_fail(c, v, "out of memory");
    static const char *const allowed[] = {"key", "values", "range"};
    for (size_t i = 0; i < v->n; i++) {
        const struct yn_node *e = v->vals[i];
        struct sim_sweep_dim *d = &sc->sweep[i];
        sc->n_sweep = i + 1;
        char what[32];
        snprintf(what, sizeof what, "sweep[%zu]", i);
        d->line = e->line;
        d->col = e->col;
        if (e->type != YN_MAP)
            return scn_fail(c, e, "%s: expected {key: KEY.PATH, values: [...]}", what);
        int rc = only_keys(c, e, what, allowed, 3);
        if (rc)
            return rc;
        const struct yn_node *k = yn_get(e, "key"), *vals = yn_get(e, "values"), *range = yn_get(e, "range");
        if (!k || k->type != YN_SCALAR || k->len == 0)
            return scn_fail(c, k ? k : e, "%s: needs key: the dotted path of the varied key, e.g. "
                                          "workload.arrivals.rate_per_s", what);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->sweep[j].key, k->str))
                return scn_fail(c, k, "%s: key %s is already swept by sweep[%zu]", what, k->str, j);
        if (!(d->key = strdup(k->str)))
            return scn_fail(c, k, "out of memory");
        if ((vals != NULL) == (range != NULL))
            return scn_fail(c, e, "%s: give exactly one of values: [...] and range: [FROM, TO, STEP]", what);
        if (vals) {
            if (vals->type != YN_SEQ || vals->n == 0)
                return scn_fail(c, vals, "%s.values: expected a non-empty list", what);
            if (vals->n > STUDY_MAX_VALUES)
                return scn_fail(c, vals, "%s.values: %zu values; at most %u", what, vals->n, STUDY_MAX_VALUES);
            if (!(d->values = calloc(vals->n, sizeof *d->values)))
                return scn_fail(c, vals, "out of memory");
            for (size_t j = 0; j < vals->n; j++) {
                d->n_values = j + 1;
                if (!(d->values[j] = yn_to_flow(vals->vals[j])))
                    return scn_fail(c, vals, "out of memory");
            }
        } else {
            double r[3];
            if (range->type != YN_SEQ || range->n != 3)
                return scn_fail(c, range, "%s.range: expected [FROM, TO, STEP]", what);
            for (int j = 0; j < 3; j++) {
                if ((rc = scn_get_double(c, range->vals[j], &r[j])) != 0)
                    return rc;
            }
            if (!(r[2] > 0) || !(r[1] >= r[0]))
                return scn_fail(c, range, "%s.range: needs FROM <= TO and STEP > 0, got [%g, %g, %g]", what, r[0],
                                r[1], r[2]);
            double count = floor((r[1] - r[0]) / r[2] * (1 + 1e-12) + 1e-9) + 1;
            if (count > STUDY_MAX_VALUES)
                return scn_fail(c, range, "%s.range: %.0f values; at most %u", what, count, STUDY_MAX_VALUES);
            size_t n = (size_t)count;
            if (!(d->values = calloc(n, sizeof *d->values)))
                return scn_fail(c, range, "out of memory");
            for (size_t j = 0; j < n; j++) {
                char b[64];
                snprintf(b, sizeof b, "%.15g", r[0] + (double)j * r[2]);
                d->n_values = j + 1;
                if (!(d->values[j] = strdup(b)))
                    return scn_fail(c, range, "out of memory");
            }
        }
    }
    return 0;
}

static int h_levers(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    if (v->type != YN_SEQ || v->n == 0)
        return scn_fail(c, v, "expected a list of {name: NAME, set: {KEY.PATH: VALUE, ...}} entries");
    if (v->n > STUDY_MAX_LEVERS)
        return scn_fail(c, v, "%zu levers; at most %u", v->n, STUDY_MAX_LEVERS);
    sc->levers = calloc(v->n, sizeof *sc->levers);
    if (!sc->levers)
        return scn_fail(c, v, "out of memory");
    static const char *const allowed[] = {"name", "set", "description"};
    for (size_t i = 0; i < v->n; i++) {
        const struct yn_node *e = v->vals[i];
        struct sim_lever *l = &sc->levers[i];
        sc->n_levers = i + 1;
        char what[32];
        snprintf(what, sizeof what, "levers[%zu]", i);
        l->line = e->line;
        l->col = e->col;
        if (e->type != YN_MAP)
            return scn_fail(c, e, "%s: expected {name: NAME, set: {KEY.PATH: VALUE, ...}}", what);
        int rc = only_keys(c, e, what, allowed, 3);
        if (rc)
            return rc;
        const struct yn_node *nm = yn_get(e, "name"), *set = yn_get(e, "set");
        if (!nm || nm->type != YN_SCALAR || nm->len == 0 || nm->len > 64)
            return scn_fail(c, nm ? nm : e, "%s: needs name: a short label (at most 64 characters)", what);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->levers[j].name, nm->str))
                return scn_fail(c, nm, "%s: the name '%s' is already taken by levers[%zu]", what, nm->str, j);
        if (!(l->name = dup_or_null(nm->str)))
            return scn_fail(c, nm, "out of memory");
        if (!set || set->type != YN_MAP || set->n == 0)
            return scn_fail(c, set ? set : e, "%s: needs set: a mapping of key paths to values, e.g. "
                                              "{deployments.sonnet.prompt_cache.enabled: true}", what);
        if (set->n > STUDY_MAX_SETS)
            return scn_fail(c, set, "%s.set: %zu overrides; at most %u", what, set->n, STUDY_MAX_SETS);
        if (!(l->sets = calloc(set->n, sizeof *l->sets)))
            return scn_fail(c, set, "out of memory");
        for (size_t j = 0; j < set->n; j++) {
            l->n_sets = j + 1;
            if (!(l->sets[j].key = strdup(set->keys[j]->str)) || !(l->sets[j].value = yn_to_flow(set->vals[j])))
                return scn_fail(c, set, "out of memory");
        }
    }
    return 0;
}

static int read_prob(struct scn_ctx *c, const struct yn_node *v, double *out)
{
    int rc = scn_get_double(c, v, out);
    if (rc == 0 && (*out < 0 || *out > 1))
        rc = scn_fail(c, v, "a probability must be in [0, 1], got %g", *out);
    return rc;
}

/* joint: {strong, weak, both, only_strong, only_weak, neither} or
 * {strong, weak[, preset: ID]}: the four shares, or a published table
 * (llmsim/quality.h; the first, RouteLLM's MMLU, by default). */
static int h_joint(struct scn_ctx *c, const struct yn_node *v, struct sim_scenario *sc)
{
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected {strong, weak, preset} or {strong, weak, both, only_strong, only_weak, "
                              "neither}");
    static const char *const keys[] = {"strong", "weak", "both", "only_strong", "only_weak", "neither", "preset"};
    struct sim_quality_joint_cfg *j = &sc->joint;
    double *shares[] = {&j->both, &j->only_strong, &j->only_weak, &j->neither};
    const struct mdl_joint_preset *pre = NULL;
    int n_shares = 0;
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        size_t m = scn_path_push(c, k);
        int rc = 0, idx = -1;
        for (int q = 0; q < 7; q++)
            if (!strcmp(k, keys[q]))
                idx = q;
        if (idx < 0) {
            const char *near = scn_did_you_mean(k, keys, 7);
            rc = near ? scn_fail(c, v->keys[i], "unknown key '%s' (did you mean '%s'?)", k, near)
                      : scn_fail(c, v->keys[i], "unknown key '%s' (expected strong, weak, preset, both, "
                                                "only_strong, only_weak, neither)", k);
        } else if (idx < 2) {
            const char *name = NULL;
            rc = scn_get_scalar(c, v->vals[i], &name);
            if (rc == 0)
                rc = find_deployment(c, v->vals[i], sc, name, idx == 0 ? &j->strong : &j->weak);
        } else if (idx == 6) {
            const char *name = NULL;
            rc = scn_get_scalar(c, v->vals[i], &name);
            if (rc == 0 && (pre = mdl_joint_preset_find(name)) == NULL) {
                size_t np = 0;
                const struct mdl_joint_preset *all = mdl_joint_presets(&np);
                const char *cands[16];
                for (size_t q = 0; q < np && q < 16; q++)
                    cands[q] = all[q].id;
                const char *near = scn_did_you_mean(name, cands, np < 16 ? np : 16);
                rc = near ? scn_fail(c, v->vals[i], "unknown preset '%s' (did you mean '%s'?)", name, near)
                          : scn_fail(c, v->vals[i], "unknown preset '%s' (llmsim catalog quality lists them)", name);
            }
        } else {
            rc = read_prob(c, v->vals[i], shares[idx - 2]);
            n_shares++;
        }
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    for (int q = 0; q < 2; q++)
        if (!yn_get(v, keys[q]))
            return scn_fail(c, v, "missing required key '%s'", keys[q]);
    if (pre != NULL && n_shares > 0)
        return scn_fail(c, v, "give either a preset or the four shares, not both");
    if (n_shares > 0 && n_shares < 4) {
        for (int q = 2; q < 6; q++)
            if (!yn_get(v, keys[q]))
                return scn_fail(c, v, "missing required key '%s' (give all four shares, or none for a preset)",
                                keys[q]);
    }
    if (n_shares == 0) {
        size_t np = 0;
        if (pre == NULL)
            pre = &mdl_joint_presets(&np)[0];
        j->both = pre->both;
        j->only_strong = pre->only_strong;
        j->only_weak = pre->only_weak;
        j->neither = pre->neither;
    }
    if (fabs(j->both + j->only_strong + j->only_weak + j->neither - 1.0) > 1e-6)
        return scn_fail(c, v, "the four shares sum to %.9g, not 1",
                        j->both + j->only_strong + j->only_weak + j->neither);
    if (j->strong == j->weak)
        return scn_fail(c, v, "strong and weak must be two different deployments");
    j->enabled = 1;
    return 0;
}

/* {simple: p, moderate: p, complex: p, classes: {CLASS: p, ...}}: the three
 * difficulties together, and/or per class (which wins for its class); with
 * classes alone, every class must be listed. */
static int quality_map(struct scn_ctx *c, const struct yn_node *q, struct sim_scenario *sc,
                       struct sim_deployment_cfg *dep)
{
    static const char *const diff[] = {"simple", "moderate", "complex"};
    static const char *const keys[] = {"simple", "moderate", "complex", "classes"};
    int rc = 0, n_diff = 0;
    for (size_t j = 0; rc == 0 && j < q->n; j++) {
        const char *dk = q->keys[j]->str;
        if (strcmp(dk, "simple") && strcmp(dk, "moderate") && strcmp(dk, "complex") && strcmp(dk, "classes")) {
            const char *near = scn_did_you_mean(dk, keys, 4);
            rc = near ? scn_fail(c, q->keys[j], "unknown key '%s' (did you mean '%s'?)", dk, near)
                      : scn_fail(c, q->keys[j], "unknown key '%s' (expected simple, moderate, complex, classes)", dk);
        }
        n_diff += strcmp(dk, "classes") != 0;
    }
    for (int t = 0; rc == 0 && n_diff > 0 && t < SIM_N_DIFFICULTY; t++) {
        const struct yn_node *x = yn_get(q, diff[t]);
        if (x == NULL)
            return scn_fail(c, q, "missing required key '%s' (give all three difficulties)", diff[t]);
        size_t m2 = scn_path_push(c, diff[t]);
        rc = read_prob(c, x, &dep->success[t]);
        scn_path_pop(c, m2);
    }
    const struct yn_node *cl = yn_get(q, "classes");
    if (rc || cl == NULL) {
        if (rc == 0 && n_diff == 0)
            rc = scn_fail(c, q, "expected {simple: p, moderate: p, complex: p} and/or classes: {CLASS: p}");
        return rc;
    }
    size_t nc = sc->workload.n_classes;
    size_t m = scn_path_push(c, "classes");
    if (cl->type != YN_MAP || nc == 0)
        rc = scn_fail(c, cl, nc == 0 ? "this workload has no classes" : "expected {CLASS: p, ...}");
    if (rc == 0 && (dep->class_success = malloc(nc * sizeof *dep->class_success)) == NULL)
        rc = llmsim_error_set(c->err, LLMSIM_ENOMEM, cl->file, 0, 0, "out of memory");
    for (size_t i = 0; rc == 0 && i < nc; i++)
        dep->class_success[i] = NAN;
    for (size_t j = 0; rc == 0 && j < cl->n; j++) {
        const char *name = cl->keys[j]->str;
        size_t m2 = scn_path_push(c, name), idx = nc;
        for (size_t i = 0; i < nc; i++)
            if (!strcmp(sc->workload.classes[i].name, name))
                idx = i;
        if (idx == nc) {
            const char *cands[1024];
            for (size_t i = 0; i < nc && i < 1024; i++)
                cands[i] = sc->workload.classes[i].name;
            const char *near = scn_did_you_mean(name, cands, nc < 1024 ? nc : 1024);
            rc = near ? scn_fail(c, cl->keys[j], "no class named '%s' (did you mean '%s'?)", name, near)
                      : scn_fail(c, cl->keys[j], "no class named '%s'", name);
        } else {
            rc = read_prob(c, cl->vals[j], &dep->class_success[idx]);
        }
        scn_path_pop(c, m2);
    }
    for (size_t i = 0; rc == 0 && n_diff == 0 && i < nc; i++)
        if (isnan(dep->class_success[i]))
            rc = scn_fail(c, cl, "class '%s' has no success probability (list every class, or give simple, "
                                 "moderate and complex as well)", sc->workload.classes[i].name);
    scn_path_pop(c, m);
    return rc;
}

/* quality: {DEPLOYMENT: p | {simple: p, moderate: p, complex: p, classes: {...}}, ..., joint: {...}} */
static int h_quality(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct sim_scenario *sc = obj;
    if (v->type != YN_MAP)
        return scn_fail(c, v, "expected a mapping of deployment names to success probabilities");
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        size_t m = scn_path_push(c, k);
        int rc = 0;
        if (!strcmp(k, "joint")) {
            rc = h_joint(c, v->vals[i], sc);
        } else {
            int d = 0;
            rc = find_deployment(c, v->keys[i], sc, k, &d);
            struct sim_deployment_cfg *dep = &sc->deployments[d];
            const struct yn_node *q = v->vals[i];
            if (rc == 0 && q->type == YN_SCALAR) {
                double p = 0;
                rc = read_prob(c, q, &p);
                for (int t = 0; t < SIM_N_DIFFICULTY; t++)
                    dep->success[t] = p;
            } else if (rc == 0 && q->type == YN_MAP) {
                rc = quality_map(c, q, sc, dep);
            } else if (rc == 0) {
                rc = scn_fail(c, q, "expected a probability or {simple: p, moderate: p, complex: p, classes: {CLASS: p}}");
            }
            if (rc == 0)
                dep->has_quality = 1;
        }
        scn_path_pop(c, m);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- top level ------------------------------------------------------------ */

static const struct scn_key top_keys[] = {
    {"name", SCN_K_NAME, OFF(struct sim_scenario, name), 0, 0, SCN_KF_REQUIRED, NULL},
    {"description", SCN_K_STRDUP, OFF(struct sim_scenario, description), 0, 0, 0, NULL},
    {"seed", SCN_K_U64, OFF(struct sim_scenario, seed), 0, 1.8446744073709552e19, 0, NULL},
    {"horizon", SCN_K_FN, 0, 0, 0, 0, h_horizon},
    {"replications", SCN_K_INT, OFF(struct sim_scenario, replications), 1, SIM_MAX_REPLICATIONS, 0,
     NULL},
    {"workload", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_workload},
    {"deployments", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, h_deployments},
    {"routing", SCN_K_FN, 0, 0, 0, 0, h_routing},
    {"output", SCN_K_FN, 0, 0, 0, 0, h_output},
    {"quality", SCN_K_FN, 0, 0, 0, 0, h_quality},
    {"output_control", SCN_K_FN, 0, 0, 0, 0, h_output_control},
    {"slo", SCN_K_FN, 0, 0, 0, 0, h_slo},
    {"energy", SCN_K_FN, 0, 0, 0, 0, h_energy},
    {"sweep", SCN_K_FN, 0, 0, 0, 0, h_sweep},
    {"levers", SCN_K_FN, 0, 0, 0, 0, h_levers},
};

/* The horizon's bounds against the workload: drawn arrivals need one (or
 * they never stop); a trace without one is replayed to its end, and its
 * warm-up must then end before the last arrival replayed. */
static int check_horizon(struct scn_ctx *c, const struct yn_node *root,
                         const struct sim_scenario *sc)
{
    const struct yn_node *h = yn_get(root, "horizon");
    const struct sim_workload_cfg *w = &sc->workload;
    if (sc->duration_s > 0)
        return 0; /* h_horizon compared warmup_s with it */
    if (w->process != SIM_ARRIVAL_TRACE) {
        if (sc->max_requests > 0)
            return 0;
        if (h == NULL)
            return scn_fail(c, root, "missing required key 'horizon'");
        size_t m = scn_path_push(c, "horizon");
        int rc = scn_fail(
            c, h,
            "give 'duration_s' or 'requests' (or both); only a trace workload may leave both "
            "out, to be replayed whole");
        scn_path_pop(c, m);
        return rc;
    }
    size_t n = w->trace.n;
    if (sc->max_requests > 0 && sc->max_requests < n)
        n = (size_t)sc->max_requests;
    double last = n > 0 ? w->trace.t_s[n - 1] / w->trace_speedup : 0;
    if (sc->warmup_s > 0 && sc->warmup_s >= last) {
        const struct yn_node *wu = h && h->type == YN_MAP ? yn_get(h, "warmup_s") : NULL;
        size_t m = scn_path_push(c, "horizon");
        scn_path_push(c, "warmup_s");
        int rc = scn_fail(
            c,
            wu  ? wu
            : h ? h
                : root,
            "warmup_s (%g) must end before the last arrival replayed (%g s into the trace)",
            sc->warmup_s, last);
        scn_path_pop(c, m);
        return rc;
    }
    return 0;
}

/* Refuses scenarios whose size alone would exhaust the machine. */
static int check_scale(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc)
{
    const struct sim_workload_cfg *w = &sc->workload;
    double per_rep;
    if (w->process == SIM_ARRIVAL_TRACE)
        per_rep = (double)w->trace.n;
    else if (sc->max_requests > 0)
        per_rep = (double)sc->max_requests;
    else if (isfinite(sim_workload_mean_rate(w)))
        per_rep = sim_workload_mean_rate(w) * sc->duration_s;
    else
        per_rep = 0; /* closed clients that never think: their answers' latency bounds the count */
    if (sc->max_requests > 0 && (double)sc->max_requests < per_rep)
        per_rep = (double)sc->max_requests;
    if (per_rep > (double)SIM_MAX_REQUESTS) {
        const struct yn_node *h = yn_get(root, "horizon");
        size_t m = scn_path_push(c, "horizon");
        int rc = scn_fail(c, h ? h : root,
                          "this horizon generates about %.3g requests per replication; the limit is "
                          "%.0e (shorten duration_s, lower the rate or set 'requests')",
                          per_rep, (double)SIM_MAX_REQUESTS);
        scn_path_pop(c, m);
        return rc;
    }
    if (per_rep * sc->replications > 1e9) {
        const struct yn_node *r = yn_get(root, "replications");
        return scn_fail(c, r ? r : root, "%d replications of about %.3g requests each are more than "
                                          "10^9 requests in all; refusing", sc->replications, per_rep);
    }
    return 0;
}

/* Whether `name` is a tenant of workload w; else a located error at `at`
 * (with a did-you-mean) under deployments.DEP.KEY.SUB.NAME (weights), or
 * deployments.DEP.KEY[index] when sub is NULL (quotas). */
static int check_tenant_name(struct scn_ctx *c, const struct sim_workload_cfg *w, const char *name,
                             const struct yn_node *at, const char *dep, const char *key, const char *sub,
                             size_t index)
{
    const char *cands[1024];
    size_t nc = 0;
    for (size_t k = 0; k < w->n_classes && nc < 1024; k++) {
        cands[nc++] = sim_class_tenant(&w->classes[k]);
        if (!strcmp(cands[nc - 1], name))
            return 0;
    }
    size_t m = scn_path_push(c, "deployments");
    scn_path_push(c, dep);
    scn_path_push(c, key);
    if (sub != NULL) {
        scn_path_push(c, sub);
        scn_path_push(c, name);
    } else {
        scn_path_push_index(c, index);
    }
    const char *near = scn_did_you_mean(name, cands, nc);
    int rc = near ? scn_fail(c, at, "no tenant named '%s' (did you mean '%s'?)", name, near)
                  : scn_fail(c, at, "no tenant named '%s' (a class's tenant, or its name when it has none)", name);
    scn_path_pop(c, m);
    return rc;
}

/* Tenant weights and quotas name tenants of the workload, admission rules
 * its tiers. */
static int check_tenants(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc)
{
    const struct sim_workload_cfg *w = &sc->workload;
    const struct yn_node *deps = yn_get(root, "deployments");
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        const struct yn_node *dn = deps && deps->type == YN_SEQ && i < deps->n ? deps->vals[i] : root;
        const struct yn_node *sn = dn->type == YN_MAP ? yn_get(dn, "scheduler") : NULL;
        const struct yn_node *wn = sn && sn->type == YN_MAP ? yn_get(sn, "weights") : NULL;
        for (size_t j = 0; j < d->n_tenant_weights; j++) {
            const char *name = d->tenant_weights[j].tenant;
            const struct yn_node *at = wn && wn->type == YN_MAP && j < wn->n ? wn->keys[j] : dn;
            int rc = check_tenant_name(c, w, name, at, d->name, "scheduler", "weights", 0);
            if (rc)
                return rc;
        }
        const struct yn_node *qn = dn->type == YN_MAP ? yn_get(dn, "quotas") : NULL;
        for (size_t j = 0; j < d->n_quotas; j++) {
            const struct yn_node *at = qn && qn->type == YN_SEQ && j < qn->n ? qn->vals[j] : dn;
            at = at->type == YN_MAP && yn_get(at, "tenant") ? yn_get(at, "tenant") : at;
            int rc = check_tenant_name(c, w, d->quotas[j].tenant, at, d->name, "quotas", NULL, j);
            if (rc)
                return rc;
        }
        const struct yn_node *an = dn->type == YN_MAP ? yn_get(dn, "admission") : NULL;
        for (size_t j = 0; j < d->n_admission; j++) {
            int found = 0;
            for (size_t k = 0; k < w->n_classes; k++)
                found |= w->classes[k].priority == d->admission[j].tier;
            if (found)
                continue;
            const struct yn_node *at = an && an->type == YN_SEQ && j < an->n ? an->vals[j] : dn;
            at = at->type == YN_MAP && yn_get(at, "tier") ? yn_get(at, "tier") : at;
            size_t m = scn_path_push(c, "deployments");
            scn_path_push(c, d->name);
            scn_path_push(c, "admission");
            int rc = scn_fail(c, at, "no class has priority %d (a tier is a class priority)", d->admission[j].tier);
            scn_path_pop(c, m);
            return rc;
        }
    }
    return 0;
}

static int resolve(struct load *ld, const struct yn_node *root)
{
    struct scn_ctx *c = &ld->c;
    struct sim_scenario *sc = ld->sc;
    sc->seed = 1;
    sc->replications = 1;
    sc->output_control.verbosity = 1.0;
    sc->slo.percentile = 95;
    sc->output.requests = 1;
    sc->output.timeseries_interval_s = 10.0;
    if (root == NULL)
        return llmsim_error_set(c->err, LLMSIM_ESCENARIO, c->file, 1, 1,
                                "the scenario is empty (expected a mapping with name, horizon, workload and deployments)");
    int rc = scn_process_map(c, root, top_keys, NKEYS(top_keys), sc);
    if (rc)
        return rc;
    if (yn_get(root, "routing") == NULL) {
        if (sc->n_deployments > 1)
            return scn_fail(c, root, "missing required key 'routing' (needed with more than one deployment)");
        sc->routing.policy = SIM_ROUTE_FIXED;
        sc->routing.to = 0;
    }
    for (size_t i = 0; i < sc->workload.n_classes; i++)
        if (sc->workload.classes[i].prefetch && !sc->workload.sessions.enabled) {
            const struct yn_node *wl = yn_get(root, "workload"), *cls = wl ? yn_get(wl, "classes") : NULL;
            const struct yn_node *item = cls && cls->type == YN_SEQ && i < cls->n ? cls->vals[i] : root;
            const struct yn_node *pf = item->type == YN_MAP ? yn_get(item, "prefetch") : NULL;
            size_t m = scn_path_push(c, "workload");
            scn_path_push(c, "classes");
            scn_path_push(c, sc->workload.classes[i].name);
            scn_path_push(c, "prefetch");
            int frc = scn_fail(c, pf ? pf : root, "prefetch guesses a session's next turn; it needs workload.sessions");
            scn_path_pop(c, m);
            return frc;
        }
    if (sc->routing.policy == SIM_ROUTE_CLASSIFIER && !sc->routing.by_difficulty && sc->joint.enabled &&
        (sc->joint.strong != sc->routing.strong || sc->joint.weak != sc->routing.weak)) {
        size_t m = scn_path_push(c, "routing");
        int frc = scn_fail(c, yn_get(root, "routing"), "the classifier's strong and weak tiers must be the "
                                                       "quality joint table's");
        scn_path_pop(c, m);
        return frc;
    }
    if ((rc = check_horizon(c, root, sc)) != 0)
        return rc;
    if ((rc = check_energy(c, root, sc)) != 0)
        return rc;
    if ((rc = check_tenants(c, root, sc)) != 0)
        return rc;
    /* The slo autoscaling policy's target defaults to the SLO's TTFT (read after the deployments). */
    for (size_t i = 0; i < sc->n_deployments; i++) {
        struct sim_autoscale_cfg *as = &sc->deployments[i].autoscale;
        if (!as->enabled || as->policy != SIM_AS_SLO || as->target > 0)
            continue;
        if (sc->slo.ttft_s > 0) {
            as->target = sc->slo.ttft_s;
            continue;
        }
        const struct yn_node *ds = yn_get(root, "deployments");
        const struct yn_node *an = yn_get(ds->vals[i], "autoscale");
        size_t m = scn_path_push(c, "deployments");
        scn_path_push(c, sc->deployments[i].name);
        scn_path_push(c, "autoscale");
        int frc = scn_fail(c, an, "the slo policy needs target_ttft_ms or an slo with ttft_ms");
        scn_path_pop(c, m);
        return frc;
    }
    if (sc->output.path == NULL) {
        size_t n = strlen(sc->name) + 16;
        sc->output.path = malloc(n);
        if (sc->output.path == NULL)
            return llmsim_error_set(c->err, LLMSIM_ENOMEM, "", 0, 0, "out of memory");
        snprintf(sc->output.path, n, "results/%s.h5", sc->name);
    }
    if ((rc = check_scale(c, root, sc)) != 0)
        return rc;
    return scn_budget_check(c, root, sc);
}

/* ---- overrides ------------------------------------------------------------ */

int scn_parse_override(char *arg, struct scn_override *o, struct llmsim_error *err)
{
    char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return llmsim_error_set(err, LLMSIM_EINVAL, "--set", 0, 0,
                                "'%s' is not KEY=VALUE (e.g. workload.arrivals.rate_per_s=20)", arg);
    *eq = '\0';
    o->key = arg;
    o->value = eq + 1;
    return 0;
}

/* Finds the element of a sequence named `comp` (by its name or segment key)
 * or with that index. */
static struct yn_node *seq_find(struct yn_node *seq, const char *comp)
{
    for (size_t i = 0; i < seq->n; i++) {
        const struct yn_node *nm = yn_get(seq->vals[i], "name");
        if (nm == NULL)
            nm = yn_get(seq->vals[i], "segment");
        if (nm && nm->type == YN_SCALAR && !strcmp(nm->str, comp))
            return seq->vals[i];
    }
    char *end;
    errno = 0;
    unsigned long idx = strtoul(comp, &end, 10);
    if (*comp && *end == '\0' && errno == 0 && idx < seq->n)
        return seq->vals[idx];
    return NULL;
}

static int apply_override(struct yn_node **rootp, const struct scn_override *o, const char *label,
                          struct llmsim_error *err)
{
    struct yn_node *val = NULL;
    int rc = yn_parse(o->value, strlen(o->value), label, 10000, 32, &val, err);
    if (rc)
        return rc;
    if (val == NULL) {
        val = calloc(1, sizeof *val);
        if (val == NULL || (val->str = strdup("")) == NULL) {
            free(val);
            return llmsim_error_set(err, LLMSIM_ENOMEM, label, 0, 0, "out of memory");
        }
        val->type = YN_SCALAR;
        val->plain = 1;
        val->file = label;
        val->line = val->col = 1;
    }
    if (*rootp == NULL) {
        yn_free(val);
        return llmsim_error_set(err, LLMSIM_ESCENARIO, label, 0, 0, "cannot override a key of an empty scenario");
    }
    char keybuf[512];
    if (strlen(o->key) >= sizeof keybuf) {
        yn_free(val);
        return llmsim_error_set(err, LLMSIM_EINVAL, label, 0, 0, "key path is too long");
    }
    size_t kl = strlen(o->key);
    if (kl == 0 || o->key[0] == '.' || o->key[kl - 1] == '.' || strstr(o->key, "..") != NULL) {
        yn_free(val);
        return llmsim_error_set(err, LLMSIM_ESCENARIO, label, 0, 0,
                                "key path '%s' has an empty component (write KEY.SUBKEY, e.g. "
                                "workload.arrivals.rate_per_s)", o->key);
    }
    strcpy(keybuf, o->key);
    struct yn_node *cur = *rootp;
    char *save = NULL, walked[512] = "";
    char *comp = strtok_r(keybuf, ".", &save);
    while (comp) {
        char *next = strtok_r(NULL, ".", &save);
        size_t wl = strlen(walked);
        snprintf(walked + wl, sizeof walked - wl, "%s%s", wl ? "." : "", comp);
        if (cur->type == YN_SEQ) {
            struct yn_node *el = seq_find(cur, comp);
            if (el == NULL) {
                yn_free(val);
                return llmsim_error_set(err, LLMSIM_ESCENARIO, label, 0, 0,
                                        "%s: no element named '%s' (give a name or an index from 0 to %zu)",
                                        walked, comp, cur->n ? cur->n - 1 : 0);
            }
            if (next == NULL) {
                yn_free(val);
                return llmsim_error_set(err, LLMSIM_ESCENARIO, label, 0, 0,
                                        "%s: replacing a whole list element is not supported; set its keys", walked);
            }
            cur = el;
        } else if (cur->type == YN_MAP) {
            if (next == NULL) {
                rc = yn_map_set(cur, comp, val, label, 1, 1);
                if (rc)
                    return llmsim_error_set(err, rc, label, 0, 0, "out of memory");
                return 0;
            }
            struct yn_node *child = yn_get(cur, comp);
            if (child == NULL) {
                child = calloc(1, sizeof *child);
                if (child == NULL || yn_map_set(cur, comp, child, label, 1, 1) != 0) {
                    free(child);
                    yn_free(val);
                    return llmsim_error_set(err, LLMSIM_ENOMEM, label, 0, 0, "out of memory");
                }
                child->type = YN_MAP;
                child->file = label;
                child->line = child->col = 1;
            }
            cur = child;
        } else {
            yn_free(val);
            walked[wl] = '\0'; /* name the value, not the key asked of it */
            return llmsim_error_set(err, LLMSIM_ESCENARIO, label, 0, 0,
                                    "%s is a value, not a mapping: it has no key '%s'", walked, comp);
        }
        comp = next;
    }
    yn_free(val);
    return llmsim_error_set(err, LLMSIM_EINVAL, label, 0, 0, "empty key path");
}

static void dirname_of(const char *name, char *dir, size_t size)
{
    const char *slash = strrchr(name, '/');
    if (slash == NULL || name[0] == '<') {
        dir[0] = '\0';
        return;
    }
    size_t n = (size_t)(slash - name);
    if (n == 0)
        n = 1; /* "/x.yaml" */
    if (n >= size)
        n = size - 1;
    memcpy(dir, name, n);
    dir[n] = '\0';
}

int scn_load_string(struct sim_scenario *out, const char *text, size_t len, const char *name,
                    const struct scn_override *ovr, size_t n_ovr, struct llmsim_error *err)
{
    struct llmsim_error local;
    if (err == NULL)
        err = &local;
    llmsim_error_clear(err);
    memset(out, 0, sizeof *out);
    snprintf(err->file, sizeof err->file, "%s", name);
    if (len > SCN_MAX_FILE_BYTES)
        return llmsim_error_set(err, LLMSIM_ELIMIT, name, 0, 0,
                                "scenario is %zu bytes; the limit is %u", len, SCN_MAX_FILE_BYTES);
    struct yn_node *root = NULL;
    int rc = yn_parse(text, len, name, SCN_MAX_NODES, SCN_MAX_DEPTH, &root, err);
    if (rc)
        return rc;
    if (root != NULL && root->type != YN_MAP) {
        rc = llmsim_error_set(err, LLMSIM_ESCENARIO, name, root->line, root->col,
                              "a scenario is a mapping (name, horizon, workload, deployments), not %s",
                              yn_type_name(root->type));
        yn_free(root);
        return rc;
    }
    if (root == NULL && n_ovr > 0)
        return llmsim_error_set(err, LLMSIM_ESCENARIO, name, 1, 1,
                                "the scenario is empty, so --set %s cannot override a key of it", ovr[0].key);
    /* Labels for override nodes live until the load is over. */
    char **labels = n_ovr ? calloc(n_ovr, sizeof *labels) : NULL;
    if (n_ovr && labels == NULL) {
        yn_free(root);
        return llmsim_error_set(err, LLMSIM_ENOMEM, name, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < n_ovr && rc == 0; i++) {
        size_t n = strlen(ovr[i].key) + 16;
        labels[i] = malloc(n);
        if (labels[i] == NULL) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, name, 0, 0, "out of memory");
            break;
        }
        snprintf(labels[i], n, "--set %s", ovr[i].key);
        rc = apply_override(&root, &ovr[i], labels[i], err);
    }
    if (rc == 0) {
        struct load ld;
        memset(&ld, 0, sizeof ld);
        ld.c.err = err;
        ld.sc = out;
        char dir[1024];
        dirname_of(name, dir, sizeof dir);
        ld.c.dir = dir;
        ld.c.file = name;
        rc = resolve(&ld, root);
    }
    yn_free(root);
    for (size_t i = 0; i < n_ovr; i++)
        free(labels[i]);
    free(labels);
    if (rc)
        sim_scenario_free(out);
    return rc;
}

int scn_load_file(struct sim_scenario *out, const char *path, const struct scn_override *ovr,
                  size_t n_ovr, struct llmsim_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = NULL;
    char why[160];
    int orc = scn_open_input(path, SCN_MAX_FILE_BYTES, &f, why, sizeof why);
    if (orc == -1)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    if (orc != 0)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "the scenario %s", why);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
        if (n > SCN_MAX_FILE_BYTES) {
            rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, 0, 0,
                                  "scenario file is larger than %u bytes; refusing to load it",
                                  SCN_MAX_FILE_BYTES);
            break;
        }
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (rc == 0 && buf == NULL)
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    if (rc == 0 && ferror(f))
        rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "read error: %s", strerror(errno));
    fclose(f);
    if (rc == 0)
        rc = scn_load_string(out, buf, n, path, ovr, n_ovr, err);
    free(buf);
    return rc;
}
