"""Discriminative parameter groups, weight distance, early stopping rule (fast) and the
chapter-3 science (slow)."""

import pytest
import torch
from torch import nn

from tlcourse.backbones import create_backbone
from tlcourse.diagnostics import early_stop_epoch, snapshot, weight_distance


def test_param_groups_discriminative_rates():
    net = create_backbone("small-cnn", 3, input_size=32).unfreeze()
    groups = net.param_groups(lr=1e-2, decay=0.5)
    assert groups[0]["name"] == "head" and groups[0]["lr"] == 1e-2
    rates = [g["lr"] for g in groups]
    assert rates == sorted(rates, reverse=True)  # earlier layers, lower rates
    assert rates[1] == pytest.approx(5e-3) and rates[-1] == pytest.approx(1e-2 * 0.5 ** net.num_stages)
    n_params = sum(p.numel() for g in groups for p in g["params"])
    assert n_params == net.trainable_params()


def test_param_groups_skip_frozen_stages():
    net = create_backbone("small-cnn", 3, input_size=32).freeze(1)
    groups = net.param_groups(lr=1e-3, decay=0.1)
    assert [g["name"] for g in groups] == ["head", f"stage{net.num_stages}"]


def test_weight_distance_zero_then_positive():
    net = create_backbone("small-cnn", 3, input_size=32)
    ref = snapshot(net)
    assert weight_distance(net, ref) == 0.0
    with torch.no_grad():
        for p in net.body.parameters():
            p.mul_(2.0)
    assert weight_distance(net, ref) == pytest.approx(1.0, rel=1e-4)
    assert weight_distance(nn.Linear(2, 2), {}, prefix="") == 0.0


def test_early_stop_epoch_rule():
    assert early_stop_epoch([0.1, 0.2, 0.3], patience=2) == 3
    assert early_stop_epoch([0.5, 0.4, 0.4, 0.9], patience=2) == 1
    assert early_stop_epoch([0.5, 0.4, 0.6, 0.5], patience=2) == 3


@pytest.mark.slow
def test_lr_sweep_science():
    from tlcourse.experiments import run_experiment
    from tlcourse.experiments.fine_tuning import sweep_verdict
    res = run_experiment("lr-sweep", progress=False)
    by_lr = {r["lr"]: r for r in res.records}
    hi, lo = max(by_lr), min(by_lr)
    # a very high rate ends below the linear probe it started from, and moves the weights far
    assert by_lr[hi]["test_accuracy"] < by_lr[hi]["probe_accuracy"]
    assert by_lr[hi]["weight_distance"] > 10 * by_lr[lo]["weight_distance"]
    assert "rate" in sweep_verdict(res.records)
