"""Unsupervised domain adaptation by re-estimating BatchNorm statistics (AdaBN).

A BatchNorm layer normalises with the mean and variance it saw in training. On a shifted domain
(clip art instead of photos, 8x8 digits instead of MNIST) those statistics are wrong; replacing
them with the target domain's - no labels needed, no weight trained - often recovers accuracy.

AdaBN as published (Li et al. 2016, "Revisiting Batch Normalization for Practical Domain
Adaptation"): train the model on the source domain, its BatchNorm layers normalising with
*source* statistics; then, for the target domain, recompute every BatchNorm layer's mean and
variance on unlabelled target images and keep every weight (convolutions and head) as trained.
Where the target statistics come from is part of the result:

* ``"target-test"`` - the very test images that are then scored (*transductive*: the model sees
  the test set, without labels, before it is tested);
* ``"target-pool"`` - a separate pool of unlabelled target images, disjoint from the test set
  (what a deployed model could do).

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

#: Where AdaBN's target statistics may come from, and whether that is transductive.
BN_STATS = {"target-test": True, "target-pool": False}


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def bn_statistics(model: nn.Module) -> dict[str, torch.Tensor]:
    """The BatchNorm buffers of ``model`` (running mean, variance and batch count), by name:
    everything AdaBN may change. Every other entry of the state dict must stay as trained."""
    names = {n for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}
    return {k: v for k, v in model.state_dict().items() if k.rpartition(".")[0] in names
            and k.rpartition(".")[2] in ("running_mean", "running_var", "num_batches_tracked")}


@torch.no_grad()
def reestimate_bn(model: nn.Module, data: ImageData, batch_size: int = 128,
                  inplace: bool = False) -> nn.Module:
    """Replace every BatchNorm layer's running mean/var by its statistics on ``data`` (AdaBN).

    Each batch's statistics are weighted by its number of images, so the result does not
    depend on how ``data`` falls into batches (up to the spread of the batch means).

    Args:
        model: a trained network (any module with BatchNorm layers).
        data: unlabelled target-domain images (labels are ignored).
        batch_size: images per forward pass.
        inplace: modify ``model`` itself instead of a deep copy.

    Returns:
        The adapted model, in eval mode; no weight is changed, only BN buffers
        (:func:`bn_statistics`).

    Example:
        >>> adapted = reestimate_bn(source, pool)        # doctest: +SKIP
        >>> evaluate(adapted, test)["accuracy"]          # doctest: +SKIP
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
        bn.train()  # only the BN layers compute batch statistics; dropout etc. stay in eval
    if smoke.active():  # one batch of statistics is enough to prove the path runs
        smoke.work().add_infer(len(data), smoke.input_side(model))
        data = data.subset(range(min(len(data), smoke.BATCH)))
    seen = 0
    for i in range(0, len(data), batch_size):
        x = data.x[i:i + batch_size].to(device)
        for bn in layers:  # running = (seen * running + n * batch) / (seen + n)
            bn.momentum = len(x) / (seen + len(x))
        model(x)
        seen += len(x)
    for bn, m in zip(layers, saved):
        bn.momentum = m
    return model.eval()
