"""A what-if profile shown: the causal-profile plot, the HTML page, ``asyncsim profile``."""

import json

import pytest

import asyncsim
from asyncsim.cli.main import main

from . import whatif_programs as w


@pytest.fixture(scope="module")
def chain():
    return asyncsim.whatif(
        w.chain_and_side, slowdowns=[4, 8], seeds=3, executor="inline", progress=False
    )


def test_the_plot_draws_a_line_per_component_faster_and_slower(chain, tmp_path):
    figure = chain.plot(tmp_path / "profile.png")
    assert (tmp_path / "profile.png").stat().st_size > 10_000
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == [
        "faster: makespan p50",
        "faster: makespan p99",
        "slower: makespan p50",
        "slower: makespan p99",
    ]
    line = axes[0].get_lines()[0]  # the best ranked: the 2 s sleep
    assert list(line.get_xdata()) == [0.0, 25.0, 50.0, 100.0]
    assert [round(y, 6) for y in line.get_ydata()] == [0.0, 16.666667, 33.333333, 66.666667]
    with pytest.raises(ValueError, match=r"path must be a file name ending in \.png"):
        chain.plot(tmp_path / "profile.txt")


def test_the_page_links_the_first_runs_timeline_report_and_back(chain, tmp_path):
    index = chain.report(tmp_path / "out")
    html = index.read_text()
    assert 'href="baseline/index.html"' in html and "data:image/png;base64," in html
    assert "Answers" in html and "paired bootstrap" in html
    baseline = (tmp_path / "out" / "baseline" / "index.html").read_text()
    assert 'href="../index.html"' in baseline
    data = json.loads((tmp_path / "out" / "profile.json").read_text())
    assert data["baseline"] == {"p50": 3.0, "p90": 3.0, "p99": 3.0}
    assert (tmp_path / "out" / "profile.txt").read_text() == chain.table() + "\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty and was not created by asyncsim"):
        chain.report(mine)


SCRIPT = """
import asyncio


async def main(pause=1.0):
    slow = asyncio.create_task(asyncio.sleep(pause))
    await asyncio.sleep(0.5)
    await slow
"""


def test_asyncsim_profile_prints_the_ranked_table_and_writes_the_page(tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    argv = [
        "profile", str(script), "--seeds", "2", "--speedups", "0.5", "--executor", "inline",
        "--param", "pause=2", "--no-progress", "-o", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "make sleep in main() at app.py:6 50 % faster -> makespan -50.0 % (p50)" in printed
    assert "make sleep in main() at app.py:7 50 % faster -> makespan +0.0 % (p50)" in printed
    assert {p.name for p in out.iterdir()} >= {
        "index.html", "profile.png", "profile.txt", "profile.json", "results.jsonl", "baseline"
    }  # fmt: skip
    assert asyncsim.load_sweep(out / "results.jsonl").records[0].elapsed == 2.0
    assert main(argv) == 2  # a profile is there already
    assert "already holds a profile: pass --force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--component", "service:nope"], "'service:nope' is not a component of this program"),
        (["--speedups", "2"], "speedups[0] must be a finite speedup from -99.0 to 1.0, got 2.0"),
        (["--slowdowns", "x"], "expected numbers separated by commas"),
        (["--func", "missing"], "has no function 'missing'"),
    ],
)
def test_asyncsim_profile_refuses_bad_input_with_exit_code_2(tmp_path, capsys, extra, message):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    argv = ["profile", str(script), "--seeds", "1", "--executor", "inline", "--no-progress"]
    try:
        code = main([*argv, *extra])
    except SystemExit as exited:  # argparse refuses a malformed option itself
        code = exited.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_asyncsim_profile_never_writes_into_a_folder_of_the_users(tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    argv = ["profile", str(script), "--seeds", "1", "--executor", "inline", "-o", str(mine)]
    assert main(argv) == 2
    assert "is not empty and was not created by asyncsim" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_asyncsim_profile_with_slowdowns_only(tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    argv = ["profile", str(script), "--seeds", "1", "--executor", "inline", "--no-progress"]
    assert main([*argv, "--speedups", "none", "--slowdowns", "2"]) == 0
    printed = capsys.readouterr().out
    assert "let sleep in main() at app.py:6 2x as slow -> makespan +100.0 % (p50)" in printed
    assert "faster" not in printed
