"""Plots of results tables and images: learning curves, wall time, image grids, mistakes.

Every function takes the records of :class:`~tlcourse.experiments.Results` (or images) and
returns the matplotlib ``Figure`` so a notebook cell is one line.

Example:
    >>> fig = learning_curve(res.records, dataset="photo")  # doctest: +SKIP
"""

from __future__ import annotations

import statistics
import textwrap
from collections import defaultdict

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from ..data import ImageData
from ..stats import interval

# One colour per method, stable across every chapter's plots.
METHOD_COLORS = {
    "imagenet-frozen": "tab:blue", "imagenet-finetuned": "tab:green",
    "lite0-scratch": "tab:red", "small-cnn-scratch": "tab:orange", "raw-pixels": "tab:gray",
}
METHOD_LABELS = {
    "imagenet-frozen": "ImageNet Lite0, frozen + linear head",
    "imagenet-finetuned": "ImageNet Lite0, fine-tuned (head first, top stages)",
    "lite0-scratch": "Lite0 from scratch",
    "small-cnn-scratch": "small CNN from scratch",
    "raw-pixels": "linear model on raw pixels",
}


def _label(method: str) -> str:
    if method.startswith("imagenet-frozen-"):
        return f"ImageNet Lite0, frozen, input {method.rsplit('-', 1)[1]}"
    return METHOD_LABELS.get(method, method)


def _grouped(records: list[dict], dataset: str, key: str, metric: str) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["dataset"] == dataset:
            out[r["method"]][r[key]].append(r[metric])
    return out


def _floors(records: list[dict], dataset: str) -> tuple[float | None, float | None]:
    """Chance (1 / classes) and the majority-class share of the test set, where records say."""
    rs = [r for r in records if r["dataset"] == dataset]
    n_cls = {r["n_classes"] for r in rs if "n_classes" in r}
    shares = [r["majority_share"] for r in rs if "majority_share" in r]
    return (1 / n_cls.pop() if len(n_cls) == 1 else None,
            statistics.fmean(shares) if shares else None)


def _draw_floors(ax: plt.Axes, chance: float | None, majority: float | None) -> None:
    if chance is not None:
        ax.axhline(chance, ls=":", color="k", lw=1, label=f"chance ({chance:.0%})")
    if majority is not None and (chance is None or majority > chance + 1e-9):
        ax.axhline(majority, ls="-.", color="k", lw=1, alpha=0.6,
                   label=f"majority class: always guess it ({majority:.0%})")


_METRIC_LABELS = {"test_accuracy": "test accuracy",
                  "balanced_accuracy": "balanced accuracy (mean recall per class)"}


def _ci(values: list[float]) -> tuple[float, float, float]:
    """Mean and the judge's 95 % interval (:func:`tlcourse.stats.interval`); with one seed the
    bounds are the mean itself: nothing drawn."""
    m, lo, hi = interval(values) if len(values) > 1 else (statistics.fmean(values), np.nan, np.nan)
    return m, (m if np.isnan(lo) else lo), (m if np.isnan(hi) else hi)


def _seeds(n: int, what: str = "band") -> str:
    return "1 seed" if n == 1 else f"mean of {n} seeds, {what} = 95 % interval"


def learning_curve(records: list[dict], dataset: str, metric: str = "test_accuracy",
                   ax: plt.Axes | None = None, chance: float | None = None) -> plt.Figure:
    """Test accuracy vs labels per class, one line per method, a band of the 95 % interval.

    Two floors are drawn from the records (``n_classes``, ``majority_share``): chance, and the
    score of always answering the test set's largest class. Balanced accuracy has no majority
    floor - a model that always answers one class scores chance on it.

    Example:
        >>> fig = learning_curve(res.records, "photo", metric="balanced_accuracy")  # doctest: +SKIP
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for method, by_k in _grouped(records, dataset, "labels_per_class", metric).items():
        ks = sorted(by_k)
        mean, lo, hi = np.array([_ci(by_k[k]) for k in ks]).T
        color = METHOD_COLORS.get(method)
        ax.plot(ks, mean, "o-", color=color, label=_label(method), lw=2)
        ax.fill_between(ks, lo, hi, color=color, alpha=0.15)
    auto_chance, majority = _floors(records, dataset)
    _draw_floors(ax, chance if chance is not None else auto_chance,
                 majority if metric == "test_accuracy" else None)
    ax.set_xscale("log")
    ax.minorticks_off()  # label only the label counts measured, not 2x10^0 ...
    ax.set_xticks(sorted({r["labels_per_class"] for r in records if r["dataset"] == dataset}))
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
    n_seeds = len({r["seed"] for r in records if r["dataset"] == dataset})
    ax.set_title(f"{dataset}: {_METRIC_LABELS.get(metric, metric)} vs labels\n"
                 f"({_seeds(n_seeds)})", fontsize=10)
    ax.grid(alpha=0.3)
    # Below the axes: inside, it covered the pretrained curves at 1-2 labels per class.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()  # makes room for the legend below the axes in a saved figure too
    return fig


def train_test_curves(records: list[dict], dataset: str = "photo") -> plt.Figure:
    """Train vs test accuracy of each model as it trained, one panel per method.

    Reads the ``curve`` that records carry (see ``scratch_vs_transfer``): the model scored on
    its own training images and on the test images at a few epochs. Mean over seeds, band the
    95 % interval. A train line at 100 % over a low test line is overfitting; a train line
    below 100 % means the model was still undertrained.

    Example:
        >>> fig = train_test_curves(res.records, "photo")  # doctest: +SKIP
    """
    rs = [r for r in records if r["dataset"] == dataset and r.get("curve")]
    if not rs:
        raise ValueError(f"no record of {dataset!r} carries a train/test curve")
    by_method: dict[str, list[dict]] = defaultdict(list)
    for r in rs:
        by_method[r["method"]].append(r)
    chance, majority = _floors(records, dataset)
    fig, axes = plt.subplots(1, len(by_method), figsize=(max(5.2 * len(by_method), 7.5), 4.4),
                             sharey=True, squeeze=False)  # one panel (quick profile): still 7.5 in
    for ax, (method, runs) in zip(axes[0], by_method.items()):
        color = METHOD_COLORS.get(method)
        for key, style in (("train_accuracy", "--"), ("test_accuracy", "-")):
            by_epoch: dict[int, list[float]] = defaultdict(list)
            for r in runs:
                for p in r["curve"]:
                    by_epoch[p["epoch"]].append(p[key])
            ep = sorted(by_epoch)
            mean, lo, hi = np.array([_ci(by_epoch[e]) for e in ep]).T
            ax.plot(ep, mean, "o" + style, color=color, lw=2)
            ax.fill_between(ep, lo, hi, color=color, alpha=0.15)
        _draw_floors(ax, chance, majority)
        n = f"{runs[0]['n_train']} training images, " if "n_train" in runs[0] else ""
        ax.set_title(f"{_label(method)}\n{n}{runs[0]['curve'][-1]['steps']} optimiser steps",
                     fontsize=10)
        ax.set_xlabel("epoch (one pass over the training images)")
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("accuracy")
    # One legend under the panels, in gray: the line style says train or test, the panel says who.
    handles = [Line2D([], [], color="gray", ls="--", marker="o", label="on its own training images"),
               Line2D([], [], color="gray", ls="-", marker="o", label="on the test images"),
               *(ln for ln in axes[0, 0].lines if ln.get_label().startswith(("chance", "majority")))]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    k = rs[0]["labels_per_class"]
    n_seeds = len({r["seed"] for r in rs})
    fig.suptitle(f"{dataset}, {k} labels per class: from scratch, train vs test accuracy while "
                 f"training\n({_seeds(n_seeds)})", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def method_bars(records: list[dict], dataset: str, metric: str = "test_accuracy",
                ax: plt.Axes | None = None, log: bool = False, xlabel: str | None = None) -> plt.Figure:
    """Grouped horizontal bars: one group per labels-per-class, one bar per method (mean, error
    bar the 95 % interval; none with one seed)."""
    grouped = _grouped(records, dataset, "labels_per_class", metric)
    ks = sorted({k for by_k in grouped.values() for k in by_k})
    methods = list(grouped)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(
        figsize=(10, 0.3 * len(ks) * len(methods) + 1.2))
    height = 0.8 / len(methods)
    for i, method in enumerate(methods):
        ys = [j + i * height for j, k in enumerate(ks) if k in grouped[method]]
        vals = [grouped[method][k] for k in ks if k in grouped[method]]
        ci = np.array([_ci(v) for v in vals])  # [n, 3]: mean, low, high
        low = np.maximum(ci[:, 1], ci[:, 0] / 10) if log else ci[:, 1]  # a log axis stays > 0
        color = METHOD_COLORS.get(method, "tab:cyan" if method.startswith("imagenet-frozen-")
                                  else None)  # the probe at another input size: its own colour
        ax.barh(ys, ci[:, 0], height * 0.9, xerr=[ci[:, 0] - low, ci[:, 2] - ci[:, 0]],
                color=color, label=_label(method))
        for y, (m, _, hi) in zip(ys, ci):  # beyond the error bar's end, so they never collide
            ax.text(max(m, hi), y, f"  {m:.0%}" if metric == "test_accuracy" else f"  {m:.1f}",
                    va="center", fontsize=7)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(ks))], [f"{k}/class" for k in ks])
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or ("test accuracy" if metric == "test_accuracy" else metric))
    if metric == "test_accuracy":
        ax.set_xlim(0, 1)
        chance, majority = _floors(records, dataset)  # vertical: accuracy is on the x axis
        if chance is not None:
            ax.axvline(chance, ls=":", color="k", lw=1, label=f"chance ({chance:.0%})")
        if majority is not None and (chance is None or majority > chance + 1e-9):
            ax.axvline(majority, ls="-.", color="k", lw=1, alpha=0.6,
                       label=f"majority class ({majority:.0%})")
    n_seeds = len({r["seed"] for r in records if r["dataset"] == dataset})
    if log:  # room on the right for the value beyond the longest bar
        ax.set_xlim(right=ax.get_xlim()[1] * 3)
    what = xlabel or _METRIC_LABELS.get(metric, metric)
    ax.set_title(f"{dataset}: {what} by method\n({_seeds(n_seeds, 'bars')})",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def wall_time(records: list[dict], dataset: str, ax: plt.Axes | None = None) -> plt.Figure:
    """Training wall time per method (seconds, log scale), at each labels-per-class setting."""
    return method_bars(records, dataset, metric="seconds", ax=ax, log=True,
                       xlabel="training wall time, seconds (log scale)")


def _show(ax: plt.Axes, img: torch.Tensor) -> None:
    img = img.float() / 255 if img.dtype == torch.uint8 else img
    ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray" if img.shape[0] == 1 else None)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(data: ImageData, per_class: int = 6, title: str | None = None, seed: int = 0) -> plt.Figure:
    """A few images of each class, one row per class."""
    rng = np.random.default_rng(seed)
    n_cls = len(data.classes)
    fig, axes = plt.subplots(n_cls, per_class, figsize=(per_class * 1.1, n_cls * 1.15))
    for c in range(n_cls):
        idx = np.flatnonzero(data.y.numpy() == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False)
        for j in range(per_class):
            ax = axes[c, j]
            ax.axis("off") if j >= len(pick) else _show(ax, data.x[pick[j]])
        axes[c, 0].set_ylabel(data.classes[c], rotation=0, ha="right", va="center", fontsize=9)
        axes[c, 0].axis("on")
        axes[c, 0].set_xticks([])
        axes[c, 0].set_yticks([])
    fig.suptitle(title or f"{data.name}: {len(data)} images, {n_cls} classes", fontsize=11)
    fig.tight_layout()
    return fig


def _spread_over_classes(idx: torch.Tensor, y: torch.Tensor) -> list[int]:
    """Reorder ``idx`` round-robin over true classes, so a grid shows every class's mistakes."""
    per_class = [idx[y[idx] == c].tolist() for c in range(int(y.max()) + 1)]
    out = []
    while any(per_class):
        out += [lst.pop(0) for lst in per_class if lst]
    return out


def mistakes_grid(test: ImageData, preds: dict[str, torch.Tensor], per_method: int = 8) -> plt.Figure:
    """For each method, test images it got wrong, captioned 'true -> predicted'."""
    fig, axes = plt.subplots(len(preds), per_method, figsize=(2.2 + per_method * 1.3,
                                                              len(preds) * 1.75), squeeze=False)
    for row, (method, p) in enumerate(preds.items()):
        wrong = _spread_over_classes(torch.nonzero(p != test.y).flatten(), test.y)
        for j in range(per_method):
            ax = axes[row, j]
            if j >= len(wrong):
                ax.axis("off")
                continue
            i = wrong[j]
            _show(ax, test.x[i])
            # two lines: one line 'vegetable→mammal' is wider than the image and overlaps
            ax.set_title(f"{test.classes[test.y[i]]}\n→ {test.classes[p[i]]}", fontsize=7,
                         color="darkred", linespacing=1.0)
        n_wrong, n = len(wrong), len(test)
        axes[row, 0].axis("on")
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
        name = textwrap.fill(_label(method), 22)  # long names would run off the left edge
        axes[row, 0].set_ylabel(f"{name}\n{n_wrong}/{n} wrong", rotation=0, ha="right",
                                va="center", fontsize=8)
    fig.suptitle("Test images each method gets wrong (true → predicted; one seed's test set, "
                 "1 seed)", fontsize=11)
    fig.tight_layout()
    return fig
