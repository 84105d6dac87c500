"""Progress store: durable, shared safely, never clobbers a broken file, Leitner boxes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tlcourse.quiz.progress import (
    ProgressStore,
    ProgressStoreError,
    default_db_path,
    default_learner,
)

REPO = Path(__file__).resolve().parents[1]
# The store is stdlib-only; child processes load its file directly so that they do not pay
# for importing the whole tlcourse package (torch etc.) and the tests stay fast.
_LOAD_STORE = f"""
import importlib.util, sys
_spec = importlib.util.spec_from_file_location("_progress", {str(REPO / "tlcourse/quiz/progress.py")!r})
_mod = sys.modules["_progress"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
ProgressStore = _mod.ProgressStore
"""


def _python(code: str, db: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "TLCOURSE_PROGRESS_DB": str(db)}
    return subprocess.Popen([sys.executable, "-c", _LOAD_STORE + textwrap.dedent(code), *args],
                            env=env, text=True, **popen)


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("TLCOURSE_LEARNER", "tester")


def test_defaults_honour_environment(tmp_path, monkeypatch):
    assert default_db_path() == tmp_path / "env.sqlite"
    assert default_learner() == "tester"
    monkeypatch.delenv("TLCOURSE_PROGRESS_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "tlcourse" / "progress.sqlite"


def test_answers_survive_reopen_with_attempts_and_timestamps(tmp_path):
    db = tmp_path / "p.sqlite"
    with ProgressStore(db, learner="ada") as s:
        s.record_answer("ch01", "q1", "B", correct=False)
        s.record_answer("ch01", "q1", "A", correct=True, update_leitner=False)
        s.record_answer("ch02", "q2", "AC", correct=True)
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ProgressStore(db, learner="ada") as s:
        got = s.answers()
        assert [(a.question_id, a.answer, a.correct, a.attempt) for a in got] == [
            ("q1", "B", False, 1), ("q1", "A", True, 2), ("q2", "AC", True, 1)]
        assert all(a.answered_at.endswith("+00:00") for a in got)
        assert s.attempts("q1") == 2 and len(s.answers(bank="ch02")) == 1
        assert s.box("q1") == 1  # the retry did not move it
    with ProgressStore(db, learner="bob") as s:
        assert s.answers() == []  # learners are kept apart


def test_session_score_is_stored(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite") as s:
        sid = s.start_session("quiz", "ch01")
        s.update_session(sid, 3, 5, finished=True)
        row = s._conn.execute("SELECT correct, total, finished_at FROM sessions").fetchone()
    assert row[:2] == (3, 5) and row[2]


def test_answers_survive_a_killed_process(tmp_path):
    db = tmp_path / "p.sqlite"
    proc = _python("""
        import sys, time
        s = ProgressStore(learner="crash")
        for i in (1, 2):
            s.record_answer("ch01", f"q{i}", "A", correct=True)
        print("recorded 2", flush=True)
        time.sleep(60)  # killed here, between questions, connection still open
        s.record_answer("ch01", "q3", "A", correct=True)
        """, db, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "recorded 2"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with ProgressStore(db, learner="crash") as s:
        assert [a.question_id for a in s.answers()] == ["q1", "q2"]
        s.record_answer("ch01", "q3", "A", correct=True)  # and the store still works
        assert len(s.answers()) == 3


def test_two_learners_writing_at_once_do_not_clobber_each_other(tmp_path):
    db = tmp_path / "p.sqlite"
    code = """
        s = ProgressStore(learner=sys.argv[1])
        sys.stdin.readline()  # start together
        for i in range(60):
            s.record_answer("exam", f"q{i % 7}", str(i), correct=i % 2 == 0)
        """
    procs = [_python(code, db, name, stdin=subprocess.PIPE) for name in ("ann", "ben")]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.stdin.close()
        assert p.wait(timeout=60) == 0
    for name in ("ann", "ben"):
        with ProgressStore(db, learner=name) as s:
            got = s.answers()
            assert [a.answer for a in got] == [str(i) for i in range(60)]
            assert sorted(a.attempt for a in got if a.question_id == "q0") == list(range(1, 10))


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_store_gives_a_clear_error_and_is_left_untouched(tmp_path, content):
    db = tmp_path / "progress.sqlite"
    db.write_bytes(content)
    with pytest.raises(ProgressStoreError) as err:
        ProgressStore(db)
    message = str(err.value)
    assert str(db) in message and "move or rename" in message and "TLCOURSE_PROGRESS_DB" in message
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.sqlite"]


def test_foreign_sqlite_file_is_refused(tmp_path):
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE photos (x)")
    with pytest.raises(ProgressStoreError, match="not a tlcourse progress store"):
        ProgressStore(db)
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["photos"]


def test_unreadable_store_is_reported(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    db = tmp_path / "p.sqlite"
    ProgressStore(db).close()
    db.chmod(0)
    with pytest.raises(ProgressStoreError, match="not readable"):
        ProgressStore(db)


def test_leitner_boxes_move_and_missed_questions_are_due_next_drill(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite") as s:
        s.start_session("drill", "one")
        s.record_answer("exam", "missed", "B", correct=False)
        s.record_answer("exam", "known", "A", correct=True)
        assert s.boxes() == {"missed": 1, "known": 1 + 0 + 1}
        assert s.due() == {"missed": 1}  # box 2 waits two drills
        s.start_session("drill", "two")
        assert set(s.due()) == {"missed", "known"}
        for _ in range(6):
            s.record_answer("exam", "known", "A", correct=True)
        assert s.box("known") == 5  # capped at the last box
        s.record_answer("exam", "known", "B", correct=False)
        assert s.box("known") == 1  # one miss sends it back to the start


# ----------------------------------------------------------------------------- full disk
def _store_that_cannot_grow(path: Path, learner: str = "ada", answers: int = 40) -> ProgressStore:
    """A store with some answers whose file may not grow any more, as on a full disk."""
    store = ProgressStore(path, learner=learner)
    for i in range(answers):
        store.record_answer("ch01", f"early{i}", "A" * 40, correct=True)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    return store


def test_full_disk_raises_a_clear_error_and_keeps_earlier_answers(tmp_path):
    db = tmp_path / "p.sqlite"
    store = _store_that_cannot_grow(db)
    saved = len(store.answers())
    with pytest.raises(ProgressStoreError) as err:
        for i in range(10_000):
            store.record_answer("ch01", f"late{i}", "B" * 40, correct=False)
            saved += 1
    message = str(err.value)
    assert "not saved" in message and "full" in message and str(db) in message
    assert "disk space" in message and "TLCOURSE_PROGRESS_DB" in message
    assert not isinstance(err.value.__cause__, ProgressStoreError)  # the real SQLite error
    assert "full" in str(err.value.__cause__)
    assert not store._conn.in_transaction
    assert len(store.answers()) == saved  # the failed answer left nothing half-written
    store.close()
    with ProgressStore(db, learner="ada") as again:  # room again (a new connection): all there
        assert [a.question_id for a in again.answers()][:2] == ["early0", "early1"]
        assert len(again.answers()) == saved
        again.record_answer("ch01", "after", "A", correct=True)


def test_other_errors_inside_a_write_roll_back_and_propagate_unchanged(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite") as s:
        with pytest.raises(KeyError), s._transaction() as conn:
            conn.execute("INSERT INTO meta VALUES ('x', 'y')")
            raise KeyError("boom")
        assert not s._conn.in_transaction
        assert s._conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'x'").fetchone()[0] == 0


# ----------------------------------------------------------------------------- where the file is
def test_explicit_path_expands_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with ProgressStore("~/p.sqlite") as s:
        assert s.path == tmp_path / "home" / "p.sqlite"
    assert (tmp_path / "home" / "p.sqlite").exists() and not (tmp_path / "~").exists()


def test_relative_explicit_path_is_made_absolute_against_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with ProgressStore("rel.sqlite") as s:
        assert s.path == tmp_path / "rel.sqlite"


def test_relative_env_path_is_the_same_file_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", "mine/progress.sqlite")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where a notebook runs
    from_notebook = default_db_path()
    monkeypatch.chdir(tmp_path)  # where the CLI runs
    assert default_db_path() == from_notebook == tmp_path / "xdg/tlcourse/mine/progress.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home/.local/share/tlcourse/mine/progress.sqlite"
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", "~/p.sqlite")
    assert default_db_path() == tmp_path / "home" / "p.sqlite"


# ----------------------------------------------------------------------------- schema upgrade
_SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL,
    kind TEXT NOT NULL, label TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    correct INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0);
CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL,
    session_id INTEGER, bank TEXT NOT NULL, question_id TEXT NOT NULL, answer TEXT NOT NULL,
    correct INTEGER NOT NULL, attempt INTEGER NOT NULL, answered_at TEXT NOT NULL);
CREATE INDEX answers_by_learner ON answers (learner, question_id);
CREATE TABLE leitner (learner TEXT NOT NULL, question_id TEXT NOT NULL, box INTEGER NOT NULL,
    last_session INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (learner, question_id));
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO sessions VALUES (1, 'ada', 'drill', 'old drill', '2026-01-01T10:00', NULL, 1, 2);
INSERT INTO answers VALUES (1, 'ada', 1, 'exam', 'q1', 'B', 0, 1, '2026-01-01T10:01');
INSERT INTO answers VALUES (2, 'ada', 1, 'exam', 'q2', 'AC', 1, 1, '2026-01-01T10:02');
INSERT INTO answers VALUES (3, 'bob', NULL, 'ch01', 'q1', 'A', 1, 1, '2026-01-02T09:00');
INSERT INTO leitner VALUES ('ada', 'q1', 1, 1, '2026-01-01T10:01');
INSERT INTO leitner VALUES ('ada', 'q2', 2, 1, '2026-01-01T10:02');
"""


def _rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_a_schema_1_store_is_upgraded_in_place_and_keeps_every_row(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(_SCHEMA_1)
    before = {t: _rows(db, t) for t in ("sessions", "answers", "leitner")}
    with ProgressStore(db, learner="ada") as s:
        old = s.answers()
        # Old answers were shown in bank order: displayed letters = bank keys, order unknown.
        assert [(a.question_id, a.answer, a.shown_answer, a.shown_order) for a in old] == [
            ("q1", "B", "B", None), ("q2", "AC", "AC", None)]
        assert s.boxes() == {"q1": 1, "q2": 2} and s.drill_count() == 1
        new = s.record_answer("exam", "q1", "C", correct=True, shown_answer="A",
                              shown_order="C-A-B-D")
        assert (new.attempt, new.shown_answer, new.shown_order) == (2, "A", "C-A-B-D")
    after = {t: _rows(db, t) for t in ("sessions", "answers", "leitner")}
    assert after["sessions"] == before["sessions"]
    assert [r[:9] for r in after["answers"][:3]] == before["answers"]  # old columns untouched
    assert len(after["answers"]) == 4
    with sqlite3.connect(db) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == ("3",)
    with ProgressStore(db, learner="bob") as s:  # every learner's rows survive; reopening is a no-op
        assert [(a.answer, a.shown_answer) for a in s.answers()] == [("A", "A")]


def test_a_store_from_a_newer_tlcourse_is_refused_and_left_alone(tmp_path):
    db = tmp_path / "new.sqlite"
    ProgressStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ProgressStoreError, match="newer tlcourse"):
        ProgressStore(db)
    assert _rows(db, "meta") == [("schema_version", "99")]


def test_answers_from_other_threads_are_saved(tmp_path):
    """In JupyterLab each widget click may arrive on another kernel thread (found by the
    browser test): every answer must still be saved."""
    import threading

    store = ProgressStore(tmp_path / "p.sqlite", learner="ana")
    errors: list[BaseException] = []

    def click(answer: str) -> None:
        try:
            store.record_answer("ch01", "q1", answer, correct=answer == "A")
        except BaseException as e:  # noqa: BLE001 - reported by the assert below
            errors.append(e)

    for answer in ("B", "A"):  # one click after the other, each on its own thread
        t = threading.Thread(target=click, args=(answer,))
        t.start()
        t.join()
    assert not errors, errors
    assert [r.answer for r in store.answers(question_id="q1")] == ["B", "A"]
    store.close()
