"""The interactive timeline of the HTML report: one ``<canvas>``, a little JavaScript, no network.

:func:`timeline_html` returns the markup that :mod:`asyncsim.report.page` puts in the
report: the trace's rows as compact JSON (:func:`timeline_data`), the script
``timeline.js`` and its style ``timeline.css`` (shipped beside this module), inlined,
so the page still opens offline from disk. The script draws on a canvas: zoom
(wheel, buttons, double-click) and pan (drag) on the time axis, hover for what a
bar is (task, coroutine, state, what it waited on, the user's file:line, the library
frame below it, duration, why it ended), click for the task's row of the task table,
the critical path highlighted, the models' lanes (requests, connections, a service's
busy and queue) under the tasks as in the static chart. Past ``max_rows`` tasks, rows
group by coroutine as in the static chart (:mod:`asyncsim.report.gantt`), each group
showing how many of its tasks are in each state; a click on a group opens its tasks'
own rows (only the rows on screen are drawn, so 10,000 tasks stay responsive).

Hand-written rather than a charting library: the page must open offline, so a
library would be inlined into every report (hundreds of kilobytes for one that
draws 100,000 bars on a canvas), and the drawing it needs (bars, a few lines, text
that fits) is a few hundred lines.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from asyncsim.report.gantt_lanes import lane_colour, lane_rows
from asyncsim.report.timeline import STATES, row_order, state_counts, task_intervals
from asyncsim.trace.critical_path import critical_path
from asyncsim.trace.explain import group_path, waits
from asyncsim.trace.records import Trace
from asyncsim.trace.text import exact_seconds

__all__ = ["timeline_data", "timeline_html"]

_STATE_CODES = {state: i for i, state in enumerate(STATES)}


class _Strings:
    """A table of the distinct strings of the page (rows refer to them by index)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            self.items.append(text)
        return index


def _group_counts(
    intervals: dict[int, list[tuple[str, int, int]]], ids: list[int], t0: int
) -> dict[str, Any]:
    """How many of a group's tasks are in each state over time (a step function)."""
    edges, live = state_counts(intervals, ids)
    counts = [live[state].tolist() if state in live else [] for state in STATES]
    return {"edges": [int(t - t0) for t in edges], "counts": counts}


def _lanes(trace: Trace, text: _Strings) -> list[dict[str, Any]]:
    """The lane rows of the static chart (:func:`~asyncsim.report.gantt_lanes.lane_rows`):
    bars as ``[start, end, label, colour, details]`` (strings by index), the other rows
    as step functions (``edges``, ``values``, drawn as heights, a share of ``scale``)."""
    t0, end = trace.start_ns, trace.end_ns
    kinds = {lane.name: lane.kind for lane in trace.lanes}
    capacity = {lane.name: lane.capacity for lane in trace.lanes}
    out: list[dict[str, Any]] = []
    for row in lane_rows(trace):
        entry: dict[str, Any] = {
            "label": text(row.label),
            "lane": text(row.lane),
            "first": row.first,
            "what": row.what,
        }
        if row.what == "bars":
            flat: list[int] = []
            for item in row.items:
                stop = item.end_ns if item.end_ns is not None else end
                details = ", ".join(f"{k}={v}" for k, v in item.attrs)
                flat += [
                    item.start_ns - t0,
                    stop - t0,
                    text(item.label),
                    text(lane_colour(kinds.get(row.lane, ""), item)),
                    text(details),
                ]
            entry["items"] = flat
        elif row.what == "count":
            changes: dict[int, int] = {}
            for item in row.items:
                stop = item.end_ns if item.end_ns is not None else end
                changes[item.start_ns] = changes.get(item.start_ns, 0) + 1
                changes[stop] = changes.get(stop, 0) - 1
            edges, values, open_now = [], [], 0
            for t in sorted(changes):
                open_now += changes[t]
                edges.append(t - t0)
                values.append(open_now)
            entry.update(edges=edges, values=values, scale=max(1, *values), unit="open")
        else:
            series = row.items
            key = "busy" if row.what == "busy" else "queue"
            values = [getattr(s, key) for s in series]
            scale = (capacity.get(row.lane) if key == "busy" else None) or max(values) or 1
            entry.update(
                edges=[s.time_ns - t0 for s in series],
                values=values,
                scale=scale,
                unit="busy" if key == "busy" else "queued",
            )
        out.append(entry)
    return out


def timeline_data(trace: Trace, *, max_rows: int = 60) -> dict[str, Any]:
    """The trace as the page's script reads it (times in ticks from the trace's start)."""
    t0 = trace.start_ns
    text = _Strings()
    intervals = task_intervals(trace)
    explained = waits(trace)
    tasks = []
    for row in trace.tasks:
        tasks.append(
            [
                text(row.name),
                text(f"{row.runs}() via {row.coroutine}" if row.runs else f"{row.coroutine}()"),
                -1 if row.parent is None else row.parent,
                row.created_ns - t0,
                -1 if row.finished_ns is None else row.finished_ns - t0,
                text(row.outcome),
                text(row.detail),
                text(row.site),
            ]
        )
    # Each task's bars: state, start, end and the wait that explains it (-1: none).
    wait_ids: dict[int, int] = {}
    wait_rows: list[list[int]] = []
    for step_id, wait in explained.items():
        wait_ids[step_id] = len(wait_rows)
        wait_rows.append(
            [
                text(wait.what),
                text(wait.where),
                text(wait.inner),
                text(wait.why),
                text(" | ".join(wait.labels())),
            ]
        )
    wait_of: dict[tuple[int, int], int] = {}
    for step_id, wait in explained.items():
        wait_of[(wait.task, wait.start_ns)] = wait_ids[step_id]
    step_of: dict[tuple[int, int], int] = {}
    for step in trace.steps:
        step_of.setdefault((step.task, step.start_ns), step.id)
    steps = [[text(step.wake), text(step.where), text(step.inner)] for step in trace.steps]
    bars: list[list[int]] = []
    for row in trace.tasks:
        flat: list[int] = []
        current_wait = -1
        for state, a, b in intervals[row.id]:
            if state == "running":
                ref = step_of.get((row.id, a), -1)
            else:
                current_wait = wait_of.get((row.id, a), current_wait)
                ref = current_wait
            flat += [_STATE_CODES[state], a - t0, b - t0, ref]
        bars.append(flat)
    order = row_order(trace)
    grouped = len(order) > max_rows
    groups = []
    if grouped:
        by_coroutine: dict[str, list[int]] = {}
        for tid in order:
            by_coroutine.setdefault(trace.tasks[tid].coroutine, []).append(tid)
        for name, ids in by_coroutine.items():
            groups.append(
                {"label": text(f"{name}()"), "tasks": ids, **_group_counts(intervals, ids, t0)}
            )
    path = critical_path(trace)
    path_groups = group_path(path)
    cp = []
    for number, group in enumerate(path_groups):
        label = text(group.text())
        for seg in path:
            if group.start_ns <= seg.start_ns and seg.end_ns <= group.end_ns:
                cp.append(
                    [
                        -1 if seg.task is None else seg.task,
                        seg.start_ns - t0,
                        seg.end_ns - t0,
                        label,
                        text(seg.where),
                        text(seg.inner),
                        number,
                    ]
                )
    return {
        "title": trace.title,
        "elapsed": exact_seconds(trace.end_ns - t0),
        "start": t0,
        "end": trace.end_ns - t0,
        "strings": text.items,
        "states": [[name, label, colour] for name, (label, colour) in STATES.items()],
        "tasks": tasks,
        "order": order,
        "bars": bars,
        "waits": wait_rows,
        "steps": steps,
        "groups": groups,
        "critical": cp,
        "marks": [[m.time_ns - t0, text(m.label)] for m in trace.marks],
        "lanes": _lanes(trace, text),
        "spans": [
            [-1 if s.task is None else s.task, s.start_ns - t0, s.end_ns - t0, text(s.label)]
            for s in trace.spans
        ],
        "delays": [
            [
                -1 if d.task is None else d.task,
                d.start_ns - t0,
                d.end_ns - t0,
                text(f"{d.kind} late {exact_seconds(d.late_ns)} s (schedule) at {d.where}"),
            ]
            for d in trace.delays
        ],
    }


def _asset(name: str) -> str:
    return resources.files("asyncsim.report").joinpath(name).read_text(encoding="utf-8")


def timeline_html(trace: Trace, *, max_rows: int = 60) -> str:
    """The interactive timeline's markup: a container, the data and the inlined script."""
    data = json.dumps(timeline_data(trace, max_rows=max_rows), separators=(",", ":"))
    # Inside <script>, "</" must not appear: JSON allows "<\\/" for it.
    data = data.replace("</", "<\\/")
    return (
        f"<style>{_asset('timeline.css')}</style>"
        '<div class="tl" id="timeline" tabindex="0">'
        '<div class="tl-bar"><button data-zoom="in" title="zoom in (wheel up)">+</button>'
        '<button data-zoom="out" title="zoom out (wheel down)">−</button>'
        '<button data-zoom="all" title="the whole run">whole run</button>'
        '<label><input type="checkbox" data-critical checked> critical path</label>'
        '<span class="tl-help">wheel: zoom · drag: pan · shift+wheel: scroll rows · '
        "hover: details · click: the task's row</span></div>"
        '<div class="tl-scroll"><canvas></canvas><div class="tl-spacer"></div></div>'
        '<div class="tl-tip" hidden></div><div class="tl-detail" hidden></div></div>'
        f'<script type="application/json" id="timeline-data">{data}</script>'
        f"<script>{_asset('timeline.js')}</script>"
    )
