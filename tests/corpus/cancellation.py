"""Cancellation: a timeout or a shutdown that lands in the middle of an operation."""

from __future__ import annotations

import asyncio
import contextlib

from . import Pair

# -- a transfer cancelled between its two legs ------------------------------------------------


async def transfers(fixed: bool) -> tuple[int, int]:
    accounts = {"a": 100, "b": 0}

    async def transfer(amount: int) -> None:
        await asyncio.sleep(0.3)  # validate
        if fixed:
            await asyncio.sleep(0.3)  # prepare both legs ...
            accounts["a"] -= amount  # ... then apply them with no await between
            accounts["b"] += amount
        else:
            accounts["a"] -= amount
            await asyncio.sleep(0.3)  # BUG: a cancellation here leaves half a transfer
            accounts["b"] += amount

    for _ in range(5):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(transfer(10), timeout=1.0)
        await asyncio.sleep(1.0)
    return accounts["a"], accounts["b"]


# -- a shutdown that waits a fixed time instead of for the queue -----------------------------


async def shutdown(fixed: bool) -> list[int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    processed: list[int] = []

    async def worker() -> None:
        while True:
            item = await queue.get()
            await asyncio.sleep(0.2)  # process it
            processed.append(item)
            queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(2)]
    for item in range(10):
        await queue.put(item)
        await asyncio.sleep(0.05)
    if fixed:
        await queue.join()  # every item processed
    else:
        await asyncio.sleep(2.0)  # BUG: "long enough" for the workers to finish
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return processed


# -- a flusher cancelled while it writes a batch ----------------------------------------------


async def flusher(fixed: bool) -> list[int]:
    buffer: list[int] = []
    sink: list[int] = []

    async def flush_every_second() -> None:
        nonlocal buffer
        while True:
            await asyncio.sleep(1.0)
            batch, buffer = buffer, []
            try:
                await asyncio.sleep(0.1)  # the write takes a while ...
            except asyncio.CancelledError:
                if fixed:
                    buffer = batch + buffer  # ... the twin keeps the batch for the last flush
                raise  # BUG otherwise: the batch taken out of the buffer is lost
            sink.extend(batch)

    task = asyncio.create_task(flush_every_second())
    for record in range(100):
        buffer.append(record)
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.45)
    task.cancel()  # shut down between flushes, punctually
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sink.extend(buffer)  # the last flush
    return sink


PAIRS = [
    Pair(
        "half_transfer",
        "cancellation",
        "a transfer under a timeout debits one account, then awaits before crediting the "
        "other; a timeout in between loses money (the twin applies both legs together)",
        transfers,
        lambda balances: sum(balances) == 100,
    ),
    Pair(
        "fixed_shutdown",
        "cancellation",
        "a shutdown waits a fixed two seconds for the workers, then cancels them, losing "
        "items still queued or in progress (the twin waits for the queue to be done)",
        shutdown,
        lambda processed: sorted(processed) == list(range(10)),
    ),
    Pair(
        "flush_cancel",
        "cancellation",
        "a flusher is cancelled while it writes the batch it took out of the buffer, "
        "which is lost (the twin puts the batch back for the last flush)",
        flusher,
        lambda sink: sink == list(range(100)),
    ),
]
