"""The transfer methods every experiment compares, each built on the one :func:`fit`.

* :func:`scratch` - a randomly initialised network, every layer trained.
* :func:`linear_probe` - a linear head on cached features of a frozen backbone.
* :func:`fine_tune` - a pretrained backbone whose top stages are unfrozen and trained at a low
  rate; by default the head is trained first on frozen features (two-stage, "LP-FT").

Each returns a :class:`MethodResult` with test accuracy, predictions, wall time and the number of
trainable parameters, so a table row is one call away.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch
from torch import nn

from .backbones import TransferNet, create_backbone
from .data import ImageData
from .features import HEAD_CONFIG, extract_features, train_head
from .train import EpochHook, History, TrainConfig, evaluate, fit, seed_everything


@dataclass
class MethodResult:
    """One trained model's outcome on one test set."""

    test_accuracy: float
    preds: torch.Tensor  # [N_test] predicted labels
    seconds: float  # wall time: feature extraction + training (not testing)
    trainable_params: int
    history: History | None = None
    model: nn.Module | None = None
    balanced_accuracy: float = float("nan")  # mean per-class recall: the test sets are imbalanced

    def record(self, **settings) -> dict:
        """A results-table row: the settings given plus the measured metrics."""
        return {**settings, "test_accuracy": round(self.test_accuracy, 4),
                "balanced_accuracy": round(self.balanced_accuracy, 4),
                "seconds": round(self.seconds, 3), "trainable_params": self.trainable_params}


SCRATCH_CONFIG = TrainConfig(epochs=15, batch_size=16, lr=3e-3, weight_decay=5e-4, progress=False)
"""From scratch: a normal ('high') learning rate, every layer trained."""

FINETUNE_CONFIG = TrainConfig(epochs=8, batch_size=16, lr=1e-4, weight_decay=1e-4, bn_eval=True,
                              progress=False)
"""Fine-tuning: a rate ~30x lower than from scratch, as the popular rule says, with BatchNorm
statistics kept as pretrained (batches of a few images would overwrite them)."""


def scratch(backbone: str, train: ImageData, test: ImageData, input_size: int,
            cfg: TrainConfig = SCRATCH_CONFIG, seed: int = 0, min_steps: int = 0,
            on_epoch_end: EpochHook | None = None) -> MethodResult:
    """Train ``backbone`` (a ``*-random`` or ``small-cnn``) from random init on ``train``.

    Args:
        min_steps: train for at least this many optimiser steps, whatever the size of ``train``:
            ``cfg.epochs`` is raised to ``ceil(min_steps / batches per epoch)``. Five photos a
            class fill 2 batches, so 10 epochs are only 20 steps: too few for a network to fit
            even its training set, and the baseline would measure undertraining, not overfitting.
        on_epoch_end: passed to :func:`fit` (e.g. to score the model on train and test images
            as it trains).

    Example:
        >>> r = scratch("small-cnn", train, test, 64, min_steps=80)  # doctest: +SKIP
        >>> len(r.history.epochs)  # 5 photos x 6 classes = 2 batches: 40 epochs  # doctest: +SKIP
        40
    """
    seed_everything(seed)
    net = create_backbone(backbone, len(train.classes), input_size=input_size)
    batches = -(-len(train) // cfg.batch_size)  # per epoch; the last, smaller batch is kept
    epochs = max(cfg.epochs, -(-min_steps // batches))
    history = fit(net, train, replace(cfg, seed=seed, epochs=epochs), on_epoch_end=on_epoch_end)
    ev = evaluate(net, test)
    return MethodResult(ev["accuracy"], ev["preds"], history.seconds, net.trainable_params(),
                        history, net, ev["mean_recall"])


def linear_probe(train_feats: ImageData, test_feats: ImageData, seed: int = 0,
                 cfg: TrainConfig = HEAD_CONFIG, feature_seconds: float = 0.0) -> MethodResult:
    """A linear head on cached features; ``feature_seconds`` is the (shared) extraction time
    to charge to this method's wall time."""
    head, history = train_head(train_feats, replace(cfg, seed=seed), seed=seed)
    ev = evaluate(head, test_feats)
    params = sum(p.numel() for p in head.parameters())
    return MethodResult(ev["accuracy"], ev["preds"], history.seconds + feature_seconds, params,
                        history, head, ev["mean_recall"])


def fine_tune(backbone: str, train: ImageData, test: ImageData, input_size: int,
              trainable_stages: int = 3, cfg: TrainConfig = FINETUNE_CONFIG, seed: int = 0,
              head_first: bool = True, val: ImageData | None = None,
              head_cfg: TrainConfig = HEAD_CONFIG) -> MethodResult:
    """Fine-tune a pretrained ``backbone``: unfreeze its top ``trainable_stages`` and train.

    Two phases, the same in either order: a *head phase* (``head_cfg``: the head alone, on the
    frozen body's features computed once - the same numbers as the network with its body frozen
    and BatchNorm in eval mode) and a *joint phase* (``cfg``: head and top stages together).

    Args:
        head_first: head phase, then joint phase (two-stage, LP-FT). ``False`` runs the joint
            phase from a random head - the classic mistake - and then the same head phase on
            the fine-tuned body's features, continuing from the head it has: the two orders
            take the same optimiser steps at the same rates, only the order differs.
        val: validation data for ``cfg.patience`` (early stopping of the joint phase).
        head_cfg: the head phase's recipe.

    Example:
        >>> r = fine_tune("lite0-imagenet", train, test, 96, seed=0)  # doctest: +SKIP
    """
    seed_everything(seed)
    start = time.perf_counter()
    net: TransferNet = create_backbone(backbone, len(train.classes), input_size=input_size)
    head_cfg = replace(head_cfg, seed=seed)
    if head_first:
        # use_cache=False: the extraction is part of this method's measured wall time
        head, _ = train_head(extract_features(net.freeze(0), train, use_cache=False),
                             head_cfg, seed=seed)
        net.head.load_state_dict(head.state_dict())
    net.freeze(trainable_stages)
    history = fit(net, train, replace(cfg, seed=seed), val=val)
    if not head_first:  # the same head phase, last: the body frozen as fine-tuned
        fit(net.head, extract_features(net.freeze(0), train, use_cache=False), head_cfg)
        net.freeze(trainable_stages)  # report the joint phase's trainable parameters
    seconds = time.perf_counter() - start
    ev = evaluate(net, test)
    return MethodResult(ev["accuracy"], ev["preds"], seconds, net.trainable_params(), history, net,
                        ev["mean_recall"])
