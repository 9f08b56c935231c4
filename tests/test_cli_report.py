"""`asyncsim run --report/--gantt`, `asyncsim demo` and `asyncsim report` write reports safely."""

import re
import shutil

import asyncsim
from asyncsim.cli.main import example_scripts, main
from asyncsim.report.folder import MARKER
from asyncsim.report.loader import load_trace

from .conftest import EXAMPLES


def test_run_writes_a_report_and_a_gantt_chart_for_every_loop_of_the_script(tmp_path, capsys):
    code = main(
        [
            "run",
            str(EXAMPLES / "seed_pair.py"),
            "--report",
            str(tmp_path / "r"),
            "--gantt",
            str(tmp_path / "g.svg"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.splitlines() == ["4.0", "7.0"]
    assert f"report written to {tmp_path / 'r' / 'index.html'}" in captured.err
    trace = asyncsim.Trace.from_json((tmp_path / "r" / "asyncsim-trace.json").read_text())
    assert trace.mains == (0, 2) and trace.elapsed == 11.0
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()[:400]


def test_report_options_after_a_double_dash_go_to_the_script(tmp_path, capsys):
    script = tmp_path / "echo.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    code = main(["run", str(script), "--report", str(tmp_path / "r"), "--", "--report", "x"])
    assert code == 0
    assert capsys.readouterr().out == "['--report', 'x']\n"
    assert (tmp_path / "r" / "index.html").exists()


def test_run_refuses_a_user_folder_before_running_and_force_overrides(tmp_path, capsys):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    code = main(["run", str(EXAMPLES / "seed_pair.py"), "--report", str(user)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # refused before the script ran
    assert "not empty and was not created by asyncsim" in captured.err
    assert main(["run", "--force", str(EXAMPLES / "seed_pair.py"), "--report", str(user)]) == 0
    assert (user / "notes.txt").read_text() == "keep me" and (user / "index.html").exists()


def test_demo_writes_a_report_per_example_and_an_index_linking_them(tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("the user's file")
    assert main(["demo", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    names = [p.stem for p in example_scripts(EXAMPLES)]
    for name in names:
        assert (out / name / "index.html").exists()
        assert f"report: {out / name / 'index.html'}" in printed
        assert f'href="{name}/index.html"' in (out / "index.html").read_text()
    assert "4.0\n7.0\n--- seed_pair.py: 11 s virtual" in printed
    assert printed.rstrip().endswith(f"Reports: {out / 'index.html'}")
    assert (out / "README.md").read_text() == "the user's file"
    assert (out / MARKER).exists()
    index = (out / "index.html").read_text()
    # the bug hunts report the failing schedule's replay, with the injected lateness
    lost = load_trace(out / "bug_lost_update")
    assert lost.elapsed == 0.3 and [d.late_ns for d in lost.delays] == [100_000_000]
    assert lost.title == "bug_lost_update.py: The failing schedule the hunt finds, replayed"
    leak = load_trace(out / "bug_timeout_leak")
    assert leak.error is not None and "(raised Deadlock)" in index
    # the CPU example runs with its CPU model: crunch costs 2 s, the first beat is late
    cpu = load_trace(out / "cpu_blocking")
    assert cpu.elapsed == 2.2 and "--cpu crunch=2.0" in index
    assert "heartbeat 1 at 2.00 s (1.90 s late)" in printed
    # the sweep example's folder holds its sweep report, titled by function and script
    assert (
        "<h1>Sweep of main() in sweep_concurrency.py</h1>"
        in (out / "sweep_concurrency" / "index.html").read_text()
    )
    # the index's numbers are the report's numbers
    seed_pair = load_trace(out / "seed_pair")
    row = index.split('href="seed_pair/index.html"')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="n">([^<]*)</td>', row)
    assert cells[0] == "11" and cells[3] == f"{seed_pair.callbacks:,}"
    assert cells[4] == f"{len(seed_pair.tasks):,}"


def test_demo_never_overwrites_an_index_page_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("my page")
    assert main(["demo", "-o", str(out)]) == 2
    assert "was not written by asyncsim" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "my page"
    assert [p.name for p in out.iterdir()] == ["index.html"]


def test_report_rebuilds_from_a_saved_trace(tmp_path, capsys):
    trace = asyncsim.simulate(_program(), trace=True).trace
    (tmp_path / "t.json").write_text(trace.to_json())
    assert main(["report", str(tmp_path / "t.json"), "-o", str(tmp_path / "out")]) == 0
    assert "report written to" in capsys.readouterr().err
    shutil.copy(tmp_path / "out" / "trace.json", tmp_path / "chrome.json")
    assert main(["report", str(tmp_path / "chrome.json"), "-o", str(tmp_path / "o2")]) == 2
    assert "is a Chrome trace-event file" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o3")]) == 2


async def _program():
    import asyncio

    await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2))
