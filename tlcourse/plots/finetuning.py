"""Plots of fine-tuning: methods vs labels, the learning-rate sweep, early stopping.

Example:
    >>> fig = methods_vs_labels(res.records)  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..stats import by_seed, interval


def _ci(records: list[dict], metric: str) -> tuple[float, float]:
    """Mean and the 95 % interval's half-width over seeds (:func:`tlcourse.stats.interval`; 0
    with one seed: no bar drawn)."""
    mean, low, _ = interval(by_seed(records, metric))
    return mean, 0.0 if np.isnan(low) else mean - low


def _seeds_said(n: int) -> str:
    return "1 seed: no interval" if n == 1 else f"{n} seeds, 95 % interval"


def _floors(ax: plt.Axes, records: list[dict], horizontal: bool = True) -> None:
    """Chance (1 / classes) and the majority-class floor (always answering the test set's
    largest class), where the records say."""
    n_cls = {r["n_classes"] for r in records if r.get("n_classes")}
    shares = [r["majority_share"] for r in records if r.get("majority_share") is not None]
    line = ax.axhline if horizontal else ax.axvline
    if len(n_cls) == 1:
        chance = 1 / n_cls.pop()
        line(chance, ls=":", color="k", lw=1, label=f"chance ({chance:.0%})")
    if shares:
        line(float(np.mean(shares)), ls="-.", color="gray", lw=1,
             label=f"majority class: always guess it ({np.mean(shares):.0%})")


def _legend_below(ax: plt.Axes, ncol: int = 2) -> None:
    """The legend under the axes, clear of every curve."""
    ax.legend(fontsize=8, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              frameon=False)


def methods_vs_labels(records: list[dict]) -> plt.Figure:
    """Accuracy vs labels per class for each method (95 % interval over seeds; a method run at
    one size is a point with its bar); with a single number of labels, bars of accuracy and
    balanced accuracy. Chance and majority-class floors; wall time and trainable parameters
    beside, each method at the most labels it ran."""
    names = list(dict.fromkeys(r["method"] for r in records))
    ks = sorted({r["labels_per_class"] for r in records})
    n_seeds = len({r["seed"] for r in records})
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1.6, 1, 1]})

    def stats(m: str, k: int, metric: str) -> tuple[float, float]:
        return _ci([r for r in records if r["method"] == m and r["labels_per_class"] == k], metric)

    if len(ks) == 1:
        y = np.arange(len(names))
        for dy, metric, label in ((-0.2, "test_accuracy", "accuracy"),
                                  (0.2, "balanced_accuracy", "balanced accuracy")):
            mean, sd = zip(*(stats(m, ks[0], metric) for m in names))
            axes[0].barh(y + dy, mean, 0.4, xerr=sd, label=label, capsize=3)
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        _floors(axes[0], records, horizontal=False)
        axes[0].set(xlim=(0, 1), xlabel="test accuracy",
                    title=f"{ks[0]} labels per class ({_seeds_said(n_seeds)})")
    else:
        dodge = 0.08 * (ks[-1] - ks[0]) / max(len(names) - 1, 1)  # side by side at one k
        for i, m in enumerate(names):
            mk = [k for k in ks if any(r["method"] == m and r["labels_per_class"] == k
                                       for r in records)]
            mean, half = (np.array(v) for v in zip(*(stats(m, k, "test_accuracy") for k in mk)))
            x = np.array(mk) + (i - (len(names) - 1) / 2) * dodge
            axes[0].errorbar(x, mean, yerr=half, marker="o", capsize=3, label=m)
        _floors(axes[0], records)
        axes[0].set(xlabel="labels per class", ylabel="test accuracy", ylim=(0, 1), xticks=ks,
                    title=f"Accuracy vs labels ({_seeds_said(n_seeds)})")
    _legend_below(axes[0])
    last = {m: max(r["labels_per_class"] for r in records if r["method"] == m) for m in names}
    top = {m: [r for r in records if r["method"] == m and r["labels_per_class"] == last[m]]
           for m in names}
    labels = [f"{m} ({last[m]}/class)" for m in names]
    axes[1].barh(labels, [np.mean([r["seconds"] for r in top[m]]) for m in names])
    axes[1].set(xlabel="seconds per run", title="Wall time (the most labels each ran)")
    axes[2].barh(names, [top[m][0]["trainable_params"] for m in names], color="tab:green")
    axes[2].set(xscale="log", xlabel="trainable parameters (log)", title="Trainable parameters")
    for ax in axes[1:]:
        ax.invert_yaxis()  # the same order as the accuracy panel's legend
    fig.tight_layout()
    return fig


def _by_rate(records: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates, each rate's mean ``metric`` and its 95 % interval's half-width over seeds."""
    lrs = sorted({r["lr"] for r in records})
    mean, half = zip(*(_ci([r for r in records if r["lr"] == lr], metric) for lr in lrs))
    return np.array(lrs), np.array(mean), np.array(half)


def lr_sweep(records: list[dict], scratch_lr: float | None = None) -> plt.Figure:
    """Test accuracy (95 % interval over seeds) and weight distance vs learning rate, with the
    linear probe each run started from, chance and the majority-class floor."""
    lrs, acc, half = _by_rate(records, "test_accuracy")
    first = [r for r in records if r["lr"] == lrs[0]]  # every rate starts from the same probe
    probe, probe_half = _ci(first, "probe_accuracy")
    dist = np.array([np.mean([r["weight_distance"] for r in records if r["lr"] == lr]) for lr in lrs])
    n_seeds = len({r["seed"] for r in records})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5.2))
    a1.errorbar(lrs, acc, yerr=half, marker="o", capsize=3,
                label=f"after full fine-tuning ({_seeds_said(n_seeds)})")
    a1.axhline(probe, color="k", ls="--", alpha=0.7, label="the linear probe each run started from")
    a1.axhspan(probe - probe_half, probe + probe_half, color="k", alpha=0.07,
               label="its 95 % interval")
    _floors(a1, records)
    if scratch_lr:
        a1.axvline(scratch_lr, color="tab:red", ls=":", label=f"from-scratch rate ({scratch_lr:g})")
        a1.axvspan(scratch_lr / 100, scratch_lr / 10, color="tab:green", alpha=0.1,
                   label="'10-100x lower' rule")
    a1.set(xscale="log", xlabel="learning rate", ylabel="test accuracy", ylim=(0, 1),
           title="Fine-tuning rate vs accuracy")
    _legend_below(a1)
    a2.plot(lrs, dist, marker="o", color="tab:purple", label=f"mean over {_seeds_said(n_seeds).split(',')[0]}")
    a2.set(xscale="log", yscale="log", xlabel="learning rate",
           ylabel="||w - w_pretrained|| / ||w_pretrained||",
           title="How far the weights moved (log axis: the rates span 1000x)")
    _legend_below(a2, 1)
    fig.tight_layout()
    return fig


def early_stopping(curves: dict, records: list[dict], patience: int,
                   chosen: float | None = None) -> plt.Figure:
    """Left: validation accuracy per epoch for each rate, mean over seeds with its 95 %
    interval. Right: test accuracy of the epoch early stopping kept vs the last epoch, per rate
    (95 % interval over seeds), the rate chosen on validation marked; chance and majority."""
    rates = sorted({lr for lr, _ in curves})
    seeds = sorted({s for _, s in curves})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.2))
    for lr in rates:
        runs = [[e["val_acc"] for e in curves[(lr, s)]] for s in seeds if (lr, s) in curves]
        n = min(map(len, runs))
        ep = np.arange(1, n + 1)
        mean, half = zip(*(_ci_values([run[i] for run in runs]) for i in range(n)))
        mean, half = np.array(mean), np.array(half)
        line, = a1.plot(ep, mean, marker=".", label=f"lr {lr:g}" + (" (chosen)" if lr == chosen else ""))
        a1.fill_between(ep, mean - half, mean + half, color=line.get_color(), alpha=0.12)
    _floors(a1, records)
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    a1.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1),
           title=f"Validation accuracy per epoch ({_seeds_said(len(seeds))})")
    _legend_below(a1, 3)
    x = np.arange(len(rates))
    for dx, metric, label, marker in ((-0.12, "early_stop_test_accuracy",
                                       f"epoch early stopping kept (patience {patience})", "o"),
                                      (0.12, "test_accuracy", "last epoch", "x")):
        _, mean, half = _by_rate(records, metric)
        a2.errorbar(x + dx, mean, yerr=half, ls="none", marker=marker, capsize=3, markersize=7,
                    label=label)
    if chosen in rates:
        i = rates.index(chosen)
        a2.axvspan(i - 0.4, i + 0.4, color="tab:green", alpha=0.12,
                   label=f"the rate chosen on validation ({chosen:g})")
    _floors(a2, records)
    a2.set_xticks(x, [f"{lr:g}" for lr in rates])
    a2.set(xlabel="learning rate", ylabel="test accuracy", ylim=(0, 1),
           title=f"Test accuracy: kept epoch vs last ({_seeds_said(len(seeds))})")
    _legend_below(a2)
    fig.tight_layout()
    return fig


def _ci_values(values: list[float]) -> tuple[float, float]:
    """Mean and the 95 % interval's half-width of plain per-seed values (0 with one)."""
    if len(values) < 2:
        return float(np.mean(values)), 0.0
    mean, low, _ = interval(values)
    return mean, mean - low
