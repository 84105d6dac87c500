"""Plot for the backbone-choice experiment (claim 14): accuracy against speed and size.

Example:
    >>> res = run_experiment("backbone-choice", "quick")   # doctest: +SKIP
    >>> backbones.accuracy_vs_speed(res.records)          # doctest: +SKIP
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from ..experiments.backbone_choice import table

COLORS = {"lite0": "#1f77b4", "lite1": "#2ca02c", "lite2": "#d62728", "small-cnn": "#7f7f7f"}


TITLES = {"photo": "object photos", "clipart": "clip art"}


def accuracy_vs_speed(records: list[dict]) -> Figure:
    """One panel per target set: test accuracy (mean and its 95 % interval over seeds, from
    :func:`tlcourse.stats.interval`; no bar with one seed) against images per second on this
    machine (median over the timed batches, horizontal bar: quartiles), marker area by parameter
    count; filled = the model's own input size, hollow = the shared size; chance and the
    majority class drawn, the y axis from 0. Last panel: parameters and exported file size."""
    rows = table(records)
    targets = list(dict.fromkeys(r["target"] for r in rows))
    fig, axes = plt.subplots(1, len(targets) + 1, figsize=(6 * len(targets) + 4, 6.4),
                             gridspec_kw={"width_ratios": [3] * len(targets) + [2]})
    for ax, target in zip(axes, targets):
        at = [r for r in rows if r["target"] == target and not math.isnan(r["accuracy"])]
        for r in at:  # (a speed-only row, the small CNN at the shared size, has no accuracy)
            color = COLORS.get(r["model"], "k")
            own = r["size_setting"] == "own"
            yerr = ([[r["accuracy"] - r["accuracy_low"]], [r["accuracy_high"] - r["accuracy"]]]
                    if not math.isnan(r["accuracy_low"]) else None)
            ax.errorbar(r["images_per_second"], r["accuracy"], yerr=yerr,
                        xerr=[[r["images_per_second"] - r["ips_low"]],
                              [r["ips_high"] - r["images_per_second"]]],
                        fmt="none", ecolor=color, alpha=0.6, capsize=3)
            ax.scatter(r["images_per_second"], r["accuracy"], s=40 + 60 * r["params_m"],
                       facecolors=color if own else "white", edgecolors=color, linewidths=2,
                       zorder=3, label=f"{r['model']} {r['input_size']} px "
                       f"({100 * r['accuracy']:.0f} %, {r['images_per_second']:.0f}/s)")
        classes = 6  # the object sets' six classes
        ax.axhline(1 / classes, ls=":", color="k", lw=1, label=f"chance ({100 / classes:.0f} %)")
        majority = [r["majority"] for r in at if not math.isnan(r["majority"])]
        if majority:
            ax.axhline(max(majority), ls="--", color="0.5", lw=1,
                       label=f"majority class ({100 * max(majority):.0f} %)")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("images per second at batch 32 on this machine\n(log scale; right = "
                      "faster; bar: quartiles of the timed batches)", fontsize=8)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        seeds = sorted({r["seeds"] for r in at if r["seeds"]})
        counts = " or ".join(map(str, seeds)) or "0"
        bars = "1 seed: no bars" if seeds == [1] else "bars: 95 % interval"
        ax.set_title(f"{TITLES.get(target, target)}: accuracy vs speed\n({counts} seeds per "
                     f"model, {bars})\nfilled = own input size, hollow = 224 px", fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
                  markerscale=0.5, frameon=False)  # below the panel: no point or line hidden
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    size_ax = axes[-1]
    rows = [r for r in rows if r["target"] == targets[0]]

    own = [r for r in rows if r["size_setting"] == "own"]
    names = [f"{r['model']}\n{r['input_size']} px" for r in own]
    xs = range(len(own))
    size_ax.bar([x - 0.2 for x in xs], [r["params_m"] for r in own], width=0.4,
                color=[COLORS.get(r["model"], "k") for r in own], label="parameters (M)")
    exported = any(r["onnx_mb"] for r in own)
    size_ax.bar([x + 0.2 for x in xs], [(r["onnx_mb"] or 0) if exported else r["weights_mb"]
                                        for r in own], width=0.4, color="white",
                edgecolor=[COLORS.get(r["model"], "k") for r in own], hatch="//",
                label="ONNX file (MB)" if exported else "float32 weights (MB)")
    size_ax.set_xticks(list(xs), names, fontsize=8)
    size_ax.set_title("size: parameters and " + ("exported file" if exported else "weights"),
                      fontsize=9)
    size_ax.legend(fontsize=8)
    size_ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
