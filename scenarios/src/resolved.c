/* The resolved scenario as YAML: every key with its effective value
 * (defaults applied, catalog entries copied in, overrides applied), in the
 * scenario format itself, so it can be loaded again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"

/* Writes a YAML double-quoted string. */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void put_num(FILE *f, double v)
{
    fprintf(f, "%.17g", v);
}

static void put_dist(FILE *f, const struct mdl_dist *d)
{
    if (d->kind == MDL_DIST_CONSTANT && isinf(d->max) && (isinf(d->min) || d->min <= d->mean)) {
        put_num(f, d->mean);
        return;
    }
    fprintf(f, "{dist: %s", mdl_dist_kind_name(d->kind));
    switch (d->kind) {
    case MDL_DIST_LOGNORMAL:
    case MDL_DIST_GAMMA:
    case MDL_DIST_NORMAL:
        fputs(", mean: ", f);
        put_num(f, d->mean);
        fputs(", sd: ", f);
        put_num(f, d->sd);
        break;
    case MDL_DIST_UNIFORM:
    case MDL_DIST_EMPIRICAL:
        break;
    default:
        fputs(", mean: ", f);
        put_num(f, d->mean);
    }
    if (d->kind == MDL_DIST_EMPIRICAL) {
        fputs(", values: [", f);
        for (size_t i = 0; i < d->n; i++) {
            if (i)
                fputs(", ", f);
            put_num(f, d->values[i]);
        }
        fputs("], weights: [", f);
        for (size_t i = 0; i < d->n; i++) {
            if (i)
                fputs(", ", f);
            put_num(f, d->cumw[i] - (i ? d->cumw[i - 1] : 0.0));
        }
        fputs("]", f);
    }
    if (isfinite(d->min)) {
        fputs(", min: ", f);
        put_num(f, d->min);
    }
    if (isfinite(d->max)) {
        fputs(", max: ", f);
        put_num(f, d->max);
    }
    fputs("}", f);
}

static void put_nums(FILE *f, const double *x, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        put_num(f, x[i]);
    }
    fputc(']', f);
}

/* workload.arrivals with the keys of its process. */
static void put_arrivals(FILE *f, const struct sim_workload_cfg *w)
{
    fprintf(f, "  arrivals: {process: %s", sim_arrival_process_name(w->process));
    if (w->process == SIM_ARRIVAL_POISSON || w->process == SIM_ARRIVAL_GAMMA || w->process == SIM_ARRIVAL_CONSTANT)
        fprintf(f, ", rate_per_s: %.17g", w->rate_per_s);
    if (w->process == SIM_ARRIVAL_GAMMA)
        fprintf(f, ", cv: %.17g", w->cv);
    if (w->process == SIM_ARRIVAL_DIURNAL) {
        const struct sim_diurnal_cfg *d = &w->diurnal;
        fputs(",\n    profile: {", f);
        if (d->shape == SIM_DIURNAL_SINE) {
            fprintf(f, "peak_per_s: %.17g, trough_per_s: %.17g, peak_hour: %.17g", d->peak_per_s, d->trough_per_s,
                    d->peak_hour);
        } else {
            fputs("hourly_per_s: ", f);
            put_nums(f, d->hourly_per_s, (size_t)d->n_hours);
        }
        if (d->has_weekly) {
            fputs(", weekly: ", f);
            put_nums(f, d->weekly, 7);
        }
        fprintf(f, ", start_hour: %.17g", d->start_hour);
        if (d->has_weekly || d->n_hours == SIM_HOURS_PER_WEEK)
            fprintf(f, ", start_day: %d", d->start_day);
        fputc('}', f);
    }
    if (w->process == SIM_ARRIVAL_CLOSED) {
        fprintf(f, ", clients: %d, think_time_s: ", w->closed.clients);
        put_dist(f, &w->closed.think_time_s);
    }
    if (w->mmpp.enabled) {
        fputs(",\n    mmpp: {multipliers: ", f);
        put_nums(f, w->mmpp.multiplier, 2);
        fputs(", mean_sojourn_s: ", f);
        put_nums(f, w->mmpp.mean_sojourn_s, 2);
        fputc('}', f);
    }
    if (w->n_spikes > 0) {
        fputs(",\n    spikes: [", f);
        for (size_t i = 0; i < w->n_spikes; i++)
            fprintf(f, "%s{at_s: %.17g, duration_s: %.17g, multiplier: %.17g}", i ? ", " : "", w->spikes[i].at_s,
                    w->spikes[i].duration_s, w->spikes[i].multiplier);
        fputc(']', f);
    }
    fputs("}\n", f);
}

static void put_llm(FILE *f, const char *prefix, const struct mdl_llm *m)
{
    fputs(prefix, f);
    fputs("{id: ", f);
    put_str(f, m->id);
    fprintf(f, ", layers: %d, hidden: %d, intermediate: %d, heads: %d, kv_heads: %d, head_dim: %d, "
               "vocab: %d, params_b: %.17g, active_params_b: %.17g, experts: %d, experts_per_token: %d, "
               "kv_bytes_per_token: %.17g, tied_embeddings: %s}\n",
            m->layers, m->hidden, m->intermediate, m->heads, m->kv_heads, m->head_dim, m->vocab,
            m->params_b, m->active_params_b, m->experts, m->experts_per_token,
            m->kv_bytes_per_token_override, m->tied_embeddings ? "true" : "false");
}

static void put_tiers(FILE *f, const struct sim_scenario *s)
{
    fputs("tiers: [", f);
    for (size_t i = 0; i < s->routing.n_tiers; i++) {
        if (i)
            fputs(", ", f);
        put_str(f, s->deployments[s->routing.tiers[i]].name);
    }
    fputs("]", f);
}

static void put_rule(FILE *f, const struct sim_scenario *s, const struct sim_route_rule *ru)
{
    fputs("    - {when: {", f);
    const char *sep = "";
    if (ru->class_idx >= 0) {
        fputs("class: ", f);
        put_str(f, s->workload.classes[ru->class_idx].name);
        sep = ", ";
    }
    const struct {
        const char *name;
        double v;
    } num[] = {{"prompt_tokens_lt", ru->prompt_tokens_lt}, {"prompt_tokens_ge", ru->prompt_tokens_ge},
               {"prompt_chars_lt", ru->chars_lt},          {"prompt_chars_ge", ru->chars_ge},
               {"words_lt", ru->words_lt},                 {"words_ge", ru->words_ge}};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (num[i].v > 0) {
            fprintf(f, "%s%s: %.17g", sep, num[i].name, num[i].v);
            sep = ", ";
        }
    if (ru->question_mark) {
        fprintf(f, "%squestion_mark: %s", sep, ru->question_mark == 1 ? "true" : "false");
        sep = ", ";
    }
    if (ru->segment[0]) {
        fprintf(f, "%ssegment: ", sep);
        put_str(f, ru->segment);
        sep = ", ";
    }
    if (ru->no_segment[0]) {
        fprintf(f, "%sno_segment: ", sep);
        put_str(f, ru->no_segment);
    }
    fputs("}, to: ", f);
    put_str(f, s->deployments[ru->to].name);
    fputs("}\n", f);
}

static void put_routing(FILE *f, const struct sim_scenario *s)
{
    const struct sim_routing_cfg *rt = &s->routing;
    switch (rt->policy) {
    case SIM_ROUTE_RULES:
        fputs("routing:\n  policy: rules\n  rules:\n", f);
        for (size_t i = 0; i < rt->n_rules; i++)
            put_rule(f, s, &rt->rules[i]);
        fputs("  default: ", f);
        put_str(f, s->deployments[rt->fallback].name);
        fputs("\n", f);
        return;
    case SIM_ROUTE_CLASSIFIER:
        if (rt->by_difficulty) {
            fputs("routing: {policy: classifier, by_difficulty: {simple: ", f);
            put_str(f, s->deployments[rt->label_to[0]].name);
            fputs(", moderate: ", f);
            put_str(f, s->deployments[rt->label_to[1]].name);
            fputs(", complex: ", f);
            put_str(f, s->deployments[rt->label_to[2]].name);
            fputs("}", f);
        } else {
            fputs("routing: {policy: classifier, strong: ", f);
            put_str(f, s->deployments[rt->strong].name);
            fputs(", weak: ", f);
            put_str(f, s->deployments[rt->weak].name);
        }
        fputs(", confusion: [", f);
        for (int a = 0; a < rt->n_labels; a++) {
            fputs(a ? ", [" : "[", f);
            for (int b = 0; b < rt->n_labels; b++)
                fprintf(f, "%s%.17g", b ? ", " : "", rt->confusion[a][b]);
            fputs("]", f);
        }
        fputs("]}\n", f);
        return;
    case SIM_ROUTE_CASCADE:
        fputs("routing: {policy: cascade, ", f);
        put_tiers(f, s);
        fprintf(f, ", detect: %.17g, false_alarm: %.17g}\n", rt->detect, rt->false_alarm);
        return;
    case SIM_ROUTE_SPILLOVER:
        fputs("routing: {policy: spillover, ", f);
        put_tiers(f, s);
        if (isfinite(rt->max_queue))
            fprintf(f, ", max_queue: %.17g", rt->max_queue);
        if (isfinite(rt->max_wait_s))
            fprintf(f, ", max_wait_s: %.17g", rt->max_wait_s);
        fputs("}\n", f);
        return;
    case SIM_ROUTE_COST_AWARE:
        fputs("routing: {policy: cost_aware, ", f);
        put_tiers(f, s);
        fprintf(f, ", quality_target: %.17g}\n", rt->quality_target);
        return;
    case SIM_ROUTE_FIXED:
        fputs("routing: {policy: fixed, to: ", f);
        put_str(f, s->deployments[rt->to].name);
        fputs("}\n", f);
        return;
    case SIM_ROUTE_SPLIT:
    default:
        fputs("routing: {policy: split, weights: {", f);
        for (size_t i = 0; i < s->n_deployments; i++) {
            if (i)
                fputs(", ", f);
            put_str(f, s->deployments[i].name);
            fprintf(f, ": %.17g", rt->weights[i]);
        }
        fputs("}}\n", f);
        return;
    }
}

/* A GPU as an inline mapping after `lead` (every figure, so that the
 * resolved scenario needs no catalog). */
static void put_gpu(FILE *f, const char *lead, const struct mdl_gpu *g)
{
    fputs(lead, f);
    fputs("{id: ", f);
    put_str(f, g->id);
    fprintf(f, ", bf16_tflops: %.17g, fp8_tflops: %.17g, memory_gib: %.17g, bandwidth_gbs: %.17g, "
               "link_gbs: %.17g, hour_usd: %.17g",
            g->bf16_tflops, g->fp8_tflops, g->memory_gib, g->bandwidth_gbs, g->link_gbs, g->hour_usd);
    if (g->mfu > 0)
        fprintf(f, ", mfu: %.17g", g->mfu);
    if (g->mbu > 0)
        fprintf(f, ", mbu: %.17g", g->mbu);
    if (g->gemm_half_tokens > 0)
        fprintf(f, ", gemm_half_tokens: %.17g", g->gemm_half_tokens);
    if (g->allreduce_latency_us > 0)
        fprintf(f, ", allreduce_latency_us: %.17g", g->allreduce_latency_us);
    if (g->link_efficiency > 0)
        fprintf(f, ", link_efficiency: %.17g", g->link_efficiency);
    if (g->layer_overhead_us > 0)
        fprintf(f, ", layer_overhead_us: %.17g", g->layer_overhead_us);
    if (g->idle_w > 0)
        fprintf(f, ", idle_w: %.17g", g->idle_w);
    if (g->max_w > 0)
        fprintf(f, ", max_w: %.17g", g->max_w);
    fputs("}", f);
}

/* The pools of a disaggregated deployment: each with its own figures (the
 * decode pool's are the deployment's), and the link. */
static void put_disagg(FILE *f, const struct sim_deployment_cfg *d)
{
    const struct sim_disagg_cfg *g = d->disagg;
    fputs("    disaggregated:\n", f);
    const struct sim_deployment_cfg *pool[2] = {&g->prefill, d};
    static const char *const name[2] = {"prefill", "decode"};
    for (int i = 0; i < 2; i++) {
        const struct sim_deployment_cfg *p = pool[i];
        fprintf(f, "      %s:\n", name[i]);
        if (p->has_gpu) {
            put_gpu(f, "        gpu: ", &p->roofline.gpu);
            fputs("\n", f);
        }
        fprintf(f, "        tp: %d\n        replicas: %d\n        gpu_hour_usd: %.17g\n"
                   "        gpu_memory_utilization: %.17g\n        max_batch: %d\n",
                p->tp, p->replicas, p->gpu_hour_usd, p->gpu_memory_utilization, p->max_batch);
        if (isfinite(p->max_batched_tokens))
            fprintf(f, "        max_batched_tokens: %.17g\n", p->max_batched_tokens);
        if (p->has_gpu && p->has_llm)
            fprintf(f, "        # KV budget per replica: %.0f tokens\n",
                    p->kv_capacity_tokens > 0 ? p->kv_capacity_tokens : p->kv_budget.tokens);
    }
    fprintf(f, "      link: {bandwidth_gbs: %.17g, latency_us: %.17g}\n", g->link_bytes_per_s / 1e9,
            g->link_latency_s * 1e6);
    fprintf(f, "      # KV cache moved per prompt token: %.17g bytes\n", g->kv_bytes_per_token);
}

/* The body of a rate_limits or quotas mapping, closing brace included. */
static void put_limits(FILE *f, double rpm, double ipm, double opm, double backoff_s, int client_queue)
{
    if (rpm > 0)
        fprintf(f, "requests_per_min: %.17g, ", rpm);
    if (ipm > 0)
        fprintf(f, "input_tokens_per_min: %.17g, ", ipm);
    if (opm > 0)
        fprintf(f, "output_tokens_per_min: %.17g, ", opm);
    fprintf(f, "backoff_s: %.17g, on_limit: %s}\n", backoff_s, client_queue ? "queue" : "retry");
}

/* The rest of the scheduler mapping: the queue order (left out when it is
 * fifo, the default) and the fair order's weights; then the admission rules. */
static void put_order(FILE *f, const struct sim_deployment_cfg *d)
{
    if (d->order != SIM_ORDER_FIFO)
        fprintf(f, ", order: %s", sim_queue_order_name(d->order));
    if (d->order == SIM_ORDER_FAIR) {
        fprintf(f, ", w_in: %.17g, w_out: %.17g", d->fair_w_in, d->fair_w_out);
        for (size_t i = 0; i < d->n_tenant_weights; i++) {
            fputs(i ? ", " : ", weights: {", f);
            put_str(f, d->tenant_weights[i].tenant);
            fprintf(f, ": %.17g", d->tenant_weights[i].weight);
        }
        if (d->n_tenant_weights > 0)
            fputs("}", f);
    }
    fputs("}\n", f);
    for (size_t i = 0; i < d->n_admission; i++) {
        const struct sim_admission_cfg *a = &d->admission[i];
        fprintf(f, "%s{tier: %d", i ? "      - " : "    admission:\n      - ", a->tier);
        if (isfinite(a->max_queue))
            fprintf(f, ", max_queue: %.17g", a->max_queue);
        if (isfinite(a->max_wait_s))
            fprintf(f, ", max_wait_s: %.17g", a->max_wait_s);
        fprintf(f, ", action: %s}\n", a->defer ? "defer" : "reject");
    }
    for (size_t i = 0; i < d->n_quotas; i++) {
        const struct sim_quota_cfg *q = &d->quotas[i];
        fputs(i ? "      - {tenant: " : "    quotas:\n      - {tenant: ", f);
        put_str(f, q->tenant);
        fputs(", ", f);
        put_limits(f, q->requests_per_min, q->input_tokens_per_min, q->output_tokens_per_min, q->backoff_s,
                   q->client_queue);
    }
}

static void put_deployment(FILE *f, const struct sim_deployment_cfg *d)
{
    fputs("  - name: ", f);
    put_str(f, d->name);
    fprintf(f, "\n    kind: %s\n", sim_deploy_kind_name(d->kind));
    if (d->model[0] && !d->has_llm) {
        fputs("    model: ", f);
        put_str(f, d->model);
        fputs("\n", f);
    }
    if (d->kind == SIM_DEPLOY_API) {
        const struct mdl_price *p = &d->price;
        fputs("    price: {", f);
        fprintf(f, "input_per_mtok: %.17g, output_per_mtok: %.17g, cache_write_5m_mult: %.17g, "
                   "cache_write_1h_mult: %.17g, cache_read_mult: %.17g, cache_storage_per_mtok_hour: %.17g, "
                   "min_cache_tokens: %.17g, batch_discount: %.17g",
                p->input_per_mtok, p->output_per_mtok, p->cache_write_5m_mult, p->cache_write_1h_mult,
                p->cache_read_mult, p->cache_storage_per_mtok_hour, p->min_cache_tokens, p->batch_discount);
        if (p->long_context_above_tokens > 0)
            fprintf(f, ", long_context_above_tokens: %.17g, long_input_per_mtok: %.17g, "
                       "long_output_per_mtok: %.17g",
                    p->long_context_above_tokens, p->long_input_per_mtok, p->long_output_per_mtok);
        fputs("}\n", f);
        if (d->cache.enabled) {
            static const char *const sem[] = {"anthropic", "openai", "gemini", "ideal"};
            const struct sim_prompt_cache_cfg *pc = &d->cache;
            fprintf(f, "    prompt_cache: {enabled: true, semantics: %s", sem[pc->semantics]);
            if (pc->ttl_s > 0)
                fprintf(f, ", ttl_s: %.17g", pc->ttl_s);
            if (isfinite(pc->capacity_tokens))
                fprintf(f, ", capacity_tokens: %.17g", pc->capacity_tokens);
            fprintf(f, ", min_tokens: %.17g, shards: %d, shard_by: %s}\n", pc->min_tokens, pc->shards,
                    pc->shard_by_prefix ? "prefix_hash" : "random");
        }
        if (d->batch_api) {
            fputs("    batch: {completion_s: ", f);
            put_dist(f, &d->batch_completion_s);
            fputs("}\n", f);
        }
        if (d->rl_requests_per_min > 0 || d->rl_input_tokens_per_min > 0 || d->rl_output_tokens_per_min > 0) {
            fputs("    rate_limits: {", f);
            put_limits(f, d->rl_requests_per_min, d->rl_input_tokens_per_min, d->rl_output_tokens_per_min,
                       d->rl_backoff_s, d->rl_client_queue);
        }
        fputs("    # price source: ", f);
        fprintf(f, "%s, %s\n", p->source, p->date);
        /* (Whether figures were given is not said: every figure is given
         * below, so the text would change on a round trip.) */
        const struct mdl_api_profile *prof =
            d->api_profile[0] ? scn_api_profile_lookup(d->api_profile, NULL) : NULL;
        if (prof)
            fprintf(f, "    # latency: measured profile %s: %s, %s\n", prof->id, prof->source,
                    prof->date);
        fputs("    latency: {model: api, ", f);
        if (d->api_profile[0]) {
            fputs("profile: ", f);
            put_str(f, d->api_profile);
            fputs(", ", f);
        }
        fprintf(f, "network_ms: %.17g, ttft_base_ms: %.17g, "
                   "prefill_tokens_per_s: %.17g, cached_prefill_tokens_per_s: %.17g, itl_ms: ",
                d->api.network_ms, d->api.ttft_base_ms, d->api.prefill_tokens_per_s,
                d->api.cached_prefill_tokens_per_s);
        put_dist(f, &d->api.itl_ms);
        fputs("}\n", f);
        return;
    }
    if (d->has_gpu) {
        put_gpu(f, "    gpu: ", &d->roofline.gpu);
        fputs("\n", f);
    }
    if (d->has_llm)
        put_llm(f, "    model: ", &d->roofline.llm);
    if (d->latency_kind == MDL_LAT_SERVICE_TIME) {
        fputs("    latency: {model: service_time, service_time_s: ", f);
        put_dist(f, &d->service_time_s);
        fputs("}\n", f);
    } else if (d->latency_kind == MDL_LAT_LINEAR) {
        const struct mdl_linear_latency *l = &d->linear;
        fprintf(f, "    latency: {model: linear, prefill_s: {a: %.17g, b: %.17g, c: %.17g}, "
                   "decode_step_s: {a: %.17g, b_batch: %.17g, c_context: %.17g}}\n",
                l->prefill_a_s, l->prefill_b_s, l->prefill_c_s, l->decode_a_s, l->decode_b_batch_s,
                l->decode_c_context_s);
    } else {
        const struct mdl_roofline *r = &d->roofline;
        /* Every parameter, so that the resolved scenario reloads to itself
         * without the calibration file.  Values stored in other units print
         * with 15 digits, which survive the conversion back (17 would carry
         * its rounding into the next reload). */
        if (d->calibration[0] != '\0') {
            fputs("    # calibration applied: ", f);
            put_str(f, d->calibration);
            fputs("\n", f);
        }
        fputs("    latency: {model: roofline", f);
        for (int i = 0; i < MDL_N_PARAMS; i++) {
            const struct mdl_param_desc *p = &mdl_roofline_params[i];
            fprintf(f, p->scale == 1.0 ? ", %s: %.17g" : ", %s: %.15g", p->name,
                    mdl_roofline_param_get(r, i) * p->scale);
        }
        fputs("}\n", f);
    }
    fprintf(f, "    engine: %s\n", mdl_engine_name(d->engine));
    if (d->has_gpu && d->has_llm) {
        const struct mdl_kv_budget *k = &d->kv_budget;
        fprintf(f, "    # KV budget per GPU (%s): %.2f GiB x %.2f = %.2f GiB; weights %.2f, activations %.2f, "
                   "non-torch %.2f, CUDA graphs %.2f -> KV %.2f GiB = %.0f blocks of %d tokens = %.0f tokens%s\n",
                mdl_engine_name(d->engine), k->total_bytes / MDL_GIB, d->gpu_memory_utilization,
                k->usable_bytes / MDL_GIB, k->weight_bytes / MDL_GIB, k->activation_bytes / MDL_GIB,
                k->non_torch_bytes / MDL_GIB, k->cuda_graph_bytes / MDL_GIB, k->kv_bytes / MDL_GIB, k->blocks,
                d->block_tokens, k->tokens, d->kv_capacity_tokens > 0 ? " (overridden by kv_capacity_tokens)" : "");
    }
    fprintf(f, "    replicas: %d\n    tp: %d\n    gpu_hour_usd: %.17g\n", d->replicas, d->tp, d->gpu_hour_usd);
    if (d->autoscale.enabled) {
        const struct sim_autoscale_cfg *as = &d->autoscale;
        static const char *const target_key[] = {"target_utilization", "target_queue", "target_kv", "target_ttft_ms"};
        fprintf(f, "    # autoscale: replicas above is the count at time 0; scale-up delay %.6g s\n", as->delay_s);
        fprintf(f, "    autoscale: {min: %d, max: %d, policy: %s, %s: %.17g, interval_s: %.17g, tolerance: %.17g, "
                   "scale_in_cooldown_s: %.17g, ",
                as->min, as->max, sim_autoscale_policy_name(as->policy), target_key[as->policy],
                as->policy == SIM_AS_SLO ? as->target * 1e3 : as->target, as->interval_s, as->tolerance,
                as->scale_in_cooldown_s);
        if (as->cold_start_s >= 0)
            fprintf(f, "cold_start_s: %.17g}\n", as->cold_start_s);
        else
            fprintf(f, "provision_s: %.17g, load_bandwidth_gbs: %.17g, weights_gb: %.17g}\n", as->provision_s,
                    as->load_bandwidth_gbs, as->weights_gb);
    }
    if (d->spot.enabled) {
        const struct sim_spot_cfg *sp = &d->spot;
        fprintf(f, "    # spot: replicas %d to %d, billed at %.6g $/GPU-h; replacement delay %.6g s\n",
                d->replicas - sp->n_spot, d->replicas - 1, d->gpu_hour_usd * (1.0 - sp->discount), sp->delay_s);
        fprintf(f, "    spot: {share: %.17g, discount: %.17g, rate_per_h: %.17g, acquire_s: %.17g, ", sp->share,
                sp->discount, sp->rate_per_h, sp->acquire_s);
        if (sp->cold_start_s >= 0)
            fprintf(f, "cold_start_s: %.17g", sp->cold_start_s);
        else
            fprintf(f, "provision_s: %.17g, load_bandwidth_gbs: %.17g, weights_gb: %.17g", sp->provision_s,
                    sp->load_bandwidth_gbs, sp->weights_gb);
        if (sp->n_trace > 0) {
            fprintf(f, ", interruptions: [");
            for (int i = 0; i < sp->n_trace; i++)
                fprintf(f, "%s{t_s: %.17g, replica: %d}", i ? ", " : "", sp->trace[i].t_s, sp->trace[i].replica);
            fprintf(f, "]");
        }
        fprintf(f, "}\n");
    }
    if (d->has_llm)
        fprintf(f, "    weights_dtype: %s\n    kv_dtype: %s\n", mdl_dtype_name(d->roofline.weights),
                mdl_dtype_name(d->roofline.kv));
    fprintf(f, "    gpu_memory_utilization: %.17g\n", d->gpu_memory_utilization);
    if (d->kv_capacity_tokens > 0)
        fprintf(f, "    kv_capacity_tokens: %.17g\n", d->kv_capacity_tokens);
    fprintf(f, "    kv_block_tokens: %d\n", d->block_tokens);
    if (d->prefix_cache || d->scheduler == SIM_SCHED_CONTINUOUS)
        fprintf(f, "    prefix_cache: {enabled: %s}\n", d->prefix_cache ? "true" : "false");
    switch (d->scheduler) {
    case SIM_SCHED_NONE:
        fputs("    scheduler: {policy: none", f);
        break;
    case SIM_SCHED_STATIC:
        fprintf(f, "    scheduler: {policy: static, max_batch: %d", d->max_batch);
        break;
    case SIM_SCHED_DYNAMIC:
        fprintf(f, "    scheduler: {policy: dynamic, max_batch: %d, max_wait_ms: %.15g", d->max_batch,
                d->max_wait_s * 1e3);
        break;
    case SIM_SCHED_CONTINUOUS:
        /* An unlimited budget (vllm-v0 without chunked prefill) is the
         * engine's default and has no value to write: it is left out. */
        fprintf(f, "    scheduler: {policy: continuous, max_batch: %d, ", d->max_batch);
        if (isfinite(d->max_batched_tokens))
            fprintf(f, "max_batched_tokens: %.17g, ", d->max_batched_tokens);
        fprintf(f, "chunked_prefill: %s", d->chunked_prefill ? "true" : "false");
        break;
    }
    put_order(f, d);
    if (d->spec.enabled) {
        put_llm(f, "    speculative:\n      draft: ", &d->spec.draft);
        fprintf(f, "      k: %d\n      acceptance: %.17g\n", d->spec.k, d->spec.acceptance);
    }
    fprintf(f, "    queue: %s\n    replica_routing: %s\n", d->queue_shared ? "shared" : "per_replica",
            sim_replica_routing_name(d->replica_routing));
    if (d->disagg != NULL)
        put_disagg(f, d);
}

char *scn_resolved_yaml(const struct sim_scenario *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputs("# resolved by llmsim: defaults applied, catalog entries copied in, overrides applied\nname: ", f);
    put_str(f, s->name);
    fputs("\n", f);
    if (s->description) {
        fputs("description: ", f);
        put_str(f, s->description);
        fputs("\n", f);
    }
    fprintf(f, "seed: %llu\nhorizon: {", (unsigned long long)s->seed);
    int first = 1;
    if (s->duration_s > 0) {
        fprintf(f, "duration_s: %.17g", s->duration_s);
        first = 0;
    }
    if (s->max_requests > 0) {
        fprintf(f, "%srequests: %llu", first ? "" : ", ", (unsigned long long)s->max_requests);
        first = 0;
    }
    fprintf(f, "%swarmup_s: %.17g}\nreplications: %d\nworkload:\n", first ? "" : ", ", s->warmup_s,
            s->replications);
    const struct sim_workload_cfg *w = &s->workload;
    if (w->process == SIM_ARRIVAL_TRACE) {
        fprintf(f, "  # trace: %zu requests over %.17g s (times divided by speedup)\n", w->trace.n,
                w->trace.n ? w->trace.t_s[w->trace.n - 1] : 0.0);
        fputs("  trace: {path: ", f);
        put_str(f, w->trace_path);
        fprintf(f, ", format: %s, speedup: %.17g}\n", w->trace_format, w->trace_speedup);
    } else {
        put_arrivals(f, w);
        fputs("  classes:\n", f);
        for (size_t i = 0; i < w->n_classes; i++) {
            const struct sim_class_cfg *c = &w->classes[i];
            fputs("    - name: ", f);
            put_str(f, c->name);
            fprintf(f, "\n      share: %.17g\n      difficulty: {simple: %.17g, moderate: %.17g, complex: %.17g}\n",
                    c->share, c->difficulty[0], c->difficulty[1], c->difficulty[2]);
            fputs("      prompt:\n", f);
            for (size_t j = 0; j < c->n_segments; j++) {
                const struct sim_segment_cfg *g = &c->segments[j];
                fputs("        - {segment: ", f);
                put_str(f, g->name);
                fputs(", tokens: ", f);
                put_dist(f, &g->tokens);
                fprintf(f, ", stable: %s, cache: %s, variants: %d", g->stable ? "true" : "false",
                        g->cache_ttl_s >= 3600 ? "1h" : g->cache_ttl_s > 0 ? "5m" : "none", g->variants);
                if (g->zipf_s > 0)
                    fprintf(f, ", popularity: zipf, zipf_s: %.17g", g->zipf_s);
                fputs("}\n", f);
            }
            fputs("      output_tokens: ", f);
            put_dist(f, &c->output_tokens);
            fprintf(f, "\n      streaming: %s\n      batch: %s\n", c->streaming ? "true" : "false",
                    c->batch ? "true" : "false");
            fputs("      features: {", f);
            if (c->has_characters) {
                fputs("characters: ", f);
                put_dist(f, &c->characters);
                fputs(", ", f);
            }
            if (c->has_words) {
                fputs("words: ", f);
                put_dist(f, &c->words);
                fputs(", ", f);
            }
            fprintf(f, "chars_per_token: %.17g, words_per_token: %.17g, question_mark: %.17g}\n",
                    c->chars_per_token, c->words_per_token, c->question_mark);
            if (c->prefetch)
                fprintf(f, "      prefetch: {hit_probability: %.17g}\n", c->prefetch_hit);
            if (c->tenant[0]) {
                fputs("      tenant: ", f);
                put_str(f, c->tenant);
                fputs("\n", f);
            }
            if (c->priority != 0)
                fprintf(f, "      priority: %d\n", c->priority);
        }
    }
    if (w->sessions.enabled) {
        fputs("  sessions: {turns: ", f);
        put_dist(f, &w->sessions.turns);
        fputs(", think_time_s: ", f);
        put_dist(f, &w->sessions.think_time_s);
        fputs("}\n", f);
    }
    fputs("deployments:\n", f);
    for (size_t i = 0; i < s->n_deployments; i++)
        put_deployment(f, &s->deployments[i]);
    put_routing(f, s);
    int any_q = s->joint.enabled;
    for (size_t i = 0; i < s->n_deployments; i++)
        any_q |= s->deployments[i].has_quality;
    if (any_q) {
        fputs("quality:\n", f);
        for (size_t i = 0; i < s->n_deployments; i++) {
            const struct sim_deployment_cfg *d = &s->deployments[i];
            if (!d->has_quality)
                continue;
            fputs("  ", f);
            put_str(f, d->name);
            fprintf(f, ": {simple: %.17g, moderate: %.17g, complex: %.17g", d->success[0], d->success[1],
                    d->success[2]);
            int first_c = 1;
            for (size_t c = 0; d->class_success != NULL && c < s->workload.n_classes; c++) {
                if (isnan(d->class_success[c]))
                    continue;
                fputs(first_c ? ", classes: {" : ", ", f);
                put_str(f, s->workload.classes[c].name);
                fprintf(f, ": %.17g", d->class_success[c]);
                first_c = 0;
            }
            fputs(first_c ? "}\n" : "}}\n", f);
        }
        if (s->joint.enabled) {
            fputs("  joint: {strong: ", f);
            put_str(f, s->deployments[s->joint.strong].name);
            fputs(", weak: ", f);
            put_str(f, s->deployments[s->joint.weak].name);
            fprintf(f, ", both: %.17g, only_strong: %.17g, only_weak: %.17g, neither: %.17g}\n", s->joint.both,
                    s->joint.only_strong, s->joint.only_weak, s->joint.neither);
        }
    }
    fprintf(f, "output_control: {verbosity: %.17g", s->output_control.verbosity);
    if (s->output_control.max_tokens > 0)
        fprintf(f, ", max_tokens: %.17g", s->output_control.max_tokens);
    fprintf(f, ", truncation_penalty: %.17g, verbosity_penalty: %.17g", s->output_control.truncation_penalty,
            s->output_control.verbosity_penalty);
    fputs("}\n", f);
    if (s->slo.ttft_s > 0 || s->slo.itl_s > 0 || s->slo.e2e_s > 0) {
        fprintf(f, "slo: {percentile: %.17g", s->slo.percentile);
        if (s->slo.ttft_s > 0)
            fprintf(f, ", ttft_ms: %.15g", s->slo.ttft_s * 1e3);
        if (s->slo.itl_s > 0)
            fprintf(f, ", itl_ms: %.15g", s->slo.itl_s * 1e3);
        if (s->slo.e2e_s > 0)
            fprintf(f, ", e2e_ms: %.15g", s->slo.e2e_s * 1e3);
        fputs("}\n", f);
    }
    if (s->energy.enabled)
        fprintf(f, "energy: {pue: %.17g, electricity_usd_per_kwh: %.17g, grid_g_co2_per_kwh: %.17g, "
                   "bill_electricity: %s}\n",
                s->energy.pue, s->energy.usd_per_kwh, s->energy.g_co2_per_kwh,
                s->energy.bill ? "true" : "false");
    fputs("output: {path: ", f);
    put_str(f, s->output.path ? s->output.path : "");
    fprintf(f, ", requests: %s, timeseries_interval_s: %.17g, compression: %d}\n",
            s->output.requests ? "true" : "false", s->output.timeseries_interval_s, s->output.compression);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
