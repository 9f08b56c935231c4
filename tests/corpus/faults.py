"""Fault timing: a reset, a partition or a service error at the wrong message breaks these.

The models declare (or the tests opt in to) the faults a schedule may inject; the
networks here have constant latencies, so nothing else varies the messages.
"""

from __future__ import annotations

import asyncio
import contextlib

from asyncsim.models import services
from asyncsim.models.network import Network
from asyncsim.models.services import Server

from . import Pair

# (benchmarks/find_rates.py also runs the corpus on asyncsim before issue 15, which had
# neither injected faults nor ServiceError)
ServiceError = getattr(services, "ServiceError", RuntimeError)

# -- pipelined messages lost on a reset ----------------------------------------------------

MESSAGES = 12


def log_network() -> Network:
    net = Network(latency=0.01)
    net.add_host("logs")
    declare = getattr(net, "scheduled_faults", None)  # (absent before issue 15)
    if declare is not None:
        declare(kinds=("reset",))
    return net


async def pipelined(fixed: bool) -> list[int]:
    received: list[int] = []

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):  # (shut down)
            while line := await reader.readline():
                number = int(line)
                if number not in received:  # at-least-once delivery, deduplicated
                    received.append(number)
                writer.write(f"{number}\n".encode())  # the acknowledgement
        writer.close()

    listening = await asyncio.start_server(server, "logs", 514)
    sent = acked = 0  # messages written, messages acknowledged
    while acked < MESSAGES:
        try:
            reader, writer = await asyncio.open_connection("logs", 514)
            while acked < MESSAGES:
                while sent < MESSAGES and sent - acked < 3:  # three messages in flight
                    writer.write(f"{sent}\n".encode())
                    sent += 1
                line = await reader.readline()
                if not line:
                    raise ConnectionResetError("closed")
                acked = max(acked, int(line) + 1)
            writer.close()
        except ConnectionError:
            await asyncio.sleep(0.1)  # reconnect: a reset dropped the connection ...
            if fixed:
                sent = acked  # ... and resend everything not acknowledged
            # BUG otherwise: the messages in flight when the reset came are never resent
    listening.close()
    await asyncio.sleep(1.0)
    return received


# -- a retried request applied twice after a partition ---------------------------------------


def counter_network() -> Network:
    net = Network(latency=0.01)
    net.add_host("counter")
    return net


async def retried_increment(fixed: bool) -> int:
    count = 0
    seen: set[str] = set()

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):  # (shut down)
            while line := await reader.readline():
                request = line.decode().strip()
                if not fixed or request not in seen:  # BUG unless deduplicated by request id
                    seen.add(request)
                    count += 1
                writer.write(b"ok\n")
        writer.close()

    listening = await asyncio.start_server(server, "counter", 6379)
    for request in range(5):
        while True:
            writer = None
            try:
                reader, writer = await asyncio.open_connection("counter", 6379)
                writer.write(f"incr-{request}\n".encode())
                answer = await asyncio.wait_for(reader.readline(), timeout=5.0)
                writer.close()
                if answer:
                    break
            except (ConnectionError, TimeoutError):
                if writer is not None:
                    writer.close()
            await asyncio.sleep(0.5)  # no answer: retry the same request
        await asyncio.sleep(1.0)
    listening.close()
    await asyncio.sleep(120.0)  # requests held by a partition arrive when it heals
    return count


# -- a charge retried after the gateway failed the answer ------------------------------------


class Gateway:
    """Charges cards; it may fail a request after doing the work (a lost answer)."""

    def __init__(self) -> None:
        self.server = Server(capacity=2, service_time=0.2, name="gateway")
        declare = getattr(self.server, "scheduled_faults", None)  # (absent before issue 15)
        if declare is not None:
            declare()
        self.charges: list[str] = []

    async def charge(self, order: str, *, key: str | None = None) -> None:
        if key is None or key not in self.charges:  # an idempotency key charges once
            self.charges.append(order)
        await self.server.call()  # the answer, after the service time: may fail


async def checkout(fixed: bool) -> list[str]:
    gateway = Gateway()

    async def buy(order: str) -> None:
        for _attempt in range(3):
            try:
                await gateway.charge(order, key=order if fixed else None)
                return
            except ServiceError:
                await asyncio.sleep(0.5)  # BUG unless idempotent: the card was charged

    await asyncio.gather(*(buy(f"order-{i}") for i in range(6)))
    return gateway.charges


PAIRS = [
    Pair(
        "pipelined_reset",
        "fault timing",
        "a client counts pipelined messages as delivered when written; a reset drops the "
        "ones in flight and they are never resent (the twin resends all unacknowledged)",
        pipelined,
        lambda received: sorted(received) == list(range(MESSAGES)),
        network=log_network,
    ),
    Pair(
        "partition_retry",
        "fault timing",
        "a request whose answer a partition holds past the client's timeout is retried and "
        "applied twice (the twin's server deduplicates by request id)",
        retried_increment,
        lambda count: count == 5,
        network=counter_network,
        strategy={"faults": ("partition",)},
    ),
    Pair(
        "charge_retry",
        "fault timing",
        "a payment gateway fails an answer after charging; the retry charges the card again "
        "(the twin sends an idempotency key)",
        checkout,
        lambda charges: sorted(charges) == sorted(f"order-{i}" for i in range(6)),
    ),
]
