"""Every benchmark runs at a tiny size and checks its exact virtual result, so none can rot.

No wall-clock assertions here: speed targets live in benchmarks/RESULTS.md.
"""

import asyncio

import pytest

from asyncsim.clock import deadline_ticks
from benchmarks import workloads
from benchmarks.harness import CASES, interleaved, peak_rss_kb
from benchmarks.run import main, parse_args
from benchmarks.tracing import main as w5_main
from benchmarks.tracing import measure_w5

TINY = {"w1": 2, "w2": 20, "w3i": 40, "w3ii": 40, "w4": 60}


@pytest.mark.parametrize("key", sorted(TINY))
def test_every_implementation_of_a_workload_reaches_its_exact_result(key):
    case = CASES[key](TINY[key])
    timing = interleaved(case, rounds=2)
    assert set(timing.walls) == set(case.runners)
    assert all(len(walls) == 2 for walls in timing.walls.values())


def test_w2_asyncsim_finish_times_are_the_exact_tick_sums_of_each_task():
    case = workloads.w2_timers(3, k=2, others=False)
    finish = case.runners["asyncsim"]()
    delays = workloads.w2_delays(3, k=2)
    assert finish == [
        (deadline_ticks(delays[2 * i]) + deadline_ticks(delays[2 * i + 1])) / 1e9 for i in range(3)
    ]


def test_a_wrong_virtual_result_fails_the_check():
    case = workloads.w2_timers(5, others=False)
    finish = case.runners["asyncsim"]()
    finish[0] += 1e-9
    with pytest.raises(AssertionError):
        case.check("asyncsim", finish)


def test_the_seed_pair_workload_measures_exactly_4_and_7():
    assert workloads.w1_seed(1).runners["asyncsim"]() == [(4.0, 7.0)]


def test_list_scheduling_makespan_puts_each_job_on_the_earliest_free_machine():
    assert workloads.list_schedule_makespan([3, 1, 1, 1, 2], 2) == 5
    assert workloads.list_schedule_makespan([3, 1, 1, 1, 1], 2) == 4


def test_peak_rss_of_a_fresh_process_is_reported_in_kib():
    assert peak_rss_kb("w1", 1, "asyncsim") > 1024


def test_w5_runs_w2_traced_and_untraced_each_round_and_times_the_gantt_chart():
    w5 = measure_w5(20, rounds=2)
    assert len(w5.traced_wall) == len(w5.untraced_wall) == len(w5.traced_cpu) == 2
    assert w5.steps >= 20 * workloads.K and w5.gantt > 0
    text = w5.markdown()
    assert "traced/untraced wall time" in text and "Gantt chart of 20 tasks" in text


def test_w5_on_its_own_refuses_a_non_positive_size_naming_it(capsys):
    with pytest.raises(SystemExit):
        w5_main(["--tasks", "0"])
    assert "--tasks must be a positive integer, got 0" in capsys.readouterr().err


def test_the_runner_writes_a_results_table(tmp_path, capsys):
    out = tmp_path / "RESULTS.md"
    argv = ["--quick", "--rounds", "1", "--no-rss", "--output", str(out)]
    argv += ["--w1-reps", "1", "--w2-sizes", "10", "--w3-switches", "20", "--w4-requests", "20"]
    argv += ["--w5-tasks", "10", "--variant-sizes", "10", "--memory-tasks", "50"]
    args = parse_args(argv)
    assert args.w2_sizes == [1_000, 10_000]  # --quick wins over explicit sizes
    argv.remove("--quick")
    assert main(argv) == 0
    text = out.read_text()
    assert "| W2 timers | 10 |" in text and "## Machine" in text
    assert "asyncsim+schedule" in text and "asyncsim+trace" in text
    assert "## W2 under a schedule and traced" in text and "| 10 | asyncsim+trace |" in text
    assert "## Memory per sleeping task" in text and "| simpy |" in text
    assert "| W3 sleep(0) | 20 |" in capsys.readouterr().out


def test_bad_sizes_are_refused_naming_the_value(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--w2-sizes", "10,x"])
    assert "10,x" in capsys.readouterr().err


def test_every_timed_run_records_cpu_time_beside_wall_time():
    timing = interleaved(workloads.w2_timers(20, others=False), rounds=2)
    assert set(timing.cpus) == set(timing.walls)
    assert all(len(c) == 2 and min(c) >= 0 for c in timing.cpus.values())
    assert timing.ratio("asyncsim", "asyncsim") == 1.0


def test_w2_variants_run_under_a_schedule_and_traced_with_exact_finish_times():
    case = workloads.w2_timers(30, k=3, others=False, variants=True)
    for name in ("asyncsim+schedule", "asyncsim+trace"):
        case.check(name, case.runners[name]())


def test_bytes_per_sleeping_task_are_measured_for_each_implementation():
    from benchmarks.memory import bytes_per_task, memory_table

    assert 100 < bytes_per_task("simpy", 300) < bytes_per_task("asyncsim", 300)
    table = memory_table(100)
    assert "| floor |" in table and "| asyncsim |" in table


def test_the_levers_run_w2_with_each_lever_off_and_check_every_result():
    from asyncsim.core import active_core
    from benchmarks.levers import VARIANTS, measure, table

    if active_core() != "compiled":
        pytest.skip("the levers compare against the compiled core")
    times = measure(20, rounds=2)
    assert set(times) == {*VARIANTS, "simpy"} and all(len(t) == 2 for t in times.values())
    assert "| compiled, no fused loop |" in table(20, times)


def test_the_create_future_and_gc_levers_turn_their_lever_off_and_back_on():
    import gc

    import asyncsim
    from asyncsim.core import active_core, cores
    from benchmarks import levers

    if active_core() != "compiled":
        pytest.skip("the levers compare against the compiled core")

    def compiled_loop_has_create_future():
        with cores.use_core("compiled"):
            loop = asyncsim.new_event_loop()
        try:
            return "create_future" in loop.__dict__
        finally:
            loop.close()

    async def threshold_with_sleepers():
        sleepers = [asyncio.ensure_future(asyncio.sleep(1)) for _ in range(10_000)]
        await asyncio.sleep(0)
        gc.collect(0)
        threshold = gc.get_threshold()[0]
        await asyncio.gather(*sleepers)
        return threshold

    with levers._no_compiled_create_future():
        assert not compiled_loop_has_create_future()
    assert compiled_loop_has_create_future()
    with levers._fixed_gc_threshold():
        assert asyncsim.run(threshold_with_sleepers()) == 50_000
    assert asyncsim.run(threshold_with_sleepers()) == 80_000
