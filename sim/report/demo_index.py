"""The index page of ``asyncsim demo``: a table of the replayed programs, then their charts.

One row per program: what it shows, what its report is of (the script's own run, a bug
hunt's failing schedule replayed, a sweep), and the run's numbers as every other view
says them (:mod:`asyncsim.trace.text`): virtual seconds, wall seconds, speed-up, steps.
Below the table each program's timeline at a readable size, linked to its report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncsim.clock import to_ticks
from asyncsim.report._format import escape, page_head
from asyncsim.trace.text import exact_seconds, numbers_line, speedup_text, wall_text

__all__ = ["DemoEntry", "write_demo_index"]

_CSS = (
    "<style>table.demo td{white-space:nowrap}table.demo td.about{white-space:normal;"
    "max-width:28em}td.ok{color:#2ca02c}td.bad{color:#d62728;font-weight:bold}"
    "figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.3em}</style>"
)


@dataclass(frozen=True)
class DemoEntry:
    """One program of ``asyncsim demo``: its folder name, summary line and status, and
    the numbers of the run its report shows (seconds; None where they do not apply)."""

    name: str
    summary: str
    ok: bool
    #: What the program shows (its docstring's first line).
    about: str = ""
    #: The options the demo gave it (``--model net.py``, ``--cpu crunch=2.0``).
    options: str = ""
    #: What the report is of: "the script's run", a replayed failing schedule, a sweep.
    reported: str = "the script's run"
    elapsed: float | None = None
    wall: float | None = None
    steps: int | None = None
    tasks: int | None = None
    #: False when the entry is a sweep (its report is a sweep report, no timeline).
    timeline: bool = True

    def numbers(self) -> str:
        """The reported run's numbers line (:func:`asyncsim.trace.text.numbers_line`)."""
        if self.elapsed is None or self.steps is None:
            parts = [f"{wall_text(self.wall)} wall" if self.wall is not None else ""]
            parts.append(f"{self.steps:,} steps in all" if self.steps is not None else "")
            return ", ".join(p for p in parts if p)
        return numbers_line(self.elapsed, self.wall, self.steps)


def _cells(entry: DemoEntry) -> str:
    link = f"{escape(entry.name)}/index.html"
    virtual = f"{exact_seconds(to_ticks(entry.elapsed))}" if entry.elapsed is not None else "–"
    wall = f"{entry.wall:.3g}" if entry.wall is not None else "–"
    speed = (
        speedup_text(entry.elapsed, entry.wall)
        if entry.elapsed is not None and entry.wall is not None
        else ""
    )
    steps = f"{entry.steps:,}" if entry.steps is not None else "–"
    tasks = f"{entry.tasks:,}" if entry.tasks is not None else "–"
    status = "ok" if entry.ok else escape(entry.summary.rpartition(": ")[2] or "failed")
    options = f"<br><code>{escape(entry.options)}</code>" if entry.options else ""
    return (
        f'<td><a href="{link}">{escape(entry.name)}</a>{options}</td>'
        f'<td class="about">{escape(entry.about)}</td>'
        f'<td class="about">{escape(entry.reported)}</td>'
        f'<td class="n">{virtual}</td><td class="n">{wall}</td>'
        f'<td class="n">{escape(speed.replace(" than real time", ""))}</td>'
        f'<td class="n">{steps}</td><td class="n">{tasks}</td>'
        f'<td class="{"ok" if entry.ok else "bad"}">{status}</td>'
    )


def write_demo_index(root: str | os.PathLike[str], entries: Sequence[DemoEntry]) -> Path:
    """Write ``root/index.html``: a table of the entries, then each entry's timeline
    (at a readable size, linked to its report); returns the page's path."""
    header = (
        "<tr><th>program</th><th>what it shows</th><th>the report shows</th>"
        '<th class="n">virtual s</th><th class="n">wall s</th><th class="n">speed-up</th>'
        '<th class="n">steps</th><th class="n">tasks</th><th>exit</th></tr>'
    )
    rows = "".join(f"<tr>{_cells(e)}</tr>" for e in entries)
    failed = sum(not e.ok for e in entries)
    charts = "".join(
        f'<figure id="{escape(e.name)}"><figcaption><a href="{escape(e.name)}/index.html">'
        f"{escape(e.name)}</a>: {escape(e.reported)}</figcaption>"
        f'<a href="{escape(e.name)}/index.html"><img loading="lazy" '
        f'alt="timeline of {escape(e.name)}" src="{escape(e.name)}/timeline.png"></a></figure>'
        for e in entries
        if e.timeline
    )
    page = (
        page_head("asyncsim demo")
        + _CSS
        + "<h1>asyncsim demo: the classic asyncio programs on virtual time</h1>"
        + f"<p>{len(entries)} programs replayed, {failed} failed. Virtual seconds are exact; "
        "wall seconds are real time this machine took; steps are the callbacks the event "
        "loops ran. Each name opens the program's report: an interactive timeline, the "
        "critical path, the task table and <code>trace.json</code> for DevTools or "
        "Perfetto.</p>"
        + f'<table class="demo">{header}{rows}</table>'
        + "<h2>Timelines</h2>"
        + charts
        + "</body></html>\n"
    )
    index = Path(root) / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
