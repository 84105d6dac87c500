"""Per-learner progress in SQLite: answers, attempts, timestamps, scores and Leitner boxes.

Where: ``TLCOURSE_PROGRESS_DB`` if set (a relative value counts from the data directory, see
:func:`default_db_path`), else ``$XDG_DATA_HOME/tlcourse/progress.sqlite``
(``~/.local/share/tlcourse/progress.sqlite``). Who: ``TLCOURSE_LEARNER`` if set, else the OS
user. Several learners (and several processes) share one file safely.

Durability: WAL journal, ``synchronous=FULL``, and every answer is committed in its own
transaction before the call returns, so a killed kernel loses nothing already answered. A file
that is not a readable tlcourse store raises :class:`ProgressStoreError` saying where it is
and what to do; it is never overwritten or deleted. A write that fails (full disk, I/O error)
raises :class:`ProgressStoreError` saying the answer was not saved; earlier answers are kept.

Choices are shuffled on screen (:mod:`tlcourse.quiz.shuffle`), so each answer is kept twice:
``answer`` in the bank's keys (what was graded) and ``shown_answer`` in the letters the learner
saw, with ``shown_order``, the bank's keys in display order (e.g. ``C-A-D-B``). A store written
before shuffling (schema 1) is upgraded in place when opened: the columns are added, every row
is kept, and its old answers get ``shown_answer = answer`` (they were shown in bank order,
which a NULL ``shown_order`` records).

Exercise checks (:func:`tlcourse.exercises.check`) are kept in the same file, one row per run
of a check cell, with the named checks as JSON (schema 3; an older store gains the empty table
when opened, every row kept). :meth:`ProgressStore.pseudonym` gives each learner a random id,
made on first use and stored in the file, for the submission an instructor collects.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "p.sqlite")
    >>> with ProgressStore(path, learner="ada") as store:
    ...     _ = store.record_answer("ch01", "ch01-q01", "B", correct=True)
    ...     len(store.answers())
    1
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# Absolute imports: tests load this file on its own.
from tlcourse.errors import TlcourseError
from tlcourse.quiz.sqlite_layer import SCHEMA, SCHEMA_VERSION, Transaction, migrate, write_advice

#: Sessions to wait before a question in box ``b`` is due again (box 1 = missed: next session).
LEITNER_INTERVALS = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
MAX_BOX = max(LEITNER_INTERVALS)



class ProgressStoreError(TlcourseError, RuntimeError):
    """The progress file exists but cannot be used; the message says where and what to do."""


@dataclass(frozen=True)
class AnswerRecord:
    """One stored answer."""

    learner: str
    bank: str
    question_id: str
    answer: str
    correct: bool
    attempt: int
    answered_at: str
    session_id: int | None = None
    shown_answer: str | None = None  # in the displayed letters
    shown_order: str | None = None  # bank keys in display order; None = bank order


@dataclass(frozen=True)
class CheckRecord:
    """One stored run of an exercise's checks."""

    learner: str
    exercise_id: str
    chapter: str
    passed: bool
    details: dict[str, bool]  # check name -> passed, in the order the exercise gave them
    checked_at: str


def progress_dir() -> Path:
    """Where a learner's progress is kept: ``$XDG_DATA_HOME/tlcourse`` or
    ``~/.local/share/tlcourse``. Not :func:`tlcourse.assets.data_dir`, the course's data sets.

    Example:
        >>> progress_dir().name
        'tlcourse'
    """
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec calls a relative XDG_DATA_HOME invalid: ignore it, as other programs do.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "tlcourse"


def default_db_path() -> Path:
    """The progress file: ``TLCOURSE_PROGRESS_DB`` or ``progress.sqlite`` in :func:`progress_dir`.

    ``~`` in ``TLCOURSE_PROGRESS_DB`` is expanded. A relative ``TLCOURSE_PROGRESS_DB`` is taken
    inside :func:`progress_dir`, never the working directory: notebooks run in ``notebooks/`` and
    the CLI in the repository root, and both must find the same file. (An explicit path, as
    given to :class:`ProgressStore` or ``--db``, counts from the working directory instead.)

    Example:
        >>> default_db_path().suffix
        '.sqlite'
    """
    override = os.environ.get("TLCOURSE_PROGRESS_DB")
    if override:
        return progress_dir() / Path(override).expanduser()  # `/` keeps an absolute path as is
    return progress_dir() / "progress.sqlite"


def resolve_db_path(path: str | os.PathLike) -> Path:
    """An explicit progress-file path, ``~`` expanded and made absolute against the cwd.

    Example:
        >>> resolve_db_path("~/p.sqlite") == Path.home() / "p.sqlite"
        True
    """
    return Path(path).expanduser().absolute()


def default_learner() -> str:
    """The learner's name: ``TLCOURSE_LEARNER`` or the OS user."""
    name = os.environ.get("TLCOURSE_LEARNER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "learner"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProgressStore:
    """A learner's view of the shared progress file.

    Args:
        path: The SQLite file (default :func:`default_db_path`). Created if missing.
        learner: Whose progress (default :func:`default_learner`).

    Raises:
        ProgressStoreError: If the file is corrupt, not a tlcourse store, or unreadable.

    Example:
        >>> import tempfile, os
        >>> store = ProgressStore(os.path.join(tempfile.mkdtemp(), "p.sqlite"), learner="ada")
        >>> store.box("q1")
        0
        >>> store.close()
    """

    def __init__(self, path: str | os.PathLike | None = None, learner: str | None = None):
        self.path = resolve_db_path(path) if path is not None else default_db_path()
        self.learner = learner or default_learner()
        self._conn = self._open()

    # ------------------------------------------------------------------ opening
    def _fail(self, problem: str) -> ProgressStoreError:
        return ProgressStoreError(
            f"Cannot use the tlcourse progress file {self.path}: {problem}. "
            "It has been left untouched. To start a fresh record, move or rename it "
            f"(e.g. to {self.path.name}.broken) or set TLCOURSE_PROGRESS_DB to another file; "
            "to keep the old answers, restore it from a backup."
        )

    def _not_saved(self, error: sqlite3.Error) -> ProgressStoreError:
        """The error for a failed write: that answer is lost, the learner can carry on."""
        return ProgressStoreError(
            f"the tlcourse progress file {self.path} could not be written ({error}), so this "
            f"answer was not saved. Answers saved before are kept. {write_advice(error)}"
        )

    def _open(self) -> sqlite3.Connection:
        # Another process may be creating the store or switching it to WAL at this very moment;
        # SQLite then answers "database is locked" at once (journal-mode changes ignore the busy
        # timeout). That is contention, not damage: wait and try again.
        deadline = time.monotonic() + 30
        while True:
            try:
                return self._open_once()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                    raise self._fail(f"it cannot be opened ({e})") from e
                time.sleep(0.05)

    def _open_once(self) -> sqlite3.Connection:
        existed = self.path.exists()
        if existed and not os.access(self.path, os.R_OK | os.W_OK):
            raise self._fail("it is not readable and writable by you")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
            # check_same_thread=False: in JupyterLab (ipykernel 7) each widget click may arrive
            # on another thread; the kernel handles them one at a time, and SQLite is built
            # serialized (sqlite3.threadsafety == 3), so one connection may serve them all.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise self._fail(f"it cannot be opened ({e})") from e
        try:
            if existed and self.path.stat().st_size > 0:
                check = conn.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise self._fail(f"SQLite reports damage ({check})")
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if tables and "meta" not in tables:
                    raise self._fail("it is an SQLite file but not a tlcourse progress store")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            version = int(conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            if version < SCHEMA_VERSION:
                migrate(conn, version)
            conn.execute("COMMIT")
        except ProgressStoreError:
            conn.close()
            raise
        except sqlite3.OperationalError as e:
            conn.close()
            if "locked" in str(e) or "busy" in str(e):
                raise  # contention: _open retries
            raise self._fail(f"it is not a readable SQLite database ({e})") from e
        except sqlite3.DatabaseError as e:
            conn.close()
            raise self._fail(f"it is not a readable SQLite database ({e})") from e
        if version > SCHEMA_VERSION:
            conn.close()
            raise self._fail(f"it was written by a newer tlcourse (schema {version}); upgrade")
        return conn

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self._conn.close()

    def __enter__(self) -> ProgressStore:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple = ()) -> int:
        """Run one statement in its own committed transaction; return lastrowid."""
        with self._transaction():
            return self._conn.execute(sql, params).lastrowid or 0

    def _transaction(self) -> Transaction:
        return Transaction(self._conn, self._not_saved)

    # ------------------------------------------------------------------ sessions
    def start_session(self, kind: str, label: str) -> int:
        """Open a quiz or drill session; return its id."""
        return self._write(
            "INSERT INTO sessions (learner, kind, label, started_at) VALUES (?, ?, ?, ?)",
            (self.learner, kind, label, _now()),
        )

    def update_session(self, session_id: int, correct: int, total: int, finished: bool = False):
        """Store a session's running (or final) score."""
        self._write(
            "UPDATE sessions SET correct = ?, total = ?, finished_at = ? WHERE id = ?",
            (correct, total, _now() if finished else None, session_id),
        )

    def drill_count(self) -> int:
        """How many drills this learner has started (the Leitner clock)."""
        row = self._conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE learner = ? AND kind = 'drill'", (self.learner,)
        ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ answers
    def record_answer(
        self,
        bank: str,
        question_id: str,
        answer: str,
        correct: bool,
        session_id: int | None = None,
        update_leitner: bool = True,
        shown_answer: str | None = None,
        shown_order: str | None = None,
    ) -> AnswerRecord:
        """Commit one answer (and its Leitner move) in a single transaction.

        Args:
            bank: The bank the question came from.
            question_id: The question's stable id.
            answer: The answer's text form in the bank's keys (see
                :mod:`tlcourse.quiz.grading`).
            correct: Whether it was right.
            session_id: The session it belongs to, if any.
            update_leitner: Move the question between Leitner boxes (False for retries).
            shown_answer: The answer in the letters displayed (default: ``answer``).
            shown_order: The bank's keys in display order, e.g. ``"C-A-D-B"`` (None: bank order
                or no choices).

        Returns:
            The stored record, with its attempt number.
        """
        with self._transaction() as conn:
            attempt = 1 + conn.execute(
                "SELECT COUNT(*) FROM answers WHERE learner = ? AND question_id = ?",
                (self.learner, question_id),
            ).fetchone()[0]
            when = _now()
            shown_answer = answer if shown_answer is None else shown_answer
            conn.execute(
                "INSERT INTO answers (learner, session_id, bank, question_id, answer, correct,"
                " attempt, answered_at, shown_answer, shown_order)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.learner, session_id, bank, question_id, answer, int(correct), attempt, when,
                 shown_answer, shown_order),
            )
            if update_leitner:
                box = self._box(conn, question_id)
                new_box = min(max(box, 1) + 1, MAX_BOX) if correct else 1  # unseen+right -> 2
                conn.execute(
                    "INSERT OR REPLACE INTO leitner VALUES (?, ?, ?, ?, ?)",
                    (self.learner, question_id, new_box, self.drill_count(), when),
                )
        return AnswerRecord(self.learner, bank, question_id, answer, correct, attempt, when,
                            session_id, shown_answer, shown_order)

    def answers(self, bank: str | None = None, question_id: str | None = None) -> list[AnswerRecord]:
        """This learner's answers, oldest first, optionally filtered."""
        sql = ("SELECT learner, bank, question_id, answer, correct, attempt, answered_at, "
               "session_id, shown_answer, shown_order FROM answers WHERE learner = ?")
        params: list = [self.learner]
        if bank is not None:
            sql, params = sql + " AND bank = ?", params + [bank]
        if question_id is not None:
            sql, params = sql + " AND question_id = ?", params + [question_id]
        rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [AnswerRecord(r[0], r[1], r[2], r[3], bool(r[4]), *r[5:]) for r in rows]

    def attempts(self, question_id: str) -> int:
        """How many times this learner has answered ``question_id``."""
        return len(self.answers(question_id=question_id))

    # ------------------------------------------------------------------ exercise checks
    def record_check(self, exercise_id: str, checks: Mapping[str, bool]) -> CheckRecord:
        """Commit one run of an exercise's checks; ``passed`` = every check passed.

        Args:
            exercise_id: ``chNN-ex-<slug>``; its chapter is the part before the first ``-``.
            checks: Check name -> whether it passed.
        """
        details = {str(name): bool(ok) for name, ok in checks.items()}
        passed = bool(details) and all(details.values())
        chapter = exercise_id.split("-", 1)[0]
        when = _now()
        self._write(
            "INSERT INTO exercise_checks (learner, exercise_id, chapter, passed, details,"
            " checked_at) VALUES (?, ?, ?, ?, ?, ?)",
            (self.learner, exercise_id, chapter, int(passed), json.dumps(details), when),
        )
        return CheckRecord(self.learner, exercise_id, chapter, passed, details, when)

    def checks(self, exercise_id: str | None = None) -> list[CheckRecord]:
        """This learner's exercise check runs, oldest first, optionally for one exercise."""
        sql = ("SELECT learner, exercise_id, chapter, passed, details, checked_at "
               "FROM exercise_checks WHERE learner = ?")
        params: list = [self.learner]
        if exercise_id is not None:
            sql, params = sql + " AND exercise_id = ?", params + [exercise_id]
        rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [CheckRecord(r[0], r[1], r[2], bool(r[3]), json.loads(r[4]), r[5]) for r in rows]

    # ------------------------------------------------------------------ pseudonym
    def pseudonym(self) -> str:
        """This learner's random id, e.g. ``learner-7f3a9c2e``: made once, kept in the file.

        It replaces the learner's name in anything that leaves the machine (a submission);
        only this file links the two.
        """
        key = f"pseudonym:{self.learner}"
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (key, f"learner-{secrets.token_hex(4)}"))
            return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    # ------------------------------------------------------------------ Leitner boxes
    @staticmethod
    def _box_row(conn: sqlite3.Connection, learner: str, question_id: str):
        return conn.execute(
            "SELECT box, last_session FROM leitner WHERE learner = ? AND question_id = ?",
            (learner, question_id),
        ).fetchone()

    def _box(self, conn: sqlite3.Connection, question_id: str) -> int:
        row = self._box_row(conn, self.learner, question_id)
        return int(row[0]) if row else 0

    def box(self, question_id: str) -> int:
        """The question's Leitner box: 0 = never seen, 1 = missed last time ... 5 = well known."""
        return self._box(self._conn, question_id)

    def boxes(self) -> dict[str, int]:
        """Every question this learner has met, with its box."""
        rows = self._conn.execute(
            "SELECT question_id, box FROM leitner WHERE learner = ?", (self.learner,)
        ).fetchall()
        return {qid: int(box) for qid, box in rows}

    def due(self, question_ids: list[str] | None = None) -> dict[str, int]:
        """Questions due in the learner's next drill, with their box.

        A question in box ``b`` last seen at drill ``n`` is due from drill
        ``n + LEITNER_INTERVALS[b]``, so a missed one (box 1) comes back in the very next drill.
        """
        upcoming = self.drill_count() + 1
        rows = self._conn.execute(
            "SELECT question_id, box, last_session FROM leitner WHERE learner = ?",
            (self.learner,),
        ).fetchall()
        wanted = set(question_ids) if question_ids is not None else None
        return {
            qid: int(box)
            for qid, box, last in rows
            if (wanted is None or qid in wanted) and upcoming - last >= LEITNER_INTERVALS[box]
        }


def data_dir() -> Path:
    """Old name of :func:`progress_dir` (it clashed with :func:`tlcourse.assets.data_dir`)."""
    import warnings

    warnings.warn("tlcourse.quiz.progress.data_dir is now progress_dir; the old name goes in "
                  "the next release", DeprecationWarning, stacklevel=2)
    return progress_dir()
