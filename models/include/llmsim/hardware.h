/* llmsim: GPU and LLM catalog entries, numeric formats, and the roofline
 * iteration-time model.
 *
 * Entries are plain structs; the catalogs (models/catalog/gpus.yaml and
 * llms.yaml) are compiled into the binary as text (mdl_catalog_gpus_yaml,
 * mdl_catalog_llms_yaml) and parsed by scenarios/, which also accepts inline
 * entries in a scenario.
 *
 * The roofline model (design.md section 4) times one iteration of a serving
 * engine on one replica of tp GPUs.  The kernels of an iteration run one after
 * another, and each is bound either by compute or by memory; the model groups
 * them in two classes, the linear layers (GEMMs over the weights) and
 * attention (over the KV cache), and takes the roofline of each:
 *
 *   linear    = max(2 x active params x tokens / P, weight bytes / BW)
 *   attention = max(4 x layers x heads x head_dim x attended pairs / P,
 *                   KV bytes per token x r x (context read + tokens written) / BW)
 *   comm      = 2 x layers x (allreduce_latency + 2 (tp - 1) / tp x tokens x hidden x 2 bytes
 *                             / (link_gbs x link_eff))                 (tp > 1 only)
 *   time      = linear + attention + comm + step_overhead
 *
 *   P  = tp x peak FLOP/s x mfu,   BW = tp x memory bandwidth x mbu
 *
 * Summing the two classes instead of taking one max(all FLOPs / P, all bytes
 * / BW) matters for mixed batches, where compute-bound GEMMs and
 * memory-bound attention share an iteration but cannot overlap: against the
 * TensorRT-LLM throughput table the single max overestimates throughput by up
 * to 39%, the sum stays within 24% (docs/calibration.md).  For a pure decode
 * at small batch or a pure prefill the two forms agree.
 *
 * "tokens" are the tokens processed in the iteration (prefill chunk tokens
 * plus one per decoding request, or k + 1 per request when verifying k
 * speculated tokens) and "attended pairs" the (query, key) pairs of causal
 * attention.  Weights are read once per iteration; for a mixture of experts
 * only the experts that some token is routed to: with E experts, top-k and T
 * tokens, a share 1 - (1 - k/E)^T of the expert weights (tokens are routed
 * independently, so this counts tokens, not requests).  The expert weights
 * are E x (params - active) / (E - k): 45.1B of Mixtral-8x7B's 46.7B
 * (= 32 layers x 8 x 3 x 4096 x 14336), 653.8B of DeepSeek-V3's 671B; the rest
 * (attention, embeddings, dense layers, shared experts) is read every time.
 * r = max(1, tp / kv_heads): engines replicate KV heads when tp exceeds them
 * (MLA's single latent, kv_heads = 1, is on every GPU).
 *
 * Peak is the FP8 peak when the weights are fp8 and the GPU has FP8 units,
 * else the BF16 peak.  Weights in fp8 on a GPU without FP8 units (A100) are
 * weight-only FP8, as vLLM's Marlin kernels run them: 1-byte weight reads,
 * BF16 compute.  int8 and int4 weights are weight-only too (they shrink bytes,
 * not FLOPs).  Activations cross the link in 16 bits whatever the weights.
 *
 * The efficiency factors are calibrated per transformer layer, element-wise
 * kernels included (docs/calibration.md, "GPU timing: the roofline model");
 * the step overhead covers what the roofline does not see (scheduling,
 * sampling, kernel gaps).  The functions are pure: O(1), no allocation. */
#ifndef LLMSIM_HARDWARE_H
#define LLMSIM_HARDWARE_H

#include "llmsim/error.h"

#define MDL_ID_MAX 64

struct mdl_gpu {
    char id[MDL_ID_MAX];     /* "h100-sxm" */
    double bf16_tflops;      /* dense peak, TFLOP/s */
    double fp8_tflops;       /* dense peak, TFLOP/s; 0 = no FP8 units */
    double memory_gb;        /* HBM, GB (10^9 bytes) */
    double bandwidth_gbs;    /* HBM bandwidth, GB/s */
    double link_gbs;         /* scale-up link (NVLink / Infinity Fabric / PCIe), GB/s per GPU */
    double hour_usd;         /* default on-demand price per GPU-hour */
    double mfu;              /* measured share of peak FLOP/s; 0 = the roofline default */
    double mbu;              /* measured share of peak bandwidth; 0 = the roofline default */
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
    char source[160];
    char date[16];
};

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
/* Weight bytes one iteration of `tokens` tokens reads: all of them for a dense
 * model; for a mixture of experts the dense part plus the expected share of
 * expert weights that at least one token is routed to (see above).  Equals
 * the active parameters' bytes at one token and tends to all weights. */
double mdl_llm_touched_weight_bytes(const struct mdl_llm *m, enum mdl_dtype w, double tokens);

struct mdl_roofline {
    struct mdl_gpu gpu;
    struct mdl_llm llm;
    int tp;                   /* GPUs per replica */
    enum mdl_dtype weights;
    enum mdl_dtype kv;
    double mfu;               /* achieved share of peak FLOP/s, (0, 1] */
    double mbu;               /* achieved share of peak bandwidth, (0, 1] */
    double step_overhead_s;   /* per iteration: scheduling, kernel launches, sampling */
    double allreduce_latency_s; /* fixed cost of one all-reduce (tp > 1) */
    double link_eff;          /* achieved share of link_gbs as all-reduce bus bandwidth, (0, 1] */
};

/* Fills *m for a replica of tp GPUs with the calibrated defaults: mfu and mbu
 * from the GPU entry where it has them (> 0), else the global defaults; the
 * step overhead, all-reduce latency and link efficiency defaults.  A scenario
 * then overrides single fields.  Does not check (mdl_roofline_check does). */
void mdl_roofline_init(struct mdl_roofline *m, const struct mdl_gpu *gpu, const struct mdl_llm *llm,
                       int tp, enum mdl_dtype weights, enum mdl_dtype kv);

/* What one iteration processes. */
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
    double requests;          /* distinct requests in the batch (informational: the MoE
                                 coverage counts tokens, which are routed independently) */
};

struct mdl_iter_cost {
    double time_s;       /* the iteration time */
    double flops;        /* total over the tp GPUs */
    double bytes;        /* total over the tp GPUs */
    double compute_s;    /* all FLOPs / P (for reports; the time uses the classes) */
    double memory_s;     /* all bytes / BW (for reports) */
    double linear_s;     /* linear class: max(its FLOPs / P, weight bytes / BW) */
    double attention_s;  /* attention class: max(its FLOPs / P, KV bytes / BW) */
    double comm_s;       /* all-reduce term */
};

/* Times one iteration.  iter fields must be >= 0; an iteration with no
 * tokens costs nothing (all fields 0). */
void mdl_roofline_iter(const struct mdl_roofline *m, const struct mdl_iter *it, struct mdl_iter_cost *out);

/* Checks a roofline configuration: positive GPU and model sizes, active <=
 * total parameters, experts and top-k consistent, tp >= 1 dividing heads, tp
 * and kv_heads dividing one another, known dtypes, 0 < mfu, mbu <= 1, step
 * overhead and all-reduce latency >= 0, and for tp > 1 a link (link_gbs > 0)
 * and 0 < link_eff <= 1, and weights that fit the tp GPUs' memory.  FP8
 * weights are accepted on GPUs without FP8 units (weight-only, see above).
 * Returns 0 or LLMSIM_ERANGE with a message in err (no location). */
int mdl_roofline_check(const struct mdl_roofline *m, struct llmsim_error *err);

/* KV-cache tokens a replica holds when the engine may use a share mem_util of
 * the tp GPUs' memory for weights and KV cache (vLLM's
 * gpu_memory_utilization): (mem_util x tp x memory - weight bytes) / (KV bytes
 * per token x r); 0 when the weights leave no room. */
double mdl_roofline_kv_capacity_tokens(const struct mdl_roofline *m, double mem_util);

/* Calibrated defaults (docs/calibration.md, "GPU timing: the roofline model"). */
extern const double MDL_ROOFLINE_DEFAULT_MFU;     /* GPUs without measured values */
extern const double MDL_ROOFLINE_DEFAULT_MBU;
extern const double MDL_ROOFLINE_DEFAULT_STEP_OVERHEAD_S;
extern const double MDL_ROOFLINE_DEFAULT_ALLREDUCE_LATENCY_S;
extern const double MDL_ROOFLINE_DEFAULT_LINK_EFF;

/* Speculative decoding (Leviathan et al. 2023): with k speculated tokens and
 * per-token acceptance rate a, the expected tokens produced per verify step
 * is (1 - a^(k+1)) / (1 - a) (k + 1 when a = 1).  a in [0, 1], k >= 0. */
double mdl_spec_tokens_per_step(double acceptance, int k);

extern const char mdl_catalog_gpus_yaml[];
extern const char mdl_catalog_llms_yaml[];

#endif
