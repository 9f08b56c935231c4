"""The simulator's exceptions.

All of them derive from :class:`SimulationError`::

    SimulationError
    ├── Deadlock            nothing can ever happen again, the main coroutine is not done
    ├── SimulationTimeout   the ``until=`` virtual time was reached
    ├── StepLimitExceeded   ``max_steps=`` callbacks ran (a program that never lets time pass)
    ├── Livelock            many callbacks at one virtual instant, going round in circles
    ├── Stalled             outside work (a thread, a child process, real I/O) kept the loop
    │                       waiting longer than ``real_time_limit=`` real seconds
    └── RealIOError         the program tried to touch a real socket, pipe or process

Each message names the virtual time and, where tasks are involved, lists every
pending task with where it is suspended and what it waits on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Deadlock",
    "Livelock",
    "PendingTask",
    "RealIOError",
    "SimulationError",
    "SimulationTimeout",
    "Stalled",
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
    def at(
        cls, time: float, tasks: tuple[PendingTask, ...], threads: tuple[str, ...] = ()
    ) -> Deadlock:
        """``threads``: thread jobs in flight that are blocked in a wait, described."""
        if threads:
            jobs = "every thread job in flight is blocked in a wait:\n" + "\n".join(
                f"  - {t}" for t in threads
            )
            return cls(
                f"deadlock at t={time!r}s: nothing is ready, no timer is pending and "
                f"{jobs}\nso the program can never finish; {_listing(tasks)}",
                time=time,
                tasks=tasks,
            )
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


#: The spinning tasks and callbacks a livelock report lists at most.
_SHOWN = 20


class Livelock(SimulationError):
    """Many callbacks ran at one virtual instant with no progress: the clock did not move,
    no task was created and every task was back where it was (``while True: await
    asyncio.sleep(0)``, an ``Event`` ping-pong, a callback rescheduling itself with no
    delay; see :mod:`asyncsim.core.livelock`). ``tasks`` are the tasks that were
    spinning (ready to run when it was detected)."""

    @classmethod
    def at(
        cls, steps: int, time: float, tasks: tuple[PendingTask, ...], callbacks: tuple[str, ...]
    ) -> Livelock:
        spinning = [f"  - {t.name} ({t.coroutine}) at {t.where}" for t in tasks]
        spinning += [f"  - callback {c}" for c in callbacks]
        if len(spinning) > _SHOWN:
            spinning[_SHOWN:] = [f"  - ... and {len(spinning) - _SHOWN} more"]
        return cls(
            f"livelock at t={time!r}s: {steps:,} callbacks ran without virtual time "
            "passing, without a new task and without any task moving on from where it was, "
            "so the program would spin forever; spinning:\n"
            + "\n".join(spinning or ["  - (nothing ready)"])
            + f"\n(legitimate work at one instant? raise the bound: livelock_steps="
            f"{steps * 10}, or --livelock-steps {steps * 10}; livelock_steps=None or "
            "--livelock-steps 0 turns the check off)",
            time=time,
            tasks=tasks,
        )


class Stalled(SimulationError):
    """The loop waited ``real_time_limit`` seconds of real time on outside work (a thread
    job, a thread that calls into the loop, a child process, real I/O) and nothing
    happened: no callback ran and the clock could not move."""

    def __init__(
        self,
        message: str,
        *,
        time: float | None = None,
        tasks: tuple[PendingTask, ...] = (),
        parties: tuple[str, ...] = (),
        waited: float = 0.0,
    ) -> None:
        super().__init__(message, time=time, tasks=tasks)
        #: What the loop was waiting on, described (a thread job and where its thread is,
        #: a child process, a real I/O call).
        self.parties = parties
        #: Real seconds the loop waited.
        self.waited = waited

    @classmethod
    def at(
        cls, time: float, waited: float, parties: tuple[str, ...], tasks: tuple[PendingTask, ...]
    ) -> Stalled:
        listing = "\n".join(f"  - {p}" for p in parties)
        return cls(
            f"stalled at t={time!r}s: the loop waited {waited:.1f} s of real time "
            f"(real_time_limit) on outside work that neither finished nor let the clock "
            f"move:\n{listing}\n{_listing(tasks)}",
            time=time,
            tasks=tasks,
            parties=parties,
            waited=waited,
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
