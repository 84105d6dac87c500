"""Splitting a checked folder for training and scoring, so that no photo is on both sides.

A learner's folder may hold the same photo more than once (re-saved, cropped, turned: see
:mod:`.duplicates`). Every split here keeps the copies of one photo together: a stratified
holdout of whole groups, stratified group k-fold for cross-validation, and a split the folder
gives (``train/`` + ``valid/``) used as given, its held-out copies of training photos left out
by the check. On the scored side only the kept copy of each group counts, so one photo is one
data point of the score.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import ImageData
from .folder import FolderReport
from .walk import SPLITS


def _holdout_per_class(counts: list[int], fraction: float) -> list[int] | None:
    """Held-out images per class, or None when a class cannot spare 2 and keep 3 to train."""
    n_eval = [round(c * fraction) for c in counts]
    if any(e < 2 or c - e < 3 for c, e in zip(counts, n_eval)):
        return None
    return n_eval


def _folds(y: torch.Tensor, k: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """A fold number per image: each class's groups of near-duplicates (one image each when
    there are none) dealt round-robin over ``k`` folds after a seeded shuffle (stratified group
    k-fold): the copies of one photo always share a fold."""
    rng = np.random.default_rng(seed)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    fold = np.empty(len(y), dtype=int)
    for c in torch.unique(y).tolist():
        units = rng.permutation(np.unique(groups[y.numpy() == c]))
        for f, g in enumerate(units):
            fold[groups == g] = f % k
    return fold


def _splits(data: ImageData, report: FolderReport, holdout: float, seed: int
            ) -> tuple[str, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """``(evaluation, [(fit-on, scored) indices], group of each image)`` for ``data``.

    A given split (``train/`` + ``valid/`` ...) is used as given. Otherwise a stratified holdout,
    or cross-validation when a class cannot spare holdout images. Near-duplicates of one photo
    stay on one side of every split, and only the kept copy of a held-out group is scored (the
    others are used by no model of that split): one photo counts once.
    """
    groups, kept = report.group_ids(data.paths)
    if report.split:
        role = {report._rel(p): SPLITS.get(s.lower(), "train") for p, s in report.split.items()}
        given = np.array([role.get(p, "train") == "train" for p in data.paths])
        return "holdout", [(np.flatnonzero(given), np.flatnonzero(~given & kept))], groups
    n_eval = _holdout_per_class(data.counts(), holdout)
    if n_eval is not None:
        rng = np.random.default_rng(seed)
        held = np.zeros(len(data), dtype=bool)
        for c, n in enumerate(n_eval):  # whole groups, in a seeded order, until n are held out
            for g in rng.permutation(np.unique(groups[data.y.numpy() == c])):
                if held[data.y.numpy() == c].sum() >= n:
                    break
                held[groups == g] = True
        return "holdout", [(np.flatnonzero(~held), np.flatnonzero(held & kept))], groups
    fold = _folds(data.y, _n_folds(data.y), seed, groups)
    return "cross-validation", [(np.flatnonzero(fold != f), np.flatnonzero((fold == f) & kept))
                                for f in np.unique(fold)], groups


def _n_folds(y: torch.Tensor) -> int:
    return int(max(2, min(5, torch.bincount(y).min().item())))
