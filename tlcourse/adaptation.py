"""Unsupervised domain adaptation by re-estimating BatchNorm statistics (AdaBN).

A BatchNorm layer normalises with the mean and variance it saw in training. On a shifted domain
(clip art instead of photos, 8x8 digits instead of MNIST) those statistics are wrong; replacing
them with the target domain's - no labels needed, no weights trained - often recovers accuracy
(Li et al. 2016, "Revisiting Batch Normalization for Practical Domain Adaptation").

Example:
    >>> adapted = reestimate_bn(source_model, unlabeled_target)   # a copy; the source is kept
    >>> evaluate(adapted, target_test)["accuracy"]                 # doctest: +SKIP
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from . import smoke
from .data import ImageData
from .train import get_device


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate_bn(model: nn.Module, data: ImageData, batch_size: int = 128,
                  inplace: bool = False) -> nn.Module:
    """Replace every BatchNorm layer's running mean/var by its statistics on ``data``.

    Args:
        model: a trained network (any module with BatchNorm layers).
        data: unlabelled target-domain images (labels are ignored).
        batch_size: images per forward pass; the statistics are averaged over all batches.
        inplace: modify ``model`` itself instead of a deep copy.

    Returns:
        The adapted model, in eval mode; no weight is changed, only BN buffers.
    """
    model = model if inplace else copy.deepcopy(model)
    device = get_device()
    model.to(device).eval()
    layers = _bn_layers(model)
    if not layers:
        raise ValueError("the model has no BatchNorm layers to re-estimate")
    saved = [bn.momentum for bn in layers]
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None  # None = cumulative average over all batches seen
        bn.train()  # only the BN layers compute batch statistics; dropout etc. stay in eval
    if smoke.active():  # one batch of statistics is enough to prove the path runs
        smoke.work().add_infer(len(data), smoke.input_side(model))
        data = data.subset(range(min(len(data), smoke.BATCH)))
    for i in range(0, len(data), batch_size):
        model(data.x[i:i + batch_size].to(device))
    for bn, m in zip(layers, saved):
        bn.momentum = m
    return model.eval()
