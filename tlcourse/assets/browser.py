"""Headless Chromium for the browser test of the quiz, from Debian's packages, without root.

The browser test (``tests/test_quiz_browser.py``) drives a real JupyterLab page with
Playwright, whose own browser download cannot work offline. So :func:`chromium_path` takes a
system ``chromium`` when there is one, and otherwise the copy that :func:`provision` unpacks
into ``<data dir>/chromium``: Debian's ``chromium`` and ``chromium-common`` fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` (the same route as the data sets, see
:mod:`tlcourse.assets`), plus the packages holding the shared libraries that ``ldd`` reports
missing. A launcher script there sets ``LD_LIBRARY_PATH`` and starts the unpacked browser.

Run ``python -m tlcourse.assets.browser`` (``make test`` does) to provision it.

Example:
    >>> chromium_path()  # doctest: +SKIP
    PosixPath('/work/main/datasets/chromium/chromium')
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .paths import AssetError, data_dir
from .provisioning import _apt_download, _dpkg_extract

PROVISION_CMD = "python -m tlcourse.assets.browser   (or: make test)"
PACKAGES = ("chromium", "chromium-common")
BINARY = "usr/lib/chromium/chromium"  # the real browser; Debian's /usr/bin/chromium wraps it
MAX_ROUNDS = 6  # dependency levels to follow for missing libraries (two are enough here)

_LAUNCHER = """#!/bin/sh
# Written by tlcourse.assets.browser: Debian's chromium unpacked without root (re-run it to update).
here="$(dirname "$(readlink -f "$0")")"
export LD_LIBRARY_PATH="{lib_path}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
exec "$here/{binary}" "$@"
"""


def browser_dir() -> Path:
    """Where :func:`provision` unpacks Chromium: ``<data dir>/chromium`` (never committed)."""
    return data_dir() / "chromium"


def chromium_path() -> Path | None:
    """A Chromium to launch: the system's ``chromium``, else the provisioned one, else None."""
    system = shutil.which("chromium")
    if system:
        return Path(system)
    launcher = browser_dir() / "chromium"
    return launcher if launcher.is_file() else None


def _output(cmd: list[str], env: dict[str, str] | None = None) -> str:
    """What ``cmd`` prints; an empty answer when it fails (callers treat that as "nothing")."""
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env).stdout


def _library_dirs(root: Path) -> list[Path]:
    """Every unpacked folder holding a shared library, the browser's own first."""
    dirs = {p.parent for p in root.rglob("*.so*") if p.is_file()}
    return sorted(dirs, key=lambda d: (d != root / Path(BINARY).parent, str(d)))


def missing_libraries(root: Path) -> set[str]:
    """Sonames that the unpacked browser or its own libraries need and cannot find."""
    env = {"LD_LIBRARY_PATH": ":".join(map(str, _library_dirs(root))), "PATH": "/usr/bin:/bin"}
    elves = [root / BINARY, *sorted((root / BINARY).parent.glob("*.so"))]
    missing: set[str] = set()
    for elf in elves:
        out = _output(["ldd", str(elf)], env)
        missing |= set(re.findall(r"^\s*(\S+) => not found", out, flags=re.MULTILINE))
    return missing


def _depends(deb: Path) -> set[str]:
    """Package names in a .deb's Depends (every alternative, versions dropped)."""
    field = _output(["dpkg-deb", "-f", str(deb), "Depends"])
    return {alt.split()[0] for alt in re.split(r"[,|]", field) if alt.strip()}


def _installed(package: str) -> bool:
    """Whether dpkg says ``package`` is installed on this machine."""
    return _output(["dpkg-query", "-W", "-f=${db:Status-Status}", package]).strip() == "installed"


def _sonames(deb: Path) -> set[str]:
    """File names of the shared libraries a .deb ships."""
    listing = _output(["dpkg-deb", "-c", str(deb)])
    paths = (line.split(" -> ")[0].split()[-1] for line in listing.splitlines())  # no link target
    return {Path(p).name for p in paths if ".so" in p}


def _add_missing_libraries(root: Path, debs: list[Path], work: Path) -> None:
    """Unpack, level by level, the uninstalled Depends that ship a library ldd misses."""
    unpacked = {d.name.split("_")[0]: d for d in debs}
    fetched: dict[str, Path] = {}
    for _ in range(MAX_ROUNDS):
        missing = missing_libraries(root)
        if not missing:
            return
        wanted = {p for deb in unpacked.values() for p in _depends(deb)
                  if p.startswith("lib") and p not in unpacked and not _installed(p)}
        added = 0
        for package in sorted(wanted):
            if package not in fetched:
                fetched[package] = _apt_download(package, work)
            if _sonames(fetched[package]) & missing:
                _dpkg_extract(fetched[package], root)
                unpacked[package] = fetched[package]
                added += 1
        if not added:
            break
    missing = missing_libraries(root)
    if missing:
        raise AssetError(f"Unpacked Chromium still lacks {', '.join(sorted(missing))}; "
                         "install Debian's chromium instead (apt-get install chromium).")


def _write_launcher(root: Path) -> Path:
    """The script that starts the unpacked browser with its libraries on LD_LIBRARY_PATH."""
    lib_path = ":".join(f"$here/{d.relative_to(root)}" for d in _library_dirs(root))
    launcher = root / "chromium"
    launcher.write_text(_LAUNCHER.format(lib_path=lib_path, binary=BINARY))
    launcher.chmod(0o755)
    return launcher


def _check_runs(launcher: Path) -> str:
    """``chromium --version`` through the launcher; AssetError with its stderr if it fails."""
    r = subprocess.run([str(launcher), "--version"], check=False, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssetError(f"Provisioned Chromium does not start ({launcher}): "
                         f"{r.stderr.strip()[-300:]}")
    return r.stdout.strip()


def provision(force: bool = False) -> Path:
    """Make a Chromium available for the browser test; return what to launch.

    A system ``chromium`` is used as it is. Otherwise Debian's packages are unpacked into a
    staging folder that replaces :func:`browser_dir` only once the browser starts, so an
    interrupted run never leaves a half-made browser behind.

    Raises:
        AssetError: no apt-get/dpkg-deb, a package could not be fetched, or a library is
            still missing; the message says what to do.
    """
    existing = chromium_path()
    if existing and not force:
        return existing
    if shutil.which("dpkg-deb") is None:
        raise AssetError("dpkg-deb not found: install Chromium with your package manager.")
    final = browser_dir()
    staging = final.with_name(final.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="tlcourse-chromium-") as tmp:
            debs = [_apt_download(p, Path(tmp)) for p in PACKAGES]
            for deb in debs:
                _dpkg_extract(deb, staging)
            _add_missing_libraries(staging, debs, Path(tmp))
        _check_runs(_write_launcher(staging))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ~340 MB that would never be used
        raise
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final / "chromium"


def main(argv: list[str] | None = None) -> int:
    """``python -m tlcourse.assets.browser [--force]``: provision, print the path; 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    if set(args) - {"--force"}:
        print("usage: python -m tlcourse.assets.browser [--force]", file=sys.stderr)
        return 2
    try:
        path = provision(force="--force" in args)
    except AssetError as e:
        print(f"Chromium not provisioned: {e}\nThe browser test will be skipped. "
              f"Retry with: {PROVISION_CMD}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
