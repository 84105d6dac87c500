"""Plots for layer transferability, catastrophic forgetting and representation drift.

Each function takes an experiment's ``records`` (list of dicts) and returns the matplotlib
``Figure``; means over seeds are drawn with a band of +/- one standard deviation.

Example:
    >>> res = run_experiment("layer-transfer")        # doctest: +SKIP
    >>> transfer.layer_transfer(res.records)          # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..stats import band, mean_sd


def _mean_std(records: list[dict], x: str, y: str, **match) -> tuple[list, np.ndarray, np.ndarray]:
    rows = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    xs = sorted({r[x] for r in rows})
    vals = [[r[y] for r in rows if r[x] == v] for v in xs]
    return xs, np.array([np.mean(v) for v in vals]), np.array([band(v) for v in vals])


def _line(ax, xs, m, s, label, **kw) -> None:
    ax.plot(xs, m, marker="o", label=label, **kw)
    ax.fill_between(xs, m - s, m + s, alpha=0.2)


def layer_transfer(records: list[dict]) -> Figure:
    """Accuracy on task B vs the number of copied stages n (Yosinski et al. 2014, Fig. 2)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    base = np.mean([r["test_accuracy"] for r in records if r["method"] == "scratch"])
    ax.axhline(base, color="gray", ls="--", label=f"baseB: B from scratch ({base:.1%})")
    for method, label in (("BnB", "BnB: copied from a B net, frozen (control)"),
                          ("AnB", "AnB: copied from the A net, frozen"),
                          ("AnB+", "AnB+: copied from the A net, fine-tuned")):
        _line(ax, *_mean_std(records, "depth", "test_accuracy", method=method), label)
    ax.set(xlabel="stages copied n (small CNN has 3)", ylabel="accuracy on task B (test)",
           title="Which layers transfer? MNIST 0-4 (A) -> 5-9 (B)")
    ax.set_xticks(sorted({r["depth"] for r in records if r["method"] != "scratch"}))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def layer_effects(records: list[dict]) -> Figure:
    """Yosinski et al.'s two effects per depth, in points (mean over seeds, +/- 1 sd bars):
    specificity = BnB(n) - AnB(n) and co-adaptation = baseB - BnB(n). A bar above 0 is a cost."""
    from ..experiments.layer_transfer import yosinski_effects

    fx = yosinski_effects(records)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    depths = sorted(fx["specificity"])
    for i, (name, label) in enumerate((("specificity", "specificity: BnB - AnB"),
                                       ("co-adaptation", "co-adaptation: baseB - BnB"))):
        stats = [mean_sd(fx[name][n]) for n in depths]
        ax.bar(np.array(depths) + (i - 0.5) * 0.35, [100 * m for m, _ in stats], width=0.35,
               yerr=[100 * band(fx[name][n]) for n in depths], capsize=3, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xlabel="stages copied n", ylabel="accuracy cost on B (points)", xticks=depths,
           title="Where transfer loses: specificity vs co-adaptation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def forgetting_sweeps(records: list[dict]) -> Figure:
    """Accuracy on A (after learning B) and on B against the rate, frozen stages and B steps."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, (study, xlabel, log) in zip(axes, (("lr", "learning rate on B (AdamW, constant)", True),
                                               ("frozen", "frozen early stages (of 3)", False),
                                               ("steps", "optimizer steps on B", False))):
        for metric, label in (("acc_a", "task A (old head kept)"), ("acc_b", "task B (new head)")):
            _line(ax, *_mean_std(records, "setting", metric, study=study), label)
        before = np.mean([r["acc_a_before"] for r in records])
        ax.axhline(before, color="gray", ls="--", label="A before learning B")
        ax.set(xlabel=xlabel, title=f"vary: {study}")
        if log:
            ax.set_xscale("log")
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle("Catastrophic forgetting: learning digits 5-9 after 0-4")
    fig.tight_layout()
    return fig


_MITIGATION_LABELS = {"naive": "naive fine-tuning", "freeze": "freeze 2 stages",
                      "low-lr": "10x lower rate", "rehearsal": "rehearsal (replay A)",
                      "lwf": "LwF (distil old head)", "ewc": "EWC (Fisher penalty)"}


def forgetting_tradeoff(records: list[dict]) -> Figure:
    """Each mitigation as a point: accuracy on old task A vs on new task B (mean +/- std),
    with the A accuracy before learning B as a dashed line."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    rows = [r for r in records if r["study"] == "mitigation"]
    for method in dict.fromkeys(r["method"] for r in rows):
        a = [r["acc_a"] for r in rows if r["method"] == method]
        b = [r["acc_b"] for r in rows if r["method"] == method]
        label = _MITIGATION_LABELS.get(method, method)
        if method == "ewc":
            label += f", λ = {next(r['ewc_weight'] for r in rows if r['method'] == 'ewc'):g}"
        ax.errorbar(np.mean(b), np.mean(a), xerr=band(b), yerr=band(a), capsize=3, label=label,
                    marker="*" if method == "ewc" else "o", ms=11 if method == "ewc" else 6)
    before = np.mean([r["acc_a_before"] for r in rows])
    ax.axhline(before, color="gray", ls="--", lw=0.8, label="A before learning B")
    ax.set(xlabel="accuracy on new task B", ylabel="accuracy on old task A",
           title="Remembering A vs learning B (top right is best)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def drift(records: list[dict]) -> Figure:
    """How fine-tuning rates change ImageNet predictions/features and the new task's accuracy."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    probe = f"{records[0].get('n_probe', '')} object photos, {records[0].get('probe_size', '')} px"
    for metric, label in (("top1_agreement", f"ImageNet top-1 unchanged ({probe})"),
                          ("feature_cosine", "feature cosine similarity to the original"),
                          ("test_accuracy", "accuracy on the new task (object photos)")):
        _line(ax, *_mean_std(records, "lr", metric), label)
    ax.set_xscale("log")
    ax.set(xlabel="fine-tuning learning rate (all stages, AdamW)", ylabel="fraction",
           title="Representation drift of ImageNet Lite0 during fine-tuning", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
