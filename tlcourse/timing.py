"""Which of two models is faster, from repeated timings, said with their spread.

One timing on a shared CPU can rank two models the wrong way round (chapter 7 once printed
"lite2 is 1.0x slower" for a model that was faster). So a model's speed is measured over many
batches after a warm-up (``timeit``-style), and two models are timed *paired*: the same batch
through each, moments apart, so a burst of load from another process slows both. The comparison
is the per-batch ratio of their times: its median says how many times slower one model is, its
quartiles (the middle half of the paired batches) are the spread, and a ratio whose quartiles
straddle 1 is "about the same speed". No test asserts a speed: timings depend on the machine.

A model's row (a record with ``part="model"``) carries ``images_per_second`` (the median),
``ips_low``/``ips_high`` (quartiles over batches), ``speed_batch`` and ``batch_seconds`` (every
timed batch's seconds, in the order the batches were run).

Example:
    >>> fast = {"model": "a", "images_per_second": 20.0, "speed_batch": 32,
    ...         "batch_seconds": [1.6, 1.5, 1.7, 1.6]}
    >>> slow = {**fast, "model": "b", "images_per_second": 10.0,
    ...         "batch_seconds": [3.2, 3.1, 3.3, 3.2]}
    >>> compare(fast, slow)[0]
    'slower'
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

SLOWER, FASTER, SAME = "slower", "faster", "about the same speed"


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """``(median, first quartile, third quartile)``; all three the value for a single one."""
    v = sorted(values)
    if len(v) < 2:
        return v[0], v[0], v[0]
    q1, _, q3 = statistics.quantiles(v, n=4, method="inclusive")
    return statistics.median(v), q1, q3


def _ratios(a: dict, b: dict) -> list[float]:
    """Per-batch time of ``b`` over ``a`` on the batches both timed (paired by position), or
    the ratio of their median speeds when the rows keep no per-batch times."""
    ta, tb = a.get("batch_seconds") or [], b.get("batch_seconds") or []
    if ta and len(ta) == len(tb) and a.get("speed_batch") == b.get("speed_batch"):
        return [y / x for x, y in zip(ta, tb)]
    return [a["images_per_second"] / b["images_per_second"]]


def compare(a: dict, b: dict) -> tuple[str, str]:
    """How ``b``'s speed compares with ``a``'s: ``(word, sentence)``, word one of
    :data:`SLOWER`, :data:`FASTER`, :data:`SAME` (for ``b``), e.g. ``('slower', 'lite2 ran 2.1x
    slower than lite0 (17 vs 36 images/s; per-batch time ratio 2.0 to 2.2, middle half of 10
    paired batches)')``."""
    ratios = _ratios(a, b)
    m, q1, q3 = quartiles(ratios)
    speeds = f"{b['images_per_second']:.0f} vs {a['images_per_second']:.0f} images/s"
    if len(ratios) < 2:
        word = SLOWER if m > 1 else FASTER if m < 1 else SAME
        spread = "one timing each: no spread measured"
    else:
        word = SLOWER if q1 > 1 else FASTER if q3 < 1 else SAME
        spread = (f"per-batch time ratio {q1:.2f} to {q3:.2f}, middle half of {len(ratios)} "
                  f"paired batches")
    said = (f"{b['model']} ran {m:.1f}x slower than {a['model']}" if word == SLOWER else
            f"{b['model']} ran {1 / m:.1f}x faster than {a['model']}" if word == FASTER else
            f"{b['model']} and {a['model']} ran at about the same speed (ratio {m:.2f})")
    return word, f"{said} ({speeds}; {spread})"


class PartTimer:
    """Wall and CPU seconds of each part, into ``artifacts["part_seconds"]`` and
    ``artifacts["part_cpu_seconds"]`` (CPU time: what an idle one-thread machine would take)."""

    def __init__(self, artifacts: dict):
        self.wall = artifacts.setdefault("part_seconds", {})
        self.cpu = artifacts.setdefault("part_cpu_seconds", {})
        self.start = (time.perf_counter(), time.process_time())

    def lap(self, part: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall[part], self.cpu[part] = now[0] - self.start[0], now[1] - self.start[1]
        self.start = now
