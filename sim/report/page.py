"""The report of a traced run: a folder with a self-contained HTML page and the data beside it.

``report(trace, "reports/name")`` writes into that folder:

* ``index.html``: summary, the interactive timeline (:mod:`asyncsim.report.interactive`),
  the critical path, a task table, and what went wrong when the run failed (the
  exception chain and where each was raised); opens from disk offline;
* ``timeline.png``: the same chart as a file (:mod:`asyncsim.report.gantt`);
* ``trace.json``: Chrome trace-event format (Perfetto, chrome://tracing), from
  :mod:`asyncsim.report.chrome`;
* ``graph.json``: the task graph as node-link JSON (:mod:`asyncsim.trace.graph`);
* ``asyncsim-trace.json``: the trace itself (``Trace.to_json``), from which
  ``asyncsim report`` rebuilds the report (:mod:`asyncsim.report.loader`).

Which folders it may write into is :mod:`asyncsim.report.folder`'s policy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from asyncsim._validate import refuse
from asyncsim.report._format import escape, page_head, seconds_text, table
from asyncsim.report.chrome import chrome_trace, wait_name
from asyncsim.report.folder import TRACE_FILE, prepare_folder
from asyncsim.report.interactive import timeline_html
from asyncsim.report.lanes import lanes_html
from asyncsim.trace.critical_path import critical_path
from asyncsim.trace.explain import group_path, path_story
from asyncsim.trace.graph import graph_to_json, task_graph
from asyncsim.trace.records import ExceptionRow, StepRow, Trace
from asyncsim.trace.text import exact_seconds, numbers_line, speedup_text, wall_text
from asyncsim.trace.text import seconds_text as seconds_text_4

__all__ = ["report"]

_MAX_TASK_ROWS = 2000


def _summary(trace: Trace, wall: float | None) -> str:
    elapsed = trace.elapsed
    rows = [
        ("virtual time", f"{exact_seconds(trace.end_ns - trace.start_ns)} s"),
        (
            "wall time",
            wall_text(wall) if wall is not None else "n/a (rebuilt from a saved trace)",
        ),
        ("speed-up", (speedup_text(elapsed, wall) or "n/a") if wall is not None else "n/a"),
        ("steps (callbacks run)", f"{trace.callbacks:,}"),
        ("task steps", f"{len(trace.steps):,}"),
        ("tasks", f"{len(trace.tasks):,}"),
        ("event loops", len(trace.mains)),
        ("outcome", "ok" if trace.error is None else "failed"),
    ]
    return table([], rows, set())


def _chain_html(rows: list[ExceptionRow]) -> str:
    """An exception chain as Python prints it: the first cause first."""
    parts = []
    for row in sorted(rows, key=lambda r: -r.depth):
        where = f" <span class='muted'>raised at</span> <code>{escape(row.where)}</code>"
        inner = f" <span class='muted'>(inside {escape(row.inner)})</span>" if row.inner else ""
        parts.append(f"<div><b>{escape(row.text)}</b>{where if row.where else ''}{inner}</div>")
        if row.depth > 0:
            link = (
                "The above exception was the direct cause of the following exception:"
                if row.link == "cause"
                else "During handling of the above exception, another exception occurred:"
            )
            parts.append(f"<div class='muted'>{link}</div>")
    return "".join(parts)


def _failures(trace: Trace) -> str:
    chains: dict[int | None, list[ExceptionRow]] = {}
    for row in trace.exceptions:
        chains.setdefault(row.task, []).append(row)
    if trace.error is None and not chains:
        return ""
    parts = []
    if trace.error is not None:
        parts.append('<h2>What went wrong</h2><div class="err">')
        run_chain = chains.get(None)
        parts.append(_chain_html(run_chain) if run_chain else f"<pre>{escape(trace.error)}</pre>")
        if run_chain and "\n" in trace.error:
            parts.append(f"<pre>{escape(trace.error)}</pre>")
        pending = [r for r in trace.tasks if r.outcome == "pending"]
        last: dict[int, StepRow] = {}
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
        if rows:
            parts.append("<p>Tasks still pending:</p>")
            parts.append(table(["task", "coroutine", "suspended at", "waiting on"], rows, set()))
        parts.append("</div>")
    failed = [task for task in chains if task is not None]
    if failed:
        parts.append("<h2>Tasks that raised</h2>")
        for task in failed[:50]:
            who = trace.tasks[task]
            parts.append(
                f'<div class="err"><a href="#task-{task}">{escape(who.name)}</a> '
                f"{escape(who.coroutine)}(): {_chain_html(chains[task])}</div>"
            )
    return "".join(parts)


def _critical_path_html(trace: Trace) -> str:
    path = critical_path(trace)
    total = trace.end_ns - trace.start_ns
    groups = group_path(path)
    rows = [
        (
            i + 1,
            g.repeats,
            g.kind,
            f"{g.name} {trace.tasks[g.task].coroutine}()" if g.task is not None else "",
            g.where,
            g.inner,
            seconds_text(g.start_ns),
            f"{seconds_text_4(g.each_ns / 1e9)}" if g.each_ns is not None else "",
            exact_seconds(g.total_ns),
            f"{100 * g.total_ns / total:.1f} %" if total else "",
        )
        for i, g in enumerate(groups)
    ]
    return (
        "<h2>Critical path</h2><p>The chain of waits that decided the elapsed time; the "
        "terms add up to it (each rounded to 4 significant digits, the total exact):<br>"
        f"<b>{escape(path_story(trace, path))}</b></p>"
        + table(
            [
                "#",
                "×",
                "kind",
                "task",
                "where (your code)",
                "inside (library)",
                "from (s)",
                "each (s)",
                "total (s)",
                "share",
            ],
            rows,
            {0, 1, 6, 7, 8, 9},
        )
    )


def _task_table(trace: Trace) -> str:
    names = [r.name for r in trace.tasks]
    counts: dict[int, int] = {}
    for step in trace.steps:
        counts[step.task] = counts.get(step.task, 0) + 1
    raised = {e.task: e.where for e in trace.exceptions if e.task is not None and e.depth == 0}
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in (
            "id",
            "name",
            "coroutine",
            "parent",
            "created (s)",
            "finished (s)",
            "outcome",
            "result / exception",
            "steps",
            "created at",
        )
    )
    body = []
    for r in trace.tasks[:_MAX_TASK_ROWS]:
        detail = r.detail + (f" (raised at {raised[r.id]})" if r.id in raised else "")
        cells = [
            str(r.id),
            r.name,
            r.coroutine,
            names[r.parent] if r.parent is not None else "",
            seconds_text(r.created_ns),
            seconds_text(r.finished_ns),
            r.outcome,
            detail,
            str(counts.get(r.id, 0)),
            r.site,
        ]
        tds = "".join(
            f'<td class="n">{escape(c)}</td>' if i in (0, 4, 5, 8) else f"<td>{escape(c)}</td>"
            for i, c in enumerate(cells)
        )
        body.append(f'<tr id="task-{r.id}">{tds}</tr>')
    rows = "".join(body)
    out = (
        f'<h2>Tasks</h2><table id="tasks"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    if len(trace.tasks) > _MAX_TASK_ROWS:
        out += (
            f'<p class="muted">… and {len(trace.tasks) - _MAX_TASK_ROWS:,} more tasks '
            "(all of them are in trace.json and asyncsim-trace.json).</p>"
        )
    return out


def _annotations(trace: Trace) -> str:
    names = [r.name for r in trace.tasks]

    def who(task: int | None) -> str:
        return names[task] if task is not None else ""

    rows: list[tuple[object, ...]] = [
        ("mark", m.label, who(m.task), seconds_text(m.time_ns), "") for m in trace.marks
    ]
    rows += [
        ("span", s.label, who(s.task), seconds_text(s.start_ns), seconds_text(s.end_ns))
        for s in trace.spans
    ]
    rows += [
        (
            "loop blocked (time.sleep)",
            b.where,
            who(b.task),
            seconds_text(b.start_ns),
            seconds_text(b.end_ns),
        )
        for b in trace.blocks
    ]
    rows += [
        (
            f"{d.kind} late {exact_seconds(d.late_ns)} s (schedule)",
            d.where,
            who(d.task),
            seconds_text(d.start_ns),
            seconds_text(d.end_ns),
        )
        for d in trace.delays
    ]
    if not rows:
        return ""
    return "<h2>Marks, spans, loop blocks and injected delays</h2>" + table(
        ["kind", "label / where", "task", "start (s)", "end (s)"], rows, {3, 4}
    )


def _links(links: Sequence[tuple[str, str]]) -> str:
    if not links:
        return ""
    listed = ", ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in links)
    return f"<p>See also: {listed}</p>"


def _html(trace: Trace, wall: float | None, links: Sequence[tuple[str, str]] = ()) -> str:
    title = trace.title or "asyncsim run"
    parts = [
        page_head(f"{title} · asyncsim report"),
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(numbers_line(trace.elapsed, wall, trace.callbacks))}, "
        f"{len(trace.tasks):,} tasks.</p>",
        _summary(trace, wall),
        _links(links),
        _failures(trace),
        "<h2>Timeline</h2>",
        timeline_html(trace),
        '<noscript><img alt="Gantt timeline" src="timeline.png"></noscript>',
        '<p class="muted">The same chart as a picture: <a href="timeline.png">timeline.png</a>'
        " (with the lanes of the models, if any).</p>",
        _critical_path_html(trace),
        lanes_html(trace),
        _task_table(trace),
        _annotations(trace),
        "<h2>Files</h2><ul>"
        '<li><a href="trace.json">trace.json</a>: Chrome trace-event format; open it in '
        "Chrome's DevTools (Performance panel, load profile), Perfetto or speedscope</li>"
        '<li><a href="graph.json">graph.json</a>: the task graph (networkx node-link JSON)</li>'
        f'<li><a href="{TRACE_FILE}">{TRACE_FILE}</a>: the trace; '
        "<code>asyncsim report</code> rebuilds this page from it</li>"
        '<li><a href="timeline.png">timeline.png</a>: the chart as a picture</li></ul>'
        "</body></html>\n",
    ]
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
    gantt(trace, path / "timeline.png", wall=wall)
    (path / "trace.json").write_text(
        json.dumps(chrome_trace(trace), separators=(",", ":")), encoding="utf-8"
    )
    (path / "graph.json").write_text(graph_to_json(task_graph(trace)), encoding="utf-8")
    (path / TRACE_FILE).write_text(trace.to_json(), encoding="utf-8")
    index = path / "index.html"
    index.write_text(_html(trace, wall, links), encoding="utf-8")
    return index
