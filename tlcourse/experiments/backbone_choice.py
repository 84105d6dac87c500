"""Claim 14: larger backbones are more accurate but slower; small ones trade a little accuracy
for speed on phones and edge devices. Which one should you pick?

EfficientNet-Lite0, -Lite1 and -Lite2 (ImageNet weights, frozen, a linear head on the same
training images) side by side, each at its own pretrained input size (224 / 240 / 260 px) and all
at one shared size (224 px), which separates what the bigger network adds from what its larger
input adds, on two target sets: the object photos and clip art of the same six classes. The
small CNN of chapter 1, trained from scratch on the photos, is the floor. For each model:
accuracy over seeds, images per second on this machine at batch 32, parameters and the size of
its exported ONNX file.

**Timing.** One timing on a shared CPU can rank two models the wrong way round. Every model's
features are computed batch by batch *interleaved* (batch 1 through every model, then batch 2
...), after a warm-up pass, so each full batch gives one timing per model taken moments apart:
the records keep every batch's seconds, a model's speed is the median over its batches with the
quartiles as its spread, and two models are compared by the per-batch ratio of their times
(median and quartiles): a ratio whose quartiles straddle 1 is "about the same speed".

Each seed draws other training photos, so the test photos (the rest) are drawn anew too: every
accuracy record carries its per-photo outcomes (``item_correct``, in the photos' order),
``test_set="resampled"`` and ``n_test``, and every verdict comes from :func:`tlcourse.stats.judge`
on the seeds both arms ran. A linear head on cached features costs a fraction of a second, so the
Lite arms run many seeds; the small CNN trains a whole network and runs fewer (its verdicts rest
on the seeds it shares with Lite0).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import methods, smoke, timing
from ..backbones import create_backbone
from ..data import ImageData, few_shot_split, load_dataset, max_labels_per_class
from ..features import extract_features
from ..stats import HOLDS, OPPOSITE, by_seed, interval, judge
from ..train import get_device
from . import Results, register


@dataclass(frozen=True)
class BackboneChoiceConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    backbones: tuple[str, ...] = ("lite0", "lite1", "lite2")
    shared_size: int = 224  # every Lite model is also run at this size
    labels_per_class: int = 10  # training images per class; the rest are the test set
    targets: tuple[str, ...] = ("photo", "clipart")  # the target sets the heads are trained on
    clipart_per_class: int = 24  # clip art is capped (a fixed draw) to keep the extra features
    # cheap; its smallest class (13 drawings) allows 8 labels and 5 test images per class
    seeds: tuple[int, ...] = tuple(range(20))  # other training photos and head inits: a head on
    # cached features takes well under a second, so 20 draws cost little and narrow the interval
    small_cnn_seeds: tuple[int, ...] = (0, 1, 2)  # the from-scratch floor trains a whole network
    small_cnn_size: int = 64  # the from-scratch floor, at chapter 1's size
    small_cnn_steps: int = 200  # enough for it to fit its training photos
    speed_batch: int = 32  # images per pass: the features are computed, and timed, this way
    cnn_timing_repeats: int = 7  # the small CNN is timed apart (it runs no features): cheap
    export: bool = False  # also export each model and measure its ONNX file (tlcourse[export]);
    # the file is the float32 weights plus a few kB of graph (chapter 7 exports Lite0 and shows it)


PROFILES = {
    "quick": BackboneChoiceConfig(),
    "full": BackboneChoiceConfig(seeds=tuple(range(50)), small_cnn_seeds=(0, 1, 2, 3, 4),
                                 export=True),
}


@torch.inference_mode()
def _batch_seconds(net: torch.nn.Module, size: int, batch: int = 32,
                   repeats: int = 7) -> list[float]:
    """Seconds of each of ``repeats`` timed passes of ``batch`` uint8 images through ``net``
    (preprocessing included), after a warm-up pass (timeit-style)."""
    net.eval()
    if smoke.active():  # a smoke run proves the code path; its timings mean nothing
        batch, repeats = 2, 1
    x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    net(x[:4])  # warm-up: allocations, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net(x)
        times.append(time.perf_counter() - start)
    return times


def images_per_second(net: torch.nn.Module, size: int, batch: int = 32, repeats: int = 7) -> float:
    """Inference throughput of ``net`` on this machine: ``batch`` over the median of
    ``repeats`` timed passes, after a warm-up."""
    times = _batch_seconds(net, size, batch, repeats)
    return (2 if smoke.active() else batch) / statistics.median(times)


@torch.inference_mode()
def interleaved_features(nets: dict, data: ImageData, batch: int = 32
                         ) -> tuple[dict, dict[object, list[float]]]:
    """Every image's pooled features from every net of ``nets`` (key -> TransferNet), computed
    ``batch`` images a pass, *interleaved*: batch 1 through every net, then batch 2, ... so that
    each full batch is timed on every net moments apart (a shared CPU's load then hits all of
    them alike). A warm-up pass of 4 images per net comes first.

    Returns:
        ``({key: features}, {key: [seconds of each full batch]})``.
    """
    if smoke.active():  # one sliver of work; the speed of a sliver means nothing
        return ({k: extract_features(n, data) for k, n in nets.items()},
                {k: [2 / images_per_second(n, n.preprocess.size, 2)] for k, n in nets.items()})
    device = get_device()
    for net in nets.values():
        net.to(device).eval()
        net.forward_features(data.x[:4].to(device))  # warm-up: allocations, kernel selection
    chunks: dict = {k: [] for k in nets}
    times: dict = {k: [] for k in nets}
    for i in range(0, len(data), batch):
        x = data.x[i:i + batch].to(device)
        for k, net in nets.items():
            start = time.perf_counter()
            chunks[k].append(net.forward_features(x).float().cpu())
            if len(x) == batch:
                times[k].append(time.perf_counter() - start)
    return ({k: ImageData(torch.cat(c), data.y, data.classes, f"{data.name}:features",
                          data.paths) for k, c in chunks.items()}, times)


def _target(name: str, cfg: BackboneChoiceConfig) -> ImageData:
    """A target set: the photos whole; the clip art capped at ``clipart_per_class`` per class
    (always the same drawings: a fixed draw)."""
    data = load_dataset(name)
    if name != "clipart":
        return data
    rng = np.random.default_rng(0)
    keep = [i for c in range(len(data.classes))
            for i in rng.permutation(np.flatnonzero(data.y.numpy() == c))[:cfg.clipart_per_class]]
    capped = data.subset(sorted(int(i) for i in keep))
    capped.name = f"{data.name}:{cfg.clipart_per_class}-per-class"
    return capped


def _labels(data: ImageData, cfg: BackboneChoiceConfig) -> int:
    """Training images per class on ``data``: ``labels_per_class``, or fewer where a class
    would keep under 5 test images."""
    return min(cfg.labels_per_class, max_labels_per_class(data))


def _onnx_megabytes(net: torch.nn.Module, check: torch.Tensor, classes: list[str]) -> float | None:
    """Size of the exported ONNX file (parity-checked), or None without ``tlcourse[export]``."""
    import tempfile
    from pathlib import Path

    try:
        from ..custom.export import ExportError, export_onnx
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rep = export_onnx(net.eval(), Path(tmp) / "m.onnx", check, classes, benchmark=False,
                              progress=False)
        except ExportError:
            return None
        return rep.size_bytes / 1e6


def _model_row(cfg: BackboneChoiceConfig, name: str, size: int, which: str, net,
               seconds: list[float], batch: int, photos) -> dict:
    """A model's row: its speed (median images/s over the timed batches, quartiles as the
    spread, every batch's seconds kept for paired ratios), parameters and ONNX size."""
    ips = sorted(batch / t for t in seconds)
    q1, q3 = (statistics.quantiles(ips, n=4)[::2] if len(ips) > 1 else (ips[0], ips[0]))
    return {"part": "model", "model": name, "input_size": size, "size_setting": which,
            "params": net.total_params(), "threads": torch.get_num_threads(),
            "images_per_second": round(statistics.median(ips), 2),
            "ips_low": round(q1, 2), "ips_high": round(q3, 2), "speed_batch": batch,
            "batch_seconds": [round(t, 5) for t in seconds],
            # the file holds the weights: one export per model (its own size) says it
            # (a smoke run proves the path on the small CNN alone: a Lite export takes ~15 s)
            "onnx_mb": (_onnx_megabytes(net, photos.x[:4], photos.classes)
                        if cfg.export and which == "own"
                        and not (smoke.active() and name != "small-cnn") else None)}


def _items(preds: torch.Tensor, test: ImageData) -> dict:
    """The per-photo outcomes behind a test accuracy, for the judge: one 0/1 per test photo in
    the split's order (the same photos for every arm of a seed; other photos for another seed)."""
    return {"item_correct": (preds.cpu() == test.y.cpu()).int().tolist(),
            "test_set": "resampled", "n_test": len(test),
            "majority": round(max(test.counts()) / len(test), 4)}


@register("backbone-choice", "Lite0 vs Lite1 vs Lite2 (and a small CNN): accuracy, speed, size",
          PROFILES, seeds_into=("seeds", "small_cnn_seeds"))  # --seeds N: the small CNN too
def run(cfg: BackboneChoiceConfig, res: Results, progress: bool) -> Results:
    photos = load_dataset("photo")
    nets, rows = {}, {}
    for b in cfg.backbones:
        for size, which in ((None, "own"), (cfg.shared_size, "shared")):
            net = create_backbone(f"{b}-imagenet", len(photos.classes), input_size=size).freeze(0)
            if (b, net.preprocess.size) not in nets:  # Lite0's own size is the shared size
                nets[b, net.preprocess.size] = net
                rows[b, net.preprocess.size] = which
    seconds: dict = {k: [] for k in nets}
    for target in tqdm(cfg.targets, desc="backbones", disable=not progress):
        data = _target(target, cfg)
        start = time.perf_counter()
        feats, times = interleaved_features(nets, data, cfg.speed_batch)
        res.artifacts.setdefault("feature_seconds", {})[target] = time.perf_counter() - start
        k = _labels(data, cfg)
        for (b, size), f in feats.items():
            seconds[b, size] += times[b, size]
            for seed in cfg.seeds:
                train, test = few_shot_split(f, k, seed)
                r = methods.linear_probe(train, test, seed)
                res.records.append(r.record(part="accuracy", model=b, input_size=size,
                                            size_setting=rows[b, size], dataset=target,
                                            method="frozen + linear head", labels_per_class=k,
                                            seed=seed, **_items(r.preds, test)))
    for (b, size), net in nets.items():
        res.records.append(_model_row(cfg, b, size, rows[b, size], net,
                                      seconds[b, size], cfg.speed_batch, photos))
    for size, which in ((cfg.small_cnn_size, "own"), (cfg.shared_size, "shared")):
        net = create_backbone("small-cnn", len(photos.classes), input_size=size, seed=0)
        if which == "own":
            for seed in tqdm(cfg.small_cnn_seeds, desc="small CNN", disable=not progress):
                train, test = few_shot_split(photos, cfg.labels_per_class, seed)
                r = methods.scratch("small-cnn", train, test, size, seed=seed,
                                    min_steps=cfg.small_cnn_steps)
                res.records.append(r.record(part="accuracy", model="small-cnn", input_size=size,
                                            size_setting=which, method="from scratch",
                                            dataset="photo",
                                            labels_per_class=cfg.labels_per_class, seed=seed,
                                            train_accuracy=round(
                                                r.history.epochs[-1]["train_acc"], 4),
                                            **_items(r.preds, test)))
        times = _batch_seconds(net, size, cfg.speed_batch, cfg.cnn_timing_repeats)
        res.records.append(_model_row(cfg, "small-cnn", size, which, net, times,
                                      cfg.speed_batch, photos))
    return res


# ---------------------------------------------------------------------------------------------
# Reading the records
# ---------------------------------------------------------------------------------------------
def _by_seed(records: list[dict], model: str, size: int, dataset: str = "photo"):
    """Seed -> test accuracy of ``model`` at ``size`` px on ``dataset`` (records that name no
    dataset are the photos), with its per-image outcomes."""
    return by_seed([r for r in records if r.get("part") == "accuracy"
                    and r.get("dataset", "photo") == dataset], "test_accuracy",
                   model=model, input_size=size)


def targets(records: list[dict]) -> list[str]:
    """The target sets the records hold, in run order (the photos first)."""
    return list(dict.fromkeys(r.get("dataset", "photo") for r in records
                              if r.get("part") == "accuracy"))


def table(records: list[dict]) -> list[dict]:
    """One row per target set, model and input size: mean accuracy and its 95 % interval over
    seeds (the judge's method; NaN bounds with one seed), the majority class's share of the test
    images, speed (median images/s and quartiles), parameters, the float32 weights' size and
    (when exported) the ONNX file's. A model with no accuracy on a target (the small CNN at the
    shared size) has a speed-only row, on the photos."""
    rows = []
    models = [r for r in records if r.get("part") == "model"]
    # one export per model: the file (weights, size-agnostic graph) is the same at any input size
    onnx = {r["model"]: r["onnx_mb"] for r in models if r.get("onnx_mb") is not None}
    for target in targets(records) or ["photo"]:
        for m in models:
            acc = _by_seed(records, m["model"], m["input_size"], target)
            if not acc and target != "photo":
                continue
            rs = [r for r in records if r.get("part") == "accuracy" and r["model"] == m["model"]
                  and r["input_size"] == m["input_size"] and r.get("dataset", "photo") == target]
            mean, low, high = interval(acc) if acc else (float("nan"),) * 3
            rows.append({"target": target, "model": m["model"], "input_size": m["input_size"],
                         "size_setting": m["size_setting"], "accuracy": mean,
                         "accuracy_low": low, "accuracy_high": high,
                         "majority": _mean([r.get("majority") for r in rs]),
                         "seeds": len(acc), "images_per_second": m["images_per_second"],
                         "ips_low": m.get("ips_low", m["images_per_second"]),
                         "ips_high": m.get("ips_high", m["images_per_second"]),
                         "params_m": m["params"] / 1e6, "weights_mb": 4 * m["params"] / 1e6,
                         "onnx_mb": onnx.get(m["model"])})
    return rows


def _mean(values: list) -> float:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else float("nan")


def _verdict(records: list[dict], a: dict, b: dict):
    """The judge on row ``a`` minus row ``b`` (paired by seed, on ``a``'s target set), or None
    without shared seeds."""
    x = _by_seed(records, a["model"], a["input_size"], a["target"])
    y = _by_seed(records, b["model"], b["input_size"], a["target"])
    return judge(x, y) if set(x) & set(y) else None


#: ImageNet top-1 of the released EfficientNet-Lite checkpoints (the TensorFlow release's table)
IMAGENET_TOP1 = {"lite0": 75.1, "lite1": 76.7, "lite2": 77.6}
KORNBLITH = ("Kornblith et al. (2019, \"Do Better ImageNet Models Transfer Better?\") found that "
             "ImageNet accuracy predicts transfer accuracy across 16 networks and 12 data sets: "
             "r = 0.99 with frozen features and logistic regression, 0.96 fine-tuned")
NAMES = {"photo": "the object photos", "clipart": "the clip art"}


def _pretrained(records: list[dict]) -> dict[str, dict[str, dict[str, dict]]]:
    """target -> "own"/"shared" -> model -> table row (the Lite models only)."""
    rows = [r for r in table(records) if r["model"] != "small-cnn"]
    shared = min((r["input_size"] for r in rows), default=None)
    out: dict = {}
    for r in rows:
        at = out.setdefault(r["target"], {"own": {}, "shared": {}})
        if r["size_setting"] == "own":
            at["own"][r["model"]] = r
        if r["input_size"] == shared:
            at["shared"][r["model"]] = r
    return out


def findings(records: list[dict]) -> list[str]:
    """Computed sentences: on each target set, each larger Lite model against Lite0 (paired per
    seed, at its own size and at the shared size); the speed each costs (repeated, paired
    timings: :mod:`tlcourse.timing`); the published result beside this run's; the pick; and the
    small CNN. Every verdict is the judge's (:func:`tlcourse.stats.judge`).

    The pick: the fastest pretrained model that no other beat (the judge's *holds*) on any
    target set.
    """
    by_target = _pretrained(records)
    if not any("lite0" in at["own"] for at in by_target.values()):
        return ["(no Lite0 run in these records)"]
    lines = []
    for target, at in by_target.items():
        n = next(iter(at["own"].values()))
        said = []
        for b in sorted(at["own"]):
            for setting, label in (("own", "each at its own size"), ("shared", "both at 224 px")):
                if b == "lite0" or b not in at[setting] or "lite0" not in at[setting]:
                    continue
                big, small = at[setting][b], at[setting]["lite0"]
                v = _verdict(records, big, small)
                if v is not None:
                    said.append(f"{b} ({big['input_size']} px) vs lite0 ({small['input_size']} "
                                f"px), {label}: {v.text(b, 'lite0', 'test images')}")
        if said:
            lines.append(f"On {NAMES.get(target, target)} ({n['seeds']} seeds; chance "
                         f"{100 / 6:.0f} %, majority class {100 * n['majority']:.0f} %): "
                         + "; ".join(said) + ".")
    own = next(iter(by_target.values()))["own"]
    base = own.get("lite0")
    timed = {(r["model"], r["input_size"]): r for r in records if r.get("part") == "model"}
    for b in sorted(own):
        if b != "lite0" and base is not None:
            lines.append("Speed at batch 32 on this machine: " + speed(
                timed[base["model"], base["input_size"]],
                timed[b, own[b]["input_size"]])[1] + ".")
    lines.append(kornblith(records))
    pick = _fastest_unbeaten(records, list(by_target))
    if pick is not None:
        lines.append(
            f"Pick {pick['model']} ({pick['input_size']} px, {pick['params_m']:.1f} M parameters, "
            f"{pick['images_per_second']:.0f} images/s): it is the fastest model that no other "
            f"beat here on any target set (the judge's verdicts above).")
    else:  # each model lost somewhere: the choice depends on which images the app will see
        picks = {t: _fastest_unbeaten(records, [t]) for t in by_target}
        lines.append("Pick per target set (no model went unbeaten on every one): " + "; ".join(
            f"on {NAMES.get(t, t)} {p['model']} ({p['input_size']} px, "
            f"{p['images_per_second']:.0f} images/s)" if p else f"on {NAMES.get(t, t)} none"
            for t, p in picks.items())
            + ": the fastest model no other beat there (the judge's verdicts above).")
    cnn = [r for r in table(records) if r["model"] == "small-cnn" and r["size_setting"] == "own"
           and r["target"] == "photo"]
    v = _verdict(records, base, cnn[0]) if cnn and base else None
    if v is not None:
        seeds = ", ".join(map(str, v.seeds))
        lines.append(f"The small CNN trained from scratch runs {cnn[0]['images_per_second']:.0f} "
                     f"images/s at {cnn[0]['input_size']} px; on the photos, on the seeds it ran "
                     f"({seeds}): {v.text('lite0', 'the small CNN', 'test photos')}.")
    return lines


def _fastest_unbeaten(records: list[dict], on: list[str]) -> dict | None:
    """The fastest Lite model (at its own size) that no other beat (the judge's *holds*) on any
    of the target sets ``on``, or None."""
    by_target = _pretrained(records)
    own = by_target[on[0]]["own"]
    for c in sorted(own.values(), key=lambda r: -r["images_per_second"]):  # fastest first
        if not any(o["model"] != c["model"] and c["model"] in by_target[t]["own"]
                   and (v := _verdict(records, o, by_target[t]["own"][c["model"]])) is not None
                   and v.word == HOLDS for t in on for o in by_target[t]["own"].values()):
            return c
    return None


def speed(a: dict, b: dict) -> tuple[str, str]:
    """How row ``b``'s speed compares with row ``a``'s (:func:`tlcourse.timing.compare`), the
    rows named with their input sizes."""
    word, said = timing.compare({**a, "model": f"{a['model']} ({a['input_size']} px)"},
                                {**b, "model": f"{b['model']} ({b['input_size']} px)"})
    return word, said


def kornblith(records: list[dict]) -> str:
    """The published result beside this run's: does Lite2 beat Lite0 (each at its own size) on
    every target set, as ImageNet accuracy predicts?"""
    words = {}
    for target, at in _pretrained(records).items():
        if "lite2" in at["own"] and "lite0" in at["own"]:
            v = _verdict(records, at["own"]["lite2"], at["own"]["lite0"])
            if v is not None:
                words[NAMES.get(target, target)] = v.word
    top1 = ", ".join(f"{m} {t} %" for m, t in IMAGENET_TOP1.items())
    if not words:
        return f"{KORNBLITH}. (No Lite2 and Lite0 runs to set beside it.)"
    said = {HOLDS: "agrees on {t}", OPPOSITE: "does not reproduce on {t} (Lite0 ahead)"}
    agree = "; ".join(said.get(w, "cannot tell on {t} (" + w + ")").format(t=t)
                      for t, w in words.items())
    return (f"{KORNBLITH}. ImageNet top-1 ({top1}) predicts Lite2 ahead of Lite0 here; "
            f"this run {agree}.")
