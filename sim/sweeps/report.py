"""Pictures and a page for a sweep: percentile curves, ECDFs, histograms, an HTML report.

Plots use matplotlib's object API (no pyplot, no global backend change) and render
with Agg. :func:`write_sweep_report` writes one self-contained ``index.html`` (the
plots are embedded) and, when the tracer is available, full timeline reports of the
slowest and fastest runs beside it, linked from the page.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from asyncsim._validate import check_int, is_number
from asyncsim.report._format import SWEEP_CSS, escape, href, markup_table
from asyncsim.sweeps.records import SweepRecord, point_key
from asyncsim.trace.stats import PERCENTILES, percentile

if TYPE_CHECKING:
    from asyncsim.sweeps.results import SweepResult

__all__ = ["plot_distributions", "plot_percentiles", "sweep_title", "write_sweep_report"]

_STYLES = {"p50": "-", "p90": "--", "p99": "-.", "max": ":"}
_LEGEND_LIMIT = 12


def _label(name: str) -> str:
    return f"{name} (virtual s)" if name == "elapsed" else name


def choose_x(result: SweepResult) -> str | None:
    """The parameter to put on the x axis: the first that varies, numeric ones first."""
    varying = [
        name for name in result.params if len({repr(p.get(name)) for p in result.points()}) > 1
    ]
    numeric = [n for n in varying if all(is_number(p.get(n)) for p in result.points())]
    choices = numeric or varying
    return choices[0] if choices else None


def _point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "(no parameters)"


def plot_percentiles(
    result: SweepResult, *, x: str | None = None, value: str = "elapsed"
) -> Figure:
    """p50/p90/p99/max of ``value`` (``"elapsed"`` or a metric) against parameter ``x``.

    One colour per combination of the other parameters; one line style per percentile.
    A non-numeric ``x`` is plotted as categories in grid order.
    """
    x = x if x is not None else choose_x(result)
    if x is not None and x not in result.params:
        raise ValueError(f"x={x!r} is not a parameter of this sweep; parameters: {result.params}")
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    groups: dict[str, list[dict[str, Any]]] = {}
    for point in result.points():
        rest = {k: v for k, v in point.items() if k != x}
        groups.setdefault(point_key(rest), []).append(point)
    categories: list[str] = []
    numeric = x is not None and all(is_number(p.get(x)) for p in result.points())
    single = len(groups) == 1
    for index, (_, points) in enumerate(groups.items()):
        colour = f"C{index % 10}"
        xs: list[Any] = []
        ys: dict[str, list[float]] = {k: [] for k in _STYLES}
        for point in points:
            values = result.values(value, **point)
            if not values:
                continue
            if numeric:
                xs.append(point[x])  # type: ignore[index]
            else:
                text = str(point.get(x)) if x is not None else _point_text(point)
                if text not in categories:
                    categories.append(text)
                xs.append(categories.index(text))
            for p in PERCENTILES:
                ys[f"p{p}"].append(percentile(values, p))
            ys["max"].append(values[-1])
        rest = {k: v for k, v in points[0].items() if k != x}
        suffix = f" ({_point_text(rest)})" if rest and len(groups) > 1 else ""
        drawn: dict[tuple[float, ...], list[str]] = {}
        for name in _STYLES:  # a curve equal to an earlier one is named with it, not redrawn
            drawn.setdefault(tuple(ys[name]), []).append(name)
        for line, (name, style) in enumerate(_STYLES.items()):
            same = drawn[tuple(ys[name])]
            if same[0] != name:
                continue
            ax.plot(
                xs,
                ys[name],
                style,
                color=f"C{line}" if single else colour,
                marker="o",
                markersize=3,
                label=f"{' = '.join(same)}{suffix}",
            )
    xs_all: list[float] = [p[x] for p in result.points()] if numeric and x is not None else []
    if xs_all and min(xs_all) > 0 and max(xs_all) >= 10 * min(xs_all):
        ax.set_xscale("log")  # concurrency-like parameters are usually geometric
        ax.set_xticks(sorted(set(xs_all)), [str(v) for v in sorted(set(xs_all))])
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
    ax.set_xlabel(x if x is not None else "point")
    ax.set_ylabel(_label(value))
    ax.set_title(f"{value}: percentiles over seeds")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        _outside_legend(figure, handles, labels, more=len(handles))
    return figure


def _identical_groups(
    result: SweepResult, value: str
) -> list[tuple[list[dict[str, Any]], list[float]]]:
    """The points with values, those with identical value lists merged: (points, values)."""
    groups: dict[tuple[float, ...], list[dict[str, Any]]] = {}
    order: list[tuple[float, ...]] = []
    for point in result.points():
        values = tuple(result.values(value, **point))
        if not values:
            continue
        if values not in groups:
            groups[values] = []
            order.append(values)
        groups[values].append(point)
    return [(groups[v], list(v)) for v in order]


def _group_label(points: list[dict[str, Any]]) -> str:
    if len(points) == 1:
        return _point_text(points[0])
    return " = ".join(_point_text(p) for p in points) + " (identical)"


#: Line styles cycled over the curves, so curves that overlap in part stay apart.
_DASHES = ["-", "--", "-.", ":"]


def plot_distributions(result: SweepResult, *, value: str = "elapsed") -> Figure:
    """The ECDF (left) and a histogram (right) of ``value`` over seeds, one per point.

    Points whose values are identical are drawn once, labelled "a = b (identical)";
    the others differ in colour and line style. One legend, outside the plots, serves
    both.
    """
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    ecdf, hist = figure.subplots(1, 2)
    everything = result.values(value)
    bins: Any = 30
    if everything and everything[0] < everything[-1]:
        step = (everything[-1] - everything[0]) / 30
        bins = [everything[0] + i * step for i in range(31)]
    groups = _identical_groups(result, value)
    for index, (points, values) in enumerate(groups):
        label = _group_label(points) if index < _LEGEND_LIMIT else None
        colour = f"C{index % 10}"
        style = _DASHES[index % len(_DASHES)]
        width = 1.2 + 1.6 * (len(groups) - 1 - index) / max(1, len(groups) - 1)
        n = len(values)
        ecdf.step(
            values,
            [(i + 1) / n for i in range(n)],
            style,
            where="post",
            color=colour,
            linewidth=width,
            label=label,
        )
        hist.hist(
            values, bins=bins, histtype="step", color=colour, linestyle=style, linewidth=width
        )
    ecdf.set_xlabel(_label(value))
    ecdf.set_ylabel("fraction of runs <= x")
    ecdf.set_title(f"ECDF of {value} per point")
    hist.set_xlabel(_label(value))
    hist.set_ylabel("runs")
    hist.set_title(f"histogram of {value} per point")
    for ax in (ecdf, hist):
        ax.grid(True, alpha=0.3)
    if ecdf.get_legend_handles_labels()[0]:
        _outside_legend(figure, *ecdf.get_legend_handles_labels(), more=len(groups))
    return figure


def _outside_legend(figure: Figure, handles: list[Any], labels: list[str], *, more: int) -> None:
    """One legend outside the plots (never over the data): right of them, or below when
    its labels are long; capped at a dozen entries."""
    title = f"first {_LEGEND_LIMIT} of {more}" if more > _LEGEND_LIMIT else None
    labels = labels[:_LEGEND_LIMIT]
    wide = max(len(label) for label in labels) > 24  # long labels go below, not beside
    figure.legend(
        handles[:_LEGEND_LIMIT],
        labels,
        loc="outside lower center" if wide else "outside right upper",
        ncols=min(2, len(labels)) if wide else 1,
        fontsize="small",
        title=title,
    )


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _slug(record: SweepRecord) -> str:
    text = "-".join(f"{k}{v}" for k, v in record.point.items()) + f"-seed{record.seed}"
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)[:80]


def _timelines(
    result: SweepResult, folder: Path, count: int
) -> tuple[list[tuple[str, SweepRecord, str | None]], str | None]:
    """Replay the slowest and fastest runs with reports; (role, record, link) and a note."""
    slowest, fastest = result.extremes(count)
    chosen = [("slowest", r) for r in slowest] + [("fastest", r) for r in fastest]
    if count == 0 or not chosen:
        return [], None
    note = None
    if result.fn is None:
        note = "Timeline reports need the swept function (load_sweep(path, fn=...))."
    rows: list[tuple[str, SweepRecord, str | None]] = []
    done: dict[tuple[str, str], str] = {}
    for role, record in chosen:
        link = None
        if note is None:
            if record.key not in done:
                target = folder / "runs" / f"{role}-{_slug(record)}"
                replay = result.replay(record, report_dir=target)
                index = replay.report if replay.report is not None else target
                if index.is_dir():
                    index = index / "index.html"
                done[record.key] = os.path.relpath(index, folder)
            link = done[record.key]
        rows.append((role, record, link))
    return rows, note


def sweep_title(result: SweepResult) -> str:
    """``"Sweep of fetch() in app.py"``: the swept function and the file defining it."""
    fn = result.fn
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return "Sweep"
    code = getattr(fn, "__code__", None)
    where = f" in {os.path.basename(code.co_filename)}" if code is not None else ""
    return f"Sweep of {name}(){where}"


def write_sweep_report(
    result: SweepResult,
    folder: str | os.PathLike[str],
    *,
    x: str | None = None,
    timelines: int = 1,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``folder/index.html``: summary table, plots, errors, slowest/fastest runs.

    Parameters
    ----------
    result : SweepResult
        The sweep (with ``fn`` set, to replay runs for their timeline reports).
    folder : path
        Created if needed; an existing ``index.html`` there is an error unless
        ``overwrite``.
    x : str, optional
        Parameter for the x axis of the percentile curves (default: the first varying).
    timelines : int
        How many slowest and how many fastest runs to replay with full timeline reports
        (in ``folder/runs/``), when the tracer is available.
    title : str, optional
        Page title (default: :func:`sweep_title`, the function and its file).

    Returns
    -------
    Path
        The ``index.html`` written.
    """
    check_int("timelines", timelines, minimum=0)
    folder = Path(folder)
    index = folder / "index.html"
    if index.exists() and not overwrite:
        raise FileExistsError(f"{os.fspath(index)!r} already exists: pass overwrite=True")
    folder.mkdir(parents=True, exist_ok=True)
    name = title or sweep_title(result)
    summary = result.summary()
    if result.wall is not None:
        wall = (
            f"{result.wall:.3g} s wall time elapsed ({result.worker_wall:.3g} s summed over "
            "the runs, which overlap when workers run in parallel)"
        )
    else:
        wall = f"{result.worker_wall:.3g} s wall time summed over the runs"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(name)}"
        f" - asyncsim sweep</title><style>{SWEEP_CSS}</style></head><body>",
        f"<h1>{escape(name)}</h1>",
        f"<p>{len(result):,} runs over {len(result.points()):,} parameter points, "
        f"{len(result.errors):,} errors; {wall}. Elapsed times are virtual seconds; "
        f"percentiles are nearest-rank over the runs that finished without error.</p>",
        "<h2>Summary</h2>",
    ]
    rows = []
    for row in summary.rows:
        for column, stats in row["stats"].items():
            rows.append(
                [
                    escape(_point_text(row["point"])),
                    str(row["runs"]),
                    str(row["errors"]),
                    escape(column),
                ]
                + [f"{stats[k]:.6g}" for k in ("p50", "p90", "p99", "max")]
            )
        if not row["stats"]:
            rows.append(
                [
                    escape(_point_text(row["point"])),
                    str(row["runs"]),
                    str(row["errors"]),
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                ]
            )
    parts.append(
        markup_table(["point", "runs", "errors", "value", "p50", "p90", "p99", "max"], rows)
    )
    if result.values("elapsed"):
        parts.append("<h2>Plots</h2>")
        for value in ["elapsed", *result.metric_names()]:
            for figure in (
                plot_percentiles(result, x=x, value=value),
                plot_distributions(result, value=value),
            ):
                parts.append(
                    f"<img alt='{escape(value)}' src='data:image/png;base64,{_png(figure)}'>"
                )
    runs, note = _timelines(result, folder, timelines)
    if runs or note:
        parts.append("<h2>Slowest and fastest runs</h2>")
        if note:
            parts.append(f"<p class='note'>{escape(note)}</p>")
        parts.append(
            markup_table(
                ["run", "point", "seed", "elapsed (virtual s)", "timeline"],
                [
                    [
                        role,
                        escape(_point_text(r.point)),
                        escape(r.seed),
                        f"{r.elapsed:.6g}",
                        f"<a href='{href(link)}'>report</a>" if link else "-",
                    ]
                    for role, r, link in runs
                ],
            )
        )
    if result.errors:
        parts.append(f"<h2>Errors ({len(result.errors)})</h2>")
        for record in result.errors[:20]:
            parts.append(
                f"<details><summary>{escape(record.label())}: "
                f"{escape(record.error_type)}: {escape(record.error_message)}"
                f"</summary><pre>{escape(record.traceback or '')}</pre></details>"
            )
        if len(result.errors) > 20:
            parts.append(f"<p>... and {len(result.errors) - 20} more in the results file.</p>")
    parts.append("</body></html>\n")
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
