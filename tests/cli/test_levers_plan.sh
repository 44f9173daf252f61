#!/usr/bin/env bash
# llmsim levers and llmsim plan on real scenarios: both example ladders run, print the baseline
# and every lever alone and stacked, and write /sweep with 2L rows (the baseline, L levers alone,
# L-1 more stacked) that do not depend on --jobs; plan --json on an M/M/c pool gives the answer
# that tests/test_plan.c derives from Erlang C; and the error paths exit 2 with located messages.
# Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_levers_plan.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-levers-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
# The number of rows of /sweep in a file (its first DATASPACE).
sweep_rows() { h5dump -H -d /sweep "$1" 2>/dev/null | sed -n 's/.*DATASPACE *SIMPLE { ( \([0-9]*\) ).*/\1/p' | head -1; }

for ex in levers-rag-api levers-selfhosted-chat; do
    y=../scenarios/examples/$ex.yaml
    # The lever names, in order, from the scenario (two-space indent, "- name: ...").
    mapfile -t names < <(sed -n '/^levers:/,$s/^  - name: //p' "$y")
    L=${#names[@]}
    "$LLMSIM" levers "$y" --jobs 2 -o "$T/$ex-j2.h5" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq 0 ] && [ "$L" -ge 2 ]; then ok "levers $ex: exit 0 ($L levers)"; else
        bad "levers $ex: exit $rc, $L levers, $(head -c 300 "$T/err")"; continue; fi
    missing=""
    grep -q '^baseline ' "$T/out" || missing="$missing baseline"
    for ((i = 0; i < L; i++)); do
        grep -qF "${names[i]} alone " "$T/out" || missing="$missing '${names[i]} alone'"
        [ "$i" -gt 0 ] && { grep -qF "+ ${names[i]} " "$T/out" || missing="$missing '+ ${names[i]}'"; }
    done
    grep -qF "stacked, in order (${names[0]} first):" "$T/out" || missing="$missing stacked-header"
    [ -z "$missing" ] && ok "levers $ex: the baseline and every lever alone and stacked printed" ||
        bad "levers $ex: missing$missing"
    n=$(sweep_rows "$T/$ex-j2.h5")
    [ "$n" = "$((2 * L))" ] && ok "levers $ex: /sweep has 2L = $n rows" || bad "levers $ex: /sweep has '$n' rows, wanted $((2 * L))"
done

# The baseline is the scenario itself: the RAG ladder's baseline costs what `run` says.
"$LLMSIM" run ../scenarios/examples/levers-rag-api.yaml -o "$T/rag-run.h5" --json >"$T/run.json" 2>"$T/err"
"$LLMSIM" levers ../scenarios/examples/levers-rag-api.yaml -o "$T/rag-json.h5" --json >"$T/lev.json" 2>"$T/err"; rc=$?
$PY - "$T/run.json" "$T/lev.json" <<'PYEOF' && [ "$rc" -eq 0 ] && ok "levers --json: steps in order, the baseline equals run, caching and the cap lower the cost" || bad "levers --json (exit $rc)"
import json, sys
run = json.load(open(sys.argv[1]))
lev = json.load(open(sys.argv[2]))
steps = lev["steps"]
assert [s["step"] for s in steps] == list(range(8)), steps
assert [s["mode"] for s in steps] == ["baseline"] + ["alone"] * 4 + ["stacked"] * 3
assert steps[5]["levers"] == "prompt caching + lookups on haiku", steps[5]["levers"]
base = [r for r in run["summary"] if r["scope"] == "all" and r["metric"] == "cost_per_1k_usd"][0]["mean"]
assert abs(steps[0]["cost_per_1k_usd_mean"] - base) <= 1e-9 * base, (steps[0], base)
by = {s["lever"]: s for s in steps if s["mode"] == "alone"}
assert by["prompt caching"]["cost_per_1k_usd_mean"] < 0.5 * base
assert by["max_tokens 1024"]["cost_per_1k_usd_mean"] < base
assert by["max_tokens 1024"]["e2e_s_p99"] < steps[0]["e2e_s_p99"]
assert by["batch api for analysis"]["slo_met_mean"] < 0.8  # batch answers miss the TTFT target
assert all(s["stable"] for s in steps)
PYEOF

# --jobs does not change /sweep.
"$LLMSIM" levers ../scenarios/examples/levers-selfhosted-chat.yaml --jobs 1 -o "$T/sh-j1.h5" --quiet 2>"$T/err"
h5dump -d /sweep "$T/sh-j1.h5" | tail -n +2 >"$T/j1.txt"
h5dump -d /sweep "$T/levers-selfhosted-chat-j2.h5" | tail -n +2 >"$T/j2.txt"
[ -s "$T/j1.txt" ] && cmp -s "$T/j1.txt" "$T/j2.txt" && ok "levers: /sweep the same with --jobs 1 and 2" ||
    bad "levers: /sweep differs between --jobs 1 and 2"

# plan --json on an M/M/c pool (lambda 32/s, mu 10/s): the fewest servers with the sojourn
# p95 under 0.3945 s is 5 (Erlang C, tests/test_plan.c, which runs the same seed and length).
cat >"$T/mmc.yaml" <<'EOF'
name: plan-mmc
seed: 2024
horizon: {requests: 20000, warmup_s: 50}
replications: 4
workload:
  arrivals: {process: poisson, rate_per_s: 32}
  classes:
    - name: job
      prompt: [{segment: prompt, tokens: 100}]
      output_tokens: 10
deployments:
  - name: pool
    kind: self-hosted
    replicas: 4
    queue: shared
    gpu_hour_usd: 2.0
    scheduler: {policy: none}
    latency: {model: service_time, service_time_s: {dist: exponential, mean: 0.1}}
slo: {e2e_ms: 394.48055806927407, percentile: 95}
output: {path: results/plan-mmc.h5, requests: false}
EOF
"$LLMSIM" plan "$T/mmc.yaml" --search deployments.pool.replicas --jobs 2 --json >"$T/plan.json" 2>"$T/err"; rc=$?
$PY - "$T/plan.json" <<'PYEOF' && [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && ok "plan --json: key, value 5, cost_per_hour_usd, slo_met" || bad "plan --json: exit $rc, $(cat "$T/plan.json") $(head -c 300 "$T/err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["key"] == "deployments.pool.replicas", d
assert d["value"] == 5 and d["found"] is True, d
assert abs(d["cost_per_hour_usd"] - 5 * 2.0) < 1e-9, d  # 5 servers at $2/hour
assert d["slo_met"] is True and d["stable"] is True and d["slo_metric"] == "e2e_s", d
assert 0 < d["headroom"] < 1, d
PYEOF
# Without --json it says how it decided each value on stderr and the answer on stdout.
"$LLMSIM" plan "$T/mmc.yaml" --search deployments.pool.replicas --jobs 2 -o "$T/plan.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && grep -q '^answer: deployments.pool.replicas = 5: \$10.00 per hour' "$T/out" &&
    grep -q '^plan: deployments.pool.replicas = 4: misses the SLO' "$T/err" &&
    grep -q '^plan: deployments.pool.replicas = 2: overloaded' "$T/err" &&
    [ "$(sweep_rows "$T/plan.h5")" = "$(grep -c '^plan: deployments.pool.replicas = ' "$T/err")" ] &&
    ok "plan: the answer, each value's verdict, and one /sweep row per value evaluated" ||
    bad "plan text: exit $rc, $(cat "$T/out") $(head -c 400 "$T/err")"

# Errors: exit 2 with a located message.
"$LLMSIM" plan "$T/mmc.yaml" --search deployments.pool.replica >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "^--search deployments.pool.replica:1:1: deployments.pool: unknown key 'replica' (did you mean 'replicas'?)$" "$T/err" &&
    ok "plan: a misspelt --search key (exit 2, did you mean)" || bad "plan bad key: exit $rc, '$(cat "$T/err")'"
"$LLMSIM" plan "$T/mmc.yaml" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--search KEY is required" "$T/err" && ok "plan without --search (exit 2)" ||
    bad "plan without --search: exit $rc, '$(cat "$T/err")'"
"$LLMSIM" levers ../scenarios/examples/mm1.yaml -o "$T/none.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "declares no levers" "$T/err" && [ ! -e "$T/none.h5" ] &&
    ok "levers on a scenario without levers (exit 2)" || bad "no levers: exit $rc, '$(cat "$T/err")'"
sed 's/deployments.llama70b.kv_dtype: fp8/deployments.llama70b.kv_dtyp: fp8/' \
    ../scenarios/examples/levers-selfhosted-chat.yaml >"$T/badlever.yaml"
"$LLMSIM" levers "$T/badlever.yaml" -o "$T/badlever.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "fp8 on half the GPUs" "$T/err" && grep -q "did you mean 'kv_dtype'" "$T/err" &&
    [ ! -e "$T/badlever.h5" ] && ok "levers: a lever with a misspelt key (exit 2, names the lever)" ||
    bad "bad lever: exit $rc, '$(cat "$T/err")'"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
