"""One iteration of a model folder as a file an app can trust: ``MODEL/model-iterN.onnx`` and the
README that tells an app how to feed it; and the warnings when that file goes stale.

* :func:`export_iteration` writes ``model-iter<N>.onnx`` (named after the iteration it holds),
  checked first against ``predict`` on real files of the training folder at their full size,
  decoded as the README tells an app to decode them. Its metadata carries the classes, the
  threshold, the iteration, the training data's hash and the decoding rules.
* :func:`stale_exports` lists the ONNX files of a model folder that no longer hold its current
  iteration (a later ``train`` made them stale); ``predict`` and ``train`` say so.
* :class:`OnnxModel` predicts with an exported file through ONNX Runtime, files decoded exactly
  as :meth:`~tlcourse.custom.classifier.Model.predict` decodes them.

Example:
    >>> rep = export_iteration("my_model")                       # doctest: +SKIP
    >>> OnnxModel("my_model/model-iter3.onnx").predict(["a.jpg"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..onnx_metadata import OnnxMetadataError, read_onnx_metadata
from .app_model import as_batch
from .classifier import load_model
from .export import ExportError, ExportReport, _require_onnx, _session, export_onnx
from .images import DECODING, MAX_SIDE, ImageReadError, _show, decode_rgb
from .model_folder import FORMAT, ModelError, current_iteration
from .negative import negative_index
from .predictions import Prediction, list_files, predict_files

CHECK_FILES = 8  # real files the export's full-size parity check runs on (time: ~0.1 s each)
ATOL = 1e-4  # what the README promises an app: no probability differs from predict's by more
# (measured: ~2e-6 at 1,000-2,400 px; ONNX Runtime's kernels vary a little with the CPU)
INPUT_LAYOUT = "uint8 RGB [N, 3, H, W], any N, H, W (the whole decoded photo; resized inside)"


def export_name(iteration: int) -> str:
    """``model-iter3.onnx``: the file says which iteration it holds."""
    return f"model-iter{iteration}.onnx"


def _check_files(model: Any, check: str | Path | None) -> list[tuple[str, np.ndarray]]:
    """Real photos, decoded at full size: the iteration's held-out files in its training
    folder, or the files under ``check``."""
    if check is not None:
        paths, _ = list_files([check])
        where = f"{_show(check)}"
    else:
        root = Path(model.info["data_root"])
        paths = [root / rel for rel in model.evaluation().get("paths", [])]
        where = f"the training folder {_show(root)}"
    out = []
    for p in paths:
        if len(out) == CHECK_FILES:
            break
        try:
            out.append((_show(p.name), decode_rgb(p)))
        except ImageReadError:  # moved, deleted or not an image: the next one
            continue
    if not out:
        raise ExportError(f"no readable photo in {where} for the export's check at full size; "
                          f"point it at a few real photos: tlcourse export MODEL --check FOLDER")
    return out


def export_iteration(model_dir: str | Path, iteration: int | None = None,
                     out: str | Path | None = None, check: str | Path | None = None,
                     benchmark: bool = True, progress: bool = True) -> ExportReport:
    """Export one iteration (default: the current one) for an app, and write its README.

    Args:
        model_dir: the model folder.
        iteration: which iteration; ``None`` is the current one.
        out: the ``.onnx`` file; default ``MODEL/model-iter<N>.onnx``.
        check: a folder or file of real photos for the full-size check; default the
            iteration's held-out files in its training folder.
        benchmark, progress: as in :func:`~tlcourse.custom.export.export_onnx`.

    Raises:
        ExportError: the check failed or has no photo to run on (nothing is written then).
        ModelError: the model folder or the iteration does not exist.
    """
    model = load_model(model_dir, iteration)
    info = model.info
    path = Path(out) if out else Path(model_dir) / export_name(info["number"])
    meta = {
        "iteration": info["number"],
        "threshold": model.threshold,
        "threshold_rule": "top probability below the threshold, or the top class is the "
                          "negative one ('none of these'): answer 'unknown'",
        "negative_class": next((c for c in model.classes if negative_index([c]) is not None),
                               None),
        "data_hash": info["data_hash"],
        "decoding": DECODING,
        "input_layout": INPUT_LAYOUT,
        "model_folder_format": FORMAT,
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tlcourse": __version__,
    }
    rep = export_onnx(model.net, path, model.check_images(), model.classes, atol=ATOL, metadata=meta,
                      full_size=_check_files(model, check), benchmark=benchmark,
                      progress=progress)
    readme = path.parent / "README.md" if path.parent.resolve() == Path(model_dir).resolve() \
        else path.with_name(path.stem + ".README.md")
    _write_text(readme, app_readme(path.name, info, model.classes, rep))
    return rep


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _negative_line(classes: list[str]) -> str:
    neg = negative_index(classes)
    return "" if neg is None else (
        f'"{classes[neg]}" is the negative class (images of none of the classes): when it is the '
        f'top class, answer "unknown" too.\n')


def app_readme(file: str, info: dict, classes: list[str], rep: ExportReport) -> str:
    """The README beside the exported file: how an app feeds it and reads its answer."""
    worst = max((f["max_abs_diff"] for f in rep.full_size), default=rep.max_abs_diff)
    rules = "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in DECODING.items())
    return f"""# {file}: iteration {info['number']} of this model folder, for an app

Classes, in output order: {', '.join(classes)}.
Threshold: {info['threshold']:.2f}. When the top probability is below it, answer "unknown".
{_negative_line(classes)}
Trained on data with content hash {info['data_hash'][:16]}; exported by tlcourse {__version__}.
A later `tlcourse train` adds an iteration and makes this file stale: `tlcourse predict` then
warns; export again (`tlcourse export MODEL`) to get `model-iter<N>.onnx` for the new one.

## Feed it the whole decoded photo

Input `image`: {INPUT_LAYOUT}. The graph pads to a white square, resizes to
{info['input_size']} px (bilinear, antialiased when shrinking) and normalises; do none of that
yourself. Output `probabilities`: float32 [N, {len(classes)}].

Decode every file this way (it is what `tlcourse predict` does):

{rules}

In Python (Pillow, numpy, onnxruntime):

```python
import json, numpy as np, onnxruntime as ort
from PIL import Image, ImageOps

def decode(path):
    with Image.open(path) as im:
        im.load()                                  # full resolution: no im.draft(...)
        im = ImageOps.exif_transpose(im)           # upright, as the camera held it
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        white.alpha_composite(im)                  # transparency on white
        im = white
    im = im.convert("RGB")
    if max(im.size) > {MAX_SIDE}:
        im.thumbnail(({MAX_SIDE}, {MAX_SIDE}))
    return np.asarray(im).transpose(2, 0, 1)[None]  # uint8 [1, 3, H, W]

session = ort.InferenceSession("{file}")
meta = {{k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}}
p = session.run(["probabilities"], {{"image": decode("photo.jpg")}})[0][0]
label = meta["classes"][p.argmax()] if p.max() >= meta["threshold"] else "unknown"
if label == meta.get("negative_class"):  # trained on images of none of the classes
    label = "unknown"
```

Every metadata value is JSON: classes, threshold, iteration, data_hash, decoding,
input_layout, preprocessing, backbone.

## How close it is to `tlcourse predict`

Given the same decoded pixels, this file and `tlcourse predict` agree within {rep.atol:.0e}
(the export checks it before writing the file): they differed by at most
{worst:.1e} in any probability on {len(rep.full_size)} photos of the training folder at full
size (up to {max((max(f['height'], f['width']) for f in rep.full_size), default=0)} px), and by
at most {rep.max_abs_diff:.1e} over every check. Another JPEG decoder (a browser, iOS, Android,
another libjpeg) gives slightly different pixels, and so slightly different probabilities; an
app that skips the EXIF rotation or the white background gives the model a different picture.
"""


# ---------------------------------------------------------------------------------------------
# Staleness
# ---------------------------------------------------------------------------------------------
def _recorded_iteration(path: Path) -> int | None:
    try:
        value = read_onnx_metadata(path).get("iteration")
    except OnnxMetadataError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stale_exports(model_dir: str | Path) -> list[str]:
    """One line per ONNX file in the model folder that does not hold its current iteration."""
    folder = Path(model_dir)
    try:
        current = current_iteration(folder)
    except ModelError:
        return []
    lines = []
    for p in sorted(folder.glob("*.onnx")):
        n = _recorded_iteration(p)
        if n == current:
            continue
        held = f"iteration {n}" if n is not None else "no recorded iteration (an older export)"
        lines.append(f"{_show(p)} holds {held}, not the current iteration {current}: an app "
                     f"using it answers differently; export again: tlcourse export "
                     f"{_show(folder)}")
    return lines


# ---------------------------------------------------------------------------------------------
# Predicting with the exported file
# ---------------------------------------------------------------------------------------------
class OnnxModel:
    """An exported file, predicting through ONNX Runtime on files decoded as ``predict`` does.

    Attributes: ``path``, ``classes``, ``threshold`` and ``iteration`` (from the metadata).
    """

    def __init__(self, path: str | Path) -> None:
        _, ort = _require_onnx()
        self.path = Path(path)
        meta = read_onnx_metadata(self.path)
        classes, threshold = meta.get("classes"), meta.get("threshold")
        if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
            raise ExportError(f"{_show(path)} has no class names in its metadata: not a tlcourse "
                              f"export; export the model again: tlcourse export MODEL")
        if not (isinstance(threshold, (int, float)) and 0 <= threshold < 1):
            raise ExportError(f"{_show(path)} records no threshold (an export from an older "
                              f"tlcourse); export the model again: tlcourse export MODEL")
        self.classes, self.threshold = classes, float(threshold)
        self.iteration = _recorded_iteration(self.path)
        self.session = _session(ort, self.path.read_bytes(), 1)

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        """Every class's probability for one decoded photo uint8 ``[H, W, 3]``."""
        return self.session.run(["probabilities"], {"image": as_batch(rgb).numpy()})[0][0]

    def predict(self, paths: list[str | Path], top_k: int = 3,
                threshold: float | None = None) -> list[Prediction]:
        """As :meth:`tlcourse.custom.classifier.Model.predict`, through this file."""
        t = self.threshold if threshold is None else threshold
        neg = negative_index(self.classes)  # a "none of these" class is "unknown" here too
        return predict_files(paths, self.probabilities, self.classes, t, top_k,
                             negative=None if neg is None else self.classes[neg])

    def stale(self) -> str | None:
        """Why this file is stale (its model folder has a newer current iteration), or None."""
        folder = self.path.parent
        if not (folder / "model.json").is_file():
            return None
        try:
            current = current_iteration(folder)
        except ModelError:
            return None
        if self.iteration == current:
            return None
        held = f"iteration {self.iteration}" if self.iteration is not None else "no iteration"
        return (f"{_show(self.path)} holds {held}; its model folder is at iteration {current}: "
                f"these answers are the old model's; export again: tlcourse export {_show(folder)}")
