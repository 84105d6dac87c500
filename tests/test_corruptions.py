"""Unit tests for the corruption functions and BN re-estimation (fast, synthetic or tiny data)."""

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
    assert all(b >= a for a, b in zip(dist, dist[1:])), dist
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
