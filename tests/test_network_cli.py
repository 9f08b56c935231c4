"""`asyncsim run --model net.py app.py`, model files, and the demo's model directives."""

import re

import pytest

from asyncsim.cli.main import demo_models, main
from asyncsim.script import load_model

from .conftest import EXAMPLES

APP = """\
import asyncio, time

async def main():
    reader, writer = await asyncio.open_connection("example.com", 80)
    writer.write(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n")
    print((await reader.readline()).decode().strip(), time.perf_counter())
    writer.close()

asyncio.run(main())
"""

MODEL = """\
from asyncsim.models.network import Network

network = Network(latency=0.1)
network.http_service("example.com", response_time=0.5)
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "net.py").write_text(MODEL)
    return tmp_path


def test_options_after_the_script_are_the_scripts_own_with_a_note(files, capsys):
    (files / "args.py").write_text("import sys\nprint(sys.argv[1:])\n")
    code = main(["run", "-q", str(files / "args.py"), "--model", str(files / "net.py")])
    out, err = capsys.readouterr()
    assert (code, out) == (0, f"['--model', '{files / 'net.py'}']\n")
    assert "note: '--model' after the script is the script's own argument" in err


def test_run_with_the_model_option_before_the_script_works_the_same(files, capsys):
    code = main(["run", "-q", "--model", str(files / "net.py"), str(files / "app.py")])
    assert (code, capsys.readouterr().out) == (0, "HTTP/1.1 200 OK 0.9\n")


def test_a_double_dash_ends_asyncsims_options_and_silences_the_note(files, capsys):
    (files / "args.py").write_text("import sys\nprint(sys.argv[1:])\n")
    code = main(
        [
            "run",
            "-q",
            "--model",
            str(files / "net.py"),
            "--",
            str(files / "args.py"),
            "--model",
            "x",
        ]
    )
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "['--model', 'x']\n", "")


def test_without_a_model_the_script_is_refused_real_io(files, capsys):
    assert main(["run", "-q", str(files / "app.py")]) == 3
    assert "RealIOError" in capsys.readouterr().err


def test_a_model_file_without_a_network_is_a_usage_error_naming_the_convention(files, capsys):
    (files / "empty.py").write_text("x = 1\n")
    assert main(["run", "--model", str(files / "empty.py"), str(files / "app.py")]) == 2
    err = capsys.readouterr().err
    assert "defines none of the model names network" in err
    assert "network = Network(latency=0.05)" in err


def test_a_missing_model_file_is_a_usage_error(files, capsys):
    assert main(["run", "--model", str(files / "nope.py"), str(files / "app.py")]) == 2
    assert "model file" in capsys.readouterr().err


def test_load_model_returns_the_module_level_network(files):
    models = load_model(files / "net.py")
    assert list(models) == ["network"]
    assert [h.name for h in models["network"].hosts] == ["localhost", "example.com"]


def test_the_demo_replays_the_aiohttp_examples_with_their_model(capsys):
    assert demo_models(EXAMPLES / "gather.py") == [EXAMPLES / "net_example_com.py"]
    assert demo_models(EXAMPLES / "seed_pair.py") == []
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"=== \[1/\d+\] as_completed.py \(--model net_example_com.py\) ===", out)
    assert "--- gather.py: 0.82 s virtual" in out
    assert "0 failed." in out


def test_a_model_file_that_fails_is_reported_from_the_model_file_without_a_deep_traceback(
    files, capsys
):
    (files / "broken.py").write_text(
        "from asyncsim.models.network import Network\n"
        "network = Network()\nnetwork.partition('a', 'b')\n"
    )
    assert main(["run", "--model", str(files / "broken.py"), str(files / "app.py")]) == 2
    err = capsys.readouterr().err
    assert "broken.py', line 3" in err.replace('"', "'")
    assert "ValueError" in err and "no host 'a' in the virtual network" in err
    assert "sim/cli.py" not in err
