"""The numbers of a run as people read them: one definition each, one format each.

Every view (the ``asyncsim run`` summary line, ``Run``'s repr, the chart's title, the
report, the demo index) takes its numbers from here, so they always agree:

* **virtual time**: the elapsed virtual seconds, exact (:func:`exact_seconds`: the
  clock counts nanoseconds, so ``13.6601579`` is printed whole, never rounded);
* **wall time**: real seconds the run took, to 3 significant digits (:func:`wall_text`);
* **steps**: callbacks the event loops ran (task steps, timers, other callbacks),
  the number ``max_steps`` limits (``Run.steps``, ``Trace.callbacks``); the trace's
  ``steps`` table holds only the *task* steps, always named so.

Durations inside an explanation (a wait, a term of the critical path) are rounded to
4 significant digits (:func:`seconds_text`); totals stay exact.
"""

from __future__ import annotations

import math
from decimal import Decimal

from asyncsim.clock import TICKS_PER_SECOND, to_ticks

__all__ = [
    "exact_seconds",
    "numbers_line",
    "seconds_text",
    "shorten",
    "speedup_text",
    "wall_text",
]


def exact_seconds(ticks: int) -> str:
    """``ticks`` as exact decimal seconds, without trailing zeros (``"0.82"``, ``"11"``)."""
    text = format(Decimal(ticks) / TICKS_PER_SECOND, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def seconds_text(seconds: float, digits: int = 4) -> str:
    """``seconds`` to ``digits`` significant digits (``"0.3367"``, ``"13.66"``, ``"250"``)."""
    if seconds == 0:
        return "0"
    text = format(seconds, f".{digits}g")
    if "e" in text:  # very small or very large: plain digits read better
        exponent = text.split("e")[1]
        if -7 <= int(exponent) < 0:
            text = format(seconds, f".{digits - 1 - int(exponent)}f").rstrip("0").rstrip(".")
    return text


def wall_text(seconds: float) -> str:
    """Real (wall-clock) seconds to 3 significant digits, with the unit (``"0.00314 s"``)."""
    return f"{seconds:.3g} s"


def speedup_text(elapsed: float, wall: float) -> str:
    """How much faster than real time (``"3,968× faster"``), or slower; "" when unknown."""
    if elapsed <= 0 or wall <= 0 or not math.isfinite(elapsed / wall):
        return ""
    ratio = elapsed / wall
    if ratio >= 10:
        return f"{ratio:,.0f}× faster"
    if ratio >= 1:
        return f"{ratio:.1f}× faster"
    return f"{1 / ratio:,.1f}× slower than real time"


def numbers_line(elapsed: float, wall: float | None, steps: int) -> str:
    """The one line every view prints: ``"11 s virtual in 0.00314 s wall (3,503× faster), 22
    steps"`` (``wall`` None: rebuilt from a saved trace, no wall time)."""
    virtual = f"{exact_seconds(to_ticks(elapsed))} s virtual"
    if wall is None:
        return f"{virtual}, {steps:,} steps"
    speed = speedup_text(elapsed, wall)
    return f"{virtual} in {wall_text(wall)} wall{f' ({speed})' if speed else ''}, {steps:,} steps"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis in the middle (names stay
    recognisable: ``"Task-1 very_long…_name()"``)."""
    if len(text) <= limit:
        return text
    keep = max(1, limit - 1)
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]
