"""The mistakes lab: each classic transfer-learning mistake run next to the correct version, so
its cost is a measured number, not a warning.

* ``bn-train-mode`` - a "frozen" backbone whose BatchNorm layers are left in training mode
  (``TransferNet.frozen_bn_eval=False``): running statistics drift although no weight trains.
* ``random-head-high-lr`` - everything unfrozen from the start, random head, the from-scratch rate,
  vs two-stage LP-FT at a fine-tuning rate. Both take the same budget, counted in optimiser
  steps (``head_steps``, ``body_steps`` in the records): the same head phase on the frozen
  body's features and the same joint phase - LP-FT head phase first, the mistake head phase
  last (:func:`tlcourse.methods.fine_tune`) - so they differ in order and rate, nothing else.
* ``preprocessing`` - no ImageNet normalisation, a too-small input, gray put in one channel.
* ``few-shot-augment`` - 1, 2, 5 images per class, with and without augmentation (for a frozen
  backbone, augmenting = caching features of augmented copies).
* ``imbalance`` - one Fashion-MNIST class cut to 5 % of the others; per-class recall without
  and with a weighted loss or balanced sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from tqdm.auto import tqdm

from .. import methods, smoke
from ..augment import get_augment
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..diagnostics import buffers_changed, snapshot
from ..features import HEAD_CONFIG, extract_features
from ..imbalance import make_imbalanced
from ..stats import PerSeed, Verdict, by_seed, fitted, interval, judge, paired_gaps
from ..stats import mean_sd_text as _pct
from ..train import TrainConfig, evaluate, fit, seed_everything
from . import Results, register
from .fine_tuning import count_steps, item_correct


@dataclass(frozen=True)
class MistakesConfig:
    """Settings of the lab; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 input side for the frozen-backbone mistakes
    finetune_size: int = 96  # full fine-tuning: ~24 ms per image per epoch at 96 px
    labels_per_class: int = 10  # photo training images per class
    seeds: tuple[int, ...] = (0, 1, 2)  # the mistakes that train the network: BN, random head
    head_seeds: tuple[int, ...] = tuple(range(10))  # the mistakes that train only a head on
    # cached features (preprocessing, augmentation, imbalance): ~7 s a seed on one core, so 10
    # draws of the training images (20 took chapter 3b past its 3-minute budget)
    fashion_normalisation: bool = False  # also the normalisation mistakes on Fashion-MNIST
    # (the photos measure them; its own mistake, gray in one channel, always runs)
    head_epochs: int = 10  # head trained on images through the frozen backbone (BN mistake)
    head_lr: float = 1e-2  # a brisk head rate so 15 epochs suffice
    finetune_labels: int = 5  # full fine-tuning is the expensive part: fewer images ...
    finetune_epochs: int = 8  # ... and epochs
    wrong_size: int = 32  # "wrong input size": far below what the backbone expects
    few_shot: tuple[int, ...] = (1, 5)  # images per class for the augmentation mistake: claim 8
    # compares the fewest with the most (the full profile adds 2 and 10)
    augment_copies: int = 8  # augmented copies of each training image (cached features)
    fashion_train_per_class: int = 50
    fashion_test_per_class: int = 50
    minority_class: int = 0  # Fashion-MNIST class 0 = T-shirt/top (confusable with Shirt)
    minority_fraction: float = 0.05  # the minority keeps 5 % of its images


PROFILES = {
    "quick": MistakesConfig(),
    "full": MistakesConfig(image_size=224, finetune_size=224, seeds=(0, 1, 2, 3, 4),
                           head_seeds=tuple(range(40)), fashion_normalisation=True,
                           head_epochs=30, finetune_epochs=15, finetune_labels=10, few_shot=(1, 2, 5, 10),
                           augment_copies=20, fashion_train_per_class=200,
                           fashion_test_per_class=200),
}


def _row(mistake: str, variant: str, correct: bool, seed: int, acc: float, preds: torch.Tensor,
         test: ImageData, test_set: str, **extra) -> dict:
    """One record; ``correct`` flags the correct variant, ``item_correct`` holds the per-item
    outcomes on ``test`` ("fixed": the same test items every seed, "resampled": drawn anew)."""
    return {"mistake": mistake, "variant": variant, "correct": correct, "seed": seed,
            "test_accuracy": round(acc, 4), "item_correct": item_correct(preds, test),
            "test_set": test_set, "n_test": len(test), **extra}


def _bn_train_mode(cfg: MistakesConfig, photos: ImageData, seed: int) -> list[dict]:
    train, test = few_shot_split(photos, cfg.labels_per_class, seed)
    rows = []
    for bn_eval in (True, False):
        seed_everything(seed)
        net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
        net.frozen_bn_eval = bn_eval
        ref = snapshot(net)
        before = evaluate_features(net, test)
        hist = fit(net, train, TrainConfig(epochs=cfg.head_epochs, batch_size=16, lr=cfg.head_lr,
                                           seed=seed, progress=False))
        change = (evaluate_features(net, test) - before).abs().max().item()
        ev = evaluate(net, test)
        rows.append(_row("bn-train-mode", "BN eval (fix)" if bn_eval else "BN train mode (bug)",
                         bn_eval, seed, ev["accuracy"], ev["preds"], test, "resampled",
                         balanced_accuracy=round(ev["mean_recall"], 4),
                         max_feature_change=change, changed_tensors=buffers_changed(net, ref),
                         seconds=round(hist.seconds, 3), trainable_params=net.trainable_params()))
    return rows


@torch.inference_mode()
def evaluate_features(net, data: ImageData) -> torch.Tensor:
    """The frozen body's pooled features of ``data`` in eval mode: ``[N, num_features]``."""
    return extract_features(net, data).x


def _random_head(cfg: MistakesConfig, photos: ImageData, seed: int) -> list[dict]:
    """All stages unfrozen from a random head at the from-scratch rate, head phase last, vs
    LP-FT at the fine-tuning rate, head phase first: the same steps, in the other order."""
    train, test = few_shot_split(photos, cfg.finetune_labels, seed)
    n = create_backbone("lite0-imagenet", 6).num_stages
    ft = replace(methods.FINETUNE_CONFIG, epochs=cfg.finetune_epochs)
    high = replace(ft, lr=methods.SCRATCH_CONFIG.lr)
    runs = {random_head_name(high.lr): (False, high, False), lpft_name(ft.lr): (True, ft, True)}
    rows = []
    for variant, (head_first, c, ok) in runs.items():
        with count_steps() as steps:
            r = methods.fine_tune("lite0-imagenet", train, test, cfg.finetune_size, n, c, seed,
                                  head_first=head_first)
        rows.append(_row("random-head-high-lr", variant, ok, seed, r.test_accuracy, r.preds,
                         test, "resampled",
                         balanced_accuracy=round(r.balanced_accuracy, 4), seconds=round(r.seconds, 3),
                         lr=c.lr, head_first=head_first, **steps))
    return rows


def lpft_name(lr: float) -> str:
    """LP-FT's variant name: neutral (not "(fix)"); whether it helps, the judge says."""
    return f"head first (LP-FT), lr {lr:g}"


def random_head_name(lr: float) -> str:
    """The random-head variant's name; ``correct: false`` flags it as the mistake tested."""
    return f"random head first, all unfrozen, lr {lr:g}"


def _fashion_correct(cfg: MistakesConfig) -> str:
    """The name of the correct Fashion-MNIST variant, with the input size actually used."""
    return f"correct (gray repeated to RGB, {cfg.image_size} px)"


def preprocessing_variants(cfg: MistakesConfig) -> list[tuple[str, str, bool, dict]]:
    """(dataset, variant name, correct?, backbone options) of the preprocessing mistakes; the
    names state the input size the profile really uses."""
    return [("photo", f"correct (as trained: mean = std = 0.5, {cfg.image_size} px)", True, {}),
            ("photo", "torchvision's ImageNet mean/std normalisation", False,
             {"mean_std": (IMAGENET_MEAN, IMAGENET_STD)}),
            ("photo", "no normalisation", False, {"normalize": False}),
            ("photo", f"input {cfg.wrong_size} px", False, {"input_size": cfg.wrong_size}),
            ("fashion-mnist", _fashion_correct(cfg), True, {}),
            ("fashion-mnist", "gray in one channel only", False, {"gray": "first"}),
            *([("fashion-mnist", "torchvision's ImageNet mean/std normalisation", False,
                {"mean_std": (IMAGENET_MEAN, IMAGENET_STD)}),
               ("fashion-mnist", "no normalisation", False, {"normalize": False})]
              if cfg.fashion_normalisation else [])]


# torchvision's ImageNet statistics: right for torchvision's own checkpoints, wrong for these
# TensorFlow-trained weights (fed (x - 0.5) / 0.5) - the real-world normalisation mistake.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def normalisation_findings(records: list[dict]) -> list[str]:
    """The :func:`findings` about normalisation mistakes: each one's paired cost per seed against
    the as-trained statistics, sign- and noise-aware, next to the popular "about 10 points"."""
    keep = [r for r in records if r["mistake"] == "preprocessing"
            and (r["correct"] or "normalisation" in r["variant"])]
    return findings(keep)


CLAIMED_NORMALISATION_COST = 0.10  # "forgetting normalisation costs about 10 points"


def _preprocessing(cfg: MistakesConfig, photos: ImageData, fashion: tuple, seed: int,
                   cache: dict) -> list[dict]:
    rows = []
    for ds, variant, ok, kw in preprocessing_variants(cfg):
        key = (ds, variant)
        if key not in cache:  # the frozen backbone's features do not depend on the seed
            kw = {"input_size": cfg.image_size, **kw}
            net = create_backbone("lite0-imagenet", 10, **kw).freeze(0)
            cache[key] = ([extract_features(net, photos)] if ds == "photo"
                          else [extract_features(net, d) for d in fashion])
        if ds == "photo":
            train, test = few_shot_split(cache[key][0], cfg.labels_per_class, seed)
        else:
            train, test = sample_per_class(cache[key][0], cfg.fashion_train_per_class, seed), cache[key][1]
        r = methods.linear_probe(train, test, seed)
        rows.append(_row("preprocessing", variant, ok, seed, r.test_accuracy, r.preds, test,
                         "resampled" if ds == "photo" else "fixed", dataset=ds,
                         balanced_accuracy=round(r.balanced_accuracy, 4),
                         train_accuracy=_train_accuracy(r, train)))
    return rows


def _few_shot_augment(cfg: MistakesConfig, photos: ImageData, feats: ImageData,
                      net, seed: int) -> list[dict]:
    test = few_shot_split(feats, max(cfg.few_shot), seed)[1]  # one test set for every k
    g = torch.Generator().manual_seed(seed)
    aug = get_augment("standard")
    rows = []
    for k in cfg.few_shot:
        plain = few_shot_split(feats, k, seed)[0]
        images = few_shot_split(photos, k, seed)[0]
        copies = [extract_features(net, ImageData(aug(images.x, g), images.y, images.classes,
                                                  "augmented"), use_cache=False)  # never reused
                  for _ in range(cfg.augment_copies)]
        augmented = ImageData(torch.cat([plain.x, *[c.x for c in copies]]),
                              plain.y.repeat(cfg.augment_copies + 1), plain.classes, "augmented")
        for variant, train in (("no augmentation", plain), ("augmentation", augmented)):
            r = methods.linear_probe(train, test, seed)
            rows.append(_row("few-shot-augment", variant, variant == "augmentation", seed,
                             r.test_accuracy, r.preds, test, "resampled", labels_per_class=k,
                             balanced_accuracy=round(r.balanced_accuracy, 4),
                             train_accuracy=_train_accuracy(r, train)))
    return rows


def _train_accuracy(r, train: ImageData) -> float:
    """The head's accuracy on its own training set: did the baseline fit (stats.FITTED)?"""
    return round(evaluate(r.model, train)["accuracy"], 4)


def _imbalance(cfg: MistakesConfig, fashion_feats: tuple, seed: int) -> list[dict]:
    pool, test = fashion_feats
    train = make_imbalanced(sample_per_class(pool, cfg.fashion_train_per_class, seed),
                            cfg.minority_class, cfg.minority_fraction, seed)
    rows = []
    for variant, kw, ok in (("plain loss", {}, False), ("weighted loss", {"class_weights": True}, True),
                            ("balanced sampling", {"balanced_sampling": True}, True)):
        r = methods.linear_probe(train, test, seed, cfg=replace(HEAD_CONFIG, **kw))
        recall = evaluate(r.model, test)["per_class_recall"]
        others = [x for c, x in enumerate(recall) if c != cfg.minority_class]
        rows.append(_row("imbalance", variant, ok, seed, r.test_accuracy, r.preds, test, "fixed",
                         balanced_accuracy=round(r.balanced_accuracy, 4),
                         train_accuracy=_train_accuracy(r, train),
                         minority_recall=round(recall[cfg.minority_class], 4),
                         majority_recall=round(sum(others) / len(others), 4),
                         minority_items=(test.y == cfg.minority_class).nonzero().flatten().tolist(),
                         test_per_class=test.counts(),
                         per_class_recall=[round(x, 4) for x in recall],
                         minority_train=train.counts()[cfg.minority_class],
                         minority_kept=round(train.counts()[cfg.minority_class]
                                             / cfg.fashion_train_per_class, 4)))
    return rows


def with_seeds(cfg: MistakesConfig, seeds: tuple[int, ...]) -> MistakesConfig:
    """``cfg`` run at explicit ``seeds``: the mistakes that train the network run exactly
    these; the head-only ones keep their many seeds and add these - except in smoke mode, where
    one step per fit proves the code paths and every further seed would only repeat them."""
    head = tuple(seeds) if smoke.active() else tuple(sorted({*cfg.head_seeds, *seeds}))
    return replace(cfg, seeds=tuple(seeds), head_seeds=head)


@register("mistakes-lab", "Ch. 3b: classic transfer mistakes, each measured against the fix",
          PROFILES, seeds_into=with_seeds)
def run(cfg: MistakesConfig, res: Results, progress: bool) -> Results:
    """Run every mistake and its fix; records carry ``mistake``, ``variant`` and ``correct``.

    Example:
        >>> res = run(progress=False)                                          # doctest: +SKIP
        >>> summarize(res.records, by=("mistake", "variant"))                 # doctest: +SKIP
    """
    photos = load_dataset("photo")
    fashion = (load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test"))
    fashion = (sample_per_class(fashion[0], cfg.fashion_train_per_class * 2, seed=0),
               sample_per_class(fashion[1], cfg.fashion_test_per_class, seed=0))
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    photo_feats = extract_features(net, photos)
    cache: dict = {}
    for seed in tqdm(sorted({*cfg.seeds, *cfg.head_seeds}), desc="mistakes lab",
                     disable=not progress):
        if seed in cfg.seeds:  # these train the network: a few seeds
            res.records += _bn_train_mode(cfg, photos, seed)
            res.records += _random_head(cfg, photos, seed)
        if seed in cfg.head_seeds:  # a head on cached features: many seeds
            res.records += _preprocessing(cfg, photos, fashion, seed, cache)
            res.records += _few_shot_augment(cfg, photos, photo_feats, net, seed)
            res.records += _imbalance(cfg, cache[("fashion-mnist", _fashion_correct(cfg))], seed)
    return res


def costs(records: list[dict]) -> list[dict]:
    """Per mistake and variant: mean accuracy, its 95 % interval over seeds (the judge's method,
    :func:`tlcourse.stats.interval`: NaN with one seed, draw no bar), and the mean gap to the
    correct variant (same mistake, same dataset / labels per class), for plotting;
    :func:`findings` judges the gaps."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        key = (r["mistake"], r.get("dataset", ""), r.get("labels_per_class", ""), r["variant"], r["correct"])
        groups.setdefault(key, []).append(r)
    means = {k: sum(r["test_accuracy"] for r in v) / len(v) for k, v in groups.items()}
    rows = []
    for (m, ds, k, variant, ok), acc in means.items():
        ref = [a for (m2, ds2, k2, _, ok2), a in means.items() if (m2, ds2, k2) == (m, ds, k) and ok2]
        _, low, high = interval(by_seed(groups[(m, ds, k, variant, ok)]))
        rows.append({"mistake": m, "setting": f"{ds} {k}".strip(), "variant": variant,
                     "correct": ok, "accuracy": acc, "accuracy_low": low, "accuracy_high": high,
                     "seeds": len(groups[(m, ds, k, variant, ok)]),
                     "vs_correct": acc - ref[0] if ref else float("nan")})
    return rows


def _setting(r: dict) -> str:
    k = r.get("labels_per_class")
    return " ".join(x for x in (r.get("dataset", ""), f"{k}/class" if k else "") if x)


def table(records: list[dict]) -> list[dict]:
    """Per mistake, setting and variant: test accuracy and, where recorded, balanced accuracy
    (mean per-class recall: the photo test sets are imbalanced), mean ± sd over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["mistake"], _setting(r), r["variant"]), []).append(r)
    return [{"mistake": m, "setting": st, "variant": v, "fix": "yes" if rs[0]["correct"] else "no",
             "seeds": len(rs), "accuracy": _pct([r["test_accuracy"] for r in rs]),
             "balanced_accuracy": (_pct([r["balanced_accuracy"] for r in rs])
                                   if all("balanced_accuracy" in r for r in rs) else "-")}
            for (m, st, v), rs in groups.items()]


def _verdict(rows: list[dict], fix: str, bad: str, metric: str = "test_accuracy"):
    """The judge's verdict on variant ``fix`` minus variant ``bad``, paired by seed."""
    return judge(by_seed(rows, metric, variant=fix), by_seed(rows, metric, variant=bad))


def versus_quote(cost: float) -> str:
    """Where a measured normalisation cost (a fraction) falls against the quoted one."""
    near = ("about" if abs(cost - CLAIMED_NORMALISATION_COST) <= 0.05 else
            "less than" if cost < CLAIMED_NORMALISATION_COST else "more than")
    return f"{near} the quoted {CLAIMED_NORMALISATION_COST * 100:.0f} points"


def _note(mistake: str, rows: list[dict], fix: str, bad: str, cost: float) -> str:
    """What else, besides the mistake itself, differs between the two arms (or is held equal),
    or how the measured cost compares with the popular claim."""
    f = next(r for r in rows if r["variant"] == fix)
    b = next(r for r in rows if r["variant"] == bad)
    if mistake == "random-head-high-lr":
        same = f["head_steps"] == b["head_steps"] and f["body_steps"] == b["body_steps"]
        steps = (f"the same {f['head_steps']} head-only and {f['body_steps']} joint optimiser steps"
                 if same else f"{f['head_steps']} + {f['body_steps']} vs {b['head_steps']} + "
                 f"{b['body_steps']} optimiser steps (not the same budget)")
        return (f" - {steps}; they differ in order (head phase first vs last) and rate "
                f"({f['lr']:g} vs {b['lr']:g}).")
    if mistake == "bn-train-mode":
        return (f" - no weight of the body trains in either; in the bug {b['changed_tensors']} "
                f"BatchNorm statistics tensors drifted.")
    if mistake == "preprocessing" and "normalisation" in bad:
        return f" - {versus_quote(cost)} one popular text gives."
    return "."


def _items(rows: list[dict]) -> str:
    return "test photos" if rows[0].get("dataset", "photo") == "photo" else "test images"


def class_group(rows: list[dict], group: str) -> list[dict]:
    """Imbalance records narrowed to the minority class's test items (``group="minority"``) or
    the other classes' (``"majority"``): ``test_accuracy`` becomes that group's accuracy - its
    mean recall, the test classes being equal - and ``item_correct`` its per-item outcomes, so
    the judge also counts the fixed test set's own sampling error."""
    if group not in ("minority", "majority"):
        raise ValueError(f"group={group!r}: 'minority' or 'majority'")
    out = []
    for r in rows:
        mine = set(r["minority_items"])
        keep = [c for i, c in enumerate(r["item_correct"]) if (i in mine) == (group == "minority")]
        out.append({**r, "test_accuracy": sum(keep) / len(keep), "item_correct": keep,
                    "n_test": len(keep)})
    return out


def balanced_verdict(rows: list[dict], fix: str, bad: str) -> Verdict:
    """``fix`` vs ``bad`` on balanced accuracy (mean recall over classes), paired by seed.

    On a test set with equal classes (Fashion-MNIST's here) balanced accuracy *is* accuracy,
    the plain mean of the per-item outcomes, so the judge reads ``item_correct`` and counts the
    fixed test set's item term. On unequal classes it is a weighted mean of those outcomes,
    which the item term (equal weights) does not model: the judge then gets the per-seed gaps
    of ``balanced_accuracy`` alone, a seed-only interval that leaves the items' error out."""
    if rows and all(len(set(r.get("test_per_class", (0, 1)))) == 1 for r in rows):
        return _verdict(rows, fix, bad)
    return _verdict(rows, fix, bad, "balanced_accuracy")


def _arm(values) -> str:
    """'20 % (95 % interval 0 to 59)': a recall over seeds; the interval is clipped to 0-100 %,
    the values a recall can take (the judge's normal approximation can overshoot them)."""
    mean, low, high = interval(values)
    if math.isnan(low):
        return f"{100 * mean:.0f} %"
    return (f"{100 * mean:.0f} % (95 % interval {100 * max(low, 0.0):.0f} to "
            f"{100 * min(high, 1.0):.0f})")


def fit_note(rows: list[dict], variant: str) -> str:
    """'' when ``variant``'s heads fit their training sets (mean training accuracy >=
    :data:`tlcourse.stats.FITTED`), else a clause saying they did not, with the accuracy."""
    acc = [r["train_accuracy"] for r in rows if r["variant"] == variant and "train_accuracy" in r]
    if not acc or fitted(sum(acc) / len(acc)):
        return ""
    return (f" ({variant}'s head did not fit its training set: "
            f"{100 * sum(acc) / len(acc):.0f} % training accuracy)")


def imbalance_sentence(rows: list[dict], fix: str, bad: str = "plain loss") -> tuple[Verdict, str]:
    """Claim 9's verdict (``fix`` vs ``bad`` on balanced accuracy) and its sentence, with what
    it did to the minority class's recall and to the other classes' (the price), each arm with
    its 95 % interval and the judge on the change. The ledger prints the same sentence."""
    v = balanced_verdict(rows, fix, bad)
    said = [f"balanced accuracy: {v.text(fix, bad, 'test images')}{fit_note(rows, bad)}"]
    for group, what in (("minority", "the shrunken class's recall"),
                        ("majority", "the other classes' recall")):
        if all("minority_items" in r for r in rows):
            g = class_group(rows, group)
            arms = [by_seed(g, "test_accuracy", variant=x) for x in (bad, fix)]
            change = judge(*reversed(arms)).text(fix, bad, "test images")
            said.append(f"{what} {_arm(arms[0])} → {_arm(arms[1])}: {change}")
    return v, "; ".join(said)


def augmentation_interaction(rows: list[dict]) -> tuple[Verdict, str] | None:
    """Claim 8, "augmentation helps most when images are few": the gain from augmentation at
    the fewest labels per class minus its gain at the most, paired by seed (one test set per
    seed serves every label count), and each gain's own verdict. None below two label counts."""
    aug = [r for r in rows if r["mistake"] == "few-shot-augment"]
    ks = sorted({r["labels_per_class"] for r in aug})
    if len(ks) < 2:
        return None
    gain = {k: paired_gaps(by_seed(aug, "test_accuracy", variant="augmentation", labels_per_class=k),
                           by_seed(aug, "test_accuracy", variant="no augmentation",
                                   labels_per_class=k)) for k in (ks[0], ks[-1])}
    few, many = gain[ks[0]], gain[ks[-1]]
    # each seed's test set is drawn anew: the per-seed differences already carry its error
    diff = PerSeed({s: few[s] - many[s] for s in few if s in many}, test_set="resampled")
    v = judge(diff)
    at = {k: judge(gain[k]).text("augmentation", "none", "test photos")
          + fit_note([r for r in aug if r["labels_per_class"] == k], "no augmentation")
          for k in (ks[0], ks[-1])}
    return v, (f"gain at {ks[0]} minus gain at {ks[-1]} per class: "
               f"{v.text(f'the gain at {ks[0]}', f'the gain at {ks[-1]}')}; the gains: at "
               f"{ks[0]}/class {at[ks[0]]}; at {ks[-1]}/class {at[ks[-1]]}")


def verdicts(records: list[dict], mistake: str | None = None) -> list[dict]:
    """Per mistake, setting and (fix, mistaken) pair of variants: the judge's verdict on the fix
    minus the mistake, paired per seed (for class imbalance on balanced accuracy). Rows carry
    ``mistake``, ``setting``, ``fix``, ``bad``, ``verdict`` and ``rows`` (their records)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if mistake is None or r["mistake"] == mistake:
            groups.setdefault((r["mistake"], _setting(r)), []).append(r)
    out = []
    for (m, setting), rows in groups.items():
        for fix in dict.fromkeys(r["variant"] for r in rows if r["correct"]):
            for bad in dict.fromkeys(r["variant"] for r in rows if not r["correct"]):
                v = balanced_verdict(rows, fix, bad) if m == "imbalance" else _verdict(rows, fix, bad)
                out.append({"mistake": m, "setting": setting, "fix": fix, "bad": bad, "verdict": v,
                            "rows": rows})
    return out


def findings(records: list[dict], mistake: str | None = None) -> list[str]:
    """One sentence per row of :func:`verdicts`: the judge's verdict on the fix vs the mistake
    (sign, size, 95 % interval, seeds and test items); for class imbalance on balanced accuracy,
    with each class group's recall (:func:`imbalance_sentence`); for augmentation, also whether
    its gain shrinks with more labels (:func:`augmentation_interaction`). ``mistake`` keeps one."""
    out = []
    for row in verdicts(records, mistake):
        m, setting, fix, bad, v, rows = (row[k] for k in ("mistake", "setting", "fix", "bad",
                                                          "verdict", "rows"))
        where = f"{m}{f' ({setting})' if setting else ''}"
        if m == "imbalance":
            out.append(f"{where}: {imbalance_sentence(rows, fix, bad)[1]}.")
        else:
            out.append(f"{where}: {v.text(fix, bad, _items(rows))}{fit_note(rows, bad)}"
                       + _note(m, rows, fix, bad, v.gap))
    if mistake in (None, "few-shot-augment"):
        both = augmentation_interaction(records)
        if both:
            out.append(f"few-shot-augment, {both[1]}.")
    return out
