"""Claim 14 (chapter 7): Lite0 / Lite1 / Lite2 and a small CNN - accuracy, speed, size.

Fast tests on synthetic records (the sentences and the pick come from the judge); the slow ones
read one quick-profile run (cached, and reused by the chapter 7 notebook in the same worker)."""

from __future__ import annotations

import random

import pytest

from tlcourse.experiments import run_experiment
from tlcourse.experiments.backbone_choice import _by_seed, findings, table
from tlcourse.plots import backbones as bplots
from tlcourse.stats import HOLDS, judge

N_TEST = 126


def _outcomes(correct: int, rng: random.Random) -> list[int]:
    out = [1] * correct + [0] * (N_TEST - correct)
    rng.shuffle(out)
    return out


def _records(lead: dict[tuple[str, int], int], speeds: dict[str, float],
             seeds=range(6), cnn_seeds=range(3)) -> list[dict]:
    """Accuracy records (per-photo outcomes, resampled test photos) and model rows: each arm
    gets 80 correct photos plus its ``lead`` and a per-seed wobble of -2..2 photos."""
    rng, recs = random.Random(0), []
    sizes = {"lite0": 224, "lite1": 240, "lite2": 260, "small-cnn": 64}
    for (model, size), extra in lead.items():
        for s in (cnn_seeds if model == "small-cnn" else seeds):
            correct = 80 + extra + rng.randint(-2, 2)
            recs.append({"part": "accuracy", "model": model, "input_size": size, "seed": s,
                         "test_accuracy": round(correct / N_TEST, 4), "balanced_accuracy": 0.5,
                         "item_correct": _outcomes(correct, rng), "test_set": "resampled",
                         "n_test": N_TEST})
    for model, size in lead:
        recs.append({"part": "model", "model": model, "input_size": size,
                     "size_setting": "own" if size == sizes[model] else "shared",
                     "params": {"lite0": 3.4e6, "lite1": 4.2e6, "lite2": 4.9e6,
                                "small-cnn": 1e5}[model],
                     "images_per_second": speeds[model], "onnx_mb": None})
    return recs


ARMS = {("lite0", 224): 0, ("lite1", 240): 1, ("lite1", 224): 0, ("lite2", 260): 20,
        ("lite2", 224): 15, ("small-cnn", 64): -40}


def test_findings_give_the_judges_sentence_and_pick_the_fastest_model_no_other_beat():
    recs = _records(ARMS, {"lite0": 30.0, "lite1": 20.0, "lite2": 12.0, "small-cnn": 300.0})
    lines = findings(recs)
    v = judge(_by_seed(recs, "lite2", 260), _by_seed(recs, "lite0", 224))
    assert v.word == HOLDS
    own = next(s for s in lines if s.startswith("lite2 (260 px) vs lite0 (224 px)"))
    assert v.text("lite2", "lite0", "test photos") in own and "95 % interval" in own
    assert "6 seeds, 126 test photos" in own and "2.5x slower" in own
    assert "within noise" not in " ".join(lines)
    assert next(s for s in lines if s.startswith("Pick ")).startswith("Pick lite2 (260 px")
    cnn = next(s for s in lines if s.startswith("The small CNN"))
    assert "seeds it ran (0, 1, 2)" in cnn and "lite0 beat the small CNN by" in cnn


def test_a_measured_speed_up_is_called_faster_and_a_tie_keeps_the_fastest():
    tie = {**ARMS, ("lite2", 260): 0, ("lite2", 224): 0}
    recs = _records(tie, {"lite0": 10.0, "lite1": 9.0, "lite2": 11.0, "small-cnn": 300.0})
    lines = findings(recs)
    own = next(s for s in lines if s.startswith("lite2 (260 px) vs lite0"))
    assert "lite2 ran 1.1x faster" in own and "slower" not in own
    assert "inconclusive at 6 seeds" in own or "tied" in own
    assert next(s for s in lines if s.startswith("Pick ")).startswith("Pick lite2")


def test_table_and_plot_show_each_arms_95_interval():
    recs = _records(ARMS, {"lite0": 30.0, "lite1": 20.0, "lite2": 12.0, "small-cnn": 300.0})
    rows = {(r["model"], r["input_size"]): r for r in table(recs)}
    r = rows["lite2", 260]
    assert r["accuracy_low"] < r["accuracy"] < r["accuracy_high"] and r["seeds"] == 6
    assert rows["small-cnn", 64]["seeds"] == 3
    title = bplots.accuracy_vs_speed(recs).axes[0].get_title()
    assert "95 % interval" in title and "±1 sd" not in title


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return run_experiment("backbone-choice", "quick", progress=False).records


@pytest.mark.slow
def test_every_model_is_measured_at_its_own_and_the_shared_size(records):
    rows = {(r["model"], r["input_size"]) for r in table(records)}
    assert rows == {("lite0", 224), ("lite1", 240), ("lite1", 224), ("lite2", 260),
                    ("lite2", 224), ("small-cnn", 64), ("small-cnn", 224)}
    params = {r["model"]: r["params_m"] for r in table(records)}
    assert params["small-cnn"] < params["lite0"] < params["lite1"] < params["lite2"]


@pytest.mark.slow
def test_sizes_and_speeds_are_measured(records):
    rows = table(records)
    for r in rows:
        assert r["weights_mb"] == pytest.approx(4 * r["params_m"]) and r["images_per_second"] > 0
        if r["onnx_mb"] is not None:  # exported (full profile): the weights plus the graph
            assert r["weights_mb"] < r["onnx_mb"] < 1.2 * r["weights_mb"] + 0.5, r


@pytest.mark.slow
def test_every_accuracy_record_keeps_its_per_photo_outcomes(records):
    acc = [r for r in records if r.get("part") == "accuracy"]
    assert len({r["seed"] for r in acc if r["model"] == "lite0"}) >= 20  # head seeds are cheap
    assert len({r["seed"] for r in acc if r["model"] == "small-cnn"}) >= 3
    for r in acc:
        assert r["test_set"] == "resampled" and len(r["item_correct"]) == r["n_test"]
        assert sum(r["item_correct"]) / r["n_test"] == pytest.approx(r["test_accuracy"], abs=1e-4)


@pytest.mark.slow
def test_pretrained_features_beat_the_fitted_small_cnn(records):
    cnn = [r for r in records if r.get("part") == "accuracy" and r["model"] == "small-cnn"]
    assert min(r["train_accuracy"] for r in cnn) >= 0.95  # the baseline fitted its photos
    v = judge(_by_seed(records, "lite0", 224), _by_seed(records, "small-cnn", 64))
    assert v.word == HOLDS and v.n_seeds >= 3 and v.gap > 0.15, v


@pytest.mark.slow
def test_the_findings_say_what_the_judge_says(records):
    lines = findings(records)
    own = {r["model"]: r for r in table(records) if r["size_setting"] == "own"}
    for b in ("lite1", "lite2"):
        line = next(s for s in lines if s.startswith(f"{b} ({own[b]['input_size']} px)"))
        v = judge(_by_seed(records, b, own[b]["input_size"]), _by_seed(records, "lite0", 224))
        assert v.text(b, "lite0", "test photos") in line
    pick = next(s for s in lines if s.startswith("Pick "))
    assert pick.split()[1] in own


def test_the_ledger_prints_the_chapters_verdict_and_the_measured_speed_direction():
    from tlcourse.claims.verdicts import larger_backbone_more_accurate

    recs = _records(ARMS, {"lite0": 10.0, "lite1": 9.0, "lite2": 11.0, "small-cnn": 300.0})
    f = larger_backbone_more_accurate(recs)
    chapter = next(s for s in findings(recs) if s.startswith("lite2 (260 px) vs lite0"))
    assert f.verdict == judge(_by_seed(recs, "lite2", 260), _by_seed(recs, "lite0", 224))
    assert _pts_of(f.measured) == _pts_of(chapter)
    assert "Lite2 ran 1.1x faster" in f.measured and f.verdict.n_items == N_TEST


def _pts_of(sentence: str) -> str:
    """The numbers of the judge's sentence: 'by 16 points (95 % interval 13 to 19; ...'."""
    return sentence[sentence.index(" by "):sentence.index(";")]
