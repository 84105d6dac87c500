"""Plots for domain shift: example images, confusion matrices, k-shot adaptation curves,
accuracy vs corruption severity and the negative-transfer gap.

Example:
    >>> res = run_experiment("domain-shift")           # doctest: +SKIP
    >>> shift.adaptation_curves(res.records)            # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..data import ImageData
from ..stats import band
from .transfer import _line, _mean_std


def examples(rows: dict[str, ImageData], max_cols: int = 8) -> Figure:
    """One row of images per named dataset (e.g. {"photo": ..., "clipart": ...})."""
    fig, axes = plt.subplots(len(rows), max_cols, figsize=(1.4 * max_cols, 1.6 * len(rows)),
                             squeeze=False)
    for i, (name, data) in enumerate(rows.items()):
        for j, ax in enumerate(axes[i]):
            ax.axis("off")
            if j < len(data):
                img = data.x[j].permute(1, 2, 0).squeeze(-1).numpy()
                ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
                ax.set_title(f"{name}: {data.classes[int(data.y[j])]}" if j == 0
                             else data.classes[int(data.y[j])], fontsize=7)
    fig.tight_layout()
    return fig


def confusion(y: torch.Tensor, preds: dict[str, torch.Tensor], classes: list[str]) -> Figure:
    """Row-normalised confusion matrices (true class x predicted class), one per model."""
    fig, axes = plt.subplots(1, len(preds), figsize=(4.6 * len(preds), 4), squeeze=False)
    n = len(classes)
    for ax, (name, p) in zip(axes[0], preds.items()):
        cm = torch.zeros(n, n)
        cm.index_put_((y, p), torch.ones(len(y)), accumulate=True)
        cm = cm / cm.sum(1, keepdim=True).clamp(min=1)
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{cm[i, j]:.0%}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), classes, fontsize=8)
        ax.set(xlabel="predicted", ylabel="true", title=f"{name}: {(p == y).float().mean():.0%} correct")
    fig.tight_layout()
    return fig


def adaptation_curves(records: list[dict], source: str, target: str) -> Figure:
    """Target accuracy vs labelled target images per class, per adaptation method."""
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = [r for r in records if r["source"] == source and r["target"] == target
            and r["study"] == "adaptation"]
    k0 = [r["test_accuracy"] for r in rows if r["method"] == "source-only" and r["k"] == 0]
    for method in ("linear-probe", "fine-tune", "lp-ft"):
        xs, m, s = _mean_std(rows, "k", "test_accuracy", method=method)
        _line(ax, [0, *xs], np.r_[np.mean(k0), m], np.r_[band(k0), s], method)
    bn = [r["test_accuracy"] for r in rows if r["method"] == "bn-reestimate"]
    if bn:
        ax.scatter([0], [np.mean(bn)], marker="*", s=150, color="k", zorder=3,
                   label="BN re-estimation (no labels)")
    in_domain = [r["test_accuracy"] for r in records
                 if r["source"] == target and r["target"] == target and r["study"] == "cross-domain"]
    if in_domain:
        ax.axhline(np.mean(in_domain), color="gray", ls="--", label=f"trained on {target} itself")
    ax.set(xlabel=f"labelled {target} images per class (k)", ylabel=f"accuracy on {target} (test)",
           title=f"Adapting a {source} model to {target}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def severity_curves(records: list[dict]) -> Figure:
    """Accuracy vs corruption severity (0 = clean), averaged over corruptions, per method; and
    per corruption for the scratch model."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    for method in dict.fromkeys(r["method"] for r in records if r["method"] != "bn-reestimate"):
        rows = [r for r in records if r["method"] == method]
        xs, m, _ = _mean_std(rows, "severity", "test_accuracy")
        ax1.plot(xs, m, marker="o", label=method)
    ax1.set(xlabel="severity (0 = clean)", ylabel="accuracy (mean over corruptions)",
            title="Robustness to corruptions (MNIST)")
    ax1.legend(fontsize=8)
    for c in dict.fromkeys(r["corruption"] for r in records if r["corruption"] != "clean"):
        rows = [r for r in records if r["method"] == "scratch" and r["corruption"] in (c, "clean")]
        xs, m, _ = _mean_std(rows, "severity", "test_accuracy")
        ax2.plot(xs, m, marker="o", label=c)
    ax2.set(xlabel="severity (0 = clean)", ylabel="accuracy", title="Scratch model, per corruption")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def negative_transfer(records: list[dict]) -> Figure:
    """Accuracy of each start minus scratch, per seed (below zero = negative transfer)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    methods = [m for m in dict.fromkeys(r["method"] for r in records) if m != "small-cnn-scratch"]
    for i, m in enumerate(methods):
        gaps = [r["gap_vs_scratch"] for r in records if r["method"] == m]
        ax.bar(i, np.mean(gaps), yerr=band(gaps), capsize=4, alpha=0.7)
        ax.scatter([i] * len(gaps), gaps, color="k", s=12, zorder=3)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(methods)), methods, rotation=15)
    ax.set(ylabel="accuracy minus scratch (points)", title="Negative transfer: gap to a scratch baseline")
    fig.tight_layout()
    return fig


def corruption_examples(examples: dict[tuple[str, int], ImageData],
                        names: tuple[str, ...] | None = None) -> Figure:
    """One row per corruption: the same test image at severities 1-5."""
    names = names or tuple(dict.fromkeys(c for c, _ in examples))
    fig, axes = plt.subplots(len(names), 5, figsize=(7, 1.5 * len(names)), squeeze=False)
    for i, c in enumerate(names):
        for s, ax in enumerate(axes[i], start=1):
            ax.imshow(examples[(c, s)].x[0].permute(1, 2, 0).squeeze(-1), cmap="gray")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"severity {s}", fontsize=7)
        axes[i][0].set_ylabel(c, fontsize=8)
    fig.tight_layout()
    return fig
