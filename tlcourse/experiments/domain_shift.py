"""Claim: domain mismatch shrinks the benefit of transfer, and can even make it hurt.

* **domain-shift** - photos -> clip art (same 6 classes) with frozen ImageNet Lite0 features at
  96 px: train on one domain, test on the other; adapt with k labelled target images (linear
  probe, fine-tune of the top stages, LP-FT) and without labels (AdaBN, as published: a head
  trained on photo-statistics features, then clip-art BatchNorm statistics).
* **digits-shift** - MNIST (28x28) <-> scikit-learn digits (8x8, other writers and preprocessing),
  small CNN: the same adaptations.
* chapter 5b's **corruptions** and **negative-transfer** experiments live in :mod:`.robustness`
  and :mod:`.negative_transfer`; they use the adaptation and findings helpers here.

AdaBN records say where the target statistics came from (``bn_stats``) and whether those were
the test images themselves (``transductive``); see :mod:`tlcourse.adaptation`.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, replace

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import smoke
from ..adaptation import BN_STATS, reestimate_bn
from ..backbones import TransferNet, create_backbone
from ..data import ImageData, few_shot_split, load_dataset, sample_per_class
from ..features import HEAD_CONFIG, extract_features
from ..methods import FINETUNE_CONFIG
from ..stats import Verdict, by_seed, judge, paired_gaps
from ..train import TrainConfig, evaluate, fit, get_device, seed_everything, smoke_rows
from . import Results, register
from .shift_benefit import benefit_records, benefit_sentence, pixels

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


class CachedTop(nn.Module):
    """The trainable top of a :class:`TransferNet`, run on cached outputs of its frozen stages.

    Frozen stages in eval mode (TransferNet's default) compute the same activations every epoch
    when nothing is augmented, so fine-tuning the top stages on activations cached once gives
    the same weights as fine-tuning the whole network on images, for a fraction of the CPU
    time (the test suite checks the equality). Training a ``CachedTop`` trains ``net`` itself.

    Example:
        >>> top = CachedTop(net, trainable_stages=2)              # doctest: +SKIP
        >>> fit(top, top.activations(train), FINETUNE_CONFIG)    # doctest: +SKIP
    """

    def __init__(self, net: TransferNet, trainable_stages: int) -> None:
        super().__init__()
        self.net = net
        stages = net.freeze(0).frozen_stages()  # every stage, in forward order
        net.freeze(trainable_stages)
        cut = net.num_stages - trainable_stages
        self._low, self._top = stages[:cut], stages[cut:]  # plain lists: ``net`` owns them

    @torch.no_grad()
    def activations(self, data: ImageData, batch_size: int = 128) -> ImageData:
        """Output of the frozen stages for every image (``[N, C, H, W]`` floats), labels kept."""
        device = get_device()
        net = self.net.to(device).eval()

        def low(x: torch.Tensor) -> torch.Tensor:
            h = net.preprocess(x.to(device))
            for stage in self._low:
                h = stage(h)
            return h.float().cpu()

        if smoke.active():  # count the pass, run a sliver of it
            smoke.work().add_infer(len(data), smoke.input_side(net))
            h = smoke_rows(low(data.x[:smoke.BATCH]), len(data))
        else:
            h = torch.cat([low(data.x[i:i + batch_size]) for i in range(0, len(data), batch_size)])
        return ImageData(h, data.y, data.classes, f"{data.name}:activations", data.paths)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] activations -> logits
        for stage in self._top:
            h = stage(h)
        return self.net.head(self.net.body.forward_head(h, pre_logits=True))

    def param_groups(self, lr: float, decay: float = 1.0) -> list[dict]:
        """The network's own optimiser groups (discriminative rates included)."""
        return self.net.param_groups(lr, decay)


def _small_cnn(train: ImageData, epochs: int, seed: int) -> TransferNet:
    seed_everything(seed)
    net = create_backbone("small-cnn", len(train.classes), input_size=28)
    fit(net, train, TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, weight_decay=5e-4,
                                seed=seed, progress=False))
    return net


def _acc(net: nn.Module, data: ImageData, test_set: str) -> dict:
    """``test_accuracy`` with its per-item outcomes (0/1, in the test set's order), ``n_test`` and
    ``test_set`` ("fixed": the same items every seed; "resampled": drawn anew each seed), the
    fields :func:`tlcourse.stats.judge` reads to count the test set's own sampling error."""
    return _scores(net, data, test_set, balanced=False)


def _scores(net: nn.Module, data: ImageData, test_set: str = "resampled",
            balanced: bool = True) -> dict:
    """:func:`_acc`'s fields and balanced accuracy (mean per-class recall: the object test sets
    are imbalanced), rounded for the records."""
    ev = evaluate(net, data)
    hit = (ev["preds"] == data.y).int().tolist()
    out = {"test_accuracy": round(sum(hit) / len(hit), 4), "item_correct": hit,
           "n_test": len(hit), "test_set": test_set}
    return {**out, "balanced_accuracy": round(ev["mean_recall"], 4)} if balanced else out


def _adabn(bn_stats: str) -> dict:
    """The settings of an AdaBN record: where its target statistics came from."""
    return {"method": "adabn", "bn_stats": bn_stats, "transductive": BN_STATS[bn_stats]}


# ---------------------------------------------------------------------------------------------
# Photos <-> clip art
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainShiftConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    image_size: int = 96  # Lite0 side; features cached once (3 ms/img forward)
    source_per_class: int = 8  # labelled source images per class; the smallest classes (17
    # photos, 13 clip art) must keep 5 test images each
    ks: tuple[int, ...] = (1, 4, 8)  # labelled target images per class (k = 0: source only);
    # the largest k's images are also AdaBN's unlabelled target pool
    ft_stages: int = 2  # fine-tune only Lite0's top 2 stages (on cached activations of the rest)
    ft_epochs: int = 6  # at rate 1e-4 (FINETUNE_CONFIG)
    seeds: tuple[int, ...] = (0, 1, 2)
    benefit_seeds: tuple[int, ...] = tuple(range(10))  # claim 12's benefit (heads only, ~1 s a
    # seed); ``--seeds N`` sets both seed lists


PROFILES = {
    "quick": DomainShiftConfig(),
    "full": DomainShiftConfig(image_size=224, ks=(1, 2, 4, 8), ft_stages=4, ft_epochs=15,
                              seeds=(0, 1, 2, 3, 4)),
}
_FT = FINETUNE_CONFIG  # the course's one fine-tuning recipe (rate 1e-4, BatchNorm kept as pretrained)


def _adabn_records(net: TransferNet, source: ImageData, test: ImageData, pool: ImageData,
                   seed: int) -> list[dict]:
    """AdaBN as published, on a frozen backbone: BatchNorm statistics of the ``source``
    training images, a head trained on those features (record ``source-bn``: tested with source
    statistics); then the same head with target statistics from ``test`` itself (transductive)
    or from the unlabelled ``pool``. Only BatchNorm buffers differ between the three."""
    src_net = reestimate_bn(net, source)
    seed_everything(seed)
    head = torch.nn.Linear(net.num_features, len(source.classes))
    fit(head, extract_features(src_net, source), replace(HEAD_CONFIG, seed=seed))
    out = [{"method": "source-bn", "k": 0, "bn_stats": "source",
            **_scores(head, extract_features(src_net, test))}]
    for bn_stats, images in (("target-test", test), ("target-pool", pool)):
        target_feats = extract_features(reestimate_bn(src_net, images), test)
        out.append({**_adabn(bn_stats), "k": 0, **_scores(head, target_feats)})
    return out


@register("domain-shift", "Ch. 5: photos <-> clip art; k-shot adaptation and AdaBN", PROFILES,
          seeds_into=("seeds", "benefit_seeds"))
def run_domain_shift(cfg: DomainShiftConfig, res: Results, progress: bool) -> Results:
    """Records: study, source, target, method (source-only / source-bn / adabn / linear-probe /
    fine-tune / lp-ft), k (target labels per class), seed, test_accuracy, balanced_accuracy;
    ``bn_stats`` (imagenet / source / target-test / target-pool) and, for AdaBN, ``transductive``.

    AdaBN as published: per seed, BatchNorm statistics are re-estimated on the source training
    photos, a head is trained on those photo-statistics features (``source-bn``, tested on clip
    art with photo statistics), then the same head is tested with clip-art statistics, from the
    clip-art test images (transductive) or from the unlabelled target pool (the k-shot images).
    """
    data = {d: load_dataset(d) for d in ("photo", "clipart")}
    net = create_backbone("lite0-imagenet", 6, input_size=cfg.image_size).freeze(0)
    feats = {d: extract_features(net, x) for d, x in data.items()}  # ImageNet BN statistics
    res.records += benefit_records({d: {"imagenet-frozen": feats[d], "raw-pixels": pixels(net, x)}
                                    for d, x in data.items()}, cfg.source_per_class,
                                   cfg.benefit_seeds)
    top = CachedTop(copy.deepcopy(net), cfg.ft_stages)
    clip_acts = top.activations(data["clipart"])  # the frozen stages' output, computed once
    res.artifacts["examples"] = {d: sample_per_class(x, 1, 0) for d, x in data.items()}
    kmax = max(cfg.ks)
    for seed in tqdm(cfg.seeds, desc="domain-shift seeds", disable=not progress):
        head_cfg = replace(HEAD_CONFIG, seed=seed)
        split = {d: few_shot_split(f, cfg.source_per_class, seed) for d, f in feats.items()}
        heads, rec = {}, {"seed": seed, "n_source": cfg.source_per_class * 6, "bn_stats": "imagenet"}
        for src in ("photo", "clipart"):
            seed_everything(seed)
            heads[src] = torch.nn.Linear(net.num_features, 6)
            fit(heads[src], split[src][0], head_cfg)
            for tgt in ("photo", "clipart"):
                res.records.append({**rec, "study": "cross-domain", "source": src, "target": tgt,
                                    "method": "source-only", "k": 0,
                                    **_scores(heads[src], split[tgt][1])})
        # k-shot adaptation photo -> clip art, tested on clip art outside the largest k pool
        pool, clip_test = few_shot_split(data["clipart"], kmax, seed)
        _, clip_test_f = few_shot_split(feats["clipart"], kmax, seed)
        _, test_acts = few_shot_split(clip_acts, kmax, seed)
        rec = {**rec, "study": "adaptation", "source": "photo", "target": "clipart"}
        res.records.append({**rec, "method": "source-only", "k": 0,
                            **_scores(heads["photo"], clip_test_f)})
        photo_train, _ = few_shot_split(data["photo"], cfg.source_per_class, seed)
        res.records += [{**rec, **r} for r in _adabn_records(net, photo_train, clip_test, pool, seed)]
        if seed == cfg.seeds[0]:
            res.artifacts.update(clip_test=clip_test, classes=data["clipart"].classes,
                                 preds={"source-only": evaluate(heads["photo"], clip_test_f)["preds"]})
        for k in cfg.ks:
            k_train_f, _ = few_shot_split(feats["clipart"], k, seed, max_labels=kmax)
            k_acts, _ = few_shot_split(clip_acts, k, seed, max_labels=kmax)
            seed_everything(seed)
            lp = copy.deepcopy(heads["photo"])  # linear probe: start from the photo head
            fit(lp, k_train_f, head_cfg)
            res.records.append({**rec, "method": "linear-probe", "k": k, **_scores(lp, clip_test_f)})
            for method, head in (("fine-tune", heads["photo"]), ("lp-ft", lp)):
                seed_everything(seed)
                tuned = copy.deepcopy(top)
                tuned.net.head.load_state_dict(head.state_dict())
                fit(tuned, k_acts, replace(_FT, epochs=cfg.ft_epochs, seed=seed))
                res.records.append({**rec, "method": method, "k": k, **_scores(tuned, test_acts)})
                if seed == cfg.seeds[0] and k == kmax and method == "lp-ft":
                    res.artifacts["preds"]["lp-ft"] = evaluate(tuned, test_acts)["preds"]
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
    ks: tuple[int, ...] = (1, 5, 10)  # labelled target images per class; the largest k's
    # images are also AdaBN's unlabelled target pool
    head_epochs: int = 15  # linear probe through the frozen body
    ft_epochs: int = 10  # all layers, rate 1e-3
    seeds: tuple[int, ...] = (0, 1)


PROFILES_DIGITS = {
    "quick": DigitsShiftConfig(),
    "full": DigitsShiftConfig(source_per_class=120, source_epochs=10, mnist_test_per_class=1000,
                              ks=(1, 2, 5, 10, 20), seeds=(0, 1, 2, 3, 4)),
}


@register("digits-shift", "Ch. 5: MNIST <-> scikit-learn 8x8 digits; k-shot adaptation and AdaBN", PROFILES_DIGITS)
def run_digits(cfg: DigitsShiftConfig, res: Results, progress: bool) -> Results:
    """Records: source, target, method, k, seed, test_accuracy (as in domain-shift); AdaBN
    records carry ``bn_stats`` and ``transductive``. The source CNN's own BatchNorm statistics
    are its source statistics (running averages from training on the source)."""
    mnist_pool, digits = load_dataset("mnist", "train"), load_dataset("digits")
    mnist_test = sample_per_class(load_dataset("mnist", "test"), cfg.mnist_test_per_class, 0)
    head_cfg = TrainConfig(epochs=cfg.head_epochs, batch_size=32, lr=3e-3, progress=False)
    ft_cfg = TrainConfig(epochs=cfg.ft_epochs, batch_size=16, lr=1e-3, progress=False)
    kmax = max(cfg.ks)
    for seed in tqdm(cfg.seeds, desc="digits-shift seeds", disable=not progress):
        digits_train, digits_test = few_shot_split(digits, cfg.source_per_class, seed)
        mnist_train = sample_per_class(mnist_pool, cfg.source_per_class, seed)
        tests = {"mnist": mnist_test, "digits": digits_test}
        drawn = {"mnist": "fixed", "digits": "resampled"}  # MNIST's test set is one draw
        for src, train in (("mnist", mnist_train), ("digits", digits_train)):
            source = _small_cnn(train, cfg.source_epochs, seed)
            tgt = "digits" if src == "mnist" else "mnist"
            rec = {"source": src, "seed": seed}
            for t in ("mnist", "digits"):
                res.records.append({**rec, "study": "cross-domain", "target": t,
                                    "method": "source-only", "k": 0,
                                    **_acc(source, tests[t], drawn[t])})
            # target pool for k-shot and AdaBN: k per class from data the test set does not contain
            if tgt == "digits":
                pool, test = few_shot_split(digits_test, kmax, seed)
            else:
                pool = sample_per_class(mnist_pool, kmax, seed + 1000)
                test = mnist_test
            rec = {**rec, "study": "adaptation", "target": tgt}
            res.records.append({**rec, "method": "source-only", "k": 0, "bn_stats": "source",
                                **_acc(source, test, drawn[tgt])})
            for bn_stats, images in (("target-test", test), ("target-pool", pool)):
                res.records.append({**rec, **_adabn(bn_stats), "k": 0,
                                    **_acc(reestimate_bn(source, images), test, drawn[tgt])})
            for k in cfg.ks:
                k_train = sample_per_class(pool, k, seed)
                for method in ADAPT_METHODS:
                    seed_everything(seed)
                    tuned = adapt(source, k_train, method, replace(head_cfg, seed=seed),
                                  replace(ft_cfg, seed=seed))
                    res.records.append({**rec, "method": method, "k": k,
                                        **_acc(tuned, test, drawn[tgt])})
    return res


# ---------------------------------------------------------------------------------------------
# Findings: sign first, then size, then noise (paired per seed)
# ---------------------------------------------------------------------------------------------
def _by_seed(records, metric: str = "test_accuracy", **match) -> dict[int, float]:
    """Mean ``metric`` per seed over the records matching ``match`` (an arm that averages, e.g.
    over corruption conditions: its per-item outcomes are not kept)."""
    out: dict[int, list[float]] = {}
    for r in records:
        if all(r.get(k) == v for k, v in match.items()) and r.get(metric) is not None:
            out.setdefault(r["seed"], []).append(r[metric])
    return {s: statistics.fmean(v) for s, v in out.items()}


def verdict(records, a: dict, b: dict, metric: str = "test_accuracy",
            items: bool = True) -> Verdict:
    """The judge's verdict on arm ``a`` minus arm ``b``, paired by seed. With ``items`` each arm
    is one record per seed and its per-item outcomes count (:func:`tlcourse.stats.by_seed`);
    without, each seed's records are averaged first (arms over several conditions, or two arms
    scored on different test items, such as photos vs clip art)."""
    if items:
        return judge(by_seed(records, metric, **a), by_seed(records, metric, **b))
    return judge(paired_gaps(_by_seed(records, metric, **a), _by_seed(records, metric, **b)))


def _said(records, a: dict, b: dict, la: str, lb: str, metric: str = "test_accuracy",
          items: bool = True, what: str = "test images") -> str:
    """The judge's sentence on ``a - b``: sign first, size, 95 % interval, seeds (STYLE.md)."""
    return verdict(records, a, b, metric, items).text(la, lb, what)


def _pct(records, metric: str = "test_accuracy", unit: str = "%", **match) -> str:
    """An arm's mean over its seeds, e.g. '85 %' or '30.1 points' (its uncertainty is in the
    verdicts' intervals)."""
    v = list(_by_seed(records, metric, **match).values())
    if not v:
        return "n/a"
    m = 100 * statistics.fmean(v)
    return f"{m:.0f} %" if unit == "%" else f"{m:.1f} {unit}"


def _seeds(records) -> str:
    n = len({r["seed"] for r in records})
    return f"{n} seed{'s' if n != 1 else ''}"


def _acc_bal(records, **match) -> str:
    """Accuracy, with balanced accuracy next to it when the records have it."""
    bal = _by_seed(records, "balanced_accuracy", **match)
    return _pct(records, **match) + (f" (balanced {_pct(records, 'balanced_accuracy', **match)})"
                                     if bal else "")


def shift_findings(records: list[dict]) -> list[str]:
    """Sentences on photos -> clip art: the cost of the shift, k-shot adaptation, AdaBN."""
    pp = {"study": "cross-domain", "source": "photo", "target": "photo"}
    pc = {"study": "cross-domain", "source": "photo", "target": "clipart"}
    out = [f"Claim 12, the {benefit_sentence(records)}."] if any(
        r.get("study") == "benefit" for r in records) else []
    if not any(r.get("study") == "cross-domain" for r in records):
        return out
    out += [(f"The photo head (frozen ImageNet features) scored {_acc_bal(records, **pp)} on photos "
           f"and {_acc_bal(records, **pc)} on clip art (means over "
           f"{_seeds([r for r in records if r.get('study') == 'cross-domain'])}): "
           f"{_said(records, pp, pc, 'photos', 'clip art', items=False)}.")]
    ad = {"study": "adaptation"}
    base = dict(ad, method="source-only")
    if not any(r.get("study") == "adaptation" for r in records):
        return out
    kmax = max(r["k"] for r in records if r.get("study") == "adaptation")
    out.append(f"With no clip-art labels the photo head scored {_acc_bal(records, **base)} on the "
               f"clip-art test set. With {kmax} labelled clip-art images per class:")
    for m in ADAPT_METHODS:
        arm = dict(ad, method=m, k=kmax)
        out.append(f"  {m} {_acc_bal(records, **arm)}: "
                   f"{_said(records, arm, base, m, 'source-only', what='test clip art')}.")
    src = dict(ad, method="source-bn")
    if _by_seed(records, **src):
        out.append(f"AdaBN's start, a head trained on photo-statistics features, scored "
                   f"{_acc_bal(records, **src)} on clip art with photo BatchNorm statistics.")
        out += _adabn_lines(records, ad, src, "photo statistics", also=base, what="test clip art")
    return out


def _adabn_lines(records, where: dict, base: dict, base_name: str,
                 also: dict | None = None, what: str = "test images") -> list[str]:
    """One line per source of AdaBN statistics, against ``base`` (and ``also``, if given)."""
    out = []
    for bn_stats, how in (("target-test", ("AdaBN, statistics from the test images themselves "
                                          "(transductive: the unlabelled test set is seen before "
                                          "it is scored)")),
                          ("target-pool", ("AdaBN, statistics from a separate unlabelled pool "
                                          "(not transductive)"))):
        arm = dict(where, method="adabn", bn_stats=bn_stats)
        if _by_seed(records, **arm):
            more = (f"; vs {also['method']} (ImageNet statistics): "
                    f"{_said(records, arm, also, 'AdaBN', also['method'], what=what)}"
                    if also else "")
            out.append(f"  {how}: {_acc_bal(records, **arm)}; "
                       f"{_said(records, arm, base, 'AdaBN', base_name, what=what)}{more}.")
    return out


def digits_findings(records: list[dict]) -> list[str]:
    """Sentences on MNIST <-> 8x8 digits, each direction against its unadapted source model."""
    out, kmax = [], max(r["k"] for r in records)
    for src, tgt in (("mnist", "digits"), ("digits", "mnist")):
        ad = {"study": "adaptation", "source": src}
        base = dict(ad, method="source-only")
        lpft = dict(ad, method="lp-ft", k=kmax)
        what = f"test {'MNIST ' if tgt == 'mnist' else '8x8 '}digits"
        out.append(f"{src} -> {tgt}: {_pct(records, **base)} without adaptation (a {tgt} model "
                   f"trained on {tgt}: {_pct(records, study='cross-domain', source=tgt, target=tgt)}). "
                   f"LP-FT with {kmax} labels per class: "
                   f"{_said(records, lpft, base, 'LP-FT', 'no adaptation', what=what)}.")
        out += _adabn_lines(records, ad, base, "no adaptation", what=what)
    return out


def findings(shift: list[dict] = (), digits: list[dict] = ()) -> list[str]:
    """Computed sentences on chapter 5's claims, from whichever records are given (chapter 5b's:
    :func:`.robustness.corruption_findings` and :func:`.negative_transfer.negative_findings`).

    Example:
        >>> print("\\n".join(findings(shift=run_experiment("domain-shift").records)))  # doctest: +SKIP
    """
    out = []
    for recs, fn in ((shift, shift_findings), (digits, digits_findings)):
        if recs:
            out += fn(list(recs))
    return out
