"""`class collect` on a hostile hand-in folder: one genuine submission beside every bad file.

Issue 23, items 1 and 3: a single bad file (nested 200,000 deep, an attempt number SQLite cannot
hold, a forged future date, a look-alike pseudonym, a half-copied or oversize file, learner text
shaped as spreadsheet formulas ...) stopped the whole collect or took over another learner's
grades. Each file must be judged alone: the genuine one stored, every hostile one named in exactly
one line with the reason, and the command ending normally.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlcourse.classroom.gradebook import collect, read_attempts, read_exercises
from tlcourse.classroom.submission import build_submission, checksum, signature
from tlcourse.cli import main
from tlcourse.quiz.progress import ProgressStore


@pytest.fixture
def genuine(tmp_path) -> dict:
    """A real learner's submission: two answers and one exercise run, made by the library."""
    with ProgressStore(tmp_path / "ada.sqlite", learner="ada") as store:
        store.record_answer("ch01", "ch01-scratch-small-data", "A", True, shown_answer="B",
                            shown_order="B-A-C-D")
        store.record_answer("ch01", "ch01-pretrained-start", "C", False)
        store.record_check("ch01-ex-gap-vs-claim", {"gap is positive": True})
        return build_submission(store)


def _forged(data: dict, **changes) -> dict:
    """``data`` with ``changes`` applied to its copy and the checksum recomputed (a forger's
    edit: the checksum proves nothing against it)."""
    out = json.loads(json.dumps(data))
    out.update(changes)
    out["sha256"] = checksum(out)
    return out


def _hostile_files(inbox: Path, data: dict) -> dict[str, str]:
    """Write every hostile file of the issue; return file name -> a word its line must hold."""
    other = "learner-0badf00d"
    files: dict[str, str] = {}

    def put(name: str, content: str | bytes, why: str) -> None:
        path = inbox / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        files[name] = why

    # Item 1: read in name order, so these come before the genuine file ("z-ada.json").
    put("0-deep.json", "[" * 200_000 + "]" * 200_000, "nested")
    attempts = [dict(a) for a in data["attempts"]]
    attempts[0]["attempt"] = 2**70
    put("1-huge-attempt.json", json.dumps(_forged(data, learner=other, attempts=attempts)),
        "attempt")
    put("2-long-number.json", '{"format": 1' + "0" * 5000 + "}", "number")
    put("3-nan.json", json.dumps(_forged(data, learner=other)).replace(
        '"attempts": [', '"attempts": [NaN, ', 1), "NaN")
    put("4-oversize.json", b" " * (5 * 1024 * 1024 + 1), "too large")
    text = json.dumps(data, indent=1)
    cut = text.index('"ch01-pretrained-start"') + 8  # a half-copied file, cut inside a string
    put("5-truncated-in-string.json", text[:cut], "ends early")
    put("6-not-utf8.json", text.encode().replace(b"ch01", b"ch\xff1", 1), "text")
    put("7-surrogate.json", json.dumps({**data, "course_version": "\ud800"}), "Unicode")
    bad_bool = [dict(a) for a in data["attempts"]]
    bad_bool[0]["attempt"] = True
    put("8-bool-attempt.json", json.dumps(_forged(data, learner=other, attempts=bad_bool)),
        "attempt")
    # Item 3: a forged future date; a look-alike pseudonym; a date that is not a date.
    future = (datetime.now(timezone.utc) + timedelta(days=3000)).isoformat()
    put("a-future.json", json.dumps(_forged(data, created=future)), "future")
    put("b-newline-pseudonym.json",
        json.dumps(_forged(data, learner=data["learner"] + "\n")), "pseudonym")
    put("c-bad-date.json", json.dumps(_forged(data, learner=other, created="soon")), "created")
    # Item 2: learner text shaped as spreadsheet formulas, under its own pseudonym.
    formulas = [dict(data["attempts"][0], item_id='=HYPERLINK("http://x.example","open me")',
                     bank_choice="+SUM(A1:A9)"),
                dict(data["attempts"][0], item_id="@SUM(1+1)",
                     bank_choice="-2+3+cmd|' /C calc'!A0")]
    put("d-formulas.json",
        json.dumps(_forged(data, learner="learner-f0f0f0f0", attempts=formulas)), "no bank")
    return files


def test_a_genuine_submission_is_stored_beside_every_hostile_file(tmp_path, genuine, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile = _hostile_files(inbox, genuine)
    good = inbox / "z-ada.json"
    good.write_text(json.dumps(genuine, indent=1), encoding="utf-8")
    db = tmp_path / "gradebook.sqlite"

    report = collect([inbox], db)

    assert report.imported[-1] == good  # stored, although every bad file came first
    mine = [a for a in read_attempts(db) if a["learner"] == genuine["learner"]]
    assert [(a["item_id"], a["correct"]) for a in mine] == [
        ("ch01-scratch-small-data", True), ("ch01-pretrained-start", False)]
    assert [e["exercise_id"] for e in read_exercises(db)
            if e["learner"] == genuine["learner"]] == ["ch01-ex-gap-vs-claim"]
    # The forged "future" file did not take over Ada's rows.
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM submissions WHERE learner = ?",
                            (genuine["learner"],)).fetchone() == (1,)

    lines = report.render().splitlines()[1:]
    for name, why in hostile.items():
        mentions = [line for line in lines if name in line]
        assert len(mentions) == 1, (name, mentions)
        assert why.lower() in mentions[0].lower(), (name, mentions[0])
    assert not [line for line in lines if good.name in line]

    # The command line: ends normally (exit 1 = "look at the files listed"), no traceback,
    # one line per problem on stderr.
    capsys.readouterr()
    assert main(["class", "collect", str(inbox), "--db", str(tmp_path / "cli.sqlite")]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == len(hostile)


def _store(tmp_path: Path, answer: str, correct: bool) -> ProgressStore:
    store = ProgressStore(tmp_path / "ada.sqlite", learner="ada")
    store.record_answer("ch01", "ch01-scratch-small-data", answer, correct)
    return store


def test_a_forged_submission_neither_replaces_nor_locks_out_the_learner(tmp_path, genuine):
    db = tmp_path / "gradebook.sqlite"
    (tmp_path / "ada-1.json").write_text(json.dumps(genuine))
    assert len(collect([tmp_path / "ada-1.json"], db).imported) == 1
    # The review's attack: Ada's pseudonym, every answer right, "made" in the year 9999.
    right = [dict(a, correct=True) for a in genuine["attempts"]]
    forged = tmp_path / "forged-9999.json"
    forged.write_text(json.dumps(_forged(genuine, attempts=right,
                                         created="9999-01-01T00:00:00+00:00")))
    report = collect([forged], db)
    assert report.imported == [] and "future" in report.skipped[0][1]
    assert [a["correct"] for a in read_attempts(db)] == [True, False]
    # A plausible date gets in and counts (nothing can tell it from a resubmission) ...
    recent = datetime.now(timezone.utc).isoformat()
    forged.write_text(json.dumps(_forged(genuine, attempts=right, created=recent)))
    report = collect([forged], db)
    assert report.imported == [forged]
    assert [a["correct"] for a in read_attempts(db)] == [True, True]
    # ... but Ada's rows are kept, and the collect and the report name her to the instructor.
    (line,) = report.flagged
    assert line.startswith(f"{genuine['learner']}: 2 submissions disagree") and "ada-1" in line
    assert "disagree" in report.render()
    # Her genuine resubmission is not refused as "older": it counts again.
    with ProgressStore(tmp_path / "ada.sqlite", learner="ada") as store:
        store.record_answer("ch01", "ch01-pretrained-start", "B", True)
        (tmp_path / "ada-2.json").write_text(json.dumps(build_submission(store)))
    assert collect([tmp_path / "ada-2.json"], db).imported == [tmp_path / "ada-2.json"]
    assert [a["correct"] for a in read_attempts(db)] == [True, False, True]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM submissions").fetchone() == (3,)
    # The class report says it too, above the statistics.
    assert main(["class", "report", "--db", str(db), "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text("utf-8")
    assert f"{genuine['learner']}: 3 submissions disagree" in page


def test_with_roster_tokens_only_the_learner_can_hand_in_under_their_pseudonym(tmp_path,
                                                                                capsys):
    progress = tmp_path / "ada.sqlite"
    with ProgressStore(progress, learner="ada") as store:
        store.record_check("ch01-ex-gap-vs-claim", {"gap is positive": True})
        pseudonym = store.pseudonym()
    roster = tmp_path / "roster.csv"
    roster.write_text(f"pseudonym,name,token\n{pseudonym},Ada Lovelace,k3x-91q\n")
    inbox = tmp_path / "inbox"
    assert main(["submit", "--out", str(inbox / "ada.json"), "--db", str(progress),
                 "--learner", "ada", "--token", "k3x-91q"]) == 0
    assert "Signed with your token" in capsys.readouterr().out
    signed = json.loads((inbox / "ada.json").read_text())
    assert "k3x-91q" not in (inbox / "ada.json").read_text()  # the token never travels
    unsigned = {k: v for k, v in signed.items() if k != "signature"}
    (inbox / "unsigned.json").write_text(json.dumps(_forged(unsigned)))
    wrong = dict(unsigned, signature=signature(unsigned, "guessed-token"))
    (inbox / "wrong-token.json").write_text(json.dumps(_forged(wrong)))
    stranger = _forged(unsigned, learner="learner-0badf00d")
    (inbox / "stranger.json").write_text(json.dumps(stranger))
    # Ada's signed file with only 'created' edited (signature kept, checksum recomputed). The
    # last two edits name the same millisecond as the original, which is all the gradebook
    # stores: the signature must be checked over the file as handed in, not as normalised.
    made = datetime.fromisoformat(signed["created"])
    edits = {
        "edited-hour-earlier": (made - timedelta(hours=1)).isoformat(timespec="milliseconds"),
        "edited-same-ms": (made + timedelta(microseconds=300)).isoformat(),
        "edited-other-zone": made.astimezone(timezone(timedelta(hours=1))).isoformat(
            timespec="milliseconds"),
    }
    for name, created in edits.items():
        (inbox / f"{name}.json").write_text(json.dumps(_forged(signed, created=created)))

    db = tmp_path / "g.sqlite"
    assert main(["class", "collect", str(inbox), "--db", str(db), "--roster", str(roster)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"Imported 1 submission; 0 unchanged; {3 + len(edits)} skipped"), out
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT source FROM submissions").fetchall() == [
            (str(inbox / "ada.json"),)]
    lines = err.strip().splitlines()
    assert len(lines) == 3 + len(edits), lines
    assert any("unsigned.json: not signed with" in x for x in lines), lines
    assert any("wrong-token.json: signed with another token than" in x for x in lines)
    assert any("stranger.json: learner-0badf00d has no token on the roster" in x for x in lines)
    for name in edits:
        assert any(f"{name}.json: signed with another token than" in x for x in lines), name
    # Without the roster the same folder is collected as before (no identity is checked).
    report = collect([inbox], tmp_path / "open.sqlite")
    assert len(report.imported) == 4 + len(edits)
