"""The asyncsim command: run unmodified scripts, replay the demo, refuse bad input cleanly."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from asyncsim.cli.main import main
from asyncsim.core import active_core

from .conftest import EXAMPLES, ROOT


def asyncsim(*args, cwd=None, timeout=120, env_extra=None):
    """Run ``python -m asyncsim ARGS`` in a subprocess; never hang."""
    return subprocess.run(
        [sys.executable, "-m", "asyncsim", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=None if env_extra is None else {**os.environ, **env_extra},
    )


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_run_replays_the_unmodified_seed_pair_and_summarises_on_stderr():
    done = asyncsim("run", EXAMPLES / "seed_pair.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "4.0\n7.0\n"
    assert "seed_pair.py: 11 s virtual in " in done.stderr
    assert "faster" in done.stderr


def test_quiet_silences_the_summary():
    done = asyncsim("run", "-q", EXAMPLES / "seed_pair.py")
    assert (done.returncode, done.stdout, done.stderr) == (0, "4.0\n7.0\n", "")


def test_the_scripts_arguments_and_exit_code_are_passed_through(tmp_path):
    script = write(
        tmp_path,
        "app.py",
        """
        import asyncio, sys
        async def main():
            await asyncio.sleep(1)
            print(sys.argv[1:])
            return int(sys.argv[1])
        sys.exit(asyncio.run(main()))
    """,
    )
    done = asyncsim("run", "-q", script, "7", "--flag")
    assert done.stdout == "['7', '--flag']\n"
    assert done.returncode == 7


def test_loop_run_until_complete_and_runner_scripts_run_virtually(tmp_path):
    script = write(
        tmp_path,
        "app.py",
        """
        import asyncio
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(5))
        print(loop.time())
        loop.close()
        with asyncio.Runner() as runner:
            runner.run(asyncio.sleep(2))
            print(runner.get_loop().time())
    """,
    )
    done = asyncsim("run", "-q", script)
    assert (done.returncode, done.stdout) == (0, "5.0\n7.0\n")


def test_an_unhandled_exception_prints_the_scripts_traceback_and_exits_1(tmp_path):
    script = write(
        tmp_path,
        "app.py",
        """
        import asyncio
        async def main():
            await asyncio.sleep(1)
            raise ValueError("bad thing")
        asyncio.run(main())
    """,
    )
    done = asyncsim("run", "-q", script)
    assert done.returncode == 1
    assert "ValueError: bad thing" in done.stderr
    assert "app.py" in done.stderr and "sim/run.py" not in done.stderr


def test_a_future_nobody_sets_exits_3_with_a_report_naming_the_waiting_coroutine(tmp_path):
    script = write(
        tmp_path,
        "stuck.py",
        """
        import asyncio
        async def wait_forever(fut):
            await fut
        async def main():
            fut = asyncio.get_running_loop().create_future()
            await asyncio.sleep(2)
            await wait_forever(fut)
        asyncio.run(main())
    """,
    )
    done = asyncsim("run", script)
    assert done.returncode == 3
    assert "Deadlock: deadlock at t=2.0s" in done.stderr
    assert "wait_forever() at" in done.stderr and "stuck.py:4" in done.stderr
    assert "Traceback" not in done.stderr


def test_until_stops_a_script_with_exit_code_3(tmp_path):
    script = write(
        tmp_path,
        "long.py",
        """
        import asyncio
        asyncio.run(asyncio.sleep(3600))
    """,
    )
    done = asyncsim("run", "--until", "60", script)
    assert done.returncode == 3
    assert "SimulationTimeout: simulation stopped at until=60.0s" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.py"], "can't open script 'missing.py': no such file"),
        (["run", "pkg.app"], "to run the module 'pkg.app', use: asyncsim run -m pkg.app"),
        (["run"], "give the script to run: asyncsim run [options] SCRIPT [ARGS...]  or"),
        (["run", "-q"], "asyncsim run [options] -m MODULE [ARGS...]"),
        (["run", "-m", "no_such_module_here"], "No module named 'no_such_module_here'"),
        (["run", "--until", "-1", "x.py"], "expected a finite number of seconds >= 0, got '-1'"),
        (["run", "--until", "nan", "x.py"], "expected a finite number of seconds >= 0, got 'nan'"),
        (["run", "--max-steps", "0", "x.py"], "expected a positive integer, got '0'"),
        (["demo", "--examples", "nowhere"], "no examples folder at 'nowhere'"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_python_dash_m_sim_is_the_same_command():
    done = asyncsim("--help")
    assert done.returncode == 0
    assert "run" in done.stdout and "demo" in done.stdout


def test_demo_replays_every_example_and_reports_each_ones_times(tmp_path):
    # Every example, the bug hunts' replays, a sweep and a what-if profile: over 120 s on
    # a loaded 2-core machine; the bound is against a hang, not a benchmark.
    done = asyncsim("demo", cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--- seed_pair.py: 11 s virtual" in done.stdout
    assert "0 failed." in done.stdout
    assert "4.0\n7.0\n" in done.stdout
    # The what-if example's folder holds its profile's page, linked from the index.
    assert "reported: The causal profile of 5 seeds" in done.stdout
    assert (tmp_path / "reports" / "whatif_fetch" / "profile.png").is_file()
    assert 'href="whatif_fetch/index.html"' in (tmp_path / "reports" / "index.html").read_text()


def test_the_summary_states_no_speed_up_when_no_virtual_time_passed(tmp_path):
    script = write(tmp_path, "instant.py", "print('hi')\n")
    done = asyncsim("run", script)
    assert done.returncode == 0
    assert ": 0 s virtual in " in done.stderr
    assert "faster" not in done.stderr and "slower" not in done.stderr


def test_version_names_the_release_the_core_and_the_python():
    done = asyncsim("--version")
    assert done.returncode == 0
    core = "compiled core" if active_core() == "compiled" else "pure-Python core: .+"
    assert re.fullmatch(
        rf"asyncsim \d+\.\d+\.\d+\S* \({core}\) on CPython 3\.\d+\.\d+\n", done.stdout
    )


def test_version_says_why_the_pure_python_core_runs_when_it_is_forced():
    done = asyncsim("--version", env_extra={"ASYNCSIM_NO_EXTENSIONS": "1", "COLUMNS": "40"})
    assert done.returncode == 0
    assert "(pure-Python core: ASYNCSIM_NO_EXTENSIONS is set) on CPython" in done.stdout


def test_run_dash_m_runs_a_module_as_python_dash_m_with_the_options_before_it(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    write(package, "__init__.py", "")
    write(
        package,
        "app.py",
        """
        import asyncio, sys
        async def main():
            await asyncio.sleep(5)
            print(sys.argv[1:], asyncio.get_running_loop().time(), __name__)
        asyncio.run(main())
        """,
    )
    done = asyncsim("run", "-q", "-m", "pkg.app", "--until", "1", "x", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "['--until', '1', 'x'] 5.0 __main__\n")
    done = asyncsim("run", "--until", "1", "-m", "pkg.app", cwd=tmp_path)
    assert done.returncode == 3
    assert "SimulationTimeout" in done.stderr


def test_demo_outside_a_clone_says_where_the_examples_are(tmp_path, monkeypatch, capsys):
    from asyncsim.cli import demo

    monkeypatch.setattr(demo, "__file__", str(tmp_path / "site-packages/asyncsim/cli/demo.py"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "The examples ship with the asyncsim repository, not the installed package" in err
    assert "--examples DIR" in err
