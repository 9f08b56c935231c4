import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", help="also run the exhaustive tests marked slow"
    )


def pytest_collection_modifyitems(config, items):
    # Tests marked slow stay out of the default run; `--run-slow` or `-m slow` runs them.
    import pytest

    if config.getoption("--run-slow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


pytest_plugins = ["pytester"]

# Other projects' test suites, each run in its own pytest session (tests/test_thirdparty.py).
collect_ignore = ["thirdparty"]


@pytest.fixture
def pytester(pytester, monkeypatch):
    """pytester, without looptime's plugin (installed for the benchmarks), which breaks
    the inner runs of tests that are not looptime's."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:looptime_plugin")
    return pytester


def _compiled_available() -> bool:
    from asyncsim.core import cores

    return cores._compiled is not None


@pytest.fixture(params=["python", "compiled"])
def each_core(request):
    """Run the test once on each loop core (loops made inside use that core)."""
    from asyncsim.core.cores import use_core

    if request.param == "compiled" and not _compiled_available():
        pytest.skip("the compiled loop core is not built here")
    with use_core(request.param):
        yield request.param


@pytest.fixture
def python_core(request):
    """Run the test on the pure-Python core (it reads that core's own structures)."""
    from asyncsim.core.cores import use_core

    if "each_core" in request.fixturenames and request.getfixturevalue("each_core") != "python":
        pytest.skip("reads the pure-Python core's own structures")

    with use_core("python"):
        yield
