"""An ONNX file an app can trust (issue 27): fed as the model folder's README says, the exported
file gives the probabilities `predict` gives, within 1e-4, on a 2,000+ px JPEG, a PNG with
transparency and an EXIF-rotated photo; its metadata says what an app needs; a later train makes
it stale and `predict` says so; `report` rescores an iteration at another threshold."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse.assets import SAMPLE_IMAGES, data_dir
from tlcourse.cli import main
from tlcourse.custom.app_export import OnnxModel, export_iteration, stale_exports
from tlcourse.custom.classifier import TrainSettings, load_model, train_model
from tlcourse.custom.metrics import report
from tlcourse.onnx_metadata import OnnxMetadataError, read_onnx_metadata, write_onnx_metadata

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxruntime", "onnxscript")),
    reason="onnx/onnxruntime/onnxscript not installed: pip install 'tlcourse[export]'")


def _photo(name: str) -> Image.Image:
    return Image.open(data_dir() / SAMPLE_IMAGES / name).convert("RGB")


def _hard_files(root: Path) -> dict[str, Path]:
    """The files the issue found `predict` and the ONNX file disagreeing on."""
    root.mkdir()
    big = _photo("bird/crowned_crane.jpg").resize((2400, 1800), Image.Resampling.BICUBIC)
    big.save(root / "big.jpg", quality=92)
    rgba = np.asarray(_photo("flower/anemone_red.jpg").resize((640, 560)).convert("RGBA")).copy()
    yy, xx = np.mgrid[:560, :640]
    rgba[..., 3] = np.where((xx - 320) ** 2 + (yy - 280) ** 2 < 220 ** 2, 255, 0)
    rgba[:180, :, 3] //= 3  # half-transparent band
    rgba[..., :3][rgba[..., 3] == 0] = 0  # black behind the transparency, as exporters leave it
    Image.fromarray(rgba, "RGBA").save(root / "alpha.png")
    upright = _photo("bird/owl.jpg").resize((1600, 2200), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side; the viewer turns it 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(root / "rotated.jpg", quality=92, exif=exif)
    return {p.name: p for p in root.iterdir()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    src = data_dir() / SAMPLE_IMAGES
    if not src.is_dir():
        pytest.skip(f"{src} is not provisioned: run tlcourse assets --provision")
    tmp = tmp_path_factory.mktemp("app")
    photos = tmp / "photos"
    for cls in ("bird", "flower", "vehicle"):
        (photos / cls).mkdir(parents=True)
        for f in sorted((src / cls).glob("*.jpg"))[:6]:
            shutil.copy(f, photos / cls / f.name)
    files = _hard_files(tmp / "hard")
    model = tmp / "model"
    train_model(photos, model, TrainSettings(method="probe"), progress=False)
    rep = export_iteration(model, check=tmp / "hard", benchmark=False, progress=False)
    return model, rep, files, photos


def test_the_file_and_predict_agree_on_hard_files_fed_as_the_readme_says(exported):
    model, rep, files, _ = exported
    onnx_path = model / "model-iter1.onnx"
    assert rep.path == onnx_path and sorted(p.name for p in model.glob("*.onnx")) == [
        "model-iter1.onnx"]
    assert {f["file"] for f in rep.full_size} == set(files)  # the export's own check ran on them
    assert max(f["height"] * f["width"] for f in rep.full_size) == 2400 * 1800  # at full size
    # The README's own Python recipe, run as written, feeds the file
    readme = (model / "README.md").read_text(encoding="utf-8")
    assert "agree within 1e-04" in readme and rep.max_abs_diff <= rep.atol == 1e-4
    code = re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)
    code = code.replace('"model-iter1.onnx"', repr(str(onnx_path)))
    app: dict = {}
    exec(code.split("session = ")[0], app)  # noqa: S102 - decode() as the README defines it
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    torch_model = load_model(model)
    by_predict = {Path(r.path).name: dict(r.top) for r in torch_model.predict(list(files.values()),
                                                                                top_k=3)}
    for name, path in files.items():
        p_app = session.run(["probabilities"], {"image": app["decode"](path)})[0][0]
        p_predict = np.array([by_predict[name][c] for c in torch_model.classes])
        assert np.abs(p_app - p_predict).max() <= 1e-4, name
    # a naive app (no EXIF turn, no white background) sees another picture: the rules matter
    naive = np.asarray(Image.open(files["rotated.jpg"]).convert("RGB")).transpose(2, 0, 1)[None]
    assert naive.shape[2:] == (1600, 2200) != app["decode"](files["rotated.jpg"]).shape[2:]


def test_metadata_carries_what_an_app_needs(exported):
    model = exported[0]
    meta = read_onnx_metadata(model / "model-iter1.onnx")
    info = json.loads((model / "iteration-001" / "iteration.json").read_text())
    assert meta["classes"] == ["bird", "flower", "vehicle"]
    assert meta["iteration"] == 1 and meta["threshold"] == info["threshold"]
    assert meta["data_hash"] == info["data_hash"]
    assert "exif_transpose" in meta["decoding"]["orientation"]
    assert "white" in meta["decoding"]["alpha"]
    assert meta["input_layout"].startswith("uint8 RGB [N, 3, H, W]")
    assert meta["preprocessing"]["size"] == 224


def test_a_later_train_makes_the_export_stale_and_predict_says_so(exported, tmp_path, capsys):
    model, _, files, photos = exported
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    train_model(photos, copy, TrainSettings(method="probe", seed=1), progress=False)
    assert len(stale_exports(copy)) == 1 and "iteration 1" in stale_exports(copy)[0]
    assert main(["predict", str(copy), str(files["big.jpg"])]) == 0
    err = capsys.readouterr().err
    assert "model-iter1.onnx holds iteration 1, not the current iteration 2" in err
    assert "tlcourse export" in err
    assert OnnxModel(copy / "model-iter1.onnx").stale() is not None
    assert main(["predict", str(copy / "model-iter1.onnx"), str(files["alpha.png"])]) == 0
    out, err = capsys.readouterr()
    assert "alpha.png" in out and "its model folder is at iteration 2" in err
    assert stale_exports(model) == [] and OnnxModel(model / "model-iter1.onnx").stale() is None


def test_report_rescores_an_iteration_at_another_threshold(exported, capsys):
    model, _, _, _ = exported
    saved = load_model(model).evaluation()
    assert main(["report", str(model), "--threshold", "0.99", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = report(saved["probs"], saved["y"], ["bird", "flower", "vehicle"], 0.99).to_dict()
    assert got["iteration"] == 1 and got["threshold"] == 0.99
    assert got["unknown_share"] == want["unknown_share"] > 0  # 99 % leaves some unknown
    assert main(["report", str(model), "--threshold", "0"]) == 0
    text = capsys.readouterr().out
    assert "threshold 0 %" in text and "nothing retrained" in text


def test_metadata_writer_takes_any_plain_dict_and_reads_back_as_json(tmp_path):
    """The writer knows nothing about images (chapter 9's text export reuses it)."""
    import onnx

    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    proto = onnx.helper.make_model(graph)
    meta = {"classes": ["négatif", "positif"], "threshold": 0.5, "iteration": 2,
            "tokenizer": {"lowercase": True, "max_len": 128}, "note": "a plain string"}
    write_onnx_metadata(proto, meta)
    write_onnx_metadata(proto, {"iteration": 3})  # a key written again replaces its value
    onnx.save(proto, tmp_path / "t.onnx")
    assert read_onnx_metadata(tmp_path / "t.onnx") == {**meta, "iteration": 3}
    with pytest.raises(OnnxMetadataError, match="not plain JSON"):
        write_onnx_metadata(proto, {"weights": object()})
    with pytest.raises(OnnxMetadataError, match="not plain JSON"):
        write_onnx_metadata(proto, {"threshold": float("nan")})
    (tmp_path / "bad.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(OnnxMetadataError, match="export it again"):
        read_onnx_metadata(tmp_path / "bad.onnx")
