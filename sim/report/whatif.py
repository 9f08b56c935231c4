"""A what-if profile drawn: the causal-profile plot and the profile's HTML page.

:func:`plot_profile` draws what Coz draws: the program's speedup (how much shorter the
makespan gets, in %) against one component's speedup, one line per component, with
the 95 % interval as a band; slowdowns are negative speedups on the left.
:func:`profile_report` writes a folder: ``index.html`` (self-contained: the plot, the
ranked table with intervals, the answers, what changed behaviour, the user metrics),
``profile.png``, ``profile.txt``, ``profile.json`` and ``baseline/``, the timeline
report of the first seed's run as is, which links back to the profile.

Plots use matplotlib's object API with the Agg backend (no pyplot, no display).
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncsim._validate import check_int, refuse
from asyncsim.report._format import SWEEP_CSS, escape, markup_table
from asyncsim.report.folder import prepare_folder
from asyncsim.trace.whatif import PERCENTILES, speedup_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from asyncsim.sweeps.profile import Profile

__all__ = ["plot_profile", "profile_report"]

_LABEL_LIMIT = 60
# the profile's tables: names and sentences read left to right
_CSS = ".ranked td:nth-child(2),.ranked td:last-child{text-align:left}"


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_LIMIT else label[: _LABEL_LIMIT - 1] + "…"


def _name(profile: Profile) -> str:
    return str(getattr(profile.fn, "sweep_name", repr(profile.fn))).removeprefix("whatif ")


def plot_profile(
    profile: Profile,
    path: str | os.PathLike[str] | None = None,
    *,
    percentiles: tuple[int, ...] = (50, 99),
    components: int = 10,
) -> Figure:
    """The causal-profile plot of ``profile``: one column per percentile of the makespan.

    Top row, as Coz draws it: x is the component's speedup in % (how much shorter its
    durations are), y the program's speedup in % (how much sooner the run ends), one
    line per component (the ``components`` best ranked) with its 95 % interval as a
    band. A second row, when slowdowns were profiled: x the slowdown factor, y how much
    later the run ends. A red ring marks a speedup at which some runs took another path
    (timeouts fired, retries, failures). Saved to ``path`` (.png, .svg or .pdf) when
    given; returns the matplotlib Figure.
    """
    for p in percentiles:
        if p not in PERCENTILES:
            refuse("percentiles", f"a tuple of {PERCENTILES}", percentiles, error=ValueError)
    check_int("components", components, minimum=1)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    faster = [s for s in profile.speedups if s > 0]
    slower = sorted((s for s in profile.speedups if s < 0), reverse=True)
    rows = [(kind, steps) for kind, steps in (("faster", faster), ("slower", slower)) if steps]
    figure = Figure(figsize=(6.2 * len(percentiles), 4.2 * len(rows) + 0.9), layout="constrained")
    axes = figure.subplots(len(rows), len(percentiles), squeeze=False)
    shown = profile.components[:components]
    marked = False
    for r, (kind, steps) in enumerate(rows):
        for c, p in enumerate(percentiles):
            ax = axes[r][c]
            for index, component in enumerate(shown):
                xs, ys, lows, highs, changed = [0.0], [0.0], [0.0], [0.0], []
                for speedup in steps:
                    cell = profile.cells[(component.key, speedup)]
                    estimate = cell.elapsed[p]
                    sign = -1.0 if kind == "faster" else 1.0  # y: sooner, or later
                    xs.append(100 * speedup if kind == "faster" else 1 - speedup)
                    ys.append(sign * 100 * estimate.change)
                    lows.append(sign * 100 * (estimate.high if sign < 0 else estimate.low))
                    highs.append(sign * 100 * (estimate.low if sign < 0 else estimate.high))
                    if cell.behaviour.changed:
                        changed.append((xs[-1], ys[-1]))
                if kind == "slower":
                    xs[0] = 1.0  # as is: a factor of 1
                colour = f"C{index % 10}"
                ax.fill_between(xs, lows, highs, color=colour, alpha=0.15, linewidth=0)
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    color=colour,
                    label=_short(component.label) if (r, c) == (0, 0) else None,
                )
                if changed:
                    marked = True
                    ax.plot(
                        [x for x, _ in changed],
                        [y for _, y in changed],
                        linestyle="none",
                        marker="o",
                        markersize=13,
                        markerfacecolor="none",
                        markeredgecolor="#d62728",
                        markeredgewidth=1.6,
                    )
            ax.axhline(0, color="#888", linewidth=0.8)
            ax.grid(True, alpha=0.3)
            if kind == "faster":
                ax.set_xlabel("component speedup (%)")
                ax.set_ylabel(f"program speedup at p{p} (%)")
                ax.set_title(f"faster: makespan p{p}")
            else:
                ax.set_xlabel("component slowdown (x as long)")
                ax.set_ylabel(f"program slowdown at p{p} (%)")
                ax.set_title(f"slower: makespan p{p}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if marked:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=11,
                markerfacecolor="none",
                markeredgecolor="#d62728",
                markeredgewidth=1.6,
            )
        )
        labels.append("some runs took another path (timeouts, retries, failures)")
    if handles:
        figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(2, len(handles)),
            fontsize="small",
        )
    figure.suptitle(
        f"Causal profile of {_name(profile)}: {len(profile.seeds)} seeds, 95 % intervals"
    )
    if path is not None:
        name = os.fspath(path)
        if not name.lower().endswith((".png", ".svg", ".pdf")):
            refuse("path", "a file name ending in .png, .svg or .pdf", name, error=ValueError)
        figure.savefig(name)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _ranked_rows(profile: Profile) -> list[list[str]]:
    rows = []
    total = profile.discovery.elapsed if profile.discovery is not None else 0.0
    for rank, component in enumerate(profile.components, 1):
        for i, speedup in enumerate(profile.shown_speedups):
            cell = profile.cells[(component.key, speedup)]
            head = ["", "", "", ""]
            if i == 0:
                share = (
                    f"{component.critical:.4g} s ({100 * component.critical / total:.0f} %)"
                    if total and component.critical
                    else "-"
                )
                head = [
                    str(rank),
                    f"<b>{escape(component.label)}</b><br><code>{escape(component.name)}</code>",
                    f"{component.count} × {component.total:.4g} s",
                    share,
                ]
            rows.append(
                [
                    *head,
                    escape(speedup_text(speedup)),
                    *[escape(cell.elapsed[p].text()) for p in PERCENTILES],
                    escape(cell.behaviour.text() if cell.behaviour.changed else "same")
                    + (f"<br>{cell.errors} raised" if cell.errors else ""),
                ]
            )
    return rows


def _metric_tables(profile: Profile) -> str:
    names = sorted({n for cell in profile.cells.values() for n in cell.metrics})
    parts = []
    for name in names:
        rows = []
        for component in profile.components:
            for speedup in profile.shown_speedups:
                estimates = profile.cells[(component.key, speedup)].metrics.get(name)
                if not estimates or all(e.value == e.base for e in estimates.values()):
                    continue
                rows.append(
                    [
                        escape(component.label),
                        escape(speedup_text(speedup)),
                        *[
                            escape(
                                f"{estimates[p].base:.4g} → {estimates[p].value:.4g} "
                                f"({estimates[p].text()})"
                            )
                            for p in PERCENTILES
                        ],
                    ]
                )
        parts.append(f"<h3>{escape(name)}</h3>")
        if not rows:
            parts.append("<p>Unchanged in every cell: the same percentiles as the runs as is.</p>")
            continue
        parts.append(
            markup_table(
                ["component", "speedup", *[f"p{p}: as is → scaled (change)" for p in PERCENTILES]],
                rows,
            )
        )
    return "".join(parts)


def _html(profile: Profile, png: bytes, baseline: str | None) -> str:
    name = _name(profile)
    base = profile.baseline
    summary = [
        ["program", escape(name)],
        ["seeds", escape(f"{len(profile.seeds)} ({profile.seeds[0]!r} … {profile.seeds[-1]!r})")],
        ["speedups", escape(", ".join(speedup_text(s) for s in profile.speedups))],
        [
            "runs",
            escape(
                f"{profile.runs} (components × speedups × seeds, and as is), in "
                f"{profile.wall:.2f} s of wall time"
            ),
        ],
        [
            "makespan as is",
            escape(f"p50 {base[50]:.4g} s, p90 {base[90]:.4g} s, p99 {base[99]:.4g} s"),
        ],
    ]
    if baseline is not None:
        summary.append(
            [
                "first run as is",
                f'<a href="{escape(baseline)}">its timeline report</a> '
                "(its critical path is the one the table compares with)",
            ]
        )
    encoded = base64.b64encode(png).decode("ascii")
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>What-if profile of {escape(name)} · asyncsim</title>"
        f"<style>{SWEEP_CSS}{_CSS}</style></head><body>",
        f"<h1>What-if profile of {escape(name)}</h1>",
        markup_table(["", ""], summary),
        "<h2>Answers</h2><ul>",
        *[f"<li>{escape(line)}</li>" for line in profile.answers()],
        "</ul>",
        f'<img alt="causal profile of {escape(name)}" src="data:image/png;base64,{encoded}">',
        "<h2>Ranked</h2><p>Change of each percentile of the makespan against as is, with "
        "its 95 % interval (paired bootstrap over seeds: each seed's runs share their random "
        "draws). <i>Durations</i> and <i>critical path</i> are from the first run as is: "
        "how many durations the component gave, their sum, and the part of that run's "
        "critical path spent waiting for them.</p>",
        '<div class="ranked">',
        markup_table(
            [
                "#",
                "component",
                "durations (first run)",
                "critical path (first run)",
                "speedup",
                *[f"makespan p{p}" for p in PERCENTILES],
                "behaviour",
            ],
            _ranked_rows(profile),
        ),
        "</div>",
        "<h2>Behaviour</h2><p>Scaling durations changes when things happen; a run that "
        "took another path than its seed's run as is (timeouts fired, retries, failures) "
        "changed behaviour. The mildest change per component:</p><ul>",
        *[f"<li>{escape(line)}</li>" for line in profile.breaks()],
        "</ul>",
    ]
    metrics = _metric_tables(profile)
    if metrics:
        parts += ["<h2>User metrics</h2>", metrics]
    if profile.skipped:
        parts.append("<h2>Not profiled</h2>")
        parts.append(
            markup_table(
                ["component", "name", "durations (first run)"],
                [
                    [
                        escape(c.label),
                        f"<code>{escape(c.name)}</code>",
                        escape(f"{c.count} × {c.total:.4g} s"),
                    ]
                    for c in profile.skipped
                ],
            )
        )
    example = profile.components[0].name if profile.components else "service:db"
    speed = profile.speedups[-1]
    parts.append(
        "<h2>Replaying a run</h2><p>Every run is deterministic; run one again alone, with "
        "its timeline report:</p>"
        f"<pre>profile.replay({escape(repr(example))}, {speed!r}, seed={profile.seeds[0]!r}, "
        'report_dir="reports/replay")</pre>'
        '<h2>Files</h2><ul><li><a href="profile.png">profile.png</a>: the plot</li>'
        '<li><a href="profile.txt">profile.txt</a>: the table as text</li>'
        '<li><a href="profile.json">profile.json</a>: every estimate</li>'
    )
    if profile.result.path:
        parts.append(
            f"<li>{escape(os.path.basename(profile.result.path))}: every run "
            "(<code>asyncsim.load_sweep</code>)</li>"
        )
    parts.append("</ul></body></html>\n")
    return "".join(parts)


def profile_report(
    profile: Profile, folder: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write ``profile``'s page into ``folder`` (see the module docstring); returns index.html.

    Refuses (``FileExistsError``) a non-empty folder asyncsim did not create, unless
    ``force``.
    """
    from asyncsim.report.page import report

    path = prepare_folder(folder, force=force)
    png = _png(plot_profile(profile))
    (path / "profile.png").write_bytes(png)
    (path / "profile.txt").write_text(profile.table() + "\n", encoding="utf-8")
    (path / "profile.json").write_text(
        json.dumps(profile.to_json(), indent=1, default=_json_default), encoding="utf-8"
    )
    baseline = None
    run = profile.discovery
    if run is not None and run.trace is not None:
        report(
            run.trace,
            path / "baseline",
            wall=run.wall,
            force=True,
            links=[("the what-if profile this run is the baseline of", "../index.html")],
        )
        baseline = "baseline/index.html"
    index = path / "index.html"
    index.write_text(_html(profile, png, baseline), encoding="utf-8")
    return index


def _json_default(value: Any) -> Any:
    return repr(value)
