/* The resource budget of a run (docs/scenario-reference.md, "Resource
 * budget").
 *
 * A run's cost grows with its virtual span (time-series samples) and its
 * requests (/requests rows), not with the size of the scenario text, so a
 * few characters (rate_per_s: 1e-300, timeseries_interval_s: 1e-300, a
 * trace timestamp of 1e300) can ask for a run that never ends or fills a
 * disk.  After loading, the loader estimates what the run will produce and
 * refuses, at the key to change, a scenario past the budget, unless the
 * user passed --force (scn_set_force).  Time distributions that can draw
 * negative or absurdly long times are refused whatever --force says: no
 * sensible scenario needs them.
 *
 * The estimate is a lower bound on purpose: the arrival span (duration_s,
 * or requests / rate, or the trace's last arrival / speedup) plus a drain
 * allowance of the mean service and think times; the time series then has
 * span / interval samples of one row per deployment and one per
 * self-hosted replica, in every replication. */
#include "budget.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmsim/record.h"
#include "llmsim/scenario.h"

static int g_force;

void scn_set_force(int force)
{
    g_force = force != 0;
}

int scn_get_force(void)
{
    return g_force;
}

/* Requests one replication generates (as check_scale counts them). */
static double requests_per_rep(const struct sim_scenario *sc)
{
    const struct sim_workload_cfg *w = &sc->workload;
    double n;
    if (w->process == SIM_ARRIVAL_TRACE)
        n = (double)w->trace.n;
    else if (sc->duration_s > 0 && isfinite(sim_workload_mean_rate(w)))
        n = sim_workload_mean_rate(w) * sc->duration_s;
    else if (sc->duration_s > 0 && !(sc->max_requests > 0))
        n = 0; /* closed clients that never think: no estimate */
    else
        n = (double)sc->max_requests;
    if (sc->max_requests > 0 && (double)sc->max_requests < n)
        n = (double)sc->max_requests;
    return n;
}

void scn_budget_estimate(const struct sim_scenario *sc, struct scn_budget *b)
{
    memset(b, 0, sizeof *b);
    const struct sim_workload_cfg *w = &sc->workload;
    double span;
    if (w->process == SIM_ARRIVAL_TRACE) {
        size_t n = w->trace.n;
        if (sc->max_requests > 0 && sc->max_requests < n)
            n = (size_t)sc->max_requests;
        span = n > 0 && w->trace_speedup > 0 ? w->trace.t_s[n - 1] / w->trace_speedup : 0;
        b->span_from = SCN_SPAN_TRACE;
    } else if (sc->max_requests > 0) {
        span = (double)sc->max_requests / sim_workload_mean_rate(w); /* inf for a rate that underflows */
        b->span_from = SCN_SPAN_RATE;
    } else {
        span = sc->duration_s;
        b->span_from = SCN_SPAN_DURATION;
    }
    if (sc->duration_s > 0 && !(span <= sc->duration_s)) {
        span = sc->duration_s;
        b->span_from = SCN_SPAN_DURATION;
    }
    if (!(span >= 0))
        span = INFINITY; /* NaN: nothing sensible to estimate */
    b->arrival_span_s = span;

    /* Drain: the longest mean service time, plus a session's think times. */
    double drain = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->latency_kind == MDL_LAT_SERVICE_TIME && mdl_dist_mean(&d->service_time_s) > drain)
            drain = mdl_dist_mean(&d->service_time_s);
        if (d->batch_api && mdl_dist_mean(&d->batch_completion_s) > drain)
            drain = mdl_dist_mean(&d->batch_completion_s);
    }
    double turns = 1;
    if (w->sessions.enabled) {
        turns = mdl_dist_mean(&w->sessions.turns);
        if (!(turns >= 1))
            turns = 1;
        double think = mdl_dist_mean(&w->sessions.think_time_s);
        if (think > 0)
            drain += (turns - 1) * think;
    }
    b->span_s = span + (drain > 0 ? drain : 0);

    double rows_per_sample = 0;
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        /* An autoscaled deployment may have up to max replicas billed at a sample. */
        int most = d->autoscale.enabled ? d->autoscale.max : d->replicas;
        rows_per_sample += 1 + (d->kind == SIM_DEPLOY_SELF_HOSTED && most > 0 ? most : 0);
    }
    b->rows_per_sample = rows_per_sample;
    double iv = sc->output.timeseries_interval_s;
    b->ts_rows = iv > 0 ? floor(b->span_s / iv) * rows_per_sample * sc->replications : 0;
    if (isnan(b->ts_rows))
        b->ts_rows = INFINITY;
    b->request_rows = sc->output.requests ? requests_per_rep(sc) * turns * sc->replications : 0;
    b->bytes = b->ts_rows * (double)sizeof(struct sim_ts_record) +
               b->request_rows * (double)sizeof(struct sim_request_record);
}

/* ---- locating the key to blame -------------------------------------------- */

/* The deepest node along keys (sequence items selected by their name). */
static const struct yn_node *locate(const struct yn_node *root, const char *const *keys, size_t n)
{
    const struct yn_node *at = root;
    for (size_t i = 0; i < n && at; i++) {
        const struct yn_node *next = NULL;
        if (at->type == YN_MAP) {
            next = yn_get(at, keys[i]);
        } else if (at->type == YN_SEQ) {
            for (size_t j = 0; j < at->n && !next; j++) {
                const struct yn_node *nm = at->vals[j]->type == YN_MAP ? yn_get(at->vals[j], "name") : NULL;
                if (nm && nm->type == YN_SCALAR && strcmp(nm->str, keys[i]) == 0)
                    next = at->vals[j];
            }
        }
        if (next == NULL)
            break;
        at = next;
    }
    return at;
}

/* scn_fail at the node of a key path (keys[0].keys[1]...), message named by it. */
static int fail_at(struct scn_ctx *c, const struct yn_node *root, const char *const *keys, size_t n,
                   const char *msg)
{
    size_t mark = c->path_len;
    for (size_t i = 0; i < n; i++)
        scn_path_push(c, keys[i]);
    int rc = scn_fail(c, locate(root, keys, n), "%s", msg);
    scn_path_pop(c, mark);
    return rc;
}

/* ---- time distributions --------------------------------------------------- */

/* The lowest value the distribution can draw and an upper end of what it
 * draws in practice (its bound when it has one, else far in the tail). */
static void dist_range(const struct mdl_dist *d, double *lo, double *hi)
{
    switch (d->kind) {
    case MDL_DIST_CONSTANT:
        *lo = *hi = d->mean;
        break;
    case MDL_DIST_UNIFORM:
        *lo = d->min;
        *hi = d->max;
        break;
    case MDL_DIST_EMPIRICAL:
        *lo = INFINITY;
        *hi = -INFINITY;
        for (size_t i = 0; i < d->n; i++) {
            if (d->values[i] < *lo)
                *lo = d->values[i];
            if (d->values[i] > *hi)
                *hi = d->values[i];
        }
        break;
    case MDL_DIST_EXPONENTIAL:
        *lo = 0;
        *hi = 30 * d->mean; /* exceeded with probability e^-30 */
        break;
    default: /* normal, lognormal, gamma, geometric: mean + 10 sd */
        *lo = isfinite(d->min) ? d->min : 0;
        *hi = d->mean + 10 * d->sd;
        break;
    }
    if (d->kind != MDL_DIST_UNIFORM) {
        if (d->min > *lo)
            *lo = d->min;
        if (d->max < *hi)
            *hi = d->max;
    }
}

/* Refuses a time distribution (values in unit_s seconds) that can draw a
 * negative time or one past the virtual span limit. */
static int check_time_dist(struct scn_ctx *c, const struct yn_node *root, const struct mdl_dist *d,
                           double unit_s, const char *const *keys, size_t n)
{
    double lo, hi;
    dist_range(d, &lo, &hi);
    const char *unit = unit_s == 1 ? "s" : "ms";
    char msg[400];
    if (!(lo >= 0)) {
        snprintf(msg, sizeof msg, "a time cannot be negative, but this %s distribution draws values down to %g %s; "
                                  "give min >= 0",
                 mdl_dist_kind_name(d->kind), lo, unit);
        return fail_at(c, root, keys, n, msg);
    }
    if (!(hi * unit_s <= SCN_BUDGET_SPAN_S)) {
        snprintf(msg, sizeof msg, "this %s distribution draws times up to about %g %s, past the limit of %g s "
                                  "(ten years) on virtual time; lower its max (or mean and spread)",
                 mdl_dist_kind_name(d->kind), hi, unit, SCN_BUDGET_SPAN_S);
        return fail_at(c, root, keys, n, msg);
    }
    return 0;
}

static int check_time_dists(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc)
{
    int rc;
    if (sc->workload.sessions.enabled) {
        static const char *const k[] = {"workload", "sessions", "think_time_s"};
        if ((rc = check_time_dist(c, root, &sc->workload.sessions.think_time_s, 1, k, 3)) != 0)
            return rc;
    }
    if (sc->workload.process == SIM_ARRIVAL_CLOSED) {
        static const char *const k[] = {"workload", "arrivals", "think_time_s"};
        if ((rc = check_time_dist(c, root, &sc->workload.closed.think_time_s, 1, k, 3)) != 0)
            return rc;
    }
    for (size_t i = 0; i < sc->n_deployments; i++) {
        const struct sim_deployment_cfg *d = &sc->deployments[i];
        if (d->latency_kind == MDL_LAT_SERVICE_TIME) {
            const char *const k[] = {"deployments", d->name, "latency", "service_time_s"};
            if ((rc = check_time_dist(c, root, &d->service_time_s, 1, k, 4)) != 0)
                return rc;
        }
        if (d->latency_kind == MDL_LAT_API) {
            const char *const k[] = {"deployments", d->name, "latency", "itl_ms"};
            if ((rc = check_time_dist(c, root, &d->api.itl_ms, 1e-3, k, 4)) != 0)
                return rc;
        }
        if (d->batch_api) {
            const char *const k[] = {"deployments", d->name, "batch", "completion_s"};
            if ((rc = check_time_dist(c, root, &d->batch_completion_s, 1, k, 4)) != 0)
                return rc;
        }
    }
    return 0;
}

/* ---- the budget ------------------------------------------------------------ */

static void human_bytes(char *buf, size_t size, double b)
{
    if (!isfinite(b))
        snprintf(buf, size, "unbounded");
    else if (b >= 1e12)
        snprintf(buf, size, "%.3g TB", b / 1e12);
    else if (b >= 1e9)
        snprintf(buf, size, "%.3g GB", b / 1e9);
    else
        snprintf(buf, size, "%.3g MB", b / 1e6);
}

int scn_budget_check(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc)
{
    int rc = check_time_dists(c, root, sc);
    if (rc != 0 || g_force)
        return rc;
    struct scn_budget b;
    scn_budget_estimate(sc, &b);
    char msg[600], bytes[32];
    static const char *const k_rate[] = {"workload", "arrivals", "rate_per_s"};
    static const char *const k_trace[] = {"workload", "trace"};
    static const char *const k_dur[] = {"horizon", "duration_s"};
    static const char *const k_iv[] = {"output", "timeseries_interval_s"};
    static const char *const k_req[] = {"horizon", "requests"};

    if (!(b.span_s <= SCN_BUDGET_SPAN_S)) {
        if (b.span_from == SCN_SPAN_RATE) {
            snprintf(msg, sizeof msg,
                     "%g requests at %g per second span about %g s of virtual time; the budget is %g s "
                     "(ten years) per replication: raise the rate, lower horizon.requests, or pass --force",
                     (double)sc->max_requests, sim_workload_mean_rate(&sc->workload), b.arrival_span_s,
                     SCN_BUDGET_SPAN_S);
            /* A diurnal or closed rate is the mean of several keys: blame the mapping. */
            return fail_at(c, root, k_rate, sc->workload.process == SIM_ARRIVAL_DIURNAL || sc->workload.process == SIM_ARRIVAL_CLOSED ? 2 : 3, msg);
        }
        if (b.span_from == SCN_SPAN_TRACE) {
            snprintf(msg, sizeof msg,
                     "the last arrival replayed comes %g s into the run (trace time / speedup %g); the budget "
                     "is %g s (ten years) of virtual time per replication: set horizon.duration_s or "
                     "horizon.requests, raise speedup, fix the trace's timestamps, or pass --force",
                     b.arrival_span_s, sc->workload.trace_speedup, SCN_BUDGET_SPAN_S);
            return fail_at(c, root, k_trace, 2, msg);
        }
        snprintf(msg, sizeof msg,
                 "the run spans about %g s of virtual time with its drain (mean service and think times); "
                 "the budget is %g s (ten years) per replication: shorten it or pass --force",
                 b.span_s, SCN_BUDGET_SPAN_S);
        return fail_at(c, root, k_dur, 2, msg);
    }
    double ts_bytes = b.ts_rows * (double)sizeof(struct sim_ts_record);
    if (!(b.ts_rows <= SCN_BUDGET_TS_ROWS)) {
        human_bytes(bytes, sizeof bytes, ts_bytes);
        snprintf(msg, sizeof msg,
                 "sampling every %g s over a virtual span of about %g s (%g row(s) per sample, %d "
                 "replication(s)) gives about %.3g time-series rows (%s); the budget is %.0e rows: raise "
                 "the interval, set it to 0 (no time series), or pass --force",
                 sc->output.timeseries_interval_s, b.span_s, b.rows_per_sample, sc->replications, b.ts_rows,
                 bytes, SCN_BUDGET_TS_ROWS);
        return fail_at(c, root, k_iv, 2, msg);
    }
    if (!(b.bytes <= SCN_BUDGET_BYTES)) {
        human_bytes(bytes, sizeof bytes, b.bytes);
        snprintf(msg, sizeof msg,
                 "about %.3g request rows and %.3g time-series rows make a results file of about %s before "
                 "compression; the budget is %.0f GiB: lower horizon.requests or replications, set "
                 "output.requests: false, or pass --force",
                 b.request_rows, b.ts_rows, bytes, SCN_BUDGET_BYTES / (1024.0 * 1024 * 1024));
        return fail_at(c, root, k_req, 2, msg);
    }
    return 0;
}
