"""Item analysis (tlcourse.classroom.items): a hand-computed class, and 100 simulated classes."""

import math
from collections import Counter

import pytest

from tlcourse.classroom.items import analyse_class, analyse_items, first_attempts
from tlcourse.classroom.simulate import simulate_class
from tlcourse.quiz.bank import Bank, Choice, Question, load_bank


def _q(qid, qtype, answer, keys=("A", "B", "C", "D")):
    choices = tuple(Choice(k, f"choice {k}", "why") for k in keys)
    return Question(qid, "ch01", "t", "easy", qtype, f"prompt {qid}", answer, choices)


BANK = Bank("ch01", "Chapter 1", {"t": "topic"}, (
    _q("q1", "single", ("A",)),
    _q("q2", "truefalse", ("T",), keys=("T", "F")),
    _q("q3", "multiple", ("A", "C")),
    Question("q4", "ch01", "t", "easy", "numeric", "prompt q4", 3.0, explanation="e"),
))
KEYS = {"q1": "A", "q2": "T", "q3": "AC", "q4": "3"}
TYPES = {"q1": "single", "q2": "truefalse", "q3": "multiple", "q4": "numeric"}
# First attempts, in bank keys. L6 skipped q3; L7 answered q1 only.
ANSWERS = {
    "L1": {"q1": "A", "q2": "T", "q3": "AC", "q4": "5"},
    "L2": {"q1": "A", "q2": "T", "q3": "A", "q4": "5"},
    "L3": {"q1": "A", "q2": "F", "q3": "AC", "q4": "3"},
    "L4": {"q1": "B", "q2": "T", "q3": "AC", "q4": "3"},
    "L5": {"q1": "C", "q2": "F", "q3": "ABC", "q4": "3"},
    "L6": {"q1": "B", "q2": "F", "q4": "3"},
    "L7": {"q1": "A"},
}


def _row(learner, item, choice, attempt=1, grounded=False, correct=None, chapter="ch01"):
    return {"learner": learner, "chapter": chapter, "item_id": item, "topic": "t",
            "type": TYPES.get(item, "single"), "grounded": grounded, "attempt": attempt,
            "bank_choice": choice, "correct": choice == KEYS.get(item) if correct is None
            else correct, "time": f"2026-03-02T09:{attempt:02d}:00+00:00"}


def _fixed_class():
    rows = [_row(lr, item, c) for lr, items in ANSWERS.items() for item, c in items.items()]
    # Retries must not count: L4 gets q1 right on a second attempt.
    return rows + [_row("L4", "q1", "A", attempt=2)]


def _point_biserial(x, y):
    """r_pb = (M1 - M0) / s * sqrt(p q), s the population sd of y: the textbook formula."""
    n = len(x)
    ones = [b for a, b in zip(x, y) if a == 1]
    zeros = [b for a, b in zip(x, y) if a == 0]
    p = len(ones) / n
    mean = sum(y) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in y) / n)
    return (sum(ones) / len(ones) - sum(zeros) / len(zeros)) / s * math.sqrt(p * (1 - p))


def test_statistics_equal_a_hand_computation():
    stats = {s.item_id: s for s in analyse_items(_fixed_class(), [BANK])}
    # Right/wrong on first attempts (rows L1..L6; '-' skipped):
    #        q1 q2 q3 q4
    #   L1    1  1  1  0
    #   L2    1  1  0  0
    #   L3    1  0  1  1
    #   L4    0  1  1  1
    #   L5    0  0  0  1
    #   L6    0  0  -  1          and L7 answered q1 only, right.
    q1, q3, q4 = stats["q1"], stats["q3"], stats["q4"]
    assert (q1.n, q1.p) == (7, pytest.approx(4 / 7))  # L7 counts in p ...
    assert q1.n_rest == 6  # ... but has no rest score (no other item answered)
    # Rest score = share correct on the other items answered:
    # L1 (1+1+0)/3, L2 (1+0+0)/3, L3 (0+1+1)/3, L4 (1+1+1)/3, L5 (0+0+1)/3, L6 (0+1)/2.
    rest_q1 = [2 / 3, 1 / 3, 2 / 3, 1, 1 / 3, 1 / 2]
    assert q1.rest_r == pytest.approx(_point_biserial([1, 1, 1, 0, 0, 0], rest_q1))
    assert q1.rest_r == pytest.approx(-0.1204, abs=1e-4)
    # 27 % of 6 = 1.62 -> groups of 2. Upper by rest: L4 (1), then L1 and L3 tie at 2/3 and the
    # tie goes by pseudonym: L1. Lower: L2 and L5 (1/3). D = (0 + 1)/2 - (1 + 0)/2 = 0.
    assert q1.n_group == 2 and q1.d_index == pytest.approx(0.0)
    shares = {c.key: (c.overall, c.upper, c.lower) for c in q1.choices}
    assert shares["A"] == pytest.approx((4 / 7, 1 / 2, 1 / 2))  # L1 L2 L3 L7; upper L1; lower L2
    assert shares["B"] == pytest.approx((2 / 7, 1 / 2, 0))  # L4 L6; upper L4
    assert shares["C"] == pytest.approx((1 / 7, 0, 1 / 2))  # L5, in the lower group
    assert shares["D"] == pytest.approx((0, 0, 0))

    # q4: x = 0 0 1 1 1 1; rest: L1 3/3, L2 2/3, L3 2/3, L4 2/3, L5 0/3, L6 0/2.
    # r_pb = (1/3 - 5/6) * sqrt(2/3 * 1/3) / (sqrt(5)/6) = -sqrt(2/5).
    assert q4.rest_r == pytest.approx(-math.sqrt(2 / 5))
    # Upper: L1, then L2 (ties L2-L4 by pseudonym), both wrong; lower: L5, L6, both right.
    assert q4.d_index == pytest.approx(-1.0)
    assert q4.choices == [] and q4.chance == 0.0

    # Multiple choice: the share who *selected* each key, of the 5 who answered.
    assert (q3.n, q3.p) == (5, pytest.approx(3 / 5))
    selected = {c.key: c.overall for c in q3.choices}
    assert selected == pytest.approx({"A": 1.0, "B": 1 / 5, "C": 4 / 5, "D": 0.0})
    assert q3.chance == pytest.approx(1 / 15) and stats["q2"].chance == 0.5


def test_only_first_attempts_count():
    rows = _fixed_class()
    assert {(a["learner"], a["attempt"]) for a in first_attempts(rows)
            if a["item_id"] == "q1"} >= {("L4", 1)}
    again = rows + [_row(lr, "q4", "3", attempt=2) for lr in ("L1", "L2")]
    a, b = analyse_items(rows, [BANK]), analyse_items(again, [BANK])
    assert [(s.p, s.rest_r) for s in a] == [(s.p, s.rest_r) for s in b]


def test_grounded_items_get_difficulty_only_and_never_enter_a_rest_score():
    rows = _fixed_class()
    # Each learner's grounded key differs, so "B" is right for some and wrong for others.
    grounded = [_row(lr, "grounded-best-x", "B", grounded=True, correct=lr in ("L1", "L5"))
                for lr in ("L1", "L2", "L3", "L5")]
    with_g = {s.item_id: s for s in analyse_items(rows + grounded, [BANK])}
    without = {s.item_id: s for s in analyse_items(rows, [BANK])}
    g = with_g["grounded-best-x"]
    assert g.grounded and g.p == pytest.approx(0.5) and g.n == 4
    assert math.isnan(g.rest_r) and math.isnan(g.d_index) and g.choices == [] and not g.flags
    assert "difficulty only" in g.note
    for item in KEYS:  # the other items' discrimination is untouched
        assert with_g[item].rest_r == pytest.approx(without[item].rest_r, nan_ok=True)
    warnings = analyse_class(rows + grounded, banks=[BANK]).warnings
    assert any("grounded" in w and "excluded from discrimination" in w for w in warnings)


def test_a_small_class_is_warned_about_and_its_items_get_no_flags():
    result = analyse_class(_fixed_class(), banks=[BANK])
    assert result.warnings[0].startswith("Only 7 learners")
    assert "fewer than 10 learners" in result.warnings[1]
    assert all(not s.flags for s in result.items) and "no flags" in result.items[0].note


def test_learner_scores_by_chapter_topic_and_exercises():
    exercises = [{"learner": "L1", "chapter": "ch01", "exercise_id": "ex1", "passed": False,
                  "time": "t"},
                 {"learner": "L1", "chapter": "ch01", "exercise_id": "ex1", "passed": True,
                  "time": "t"},
                 {"learner": "L1", "chapter": "ch01", "exercise_id": "ex2", "passed": False,
                  "time": "t"}]
    scores = {s.learner: s for s in analyse_class(_fixed_class(), exercises, [BANK]).learners}
    assert scores["L1"].score == pytest.approx(3 / 4) and scores["L6"].score == pytest.approx(1 / 3)
    assert scores["L4"].by_topic == {"ch01/t": pytest.approx(3 / 4)}  # first attempt at q1 wrong
    assert (scores["L1"].exercises_passed, scores["L1"].exercises_tried) == (1, 2)
    assert scores["L2"].exercises_tried == 0


def test_planted_problems_are_flagged_in_95_percent_of_100_classes_and_others_rarely():
    bank = load_bank("ch01")
    planted_key = planted_dead = 0
    false_flags: Counter = Counter()
    for seed in range(100):
        sim = simulate_class(40, seed, (bank,))
        for s in analyse_items(sim.attempts, [bank]):
            codes = {f.code for f in s.flags}
            if s.item_id == sim.wrong_key[0]:
                planted_key += "key-suspicious" in codes
            elif s.item_id == sim.dead_distractor[0]:
                planted_dead += any(f.code == "dead-distractor"
                                    and f"distractor {sim.dead_distractor[1]} " in f.text
                                    for f in s.flags)
            else:
                false_flags.update((s.item_id, c) for c in codes
                                   if c in ("key-suspicious", "dead-distractor"))
    assert planted_key >= 95 and planted_dead >= 95
    worst = false_flags.most_common(1)
    assert not worst or worst[0][1] <= 5, worst  # every other item: in <= 5 of 100 classes


def test_the_upper_and_lower_groups_never_share_a_learner_when_scores_tie():
    """Sorted separately, tied learners landed in both groups (25 of 557 items in a sparse
    simulated class). Ranked once and cut, the groups are disjoint."""
    import numpy as np

    from tlcourse.classroom.items import _groups

    upper, lower = _groups(np.ones(10), np.ones(10, dtype=bool))
    assert len(upper) == len(lower) == 3 and not set(upper) & set(lower)
    # Ten learners who all got q2 right (equal rest scores for q1); five got q1 right.
    rows = [_row(f"L{i:02d}", "q2", "T") for i in range(10)]
    rows += [_row(f"L{i:02d}", "q1", "A" if i < 5 else "B") for i in range(10)]
    q1 = next(s for s in analyse_items(rows, [BANK]) if s.item_id == "q1")
    shares = {c.key: (c.upper, c.lower) for c in q1.choices}
    assert shares["A"][0] + shares["A"][1] <= 1 and shares["B"][0] + shares["B"][1] <= 1
