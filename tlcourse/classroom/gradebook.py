"""The instructor's gradebook: submissions collected into one SQLite file.

:func:`collect` imports submission files (see :mod:`tlcourse.classroom.submission`). Each file is
judged alone (:mod:`tlcourse.classroom.validate`), in its own transaction: a bad one (corrupt,
truncated, oversize, nested too deep, a field of the wrong type or out of range, a date in the
future) is listed with the reason and leaves nothing behind, and the others are stored. Importing the same file again changes nothing
(a submission is known by its learner and checksum).

**Every submission is kept.** A learner who hands in twice has two submissions; the latest one
(by its ``created`` time, then by import order) is the one :func:`read_attempts` and
:func:`read_exercises` give the report. A genuine resubmission holds everything the earlier one
held (the progress store only grows), so when an earlier submission has rows the counted one
lacks, :func:`disagreements` names the learner: someone else may have handed in under that
pseudonym. With a roster of per-learner tokens (:func:`read_tokens`), a submission is only
accepted when it is signed with its learner's token.

Example:
    >>> report = collect([Path("submissions")], Path("gradebook.sqlite"))  # doctest: +SKIP
    >>> print(report.render())  # doctest: +SKIP
    Imported 28 submissions; 0 unchanged; 2 skipped:
      submissions/x.json: not valid JSON: the file ends early (truncated copy?); ...
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlcourse.classroom.submission import plural
from tlcourse.classroom.validate import Rejected, load_submission, short

from ..errors import TlcourseError

GRADEBOOK_FORMAT = "tlcourse-gradebook/1"

#: The course's checked exercises: the ``check(...)``/``check_answer(...)`` ids in ``notebooks/``
#: (tests/test_classroom_report.py keeps this list in step with the notebooks).
COURSE_EXERCISES = frozenset({
    "ch00-ex-ledger-pick",
    "ch01-ex-gap-vs-claim", "ch01-ex-balanced-from-recall",
    "ch02-ex-head-or-weights", "ch02-ex-best-layer",
    "ch03-ex-head-first-gap", "ch03-ex-choose-rate",
    "ch03b-ex-preprocessing-cost", "ch03b-ex-minority-recall",
    "ch04-ex-specificity", "ch04-ex-mitigation-price",
    "ch05-ex-shift-cost", "ch05-ex-best-adaptation",
    "ch05b-ex-robust-or-accurate", "ch05b-ex-negative-call",
    "ch07-ex-read-threshold", "ch07-ex-backbone-gap",
    "ch08-ex-frozen-vs-tfidf", "ch08-ex-best-rate",
    "ch09-ex-crossover", "ch09-ex-lora-share",
})
#: Grounded items are generated from the learner's own results, so no bank lists them.
GROUNDED_ID = re.compile(r"grounded-[a-z0-9]+(-[a-z0-9]+)*")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created TEXT NOT NULL,           -- when the learner made it (their clock, UTC ISO 8601)
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
# The submission that counts for each learner: the latest made, then the latest imported.
_COUNTED = ("SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY learner"
            " ORDER BY created DESC, id DESC) AS k FROM submissions) WHERE k = 1")


class GradebookError(TlcourseError, RuntimeError):
    """The gradebook file cannot be used; the message says which file and what to do."""


@dataclass
class CollectReport:
    """What :func:`collect` did with each file, and the learners to look at."""

    imported: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)  # already in the gradebook
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    warned: list[tuple[Path, str]] = field(default_factory=list)  # stored, but (file, what)
    flagged: list[str] = field(default_factory=list)  # learners whose submissions disagree

    def render(self) -> str:
        """A summary, then one line per skipped or doubtful file and per flagged learner."""
        more = self.skipped or self.warned or self.flagged
        lines = [f"Imported {plural(len(self.imported), 'submission')}; "
                 f"{len(self.unchanged)} unchanged; {len(self.skipped)} skipped"
                 + (f"; {len(self.warned)} stored with a warning" if self.warned else "")
                 + (":" if more else ".")]
        lines += [f"  {_shown(path)}: {why}" for path, why in self.skipped]
        lines += [f"  {_shown(path)}: stored, but {why}" for path, why in self.warned]
        lines += [f"  {line}" for line in self.flagged]
        return "\n".join(lines)


def collect(paths: Iterable[str | os.PathLike], db: str | os.PathLike,
            tokens: Mapping[str, str] | None = None) -> CollectReport:
    """Import every submission file in ``paths`` (files, or folders searched for ``*.json``).

    Args:
        paths: Submission files or folders holding them.
        db: The gradebook SQLite file; created if missing.
        tokens: Optional ``pseudonym -> token`` from the instructor's roster
            (:func:`read_tokens`). Given, a submission is only imported when its learner is on
            the roster and it is signed with that learner's token (``tlcourse submit --token``).

    Returns:
        Which files were imported, already there, or skipped and why; stored files with
        answers the course does not hold; learners whose submissions disagree.

    Raises:
        GradebookError: ``db`` exists but is not a tlcourse gradebook.

    Example:
        >>> collect(["submissions/"], "gradebook.sqlite").render()  # doctest: +SKIP
        'Imported 30 submissions; 0 unchanged; 0 skipped.'
    """
    report = CollectReport()
    conn = _connect(Path(db), create=True)
    known = _bank_items()
    try:
        for path in _files(paths, report):
            try:
                submission = load_submission(path, tokens)
                if _import(conn, path, submission):
                    report.imported.append(path)
                    extra = _not_in_course(submission, known)
                    if extra:
                        report.warned.append((path, extra))
                else:
                    report.unchanged.append(path)
            except Rejected as e:
                report.skipped.append((path, str(e)))
            except sqlite3.Error as e:  # disk full, locked for too long...: that file only
                why = f"could not be stored ({e}); nothing of it was kept: collect it again"
                report.skipped.append((path, why))
            except Exception as e:  # noqa: BLE001 - one file must never stop the class
                why = (f"could not be read ({type(e).__name__}: {short(str(e))}); nothing of "
                       "it was kept. This is a tlcourse bug: please report it with the file")
                report.skipped.append((path, why))
        report.flagged = _disagreements(conn)
    finally:
        conn.close()
    return report


def read_tokens(path: str | os.PathLike) -> dict[str, str]:
    """``pseudonym -> token`` from the roster CSV (header ``pseudonym,name,token``).

    The same file serves ``class report --roster`` (which reads only the names). Rows without a
    token are left out, so their learners' submissions are refused until they have one.

    Raises:
        GradebookError: The file cannot be read or has no ``pseudonym`` and ``token`` columns.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "roster.csv"
        >>> _ = p.write_text("pseudonym,name,token\\nlearner-7f3a9c2e,Ada,k3x-91q\\n")
        >>> read_tokens(p)
        {'learner-7f3a9c2e': 'k3x-91q'}
    """
    rows = roster_rows(path, "token", GradebookError, "to check tokens the roster needs a header "
                       "line 'pseudonym,name,token' and one row per learner")
    return {str(r["pseudonym"]).strip(): str(r["token"]).strip()
            for r in rows if r.get("pseudonym") and (r.get("token") or "").strip()}


def roster_rows(path: str | os.PathLike, column: str, error: type[Exception],
                missing: str) -> list[dict]:
    """The rows of the instructor's roster CSV (UTF-8, with or without a BOM), which must have
    the columns ``pseudonym`` and ``column``; any problem raises ``error`` in one line (a
    missing column: ``missing``, the fix to make)."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise error(f"{p}: cannot read the roster ({e.strerror or e})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise error(f"{p}: not a UTF-8 CSV file ({e}); save it as CSV UTF-8") from None
    if not rows or not {"pseudonym", column} <= set(rows[0]):
        raise error(f"{p}: {missing}")
    return rows


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


def _shown(path: Path) -> str:
    """The path as printable text, even when its name is not valid UTF-8."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _not_in_course(data: dict[str, Any], known: Mapping[str, tuple[str, str, str]]) -> str:
    """What a stored submission holds that the course does not ("" if nothing)."""
    items = [a["item_id"] for a in data["attempts"]
             if a["item_id"] not in known and not GROUNDED_ID.fullmatch(a["item_id"])]
    exercises = [e["exercise_id"] for e in data["exercises"]
                 if e["exercise_id"] not in COURSE_EXERCISES]
    parts = []
    if items and known:  # with no bank on disk every item would look unknown
        parts.append(f"{plural(len(items), 'answer')} to items no bank holds "
                     f"(e.g. {short(items[0], 40)})")
    if exercises:
        parts.append(f"{plural(len(exercises), 'exercise run')} of exercises not in the course "
                     f"(e.g. {short(exercises[0], 40)})")
    return " and ".join(parts) + ("; the class report ignores them" if parts else "")


def _import(conn: sqlite3.Connection, path: Path, data: dict[str, Any]) -> bool:
    """Store one submission in one transaction; False if it is already there.

    Nothing is ever deleted: the learner's earlier submissions stay, and the reading functions
    count the latest one (see :data:`_COUNTED`).
    """
    learner, digest = data["learner"], data["sha256"]
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM submissions WHERE learner = ? AND sha256 = ?",
                        (learner, digest)).fetchone():
            conn.execute("ROLLBACK")
            return False
        sid = conn.execute(
            "INSERT INTO submissions (learner, sha256, created, course_version, source,"
            " imported_at) VALUES (?, ?, ?, ?, ?, ?)",
            (learner, digest, data["created"], data["course_version"], _shown(path),
             datetime.now(timezone.utc).isoformat(timespec="seconds"))).lastrowid
        conn.executemany(
            "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(sid, learner, a["bank"], a["item_id"], a.get("shown_choice"), a.get("shown_order"),
              a["bank_choice"], int(a["correct"]), a["attempt"], a["time"])
             for a in data["attempts"]])
        conn.executemany(
            "INSERT INTO exercises VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(sid, learner, e["exercise_id"], e["chapter"], int(e["passed"]),
              json.dumps(e["checks"], sort_keys=True), e["time"]) for e in data["exercises"]])
        conn.execute("COMMIT")
        return True
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise


def _disagreements(conn: sqlite3.Connection) -> list[str]:
    """One line per learner whose earlier submission holds rows the counted one lacks."""
    counted = {r[0] for r in conn.execute(_COUNTED)}
    subs = conn.execute("SELECT id, learner, created, source FROM submissions"
                        " ORDER BY learner, created, id").fetchall()
    by_learner: dict[str, list[tuple[int, str, str]]] = {}
    for sid, learner, created, source in subs:
        by_learner.setdefault(learner, []).append((sid, created, source))

    def rows(sid: int) -> tuple[set, set]:
        a = conn.execute("SELECT bank, item_id, bank_choice, correct, attempt, time FROM attempts"
                         " WHERE submission_id = ?", (sid,)).fetchall()
        e = conn.execute("SELECT exercise_id, passed, checks, time FROM exercises"
                         " WHERE submission_id = ?", (sid,)).fetchall()
        return set(a), set(e)

    out = []
    for learner, subs_of in by_learner.items():
        if len(subs_of) < 2:
            continue
        (top,) = [s for s in subs_of if s[0] in counted]
        keep_a, keep_e = rows(top[0])
        odd = []
        for sid, created, source in subs_of:
            if sid != top[0]:
                a, e = rows(sid)
                if not (a <= keep_a and e <= keep_e):
                    odd.append((len(a - keep_a) + len(e - keep_e), created, source))
        if odd:
            lost, created, source = odd[0]
            out.append(
                f"{learner}: {len(subs_of)} submissions disagree: the one counted (made "
                f"{top[1]}, {top[2]}) lacks {plural(lost, 'row')} of the one made {created} "
                f"({source}){f' and {len(odd) - 1} more' if len(odd) > 1 else ''}; an earlier "
                "hand-in is never missing from a genuine later one. Compare the files and ask "
                "the learner which is theirs")
    return out


def disagreements(db: str | os.PathLike) -> list[str]:
    """Sentences naming each learner whose submissions disagree (see the module docstring).

    Example:
        >>> disagreements("gradebook.sqlite")  # doctest: +SKIP
        []
    """
    conn = _connect(Path(db), create=False)
    try:
        return _disagreements(conn)
    finally:
        conn.close()


# ------------------------------------------------------------------------------ reading
def read_attempts(db: str | os.PathLike) -> list[dict[str, Any]]:
    """Every quiz attempt of each learner's counted (latest) submission, with the item's
    chapter, topic and type.

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
            f" WHERE submission_id IN ({_COUNTED}) ORDER BY learner, time, rowid").fetchall()
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
    """Every exercise check run of each learner's counted (latest) submission:
    ``{"learner", "chapter", "exercise_id", "passed", "time"}``."""
    conn = _connect(Path(db), create=False)
    try:
        rows = conn.execute("SELECT learner, chapter, exercise_id, passed, time FROM exercises"
                            f" WHERE submission_id IN ({_COUNTED})"
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
