"""The model folder: numbered iterations of a trained model, as Custom Vision keeps them.

``OUT/model.json`` is the index (format, the current iteration, every iteration's number);
``OUT/iteration-NNN/`` holds one train: ``iteration.json`` (settings, metrics, threshold,
timings), ``weights.pt`` and ``evaluation.pt`` (tensors only, read with ``weights_only=True``).
An iteration is written aside and renamed into place, the index last, so a killed train leaves
the folder as it was. Nothing here knows what the model reads: chapter 7's images and a text
classifier keep their iterations the same way.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import __version__
from ..errors import TlcourseError
from .certainty import few_images_warning

if TYPE_CHECKING:
    from .classifier import Iteration

FORMAT = "tlcourse-model/1"
_SURROGATE = re.compile("[\ud800-\udfff]")  # what an undecodable byte of a file name becomes


class ModelError(TlcourseError, ValueError):
    """A model folder that cannot be used (missing, another format); the message says what to do."""


# ---------------------------------------------------------------------------------------------
# The model folder
# ---------------------------------------------------------------------------------------------
def _read_index(out: Path, must_exist: bool = True) -> dict:
    index = out / "model.json"
    if not out.exists():
        if must_exist:
            raise ModelError(f"{out} does not exist: train a model first "
                             f"(tlcourse train DIR --out {out})")
        return {"format": FORMAT, "current": 0, "iterations": []}
    if not out.is_dir():
        raise ModelError(f"{out} is a file, not a model folder: give --out a folder name")
    if not index.is_file():
        if any(out.iterdir()):
            raise ModelError(f"{out} is a folder but not a tlcourse model (no model.json): "
                             f"choose an empty or new folder for --out")
        if must_exist:
            raise ModelError(f"{out} is empty: train a model first (tlcourse train DIR --out {out})")
        return {"format": FORMAT, "current": 0, "iterations": []}
    try:
        meta = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{index} is unreadable ({e}); retrain into a new folder") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{out} was written by another version of tlcourse (format "
                         f"{meta.get('format')!r}; this version reads {FORMAT!r}). Retrain: "
                         f"tlcourse train DIR --out NEW_FOLDER")
    return meta


def _write_json(path: Path, obj: dict) -> None:
    """UTF-8 JSON, readable names kept as they are. A name that is not UTF-8 (a class folder
    ``ni\\xf1o`` holds a lone surrogate once decoded) is written as a ``\\udcf1`` escape: valid
    JSON and UTF-8, and ``json.loads`` gives the exact name back."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # only inside strings
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _save_iteration(out: Path, it: Iteration, state: dict, check_x: torch.Tensor) -> int:
    """Write the iteration into a temporary folder, then rename it into place and update the
    index last: a killed train leaves the model folder as it was."""
    meta = _read_index(out, must_exist=False)
    out.mkdir(parents=True, exist_ok=True)
    number = max(meta["iterations"], default=0) + 1
    it.number = number
    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
        staged = Path(tmp) / "it"
        staged.mkdir()
        torch.save(state, staged / "weights.pt")
        torch.save({"probs": it.eval_probs, "y": it.eval_y, "paths": it.eval_paths,
                    "check_images": check_x}, staged / "evaluation.pt")
        _write_json(staged / "iteration.json", it.to_json())
        staged.rename(out / f"iteration-{number:03d}")
    meta["iterations"] = sorted({*meta["iterations"], number})
    meta["current"] = number
    meta["tlcourse"] = __version__
    _write_json(out / "model.json", meta)
    return number


def iterations(model_dir: str | Path) -> list[dict]:
    """Every iteration's ``iteration.json``, oldest first."""
    out = Path(model_dir)
    meta = _read_index(out)
    rows = []
    for n in meta["iterations"]:
        path = out / f"iteration-{n:03d}" / "iteration.json"
        try:
            rows.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise ModelError(f"{path} is missing or unreadable ({e})") from None
    return rows


def current_iteration(model_dir: str | Path) -> int:
    """The iteration ``predict`` and ``export`` use (the latest train)."""
    return _read_index(Path(model_dir))["current"]


def format_iterations(rows: list[dict], current: int | None = None, unit: str = "images") -> str:
    """Iterations side by side, as Custom Vision's Performance tab lists them (``unit``: what
    the counts are, "images" or "texts")."""
    from ..experiments import format_table

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    table = []
    for r in rows:
        m = r["metrics"]
        table.append({
            "it": f"{r['number']}{'*' if r['number'] == current else ''}",
            "created": r["created"][:16].replace("T", " "), "backbone": r["backbone"].split("-")[0],
            "method": r["method"], "size": r["input_size"], "seed": r["settings"]["seed"],
            unit: f"{r['n_train']}+{r['n_eval']}", "scored by": r["evaluation"],
            "threshold": f"{r['threshold']:.2f}",
            "precision": pct(m["macro_precision"]), "recall": pct(m["macro_recall"]),
            "mAP": pct(m["mean_ap"]), "accuracy": pct(m["accuracy"]),
            "data": r["data_hash"][:8],
            "seconds": f"{r['seconds']['total']:.0f}" + (" (cached)" if r["features_cached"] else ""),
        })
    text = format_table(table) + ("\n* current iteration (used by predict and export)"
                                  if current else "")
    shown = [r for r in rows if r["number"] == current] or rows[-1:]
    for r in shown:  # how much the current iteration's scores can tell
        few = few_images_warning({c["name"]: c["support"] for c in r["metrics"]["per_class"]})
        text += f"\nwarning (iteration {r['number']}): {few}" if few else ""
    return text
