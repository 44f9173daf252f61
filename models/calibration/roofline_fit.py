#!/usr/bin/python3
"""Calibrate llmsim's roofline GPU timing model and check it against published throughput.

The roofline model (models/include/llmsim/hardware.h, models/src/hardware.c) times one
iteration of a serving engine on a replica of tp GPUs:

    linear    = max(2 x active params x tokens / (tp x peak x mfu),
                    weight bytes / (tp x bandwidth x mbu))
    attention = max(4 x layers x heads x head_dim x attended pairs / (tp x peak x mfu),
                    KV bytes read and written / (tp x bandwidth x mbu))
    comm      = 2 x layers x (allreduce_latency + 2 (tp-1)/tp x tokens x hidden x 2 B
                              / (link x link_eff))                     (tp > 1 only)
    time      = linear + attention + comm + step_overhead

This script sets the defaults of mfu, mbu, step_overhead_s, allreduce_latency_s and link_eff:

  (a) Per-operator profiles (Vidur, models/calibration/vidur-profiles/*_mlp.csv): the measured
      times of the projection GEMMs (QKV, output, gate+up, down) and of the element-wise
      kernels of one transformer layer, for Llama-2-7B/70B and Llama-3-8B/70B on A100 and
      H100, at 1 to 32768 tokens and tensor parallelism 1, 2, 4, 8.  Large token counts fix
      mfu (achieved FLOP/s / peak), small ones mbu (weight bytes / time / peak bandwidth).
  (b) All-reduce profiles (Vidur, *_all_reduce.csv): NCCL all-reduce kernel times on DGX
      A100 and DGX H100 from 2 KB to 64 MB, which fix allreduce_latency_s and link_eff, and
      are compared with the all-reduces of decode iterations.
  (c) The step overhead: vLLM v0.6.0 emits one token every ~13 ms for Llama-3-8B on one H100
      at light load (facts.md); the rest of that after the roofline's batch-1 time is
      overhead.  The TensorRT-LLM max-throughput table (facts.md) is an independent check.
  (d) The analytic check against the TensorRT-LLM table: saturation_throughput() estimates
      the output tokens/s of a continuous-batching engine whose batch fills the KV memory,
      with each request's prefill folded into the decode iterations.

Run:  /usr/bin/python3 models/calibration/roofline_fit.py
Prints the Markdown tables of docs/calibration.md ("GPU timing: the roofline model") on
stdout.  Needs only numpy.  The roofline functions below mirror models/src/hardware.c line
for line so that the C tests can assert the numbers printed here.
"""

import csv
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VIDUR_DIR = os.path.join(HERE, "vidur-profiles")
CATALOG_DIR = os.path.join(ROOT, "models", "catalog")

# ---------------------------------------------------------------------------------------------
# Chosen defaults (what models/src/hardware.c and models/catalog/gpus.yaml carry).  The script
# prints the evidence for each; change them here and there together.
# ---------------------------------------------------------------------------------------------
DEFAULT_MFU = 0.64            # GPUs without a measured value (pooled A100 and H100 layers)
DEFAULT_MBU = 0.66
GPU_EFF = {                   # per-GPU values (gpus.yaml keys mfu, mbu), measured GPUs only
    "a100-80gb": (0.65, 0.65),
    "h100-sxm": (0.60, 0.67),
}
DEFAULT_STEP_OVERHEAD_S = 6.0e-3
DEFAULT_ALLREDUCE_LATENCY_S = 30e-6
DEFAULT_LINK_EFF = 0.30

DTYPE_BYTES = {"bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}

# Token counts that define the regimes of the per-operator comparison.
MEMORY_BOUND_MAX_TOKENS = 32     # mbu is measured at 1..32 tokens
COMPUTE_BOUND_MIN_TOKENS = 1024  # mfu at >= 1024 tokens

# Vidur file names to catalog ids.
VIDUR_GPU = {"a100": "a100-80gb", "h100": "h100-sxm"}
VIDUR_MODEL = {
    "meta-llama_Llama-2-7b-hf": "llama-2-7b",
    "meta-llama_Llama-2-70b-hf": "llama-2-70b",
    "meta-llama_Meta-Llama-3-8B": "llama-3.1-8b",   # same shapes as Llama-3-8B
    "meta-llama_Meta-Llama-3-70B": "llama-3.1-70b",  # same shapes as Llama-3-70B
}
GEMM_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
ELEMENTWISE_OPS = ("input_layernorm", "attn_rope", "post_attention_layernorm", "mlp_act", "add")

# ---------------------------------------------------------------------------------------------
# Catalog reader: the catalogs are flat lists of mappings of scalars, so a few lines suffice
# (no PyYAML needed).
# ---------------------------------------------------------------------------------------------


def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_catalog(name, top):
    """Entries of models/catalog/NAME under the top-level key TOP, as a dict id -> dict."""
    entries, cur = {}, None
    with open(os.path.join(CATALOG_DIR, name)) as f:
        for raw in f:
            line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip() or line.strip() == top + ":":
                continue
            body = line.strip()
            if body.startswith("- "):
                cur = {}
                body = body[2:]
            key, _, val = body.partition(":")
            cur[key.strip()] = _scalar(val)
            if key.strip() == "id":
                entries[cur["id"]] = cur
    return entries


GPUS = read_catalog("gpus.yaml", "gpus")
LLMS = read_catalog("llms.yaml", "llms")

# ---------------------------------------------------------------------------------------------
# The roofline model (mirror of models/src/hardware.c)
# ---------------------------------------------------------------------------------------------


def kv_bytes_per_token(llm, kv):
    if llm["kv_bytes_per_token"] > 0:
        return llm["kv_bytes_per_token"] * DTYPE_BYTES[kv] / 2.0
    return 2.0 * llm["layers"] * llm["kv_heads"] * llm["head_dim"] * DTYPE_BYTES[kv]


def weight_bytes(llm, w):
    return llm["params_b"] * 1e9 * DTYPE_BYTES[w]


def expert_params(llm):
    """Parameters of all routed experts: E x (total - active) / (E - k)."""
    e, k = llm["experts"], llm["experts_per_token"]
    if e == 0 or k >= e:
        return 0.0
    return e * (llm["params_b"] - llm["active_params_b"]) * 1e9 / (e - k)


def touched_weight_bytes(llm, w, tokens):
    """Weights read by an iteration of `tokens` tokens: the dense part, plus for MoE the
    expected share of experts that at least one token routes to, 1 - (1 - k/E)^T."""
    ep = expert_params(llm)
    if ep == 0.0:
        return weight_bytes(llm, w)
    dense = llm["params_b"] * 1e9 - ep
    cover = 1.0 - (1.0 - llm["experts_per_token"] / llm["experts"]) ** tokens
    return (dense + ep * cover) * DTYPE_BYTES[w]


def roofline(gpu, llm, tp=1, weights="bf16", kv="bf16", mfu=None, mbu=None,
             step_overhead_s=DEFAULT_STEP_OVERHEAD_S, allreduce_latency_s=DEFAULT_ALLREDUCE_LATENCY_S,
             link_eff=DEFAULT_LINK_EFF):
    """A roofline configuration (struct mdl_roofline), with mdl_roofline_init's defaults."""
    g, m = GPUS[gpu], LLMS[llm]
    gm, gb = GPU_EFF.get(gpu, (DEFAULT_MFU, DEFAULT_MBU))
    return dict(gpu=g, llm=m, tp=tp, weights=weights, kv=kv,
                mfu=gm if mfu is None else mfu, mbu=gb if mbu is None else mbu,
                step_overhead_s=step_overhead_s, allreduce_latency_s=allreduce_latency_s,
                link_eff=link_eff)


def iteration(prefill_tokens=0.0, prefill_pairs=0.0, prefill_kv_read=0.0, decode_tokens=0.0,
              decode_context=0.0, decode_kv_read=0.0):
    return dict(prefill_tokens=prefill_tokens, prefill_pairs=prefill_pairs,
                prefill_kv_read=prefill_kv_read, decode_tokens=decode_tokens,
                decode_context=decode_context, decode_kv_read=decode_kv_read)


def roofline_iter(r, it, split=True):
    """Cost of one iteration (struct mdl_iter_cost).  split=False gives the single-max form
    max(all FLOPs / P, all bytes / BW) that the model started from, for comparison."""
    g, m, tp = r["gpu"], r["llm"], r["tp"]
    tokens = it["prefill_tokens"] + it["decode_tokens"]
    out = dict(time_s=0.0, flops=0.0, bytes=0.0, compute_s=0.0, memory_s=0.0, comm_s=0.0,
               linear_s=0.0, attention_s=0.0)
    if tokens <= 0:
        return out
    fp8 = r["weights"] == "fp8" and g["fp8_tflops"] > 0
    peak = (g["fp8_tflops"] if fp8 else g["bf16_tflops"]) * 1e12
    flop_rate = tp * peak * r["mfu"]
    byte_rate = tp * g["bandwidth_gbs"] * 1e9 * r["mbu"]
    lin_flops = 2.0 * m["active_params_b"] * 1e9 * tokens
    att_flops = 4.0 * m["layers"] * m["heads"] * m["head_dim"] * (it["prefill_pairs"] + it["decode_context"])
    w_bytes = touched_weight_bytes(m, r["weights"], tokens)
    replicas = max(1.0, tp / m["kv_heads"])
    dec_read = it["decode_kv_read"] if it["decode_kv_read"] > 0 else it["decode_context"]
    kv_bytes = kv_bytes_per_token(m, r["kv"]) * replicas * (it["prefill_kv_read"] + dec_read + tokens)
    out["flops"] = lin_flops + att_flops
    out["bytes"] = w_bytes + kv_bytes
    out["compute_s"] = out["flops"] / flop_rate
    out["memory_s"] = out["bytes"] / byte_rate
    out["linear_s"] = max(lin_flops / flop_rate, w_bytes / byte_rate)
    out["attention_s"] = max(att_flops / flop_rate, kv_bytes / byte_rate)
    if tp > 1:
        size = tokens * m["hidden"] * 2.0
        one = r["allreduce_latency_s"] + 2.0 * (tp - 1) / tp * size / (g["link_gbs"] * 1e9 * r["link_eff"])
        out["comm_s"] = 2.0 * m["layers"] * one
    body = out["linear_s"] + out["attention_s"] if split else max(out["compute_s"], out["memory_s"])
    out["time_s"] = body + out["comm_s"] + r["step_overhead_s"]
    return out


def kv_capacity_tokens(r, mem_fraction=0.9, rule="free"):
    """KV tokens a replica holds.  rule 'free' (TensorRT-LLM's kv_cache_free_gpu_mem_fraction):
    mem_fraction x (memory - weights); rule 'total' (vLLM's gpu_memory_utilization, llmsim's
    mdl_roofline_kv_capacity_tokens): mem_fraction x memory - weights."""
    g, m, tp = r["gpu"], r["llm"], r["tp"]
    mem = tp * g["memory_gb"] * 1e9
    w = weight_bytes(m, r["weights"])
    free = mem_fraction * (mem - w) if rule == "free" else mem_fraction * mem - w
    per_token = kv_bytes_per_token(m, r["kv"]) * max(1.0, tp / m["kv_heads"])
    return max(0.0, free / per_token)


def chunk_kv_reads(isl, chunk_tokens):
    """Sum over the chunks of a chunked prefill of the cached tokens each chunk reads."""
    total, p = 0.0, 0
    while p < isl:
        c = min(chunk_tokens, isl - p)
        total += p
        p += c
    return total


def saturation_throughput(r, isl, osl, mem_fraction=0.9, max_batch=2048, chunk_tokens=8192,
                          reserve="max", split=True):
    """Output tokens/s of a continuous-batching engine held at saturation.

    The batch is as large as the KV memory allows (capped at max_batch): with reserve='max'
    each running request holds KV for its whole isl + osl tokens (TensorRT-LLM's default
    GUARANTEED_NO_EVICT capacity policy); with reserve='mean' it holds its current context,
    isl + osl/2 on average (vLLM's paged allocation).  In steady state B/osl requests finish
    per iteration and as many start, so each iteration decodes B tokens (context isl + osl/2
    on average) and prefills B x isl / osl prompt tokens (chunked by chunk_tokens); the
    prefill is folded into the same iteration (chunked prefill / in-flight batching).
    Returns a dict with the batch, the iteration cost and the throughput B / time.

    Reusable: the engine team replaces this estimate by a simulated run of the same
    scenario; keep the signature."""
    cap = kv_capacity_tokens(r, mem_fraction)
    per_req = isl + osl if reserve == "max" else isl + osl / 2.0
    batch = min(float(max_batch), math.floor(cap / per_req))
    starts = batch / osl
    it = iteration(prefill_tokens=starts * isl,
                   prefill_pairs=starts * isl * (isl + 1) / 2.0,
                   prefill_kv_read=starts * chunk_kv_reads(isl, chunk_tokens),
                   decode_tokens=batch,
                   decode_context=batch * (isl + osl / 2.0))
    c = roofline_iter(r, it, split)
    return dict(batch=batch, kv_capacity=cap, cost=c, tokens_per_s=batch / c["time_s"])


# ---------------------------------------------------------------------------------------------
# (a) Per-operator profiles
# ---------------------------------------------------------------------------------------------


def load_mlp_profiles():
    """Rows of every *_mlp.csv: one per (gpu, model, tp, tokens), duplicates averaged."""
    rows = []
    for name in sorted(os.listdir(VIDUR_DIR)):
        if not name.endswith("_mlp.csv"):
            continue
        dev, model = name[: name.index("_")], name[name.index("_") + 1: -len("_mlp.csv")]
        groups = {}
        with open(os.path.join(VIDUR_DIR, name)) as f:
            for rec in csv.DictReader(f):
                key = (int(rec["num_tensor_parallel_workers"]), int(rec["num_tokens"]))
                groups.setdefault(key, []).append(rec)
        for (tp, tokens), recs in sorted(groups.items()):
            r0 = recs[0]
            h, inter = int(r0["n_embd"]), int(r0["n_expanded_embd"])
            heads, kvh = int(r0["n_head"]), int(r0["n_kv_head"])
            d = h // heads
            shapes = {  # (K, N) of each GEMM on one GPU
                "attn_pre_proj": (h, (heads + 2 * kvh) * d // tp),
                "attn_post_proj": (heads * d // tp, h),
                "mlp_up_proj": (h, 2 * inter // tp),
                "mlp_down_proj": (inter // tp, h),
            }
            t = {op: float(np.mean([float(x["time_stats.%s.median" % op]) for x in recs])) * 1e-3
                 for op in GEMM_OPS + ELEMENTWISE_OPS}
            rows.append(dict(gpu=VIDUR_GPU[dev], model=VIDUR_MODEL[model], tp=tp, tokens=tokens,
                             flops=sum(2.0 * tokens * k * n for k, n in shapes.values()),
                             wbytes=sum(2.0 * k * n for k, n in shapes.values()),
                             t_gemm=sum(t[op] for op in GEMM_OPS),
                             t_layer=sum(t[op] for op in GEMM_OPS + ELEMENTWISE_OPS),
                             op_times=t, shapes=shapes))
    return rows


def deployable(model, tp):
    """Configurations one would serve: 7-8B models on 1-2 GPUs, 70B models on 2-8 (a 70B
    model does not fit one 80 GB GPU in BF16)."""
    return tp <= 2 if LLMS[model]["params_b"] < 20 else tp >= 2


def achieved(rows, kind, col):
    """Achieved share of peak: mfu from compute-bound rows, mbu from memory-bound rows."""
    out = []
    for x in rows:
        g = GPUS[x["gpu"]]
        if kind == "mfu" and x["tokens"] >= COMPUTE_BOUND_MIN_TOKENS:
            out.append(x["flops"] / x[col] / (g["bf16_tflops"] * 1e12))
        elif kind == "mbu" and x["tokens"] <= MEMORY_BOUND_MAX_TOKENS:
            out.append(x["wbytes"] / x[col] / (g["bandwidth_gbs"] * 1e9))
    return np.array(out)


def predict_layer(x, mfu, mbu):
    g = GPUS[x["gpu"]]
    return max(x["flops"] / (g["bf16_tflops"] * 1e12 * mfu), x["wbytes"] / (g["bandwidth_gbs"] * 1e9 * mbu))


def regime(tokens):
    if tokens <= 64:
        return "memory (1-64)"
    if tokens < COMPUTE_BOUND_MIN_TOKENS:
        return "knee (65-1023)"
    return "compute (>= 1024)"


def fmt_pct(x):
    return "%+.0f%%" % (100 * x)


def section_operators(rows):
    print("### (a) Per-operator profiles: achieved mfu and mbu\n")
    print("Per transformer layer on one GPU of the tensor-parallel group.  'GEMM' counts the four")
    print("projection GEMMs only; 'layer' adds the element-wise kernels (2 RMSNorms, rotary")
    print("embedding, SiLU-and-multiply, residual add), which the roofline has no term for and")
    print("which therefore belong in the efficiency factors.  mbu: median over 1-32 tokens; mfu:")
    print("median over >= 1024 tokens.  * = deployable configuration (used for the defaults).\n")
    print("| GPU | model | tp | mbu GEMM | mbu layer | mfu GEMM | mfu layer | element-wise share of layer time at 1 / 4096 tokens |")
    print("|---|---|---|---|---|---|---|---|")
    configs = sorted({(x["gpu"], x["model"], x["tp"]) for x in rows})
    for gpu, model, tp in configs:
        sel = [x for x in rows if (x["gpu"], x["model"], x["tp"]) == (gpu, model, tp)]
        small = [x for x in sel if x["tokens"] == 1][0]
        big = [x for x in sel if x["tokens"] == 4096][0]
        print("| %s | %s | %d%s | %.2f | %.2f | %.2f | %.2f | %.0f%% / %.0f%% |" % (
            gpu, model, tp, " *" if deployable(model, tp) else "",
            np.median(achieved(sel, "mbu", "t_gemm")), np.median(achieved(sel, "mbu", "t_layer")),
            np.median(achieved(sel, "mfu", "t_gemm")), np.median(achieved(sel, "mfu", "t_layer")),
            100 * (1 - small["t_gemm"] / small["t_layer"]), 100 * (1 - big["t_gemm"] / big["t_layer"])))
    print()
    print("Medians over the deployable configurations of each GPU:\n")
    print("| GPU | mbu GEMM | mbu layer | mfu GEMM | mfu layer | chosen mfu, mbu |")
    print("|---|---|---|---|---|---|")
    pooled = {"mfu": [], "mbu": []}
    for gpu in sorted({x["gpu"] for x in rows}):
        sel = [x for x in rows if x["gpu"] == gpu and deployable(x["model"], x["tp"])]
        vals = [np.median(achieved(sel, k, c)) for k, c in
                (("mbu", "t_gemm"), ("mbu", "t_layer"), ("mfu", "t_gemm"), ("mfu", "t_layer"))]
        pooled["mbu"].extend(achieved(sel, "mbu", "t_layer"))
        pooled["mfu"].extend(achieved(sel, "mfu", "t_layer"))
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.2f, %.2f |" % ((gpu,) + tuple(vals) + GPU_EFF[gpu]))
    print("| both (pooled) | | %.3f | | %.3f | default %.2f, %.2f |" % (
        np.median(pooled["mbu"]), np.median(pooled["mfu"]), DEFAULT_MFU, DEFAULT_MBU))
    print()

    print("Predicted (chosen per-GPU mfu, mbu) vs measured layer time, by regime: median and")
    print("largest |error|, and the median signed error (negative: the roofline is too fast).\n")
    print("| GPU | configurations | regime | rows | median abs error | max abs error | median error |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for gpu in sorted({x["gpu"] for x in rows}):
        mfu, mbu = GPU_EFF[gpu]
        for label, pick in (("deployable", True), ("all", False)):
            sel = [x for x in rows if x["gpu"] == gpu and (not pick or deployable(x["model"], x["tp"]))]
            for reg in ("memory (1-64)", "knee (65-1023)", "compute (>= 1024)"):
                errs = np.array([predict_layer(x, mfu, mbu) / x["t_layer"] - 1 for x in sel if regime(x["tokens"]) == reg])
                summary[(gpu, label, reg)] = errs
                print("| %s | %s | %s | %d | %.0f%% | %.0f%% | %s |" % (
                    gpu, label, reg, len(errs), 100 * np.median(np.abs(errs)), 100 * np.max(np.abs(errs)),
                    fmt_pct(np.median(errs))))
    print()

    print("Examples (layer time in ms, predicted vs measured):\n")
    examples = [("h100-sxm", "llama-2-7b", 1), ("h100-sxm", "llama-2-70b", 4), ("a100-80gb", "llama-3.1-8b", 1),
                ("a100-80gb", "llama-3.1-70b", 8)]
    toks = (1, 16, 64, 128, 256, 512, 1024, 2048, 4096)
    print("| GPU | model | tp | " + " | ".join("%d tok" % t for t in toks) + " |")
    print("|---|---|---|" + "---|" * len(toks))
    for gpu, model, tp in examples:
        mfu, mbu = GPU_EFF[gpu]
        cells = []
        for t in toks:
            x = [x for x in rows if (x["gpu"], x["model"], x["tp"], x["tokens"]) == (gpu, model, tp, t)][0]
            p = predict_layer(x, mfu, mbu)
            cells.append("%.3f / %.3f (%s)" % (p * 1e3, x["t_layer"] * 1e3, fmt_pct(p / x["t_layer"] - 1)))
        print("| %s | %s | %d | %s |" % (gpu, model, tp, " | ".join(cells)))
    print()
    return summary


# ---------------------------------------------------------------------------------------------
# (b) All-reduce profiles
# ---------------------------------------------------------------------------------------------


def load_allreduce():
    out = {}
    for name in sorted(os.listdir(VIDUR_DIR)):
        if not name.endswith("_all_reduce.csv"):
            continue
        gpu = VIDUR_GPU[name[: name.index("_")]]
        with open(os.path.join(VIDUR_DIR, name)) as f:
            for rec in csv.DictReader(f):
                key = (gpu, int(rec["num_workers"]), int(rec["devices_per_node"]))
                out.setdefault(key, []).append((float(rec["size"]), float(rec["time_stats.all_reduce.median"]) * 1e-3))
    return {k: (np.array([s for s, _ in sorted(v)]), np.array([t for _, t in sorted(v)])) for k, v in out.items()}


def fit_allreduce(gpu, n, size, t):
    """t = latency + 2 (n-1)/n x size / (link x eff), least squares on relative error."""
    link = GPUS[gpu]["link_gbs"] * 1e9
    a = np.vstack([np.ones_like(size), 2.0 * (n - 1) / n * size / link]).T / t[:, None]
    coef, *_ = np.linalg.lstsq(a, np.ones_like(t), rcond=None)
    return coef[0], 1.0 / coef[1]  # latency (s), link_eff


def allreduce_model(gpu, n, size, lat=DEFAULT_ALLREDUCE_LATENCY_S, eff=DEFAULT_LINK_EFF):
    return lat + 2.0 * (n - 1) / n * size / (GPUS[gpu]["link_gbs"] * 1e9 * eff)


def section_allreduce(ar):
    print("### (b) All-reduce profiles\n")
    print("NCCL all-reduce kernel time of an fp16 buffer (the CSV's `size` is bytes), median of")
    print("the profiled repetitions.  Fit: t = latency + 2 (n-1)/n x size / (link_gbs x link_eff),")
    print("least squares on relative error over 2 KB - 64 MB.  Inter-node groups (n GPUs over")
    print("fewer nodes) are listed but not used: llmsim keeps a tensor-parallel group in one node.\n")
    print("| GPU | n | GPUs per node | median t at <= 64 KB, us | fitted latency, us | fitted bus bandwidth, GB/s | link_eff | t at 4 MB measured / model, us |")
    print("|---|---|---|---|---|---|---|---|")
    fits = {}
    for (gpu, n, per_node), (size, t) in sorted(ar.items()):
        lat, eff = fit_allreduce(gpu, n, size, t)
        bw = eff * GPUS[gpu]["link_gbs"] * 1e9
        small = np.median(t[size <= 65536]) * 1e6
        i4 = np.argmin(np.abs(size - 4 * 2 ** 20))
        intra = n == per_node
        if intra:
            fits[(gpu, n)] = (lat, bw / (GPUS[gpu]["link_gbs"] * 1e9))
        print("| %s | %d | %d%s | %.0f | %.0f | %.0f | %.2f | %.0f / %s |" % (
            gpu, n, per_node, "" if intra else " (inter-node)", small, lat * 1e6, bw / 1e9,
            bw / (GPUS[gpu]["link_gbs"] * 1e9), t[i4] * 1e6,
            "%.0f" % (allreduce_model(gpu, n, size[i4]) * 1e6) if intra else "-"))
    lats = [v[0] for v in fits.values()]
    effs = [v[1] for v in fits.values()]
    print()
    print("Intra-node medians: latency %.0f us (H100 %.0f us, A100 %.0f us), link_eff %.2f (H100 %.2f, A100 %.2f)." % (
        np.median(lats) * 1e6,
        np.median([v[0] for k, v in fits.items() if k[0] == "h100-sxm"]) * 1e6,
        np.median([v[0] for k, v in fits.items() if k[0] == "a100-80gb"]) * 1e6,
        np.median(effs), np.median([v[1] for k, v in fits.items() if k[0] == "h100-sxm"]),
        np.median([v[1] for k, v in fits.items() if k[0] == "a100-80gb"])))
    print("Chosen: allreduce_latency_s = %.0f us, link_eff = %.2f.\n" % (DEFAULT_ALLREDUCE_LATENCY_S * 1e6, DEFAULT_LINK_EFF))

    print("Error of the chosen all-reduce model against every intra-node measurement, by size:\n")
    print("| GPU | n | <= 256 KB: median error | 256 KB - 4 MB | 4 - 64 MB |")
    print("|---|---|---|---|---|")
    band_errs = {}
    for (gpu, n, per_node), (size, t) in sorted(ar.items()):
        if n != per_node:
            continue
        err = allreduce_model(gpu, n, size) / t - 1
        bands = [(0, 2 ** 18), (2 ** 18, 2 ** 22), (2 ** 22, 2 ** 27)]
        cells = []
        for lo, hi in bands:
            e = err[(size > lo) & (size <= hi)]
            band_errs[(gpu, n, lo)] = e
            cells.append("%s (median abs %.0f%%)" % (fmt_pct(np.median(e)), 100 * np.median(np.abs(e))))
        print("| %s | %d | %s |" % (gpu, n, " | ".join(cells)))
    print()

    print("Decode iterations of Llama-2-70B (80 layers, 2 all-reduces each, context 1,024 per")
    print("request): the all-reduce time per iteration from the model and from the measured")
    print("curve (interpolated at tokens x 8192 x 2 bytes), and its share of the iteration.\n")
    print("| GPU | tp | batch | all-reduce bytes | comm measured, ms | comm model, ms | error | iteration (model), ms | comm share |")
    print("|---|---|---|---|---|---|---|---|---|")
    decode_rows = []
    for gpu in ("h100-sxm", "a100-80gb"):
        for n in (2, 4, 8):
            size, t = ar[(gpu, n, n)]
            for batch in (1, 16, 64, 256):
                nbytes = batch * 8192 * 2.0
                meas = 2 * 80 * float(np.interp(nbytes, size, t))
                r = roofline(gpu, "llama-2-70b", tp=n)
                c = roofline_iter(r, iteration(decode_tokens=batch, decode_context=batch * 1024.0))
                decode_rows.append((gpu, n, batch, meas, c["comm_s"]))
                print("| %s | %d | %d | %.0f KB | %.2f | %.2f | %s | %.2f | %.0f%% |" % (
                    gpu, n, batch, nbytes / 1024, meas * 1e3, c["comm_s"] * 1e3, fmt_pct(c["comm_s"] / meas - 1),
                    c["time_s"] * 1e3, 100 * c["comm_s"] / c["time_s"]))
    print()
    return fits, band_errs, decode_rows


# ---------------------------------------------------------------------------------------------
# (c) Step overhead and (d) the TensorRT-LLM table
# ---------------------------------------------------------------------------------------------

VLLM_ITL_S = 13e-3  # vLLM v0.6.0, Llama-3-8B, one H100, light load (facts.md)

# TensorRT-LLM perf overview, max throughput, output tokens/s (facts.md).
TRT_ROWS = [
    # gpu, model, tp, isl, osl, measured
    ("h100-sxm", "llama-3.1-8b", 1, 128, 128, 28312),
    ("h100-sxm", "llama-3.1-8b", 1, 1000, 1000, 15220),
    ("h100-sxm", "llama-3.1-8b", 1, 2048, 2048, 9305),
    ("h100-sxm", "llama-3.1-8b", 1, 20000, 2000, 1351),
    ("h200", "llama-3.1-8b", 1, 128, 128, 27911),
    ("h200", "llama-3.1-8b", 1, 1000, 1000, 17744),
    ("h200", "llama-3.1-8b", 1, 2048, 2048, 12194),
    ("h200", "llama-3.1-8b", 1, 20000, 2000, 1804),
    ("h100-sxm", "llama-3.3-70b", 2, 1000, 1000, 4205),
    ("h200", "llama-3.3-70b", 1, 1000, 1000, 2909),
    ("h100-sxm", "llama-3.1-405b", 8, 1000, 1000, 2919),
    ("h200", "llama-3.1-405b", 8, 1000, 1000, 3330),
]


def trt_roofline(gpu, model, tp, **kw):
    """The TensorRT-LLM runs: ModelOpt FP8 checkpoints, FP8 weights and FP8 KV cache."""
    return roofline(gpu, model, tp=tp, weights="fp8", kv="fp8", **kw)


def vllm_batch1(step_overhead_s=0.0):
    """vLLM's light-load decode: one request, BF16, a 1,000-token context."""
    r = roofline("h100-sxm", "llama-3.1-8b", step_overhead_s=step_overhead_s)
    return roofline_iter(r, iteration(decode_tokens=1, decode_context=1000))


def section_overhead():
    print("### (c) Step overhead\n")
    c = vllm_batch1(0.0)
    print("vLLM v0.6.0, Llama-3-8B (the shapes of llama-3.1-8b), BF16, one H100, one request with")
    print("a 1,000-token context: the roofline without overhead gives %.2f ms (weights %.2f GB and" % (
        c["time_s"] * 1e3, touched_weight_bytes(LLMS["llama-3.1-8b"], "bf16", 1) / 1e9))
    print("KV %.0f MB at %.0f GB/s x mbu %.2f).  The measured ~13 ms leaves %.1f ms per iteration" % (
        kv_bytes_per_token(LLMS["llama-3.1-8b"], "bf16") * 1001 / 1e6, GPUS["h100-sxm"]["bandwidth_gbs"],
        GPU_EFF["h100-sxm"][1], (VLLM_ITL_S - c["time_s"]) * 1e3))
    print("of overhead (scheduling, input preparation, sampling, detokenisation, and the kernel")
    print("gaps that CUDA graphs do not remove).\n")
    print("The TensorRT-LLM rows imply, each, the overhead that would make the estimate below")
    print("exact (B / measured - iteration time without overhead):\n")
    print("| GPU | model | tp | ISL/OSL | batch | iteration without overhead, ms | implied overhead, ms |")
    print("|---|---|---|---|---|---|---|")
    implied = [VLLM_ITL_S - c["time_s"]]
    for gpu, model, tp, isl, osl, meas in TRT_ROWS:
        s = saturation_throughput(trt_roofline(gpu, model, tp, step_overhead_s=0.0), isl, osl)
        ov = s["batch"] / meas - s["cost"]["time_s"]
        implied.append(ov)
        print("| %s | %s | %d | %d/%d | %.0f | %.1f | %.1f |" % (gpu, model, tp, isl, osl, s["batch"],
                                                             s["cost"]["time_s"] * 1e3, ov * 1e3))
    print()
    print("Implied overhead over the 13 measurements: median %.1f ms (vLLM %.1f ms; TensorRT-LLM" % (
        np.median(implied) * 1e3, implied[0] * 1e3))
    print("rows from %.1f to %.1f ms).  Chosen: step_overhead_s = %.1f ms.\n" % (
        min(implied[1:]) * 1e3, max(implied[1:]) * 1e3, DEFAULT_STEP_OVERHEAD_S * 1e3))
    full = vllm_batch1(DEFAULT_STEP_OVERHEAD_S)
    print("With the defaults the vLLM light-load case gives %.1f ms per token (measured ~13 ms, %s).\n" % (
        full["time_s"] * 1e3, fmt_pct(full["time_s"] / VLLM_ITL_S - 1)))
    return implied, full


def section_trt():
    print("### (d) Check against the TensorRT-LLM max-throughput table\n")
    print("saturation_throughput() with the defaults; FP8 weights and FP8 KV cache; KV budget =")
    print("0.9 x (memory - weights); each request reserves KV for ISL + OSL tokens (TensorRT-LLM's")
    print("default GUARANTEED_NO_EVICT policy); batch capped at 2,048; prefill chunks of 8,192.\n")
    print("| GPU | model | tp | ISL/OSL | batch | iteration ms (linear + attention + comm + overhead) | predicted tok/s | measured tok/s | error |")
    print("|---|---|---|---|---|---|---|---|---|")
    errs = []
    for gpu, model, tp, isl, osl, meas in TRT_ROWS:
        s = saturation_throughput(trt_roofline(gpu, model, tp), isl, osl)
        c = s["cost"]
        e = s["tokens_per_s"] / meas - 1
        errs.append(e)
        print("| %s | %s | %d | %d/%d | %.0f | %.1f (%.1f + %.1f + %.1f + %.1f) | %.0f | %d | %s |" % (
            gpu, model, tp, isl, osl, s["batch"], c["time_s"] * 1e3, c["linear_s"] * 1e3, c["attention_s"] * 1e3,
            c["comm_s"] * 1e3, DEFAULT_STEP_OVERHEAD_S * 1e3, s["tokens_per_s"], meas, fmt_pct(e)))
    errs = np.array(errs)
    print()
    print("Median |error| %.0f%%, largest %.0f%%, median signed %s.\n" % (
        100 * np.median(np.abs(errs)), 100 * np.max(np.abs(errs)), fmt_pct(np.median(errs))))

    print("Sensitivity of the estimate (median |error| and median signed error over the 12 rows):\n")
    print("| variant | median abs error | median error | largest abs error |")
    print("|---|---|---|---|")
    variants = [
        ("defaults (above)", {}, {}),
        ("single max(FLOPs, bytes) instead of linear + attention", {}, {"split": False}),
        ("paged KV: requests hold isl + osl/2 on average", {}, {"reserve": "mean"}),
        ("no batch cap", {}, {"max_batch": 10 ** 9}),
        ("BF16 KV cache", {"kv": "bf16"}, {}),
        ("GEMM-only efficiencies (mfu 0.71, mbu 0.76: H100 GEMMs without the element-wise kernels)", {"mfu": 0.71, "mbu": 0.76}, {}),
        ("no step overhead", {"step_overhead_s": 0.0}, {}),
    ]
    sens = {}
    for label, rkw, skw in variants:
        es = []
        for gpu, model, tp, isl, osl, meas in TRT_ROWS:
            kw = dict(rkw)
            kv = kw.pop("kv", "fp8")
            r = roofline(gpu, model, tp=tp, weights="fp8", kv=kv, **kw)
            es.append(saturation_throughput(r, isl, osl, **skw)["tokens_per_s"] / meas - 1)
        es = np.array(es)
        sens[label] = es
        print("| %s | %.0f%% | %s | %.0f%% |" % (label, 100 * np.median(np.abs(es)), fmt_pct(np.median(es)),
                                                100 * np.max(np.abs(es))))
    print()
    return errs, sens


def check_catalog():
    """The per-GPU values above must be the ones gpus.yaml carries (and no other GPU has any)."""
    ok = True
    for gid, g in GPUS.items():
        want = GPU_EFF.get(gid)
        have = (g.get("mfu"), g.get("mbu")) if "mfu" in g or "mbu" in g else None
        if want != have:
            print("roofline_fit.py: gpus.yaml %s has mfu/mbu %s, this script %s" % (gid, have, want), file=sys.stderr)
            ok = False
    return ok


def main():
    np.set_printoptions(precision=4)
    if not check_catalog():
        return 1
    rows = load_mlp_profiles()
    section_operators(rows)
    section_allreduce(load_allreduce())
    section_overhead()
    section_trt()
    print("Defaults: mfu %.2f, mbu %.2f (per GPU: %s), step_overhead_s %.4f, allreduce_latency_s %.1e, link_eff %.2f" % (
        DEFAULT_MFU, DEFAULT_MBU, ", ".join("%s %.2f/%.2f" % (k, v[0], v[1]) for k, v in sorted(GPU_EFF.items())),
        DEFAULT_STEP_OVERHEAD_S, DEFAULT_ALLREDUCE_LATENCY_S, DEFAULT_LINK_EFF))
    return 0


if __name__ == "__main__":
    sys.exit(main())
