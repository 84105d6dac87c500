"""Student copies of the instructor's notebooks, in nbgrader's syntax, without nbgrader.

In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the marker's indentation (in a
markdown cell: ``YOUR ANSWER HERE``), and ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``
blocks vanish, as ``nbgrader generate_assignment`` does. Outputs, execution counts and saved
widget state (``metadata.widgets``, notebook and cell level: it holds the instructor's widget
output text) are cleared, and each copy is stamped with the course version and the SHA-256 of
its source.

Nothing is trusted to have worked: after stripping, every student copy is searched for the
markers and for every non-trivial line of every solution and hidden block, and the release is
refused (nothing written) if any turns up, as it is for an unbalanced, nested or misspelt
marker. The instructor's notebooks are only read.

Example:
    >>> from pathlib import Path
    >>> release("notebooks", Path("student"))  # doctest: +SKIP
    [PosixPath('student/00_claims.ipynb'), ...]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import TlcourseError

CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: A comment that looks like a marker (``## begin solutions``) but is not one: refused, since a
#: misspelt marker would ship its solution.
_LOOKALIKE = re.compile(r"^\s*#+\s*(BEGIN|END)[\s_-]*(SOLUTIONS?|HIDDEN|TESTS?)\b",
                        re.IGNORECASE)
#: Secret lines shorter than this (``pass``, ``x = 1``) are too common to search for.
MIN_SECRET_CHARS = 10


class ReleaseError(TlcourseError, ValueError):
    """The release was refused; the message names the notebook, cell and line to fix."""


@dataclass
class _Stripped:
    """One notebook's student copy, its source, and what was taken out of each cell."""

    source: Path
    original: dict[str, Any]  # the instructor's notebook, as read
    notebook: dict[str, Any]  # the student copy
    secrets: list[list[str]] = field(default_factory=list)  # per cell: the lines removed


def release(src_dir: str | os.PathLike = "notebooks", out: str | os.PathLike = "student",
            ) -> list[Path]:
    """Write a student copy of every notebook in ``src_dir`` to ``out``.

    Args:
        src_dir: The instructor's notebooks (only ``*.ipynb`` directly inside are released).
        out: Where the copies go; created if needed. Must not be ``src_dir`` or inside it.

    Returns:
        The student notebooks written, in name order.

    Raises:
        ReleaseError: A marker is unbalanced, nested or misspelt, or solution text would leak
            (the message names notebook, cell index and line); or the folders are wrong.
            Nothing is written then.

    Example:
        >>> paths = release("notebooks", "/tmp/student")  # doctest: +SKIP
    """
    src, dest = Path(src_dir).absolute(), Path(out).absolute()
    if not src.is_dir():
        raise ReleaseError(f"{src_dir}: no such folder; give the instructor's notebooks folder "
                           "with --src")
    if dest == src or src in dest.parents:
        raise ReleaseError(f"--out {out} is inside the notebooks folder {src_dir}; choose a "
                           "folder outside it, e.g. --out student")
    sources = sorted(src.glob("*.ipynb"))
    if not sources:
        raise ReleaseError(f"{src_dir}: no .ipynb notebooks to release")
    from tlcourse import __version__

    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    copies = [_strip_notebook(path) for path in sources]
    _check_no_leaks(copies)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for copy in copies:
        copy.notebook.setdefault("metadata", {})["tlcourse"] = {
            "version": __version__,
            "source_sha256": hashlib.sha256(copy.source.read_bytes()).hexdigest(),
            "released": when,
        }
        written.append(_write_atomic(dest / copy.source.name, copy.notebook))
    return written


# ------------------------------------------------------------------------------ stripping
def _strip_notebook(path: Path) -> _Stripped:
    try:
        text = path.read_text(encoding="utf-8")
        original, notebook = json.loads(text), json.loads(text)
        cells = notebook["cells"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReleaseError(f"{path.name}: not a readable notebook ({e})") from None
    copy = _Stripped(path, original, notebook)
    if isinstance(notebook.get("metadata"), dict):
        notebook["metadata"].pop("widgets", None)  # saved widget state: the instructor's run
    for index, cell in enumerate(cells):
        kept, secret = _strip_source(_source(cell), cell.get("cell_type"),
                                     f"{path.name}: cell {index}")
        copy.secrets.append(secret)
        cell["source"] = _as_source_lines("\n".join(kept))
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell.get("metadata", {}).pop("execution", None)  # run timestamps
        cell.get("metadata", {}).pop("widgets", None)  # saved widget state
    return copy


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _strip_source(text: str, cell_type: str | None, where: str) -> tuple[list[str], list[str]]:
    """(lines kept, lines removed) for one cell, nbgrader's way; refuse bad markers."""
    kept: list[str] = []
    secret: list[str] = []
    inside: str | None = None  # "SOLUTION" or "HIDDEN TESTS" while in a block
    stub = CODE_STUB if cell_type == "code" else TEXT_STUB
    for number, line in enumerate(text.split("\n"), 1):
        marker = next((m for m in MARKERS if m in line), None)
        here = f"{where}, line {number} ({line.strip()!r})"
        if marker is None:
            if _LOOKALIKE.match(line):
                raise ReleaseError(f"{here}: looks like a marker but is not one; write exactly "
                                   "### BEGIN SOLUTION, ### END SOLUTION, ### BEGIN HIDDEN "
                                   "TESTS or ### END HIDDEN TESTS")
            (secret if inside else kept).append(line)
            continue
        kind = marker.split(" ", 1)[1]
        if marker.startswith("BEGIN"):
            if inside:
                raise ReleaseError(f"{here}: {marker} inside an open {inside} block; close it "
                                   f"with ### END {inside} first (blocks cannot nest)")
            inside = kind
            if kind == "SOLUTION":
                indent = line[: len(line) - len(line.lstrip())]
                kept.extend(indent + s for s in stub)
        else:
            if inside != kind:
                opened = f"the open {inside} block" if inside else "no open block"
                raise ReleaseError(f"{here}: {marker} without its ### BEGIN {kind} "
                                   f"({opened}); add or remove a marker")
            inside = None
    if inside:
        raise ReleaseError(f"{where}: ### BEGIN {inside} is never closed; add ### END {inside}")
    return kept, secret


def _as_source_lines(text: str) -> list[str]:
    """Jupyter's on-disk form: a list of lines, each but the last ending in a newline."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


# ------------------------------------------------------------------------------ leak search
def _check_no_leaks(copies: list[_Stripped]) -> None:
    """Search every student copy for the markers and for every non-trivial secret line.

    A secret line may still appear in a student cell as often as the instructor's cell shows it
    outside the markers (a solution may repeat a line written openly); never more.
    """
    secrets = {line.strip() for c in copies for cell in c.secrets for line in cell}
    secrets = {s for s in secrets if len(s) >= MIN_SECRET_CHARS and any(ch.isalnum() for ch in s)}
    for copy in copies:
        for index, (cell, before) in enumerate(zip(copy.notebook["cells"],
                                                   copy.original["cells"])):
            student = json.dumps(cell, ensure_ascii=False)  # source, outputs and metadata
            instructor = json.dumps(before, ensure_ascii=False)
            removed = json.dumps("\n".join(copy.secrets[index]), ensure_ascii=False)
            for marker in MARKERS:
                if marker in student:
                    raise ReleaseError(f"{copy.source.name}: cell {index}: {marker!r} would "
                                       "be left in the student copy; check the markers")
            for secret in secrets:
                quoted = json.dumps(secret, ensure_ascii=False)[1:-1]  # as it sits in JSON
                shown_openly = instructor.count(quoted) - removed.count(quoted)
                if student.count(quoted) > shown_openly:
                    raise ReleaseError(
                        f"{copy.source.name}: cell {index}: solution text {secret!r} would be "
                        "left in the student copy; put it inside the solution markers")
        meta = json.dumps(copy.notebook.get("metadata", {}), ensure_ascii=False)
        leaked = [m for m in MARKERS if m in meta] + [s for s in secrets if s in meta]
        if leaked:
            raise ReleaseError(f"{copy.source.name}: notebook metadata holds {leaked[0]!r}; "
                               "remove it from the instructor notebook's metadata")


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename: a
    reader never sees half a file, and a failed write leaves the old one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_atomic(path: Path, notebook: dict[str, Any]) -> Path:
    """Write ``notebook`` to ``path`` atomically."""
    return write_text_atomic(
        path, json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
