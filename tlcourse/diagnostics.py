"""Measurements *about* a model rather than of its accuracy: how far fine-tuning moved the
weights, whether a "frozen" backbone really stayed frozen, when early stopping would stop.

Example:
    >>> ref = snapshot(net)                     # before fine-tuning
    >>> fit(net, train, cfg)                    # doctest: +SKIP
    >>> weight_distance(net, ref)               # doctest: +SKIP
    0.031
"""

from __future__ import annotations

import torch
from torch import nn

from .data import ImageData


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of every floating-point parameter and buffer of ``net``.

    Example:
        >>> ref = snapshot(nn.Linear(3, 2)); sorted(ref)
        ['bias', 'weight']
    """
    return {k: v.detach().float().cpu().clone() for k, v in net.state_dict().items()
            if v.is_floating_point()}


def weight_distance(net: nn.Module, reference: dict[str, torch.Tensor],
                    prefix: str = "body.") -> float:
    """Relative L2 distance ``||w - w0|| / ||w0||`` over the parameters named ``prefix*``.

    Only parameters (not BatchNorm running statistics) count, so the number says how far the
    optimiser moved the weights. 0 means untouched; 1 means a change as large as the weights.

    Example:
        >>> lin = nn.Linear(3, 2); ref = snapshot(lin)
        >>> weight_distance(lin, ref, prefix="")
        0.0
    """
    num, den = 0.0, 0.0
    for name, p in net.named_parameters():
        if name.startswith(prefix) and name in reference:
            w0 = reference[name]
            num += (p.detach().float().cpu() - w0).pow(2).sum().item()
            den += w0.pow(2).sum().item()
    return (num / den) ** 0.5 if den > 0 else 0.0


def buffers_changed(net: nn.Module, reference: dict[str, torch.Tensor],
                    prefix: str = "body.") -> int:
    """How many tensors named ``prefix*`` (parameters or BatchNorm running stats) differ at all
    from ``reference`` - a bit-exact check that a frozen backbone stayed frozen.

    Example:
        >>> bn = nn.BatchNorm1d(2); ref = snapshot(bn)
        >>> _ = bn.train()(torch.randn(8, 2)); buffers_changed(bn, ref, prefix="")
        2
    """
    now = snapshot(net)
    return sum(not torch.equal(now[k], v) for k, v in reference.items()
               if k.startswith(prefix) and k in now)


@torch.inference_mode()
def max_feature_change(net, data: ImageData, before: torch.Tensor) -> float:
    """Largest absolute change of ``net.forward_features`` on ``data`` (eval mode) vs ``before``."""
    net.eval()
    return (net.forward_features(data.x) - before).abs().max().item()


def early_stop_epoch(val_accs: list[float], patience: int) -> int:
    """The epoch (1-based) whose weights :func:`~tlcourse.train.fit` keeps with ``patience``:
    the best validation epoch seen before ``patience`` epochs pass without improvement.

    Example:
        >>> early_stop_epoch([0.5, 0.6, 0.55, 0.58, 0.7], patience=2)
        2
    """
    best, best_epoch, bad = -1.0, 1, 0
    for epoch, acc in enumerate(val_accs, start=1):
        if acc > best:
            best, best_epoch, bad = acc, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                break
    return best_epoch
