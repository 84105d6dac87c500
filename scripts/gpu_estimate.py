"""Estimate each chapter's full-profile time on one GPU from a smoke run's counted work.

Smoke mode (``tlcourse.smoke``) executes every experiment's full configuration on its real data
and splits but runs only a sliver of each network pass, counting the rest. This script turns
the counts into minutes with the *assumed* GPU throughput in ``tlcourse/smoke.py``: an estimate
to plan with, not a measurement (no one has run the course on a GPU yet).

Usage:  python scripts/gpu_estimate.py
"""

from __future__ import annotations

from tlcourse.experiments import run_experiment
from tlcourse.smoke import fmt_minutes

CHAPTERS = {
    "01_scratch_vs_transfer": ["scratch-vs-transfer", "data-scaling"],
    "02_feature_extraction": ["feature-extraction"],
    "03_fine_tuning": ["fine-tuning", "lr-sweep"],
    "03b_mistakes_lab": ["mistakes-lab"],
    "04_forgetting": ["layer-transfer", "forgetting", "representation-drift"],
    "05_domain_shift": ["domain-shift", "digits-shift"],
    "05b_negative_transfer": ["corruptions", "negative-transfer"],
}


def main() -> None:
    print("| chapter | training images (224-px eq.) | network steps | head steps | "
          "inference images | estimate on one GPU |\n|---|---|---|---|---|---|")
    for chapter, names in CHAPTERS.items():
        works = [run_experiment(n, "full", seeds=None, progress=False, smoke=True).work
                 for n in names]
        total = {k: sum(w[k] for w in works) for k in works[0]}
        print(f"| `{chapter}` | {total['train_images']:,.0f} | {total['train_steps']:,} | "
              f"{total['head_steps']:,} | {total['infer_images']:,.0f} | "
              f"{fmt_minutes(total['gpu_seconds_estimate'])} |")


if __name__ == "__main__":
    main()
