"""Export a trained classifier to one ONNX file, preprocessing included, checked before it is kept.

The file takes what a photo decoder gives you and returns what a person wants to read:

* input ``"image"``: uint8 RGB ``[N, 3, H, W]``, any batch size and any height and width;
* inside the graph: pad to a white square (``letterbox``, as the course loads its photos), scale
  to [0, 1], resize to the backbone's input size exactly as :class:`~tlcourse.backbones.Preprocess`
  does (bilinear; antialiased when the width shrinks), ``(x - mean) / std``, the network, softmax;
* output ``"probabilities"``: float32 ``[N, C]``; the class names and the preprocessing are in
  the file's metadata (:func:`read_onnx_metadata`; every value JSON, written by
  :func:`tlcourse.onnx_metadata.write_onnx_metadata`).

The graph is :class:`~tlcourse.custom.app_model.ImageToProbs`, the module ``predict`` runs on a
whole decoded photo. Before anything is written, ONNX Runtime runs the graph on real images - as
given and resized so that every resize path runs (enlarged, shrunk, one side each), and on real
files at their full size (``full_size``, decoded as an app decodes them) - and its probabilities
must equal PyTorch's within ``atol``; otherwise :class:`ExportError` says by how much, and no
file appears. :mod:`tlcourse.custom.app_export` exports a model folder's iteration this way.

Why torch.onnx's dynamo exporter (the default in torch 2.x) and not the legacy TorchScript one:
only the dynamo path translates antialiased resizing (ONNX ``Resize`` with ``antialias=1``); the
legacy path stops at ``aten::_upsample_bilinear2d_aa``. TF "same" padding needs no dynamic pad
here, because the graph resizes to a fixed side before the body.

Example:
    >>> photos = load_dataset("photo")                                          # doctest: +SKIP
    >>> net = create_backbone("lite0-imagenet", num_classes=6, seed=0)          # doctest: +SKIP
    >>> rep = export_onnx(net, "lite0.onnx", photos.x[:4], photos.classes)       # doctest: +SKIP
    >>> print(rep.format())                                                      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import importlib
import io
import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..backbones import TransferNet
from ..errors import TlcourseError
from ..onnx_metadata import read_onnx_metadata, write_onnx_metadata
from .app_model import GraphPreprocess, ImageToProbs, as_batch, letterbox

INSTALL_HINT = "pip install 'tlcourse[export]'   (or: make setup)"
BENCH_BATCH = 32  # throughput is measured at this batch size (the "images/s at batch 32")
MIN_OPSET = 18  # ONNX Resize has antialias=1 from opset 18
_CHECK_MAX_RESIZED = 4  # resized variants use at most this many of the check images (time)


class ExportError(TlcourseError, RuntimeError):
    """The export cannot be made or did not pass its check; the message says what to do."""


@dataclass
class ExportReport:
    """What :func:`export_onnx` wrote and measured.

    Attributes:
        path: the ONNX file.
        size_bytes: its size.
        max_abs_diff: largest |ONNX Runtime - PyTorch| over every checked probability.
        atol: the tolerance it had to meet.
        opset: ONNX opset of the default domain.
        input_shape: the input's shape; strings are dynamic axes.
        input_size: the side the graph resizes to (the backbone's input size).
        checked_sizes: the (H, W) image sizes the check ran on.
        checked_images: how many images (over all sizes) the check compared.
        full_size: the real files the check ran at their full size (file, height, width,
            max_abs_diff), fed as an app feeds them.
        export_seconds: time to trace and translate the model.
        threads: CPU threads each runtime used for the timings (the same for both).
        repeats: timed runs of each measurement (after a warm-up); the median is reported.
        torch_ms_per_image, onnx_ms_per_image: latency at batch 1 (median of repeats).
        torch_images_per_s, onnx_images_per_s: throughput at batch :data:`BENCH_BATCH`.
    """

    path: Path
    size_bytes: int
    max_abs_diff: float
    atol: float
    opset: int
    input_shape: tuple[int | str, ...]
    input_size: int
    classes: list[str] = field(default_factory=list)
    checked_sizes: list[tuple[int, int]] = field(default_factory=list)
    checked_images: int = 0
    export_seconds: float = 0.0
    threads: int = 1
    repeats: int = 0
    torch_ms_per_image: float | None = None
    onnx_ms_per_image: float | None = None
    torch_images_per_s: float | None = None
    onnx_images_per_s: float | None = None
    full_size: list[dict] = field(default_factory=list)  # per real file: name, size, difference

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for ``--json``)."""
        return {**asdict(self), "path": str(self.path)}

    def format(self) -> str:
        """A few lines for a terminal or a notebook."""
        shape = "[" + ", ".join(str(d) for d in self.input_shape) + "]"
        sizes = ", ".join(f"{h}x{w}" for h, w in self.checked_sizes)
        lines = [
            f"wrote {self.path} ({self.size_bytes / 1e6:.1f} MB, opset {self.opset})",
            (f"input 'image' uint8 {shape} RGB, resized inside to {self.input_size} px; "
             f"output 'probabilities' [N, {len(self.classes)}]"),
            (f"parity: max |ONNX Runtime - PyTorch| = {self.max_abs_diff:.1e} "
             f"(limit {self.atol:.0e}) on {self.checked_images} images at {sizes}"),
            f"export took {self.export_seconds:.1f} s",
        ]
        if self.full_size:
            worst = max(self.full_size, key=lambda f: f["max_abs_diff"])
            lines.insert(3, f"parity at full size, decoded as the README says: max "
                            f"{worst['max_abs_diff']:.1e} on {len(self.full_size)} files up to "
                            f"{max(max(f['height'], f['width']) for f in self.full_size)} px "
                            f"(worst: {worst['file']})")
        if self.onnx_ms_per_image is not None and self.torch_ms_per_image is not None:
            threads = f"{self.threads} thread{'s' if self.threads != 1 else ''} each"
            lines.append(
                f"CPU, {threads}, median of {self.repeats} runs taken in turns: batch 1 "
                f"{self.onnx_ms_per_image:.1f} ms/image "
                f"ONNX Runtime vs {self.torch_ms_per_image:.1f} ms PyTorch; batch {BENCH_BATCH} "
                f"{self.onnx_images_per_s:.0f} vs {self.torch_images_per_s:.0f} images/s")
        return "\n".join(lines)


# The graph is app_model.ImageToProbs: letterbox -> Preprocess -> body -> head -> softmax
_GraphPreprocess, _Exportable = GraphPreprocess, ImageToProbs  # the names older code imports


def _reference(net: TransferNet, pad_square: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """The PyTorch model as the course runs it (TransferNet.forward, its own Preprocess)."""

    @torch.inference_mode()
    def probs(x: torch.Tensor) -> torch.Tensor:
        if pad_square:  # letterbox in the uint8 domain: white is 255, exactly 1.0 after / 255
            x = (letterbox(x.float() / 255) * 255).round().to(torch.uint8)
        return torch.softmax(net(x), dim=-1)

    return probs


# ---------------------------------------------------------------------------------------------
# Checks and timings
# ---------------------------------------------------------------------------------------------
def _require_onnx() -> tuple[Any, Any]:
    """Import onnx and onnxruntime (and onnxscript, which torch.onnx's exporter needs)."""
    missing = []
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ExportError(f"ONNX export needs {', '.join(missing)}, which is not installed: "
                          f"{INSTALL_HINT}")
    return importlib.import_module("onnx"), importlib.import_module("onnxruntime")


def check_sizes(input_size: int, given: tuple[int, int]) -> list[tuple[int, int]]:
    """The image sizes the parity check runs: as given, enlarged, shrunk and one side each way,
    so every resize path of the graph (plain, antialiased, mixed) is compared."""
    small, big = max(8, input_size // 2), input_size + input_size // 2
    sizes = [given, (small, small), (big, big), (big, small), (small, big)]
    return list(dict.fromkeys(sizes))  # keep order, drop repeats


def _resized(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == hw:
        return x
    y = F.interpolate(x.float(), size=hw, mode="bilinear", antialias=True, align_corners=False)
    return y.round().clamp(0, 255).to(torch.uint8)


def _time_in_turns(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each function over ``repeats`` runs, after one warm-up each (first runs
    allocate and pick kernels). The functions take turns (a, b, a, b, ...), so a load that comes
    and goes on a shared machine slows both alike instead of the one timed while it lasted."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


@contextmanager
def _torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _session(ort: Any, data: bytes, threads: int) -> Any:
    """An ONNX Runtime CPU session on ``threads`` threads for one operator and none beside it,
    as PyTorch runs its operators."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _check_input(net: Any, check_images: Any, classes: list[str], atol: float,
                 opset: int | None) -> None:
    if not atol >= 0:
        raise ExportError(f"atol must be a tolerance >= 0, not {atol}")
    if opset is not None and opset < MIN_OPSET:
        raise ExportError(f"opset {opset} cannot express the antialiased resize inside the graph: "
                          f"use opset {MIN_OPSET} or newer (or leave it out for the default)")
    if not isinstance(net, TransferNet):
        raise ExportError(f"export_onnx needs a TransferNet (from create_backbone or "
                          f"tlcourse.custom.load_model), not {type(net).__name__}")
    if (not isinstance(check_images, torch.Tensor) or check_images.dtype != torch.uint8
            or check_images.ndim != 4 or check_images.shape[1] != 3 or len(check_images) == 0):
        got = (f"{check_images.dtype} {list(check_images.shape)}"
               if isinstance(check_images, torch.Tensor) else type(check_images).__name__)
        raise ExportError(f"check_images must be real uint8 RGB images [N, 3, H, W] with N >= 1 "
                          f"(ImageData.x of a dataset); got {got}. Gray images: "
                          f"x.expand(-1, 3, -1, -1)")
    if len(classes) != net.head.out_features:
        raise ExportError(f"{len(classes)} class names for a head with {net.head.out_features} "
                          f"outputs: pass the classes the model was trained on")


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------
def export_onnx(net: TransferNet, path: str | Path, check_images: torch.Tensor,
                classes: list[str], opset: int | None = None, atol: float = 1e-5,
                letterbox_input: bool = True, benchmark: bool = True, repeats: int = 5,
                threads: int | None = None, progress: bool = True,
                full_size: Sequence[tuple[str, np.ndarray]] = (),
                metadata: dict[str, Any] | None = None) -> ExportReport:
    """Write ``net`` as one ONNX file (preprocessing and softmax inside) after checking it.

    Args:
        net: the trained classifier (any device, any mode; it is copied, never changed).
        path: where to write the ``.onnx`` file (its folder is created).
        check_images: real uint8 images ``[N, 3, S, S]`` for the parity check and the timings.
        classes: class names in the head's order (stored in the file's metadata).
        opset: ONNX opset, at least :data:`MIN_OPSET`; ``None`` is the exporter's default (20
            with torch 2.14).
        atol: largest |ONNX Runtime - PyTorch| allowed on any probability.
        letterbox_input: pad non-square images to a white square inside the graph, as the
            course's loaders do (a no-op for square images).
        benchmark: time both runtimes at batch 1 and :data:`BENCH_BATCH`, on the same
            ``threads``, taking turns, the median of ``repeats`` runs; ``False`` leaves the
            timings ``None``.
        threads: CPU threads for each runtime (``None``: torch's current setting).
        progress: show a progress bar.
        full_size: ``(name, pixels)`` of real files decoded as an app decodes them
            (:func:`~tlcourse.custom.images.decode_rgb`, uint8 ``[H, W, 3]`` at full size); each
            is run through both runtimes at its own size, as ``predict`` runs it.
        metadata: more entries for the file's metadata (plain JSON data; see
            :func:`tlcourse.onnx_metadata.write_onnx_metadata`).

    Returns:
        An :class:`ExportReport`; ``print(report.format())``.

    Raises:
        ExportError: onnx/onnxruntime missing (the message says how to install them), bad
            arguments, an export failure, or a parity check that failed (with the measured
            difference). Nothing is written then.
    """
    _check_input(net, check_images, classes, atol, opset)
    onnx, ort = _require_onnx()
    path = Path(path)
    model = copy.deepcopy(net).cpu().eval()  # the caller's net keeps its device and mode
    check_images = check_images.cpu()
    graph = _Exportable(model, letterbox_input).eval()
    reference = _reference(model, letterbox_input)
    bar = tqdm(total=3 if benchmark else 2, desc=f"export {net.name or 'model'}",
               disable=not progress)

    # 1. trace and translate; every axis but the channels is dynamic
    dims = torch.export.Dim
    dynamic = {"image": {0: dims("batch", min=1, max=4096), 2: dims("height", min=8, max=16384),
                         3: dims("width", min=8, max=16384)}}
    t = time.perf_counter()
    try:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            example = check_images[[0, -1]]  # batch 2: an example of 1 would fix N to 1
            program = torch.onnx.export(graph, (example,), dynamo=True,
                                        input_names=["image"], output_names=["probabilities"],
                                        dynamic_shapes=dynamic, opset_version=opset,
                                        verbose=False)
        proto = program.model_proto
    except Exception as e:  # any exporter failure ends the same way
        bar.close()
        raise ExportError(f"torch.onnx could not export {net.name or 'the model'}: "
                          f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    export_seconds = time.perf_counter() - t
    pre = model.preprocess
    meta = {
        "classes": list(classes),
        "backbone": net.name,
        "input": "image: uint8 RGB [N, 3, H, W], any N, H, W",
        "output": "probabilities: float32 [N, C], softmax over classes",
        "preprocessing": {
            "letterbox": "pad to a centred white square" if letterbox_input else "none",
            "scale": "uint8 / 255", "size": pre.size,
            "resize": "bilinear, half-pixel; antialiased when the width shrinks",
            "mean": pre.mean.flatten().tolist() if pre.normalize else None,
            "std": pre.std.flatten().tolist() if pre.normalize else None},
        **(metadata or {}),
    }
    write_onnx_metadata(proto, meta)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    bar.update()

    # 2. parity on real images at every resize path, before anything is written
    threads = threads or torch.get_num_threads()
    sizes = check_sizes(pre.size, tuple(check_images.shape[-2:]))
    diffs, n_checked, full = [], 0, []
    try:
        session = _session(ort, data, threads)

        def run_onnx(x: torch.Tensor) -> np.ndarray:
            return session.run(["probabilities"], {"image": x.numpy()})[0]

        for i, hw in enumerate(sizes):
            x = check_images if i == 0 else _resized(check_images[:_CHECK_MAX_RESIZED], hw)
            diffs.append(np.abs(run_onnx(x) - reference(x).numpy()).max())
            n_checked += len(x)
        with torch.inference_mode():  # real files at full size, as predict runs them
            for name, rgb in full_size:
                x = as_batch(rgb)
                d = float(np.abs(run_onnx(x) - graph(x).numpy()).max())
                full.append({"file": name, "height": int(x.shape[2]), "width": int(x.shape[3]),
                             "max_abs_diff": d})
    except Exception as e:  # ONNX Runtime refusing the file: too old, or an op it lacks
        bar.close()
        raise ExportError(f"ONNX Runtime {ort.__version__} could not run the exported file "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                          f"nothing written. Update it: pip install -U 'tlcourse[export]'") from e
    diff = float(np.max(diffs + [f["max_abs_diff"] for f in full]))  # NaN propagates and fails
    bar.update()
    if not diff <= atol:  # also catches NaN
        bar.close()
        raise ExportError(f"ONNX Runtime's probabilities differ from PyTorch's by up to {diff:.2e} "
                          f"(limit {atol:.0e}) on {n_checked} check images and {len(full)} files "
                          f"at full size; nothing written to "
                          f"{path}. The exported graph does not compute what the model computes.")

    # 3. timings (optional), then write: temp file in the same folder, renamed into place
    rep = ExportReport(path, len(data), diff, atol, _opset(proto), ("N", 3, "H", "W"), pre.size,
                       list(classes), sizes, n_checked, export_seconds, threads, full_size=full)
    if benchmark:
        one = check_images[:1]
        batch = check_images[torch.arange(BENCH_BATCH) % len(check_images)]
        rep.repeats = max(1, repeats)
        with _torch_threads(threads):  # the session was made with the same count
            t1 = _time_in_turns({"torch": lambda: reference(one), "onnx": lambda: run_onnx(one)},
                                rep.repeats)
            tb = _time_in_turns({"torch": lambda: reference(batch),
                                 "onnx": lambda: run_onnx(batch)}, rep.repeats)
        rep.torch_ms_per_image, rep.onnx_ms_per_image = 1e3 * t1["torch"], 1e3 * t1["onnx"]
        rep.torch_images_per_s = BENCH_BATCH / tb["torch"]
        rep.onnx_images_per_s = BENCH_BATCH / tb["onnx"]
        bar.update()
    bar.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder: the rename is atomic
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return rep


def _opset(proto: Any) -> int:
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))


__all__ = ["ExportError", "ExportReport", "export_onnx", "letterbox", "read_onnx_metadata"]
