"""Every example in asyncsim's docstrings runs and prints what it says (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import asyncsim
import asyncsim.models


def _modules() -> list[str]:
    """asyncsim's modules, asyncsim.models included (its folder is mapped, not nested)."""
    names = ["asyncsim", "asyncsim.models"]
    for package in (asyncsim, asyncsim.models):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(set(names))


@pytest.mark.parametrize("name", _modules())
def test_the_docstring_examples_of_each_module_run_as_written(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
