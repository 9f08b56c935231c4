"""The answer of a what-if profile: :class:`Profile`, ranked, as text, a plot or a page.

:func:`asyncsim.whatif` returns a :class:`Profile`. ``print(profile)`` shows the ranked
table: for each component and speedup, the change of the makespan (the run's virtual
elapsed time) at p50, p90 and p99 over seeds with its 95 % interval, how many of the
component's durations the first seed's run had and their total, their share of that
run's critical path, and whether the runs behaved differently (timeouts fired, retries,
failures). The statistics are :mod:`asyncsim.trace.whatif`'s.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncsim.sweeps.components import Component, resolve
from asyncsim.sweeps.records import SweepRecord
from asyncsim.sweeps.results import SweepResult
from asyncsim.trace.whatif import (
    NEGLIGIBLE,
    PERCENTILES,
    Behaviour,
    Estimate,
    behaviour,
    changes,
    nearest_rank,
    speedup_text,
)

if TYPE_CHECKING:
    from asyncsim.runner import Run
    from asyncsim.sweeps.replay import SweepReplay

__all__ = ["SIGNATURE_METRIC", "Cell", "Profile"]

#: The metric under which each profile run records its signature (JSON text).
SIGNATURE_METRIC = "asyncsim.whatif"


@dataclass(frozen=True)
class Cell:
    """One component at one speedup, over every seed.

    ``elapsed`` maps 50/90/99 to the :class:`~asyncsim.trace.whatif.Estimate` of the
    makespan's change; ``metrics`` the same per numeric user metric; ``behaviour``
    how many seeds took another path than their baseline run.
    """

    component: str
    speedup: float
    runs: int
    errors: int
    elapsed: Mapping[int, Estimate]
    metrics: Mapping[str, Mapping[int, Estimate]]
    behaviour: Behaviour


def _signature(record: SweepRecord) -> dict[str, Any]:
    text = record.metrics.get(SIGNATURE_METRIC)
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
    return {"outcome": record.error_type or "ok", "counts": {}, "fired": {}}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _pct(change: float) -> str:
    return "n/a" if math.isnan(change) else f"{100 * change:+.1f} %"


@dataclass
class Profile:
    """A causal what-if profile (see the module docstring). Made by :func:`asyncsim.whatif`.

    Attributes
    ----------
    components : list of Component
        The profiled components, ranked (:meth:`ranked` gives them in order).
    skipped : list of Component
        Components the first run found that were not profiled (no virtual time, or
        not named).
    speedups : list of float
        The speedups profiled (0, the baseline, aside), ascending.
    seeds : list
        The seeds every cell ran.
    result : SweepResult
        Every run (:mod:`asyncsim.sweeps.records`); point ``{"component": key or None,
        "speedup": s}``.
    baseline : dict
        ``{50: seconds, 90: ..., 99: ...}``: the makespan percentiles as is.
    cells : dict
        ``(component key, speedup) -> Cell``.
    discovery : Run or None
        The traced first-seed run that found the components.
    wall : float
        Real seconds the whole profile took.
    """

    fn: Callable[..., Any]
    components: list[Component]
    skipped: list[Component]
    speedups: list[float]
    seeds: list[int | str]
    result: SweepResult
    labels: dict[str, str]
    discovery: Run | None = None
    wall: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    baseline: dict[int, float] = field(init=False)
    baseline_errors: int = field(init=False)
    cells: dict[tuple[str, float], Cell] = field(init=False)

    def __post_init__(self) -> None:
        by_point: dict[tuple[str | None, float], dict[Any, SweepRecord]] = {}
        for record in self.result.records:
            point = (record.point.get("component"), float(record.point.get("speedup", 0.0)))
            by_point.setdefault(point, {})[json.dumps(record.seed)] = record
        base = by_point.get((None, 0.0), {})
        signatures = {
            point: {seed: _signature(r) for seed, r in records.items()}
            for point, records in by_point.items()
        }
        for sigs in signatures.values():
            for sig in sigs.values():
                self.labels.update(sig.pop("labels", None) or {})
        ok_base = sorted(r.elapsed for r in base.values() if r.ok)
        self.baseline = {p: nearest_rank(ok_base, p) for p in PERCENTILES}
        self.baseline_errors = sum(not r.ok for r in base.values())
        metric_names = sorted(
            {n for r in base.values() if r.ok for n, v in r.metrics.items() if _number(v)}
        )
        self.cells = {}
        for component in self.components:
            for speedup in self.speedups:
                point = (component.key, speedup)
                cell = by_point.get(point, {})
                pairs = [s for s in cell if s in base and cell[s].ok and base[s].ok]
                metrics = {}
                for name in metric_names:
                    both = [
                        s
                        for s in pairs
                        if _number(base[s].metrics.get(name)) and _number(cell[s].metrics.get(name))
                    ]
                    metrics[name] = changes(
                        [float(base[s].metrics[name]) for s in both],
                        [float(cell[s].metrics[name]) for s in both],
                    )
                self.cells[point] = Cell(
                    component=component.key,
                    speedup=speedup,
                    runs=len(cell),
                    errors=sum(not r.ok for r in cell.values()),
                    elapsed=changes(
                        [base[s].elapsed for s in pairs], [cell[s].elapsed for s in pairs]
                    ),
                    metrics=metrics,
                    behaviour=behaviour(
                        signatures.get((None, 0.0), {}), signatures.get(point, {}), self.labels
                    ),
                )
        self.components = self.ranked()

    # -- reading it -----------------------------------------------------------------------

    @property
    def shown_speedups(self) -> list[float]:
        """The speedups in the order tables show them: faster ones up, then slower ones."""
        return [s for s in self.speedups if s > 0] + sorted(
            (s for s in self.speedups if s < 0), reverse=True
        )

    @property
    def runs(self) -> int:
        """Runs in the profile (baseline included; the discovery run aside)."""
        return len(self.result.records)

    def cell(self, component: str | Component, speedup: float) -> Cell:
        """The :class:`Cell` of ``component`` (a key, a name or a Component) at ``speedup``."""
        key = component.key if isinstance(component, Component) else component
        if (key, speedup) not in self.cells:
            key = resolve(key, self.components).key
        if (key, speedup) not in self.cells:
            raise ValueError(f"speedup {speedup!r} was not profiled; profiled: {self.speedups}")
        return self.cells[(key, speedup)]

    def _rank_speedup(self) -> float:
        positive = [s for s in self.speedups if s > 0]
        return max(positive) if positive else min(self.speedups)

    def ranked(self) -> list[Component]:
        """The components, the one whose speedup shortens the makespan most first.

        Ranked by the p50 change at the largest speedup profiled (with slowdowns only:
        by the p50 growth at the largest slowdown), then by p99.
        """
        at = self._rank_speedup()
        sign = 1.0 if at > 0 else -1.0

        def score(component: Component) -> tuple[float, float]:
            cell = self.cells.get((component.key, at))
            if cell is None:
                return (math.inf, math.inf)
            p50, p99 = cell.elapsed[50].change, cell.elapsed[99].change
            return (
                sign * (0.0 if math.isnan(p50) else p50),
                sign * (0.0 if math.isnan(p99) else p99),
            )

        return sorted(self.components, key=score)

    def effect(self, component: Component) -> str:
        """``"none"`` (no change at any speedup), ``"about zero"`` (below 0.5 %) or ``""``."""
        values = [
            self.cells[(component.key, s)].elapsed[p].change
            for s in self.speedups
            for p in PERCENTILES
            if (component.key, s) in self.cells
        ]
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return ""
        if all(v == 0 for v in values):
            return "none"
        if all(abs(v) < NEGLIGIBLE for v in values):
            return "about zero"
        return ""

    def first_change(self, component: str | Component, *, slower: bool = True) -> Cell | None:
        """The mildest speedup (slowdowns with ``slower``) at which some run behaved
        differently than as is (timeouts fired, retries, failures), or None."""
        steps = sorted((s for s in self.speedups if (s < 0) == slower), key=abs)
        for speedup in steps:
            cell = self.cell(component, speedup)
            if cell.behaviour.changed:
                return cell
        return None

    def answers(self) -> list[str]:
        """One sentence per component: ``make X 50 % faster -> makespan -31.0 % (p50) ...``."""
        positive = [s for s in self.speedups if s > 0]
        at = min(positive, key=lambda s: abs(s - 0.5)) if positive else max(self.speedups)
        lines = []
        for component in self.components:
            cell = self.cells[(component.key, at)]
            verb = "make" if at > 0 else "let"
            text = (
                f"{verb} {component.label} {speedup_text(at)} -> makespan "
                f"{_pct(cell.elapsed[50].change)} (p50), {_pct(cell.elapsed[99].change)} (p99)"
            )
            effect = self.effect(component)
            if effect == "none":
                text += ": no effect at any speedup, it is off the critical path in every run"
            elif effect == "about zero":
                text += ": about zero at every speedup (below 0.5 %), off the critical path"
            lines.append(text)
        return lines

    def breaks(self) -> list[str]:
        """Per component and direction, the mildest speedup at which some runs behaved
        differently (timeouts fired, retries, failures); a closing line for the rest."""
        lines = []
        quiet = 0
        for component in self.components:
            for slower in (True, False):
                if not any((s < 0) == slower for s in self.speedups):
                    continue
                cell = self.first_change(component, slower=slower)
                if cell is None:
                    quiet += 1
                    continue
                lines.append(
                    f"{component.label}, {speedup_text(cell.speedup)}: {cell.behaviour.text()}"
                )
        if not lines:
            return ["no run behaved differently than as is: only the timing changed"]
        if quiet:
            lines.append("otherwise only the timing changed")
        return lines

    def table(self, *, interval: bool = True) -> str:
        """The ranked table, then the answers and what changed behaviour (plain text)."""
        from asyncsim.sweeps.profile_text import profile_text

        return profile_text(self, interval=interval)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"<Profile of {getattr(self.fn, 'sweep_name', self.fn)!s}: {len(self.components)} "
            f"components x {len(self.speedups)} speedups x {len(self.seeds)} seeds, "
            f"{self.runs} runs>"
        )

    def to_json(self) -> dict[str, Any]:
        """The profile as JSON data (components, baseline, cells with their estimates)."""
        return {
            "fn": getattr(self.fn, "sweep_name", repr(self.fn)),
            "seeds": list(self.seeds),
            "speedups": list(self.speedups),
            "baseline": {f"p{p}": v for p, v in self.baseline.items()},
            "baseline_errors": self.baseline_errors,
            "components": [vars(c) | {"name": c.name} for c in self.components],
            "skipped": [vars(c) | {"name": c.name} for c in self.skipped],
            "cells": [
                {
                    "component": c.component,
                    "speedup": c.speedup,
                    "runs": c.runs,
                    "errors": c.errors,
                    "elapsed": {f"p{p}": e.to_json() for p, e in c.elapsed.items()},
                    "metrics": {
                        name: {f"p{p}": e.to_json() for p, e in estimates.items()}
                        for name, estimates in c.metrics.items()
                    },
                    "behaviour": {
                        "runs": c.behaviour.runs,
                        "changed": c.behaviour.changed,
                        "notes": list(c.behaviour.notes),
                    },
                }
                for c in self.cells.values()
            ],
            "runs": self.runs,
            "wall": self.wall,
        }

    # -- pictures, pages, replays -----------------------------------------------------------

    def plot(self, path: str | os.PathLike[str] | None = None, **options: Any) -> Any:
        """The causal-profile plot (:func:`asyncsim.report.whatif.plot_profile`); a Figure."""
        from asyncsim.report.whatif import plot_profile

        return plot_profile(self, path, **options)

    def report(self, folder: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the profile's page into ``folder`` (:func:`asyncsim.report.whatif.profile_report`).

        Returns the path of ``index.html``; the first seed's timeline report is
        ``baseline/index.html`` beside it, and links back to the profile.
        """
        from asyncsim.report.whatif import profile_report

        return profile_report(self, folder, force=force)

    def replay(
        self,
        component: str | Component | None,
        speedup: float,
        seed: int | str,
        *,
        report_dir: str | os.PathLike[str] | None = None,
        trace: bool | None = None,
    ) -> SweepReplay:
        """Run one cell's run again, alone (traced with ``report_dir``): same record.

        ``component`` None (with speedup 0) is the baseline.
        """
        from asyncsim.sweeps.replay import sweep_replay

        if component is None:
            key = None
        else:
            key = component.key if isinstance(component, Component) else component
            if (key, speedup) not in self.cells:
                key = self.cell(key, speedup).component
        return sweep_replay(
            self.fn,
            {"component": key, "speedup": float(speedup) if key is not None else 0.0},
            seed,
            report_dir=report_dir,
            trace=trace,
            **self.options,
        )
