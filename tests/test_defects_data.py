"""Regression tests for the data, training and experiment defects of the correctness review
(issue 8): each one failed on the code before its fix."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from tlcourse.data import ImageData, few_shot_split, load_dataset
from tlcourse.experiments import summarize
from tlcourse.imbalance import make_imbalanced
from tlcourse.train import TrainConfig, evaluate


def _blobs(n_per_class: int, n_cls: int = 3) -> ImageData:
    y = torch.arange(n_cls).repeat_interleave(n_per_class)
    x = torch.randn(len(y), 4) + 10 * y[:, None].float()
    return ImageData(x, y, [f"c{i}" for i in range(n_cls)], "blobs")


# ------------------------------------------------------------------ splits
def test_learning_curve_test_set_is_fixed_across_k():
    data = _blobs(20)
    tests = [few_shot_split(data, k, seed=1, max_labels=10)[1] for k in (1, 2, 5, 10)]
    for t in tests[1:]:
        assert torch.equal(t.x, tests[0].x) and torch.equal(t.y, tests[0].y)
    trains = [few_shot_split(data, k, seed=1, max_labels=10)[0] for k in (1, 10)]
    assert set(map(tuple, trains[0].x.tolist())) <= set(map(tuple, trains[1].x.tolist()))
    test_rows = set(map(tuple, tests[0].x.tolist()))
    assert not test_rows & set(map(tuple, trains[1].x.tolist()))


def test_split_refuses_to_leave_fewer_than_five_test_images_per_class():
    data = _blobs(17)
    few_shot_split(data, 12, seed=0)  # 5 left: allowed
    with pytest.raises(ValueError, match=r"class 'c0' has 17 images.*at most 12 labels per class"):
        few_shot_split(data, 15, seed=0)  # the old full profile's k = 15 left 2 test images


def test_pooled_sets_refuse_a_test_split():
    with pytest.raises(ValueError, match="no separate test split.*few_shot_split"):
        load_dataset("digits", "test")
    with pytest.raises(ValueError, match="no separate test split"):
        load_dataset("photo", "test")


# ------------------------------------------------------------------ training config
@pytest.mark.parametrize("schedule", ["Cosine", "cos", "linear"])
def test_unknown_schedule_is_refused(schedule):
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule=schedule)


def test_shared_recipes_cannot_be_edited_in_place():
    from tlcourse.features import HEAD_CONFIG
    from tlcourse.methods import FINETUNE_CONFIG, SCRATCH_CONFIG

    for cfg in (HEAD_CONFIG, SCRATCH_CONFIG, FINETUNE_CONFIG):
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.lr = 1.0  # type: ignore[misc]
    assert dataclasses.replace(FINETUNE_CONFIG, lr=1.0).lr == 1.0


# ------------------------------------------------------------------ metrics
class _Oracle(nn.Module):
    """A perfect 3-class model: the label is stored in the first feature."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0].long(), 3).float() * 10


def test_recall_of_a_class_absent_from_the_test_set_is_undefined_not_zero():
    y = torch.tensor([0, 0, 1, 1])  # class 2 absent
    data = ImageData(y[:, None].float(), y, ["a", "b", "c"], "two-of-three")
    ev = evaluate(_Oracle(), data)
    assert ev["per_class_recall"][:2] == [1.0, 1.0] and math.isnan(ev["per_class_recall"][2])
    assert ev["mean_recall"] == 1.0  # it was 0.67 with the absent class counted as 0


def test_spread_is_the_sample_sd_and_says_n():
    rows = summarize([{"m": "a", "test_accuracy": v} for v in (0.6, 0.7)], by=("m",))
    assert rows[0]["test_accuracy_std"] == pytest.approx(0.0707107, rel=1e-4)  # pstdev gave 0.05
    assert rows[0]["n"] == 2
    single = summarize([{"m": "a", "test_accuracy": 0.6}], by=("m",))
    assert math.isnan(single[0]["test_accuracy_std"])  # one seed: no spread to report


def test_make_imbalanced_keeps_the_fraction_it_reports_rounded_half_up():
    data = _blobs(50)
    kept = make_imbalanced(data, minority=0, fraction=0.05, seed=0).counts()[0]
    assert kept == 3  # 2.5 images: round() to even kept 2 (4 %)


def test_mistakes_lab_names_the_input_size_it_uses():
    from tlcourse.experiments.mistakes import PROFILES, preprocessing_variants

    for cfg in PROFILES.values():
        sized = [name for _, name, ok, _ in preprocessing_variants(cfg) if ok]
        assert sized and all(f"{cfg.image_size} px" in name for name in sized)


# ------------------------------------------------------------------ model selection
def test_sweep_chooses_the_rate_on_validation_not_test():
    from tlcourse.experiments.fine_tuning import sweep_findings

    recs = [  # 1e-3 looks best on test, but validation picks 1e-4
        {"lr": 1e-4, "seed": 0, "val_accuracy": 0.80, "test_accuracy": 0.70, "probe_accuracy": 0.65},
        {"lr": 1e-3, "seed": 0, "val_accuracy": 0.60, "test_accuracy": 0.75, "probe_accuracy": 0.65},
    ]
    verdict = "\n".join(sweep_findings(recs, scratch_lr=3e-3))
    assert "chosen on the validation photos (1 seed): 1e-4" in verdict
    assert "80 % validation, 70 % (1 seed) test" in verdict
    # one seed decides nothing: the neighbouring rate is not told apart, and the sentence says so
    assert "vs 1e-3: rate 1e-3 ahead by 5 points, inconclusive at 1 seed" in verdict
    assert "this run cannot tell 30× lower (1e-4) from 3× lower (1e-3)" in verdict


def test_sweep_verdict_says_when_the_validation_choice_is_a_tie():
    from tlcourse.experiments.fine_tuning import sweep_findings

    recs = [{"lr": lr, "seed": 0, "val_accuracy": 0.83, "test_accuracy": t, "probe_accuracy": 0.8}
            for lr, t in ((1e-5, 0.84), (1e-4, 0.82))]
    verdict = "\n".join(sweep_findings(recs, scratch_lr=3e-3))
    assert "chosen on the validation photos (1 seed): 1e-5" in verdict
    assert "cannot tell 300× lower (1e-5) from 30× lower (1e-4)" in verdict
