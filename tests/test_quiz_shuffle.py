"""Shuffled choices: letters map back to the bank's keys, orders repeat by seed, all renderers agree."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from tlcourse.quiz.bank import Choice, Question
from tlcourse.quiz.grading import answer_text
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.shuffle import show_question

REPO = Path(__file__).resolve().parents[1]
_WHY = {k: f"why {k}" for k in "ABCDE12345"}


def _question(qtype: str, answer: tuple[str, ...], keys: str = "ABCD") -> Question:
    choices = tuple(Choice(k, f"text {k}", _WHY.get(k, "w")) for k in keys)
    return Question(f"t-{qtype}", "tst", "t", "easy", qtype, "?", answer, choices)


SINGLE = _question("single", ("A",))
MULTIPLE = _question("multiple", ("A", "B"))
ORDERING = _question("ordering", ("2", "1", "3", "4", "5"), keys="12345")


@pytest.fixture(autouse=True)
def _db(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "p.sqlite"))
    monkeypatch.setenv("TLCOURSE_LEARNER", "shuffler")
    return tmp_path / "p.sqlite"


# ----------------------------------------------------------------------------- one item
@pytest.mark.parametrize("q", [SINGLE, MULTIPLE, ORDERING], ids=lambda q: q.type)
def test_displayed_letters_map_back_to_the_bank_keys(q):
    for seed in range(30):
        shown = show_question(q, seed)
        labels = [c.key for c in shown.question.choices]
        assert labels == (list("12345") if q.type == "ordering" else list("ABCD"))
        assert sorted(shown.order) == sorted(c.key for c in q.choices)
        for label, choice in zip(labels, shown.question.choices):  # text and why travel along
            assert q.choice(shown.to_bank_key[label]).text == choice.text
        assert shown.to_bank(shown.question.answer) == q.answer
        assert shown.grade(shown.question.answer).correct
        assert shown.to_shown(q.answer) == shown.question.answer


def test_a_wrong_displayed_letter_is_graded_against_the_bank_and_explained_in_its_letter():
    shown = show_question(SINGLE, seed=3)
    right = shown.question.answer[0]
    for label in "ABCD":
        g = shown.grade((label,))
        assert g.correct is (label == right)
        assert g.response == (label,)
        assert [(f.key, f.why) for f in g.feedback] == [(label, _WHY[shown.to_bank_key[label]])]
    both = show_question(MULTIPLE, seed=3).grade(("D", "A"))
    assert [f.key for f in both.feedback] == ["A", "D"]  # display order


def test_a_misplaced_ordering_item_is_explained_by_its_displayed_number():
    shown = show_question(ORDERING, seed=1)
    wrong = tuple(reversed(shown.question.answer))
    g = shown.grade(wrong)
    assert not g.correct and g.feedback
    for f in g.feedback:
        assert f.why == _WHY[shown.to_bank_key[f.key]]


@pytest.mark.parametrize("q", [
    Question("t-tf", "tst", "t", "easy", "truefalse", "?", ("F",),
             (Choice("T", "True", "no"), Choice("F", "False", "yes"))),
    Question("t-num", "tst", "t", "easy", "numeric", "?", 1.5, tolerance=0.1),
], ids=["truefalse", "numeric"])
def test_true_false_and_numeric_items_are_shown_as_stored(q):
    for seed in range(10):
        shown = show_question(q, seed)
        assert shown.question == q and shown.to_bank(shown.question.answer) == q.answer
    assert show_question(q, 0).order_text == ("T-F" if q.type == "truefalse" else None)


def test_the_correct_choice_lands_on_every_letter_about_equally_often():
    letters = Counter(show_question(SINGLE, seed).question.answer[0] for seed in range(800))
    assert set(letters) == set("ABCD")
    assert all(150 <= n <= 250 for n in letters.values()), letters  # 200 expected each


def test_an_ordering_item_is_never_shown_already_in_order():
    three = _question("ordering", ("1", "2", "3"), keys="123")
    for seed in range(200):
        assert show_question(three, seed).question.answer != ("1", "2", "3")


def test_the_order_depends_on_the_seed_the_item_and_the_attempt():
    assert show_question(SINGLE, 7).order == show_question(SINGLE, 7).order
    assert len({show_question(SINGLE, s).order for s in range(20)}) > 5
    assert len({show_question(SINGLE, 7, attempt).order for attempt in range(20)}) > 5
    other = replace(SINGLE, id="t-other")
    assert [show_question(other, s).order for s in range(5)] != [
        show_question(SINGLE, s).order for s in range(5)]


def test_the_order_is_the_same_in_another_process():
    # A bare ``tlcourse`` package, so the child does not import torch (see test_quiz_drill).
    code = (f"import sys, types; pkg = types.ModuleType('tlcourse'); "
            f"pkg.__path__ = [{str(REPO / 'tlcourse')!r}]; sys.modules['tlcourse'] = pkg; "
            "from tlcourse.quiz.bank import Choice, Question; "
            "from tlcourse.quiz.shuffle import show_question; "
            "cs = tuple(Choice(k, k, k) for k in 'ABCDEF'); "
            "print([show_question(Question(f'q{i}', 'c', 't', 'easy', 'single', '?', ('A',), cs), "
            "11, 2).order_text for i in range(20)])")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": h}, timeout=120, check=True)
            for h in ("1", "2")]
    assert outs[0].stdout == outs[1].stdout and "-" in outs[0].stdout


# ----------------------------------------------------------------------------- drill
def _drill(*argv: str) -> str:
    """Run ``tlcourse drill`` as the CLI does; return what it printed."""
    import argparse

    from tlcourse.quiz.cli import drill_command, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    # --no-results: the drill stays on the banks, whatever runs other tests have cached
    assert drill_command(parser.parse_args(["drill", *argv, "--no-results"]), io.StringIO(),
                         out) == 0
    return out.getvalue()


def _shown_exam(count: int, seed: int):
    """The questions of the drill ``--count count --seed seed``, as displayed."""
    from tlcourse.quiz.drill import ExamConfig, MockExam, load_pool

    pool, _, weights = load_pool()
    exam = MockExam(pool, ExamConfig(count=count, seed=seed, weights=weights, time_limit=None))
    return exam.shown


def test_a_seeded_drill_shows_the_same_letters_again_and_another_seed_does_not():
    skip_all = ["--answers", "," * 11, "--no-save"]  # 12 empty answers: every item is shown
    once = _drill("--count", "12", "--seed", "4", *skip_all)
    again = _drill("--count", "12", "--seed", "4", *skip_all)
    assert once == again and "seed 4" in once
    shown = _shown_exam(12, 4)
    for i, s in enumerate(shown, 1):  # what the CLI printed is this very display
        from tlcourse.quiz.widgets import question_text

        assert question_text(s.question, i) in once
    assert [show_question(s.bank, 5).order for s in shown] != [s.order for s in shown]


def test_drill_answers_are_the_displayed_letters_and_both_forms_are_stored(_db):
    shown = _shown_exam(8, 21)
    answers = ",".join(answer_text(s.question, s.question.answer) for s in shown)
    text = _drill("--count", "8", "--seed", "21", "--answers", answers)
    verdicts = [line for line in text.splitlines() if line.strip() in ("Correct.", "Wrong.")]
    assert "TOTAL" in text and verdicts == ["   Correct."] * 8  # a why may also say "Correct."
    with ProgressStore(_db) as store:
        rows = {a.question_id: a for a in store.answers()}
    for s in shown:
        row = rows[s.bank.id]
        assert row.answer == answer_text(s.bank, s.bank.answer)  # bank keys: what was graded
        assert row.shown_answer == answer_text(s.question, s.question.answer)  # what was typed
        assert row.shown_order == s.order_text
        if s.bank.type in ("single", "multiple"):  # the stored order decodes the typed letters
            order = row.shown_order.split("-")
            assert sorted(order["ABCDEFGH".index(ch)] for ch in row.shown_answer) == \
                sorted(s.bank.answer)


def test_the_review_names_the_letters_the_learner_saw():
    from tlcourse.quiz.drill import ExamConfig, MockExam

    seed = next(s for s in range(50) if show_question(SINGLE, s).question.answer != ("A",))
    exam = MockExam([SINGLE], ExamConfig(count=1, seed=seed, time_limit=None))
    shown = exam.shown[0].question
    wrong = next(c.key for c in shown.choices if (c.key,) != shown.answer)
    exam.answer(SINGLE.id, (wrong,))
    review = exam.finish().render()
    assert f"you answered {wrong}; correct: {shown.answer[0]}" in review
    listed = [line.strip() for line in review.splitlines() if line.strip()[:4] in
              {f"{mark} {c.key})" for mark in "+-" for c in shown.choices}]
    assert listed == [f"{'+' if (c.key,) == shown.answer else '-'} {c.key}) {c.text}"
                      for c in shown.choices]  # in display order, with displayed letters


# ----------------------------------------------------------------------------- widgets
def test_a_retry_shows_the_choices_in_a_new_order_and_the_text_matches_the_widgets():
    from tlcourse.quiz.widgets import build_quiz

    quiz = build_quiz("ch02", seed=5)
    card = next(c for c in quiz.cards if c.question.type == "single")
    labels = [label for label, _ in card._input.options]
    assert labels == [f"{c.key}) {c.text}" for c in card.shown.question.choices]
    assert "\n".join(f"   {label}" for label in labels)[:60] in repr(quiz)
    orders = {card.shown.order}
    for _ in range(6):
        card.select(card.shown.question.answer)
        assert card.check().correct
        card.retry()
        orders.add(card.shown.order)
        assert [label for label, _ in card._input.options] == [
            f"{c.key}) {c.text}" for c in card.shown.question.choices]
    assert len(orders) > 1
    again = build_quiz("ch02", seed=5)  # the same seed shows the same order
    assert [c.shown.order for c in again.cards] == [
        show_question(c.question, 5).order for c in quiz.cards]


def test_checkbox_and_dropdown_labels_follow_the_display_order():
    from tlcourse.quiz.widgets import build_quiz

    quiz = build_quiz("ch03", seed=1)
    multi = next(c for c in quiz.cards if c.question.type == "multiple")
    assert [b.description for b in multi._boxes.values()] == [
        f"{c.key}) {c.text}" for c in multi.shown.question.choices]
    order = next(c for c in quiz.cards if c.question.type == "ordering")
    assert [label for label, _ in order._slots[0].options][1:] == [
        f"{c.key}) {c.text}" for c in order.shown.question.choices]
    order.select(order.shown.question.answer)
    assert order.check().correct
