"""Plots of feature extraction: heads side by side, accuracy by depth, 2-D feature maps.

Example:
    >>> fig = layer_probe(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.feature_extraction import STAGE_NAMES
from ..stats import interval


def _mean_ci(values: list[float]) -> tuple[float, float, float]:
    """Mean and the judge's 95 % interval (:func:`tlcourse.stats.interval`); NaN bounds, drawn as
    no bar, for one seed."""
    return interval(values) if len(values) > 1 else (float(np.mean(values)), np.nan, np.nan)


def _seeds(rows: list[dict]) -> str:
    n = len({r["seed"] for r in rows})
    return "1 seed" if n == 1 else f"mean of {n} seeds, bars = 95 % interval"


def heads(records: list[dict]) -> plt.Figure:
    """Accuracy, trainable parameters (head vs whole network) and wall time of each head."""
    rows = [r for r in records if r.get("part") == "heads"]
    names = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    x = np.arange(len(names))
    for i, (metric, label) in enumerate((("test_accuracy", "accuracy"),
                                         ("balanced_accuracy", "balanced accuracy"))):
        acc = np.array([_mean_ci([r[metric] for r in rows if r["method"] == m and metric in r]
                                 or [np.nan]) for m in names])
        m, lo, hi = acc.T
        err = np.nan_to_num(np.array([m - lo, hi - m]))
        axes[0].bar(x + (i - 0.5) * 0.4, m, width=0.4, yerr=err, capsize=4, label=label)
    axes[0].set_xticks(x, names)
    axes[0].set(title=f"Photo test set ({_seeds(rows)})", ylabel="accuracy", ylim=(0, 1))
    axes[0].legend(fontsize=8)
    first = {m: next(r for r in rows if r["method"] == m) for m in names}
    axes[1].bar(names, [first[m]["trainable_params"] for m in names], color="tab:green", label="head (trained)")
    axes[1].axhline(first[names[0]]["network_params"], color="k", ls="--", label="whole network")
    axes[1].set(yscale="log", title="Trainable parameters", ylabel="parameters (log scale)")
    axes[1].legend()
    feat = [np.mean([r["feature_seconds"] for r in rows if r["method"] == m]) for m in names]
    head = [np.mean([r["head_seconds"] for r in rows if r["method"] == m]) for m in names]
    axes[2].bar(names, feat, label="feature extraction (once)", color="tab:gray")
    axes[2].bar(names, head, bottom=feat, label="head training", color="tab:orange")
    axes[2].set(title="Wall time", ylabel="seconds")
    axes[2].legend()
    for ax in axes:
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def layer_probe(records: list[dict], relative: bool = False) -> plt.Figure:
    """Linear-probe accuracy vs the stage features are read from, one line per dataset."""
    rows = [r for r in records if r.get("part") == "layer-probe"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        depths = sorted({r["depth"] for r in rows if r["dataset"] == ds})
        stats = [_mean_ci([r["test_accuracy"] for r in rows if r["dataset"] == ds and r["depth"] == d])
                 for d in depths]
        m, lo, hi = np.array(stats).T
        scale = m[-1] if relative else 1.0
        ax.plot(depths, m / scale, marker="o", label=ds)
        ax.fill_between(depths, lo / scale, hi / scale, alpha=0.2)
    ax.set_xticks(depths, [STAGE_NAMES.get(d, f"stage {d}") for d in depths])
    ax.set(xlabel="features read from (early → late)",
           ylabel="accuracy relative to last stage" if relative else "test accuracy",
           title=f"Linear probe by depth ({_seeds(rows)})")
    ax.legend()
    fig.tight_layout()
    return fig


def projection(proj: dict) -> plt.Figure:
    """2-D PCA of features coloured by class, one panel per weight set (``artifacts["projection"]``)."""
    fig, axes = plt.subplots(1, len(proj), figsize=(6 * len(proj), 5))
    for ax, (weights, (xy, y, classes)) in zip(np.atleast_1d(axes), proj.items()):
        for c, name in enumerate(classes):
            ax.scatter(*xy[y == c].T, s=12, label=name, alpha=0.8)
        ax.set(title=f"Lite0 features, {weights} weights (PCA)", xlabel="PC 1", ylabel="PC 2")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
