"""Plots of fine-tuning: methods vs labels, the learning-rate sweep, early stopping.

Example:
    >>> fig = methods_vs_labels(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..diagnostics import early_stop_epoch
from ..stats import by_seed, interval


def _ci(records: list[dict], metric: str) -> tuple[float, float]:
    """Mean and the 95 % interval's half-width over seeds (:func:`tlcourse.stats.interval`; 0
    with one seed: no bar drawn)."""
    mean, low, _ = interval(by_seed(records, metric))
    return mean, 0.0 if np.isnan(low) else mean - low


def _seeds_said(n: int) -> str:
    return "1 seed: no interval" if n == 1 else f"{n} seeds, 95 % interval"


def methods_vs_labels(records: list[dict]) -> plt.Figure:
    """Accuracy vs labels per class for each method (95 % interval over seeds); with a single
    number of labels, bars of accuracy and balanced accuracy. Wall time and trainable
    parameters beside."""
    names = list(dict.fromkeys(r["method"] for r in records))
    ks = sorted({r["labels_per_class"] for r in records})
    n_seeds = len({r["seed"] for r in records})
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))

    def stats(m: str, k: int, metric: str) -> tuple[float, float]:
        return _ci([r for r in records if r["method"] == m and r["labels_per_class"] == k], metric)

    if len(ks) == 1:
        y = np.arange(len(names))
        for dy, metric, label in ((-0.2, "test_accuracy", "accuracy"),
                                  (0.2, "balanced_accuracy", "balanced accuracy")):
            mean, sd = zip(*(stats(m, ks[0], metric) for m in names))
            axes[0].barh(y + dy, mean, 0.4, xerr=sd, label=label, capsize=3)
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        axes[0].set(xlim=(0, 1), xlabel="test accuracy",
                    title=f"{ks[0]} labels per class ({_seeds_said(n_seeds)})")
        axes[0].legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    else:
        for m in names:
            mean, sd = (np.array(v) for v in zip(*(stats(m, k, "test_accuracy") for k in ks)))
            axes[0].plot(ks, mean, marker="o", label=m)
            axes[0].fill_between(ks, mean - sd, mean + sd, alpha=0.15)
        axes[0].set(xlabel="labels per class", ylabel="test accuracy", ylim=(0, 1), xticks=ks,
                    title=f"Accuracy vs labels ({_seeds_said(n_seeds)})")
        axes[0].legend(fontsize=8)
    kmax = ks[-1]
    top = [r for r in records if r["labels_per_class"] == kmax]
    axes[1].barh(names, [np.mean([r["seconds"] for r in top if r["method"] == m]) for m in names])
    axes[1].set(xlabel="seconds", title=f"Wall time ({kmax} labels/class)")
    axes[2].barh(names, [next(r["trainable_params"] for r in top if r["method"] == m) for m in names],
                 color="tab:green")
    axes[2].set(xscale="log", xlabel="trainable parameters (log)", title="Trainable parameters")
    for ax in axes[1:]:
        ax.invert_yaxis()  # the same order as the accuracy panel
    fig.tight_layout()
    return fig


def lr_sweep(records: list[dict], scratch_lr: float | None = None) -> plt.Figure:
    """Test accuracy and weight distance vs learning rate, with the probe it started from."""
    lrs = sorted({r["lr"] for r in records})
    acc, sd = (np.array(v) for v in zip(*(_ci([r for r in records if r["lr"] == lr],
                                              "test_accuracy") for lr in lrs)))
    dist = np.array([np.mean([r["weight_distance"] for r in records if r["lr"] == lr]) for lr in lrs])
    probe = np.mean([r["probe_accuracy"] for r in records])
    n_seeds = len({r["seed"] for r in records})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    a1.plot(lrs, acc, marker="o",
            label=f"after full fine-tuning ({_seeds_said(n_seeds)})")
    a1.fill_between(lrs, acc - sd, acc + sd, alpha=0.15)
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
    """Validation accuracy per epoch for each rate, the early-stopping epoch marked, and the test
    accuracy of the epoch kept (dot) and of the last epoch (cross)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    first = min(seed for _, seed in curves)  # one seed's curves: more would be unreadable
    for (lr, seed), epochs in curves.items():
        if seed != first:
            continue
        ep = [e["epoch"] for e in epochs]
        line, = ax.plot(ep, [e["val_acc"] for e in epochs], marker=".", label=f"val, lr {lr:g}")
        stop = early_stop_epoch([e["val_acc"] for e in epochs], patience)
        ax.axvline(stop, color=line.get_color(), ls=":", alpha=0.7)
        for e in epochs:
            if "test_acc" in e:
                ax.plot(e["epoch"], e["test_acc"], ls="none", color=line.get_color(),
                        marker="o" if e["epoch"] == stop else "x", markersize=8)
    ax.plot([], [], "ko", label="test, epoch kept")
    ax.plot([], [], "kx", label="test, last epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1),
           title=f"Early stopping, seed {first} (dotted: epoch kept with patience {patience})")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
