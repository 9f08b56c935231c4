"""The simulator's exceptions.

All of them derive from :class:`SimulationError`::

    SimulationError
    ├── Deadlock            nothing can ever happen again, the main coroutine is not done
    ├── SimulationTimeout   the ``until=`` virtual time was reached
    ├── StepLimitExceeded   ``max_steps=`` callbacks ran (a program that never lets time pass)
    └── RealIOError         the program tried to touch a real socket, pipe or process

Each message names the virtual time and, where tasks are involved, lists every
pending task with where it is suspended and what it waits on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Deadlock",
    "PendingTask",
    "RealIOError",
    "SimulationError",
    "SimulationTimeout",
    "StepLimitExceeded",
]


@dataclass(frozen=True)
class PendingTask:
    """A task that had not finished when a simulation stopped."""

    name: str
    coroutine: str
    where: str
    waiting_on: str

    def describe(self) -> str:
        return (
            f"{self.name} ({self.coroutine}) suspended at {self.where}, "
            f"waiting on {self.waiting_on}"
        )


class SimulationError(Exception):
    """Base class of every error the simulator raises about a program."""

    def __init__(
        self, message: str, *, time: float | None = None, tasks: tuple[PendingTask, ...] = ()
    ) -> None:
        super().__init__(message)
        #: Virtual time (seconds) at which the error was detected.
        self.time = time
        #: The tasks still pending at that time, in creation order.
        self.tasks = tasks


def _listing(tasks: tuple[PendingTask, ...]) -> str:
    if not tasks:
        return "no task is pending"
    return "pending tasks:\n" + "\n".join(f"  - {t.describe()}" for t in tasks)


class Deadlock(SimulationError):
    """No callback is ready, no timer is pending and no outside work is in flight,
    but the main coroutine has not finished."""

    @classmethod
    def at(cls, time: float, tasks: tuple[PendingTask, ...]) -> Deadlock:
        return cls(
            f"deadlock at t={time!r}s: nothing is ready, no timer is pending and no "
            f"thread job is in flight, so the program can never finish; {_listing(tasks)}",
            time=time,
            tasks=tasks,
        )


class SimulationTimeout(SimulationError):
    """The virtual time limit ``until=`` was reached before the program finished."""

    @classmethod
    def at(
        cls, time: float, tasks: tuple[PendingTask, ...], *, until: float | None = None
    ) -> SimulationTimeout:
        where = f"until={time!r}s" if until is None else f"t={time!r}s, past until={until!r}s,"
        return cls(
            f"simulation stopped at {where} before the program finished; {_listing(tasks)}",
            time=time,
            tasks=tasks,
        )


class StepLimitExceeded(SimulationError):
    """More than ``max_steps`` callbacks ran (e.g. ``while True: await sleep(0)``)."""

    @classmethod
    def at(cls, limit: int, time: float, tasks: tuple[PendingTask, ...]) -> StepLimitExceeded:
        return cls(
            f"max_steps={limit} exceeded at t={time!r}s (a program that never lets "
            f"virtual time pass?); {_listing(tasks)}",
            time=time,
            tasks=tasks,
        )


class RealIOError(SimulationError):
    """The program tried to use real I/O (sockets, pipes, subprocesses) inside a simulation."""

    @classmethod
    def refused(cls, call: str) -> RealIOError:
        return cls(
            f"{call} would use real I/O, which is disabled inside a simulation. Model the "
            "other side with asyncsim.models.network (asyncsim.run(main(), network=...), or "
            "`asyncsim run --model net.py app.py`), or opt in with allow_real_io=True."
        )
