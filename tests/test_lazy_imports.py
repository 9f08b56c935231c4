"""Lazy weight: ``import asyncsim`` and the installed pytest plugin load nothing heavy.

Each check runs in a fresh interpreter, so what the test session already imported
does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Loaded on first use only: plots, graphs, property tests, process pools.
HEAVY = ("matplotlib", "networkx", "hypothesis", "multiprocessing")


def loaded_after(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``watched`` modules in ``sys.modules`` after a fresh interpreter runs ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_asyncsim_loads_no_plotting_graph_hypothesis_or_multiprocessing():
    assert loaded_after("import asyncsim") == []


def test_importing_the_pytest_plugin_loads_neither_the_heavy_modules_nor_the_loop():
    watched = (*HEAVY, "asyncsim.core.loop", "asyncsim.runner")
    assert loaded_after("import asyncsim.testing.pytest_plugin", watched) == []


def test_running_a_simulation_loads_no_plotting_graph_hypothesis_or_multiprocessing():
    code = "import asyncio, asyncsim\nassert asyncsim.run(asyncio.sleep(5, 'ok')) == 'ok'"
    assert loaded_after(code) == []


def test_the_heavy_modules_load_when_their_feature_is_used():
    assert loaded_after("from asyncsim.testing.strategies import schedules") == ["hypothesis"]
    assert loaded_after("import asyncsim.sweeps.report") == ["matplotlib"]
    inline_sweep = (
        "import asyncio, asyncsim\n"
        "asyncsim.sweep(asyncio.sleep, params={'delay': [1]}, seeds=1, executor='inline', "
        "progress=False)"
    )
    assert loaded_after(inline_sweep) == []  # the process pool loads with its first use


IDLE_TEST = """
import sys

def test_nothing_of_asyncsim_is_used():
    assert "asyncsim.testing.pytest_plugin" in sys.modules  # the plugin is installed
    heavy = ("asyncsim.core.loop", "hypothesis", "matplotlib", "networkx", "multiprocessing")
    assert [m for m in heavy if m in sys.modules] == []
"""


def test_an_idle_pytest_session_imports_nothing_heavy_for_asyncsim(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_idle.py").write_text(IDLE_TEST)
    # Other installed plugins off: hypothesis's own plugin imports hypothesis.
    others = ("hypothesispytest", "asyncio", "looptime_plugin", "looptime_timeproxies")
    disabled = [arg for name in others for arg in ("-p", f"no:{name}")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *disabled],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
