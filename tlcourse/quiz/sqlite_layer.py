"""The SQLite layer under the progress store: the schema, its migrations, and transactions.

A learner's progress is one SQLite file (:mod:`tlcourse.quiz.progress`). Writes run inside
``BEGIN IMMEDIATE`` ... ``COMMIT`` and roll back on any error, so a full disk or a locked file
costs the one answer being written, never the ones before it; :func:`write_advice` says what
the learner can do. Migrations only add columns and fill them: no row is deleted or rewritten.
Standard library only (tests load the progress store on its own, without the package).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    kind TEXT NOT NULL,              -- 'quiz' (a chapter in a notebook) or 'drill'
    label TEXT NOT NULL,             -- bank name or drill description
    started_at TEXT NOT NULL,
    finished_at TEXT,
    correct INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    session_id INTEGER,
    bank TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,            -- bank keys, e.g. 'B', 'AC', 'T', '3.5', '2-1-3-4-5'
    correct INTEGER NOT NULL,
    attempt INTEGER NOT NULL,        -- 1 for the learner's first try at this question ever
    answered_at TEXT NOT NULL,       -- ISO 8601, UTC
    shown_answer TEXT,               -- the same answer in the letters displayed (schema 2)
    shown_order TEXT                 -- bank keys in display order, NULL = bank order (schema 2)
);
CREATE INDEX IF NOT EXISTS answers_by_learner ON answers (learner, question_id);
CREATE TABLE IF NOT EXISTS leitner (
    learner TEXT NOT NULL,
    question_id TEXT NOT NULL,
    box INTEGER NOT NULL,
    last_session INTEGER NOT NULL,   -- the learner's drill count when last reviewed
    updated_at TEXT NOT NULL,
    PRIMARY KEY (learner, question_id)
);
CREATE TABLE IF NOT EXISTS exercise_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    exercise_id TEXT NOT NULL,       -- 'ch01-ex-freeze' (schema 3)
    chapter TEXT NOT NULL,           -- the id's prefix before the first '-': 'ch01'
    passed INTEGER NOT NULL,         -- 1 when every named check passed
    details TEXT NOT NULL,           -- JSON {check name: true/false}, in the order given
    checked_at TEXT NOT NULL         -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS checks_by_learner ON exercise_checks (learner, exercise_id);
"""


#: Columns added by each schema version: (version, table, column, SQL type).
_ADDED_COLUMNS = [
    (2, "answers", "shown_answer", "TEXT"),
    (2, "answers", "shown_order", "TEXT"),
]


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a store written by an older tlcourse, inside the caller's transaction.

    Only adds columns and fills them from existing data: no row is deleted or rewritten.
    New tables (schema 3: ``exercise_checks``) were already created by ``SCHEMA``.
    """
    for added_in, table, column, sql_type in _ADDED_COLUMNS:
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if version < added_in and column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
    if version < 2:  # before shuffling, the learner saw the bank's own letters
        conn.execute("UPDATE answers SET shown_answer = answer WHERE shown_answer IS NULL")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def write_advice(error: sqlite3.Error) -> str:
    """What the learner can do about a failed write."""
    text = str(error).lower()
    # Writes have no retry loop (only opening has): by now SQLite has waited its 30 s busy timeout.
    if "locked" in text or "busy" in text:
        return ("Another program kept the file locked; close other quizzes or drills using it. "
                "You can carry on meanwhile.")
    if isinstance(error, sqlite3.OperationalError):  # disk full, I/O error, read-only file...
        return ("Free some disk space (or fix the disk or the file's permissions), or set "
                "TLCOURSE_PROGRESS_DB to a file on another disk. You can carry on meanwhile.")
    return ("The file may be damaged: move or rename it to start a fresh record, or set "
            "TLCOURSE_PROGRESS_DB to another file. You can carry on meanwhile.")


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; roll back on error; SQLite errors become ours.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        not_saved: Turns the ``sqlite3.Error`` of a failed write into the caller's error.
    """

    def __init__(self, conn: sqlite3.Connection,
                 not_saved: Callable[[sqlite3.Error], Exception]):
        self._conn, self._not_saved = conn, not_saved

    def __enter__(self) -> sqlite3.Connection:
        try:
            self._conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks
        except sqlite3.Error as e:
            raise self._not_saved(e) from e
        return self._conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise self._not_saved(e) from e
            return False
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise self._not_saved(exc) from exc
        return False  # anything else (a bug, Ctrl-C) propagates unchanged

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already done so."""
        # On a full disk or an I/O error SQLite often rolls back by itself; a second ROLLBACK
        # would fail with "no transaction is active" and hide the real error.
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the write's own error is the one worth reporting
