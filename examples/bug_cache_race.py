"""Bug hunt: a check-then-act cache race that duplicates expensive work.

``get`` checks the cache, and on a miss computes the value (0.5 s) and stores it.
A second request for the same key arrives at 0.6 s, when the punctual
computation is done, so the value is computed once. If the computation runs
0.1 s late, the second request also misses and computes it again: duplicate
work. (The fix
is to cache the in-flight task, not just the result.)

Run it: ``python examples/bug_cache_race.py``.
"""
# asyncsim: --demo-run failing_run

import asyncio

from hypothesis import Phase, find, settings

import asyncsim
from asyncsim.testing.strategies import schedules


class Cache:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.computations = 0

    async def compute(self, key: str) -> int:
        self.computations += 1
        await asyncio.sleep(0.5)  # an expensive query
        return len(key)

    async def get(self, key: str) -> int:
        if key not in self.values:  # check ...
            self.values[key] = await self.compute(key)  # ... then act, after an await
        return self.values[key]


async def main() -> int:
    cache = Cache()

    async def request(at: float) -> int:
        await asyncio.sleep(at)
        return await cache.get("report")

    await asyncio.gather(request(0), request(0.6))
    return cache.computations


def computed_once(schedule: asyncsim.Schedule) -> bool:
    return asyncsim.run(main(), schedule=schedule) == 1


def hunt() -> asyncsim.Schedule:
    """The minimal schedule under which the value is computed twice."""
    return find(
        schedules(),
        lambda s: not computed_once(s),
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
    print(f"punctual run: computed {asyncsim.run(main())} time(s)")
    schedule = hunt()
    print(f"minimal failing schedule: {schedule.to_string()}")
    replayed = asyncsim.run(main(), schedule=asyncsim.Schedule.from_string(schedule.to_string()))
    print(f"replayed: computed {replayed} times (duplicate work)")
