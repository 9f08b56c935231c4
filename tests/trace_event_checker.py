"""A checker of the Chrome trace-event format rules that asyncsim's trace.json must follow.

From the Trace Event Format document: every event has ``name``, ``ph``, ``pid``
and ``tid``; every event but metadata has a numeric ``ts`` (microseconds);
complete events (``X``) have a non-negative ``dur``; flow events (``s``/``f``)
share a ``cat``/``name``/``id`` with exactly one start and one finish, and the
finish is not earlier than the start; async events (``b``/``e``) pair up by id;
metadata events (``M``) name processes and threads in ``args.name``. Beyond the
document, what viewers need: timestamps are positive (DevTools takes ``ts == 0`` for
no time), and duration events (``B``/``E``) nest on each thread as a stack, in
timestamp order with ties in file order (as speedscope and DevTools read them): each
``E`` closes the innermost open ``B`` of the same name, and none is left open.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

KNOWN_PHASES = {"X", "B", "E", "i", "I", "s", "t", "f", "b", "e", "n", "M", "C"}


def check_trace_events(data: Any) -> list[str]:
    """Every rule ``data`` breaks, as readable messages (empty when it is valid)."""
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        return ["top level must be an object with a traceEvents list"]
    flows: dict[tuple[Any, ...], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    asyncs: dict[tuple[Any, ...], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i, event in enumerate(data["traceEvents"]):
        where = f"event {i} ({event.get('ph')!r} {event.get('name')!r})"
        for field in ("name", "ph", "pid", "tid"):
            if field not in event:
                problems.append(f"{where}: missing {field!r}")
        ph = event.get("ph")
        if ph not in KNOWN_PHASES:
            problems.append(f"{where}: unknown phase {ph!r}")
        if ph != "M" and not isinstance(event.get("ts"), (int, float)):
            problems.append(f"{where}: ts must be a number of microseconds")
        if ph == "X" and not (isinstance(event.get("dur"), (int, float)) and event["dur"] >= 0):
            problems.append(f"{where}: complete event without a non-negative dur")
        names_something = event.get("name") in ("process_name", "thread_name")
        if ph == "M" and names_something and not isinstance(event.get("args", {}).get("name"), str):
            problems.append(f"{where}: metadata without args.name")
        if ph in ("s", "t", "f"):
            if "id" not in event:
                problems.append(f"{where}: flow event without id")
            flows[(event.get("cat"), event.get("name"), event.get("id"))][ph].append(event["ts"])
        if ph in ("b", "e"):
            asyncs[(event.get("cat"), event.get("name"), event.get("id"))][ph].append(event["ts"])
    stacks: dict[tuple[Any, Any], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for i, event in enumerate(data["traceEvents"]):
        if event.get("ph") in ("B", "E"):
            stacks[(event.get("pid"), event.get("tid"))].append((i, event))
        if (
            event.get("ph") != "M"
            and isinstance(event.get("ts"), (int, float))
            and event["ts"] <= 0
        ):
            problems.append(f"event {i} ({event.get('name')!r}): ts {event['ts']} is not positive")
    for thread, items in stacks.items():
        open_: list[dict[str, Any]] = []
        for i, event in sorted(items, key=lambda item: (item[1]["ts"], item[0])):
            if event["ph"] == "B":
                open_.append(event)
            elif not open_ or open_[-1].get("name") != event.get("name"):
                problems.append(f"thread {thread}: event {i} ends {event.get('name')!r}, not open")
            else:
                open_.pop()
        if open_:
            problems.append(f"thread {thread}: {len(open_)} slices never end")
    for key, phases in flows.items():
        if len(phases["s"]) != 1 or len(phases["f"]) != 1:
            problems.append(f"flow {key}: needs one start and one finish, got {dict(phases)}")
        elif phases["f"][0] < phases["s"][0]:
            problems.append(f"flow {key}: finishes before it starts")
    for key, phases in asyncs.items():
        if len(phases["b"]) != len(phases["e"]):
            problems.append(f"async {key}: unbalanced begin/end")
    return problems
