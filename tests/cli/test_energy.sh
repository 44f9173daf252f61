#!/usr/bin/env bash
# Energy and carbon on the command line: `run` prints the energy table and the billed
# electricity line, --json carries the energy figures (all and per deployment) equal to
# /summary's, the grid intensity changes CO2 and nothing else, `compare` shows the energy
# section, a bad key exits 2 with a located message, and a scenario without the section
# prints no energy.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_energy.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-energy-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
EX=../scenarios/examples/energy-70b.yaml
short=(--set horizon.duration_s=600 --no-progress)

"$LLMSIM" run "$EX" "${short[@]}" -o "$T/a.h5" >"$T/a.txt" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && grep -q '^energy (PUE 1.1, \$0.0892/kWh, 436 g CO2/kWh; electricity added to the cost' "$T/a.txt" &&
    grep -q '^  llama70b  *[0-9.]' "$T/a.txt" && grep -q '^  electricity \$0.0' "$T/a.txt"; then
    ok "run prints the energy table and the billed electricity"
else
    bad "run output (rc $rc): $(head -c 300 "$T/err")"; sed -n '/^energy/,+4p' "$T/a.txt"
fi

"$LLMSIM" run "$EX" "${short[@]}" --json -o "$T/j.h5" >"$T/j.json" 2>/dev/null
if "$PY" - "$T/j.json" "$T/j.h5" <<'PYEOF'; then ok "--json energy figures equal /summary's"; else bad "--json energy figures"; fi
import json, sys, h5py
d = json.load(open(sys.argv[1]))
s = h5py.File(sys.argv[2], "r")["summary"][()]
def row(scope, metric):
    for r in s:
        if r["scope"].decode() == scope and r["metric"].decode() == metric:
            return float(r["mean"])
    raise SystemExit("no row %s %s" % (scope, metric))
for m in ("energy_kwh", "energy_per_1k_kwh", "energy_usd", "co2_g", "co2_per_1k_g"):
    assert d[m] == row("all", m), m
    assert d["deployments"][0][m] == row("deployment:llama70b", m), m
assert abs(d["energy_usd"] - d["energy_kwh"] * 0.0892) <= 1e-12 * d["energy_usd"]
assert abs(d["co2_g"] - d["energy_kwh"] * 436) <= 1e-12 * d["co2_g"]
assert d["energy_kwh"] > 0
PYEOF

"$LLMSIM" run "$EX" "${short[@]}" --quiet --set energy.grid_g_co2_per_kwh=56 -o "$T/b.h5" 2>/dev/null
"$LLMSIM" compare "$T/a.h5" "$T/b.h5" >"$T/cmp" 2>"$T/err"
if grep -q '^energy$' "$T/cmp" && grep -q '^  energy (kWh) ' "$T/cmp" &&
    grep -Eq '^  CO2 / 1k req \(g\) .* -87\.2%$' "$T/cmp" && grep -Eq '^  energy \(kWh\) .* \+0\.0%$' "$T/cmp"; then
    ok "compare: the energy section, CO2 down by 1 - 56/436 = 87.2%, energy unchanged"
else
    bad "compare output: $(cat "$T/err")"; sed -n '/^energy/,+6p' "$T/cmp"
fi

"$LLMSIM" run bad/energy_unknown_key.yaml --quiet -o "$T/x.h5" >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "energy: unknown key 'grid_g_co2_per_kwhh' (did you mean 'grid_g_co2_per_kwh'?)" "$T/err"; then
    ok "a misspelt energy key exits 2 with a did-you-mean"
else
    bad "bad key: rc $rc, $(cat "$T/err")"
fi

"$LLMSIM" run ../scenarios/examples/mm1.yaml --no-progress --set horizon.requests=2000 -o "$T/m.h5" >"$T/m.txt" 2>&1
if ! grep -q '^energy' "$T/m.txt"; then ok "no energy section, no energy output"; else bad "energy printed without the section"; fi

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
