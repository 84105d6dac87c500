"""Claim 14 (chapter 7): Lite0 / Lite1 / Lite2 and a small CNN - accuracy, speed, size.

One quick-profile run (cached, and reused by the chapter 7 notebook in the same worker)."""

from __future__ import annotations

import pytest

from tlcourse.experiments import run_experiment
from tlcourse.experiments.backbone_choice import _by_seed, findings, table
from tlcourse.stats import mean_sd

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return run_experiment("backbone-choice", "quick", progress=False).records


def test_every_model_is_measured_at_its_own_and_the_shared_size(records):
    rows = {(r["model"], r["input_size"]) for r in table(records)}
    assert rows == {("lite0", 224), ("lite1", 240), ("lite1", 224), ("lite2", 260),
                    ("lite2", 224), ("small-cnn", 64), ("small-cnn", 224)}
    params = {r["model"]: r["params_m"] for r in table(records)}
    assert params["small-cnn"] < params["lite0"] < params["lite1"] < params["lite2"]


def test_sizes_and_speeds_are_measured(records):
    rows = table(records)
    for r in rows:
        assert r["weights_mb"] == pytest.approx(4 * r["params_m"]) and r["images_per_second"] > 0
        if r["onnx_mb"] is not None:  # exported (full profile): the weights plus the graph
            assert r["weights_mb"] < r["onnx_mb"] < 1.2 * r["weights_mb"] + 0.5, r


def test_pretrained_features_beat_the_fitted_small_cnn_beyond_noise(records):
    cnn = [r for r in records if r.get("part") == "accuracy" and r["model"] == "small-cnn"]
    assert min(r["train_accuracy"] for r in cnn) >= 0.95  # the baseline fitted its photos
    lite0, small = _by_seed(records, "lite0", 224), _by_seed(records, "small-cnn", 64)
    gaps = [lite0[s] - small[s] for s in lite0]
    m, sd = mean_sd(gaps)
    assert len(gaps) >= 2 and m > 0.15 and m > 2 * sd


def test_the_findings_say_what_the_records_say(records):
    lines = findings(records)
    own = {r["model"]: r for r in table(records) if r["size_setting"] == "own"}
    for b in ("lite1", "lite2"):
        line = next(s for s in lines if s.startswith(f"{b} ({own[b]['input_size']} px)"))
        a, z = _by_seed(records, b, own[b]["input_size"]), _by_seed(records, "lite0", 224)
        m, sd = mean_sd([a[s] - z[s] for s in a])
        winner = b if m >= 0 else "lite0"
        assert f"{winner} beat" in line or "tied" in line
        assert ("within noise" in line) == (abs(m) < sd and round(abs(m) * 100, 1) > 0)
    pick = next(s for s in lines if s.startswith("Pick "))
    assert pick.split()[1] in own
