#!/usr/bin/env bash
# End-to-end checks of the llmsim command line: exit codes, the results file
# as pandas and h5py read it, cost arithmetic against the rows, determinism,
# interruption.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_cli.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
expect_rc() { # expected-rc description command...
    local want=$1 what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what: exit $rc, wanted $want"; sed 's/^/    /' "$T/err" | head -5; fi
}

# Help and usage errors.
for c in run validate compare catalog; do
    expect_rc 0 "$c --help" "$LLMSIM" "$c" --help
done
expect_rc 0 "--help" "$LLMSIM" --help
expect_rc 2 "no command" "$LLMSIM"
expect_rc 2 "unknown command" "$LLMSIM" frobnicate
expect_rc 2 "unknown option" "$LLMSIM" run --frobnicate
expect_rc 2 "missing scenario file" "$LLMSIM" run "$T/nope.yaml" -o "$T/nope.h5"
expect_rc 0 "catalog prices" "$LLMSIM" catalog prices
grep -q "claude-sonnet-4-6" "$T/out" && ok "catalog lists claude-sonnet-4-6" || bad "catalog lacks claude-sonnet-4-6"

# Every broken scenario: exit 2, the golden message on stderr, no results file.
for y in bad/*.yaml; do
    out="$T/bad.h5"
    "$LLMSIM" run "$y" -o "$out" >"$T/out" 2>"$T/err"; rc=$?
    want=$(cat "${y%.yaml}.err")
    if [ "$rc" -eq 2 ] && [ "$(cat "$T/err")" = "$want" ] && [ ! -e "$out" ] && [ ! -s "$T/out" ]; then
        ok "run $y refused"
    else
        bad "run $y: exit $rc, stderr '$(head -c 300 "$T/err")', file $( [ -e "$out" ] && echo present || echo absent)"
    fi
done
expect_rc 2 "validate with one bad file among good ones" "$LLMSIM" validate data/minimal.yaml bad/wrong_type.yaml
expect_rc 0 "validate good files" "$LLMSIM" validate data/minimal.yaml data/cost_exact.yaml ../scenarios/examples/mm1.yaml
expect_rc 2 "bad --set value" "$LLMSIM" run data/minimal.yaml --set workload.arrivals.rate_per_s=-2 -o "$T/x.h5"
[ ! -e "$T/x.h5" ] && ok "no file after a bad --set" || bad "file written after a bad --set"
expect_rc 2 "--set without =" "$LLMSIM" run data/minimal.yaml --set seed -o "$T/x.h5"

# The default scenario: table on stdout, results file that pandas reads.
expect_rc 0 "run the default scenario" "$LLMSIM" run -o "$T/default.h5"
grep -q "^results: $T/default.h5" "$T/out" && grep -q "TTFT" "$T/out" && grep -q "cost per 1k requests" "$T/out" \
    && ok "default table printed" || bad "default table incomplete"
if $PY -c "import pandas" 2>/dev/null; then
    n=$($PY -c "import pandas as p; d=p.read_hdf('$T/default.h5','requests'); print(len(d), d.ttft_s.quantile(.95))" 2>/dev/null | cut -d' ' -f1)
    [ -n "$n" ] && [ "$n" -gt 6000 ] && ok "pandas reads /requests ($n rows)" || bad "pandas cannot read /requests"
    $PY - "$T/default.h5" <<'PYEOF' && ok "results file layout" || bad "results file layout"
import sys, h5py, pandas as pd
f = h5py.File(sys.argv[1], "r")
a = f.attrs
assert int(a["complete"]) == 1, a["complete"]
for k in ("llmsim_version", "schema_version", "scenario_name", "seed", "created_utc"):
    assert k in a, k
assert "given" in f["scenario"] and "resolved" in f["scenario"]
cols = set(f["requests"].dtype.names)
need = "id replication class session turn deployment replica arrival_s dispatch_s prefill_start_s first_token_s done_s ttft_s e2e_s queue_s mean_itl_s input_tokens cached_tokens cache_write_tokens output_tokens cost_input_usd cost_cache_write_usd cost_cache_read_usd cost_output_usd cost_gpu_usd cost_nocache_usd success flags".split()
missing = [c for c in need if c not in cols]
assert not missing, missing
for t in ("summary", "timeseries"):
    pd.read_hdf(sys.argv[1], t)
r = f["requests"][()]
assert (abs(r["ttft_s"] - (r["first_token_s"] - r["arrival_s"])) < 1e-9).all()
assert (abs(r["e2e_s"] - (r["done_s"] - r["arrival_s"])) < 1e-9).all()
PYEOF
else
    bad "python3-pandas missing under /usr/bin/python3"
fi

# Cost arithmetic: every row of the fixed-length run costs exactly $0.0135,
# and a varied two-tier run's total equals the sum of its rows to the cent.
expect_rc 0 "run cost_exact" "$LLMSIM" run data/cost_exact.yaml -o "$T/cost.h5" --json
$PY - "$T/cost.h5" <<'PYEOF' && ok "every request costs \$0.0135" || bad "per-request cost"
import sys, h5py
r = h5py.File(sys.argv[1], "r")["requests"][()]
assert len(r) == 10000, len(r)
tot = r["cost_input_usd"] + r["cost_output_usd"] + r["cost_cache_write_usd"] + r["cost_cache_read_usd"] + r["cost_gpu_usd"]
assert (abs(tot - 0.0135) < 1e-12).all(), (tot.min(), tot.max())
assert (abs(r["cost_nocache_usd"] - 0.0135) < 1e-12).all()
PYEOF
expect_rc 0 "run cost_varied" "$LLMSIM" run data/cost_varied.yaml -o "$T/varied.h5"
$PY - "$T/varied.h5" <<'PYEOF' && ok "run total equals the sum of its rows to the cent" || bad "run total vs rows"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
r = f["requests"][()]
s = f["summary"][()]
rows_total = float((r["cost_input_usd"] + r["cost_output_usd"] + r["cost_cache_write_usd"] + r["cost_cache_read_usd"] + r["cost_gpu_usd"]).sum())
def get(scope, metric):
    for x in s:
        if x["scope"].decode() == scope and x["metric"].decode() == metric:
            return x
    raise KeyError(metric)
per1k = get("all", "cost_per_1k_usd")["mean"]
total = per1k * len(r) / 1000.0
assert len(r) == 10000
assert round(total, 2) == round(rows_total, 2), (total, rows_total)
assert abs(total - rows_total) < 1e-6, (total, rows_total)
PYEOF

# Determinism: the same scenario and seed twice give byte-identical /requests.
"$LLMSIM" run data/cost_varied.yaml -o "$T/varied2.h5" --quiet
$PY - "$T/varied.h5" "$T/varied2.h5" <<'PYEOF' && ok "byte-identical /requests on a rerun" || bad "rerun differs"
import sys, h5py
a = h5py.File(sys.argv[1], "r")["requests"][()].tobytes()
b = h5py.File(sys.argv[2], "r")["requests"][()].tobytes()
assert a == b
PYEOF
"$LLMSIM" run data/cost_varied.yaml --seed 24 -o "$T/varied3.h5" --quiet
$PY - "$T/varied.h5" "$T/varied3.h5" <<'PYEOF' && ok "another seed gives other draws" || bad "seed ignored"
import sys, h5py
a = h5py.File(sys.argv[1], "r")["requests"][()].tobytes()
b = h5py.File(sys.argv[2], "r")["requests"][()].tobytes()
assert a != b
PYEOF

# Determinism whatever the number of threads: replications in parallel give
# the same file byte for byte.
"$LLMSIM" run data/cost_varied.yaml --replications 3 --jobs 1 -o "$T/j1.h5" --quiet
"$LLMSIM" run data/cost_varied.yaml --replications 3 --jobs 3 -o "$T/j3.h5" --quiet
$PY - "$T/j1.h5" "$T/j3.h5" <<'PYEOF' && ok "--jobs 3 gives the same results as --jobs 1" || bad "--jobs changes results"
import sys, h5py
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "r")
for t in ("requests", "timeseries", "summary"):
    assert a[t][()].tobytes() == b[t][()].tobytes(), t
assert len(a["requests"]) == 30000
PYEOF

# compare: two files side by side.
expect_rc 0 "compare two results" "$LLMSIM" compare "$T/varied.h5" "$T/varied3.h5"
expect_rc 2 "compare a missing file" "$LLMSIM" compare "$T/varied.h5" "$T/none.h5"

# KV thrashing is warned about on standard error (and the run still succeeds).
"$LLMSIM" run data/kv_thrash.yaml -o "$T/th.h5" >/dev/null 2>"$T/th.err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "deployment llama8b preempts its requests for KV memory" "$T/th.err"; then
    ok "KV thrashing warning"
else
    bad "KV thrashing: exit $rc, stderr '$(head -c 300 "$T/th.err")'"
fi
"$LLMSIM" run ../scenarios/examples/batching-azure.yaml --set horizon.duration_s=600 -o "$T/ba.h5" >/dev/null 2>"$T/ba.err"
grep -q "preempts" "$T/ba.err" && bad "thrashing warning without thrashing" || ok "no thrashing warning on a healthy run"

# Every example scenario is valid.
expect_rc 0 "validate every example" "$LLMSIM" validate ../scenarios/examples/*.yaml

# The routing walkthrough: Sonnet only, the heuristic rule, a classifier and
# a cascade with Haiku 4.5, on the same arrivals and quality draws.  Sonnet
# answers every question Haiku answers (its success probability is higher
# at every difficulty and the draws are shared), so no router beats it on
# quality, and every router is cheaper.
W=../scenarios/examples/routing-walkthrough.yaml
short=(--set 'horizon={duration_s: 900, warmup_s: 60}' --json)
"$LLMSIM" run "$W" "${short[@]}" -o "$T/w0.h5" >"$T/w0.json" &&
"$LLMSIM" run "$W" "${short[@]}" -o "$T/w1.h5" --set 'routing={policy: rules, rules: [{when: {prompt_chars_lt: 1000, question_mark: true, words_lt: 20}, to: haiku}], default: sonnet}' >"$T/w1.json" &&
"$LLMSIM" run "$W" "${short[@]}" -o "$T/w2.h5" --set 'routing={policy: classifier, strong: sonnet, weak: haiku, accuracy: 0.85}' >"$T/w2.json" &&
"$LLMSIM" run "$W" "${short[@]}" -o "$T/w3.h5" --set 'routing={policy: cascade, tiers: [haiku, sonnet], detect: 0.8}' >"$T/w3.json" &&
$PY - "$T" <<'PYEOF' && ok "routing walkthrough: every router cheaper than Sonnet only, none better" || bad "routing walkthrough"
import json, sys
def get(i, metric, field="mean"):
    d = json.load(open(f"{sys.argv[1]}/w{i}.json"))
    return [r[field] for r in d["summary"] if r["scope"] == "all" and r["metric"] == metric][0]
names = ["sonnet only", "rule", "classifier", "cascade"]
q = [get(i, "success") for i in range(4)]
c = [get(i, "cost_per_1k_usd") for i in range(4)]
for i in range(4):
    print(f"    {names[i]:12s} ${c[i]:7.4f} per 1k  TTFT p95 {get(i, 'ttft_s', 'p95'):6.3f} s  quality {100 * q[i]:.2f}%")
assert all(q[0] >= q[i] for i in range(1, 4)), q
assert all(c[0] > c[i] for i in range(1, 4)), c
assert get(3, "escalated_share") > 0
PYEOF

# Hybrid spillover: some, not all, requests go past the GPU.
"$LLMSIM" run ../scenarios/examples/hybrid-spillover.yaml --set horizon.duration_s=600 --json -o "$T/hy.h5" >"$T/hy.json" &&
$PY - "$T/hy.json" <<'PYEOF' && ok "hybrid spillover spills part of the traffic" || bad "hybrid spillover"
import json, sys
d = json.load(open(sys.argv[1]))
s = [r["mean"] for r in d["summary"] if r["scope"] == "all" and r["metric"] == "spilled_share"][0]
assert 0 < s < 0.5, s
PYEOF

# Offline work through the Batch API: the same requests at exactly half the price.
B=../scenarios/examples/offline-batch.yaml
"$LLMSIM" run "$B" --set horizon.duration_s=300 --json -o "$T/ob0.h5" >"$T/ob0.json" &&
"$LLMSIM" run "$B" --set horizon.duration_s=300 --set workload.classes.summarize.batch=true --json -o "$T/ob1.h5" >"$T/ob1.json" &&
$PY - "$T" <<'PYEOF' && ok "Batch API halves the cost of the offline job" || bad "offline batch"
import json, sys
def get(n, metric, field="mean"):
    d = json.load(open(f"{sys.argv[1]}/{n}.json"))
    return [r[field] for r in d["summary"] if r["scope"] == "all" and r["metric"] == metric][0]
a, b = get("ob0", "cost_per_1k_usd"), get("ob1", "cost_per_1k_usd")
assert abs(b / a - 0.5) < 1e-9, (a, b)
assert get("ob1", "e2e_s", "p50") > 60 > get("ob0", "e2e_s", "p50")
PYEOF

# Interruption: SIGINT leaves a readable file with complete = 0 under the final name.
"$LLMSIM" run data/minimal.yaml --set horizon.duration_s=1.0e6 --set workload.arrivals.rate_per_s=50 \
    -o "$T/int.h5" --quiet >/dev/null 2>"$T/int.err" &
pid=$!
sleep 2
kill -INT "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 1 ] && $PY -c "import h5py,sys; f=h5py.File('$T/int.h5','r'); assert int(f.attrs['complete'])==0; assert len(f['requests'])>0" 2>/dev/null; then
    ok "interrupted run keeps its rows with complete = 0"
else
    bad "interrupted run: exit $rc, $(cat "$T/int.err")"
fi
ls "$T"/*.tmp-* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files left"

# calibrate steps: every broken measurement file is refused with exit 2 and
# its golden file:line:col message, and leaves no calibration file (nor a
# temporary one) behind.
expect_rc 0 "calibrate --help" "$LLMSIM" calibrate --help
expect_rc 2 "calibrate without a source" "$LLMSIM" calibrate
expect_rc 2 "calibrate steps without -o" "$LLMSIM" calibrate steps bad/calibrate/one_row.csv
for c in bad/calibrate/*.csv; do
    out="$T/cal.yaml"
    "$LLMSIM" calibrate steps "$c" -o "$out" >"$T/out" 2>"$T/err"; rc=$?
    want=$(cat "${c%.csv}.err")
    if [ "$rc" -eq 2 ] && [ "$(cat "$T/err")" = "$want" ] && [ ! -e "$out" ] && [ ! -s "$T/out" ] \
        && ! ls "$T"/cal.yaml.tmp-* >/dev/null 2>&1; then
        ok "calibrate steps $c refused"
    else
        bad "calibrate steps $c: exit $rc, stderr '$(head -c 300 "$T/err")', file $( [ -e "$out" ] && echo present || echo absent)"
    fi
done
# The shipped Vidur calibration: the command reproduces the file in the repository.
expect_rc 0 "calibrate steps on the Vidur profiles" "$LLMSIM" calibrate steps ../models/calibration/vidur-steps.csv \
    -o "$T/vidur.yaml" --quiet
if [ -s "$T/vidur.yaml" ] && diff <(sed 's/^data: .*//' "$T/vidur.yaml") <(sed 's/^data: .*//' ../models/calibration/vidur.yaml) >/dev/null; then
    ok "models/calibration/vidur.yaml is what calibrate steps writes"
else
    bad "models/calibration/vidur.yaml differs from a fresh calibrate steps run (rerun it, see docs/calibrate.md)"
fi

# With --scenario, a row's GPU must be one the scenario's deployments run on
# (each GPU takes its deployment's engine).
printf 'gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms\nh200,llama-3.1-8b,1,decode,8,0,1000,9\nh200,llama-3.1-8b,1,decode,16,0,1000,10\n' >"$T/h200.csv"
"$LLMSIM" calibrate steps "$T/h200.csv" --scenario ../scenarios/examples/validate-rtxpro6000-llama8b.yaml \
    -o "$T/h200.yaml" >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" = 2 ] && [ ! -e "$T/h200.yaml" ] &&
    grep -q "h200.csv:2:1: gpu 'h200' is not the GPU of any deployment of the scenario ('rtx-pro-6000')" "$T/err"; then
    ok "calibrate steps refuses a GPU the scenario does not have"
else
    bad "calibrate steps with a GPU outside the scenario: exit $rc, stderr '$(head -c 300 "$T/err")'"
fi

# calibrate check: the shipped calibration predicts its own rows (the last
# line is the overall median of linear and all-reduce rows: 5.3%, under 6%); a calibration for other GPUs and a
# missing calibration are refused with exit 2.
"$LLMSIM" calibrate check ../models/calibration/vidur-steps.csv --calibration ../models/calibration/vidur.yaml \
    >"$T/check" 2>"$T/err"; rc=$?
if [ "$rc" = 0 ] && awk '$1 == "all" { v = $4 + 0 } END { exit !(v > 0 && v < 6) }' "$T/check"; then
    ok "calibrate check: vidur.yaml on its own rows ($(awk '$1 == "all" {print $4}' "$T/check"))"
else
    bad "calibrate check: exit $rc, $(tail -1 "$T/check") $(head -c 300 "$T/err")"
fi
expect_rc 2 "calibrate check without --calibration" "$LLMSIM" calibrate check ../models/calibration/vidur-steps.csv
printf 'gpu,model,tp,kind,batch,prompt_tokens,context_tokens,time_ms\nl4,llama-3.1-8b,1,linear,1,512,0,90\nl4,llama-3.1-8b,1,linear,1,1024,0,170\n' >"$T/l4.csv"
"$LLMSIM" calibrate check "$T/l4.csv" --calibration ../models/calibration/vidur.yaml >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" = 2 ] && grep -q "is for a100-80gb/any, h100-sxm/any, not for this deployment's GPU 'l4'" "$T/err"; then
    ok "calibrate check refuses a calibration for other GPUs"
else
    bad "calibrate check with another GPU: exit $rc, stderr '$(head -c 300 "$T/err")'"
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
