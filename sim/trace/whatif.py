"""What-if profiles, analysed: how much sooner a program ends when one component is faster.

A causal profile (as Coz draws it) runs the program many times: once per seed as it is
(the *baseline*), and once per seed for every (component, speedup) *cell*, with that
component's virtual durations multiplied by ``1 - speedup`` (speedup 0.5: half as
long; 1: no time at all; -1: twice as long). This module turns those runs' numbers into
answers; it knows nothing of how they were run (:mod:`asyncsim.sweeps.whatif`).

Statistics. Percentiles are nearest-rank (an observed value). The change of a
percentile is ``scaled / baseline - 1`` (``-0.31``: 31 % sooner), with a 95 %
*paired percentile bootstrap* interval: the seeds are resampled with replacement
(the same resample for the baseline and the cell, since each seed's two runs share
their random draws), the change is computed for each of 2,000 resamples from a fixed
generator (so a profile is reproducible), and the interval is the 2.5th to 97.5th
percentile of those changes. With few seeds, p99 is the slowest run and its interval
is rough.

Behaviour. Each run carries a *signature*: its outcome, how many durations each
sleep/timer/blocking call site, service, HTTP host and thread-job function gave, and
how many of asyncio's deadlines fired at each call site. Scaling a duration alone
changes when things happen, not what happens; a seed whose signature differs from its
baseline run's took another path (timeouts fired, retries piled up, a run failed).
:func:`behaviour` counts those seeds and says what changed.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncsim.trace.stats import PERCENTILES, percentile

__all__ = [
    "NEGLIGIBLE",
    "PERCENTILES",
    "Behaviour",
    "Estimate",
    "behaviour",
    "changes",
    "factor",
    "nearest_rank",
    "speedup_text",
]

#: What-if statistics use the same nearest-rank percentile as every summary
#: (:mod:`asyncsim.trace.stats`), and report the same percentiles.
nearest_rank = percentile
#: A change smaller than this (0.5 %) at every percentile and speedup is "about zero".
NEGLIGIBLE = 0.005
_RESAMPLES = 2000
_LEVEL = 0.95
_BOOTSTRAP_SEED = 20240101
# Kinds whose counts belong to a run's behaviour (links, DNS, TLS and CPU steps vary
# with timing alone: connections get reused or not, semaphores are waited for or not).
SIGNATURE_KINDS = ("sleep", "timer", "block", "thread", "service", "http")


def factor(speedup: float) -> float:
    """What a speedup multiplies durations by: ``1 - speedup`` (0.25 -> 0.75, -1 -> 2)."""
    return 1.0 - speedup


def speedup_text(speedup: float) -> str:
    """``0.5`` -> ``"50 % faster"``, ``-1`` -> ``"2x as slow"``, ``0`` -> ``"as is"``."""
    if speedup == 0:
        return "as is"
    if speedup > 0:
        return f"{100 * speedup:.4g} % faster"
    return f"{factor(speedup):.4g}x as slow"


@dataclass(frozen=True)
class Estimate:
    """The change of one percentile between the baseline and a cell, with its interval.

    ``base`` and ``value`` are the percentile of the baseline runs and of the cell's
    (virtual seconds for the makespan); ``change`` is ``value / base - 1`` (NaN when
    ``base`` is 0) and ``low``..``high`` its 95 % paired bootstrap interval; ``runs``
    is the number of seeds whose two runs both finished.
    """

    percentile: int
    base: float
    value: float
    change: float
    low: float
    high: float
    runs: int

    @property
    def delta(self) -> float:
        """``value - base``: the change in the quantity's own unit (virtual seconds)."""
        return self.value - self.base

    def text(self, interval: bool = True) -> str:
        """``"-31.0 % [-33.1, -29.0]"``, or the absolute delta when the base is 0."""
        if self.runs == 0:
            return "-"
        if math.isnan(self.change):
            return f"{self.delta:+.4g}"
        main = f"{100 * self.change:+.1f} %"
        if not interval or self.low == self.high == self.change:
            return main
        return f"{main} [{100 * self.low:+.1f}, {100 * self.high:+.1f}]"

    def to_json(self) -> dict[str, Any]:
        """The estimate as a JSON object (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in vars(self).items()
        }


def changes(
    base: Sequence[float],
    scaled: Sequence[float],
    percentiles: Sequence[int] = PERCENTILES,
    *,
    resamples: int = _RESAMPLES,
) -> dict[int, Estimate]:
    """The change at each percentile from ``base`` to ``scaled``, paired by position.

    ``base[i]`` and ``scaled[i]`` are the same seed's two runs. Intervals come from a
    paired percentile bootstrap with a fixed generator (see the module docstring).

    >>> est = changes([2.0, 2.0, 4.0], [1.0, 1.0, 2.0])[50]
    >>> est.base, est.value, est.change, est.low, est.high
    (2.0, 1.0, -0.5, -0.5, -0.5)
    """
    if len(base) != len(scaled):
        raise ValueError(f"base and scaled must pair up, got {len(base)} and {len(scaled)} runs")
    n = len(base)
    out: dict[int, Estimate] = {}
    b_sorted, s_sorted = sorted(base), sorted(scaled)
    points = {}
    for p in percentiles:
        b, s = nearest_rank(b_sorted, p), nearest_rank(s_sorted, p)
        points[p] = (b, s, s / b - 1 if b else math.nan)
    if n < 2:
        for p, (b, s, c) in points.items():
            out[p] = Estimate(p, b, s, c, c, c, n)
        return out
    import numpy as np  # only a profile's analysis needs it

    b_arr = np.asarray(base, dtype=float)
    s_arr = np.asarray(scaled, dtype=float)
    generator = np.random.RandomState(_BOOTSTRAP_SEED)  # a stream numpy keeps stable
    ranks = {p: max(1, math.ceil(p / 100 * n)) - 1 for p in percentiles}
    samples: dict[int, list[Any]] = {p: [] for p in percentiles}
    block = max(1, min(resamples, 2_000_000 // n))
    done = 0
    while done < resamples:
        size = min(block, resamples - done)
        index = generator.randint(0, n, size=(size, n))
        b_boot = np.sort(b_arr[index], axis=1)
        s_boot = np.sort(s_arr[index], axis=1)
        for p, rank in ranks.items():
            bb, sb = b_boot[:, rank], s_boot[:, rank]
            with np.errstate(divide="ignore", invalid="ignore"):
                samples[p].append(np.where(bb > 0, sb / bb - 1, np.nan))
        done += size
    tail = (1 - _LEVEL) / 2
    for p, (b, s, c) in points.items():
        values = np.concatenate(samples[p])
        values = values[~np.isnan(values)]
        if math.isnan(c) or not len(values):
            out[p] = Estimate(p, b, s, c, math.nan, math.nan, n)
            continue
        low, high = np.quantile(values, [tail, 1 - tail])
        # the point estimate always lies in its interval (rounding of the quantiles aside)
        out[p] = Estimate(p, b, s, c, min(float(low), c), max(float(high), c), n)
    return out


@dataclass(frozen=True)
class Behaviour:
    """How many seeds took another path than their baseline run, and what changed.

    ``changed`` of ``runs`` seeds differ; ``notes`` say how, most frequent first
    (``"TimeoutError raised in 3 runs (baseline: 0)"``, ``"timeouts fired: 0 -> 1.2 per
    run (mean)"``, ``"sleep in retry() at app.py:31: 0 -> 2 per run (mean)"``).
    """

    runs: int
    changed: int
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """``"7 of 20 runs changed: ...; ..."`` or ``"same behaviour in all 20 runs"``."""
        if not self.changed:
            return f"same behaviour in all {self.runs} runs"
        return f"{self.changed} of {self.runs} runs changed: " + "; ".join(self.notes)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _number(value: float) -> str:
    return f"{value:.4g}"


def behaviour(
    base: Mapping[Any, Mapping[str, Any]],
    cell: Mapping[Any, Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    notes: int = 4,
) -> Behaviour:
    """Compare each seed's run signature in ``cell`` with the same seed's in ``base``.

    A signature is ``{"outcome": "ok" or an exception type, "counts": {key: n},
    "fired": {deadline key: n}}`` (see the module docstring); ``labels`` names keys.
    """
    seeds = [s for s in cell if s in base]
    changed = [s for s in seeds if dict(cell[s]) != dict(base[s])]
    found: list[tuple[float, str]] = []
    if changed:
        before = Counter(str(base[s].get("outcome")) for s in seeds)
        after = Counter(str(cell[s].get("outcome")) for s in seeds)
        for outcome in sorted(set(before) | set(after)):
            if outcome != "ok" and before[outcome] != after[outcome]:
                found.append(
                    (
                        abs(after[outcome] - before[outcome]) * 1e6,
                        f"{outcome} raised in {after[outcome]} runs (baseline: {before[outcome]})",
                    )
                )

        def per_run(field: str, key: str | None) -> tuple[float, float]:
            def total(sig: Mapping[str, Any]) -> float:
                values = sig.get(field) or {}
                return float(sum(values.values()) if key is None else values.get(key, 0))

            return _mean([total(base[s]) for s in seeds]), _mean([total(cell[s]) for s in seeds])

        b_fired, c_fired = per_run("fired", None)
        if b_fired != c_fired:
            found.append(
                (
                    abs(c_fired - b_fired) * 1e3,
                    f"timeouts fired: {_number(b_fired)} -> {_number(c_fired)} per run (mean)",
                )
            )
        keys = sorted(
            {k for s in changed for k in (cell[s].get("counts") or {})}
            | {k for s in changed for k in (base[s].get("counts") or {})}
        )
        for key in keys:
            b, c = per_run("counts", key)
            if b != c:
                found.append(
                    (
                        abs(c - b),
                        f"{labels.get(key, key)}: {_number(b)} -> {_number(c)} per run (mean)",
                    )
                )
        if not found:
            found.append((0.0, "what each run did differs, not in total"))
    found.sort(key=lambda item: -item[0])
    return Behaviour(
        runs=len(seeds), changed=len(changed), notes=tuple(n for _, n in found[:notes])
    )
