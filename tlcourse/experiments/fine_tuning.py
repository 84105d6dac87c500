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

  The linear probe unfreezes no stage, so its joint phase trains its head alone; the top 1 (full
  profile only), top 2 or all stages run head phase then joint phase (two-stage, LP-FT); the
  random-head arms (one rate, or - full profile only - discriminative rates: head at
  ``head_lr``, each stage below ``lr_decay`` x lower) run the joint phase first, from a random
  head, and the same head phase after it. So
  LP-FT and "all stages, random head" take the same steps at the same rates and differ only in
  their order: whatever separates them is what training the head first buys. Records carry the
  counted ``head_steps`` (the head alone), ``body_steps`` (stages unfrozen) and their sum
  ``optimizer_steps``, and the per-photo outcomes the judge pairs (``item_correct``,
  ``test_set``, ``n_test``). The probe and the top 2 stages run at every ``labels_per_class``
  (claim 4's curve, up to the 12 per class the photos allow); the other arms at
  ``order_labels``, where the probe, LP-FT and the random head are also scored on clip art of
  the same classes (``clipart_*`` fields: out of distribution, the same images every seed).
* ``lr-sweep`` - LP-FT of the whole network at rates 1e-5 ... 1e-2, the from-scratch rate 3e-3
  among them (the same steps at every rate): test accuracy, how far the body's weights moved
  from the pretrained ones, and per-epoch validation curves for the early-stopping plot, with
  the test accuracy of the epoch early stopping keeps and of the last one. Claims 6 and 10 are
  judged at the rate chosen on validation (:mod:`~tlcourse.experiments.lr_choice`).
"""

from __future__ import annotations

import copy
import itertools
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from torch.optim.optimizer import register_optimizer_step_post_hook
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class, train_val_split
from ..diagnostics import early_stop_epoch, snapshot, weight_distance
from ..features import HEAD_CONFIG, extract_features, train_head
from ..stats import HOLDS, OPPOSITE, PerSeed, Verdict, by_seed, judge
from ..stats import mean_sd_text as _pct
from ..train import TrainConfig, evaluate, fit, seed_everything
from . import Results, register
from .lr_choice import (  # noqa: F401  (the sweep's table and sentences: chapter 3 calls them here)
    ITEMS,
    accuracy_text,
    chosen_rate,
    early_stopping_findings,
    sweep_findings,
    sweep_table,
)


@dataclass(frozen=True)
class FineTuningConfig:
    """Settings of both experiments; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # full fine-tuning costs ~24 ms per image per epoch at 96 px on 2 cores
    labels_per_class: tuple[int, ...] = (2, 5, 12)  # claim 4's curve: the probe and the
    # curve_methods at each; 12 is the most the photos allow (5 test photos kept per class)
    curve_methods: tuple[str, ...] = ("top-2-stages",)  # run at every labels_per_class
    order_labels: tuple[int, ...] = (5,)  # the other methods run at these only
    seeds: tuple[int, ...] = (0, 1, 2)  # each seed draws other training and test images and
    # inits; three seeds: the judge's t interval over two seeds is too wide to decide much
    methods: tuple[str, ...] = ("top-2-stages", "all-stages (LP-FT)", "all-stages, random head")
    # besides the probe; the full profile adds top-1-stage and discriminative-lr (no claim
    # reads them: the quick profile spends those minutes on claim 4's curve)
    clipart_per_class: int = 30  # clip art of the same classes (out of distribution): at most
    # this many per class, the same images every seed, scored for the probe, LP-FT and the
    # random head at order_labels (claim 5: Kumar et al. 2022's strongest case)
    epochs: int = 8  # joint phase: the same budget for every arm (the head phase: HEAD_CONFIG)
    lr: float = 1e-4  # fine-tuning rate (head and body) for top-k, LP-FT and the random head
    head_lr: float = 1e-3  # discriminative rates: the head's rate ...
    lr_decay: float = 0.5  # ... and each stage below gets lr_decay x the rate of the one above
    sweep_rates: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 3e-3, 1e-2)  # 3e-3 is the from-scratch
    # rate claim 6 is judged against; 1e-2 already collapses every run (1e-1 adds nothing).
    # The full profile: nine rates
    sweep_labels: int = 5  # labels per class in the rate sweep
    sweep_epochs: int = 5  # enough epochs to see validation accuracy turn
    sweep_seeds: tuple[int, ...] = (0, 1, 2)  # three seeds: the gaps get a usable interval
    val_fraction: float = 0.3  # share of the non-training photos used for validation
    patience: int = 2  # early stopping: epochs without validation improvement


PROFILES = {
    "quick": FineTuningConfig(),
    "full": FineTuningConfig(image_size=224, labels_per_class=(2, 5, 10, 12), seeds=(0, 1, 2),
                             order_labels=(2, 5, 10, 12), clipart_per_class=200,
                             methods=("top-1-stage", "top-2-stages", "all-stages (LP-FT)",
                                      "all-stages, random head", "discriminative-lr"),
                             epochs=15, sweep_labels=10, sweep_epochs=20, sweep_seeds=(0, 1, 2), patience=3,
                             sweep_rates=(1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)),
}

PROBE = "linear-probe"
LPFT = "all-stages (LP-FT)"
RANDOM_HEAD = "all-stages, random head"
DISCRIMINATIVE = "discriminative-lr"
CLIPART = (PROBE, LPFT, RANDOM_HEAD)  # the arms also scored on clip art (claim 5)
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


def majority_share(data: ImageData) -> float:
    """The accuracy of always answering the most common class of ``data``: the floor an
    accuracy plot draws beside chance."""
    return float(data.y.bincount().max()) / len(data.y)


def item_correct(preds, test: ImageData) -> list[int]:
    """Per test item, 1 where ``preds`` is right, else 0, in the test set's order: the per-item
    outcomes :func:`tlcourse.stats.judge` pairs between two arms of a seed."""
    return (preds == test.y).int().tolist()


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


@register("fine-tuning", "Ch. 3: linear probe vs top-k / all stages over labels, LP-FT, clip art", PROFILES)
def run(cfg: FineTuningConfig, res: Results, progress: bool) -> Results:
    """Every method on the same split and the same optimiser steps, over labels per class.

    Example:
        >>> res = run(progress=False)                                    # doctest: +SKIP
        >>> print(format_table(table(res.records)))                      # doctest: +SKIP
    """
    photos = load_dataset("photo")
    clip = sample_per_class(load_dataset("clipart"), cfg.clipart_per_class, 0)  # fixed
    if clip.classes != photos.classes:
        raise ValueError(f"clip art classes {clip.classes} differ from the photos' {photos.classes}")
    probe_net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    feats, clip_feats = extract_features(probe_net, photos), extract_features(probe_net, clip)
    todo = {m: kw for m, kw in _methods(cfg, probe_net.num_stages).items() if m in cfg.methods}
    joint = replace(methods.FINETUNE_CONFIG, epochs=cfg.epochs, lr=cfg.lr)
    ks = sorted(set(cfg.labels_per_class) | set(cfg.order_labels))
    kmax = max(ks)  # one test set per seed for every k
    for seed, k in tqdm(list(itertools.product(cfg.seeds, ks)),
                        desc="fine-tuning runs", disable=not progress):
        train, test = few_shot_split(photos, k, seed, max_labels=kmax)
        ftrain, ftest = few_shot_split(feats, k, seed, max_labels=kmax)
        outcome = {}
        with count_steps() as steps:
            outcome[PROBE] = (_probe(ftrain, ftest, seed, joint), dict(steps), joint)
        for name, kw in todo.items():
            if k not in cfg.order_labels and name not in cfg.curve_methods:
                continue
            with count_steps() as steps:
                r = methods.fine_tune("lite0-imagenet", train, test, cfg.image_size, seed=seed, **kw)
            outcome[name] = (r, dict(steps), kw["cfg"])
        for name, (r, steps, c) in outcome.items():
            extra = {}
            if name in CLIPART and k in cfg.order_labels:  # out of distribution: clip art
                ev = evaluate(r.model, clip_feats if name == PROBE else clip)
                extra = {"clipart_accuracy": round(ev["accuracy"], 4),
                         "clipart_balanced_accuracy": round(ev["mean_recall"], 4),
                         "clipart_item_correct": item_correct(ev["preds"], clip),
                         "n_clipart": len(clip)}
            res.records.append(r.record(
                dataset="photo", method=name, labels_per_class=k, seed=seed,
                input_size=cfg.image_size, n_train=len(train), n_test=len(test), lr=c.lr,
                lr_decay=c.lr_decay, **steps,
                optimizer_steps=steps["head_steps"] + steps["body_steps"],
                item_correct=item_correct(r.preds, test), test_set="resampled",
                n_classes=len(photos.classes), majority_share=round(majority_share(test), 4),
                **extra))
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


def _seed_list(v: Verdict) -> str:
    """The seeds a verdict rests on: 'seeds 0, 1, 2'."""
    seeds = v.seeds or ()
    return f"seed{'s' if len(seeds) != 1 else ''} {', '.join(map(str, seeds))}"


def verdict(records: list[dict], a: str, b: str, k: int,
            metric: str = "test_accuracy") -> Verdict:
    """The judge's verdict on method ``a`` minus method ``b`` at ``k`` labels per class, paired
    by seed (same split, same seed), with the per-item outcomes where the records keep them."""
    at = [r for r in records if r["labels_per_class"] == k]
    return judge(by_seed(at, metric, method=a), by_seed(at, metric, method=b))


def findings(records: list[dict]) -> list[str]:
    """Computed sentences for each number of labels per class: the budget every arm took, then
    each claim as the judge's verdict on a paired comparison (:func:`tlcourse.stats.judge`:
    sign, size, 95 % interval, seeds and test photos), naming every way the two arms differ."""
    out = []
    for k in sorted({r["labels_per_class"] for r in records}):
        at = [r for r in records if r["labels_per_class"] == k]
        by = {m: [r for r in at if r["method"] == m] for m in dict.fromkeys(r["method"] for r in at)}
        budgets = {r["optimizer_steps"] for r in at}
        tuned = [r for r in at if r["method"] != PROBE]
        head, body = {r["head_steps"] for r in tuned}, {r["body_steps"] for r in tuned}
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
            base = (f"  Baseline: the linear probe, {accuracy_text(p)} accuracy, "
                    f"{accuracy_text(p, 'balanced_accuracy')} balanced.")
            vs = [verdict(records, m, PROBE, k) for m in by if m in _HEAD_FIRST]
            said = "; ".join(v.text(m, "the linear probe", ITEMS)
                             for m, v in zip((m for m in by if m in _HEAD_FIRST), vs))
            seeds = f" Paired on {_seed_list(vs[0])}." if vs else ""
            out.append(base + " Fine-tuning vs feature extraction: " + said + "." + seeds)
        if LPFT in by and RANDOM_HEAD in by:
            v = verdict(records, LPFT, RANDOM_HEAD, k)
            out.append(f"  Order: {v.text('LP-FT (head first)', 'the random head (head last)', ITEMS)}"
                       f" - the same steps at the same rate ({by[LPFT][0]['lr']:g}); only the "
                       f"order differs ({_seed_list(v)}).")
            clip = clipart_verdict(records, k)
            if clip is not None:
                out.append(f"  Out of distribution: {clipart_text(records, k, clip)}")
        if DISCRIMINATIVE in by and RANDOM_HEAD in by:
            d = by[DISCRIMINATIVE][0]
            v = verdict(records, DISCRIMINATIVE, RANDOM_HEAD, k)
            out.append(f"  Rates: {v.text('discriminative rates', 'one rate', ITEMS)}"
                       f" - both from a random head with the same steps; the head at "
                       f"{d['lr']:g} and each stage below {d['lr_decay']:g}x lower vs "
                       f"{by[RANDOM_HEAD][0]['lr']:g} everywhere ({_seed_list(v)}).")
    curve = curve_verdicts(records)
    if len(curve) > 1:
        out.append(f"Claim 4 over labels per class (the top 2 stages vs the linear probe): "
                   f"{crossing_text(curve)}.")
    return out


# ---------------------------------------------------------------------------------------------
# Claims 4 and 5 beyond one size and one domain: the curve over labels, and clip art
# ---------------------------------------------------------------------------------------------
CURVE_ARM = "top-2-stages"  # claim 4's fine-tuner: head first, then the top 2 stages
KUMAR = ("Kumar et al. (2022) report LP-FT about 10 % more accurate than fine-tuning from a "
         "random head out of distribution, and about 1 % in distribution")


def curve_verdicts(records: list[dict], arm: str = CURVE_ARM) -> dict[int, Verdict]:
    """Claim 4 at each labels per class where both ran: ``arm`` minus the linear probe."""
    ks = sorted({r["labels_per_class"] for r in records if r["method"] == arm}
                & {r["labels_per_class"] for r in records if r["method"] == PROBE})
    return {k: verdict(records, arm, PROBE, k) for k in ks}


def crossing_text(curve: dict[int, Verdict]) -> str:
    """Where fine-tuning overtakes the probe, as far as the judge can tell: the smallest size
    from which it holds at every larger size measured."""
    ks = sorted(curve)
    said = "; ".join(f"at {k}: " + curve[k].text("fine-tuning", "the probe", ITEMS) for k in ks)
    ahead = [k for i, k in enumerate(ks) if all(curve[j].word == HOLDS for j in ks[i:])]
    if not ahead:
        where = f"the judge does not say fine-tuning is ahead at {ks[-1]} per class, the most measured"
    elif ahead[0] == ks[0]:
        where = f"fine-tuning ahead at every size measured ({ks[0]}-{ks[-1]} per class): no crossing in this range"
    else:
        before = ks[ks.index(ahead[0]) - 1]
        where = f"the two cross between {before} and {ahead[0]} per class"
    return f"{said} - {where}"


def order_k(records: list[dict]) -> int | None:
    """The most labels per class at which LP-FT and the random head both ran (claim 5)."""
    ks = ({r["labels_per_class"] for r in records if r["method"] == LPFT}
          & {r["labels_per_class"] for r in records if r["method"] == RANDOM_HEAD})
    return max(ks, default=None)


def clipart_arm(records: list[dict], method: str, k: int) -> PerSeed:
    """Seed -> ``method``'s accuracy on the clip art at ``k``, with its per-image outcomes: the
    same clip art every seed (a fixed test set, so the judge counts its sampling error)."""
    at = [r for r in records if r["method"] == method and r["labels_per_class"] == k
          and r.get("clipart_accuracy") is not None]
    return PerSeed({r["seed"]: r["clipart_accuracy"] for r in at},
                   {r["seed"]: tuple(r["clipart_item_correct"]) for r in at}, "fixed")


def clipart_verdict(records: list[dict], k: int) -> Verdict | None:
    """Claim 5 out of distribution: LP-FT minus the random head on the clip art at ``k``."""
    a, b = clipart_arm(records, LPFT, k), clipart_arm(records, RANDOM_HEAD, k)
    return judge(a, b) if set(a) & set(b) else None


def clipart_text(records: list[dict], k: int, v: Verdict) -> str:
    """The clip-art sentence: the judge's verdict, the probe beside it, and Kumar et al."""
    probe = clipart_arm(records, PROBE, k)
    base = (f"; the linear probe scored {100 * statistics.fmean(probe.values()):.0f} %"
            if probe else "")
    said = ("the direction reproduces here" if v.word == HOLDS else
            "does not reproduce here (a guess at why: at a fine-tuning rate the random head's "
            "few steps barely move the body, so there is little distortion to avoid)"
            if v.word == OPPOSITE else "this run cannot tell")
    return (f"on clip art of the same classes (trained on photos, {k} per class): "
            + v.text("LP-FT (head first)", "the random head (head last)", "clip-art images")
            + f"{base}. {KUMAR}: {said}.")


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
           "item_correct": item_correct(ev["preds"], data["test"]), "test_set": "resampled",
           "n_test": len(data["test"]),
           "balanced_accuracy": round(ev["mean_recall"], 4),
           "n_classes": len(data["test"].classes),  # chance: 1 / n_classes balanced accuracy
           "majority_share": round(majority_share(data["test"]), 4),  # always one class
           "val_accuracy": round(last["val_acc"], 4), "n_val": len(data["val"]),
           "probe_accuracy": round(probe_acc, 4),
           "weight_distance": round(last["weight_distance"], 5),
           "early_stop_epoch": stop, "epochs": len(hist.epochs),
           "early_stop_test_accuracy": round(hist.epochs[stop - 1]["test_acc"], 4),
           "head_steps": head_steps["head_steps"], "body_steps": steps["body_steps"],
           "seconds": round(hist.seconds, 3), "trainable_params": net.trainable_params()}
    return rec, hist.epochs


@register("lr-sweep", "Ch. 3: full fine-tuning over learning rates, weight distance, early stopping", PROFILES, seeds_into=("sweep_seeds",))
def run_sweep(cfg: FineTuningConfig, res: Results, progress: bool) -> Results:
    """Fine-tune the whole network (after training the head) at each rate of the sweep.

    Records hold the final and early-stopped test accuracy, the probe accuracy the run started
    from and the relative weight distance; ``artifacts["curves"][(lr, seed)]`` holds the epochs
    (validation accuracy and weight distance each; ``test_acc`` at the last and the kept epoch).
    """
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
