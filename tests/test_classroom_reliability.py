"""KR-20 and SEM per chapter quiz, the drill rest-score warning, and the simulator's guessing
floor."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tlcourse.classroom import simulate
from tlcourse.classroom.items import analyse_items
from tlcourse.classroom.reliability import chapter_reliability, kr20, subset_warnings
from tlcourse.classroom.report import write_report
from tlcourse.quiz.bank import load_bank


def _rows(matrix, chapter="ch01", learners=None):
    return [{"learner": learners[i] if learners else f"L{i:02d}", "chapter": chapter,
                 "item_id": f"q{j}", "grounded": False, "correct": bool(v)}
            for i, row in enumerate(matrix) for j, v in enumerate(row)]


def test_kr20_is_cronbachs_alpha_on_right_wrong_items():
    rng = np.random.default_rng(0)
    ability = rng.normal(size=(50, 1))
    m = (rng.normal(size=(50, 12)) < ability).astype(int)
    k = m.shape[1]
    alpha = k / (k - 1) * (1 - m.var(axis=0).sum() / m.sum(axis=1).var())  # the reference
    got, sem = kr20(m.tolist())
    assert got == pytest.approx(alpha)
    assert sem == pytest.approx(m.sum(axis=1).std() * math.sqrt(1 - alpha))
    assert 0.5 < got < 1  # items that share an ability agree
    noise = (rng.random((50, 12)) < 0.5).astype(int)
    assert kr20(noise.tolist())[0] < 0.4  # items that share nothing do not


def test_only_learners_with_every_item_count_and_too_few_say_so():
    full = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]] * 3
    rows = _rows(full) + [{"learner": "late", "chapter": "ch01", "item_id": "q0", "grounded": False,
                               "correct": True}]  # answered one item: left out
    (r,) = chapter_reliability(rows)
    assert r.n_learners == 12 and r.n_items == 3 and not math.isnan(r.kr20)
    (few,) = chapter_reliability(_rows(full[:4]))
    assert math.isnan(few.kr20) and "4 of 4 learners answered all 3 items; it needs 10" \
        in few.text()


def test_drills_get_the_rest_score_warning_and_no_kr20():
    rnd = random.Random(1)
    rows = [{"learner": f"L{i}", "chapter": "exam", "item_id": f"q{j}", "grounded": False,
                 "correct": rnd.random() < 0.6}
            for i in range(30) for j in rnd.sample(range(40), 10)]  # 10 of 40 items each
    (warning,) = subset_warnings(rows)
    assert warning.startswith("exam: the median learner answered 25 % of its 40 items")
    assert "not comparable" in warning
    assert math.isnan(chapter_reliability(rows)[0].kr20)
    assert subset_warnings(_rows([[1, 0, 1]] * 12)) == []  # a chapter quiz: every item


def test_the_class_report_shows_kr20_and_the_warning(tmp_path):
    bank = load_bank("ch01")
    sim = simulate.simulate_class(40, 3, (bank,), skip_rate=0.0)
    html = write_report(sim.attempts, [], [bank], tmp_path / "r").read_text(encoding="utf-8")
    line = next(x for x in html.split("<li>") if x.startswith("ch01: KR-20"))
    value = float(line.split("KR-20 ")[1].split(",")[0])
    assert 0.5 < value < 0.95 and "40 learners with every item" in line


def test_the_simulated_class_guesses_at_chance_so_true_false_is_not_too_hard(monkeypatch):
    bank = load_bank("ch01")

    def too_hard_true_false() -> int:
        return sum(any(f.code == "too-hard" for f in s.flags)
                   for seed in range(5)
                   for s in analyse_items(simulate.simulate_class(40, seed, (bank,)).attempts,
                                          [bank]) if s.type == "truefalse")

    assert too_hard_true_false() == 0
    monkeypatch.setattr(simulate, "chance_level", lambda qtype, n: 0.0)  # no floor: as before
    assert too_hard_true_false() >= 5
