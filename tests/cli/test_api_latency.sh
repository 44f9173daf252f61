#!/usr/bin/env bash
# Measured latency profiles of hosted models (models/catalog/api_latency.yaml): the catalog is
# what models/calibration/llmperf_fit.py computes from the llmperf data in the repository; an api
# deployment whose model is a profile id, or that names one under latency.profile, runs with the
# measured figures (TTFT p50 and mean inter-token latency back within their errors); figures
# given in the scenario win; models without a measurement keep the pooled default; `run` and
# `--json` say which; a bad profile is a located error.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_api_latency.sh LLMSIM}
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/llmsim-apilat-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# 1. The catalog is reproducible from the measurements.
"$PY" "$ROOT/models/calibration/llmperf_fit.py" --catalog >"$T/fit.yaml" 2>"$T/err" &&
    sed -n '/^api_latency:/,$p' "$ROOT/models/catalog/api_latency.yaml" | cmp -s - "$T/fit.yaml" &&
    ok "models/catalog/api_latency.yaml is llmperf_fit.py --catalog's output" ||
    bad "catalog differs from llmperf_fit.py --catalog: $(diff <(sed -n '/^api_latency:/,$p' "$ROOT/models/catalog/api_latency.yaml") "$T/fit.yaml" | head -5) $(head -c 300 "$T/err")"
n=$("$LLMSIM" catalog api-latency | grep -c '^[a-z]*/llama-2-[0-9]*b-chat ')
[ "$n" -eq 16 ] && ok "catalog api-latency lists the 16 profiles (19 runs less Replicate's 3)" ||
    bad "catalog api-latency lists $n profiles"

# 2. Three api deployments at light load (no queueing): one by model id, one by latency.profile
# with its base overridden, one without a measurement.  Prompts of exactly 550 tokens, as in the
# measurements, so the simulated TTFT is network + base + 550 / prefill = the measured p50.
cat >"$T/s.yaml" <<'YAML'
name: api-latency-profiles
seed: 11
horizon: {requests: 3000}
workload:
  arrivals: {process: poisson, rate_per_s: 2}
  classes:
    - name: chat
      prompt: [{segment: prompt, tokens: 550}]
      output_tokens: 150
deployments:
  - name: together
    kind: api
    model: together/llama-2-70b-chat
    price: {input_per_mtok: 0.9, output_per_mtok: 0.9}
  - name: groq
    kind: api
    model: claude-haiku-4-5
    latency: {profile: groq/llama-2-70b-chat, ttft_base_ms: 100}
  - name: pooled
    kind: api
    model: claude-haiku-4-5
routing: {policy: split, weights: {together: 0.4, groq: 0.3, pooled: 0.3}}
YAML
"$LLMSIM" run "$T/s.yaml" -o "$T/s.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && grep -q '^api latency figures (' "$T/out" &&
    grep -q '^  together  *measured profile together/llama-2-70b-chat (2023-12-19)$' "$T/out" &&
    grep -q '^  groq  *measured profile groq/llama-2-70b-chat (2024-01-10), figures given in the scenario override it$' "$T/out" &&
    grep -q "^  pooled  *pooled default (no measured profile for 'claude-haiku-4-5')$" "$T/out" &&
    ok "run says which latency figures each api deployment uses" ||
    bad "run output: exit $rc $(grep -A4 'api latency' "$T/out") $(head -c 300 "$T/err")"
"$LLMSIM" run "$T/s.yaml" --json -o "$T/j.h5" >"$T/j.json" 2>"$T/err"
"$PY" - "$T/j.json" "$T/s.h5" "$ROOT/models/catalog/api_latency.yaml" <<'PYEOF' && ok "measured TTFT p50 and ITL mean come back; the override and the pooled default hold" || bad "figures"
import json, math, sys
import h5py
j = json.load(open(sys.argv[1]))
dep = {d["name"]: d for d in j["deployments"]}
assert dep["together"]["latency_profile"] == "together/llama-2-70b-chat", dep["together"]
assert dep["groq"]["latency_profile"] == "groq/llama-2-70b-chat", dep["groq"]
assert dep["pooled"]["latency_profile"] is None, dep["pooled"]
# The catalog's entries (flat "key: value" lines under "  - id: ..."), without a YAML library.
cat, cur = {}, None
for line in open(sys.argv[3]):
    if line.startswith("  - id: "):
        cur = cat.setdefault(line.split(": ", 1)[1].strip(), {})
    elif cur is not None and line.startswith("    ") and ": " in line:
        k, v = line.strip().split(": ", 1)
        try:
            cur[k] = float(v)
        except ValueError:
            cur[k] = v
rows = {(r["scope"], r["metric"]): r for r in j["summary"]}
def check(name, ttft_ms, itl_ms, cv):
    t = rows[("deployment:" + name, "ttft_s")]
    # TTFT is deterministic at light load: network + base + 550 / prefill (base rounded to 1 ms).
    assert abs(1000 * t["p50"] - ttft_ms) <= 0.5 + 1e-9, (name, t["p50"], ttft_ms)
    i = rows[("deployment:" + name, "itl_s")]
    # One lognormal draw per request: the mean of n draws has standard error mean x cv / sqrt(n);
    # 4.4 standard errors is a two-sided 1e-5 false-failure rate per check.
    se = itl_ms * cv / math.sqrt(i["count"])
    assert abs(1000 * i["mean"] - itl_ms) <= 4.4 * se + 1e-9, (name, i["mean"], itl_ms, se)
tg = cat["together/llama-2-70b-chat"]
check("together", tg["ttft_p50_ms"], tg["itl_mean_ms"], tg["itl_cv"])
gq = cat["groq/llama-2-70b-chat"]
check("groq", gq["network_ms"] + 100 + 1000 * 550 / gq["prefill_tokens_per_s"], gq["itl_mean_ms"], gq["itl_cv"])
check("pooled", 50 + 410 + 55, 18.0, 0.10)
res = h5py.File(sys.argv[2])["scenario/resolved"][()].decode()
assert 'profile: "together/llama-2-70b-chat"' in res and 'profile: "groq/llama-2-70b-chat"' in res, res
PYEOF

# 3. The resolved scenario loads back to the same results.
$PY -c "import h5py,sys; sys.stdout.write(h5py.File(sys.argv[1])['scenario/resolved'][()].decode())" \
    "$T/s.h5" >"$T/r.yaml"
"$LLMSIM" run "$T/r.yaml" -o "$T/r.h5" --quiet 2>"$T/err" &&
    [ "$(h5dump -d /summary "$T/s.h5" | tail -n +2)" = "$(h5dump -d /summary "$T/r.h5" | tail -n +2)" ] &&
    ok "the resolved scenario reproduces the summary" || bad "resolved round trip: $(head -c 300 "$T/err")"

# 4. Bad profiles: located, with a suggestion, exit 2.
sed 's|profile: groq/llama-2-70b-chat|profile: groq/llama-2-70b|' "$T/s.yaml" >"$T/bad.yaml"
"$LLMSIM" run "$T/bad.yaml" -o "$T/bad.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && [ ! -e "$T/bad.h5" ] &&
    grep -q "bad.yaml:18:[0-9]*: deployments.groq.latency.profile.*unknown latency profile 'groq/llama-2-70b' (did you mean 'groq/llama-2-70b-chat'?)" "$T/err" &&
    ok "unknown profile: located, did you mean, exit 2" || bad "unknown profile: exit $rc $(cat "$T/err")"
cat >"$T/bad2.yaml" <<'YAML'
name: x
horizon: {requests: 10}
workload:
  arrivals: {process: poisson, rate_per_s: 1}
  classes: [{name: c, prompt: [{segment: p, tokens: 10}], output_tokens: 10}]
deployments:
  - {name: d, kind: self-hosted, model: llama-3.1-8b, gpu: h100-sxm, latency: {model: roofline, profile: groq/llama-2-70b-chat}}
YAML
"$LLMSIM" run "$T/bad2.yaml" -o "$T/bad2.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "bad2.yaml:7:[0-9]*: .*profile" "$T/err" &&
    ok "a profile on a self-hosted deployment is refused" || bad "self-hosted profile: exit $rc $(cat "$T/err")"

echo "api latency: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
