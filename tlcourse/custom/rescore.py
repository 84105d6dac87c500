"""Any iteration's held-out scores at another threshold, from what the model folder kept: the
command-line twin of chapter 7's threshold slider (``tlcourse report MODEL --threshold 0.7``).

Nothing is retrained or re-run: the iteration's ``evaluation.pt`` holds every scored image's
probabilities and label; :func:`~tlcourse.custom.metrics.report` recounts them at the threshold.

Example:
    >>> print(rescore("my_model", threshold=0.7).format())  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .metrics import Report, report
from .model_folder import ModelError, _read_index


def rescore(model_dir: str | Path, iteration: int | None = None,
            threshold: float | None = None) -> tuple[Report, dict]:
    """The iteration's held-out images scored at ``threshold`` (default: the iteration's own).

    Returns:
        ``(report, info)``: the :class:`~tlcourse.custom.metrics.Report` and the iteration's
        ``iteration.json``.

    Raises:
        ModelError: no such model folder or iteration, or its files are unreadable.
        ValueError: ``threshold`` is not a probability in [0, 1).
    """
    if threshold is not None and not 0 <= threshold < 1:
        raise ValueError(f"threshold must be a probability in [0, 1), not {threshold}")
    out = Path(model_dir)
    meta = _read_index(out)
    number = meta["current"] if iteration is None else iteration
    if number not in meta["iterations"]:
        raise ModelError(f"{out} has no iteration {number}; it has {meta['iterations']}")
    folder = out / f"iteration-{number:03d}"
    try:
        info = json.loads((folder / "iteration.json").read_text(encoding="utf-8"))
        saved = torch.load(folder / "evaluation.pt", weights_only=True)
        probs, y = saved["probs"], saved["y"]
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"{folder} is missing or unreadable ({type(e).__name__}); retrain: "
                         f"tlcourse train DIR --out {out}") from None
    t = info["threshold"] if threshold is None else threshold
    rep = report(probs, y, info["classes"], t)
    if info.get("evaluation") == "cross-validation" and len(info.get("folds", [])) > 1:
        rep.notes.append(f"all {len(y)} out-of-fold images at one threshold; `train` scored each "
                         f"fold at the threshold its own training folds chose")
    return rep, info
