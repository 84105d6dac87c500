"""Claims: a high fine-tuning rate destroys what the network knew (catastrophic forgetting);
freezing, a low rate, rehearsal and regularisation reduce it.

**forgetting** - a small CNN learns A = MNIST digits 0-4, then B = digits 5-9 with a new head while
A's head is kept. Accuracy on A before and after, as a function of the rate, of the number of
frozen stages and of the number of B steps; then mitigations (freeze, low rate, rehearsal of a
few % of A, Learning without Forgetting), each measured on both A and B.

**representation-drift** - the ImageNet EfficientNet-Lite0 is fine-tuned on a few object photos at
several rates; we measure how much its original ImageNet predictions on real held-out photos
(scikit-image's sample photos) and its features change.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from ..backbones import Preprocess, create_backbone, imagenet_classifier
from ..continual import TwoHeadNet, class_split, lwf_loss, rehearsal_loss
from ..data import few_shot_split, load_dataset, sample_per_class
from ..train import TrainConfig, evaluate, fit, get_device, seed_everything
from . import Results, register


@dataclass(frozen=True)
class ForgettingConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    dataset: str = "mnist"
    classes_a: tuple[int, ...] = (0, 1, 2, 3, 4)  # task A; B is the rest
    train_per_class: int = 100  # images per class for A and for B
    test_per_class: int = 100  # held-out images per class, A and B
    a_epochs: int = 4  # training on A (small CNN, 28 px, ~1 ms/img)
    b_epochs: int = 2  # default length of the B phase (the steps sweep varies it)
    base_lr: float = 1e-3  # default B rate (AdamW, constant); sweeps vary it
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # rate sweep (nothing frozen)
    frozen: tuple[int, ...] = (0, 1, 2, 3)  # frozen-stages sweep (small CNN has 3 stages)
    b_epoch_sweep: tuple[int, ...] = (1, 2, 4)  # length of the B phase, in epochs
    rehearsal_fraction: float = 0.05  # share of A's training images kept for replay
    lwf_weight: float = 1.0  # weight of the Learning-without-Forgetting distillation term
    seeds: tuple[int, ...] = (0, 1)


PROFILES = {
    "quick": ForgettingConfig(),
    "full": ForgettingConfig(train_per_class=1000, test_per_class=500, a_epochs=10,
                             lrs=(1e-5, 1e-4, 1e-3, 1e-2, 3e-2), b_epoch_sweep=(1, 2, 4, 8),
                             seeds=(0, 1, 2, 3, 4)),
}


def _cfg(epochs: int, lr: float, seed: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=32, lr=lr, schedule="constant",
                       weight_decay=1e-4, seed=seed, progress=False)


@register("forgetting", "Ch. 4: catastrophic forgetting of MNIST 0-4 while learning 5-9, and mitigations")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Records: study ("lr", "frozen", "steps", "mitigation"), method, setting, acc_a_before,
    acc_a (after B), acc_b, forgetting (= acc_a_before - acc_a), seed."""
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("forgetting", profile, asdict(cfg))
    a_pool, b_pool = class_split(load_dataset(cfg.dataset, "train"), cfg.classes_a)
    a_test, b_test = (sample_per_class(d, cfg.test_per_class, 0)
                      for d in class_split(load_dataset(cfg.dataset, "test"), cfg.classes_a))
    for seed in tqdm(cfg.seeds, desc="forgetting seeds", disable=not progress):
        a_train = sample_per_class(a_pool, cfg.train_per_class, seed)
        b_train = sample_per_class(b_pool, cfg.train_per_class, seed)
        memory = sample_per_class(a_train, max(1, round(cfg.rehearsal_fraction * cfg.train_per_class)), seed)
        seed_everything(seed)
        net_a = create_backbone("small-cnn", len(a_train.classes), input_size=28)
        fit(net_a, a_train, _cfg(cfg.a_epochs, 3e-3, seed))
        before = evaluate(net_a, a_test)["accuracy"]
        steps_per_epoch = math.ceil(len(b_train) / 32)
        base_kw = dict(lr=cfg.base_lr)
        runs = [("lr", "naive", lr, dict(lr=lr)) for lr in cfg.lrs]
        runs += [("frozen", "naive", k, dict(frozen=k) if k else base_kw) for k in cfg.frozen]
        runs += [("steps", "naive", e * steps_per_epoch,
                  dict(epochs=e) if e != cfg.b_epochs else base_kw) for e in cfg.b_epoch_sweep]
        runs += [("mitigation", m, None, kw) for m, kw in (
            ("naive", dict(lr=cfg.base_lr)), ("freeze", dict(frozen=2)),
            ("low-lr", dict(lr=cfg.base_lr / 10)),
            ("rehearsal", dict(rehearsal=True)), ("lwf", dict(lwf=True)))]
        done: dict[tuple, dict] = {}  # the same B run serves several studies (e.g. lr=base_lr)
        for study, method, setting, kw in runs:
            key = tuple(sorted(kw.items()))
            if key in done:
                res.records.append({**done[key], "study": study, "method": method, "setting": setting})
                continue
            seed_everything(seed)
            net = TwoHeadNet(net_a, len(b_train.classes), frozen_stages=kw.get("frozen", 0))
            extra = (rehearsal_loss(memory, 16, seed=seed) if kw.get("rehearsal")
                     else lwf_loss(net, cfg.lwf_weight) if kw.get("lwf") else None)
            h = fit(net, b_train, _cfg(kw.get("epochs", cfg.b_epochs), kw.get("lr", cfg.base_lr), seed),
                    extra_loss=extra)
            acc_a = evaluate(net.task_a(), a_test)["accuracy"]
            acc_b = evaluate(net, b_test)["accuracy"]
            res.records.append(dict(
                dataset=cfg.dataset, study=study, method=method, setting=setting, seed=seed,
                lr=kw.get("lr", cfg.base_lr), frozen_stages=kw.get("frozen", 0),
                b_steps=kw.get("epochs", cfg.b_epochs) * steps_per_epoch,
                acc_a_before=round(before, 4), acc_a=round(acc_a, 4), acc_b=round(acc_b, 4),
                forgetting=round(before - acc_a, 4), seconds=round(h.seconds, 3),
                memory_size=len(memory) if kw.get("rehearsal") else 0))
            done[key] = res.records[-1]
    return res


# ---------------------------------------------------------------------------------------------
# Representation drift of the ImageNet backbone
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriftConfig:
    """Settings of one run; ``PROFILES_DRIFT`` holds the quick and full variants."""

    lrs: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)  # fine-tuning rates compared
    labels_per_class: int = 10  # photos per class to fine-tune on (6 classes)
    input_size: int = 64  # fine-tuning side: full Lite0 costs ~12 ms/img at 64 px vs 24 at 96
    epochs: int = 3  # every stage trainable, random head (plain fine-tuning)
    probe_size: int = 224  # ImageNet predictions are read at Lite0's pretrained size
    seeds: tuple[int, ...] = (0,)


PROFILES_DRIFT = {
    "quick": DriftConfig(),
    "full": DriftConfig(lrs=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2), labels_per_class=12, input_size=224,
                        epochs=10, seeds=(0, 1, 2)),
}

SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "cat", "colorwheel",
                 "immunohistochemistry", "hubble_deep_field")
"""scikit-image sample photos: real images the backbone never sees while fine-tuning."""


def sample_photos() -> torch.Tensor:
    """scikit-image's sample photos as uint8 ``[N, 3, 224, 224]`` (centre-cropped squares)."""
    import skimage.data
    import torch.nn.functional as F

    out = []
    for name in SAMPLE_PHOTOS:
        im = torch.from_numpy(np.ascontiguousarray(getattr(skimage.data, name)()[..., :3]))
        im = im.permute(2, 0, 1).float()
        s = min(im.shape[1:])
        top, left = (im.shape[1] - s) // 2, (im.shape[2] - s) // 2
        im = im[:, top:top + s, left:left + s].unsqueeze(0)
        out.append(F.interpolate(im, size=(224, 224), mode="bilinear", antialias=True))
    return torch.cat(out).round().clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def _imagenet_view(body: torch.nn.Module, classifier: torch.nn.Module, pre: Preprocess,
                   x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled features [N, 1280] and ImageNet logits [N, 1000] of ``body`` on images ``x``."""
    body.eval()
    dev = next(body.parameters()).device
    f = body.forward_head(body.forward_features(pre(x.to(dev))), pre_logits=True).cpu()
    return f, classifier(f)


@register("representation-drift", "Ch. 4: how fine-tuning rates change ImageNet Lite0's predictions")
def run_drift(profile: str = "quick", seeds: tuple[int, ...] | None = None,
              progress: bool = True) -> Results:
    """Records: lr, seed, top1_agreement (share of sample photos whose ImageNet top-1 is
    unchanged), feature_cosine (mean cosine of old vs new features), kl (old || new ImageNet
    predictions), test_accuracy (on held-out object photos)."""
    cfg = PROFILES_DRIFT[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds))
    res = Results("representation-drift", profile, asdict(cfg))
    photos = load_dataset("photo")
    probe = sample_photos()
    clf = imagenet_classifier()
    classifier = copy.deepcopy(clf.classifier).cpu()
    net0 = create_backbone("lite0-imagenet", 6, input_size=cfg.input_size)
    pre = Preprocess(cfg.probe_size, net0.preprocess.mean.flatten().tolist(),
                     net0.preprocess.std.flatten().tolist()).to(get_device())
    f0, logits0 = _imagenet_view(net0.body.to(get_device()), classifier, pre, probe)
    res.artifacts.update(probe_images=probe, original_top1=logits0.argmax(1))
    for seed in cfg.seeds:
        train, test = few_shot_split(photos, cfg.labels_per_class, seed)
        for lr in tqdm(cfg.lrs, desc=f"drift seed {seed}", disable=not progress):
            seed_everything(seed)
            net = create_backbone("lite0-imagenet", 6, input_size=cfg.input_size).unfreeze()
            for m in net.modules():  # keep ImageNet BN statistics: the drift measured is the weights'
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.momentum = 0.0
            h = fit(net, train, TrainConfig(epochs=cfg.epochs, batch_size=16, lr=lr, seed=seed,
                                            progress=False))
            f1, logits1 = _imagenet_view(net.body, classifier, pre, probe)
            p0, logp1 = logits0.softmax(1), logits1.log_softmax(1)
            kl = (p0 * (p0.clamp_min(1e-12).log() - logp1)).sum(1).mean().item()
            res.records.append(dict(
                dataset="photo", method="full-finetune", lr=lr, seed=seed,
                top1_agreement=round((logits1.argmax(1) == logits0.argmax(1)).float().mean().item(), 4),
                feature_cosine=round(torch.cosine_similarity(f0, f1).mean().item(), 4),
                kl=round(kl, 4), test_accuracy=round(evaluate(net, test)["accuracy"], 4),
                seconds=round(h.seconds, 3), input_size=cfg.input_size))
            if seed == cfg.seeds[0]:
                res.artifacts.setdefault("top1", {})[lr] = logits1.argmax(1)
    return res


def findings(records: list[dict], drift_records: list[dict] | None = None) -> list[str]:
    """Computed sentences: which forgetting claims our miniature reproduces."""
    def m(metric, **match):
        v = [r[metric] for r in records if all(r[k] == x for k, x in match.items())]
        return sum(v) / len(v)
    lrs = sorted({r["setting"] for r in records if r["study"] == "lr"})
    f_lo, f_hi = m("forgetting", study="lr", setting=lrs[0]), m("forgetting", study="lr", setting=lrs[-1])
    out = [f"Forgetting of A: {f_lo:.1%} at rate {lrs[0]:g} vs {f_hi:.1%} at {lrs[-1]:g} -> "
           f"'a high rate destroys what was learned' {'reproduces' if f_hi > f_lo + 0.1 else 'does not reproduce'}."]
    naive = m("forgetting", study="mitigation", method="naive")
    for meth in ("freeze", "low-lr", "rehearsal", "lwf"):
        f, b = m("forgetting", study="mitigation", method=meth), m("acc_b", study="mitigation", method=meth)
        out.append(f"{meth}: forgetting {f:.1%} (naive {naive:.1%}), accuracy on B {b:.1%} "
                   f"(naive {m('acc_b', study='mitigation', method='naive'):.1%}).")
    if drift_records:
        lrs = sorted({r["lr"] for r in drift_records})
        ag = [sum(r["top1_agreement"] for r in drift_records if r["lr"] == lr)
              / sum(1 for r in drift_records if r["lr"] == lr) for lr in lrs]
        out.append(f"ImageNet top-1 kept on sample photos: {ag[0]:.0%} at rate {lrs[0]:g}, "
                   f"{ag[-1]:.0%} at {lrs[-1]:g} -> the rate decides how much of ImageNet survives.")
    return out
