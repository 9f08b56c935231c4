"""Value types for the ``asyncsim`` command's options, shared by its subcommands.

Each parses one option value and raises :class:`argparse.ArgumentTypeError` with the
text it got, which argparse prints with the option's name (exit code 2).
"""

from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "positive_seconds", "seconds"]


def positive_int(text: str) -> int:
    """An integer >= 1 (a count: steps, seeds, workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of virtual seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def limit_seconds(text: str) -> float | None:
    """A finite number of real seconds >= 0, or ``none`` (no limit)."""
    if text.strip().lower() == "none":
        return None
    return seconds(text)


def positive_seconds(text: str) -> float:
    """A finite number of virtual seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value
