"""The report of a traced run: a folder with a self-contained HTML page and the data beside it.

``report(trace, "reports/name")`` writes into that folder:

* ``index.html``: summary, the Gantt chart (embedded PNG), the critical path, a
  task table, and what went wrong when the run failed; opens from disk offline;
* ``timeline.png``: the same chart as a file (:mod:`asyncsim.report.gantt`);
* ``trace.json``: Chrome trace-event format (Perfetto, chrome://tracing), from
  :mod:`asyncsim.report.chrome`;
* ``graph.json``: the task graph as node-link JSON (:mod:`asyncsim.trace.graph`);
* ``asyncsim-trace.json``: the trace itself (``Trace.to_json``), from which
  ``asyncsim report`` rebuilds the report (:mod:`asyncsim.report.loader`).

Which folders it may write into is :mod:`asyncsim.report.folder`'s policy.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncsim._validate import refuse
from asyncsim.report._format import escape, page_head, seconds_text, table
from asyncsim.report.chrome import chrome_trace, wait_name
from asyncsim.report.folder import TRACE_FILE, prepare_folder
from asyncsim.report.lanes import lanes_html
from asyncsim.trace.critical_path import critical_path
from asyncsim.trace.graph import graph_to_json, task_graph
from asyncsim.trace.records import Trace

__all__ = ["report"]

_MAX_TASK_ROWS = 2000


def _html(
    trace: Trace, png: bytes, wall: float | None, links: Sequence[tuple[str, str]] = ()
) -> str:
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
        page_head(f"{title} · asyncsim report"),
        f"<h1>{escape(title)}</h1>",
        table([], summary, set()),
    ]
    if links:
        parts.append(
            "<p>See also: "
            + ", ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in links)
            + "</p>"
        )
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
                wait_name(trace, last[r.id]) if r.id in last else "not started",
            )
            for r in pending
        ]
        parts.append('<h2>What went wrong</h2><div class="err">')
        parts.append(f"<pre>{escape(trace.error)}</pre>")
        if rows:
            parts.append("<p>Tasks still pending:</p>")
            parts.append(table(["task", "coroutine", "suspended at", "waiting on"], rows, set()))
        parts.append("</div>")
    encoded = base64.b64encode(png).decode("ascii")
    parts.append("<h2>Timeline</h2>")
    parts.append(
        f'<img alt="Gantt timeline of {escape(title)}" src="data:image/png;base64,{encoded}">'
    )
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
            seconds_text(s.start),
            seconds_text(s.end),
            f"{s.duration:.9g}",
            f"{100 * (s.end - s.start) / total:.1f} %" if total else "",
        )
        for i, s in enumerate(path)
    ]
    parts.append(
        "<h2>Critical path</h2><p>The chain of waits that decided the elapsed time (the "
        f"durations add up to it):<br><b>{elapsed:.9g} s = {escape(story or 'nothing')}</b></p>"
    )
    parts.append(
        table(
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
            seconds_text(r.created),
            seconds_text(r.finished),
            r.outcome,
            r.detail,
            counts.get(r.id, 0),
            r.site,
        )
        for r in trace.tasks[:_MAX_TASK_ROWS]
    ]
    parts.append("<h2>Tasks</h2>")
    parts.append(
        table(
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
            ("mark", m.label, names[m.task] if m.task is not None else "", seconds_text(m.time), "")
            for m in trace.marks
        ]
        rows2 += [
            (
                "span",
                s.label,
                names[s.task] if s.task is not None else "",
                seconds_text(s.start),
                seconds_text(s.end),
            )
            for s in trace.spans
        ]
        rows2 += [
            (
                "loop blocked (time.sleep)",
                b.where,
                names[b.task] if b.task is not None else "",
                seconds_text(b.start),
                seconds_text(b.end),
            )
            for b in trace.blocks
        ]
        parts.append("<h2>Marks, spans and loop blocks</h2>")
        parts.append(table(["kind", "label", "task", "start (s)", "end (s)"], rows2, {3, 4}))
    parts.append(
        "<h2>Files</h2><ul>"
        '<li><a href="trace.json">trace.json</a>: Chrome trace-event format; open it in '
        "Perfetto (ui.perfetto.dev) or chrome://tracing</li>"
        '<li><a href="graph.json">graph.json</a>: the task graph (networkx node-link JSON)</li>'
        f'<li><a href="{TRACE_FILE}">{TRACE_FILE}</a>: the trace; '
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
    links: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write the report of ``trace`` into ``folder``; returns the path of index.html.

    ``wall`` is the run's wall-clock time in seconds (shown with the speed-up);
    ``links`` are ``(text, href)`` pairs shown under the summary (e.g. the what-if
    profile the run belongs to).
    Refuses (``FileExistsError``) to write into an existing non-empty folder that
    asyncsim did not create, unless ``force`` is true.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an asyncsim.Trace, got {type(trace).__name__}")
    if isinstance(folder, str) and not folder.strip():
        refuse("folder", "the name of a folder", folder, error=ValueError)
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
    (path / TRACE_FILE).write_text(trace.to_json(), encoding="utf-8")
    index = path / "index.html"
    index.write_text(_html(trace, png, wall, links), encoding="utf-8")
    return index
