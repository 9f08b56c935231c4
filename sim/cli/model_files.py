"""Model files named on the command line (``--model FILE``): loaded into run options."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from asyncsim.cli.args import UsageError
from asyncsim.runner import format_exception_for_script, traceback_from
from asyncsim.script import load_model

__all__ = ["load_models"]


def load_models(paths: Sequence[str | Path], *, unknown: str = "error") -> dict[str, object]:
    """The names the model files define (``network``, ``cpu``), as run options; a usage
    error names a missing file, a failing one (its traceback) or a name defined twice."""
    models: dict[str, object] = {}
    for path in paths:
        if not os.path.isfile(path):
            raise UsageError(f"model file {str(path)!r} does not exist or is not a file")
        try:
            loaded = load_model(path, unknown=unknown)
        except Exception as exc:
            model = os.path.abspath(path)
            if traceback_from(exc, model) is None:
                raise  # not raised by the model file's code: load_model's own message
            where = format_exception_for_script(exc, model).rstrip()
            raise UsageError(f"model file {str(path)!r} failed:\n{where}") from None
        for name, value in loaded.items():
            if name in models:
                raise UsageError(f"two model files define {name!r}; keep one")
            models[name] = value
    return models
