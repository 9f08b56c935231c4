"""The real-time/virtual-time boundary: threads, real I/O, child processes, interval timers.

Each test that could hang if the boundary regressed runs under :func:`within`, which
fails after a few real seconds instead of hanging the suite (a bounded wait on a
thread, never an assertion on how long something took).
"""

from __future__ import annotations

import asyncio
import os
import queue
import shlex
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

import asyncsim

T = TypeVar("T")


def within(seconds: float, func: Callable[[], T]) -> T:
    """``func()``, run in a daemon thread; fail if it is still running after ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = func()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s of real time: a hang"
    if "error" in box:
        raise box["error"]
    return box["result"]


def run(main: Callable[[], Any], **options: Any) -> Any:
    options.setdefault("patch_time", False)
    return within(20, lambda: asyncsim.run(main(), **options))


# -- thread jobs blocked on the loop ------------------------------------------------------


def test_a_thread_job_waiting_on_an_event_a_later_sleep_sets_lets_the_clock_move() -> None:
    # Issue 12: the loop used to wait for such a job forever.
    async def main() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        event = threading.Event()

        async def setter() -> None:
            await asyncio.sleep(5)
            event.set()

        task = asyncio.create_task(setter())
        got = await loop.run_in_executor(None, event.wait, 30)
        await task
        return got, loop.time()

    assert run(main) == (True, 5.0)


def test_a_thread_job_blocked_on_a_queue_the_loop_fills_later_gets_the_item() -> None:
    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        items: queue.Queue[str] = queue.Queue()
        loop.call_later(2, items.put, "item")
        got = await asyncio.to_thread(items.get)
        return got, loop.time()

    assert run(main) == ("item", 2.0)


def test_a_thread_job_polling_a_loop_future_with_timeout_zero_keeps_holding_the_clock() -> None:
    # test_tasks' test_run_coroutine_threadsafe_with_timeout: the job never blocks, so
    # the clock must not move and the coroutine's 0.05 s sleep cannot end first.
    async def add() -> int:
        await asyncio.sleep(0.05)
        return 3

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()

        def job() -> str:
            future = asyncio.run_coroutine_threadsafe(add(), loop)
            try:
                return str(future.result(timeout=0))
            except TimeoutError:
                future.cancel()
                return f"timeout at t={loop.time()}"

        return [await loop.run_in_executor(None, job) for _ in range(50)]

    assert run(main) == ["timeout at t=0.0"] * 50


def test_a_thread_job_blocked_on_a_wait_nobody_ends_is_a_deadlock_naming_it() -> None:
    event = threading.Event()

    def waits_forever() -> bool:
        return event.wait()

    async def main() -> None:
        await asyncio.to_thread(waits_forever)

    try:
        with pytest.raises(asyncsim.Deadlock) as info:
            run(main)
    finally:
        event.set()
    text = str(info.value)
    assert "every thread job in flight is blocked in a wait" in text
    assert "thread job waits_forever(): waiting in waits_forever() at" in text
    assert "test_boundary.py" in text


def test_a_thread_job_waiting_in_a_selector_for_a_child_is_waited_for_not_a_deadlock() -> None:
    # (as a job running asyncio.run of its own that waits on a child process: the outside
    # world, not the loop, will wake it)
    import selectors
    import subprocess

    def reads_a_late_child() -> bytes:
        code = "import os, time; time.sleep(0.3); os.write(1, b'late')"
        with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as child:
            assert child.stdout is not None
            with selectors.DefaultSelector() as selector:
                selector.register(child.stdout, selectors.EVENT_READ)
                selector.select()
            return child.stdout.read()

    async def main() -> tuple[bytes, float]:
        data = await asyncio.to_thread(reads_a_late_child)
        return data, asyncio.get_running_loop().time()

    assert run(main) == (b"late", 0.0)


def test_stepping_past_a_blocked_thread_job_runs_until_idle_and_then_to_the_timer() -> None:
    loop = asyncsim.new_event_loop()
    event = threading.Event()
    try:
        job = loop.run_in_executor(None, event.wait)
        loop.call_later(3, event.set)
        within(10, loop.run_until_idle)
        assert not job.done() and loop.time() == 0.0
        assert within(10, loop.run_until_next_timer) == 3.0
        within(10, loop.run_until_idle)
        assert job.result() is True
    finally:
        event.set()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


# -- threads started by hand ----------------------------------------------------------------


def test_a_thread_started_by_hand_that_calls_back_is_waited_for_not_taken_for_a_deadlock() -> None:
    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def work() -> None:
            time.sleep(0.02)
            loop.call_soon_threadsafe(future.set_result, "done")

        threading.Thread(target=work).start()
        return await future, loop.time()

    for _ in range(20):
        assert run(main) == ("done", 0.0)


def test_a_job_submitted_to_an_executor_by_hand_is_waited_for_not_reported_as_a_deadlock() -> None:
    async def main() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as executor:
            result = await asyncio.wrap_future(executor.submit(lambda: time.sleep(0.02) or 7))
        return result, loop.time()

    for _ in range(20):
        assert run(main) == (7, 0.0)


def test_a_thread_that_called_in_is_not_outrun_by_a_virtual_timeout() -> None:
    # Once a hand-started thread has called into the loop, virtual time advances no
    # faster than real time while it runs: its 0.1 s of work beats a 5 s virtual timeout.
    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        started, future = loop.create_future(), loop.create_future()

        def work() -> None:
            loop.call_soon_threadsafe(started.set_result, None)
            time.sleep(0.1)
            loop.call_soon_threadsafe(future.set_result, "in time")

        threading.Thread(target=work).start()
        await started
        return await asyncio.wait_for(future, 5), loop.time()

    assert run(main) == ("in time", 0.0)


def test_a_thread_that_ends_without_calling_back_leaves_a_deadlock_to_report() -> None:
    async def main() -> None:
        threading.Thread(target=time.sleep, args=(0.02,)).start()
        await asyncio.get_running_loop().create_future()

    with pytest.raises(asyncsim.Deadlock, match="no thread job is in flight"):
        run(main)


# -- real-time bounds -------------------------------------------------------------------------


def test_a_thread_job_that_never_returns_stops_with_a_report_naming_it() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            time.sleep(0.01)

    async def main() -> None:
        await asyncio.sleep(1)
        await asyncio.to_thread(spin)

    try:
        with pytest.raises(asyncsim.Stalled) as info:
            run(main, real_time_limit=0.3)
    finally:
        stop.set()
    err = info.value
    assert err.time == 1.0 and err.waited >= 0.3
    assert len(err.parties) == 1
    assert err.parties[0].startswith("thread job spin(): running in spin() at ")
    assert "stalled at t=1.0s: the loop waited" in str(err)
    assert "(real_time_limit)" in str(err)


def test_a_child_process_that_never_exits_stops_with_a_report_naming_it() -> None:
    procs: list[asyncio.subprocess.Process] = []

    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(60)"
        )
        procs.append(proc)
        return await proc.wait()

    try:
        with pytest.raises(asyncsim.Stalled) as info:
            run(main, allow_real_io=True, real_time_limit=0.5)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
    command = shlex.join([sys.executable, "-c", "import time; time.sleep(60)"])
    assert info.value.parties == (f"child process {procs[0].pid} ({command})",)


@pytest.mark.parametrize("bad", ["1", True, -1.0, float("nan")])
def test_real_time_limit_must_be_none_or_a_number_of_seconds(bad: object) -> None:
    async def main() -> None:
        pass

    coro = main()
    with pytest.raises((TypeError, ValueError), match="real_time_limit must be"):
        asyncsim.run(coro, real_time_limit=bad)  # type: ignore[arg-type]
    coro.close()


# -- real I/O with allow_real_io ------------------------------------------------------------------


def test_a_5s_virtual_wait_for_around_a_real_reply_in_0_2s_gets_the_reply() -> None:
    # Issue 12: the virtual 5 s used to pass at once, before the real reply.
    a, b = socket.socketpair()
    a.setblocking(False)

    def reply() -> None:
        time.sleep(0.2)
        b.send(b"pong")

    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        threading.Thread(target=reply).start()
        data = await asyncio.wait_for(loop.sock_recv(a, 4), 5)
        return data, loop.time()

    try:
        assert run(main, allow_real_io=True) == (b"pong", 0.0)
    finally:
        a.close()
        b.close()


def test_a_request_on_a_real_connection_is_not_outrun_by_a_virtual_timeout() -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        peer, _ = server.accept()
        with peer:
            assert peer.recv(4) == b"ping"
            time.sleep(0.2)
            peer.sendall(b"pong")
            peer.recv(1)  # until the client closes

    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection(*server.getsockname())
        writer.write(b"ping")
        data = await asyncio.wait_for(reader.readexactly(4), 5)
        writer.close()
        await writer.wait_closed()
        return data, loop.time()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert run(main, allow_real_io=True) == (b"pong", 0.0)
    finally:
        thread.join(5)
        server.close()


def test_data_a_thread_started_during_the_run_sends_unasked_is_not_outrun_by_a_timeout() -> None:
    # (CPython's TLS tests: the server thread, mid-handshake, sends before the client asks)
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        peer, _ = server.accept()
        with peer:
            time.sleep(0.3)
            peer.sendall(b"hello")
            peer.recv(1)  # until the client closes

    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        thread = threading.Thread(target=serve)
        thread.start()
        reader, writer = await asyncio.open_connection(*server.getsockname())
        data = await asyncio.wait_for(reader.readexactly(5), 5)
        writer.close()
        await writer.wait_closed()
        await asyncio.to_thread(thread.join, 5)
        return data, loop.time()

    try:
        assert run(main, allow_real_io=True) == (b"hello", 0.0)
    finally:
        server.close()


def test_a_real_reply_that_never_comes_times_out_at_the_virtual_deadline() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(loop.sock_recv(a, 4), 0.3)
        return loop.time()

    try:
        assert run(main, allow_real_io=True) == 0.3
    finally:
        a.close()
        b.close()


def test_real_io_in_flight_with_nothing_virtual_pending_stops_at_until() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main() -> bytes:
        return await asyncio.get_running_loop().sock_recv(a, 1)

    try:
        with pytest.raises(asyncsim.SimulationTimeout) as info:
            run(main, allow_real_io=True, until=0.3)
        assert info.value.time == 0.3
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_pty_output_written_before_a_doubling_sleep_is_read_within_the_first_sleeps() -> None:
    # test_events' test_read_pty_output: pty data arrives a little after the write, in
    # real time; the loop's grace before each jump catches it while the sleeps are short.
    master, slave = os.openpty()

    async def main() -> tuple[bytes, bool]:
        loop = asyncio.get_running_loop()
        received = bytearray()

        class Reader(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                received.extend(data)

        transport, _ = await loop.connect_read_pipe(Reader, os.fdopen(master, "rb", 0))
        os.write(slave, b"1")
        delay = 0.001
        while not received:
            await asyncio.sleep(delay)
            delay *= 2
        transport.close()
        return bytes(received), loop.time() < 1.0

    try:
        assert run(main, allow_real_io=True) == (b"1", True)
    finally:
        os.close(slave)


# -- interval timers ----------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_an_armed_interval_timer_fires_before_a_later_virtual_timer() -> None:
    # test_events' test_signal_handling_while_selecting: the 60 s timer used to win.
    loop = asyncsim.new_event_loop()
    caught: list[float] = []
    try:

        def handler() -> None:
            caught.append(loop.time())
            loop.stop()

        loop.add_signal_handler(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0)
        loop.call_later(60, loop.stop)
        loop.run_forever()
        assert caught == [0.0]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        loop.remove_signal_handler(signal.SIGALRM)
        loop.close()
