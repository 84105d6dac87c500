"""Chapter 7's learner-style sample folder, written from the course's own object photos.

``<data dir>/sample-images/<class>/*.jpg``: the photos as JPEGs in class folders, so that
``tlcourse check`` and ``tlcourse train`` run offline on the kind of folder a learner brings.
Beside them, ``negative/`` holds pictures of none of the six classes (Custom Vision's Negative
tag): :data:`NEGATIVES_PER_CLASS` Fashion-MNIST test images of each clothing class (shoes,
bags, shirts …), a course data set whose classes the photos do not use, enlarged to
:data:`NEGATIVE_SIZE` px.
Provisioning writes it (:mod:`tlcourse.assets.provisioning`); it reads only files this course
ships and checksums, so it opens them with Pillow directly (a learner's own folder is read by
:mod:`tlcourse.custom.folder`, which trusts nothing).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .paths import PROVISION_CMD, AssetError

_SAMPLE_MARKER = ".tlcourse-sample.json"  # hidden, so check_folder ignores it
NEGATIVE = "negative"  # the folder of images of no class (tlcourse.custom.negative)
NEGATIVES_PER_CLASS = 3  # Fashion-MNIST test images per clothing class: 30 negatives
NEGATIVE_SIZE = 112  # px: 28 px enlarged 4x, so they are not far smaller than the photos
_FASHION = ("tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
            "boot")
#: Fashion-MNIST test-set indices per class: in test-set order, the first three that are not
#: near-duplicates of one picked before (the first three include look-alike shoes, which
#: tlcourse.custom.duplicates flags; these are 10+ bits apart; tests/test_duplicates.py checks).
_NEGATIVE_PICKS = ((19, 27, 35), (2, 3, 5), (1, 16, 20), (13, 29, 32), (6, 10, 14), (8, 11, 21),
                   (4, 7, 73), (9, 43, 70), (18, 30, 31), (23, 68, 83))


#: The sample folder's layout version (3: negatives without look-alikes); an older folder is
#: rebuilt by provisioning.
SAMPLE_VERSION = 3


def written_version(dest: str | Path) -> int | None:
    """The layout version of a sample folder written by :func:`write_sample_folder` (None: not
    one, or unreadable)."""
    try:
        version = json.loads((Path(dest) / _SAMPLE_MARKER).read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, int) else None


def _fashion_negatives(raw: Path) -> dict[str, object]:
    """``{file name: 28x28 uint8 image}``: :data:`NEGATIVES_PER_CLASS` test images of each
    Fashion-MNIST class (:data:`_NEGATIVE_PICKS`), read from the idx files (the checksummed
    copies provisioning installs)."""
    import numpy as np

    try:
        images = np.frombuffer((raw / "t10k-images-idx3-ubyte").read_bytes(), np.uint8, offset=16)
        labels = np.frombuffer((raw / "t10k-labels-idx1-ubyte").read_bytes(), np.uint8, offset=8)
    except OSError as e:
        raise AssetError(f"Fashion-MNIST is missing ({e}). Run: {PROVISION_CMD}") from None
    images = images.reshape(-1, 28, 28)
    out = {}
    for c, name in enumerate(_FASHION):
        for k, i in enumerate(_NEGATIVE_PICKS[c][:NEGATIVES_PER_CLASS]):
            assert labels[i] == c, f"Fashion-MNIST test image {i} is not a {name}"
            out[f"{NEGATIVE}/fashion-{name}-{k + 1}.jpg"] = images[i]
    return out


def write_sample_folder(dest: str | Path, source: str | Path,
                        negatives: str | Path | None = None) -> Path:
    """Write the course photos (``source/<class>/*.png``) as a learner-style folder of JPEGs,
    ``dest/<class>/<name>.jpg`` (quality 92), and, given the Fashion-MNIST ``raw`` folder as
    ``negatives``, ``dest/negative/*.jpg`` (see the module's docstring). Idempotent; atomic
    (built aside, then renamed).

    Raises:
        AssetError: ``source`` (or ``negatives``) is missing, or ``dest`` exists and was not
            written by this.
    """
    # Imported here, so `import tlcourse.assets` stays light for commands that train nothing.
    from PIL import Image

    dest, source = Path(dest), Path(source)
    if not source.is_dir():
        raise AssetError(f"The course photos are missing ({source}). Run: {PROVISION_CMD}")
    wanted = sorted(f"{c.name}/{f.stem}.jpg" for c in source.iterdir() if c.is_dir()
                    and not c.name.startswith(".") for f in c.glob("*.png"))
    negative = _fashion_negatives(Path(negatives)) if negatives is not None else {}
    wanted += sorted(negative)
    marker = {"version": SAMPLE_VERSION, "quality": 92, "files": wanted}
    if dest.exists():
        try:
            done = json.loads((dest / _SAMPLE_MARKER).read_text())
        except (OSError, ValueError):
            raise AssetError(f"{dest} exists but was not written by write_sample_folder; "
                             f"move it away or choose another destination") from None
        if done == marker and all((dest / f).is_file() for f in wanted):
            return dest
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel in wanted:
        out = tmp / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel in negative:  # gray, white on black as Fashion-MNIST stores it
            im = Image.fromarray(negative[rel]).resize((NEGATIVE_SIZE,) * 2, Image.BICUBIC)
            im.convert("RGB").save(out, "JPEG", quality=92)
            continue
        with Image.open(source / Path(rel).with_suffix(".png")) as im:  # the course's own RGB PNGs
            im.convert("RGB").save(out, "JPEG", quality=92)
    (tmp / _SAMPLE_MARKER).write_text(json.dumps(marker, indent=1))
    if dest.exists():  # an older or damaged copy of ours: swap, then delete it
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
            if not (dest / _SAMPLE_MARKER).is_file():
                raise
    return dest
