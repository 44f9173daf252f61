"""Plots of llmsim results files for the notebooks of `llmsim notebook`.

Every plot has a `why_not_*` companion: None when the file holds what the
plot needs, else one sentence saying what is missing.  `show(name, ...)`
draws the plot, or prints that sentence (as Markdown in a notebook) instead
of failing.  Figures are drawn with matplotlib's Agg backend and shown as
PNG images, so a notebook executed headless keeps them as image/png outputs.
"""

import io
import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.mathtext  # noqa: E402

# Debian 12's matplotlib 3.6 builds its mathtext parser (used for the tick
# labels of log axes) with pyparsing 3.0.9, which warns about the parser's own
# grammar.  The parser is built once per process and cached, so it is built
# here with those warnings (about matplotlib, not the data) silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    matplotlib.mathtext.MathTextParser("agg").parse("$10^{2}$", 100)
    import gc
    gc.collect()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import llmsim_results as lr  # noqa: E402

LATENCIES = [("ttft_s", "time to first token"), ("mean_itl_s", "inter-token latency"),
             ("e2e_s", "end-to-end latency")]
COST_LINES = [("input", "input"), ("cache_write", "cache write"), ("cache_read", "cache read"),
              ("output", "output"), ("gpu", "GPU"), ("cache_storage", "cache storage")]
QUANTILES = [(0.50, "o", "p50"), (0.95, "^", "p95"), (0.99, "s", "p99")]
DPI = 100


# ---- helpers ---------------------------------------------------------------

def _display(obj_markdown=None, png=None):
    try:
        from IPython import get_ipython
        from IPython.display import Image, Markdown, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        if obj_markdown is not None:
            print(obj_markdown)
        return
    if obj_markdown is not None:
        display(Markdown(obj_markdown))
    if png is not None:
        display(Image(data=png, format="png"))


def png_bytes(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def show(name, *args, save=None, **kwargs):
    """Draws plot `name` (a function of this module) and shows it as a PNG;
    when its data is missing shows the reason instead.  save: also write
    the PNG there (nothing is written when the plot is left out)."""
    why = globals()["why_not_" + name](*args, **kwargs)
    if why:
        _display(f"*Left out:* {why}")
        return
    fig = globals()[name](*args, **kwargs)
    png = png_bytes(fig)
    plt.close(fig)
    if save:
        with open(save, "wb") as f:
            f.write(png)
    _display(png=png)


def _measured(r):
    df = r.requests
    return None if df is None else df[df["measured"]]


def _ecdf(ax, values, label, color):
    v = np.sort(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if not len(v):
        return
    values_sorted = v
    y = np.arange(1, len(v) + 1) / len(v)
    if len(v) > 2000:  # 2,000 steps draw the same curve in a smaller image
        keep = np.unique(np.linspace(0, len(v) - 1, 2000).astype(int))
        v, y = v[keep], y[keep]
    ax.step(v, y, where="post", label=label, color=color, lw=1.4)
    for q, marker, _ in QUANTILES:
        x = float(np.quantile(values_sorted, q))
        ax.plot([x], [q], marker=marker, color=color, ms=6, ls="none")


def _log_if_wide(ax, values, axis="x"):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() / v.min() > 100:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _quantile_legend(ax):
    handles, labels = ax.get_legend_handles_labels()
    for _, marker, lab in QUANTILES:
        handles.append(plt.Line2D([], [], marker=marker, color="0.3", ls="none"))
        labels.append(lab)
    ax.legend(handles, labels, fontsize=8, loc="lower right")


def _colors(n):
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def _cdf_row(axes, series, columns, title_suffix=""):
    """One CDF panel per (column, title) of columns, one curve per (label,
    measured requests) of series; ITL over requests with two or more tokens."""
    colors = _colors(len(series))
    for ax, (col, title) in zip(axes, columns):
        allv = []
        for (label, df), c in zip(series, colors):
            if col == "mean_itl_s":
                df = df[df["output_tokens"] >= 2]
            _ecdf(ax, df[col], label, c)
            allv.extend(df[col].tolist())
        _log_if_wide(ax, allv)
        ax.set_title(title + title_suffix)
        ax.set_xlabel(f"{col.replace('mean_itl_s', 'ITL')} (s)")
        ax.set_ylabel("share of requests")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        _quantile_legend(ax)


# ---- one run -----------------------------------------------------------------

def why_not_latency_cdfs(r, by="class"):
    if r.requests is None:
        return ("the file has no /requests table (the scenario's `output.requests` is off), so "
                "there are no per-request latencies to draw; /summary's percentiles are in the "
                "table above.")
    if not r.requests["measured"].any():
        return "no request was measured (all in warm-up, rejected or wasted prefetches)."
    return None


def latency_cdfs(r, by="class"):
    """TTFT, ITL and E2E CDFs, one line per class (or deployment)."""
    df = _measured(r)
    groups = [g for g in df[by].cat.categories if (df[by] == g).any()]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    series = [(f"{g} ({int((df[by] == g).sum())})", df[df[by] == g]) for g in groups]
    _cdf_row(axes, series, LATENCIES, f" by {by}")
    fig.suptitle(f"{r.name}: latency CDFs by {by} (markers: p50, p95, p99)")
    fig.tight_layout()
    return fig


def _cost_rows(summary, scopes):
    rows = []
    for scope in scopes:
        rows.append([lr.summary_value(summary, f"cost_{k}_per_1k_usd", scope) for k, _ in COST_LINES])
    return np.nan_to_num(np.array(rows, dtype=float))


def _cost_bars(labels, vals, title, xlabel=None, rotation=0, width_per_bar=1.2):
    """Bars of cost per 1,000 requests stacked by line (vals: one row per bar,
    one column per COST_LINES entry), each topped by its total."""
    fig, ax = plt.subplots(figsize=(max(6, width_per_bar * len(labels) + 3), 4.5))
    bottom = np.zeros(len(labels))
    cols = _colors(len(COST_LINES))
    for i, (_, lab) in enumerate(COST_LINES):
        if vals[:, i].any():
            ax.bar(labels, vals[:, i], bottom=bottom, label=lab, color=cols[i])
            bottom += vals[:, i]
    for x, tot in enumerate(bottom):
        ax.annotate(f"\\${tot:.4g}", (x, tot), ha="center", va="bottom", fontsize=8)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel("USD per 1,000 requests")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=rotation)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def why_not_cost_stacked(r):
    if r.summary is None:
        return "the file has no /summary (the run was interrupted before it was written)."
    return None


def cost_stacked(r):
    """Cost per 1,000 requests, stacked by line, overall, per class and per deployment."""
    s = r.summary
    scopes = list(dict.fromkeys(s["scope"]))
    return _cost_bars(scopes, _cost_rows(s, scopes), f"{r.name}: cost per 1,000 requests by line",
                      rotation=30)


def why_not_timeseries(r):
    ts = r.timeseries
    if ts is None:
        return ("the file has no /timeseries rows (the run ended before the first sampling "
                "instant, `output.timeseries_interval_s`), so there is nothing to draw over time.")
    if ts["t_s"].nunique() < 2:
        return ("/timeseries has a single sampling instant; a time series needs two or more "
                "(lower `output.timeseries_interval_s` or run longer).")
    return None


def _ts_mean(ts, col, replica_rows=False):
    """Mean over replications (and replicas) of a column, per time and deployment."""
    rows = ts[ts["replica"] >= 0] if replica_rows else ts[ts["replica"] < 0]
    return rows.groupby(["deployment", "t_s"], observed=True)[col].mean()


def timeseries(r):
    """Queue length, running requests, KV use, replicas and cumulative cost over time."""
    ts = r.timeseries
    panels = [("queue_len", "queue length", "requests waiting", False),
              ("running", "running requests", "requests in service", False),
              ("kv_used_frac", "KV cache in use", "share of KV blocks", True),
              ("replicas", "replicas provisioned", "replicas", False),
              ("cost_cum_usd", "cumulative cost", "USD", False)]
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    deps = list(ts["deployment"].cat.categories)
    cols = _colors(len(deps))
    for ax, (col, title, unit, per_replica) in zip(axes.flat, panels):
        data = _ts_mean(ts, col, per_replica)
        drew = False
        for d, c in zip(deps, cols):
            if d in data.index.get_level_values(0):
                ser = data.loc[d]
                ax.plot(ser.index, ser.values, label=d, color=c, lw=1.3)
                drew = True
        if col == "kv_used_frac" and (not drew or not np.any(data.values > 0)):
            ax.text(0.5, 0.5, "no KV memory modelled\n(api deployments or scheduler none)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4")
        ax.set_title(title)
        ax.set_xlabel("virtual time (s)")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        if drew:
            ax.legend(fontsize=8)
    axes.flat[-1].axis("off")
    reps = ts["replication"].nunique()
    fig.suptitle(f"{r.name}: time series" + (f" (mean of {reps} replications)" if reps > 1 else ""))
    fig.tight_layout()
    return fig


def _self_hosted(r):
    s = r.summary
    if s is None:
        return []
    rows = s[(s["kind"] == "deployment") & (s["metric"] == "utilization") & (s["count"] > 0)]
    return list(rows["name"])


def why_not_gpu(r):
    if r.summary is None:
        return "the file has no /summary."
    if not _self_hosted(r):
        return ("no self-hosted deployment: GPU busy share and MFU describe GPUs the scenario "
                "provisions, and api deployments have none.")
    return None


def gpu(r):
    """GPU busy share over time and utilization / MFU / MBU per deployment."""
    deps = _self_hosted(r)
    s = r.summary
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.5))
    ts = r.timeseries
    if ts is not None and ts["t_s"].nunique() >= 2:
        data = _ts_mean(ts, "busy_frac")
        for d, c in zip(deps, _colors(len(deps))):
            if d in data.index.get_level_values(0):
                ser = data.loc[d]
                a1.plot(ser.index, ser.values, label=d, color=c)
        a1.set_ylim(0, 1.05)
        a1.legend(fontsize=8)
    else:
        a1.text(0.5, 0.5, "no time series in this file", ha="center", va="center",
                transform=a1.transAxes, color="0.4")
    a1.set_title("GPU busy share over time (mean over replicas)")
    a1.set_xlabel("virtual time (s)")
    a1.set_ylabel("share of the interval busy")
    a1.grid(alpha=0.3)
    metrics = [("utilization", "busy share"), ("mfu", "MFU"), ("mbu", "MBU")]
    width = 0.8 / len(metrics)
    x = np.arange(len(deps))
    for i, (m, lab) in enumerate(metrics):
        v = [lr.summary_value(s, m, f"deployment:{d}") for d in deps]
        e = [lr.summary_value(s, m, f"deployment:{d}", "ci95") for d in deps]
        e = [0 if not np.isfinite(x_) else x_ for x_ in e]
        a2.bar(x + (i - 1) * width, np.nan_to_num(v), width, yerr=e, label=lab, capsize=3)
    a2.set_xticks(x, deps)
    a2.set_ylim(0, 1.05)
    a2.set_ylabel("share (0-1)")
    a2.set_title("busy share, MFU and MBU per deployment (run means, 95% CI)")
    a2.legend(fontsize=8)
    a2.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{r.name}: GPU serving")
    fig.tight_layout()
    return fig


def why_not_cache_hits(r):
    if r.requests is None:
        return "the file has no /requests table, from which the hit ratio over time is computed."
    m = _measured(r)
    if not len(m) or not (m["cached_tokens"] > 0).any():
        return ("no measured request read tokens from a prompt or prefix cache (the scenario has "
                "no cache, or nothing was reused), so the hit ratio is 0 throughout.")
    return None


def cache_hits(r, bins=40):
    """Token hit ratio and share of requests with a hit, per time bin of arrival."""
    m = _measured(r)
    edges = np.linspace(m["arrival_s"].min(), m["arrival_s"].max(), bins + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.2))
    deps = [d for d in m["deployment"].cat.categories if (m["deployment"] == d).any()]
    for d, c in zip(deps, _colors(len(deps))):
        sub = m[m["deployment"] == d]
        idx = np.clip(np.digitize(sub["arrival_s"], edges) - 1, 0, bins - 1)
        g = sub.assign(b=idx).groupby("b")
        mid = (edges[:-1] + edges[1:]) / 2
        tok = g["cached_tokens"].sum() / g["input_tokens"].sum().replace(0, np.nan)
        req = g["cached_tokens"].apply(lambda v: float((v > 0).mean()))
        a1.plot(mid[tok.index], tok.values, label=d, color=c)
        a2.plot(mid[req.index], req.values, label=d, color=c)
    for ax, t, u in ((a1, "token hit ratio (cached / prompt tokens)", "share of prompt tokens"),
                     (a2, "requests with a cache hit", "share of requests")):
        ax.set_title(t)
        ax.set_xlabel("arrival time (s)")
        ax.set_ylabel(u)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{r.name}: cache hit ratio over time ({bins} bins of arrival time)")
    fig.tight_layout()
    return fig


def why_not_replications(r):
    if r.replications < 2:
        return ("one replication: there is no spread between replications to draw (run with "
                "`--replications N`, N of 2 or more); the intervals in the table come from batch "
                "means of this one replication.")
    if r.requests is None:
        return "the file has no /requests table to take each replication's means from."
    return None


def replications(r):
    """Each replication's mean TTFT, E2E and cost per request against the
    pooled mean and its 95% confidence interval."""
    m = _measured(r)
    g = m.assign(cost=m[["cost_input_usd", "cost_cache_write_usd", "cost_cache_read_usd",
                         "cost_output_usd", "cost_gpu_usd"]].sum(axis=1)).groupby("replication")
    panels = [("ttft_s", "ttft_s", "mean TTFT (s)"), ("e2e_s", "e2e_s", "mean E2E (s)"),
              ("cost", "cost_usd", "mean cost per request (USD)")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, (col, metric, lab) in zip(axes, panels):
        means = g[col].mean()
        ax.plot(means.index, means.values, "o", label="replication mean")
        mu = lr.summary_value(r.summary, metric)
        ci = lr.summary_value(r.summary, metric, stat="ci95")
        if np.isfinite(mu):
            ax.axhline(mu, color="k", lw=1, label="pooled mean")
            if np.isfinite(ci):
                ax.axhspan(mu - ci, mu + ci, color="0.8", alpha=0.6, label="95% CI of the mean")
        ax.set_xlabel("replication")
        ax.set_ylabel(lab)
        ax.set_title(lab.replace("mean ", "") + " per replication")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{r.name}: {r.replications} replications")
    fig.tight_layout()
    return fig


def why_not_tail(r):
    if r.tail is None:
        return ("the file has no /tail table: tail attribution is written by "
                "`llmsim run --tail`.")
    return None


def tail(r):
    """Where the slowest 5% spent their time against the median band, and the
    features they share most (lift)."""
    t = r.tail
    metrics = list(dict.fromkeys(t["metric"]))
    fig, axes = plt.subplots(len(metrics), 2, figsize=(14, 3.8 * len(metrics)), squeeze=False)
    for row, metric in zip(axes, metrics):
        comp = t[(t["metric"] == metric) & (t["kind"] == "component") & (t["name"] != "total")]
        y = np.arange(len(comp))
        row[0].barh(y - 0.2, comp["median_mean_s"], 0.4, label="median band (p45-p55)")
        row[0].barh(y + 0.2, comp["tail_mean_s"], 0.4, label="tail (above p95)")
        row[0].set_yticks(y, comp["name"])
        row[0].set_xlabel("mean seconds per request")
        row[0].set_title(f"{metric}: where the time went")
        row[0].legend(fontsize=8)
        row[0].grid(axis="x", alpha=0.3)
        feat = t[(t["metric"] == metric) & (t["kind"] == "feature")].sort_values("lift").tail(10)
        row[1].barh(feat["name"], feat["lift"], color="tab:red")
        row[1].axvline(1, color="k", lw=1)
        row[1].set_xlabel("lift (share in the tail / share overall)")
        row[1].set_title(f"{metric}: what the tail shares (top 10 by lift)")
        row[1].grid(axis="x", alpha=0.3)
    fig.suptitle(f"{r.name}: tail attribution")
    fig.tight_layout()
    return fig


# ---- sweeps, plans and levers ------------------------------------------------

SWEEP_METRICS = [("ttft_s_p95", "TTFT p95", "s"), ("e2e_s_p95", "E2E p95", "s"),
                 ("itl_s_p95", "ITL p95", "s"), ("cost_per_1k_usd_mean", "cost per 1k requests", "USD"),
                 ("throughput_rps_mean", "throughput", "requests/s"),
                 ("slo_met_mean", "goodput (SLO met)", "share"), ("success_mean", "quality", "share")]


def _slo_lines(r):
    """{sweep column: target in s} from the scenario's slo."""
    slo = (r.scenario or {}).get("slo") or {}
    pct = int(slo.get("percentile", 95)) if slo else 95
    out = {}
    for key, metric in (("ttft_ms", "ttft_s"), ("itl_ms", "itl_s"), ("e2e_ms", "e2e_s")):
        if slo.get(key) is not None:
            out[f"{metric}_p{pct}"] = float(slo[key]) / 1000.0
    return out, pct


def _x_of(sw, key):
    col = sw[key]
    if col.dtype.kind in "fi":
        return col.to_numpy(dtype=float), None
    labels = list(dict.fromkeys(col))
    return np.array([labels.index(v) for v in col], dtype=float), labels


def why_not_sweep_metrics(r):
    if r.sweep is None or not len(r.sweep):
        return "the file has no /sweep rows (no point finished)."
    if not r.varied_keys:
        return "the file names no varied key (a levers file: see the ladder below)."
    return None


def sweep_metrics(r):
    """Each headline metric against the first varied key, one line per value
    of the others, with 95% CI bands, the SLO targets and unstable points."""
    sw = r.sweep.copy()
    key = r.varied_keys[0]
    others = [k for k in r.varied_keys[1:] if k in sw]
    slo, pct = _slo_lines(r)
    metrics = [m for m in SWEEP_METRICS if m[0] in sw and np.isfinite(sw[m[0]]).any()]
    for col in slo:  # an SLO at another percentile than p95 gets its own panel
        if col in sw and col not in [m[0] for m in metrics]:
            metrics.insert(0, (col, col.replace("_s_p", " p"), "s"))
    ncol = 3
    nrow = math.ceil(len(metrics) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(15, 4 * nrow), squeeze=False)
    if others:
        labels = sw[others].astype(str).agg(", ".join, axis=1)
    else:
        labels = np.array([""] * len(sw), dtype=object)
    sw["_series"] = list(labels)
    series = list(dict.fromkeys(sw["_series"]))
    cols = _colors(len(series))
    x_all, xlabels = _x_of(sw, key)
    sw["_x"] = x_all
    for ax, (m, title, unit) in zip(axes.flat, metrics):
        for s_, c in zip(series, cols):
            sub = sw[sw["_series"] == s_].sort_values("_x")
            y = sub[m].to_numpy(dtype=float)
            ci = sub.get(m + "_ci95")
            ci = np.nan_to_num(ci.to_numpy(dtype=float)) if ci is not None else np.zeros(len(y))
            lab = f"{', '.join(others)} = {s_}" if others else None
            ax.plot(sub["_x"], y, "o-", color=c, label=lab, ms=4)
            ax.fill_between(sub["_x"], y - ci, y + ci, color=c, alpha=0.2)
            bad = ~sub["stable"].to_numpy()
            if bad.any():
                ax.plot(sub["_x"][bad], y[bad], "x", color="red", ms=10, mew=2)
        if m in slo:
            ax.axhline(slo[m], color="k", ls="--", lw=1)
            ax.annotate(f"SLO {slo[m]:g} s", (0.01, slo[m]), xycoords=("axes fraction", "data"),
                        fontsize=8, va="bottom")
        if unit == "s":
            _log_if_wide(ax, sw[m], "y")
        if xlabels:
            ax.set_xticks(range(len(xlabels)), xlabels)
        ax.set_xlabel(key)
        ax.set_ylabel(f"{title} ({unit})")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"{r.name}: {r.kind} over {key} (bands: 95% CI; red x: unstable point; "
                 f"dashed: SLO target)")
    fig.tight_layout()
    return fig


def why_not_pareto(r):
    sw = r.sweep
    if sw is None or not len(sw):
        return "the file has no /sweep rows."
    lat = r.attrs.get("pareto_latency")
    if not lat or lat not in sw:
        return "the file names no latency column for the frontier (`pareto_latency`)."
    return None


def pareto(r):
    """Cost per 1k requests against the frontier's latency, coloured by quality."""
    sw = r.sweep
    lat = r.attrs["pareto_latency"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    q = sw["success_mean"].to_numpy(dtype=float)
    stable = sw["stable"].to_numpy()
    has_q = bool(np.isfinite(q[stable]).any())
    if has_q:
        sc = ax.scatter(sw["cost_per_1k_usd_mean"][stable], sw[lat][stable], c=q[stable],
                        cmap="viridis", vmin=np.nanmin(q), vmax=1, s=60, zorder=3)
        fig.colorbar(sc, ax=ax, label="quality (share of successful answers)")
    else:
        ax.scatter(sw["cost_per_1k_usd_mean"][stable], sw[lat][stable], color="tab:blue", s=60,
                   zorder=3, label="stable point (no quality figures)")
    if (~stable).any():
        ax.scatter(sw["cost_per_1k_usd_mean"][~stable], sw[lat][~stable], marker="x", color="red",
                   s=60, label="unstable (off the frontier)", zorder=3)
    fr = sw[sw["pareto"]].sort_values("cost_per_1k_usd_mean")
    if not len(fr):
        ax.text(0.5, 0.95, "no point is on the frontier", transform=ax.transAxes, ha="center",
                va="top", color="0.4")
    ax.plot(fr["cost_per_1k_usd_mean"], fr[lat], "-", color="k", lw=1, zorder=2)
    ax.scatter(fr["cost_per_1k_usd_mean"], fr[lat], s=180, facecolors="none", edgecolors="k",
               label="Pareto frontier", zorder=4)
    for _, row in sw.iterrows():
        ax.annotate(str(int(row["point"])), (row["cost_per_1k_usd_mean"], row[lat]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    _log_if_wide(ax, sw[lat], "y")
    ax.set_xlabel("cost per 1,000 requests (USD)")
    ax.set_ylabel(f"{lat} (s)")
    ax.set_title(f"{r.name}: cost against {lat}, coloured by quality")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def why_not_levers_waterfall(r):
    sw = r.sweep
    if r.kind != "levers" or sw is None or "mode" not in sw:
        return "not a levers file."
    if not (sw["mode"] == "baseline").any():
        return "the baseline point did not finish."
    return None


def levers_waterfall(r):
    """The ladder as waterfalls: baseline, then each stacked lever's change,
    for cost per 1k requests and the frontier latency."""
    sw = r.sweep
    lat = r.attrs.get("pareto_latency", "ttft_s_p95")
    base = sw[sw["mode"] == "baseline"].iloc[0]
    stacked = sw[sw["mode"] == "stacked"].sort_values("point")
    # The first rung of the ladder is the first lever alone; the stacked rows
    # add the others one by one.
    alone = sw[sw["mode"] == "alone"].sort_values("point")
    first = str(stacked["levers"].iloc[0]).split(" + ")[0] if len(stacked) else (
        str(alone["lever"].iloc[0]) if len(alone) else None)
    first_row = alone[alone["lever"] == first]
    stacked = pd.concat([first_row.head(1), stacked])
    panels = [("cost_per_1k_usd_mean", "cost per 1,000 requests (USD)"), (lat, f"{lat} (s)")]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5))
    for ax, (col, unit) in zip(axes, panels):
        names = ["baseline"] + [str(x) for x in stacked["lever"]]
        vals = [float(base[col])] + [float(v) for v in stacked[col]]
        prev = vals[0]
        ax.bar(0, vals[0], color="0.5")
        ax.annotate(f"{vals[0]:.4g}", (0, vals[0]), ha="center", va="bottom", fontsize=8)
        for i, v in enumerate(vals[1:], start=1):
            d = v - prev
            ax.bar(i, d, bottom=prev, color="tab:green" if d <= 0 else "tab:red")
            ax.annotate(f"{d:+.3g}", (i, max(v, prev)), ha="center", va="bottom", fontsize=8)
            prev = v
        ax.bar(len(vals), vals[-1], color="tab:blue")
        ax.annotate(f"{vals[-1]:.4g}", (len(vals), vals[-1]), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(vals) + 1), names + ["all stacked"], rotation=25, ha="right")
        ax.set_ylabel(unit)
        ax.set_title(f"{unit.split(' (')[0]}: each lever added in turn")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{r.name}: the levers ladder (green: the lever lowers it, red: raises it)")
    fig.tight_layout()
    return fig


def why_not_levers_alone(r):
    why = why_not_levers_waterfall(r)
    if why:
        return why
    if not (r.sweep["mode"] == "alone").any():
        return "no lever was run alone."
    return None


def levers_alone(r):
    """Each lever alone against the baseline: change in cost and latency."""
    sw = r.sweep
    lat = r.attrs.get("pareto_latency", "ttft_s_p95")
    base = sw[sw["mode"] == "baseline"].iloc[0]
    alone = sw[sw["mode"] == "alone"].sort_values("point")
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.5 * len(alone) + 2.5))
    for ax, col, unit in ((axes[0], "cost_per_1k_usd_mean", "USD per 1k requests"),
                          (axes[1], lat, "s")):
        d = alone[col].to_numpy(dtype=float) - float(base[col])
        ax.barh(alone["lever"].astype(str), d, color=["tab:green" if v <= 0 else "tab:red" for v in d])
        ax.axvline(0, color="k", lw=1)
        ax.set_xlabel(f"change from the baseline ({unit})")
        ax.set_title(f"{col}: each lever alone")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{r.name}: each lever alone against the baseline")
    fig.tight_layout()
    return fig


def why_not_points_cost(r):
    if r.points is None or not len(r.points):
        return "the file has no point groups (no point finished)."
    return None


def points_cost(r, max_points=40):
    """Cost per 1,000 requests by line, one bar per point."""
    p = r.points.head(max_points)
    vals = np.vstack([_cost_rows(lr.read_summary(r.path, g), ["all"]) for g in p["group"]])
    return _cost_bars([str(x) for x in p["point"]], vals,
                      f"{r.name}: cost per 1,000 requests by line, per point",
                      xlabel="point (see the table above)", width_per_bar=0.45)


def why_not_points_cdfs(r):
    p = r.points
    if p is None or not len(p):
        return "the file has no point groups."
    if not p["has_requests"].any():
        return ("the points have no /requests (the scenario's `output.requests` is off, or a "
                "plan, which keeps summaries only), so per-point CDFs cannot be drawn.")
    return None


def points_cdfs(r, max_points=12):
    """TTFT and E2E CDFs of each point (the first max_points with requests)."""
    p = r.points[r.points["has_requests"]].head(max_points)
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.8))
    series = []
    for _, row in p.iterrows():
        df = lr.read_requests(r.path, row["group"])
        series.append((f"{row['point']}: {row['overrides'][:40]}", df[df["measured"]]))
    _cdf_row(axes, series, [LATENCIES[0], LATENCIES[2]], " per point")
    fig.suptitle(f"{r.name}: latency CDFs per point")
    fig.tight_layout()
    return fig


# ---- several files -------------------------------------------------------------

def _label(r):
    import os
    return os.path.basename(r.path)


def why_not_compare_cdfs(rs):
    missing = [_label(r) for r in rs if r.requests is None]
    if len(missing) == len(rs):
        return "none of the files has a /requests table."
    return None


def compare_cdfs(rs):
    """TTFT, ITL and E2E CDFs side by side, one line per file."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _cdf_row(axes, [(_label(r), _measured(r)) for r in rs if r.requests is not None], LATENCIES)
    fig.suptitle("latency CDFs of the files side by side (markers: p50, p95, p99)")
    fig.tight_layout()
    return fig


def why_not_compare_cost(rs):
    if all(r.summary is None for r in rs):
        return "none of the files has a /summary."
    return None


def compare_cost(rs):
    """Cost per 1,000 requests by line, one bar per file."""
    vals = np.vstack([_cost_rows(r.summary, ["all"]) if r.summary is not None
                      else np.zeros((1, len(COST_LINES))) for r in rs])
    return _cost_bars([_label(r) for r in rs], vals, "cost per 1,000 requests by line, per file",
                      rotation=20, width_per_bar=1.4)


# ---- tables ------------------------------------------------------------------

HEADLINE = [("ttft_s", "p50"), ("ttft_s", "p95"), ("ttft_s", "p99"), ("itl_s", "p50"),
            ("e2e_s", "p50"), ("e2e_s", "p95"), ("e2e_s", "p99"), ("queue_s", "mean"),
            ("throughput_rps", "mean"), ("cost_per_1k_usd", "mean"), ("cost_per_month_usd", "mean"),
            ("success", "mean"), ("slo_met", "mean")]


def headline(rs):
    """Headline figures (scope all) of one or several runs, one column per file."""
    rs = rs if isinstance(rs, (list, tuple)) else [rs]
    data = {}
    for r in rs:
        col = {}
        for m, st in HEADLINE:
            v = lr.summary_value(r.summary, m, "all", st)
            ci = lr.summary_value(r.summary, m, "all", "ci95" if st == "mean" else f"{st}_ci95")
            col[f"{m} {st}"] = _fmt(v) + ("" if not np.isfinite(ci) else f" ± {ci:.2g}")
        data[_label(r)] = col
    return pd.DataFrame(data, index=[f"{m} {st}" for m, st in HEADLINE])
