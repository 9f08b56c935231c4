"""Nothing of the user's is overwritten without asking, and bad input gets a clear error
(exit code 2 on the command line), never a traceback from inside asyncsim."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import asyncsim
from asyncsim.cli.main import main
from asyncsim.report.demo_index import DemoEntry, write_demo_index

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _traced_run():
    async def prog():
        await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2))

    return asyncsim.simulate(prog(), trace=True)


@pytest.fixture
def sweep_app(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import asyncio\nasync def main(delay=1.0):\n    await asyncio.sleep(delay)\n")
    return app


# -- data safety -----------------------------------------------------------------------


def test_sweep_resume_refuses_a_folder_holding_the_users_files(sweep_app, tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "index.html").write_text("mine")
    code = main(["sweep", str(sweep_app), "--seeds", "2", "-o", str(out), "--resume",
                 "--executor", "inline"])  # fmt: skip
    assert code == 2
    assert "holds files asyncsim did not write (index.html)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text() == "mine"


def test_sweep_resume_continues_a_folder_asyncsim_wrote(sweep_app, tmp_path, capsys):
    out = tmp_path / "d"
    args = ["sweep", str(sweep_app), "--seeds", "2", "-o", str(out), "--executor", "inline"]
    assert main(args) == 0
    assert main(args) == 2  # not empty: --resume or --overwrite
    assert main([*args, "--resume"]) == 0
    capsys.readouterr()


def test_gantt_refuses_to_overwrite_an_existing_file_unless_forced(tmp_path, capsys):
    run = _traced_run()
    png = tmp_path / "t.png"
    png.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="already exists"):
        run.gantt(png)
    assert png.read_bytes() == b"mine"
    run.gantt(png, force=True)
    assert png.read_bytes().startswith(b"\x89PNG")
    script = EXAMPLES / "seed_pair.py"
    assert main(["run", "--gantt", str(png), str(script)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_the_demo_index_percent_encodes_every_link(tmp_path):
    evil = "javascript:alert(1)<!--"
    page = write_demo_index(tmp_path, [DemoEntry(name=evil, summary="s", ok=True)]).read_text()
    assert 'href="javascript%3Aalert%281%29%3C%21--/index.html"' in page
    assert 'src="javascript%3Aalert%281%29%3C%21--/timeline.png"' in page
    assert "javascript:alert" not in page.replace("javascript:alert(1)&lt;", "")


def test_sweep_pool_workers_die_when_the_sweep_is_killed(tmp_path):
    holder = tmp_path / "holder.py"
    holder.write_text(
        "import os, sys, time\n"
        "from asyncsim.sweeps.runner import _pool\n"
        "from asyncsim.sweeps.worker import _alive\n"
        "with _pool('processes', 2) as (pool, count):\n"
        "    pids = sorted({pool.submit(os.getpid).result() for _ in range(8)})\n"
        "    print(' '.join(map(str, pids)), flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(holder)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(200):  # (the kernel delivers the workers' SIGKILL at once; allow 20 s)
        alive = [pid for pid in workers if _is_running(pid)]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == []


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # (a zombie has ended)
    except FileNotFoundError:
        return False


# -- bad input ---------------------------------------------------------------------------


def _corrupt(tmp_path, edit):
    data = json.loads(_traced_run().trace.to_json())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


def _set_step_column(column, value):
    def edit(data):
        steps = data["steps"]
        steps["rows"][0][steps["columns"].index(column)] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set_step_column("task", 999), "steps[0].task must be the id of one of the trace's"),
        (_set_step_column("task", -5), "steps[0].task must be the id of one of the trace's"),
        (_set_step_column("waker", 10**6), "steps[0].waker must be the id of one of"),
        (_set_step_column("start_ns", "x"), "steps[0].start_ns must be an integer, got 'x'"),
    ],
)
def test_a_corrupt_trace_is_a_clear_error_with_exit_code_2(tmp_path, capsys, edit, message):
    path = _corrupt(tmp_path, edit)
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "malformed asyncsim trace" in err and message in err
    assert "Traceback" not in err


def test_deeply_nested_json_is_a_clear_error_with_exit_code_2(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["report", str(path), "-o", str(tmp_path / "out")]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_model_files_and_sweep_scripts_with_errors_show_the_users_traceback_exit_2(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Path("raises.py").write_text("x = 1\nraise RuntimeError('bad model')\n")
    Path("syntax.py").write_text("def f(:\n")
    script = str(EXAMPLES / "seed_pair.py")
    assert main(["run", "--model", "raises.py", script]) == 2
    err = capsys.readouterr().err
    assert "model file 'raises.py' failed:" in err
    assert 'File "raises.py", line 2, in <module>' in err and "RuntimeError: bad model" in err
    assert "asyncsim/" not in err and "runpy" not in err  # only the user's own frames
    assert main(["run", "--model", "syntax.py", script]) == 2
    err = capsys.readouterr().err
    assert 'File "syntax.py", line 1' in err and "SyntaxError" in err
    assert main(["sweep", "syntax.py", "--seeds", "1", "--executor", "inline"]) == 2
    err = capsys.readouterr().err
    assert "script 'syntax.py' failed:" in err and "SyntaxError" in err
    assert "importlib" not in err


def test_a_schedule_with_an_out_of_range_value_is_refused_when_parsed():
    with pytest.raises(ValueError, match=r"invalid replay string .* is too large \(at most "):
        asyncsim.Schedule.from_string("S1;p=0," + "9" * 400)


@pytest.mark.parametrize("option", ["allow_real_io", "patch_time"])
@pytest.mark.parametrize("value", ["False", "no", 0, None])
def test_boolean_options_must_be_booleans(option, value):
    with pytest.raises(TypeError, match=f"{option} must be"):
        asyncsim.simulate(asyncio.sleep(1), **{option: value})
    if option == "allow_real_io":
        with pytest.raises(TypeError, match=f"{option} must be"):
            asyncsim.new_event_loop(allow_real_io=value)
