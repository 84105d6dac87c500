"""Plots of the mistakes lab: what each mistake costs against its fix, and class imbalance.

Example:
    >>> fig = mistake_costs(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.mistakes import class_group, verdicts
from ..stats import HOLDS, OPPOSITE, by_seed, interval

#: colour of a gap by the judge's word: the mistake costs, the "mistake" wins, undecided
_COLOURS = {HOLDS: "tab:red", OPPOSITE: "tab:blue"}
_UNDECIDED = "tab:gray"
LINEAR = 5  # points: the cost chart's axis is linear within +-LINEAR, logarithmic beyond


def _err(mean: float, low: float, high: float) -> tuple[float, float]:
    """An error bar's (below, above) lengths; none where one seed measured no interval."""
    return (0.0, 0.0) if math.isnan(low) else (mean - low, high - mean)


def _seeds_said(n: int) -> str:
    return "1 seed: no interval" if n == 1 else f"{n} seeds, bars: 95 % interval"


def _label(row: dict) -> str:
    where = row["mistake"] + (f" ({row['setting']})" if row["setting"] else "")
    n = row["verdict"].n_seeds
    what = (f"{row['fix']} vs {row['bad']}" if row["mistake"] == "imbalance"
            else textwrap.shorten(row["bad"], 46))
    return f"{where}, {n} seed{'s' if n != 1 else ''}:\n{what}"


def mistake_costs(records: list[dict]) -> plt.Figure:
    """One row per mistake and setting: the correct version's accuracy minus the mistake's, in
    points, paired by seed, with the judge's 95 % interval (:func:`tlcourse.experiments.mistakes.
    verdicts`: for class imbalance, balanced accuracy). Colour: the judge's word."""
    rows = verdicts(records)
    fig, ax = plt.subplots(figsize=(9, 1.8 + 0.5 * len(rows)))
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows):
        v = row["verdict"]
        colour = _COLOURS.get(v.word, _UNDECIDED)
        err = np.array([_err(v.gap, v.low, v.high)]).T * 100
        ax.errorbar(v.gap * 100, yi, xerr=err, fmt="o", color=colour, capsize=4, markersize=6)
    ax.axvline(0, color="black", lw=0.8)
    # linear within +-LINEAR points, logarithmic beyond: a 1-point and a 60-point cost both show
    ax.set_xscale("symlog", linthresh=LINEAR, linscale=2)
    ticks = [t for t in (-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100)
             if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}".replace("-", "−") for t in ticks])
    ax.set_yticks(y, [_label(r) for r in rows], fontsize=8.5)
    ax.set_xlabel("correct version − mistake, in points of accuracy (balanced accuracy for "
                  "imbalance)")
    for colour, said in (("tab:red", "the mistake costs (holds)"),
                         ("tab:blue", "the mistake wins (does not hold)"),
                         (_UNDECIDED, "inconclusive")):
        ax.plot([], [], "o", color=colour, label=said)
    height = fig.get_size_inches()[1]
    fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.35 / height), ncol=3, fontsize=8.5,
               frameon=False)
    ax.set_title("What each mistake costs, paired by seed (bars: 95 % interval)")
    ax.grid(axis="x", alpha=0.3)
    fig.text(0.5, 0.1 / height, f"The axis shows gaps, not accuracy on 0–100 %, linear within "
             f"±{LINEAR} points and logarithmic beyond: on one linear axis a cost of 1 point would "
             "vanish beside one of 60. 0 = no cost.", fontsize=8.5, ha="center", wrap=True)
    fig.tight_layout(rect=(0, 0.75 / height, 1, 1))
    return fig


def minority_recall(records: list[dict]) -> plt.Figure:
    """Per variant: the shrunken class's recall, the other classes' recall and balanced
    accuracy, each with its 95 % interval over seeds (the fixed test set's items counted), and
    chance (one class in ten)."""
    rows = [r for r in records if r["mistake"] == "imbalance"]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    groups = {g: class_group(rows, g) for g in ("minority", "majority")}
    bars = (("minority", "the shrunken class's recall"), ("majority", "the other classes' recall"),
            ("all", "balanced accuracy"))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (group, label) in enumerate(bars):
        source = rows if group == "all" else groups[group]
        ci = [interval(by_seed(source, "test_accuracy", variant=v)) for v in names]
        ax.bar(x + (i - 1) * 0.27, [c[0] for c in ci], 0.27, label=label, capsize=3,
               yerr=np.array([_err(*c) for c in ci]).T)
    n_classes = len(rows[0]["test_per_class"]) if rows and "test_per_class" in rows[0] else 10
    ax.axhline(1 / n_classes, color="black", ls="--", lw=1,
               label=f"chance ({n_classes} classes; also the floor of always one class)")
    n = len({r["seed"] for r in rows})
    ax.set_xticks(x, names)
    ax.set(ylim=(0, 1.05), ylabel="fraction of test images (Fashion-MNIST, equal classes)",
           title=f"One class cut to 5 % of the others ({_seeds_said(n)})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8.5, frameon=False)
    fig.tight_layout()
    return fig
