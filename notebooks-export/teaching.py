"""Builds the teaching notebooks: one per step of docs/tutorial.md, from the example scenarios.

    python3 notebooks-export/teaching.py --llmsim build/llmsim --out build/notebooks \
        [--readme-png docs/img/notebook-prompt-caching.png] [--html]

`make notebooks` runs it.  Each step runs the tutorial's commands on shortened horizons
(results in OUT/data/), then writes OUT/stepN-NAME.ipynb with the step's introduction, the
runs side by side and each run's own plots, executed.  --readme-png copies the image of the
cell tagged "readme" (the side-by-side latency CDFs of step 3) to the given path: the plot
the README shows is the build's own output.
"""

import argparse
import base64
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import build_notebook as bn  # noqa: E402

EX = os.path.join(ROOT, "scenarios", "examples")
SHORT = ["--set", "horizon.duration_s=900", "--quiet", "--no-progress"]

# Each step: (file stem, title, introduction, [(results name, llmsim arguments)]).
STEPS = [
    ("step1-caps-and-tiers", "Step 1: output caps and a cheaper tier",
     "The RAG assistant of the tutorial's step 1 on `claude-sonnet-4-6` (the built-in default "
     "scenario), then the same traffic with the `analysis` answers capped at 1,024 tokens "
     "(`max_tokens`), then 70% of the traffic sent to a cheaper tier (`split-tiers.yaml`). Read "
     "the cost bars first: the cap trims the output line, the cheaper tier both lines; then the "
     "CDFs: the cap shortens the end-to-end tail, the cheaper tier changes the first token. "
     "See docs/tutorial.md, step 1 (b) and (c).",
     [("baseline", ["run"]),
      ("capped", ["run", "--set",
                  "workload.classes.analysis.output_tokens={dist: lognormal, mean: 900, cv: 0.6, max: 1024}"]),
      ("split-tiers", ["run", os.path.join(EX, "split-tiers.yaml")])]),
    ("step2-serving-it-yourself", "Step 2: serving it yourself",
     "Llama-3.1-70B for 6 chat requests per second on two replicas of four H100 (tensor "
     "parallelism 4) or two replicas of two H200, with continuous batching. Read the GPU plots "
     "(busy share, MFU) and the KV cache over time, then the cost bars: the H200 set-up uses "
     "half the GPUs. See docs/tutorial.md, step 2 (a).",
     [("h100-tp4", ["run", os.path.join(EX, "capacity-70b-h100-tp4.yaml")]),
      ("h200-tp2", ["run", os.path.join(EX, "capacity-70b-h200-tp2.yaml")])]),
    ("step3-prompt-caching", "Step 3: prompt caching",
     "The RAG assistant without and with Anthropic's prompt cache (`rag-cached.yaml`: the system "
     "prompt and the documents are 5-minute breakpoints). Read the TTFT curve move left (cached "
     "prefixes are processed faster), the input line of the cost bars shrink, and the hit ratio "
     "settle once the cache is warm. See docs/tutorial.md, step 3 (a).",
     [("baseline", ["run"]),
      ("cached", ["run", os.path.join(EX, "rag-cached.yaml")])]),
    ("step4-routing", "Step 4: routing across tiers",
     "The support assistant of `routing-walkthrough.yaml`: Sonnet for everything, then a rule "
     "that sends short questions to Haiku, then a cascade that asks Haiku first and escalates "
     "answers judged failed. Read cost against quality in the headline table, and the latency "
     "curves: the cascade pays Haiku's time before Sonnet's on escalated requests. See "
     "docs/tutorial.md, step 4 (a).",
     [("sonnet-only", ["run", os.path.join(EX, "routing-walkthrough.yaml")]),
      ("rules", ["run", os.path.join(EX, "routing-walkthrough.yaml"), "--set",
                 "routing={policy: rules, rules: [{when: {prompt_chars_lt: 1000, question_mark: true, "
                 "words_lt: 20}, to: haiku}], default: sonnet}"]),
      ("cascade", ["run", os.path.join(EX, "routing-walkthrough.yaml"), "--set",
                   "routing={policy: cascade, tiers: [haiku, sonnet], detect: 0.8}"])]),
    ("step5-ladder", "Step 5: the optimisation ladder, measured",
     "`llmsim levers` on the RAG assistant (`levers-rag-api.yaml`: prompt caching, lookups on "
     "Haiku, an output cap, the Batch API for analysis), then `llmsim sweep` of the self-hosted "
     "chat service over its replicas. Read the waterfall for what each lever buys, and the sweep "
     "for where the SLO is met and which points are on the frontier. See docs/tutorial.md, "
     "step 5.",
     [("levers", ["levers", os.path.join(EX, "levers-rag-api.yaml")]),
      ("sweep", ["sweep", os.path.join(EX, "levers-selfhosted-chat.yaml"), "--set",
                 "workload.arrivals.rate_per_s=6", "--vary", "deployments.llama70b.replicas=1,2,3",
                 "--replications", "2"])]),
]

README_STEP = "step3-prompt-caching"


def simulate(llmsim, data, stem, runs):
    paths = []
    for name, args in runs:
        out = os.path.join(data, f"{stem}-{name}.h5")
        cmd = [llmsim] + args + SHORT + ["-o", out]
        subprocess.run(cmd, check=True)
        paths.append(out)
    return paths


def readme_png(nb, path):
    for c in nb.cells:
        if "readme" in c.metadata.get("tags", []):
            for o in c.get("outputs", []):
                png = o.get("data", {}).get("image/png")
                if png:
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                    bn._atomic_write(path, base64.b64decode(png))
                    return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llmsim", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--readme-png")
    ap.add_argument("--html", action="store_true")
    ap.add_argument("--only", help="build only the step whose file name starts with this")
    args = ap.parse_args()
    import nbformat
    data = os.path.join(args.out, "data")
    os.makedirs(data, exist_ok=True)
    for stem, title, intro, runs in STEPS:
        if args.only and not stem.startswith(args.only):
            continue
        paths = simulate(os.path.abspath(args.llmsim), data, stem, runs)
        nb, b = bn.build(paths, title=title, intro=intro,
                         readme_tag="readme" if stem == README_STEP else None)
        bn.execute(nb, args.out, 600)
        nbformat.validate(nb)
        out = os.path.join(args.out, stem + ".ipynb")
        bn._atomic_write(out, nbformat.writes(nb))
        if args.html:
            bn._atomic_write(os.path.join(args.out, stem + ".html"), bn.to_html(nb))
        print(f"notebooks: {out} ({bn.count_images(nb)} plots)")
        if stem == README_STEP and args.readme_png:
            if not readme_png(nb, args.readme_png):
                print(f"notebooks: no plot tagged readme in {out}", file=sys.stderr)
                return 1
            print(f"notebooks: {args.readme_png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
