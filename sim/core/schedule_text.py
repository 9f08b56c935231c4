"""Replay strings: a :class:`~asyncsim.core.schedule.Schedule` as one line of text, and back.

A replay string is ``S1`` (a schedule real asyncio could produce) or ``X1`` (one that
also reorders ready callbacks, beyond asyncio's guarantees) followed by ``;``-separated
fields, each ``key=item,item,...``:

======  =========================================================================
``t=``  timer lateness, nanoseconds, one item per timer in the order the program
        schedules them
``l=``  extra latency of each model latency sample (network, HTTP, services)
``j=``  lateness of each thread job's result (``run_in_executor``, ``to_thread``)
``w=``  lateness of each wake-up of the loop (the loop slept until a timer was due)
``o=``  the alternative taken at each open same-instant order (0: program order)
``f=``  faults injected at fault opportunities (each message a model sends, each
        service call): ``17:partition:5000000000`` is a 5 s partition starting at
        opportunity 17
``c=``  chaos choices (``X1`` only), ``p=`` PCT seed, depth and change points (``X1``)
======  =========================================================================

In the positional fields an item ``v`` applies to the next event and ``i:v`` to event
``i`` (the events between are on time): ``t=0,100000000`` and ``t=1:100000000`` are the
same schedule. Items may also name what they delay, by call site (``t``, ``j``) or model
(``l``, ``f``) and occurrence: ``t=bank.py:15#0+0.1s`` delays the first timer scheduled
from line 15 of ``bank.py`` by 0.1 s, ``f=primary>replica#3:partition+5s`` partitions the
two hosts for 5 s at their fourth message. Amounts in named items are seconds (``0.1s``,
``250ms``, ``40us``) or nanoseconds (a plain integer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from asyncsim._validate import check_int, check_str, refuse

__all__ = [
    "FAULT_KINDS",
    "MAX_VALUE",
    "FaultChoice",
    "SiteEntry",
    "check_entry",
    "check_fault",
    "format_amount",
    "format_fields",
    "parse_amount",
    "parse_fields",
]

#: What a schedule may inject at a fault opportunity.
FAULT_KINDS = ("partition", "host_down", "reset", "error")

#: The largest amount (nanoseconds, about 146 years) or index a replay string may hold.
MAX_VALUE = 1 << 62
_POSITIONAL = ("t", "l", "j", "w", "o")
_NAMED = ("t", "l", "j")
_ORDER = ("t", "l", "j", "w", "o", "f", "c", "p")
_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)(s|ms|us|ns)?$")


@dataclass(frozen=True)
class SiteEntry:
    """One event named by where it happens rather than by its position in the run.

    ``dimension`` is ``"t"`` (timer), ``"j"`` (thread job), ``"l"`` (latency sample) or
    ``"f"`` (fault); ``site`` is a call site (``"bank.py:15"``) or a model's name
    (``"primary>replica"``, ``"service:db"``); ``occurrence`` counts that site's events
    in the run from 0; ``amount`` is nanoseconds (a fault's duration); ``kind`` is the
    fault's kind.
    """

    dimension: str
    site: str
    occurrence: int
    amount: int
    kind: str | None = None


@dataclass(frozen=True)
class FaultChoice:
    """A fault injected at fault opportunity ``index``: ``kind`` for ``duration`` ns."""

    index: int
    kind: str
    duration: int = 0


def format_amount(ticks: int) -> str:
    """Nanoseconds as exact seconds: ``100000000`` -> ``"0.1s"``."""
    text = format(Decimal(ticks) / Decimal(1_000_000_000), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "s"


def parse_amount(text: str) -> int:
    """``"0.1s"``, ``"250ms"``, ``"40us"``, ``"7ns"`` or ``"7"`` (ns) as nanoseconds."""
    match = _AMOUNT.match(text.strip())
    if match is None:
        raise ValueError(f"amount {text!r} is not a duration such as 0.1s, 250ms or 7 (ns)")
    number, unit = match.groups()
    try:
        ticks = Decimal(number) * _UNITS[unit or "ns"]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"amount {text!r} is not a number") from None
    if ticks != ticks.to_integral_value():
        raise ValueError(f"amount {text!r} is not a whole number of nanoseconds")
    return _bounded(int(ticks), text)


def _bounded(value: int, text: str) -> int:
    if value > MAX_VALUE:
        raise ValueError(f"{text!r} is too large (at most {MAX_VALUE})")
    return value


def _int(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a non-negative integer")
    return _bounded(int(text), text)


# -- checking -------------------------------------------------------------------------------


def check_fault(i: int, value: object) -> FaultChoice:
    """``faults[i]`` as a :class:`FaultChoice` (a tuple is accepted), checked."""
    if isinstance(value, tuple) and len(value) in (2, 3):
        value = FaultChoice(*value)
    if not isinstance(value, FaultChoice):
        refuse(f"faults[{i}]", "a FaultChoice or (index, kind, nanoseconds)", value)
    assert isinstance(value, FaultChoice)
    check_int(f"faults[{i}].index", value.index, minimum=0, maximum=MAX_VALUE)
    if value.kind not in FAULT_KINDS:
        refuse(f"faults[{i}].kind", f"one of {FAULT_KINDS}", value.kind, error=ValueError)
    check_int(f"faults[{i}].duration", value.duration, minimum=0, maximum=MAX_VALUE)
    return value


def check_entry(i: int, value: object) -> SiteEntry:
    """``by_site[i]`` as a :class:`SiteEntry` (a tuple is accepted), checked."""
    if isinstance(value, tuple) and len(value) in (4, 5):
        value = SiteEntry(*value)
    if not isinstance(value, SiteEntry):
        refuse(f"by_site[{i}]", "a SiteEntry or (dimension, site, occurrence, ns[, kind])", value)
    assert isinstance(value, SiteEntry)
    if value.dimension not in ("t", "l", "j", "f"):
        refuse(f"by_site[{i}].dimension", "'t', 'l', 'j' or 'f'", value.dimension, error=ValueError)
    check_str(f"by_site[{i}].site", value.site, empty=False)
    check_int(f"by_site[{i}].occurrence", value.occurrence, minimum=0, maximum=MAX_VALUE)
    check_int(f"by_site[{i}].amount", value.amount, minimum=0, maximum=MAX_VALUE)
    if (value.dimension == "f") != (value.kind in FAULT_KINDS):
        refuse(f"by_site[{i}].kind", f"a fault kind {FAULT_KINDS} for 'f' entries only", value)
    return value


# -- formatting -----------------------------------------------------------------------------


def _format_positional(values: tuple[int, ...]) -> list[str]:
    items: list[str] = []
    zeros = 0
    for index, value in enumerate(values):
        if value == 0 and index < len(values) - 1:
            zeros += 1
            continue
        if zeros >= 2:
            items.append(f"{index}:{value}")
        else:
            items.extend(["0"] * zeros + [str(value)])
        zeros = 0
    return items


def _format_named(entry: SiteEntry) -> str:
    text = f"{entry.site}#{entry.occurrence}"
    if entry.dimension == "f":
        assert entry.kind is not None
        return f"{text}:{entry.kind}" + (f"+{format_amount(entry.amount)}" if entry.amount else "")
    return f"{text}+{format_amount(entry.amount)}"


def format_fields(
    positional: dict[str, tuple[int, ...]],
    faults: tuple[FaultChoice, ...],
    named: tuple[SiteEntry, ...],
    chaos: tuple[int, ...] | None,
    pct: tuple[int, ...] | None,
) -> str:
    """The replay string of a schedule's fields (see the module docstring)."""
    fields: dict[str, list[str]] = {key: _format_positional(positional[key]) for key in _POSITIONAL}
    fields["f"] = [f"{f.index}:{f.kind}" + (f":{f.duration}" if f.duration else "") for f in faults]
    for entry in named:
        fields[entry.dimension].append(_format_named(entry))
    parts = ["X1" if chaos is not None or pct is not None else "S1"]
    for key in _ORDER:
        if key == "c" and chaos is not None:
            parts.append("c=" + ",".join(map(str, chaos)))
        elif key == "p" and pct is not None:
            parts.append("p=" + ",".join(map(str, pct)))
        elif fields.get(key):
            parts.append(f"{key}=" + ",".join(fields[key]))
    return ";".join(parts)


# -- parsing --------------------------------------------------------------------------------


@dataclass
class ParsedFields:
    """What a replay string holds, as :class:`~asyncsim.core.schedule.Schedule` arguments."""

    positional: dict[str, tuple[int, ...]]
    faults: tuple[FaultChoice, ...]
    named: tuple[SiteEntry, ...]
    chaos: tuple[int, ...] | None
    pct: tuple[int, ...] | None


def _parse_named(key: str, item: str) -> SiteEntry:
    site, sep, rest = item.rpartition("#")
    if not sep or not site:
        raise ValueError(f"item {item!r} names no site (expected site#occurrence+amount)")
    if key == "f":
        head, plus, amount = rest.partition("+")
        occurrence, colon, kind = head.partition(":")
        if not colon or kind not in FAULT_KINDS:
            raise ValueError(f"fault {item!r} must name a kind: one of {', '.join(FAULT_KINDS)}")
        return SiteEntry("f", site, _int(occurrence), parse_amount(amount) if plus else 0, kind)
    occurrence, plus, amount = rest.partition("+")
    if not plus:
        raise ValueError(f"item {item!r} has no amount (expected site#occurrence+0.1s)")
    return SiteEntry(key, site, _int(occurrence), parse_amount(amount))


def _parse_positional(key: str, items: list[str], named: list[SiteEntry]) -> tuple[int, ...]:
    values: list[int] = []
    for item in items:
        if "#" in item:
            if key not in _NAMED:
                raise ValueError(f"field {key}= does not name sites: {item!r}")
            named.append(_parse_named(key, item))
            continue
        index_text, colon, value_text = item.rpartition(":")
        if colon:
            index = _int(index_text)
            if index < len(values):
                raise ValueError(f"index {index} in {item!r} goes back (items must be in order)")
            if index > MAX_VALUE >> 40:
                raise ValueError(f"index {index} in {item!r} is too large")
            values.extend([0] * (index - len(values)))
        values.append(_int(value_text))
    return tuple(values)


def _parse_faults(items: list[str], named: list[SiteEntry]) -> tuple[FaultChoice, ...]:
    faults: list[FaultChoice] = []
    for item in items:
        if "#" in item:
            named.append(_parse_named("f", item))
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or parts[1] not in FAULT_KINDS:
            raise ValueError(
                f"fault {item!r} must be index:kind[:nanoseconds], kind one of "
                + ", ".join(FAULT_KINDS)
            )
        duration = _int(parts[2]) if len(parts) == 3 else 0
        faults.append(FaultChoice(_int(parts[0]), parts[1], duration))
    return tuple(faults)


def parse_fields(text: str) -> ParsedFields:
    """Parse a replay string; ``ValueError`` says what is wrong (the caller quotes ``text``)."""
    parts = text.strip().split(";")
    version = parts[0]
    if version not in ("S1", "X1"):
        raise ValueError(
            "it must start with 'S1' (or 'X1' for chaos/PCT orders); copy it from the "
            "failing test's output, e.g. 'S1;t=100000001'"
        )
    seen: set[str] = set()
    positional: dict[str, tuple[int, ...]] = {key: () for key in _POSITIONAL}
    named: list[SiteEntry] = []
    faults: tuple[FaultChoice, ...] = ()
    chaos = pct = None
    for part in parts[1:]:
        key, eq, body = part.partition("=")
        if not eq or key not in _ORDER or key in seen:
            raise ValueError(f"bad field {part!r}")
        seen.add(key)
        items = body.split(",") if body else []
        try:
            if key in _POSITIONAL:
                positional[key] = _parse_positional(key, items, named)
            elif key == "f":
                faults = _parse_faults(items, named)
            elif key == "c":
                chaos = tuple(_int(item) for item in items)
            else:
                pct = tuple(_int(item) for item in items)
        except ValueError as exc:
            raise ValueError(f"field {part!r}: {exc}") from None
    if version == "S1" and (chaos is not None or pct is not None):
        raise ValueError(
            "chaos (c=) and PCT (p=) orders are beyond asyncio's guarantees: such a "
            "replay string starts with 'X1', not 'S1'"
        )
    if version == "X1" and chaos is None and pct is None:
        raise ValueError("an 'X1' replay string reorders callbacks: it needs a c= or p= field")
    return ParsedFields(positional, faults, tuple(named), chaos, pct)
