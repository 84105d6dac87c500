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
import statistics
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
from sklearn.decomposition import PCA
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..features import HEAD_CONFIG, extract_features, train_head
from ..stats import Verdict, by_seed, interval, judge
from ..train import evaluate
from . import Results, register


@dataclass(frozen=True)
class FeatureExtractionConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 input side (224 is its pretrained size; 96 keeps CPUs fast)
    labels_per_class: int = 10  # photo training images per class; the rest are the test set
    seeds: tuple[int, ...] = (0, 1, 2)  # heads: each seed draws other training images, head
    # inits and random weights (a random network's features cost a pass over the photos)
    probe_seeds: tuple[int, ...] = tuple(range(20))  # layer probe: draws of the labelled images;
    # a head on cached features costs milliseconds, so many seeds narrow the interval cheaply
    mlp_hidden: int = 256  # hidden units of the MLP head (one hidden layer, ReLU)
    depths: tuple[int, ...] = (2, 4, 6, 8, 9)  # Lite0 stages to probe: 2 early ... 9 last
    far_dataset: str = "fashion-mnist"  # the far domain of the layer probe
    far_labels_per_class: int = 20  # its training images per class
    far_test_per_class: int = 50  # its test images per class (quick: a sample of the 10k)


PROFILES = {
    "quick": FeatureExtractionConfig(),
    "full": FeatureExtractionConfig(image_size=224, seeds=(0, 1, 2, 3, 4), probe_seeds=tuple(range(50)),
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
            ev = evaluate(head, test)
            res.records.append({
                "part": "heads", "dataset": "photo", "method": method, "weights": w,
                "labels_per_class": cfg.labels_per_class, "seed": seed,
                "test_accuracy": round(ev["accuracy"], 4), "n_test": len(test),
                "test_set": "resampled",  # each seed's test photos are those it did not train on
                "item_correct": (ev["preds"] == test.y).int().tolist(),
                "balanced_accuracy": round(ev["mean_recall"], 4),  # the photo test set is imbalanced
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
        for seed in cfg.probe_seeds:
            train, test = few_shot_split(feats, k, seed, test_per_class=cap)
            r = methods.linear_probe(train, test, seed)
            res.records.append(r.record(part="layer-probe", dataset=name, method="linear-probe",
                                        n_test=len(test), test_set="resampled",
                                        item_correct=(r.preds == test.y).int().tolist(),
                                        depth=depth, layer=_depth_label(depth),
                                        feature_dim=int(feats.x.shape[1]), labels_per_class=k,
                                        seed=seed, input_size=cfg.image_size))


def _probe_by_seed(records: list[dict]) -> dict[str, dict[int, dict[int, float]]]:
    """Layer-probe accuracy as dataset -> seed -> depth -> accuracy."""
    out: dict[str, dict[int, dict[int, float]]] = {}
    for r in records:
        if r.get("part") == "layer-probe":
            out.setdefault(r["dataset"], {}).setdefault(r["seed"], {})[r["depth"]] = r["test_accuracy"]
    return out


def relative_depth_accuracy(records: list[dict]) -> dict[str, dict[int, float]]:
    """Mean layer-probe accuracy at each depth divided by that at the deepest depth, per dataset.

    Example:
        >>> rel = relative_depth_accuracy(res.records)  # doctest: +SKIP
        >>> rel["photo"][2]                              # doctest: +SKIP
    """
    out = {}
    for ds, seeds in _probe_by_seed(records).items():
        depths = sorted(next(iter(seeds.values())))
        means = {d: float(np.mean([acc[d] for acc in seeds.values()])) for d in depths}
        out[ds] = {d: m / means[depths[-1]] for d, m in means.items()}
    return out


def _acc(values) -> str:
    """An arm's mean with its 95 % interval (the judge's), or '(1 seed)'."""
    m, lo, hi = interval(values)
    if len(values) < 2:
        return f"{m * 100:.0f} % (1 seed)"
    return f"{m * 100:.0f} % (95 % interval {lo * 100:.0f} to {hi * 100:.0f})"


def _probe(records: list[dict], ds: str, depth: int):
    return by_seed(records, "test_accuracy", part="layer-probe", dataset=ds, depth=depth)


def verdict(records: list[dict]) -> str:
    """Computed sentences comparing the layer probe with the popular claim, paired per seed and
    judged by :func:`tlcourse.stats.judge`."""
    by = _probe_by_seed(records)
    lines, kept = [], {}
    for ds, seeds in by.items():
        depths = sorted(next(iter(seeds.values())))
        acc = {d: _probe(records, ds, d) for d in depths}
        best = max(depths, key=lambda d: statistics.fmean(acc[d].values()))
        kept[ds] = {s: {d: a[d] / a[depths[-1]] for d in depths} for s, a in seeds.items()}
        undecided = {d: judge(acc[best], acc[d]) for d in depths if d != best}
        close = [d for d, v in undecided.items() if not v.decided]
        tie = (f" ({', '.join(_depth_label(d) for d in close)}: the judge cannot tell it from the "
               f"best, {undecided[close[0]].word})" if close else "")
        lines.append(f"{ds}: the best probe reads {_depth_label(best)} (stage {best}, "
                     f"{_acc(acc[best])}){tie}; the earliest probed stage keeps "
                     f"{_acc([k[depths[0]] for k in kept[ds].values()])} of the last stage's "
                     f"accuracy ({len(seeds)} draws of the labelled images).")
    if len(by) == 2:
        (near, kn), (far, kf) = kept.items()
        depths = sorted(next(iter(kn.values())))
        mid = depths[len(depths) // 2]  # the middle probed stage
        v = judge({s: kf[s][mid] - kn[s][mid] for s in kf if s in kn})
        head = (f"Claim 'early layers are general, late layers specific': the middle stage "
                f"({_depth_label(mid)}) keeps {_acc([k[mid] for k in kf.values()])} of the "
                f"last stage's accuracy on {far} and {_acc([k[mid] for k in kn.values()])} "
                f"on {near}: {v.text(far, near)} in the share kept - ")
        lines.append(head + _claim_word(v))
    return "\n".join(lines)


def _claim_word(v: Verdict) -> str:
    if not v.decided:
        return f"{v.word}: no evidence for or against the claim yet."
    if v.gap > 0:
        return f"{v.word}: on the far domain the late layers add less, as the claim says."
    return f"{v.word}: the opposite of the claim, on the far domain the late layers add more."


def findings(records: list[dict], part: str | None = None) -> list[str]:
    """Computed sentences on the heads (paired per seed, judged by :func:`tlcourse.stats.judge`)
    and on the layer probe (:func:`verdict`); ``part="heads"`` or ``"layer-probe"`` gives one.

    Example:
        >>> print("\\n".join(findings(res.records)))   # doctest: +SKIP
    """
    heads = [r for r in records if r.get("part") == "heads"]
    methods_run = list(dict.fromkeys(r["method"] for r in heads))
    out = []
    if methods_run and part in (None, "heads"):
        def arm(m: str, metric: str = "test_accuracy"):
            return by_seed(heads, metric, method=m)

        n = len(arm(methods_run[0]))
        out.append(f"Photo test set, {n} seed{'s' if n != 1 else ''} "
                   f"(accuracy, balanced accuracy in brackets: the classes are imbalanced):")
        for m in methods_run:
            bal = arm(m, "balanced_accuracy") if all("balanced_accuracy" in r for r in heads) else {}
            out.append(f"  {m}: {_acc(arm(m))}" + (f" [{_acc(bal)}]" if bal else ""))
        base = "linear-head"
        for other, a, b in (("mlp-head", "the MLP head", "the linear head"),
                            ("linear-head-random-weights", "ImageNet weights", "random weights")):
            if other in methods_run and base in methods_run:
                v = judge(arm(other), arm(base)) if other == "mlp-head" else judge(arm(base), arm(other))
                said = v.text(a, b, "test photos")
                out.append(f"With a linear head on each, {said}." if "weights" in a
                           else said[0].upper() + said[1:] + ".")
        h = next(r for r in heads if r["method"] == (base if base in methods_run else methods_run[0]))
        out.append(f"The linear head trains {h['trainable_params']:,} of the network's "
                   f"{h['network_params']:,} parameters "
                   f"({100 * h['trainable_params'] / h['network_params']:.2f} %).")
    probe = verdict(records) if part in (None, "layer-probe") else ""
    return out + (probe.split("\n") if probe else [])


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
