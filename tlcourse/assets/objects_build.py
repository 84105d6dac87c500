"""The object set's Debian build (maintainer only): ``tlcourse assets --rebuild-objects``.

Builds the photos (``tuxpaint-stamps-default``) and clip art (``openclipart-png``) of the same
classes from their Debian packages: thumbnails composited on white, duplicates removed by
decoded pixels (a copy on each side of a split would leak a test image into training), with a
manifest of checksums and the licence texts, and checks that the build reproduces the committed
archive ``datasets/objects-v2.zip`` that learners unpack (:mod:`tlcourse.assets.provisioning`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from .paths import (
    _DEBS,
    OBJECT_CLASSES,
    OBJECTS_ARCHIVE,
    OBJECTS_MANIFEST_VERSION,
    OBJECTS_ORIGIN,
    AssetError,
    data_dir,
    sha256_file,
)
from .provisioning import _apt_download, _dpkg_extract, _install_dir

_LICENSE_FILES = {  # copied into objects/LICENSES/ by the Debian build
    "GPL-2": "/usr/share/common-licenses/GPL-2",
    **{f"{p}.copyright": f"usr/share/doc/{p}/copyright" for p, _ in _DEBS.values()},
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same files give the same archive bytes
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
