"""Small unittest modules for testing the conformance runner itself (not CPython's tests).

``tests/test_conformance.py`` runs them through ``run_cpython.run_module`` to check
that a hang is reported naming the test, that a skip taken only on the virtual loop
is a failure, and that CPython's own skips stay skips.
"""

from __future__ import annotations

import asyncio
import time
import unittest

import asyncsim


class Hangs(unittest.TestCase):
    def test_finishes(self) -> None:
        self.assertEqual(asyncio.run(asyncio.sleep(1, "slept")), "slept")

    def test_never_finishes(self) -> None:
        time.sleep(3600)


class Skips(unittest.TestCase):
    @unittest.skipUnless(hasattr(time, "no_such_clock"), "needs time.no_such_clock")
    def test_skipped_by_a_decorator_everywhere(self) -> None:
        pass  # pragma: no cover

    def test_skipped_on_the_virtual_loop_only(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            if isinstance(loop, asyncsim.VirtualEventLoop):
                self.skipTest("the loop is virtual")
        finally:
            loop.close()
