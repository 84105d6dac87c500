"""Claims: fine-tuning beats feature extraction given enough data; train the head first, then
unfreeze (LP-FT); fine-tune at a rate 10-100x lower than from scratch, since a high rate destroys
the pretrained features; early stopping on a validation split prevents overfitting.

Two experiments, both on photos (6 classes) with EfficientNet-Lite0 at 96 px in the quick
profile (full fine-tuning costs ~24 ms per image per epoch there on 2 CPU cores). Every
fine-tuning run keeps BatchNorm statistics as pretrained (``TrainConfig.bn_eval``).

* ``fine-tuning`` - methods on the same data, over labels per class and seeds, each with the
  same budget counted in optimiser steps. Every arm runs the same two phases:

  - a *head phase*: ``HEAD_CONFIG`` on the head alone, the body frozen (on features computed
    once, the same numbers as the network with its body frozen and BatchNorm in eval mode);
  - a *joint phase*: ``epochs`` of the fine-tuning recipe on the head and the unfrozen stages.

  The linear probe unfreezes no stage, so its joint phase trains its head alone; the top 1, top
  2 or all stages run head phase then joint phase (two-stage, LP-FT); the random-head arms
  (one rate, or discriminative rates: head at ``head_lr``, each stage below ``lr_decay`` x
  lower) run the joint phase first, from a random head, and the same head phase after it. So
  LP-FT and "all stages, random head" take the same steps at the same rates and differ only in
  their order: whatever separates them is what training the head first buys. Records carry the
  counted ``head_steps`` (the head alone), ``body_steps`` (stages unfrozen) and their sum
  ``optimizer_steps``.
* ``lr-sweep`` - LP-FT of the whole network at rates 1e-5 ... 1e-1 (the same steps at every
  rate): test accuracy, how far the body's weights moved from the pretrained ones, and
  per-epoch validation curves for the early-stopping plot, with the test accuracy of the epoch
  early stopping keeps and of the last one.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import numpy as np
from torch.optim.optimizer import register_optimizer_step_post_hook
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, train_val_split
from ..diagnostics import early_stop_epoch, snapshot, weight_distance
from ..features import HEAD_CONFIG, extract_features, train_head
from ..stats import compare, mean_sd
from ..stats import mean_sd_text as _pct
from ..train import TrainConfig, evaluate, fit, seed_everything
from . import Results, register


@dataclass(frozen=True)
class FineTuningConfig:
    """Settings of both experiments; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # full fine-tuning costs ~24 ms per image per epoch at 96 px on 2 cores
    labels_per_class: tuple[int, ...] = (5,)  # x axis of accuracy vs labels
    seeds: tuple[int, ...] = (0, 1)  # each seed draws other training images and inits; two
    # seeds cost what one seed at 2 and 5 labels did, and give every gap a spread
    epochs: int = 8  # joint phase: the same budget for every arm (the head phase: HEAD_CONFIG)
    lr: float = 1e-4  # fine-tuning rate (head and body) for top-k, LP-FT and the random head
    head_lr: float = 1e-3  # discriminative rates: the head's rate ...
    lr_decay: float = 0.5  # ... and each stage below gets lr_decay x the rate of the one above
    sweep_rates: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # full profile: nine rates
    sweep_labels: int = 5  # labels per class in the rate sweep
    sweep_epochs: int = 5  # enough epochs to see validation accuracy turn
    sweep_seeds: tuple[int, ...] = (0, 1)  # two seeds: the gaps to the probe get a spread
    val_fraction: float = 0.3  # share of the non-training photos used for validation
    patience: int = 2  # early stopping: epochs without validation improvement


PROFILES = {
    "quick": FineTuningConfig(),
    "full": FineTuningConfig(image_size=224, labels_per_class=(2, 5, 10, 12), seeds=(0, 1, 2),
                             epochs=15, sweep_labels=10, sweep_epochs=20, sweep_seeds=(0, 1, 2), patience=3,
                             sweep_rates=(1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)),
}

PROBE = "linear-probe"
LPFT = "all-stages (LP-FT)"
RANDOM_HEAD = "all-stages, random head"
DISCRIMINATIVE = "discriminative-lr"
_HEAD_FIRST = ("top-1-stage", "top-2-stages", LPFT)  # LP-FT at 1, 2 or all stages


@contextmanager
def count_steps() -> Iterator[dict[str, int]]:
    """Count the optimiser steps taken inside the block.

    A step is a ``body_steps`` step when its optimiser updates any stage of a network's body
    (a :class:`~tlcourse.backbones.TransferNet` names its parameter groups), else a
    ``head_steps`` step (a head on cached features, or a network with every stage frozen).

    Example:
        >>> with count_steps() as steps:                                  # doctest: +SKIP
        ...     methods.fine_tune("lite0-imagenet", train, test, 96)
        >>> steps                                                         # doctest: +SKIP
        {'head_steps': 100, 'body_steps': 16}
    """
    steps = {"head_steps": 0, "body_steps": 0}

    def count(opt, args, kwargs) -> None:
        body = any(g.get("name", "head") != "head" for g in opt.param_groups)
        steps["body_steps" if body else "head_steps"] += 1

    handle = register_optimizer_step_post_hook(count)
    try:
        yield steps
    finally:
        handle.remove()


def _methods(cfg: FineTuningConfig, n_stages: int) -> dict[str, dict]:
    """Each fine-tuning method as keyword arguments of :func:`methods.fine_tune`."""
    base = replace(methods.FINETUNE_CONFIG, epochs=cfg.epochs, lr=cfg.lr)
    return {
        "top-1-stage": {"trainable_stages": 1, "cfg": base, "head_first": True},
        "top-2-stages": {"trainable_stages": 2, "cfg": base, "head_first": True},
        LPFT: {"trainable_stages": n_stages, "cfg": base, "head_first": True},
        RANDOM_HEAD: {"trainable_stages": n_stages, "cfg": base, "head_first": False},
        DISCRIMINATIVE: {"trainable_stages": n_stages, "head_first": False,
                         "cfg": replace(base, lr=cfg.head_lr, lr_decay=cfg.lr_decay)},
    }


def _probe(train: ImageData, test: ImageData, seed: int, joint: TrainConfig) -> methods.MethodResult:
    """The linear probe with the fine-tuners' budget: the head phase, then the joint phase's
    steps with no stage unfrozen - its head alone, on the cached features."""
    r = methods.linear_probe(train, test, seed)
    history = fit(r.model, train, replace(joint, seed=seed))
    ev = evaluate(r.model, test)
    return replace(r, test_accuracy=ev["accuracy"], preds=ev["preds"], history=history,
                   seconds=r.seconds + history.seconds, balanced_accuracy=ev["mean_recall"])


@register("fine-tuning", "Ch. 3: linear probe vs top-k / all stages, LP-FT, discriminative rates")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Every method on the same split and the same optimiser steps, over labels per class.

    Example:
        >>> res = run(progress=False)                                    # doctest: +SKIP
        >>> print(format_table(table(res.records)))                      # doctest: +SKIP
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("fine-tuning", profile, asdict(cfg))
    photos = load_dataset("photo")
    probe_net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    feats = extract_features(probe_net, photos)
    todo = _methods(cfg, probe_net.num_stages)
    joint = replace(methods.FINETUNE_CONFIG, epochs=cfg.epochs, lr=cfg.lr)
    for seed, k in tqdm(list(itertools.product(cfg.seeds, cfg.labels_per_class)),
                        desc="fine-tuning runs", disable=not progress):
        kmax = max(cfg.labels_per_class)  # one test set per seed for every k
        train, test = few_shot_split(photos, k, seed, max_labels=kmax)
        ftrain, ftest = few_shot_split(feats, k, seed, max_labels=kmax)
        outcome = {}
        with count_steps() as steps:
            outcome[PROBE] = (_probe(ftrain, ftest, seed, joint), dict(steps), joint)
        for name, kw in todo.items():
            with count_steps() as steps:
                r = methods.fine_tune("lite0-imagenet", train, test, cfg.image_size, seed=seed, **kw)
            outcome[name] = (r, dict(steps), kw["cfg"])
        for name, (r, steps, c) in outcome.items():
            res.records.append(r.record(
                dataset="photo", method=name, labels_per_class=k, seed=seed,
                input_size=cfg.image_size, n_train=len(train), n_test=len(test), lr=c.lr,
                lr_decay=c.lr_decay, **steps,
                optimizer_steps=steps["head_steps"] + steps["body_steps"]))
    return res


def table(records: list[dict]) -> list[dict]:
    """Per method and labels per class: test accuracy and balanced accuracy (mean per-class
    recall - the photo test set is imbalanced) as mean ± sd over seeds, and the optimiser
    steps each run took, for :func:`~tlcourse.experiments.format_table`."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], r["labels_per_class"]), []).append(r)
    return [{"method": m, "labels_per_class": k, "seeds": len(rs),
             "accuracy": _pct([r["test_accuracy"] for r in rs]),
             "balanced_accuracy": _pct([r["balanced_accuracy"] for r in rs]),
             "head_steps": "/".join(sorted({str(r["head_steps"]) for r in rs})),
             "body_steps": "/".join(sorted({str(r["body_steps"]) for r in rs}))}
            for (m, k), rs in groups.items()]


def _gaps(records: list[dict], a: str, b: str, k: int, metric: str = "test_accuracy") -> list[float]:
    """Per seed, ``metric`` of method ``a`` minus that of ``b`` (paired: same split, same seed)."""
    at = {(r["method"], r["seed"]): r[metric] for r in records if r["labels_per_class"] == k}
    return [at[(a, s)] - at[(b, s)] for (m, s) in at if m == a and (b, s) in at]


def findings(records: list[dict]) -> list[str]:
    """Computed sentences for each number of labels per class: the budget every arm took, then
    each claim as a paired, sign- and noise-aware comparison (``tlcourse.stats.compare``),
    naming every way the two arms differ."""
    out = []
    for k in sorted({r["labels_per_class"] for r in records}):
        at = [r for r in records if r["labels_per_class"] == k]
        by = {m: [r for r in at if r["method"] == m] for m in dict.fromkeys(r["method"] for r in at)}
        budgets = {r["optimizer_steps"] for r in at}
        head = {r["head_steps"] for r in by.get(LPFT, [])}
        body = {r["body_steps"] for r in by.get(LPFT, [])}
        if len(budgets) == 1 and len(head) == len(body) == 1:
            out.append(f"{k} labels per class - budget: every arm took {budgets.pop()} optimiser "
                       f"steps per run: {head.pop()} on the head alone and {body.pop()} of the "
                       f"fine-tuning recipe (the linear probe unfreezes no stage, so those train "
                       f"its head alone).")
        else:
            out.append(f"{k} labels per class - the arms' budgets differ ("
                       + ", ".join(f"{m}: {sorted({r['optimizer_steps'] for r in rs})}"
                                   for m, rs in by.items()) + " optimiser steps): compare with care.")
        if PROBE in by:
            p = by[PROBE]
            base = (f"  Baseline: the linear probe, {_pct([r['test_accuracy'] for r in p])} "
                    f"accuracy, {_pct([r['balanced_accuracy'] for r in p])} balanced.")
            vs = [compare(m, "the linear probe", _gaps(at, m, PROBE, k))
                  for m in by if m in _HEAD_FIRST]
            out.append(base + " Fine-tuning vs feature extraction: " + "; ".join(vs) + ".")
        if LPFT in by and RANDOM_HEAD in by:
            out.append(f"  Order: {compare('LP-FT (head first)', 'the random head (head last)', _gaps(at, LPFT, RANDOM_HEAD, k))}"
                       f" - the same steps at the same rate ({by[LPFT][0]['lr']:g}); only the "
                       f"order differs.")
        if DISCRIMINATIVE in by and RANDOM_HEAD in by:
            d = by[DISCRIMINATIVE][0]
            out.append(f"  Rates: {compare('discriminative rates', 'one rate', _gaps(at, DISCRIMINATIVE, RANDOM_HEAD, k))}"
                       f" - both from a random head with the same steps; the head at "
                       f"{d['lr']:g} and each stage below {d['lr_decay']:g}x lower vs "
                       f"{by[RANDOM_HEAD][0]['lr']:g} everywhere.")
    return out


def _sweep_one(cfg: FineTuningConfig, lr: float, seed: int, data: dict) -> tuple[dict, list[dict]]:
    """LP-FT of the whole network at ``lr``: per-epoch validation accuracy and weight distance;
    test accuracy of the last epoch and of the epoch early stopping keeps (the test set is
    evaluated twice at most - it never takes part in choosing)."""
    seed_everything(seed)
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size)
    test_feats = extract_features(net.freeze(0), data["test"])  # cached: the same for every rate
    with count_steps() as head_steps:
        head, _ = train_head(extract_features(net, data["train"]),
                             replace(HEAD_CONFIG, seed=seed), seed=seed)
    probe_acc = evaluate(head, test_feats)["accuracy"]  # the linear probe this run starts from
    net.head.load_state_dict(head.state_dict())
    reference = snapshot(net)
    net.unfreeze()
    kept: dict = {"best": -1.0, "bad": 0, "state": None}  # early_stop_epoch's rule, run live

    def measure(model, row: dict) -> None:  # after every epoch: how far; keep the best weights
        row["weight_distance"] = weight_distance(model, reference)
        if kept["bad"] >= cfg.patience:
            return  # early stopping would have stopped already
        if row["val_acc"] > kept["best"]:
            kept.update(best=row["val_acc"], bad=0, state=copy.deepcopy(model.state_dict()))
        else:
            kept["bad"] += 1

    train_cfg = replace(methods.FINETUNE_CONFIG, epochs=cfg.sweep_epochs, lr=lr, seed=seed)
    with count_steps() as steps:
        hist = fit(net, data["train"], train_cfg, val=data["val"], on_epoch_end=measure)
    stop, last = early_stop_epoch(hist.series("val_acc"), cfg.patience), hist.epochs[-1]
    ev = evaluate(net, data["test"])
    last["test_acc"] = ev["accuracy"]
    if stop != len(hist.epochs):
        net.load_state_dict(kept["state"])
        hist.epochs[stop - 1]["test_acc"] = evaluate(net, data["test"])["accuracy"]
    rec = {"dataset": "photo", "method": "full-fine-tuning (LP-FT)", "lr": lr, "seed": seed,
           "labels_per_class": cfg.sweep_labels, "input_size": cfg.image_size,
           "test_accuracy": round(ev["accuracy"], 4),
           "balanced_accuracy": round(ev["mean_recall"], 4),
           "val_accuracy": round(last["val_acc"], 4), "n_val": len(data["val"]),
           "probe_accuracy": round(probe_acc, 4),
           "weight_distance": round(last["weight_distance"], 5),
           "early_stop_epoch": stop, "epochs": len(hist.epochs),
           "early_stop_test_accuracy": round(hist.epochs[stop - 1]["test_acc"], 4),
           "head_steps": head_steps["head_steps"], "body_steps": steps["body_steps"],
           "seconds": round(hist.seconds, 3), "trainable_params": net.trainable_params()}
    return rec, hist.epochs


@register("lr-sweep", "Ch. 3: full fine-tuning over learning rates, weight distance, early stopping")
def run_sweep(profile: str = "quick", seeds: tuple[int, ...] | None = None,
              progress: bool = True) -> Results:
    """Fine-tune the whole network (after training the head) at each rate of the sweep.

    Records hold the final and early-stopped test accuracy, the probe accuracy the run started
    from and the relative weight distance; ``artifacts["curves"][(lr, seed)]`` holds the epochs
    (validation accuracy and weight distance each; ``test_acc`` at the last and the kept epoch).
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


def sweep_table(records: list[dict]) -> list[dict]:
    """Per rate: validation, test and balanced test accuracy (mean ± sd over seeds), the probe
    each run started from, and how far the weights moved."""
    rates = sorted({r["lr"] for r in records})
    rows = []
    for lr in rates:
        rs = [r for r in records if r["lr"] == lr]
        rows.append({"lr": f"{lr:g}", "seeds": len(rs),
                     "validation": _pct([r["val_accuracy"] for r in rs]),
                     "test": _pct([r["test_accuracy"] for r in rs]),
                     "balanced_test": _pct([r["balanced_accuracy"] for r in rs]),
                     "probe_test": _pct([r["probe_accuracy"] for r in rs]),
                     "weight_distance": f"{np.mean([r['weight_distance'] for r in rs]):.3g}"})
    return rows


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def sweep_verdict(records: list[dict], scratch_lr: float = methods.SCRATCH_CONFIG.lr) -> str:
    """Computed sentences: the rate chosen on *validation* accuracy (the test set never picks
    a model), its test accuracy, how it compares with the from-scratch rate, and from which
    rate fine-tuning ends below the linear probe it started from (paired per seed)."""
    by_lr: dict[float, list[dict]] = {}
    for r in records:
        by_lr.setdefault(r["lr"], []).append(r)
    val = {lr: float(np.mean([r["val_accuracy"] for r in rs])) for lr, rs in sorted(by_lr.items())}
    acc = {lr: float(np.mean([r["test_accuracy"] for r in rs])) for lr, rs in sorted(by_lr.items())}
    probe = float(np.mean([r["probe_accuracy"] for r in records]))
    n_seeds = len({r.get("seed") for r in records})
    best = max(val, key=val.get)  # ties go to the lowest rate: the cautious choice
    ratio = scratch_lr / best
    above = [lr for lr in acc if lr > best]
    # the lowest rate from which every higher rate ends below the probe
    broken = next((lr for i, lr in enumerate(above) if all(acc[x] < probe for x in above[i:])), None)
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
    if ratio >= 1:
        rel = (f"{ratio:.3g}x lower - " + ("inside" if 10 <= ratio <= 100 else "outside")
               + " the popular '10-100x lower' range.")
    else:
        rel = f"{1 / ratio:.3g}x higher - the opposite of the popular '10-100x lower' advice."
    lines = [f"Rate chosen on the validation photos ({_seeds(n_seeds)}): {best:g} ({val[best] * 100:.0f} % "
             f"validation, {acc[best] * 100:.0f} % test accuracy); the from-scratch recipe uses "
             f"{scratch_lr:g}, so the chosen rate is {rel}" + margin]
    if broken is not None:
        gaps = [r["probe_accuracy"] - r["test_accuracy"] for r in by_lr[broken]]
        _, s = mean_sd(gaps)
        noisy = not np.isnan(s) and float(np.mean(gaps)) < s
        lines.append(f"From rate {broken:g} on, fine-tuning ends below the linear probe it started "
                     f"from: {compare('the linear probe', f'fine-tuning at {broken:g}', gaps)}"
                     + (" - too close to call a loss of the pretrained features."
                        if noisy else " - the pretrained features are being overwritten."))
    else:
        lines.append(f"No rate above the chosen one ended below the linear probe it started from "
                     f"({probe * 100:.0f} %, {_seeds(n_seeds)}).")
    return "\n".join(lines)


def early_stopping_findings(records: list[dict]) -> list[str]:
    """Per rate: the test accuracy of the epoch early stopping keeps vs the last epoch, paired
    per seed, sign- and noise-aware."""
    out = []
    for lr in sorted({r["lr"] for r in records}):
        rs = [r for r in records if r["lr"] == lr]
        kept = sorted({r["early_stop_epoch"] for r in rs})
        gaps = [r["early_stop_test_accuracy"] - r["test_accuracy"] for r in rs]
        if all(r["early_stop_epoch"] == r["epochs"] for r in rs):
            out.append(f"lr {lr:g}: early stopping kept the last epoch - nothing to gain or lose.")
        elif not any(gaps):
            out.append(f"lr {lr:g}: early stopping kept epoch {'/'.join(map(str, kept))} of "
                       f"{rs[0]['epochs']}, with the same test accuracy as the last epoch "
                       f"({_seeds(len(rs))}).")
        else:
            out.append(f"lr {lr:g}: early stopping kept epoch {'/'.join(map(str, kept))} of "
                       f"{rs[0]['epochs']}: "
                       + compare("early stopping", "the last epoch", gaps) + " on test.")
    return out
