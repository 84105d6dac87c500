"""Training the encoder end to end with a linear head: fine-tuning (LP-FT, the probe first)
and from random weights, with the course's :func:`~tlcourse.train.fit`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import TlcourseError  # noqa: F401
from .corpora import TextData
from .encoder import SentenceEncoder


# ---------------------------------------------------------------------------------------------
# Training the encoder: fine-tuning (LP-FT) and from random weights, with the course's fit()
# ---------------------------------------------------------------------------------------------
class TextClassifier(nn.Module):
    """A sentence encoder and a linear head, fed padded token ids ``[B, T]`` so that the
    course's :func:`~tlcourse.train.fit` and :func:`~tlcourse.train.evaluate` train it like any
    image model (the attention mask is ``ids != pad``)."""

    def __init__(self, encoder: SentenceEncoder, head: nn.Linear | None = None,
                 num_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = head if head is not None else nn.Linear(encoder.dim, num_classes)
        self.pad_id = int(encoder.tokenizer.pad_token_id)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` token ids (right-padded) -> ``[B, num_classes]`` logits."""
        mask = ids != self.pad_id
        width = int(mask.sum(1).max())  # cut the batch's shared padding: less work
        return self.head(self.encoder(ids[:, :width], mask[:, :width].long()))


def tokens(data: TextData, encoder: SentenceEncoder, max_length: int = 128):
    """``data`` as an :class:`~tlcourse.data.ImageData` whose ``x`` is ``[N, T]`` token ids
    (padded to the longest text, cut at ``max_length``): what :class:`TextClassifier` reads."""
    from ..data import ImageData

    ids = encoder.tokenize(data.texts, max_length)["input_ids"]
    return ImageData(ids, data.y, data.classes, f"{data.name}:tokens")


@dataclass(frozen=True)
class TuneConfig:
    """How to train the encoder end to end (recorded with each result)."""

    lr: float = 3e-5  # BERT's recipe for fine-tuning: 2e-5..5e-5; scratch needs its own
    epochs: int = 4  # BERT's recipe: 2-4; tiny sets get at least min_steps steps
    min_steps: int = 12  # with 10 texts and batch 16 four epochs would be 4 steps
    batch_size: int = 16
    weight_decay: float = 0.01
    max_length: int = 64  # tokens of a tweet: median 33, longest 76; 64 cuts 0.1 % of them


@dataclass
class TuneResult:
    """An end-to-end trained encoder's outcome on one test set."""

    accuracy: float
    pred: torch.Tensor  # [N_test] predicted labels
    seconds: float  # training (not testing)
    epochs: int
    steps: int
    train_accuracy: float  # on the last epoch's batches (dropout on)
    model: TextClassifier


def train_encoder(encoder: SentenceEncoder, train: TextData, test: TextData,
                  cfg: TuneConfig = TuneConfig(), seed: int = 0,
                  head: nn.Linear | None = None,
                  prepare: Callable[[nn.Module], nn.Module] | None = None) -> TuneResult:
    """Train a copy of ``encoder`` with a linear head on ``train``, every layer, then test it.

    With the pretrained encoder and ``head=head_from_probe(...)`` this is LP-FT (the probe
    first, then everything at a low rate); with ``load_encoder(pretrained=False)`` and no head it
    is the architecture trained from scratch. ``prepare`` may change what trains (chapter 9:
    :func:`tlcourse.text.lora.add_lora` leaves only adapters and head trainable). ``encoder``
    itself is left unchanged.

    Example:
        >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
        >>> p = probe(x_train, train.y, x_test, test.y)                      # doctest: +SKIP
        >>> train_encoder(enc, train, test, head=head_from_probe(p)).accuracy  # doctest: +SKIP
    """
    import copy

    from ..train import TrainConfig, evaluate, fit, seed_everything

    start = time.perf_counter()
    seed_everything(seed)
    model = TextClassifier(copy.deepcopy(encoder), copy.deepcopy(head))
    for p in model.parameters():
        p.requires_grad_(True)
    if prepare is not None:
        model = prepare(model)
    per_epoch = -(-len(train) // cfg.batch_size)
    epochs = max(cfg.epochs, -(-cfg.min_steps // per_epoch))
    fit_cfg = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                          weight_decay=cfg.weight_decay, seed=seed, progress=False)
    history = fit(model, tokens(train, encoder, cfg.max_length), fit_cfg)
    seconds = time.perf_counter() - start
    # Test in length order (batches of similar length carry little padding), report in the
    # order given.
    order = sorted(range(len(test)), key=lambda i: len(test.texts[i]))
    ev = evaluate(model, tokens(test.subset(order), encoder, cfg.max_length), batch_size=64)
    pred = torch.empty_like(ev["preds"])
    pred[order] = ev["preds"].cpu()
    model.eval()
    return TuneResult(ev["accuracy"], pred, seconds, epochs, epochs * per_epoch,
                      history.epochs[-1]["train_acc"], model)
