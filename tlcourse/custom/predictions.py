"""What a trained model says about new files: one :class:`Prediction` per file, and the CSV.

A file that cannot be read gets a prediction that says why, and the others go on. The CSV is
written aside and renamed into place; names that are not UTF-8 appear as escapes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .images import _show


@dataclass
class Prediction:
    """One file's result: the top classes with probabilities, or why it could not be read."""

    path: str
    top: list[tuple[str, float]] = field(default_factory=list)
    label: str = ""  # the top class, or "unknown" below the threshold
    error: str = ""

    def format(self, name_only: bool = False) -> str:
        """One line: ``IMG.jpg: cat  [cat 91.2 %, dog 8.1 %]``, or why it could not be read."""
        where = Path(self.path).name if name_only else self.path
        if self.error:
            return f"{where}: cannot read ({self.error})"
        return f"{where}: {self.label}  [" + ", ".join(f"{c} {100 * p:.1f} %" for c, p in self.top) + "]"


def write_predictions_csv(rows: list[Prediction], path: str | Path) -> Path:
    """One row per file: path, label, top classes with probabilities, error.

    UTF-8; bytes of a name that are not UTF-8 appear as escapes (``ni\\xf1o``). Written aside
    and renamed into place, so a failure never leaves a truncated file."""
    import csv

    path = Path(path)
    k = max((len(r.top) for r in rows), default=0)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8", errors="backslashreplace") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", *[c for i in range(1, k + 1)
                                           for c in (f"class_{i}", f"probability_{i}")], "error"])
            for r in rows:
                tops = [v for c, p in r.top for v in (_show(c), f"{p:.4f}")]
                w.writerow([_show(r.path), _show(r.label), *tops, *[""] * (2 * k - len(tops)),
                            r.error])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
