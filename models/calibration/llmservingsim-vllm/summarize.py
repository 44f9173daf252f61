#!/usr/bin/env python3
"""Recompute the per-run summary table of the LLMServingSim vLLM fixtures.

Reads every *.csv next to this script (header
arrival_s,input_tokens,output_tokens,ttft_s,e2e_s) and prints one Markdown
table row per run. Standard library only.

Definitions (per request, then aggregated over the run):
  TTFT = ttft_s                                   (ms in the table)
  TPOT = (e2e_s - ttft_s) / (output_tokens - 1)   (ms; requests with output_tokens > 1)
  E2E  = e2e_s                                    (s in the table)
Percentiles use linear interpolation between closest ranks (numpy's default).
Throughput: span = last completion (max of arrival_s + e2e_s) - first arrival;
  req/s = requests / span, out tok/s = sum(output_tokens) / span,
  total tok/s = sum(input_tokens + output_tokens) / span.
"""
import csv
import glob
import os
import statistics
import sys


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    i = int(k)
    if i + 1 >= len(s):
        return s[-1]
    return s[i] + (s[i + 1] - s[i]) * (k - i)


def summarize(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["arrival_s", "input_tokens", "output_tokens", "ttft_s", "e2e_s"]:
            raise SystemExit("%s: unexpected header %s" % (path, reader.fieldnames))
        rows = [(float(r["arrival_s"]), int(r["input_tokens"]), int(r["output_tokens"]),
                 float(r["ttft_s"]), float(r["e2e_s"])) for r in reader]
    ttft = [r[3] * 1e3 for r in rows]
    tpot = [(r[4] - r[3]) / (r[2] - 1) * 1e3 for r in rows if r[2] > 1]
    e2e = [r[4] for r in rows]
    span = max(r[0] + r[4] for r in rows) - min(r[0] for r in rows)
    out_tok = sum(r[2] for r in rows)
    all_tok = sum(r[1] + r[2] for r in rows)
    return {
        "run": os.path.splitext(os.path.basename(path))[0],
        "n": len(rows),
        "ttft": (statistics.mean(ttft), percentile(ttft, 50), percentile(ttft, 99)),
        "tpot": (statistics.mean(tpot), percentile(tpot, 50), percentile(tpot, 99)),
        "e2e": (statistics.mean(e2e), percentile(e2e, 50), percentile(e2e, 99)),
        "span": span,
        "rps": len(rows) / span,
        "otps": out_tok / span,
        "ttps": all_tok / span,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    paths = sorted(sys.argv[1:] or glob.glob(os.path.join(here, "*.csv")))
    print("| run | requests | TTFT mean / p50 / p99 (ms) | TPOT mean / p50 / p99 (ms) "
          "| E2E mean / p50 / p99 (s) | span (s) | req/s | output tok/s | total tok/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in paths:
        s = summarize(p)
        print("| %s | %d | %.1f / %.1f / %.1f | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f "
              "| %.2f | %.3f | %.1f | %.1f |" % (
                  s["run"], s["n"], *s["ttft"], *s["tpot"], *s["e2e"],
                  s["span"], s["rps"], s["otps"], s["ttps"]))


if __name__ == "__main__":
    main()
