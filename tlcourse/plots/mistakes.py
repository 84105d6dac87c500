"""Plots of the mistakes lab: each mistake's accuracy next to its fix, minority recall.

Example:
    >>> fig = mistake_costs(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.mistakes import costs
from ..stats import by_seed, interval


def _err(mean: float, low: float, high: float) -> tuple[float, float]:
    """An error bar's (below, above) lengths; none where one seed measured no interval."""
    return (0.0, 0.0) if math.isnan(low) else (mean - low, high - mean)


def _seeds_said(n: int) -> str:
    return "1 seed: no interval" if n == 1 else f"{n} seeds, bars: 95 % interval"


def mistake_costs(records: list[dict]) -> plt.Figure:
    """One panel per mistake: mean test accuracy of each variant (green = correct version), with
    its 95 % interval over seeds (:func:`tlcourse.stats.interval`)."""
    rows = costs(records)
    mistakes = list(dict.fromkeys(r["mistake"] for r in rows))
    fig, axes = plt.subplots(1, len(mistakes), figsize=(4.2 * len(mistakes), 4.5))
    ok = {(r["mistake"], r["variant"]): r["correct"] for r in records}
    for ax, m in zip(np.atleast_1d(axes), mistakes):
        sub = [r for r in rows if r["mistake"] == m]
        labels = [f"{r['setting']}\n{r['variant']}".strip() for r in sub]
        colors = ["tab:green" if ok[(m, r["variant"])] else "tab:red" for r in sub]
        err = np.array([_err(r["accuracy"], r["accuracy_low"], r["accuracy_high"]) for r in sub]).T
        ax.barh(labels, [r["accuracy"] for r in sub], xerr=err, color=colors, capsize=3)
        n = max(r["seeds"] for r in sub)
        said = "1 seed: no interval" if n == 1 else f"{n} seeds"  # the bars: in the suptitle
        ax.set(xlim=(0, 1), xlabel="test accuracy", title=f"{m}\n({said})")
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Each mistake (red) vs the correct version (green); bars: 95 % interval")
    fig.tight_layout()
    return fig


def minority_recall(records: list[dict]) -> plt.Figure:
    """Recall of the shrunken class and overall accuracy, without and with the fixes."""
    rows = [r for r in records if r["mistake"] == "imbalance"]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 4))
    for dx, metric, label in ((-0.2, "minority_recall", "minority-class recall"),
                              (0.2, "test_accuracy", "overall accuracy")):
        ci = [interval(by_seed(rows, metric, variant=v)) for v in names]
        ax.bar(x + dx, [c[0] for c in ci], 0.4, yerr=np.array([_err(*c) for c in ci]).T,
               capsize=3, label=label)
    n = len({r["seed"] for r in rows})
    ax.set_xticks(x, names)
    ax.set(ylim=(0, 1), ylabel="fraction",
           title=f"Class imbalance: one class at 5 % of the others ({_seeds_said(n)})")
    ax.legend()
    fig.tight_layout()
    return fig
