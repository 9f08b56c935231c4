"""Model files named on the command line (``--model FILE``): loaded into run options."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from asyncsim.cli.args import UsageError
from asyncsim.cli.errors import UserFileError, user_traceback
from asyncsim.script import load_model

__all__ = ["load_models"]


def load_models(paths: Sequence[str | Path], *, unknown: str = "error") -> dict[str, object]:
    """The names the model files define (``network``, ``cpu``), as run options; a usage
    error names a missing file or a name defined twice; a failing file raises
    :class:`UserFileError` with its own traceback."""
    models: dict[str, object] = {}
    for path in paths:
        if not os.path.isfile(path):
            raise UsageError(f"model file {str(path)!r} does not exist or is not a file")
        try:
            loaded = load_model(path, unknown=unknown)
        except Exception as exc:
            where = user_traceback(exc, path)
            if where is None:
                raise  # not raised by the model file's code: load_model's own message
            raise UserFileError(f"model file {str(path)!r} failed:\n{where.rstrip()}") from None
        for name, value in loaded.items():
            if name in models:
                raise UsageError(f"two model files define {name!r}; keep one")
            models[name] = value
    return models
