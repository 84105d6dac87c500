"""Learning one task after another: class splits, a two-headed network, rehearsal, LwF and EWC.

The setting of catastrophic-forgetting experiments: a network learns task A (say digits 0-4),
then task B (digits 5-9) with a new head; we keep A's head and ask how much of A survives.

* :func:`class_split` - two disjoint halves of a dataset's classes, each relabelled 0..k-1.
* :class:`TwoHeadNet` - a trained :class:`~tlcourse.backbones.TransferNet` (its head is A's)
  plus a new head for B; ``forward`` gives B's logits (what ``fit`` trains), ``task_a`` A's.
* :func:`rehearsal_loss` and :func:`lwf_loss` - ``extra_loss`` functions for ``fit`` that
  replay a small memory of A, or distil the A-head outputs of the network before B
  (Learning without Forgetting, Li & Hoiem 2016).
* :func:`fisher_diagonal` and :func:`ewc_loss` - Elastic Weight Consolidation (Kirkpatrick et
  al. 2017): how much each weight mattered to A, and a penalty that holds the important ones
  near their A values while B is learnt.

Example:
    >>> a, b = class_split(load_dataset("mnist"), [0, 1, 2, 3, 4])
    >>> net = TwoHeadNet(trained_on_a, num_classes_b=5)
    >>> fit(net, b, cfg, extra_loss=rehearsal_loss(memory_of_a, batch_size=16))  # doctest: +SKIP
    >>> evaluate(net.task_a(), a_test)["accuracy"]                                 # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import smoke
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
    set_a = sorted({int(c) for c in classes_a})
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


def fisher_diagonal(net: nn.Module, data: ImageData,
                    labels: Literal["sampled", "true"] = "sampled",
                    seed: int = 0) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information of ``net`` on ``data``: for every trainable parameter, the
    mean over images of the squared gradient of ``log p(y | x)``.

    The gradient is taken image by image, not per batch: the square of a batch mean would
    understate the Fisher by roughly the batch size. (A plain loop, meant for small CNNs and a
    few hundred images.) BatchNorm uses its running statistics (eval mode), as when the network
    is tested.

    Args:
        net: the network as it finished task A; its ``forward`` gives A's logits.
        data: task A's images and labels (its training set).
        labels: ``"sampled"`` (the default, what the course uses) draws ``y`` from the model's
            own predicted distribution, one sample per image: the Fisher proper, as in EWC's
            paper. ``"true"`` takes each image's label: the *empirical* Fisher. It vanishes as
            the network fits its training set (the gradient of a confident, correct answer is
            ~0): on MNIST 0-4 it came out 4-10x smaller than the sampled one, and smallest on
            the seed that fit A best, so one lambda cannot serve every seed.
        seed: seeds the sampled labels.

    Returns:
        ``{parameter name: tensor of its shape}``, on the CPU, for every parameter that
        requires grad.

    Example:
        >>> f = fisher_diagonal(net_a, a_train)                   # doctest: +SKIP
        >>> sorted(f)[:1], bool(all((v >= 0).all() for v in f.values()))   # doctest: +SKIP
        (['body.blocks.0.0.weight'], True)
    """
    if labels not in ("true", "sampled"):
        raise ValueError(f"labels must be 'true' or 'sampled', not {labels!r}")
    was_training = net.training
    net.eval()
    dev = next(net.parameters()).device
    named = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    if smoke.active():  # count every image's forward + backward, compute on a sliver
        smoke.work().add_train(len(data), 0, smoke.input_side(net))
        data = data.subset(range(min(smoke.BATCH, len(data))))
    g = torch.Generator().manual_seed(seed)
    total = [torch.zeros_like(p) for p in params]
    for i in range(len(data)):
        logp = F.log_softmax(net(data.x[i:i + 1].to(dev)).float(), dim=1)[0]  # [classes]
        y = (int(data.y[i]) if labels == "true"
             else int(torch.multinomial(logp.detach().exp().cpu(), 1, generator=g)))
        for t, gr in zip(total, torch.autograd.grad(logp[y], params)):
            t += gr.pow(2)
    net.train(was_training)
    return {k: (t / len(data)).cpu() for (k, _), t in zip(named, total)}


def ewc_loss(model: nn.Module, fisher: dict[str, torch.Tensor], anchor: dict[str, torch.Tensor],
             weight: float) -> ExtraLoss:
    """Elastic Weight Consolidation: ``weight / 2 * sum_i F_i (w_i - w*_i)^2``.

    Each weight is tied to its value at the end of task A (``anchor``) by a spring as stiff as
    A's Fisher information says it mattered; unimportant weights stay free to learn B.

    Args:
        model: the network being trained on B. A :class:`TwoHeadNet` is unwrapped to its
            shared ``net`` (the names :func:`fisher_diagonal` gave on the A network).
        fisher: :func:`fisher_diagonal` of the A network on A's data.
        anchor: the A network's parameters, ``{name: tensor}`` (e.g. ``snapshot(net_a)``).
        weight: lambda, the penalty's strength (the forgetting experiment documents its choice).

    Example:
        >>> two = TwoHeadNet(net_a, 5)                                       # doctest: +SKIP
        >>> extra = ewc_loss(two, fisher_diagonal(net_a, a_train), snapshot(net_a), 100.0)  # doctest: +SKIP
        >>> fit(two, b_train, cfg, extra_loss=extra)                         # doctest: +SKIP
    """
    net = model.net if isinstance(model, TwoHeadNet) else model
    named = dict(net.named_parameters())
    missing = sorted(set(fisher) - set(named))
    if missing:
        raise KeyError(f"fisher names parameters the model lacks, e.g. {missing[0]!r}: compute it "
                       f"on the A network whose weights the model copied")
    # frozen parameters cannot move, so their penalty is constantly 0: skip them
    terms = [(named[k], fisher[k], anchor[k]) for k in fisher if named[k].requires_grad]

    def loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor):
        total = logits.new_zeros((), dtype=torch.float32)
        for p, f, a in terms:
            total = total + (f.to(p.device) * (p.float() - a.to(p.device)).pow(2)).sum()
        return weight / 2 * total

    return loss
