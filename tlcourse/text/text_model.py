"""A trained text model from its model folder, and what it says about new texts.

:func:`load_text_model` reads an iteration written by
:func:`~tlcourse.text.workflow.train_text_model` (tensors only, ``weights_only=True``): the probe's
head, or LoRA's adapters and head, which are folded into the encoder's weights on loading
(:func:`~tlcourse.text.lora.merge_lora`), so predicting costs what the plain encoder costs.
:meth:`TextModel.predict` gives one :class:`~tlcourse.custom.predictions.Prediction` per text
("unknown" below the threshold); :func:`read_texts` reads the texts of a CSV to predict, and
:func:`write_text_predictions` writes the answers as CSV with every cell a spreadsheet would run
as a formula neutralised.

Example:
    >>> model = load_text_model("review-model")                        # doctest: +SKIP
    >>> print(model.predict(["A joy from start to finish."])[0].format())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..custom.model_folder import ModelError, _read_index
from ..custom.predictions import Prediction
from .csv_input import _SURROGATE, MAX_TOKENS, CsvReport, _count, _read_table, check_path
from .encoder import SentenceEncoder, embed, load_encoder
from .finetune import TextClassifier
from .workflow import KIND


@dataclass
class TextModel:
    """A trained iteration, ready to classify: ``net`` is a plain :class:`TextClassifier`."""

    net: TextClassifier
    classes: list[str]
    threshold: float
    info: dict  # the iteration.json
    folder: Path

    @property
    def encoder(self) -> SentenceEncoder:
        return self.net.encoder

    @torch.no_grad()
    def probabilities(self, texts: list[str]) -> torch.Tensor:
        """``[N, C]`` probabilities; texts are cut at :data:`MAX_TOKENS` tokens."""
        if not texts:
            return torch.zeros(0, len(self.classes))
        vectors = embed(texts, self.net.encoder, max_length=MAX_TOKENS)
        return self.net.head(vectors).softmax(1)

    def predict(self, texts: list[str], sources: list[str] | None = None, top_k: int = 3,
                threshold: float | None = None, errors: dict[int, str] | None = None
                ) -> list[Prediction]:
        """One prediction per text, in order; ``sources`` name each (a CSV line, or the text
        itself), ``errors`` maps an index to why that row was not read (it is not classified)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        if threshold is not None and not 0 <= threshold < 1:
            raise ValueError(f"threshold must be a probability in [0, 1), not {threshold}")
        t = self.threshold if threshold is None else threshold
        errors = dict(errors or {})
        sources = sources or list(texts)
        for i, text in enumerate(texts):
            if i not in errors and not text.strip():
                errors[i] = "empty text"
        ok = [i for i in range(len(texts)) if i not in errors]
        probs = self.probabilities([texts[i] for i in ok])
        out: list[Prediction] = [Prediction(s, error=errors.get(i, "")) for i, s in
                                 enumerate(sources)]
        for i, row in zip(ok, probs):
            values, idx = row.topk(min(top_k, len(self.classes)))
            top = [(self.classes[j], float(v)) for v, j in zip(values.tolist(), idx.tolist())]
            out[i] = Prediction(sources[i], top, top[0][0] if top[0][1] >= t else "unknown")
        return out

    def check_texts(self) -> list[str]:
        """The held-out texts kept for the export's parity check."""
        ev = torch.load(self.folder / "evaluation.pt", weights_only=True)
        return [ev["paths"][int(i)] for i in ev["check_images"]]


def load_text_model(model_dir: str | Path, iteration: int | None = None,
                    encoder: SentenceEncoder | None = None) -> TextModel:
    """The current (or given) iteration of a text model folder, ready to predict.

    Raises:
        ModelError: no such folder or iteration, a photo model, or files that do not fit.
    """
    out = Path(model_dir)
    meta = _read_index(out)
    number = meta["current"] if iteration is None else iteration
    if number not in meta["iterations"]:
        raise ModelError(f"{out} has no iteration {number}; it has {meta['iterations']}")
    folder = out / f"iteration-{number:03d}"
    try:
        info = json.loads((folder / "iteration.json").read_text(encoding="utf-8"))
        if info.get("kind") != KIND:
            raise ModelError(f"{out} holds a photo model: use `tlcourse predict {out} IMAGES` "
                             f"(tlcourse text reads folders made by `tlcourse text train`)")
        state = torch.load(folder / "weights.pt", weights_only=True)
    except (OSError, ValueError, RuntimeError) as e:
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"{folder} is damaged ({type(e).__name__}); retrain into a new "
                         f"folder") from None
    classes = info["classes"]
    encoder = encoder or load_encoder()
    import copy

    net = TextClassifier(copy.deepcopy(encoder), num_classes=len(classes))
    try:
        if "lora" in state:
            import peft

            from .lora import add_lora, merge_lora

            wrapped = add_lora(net, r=int(info["settings"]["lora_rank"]))
            peft.set_peft_model_state_dict(wrapped, state["lora"])
            net = merge_lora(wrapped)
        else:
            net.head.load_state_dict(state["head"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise ModelError(f"{folder}/weights.pt does not fit the model it describes "
                         f"({type(e).__name__}); retrain into a new folder") from None
    return TextModel(net.eval(), classes, float(info["threshold"]), info, folder)


def read_texts(path: str | Path, text_col: str = "text"
               ) -> tuple[list[str], list[str], dict[int, str]]:
    """The texts of a CSV to classify: ``(texts, sources, errors)``; ``sources`` are
    ``"FILE:LINE"``, ``errors`` maps an index to why its row could not be read (not UTF-8).

    Raises:
        CsvError: the file is missing, not a CSV, or lacks ``text_col`` (the message says what
            to do).
    """
    from .csv_input import CsvError

    report = CsvReport(Path(path).expanduser(), text_col, "")
    raw = check_path(report)
    table = _read_table(report, raw) if raw is not None else None
    if table is None:
        raise CsvError(report)
    texts, sources, errors = [], [], {}
    for n, row in table:
        if _SURROGATE.search(row["text"]):
            errors[len(texts)] = "not UTF-8: save the file as 'CSV UTF-8'"
        texts.append(row["text"].strip())
        sources.append(f"{report.path.name}:{n}")
    return texts, sources, errors


def write_text_predictions(rows: list[Prediction], texts: list[str], path: str | Path) -> Path:
    """One row per text: source, text, label, top classes with probabilities, error. UTF-8;
    every cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` ...) starts
    with ``'``. Written aside and renamed into place."""
    import csv

    from ..classroom.report import _cell  # the course's one formula neutraliser

    path = Path(path)
    k = max((len(r.top) for r in rows), default=0)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8", errors="backslashreplace") as f:
            w = csv.writer(f)
            w.writerow(["source", "text", "label", *[c for i in range(1, k + 1)
                                                     for c in (f"class_{i}", f"probability_{i}")],
                        "error"])
            for r, text in zip(rows, texts):
                tops = [v for c, p in r.top for v in (_cell(c), f"{p:.4f}")]
                w.writerow([_cell(r.path), _cell(text), _cell(r.label), *tops,
                            *[""] * (2 * k - len(tops)), _cell(r.error)])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def summary(rows: list[Prediction], threshold: float) -> str:
    """'12 classified, 1 not read; 'unknown' = top probability below 0.40'."""
    bad = sum(bool(r.error) for r in rows)
    return (f"{_count(len(rows) - bad, 'text')} classified, {bad} not read; 'unknown' = top "
            f"probability below {threshold:.2f}")
