"""Notebook quiz: drive the widgets' callbacks from Python; check the text fallback."""

from __future__ import annotations

import pytest

from tlcourse.quiz.bank import load_bank
from tlcourse.quiz.grading import answer_text
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.widgets import build_quiz, question_text, show


@pytest.fixture(autouse=True)
def _db(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "p.sqlite"))
    monkeypatch.setenv("TLCOURSE_LEARNER", "widget-tester")
    return tmp_path / "p.sqlite"


def _wrong(q):
    """A wrong answer to ``q`` (pass the question as displayed: its letters are the learner's)."""
    if q.type == "numeric":
        return f"{float(q.answer) + 10 * q.tolerance + 1000:g}"
    if q.type == "ordering":
        return "-".join(reversed(q.answer))
    return next(c.key for c in q.choices if c.key not in q.answer)


def _first(quiz, qtype):
    return next(c for c in quiz.cards if c.question.type == qtype)


def _right(card):
    """The correct answer in the letters the card displays now."""
    return card.shown.question.answer


def test_choose_wrong_then_retry_then_right_updates_feedback_and_score(_db):
    quiz = build_quiz("ch01")
    card = _first(quiz, "single")
    q, first_view = card.question, card.shown
    assert "0/" in quiz.score_label.value
    wrong = _wrong(first_view.question)
    card.select(wrong)
    card.check_button.click()
    assert "Not quite" in card.feedback.value
    assert first_view.question.choice(wrong).why[:30] in card.feedback.value.replace("&#x27;", "'")
    assert card.retry_button.disabled is False and card.check_button.disabled is True
    card.retry_button.click()
    assert card.feedback.value == "" and card._input.value is None
    card.select(_right(card))
    card.check_button.click()
    assert "Correct" in card.feedback.value
    s = quiz.session.score()
    assert (s.solved, s.first_try, s.answered, s.total) == (1, 0, 1, len(quiz.cards))
    assert "1/" in quiz.score_label.value
    with ProgressStore(_db, learner="widget-tester") as store:  # saved as it happened
        assert [(a.answer, a.shown_answer, a.correct, a.attempt) for a in store.answers()] == [
            (first_view.to_bank_key[wrong], wrong, False, 1),
            (answer_text(q, q.answer), answer_text(card.shown.question, _right(card)), True, 2)]
        assert [a.shown_order for a in store.answers()] == [first_view.order_text,
                                                            card.shown.order_text]


@pytest.mark.parametrize("qtype", ["multiple", "truefalse", "numeric", "ordering"])
def test_every_question_type_can_be_answered_through_its_widgets(qtype):
    bank = next(b for b in ["ch01", "ch02", "ch03", "ch04", "ch05", "exam"]
                if any(q.type == qtype for q in load_bank(b).questions))
    quiz = build_quiz(bank)
    card = _first(quiz, qtype)
    card.select(_wrong(card.shown.question))
    assert card.check().correct is False
    card.retry()
    card.select(_right(card))
    assert card.check().correct is True
    assert quiz.session.score().first_try == 0


def test_incomplete_answer_is_not_graded():
    quiz = build_quiz("ch01")
    card = _first(quiz, "single")
    assert card.check() is None
    assert "Pick an option" in card.feedback.value
    assert quiz.session.score().answered == 0


def test_text_fallback_lists_questions_but_no_answers():
    quiz = build_quiz("ch01")
    bundle = quiz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    text = bundle["text/plain"]
    bank = load_bank("ch01")
    for q in bank.questions:
        assert q.prompt[:40] in text.replace("\n", " ") or q.prompt[:20] in text
        for c in q.choices:
            assert c.why not in text
    assert question_text(bank.questions[0], 1).startswith("Q1. ")


def test_show_without_a_notebook_prints_text_and_writes_nothing(_db, capsys):
    assert show("ch02") is None  # outside IPython, display() prints the text rendering
    out = capsys.readouterr().out
    assert "Q1." in out and "A)" in out and "Chapter 2" in out
    assert not _db.exists()


def test_results_add_grounded_questions():
    records = [{"dataset": "photo", "method": m, "labels_per_class": 10, "seed": 0,
                "test_accuracy": a, "seconds": t}
               for m, a, t in [("scratch", 0.27, 5.0), ("imagenet-frozen", 0.73, 1.0)]]
    plain = build_quiz("ch01")
    quiz = build_quiz("ch01", results=records)
    extra = quiz.session.questions[len(plain.session.questions):]
    assert extra and all(q.topic == "your-results" for q in extra)
    card = quiz.card(next(q.id for q in extra if q.id.startswith("grounded-best")))
    card.select(_right(card))
    assert card.check().correct
    assert build_quiz("ch01", results=[{"junk": 1}]).session.questions == plain.session.questions


def test_broken_store_is_reported_in_the_feedback_and_left_alone(_db):
    _db.write_bytes(b"garbage" * 50)
    quiz = build_quiz("ch01")
    card = _first(quiz, "single")
    card.select(_right(card))
    assert card.check().correct  # the quiz still works...
    assert "Not saved" in card.feedback.value and str(_db) in card.feedback.value
    assert _db.read_bytes() == b"garbage" * 50  # ...and the file is untouched


def test_exam_widget_records_one_answer_each_and_reports_at_the_end(_db):
    from tlcourse.quiz.drill_widget import build_exam, review_status

    assert "No progress" in review_status()
    exam = build_exam(count=4, seed=2, time_limit=0, banks=["exam"])
    assert not _db.exists()  # showing an exam writes nothing
    assert "4 questions" in repr(exam) and "Q4." in repr(exam)
    first, second = exam.cards[:2]
    first.select(_right(first))
    first.check_button.click()
    assert "recorded" in first.feedback.value and "Correct" not in first.feedback.value
    assert first.retry_button.disabled  # one answer per question in an exam
    second.select(_wrong(second.shown.question))
    second.check_button.click()
    assert "2/4 answered, untimed" in exam.status.value
    exam.finish_button.click()
    assert (exam.report.correct, exam.report.total) == (1, 4)
    assert "Review of missed questions" in exam.report_view.value
    assert all(c.check_button.disabled for c in exam.cards)
    status = review_status()
    assert "box 1:   1" in status and "box 2:   1" in status


def _store_that_cannot_grow(path, learner: str = "widget-tester") -> ProgressStore:
    """A store packed to its last page, unable to grow (as on a full disk)."""
    store = ProgressStore(path, learner=learner)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    return store


def test_full_disk_shows_not_saved_and_the_quiz_goes_on(_db):
    store = _store_that_cannot_grow(_db)
    quiz = build_quiz("ch01", store=store)
    card = _first(quiz, "single")
    for _ in range(2000):  # answer again and again until the file is full
        card.retry()
        card.select(_right(card))
        assert card.check().correct  # graded whatever happens to the file
        if "Not saved" in card.feedback.value:
            break
    assert "Not saved" in card.feedback.value and "full" in card.feedback.value
    assert "TLCOURSE_PROGRESS_DB" in card.feedback.value
    other = _first(quiz, "multiple")
    other.select(_right(other))
    assert other.check().correct  # the next question still works
    assert quiz.session.score().solved == 2
    store.close()


def test_full_disk_in_a_mock_exam_shows_not_saved(_db):
    from tlcourse.quiz.drill_widget import build_exam

    store = _store_that_cannot_grow(_db)
    for i in range(2000):  # fill every page: the next answer cannot be stored
        try:
            store.record_answer("fill", f"f{i}", "A", correct=True)
        except Exception:  # noqa: BLE001 - whatever the store raises when it is full
            break
    exam = build_exam(count=3, seed=0, time_limit=0, banks=["exam"], store=store)
    for card in exam.cards:
        card.select(_right(card))
        assert card.check() is not None
    assert "Not saved" in exam.cards[0].feedback.value
    assert "3/3 answered" in exam.status.value
    assert exam.finish().correct == 3
    store.close()


def test_ambiguous_number_is_asked_again_not_graded():
    from tlcourse.quiz.bank import Question
    from tlcourse.quiz.session import QuizSession
    from tlcourse.quiz.widgets import QuestionCard

    q = Question("t-amb", "tst", "t", "easy", "numeric", "How many?", 1.5, tolerance=0.01)
    session = QuizSession([q], bank="tst")
    card = QuestionCard(q, 1, session, lambda: None)
    card._input.value = "1,500"
    assert card.check() is None
    assert "ambiguous" in card.feedback.value and session.score().answered == 0
    card._input.value = "1.5"
    assert card.check().correct


def test_two_experiments_of_one_chapter_get_their_own_grounded_ids():
    from types import SimpleNamespace

    records = [{"dataset": "photo", "method": m, "labels_per_class": 5, "seed": 0,
                "test_accuracy": a, "seconds": 1.0} for m, a in [("a", 0.4), ("b", 0.6)]]

    def ids(**kw):
        return {q.id for q in build_quiz("ch03", **kw).session.questions
                if q.topic == "your-results"}

    plain = ids(results=records)
    lab = ids(results=SimpleNamespace(records=records, experiment="mistakes-lab"))
    assert plain and lab and not plain & lab  # 03 and 03b both show "ch03"
    assert lab == ids(results=records, experiment="mistakes-lab")


def _ordering_card():
    bank = next(b for b in ["ch01", "ch02", "ch03", "ch04", "ch05", "exam"]
                if any(q.type == "ordering" for q in load_bank(b).questions))
    return _first(build_quiz(bank, seed=0), "ordering")


def test_ordering_slots_show_a_dash_until_the_learner_picks_and_again_after_retry():
    card = _ordering_card()
    # What the dropdown displays is its label; a value of None selects nothing (a blank box).
    assert [s.label for s in card._slots] == ["—"] * len(card._slots)
    assert card.check() is None and "every item exactly once" in card.feedback.value
    card.select(card.shown.question.answer[:1])  # one slot set, the others still "—"
    assert card.check() is None
    card.select(_wrong(card.shown.question))
    assert card.check().correct is False
    card.retry()
    assert [s.label for s in card._slots] == ["—"] * len(card._slots)
    card.select(_right(card))
    assert card.check().correct is True


def test_counts_of_one_are_singular(_db):
    from tlcourse.quiz.drill_widget import build_exam, review_status
    from tlcourse.quiz.grounded import grounded_questions

    exam = build_exam(count=1, seed=0, time_limit=0, banks=["exam"])
    assert "Mock exam: 1 question" in repr(exam) and "1 questions" not in repr(exam)
    exam.cards[0].select(_wrong(exam.cards[0].shown.question))
    exam.cards[0].check_button.click()
    assert "box 1:   1 question " in review_status() + " "
    records = [{"dataset": "photo", "method": m, "labels_per_class": 1, "seed": 0,
                "test_accuracy": a, "seconds": t}
               for m, a, t in [("scratch", 0.2, 5.0), ("imagenet-frozen", 0.6, 1.0)]]
    prompts = [q.prompt for q in grounded_questions(records, chapter="ch01")]
    assert prompts and all("with 1 label per class" in p for p in prompts), prompts
