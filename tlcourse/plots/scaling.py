"""Plots for the data-scaling experiment: does training from scratch catch up with enough labels?

Example:
    >>> res = run_experiment("data-scaling", "quick")   # doctest: +SKIP
    >>> scaling.data_scaling(res.records)                # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..experiments.learning_curve import FINETUNED, FROZEN, SCRATCH, paired_gaps
from ..stats import band
from .curves import METHOD_COLORS, METHOD_LABELS


def _curve(ax: plt.Axes, records: list[dict], method: str, label: str) -> None:
    """Mean test accuracy over seeds vs labels per class, with a +-1 sd band."""
    ks = sorted({r["labels_per_class"] for r in records if r["method"] == method})
    vals = [[r["test_accuracy"] for r in records
             if r["method"] == method and r["labels_per_class"] == k] for k in ks]
    mean, sd = np.array([np.mean(v) for v in vals]), np.array([band(v) for v in vals])
    color = METHOD_COLORS.get(method)
    ax.plot(ks, mean, "o-", color=color, lw=2, label=label)
    ax.fill_between(ks, mean - sd, mean + sd, color=color, alpha=0.15)


def _log_x(ax: plt.Axes, ks: list[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.grid(alpha=0.3)


def data_scaling(records: list[dict]) -> Figure:
    """Left: test accuracy of each arm vs labels per class (mean +- 1 sample sd over seeds, chance
    line). Right: each ImageNet arm's lead over the scratch CNN in points, per seed paired;
    below zero, scratch has caught up."""
    fig, (acc, gap) = plt.subplots(1, 2, figsize=(12, 4.5))
    ks = sorted({r["labels_per_class"] for r in records})
    size = {r["method"]: r["input_size"] for r in records}
    for method in (SCRATCH, FROZEN, FINETUNED):
        if method in size:
            _curve(acc, records, method, f"{METHOD_LABELS[method]} ({size[method]} px)")
    acc.axhline(1 / records[0]["n_classes"], ls=":", color="k", lw=1, label="chance")
    _log_x(acc, ks)
    acc.set_ylim(0, 1)
    acc.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    acc.set_ylabel("test accuracy")
    seeds = len({r["seed"] for r in records})
    acc.set_title(f"{records[0]['dataset']}: accuracy vs labels "
                  f"(up to {seeds} seeds, band = ±1 sample sd)", fontsize=10)
    acc.legend(fontsize=8, loc="lower right")

    for method in (FROZEN, FINETUNED):
        pts = [(k, g) for k in ks if (g := paired_gaps(records, method, k))]
        if not pts:
            continue
        x = [k for k, _ in pts]
        m = [100 * np.mean(g) for _, g in pts]
        e = [100 * band(g) for _, g in pts]
        gap.errorbar(x, m, yerr=e, fmt="o-", capsize=3, lw=2, color=METHOD_COLORS[method],
                     label=f"{METHOD_LABELS[method]} minus scratch")
    gap.axhline(0, color="k", lw=1)
    gap.text(0.02, 0.03, "below 0: scratch is ahead", transform=gap.transAxes, fontsize=8)
    _log_x(gap, ks)
    gap.set_ylabel("lead over the small CNN from scratch (points)")
    gap.set_title("Does scratch catch up? (mean paired gap, error bar = ±1 sd over seeds)",
                  fontsize=10)
    gap.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
