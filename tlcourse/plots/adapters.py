"""Plots for chapter 9 (LoRA and zero-shot): accuracy vs labels per class with the zero-shot
band, and accuracy vs trainable parameters.

Example:
    >>> res = run_experiment("lora-zero-shot", "quick")   # doctest: +SKIP
    >>> adapters.labels_curve(res.records)                 # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..experiments import lora_zero_shot as lz
from ..stats import interval

COLORS = {lz.ZERO: "tab:purple", lz.PROBE: "tab:blue", lz.LORA: "tab:orange",
          lz.FULL: "tab:green"}
CHANCE = "chance = majority class (50 %: balanced test tweets)"


def _point(values) -> tuple[float, float, float]:
    """``(mean, below, above)``: the mean and its 95 % interval's distances (0 for one seed)."""
    m, low, high = interval(values)
    return (m, 0.0, 0.0) if np.isnan(low) else (m, m - low, high - m)


def _seeds(records: list[dict], method: str) -> str:
    if method == lz.ZERO:  # no labels drawn, nothing random: the interval is the test tweets'
        return "no seeds: nothing random"
    n = len({r["seed"] for r in records if r["method"] == method})
    return "1 seed" if n == 1 else f"{n} seeds"


def _finish(ax: plt.Axes) -> None:
    ax.axhline(0.5, color="black", lw=1, ls=":", label=CHANCE)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def labels_curve(records: list[dict]) -> Figure:
    """Test accuracy vs labelled tweets per class (log x): the probe's mean with its 95 %
    interval per size, LoRA and full fine-tuning where they trained, and zero-shot (no labels)
    as a horizontal line with its 95 % interval as a band; the range its single wordings
    reached is drawn as a hatched band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    zero = lz.acc(records, lz.ZERO, 0)
    if zero:
        m, below, above = _point(zero)
        ax.axhline(m, color=COLORS[lz.ZERO], lw=2,
                   label=f"{lz.NAMES[lz.ZERO]}: ensemble of wordings, 95 % interval of the test tweets")
        ax.axhspan(m - below, m + above, color=COLORS[lz.ZERO], alpha=0.15)
        ones = [r["test_accuracy"] for r in records if r["method"] == lz.ZERO_ONE]
        if ones:
            ax.axhspan(min(ones), max(ones), fill=False, hatch="//", edgecolor=COLORS[lz.ZERO],
                       lw=0, alpha=0.5, label=f"zero-shot, each of {len(ones)} wordings alone "
                                               "(lowest to highest)")
    ks_all = []
    for method, offset in ((lz.PROBE, 1.0), (lz.LORA, 0.94), (lz.FULL, 1.06)):
        ks = sorted({r["labels_per_class"] for r in records if r["method"] == method})
        pts = [_point(lz.acc(records, method, k)) for k in ks]
        if not pts:
            continue
        ks_all += ks
        ax.errorbar([k * offset for k in ks], [p[0] for p in pts],
                    yerr=[[p[1] for p in pts], [p[2] for p in pts]], color=COLORS[method],
                    marker="o", capsize=3, ls="-" if len(ks) > 1 else "none",
                    label=f"{lz.NAMES[method]} ({_seeds(records, method)}, 95 % interval)")
    ks_all = sorted(set(ks_all))
    if ks_all:
        ax.set_xscale("log")
        ax.set_xticks(ks_all)
        ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.get_xaxis().set_minor_formatter(plt.NullFormatter())
        ax.set_xlim(min(ks_all) / 1.4, max(ks_all) * 1.4)
    ax.set_xlabel("labelled tweets per class (zero-shot uses none)")
    ax.set_title("Zero-shot vs a few labels: where does the probe cross the band?", fontsize=10)
    _finish(ax)
    fig.tight_layout()
    return fig


def accuracy_vs_parameters(records: list[dict], k: int = lz.MORE) -> Figure:
    """Test accuracy (mean, 95 % interval) vs trainable parameters (log x) at ``k`` labels per
    class, each arm annotated with what it must save; zero-shot trains none and is drawn at 1."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for method in lz.ARMS:
        rs = [r for r in records if r["method"] == method
              and (method == lz.ZERO or r["labels_per_class"] == k)]
        values = lz.acc(records, method, k)
        if not rs or not values:
            continue
        m, below, above = _point(values)
        n = rs[0]["trainable_params"]
        x = max(n, 1)
        ax.errorbar([x], [m], yerr=[[below], [above]], color=COLORS[method], marker="o",
                    capsize=3, ls="none",
                    label=f"{lz.NAMES[method]} ({_seeds(records, method)}, 95 % interval)")
        ax.annotate(f"{n:,} trained\nsaves {lz.size_text(rs[0]['saved_bytes'])}", (x, m),
                    textcoords="offset points", xytext=(8, -22), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.3, 3e8)
    ax.set_xlabel("trainable parameters (log; zero-shot's 0 drawn at 1)")
    ax.set_title(f"Accuracy vs what is trained, at {k} labelled tweets per class", fontsize=10)
    _finish(ax)
    fig.tight_layout()
    return fig
