/* The workload of a world: arrivals, the requests they bring, and routing
 * across deployments.
 *
 * Arrivals are generated lazily: exactly one arrival event is pending at a
 * time, and handling it schedules the next, until the horizon (duration or
 * request count) is reached.  Interarrival gaps (Poisson: exponential with
 * mean 1/rate; gamma: shape 1/cv^2 and scale cv^2/rate, so mean 1/rate and
 * coefficient of variation cv; constant: exactly 1/rate) come from the stream
 * "arrivals"; the first arrival is one gap after time 0.  Constant arrivals
 * are placed at k/rate rather than by summing gaps, so they do not drift.
 * Diurnal arrivals, and poisson ones under an mmpp or spikes, come from the
 * time-varying generator of world_arrivals.c; a closed workload's requests
 * from its clients (world_arrivals.c too), each the think time after the
 * client's previous answer (simi_source_done).
 *
 * Each random quantity has its own stream (llmsim/rng.h), so that a change in
 * one part of a scenario leaves the draws of the others alone:
 *   "arrivals"                   gaps
 *   "class-choice"               one uniform per request (always drawn)
 *   "class/<name>/difficulty"    one uniform per request of that class
 *   "class/<name>/lengths"       one draw per prompt segment, then one for the output
 *   "route"                      one uniform per request under split routing */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "llmsim/rng.h"
#include "world_internal.h"

/* Shares and weights must sum to 1 within this tolerance. */
#define SUM_TOL 1e-6

static int inval(struct llmsim_error *err, const char *what)
{
    return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "%s", what);
}

/* Cumulative normalised probabilities of p[0..n-1] into cum; fails on a
 * negative or non-finite entry or a sum away from 1. */
static int cumulate(const double *p, size_t n, double *cum)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i]) || p[i] < 0)
            return -1;
        s += p[i];
    }
    if (!(fabs(s - 1.0) <= SUM_TOL))
        return -1;
    double c = 0.0;
    for (size_t i = 0; i < n; i++) {
        c += p[i];
        cum[i] = c / s;
    }
    return 0;
}

/* The index whose cumulative interval holds u in [0, 1); entries of zero
 * probability are never chosen. */
static size_t pick(const double *cum, size_t n, double u)
{
    for (size_t i = 0; i < n; i++)
        if (u < cum[i])
            return i;
    /* Rounding left u above the last cumulative value: take the last entry
     * with a positive probability. */
    size_t i = n - 1;
    while (i > 0 && cum[i] == cum[i - 1])
        i--;
    return i;
}

static uint32_t tokens(double x);
/* round(max(0, x)) capped at UINT32_MAX (characters and words, which may
 * exceed the token limit). */
static uint32_t count_of(double x)
{
    if (!(x > 0))
        return 0;
    return x >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)floor(x + 0.5);
}
static uint32_t out_tokens(const struct sim_output_control_cfg *oc, double drawn, int *cut);

/* A stable segment has fixed content, so a fixed length per variant: the
 * lengths are drawn once per world from "class/<name>/variant-lengths"
 * (variant v of segment s is the same for every request), and the
 * popularity of the variants is uniform or Zipf (weight of rank r
 * proportional to r^-s). */
static int init_variants(struct sim_world *w, struct simi_class *k, struct llmsim_error *err)
{
    const struct sim_class_cfg *c = k->cfg;
    if (c->n_segments == 0)
        return 0;
    k->var_len = calloc(c->n_segments, sizeof *k->var_len);
    k->var_cum = calloc(c->n_segments, sizeof *k->var_cum);
    if (k->var_len == NULL || k->var_cum == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    gsl_rng *r = simi_stream(w, "class", c->name, "variant-lengths");
    if (r == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = 0;
    for (size_t s = 0; s < c->n_segments && rc == 0; s++) {
        const struct sim_segment_cfg *g = &c->segments[s];
        if (!g->stable)
            continue;
        int nv = g->variants > 0 ? g->variants : 1;
        k->var_len[s] = malloc((size_t)nv * sizeof *k->var_len[s]);
        k->var_cum[s] = malloc((size_t)nv * sizeof *k->var_cum[s]);
        if (k->var_len[s] == NULL || k->var_cum[s] == NULL) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            break;
        }
        double sum = 0;
        for (int v = 0; v < nv; v++) {
            k->var_len[s][v] = tokens(mdl_dist_sample(&g->tokens, r));
            sum += g->zipf_s > 0 ? pow(v + 1.0, -g->zipf_s) : 1.0;
            k->var_cum[s][v] = sum;
        }
        for (int v = 0; v < nv; v++)
            k->var_cum[s][v] /= sum;
        k->var_cum[s][nv - 1] = 1.0;
    }
    gsl_rng_free(r);
    return rc;
}

/* FNV-1a of a name, for prefix identities. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static int is_deployment(const struct sim_world *w, int d)
{
    return d >= 0 && (size_t)d < w->n_deploy;
}

/* Expected success probability of deployment d on a request of class c
 * (the class's difficulty mix; c < 0: a trace without classes, simple). */
static double expected_quality(const struct sim_world *w, int c, int d)
{
    const struct sim_scenario *sc = w->sc;
    const struct sim_quality_joint_cfg *j = &sc->joint;
    if (j->enabled && d == j->strong)
        return j->both + j->only_strong;
    if (j->enabled && d == j->weak)
        return j->both + j->only_weak;
    const struct sim_deployment_cfg *dc = &sc->deployments[d];
    if (c >= 0 && dc->class_success != NULL && !isnan(dc->class_success[c]))
        return dc->class_success[c];
    if (!dc->has_quality)
        return 1.0;
    if (c < 0 || !w->classes[c].has_difficulty)
        return dc->success[SIM_DIFF_SIMPLE];
    const double *p = sc->workload.classes[c].difficulty;
    return p[0] * dc->success[0] + p[1] * dc->success[1] + p[2] * dc->success[2];
}

/* Checks the routing policy against the deployments and prepares what the
 * routers look up per request. */
static int route_init(struct sim_world *w, struct llmsim_error *err)
{
    const struct sim_scenario *sc = w->sc;
    const struct sim_routing_cfg *rt = &sc->routing;
    switch (rt->policy) {
    case SIM_ROUTE_FIXED:
        if (!is_deployment(w, rt->to))
            return inval(err, "routing: fixed target is not a deployment");
        return 0;
    case SIM_ROUTE_SPLIT:
        if (rt->weights == NULL)
            return inval(err, "routing: split needs one weight per deployment");
        w->route_cum = malloc(w->n_deploy * sizeof *w->route_cum);
        if (w->route_cum == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        if (cumulate(rt->weights, w->n_deploy, w->route_cum) != 0)
            return inval(err, "routing: split weights must be >= 0 and sum to 1");
        return 0;
    case SIM_ROUTE_RULES: {
        if (!is_deployment(w, rt->fallback))
            return inval(err, "routing: the rules' default is not a deployment");
        size_t nc = w->n_classes ? w->n_classes : 1;
        w->rule_seg = malloc((rt->n_rules ? rt->n_rules : 1) * 2 * nc * sizeof *w->rule_seg);
        if (w->rule_seg == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        for (size_t i = 0; i < rt->n_rules; i++) {
            const struct sim_route_rule *ru = &rt->rules[i];
            if (!is_deployment(w, ru->to))
                return inval(err, "routing: a rule's target is not a deployment");
            for (size_t c = 0; c < nc; c++)
                for (int k = 0; k < 2; k++) {
                    const char *name = k ? ru->no_segment : ru->segment;
                    int idx = -1;
                    for (size_t g = 0; name[0] && w->n_classes && g < sc->workload.classes[c].n_segments && g < 32; g++)
                        if (!strcmp(sc->workload.classes[c].segments[g].name, name))
                            idx = (int)g;
                    w->rule_seg[(i * nc + c) * 2 + (size_t)k] = idx;
                }
        }
        return 0;
    }
    case SIM_ROUTE_CLASSIFIER: {
        double conf[SIM_MAX_LABELS][SIM_MAX_LABELS];
        if (rt->n_labels == 0) {
            /* Filled in C without a matrix: binary, from the accuracy. */
            w->cls_n = 2;
            w->cls_to[0] = rt->weak;
            w->cls_to[1] = rt->strong;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    conf[a][b] = a == b ? rt->accuracy : 1.0 - rt->accuracy;
        } else {
            w->cls_n = rt->n_labels;
            memcpy(w->cls_to, rt->label_to, sizeof w->cls_to);
            memcpy(conf, rt->confusion, sizeof conf);
        }
        if (w->cls_n < 2 || w->cls_n > SIM_MAX_LABELS)
            return inval(err, "routing: a classifier has 2 or 3 labels");
        for (int a = 0; a < w->cls_n; a++) {
            if (!is_deployment(w, w->cls_to[a]))
                return inval(err, "routing: classifier tiers are not deployments");
            if (cumulate(conf[a], (size_t)w->cls_n, w->cls_cum[a]) != 0)
                return inval(err, "routing: confusion rows must be probabilities summing to 1");
        }
        return 0;
    }
    case SIM_ROUTE_CASCADE:
    case SIM_ROUTE_SPILLOVER:
    case SIM_ROUTE_COST_AWARE:
        if (rt->n_tiers < 1 || rt->n_tiers > SIM_MAX_TIERS)
            return inval(err, "routing: give 1 to 16 tiers");
        for (size_t i = 0; i < rt->n_tiers; i++)
            if (!is_deployment(w, rt->tiers[i]))
                return inval(err, "routing: a tier is not a deployment");
        if (rt->policy == SIM_ROUTE_CASCADE &&
            !(rt->detect >= 0 && rt->detect <= 1 && rt->false_alarm >= 0 && rt->false_alarm <= 1))
            return inval(err, "routing: detect and false_alarm are probabilities");
        if (rt->policy == SIM_ROUTE_SPILLOVER && !(rt->max_queue >= 0 && rt->max_wait_s >= 0))
            return inval(err, "routing: max_queue and max_wait_s must be >= 0");
        if (rt->policy == SIM_ROUTE_COST_AWARE) {
            if (!(rt->quality_target >= 0 && rt->quality_target <= 1))
                return inval(err, "routing: the quality target is a probability");
            size_t nc = w->n_classes ? w->n_classes : 1;
            w->exp_quality = malloc(nc * w->n_deploy * sizeof *w->exp_quality);
            w->exp_output = malloc(nc * sizeof *w->exp_output);
            if (w->exp_quality == NULL || w->exp_output == NULL)
                return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
            const struct sim_output_control_cfg *oc = &sc->output_control;
            for (size_t c = 0; c < nc; c++) {
                for (size_t d = 0; d < w->n_deploy; d++)
                    w->exp_quality[c * w->n_deploy + d] = expected_quality(w, w->n_classes ? (int)c : -1, (int)d);
                /* The mean output length as requests get it: drawn (or
                 * replayed), scaled by the verbosity, rounded, cut at
                 * max_tokens; for a class, over 4096 draws of a stream of
                 * its own, since clamping and the cut move the mean. */
                double out = 0;
                if (sc->workload.process == SIM_ARRIVAL_TRACE) {
                    const struct sim_trace *tr = &sc->workload.trace;
                    for (size_t i = 0; i < tr->n; i++)
                        out += out_tokens(oc, tr->output_tokens[i], NULL);
                    out = tr->n ? out / (double)tr->n : 0;
                } else {
                    const struct sim_class_cfg *cl = &sc->workload.classes[c];
                    gsl_rng *g = simi_stream(w, "class", cl->name, "expected-output");
                    if (g == NULL)
                        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
                    for (int i = 0; i < 4096; i++)
                        out += out_tokens(oc, mdl_dist_sample(&cl->output_tokens, g), NULL);
                    out /= 4096;
                    gsl_rng_free(g);
                }
                w->exp_output[c] = isfinite(out) && out > 0 ? out : 0;
            }
        }
        return 0;
    default:
        return inval(err, "routing: unknown policy");
    }
}

int simi_source_init(struct sim_world *w, struct llmsim_error *err)
{
    const struct sim_scenario *sc = w->sc;
    const struct sim_workload_cfg *wl = &sc->workload;

    if (wl->process == SIM_ARRIVAL_TRACE) {
        const struct sim_trace *tr = &wl->trace;
        if (!(isfinite(wl->trace_speedup) && wl->trace_speedup > 0))
            return inval(err, "workload: trace speedup must be finite and > 0");
        if (tr->n > 0 && (tr->t_s == NULL || tr->input_tokens == NULL || tr->output_tokens == NULL))
            return inval(err, "workload: trace arrays missing");
        for (size_t i = 0; i < tr->n; i++) {
            if (!(isfinite(tr->t_s[i]) && tr->t_s[i] >= 0) ||
                (i > 0 && tr->t_s[i] < tr->t_s[i - 1]))
                return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                        "workload: trace row %zu: times must be finite, >= 0 "
                                        "and sorted",
                                        i + 1);
        }
    } else if (wl->process == SIM_ARRIVAL_POISSON || wl->process == SIM_ARRIVAL_GAMMA ||
               wl->process == SIM_ARRIVAL_CONSTANT || wl->process == SIM_ARRIVAL_DIURNAL ||
               wl->process == SIM_ARRIVAL_CLOSED) {
        int renewal = wl->process != SIM_ARRIVAL_DIURNAL && wl->process != SIM_ARRIVAL_CLOSED;
        if (renewal && !(isfinite(wl->rate_per_s) && wl->rate_per_s > 0))
            return inval(err, "workload: rate_per_s must be finite and > 0");
        if (wl->process == SIM_ARRIVAL_GAMMA && !(isfinite(wl->cv) && wl->cv > 0))
            return inval(err, "workload: gamma arrivals need a finite cv > 0");
        if (wl->n_classes == 0)
            return inval(err, "workload: at least one request class is needed");
        if (wl->process == SIM_ARRIVAL_CLOSED && wl->sessions.enabled)
            return inval(err, "workload: a closed workload's clients send single requests, not sessions");
    } else {
        return inval(err, "workload: unknown arrival process");
    }
    if (wl->n_classes > 0 && wl->classes == NULL)
        return inval(err, "workload: classes missing");

    w->n_classes = wl->n_classes;
    if (w->n_classes > 0) {
        w->classes = calloc(w->n_classes, sizeof *w->classes);
        w->class_cum = malloc(w->n_classes * sizeof *w->class_cum);
        if (w->classes == NULL || w->class_cum == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        double *shares = w->class_cum; /* filled in place below */
        for (size_t i = 0; i < w->n_classes; i++)
            shares[i] = wl->classes[i].share;
        if (cumulate(shares, w->n_classes, w->class_cum) != 0)
            return inval(err, "workload: class shares must be >= 0 and sum to 1");
    }
    for (size_t i = 0; i < w->n_classes; i++) {
        const struct sim_class_cfg *c = &wl->classes[i];
        struct simi_class *k = &w->classes[i];
        k->cfg = c;
        if (c->n_segments > 0 && c->segments == NULL)
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "class %s: prompt segments missing", c->name);
        /* All-zero probabilities mean "simple". */
        k->has_difficulty = 0;
        for (int j = 0; j < SIM_N_DIFFICULTY; j++)
            if (c->difficulty[j] != 0.0)
                k->has_difficulty = 1;
        if (k->has_difficulty && cumulate(c->difficulty, SIM_N_DIFFICULTY, k->difficulty_cum) != 0)
            return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0,
                                    "class %s: difficulty probabilities must be >= 0 and "
                                    "sum to 1",
                                    c->name);
        k->rng_lengths = simi_stream(w, "class", c->name, "lengths");
        k->rng_difficulty = simi_stream(w, "class", c->name, "difficulty");
        k->rng_variants = simi_stream(w, "class", c->name, "variants");
        if (k->rng_lengths == NULL || k->rng_difficulty == NULL || k->rng_variants == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        int rc = init_variants(w, k, err);
        if (rc)
            return rc;
    }

    int rc = route_init(w, err);
    if (rc)
        return rc;

    if (wl->sessions.enabled) {
        if (wl->process == SIM_ARRIVAL_TRACE)
            return inval(err, "workload: sessions do not apply to a trace");
        w->session_free = SIMI_NONE;
        w->rng_turns = sim_rng_alloc(sc->seed, w->replication, "sessions/turns");
        w->rng_think = sim_rng_alloc(sc->seed, w->replication, "sessions/think");
        if (w->rng_turns == NULL || w->rng_think == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    }
    w->rng_quality = sim_rng_alloc(sc->seed, w->replication, "quality");
    /* quality_u is read by answer_ok and true_label only, and there only
     * through the joint table or success probabilities; without them the
     * quality stream, which nothing else reads, is left alone. */
    w->quality_draw = sc->joint.enabled;
    for (size_t d = 0; d < sc->n_deployments; d++)
        if (sc->deployments[d].has_quality || sc->deployments[d].class_success != NULL)
            w->quality_draw = 1;
    w->rng_penalty = sim_rng_alloc(sc->seed, w->replication, "quality-penalty");
    w->rng_cascade = sim_rng_alloc(sc->seed, w->replication, "cascade");
    w->rng_features = sim_rng_alloc(sc->seed, w->replication, "features");
    w->rng_prefetch = sim_rng_alloc(sc->seed, w->replication, "prefetch");
    if (w->rng_quality == NULL || w->rng_penalty == NULL || w->rng_cascade == NULL || w->rng_features == NULL ||
        w->rng_prefetch == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    w->rng_arrivals = sim_rng_alloc(sc->seed, w->replication, "arrivals");
    w->rng_class = sim_rng_alloc(sc->seed, w->replication, "class-choice");
    w->rng_route = sim_rng_alloc(sc->seed, w->replication, "route");
    if (w->rng_arrivals == NULL || w->rng_class == NULL || w->rng_route == NULL)
        return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
    return simi_arrivals_init(w, err);
}

void simi_source_free(struct sim_world *w)
{
    for (size_t i = 0; w->classes != NULL && i < w->n_classes; i++) {
        struct simi_class *k = &w->classes[i];
        gsl_rng_free(k->rng_lengths);
        gsl_rng_free(k->rng_difficulty);
        gsl_rng_free(k->rng_variants);
        for (size_t s = 0; k->cfg != NULL && s < k->cfg->n_segments; s++) {
            if (k->var_len)
                free(k->var_len[s]);
            if (k->var_cum)
                free(k->var_cum[s]);
        }
        free(k->var_len);
        free(k->var_cum);
    }
    free(w->classes);
    free(w->class_cum);
    free(w->route_cum);
    free(w->sessions);
    w->sessions = NULL;
    gsl_rng_free(w->rng_turns);
    gsl_rng_free(w->rng_think);
    gsl_rng_free(w->rng_quality);
    gsl_rng_free(w->rng_penalty);
    gsl_rng_free(w->rng_cascade);
    gsl_rng_free(w->rng_features);
    gsl_rng_free(w->rng_prefetch);
    w->rng_turns = w->rng_think = w->rng_quality = w->rng_penalty = w->rng_cascade = NULL;
    w->rng_features = w->rng_prefetch = NULL;
    free(w->exp_quality);
    free(w->exp_output);
    free(w->rule_seg);
    w->exp_quality = w->exp_output = NULL;
    w->rule_seg = NULL;
    simi_arrivals_free(w);
    gsl_rng_free(w->rng_arrivals);
    gsl_rng_free(w->rng_class);
    gsl_rng_free(w->rng_route);
    w->classes = NULL;
    w->class_cum = NULL;
    w->route_cum = NULL;
    w->rng_arrivals = w->rng_class = w->rng_route = NULL;
}

int simi_source_schedule_next(struct sim_world *w)
{
    const struct sim_scenario *sc = w->sc;
    const struct sim_workload_cfg *wl = &sc->workload;
    w->arrival_pending = 0;
    if (sc->max_requests > 0 && w->scheduled + w->turns_scheduled >= sc->max_requests)
        return 0;

    double t;
    if (simi_arrivals_varying(wl)) {
        if (simi_arrivals_next(w, &t) != 0)
            return 0; /* none before duration_s */
    } else {
        switch (wl->process) {
        case SIM_ARRIVAL_POISSON:
            t = w->last_arrival_s + mdl_ran_exponential(w->rng_arrivals, 1.0 / wl->rate_per_s);
            break;
        case SIM_ARRIVAL_GAMMA: {
            double cv2 = wl->cv * wl->cv;
            t = w->last_arrival_s + gsl_ran_gamma(w->rng_arrivals, 1.0 / cv2, cv2 / wl->rate_per_s);
            break;
        }
        case SIM_ARRIVAL_CONSTANT:
            t = (double)(w->scheduled + 1) / wl->rate_per_s;
            break;
        case SIM_ARRIVAL_TRACE:
            if (w->scheduled >= wl->trace.n)
                return 0;
            t = wl->trace.t_s[w->scheduled] / wl->trace_speedup;
            break;
        default:
            LLMSIM_ASSERT(!"unknown arrival process");
            return LLMSIM_ESTATE;
        }
    }
    if (sc->duration_s > 0 && t > sc->duration_s)
        return 0;
    simi_schedule_arrival(w, t, w->scheduled);
    w->scheduled++;
    w->last_arrival_s = t;
    w->arrival_pending = 1;
    return 0;
}

/* round(max(0, x)), capped at the token limit; NaN counts as 0.  x + 0.5
 * is positive here, where the conversion's truncation is floor (without
 * the library call floor costs on every drawn length). */
static uint32_t tokens(double x)
{
    if (!(x > 0))
        return 0;
    if (x > SIM_MAX_TOKENS)
        x = SIM_MAX_TOKENS;
    return (uint32_t)(x + 0.5);
}

/* The output length of a request from its drawn length: the verbosity
 * factor scales it, max_tokens cuts it (setting *cut), and every answer has
 * at least one token. */
static uint32_t out_tokens(const struct sim_output_control_cfg *oc, double drawn, int *cut)
{
    double v = oc->verbosity > 0 ? oc->verbosity : 1.0;
    uint32_t n = tokens(drawn * v);
    if (n < 1)
        n = 1;
    if (oc->max_tokens > 0 && n > oc->max_tokens) {
        n = (uint32_t)oc->max_tokens;
        if (cut != NULL)
            *cut = 1;
    }
    return n;
}

/* out_tokens for request r, flagging it when cut. */
static uint32_t out_len(const struct sim_world *w, struct simi_req *r, double drawn)
{
    int cut = 0;
    uint32_t n = out_tokens(&w->sc->output_control, drawn, &cut);
    if (cut)
        r->flags |= SIM_RF_TRUNCATED;
    return n;
}

/* Fills class, difficulty and lengths of request r. */
static void make_request(struct sim_world *w, struct simi_req *r, uint64_t row)
{
    const struct sim_workload_cfg *wl = &w->sc->workload;
    size_t ci = 0;
    /* One class needs no choice; the class-choice stream is read only
     * here, so skipping its draw moves no other value. */
    if (wl->process != SIM_ARRIVAL_TRACE && w->n_classes > 1)
        ci = pick(w->class_cum, w->n_classes, mdl_rng_uniform(w->rng_class));
    r->class_idx = (int32_t)ci;
    r->difficulty = SIM_DIFF_SIMPLE;
    r->trace_row = SIMI_NONE;
    r->session = SIMI_NONE;
    if (wl->process == SIM_ARRIVAL_TRACE)
        r->trace_row = (uint32_t)row;
    if (w->n_classes == 0) {
        /* A trace without classes: lengths only. */
        r->input_tokens = wl->trace.input_tokens[row];
        r->output_tokens = out_len(w, r, wl->trace.output_tokens[row]);
        return;
    }

    const struct simi_class *k = &w->classes[ci];
    const struct sim_class_cfg *c = k->cfg;
    /* The class's difficulty stream is its own and read only for its
     * difficulty: a class without one draws nothing from it. */
    if (k->has_difficulty)
        r->difficulty = (int32_t)pick(k->difficulty_cum, SIM_N_DIFFICULTY, mdl_rng_uniform(k->rng_difficulty));

    if (wl->process == SIM_ARRIVAL_TRACE) {
        r->input_tokens = wl->trace.input_tokens[row];
        r->output_tokens = out_len(w, r, wl->trace.output_tokens[row]);
        return;
    }
    /* Segments in order.  The stable run from the start is the cacheable
     * prefix; its identity chains segment name, variant and length, so
     * classes that share a system prompt share its cache entries.  A dynamic
     * segment ends the run: nothing after it can hit. */
    uint64_t in = 0, key = 0x6c6c6d73696dULL;
    int stable_run = 1;
    for (size_t s = 0; s < c->n_segments; s++) {
        const struct sim_segment_cfg *g = &c->segments[s];
        uint32_t len;
        if (g->stable) {
            int nv = g->variants > 0 ? g->variants : 1;
            size_t v = nv > 1 ? pick(k->var_cum[s], (size_t)nv, mdl_rng_uniform(k->rng_variants)) : 0;
            len = k->var_len[s][v];
            if (stable_run) {
                key = sim_cache_key(key, name_hash(g->name));
                key = sim_cache_key(key, ((uint64_t)v << 32) | len);
            }
        } else {
            len = tokens(mdl_dist_sample(&g->tokens, k->rng_lengths));
            stable_run = 0;
        }
        in += len;
        if (len > 0 && s < 32)
            r->seg_mask |= 1u << s;
        if (g->stable && stable_run && r->n_pts < SIMI_MAX_PTS) {
            r->pt_key[r->n_pts] = key;
            r->pt_tokens[r->n_pts] = in > UINT32_MAX ? UINT32_MAX : (uint32_t)in;
            r->pt_ttl_s[r->n_pts] = (float)g->cache_ttl_s;
            r->n_pts++;
        }
    }
    r->input_tokens = in > UINT32_MAX ? UINT32_MAX : (uint32_t)in;
    r->output_tokens = out_len(w, r, mdl_dist_sample(&c->output_tokens, k->rng_lengths));
}

static int session_start(struct sim_world *w, struct simi_req *r);

/* What a rules router sees of r's prompt text (stream "features"): its
 * characters and words, drawn from the class's distributions when given,
 * else its tokens times chars_per_token (4) and words_per_token (0.75), and
 * whether it holds a question mark. */
static void draw_features(struct sim_world *w, struct simi_req *r)
{
    /* Only rules read them; their stream is their own, so skipping the
     * draws moves no other. */
    if (w->sc->routing.policy != SIM_ROUTE_RULES)
        return;
    const struct sim_class_cfg *c = w->n_classes ? w->classes[r->class_idx].cfg : NULL;
    double cpt = c && c->chars_per_token > 0 ? c->chars_per_token : 4.0;
    double wpt = c && c->words_per_token > 0 ? c->words_per_token : 0.75;
    double ch = c && c->has_characters ? mdl_dist_sample(&c->characters, w->rng_features) : cpt * r->input_tokens;
    double wo = c && c->has_words ? mdl_dist_sample(&c->words, w->rng_features) : wpt * r->input_tokens;
    double u = mdl_rng_uniform(w->rng_features);
    r->chars = count_of(ch);
    r->words = count_of(wo);
    r->qmark = c != NULL && u < c->question_mark;
}

int simi_source_start(struct sim_world *w)
{
    if (w->sc->workload.process == SIM_ARRIVAL_CLOSED)
        return simi_arrivals_closed_start(w);
    return simi_source_schedule_next(w);
}

int simi_source_arrival(struct sim_world *w, const struct sim_event *ev)
{
    int closed = w->sc->workload.process == SIM_ARRIVAL_CLOSED;
    if (closed)
        simi_arrivals_client_sends(w);
    else
        w->arrival_pending = 0;
    uint32_t q;
    int rc = simi_pool_get(&w->pool, &q);
    if (rc != 0)
        return rc;
    struct simi_req *r = &w->pool.slot[q];
    r->id = w->arrivals++;
    r->arrival_s = w->now_s;
    make_request(w, r, ev->payload);
    if (closed)
        r->client = (uint32_t)ev->payload;
    draw_features(w, r);
    if (w->sc->workload.sessions.enabled && (rc = session_start(w, r)) != 0)
        return rc;
    if ((rc = simi_source_route(w, q)) != 0)
        return rc;
    /* A closed workload's next request waits for this one's answer. */
    return closed ? 0 : simi_source_schedule_next(w);
}

/* Whether rule i holds for request r. */
static int rule_matches(const struct sim_world *w, size_t i, const struct simi_req *r)
{
    const struct sim_route_rule *ru = &w->sc->routing.rules[i];
    if (ru->class_idx >= 0 && ru->class_idx != r->class_idx)
        return 0;
    if ((ru->prompt_tokens_lt > 0 && !(r->input_tokens < ru->prompt_tokens_lt)) ||
        (ru->prompt_tokens_ge > 0 && !(r->input_tokens >= ru->prompt_tokens_ge)) ||
        (ru->chars_lt > 0 && !(r->chars < ru->chars_lt)) || (ru->chars_ge > 0 && !(r->chars >= ru->chars_ge)) ||
        (ru->words_lt > 0 && !(r->words < ru->words_lt)) || (ru->words_ge > 0 && !(r->words >= ru->words_ge)))
        return 0;
    if ((ru->question_mark == 1 && !r->qmark) || (ru->question_mark == 2 && r->qmark))
        return 0;
    size_t nc = w->n_classes ? w->n_classes : 1;
    const int *sg = &w->rule_seg[(i * nc + (size_t)r->class_idx) * 2];
    if (ru->segment[0] && (sg[0] < 0 || !((r->seg_mask >> sg[0]) & 1u)))
        return 0;
    if (ru->no_segment[0] && sg[1] >= 0 && ((r->seg_mask >> sg[1]) & 1u))
        return 0;
    return 1;
}

/* The classifier's truth for r: binary, 1 when only the strong tier
 * answers it (joint table) or, without a table, when it is complex; else
 * its difficulty. */
static int true_label(const struct sim_world *w, const struct simi_req *r)
{
    const struct sim_routing_cfg *rt = &w->sc->routing;
    if (rt->by_difficulty)
        return r->difficulty;
    const struct sim_quality_joint_cfg *j = &w->sc->joint;
    if (j->enabled)
        return r->quality_u >= j->both && r->quality_u < j->both + j->only_strong;
    return r->difficulty == SIM_DIFF_COMPLEX;
}

/* cost_aware: the expected price of r at deployment d (api lines at the
 * request's prompt length and the class's expected output; a self-hosted
 * deployment's GPUs are paid for anyway, so 0). */
static double expected_price(const struct sim_world *w, const struct simi_req *r, int d)
{
    const struct sim_deployment_cfg *dc = &w->sc->deployments[d];
    if (dc->kind != SIM_DEPLOY_API)
        return 0.0;
    int batch = dc->batch_api || (w->n_classes && w->sc->workload.classes[r->class_idx].batch);
    double usd = (r->input_tokens * dc->price.input_per_mtok + w->exp_output[r->class_idx] * dc->price.output_per_mtok) * 1e-6;
    return batch ? usd * (1.0 - dc->price.batch_discount) : usd;
}

/* The deployment a new request goes to. */
static int32_t route_pick(struct sim_world *w, struct simi_req *r)
{
    const struct sim_routing_cfg *rt = &w->sc->routing;
    switch (rt->policy) {
    case SIM_ROUTE_RULES:
        for (size_t i = 0; i < rt->n_rules; i++)
            if (rule_matches(w, i, r))
                return rt->rules[i].to;
        return rt->fallback;
    case SIM_ROUTE_CLASSIFIER: {
        int label = true_label(w, r);
        size_t pred = pick(w->cls_cum[label], (size_t)w->cls_n, mdl_rng_uniform(w->rng_route));
        return w->cls_to[pred];
    }
    case SIM_ROUTE_SPLIT:
        return (int32_t)pick(w->route_cum, w->n_deploy, mdl_rng_uniform(w->rng_route));
    case SIM_ROUTE_CASCADE:
        r->tier_pos = 0;
        return rt->tiers[0];
    case SIM_ROUTE_SPILLOVER:
        /* The first tier under both bounds; the last takes what is left.
         * A request that would wait at a tier counts itself among its
         * waiting: max_queue K on scheduler none is the M/M/c/(c + K) loss
         * system, K = 0 Erlang's. */
        for (size_t i = 0; i + 1 < rt->n_tiers; i++) {
            const struct simi_deploy *d = &w->deploy[rt->tiers[i]];
            int queue_ok = simi_ahead(d) == 0 || (double)d->waiting + 1.0 <= rt->max_queue;
            if (queue_ok && simi_expected_wait_s(w, d) <= rt->max_wait_s) {
                if (i > 0)
                    r->flags |= SIM_RF_SPILLED;
                return rt->tiers[i];
            }
        }
        if (rt->n_tiers > 1)
            r->flags |= SIM_RF_SPILLED;
        return rt->tiers[rt->n_tiers - 1];
    case SIM_ROUTE_COST_AWARE: {
        /* The cheapest tier expected to meet the target (the earlier on a
         * tie); when none does, the best expected quality. */
        int best = -1, best_q = -1;
        double best_usd = INFINITY, top_q = -1, top_usd = INFINITY;
        const double *eq = &w->exp_quality[(size_t)r->class_idx * w->n_deploy];
        for (size_t i = 0; i < rt->n_tiers; i++) {
            int d = rt->tiers[i];
            double usd = expected_price(w, r, d);
            if (eq[d] >= rt->quality_target && usd < best_usd) {
                best = d;
                best_usd = usd;
            }
            if (eq[d] > top_q || (eq[d] == top_q && usd < top_usd)) {
                best_q = d;
                top_q = eq[d];
                top_usd = usd;
            }
        }
        return best >= 0 ? best : best_q;
    }
    case SIM_ROUTE_FIXED:
    default:
        return rt->to;
    }
}

int simi_source_route(struct sim_world *w, uint32_t q)
{
    struct simi_req *r = &w->pool.slot[q];
    if (w->quality_draw)
        r->quality_u = mdl_rng_uniform(w->rng_quality);
    const struct sim_output_control_cfg *oc = &w->sc->output_control;
    if (oc->truncation_penalty > 0 || oc->verbosity_penalty > 0) /* its own stream: skipping moves no other */
        r->penalty_u = mdl_rng_uniform(w->rng_penalty);
    r->tiers = 1;
    if (!(r->user_s > 0))
        r->user_s = r->arrival_s;
    simi_in_system(w, w->now_s, +1);
    r->deployment = route_pick(w, r);
    r->dispatch_s = w->now_s;
    return simi_serve_dispatch(w, q);
}

/* ---- sessions ------------------------------------------------------------ */

/* Sets the request's conversation cache points: the session's stable prefix,
 * then the previous turn's prompt (what the previous turn wrote), then this
 * prompt (what this turn writes), both breakpoints at the session's TTL. */
static void session_points(const struct simi_session *ss, struct simi_req *r, uint64_t prev_prompt)
{
    r->n_pts = 0;
    for (uint32_t i = 0; i < ss->n_stable; i++) {
        r->pt_key[r->n_pts] = ss->st_key[i];
        r->pt_tokens[r->n_pts] = ss->st_tokens[i];
        r->pt_ttl_s[r->n_pts] = ss->st_ttl_s[i];
        r->n_pts++;
    }
    uint32_t last = r->n_pts ? r->pt_tokens[r->n_pts - 1] : 0;
    if (ss->turn >= 2 && prev_prompt > last && prev_prompt <= UINT32_MAX) {
        r->pt_key[r->n_pts] = sim_cache_key(ss->key, ss->turn - 1);
        r->pt_tokens[r->n_pts] = (uint32_t)prev_prompt;
        r->pt_ttl_s[r->n_pts] = ss->bp_ttl_s;
        r->n_pts++;
        last = (uint32_t)prev_prompt;
    }
    if (r->input_tokens > last) {
        r->pt_key[r->n_pts] = sim_cache_key(ss->key, ss->turn);
        r->pt_tokens[r->n_pts] = r->input_tokens;
        r->pt_ttl_s[r->n_pts] = ss->bp_ttl_s;
        r->n_pts++;
    }
}

/* The first turn of a new session: keeps its stable prefix and draws its length. */
static int session_start(struct sim_world *w, struct simi_req *r)
{
    uint32_t x;
    if (w->session_free != SIMI_NONE) {
        x = w->session_free;
        w->session_free = w->sessions[x].next_free;
    } else {
        if (w->n_sessions_used == w->n_sessions_alloc) {
            uint32_t n = w->n_sessions_alloc ? 2 * w->n_sessions_alloc : 256;
            struct simi_session *ns = realloc(w->sessions, (size_t)n * sizeof *ns);
            if (ns == NULL)
                return LLMSIM_ENOMEM;
            w->sessions = ns;
            w->n_sessions_alloc = n;
        }
        x = w->n_sessions_used++;
    }
    struct simi_session *ss = &w->sessions[x];
    memset(ss, 0, sizeof *ss);
    ss->id = w->sessions_started++;
    ss->key = sim_cache_key(0x73657373696f6eULL, ss->id);
    ss->class_idx = (uint32_t)r->class_idx;
    uint32_t turns = tokens(mdl_dist_sample(&w->sc->workload.sessions.turns, w->rng_turns));
    ss->turns = turns > 0 ? turns : 1;
    ss->turn = 1;
    ss->bp_ttl_s = 300.0f;
    /* Keep at most SIMI_MAX_PTS - 2 stable points: two are the conversation's. */
    ss->n_stable = r->n_pts < SIMI_MAX_PTS - 2 ? r->n_pts : SIMI_MAX_PTS - 2;
    for (uint32_t i = 0; i < ss->n_stable; i++) {
        ss->st_key[i] = r->pt_key[i];
        ss->st_tokens[i] = r->pt_tokens[i];
        ss->st_ttl_s[i] = r->pt_ttl_s[i];
        if (r->pt_ttl_s[i] > 0)
            ss->bp_ttl_s = r->pt_ttl_s[i];
    }
    r->session = x;
    r->session_id = ss->id;
    r->turn = 1;
    session_points(ss, r, 0);
    return 0;
}

/* Fills request r as the session's next turn, made now: difficulty, the
 * new message (the class's dynamic segments, drawn anew), the prompt grown
 * by the previous answer and the message, its cache points and text
 * features.  advance: the session moves on to that turn; else r is a
 * prefetched guess that will prove wrong, whose prompt ends in its own
 * content (its last cache point is its own). */
static void fill_turn(struct sim_world *w, uint32_t x, struct simi_req *r, int advance)
{
    struct simi_session *ss = &w->sessions[x];
    const struct simi_class *k = &w->classes[ss->class_idx];
    const struct sim_class_cfg *c = k->cfg;
    r->id = w->arrivals++;
    r->arrival_s = w->now_s;
    r->class_idx = (int32_t)ss->class_idx;
    r->trace_row = SIMI_NONE;
    r->difficulty = k->has_difficulty
                        ? (int32_t)pick(k->difficulty_cum, SIM_N_DIFFICULTY, mdl_rng_uniform(k->rng_difficulty))
                        : SIM_DIFF_SIMPLE; /* no draw without a difficulty, as in make_request */
    uint64_t msg = 0;
    for (size_t s = 0; s < c->n_segments; s++) {
        uint32_t len = 0;
        if (!c->segments[s].stable)
            msg += len = tokens(mdl_dist_sample(&c->segments[s].tokens, k->rng_lengths));
        if ((c->segments[s].stable || len > 0) && s < 32)
            r->seg_mask |= 1u << s;
    }
    uint64_t prev = ss->prompt_tokens;
    uint64_t in = prev + ss->answer_tokens + msg;
    r->input_tokens = in > UINT32_MAX ? UINT32_MAX : (uint32_t)in;
    r->output_tokens = out_len(w, r, mdl_dist_sample(&c->output_tokens, k->rng_lengths));
    ss->turn++;
    r->session = x;
    r->session_id = ss->id;
    r->turn = ss->turn;
    session_points(ss, r, prev);
    if (!advance) {
        uint64_t own = sim_cache_key(ss->key, ss->turn);
        if (r->n_pts > 0 && r->pt_key[r->n_pts - 1] == own)
            r->pt_key[r->n_pts - 1] = sim_cache_key(own, 0x6775657373ULL);
        ss->turn--;
    }
    draw_features(w, r);
}

/* Request r was a session turn: schedules the next one or ends the session. */
static int turn_done(struct sim_world *w, const struct simi_req *r)
{
    if (r->session == SIMI_NONE || (r->flags & SIM_RF_PREFETCH_WASTED))
        return 0; /* a wrong guess: the session goes on without it */
    const struct sim_scenario *sc = w->sc;
    uint32_t x = r->session;
    struct simi_session *ss = &w->sessions[x];
    ss->prompt_tokens = r->input_tokens;
    ss->answer_tokens = r->output_tokens;
    /* The user reads the answer once it is there and they have asked for it. */
    double seen = r->user_s > w->now_s ? r->user_s : w->now_s;
    double t = seen + simi_nonneg(mdl_dist_sample(&sc->workload.sessions.think_time_s, w->rng_think));
    int more = ss->turn < ss->turns && !(r->flags & SIM_RF_REJECTED);
    if (more && sc->duration_s > 0 && t > sc->duration_s)
        more = 0; /* arrivals stop at the horizon */
    if (more && sc->max_requests > 0 && w->scheduled + w->turns_scheduled >= sc->max_requests)
        more = 0;
    if (!more) {
        ss->next_free = w->session_free;
        w->session_free = x;
        return 0;
    }
    w->turns_scheduled++;
    const struct sim_class_cfg *c = w->classes[ss->class_idx].cfg;
    if (c->prefetch) {
        /* Prefetch: when the user has the answer (seen), the client sends
         * its guess of the next turn, during the think time.  Right: it is
         * the next turn, and the user, whose message comes at t, waits only
         * for what is left of it.  Wrong: it is paid for and thrown away,
         * and the real turn comes at t.  The guess goes out through an
         * event (scheduled first, so it precedes a real turn at the same
         * time), never from inside the finish that triggered it. */
        int hit = mdl_rng_uniform(w->rng_prefetch) < c->prefetch_hit;
        ss->pf_user_s = t;
        w->turns_pending++;
        int rc = simi_schedule(w, seen, SIMI_EV_PREFETCH, 0, ((uint64_t)hit << 32) | x);
        if (rc != 0 || hit)
            return rc;
    }
    w->turns_pending++;
    return simi_schedule(w, t, SIMI_EV_TURN, 0, x);
}

/* A request for the session's next turn, made now and routed: the real
 * turn (advance), a right guess or a wrong one (flag), taking the pending
 * count its event held. */
static int issue_turn(struct sim_world *w, uint32_t x, int advance, uint32_t flag)
{
    LLMSIM_ASSERT(w->turns_pending > 0);
    w->turns_pending--;
    uint32_t q;
    int rc = simi_pool_get(&w->pool, &q);
    if (rc != 0)
        return rc;
    struct simi_req *r = &w->pool.slot[q];
    fill_turn(w, x, r, advance);
    r->flags |= flag;
    if (flag == SIM_RF_PREFETCH_HIT)
        r->user_s = w->sessions[x].pf_user_s;
    return simi_source_route(w, q);
}

int simi_source_prefetch(struct sim_world *w, const struct sim_event *ev)
{
    int hit = (int)(ev->payload >> 32);
    return issue_turn(w, (uint32_t)(ev->payload & 0xffffffffu), hit,
                      hit ? SIM_RF_PREFETCH_HIT : SIM_RF_PREFETCH_WASTED);
}

int simi_source_turn(struct sim_world *w, const struct sim_event *ev)
{
    return issue_turn(w, (uint32_t)ev->payload, 1, 0);
}

/* turn_done, out of line: inlined into simi_source_done, its frame would be
 * set up for every request, most of which are in no session. */
__attribute__((noinline)) static int session_done(struct sim_world *w, const struct simi_req *r)
{
    return turn_done(w, r);
}

int simi_source_done(struct sim_world *w, const struct simi_req *r)
{
    if (r->client != SIMI_NONE)
        return simi_arrivals_client_done(w, r);
    /* turn_done's first test, made here too, so those return at once. */
    if (r->session == SIMI_NONE)
        return 0;
    return session_done(w, r);
}
