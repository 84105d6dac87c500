"""How much an evaluation can tell: a figure with its count and interval, and the warning for a
class with too few evaluation images.

With 3 held-out images of a class, one image is 33 points of its recall and "100 %" means
"3 of 3", which a Wilson 95 % interval puts anywhere from 44 % to 100 %. The report prints every
per-class precision and recall this way (:mod:`tlcourse.custom.metrics`), and the command line
warns below :data:`FEW_IMAGES` evaluation images of a class.

Example:
    >>> share_text(3, 3)
    '100 % (3 of 3; 44–100 %)'
"""

from __future__ import annotations

from ..stats_binomial import wilson

FEW_IMAGES = 10  # fewer evaluation images of a class than this: warn


def share_text(k: int, n: int) -> str:
    """'67 % (2 of 3; 21–94 %)': a proportion with its count and its Wilson 95 % interval."""
    if n == 0:
        return "— (0 of 0)"
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.0f} % ({k} of {n}; {100 * lo:.0f}–{100 * hi:.0f} %)"


def few_images_warning(support: dict[str, int], few: int = FEW_IMAGES) -> str | None:
    """A warning naming every class with fewer than ``few`` evaluation images (but some) and
    what one image is worth in points of its recall; None when every class has enough.

    Example:
        >>> few_images_warning({"cat": 3, "dog": 12, "eel": 4})[:70]
        "fewer than 10 evaluation images of 'cat' (3: one image is 33 points of"
    """
    small = [(name, n) for name, n in support.items() if 0 < n < few]
    if not small:
        return None
    each = ", ".join(f"'{name}' ({n}: {'one image is ' if i == 0 else ''}{100 / n:.0f} points"
                     f"{' of its recall' if i == 0 else ''})" for i, (name, n) in enumerate(small))
    return (f"fewer than {few} evaluation images of {each}; the 95 % intervals show how little "
            f"these figures can tell. Add images to tell more.")
