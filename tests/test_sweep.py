"""asyncsim.sweep: grids x seeds on virtual time, deterministic tables, replay, resume."""

import asyncio
import io
import json
import math
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import asyncsim
from asyncsim.sweeps.progress import Progress
from asyncsim.sweeps.results import percentile

from . import sweep_workloads as w


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture(scope="module")
def inline_fetches():
    return asyncsim.sweep(
        w.fetches, params={"concurrency": [1, 3, 6]}, seeds=12, executor="inline", progress=False
    )


def fetches_on(executor):
    return asyncsim.sweep(
        w.fetches, params={"concurrency": [1, 3, 6]}, seeds=12, executor=executor, progress=False
    )


# --------------------------------------------------------------------------- the table


def test_every_point_and_seed_runs_in_grid_order_with_exact_virtual_times():
    result = asyncsim.sweep(
        w.sleeper,
        params={"delay": [0.5, 2], "count": [1, 3]},
        seeds=[7, 8],
        executor="inline",
        progress=False,
    )
    assert [(r.point, r.seed) for r in result.records] == [
        ({"delay": 0.5, "count": 1}, 7),
        ({"delay": 0.5, "count": 1}, 8),
        ({"delay": 0.5, "count": 3}, 7),
        ({"delay": 0.5, "count": 3}, 8),
        ({"delay": 2, "count": 1}, 7),
        ({"delay": 2, "count": 1}, 8),
        ({"delay": 2, "count": 3}, 7),
        ({"delay": 2, "count": 3}, 8),
    ]
    assert [r.elapsed for r in result.records] == [0.5, 0.5, 1.5, 1.5, 2.0, 2.0, 6.0, 6.0]
    assert all(r.ok and r.wall > 0 for r in result.records)
    assert [r.metrics["sleeps"] for r in result.records] == [1, 1, 3, 3, 1, 1, 3, 3]
    assert result.params == ("delay", "count")


def test_a_fixed_value_and_an_explicit_list_of_points_are_grids_too():
    fixed = asyncsim.sweep(
        w.sleeper, params={"delay": 1.5, "count": [2]}, seeds=1, executor="inline", progress=False
    )
    assert [(r.point, r.elapsed) for r in fixed] == [({"delay": 1.5, "count": 2}, 3.0)]
    listed = asyncsim.sweep(
        w.sleeper,
        params=[{"delay": 1}, {"delay": 0.25, "count": 4}],
        seeds=1,
        executor="inline",
        progress=False,
    )
    assert [r.elapsed for r in listed] == [1.0, 1.0]


def test_the_summary_gives_nearest_rank_percentiles_per_point():
    result = asyncsim.sweep(
        w.sleeper, params={"delay": [1]}, seeds=range(1, 101), executor="inline", progress=False
    )
    assert [r.elapsed for r in result] == [1.0] * 100
    by_seed = asyncsim.sweep(w.by_seed, seeds=200, executor="inline", progress=False)
    values = sorted(r.elapsed for r in by_seed)
    row = by_seed.summary().rows[0]
    assert row["runs"] == 200 and row["errors"] == 0
    assert row["stats"]["elapsed"] == {
        "p50": values[99],
        "p90": values[179],
        "p99": values[197],
        "max": values[199],
    }
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(v) for v in range(1, 101)], 99) == 99.0
    assert math.isnan(percentile([], 50))


def test_the_summary_text_table_has_a_line_per_point_and_value(inline_fetches):
    text = str(inline_fetches.summary()).splitlines()
    assert text[0].split() == [
        "concurrency", "runs", "errors", "value", "p50", "p90", "p99", "max"
    ]  # fmt: skip
    assert text[2].split()[:4] == ["1", "12", "0", "elapsed"]
    assert text[3].split()[0] == "draw"
    errors = len(inline_fetches.where(concurrency=3)) - len(
        [r for r in inline_fetches.where(concurrency=3) if r.ok]
    )
    assert text[4].split()[:4] == ["3", "12", str(errors), "elapsed"]


def test_metrics_come_from_the_returned_dict_and_from_a_metrics_callable():
    result = asyncsim.sweep(
        w.sleeper,
        params={"delay": [1], "count": [2]},
        seeds=1,
        metrics=w.steps_metric,
        executor="inline",
        progress=False,
    )
    (record,) = result.records
    assert record.metrics == {"sleeps": 2, "twice_steps": 2 * record.steps}
    assert result.metric_names() == ["sleeps", "twice_steps"]


def test_a_run_that_raises_is_recorded_with_its_seed_and_traceback_and_the_sweep_continues(
    inline_fetches,
):
    failed = inline_fetches.errors
    assert failed, "the workload fails for some seeds at concurrency 3"
    assert {r.point["concurrency"] for r in failed} == {3}
    assert len(inline_fetches) == 36  # every other run still ran
    for record in failed:
        assert record.outcome == "error"
        assert record.error_type == "ConnectionError"
        assert record.error_message == "service dropped the connection after 6 requests"
        assert record.traceback.startswith("Traceback (most recent call last):")
        assert "sweep_workloads.py" in record.traceback and "in fetches" in record.traceback
        assert "ConnectionError: service dropped" in record.traceback
        assert record.elapsed > 0 and record.metrics == {}
        rerun = asyncsim.simulate(w.fetches(3), seed=record.seed)
        assert isinstance(rerun.exception, ConnectionError)
        assert rerun.elapsed == record.elapsed


def test_a_function_that_returns_no_coroutine_is_an_error_row():
    def not_async(delay):
        return delay

    result = asyncsim.sweep(
        not_async, params={"delay": [1]}, seeds=1, executor="inline", progress=False
    )
    (record,) = result.records
    assert record.error_type == "TypeError"
    assert "returned int, not a coroutine" in record.error_message


# --------------------------------------------------------------------------- determinism


def test_the_same_sweep_twice_gives_the_same_table(inline_fetches):
    again = fetches_on("inline")
    assert again.records == inline_fetches.records
    assert [r.elapsed for r in again] == [r.elapsed for r in inline_fetches]
    assert len({r.elapsed for r in again}) > 20  # seeds really change the runs


def test_a_process_pool_gives_the_same_table_as_one_process(inline_fetches, pool):
    assert fetches_on(pool).records == inline_fetches.records


def test_the_default_executor_gives_the_same_table(inline_fetches):
    assert fetches_on(None).records == inline_fetches.records


def test_threads_give_the_same_table_because_runs_in_one_process_never_overlap(inline_fetches):
    with ThreadPoolExecutor(max_workers=3) as threads:
        assert fetches_on(threads).records == inline_fetches.records


def test_a_dask_local_cluster_gives_the_same_table_as_the_local_one(inline_fetches):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert fetches_on(client.get_executor()).records == inline_fetches.records


def test_replaying_one_row_alone_gives_the_same_record(inline_fetches):
    for record in [inline_fetches.records[5], inline_fetches.errors[0]]:
        replay = inline_fetches.replay(record)
        assert replay.record == record
        assert replay.run.elapsed == record.elapsed
    same = asyncsim.sweep_replay(w.fetches, {"concurrency": 6}, 4)
    assert same.record == inline_fetches.where(concurrency=6)[4]
    assert inline_fetches.replay({"concurrency": 6}, 4).record == same.record


def test_replaying_one_row_twice_gives_the_same_trace(inline_fetches, tmp_path):
    record = inline_fetches.records[3]
    first, second = (inline_fetches.replay(record, trace=True) for _ in range(2))
    assert first.record == second.record == record
    assert first.trace is not None and first.trace == second.trace
    assert first.trace.to_json() == second.trace.to_json()
    assert first.report is None
    reported = inline_fetches.replay(record, report_dir=tmp_path / "a")
    assert reported.record == record and reported.trace.elapsed == record.elapsed
    assert reported.report == tmp_path / "a" / "index.html" and reported.report.is_file()


# --------------------------------------------------------------------------- results files


def test_runs_stream_to_a_jsonl_file_that_loads_back_as_the_same_table(tmp_path, inline_fetches):
    out = tmp_path / "runs.jsonl"
    result = asyncsim.sweep(
        w.fetches,
        params={"concurrency": [1, 3, 6]},
        seeds=12,
        executor="inline",
        out=out,
        progress=False,
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["kind"] == "sweep" and lines[0]["fn"] == "tests.sweep_workloads.fetches"
    assert [line["kind"] for line in lines[1:]] == ["run"] * 36
    loaded = asyncsim.load_sweep(out)
    assert loaded.records == result.records == inline_fetches.records
    assert loaded.params == ("concurrency",)
    with pytest.raises(ValueError, match="does not know its function"):
        loaded.replay(loaded.records[0])
    assert (
        asyncsim.load_sweep(out, fn=w.fetches).replay(loaded.records[0]).record == loaded.records[0]
    )


def test_an_existing_results_file_is_not_overwritten_without_resume_or_overwrite(tmp_path):
    out = tmp_path / "runs.jsonl"
    out.write_text("precious\n")
    with pytest.raises(FileExistsError, match=r"runs.jsonl.*resume=True.*overwrite=True"):
        asyncsim.sweep(w.sleeper, params={"delay": [1]}, seeds=1, executor="inline", out=out)
    assert out.read_text() == "precious\n"
    asyncsim.sweep(
        w.sleeper,
        params={"delay": [1]},
        seeds=2,
        executor="inline",
        out=out,
        overwrite=True,
        progress=False,
    )
    assert len(asyncsim.load_sweep(out)) == 2


def test_resume_after_an_interrupted_sweep_does_not_redo_finished_runs(tmp_path):
    out = tmp_path / "runs.jsonl"
    grid = {"params": {"n": [1, 2]}, "seeds": 5, "executor": "inline", "progress": False}
    w.CALLS.clear()
    w.INTERRUPT_AT[:] = [(2, 1)]  # Ctrl-C during the 7th run: n=2, seed=1
    with pytest.raises(KeyboardInterrupt):
        asyncsim.sweep(w.counted, out=out, **grid)
    finished = [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0)]
    assert list(w.CALLS) == finished
    assert len(asyncsim.load_sweep(out)) == 6
    with open(out, "a") as handle:  # killed while writing a line
        handle.write('{"kind": "run", "point": {"n"')
    w.CALLS.clear()
    resumed = asyncsim.sweep(w.counted, out=out, resume=True, **grid)
    assert w.CALLS == [(2, 1), (2, 2), (2, 3), (2, 4)]
    assert [(r.point["n"], r.seed) for r in resumed] == [*finished, (2, 1), (2, 2), (2, 3), (2, 4)]
    assert [r.elapsed for r in resumed] == [1.0] * 5 + [2.0] * 5
    fresh = asyncsim.sweep(w.counted, **grid)
    assert resumed.records == fresh.records == asyncsim.load_sweep(out).records
    w.CALLS.clear()
    asyncsim.sweep(w.counted, out=out, resume=True, **{**grid, "seeds": 6})  # more seeds
    assert w.CALLS == [(1, 5), (2, 5)]


def test_resume_refuses_a_file_written_by_another_function(tmp_path):
    out = tmp_path / "runs.jsonl"
    asyncsim.sweep(
        w.sleeper, params={"delay": [1]}, seeds=1, executor="inline", out=out, progress=False
    )
    with pytest.raises(ValueError, match=r"cannot resume .*sleeper.*counted"):
        asyncsim.sweep(
            w.counted, params={"n": [1]}, seeds=1, executor="inline", out=out, resume=True
        )


def test_a_results_file_with_a_broken_line_in_the_middle_is_an_error(tmp_path):
    out = tmp_path / "runs.jsonl"
    out.write_text('{"kind": "sweep"}\nnot json\n{"kind": "sweep"}\n')
    with pytest.raises(ValueError, match=r"line 2 is not a sweep record"):
        asyncsim.load_sweep(out)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"params": {"concurency": [1]}}, ValueError, r"unknown parameter 'concurency' for "
         r"fetches\(concurrency, requests=6\) \(did you mean 'concurrency'\?\)"),
        ({"params": {"requests": [1]}}, ValueError, r"point \{'requests': 1\} does not fit "
         r"fetches\(concurrency, requests=6\): missing a required argument: 'concurrency'"),
        ({"params": {"concurrency": []}}, ValueError, r"params\['concurrency'\] is empty"),
        ({"params": []}, ValueError, r"params is an empty list of points"),
        ({"seeds": []}, ValueError, r"seeds is empty"),
        ({"seeds": 0}, ValueError, r"seeds must be at least 1"),
        ({"seeds": [1, 2, 1]}, ValueError, r"repeated: \[1\]"),
        ({"seeds": [1.5]}, TypeError, r"each seed must be an int or a str, got 1.5"),
        ({"params": {"concurrency": {1, 2}}}, TypeError, r"params\['concurrency'\] is a set"),
        ({"params": {"concurrency": [[1]]}}, TypeError, r"params\['concurrency'\]: values must "
         r"be JSON scalars .* got \[1\]"),
        ({"params": {"concurrency": [math.inf]}}, TypeError, r"got inf"),
        ({"executor": "cluster"}, ValueError, r"executor must be .* got 'cluster'"),
        ({"executor": object()}, TypeError, r"executor must be a concurrent.futures.Executor"),
        ({"workers": 0}, ValueError, r"workers must be an integer >= 1, got 0"),
        ({"until": -1}, ValueError, r"until"),
        ({"progress": "yes"}, ValueError, r"progress must be True, False or 'force'"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_run_starts(tmp_path, kwargs, error, message):
    out = tmp_path / "runs.jsonl"
    call = {"params": {"concurrency": [1]}, "seeds": 2, "executor": "inline", "out": out}
    with pytest.raises(error, match=message):
        asyncsim.sweep(w.fetches, **{**call, **kwargs})
    assert not out.exists()


def test_a_function_that_cannot_be_pickled_is_refused_for_processes(tmp_path):
    calls = []

    async def local(n):
        calls.append(n)

    out = tmp_path / "runs.jsonl"
    for executor in (None, "processes"):
        with pytest.raises(TypeError, match=r"fn=.*local.* cannot be pickled .*executor='inline'"):
            asyncsim.sweep(local, params={"n": [1]}, seeds=1, executor=executor, out=out)
    with pytest.raises(TypeError, match=r"metrics=.*lambda.* cannot be pickled"):
        asyncsim.sweep(
            w.sleeper, params={"delay": [1]}, metrics=lambda run: {}, executor="processes"
        )
    assert not out.exists() and calls == []
    result = asyncsim.sweep(local, params={"n": [1]}, seeds=2, executor="inline", progress=False)
    assert calls == [1, 1] and len(result) == 2


def test_passing_a_coroutine_instead_of_the_function_is_refused():
    coro = w.sleeper(1)
    with pytest.raises(TypeError, match=r"the async function itself \(main, not main\(\)\)"):
        asyncsim.sweep(coro, seeds=1)
    coro.close()


def test_a_sweep_inside_a_simulation_runs_in_process_on_its_own_clocks():
    async def local(delay):  # cannot be pickled: only an in-process sweep can run it
        await asyncio.sleep(delay)

    with asyncsim.Simulation() as outer:
        result = asyncsim.sweep(local, params={"delay": [2, 3]}, seeds=2, progress=False)
        assert [r.elapsed for r in result] == [2.0, 2.0, 3.0, 3.0]
        assert outer.elapsed == 0.0


def test_a_sweep_from_a_running_event_loop_is_refused():
    async def outer():
        asyncsim.sweep(w.sleeper, params={"delay": [2]}, seeds=1, executor="inline")

    with pytest.raises(RuntimeError, match=r"cannot be called from a running event loop"):
        asyncsim.run(outer())


# --------------------------------------------------------------------------- progress


def test_the_progress_bar_shows_done_total_rate_and_eta_and_a_final_line():
    stream = io.StringIO()
    bar = Progress(10, mode="force", stream=stream)
    bar.advance(10, errors=1)
    bar.close()
    text = stream.getvalue()
    assert "\r[############################] 10/10 runs, 1 errors" in text
    assert "runs/s  ETA 00:00" in text
    assert text.splitlines()[-1].lstrip("\r ").startswith("sweep done: 10/10 runs, 1 errors in ")


def test_without_a_terminal_only_the_final_line_is_written():
    stream = io.StringIO()
    bar = Progress(4, stream=stream, done=1)
    bar.advance(2)
    bar.close(interrupted=True)
    assert stream.getvalue().startswith("sweep interrupted: 3/4 runs (1 from an earlier run) in ")
    assert "\r" not in stream.getvalue()
    silent = io.StringIO()
    Progress(4, mode=False, stream=silent).close()
    assert silent.getvalue() == ""


def test_to_pandas_has_a_row_per_run_and_a_column_per_parameter_and_metric(inline_fetches):
    pytest.importorskip("pandas")
    frame = inline_fetches.to_pandas()
    assert len(frame) == 36
    assert list(frame.columns[:3]) == ["concurrency", "seed", "elapsed"]
    assert "draw" in frame.columns
    assert list(frame["elapsed"]) == [r.elapsed for r in inline_fetches]
