#!/usr/bin/env bash
# Regenerate the golden digests that tests/cli/test_golden.sh compares with.
#
# usage: tests/golden/regen.sh [LLMSIM]        (default: build/llmsim)
#
# The golden files pin the exact answers of every example scenario (and of the
# built-in default): all of /summary and checksums of every column of
# /requests.  Performance work (sorting, pools, HDF5 chunking, --jobs, the
# event loop) must never change them.  Regenerating is legitimate ONLY when an
# answer changes on purpose:
#   - a deliberate model change (a latency, cost, cache, batching or routing
#     rule, a catalog figure, a distribution), or a bug fix that changes results;
#   - a change to an example scenario or to tests/golden/cases.sh;
#   - a deliberate change to the results schema (a column added, renamed).
# Then regenerate with the binary that has the change and say in the commit
# message which change moved which numbers and why.  Never regenerate to make
# an optimisation pass: a speed-up that changes a digest is a bug (or, if the
# old answer was wrong, a model change that gets its own commit and reason).
#
# Each case runs twice, with --jobs 1 and --jobs 2, and the two digests must
# match; the golden file is the --jobs 1 digest.  The files name no paths and
# no timestamps, so they do not depend on where or when they were made.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LLMSIM=${1:-$ROOT/build/llmsim}
LLMSIM=$(cd "$(dirname "$LLMSIM")" && pwd)/$(basename "$LLMSIM")
PY=/usr/bin/python3
[ -x "$LLMSIM" ] || { echo "regen.sh: $LLMSIM: not an executable" >&2; exit 2; }
# shellcheck source=cases.sh
. "$HERE/cases.sh"
T=$(mktemp -d /tmp/llmsim-golden-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$ROOT" || exit 2
status=0
for c in "${GOLDEN_CASES[@]}"; do
    IFS='|' read -r name scen extra <<<"$c"
    read -ra xargs_ <<<"$extra"
    sargs=(); [ "$scen" = "-" ] || sargs=("$scen")
    for j in 1 2; do
        rm -f "$T/$name-$j.h5"
        if ! "$LLMSIM" run "${sargs[@]}" "${GOLDEN_COMMON[@]}" "${xargs_[@]}" --jobs "$j" -o "$T/$name-$j.h5" 2>"$T/err"; then
            echo "regen.sh: $name: llmsim run failed: $(head -c 500 "$T/err")" >&2; status=1; continue 2
        fi
        {
            echo "# golden digest of llmsim run (tests/golden/regen.sh; see there before regenerating)"
            echo "case $name"
            echo "scenario $scen"
            echo "args ${GOLDEN_COMMON[*]} $extra"
            "$PY" "$HERE/digest.py" "$T/$name-$j.h5"
        } >"$T/$name-$j.txt" || { echo "regen.sh: $name: digest failed" >&2; status=1; continue 2; }
    done
    if ! cmp -s "$T/$name-1.txt" "$T/$name-2.txt"; then
        echo "regen.sh: $name: --jobs 1 and --jobs 2 give different results; not writing it:" >&2
        diff "$T/$name-1.txt" "$T/$name-2.txt" | head -20 >&2
        status=1; continue
    fi
    cp "$T/$name-1.txt" "$HERE/$name.txt"
    echo "wrote tests/golden/$name.txt ($(wc -c <"$HERE/$name.txt") bytes)"
done
exit $status
