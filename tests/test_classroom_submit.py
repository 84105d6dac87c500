"""Exercise checks, the schema-3 upgrade, submit -> collect -> read, and bad files skipped."""

from __future__ import annotations

import getpass
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tlcourse.classroom.gradebook import (
    GradebookError,
    collect,
    read_attempts,
    read_exercises,
)
from tlcourse.classroom.release import release
from tlcourse.classroom.submission import checksum, submit
from tlcourse.cli import main
from tlcourse.exercises import check
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.widgets import build_quiz

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _db(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "progress.sqlite"))
    monkeypatch.setenv("TLCOURSE_LEARNER", "ada")
    return tmp_path / "progress.sqlite"


# ----------------------------------------------------------------------------- exercise checks
def test_check_prints_records_and_returns_without_raising(_db, capsys):
    assert check("ch02-ex-freeze", {"head trains": True, "backbone frozen": True}) is True
    assert capsys.readouterr().out == "✓ ch02-ex-freeze: all 2 checks pass\n"
    assert check("ch02-ex-freeze", {"head trains": True, "backbone frozen": False,
                                    "accuracy above 50 %": 0}) is False
    assert capsys.readouterr().out == (
        "✗ ch02-ex-freeze: not yet - backbone frozen, accuracy above 50 %\n")
    with ProgressStore(_db, learner="ada") as store:
        runs = store.checks()
    assert [(r.exercise_id, r.chapter, r.passed) for r in runs] == [
        ("ch02-ex-freeze", "ch02", True), ("ch02-ex-freeze", "ch02", False)]
    assert runs[1].details == {"head trains": True, "backbone frozen": False,
                               "accuracy above 50 %": False}


def test_check_with_an_unwritable_store_still_answers(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(broken))
    assert check("ch05b-ex-gap", {"gap is positive": True}) is True
    out = capsys.readouterr().out
    assert out.startswith("✓ ch05b-ex-gap: all 1 checks pass\n")
    assert "not saved" in out and str(broken) in out
    assert broken.read_bytes() == b"not a database" * 100


@pytest.mark.parametrize("bad", ["ch1-ex-x", "ch01-freeze", "ch01-ex-Freeze", "ch01-ex-"])
def test_check_rejects_malformed_ids(bad):
    with pytest.raises(ValueError, match="chNN-ex-<slug>"):
        check(bad, {"x": True})


# ----------------------------------------------------------------------------- schema 3 upgrade
_SCHEMA_2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL,
    kind TEXT NOT NULL, label TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    correct INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0);
CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL,
    session_id INTEGER, bank TEXT NOT NULL, question_id TEXT NOT NULL, answer TEXT NOT NULL,
    correct INTEGER NOT NULL, attempt INTEGER NOT NULL, answered_at TEXT NOT NULL,
    shown_answer TEXT, shown_order TEXT);
CREATE INDEX answers_by_learner ON answers (learner, question_id);
CREATE TABLE leitner (learner TEXT NOT NULL, question_id TEXT NOT NULL, box INTEGER NOT NULL,
    last_session INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (learner, question_id));
INSERT INTO meta VALUES ('schema_version', '2');
INSERT INTO sessions VALUES (1, 'ada', 'drill', 'old drill', '2026-01-01T10:00', NULL, 1, 2);
INSERT INTO answers VALUES (1, 'ada', 1, 'exam', 'q1', 'B', 0, 1, '2026-01-01T10:01', 'C', 'A-C-B');
INSERT INTO answers VALUES (2, 'bob', NULL, 'ch01', 'q1', 'A', 1, 1, '2026-01-02T09:00', 'A', NULL);
INSERT INTO leitner VALUES ('ada', 'q1', 1, 1, '2026-01-01T10:01');
"""


def _rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_a_schema_2_store_gains_exercise_checks_and_keeps_every_row(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(_SCHEMA_2)
    before = {t: _rows(db, t) for t in ("sessions", "answers", "leitner")}
    with ProgressStore(db, learner="ada") as s:
        assert [(a.question_id, a.shown_answer, a.shown_order) for a in s.answers()] == [
            ("q1", "C", "A-C-B")]
        assert s.checks() == []
        s.record_check("ch01-ex-first", {"runs": True})
        assert [c.passed for c in s.checks()] == [True]
    assert {t: _rows(db, t) for t in ("sessions", "answers", "leitner")} == before
    assert ("schema_version", "3") in _rows(db, "meta")
    with ProgressStore(db, learner="bob") as s:  # reopening a schema-3 store is a no-op
        assert [a.answer for a in s.answers()] == ["A"] and s.checks() == []


def test_pseudonym_is_random_stable_per_learner_and_not_the_user_name(_db):
    with ProgressStore(_db, learner="ada") as s:
        first = s.pseudonym()
        assert s.pseudonym() == first
    with ProgressStore(_db, learner="ada") as s:
        assert s.pseudonym() == first  # kept in the file
    with ProgressStore(_db, learner="bob") as s:
        assert s.pseudonym() != first
    # Only hex digits after the prefix: no room for the name or the OS user, whatever the
    # digits happen to spell ("3ada9f0c" is chance, not a leak).
    assert re.fullmatch(r"learner-[0-9a-f]{8}", first), first


# ----------------------------------------------------------------------------- end to end
def _answer_quiz(results: list[dict]) -> list[tuple[str, str, bool]]:
    """Answer three ch01 questions through the widgets (one wrong, then retried right) and a
    grounded one; return (item id, bank choice, correct) in order."""
    quiz = build_quiz("ch01", results=results, seed=1)
    done = []
    single = [c for c in quiz.cards if c.question.type == "single"]
    card = single[0]
    shown = card.shown.question
    wrong = next(c.key for c in shown.choices if c.key not in shown.answer)
    card.select(wrong)
    card.check_button.click()
    done.append((card.question.id, card.shown.to_bank_key[wrong], False))
    card.retry_button.click()
    card.select(card.shown.question.answer)
    card.check_button.click()
    done.append((card.question.id, "".join(card.question.answer), True))
    card = single[1]
    card.select(card.shown.question.answer)
    card.check_button.click()
    done.append((card.question.id, "".join(card.question.answer), True))
    card = next(c for c in quiz.cards if c.question.id.startswith("grounded-"))
    card.select(card.shown.question.answer)
    card.check_button.click()
    done.append((card.question.id, "".join(card.question.answer), True))
    return done


RESULTS = [{"dataset": "photo", "method": m, "labels_per_class": 10, "seed": 0,
            "test_accuracy": a, "seconds": t}
           for m, a, t in [("scratch", 0.27, 5.0), ("imagenet-frozen", 0.73, 1.0)]]


def _words(data: object) -> set[str]:
    """Every word (a run of letters and digits, lower-cased) in the keys and text of ``data``."""
    if isinstance(data, dict):
        return set().union(*(_words(k) | _words(v) for k, v in data.items()))
    if isinstance(data, list):
        return set().union(*(_words(v) for v in data))
    return set(re.findall(r"[a-z0-9]+", data.lower())) if isinstance(data, str) else set()


def test_release_answer_check_submit_collect_read(tmp_path, _db):
    student = release(REPO / "notebooks", tmp_path / "student")
    assert (tmp_path / "student" / "06_exam_drill.ipynb") in student

    done = _answer_quiz(RESULTS)
    check("ch01-ex-accuracy", {"returns a float": True, "0.5 for half right": False})
    check("ch01-ex-accuracy", {"returns a float": True, "0.5 for half right": True})
    inbox = tmp_path / "inbox"
    path = submit(inbox / "ada.json")
    data = json.loads(path.read_text())
    assert data["format"] == "tlcourse-submission/1" and data["sha256"] == checksum(data)
    # The name is in no field: not as a word of any key or text (hex digests may spell "ada"
    # by chance, and an item id may say "adaptation"; neither is the name).
    assert re.fullmatch(r"learner-[0-9a-f]{8}", data["learner"])
    assert "ada" not in _words(data) and getpass.getuser().lower() not in _words(data)
    assert [(a["item_id"], a["bank_choice"], a["correct"]) for a in data["attempts"]] == done
    first = data["attempts"][0]
    displayed = first["shown_order"].split("-")  # bank keys in the order the learner saw them
    assert displayed["ABCDEF".index(first["shown_choice"])] == first["bank_choice"]
    assert [a["attempt"] for a in data["attempts"]] == [1, 2, 1, 1]
    assert [e["passed"] for e in data["exercises"]] == [False, True]

    # a second learner on the same machine, and bad files next to the good ones
    other = submit(inbox, learner="bob")
    assert other.parent == inbox and other.name.startswith("tlcourse-submission-learner-")
    _bad_files(inbox, data)
    gradebook = tmp_path / "gradebook.sqlite"
    report = collect([inbox], gradebook)
    assert sorted(report.imported) == sorted([path, other])
    reasons = {p.name: why for p, why in report.skipped}
    assert "ends early" in reasons["truncated.json"]
    assert "corrupt at line" in reasons["corrupt.json"]
    assert "checksum mismatch" in reasons["tampered.json"]
    assert "another course" in reasons["other-course.json"]
    assert "another kind of file" in reasons["notebook-meta.json"]
    assert len(report.skipped) == 5 and "5 skipped" in report.render()

    attempts = read_attempts(gradebook)
    mine = [a for a in attempts if a["learner"] == data["learner"]]
    assert [(a["item_id"], a["bank_choice"], a["correct"], a["attempt"]) for a in mine] == [
        (i, c, ok, n) for (i, c, ok), n in zip(done, [1, 2, 1, 1])]
    assert [a["grounded"] for a in mine] == [False, False, False, True]
    assert mine[0]["chapter"] == "ch01" and mine[0]["topic"] and mine[0]["type"] == "single"
    assert mine[3]["topic"] == "your-results" and mine[3]["chapter"] == "ch01"
    assert read_exercises(gradebook) == [
        {"learner": data["learner"], "chapter": "ch01", "exercise_id": "ch01-ex-accuracy",
         "passed": p, "time": e["time"]} for p, e in zip([False, True], data["exercises"])]

    snapshot = gradebook.read_bytes()
    again = collect([inbox, path], gradebook)  # the same files twice: nothing changes
    assert again.imported == [] and sorted(again.unchanged) == sorted([path, other])
    assert read_attempts(gradebook) == attempts and gradebook.read_bytes() == snapshot

    # a newer submission of the same learner counts instead of the older one; both are kept
    check("ch01-ex-second", {"done": True})
    newer = submit(tmp_path / "later" / "ada.json")
    assert collect([newer], gradebook).imported == [newer]
    assert [e["exercise_id"] for e in read_exercises(gradebook)] == [
        "ch01-ex-accuracy", "ch01-ex-accuracy", "ch01-ex-second"]
    assert len(read_attempts(gradebook)) == len(attempts)
    assert _rows(gradebook, "submissions")[0][1] == data["learner"]  # the older one stays
    again = collect([path], gradebook)  # the older file again: already there, not counted
    assert again.unchanged == [path] and again.flagged == []  # a genuine pair agrees
    assert len(read_exercises(gradebook)) == 3

    _report_if_available(gradebook, tmp_path)


def _bad_files(inbox: Path, data: dict) -> None:
    text = json.dumps(data, indent=1)
    (inbox / "truncated.json").write_text(text[: len(text) // 2])
    (inbox / "corrupt.json").write_text(text.replace('"attempts"', '"attempts" oops', 1))
    tampered = json.loads(text)
    tampered["attempts"][0]["correct"] = True  # flipped by hand, checksum left alone
    (inbox / "tampered.json").write_text(json.dumps(tampered))
    other = {**data, "course": "another-course"}
    other["sha256"] = checksum(other)
    (inbox / "other-course.json").write_text(json.dumps(other))
    (inbox / "notebook-meta.json").write_text(json.dumps({"format": "jupyter", "x": 1}))


def _report_if_available(gradebook: Path, tmp_path: Path) -> None:
    try:
        from tlcourse.classroom.report import write_report  # noqa: F401 - helper F's module
    except ImportError:
        return  # the lead checks the report once it exists
    attempts = read_attempts(gradebook)
    pseudonym = attempts[0]["learner"]
    roster = tmp_path / "roster.csv"
    roster.write_text(f"pseudonym,name\n{pseudonym},Ada Lovelace\n")
    out = tmp_path / "report"
    assert main(["class", "report", "--db", str(gradebook), "--out", str(out),
                 "--roster", str(roster)]) == 0
    page = (out / "index.html").read_text()
    assert "Ada Lovelace" in page and attempts[0]["item_id"] in page
    long_csv = (out / "attempts_long.csv").read_text()
    assert long_csv.count(pseudonym) == sum(a["learner"] == pseudonym for a in attempts)
    assert "Ada Lovelace" not in long_csv  # shareable files carry no names


def test_a_malformed_or_failing_file_leaves_nothing_half_imported(tmp_path, _db):
    _answer_quiz(RESULTS)
    check("ch01-ex-a", {"x": True})
    good = submit(tmp_path / "good.json")
    data = json.loads(good.read_text())
    data["exercises"].append({"exercise_id": "ch01-ex-b"})  # malformed, checksum recomputed
    data["sha256"] = checksum(data)
    bad = tmp_path / "bad" / "bad.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(data))
    gradebook = tmp_path / "g.sqlite"
    report = collect([bad, tmp_path / "missing.json"], gradebook)
    assert [(p.name, why) for p, why in report.skipped] == [
        ("missing.json", "no such file or folder"),
        ("bad.json", "exercises[1] lacks or has a malformed 'chapter'")]
    # A write that fails after the attempts went in (here: on the exercises) is rolled back.
    with sqlite3.connect(gradebook) as conn:
        conn.execute("CREATE TRIGGER fail BEFORE INSERT ON exercises "
                     "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    report = collect([good], gradebook)
    assert report.imported == [] and "disk trouble" in report.skipped[0][1]
    assert read_exercises(gradebook) == [] and read_attempts(gradebook) == []
    assert _rows(gradebook, "submissions") == []


def test_a_foreign_database_is_refused_and_left_alone(tmp_path):
    db = tmp_path / "photos.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE photos (x)")
    with pytest.raises(GradebookError, match="not a tlcourse gradebook"):
        collect([tmp_path], db)
    assert _rows(db, "sqlite_master")[0][1] == "photos"
    with pytest.raises(GradebookError, match="class collect"):
        read_attempts(tmp_path / "none.sqlite")


def test_cli_submit_and_collect(tmp_path, capsys):
    check("ch03-ex-unfreeze", {"x": True})
    out = tmp_path / "mine.json"
    assert main(["submit", "--out", str(out)]) == 0
    assert "0 quiz answers and 1 exercise check run (1 exercise passed)" in (
        capsys.readouterr().out)
    assert main(["class", "collect", str(out), "--db", str(tmp_path / "g.sqlite")]) == 0
    assert "Imported 1 submission;" in capsys.readouterr().out
    (tmp_path / "junk.json").write_text("{")
    assert main(["class", "collect", str(tmp_path), "--db", str(tmp_path / "g.sqlite")]) == 1
    out, err = capsys.readouterr()
    assert "1 unchanged; 1 skipped:" in out and "junk.json: not valid JSON" in err


def test_notebook_button_writes_only_when_clicked(tmp_path, _db, monkeypatch):
    from tlcourse.classroom.submission import submit_button

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    button = submit_button()
    assert list((tmp_path / "home").iterdir()) == []  # building it writes nothing
    bundle = button._repr_mimebundle_()
    assert "tlcourse submit --out" in bundle["text/plain"]  # what shows without widgets
    check("ch01-ex-a", {"x": True})
    button.button.click()
    (written,) = (tmp_path / "home").iterdir()
    assert written.name.startswith("tlcourse-submission-learner-")
    assert "1 exercise check run (1 exercise passed)" in button.status.value and str(written) in button.status.value
    _db.write_bytes(b"broken" * 100)  # a store that cannot be read: said on the page
    assert button.click() is None and "Not written" in button.status.value
