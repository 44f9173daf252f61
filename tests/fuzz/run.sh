#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan +
# coverage, in a build folder of their own) and runs each for SECONDS
# (default 30) on a working corpus seeded from tests/fuzz/corpus/HARNESS.
# Fails on the first crash, sanitizer report, leak, hang (-timeout) or
# memory blow-up (-rss_limit_mb) and prints the reproducer.  CI runs it with
# 20 seconds per harness; docs/fuzzing.md says how to run longer campaigns.
# tests/fuzz/HARNESS.dict, when present, is passed as -dict (scenario keys,
# trace field names: libFuzzer finds deep paths much sooner with them).
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]     e.g. tests/fuzz/run.sh 600 fuzz_set
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), CC (clang), FUZZ_TIMEOUT (10 s
# per input), FUZZ_RSS_MB (2048), FUZZ_ARGS (more libFuzzer flags, e.g.
# "-jobs=8 -workers=8").  The working corpus (FUZZ_BUILD_DIR/corpus/HARNESS)
# is kept between runs, so repeated runs go on from where the last stopped;
# the seeds in the source tree are never written.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-30}"
shift || true
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
cc="${CC:-clang}"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
all=(fuzz_scenario fuzz_set fuzz_trace_azure fuzz_trace_mooncake fuzz_results)
if (($#)); then harnesses=("$@"); else harnesses=("${all[@]}"); fi

say() { printf 'fuzz: %s\n' "$*" >&2; }

if ! [[ "$secs" =~ ^[0-9]+$ ]] || ((secs < 1)); then
    say "SECONDS must be a whole number >= 1, got '$secs'"
    exit 2
fi
if ! command -v "$cc" >/dev/null 2>&1; then
    say "no $cc: install clang (Debian: apt-get install clang libclang-rt-14-dev)"
    exit 2
fi

if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DLLMSIM_FUZZ=ON -DLLMSIM_BUILD_TESTS=OFF -DLLMSIM_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${harnesses[@]}"

# Sanitizer settings of a fuzz run: stop at the first report, with symbols.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
# Leaks whose allocation is inside Debian's HDF5 (not instrumented; it keeps library state until
# exit and leaks on some error paths of hostile files) are left to HDF5: fuzz_results checks
# instead that every HDF5 object llmsim opens is closed again (H5Fget_obj_count after each
# input), and leaks of llmsim's own allocations are still reported (tests/fuzz/lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$root/tests/fuzz/lsan.supp"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for h in "${harnesses[@]}"; do
    bin="$build/tests/fuzz/$h"
    seeds="$root/tests/fuzz/corpus/$h"
    work="$build/corpus/$h"
    art="$build/artifacts/$h/"
    log="$build/logs/$h.log"
    mkdir -p "$work" "$art" "$(dirname "$log")"
    [[ -d "$seeds" ]] || { say "$h: no seed corpus $seeds"; exit 2; }
    dict=()
    [[ -f "$root/tests/fuzz/$h.dict" ]] && dict=(-dict="$root/tests/fuzz/$h.dict")
    say "$h: ${secs}s (log $log)"
    rc=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is split on purpose
    "$bin" -max_total_time="$secs" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" ${FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1 || rc=$?
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
    eps=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    if ((rc == 0)); then
        say "$h: ok, ${runs:-?} runs, ${eps:-?} exec/s, ${cov:-no coverage line}, corpus $(find "$work" -type f | wc -l) files"
        continue
    fi
    failed+=("$h")
    say "$h: FAILED (exit $rc); the end of $log:"
    tail -n 60 "$log" >&2
    repro=$(grep -Eo '(Test unit written to|artifact_prefix.*Test unit written to) [^ ]+' "$log" | awk '{print $NF}' | tail -1 || true)
    if [[ -n "$repro" ]]; then
        say "$h: reproducer: $repro"
        say "$h: replay with: $bin $repro   (minimise: $bin -minimize_crash=1 -runs=10000 $repro)"
    else
        say "$h: no reproducer written; see $log"
    fi
done

if ((${#failed[@]})); then
    say "failed: ${failed[*]}"
    exit 1
fi
say "all ${#harnesses[@]} harnesses ran ${secs}s each without a finding"
