"""One import package, ``asyncsim``: no top-level ``sim`` or ``models`` to collide with users'."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from .conftest import ROOT

USER_APP = """\
import asyncio, time

import models  # the user's own models.py
import sim  # the user's own sim.py
from asyncsim.models.network import Network  # asyncsim's, by its full name


async def main():
    reader, writer = await asyncio.open_connection("db.internal", 80)
    writer.write(b"GET / HTTP/1.1\\r\\nHost: db.internal\\r\\n\\r\\n")
    status = (await reader.readline()).decode().strip()
    writer.close()
    print(models.User.__name__, sim.NAME, status, time.perf_counter(), Network.__name__)


asyncio.run(main())
"""

USER_MODEL = """\
from asyncsim.models.network import Network

network = Network(latency=0.1)
network.http_service("db.internal", response_time=0.5)
"""


def test_a_folder_with_its_own_models_and_sim_modules_runs_under_asyncsim(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "models.py").write_text("class User:\n    pass\n")
    (project / "sim.py").write_text("NAME = 'users-sim'\n")
    (project / "app.py").write_text(USER_APP)
    (project / "net.py").write_text(USER_MODEL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncsim",
            "run",
            "-q",
            "--model",
            project / "net.py",
            project / "app.py",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,  # from another folder: app.py's own folder provides models and sim
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "User users-sim HTTP/1.1 200 OK 0.9 Network\n"
    )  # connect 0.2 + 0.1 + 0.5 + 0.1


def test_no_top_level_sim_or_models_package_is_importable():
    code = "import importlib.util as u; print(u.find_spec('sim'), u.find_spec('models'))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=60
    )
    assert done.stdout.strip() == "None None", done.stderr


def test_the_package_list_names_every_package_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for prefix, folder in config["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([prefix, *relative.parts]) if relative.parts else prefix)
    assert listed == found


def test_python_dash_m_asyncsim_is_the_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "asyncsim", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "run" in done.stdout
