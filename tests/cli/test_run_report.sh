#!/usr/bin/env bash
# What `llmsim run` reports beyond latency and cost per request: the fleet's cost per hour and
# per month, tokens per second, the overload warning and the `stable` flags, and which horizon
# bound stopped arrivals (with a trace replayed whole when it has no horizon).  Runs from
# tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_run_report.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-report-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# An overloaded deployment: one replica of 4x H100 offered 10 requests/s.  The run succeeds,
# warns with both rates and what to change, and marks the deployment unstable in the JSON.
"$LLMSIM" run data/overloaded.yaml -o "$T/ov.h5" --json >"$T/ov.json" 2>"$T/ov.err"; rc=$?
re='deployment llama70b is overloaded: ([0-9.]+) requests/s offered but ([0-9.]+) served while requests arrived, and its queue grew by [0-9]+; latency grows with the horizon; add replicas, use a faster GPU'
if [ "$rc" -eq 0 ] && [[ "$(cat "$T/ov.err")" =~ $re ]] &&
    awk -v a="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" 'BEGIN { exit !(a > 9.9 && a < 10.3 && b < a - 0.3) }'; then
    ok "overload warning (${BASH_REMATCH[1]} offered, ${BASH_REMATCH[2]} served)"
else
    bad "overload warning: exit $rc, stderr '$(head -c 400 "$T/ov.err")'"
fi
$PY - "$T/ov.json" <<'PYEOF' && ok "JSON: the overloaded deployment is not stable" || bad "JSON stable flag (overloaded)"
import json, sys
d = json.load(open(sys.argv[1]))
dep = d["deployments"][0]
assert d["stable"] is False and dep["name"] == "llama70b" and dep["stable"] is False, (d["stable"], dep)
assert dep["offered_rps"] > dep["achieved_rps"] + 0.3, dep
assert dep["queue_growth"] > 100, dep
rows = {(r["scope"], r["metric"]): r for r in d["summary"]}
assert rows[("deployment:llama70b", "stable")]["mean"] == 0
PYEOF
# Two replicas of the same keep up.
"$LLMSIM" run data/overloaded.yaml --set deployments.llama70b.replicas=2 -o "$T/ok.h5" --json >"$T/ok.json" 2>"$T/ok.err"
if ! grep -q overloaded "$T/ok.err" && $PY -c "import json,sys; d=json.load(open('$T/ok.json')); assert d['stable'] is True and d['deployments'][0]['stable'] is True"; then
    ok "two replicas: no warning, stable"
else
    bad "two replicas: stderr '$(head -c 300 "$T/ok.err")'"
fi

# Every healthy example stays silent: neither overloaded nor thrashing its KV cache, and every
# deployment stable.  The validate-* examples replay measured vLLM runs that were overloaded on
# purpose (300 requests sent at 10/s), so they are left out, and so is noisy-tenant, whose heavy
# tenant sends more than the replica can serve on purpose (fair share only matters while tenants
# are backlogged; its warning is checked below), and tenant-quota, whose heavy tenant sends twice
# its quota and keeps retrying, so its backlog of 429s grows with the horizon on purpose.
for y in ../scenarios/examples/*.yaml; do
    case "$(basename "$y")" in validate-* | noisy-tenant.yaml | tenant-quota.yaml) continue ;; esac
    n=$(basename "$y" .yaml)
    "$LLMSIM" run "$y" -o "$T/ex.h5" --json --jobs 4 >"$T/ex.json" 2>"$T/ex.err"; rc=$?
    if [ "$rc" -eq 0 ] && ! grep -Eq "overloaded|preempts" "$T/ex.err" &&
        $PY -c "import json; d=json.load(open('$T/ex.json')); assert d['stable'] is True and all(x['stable'] for x in d['deployments'])"; then
        ok "example $n: healthy and silent"
    else
        bad "example $n: exit $rc, stderr '$(head -c 300 "$T/ex.err")'"
    fi
done

# noisy-tenant is overloaded by design and says so.
"$LLMSIM" run ../scenarios/examples/noisy-tenant.yaml -o "$T/nt.h5" >/dev/null 2>"$T/nt.err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "deployment gpu is overloaded" "$T/nt.err"; then
    ok "example noisy-tenant: overloaded on purpose, warned"
else
    bad "example noisy-tenant: exit $rc, stderr '$(head -c 300 "$T/nt.err")'"
fi

# Cost per hour: a self-hosted fleet costs GPUs x $/GPU-hour (the resolved scenario's rate),
# a month is 730 h, tokens per second are throughput x mean tokens; the table says so.
"$LLMSIM" run ../scenarios/examples/capacity-70b-h100-tp4.yaml -o "$T/cap.h5" --json >"$T/cap.json" &&
    "$LLMSIM" run ../scenarios/examples/capacity-70b-h100-tp4.yaml -o "$T/cap.h5" >"$T/cap.txt" &&
    $PY - "$T/cap.json" "$T/cap.h5" "$T/cap.txt" <<'PYEOF' && ok "self-hosted cost per hour = 8 GPUs x the GPU-hour rate" || bad "self-hosted cost per hour"
import json, re, sys, h5py
d = json.load(open(sys.argv[1]))
resolved = h5py.File(sys.argv[2], "r")["scenario"]["resolved"][()]
resolved = resolved.decode() if isinstance(resolved, bytes) else str(resolved)
rate = float(re.search(r"gpu_hour_usd: ([0-9.eE+-]+)", resolved).group(1))
hour = d["cost_per_hour_usd"]
assert abs(hour - 2 * 4 * rate) < 1e-9 * hour, (hour, rate)
assert abs(d["cost_per_month_usd"] - 730 * hour) < 1e-9 * 730 * hour
rows = {(r["scope"], r["metric"]): r["mean"] for r in d["summary"]}
for k in ("input", "output"):
    want = rows[("all", "throughput_rps")] * rows[("all", k + "_tokens")]
    assert abs(d[k + "_tokens_per_s"] - want) < 1e-9 * want, (k, d[k + "_tokens_per_s"], want)
text = open(sys.argv[3]).read()
assert re.search(r"^cost per hour +\$%.2f, per month \(730 h\) \$%.2f: 8 GPUs provisioned$" % (hour, 730 * hour), text, re.M), text
assert re.search(r"^tokens per second +%.0f input, %.0f output$" % (d["input_tokens_per_s"], d["output_tokens_per_s"]), text, re.M)
PYEOF
# An api deployment: what its requests were billed, per hour of arrivals.
"$LLMSIM" run -o "$T/def.h5" --json >"$T/def.json" && "$LLMSIM" run -o "$T/def.h5" >"$T/def.txt" &&
    $PY - "$T/def.json" "$T/def.h5" "$T/def.txt" <<'PYEOF' && ok "api cost per hour = billed spend / arrival period" || bad "api cost per hour"
import json, re, sys, h5py
d = json.load(open(sys.argv[1]))
r = h5py.File(sys.argv[2], "r")["requests"][()]
billed = float((r["cost_input_usd"] + r["cost_cache_write_usd"] + r["cost_cache_read_usd"] + r["cost_output_usd"]).sum())
want = 3600 * billed / float(r["arrival_s"].max())
assert abs(d["cost_per_hour_usd"] - want) < 1e-9 * want, (d["cost_per_hour_usd"], want)
assert re.search(r"^cost per hour +\$%.2f, per month \(730 h\) \$[0-9.]+: api spend at this traffic$" % want, open(sys.argv[3]).read(), re.M)
PYEOF

# What stopped arrivals, in the header line and the JSON.
"$LLMSIM" run data/trace_whole.yaml -o "$T/tw.h5" >"$T/tw.txt" 2>"$T/tw.err"; rc=$?
if [ "$rc" -eq 0 ] && head -1 "$T/tw.txt" | grep -q "^llmsim: trace-whole (seed 3, 1 replication, 300 requests measured; arrivals stopped by the end of the trace)$"; then
    ok "a trace without a horizon is replayed whole"
else
    bad "trace without a horizon: exit $rc, '$(head -1 "$T/tw.txt") $(head -c 300 "$T/tw.err")'"
fi
"$LLMSIM" run data/trace_whole.yaml --set horizon.requests=100 -o "$T/tw.h5" --json >"$T/tw.json" &&
    $PY -c "import json; d=json.load(open('$T/tw.json')); assert d['arrivals_stopped_by'] == 'requests', d['arrivals_stopped_by']" &&
    ok "JSON arrivals_stopped_by" || bad "JSON arrivals_stopped_by"
# Both bounds, close to each other: some replications reach the count, others the duration.
"$LLMSIM" run data/minimal.yaml --set 'horizon={duration_s: 100, requests: 200}' --set workload.arrivals.rate_per_s=2 \
    --replications 6 --seed 3 -o "$T/mix.h5" >"$T/mix.txt" &&
    $PY - "$T/mix.h5" "$T/mix.txt" <<'PYEOF' && ok "header: the bound each replication reached" || bad "header with mixed bounds"
import collections, re, sys, h5py
r = h5py.File(sys.argv[1], "r")["requests"][()]
per = collections.Counter(r["replication"].tolist())
by_count = sum(1 for v in per.values() if v == 200)
head = open(sys.argv[2]).readline()
m = re.search(r"; arrivals stopped by duration_s = 100 s in (\d) replications?, by requests = 200 in (\d) replications?\)$", head)
assert m, head
assert int(m.group(2)) == by_count and int(m.group(1)) == 6 - by_count and 0 < by_count < 6, (head, per)
PYEOF
# --set of one bound keeps the file's other: a note says which one won.
"$LLMSIM" run data/minimal.yaml --set horizon.requests=100000 -o "$T/n.h5" >"$T/n.txt" 2>"$T/n.err"
if head -1 "$T/n.txt" | grep -q "; arrivals stopped by duration_s = 600 s)$" &&
    grep -q "^llmsim: note: arrivals stopped by the scenario's duration_s = 600 s before requests = 100000: --set keeps the other bound, and arrivals stop at whichever comes first; to drop it, replace the whole horizon: --set 'horizon={requests: 100000}'$" "$T/n.err"; then
    ok "note when the file's bound stops arrivals first"
else
    bad "horizon note: '$(head -1 "$T/n.txt")' '$(cat "$T/n.err")'"
fi
"$LLMSIM" run data/minimal.yaml --set horizon.requests=300 -o "$T/n.h5" >"$T/n.txt" 2>"$T/n.err"
if head -1 "$T/n.txt" | grep -q "^llmsim: base (seed 7, 1 replication, 300 requests measured; arrivals stopped by requests = 300)$" && [ ! -s "$T/n.err" ]; then
    ok "no note when the bound set comes first"
else
    bad "horizon without note: '$(head -1 "$T/n.txt")' '$(cat "$T/n.err")'"
fi

# --tail: the attribution table on stdout and /tail in the file, its E2E tail above p95.
"$LLMSIM" run data/minimal.yaml --set 'horizon={requests: 2000}' --tail -o "$T/tail.h5" >"$T/tail.txt" 2>&1
if grep -q "^tail attribution: 2000 measured requests" "$T/tail.txt" && grep -q "^E2E: 100 requests above p95" "$T/tail.txt" &&
    h5dump -H -d /tail "$T/tail.h5" 2>/dev/null | grep -q '"lift"'; then
    ok "run --tail prints the attribution and writes /tail"
else
    bad "run --tail: $(head -c 600 "$T/tail.txt")"
fi
"$LLMSIM" run data/minimal.yaml --set horizon.requests=200 -o "$T/notail.h5" >/dev/null 2>&1
if h5dump -H -d /tail "$T/notail.h5" >/dev/null 2>&1; then bad "/tail written without --tail"; else ok "no /tail without --tail"; fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
