"""How much a count of successes can tell: the Wilson score interval for a proportion.

``stats.py`` judges gaps between paired runs; this module answers the smaller question a
per-class figure raises: "3 of 3 correct" — what could the true rate be? The Wilson interval
(Wilson 1927) stays inside [0, 1] and stays useful at 0 of n and n of n, where the textbook
normal interval collapses to a width of zero. At 3 of 3 it says 44 % to 100 %: three images
cannot tell a perfect class from a mediocre one.

Example:
    >>> lo, hi = wilson(3, 3)
    >>> round(lo, 3), hi
    (0.439, 1.0)
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile: a two-sided 95 % interval


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``successes`` out of ``n`` (95 % by default).

    Raises:
        ValueError: ``n`` < 1, or ``successes`` outside 0..n (the message says which).

    Example:
        >>> [round(v, 3) for v in wilson(0, 10)]
        [0.0, 0.278]
    """
    if isinstance(successes, bool) or isinstance(n, bool) or int(successes) != successes \
            or int(n) != n:
        raise ValueError(f"successes and n must be whole counts; got {successes!r} of {n!r}")
    if n < 1:
        raise ValueError(f"an interval needs at least one trial; got n = {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n = {n}; got {successes}")
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at 0 or n the formula lands on the bound up to rounding: pin it there
    return (0.0 if successes == 0 else max(0.0, centre - half),
            1.0 if successes == n else min(1.0, centre + half))
