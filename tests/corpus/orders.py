"""Same-instant order: two events due at one instant, and code that assumes which comes first.

asyncio does not order timers with equal deadlines (its heap compares deadlines only),
answers from two servers with the same latency arrive in either order, and two tasks
that finish at the same instant complete in either order; a schedule that makes one of
them a nanosecond late explores the other order.
"""

from __future__ import annotations

import asyncio
import contextlib

from asyncsim.models.network import Network

from . import Pair

# -- two jobs due at the same minute ----------------------------------------------------------


async def rotation(fixed: bool) -> list[list[tuple[int, int]]]:
    loop = asyncio.get_running_loop()
    files: list[list[tuple[int, int]]] = [[]]  # per file: (line, file current when logged)
    buffer: list[tuple[int, int]] = []
    done = loop.create_future()

    def flush() -> None:
        files[-1].extend(buffer)
        buffer.clear()

    def rotate() -> None:
        if fixed:
            flush()  # the rotation flushes the old file itself
        files.append([])  # BUG unless flushed first: relies on flush() running before
        if len(files) == 3:
            done.set_result(None)

    async def log_lines() -> None:
        for i in range(120):
            buffer.append((i, len(files) - 1))
            await asyncio.sleep(1.0)

    writer = asyncio.create_task(log_lines())
    for minute in (1, 2):
        at = 60.0 * minute - 0.5
        loop.call_at(at, flush)  # the flush of the minute's last lines ...
        loop.call_at(at, rotate)  # ... and the rotation, at the same instant
    await done
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
    return files


def each_line_in_its_file(files: list[list[tuple[int, int]]]) -> bool:
    """Every line is in the file that was current when it was logged."""
    return all(current == index for index, lines in enumerate(files) for _, current in lines)


# -- the first answer of two replicas ---------------------------------------------------------


def replica_network() -> Network:
    net = Network(latency=0.02)
    net.add_host("replica-1")
    net.add_host("replica-2")
    return net


async def fastest_replica(fixed: bool) -> list[int]:
    versions = {"replica-1": 7, "replica-2": 6}  # replica-2 lags one write behind

    def serve(name: str):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while await reader.readline():
                    writer.write(f"{versions[name]}\n".encode())
            writer.close()

        return handle

    servers = [await asyncio.start_server(serve(n), n, 5432) for n in versions]
    read: list[int] = []
    for _ in range(5):
        answers: asyncio.Queue[int] = asyncio.Queue()

        async def ask(name: str, answers: asyncio.Queue[int] = answers) -> None:
            reader, writer = await asyncio.open_connection(name, 5432)
            writer.write(b"version?\n")
            await answers.put(int(await reader.readline()))
            writer.close()

        asking = [asyncio.create_task(ask(name)) for name in versions]  # replica-1 asked first
        if fixed:
            await asyncio.gather(*asking)
            read.append(max(answers.get_nowait() for _ in versions))  # the newest answer
        else:
            read.append(await answers.get())  # BUG: the first answer, assumed replica-1's
            await asyncio.gather(*asking)
        await asyncio.sleep(1.0)
    for server in servers:
        server.close()
    return read


# -- two mirrors that finish together ----------------------------------------------------------


async def mirrors(fixed: bool) -> list[str]:
    chosen = []

    async def download(mirror: str, version: int) -> tuple[str, int]:
        await asyncio.sleep(0.25)  # both mirrors take the same time
        return mirror, version

    for _ in range(4):
        tasks = [
            asyncio.create_task(download("primary", 2)),
            asyncio.create_task(download("stale-mirror", 1)),
        ]
        if fixed:
            results = await asyncio.gather(*tasks)
            chosen.append(max(results, key=lambda r: r[1])[0])  # compare versions
        else:
            for first in asyncio.as_completed(tasks):
                chosen.append((await first)[0])  # BUG: the first to finish, assumed primary
                break
            await asyncio.gather(*tasks)
        await asyncio.sleep(1.0)
    return chosen


PAIRS = [
    Pair(
        "rotation_tie",
        "same-instant order",
        "a log flush and a file rotation are both due at the same instant; if the rotation "
        "runs first the minute's last lines land in the next file (the twin flushes itself)",
        rotation,
        each_line_in_its_file,
    ),
    Pair(
        "fastest_replica",
        "same-instant order",
        "two replicas answer at the same instant; the client takes the first answer, "
        "assuming the up-to-date replica's comes first (the twin compares versions)",
        fastest_replica,
        lambda read: read == [7] * 5,
        network=replica_network,
    ),
    Pair(
        "mirror_tie",
        "same-instant order",
        "two mirrors finish at the same instant; as_completed's first result is taken as "
        "the primary's (the twin compares versions)",
        mirrors,
        lambda chosen: chosen == ["primary"] * 4,
    ),
]
