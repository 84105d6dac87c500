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
from tlcourse.experiments import lr_choice
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


def test_findings_are_the_judges_sentences():
    recs = _records({ft.PROBE: [0.70, 0.72, 0.71], ft.LPFT: [0.60, 0.63, 0.61],
                     ft.RANDOM_HEAD: [0.66, 0.70, 0.69], ft.DISCRIMINATIVE: [0.68, 0.69, 0.66]})
    text = "\n".join(ft.findings(recs))
    assert "every arm took 116 optimiser steps per run: 100 on the head alone and 16" in text
    # the probe won: sign first (the winner named), then size, then the 95 % interval
    assert "the linear probe beat all-stages (LP-FT) by 9.7 points (95 % interval 8.2 to 11.1; 3 seeds)" in text  # t(2) x sd 0.58 / sqrt 3
    assert "the random head (head last) beat LP-FT (head first) by 7" in text
    assert "one rate ahead by 1 point, inconclusive at 3 seeds (−6 to 7; about 114 seeds would" in text
    assert "Baseline: the linear probe, 71 % (95 % interval 69 to 73 %, 3 seeds) accuracy" in text
    assert "Paired on seeds 0, 1, 2." in text
    assert "within noise" not in text and "±" not in text and not re.search(r"by -\d", text)
    one = ft.findings(_records({ft.PROBE: [0.70], ft.LPFT: [0.75]}))
    assert "all-stages (LP-FT) ahead by 5 points, inconclusive at 1 seed" in one[1]
    assert "71 %" not in one[1] and "70 % (1 seed) accuracy" in one[1]


def test_findings_count_the_test_photos_each_seed_shares():
    """With per-item outcomes, the sentence names the test photos its interval counts."""
    recs = _records({ft.PROBE: [0.5, 0.5, 0.5], ft.LPFT: [0.75, 1.0, 1.0]})
    for r in recs:
        n = round(r["test_accuracy"] * 4)
        r.update(item_correct=[1] * n + [0] * (4 - n), test_set="resampled", n_test=4)
    assert "3 seeds, 4 test photos)" in "\n".join(ft.findings(recs))


def test_item_correct_is_one_per_test_item_in_order():
    test = _tiny(6)
    preds = torch.tensor([0, 0, 2, 0, 1, 1])  # labels are 0 1 2 0 1 2
    assert ft.item_correct(preds, test) == [1, 0, 1, 1, 1, 0]


def test_findings_flag_unequal_budgets():
    recs = _records({ft.PROBE: [0.70], ft.LPFT: [0.75]})
    recs[0]["optimizer_steps"] = 100
    assert "budgets differ" in ft.findings(recs)[0]


def _clipart(records: list[dict], acc: dict[str, list[float]], n: int = 100) -> list[dict]:
    """Give the records of ``acc``'s methods clip-art scores (the same ``n`` images per seed)."""
    for r in records:
        if r["method"] in acc:
            a = acc[r["method"]][r["seed"]]
            hits = round(a * n)
            r.update(clipart_accuracy=hits / n, clipart_item_correct=[1] * hits + [0] * (n - hits),
                     n_clipart=n)
    return records


def test_claim_4_is_judged_at_the_most_labels_with_the_crossing_beside_it():
    """The old ledger judged claim 4 at 5 photos per class only; it is judged at the most
    labels per class measured (12, the most the photos allow), and says where the top 2
    stages overtake the probe."""
    from tlcourse.claims import VERDICTS
    from tlcourse.stats import HOLDS
    recs = (_records({ft.PROBE: [0.60, 0.62, 0.61], "top-2-stages": [0.50, 0.53, 0.51]}, k=2)
            + _records({ft.PROBE: [0.70, 0.72, 0.71], "top-2-stages": [0.71, 0.70, 0.74],
                        ft.LPFT: [0.7, 0.7, 0.7], ft.RANDOM_HEAD: [0.6, 0.6, 0.6]}, k=5)
            + _records({ft.PROBE: [0.75, 0.76, 0.74], "top-2-stages": [0.80, 0.82, 0.81]}, k=12))
    found = VERDICTS["finetuning_beats_probe"](recs)
    assert found.status == HOLDS and "at 12 photos per class (the most measured)" in found.measured
    assert "the two cross between 5 and 12 per class" in found.measured
    assert "at 2: the probe beat fine-tuning by 9.7 points" in found.measured
    text = "\n".join(ft.findings(recs))
    assert ("Claim 4 over labels per class (the top 2 stages vs the linear probe): "
            + ft.crossing_text(ft.curve_verdicts(recs))) in text
    assert "12 labels per class - budget: every arm took 116 optimiser steps" in text


def test_claim_5_is_judged_where_both_orders_ran_and_on_clip_art_too():
    """LP-FT and the random head run at 5 per class only: the ledger judges them there (the
    old one looked at the largest size, 12, and found nothing), and beside it on clip art,
    against Kumar et al. 2022."""
    from tlcourse.claims import VERDICTS
    from tlcourse.stats import HOLDS
    recs = (_records({ft.PROBE: [0.70, 0.72, 0.71], ft.LPFT: [0.76, 0.75, 0.77],
                      ft.RANDOM_HEAD: [0.70, 0.71, 0.70]}, k=5)
            + _records({ft.PROBE: [0.75, 0.76, 0.74], "top-2-stages": [0.80, 0.82, 0.81]}, k=12))
    _clipart(recs, {ft.PROBE: [0.4, 0.41, 0.42], ft.LPFT: [0.45, 0.46, 0.47],
                    ft.RANDOM_HEAD: [0.40, 0.40, 0.41]})
    found = VERDICTS["head_first_beats_random_head"](recs)
    assert found.status == HOLDS and "at 5 photos per class" in found.measured
    clip = ft.clipart_verdict(recs, 5)
    assert clip.test_set == "fixed" and clip.n_items == 100 and clip.word == HOLDS
    assert ("on clip art of the same classes: head first beat a random head by "
            f"{clip.text('a', 'b').split(' by ')[1]}") in found.measured.replace("clip-art images", "test items")
    assert "Kumar et al. (2022)" in found.versus_quote and "direction reproduces here" in found.versus_quote
    text = "\n".join(ft.findings(recs))
    assert "Out of distribution: on clip art of the same classes (trained on photos, 5 per class)" in text
    assert "the linear probe scored 41 %" in text and "the direction reproduces here" in text


def _sweep(acc: dict[float, list[float]], probe: float = 0.5,
           kept: dict[float, list[float]] | None = None) -> list[dict]:
    """Synthetic lr-sweep records: ``acc[lr][seed]`` (validation = test = balanced), one probe
    for all; ``kept[lr][seed]``: the test accuracy of the epoch early stopping kept (epoch 3 of
    5; without it, the last epoch, 5)."""
    return [{"lr": lr, "seed": s, "val_accuracy": a, "test_accuracy": a, "balanced_accuracy": a,
             "n_classes": 6, "probe_accuracy": probe, "n_val": 40, "n_test": 100,
             "early_stop_epoch": 3 if kept else 5, "epochs": 5,
             "early_stop_test_accuracy": kept[lr][s] if kept else a}
            for lr, accs in acc.items() for s, a in enumerate(accs)]


CHANCE = 1 / 6  # six classes: a run that answers one class scores this balanced accuracy


def test_sweep_findings_say_higher_when_the_chosen_rate_is_above_scratch():
    text = "\n".join(ft.sweep_findings(_sweep({1e-3: [0.6], 1e-2: [0.7]}), scratch_lr=3e-3))
    assert "validation picked 1e-2, 3.33× higher than from scratch" in text
    assert "(1 seed)" in text and "× lower than from scratch" not in text


def test_sweep_findings_never_call_one_seed_overwritten():
    """One seed measures no spread: the old rule read a NaN sd as 'features overwritten'."""
    text = "\n".join(ft.sweep_findings(_sweep({1e-4: [0.7], 1e-1: [0.2]})))
    assert "being overwritten" not in text
    assert "the linear probe it started from ahead by 30 points, inconclusive at 1 seed" in text


def test_sweep_findings_judge_each_higher_rate_against_the_probe():
    text = "\n".join(ft.sweep_findings(_sweep({1e-4: [0.70, 0.72, 0.71], 1e-3: [0.50, 0.56, 0.44],
                                                1e-1: [0.17, 0.16, 0.18]})))
    assert "Rate chosen on the validation photos (3 seeds): 1e-4" in text
    assert "At rate 1e-3: fine-tuning at 1e-3 ahead" not in text
    assert "At rate 1e-1: the linear probe it started from beat fine-tuning at 1e-1 by 33 points" in text
    assert "the pretrained features are being overwritten" in text


def test_claim_6_is_the_chosen_rate_vs_the_scratch_rate_in_chapter_and_ledger():
    """The old ledger averaged the rates 10-100x below scratch's against 3e-3 and above
    (collapsed runs included); claim 6 is the rate chosen on validation vs 3e-3 itself."""
    from tlcourse.claims import VERDICTS
    recs = _sweep({1e-5: [0.69, 0.73, 0.70], 1e-4: [0.70, 0.72, 0.71], 1e-3: [0.40, 0.41, 0.42],
                   3e-3: [0.60, 0.61, 0.60], 1e-2: [CHANCE, CHANCE, CHANCE]})
    rc = lr_choice.rate_claim(recs, scratch=3e-3)
    assert (rc.chosen, rc.low, rc.dead) == (1e-4, 1e-4, (1e-2,))
    assert rc.verdict.gap == pytest.approx(0.1067, abs=1e-3)  # 1e-4 minus 3e-3, per seed
    found = VERDICTS["low_rate_beats_scratch_rate"](recs)
    assert found.verdict == rc.verdict and found.status == "holds"
    assert found.measured.startswith("the rate chosen on validation below it (1e-4) beat the "
                                     "from-scratch rate 3e-3 by 10.7 points")
    assert "validation picked 1e-4, 30× lower than from scratch: inside the quoted 10–100×" in (
        found.versus_quote)
    # the neighbour 1e-5 (300× lower) is within the judge's noise of 1e-4: say so, in both
    assert "cannot tell 30× lower (1e-4) from 300× lower (1e-5)" in found.versus_quote
    text = "\n".join(ft.sweep_findings(recs, scratch_lr=3e-3))
    assert found.measured in text and rc.neighbours_text() in text
    assert "Never chosen: rate 1e-2: every run ended at or below chance" in text
    assert "rate 1e-4 beat rate 1e-3 by 30 points" in text  # the other neighbour is decided
    no_scratch = VERDICTS["low_rate_beats_scratch_rate"]([r for r in recs if r["lr"] != 3e-3])
    assert no_scratch.status == "not measured yet"


def test_claim_10_is_judged_at_the_chosen_rate_without_collapsed_runs():
    """The old ledger averaged early stopping over every rate: at 1e-2 every run collapsed
    (balanced accuracy = chance) and the kept epoch 'won' there, so the average said *holds*
    while at the usable rate chosen on validation the last epoch won on every seed."""
    from tlcourse.claims import VERDICTS
    from tlcourse.stats import OPPOSITE
    recs = _sweep({1e-5: [0.60, 0.62, 0.61], 1e-4: [0.70, 0.72, 0.71], 1e-2: [CHANCE] * 3},
                  kept={1e-5: [0.61, 0.60, 0.60], 1e-4: [0.68, 0.69, 0.69],
                        1e-2: [0.45, 0.50, 0.48]})
    found = VERDICTS["early_stopping_helps"](recs)
    assert found.status == OPPOSITE, found
    assert found.verdict.seeds == (0, 1, 2)
    assert found.verdict.gap == pytest.approx(-0.0233, abs=1e-3)
    assert ("at the rate chosen on validation (1e-4) it kept epoch 3 of 5: the last epoch beat "
            "early stopping by 2") in found.measured
    assert "left out: rate 1e-2: every run ended at or below chance" in found.measured
    chapter = ft.early_stopping_findings(recs)
    assert chapter[0] == f"Claim 10, early stopping: {found.measured}."  # the same sentence
    assert not any("1e-2" in line for line in chapter[1:])  # collapsed: no reference line
    assert chapter[1].startswith("  For reference, at 1e-5 (not the claim's test")


def test_claim_10_leaves_out_a_collapsed_seed_and_says_so():
    recs = _sweep({1e-4: [0.70, 0.72, CHANCE, 0.71]}, kept={1e-4: [0.71, 0.73, 0.30, 0.72]})
    es = lr_choice.early_stopping(recs)
    assert es.verdict.seeds == (0, 1, 3) and es.dropped_seeds == (2,)
    assert "left out: seed 2 at 1e-4 (ended at or below chance)" in es.text()


def _check_item_outcomes(records: list[dict]) -> None:
    """Every record keeps its per-item outcomes: one 0/1 per test photo, averaging to its test
    accuracy; the arms of one seed were scored on the same photos."""
    for r in records:
        assert len(r["item_correct"]) == r["n_test"] and set(r["item_correct"]) <= {0, 1}
        assert abs(sum(r["item_correct"]) / r["n_test"] - r["test_accuracy"]) < 1e-4
        assert r["test_set"] == "resampled"  # each seed draws its own training and test photos
    for seed in {r["seed"] for r in records}:
        assert len({r["n_test"] for r in records if r["seed"] == seed}) == 1


@pytest.mark.slow
def test_fine_tuning_budgets_and_findings():
    """Every arm took the same optimiser steps; the random head's head phase equals LP-FT's;
    claim 4's curve reaches the most labels the photos allow; the arms of claim 5 were scored
    on the same clip art every seed; the findings are the judge's verdicts on the records."""
    from tlcourse.experiments import run_experiment
    from tlcourse.stats import OPPOSITE
    res = run_experiment("fine-tuning", progress=False)
    rec = res.records
    for seed, k in {(r["seed"], r["labels_per_class"]) for r in rec}:
        run = {r["method"]: r for r in rec if r["seed"] == seed and r["labels_per_class"] == k}
        assert len({r["optimizer_steps"] for r in run.values()}) == 1
        assert run[ft.PROBE]["body_steps"] == 0 and "top-2-stages" in run
        if k in res.config["order_labels"]:
            assert run[ft.RANDOM_HEAD]["head_steps"] == run[ft.LPFT]["head_steps"] > 0
            assert run[ft.RANDOM_HEAD]["body_steps"] == run[ft.LPFT]["body_steps"] > 0
            clip = {run[m]["n_clipart"] for m in ft.CLIPART}
            assert len(clip) == 1 and clip.pop() >= 100  # the same clip art for every arm
    assert len({r["seed"] for r in rec}) >= 3  # fine-tuning arms: three seeds at least
    assert max(r["labels_per_class"] for r in rec) == 12  # the most the photos allow
    _check_item_outcomes(rec)
    k = ft.order_k(rec)
    text = "\n".join(ft.findings(rec))
    order = ft.verdict(rec, ft.LPFT, ft.RANDOM_HEAD, k)
    assert f"Order: {order.text('LP-FT (head first)', 'the random head (head last)', 'test photos')}" in text
    assert "Out of distribution: on clip art of the same classes" in text
    assert "Claim 4 over labels per class" in text
    # Fine-tuning the top two stages after the head never fell below the probe it started from
    # at 5 per class (checked over seeds 0-3: +1.3, +3.2, 0.0, +1.9 points): the judge must not
    # say it lost there.
    assert ft.verdict(rec, "top-2-stages", ft.PROBE, 5).word != OPPOSITE
    assert "within noise" not in text and "±" not in text


@pytest.mark.slow
def test_lr_sweep_science():
    """The highest rate ends below the linear probe it started from - a gap so large that the
    judge decides it at the quick profile - and moves the weights far; the sweep holds the
    from-scratch rate, and claims 6 and 10 are judged at the rate chosen on validation."""
    from tlcourse.claims import VERDICTS
    from tlcourse.experiments import run_experiment
    from tlcourse.methods import SCRATCH_CONFIG
    from tlcourse.stats import HOLDS, by_seed, judge
    res = run_experiment("lr-sweep", progress=False)
    rec = res.records
    hi, lo = max(r["lr"] for r in rec), min(r["lr"] for r in rec)
    assert SCRATCH_CONFIG.lr in {r["lr"] for r in rec}
    assert len({r["seed"] for r in rec}) >= 3
    _check_item_outcomes(rec)
    collapse = judge(by_seed(rec, "probe_accuracy", lr=hi), by_seed(rec, "test_accuracy", lr=hi))
    assert collapse.word == HOLDS, collapse
    dist = {lr: sum(r["weight_distance"] for r in rec if r["lr"] == lr) for lr in (hi, lo)}
    assert dist[hi] > 10 * dist[lo]
    text = "\n".join(ft.sweep_findings(rec))
    assert f"At rate {lr_choice.rate_text(hi)}: the linear probe it started from beat" in text
    assert "the pretrained features are being overwritten" in text
    assert "within noise" not in text
    chosen = ft.chosen_rate(rec)
    assert chosen < SCRATCH_CONFIG.lr and not any(lr_choice.at_chance(r) for r in rec
                                                  if r["lr"] == chosen)
    es = VERDICTS["early_stopping_helps"](rec)
    assert f"at the rate chosen on validation ({lr_choice.rate_text(chosen)})" in es.measured
    assert es.measured in "\n".join(ft.early_stopping_findings(rec))
    assert VERDICTS["low_rate_beats_scratch_rate"](rec).measured in text
