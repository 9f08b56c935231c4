"""Bug hunt: a timeout that leaks a lock on cancellation.

``handle`` takes a lock by hand, calls a backend under ``asyncio.wait_for`` with
a 1 s timeout, and releases the lock afterwards, but not in a ``finally``. The
backend answers in 0.8 s, so punctually the timeout never fires. When the
backend is 0.2 s late, ``wait_for`` raises ``TimeoutError``, the release is
skipped, and the next request waits for the lock forever: asyncsim reports the
deadlock with the blocked task. (The fix is ``async with lock:``.)

Run it: ``python examples/bug_timeout_leak.py``.
"""
# asyncsim: --demo-run failing_run

import asyncio

from hypothesis import Phase, find, settings

import asyncsim
from asyncsim.testing.strategies import schedules


class Service:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.answers: list[str] = []

    async def backend(self) -> str:
        await asyncio.sleep(0.8)
        return "ok"

    async def handle(self) -> None:
        await self.lock.acquire()
        try:
            self.answers.append(await asyncio.wait_for(self.backend(), timeout=1.0))
        except TimeoutError:
            self.answers.append("timeout")
            return  # BUG: returns with the lock still held
        self.lock.release()


async def main() -> list[str]:
    service = Service()
    await service.handle()
    await service.handle()
    return service.answers


def every_request_is_answered(schedule: asyncsim.Schedule) -> bool:
    outcome = asyncsim.simulate(main(), schedule=schedule)
    return outcome.ok


def hunt() -> asyncsim.Schedule:
    """The minimal schedule under which the second request never gets the lock."""
    return find(
        schedules(),
        lambda s: not every_request_is_answered(s),
        # Default example budget; derandomized for a reproducible demo; no explain phase.
        settings=settings(
            derandomize=True,
            database=None,
            deadline=None,  # (a run's real time says nothing about the program)
            phases=[Phase.generate, Phase.shrink],
        ),
    )


def failing_run() -> asyncsim.Run:
    """The failing schedule the hunt finds, replayed.

    Traced, so ``asyncsim demo`` can report it: the chart marks the injected lateness
    on the bar it delayed.
    """
    return asyncsim.simulate(main(), schedule=hunt(), trace=True)


if __name__ == "__main__":
    print(f"punctual run: {asyncsim.run(main())}")
    schedule = hunt()
    print(f"minimal failing schedule: {schedule.to_string()}")
    replayed = asyncsim.simulate(
        main(), schedule=asyncsim.Schedule.from_string(schedule.to_string())
    )
    print(f"replayed: {replayed.exception}")
