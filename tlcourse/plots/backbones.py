"""Plot for the backbone-choice experiment (claim 14): accuracy against speed and size.

Example:
    >>> res = run_experiment("backbone-choice", "quick")   # doctest: +SKIP
    >>> backbones.accuracy_vs_speed(res.records)          # doctest: +SKIP
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..experiments.backbone_choice import table

COLORS = {"lite0": "#1f77b4", "lite1": "#2ca02c", "lite2": "#d62728", "small-cnn": "#7f7f7f"}


def accuracy_vs_speed(records: list[dict]) -> Figure:
    """Left: test accuracy (mean and its 95 % interval over seeds, from :func:`tlcourse.stats.
    interval`; no bar with one seed) against images per second on this machine,
    marker area by parameter count; filled = the model's own input size, hollow = the shared
    size. Right: parameters and exported file size per model."""
    rows = table(records)
    fig, (ax, size_ax) = plt.subplots(1, 2, figsize=(12, 4.5),
                                      gridspec_kw={"width_ratios": [3, 2]})
    for r in rows:
        color = COLORS.get(r["model"], "k")
        own = r["size_setting"] == "own"
        if math.isnan(r["accuracy"]):
            continue  # a speed-only row (the small CNN at the shared size)
        if not math.isnan(r["accuracy_low"]):
            ax.errorbar(r["images_per_second"], r["accuracy"],
                        yerr=[[r["accuracy"] - r["accuracy_low"]],
                              [r["accuracy_high"] - r["accuracy"]]],
                        fmt="none", ecolor=color, alpha=0.6, capsize=3)
        ax.scatter(r["images_per_second"], r["accuracy"], s=40 + 60 * r["params_m"],
                   facecolors=color if own else "white", edgecolors=color, linewidths=2,
                   zorder=3, label=f"{r['model']} {r['input_size']} px "
                                   f"({100 * r['accuracy']:.0f} %, {r['images_per_second']:.0f}/s)")
    ax.set_xscale("log")
    ax.set_xlabel("images per second at batch 32 on this machine (log scale; right = faster)")
    ax.set_ylabel("test accuracy")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    seeds = sorted({r["seeds"] for r in rows if r["seeds"]})
    counts = " or ".join(map(str, seeds)) or "0"
    bars = "1 seed: no bars" if seeds == [1] else "bars: 95 % interval"
    ax.set_title(f"accuracy vs speed ({counts} seeds per model, {bars})\nfilled = own input size, "
                 f"hollow = shared size, area ~ parameters", fontsize=9)
    ax.legend(fontsize=7, loc="center right", markerscale=0.5)
    ax.grid(alpha=0.3)

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
