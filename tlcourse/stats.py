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


def mean_sd_text(values: Iterable[float], unit: str = "%", digits: int = 1) -> str:
    """Fractions as '85.1 ± 2.0 %' (mean ± sample sd, x100), or '85.1 %' for a single value:
    no spread is invented. ``unit="points"`` for gaps."""
    v = list(values)
    m, s = mean_sd(v)
    spread = f" ± {100 * s:.{digits}f}" if len(v) > 1 else ""
    return f"{100 * m:.{digits}f}{spread} {unit}"


def band(values: Iterable[float]) -> float:
    """Half-width of a ±1 sd band or error bar to *draw*: the sample sd, 0 for a single value
    (nothing drawn, rather than a NaN that hides the point)."""
    s = sd(values)
    return 0.0 if math.isnan(s) else s


def compare(a: str, b: str, gaps: Iterable[float]) -> str:
    """A sign- and noise-aware sentence about paired accuracy gaps ``a - b`` (fractions), e.g.
    one per seed: "a beat b by 4.1 ± 1.2 points (3 seeds)", "b beat a by 2.0 points, within
    noise (± 3.1, 3 seeds)", or, with one seed, "... (1 seed: no spread measured)".

    Example:
        >>> compare("frozen", "scratch", [0.40, 0.44])
        'frozen beat scratch by 42.0 ± 2.8 points (2 seeds)'
    """
    g = list(gaps)
    m, s = mean_sd(g)
    n = f"{len(g)} seed{'s' if len(g) != 1 else ''}"
    winner, loser = (a, b) if m >= 0 else (b, a)
    size = abs(m) * 100
    if len(g) < 2:
        if round(size, 1) == 0:
            return f"{a} and {b} tied ({n}: no spread measured)"
        return f"{winner} beat {loser} by {size:.1f} points ({n}: no spread measured)"
    if round(size, 1) == 0:  # a gap that prints as 0.0 is a tie, not a win
        return f"{a} and {b} tied (± {s * 100:.1f} points, {n})"
    if abs(m) < s:
        return f"{winner} beat {loser} by {size:.1f} points, within noise (± {s * 100:.1f}, {n})"
    return f"{winner} beat {loser} by {size:.1f} ± {s * 100:.1f} points ({n})"
