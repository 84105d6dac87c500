"""Which backbone for *your* folder? Chapter 7's section 8 on a learner's own images.

The course's backbone experiment (:mod:`tlcourse.experiments.backbone_choice`) measures the Lite
models on the course photos and clip art. On a learner's folder the same question gets the same
method, smaller: each backbone's frozen features of the folder are computed once (and cached),
then for each seed a stratified holdout (20 % of every class, at least one image) is scored by a
linear head trained on the rest. The seeds pair the backbones (the same held-out images for
every backbone of a seed), so the judge (:func:`tlcourse.stats.judge`) can say whether a gap
holds. A "none of these" class, if the folder has one, is left out: accuracy is over the classes.

Records have the keys of the course experiment's accuracy records (``part``, ``model``,
``input_size``, ``seed``, ``test_accuracy``), so chapter 7's exercise reads either.

Example:
    >>> records = compare_backbones("my_photos")                         # doctest: +SKIP
    >>> print("\\n".join(findings(records)))                             # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .. import stats
from ..backbones import create_backbone
from ..features import HEAD_CONFIG, extract_features, train_head
from ..train import predict
from .folder import check_folder, load_folder
from .negative import negative_index

SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}  # each at its pretrained input size


def _holdout(y: np.ndarray, seed: int, fraction: float = 0.2) -> np.ndarray:
    """A stratified holdout mask: ``fraction`` of every class (at least one image) held out."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        held[idx[:max(1, round(fraction * len(idx)))]] = True
    return held


def compare_backbones(folder: str | Path, models: Sequence[str] = tuple(SIZES),
                      seeds: Sequence[int] = tuple(range(10))) -> list[dict]:
    """Each backbone's held-out accuracy on ``folder``, per seed (paired), and its features'
    time per image. ``folder`` is only read; a folder with blocking problems raises
    ``ValueError`` listing them."""
    checked = check_folder(folder, progress=False)
    if not checked.ok:
        raise ValueError("the folder cannot be compared on:\n" + "\n".join(
            p.message for p in checked.problems if p.blocking))
    records = []
    for model in models:
        net = create_backbone(f"{model}-imagenet", len(checked.classes))
        data = load_folder(checked, net.preprocess.size, progress=False)
        t0 = time.perf_counter()
        feats = extract_features(net.freeze(0), data)
        seconds = time.perf_counter() - t0
        neg = negative_index(data.classes)
        keep = np.flatnonzero(data.y.numpy() != (-1 if neg is None else neg))
        for seed in seeds:
            held = _holdout(feats.y.numpy(), seed)
            head, _ = train_head(feats.subset(np.flatnonzero(~held)), HEAD_CONFIG, seed=seed)
            scored = feats.subset(np.intersect1d(np.flatnonzero(held), keep))
            right = (predict(head, scored).argmax(1) == scored.y).to(torch.int)
            records.append({"part": "accuracy", "model": model, "input_size": SIZES[model],
                            "seed": seed, "test_accuracy": float(right.float().mean()),
                            "item_correct": right.tolist(), "n_test": len(scored),
                            "feature_seconds_per_image": seconds / len(data)})
    return records


def findings(records: list[dict], baseline: str = "lite0") -> list[str]:
    """One computed sentence per larger backbone against ``baseline`` (paired by seed, the
    judge's verdict), after each model's mean accuracy and feature time."""
    models = list(dict.fromkeys(r["model"] for r in records))
    lines = []
    for m in models:
        rs = [r for r in records if r["model"] == m]
        lines.append(f"{m} ({rs[0]['input_size']} px): held-out accuracy "
                     f"{100 * np.mean([r['test_accuracy'] for r in rs]):.1f} % over "
                     f"{len(rs)} seeds ({rs[0]['n_test']} images each); features "
                     f"{1000 * rs[0]['feature_seconds_per_image']:.0f} ms per image (cache "
                     f"hits are faster)")
    base = stats.by_seed(records, "test_accuracy", model=baseline)
    for m in models:
        if m == baseline:
            continue
        other = stats.by_seed(records, "test_accuracy", model=m)
        seeds = sorted(base.keys() & other.keys())
        gaps = [other[s] - base[s] for s in seeds]
        lines.append(stats.judge(gaps).text(m, baseline, "your held-out images"))
    return lines
