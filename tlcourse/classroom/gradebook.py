"""The instructor's gradebook: submissions collected into one SQLite file.

:func:`collect` imports submission files (see :mod:`tlcourse.classroom.submission`), each in
its own transaction, so a bad file is listed with the reason and leaves nothing behind.
Importing the same file again changes nothing (a submission is known by its learner and
checksum); a newer submission of a learner replaces the older one's rows in one transaction.
:func:`read_attempts` and :func:`read_exercises` give the rows the class report reads.

Example:
    >>> report = collect([Path("submissions")], Path("gradebook.sqlite"))  # doctest: +SKIP
    >>> print(report.render())  # doctest: +SKIP
    Imported 28 submission(s); 0 unchanged; 2 skipped:
      submissions/x.json: not valid JSON (the file ends early: truncated?)
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlcourse.classroom.submission import COURSE, FORMAT, checksum

GRADEBOOK_FORMAT = "tlcourse-gradebook/1"
_PSEUDONYM = re.compile(r"^learner-[0-9a-f]{8}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created TEXT NOT NULL,           -- when the learner made it (their clock, ISO 8601)
    course_version TEXT NOT NULL,
    source TEXT NOT NULL,            -- the file it came from
    imported_at TEXT NOT NULL,
    UNIQUE (learner, sha256)
);
CREATE TABLE IF NOT EXISTS attempts (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    learner TEXT NOT NULL,
    bank TEXT NOT NULL,
    item_id TEXT NOT NULL,
    shown_choice TEXT,
    shown_order TEXT,
    bank_choice TEXT NOT NULL,
    correct INTEGER NOT NULL,
    attempt INTEGER NOT NULL,        -- as the learner's store numbered it
    time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exercises (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    learner TEXT NOT NULL,
    exercise_id TEXT NOT NULL,
    chapter TEXT NOT NULL,
    passed INTEGER NOT NULL,
    checks TEXT NOT NULL,            -- JSON {check name: bool}
    time TEXT NOT NULL
);
"""


class GradebookError(RuntimeError):
    """The gradebook file cannot be used; the message says which file and what to do."""


class _Skip(ValueError):
    """A submission file that is not imported, with the reason."""


@dataclass
class CollectReport:
    """What :func:`collect` did with each file."""

    imported: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)  # already in the gradebook
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)

    def render(self) -> str:
        """A summary, then one line per skipped file naming it and the reason."""
        lines = [f"Imported {len(self.imported)} submission(s); {len(self.unchanged)} "
                 f"unchanged; {len(self.skipped)} skipped" + (":" if self.skipped else ".")]
        lines += [f"  {path}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


def collect(paths: Iterable[str | os.PathLike], db: str | os.PathLike) -> CollectReport:
    """Import every submission file in ``paths`` (files, or folders searched for ``*.json``).

    Args:
        paths: Submission files or folders holding them.
        db: The gradebook SQLite file; created if missing.

    Returns:
        Which files were imported, already there, or skipped and why.

    Raises:
        GradebookError: ``db`` exists but is not a tlcourse gradebook.

    Example:
        >>> collect(["submissions/"], "gradebook.sqlite").render()  # doctest: +SKIP
        'Imported 30 submission(s); 0 unchanged; 0 skipped.'
    """
    report = CollectReport()
    conn = _connect(Path(db), create=True)
    try:
        for path in _files(paths, report):
            try:
                submission = _load(path)
                if _import(conn, path, submission):
                    report.imported.append(path)
                else:
                    report.unchanged.append(path)
            except _Skip as e:
                report.skipped.append((path, str(e)))
            except sqlite3.Error as e:  # disk full, locked for too long...: that file only
                why = f"could not be stored ({e}); nothing of it was kept: collect it again"
                report.skipped.append((path, why))
    finally:
        conn.close()
    return report


def _files(paths: Iterable[str | os.PathLike], report: CollectReport) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            report.skipped.append((path, "no such file or folder"))
    return list(dict.fromkeys(found))  # a file named twice is read once


# ------------------------------------------------------------------------------ one file
def _load(path: Path) -> dict[str, Any]:
    """The submission in ``path``, or :class:`_Skip` saying why it cannot be imported."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _Skip("not a text file (corrupt, or not a submission)") from None
    except OSError as e:
        raise _Skip(f"cannot be read ({e.strerror or e})") from None
    if not text.strip():
        raise _Skip("empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()) - 1:
            raise _Skip("not valid JSON: the file ends early (truncated copy?); ask the "
                        "learner to hand it in again") from None
        raise _Skip(f"not valid JSON (corrupt at line {e.lineno}, column {e.colno}); ask the "
                    "learner to hand it in again") from None
    if not isinstance(data, dict) or "format" not in data:
        raise _Skip("not a tlcourse submission (no 'format' field)")
    fmt = data["format"]
    if fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith("tlcourse-submission/"):
            raise _Skip(f"submission format {fmt!r} is newer than this tlcourse reads "
                        f"({FORMAT}); upgrade tlcourse")
        raise _Skip(f"another kind of file (format {fmt!r}, expected {FORMAT!r})")
    if data.get("course") != COURSE:
        raise _Skip(f"a submission for another course ({data.get('course')!r}, not {COURSE!r})")
    if data.get("sha256") != checksum(data):
        raise _Skip("checksum mismatch: the file changed after `tlcourse submit` (corrupted "
                    "or edited); ask the learner to submit again")
    _check_fields(data)
    return data


_ATTEMPT_FIELDS = {"bank": str, "item_id": str, "bank_choice": str, "correct": bool,
                   "attempt": int, "time": str}
_EXERCISE_FIELDS = {"exercise_id": str, "chapter": str, "passed": bool, "checks": dict,
                    "time": str}


def _check_fields(data: dict[str, Any]) -> None:
    learner = data.get("learner")
    if not isinstance(learner, str) or not _PSEUDONYM.match(learner):
        raise _Skip(f"the learner id {learner!r} is not a tlcourse pseudonym")
    for key in ("created", "course_version"):
        if not isinstance(data.get(key), str):
            raise _Skip(f"missing or malformed {key!r}")
    for name, fields in (("attempts", _ATTEMPT_FIELDS), ("exercises", _EXERCISE_FIELDS)):
        rows = data.get(name)
        if not isinstance(rows, list):
            raise _Skip(f"missing or malformed {name!r} list")
        for i, row in enumerate(rows):
            bad = [k for k, t in fields.items()
                   if not isinstance(row, dict) or not isinstance(row.get(k), t)]
            if bad:
                raise _Skip(f"{name}[{i}] lacks or has a malformed {bad[0]!r}")


def _import(conn: sqlite3.Connection, path: Path, data: dict[str, Any]) -> bool:
    """Store one submission in one transaction; False if it is already there."""
    learner, digest = data["learner"], data["sha256"]
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM submissions WHERE learner = ? AND sha256 = ?",
                        (learner, digest)).fetchone():
            conn.execute("ROLLBACK")
            return False
        for old_id, old_created in conn.execute(
                "SELECT id, created FROM submissions WHERE learner = ?", (learner,)).fetchall():
            if old_created >= data["created"]:
                raise _Skip(f"an older submission of {learner} (made {data['created']}); the "
                            f"newer one (made {old_created}) is kept")
            for table in ("attempts", "exercises"):
                conn.execute(f"DELETE FROM {table} WHERE submission_id = ?", (old_id,))
            conn.execute("DELETE FROM submissions WHERE id = ?", (old_id,))
        sid = conn.execute(
            "INSERT INTO submissions (learner, sha256, created, course_version, source,"
            " imported_at) VALUES (?, ?, ?, ?, ?, ?)",
            (learner, digest, data["created"], data["course_version"], str(path),
             datetime.now(timezone.utc).isoformat(timespec="seconds"))).lastrowid
        conn.executemany(
            "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(sid, learner, a["bank"], a["item_id"], a.get("shown_choice"), a.get("shown_order"),
              a["bank_choice"], int(a["correct"]), a["attempt"], a["time"])
             for a in data["attempts"]])
        conn.executemany(
            "INSERT INTO exercises VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(sid, learner, e["exercise_id"], e["chapter"], int(e["passed"]),
              json.dumps(e["checks"]), e["time"]) for e in data["exercises"]])
        conn.execute("COMMIT")
        return True
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise


# ------------------------------------------------------------------------------ reading
def read_attempts(db: str | os.PathLike) -> list[dict[str, Any]]:
    """Every quiz attempt in the gradebook, with the item's chapter, topic and type.

    Returns:
        Dicts ``{"learner", "chapter", "item_id", "topic", "type", "grounded", "attempt",
        "bank_choice", "correct", "time"}``, by learner then time. ``attempt`` counts 1, 2, ...
        per learner and item in time order. Topic and type come from the current banks
        (None for an item no longer in any bank); ``grounded`` items were generated from the
        learner's own results, so their key differs per learner.
    """
    items = _bank_items()
    conn = _connect(Path(db), create=False)
    try:
        rows = conn.execute(
            "SELECT learner, bank, item_id, bank_choice, correct, time, ROW_NUMBER() OVER"
            " (PARTITION BY learner, item_id ORDER BY time, rowid) FROM attempts"
            " ORDER BY learner, time, rowid").fetchall()
    finally:
        conn.close()
    out = []
    for learner, bank, item_id, choice, correct, when, attempt in rows:
        grounded = item_id.startswith("grounded-")
        chapter, topic, qtype = items.get(item_id, (bank, None, None))
        if grounded:
            chapter, topic, qtype = bank, "your-results", "single"
        out.append({"learner": learner, "chapter": chapter, "item_id": item_id, "topic": topic,
                    "type": qtype, "grounded": grounded, "attempt": attempt,
                    "bank_choice": choice, "correct": bool(correct), "time": when})
    return out


def read_exercises(db: str | os.PathLike) -> list[dict[str, Any]]:
    """Every exercise check run: ``{"learner", "chapter", "exercise_id", "passed", "time"}``."""
    conn = _connect(Path(db), create=False)
    try:
        rows = conn.execute("SELECT learner, chapter, exercise_id, passed, time FROM exercises"
                            " ORDER BY learner, time, rowid").fetchall()
    finally:
        conn.close()
    return [{"learner": r[0], "chapter": r[1], "exercise_id": r[2], "passed": bool(r[3]),
             "time": r[4]} for r in rows]


def _bank_items() -> dict[str, tuple[str, str, str]]:
    """Item id -> (chapter, topic, type) over every bank."""
    from tlcourse.quiz.bank import list_banks, load_bank

    return {q.id: (q.chapter, q.topic, q.type)
            for name in list_banks() for q in load_bank(name).questions}


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    """Open (or create) the gradebook; refuse any other file, leaving it untouched."""
    fix = "give another --db, or move that file away"
    if not path.exists() and not create:
        raise GradebookError(f"{path}: no such gradebook; run `tlcourse class collect "
                             f"SUBMISSIONS... --db {path}` first")
    try:
        existed = path.exists() and path.stat().st_size > 0
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except (OSError, sqlite3.Error) as e:
        raise GradebookError(f"{path}: not a readable SQLite gradebook ({e}); {fix}") from None
    if existed:
        fmt = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            fmt = row[0] if row else None
        if fmt != GRADEBOOK_FORMAT:
            conn.close()
            raise GradebookError(f"{path}: not a tlcourse gradebook; {fix}")
        return conn
    conn.executescript(_SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (GRADEBOOK_FORMAT,))
    return conn
