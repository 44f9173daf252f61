/* Configuration structs: release and enum names; see llmsim/config.h. */
#include "llmsim/config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2 pi, spelled out: M_PI is not part of C11. */
#define TWO_PI 6.283185307179586476925

static void class_free(struct sim_class_cfg *c)
{
    for (size_t i = 0; c->segments != NULL && i < c->n_segments; i++)
        mdl_dist_free(&c->segments[i].tokens);
    free(c->segments);
    mdl_dist_free(&c->output_tokens);
    mdl_dist_free(&c->characters);
    mdl_dist_free(&c->words);
}

static void deployment_free(struct sim_deployment_cfg *d)
{
    mdl_dist_free(&d->api.itl_ms);
    mdl_dist_free(&d->service_time_s);
    mdl_dist_free(&d->batch_completion_s);
    free(d->class_success);
    d->class_success = NULL;
    free(d->disagg);
    d->disagg = NULL;
    free(d->tenant_weights);
    d->tenant_weights = NULL;
    free(d->admission);
    d->admission = NULL;
    free(d->quotas);
    d->quotas = NULL;
}

void sim_scenario_free(struct sim_scenario *s)
{
    if (s == NULL)
        return;
    free(s->description);
    struct sim_workload_cfg *wl = &s->workload;
    for (size_t i = 0; wl->classes != NULL && i < wl->n_classes; i++)
        class_free(&wl->classes[i]);
    free(wl->classes);
    free(wl->trace.t_s);
    free(wl->trace.input_tokens);
    free(wl->trace.output_tokens);
    free(wl->trace.hash_off);
    free(wl->trace.hash_ids);
    mdl_dist_free(&wl->sessions.turns);
    mdl_dist_free(&wl->sessions.think_time_s);
    mdl_dist_free(&wl->closed.think_time_s);
    for (size_t i = 0; s->deployments != NULL && i < s->n_deployments; i++)
        deployment_free(&s->deployments[i]);
    free(s->deployments);
    free(s->routing.weights);
    free(s->routing.rules);
    free(s->output.path);
    for (size_t i = 0; s->sweep != NULL && i < s->n_sweep; i++) {
        for (size_t k = 0; s->sweep[i].values != NULL && k < s->sweep[i].n_values; k++)
            free(s->sweep[i].values[k]);
        free(s->sweep[i].values);
        free(s->sweep[i].key);
    }
    free(s->sweep);
    for (size_t i = 0; s->levers != NULL && i < s->n_levers; i++) {
        for (size_t k = 0; s->levers[i].sets != NULL && k < s->levers[i].n_sets; k++) {
            free(s->levers[i].sets[k].key);
            free(s->levers[i].sets[k].value);
        }
        free(s->levers[i].sets);
        free(s->levers[i].name);
    }
    free(s->levers);
    memset(s, 0, sizeof *s);
}

void sim_deployment_kv_budget(const struct sim_deployment_cfg *d, struct mdl_kv_budget *out)
{
    const struct mdl_roofline *m = &d->roofline;
    double extra_w = 0.0, extra_kv = 0.0;
    if (d->spec.enabled) {
        /* The draft model's weights and its own KV cache share the GPUs. */
        const struct mdl_llm *dr = &d->spec.draft;
        extra_w = mdl_llm_weight_bytes(dr, m->weights);
        double rep = d->tp > dr->kv_heads && dr->kv_heads > 0 ? (double)d->tp / dr->kv_heads : 1.0;
        extra_kv = rep * mdl_llm_kv_bytes_per_token(dr, m->kv);
    }
    mdl_kv_budget(m, d->gpu_memory_utilization, d->max_batched_tokens, d->max_batch, d->block_tokens, extra_w,
                  extra_kv, out);
}

const char *sim_arrival_process_name(enum sim_arrival_process p)
{
    switch (p) {
    case SIM_ARRIVAL_POISSON:
        return "poisson";
    case SIM_ARRIVAL_GAMMA:
        return "gamma";
    case SIM_ARRIVAL_CONSTANT:
        return "constant";
    case SIM_ARRIVAL_TRACE:
        return "trace";
    case SIM_ARRIVAL_DIURNAL:
        return "diurnal";
    case SIM_ARRIVAL_CLOSED:
        return "closed";
    }
    return NULL;
}

double sim_diurnal_rate(const struct sim_diurnal_cfg *d, double h)
{
    double day_h = fmod(h, 24.0);
    int hour = (int)floor(h);
    if (hour < 0)
        hour = 0;
    if (hour >= SIM_HOURS_PER_WEEK)
        hour = SIM_HOURS_PER_WEEK - 1;
    double rate;
    if (d->shape == SIM_DIURNAL_SINE) {
        /* A raised cosine: the peak at peak_hour, the trough 12 hours
         * away, symmetric, continuous across midnight. */
        double phase = TWO_PI * (day_h - d->peak_hour) / 24.0;
        rate = d->trough_per_s + (d->peak_per_s - d->trough_per_s) * 0.5 * (1.0 + cos(phase));
    } else {
        rate = d->hourly_per_s[d->n_hours == SIM_HOURS_PER_WEEK ? hour : hour % 24];
    }
    if (d->has_weekly)
        rate *= d->weekly[hour / 24];
    return rate;
}

double sim_workload_mean_rate(const struct sim_workload_cfg *w)
{
    double rate;
    switch (w->process) {
    case SIM_ARRIVAL_POISSON:
    case SIM_ARRIVAL_GAMMA:
    case SIM_ARRIVAL_CONSTANT:
        rate = w->rate_per_s;
        break;
    case SIM_ARRIVAL_DIURNAL: {
        const struct sim_diurnal_cfg *d = &w->diurnal;
        double day;
        if (d->shape == SIM_DIURNAL_SINE) {
            day = 0.5 * (d->peak_per_s + d->trough_per_s); /* the cosine averages to 0 over a day */
        } else {
            day = 0;
            for (int i = 0; i < d->n_hours; i++)
                day += d->hourly_per_s[i];
            day /= d->n_hours > 0 ? d->n_hours : 1;
        }
        double week = 1.0;
        if (d->has_weekly && d->n_hours != SIM_HOURS_PER_WEEK) {
            week = 0;
            for (int i = 0; i < 7; i++)
                week += d->weekly[i];
            week /= 7.0;
        } else if (d->has_weekly) {
            /* A week's table with multipliers (not accepted by the loader,
             * possible from C): the exact mean. */
            day = 0;
            for (int i = 0; i < SIM_HOURS_PER_WEEK; i++)
                day += d->hourly_per_s[i] * d->weekly[i / 24];
            day /= SIM_HOURS_PER_WEEK;
        }
        rate = day * week;
        break;
    }
    case SIM_ARRIVAL_CLOSED: {
        double z = mdl_dist_mean(&w->closed.think_time_s);
        return z > 0 ? (double)w->closed.clients / z : INFINITY;
    }
    case SIM_ARRIVAL_TRACE:
    default:
        return NAN;
    }
    if (w->mmpp.enabled) {
        double t0 = w->mmpp.mean_sojourn_s[0], t1 = w->mmpp.mean_sojourn_s[1];
        rate *= (t0 * w->mmpp.multiplier[0] + t1 * w->mmpp.multiplier[1]) / (t0 + t1);
    }
    return rate;
}

const char *sim_deploy_kind_name(enum sim_deploy_kind k)
{
    switch (k) {
    case SIM_DEPLOY_API:
        return "api";
    case SIM_DEPLOY_SELF_HOSTED:
        return "self-hosted";
    }
    return NULL;
}

const char *sim_replica_routing_name(enum sim_replica_routing r)
{
    switch (r) {
    case SIM_RR_ROUND_ROBIN:
        return "round_robin";
    case SIM_RR_RANDOM:
        return "random";
    case SIM_RR_LEAST_LOADED:
        return "least_loaded";
    case SIM_RR_POWER_OF_TWO:
        return "power_of_two";
    case SIM_RR_LEAST_KV:
        return "least_kv";
    case SIM_RR_PREFIX_AFFINITY:
        return "prefix_affinity";
    }
    return NULL;
}

const char *sim_difficulty_name(enum sim_difficulty d)
{
    switch (d) {
    case SIM_DIFF_SIMPLE:
        return "simple";
    case SIM_DIFF_MODERATE:
        return "moderate";
    case SIM_DIFF_COMPLEX:
        return "complex";
    }
    return NULL;
}

const char *sim_sched_policy_name(enum sim_sched_policy p)
{
    switch (p) {
    case SIM_SCHED_NONE:
        return "none";
    case SIM_SCHED_STATIC:
        return "static";
    case SIM_SCHED_DYNAMIC:
        return "dynamic";
    case SIM_SCHED_CONTINUOUS:
        return "continuous";
    }
    return NULL;
}

const char *sim_autoscale_policy_name(enum sim_autoscale_policy p)
{
    switch (p) {
    case SIM_AS_UTILIZATION:
        return "utilization";
    case SIM_AS_QUEUE:
        return "queue";
    case SIM_AS_KV:
        return "kv";
    case SIM_AS_SLO:
        return "slo";
    }
    return NULL;
}
const char *sim_queue_order_name(enum sim_queue_order o)
{
    switch (o) {
    case SIM_ORDER_FIFO:
        return "fifo";
    case SIM_ORDER_PRIORITY:
        return "priority";
    case SIM_ORDER_FAIR:
        return "fair";
    }
    return NULL;
}

const char *sim_class_tenant(const struct sim_class_cfg *c)
{
    return c->tenant[0] ? c->tenant : c->name;
}

size_t sim_workload_tenants(const struct sim_workload_cfg *w, int *idx)
{
    size_t n = 0;
    for (size_t c = 0; c < w->n_classes; c++) {
        const char *t = sim_class_tenant(&w->classes[c]);
        size_t j = 0;
        while (j < c && strcmp(sim_class_tenant(&w->classes[j]), t) != 0)
            j++;
        idx[c] = j < c ? idx[j] : (int)n++;
    }
    return n;
}

size_t sim_workload_tiers(const struct sim_workload_cfg *w, int *idx)
{
    /* Tier number = how many distinct priorities are larger. */
    size_t n = 0;
    for (size_t c = 0; c < w->n_classes; c++) {
        int p = w->classes[c].priority, above = 0, seen = 0;
        for (size_t j = 0; j < w->n_classes; j++) {
            int q = w->classes[j].priority;
            int first = 1; /* count each distinct priority once */
            for (size_t k = 0; k < j; k++)
                if (w->classes[k].priority == q)
                    first = 0;
            above += first && q > p;
            seen |= j < c && q == p;
        }
        idx[c] = above;
        n += !seen;
    }
    return n;
}

int sim_workload_has_tenants(const struct sim_workload_cfg *w)
{
    for (size_t c = 0; c < w->n_classes; c++)
        if (w->classes[c].tenant[0])
            return 1;
    return 0;
}

int sim_workload_has_tiers(const struct sim_workload_cfg *w)
{
    for (size_t c = 0; c < w->n_classes; c++)
        if (w->classes[c].priority != 0)
            return 1;
    return 0;
}

double sim_tenant_weight(const struct sim_deployment_cfg *d, const char *name)
{
    for (size_t i = 0; i < d->n_tenant_weights; i++)
        if (strcmp(d->tenant_weights[i].tenant, name) == 0)
            return d->tenant_weights[i].weight;
    return 1.0;
}
