"""Mean and spread over seeds, computed one way everywhere.

The spread is the *sample* standard deviation (``ddof = 1``): with the 2-5 seeds a CPU run
affords, the population formula understates it by up to 30 % (a factor sqrt((n-1)/n)). With a
single seed there is no spread to report, so it is NaN, never a reassuring 0.

Example:
    >>> mean_sd([0.70, 0.74])
    (0.72, 0.028284271247461926)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def sd(values: Iterable[float]) -> float:
    """Sample standard deviation (ddof = 1); NaN for fewer than two values."""
    v = list(values)
    return statistics.stdev(v) if len(v) >= 2 else math.nan


def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    """``(mean, sample sd)`` of ``values``; sd is NaN for a single value."""
    v = list(values)
    return statistics.fmean(v), sd(v)


def band(values: Iterable[float]) -> float:
    """Half-width of a ±1 sd band or error bar to *draw*: the sample sd, 0 for a single value
    (nothing drawn, rather than a NaN that hides the point)."""
    s = sd(values)
    return 0.0 if math.isnan(s) else s
