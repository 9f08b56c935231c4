"""loop.create_future hashes by creation order, so a program's sets of futures iterate the
same every run; the futures asyncio creates only to await them itself stay plain."""

import asyncio

import asyncsim
from asyncsim.models.network import Network


def wake_order(**options):
    """Futures parked in a set and woken by iterating it, as aiohttp's DNS throttle does."""

    async def main():
        loop = asyncio.get_running_loop()
        waiters = set()
        order = []

        async def waiter(i):
            future = loop.create_future()
            waiters.add(future)
            await future
            order.append(i)

        tasks = [asyncio.create_task(waiter(i)) for i in range(40)]
        await asyncio.sleep(0)
        garbage = [object() for _ in range(1000)]  # shift memory addresses between runs
        for future in waiters:
            future.set_result(None)
        await asyncio.gather(*tasks)
        del garbage
        return order

    return asyncsim.run(main(), **options)


def test_sets_of_futures_wake_in_the_same_order_on_every_run_over_a_network():
    first = wake_order(network=Network(latency=0.01))
    assert sorted(first) == list(range(40))
    assert all(wake_order(network=Network(latency=0.01)) == first for _ in range(5))


def test_sets_of_futures_wake_in_the_same_order_on_every_run_without_a_network():
    first = wake_order()
    assert sorted(first) == list(range(40))
    assert all(wake_order() == first for _ in range(5))


def test_create_future_hashes_by_creation_number_on_a_loop_with_a_network():
    loop = asyncsim.new_event_loop()
    try:
        loop.attach_network(Network(latency=0.01))
        futures = [loop.create_future() for _ in range(3)]
        assert [hash(f) for f in futures] == [hash(futures[0]) + i for i in range(3)]
        assert futures[0] != futures[1] and futures[0] == futures[0]
        assert repr(futures[0]).startswith("<Future pending")
    finally:
        loop.close()


def test_the_futures_asyncio_awaits_itself_are_plain_futures_the_fast_c_task_path_accepts():
    async def main():
        loop = asyncio.get_running_loop()
        lock, queue, event = asyncio.Lock(), asyncio.Queue(), asyncio.Event()
        await lock.acquire()

        async def blocked():
            await asyncio.gather(asyncio.sleep(1), lock.acquire(), queue.get(), event.wait())

        task = asyncio.create_task(blocked())
        await asyncio.sleep(0.5)
        waiters = [child._fut_waiter for child in task._fut_waiter._children]
        mine = loop.create_future()
        task.cancel()
        return [type(w) for w in waiters], type(mine)

    waiters, mine = asyncsim.run(main())
    assert waiters == [asyncio.Future] * 4
    assert mine is not asyncio.Future and issubclass(mine, asyncio.Future)


def test_a_loop_without_a_network_also_creates_ordered_futures():
    loop = asyncsim.new_event_loop()
    try:
        futures = [loop.create_future() for _ in range(3)]
        assert [hash(f) for f in futures] == [hash(futures[0]) + i for i in range(3)]
    finally:
        loop.close()


def test_a_sleep_over_a_network_still_ends_at_its_exact_virtual_time():
    async def main():
        await asyncio.sleep(0.25)
        return asyncio.get_running_loop().time()

    assert asyncsim.run(main(), network=Network(latency=0.01)) == 0.25


def test_a_subclass_that_overrides_create_future_keeps_its_override():
    class Marked(asyncio.Future):
        pass

    class Loop(asyncsim.VirtualEventLoop):
        def create_future(self):
            return Marked(loop=self)

    loop = Loop()
    try:
        assert type(loop.create_future()) is Marked
    finally:
        loop.close()
