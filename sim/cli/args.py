"""Value types for the ``asyncsim`` command's options, shared by its subcommands.

Each parses one option value and raises :class:`argparse.ArgumentTypeError` with the
text it got, which argparse prints with the option's name (exit code 2).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from asyncsim.instruments.cpu import CpuCost, Measured

__all__ = ["UsageError", "cpu_spec", "positive_int", "positive_seconds", "seconds"]


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


class UsageError(Exception):
    """Bad command-line input: printed without a traceback, exit code 2."""


def cpu_spec(text: str) -> Any:
    """``--cpu``: SECONDS, ``measured``, ``measured:SCALE`` or ``QUALNAME=SECONDS,...``."""
    spec = text.strip()
    try:
        if spec.lower() == "measured":
            return Measured()
        if spec.lower().startswith("measured:"):
            return Measured(float(spec.split(":", 1)[1]))
        if "=" in spec:
            mapping: dict[str, float] = {}
            for item in spec.split(","):
                name, _, amount = item.partition("=")
                if not name.strip():
                    raise ValueError(f"missing coroutine name in {item!r}")
                mapping[name.strip()] = seconds(amount)
            return CpuCost(mapping).spec
        return seconds(spec)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        raise argparse.ArgumentTypeError(
            f"expected SECONDS, 'measured', 'measured:SCALE' or 'QUALNAME=SECONDS,...' "
            f"(e.g. 'crunch=0.5,*=0.001'), got {text!r}: {exc}"
        ) from None
