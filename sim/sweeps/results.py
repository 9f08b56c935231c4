"""The table a sweep returns: one :class:`SweepRecord` per (point, seed), and summaries.

:func:`load_sweep` reads a results file (see :mod:`asyncsim.sweeps.records`) back into a
table, finished or not: a truncated last line (a sweep killed while writing) is
ignored, so a partial file is still a table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asyncsim._validate import is_number
from asyncsim.sweeps.records import Point, SweepRecord, order_records, point_key, read_results_file
from asyncsim.trace.stats import PERCENTILES, percentile

if TYPE_CHECKING:
    from asyncsim.sweeps.replay import SweepReplay

__all__ = ["PERCENTILES", "SweepRecord", "SweepResult", "SweepSummary", "load_sweep", "percentile"]


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
            point = [
                *(_fmt(row["point"].get(p)) for p in self.params),
                str(row["runs"]),
                str(row["errors"]),
            ]
            lead = point  # the point's cells start its first line only
            for column in self.columns:
                stats = row["stats"].get(column)
                if stats is None:
                    continue
                lines.append(
                    [*lead, column, *(_fmt(stats[k]) for k in ("p50", "p90", "p99", "max"))]
                )
                lead = [""] * len(point)
            if lead is point:  # no column has values: a line of dashes
                lines.append([*point, "-", "-", "-", "-", "-"])
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
    wall : float or None
        Real seconds the ``asyncsim.sweep()`` call took, start to end (None for a
        results file read back); :attr:`worker_wall` is the sum over runs, larger when
        workers run in parallel.
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
        wall: float | None = None,
    ) -> None:
        self.records: list[SweepRecord] = list(records)
        self.params = tuple(params)
        self.fn = fn
        self.metrics = metrics
        self.options = dict(options or {})
        self.path = path
        self.wall = wall

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Any:
        return iter(self.records)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", None)
        of = f" of {name}()" if name else ""
        wall = f", {self.wall:.3g} s wall" if self.wall is not None else ""
        return (
            f"<SweepResult{of}: {len(self.records):,} runs over {len(self.points()):,} points, "
            f"{len(self.errors):,} errors{wall}>"
        )

    @property
    def worker_wall(self) -> float:
        """Real seconds summed over the runs (each run's ``wall``): the work the workers did."""
        return sum(r.wall for r in self.records)

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
                if is_number(value):
                    names.setdefault(name, None)
        return list(names)

    def where(self, **point: Any) -> list[SweepRecord]:
        """The records whose point has these values, e.g. ``where(concurrency=10)``."""
        return [r for r in self.records if all(r.point.get(k) == v for k, v in point.items())]

    def values(self, name: str, **point: Any) -> list[float]:
        """Sorted values of ``elapsed``/``wall``/``steps``/a metric over the ok runs."""
        return sorted(
            float(r.value(name)) for r in self.where(**point) if r.ok and is_number(r.value(name))
        )

    def summary(self) -> SweepSummary:
        """Percentiles p50/p90/p99/max of elapsed and of each numeric metric, per point."""
        columns = ("elapsed", *self.metric_names())
        rows = []
        for point in self.points():
            records = self.where(**point)
            stats = {}
            for column in columns:
                values = self.values(column, **point)
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
        """Write the HTML report to ``folder`` (see :func:`.report.write_sweep_report`)."""
        from asyncsim.sweeps.report import write_sweep_report  # matplotlib: loaded on use

        return write_sweep_report(self, folder, **options)

    def replay(
        self,
        record: SweepRecord | Mapping[str, Any],
        seed: int | str | None = None,
        *,
        report_dir: str | os.PathLike[str] | None = None,
        trace: bool | None = None,
    ) -> SweepReplay:
        """Rerun one row alone (same point, seed and options): :func:`asyncsim.sweep_replay`.

        ``record`` is a :class:`SweepRecord` of this table, or a point dict with ``seed``.
        """
        from asyncsim.sweeps.replay import sweep_replay  # runs simulations: loaded on use

        if self.fn is None:
            raise ValueError(
                "this SweepResult does not know its function (it was loaded from a file): "
                "pass fn= to load_sweep(), or call asyncsim.sweep_replay(fn, point, seed)"
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


def load_sweep(
    path: str | os.PathLike[str],
    *,
    fn: Callable[..., Any] | None = None,
    metrics: Callable[[Any], Mapping[str, Any]] | None = None,
) -> SweepResult:
    """Read a results file written by ``asyncsim.sweep(..., out=path)``, finished or not.

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
