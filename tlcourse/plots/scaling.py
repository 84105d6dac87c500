"""Plots for the data-scaling experiment: does training from scratch catch up with enough labels?

Example:
    >>> res = run_experiment("data-scaling", "quick")   # doctest: +SKIP
    >>> scaling.data_scaling(res.records)                # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..experiments.learning_curve import ARMS, FINETUNED, FROZEN, SCRATCH, verdict
from ..stats import interval
from .curves import METHOD_COLORS, METHOD_LABELS


def _curve(ax: plt.Axes, records: list[dict], method: str, label: str) -> None:
    """Mean test accuracy over seeds vs labels per class, with the 95 % interval as a band
    (the judge's, :func:`tlcourse.stats.interval`; none where one seed ran)."""
    ks = sorted({r["labels_per_class"] for r in records if r["method"] == method})
    vals = [[r["test_accuracy"] for r in records
             if r["method"] == method and r["labels_per_class"] == k] for k in ks]
    mean, lo, hi = np.array([interval(v) for v in vals]).T
    color = METHOD_COLORS.get(method)
    ax.plot(ks, mean, "o-", color=color, lw=2, label=label)
    ax.fill_between(ks, lo, hi, color=color, alpha=0.15)  # NaN bounds (1 seed): nothing drawn


def _log_x(ax: plt.Axes, ks: list[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.grid(alpha=0.3)


def data_scaling(records: list[dict]) -> Figure:
    """Left: test accuracy of each arm vs labels per class (mean and 95 % interval over seeds, chance
    line). Right: each ImageNet arm's lead over the scratch CNN in points, per seed paired;
    below zero, scratch has caught up."""
    fig, (acc, gap) = plt.subplots(1, 2, figsize=(12, 4.5))
    records = [r for r in records if r["method"] in ARMS]  # claim 11's 40-draw heads: not here
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
    acc.set_title(f"{records[0]['dataset']}: accuracy vs labels\n"
                  f"(up to {seeds} seed{'s' if seeds != 1 else ''}, band = 95 % interval)", fontsize=10)
    acc.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)

    for method in (FROZEN, FINETUNED):
        pts = [(k, v) for k in ks if (v := verdict(records, method, k))]
        if not pts:
            continue
        x = [k for k, _ in pts]
        m = np.array([100 * v.gap for _, v in pts])
        lo, hi = (np.nan_to_num(100 * np.array([getattr(v, b) for _, v in pts]), nan=m)
                  for b in ("low", "high"))  # one seed: no bar
        gap.errorbar(x, m, yerr=[m - lo, hi - m], fmt="o-", capsize=3, lw=2,
                     color=METHOD_COLORS[method],
                     label=f"{METHOD_LABELS[method]} minus scratch")
    gap.axhline(0, color="k", lw=1)
    gap.text(0.02, 0.03, "below 0: scratch is ahead", transform=gap.transAxes, fontsize=8)
    _log_x(gap, ks)
    gap.set_ylabel("lead over the small CNN from scratch (points)")
    gap.set_title("Does scratch catch up?\n(mean paired gap, error bar = the judge's 95 % interval)",
                  fontsize=10)
    # below the axes: inside, it covered the error bars at the smallest size
    gap.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    return fig
