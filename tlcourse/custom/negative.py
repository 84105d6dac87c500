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

NEGATIVE_NAMES = ("negative", "_negative")  # Custom Vision's Negative tag: images of no class


def negative_index(classes: Sequence[str]) -> int | None:
    """The column of the "none of these" class (named as in :data:`NEGATIVE_NAMES`), or None."""
    found = [i for i, c in enumerate(classes) if c.lower() in NEGATIVE_NAMES]
    if len(found) > 1:
        raise ValueError(f"one negative class at most; got {[classes[i] for i in found]}: "
                         f"merge them into one folder")
    return found[0] if found else None


def called_without(y: torch.Tensor, negative: int, splits: list[tuple[np.ndarray, np.ndarray]],
                   probs_of: Callable[[np.ndarray, np.ndarray], torch.Tensor],
                   threshold_of: Callable[[np.ndarray], float]) -> dict:
    """The held-out negative images scored by models trained without any negative image.

    Args:
        y: every image's label; ``negative`` is the negative class's.
        splits: the train's ``(training, scored)`` index pairs.
        probs_of: ``(fit on, score)`` index arrays -> probabilities over the *other* classes.
        threshold_of: training indices (negatives removed) -> the threshold chosen on them.

    Returns:
        ``{"images", "called", "threshold"}``: how many held-out negative images there were, how
        many of them a model trained without negatives gave a class at its threshold, and that
        threshold (the first split's; under cross-validation each split uses its own).
    """
    called = images = 0
    thresholds = []
    is_neg = (y == negative).numpy()
    for tr, ev in splits:
        fit, out = tr[~is_neg[tr]], ev[is_neg[ev]]
        t = threshold_of(fit)
        thresholds.append(t)
        if len(out):
            p = probs_of(fit, out)
            called += int((p.max(1).values >= t).sum())
            images += len(out)
    return {"images": images, "called": called, "threshold": thresholds[0]}
