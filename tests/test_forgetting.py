"""Chapter-4 tests: class splits, continual-learning losses, and the science on the quick profile."""

import statistics

import pytest
import torch

from tlcourse.backbones import create_backbone
from tlcourse.continual import TwoHeadNet, class_split, lwf_loss, rehearsal_loss
from tlcourse.data import ImageData


def _toy(n_per_class: int = 4, n_classes: int = 10) -> ImageData:
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    x = (torch.rand(len(y), 1, 28, 28) * 255).to(torch.uint8)
    return ImageData(x, y, [f"c{i}" for i in range(n_classes)], "toy")


def test_class_split_is_disjoint_and_relabelled():
    d = _toy()
    a, b = class_split(d, [0, 1, 2, 3, 4])
    assert len(a) + len(b) == len(d)
    assert a.classes == ["c0", "c1", "c2", "c3", "c4"] and b.classes == ["c5", "c6", "c7", "c8", "c9"]
    assert set(a.y.tolist()) == set(range(5)) and set(b.y.tolist()) == set(range(5))
    # images stay with their labels: B's label 0 is original class 5
    assert torch.equal(b.x[b.y == 0], d.x[d.y == 5])


def test_class_split_rejects_empty_halves():
    with pytest.raises(ValueError):
        class_split(_toy(), range(10))


def test_two_head_net_keeps_head_a_and_losses_run():
    net = create_backbone("small-cnn", 5, input_size=28)
    two = TwoHeadNet(net, 5, frozen_stages=2)
    x = _toy(1).x[:5]
    assert two(x).shape == (5, 5) and two.task_a()(x).shape == (5, 5)
    assert not any(p.requires_grad for p in two.net._stages[0].parameters())
    mem = class_split(_toy(), range(5))[0]
    for loss in (rehearsal_loss(mem, 4), lwf_loss(two)):
        value = loss(two, x, torch.zeros(5, dtype=torch.long), two(x))
        assert value.ndim == 0 and torch.isfinite(value)


@pytest.fixture(scope="module")
def forgetting():
    from tlcourse.experiments import run_experiment

    return run_experiment("forgetting", "quick", progress=False).records


@pytest.fixture(scope="module")
def layer_transfer():
    from tlcourse.experiments import run_experiment

    return run_experiment("layer-transfer", "quick", progress=False).records


def _mean(records, metric, **match):
    return statistics.fmean(r[metric] for r in records if all(r[k] == v for k, v in match.items()))


@pytest.mark.slow
def test_forgetting_grows_with_learning_rate(forgetting):
    lrs = sorted({r["setting"] for r in forgetting if r["study"] == "lr"})
    f = [_mean(forgetting, "forgetting", study="lr", setting=lr) for lr in lrs]
    assert f[-1] > f[0] + 0.2, f  # the highest rate forgets far more than the lowest
    for seed in {r["seed"] for r in forgetting}:  # and does so in every seed
        lo = _mean(forgetting, "forgetting", study="lr", setting=lrs[0], seed=seed)
        hi = _mean(forgetting, "forgetting", study="lr", setting=lrs[-1], seed=seed)
        assert hi > lo


@pytest.mark.slow
def test_rehearsal_reduces_forgetting(forgetting):
    naive = _mean(forgetting, "forgetting", study="mitigation", method="naive")
    replay = _mean(forgetting, "forgetting", study="mitigation", method="rehearsal")
    assert replay < naive - 0.03
    # ... without giving up task B
    assert _mean(forgetting, "acc_b", study="mitigation", method="rehearsal") > 0.8


@pytest.mark.slow
def test_self_transfer_control_stays_near_baseline_at_shallow_depth(layer_transfer):
    base = _mean(layer_transfer, "test_accuracy", method="scratch")
    bnb1 = _mean(layer_transfer, "test_accuracy", method="BnB", depth=1)
    assert abs(bnb1 - base) < 0.05
