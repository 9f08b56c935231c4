"""Screenshots of the reports in headless Chromium: ``python docs/make_screenshots.py``.

Writes, under ``docs/``:

* ``report_10_tasks.png``: the interactive timeline of ``examples/gather.py`` (ten
  aiohttp requests against the modeled example.com), hovering a request's wait;
* ``report_10000_tasks.png``: 10,000 tasks through a ``Semaphore(100)``, grouped by
  coroutine, hovering the group; prints how long the page took to load and to redraw
  after a zoom (``performance.now()`` around the page's own drawing, median of 5);
* ``devtools_trace.png``: ``examples/seed_pair.py``'s ``trace.json`` in Chromium's own
  DevTools, Performance panel, showing the whole 11 s run.

Needs Chromium (``apt-get install chromium``); uses ``tests/chromium.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncsim  # noqa: E402
from asyncsim.report.chrome import chrome_trace  # noqa: E402
from tests.chromium import _PANEL, Chromium  # noqa: E402

DOCS = ROOT / "docs"
#: Click DevTools' "Hide sidebar" button, found by its label through the shadow roots;
#: true when there was one to click.
HIDE_SIDEBAR = """(() => { const find = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.tagName === 'BUTTON' && el.getAttribute('aria-label') === 'Hide sidebar') return el;
    const inner = el.shadowRoot && find(el.shadowRoot); if (inner) return inner; } return null; };
  const b = find(document); if (b) { b.click(); return true; } return false; })()"""
ROW, AXIS, GUTTER = 22, 24, 230  # the timeline's geometry (sim/report/timeline.js)


async def many(n: int = 10_000) -> None:
    """n requests through a Semaphore(100), each 10 to 100 ms."""
    limit = asyncio.Semaphore(100)

    async def request(i: int) -> int:
        async with limit:
            await asyncio.sleep(random.uniform(0.01, 0.1))
            return 200

    await asyncio.gather(*(request(i) for i in range(n)))


def canvas_box(page) -> list[float]:
    return page.evaluate(
        "(() => { const r = document.querySelector('#timeline canvas').getBoundingClientRect();"
        " return [r.left, r.top + scrollY, r.width, r.height]; })()"
    )


def shoot_timeline(page, path: Path, hover: tuple[float, int]) -> None:
    """Scroll to the timeline, hover at (fraction of the time axis, row), screenshot it."""
    page.evaluate("document.getElementById('timeline').scrollIntoView()")
    time.sleep(0.3)
    left, top, width, _height = canvas_box(page)
    top -= page.evaluate("scrollY")
    x = left + GUTTER + (width - GUTTER - 8) * hover[0]
    y = top + AXIS + ROW * hover[1] + ROW / 2
    page.mouse("mouseMoved", x, y)
    page.wait_for("!document.querySelector('.tl-tip').hidden")
    page.screenshot(path)
    print(f"{path.relative_to(ROOT)} written")


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="asyncsim-shots-"))
    models = asyncsim.load_model(ROOT / "examples" / "net_example_com.py")
    small = asyncsim.run_script(ROOT / "examples" / "gather.py", trace=True, **models)
    small_index = small.report(out / "gather")
    big = asyncsim.simulate(many(), seed=1, trace=True)
    started = time.perf_counter()
    big_index = big.report(out / "many")
    print(f"10,000-task report written in {time.perf_counter() - started:.2f} s wall")
    seed_pair = asyncsim.run_script(ROOT / "examples" / "seed_pair.py", trace=True)
    with Chromium() as browser:
        page = browser.new_page(width=1250, height=760)
        page.goto(small_index.as_uri())
        page.wait_for("window.asyncsimTimeline")
        shoot_timeline(page, DOCS / "report_10_tasks.png", (0.5, 4))

        loads, zooms = [], []
        for _ in range(5):
            page = browser.new_page(width=1250, height=760)
            page.goto(big_index.as_uri())
            page.wait_for("window.asyncsimTimeline")
            loads.append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            zooms.append(
                statistics.median(
                    page.evaluate(f"window.asyncsimTimeline.zoom({f})")
                    for f in (0.5, 0.5, 2, 2, 0.25)
                )
            )
        draw = page.evaluate("window.asyncsimTimeline.loadMs")
        print(
            f"10,000 tasks: page loaded in {statistics.median(loads):.0f} ms (median of 5; "
            f"the timeline's first drawing {draw:.0f} ms), a zoom redraws in "
            f"{statistics.median(zooms):.1f} ms"
        )
        page.evaluate("window.asyncsimTimeline.open(1)")
        page.evaluate("document.querySelector('[data-zoom=all]').click()")
        shoot_timeline(page, DOCS / "report_10000_tasks.png", (0.3, 1))

        devtools = browser.devtools_with_trace(json.dumps(chrome_trace(seed_pair.trace)))
        for _ in range(2):  # close the "connection closed" and shortcut pop-ups
            devtools.send(
                "Input.dispatchKeyEvent",
                type="keyDown",
                key="Escape",
                code="Escape",
                windowsVirtualKeyCode=27,
            )
            devtools.send(
                "Input.dispatchKeyEvent",
                type="keyUp",
                key="Escape",
                code="Escape",
                windowsVirtualKeyCode=27,
            )
        devtools.evaluate(
            "import('/devtools/services/trace_bounds/trace_bounds.js').then(TB => {"
            " const m = TB.TraceBounds.BoundsManager.instance();"
            " m.setTimelineVisibleWindow(m.state().micro.entireTraceBounds); })"
        )
        time.sleep(1)
        devtools.evaluate(HIDE_SIDEBAR)  # by its label: it opens on its own, or not
        devtools.wait_for("!" + HIDE_SIDEBAR.replace("b.click(); ", ""))
        time.sleep(0.5)
        devtools.evaluate(  # open the process's track and each task's (as a click on each would)
            _PANEL + ".then(p => { const chart = p.flameChart.mainFlameChart;"
            " chart.timelineData().groups.forEach((g, i) => chart.expandGroup(i, true)); })"
        )
        time.sleep(1)
        devtools.screenshot(DOCS / "devtools_trace.png")
        print("docs/devtools_trace.png written")


if __name__ == "__main__":
    main()
