"""Learning one task after another: class splits, a two-headed network, rehearsal and LwF.

The setting of catastrophic-forgetting experiments: a network learns task A (say digits 0-4),
then task B (digits 5-9) with a new head; we keep A's head and ask how much of A survives.

* :func:`class_split` - two disjoint halves of a dataset's classes, each relabelled 0..k-1.
* :class:`TwoHeadNet` - a trained :class:`~tlcourse.backbones.TransferNet` (its head is A's)
  plus a new head for B; ``forward`` gives B's logits (what ``fit`` trains), ``task_a`` A's.
* :func:`rehearsal_loss` and :func:`lwf_loss` - ``extra_loss`` functions for ``fit`` that
  replay a small memory of A, or distil the A-head outputs of the network before B
  (Learning without Forgetting, Li & Hoiem 2016).

Example:
    >>> a, b = class_split(load_dataset("mnist"), [0, 1, 2, 3, 4])
    >>> net = TwoHeadNet(trained_on_a, num_classes_b=5)
    >>> fit(net, b, cfg, extra_loss=rehearsal_loss(memory_of_a, batch_size=16))  # doctest: +SKIP
    >>> evaluate(net.task_a(), a_test)["accuracy"]                                 # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .backbones import TransferNet
from .data import ImageData
from .train import ExtraLoss


def class_split(data: ImageData, classes_a: Sequence[int]) -> tuple[ImageData, ImageData]:
    """Split ``data`` into the images of ``classes_a`` and those of all other classes.

    Each half is relabelled ``0..k-1`` in the order of its original labels, and keeps the
    matching class names, so it is an ordinary dataset for ``fit``.

    Example:
        >>> a, b = class_split(load_dataset("mnist", "test"), range(5))
        >>> a.classes[0], b.classes[0]
        ('0 - zero', '5 - five')
    """
    set_a = sorted(set(int(c) for c in classes_a))
    set_b = [c for c in range(len(data.classes)) if c not in set_a]
    if not set_a or not set_b:
        raise ValueError(f"classes_a must be a non-empty proper subset of 0..{len(data.classes) - 1}")
    halves = []
    for keep in (set_a, set_b):
        idx = np.flatnonzero(np.isin(data.y.numpy(), keep))
        part = data.subset(idx)
        remap = torch.full((len(data.classes),), -1, dtype=torch.long)
        remap[keep] = torch.arange(len(keep))
        halves.append(type(part)(part.x, remap[part.y], [data.classes[c] for c in keep],
                                 part.name, part.paths))
    return halves[0], halves[1]


class _TaskA(nn.Module):
    """View of a :class:`TwoHeadNet` that answers with task A's head."""

    def __init__(self, owner: TwoHeadNet) -> None:
        super().__init__()
        self.owner = owner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.owner.forward_a(x)


class TwoHeadNet(nn.Module):
    """A network trained on task A, given a second head for task B.

    Args:
        net: the A-trained network; it is deep-copied, its ``head`` becomes ``head_a``.
        num_classes_b: classes of task B (a new, randomly initialised head).
        frozen_stages: how many early stages of the body to freeze (0 = train everything).
    """

    def __init__(self, net: TransferNet, num_classes_b: int, frozen_stages: int = 0) -> None:
        super().__init__()
        self.net = copy.deepcopy(net)
        self.net.freeze(self.net.num_stages - frozen_stages)
        self.head_b = nn.Linear(self.net.num_features, num_classes_b)

    @property
    def head_a(self) -> nn.Module:
        return self.net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, classes_b]
        return self.head_b(self.net.forward_features(x))

    def forward_a(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, classes_a]
        return self.net.head(self.net.forward_features(x))

    def task_a(self) -> nn.Module:
        """A module whose ``forward`` is task A's logits (for ``evaluate``)."""
        return _TaskA(self)


def rehearsal_loss(memory: ImageData, batch_size: int = 16, weight: float = 1.0,
                   seed: int = 0) -> ExtraLoss:
    """Replay: each B step also takes the A-head's cross-entropy on a batch from ``memory``.

    Args:
        memory: a small stored sample of task A (images and A labels).
        batch_size: replayed images per step.
        weight: multiplier of the replay loss.
        seed: seeds which memory images are drawn.
    """
    g = torch.Generator().manual_seed(seed)

    def loss(model: TwoHeadNet, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor):
        idx = torch.randint(len(memory), (min(batch_size, len(memory)),), generator=g)
        xm, ym = memory.x[idx].to(x.device), memory.y[idx].to(x.device)
        return weight * F.cross_entropy(model.forward_a(xm), ym)

    return loss


def lwf_loss(model: TwoHeadNet, weight: float = 1.0, temperature: float = 2.0) -> ExtraLoss:
    """Learning without Forgetting: keep the A-head's answers on B's images as they were.

    A frozen copy of ``model`` (taken now, before training on B) supplies the targets; the
    penalty is the temperature-softened KL divergence between old and new A-head outputs.
    """
    old = copy.deepcopy(model).eval()
    for p in old.parameters():
        p.requires_grad_(False)

    def loss(m: TwoHeadNet, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor):
        old.to(x.device)
        with torch.no_grad():
            target = F.softmax(old.forward_a(x) / temperature, dim=1)
        log_new = F.log_softmax(m.forward_a(x) / temperature, dim=1)
        return weight * temperature**2 * F.kl_div(log_new, target, reduction="batchmean")

    return loss
