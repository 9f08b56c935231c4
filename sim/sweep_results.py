"""The table a sweep returns: one :class:`SweepRecord` per (point, seed), summaries, JSONL.

A results file (``sim.sweep(..., out="runs.jsonl")``) is JSON Lines: a header line
``{"kind": "sweep", ...}`` written when a sweep starts (again on each resume), then
one ``{"kind": "run", ...}`` line per finished run, in the order runs finished.
:func:`load_sweep` reads it back, ignoring a truncated last line (a sweep killed
while writing), so a partial file is still a table.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sweep import SweepReplay

__all__ = ["PERCENTILES", "SweepRecord", "SweepResult", "SweepSummary", "load_sweep", "percentile"]

#: The percentiles every summary reports, plus the maximum.
PERCENTILES = (50, 90, 99)
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


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``p`` % of values <= it.

    Always one of the observed values, so results are exact and easy to check.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    >>> percentile([1.0, 2.0, 3.0, 4.0], 99)
    4.0
    """
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class SweepSummary:
    """Percentiles of elapsed and of each numeric metric, per parameter point.

    ``rows`` holds one dict per point: ``{"point": {...}, "runs": n, "errors": k,
    "stats": {"elapsed": {"p50": ..., "p90": ..., "p99": ..., "max": ...}, ...}}``.
    Percentiles are nearest-rank over the runs that finished without error; elapsed
    is in virtual seconds. ``str(summary)`` is a text table.
    """

    params: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    def to_text(self) -> str:
        """The summary as an aligned text table, one line per point and column."""
        header = [*self.params, "runs", "errors", "value", "p50", "p90", "p99", "max"]
        lines: list[list[str]] = []
        for row in self.rows:
            for index, column in enumerate(self.columns):
                stats = row["stats"].get(column)
                if stats is None:
                    continue
                lead = (
                    [_fmt(row["point"].get(p)) for p in self.params]
                    + [str(row["runs"]), str(row["errors"])]
                    if index == 0
                    else [""] * (len(self.params) + 2)
                )
                lines.append(
                    [*lead, column, *(_fmt(stats[k]) for k in ("p50", "p90", "p99", "max"))]
                )
            if not any(column in row["stats"] for column in self.columns):
                lines.append(
                    [_fmt(row["point"].get(p)) for p in self.params]
                    + [str(row["runs"]), str(row["errors"]), "-", "-", "-", "-", "-"]
                )
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
        numeric_from = len(self.params)
        out = []
        for r in [header, *lines]:
            cells = [
                c.rjust(w) if i >= numeric_from and i != numeric_from + 2 else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
        out.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class SweepResult:
    """The table of a sweep: records in grid order (points, then seeds), with helpers.

    Attributes
    ----------
    records : list of SweepRecord
        One per run, ordered by parameter point (grid order) then seed.
    params : tuple of str
        The parameter names.
    fn : callable or None
        The swept function, when known (needed by :meth:`replay`).
    options : dict
        The simulation options every run used (``until``, ``max_steps``).
    """

    def __init__(
        self,
        records: Iterable[SweepRecord],
        *,
        params: Sequence[str] = (),
        fn: Callable[..., Any] | None = None,
        metrics: Callable[[Any], Mapping[str, Any]] | None = None,
        options: Mapping[str, Any] | None = None,
        path: str | None = None,
    ) -> None:
        self.records: list[SweepRecord] = list(records)
        self.params = tuple(params)
        self.fn = fn
        self.metrics = metrics
        self.options = dict(options or {})
        self.path = path

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Any:
        return iter(self.records)

    def __repr__(self) -> str:
        return (
            f"<SweepResult {len(self.records)} runs over {len(self.points())} points, "
            f"{len(self.errors)} errors>"
        )

    @property
    def errors(self) -> list[SweepRecord]:
        """The runs that raised (their seed and traceback are in each record)."""
        return [r for r in self.records if not r.ok]

    def points(self) -> list[Point]:
        """The distinct parameter points, in grid order."""
        seen: dict[str, Point] = {}
        for record in self.records:
            seen.setdefault(point_key(record.point), record.point)
        return list(seen.values())

    def metric_names(self) -> list[str]:
        """Names of the numeric metrics any run reported, in first-seen order."""
        names: dict[str, None] = {}
        for record in self.records:
            for name, value in record.metrics.items():
                if _is_number(value):
                    names.setdefault(name, None)
        return list(names)

    def where(self, **point: Any) -> list[SweepRecord]:
        """The records whose point has these values, e.g. ``where(concurrency=10)``."""
        return [r for r in self.records if all(r.point.get(k) == v for k, v in point.items())]

    def values(self, name: str, **point: Any) -> list[float]:
        """Sorted values of ``elapsed``/``wall``/``steps``/a metric over the ok runs."""
        return sorted(
            float(r.value(name)) for r in self.where(**point) if r.ok and _is_number(r.value(name))
        )

    def summary(self) -> SweepSummary:
        """Percentiles p50/p90/p99/max of elapsed and of each numeric metric, per point."""
        columns = ("elapsed", *self.metric_names())
        rows = []
        for point in self.points():
            records = self.where(**point)
            stats = {}
            for column in columns:
                values = sorted(
                    float(r.value(column)) for r in records if r.ok and _is_number(r.value(column))
                )
                if values:
                    stats[column] = {
                        **{f"p{p}": percentile(values, p) for p in PERCENTILES},
                        "max": values[-1],
                    }
            rows.append(
                {
                    "point": point,
                    "runs": len(records),
                    "errors": sum(not r.ok for r in records),
                    "stats": stats,
                }
            )
        params = self.params or tuple(dict.fromkeys(k for p in self.points() for k in p))
        return SweepSummary(params=params, columns=columns, rows=tuple(rows))

    def extremes(self, count: int = 1) -> tuple[list[SweepRecord], list[SweepRecord]]:
        """The ``count`` slowest and fastest ok runs by virtual elapsed (ties: grid order)."""
        ok = [r for r in self.records if r.ok]
        slowest = sorted(ok, key=lambda r: -r.elapsed)[:count]
        fastest = sorted(ok, key=lambda r: r.elapsed)[:count]
        return slowest, fastest

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``: one row per run; columns for each parameter, ``seed``,
        ``elapsed``, ``wall``, ``steps``, ``outcome``, ``error_type``, ``error_message``
        and each metric (prefixed ``metric.`` only if its name clashes with a column)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("SweepResult.to_pandas() needs pandas: pip install pandas") from None
        base = ("seed", "elapsed", "wall", "steps", "outcome", "error_type", "error_message")
        rows = []
        for r in self.records:
            row: dict[str, Any] = dict(r.point)
            row.update({name: getattr(r, name) for name in base})
            for name, value in r.metrics.items():
                row[f"metric.{name}" if name in row else name] = value
            rows.append(row)
        return pd.DataFrame(rows)

    def report(self, folder: str | os.PathLike[str], **options: Any) -> Any:
        """Write the HTML report to ``folder``: :func:`sim.sweep_report.write_sweep_report`."""
        from .sweep_report import write_sweep_report

        return write_sweep_report(self, folder, **options)

    def replay(
        self,
        record: SweepRecord | Mapping[str, Any],
        seed: int | str | None = None,
        *,
        report_dir: str | os.PathLike[str] | None = None,
        trace: bool | None = None,
    ) -> SweepReplay:
        """Rerun one row alone (same point, same seed, same options): see :func:`sim.sweep_replay`.

        ``record`` is a :class:`SweepRecord` of this table, or a point dict with ``seed``.
        """
        from .sweep import sweep_replay

        if self.fn is None:
            raise ValueError(
                "this SweepResult does not know its function (it was loaded from a file): "
                "pass fn= to load_sweep(), or call sim.sweep_replay(fn, point, seed)"
            )
        if isinstance(record, SweepRecord):
            point, seed = record.point, record.seed
        else:
            if seed is None:
                raise TypeError("replay(point, seed): seed is required when passing a point dict")
            point = dict(record)
        return sweep_replay(
            self.fn,
            point,
            seed,
            metrics=self.metrics,
            report_dir=report_dir,
            trace=trace,
            **self.options,
        )


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


def load_sweep(
    path: str | os.PathLike[str],
    *,
    fn: Callable[..., Any] | None = None,
    metrics: Callable[[Any], Mapping[str, Any]] | None = None,
) -> SweepResult:
    """Read a results file written by ``sim.sweep(..., out=path)``, finished or not.

    Pass ``fn`` (and ``metrics``) to be able to :meth:`SweepResult.replay` its rows.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"results file {os.fspath(path)!r} does not exist")
    headers, records, _ = read_results_file(path)
    header = headers[-1] if headers else {}
    ordered = order_records(records, header.get("points", []), header.get("seeds", []))
    return SweepResult(
        ordered,
        params=header.get("params", ()),
        fn=fn,
        metrics=metrics,
        options=header.get("options", {}),
        path=os.fspath(path),
    )
