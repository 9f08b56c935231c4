"""In a real browser: trace.json in Chromium's DevTools, and the interactive report page.

These run where Chromium is installed (``apt-get install chromium``; or point
``ASYNCSIM_CHROMIUM`` at a Chrome) and are skipped elsewhere: CI does not install a
browser. They drive headless Chromium through the DevTools protocol
(:mod:`tests.chromium`).
"""

import asyncio
import json

import pytest

import asyncsim
from asyncsim.report.chrome import chrome_trace

from .chromium import Chromium, chromium_path
from .conftest import EXAMPLES

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")

DEVTOOLS_BOUNDS = """import('/devtools/panels/timeline/timeline.js').then(T => {
  const parsed = T.TimelinePanel.TimelinePanel.instance().getParsedTraceForLayoutTests();
  const meta = (parsed.data || parsed).Meta;
  return [meta.traceBounds.min, meta.traceBounds.max, meta.traceBounds.range];
})"""


@pytest.fixture(scope="module")
def browser():
    with Chromium() as chromium:
        yield chromium


def test_trace_json_opens_in_devtools_performance_panel_as_the_whole_11_s_run(browser):
    trace = asyncsim.run_script(EXAMPLES / "seed_pair.py", trace=True).trace
    page = browser.devtools_with_trace(json.dumps(chrome_trace(trace)))
    low, high, span = page.evaluate(DEVTOOLS_BOUNDS)
    # DevTools shows the trace from its first event: 0 s to 11 s of virtual time.
    assert (low, high, span) == (1, 11_000_001, 11_000_000)


async def _workers(n):
    limit = asyncio.Semaphore(10)

    async def worker(i):
        async with limit:
            await asyncio.sleep(0.01 * (i % 7 + 1))

    await asyncio.gather(*(worker(i) for i in range(n)))


def test_the_report_page_draws_zooms_and_explains_a_bar_on_hover(browser, tmp_path):
    run = asyncsim.simulate(_workers(8), trace=True)
    index = run.report(tmp_path / "r")
    page = browser.new_page(width=1200, height=900)
    page.goto(index.as_uri())
    page.wait_for("window.asyncsimTimeline")
    assert page.evaluate("window.asyncsimTimeline.rows()") == len(run.trace.tasks)
    before = page.evaluate("window.asyncsimTimeline.view()")
    page.evaluate("window.asyncsimTimeline.zoom(0.5)")
    after = page.evaluate("window.asyncsimTimeline.view()")
    assert after[1] - after[0] == pytest.approx((before[1] - before[0]) / 2)
    page.evaluate("document.querySelector('[data-zoom=all]').click()")
    box = page.evaluate(
        "(() => { const r = document.querySelector('#timeline canvas').getBoundingClientRect();"
        " return [r.left, r.top, r.width]; })()"
    )
    # The second row is the first worker: hover the middle of the run on it.
    page.mouse("mouseMoved", box[0] + 230 + (box[2] - 238) * 0.05, box[1] + 24 + 22 * 1.5)
    tip = page.wait_for(
        "(() => { const t = document.querySelector('.tl-tip');"
        " return !t.hidden && t.innerText; })()"
    )
    assert "Task-2" in tip and "state" in tip and "where" in tip
    page.evaluate("window.asyncsimTimeline.select(1)")
    assert "Task-2" in page.evaluate("document.querySelector('.tl-detail').innerText")


async def _served(n: int) -> None:
    from asyncsim.models.services import Server

    db = Server(capacity=2, service_time=0.1, name="db")
    await asyncio.gather(*(db.call() for _ in range(n)))


def test_the_report_page_draws_the_models_lanes_under_the_tasks_and_explains_them(
    browser, tmp_path
):
    run = asyncsim.simulate(_served(6), trace=True)  # 2 at a time, 0.1 s each: 0.3 s
    index = run.report(tmp_path / "r")
    page = browser.new_page(width=1200, height=900)
    page.goto(index.as_uri())
    page.wait_for("window.asyncsimTimeline")
    tasks = len(run.trace.tasks)
    assert page.evaluate("window.asyncsimTimeline.rows()") == tasks + 2  # busy, queue
    left, top, width = page.evaluate(
        "(() => { const r = document.querySelector('#timeline canvas').getBoundingClientRect();"
        " return [r.left, r.top, r.width]; })()"
    )

    def hover(seconds: float, row: int) -> str:
        page.mouse(
            "mouseMoved", left + 230 + (width - 238) * seconds / 0.3, top + 24 + 22 * row + 11
        )
        return page.wait_for(
            "(() => { const t = document.querySelector('.tl-tip');"
            " return !t.hidden && t.innerText; })()"
        )

    busy = hover(0.15, tasks)
    assert "db: busy (of 2)" in busy and "busy 2 of 2" in busy
    queue = hover(0.05, tasks + 1)
    assert "db: queue (max 4)" in queue and "queued 4 (max 4)" in queue
