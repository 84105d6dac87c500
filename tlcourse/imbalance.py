"""Make a balanced dataset imbalanced on purpose, to measure what imbalance costs.

Example:
    >>> skewed = make_imbalanced(data, minority=0, fraction=0.05, seed=0)  # doctest: +SKIP
    >>> skewed.counts()                                                     # doctest: +SKIP
    [5, 100, 100, ...]
"""

from __future__ import annotations

import math

import numpy as np

from .data import ImageData


def make_imbalanced(data: ImageData, minority: int, fraction: float, seed: int = 0) -> ImageData:
    """Keep only ``fraction`` of class ``minority`` (at least one image), all of the others.

    Args:
        data: images or features with labels.
        minority: the class index to shrink.
        fraction: share of that class to keep, e.g. 0.05 for 5 %.
        seed: which images of the minority class are kept.

    Example:
        >>> make_imbalanced(data, minority=2, fraction=0.1).counts()  # doctest: +SKIP
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    y = data.y.numpy()
    rng = np.random.default_rng(seed)
    members = rng.permutation(np.flatnonzero(y == minority))
    # Round half up: Python's round() goes to even, so 5 % of 50 (2.5) kept 2 images, i.e. 4 %.
    keep_n = max(1, math.floor(len(members) * fraction + 0.5))
    keep = np.sort(np.concatenate([np.flatnonzero(y != minority), members[:keep_n]]))
    return data.subset(keep)
