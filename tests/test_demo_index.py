"""`asyncsim demo`'s index: a table of numbers and links; programs reported as they ask."""

import re

from asyncsim.cli.demo_runs import call_demo_run, demo_cpu, demo_run_function
from asyncsim.cli.main import main
from asyncsim.report.demo_index import DemoEntry, write_demo_index
from asyncsim.report.loader import load_trace

from .conftest import EXAMPLES

HUNT = '''\
"""A hunt: ``find`` the failing run."""
# asyncsim: --demo-run failing_run
import asyncio

import asyncsim


async def main():
    await asyncio.sleep(0.25)
    return 1


def failing_run():
    """The failing run, replayed."""
    return asyncsim.simulate(main(), trace=True)


if __name__ == "__main__":
    print("hunting:", asyncsim.run(main()))
'''

BUSY = '''\
"""Busy: a CPU-bound coroutine."""
# asyncsim: --cpu crunch=1.5
import asyncio


async def crunch():
    return sum(range(10))


async def main():
    await asyncio.gather(crunch(), asyncio.sleep(0.5))


if __name__ == "__main__":
    asyncio.run(main())
'''


def test_examples_name_their_cpu_model_and_the_run_the_demo_reports():
    assert demo_cpu(EXAMPLES / "cpu_blocking.py") == "crunch=2.0"
    assert demo_cpu(EXAMPLES / "seed_pair.py") is None
    for name in ("bug_lost_update", "bug_cache_race", "bug_timeout_leak"):
        assert demo_run_function(EXAMPLES / f"{name}.py") == "failing_run"
    assert demo_run_function(EXAMPLES / "sweep_concurrency.py") == "demo_sweep"
    assert demo_run_function(EXAMPLES / "gather.py") is None


def test_a_demo_run_function_is_called_without_running_the_main_block(tmp_path, capsys):
    script = tmp_path / "hunt.py"
    script.write_text(HUNT)
    demo = call_demo_run(script, "failing_run")
    assert demo.about == "The failing run, replayed"
    assert demo.outcome.elapsed == 0.25 and demo.outcome.trace is not None
    assert "hunting" not in capsys.readouterr().out


def test_the_demo_reports_the_named_run_and_runs_with_the_named_cpu_model(tmp_path, capsys):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "hunt.py").write_text(HUNT)
    (examples / "busy.py").write_text(BUSY)
    out = tmp_path / "out"
    assert main(["demo", "--examples", str(examples), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "=== [1/2] busy.py (--cpu crunch=1.5) ===" in printed
    busy, hunt = load_trace(out / "busy"), load_trace(out / "hunt")
    assert busy.elapsed == 2.0  # crunch runs first and costs 1.5 s; then the 0.5 s sleep starts
    assert hunt.elapsed == 0.25 and hunt.title == "hunt.py: The failing run, replayed"
    assert "reported: The failing run, replayed: 0.25 s virtual in " in printed
    index = (out / "index.html").read_text()
    rows = re.findall(r"<tr><td>.*?</tr>", index)
    assert len(rows) == 2
    assert '<a href="hunt/index.html">hunt</a>' in rows[1]
    assert "A hunt: find the failing run." in rows[1]  # the docstring, without the ``
    assert re.findall(r'<td class="n">([^<]*)</td>', rows[1])[0::3] == [
        "0.25",
        f"{hunt.callbacks:,}",
    ]
    assert '<img loading="lazy" alt="timeline of hunt" src="hunt/timeline.png">' in index


def test_an_entry_says_its_numbers_as_every_view_does():
    entries = [
        DemoEntry(
            "seed_pair",
            "11 s virtual in 0.002 s wall (5,500× faster), 22 steps: ok",
            True,
            about="The classic pair",
            elapsed=11.0,
            wall=0.002,
            steps=22,
            tasks=3,
        ),
        DemoEntry(
            "sweep",
            "0 s virtual in 5 s wall, 0 steps: ok",
            True,
            reported="a sweep (120 runs over 6 points)",
            wall=5.31,
            steps=107_580,
            timeline=False,
        ),
        DemoEntry("broken", "0.5 s virtual: FAILED (exit code 1)", False, elapsed=0.5),
    ]
    assert entries[0].numbers() == "11 s virtual in 0.002 s wall (5,500× faster), 22 steps"
    assert entries[1].numbers() == "5.31 s wall, 107,580 steps in all"


def test_the_index_page_has_one_row_per_program_and_charts_only_for_timelines(tmp_path):
    entries = [
        DemoEntry("a", "1 s virtual: ok", True, about="A <b>", elapsed=1.0, wall=0.5, steps=3),
        DemoEntry("b", "FAILED (exit code 1)", False, timeline=False, steps=4),
    ]
    page = write_demo_index(tmp_path, entries).read_text()
    cells = re.findall(r'<td class="n">([^<]*)</td>', page)
    assert cells == ["1", "0.5", "2.0× faster", "3", "–", "–", "–", "", "4", "–"]
    assert "A &lt;b&gt;" in page and '<td class="bad">FAILED (exit code 1)</td>' in page
    assert page.count("<figure") == 1 and 'src="a/timeline.png"' in page
