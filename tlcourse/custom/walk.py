"""Walking a learner's folder: which entries are images to read, which are litter to skip, and
whether the top level holds classes (``DIR/<class>/``) or a given split (``DIR/train/<class>/``).

Skipped without a word: hidden entries (``.DS_Store``, ``.AppleDouble``, ``.thumbnails``, ...) and
the folders that operating systems and NAS boxes fill with thumbnails and metadata (a Synology's
``@eaDir`` holds a small JPEG of every photo: counted, it would double a class and put a thumbnail
of a training photo on the evaluation side).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_JUNK = {
    "__MACOSX", "Thumbs.db", "desktop.ini", "__pycache__", "ehthumbs.db",  # OS litter
    "@eaDir", "#recycle", "#snapshot", "@Recycle", "@Recently-Snapshot",   # Synology / QNAP
    "@__thumb", ".@__thumb", "$RECYCLE.BIN", "System Volume Information",  # QNAP / Windows
}

SPLITS = {"train": "train", "training": "train", "valid": "valid", "val": "valid",
          "validation": "valid", "dev": "valid", "test": "test", "testing": "test"}
"""Top-level folder names read as a given split (fastai, Keras, Kaggle), and their role."""


def split_layout(names: list[str]) -> bool:
    """True when the top-level folders are a given split, ``train/`` with ``valid/``, ``val/``
    or ``test/`` (any case), rather than classes."""
    roles = {SPLITS.get(n.lower()) for n in names}
    return len(names) >= 2 and None not in roles and "train" in roles and len(roles) >= 2


# ---------------------------------------------------------------------------------------------
# Walking folders
# ---------------------------------------------------------------------------------------------
def _hidden(name: str) -> bool:
    return name.startswith(".") or name in _JUNK


def _walk(d: Path, ancestors: frozenset[str], files: list[Path],
          problems: list[tuple[str, Path, str]]) -> None:
    """Append the regular files under ``d`` (symlinks followed, loops refused), sorted."""
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError as e:
        problems.append(("unreadable", d, f"{e.strerror or e}; skipped"))
        return
    for e in entries:
        if _hidden(e.name):
            continue
        p = d / e.name
        kind, msg = _classify(p, ancestors)
        if kind == "dir":
            _walk(p, ancestors | {_real(p)}, files, problems)
        elif kind == "file":
            files.append(p)
        else:
            problems.append((kind, p, msg))


def _classify(p: Path, ancestors: frozenset[str]) -> tuple[str, str]:
    """``("dir" | "file", "")`` for what to descend into or read, else a problem and why."""
    try:
        st = os.stat(p)  # follows symlinks
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symlink-loop", "symlink loop; skipped"
        return "broken-link", f"{err.strerror}; skipped"
    if stat.S_ISDIR(st.st_mode):
        if _real(p) in ancestors:
            return "symlink-loop", "symlink loop (points back to a folder it is inside); skipped"
        if len(ancestors) > 64:
            return "too-deep", "more than 64 nested folders; skipped"
        return "dir", ""
    if stat.S_ISREG(st.st_mode):
        return "file", ""
    return "non-image", "not a regular file; ignored"  # a FIFO or device would block a read




def _real(p: Path) -> str:
    return os.path.realpath(p)
