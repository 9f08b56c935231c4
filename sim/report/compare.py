"""The comparison page: a recorded run beside its replay in virtual time.

``compare_report(recorded, simulated, folder, ...)`` writes into ``folder``:

* ``index.html``: the makespans (recorded, the replay, and the replays over seeds),
  each request kind's count, latency percentiles and outcomes in both runs, what the
  HTTP client saw, the two timelines one above the other on the same time scale,
  and what the model does not reproduce;
* ``recorded.png`` and ``simulated.png``: the two timelines;
* ``recorded-trace.json`` and ``simulated-trace.json``: the traces
  (``asyncsim report`` rebuilds a full report of either).
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncsim.models.recorded._observe import Observations
from asyncsim.models.recorded._stats import KindStats, exchange_stats, percentile, request_stats
from asyncsim.report._format import escape, page_head, table
from asyncsim.report.folder import prepare_folder
from asyncsim.trace.records import Trace

__all__ = ["compare_report", "kind_rows"]


def _ms(seconds: float) -> str:
    return "" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _outcomes(stats: KindStats | None) -> str:
    if stats is None:
        return ""
    total = stats.count
    return ", ".join(f"{name} {n / total:.0%}" for name, n in stats.outcomes) if total else ""


def kind_rows(
    recorded: dict[str, KindStats], simulated: dict[str, KindStats]
) -> list[tuple[str, ...]]:
    """One row per request kind: count, p50/p90/p99 (ms) and outcomes, recorded then simulated."""
    rows = []
    for kind in sorted(set(recorded) | set(simulated)):
        a, b = recorded.get(kind), simulated.get(kind)
        row = [kind]
        for stats in (a, b):
            row.append(str(stats.count) if stats is not None else "0")
        for q in (50, 90, 99):
            row.append(_ms(a.p(q)) if a is not None else "")
            row.append(_ms(b.p(q)) if b is not None else "")
        row.extend([_outcomes(a), _outcomes(b)])
        rows.append(tuple(row))
    return rows


_HEADERS = [
    "request kind",
    "n rec",
    "n sim",
    "p50 rec",
    "p50 sim",
    "p90 rec",
    "p90 sim",
    "p99 rec",
    "p99 sim",
    "outcomes rec",
    "outcomes sim",
]


def _timeline(trace: Trace, title: str, span: float, real: bool, max_rows: int) -> bytes:
    from asyncsim.report.gantt import gantt

    figure = gantt(trace, title=title, max_rows=max_rows)
    for axis in figure.axes:
        axis.set_xlim(trace.start - span * 0.01, trace.start + span * 1.01)
        if real and axis.get_xlabel():
            axis.set_xlabel("real time since the first event loop started (s)")
    # One title for both pictures, so that they compare: task steps (a replay's own
    # summary counts every callback the loop ran).
    clock = "real" if real else "virtual"
    figure.suptitle(
        f"{title}: {trace.elapsed:.4g} s of {clock} time, {len(trace.tasks)} tasks, "
        f"{len(trace.steps)} task steps",
        fontsize=11,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def compare_report(
    recorded: Observations,
    simulated: Observations,
    folder: str | os.PathLike[str],
    *,
    recorded_trace: Trace | None = None,
    simulated_trace: Trace | None = None,
    makespans: Sequence[float] = (),
    title: str = "",
    recorded_wall: float | None = None,
    simulated_wall: float | None = None,
    pooled: Observations | None = None,
    notes: Sequence[str] = (),
    max_rows: int = 60,
    force: bool = False,
) -> Path:
    """Write the comparison page of a recorded run and its replay; returns index.html's path.

    ``makespans`` are the virtual makespans (seconds) of replays over several seeds, and
    ``pooled`` what those replays showed together: the simulated latency percentiles are
    taken over it when given (over ``simulated`` alone otherwise);
    past ``max_rows`` tasks a timeline groups its rows by coroutine.
    Refuses (``FileExistsError``) to write into a non-empty folder asyncsim did not
    create, unless ``force``.
    """
    path = prepare_folder(folder, force=force)
    name = title or "recorded program"
    rec_make, sim_make = recorded.makespan, simulated.makespan
    error = (sim_make - rec_make) / rec_make if rec_make > 0 else math.nan
    summary: list[tuple[str, Any]] = [
        ("recorded makespan (real s)", f"{rec_make:.4f}"),
        ("simulated makespan (virtual s, seed 0)", f"{sim_make:.4f} ({error:+.1%})"),
    ]
    if makespans:
        ordered = sorted(makespans)
        summary.append(
            (
                f"simulated makespan over {len(ordered)} seeds",
                f"min {ordered[0]:.4f}, p50 {percentile(ordered, 50):.4f}, max {ordered[-1]:.4f}",
            )
        )
    if recorded_wall is not None:
        summary.append(
            ("recording's wall time (s, the script's imports included)", f"{recorded_wall:.3f}")
        )
    if simulated_wall is not None:
        summary.append(("replay's wall time (s)", f"{simulated_wall:.3f}"))
    sample = pooled if pooled is not None else simulated
    over = f"; simulated: {len(makespans)} replays pooled" if pooled is not None else ""
    parts = [
        page_head(f"{name} · recorded vs simulated · asyncsim"),
        f"<h1>{escape(name)}: recorded vs simulated</h1>",
        table([], summary),
        "<h2>Exchanges on the wire (latency in ms, first request byte to whole answer"
        f"{escape(over)})</h2>",
        table(_HEADERS, kind_rows(exchange_stats(recorded), exchange_stats(sample)), range(1, 9)),
    ]
    client_rec, client_sim = request_stats(recorded), request_stats(sample)
    if client_rec or client_sim:
        parts.append(
            "<h2>Requests as the HTTP client saw them (ms, call to response head, "
            "waiting for a connection included)</h2>"
        )
        parts.append(table(_HEADERS, kind_rows(client_rec, client_sim), range(1, 9)))
    traces = [t for t in (recorded_trace, simulated_trace) if t is not None]
    if traces:
        span = max(t.elapsed for t in traces)
        parts.append("<h2>Timelines (same time scale)</h2>")
        for trace, label, file, real in (
            (recorded_trace, f"{name}, recorded (real time)", "recorded", True),
            (simulated_trace, f"{name}, simulated (virtual time)", "simulated", False),
        ):
            if trace is None:
                continue
            png = _timeline(trace, label, span, real, max_rows)
            (path / f"{file}.png").write_bytes(png)
            (path / f"{file}-trace.json").write_text(trace.to_json(), encoding="utf-8")
            encoded = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<p><img alt="{escape(label)}" src="data:image/png;base64,{encoded}"></p>'
            )
    if notes:
        parts.append("<h2>What the model does not reproduce</h2><ul>")
        parts.extend(f"<li>{escape(note)}</li>" for note in notes)
        parts.append("</ul>")
    parts.append("</body></html>")
    index = path / "index.html"
    index.write_text("".join(parts), encoding="utf-8")
    return index
