"""A headless Chromium driven through the DevTools protocol, for the browser checks.

Used by the tests that open a report page or a ``trace.json`` in a real browser (they
skip where Chromium is not installed) and by ``docs/make_screenshots.py``. It speaks
the Chrome DevTools Protocol over a websocket with aiohttp (already a dependency), so
no browser-automation package is needed::

    with Chromium() as browser:
        page = browser.new_page(width=1200, height=800)
        page.goto("file:///tmp/report/index.html")
        page.evaluate("document.title")
        page.screenshot("shot.png")

Everything is synchronous from the caller's side: each call runs on a private
asyncio loop in a background thread (real time, not asyncsim's).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["Chromium", "Page", "chromium_path"]

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-allow-origins=*",
]
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")
# The Performance panel of a DevTools page (its module is loaded once the panel shows).
_PANEL = (
    "import('/devtools/panels/timeline/timeline.js')"
    ".then(T => { try { return T.TimelinePanel.TimelinePanel.instance(); }"
    " catch (e) { return null; } })"
)


def chromium_path() -> str | None:
    """The Chromium (or Chrome) executable, or None when none is installed."""
    for name in (os.environ.get("ASYNCSIM_CHROMIUM"), "chromium", "chromium-browser", "chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


class Page:
    """One browser tab: navigate, evaluate JavaScript, dispatch input, take screenshots."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self._browser = browser
        self._session = session

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send one DevTools command to this tab; returns its result."""
        return self._browser._call(self._browser._send(method, params, self._session), timeout)

    def goto(self, url: str, *, timeout: float = 60.0) -> None:
        """Open ``url`` and wait for its load event."""
        self._browser._call(self._browser._goto(self._session, url), timeout)

    def evaluate(self, expression: str, *, timeout: float = 60.0) -> Any:
        """The value of a JavaScript expression (promises are awaited)."""
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 60.0, interval: float = 0.1) -> Any:
        """Poll ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            time.sleep(interval)

    def expect(self, event: str) -> Any:
        """Start waiting for the DevTools event ``event``; pass the result to :meth:`wait`."""
        return self._browser._call(self._browser._expect(self._session, event), 10)

    def wait(self, waiter: Any, *, timeout: float = 60.0) -> dict[str, Any]:
        """The parameters of an event :meth:`expect` started waiting for."""
        return self._browser._call(waiter, timeout)  # type: ignore[no-any-return]

    def click(self, x: float, y: float) -> None:
        """A left click at ``(x, y)`` CSS pixels."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.mouse(kind, x, y, button="left", clickCount=1)

    def mouse(self, kind: str, x: float, y: float, **extra: Any) -> None:
        """Dispatch a mouse event (``mouseMoved``, ``mousePressed``, ``mouseWheel`` ...)."""
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, **extra)

    def screenshot(self, path: str | os.PathLike[str], *, full_page: bool = False) -> Path:
        """Save a PNG of the tab (the whole page with ``full_page``)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        target = Path(path)
        target.write_bytes(base64.b64decode(data))
        return target


class Chromium:
    """A headless Chromium process and its DevTools connection (a context manager)."""

    def __init__(self, executable: str | None = None) -> None:
        found = executable or chromium_path()
        if found is None:
            raise FileNotFoundError(
                "no Chromium found (install chromium, or set ASYNCSIM_CHROMIUM)"
            )
        self.executable = found
        self._profile = tempfile.mkdtemp(prefix="asyncsim-chromium-")
        self._process: subprocess.Popen[str] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------

    def __enter__(self) -> Chromium:
        self._process = subprocess.Popen(
            [
                self.executable,
                *_FLAGS,
                f"--user-data-dir={self._profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = self._read_endpoint()
        self._thread.start()
        self._call(self._connect(url), 30)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._call(self._close(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_endpoint(self) -> str:
        assert self._process is not None and self._process.stderr is not None
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line:
                break
            lines.append(line)
            match = _LISTENING.search(line)
            if match:
                #: The browser's DevTools HTTP endpoint, which also serves the DevTools app.
                self.http = "http://" + match.group(1).split("/")[2]
                # Keep draining stderr so that the browser never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return match.group(1)
        raise RuntimeError("Chromium did not start:\n" + "".join(lines[-20:]))

    def _drain(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for _ in self._process.stderr:
            pass

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- the protocol ----------------------------------------------------------------

    async def _connect(self, url: str) -> None:
        self._http = aiohttp.ClientSession()
        self._socket = await self._http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())

    async def _close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None:
            await self._http.close()

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(RuntimeError(f"DevTools error: {data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
            else:
                key = (data.get("sessionId", ""), data.get("method", ""))
                waiter = self._events.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data.get("params", {}))

    async def _send(self, method: str, params: dict[str, Any], session: str = "") -> Any:
        assert self._socket is not None
        ident = next(self._ids)
        future = self._loop.create_future()
        self._pending[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        await self._socket.send_str(json.dumps(message))
        return await future

    async def _expect(self, session: str, event: str) -> Any:
        future = self._loop.create_future()
        self._events[(session, event)] = future

        async def wait() -> Any:
            return await future

        return wait()

    async def _goto(self, session: str, url: str) -> None:
        loaded = self._loop.create_future()
        self._events[(session, "Page.loadEventFired")] = loaded
        await self._send("Page.navigate", {"url": url}, session)
        await loaded

    def devtools_with_trace(self, trace_json: str, *, width: int = 1400, height: int = 800) -> Page:
        """A tab of Chromium's own DevTools, Performance panel, with ``trace_json`` loaded
        as a user loads a file (its "Load profile" button); returns when it is shown."""
        page = self.new_page(width=width, height=height)
        page.goto(f"{self.http}/devtools/trace_app.html?panel=timeline")
        page.wait_for(_PANEL + " .then(p => !!p)", timeout=60)
        page.evaluate(
            _PANEL
            + ".then(p => p.loadFromFile(new File(["
            + json.dumps(trace_json)
            + "], 'trace.json', {type: 'application/json'})))"
        )
        page.wait_for(
            _PANEL + ".then(p => { try { return !!p.getParsedTraceForLayoutTests(); }"
            " catch (e) { return false; } })",
            timeout=60,
        )
        return page

    def new_page(self, *, width: int = 1280, height: int = 800, scale: float = 1.0) -> Page:
        """A new tab of ``width`` x ``height`` CSS pixels (device scale ``scale``)."""

        async def make() -> str:
            target = await self._send("Target.createTarget", {"url": "about:blank"})
            attached = await self._send(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            session = attached["sessionId"]
            await self._send("Page.enable", {}, session)
            await self._send("Runtime.enable", {}, session)
            await self._send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
                session,
            )
            return str(session)

        return Page(self, self._call(make(), 30))
