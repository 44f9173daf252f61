"""Writes a Jupyter notebook (and optionally an HTML report) for llmsim results files.

    python3 build_notebook.py RESULTS.h5... -o REPORT.ipynb [--html] [--no-execute]

`llmsim notebook` runs this script.  The notebook suits what the files hold:
one run (replications or not), a sweep, a plan, a levers ladder, or several
files (their latency CDFs and costs side by side, then each file's own
section).  Every plot is a call into llmsim_plots.py with a Markdown caption
before it saying what to read from it; a plot whose data the file lacks is
replaced by a sentence saying why.  The notebook is executed headless with
nbclient (kernel `python3`), so it is saved with its outputs; --html converts
it with nbconvert into one self-contained HTML file (images embedded as data
URIs, no scripts fetched from the network).  Files are written under a
temporary name and renamed when complete.

Exit status: 0 written; 2 bad input (a file that is not an llmsim results
file, a bad option); 1 runtime failure (a cell failed, a write failed).
"""

import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import llmsim_results as lr  # noqa: E402
import llmsim_plots as plots  # noqa: E402

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

CAPTIONS = {
    "latency_cdfs": (
        "Each curve is the share of measured requests (y) served within a latency (x), one curve "
        "per {by}. The median is where a curve crosses 0.5 (circle), the tail is at the triangle "
        "(p95) and the square (p99): a curve further right is slower, and a long flat top means a "
        "few very slow requests. The x axis turns logarithmic when latencies span more than two "
        "orders of magnitude. ITL is each request's mean gap between output tokens (requests with "
        "two or more)."),
    "cost_stacked": (
        "Each bar is what 1,000 requests cost, split by billing line: overall (warm-up requests "
        "and idle GPU time included), per class and per deployment. The tallest segment is the "
        "lever to pull: prompt caching cuts the input line, output caps and routing cut the "
        "output line, fewer or cheaper GPUs cut the GPU line."),
    "timeseries": (
        "The deployments' state at each sampling instant (`output.timeseries_interval_s`). A queue "
        "that keeps growing means a deployment cannot keep up; running requests near the batch "
        "limit with KV use near 1 mean memory bounds the batch (expect preemptions); replicas are "
        "what is provisioned; cumulative cost rises in a straight line under a steady load."),
    "gpu": (
        "Left: the share of each sampling interval the GPUs were busy. Right: busy share, MFU "
        "(FLOP/s achieved while busy over the GPU's peak) and MBU (the same for memory "
        "bandwidth). Decoding is memory bound, so MBU is well above MFU; a busy share near 1 with "
        "a long queue means the deployment needs more capacity."),
    "cache_hits": (
        "Left: the share of prompt tokens read from a cache, per bin of arrival time; right: the "
        "share of requests with any hit. Both start low (a cold cache) and settle; dips mean "
        "entries expired (TTL) or were evicted."),
    "replications": (
        "Each dot is one replication's mean; the line is the mean over all of them and the band "
        "its 95% confidence interval. A wide band, or dots far outside it, means more "
        "replications (or longer ones) are needed before two scenarios can be told apart."),
    "tail": (
        "Left: mean seconds per request in each component for the slowest 5% against the median "
        "band (p45 to p55): the component with the largest gap is where the tail comes from. "
        "Right: the features the tail shares most, by lift (share in the tail over share "
        "overall; 1 is no more than average)."),
    "sweep_metrics": (
        "Each headline metric against the varied key (one line per value of the other varied "
        "keys), with its 95% confidence band from the `*_ci95` columns. The dashed line is the "
        "SLO target where the scenario sets one; a red cross marks a point where a deployment "
        "could not keep up (its latencies describe a growing queue, not a steady state)."),
    "pareto": (
        "Every point's cost per 1,000 requests against the frontier's latency percentile, coloured "
        "by quality (share of successful answers). Ringed points joined by the line are the Pareto "
        "frontier: stable points that no other stable point beats on cost, latency and quality at "
        "once. Points off it are dominated; red crosses are unstable points."),
    "levers_waterfall": (
        "The ladder: the baseline, then each lever added in turn (green: it lowers the figure, "
        "red: it raises it), then everything stacked. Read which rungs pay for themselves and "
        "what each costs in latency."),
    "levers_alone": (
        "Each lever alone against the baseline (same seed: common random numbers), for cost and "
        "latency. Levers that interact show different gains here than in the stacked ladder."),
    "points_cost": (
        "What 1,000 requests cost at each point, split by billing line (warm-up and idle GPU "
        "time included): which line the varied settings move."),
    "points_cdfs": (
        "The TTFT and E2E distributions of the points (up to 12), with p50, p95 and p99 marked: "
        "the shape behind each row of the table, e.g. whether a point's p95 comes from a long "
        "tail or a shift of the whole distribution."),
    "compare_cdfs": (
        "The latency distributions of the files side by side, one curve per file, p50, p95 and "
        "p99 marked. A curve to the left is faster; curves that cross trade the median against "
        "the tail."),
    "compare_cost": (
        "What 1,000 requests cost in each file, split by billing line: which line each change "
        "moved."),
}

TITLES = {
    "latency_cdfs": "Latency distributions by {by}",
    "cost_stacked": "Cost per 1,000 requests by line",
    "timeseries": "Over time: queue, running requests, KV use, replicas, cost",
    "gpu": "GPU busy share and MFU",
    "cache_hits": "Cache hit ratio over time",
    "replications": "Replications",
    "tail": "Tail attribution",
    "sweep_metrics": "Headline metrics against the varied key",
    "pareto": "Cost, latency and quality: the Pareto frontier",
    "levers_waterfall": "The levers ladder",
    "levers_alone": "Each lever alone",
    "points_cost": "Cost per 1,000 requests per point",
    "points_cdfs": "Latency distributions per point",
    "compare_cdfs": "Latency distributions side by side",
    "compare_cost": "Cost per 1,000 requests side by side",
}


class Builder:
    """Collects the cells of one notebook."""

    def __init__(self):
        import nbformat.v4 as v4
        self.v4 = v4
        self.cells = []
        self.plots = 0      # plot cells
        self.left_out = 0   # plots replaced by a sentence

    def md(self, text):
        self.cells.append(self.v4.new_markdown_cell(text.strip()))

    def code(self, text, tags=None):
        cell = self.v4.new_code_cell(text.strip())
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def plot(self, level, name, var, obj, tags=None, **kwargs):
        """A heading, then the caption and the plot, or the reason it is left out."""
        title = TITLES[name].format(**kwargs)
        self.md(f"{'#' * level} {title}")
        why = getattr(plots, "why_not_" + name)(obj, **kwargs)
        if why:
            self.left_out += 1
            self.md(f"*Left out:* {why}")
            return
        self.plots += 1
        self.md(CAPTIONS[name].format(**kwargs))
        args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        self.code(f"plots.show({name!r}, {var}{args})", tags=tags)

    def notebook(self, title):
        nb = self.v4.new_notebook()
        nb.cells = self.cells
        nb.metadata["kernelspec"] = dict(KERNEL)
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata["title"] = title
        return nb


def _describe(r):
    a = r.attrs
    rows = [("file", f"`{r.path}`"), ("kind", r.kind), ("scenario", a.get("scenario_name", "")),
            ("seed", a.get("seed", "")), ("replications", a.get("replications", "")),
            ("written", f"{a.get('created_utc', '')} by llmsim {a.get('llmsim_version', '')}"),
            ("complete", "yes" if r.complete else "no: the run was interrupted, figures may be partial")]
    if r.varied_keys:
        rows.append(("varied" if r.kind == "sweep" else "searched", ", ".join(
            f"`{k}`" for k in r.varied_keys)))
    if r.kind != "run" and len(r.points):
        rows.append(("points", str(len(r.points))))
    desc = (r.scenario or {}).get("description") if isinstance(r.scenario, dict) else None
    text = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    if desc:
        text = f"{desc}\n\n" + text
    return text


def run_sections(b, var, r, level):
    h = "#" * level
    b.md(f"{h} Headline figures\n\nScope `all`, measured requests (neither warm-up nor rejected); "
         "`±` is the half-width of the 95% confidence interval where it is known. Seconds for "
         "latencies, USD for costs, shares (0 to 1) for quality and goodput.")
    b.code(f"plots.headline({var})")
    b.plot(level, "latency_cdfs", var, r, by="class")
    b.plot(level, "latency_cdfs", var, r, by="deployment")
    b.plot(level, "cost_stacked", var, r)
    b.plot(level, "timeseries", var, r)
    b.plot(level, "gpu", var, r)
    b.plot(level, "cache_hits", var, r)
    b.plot(level, "replications", var, r)
    b.plot(level, "tail", var, r)


def study_sections(b, var, r, level):
    h = "#" * level
    lat = r.attrs.get("pareto_latency", "ttft_s_p95")
    cols = ["point"] + [k for k in r.varied_keys if r.sweep is not None and k in r.sweep]
    if r.kind == "levers":
        cols += ["mode", "lever"]
    cols += [lat, "e2e_s_p95", "cost_per_1k_usd_mean", "success_mean", "slo_met_mean", "stable",
             "slo_met", "pareto"]
    intro = {
        "sweep": "Every point of the grid, one row each.",
        "plan": ("Every capacity the plan tried (points numbered candidate x 64 + evaluation), "
                 "one row each; the plan's answer is the least value that is stable and meets "
                 "the SLO."),
        "levers": "The baseline, each lever alone, then the levers stacked in order.",
    }.get(r.kind, "")
    b.md(f"{h} The points\n\n{intro} `stable`: every deployment kept up; `slo_met`: met, missed "
         "or uncertain (the percentile's interval straddles the target); `pareto`: on the "
         "frontier.")
    b.code(f"{var}.sweep[[c for c in {cols!r} if c in {var}.sweep]]")
    if r.kind == "levers":
        b.plot(level, "levers_waterfall", var, r)
        b.plot(level, "levers_alone", var, r)
    else:
        b.plot(level, "sweep_metrics", var, r)
    b.plot(level, "points_cost", var, r)
    b.plot(level, "pareto", var, r)
    b.plot(level, "points_cdfs", var, r)


def sections(b, var, r, level):
    if r.kind == "run":
        run_sections(b, var, r, level)
    else:
        study_sections(b, var, r, level)


LOADER_NOTE = """{h} Reading the file yourself

The cells above use `llmsim_results` (a loader shipped in llmsim's `notebooks-export/`):
`lr.load(path)` gives `.requests` (class and deployment as categoricals, one boolean column per
flag, `measured`), `.timeseries`, `.summary`, `.scenario` (the resolved scenario as a dict),
`.sweep` and `.point(i)`; see `docs/notebooks.md`."""


def build(paths, title=None, intro=None, readme_tag=None):
    """The notebook (unexecuted) for the results files `paths`; returns
    (notebook, Builder)."""
    rs = [lr.load(p) for p in paths]
    b = Builder()
    if title is None:
        title = (f"llmsim {rs[0].kind} report: {rs[0].name}" if len(rs) == 1
                 else f"llmsim comparison of {len(rs)} results files")
    b.md(f"# {title}\n\n" + (intro.strip() + "\n\n" if intro else "") +
         ("" if len(rs) > 1 else _describe(rs[0])))
    names = ["r"] if len(rs) == 1 else [f"r{i + 1}" for i in range(len(rs))]
    setup = ["import sys", f"sys.path.insert(0, {HERE!r})", "import llmsim_results as lr",
             "import llmsim_plots as plots", "import pandas as pd",
             "pd.set_option('display.width', 200)", "pd.set_option('display.max_columns', 30)"]
    setup += [f"{n} = lr.load({os.path.abspath(p)!r})" for n, p in zip(names, paths)]
    b.code("\n".join(setup))
    if len(rs) == 1:
        sections(b, "r", rs[0], 2)
    else:
        runs = [(n, r) for n, r in zip(names, rs) if r.kind == "run"]
        if len(runs) >= 2:
            var = "[" + ", ".join(n for n, _ in runs) + "]"
            lst = [r for _, r in runs]
            b.md("## The runs side by side\n\n" + "\n".join(
                f"- `{n}`: `{os.path.basename(r.path)}`: {r.name}"
                + (f" ({(r.scenario or {}).get('description', '')})"
                   if isinstance(r.scenario, dict) and r.scenario.get("description") else "")
                for n, r in runs))
            b.code(f"plots.headline({var})")
            b.plot(3, "compare_cdfs", var, lst, tags=[readme_tag] if readme_tag else None)
            b.plot(3, "compare_cost", var, lst)
        for n, r in zip(names, rs):
            b.md(f"## `{os.path.basename(r.path)}`\n\n" + _describe(r))
            sections(b, n, r, 3)
    b.md(LOADER_NOTE.format(h="##"))
    return b.notebook(title), b


def execute(nb, workdir, timeout):
    from nbclient import NotebookClient
    # The kernel's debugger (debugpy) warns on stderr about frozen modules
    # when it starts; the report does not debug.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": workdir}})
    client.execute()
    return nb


def _atomic_write(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w" if isinstance(data, str) else "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# Scripts the HTML template loads from elsewhere (require.js and MathJax,
# from a CDN or, on Debian, from file:///usr/share/javascript): the report
# draws no widgets and no math, so they are left out and the page needs
# nothing but itself.
_REMOTE_SCRIPT = re.compile(r'<script[^>]*\bsrc="(?:https?|file):[^"]*"[^>]*>\s*</script>\s*', re.I)


def to_html(nb):
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab")
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nb)
    return _REMOTE_SCRIPT.sub("", body)


def count_images(nb):
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "image/png" in o.get("data", {}))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="llmsim notebook", description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", metavar="RESULTS.h5")
    ap.add_argument("-o", "--output", required=True, metavar="REPORT.ipynb")
    ap.add_argument("--html", action="store_true")
    ap.add_argument("--no-execute", action="store_true")
    ap.add_argument("--title")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    import nbformat
    for p in args.files:
        try:
            lr.load(p)
        except lr.NotResultsFile as e:
            print(f"llmsim: notebook: {e}", file=sys.stderr)
            return 2
    out = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    t0 = time.monotonic()
    nb, b = build(args.files, title=args.title)
    if not args.no_execute:
        try:
            execute(nb, os.path.dirname(out), args.timeout)
        except Exception as e:  # a cell failed or the kernel did not start
            msg = str(e).strip().splitlines()
            print(f"llmsim: notebook: executing the notebook failed: "
                  f"{msg[-1] if msg else type(e).__name__}", file=sys.stderr)
            return 1
    nbformat.validate(nb)
    _atomic_write(out, nbformat.writes(nb))
    html = None
    if args.html:
        html = os.path.splitext(out)[0] + ".html"
        _atomic_write(html, to_html(nb))
    if not args.quiet:
        what = (f"{count_images(nb)} plots" if not args.no_execute
                else f"{b.plots} plots, not executed")
        left = f", {b.left_out} left out for want of data" if b.left_out else ""
        print(f"notebook: {args.output} ({what}{left}; {time.monotonic() - t0:.1f} s)")
        if html:
            print(f"html: {os.path.splitext(args.output)[0] + '.html'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print(f"llmsim: notebook: {e}", file=sys.stderr)
        sys.exit(1)
