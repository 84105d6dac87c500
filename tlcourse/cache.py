"""A results cache: one training run per experiment, shared by notebooks, tests and the CLI.

A finished :class:`~tlcourse.experiments.Results` (records, config *and* the artifacts its plots
need) is stored under ``<data dir>/cache/results/`` keyed by everything that decides it:

* the experiment, the profile and the seeds asked for;
* a hash of the library's own source (every ``tlcourse/**/*.py`` except the quiz), so any
  change to the code that produced a result invalidates it;
* the torch, timm and NumPy versions and the device type (CPU and CUDA runs differ in the
  last digits);
* the object set's manifest (a re-provisioned data set is another data set).

A notebook, a test or ``tlcourse run`` asking for the same key reuses the stored run.
``TLCOURSE_CACHE=off`` (or ``run_experiment(..., fresh=True)``, ``tlcourse run --fresh``) forces a
rerun. An entry that cannot be read, or whose stored key differs, is ignored and rewritten -
never trusted. Entries are written to a temporary file and renamed, so a killed run leaves no
half-written entry.

Example:
    >>> key = results_key("scratch-vs-transfer", "quick", None)   # doctest: +SKIP
    >>> load_results(key) is None                                 # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .assets import OBJECTS_MANIFEST, data_dir

_PACKAGE = Path(__file__).resolve().parent
_OFF = {"0", "off", "no", "false"}


def enabled() -> bool:
    """False when ``TLCOURSE_CACHE`` is ``off`` (or 0/no/false)."""
    return os.environ.get("TLCOURSE_CACHE", "on").strip().lower() not in _OFF


def cache_dir() -> Path:
    """``$TLCOURSE_CACHE_DIR``, else ``<data dir>/cache`` (moving the data moves it too)."""
    env = os.environ.get("TLCOURSE_CACHE_DIR")
    return Path(env).expanduser() if env else data_dir() / "cache"


#: Library code that reads or shows results but never changes one: editing it keeps the cache.
_NOT_RESULTS = {"quiz", "plots", "claims.py", "cli.py", "browser_assets.py", "classifier.py",
                "custom_widgets.py", "folder.py", "metrics.py", "classroom", "exercises.py"}


@lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 of the library source that produces results (:data:`_NOT_RESULTS` excluded)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        rel = path.relative_to(_PACKAGE)
        if rel.parts[0] in _NOT_RESULTS:
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _data_hash() -> str:
    manifest = data_dir() / OBJECTS_MANIFEST
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else "none"


def results_key(experiment: str, profile: str, seeds: tuple[int, ...] | None,
                device: str = "cpu") -> dict[str, Any]:
    """Everything that decides an experiment's results, as a JSON-ready dict."""
    return {"experiment": experiment, "profile": profile,
            "seeds": list(seeds) if seeds is not None else None,
            "code": code_hash(), "data": _data_hash(), "versions": _versions(),
            "device": torch.device(device).type}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import timm

    try:  # read from the metadata: importing transformers takes seconds
        transformers = version("transformers")
    except PackageNotFoundError:
        transformers = "none"
    return {"torch": torch.__version__, "timm": timm.__version__, "numpy": numpy.__version__,
            "transformers": transformers}


def _digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _path(key: dict[str, Any]) -> Path:
    return cache_dir() / "results" / f"{key['experiment']}-{key['profile']}-{_digest(key)}.pt"


def load_results(key: dict[str, Any]) -> Any | None:
    """The stored Results for ``key``, or None (missing, unreadable or another key).

    A damaged entry is removed so that the next run rewrites it.
    """
    path = _path(key)
    if not path.is_file():
        return None
    try:
        # Our own pickled Results (tensors, ImageData): written by this library into the
        # learner's own data directory, never downloaded.
        entry = torch.load(path, map_location="cpu", weights_only=False)
        if entry["key"] != key:
            raise ValueError("stored key differs")
        return entry["results"]
    except Exception:  # noqa: BLE001 - any failure: not trusted, rerun and rewrite
        path.unlink(missing_ok=True)
        return None


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as f:
        tmp = Path(f.name)
    try:
        torch.save(obj, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def save_results(key: dict[str, Any], results: Any) -> Path:
    """Store ``results`` under ``key`` atomically (temporary file, then rename)."""
    path = _path(key)
    _atomic_save({"key": key, "results": results}, path)
    # A small readable label beside it, so `tlcourse cache info` need not unpickle anything.
    path.with_suffix(".json").write_text(json.dumps(key, indent=1))
    return path


@dataclass
class CacheInfo:
    """What ``tlcourse cache info`` prints."""

    path: Path
    entries: int
    bytes: int
    current: int  # entries made by the library code as it is now

    def __str__(self) -> str:
        return (f"{self.path}: {self.entries} entries, {self.bytes / 1e6:.1f} MB "
                f"({self.current} from the current code, {self.entries - self.current} stale)")


def info() -> CacheInfo:
    """Entries, size, and how many were made by the current code."""
    root = cache_dir()
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    entries = [p for p in files if p.suffix == ".pt"]
    current = 0
    for p in entries:
        try:
            current += json.loads(p.with_suffix(".json").read_text())["code"] == code_hash()
        except (OSError, ValueError, KeyError):  # no or damaged label: not current
            pass
    return CacheInfo(root, len(entries), sum(p.stat().st_size for p in files), current)


def clear() -> int:
    """Delete every cached entry; returns how many entries were removed."""
    root = cache_dir()
    if not root.is_dir():
        return 0
    n = sum(1 for p in root.rglob("*.pt"))
    shutil.rmtree(root)
    return n


# ---------------------------------------------------------------------------------------------
# Backbone features
# ---------------------------------------------------------------------------------------------
def features_digest(net: torch.nn.Module, x: torch.Tensor, depth: int | None) -> str:
    """A key for the features of images ``x`` through ``net`` (read at stage ``depth``).

    It hashes every weight and buffer but the head's (so a random-init backbone's seed is
    covered, and the pretrained weights' checksum with it), the architecture (class and tensor names), the
    preprocessing (size, mean, std, normalisation, gray handling), the images' bytes and the
    device type.
    """
    h = hashlib.sha256()
    h.update(f"{type(net).__name__}/{type(getattr(net, 'body', net)).__name__}/{depth}".encode())
    pre = getattr(net, "preprocess", None)
    if pre is not None:
        h.update(repr((pre.size, pre.normalize, pre.gray, pre.mean.flatten().tolist(),
                       pre.std.flatten().tolist())).encode())
    for name, t in net.state_dict().items():
        if name.startswith("head."):  # features do not depend on the head: another head (or
            continue  # seed of its initialisation) on the same backbone reuses them
        h.update(name.encode() + b"\0" + t.detach().cpu().contiguous().numpy().tobytes())
    h.update(repr((tuple(x.shape), str(x.dtype))).encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes())
    h.update(str(next(net.parameters()).device.type).encode())
    return h.hexdigest()[:32]


def _features_path(digest: str) -> Path:
    return cache_dir() / "features" / f"{digest}.pt"


def load_features(digest: str) -> torch.Tensor | None:
    """Stored features for ``digest``, or None (a damaged file is removed and recomputed)."""
    path = _features_path(digest)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not trusted: recompute and rewrite
        path.unlink(missing_ok=True)
        return None


def save_features(digest: str, features: torch.Tensor) -> None:
    """Store features atomically; a failure (e.g. a full disk) only costs the reuse."""
    try:
        _atomic_save(features.contiguous(), _features_path(digest))
    except OSError:
        pass
