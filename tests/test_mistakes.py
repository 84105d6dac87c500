"""Imbalance subsampling and the BatchNorm-drift mechanism (fast), the mistakes lab (slow)."""

import pytest
import torch

from tlcourse.backbones import create_backbone
from tlcourse.data import ImageData
from tlcourse.diagnostics import buffers_changed, snapshot
from tlcourse.imbalance import make_imbalanced
from tlcourse.train import TrainConfig, fit


def _data(n=40, classes=4, size=32):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    return ImageData(x, torch.arange(n) % classes, [str(i) for i in range(classes)], "tiny")


def test_make_imbalanced_counts():
    d = _data(80, 4)
    skew = make_imbalanced(d, minority=1, fraction=0.1, seed=0)
    assert skew.counts() == [20, 2, 20, 20]
    assert make_imbalanced(d, minority=1, fraction=0.01, seed=0).counts()[1] == 1
    with pytest.raises(ValueError):
        make_imbalanced(d, minority=1, fraction=0.0)


@pytest.mark.parametrize("bn_eval", [True, False])
def test_frozen_backbone_bn_drift(bn_eval):
    """Eval-mode BN leaves a frozen body bit-identical; train mode changes its statistics."""
    d = _data()
    net = create_backbone("small-cnn", 4, input_size=32).freeze(0)
    net.frozen_bn_eval = bn_eval
    ref = snapshot(net)
    net.eval()
    with torch.no_grad():
        before = net.forward_features(d.x)
    fit(net, d, TrainConfig(epochs=2, batch_size=8, progress=False))
    net.eval()
    with torch.no_grad():
        after = net.forward_features(d.x)
    if bn_eval:
        assert buffers_changed(net, ref) == 0 and torch.equal(before, after)
    else:
        assert buffers_changed(net, ref) > 0 and not torch.equal(before, after)


@pytest.mark.slow
def test_mistakes_lab_science():
    from tlcourse.experiments import run_experiment
    from tlcourse.experiments.mistakes import costs
    res = run_experiment("mistakes-lab", progress=False)
    rec = res.records
    bn = {r["correct"]: r for r in rec if r["mistake"] == "bn-train-mode"}
    assert bn[True]["max_feature_change"] == 0.0 and bn[False]["max_feature_change"] > 0
    rh = {ok: [r["test_accuracy"] for r in rec if r["mistake"] == "random-head-high-lr" and r["correct"] == ok]
          for ok in (True, False)}
    assert len(rh[True]) >= 2  # over seeds
    assert sum(rh[True]) / len(rh[True]) >= sum(rh[False]) / len(rh[False])  # LP-FT >= random head, high rate
    imb: dict[str, float] = {}
    for r in rec:
        if r["mistake"] == "imbalance":
            imb[r["variant"]] = imb.get(r["variant"], 0.0) + r["minority_recall"]
    assert imb["weighted loss"] > imb["plain loss"]
    assert all(r["vs_correct"] == r["vs_correct"] for r in costs(rec))  # every mistake has a fix
