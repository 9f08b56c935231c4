"""The benchmark workloads, each written once per implementation.

Every workload draws its inputs from ``random.Random(12345)`` before any timing,
so every implementation gets identical values; each run returns an observation
that :func:`Case.check` compares with the exact expected virtual result.

Implementations
---------------
asyncsim   ``asyncsim.run(main())`` on the virtual loop, compiled core (where it is built).
asyncsim-py  the same on the pure-Python core (``asyncsim.core.cores.use_core("python")``).
asyncsim+schedule, asyncsim+trace  W2 on the compiled core under a (punctual) schedule,
           and traced (``asyncsim.simulate(..., trace=True)``).
floor      stock ``asyncio.run`` with every delay replaced by ``sleep(0)``: the
           scheduling floor (no timers at all).
asyncio    stock ``asyncio.run`` of the same program (W3 only: no delays there).
simpy      SimPy 4 processes doing ``env.timeout(d)`` for the same delays.
aiotools   ``aiotools.VirtualClock().patch_loop()`` around the asyncio program (W2).
looptime   ``looptime.new_event_loop(start=0)`` running the asyncio program (W2).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import importlib.util
import random
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import simpy

import asyncsim
from asyncsim.clock import deadline_ticks
from asyncsim.core import cores

__all__ = ["SEED", "Case", "w1_seed", "w2_timers", "w3_pingpong", "w3_queues", "w4_gather"]

SEED = 12345
K = 10  # sleeps per task in W2


@dataclass
class Case:
    """One (workload, size): a runner per implementation and a check per observation.

    ``events`` is the number of scheduling events one run performs (timer
    firings, or task switches where no time passes), for events/s.
    """

    workload: str
    size: int
    events: int
    runners: dict[str, Callable[[], Any]]
    checks: dict[str, Callable[[Any], None]] = field(default_factory=dict)

    def check(self, impl: str, observed: Any) -> None:
        """Raise AssertionError unless ``observed`` is the exact expected result."""
        self.checks[impl](observed)


def _run_asyncio(coro: Any) -> Any:
    return asyncio.run(coro)


#: The asyncsim implementations, by runner name: the core each uses.
ASYNCSIM_CORES = {"asyncsim": "compiled", "asyncsim-py": "python"}


@contextlib.contextmanager
def _core(name: str) -> Iterator[None]:
    """Run on ``name``'s core; the compiled one falls back to Python where it is not built."""
    core = ASYNCSIM_CORES.get(name, "compiled")
    if core == "compiled" and cores.active_core() != "compiled":
        core = "python"  # (not built here: asyncsim is the Python core, asyncsim-py dropped)
    with cores.use_core(core):  # type: ignore[arg-type]
        yield


def _asyncsim_runners(make: Callable[[], Any], **kwargs: Any) -> dict[str, Callable[[], Any]]:
    """``asyncsim`` (compiled core) and ``asyncsim-py`` (Python core) running ``make()``."""

    def runner(name: str) -> Callable[[], Any]:
        def run() -> Any:
            with _core(name):
                return asyncsim.run(make(), **kwargs)

        return run

    runners = {"asyncsim": runner("asyncsim")}
    if cores.active_core() == "compiled":
        runners["asyncsim-py"] = runner("asyncsim-py")
    return runners


def _with_python_core(checks: dict[str, Callable[[Any], None]]) -> dict[str, Callable[[Any], None]]:
    return {**checks, "asyncsim-py": checks["asyncsim"]}


def _run_aiotools(make: Callable[[], Any]) -> Any:
    import aiotools

    async def main() -> Any:
        with aiotools.VirtualClock().patch_loop():
            return await make()

    return asyncio.run(main())


def _run_looptime(coro: Any) -> Any:
    import looptime

    with asyncio.Runner(loop_factory=lambda: looptime.new_event_loop(start=0)) as runner:
        return runner.run(coro)


# -- W1: the seed pair -----------------------------------------------------------


async def _w1_pair(zero: bool) -> tuple[float, float]:
    sleep = asyncio.sleep
    clock = time.perf_counter  # virtual inside asyncsim.run

    async def delay() -> None:
        await sleep(0 if zero else 4)

    t = asyncio.create_task(delay())
    t1 = clock()
    await sleep(0 if zero else 3)
    await t
    concurrent = clock() - t1
    t1 = clock()
    await delay()
    await sleep(0 if zero else 3)
    return concurrent, clock() - t1


def _w1_simpy() -> tuple[float, float]:
    env = simpy.Environment()
    out: list[float] = []

    def delay() -> Any:
        yield env.timeout(4)

    def main() -> Any:
        t = env.process(delay())
        t1 = env.now
        yield env.timeout(3)
        yield t
        out.append(env.now - t1)
        t1 = env.now
        yield env.process(delay())
        yield env.timeout(3)
        out.append(env.now - t1)

    env.process(main())
    env.run()
    return out[0], out[1]


def w1_seed(reps: int = 200) -> Case:
    """W1: the 4 s-vs-7 s pair, ``reps`` times per run; virtual 4.0 and 7.0 exactly."""

    def many(run_one: Callable[[], tuple[float, float]]) -> Callable[[], list[Any]]:
        return lambda: [run_one() for _ in range(reps)]

    def exact(obs: list[Any]) -> None:
        assert obs == [(4.0, 7.0)] * reps, obs[:3]

    def done(obs: list[Any]) -> None:
        assert len(obs) == reps

    runners = {name: many(run) for name, run in _asyncsim_runners(lambda: _w1_pair(False)).items()}
    return Case(
        "W1 seed pair",
        reps,
        4 * reps,
        {
            **runners,
            "floor": many(lambda: _run_asyncio(_w1_pair(True))),
            "simpy": many(_w1_simpy),
        },
        _with_python_core({"asyncsim": exact, "floor": done, "simpy": exact}),
    )


# -- W2: timers ------------------------------------------------------------------


def w2_delays(n: int, k: int = K) -> array:
    """``n * k`` delays, U(0, 1) seconds, from ``random.Random(SEED)``."""
    rng = random.Random(SEED)
    return array("d", (rng.random() for _ in range(n * k)))


async def _w2_main(delays: array, n: int, k: int, zero: bool) -> list[float]:
    loop = asyncio.get_running_loop()
    sleep = asyncio.sleep
    finish = [-1.0] * n

    async def worker(i: int) -> None:
        if zero:
            for _ in delays[i * k : (i + 1) * k]:
                await sleep(0)
        else:
            for d in delays[i * k : (i + 1) * k]:
                await sleep(d)
        finish[i] = loop.time()

    await asyncio.gather(*[worker(i) for i in range(n)])
    return finish


def _w2_simpy(delays: array, n: int, k: int) -> list[float]:
    env = simpy.Environment()
    finish = [-1.0] * n
    timeout = env.timeout

    def worker(i: int) -> Any:
        for d in delays[i * k : (i + 1) * k]:
            yield timeout(d)
        finish[i] = env.now

    for i in range(n):
        env.process(worker(i))
    env.run()
    return finish


def w2_timers(n: int, k: int = K, *, others: bool = True, variants: bool = False) -> Case:
    """W2: ``n`` tasks x ``k`` sleeps of U(0, 1) s; each finish time checked exactly.

    ``variants`` adds the compiled core under a schedule (punctual: every timer 0 ns late,
    so the exact finish times still hold) and traced.
    """
    delays = w2_delays(n, k)
    ticks = [0] * n  # asyncsim: integer nanoseconds, exact
    folds = [0.0] * n  # float clocks: now + d, in sequence
    for i in range(n):
        t, f = 0, 0.0
        for d in delays[i * k : (i + 1) * k]:
            t += deadline_ticks(d)  # (what asyncio.sleep(d) lasts: never less than d)
            f += d
        ticks[i], folds[i] = t, f
    exact_ticks = [t / 1_000_000_000 for t in ticks]

    def asyncsim_check(obs: list[float]) -> None:
        assert obs == exact_ticks, "asyncsim finish times differ from the exact tick sums"

    def fold_check(obs: list[float]) -> None:
        assert obs == folds, "SimPy finish times differ from the float sums"

    def floor_check(obs: list[float]) -> None:
        assert obs.count(-1.0) == 0, "a floor task did not finish"

    def near(tol: float) -> Callable[[list[float]], None]:
        # aiotools fires timers up to its 1 ms clock resolution early and looptime
        # rounds to 1 us: they cannot be exact, so they are checked within that.
        def check(obs: list[float]) -> None:
            worst = max(abs(a - b) for a, b in zip(obs, folds, strict=True))
            assert worst <= tol, f"finish times off by {worst} s (tolerance {tol} s)"

        return check

    runners: dict[str, Callable[[], Any]] = {
        **_asyncsim_runners(lambda: _w2_main(delays, n, k, False)),
        "floor": lambda: _run_asyncio(_w2_main(delays, n, k, True)),
        "simpy": lambda: _w2_simpy(delays, n, k),
    }
    checks = _with_python_core(
        {"asyncsim": asyncsim_check, "floor": floor_check, "simpy": fold_check}
    )
    if variants:
        punctual = asyncsim.Schedule(timer_lateness=(0,))

        def scheduled() -> Any:
            with _core("asyncsim"):
                return asyncsim.run(_w2_main(delays, n, k, False), schedule=punctual)

        def traced() -> Any:
            with _core("asyncsim"):
                run = asyncsim.simulate(_w2_main(delays, n, k, False), trace=True)
            if run.exception is not None:
                raise run.exception
            return run.result

        runners["asyncsim+schedule"], runners["asyncsim+trace"] = scheduled, traced
        checks["asyncsim+schedule"] = checks["asyncsim+trace"] = asyncsim_check
    # The peer simulators are optional (`pip install -e '.[bench]'`): compared when installed.
    if others and importlib.util.find_spec("aiotools") is not None:
        runners["aiotools"] = lambda: _run_aiotools(lambda: _w2_main(delays, n, k, False))
        checks["aiotools"] = near(k * 1e-3 + 1e-9)
    if others and importlib.util.find_spec("looptime") is not None:
        runners["looptime"] = lambda: _run_looptime(_w2_main(delays, n, k, False))
        checks["looptime"] = near(k * 1e-6 + 1e-9)
    return Case("W2 timers", n, n * k, runners, checks)


# -- W3: ping-pong -----------------------------------------------------------------


async def _w3_sleep0(switches: int) -> tuple[int, float]:
    sleep = asyncio.sleep
    count = [0]

    async def player() -> None:
        for _ in range(switches // 2):
            count[0] += 1
            await sleep(0)

    await asyncio.gather(player(), player())
    return count[0], asyncio.get_running_loop().time()


def _w3_sleep0_simpy(switches: int) -> tuple[int, float]:
    env = simpy.Environment()
    count = [0]

    def player() -> Any:
        for _ in range(switches // 2):
            count[0] += 1
            yield env.timeout(0)

    env.process(player())
    env.process(player())
    env.run()
    return count[0], float(env.now)


async def _w3_queues(switches: int) -> tuple[int, float]:
    q1: asyncio.Queue[int] = asyncio.Queue()
    q2: asyncio.Queue[int] = asyncio.Queue()
    rounds = switches // 2
    total = [0]

    async def ping() -> None:
        for i in range(rounds):
            q1.put_nowait(i)
            total[0] += await q2.get()

    async def pong() -> None:
        for _ in range(rounds):
            q2.put_nowait(await q1.get())

    await asyncio.gather(ping(), pong())
    return total[0], asyncio.get_running_loop().time()


def _w3_queues_simpy(switches: int) -> tuple[int, float]:
    env = simpy.Environment()
    q1, q2 = simpy.Store(env), simpy.Store(env)
    rounds = switches // 2
    total = [0]

    def ping() -> Any:
        for i in range(rounds):
            q1.put(i)
            total[0] += yield q2.get()

    def pong() -> Any:
        for _ in range(rounds):
            item = yield q1.get()
            q2.put(item)

    env.process(ping())
    env.process(pong())
    env.run()
    return total[0], float(env.now)


def _pingpong_case(
    name: str,
    switches: int,
    run: Callable[[int], Any],
    run_simpy: Callable[[int], Any],
    expect: Any,
) -> Case:
    def virtual(obs: Any) -> None:
        assert obs == expect, f"{obs} != {expect}"

    def stock(obs: Any) -> None:
        assert obs[0] == expect[0], f"{obs} != {expect}"

    return Case(
        name,
        switches,
        switches,
        {
            **_asyncsim_runners(lambda: run(switches)),
            "asyncio": lambda: _run_asyncio(run(switches)),
            "simpy": lambda: run_simpy(switches),
        },
        _with_python_core({"asyncsim": virtual, "asyncio": stock, "simpy": virtual}),
    )


def w3_pingpong(switches: int = 200_000) -> Case:
    """W3 (i): two tasks switching by ``sleep(0)``; no time passes."""
    return _pingpong_case(
        "W3 sleep(0)", switches, _w3_sleep0, _w3_sleep0_simpy, ((switches // 2) * 2, 0.0)
    )


def w3_queues(switches: int = 200_000) -> Case:
    """W3 (ii): a token through two ``asyncio.Queue``s; no time passes."""
    rounds = switches // 2
    return _pingpong_case(
        "W3 queues", switches, _w3_queues, _w3_queues_simpy, (rounds * (rounds - 1) // 2, 0.0)
    )


# -- W4: gather with a semaphore --------------------------------------------------------


def list_schedule_makespan(durations: list[Any], machines: int) -> Any:
    """Makespan of FIFO list scheduling: each job, in order, on the earliest free machine."""
    free = [type(durations[0])(0)] * machines
    end = free[0]
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
        end = max(end, start + d)
    return end


async def _w4_main(durations: list[float], limit: int, zero: bool) -> float:
    sem = asyncio.Semaphore(limit)
    sleep = asyncio.sleep

    async def request(d: float) -> None:
        async with sem:
            await sleep(0 if zero else d)

    await asyncio.gather(*[request(d) for d in durations])
    return asyncio.get_running_loop().time()


def _w4_simpy(durations: list[float], limit: int) -> float:
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=limit)

    def request(d: float) -> Any:
        with res.request() as req:
            yield req
            yield env.timeout(d)

    for d in durations:
        env.process(request(d))
    env.run()
    return float(env.now)


def w4_gather(n: int = 10_000, limit: int = 100) -> Case:
    """W4: ``n`` requests through ``Semaphore(limit)``, lognormvariate(-0.2, 0.3) s each."""
    rng = random.Random(SEED)
    durations = [rng.lognormvariate(-0.2, 0.3) for _ in range(n)]
    ticks = list_schedule_makespan([deadline_ticks(d) for d in durations], limit) / 1_000_000_000
    floats = list_schedule_makespan(durations, limit)

    def equals(expect: float) -> Callable[[float], None]:
        def check(obs: float) -> None:
            assert obs == expect, f"makespan {obs!r} != list-scheduling makespan {expect!r}"

        return check

    def floor(obs: float) -> None:
        assert obs > 0

    return Case(
        "W4 gather",
        n,
        n,
        {
            **_asyncsim_runners(lambda: _w4_main(durations, limit, False)),
            "floor": lambda: _run_asyncio(_w4_main(durations, limit, True)),
            "simpy": lambda: _w4_simpy(durations, limit),
        },
        _with_python_core({"asyncsim": equals(ticks), "floor": floor, "simpy": equals(floats)}),
    )
