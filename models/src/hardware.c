/* Numeric formats, KV and weight sizes, the roofline iteration-time model and
 * speculative-decoding arithmetic; see llmsim/hardware.h for the formulas.
 *
 * The roofline is the textbook one (Williams, Waterman and Patterson 2009),
 * applied per class of kernels (linear layers, attention) as in LLM-Viewer
 * (Yuan et al. 2024); the efficiency factors and the overheads are fitted to
 * the Vidur operator profiles (Agrawal et al. 2024) by `llmsim calibrate
 * steps` (models/src/calibrate.c; models/calibration/vidur.yaml) and written
 * up in docs/calibration.md.  Memory: vLLM's determine_available_memory
 * (docs/engines.md).  Speculative decoding: Leviathan, Kalman and Matias
 * 2023. */
#include "llmsim/hardware.h"

#include <math.h>
#include <string.h>

/* Calibrated defaults (docs/calibration.md, "GPU timing").  The GEMM, layer
 * and link parameters were fitted by `llmsim calibrate steps` to the Vidur
 * operator profiles (models/calibration/vidur.yaml): A100-80GB mfu 0.679,
 * gemm_half_tokens 60, mbu 0.821, layer_overhead 60 us, all-reduce 42.8 us
 * and 0.269 of the link; H100 0.663, 114, 0.980, 56 us, 30.3 us, 0.392.
 * Those two GPUs carry their own values in gpus.yaml (and H200, the same
 * GH100 die and NVLink, H100's compute, layer and link values); every other
 * GPU takes the means of the two (rounded; the geometric mean for
 * gemm_half_tokens, a scale).  attn_mfu: FlashAttention-2's forward pass
 * reaches 50-73% of A100 peak (Dao 2023, section 4.1), FlashAttention-3
 * 75% of H100 BF16 peak (Shah et al. 2024), variable-length serving batches
 * less: 0.50, a prior until attention is measured.  attn_mbu: no attention
 * profile is in the repository; 0.65, v0.1's pooled per-layer bandwidth
 * share, as a prior.  The host defaults belong to each engine (engine
 * table below). */
const double MDL_ROOFLINE_DEFAULT_MFU = 0.67;
const double MDL_ROOFLINE_DEFAULT_MBU = 0.90;
const double MDL_ROOFLINE_DEFAULT_GEMM_HALF_TOKENS = 83.0;
const double MDL_ROOFLINE_DEFAULT_ATTN_MFU = 0.50;
const double MDL_ROOFLINE_DEFAULT_ATTN_MBU = 0.65;
/* vllm-v1's host time per step (the engine table needs it as a constant
 * expression). */
#define STEP_OVERHEAD_V1_S 2.0e-3
const double MDL_ROOFLINE_DEFAULT_STEP_OVERHEAD_S = STEP_OVERHEAD_V1_S;
const double MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S = 36e-6;
const double MDL_ROOFLINE_DEFAULT_LINK_EFF = 0.33;
const double MDL_ROOFLINE_DEFAULT_LAYER_OVERHEAD_S = 58e-6;


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

/* Quantized checkpoints (FP8, INT8, INT4) keep the embedding table and the
 * LM head in 16 bits: vLLM's fp8 and compressed-tensors formats quantize
 * the linear layers of the body only (the logged weights of
 * Llama-3.3-70B-FP8 on 2 and 4 H100s, 33.88 and 16.96 GiB per GPU, are 3%
 * above a flat byte per parameter and within 0.1% of this). */
static double edge_params(const struct mdl_llm *m)
{
    double e = ((double)m->vocab * m->hidden) * (m->tied_embeddings ? 1.0 : 2.0);
    return e < m->params_b * 1e9 ? e : 0.0;
}

double mdl_llm_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w)
{
    double b = mdl_dtype_bytes(w);
    if (b >= 2.0)
        return m->params_b * 1e9 * b;
    double edge = edge_params(m);
    return (m->params_b * 1e9 - edge) * b + edge * 2.0;
}

double mdl_llm_embedding_params_b(const struct mdl_llm *m)
{
    return (double)m->vocab * m->hidden * 1e-9;
}

double mdl_llm_lm_head_params_b(const struct mdl_llm *m)
{
    return m->tied_embeddings ? 0.0 : (double)m->vocab * m->hidden * 1e-9;
}

/* Parameters outside the embedding table and the LM head, billions; never
 * below a tenth of the active ones (an inline entry with a vocabulary out of
 * proportion to its parameter count). */
static double body_params_b(const struct mdl_llm *m, double params_b)
{
    double b = params_b - mdl_llm_embedding_params_b(m) - mdl_llm_lm_head_params_b(m);
    return b > 0.1 * params_b ? b : 0.1 * params_b;
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
    double body = body_params_b(m, m->params_b) * 1e9;
    double ep = expert_params(m);
    if (ep <= 0.0 || ep > body)
        return body * mdl_dtype_bytes(w);
    double dense = body - ep;
    /* Each token picks k of E experts; an expert is missed by all T tokens
     * with probability (1 - k/E)^T (tokens routed independently), so a step
     * touches E x (1 - (1 - k/E)^T) experts per layer on average. */
    double cover = 1.0 - pow(1.0 - (double)m->experts_per_token / m->experts, tokens);
    return (dense + ep * cover) * mdl_dtype_bytes(w);
}

/* ---- engines ------------------------------------------------------------------ */

/* Sources of every constant: docs/engines.md.  Host times: vllm-v0's 6.6 ms
 * is what vLLM 0.6.0's ~13 ms per token for Llama-3-8B on one H100 at light
 * load leaves after the model's GPU time of 6.4 ms; the V1 and SGLang
 * figures are explained in docs/engines.md.  The eager launch floor (40 us
 * a layer: ~10 kernel launches of ~4 us) binds only when a layer's GPU time
 * is shorter, on small models. */
static const struct mdl_engine_info engines[MDL_N_ENGINES] = {
    [MDL_ENGINE_VLLM_V1] = {
        .name = "vllm-v1", .overlap_host = 1, .eager = 0, .chunked_prefill = 1, .prefix_cache = 1,
        .admit_whole_prompt = 0, .watermark = 0.0, .preempt_keeps_cache = 1,
        .host_step_s = STEP_OVERHEAD_V1_S, .host_seq_s = 10e-6, .launch_layer_s = 0.0,
        .mem_util = 0.92, .non_torch_gib = 0.25, .non_torch_tp_gib = 1.85, .profiles_graphs = 1,
        .sampler_in_profile = 1,
        .source = "vllm/v1/core/sched/scheduler.py, vllm/v1/worker/gpu_worker.py (vLLM 0.21 to 0.28)"},
    [MDL_ENGINE_VLLM_V0] = {
        .name = "vllm-v0", .overlap_host = 0, .eager = 1, .chunked_prefill = 0, .prefix_cache = 0,
        .admit_whole_prompt = 1, .watermark = 0.01, .preempt_keeps_cache = 0,
        .host_step_s = 6.6e-3, .host_seq_s = 20e-6, .launch_layer_s = 40e-6,
        .mem_util = 0.90, .non_torch_gib = 0.25, .non_torch_tp_gib = 1.85, .profiles_graphs = 0,
        .sampler_in_profile = 0,
        .source = "vllm/core/scheduler.py, vllm/core/block_manager.py, vllm/worker/worker.py (vLLM 0.6)"},
    [MDL_ENGINE_SGLANG] = {
        .name = "sglang", .overlap_host = 1, .eager = 0, .chunked_prefill = 1, .prefix_cache = 1,
        .admit_whole_prompt = 1, .watermark = 0.0, .preempt_keeps_cache = 1,
        .host_step_s = 2.0e-3, .host_seq_s = 10e-6, .launch_layer_s = 0.0,
        .mem_util = 0.88, .non_torch_gib = 0.0, .non_torch_tp_gib = 0.0, .profiles_graphs = 0,
        .sampler_in_profile = 1, .static_fraction = 1,
        .source = "sglang/srt/server_args.py, managers/scheduler.py, schedule_policy.py (SGLang 0.4)"},
};

const struct mdl_engine_info *mdl_engine_info(enum mdl_engine e)
{
    return (unsigned)e < MDL_N_ENGINES ? &engines[e] : &engines[MDL_ENGINE_VLLM_V1];
}

const char *mdl_engine_name(enum mdl_engine e)
{
    return (unsigned)e < MDL_N_ENGINES ? engines[e].name : "?";
}

int mdl_engine_parse(const char *s, enum mdl_engine *out)
{
    for (int i = 0; s != NULL && i < MDL_N_ENGINES; i++)
        if (!strcmp(s, engines[i].name)) {
            *out = (enum mdl_engine)i;
            return 0;
        }
    return LLMSIM_EINVAL;
}

/* vLLM V1 gives GPUs of 70 GiB or more larger defaults, A100s excepted
 * (vllm/engine/arg_utils.py); SGLang's chunked_prefill_size and
 * max_running_requests follow the same split. */
static int big_gpu(const struct mdl_gpu *g)
{
    return g != NULL && g->memory_gib >= 70.0 && strncmp(g->id, "a100", 4) != 0;
}

double mdl_engine_default_batched_tokens(enum mdl_engine e, const struct mdl_gpu *g, int chunked)
{
    switch (e) {
    case MDL_ENGINE_VLLM_V1:
        /* OpenAI-server usage context: 8192 on big GPUs, 2048 below. */
        return big_gpu(g) ? 8192.0 : 2048.0;
    case MDL_ENGINE_SGLANG:
        /* server_args.py, chunked_prefill_size: 2048 under 35 GiB (A10,
         * L40, 4090), 8192 under 160 GiB (A100, H100, H200), 16384 above
         * (B200, MI300X). */
        if (g == NULL)
            return 8192.0;
        return g->memory_gib < 35.0 ? 2048.0 : g->memory_gib < 160.0 ? 8192.0 : 16384.0;
    case MDL_ENGINE_VLLM_V0:
        /* 2048 with chunked prefill; without, max(max_model_len, 2048): the
         * whole prompt must fit, so no limit short of the model length. */
        return chunked ? 2048.0 : INFINITY;
    }
    return INFINITY;
}

double mdl_engine_default_mem_util(enum mdl_engine e, int tp)
{
    if (e == MDL_ENGINE_SGLANG)
        /* server_args.py, mem_fraction_static: less at larger tp, whose
         * communication buffers need more of the rest. */
        return tp >= 16 ? 0.79 : tp >= 8 ? 0.81 : tp >= 4 ? 0.85 : tp >= 2 ? 0.87 : 0.88;
    return mdl_engine_info(e)->mem_util;
}

int mdl_engine_default_max_seqs(enum mdl_engine e, const struct mdl_gpu *g)
{
    if (e == MDL_ENGINE_VLLM_V1)
        return big_gpu(g) ? 1024 : 256;
    return 256;
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
    m->gemm_half_tokens = gpu->gemm_half_tokens > 0 ? gpu->gemm_half_tokens : MDL_ROOFLINE_DEFAULT_GEMM_HALF_TOKENS;
    m->attn_mfu = MDL_ROOFLINE_DEFAULT_ATTN_MFU;
    m->attn_mbu = MDL_ROOFLINE_DEFAULT_ATTN_MBU;
    m->allreduce_latency_s =
        gpu->allreduce_latency_us > 0 ? gpu->allreduce_latency_us * 1e-6 : MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S;
    m->link_eff = gpu->link_efficiency > 0 ? gpu->link_efficiency : MDL_ROOFLINE_DEFAULT_LINK_EFF;
    m->layer_s = gpu->layer_overhead_us > 0 ? gpu->layer_overhead_us * 1e-6 : MDL_ROOFLINE_DEFAULT_LAYER_OVERHEAD_S;
    mdl_roofline_set_engine(m, MDL_ENGINE_VLLM_V1);
}

void mdl_roofline_set_engine(struct mdl_roofline *m, enum mdl_engine e)
{
    const struct mdl_engine_info *ei = mdl_engine_info(e);
    m->engine = e;
    m->step_overhead_s = ei->host_step_s;
    m->host_seq_s = ei->host_seq_s;
    m->launch_layer_s = ei->launch_layer_s;
    m->overlap_host = ei->overlap_host;
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

void mdl_roofline_prepare(const struct mdl_roofline *m, struct mdl_roofline_prep *p)
{
    const struct mdl_llm *l = &m->llm;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->wb = mdl_dtype_bytes(m->weights);
    p->peak = m->tp * peak_flops(m);
    double peak16 = m->tp * m->gpu.bf16_tflops * 1e12; /* attention runs in 16 bits */
    double bw = m->tp * m->gpu.bandwidth_gbs * 1e9;
    p->two_body = 2.0 * (body_params_b(l, l->active_params_b) * 1e9);
    p->head = (double)l->vocab * l->hidden;
    p->two_head = 2.0 * p->head;
    p->eb = p->wb < 2.0 ? 2.0 : p->wb; /* the head and the table stay in 16 bits when quantized */
    p->head_bytes = p->head * p->eb;
    double ep = expert_params(l);
    double body = body_params_b(l, l->params_b) * 1e9;
    p->touched_fixed = ep <= 0.0 || ep > body;
    p->touched = p->touched_fixed ? mdl_llm_touched_weight_bytes(l, m->weights, 1.0) : 0.0;
    p->touched_head = p->touched + p->head_bytes;
    p->hidden = l->hidden;
    p->vocab = l->vocab;
    p->untied = !l->tied_embeddings;
    p->kvb = mdl_llm_kv_bytes_per_token(l, m->kv) * kv_replication(m);
    p->per_pair = 4.0 * l->layers * l->heads * l->head_dim;
    p->attn_flops = peak16 * m->attn_mfu;
    p->attn_bw = bw * m->attn_mbu;
    if (m->tp > 1) {
        p->ring = 2.0 * (m->tp - 1) / m->tp;
        p->link = m->gpu.link_gbs * 1e9 * m->link_eff;
    }
    p->all_flops = p->peak * m->mfu;
    p->all_bw = bw * m->mbu;
    p->layer_s = l->layers * m->layer_s;
    p->launch_s = l->layers * m->launch_layer_s;
}

void mdl_roofline_iter_prep(const struct mdl_roofline_prep *p, const struct mdl_iter *it,
                            struct mdl_iter_cost *out)
{
    LLMSIM_ASSERT(it->prefill_tokens >= 0 && it->prefill_pairs >= 0 && it->prefill_kv_read >= 0 &&
                  it->decode_tokens >= 0 && it->decode_context >= 0 && it->decode_kv_read >= 0 &&
                  it->requests >= 0);
    memset(out, 0, sizeof *out);
    double tokens = it->prefill_tokens + it->decode_tokens;
    if (tokens <= 0)
        return;
    double seqs = mdl_roofline_seqs_(it, tokens), lin_flops, w_bytes;
    double linear_s = mdl_roofline_linear_(p, tokens, seqs, &lin_flops, &w_bytes);
    mdl_roofline_cost_(p, it, tokens, seqs, linear_s, lin_flops, w_bytes, out);
}

void mdl_roofline_iter(const struct mdl_roofline *m, const struct mdl_iter *it,
                       struct mdl_iter_cost *out)
{
    struct mdl_roofline_prep p;
    mdl_roofline_prepare(m, &p);
    mdl_roofline_iter_prep(&p, it, out);
}

/* ---- memory ------------------------------------------------------------------- */

double mdl_activation_peak_bytes(enum mdl_engine e, const struct mdl_llm *l, int tp, double max_batched_tokens,
                                 int max_seqs)
{
    double t = max_batched_tokens;
    double rows = max_seqs < t ? max_seqs : t; /* sequences of the profiling step */
    /* A mixture of experts adds the fused-MoE workspaces: T x k rows of the
     * wider of the gate-up output and the hidden size, plus T x k x hidden. */
    double moe = 0.0;
    if (l->experts > 0) {
        double wide = 2.0 * l->intermediate / tp > l->hidden ? 2.0 * l->intermediate / tp : l->hidden;
        moe = t * l->experts_per_token * (wide + l->hidden) * 2.0;
    }
    if (mdl_engine_info(e)->sampler_in_profile) {
        /* V1 (torch.compile'd forward, attention skipped while profiling):
         * the peak is the sampler's, over min(max_num_seqs, T) rows of fp32
         * logits and their temporaries, plus a fixed part and a small share
         * of T x hidden.  Least squares on the 22 logged profiles of vLLM
         * 0.19 on H100 (docs/engines.md, "Memory"): 12.2 bytes per row and
         * vocabulary entry (3 fp32 arrays), 2.3 bytes per token and hidden
         * unit, 0.33 GiB fixed; independent of tp, as logged. */
        return 0.33 * MDL_GIB + 12.2 * rows * l->vocab + 2.3 * t * l->hidden + moe;
    }
    /* V0 (eager): the forward pass's intermediates of T tokens, the MLP's
     * gate-up output and its activation (3 x intermediate / tp) and three
     * hidden-sized buffers, in 16 bits, plus the sampler's fp32 logits of
     * max_num_seqs rows: 110 KiB a token for Llama-3.1-8B, as the logged
     * profiles of vLLM 0.6 on an RTX 3090 at 20,000 and 29,000 tokens
     * (2.07 and 2.99 GiB) imply. */
    return t * (3.0 * l->intermediate / tp + 3.0 * l->hidden) * 2.0 + 4.0 * rows * l->vocab + moe;
}

double mdl_cuda_graph_bytes(enum mdl_engine e, const struct mdl_llm *l)
{
    if (!mdl_engine_info(e)->profiles_graphs)
        return 0.0;
    /* vLLM 0.19 on H100 captured 0.65-1.8 GiB of graphs (51 sizes, FULL and
     * PIECEWISE): 0.5 GiB plus 14 MiB per layer fits the 22 logged runs
     * within 0.3 GiB (docs/engines.md, "Memory"). */
    return (0.5 + 0.014 * l->layers) * MDL_GIB;
}

void mdl_kv_budget(const struct mdl_roofline *m, double mem_util, double max_batched_tokens, int max_seqs,
                   int block_tokens, double extra_weight_bytes, double extra_kv_bytes_per_token,
                   struct mdl_kv_budget *out)
{
    const struct mdl_engine_info *ei = mdl_engine_info(m->engine);
    memset(out, 0, sizeof *out);
    /* Without a token budget (V0 without chunked prefill) the engine
     * profiles max_model_len tokens; we take 8192, a common serving length. */
    double t = isinf(max_batched_tokens) ? 8192.0 : max_batched_tokens;
    out->total_bytes = m->gpu.memory_gib * MDL_GIB;
    out->usable_bytes = mem_util * out->total_bytes;
    out->weight_bytes = (mdl_llm_weight_bytes(&m->llm, m->weights) + extra_weight_bytes) / m->tp;
    /* SGLang sizes its KV pool from a static share of the memory that holds
     * the weights and the pool alone (mem_fraction_static); what its
     * activations and graphs need comes out of the rest. */
    out->activation_bytes =
        ei->static_fraction ? 0.0 : mdl_activation_peak_bytes(m->engine, &m->llm, m->tp, t, max_seqs);
    out->non_torch_bytes = (ei->non_torch_gib + (m->tp > 1 ? ei->non_torch_tp_gib : 0.0)) * MDL_GIB;
    out->cuda_graph_bytes = mdl_cuda_graph_bytes(m->engine, &m->llm);
    out->kv_bytes = out->usable_bytes - out->weight_bytes - out->activation_bytes - out->non_torch_bytes -
                    out->cuda_graph_bytes;
    out->bytes_per_token =
        (mdl_llm_kv_bytes_per_token(&m->llm, m->kv) * kv_replication(m) + extra_kv_bytes_per_token) / m->tp;
    if (out->kv_bytes <= 0 || out->bytes_per_token <= 0 || block_tokens < 1)
        return;
    out->blocks = floor(out->kv_bytes / (out->bytes_per_token * block_tokens));
    /* vLLM V1 keeps one block aside as the null block. */
    if (m->engine == MDL_ENGINE_VLLM_V1 && out->blocks > 0)
        out->blocks -= 1;
    out->tokens = out->blocks * block_tokens;
}

/* ---- parameters ------------------------------------------------------------------- */

const struct mdl_param_desc mdl_roofline_params[MDL_N_PARAMS] = {
    [MDL_P_MFU] = {"mfu", "", 1.0, 0, 1, 1, 0, "GEMM share of peak FLOP/s at large token counts"},
    [MDL_P_GEMM_HALF] = {"gemm_half_tokens", "tokens", 1.0, 0, 1e5, 0, 0,
                         "tokens at which GEMM efficiency is half of mfu"},
    [MDL_P_MBU] = {"mbu", "", 1.0, 0, 1, 1, 0, "share of peak bandwidth reading weights"},
    [MDL_P_ATTN_MFU] = {"attn_mfu", "", 1.0, 0, 1, 1, 0, "prefill attention share of BF16 peak"},
    [MDL_P_ATTN_MBU] = {"attn_mbu", "", 1.0, 0, 1, 1, 0, "attention share of peak bandwidth reading KV"},
    [MDL_P_AR_LAT] = {"allreduce_latency_us", "us", 1e6, 0, 1.0, 0, 0, "fixed cost of one all-reduce"},
    [MDL_P_LINK_EFF] = {"link_efficiency", "", 1.0, 0, 1, 1, 0, "all-reduce bus bandwidth share of link_gbs"},
    [MDL_P_STEP] = {"step_overhead_ms", "ms", 1e3, 0, 10.0, 0, 1, "host (CPU) time per step"},
    [MDL_P_HOST_SEQ] = {"host_per_seq_us", "us", 1e6, 0, 0.01, 0, 1, "host time per scheduled sequence"},
    [MDL_P_LAUNCH] = {"launch_per_layer_us", "us", 1e6, 0, 0.01, 0, 1,
                      "eager engines: kernel-launch floor per layer"},
    [MDL_P_LAYER] = {"layer_overhead_us", "us", 1e6, 0, 0.01, 0, 0,
                     "fixed GPU time per layer and step (small kernels' latency)"},
};

static double *param_ptr(struct mdl_roofline *m, int i)
{
    switch (i) {
    case MDL_P_MFU:
        return &m->mfu;
    case MDL_P_GEMM_HALF:
        return &m->gemm_half_tokens;
    case MDL_P_MBU:
        return &m->mbu;
    case MDL_P_ATTN_MFU:
        return &m->attn_mfu;
    case MDL_P_ATTN_MBU:
        return &m->attn_mbu;
    case MDL_P_AR_LAT:
        return &m->allreduce_latency_s;
    case MDL_P_LINK_EFF:
        return &m->link_eff;
    case MDL_P_STEP:
        return &m->step_overhead_s;
    case MDL_P_HOST_SEQ:
        return &m->host_seq_s;
    case MDL_P_LAUNCH:
        return &m->launch_layer_s;
    case MDL_P_LAYER:
        return &m->layer_s;
    }
    LLMSIM_ASSERT(0 && "parameter index out of range");
    return NULL;
}

double mdl_roofline_param_get(const struct mdl_roofline *m, int i)
{
    return *param_ptr((struct mdl_roofline *)m, i);
}

void mdl_roofline_param_set(struct mdl_roofline *m, int i, double v)
{
    *param_ptr(m, i) = v;
}

int mdl_roofline_param_find(const char *name)
{
    for (int i = 0; name != NULL && i < MDL_N_PARAMS; i++)
        if (!strcmp(name, mdl_roofline_params[i].name))
            return i;
    return -1;
}

static int not_positive(struct llmsim_error *err, const char *what, double v)
{
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be > 0, got %g", what, v);
}

static int negative(struct llmsim_error *err, const char *what, double v)
{
    return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be >= 0, got %g", what, v);
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
        {"gpu memory_gib", g->memory_gib},
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
    if ((unsigned)m->engine >= MDL_N_ENGINES)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "unknown engine %d", (int)m->engine);
    for (int i = 0; i < MDL_N_PARAMS; i++) {
        const struct mdl_param_desc *p = &mdl_roofline_params[i];
        double v = mdl_roofline_param_get(m, i);
        if (i == MDL_P_LINK_EFF && m->tp == 1)
            continue;
        if (!(p->lo_open ? v > p->lo : v >= p->lo) || !(v <= p->hi))
            return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0, "%s must be in %s%g, %g], got %g",
                                    p->name, p->lo_open ? "(" : "[", p->lo * p->scale, p->hi * p->scale,
                                    v * p->scale);
    }
    if (m->tp > 1 && !(g->link_gbs > 0))
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "tp %d needs a scale-up link, but GPU '%s' has link_gbs %g", m->tp,
                                g->id, g->link_gbs);
    double need = mdl_llm_weight_bytes(l, m->weights), have = m->tp * g->memory_gib * MDL_GIB;
    if (need > have)
        return llmsim_error_set(err, LLMSIM_ERANGE, NULL, 0, 0,
                                "the %s weights of '%s' need %.1f GiB but %d x %s has %.1f GiB",
                                mdl_dtype_name(m->weights), l->id, need / MDL_GIB, m->tp, g->id,
                                have / MDL_GIB);
    return 0;
}

double mdl_spec_tokens_per_step(double acceptance, int k)
{
    LLMSIM_ASSERT(acceptance >= 0 && acceptance <= 1 && k >= 0);
    if (acceptance >= 1.0)
        return k + 1.0;
    return (1.0 - pow(acceptance, k + 1)) / (1.0 - acceptance);
}
