"""One row of a sweep run again alone, in this process, with its timeline report.

Each run of a sweep is deterministic given (point, seed), so :func:`sweep_replay`
reproduces any row exactly (:meth:`asyncsim.sweeps.results.SweepResult.replay` calls it
for a row of a table) and can trace it and write its full timeline report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncsim.sweeps.grid import check_signature, grid, seed_list
from asyncsim.sweeps.records import SweepRecord
from asyncsim.sweeps.worker import MetricsFn, run_one

if TYPE_CHECKING:
    from asyncsim.runner import Run
    from asyncsim.trace.records import Trace

__all__ = ["SweepReplay", "sweep_replay"]


@dataclass(frozen=True)
class SweepReplay:
    """One sweep row run again alone: its record, the :class:`asyncsim.Run`, and the report.

    ``trace`` is the run's :class:`asyncsim.Trace` when it was traced, ``report`` the
    ``index.html`` of its timeline report when one was written.
    """

    record: SweepRecord
    run: Run | None
    trace: Trace | None = None
    report: Path | None = None

    def __repr__(self) -> str:
        report = f", report={os.fspath(self.report)!r}" if self.report is not None else ""
        return f"<SweepReplay {self.record.label()}: {self.run!r}{report}>"


def sweep_replay(
    fn: Callable[..., Any],
    point: Mapping[str, Any],
    seed: int | str,
    *,
    metrics: MetricsFn | None = None,
    report_dir: str | os.PathLike[str] | None = None,
    trace: bool | None = None,
    until: float | None = None,
    max_steps: int | None = None,
) -> SweepReplay:
    """Run ``fn(**point)`` with ``seed`` once, in this process, as the sweep ran it.

    The record equals the sweep's row (virtual times, steps, outcome, metrics; not the
    wall time). With ``report_dir`` (or ``trace=True``) the run is traced and its
    timeline report written to ``report_dir`` (a folder with ``index.html``); this needs
    the tracer (``asyncsim.simulate(trace=True)``).
    """
    names, points = grid([dict(point)])
    check_signature(fn, names, points)
    seed_list([seed])
    if trace is None:
        trace = report_dir is not None
    if report_dir is not None and not trace:
        raise ValueError("report_dir needs a traced run: leave trace=None or pass trace=True")
    options = {k: v for k, v in (("until", until), ("max_steps", max_steps)) if v is not None}
    record, outcome = run_one(fn, metrics, points[0], seed, options, trace=bool(trace))
    run_trace = outcome.trace if outcome is not None else None
    report: Path | None = None
    if report_dir is not None and outcome is not None:
        written = outcome.report(report_dir)
        report = Path(written) if isinstance(written, (str, os.PathLike)) else Path(report_dir)
    return SweepReplay(record=record, run=outcome, trace=run_trace, report=report)
