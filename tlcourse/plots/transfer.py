"""Plots for layer transferability, catastrophic forgetting and representation drift.

Each function takes an experiment's ``records`` (list of dicts) and returns the matplotlib
``Figure``; means over seeds are drawn with their 95 % interval (:func:`tlcourse.stats.interval`)
as a band or error bars, and a figure with one seed says so in its title.

Example:
    >>> res = run_experiment("layer-transfer")        # doctest: +SKIP
    >>> transfer.layer_transfer(res.records)          # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..stats import interval


def _line(ax, xs, m, s, label, **kw) -> None:
    """A mean line with a symmetric band of half-width ``s`` (callers pass an interval's)."""
    ax.plot(xs, m, marker="o", label=label, **kw)
    ax.fill_between(xs, m - s, m + s, alpha=0.2)


def layer_transfer(records: list[dict]) -> Figure:
    """Accuracy on task B vs the number of copied stages n (Yosinski et al. 2014, Fig. 2): the
    mean over seeds with its 95 % interval, baseB (B from scratch) and chance (5 digits: 20 %)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    base = np.mean([r["test_accuracy"] for r in records if r["method"] == "scratch"])
    ax.axhline(base, color="gray", ls="--", label=f"baseB: B from scratch ({base:.1%})")
    ax.axhline(0.2, color="gray", ls=":", lw=1, label="chance (5 classes)")
    for method, label in (("BnB", "BnB: copied from a B net, frozen (control)"),
                          ("AnB", "AnB: copied from the A net, frozen"),
                          ("AnB+", "AnB+: copied from the A net, fine-tuned")):
        _band(ax, *_mean_interval(records, "depth", "test_accuracy", method=method), label)
    ax.set(xlabel="stages copied n (small CNN has 3)", ylabel="accuracy on task B (test)",
           ylim=(0, 1.02), title=f"Which layers transfer? MNIST 0-4 (A) -> 5-9 (B)\n"
                                 f"{_seed_note(records)}")
    ax.set_xticks(sorted({r["depth"] for r in records if r["method"] != "scratch"}))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def layer_effects(records: list[dict]) -> Figure:
    """Yosinski et al.'s two effects per depth, in points (mean over seeds, 95 % interval bars):
    specificity = BnB(n) - AnB(n) and co-adaptation = baseB - BnB(n). A bar above 0 is a cost."""
    from ..experiments.layer_transfer import yosinski_effects

    fx = yosinski_effects(records)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    depths = sorted(fx["specificity"])
    for i, (name, label) in enumerate((("specificity", "specificity: BnB - AnB"),
                                       ("co-adaptation", "co-adaptation: baseB - BnB"))):
        m, lo, hi = (100 * np.array(v) for v in zip(*(interval(fx[name][n]) for n in depths)))
        err = np.nan_to_num(np.vstack([m - lo, hi - m]))  # one seed: no bar, not a NaN
        ax.bar(np.array(depths) + (i - 0.5) * 0.35, m, width=0.35, yerr=err, capsize=3, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xlabel="stages copied n", ylabel="accuracy cost on B (points)", xticks=depths,
           title=f"Where transfer loses: specificity vs co-adaptation\n{_seed_note(records)}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _mean_interval(records: list[dict], x: str, y: str, **match) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, mean, low, high)`` of ``y`` per value of ``x``: the mean over seeds and its 95 %
    interval from :func:`tlcourse.stats.interval` (NaN bounds for one seed: nothing drawn)."""
    rows = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    xs = sorted({r[x] for r in rows})
    per_seed = [{r["seed"]: r[y] for r in rows if r[x] == v} for v in xs]
    m, lo, hi = (np.array(v) for v in zip(*(interval(d) for d in per_seed)))
    return xs, m, lo, hi


def _seeds(records: list[dict]) -> int:
    return len({r["seed"] for r in records})


def _band(ax, xs, m, lo, hi, label, **kw) -> None:
    line, = ax.plot(xs, m, marker="o", label=label, **kw)
    if not np.isnan(lo).all():
        ax.fill_between(xs, np.clip(lo, 0, 1), np.clip(hi, 0, 1), alpha=0.2, color=line.get_color())


def _seed_note(records: list[dict]) -> str:
    n = _seeds(records)
    return "1 seed" if n == 1 else f"mean of {n} seeds, band/bars = 95 % interval"


def forgetting_sweeps(records: list[dict]) -> Figure:
    """Accuracy on A (after learning B) and on B against the rate, frozen stages and B steps:
    the mean over seeds with its 95 % interval, A's accuracy before B and chance (20 %)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    for ax, (study, xlabel, log) in zip(axes, (("lr", "learning rate on B (AdamW, constant)", True),
                                               ("frozen", "frozen early stages (of 3)", False),
                                               ("steps", "optimizer steps on B", False))):
        for metric, label in (("acc_a", "task A (old head kept)"), ("acc_b", "task B (new head)")):
            _band(ax, *_mean_interval(records, "setting", metric, study=study), label)
        before = np.mean([r["acc_a_before"] for r in records])
        ax.axhline(before, color="gray", ls="--", label="A before learning B")
        ax.axhline(0.2, color="black", ls=":", lw=0.8, label="chance (5 classes) = majority")
        ax.set(xlabel=xlabel, title=f"vary: {study}", ylim=(0, 1.02))
        if log:
            ax.set_xscale("log")
        else:
            ax.set_xticks(sorted({r["setting"] for r in records if r["study"] == study}))
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Catastrophic forgetting: learning digits 5-9 after 0-4 ({_seed_note(records)})")
    fig.tight_layout()
    return fig


_MITIGATION_LABELS = {"naive": "naive fine-tuning", "freeze": "freeze 2 stages",
                      "low-lr": "10x lower rate", "rehearsal": "rehearsal (replay A)",
                      "lwf": "LwF (distil old head)", "ewc": "EWC (Fisher penalty)"}


def forgetting_tradeoff(records: list[dict]) -> Figure:
    """Each mitigation as a point: accuracy on old task A vs on new task B (mean over seeds,
    95 % interval bars), with A's accuracy before learning B and chance (20 %) as lines."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    rows = [r for r in records if r["study"] == "mitigation"]
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        (ma, la, ha), (mb, lb, hb) = (interval({r["seed"]: r[k] for r in mine}) for k in ("acc_a", "acc_b"))
        label = _MITIGATION_LABELS.get(method, method)
        if method == "ewc":
            lams = sorted({r["ewc_weight"] for r in mine})
            label += f", λ = {'/'.join(f'{w:g}' for w in lams)} (chosen on validation)"
        err = (lambda m, lo, hi: None if np.isnan(lo) else [[m - lo], [hi - m]])
        ax.errorbar(mb, ma, xerr=err(mb, lb, hb), yerr=err(ma, la, ha), capsize=3, label=label,
                    marker="*" if method == "ewc" else "o", ms=11 if method == "ewc" else 6)
    before = np.mean([r["acc_a_before"] for r in rows])
    ax.axhline(before, color="gray", ls="--", lw=0.8, label="A before learning B")
    ax.axhline(0.2, color="black", ls=":", lw=0.8, label="chance (5 classes) = majority")
    ax.axvline(0.2, color="black", ls=":", lw=0.8)
    ax.set(xlabel="accuracy on new task B", ylabel="accuracy on old task A", xlim=(0, 1.02),
           ylim=(0, 1.02), title=f"Remembering A vs learning B (top right is best)\n{_seed_note(rows)}")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def drift(records: list[dict]) -> Figure:
    """How fine-tuning rates change ImageNet predictions/features and the new task's accuracy:
    means over seeds with 95 % intervals, the majority-class floor and chance; a rate whose
    new-task accuracy ends at or below the floor is drawn hollow (left out of the comparison)."""
    from ..experiments.forgetting import learned_rates

    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    probe = f"{records[0].get('n_probe', '')} object photos, {records[0].get('probe_size', '')} px"
    _, left_out = learned_rates(records)
    for metric, label in (("top1_agreement", f"ImageNet top-1 unchanged ({probe})"),
                          ("feature_cosine", "feature cosine similarity to the original"),
                          ("test_accuracy", "accuracy on the new task (held-out photos)")):
        xs, m, lo, hi = _mean_interval(records, "lr", metric)
        _band(ax, xs, m, lo, hi, label)
        out = [i for i, x in enumerate(xs) if x in left_out]
        if out:
            ax.scatter([xs[i] for i in out], m[out], s=90, facecolors="white", edgecolors="black",
                       zorder=3, label="_nolegend_")
    majority = np.mean([r["majority"] for r in records])
    ax.axhline(majority, color="gray", ls="--", lw=0.8, label=f"majority class ({majority:.0%})")
    ax.axhline(1 / 6, color="black", ls=":", lw=0.8, label="chance (6 classes)")
    if left_out:
        ax.scatter([], [], s=90, facecolors="white", edgecolors="black",
                   label="rate at/below the majority floor: left out")
    ax.set_xscale("log")
    ax.set(xlabel="fine-tuning learning rate (all stages, AdamW)", ylabel="fraction", ylim=(0, 1.05),
           title=f"Representation drift of ImageNet Lite0\n{_seed_note(records)}")
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
