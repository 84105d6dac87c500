"""Your own images: check a folder of class subfolders, load it, and read loose files to predict.

The folder follows the Keras / fastai convention, one subfolder per class; images may sit in
nested folders, which belong to their top-level class::

    my-photos/
      cat/  IMG_0001.jpg  holiday/IMG_0002.jpg
      dog/  ...

:func:`check_folder` decodes every file in full (a header can look fine while the data is cut
off) and reports what training would trip over: corrupt files, non-images, duplicates, the same
file in two classes, classes too small to learn or to measure, and the conversions applied on
load (colour modes, EXIF rotation, huge images). The folder is only ever read, never written.

Example:
    >>> report = check_folder("my-photos")      # doctest: +SKIP
    >>> print(report.format())                  # doctest: +SKIP
    >>> data = load_folder(report, size=224)    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..assets import sha256_file
from ..data import ImageData
from .duplicates import find_groups, fingerprint
from .images import (  # noqa: F401
    _IMAGE_SUFFIXES,
    MAX_SIDE,
    ImageReadError,
    _decode,
    _letterbox,
    _show,
    open_image,
)
from .walk import SPLITS, _classify, _hidden, _real, _walk, split_layout

TINY_SIDE = 32             # below this, a 224-px model sees mostly interpolation
MIN_PER_CLASS = 5          # Custom Vision's minimum images per tag for classification
FEW_PER_CLASS = 15         # fewer leave a 20 % holdout with 1-2 test images a class
RECOMMENDED_PER_CLASS = 50  # Custom Vision's recommendation per tag
IMBALANCE_WARN = 10.0      # largest / smallest class above this biases the model



@dataclass
class Problem:
    """One finding of :func:`check_folder`; ``blocking`` ones stop training."""

    kind: str          # e.g. "corrupt", "duplicate", "label-conflict", "too-few", "imbalance"
    path: Path | None  # the file or class folder concerned (None: the folder as a whole)
    message: str       # one line, saying what to do
    blocking: bool = False


@dataclass
class FolderReport:
    """What :func:`check_folder` found. ``files`` holds the usable images only."""

    root: Path
    classes: list[str] = field(default_factory=list)        # sorted class-folder names
    files: dict[str, list[Path]] = field(default_factory=dict)  # usable, deduplicated, sorted
    problems: list[Problem] = field(default_factory=list)
    notes: dict[Path, list[str]] = field(default_factory=dict)  # conversions applied on load
    sha256: dict[Path, str] = field(default_factory=dict)    # content of each usable file
    min_per_class: int = MIN_PER_CLASS
    groups: list[list[Path]] = field(default_factory=list)  # near-duplicates, the kept one first
    split: dict[Path, str] = field(default_factory=dict)  # a given split: file -> "train", "val"..

    @property
    def ok(self) -> bool:
        """True when nothing blocks training (warnings allowed)."""
        return not any(p.blocking for p in self.problems)

    @property
    def counts(self) -> dict[str, int]:
        """Usable images per class."""
        return {c: len(self.files.get(c, [])) for c in self.classes}

    @property
    def imbalance(self) -> float | None:
        """Largest class / smallest class (usable images); None without classes or images."""
        n = list(self.counts.values())
        return max(n) / min(n) if n and min(n) > 0 else None

    def content_hash(self) -> str:
        """sha256 over (class, relative path, file sha256) of every usable file, so a model
        can record exactly which data it was trained on."""
        h = hashlib.sha256()
        for c in self.classes:
            for p in self.files.get(c, []):
                h.update(json.dumps([c, self._rel(p), self.sha256[p]]).encode())
        return h.hexdigest()

    def to_json(self) -> dict:
        """A JSON-ready dict; paths are relative to ``root``."""
        return {
            "root": _show(self.root), "ok": self.ok, "classes": [_show(c) for c in self.classes],
            "counts": {_show(c): n for c, n in self.counts.items()}, "imbalance": self.imbalance,
            "content_hash": self.content_hash(),
            "files": {c: [self._rel(p) for p in fs] for c, fs in self.files.items()},
            "problems": [{"kind": p.kind, "path": None if p.path is None else self._rel(p.path),
                          "message": p.message, "blocking": p.blocking} for p in self.problems],
            "notes": {self._rel(p): n for p, n in self.notes.items()},
            "near_duplicates": [[self._rel(p) for p in g] for g in self.groups],
            "split": {self._rel(p): s for p, s in self.split.items()},
        }

    def group_ids(self, rel_paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """For images named as :func:`load_folder` names them: a group number each (the copies
        of one photo share it) and whether each is its group's kept copy (singletons are)."""
        where = {self._rel(p): (g, k == 0) for g, ps in enumerate(self.groups)
                 for k, p in enumerate(ps)}
        ids = [where.get(r, (len(self.groups) + i, True)) for i, r in enumerate(rel_paths)]
        return np.array([g for g, _ in ids], dtype=int), np.array([k for _, k in ids], dtype=bool)

    def format(self) -> str:
        """A human report: per-class counts, then blocking problems, warnings and a summary."""
        lines = [f"Checked {_show(self.root)}"]
        if self.classes:
            width = max(len("class"), *(len(_show(c)) for c in self.classes))
            lines.append(f"  {'class':<{width}}  images")
            lines += [f"  {_show(c):<{width}}  {n:>6}" for c, n in self.counts.items()]
            lines.append(f"  {'total':<{width}}  {sum(self.counts.values()):>6}")
        if self.split:
            n = Counter(self.split[p] for fs in self.files.values() for p in fs)
            lines.append("given split: " + ", ".join(f"{s}/ {k}" for s, k in sorted(n.items()))
                         + " (train fits on train/ and scores on the rest, as given)")
        errors = [p for p in self.problems if p.blocking]
        warns = [p for p in self.problems if not p.blocking]
        lines += [f"error: {p.message}" for p in errors]
        lines += [f"warning: {p.message}" for p in warns]
        conversions = self._conversion_summary()
        if conversions:
            lines.append(f"on load: {conversions}")
        n, k = sum(self.counts.values()), len(self.classes)
        ratio = f", imbalance {self.imbalance:.1f}:1" if self.imbalance else ""
        if self.ok:
            lines.append(f"READY: {_count(n, 'image')} in {k} classes{ratio}; "
                         f"{_count(len(warns), 'warning')}.")
        else:
            lines.append(f"NOT READY: {_count(len(errors), 'problem')} to fix (lines starting "
                         f"'error:'), {_count(len(warns), 'warning')}.")
        return "\n".join(lines)

    def _conversion_summary(self) -> str:
        modes = Counter(n.removeprefix("converted from ") for ns in self.notes.values()
                        for n in ns if n.startswith("converted from "))
        rotated = sum(any(n.startswith("rotated by EXIF") for n in ns)
                      for ns in self.notes.values())
        huge = sum(any(n.startswith("downscaled") for n in ns) for ns in self.notes.values())
        parts = []
        if modes:
            detail = ", ".join(f"{m} {c}" for m, c in sorted(modes.items()))
            parts.append(f"{sum(modes.values())} converted to RGB ({detail})")
        if rotated:
            parts.append(f"{rotated} rotated by EXIF")
        if huge:
            parts.append(f"{huge} downscaled (longer side over {MAX_SIDE} px)")
        return "; ".join(parts)

    def _rel(self, p: Path) -> str:
        try:
            return _show(p.relative_to(self.root).as_posix())
        except ValueError:
            return _show(p)


# ---------------------------------------------------------------------------------------------
# A folder of class subfolders
# ---------------------------------------------------------------------------------------------
def check_folder(path: str | Path, min_per_class: int = MIN_PER_CLASS,
                 progress: bool = True) -> FolderReport:
    """Check a folder of class subfolders (``DIR/<class>/<images>``) before training on it.

    Every file is decoded in full. Unusable files (corrupt, not images, duplicates, the same
    image in two classes) are reported and left out of ``report.files``. Blocking problems: the
    path is missing or not a folder, fewer than 2 class folders, a class with fewer than
    ``min_per_class`` usable images. The folder is only read.

    Example:
        >>> report = check_folder("my-photos", progress=False)  # doctest: +SKIP
        >>> report.ok, report.counts                              # doctest: +SKIP
        (True, {'cat': 48, 'dog': 52})
    """
    if min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, not {min_per_class}")
    root = Path(path).expanduser()
    report = FolderReport(root=root, min_per_class=min_per_class)

    def add(kind: str, p: Path | None, message: str, blocking: bool = False) -> None:
        report.problems.append(Problem(kind, p, message, blocking))

    if not root.exists():
        add("missing", root, f"{_show(root)} does not exist; give the folder that holds one "
                             f"subfolder per class", True)
        return report
    if not root.is_dir():
        add("not-a-folder", root, f"{_show(root)} is a file, not a folder; give the folder that "
                                  f"holds one subfolder per class (DIR/<class>/<image>)", True)
        return report

    # Phase 1: class folders, and files found in the wrong place.
    found: list[tuple[str, Path]] = []
    walk_problems: list[tuple[str, Path, str]] = []
    top = _real(root)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as e:
        add("unreadable", root, f"{_show(root)} cannot be read ({e.strerror})", True)
        return report
    kinds = [(e.name, root / e.name, *_classify(root / e.name, frozenset({top})))
             for e in entries if not _hidden(e.name)]
    if split_layout([name for name, _, kind, _ in kinds if kind == "dir"]):
        kinds = _split_classes(kinds, top, walk_problems)
    for name, p, kind, msg in kinds:
        if kind == "dir":
            if name not in report.classes:
                report.classes.append(name)
            files: list[Path] = []
            _walk(p, frozenset({top, _real(p)}), files, walk_problems)
            found += [(name, f) for f in files]
            report.split.update({f: p.parent.name for f in files if p.parent != root})
        elif kind == "file":
            hint = (f" (move it into {_show(root)}/<class>/ to use it)"
                    if p.suffix.lower() in _IMAGE_SUFFIXES else "")
            add("loose-file", p, f"{report._rel(p)} is not inside a class folder; ignored{hint}")
        else:
            walk_problems.append((kind, p, msg))
    for kind, p, msg in walk_problems:
        add(kind, p, f"{report._rel(p)}: {msg}")

    # Phase 2: decode every file in full (JPEG at a reduced DCT scale: still all the data).
    decoded: dict[Path, tuple[str, tuple[int, int]]] = {}
    prints = {}
    for cls, p in tqdm(found, desc="checking images", disable=not progress, leave=False):
        try:
            im, notes, stored = _decode(p, p, MAX_SIDE, draft_side=512)
            prints[p] = fingerprint(im)
            report.sha256[p] = sha256_file(p)
        except ImageReadError as err:
            if err.kind == "not-an-image" and p.suffix.lower() not in _IMAGE_SUFFIXES:
                add("non-image", p, f"{report._rel(p)}: {err.reason}; ignored")
            else:  # a file named like an image that is not one counts as corrupt
                kind = "corrupt" if err.kind == "not-an-image" else err.kind
                add(kind, p, f"{report._rel(p)}: {err.reason}; left out")
            continue
        except OSError as err:  # e.g. vanished or unreadable while hashing
            add("unreadable", p, f"{report._rel(p)}: cannot be read ({err.strerror}); left out")
            continue
        decoded[p] = (cls, stored)
        if notes:
            report.notes[p] = notes

    # Phase 3: exact duplicates (same bytes); across classes they are a label conflict.
    by_hash: dict[str, list[Path]] = defaultdict(list)
    for p in decoded:
        by_hash[report.sha256[p]].append(p)
    dropped: set[Path] = set()
    for copies in by_hash.values():
        copies.sort(key=_plainest_first)  # keep IMG_1024.jpg, not "IMG_1024 (1).jpg"
        if len({decoded[p][0] for p in copies}) > 1:
            dropped.update(copies)
            names = ", ".join(report._rel(p) for p in copies)
            add("label-conflict", copies[0],
                f"the same image is in {len({decoded[p][0] for p in copies})} classes ({names}): "
                f"a label conflict and a train/test leak; all copies left out. Keep it in one "
                f"class only")
        else:
            for p in copies[1:]:
                dropped.add(p)
                add("duplicate", p, f"{report._rel(p)} is an exact copy of "
                                    f"{report._rel(copies[0])}; only one is used")
    # Phase 3b: near-duplicates (the same photo re-saved, converted, resized, cropped, turned).
    rest = [p for p in decoded if p not in dropped]
    for g in find_groups(rest, [decoded[p][0] for p in rest], [report.split.get(p) for p in rest],
                         [prints[p] for p in rest], [decoded[p][1] for p in rest], report._rel):
        add(g.kind, g.members[0], g.message)
        dropped.update(g.left_out)
        if len(g.members) - len(g.left_out) > 1:
            report.groups.append([p for p in g.members if p not in g.left_out])
    for p in dropped:
        report.sha256.pop(p)
        report.notes.pop(p, None)
    for p, (cls, size) in decoded.items():
        if p in dropped:
            continue
        report.files.setdefault(cls, []).append(p)
        if min(size) < TINY_SIDE:
            add("tiny", p, f"{report._rel(p)} is tiny ({size[0]}x{size[1]} px); enlarged to "
                           f"the model's input size it will be blurry")
    report.classes.sort()
    report.files = {c: sorted(report.files.get(c, [])) for c in report.classes}

    # Phase 4: is there enough to learn from and to measure?
    _judge_counts(report, add)
    return report


def _split_classes(kinds: list[tuple], top: str, walk_problems: list) -> list[tuple]:
    """The class folders inside ``train/``, ``valid/`` ... (a given split), as
    ``(class, path, kind, message)``; whatever else sits at the top is returned unchanged."""
    out = []
    for name, p, kind, msg in kinds:
        if kind != "dir" or name.lower() not in SPLITS:
            out.append((name, p, kind, msg))
            continue
        try:
            inner = sorted(e.name for e in os.scandir(p) if not _hidden(e.name))
        except OSError as e:
            walk_problems.append(("unreadable", p, f"{e.strerror or e}; skipped"))
            continue
        out += [(c, p / c, *_classify(p / c, frozenset({top, _real(p)}))) for c in inner]
    return out


def _judge_counts(report: FolderReport, add) -> None:
    counts, root = report.counts, report.root
    if not report.classes:
        loose = sum(p.kind == "loose-file" for p in report.problems)
        add("no-classes", root, f"{_show(root)} has no class folders"
            + (f" ({_count(loose, 'file')} directly in it)" if loose else "")
            + f"; put each class's images in its own subfolder: {_show(root)}/<class>/<image>",
            True)
        return
    if len(report.classes) == 1:
        add("one-class", root, f"only one class folder ({_show(report.classes[0])}); a "
                               f"classifier needs at least 2 classes to tell apart", True)
    for c, n in counts.items():
        where = _show(root / c)
        if n < report.min_per_class:
            add("too-few", root / c, f"class '{_show(c)}' has {_count(n, 'usable image')}; at least "
                                     f"{report.min_per_class} are needed (Custom Vision's "
                                     f"minimum per tag is {MIN_PER_CLASS}). Add images to "
                                     f"{where}/ or remove the folder", True)
        elif n < FEW_PER_CLASS:
            add("few-images", root / c, f"class '{_show(c)}' has {_count(n, 'image')}: enough to train, "
                                        f"too few to measure well; Custom Vision needs >= "
                                        f"{MIN_PER_CLASS} per tag and recommends about "
                                        f"{RECOMMENDED_PER_CLASS}")
        elif n < RECOMMENDED_PER_CLASS:
            add("few-images", root / c, f"class '{_show(c)}' has {_count(n, 'image')}; Custom Vision "
                                        f"recommends about {RECOMMENDED_PER_CLASS} per tag")
    ratio = report.imbalance
    if ratio is not None and ratio > IMBALANCE_WARN:
        big, small = max(counts, key=counts.get), min(counts, key=counts.get)
        add("imbalance", root, f"imbalance {ratio:.0f}:1 ('{_show(big)}' "
                               f"{_count(counts[big], 'image')}, '{_show(small)}' "
                               f"{counts[small]}); the model will favour the "
                               f"big class: add images to the small one or weight the loss")


# What file managers and browsers add to the name of a copy: "IMG (1)", "IMG copy 2",
# "IMG - Copy", "Copy of IMG", "IMG(2)".
_COPY_MARKS = re.compile(r"\s*\(\d+\)$|[\s_-]+copy(\s*\d+)?$|^copy of\s+", re.IGNORECASE)


def _plainest_first(p: Path) -> tuple[int, int, str]:
    """Sort key among exact copies: fewest copy marks in the name, then shortest, then by name."""
    stem, marks = p.stem, 0
    while True:
        stem, n = _COPY_MARKS.subn("", stem, count=1)
        if not n:
            break
        marks += 1
    return marks, len(p.name), str(p)


def _count(n: int, noun: str) -> str:
    """'1 image', '2 images', '0 images'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def load_folder(report: FolderReport, size: int, progress: bool = True) -> ImageData:
    """Load the usable images of a checked folder as uint8 ``[N, 3, size, size]``, each padded
    to a white square (no crop, no stretch). Labels follow ``report.classes``.

    Raises:
        ValueError: the report has blocking problems, or a file changed since the check.

    Example:
        >>> data = load_folder(check_folder("my-photos"), size=224)  # doctest: +SKIP
        >>> data.x.shape                                              # doctest: +SKIP
        torch.Size([100, 3, 224, 224])
    """
    if not report.ok:
        first = next(p.message for p in report.problems if p.blocking)
        raise ValueError(f"{_show(report.root)} is not ready to load: {first} (run "
                         f"`tlcourse check {_show(report.root)}` for every problem)")
    items = [(y, p) for y, c in enumerate(report.classes) for p in report.files[c]]
    x = np.empty((len(items), size, size, 3), np.uint8)
    for i, (_, p) in enumerate(tqdm(items, desc="loading images", disable=not progress)):
        try:
            data = p.read_bytes()
        except OSError as e:
            raise ValueError(f"{_show(p)} cannot be read any more ({e.strerror}); "
                             f"check the folder again") from None
        if hashlib.sha256(data).hexdigest() != report.sha256[p]:
            raise ValueError(f"{_show(p)} changed since the folder was checked; check it again")
        im = _decode(p, io.BytesIO(data), MAX_SIDE, draft_side=2 * size)[0]
        x[i] = _letterbox(im, size)
    return ImageData(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(),
                     torch.tensor([y for y, _ in items], dtype=torch.long),
                     list(report.classes), report.root.name or _show(report.root),
                     [report._rel(p) for _, p in items])


def load_images(paths: list[str | Path], size: int,
                progress: bool = False) -> tuple[torch.Tensor, list[Path], list[tuple[Path, str]]]:
    """Load files and folders (recursively) to predict on; a bad file never stops the rest.

    Returns:
        ``(x, loaded, failed)``: uint8 images ``[N, 3, size, size]``, the N paths that loaded,
        and ``(path, reason)`` for every path that did not.

    Example:
        >>> x, ok, failed = load_images(["new-photos/"], size=224)  # doctest: +SKIP
    """
    files: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            problems: list[tuple[str, Path, str]] = []
            _walk(p, frozenset({_real(p)}), files, problems)
            failed += [(q, msg) for _, q, msg in problems]
        elif p.is_file():
            files.append(p)
        else:
            failed.append((p, "no such file or folder" if not p.is_symlink()
                           else "broken or looping symlink"))
    arrays, loaded = [], []
    for p in tqdm(files, desc="loading images", disable=not progress):
        try:
            im = _decode(p, p, MAX_SIDE, draft_side=2 * size)[0]
        except ImageReadError as e:
            failed.append((p, e.reason))
            continue
        arrays.append(_letterbox(im, size))
        loaded.append(p)
    x = np.stack(arrays) if arrays else np.empty((0, size, size, 3), np.uint8)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), loaded, failed
