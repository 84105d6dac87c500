"""A results cache: one training run per experiment, shared by notebooks, tests and the CLI.

A finished :class:`~tlcourse.experiments.Results` (records, config *and* the artifacts its plots
need) is stored under ``<cache dir>/results/`` keyed by everything that decides it:

* the experiment, the profile and the seeds asked for;
* a hash of the library's own source (every ``tlcourse/**/*.py`` except the quiz), so any
  change to the code that produced a result invalidates it;
* the torch, timm, NumPy, scikit-learn and transformers versions, the device type and torch's
  thread count (CPU and CUDA runs differ in the last digits; so do 1 and 2 CPU threads, and at a
  high learning rate the last digits grow into different results);
* the object set's manifest (a re-provisioned data set is another data set);
* the entry format (:data:`FORMAT`).

The format never runs code on reading. An entry is two files with the same name:

* ``NAME.json``: the format version, the key, the Results' fields (one record per line, plain
  JSON) and the artifacts' structure, written by :mod:`tlcourse.cache_format` (tuples, dicts
  with non-text keys and the allowed dataclasses tagged; tensors and NumPy arrays as references
  into the tensor file);
* ``NAME.safetensors``: the tensors (safetensors holds raw numbers and a JSON header, no pickle),
  checked against the SHA-256 the JSON entry records before it is read.

Reading checks the format and the stored key against the requested one before anything else.
An entry that fails a check (damaged, or planted by someone who can write to a shared cache) is
moved to ``<cache dir>/quarantine/`` with a one-line warning - kept as evidence, never trusted,
never deleted - and the run is made again. Anything else stored as an artifact is refused by
name when the run is saved. Files are written to a temporary name and renamed, so a killed run
leaves no half-written entry.

What this does not prevent: someone who can write to a shared cache can still forge an
entry's *numbers* (the key is public, there is no secret to sign with); they can no longer run
code. Keep a shared ``datasets/cache`` writable by its owner only, or give each user
``TLCOURSE_CACHE_DIR``.

``TLCOURSE_CACHE=off`` (or ``run_experiment(..., fresh=True)``, ``tlcourse run --fresh``) forces a
rerun.

Example:
    >>> key = results_key("scratch-vs-transfer", "quick", None)   # doctest: +SKIP
    >>> load_results(key) is None                                 # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _tensors_from_bytes
from safetensors.torch import save as _tensors_to_bytes

from .assets import OBJECTS_MANIFEST, data_dir
from .cache_files import (  # noqa: F401 - re-exported: cache.enabled(), cache.info(), ...
    _PACKAGE,
    FORMAT,
    CacheInfo,
    cache_dir,
    clear,
    code_hash,
    enabled,
    info,
)
from .cache_format import STORABLE, Untrusted, decode, dumps, encode


def _data_hash() -> str:
    manifest = data_dir() / OBJECTS_MANIFEST
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else "none"


def results_key(experiment: str, profile: str, seeds: tuple[int, ...] | None,
                device: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    """Everything that decides an experiment's results, as a JSON-ready dict.

    ``threads`` defaults to torch's current thread count (``torch.get_num_threads()``).
    """
    return {"format": FORMAT, "experiment": experiment, "profile": profile,
            "seeds": list(seeds) if seeds is not None else None,
            "code": code_hash(), "data": _data_hash(), "versions": versions(),
            "device": torch.device(device).type,
            "threads": torch.get_num_threads() if threads is None else int(threads)}


def versions() -> dict[str, str]:
    """Versions of the libraries whose numerics decide a result (read without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:  # from the metadata: importing transformers or sklearn takes seconds
            return version(package)
        except PackageNotFoundError:
            return "none"

    return {"torch": str(torch.__version__), "timm": of("timm"), "numpy": np.__version__,
            "scikit-learn": of("scikit-learn"), "transformers": of("transformers")}


_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,80}")
_THREADS = re.compile(r"-t([0-9]{1,4})\.json")


def _path(key: dict[str, Any]) -> Path:
    """``results/EXPERIMENT-PROFILE-DIGEST-tTHREADS.json``; the digest leaves the thread count
    out so that :func:`load_results` can find the same run made at another thread count."""
    for part in (key["experiment"], key["profile"]):
        if not _NAME.fullmatch(part):
            raise ValueError(f"not a cacheable name: {part!r} (lower-case letters, digits, -)")
    rest = {k: v for k, v in key.items() if k != "threads"}
    digest = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:24]
    return (cache_dir() / "results"
            / f"{key['experiment']}-{key['profile']}-{digest}-t{int(key['threads'])}.json")


# ---------------------------------------------------------------------------------------------
# Results entries
# ---------------------------------------------------------------------------------------------
def save_results(key: dict[str, Any], results: Any) -> Path:
    """Store ``results`` (a :func:`~tlcourse.cache_format.storable` Results) under ``key``.

    Raises:
        TypeError: an artifact (or a record's value) of a type the cache does not store, named
            by where it sits (``artifacts['net']['head']: ... cannot store a torch.nn...``).
    """
    if type(results).__name__ not in STORABLE:
        raise TypeError(f"{type(results).__name__} is not storable in the results cache")
    fields = {f.name: getattr(results, f.name) for f in dataclasses.fields(results)
              if f.name not in ("artifacts", "from_cache")}
    tensors: dict[str, torch.Tensor] = {}
    entry = {"format": FORMAT, "key": key, "type": type(results).__name__,
             "fields": {k: encode(v, k, None) for k, v in fields.items()},
             "artifacts": encode(results.artifacts, "artifacts", tensors, {})}
    try:
        blob = _tensors_to_bytes(tensors)
    except Exception as e:
        raise TypeError(f"artifacts: the results cache cannot store these tensors ({e})") from e
    entry["tensors"] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    path = _path(key)
    # Tensors first: an entry whose JSON is older than its tensor file fails the SHA-256 check.
    _atomic_write(path.with_suffix(".safetensors"), blob)
    _atomic_write(path, dumps(entry).encode())
    return path


def load_results(key: dict[str, Any], any_threads: bool = False) -> Any | None:
    """The stored Results for ``key``, or None (missing, or set aside as untrusted).

    With ``any_threads``, the same run made at another thread count will do (the current count
    first): for readers of the records, such as the claims ledger.
    """
    if "Results" not in STORABLE:
        raise RuntimeError("import tlcourse.experiments before reading the results cache")
    path = _path(key)
    candidates = [(path, key)]
    if any_threads:
        stem = path.name[: path.name.rindex("-t")]
        for other in sorted(path.parent.glob(f"{stem}-t*.json")):
            m = _THREADS.fullmatch(other.name[len(stem):])
            if m and other != path:
                candidates.append((other, {**key, "threads": int(m[1])}))
    for p, k in candidates:
        hit = _load(p, k)
        if hit is not None:
            return hit
    return None


def _load(path: Path, key: dict[str, Any]) -> Any | None:
    if not path.is_file():
        return None
    try:
        try:
            entry = json.loads(path.read_bytes())
        except (ValueError, RecursionError):
            raise Untrusted("it is not valid JSON") from None
        if type(entry) is not dict or entry.get("format") != FORMAT:
            raise Untrusted(f"it is not a format-{FORMAT} tlcourse entry")
        if entry.get("key") != key:  # checked before anything else is read
            raise Untrusted("it holds another run's key")
        tensors = _read_tensors(path.with_suffix(".safetensors"), entry.get("tensors"))
        cls = STORABLE.get(entry.get("type")) if type(entry.get("type")) is str else None
        if cls is None or type(entry.get("fields")) is not dict:
            raise Untrusted("it does not hold a Results")
        fields = {k: decode(v, None) for k, v in entry["fields"].items()}
        return cls(**fields, artifacts=decode(entry.get("artifacts"), tensors))
    except Exception as e:  # noqa: BLE001 - whatever failed, the entry is not trusted
        reason = str(e) if isinstance(e, Untrusted) else f"{type(e).__name__}: {e}"[:160]
        _set_aside(path, reason)
        return None


def _read_tensors(path: Path, meta: Any) -> dict[str, torch.Tensor]:
    if type(meta) is not dict or type(meta.get("sha256")) is not str:
        raise Untrusted("it names no tensor file checksum")
    try:
        blob = path.read_bytes()
    except OSError:
        raise Untrusted("its tensor file is missing") from None
    if hashlib.sha256(blob).hexdigest() != meta["sha256"]:
        raise Untrusted("its tensor file does not match the entry's checksum")
    try:
        return _tensors_from_bytes(blob)
    except (SafetensorError, ValueError, RuntimeError):
        raise Untrusted("its tensor file is not a safetensors file") from None


def _set_aside(path: Path, reason: str, what: str = "cached run") -> None:
    """Move an untrusted entry's files to ``quarantine/`` (evidence, never read) and warn."""
    aside = cache_dir() / "quarantine"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    try:
        aside.mkdir(parents=True, exist_ok=True)
        for p in (path, path.with_suffix(".safetensors")):
            if p.is_file():
                dest = aside / f"{p.stem}.{stamp}-{os.getpid()}{p.suffix}"
                p.replace(dest)
                moved.append(dest)
        where = f"moved it to {aside}"
    except OSError as e:
        where = f"could not move it aside ({e.strerror}); it will be overwritten"
    again = "running it again" if what == "cached run" else "computing them again"
    warnings.warn(f"tlcourse: ignored the {what} {path.name} ({reason}); {where}; {again}",
                  stacklevel=4)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as f:
        tmp = Path(f.name)
        try:
            f.write(data)
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
    try:
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


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
    """Stored features for ``digest``, or None (a damaged file is set aside and recomputed).

    ``weights_only=True``: torch's restricted loader rebuilds tensors and plain containers only,
    never arbitrary objects, so a planted file cannot run code.
    """
    path = _features_path(digest)
    if not path.is_file():
        return None
    try:
        features = torch.load(path, map_location="cpu", weights_only=True)
        if type(features) is not torch.Tensor:
            raise Untrusted(f"it holds a {type(features).__name__}, not a tensor")
        return features
    except Exception as e:  # noqa: BLE001 - not trusted: recompute and rewrite
        _set_aside(path, str(e) if isinstance(e, Untrusted) else "not a tensor file",
                   "cached features")
        return None


def save_features(digest: str, features: torch.Tensor) -> None:
    """Store features atomically; a failure (e.g. a full disk) only costs the reuse."""
    buffer = io.BytesIO()
    torch.save(features.detach().cpu().contiguous(), buffer)
    try:
        _atomic_write(_features_path(digest), buffer.getvalue())
    except OSError:
        pass
