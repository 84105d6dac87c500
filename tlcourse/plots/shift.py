"""Plots for domain shift: example images, confusion matrices, k-shot and AdaBN adaptation,
accuracy and robustness (drop from own clean accuracy) vs corruption severity, and the
negative-transfer gap.

Example:
    >>> res = run_experiment("domain-shift")           # doctest: +SKIP
    >>> shift.adaptation_curves(res.records)            # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..corruptions import drop_from_clean
from ..data import ImageData
from ..experiments.domain_shift import verdict
from ..experiments.negative_transfer import NEGATIVE_ARMS, arms_that_fit, worst_fit
from ..stats import interval
from .transfer import _line


def _per_seed(rows: list[dict], metric: str) -> dict[int, float]:
    """Seed -> mean ``metric`` over ``rows`` (e.g. over corruptions at one severity)."""
    out: dict[int, list[float]] = {}
    for r in rows:
        out.setdefault(r["seed"], []).append(r[metric])
    return {s: float(np.mean(v)) for s, v in out.items()}


def _half(per_seed: dict[int, float]) -> float:
    """Half-width of the 95 % interval of one arm (stats.interval); 0 for one seed: no bar."""
    m, _, high = interval(per_seed)
    return 0.0 if np.isnan(high) else high - m


def _curve(rows: list[dict], x: str, metric: str) -> tuple[list, np.ndarray, np.ndarray]:
    """Per value of ``x``: the mean over seeds and its 95 % interval's half-width."""
    xs = sorted({r[x] for r in rows})
    per = [_per_seed([r for r in rows if r[x] == v], metric) for v in xs]
    return xs, np.array([np.mean(list(p.values())) for p in per]), np.array([_half(p) for p in per])


def _seeds(records: list[dict]) -> str:
    n = len({r["seed"] for r in records})
    return "1 seed: no interval" if n == 1 else f"mean and 95 % interval over {n} seeds"


_CLASSES = {"photo": 6, "clipart": 6, "mnist": 10, "digits": 10}  # classes per target dataset


def _chance(ax, n_classes: int | None) -> None:
    """A dotted line at chance, 1 / classes (the balanced-accuracy floor too)."""
    if n_classes:
        ax.axhline(1 / n_classes, color="red", ls=":", lw=1, label=f"chance (1/{n_classes})")


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
        counts, cm = cm, cm / cm.sum(1, keepdim=True).clamp(min=1)
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{cm[i, j]:.0%}\n({int(counts[i, j])})", ha="center", va="center",
                        fontsize=6, color="white" if cm[i, j] > 0.6 else "black")
        ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), classes, fontsize=8)
        balanced = cm.diagonal()[cm.sum(1) > 0].mean()  # mean per-class recall
        ax.set(xlabel="predicted", ylabel="true",
               title=f"{name}: {(p == y).float().mean():.0%} correct, balanced {balanced:.0%}")
    fig.tight_layout()
    return fig


def adaptation_curves(records: list[dict], source: str, target: str,
                      metric: str = "test_accuracy") -> Figure:
    """Target accuracy vs labelled target images per class, per adaptation method; at k = 0
    the label-free AdaBN variants (and, where measured, their source-statistics baseline)."""
    fig, ax = plt.subplots(figsize=(7, 5.2))
    rows = [r for r in records if r.get("source") == source and r["target"] == target
            and r["study"] == "adaptation"]
    k0 = _per_seed([r for r in rows if r["method"] == "source-only" and r["k"] == 0], metric)
    for method in ("linear-probe", "fine-tune", "lp-ft"):
        xs, m, s = _curve([r for r in rows if r["method"] == method], "k", metric)
        _line(ax, [0, *xs], np.r_[np.mean(list(k0.values())), m], np.r_[_half(k0), s], method)
    for match, marker, label in (
            ({"method": "source-bn"}, "o", f"head on {source}-statistics features (AdaBN's start)"),
            ({"method": "adabn", "bn_stats": "target-test"}, "*",
             "AdaBN, test-set statistics (transductive)"),
            ({"method": "adabn", "bn_stats": "target-pool"}, "D", "AdaBN, unlabelled pool statistics")):
        v = _per_seed([r for r in rows if all(r.get(k) == x for k, x in match.items())], metric)
        if v:
            ax.errorbar([0], [np.mean(list(v.values()))], yerr=[_half(v)], fmt=marker, ms=11 if marker == "*" else 7,
                        color="k", mfc="none" if marker == "o" else "k", capsize=3, zorder=3, label=label)
    in_domain = [r[metric] for r in records
                 if r.get("source") == target and r["target"] == target and r["study"] == "cross-domain"]
    if in_domain:
        ax.axhline(np.mean(in_domain), color="gray", ls="--", label=f"trained on {target} itself")
    _chance(ax, _CLASSES.get(target))
    what = "balanced accuracy" if metric == "balanced_accuracy" else "accuracy"
    ax.set(xlabel=f"labelled {target} images per class (k)", ylabel=f"{what} on {target} (test)",
           title=f"Adapting a {source} model to {target}\n({_seeds(rows)})", ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)  # below
    fig.tight_layout()
    return fig


def severity_curves(records: list[dict]) -> Figure:
    """Per model, mean over corruptions: accuracy vs severity (0 = clean), and the drop from
    the model's own clean accuracy (robustness); then the scratch model's drop per corruption."""
    records = drop_from_clean(records) if "drop_from_clean" not in records[0] else records
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for method in dict.fromkeys(r["method"] for r in records):
        rows = [r for r in records if r["method"] == method]
        style = {"ls": "--", "color": "k"} if method == "adabn" else {}
        label = "AdaBN on scratch (pool statistics)" if method == "adabn" else method
        for ax, metric in zip(axes, ("test_accuracy", "drop_from_clean")):
            xs, m, h = _curve(rows, "severity", metric)
            f = 100 if metric == "drop_from_clean" else 1
            _line(ax, xs, f * m, f * h, label, **style)
    chance = {r["chance"] for r in records if r.get("chance")}
    _chance(axes[0], round(1 / chance.pop()) if len(chance) == 1 else None)
    axes[0].set(xlabel="severity (0 = clean)", ylabel="accuracy (mean over corruptions)",
                title=f"Accuracy under corruption (MNIST)\nbands: {_seeds(records)}", ylim=(0, 1))
    axes[1].set(xlabel="severity (0 = clean)", ylabel="points lost vs its own clean accuracy",
                title=f"Robustness: drop from each model's clean accuracy\nbands: {_seeds(records)}")
    for c in dict.fromkeys(r["corruption"] for r in records if r["corruption"] != "clean"):
        rows = [r for r in records if r["method"] == "scratch" and r["corruption"] in (c, "clean")]
        xs, m, h = _curve(rows, "severity", "drop_from_clean")
        _line(axes[2], xs, 100 * m, 100 * h, c)
    axes[2].set(xlabel="severity (0 = clean)", ylabel="points lost",
                title=f"Scratch model, per corruption\nbands: {_seeds(records)}")
    for ax in axes[1:]:  # a drop lies in [-100, 100] points; 2-seed bands reach far beyond
        ax.set_ylim(max(-100, ax.get_ylim()[0]), min(100, ax.get_ylim()[1]))
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def negative_transfer(records: list[dict]) -> Figure:
    """Accuracy of each pretrained start minus the same seed's scratch model, in points (bars:
    the mean paired gap with the judge's 95 % interval, which counts the seeds and the fixed
    test digits; dots: seeds). Below zero, the start did worse than scratch."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    methods = [m for m in dict.fromkeys(r["method"] for r in records) if m != "small-cnn-scratch"]
    for i, m in enumerate(methods):
        gaps = [100 * r["gap_vs_scratch"] for r in records if r["method"] == m]
        v = verdict(records, {"method": m}, {"method": "small-cnn-scratch"})
        err = [[0], [0]] if np.isnan(v.low) else [[100 * (v.gap - v.low)], [100 * (v.high - v.gap)]]
        fit = m in arms_that_fit(records)
        ax.bar(i, 100 * v.gap, yerr=err, capsize=4, alpha=0.7 if fit else 0.3,
               hatch=None if fit else "//")
        ax.scatter([i] * len(gaps), gaps, color="k", s=12, zorder=3)
    ax.axhline(0, color="k", lw=0.8)
    names = [NEGATIVE_ARMS.get(m, m) + ("" if m in arms_that_fit(records) else
             f"\ndid not fit (train {100 * worst_fit(records, m):.0f} %): capacity gap")
             for m in methods]
    ax.set_xticks(range(len(methods)), names, fontsize=8)
    steps = sorted({r["steps"] for r in records if "steps" in r})
    same = f" (same {steps[0]} steps, same input)" if len(steps) == 1 else ""
    ax.set(ylabel="accuracy minus scratch (points)",
           title=f"Pretrained start vs scratch{same}\n({_seeds(records)})")
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
