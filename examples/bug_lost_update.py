"""Bug hunt: a lost update (read-modify-write across an ``await``).

Two deposits hit one account. Each reads the balance, waits 0.1 s for the
database, then writes balance + amount. The second deposit starts at 0.2 s, so
with punctual timers the first has long finished and the balance is right. A
database round-trip that is 0.1 s slower than usual (a late timer) lets the
second deposit read the old balance: one deposit is lost.

Run it: ``python examples/bug_lost_update.py``; hypothesis finds the minimal
failing schedule in its default example budget and the replay string
reproduces the identical run.
"""
# asyncsim: --demo-run failing_run

import asyncio

from hypothesis import Phase, find, settings

import asyncsim
from asyncsim.testing.strategies import schedules


class Account:
    def __init__(self) -> None:
        self.balance = 0

    async def deposit(self, amount: int, *, start: float) -> None:
        await asyncio.sleep(start)
        balance = self.balance  # read ...
        await asyncio.sleep(0.1)  # ... a database round-trip ...
        self.balance = balance + amount  # ... write: the bug is the await in between


async def main() -> int:
    account = Account()
    await asyncio.gather(account.deposit(100, start=0), account.deposit(50, start=0.2))
    return account.balance


def balance_is_right(schedule: asyncsim.Schedule) -> bool:
    return asyncsim.run(main(), schedule=schedule) == 150


def hunt() -> asyncsim.Schedule:
    """The minimal schedule under which a deposit is lost."""
    return find(
        schedules(),
        lambda s: not balance_is_right(s),
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
    print(f"punctual run: balance {asyncsim.run(main())}")
    schedule = hunt()
    print(f"minimal failing schedule: {schedule.to_string()}")
    replayed = asyncsim.run(main(), schedule=asyncsim.Schedule.from_string(schedule.to_string()))
    print(f"replayed: balance {replayed} (a deposit was lost)")
