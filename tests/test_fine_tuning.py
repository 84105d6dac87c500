"""Discriminative parameter groups, weight distance, early stopping rule, equal step budgets and
the findings' wording (fast) and the chapter-3 science (slow)."""

import re

import pytest
import torch
from torch import nn

from tlcourse import methods
from tlcourse.backbones import create_backbone
from tlcourse.data import ImageData
from tlcourse.diagnostics import early_stop_epoch, snapshot, weight_distance
from tlcourse.experiments import fine_tuning as ft
from tlcourse.train import TrainConfig


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


def _tiny(n=24, classes=3, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    return ImageData(x, torch.arange(n) % classes, [str(i) for i in range(classes)], "tiny")


def test_head_first_and_head_last_take_the_same_steps():
    """LP-FT and the random-head order run the same two phases: only the order differs."""
    train, test = _tiny(), _tiny(seed=1)
    joint = TrainConfig(epochs=2, batch_size=8, lr=1e-3, progress=False)  # 3 steps per epoch
    head = TrainConfig(epochs=5, batch_size=16, lr=1e-2, progress=False)  # 2 steps per epoch
    counted = {}
    for head_first in (True, False):
        with ft.count_steps() as steps:
            r = methods.fine_tune("small-cnn", train, test, 32, trainable_stages=1, cfg=joint,
                                  head_first=head_first, head_cfg=head)
        counted[head_first] = dict(steps)
        assert r.trainable_params > r.model.head_params()  # the joint phase's stage is reported
    assert counted[True] == counted[False] == {"head_steps": 10, "body_steps": 6}


def test_count_steps_tells_head_from_body():
    net = create_backbone("small-cnn", 3, input_size=32).freeze(0)
    from tlcourse.train import fit
    with ft.count_steps() as steps:
        fit(net, _tiny(), TrainConfig(epochs=1, batch_size=8, progress=False))  # body frozen
        fit(net.freeze(1), _tiny(), TrainConfig(epochs=1, batch_size=24, progress=False))
    assert steps == {"head_steps": 3, "body_steps": 1}


def _records(acc: dict[str, list[float]], k: int = 5) -> list[dict]:
    """Synthetic fine-tuning records: ``acc[method][seed]``, equal budgets."""
    return [{"method": m, "labels_per_class": k, "seed": s, "test_accuracy": a,
             "balanced_accuracy": a - 0.05, "head_steps": 116 if m == ft.PROBE else 100,
             "body_steps": 0 if m == ft.PROBE else 16, "optimizer_steps": 116,
             "lr": 1e-3 if m == ft.DISCRIMINATIVE else 1e-4, "lr_decay": 0.5}
            for m, seeds in acc.items() for s, a in enumerate(seeds)]


def test_findings_are_sign_and_noise_aware():
    recs = _records({ft.PROBE: [0.70, 0.72], ft.LPFT: [0.60, 0.63], ft.RANDOM_HEAD: [0.66, 0.70],
                     ft.DISCRIMINATIVE: [0.68, 0.69]})
    text = "\n".join(ft.findings(recs))
    assert "every arm took 116 optimiser steps per run: 100 on the head alone and 16" in text
    # the probe won: the sentence names it the winner, no negative gap anywhere
    assert "the linear probe beat all-stages (LP-FT) by 9.5 ± 0.7 points (2 seeds)" in text
    assert "the random head (head last) beat LP-FT (head first) by 6.5" in text
    assert "discriminative rates beat one rate by 0.5 points, within noise (± 2.1, 2 seeds)" in text
    assert not re.search(r"by -\d", text)
    one = ft.findings(_records({ft.PROBE: [0.70], ft.LPFT: [0.75]}))
    assert "all-stages (LP-FT) beat the linear probe by 5.0 points (1 seed: no spread measured)" in one[1]


def test_findings_flag_unequal_budgets():
    recs = _records({ft.PROBE: [0.70], ft.LPFT: [0.75]})
    recs[0]["optimizer_steps"] = 100
    assert "budgets differ" in ft.findings(recs)[0]


def test_sweep_verdict_says_higher_when_the_chosen_rate_is_above_scratch():
    recs = [{"lr": lr, "seed": 0, "val_accuracy": v, "test_accuracy": v, "probe_accuracy": 0.5,
             "n_val": 40} for lr, v in ((1e-3, 0.6), (1e-2, 0.7))]
    text = ft.sweep_verdict(recs, scratch_lr=3e-3)
    assert "3.33x higher" in text and "(1 seed)" in text and "x lower -" not in text


@pytest.mark.slow
def test_fine_tuning_budgets_and_findings():
    """Every arm took the same optimiser steps; the random head's head phase equals LP-FT's;
    the findings name as winner the arm with the higher mean accuracy."""
    from tlcourse.experiments import run_experiment
    res = run_experiment("fine-tuning", progress=False)
    rec = res.records
    for seed, k in {(r["seed"], r["labels_per_class"]) for r in rec}:
        run = {r["method"]: r for r in rec if r["seed"] == seed and r["labels_per_class"] == k}
        assert len({r["optimizer_steps"] for r in run.values()}) == 1
        assert run[ft.RANDOM_HEAD]["head_steps"] == run[ft.LPFT]["head_steps"] > 0
        assert run[ft.RANDOM_HEAD]["body_steps"] == run[ft.LPFT]["body_steps"] > 0
        assert run[ft.PROBE]["body_steps"] == 0
    assert len({r["seed"] for r in rec}) >= 2  # a spread for every gap
    k = max(r["labels_per_class"] for r in rec)

    def mean(m):
        v = [r["test_accuracy"] for r in rec if r["method"] == m and r["labels_per_class"] == k]
        return sum(v) / len(v)
    text = "\n".join(ft.findings(rec))
    lpft, rand = mean(ft.LPFT), mean(ft.RANDOM_HEAD)
    if lpft != rand:
        winner = "LP-FT (head first)" if lpft > rand else "the random head (head last)"
        assert f"Order: {winner} beat" in text
    probe = mean(ft.PROBE)
    # Fine-tuning the top two stages after the head never fell below the probe it started from
    # (checked over seeds 0-3: +1.3, +3.2, 0.0, +1.9 points); the other gaps are within noise.
    assert mean("top-2-stages") >= probe
    if lpft != probe:
        winner, loser = ((ft.LPFT, "the linear probe") if lpft > probe else ("the linear probe", ft.LPFT))
        assert f"{winner} beat {loser}" in text


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
