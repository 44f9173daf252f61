/* llmsim: GPU and LLM catalog entries, numeric formats, serving engines,
 * GPU memory accounting and the roofline step-time model.
 *
 * Entries are plain structs; the catalogs (models/catalog/gpus.yaml and
 * llms.yaml) are compiled into the binary as text (mdl_catalog_gpus_yaml,
 * mdl_catalog_llms_yaml) and parsed by scenarios/, which also accepts inline
 * entries in a scenario.
 *
 * Memory is in bytes as the device reports it: a GPU's memory_gib is
 * cudaMemGetInfo's total in units of 2^30 bytes (an "80 GB" H100 reports
 * 79.19 GiB, an "80 GB" A100 79.15 GiB: HBM is sold in binary gigabytes).
 *
 * The step-time model (design.md section 4) times one engine step
 * (iteration) of a replica of tp GPUs.  The kernels of a step run one after
 * another, each bound by compute or by memory, in four classes:
 *
 *   linear    = max(F_lin / (P x e(T)),  W_touched / BW)
 *     F_lin = 2 x (active params - embedding - LM head) x T      (body GEMMs)
 *           + 2 x vocab x hidden x S                             (LM head on the
 *                                                                 S sampled rows)
 *     W_touched = body weights the step touches (MoE: the expected distinct
 *           experts, E x (1 - (1 - k/E)^T) of E per layer) + the LM head
 *           + T embedding rows (not the whole table)
 *     e(T) = mfu x T / (T + gemm_half_tokens): GEMM efficiency falls at small
 *           token counts (tiles left idle, wave quantisation)
 *   prefill attention = max(4 x layers x heads x head_dim x pairs / (P16 x attn_mfu),
 *                           KV bytes x r x (context read + tokens written) / (BW x attn_mbu))
 *   decode attention  = the same with the decoding requests' pairs and KV reads
 *   comm      = 2 x layers x (allreduce_latency + 2 (tp - 1) / tp x T x hidden x 2 B
 *                             / (link_gbs x link_eff))               (tp > 1 only)
 *   gpu       = linear + prefill attention + decode attention + comm
 *               + layers x layer_overhead (the latency of each layer's
 *               small kernels, which no roofline sees), at least layers x
 *               launch_per_layer for an eager engine
 *   host      = step overhead + host_per_seq x S   (scheduling, input
 *               preparation, sampling and output processing on the CPU)
 *   step      = max(gpu, host) when the engine overlaps its CPU work with the
 *               GPU (vLLM v1 with asynchronous scheduling), gpu + host when
 *               it does not (vLLM v0)
 *
 *   P = tp x peak FLOP/s (FP8 peak for FP8 weights on GPUs with FP8 units),
 *   P16 = tp x BF16 peak (attention runs in 16 bits), BW = tp x bandwidth x mbu
 *
 * T is the step's tokens (prefill chunk tokens plus one per decoding request,
 * k + 1 when verifying k speculated tokens), S the sequences it samples (one
 * per scheduled request: vLLM computes logits only at each request's last
 * position), "pairs" the (query, key) pairs of causal attention, and r =
 * max(1, tp / kv_heads) the replication of KV heads when tp exceeds them.
 * Weights in fp8 on a GPU without FP8 units (A100) run weight-only (Marlin):
 * 1-byte reads, BF16 compute; int8 and int4 weights are weight-only too.
 *
 * Every efficiency and overhead is a hardware or engine parameter, not a
 * per-model factor, so a calibration made with one model transfers to others
 * on the same GPU and engine (docs/calibration.md).  The functions are pure:
 * O(1), no allocation. */
#ifndef LLMSIM_HARDWARE_H
#define LLMSIM_HARDWARE_H

#include <stdint.h>

#include "llmsim/error.h"

#define MDL_ID_MAX 64

struct mdl_gpu {
    char id[MDL_ID_MAX];     /* "h100-sxm" */
    double bf16_tflops;      /* dense peak, TFLOP/s */
    double fp8_tflops;       /* dense peak, TFLOP/s; 0 = no FP8 units */
    double memory_gib;       /* memory as the device reports it (cudaMemGetInfo total), GiB (2^30 bytes) */
    double bandwidth_gbs;    /* HBM bandwidth, GB/s (10^9 bytes/s) */
    double link_gbs;         /* scale-up link (NVLink / Infinity Fabric / PCIe), GB/s per GPU */
    double hour_usd;         /* default on-demand price per GPU-hour */
    /* Board power (0 = not given; inline GPUs may leave them out, the
     * catalog gives both): the power energy accounting uses while the GPU
     * is provisioned but serves nothing, and while it is busy (the
     * datasheet's TDP or maximum board power).  See sim_energy_cfg. */
    double idle_w;           /* W */
    double max_w;            /* W */
    /* Measured hardware parameters of the step-time model (0 = the global
     * default): models/calibration/vidur.yaml for a100-80gb and h100-sxm. */
    double mfu;              /* share of peak FLOP/s of large GEMMs */
    double mbu;              /* share of peak bandwidth reading weights */
    double gemm_half_tokens; /* tokens at which GEMM efficiency is half of mfu */
    double allreduce_latency_us; /* fixed cost of one all-reduce over the scale-up link */
    double link_efficiency;  /* all-reduce bus bandwidth as a share of link_gbs */
    double layer_overhead_us; /* fixed GPU time per layer and step (small kernels' latency) */
    char source[160];
    char date[16];
};

struct mdl_llm {
    char id[MDL_ID_MAX];     /* "llama-3.1-8b" */
    int layers;
    int hidden;
    int intermediate;        /* per expert for MoE */
    int heads;
    int kv_heads;
    int head_dim;
    int vocab;
    double params_b;         /* total parameters, billions */
    double active_params_b;  /* parameters used per token, billions (= params_b when dense) */
    int experts;             /* routed experts per MoE layer; 0 = dense */
    int experts_per_token;   /* top-k */
    double kv_bytes_per_token_override; /* > 0: KV bytes per token at 2 bytes/element, for a
                                           cache that is not 2 x layers x kv_heads x head_dim
                                           elements (DeepSeek MLA); catalog key kv_bytes_per_token */
    int tied_embeddings;     /* the LM head is the embedding table (one vocab x hidden matrix) */
    char source[160];
    char date[16];
};

#define MDL_GIB 1073741824.0 /* bytes in a GiB */

/* Numeric formats of weights and KV cache: bf16 2 bytes, fp8 and int8 1,
 * int4 0.5.  mdl_dtype_name gives "bf16", "fp8", "int8", "int4" ("?" for a
 * value outside the enum, whose size is 0); mdl_dtype_parse reads those names
 * and returns 0 or LLMSIM_EINVAL. */
enum mdl_dtype { MDL_DTYPE_BF16 = 0, MDL_DTYPE_FP8, MDL_DTYPE_INT8, MDL_DTYPE_INT4 };
double mdl_dtype_bytes(enum mdl_dtype t);
const char *mdl_dtype_name(enum mdl_dtype t);
int mdl_dtype_parse(const char *s, enum mdl_dtype *out);

/* KV-cache bytes per token: 2 x layers x kv_heads x head_dim x bytes per
 * element, or the override scaled from 2 bytes to the element size. */
double mdl_llm_kv_bytes_per_token(const struct mdl_llm *m, enum mdl_dtype kv);
/* Weight bytes: params x bytes per weight. */
double mdl_llm_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w);
/* Parameters of the embedding table and of the LM head (0 for the head when
 * tied), billions. */
double mdl_llm_embedding_params_b(const struct mdl_llm *m);
double mdl_llm_lm_head_params_b(const struct mdl_llm *m);
/* Weight bytes one step of `tokens` tokens reads from the transformer body
 * (everything but the embedding table and the LM head): all of it for a dense
 * model; for a mixture of experts the dense part plus the expected share of
 * expert weights that at least one token is routed to. */
double mdl_llm_touched_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w, double tokens);

/* ---- serving engines -------------------------------------------------------
 *
 * What an engine does that changes timing and memory (docs/engines.md has
 * each rule with its source):
 *
 *   vllm-v1  (default) vLLM's V1 engine (0.8 onwards): CPU work of a step
 *            overlapped with the GPU (asynchronous scheduling), CUDA graphs,
 *            chunked prefill always on, prefix caching on, a waiting request
 *            scheduled when the blocks of the tokens it is given this step
 *            fit (no watermark), a preempted request's blocks freed into the
 *            prefix cache (its recompute hits them unless evicted).
 *   vllm-v0  vLLM's V0 engine (up to 0.7): synchronous (CPU time adds to the
 *            GPU's), eager kernels (a launch floor per layer), chunked
 *            prefill off, prefix caching off, admission only when the whole
 *            prompt's blocks fit with a 1% watermark, preempted blocks
 *            simply freed.
 *   sglang   SGLang (0.4 onwards): overlap scheduler, CUDA graphs, chunked
 *            prefill, radix prefix cache, admission of the whole prompt,
 *            and a static memory share (mem_fraction_static, by tp) for
 *            weights and the KV pool.
 */
enum mdl_engine { MDL_ENGINE_VLLM_V1 = 0, MDL_ENGINE_VLLM_V0, MDL_ENGINE_SGLANG };
#define MDL_N_ENGINES 3

struct mdl_engine_info {
    const char *name;          /* "vllm-v1" */
    int overlap_host;          /* CPU work of a step hides behind the GPU's */
    int eager;                 /* kernels launched one by one (a launch floor per layer) */
    int chunked_prefill;       /* default of scheduler.chunked_prefill */
    int prefix_cache;          /* default of prefix_cache.enabled */
    int admit_whole_prompt;    /* admission needs the whole prompt's blocks (else the step's tokens) */
    double watermark;          /* share of blocks kept free at admission */
    int preempt_keeps_cache;   /* a preempted request's computed blocks stay in the prefix cache */
    double host_step_s;        /* default CPU time per step */
    double host_seq_s;         /* default CPU time per scheduled sequence */
    double launch_layer_s;     /* eager engines: kernel-launch floor per layer */
    /* memory accounting (mdl_kv_budget) */
    double mem_util;           /* default gpu_memory_utilization */
    double non_torch_gib;      /* non-torch memory the profiling step adds, per GPU (cuBLAS workspaces...) */
    double non_torch_tp_gib;   /* more per GPU when tp > 1 (custom all-reduce and NCCL buffers) */
    int profiles_graphs;       /* CUDA-graph memory is estimated and taken out of the budget (else the
                                  graphs are captured afterwards, from what the utilisation leaves) */
    int sampler_in_profile;    /* the profiling step's peak is the sampler's (V1) rather than the
                                  forward pass's intermediate tensors (V0) */
    int static_fraction;       /* SGLang: the utilisation share holds weights + KV pool only
                                  (mem_fraction_static); activations and graphs use the rest */
    const char *source;
};

const struct mdl_engine_info *mdl_engine_info(enum mdl_engine e);
const char *mdl_engine_name(enum mdl_engine e);
/* Reads "vllm-v1", "vllm-v0", "sglang"; 0 or LLMSIM_EINVAL. */
int mdl_engine_parse(const char *s, enum mdl_engine *out);
/* The engine's default max_num_batched_tokens and max_num_seqs on a GPU
 * (vLLM V1 picks larger ones on GPUs of 70 GiB or more, except A100s). */
double mdl_engine_default_batched_tokens(enum mdl_engine e, const struct mdl_gpu *g, int chunked);
int mdl_engine_default_max_seqs(enum mdl_engine e, const struct mdl_gpu *g);
/* The engine's default gpu_memory_utilization (SGLang's depends on tp). */
double mdl_engine_default_mem_util(enum mdl_engine e, int tp);

/* ---- the step-time model ---------------------------------------------------- */

struct mdl_roofline {
    struct mdl_gpu gpu;
    struct mdl_llm llm;
    int tp;                   /* GPUs per replica */
    enum mdl_dtype weights;
    enum mdl_dtype kv;
    enum mdl_engine engine;
    /* hardware parameters (per GPU) */
    double mfu;               /* GEMM share of peak FLOP/s at large token counts, (0, 1] */
    double gemm_half_tokens;  /* tokens at which GEMM efficiency is half of mfu, >= 0 */
    double mbu;               /* share of peak bandwidth reading weights, (0, 1] */
    double attn_mfu;          /* prefill attention share of BF16 peak, (0, 1] */
    double attn_mbu;          /* attention share of peak bandwidth reading KV, (0, 1] */
    double allreduce_latency_s; /* fixed cost of one all-reduce (tp > 1) */
    double link_eff;          /* achieved share of link_gbs as all-reduce bus bandwidth, (0, 1] */
    double layer_s;           /* fixed GPU time per layer and step: the latency of a layer's small
                                 kernels (norms, rotary, activation, residual adds, GEMM tails) */
    /* engine parameters */
    double step_overhead_s;   /* host (CPU) time per step: scheduling, input preparation, sampling */
    double host_seq_s;        /* host time per scheduled sequence */
    double launch_layer_s;    /* eager engines: kernel-launch floor per layer and step */
    int overlap_host;         /* host time overlaps the GPU's (max) or adds to it */
};

/* Fills *m for a replica of tp GPUs with the calibrated defaults: mfu and mbu
 * from the GPU entry where it has them (> 0), else the global defaults; the
 * other hardware defaults; the engine's host defaults.  A scenario or a
 * calibration then overrides single fields.  Does not check. */
void mdl_roofline_init(struct mdl_roofline *m, const struct mdl_gpu *gpu, const struct mdl_llm *llm,
                       int tp, enum mdl_dtype weights, enum mdl_dtype kv);
/* Sets the engine and its host defaults (step overhead, per-sequence time,
 * launch floor, overlap). */
void mdl_roofline_set_engine(struct mdl_roofline *m, enum mdl_engine e);

/* What one step processes. */
struct mdl_iter {
    double prefill_tokens;    /* prompt tokens processed (all chunks) */
    double prefill_pairs;     /* causal attention pairs of those tokens: sum over chunks of
                                 c x p + c (c + 1) / 2 for c new tokens after p cached ones */
    double prefill_kv_read;   /* context tokens whose KV the prefill chunks read: sum of p */
    double decode_tokens;     /* tokens decoded (1 per request; k + 1 when verifying k) */
    double decode_context;    /* sum over decode tokens of the context each attends to */
    double decode_kv_read;    /* context tokens whose KV the decoding requests read: sum over
                                 requests of their context, once per request however many
                                 tokens it verifies; 0 = decode_context (one token each) */
    double requests;          /* sequences scheduled in the step (each samples one row of
                                 logits); 0 = one per decode token plus one if any prefill */
};

struct mdl_iter_cost {
    double time_s;       /* the step time */
    double gpu_s;        /* GPU time (linear + attention + comm, launch floor applied) */
    double host_s;       /* CPU time of the step */
    double flops;        /* total over the tp GPUs */
    double bytes;        /* total over the tp GPUs */
    double compute_s;    /* all FLOPs / (tp x peak x mfu) (for reports) */
    double memory_s;     /* all bytes / (tp x bandwidth x mbu) (for reports) */
    double linear_s;     /* linear class */
    double attention_s;  /* prefill + decode attention */
    double comm_s;       /* all-reduce term */
    double layer_s;      /* layers x layer_overhead */
};

/* Times one step.  iter fields must be >= 0; a step with no tokens costs
 * nothing (all fields 0). */
void mdl_roofline_iter(const struct mdl_roofline *m, const struct mdl_iter *it, struct mdl_iter_cost *out);
/* The terms of mdl_roofline_iter that depend only on the configuration,
 * computed once per deployment instead of once per step (the simulator
 * times millions of steps with one configuration).  Each is the same
 * expression, evaluated in the same order, as in the per-step formula, so
 * a step timed through it is bit-identical to mdl_roofline_iter's.  It
 * points to the roofline it was made from, which must outlive it and not
 * change while it is used. */
struct mdl_roofline_prep {
    const struct mdl_roofline *m;
    double wb;            /* bytes per weight */
    double peak;          /* FLOP/s of the replica at the weights' precision */
    double two_body;      /* 2 x active body parameters: linear FLOPs per token */
    double head;          /* LM-head parameters (vocab x hidden) */
    double two_head;      /* 2 x head: LM-head FLOPs per sampled row */
    double eb;            /* bytes per head / embedding weight (16 bits at least) */
    double head_bytes;    /* head x eb */
    int touched_fixed;    /* body weights touched do not depend on the tokens (dense) */
    double touched;       /* those bytes when touched_fixed */
    double touched_head;  /* touched + head_bytes (touched_fixed) */
    double hidden, vocab; /* the model's, as doubles */
    int untied;           /* the embedding table is not the head: its rows in use are read too */
    double kvb;           /* KV bytes per token, replication included */
    double per_pair;      /* attention FLOPs per query-key pair over all layers */
    double attn_flops;    /* attention FLOP/s: BF16 peak x attn_mfu */
    double attn_bw;       /* attention bytes/s: bandwidth x attn_mbu */
    double ring;          /* 2 (tp - 1) / tp (tp > 1) */
    double link;          /* achieved link bytes/s (tp > 1) */
    double all_flops;     /* peak x mfu */
    double all_bw;        /* bandwidth x mbu */
    double layer_s;       /* layers x layer_s */
    double launch_s;      /* layers x launch_layer_s */
};
/* Fills *p from m (see struct mdl_roofline_prep). */
void mdl_roofline_prepare(const struct mdl_roofline *m, struct mdl_roofline_prep *p);
/* mdl_roofline_iter with the configuration's terms taken from p: the same
 * result, bit for bit. */
void mdl_roofline_iter_prep(const struct mdl_roofline_prep *p, const struct mdl_iter *it,
                            struct mdl_iter_cost *out);

/* ---- the step formula, inline -------------------------------------------------
 *
 * mdl_roofline_iter_prep and mdl_roofline_step_prep share the formula below.
 * It is inline here because the simulator times every iteration with it:
 * out of line, the call, its prologue and the struct passed through memory
 * cost a quarter of the formula again. */

/* Bytes of the activations an all-reduce sums: 16-bit, whatever the weights. */
#define MDL_ACTIVATION_BYTES 2.0

static inline double mdl_max2_(double a, double b)
{
    return a > b ? a : b;
}

/* The step time of a given GPU time and sequence count under m's engine:
 * max(gpu, host) or gpu + host (used to add a draft model's GPU time). */
static inline double mdl_roofline_step_s(const struct mdl_roofline *m, double gpu_s, double seqs)
{
    double host = m->step_overhead_s + m->host_seq_s * seqs;
    return m->overlap_host ? mdl_max2_(gpu_s, host) : gpu_s + host;
}

/* The linear layers of a step with tokens tokens and seqs sampled rows:
 * the body GEMMs over every token, the LM head over the sampled rows; the
 * body weights touched, the head, and the embedding rows in use (at most
 * the table).  Sets *lin_flops and *w_bytes and returns the time, at the
 * roofline of the two.  A function of (tokens, seqs) alone, for a given p:
 * mdl_roofline_step_memo keeps it per step shape. */
__attribute__((always_inline)) static inline double mdl_roofline_linear_(const struct mdl_roofline_prep *p,
                                                                       double tokens, double seqs,
                                                                       double *lin_flops, double *w_bytes)
{
    const struct mdl_roofline *m = p->m;
    *lin_flops = p->two_body * tokens + p->two_head * seqs;
    double rows = tokens < p->vocab ? tokens : p->vocab;
    double rows_b = p->untied ? rows * p->hidden * p->eb : 0.0;
    *w_bytes = p->touched_fixed ? p->touched_head + rows_b
                                : mdl_llm_touched_weight_bytes(&m->llm, m->weights, tokens) + p->head_bytes + rows_b;
    double eff = m->mfu * (m->gemm_half_tokens > 0 ? tokens / (tokens + m->gemm_half_tokens) : 1.0);
    return mdl_max2_(*lin_flops / (p->peak * eff), *w_bytes / p->all_bw);
}

/* The sampled rows of a step: one per scheduled sequence, or (requests 0)
 * one per decode token plus one for the prefill; never more than tokens. */
static inline double mdl_roofline_seqs_(const struct mdl_iter *it, double tokens)
{
    double seqs = it->requests > 0 ? it->requests : it->decode_tokens + (it->prefill_tokens > 0);
    return seqs > tokens ? tokens : seqs;
}

/* The step's cost, every field of *out, for a step with tokens and seqs
 * sampled rows, given its linear part (mdl_roofline_linear_: linear_s,
 * lin_flops, w_bytes): the body of mdl_roofline_iter_prep.  Inlined in its
 * callers, so that mdl_roofline_step_prep, which keeps a few fields,
 * computes only those. */
__attribute__((always_inline)) static inline void mdl_roofline_cost_(const struct mdl_roofline_prep *p,
                                                                     const struct mdl_iter *it, double tokens,
                                                                     double seqs, double linear_s,
                                                                     double lin_flops, double w_bytes,
                                                                     struct mdl_iter_cost *out)
{
    const struct mdl_roofline *m = p->m;
    const struct mdl_llm *l = &m->llm;
    out->linear_s = linear_s;

    /* Attention: prefill chunks and decoding requests are separate kernels
     * (or separate work within one), each at its own roofline. */
    double pf_flops = p->per_pair * it->prefill_pairs;
    double pf_bytes = p->kvb * (it->prefill_kv_read + it->prefill_tokens);
    double dec_read = it->decode_kv_read > 0 ? it->decode_kv_read : it->decode_context;
    double dc_flops = p->per_pair * it->decode_context;
    double dc_bytes = p->kvb * (dec_read + it->decode_tokens);
    double att_pf = it->prefill_tokens > 0 ? mdl_max2_(pf_flops / p->attn_flops, pf_bytes / p->attn_bw) : 0.0;
    double att_dc = it->decode_tokens > 0 ? mdl_max2_(dc_flops / p->attn_flops, dc_bytes / p->attn_bw) : 0.0;
    out->attention_s = att_pf + att_dc;

    out->comm_s = 0.0;
    if (m->tp > 1) {
        /* Ring all-reduce: each GPU sends and receives 2 (tp - 1) / tp of the
         * buffer; two per layer (after attention and after the MLP). */
        double size = tokens * l->hidden * MDL_ACTIVATION_BYTES;
        double one = m->allreduce_latency_s + p->ring * size / p->link;
        out->comm_s = 2.0 * l->layers * one;
    }
    out->flops = lin_flops + pf_flops + dc_flops;
    out->bytes = w_bytes + pf_bytes + dc_bytes;
    out->compute_s = out->flops / p->all_flops;
    out->memory_s = out->bytes / p->all_bw;
    out->layer_s = p->layer_s;
    out->gpu_s = out->linear_s + out->attention_s + out->comm_s + out->layer_s;
    if (m->launch_layer_s > 0)
        out->gpu_s = mdl_max2_(out->gpu_s, p->launch_s);
    out->host_s = m->step_overhead_s + m->host_seq_s * seqs;
    out->time_s = mdl_roofline_step_s(m, out->gpu_s, seqs);
}

/* The step time of mdl_roofline_iter_prep, bit for bit, computing only
 * what the simulator keeps of it (it times millions of steps: the terms
 * kept for reports are not worth their divisions): adds the step's flops
 * and bytes to *flops and *bytes, sets *gpu_s.  iter fields must be >= 0,
 * which the caller guarantees: this one does not check them. */
static inline double mdl_roofline_step_prep(const struct mdl_roofline_prep *p, const struct mdl_iter *it,
                                            double *flops, double *bytes, double *gpu_s)
{
    double tokens = it->prefill_tokens + it->decode_tokens;
    if (tokens <= 0) {
        /* mdl_roofline_iter_prep's zeros, added as it would add them */
        *flops += 0.0;
        *bytes += 0.0;
        *gpu_s = 0.0;
        return 0.0;
    }
    double seqs = mdl_roofline_seqs_(it, tokens), lin_flops, w_bytes;
    double linear_s = mdl_roofline_linear_(p, tokens, seqs, &lin_flops, &w_bytes);
    struct mdl_iter_cost c;
    mdl_roofline_cost_(p, it, tokens, seqs, linear_s, lin_flops, w_bytes, &c);
    *flops += c.flops;
    *bytes += c.bytes;
    *gpu_s = c.gpu_s;
    return c.time_s;
}

/* The linear parts of recent step shapes, for mdl_roofline_step_memo.  A
 * replica's steps mostly repeat a shape: between admissions and
 * completions every step decodes the same requests, and only its attention
 * grows with the context.  The linear part costs three divisions, on the
 * path to the step time; a direct-mapped table indexed by the token count
 * keeps it per (tokens, seqs) (three in four steps find it in the bench_e2e
 * workload).  Entries start with tokens 0, which no step looked up has.  A
 * kept value is the value the formula gives, so no result depends on what
 * the table holds. */
#define MDL_LINEAR_MEMO 256 /* entries; a power of two */
struct mdl_linear_memo {
    double tokens, seqs;                 /* the step shape; tokens 0: empty entry */
    double linear_s, lin_flops, w_bytes; /* mdl_roofline_linear_ of it */
};

/* mdl_roofline_step_prep, bit for bit, with the linear part looked up in
 * memo (MDL_LINEAR_MEMO entries, zeroed before first use, used with one p
 * only) and computed into it when missing. */
static inline double mdl_roofline_step_memo(const struct mdl_roofline_prep *p, struct mdl_linear_memo *memo,
                                            const struct mdl_iter *it, double *flops, double *bytes,
                                            double *gpu_s)
{
    double tokens = it->prefill_tokens + it->decode_tokens;
    if (!(tokens > 0 && tokens < 0x1p52))
        return mdl_roofline_step_prep(p, it, flops, bytes, gpu_s);
    double seqs = mdl_roofline_seqs_(it, tokens);
    struct mdl_linear_memo *e = &memo[(uint64_t)tokens & (MDL_LINEAR_MEMO - 1)];
    /* Equal doubles that are not zeros have equal bits; tokens > 0, and a
     * zero seqs (of either sign) adds nothing wherever it goes. */
    if (e->tokens != tokens || e->seqs != seqs) {
        e->linear_s = mdl_roofline_linear_(p, tokens, seqs, &e->lin_flops, &e->w_bytes);
        e->tokens = tokens;
        e->seqs = seqs;
    }
    struct mdl_iter_cost c;
    mdl_roofline_cost_(p, it, tokens, seqs, e->linear_s, e->lin_flops, e->w_bytes, &c);
    *flops += c.flops;
    *bytes += c.bytes;
    *gpu_s = c.gpu_s;
    return c.time_s;
}

/* Checks a roofline configuration: positive GPU and model sizes, active <=
 * total parameters, experts and top-k consistent, tp >= 1 dividing heads, tp
 * and kv_heads dividing one another, known dtypes, every parameter in its
 * range (mdl_roofline_params), for tp > 1 a link (link_gbs > 0), and
 * weights that fit the tp GPUs' memory.  Returns 0 or LLMSIM_ERANGE with a
 * message in err (no location). */
int mdl_roofline_check(const struct mdl_roofline *m, struct llmsim_error *err);

/* ---- parameters, for scenarios and calibration ----------------------------------
 *
 * The hardware and engine parameters by name, with the unit a scenario or a
 * calibration file gives them in (value in the file = value in the struct x
 * scale), their range and their default's source.  Index i of
 * mdl_roofline_params is the i-th parameter of mdl_roofline_param_get/set. */
struct mdl_param_desc {
    const char *name;    /* key in `latency: {model: roofline, ...}` and in calibration files */
    const char *unit;    /* "", "tokens", "us", "ms" */
    double scale;        /* file value = struct value x scale */
    double lo, hi;       /* allowed range of the struct value (lo exclusive when lo_open) */
    int lo_open;
    int engine;          /* 1: an engine parameter (host side), 0: a hardware one */
    const char *what;    /* one line for reports */
};
enum {
    MDL_P_MFU = 0, MDL_P_GEMM_HALF, MDL_P_MBU, MDL_P_ATTN_MFU, MDL_P_ATTN_MBU, MDL_P_AR_LAT,
    MDL_P_LINK_EFF, MDL_P_STEP, MDL_P_HOST_SEQ, MDL_P_LAUNCH, MDL_P_LAYER, MDL_N_PARAMS
};
extern const struct mdl_param_desc mdl_roofline_params[MDL_N_PARAMS];
double mdl_roofline_param_get(const struct mdl_roofline *m, int i);
void mdl_roofline_param_set(struct mdl_roofline *m, int i, double v);
/* Index of a parameter by name, or -1. */
int mdl_roofline_param_find(const char *name);

/* ---- memory: the KV-cache budget ---------------------------------------------
 *
 * As vLLM computes it (determine_available_memory): per GPU, the share
 * mem_util of the device memory, minus the weights' share, minus the
 * activation peak of a profiling step of max_batched_tokens tokens (with
 * the sampler over max_seqs rows), minus non-torch memory and (where the
 * engine counts it) CUDA-graph memory; divided into blocks of block_tokens
 * tokens of every layer, floored.  Extra weight bytes (a draft model) and
 * extra KV bytes per token (its cache) can be added. */
struct mdl_kv_budget {
    double total_bytes;        /* per GPU */
    double usable_bytes;       /* mem_util x total */
    double weight_bytes;       /* per GPU */
    double activation_bytes;   /* per GPU */
    double non_torch_bytes;    /* per GPU */
    double cuda_graph_bytes;   /* per GPU */
    double kv_bytes;           /* per GPU, before flooring to blocks (<= 0: no room) */
    double bytes_per_token;    /* KV bytes per token per GPU (replicated heads included) */
    double blocks;             /* whole blocks of the replica */
    double tokens;             /* blocks x block_tokens */
};
void mdl_kv_budget(const struct mdl_roofline *m, double mem_util, double max_batched_tokens, int max_seqs,
                   int block_tokens, double extra_weight_bytes, double extra_kv_bytes_per_token,
                   struct mdl_kv_budget *out);
/* Activation peak of the engine's profiling step, bytes per GPU. */
double mdl_activation_peak_bytes(enum mdl_engine e, const struct mdl_llm *l, int tp, double max_batched_tokens,
                                 int max_seqs);
/* CUDA-graph memory of a replica's GPU as the engine estimates it, bytes. */
double mdl_cuda_graph_bytes(enum mdl_engine e, const struct mdl_llm *l);

/* Calibrated defaults (docs/calibration.md, "GPU timing"). */
extern const double MDL_ROOFLINE_DEFAULT_MFU;     /* GPUs without measured values */
extern const double MDL_ROOFLINE_DEFAULT_MBU;
extern const double MDL_ROOFLINE_DEFAULT_GEMM_HALF_TOKENS;
extern const double MDL_ROOFLINE_DEFAULT_ATTN_MFU;
extern const double MDL_ROOFLINE_DEFAULT_ATTN_MBU;
extern const double MDL_ROOFLINE_DEFAULT_STEP_OVERHEAD_S; /* the default engine's (vllm-v1) */
extern const double MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S;
extern const double MDL_ROOFLINE_DEFAULT_LINK_EFF;
extern const double MDL_ROOFLINE_DEFAULT_LAYER_OVERHEAD_S;

/* Speculative decoding (Leviathan et al. 2023): with k speculated tokens and
 * per-token acceptance rate a, the expected tokens produced per verify step
 * is (1 - a^(k+1)) / (1 - a) (k + 1 when a = 1).  a in [0, 1], k >= 0. */
double mdl_spec_tokens_per_step(double acceptance, int k);

extern const char mdl_catalog_gpus_yaml[];
extern const char mdl_catalog_llms_yaml[];

#endif
