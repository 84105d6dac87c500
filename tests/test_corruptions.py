"""Unit tests for the corruption functions and BN re-estimation (fast, synthetic or tiny data)."""

import itertools

import pytest
import torch
from torch import nn

from tlcourse.adaptation import reestimate_bn
from tlcourse.corruptions import corrupt, corrupt_data, list_corruptions
from tlcourse.data import ImageData


def _digits_like(n: int = 16, size: int = 28) -> torch.Tensor:
    """Bright strokes on a dark background, like MNIST: uint8 [n, 1, size, size].

    An asymmetric "L" shape, so a larger rotation always moves it further from itself."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 1, size, size)
    for i in range(n):
        r = int(torch.randint(6, size - 6, (1,), generator=g))
        x[i, 0, r - 1:r + 2, 5:size - 5] = 1.0
        x[i, 0, r:size - 5, 5:8] = 1.0
    return (x * 255).to(torch.uint8)


@pytest.mark.parametrize("name", list_corruptions())
def test_deterministic_given_seed(name):
    x = _digits_like()
    assert torch.equal(corrupt(x, name, 3, seed=1), corrupt(x, name, 3, seed=1))
    out = corrupt(x, name, 3, seed=1)
    assert out.dtype == torch.uint8 and out.shape == x.shape


@pytest.mark.parametrize("name", ["gaussian-noise", "impulse-noise", "rotation"])
def test_random_corruptions_depend_on_seed(name):
    x = _digits_like()
    assert not torch.equal(corrupt(x, name, 3, seed=1), corrupt(x, name, 3, seed=2))


@pytest.mark.parametrize("name", list_corruptions())
def test_severity_monotone_in_distance_from_clean(name):
    x = _digits_like()
    dist = [(corrupt(x, name, s, seed=0).float() - x.float()).abs().mean().item() for s in range(1, 6)]
    assert all(b >= a for a, b in itertools.pairwise(dist)), dist
    assert dist[-1] > dist[0]


def test_bad_arguments_list_the_choices():
    x = _digits_like(2)
    with pytest.raises(ValueError, match="choose from"):
        corrupt(x, "fog", 1)
    with pytest.raises(ValueError):
        corrupt(x, "blur", 6)


def test_corrupt_data_keeps_labels():
    d = ImageData(_digits_like(4), torch.arange(4), ["a", "b", "c", "d"], "toy")
    out = corrupt_data(d, "contrast", 2)
    assert torch.equal(out.y, d.y) and out.classes == d.classes


def test_reestimate_bn_matches_target_statistics_and_keeps_source():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    data = ImageData(torch.rand(64, 1, 8, 8) * 3 + 1, torch.zeros(64, dtype=torch.long), ["x"], "toy")
    adapted = reestimate_bn(net, data)
    with torch.no_grad():
        feats = net[0](data.x)
    assert torch.allclose(adapted[1].running_mean, feats.mean(dim=(0, 2, 3)), atol=1e-3)
    assert torch.allclose(net[1].running_mean, torch.zeros(4))  # the source is untouched
    assert torch.equal(adapted[0].weight, net[0].weight)


def test_adabn_changes_only_batchnorm_statistics():
    """AdaBN keeps every weight as trained (convolutions and head): only the BatchNorm running
    statistics change, and the source model is left as it was."""
    from tlcourse.adaptation import bn_statistics
    from tlcourse.backbones import create_backbone

    torch.manual_seed(0)
    net = create_backbone("small-cnn", 3, input_size=28)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    target = ImageData(_digits_like(32), torch.arange(32) % 3, ["a", "b", "c"], "toy")
    adapted = reestimate_bn(net, target)
    stats = bn_statistics(adapted)
    assert stats and all("running" in k or "num_batches" in k for k in stats)
    for k, v in adapted.state_dict().items():
        if k not in stats:
            assert torch.equal(v, before[k]), f"{k} changed"
    assert not torch.equal(stats["body.blocks.0.1.running_mean"], before["body.blocks.0.1.running_mean"])
    assert torch.equal(adapted.head.weight, net.head.weight)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # source kept


def test_reestimated_mean_does_not_depend_on_batching():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    data = ImageData(torch.rand(50, 1, 8, 8), torch.zeros(50, dtype=torch.long), ["x"], "toy")
    a, b = reestimate_bn(net, data, batch_size=7), reestimate_bn(net, data, batch_size=64)
    assert torch.allclose(a[1].running_mean, b[1].running_mean, atol=1e-6)


def _records(clean_a, shifted_a, clean_b, shifted_b):
    return [{"method": m, "seed": 0, "corruption": c, "severity": s, "test_accuracy": a}
            for m, c, s, a in (("scratch", "clean", 0, clean_a), ("scratch", "blur", 3, shifted_a),
                               ("lp-ft", "clean", 0, clean_b), ("lp-ft", "blur", 3, shifted_b))]


def test_robustness_is_the_drop_from_each_models_own_clean_accuracy():
    """scratch: 90 % clean -> 60 % (drop 30 points); lp-ft: 50 % -> 40 % (drop 10 points).
    Scratch stays ahead in absolute accuracy, yet lp-ft is the more robust model."""
    from tlcourse.corruptions import drop_from_clean
    from tlcourse.experiments.robustness import corruption_findings

    recs = drop_from_clean(_records(0.9, 0.6, 0.5, 0.4))
    drops = {(r["method"], r["severity"]): r["drop_from_clean"] for r in recs}
    assert drops == {("scratch", 0): 0.0, ("scratch", 3): pytest.approx(0.3),
                     ("lp-ft", 0): 0.0, ("lp-ft", 3): pytest.approx(0.1)}
    assert ("lp-ft ahead by 20 points, inconclusive at 1 seed (one seed measures no spread"
            in "\n".join(corruption_findings(recs)))
    flipped = "\n".join(corruption_findings(_records(0.9, 0.85, 0.5, 0.3)))
    assert "scratch ahead by 15 points" in flipped
    three = [{**r, "seed": s, "test_accuracy": r["test_accuracy"] - s / 100 * (
        r["severity"] > 0 and r["method"] == "scratch")}
        for s in range(3) for r in _records(0.9, 0.6, 0.5, 0.4)]  # scratch drops 30, 31, 32
    assert "lp-ft beat scratch by 21 points (95 % interval 19 to 23; 3 seeds)" in "\n".join(
        corruption_findings(three))
    with pytest.raises(ValueError, match="no clean"):
        drop_from_clean(_records(0.9, 0.6, 0.5, 0.4)[1:])
