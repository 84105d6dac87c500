"""A "none of these" class, as Azure Custom Vision's *Negative* tag.

A folder named ``negative/`` or ``_negative/`` (:data:`NEGATIVE_NAMES`) in a learner's folder
holds images that belong to no class: photos of anything else the app will meet. The model
trains on them as one more class, so that it can put its probability there; an image whose top
class is the negative one is predicted "unknown", and the negative images are reported apart
(:mod:`tlcourse.custom.metrics`).

Does it help? :func:`called_without` answers on the learner's own run: it scores the held-out
negative images with linear heads trained on the same split *without* the negative images (the
threshold chosen the same way), so the share of out-of-class images given a class with and
without the negative class can be set side by side.

Example:
    >>> negative_index(["bird", "cat", "negative"]), negative_index(["bird", "cat"])
    (2, None)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..data import ImageData

NEGATIVE_NAMES = ("negative", "_negative")  # Custom Vision's Negative tag: images of no class


def negative_index(classes: Sequence[str]) -> int | None:
    """The column of the "none of these" class (named as in :data:`NEGATIVE_NAMES`), or None."""
    found = [i for i, c in enumerate(classes) if c.lower() in NEGATIVE_NAMES]
    if len(found) > 1:
        raise ValueError(f"one negative class at most; got {[classes[i] for i in found]}: "
                         f"merge them into one folder")
    return found[0] if found else None


def called_without(feats: ImageData, splits: list[tuple[np.ndarray, np.ndarray]],
                   head_probs: Callable[[ImageData, ImageData], torch.Tensor],
                   threshold_of: Callable[[ImageData], float]) -> dict:
    """The held-out negative images scored by models trained without any negative image.

    Args:
        feats: every image (or its features), labelled; one class is the negative one.
        splits: the train's ``(training, scored)`` index pairs.
        head_probs: ``(fit on, score)`` -> probabilities, for a model fit on the first.
        threshold_of: training images -> the threshold chosen on them (as the train chose its).

    Returns:
        ``{"images", "called", "threshold"}``: how many held-out negative images were scored,
        how many of them a model trained without negatives gave a class at its threshold, and
        that threshold (the first split's; under cross-validation each split used its own).
    """
    neg = negative_index(feats.classes)
    if neg is None:
        raise ValueError(f"no negative class among {feats.classes}")
    is_neg = (feats.y == neg).numpy()
    y = torch.where(feats.y > neg, feats.y - 1, feats.y).masked_fill(feats.y == neg, 0)
    others = ImageData(feats.x, y, [c for i, c in enumerate(feats.classes) if i != neg],
                       feats.name, feats.paths)  # the same images, the negative class gone
    called = images = 0
    thresholds = []
    for tr, ev in splits:
        fit, out = others.subset(tr[~is_neg[tr]]), ev[is_neg[ev]]
        thresholds.append(threshold_of(fit))
        if len(out):
            p = head_probs(fit, others.subset(out))
            called += int((p.max(1).values >= thresholds[-1]).sum())
            images += len(out)
    return {"images": images, "called": called, "threshold": thresholds[0]}
