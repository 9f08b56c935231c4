"""A Gantt-style timeline of a trace, drawn with matplotlib (Agg backend, no display).

One row per task (creation order, children under their parents), coloured by
state; arrows for spawn and wake edges; the critical path as a thick black line;
user marks as dotted lines and spans on a row of their own under their task; the
delays a schedule injected hatched in red on the bars they made longer; below the
tasks, the lanes that models recorded (HTTP requests, connections, service
busy/queue: :mod:`asyncsim.report.gantt_lanes`). Waits are labelled with what they
waited on and why they ended (:mod:`asyncsim.trace.explain`) when the text fits in
the bar; labels that do not fit are left out (:mod:`asyncsim.report.labels`).
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
from asyncsim.report.labels import LabelPlacer
from asyncsim.report.timeline import STATES, row_order, state_counts, task_intervals
from asyncsim.trace.explain import waits
from asyncsim.trace.records import Trace
from asyncsim.trace.text import numbers_line, shorten

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
_DELAY = "#d62728"
_SPAN = "#6b6b6b"
_ROW_LABEL = 46  # characters of a row name before it is shortened


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
    span_row_of: dict[int | None, int] = {}
    with_spans = {span.task for span in trace.spans}
    if grouped:
        groups: dict[str, list[int]] = {}
        for tid in order:
            groups.setdefault(trace.tasks[tid].coroutine, []).append(tid)
        labels = [shorten(f"{name}  ×{len(ids)}", _ROW_LABEL) for name, ids in groups.items()]
        row_of = {tid: i for i, ids in enumerate(groups.values()) for tid in ids}
        if trace.spans:
            span_row_of = {task: len(labels) for task in with_spans}
            labels.append("spans")
    else:
        labels, row_of = [], {}
        if None in with_spans:
            span_row_of[None] = len(labels)
            labels.append("spans (outside tasks)")
        for t in order:
            row_of[t] = len(labels)
            labels.append(
                shorten(f"{trace.tasks[t].name}  {_coroutine_label(trace, t)}", _ROW_LABEL)
            )
            if t in with_spans:
                span_row_of[t] = len(labels)
                labels.append("  ↳ spans")
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
    span_end = max(trace.end_ns, trace.start_ns + 1)
    x0, x1 = _s(trace.start_ns), _s(span_end)
    pad = (x1 - x0) * 0.01
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(nrows - 0.5, -0.5)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("virtual time (s)")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    placer = LabelPlacer()
    if grouped:
        _draw_grouped(ax, intervals, groups)
    else:
        _draw_rows(ax, intervals, row_of, x1 - x0)
        _draw_arrows(ax, trace, row_of)
        _draw_outcomes(ax, trace, row_of, placer)
        _draw_wait_labels(ax, trace, row_of, placer)
    _draw_delays(ax, trace, row_of)
    _draw_spans(ax, trace, span_row_of, placer)
    _draw_critical_path(ax, trace, row_of)
    _draw_marks(ax, trace, placer)
    _legend(fig, ax, grouped, delays=bool(trace.delays))
    if lane_ax is not None:
        _draw_lane_axes(ax, lane_ax, trace, lanes, span_end - trace.start_ns)
    head = title if title is not None else (trace.title or "asyncsim trace")
    status = "" if trace.error is None else f" (stopped: {trace.error.split(':')[0]})"
    fig.suptitle(
        shorten(
            f"{head}: {numbers_line(trace.elapsed, wall, trace.callbacks)}, "
            f"{len(trace.tasks):,} tasks{status}",
            150,
        ),
        fontsize=11,
    )
    placer.place(fig)
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


def _coroutine_label(trace: Trace, tid: int) -> str:
    """The coroutine's name; for a decorator's wrapper, the user function it runs."""
    row = trace.tasks[tid]
    if row.runs:
        return f"{row.runs}() via {row.coroutine.split('.')[0]}"
    return f"{row.coroutine}()"


def _draw_wait_labels(ax: Any, trace: Trace, row_of: dict[int, int], placer: LabelPlacer) -> None:
    """Each wait's text (what it waited on and why it ended) on its bar, if it fits."""
    for wait in waits(trace).values():
        if wait.task not in row_of or wait.end_ns <= wait.start_ns:
            continue
        y = row_of[wait.task]
        xa, xb = _s(wait.start_ns), _s(wait.end_ns)
        placer.add(
            ax,
            wait.labels(),
            (xa + xb) / 2,
            y,
            box=(xa, xb, y - 0.36, y + 0.36),
            ha="center",
            va="center",
            fontsize=7.5,
            color="#1a1a1a",
            zorder=6,
            gid="wait-label",
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
        )


def _draw_delays(ax: Any, trace: Trace, row_of: dict[int, int]) -> None:
    """What a schedule injected, hatched in red over the bars it made longer."""
    from matplotlib.collections import PolyCollection

    verts = []
    for delay in trace.delays:
        if delay.task is None or delay.task not in row_of or delay.late_ns <= 0:
            continue
        y = row_of[delay.task]
        xa, xb = _s(delay.start_ns), _s(delay.end_ns)
        verts.append([(xa, y - 0.36), (xb, y - 0.36), (xb, y + 0.36), (xa, y + 0.36)])
    if verts:
        ax.add_collection(
            PolyCollection(
                verts,
                facecolors="none",
                edgecolors=_DELAY,
                hatch="////",
                linewidths=1.2,
                gid="delay",
                zorder=5,
            )
        )


def _draw_spans(
    ax: Any, trace: Trace, span_row_of: dict[int | None, int], placer: LabelPlacer
) -> None:
    """``asyncsim.span`` blocks as bars on their own row under their task, labelled."""
    from matplotlib.collections import PolyCollection

    verts = []
    for span in trace.spans:
        y = span_row_of.get(span.task)
        if y is None:
            continue
        xa, xb = _s(span.start_ns), _s(span.end_ns)
        verts.append([(xa, y - 0.28), (xb, y - 0.28), (xb, y + 0.28), (xa, y + 0.28)])
        placer.add(
            ax,
            [span.label],
            (xa + xb) / 2,
            y,
            box=(xa, xb, y - 0.3, y + 0.3),
            ha="center",
            va="center",
            fontsize=7,
            color="white",
            zorder=6,
            gid="span-label",
        )
    if verts:
        ax.add_collection(
            PolyCollection(
                verts, facecolors=_SPAN, edgecolors="white", linewidths=0.6, alpha=0.85, gid="span"
            )
        )


def _draw_arrows(ax: Any, trace: Trace, row_of: dict[int, int]) -> None:
    from matplotlib.patches import FancyArrowPatch

    arrows: list[tuple[str, float, int, float, int]] = []
    for row in trace.tasks:
        if row.parent is not None and row.parent in row_of:
            arrows.append(
                (
                    "spawn",
                    _s(row.created_ns),
                    row_of[row.parent],
                    _s(row.created_ns),
                    row_of[row.id],
                )
            )
    steps = trace.steps
    for step in steps:
        if step.wake == "step" and step.waker is not None:
            waker = steps[step.waker]
            if waker.task != step.task:
                arrows.append(
                    (
                        "wake",
                        _s(waker.end_ns),
                        row_of[waker.task],
                        _s(step.start_ns),
                        row_of[step.task],
                    )
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


def _draw_outcomes(ax: Any, trace: Trace, row_of: dict[int, int], placer: LabelPlacer) -> None:
    for outcome, marker, colour in (("exception", "X", _FAILED), ("cancelled", "x", _CANCELLED)):
        rows = [r for r in trace.tasks if r.outcome == outcome and r.finished_ns is not None]
        if not rows:
            continue
        xs = [_s(r.finished_ns) for r in rows]  # type: ignore[arg-type]
        ys = [row_of[r.id] for r in rows]
        ax.scatter(xs, ys, marker=marker, s=60, color=colour, zorder=7, gid=outcome)
        xmin, xmax = ax.get_xlim()
        gap = (xmax - xmin) * 0.008
        for r, x, y in zip(rows, xs, ys, strict=True):
            text = r.detail.split(":")[0] if outcome == "exception" else "cancelled"
            # Beside the marker: on its right if there is room, else on its left.
            placer.add(
                ax,
                [text],
                x + gap,
                y - 0.05,
                box=(x + gap, xmax, y - 0.45, y + 0.45),
                alternative=(x - gap, "right", (xmin, x - gap, y - 0.45, y + 0.45)),
                ha="left",
                va="center",
                fontsize=7.5,
                color=colour,
                zorder=7,
                gid=f"{outcome}-label",
            )


def _draw_grouped(
    ax: Any, intervals: dict[int, list[tuple[str, int, int]]], groups: dict[str, list[int]]
) -> None:
    import numpy as np

    for y, ids in enumerate(groups.values()):
        edges, live = state_counts(intervals, ids)
        if not edges:
            continue
        xs = np.array(edges, dtype=np.int64) / TICKS_PER_SECOND
        bottom = np.full(len(edges), y - 0.4)
        for state, count in live.items():
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
        xa, xb = _s(seg.start_ns), _s(seg.end_ns)
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


def _draw_marks(ax: Any, trace: Trace, placer: LabelPlacer) -> None:
    ylow = ax.get_ylim()[0]  # the bottom row's edge (the y axis is inverted)
    for mark in trace.marks:
        x = _s(mark.time_ns)
        ax.axvline(x, color="#444444", linestyle=":", linewidth=1, gid="mark")
        placer.add(
            ax,
            [mark.label],
            x,
            ylow - 0.05,
            rotation=90,
            ha="left",
            va="bottom",
            fontsize=7,
            zorder=6,
            gid="mark-label",
        )


def _legend(fig: Any, ax: Any, grouped: bool, *, delays: bool = False) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=color, label=label) for label, color in STATES.values()]
    handles.append(Line2D([], [], color=_CRITICAL, linewidth=2.6, label="critical path"))
    if delays:
        handles.append(
            Patch(facecolor="none", edgecolor=_DELAY, hatch="////", label="late (the schedule)")
        )
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
