#!/usr/bin/env bash
# Inputs that must be refused at once, never read forever (issue 11): a FIFO
# or a device as the scenario, a trace or an empirical distribution file,
# and number and --set syntax the reference does not allow.  Every command
# runs under a timeout so that a regression fails instead of hanging.
# Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_inputs.sh LLMSIM}
T=$(mktemp -d /tmp/llmsim-inputs-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }
# expect WANT-RC 'stderr substring' description command...
expect() {
    local want=$1 msg=$2 what=$3; shift 3
    timeout 20 "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
    if [ "$rc" -eq "$want" ] && { [ -z "$msg" ] || grep -qF -- "$msg" "$T/err"; }; then
        ok "$what (exit $rc)"
    else
        bad "$what: exit $rc (wanted $want${msg:+, stderr with '$msg'}): $(head -c 300 "$T/err")"
    fi
}

base() { # a valid scenario whose question tokens are $1
    cat <<YAML
name: inputs
seed: 7
horizon: {duration_s: 60}
workload:
  arrivals: {process: poisson, rate_per_s: 1}
  classes:
    - name: chat
      prompt: [{segment: question, tokens: $1}]
      output_tokens: 10
deployments:
  - {name: s, kind: api, model: claude-sonnet-4-6}
routing: {policy: fixed, to: s}
YAML
}

# Non-regular files.
mkfifo "$T/fifo.yaml"
expect 2 "is a FIFO (named pipe), not a regular file" "validate a FIFO" "$LLMSIM" validate "$T/fifo.yaml"
expect 2 "is a FIFO (named pipe), not a regular file" "run a FIFO" "$LLMSIM" run "$T/fifo.yaml" -o "$T/x.h5"
expect 2 "is a character device, not a regular file" "validate /dev/zero" "$LLMSIM" validate /dev/zero
expect 2 "is a directory, not a regular file" "validate a directory" "$LLMSIM" validate "$T"
base "{dist: empirical, path: /dev/zero}" >"$T/zero.yaml"
expect 2 "'/dev/zero' is a character device" "empirical from /dev/zero" "$LLMSIM" validate "$T/zero.yaml"
base "{dist: empirical, path: fifo.yaml}" >"$T/efifo.yaml"
expect 2 "is a FIFO (named pipe)" "empirical from a FIFO" "$LLMSIM" validate "$T/efifo.yaml"
printf '5\n6\0 7\n' >"$T/nul.txt"
base "{dist: empirical, path: nul.txt}" >"$T/nul.yaml"
expect 2 "nul.txt:2:2: line contains a NUL byte" "empirical with a NUL byte" "$LLMSIM" validate "$T/nul.yaml"
for fmt in azure-2023 mooncake; do
    cat >"$T/tr-$fmt.yaml" <<YAML
name: tr
workload:
  trace: {path: /dev/zero, format: $fmt}
deployments:
  - {name: s, kind: api, model: claude-sonnet-4-6}
YAML
    expect 2 "is a character device" "$fmt trace from /dev/zero" "$LLMSIM" validate "$T/tr-$fmt.yaml"
    sed "s#/dev/zero#fifo.yaml#" "$T/tr-$fmt.yaml" >"$T/trf-$fmt.yaml"
    expect 2 "is a FIFO (named pipe)" "$fmt trace from a FIFO" "$LLMSIM" validate "$T/trf-$fmt.yaml"
done

# Azure timestamps: the file line is named, exit 2 (also for run).
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:50.0,10,10\n2023-11-16 18:15:nan,10,10\n' >"$T/nan.csv"
sed "s#/dev/zero#nan.csv#" "$T/tr-azure-2023.yaml" >"$T/nan.yaml"
expect 2 "nan.csv:3:18: bad TIMESTAMP" "validate azure nan seconds" "$LLMSIM" validate "$T/nan.yaml"
expect 2 "nan.csv:3:18: bad TIMESTAMP" "run azure nan seconds" "$LLMSIM" run "$T/nan.yaml" -o "$T/nan.h5"

# Numbers and --set paths.
base 80 >"$T/ok.yaml"
expect 0 "" "valid scenario" "$LLMSIM" validate "$T/ok.yaml"
expect 2 "18446744073709551616 is too large (at most 18446744073709551615" "--seed 2^64" \
    "$LLMSIM" run --seed 18446744073709551616 "$T/ok.yaml" -o "$T/s.h5"
expect 0 "" "--seed 2^64 - 1" "$LLMSIM" run --quiet --seed 18446744073709551615 "$T/ok.yaml" -o "$T/s.h5"
expect 2 "expected a decimal number, got '0x10'" "--set seed=0x10" "$LLMSIM" run --set seed=0x10 "$T/ok.yaml" -o "$T/s2.h5"
expect 2 "expected a decimal number, got '0x10'" "--set rate_per_s=0x10" \
    "$LLMSIM" run --set workload.arrivals.rate_per_s=0x10 "$T/ok.yaml" -o "$T/s2.h5"
expect 2 "quoted or tagged string" "--set seed=!!str 5" "$LLMSIM" run --set 'seed=!!str 5' "$T/ok.yaml" -o "$T/s2.h5"

for k in seed. .seed workload..arrivals.rate_per_s; do
    expect 2 "has an empty component" "--set $k=1" "$LLMSIM" run --set "$k=1" "$T/ok.yaml" -o "$T/s2.h5"
done
: >"$T/empty.yaml"
expect 2 "empty.yaml:1:1: the scenario is empty, so --set seed cannot override" "--set on an empty scenario" \
    "$LLMSIM" run --set seed=1 "$T/empty.yaml" -o "$T/s2.h5"
expect 2 "compare: unknown option '--frobnicate' (see \`llmsim compare --help\`)" "compare's unknown option" \
    "$LLMSIM" compare a.h5 --frobnicate
[ ! -e "$T/s2.h5" ] && ok "no results file from a refused run" || bad "a refused run wrote $T/s2.h5"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
