#!/usr/bin/env bash
# llmsim compare on real runs: files in natural order and labelled by the --set overrides or
# seeds that set them apart, differences with 95% intervals (paired under common random
# numbers), CSV that pandas reads and JSON that python reads, GPU rows and the overload mark,
# rows that fit 100 columns, and the error paths.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_compare.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-compare-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# Three runs of one scenario on common random numbers (3 replications each), one with the
# output capped, and one with another seed; named so that byte order is not natural order.
short=(--set 'horizon={duration_s: 600, warmup_s: 60}' --replications 3 --quiet)
"$LLMSIM" run data/minimal.yaml "${short[@]}" -o "$T/run-10.h5"
"$LLMSIM" run data/minimal.yaml "${short[@]}" -o "$T/run-2.h5" \
    --set 'workload.classes.chat.output_tokens={dist: lognormal, mean: 250, cv: 0.7, max: 400}'
"$LLMSIM" run data/minimal.yaml "${short[@]}" --seed 9 -o "$T/run-9.h5"

"$LLMSIM" compare "$T"/run-*.h5 >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] &&
    [ "$(sed -n 1p "$T/out")" = "[1] $T/run-2.h5: seed=7, output_tokens.max=400" ] &&
    [ "$(sed -n 2p "$T/out")" = "[2] $T/run-9.h5: seed=9, output_tokens.max=2048" ] &&
    [ "$(sed -n 3p "$T/out")" = "[3] $T/run-10.h5: seed=7, output_tokens.max=2048" ]; then
    ok "natural order and labels from the overrides"
else
    bad "order or labels: exit $rc, $(head -3 "$T/out") $(head -c 300 "$T/err")"
fi
grep -q '^\[3\]-\[1\]: paired over 3 replications (same seed 7: common random numbers)$' "$T/out" &&
    grep -q '^\[2\]-\[1\]: unpaired, Welch over 3 and 3 replications (seeds differ)$' "$T/out" &&
    ok "paired under common random numbers, Welch across seeds" || bad "pairing: $(grep -- '-\[1\]:' "$T/out")"
awk 'length($0) > 100 { bad = 1 } END { exit bad }' "$T/out" && ok "three files fit 100 columns" ||
    bad "lines wider than 100 columns"
# The cap cuts the output cost: [3] (uncapped) costs significantly more than [1].
line=$(grep '^    output (USD)' "$T/out")
[[ "$line" =~ \ \+[0-9.e+-]+\ \+-[0-9.e+-]+\*$ ]] &&
    ok "output cost difference significant under common random numbers" || bad "output row: '$line'"

# --baseline and CSV: a column per file, then diff, ci95, significant, method per later file.
"$LLMSIM" compare "$T/run-2.h5" "$T/run-10.h5" --baseline "$T/run-10.h5" --csv >"$T/c.csv" 2>"$T/err"
$PY - "$T/c.csv" "$T" <<'PYEOF' && ok "CSV reads with pandas" || bad "CSV shape"
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1])
t = sys.argv[2]
a, b = t + "/run-10.h5", t + "/run-2.h5"
assert list(d.columns) == ["scope", "section", "metric", "stat", "label", "unit", a, b,
                           "diff " + b, "ci95 " + b, "significant " + b, "method " + b], list(d.columns)
r = d[(d.metric == "cost_output_per_1k_usd")].iloc[0]
assert r["diff " + b] < 0 and r["significant " + b] == True and r["method " + b] == "paired", r
r = d[(d.metric == "ttft_s") & (d.stat == "p95")].iloc[0]
assert abs(r["diff " + b] - (r[b] - r[a])) < 1e-6 * abs(r[a]), r
assert (d.scope == "all").all() and len(d) > 10
PYEOF

# JSON: files in natural order with their labels and the keys that differ.
"$LLMSIM" compare "$T"/run-*.h5 --json >"$T/c.json" 2>"$T/err"
$PY - "$T/c.json" <<'PYEOF' && ok "JSON reads with python" || bad "JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
names = [f["path"].rsplit("/", 1)[1] for f in d["files"]]
assert names == ["run-2.h5", "run-9.h5", "run-10.h5"], names
assert d["files"][1]["differs"] == {"seed": "9", "workload.classes.chat.output_tokens.max": "2048"}
assert d["files"][0]["ci"] is None and "Welch" in d["files"][1]["ci"]
for r in d["rows"]:
    assert all(len(r[k]) == 3 for k in ("values", "diff", "ci95", "significant", "method")), r
PYEOF

# Self-hosted: GPU rows per deployment, cost per hour, and an overloaded run marked.
cat >"$T/q.yaml" <<'EOF'
name: queue
seed: 5
horizon: {duration_s: 600, warmup_s: 60}
workload:
  arrivals: {process: poisson, rate_per_s: 8}
  classes:
    - name: job
      prompt: [{segment: prompt, tokens: 100}]
      output_tokens: 10
deployments:
  - name: server
    kind: self-hosted
    replicas: 1
    gpu_hour_usd: 2.0
    scheduler: {policy: none}
    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.1}}
EOF
"$LLMSIM" run "$T/q.yaml" -o "$T/q8.h5" --quiet
"$LLMSIM" run "$T/q.yaml" --set workload.arrivals.rate_per_s=15 -o "$T/q15.h5" --quiet 2>/dev/null
"$LLMSIM" compare "$T/q8.h5" "$T/q15.h5" --by deployment >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "^\[2\] $T/q15.h5: arrivals.rate_per_s=15 (overloaded)$" "$T/out" &&
    grep -q '^deployment:server ' "$T/out" && grep -q '^GPU server$' "$T/out" &&
    grep -q '^  busy (%) ' "$T/out" && grep -q '^  cost / hour (USD) *2 *2 ' "$T/out"; then
    ok "GPU rows, cost per hour and the overload mark"
else
    bad "self-hosted compare: exit $rc, $(cat "$T/out") $(head -c 300 "$T/err")"
fi

# Errors: exit 2 with one message; an incomplete file is compared, marked and warned about.
"$LLMSIM" compare "$T/run-2.h5" "$T/none.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$T/out" ] &&
    [ "$(cat "$T/err")" = "llmsim: compare: $T/none.h5: cannot open: No such file or directory" ] &&
    ok "a missing file (exit 2)" || bad "missing file: exit $rc, '$(cat "$T/err")'"
"$LLMSIM" compare "$T/run-2.h5" data/minimal.yaml >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && [ "$(cat "$T/err")" = "llmsim: compare: data/minimal.yaml: not an HDF5 file" ] &&
    ok "not a results file (exit 2)" || bad "not a results file: exit $rc, '$(cat "$T/err")'"
cp "$T/run-2.h5" "$T/cut.h5"
$PY -c "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); f.attrs['complete'] = 0" "$T/cut.h5"
"$LLMSIM" compare "$T/run-10.h5" "$T/cut.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && grep -q "^\[1\] $T/cut.h5: .* (INCOMPLETE)$" "$T/out" &&
    grep -q "warning: $T/cut.h5: the run did not complete (complete = 0)" "$T/err" &&
    ok "an incomplete file is marked" || bad "incomplete file: exit $rc, $(head -2 "$T/out") '$(cat "$T/err")'"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
