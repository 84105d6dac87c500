"""Claims: a frozen backbone is a good fixed feature extractor, and early layers are general
while late layers are task-specific (so early layers should transfer better to a far domain).

Three measurements on cached features (the backbone runs once per image, never in a loop):

* **heads** - on photos, a linear head vs a small MLP head on ImageNet Lite0 features, plus a
  linear head on the same network with random weights; trainable parameters (head vs whole
  network) and wall time (feature extraction + head training).
* **scratch** - the best network chapter 1 trains from scratch (its small CNN, through
  :func:`tlcourse.methods.scratch` with chapter 1's input size and step budget) on the same
  training photos, its rate chosen on validation: claim 3's recipe is judged against it as well
  as against random features.
* **layer probe** - a linear probe on the pooled output of several stages (early -> last), on
  photos (near ImageNet) and Fashion-MNIST (far from it).
* **projection** - a 2-D PCA of photo features, ImageNet vs random weights (artifacts only).

Every head and probe is *fitted the same way* (:func:`fitted_head`): features standardised with
statistics of its training images only, full-batch steps, the rate chosen on validation images
carved from its training images, then refitted on all of them. Its record keeps the chosen
``lr`` and its ``train_accuracy``, so a reader can check it fitted (``stats.fitted``). Records
also keep ``n_classes`` and ``majority_share`` (the test set's largest class): an arm that ends
at or below that floor is excluded from a verdict, and the sentence says so.
"""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.decomposition import PCA
from tqdm.auto import tqdm

from .. import methods
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..features import HEAD_CONFIG, extract_features, train_head
from ..stats import FITTED, Verdict, by_seed, fitted, interval, judge
from ..train import evaluate
from . import Results, register
from .scratch_vs_transfer import PROFILES as SCRATCH_PROFILES


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
    head_rates: tuple[float, ...] = (1e-2, 1e-1)  # AdamW rates each head and probe tries on
    # validation (1e-3, the old fixed rate, left 16-dim probes unfit; at 200 steps it won only ties)
    head_steps: int = 100  # full-batch steps per head fit (on photos as many as the old 100 epochs)
    val_share: float = 0.3  # of each class's training images, held out to choose the rate
    scratch_rates: tuple[float, ...] = (1e-3, 3e-3, 1e-2)  # the scratch CNN's rate grid: its
    # chapter-1 rate 3e-3 and one step either side, chosen on the same validation photos


PROFILES = {
    "quick": FeatureExtractionConfig(),
    "full": FeatureExtractionConfig(image_size=224, seeds=(0, 1, 2, 3, 4), probe_seeds=tuple(range(50)),
                                    far_labels_per_class=100, far_test_per_class=500),
}
SCRATCH = "small-cnn-scratch"  # chapter 1's better scratch network at few labels (its records)
NAMES = {"linear-head": "ImageNet features + linear head", "mlp-head": "ImageNet features + MLP head",
         "linear-head-random-weights": "random features + linear head",
         SCRATCH: "the small CNN from scratch"}

STAGE_NAMES = {1: "stem", 9: "final conv"}  # Lite0 stages 2-8 are its block groups


def _depth_label(depth: int) -> str:
    return STAGE_NAMES.get(depth, f"block group {depth - 1}")


def _floor_facts(test: ImageData) -> dict:
    """Chance and the majority-class floor of a test set, kept in every record."""
    return {"n_classes": len(test.classes), "majority_share": round(max(test.counts()) / len(test), 4)}


def _val_split(train: ImageData, share: float, seed: int) -> tuple[ImageData, ImageData]:
    """Hold out ``share`` of each class's training images (at least one) to choose a rate."""
    k = min(train.counts())
    hold = max(1, round(k * share))
    return few_shot_split(train, k - hold, seed, min_test=1)


def _standardise(train: ImageData, *others: ImageData) -> list[ImageData]:
    """Scale every feature to mean 0, sd 1 with ``train``'s statistics only (a constant feature
    stays 0): the early stages' features are small and uneven, and a linear head at one rate
    cannot fit them unscaled."""
    mu, sd = train.x.mean(0), train.x.std(0)
    sd = torch.where(sd > 1e-6, sd, torch.ones_like(sd))
    return [ImageData((d.x - mu) / sd, d.y, d.classes, d.name, d.paths) for d in (train, *others)]


@dataclass
class FittedHead:
    """A head fitted by :func:`fitted_head`: its test outcome and how it was chosen."""

    result: methods.MethodResult
    lr: float  # the rate chosen on validation
    val_accuracy: dict[float, float]  # rate -> validation accuracy
    train_accuracy: float  # the refitted head on all its training images

    def extras(self) -> dict:
        return {"lr": self.lr, "train_accuracy": round(self.train_accuracy, 4),
                "val_accuracy": {f"{r:g}": round(a, 4) for r, a in self.val_accuracy.items()}}


def _choose(val_accuracy: dict[float, float], train_accuracy: dict[float, float] | None = None) -> float:
    """The rate with the best validation accuracy; ties go to the better fit of the training
    images (``train_accuracy``), then to the lower rate."""
    fit = train_accuracy or {}
    return max(sorted(val_accuracy), key=lambda r: (val_accuracy[r], fit.get(r, 0.0)))


def fitted_head(train: ImageData, test: ImageData, seed: int, hidden: int = 0,
                cfg: FeatureExtractionConfig = PROFILES["quick"]) -> FittedHead:
    """A head (linear, or MLP with ``hidden`` units) on cached features, fitted the same way
    everywhere: standardised features, ``cfg.head_steps`` full-batch steps at each of
    ``cfg.head_rates`` on validation images carved from ``train``, then refitted on all of
    ``train`` at the best rate.

    Example:
        >>> h = fitted_head(train_feats, test_feats, seed=0)  # doctest: +SKIP
        >>> h.lr, h.train_accuracy, h.result.test_accuracy     # doctest: +SKIP
    """
    head_cfg = replace(HEAD_CONFIG, epochs=cfg.head_steps, batch_size=max(len(train), 1), seed=seed)
    sub, val = _val_split(train, cfg.val_share, seed)
    sub, val = _standardise(sub, val)
    heads = {lr: train_head(sub, replace(head_cfg, lr=lr), hidden, seed)[0] for lr in cfg.head_rates}
    val_acc = {lr: evaluate(h, val)["accuracy"] for lr, h in heads.items()}
    lr = _choose(val_acc, {lr: evaluate(h, sub)["accuracy"] for lr, h in heads.items()})
    strain, stest = _standardise(train, test)
    head, hist = train_head(strain, replace(head_cfg, lr=lr), hidden, seed)
    ev = evaluate(head, stest)
    result = methods.MethodResult(ev["accuracy"], ev["preds"], hist.seconds,
                                  sum(p.numel() for p in head.parameters()), hist, head,
                                  ev["mean_recall"])
    return FittedHead(result, lr, val_acc, evaluate(head, strain)["accuracy"])


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
            fit_ = fitted_head(train, test, seed, hidden, cfg)
            r, hist = fit_.result, fit_.result.history
            feature_seconds = per_image[w] * len(train)
            res.records.append({
                "part": "heads", "dataset": "photo", "method": method, "weights": w,
                "labels_per_class": cfg.labels_per_class, "seed": seed,
                "test_accuracy": round(r.test_accuracy, 4), "n_test": len(test),
                "test_set": "resampled",  # each seed's test photos are those it did not train on
                "item_correct": (r.preds == test.y).int().tolist(),
                "balanced_accuracy": round(r.balanced_accuracy, 4),  # the test set is imbalanced
                "seconds": round(hist.seconds + feature_seconds, 3),
                "feature_seconds": round(feature_seconds, 3), "head_seconds": round(hist.seconds, 3),
                "trainable_params": r.trainable_params, "network_params": total,
                "input_size": cfg.image_size, **_floor_facts(test), **fit_.extras()})


def _scratch(cfg: FeatureExtractionConfig, profile: str, res: Results, progress: bool) -> None:
    """Chapter 1's small CNN from scratch on each seed's training photos (the heads' split),
    trained as chapter 1 trains it (:func:`tlcourse.methods.scratch`, its input size, epochs and
    minimum steps), at the rate of ``cfg.scratch_rates`` best on validation photos carved from
    the training photos, then refitted on all of them."""
    ch1 = SCRATCH_PROFILES[profile]
    scfg = replace(methods.SCRATCH_CONFIG, epochs=ch1.scratch_epochs)
    photos = load_dataset("photo")
    for seed in tqdm(cfg.seeds, desc="scratch", disable=not progress):
        train, test = few_shot_split(photos, cfg.labels_per_class, seed)

        def run(tr: ImageData, te: ImageData, lr: float, seed: int = seed) -> methods.MethodResult:
            return methods.scratch("small-cnn", tr, te, ch1.small_cnn_size, replace(scfg, lr=lr),
                                   seed, min_steps=ch1.scratch_steps)

        sub, val = _val_split(train, cfg.val_share, seed)
        val_acc = {lr: run(sub, val, lr).test_accuracy for lr in cfg.scratch_rates}
        lr = _choose(val_acc)
        r = run(train, test, lr)
        res.records.append(r.record(
            part="scratch", dataset="photo", method=SCRATCH, weights="none",
            labels_per_class=cfg.labels_per_class, seed=seed, n_test=len(test),
            test_set="resampled", item_correct=(r.preds == test.y).int().tolist(),
            feature_seconds=0.0, head_seconds=round(r.seconds, 3), network_params=r.trainable_params,
            input_size=ch1.small_cnn_size, steps=len(r.history.epochs) * -(-len(train) // scfg.batch_size),
            **_floor_facts(test), lr=lr, train_accuracy=round(evaluate(r.model, train)["accuracy"], 4),
            val_accuracy={f"{k:g}": round(a, 4) for k, a in val_acc.items()}))


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
            fit_ = fitted_head(train, test, seed, cfg=cfg)
            r = fit_.result
            res.records.append(r.record(part="layer-probe", dataset=name, method="linear-probe",
                                        n_test=len(test), test_set="resampled",
                                        item_correct=(r.preds == test.y).int().tolist(),
                                        depth=depth, layer=_depth_label(depth),
                                        feature_dim=int(feats.x.shape[1]), labels_per_class=k,
                                        seed=seed, input_size=cfg.image_size,
                                        **_floor_facts(test), **fit_.extras()))


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


def _floor(rows: list[dict]) -> float | None:
    """The floor an arm must beat on its test sets: chance or the majority class, whichever is
    higher, averaged over its seeds (None: the records do not say)."""
    if not rows or not all("n_classes" in r and "majority_share" in r for r in rows):
        return None
    return statistics.fmean(max(1 / r["n_classes"], r["majority_share"]) for r in rows)


def _fit_note(rows: list[dict], what: str) -> str:
    """'' when every run fitted its training set, else the sentence saying it did not."""
    acc = [r["train_accuracy"] for r in rows if "train_accuracy" in r]
    unfit = [a for a in acc if not fitted(a)]
    if not unfit:
        return ""
    return (f" ({len(unfit)} of {len(acc)} runs did not fit {what}: training accuracy "
            f"{_train(acc)}, below {FITTED * 100:.0f} %)")


def _train(acc) -> str:
    """Training accuracy over runs: its mean and lowest (no interval: it is a check, not a
    comparison, and a mean near 100 % would get bounds above it)."""
    acc = list(acc.values()) if isinstance(acc, dict) else list(acc)
    return f"{statistics.fmean(acc) * 100:.0f} % (lowest {min(acc) * 100:.0f} %)"


#: claim 3's alternatives to the recipe, each vs ImageNet features + a linear head: (method,
#: the winner's and the loser's names in the judge's sentence)
RECIPE_VERSUS = (("linear-head-random-weights", "ImageNet weights", "random weights"),
                 (SCRATCH, "ImageNet features + linear head", NAMES[SCRATCH]))


def recipe_verdicts(records: list[dict]) -> list[tuple[str, Verdict | None, str]]:
    """Claim 3: the recipe (a linear head on frozen ImageNet features) vs each alternative in the
    records, paired per seed and judged by :func:`tlcourse.stats.judge`: random features under
    the same head, and the best network trained from scratch on the same photos. Each item is
    (method, verdict or None, the sentence); an alternative that ended at or below the floor
    (chance or the majority class) gets no verdict, and its sentence says so. The chapter and
    the ledger both print these.

    Example:
        >>> for method, v, said in recipe_verdicts(res.records): print(said)  # doctest: +SKIP
    """
    rows = [r for r in records if r.get("part") in ("heads", "scratch")]
    base = by_seed(rows, "test_accuracy", method="linear-head")
    out: list[tuple[str, Verdict | None, str]] = []
    for method, a, b in RECIPE_VERSUS:
        arm = [r for r in rows if r["method"] == method]
        if not arm or not base:
            continue
        acc = by_seed(arm, "test_accuracy")
        note = _fit_note(arm, "its training photos")
        floor = _floor(arm)
        if floor is not None and statistics.fmean(acc.values()) <= floor:
            said = (f"{b} scored {_acc(acc)}, at or below the floor of these test photos "
                    f"({floor * 100:.0f} %, chance or the majority class){note}: excluded from "
                    "the verdict.")
            out.append((method, None, said[0].upper() + said[1:]))
            continue
        v = judge(base, acc)
        lead = ("With a linear head on each" if method != SCRATCH else
                f"Against {b} (chapter 1's network, rate chosen on validation)")
        out.append((method, v, f"{lead}{note}: {v.text(a, b, 'test photos')}."))
    return out


def recipe_binding(judged: list[tuple[str, Verdict | None, str]]) -> Verdict | None:
    """The verdict claim 3 rests on: the recipe must beat every alternative, so the weakest
    comparison decides (one that does not hold, else an inconclusive one, else the one with the
    lowest interval). None when no alternative could be judged."""
    vs = [v for _, v, _ in judged if v is not None]
    if not vs:
        return None
    return min(vs, key=lambda v: (v.word != "does not hold here", v.decided, v.low))


def _fit_lines(records: list[dict]) -> list[str]:
    """Did every layer probe fit its training images? One line per dataset."""
    out = []
    probe = [r for r in records if r.get("part") == "layer-probe" and "train_accuracy" in r]
    for ds in dict.fromkeys(r["dataset"] for r in probe):
        parts, unfit = [], []
        for d in sorted({r["depth"] for r in probe if r["dataset"] == ds}):
            rs = [r for r in probe if r["dataset"] == ds and r["depth"] == d]
            bad = sum(not fitted(r["train_accuracy"]) for r in rs)
            rates = ", ".join(f"{lr:g}" for lr in sorted({r["lr"] for r in rs}))
            parts.append(f"{_depth_label(d)} {statistics.fmean(r['train_accuracy'] for r in rs) * 100:.0f} %"
                         f" (rate {rates})")
            if bad:
                unfit.append(f"{_depth_label(d)} in {bad} of {len(rs)} draws")
        head = (f"{ds}: training accuracy of the probes (standardised features, rate chosen on "
                f"validation): " + "; ".join(parts))
        out.append(head + (f" - every probe fitted its training images (>= {FITTED * 100:.0f} %)."
                           if not unfit else f" - NOT fitted (< {FITTED * 100:.0f} %): "
                           + "; ".join(unfit) + ", so those test accuracies partly measure a "
                           "probe that could not separate its own training images."))
    return out


def findings(records: list[dict], part: str | None = None) -> list[str]:
    """Computed sentences on the heads and claim 3's recipe (paired per seed, judged by
    :func:`tlcourse.stats.judge`) and on the layer probe (:func:`verdict`); ``part="heads"`` or
    ``"layer-probe"`` gives one.

    Example:
        >>> print("\\n".join(findings(res.records)))   # doctest: +SKIP
    """
    heads = [r for r in records if r.get("part") in ("heads", "scratch")]
    methods_run = list(dict.fromkeys(r["method"] for r in heads))
    out = []
    if methods_run and part in (None, "heads"):
        def arm(m: str, metric: str = "test_accuracy"):
            return by_seed(heads, metric, method=m)

        n = len(arm(methods_run[0]))
        floor = _floor(heads)
        first = heads[0]
        out.append(f"Photo test set, {n} seed{'s' if n != 1 else ''} "
                   f"(accuracy, balanced accuracy in brackets: the classes are imbalanced"
                   + (f"; chance {100 / first['n_classes']:.0f} %, majority class "
                      f"{100 * first['majority_share']:.0f} %" if floor is not None else "")
                   + "):")
        for m in methods_run:
            bal = arm(m, "balanced_accuracy") if all("balanced_accuracy" in r for r in heads) else {}
            tr = by_seed(heads, "train_accuracy", method=m) if all(
                "train_accuracy" in r for r in heads) else {}
            rate = sorted({r["lr"] for r in heads if r["method"] == m and "lr" in r})
            out.append(f"  {m}: {_acc(arm(m))}" + (f" [{_acc(bal)}]" if bal else "")
                       + (f"; training accuracy {_train(tr)}" if tr else "")
                       + (f"; rate{'s' if len(rate) > 1 else ''} chosen on validation "
                          + ", ".join(f"{x:g}" for x in rate) if rate else ""))
        if "mlp-head" in methods_run and "linear-head" in methods_run:
            said = judge(arm("mlp-head"), arm("linear-head")).text("the MLP head", "the linear head",
                                                                   "test photos")
            out.append(said[0].upper() + said[1:] + ".")
        judged = recipe_verdicts(records)
        out += [said for _, _, said in judged]
        binding = recipe_binding(judged)
        if binding is not None and len(judged) > 1:
            out.append(f"Claim 3 (the recipe beats each alternative) rests on the weakest "
                       f"comparison: {binding.word}.")
        h = next(r for r in heads if r["method"] == ("linear-head" if "linear-head" in methods_run
                                                     else methods_run[0]))
        out.append(f"The linear head trains {h['trainable_params']:,} of the network's "
                   f"{h['network_params']:,} parameters "
                   f"({100 * h['trainable_params'] / h['network_params']:.2f} %).")
    if part in (None, "layer-probe"):
        out += _fit_lines(records)
    probe = verdict(records) if part in (None, "layer-probe") else ""
    return out + (probe.split("\n") if probe else [])


@register("feature-extraction", "Ch. 2: frozen backbone heads, layer-by-layer probe, feature maps", PROFILES)
def run(cfg: FeatureExtractionConfig, res: Results, progress: bool) -> Results:
    """Run the chapter-2 measurements; ``seeds`` overrides the profile's seeds.

    Example:
        >>> res = run(progress=False)                                     # doctest: +SKIP
        >>> print(format_table(summarize(res.records, by=("part", "dataset", "method", "depth"))))
    """
    _heads(cfg, res, progress)
    _scratch(cfg, res.profile, res, progress)
    _layer_probe(cfg, res, progress)
    return res
