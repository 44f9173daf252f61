#!/usr/bin/env bash
# The resource budget (issue 11, defect 3): inputs whose cost grows without a
# cap with virtual time are refused at validation (exit 2, a message located
# at the key to change); with --force they start, and SIGTERM stops them
# within 2 s leaving a results file marked complete = false.  Every command
# runs under `timeout 20`, so a regression shows as a failure, not a hang.
# Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_budget.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-budget-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# An M/M/1 scenario; each case edits one value of it.
cat >"$T/base.yaml" <<'EOF'
name: budget
seed: 1
horizon: {requests: 200}
replications: 2
workload:
  arrivals: {process: poisson, rate_per_s: 8.5}
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
output: {timeseries_interval_s: 10}
EOF
mk() { sed "$2" "$T/base.yaml" >"$T/$1.yaml"; }
mk ts 's/timeseries_interval_s: 10/timeseries_interval_s: 1e-300/'
mk rate 's/rate_per_s: 8.5/rate_per_s: 1e-300/'
mk slow 's/rate_per_s: 8.5/rate_per_s: 1e-7/'
mk uniform 's/{dist: exponential, mean: 0.1}/{dist: uniform, min: -1e308, max: 1e308}/'
mk gamma 's/{dist: exponential, mean: 0.1}/{dist: gamma, mean: 1e7, cv: 10}/'
mk normal 's/{dist: exponential, mean: 0.1}/{dist: normal, mean: 1, sd: 1e300}/'
mk bytes 's/requests: 200}/requests: 100000000}/; s/replications: 2/replications: 10/; s/interval_s: 10/interval_s: 0/'

# Traces whose timestamps span far more than ten years.
trace_yaml() { # name path format [speedup]
    cat >"$T/$1.yaml" <<EOF
name: $1
workload:
  trace: {path: $2, format: $3${4:+, speedup: $4}}
deployments:
  - {name: haiku, kind: api, model: claude-haiku-4-5}
EOF
}
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 00:00:00,100,10\n2099-12-31 00:00:00,100,10\n' >"$T/far.csv"
trace_yaml azure_far far.csv azure-2023
printf '{"timestamp": 0, "input_length": 100, "output_length": 10, "hash_ids": [1]}\n{"timestamp": 1e300, "input_length": 100, "output_length": 10, "hash_ids": [2]}\n' >"$T/far.jsonl"
trace_yaml mooncake_far far.jsonl mooncake
printf '{"timestamp": 0, "input_length": 100, "output_length": 10, "hash_ids": [1]}\n{"timestamp": 1e10, "input_length": 100, "output_length": 10, "hash_ids": [2]}\n' >"$T/gap.jsonl"
trace_yaml mooncake_slow gap.jsonl mooncake 1e-6

# case  key named in the message  part of the message
refuse() {
    local y=$1 key=$2 what=$3
    timeout 20 "$LLMSIM" validate "$T/$y.yaml" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq 2 ] && grep -q "^$T/$y.yaml:[0-9]*:[0-9]*: $key: .*$what" "$T/err"; then
        ok "validate refuses $y ($key)"
    else
        bad "validate $y: exit $rc, stderr '$(head -c 400 "$T/err")'"
    fi
    timeout 20 "$LLMSIM" run "$T/$y.yaml" -o "$T/$y.h5" -q >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq 2 ] && [ ! -e "$T/$y.h5" ] && grep -q ": $key: " "$T/err"; then
        ok "run refuses $y before simulating"
    else
        bad "run $y: exit $rc, file $([ -e "$T/$y.h5" ] && echo present || echo absent)"
    fi
}
refuse ts output.timeseries_interval_s "time-series rows.*the budget is 1e+07 rows.*--force"
refuse rate workload.arrivals.rate_per_s "span about .* s of virtual time; the budget is 3.1536e+08 s.*--force"
refuse slow workload.arrivals.rate_per_s "200 requests at 1e-07 per second"
refuse uniform deployments.server.latency.service_time_s "a time cannot be negative.*-1e+308"
refuse gamma deployments.server.latency.service_time_s "up to about 1.01e+09 s, past the limit"
refuse normal deployments.server.latency.service_time_s "up to about 1e+301 s"
refuse bytes horizon.requests "results file of about .* GB before compression; the budget is 16 GiB"
refuse azure_far workload.trace "the last arrival replayed comes .* s into the run"
refuse mooncake_far workload.trace "comes 1e+297 s into the run"
refuse mooncake_slow workload.trace "speedup 1e-06"

# --force: time distributions stay refused; the budget does not.
timeout 20 "$LLMSIM" validate --force "$T/uniform.yaml" >/dev/null 2>&1
[ $? -eq 2 ] && ok "--force does not admit negative times" || bad "--force admitted negative times"
timeout 20 "$LLMSIM" validate --force "$T/ts.yaml" "$T/rate.yaml" "$T/mooncake_far.yaml" >/dev/null 2>"$T/err" \
    && ok "validate --force accepts scenarios past the budget" || bad "validate --force: $(head -c 300 "$T/err")"

# --force runs start and SIGTERM stops them within 2 s with complete = false.
for y in ts rate slow mooncake_far mooncake_slow azure_far; do
    out="$T/force-$y.h5"
    timeout 20 "$LLMSIM" run "$T/$y.yaml" --force -o "$out" -q >"$T/out" 2>"$T/err" &
    pid=$!
    sleep 1
    kill -TERM $pid
    t0=$(date +%s%N)
    wait $pid; rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$rc" -eq 1 ] && [ "$ms" -lt 2000 ] && [ -f "$out" ] && $PY - "$out" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert int(f.attrs["complete"]) == 0, f.attrs["complete"]
EOF
    then
        ok "run --force $y stopped by SIGTERM in $ms ms (complete = false)"
    else
        bad "run --force $y: exit $rc after SIGTERM, $ms ms, file $([ -f "$out" ] && echo present || echo absent)"
    fi
    rm -f "$out"
done

# Scenarios within the budget still run.
timeout 20 "$LLMSIM" run "$T/base.yaml" -o "$T/base.h5" -q && ok "base scenario runs" || bad "base scenario"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
