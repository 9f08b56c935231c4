"""One run of a sweep (:class:`SweepRecord`) and the JSON Lines results file of runs.

A results file (``asyncsim.sweep(..., out="runs.jsonl")``) is JSON Lines: a header line
``{"kind": "sweep", ...}`` written when a sweep starts (again on each resume), then
one ``{"kind": "run", ...}`` line per finished run, in the order runs finished.
:func:`read_results_file` reads it back, ignoring a truncated last line (a sweep
killed while writing), so a partial file is still a table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "Point",
    "SweepRecord",
    "header_line",
    "order_records",
    "point_key",
    "read_results_file",
    "run_key",
]

FORMAT_VERSION = 1

Point = dict[str, Any]


def point_key(point: Mapping[str, Any]) -> str:
    """A canonical text form of a parameter point (JSON, keys sorted)."""
    return json.dumps(dict(point), sort_keys=True)


def run_key(point: Mapping[str, Any], seed: int | str) -> tuple[str, str]:
    """The identity of one run: its point and its seed (as JSON)."""
    return point_key(point), json.dumps(seed)


@dataclass(frozen=True)
class SweepRecord:
    """One simulated run of a sweep.

    Equality ignores ``wall`` (real seconds vary between machines and runs), so two
    sweeps of the same program compare equal record by record.

    Attributes
    ----------
    point : dict
        The parameter values the function was called with.
    seed : int or str
        The simulation seed.
    elapsed : float
        Virtual seconds from the start of the run until it finished or stopped.
    wall : float
        Real seconds the run took (not compared).
    steps : int
        Callbacks the loop ran.
    outcome : str
        ``"ok"`` or ``"error"``.
    error_type, error_message, traceback : str or None
        For ``"error"``: the exception's qualified type name, ``str(exc)`` and
        the formatted traceback.
    metrics : dict
        User metrics: the dict the coroutine returned and/or ``metrics(run)``.
    """

    point: Point
    seed: int | str
    elapsed: float
    wall: float = field(compare=False)
    steps: int
    outcome: str
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the run finished without an exception."""
        return self.outcome == "ok"

    @property
    def key(self) -> tuple[str, str]:
        """The run's identity: (point as JSON, seed as JSON)."""
        return run_key(self.point, self.seed)

    def value(self, name: str) -> Any:
        """``elapsed``, ``wall``, ``steps`` or a metric, by name."""
        if name in ("elapsed", "wall", "steps"):
            return getattr(self, name)
        return self.metrics.get(name)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (one line of a results file)."""
        return {
            "kind": "run",
            "point": self.point,
            "seed": self.seed,
            "elapsed": self.elapsed,
            "wall": self.wall,
            "steps": self.steps,
            "outcome": self.outcome,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "traceback": self.traceback,
            "metrics": self.metrics,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SweepRecord:
        """The record a results-file line describes."""
        return cls(
            point=dict(data["point"]),
            seed=data["seed"],
            elapsed=float(data["elapsed"]),
            wall=float(data["wall"]),
            steps=int(data["steps"]),
            outcome=str(data["outcome"]),
            error_type=data.get("error_type"),
            error_message=data.get("error_message"),
            traceback=data.get("traceback"),
            metrics=dict(data.get("metrics") or {}),
        )

    def label(self) -> str:
        """``concurrency=10 seed=3``: the run in a few words."""
        parts = [f"{name}={value!r}" for name, value in self.point.items()]
        return " ".join([*parts, f"seed={self.seed!r}"])


def header_line(
    fn_name: str,
    params: Sequence[str],
    points: Sequence[Point],
    seeds: Sequence[int | str],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``{"kind": "sweep"}`` line that starts (or resumes) a results file."""
    return {
        "kind": "sweep",
        "version": FORMAT_VERSION,
        "fn": fn_name,
        "params": list(params),
        "points": list(points),
        "seeds": list(seeds),
        "options": dict(options),
    }


def read_results_file(
    path: str | os.PathLike[str],
) -> tuple[list[dict[str, Any]], list[SweepRecord], int]:
    """Headers, records and the byte length of the well-formed prefix of a results file.

    A last line cut short (no newline, or not JSON) is left out of the prefix; any
    other malformed line is an error naming the file and the line number.
    """
    headers: list[dict[str, Any]] = []
    records: list[SweepRecord] = []
    with open(path, "rb") as handle:
        data = handle.read()
    # Every line is written whole with its newline: text after the last newline is a
    # line that was being written when the sweep was killed.
    complete = data[: data.rfind(b"\n") + 1]
    for number, raw in enumerate(complete.split(b"\n")[:-1], 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "sweep":
            headers.append(item)
        elif kind == "run":
            records.append(SweepRecord.from_json(item))
        else:
            raise ValueError(
                f"results file {os.fspath(path)!r}: line {number} is not a sweep record: "
                f"{raw[:80]!r}"
            )
    good = len(complete)
    return headers, records, good


def order_records(
    records: Iterable[SweepRecord], points: Sequence[Point], seeds: Sequence[int | str]
) -> list[SweepRecord]:
    """Records sorted by grid order (point, then seed); unknown ones after, as found."""
    point_rank = {point_key(p): i for i, p in enumerate(points)}
    seed_rank = {json.dumps(s): i for i, s in enumerate(seeds)}
    latest: dict[tuple[str, str], SweepRecord] = {}
    for record in records:
        latest[record.key] = record
    unknown = len(points) + len(seeds)

    def rank(item: tuple[int, SweepRecord]) -> tuple[int, int, int]:
        index, r = item
        pk, sk = r.key
        return (point_rank.get(pk, unknown), seed_rank.get(sk, unknown), index)

    return [r for _, r in sorted(enumerate(latest.values()), key=rank)]
