"""A run's leftovers never break a later ``ast.parse`` (CPython 3.11 before 3.11.8, gh-106905).

A failing property test leaves futures whose exception nobody retrieved, in reference
cycles; the garbage collector finalizes them whenever it runs, possibly inside an
``ast.parse`` of pytest's, and their report (a traceback with 3.11's carets) parsed
again there. On the affected releases that broke the outer parse with "AST constructor
recursion depth mismatch" and with it the rest of the pytest session.
"""

import subprocess
import sys
import textwrap

import pytest

import asyncsim
from asyncsim.core import finalizers

PROGRAM = textwrap.dedent(
    """
    import ast, asyncio, logging, sys
    import asyncsim

    logging.basicConfig(stream=open("/dev/null", "w"))
    source = open(asyncio.base_events.__file__).read()

    def fail():
        return {}["missing"] + 1

    async def leave_garbage():
        loop = asyncio.get_running_loop()
        for _ in range(50):
            future = loop.create_future()
            try:
                fail()
            except KeyError as exc:
                future.set_exception(exc)  # never retrieved ...
            future.cycle = future  # ... and freed only by the cyclic collector

    errors = 0
    for _ in range(100):
        asyncsim.run(leave_garbage())
        try:
            ast.parse(source)
        except SystemError:
            errors += 1
    print("errors", errors)
    """
)


@pytest.mark.skipif(not finalizers.AFFECTED, reason="CPython 3.11.8+ keeps the depth per call")
def test_garbage_left_by_runs_never_breaks_a_later_ast_parse():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "errors 0", done.stderr


def test_reports_outside_a_collection_keep_their_carets():
    import gc
    import traceback

    finalizers.install()
    saved = traceback._extract_caret_anchors_from_line_segment
    gc.collect()  # (a whole pass: the finder is put back when it ends)
    assert traceback._extract_caret_anchors_from_line_segment is saved


def test_the_loop_keeps_asyncios_call_exception_handler():
    # CPython's test_tasks patches BaseEventLoop.call_exception_handler on the class.
    import asyncio

    assert "call_exception_handler" not in vars(asyncsim.VirtualEventLoop)
    assert asyncsim.VirtualEventLoop.call_exception_handler is (
        asyncio.BaseEventLoop.call_exception_handler
    )
