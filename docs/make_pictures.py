"""Draw every picture of the docs: ``python docs/make_pictures.py`` (from the project root).

* ``docs/seed_pair.png``: ``examples/seed_pair.py`` as ``asyncsim run`` replays it;
* ``docs/gather.png``: ``examples/gather.py`` (aiohttp) against the modeled example.com;
* ``docs/lost_update.png``: the Gantt chart of the lost-update bug hunt
  (``examples/bug_lost_update.py``) under the minimal failing schedule that
  hypothesis finds and shrinks (its replay string is printed and drawn in the title);
* ``docs/lost_update_punctual.png``: the same program with punctual timers, where
  both deposits land;
* ``docs/whatif_fetch.png``: the causal profile of ``examples/whatif_fetch.py`` (20 seeds);
* ``docs/architecture.png``: the layers (``docs/architecture_picture.py``);
* the screenshots of the reports and of ``trace.json`` in DevTools
  (``docs/make_screenshots.py``), when Chromium is installed.

The hunt is derandomized, so the schedule and the pictures are the same on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT))

import architecture_picture  # noqa: E402
import bug_lost_update  # noqa: E402
import make_screenshots  # noqa: E402

import asyncsim  # noqa: E402
from asyncsim.report.timeline import row_order  # noqa: E402
from tests.chromium import chromium_path  # noqa: E402

AMOUNTS = (100, 50)  # the deposits main() makes, in task creation order
NOTE = {"fontsize": 8, "ha": "left", "va": "center", "textcoords": "offset points", "zorder": 9}
BOX = {"boxstyle": "round,pad=0.25", "fc": "#fffbe6", "ec": "#b8860b", "lw": 0.8}


def annotate(ax, trace: asyncsim.Trace) -> int:
    """Write on the chart what each deposit step did; returns the final balance.

    The read and the write are replayed from the trace in the order the steps ran
    (two steps at one instant run one after the other), so the notes are the
    program's own story, not hand-placed text. The schedule's lateness is drawn by the
    chart itself (the hatched part of the late sleep), from the trace's ``delays``.
    """
    rows = {tid: y for y, tid in enumerate(row_order(trace))}
    deposits = [t.id for t in trace.tasks if t.coroutine == "Account.deposit"]
    amount = dict(zip(deposits, AMOUNTS, strict=True))
    read_step = {
        tid: [s for s in trace.steps_of(tid) if s.blocked == "sleep"][-1] for tid in deposits
    }
    balance, seen, order = 0, {}, 0
    for step in trace.steps:
        if step.task not in amount:
            continue
        x, y = step.start_ns / 1e9, rows[step.task]
        if step is read_step[step.task]:
            seen[step.task] = balance
            text = f"reads {balance}"
        elif step.blocked == "done":
            balance = seen[step.task] + amount[step.task]
            text = f"writes {seen[step.task]} + {amount[step.task]} = {balance}"
        else:
            continue
        order += 1
        late = x > 0.8 * trace.end_ns / 1e9  # near the right edge: write it on the left
        style = {**NOTE, "ha": "right"} if late else NOTE
        ax.annotate(f"{order}. {text}", (x, y), xytext=(-6 if late else 6, -13), bbox=BOX, **style)
    return balance


def draw(schedule: asyncsim.Schedule, path: Path, title: str) -> asyncsim.Run:
    """Run the example under ``schedule`` with a trace and save its Gantt chart to ``path``."""
    run = asyncsim.simulate(bug_lost_update.main(), schedule=schedule, trace=True)
    assert run.trace is not None
    figure = run.gantt(title=title)
    width, height = figure.get_size_inches()
    figure.set_size_inches(width, height + 1.0)  # room for the notes
    balance = annotate(figure.axes[0], run.trace)
    assert balance == run.result, (balance, run.result)  # the notes tell the run's story
    figure.savefig(path)
    print(f"{path.relative_to(ROOT)}: balance {run.result} after {run.elapsed:.9g} virtual s")
    return run


def draw_seed_pair(path: Path) -> None:
    """The README's picture: examples/seed_pair.py replayed as `asyncsim run` does."""
    run = asyncsim.run_script(ROOT / "examples" / "seed_pair.py", trace=True)
    run.gantt(str(path), title="examples/seed_pair.py: 4 s overlapped, then 4 s + 3 s in sequence")
    print(f"{path.relative_to(ROOT)}: {run.elapsed:.9g} virtual s")


def draw_gather(path: Path) -> None:
    """examples/gather.py with the real aiohttp against the modeled example.com."""
    examples = ROOT / "examples"
    models = asyncsim.load_model(examples / "net_example_com.py")
    run = asyncsim.run_script(examples / "gather.py", trace=True, **models)
    run.gantt(str(path), title="examples/gather.py: ten aiohttp requests at once")
    print(f"{path.relative_to(ROOT)}: {run.elapsed:.9g} virtual s")


def draw_whatif(path: Path) -> None:
    """The README's causal profile: examples/whatif_fetch.py, 20 seeds, in this process."""
    import whatif_fetch

    profile = whatif_fetch.profile(seeds=20, executor="inline")
    profile.plot(path)
    print(f"{path.relative_to(ROOT)}: {profile.runs} runs")


def main() -> None:
    docs = ROOT / "docs"
    draw_whatif(docs / "whatif_fetch.png")
    draw_seed_pair(docs / "seed_pair.png")
    draw_gather(docs / "gather.png")
    schedule = bug_lost_update.hunt()
    replay = schedule.to_string()
    print(f"minimal failing schedule: Schedule.from_string({replay!r})")
    draw(
        asyncsim.Schedule.from_string(replay),
        docs / "lost_update.png",
        f"lost update: balance 50, not 150, under Schedule.from_string({replay!r})",
    )
    draw(asyncsim.Schedule(), docs / "lost_update_punctual.png", "punctual timers: balance 150")
    architecture_picture.draw(docs / "architecture.png")
    print("docs/architecture.png written")
    if chromium_path() is None:
        print("Chromium is not installed: the screenshots (make_screenshots.py) are not redone")
    else:
        make_screenshots.main()


if __name__ == "__main__":
    main()
