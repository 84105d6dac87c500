"""Wording cues: the validator finds test-wise rules that beat chance, and the shipped drill
gives a learner who reads no subject no real chance of passing."""

from __future__ import annotations

from math import comb
from pathlib import Path

import pytest
import yaml

from tlcourse.quiz.bank import load_banks, validate_file
from tlcourse.quiz.cli import main
from tlcourse.quiz.cues import binom_quantile, cue_figures, upper_tail
from tlcourse.quiz.drill import load_pool
from tlcourse.quiz.testwise import drill_pass_rate, guess_pass_rate


def _tf(qid: str, statement: str, answer: str) -> dict:
    return {"id": qid, "topic": "t", "difficulty": "easy", "kind": "recall", "type": "truefalse",
            "prompt": statement, "answer": answer,
            "choices": [{"key": "T", "why": "w"}, {"key": "F", "why": "w"}]}


def _write(tmp_path: Path, *questions: dict) -> Path:
    path = tmp_path / "tst.yaml"
    path.write_text(yaml.safe_dump({"chapter": "tst", "title": "T", "topics": {"t": "a topic"},
                                    "questions": list(questions)}, sort_keys=False))
    return path


@pytest.mark.parametrize("k, n, p", [(0, 5, 0.5), (3, 10, 0.25), (7, 10, 0.5), (10, 10, 0.3)])
def test_the_tail_is_the_binomial_tail_when_chances_are_equal(k, n, p):
    exact = sum(comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))
    assert upper_tail(k, [p] * n) == pytest.approx(exact)


def test_the_tail_with_unequal_chances_matches_enumeration():
    from itertools import product

    probs = [0.5, 0.25, 0.2, 0.9]
    for k in range(6):
        brute = sum(
            __import__("math").prod(p if o else 1 - p for p, o in zip(probs, outcome))
            for outcome in product((0, 1), repeat=4) if sum(outcome) >= k)
        assert upper_tail(k, probs) == pytest.approx(brute)


def test_a_bank_whose_hedges_and_absolutes_give_the_key_is_refused(tmp_path):
    cued = [_tf(f"t-a{i}", f"Pretraining always helps task {i}.", "F") for i in range(3)] + \
           [_tf(f"t-h{i}", f"Pretraining usually helps task {i}.", "T") for i in range(3)]
    problems = validate_file(_write(tmp_path, *cued))
    assert [p.split(": ")[1] for p in problems] == [q["id"] for q in cued]  # each one to fix
    assert "'true/false: T if it hedges, F if it has an absolute' is right in 6 of the 6" \
        in problems[0]
    assert "p = 0.016 < 0.05" in problems[0] and "reword this item" in problems[0]
    # The same claims, the cue broken on half of them: within chance, accepted.
    fair = cued[:2] + [_tf("t-a2", "Pretraining always changes the head's weights.", "T")] + \
        cued[3:5] + [_tf("t-h2", "Pretraining usually hurts task 2.", "F")]
    assert validate_file(_write(tmp_path, *fair)) == []


def test_the_reverse_rule_is_caught_too(tmp_path):
    reversed_cue = [_tf(f"t-a{i}", f"A frozen layer never changes ({i}).", "T") for i in range(3)] \
        + [_tf(f"t-h{i}", f"Fine-tuning can leave layer {i} as it was.", "F") for i in range(3)]
    problems = validate_file(_write(tmp_path, *reversed_cue))
    assert len(problems) == 6 and "answering the opposite pays" in problems[0]


def test_a_numeric_item_answered_by_subtracting_the_stem_is_refused(tmp_path):
    q = {"id": "t-gap", "topic": "t", "difficulty": "easy", "kind": "application", "type": "numeric",
         "prompt": "A scored 73 %, B 27 %. By how many points did A lead?", "answer": 46,
         "tolerance": 1, "explanation": "73 - 27."}
    (problem,) = validate_file(_write(tmp_path, q))
    assert problem.split(": ")[1] == "t-gap" and "difference of two numbers in the stem" in problem


def test_no_rule_beats_chance_in_any_shipped_bank_or_over_all_of_them():
    banks = load_banks()
    groups = [(b.chapter, b.questions) for b in banks]
    groups.append(("all", [q for b in banks for q in b.questions]))
    for name, qs in groups:
        for f in cue_figures(qs):
            assert not f.beats_chance and not f.reverse_beats_chance, f"{name}: {f.text()}"
    overall = {f.rule.name: f for f in cue_figures(groups[-1][1])}
    assert overall["hedge-absolute"].applies >= 10  # the rule is measured, not vacuous
    assert overall["stem-arithmetic"].right == 0  # no number is a difference of the stem's


def test_stats_print_the_cue_figures_beside_the_length_figure(capsys):
    assert main(["quiz", "stats"]) == 0
    out = capsys.readouterr().out
    assert "longest correct" in out and "wording cues" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("all banks"))
    assert "hedge-absolute" in row and "right (chance" in row and "!" not in row


# Ten-question drills are what chapter 6 runs (show_exam(count=10)); pass mark 7 of 10.
SEEDS = range(500)
#: The test-wise player's true pass rate must be at most this: 1 drill in 100, about three
#: times blind guessing's 0.3 %. (Before the wording was repaired it passed 4 %: 20 of 500.)
FEW_PERCENT = 0.01


def test_test_wise_strategies_pass_a_ten_question_drill_only_a_few_percent_of_the_time():
    """The player sees each question as displayed (shuffled) and answers by wording alone.

    Threshold: if its true pass rate were FEW_PERCENT, the number of passes in 500 drills would
    exceed binom_quantile(500, 0.01, 0.99) = 11 with probability under 1 %. So banks that let
    the player pass at most 1 % of drills fail this test less than 1 % of the time, while the
    banks before issue 28 (4 %, 20 passes) fail it surely. (Drills share questions, so the 500
    are not fully independent; the bound is a guide, not an exact level.)
    """
    pool, _, weights = load_pool()
    passes = round(drill_pass_rate(pool, weights, SEEDS, count=10) * len(SEEDS))
    bound = binom_quantile(len(SEEDS), FEW_PERCENT, 0.99)
    guessing = guess_pass_rate(pool, weights, range(50), count=10)
    assert passes <= bound, (
        f"the test-wise player passed {passes} of {len(SEEDS)} ten-question drills (bound "
        f"{bound}; blind guessing passes {100 * guessing:.1f} %): run `tlcourse quiz stats`")
