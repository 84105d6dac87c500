"""Chapter 8's choices on validation texts, and its from-scratch baseline trained until it fits.

Every choice the chapter makes (the LP-FT rate called "best", the rate of the encoder trained
from random weights) is made on *validation* texts: drawn for each seed from the same training
pool as its training texts, never among the fixed test texts and never among its own training
texts. The test texts only ever score the choice.

The baseline "MiniLM from random weights" gets a fair chance (issue 25): its rate is chosen on
validation, and it trains until it fits its training texts (:func:`tlcourse.stats.fitted`) or
runs out of its step budget, which is at least the pretrained arm's; its record keeps its training
accuracy, so a sentence can say when it did not fit.

Example:
    >>> train, val = train_val_split(tweets, 20, 50, seed=0, test_per_class=100)  # doctest: +SKIP
    >>> r = train_until_fitted(text.load_encoder(pretrained=False), train, cfg, 3e-4,
    ...                        seed=0, max_steps=120)                           # doctest: +SKIP
    >>> accuracy(r.model, val, cfg.max_length)                                  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .. import text
from ..stats import fitted
from ..train import TrainConfig, evaluate, fit, seed_everything


def train_val_split(data: text.TextData, k: int, val_per_class: int, seed: int,
                    test_per_class: int) -> tuple[text.TextData, text.TextData]:
    """Seed ``seed``'s ``k`` training texts per class (exactly those of
    ``split_texts(data, k, seed)``) and ``val_per_class`` validation texts per class: the
    next ones in the same seeded draw, so never a test text and never a training text."""
    train = text.split_texts(data, k, seed, test_per_class=test_per_class)[0]
    wider = text.split_texts(data, k + val_per_class, seed, test_per_class=test_per_class)[0]
    seen = set(train.texts)
    val = wider.subset([i for i, t in enumerate(wider.texts) if t not in seen])
    val.name = f"{data.name}:val"
    return train, val


@torch.inference_mode()
def predict(model: text.TextClassifier, data: text.TextData, max_length: int) -> torch.Tensor:
    """Predicted labels of ``data`` (in its order); batches of similar length carry little
    padding, so the texts are run shortest first."""
    order = sorted(range(len(data)), key=lambda i: len(data.texts[i]))
    model.eval()
    ev = evaluate(model, text.tokens(data.subset(order), model.encoder, max_length), batch_size=64)
    pred = torch.empty_like(ev["preds"]).cpu()
    pred[order] = ev["preds"].cpu()
    return pred


def accuracy(model: text.TextClassifier, data: text.TextData, max_length: int) -> float:
    """Accuracy of a trained encoder on ``data`` (validation texts)."""
    return (predict(model, data, max_length) == data.y).float().mean().item()


@dataclass
class ScratchResult:
    """The random-weight encoder after :func:`train_until_fitted`."""

    model: text.TextClassifier
    lr: float
    steps: int
    epochs: int
    train_accuracy: float  # on the last epoch's batches (dropout on), what stopped it
    seconds: float

    @property
    def fitted(self) -> bool:
        return fitted(self.train_accuracy)


class _Fitted(Exception):
    """Raised from fit's epoch hook to stop: the training texts are fitted."""


def train_until_fitted(encoder: text.SentenceEncoder, train: text.TextData,
                       cfg: text.TuneConfig, lr: float, seed: int,
                       max_steps: int) -> ScratchResult:
    """Train a copy of ``encoder`` (random weights) with a new linear head on ``train``, every
    layer at rate ``lr`` (AdamW, cosine over the whole budget), until its training accuracy
    reaches :data:`tlcourse.stats.FITTED` or ``max_steps`` steps are spent."""
    start = time.perf_counter()
    seed_everything(seed)
    model = text.TextClassifier(copy.deepcopy(encoder))
    for p in model.parameters():
        p.requires_grad_(True)
    per_epoch = -(-len(train) // cfg.batch_size)
    epochs = max(1, max_steps // per_epoch)
    rows: list[dict] = []

    def stop_when_fitted(_model, row: dict) -> None:
        rows.append(row)
        if fitted(row["train_acc"]):
            raise _Fitted

    fit_cfg = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=lr,
                          weight_decay=cfg.weight_decay, seed=seed, progress=False)
    try:
        fit(model, text.tokens(train, encoder, cfg.max_length), fit_cfg,
            on_epoch_end=stop_when_fitted)
    except _Fitted:
        pass
    model.eval()
    return ScratchResult(model, lr, len(rows) * per_epoch, len(rows), rows[-1]["train_acc"],
                         time.perf_counter() - start)


def from_scratch(encoder: text.SentenceEncoder, data: text.TextData, k: int,
                 seeds: tuple[int, ...], cfg: text.TuneConfig, lrs: tuple[float, ...],
                 max_steps: int, val_per_class: int, test_per_class: int, progress: bool = False
                 ) -> tuple[float, dict[float, float], dict[int, tuple]]:
    """The random-weight ``encoder`` at ``k`` texts per class: each rate of ``lrs`` trained on
    the first seed's texts until fitted, the best on that seed's validation texts chosen (ties:
    the first listed), then every seed at that rate (the first seed's run reused).

    Returns:
        ``(rate, {rate: validation accuracy}, {seed: (ScratchResult, train texts, n_val)})``.
    """
    train, val = train_val_split(data, k, val_per_class, seeds[0], test_per_class)
    tried = {lr: train_until_fitted(encoder, train, cfg, lr, seeds[0], max_steps)
             for lr in tqdm(lrs, desc="text-transfer: scratch rates", disable=not progress)}
    val_acc = {lr: accuracy(r.model, val, cfg.max_length) for lr, r in tried.items()}
    lr = max(lrs, key=lambda x: val_acc[x])
    runs = {seeds[0]: (tried[lr], train, len(val))}
    for seed in seeds[1:]:
        train = train_val_split(data, k, val_per_class, seed, test_per_class)[0]
        runs[seed] = (train_until_fitted(encoder, train, cfg, lr, seed, max_steps), train,
                      len(val))
    return lr, val_acc, runs


def scratch_findings(scratch: list[dict], name: str, tuned_steps: dict[int, int],
                     at_chance: set[int]) -> list[str]:
    """How the random-weight encoder (records ``scratch``, arm ``name``) was trained, per size:
    the rate chosen on validation, its steps against the fine-tuned arm's (``tuned_steps``),
    fitted or not with its training accuracy, and where (``at_chance``) it ended at or below
    chance and so is left out of the verdicts."""
    out = []
    for k in sorted({r["labels_per_class"] for r in scratch}):
        rs = sorted((r for r in scratch if r["labels_per_class"] == k), key=lambda r: r["seed"])
        tried = rs[0].get("lr_sweep", {})
        how = (f"the rate {rs[0]['lr']:g} chosen on validation texts (validation accuracy "
               + ", ".join(f"{100 * acc:.0f} % at {lr}" for lr, acc in tried.items()) + ")"
               if len(tried) > 1 else f"the rate {rs[0]['lr']:g} (the only one tried)")
        unfit = [r for r in rs if not fitted(r["train_accuracy"])]
        fit_said = (f"it fitted its training texts on every seed (training accuracy at least "
                    f"{100 * min(r['train_accuracy'] for r in rs):.0f} %)" if not unfit else
                    "it did not fit its training texts on seed" + ("s" if len(unfit) > 1 else "")
                    + " " + ", ".join(f"{r['seed']} (training accuracy {100 * r['train_accuracy']:.0f} % "
                                      f"after {r['steps']} steps)" for r in unfit))
        budget = rs[0].get("max_steps", max(r["steps"] for r in rs))
        out.append(f"{name} at {k}/class: {how}, trained until it fitted its training texts or "
                   f"{budget} steps" + (f" (the fine-tuned arm took {tuned_steps[k]})"
                                        if k in tuned_steps else "")
                   + f"; on seed{'s' if len(rs) > 1 else ''} "
                   + ", ".join(str(r["seed"]) for r in rs) + " it took "
                   + ", ".join(str(r["steps"]) for r in rs) + f" steps; {fit_said}.")
        if k in at_chance:
            out.append(f"At {k}/class it ended at or below chance ("
                       f"{100 * statistics.fmean(r['test_accuracy'] for r in rs):.1f} % on the test "
                       f"texts), so it is left out of the verdicts above.")
    return out
