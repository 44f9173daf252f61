"""Read llmsim results files into pandas.

One function per table, and `load()` for a whole file:

    import llmsim_results as lr
    r = lr.load("results/default.h5")
    r.kind                 # "run", "sweep", "plan" or "levers"
    r.requests             # /requests: class and deployment as categoricals, flags decoded
    r.timeseries           # /timeseries (None when the file has none)
    r.summary              # /summary
    r.scenario             # the resolved scenario as a dict
    r.sweep                # /sweep of a sweep, plan or levers file (None for a run)
    r.point(3).summary     # one point of a study file

Everything is read with h5py, not PyTables, so nothing warns: PyTables warns
(NaturalNameWarning) about the `class` column of /requests and the dotted key
columns of /sweep, and cannot read the variable-length strings of /scenario.
The layout is described in docs/scenario-reference.md ("Results file").
"""

import functools

import h5py
import numpy as np
import pandas as pd
import yaml

__all__ = [
    "FLAGS", "NotResultsFile", "Results", "load", "is_results_file", "read_table",
    "read_requests", "read_timeseries", "read_summary", "read_scenario", "read_settings",
    "read_sweep", "read_tail", "read_points", "summary_value",
]

# Bits of the /requests `flags` column, as boolean column names.
FLAGS = {
    "warmup": 1,
    "truncated": 2,
    "rejected": 4,
    "preempted": 8,
    "batch_api": 16,
    "rate_limited": 32,
    "escalated": 64,
    "spilled": 128,
    "prefetch_hit": 256,
    "prefetch_wasted": 512,
    "client_queued": 1024,
    "requeued": 2048,
    "shed": 4096,
    "deferred": 8192,
}

# Requests the summaries leave out (warm-up, rejected, wasted prefetch).
_NOT_MEASURED = FLAGS["warmup"] | FLAGS["rejected"] | FLAGS["prefetch_wasted"]


class NotResultsFile(ValueError):
    """The file is not an llmsim results file (or not HDF5 at all)."""


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "OS":
        return [_text(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _open(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise NotResultsFile(f"{path}: not an HDF5 file ({e})") from None
    if "llmsim_version" not in f.attrs:
        f.close()
        raise NotResultsFile(f"{path}: not an llmsim results file (no llmsim_version attribute)")
    return f


def is_results_file(path):
    """True when path is an HDF5 file written by llmsim."""
    try:
        _open(path).close()
        return True
    except NotResultsFile:
        return False


def _frame(ds):
    """A compound dataset as a DataFrame, fixed-length strings decoded."""
    arr = ds[()]
    if arr.dtype.names is None:
        raise ValueError(f"{ds.name} is not a table")
    cols = {}
    for name in arr.dtype.names:
        col = arr[name]
        if col.dtype.kind == "S":
            col = np.array([x.decode("utf-8", "replace") for x in col.tolist()], dtype=object)
        elif col.dtype.kind == "O":
            col = np.array([_text(x) for x in col.tolist()], dtype=object)
        cols[name] = col
    return pd.DataFrame(cols, columns=list(arr.dtype.names))


def _with_file(fn):
    """Lets fn take a path or an open h5py.File."""
    @functools.wraps(fn)
    def wrap(src, *a, **k):
        if isinstance(src, h5py.File):
            return fn(src, *a, **k)
        with _open(src) as f:
            return fn(f, *a, **k)
    return wrap


def _join(group, name):
    return f"{group.strip('/')}/{name}" if group and group.strip("/") else name


@_with_file
def read_table(f, name):
    """Any table of the file (e.g. "summary", "points/p0003/summary") as a
    DataFrame, or None when the file has no such table."""
    if name not in f or not isinstance(f[name], h5py.Dataset):
        return None
    return _frame(f[name])


def _names(f, group, which, ds):
    """The names behind the integer `which` column: the name table (files
    from llmsim 0.1.0 with name tables), else the attribute of ds."""
    tab = _join(group, f"{which}_names") if group else f"scenario/{which}_names"
    if tab in f and isinstance(f[tab], h5py.Dataset):
        t = _frame(f[tab]).sort_values("code")
        return list(t["name"])
    attr = f"{which}_names"
    if ds is not None and attr in ds.attrs:
        return list(_text(np.asarray(ds.attrs[attr])))
    return []


def _categorical(codes, names):
    """Integer codes as a categorical of names (llmsim's names are unique);
    a code without a name (never in llmsim's files) becomes NaN."""
    codes = np.asarray(codes).astype(np.int64)
    ok = (codes >= 0) & (codes < len(names))
    return pd.Categorical.from_codes(np.where(ok, codes, -1), categories=list(names))


@_with_file
def read_requests(f, group=""):
    """/requests (or GROUP/requests) with `class` and `deployment` as
    categoricals of their names (`class_code`, `deployment_code` keep the
    integers), one boolean column per flag bit (FLAGS) and `measured`: what
    the summaries count (neither warm-up nor rejected nor wasted prefetch).
    None when there is no such table."""
    name = _join(group, "requests")
    if name not in f:
        return None
    ds = f[name]
    df = _frame(ds)
    flags = df["flags"].to_numpy().astype(np.int64)
    for col, bit in FLAGS.items():
        df[col] = (flags & bit) != 0
    df["measured"] = (flags & _NOT_MEASURED) == 0
    for which in ("class", "deployment"):
        df[which + "_code"] = df[which].astype(np.int32)
        df[which] = _categorical(df[which + "_code"].to_numpy(), _names(f, group, which, ds))
    return df


@_with_file
def read_timeseries(f):
    """/timeseries with `deployment` as a categorical (`deployment_code` keeps
    the integer); None when the file has no time series or no rows."""
    if "timeseries" not in f or f["timeseries"].shape[0] == 0:
        return None
    ds = f["timeseries"]
    df = _frame(ds)
    df["deployment_code"] = df["deployment"].astype(np.int32)
    df["deployment"] = _categorical(df["deployment_code"].to_numpy(),
                                    _names(f, "", "deployment", ds))
    return df


@_with_file
def read_summary(f, group=""):
    """/summary (or GROUP/summary), with `kind` ("all", "class" or
    "deployment") and `name` split out of `scope`; None when absent."""
    df = read_table(f, _join(group, "summary"))
    if df is None:
        return None
    parts = df["scope"].str.split(":", n=1)
    df["kind"] = parts.str[0]
    df["name"] = parts.str[1].fillna("")
    return df


def summary_value(summary, metric, scope="all", stat="mean"):
    """One figure of a summary (NaN when the row is missing)."""
    if summary is None:
        return float("nan")
    row = summary[(summary["scope"] == scope) & (summary["metric"] == metric)]
    return float(row[stat].iloc[0]) if len(row) else float("nan")


def _scenario_text(f, group, which):
    name = _join(group, "scenario_resolved") if group else f"scenario/{which}"
    if name not in f:
        return None
    return f[name].asstr()[()]


@_with_file
def read_scenario(f, group="", given=False):
    """The resolved scenario (given=True: the text as given) as a dict;
    group "points/p0003" reads that point's resolved scenario."""
    text = _scenario_text(f, group, "given" if given else "resolved")
    if text is None:
        return None
    return yaml.safe_load(text)


@_with_file
def read_settings(f, group=""):
    """The resolved scenario as (key, value) rows: keys as --set takes them,
    values as YAML text (from the settings table, or flattened from the
    YAML text for files written without it)."""
    tab = _join(group, "scenario_settings") if group else "scenario/settings"
    if tab in f:
        return _frame(f[tab])
    doc = read_scenario(f, group)
    rows = []

    def walk(node, path):
        if isinstance(node, dict):
            if not node:
                rows.append((path, "{}"))
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            if not node:
                rows.append((path, "[]"))
            for i, v in enumerate(node):
                key = v.get("name") if isinstance(v, dict) else None
                walk(v, f"{path}.{key if key else i}" if path else str(key if key else i))
        else:
            rows.append((path, "" if node is None else str(node)))
    walk(doc, "")
    return pd.DataFrame(rows, columns=["key", "value"])


@_with_file
def read_sweep(f):
    """/sweep of a sweep, plan or levers file (None for a run): one row per
    point; `stable` and `pareto` as booleans, `slo_met` as a categorical
    (met, missed, uncertain, no slo)."""
    df = read_table(f, "sweep")
    if df is None:
        return None
    for col in ("stable", "pareto"):
        if col in df:
            df[col] = df[col].astype(np.int64) == 1
    if "slo_met" in df:
        lab = {1: "met", 0: "missed", 2: "uncertain", -1: "no slo"}
        df["slo_met"] = pd.Categorical([lab.get(int(v), "no slo") for v in df["slo_met"]],
                                       categories=["met", "missed", "uncertain", "no slo"])
    return df


@_with_file
def read_tail(f):
    """/tail (written by `llmsim run --tail`), None when absent."""
    return read_table(f, "tail")


@_with_file
def read_points(f):
    """The point groups of a study file: `point`, `group` ("points/p0003"),
    `overrides` (key=value, ...) and whether the point has requests."""
    rows = []
    if "points" in f:
        for name in sorted(f["points"]):
            g = f["points"][name]
            rows.append({
                "point": int(_text(g.attrs.get("point", -1))),
                "group": f"points/{name}",
                "overrides": str(_text(g.attrs.get("overrides", ""))),
                "has_requests": "requests" in g,
            })
    return pd.DataFrame(rows, columns=["point", "group", "overrides", "has_requests"])


class Point:
    """One point of a sweep, plan or levers file."""

    def __init__(self, results, group, overrides):
        self._r = results
        self.group = group
        self.overrides = overrides

    @functools.cached_property
    def summary(self):
        return read_summary(self._r.path, self.group)

    @functools.cached_property
    def requests(self):
        return read_requests(self._r.path, self.group)

    @functools.cached_property
    def scenario(self):
        return read_scenario(self._r.path, self.group)


class Results:
    """A results file; tables are read when first used."""

    def __init__(self, path):
        self.path = str(path)
        with _open(self.path) as f:
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            self.tables = sorted(k for k in f.keys())
        self.kind = self.attrs.get("kind", "run")
        self.name = self.attrs.get("scenario_name", "")
        self.replications = int(self.attrs.get("replications", 1))
        self.complete = int(self.attrs.get("complete", 0)) == 1

    def __repr__(self):
        return f"<llmsim results {self.path}: {self.kind} of {self.name}>"

    @functools.cached_property
    def requests(self):
        return read_requests(self.path)

    @functools.cached_property
    def timeseries(self):
        return read_timeseries(self.path)

    @functools.cached_property
    def summary(self):
        return read_summary(self.path)

    @functools.cached_property
    def tail(self):
        return read_tail(self.path)

    @functools.cached_property
    def scenario(self):
        return read_scenario(self.path)

    @functools.cached_property
    def settings(self):
        return read_settings(self.path)

    @functools.cached_property
    def sweep(self):
        return read_sweep(self.path)

    @functools.cached_property
    def points(self):
        return read_points(self.path)

    @property
    def varied_keys(self):
        v = self.attrs.get("varied_keys") or self.attrs.get("search_key") or ""
        return [k for k in str(v).splitlines() if k]

    def point(self, index):
        """Point `index` (its `point` number) of a study file."""
        p = self.points
        row = p[p["point"] == index]
        if not len(row):
            raise KeyError(f"{self.path}: no point {index}")
        return Point(self, row["group"].iloc[0], row["overrides"].iloc[0])

    def value(self, metric, scope="all", stat="mean"):
        """One figure of /summary (NaN when missing)."""
        return summary_value(self.summary, metric, scope, stat)


def load(path):
    """Opens a results file (raises NotResultsFile when it is not one)."""
    return Results(path)
