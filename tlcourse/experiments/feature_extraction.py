"""Claims: a frozen backbone is a good fixed feature extractor, and early layers are general
while late layers are task-specific (so early layers should transfer better to a far domain).

Three measurements on cached features (the backbone runs once per image, never in a loop):

* **heads** - on photos, a linear head vs a small MLP head on ImageNet Lite0 features, plus a
  linear head on the same network with random weights; trainable parameters (head vs whole
  network) and wall time (feature extraction + head training).
* **layer probe** - a linear probe on the pooled output of several stages (early -> last), on
  photos (near ImageNet) and Fashion-MNIST (far from it).
* **projection** - a 2-D PCA of photo features, ImageNet vs random weights (artifacts only).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
from sklearn.decomposition import PCA
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..features import HEAD_CONFIG, extract_features, train_head
from ..train import evaluate
from . import Results, register


@dataclass(frozen=True)
class FeatureExtractionConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 input side (224 is its pretrained size; 96 keeps CPUs fast)
    labels_per_class: int = 10  # photo training images per class; the rest are the test set
    seeds: tuple[int, ...] = (0, 1)  # each seed draws other training images and head inits
    mlp_hidden: int = 256  # hidden units of the MLP head (one hidden layer, ReLU)
    depths: tuple[int, ...] = (2, 4, 6, 8, 9)  # Lite0 stages to probe: 2 early ... 9 last
    far_dataset: str = "fashion-mnist"  # the far domain of the layer probe
    far_labels_per_class: int = 20  # its training images per class
    far_test_per_class: int = 50  # its test images per class (quick: a sample of the 10k)


PROFILES = {
    "quick": FeatureExtractionConfig(),
    "full": FeatureExtractionConfig(image_size=224, seeds=(0, 1, 2, 3, 4),
                                    far_labels_per_class=100, far_test_per_class=500),
}

STAGE_NAMES = {1: "stem", 9: "final conv"}  # Lite0 stages 2-8 are its block groups


def _depth_label(depth: int) -> str:
    return STAGE_NAMES.get(depth, f"block group {depth - 1}")


def _heads(cfg: FeatureExtractionConfig, res: Results, progress: bool) -> None:
    photos = load_dataset("photo")
    # Random weights are drawn from the run's seed (the first seed's network for the timing and
    # the projection; each seed's own network for its head), never from the global RNG state.
    nets = {w: create_backbone(f"lite0-{w}", len(photos.classes), input_size=cfg.image_size,
                               seed=cfg.seeds[0]).freeze(0)
            for w in ("imagenet", "random")}
    feats, per_image = {}, {}
    for w, net in nets.items():
        start = time.perf_counter()
        feats[w] = extract_features(net, photos, use_cache=False)  # timed: really compute
        per_image[w] = (time.perf_counter() - start) / len(photos)
        xy = PCA(n_components=2).fit_transform(feats[w].x.numpy())
        res.artifacts.setdefault("projection", {})[w] = (xy, photos.y.numpy(), photos.classes)
    total = nets["imagenet"].total_params()
    for seed in tqdm(cfg.seeds, desc="heads", disable=not progress):
        random_feats = feats["random"] if seed == cfg.seeds[0] else extract_features(
            create_backbone("lite0-random", len(photos.classes), input_size=cfg.image_size,
                            seed=seed).freeze(0), photos)
        for method, w, hidden in (("linear-head", "imagenet", 0), ("mlp-head", "imagenet", cfg.mlp_hidden),
                                  ("linear-head-random-weights", "random", 0)):
            source = random_feats if w == "random" else feats[w]
            train, test = few_shot_split(source, cfg.labels_per_class, seed)
            head, hist = train_head(train, replace(HEAD_CONFIG, seed=seed), hidden=hidden, seed=seed)
            feature_seconds = per_image[w] * len(train)
            res.records.append({
                "part": "heads", "dataset": "photo", "method": method, "weights": w,
                "labels_per_class": cfg.labels_per_class, "seed": seed,
                "test_accuracy": round(evaluate(head, test)["accuracy"], 4),
                "seconds": round(hist.seconds + feature_seconds, 3),
                "feature_seconds": round(feature_seconds, 3), "head_seconds": round(hist.seconds, 3),
                "trainable_params": sum(p.numel() for p in head.parameters()),
                "network_params": total, "input_size": cfg.image_size})


def _domain_data(cfg: FeatureExtractionConfig) -> dict[str, tuple[ImageData, int, int | None]]:
    """Each probed dataset with its training labels per class and test cap."""
    far = load_dataset(cfg.far_dataset, "train")
    far = sample_per_class(far, cfg.far_labels_per_class + cfg.far_test_per_class, seed=0)
    return {"photo": (load_dataset("photo"), cfg.labels_per_class, None),
            cfg.far_dataset: (far, cfg.far_labels_per_class, cfg.far_test_per_class)}


def _layer_probe(cfg: FeatureExtractionConfig, res: Results, progress: bool) -> None:
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    runs = list(itertools.product(_domain_data(cfg).items(), cfg.depths))
    for (name, (data, k, cap)), depth in tqdm(runs, desc="layer probe", disable=not progress):
        feats = extract_features(net, data, depth=depth)
        for seed in cfg.seeds:
            train, test = few_shot_split(feats, k, seed, test_per_class=cap)
            r = methods.linear_probe(train, test, seed)
            res.records.append(r.record(part="layer-probe", dataset=name, method="linear-probe",
                                        depth=depth, layer=_depth_label(depth),
                                        feature_dim=int(feats.x.shape[1]), labels_per_class=k,
                                        seed=seed, input_size=cfg.image_size))


def relative_depth_accuracy(records: list[dict]) -> dict[str, dict[int, float]]:
    """Mean layer-probe accuracy at each depth divided by that at the deepest depth, per dataset.

    Example:
        >>> rel = relative_depth_accuracy(res.records)  # doctest: +SKIP
        >>> rel["photo"][2]                              # doctest: +SKIP
    """
    acc: dict[str, dict[int, list[float]]] = {}
    for r in records:
        if r.get("part") == "layer-probe":
            acc.setdefault(r["dataset"], {}).setdefault(r["depth"], []).append(r["test_accuracy"])
    out = {}
    for ds, by_depth in acc.items():
        means = {d: float(np.mean(v)) for d, v in sorted(by_depth.items())}
        last = means[max(means)]
        out[ds] = {d: m / last for d, m in means.items()}
    return out


def verdict(records: list[dict]) -> str:
    """Computed sentences comparing the layer probe with the popular claim."""
    acc: dict[str, dict[int, list[float]]] = {}
    for r in records:
        if r.get("part") == "layer-probe":
            acc.setdefault(r["dataset"], {}).setdefault(r["depth"], []).append(r["test_accuracy"])
    rel = relative_depth_accuracy(records)
    lines = []
    for ds, by_depth in acc.items():
        means = {d: float(np.mean(v)) for d, v in by_depth.items()}
        best = max(means, key=means.get)
        early = min(means)
        lines.append(f"{ds}: the best probe reads {_depth_label(best)} (stage {best}, "
                     f"{means[best]:.0%}); the earliest probed stage keeps "
                     f"{rel[ds][early]:.0%} of the last stage's accuracy.")
    if len(rel) == 2:
        (near, rn), (far, rf) = rel.items()
        mid = sorted(rn)[len(rn) // 2]  # the middle probed stage
        agree = rf[mid] > rn[mid]
        lines.append(f"Claim 'early layers are general, late layers specific': the middle stage "
                     f"({_depth_label(mid)}) keeps {rf[mid]:.0%} of the last stage's accuracy on "
                     f"{far} and {rn[mid]:.0%} on {near} - "
                     + ("consistent with the claim: on the far domain the late layers add less."
                        if agree else "the opposite of the claim."))
    return "\n".join(lines)


@register("feature-extraction", "Ch. 2: frozen backbone heads, layer-by-layer probe, feature maps")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Run the chapter-2 measurements; ``seeds`` overrides the profile's seeds.

    Example:
        >>> res = run(progress=False)                                     # doctest: +SKIP
        >>> print(format_table(summarize(res.records, by=("part", "dataset", "method", "depth"))))
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("feature-extraction", profile, asdict(cfg))
    _heads(cfg, res, progress)
    _layer_probe(cfg, res, progress)
    return res
