"""Issue 28's repairs stay repaired: retired ids, near-duplicates, and the audited items."""

from __future__ import annotations

import yaml

from tlcourse.quiz.bank import RETIRED_IDS, load_banks, validate_file
from tlcourse.quiz.drill import ExamConfig, draw, load_pool

NEAR_DUPLICATES = [
    {"ch02-edge", "exam-backbones-mobile"}, {"exam-precision-calc", "exam-recall-calc"},
    {"exam-cv-publish", "exam-cv-callable-after-training"},
    {"exam-cv-compact", "exam-cv-compact-tf"}, {"ch01-no-training-myth", "exam-myth-no-training"},
    {"ch05-text-transfer", "ch08-images-only", "exam-myth-images-only"},
]


def _questions():
    return {q.id: q for b in load_banks() for q in b.questions}


def test_a_retired_id_is_refused_with_the_fix(tmp_path):
    q = {"id": "ch01-imagenet-size", "topic": "t", "difficulty": "easy", "type": "truefalse",
         "prompt": "A statement.", "answer": "F", "kind": "recall",
         "choices": [{"key": "T", "why": "w"}, {"key": "F", "why": "w"}]}
    path = tmp_path / "tst.yaml"
    path.write_text(yaml.safe_dump({"chapter": "tst", "title": "T", "topics": {"t": "x"},
                                    "questions": [q]}))
    (problem,) = validate_file(path)
    assert "ch01-imagenet-size: this id was retired" in problem and "pick a new id" in problem


def test_no_retired_id_is_in_a_bank():
    assert not set(_questions()) & RETIRED_IDS
    assert {"ch01-recipe-order", "ch02-efficientnet-variants", "ch01-imagenet-size"} <= RETIRED_IDS


def test_near_duplicates_share_a_group_and_never_meet_in_one_drill():
    qs = _questions()
    for ids in NEAR_DUPLICATES:
        assert len({qs[i].group for i in ids}) == 1 and qs[next(iter(ids))].group, ids
    pool, _, weights = load_pool()
    for seed in range(60):
        drawn = draw(pool, ExamConfig(count=40, seed=seed, weights=weights))
        assert len(drawn) == 40
        groups = [q.group for q in drawn if q.group]
        assert len(groups) == len(set(groups)), (seed, groups)


def test_the_audited_items_say_what_is_true():
    qs = _questions()
    key = qs["ch05-honest-report"].choice("A")
    assert "does not hold here" not in key.text and "holds" in key.why
    assert "should" in qs["ch01-recipe-which-order"].choice("B").text
    assert "BERT" in qs["ch01-recipe-which-order"].choice("B").why
    for qid in ("ch02-depth-speed", "ch07-backbone-measure"):
        whys = " ".join(c.why for c in qs[qid].choices)
        assert "loosely" not in whys and "0.99" in whys
    assert "2025-01-10" in qs["exam-vision-vs-custom"].choice("C").why
    assert "2028-09-25" in qs["exam-vision-vs-custom"].choice("C").why
    for qid in ("ch01-random-vs-imagenet-gap", "ch04-measure-forgetting", "ch05-photo-clipart",
                "ch05-gap-small", "ch08-reference-gap"):
        assert qs[qid].type == "single", qid  # a judgement, not a subtraction
    assert not any(ch.isdigit() for c in qs["ch03-lr-order"].choices for ch in c.text)


def test_the_new_coverage_uses_the_judges_words():
    from tlcourse.stats import HOLDS, INCONCLUSIVE, OPPOSITE

    ch00 = next(b for b in load_banks() if b.chapter == "ch00").questions
    text = " ".join(q.prompt + " ".join(c.text + c.why for c in q.choices) for q in ch00)
    for word in (HOLDS, OPPOSITE, INCONCLUSIVE, "95 % interval"):
        assert word.lower() in text.lower(), word
    assert sum(q.kind in ("prediction", "interpretation") for q in ch00) >= len(ch00) / 2
    qs = _questions()
    for qid in ("ch04-drift-reading", "ch04-mitigation-cost", "ch05-mnist-digits",
                "ch05-digits-direction", "ch07-iteration-movement", "ch07-error-analysis",
                "ch08-error-analysis", "ch08-seed-movement"):
        assert qs[qid].kind in ("prediction", "interpretation", "application"), qid
