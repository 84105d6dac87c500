"""Claim: domain mismatch shrinks the benefit of transfer, and can even make it hurt.

* **domain-shift** - photos -> clip art (same 6 classes) with frozen ImageNet Lite0 features at
  96 px: train on one domain, test on the other; adapt with k labelled target images (linear
  probe, fine-tune of the top stages, LP-FT) and without labels (BatchNorm re-estimation).
* **digits-shift** - MNIST (28x28) <-> scikit-learn digits (8x8, other writers and preprocessing),
  small CNN: the same adaptations.
* **corruptions** - MNIST-C-style corruptions at severities 1-5 on the MNIST test set; scratch
  vs linear probe / fine-tune / LP-FT from a Fashion-MNIST-pretrained small CNN; BN
  re-estimation on the corrupted set.
* **negative-transfer** - 10 labels per MNIST class: a small CNN from scratch against pretrained
  starts that should not help (ImageNet features at 32 px, a Fashion-MNIST source).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, replace

import torch
from tqdm.auto import tqdm

from ..adaptation import reestimate_bn
from ..backbones import TransferNet, create_backbone
from ..corruptions import corrupt_data, list_corruptions
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..features import HEAD_CONFIG, extract_features
from ..methods import FINETUNE_CONFIG
from ..train import TrainConfig, evaluate, fit, seed_everything
from . import Results, register

ADAPT_METHODS = ("linear-probe", "fine-tune", "lp-ft")


def adapt(net: TransferNet, train: ImageData, method: str, head_cfg: TrainConfig,
          ft_cfg: TrainConfig, trainable_stages: int | None = None,
          new_head: bool = False) -> TransferNet:
    """A copy of ``net`` adapted to ``train`` by one of :data:`ADAPT_METHODS`.

    ``linear-probe`` trains only the head (body frozen); ``fine-tune`` trains the head and the top
    ``trainable_stages`` (all if None) together; ``lp-ft`` does the first, then the second.

    Example:
        >>> tuned = adapt(source, target_k, "lp-ft", head_cfg, ft_cfg)   # doctest: +SKIP
    """
    if method not in ADAPT_METHODS:
        raise ValueError(f"method must be one of {ADAPT_METHODS}, not {method!r}")
    net = copy.deepcopy(net)
    if new_head:
        net.reset_head(len(train.classes))
    if method in ("linear-probe", "lp-ft"):
        fit(net.freeze(0), train, head_cfg)
    if method in ("fine-tune", "lp-ft"):
        fit(net.freeze(net.num_stages if trainable_stages is None else trainable_stages), train, ft_cfg)
    return net.freeze(0)


def _small_cnn(train: ImageData, epochs: int, seed: int) -> TransferNet:
    seed_everything(seed)
    net = create_backbone("small-cnn", len(train.classes), input_size=28)
    fit(net, train, TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, weight_decay=5e-4,
                                seed=seed, progress=False))
    return net


def _acc(net, data) -> float:
    return round(evaluate(net, data)["accuracy"], 4)


# ---------------------------------------------------------------------------------------------
# Photos <-> clip art
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainShiftConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 side; features cached once (3 ms/img forward)
    source_per_class: int = 8  # labelled source images per class; the smallest classes (17
    # photos, 13 clip art) must keep 5 test images each
    ks: tuple[int, ...] = (1, 4, 8)  # labelled target images per class (k = 0: source only)
    ft_stages: int = 2  # fine-tune only Lite0's top 2 stages: full fine-tuning is 24 ms/img
    ft_epochs: int = 6  # at rate 1e-4 (FINETUNE_CONFIG)
    seeds: tuple[int, ...] = (0, 1)


PROFILES = {
    "quick": DomainShiftConfig(),
    "full": DomainShiftConfig(image_size=224, ks=(1, 2, 4, 8), ft_stages=4, ft_epochs=15,
                              seeds=(0, 1, 2, 3, 4)),
}
_FT = FINETUNE_CONFIG  # the course's one fine-tuning recipe (rate 1e-4, BatchNorm kept as pretrained)


@register("domain-shift", "Ch. 5: photos <-> clip art; k-shot and BatchNorm adaptation")
def run_domain_shift(profile: str = "quick", seeds: tuple[int, ...] | None = None,
                     progress: bool = True) -> Results:
    """Records: source, target, method (source-only / linear-probe / fine-tune / lp-ft /
    bn-reestimate), k (target labels per class), seed, test_accuracy."""
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("domain-shift", profile, asdict(cfg))
    data = {d: load_dataset(d) for d in ("photo", "clipart")}
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    feats = {d: extract_features(net, x) for d, x in data.items()}
    bn_net = reestimate_bn(net, data["clipart"])  # unlabeled clip art: only BN buffers change
    bn_clip = extract_features(bn_net, data["clipart"])
    res.artifacts["examples"] = {d: sample_per_class(x, 1, 0) for d, x in data.items()}
    kmax = max(cfg.ks)
    for seed in tqdm(cfg.seeds, desc="domain-shift seeds", disable=not progress):
        split = {d: few_shot_split(f, cfg.source_per_class, seed) for d, f in feats.items()}
        heads, rec = {}, dict(seed=seed, n_source=cfg.source_per_class * 6)
        for src in ("photo", "clipart"):
            seed_everything(seed)
            heads[src] = torch.nn.Linear(net.num_features, 6)
            fit(heads[src], split[src][0], replace(HEAD_CONFIG, seed=seed))
            for tgt in ("photo", "clipart"):
                res.records.append({**rec, "study": "cross-domain", "source": src, "target": tgt,
                                    "method": "source-only",
                                    "k": 0, "test_accuracy": _acc(heads[src], split[tgt][1])})
        # k-shot adaptation photo -> clip art, tested on clip art outside the largest k pool
        _, clip_test_f = few_shot_split(feats["clipart"], kmax, seed)
        _, clip_test = few_shot_split(data["clipart"], kmax, seed)
        _, bn_test = few_shot_split(bn_clip, kmax, seed)
        rec = {**rec, "study": "adaptation", "source": "photo", "target": "clipart"}
        res.records.append({**rec, "method": "source-only", "k": 0,
                            "test_accuracy": _acc(heads["photo"], clip_test_f)})
        res.records.append({**rec, "method": "bn-reestimate", "k": 0,
                            "test_accuracy": _acc(heads["photo"], bn_test)})
        source = copy.deepcopy(net)
        source.head.load_state_dict(heads["photo"].state_dict())
        if seed == cfg.seeds[0]:
            res.artifacts.update(clip_test=clip_test, classes=data["clipart"].classes,
                                 preds={"source-only": evaluate(heads["photo"], clip_test_f)["preds"]})
        for k in cfg.ks:
            k_train_f, _ = few_shot_split(feats["clipart"], k, seed, max_labels=kmax)
            k_train, _ = few_shot_split(data["clipart"], k, seed, max_labels=kmax)
            seed_everything(seed)
            lp = copy.deepcopy(heads["photo"])  # linear probe: start from the photo head
            fit(lp, k_train_f, replace(HEAD_CONFIG, seed=seed))
            res.records.append({**rec, "method": "linear-probe", "k": k,
                                "test_accuracy": _acc(lp, clip_test_f)})
            for method, head in (("fine-tune", heads["photo"]), ("lp-ft", lp)):
                seed_everything(seed)
                tuned = copy.deepcopy(source)
                tuned.head.load_state_dict(head.state_dict())
                fit(tuned.freeze(cfg.ft_stages), k_train, replace(_FT, epochs=cfg.ft_epochs, seed=seed))
                ev = evaluate(tuned, clip_test)
                res.records.append({**rec, "method": method, "k": k,
                                    "test_accuracy": round(ev["accuracy"], 4)})
                if seed == cfg.seeds[0] and k == kmax and method == "lp-ft":
                    res.artifacts["preds"]["lp-ft"] = ev["preds"]
    return res


# ---------------------------------------------------------------------------------------------
# MNIST <-> scikit-learn digits
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigitsShiftConfig:
    """Settings of one run; ``PROFILES_DIGITS`` holds the quick and full variants."""

    source_per_class: int = 100  # source training images per class (both directions)
    source_epochs: int = 4  # small CNN at 28 px (digits are upsampled from 8 px)
    mnist_test_per_class: int = 100
    ks: tuple[int, ...] = (1, 5, 10)  # labelled target images per class
    head_epochs: int = 15  # linear probe through the frozen body
    ft_epochs: int = 10  # all layers, rate 1e-3
    seeds: tuple[int, ...] = (0, 1)


PROFILES_DIGITS = {
    "quick": DigitsShiftConfig(),
    "full": DigitsShiftConfig(source_per_class=120, source_epochs=10, mnist_test_per_class=1000,
                              ks=(1, 2, 5, 10, 20), seeds=(0, 1, 2, 3, 4)),
}


@register("digits-shift", "Ch. 5: MNIST <-> scikit-learn 8x8 digits; k-shot and BN adaptation")
def run_digits(profile: str = "quick", seeds: tuple[int, ...] | None = None,
               progress: bool = True) -> Results:
    """Records: source, target, method, k, seed, test_accuracy (as in domain-shift)."""
    cfg = PROFILES_DIGITS[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("digits-shift", profile, asdict(cfg))
    mnist_pool, digits = load_dataset("mnist", "train"), load_dataset("digits")
    mnist_test = sample_per_class(load_dataset("mnist", "test"), cfg.mnist_test_per_class, 0)
    head_cfg = TrainConfig(epochs=cfg.head_epochs, batch_size=32, lr=3e-3, progress=False)
    ft_cfg = TrainConfig(epochs=cfg.ft_epochs, batch_size=16, lr=1e-3, progress=False)
    kmax = max(cfg.ks)
    for seed in tqdm(cfg.seeds, desc="digits-shift seeds", disable=not progress):
        digits_train, digits_test = few_shot_split(digits, cfg.source_per_class, seed)
        mnist_train = sample_per_class(mnist_pool, cfg.source_per_class, seed)
        tests = {"mnist": mnist_test, "digits": digits_test}
        for src, train in (("mnist", mnist_train), ("digits", digits_train)):
            source = _small_cnn(train, cfg.source_epochs, seed)
            tgt = "digits" if src == "mnist" else "mnist"
            rec = dict(source=src, seed=seed)
            for t in ("mnist", "digits"):
                res.records.append({**rec, "study": "cross-domain", "target": t,
                                    "method": "source-only", "k": 0,
                                    "test_accuracy": _acc(source, tests[t])})
            # target pool for k-shot: k per class from data the test set does not contain
            if tgt == "digits":
                pool, test = few_shot_split(digits_test, kmax, seed)
            else:
                pool = sample_per_class(mnist_pool, kmax, seed + 1000)
                test = mnist_test
            rec = {**rec, "study": "adaptation", "target": tgt}
            res.records.append({**rec, "method": "bn-reestimate", "k": 0,
                                "test_accuracy": _acc(reestimate_bn(source, test), test)})
            res.records.append({**rec, "method": "source-only", "k": 0,
                                "test_accuracy": _acc(source, test)})
            for k in cfg.ks:
                k_train = sample_per_class(pool, k, seed)
                for method in ADAPT_METHODS:
                    seed_everything(seed)
                    tuned = adapt(source, k_train, method, replace(head_cfg, seed=seed),
                                  replace(ft_cfg, seed=seed))
                    res.records.append({**rec, "method": method, "k": k,
                                        "test_accuracy": _acc(tuned, test)})
    return res


# ---------------------------------------------------------------------------------------------
# Controlled shift: corruptions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorruptionsConfig:
    """Settings of one run; ``PROFILES_CORRUPTIONS`` holds the quick and full variants."""

    train_per_class: int = 100  # clean MNIST training images per class
    source_per_class: int = 100  # Fashion-MNIST images per class for the pretrained source
    test_per_class: int = 30  # MNIST test images per class, corrupted 6 ways x 5 severities
    epochs: int = 4  # scratch and source training (rate 3e-3)
    head_epochs: int = 10
    ft_epochs: int = 4  # fine-tuning all layers at 1e-3
    corruptions: tuple[str, ...] = tuple(list_corruptions())
    seeds: tuple[int, ...] = (0,)


PROFILES_CORRUPTIONS = {
    "quick": CorruptionsConfig(),
    "full": CorruptionsConfig(train_per_class=1000, source_per_class=1000, test_per_class=500,
                              epochs=10, head_epochs=30, ft_epochs=10, seeds=(0, 1, 2)),
}


@register("corruptions", "Ch. 5: accuracy vs corruption severity for scratch, LP, FT, LP-FT")
def run_corruptions(profile: str = "quick", seeds: tuple[int, ...] | None = None,
                    progress: bool = True) -> Results:
    """Records: method, corruption ("clean" at severity 0), severity, seed, test_accuracy, and
    for method "bn-reestimate" the scratch model with BN statistics of the corrupted set."""
    cfg = PROFILES_CORRUPTIONS[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("corruptions", profile, asdict(cfg))
    test = sample_per_class(load_dataset("mnist", "test"), cfg.test_per_class, 0)
    shifted = {(c, s): corrupt_data(test, c, s, seed=0) for c in cfg.corruptions for s in range(1, 6)}
    res.artifacts["examples"] = {k: v.subset([0]) for k, v in shifted.items()}
    head_cfg = TrainConfig(epochs=cfg.head_epochs, batch_size=32, lr=3e-3, progress=False)
    ft_cfg = TrainConfig(epochs=cfg.ft_epochs, batch_size=32, lr=1e-3, progress=False)
    for seed in cfg.seeds:
        train = sample_per_class(load_dataset("mnist", "train"), cfg.train_per_class, seed)
        fashion = sample_per_class(load_dataset("fashion-mnist", "train"), cfg.source_per_class, seed)
        source = _small_cnn(fashion, cfg.epochs, seed)
        models = {"scratch": _small_cnn(train, cfg.epochs, seed)}
        for m in ADAPT_METHODS:
            seed_everything(seed)
            models[m] = adapt(source, train, m, replace(head_cfg, seed=seed),
                              replace(ft_cfg, seed=seed), new_head=True)
        for name, net in tqdm(models.items(), desc=f"corruptions seed {seed}", disable=not progress):
            res.records.append(dict(method=name, corruption="clean", severity=0, seed=seed,
                                    test_accuracy=_acc(net, test)))
            for (c, s), data in shifted.items():
                res.records.append(dict(method=name, corruption=c, severity=s, seed=seed,
                                        test_accuracy=_acc(net, data)))
                if name == "scratch":
                    res.records.append(dict(method="bn-reestimate", corruption=c, severity=s,
                                            seed=seed, test_accuracy=_acc(reestimate_bn(net, data), data)))
    return res


# ---------------------------------------------------------------------------------------------
# Negative transfer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeTransferConfig:
    """Settings of one run; ``PROFILES_NEGATIVE`` holds the quick and full variants."""

    labels_per_class: int = 10  # MNIST labels per class: the small-data regime
    test_per_class: int = 50
    scratch_epochs: int = 15  # small CNN from scratch (SCRATCH_CONFIG's rate 3e-3)
    source_per_class: int = 100  # Fashion-MNIST source images per class
    probe_sizes: tuple[int, ...] = (32, 96)  # ImageNet Lite0 probe input sides (32 = too small)
    seeds: tuple[int, ...] = (0, 1, 2)


PROFILES_NEGATIVE = {
    "quick": NegativeTransferConfig(),
    "full": NegativeTransferConfig(test_per_class=500, source_per_class=1000, seeds=tuple(range(5))),
}


@register("negative-transfer", "Ch. 5: when a pretrained start is worse than scratch (MNIST, 10/class)")
def run_negative(profile: str = "quick", seeds: tuple[int, ...] | None = None,
                 progress: bool = True) -> Results:
    """Records: method, seed, test_accuracy, gap_vs_scratch (negative = negative transfer)."""
    cfg = PROFILES_NEGATIVE[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("negative-transfer", profile, asdict(cfg))
    pool = load_dataset("mnist", "train")
    test = sample_per_class(load_dataset("mnist", "test"), cfg.test_per_class, 0)
    lite = {s: create_backbone("lite0-imagenet", 10, input_size=s).freeze(0) for s in cfg.probe_sizes}
    test_f = {s: extract_features(n, test) for s, n in lite.items()}
    head_cfg = TrainConfig(epochs=30, batch_size=32, lr=3e-3, progress=False)
    fashion = sample_per_class(load_dataset("fashion-mnist", "train"), cfg.source_per_class, 0)
    source = _small_cnn(fashion, 4, 0)  # one source for all seeds: only the target draw varies
    for seed in tqdm(cfg.seeds, desc="negative-transfer seeds", disable=not progress):
        train = sample_per_class(pool, cfg.labels_per_class, seed)
        seed_everything(seed)
        scratch = create_backbone("small-cnn", 10, input_size=28)
        fit(scratch, train, TrainConfig(epochs=cfg.scratch_epochs, batch_size=16, lr=3e-3,
                                        weight_decay=5e-4, seed=seed, progress=False))
        accs = {"small-cnn-scratch": _acc(scratch, test)}
        for s, n in lite.items():
            seed_everything(seed)
            head = torch.nn.Linear(n.num_features, 10)
            fit(head, extract_features(n, train), replace(HEAD_CONFIG, seed=seed))
            accs[f"imagenet-frozen-{s}px"] = _acc(head, test_f[s])
        seed_everything(seed)
        accs["fashion-frozen"] = _acc(adapt(source, train, "linear-probe", replace(head_cfg, seed=seed),
                                            head_cfg, new_head=True), test)
        for name, a in accs.items():
            res.records.append(dict(dataset="mnist", method=name, labels_per_class=cfg.labels_per_class,
                                    seed=seed, test_accuracy=a,
                                    gap_vs_scratch=round(a - accs["small-cnn-scratch"], 4)))
    return res


def findings(shift: list[dict] = (), digits: list[dict] = (), corruptions: list[dict] = (),
             negative: list[dict] = ()) -> list[str]:
    """Computed sentences on the chapter's claims, from whichever records are given."""
    def m(records, **match):
        v = [r["test_accuracy"] for r in records if all(r.get(k) == x for k, x in match.items())]
        return sum(v) / len(v) if v else float("nan")
    out = []
    if shift:
        same = m(shift, study="cross-domain", source="photo", target="photo")
        cross = m(shift, study="cross-domain", source="photo", target="clipart")
        kmax = max(r["k"] for r in shift)
        k0, bn = m(shift, study="adaptation", method="source-only"), m(shift, method="bn-reestimate")
        out += [f"photo->photo {same:.0%} vs photo->clipart {cross:.0%}: domain shift costs "
                f"{same - cross:.0%} (the curriculum's earlier measurement: ~78% vs ~48%).",
                f"With {kmax} clip-art labels per class: linear probe {m(shift, method='linear-probe', k=kmax):.0%}, "
                f"fine-tune {m(shift, method='fine-tune', k=kmax):.0%}, LP-FT {m(shift, method='lp-ft', k=kmax):.0%} "
                f"(from {k0:.0%} with none); BN re-estimation without labels: {bn:.0%}."]
    if digits:
        for src, tgt in (("mnist", "digits"), ("digits", "mnist")):
            a = dict(study="adaptation", source=src)
            out.append(f"{src}->{tgt}: {m(digits, method='source-only', **a):.0%} without adaptation, "
                       f"{m(digits, method='bn-reestimate', **a):.0%} after BN re-estimation, "
                       f"{m(digits, method='lp-ft', k=max(r['k'] for r in digits), **a):.0%} with LP-FT on "
                       f"{max(r['k'] for r in digits)} labels/class (in-domain: "
                       f"{m(digits, study='cross-domain', source=tgt, target=tgt):.0%}).")
    if corruptions:
        meths = list(dict.fromkeys(r["method"] for r in corruptions))
        clean = {k: m(corruptions, method=k, severity=0) for k in meths}
        shifted = {k: m([r for r in corruptions if r["severity"] > 0], method=k) for k in meths}
        best = max((k for k in meths if k != "bn-reestimate"), key=shifted.get)
        out.append("Mean accuracy over corruptions and severities 1-5 (clean in brackets): " + ", ".join(
            f"{k} {shifted[k]:.0%} ({clean[k]:.0%})" if clean[k] == clean[k] else f"{k} {shifted[k]:.0%}"
            for k in meths) + f"; most robust of the trained models: {best}.")
    if negative:
        for meth in dict.fromkeys(r["method"] for r in negative):
            if meth == "small-cnn-scratch":
                continue
            gaps = [r["gap_vs_scratch"] for r in negative if r["method"] == meth]
            verdict = ("negative transfer in every seed" if max(gaps) < 0 else
                       "helps in every seed" if min(gaps) > 0 else "mixed over seeds")
            out.append(f"{meth}: {sum(gaps) / len(gaps):+.1%} vs scratch over {len(gaps)} seeds -> {verdict}.")
    return out
