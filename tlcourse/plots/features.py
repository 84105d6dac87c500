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


def _floor_lines(ax, rows: list[dict], color: str = "k", label: str = "", scale: float = 1.0) -> None:
    """Chance (dashed) and, where the classes are unbalanced, the majority class (dotted)."""
    if not rows or "n_classes" not in rows[0]:
        return
    chance = 1 / rows[0]["n_classes"]
    ax.axhline(chance / scale, color=color, ls="--", lw=1, label=f"chance{label} ({chance:.0%})")
    major = float(np.mean([r["majority_share"] for r in rows]))
    if major > chance + 0.01:
        ax.axhline(major / scale, color=color, ls=":", lw=1.5,
                   label=f"majority class{label} ({major:.0%})")


def heads(records: list[dict]) -> plt.Figure:
    """Accuracy, trainable parameters (head vs whole network) and wall time of each head, and of
    the network trained from scratch where the records hold it."""
    rows = [r for r in records if r.get("part") in ("heads", "scratch")]
    names = list(dict.fromkeys(r["method"] for r in rows))
    labels = [n.replace("-random-weights", "\n(random weights)").replace("-scratch", "\nfrom scratch")
              for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    x = np.arange(len(names))
    for i, (metric, label) in enumerate((("test_accuracy", "accuracy"),
                                         ("balanced_accuracy", "balanced accuracy"))):
        acc = np.array([_mean_ci([r[metric] for r in rows if r["method"] == m and metric in r]
                                 or [np.nan]) for m in names])
        m, lo, hi = acc.T
        err = np.nan_to_num(np.array([m - lo, hi - m]))
        axes[0].bar(x + (i - 0.5) * 0.4, m, width=0.4, yerr=err, capsize=4, label=label)
    _floor_lines(axes[0], rows)
    axes[0].set_xticks(x, labels)
    top = max(1.0, float(np.nanmax(axes[0].get_ylim()[1])))  # a t interval may pass 100 %
    axes[0].set(title=f"Photo test set\n({_seeds(rows)})", ylabel="accuracy", ylim=(0, top))
    axes[0].legend(fontsize=7, loc="upper right")
    first = {m: next(r for r in rows if r["method"] == m) for m in names}
    axes[1].bar(x, [first[m]["trainable_params"] for m in names], color="tab:green",
                label="trained parameters")
    axes[1].axhline(first[names[0]]["network_params"], color="k", ls="--", label="whole Lite0")
    axes[1].set_xticks(x, labels)
    axes[1].set(yscale="log", title="Trainable parameters", ylabel="parameters (log scale)")
    axes[1].legend(fontsize=8)
    feat = [np.mean([r["feature_seconds"] for r in rows if r["method"] == m]) for m in names]
    head = [np.mean([r["head_seconds"] for r in rows if r["method"] == m]) for m in names]
    axes[2].bar(x, feat, label="feature extraction (once)", color="tab:gray")
    axes[2].bar(x, head, bottom=feat, label="training (final fit)", color="tab:orange")
    axes[2].set_xticks(x, labels)
    axes[2].set(title=f"Wall time ({_seeds(rows).split(',')[0]})", ylabel="seconds")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def layer_probe(records: list[dict], relative: bool = False) -> plt.Figure:
    """Linear-probe accuracy vs the stage features are read from, one line per dataset, with the
    judge's 95 % interval as error bars and each dataset's chance (and majority-class) line."""
    rows = [r for r in records if r.get("part") == "layer-probe"]
    fig, ax = plt.subplots(figsize=(10, 5))
    top = 1.0
    for i, ds in enumerate(dict.fromkeys(r["dataset"] for r in rows)):
        color = f"C{i}"
        ds_rows = [r for r in rows if r["dataset"] == ds]
        depths = sorted({r["depth"] for r in ds_rows})
        stats = [_mean_ci([r["test_accuracy"] for r in ds_rows if r["depth"] == d]) for d in depths]
        m, lo, hi = np.array(stats).T
        scale = m[-1] if relative else 1.0
        err = np.nan_to_num(np.array([m - lo, hi - m]) / scale)
        ax.errorbar(np.array(depths) + (i - 0.5) * 0.08, m / scale, yerr=err, marker="o",
                    capsize=4, color=color, label=f"{ds} (95 % interval)")
        _floor_lines(ax, ds_rows, color=color, label=f", {ds}", scale=scale)
        top = max(top, float(np.nanmax(hi / scale)) if relative else 1.0)
    ax.set_xticks(depths, [STAGE_NAMES.get(d, f"stage {d}") for d in depths])
    ax.set(xlabel="features read from (early → late)", ylim=(0, top * 1.05),
           ylabel="accuracy relative to the last stage" if relative else "test accuracy",
           title=f"Linear probe by depth ({_seeds(rows)})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: no line hidden
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
