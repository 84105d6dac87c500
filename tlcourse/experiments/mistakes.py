"""The mistakes lab: each classic transfer-learning mistake run next to the correct version, so
its cost is a measured number, not a warning.

* ``bn-train-mode`` - a "frozen" backbone whose BatchNorm layers are left in training mode
  (``TransferNet.frozen_bn_eval=False``): running statistics drift although no weight trains.
* ``random-head-high-lr`` - everything unfrozen from the start, random head, the from-scratch rate,
  vs two-stage LP-FT at a fine-tuning rate.
* ``preprocessing`` - no ImageNet normalisation, a too-small input, gray put in one channel.
* ``few-shot-augment`` - 1, 2, 5 images per class, with and without augmentation (for a frozen
  backbone, augmenting = caching features of augmented copies).
* ``imbalance`` - one Fashion-MNIST class cut to 5 % of the others; per-class recall without
  and with a weighted loss or balanced sampling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from tqdm.auto import tqdm

from .. import methods
from ..augment import get_augment
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..diagnostics import buffers_changed, snapshot
from ..features import HEAD_CONFIG, extract_features
from ..imbalance import make_imbalanced
from ..stats import compare
from ..train import TrainConfig, evaluate, fit, seed_everything
from . import Results, register


@dataclass(frozen=True)
class MistakesConfig:
    """Settings of the lab; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 input side for the frozen-backbone mistakes
    finetune_size: int = 96  # full fine-tuning: ~24 ms per image per epoch at 96 px
    labels_per_class: int = 10  # photo training images per class
    seeds: tuple[int, ...] = (0, 1)  # every mistake is measured over these seeds
    head_epochs: int = 10  # head trained on images through the frozen backbone (BN mistake)
    head_lr: float = 1e-2  # a brisk head rate so 15 epochs suffice
    finetune_labels: int = 5  # full fine-tuning is the expensive part: fewer images ...
    finetune_epochs: int = 8  # ... and epochs
    wrong_size: int = 32  # "wrong input size": far below what the backbone expects
    few_shot: tuple[int, ...] = (1, 2, 5)  # images per class for the augmentation mistake
    augment_copies: int = 8  # augmented copies of each training image (cached features)
    fashion_train_per_class: int = 50
    fashion_test_per_class: int = 50
    minority_class: int = 0  # Fashion-MNIST class 0 = T-shirt/top (confusable with Shirt)
    minority_fraction: float = 0.05  # the minority keeps 5 % of its images


PROFILES = {
    "quick": MistakesConfig(),
    "full": MistakesConfig(image_size=224, finetune_size=224, seeds=(0, 1, 2, 3, 4),
                           head_epochs=30, finetune_epochs=15, finetune_labels=10, few_shot=(1, 2, 5, 10),
                           augment_copies=20, fashion_train_per_class=200,
                           fashion_test_per_class=200),
}


def _row(mistake: str, variant: str, correct: bool, seed: int, acc: float, **extra) -> dict:
    return {"mistake": mistake, "variant": variant, "correct": correct, "seed": seed,
            "test_accuracy": round(acc, 4), **extra}


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
        rows.append(_row("bn-train-mode", "BN eval (fix)" if bn_eval else "BN train mode (bug)",
                         bn_eval, seed, evaluate(net, test)["accuracy"],
                         max_feature_change=change, changed_tensors=buffers_changed(net, ref),
                         seconds=round(hist.seconds, 3), trainable_params=net.trainable_params()))
    return rows


@torch.inference_mode()
def evaluate_features(net, data: ImageData) -> torch.Tensor:
    """The frozen body's pooled features of ``data`` in eval mode: ``[N, num_features]``."""
    return extract_features(net, data).x


def _random_head(cfg: MistakesConfig, photos: ImageData, seed: int) -> list[dict]:
    train, test = few_shot_split(photos, cfg.finetune_labels, seed)
    n = create_backbone("lite0-imagenet", 6).num_stages
    ft = replace(methods.FINETUNE_CONFIG, epochs=cfg.finetune_epochs)
    runs = {"random head, all unfrozen, lr 3e-3 (mistake)":
            (False, replace(ft, lr=methods.SCRATCH_CONFIG.lr), False),
            "two-stage LP-FT, lr 1e-4 (fix)": (True, ft, True)}
    rows = []
    for variant, (head_first, c, ok) in runs.items():
        r = methods.fine_tune("lite0-imagenet", train, test, cfg.finetune_size, n, c, seed,
                              head_first=head_first)
        rows.append(_row("random-head-high-lr", variant, ok, seed, r.test_accuracy,
                         seconds=round(r.seconds, 3), lr=c.lr))
    return rows


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
            ("fashion-mnist", "torchvision's ImageNet mean/std normalisation", False,
             {"mean_std": (IMAGENET_MEAN, IMAGENET_STD)}),
            ("fashion-mnist", "no normalisation", False, {"normalize": False})]


# torchvision's ImageNet statistics: right for torchvision's own checkpoints, wrong for these
# TensorFlow-trained weights (fed (x - 0.5) / 0.5) - the real-world normalisation mistake.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def normalisation_findings(records: list[dict], claimed: float = 0.10) -> list[str]:
    """One sentence per dataset and normalisation mistake: its paired cost per seed against the
    as-trained statistics, sign- and noise-aware, next to the popular "about 10 points"."""
    rows = [r for r in records if r["mistake"] == "preprocessing"]
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        correct = {r["seed"]: r["test_accuracy"] for r in rows if r["dataset"] == ds and r["correct"]}
        for variant in dict.fromkeys(r["variant"] for r in rows
                                     if r["dataset"] == ds and "normalisation" in r["variant"]):
            gaps = [correct[r["seed"]] - r["test_accuracy"] for r in rows
                    if r["dataset"] == ds and r["variant"] == variant]
            cost = sum(gaps) / len(gaps)
            size = ("about the claimed 10 points" if abs(cost - claimed) <= 0.05
                    else "not the claimed ~10 points")
            out.append(f"{ds}: {compare('the as-trained statistics', variant, gaps)} - {size}.")
    return out


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
        rows.append(_row("preprocessing", variant, ok, seed, r.test_accuracy, dataset=ds))
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
                             r.test_accuracy, labels_per_class=k))
    return rows


def _imbalance(cfg: MistakesConfig, fashion_feats: tuple, seed: int) -> list[dict]:
    pool, test = fashion_feats
    train = make_imbalanced(sample_per_class(pool, cfg.fashion_train_per_class, seed),
                            cfg.minority_class, cfg.minority_fraction, seed)
    rows = []
    for variant, kw, ok in (("plain loss", {}, False), ("weighted loss", {"class_weights": True}, True),
                            ("balanced sampling", {"balanced_sampling": True}, True)):
        r = methods.linear_probe(train, test, seed, cfg=replace(HEAD_CONFIG, **kw))
        recall = evaluate(r.model, test)["per_class_recall"]
        rows.append(_row("imbalance", variant, ok, seed, r.test_accuracy,
                         minority_recall=round(recall[cfg.minority_class], 4),
                         per_class_recall=[round(x, 4) for x in recall],
                         minority_train=train.counts()[cfg.minority_class],
                         minority_kept=round(train.counts()[cfg.minority_class]
                                             / cfg.fashion_train_per_class, 4)))
    return rows


@register("mistakes-lab", "Ch. 3b: classic transfer mistakes, each measured against the fix")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Run every mistake and its fix; records carry ``mistake``, ``variant`` and ``correct``.

    Example:
        >>> res = run(progress=False)                                          # doctest: +SKIP
        >>> summarize(res.records, by=("mistake", "variant"))                 # doctest: +SKIP
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("mistakes-lab", profile, asdict(cfg))
    photos = load_dataset("photo")
    fashion = (load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test"))
    fashion = (sample_per_class(fashion[0], cfg.fashion_train_per_class * 2, seed=0),
               sample_per_class(fashion[1], cfg.fashion_test_per_class, seed=0))
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    photo_feats = extract_features(net, photos)
    cache: dict = {}
    for seed in tqdm(cfg.seeds, desc="mistakes lab", disable=not progress):
        res.records += _bn_train_mode(cfg, photos, seed)
        res.records += _random_head(cfg, photos, seed)
        res.records += _preprocessing(cfg, photos, fashion, seed, cache)
        res.records += _few_shot_augment(cfg, photos, photo_feats, net, seed)
        res.records += _imbalance(cfg, cache[("fashion-mnist", _fashion_correct(cfg))], seed)
    return res


def costs(records: list[dict]) -> list[dict]:
    """Per mistake and variant: mean accuracy and its gap to the correct variant (same mistake,
    same dataset / labels per class)."""
    groups: dict[tuple, list[float]] = {}
    for r in records:
        key = (r["mistake"], r.get("dataset", ""), r.get("labels_per_class", ""), r["variant"], r["correct"])
        groups.setdefault(key, []).append(r["test_accuracy"])
    means = {k: sum(v) / len(v) for k, v in groups.items()}
    rows = []
    for (m, ds, k, variant, ok), acc in means.items():
        ref = [a for (m2, ds2, k2, _, ok2), a in means.items() if (m2, ds2, k2) == (m, ds, k) and ok2]
        rows.append({"mistake": m, "setting": f"{ds} {k}".strip(), "variant": variant,
                     "accuracy": acc, "vs_correct": acc - ref[0] if ref else float("nan")})
    return rows
