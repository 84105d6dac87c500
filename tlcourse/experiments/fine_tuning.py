"""Claims: fine-tuning beats feature extraction given enough data; train the head first, then
unfreeze (LP-FT); fine-tune at a rate 10-100x lower than from scratch, since a high rate destroys
the pretrained features; early stopping on a validation split prevents overfitting.

Two experiments, both on photos (6 classes) with EfficientNet-Lite0 at 96 px in the quick
profile (full fine-tuning costs ~24 ms per image per epoch there on 2 CPU cores). Every
fine-tuning run keeps BatchNorm statistics as pretrained (``TrainConfig.bn_eval``).

* ``fine-tuning`` - methods on the same data and epoch budget, over labels per class: linear
  probe; the top 1, top 2 or all stages fine-tuned after the head is trained (two-stage, LP-FT);
  all stages from a random head (one stage); discriminative rates (random head at a head rate, each
  stage below ``lr_decay`` x lower).
* ``lr-sweep`` - LP-FT of the whole network at rates 1e-5 ... 1e-1: test accuracy, how far the
  body's weights moved from the pretrained ones, and per-epoch validation/test curves for the
  early-stopping plot.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import few_shot_split, load_dataset, train_val_split
from ..diagnostics import early_stop_epoch, snapshot, weight_distance
from ..features import HEAD_CONFIG, extract_features, train_head
from ..train import evaluate, fit, seed_everything
from . import Results, register


@dataclass(frozen=True)
class FineTuningConfig:
    """Settings of both experiments; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # full fine-tuning costs ~24 ms per image per epoch at 96 px on 2 cores
    labels_per_class: tuple[int, ...] = (2, 5)  # x axis of accuracy vs labels
    seeds: tuple[int, ...] = (0,)  # each seed draws other training images and inits
    epochs: int = 8  # the same budget for every fine-tuning method
    lr: float = 1e-4  # fine-tuning rate (head and body) for top-k and LP-FT
    head_lr: float = 1e-3  # discriminative rates: the head's rate ...
    lr_decay: float = 0.5  # ... and each stage below gets lr_decay x the rate of the one above
    sweep_rates: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # full profile: nine rates
    sweep_labels: int = 5  # labels per class in the rate sweep
    sweep_epochs: int = 5  # enough epochs to see validation accuracy turn
    sweep_seeds: tuple[int, ...] = (0,)
    val_fraction: float = 0.3  # share of the non-training photos used for validation
    patience: int = 2  # early stopping: epochs without validation improvement


PROFILES = {
    "quick": FineTuningConfig(),
    "full": FineTuningConfig(image_size=224, labels_per_class=(2, 5, 10, 12), seeds=(0, 1, 2),
                             epochs=15, sweep_labels=10, sweep_epochs=20, sweep_seeds=(0, 1, 2), patience=3,
                             sweep_rates=(1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)),
}


def _methods(cfg: FineTuningConfig, n_stages: int) -> dict[str, dict]:
    """Each fine-tuning method as keyword arguments of :func:`methods.fine_tune`."""
    base = replace(methods.FINETUNE_CONFIG, epochs=cfg.epochs, lr=cfg.lr)
    return {
        "top-1-stage": {"trainable_stages": 1, "cfg": base, "head_first": True},
        "top-2-stages": {"trainable_stages": 2, "cfg": base, "head_first": True},
        "all-stages (LP-FT)": {"trainable_stages": n_stages, "cfg": base, "head_first": True},
        "all-stages, random head": {"trainable_stages": n_stages, "cfg": base, "head_first": False},
        "discriminative-lr": {"trainable_stages": n_stages, "head_first": False,
                              "cfg": replace(base, lr=cfg.head_lr, lr_decay=cfg.lr_decay)},
    }


@register("fine-tuning", "Ch. 3: linear probe vs top-k / all stages, LP-FT, discriminative rates")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Every method on the same split and epoch budget, over labels per class.

    Example:
        >>> res = run(progress=False)                                    # doctest: +SKIP
        >>> summarize(res.records, by=("method", "labels_per_class"))   # doctest: +SKIP
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("fine-tuning", profile, asdict(cfg))
    photos = load_dataset("photo")
    probe_net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    feats = extract_features(probe_net, photos)
    todo = _methods(cfg, probe_net.num_stages)
    for seed, k in tqdm(list(itertools.product(cfg.seeds, cfg.labels_per_class)),
                        desc="fine-tuning runs", disable=not progress):
        kmax = max(cfg.labels_per_class)  # one test set per seed for every k
        train, test = few_shot_split(photos, k, seed, max_labels=kmax)
        ftrain, ftest = few_shot_split(feats, k, seed, max_labels=kmax)
        outcome = {"linear-probe": methods.linear_probe(ftrain, ftest, seed)}
        for name, kw in todo.items():
            outcome[name] = methods.fine_tune("lite0-imagenet", train, test, cfg.image_size,
                                              seed=seed, **kw)
        for name, r in outcome.items():
            res.records.append(r.record(dataset="photo", method=name, labels_per_class=k, seed=seed,
                                        input_size=cfg.image_size, n_train=len(train)))
    return res


def _sweep_one(cfg: FineTuningConfig, lr: float, seed: int, data: dict) -> tuple[dict, list[dict]]:
    """LP-FT of the whole network at ``lr``; per-epoch validation/test accuracy and distance."""
    seed_everything(seed)
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size)
    head, _ = train_head(extract_features(net.freeze(0), data["train"]),
                         replace(HEAD_CONFIG, seed=seed), seed=seed)
    net.head.load_state_dict(head.state_dict())
    probe_acc = evaluate(net, data["test"])["accuracy"]  # the linear probe this run starts from
    reference = snapshot(net)
    net.unfreeze()

    def measure(model, row: dict) -> None:  # after every epoch: how far, how good on test
        row["weight_distance"] = weight_distance(model, reference)
        row["test_acc"] = evaluate(model, data["test"])["accuracy"]

    train_cfg = replace(methods.FINETUNE_CONFIG, epochs=cfg.sweep_epochs, lr=lr, seed=seed)
    hist = fit(net, data["train"], train_cfg, val=data["val"], on_epoch_end=measure)
    stop = early_stop_epoch(hist.series("val_acc"), cfg.patience)
    rec = {"dataset": "photo", "method": "full-fine-tuning (LP-FT)", "lr": lr, "seed": seed,
           "labels_per_class": cfg.sweep_labels, "input_size": cfg.image_size,
           "test_accuracy": round(hist.epochs[-1]["test_acc"], 4),
           "val_accuracy": round(hist.epochs[-1]["val_acc"], 4), "n_val": len(data["val"]),
           "probe_accuracy": round(probe_acc, 4),
           "weight_distance": round(hist.epochs[-1]["weight_distance"], 5),
           "early_stop_epoch": stop,
           "early_stop_test_accuracy": round(hist.epochs[stop - 1]["test_acc"], 4),
           "seconds": round(hist.seconds, 3), "trainable_params": net.trainable_params()}
    return rec, hist.epochs


@register("lr-sweep", "Ch. 3: full fine-tuning over learning rates, weight distance, early stopping")
def run_sweep(profile: str = "quick", seeds: tuple[int, ...] | None = None,
              progress: bool = True) -> Results:
    """Fine-tune the whole network (after training the head) at each rate of the sweep.

    Records hold the final and early-stopped test accuracy, the probe accuracy the run started
    from and the relative weight distance; ``artifacts["curves"][(lr, seed)]`` holds the epochs.
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, sweep_seeds=tuple(seeds))
    res = Results("lr-sweep", profile, asdict(cfg))
    photos = load_dataset("photo")
    res.artifacts["curves"] = {}
    for seed in cfg.sweep_seeds:
        train, rest = few_shot_split(photos, cfg.sweep_labels, seed)
        test, val = train_val_split(rest, cfg.val_fraction, seed)
        data = {"train": train, "val": val, "test": test}
        for lr in tqdm(cfg.sweep_rates, desc=f"lr sweep (seed {seed})", disable=not progress):
            rec, epochs = _sweep_one(cfg, lr, seed, data)
            res.records.append(rec)
            res.artifacts["curves"][(lr, seed)] = epochs
    return res


def sweep_verdict(records: list[dict], scratch_lr: float = methods.SCRATCH_CONFIG.lr) -> str:
    """Computed sentences: the rate chosen on *validation* accuracy (the test set never picks
    a model), its test accuracy, how it compares with the from-scratch rate, and where the
    pretrained features break."""
    by_lr: dict[float, list[dict]] = {}
    for r in records:
        by_lr.setdefault(r["lr"], []).append(r)
    val = {lr: float(np.mean([r["val_accuracy"] for r in rs])) for lr, rs in sorted(by_lr.items())}
    acc = {lr: float(np.mean([r["test_accuracy"] for r in rs])) for lr, rs in sorted(by_lr.items())}
    probe = float(np.mean([r["probe_accuracy"] for r in records]))
    best = max(val, key=val.get)  # ties go to the lowest rate: the cautious choice
    ratio = scratch_lr / best
    broken = [lr for lr, a in acc.items() if lr > best and a < probe]
    n_val = records[0].get("n_val")
    runner_up = max((a for lr, a in val.items() if lr != best), default=None)
    margin = ""
    if n_val and runner_up is not None:  # how many validation photos the choice rests on
        photos = round((val[best] - runner_up) * n_val)
        if photos == 0:
            tied = [f"{lr:g}" for lr, a in val.items() if lr != best and a == val[best]]
            margin = (f" It tied with {', '.join(tied)} on all {n_val} validation photos (a tie"
                      f" goes to the lower rate) - another draw of photos could pick another.")
        else:
            margin = (f" It beat the next-best rate by {photos} of {n_val} validation photos"
                      + (" - within noise: another draw of photos could pick another rate."
                         if photos <= 2 else "."))
    lines = [f"Rate chosen on the validation photos: {best:g} ({val[best]:.0%} validation, "
             f"{acc[best]:.0%} test accuracy); the from-scratch recipe uses {scratch_lr:g}, so "
             f"the chosen rate is {ratio:g}x lower - "
             + ("inside" if 10 <= ratio <= 100 else "outside")
             + " the popular '10-100x lower' range." + margin]
    if broken:
        lines.append(f"From rate {broken[0]:g} on, fine-tuning ends below the linear probe it "
                     f"started from ({acc[broken[0]]:.0%} vs {probe:.0%} test accuracy): the "
                     f"pretrained features are being destroyed.")
    else:
        lines.append(f"No rate above the chosen one ended below the linear probe ({probe:.0%}).")
    return "\n".join(lines)
