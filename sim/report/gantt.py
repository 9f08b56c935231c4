"""A Gantt-style timeline of a trace, drawn with matplotlib (Agg backend, no display).

One row per task (creation order, children under their parents), coloured by
state; arrows for spawn and wake edges; the critical path as a thick black line;
user marks as dotted lines; below the tasks, the lanes that models recorded
(HTTP requests, connections, service busy/queue: :mod:`asyncsim.report.gantt_lanes`).
Past ``max_rows`` tasks, rows group by coroutine name and show, stacked, the
share of that group's tasks in each state, so 10,000 tasks still render
readably in a few seconds.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from asyncsim._validate import check_bool, check_int, refuse
from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.clock import to_seconds as _s
from asyncsim.report.folder import check_new_file
from asyncsim.report.gantt_lanes import LaneRow, draw_lanes, lane_legend_handles, lane_rows
from asyncsim.report.timeline import STATES, row_order, task_intervals
from asyncsim.trace.records import Trace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["gantt"]

_CRITICAL = "#111111"
_SPAWN = "#7f7f7f"
_WAKE = "#1f4e9c"
_MAX_ARROWS = 400
_FAILED = "#c00000"
_CANCELLED = "#555555"
_LANE_ROW = 0.2  # inches per lane row


def gantt(
    trace: Trace,
    path: str | os.PathLike[str] | None = None,
    *,
    wall: float | None = None,
    title: str | None = None,
    max_rows: int = 60,
    dpi: int = 110,
    force: bool = False,
) -> Figure:
    """Draw ``trace`` as a timeline; save it to ``path`` (.png or .svg) if given.

    Parameters
    ----------
    trace : Trace
        What to draw.
    path : str, optional
        File to write; the format follows the extension (``.png``, ``.svg``, ``.pdf``).
    wall : float, optional
        Wall-clock seconds of the run, shown in the title.
    title : str, optional
        Title prefix (default: the trace's title).
    max_rows : int
        Past this many tasks, rows group by coroutine name.
    dpi : int
        Resolution of a PNG.
    force : bool
        Overwrite ``path`` if it exists (otherwise ``FileExistsError``, before drawing).

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the x axis is virtual seconds.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an asyncsim.Trace, got {type(trace).__name__}")
    check_int("max_rows", max_rows, minimum=1)
    check_bool("force", force)
    if path is not None:
        name = os.fspath(path)
        if os.path.splitext(name)[1].lower() not in (".png", ".svg", ".pdf"):
            refuse("path", "a file name ending in .png, .svg or .pdf", name, error=ValueError)
        check_new_file(name, force=force)
    from matplotlib.figure import Figure

    intervals = task_intervals(trace)
    order = row_order(trace)
    grouped = len(order) > max_rows
    if grouped:
        groups: dict[str, list[int]] = {}
        for tid in order:
            groups.setdefault(trace.tasks[tid].coroutine, []).append(tid)
        labels = [f"{name}  ×{len(ids)}" for name, ids in groups.items()]
        row_of = {tid: i for i, ids in enumerate(groups.values()) for tid in ids}
    else:
        labels = [f"{trace.tasks[t].name}  {_coroutine_label(trace, t)}" for t in order]
        row_of = {tid: i for i, tid in enumerate(order)}
    nrows = max(1, len(labels))
    lanes = lane_rows(trace)
    height = 1.9 + 0.34 * nrows + (0.6 + _LANE_ROW * len(lanes) if lanes else 0.0)
    fig = Figure(figsize=(11.5, min(60.0, height)), dpi=dpi, layout="constrained")
    if lanes:
        ax, lane_ax = fig.subplots(
            2, 1, sharex=True, height_ratios=[0.34 * nrows + 0.3, _LANE_ROW * len(lanes) + 0.2]
        )
    else:
        ax, lane_ax = fig.add_subplot(), None
    span_end = max(trace.end, trace.start + 1)
    x0, x1 = _s(trace.start), _s(span_end)
    pad = (x1 - x0) * 0.01
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(nrows - 0.5, -0.5)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("virtual time (s)")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if grouped:
        _draw_grouped(ax, intervals, groups)
    else:
        _draw_rows(ax, intervals, row_of, x1 - x0)
        _draw_arrows(ax, trace, row_of)
        _draw_outcomes(ax, trace, row_of, labelled=nrows <= 30, right=x0 + 0.85 * (x1 - x0))
        if nrows <= 30:
            _draw_wait_labels(ax, trace, row_of, span_end - trace.start)
    _draw_critical_path(ax, trace, row_of)
    _draw_marks(ax, trace)
    _legend(fig, ax, grouped)
    if lane_ax is not None:
        _draw_lane_axes(ax, lane_ax, trace, lanes, span_end - trace.start)
    head = title if title is not None else (trace.title or "asyncsim trace")
    where = f" in {wall:.3f} s wall" if wall is not None else ""
    status = "" if trace.error is None else f" (stopped: {trace.error.split(':')[0]})"
    fig.suptitle(
        f"{head}: {trace.elapsed:.9g} s virtual{where}, {len(trace.tasks)} tasks, "
        f"{len(trace.steps)} steps{status}",
        fontsize=11,
    )
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig


def _draw_rows(
    ax: Any, intervals: dict[int, list[tuple[str, int, int]]], row_of: dict[int, int], width: float
) -> None:
    from matplotlib.collections import LineCollection, PolyCollection

    boxes: dict[str, list[Any]] = {state: [] for state in STATES}
    ticks: list[Any] = []
    for tid, rows in intervals.items():
        y = row_of[tid]
        for state, a, b in rows:
            if state == "running" and b - a <= 0:
                ticks.append([(_s(a), y - 0.36), (_s(a), y + 0.36)])
                continue
            if b <= a:
                continue
            xa, xb = _s(a), _s(b)
            h = 0.3 if state == "blocked" else 0.36
            boxes[state].append([(xa, y - h), (xb, y - h), (xb, y + h), (xa, y + h)])
    for state, verts in boxes.items():
        if verts:
            ax.add_collection(
                PolyCollection(verts, facecolors=STATES[state][1], edgecolors="none", gid=state)
            )
    if ticks:
        ax.add_collection(
            LineCollection(ticks, colors=STATES["running"][1], linewidths=2.2, gid="running")
        )


def _function(where: str) -> str:
    return where.split("() at ", 1)[0].rsplit(".", 1)[-1] if where else ""


def _coroutine_label(trace: Trace, tid: int) -> str:
    """The coroutine's name; for a decorator's wrapper, the user function it runs."""
    row = trace.tasks[tid]
    if row.runs:
        return f"{row.runs}() via {row.coroutine.split('.')[0]}"
    return f"{row.coroutine}()"


def _wait_text(step: Any, trace: Trace) -> str:
    func = _function(step.where)
    where = f" in {func}()" if func and step.blocked != "task" else ""
    if step.blocked == "sleep" and step.until is not None:
        return f"sleep {(step.until - step.end) / TICKS_PER_SECOND:.4g} s{where}"
    if step.blocked == "task" and step.target is not None:
        return f"await {trace.tasks[step.target].name}"
    if step.blocked in ("ready", "done"):
        return ""
    return f"{step.detail or step.blocked}{where}"


def _draw_wait_labels(ax: Any, trace: Trace, row_of: dict[int, int], width: int) -> None:
    following: dict[int, int] = {}
    ends: list[tuple[Any, int]] = []
    for step in reversed(trace.steps):
        ends.append((step, following.get(step.task, trace.end)))
        following[step.task] = step.start
    for step, end in ends:
        if step.task not in row_of or (end - step.end) * 9 < width:
            continue
        text = _wait_text(step, trace)
        if text:
            ax.text(
                _s(step.end + (end - step.end) // 2),
                row_of[step.task] - 0.1,
                text,
                ha="center",
                va="center",
                fontsize=7.5,
                color="#1a1a1a",
                clip_on=True,
                zorder=6,
            )


def _draw_arrows(ax: Any, trace: Trace, row_of: dict[int, int]) -> None:
    from matplotlib.patches import FancyArrowPatch

    arrows: list[tuple[str, float, int, float, int]] = []
    for row in trace.tasks:
        if row.parent is not None and row.parent in row_of:
            arrows.append(
                ("spawn", _s(row.created), row_of[row.parent], _s(row.created), row_of[row.id])
            )
    steps = trace.steps
    for step in steps:
        if step.wake == "step" and step.waker is not None:
            waker = steps[step.waker]
            if waker.task != step.task:
                arrows.append(
                    ("wake", _s(waker.end), row_of[waker.task], _s(step.start), row_of[step.task])
                )
    for kind, xa, ya, xb, yb in arrows[:_MAX_ARROWS]:
        if ya == yb:
            continue
        ax.add_patch(
            FancyArrowPatch(
                (xa, ya),
                (xb, yb),
                arrowstyle="-|>",
                mutation_scale=9,
                color=_SPAWN if kind == "spawn" else _WAKE,
                linestyle="--" if kind == "spawn" else "-",
                linewidth=0.9,
                shrinkA=2,
                shrinkB=5,
                gid=kind,
                zorder=4,
            )
        )


def _draw_outcomes(
    ax: Any, trace: Trace, row_of: dict[int, int], *, labelled: bool, right: float
) -> None:
    for outcome, marker, colour in (("exception", "X", _FAILED), ("cancelled", "x", _CANCELLED)):
        rows = [r for r in trace.tasks if r.outcome == outcome and r.finished is not None]
        if not rows:
            continue
        xs = [_s(r.finished) for r in rows]  # type: ignore[arg-type]
        ys = [row_of[r.id] for r in rows]
        ax.scatter(xs, ys, marker=marker, s=60, color=colour, zorder=7, gid=outcome)
        if labelled:
            for r, x, y in zip(rows, xs, ys, strict=True):
                text = r.detail.split(":")[0] if outcome == "exception" else "cancelled"
                late = x > right  # near the right edge: write it on the left of the marker
                ax.annotate(
                    text,
                    (x, y),
                    xytext=(-7 if late else 7, -9),
                    textcoords="offset points",
                    fontsize=7.5,
                    color=colour,
                    va="center",
                    ha="right" if late else "left",
                    zorder=7,
                )


def _draw_grouped(
    ax: Any, intervals: dict[int, list[tuple[str, int, int]]], groups: dict[str, list[int]]
) -> None:
    import numpy as np

    for y, ids in enumerate(groups.values()):
        per_state: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in STATES}
        for tid in ids:
            for state, a, b in intervals[tid]:
                if b > a:
                    per_state[state][0].append(a)
                    per_state[state][1].append(b)
        edges = sorted({t for starts, ends in per_state.values() for t in (*starts, *ends)})
        if not edges:
            continue
        grid = np.array(edges, dtype=np.int64)
        xs = grid / TICKS_PER_SECOND
        bottom = np.full(len(grid), y - 0.4)
        for state, (starts, ends) in per_state.items():
            if not starts:
                continue
            count = np.searchsorted(
                np.sort(np.array(starts)), grid, side="right"
            ) - np.searchsorted(np.sort(np.array(ends)), grid, side="right")
            top = bottom + 0.8 * count / len(ids)
            ax.fill_between(
                xs, bottom, top, step="post", color=STATES[state][1], linewidth=0, gid=state
            )
            bottom = top


def _draw_critical_path(ax: Any, trace: Trace, row_of: dict[int, int]) -> None:
    from matplotlib.collections import LineCollection

    lines: list[Any] = []
    prev: tuple[float, float] | None = None
    for seg in trace.critical_path():
        if seg.task is None or seg.task not in row_of:
            continue
        y = row_of[seg.task] + 0.2
        xa, xb = _s(seg.start), _s(seg.end)
        if prev is not None and prev[1] != y:
            lines.append([(prev[0], prev[1]), (xa, y)])
        lines.append([(xa, y), (xb, y)])
        prev = (xb, y)
    if lines:
        ax.add_collection(
            LineCollection(
                lines,
                colors=_CRITICAL,
                linewidths=2.6,
                label="critical path",
                gid="critical-path",
                zorder=5,
            )
        )


def _draw_marks(ax: Any, trace: Trace) -> None:
    for mark in trace.marks:
        x = _s(mark.time)
        ax.axvline(x, color="#444444", linestyle=":", linewidth=1, gid="mark")
        ax.annotate(
            mark.label,
            (x, 0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=7,
            rotation=90,
            va="bottom",
        )
    for span in trace.spans:
        ax.axvspan(_s(span.start), _s(span.end), color="#000000", alpha=0.05, gid="span")


def _legend(fig: Any, ax: Any, grouped: bool) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=color, label=label) for label, color in STATES.values()]
    handles.append(Line2D([], [], color=_CRITICAL, linewidth=2.6, label="critical path"))
    if not grouped:
        handles.append(Line2D([], [], color=_SPAWN, linestyle="--", marker=">", label="spawn"))
        handles.append(Line2D([], [], color=_WAKE, marker=">", label="wake"))
        handles.append(
            Line2D([], [], color=_FAILED, marker="X", linestyle="", label="raised an exception")
        )
        handles.append(
            Line2D([], [], color=_CANCELLED, marker="x", linestyle="", label="cancelled")
        )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False
    )


def _draw_lane_axes(ax: Any, lane_ax: Any, trace: Trace, rows: list[LaneRow], width: int) -> None:
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelbottom=True)
    lane_ax.set_ylim(len(rows) - 0.5, -0.5)
    lane_ax.set_yticks(range(len(rows)), [row.label for row in rows], fontsize=8)
    lane_ax.tick_params(axis="y", length=0)
    lane_ax.set_xlabel("virtual time (s)")
    lane_ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    lane_ax.set_axisbelow(True)
    lane_ax.set_title("lanes: what the models did", fontsize=9, loc="left")
    draw_lanes(lane_ax, trace, rows, width)
    handles = lane_legend_handles(trace, rows)
    if handles:
        lane_ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=8,
            frameon=False,
        )
