"""Plots for chapter 8 (text transfer): the learning curve, the LP-FT learning-rate sweep, the
domain-shift bars, and the mistake list (the text twin of the image mistake grid).

Example:
    >>> res = run_experiment("text-transfer", "quick")   # doctest: +SKIP
    >>> text.learning_curve(res.records)                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import text as _text
from ..experiments import text_transfer as tt
from ..stats import interval

COLORS = {tt.TFIDF: "tab:gray", tt.FROZEN: "tab:blue", tt.RANDOM_FROZEN: "tab:orange",
          tt.FINETUNED: "tab:green", tt.RANDOM_TRAINED: "tab:red"}
CHANCE = "chance = majority class (50 %: balanced test texts)"


def _spread(values) -> tuple[float, float, float]:
    """``(mean, low, high)``: an arm's 95 % interval (:func:`tlcourse.stats.interval`, the fixed
    test texts counted); with one seed the bounds are the mean (nothing drawn)."""
    m, low, high = interval(values)
    return (m, m, m) if np.isnan(low) else (m, low, high)


def _seeds_said(records: list[dict]) -> str:
    n = len({r["seed"] for r in records})
    return "1 seed: no interval" if n == 1 else f"{n} seeds, 95 % interval"


def _percent(ax: plt.Axes) -> None:
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))


def _log_x(ax: plt.Axes, xs: Sequence[float], label: str) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(xs))
    ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.get_xaxis().set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)


def learning_curve(records: list[dict]) -> Figure:
    """Test accuracy vs labelled texts per class (log x): mean over seeds with its 95 % interval
    as a band per arm, and the chance line (50 %, a balanced test set)."""
    curve = [r for r in records if r.get("part", tt.CURVE) == tt.CURVE]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ks = sorted({r["labels_per_class"] for r in curve})
    for method in tt.ARMS:
        pts = {k: list(a.values()) for k in ks if (a := tt._acc(curve, method, k))}
        if not pts:
            continue
        x = list(pts)
        mean, low, high = np.array([_spread(tt._acc(curve, method, k)) for k in x]).T
        ax.plot(x, mean, "o-" if len(x) > 1 else "D", color=COLORS[method], lw=2, ms=6,
                label=tt.NAMES[method])
        ax.fill_between(x, low, high, color=COLORS[method], alpha=0.15)
        if len(x) == 1:
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=COLORS[method],
                        capsize=3)
    ax.axhline(0.5, ls=":", color="k", lw=1, label=CHANCE)
    _log_x(ax, ks, "labelled training texts per class (log scale)")
    ax.set_ylim(0, 1)
    _percent(ax)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{curve[0]['dataset']}: accuracy vs labels ({_seeds_said(curve)})",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def lr_sweep(records: list[dict]) -> Figure:
    """LP-FT accuracy vs learning rate (log x, mean and 95 % interval over seeds), the probe it started
    from as a horizontal reference, BERT's recommended 2e-5..5e-5 shaded."""
    sweep = tt._sweep(records)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.axvspan(*tt.BERT_RATES, color="tab:green", alpha=0.12, label="BERT's range (2e-5..5e-5)")
    lrs = list(sweep)
    mean, low, high = np.array([_spread(v) for v in sweep.values()]).T
    ax.errorbar(lrs, mean, yerr=[mean - low, high - mean], fmt="o-", color=COLORS[tt.FINETUNED],
                lw=2, capsize=3, label=f"{tt.NAMES[tt.FINETUNED]} (95 % interval)")
    probe = list(tt._sweep_probe(records).values())
    ax.axhline(np.mean(probe), color=COLORS[tt.FROZEN], lw=1.5, ls="--",
               label=f"the probe it started from ({np.mean(probe):.0%})")
    ax.axhline(0.5, ls=":", color="k", lw=1, label=CHANCE)
    _log_x(ax, lrs, "fine-tuning learning rate (log scale)")
    ax.set_xlim(min(lrs[0], tt.BERT_RATES[0]) / 1.5, lrs[-1] * 1.5)
    ax.set_ylim(0, 1)
    _percent(ax)
    ax.set_ylabel("test accuracy")
    k = next(r["labels_per_class"] for r in records if r.get("part") == tt.SWEEP)
    ax.set_title(f"LP-FT at {k} labelled texts per class: which rate keeps the pretrained "
                 f"features?\n({_seeds_said([r for r in records if r.get('part') == tt.SWEEP])})",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def domain_shift(records: list[dict]) -> Figure:
    """One panel per test corpus: accuracy of TF-IDF and the frozen probe for each training set
    (the target's own labels, the other corpus, the other corpus + a few target labels, the few
    target labels alone); bar = mean, error bar = its 95 % interval over seeds."""
    names, targets = tt._shift_names(records)
    conditions = (tt.TARGET, tt.SOURCE, tt.MIXED, tt.TARGET_FEW)
    fig, axes = plt.subplots(1, len(targets), figsize=(6.5 * len(targets), 4.4), squeeze=False,
                             sharey=True)
    width = 0.38
    shift_seeds = {r["seed"] for r in records if r.get("part") == tt.SHIFT}
    for ax, t in zip(axes[0], targets):
        for j, m in enumerate((tt.TFIDF, tt.FROZEN)):
            mean, low, high = np.array([_spread(tt._shift_acc(records, m, t, c))
                                        for c in conditions]).T
            x = np.arange(len(conditions)) + (j - 0.5) * width
            ax.bar(x, mean, width, yerr=[mean - low, high - mean], capsize=3, color=COLORS[m],
                   label=tt.NAMES[m] + (" (bar: 95 % interval)" if len(shift_seeds) > 1 else ""))
        ax.axhline(0.5, ls=":", color="k", lw=1, label=CHANCE)
        ax.set_xticks(range(len(conditions)),
                      [names[c].replace(" of the ", "\nof the ").replace(" + ", "\n+ ")
                       for c in conditions], fontsize=7)
        ax.set_ylim(0, 1)
        _percent(ax)
        ax.set_title(f"tested on {t}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    shift = [r for r in records if r.get("part") == tt.SHIFT]
    fig.suptitle("Domain shift: trained on one corpus, tested on the other "
                 f"({_seeds_said(shift)})", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend below the panels
    return fig


def mistakes(texts: Sequence[str], y: torch.Tensor | Sequence[int],
             pred: torch.Tensor | Sequence[int], classes: Sequence[str], k: int = 8) -> list[str]:
    """Up to ``k`` misclassified texts as ``"[true -> predicted] text"``, alternating between the
    true classes so both kinds of error show.

    Every text passes through :func:`tlcourse.text.safe_examples` first: the tweets corpus holds
    offensive tweets, so a text with a blocked word is never shown (the next mistake takes its
    place), swearing is masked, @handles read ``@user`` and links ``<link>``.

    Example:
        >>> mistakes(["great", "awful"], [1, 0], [0, 0], ["negative", "positive"])
        ['[positive -> negative] great']
    """
    y, pred = torch.as_tensor(y).tolist(), torch.as_tensor(pred).tolist()
    by_class: dict[int, list[str]] = {}
    for t, a, b in zip(texts, y, pred):
        if a != b:
            shown = _text.safe_examples([t])
            if shown:
                by_class.setdefault(a, []).append(f"[{classes[a]} -> {classes[b]}] {shown[0]}")
    out: list[str] = []
    queues = [by_class[c] for c in sorted(by_class)]
    while len(out) < k and any(queues):
        for q in queues:
            if q and len(out) < k:
                out.append(q.pop(0))
    return out
