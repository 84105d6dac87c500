"""Where the results cache lives and what it holds, without importing torch.

``tlcourse cache info`` and ``clear`` only count and delete files, so they start in well under a
second; :mod:`tlcourse.cache` (which reads and writes entries, and needs torch) imports the
names below from here.

Example:
    >>> print(info())                       # doctest: +SKIP
    datasets/cache: 12 runs (12 from the current code, 0 stale), 30 feature files, 41.2 MB
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .assets.paths import data_dir

_PACKAGE = Path(__file__).resolve().parent
_OFF = {"0", "off", "no", "false"}

#: Version of the entry format; part of the key, so another format is another entry.
FORMAT = 2


def enabled() -> bool:
    """False when ``TLCOURSE_CACHE`` is ``off`` (or 0/no/false)."""
    return os.environ.get("TLCOURSE_CACHE", "on").strip().lower() not in _OFF


def cache_dir() -> Path:
    """``$TLCOURSE_CACHE_DIR``, else ``<data dir>/cache`` (moving the data moves it too)."""
    env = os.environ.get("TLCOURSE_CACHE_DIR")
    return Path(env).expanduser() if env else data_dir() / "cache"


#: Library code that reads or shows results but never changes one: editing it keeps the cache.
_NOT_RESULTS = {"quiz", "plots", "claims", "cli.py", "browser_assets.py", "assets/browser.py",
                "assets/objects_build.py", "classifier.py", "custom",
                "custom_widgets.py", "folder.py", "metrics.py", "classroom", "exercises.py"}


@lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 of the library source that produces results (:data:`_NOT_RESULTS` excluded)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        rel = path.relative_to(_PACKAGE)
        if rel.parts[0] in _NOT_RESULTS or rel.as_posix() in _NOT_RESULTS:
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# tlcourse cache info / clear
# ---------------------------------------------------------------------------------------------
def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class CacheInfo:
    """What ``tlcourse cache info`` prints: runs and feature files counted apart."""

    path: Path
    entries: int  # cached runs (old-format entries included, as stale)
    bytes: int
    current: int  # runs made by the library code as it is now
    features: int = 0  # backbone feature files (tlcourse.features)
    set_aside: int = 0  # files in quarantine/: entries that failed a check

    def __str__(self) -> str:
        text = (f"{self.path}: {_plural(self.entries, 'run')} ({self.current} from the current "
                f"code, {self.entries - self.current} stale), "
                f"{_plural(self.features, 'feature file')}, {self.bytes / 1e6:.1f} MB")
        if self.set_aside:
            text += (f"; {_plural(self.set_aside, 'file')} set aside as damaged or foreign "
                     f"in {self.path / 'quarantine'}")
        return text

    def removed(self) -> str:
        """What :func:`clear` removed, for ``tlcourse cache clear``."""
        parts = [_plural(self.entries, "cached run"), _plural(self.features, "feature file")]
        if self.set_aside:
            parts.append(_plural(self.set_aside, "file") + " set aside as damaged or foreign")
        return f"removed {', '.join(parts[:-1])} and {parts[-1]} from {self.path}"


def _files(root: Path) -> dict[str, list[Path]]:
    """The files this cache wrote, by kind (nothing else in ``root`` is counted or removed)."""
    def of(sub: str, *suffixes: str) -> list[Path]:
        folder = root / sub
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes) \
            if folder.is_dir() else []

    return {"results": of("results", ".json", ".safetensors", ".pt", ".part"),
            "features": of("features", ".pt", ".part"),
            "quarantine": of("quarantine", ".json", ".safetensors", ".pt")}


def _is_current(path: Path) -> bool:
    try:
        entry = json.loads(path.read_bytes())
        return entry["format"] == FORMAT and entry["key"]["code"] == code_hash()
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return False  # unreadable, old-format or foreign: not current


def info() -> CacheInfo:
    """Runs (and how many the current code made), feature files, size, files set aside."""
    root = cache_dir()
    files = _files(root)
    runs = {p.with_suffix("") for p in files["results"] if p.suffix in (".json", ".pt")}
    current = sum(_is_current(p) for p in files["results"] if p.suffix == ".json")
    features = sum(p.suffix == ".pt" for p in files["features"])
    size = sum(p.stat().st_size for group in files.values() for p in group)
    return CacheInfo(root, len(runs), size, current, features, len(files["quarantine"]))


def clear() -> CacheInfo:
    """Delete every file the cache wrote (runs, features, files set aside; nothing else in the
    folder); returns what was there."""
    before = info()
    for group in _files(before.path).values():
        for p in group:
            p.unlink(missing_ok=True)
    for sub in ("results", "features", "quarantine", ""):
        try:
            (before.path / sub).rmdir()
        except OSError:  # missing, or holds files the cache did not write
            pass
    return before
