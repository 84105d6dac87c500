"""Plots of the mistakes lab: each mistake's accuracy next to its fix, minority recall.

Example:
    >>> fig = mistake_costs(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.mistakes import costs


def mistake_costs(records: list[dict]) -> plt.Figure:
    """One panel per mistake: mean test accuracy of each variant (green = correct version), with
    ±1 sd over seeds."""
    rows = costs(records)
    mistakes = list(dict.fromkeys(r["mistake"] for r in rows))
    fig, axes = plt.subplots(1, len(mistakes), figsize=(4.2 * len(mistakes), 4.5))
    ok = {(r["mistake"], r["variant"]): r["correct"] for r in records}
    for ax, m in zip(np.atleast_1d(axes), mistakes):
        sub = [r for r in rows if r["mistake"] == m]
        labels = [f"{r['setting']}\n{r['variant']}".strip() for r in sub]
        colors = ["tab:green" if ok[(m, r["variant"])] else "tab:red" for r in sub]
        ax.barh(labels, [r["accuracy"] for r in sub], xerr=[r["accuracy_band"] for r in sub],
                color=colors, capsize=3)
        ax.set(xlim=(0, 1), xlabel="test accuracy", title=m)
        ax.tick_params(axis="y", labelsize=7)
    n_seeds = len({r["seed"] for r in records})
    fig.suptitle(f"Each mistake (red) vs the correct version (green); {n_seeds} seed"
                 f"{'s' if n_seeds > 1 else ''}, ±1 sd")
    fig.tight_layout()
    return fig


def minority_recall(records: list[dict]) -> plt.Figure:
    """Recall of the shrunken class and overall accuracy, without and with the fixes."""
    rows = [r for r in records if r["mistake"] == "imbalance"]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    rec = [np.mean([r["minority_recall"] for r in rows if r["variant"] == v]) for v in names]
    acc = [np.mean([r["test_accuracy"] for r in rows if r["variant"] == v]) for v in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(x - 0.2, rec, 0.4, label="minority-class recall")
    ax.bar(x + 0.2, acc, 0.4, label="overall accuracy")
    ax.set_xticks(x, names)
    ax.set(ylim=(0, 1), ylabel="fraction", title="Class imbalance: one class at 5 % of the others")
    ax.legend()
    fig.tight_layout()
    return fig
