#!/usr/bin/python3
"""Calibrate the defaults of llmsim's `api` latency model on the llmperf leaderboard data.

Data: models/calibration/llmperf-2023/ (ray-project/llmperf-leaderboard, December 2023,
Apache-2.0): 19 runs of hosted Llama-2 chat APIs (7 providers, 7B/13B/70B), 150 streamed
requests each, 550 input tokens and ~150 output tokens per request, 5 concurrent clients.

The `api` latency model of llmsim is

    TTFT = network + ttft_base + uncached input tokens / prefill_tokens_per_s
    ITL  = one draw per request from lognormal(mean, cv)

What this script measures, per run (provider x model):
  - TTFT p50 / p90 / mean / cv over successful requests;
  - the decode inter-token latency of each request, (e2e - ttft) / (output tokens - 1).
    llmperf's own `inter_token_latency_s` field is NOT that: llmperf sums every gap between
    streamed chunks *including the TTFT* and divides by the output token count, so it is close
    to e2e / output tokens (the script prints the ratio to show it).  We recompute the decode
    ITL and keep llmperf's figure only for comparison.
  - the cv of the per-request ITL, from moments and robustly from the MAD of log(ITL).
    The default cv is the mean over runs of the moment cv: the robust one hides the slow
    requests that make the tail, the median of the moment cvs sits below the pooled cv.

Every request has 550 input tokens, so ttft_base + network and the prefill rate are not
separately identifiable: the script assumes a prefill rate (PREFILL_TOKENS_PER_S, justified in
docs/calibration.md) and a network share (NETWORK_MS) and reports the implied base, with the
sensitivity of the base to the prefill assumption.

Run:  /usr/bin/python3 models/calibration/llmperf_fit.py  [--catalog] [DATA_DIR]
Prints Markdown tables (the ones in docs/calibration.md) on stdout.  With --catalog it prints
instead the per-run profiles of models/catalog/api_latency.yaml (one entry per run, the runs
whose TTFT p50 is mostly client-side queueing left out, see QUEUED).  Needs only numpy.
"""

import glob
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "llmperf-2023")

INPUT_TOKENS = 550            # every request in the data set
PREFILL_TOKENS_PER_S = 10000  # assumption, see docs/calibration.md
NETWORK_MS = 50               # assumption, see docs/calibration.md
MIN_OUTPUT_TOKENS = 20        # ITL of shorter responses is dominated by chunking noise
SENSITIVITY_RATES = (5000, 10000, 25000, 1e12)
# Runs whose TTFT p50 is not a latency of the service but the wait of llmperf's five clients
# for one another: Replicate served them one at a time (TTFT 1.2, 2.5, 3.8, 5.0, 6.3 s over
# successive requests; docs/calibration.md), so its p50 says nothing about ttft_base.
QUEUED = ("replicate",)


def lognormal_cv_from_sigma(sigma):
    """cv of a lognormal whose log has standard deviation sigma."""
    return math.sqrt(math.expm1(sigma * sigma))


def robust_log_sigma(x):
    """Standard deviation of log(x) estimated from the median absolute deviation."""
    lx = np.log(x)
    return 1.4826 * float(np.median(np.abs(lx - np.median(lx))))


def load_runs(data_dir):
    runs = []
    for path in sorted(glob.glob(os.path.join(data_dir, "individual", "*.json"))):
        name = os.path.splitext(os.path.basename(path))[0]
        provider, size = name.rsplit("_", 1)
        with open(path) as f:
            reqs = json.load(f)
        summary_path = os.path.join(data_dir, "summary", name + ".json")
        summary = {}
        if os.path.exists(summary_path):
            with open(summary_path) as f:
                summary = json.load(f)
        runs.append({"name": name, "provider": provider, "size": size,
                     "requests": reqs, "summary": summary})
    runs.sort(key=lambda r: (r["provider"], int(r["size"].rstrip("b"))))
    if not runs:
        sys.exit("no llmperf runs found under %s" % data_dir)
    return runs


def analyse(run):
    reqs = run["requests"]
    ok = [r for r in reqs if r.get("error_code") is None]
    errors = {}
    for r in reqs:
        if r.get("error_code") is not None:
            errors[str(r["error_code"])] = errors.get(str(r["error_code"]), 0) + 1
    ttft = np.array([r["ttft_s"] for r in ok])
    e2e = np.array([r["end_to_end_latency_s"] for r in ok])
    nout = np.array([r["number_output_tokens"] for r in ok], dtype=float)
    llmperf_itl = np.array([r["inter_token_latency_s"] for r in ok])
    keep = nout >= MIN_OUTPUT_TOKENS
    itl = (e2e[keep] - ttft[keep]) / (nout[keep] - 1.0)
    res = {
        "name": run["name"], "provider": run["provider"], "size": run["size"],
        "n": len(reqs), "ok": len(ok), "errors": errors, "n_itl": int(keep.sum()),
        "ttft_p50": float(np.median(ttft)), "ttft_p90": float(np.percentile(ttft, 90)),
        "ttft_mean": float(ttft.mean()), "ttft_min": float(ttft.min()),
        "ttft_cv": float(ttft.std(ddof=1) / ttft.mean()),
        "ttft_cv_robust": lognormal_cv_from_sigma(robust_log_sigma(ttft)),
        "itl_p50": float(np.median(itl)), "itl_mean": float(itl.mean()),
        "itl_cv": float(itl.std(ddof=1) / itl.mean()),
        "itl_cv_robust": lognormal_cv_from_sigma(robust_log_sigma(itl)),
        "llmperf_itl_p50": float(np.median(llmperf_itl)),
        "llmperf_itl_over_e2e_per_token": float(np.median(llmperf_itl * nout / e2e)),
        "itl_norm": itl / itl.mean(),
        "out_p50": float(np.median(nout)),
        "date": run["summary"].get("timestamp"),
    }
    return res


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def ms(x):
    return "%.0f" % (1000.0 * x)


def ms1(x):
    return "%.1f" % (1000.0 * x)


def catalog(res, prefill_ms):
    """The per-run api latency profiles, as YAML entries of models/catalog/api_latency.yaml."""
    import datetime
    print("api_latency:")
    for r in res:
        if r["provider"] in QUEUED:
            continue
        day = datetime.datetime.fromtimestamp(r["date"], datetime.timezone.utc).strftime("%Y-%m-%d")
        base = 1000.0 * r["ttft_p50"] - NETWORK_MS - prefill_ms
        note = ""
        if r["ok"] < r["n"]:
            err = ", ".join("%s x%d" % (k, v) for k, v in sorted(r["errors"].items()))
            note = "; %d of %d requests succeeded (%s)" % (r["ok"], r["n"], err)
        print("  - id: %s/llama-2-%s-chat" % (r["provider"], r["size"]))
        print("    provider: %s" % r["provider"])
        print("    network_ms: %d" % NETWORK_MS)
        print("    ttft_base_ms: %.0f" % base)
        print("    prefill_tokens_per_s: %d" % PREFILL_TOKENS_PER_S)
        print("    itl_mean_ms: %.1f" % (1000.0 * r["itl_mean"]))
        print("    itl_cv: %.3f" % r["itl_cv"])
        print("    ttft_p50_ms: %.0f" % (1000.0 * r["ttft_p50"]))
        print("    itl_requests: %d" % r["n_itl"])
        print("    source: \"llmperf leaderboard, %s (550 in / 150 out, 5 clients)%s\""
              % (r["name"], note))
        print("    date: \"%s\"" % day)
    return 0


def main():
    args = [a for a in sys.argv[1:] if a != "--catalog"]
    data_dir = args[0] if args else DATA_DIR
    res = [analyse(r) for r in load_runs(data_dir)]
    prefill_ms = 1000.0 * INPUT_TOKENS / PREFILL_TOKENS_PER_S
    if "--catalog" in sys.argv[1:]:
        return catalog(res, prefill_ms)

    print("## Per run (provider x model)\n")
    rows = []
    for r in res:
        err = ", ".join("%s x%d" % (k, v) for k, v in sorted(r["errors"].items())) or "-"
        rows.append([r["provider"], r["size"], "%d/%d" % (r["ok"], r["n"]), err,
                     ms(r["ttft_p50"]), ms(r["ttft_p90"]), ms(r["ttft_min"]),
                     "%.2f" % r["ttft_cv_robust"],
                     ms1(r["itl_p50"]), ms1(r["itl_mean"]),
                     "%.2f" % r["itl_cv"], "%.2f" % r["itl_cv_robust"],
                     ms1(r["llmperf_itl_p50"]),
                     ms(r["ttft_p50"] - prefill_ms / 1000.0)])
    print(md_table(["provider", "model", "ok/sent", "errors", "TTFT p50 ms", "TTFT p90 ms",
                    "TTFT min ms", "TTFT cv (robust)", "ITL p50 ms", "ITL mean ms",
                    "ITL cv", "ITL cv (robust)", "llmperf ITL p50 ms",
                    "fixed = TTFT p50 - prefill, ms"], rows))

    ratio = np.median([r["llmperf_itl_over_e2e_per_token"] for r in res])
    print("\nllmperf's inter_token_latency_s x output tokens / e2e: median %.3f over runs "
          "(1.0 means the field is e2e / tokens, TTFT included)." % ratio)

    def group_stats(group):
        return {
            "runs": len(group),
            "ttft_p50": float(np.median([r["ttft_p50"] for r in group])),
            "ttft_p90": float(np.median([r["ttft_p90"] for r in group])),
            "ttft_cv": float(np.median([r["ttft_cv_robust"] for r in group])),
            "itl_mean": float(np.median([r["itl_mean"] for r in group])),
            "itl_lo": float(min(r["itl_mean"] for r in group)),
            "itl_hi": float(max(r["itl_mean"] for r in group)),
            "itl_cv_robust": float(np.median([r["itl_cv_robust"] for r in group])),
            "itl_cv_median": float(np.median([r["itl_cv"] for r in group])),
            "itl_cv": float(np.mean([r["itl_cv"] for r in group])),
            "ttft_lo": float(min(r["ttft_p50"] for r in group)),
            "ttft_hi": float(max(r["ttft_p50"] for r in group)),
        }

    print("\n## Per model size (medians across providers)\n")
    rows = []
    groups = {}
    for size in ("7b", "13b", "70b"):
        groups[size] = group_stats([r for r in res if r["size"] == size])
    groups["all"] = group_stats(res)
    for key, g in groups.items():
        base = g["ttft_p50"] * 1000.0 - NETWORK_MS - prefill_ms
        rows.append([key, "%d" % g["runs"], ms(g["ttft_p50"]),
                     "%s-%s" % (ms(g["ttft_lo"]), ms(g["ttft_hi"])), ms(g["ttft_p90"]),
                     "%.2f" % g["ttft_cv"], "%.0f" % base, ms1(g["itl_mean"]),
                     "%s-%s" % (ms1(g["itl_lo"]), ms1(g["itl_hi"])),
                     "%.2f" % g["itl_cv_robust"], "%.2f" % g["itl_cv_median"],
                     "%.2f" % g["itl_cv"]])
    print(md_table(["size", "runs", "TTFT p50 ms", "range of run p50s", "TTFT p90 ms",
                    "TTFT cv (robust)", "implied ttft_base_ms", "ITL mean ms",
                    "range of run means", "ITL cv robust (median)", "ITL cv (median)",
                    "ITL cv (mean)"], rows))
    print("\n(implied ttft_base_ms = TTFT p50 - network %d ms - %d tokens / %d tokens/s)"
          % (NETWORK_MS, INPUT_TOKENS, PREFILL_TOKENS_PER_S))

    print("\n## Sensitivity of the implied base to the prefill-rate assumption (all runs)\n")
    rows = []
    for rate in SENSITIVITY_RATES:
        p = 1000.0 * INPUT_TOKENS / rate
        label = "infinite" if rate >= 1e11 else "%d" % rate
        rows.append([label, "%.0f" % p,
                     "%.0f" % (groups["all"]["ttft_p50"] * 1000.0 - NETWORK_MS - p)])
    print(md_table(["prefill_tokens_per_s", "prefill of 550 tokens, ms",
                    "implied ttft_base_ms"], rows))

    pooled = np.concatenate([r["itl_norm"] for r in res])
    print("\nPer-request ITL divided by its run's mean, pooled over all runs: cv %.2f, "
          "p90/p50 %.2f, p99/p50 %.2f." % (pooled.std(), np.percentile(pooled, 90)
                                           / np.median(pooled),
                                           np.percentile(pooled, 99) / np.median(pooled)))

    g = groups["all"]
    base = g["ttft_p50"] * 1000.0 - NETWORK_MS - prefill_ms
    print("\n## Chosen defaults\n")
    print(md_table(["key", "value"], [
        ["network_ms", "%d" % NETWORK_MS],
        ["ttft_base_ms", "%.0f" % (10 * round(base / 10.0))],
        ["prefill_tokens_per_s", "%d" % PREFILL_TOKENS_PER_S],
        ["itl_ms", "{dist: lognormal, mean: %.0f, cv: %.2f}"
         % (g["itl_mean"] * 1000.0, 0.05 * round(g["itl_cv"] / 0.05))],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
