"""Peak memory of a piece of work: the process's resident memory, sampled by a thread.

``resource.getrusage``'s ``ru_maxrss`` is the process's high-water mark since it started, so it
cannot tell one arm of an experiment from the next. :class:`PeakRSS` samples the resident set
size (``psutil``, installed with ``peft``) every ``interval`` seconds while the block runs and
reports the highest sample minus the value at entry: the extra memory the block needed at its
peak (peaks shorter than the interval can be missed; memory freed by another thread counts).

Example:
    >>> with PeakRSS() as mem:
    ...     x = bytearray(50_000_000)
    >>> mem.peak_mb > 30
    True
"""

from __future__ import annotations

import threading


def _rss() -> int | None:
    try:
        import psutil
    except ImportError:  # no psutil: no measurement (reported as None), never a crash
        return None
    return int(psutil.Process().memory_info().rss)


class PeakRSS:
    """Context manager: ``peak_mb`` is the block's peak resident memory above its start, in MB
    (None where it cannot be measured)."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.start, self.peak = interval, None, None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            now = _rss()
            if now is not None:
                self.peak = max(self.peak or 0, now)

    def __enter__(self):  # -> PeakRSS
        self.start = self.peak = _rss()
        if self.start is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            now = _rss()
            self.peak = max(self.peak or 0, now or 0)

    @property
    def peak_mb(self) -> float | None:
        if self.start is None or self.peak is None:
            return None
        return round((self.peak - self.start) / 2**20, 1)
