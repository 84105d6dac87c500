"""Item kinds: every item has one, a drill asks for predictions and interpretations, and the
learner's own saved runs reach the drill."""

from __future__ import annotations

import argparse
import io

import yaml

from tlcourse.quiz.bank import KINDS, load_banks, validate_file
from tlcourse.quiz.drill import REASONING_KINDS, ExamConfig, MockExam, draw, load_pool
from tlcourse.quiz.drill_results import with_results


def _records() -> list[dict]:
    """A saved run: two methods, three seeds, one clearly ahead."""
    return [{"experiment": "scratch-vs-transfer", "dataset": "photo", "method": m,
             "labels_per_class": 5, "seed": s, "test_accuracy": a + s / 100, "seconds": t}
            for m, a, t in [("scratch", 0.30, 9.0), ("imagenet-frozen", 0.70, 2.0)]
            for s in (0, 1, 2)]


def test_every_item_has_a_kind_and_each_kind_is_used():
    qs = [q for b in load_banks() for q in b.questions]
    assert all(q.kind in KINDS for q in qs)
    assert {q.kind for q in qs} == set(KINDS)


def test_a_missing_kind_says_exactly_what_to_add(tmp_path):
    q = {"id": "t-q", "topic": "t", "difficulty": "easy", "type": "truefalse",
         "prompt": "A statement.", "answer": "F",
         "choices": [{"key": "T", "why": "w"}, {"key": "F", "why": "w"}]}
    path = tmp_path / "tst.yaml"
    for kind, expected in [(None, ("missing 'kind': add a line `kind: recall` (or application, "
                                  "prediction, interpretation) under `type:`")),
                           ("guess", ("unknown kind 'guess'; valid: ['recall', 'application', "
                                     "'prediction', 'interpretation']"))]:
        item = q if kind is None else {**q, "kind": kind}
        path.write_text(yaml.safe_dump({"chapter": "tst", "title": "T", "topics": {"t": "x"},
                                        "questions": [item]}))
        (problem,) = validate_file(path)
        assert problem.startswith(f"{path}: t-q: {expected}")


def test_a_quarter_of_a_default_drill_is_prediction_or_interpretation_without_results():
    pool, _, weights = load_pool()
    for count in (4, 10, 20):
        for seed in range(20):
            drawn = draw(pool, ExamConfig(count=count, seed=seed, weights=weights))
            reasoning = sum(q.kind in REASONING_KINDS for q in drawn)
            assert len(drawn) == count and 4 * reasoning >= count, (count, seed, reasoning)
            assert not any(q.topic == "your-results" for q in drawn)


def test_saved_runs_reach_the_drill_as_interpretation_items():
    bank_pool, _, weights = load_pool()
    pool, weights = with_results(bank_pool, weights, {"scratch-vs-transfer": _records()})
    ours = [q for q in pool if q.topic == "your-results"]
    assert ours and all(q.kind == "interpretation" for q in ours)
    for seed in range(20):
        drawn = MockExam(pool, ExamConfig(count=10, seed=seed, weights=weights)).questions
        assert any(q.topic == "your-results" for q in drawn), seed  # taken first for the share
    assert with_results(bank_pool, {}, {}) == (bank_pool, {})  # no runs: nothing added


def test_the_drill_command_asks_about_saved_runs(monkeypatch, tmp_path):
    from tlcourse.quiz import cli

    monkeypatch.setattr(cli, "saved_results", lambda: {"scratch-vs-transfer": _records()})
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    args = parser.parse_args(["drill", "--count", "10", "--seed", "3", "--answers", "",
                              "--no-save"])
    assert cli.drill_command(args, io.StringIO(), out) == 0
    assert "your-results" in out.getvalue()
    out = io.StringIO()
    args = parser.parse_args(["drill", "--count", "10", "--seed", "3", "--answers", "",
                              "--no-save", "--no-results"])
    assert cli.drill_command(args, io.StringIO(), out) == 0
    assert "your-results" not in out.getvalue()
