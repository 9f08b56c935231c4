"""Stopping a recorded program after a while, as Ctrl-C would.

A program that does not end by itself (a client polling forever, a worker) is
recorded for a given real time: :class:`Stopper` sends the main thread a SIGINT
after ``seconds``, so ``asyncio.run`` cancels the main task as it does on Ctrl-C,
and the recording models what the program did until then.
"""

from __future__ import annotations

import _thread
import signal
import threading

__all__ = ["INTERRUPTED_EXIT_CODE", "Stopper"]

#: The exit code of a recording stopped by Ctrl-C or by its duration (128 + SIGINT).
INTERRUPTED_EXIT_CODE = 130


class Stopper:
    """Interrupt the main thread ``seconds`` of real time after :meth:`start` (SIGINT).

    :meth:`finish` (called when the program ended) disarms it; an interrupt is sent
    at most once, and never after :meth:`finish` returned.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._finished = False
        self._lock = threading.Lock()
        self._main = threading.main_thread().ident
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        """Start counting."""
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.fired = True
            # A real signal to the main thread interrupts a blocking select(), so the
            # loop wakes at once; interrupt_main() only where pthread_kill is missing.
            if hasattr(signal, "pthread_kill") and self._main is not None:
                signal.pthread_kill(self._main, signal.SIGINT)
            else:  # pragma: no cover - Windows
                _thread.interrupt_main()

    def finish(self) -> None:
        """The program ended: send no interrupt from now on."""
        with self._lock:
            self._finished = True
        self._timer.cancel()
