#!/usr/bin/python3
"""Convert the Vidur operator and all-reduce profiles into step rows for `llmsim calibrate steps`.

Input: models/calibration/vidur-profiles/ (see its README.md for the columns and units).
Output: models/calibration/vidur-steps.csv, the measurement file behind the shipped calibration
models/calibration/vidur.yaml:

    ./build/llmsim calibrate steps models/calibration/vidur-steps.csv -o models/calibration/vidur.yaml

Rows (docs/calibrate.md defines the kinds):

  linear     one per (GPU, model, tp, token count) of *_mlp.csv: the time of the linear layers
             of the whole transformer body on one GPU of the tensor-parallel group, i.e. the
             per-layer sum of the four projection GEMMs and the element-wise kernels that run
             with them (the set docs/calibration.md counts as "the layer":
             attn_pre_proj, attn_post_proj, mlp_up_proj, mlp_down_proj, input_layernorm,
             post_attention_layernorm, attn_rope, mlp_act, add), medians in ms, times the
             model's layer count.  batch = 1, prompt_tokens = the token count.  Token counts
             profiled twice are averaged.  Only the configurations one would serve are kept,
             as in docs/calibration.md: 7-8B models at tp 1-2, 70B models at tp 2-8.
  allreduce  one per (GPU, GPUs, buffer size) of *_all_reduce.csv within one node
             (num_workers == devices_per_node): the median NCCL all-reduce time of an fp16
             buffer of `size` bytes.  A row names a model whose hidden activations make the
             buffer: llama-2-70b (hidden 8192, 16,384 bytes per token), prompt_tokens = size /
             16384.  Below 1 MB Vidur profiled sizes of 2 KB + k x 8 KB, which are not whole
             tokens of any catalog model; dropping them would drop the sizes where the latency
             dominates, so prompt_tokens is fractional there (1.125 = 18 KB: exact in binary).
             Sizes under one token (2 KB, 10 KB) are dropped: no llama-2-70b step all-reduces
             less.  Sizes profiled twice are averaged.

stdlib only; the output is sorted and deterministic.
"""

import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VIDUR_DIR = os.path.join(HERE, "vidur-profiles")
OUT = os.path.join(HERE, "vidur-steps.csv")

GPU = {"a100": "a100-80gb", "h100": "h100-sxm"}
MODEL = {
    "meta-llama_Llama-2-7b-hf": "llama-2-7b",
    "meta-llama_Llama-2-70b-hf": "llama-2-70b",
    "meta-llama_Meta-Llama-3-8B": "llama-3.1-8b",    # same shapes as Llama-3-8B
    "meta-llama_Meta-Llama-3-70B": "llama-3.1-70b",  # same shapes as Llama-3-70B
}
# Layers per model (the catalog's `layers`; the profiles are per layer).
LAYERS = {"llama-2-7b": 32, "llama-2-70b": 80, "llama-3.1-8b": 32, "llama-3.1-70b": 80}
SMALL = {"llama-2-7b", "llama-3.1-8b"}
LAYER_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj",
             "input_layernorm", "post_attention_layernorm", "attn_rope", "mlp_act", "add")
ALLREDUCE_MODEL = "llama-2-70b"
ALLREDUCE_BYTES_PER_TOKEN = 8192 * 2  # hidden x 2 bytes (fp16)

HEADER = ["gpu", "model", "tp", "kind", "batch", "prompt_tokens", "context_tokens", "time_ms"]


def deployable(model, tp):
    """7-8B models on 1-2 GPUs, 70B models on 2-8 (a 70B model does not fit one 80 GB GPU)."""
    return tp <= 2 if model in SMALL else tp >= 2


def mean(xs):
    return sum(xs) / len(xs)


def linear_rows():
    rows = []
    for name in sorted(os.listdir(VIDUR_DIR)):
        if not name.endswith("_mlp.csv"):
            continue
        dev, rest = name.split("_", 1)
        model = MODEL[rest[: -len("_mlp.csv")]]
        groups = {}
        with open(os.path.join(VIDUR_DIR, name), newline="") as f:
            for rec in csv.DictReader(f):
                tp, tokens = int(rec["num_tensor_parallel_workers"]), int(rec["num_tokens"])
                if not deployable(model, tp):
                    continue
                layer_ms = sum(float(rec["time_stats.%s.median" % op]) for op in LAYER_OPS)
                groups.setdefault((tp, tokens), []).append(layer_ms)
        for (tp, tokens), times in sorted(groups.items()):
            rows.append((GPU[dev], model, tp, "linear", 1, tokens, 0, mean(times) * LAYERS[model]))
    return rows


def allreduce_rows():
    rows = []
    for name in sorted(os.listdir(VIDUR_DIR)):
        if not name.endswith("_all_reduce.csv"):
            continue
        gpu = GPU[name.split("_", 1)[0]]
        groups = {}
        with open(os.path.join(VIDUR_DIR, name), newline="") as f:
            for rec in csv.DictReader(f):
                n, per_node = int(rec["num_workers"]), int(rec["devices_per_node"])
                size = int(float(rec["size"]))
                if n != per_node or size < ALLREDUCE_BYTES_PER_TOKEN:
                    continue
                groups.setdefault((n, size), []).append(float(rec["time_stats.all_reduce.median"]))
        for (n, size), times in sorted(groups.items()):
            tokens = size / ALLREDUCE_BYTES_PER_TOKEN
            rows.append((gpu, ALLREDUCE_MODEL, n, "allreduce", 1, int(tokens) if tokens.is_integer() else tokens,
                         0, mean(times)))
    return rows


def main():
    rows = linear_rows() + allreduce_rows()
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for r in rows:
            # repr: the shortest text that reads back as the same float (token fractions are
            # multiples of 1/8, exact); times keep the profiles' 6 significant digits.
            w.writerow([r[0], r[1], r[2], r[3], r[4], repr(r[5]), r[6], "%.6g" % r[7]])
    kinds = {}
    for r in rows:
        kinds[(r[0], r[3])] = kinds.get((r[0], r[3]), 0) + 1
    print("%s: %d rows (%s)" % (os.path.relpath(OUT), len(rows),
                                ", ".join("%s %s %d" % (g, k, c) for (g, k), c in sorted(kinds.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
