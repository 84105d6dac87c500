"""A "none of these" class (Custom Vision's Negative tag): trained on, reported apart, predicted
"unknown", and its effect on out-of-class images measured on the same split without it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse.assets import SAMPLE_IMAGES, data_dir, write_sample_folder
from tlcourse.cli import main
from tlcourse.custom import check_folder
from tlcourse.custom.classifier import load_model


@pytest.fixture(scope="module")
def folder_with_negatives(tmp_path_factory) -> Path:
    """bird and vehicle photos, 10 each, and 10 photos of neither (fruit, mammal) in negative/."""
    src = data_dir() / SAMPLE_IMAGES
    if not src.is_dir():
        pytest.skip(f"{src} is not provisioned: run tlcourse assets --provision")
    root = tmp_path_factory.mktemp("neg") / "photos"
    picks = {"bird": [("bird", 10)], "vehicle": [("vehicle", 10)],
             "negative": [("fruit", 5), ("mammal", 5)]}
    for cls, sources in picks.items():
        (root / cls).mkdir(parents=True)
        for name, n in sources:
            for f in sorted((src / name).glob("*.jpg"))[:n]:
                shutil.copy(f, root / cls / f"{name}-{f.name}")
    return root


@pytest.mark.slow
def test_negative_folder_is_none_of_these(folder_with_negatives, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", str(folder_with_negatives), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    # reported apart: the per-class table and the means know two classes
    assert "· 2 classes" in text and "(+ 2 negative images, reported apart)" in text
    assert "Negative images ('negative', none of these; not in the means)" in text
    assert "Without the negative class (same split, seed and training images)" in text
    assert not any(line.startswith("negative ") for line in text.splitlines())
    info = json.loads((out / "iteration-001" / "iteration.json").read_text())
    assert info["negative"] == "negative" and "negative" in info["classes"]
    m = info["metrics"]
    assert m["classes"] == ["bird", "vehicle"] and m["negative"]["images"] == 2
    without = m["negative"]["without"]
    assert without["images"] == 2 and 0 <= without["called"] <= 2
    # predicted "unknown", never "negative": the model was fit on these very images
    model = load_model(out)
    labels = [r.label for r in model.predict([folder_with_negatives / "negative"])]
    assert "negative" not in labels and labels.count("unknown") >= 8
    birds = [r.label for r in model.predict([folder_with_negatives / "bird"])]
    assert birds.count("bird") >= 8


def test_sample_folder_gets_negatives_from_fashion_mnist(tmp_path):
    """The sample folder's negative/ holds Fashion-MNIST clothing (classes the photos do not
    use), 3 of each of its 10 classes; a folder written before them is rebuilt with them."""
    raw = data_dir() / "FashionMNIST" / "raw"
    if not (raw / "t10k-images-idx3-ubyte").is_file():
        pytest.skip(f"{raw} is not provisioned: run tlcourse assets --provision")
    src = tmp_path / "photo"
    for c in ("bird", "fruit"):
        (src / c).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (40, 30), (40 * i, 100, 200 if c == "bird" else 0)).save(
                src / c / f"img{i}.png")
    dest = write_sample_folder(tmp_path / "sample-images", src)  # the old layout: no negatives
    assert not (dest / "negative").exists()
    write_sample_folder(dest, src, raw)
    negatives = sorted(p.name for p in (dest / "negative").iterdir())
    assert len(negatives) == 30 and "fashion-bag-1.jpg" in negatives
    with Image.open(dest / "negative" / "fashion-bag-1.jpg") as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (112, 112))
        assert 20 < np.asarray(im).mean() < 200  # a picture, not a blank square
    report = check_folder(dest, progress=False)
    assert report.ok and report.counts["negative"] == 30
