/* Numeric formats, KV and weight sizes, the roofline iteration-time model and
 * speculative-decoding arithmetic; see llmsim/hardware.h for the formulas.
 *
 * The roofline is the textbook one (Williams, Waterman and Patterson 2009),
 * applied per class of kernels (linear layers, attention) as in LLM-Viewer
 * (Yuan et al. 2024); the efficiency factors and the overheads are calibrated
 * on the Vidur operator profiles (Agrawal et al. 2024) by
 * models/calibration/roofline_fit.py, which mirrors this file, and written up
 * in docs/calibration.md.  Speculative decoding: Leviathan, Kalman and Matias
 * 2023. */
#include "llmsim/hardware.h"

#include <math.h>
#include <string.h>

/* Calibrated defaults (docs/calibration.md, "GPU timing: the roofline model").
 * mfu and mbu: medians over the deployable configurations of the A100 and
 * H100 profiles pooled, per transformer layer with its element-wise kernels;
 * the two measured GPUs carry their own values in gpus.yaml (A100 0.65/0.65,
 * H100 0.60/0.67).  Step overhead: vLLM v0.6.0's ~13 ms per token for
 * Llama-3-8B on one H100 at light load, less the roofline's 7.2 ms.
 * All-reduce: intra-node NCCL profiles of DGX A100 and DGX H100 (latency
 * median 30 us; bus bandwidth 0.26 of link_gbs on A100, 0.38 on H100, 0.29
 * over all six groups, rounded to 0.30). */
const double MDL_ROOFLINE_DEFAULT_MFU = 0.64;
const double MDL_ROOFLINE_DEFAULT_MBU = 0.66;
const double MDL_ROOFLINE_DEFAULT_STEP_OVERHEAD_S = 6.0e-3;
const double MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S = 30e-6;
const double MDL_ROOFLINE_DEFAULT_LINK_EFF = 0.30;

/* Bytes of the activations an all-reduce sums: 16-bit, whatever the weights. */
#define ACTIVATION_BYTES 2.0

double mdl_dtype_bytes(enum mdl_dtype t)
{
    switch (t) {
    case MDL_DTYPE_BF16:
        return 2.0;
    case MDL_DTYPE_FP8:
    case MDL_DTYPE_INT8:
        return 1.0;
    case MDL_DTYPE_INT4:
        return 0.5;
    }
    return 0.0;
}

const char *mdl_dtype_name(enum mdl_dtype t)
{
    switch (t) {
    case MDL_DTYPE_BF16:
        return "bf16";
    case MDL_DTYPE_FP8:
        return "fp8";
    case MDL_DTYPE_INT8:
        return "int8";
    case MDL_DTYPE_INT4:
        return "int4";
    }
    return "?";
}

int mdl_dtype_parse(const char *s, enum mdl_dtype *out)
{
    static const enum mdl_dtype all[] = {MDL_DTYPE_BF16, MDL_DTYPE_FP8, MDL_DTYPE_INT8,
                                         MDL_DTYPE_INT4};
    if (s == NULL)
        return LLMSIM_EINVAL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, mdl_dtype_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return LLMSIM_EINVAL;
}

double mdl_llm_kv_bytes_per_token(const struct mdl_llm *m, enum mdl_dtype kv)
{
    double elem = mdl_dtype_bytes(kv);
    if (m->kv_bytes_per_token_override > 0)
        return m->kv_bytes_per_token_override * elem / 2.0;
    return 2.0 * m->layers * m->kv_heads * m->head_dim * elem;
}

double mdl_llm_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w)
{
    return m->params_b * 1e9 * mdl_dtype_bytes(w);
}

/* Parameters of all routed experts.  Total and active parameters differ by the
 * E - k experts a token does not use, so one expert (over all MoE layers)
 * holds (total - active) / (E - k) parameters.  0 for a dense model. */
static double expert_params(const struct mdl_llm *m)
{
    if (m->experts <= 0 || m->experts_per_token >= m->experts)
        return 0.0;
    return m->experts * (m->params_b - m->active_params_b) * 1e9 /
           (m->experts - m->experts_per_token);
}

double mdl_llm_touched_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w, double tokens)
{
    double ep = expert_params(m);
    if (ep <= 0.0)
        return mdl_llm_weight_bytes(m, w);
    double dense = m->params_b * 1e9 - ep;
    /* Each token picks k of E experts; an expert is missed by all T tokens
     * with probability (1 - k/E)^T (tokens routed independently). */
    double cover = 1.0 - pow(1.0 - (double)m->experts_per_token / m->experts, tokens);
    return (dense + ep * cover) * mdl_dtype_bytes(w);
}

void mdl_roofline_init(struct mdl_roofline *m, const struct mdl_gpu *gpu, const struct mdl_llm *llm,
                       int tp, enum mdl_dtype weights, enum mdl_dtype kv)
{
    memset(m, 0, sizeof *m);
    m->gpu = *gpu;
    m->llm = *llm;
    m->tp = tp;
    m->weights = weights;
    m->kv = kv;
    m->mfu = gpu->mfu > 0 ? gpu->mfu : MDL_ROOFLINE_DEFAULT_MFU;
    m->mbu = gpu->mbu > 0 ? gpu->mbu : MDL_ROOFLINE_DEFAULT_MBU;
    m->step_overhead_s = MDL_ROOFLINE_DEFAULT_STEP_OVERHEAD_S;
    m->allreduce_latency_s = MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S;
    m->link_eff = MDL_ROOFLINE_DEFAULT_LINK_EFF;
}

/* KV heads are replicated when tp exceeds them: r = max(1, tp / kv_heads). */
static double kv_replication(const struct mdl_roofline *m)
{
    double r = (double)m->tp / m->llm.kv_heads;
    return r > 1.0 ? r : 1.0;
}

static double peak_flops(const struct mdl_roofline *m)
{
    int fp8 = m->weights == MDL_DTYPE_FP8 && m->gpu.fp8_tflops > 0;
    return (fp8 ? m->gpu.fp8_tflops : m->gpu.bf16_tflops) * 1e12;
}

static double max2(double a, double b)
{
    return a > b ? a : b;
}

void mdl_roofline_iter(const struct mdl_roofline *m, const struct mdl_iter *it,
                       struct mdl_iter_cost *out)
{
    LLMSIM_ASSERT(it->prefill_tokens >= 0 && it->prefill_pairs >= 0 && it->prefill_kv_read >= 0 &&
                  it->decode_tokens >= 0 && it->decode_context >= 0 && it->decode_kv_read >= 0);
    memset(out, 0, sizeof *out);
    double tokens = it->prefill_tokens + it->decode_tokens;
    if (tokens <= 0)
        return;
    const struct mdl_llm *l = &m->llm;
    double flop_rate = m->tp * peak_flops(m) * m->mfu;              /* FLOP/s of the replica */
    double byte_rate = m->tp * m->gpu.bandwidth_gbs * 1e9 * m->mbu; /* bytes/s of the replica */

    double lin_flops = 2.0 * l->active_params_b * 1e9 * tokens;
    double att_flops =
        4.0 * l->layers * l->heads * l->head_dim * (it->prefill_pairs + it->decode_context);
    double w_bytes = mdl_llm_touched_weight_bytes(l, m->weights, tokens);
    double dec_read = it->decode_kv_read > 0 ? it->decode_kv_read : it->decode_context;
    double kv_tokens = it->prefill_kv_read + dec_read + tokens; /* read, then written */
    double kv_bytes = mdl_llm_kv_bytes_per_token(l, m->kv) * kv_replication(m) * kv_tokens;

    out->flops = lin_flops + att_flops;
    out->bytes = w_bytes + kv_bytes;
    out->compute_s = out->flops / flop_rate;
    out->memory_s = out->bytes / byte_rate;
    out->linear_s = max2(lin_flops / flop_rate, w_bytes / byte_rate);
    out->attention_s = max2(att_flops / flop_rate, kv_bytes / byte_rate);
    if (m->tp > 1) {
        /* Ring all-reduce: each GPU sends and receives 2 (tp - 1) / tp of the
         * buffer; two per layer (after attention and after the MLP). */
        double size = tokens * l->hidden * ACTIVATION_BYTES;
        double one = m->allreduce_latency_s +
                     2.0 * (m->tp - 1) / m->tp * size / (m->gpu.link_gbs * 1e9 * m->link_eff);
        out->comm_s = 2.0 * l->layers * one;
    }
    out->time_s = out->linear_s + out->attention_s + out->comm_s + m->step_overhead_s;
}

double mdl_roofline_kv_capacity_tokens(const struct mdl_roofline *m, double mem_util)
{
    double free =
        mem_util * m->tp * m->gpu.memory_gb * 1e9 - mdl_llm_weight_bytes(&m->llm, m->weights);
    double per_token = mdl_llm_kv_bytes_per_token(&m->llm, m->kv) * kv_replication(m);
    if (free <= 0 || per_token <= 0)
        return 0.0;
    return free / per_token;
}

static int not_positive(struct llmsim_error *err, const char *what, double v)
{
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be > 0, got %g", what, v);
}

static int negative(struct llmsim_error *err, const char *what, double v)
{
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be >= 0, got %g", what, v);
}

static int not_share(struct llmsim_error *err, const char *what, double v)
{
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be in (0, 1], got %g", what,
                            v);
}

int mdl_roofline_check(const struct mdl_roofline *m, struct llmsim_error *err)
{
    const struct mdl_gpu *g = &m->gpu;
    const struct mdl_llm *l = &m->llm;
    const struct {
        const char *name;
        double v;
    } positive[] = {
        {"gpu bf16_tflops", g->bf16_tflops},
        {"gpu memory_gb", g->memory_gb},
        {"gpu bandwidth_gbs", g->bandwidth_gbs},
        {"model layers", l->layers},
        {"model hidden", l->hidden},
        {"model intermediate", l->intermediate},
        {"model heads", l->heads},
        {"model kv_heads", l->kv_heads},
        {"model head_dim", l->head_dim},
        {"model vocab", l->vocab},
        {"model params_b", l->params_b},
        {"model active_params_b", l->active_params_b},
    };
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (!(positive[i].v > 0)) /* also refuses NaN */
            return not_positive(err, positive[i].name, positive[i].v);
    if (!(g->fp8_tflops >= 0))
        return negative(err, "gpu fp8_tflops", g->fp8_tflops);
    if (!(l->kv_bytes_per_token_override >= 0))
        return negative(err, "model kv_bytes_per_token", l->kv_bytes_per_token_override);
    if (l->active_params_b > l->params_b)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "model '%s': active_params_b %g exceeds params_b %g", l->id,
                                l->active_params_b, l->params_b);
    if (l->experts < 0 || l->experts_per_token < 0 ||
        (l->experts == 0) != (l->experts_per_token == 0) || l->experts_per_token > l->experts)
        return llmsim_error_set(
            err, LLMSIM_ERANGE, NULL, 0, 0,
            "model '%s': experts_per_token %d must be between 1 and experts %d for a "
            "mixture of experts, and both 0 for a dense model",
            l->id, l->experts_per_token, l->experts);
    if (l->experts == 0 && l->active_params_b != l->params_b)
        return llmsim_error_set(
            err, LLMSIM_ERANGE, NULL, 0, 0,
            "model '%s' is dense (experts 0) but active_params_b %g differs from "
            "params_b %g",
            l->id, l->active_params_b, l->params_b);
    if (m->tp < 1)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "tp must be >= 1, got %d", m->tp);
    if (l->heads % m->tp != 0)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "tp %d does not divide the %d attention heads of '%s'", m->tp,
                                l->heads, l->id);
    if (l->kv_heads % m->tp != 0 && m->tp % l->kv_heads != 0)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "tp %d and the %d KV heads of '%s' must divide one another", m->tp,
                                l->kv_heads, l->id);
    if (mdl_dtype_bytes(m->weights) <= 0 || mdl_dtype_bytes(m->kv) <= 0)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "unknown weights or KV dtype (%d, %d)", (int)m->weights,
                                (int)m->kv);
    if (!(m->mfu > 0 && m->mfu <= 1))
        return not_share(err, "mfu", m->mfu);
    if (!(m->mbu > 0 && m->mbu <= 1))
        return not_share(err, "mbu", m->mbu);
    if (!(m->step_overhead_s >= 0))
        return negative(err, "step_overhead_s", m->step_overhead_s);
    if (!(m->allreduce_latency_s >= 0))
        return negative(err, "allreduce_latency_s", m->allreduce_latency_s);
    if (m->tp > 1 && !(g->link_gbs > 0))
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "tp %d needs a scale-up link, but GPU '%s' has link_gbs %g", m->tp,
                                g->id, g->link_gbs);
    if (m->tp > 1 && !(m->link_eff > 0 && m->link_eff <= 1))
        return not_share(err, "link_eff", m->link_eff);
    double need = mdl_llm_weight_bytes(l, m->weights), have = m->tp * g->memory_gb * 1e9;
    if (need > have)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "the %s weights of '%s' need %.1f GB but %d x %s has %.0f GB",
                                mdl_dtype_name(m->weights), l->id, need / 1e9, m->tp, g->id,
                                have / 1e9);
    return 0;
}

double mdl_spec_tokens_per_step(double acceptance, int k)
{
    LLMSIM_ASSERT(acceptance >= 0 && acceptance <= 1 && k >= 0);
    if (acceptance >= 1.0)
        return k + 1.0;
    return (1.0 - pow(acceptance, k + 1)) / (1.0 - acceptance);
}
