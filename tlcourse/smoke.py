"""Smoke mode: run an experiment's *full* configuration in miniature, to prove it executes.

Inside :func:`smoke_mode`, every code path of the full profile runs on the full profile's real
data and splits (224-px inputs, every arm, every label count, every test set), but the network
work is cut to a sliver:

* each :func:`~tlcourse.train.fit` takes one optimiser step on :data:`BATCH` images;
* :func:`~tlcourse.train.predict` and :func:`~tlcourse.features.extract_features` run the
  network on :data:`BATCH` images and repeat those rows for the rest (so shapes stay right);
* BatchNorm re-estimation sees one batch;
* scikit-learn fits (the text chapter's logistic regressions) cross-validate one candidate on
  two folds of :data:`FIT_ROWS_PER_CLASS` rows per class, for at most :data:`FIT_MAX_ITER`
  iterations (a full-size grid search took 100 of ``text-transfer``'s 115 smoke seconds).

Every skipped pass is *counted* (:class:`Work`), which gives an estimate of what the full run
costs on a GPU (:func:`gpu_estimate`). The accuracies a smoke run reports mean nothing; a
crash, a shape error, a split the data cannot feed or a missing key is what it is for.
``tlcourse run NAME --smoke`` uses it; its results are never cached.

Example:
    >>> with smoke_mode() as work:                                     # doctest: +SKIP
    ...     run_experiment("fine-tuning", "full", seeds=(0,), fresh=True)
    >>> work.train_images                                              # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

#: Images each network pass really processes in smoke mode (BatchNorm in train mode needs two).
BATCH = 2
#: Rows per class a scikit-learn fit sees in smoke mode (two folds need two of each class).
FIT_ROWS_PER_CLASS = 4
#: Iterations a scikit-learn solver may take in smoke mode (it stops unconverged: fine here).
FIT_MAX_ITER = 20


@dataclass
class Work:
    """Network work the full run would do, in 224-px-equivalent images (cost ~ pixels)."""

    train_images: float = 0.0  # forward + backward passes, 224-px equivalents
    train_steps: int = 0  # optimiser steps of networks (small batches are bound by steps)
    head_steps: int = 0  # optimiser steps of heads on cached features (tiny)
    infer_images: float = 0.0  # forward-only passes (evaluation, feature extraction)

    def add_train(self, images: int, steps: int, side: int | None) -> None:
        self.train_images += images * _scale(side)
        if side is None:
            self.head_steps += steps
        else:
            self.train_steps += steps

    def add_infer(self, images: int, side: int | None) -> None:
        self.infer_images += images * _scale(side)

    def to_dict(self) -> dict:
        return {k: round(v, 1) for k, v in asdict(self).items()}


def _scale(side: int | None) -> float:
    # A head on cached features costs next to nothing; an image costs ~ its pixels.
    return 0.0 if side is None else (side / 224) ** 2


_WORK: ContextVar[Work | None] = ContextVar("tlcourse_smoke", default=None)


def active() -> bool:
    """True inside :func:`smoke_mode`."""
    return _WORK.get() is not None


def work() -> Work:
    """The current smoke run's work counter (only valid inside :func:`smoke_mode`)."""
    w = _WORK.get()
    if w is None:
        raise RuntimeError("not in smoke mode")
    return w


@contextmanager
def smoke_mode() -> Iterator[Work]:
    """Within the block: one step of ``BATCH`` images per fit, ``BATCH`` images per pass."""
    token = _WORK.set(Work())
    try:
        yield _WORK.get()
    finally:
        _WORK.reset(token)


def input_side(model) -> int | None:
    """The image side a model's passes cost, or None for a head on cached features."""
    pre = getattr(model, "preprocess", None)
    if pre is not None:
        return int(pre.size)
    return None if _is_head(model) else 28


def _is_head(model) -> bool:
    import torch

    first = next((m for m in model.modules() if not isinstance(m, torch.nn.Sequential)), None)
    return isinstance(first, torch.nn.Linear)


#: Assumed throughput of one modern GPU (an RTX 4090 / A100 class card, mixed precision) for
#: EfficientNet-Lite0 at 224 px. Assumptions, not measurements: nobody has run the course on
#: a GPU yet. A network step costs at least STEP_SECONDS (kernel launches and Python at small
#: batches); a step of a linear head on cached features HEAD_STEP_SECONDS.
GPU_TRAIN_IMAGES_PER_S = 1500.0
GPU_INFER_IMAGES_PER_S = 5000.0
STEP_SECONDS = 0.004
HEAD_STEP_SECONDS = 0.001


def gpu_estimate(w: Work) -> float:
    """Estimated seconds of the counted work on one modern GPU (see the assumptions above)."""
    return (max(w.train_images / GPU_TRAIN_IMAGES_PER_S, w.train_steps * STEP_SECONDS)
            + w.head_steps * HEAD_STEP_SECONDS + w.infer_images / GPU_INFER_IMAGES_PER_S)


def fmt_minutes(seconds: float) -> str:
    """'~3 min' style, rounded up: an estimate, not a measurement."""
    return f"~{max(1, math.ceil(seconds / 60))} min"
