"""Claim 14: larger backbones are more accurate but slower; small ones trade a little accuracy
for speed on phones and edge devices. Which one should you pick?

EfficientNet-Lite0, -Lite1 and -Lite2 (ImageNet weights, frozen, a linear head on the same
training photos) side by side, each at its own pretrained input size (224 / 240 / 260 px) and all
at one shared size (224 px), which separates what the bigger network adds from what its larger
input adds. The small CNN of chapter 1, trained from scratch, is the floor. For each model:
accuracy over seeds, images per second on this machine at batch 32, parameters and the size of
its exported ONNX file.

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
from dataclasses import asdict, dataclass, replace

import torch
from tqdm.auto import tqdm

from .. import methods, smoke
from ..backbones import TransferNet, create_backbone
from ..data import ImageData, few_shot_split, load_dataset
from ..features import extract_features
from ..stats import HOLDS, by_seed, interval, judge
from ..train import get_device
from . import Results, register


@dataclass(frozen=True)
class BackboneChoiceConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    backbones: tuple[str, ...] = ("lite0", "lite1", "lite2")
    shared_size: int = 224  # every Lite model is also run at this size
    labels_per_class: int = 10  # training photos per class; the rest are the test set
    seeds: tuple[int, ...] = tuple(range(20))  # other training photos and head inits: a head on
    # cached features takes well under a second, so 20 draws cost little and narrow the interval
    small_cnn_seeds: tuple[int, ...] = (0, 1, 2)  # the from-scratch floor trains a whole network
    small_cnn_size: int = 64  # the from-scratch floor, at chapter 1's size
    small_cnn_steps: int = 200  # enough for it to fit its training photos
    speed_batch: int = 32  # images per pass: the features are computed, and timed, this way
    export: bool = False  # also export each model and measure its ONNX file (tlcourse[export]);
    # the file is the float32 weights plus a few kB of graph (chapter 7 exports Lite0 and shows it)


PROFILES = {
    "quick": BackboneChoiceConfig(),
    "full": BackboneChoiceConfig(seeds=tuple(range(50)), small_cnn_seeds=(0, 1, 2, 3, 4),
                                 export=True),
}


@torch.inference_mode()
def images_per_second(net: torch.nn.Module, size: int, batch: int = 32, repeats: int = 2) -> float:
    """Inference throughput of ``net`` (preprocessing included) on this machine: a small warm-up
    batch of uint8 images, then the median of ``repeats`` timed batches of ``batch``."""
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
    return batch / statistics.median(times)


@torch.inference_mode()
def timed_features(net: TransferNet, data: ImageData, batch: int = 32) -> tuple[ImageData, float]:
    """Every image's pooled features, computed ``batch`` images a pass, and the speed of those
    passes: images per second from the median full batch after the first (a warm-up). The
    features are needed anyway, so the speed costs no extra pass."""
    if smoke.active():  # one sliver of work; the speed of a sliver means nothing
        return extract_features(net, data), images_per_second(net, net.preprocess.size)
    device = get_device()
    net.to(device).eval()
    chunks, times = [], []
    for i in range(0, len(data), batch):
        x = data.x[i:i + batch].to(device)
        start = time.perf_counter()
        chunks.append(net.forward_features(x).float().cpu())
        if len(x) == batch:
            times.append(time.perf_counter() - start)
    speed = batch / statistics.median(times[1:] or times)
    return ImageData(torch.cat(chunks), data.y, data.classes, f"{data.name}:features",
                     data.paths), speed


def _onnx_megabytes(net: torch.nn.Module, check: torch.Tensor, classes: list[str]) -> float | None:
    """Size of the exported ONNX file (parity-checked), or None without ``tlcourse[export]``."""
    import tempfile
    from pathlib import Path

    try:
        from ..export import ExportError, export_onnx
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rep = export_onnx(net.eval(), Path(tmp) / "m.onnx", check, classes, benchmark=False,
                              progress=False)
        except ExportError:
            return None
        return rep.size_bytes / 1e6


def _model_row(cfg: BackboneChoiceConfig, name: str, size: int, which: str, net, speed: float,
               photos) -> dict:
    return {"part": "model", "model": name, "input_size": size, "size_setting": which,
            "params": net.total_params(), "images_per_second": round(speed, 2),
            "threads": torch.get_num_threads(),
            # the file holds the weights: one export per model (its own size) says it
            # (a smoke run proves the path on the small CNN alone: a Lite export takes ~15 s)
            "onnx_mb": (_onnx_megabytes(net, photos.x[:4], photos.classes)
                        if cfg.export and which == "own"
                        and not (smoke.active() and name != "small-cnn") else None)}


def _items(preds: torch.Tensor, test: ImageData) -> dict:
    """The per-photo outcomes behind a test accuracy, for the judge: one 0/1 per test photo in
    the split's order (the same photos for every arm of a seed; other photos for another seed)."""
    return {"item_correct": (preds.cpu() == test.y.cpu()).int().tolist(),
            "test_set": "resampled", "n_test": len(test)}


@register("backbone-choice", "Lite0 vs Lite1 vs Lite2 (and a small CNN): accuracy, speed, size")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    cfg = PROFILES[profile]
    if seeds:  # --seeds N: every arm runs these (the small CNN too)
        cfg = replace(cfg, seeds=tuple(seeds), small_cnn_seeds=tuple(seeds))
    res = Results("backbone-choice", profile, asdict(cfg))
    photos = load_dataset("photo")
    runs = [(b, s, w) for b in cfg.backbones
            for s, w in (((None, "own"),) + (((cfg.shared_size, "shared"),)))]
    for b, size, which in tqdm(runs, desc="backbones", disable=not progress):
        net = create_backbone(f"{b}-imagenet", len(photos.classes), input_size=size)
        size = net.preprocess.size
        if which == "shared" and any(r["model"] == b and r["input_size"] == size
                                     for r in res.records):
            continue  # Lite0's own size is the shared size
        start = time.perf_counter()
        feats, speed = timed_features(net.freeze(0), photos, cfg.speed_batch)
        feature_seconds = time.perf_counter() - start
        for seed in cfg.seeds:
            train, test = few_shot_split(feats, cfg.labels_per_class, seed)
            r = methods.linear_probe(train, test, seed)
            res.records.append(r.record(part="accuracy", model=b, input_size=size,
                                        size_setting=which, method="frozen + linear head",
                                        labels_per_class=cfg.labels_per_class, seed=seed,
                                        **_items(r.preds, test)))
        row = _model_row(cfg, b, size, which, net, speed, photos)
        row["feature_seconds"] = round(feature_seconds, 2)
        res.records.append(row)
    for size, which in ((cfg.small_cnn_size, "own"), (cfg.shared_size, "shared")):
        net = create_backbone("small-cnn", len(photos.classes), input_size=size, seed=0)
        if which == "own":
            for seed in tqdm(cfg.small_cnn_seeds, desc="small CNN", disable=not progress):
                train, test = few_shot_split(photos, cfg.labels_per_class, seed)
                r = methods.scratch("small-cnn", train, test, size, seed=seed,
                                    min_steps=cfg.small_cnn_steps)
                res.records.append(r.record(part="accuracy", model="small-cnn", input_size=size,
                                            size_setting=which, method="from scratch",
                                            labels_per_class=cfg.labels_per_class, seed=seed,
                                            train_accuracy=round(
                                                r.history.epochs[-1]["train_acc"], 4),
                                            **_items(r.preds, test)))
        speed = images_per_second(net, size, cfg.speed_batch)  # not trained at this size: time
        res.records.append(_model_row(cfg, "small-cnn", size, which, net, speed, photos))
    return res


# ---------------------------------------------------------------------------------------------
# Reading the records
# ---------------------------------------------------------------------------------------------
def _by_seed(records: list[dict], model: str, size: int):
    """Seed -> test accuracy of ``model`` at ``size`` px, with its per-photo outcomes."""
    return by_seed([r for r in records if r.get("part") == "accuracy"], "test_accuracy",
                   model=model, input_size=size)


def table(records: list[dict]) -> list[dict]:
    """One row per model and input size: mean accuracy and its 95 % interval over seeds (the
    judge's method; NaN bounds with one seed), speed, parameters, the float32 weights' size and
    (when exported) the ONNX file's."""
    rows = []
    models = [r for r in records if r.get("part") == "model"]
    # one export per model: the file (weights, size-agnostic graph) is the same at any input size
    onnx = {r["model"]: r["onnx_mb"] for r in models if r["onnx_mb"] is not None}
    for m in models:
        acc = _by_seed(records, m["model"], m["input_size"])
        bal = [r["balanced_accuracy"] for r in records if r.get("part") == "accuracy"
               and r["model"] == m["model"] and r["input_size"] == m["input_size"]]
        mean, low, high = interval(acc) if acc else (float("nan"),) * 3
        rows.append({"model": m["model"], "input_size": m["input_size"],
                     "size_setting": m["size_setting"], "accuracy": mean, "accuracy_low": low,
                     "accuracy_high": high,
                     "balanced_accuracy": statistics.fmean(bal) if bal else float("nan"),
                     "seeds": len(acc), "images_per_second": m["images_per_second"],
                     "params_m": m["params"] / 1e6, "weights_mb": 4 * m["params"] / 1e6,
                     "onnx_mb": onnx.get(m["model"])})
    return rows


def _speed(fast: dict, slow: dict) -> str:
    """'lite2 is 2.1x slower' or, when the measurement says otherwise, 'faster'."""
    ratio = fast["images_per_second"] / slow["images_per_second"]
    said = f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster"
    return (f"{slow['model']} ran {said} ({slow['images_per_second']:.0f} vs "
            f"{fast['images_per_second']:.0f} images/s at batch 32 on this machine)")


def _verdict(records: list[dict], a: dict, b: dict):
    """The judge on row ``a`` minus row ``b`` (paired by seed), or None without shared seeds."""
    x, y = _by_seed(records, a["model"], a["input_size"]), \
        _by_seed(records, b["model"], b["input_size"])
    return judge(x, y) if set(x) & set(y) else None


def findings(records: list[dict]) -> list[str]:
    """Computed sentences: each larger Lite model against Lite0 (paired per seed, at its own size
    and at the shared size), the speed it costs, and which one to pick; every verdict is the
    judge's (:func:`tlcourse.stats.judge`).

    The pick: the fastest pretrained model that no other beat (the judge's *holds*).
    """
    rows = [r for r in table(records) if r["model"] != "small-cnn"]
    own = {r["model"]: r for r in rows if r["size_setting"] == "own"}
    shared = {r["model"]: r for r in rows if r["input_size"] == min(r2["input_size"] for r2 in rows)}
    lines = []
    base = own.get("lite0")
    if base is None:
        return ["(no Lite0 run in these records)"]
    for b in sorted(own):
        if b == "lite0":
            continue
        for rows_at, label in ((own, "each at its own size"), (shared, "both at the shared size")):
            if b not in rows_at or "lite0" not in rows_at:
                continue
            big, small = rows_at[b], rows_at["lite0"]
            v = _verdict(records, big, small)
            if v is None:
                continue
            lines.append(f"{b} ({big['input_size']} px) vs lite0 ({small['input_size']} px), "
                         f"{label}: {v.text(b, 'lite0', 'test photos')}; "
                         f"{_speed(small, big)}.")
    pick = None
    for c in sorted(own.values(), key=lambda r: -r["images_per_second"]):  # fastest first
        beaten = [o["model"] for o in own.values() if o is not c
                  and (v := _verdict(records, o, c)) is not None and v.word == HOLDS]
        if not beaten:
            pick = c
            break
    if pick is not None:
        slower = [o for o in own.values() if o["images_per_second"] < pick["images_per_second"]]
        lines.append(
            f"Pick {pick['model']} ({pick['input_size']} px, {pick['params_m']:.1f} M parameters, "
            f"{pick['images_per_second']:.0f} images/s): it is the fastest model that no other "
            f"beat here (the judge's verdicts above)" + (
                "; the larger ones cost " + ", ".join(
                    f"{pick['images_per_second'] / o['images_per_second']:.1f}x the time "
                    f"({o['model']})" for o in slower) if slower else "") + ".")
    else:
        best = max(own.values(), key=lambda r: r["accuracy"])
        lines.append(f"Every model was beaten by another (the judge's verdicts); the most "
                     f"accurate is {best['model']} ({100 * best['accuracy']:.1f} %).")
    cnn = [r for r in table(records) if r["model"] == "small-cnn" and r["size_setting"] == "own"]
    v = _verdict(records, base, cnn[0]) if cnn else None
    if v is not None:
        seeds = ", ".join(map(str, v.seeds))
        lines.append(f"The small CNN trained from scratch runs {cnn[0]['images_per_second']:.0f} "
                     f"images/s at {cnn[0]['input_size']} px; on the seeds it ran ({seeds}): "
                     f"{v.text('lite0', 'the small CNN', 'test photos')}.")
    return lines
