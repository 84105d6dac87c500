"""One ``fit()`` for every method, so comparisons are fair by construction.

Scratch training, feature extraction (a head on cached features), fine-tuning and its variants
all go through :func:`fit`: the same optimizer, schedule, batching and evaluation; only the
model, the data and the :class:`TrainConfig` differ.

Example:
    >>> net = create_backbone("small-cnn", num_classes=10)
    >>> history = fit(net, train, TrainConfig(epochs=5, progress=False))
    >>> evaluate(net, test)["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import smoke
from .augment import get_augment
from .data import ImageData


# ---------------------------------------------------------------------------------------------
# Device and seeding
# ---------------------------------------------------------------------------------------------
def get_device() -> torch.device:
    """CUDA if present, then Apple's MPS, else CPU. ``TLCOURSE_DEVICE`` overrides."""
    if os.environ.get("TLCOURSE_DEVICE"):
        return torch.device(os.environ["TLCOURSE_DEVICE"])
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices).

    On the CPU a run is bit-for-bit repeatable for the same seed, thread count and library
    versions; on CUDA, cuDNN's kernel choice and atomics make runs close but not identical.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# Config and history
# ---------------------------------------------------------------------------------------------
SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """How to train; stored with every result (``asdict``).

    Frozen, so a shared recipe (``HEAD_CONFIG``, ``FINETUNE_CONFIG`` ...) cannot be edited in
    place by one notebook cell and silently change every later experiment: make a variant with
    ``dataclasses.replace(cfg, lr=...)``. Unknown ``schedule`` or ``optimizer`` names raise.
    """

    epochs: int = 20  # passes over the training set
    batch_size: int = 32  # images per step (the last, smaller batch is kept)
    lr: float = 1e-3  # rate of the head; the body's stages get lr * lr_decay**depth_from_top
    lr_decay: float = 1.0  # < 1 gives discriminative rates (lower for early layers)
    weight_decay: float = 1e-4  # AdamW's decoupled decay
    optimizer: str = "adamw"  # "adamw" or "sgd" (momentum 0.9)
    schedule: str = "cosine"  # "cosine" decays to 0 over the run; "constant" keeps lr
    augment: str = "none"  # a name from tlcourse.augment (applied to training batches only)
    class_weights: bool = False  # weight the loss by inverse class frequency (imbalance)
    balanced_sampling: bool = False  # oversample rare classes so batches are balanced
    bn_eval: bool = False  # keep every BatchNorm in eval mode: tiny fine-tuning batches
    # otherwise overwrite the running statistics learnt on ImageNet (ch. 3 measures the cost)
    patience: int | None = None  # early stopping: epochs without val improvement (needs val)
    seed: int = 0  # seeds init-independent randomness: batch order, augmentation
    amp: bool = True  # mixed precision, used only on CUDA where it helps
    progress: bool = True  # tqdm bar over epochs; tests switch it off

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, not {self.schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, not {self.optimizer!r}")


@dataclass
class History:
    """What happened during :func:`fit`: one dict per epoch under stable keys."""

    epochs: list[dict] = field(default_factory=list)  # epoch, train_loss, train_acc, val_acc, lr
    seconds: float = 0.0  # wall time of the whole fit, including evaluation
    best_epoch: int | None = None  # epoch whose weights were kept (early stopping)
    stopped_early: bool = False
    config: dict = field(default_factory=dict)

    def series(self, key: str) -> list[float]:
        """One metric over epochs, e.g. ``history.series("val_acc")``."""
        return [e[key] for e in self.epochs if key in e]


ExtraLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
EpochHook = Callable[[nn.Module, dict], None]


# ---------------------------------------------------------------------------------------------
# The loop: phases are labelled
# ---------------------------------------------------------------------------------------------
def _batches(n: int, batch_size: int, g: torch.Generator, weights: torch.Tensor | None):
    order = (torch.multinomial(weights, n, replacement=True, generator=g) if weights is not None
             else torch.randperm(n, generator=g))
    return order.split(batch_size)


def _autocast(device: torch.device, amp: bool):
    return torch.autocast("cuda", dtype=torch.float16) if amp and device.type == "cuda" else nullcontext()


def train_one_epoch(model: nn.Module, data: ImageData, opt: torch.optim.Optimizer,
                    cfg: TrainConfig, g: torch.Generator, device: torch.device,
                    scaler: torch.amp.GradScaler | None = None,
                    loss_weight: torch.Tensor | None = None,
                    sample_weight: torch.Tensor | None = None,
                    extra_loss: ExtraLoss | None = None) -> dict:
    """One pass over ``data``; returns mean loss and accuracy on the (augmented) batches."""
    model.train()
    if cfg.bn_eval:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    augment = get_augment(cfg.augment)
    total_loss, correct, seen = 0.0, 0, 0
    batches = _batches(len(data), cfg.batch_size, g, sample_weight)
    if smoke.active():  # one optimiser step on a tiny batch (fit counted the rest)
        batches = (batches[0][:smoke.BATCH],)
    for idx in batches:
        x, y = data.x[idx].to(device), data.y[idx].to(device)  # no-ops when fit put data there
        x = augment(x, g)  # identity for "none"
        with _autocast(device, cfg.amp):  # forward
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y, weight=loss_weight)
            if extra_loss is not None:  # e.g. a distillation or EWC penalty
                loss = loss + extra_loss(model, x, y, logits)
        opt.zero_grad(set_to_none=True)  # backward
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        total_loss += loss.item() * len(y)  # log
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"train_loss": total_loss / seen, "train_acc": correct / seen}


@torch.inference_mode()
def predict(model: nn.Module, data: ImageData, batch_size: int = 256) -> torch.Tensor:
    """Logits for every image in ``data``: ``[N, num_classes]`` on the CPU."""
    device = next(model.parameters()).device
    model.eval()
    if smoke.active():  # count the pass; run BATCH images and repeat their rows
        smoke.work().add_infer(len(data), smoke.input_side(model))
        return smoke_rows(model(data.x[:smoke.BATCH].to(device)).float().cpu(), len(data))
    out = [model(data.x[i:i + batch_size].to(device, non_blocking=True)).float().cpu()
           for i in range(0, len(data), batch_size)]
    return torch.cat(out)


def smoke_rows(rows: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` rows made by repeating ``rows`` (smoke mode: right shape, meaningless values)."""
    return rows[torch.arange(n) % len(rows)]


def evaluate(model: nn.Module, data: ImageData, batch_size: int = 256) -> dict:
    """Accuracy, loss, per-class recall, its mean over classes and predictions on ``data``.

    A class with no image in ``data`` has recall NaN (undefined, not 0), and
    ``mean_recall`` (balanced accuracy) averages over the classes that are present.
    """
    logits = predict(model, data, batch_size)
    preds = logits.argmax(1)
    n_cls = logits.shape[1]
    hits = torch.bincount(data.y[preds == data.y], minlength=n_cls).float()
    totals = torch.bincount(data.y, minlength=n_cls).float()
    recall = torch.where(totals > 0, hits / totals.clamp(min=1), torch.nan)
    return {
        "accuracy": (preds == data.y).float().mean().item(),
        "loss": F.cross_entropy(logits, data.y).item(),
        "per_class_recall": recall.tolist(),
        "mean_recall": recall.nanmean().item(),
        "preds": preds,
    }


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if hasattr(model, "param_groups"):
        groups = model.param_groups(cfg.lr, cfg.lr_decay)
    else:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.lr}]
    for gr in groups:
        gr["initial_lr"] = gr["lr"]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)  # validated


def fit(model: nn.Module, train: ImageData, cfg: TrainConfig | None = None,
        val: ImageData | None = None, extra_loss: ExtraLoss | None = None,
        on_epoch_end: EpochHook | None = None) -> History:
    """Train ``model`` on ``train``; the library places model and data on the device.

    Args:
        model: any module mapping a batch of ``train.x`` to logits (a TransferNet, or a head on
            cached features). Only parameters with ``requires_grad`` are trained.
        train: training images (or features) and labels.
        cfg: the recipe; defaults to ``TrainConfig()``.
        val: evaluated after every epoch (``val_acc``); with ``cfg.patience`` it drives early
            stopping and the best epoch's weights are restored at the end.
        extra_loss: ``f(model, x, y, logits) -> scalar`` added to the cross-entropy (for
            regularisers such as Learning without Forgetting or EWC).
        on_epoch_end: ``f(model, row)`` called after each epoch; it may add keys to ``row``
            (e.g. how far the weights moved), which then appear in the history.

    Returns:
        The per-epoch :class:`History`, with wall time.
    """
    cfg = cfg or TrainConfig()
    if cfg.patience is not None and val is None:
        raise ValueError("early stopping (patience) needs validation data: pass val=...")
    start = time.perf_counter()
    device = get_device()
    model.to(device)
    g = torch.Generator().manual_seed(cfg.seed)
    opt = _optimizer(model, cfg)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp and device.type == "cuda" else None
    n_cls = int(train.y.max()) + 1 if len(train.classes) == 0 else len(train.classes)
    counts = torch.bincount(train.y, minlength=n_cls).float()
    loss_weight = (counts.sum() / (n_cls * counts.clamp(min=1))).to(device) if cfg.class_weights else None
    sample_weight = (1.0 / counts.clamp(min=1))[train.y] if cfg.balanced_sampling else None  # CPU:
    # the batch order is drawn with a CPU generator, so runs match across devices
    if device.type == "cuda":  # the course's data sets are small: copy once, not every batch
        train = ImageData(train.x.to(device, non_blocking=True), train.y.to(device), train.classes,
                          train.name, train.paths)

    history = History(config=asdict(cfg))
    best_acc, best_state, bad_epochs = -1.0, None, 0
    epochs = cfg.epochs
    if smoke.active():  # count the full run's work, then do one step of it
        smoke.work().add_train(cfg.epochs * len(train), cfg.epochs * -(-len(train) // cfg.batch_size),
                               smoke.input_side(model))
        epochs = 1
    for epoch in tqdm(range(1, epochs + 1), desc="fit", disable=not cfg.progress, leave=False):
        if cfg.schedule == "cosine":  # set the learning rate
            scale = 0.5 * (1 + np.cos(np.pi * (epoch - 1) / cfg.epochs))
            for gr in opt.param_groups:
                gr["lr"] = gr["initial_lr"] * scale
        row = {"epoch": epoch, "lr": opt.param_groups[0]["lr"]}
        row |= train_one_epoch(model, train, opt, cfg, g, device, scaler, loss_weight,
                               sample_weight, extra_loss)
        if val is not None:  # evaluate
            row["val_acc"] = evaluate(model, val)["accuracy"]
        if on_epoch_end is not None:
            on_epoch_end(model, row)
        history.epochs.append(row)
        if cfg.patience is not None:  # stop?
            if row["val_acc"] > best_acc:
                best_acc, bad_epochs, history.best_epoch = row["val_acc"], 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= cfg.patience:
                    history.stopped_early = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history
