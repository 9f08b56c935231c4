"""Reports: a self-contained HTML page, a Chrome/Perfetto trace and the graph as JSON.

``report(trace, "reports/name")`` writes into that folder:

* ``index.html``: summary, the Gantt chart (embedded PNG), the critical path, a
  task table, and what went wrong when the run failed; opens from disk offline;
* ``timeline.png``: the same chart as a file;
* ``trace.json``: Chrome trace-event format (Perfetto, chrome://tracing): one
  track per task, complete events for steps and waits, flow events for wakes,
  microsecond timestamps; the lanes models recorded (:mod:`asyncsim.lanes`) as process 2;
* ``graph.json``: the task graph as node-link JSON;
* ``asyncsim-trace.json``: the trace itself (``Trace.to_json``), from which
  ``asyncsim report`` rebuilds the report.

A folder asyncsim creates holds a small marker file; asyncsim refuses to write
into an existing non-empty folder without it unless ``force=True``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.report.lanes import lane_events, lanes_html
from asyncsim.trace.critical_path import critical_path
from asyncsim.trace.graph import graph_to_json, task_graph
from asyncsim.trace.records import Trace

__all__ = [
    "MARKER",
    "DemoEntry",
    "chrome_trace",
    "load_trace",
    "prepare_folder",
    "report",
    "write_demo_index",
]

#: File that marks a folder as written by asyncsim (so it may be overwritten).
MARKER = ".asyncsim-report"
_TRACE_FILE = "asyncsim-trace.json"
_MAX_TASK_ROWS = 2000


def _us(ticks: int) -> float:
    return ticks / 1000


def _sec(ticks: int | None) -> str:
    return "" if ticks is None else f"{ticks / TICKS_PER_SECOND:.9g}"


def prepare_folder(folder: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create ``folder`` for a report, or check that asyncsim may write into it.

    Raises ``FileExistsError`` when ``folder`` exists, is not empty and was not
    created by asyncsim (no marker file), unless ``force`` is true.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"report folder {str(path)!r} exists and is not a folder")
    ours = (path / MARKER).exists()
    empty = not path.exists() or not any(path.iterdir())
    if not (ours or empty or force):
        raise FileExistsError(
            f"report folder {str(path)!r} is not empty and was not created by asyncsim; "
            "choose a new folder, or pass force=True (--force) to write into it"
        )
    path.mkdir(parents=True, exist_ok=True)
    if ours or empty:
        (path / MARKER).write_text(
            "This folder was written by asyncsim, which may overwrite it.\n", encoding="utf-8"
        )
    return path


# -- Chrome trace events -----------------------------------------------------------


def _wait_name(trace: Trace, step: Any) -> str:
    if step.blocked == "sleep" and step.until is not None:
        return f"sleep {(step.until - step.end) / TICKS_PER_SECOND:.9g} s"
    if step.blocked == "task" and step.target is not None:
        return f"await {trace.tasks[step.target].name}"
    return step.detail or step.blocked


def chrome_trace(trace: Trace) -> dict[str, Any]:
    """``trace`` in Chrome trace-event format (a JSON object with ``traceEvents``).

    Process 1 is the simulation; thread 0 is the event loop (loop blocks, marks,
    spans); thread ``id + 1`` is task ``id``. Timestamps are microseconds of
    virtual time. A wake is a flow from the waking step to the woken one; its
    start and finish share the ``cat``, ``tid`` and ``ts`` of those two step
    events, which is how Chrome and Perfetto bind flows to slices.
    """
    events: list[dict[str, Any]] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"name": f"asyncsim: {trace.title or 'simulation'}"},
        },
        {
            "ph": "M",
            "name": "thread_name",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"name": "event loop"},
        },
        {
            "ph": "M",
            "name": "thread_sort_index",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"sort_index": 0},
        },
    ]
    for row in trace.tasks:
        events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": 1,
                "tid": row.id + 1,
                "ts": 0,
                "args": {"name": f"{row.name} {row.coroutine}()"},
            }
        )
        events.append(
            {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": 1,
                "tid": row.id + 1,
                "ts": 0,
                "args": {"sort_index": row.id + 1},
            }
        )
    following: dict[int, int] = {}
    nexts: dict[int, int] = {}
    for step in reversed(trace.steps):
        nexts[step.id] = following.get(step.task, trace.end)
        following[step.task] = step.start
    steps = trace.steps
    for step in steps:
        tid = step.task + 1
        events.append(
            {
                "ph": "X",
                "cat": "step",
                "name": trace.tasks[step.task].coroutine,
                "pid": 1,
                "tid": tid,
                "ts": _us(step.start),
                "dur": _us(step.end - step.start),
                "args": {
                    "step": step.id,
                    "woken by": step.wake,
                    "then": step.blocked,
                    "where": step.where,
                },
            }
        )
        end = nexts[step.id]
        if step.blocked != "done" and end > step.end:
            events.append(
                {
                    "ph": "X",
                    "cat": "wait",
                    "name": _wait_name(trace, step),
                    "pid": 1,
                    "tid": tid,
                    "ts": _us(step.end),
                    "dur": _us(end - step.end),
                    "args": {"blocked on": step.blocked, "where": step.where},
                }
            )
        if step.waker is not None and step.wake in ("step", "spawn", "timer"):
            waker = steps[step.waker]
            if waker.task != step.task:
                name = "spawn" if step.wake == "spawn" else "wake"
                events.append(
                    {
                        "ph": "s",
                        "cat": "step",
                        "name": name,
                        "id": step.id,
                        "pid": 1,
                        "tid": waker.task + 1,
                        "ts": _us(waker.start),
                    }
                )
                events.append(
                    {
                        "ph": "f",
                        "bp": "e",
                        "cat": "step",
                        "name": name,
                        "id": step.id,
                        "pid": 1,
                        "tid": tid,
                        "ts": _us(step.start),
                    }
                )
    for block in trace.blocks:
        events.append(
            {
                "ph": "X",
                "cat": "blocked",
                "name": "time.sleep (loop blocked)",
                "pid": 1,
                "tid": 0,
                "ts": _us(block.start),
                "dur": _us(block.end - block.start),
                "args": {"where": block.where},
            }
        )
    for mark in trace.marks:
        events.append(
            {
                "ph": "i",
                "s": "t",
                "cat": "mark",
                "name": mark.label,
                "pid": 1,
                "tid": 0 if mark.task is None else mark.task + 1,
                "ts": _us(mark.time),
            }
        )
    for i, span in enumerate(trace.spans):
        for ph, ts in (("b", span.start), ("e", span.end)):
            events.append(
                {
                    "ph": ph,
                    "cat": "span",
                    "name": span.label,
                    "id": i,
                    "pid": 1,
                    "tid": 0 if span.task is None else span.task + 1,
                    "ts": _us(ts),
                }
            )
    events.extend(lane_events(trace))
    return {"traceEvents": events, "displayTimeUnit": "ms"}


# -- HTML ----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #ddd}
.err{background:#fdecea;border:1px solid #d62728;padding:.6em 1em}
pre{white-space:pre-wrap}code{font-size:12px}.muted{color:#777}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    head = f"<tr>{head}</tr>" if headers else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _html(trace: Trace, png: bytes, wall: float | None) -> str:
    title = trace.title or "asyncsim run"
    elapsed = trace.elapsed
    speed = (f"{elapsed / wall:,.0f}×" if wall else "n/a") if wall is not None else "n/a"
    summary = [
        ("virtual time elapsed", f"{elapsed:.9g} s"),
        ("wall time", f"{wall:.4f} s" if wall is not None else "n/a (rebuilt from a saved trace)"),
        ("speed-up", speed),
        ("tasks", len(trace.tasks)),
        ("steps", len(trace.steps)),
        ("event loops", len(trace.mains)),
        ("outcome", "ok" if trace.error is None else "failed"),
    ]
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)} · asyncsim report</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _table([], summary, set()),
    ]
    if trace.error is not None:
        pending = [r for r in trace.tasks if r.outcome == "pending"]
        last: dict[int, Any] = {}
        for step in trace.steps:
            last[step.task] = step
        rows = [
            (
                r.name,
                r.coroutine,
                last[r.id].where if r.id in last else "",
                _wait_name(trace, last[r.id]) if r.id in last else "not started",
            )
            for r in pending
        ]
        parts.append('<h2>What went wrong</h2><div class="err">')
        parts.append(f"<pre>{_e(trace.error)}</pre>")
        if rows:
            parts.append("<p>Tasks still pending:</p>")
            parts.append(_table(["task", "coroutine", "suspended at", "waiting on"], rows, set()))
        parts.append("</div>")
    encoded = base64.b64encode(png).decode("ascii")
    parts.append("<h2>Timeline</h2>")
    parts.append(f'<img alt="Gantt timeline of {_e(title)}" src="data:image/png;base64,{encoded}">')
    path = critical_path(trace)
    total = trace.end - trace.start
    names = [r.name for r in trace.tasks]
    labels = [f"{r.name} {r.coroutine}()" for r in trace.tasks]
    story = " + ".join(
        f"{s.kind} {s.duration:.9g} s"
        + (f" in {s.where.split('() at ')[0]}()" if s.where else "")
        + (f" ({s.name})" if s.name else "")
        for s in path
    )
    cp_rows = [
        (
            i + 1,
            labels[s.task] if s.task is not None else "",
            s.kind,
            s.where,
            _sec(s.start),
            _sec(s.end),
            f"{s.duration:.9g}",
            f"{100 * (s.end - s.start) / total:.1f} %" if total else "",
        )
        for i, s in enumerate(path)
    ]
    parts.append(
        "<h2>Critical path</h2><p>The chain of waits that decided the elapsed time (the "
        f"durations add up to it):<br><b>{elapsed:.9g} s = {_e(story or 'nothing')}</b></p>"
    )
    parts.append(
        _table(
            ["#", "task", "kind", "where", "start (s)", "end (s)", "duration (s)", "share"],
            cp_rows,
            {0, 4, 5, 6, 7},
        )
    )
    parts.append(lanes_html(trace))
    counts: dict[int, int] = {}
    for step in trace.steps:
        counts[step.task] = counts.get(step.task, 0) + 1
    task_rows = [
        (
            r.id,
            r.name,
            r.coroutine,
            names[r.parent] if r.parent is not None else "",
            _sec(r.created),
            _sec(r.finished),
            r.outcome,
            r.detail,
            counts.get(r.id, 0),
            r.site,
        )
        for r in trace.tasks[:_MAX_TASK_ROWS]
    ]
    parts.append("<h2>Tasks</h2>")
    parts.append(
        _table(
            [
                "id",
                "name",
                "coroutine",
                "parent",
                "created (s)",
                "finished (s)",
                "outcome",
                "detail",
                "steps",
                "created at",
            ],
            task_rows,
            {0, 4, 5, 8},
        )
    )
    if len(trace.tasks) > _MAX_TASK_ROWS:
        parts.append(
            f'<p class="muted">… and {len(trace.tasks) - _MAX_TASK_ROWS} more tasks '
            "(all of them are in trace.json and asyncsim-trace.json).</p>"
        )
    if trace.marks or trace.spans or trace.blocks:
        rows2: list[tuple[object, ...]] = [
            ("mark", m.label, names[m.task] if m.task is not None else "", _sec(m.time), "")
            for m in trace.marks
        ]
        rows2 += [
            (
                "span",
                s.label,
                names[s.task] if s.task is not None else "",
                _sec(s.start),
                _sec(s.end),
            )
            for s in trace.spans
        ]
        rows2 += [
            (
                "loop blocked (time.sleep)",
                b.where,
                names[b.task] if b.task is not None else "",
                _sec(b.start),
                _sec(b.end),
            )
            for b in trace.blocks
        ]
        parts.append("<h2>Marks, spans and loop blocks</h2>")
        parts.append(_table(["kind", "label", "task", "start (s)", "end (s)"], rows2, {3, 4}))
    parts.append(
        "<h2>Files</h2><ul>"
        '<li><a href="trace.json">trace.json</a>: Chrome trace-event format; open it in '
        "Perfetto (ui.perfetto.dev) or chrome://tracing</li>"
        '<li><a href="graph.json">graph.json</a>: the task graph (networkx node-link JSON)</li>'
        f'<li><a href="{_TRACE_FILE}">{_TRACE_FILE}</a>: the trace; '
        "<code>asyncsim report</code> rebuilds this page from it</li>"
        '<li><a href="timeline.png">timeline.png</a>: the chart above</li></ul>'
        "</body></html>\n"
    )
    return "".join(parts)


def report(
    trace: Trace,
    folder: str | os.PathLike[str],
    *,
    wall: float | None = None,
    force: bool = False,
) -> Path:
    """Write the report of ``trace`` into ``folder``; returns the path of index.html.

    ``wall`` is the run's wall-clock time in seconds (shown with the speed-up).
    Refuses (``FileExistsError``) to write into an existing non-empty folder that
    asyncsim did not create, unless ``force`` is true.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an asyncsim.Trace, got {type(trace).__name__}")
    if isinstance(folder, str) and not folder.strip():
        raise ValueError(f"folder must name a folder, got {folder!r}")
    from asyncsim.report.gantt import gantt

    path = prepare_folder(folder, force=force)
    figure = gantt(trace, wall=wall)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    (path / "timeline.png").write_bytes(png)
    (path / "trace.json").write_text(
        json.dumps(chrome_trace(trace), separators=(",", ":")), encoding="utf-8"
    )
    (path / "graph.json").write_text(graph_to_json(task_graph(trace)), encoding="utf-8")
    (path / _TRACE_FILE).write_text(trace.to_json(), encoding="utf-8")
    index = path / "index.html"
    index.write_text(_html(trace, png, wall), encoding="utf-8")
    return index


def load_trace(source: str | os.PathLike[str]) -> Trace:
    """Read a trace saved with ``Trace.to_json`` (a file, or a report folder holding one)."""
    path = Path(source)
    if path.is_dir():
        path = path / _TRACE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"trace file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"trace file {str(path)!r} is not JSON: {exc}") from None
    if isinstance(data, dict) and "traceEvents" in data:
        raise ValueError(
            f"{str(path)!r} is a Chrome trace-event file (for Perfetto); pass the "
            f"{_TRACE_FILE} beside it, or a file written by Trace.to_json()"
        )
    return Trace.from_dict(data)


@dataclass(frozen=True)
class DemoEntry:
    """One program of ``asyncsim demo``: its folder name, summary line and status."""

    name: str
    summary: str
    ok: bool


def write_demo_index(root: str | os.PathLike[str], entries: Sequence[DemoEntry]) -> Path:
    """Write ``root/index.html`` linking each entry's report folder; returns its path."""
    items = "".join(
        f'<li><a href="{_e(e.name)}/index.html">{_e(e.name)}</a> '
        f'<span class="{"" if e.ok else "err"}">{_e(e.summary)}</span><br>'
        f'<a href="{_e(e.name)}/index.html"><img alt="timeline of {_e(e.name)}" '
        f'src="{_e(e.name)}/timeline.png" style="max-width:560px"></a></li>'
        for e in entries
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>asyncsim demo</title><style>{_CSS}</style></head><body>"
        "<h1>asyncsim demo: the classic asyncio programs on virtual time</h1>"
        f"<ul>{items}</ul></body></html>\n"
    )
    index = Path(root) / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
