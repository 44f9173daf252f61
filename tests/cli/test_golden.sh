#!/usr/bin/env bash
# Identical results (issue 12): every example scenario and the built-in
# default, run with the horizons of tests/golden/cases.sh, must give exactly
# the /summary and /requests recorded in tests/golden/NAME.txt (digests made
# by tests/golden/digest.py: every /summary value exact, SHA-256 of every
# /requests column).  The golden files were made with --jobs 1 before the
# performance work of issue 12; this test runs --jobs 2, so it also checks
# that --jobs never changes an answer.  A mismatch is a bug unless the model
# changed on purpose: then regenerate (tests/golden/regen.sh, whose header
# says when that is legitimate) and give the reason in the commit message.
# Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_golden.sh LLMSIM}
LLMSIM=$(cd "$(dirname "$LLMSIM")" && pwd)/$(basename "$LLMSIM")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GOLDEN=$ROOT/tests/golden
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-golden-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    echo "FAIL h5py or numpy missing under $PY"; exit 1
fi
# shellcheck source=../golden/cases.sh
. "$GOLDEN/cases.sh"
cd "$ROOT" || exit 1

# Every example scenario has a case.  Uncommitted new examples only warn (work
# in progress); a committed one without a golden file fails.
for f in scenarios/examples/*.yaml; do
    found=0
    for c in "${GOLDEN_CASES[@]}"; do
        [ "$(cut -d'|' -f2 <<<"$c")" = "$f" ] && found=1
    done
    if [ $found = 1 ]; then continue; fi
    if git -C "$ROOT" ls-files --error-unmatch "$f" >/dev/null 2>&1 || ! git -C "$ROOT" rev-parse >/dev/null 2>&1; then
        bad "$f has no golden case: add a line to tests/golden/cases.sh and run tests/golden/regen.sh"
    else
        echo "warn $f is not committed and has no golden case yet (tests/golden/cases.sh)"
    fi
done

for c in "${GOLDEN_CASES[@]}"; do
    IFS='|' read -r name scen extra <<<"$c"
    read -ra xargs_ <<<"$extra"
    sargs=(); [ "$scen" = "-" ] || sargs=("$scen")
    gold=$GOLDEN/$name.txt
    if [ ! -f "$gold" ]; then bad "$name: no golden file tests/golden/$name.txt (tests/golden/regen.sh)"; continue; fi
    if ! "$LLMSIM" run "${sargs[@]}" "${GOLDEN_COMMON[@]}" "${xargs_[@]}" --jobs 2 -o "$T/$name.h5" 2>"$T/err"; then
        bad "$name: llmsim run ${sargs[*]} ${GOLDEN_COMMON[*]} $extra --jobs 2 failed: $(head -c 500 "$T/err")"
        continue
    fi
    {
        echo "# golden digest of llmsim run (tests/golden/regen.sh; see there before regenerating)"
        echo "case $name"
        echo "scenario $scen"
        echo "args ${GOLDEN_COMMON[*]} $extra"
        "$PY" "$GOLDEN/digest.py" "$T/$name.h5"
    } >"$T/$name.txt" || { bad "$name: digest.py failed"; continue; }
    if cmp -s "$gold" "$T/$name.txt"; then
        ok "$name: /summary and /requests identical to tests/golden/$name.txt"
        continue
    fi
    # Name the tables that differ and show the first differing lines, each
    # with its table (and /summary scope).
    bad "$name: differs from tests/golden/$name.txt (golden: --jobs 1, before issue 12's optimisations; this run: --jobs 2):"
    "$PY" - "$gold" "$T/$name.txt" <<'PYEOF'
import difflib, sys
def labelled(path):
    out, section = [], None
    for line in open(path).read().splitlines():
        if line.startswith("requests.columns"):
            section = "/requests column"
        elif line.startswith("scope "):
            section = "/summary " + line[6:] + ":"
        elif line.startswith("summary"):
            section = None
            line = "/" + line
        elif line.startswith("requests"):
            section = None
            line = "/" + line
        if line.startswith("  ") and section:
            line = section + " " + line.strip()
        out.append(line)
    return out
a, b = labelled(sys.argv[1]), labelled(sys.argv[2])
diff = [l for l in difflib.unified_diff(a, b, "golden", "this run", n=0, lineterm="")
        if not l.startswith(("---", "+++", "@@"))]
tables = []
for l in diff:
    t = l[1:].split(" ")[0].split(".")[0]
    t = t if t in ("/requests", "/summary") else "header (" + l[1:].split(" ")[0] + ")"
    if t not in tables:
        tables.append(t)
print("     tables that differ: " + ", ".join(tables))
for l in diff[:24]:
    print("     " + ("golden   " if l[0] == "-" else "this run ") + l[1:][:400])
if len(diff) > 24:
    print("     ... %d more differing lines" % (len(diff) - 24))
PYEOF
done
echo "golden: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
