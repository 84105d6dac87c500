"""Export a trained text model to a folder an app can use: one ONNX file, the tokenizer, a README.

``tlcourse text export MODEL`` writes ``MODEL/onnx/`` (or ``--out FOLDER``):

* ``model.onnx``: inputs ``input_ids`` and ``attention_mask`` (int64 ``[N, T]``, any N and T up
  to :data:`~tlcourse.text.csv_input.MAX_TOKENS`), output ``probabilities`` (float32 ``[N, C]``);
  inside: MiniLM (LoRA adapters already merged into its weights), mean pooling over the real
  tokens, L2 normalisation, the head and softmax. The class names, threshold and token length
  are in the file's metadata (:func:`tlcourse.custom.export.read_onnx_metadata` reads them);
* ``tokenizer.json`` (Hugging Face ``tokenizers``; truncation at MAX_TOKENS and padding already
  switched on) and the ``transformers`` tokenizer files beside it;
* ``README.md``: what goes in and comes out, and ten lines of Python that use it.

Before anything is written, ONNX Runtime runs the file on real held-out rows of the training
CSV, tokenized with the exported ``tokenizer.json`` as an app would, and its probabilities must
equal PyTorch's (the course's own tokenizer and model) within ``atol``; otherwise
:class:`~tlcourse.custom.export.ExportError` says by how much and nothing is written.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import warnings
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..custom.export import ExportError, _opset, _require_onnx, _session
from .csv_input import MAX_TOKENS
from .text_model import TextModel

_MARKER = ".tlcourse-text-export.json"  # an export folder tlcourse may replace


@dataclass
class TextExportReport:
    """What :func:`export_text_onnx` wrote and measured."""

    folder: Path
    size_bytes: int
    max_abs_diff: float
    atol: float
    opset: int
    checked_rows: int
    classes: list[str]
    export_seconds: float

    def format(self) -> str:
        return "\n".join([
            (f"wrote {self.folder}/: model.onnx ({self.size_bytes / 1e6:.1f} MB, opset "
            f"{self.opset}), tokenizer.json (+ transformers files), README.md"),
            (f"inputs 'input_ids', 'attention_mask' int64 [N, T<={MAX_TOKENS}]; output "
            f"'probabilities' [N, {len(self.classes)}] ({', '.join(self.classes)})"),
            (f"parity: max |ONNX Runtime - PyTorch| = {self.max_abs_diff:.1e} (limit "
            f"{self.atol:.0e}) on {self.checked_rows} held-out rows, tokenized with the exported "
            f"tokenizer.json"),
            f"export took {self.export_seconds:.1f} s"])


class _Graph(nn.Module):
    """Token ids -> probabilities: the encoder body, masked mean pooling, L2 norm, head."""

    def __init__(self, model: TextModel) -> None:
        super().__init__()
        self.body, self.head = model.net.encoder.body, model.net.head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)  # [N, T, 1]
        mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.softmax(self.head(nn.functional.normalize(mean, p=2, dim=1)), dim=-1)


def _app_tokenizer(model: TextModel):
    """MiniLM's fast tokenizer with truncation and padding switched on, as an app runs it."""
    from tokenizers import Tokenizer

    tok = model.encoder.tokenizer
    app = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    app.enable_truncation(MAX_TOKENS)
    app.enable_padding(pad_id=int(tok.pad_token_id), pad_token=str(tok.pad_token))
    return app


def _encode(app, texts: list[str]) -> dict[str, np.ndarray]:
    enc = app.encode_batch(texts)
    return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}


def export_text_onnx(model: TextModel, folder: str | Path, atol: float = 1e-4,
                     opset: int | None = None) -> TextExportReport:
    """Write ``model`` to ``folder`` (model.onnx, tokenizer files, README.md) after the parity
    check. ``folder`` must be new, or an earlier export (it is then replaced whole).

    Raises:
        ExportError: onnx/onnxruntime missing, a folder that is not an earlier export, an export
            failure or a failed parity check (nothing is written then).
    """
    onnx, ort = _require_onnx()
    folder = Path(folder)
    if folder.exists() and not (folder / _MARKER).is_file():
        raise ExportError(f"{folder} exists and is not a tlcourse text export; give --out a "
                          f"new folder (nothing was written)")
    texts = model.check_texts()
    app = _app_tokenizer(model)
    graph = _Graph(model).eval()
    example = _encode(app, texts[:2])
    dims = torch.export.Dim
    batch, seq = dims("batch", min=1, max=4096), dims("tokens", min=2, max=MAX_TOKENS)
    dynamic = {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}}
    t = time.perf_counter()
    try:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                graph, (torch.from_numpy(example["input_ids"]),
                        torch.from_numpy(example["attention_mask"])),
                dynamo=True, input_names=["input_ids", "attention_mask"],
                output_names=["probabilities"], dynamic_shapes=dynamic, opset_version=opset,
                verbose=False)
        proto = program.model_proto
    except Exception as e:  # any exporter failure ends the same way
        raise ExportError(f"torch.onnx could not export the text model: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from e
    export_seconds = time.perf_counter() - t
    info = model.info
    onnx.helper.set_model_props(proto, {
        "classes": json.dumps(model.classes), "threshold": f"{model.threshold:.4f}",
        "encoder": info["encoder"], "method": info["method"], "max_tokens": str(MAX_TOKENS),
        "input": "input_ids, attention_mask: int64 [N, T], from tokenizer.json (T <= max_tokens)",
        "output": "probabilities: float32 [N, C], softmax over classes",
        "preprocessing": json.dumps({"tokenizer": "tokenizer.json (WordPiece, lower-cased)",
                                     "max_tokens": MAX_TOKENS, "pooling": "mean over real tokens",
                                     "normalize": "L2"})})
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()

    # parity on real rows, the app's tokenization against the course's own pipeline
    try:
        session = _session(ort, data, torch.get_num_threads())
        got = session.run(["probabilities"], _encode(app, texts))[0]
    except Exception as e:  # ONNX Runtime refusing the file
        raise ExportError(f"ONNX Runtime {ort.__version__} could not run the exported file "
                          f"({type(e).__name__}); nothing written. Update it: pip install -U "
                          f"'tlcourse[export]'") from e
    want = model.probabilities(texts).numpy()
    diff = float(np.abs(got - want).max()) if len(texts) else float("nan")
    if not diff <= atol:
        raise ExportError(f"ONNX Runtime's probabilities differ from PyTorch's by up to "
                          f"{diff:.2e} (limit {atol:.0e}) on {len(texts)} held-out rows; nothing "
                          f"written to {folder}")
    rep = TextExportReport(folder, len(data), diff, atol, _opset(proto), len(texts),
                           list(model.classes), export_seconds)
    _write_folder(folder, model, app, data, rep)
    return rep


def _write_folder(folder: Path, model: TextModel, app, data: bytes,
                  rep: TextExportReport) -> None:
    """Everything staged in a temporary folder beside ``folder``, then renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}.tmp-") as tmp:
        staged = Path(tmp) / "export"
        staged.mkdir()
        (staged / "model.onnx").write_bytes(data)
        with redirect_stdout(io.StringIO()):
            model.encoder.tokenizer.save_pretrained(staged)
        app.save(str(staged / "tokenizer.json"))
        (staged / "README.md").write_text(_readme(model, rep), encoding="utf-8")
        (staged / _MARKER).write_text(json.dumps({"iteration": model.info["number"]}))
        old = Path(tmp) / "old"
        if folder.exists():  # an earlier export: swapped out, deleted with the staging folder
            os.replace(folder, old)
        try:
            os.replace(staged, folder)
        except OSError:
            if old.exists():
                os.replace(old, folder)
            raise


def _readme(model: TextModel, rep: TextExportReport) -> str:
    info, m = model.info, model.info["metrics"]
    classes = ", ".join(f"{i} `{c}`" for i, c in enumerate(model.classes))
    pct = lambda v: "—" if v is None else f"{100 * v:.1f} %"
    return f"""# A text classifier exported by tlcourse

Iteration {info['number']} of a model trained with `tlcourse text train` on `{Path(info['data_root']).name}`:
{info['method']} on {info['encoder']} ({info['method_reason'].split(';')[0]}).
Scored by {info['evaluation']} on {info['n_eval']} texts: precision {pct(m['macro_precision'])},
recall {pct(m['macro_recall'])}, mAP {pct(m['mean_ap'])} (means over labels) at threshold
{model.threshold:.2f}; accuracy {pct(m['accuracy'])}.

## Files
- `model.onnx`: inputs `input_ids` and `attention_mask` (int64 `[N, T]`, T <= {MAX_TOKENS}),
  output `probabilities` (float32 `[N, {len(model.classes)}]`). Classes by column: {classes}.
- `tokenizer.json`: the tokenizer (Hugging Face `tokenizers`, also readable by
  transformers.js); it lower-cases, truncates at {MAX_TOKENS} tokens and pads a batch.
  `tokenizer_config.json` (and any other tokenizer file here): the same for `transformers`,
  `AutoTokenizer.from_pretrained("this folder")`.

Texts longer than {MAX_TOKENS} tokens are cut, as in training: the model never saw the rest.

## Use it (Python: `pip install onnxruntime tokenizers numpy`)
```python
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer

tok = Tokenizer.from_file("tokenizer.json")
session = ort.InferenceSession("model.onnx")
CLASSES, THRESHOLD = {json.dumps(model.classes)}, {model.threshold:.2f}
enc = tok.encode_batch(["first text", "second text"])
feed = {{"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}}
for p in session.run(["probabilities"], feed)[0]:
    print(CLASSES[p.argmax()] if p.max() >= THRESHOLD else "unknown", p.round(3))
```
A top probability below the threshold ({model.threshold:.2f}, {info['threshold_reason']}) means
"unknown", as `tlcourse text predict` says.

## Checked before it was written
ONNX Runtime's probabilities equal PyTorch's within {rep.atol:.0e} (largest difference
{rep.max_abs_diff:.1e}) on {rep.checked_rows} held-out texts, tokenized with this folder's
`tokenizer.json`.
"""
