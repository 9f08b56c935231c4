"""The cause of each step of a trace: what made it run, and the waits in between.

Every step of a traced program has exactly one *cause*: the step that spawned
its task, the step whose callback woke it (a future it set, a task it finished),
the step that started the timer that woke it, or (for the first step of a
script's next ``asyncio.run``) the end of the previous loop. Between the end of
the cause and the start of the step lie *gaps* (a sleep, a timer, the loop busy
with other steps, a blocking ``time.sleep``). The critical path
(:mod:`asyncsim.trace.critical_path`) and the step DAG (:mod:`asyncsim.trace.graph`)
are both built from these causes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from asyncsim.trace.records import StepRow, Trace

__all__ = ["TIMER_WAKES", "Causes", "Gap", "overlaps_block"]

#: ``StepRow.wake`` values of a step woken by a timer (``"timeout"``: one of asyncio's
#: own timeouts, as in ``wait_for``, ``wait``, ``as_completed``, ``asyncio.timeout``).
TIMER_WAKES = ("timer", "timeout")


class Gap(NamedTuple):
    """A wait between a cause and the step it made run, ``start_ns`` to ``end_ns`` ticks.

    ``kind``, ``where`` and ``inner`` are as in :class:`asyncsim.trace.critical_path.Segment`.
    """

    start_ns: int
    end_ns: int
    kind: str
    task: int | None
    where: str
    inner: str = ""


def overlaps_block(trace: Trace, loop: int, start: int, end: int) -> bool:
    """Whether a blocking ``time.sleep`` held ``loop`` between ``start`` and ``end`` ticks."""
    return any(b.loop == loop and b.start_ns < end and b.end_ns > start for b in trace.blocks)


class Causes:
    """Finds the cause of each step of ``trace`` (one pass to index the steps first)."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.prev_of_task: dict[int, int | None] = {}
        self.last_of_task: dict[int, int] = {}
        self.last_of_loop: dict[int, int] = {}
        self.prev_loop_end: dict[int, int | None] = {}
        for step in trace.steps:
            self.prev_of_task[step.id] = self.last_of_task.get(step.task)
            self.last_of_task[step.task] = step.id
            if step.loop not in self.prev_loop_end:
                earlier = [i for loop, i in self.last_of_loop.items() if loop < step.loop]
                self.prev_loop_end[step.loop] = max(earlier) if earlier else None
            self.last_of_loop[step.loop] = step.id

    def cause(self, cur: StepRow) -> tuple[int | None, list[Gap]]:
        """The step that made ``cur`` run (None at the very start) and the gaps between."""
        steps = self.trace.steps
        pred: int | None = None
        gaps: list[Gap] = []
        wait_kind, wait_where, wait_inner = "ready", "", ""
        if cur.wake in ("step", "spawn") and cur.waker is not None:
            pred = cur.waker
        elif cur.wake in TIMER_WAKES and cur.waker is not None:
            pred = cur.waker
            p = steps[pred]
            due = max(
                p.end_ns, min(cur.due_ns if cur.due_ns is not None else p.end_ns, cur.start_ns)
            )
            kind = "sleep" if p.task == cur.task and p.blocked == "sleep" else cur.wake
            gaps.append(Gap(p.end_ns, due, kind, p.task, p.where, p.inner))
        elif cur.wake == "start":
            pred = self.prev_loop_end.get(cur.loop)
            wait_kind = "outside"
        else:
            pred = self.prev_of_task.get(cur.id)
            if pred is not None:
                before_step = steps[pred]
                wait_kind, wait_where, wait_inner = (
                    before_step.blocked,
                    before_step.where,
                    before_step.inner,
                )
        avail = gaps[-1].end_ns if gaps else (steps[pred].end_ns if pred is not None else None)
        # Became runnable earlier, but the loop was busy: the previous step held it.
        if cur.start_ns > (avail if avail is not None else cur.ready_ns) and cur.id > 0:
            before = steps[cur.id - 1]
            if before.loop == cur.loop and (avail is None or before.end_ns > avail):
                kind = (
                    "blocked"
                    if overlaps_block(self.trace, cur.loop, before.end_ns, cur.start_ns)
                    else "ready"
                )
                return before.id, [Gap(before.end_ns, cur.start_ns, kind, cur.task, "")]
        low = avail if avail is not None else self.trace.start_ns
        if cur.start_ns > low:
            kind = wait_kind
            if kind == "ready" and overlaps_block(self.trace, cur.loop, low, cur.start_ns):
                kind = "blocked"
            gaps.append(Gap(low, cur.start_ns, kind, cur.task, wait_where, wait_inner))
        return pred, gaps
