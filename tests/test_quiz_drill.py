"""Mock exams: drawing by weight, timing, spaced review, the report, and the CLI end to end."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tlcourse.quiz.bank import Question, load_banks
from tlcourse.quiz.cli import drill_command, main
from tlcourse.quiz.drill import ExamConfig, MockExam, allocate, build_report, draw
from tlcourse.quiz.grading import answer_text, grade
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.shuffle import show_question

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _db(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "p.sqlite"))
    monkeypatch.setenv("TLCOURSE_LEARNER", "driller")
    return tmp_path / "p.sqlite"


@pytest.fixture(scope="module")
def pool():
    return [q for b in load_banks() for q in b.questions]


def _q(qid: str, topic: str) -> Question:
    from tlcourse.quiz.bank import Choice

    return Question(qid, "tst", topic, "easy", "single", "?", ("A",),
                    (Choice("A", "a", "right"), Choice("B", "b", "wrong")))


def _say(exam: MockExam, qid: str, bank_keys: tuple[str, ...]) -> tuple[str, ...]:
    """The displayed letters a learner types to give ``bank_keys``."""
    return exam.view(qid).to_shown(bank_keys)


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


# ----------------------------------------------------------------------------- drawing
@pytest.mark.parametrize("count, available, weights, expected", [
    (10, {"a": 50, "b": 50}, {}, {"a": 5, "b": 5}),
    (10, {"a": 50, "b": 50, "c": 2}, {"a": 3, "b": 1, "c": 1}, {"a": 6, "b": 2, "c": 2}),
    (10, {"a": 1, "b": 50}, {"a": 5}, {"a": 1, "b": 9}),  # a's surplus goes to b
    (7, {"a": 3, "b": 2}, {}, {"a": 3, "b": 2}),  # fewer questions than asked for
    (4, {"a": 9, "b": 9, "c": 9}, {"c": 0}, {"a": 2, "b": 2}),  # weight 0 excludes
])
def test_allocate(count, available, weights, expected):
    for seed in range(5):  # no ties here: the generator changes nothing
        assert allocate(count, available, weights, random.Random(seed)) == expected


def test_allocate_breaks_equal_remainders_with_the_seeded_generator():
    topics = {"alpha": 5, "beta": 5, "gamma": 5}
    winners = [allocate(1, topics, {}, random.Random(seed)) for seed in range(60)]
    assert all(sum(w.values()) == 1 for w in winners)
    # Every topic wins the one seat for some seed (by name, "alpha" always did).
    assert {t for w in winners for t in w} == set(topics)
    assert winners == [allocate(1, topics, {}, random.Random(seed)) for seed in range(60)]
    # A larger remainder still wins whatever the seed: weights come before the draw.
    assert all(allocate(1, topics, {"gamma": 1.5}, random.Random(s)) == {"gamma": 1}
               for s in range(20))


@pytest.mark.parametrize("count", [10, 20])
def test_every_topic_appears_in_short_drills(pool, count):
    """Over many seeds every topic is asked, and equal-weight topics about equally often."""
    weights = {t: w for b in load_banks() for t, w in b.drill_weights.items()}
    drills_with = Counter()
    for seed in range(200):
        drills_with.update({q.topic for q in draw(pool, ExamConfig(count=count, seed=seed,
                                                                  weights=weights))})
    topics = {q.topic for q in pool}
    never = sorted(topics - set(drills_with))
    assert not never, f"{len(never)} of {len(topics)} topics never drawn in 200 drills: {never}"
    plain = [drills_with[t] for t in topics if weights.get(t, 1.0) == 1.0]
    # About 46 of 200 each at ten questions (6 seats among 26 such topics); a loose floor,
    # as 200 draws vary. Ties broken by name gave 0 to most of them.
    assert min(plain) >= max(plain) / 4, sorted(plain)


def test_draw_respects_topics_weights_and_seed(pool):
    cfg = ExamConfig(count=12, topics=("azure", "imagenet"), weights={"azure": 3}, seed=5)
    drawn = draw(pool, cfg)
    assert Counter(q.topic for q in drawn) == {"azure": 9, "imagenet": 3}
    assert len({q.id for q in drawn}) == 12
    assert [q.id for q in draw(pool, cfg)] == [q.id for q in drawn]
    with pytest.raises(ValueError, match="unknown topic.*available"):
        draw(pool, ExamConfig(topics=("astrology",)))


def test_missed_questions_come_back_first_in_the_next_drill(_db):
    qs = [_q(f"q{i}", "t") for i in range(10)]
    with ProgressStore(_db) as store:
        first = MockExam(qs, ExamConfig(count=3, seed=1, time_limit=None), store=store)
        for q in first.questions:
            first.answer(q.id, _say(first, q.id, ("B",)))  # all wrong
        first.finish()
    with ProgressStore(_db) as store:  # a new session, another day
        second = MockExam(qs, ExamConfig(count=3, seed=99, time_limit=None), store=store)
        assert {q.id for q in second.questions} == {q.id for q in first.questions}
        for q in second.questions:
            second.answer(q.id, _say(second, q.id, ("A",)))
    with ProgressStore(_db) as store:  # now known (box 2): unseen questions come first
        third = MockExam(qs, ExamConfig(count=3, seed=7, time_limit=None), store=store)
        assert not {q.id for q in third.questions} & {q.id for q in first.questions}
        assert store.drill_count() == 2  # a drill counts once something is answered


# ----------------------------------------------------------------------------- timing & report
def test_time_limit_stops_counting_answers():
    clock = FakeClock()
    qs = [_q(f"q{i}", "t") for i in range(3)]
    exam = MockExam(qs, ExamConfig(count=3, time_limit=60, seed=0), clock=clock)
    first, second = exam.questions[:2]
    assert exam.answer(first.id, _say(exam, first.id, ("A",))).correct
    clock.t += 30
    assert exam.time_left() == 30
    clock.t += 31
    assert exam.over and exam.answer(second.id, _say(exam, second.id, ("A",))) is None
    report = exam.finish()
    assert (report.correct, report.total, report.timed_out) == (1, 3, True)
    assert report.elapsed == 61


def test_report_arithmetic_per_topic_and_review():
    qs = [_q("a1", "alpha"), _q("a2", "alpha"), _q("a3", "alpha"), _q("b1", "beta"),
          _q("b2", "beta"), _q("c1", "gamma")]
    grades = {"a1": grade(qs[0], ("A",)), "a2": grade(qs[1], ("A",)), "a3": grade(qs[2], ("B",)),
              "b1": grade(qs[3], ("A",))}  # b2, c1 unanswered
    r = build_report(qs, grades, elapsed=90, pass_mark=0.5)
    assert [(t.topic, t.correct, t.asked) for t in r.topics] == [
        ("alpha", 2, 3), ("beta", 1, 2), ("gamma", 0, 1)]
    assert [round(t.percent, 2) for t in r.topics] == [66.67, 50.0, 0.0]
    assert (r.correct, r.total, round(r.percent, 2), r.passed) == (3, 6, 50.0, True)
    assert [(m.question.id, m.answer) for m in r.missed] == [("a3", "B"), ("b2", None),
                                                             ("c1", None)]
    text = r.render()
    assert "alpha" in text and "TOTAL" in text and "you answered B" in text
    assert "no answer" in text and "right" in text  # explanations in the review
    assert not build_report(qs, grades, 0, pass_mark=0.7).passed


def test_the_review_wraps_long_text_between_words():
    from tlcourse.quiz.bank import Choice

    words = ("A data scientist wants full control over a transfer-learning pipeline with "
             "custom code, automated ML and a visual designer. Which Azure service fits?")
    right = "Right. " + words + " " + words
    long = Question("t-long", "tst", "scratch-vs-transfer", "easy", "single", words, ("A",),
                    (Choice("A", "Azure Machine Learning, " + words, right),
                     Choice("B", "Azure Functions", "Functions runs code on events. " + words)))
    text = build_report([long], {"t-long": grade(long, ("B",))}, elapsed=60).render()
    review = text[text.index("Review of missed"):].splitlines()
    too_long = [line for line in review if len(line) > 88]
    assert not too_long, f"{len(too_long)} review lines wider than 88 characters: {too_long}"
    flat = " ".join(text.split())  # every word intact, in order: wrapped only at spaces
    for part in (words, right, "Functions runs code on events. " + words):
        assert " ".join(part.split()) in flat
    assert "   you answered B; correct: A" in review
    assert any(line.startswith("   + A) Azure Machine Learning") for line in review)


# ----------------------------------------------------------------------------- CLI
def _args(*argv):
    import argparse

    from tlcourse.quiz.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    # --no-results: these tests pin the drill to the banks; runs cached by other tests in the
    # same session would otherwise add questions about them (tests/test_quiz_kinds.py)
    return parser.parse_args(["drill", *argv, "--no-results"])


def _expected(pool, argv):
    """The exam the CLI will show, as displayed, computed independently for the same options."""
    a = _args(*argv)
    qs = pool if not a.topics else [q for q in pool if q.topic in a.topics]
    weights = {t: w for b in load_banks() for t, w in b.drill_weights.items()}
    drawn = draw(qs, ExamConfig(count=a.count, topics=a.topics, weights=weights, seed=a.seed))
    return [show_question(q, a.seed).question for q in drawn]


def test_drill_scripted_answers_end_to_end(pool, _db):
    argv = ["--count", "5", "--seed", "3", "--topics", "azure,imagenet"]
    expected = _expected(pool, argv)
    answers = [answer_text(q, q.answer) for q in expected[:3]] + ["", _wrongish(expected[4])]
    out = io.StringIO()
    assert drill_command(_args(*argv, "--answers", ",".join(answers)), io.StringIO(), out) == 0
    text = out.getvalue()
    assert text.count("Correct.") == 3 and "(skipped)" in text
    assert re.search(r"^TOTAL\s+3\s+5\s+60\.0$", text, re.MULTILINE)
    assert "Review of missed questions" in text
    with ProgressStore(_db) as s:
        assert len(s.answers()) == 4 and s.drill_count() == 1


def _wrongish(q):
    if q.type == "numeric":
        return "-12345"
    if q.type == "ordering":
        return "-".join(reversed(q.answer))
    return next(c.key for c in q.choices if c.key not in q.answer)


def test_drill_reads_piped_stdin_and_quits_early(pool):
    argv = ["--count", "4", "--seed", "1", "--no-save"]
    expected = _expected(pool, argv)
    stdin = io.StringIO(f"{answer_text(expected[0], expected[0].answer)}\nnot-an-answer\nq\n")
    out = io.StringIO()
    assert drill_command(_args(*argv), stdin, out) == 0
    text = out.getvalue()
    assert "counted as unanswered" in text
    assert text.count("Correct.") == 1 and "Q4." not in text  # quit before the 4th
    assert "25.0" in text


def test_drill_as_a_real_process_with_piped_stdin(tmp_path, pool):
    # Runs ``python -m tlcourse.quiz.cli`` for real, but with a bare ``tlcourse`` package
    # stub so the child does not import torch via tlcourse/__init__.py (seconds per start).
    code = (f"import sys, types, runpy; pkg = types.ModuleType('tlcourse'); "
            f"pkg.__path__ = [{str(REPO / 'tlcourse')!r}]; sys.modules['tlcourse'] = pkg; "
            "sys.argv[0] = 'tlcourse'; runpy.run_module('tlcourse.quiz.cli', run_name='__main__')")
    env = {**os.environ, "TLCOURSE_PROGRESS_DB": str(tmp_path / "x.db")}
    argv = ["drill", "--count", "2", "--seed", "0", "--no-results"]
    answers = "".join(answer_text(q, q.answer) + "\n" for q in _expected(pool, argv[1:-1]))
    piped = subprocess.run([sys.executable, "-c", code, *argv], env=env, input=answers,
                           capture_output=True, text=True, timeout=120, check=False)
    assert piped.returncode == 0, piped.stderr
    assert "Exam report" in piped.stdout and "answer>" not in piped.stdout  # not a tty
    with ProgressStore(tmp_path / "x.db") as s:
        assert [a.correct for a in s.answers()] == [True, True]


def test_drill_help_topics_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as ok:
        main(["drill", "--help"])
    assert ok.value.code == 0
    helped = capsys.readouterr().out
    for flag in ("--topics", "--count", "--time-limit", "--seed", "--answers"):
        assert flag in helped
    assert main(["drill", "--list-topics"]) == 0
    assert "azure" in capsys.readouterr().out
    assert main(["drill", "--topics", "astrology"]) == 2
    assert "available" in capsys.readouterr().err
    broken = tmp_path / "x.db"
    broken.write_bytes(b"nope" * 100)
    assert main(["drill", "--count", "1", "--answers", "A", "--db", str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err


def test_main_runs_the_drill(capsys):
    assert main(["drill", "--count", "2", "--seed", "0", "--answers", "A,A", "--no-save"]) == 0
    assert "Exam report" in capsys.readouterr().out


def test_drill_full_disk_prints_not_saved_and_still_reports(pool, _db, monkeypatch):
    from tlcourse.quiz import cli

    store = ProgressStore(_db)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(2000):  # fill every page: the next answer cannot be stored
        try:
            store.record_answer("fill", f"f{i}", "A", correct=True)
        except Exception:  # noqa: BLE001 - whatever the store raises when it is full
            break
    monkeypatch.setattr(cli, "ProgressStore", lambda *a, **k: store)
    argv = ["--count", "3", "--seed", "0"]
    answers = ",".join(answer_text(q, q.answer) for q in _expected(pool, argv))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert drill_command(_args(*argv, "--answers", answers), io.StringIO(), out) == 2
    text = out.getvalue()
    assert "Not saved" in text and "full" in text
    assert text.count("Correct.") == 3  # every answer was still graded...
    assert re.search(r"^TOTAL\s+3\s+3\s+100\.0$", text, re.MULTILINE)  # ...and reported
    assert "not saved" in err.getvalue()


def test_drill_counts_of_one_are_singular(capsys):
    argv = ["drill", "--count", "1", "--seed", "0", "--no-save", "--answers", "A,A"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Mock exam: 1 question," in out and "(1 extra answer ignored)" in out
    assert "1 questions" not in out and "answer(s)" not in out


def test_drill_ambiguous_number_is_a_parse_error(monkeypatch):
    from tlcourse.quiz import cli

    q = Question("t-amb", "tst", "t", "easy", "numeric", "How many?", 1.5, tolerance=0.01)
    monkeypatch.setattr(cli, "load_pool", lambda banks: ([q], {}, {}))
    out = io.StringIO()  # piped, not --answers: that splits at commas
    assert drill_command(_args("--count", "1", "--no-save"), io.StringIO("1,500\n"), out) == 0
    assert "'1,500' is ambiguous: write 1500 or 1.5" in out.getvalue()
    assert "counted as unanswered" in out.getvalue()


def test_drill_db_path_expands_home_and_relative_is_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    argv = ["drill", "--count", "1", "--seed", "0", "--answers", "A"]
    assert main([*argv, "--db", "~/p.sqlite"]) == 0
    assert (tmp_path / "home" / "p.sqlite").exists()
    assert not (tmp_path / "cwd" / "~").exists()
    assert main([*argv, "--db", "here.sqlite"]) == 0  # relative: the user's cwd, as usual
    assert (tmp_path / "cwd" / "here.sqlite").exists()
    assert _args("--db", "~/p.sqlite").db == str(tmp_path / "home" / "p.sqlite")
