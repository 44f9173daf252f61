#!/usr/bin/env python3
"""Writes step.csv: the Azure LLM inference trace 2023 (conversation) token
counts, in their order, re-timed as a Poisson stream whose rate steps up and
back down, for the autoscaling example (scenarios/examples/autoscale-step.yaml).

Rates (requests/s) and phase lengths (s): 1.5 for 600 s, 9 for 1200 s, 1.5 for
1200 s.  Gaps are exponential draws from Python's random.Random(14)
(Mersenne Twister), so the file is reproducible:
    python3 make_step_trace.py > step.csv
Times are written in seconds from 0 (the Azure reader's numeric form)."""
import csv
import random
import sys

PHASES = [(600.0, 1.5), (1200.0, 9.0), (1200.0, 1.5)]
SRC = "../azure-llm-2023/AzureLLMInferenceTrace_conv.csv"


def main():
    with open(SRC, newline="") as f:
        rows = [(int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in csv.DictReader(f)]
    rng = random.Random(14)
    out = sys.stdout
    out.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    t, start, i = 0.0, 0.0, 0
    for length, rate in PHASES:
        end = start + length
        while True:
            t += rng.expovariate(rate)
            if t >= end:
                t = end  # the next phase's stream starts at its boundary
                break
            ctx, gen = rows[i % len(rows)]
            i += 1
            out.write("%.3f,%d,%d\n" % (t, ctx, gen))
        start = end


if __name__ == "__main__":
    main()
