"""The sweep's pictures, its HTML report and `asyncsim sweep`."""

import json
import re

import pytest

import asyncsim
from asyncsim.cli.main import main
from asyncsim.sweeps.report import plot_distributions, plot_percentiles, write_sweep_report

from .conftest import EXAMPLES
from .sweep_workloads import fetches

APP = """\
import asyncio

async def main(delay, label="x"):
    await asyncio.sleep(delay)
    if label == "boom":
        raise ValueError("boom at " + str(delay))
    return {"half": delay / 2}

async def other(n):
    await asyncio.sleep(n)

if __name__ == "__main__":
    raise SystemExit("the main block must not run under asyncsim sweep")
"""


@pytest.fixture(scope="module")
def result():
    return asyncsim.sweep(
        fetches, params={"concurrency": [1, 3, 6]}, seeds=12, executor="inline", progress=False
    )


@pytest.fixture
def app(tmp_path):
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def test_percentile_curves_have_a_line_per_percentile_over_the_parameter(result):
    figure = plot_percentiles(result)
    (ax,) = figure.axes
    lines = ax.get_lines()
    # 12 seeds: the nearest-rank p99 is the max, one curve named for both
    assert [line.get_label() for line in lines] == ["p50", "p90", "p99 = max"]
    assert list(lines[0].get_xdata()) == [1, 3, 6]
    p99 = [r["stats"]["elapsed"]["p99"] for r in result.summary().rows]
    assert list(lines[2].get_ydata()) == p99
    assert ax.get_xlabel() == "concurrency" and ax.get_ylabel() == "elapsed (virtual s)"
    with pytest.raises(ValueError, match=r"x='nope' is not a parameter"):
        plot_percentiles(result, x="nope")


def test_ecdfs_and_histograms_have_one_curve_per_point(result):
    figure = plot_distributions(result, value="draw")
    ecdf, hist = figure.axes
    # the draw depends on the seed and the number of draws before it: the same at 1 and 6
    assert result.values("draw", concurrency=1) == result.values("draw", concurrency=6)
    assert [line.get_label() for line in ecdf.get_lines()] == [
        "concurrency=1 = concurrency=6 (identical)",
        "concurrency=3",
    ]
    steps = ecdf.get_lines()[0]
    assert list(steps.get_xdata()) == result.values("draw", concurrency=1)
    assert steps.get_ydata()[-1] == 1.0
    assert len(hist.patches) == 2


def test_the_html_report_is_self_contained_and_escapes_user_strings(tmp_path):
    from .sweep_workloads import labelled

    tricky = asyncsim.sweep(
        labelled,
        params={"label": ["<script>alert(1)</script>", "a&b!"]},
        seeds=1,
        executor="inline",
        progress=False,
    )
    index = write_sweep_report(tricky, tmp_path / "report", timelines=0)
    page = index.read_text()
    assert "<script>" not in page
    assert "<td>label=&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page
    assert "label=&#x27;a&amp;b!&#x27; seed=0: ValueError: a&amp;b!</summary>" in page
    assert page.count("data:image/png;base64,") == 4  # elapsed and the metric, two figures each
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # nothing loaded from outside
    with pytest.raises(FileExistsError, match=r"index.html.*overwrite=True"):
        write_sweep_report(tricky, tmp_path / "report")
    with pytest.raises(ValueError, match="timelines must be an integer >= 0, got -1"):
        write_sweep_report(tricky, tmp_path / "other", timelines=-1)
    with pytest.raises(TypeError, match=r"timelines must be an integer >= 0, got 1\.0"):
        write_sweep_report(tricky, tmp_path / "other", timelines=1.0)


def test_the_report_lists_errors_with_their_tracebacks_and_the_extreme_runs(result, tmp_path):
    index = result.report(tmp_path, timelines=1)
    page = index.read_text()
    assert f"<h2>Errors ({len(result.errors)})</h2>" in page
    first = result.errors[0]
    assert f"concurrency=3 seed={first.seed}: ConnectionError" in page
    assert "in fetches" in page
    slowest, fastest = result.extremes(1)
    assert f"<td>slowest</td><td>concurrency=1</td><td>{slowest[0].seed}</td>" in page
    assert f"<td>{fastest[0].elapsed:.6g}</td>" in page


def test_the_report_links_timeline_reports_of_the_slowest_and_fastest_runs(result, tmp_path):
    page = result.report(tmp_path, timelines=1).read_text()
    links = re.findall(r"href='(runs/[^']+)'", page)
    assert len(links) == 2
    assert all((tmp_path / link).is_file() for link in links)


def test_the_cli_sweeps_a_scripts_main_and_writes_results_summary_and_report(app, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        ["sweep", str(app), "--param", "delay=0.5,2", "--seeds", "3", "-o", str(out),
         "--executor", "inline", "--timelines", "0"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[0].split()[:4] == ["delay", "runs", "errors", "value"]
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.jsonl", "summary.txt"]
    loaded = asyncsim.load_sweep(out / "results.jsonl")
    assert [(r.point, r.seed, r.elapsed) for r in loaded] == [
        ({"delay": 0.5}, 0, 0.5),
        ({"delay": 0.5}, 1, 0.5),
        ({"delay": 0.5}, 2, 0.5),
        ({"delay": 2}, 0, 2.0),
        ({"delay": 2}, 1, 2.0),
        ({"delay": 2}, 2, 2.0),
    ]
    assert [r.metrics for r in loaded][::3] == [{"half": 0.25}, {"half": 1.0}]
    assert (out / "summary.txt").read_text() == captured.out
    assert "sweep done: 6/6 runs" in captured.err


def test_the_cli_refuses_to_overwrite_and_resumes_on_request(app, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", str(app), "--param", "delay=1", "--seeds", "2", "-o", str(out),
            "--executor", "inline", "--timelines", "0"]  # fmt: skip
    assert main(args) == 0
    before = (out / "results.jsonl").read_text()
    capsys.readouterr()
    assert main(args) == 2
    assert "is not empty: pass --resume" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == before
    assert main([*args, "--resume", "--seeds", "3"]) == 0
    assert "(2 from an earlier run)" in capsys.readouterr().err
    assert len(asyncsim.load_sweep(out / "results.jsonl")) == 3


def test_the_cli_exits_1_when_runs_raise_and_names_the_first(app, capsys):
    code = main(
        ["sweep", str(app), "--param", "delay=1,2", "--param", "label=ok,boom", "--seeds", "2",
         "--executor", "inline"]
    )  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "4 of 8 runs raised; first: delay=1 label='boom' seed=0: ValueError: boom at 1" in err


def test_the_cli_runs_another_function_on_worker_processes(app, capsys):
    code = main(["sweep", str(app), "--func", "other", "--param", "n=1,3", "--seeds", "4"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[:4] for line in out[2:]] == [["1", "4", "0", "elapsed"],
                                                      ["3", "4", "0", "elapsed"]]  # fmt: skip
    assert [line.split()[4:] for line in out[2:]] == [["1"] * 4, ["3"] * 4]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "dellay=1"], r"unknown parameter 'dellay' .*did you mean 'delay'"),
        (["--func", "nope"], r"app.py has no function 'nope' to sweep .*: main, other"),
        (["--param", "delay=1", "--param", "delay=2"], r"--param delay given twice"),
        (["--param", "delay=1", "--x", "seed"], r"--x 'seed' is not a swept parameter"),
    ],
)
def test_bad_cli_input_exits_2_with_a_message(app, capsys, args, message):
    assert main(["sweep", str(app), "--executor", "inline", *args]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_the_cli_has_no_single_seed_option(app, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["sweep", str(app), "--param", "delay=1", "--seed", "3"])
    assert exit.value.code == 2
    assert "unrecognized arguments: --seed 3" in capsys.readouterr().err


def test_cli_values_are_numbers_booleans_none_or_strings():
    from asyncsim.cli.sweep import parse_param

    assert parse_param("c=10,2.5,true,None,fast") == ("c", [10, 2.5, True, None, "fast"])
    assert parse_param("c=inf") == ("c", ["inf"])
    with pytest.raises(Exception, match=r"expected NAME=V1,V2"):
        parse_param("10,20")


def test_the_example_shows_p99_makespan_flattening_at_the_service_capacity():
    from sweep_concurrency import CAPACITY, knee, main

    exact = asyncsim.sweep(
        main,
        params={"concurrency": [1, 4, 8, 16], "requests": 20, "sigma": 0.0},
        seeds=2,
        executor="inline",
        progress=False,
    )
    # constant 0.1 s responses: ceil(20 / min(concurrency, 8)) waves of 0.1 s
    assert [r.elapsed for r in exact] == [2.0, 2.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]
    lognormal = asyncsim.sweep(
        main,
        params={"concurrency": [1, 2, 4, 8, 16, 32]},
        seeds=20,
        executor="inline",
        progress=False,
    )
    concurrency, p99 = knee(lognormal)
    assert concurrency == CAPACITY
    assert p99[1] > p99[2] > p99[4] > p99[8] == p99[16] == p99[32]
    waits = [r["stats"]["service_wait"]["p50"] for r in lognormal.summary().rows]
    assert waits[:4] == [0.0] * 4 and 0 < waits[4] < waits[5]


def test_the_example_results_file_round_trips_as_json(tmp_path):
    from sweep_concurrency import main as example_main

    out = tmp_path / "r.jsonl"
    asyncsim.sweep(
        example_main,
        params={"concurrency": [2]},
        seeds=2,
        executor="inline",
        out=out,
        progress=False,
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["fn"] == "sweep_concurrency.main" and len(rows) == 3
    assert EXAMPLES.joinpath("sweep_concurrency.py").is_file()


def test_identical_points_are_drawn_once_and_named_together_in_one_outside_legend():
    result = asyncsim.sweep(
        fetches, params={"concurrency": [1, 6, 12]}, seeds=5, executor="inline", progress=False
    )  # 6 requests: concurrency 6 and 12 run identically
    assert result.values("elapsed", concurrency=6) == result.values("elapsed", concurrency=12)
    figure = plot_distributions(result)
    ecdf, hist = figure.axes
    assert [line.get_label() for line in ecdf.get_lines()] == [
        "concurrency=1",
        "concurrency=6 = concurrency=12 (identical)",
    ]
    assert len(hist.patches) == 2
    (legend,) = figure.legends  # one legend for both plots ...
    figure.canvas.draw()
    box = legend.get_window_extent()
    for ax in (ecdf, hist):  # ... that covers neither
        assert not box.overlaps(ax.get_window_extent())
    assert [t.get_text() for t in legend.get_texts()] == [
        "concurrency=1",
        "concurrency=6 = concurrency=12 (identical)",
    ]


def test_the_report_is_titled_by_function_and_file_and_tells_elapsed_from_summed_wall(
    result, tmp_path
):
    page = result.report(tmp_path, timelines=0).read_text()
    assert "<h1>Sweep of fetches() in sweep_workloads.py</h1>" in page
    assert result.wall is not None and result.wall > 0
    assert (
        f"{result.wall:.3g} s wall time elapsed ({result.worker_wall:.3g} s summed over the runs"
        in page
    )
    assert result.worker_wall == sum(r.wall for r in result.records)
    loaded = asyncsim.load_sweep(_saved(result, tmp_path))
    assert loaded.wall is None
    assert "s wall time summed over the runs." in loaded.report(tmp_path / "again").read_text()


def _saved(result, tmp_path):
    return asyncsim.sweep(
        fetches,
        params={"concurrency": [1]},
        seeds=2,
        executor="inline",
        progress=False,
        out=tmp_path / "r.jsonl",
    ).path


def test_sweep_results_and_replays_have_short_reprs(result, tmp_path):
    assert repr(result) == (
        f"<SweepResult of fetches(): 36 runs over 3 points, {len(result.errors)} errors, "
        f"{result.wall:.3g} s wall>"
    )
    replay = result.replay(result.records[0], report_dir=tmp_path / "r")
    text = repr(replay)
    assert text.startswith("<SweepReplay concurrency=1 seed=0: <Run result=")
    assert f"report={str(replay.report)!r}>" in text
    assert len(text) < 400
