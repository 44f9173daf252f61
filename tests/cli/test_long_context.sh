#!/usr/bin/env bash
# Long-context API prices (models/catalog/prices.yaml): a request whose prompt passes the
# model's threshold is billed entirely at the long-context prices, through a whole run; a
# scenario can give a tier to a model under `price`; a tier with a key missing is a located
# error.  Runs from tests/; $1 is the llmsim binary.
set -u
LLMSIM=${1:?usage: test_long_context.sh LLMSIM}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/llmsim-longctx-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

scenario() { # $1 prompt tokens, $2 price line
    cat <<YAML
name: long-context
seed: 3
horizon: {requests: 200}
workload:
  arrivals: {process: poisson, rate_per_s: 0.5}
  classes:
    - name: docs
      prompt: [{segment: document, tokens: $1}]
      output_tokens: 2000
deployments:
  - name: sonnet
    kind: api
    model: claude-sonnet-4-5
$2
YAML
}
# cost per 1k requests = 1000 x (prompt x input + 2000 x output) / 1e6
check() { # $1 file, $2 expected $ per 1k, $3 label
    "$LLMSIM" run "$1" --json -o "$T/x.h5" >"$T/j.json" 2>"$T/err" &&
        $PY - "$T/j.json" "$2" <<'PYEOF' && ok "$3" || bad "$3: $(head -c 300 "$T/err")"
import json, sys
j = json.load(open(sys.argv[1]))
r = [x for x in j["summary"] if x["scope"] == "all" and x["metric"] == "cost_per_1k_usd"][0]
want = float(sys.argv[2])
assert abs(r["mean"] - want) <= 1e-9 * want, (r["mean"], want)
PYEOF
}
scenario 250000 "" >"$T/long.yaml"
check "$T/long.yaml" 1545 "250K-token prompts on Sonnet 4.5: \$6 in / \$22.50 out for the whole request"
scenario 200000 "" >"$T/edge.yaml"
check "$T/edge.yaml" 630 "200,000 tokens is not above the threshold: \$3 / \$15"
scenario 250000 "    price: {long_context_above_tokens: 300000, long_input_per_mtok: 6, long_output_per_mtok: 22.5}" \
    >"$T/moved.yaml"
check "$T/moved.yaml" 780 "a scenario's price moves the threshold"
scenario 250000 "    model_note: x" | sed 's/claude-sonnet-4-5/claude-sonnet-4-6/; /model_note/d' >"$T/s46.yaml"
check "$T/s46.yaml" 780 "Sonnet 4.6 has no long-context tier"

# (On Sonnet 4.6, which has no tier to complete the missing output price.)
scenario 250000 "    price: {long_context_above_tokens: 100000, long_input_per_mtok: 6}" |
    sed 's/claude-sonnet-4-5/claude-sonnet-4-6/' >"$T/bad.yaml"
"$LLMSIM" run "$T/bad.yaml" -o "$T/bad.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && [ ! -e "$T/bad.h5" ] &&
    grep -q "bad.yaml:14:[0-9]*: deployments.sonnet.price: a long-context tier needs long_context_above_tokens, long_input_per_mtok and long_output_per_mtok" "$T/err" &&
    ok "a tier with a key missing: located error, exit 2" || bad "partial tier: exit $rc $(cat "$T/err")"
scenario 250000 "    price: {long_context_above: 100000}" >"$T/bad2.yaml"
"$LLMSIM" run "$T/bad2.yaml" -o "$T/bad2.h5" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "did you mean 'long_context_above_tokens'" "$T/err" &&
    ok "a misspelt tier key: did you mean" || bad "misspelt key: exit $rc $(cat "$T/err")"

echo "long context: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
