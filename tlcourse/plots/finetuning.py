"""Plots of fine-tuning: methods vs labels, the learning-rate sweep, early stopping.

Example:
    >>> fig = methods_vs_labels(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..diagnostics import early_stop_epoch
from ..stats import band


def methods_vs_labels(records: list[dict]) -> plt.Figure:
    """Accuracy vs labels per class for each method; wall time and trainable parameters beside."""
    names = list(dict.fromkeys(r["method"] for r in records))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for m in names:
        ks = sorted({r["labels_per_class"] for r in records if r["method"] == m})
        acc = [[r["test_accuracy"] for r in records if r["method"] == m and r["labels_per_class"] == k]
               for k in ks]
        mean, std = np.array([np.mean(a) for a in acc]), np.array([band(a) for a in acc])
        axes[0].plot(ks, mean, marker="o", label=m)
        axes[0].fill_between(ks, mean - std, mean + std, alpha=0.15)
    axes[0].set(xlabel="labels per class", ylabel="test accuracy", title="Accuracy vs labels",
                ylim=(0, 1), xticks=sorted({r["labels_per_class"] for r in records}))
    axes[0].legend(fontsize=8)
    kmax = max(r["labels_per_class"] for r in records)
    top = [r for r in records if r["labels_per_class"] == kmax]
    axes[1].barh(names, [np.mean([r["seconds"] for r in top if r["method"] == m]) for m in names])
    axes[1].set(xlabel="seconds", title=f"Wall time ({kmax} labels/class)")
    axes[2].barh(names, [next(r["trainable_params"] for r in top if r["method"] == m) for m in names],
                 color="tab:green")
    axes[2].set(xscale="log", xlabel="trainable parameters (log)", title="Trainable parameters")
    fig.tight_layout()
    return fig


def lr_sweep(records: list[dict], scratch_lr: float | None = None) -> plt.Figure:
    """Test accuracy and weight distance vs learning rate, with the probe it started from."""
    lrs = sorted({r["lr"] for r in records})
    acc = np.array([np.mean([r["test_accuracy"] for r in records if r["lr"] == lr]) for lr in lrs])
    dist = np.array([np.mean([r["weight_distance"] for r in records if r["lr"] == lr]) for lr in lrs])
    probe = np.mean([r["probe_accuracy"] for r in records])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    a1.plot(lrs, acc, marker="o", label="after full fine-tuning")
    a1.axhline(probe, color="k", ls="--", label="linear probe (start)")
    if scratch_lr:
        a1.axvline(scratch_lr, color="tab:red", ls=":", label="from-scratch rate")
        a1.axvspan(scratch_lr / 100, scratch_lr / 10, color="tab:green", alpha=0.1,
                   label="'10-100x lower' rule")
    a1.set(xscale="log", xlabel="learning rate", ylabel="test accuracy", ylim=(0, 1),
           title="Fine-tuning rate vs accuracy")
    a1.legend(fontsize=8)
    a2.plot(lrs, dist, marker="o", color="tab:purple")
    a2.set(xscale="log", yscale="log", xlabel="learning rate",
           ylabel="||w - w_pretrained|| / ||w_pretrained||", title="How far the weights moved")
    fig.tight_layout()
    return fig


def early_stopping(curves: dict, patience: int) -> plt.Figure:
    """Validation and test accuracy per epoch for each rate, the early-stopping epoch marked."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (lr, seed), epochs in curves.items():
        ep = [e["epoch"] for e in epochs]
        line, = ax.plot(ep, [e["val_acc"] for e in epochs], marker="o", label=f"val, lr {lr:g}")
        ax.plot(ep, [e["test_acc"] for e in epochs], ls="--", color=line.get_color(),
                label=f"test, lr {lr:g}")
        stop = early_stop_epoch([e["val_acc"] for e in epochs], patience)
        ax.axvline(stop, color=line.get_color(), ls=":", alpha=0.7)
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1),
           title=f"Early stopping (dotted: epoch kept with patience {patience})")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
