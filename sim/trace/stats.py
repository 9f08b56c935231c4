"""Nearest-rank percentiles: the statistic sweeps, what-if profiles and recorded-model
comparisons report (always an observed value, so results are exact and easy to check)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["PERCENTILES", "percentile"]

#: The percentiles every summary reports, plus the maximum.
PERCENTILES = (50, 90, 99)


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
