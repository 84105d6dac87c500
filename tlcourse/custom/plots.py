"""Plots of a trained classifier on your own images: PR curves, confusion, top losses, threshold.

They draw what :mod:`tlcourse.custom.metrics` computes (see its docstring for the definitions) and
return the matplotlib ``Figure``, so a notebook cell is one line.

Example:
    >>> r = metrics.report(probs, test.y, test.classes)  # doctest: +SKIP
    >>> fig = pr_curves(r); fig = confusion(r)           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..plots.curves import _show
from . import metrics
from .metrics import Report


def _colors(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _short(name: str, n: int = 12) -> str:
    return name if len(name) <= n else name[:n - 1] + "…"


def _percent_axis(axis) -> None:
    axis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))


def pr_curves(source: Report | Any, y: Any = None, classes: Sequence[str] | None = None,
              threshold: float = metrics.DEFAULT_THRESHOLD,
              ax: plt.Axes | None = None) -> plt.Figure:
    """One precision-recall curve per class (one vs rest), its AP in the legend, and a dot at
    the operating point: the class's precision and recall at the threshold.

    Args:
        source: a :class:`~tlcourse.custom.metrics.Report` (then ``y``, ``classes`` and ``threshold``
            come from it) or ``[N, C]`` probabilities.
        y, classes, threshold: with probabilities, the labels, class names and threshold.

    For a threshold of 50 % or more the dot lies on its curve; below 50 % an image counts as c
    only if c is also its top class, so the dot can sit off the one-vs-rest curve.

    Example:
        >>> fig = pr_curves(probs, test.y, test.classes)  # doctest: +SKIP
    """
    r = source if isinstance(source, Report) else metrics.report(source, y, classes, threshold)
    if r.probs is None or r.y is None:
        raise ValueError("this Report carries no probabilities; pass probs, y and classes")
    curves = metrics.pr_curves(r.probs, r.y)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 5))
    columns = r.columns or r.classes  # a negative class has a column but no curve of its own
    for m, color in zip(r.per_class, _colors(len(r.classes))):
        c = columns.index(m.name)
        if c not in curves:
            continue  # no image of this class: no curve
        prec, rec, _ = curves[c]
        ax.step(rec, prec, where="post", color=color, lw=2, label=f"{m.name} (AP {m.ap:.0%})")
        if m.precision is not None and m.recall is not None:
            ax.plot(m.recall, m.precision, "o", color=color, ms=8, mec="k")
    ax.plot([], [], "o", color="w", mec="k", label=f"at threshold {r.threshold_text}")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.05), xlabel="recall", ylabel="precision")
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.set_title(f"Precision–recall per class (one vs rest), mAP {metrics._pct(r.mean_ap)}\n"
                 f"{metrics._count(r.n_images, 'image')}; dots: operating point at {r.threshold_text}",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def confusion(r: Report, ax: plt.Axes | None = None) -> plt.Figure:
    """The confusion matrix at the report's threshold: counts written in each cell, colour = the
    share of the true class's images (row-normalised), and a last column for "unknown".

    Example:
        >>> fig = confusion(metrics.report(probs, test.y, test.classes))  # doctest: +SKIP
    """
    counts = np.asarray(r.confusion, dtype=float)
    rows = counts.sum(1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    n_cls = len(r.classes)
    size = 1.5 + 0.55 * (n_cls + 1)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n_cls):
        for j in range(n_cls + 1):
            if counts[i, j] or j == i:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=9,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.axvline(n_cls - 0.5, color="gray", lw=1)  # the unknown column is not a class
    ax.set_xticks(range(n_cls + 1), [*r.classes, metrics.UNKNOWN], rotation=45, ha="right")
    ax.set_yticks(range(n_cls), [f"{c} ({int(n)})" for c, n in zip(r.classes, rows[:, 0])])
    ax.set_xlabel(f"predicted (top class if its probability ≥ {r.threshold_text})")
    ax.set_ylabel("true class (images)")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("share of the true class's images")
    _percent_axis(cbar.ax.yaxis)
    ax.set_title(f"Confusion at threshold {r.threshold_text}\n"
                 f"{metrics._count(r.n_images, 'image')}, {metrics._pct(r.unknown_share)} left unknown", fontsize=10)
    fig.tight_layout()
    return fig


def top_losses(images: Any, probs: Any, y: Any, classes: Sequence[str], k: int = 12,
               ncols: int = 6) -> plt.Figure:
    """The ``k`` images with the highest loss, titled "true → predicted (p)"; wrong ones in red.

    Args:
        images: uint8 ``[N, C, H, W]`` (a tensor, an array or an ``ImageData``), in the order of
            ``probs``.
        probs, y, classes: the model's probabilities, the true labels and the class names.

    Example:
        >>> fig = top_losses(test.x, probs, test.y, test.classes)  # doctest: +SKIP
    """
    x = torch.as_tensor(np.asarray(getattr(images, "x", images)))
    p, y = metrics._arrays(probs, y, classes)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images for {len(y)} predictions: pass the images in the "
                         f"order of probs")
    losses = metrics.top_losses(p, y, k)
    ncols = max(1, min(ncols, len(losses)))
    nrows = max(1, -(-len(losses) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.7, nrows * 2.2), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, loss in zip(axes.flat, losses):
        ax.axis("on")
        _show(ax, x[loss.index])
        wrong = loss.pred != loss.true
        ax.set_title(f"{_short(classes[loss.true])} → {_short(classes[loss.pred])} "
                     f"({loss.prob_pred:.0%})\n"
                     f"p(true) {loss.prob_true:.0%}", fontsize=7,
                     color="darkred" if wrong else "black")
    fig.suptitle(f"Top {len(losses)} losses (true → predicted (probability); red = wrong)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def threshold_curve(sweep: list[dict], chosen: float | None = None,
                    ax: plt.Axes | None = None) -> plt.Figure:
    """Macro precision, macro recall and the share left unknown against the threshold (rows of
    :func:`tlcourse.custom.metrics.threshold_sweep`), with the ``chosen`` threshold marked.

    Example:
        >>> sweep = metrics.threshold_sweep(val_probs, val.y)  # doctest: +SKIP
        >>> fig = threshold_curve(sweep, metrics.choose_threshold(val_probs, val.y))  # doctest: +SKIP
    """
    if not sweep:
        raise ValueError("the sweep is empty: pass metrics.threshold_sweep(probs, y)")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 4))
    t = [r["threshold"] for r in sweep]
    for key, label, style in (("macro_precision", "precision (mean over classes)", "o-"),
                              ("macro_recall", "recall (mean over classes)", "s-"),
                              ("macro_f1", "F1 (mean over classes)", "--"),
                              ("unknown_share", 'share left "unknown"', ":")):
        if key in sweep[0]:
            v = [np.nan if r[key] is None else r[key] for r in sweep]
            ax.plot(t, v, style, lw=2, ms=4, label=label)
    if chosen is not None:
        ax.axvline(chosen, color="k", lw=1, alpha=0.7, label=f"chosen {metrics._thr(chosen)}")
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="probability threshold")
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.set_title("What the threshold trades: precision up, recall down, more images unknown",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
              frameon=False)
    fig.tight_layout()
    return fig
