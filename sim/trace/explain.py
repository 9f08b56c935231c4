"""Why each wait lasted as long as it did, and the critical path in words.

:func:`waits` explains every wait of every task (from the end of a step to the start
of the task's next one): what it waited on, where in the user's code, and why it
ended when it did (``"timed out after 1 s"``, ``"cancelled after 1 s"``, ``"late 0.1 s
(schedule)"``). The chart's labels, the interactive timeline's hover text and the
Chrome trace's slice names all come from it.

:func:`group_path` folds the critical path (:mod:`asyncsim.trace.critical_path`)
into runs of identical terms (``9 × sleep 0.25 s in producer()``), and
:func:`path_story` writes the sum that explains the elapsed time, its terms rounded
to 4 significant digits and its total exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from asyncsim.trace.text import exact_seconds, seconds_text

if TYPE_CHECKING:
    from asyncsim.trace.critical_path import Segment
    from asyncsim.trace.records import Delay, StepRow, Trace

__all__ = ["PathGroup", "Wait", "function_of", "group_path", "path_story", "waits"]

_S = 1_000_000_000


class Wait(NamedTuple):
    """The wait after step ``step`` of task ``task``, ``start_ns`` to ``end_ns`` ticks.

    ``what`` is what it waited on (``"sleep 3 s"``, ``"await Task-2"``, ``"Queue.get()"``),
    ``function`` the user function it waited in, ``why`` why it ended then ("" when it
    simply completed), ``where``/``inner`` the user's and the library's frames, and
    ``delay`` the schedule's injected delay that made it longer (or None).
    """

    task: int
    step: int
    start_ns: int
    end_ns: int
    blocked: str
    what: str
    function: str
    why: str
    where: str
    inner: str
    delay: Delay | None

    def labels(self) -> list[str]:
        """Texts for the wait's bar, longest first: draw the first that fits, else none."""
        place = f" in {self.function}()" if self.function and self.blocked != "task" else ""
        full = f"{self.what}{place}"
        if not self.why:
            return _unique([full, self.what])
        return _unique([f"{full}: {self.why}", f"{self.what}: {self.why}", self.why])

    @property
    def text(self) -> str:
        """The longest label: what, where and why."""
        return self.labels()[0]


def _unique(items: list[str]) -> list[str]:
    return [item for i, item in enumerate(items) if item and item not in items[:i]]


def function_of(where: str) -> str:
    """The function name of a ``"Class.function() at file:line"`` text ("" for "")."""
    return where.split("() at ", 1)[0].rsplit(".", 1)[-1] if where else ""


def _what(trace: Trace, step: StepRow, late: int = 0) -> str:
    if step.blocked == "sleep" and step.until_ns is not None:
        return f"sleep {seconds_text((step.until_ns - late - step.end_ns) / _S)} s"
    if step.blocked == "task" and step.target is not None:
        return f"await {trace.tasks[step.target].name}"
    if step.blocked == "ready":
        return "ready (yielded)"
    return step.detail or step.blocked


def waits(trace: Trace) -> dict[int, Wait]:
    """Every wait of ``trace``, by the id of the step it follows.

    A step that ended its task (``blocked == "done"``) has no wait; a wait still open
    when the trace ended ends at ``trace.end_ns``.
    """
    following: dict[int, StepRow] = {}
    nexts: dict[int, StepRow | None] = {}
    for step in reversed(trace.steps):
        nexts[step.id] = following.get(step.task)
        following[step.task] = step
    by_due: dict[tuple[int | None, int | None], Delay] = {}
    for injected in trace.delays:
        if injected.kind == "timer":
            by_due[(injected.task, injected.end_ns)] = injected
    out: dict[int, Wait] = {}
    for step in trace.steps:
        if step.blocked == "done":
            continue
        nxt = nexts[step.id]
        end = nxt.start_ns if nxt is not None else trace.end_ns
        duration = max(0, end - step.end_ns)
        why = ""
        delay: Delay | None = None
        nxt_is_sleep = step.blocked == "sleep" and step.until_ns is not None
        if nxt_is_sleep:
            delay = by_due.get((step.task, step.until_ns))
        elif nxt is not None and nxt.wake in ("timer", "timeout") and nxt.due_ns is not None:
            delay = by_due.get((step.task, nxt.due_ns))
        if nxt is None:
            row = trace.tasks[step.task]
            if row.outcome == "pending" and trace.error is not None:
                why = f"still waiting when the run stopped ({exact_seconds(duration)} s)"
        elif (
            nxt.blocked == "done"
            and trace.tasks[step.task].outcome == "cancelled"
            and (step.blocked != "sleep" or step.until_ns is None or nxt.start_ns < step.until_ns)
        ):
            why = f"cancelled after {seconds_text(duration / _S)} s"
        elif step.blocked != "sleep" and nxt.wake == "timeout":
            why = f"timed out after {seconds_text(duration / _S)} s"
        if delay is not None:
            late = f"late {seconds_text(delay.late_ns / _S)} s (schedule)"
            why = f"{why}, {late}" if why else late
        out[step.id] = Wait(
            task=step.task,
            step=step.id,
            start_ns=step.end_ns,
            end_ns=end,
            blocked=step.blocked,
            what=_what(trace, step, delay.late_ns if delay is not None and nxt_is_sleep else 0),
            function=function_of(step.where),
            why=why,
            where=step.where,
            inner=step.inner,
            delay=delay,
        )
    return out


class PathGroup(NamedTuple):
    """Consecutive critical-path segments that read the same: ``repeats`` of them.

    ``kind``, ``task``, ``name``, ``function``, ``where`` and ``inner`` are shared;
    ``each_ns`` is each one's length (None when they differ), ``total_ns`` their sum,
    from ``start_ns`` to ``end_ns``.
    """

    repeats: int
    kind: str
    task: int | None
    name: str
    function: str
    where: str
    inner: str
    each_ns: int | None
    total_ns: int
    start_ns: int
    end_ns: int

    def text(self) -> str:
        """``"9 × sleep 0.25 s in producer() (Task-1)"``: durations to 4 significant digits."""
        each = self.each_ns if self.each_ns is not None else self.total_ns // self.repeats
        if self.repeats == 1 or self.each_ns is not None:
            amount = f"{seconds_text(each / _S)} s"
        else:
            amount = f"{seconds_text(self.total_ns / _S)} s in all"
        times = f"{self.repeats} × " if self.repeats > 1 else ""
        place = f" in {self.function}()" if self.function else ""
        who = f" ({self.name})" if self.name else ""
        return f"{times}{self.kind} {amount}{place}{who}"


def group_path(segments: list[Segment]) -> list[PathGroup]:
    """Fold runs of consecutive segments with the same kind, task, function and length."""
    out: list[PathGroup] = []
    for seg in segments:
        function = function_of(seg.where)
        length = seg.end_ns - seg.start_ns
        last = out[-1] if out else None
        if (
            last is not None
            and (last.kind, last.task, last.function) == (seg.kind, seg.task, function)
            and last.each_ns == length
        ):
            out[-1] = last._replace(
                repeats=last.repeats + 1, total_ns=last.total_ns + length, end_ns=seg.end_ns
            )
        else:
            out.append(
                PathGroup(
                    1,
                    seg.kind,
                    seg.task,
                    seg.name,
                    function,
                    seg.where,
                    seg.inner,
                    length,
                    length,
                    seg.start_ns,
                    seg.end_ns,
                )
            )
    return out


def path_story(trace: Trace, segments: list[Segment], *, limit: int = 8) -> str:
    """The critical path as a sum: ``"11 s = 4 s sleep in delay() + ..."``.

    The total is exact; terms are grouped (:func:`group_path`) and rounded to 4
    significant digits. Past ``limit`` terms, the same kind of wait in the same
    function is added up over the whole path, the largest first, and the rest is
    one last term.
    """
    total = exact_seconds(trace.end_ns - trace.start_ns)
    groups = group_path(segments)
    if not groups:
        return f"{total} s = nothing"
    if len(groups) <= limit:
        return f"{total} s = " + " + ".join(g.text() for g in groups)
    sums: dict[tuple[str, str], list[Any]] = {}
    for g in groups:
        entry = sums.setdefault((g.kind, g.function), [0, 0, set()])
        entry[0] += g.total_ns
        entry[1] += g.repeats
        entry[2].add(g.name)
    ranked = sorted(sums.items(), key=lambda item: -item[1][0])
    terms = []
    for (kind, function), (ticks, count, names) in ranked[: limit - 1]:
        place = f" in {function}()" if function else ""
        who = (
            f" ({next(iter(names))})"
            if len(names) == 1 and "" not in names
            else (f" ({len(names)} tasks)" if len(names) > 1 else "")
        )
        times = f"{count} × " if count > 1 else ""
        terms.append(f"{times}{kind}{place}{who}: {seconds_text(ticks / _S)} s")
    rest = ranked[limit - 1 :]
    if rest:
        ticks = sum(v[0] for _, v in rest)
        count = sum(v[1] for _, v in rest)
        terms.append(f"{count} more: {seconds_text(ticks / _S)} s")
    return f"{total} s = " + " + ".join(terms)
