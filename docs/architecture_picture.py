"""Draw ``docs/architecture.png``: asyncsim's layers and how a run becomes a report.

``python docs/architecture_picture.py`` (from the project root). The layers are read
from ``tests/test_architecture.py`` (the test that enforces them), so the picture
shows what is checked.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_architecture import LAYERS  # noqa: E402

#: What each layer holds, in a few words (the folder names are the layers' prefixes).
HOLDS = {
    "base": "clock (ticks <-> seconds), errors, argument checks",
    "loop core": "VirtualEventLoop: timers, dispatch, thread jobs, real-I/O guard, network "
    "seam, duration scaling",
    "records and analysis": "Trace rows, JSON schema; graph, critical path, waits, numbers; "
    "what-if statistics",
    "instruments": "hooks on the loop: Tracer, CPU cost model, lane recorder, marks",
    "scope": "Simulation: one clock, seeds and RNG streams, limits, time patching",
    "models": "distributions, services (SimPy), virtual network, workloads",
    "views": "Gantt, interactive timeline, HTML page, demo index, Chrome trace, causal profile",
    "running": "run(), simulate() -> Run; run_script() for unmodified scripts",
    "testing and sweeps": "hypothesis schedules, pytest plugin, stateful tests; sweeps, "
    "what-if profiles",
    "command line": "asyncsim run | demo | report | sweep | profile",
    "package": "asyncsim: the curated, lazily loaded public names",
}
FLOW = [
    ("your program", "asyncio code, unchanged", 9.6),
    ("run / run_script", "enters a Simulation", 8.0),
    ("VirtualEventLoop", "jumps to the next timer", 6.4),
    ("Tracer", "records tasks, steps, wakes", 4.8),
    ("Trace", "records -> graph, critical path", 3.2),
    ("report/", "index.html, trace.json, PNG", 1.6),
]


def draw(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(11, 7.2))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, len(LAYERS) + 0.4)
    ax.axis("off")
    for index, (name, prefixes) in enumerate(LAYERS):
        y = index + 0.2
        shade = 0.93 - 0.035 * index
        ax.add_patch(
            FancyBboxPatch(
                (0.1, y), 6.6, 0.8, boxstyle="round,pad=0.02", fc=(shade, shade, 1.0), ec="#556"
            )
        )
        folders = ", ".join(
            p.removeprefix("asyncsim.").replace("asyncsim", "asyncsim/") for p in prefixes
        )
        ax.text(0.25, y + 0.55, f"{name}", fontsize=10, weight="bold", va="center")
        ax.text(2.3, y + 0.55, folders, fontsize=8.5, family="monospace", va="center", color="#334")
        ax.text(0.25, y + 0.22, HOLDS[name], fontsize=8, va="center", color="#222")
    ax.annotate(
        "",
        xy=(6.95, 0.3),
        xytext=(6.95, len(LAYERS) - 0.1),
        arrowprops={"arrowstyle": "->", "color": "#a33", "lw": 1.5},
    )
    ax.text(
        7.1,
        len(LAYERS) / 2,
        "imports point down only (tests/test_architecture.py)",
        rotation=90,
        fontsize=8,
        ha="left",
        va="center",
        color="#a33",
    )
    for label, note, y in FLOW:
        ax.add_patch(
            FancyBboxPatch((7.7, y), 3.1, 0.95, boxstyle="round,pad=0.03", fc="#eef8ee", ec="#585")
        )
        ax.text(9.25, y + 0.62, label, fontsize=9.5, weight="bold", ha="center", va="center")
        ax.text(9.25, y + 0.28, note, fontsize=8, ha="center", va="center")
    for (_, _, y1), (_, _, y2) in itertools.pairwise(FLOW):
        ax.add_patch(
            FancyArrowPatch(
                (9.25, y1), (9.25, y2 + 0.95), arrowstyle="-|>", mutation_scale=12, color="#585"
            )
        )
    ax.text(
        9.25,
        len(LAYERS) + 0.1,
        "a run, from program to report",
        ha="center",
        fontsize=10,
        weight="bold",
    )
    ax.text(
        3.4, len(LAYERS) + 0.1, "layers, bottom to top", ha="center", fontsize=10, weight="bold"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    draw(ROOT / "docs" / "architecture.png")
