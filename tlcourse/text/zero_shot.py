"""Zero-shot classification from class descriptions: no labelled example at all.

Each class is described in words ("a negative tweet", "a positive tweet"); the encoder turns
each description into a sentence vector, and a text gets the class whose description's vector
is closest (cosine) to its own. The wording matters, so :data:`WORDINGS` holds several, and
:func:`class_vectors` can average them per class (a *prompt ensemble*, as Radford et al. 2021
did for CLIP): no wording is picked by looking at labels.

An image version needs an image-text model such as CLIP, whose weights ship in no package of
the registries this course installs from: a learner downloads them (e.g. ``open_clip``'s
``ViT-B-32``) and the same cosine rule applies.

Example:
    >>> enc = load_encoder()                                            # doctest: +SKIP
    >>> vecs = class_vectors(enc, WORDINGS)                             # doctest: +SKIP
    >>> predict(embed(test.texts, enc), vecs)                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import TlcourseError
from .encoder import SentenceEncoder, embed

#: Descriptions of ``["negative", "positive"]`` (in that order), several wordings: the spread of
#: their accuracies is how much zero-shot depends on the words chosen.
WORDINGS: tuple[tuple[str, str], ...] = (
    ("negative", "positive"),
    ("a negative tweet", "a positive tweet"),
    ("This is bad.", "This is good."),
    ("I am unhappy about this.", "I am happy about this."),
    ("a tweet expressing anger, sadness or disappointment",
     "a tweet expressing joy, love or gratitude"),
)


def _check(wordings: Sequence[Sequence[str]], n_classes: int | None = None) -> None:
    if not wordings:
        raise TlcourseError("zero-shot needs at least one wording: a description per class")
    sizes = {len(w) for w in wordings}
    if len(sizes) != 1 or (n_classes is not None and sizes != {n_classes}):
        raise TlcourseError(f"each wording must describe every class once, in class order "
                            f"({n_classes or 'the same number of'} descriptions); got sizes "
                            f"{sorted(sizes)}")
    if any(not isinstance(d, str) or not d.strip() for w in wordings for d in w):
        raise TlcourseError("a class description is empty: write a few words per class")


def class_vectors(encoder: SentenceEncoder, wordings: Sequence[Sequence[str]],
                  max_length: int = 64) -> torch.Tensor:
    """``[C, D]`` unit vectors, one per class: the mean of that class's descriptions' sentence
    vectors over ``wordings`` (one wording: its own vectors), renormalised."""
    _check(wordings)
    flat = [d for w in wordings for d in w]
    vecs = embed(flat, encoder, max_length=max_length, use_cache=False)  # [W * C, D]
    vecs = vecs.view(len(wordings), len(wordings[0]), -1).mean(0)
    return torch.nn.functional.normalize(vecs, dim=1)


def predict(text_vectors: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """``[N]`` labels: for each ``[N, D]`` text vector, the class of the closest ``[C, D]`` class
    vector by cosine (the encoder's vectors are unit length, so a dot product)."""
    t = torch.nn.functional.normalize(text_vectors.float(), dim=1)
    return (t @ classes.float().T).argmax(1)
