"""Checks notebooks-export/llmsim_results.py on real results files.

    python3 -W error tests/test_loader.py RUN.h5 SWEEP.h5 LEVERS.h5

RUN.h5: a run with /timeseries, 2 replications and /tail; SWEEP.h5: a sweep
with requests in its points; LEVERS.h5: a levers file.  Run under -W error,
so any warning (PyTables' NaturalNameWarning among them) fails it.  Prints
one line per check; exit status 1 when one failed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "notebooks-export"))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import llmsim_results as lr  # noqa: E402

fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def main(run_path, sweep_path, levers_path):
    r = lr.load(run_path)
    check(r.kind == "run" and r.replications == 2 and r.complete, "root attributes of a run")
    q = r.requests
    with h5py.File(run_path, "r") as f:
        raw = f["requests"][()]
        cnames = [x.decode() if isinstance(x, bytes) else x for x in f["requests"].attrs["class_names"]]
        dnames = [x.decode() if isinstance(x, bytes) else x for x in f["requests"].attrs["deployment_names"]]
    check(len(q) == len(raw), "every /requests row read")
    check(isinstance(q["class"].dtype, pd.CategoricalDtype)
          and list(q["class"].cat.categories) == cnames
          and (q["class"].cat.codes.to_numpy() == raw["class"]).all(),
          "class: a categorical of class_names, codes as in the file")
    check(isinstance(q["deployment"].dtype, pd.CategoricalDtype)
          and list(q["deployment"].cat.categories) == dnames
          and (q["deployment_code"].to_numpy() == raw["deployment"]).all(),
          "deployment: a categorical of deployment_names")
    flags = raw["flags"].astype(np.int64)
    check(all((q[name].to_numpy() == ((flags & bit) != 0)).all() for name, bit in lr.FLAGS.items()),
          "one boolean column per flag bit")
    check((q["measured"].to_numpy() == ((flags & (1 | 4 | 512)) == 0)).all() and q["warmup"].any(),
          "measured = neither warm-up nor rejected nor wasted prefetch")
    # The summary counts exactly the measured requests.
    n = int(r.summary[(r.summary["scope"] == "all") & (r.summary["metric"] == "ttft_s")]["count"].iloc[0])
    check(n == int(q["measured"].sum()), f"/summary ttft_s count {n} = measured requests")
    check(abs(r.value("ttft_s", stat="mean") - q[q["measured"]]["ttft_s"].mean()) < 1e-9,
          "summary_value and the requests agree on mean TTFT")
    ts = r.timeseries
    check(ts is not None and isinstance(ts["deployment"].dtype, pd.CategoricalDtype)
          and set(ts["replication"]) == {0, 1}, "timeseries with deployment names")
    sc = r.scenario
    check(isinstance(sc, dict) and sc.get("name") == r.name and "deployments" in sc,
          "resolved scenario as a dict")
    st = r.settings
    check(st is not None and ("name", r.name) in set(zip(st["key"], st["value"])),
          "/scenario/settings as key/value rows")
    check(r.tail is not None and {"metric", "kind", "name"} <= set(r.tail.columns), "/tail read")
    # pandas alone reads the tables the file adds for it.
    with pd.HDFStore(run_path, "r") as store:
        names = store.select("scenario/class_names")
        settings = store.select("scenario/settings")
    check(list(names["name"]) == cnames and list(names["code"]) == list(range(len(cnames))),
          "pd.read_hdf reads /scenario/class_names")
    check(len(settings) == len(st), "pd.read_hdf reads /scenario/settings")

    s = lr.load(sweep_path)
    check(s.kind == "sweep" and len(s.varied_keys) == 1, "sweep: kind and varied key")
    sw = s.sweep
    check(sw is not None and sw["stable"].dtype == bool and sw["pareto"].dtype == bool
          and isinstance(sw["slo_met"].dtype, pd.CategoricalDtype), "sweep: flags decoded")
    check(len(s.points) == len(sw) and s.points["has_requests"].all(), "sweep: one group per point")
    p = s.point(int(sw["point"].iloc[-1]))
    check(p.summary is not None and p.requests is not None
          and isinstance(p.requests["class"].dtype, pd.CategoricalDtype)
          and isinstance(p.scenario, dict), "sweep: a point's summary, requests and scenario")
    key = s.varied_keys[0]
    check(str(sw[key].iloc[-1]).rstrip("0").rstrip(".") in p.overrides, "sweep: the point's overrides")

    lv = lr.load(levers_path)
    check(lv.kind == "levers" and {"mode", "lever", "levers"} <= set(lv.sweep.columns)
          and (lv.sweep["mode"] == "baseline").any(), "levers: the ladder's rows")

    try:
        lr.load(os.path.join(HERE, "..", "README.md"))
        check(False, "a file that is not HDF5 is refused")
    except lr.NotResultsFile as e:
        check("not an HDF5 file" in str(e), "a file that is not HDF5 is refused")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
