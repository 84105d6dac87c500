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
from .train import History, TrainConfig, evaluate, fit, seed_everything


@dataclass
class MethodResult:
    """One trained model's outcome on one test set."""

    test_accuracy: float
    preds: torch.Tensor  # [N_test] predicted labels
    seconds: float  # wall time: feature extraction + training (not testing)
    trainable_params: int
    history: History | None = None
    model: nn.Module | None = None

    def record(self, **settings) -> dict:
        """A results-table row: the settings given plus the measured metrics."""
        return {**settings, "test_accuracy": round(self.test_accuracy, 4),
                "seconds": round(self.seconds, 3), "trainable_params": self.trainable_params}


SCRATCH_CONFIG = TrainConfig(epochs=15, batch_size=16, lr=3e-3, weight_decay=5e-4, progress=False)
"""From scratch: a normal ('high') learning rate, every layer trained."""

FINETUNE_CONFIG = TrainConfig(epochs=8, batch_size=16, lr=1e-4, weight_decay=1e-4, bn_eval=True,
                              progress=False)
"""Fine-tuning: a rate ~30x lower than from scratch, as the popular rule says, with BatchNorm
statistics kept as pretrained (batches of a few images would overwrite them)."""


def scratch(backbone: str, train: ImageData, test: ImageData, input_size: int,
            cfg: TrainConfig = SCRATCH_CONFIG, seed: int = 0) -> MethodResult:
    """Train ``backbone`` (a ``*-random`` or ``small-cnn``) from random init on ``train``."""
    seed_everything(seed)
    net = create_backbone(backbone, len(train.classes), input_size=input_size)
    history = fit(net, train, replace(cfg, seed=seed))
    ev = evaluate(net, test)
    return MethodResult(ev["accuracy"], ev["preds"], history.seconds, net.trainable_params(),
                        history, net)


def linear_probe(train_feats: ImageData, test_feats: ImageData, seed: int = 0,
                 cfg: TrainConfig = HEAD_CONFIG, feature_seconds: float = 0.0) -> MethodResult:
    """A linear head on cached features; ``feature_seconds`` is the (shared) extraction time
    to charge to this method's wall time."""
    head, history = train_head(train_feats, replace(cfg, seed=seed), seed=seed)
    ev = evaluate(head, test_feats)
    params = sum(p.numel() for p in head.parameters())
    return MethodResult(ev["accuracy"], ev["preds"], history.seconds + feature_seconds, params,
                        history, head)


def fine_tune(backbone: str, train: ImageData, test: ImageData, input_size: int,
              trainable_stages: int = 3, cfg: TrainConfig = FINETUNE_CONFIG, seed: int = 0,
              head_first: bool = True, val: ImageData | None = None) -> MethodResult:
    """Fine-tune a pretrained ``backbone``: unfreeze its top ``trainable_stages`` and train.

    Args:
        head_first: train a linear head on frozen features first and start from it (two-stage,
            LP-FT). ``False`` starts from a random head - the classic mistake.
        val: validation data for ``cfg.patience`` (early stopping).
    """
    seed_everything(seed)
    start = time.perf_counter()
    net: TransferNet = create_backbone(backbone, len(train.classes), input_size=input_size)
    if head_first:
        # use_cache=False: the extraction is part of this method's measured wall time
        head, _ = train_head(extract_features(net.freeze(0), train, use_cache=False),
                             replace(HEAD_CONFIG, seed=seed), seed=seed)
        net.head.load_state_dict(head.state_dict())
    net.freeze(trainable_stages)
    history = fit(net, train, replace(cfg, seed=seed), val=val)
    seconds = time.perf_counter() - start
    ev = evaluate(net, test)
    return MethodResult(ev["accuracy"], ev["preds"], seconds, net.trainable_params(), history, net)
