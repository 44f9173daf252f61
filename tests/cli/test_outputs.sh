#!/usr/bin/env bash
# Output safety (issue 11): -o and output.path never replace what is not a
# results file (a FIFO, a symbolic link, a device, a directory, an input, the
# binary, another program's file), bad names are refused with exit 2 before
# anything is simulated, SIGHUP stops a run like SIGINT, and temporary files
# of dead processes are cleaned up.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_outputs.sh LLMSIM}
LLMSIM=$(cd "$(dirname "$LLMSIM")" && pwd)/$(basename "$LLMSIM")
T=$(mktemp -d /tmp/llmsim-outputs-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
# expect_refused DESCRIPTION MESSAGE-PART command...: exit 2, the message on stderr, nothing on stdout.
expect_refused() {
    local what=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq 2 ] && grep -qF -- "$want" "$T/err" && [ ! -s "$T/out" ]; then
        ok "$what (exit 2)"
    else
        bad "$what: exit $rc, stderr '$(head -c 300 "$T/err")', wanted '$want'"
    fi
}
# A long run (minutes) unless stopped: a refusal must come before it starts.
LONG=(data/minimal.yaml --set horizon.duration_s=1.0e6 --set workload.arrivals.rate_per_s=50 --quiet)
SHORT=(data/minimal.yaml --set horizon.duration_s=20 --quiet)

# 1. Anything but a regular file or a new path is refused, and left as it was.
mkfifo "$T/fifo.h5"
expect_refused "run -o FIFO" "llmsim: run: -o $T/fifo.h5: is a FIFO (named pipe); refusing to replace it" \
    timeout 20 "$LLMSIM" run "${LONG[@]}" -o "$T/fifo.h5"
[ -p "$T/fifo.h5" ] && ok "the FIFO is still a FIFO" || bad "the FIFO was replaced"
echo "the target" >"$T/target.h5"
ln -s target.h5 "$T/link.h5"
expect_refused "run -o symlink" "-o $T/link.h5: is a symbolic link" timeout 20 "$LLMSIM" run "${LONG[@]}" -o "$T/link.h5"
[ -L "$T/link.h5" ] && [ "$(cat "$T/target.h5")" = "the target" ] && ok "the link and its target are untouched" ||
    bad "the link or its target changed"
expect_refused "run -o /dev/null" "-o /dev/null: is a character device" timeout 20 "$LLMSIM" run "${LONG[@]}" -o /dev/null
[ -c /dev/null ] && ok "/dev/null is still a character device" || bad "/dev/null is no longer a device"
mkdir "$T/dir.h5" "$T/existing_dir"
start=$(date +%s)
expect_refused "run -o directory" "-o $T/dir.h5: is a directory" timeout 20 "$LLMSIM" run "${LONG[@]}" -o "$T/dir.h5"
expect_refused "run -o directory without an extension" "-o $T/existing_dir: is a directory" \
    timeout 20 "$LLMSIM" run "${LONG[@]}" -o "$T/existing_dir"
[ $(($(date +%s) - start)) -lt 15 ] && ok "directories refused before simulating" || bad "directory refusals took $(($(date +%s) - start)) s"
[ -d "$T/dir.h5" ] && [ -z "$(ls -A "$T/dir.h5")" ] && ok "the directory is untouched and empty" ||
    bad "the directory changed: $(ls -A "$T/dir.h5")"

# 2. An output that is an input: the scenario (by -o or output.path), its trace, the binary.
cp data/minimal.yaml "$T/s.yaml"
sum=$(cksum <"$T/s.yaml")
expect_refused "run -o the scenario" "-o $T/s.yaml: is the input file $T/s.yaml; refusing to overwrite an input" \
    "$LLMSIM" run "$T/s.yaml" -o "$T/s.yaml" --quiet
(cd "$T" && "$LLMSIM" run s.yaml --set output.path=s.yaml --quiet) >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -qF "output.path s.yaml: is the input file s.yaml" "$T/err" && ok "output.path naming the scenario refused" ||
    bad "output.path = the scenario: exit $rc, '$(cat "$T/err")'"
[ "$(cksum <"$T/s.yaml")" = "$sum" ] && ok "the scenario is unchanged" || bad "the scenario was overwritten"
cp ../scenarios/traces/sharegpt-300/sharegpt_300_10rps.csv "$T/trace.csv"
sed 's#path: [^,]*,#path: trace.csv,#' data/trace_whole.yaml >"$T/trace.yaml"
tsum=$(cksum <"$T/trace.csv")
expect_refused "run -o the trace" "-o $T/trace.csv: is the input file $T/trace.csv" \
    "$LLMSIM" run "$T/trace.yaml" -o "$T/trace.csv" --quiet
[ "$(cksum <"$T/trace.csv")" = "$tsum" ] && ok "the trace is unchanged" || bad "the trace was overwritten"
cp "$LLMSIM" "$T/llmsim.h5"
bsum=$(cksum <"$T/llmsim.h5")
expect_refused "run -o the binary" "is the llmsim program itself" "$T/llmsim.h5" run "${SHORT[@]}" -o "$T/llmsim.h5"
[ "$(cksum <"$T/llmsim.h5")" = "$bsum" ] && ok "the binary is unchanged" || bad "the binary was overwritten"
echo "id,notes" >"$T/notes.h5"
expect_refused "run -o a file that is not HDF5" "-o $T/notes.h5: exists and is not an HDF5 file" \
    "$LLMSIM" run "${SHORT[@]}" -o "$T/notes.h5"
[ "$(cat "$T/notes.h5")" = "id,notes" ] && ok "the non-HDF5 file is unchanged" || bad "the non-HDF5 file was replaced"

# 9, 10. Empty paths and names that are not HDF5.
expect_refused "run -o ''" "llmsim: run: -o '': an empty path" "$LLMSIM" run "${SHORT[@]}" -o ''
expect_refused "run -o x.csv" "-o $T/x.csv: results are written as HDF5; give a name ending in .h5" \
    "$LLMSIM" run "${SHORT[@]}" -o "$T/x.csv"
[ ! -e "$T/x.csv" ] && ok "no x.csv written" || bad "x.csv written"

# A results file is replaced as before (HDF5 over HDF5, an empty file, other extensions).
"$LLMSIM" run "${SHORT[@]}" -o "$T/r.h5" && "$LLMSIM" run "${SHORT[@]}" -o "$T/r.h5" && ok "a results file is replaced" ||
    bad "rewriting a results file failed"
: >"$T/empty.hdf5"
"$LLMSIM" run "${SHORT[@]}" -o "$T/empty.hdf5" && [ -s "$T/empty.hdf5" ] && ok "an empty .hdf5 file is written" ||
    bad "writing over an empty .hdf5 failed"

# 9. SIGHUP stops a run like SIGINT: complete = 0 under the final name, no temporary file.
"$LLMSIM" run "${LONG[@]}" -o "$T/hup.h5" 2>"$T/hup.err" &
pid=$!
sleep 2
kill -HUP "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 1 ] && grep -q "interrupted" "$T/hup.err" && h5dump -a complete "$T/hup.h5" 2>/dev/null | grep -q "(0): 0"; then
    ok "SIGHUP keeps the results so far with complete = 0"
else
    bad "SIGHUP: exit $rc, '$(cat "$T/hup.err")'"
fi
ls "$T"/hup.h5.tmp-* >/dev/null 2>&1 && bad "SIGHUP left a temporary file" || ok "SIGHUP left no temporary file"

# Temporary files of dead processes are removed by the next write of the same path; those of
# live processes (this shell) stay.
touch "$T/st.h5.tmp-999999999" "$T/st.h5.tmp-$$" "$T/other.h5.tmp-999999999"
"$LLMSIM" run "${SHORT[@]}" -o "$T/st.h5" 2>"$T/err"
if [ -s "$T/st.h5" ] && [ ! -e "$T/st.h5.tmp-999999999" ] && [ -e "$T/st.h5.tmp-$$" ] && [ -e "$T/other.h5.tmp-999999999" ]; then
    ok "stale temporary file of a dead process removed, a live one's and another path's kept"
else
    bad "stale temporary files: $(cd "$T" && ls st.h5* other.h5*)"
fi

# The other commands that write a file refuse the same paths.
S=../scenarios/examples/mmc.yaml
expect_refused "sweep -o FIFO" "llmsim: sweep: -o $T/fifo.h5: is a FIFO" \
    "$LLMSIM" sweep "$S" --vary deployments.pool.replicas=4,5 -o "$T/fifo.h5"
expect_refused "sweep -o the scenario" "is the input file" \
    "$LLMSIM" sweep "$T/s.yaml" --vary seed=1,2 -o "$T/s.yaml"
expect_refused "levers -o x.csv" "llmsim: levers: -o $T/x.csv: results are written as HDF5" \
    "$LLMSIM" levers ../scenarios/examples/levers-rag-api.yaml -o "$T/x.csv"
expect_refused "plan -o symlink" "llmsim: plan: -o $T/link.h5: is a symbolic link" \
    "$LLMSIM" plan "$S" --search deployments.pool.replicas -o "$T/link.h5"
"$LLMSIM" run "${SHORT[@]}" -o "$T/shard.h5" >/dev/null 2>&1
expect_refused "merge -o directory" "llmsim: merge: -o $T/dir.h5: is a directory" "$LLMSIM" merge "$T/shard.h5" -o "$T/dir.h5"
expect_refused "merge -o ''" "llmsim: merge: -o '': an empty path" "$LLMSIM" merge "$T/shard.h5" -o ''
cp ../models/calibration/vidur-steps.csv "$T/steps.csv"
csum=$(cksum <"$T/steps.csv")
expect_refused "calibrate steps -o the measurements" "-o $T/steps.csv: is the input file $T/steps.csv" \
    "$LLMSIM" calibrate steps "$T/steps.csv" -o "$T/steps.csv" --quiet
[ "$(cksum <"$T/steps.csv")" = "$csum" ] && ok "the measurements are unchanged" || bad "the measurements were overwritten"
expect_refused "calibrate steps -o cal.h5" "a calibration file is YAML; give a name ending in .yaml" \
    "$LLMSIM" calibrate steps "$T/steps.csv" -o "$T/cal.h5" --quiet
expect_refused "calibrate steps -o FIFO" "is a FIFO" "$LLMSIM" calibrate steps "$T/steps.csv" -o "$T/fifo.h5" --quiet
cp data/calib_requests/small.yaml "$T/creq.yaml"
expect_refused "calibrate requests -o the scenario" "-o $T/creq.yaml: is the input file $T/creq.yaml" \
    "$LLMSIM" calibrate requests data/calib_requests/small.csv --scenario "$T/creq.yaml" -o "$T/creq.yaml" --quiet

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
