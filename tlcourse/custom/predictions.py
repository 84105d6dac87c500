"""What a trained model says about new files: one :class:`Prediction` per file, and the CSV.

Each file is decoded as an app decodes it (:func:`~tlcourse.custom.images.decode_rgb`: full
size, EXIF orientation applied, alpha on white) and given to the model whole; the model resizes.
A file that cannot be read gets a prediction that says why, and the others go on. The CSV is
written aside and renamed into place; names that are not UTF-8 appear as escapes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .folder import _real, _walk
from .images import ImageReadError, _show, decode_rgb


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


def list_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to predict on: each path, folders searched recursively (hidden files skipped,
    symlink loops refused); and ``(path, reason)`` for each that cannot be used."""
    files: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            problems: list[tuple[str, Path, str]] = []
            _walk(p, frozenset({_real(p)}), files, problems)
            failed += [(q, msg) for _, q, msg in problems]
        elif p.is_file():
            files.append(p)
        else:
            failed.append((p, "no such file or folder" if not p.is_symlink()
                           else "broken or looping symlink"))
    return files, failed


def predict_files(paths: Sequence[str | Path], probabilities: Callable[[np.ndarray], Sequence[float]],
                  classes: Sequence[str], threshold: float, top_k: int = 3,
                  negative: str | None = None) -> list[Prediction]:
    """One :class:`Prediction` per file, sorted by path.

    Args:
        paths: files or folders (searched recursively).
        probabilities: decoded pixels uint8 ``[H, W, 3]`` -> every class's probability (a
            PyTorch model or an ONNX file, given the same pixels).
        classes: the class names, in the model's order.
        threshold: a top probability below this is "unknown".
        top_k: classes listed per file.
        negative: the "none of these" class (a ``negative/`` folder), if the model has one: a
            file whose top class it is, is "unknown" too.
    """
    files, failed = list_files(paths)
    out = [Prediction(str(p), error=reason) for p, reason in failed]
    for p in files:
        try:
            row = np.asarray(probabilities(decode_rgb(p)), dtype=np.float64)
        except ImageReadError as e:
            out.append(Prediction(str(p), error=e.reason))
            continue
        order = np.argsort(-row, kind="stable")[: min(top_k, len(classes))]
        top = [(classes[i], float(row[i])) for i in order]
        called = top[0][1] >= threshold and top[0][0] != negative
        out.append(Prediction(str(p), top, top[0][0] if called else "unknown"))
    return sorted(out, key=lambda r: r.path)
