"""Your own images (chapter 7): check -> train -> iterations -> predict -> export, through the
real ``tlcourse`` command on real photos, plus the model folder's refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse.assets import SAMPLE_IMAGES, data_dir
from tlcourse.cli import main
from tlcourse.custom.classifier import (
    FORMAT,
    FolderError,
    ModelError,
    TrainSettings,
    _holdout_per_class,
    load_model,
    train_model,
)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    """Three classes of real photos, 6 / 7 / 9 of each: too few for a holdout in one class."""
    src = data_dir() / SAMPLE_IMAGES
    if not src.is_dir():
        pytest.skip(f"{src} is not provisioned: run tlcourse assets --provision")
    root = tmp_path_factory.mktemp("own") / "my photos"
    for cls, n in (("bird", 6), ("flower", 7), ("vehicle", 9)):
        (root / cls).mkdir(parents=True)
        for f in sorted((src / cls).glob("*.jpg"))[:n]:
            shutil.copy(f, root / cls / f.name)
    return root


def test_holdout_needs_two_scored_and_three_trained_images_per_class():
    assert _holdout_per_class([10, 20], 0.2) == [2, 4]
    assert _holdout_per_class([6, 20], 0.2) is None  # round(1.2) = 1 scored image: too few
    assert _holdout_per_class([8, 8], 0.5) == [4, 4]


def test_train_predict_and_iterations_on_a_small_folder(small_folder, tmp_path, capsys):
    before = _snapshot(small_folder)
    out = tmp_path / "model"
    first = train_model(small_folder, out, TrainSettings(seed=0), progress=False)
    # bird has 6 images: round(6 x 0.2) = 1 < 2, so every image is scored by cross-validation
    assert first.evaluation == "cross-validation" and first.n_eval == 22
    assert first.method == "probe" and "auto" in first.method_reason
    assert first.report.accuracy > 0.6  # real ImageNet features separate birds from vehicles
    second = train_model(small_folder, out, TrainSettings(seed=1, threshold=0.3), progress=False)
    assert second.number == 2 and second.features_cached  # the backbone did not run again
    assert second.threshold == 0.3
    assert _snapshot(small_folder) == before  # the learner's folder is only read

    assert main(["iterations", str(out)]) == 0
    table = capsys.readouterr().out
    assert "cross-validation" in table and "2*" in table and "(cached)" in table

    # predict: a folder with a corrupt file among real photos reports it and goes on
    mixed = tmp_path / "new"
    mixed.mkdir()
    shutil.copy(next((small_folder / "vehicle").glob("*.jpg")), mixed / "car.jpg")
    shutil.copy(next((small_folder / "bird").glob("*.jpg")), mixed / "bird.jpg")
    (mixed / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    csv = tmp_path / "pred.csv"
    assert main(["predict", str(out), str(mixed), "--csv", str(csv)]) == 1  # one file failed
    captured = capsys.readouterr()
    assert "broken.jpg: cannot read" in captured.err
    assert "2 classified, 1 unreadable" in captured.err
    assert "car.jpg:" in captured.out and "bird.jpg:" in captured.out
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("path,label,class_1,probability_1") and len(lines) == 4
    # a threshold of 0.99 leaves most images unknown
    rows = load_model(out).predict([mixed], threshold=0.99)
    assert {r.label for r in rows if not r.error} <= {"unknown", "bird", "vehicle", "flower"}
    # the library refuses what the command line refuses: no top-0 list, no iteration 0
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        load_model(out).predict([mixed], top_k=0)
    with pytest.raises(ModelError, match="no iteration 0"):
        load_model(out, iteration=0)


def test_a_folder_with_blocking_problems_is_refused_with_every_reason(tmp_path, capsys):
    root = tmp_path / "photos"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 50 * i, np.uint8)).save(root / "cats" / f"{i}.png")
    with pytest.raises(FolderError, match="cats"):
        train_model(root, tmp_path / "m", progress=False)
    assert not (tmp_path / "m").exists()  # nothing written for a refused train
    assert main(["train", str(root), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "cats" in err and "dogs" in err and "Traceback" not in err


def test_model_folders_of_another_kind_are_refused_with_what_to_do(tmp_path, capsys):
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.json").write_text(json.dumps({"format": "tlcourse-model/0", "current": 1}))
    with pytest.raises(ModelError, match="another version of tlcourse.*Retrain"):
        load_model(old)
    assert main(["predict", str(old), "x.jpg"]) == 1
    assert "another version" in capsys.readouterr().err
    stray = tmp_path / "notes"
    stray.mkdir()
    (stray / "todo.txt").write_text("mine")
    with pytest.raises(ModelError, match="not a tlcourse model"):
        train_model(tmp_path / "photos", stray, progress=False)
    assert (stray / "todo.txt").read_text() == "mine"  # never overwritten
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["iterations", str(a_file)]) == 1
    assert "is a file" in capsys.readouterr().err
    assert main(["iterations", str(tmp_path / "missing")]) == 1
    assert "train a model first" in capsys.readouterr().err
    assert FORMAT.startswith("tlcourse-model/")


@pytest.mark.slow
def test_check_train_predict_export_on_the_sample_folder(tmp_path, capsys):
    """The Done-means path: the whole workflow through the command line, the ONNX file checked
    against PyTorch with ONNX Runtime before it is written."""
    pytest.importorskip("onnxruntime", reason="pip install 'tlcourse[export]' (make setup does)")
    folder = data_dir() / SAMPLE_IMAGES
    if not folder.is_dir():
        pytest.skip(f"{folder} is not provisioned: run tlcourse assets --provision")
    model = tmp_path / "model"
    assert main(["check", str(folder)]) == 0
    assert "vehicle" in capsys.readouterr().out
    assert main(["train", str(folder), "--out", str(model), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "holdout" in out and "mAP" in out
    info = json.loads((model / "iteration-001" / "iteration.json").read_text())
    assert info["evaluation"] == "holdout" and info["metrics"]["accuracy"] > 0.7
    some = sorted((folder / "fruit").glob("*.jpg"))[:2]
    assert main(["predict", str(model), *map(str, some)]) == 0
    assert main(["export", str(model), "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert (model / "model-iter1.onnx").is_file() and "parity: max" in out
    assert "parity at full size" in out and (model / "README.md").is_file()


def test_a_model_folder_inside_the_photo_folder_is_refused_before_any_work(tmp_path, capsys):
    photos = tmp_path / "photos"
    (photos / "cats").mkdir(parents=True)
    (photos / "cats" / "a.jpg").write_bytes(b"not checked: the refusal comes first")
    (tmp_path / "link").symlink_to(photos)
    for out in (photos / "model", photos / "cats" / "m", tmp_path / "link" / "model", photos):
        with pytest.raises(ModelError, match="inside the photo folder"):
            train_model(photos, out, progress=False)
        assert main(["train", str(photos), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "inside the photo folder" in err and "only read" in err
    assert sorted(p.name for p in photos.rglob("*")) == ["a.jpg", "cats"]  # nothing written


def test_cross_validation_scores_each_fold_at_a_threshold_its_scored_images_never_chose(
        small_folder, tmp_path, monkeypatch):
    """Nested: a fold's threshold is chosen on out-of-fold predictions of its training folds
    only; the saved model's threshold is chosen on every image's out-of-fold prediction."""
    from tlcourse.custom import classifier

    chosen_on = []  # the label count of every threshold choice
    real_choose = classifier.choose_threshold

    def spy(probs, y, *args, **kwargs):
        chosen_on.append(len(y))
        return real_choose(probs, y, *args, **kwargs)

    monkeypatch.setattr(classifier, "choose_threshold", spy)
    it = train_model(small_folder, tmp_path / "m", TrainSettings(seed=0), progress=False)
    assert it.evaluation == "cross-validation" and len(it.folds) == 5
    n = it.n_eval  # 22: every image scored once
    assert sum(f["scored"] for f in it.folds) == n
    for f in it.folds:  # each fold's threshold came from its training folds: n - scored images
        assert f["threshold_on"] == n - f["scored"] and f["fit_on"] == n - f["scored"]
    assert chosen_on == [n - f["scored"] for f in it.folds] + [n]  # the last: the saved model's
    # the report judged each image at its own fold's threshold ...
    fold_t = {f["threshold"] for f in it.folds}
    assert set(it.report.image_thresholds.tolist()) == fold_t
    # ... and the saved threshold is the choice on all out-of-fold predictions, said so
    assert it.threshold == real_choose(it.eval_probs, it.eval_y)
    assert it.n_train == n and it.n_threshold == n
    assert "out-of-fold predictions of all 22 images" in it.threshold_reason
    assert any("its own training folds" in note for note in it.report.notes)


def test_n_train_counts_the_images_the_network_was_fit_on(small_folder, tmp_path, monkeypatch):
    """Fine-tuning with a holdout keeps a validation part out of the fit to pick the threshold:
    n_train counts the images fit on, n_threshold the ones that picked the threshold."""
    from tlcourse.backbones import create_backbone
    from tlcourse.custom import classifier

    fit_sizes = []

    def fake_finetune(name, size, data, settings):  # the real one takes minutes on a CPU
        fit_sizes.append(len(data))
        return create_backbone(name, len(data.classes), input_size=size, seed=0).eval()

    monkeypatch.setattr(classifier, "_finetune", fake_finetune)
    it = train_model(small_folder, tmp_path / "m", TrainSettings(method="finetune", holdout=0.3),
               progress=False)
    assert it.evaluation == "holdout" and it.n_eval == 2 + 2 + 3
    assert fit_sizes == [it.n_train]  # the saved network is the one fit on n_train images
    assert it.n_train + it.n_threshold == 22 - it.n_eval  # validation: the rest of training
    assert it.n_threshold == 3  # one validation image per class of 4, 5 and 6
    assert f"{it.n_threshold} training images" in it.threshold_reason
