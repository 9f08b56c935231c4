"""A what-if profile as plain text: the ranked table, the answers, what changed behaviour."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from asyncsim.trace.whatif import PERCENTILES, speedup_text

if TYPE_CHECKING:
    from asyncsim.sweeps.profile import Component, Profile

__all__ = ["aligned", "profile_text", "seconds"]


def seconds(value: float) -> str:
    """Virtual seconds, 4 significant digits: ``"2.105 s"``."""
    return f"{value:.4g} s"


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """``rows`` under ``header`` in columns; columns in ``right`` align right."""
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _critical(profile: Profile, component: Component) -> str:
    if profile.discovery is None or not component.critical:
        return "-"
    total = profile.discovery.elapsed
    share = f" {100 * component.critical / total:.0f} %" if total else ""
    return f"{component.critical:.4g} s{share}"


def _title(profile: Profile) -> list[str]:
    name = getattr(profile.fn, "sweep_name", repr(profile.fn)).removeprefix("whatif ")
    n = len(profile.seeds)
    base = profile.baseline
    lines = [
        f"What-if profile of {name}: {len(profile.components)} components x "
        f"{len(profile.speedups)} speedups x {n} seeds, {profile.runs} runs "
        f"(as is included) in {profile.wall:.2f} s of wall time",
        f"As is: makespan p50 {seconds(base[50])}, p90 {seconds(base[90])}, "
        f"p99 {seconds(base[99])} over {n} seeds"
        + (f" ({profile.baseline_errors} runs raised)" if profile.baseline_errors else ""),
    ]
    if profile.discovery is not None:
        lines.append(
            f"First run (seed {profile.seeds[0]!r}, as is): {seconds(profile.discovery.elapsed)}; "
            "the component's durations in it (how many, their sum) and their part of its "
            "critical path"
        )
    return lines


def profile_text(profile: Profile, *, interval: bool = True) -> str:
    """The whole profile as text (what ``print(profile)`` shows)."""
    header = [
        "#",
        "component",
        "durations (first run)",
        "critical path (first run)",
        "speedup",
        *[f"makespan p{p}" if p == 50 else f"p{p}" for p in PERCENTILES],
        "behaviour",
    ]
    rows: list[list[str]] = []
    for rank, component in enumerate(profile.components, 1):
        first = True
        for speedup in profile.shown_speedups:
            cell = profile.cells[(component.key, speedup)]
            lead = (
                [
                    str(rank),
                    component.label,
                    f"{component.count} x, {seconds(component.total)}",
                    _critical(profile, component),
                ]
                if first
                else ["", "", "", ""]
            )
            changed = cell.behaviour
            rows.append(
                [
                    *lead,
                    speedup_text(speedup),
                    *[cell.elapsed[p].text(interval) for p in PERCENTILES],
                    (f"{changed.changed}/{changed.runs} changed" if changed.changed else "same")
                    + (f", {cell.errors} raised" if cell.errors else ""),
                ]
            )
            first = False
    parts = [*_title(profile), "", aligned(header, rows, {0, 2, 3, 5, 6, 7})]
    if interval:
        parts.append(
            "Changes of the makespan percentile against as is; [95 % interval: paired bootstrap "
            "over seeds]."
        )
    parts += ["", "Answers:", *[f"  {line}" for line in profile.answers()]]
    breaks = profile.breaks()
    if breaks:
        parts += ["", "Behaviour: the mildest change at which some runs took another path:"]
        parts += [f"  {line}" for line in breaks]
    metrics = sorted({n for c in profile.cells.values() for n in c.metrics})
    if metrics:
        parts += ["", f"User metrics ({', '.join(metrics)}): see Profile.cells or the HTML page."]
    if profile.skipped:
        listed = ", ".join(
            f"{c.label} ({c.count} x, {seconds(c.total)})" for c in profile.skipped[:12]
        )
        more = f" and {len(profile.skipped) - 12} more" if len(profile.skipped) > 12 else ""
        parts += ["", f"Not profiled: {listed}{more}."]
    path = profile.result.path
    if path:
        parts += ["", f"Every run: {os.fspath(path)}"]
    return "\n".join(parts)
