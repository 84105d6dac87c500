"""Your own images: train, evaluate, keep and use a classifier, as Azure Custom Vision does it.

The workflow behind ``tlcourse check / train / iterations / predict / export`` and chapter 7:

1. :func:`tlcourse.custom.folder.check_folder` reads a folder of class subfolders and blocks on what
   cannot work (a class with fewer than 5 usable images, ...).
2. :func:`train_model` splits it (a seeded, stratified holdout, or cross-validation when a class is too
   small to spare holdout images), trains a head on the frozen backbone's cached features
   (``probe``) or fine-tunes its top stages after the head (``finetune``, LP-FT), picks the
   probability threshold on *training-side* predictions (never on the images it is scored on) and
   scores the model on the held-out images with :mod:`tlcourse.custom.metrics`. Under cross-validation
   this is nested: each fold is scored at a threshold chosen on its own training folds; the saved
   model (trained on every image) gets the threshold chosen on all out-of-fold predictions.
3. Every train is an *iteration* appended to the model folder (:mod:`.model_folder`): its
   settings, classes, preprocessing, threshold, metrics, the data's content hash and times, the
   weights (the head, or the whole network), and the held-out images' probabilities.

4. :func:`load_model` / :meth:`Model.predict` classify new files ("unknown" below the threshold),
   and :func:`tlcourse.custom.export.export_onnx` writes one ONNX file with the preprocessing inside.

Example:
    >>> it = train_model("my_photos", "my_model", TrainSettings(backbone="lite0"))  # doctest: +SKIP
    >>> print(it.report.format())                                              # doctest: +SKIP
    >>> load_model("my_model").predict(["new.jpg"])                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..backbones import TransferNet, create_backbone
from ..data import ImageData, train_val_split
from ..errors import TlcourseError
from ..features import HEAD_CONFIG, extract_features, train_head
from ..methods import FINETUNE_CONFIG, fine_tune
from ..train import predict as predict_logits  # Model.predict is the learner's predict
from ..train import seed_everything
from .app_model import full_size_probabilities
from .folder import FolderReport, _show, check_folder, load_folder
from .images import ImageReadError, decode_rgb
from .metrics import Report, choose_threshold, report
from .model_folder import (  # noqa: F401
    FORMAT,
    ModelError,
    _read_index,
    _save_iteration,
    current_iteration,
    format_iterations,
    iterations,
)
from .negative import called_without, negative_index
from .predictions import Prediction, predict_files, write_predictions_csv  # noqa: F401
from .splits import _folds, _holdout_per_class, _n_folds, _splits  # noqa: F401 - tests import it

"""The model folder's format; a folder of another format is refused with what to do."""

BACKBONES = {"lite0": "lite0-imagenet", "lite1": "lite1-imagenet", "lite2": "lite2-imagenet"}
METHODS = ("probe", "finetune", "auto")
AUTO_FINETUNE_FROM = 50
"""``--method auto`` fine-tunes only when every class has this many training images: with fewer,
fine-tuning costs many times a head's time, and what it gains over the probe at a few photos per
class is chapter 3's experiment (its verdict: ``tlcourse claims``), not a promise made here."""
CHECK_IMAGES = 8  # held-out images kept in the model folder for the export's parity check


class FolderError(TlcourseError, ValueError):
    """A folder with blocking problems; ``report`` holds all of them."""

    def __init__(self, report: FolderReport) -> None:
        self.report = report
        lines = [p.message for p in report.problems if p.blocking]
        super().__init__("the folder cannot be trained on:\n" + "\n".join(lines))


@dataclass(frozen=True)
class TrainSettings:
    """One train's choices (stored with the iteration).

    Attributes:
        backbone: ``lite0`` (224 px), ``lite1`` (240 px) or ``lite2`` (260 px), ImageNet weights.
        method: ``probe`` (frozen backbone, new linear head), ``finetune`` (head first, then the
            top ``finetune_stages`` stages at a low rate) or ``auto`` (see :data:`AUTO_FINETUNE_FROM`).
        seed: seeds the split, the head's initialisation and the batch order.
        holdout: share of each class held out for evaluation.
        threshold: probability below which a prediction is "unknown"; ``None`` chooses it on
            out-of-fold predictions of the training images (macro F1).
        input_size: pixels; ``None`` is the backbone's pretrained size.
    """

    backbone: str = "lite0"
    method: str = "auto"
    seed: int = 0
    holdout: float = 0.2
    threshold: float | None = None
    input_size: int | None = None
    finetune_stages: int = 2

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {sorted(BACKBONES)}, not {self.backbone!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, not {self.method!r}")
        if not 0 < self.holdout < 1:
            raise ValueError(f"holdout must be a fraction between 0 and 1, not {self.holdout}")
        if self.threshold is not None and not 0 <= self.threshold < 1:
            raise ValueError(f"threshold must be a probability in [0, 1), not {self.threshold}")


@dataclass
class Iteration:
    """One train, as stored in ``iteration.json`` (plus the arrays of ``evaluation.pt``)."""

    number: int
    created: str
    settings: dict
    method: str  # what ran ("probe" or "finetune"), after "auto" was resolved
    method_reason: str
    classes: list[str]
    backbone: str  # registry name, e.g. "lite0-imagenet"
    input_size: int
    preprocessing: dict  # what the network is fed: letterbox to a white square, size, mean, std
    threshold: float
    threshold_reason: str
    evaluation: str  # "holdout" or "cross-validation"
    n_train: int  # images the saved network (or head) was fit on
    n_eval: int  # images scored (all of them, once each, under cross-validation)
    data_root: str
    data_hash: str
    metrics: dict
    seconds: dict  # features, training, total
    features_cached: bool  # the backbone pass was skipped: the feature cache had these images
    n_threshold: int = 0  # images whose predictions picked the threshold (not fit on, if
    # fine-tuning with a holdout; out-of-fold otherwise)
    folds: list[dict] = field(default_factory=list)  # per scored split: images scored, fit on,
    # its threshold and how many images chose it (one entry for a holdout)
    negative: str | None = None  # the "none of these" class (negative/ or _negative/), if any
    tlcourse: str = __version__
    # arrays, not in the JSON
    report: Report | None = field(default=None, repr=False)
    eval_probs: torch.Tensor | None = field(default=None, repr=False)
    eval_y: torch.Tensor | None = field(default=None, repr=False)
    eval_images: torch.Tensor | None = field(default=None, repr=False)
    eval_paths: list[str] = field(default_factory=list, repr=False)

    def timing(self) -> str:
        """Where the seconds went: the backbone's features (or the cache's), training, total."""
        how = "from the feature cache: the backbone did not run" if self.features_cached else "computed"
        return (f"features {self.seconds['features']:.1f} s ({how}), head and threshold "
                f"{self.seconds['training']:.1f} s, total {self.seconds['total']:.1f} s")

    def to_json(self) -> dict:
        skip = {"report", "eval_probs", "eval_y", "eval_images", "eval_paths"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def _head_probs(train_x: ImageData, eval_x: ImageData, seed: int) -> torch.Tensor:
    head, _ = train_head(train_x, replace(HEAD_CONFIG, seed=seed), seed=seed)
    return predict_logits(head, eval_x).softmax(1)


def _out_of_fold_probs(feats: ImageData, seed: int, groups: np.ndarray | None = None
                       ) -> torch.Tensor:
    """Every image's probabilities from a head trained without it or its near-duplicates
    (stratified group k-fold)."""
    fold = _folds(feats.y, _n_folds(feats.y), seed, groups)
    probs = torch.zeros(len(feats), len(feats.classes))
    for f in np.unique(fold):
        inside, outside = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        probs[outside] = _head_probs(feats.subset(inside), feats.subset(outside), seed)
    return probs


def _resolve_method(settings: TrainSettings, train_counts: list[int]) -> tuple[str, str]:
    if settings.method != "auto":
        return settings.method, f"--method {settings.method}"
    smallest = min(train_counts)
    if smallest >= AUTO_FINETUNE_FROM:
        return "finetune", (f"auto: every class has >= {AUTO_FINETUNE_FROM} training images "
                            f"(smallest {smallest}), enough for fine-tuning to pay")
    return "probe", (f"auto: the smallest class has {smallest} training images (< "
                     f"{AUTO_FINETUNE_FROM}); on so few, fine-tuning costs many times a linear "
                     f"head's time for a gain chapter 3 measures (see `tlcourse claims`), so a "
                     f"linear head on frozen features")


def _finetune(name: str, size: int, data: ImageData, settings: TrainSettings) -> TransferNet:
    """LP-FT on ``data``: the head on frozen features, then the top stages at a low rate."""
    r = fine_tune(name, data, data.subset([0]), size, trainable_stages=settings.finetune_stages,
                  cfg=replace(FINETUNE_CONFIG, progress=True), seed=settings.seed)
    return r.model.eval()


def _probs(model: torch.nn.Module, data: ImageData) -> torch.Tensor:
    return predict_logits(model, data).softmax(1)


def train_model(folder: str | Path, out: str | Path, settings: TrainSettings = TrainSettings(),
          progress: bool = True) -> Iteration:
    """Check ``folder``, train on it and append the result to the model folder ``out``.

    Returns the new :class:`Iteration` (with its :class:`~tlcourse.custom.metrics.Report` and the
    evaluation images). Raises :class:`FolderError` for a folder with blocking problems and
    :class:`ModelError` when ``out`` is a model folder of another format. ``folder`` is only read.
    """
    out = Path(out)
    problem = out_folder_problem(folder, out)
    if problem:
        raise ModelError(problem)
    _read_index(out, must_exist=False)  # refuse another format before spending minutes
    start = time.perf_counter()
    checked = check_folder(folder, progress=progress)
    if not checked.ok:
        raise FolderError(checked)
    name = BACKBONES[settings.backbone]
    seed_everything(settings.seed)
    net = create_backbone(name, len(checked.classes), input_size=settings.input_size,
                          seed=settings.seed)
    size = net.preprocess.size
    data = load_folder(checked, size, progress=progress)

    evaluation, splits, groups = _splits(data, checked, settings.holdout, settings.seed)
    train_counts = torch.bincount(data.y[splits[0][0]], minlength=len(data.classes)).tolist()
    method, method_reason = _resolve_method(settings, train_counts)

    t0 = time.perf_counter()
    digest_hit = _features_cached(net, data)
    feats = extract_features(net.freeze(0), data, progress=progress)
    feature_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    with _threads(1 if method == "probe" else None):  # a head's steps are tiny:
        # on more threads they only contend
        eval_probs = torch.zeros(len(data), len(data.classes))
        eval_t = np.zeros(len(data))  # the threshold each scored image is judged at
        scored = np.concatenate([e for _, e in splits])
        folds = []  # per split: images scored, fit on, threshold and the images that chose it
        tuned = None  # the fine-tuned network scored on the holdout: the one saved
        for tr, ev in splits:
            if method == "probe":  # out-of-fold predictions of the training part pick it
                chooser = (_out_of_fold_probs(feats.subset(tr), settings.seed, groups[tr]),
                           feats.y[tr])
                eval_probs[ev] = _head_probs(feats.subset(tr), feats.subset(ev), settings.seed)
                fit_on = len(tr)
            else:  # a validation part of the training images, kept out of the fit, picks it
                fit_part, val = train_val_split(data.subset(tr), 0.2, settings.seed)
                tuned = _finetune(name, size, fit_part, settings)
                chooser = (_probs(tuned, val), val.y)
                eval_probs[ev] = _probs(tuned, data.subset(ev))
                fit_on = len(fit_part)
            t = (settings.threshold if settings.threshold is not None
                 else choose_threshold(*chooser, classes=data.classes))
            eval_t[ev] = t
            folds.append({"scored": len(ev), "fit_on": fit_on, "threshold": t,
                          "threshold_on": len(chooser[1])})
        if evaluation == "holdout":  # the saved model is the one scored
            threshold, n_train, n_threshold = (folds[0][k] for k in ("threshold", "fit_on",
                                                                      "threshold_on"))
            final_idx = splits[0][0]
            picked = ("out-of-fold predictions of the" if method == "probe" else
                      "a validation part of the") + f" {n_threshold} training images"
            if method == "finetune":
                picked += f", kept out of the fine-tuning (the network was fit on {n_train})"
        else:  # the saved model is trained on every image, its threshold chosen on every image's
            # out-of-fold prediction (the folds' models); the scores above never saw that choice
            final_idx = np.arange(len(data))
            n_train = n_threshold = len(data)
            if settings.threshold is None:
                threshold = choose_threshold(eval_probs[scored], data.y[scored],
                                             classes=data.classes)
            else:
                threshold = settings.threshold
            picked = f"the out-of-fold predictions of all {len(data)} images (cross-validation)"
        threshold_reason = ("--threshold" if settings.threshold is not None
                            else f"best macro F1 on {picked}")
        if method == "probe":
            head, _ = train_head(feats.subset(final_idx), replace(HEAD_CONFIG, seed=settings.seed),
                                 seed=settings.seed)
            net.head.load_state_dict(head.state_dict())
            state = {"head": net.head.state_dict()}
        else:
            if evaluation == "cross-validation":
                tuned = _finetune(name, size, data, settings)
            net = tuned
            state = {"net": net.state_dict()}
    train_seconds = time.perf_counter() - t1

    order = np.sort(scored)
    probs, y = eval_probs[order], data.y[order]
    per_image = len({f["threshold"] for f in folds}) > 1
    rep = report(probs, y, data.classes, eval_t[order] if per_image else folds[0]["threshold"])
    neg = negative_index(data.classes)
    if neg is not None and method == "probe":  # the same held-out negatives, scored by heads
        # trained on the same split without any negative image: what the negative class buys
        rep.negative["without"] = called_without(
            feats, splits, lambda a, b: _head_probs(a, b, settings.seed),
            lambda a: settings.threshold if settings.threshold is not None else
            choose_threshold(_out_of_fold_probs(a, settings.seed), a.y))
    if evaluation == "cross-validation" and settings.threshold is None:
        each = ", ".join(f"{f['threshold']:.2f}" for f in folds)
        rep.notes.append(f"each of the {len(folds)} folds was scored at a threshold chosen on its "
                         f"own training folds ({each}); the saved model's {threshold:.2f} was "
                         f"chosen on the out-of-fold predictions of all {len(data)} images")
    it = Iteration(
        number=0, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=asdict(settings), method=method, method_reason=method_reason,
        classes=list(data.classes), backbone=name, input_size=size,
        preprocessing=_preprocessing(net), threshold=threshold, threshold_reason=threshold_reason,
        evaluation=evaluation, n_train=n_train, n_eval=len(order),
        data_root=str(Path(folder).resolve()), data_hash=checked.content_hash(),
        metrics=rep.to_dict(),
        seconds={"features": round(feature_seconds, 2), "training": round(train_seconds, 2),
                 "total": round(time.perf_counter() - start, 2)},
        features_cached=digest_hit, n_threshold=n_threshold, folds=folds, report=rep,
        eval_probs=probs, eval_y=y, eval_images=data.x[order],
        eval_paths=[data.paths[i] for i in order],
        negative=None if neg is None else data.classes[neg])
    check_x = data.x[order[:: max(1, len(order) // CHECK_IMAGES)][:CHECK_IMAGES]]
    it.number = _save_iteration(out, it, state, check_x)
    return it


def out_folder_problem(folder: str | Path, out: str | Path) -> str | None:
    """Why ``out`` cannot hold the model trained on ``folder`` (it lies inside it, symlinks
    followed), or None. The photo folder is only read; a model folder inside it would also be
    taken for a class by the next check."""
    data, model = Path(folder).expanduser().resolve(), Path(out).expanduser().resolve()
    if model == data or data in model.parents:
        return (f"--out {_show(out)} is inside the photo folder {_show(folder)}, which tlcourse "
                f"only reads (a model folder there would become a class of the next train); "
                f"choose a model folder outside it, e.g. {_show(data.parent / (data.name + '-model'))}")
    return None


@contextmanager
def _threads(n: int | None):
    """Run torch on ``n`` threads inside the block (``None``: unchanged)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _features_cached(net: TransferNet, data: ImageData) -> bool:
    from .. import cache

    if not cache.enabled():
        return False
    digest = cache.features_digest(net.freeze(0), data.x, None)
    return cache.load_features(digest) is not None


def _preprocessing(net: TransferNet) -> dict:
    pre = net.preprocess
    return {"letterbox": "pad to a white square, then resize (bilinear)", "size": pre.size,
            "scale": "uint8 / 255", "mean": pre.mean.flatten().tolist(),
            "std": pre.std.flatten().tolist()}


@dataclass
class Model:
    """A trained iteration, ready to classify (``net`` includes the preprocessing)."""

    net: TransferNet
    classes: list[str]
    threshold: float
    info: dict  # the iteration.json
    folder: Path

    @property
    def negative(self) -> str | None:
        """The "none of these" class, predicted as "unknown" (None: the model has none)."""
        i = negative_index(self.classes)
        return None if i is None else self.classes[i]

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities ``[N, C]`` for uint8 images ``[N, 3, S, S]`` (letterboxed)."""
        self.net.eval()
        return torch.cat([self.net(x[i:i + 32]).softmax(1) for i in range(0, len(x), 32)]) \
            if len(x) else torch.zeros(0, len(self.classes))

    def predict(self, paths: list[str | Path], top_k: int = 3,
                threshold: float | None = None) -> list[Prediction]:
        """Classify files or folders (recursed), each decoded at full size as an app decodes it
        and resized inside the model, as the exported file does; a file that cannot be read
        gets its ``error`` and the rest go on."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        if threshold is not None and not 0 <= threshold < 1:
            raise ValueError(f"threshold must be a probability in [0, 1), not {threshold}")
        t = self.threshold if threshold is None else threshold
        return predict_files(paths, lambda rgb: full_size_probabilities(self.net, [rgb])[0],
                             self.classes, t, top_k, negative=self.negative)

    def predict_bytes(self, files: list[bytes]) -> list[list[tuple[str, float]]]:
        """Every class's probability for each image given as file bytes (an upload), decoded as
        :meth:`predict` decodes files; raises ``ValueError`` saying why when one is not a
        readable image."""
        out = []
        with tempfile.TemporaryDirectory(prefix="tlcourse-upload-") as tmp:
            for i, data in enumerate(files):
                path = Path(tmp) / f"upload-{i}"
                path.write_bytes(data)
                try:
                    rgb = decode_rgb(path)
                except ImageReadError as e:
                    raise ValueError(e.reason) from None
                row = full_size_probabilities(self.net, [rgb])[0].tolist()
                out.append(list(zip(self.classes, row)))
        return out

    def check_images(self) -> torch.Tensor:
        """The held-out images kept for the export's parity check."""
        return torch.load(self.folder / "evaluation.pt", weights_only=True)["check_images"]

    def evaluation(self) -> dict:
        """The held-out images' probabilities, labels and paths of this iteration."""
        return torch.load(self.folder / "evaluation.pt", weights_only=True)


def load_model(model_dir: str | Path, iteration: int | None = None) -> Model:
    """The current (or given) iteration of a model folder, ready to predict."""
    out = Path(model_dir)
    meta = _read_index(out)
    number = meta["current"] if iteration is None else iteration
    if number not in meta["iterations"]:
        raise ModelError(f"{out} has no iteration {number}; it has {meta['iterations']}")
    folder = out / f"iteration-{number:03d}"
    info = json.loads((folder / "iteration.json").read_text(encoding="utf-8"))
    if info.get("kind", "images") != "images":  # a folder of `tlcourse text train`
        raise ModelError(f"{out} holds a text model: use `tlcourse text predict {out} "
                         f"\"a sentence\"` or `tlcourse text export {out}`")
    net = create_backbone(info["backbone"], len(info["classes"]), input_size=info["input_size"])
    state = torch.load(folder / "weights.pt", weights_only=True)
    if "head" in state:
        net.head.load_state_dict(state["head"])
    else:
        net.load_state_dict(state["net"])
    return Model(net.eval(), info["classes"], info["threshold"], info, folder)
