"""A dependency-free progress bar on stderr: runs done/total, rate, ETA.

It reads the real clock (not the virtual one), so it stays right even when a sweep
is started from inside a simulation.
"""

from __future__ import annotations

import sys
from typing import TextIO

from asyncsim.scope.timepatch import _real_monotonic

__all__ = ["Progress"]

_BAR_WIDTH = 28
_REDRAW_EVERY = 0.1  # real seconds


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Draws ``[####....] 120/1000 runs  350.2 runs/s  ETA 00:03`` on one line.

    ``mode`` is True (a live bar when ``stream`` is a terminal, and always a final
    line), ``"force"`` (a live bar even when not a terminal) or False (silent).
    """

    def __init__(
        self, total: int, *, mode: bool | str = True, stream: TextIO | None = None, done: int = 0
    ) -> None:
        if mode not in (True, False, "force"):
            raise ValueError(f"progress must be True, False or 'force', got {mode!r}")
        self.total = total
        self.done = done
        self.errors = 0
        self._skipped = done
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = mode is not False
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.live = mode == "force" or (mode is True and bool(isatty()))
        self._start = _real_monotonic()
        self._last_draw = -1.0

    def rate(self) -> float:
        """Runs per real second over the runs done in this session."""
        spent = _real_monotonic() - self._start
        ran = self.done - self._skipped
        return ran / spent if spent > 0 else 0.0

    def line(self) -> str:
        """The progress text (without carriage return)."""
        fraction = self.done / self.total if self.total else 1.0
        filled = round(fraction * _BAR_WIDTH)
        rate = self.rate()
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        errors = f", {self.errors} errors" if self.errors else ""
        return (
            f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {self.done}/{self.total} runs"
            f"{errors}  {rate:,.1f} runs/s  ETA {_duration(eta)}"
        )

    def advance(self, runs: int, errors: int = 0) -> None:
        """Count ``runs`` more finished runs (``errors`` of them failed) and redraw."""
        self.done += runs
        self.errors += errors
        if not self.live:
            return
        now = _real_monotonic()
        if now - self._last_draw >= _REDRAW_EVERY or self.done >= self.total:
            self._last_draw = now
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def close(self, interrupted: bool = False) -> None:
        """Write the final line: counts, wall time and rate."""
        if not self.enabled:
            return
        spent = _real_monotonic() - self._start
        ran = self.done - self._skipped
        resumed = f" ({self._skipped} from an earlier run)" if self._skipped else ""
        errors = f", {self.errors} errors" if self.errors else ""
        state = "interrupted" if interrupted else "done"
        text = (
            f"sweep {state}: {self.done}/{self.total} runs{resumed}{errors} "
            f"in {spent:.2f} s ({ran / spent if spent > 0 else 0.0:,.1f} runs/s)"
        )
        if self.live:
            self.stream.write("\r" + " " * len(self.line()) + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
