#!/usr/bin/env bash
# /tenant_timeseries (analysis/src/stats.c ana_stats_write_tenant_ts): per replication, interval
# and tenant, the served requests that completed in it, their tokens, their service as the fair
# order weighs it and Jain's index over the tenants; it adds up to /requests, and it is written
# only with two or more tenants and a time-series interval.  Runs from tests/; $1 is the binary.
set -u
LLMSIM=${1:?usage: test_tenant_timeseries.sh LLMSIM}
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/llmsim-tts-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

short=(--set horizon.duration_s=900 --set output.timeseries_interval_s=60 --quiet)
"$LLMSIM" run "$ROOT/scenarios/examples/noisy-tenant.yaml" "${short[@]}" --replications 2 --jobs 2 \
    -o "$T/fair.h5" 2>"$T/err" || bad "run: $(head -c 300 "$T/err")"
$PY - "$T/fair.h5" <<'PYEOF' && ok "tenant time series adds up to /requests per replication and tenant; service and Jain's index by their formulas" || bad "tenant time series"
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1])
t = f["tenant_timeseries"][()]
assert set(t.dtype.names) == {"t_s", "replication", "tenant", "requests", "input_tokens",
                              "output_tokens", "service", "jain_index"}, t.dtype.names
r = f["requests"][()]
names = [n.decode() if isinstance(n, bytes) else n for n in f["requests"].attrs["class_names"]]
served = (r["flags"] & ((1 << 2) | (1 << 9))) == 0  # not rejected, not a wasted prefetch
tenants = {b"bulk", b"support", b"search"}  # noisy-tenant.yaml: one class per tenant, same names
assert set(t["tenant"]) == tenants, set(t["tenant"])
for rep in (0, 1):
    for tn in tenants:
        c = names.index(tn.decode())
        m = served & (r["replication"] == rep) & (r["class"] == c)
        k = (t["replication"] == rep) & (t["tenant"] == tn)
        assert t["requests"][k].sum() == m.sum(), (rep, tn, t["requests"][k].sum(), m.sum())
        assert t["input_tokens"][k].sum() == r["input_tokens"][m].sum()
        assert t["output_tokens"][k].sum() == r["output_tokens"][m].sum()
        # each request in the interval its answer completed in
        for ts in np.unique(t["t_s"][k])[:5]:
            n = (m & (r["done_s"] >= ts - 60) & (r["done_s"] < ts)).sum()
            assert n == t["requests"][k & (t["t_s"] == ts)][0], (rep, tn, ts)
# service: w_in x input + w_out x output with the fair order's weights (1 and 2 by default)
assert np.allclose(t["service"], t["input_tokens"] + 2 * t["output_tokens"])
for rep in (0, 1):
    for ts in np.unique(t["t_s"][t["replication"] == rep]):
        k = (t["replication"] == rep) & (t["t_s"] == ts)
        x = t["service"][k]
        want = x.sum() ** 2 / (len(x) * (x * x).sum()) if (x * x).sum() > 0 else np.nan
        assert np.allclose(t["jain_index"][k], want, equal_nan=True), (rep, ts)
        assert len(x) == 3
PYEOF

# None without tenants, or without a time-series interval.
"$LLMSIM" run "$ROOT/scenarios/examples/mm1.yaml" --set horizon.requests=2000 --set output.timeseries_interval_s=60 \
    --quiet -o "$T/mm1.h5" 2>"$T/err"
"$LLMSIM" run "$ROOT/scenarios/examples/noisy-tenant.yaml" --set horizon.duration_s=300 \
    --set output.timeseries_interval_s=0 --quiet -o "$T/nots.h5" 2>"$T/err"
$PY -c "
import h5py, sys
for p in sys.argv[1:]:
    assert 'tenant_timeseries' not in h5py.File(p), p
" "$T/mm1.h5" "$T/nots.h5" && ok "no /tenant_timeseries without two tenants or without an interval" ||
    bad "unexpected /tenant_timeseries"

echo "tenant timeseries: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
