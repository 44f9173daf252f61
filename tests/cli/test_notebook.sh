#!/usr/bin/env bash
# llmsim notebook (issue 13): the loader under python3 -W error (tests/test_loader.py);
# notebooks of a run, a run without time series and with one replication, a sweep, a levers
# file and two runs side by side execute, are valid nbformat v4 with cell ids, carry their
# plots (image/png outputs) and no errors or warnings, and say why a plot is left out; --html
# writes one self-contained page whose images headless Chromium renders (a screenshot with
# the plots' colours, which the same page without its images lacks); the error paths.
# Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_notebook.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-notebook-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# The packages come from .ci/deps.sh: a missing one is a failure, not a skip.
if ! "$PY" -c 'import matplotlib, nbclient, nbformat, nbconvert, ipykernel, pandas, h5py, yaml, PIL' 2>"$T/err"; then
    echo "FAIL Python packages missing under $PY (run .ci/deps.sh): $(tail -1 "$T/err")"
    exit 1
fi

# Small results files: a run with time series, 2 replications and tail attribution; a run
# with one replication and no time-series row (the interval is past the end); a sweep of an
# M/M/c pool; a levers ladder.
q=(--quiet --no-progress)
"$LLMSIM" run data/minimal.yaml "${q[@]}" --set 'horizon={duration_s: 600, warmup_s: 60}' \
    --replications 2 --tail -o "$T/run.h5" || bad "llmsim run (2 replications) failed"
"$LLMSIM" run data/minimal.yaml "${q[@]}" --set 'horizon={duration_s: 600, warmup_s: 60}' \
    --set output.timeseries_interval_s=100000 -o "$T/bare.h5" || bad "llmsim run (bare) failed"
"$LLMSIM" sweep ../scenarios/examples/mmc.yaml "${q[@]}" --set horizon.requests=3000 \
    --replications 2 --vary deployments.pool.replicas=4,5,6 -o "$T/sweep.h5" || bad "llmsim sweep failed"
"$LLMSIM" levers ../scenarios/examples/levers-rag-api.yaml "${q[@]}" \
    --set 'horizon={duration_s: 600, warmup_s: 60}' -o "$T/levers.h5" || bad "llmsim levers failed"

if "$PY" -W error ../tests/test_loader.py "$T/run.h5" "$T/sweep.h5" "$T/levers.h5" >"$T/loader" 2>&1; then
    ok "loader: $(grep -c '^ok' "$T/loader") checks under python3 -W error"
else
    bad "loader:"; sed 's/^/     /' "$T/loader" | grep -v '^     ok' | head -20
fi

# Checks an executed notebook: valid v4 (minor >= 5: cell ids), at least MIN image/png
# outputs, no error output and nothing on stderr; prints the number of images.
nbcheck() {
    "$PY" - "$1" "$2" <<'PYEOF'
import sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
assert nb.nbformat == 4 and nb.nbformat_minor >= 5, (nb.nbformat, nb.nbformat_minor)
assert all(c.get("id") for c in nb.cells), "a cell without an id"
code = [c for c in nb.cells if c.cell_type == "code"]
assert all(c.execution_count for c in code), "a cell was not executed"
outs = [o for c in code for o in c.outputs]
errs = [o for o in outs if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
assert not errs, "error or stderr output: %r" % (errs[0].get("text") or errs[0].get("evalue"))
n = sum("image/png" in o.get("data", {}) for o in outs)
assert n >= int(sys.argv[2]), "%d image/png outputs, want at least %s" % (n, sys.argv[2])
print(n)
PYEOF
}

t0=$(date +%s)
if "$LLMSIM" notebook "$T/run.h5" -o "$T/run.ipynb" --html --quiet 2>"$T/err" && [ ! -s "$T/err" ]; then
    if n=$(nbcheck "$T/run.ipynb" 5 2>"$T/err"); then ok "run: executed notebook with $n plots"
    else bad "run notebook: $(tail -1 "$T/err")"; fi
else
    bad "llmsim notebook run.h5 --html: $(head -c 600 "$T/err")"
fi
echo "     (run notebook with --html: $(($(date +%s) - t0)) s)"
if [ ! -f "$T/run.ipynb" ] || grep -q 'Left out:\* one replication' "$T/run.ipynb" ||
    grep -q 'Left out:\*[^"]*/timeseries' "$T/run.ipynb"; then
    bad "run: replications or time series left out although the file has them"
else
    ok "run: replications and time series drawn"
fi

# The file without time series, one replication: those plots are left out with a sentence.
if "$LLMSIM" notebook "$T/bare.h5" --quiet 2>"$T/err" && [ -f "$T/bare.ipynb" ]; then
    if n=$(nbcheck "$T/bare.ipynb" 3 2>"$T/err"); then ok "bare run: executed with $n plots"
    else bad "bare notebook: $(tail -1 "$T/err")"; fi
    if grep -q 'Left out:\*[^"]*/timeseries' "$T/bare.ipynb" &&
        grep -q 'Left out:\* one replication: there is no spread' "$T/bare.ipynb" &&
        grep -q 'Left out:\* the file has no /tail table' "$T/bare.ipynb"; then
        ok "bare run: time series, replications and tail left out, each with why"
    else
        bad "bare run: a missing plot without its sentence"
    fi
else
    bad "llmsim notebook bare.h5 (default output name): $(head -c 600 "$T/err")"
fi

if "$LLMSIM" notebook "$T/sweep.h5" -o "$T/sweep.ipynb" --html --quiet 2>"$T/err"; then
    if n=$(nbcheck "$T/sweep.ipynb" 3 2>"$T/err"); then ok "sweep: executed notebook with $n plots"
    else bad "sweep notebook: $(tail -1 "$T/err")"; fi
    grep -q 'Pareto frontier' "$T/sweep.ipynb" && grep -q "plots.show('sweep_metrics'" "$T/sweep.ipynb" &&
        grep -q "plots.show('pareto'" "$T/sweep.ipynb" && ok "sweep: metrics against the key and the frontier" ||
        bad "sweep: no metrics or frontier plot"
    c=$(grep -c 'data:image/png;base64' "$T/sweep.html")
    [ "$c" -ge 3 ] && ok "sweep.html carries $c embedded images" || bad "sweep.html: $c embedded images"
else
    bad "llmsim notebook sweep.h5: $(head -c 600 "$T/err")"
fi

if "$LLMSIM" notebook "$T/levers.h5" "$T/run.h5" "$T/bare.h5" -o "$T/mix.ipynb" --quiet 2>"$T/err"; then
    if n=$(nbcheck "$T/mix.ipynb" 8 2>"$T/err"); then ok "levers + two runs: executed with $n plots"
    else bad "mixed notebook: $(tail -1 "$T/err")"; fi
    grep -q "plots.show('levers_waterfall'" "$T/mix.ipynb" && grep -q "plots.show('compare_cdfs'" "$T/mix.ipynb" &&
        ok "levers waterfall and side-by-side CDFs" || bad "no levers waterfall or side-by-side CDFs"
else
    bad "llmsim notebook levers.h5 run.h5 bare.h5: $(head -c 600 "$T/err")"
fi

# The HTML report: self-contained, and rendered with its images by headless Chromium.
if [ -f "$T/run.html" ]; then
    c=$(grep -c 'data:image/png;base64' "$T/run.html")
    [ "$c" -ge 5 ] && ok "run.html carries $c embedded images" || bad "run.html: $c embedded images"
    if grep -Eq '<(script|link|img)[^>]*(src|href)="(https?|file):' "$T/run.html"; then
        bad "run.html loads something from outside itself"
    else
        ok "run.html needs nothing outside itself"
    fi
    CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
    if [ -z "$CHROMIUM" ]; then
        bad "no chromium (Debian package chromium, installed by .ci/deps.sh)"
    else
        # The same page without its images, to tell the plots from the page's own colours.
        "$PY" -c 'import re, sys; sys.stdout.write(re.sub(r"src=\"data:image/png;base64,[^\"]*\"", "src=\"\"", open(sys.argv[1]).read()))' "$T/run.html" >"$T/noimg.html"
        for p in run noimg; do
            HOME=$T timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
                --user-data-dir="$T/chromium" --window-size=1280,4000 \
                --screenshot="$T/$p.png" "file://$T/$p.html" >"$T/chromium.log" 2>&1
        done
        if [ -s "$T/run.png" ] && [ -s "$T/noimg.png" ]; then
            if out=$("$PY" - "$T/run.png" "$T/noimg.png" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
def stats(path):
    a = np.asarray(Image.open(path).convert("RGB")).astype(int)
    ink = (a.min(axis=2) < 235).mean()                     # anything not near white
    sat = ((a.max(axis=2) - a.min(axis=2)) > 80).mean()     # strong colour: plot lines, bars
    return ink, sat
ink, sat = stats(sys.argv[1])
_, sat0 = stats(sys.argv[2])
print("ink %.3f, colour %.4f (page without images: %.4f)" % (ink, sat, sat0))
assert ink > 0.03, "the screenshot is nearly blank"
assert sat > 3 * sat0 + 0.002, "the plots' colours are missing: the images did not load"
PYEOF
            ); then ok "chromium screenshot: $out"
            else bad "chromium screenshot: $out"; fi
        else
            bad "chromium wrote no screenshot: $(tail -3 "$T/chromium.log")"
        fi
    fi
else
    bad "no run.html"
fi

# Error paths: exit 2 for usage and input errors, 1 when Python cannot run; nothing written.
"$LLMSIM" notebook >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'notebook: no results files' "$T/err" && ok "no file: exit 2" || bad "no file: rc $rc"
"$LLMSIM" notebook "$T/nope.h5" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "notebook: $T/nope.h5: cannot open" "$T/err" && ok "missing file: exit 2" ||
    bad "missing file: rc $rc $(cat "$T/err")"
"$LLMSIM" notebook data/minimal.yaml -o "$T/x.ipynb" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'not an HDF5 file' "$T/err" && ok "not a results file: exit 2" || bad "not a results file: rc $rc"
"$LLMSIM" notebook "$T/run.h5" --frobnicate 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--frobnicate'" "$T/err" && ok "unknown option: exit 2" || bad "unknown option: rc $rc"
"$LLMSIM" notebook "$T/run.h5" -o "$T/x.txt" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && ok "-o without .ipynb: exit 2" || bad "-o x.txt: rc $rc"
mkdir "$T/dir.ipynb"
"$LLMSIM" notebook "$T/run.h5" -o "$T/dir.ipynb" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'not a regular file' "$T/err" && ok "-o a directory: exit 2" || bad "-o a directory: rc $rc"
LLMSIM_PYTHON=$T/no-python "$LLMSIM" notebook "$T/run.h5" -o "$T/x.ipynb" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'cannot run' "$T/err" && ok "no Python: exit 1" || bad "no Python: rc $rc $(cat "$T/err")"
[ ! -e "$T/x.ipynb" ] && ok "nothing written on errors" || bad "x.ipynb written by a failed command"
"$LLMSIM" notebook "$T/run.h5" -o "$T/plain.ipynb" --no-execute --quiet 2>"$T/err" &&
    "$PY" -c "import nbformat,sys; nb=nbformat.read(sys.argv[1],4); nbformat.validate(nb); assert not any(c.get('outputs') for c in nb.cells if c.cell_type=='code')" "$T/plain.ipynb" &&
    ok "--no-execute: a valid notebook without outputs" || bad "--no-execute"
left=$(find "$T" -name '*.tmp-*' | wc -l)
[ "$left" -eq 0 ] && ok "no temporary files left" || bad "$left temporary files left"

echo "notebook: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
