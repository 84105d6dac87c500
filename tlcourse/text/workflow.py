"""Your own texts: train a classifier on a CSV and keep it as chapter 7 keeps a photo model.

The workflow behind ``tlcourse text check / train / predict / export``, the same shape as the
image one (:mod:`tlcourse.custom.classifier`) and built from its parts:

1. :func:`~tlcourse.text.csv_input.check_csv` reads the CSV and blocks on what cannot work.
2. :func:`train_text_model` splits the usable rows (the images' seeded, stratified holdout, or
   cross-validation when a label cannot spare rows), trains on the training part

   * ``probe``: a linear head on MiniLM's mean-pooled sentence vectors (frozen, cached), or
   * ``lora``: LoRA adapters (r = 8 on ``query``/``value``, :mod:`tlcourse.text.lora`) and the
     head, started from the probe's head, at :data:`LORA_CONFIG`,

   picks the probability threshold on training-side predictions (out-of-fold for the probe, a
   validation part kept out of the fit for LoRA; never on the rows it is scored on) and scores
   the held-out rows with :mod:`tlcourse.custom.metrics` (per-label precision, recall, AP).
3. The train is a new iteration of the model folder (:mod:`tlcourse.custom.model_folder`),
   side by side with the earlier ones (``tlcourse text iterations``).

Texts are cut at :data:`~tlcourse.text.csv_input.MAX_TOKENS` tokens everywhere.

Example:
    >>> it = train_text_model("reviews.csv", "review-model")        # doctest: +SKIP
    >>> print(it.report.format())                                   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..custom.classifier import (
    AUTO_FINETUNE_FROM,
    _folds,
    _head_probs,
    _holdout_per_class,
    _n_folds,
    _out_of_fold_probs,
    _threads,
)
from ..custom.metrics import Report, choose_threshold, report
from ..custom.model_folder import ModelError, _read_index, _save_iteration
from ..data import ImageData, train_val_split
from ..errors import TlcourseError
from ..features import HEAD_CONFIG, train_head
from ..train import TrainConfig, fit, seed_everything
from .assets import ENCODER
from .csv_input import MAX_TOKENS, CsvError, CsvReport, check_csv
from .encoder import SentenceEncoder, embed, load_encoder
from .finetune import TextClassifier

KIND = "text"  # iteration.json's "kind": a text model folder, not a photo one
ENCODER_LABEL = "MiniLM-L6-v2"  # shown in the iterations table
METHODS = ("probe", "lora", "auto")
AUTO_LORA_FROM = AUTO_FINETUNE_FROM
"""``--method auto`` trains LoRA adapters only when every label has this many training rows
(the images' threshold for fine-tuning): with fewer, a probe on frozen sentence vectors is
seconds where LoRA is minutes, and what LoRA gains at a few labels per class is chapter 9's
experiment (``tlcourse claims``), not a promise made here."""
LORA_CONFIG = TrainConfig(epochs=4, batch_size=16, lr=5e-4, weight_decay=0.01, progress=False)
"""LoRA's recipe: Hu et al. train adapters at rates around 5e-4 (ten times full fine-tuning's)."""
LORA_MIN_STEPS = 20  # a small CSV still gets this many optimiser steps
LORA_RANK = 8
CHECK_ROWS = 8  # held-out rows kept for the export's parity check


class TextTrainError(TlcourseError, ValueError):
    """A setting out of range or an output folder that cannot be used; the message says what."""


@dataclass(frozen=True)
class TextSettings:
    """One train's choices (stored with the iteration).

    Attributes:
        method: ``probe``, ``lora`` or ``auto`` (see :data:`AUTO_LORA_FROM`).
        seed: seeds the split, the head's initialisation and the batch order.
        holdout: share of each label held out for scoring.
        threshold: probability below which a prediction is "unknown"; ``None`` chooses it on
            training-side predictions (macro F1).
        text_col, label_col: the CSV's columns.
    """

    method: str = "auto"
    seed: int = 0
    holdout: float = 0.2
    threshold: float | None = None
    text_col: str = "text"
    label_col: str = "label"
    lora_rank: int = LORA_RANK
    max_tokens: int = MAX_TOKENS

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise TextTrainError(f"method must be one of {list(METHODS)}, not {self.method!r}")
        if not 0 < self.holdout < 1:
            raise TextTrainError(f"holdout must be a fraction between 0 and 1, not {self.holdout}")
        if self.threshold is not None and not 0 <= self.threshold < 1:
            raise TextTrainError(f"threshold must be a probability in [0, 1), not "
                                 f"{self.threshold}")


@dataclass
class TextIteration:
    """One train, as stored in ``iteration.json`` (the keys the iterations table reads are the
    image iterations' own), plus the arrays of ``evaluation.pt``."""

    number: int
    created: str
    settings: dict
    method: str
    method_reason: str
    classes: list[str]
    threshold: float
    threshold_reason: str
    evaluation: str  # "holdout" or "cross-validation"
    n_train: int
    n_eval: int
    data_root: str  # the CSV
    data_hash: str
    metrics: dict
    seconds: dict
    features_cached: bool
    n_threshold: int = 0
    folds: list[dict] = field(default_factory=list)
    trainable_parameters: int = 0
    kind: str = KIND
    backbone: str = ENCODER_LABEL
    encoder: str = ENCODER["name"]
    input_size: int = MAX_TOKENS  # tokens read per text
    tlcourse: str = __version__
    report: Report | None = field(default=None, repr=False)
    eval_probs: torch.Tensor | None = field(default=None, repr=False)
    eval_y: torch.Tensor | None = field(default=None, repr=False)
    eval_paths: list[str] = field(default_factory=list, repr=False)  # the scored texts

    def timing(self) -> str:
        how = "from the cache: MiniLM did not run" if self.features_cached else "computed"
        return (f"sentence vectors {self.seconds['features']:.1f} s ({how}), training and "
                f"threshold {self.seconds['training']:.1f} s, total {self.seconds['total']:.1f} s")

    def to_json(self) -> dict:
        skip = {"report", "eval_probs", "eval_y", "eval_paths"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


def out_folder_problem(csv_path: str | Path, out: str | Path) -> str | None:
    """Why ``out`` cannot be the model folder (it is the CSV itself), or None."""
    if Path(out).expanduser().resolve() == Path(csv_path).expanduser().resolve():
        return f"--out {out} is the CSV itself, which tlcourse only reads; give a new folder"
    return None


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def _resolve_method(settings: TextSettings, train_counts: list[int]) -> tuple[str, str]:
    if settings.method != "auto":
        return settings.method, f"--method {settings.method}"
    smallest = min(train_counts)
    if smallest >= AUTO_LORA_FROM:
        return "lora", (f"auto: every label has >= {AUTO_LORA_FROM} training rows (smallest "
                        f"{smallest}), enough for LoRA adapters to pay")
    return "probe", (f"auto: the smallest label has {smallest} training rows (< {AUTO_LORA_FROM});"
                     f" on so few, LoRA costs minutes for a gain chapter 9 measures (see "
                     f"`tlcourse claims`), so a linear head on frozen sentence vectors")


def _tokens(texts: list[str], y: torch.Tensor, classes: list[str], encoder: SentenceEncoder
            ) -> ImageData:
    ids = encoder.tokenize(texts, MAX_TOKENS)["input_ids"]
    return ImageData(ids, y, classes, "texts:tokens")


@torch.no_grad()
def text_probs(model: torch.nn.Module, texts: list[str], encoder: SentenceEncoder,
               batch_size: int = 64) -> torch.Tensor:
    """``[N, C]`` probabilities of a :class:`TextClassifier` (LoRA-wrapped or not), batched in
    length order (less padding), returned in the order given."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.zeros(len(texts), model.head.out_features if hasattr(model, "head")
                      else model.base_model.model.head.out_features)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        ids = encoder.tokenize([texts[j] for j in idx], MAX_TOKENS)["input_ids"]
        out[idx] = model(ids).float().softmax(1)
    return out


def _train_lora(encoder: SentenceEncoder, texts: list[str], y: torch.Tensor, classes: list[str],
                emb: torch.Tensor, settings: TextSettings) -> torch.nn.Module:
    """LoRA adapters and a head on ``texts``; the head starts from the probe on ``emb`` (its
    frozen sentence vectors), so training starts from the probe exactly (LoRA's B is zero)."""
    import copy

    from .lora import add_lora

    head, _ = train_head(ImageData(emb, y, classes, "texts"), replace(HEAD_CONFIG,
                                                                      seed=settings.seed),
                         seed=settings.seed)
    seed_everything(settings.seed)
    model = add_lora(TextClassifier(copy.deepcopy(encoder), copy.deepcopy(head)),
                     r=settings.lora_rank)
    per_epoch = -(-len(texts) // LORA_CONFIG.batch_size)
    epochs = max(LORA_CONFIG.epochs, -(-LORA_MIN_STEPS // per_epoch))
    fit(model, _tokens(texts, y, classes, encoder),
        replace(LORA_CONFIG, epochs=epochs, seed=settings.seed))
    return model.eval()


def train_text_model(csv_path: str | Path, out: str | Path,
                     settings: TextSettings = TextSettings(), progress: bool = True,
                     encoder: SentenceEncoder | None = None) -> TextIteration:
    """Check the CSV, train on its usable rows and append the result to the model folder.

    Returns the new :class:`TextIteration` (with its :class:`~tlcourse.custom.metrics.Report`).
    Raises :class:`~tlcourse.text.csv_input.CsvError` for a CSV with blocking problems and
    :class:`~tlcourse.custom.model_folder.ModelError` for a model folder of another format or
    kind. The CSV is only read.
    """
    out = Path(out)
    problem = out_folder_problem(csv_path, out)
    if problem:
        raise ModelError(problem)
    _refuse_image_folder(out)
    start = time.perf_counter()
    checked = check_csv(csv_path, settings.text_col, settings.label_col,
                        encoder.tokenizer if encoder else None)
    if not checked.ok:  # refused before MiniLM's weights are read
        raise CsvError(checked)
    encoder = encoder or load_encoder()
    classes = checked.classes
    texts = checked.texts
    y = torch.tensor([classes.index(c) for c in checked.labels], dtype=torch.long)

    n_eval = _holdout_per_class(torch.bincount(y, minlength=len(classes)).tolist(),
                                settings.holdout)
    if n_eval is not None:
        evaluation = "holdout"
        rng = np.random.default_rng(settings.seed)
        eval_idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y.numpy() == c))[:n]
                                           for c, n in enumerate(n_eval)]))
        splits = [(np.setdiff1d(np.arange(len(y)), eval_idx), eval_idx)]
    else:  # too few rows to spare: every row is scored once by a model that did not see it
        evaluation = "cross-validation"
        fold = _folds(y, _n_folds(y), settings.seed)
        splits = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in np.unique(fold)]
    train_counts = torch.bincount(y[splits[0][0]], minlength=len(classes)).tolist()
    method, method_reason = _resolve_method(settings, train_counts)

    t0 = time.perf_counter()
    cached = _embeddings_cached(encoder, texts)
    emb = embed(texts, encoder, max_length=MAX_TOKENS, progress=progress)
    feats = ImageData(emb, y, classes, "texts")
    feature_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    seed_everything(settings.seed)
    eval_probs = torch.zeros(len(y), len(classes))
    eval_t = np.zeros(len(y))
    folds, tuned = [], None
    with _threads(1 if method == "probe" else None):  # a head's steps are tiny
        for tr, ev in splits:
            if method == "probe":
                chooser = (_out_of_fold_probs(feats.subset(tr), settings.seed), y[tr])
                eval_probs[ev] = _head_probs(feats.subset(tr), feats.subset(ev), settings.seed)
                fit_on = len(tr)
            else:  # a validation part of the training rows, kept out of the fit, picks it
                part = ImageData(torch.as_tensor(tr), y[tr], classes, "rows")
                fit_part, val = train_val_split(part, 0.2, settings.seed)
                fit_idx, val_idx = fit_part.x.numpy(), val.x.numpy()
                tuned = _train_lora(encoder, [texts[i] for i in fit_idx], y[fit_idx], classes,
                                    emb[fit_idx], settings)
                chooser = (text_probs(tuned, [texts[i] for i in val_idx], encoder), y[val_idx])
                eval_probs[ev] = text_probs(tuned, [texts[i] for i in ev], encoder)
                fit_on = len(fit_idx)
            t = settings.threshold if settings.threshold is not None else choose_threshold(*chooser)
            eval_t[ev] = t
            folds.append({"scored": len(ev), "fit_on": fit_on, "threshold": t,
                          "threshold_on": len(chooser[1])})
        if evaluation == "holdout":  # the model saved is the one scored
            threshold, n_train, n_threshold = (folds[0][k] for k in ("threshold", "fit_on",
                                                                      "threshold_on"))
            final_idx = splits[0][0]
            picked = ("out-of-fold predictions of the" if method == "probe" else
                      "a validation part of the") + f" {n_threshold} training rows"
        else:  # the model saved is trained on every row, its threshold chosen out-of-fold
            final_idx = np.arange(len(y))
            n_train = n_threshold = len(y)
            threshold = (settings.threshold if settings.threshold is not None
                         else choose_threshold(eval_probs, y))
            picked = f"the out-of-fold predictions of all {len(y)} rows (cross-validation)"
        threshold_reason = ("--threshold" if settings.threshold is not None
                            else f"best macro F1 on {picked}")
        if method == "probe":
            head, _ = train_head(feats.subset(final_idx), replace(HEAD_CONFIG, seed=settings.seed),
                                 seed=settings.seed)
            state = {"head": head.state_dict()}
            trainable = sum(p.numel() for p in head.parameters())
        else:
            import peft

            from .lora import trainable_parameters

            if evaluation == "cross-validation":
                tuned = _train_lora(encoder, texts, y, classes, emb, settings)
            state = {"lora": {k: v.detach().clone() for k, v in
                              peft.get_peft_model_state_dict(tuned).items()}}
            trainable = trainable_parameters(tuned)
    train_seconds = time.perf_counter() - t1

    order = np.sort(np.concatenate([e for _, e in splits]))
    probs, y_eval = eval_probs[order], y[order]
    per_row = len({f["threshold"] for f in folds}) > 1
    rep = report(probs, y_eval, classes, eval_t[order] if per_row else folds[0]["threshold"],
                 negative_class=False)  # a label "negative" is a sentiment here
    rep.unit = "text"
    if evaluation == "cross-validation" and settings.threshold is None:
        each = ", ".join(f"{f['threshold']:.2f}" for f in folds)
        rep.notes.append(f"each of the {len(folds)} folds was scored at a threshold chosen on its "
                         f"own training folds ({each}); the saved model's {threshold:.2f} was "
                         f"chosen on the out-of-fold predictions of all {len(y)} rows")
    it = TextIteration(
        number=0, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=asdict(settings), method=method, method_reason=method_reason, classes=classes,
        threshold=threshold, threshold_reason=threshold_reason, evaluation=evaluation,
        n_train=n_train, n_eval=len(order), data_root=str(Path(csv_path).resolve()),
        data_hash=checked.content_hash(), metrics=rep.to_dict(),
        seconds={"features": round(feature_seconds, 2), "training": round(train_seconds, 2),
                 "total": round(time.perf_counter() - start, 2)},
        features_cached=cached, n_threshold=n_threshold, folds=folds,
        trainable_parameters=int(trainable), report=rep, eval_probs=probs, eval_y=y_eval,
        eval_paths=[texts[i] for i in order])
    check = torch.arange(len(order))[:: max(1, len(order) // CHECK_ROWS)][:CHECK_ROWS]
    it.number = _save_iteration(out, it, state, check)  # check: indices into the scored texts
    return it


def _refuse_image_folder(out: Path) -> None:
    """A photo model folder is not trained into (its iterations would mix two kinds)."""
    meta = _read_index(out, must_exist=False)
    if meta["iterations"]:
        from ..custom.model_folder import iterations

        if any(r.get("kind") != KIND for r in iterations(out)):
            raise ModelError(f"{out} holds a photo model (tlcourse train); give `tlcourse text "
                             f"train` a new folder for a text model")


def _embeddings_cached(encoder: SentenceEncoder, texts: list[str]) -> bool:
    from .. import cache
    from .encoder import _embed_digest

    if not cache.enabled():
        return False
    return cache.load_features(_embed_digest(encoder, texts, MAX_TOKENS)) is not None


__all__ = ["CsvError", "CsvReport", "TextIteration", "TextSettings", "train_text_model"]
