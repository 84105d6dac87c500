"""ONNX export (tlcourse.custom.export): the file's probabilities equal PyTorch's on images the export
never saw, its metadata names the classes, and a failed check or a missing runtime leaves no
file and says what to do."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tlcourse.backbones import create_backbone
from tlcourse.custom.export import ExportError, _GraphPreprocess, export_onnx, read_onnx_metadata
from tlcourse.data import load_dataset

needs_onnx = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime", "onnxscript")),
    reason="onnx/onnxruntime/onnxscript not installed: pip install 'tlcourse[export]'")

CHECK = list(range(0, 186, 47))  # 4 photos for the export's own check
UNSEEN = list(range(5, 186, 16))  # 12 other photos, every class, for the tests' comparison


@pytest.fixture(scope="module")
def photos():
    return load_dataset("photo")


def _letterboxed(x: torch.Tensor) -> torch.Tensor:
    """Pad uint8 images to a centred white square, independently of tlcourse.custom.export."""
    h, w = x.shape[-2:]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return F.pad(x, (left, side - w - left, top, side - h - top), value=255)


def _onnx_vs_torch(path, net, x: torch.Tensor) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"image": x.numpy()})[0]
    with torch.inference_mode():
        want = torch.softmax(net.eval()(_letterboxed(x)), dim=-1).numpy()
    assert got.shape == want.shape
    return float(np.abs(got - want).max())


def _unseen(photos) -> list[torch.Tensor]:
    """Held-out photos as stored (128 px), shrunk, and non-square (letterboxed in the graph)."""
    x = photos.x[UNSEEN]
    return [x, F.interpolate(x.float(), size=(300, 200), mode="bilinear").round().byte(),
            F.interpolate(x.float(), size=(64, 96), mode="bilinear").round().byte()]


@pytest.fixture(scope="module")
def lite0(photos, tmp_path_factory):
    net = create_backbone("lite0-imagenet", num_classes=6, seed=0)
    path = tmp_path_factory.mktemp("onnx") / "lite0.onnx"
    report = export_onnx(net, path, photos.x[CHECK], photos.classes, benchmark=False,
                         progress=False)
    return net, path, report


@needs_onnx
@pytest.mark.slow  # ~10-20 s: traces and translates EfficientNet-Lite0
def test_lite0_matches_pytorch_on_unseen_photos(lite0, photos):
    net, path, report = lite0
    assert report.max_abs_diff <= 1e-5
    assert report.checked_images == 4 + 4 * 4  # as given, then 4 resized sizes
    diffs = [_onnx_vs_torch(path, net, x) for x in _unseen(photos)]
    assert max(diffs) <= 1e-5, diffs
    assert sorted(p.name for p in path.parent.iterdir()) == ["lite0.onnx"]  # one file, no .data
    assert report.size_bytes == path.stat().st_size > 10e6  # 3.4M float32 weights inside


@needs_onnx
@pytest.mark.slow
def test_metadata_holds_classes_and_preprocessing(lite0, photos):
    _, path, report = lite0
    meta = read_onnx_metadata(path)
    assert meta["classes"] == photos.classes == report.classes
    assert meta["backbone"] == "lite0-imagenet"
    assert meta["preprocessing"]["size"] == 224
    assert meta["preprocessing"]["mean"] == meta["preprocessing"]["std"] == [0.5, 0.5, 0.5]
    assert report.input_shape == ("N", 3, "H", "W")


@needs_onnx
def test_small_cnn_export_parity_and_timings(photos, tmp_path):
    net = create_backbone("small-cnn", num_classes=6, seed=1).train()
    path = tmp_path / "out" / "small.onnx"
    report = export_onnx(net, path, photos.x[CHECK], photos.classes, repeats=1, progress=False)
    assert net.training  # the caller's model is copied, not switched to eval
    assert max(_onnx_vs_torch(path, net, x) for x in _unseen(photos)) <= 1e-5
    assert report.onnx_ms_per_image > 0 and report.onnx_images_per_s > 0
    assert report.opset >= 18  # antialiased Resize needs opset 18
    text = report.format()
    assert "images/s" in text and "parity" in text and str(path) in text


@needs_onnx
def test_failed_parity_raises_and_leaves_the_old_file(photos, tmp_path, monkeypatch):
    """A graph that forgets the normalisation must not replace a good file."""
    net = create_backbone("small-cnn", num_classes=6, seed=1)
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous export")
    original = _GraphPreprocess.forward

    def no_normalisation(self, x):
        self.pre.normalize = False
        try:
            return original(self, x)
        finally:
            self.pre.normalize = True

    monkeypatch.setattr(_GraphPreprocess, "forward", no_normalisation)
    with pytest.raises(ExportError, match=r"differ from PyTorch's by up to \d\.\d+e-0\d"):
        export_onnx(net, path, photos.x[CHECK], photos.classes, benchmark=False, progress=False)
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temp file left


@needs_onnx
def test_tolerance_zero_fails_and_writes_nothing(photos, tmp_path):
    """Two runtimes never agree to the last bit through a conv net: atol=0 must fail."""
    net = create_backbone("small-cnn", num_classes=6, seed=2)
    with pytest.raises(ExportError,
                       match=r"by up to [1-9]\.\d+e-\d+ \(limit 0e\+00\).*nothing written"):
        export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK], photos.classes, atol=0.0,
                    benchmark=False, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_onnxruntime_says_how_to_install(photos, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    net = create_backbone("small-cnn", num_classes=6, seed=0)
    with pytest.raises(ExportError, match=r"onnxruntime.*pip install 'tlcourse\[export\]'"):
        export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK], photos.classes)
    assert list(tmp_path.iterdir()) == []


def test_bad_check_images_and_classes_are_explained(photos, tmp_path):
    net = create_backbone("small-cnn", num_classes=6, seed=0)
    with pytest.raises(ExportError, match=r"uint8 RGB images \[N, 3, H, W\].*torch.float32"):
        export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK].float() / 255, photos.classes)
    with pytest.raises(ExportError, match="5 class names for a head with 6 outputs"):
        export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK], photos.classes[:5])
    with pytest.raises(ExportError, match="use opset 18 or newer"):
        export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK], photos.classes, opset=17)
    assert list(tmp_path.iterdir()) == []


def test_timings_take_turns_and_the_median(monkeypatch):
    """Both runtimes are timed the same way: turns taken (a load that comes and goes slows
    both alike), one warm-up each, the median of the repeats."""
    from tlcourse.custom import export

    calls, clock = [], iter([0, 1, 1, 4, 4, 5, 5, 105, 105, 106, 106, 108])
    monkeypatch.setattr(export.time, "perf_counter", lambda: next(clock))
    medians = export._time_in_turns({"torch": lambda: calls.append("torch"),
                                     "onnx": lambda: calls.append("onnx")}, repeats=3)
    assert calls == ["torch", "onnx"] + ["torch", "onnx"] * 3  # warm-ups, then in turns
    assert medians == {"torch": 1, "onnx": 3}  # torch 1, 1, 1; onnx 3, 100, 2: the slow one out


@needs_onnx
def test_both_runtimes_are_timed_on_the_same_threads(photos, tmp_path, monkeypatch):
    from tlcourse.custom import export

    torch_threads, ort_threads = [], []
    real_reference, real_session = export._reference, export._session

    def reference(*args):
        probs = real_reference(*args)
        return lambda x: (torch_threads.append(torch.get_num_threads()), probs(x))[1]

    def session(ort, data, threads):
        ort_threads.append(threads)
        return real_session(ort, data, threads)

    monkeypatch.setattr(export, "_reference", reference)
    monkeypatch.setattr(export, "_session", session)
    net = create_backbone("small-cnn", num_classes=6, seed=1)
    before = torch.get_num_threads()
    report = export_onnx(net, tmp_path / "m.onnx", photos.x[CHECK], photos.classes, threads=1,
                         repeats=3, progress=False)
    assert torch.get_num_threads() == before  # restored
    assert ort_threads == [1] and set(torch_threads[-8:]) == {1}  # the timed runs: 2 x (1 + 3)
    assert report.threads == 1 and report.repeats == 3
    assert "1 thread each, median of 3 runs" in report.format()
