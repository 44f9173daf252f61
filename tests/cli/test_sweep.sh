#!/usr/bin/env bash
# llmsim sweep and llmsim merge end to end: results independent of --jobs; shards run through
# GNU parallel (and chosen by Slurm or Open MPI variables) merge into the file of the unsharded
# sweep; bad --vary, --shard and merge input is refused with exit 2 and a located message; an
# interrupted sweep leaves a readable file with complete = 0 and its finished points; and a
# sweep of an M/M/4 queue agrees point by point with the Erlang C formula within its own
# confidence intervals.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_sweep.sh LLMSIM}
PY=/usr/bin/python3
S=../scenarios/examples/mmc.yaml
T=$(mktemp -d /tmp/llmsim-sweep-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

if ! command -v h5dump >/dev/null 2>&1; then
    bad "h5dump (Debian package hdf5-tools, in .ci/deps.sh) is missing"
    echo "$passes passed, $fails failed"
    exit 1
fi

# The whole file as h5dump prints it, every double to 17 digits, without the file name,
# created_utc's value and merge's merged_from attribute: what must agree between two files.
dump() {
    h5dump -m %.17g "$1" | sed 1d |
        sed -E 's/"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"/"TIME"/' |
        awk '/^   ATTRIBUTE "merged_from" \{$/ { skip = 1 } skip { if ($0 == "   }") skip = 0; next } { print }'
}
# A root attribute's value as h5dump prints it ("" when absent).
attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): //p'; }
# The number of rows of /sweep.
rows() { h5dump -H -d /sweep "$1" 2>/dev/null | sed -n 's/^ *DATASPACE *SIMPLE { ( \([0-9]*\) ).*/\1/p' | head -1; }

# A small sweep of 10 points (5 arrival rates x 2 pool sizes, the last key fastest).
cat >"$T/small.sh" <<EOF
exec "$LLMSIM" sweep "$S" --vary workload.arrivals.rate_per_s=8,16,24,28,32 \\
    --vary deployments.pool.replicas=4,5 --set 'horizon={requests: 1000, warmup_s: 10}' \\
    --replications 2 --quiet "\$@"
EOF

# (a) --jobs 1 and --jobs 2 write the same file.
bash "$T/small.sh" --jobs 1 -o "$T/j1.h5" >"$T/out" 2>"$T/err"; rc1=$?
bash "$T/small.sh" --jobs 2 -o "$T/j2.h5" >>"$T/out" 2>>"$T/err"; rc2=$?
dump "$T/j1.h5" >"$T/j1.txt" 2>/dev/null
dump "$T/j2.h5" >"$T/j2.txt" 2>/dev/null
if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$(rows "$T/j1.h5")" = 10 ] &&
    [ "$(grep -c '^      GROUP "p00[0-9][0-9]" {$' "$T/j1.txt")" = 10 ] && cmp -s "$T/j1.txt" "$T/j2.txt"; then
    ok "--jobs 1 and --jobs 2 give the same /sweep and /points"
else
    bad "--jobs 1 vs 2: exit $rc1 $rc2, $(rows "$T/j1.h5") rows, $(diff "$T/j1.txt" "$T/j2.txt" | head -5) $(head -c 300 "$T/err")"
fi
[ "$(attr "$T/j1.h5" kind)" = '"sweep"' ] && [ "$(attr "$T/j1.h5" complete)" = 1 ] &&
    [ "$(attr "$T/j1.h5" points_total)" = 10 ] && [ "$(attr "$T/j1.h5" pareto_latency)" = '"e2e_s_p95"' ] &&
    [ -z "$(attr "$T/j1.h5" shard_index)" ] &&
    ok "root attributes kind, complete, points_total, pareto_latency" ||
    bad "root attributes: $(h5dump -A "$T/j1.h5" | head -c 600)"

# (b) Four shards through GNU parallel, merged out of order, read exactly like the sweep above.
if parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
    parallel --will-cite --halt now,fail=1 -j 4 bash "$T/small.sh" --shard {}/4 -o "$T/shard{}.h5" \
        ::: 0 1 2 3 >"$T/out" 2>"$T/err"; rc=$?
    [ "$rc" -eq 0 ] && ok "four shards through GNU parallel" || bad "GNU parallel: exit $rc, $(head -c 300 "$T/err")"
elif [ "${CI:-}" = true ]; then
    bad "GNU parallel (Debian package parallel, in .ci/deps.sh) is missing on CI"
else
    echo "note: no GNU parallel on this machine (apt-get install parallel): shards run in a loop"
    for i in 0 1 2 3; do bash "$T/small.sh" --shard "$i/4" -o "$T/shard$i.h5"; done
fi
"$LLMSIM" merge "$T/shard3.h5" "$T/shard1.h5" "$T/shard0.h5" "$T/shard2.h5" -o "$T/merged.h5" >"$T/out" 2>"$T/err"
rc=$?
dump "$T/merged.h5" >"$T/merged.txt" 2>/dev/null
if [ "$rc" -eq 0 ] && [ -s "$T/j1.txt" ] && cmp -s "$T/j1.txt" "$T/merged.txt"; then
    ok "merge of four shards reads exactly like the unsharded sweep"
else
    bad "merge round trip: exit $rc, $(diff "$T/j1.txt" "$T/merged.txt" | head -8) $(head -c 300 "$T/err")"
fi
[ "$(cat "$T/out")" = "merged 4 shards of sweep mmc (10 points) into $T/merged.h5" ] &&
    [ "$(attr "$T/merged.h5" merged_from)" = 4 ] && [ -z "$(attr "$T/merged.h5" shard_count)" ] &&
    [ "$(attr "$T/shard1.h5" shard_index)" = 1 ] && [ "$(attr "$T/shard1.h5" shard_count)" = 4 ] &&
    ok "merged_from = 4, no shard attributes left" || bad "merge attributes: '$(cat "$T/out")'"
# The frontier of a shard is over its own points; the merged file's is over all of them, so a
# point on a shard's frontier can be off the merged one: check that this sweep has such a
# point, so that the comparison above covers the recomputation.
$PY - "$T" <<'PYEOF' && ok "merge recomputes the Pareto frontier over all points" || bad "pareto recomputation not exercised"
import sys
import h5py
t = sys.argv[1]
merged = {int(r["point"]): int(r["pareto"]) for r in h5py.File(t + "/merged.h5", "r")["sweep"][:]}
own = {}
for i in range(4):
    for r in h5py.File(f"{t}/shard{i}.h5", "r")["sweep"][:]:
        own[int(r["point"])] = int(r["pareto"])
assert sorted(own) == sorted(merged) == list(range(10)), (own, merged)
assert any(own[p] != merged[p] for p in merged), (own, merged)
PYEOF

# The shard from Slurm's array variables (ids from SLURM_ARRAY_TASK_MIN) and Open MPI's rank.
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4 bash "$T/small.sh" -o "$T/slurm.h5" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(dump "$T/slurm.h5")" = "$(dump "$T/shard2.h5")" ] &&
    ok "SLURM_ARRAY_TASK_ID 3 of 1..4 is --shard 2/4" || bad "Slurm shard: exit $rc, $(head -c 300 "$T/err")"
OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=4 bash "$T/small.sh" -o "$T/mpi.h5" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(dump "$T/mpi.h5")" = "$(dump "$T/shard1.h5")" ] &&
    ok "OMPI_COMM_WORLD_RANK 1 of 4 is --shard 1/4" || bad "MPI shard: exit $rc, $(head -c 300 "$T/err")"
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=4 bash "$T/small.sh" --shard 0/4 -o "$T/given.h5" 2>"$T/err"
[ "$(attr "$T/given.h5" shard_index)" = 0 ] && ok "--shard wins over the environment" ||
    bad "--shard with Slurm variables: shard_index $(attr "$T/given.h5" shard_index)"

# (c) Bad input: exit 2, one located message, no results file.
expect_bad() { # description message-regex sweep-arguments...
    local what=$1 re=$2; shift 2
    "$LLMSIM" sweep "$S" "$@" -o "$T/bad.h5" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq 2 ] && grep -Eq "$re" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/bad.h5" ]; then
        ok "$what (exit 2)"
    else
        bad "$what: exit $rc, '$(head -c 300 "$T/err")'"
    fi
}
expect_bad "--vary of an unknown key" "^--vary nosuch\.key:[0-9]+:[0-9]+: unknown key 'nosuch'" \
    --vary nosuch.key=1,2
expect_bad "--vary of a misspelt key" \
    "^--vary workload\.arrivals\.rate_pr_s:[0-9]+:[0-9]+: .*did you mean 'rate_per_s'\?" \
    --vary workload.arrivals.rate_pr_s=1,2
expect_bad "--vary with a value that is not a number" \
    "^--vary workload\.arrivals\.rate_per_s:[0-9]+:[0-9]+: .*expected a number, got 'abc'" \
    --vary workload.arrivals.rate_per_s=8,abc
expect_bad "--vary without =" "^llmsim: sweep: --vary 'x' is not KEY=V1,V2,\.\.\." --vary x
expect_bad "--shard 4/4" "^llmsim: sweep: --shard: '4/4' is not i/N" --vary workload.arrivals.rate_per_s=8 --shard 4/4
expect_bad "--shard without /N" "^llmsim: sweep: --shard: '1' is not i/N" --vary workload.arrivals.rate_per_s=8 --shard 1

expect_merge_bad() { # description message merge-arguments...
    local what=$1 msg=$2; shift 2
    "$LLMSIM" merge "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(cat "$T/err")" = "$msg" ] && [ ! -e "$T/bad.h5" ]; then
        ok "merge: $what (exit 2)"
    else
        bad "merge: $what: exit $rc, '$(head -c 300 "$T/err")'"
    fi
}
expect_merge_bad "a shard missing" "llmsim: merge: shard 2 of 4 is missing (3 files given)" \
    "$T/shard0.h5" "$T/shard1.h5" "$T/shard3.h5" -o "$T/bad.h5"
expect_merge_bad "a shard twice" "llmsim: merge: $T/shard1.h5 and $T/mpi.h5 are both shard 1 of 4" \
    "$T/shard0.h5" "$T/shard1.h5" "$T/mpi.h5" "$T/shard2.h5" "$T/shard3.h5" -o "$T/bad.h5"
bash "$T/small.sh" --seed 5 --shard 1/4 -o "$T/other1.h5"
expect_merge_bad "a shard of another sweep" \
    "llmsim: merge: $T/other1.h5 and $T/shard0.h5 differ in their resolved scenario (/scenario/resolved): they are not shards of one run" \
    "$T/shard0.h5" "$T/other1.h5" "$T/shard2.h5" "$T/shard3.h5" -o "$T/bad.h5"
expect_merge_bad "the output is a shard" \
    "llmsim: merge: the output $T/shard0.h5 is one of the shards; write the merged file elsewhere" \
    "$T/shard0.h5" "$T/shard1.h5" "$T/shard2.h5" "$T/shard3.h5" -o "$T/shard0.h5"
expect_merge_bad "no -o" "llmsim: merge: -o OUT.h5 is required (usage: llmsim merge SHARD.h5... -o OUT.h5)" \
    "$T/shard0.h5"
expect_merge_bad "not a results file" "llmsim: merge: $S: not an HDF5 file" "$S" -o "$T/bad.h5"

# (d) SIGINT during a sweep of 40 points (about half a second each): once progress shows a
# finished point, the sweep stops, writes the finished points with complete = 0 under the
# final name and exits 1.
"$LLMSIM" sweep "$S" --vary workload.arrivals.rate_per_s=10:29.5:0.5 --replications 1 \
    --set 'horizon={requests: 300000, warmup_s: 10}' --set output.requests=false --progress \
    -o "$T/int.h5" >"$T/int.out" 2>"$T/int.err" &
pid=$!
for ((k = 0; k < 1500; k++)); do # up to 5 minutes (sanitizer builds)
    n=$(tr '\r' '\n' <"$T/int.err" | sed -n 's/.*(\([0-9]*\)\/40 points.*/\1/p' | tail -1)
    [ "${n:-0}" -ge 1 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
kill -INT "$pid" 2>/dev/null
wait "$pid"; rc=$?
nrows=$(rows "$T/int.h5")
ngroups=$(h5dump -n "$T/int.h5" 2>/dev/null | grep -c '^ group      /points/p')
if [ "$rc" -eq 1 ] && [ "$(attr "$T/int.h5" complete)" = 0 ] && [ "${nrows:-0}" -ge 1 ] && [ "$nrows" -lt 40 ] &&
    [ "$ngroups" = "$nrows" ] && grep -q "^llmsim: sweep: interrupted; the $nrows finished points are in $T/int.h5 (complete = false)$" "$T/int.err"; then
    ok "an interrupted sweep keeps its $nrows finished points with complete = 0 (exit 1)"
else
    bad "interrupted sweep: exit $rc, complete '$(attr "$T/int.h5" complete)', $nrows rows, $ngroups groups, $(tail -c 300 "$T/int.err")"
fi
ls "$T"/*.tmp-* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files left"
expect_merge_bad "an incomplete file" \
    "llmsim: merge: $T/int.h5 is not complete (complete = 0: its sweep was interrupted or failed); run that shard again" \
    "$T/int.h5" -o "$T/bad.h5"

# (e) M/M/4 (Erlang C) at five arrival rates, rho 0.3 to 0.8: each point's mean wait in queue
# against Wq = C(c, a) / (c mu - lambda).  Each point's queue_s_mean_ci95 is a Student t
# half-width over R replications (t_{0.975, R-1} standard errors), so (mean - Wq) / (ci95 /
# t_{0.975, R-1}) is t-distributed with R - 1 degrees of freedom when the simulation is right;
# the bound is the t quantile that keeps the chance of a false failure over all points below
# 0.001 (Bonferroni, two-sided): t_{0.9999, 9} = 6.0 standard errors, 2.7 half-widths, at R = 10
# and five points.  The check is only worth something when the intervals are tight: each
# half-width is below 7.5% of Wq, so that an error of 20% of Wq would fail.
"$LLMSIM" sweep "$S" --vary workload.arrivals.rate_per_s=12,20,24,28,32 \
    --set 'horizon={requests: 50000, warmup_s: 100}' --set output.requests=false --jobs 2 --quiet \
    -o "$T/erlang.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] || bad "Erlang C sweep: exit $rc, $(head -c 300 "$T/err")"
$PY - "$T/erlang.h5" <<'PYEOF' && ok "M/M/4 sweep agrees with Erlang C at every point" || bad "Erlang C per point"
import math
import sys
import h5py

def t_cdf(x, nu):
    """P(T <= x) for Student t with nu degrees of freedom (Simpson's rule on the density)."""
    c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
    f = lambda u: c * (1 + u * u / nu) ** (-(nu + 1) / 2)
    n = 4000
    h = abs(x) / n
    s = f(0) + f(abs(x)) + sum((4 if k % 2 else 2) * f(k * h) for k in range(1, n))
    half = s * h / 3
    return 0.5 + half if x >= 0 else 0.5 - half

def t_quantile(p, nu):
    lo, hi = 0.0, 100.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, nu) < p else (lo, mid)
    return (lo + hi) / 2

def erlang_c(c, a):
    """Probability of waiting in M/M/c with offered load a = lambda / mu."""
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (s + top)

f = h5py.File(sys.argv[1], "r")
reps = int(f.attrs["replications"])
rows = f["sweep"][:]
assert reps >= 2 and len(rows) == 5, (reps, len(rows))
c, mu = 4, 1 / 0.1  # mmc.yaml: four servers, exponential service of mean 0.1 s
alpha = 0.001
t95 = t_quantile(0.975, reps - 1)
bound = t_quantile(1 - alpha / (2 * len(rows)), reps - 1)
assert abs(t95 - 2.2622) < 1e-3, t95  # t_{0.975, 9}: the quantile code itself
worst = 0
for r in rows:
    lam = float(r["workload.arrivals.rate_per_s"])
    wq = erlang_c(c, lam / mu) / (c * mu - lam)
    mean, hw = float(r["queue_s_mean"]), float(r["queue_s_mean_ci95"])
    assert math.isfinite(hw) and 0 < hw < 0.075 * wq, (lam, mean, hw, wq)
    t = abs(mean - wq) / (hw / t95)
    print(f"  lambda {lam:4.0f}: Wq {wq:.6f} s, simulated {mean:.6f} +- {hw:.6f} s, |t| {t:.2f} (bound {bound:.2f})")
    assert t <= bound, (lam, mean, hw, wq, t, bound)
    assert int(r["stable"]) == 1, lam
PYEOF

# pandas reads /sweep and a point's summary, as the docs say (the CI machine has pandas and tables).
if /usr/bin/python3 -c "import pandas, tables" 2>/dev/null; then
    /usr/bin/python3 - "$T/j1.h5" <<'PYEOF' 2>/dev/null && ok "pandas reads /sweep and /points/p0000/summary" || bad "pandas read_hdf of a sweep file"
import sys, warnings
import pandas as pd
warnings.simplefilter("ignore")
s = pd.read_hdf(sys.argv[1], "sweep")
assert len(s) == 10 and list(s["point"]) == list(range(10)), s["point"]
assert "ttft_s_p95" in s.columns and "ttft_s_p95_ci95" in s.columns and "pareto" in s.columns
p = pd.read_hdf(sys.argv[1], "points/p0000/summary")
row = p[(p["scope"] == b"all") | (p["scope"] == "all")]
assert len(row) > 0 and "p95_ci95" in p.columns
PYEOF
elif [ "${CI:-}" = true ]; then
    bad "python3 with pandas and tables is missing on a CI machine"
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
