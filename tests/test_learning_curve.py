"""Claim 15 measured: with enough labels, the small CNN from scratch catches up with ImageNet.

The slow tests reuse the quick-profile run chapter 1 makes (the results cache trains it once
per suite); the fast ones check the machinery on tiny or synthetic inputs.
"""

import re
import statistics
from dataclasses import replace

import pytest
import torch

from tlcourse.experiments import learning_curve as lc
from tlcourse.experiments.learning_curve import FINETUNED, FROZEN, SCRATCH
from tlcourse.stats import by_seed, fitted, paired_gaps


def test_budget_grows_with_the_data_and_never_drops_below_the_floor():
    cfg = lc.PROFILES["quick"]
    sizes = [10, 20, 100, 1_000, 10_000]
    steps = [lc.budget(n, cfg)[1] for n in sizes]
    assert steps == sorted(steps) and steps[0] >= cfg.min_steps
    assert lc.budget(10_000, cfg)[0] == cfg.epochs  # large sets: `epochs` full passes
    capped = lc.budget(10_000, replace(cfg, max_steps=500))
    assert capped[1] < steps[-1] and capped[1] - 500 < 10_000 / cfg.batch_size  # cap, rounded up


def test_cached_lower_stages_reproduce_the_networks_own_forward_pass():
    """The frozen arm and fine-tuning run Lite0's top stages on cached lower-stage maps: the
    result must equal running the whole network on the images."""
    from tlcourse.backbones import create_backbone
    from tlcourse.data import ImageData

    net = create_backbone("lite0-imagenet", 10, input_size=64, seed=0)
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    lower, top = lc.split_backbone(net, 2)
    maps = lc._lower_maps(lower, ImageData(images, torch.zeros(6).long(), list("abcdefghij"), "x"), 64)
    with torch.inference_mode():
        whole_net, cached = net.eval()(images), top.eval()(maps)
        torch.testing.assert_close(cached, whole_net, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(lc._pooled(top, maps), net.forward_features(images),
                                   rtol=1e-4, atol=1e-4)
    assert sum(p.requires_grad for p in lower.parameters()) == 0


def _records(acc: dict[str, dict[int, list[float]]]) -> list[dict]:
    """Synthetic records: acc[method][k] = accuracy per seed."""
    return [{"dataset": "toy", "method": m, "labels_per_class": k, "seed": s, "test_accuracy": a,
             "train_accuracy": 1.0, "steps": 100, "batch_size": 32, "n_test": 1000, "n_classes": 10,
             "input_size": 28 if m == SCRATCH else 64}
            for m, by_k in acc.items() for k, vals in by_k.items() for s, a in enumerate(vals)]


def test_findings_name_the_crossing_the_records_show():
    recs = _records({SCRATCH: {1: [0.40, 0.42, 0.41], 10: [0.75, 0.76, 0.74], 100: [0.85, 0.86, 0.84]},
                     FROZEN: {1: [0.50, 0.53, 0.51], 10: [0.70, 0.70, 0.69], 100: [0.80, 0.81, 0.80]},
                     FINETUNED: {1: [0.55, 0.56, 0.54], 10: [0.78, 0.79, 0.77]}})
    text = " ".join(lc.findings(recs))
    assert "scratch overtook the frozen ImageNet features between 1 and 10 labels per class" in text
    assert re.search(r"1/class: frozen beat scratch by 10(\.\d)? points \(95 % interval \d+(\.\d)? "
                     r"to \d+(\.\d)?; 3 seeds\)", text), text
    assert ("scratch did not catch up with the fine-tuned ImageNet network up to 10 labels per "
            "class (fine-tuning ran only up to 10") in text
    # the lead changing hands twice is no crossing; a one-seed point says so
    recs = _records({SCRATCH: {1: [0.4], 10: [0.7], 100: [0.8]},
                     FROZEN: {1: [0.5], 10: [0.6], 100: [0.9]}})
    text = " ".join(lc.findings(recs))
    assert "changed hands more than once" in text and "inconclusive at 1 seed" in text
    assert lc.crossing(recs, FROZEN) == (None, None)
    # scratch ahead on average but the judge cannot decide: the curves meet, nobody overtook
    recs = _records({SCRATCH: {1: [0.40, 0.42], 10: [0.73, 0.66]},
                     FROZEN: {1: [0.50, 0.52], 10: [0.70, 0.68]}})
    text = " ".join(lc.findings(recs))
    assert "scratch drew level with the frozen ImageNet features between 1 and 10" in text
    assert "overtook" not in text and "within noise" not in text and "±" not in text


def test_the_chapter_and_the_ledger_judge_claim_15_alike():
    """The same records with per-item outcomes: the same gap and interval in both."""
    from tlcourse.claims.verdicts import scratch_catches_up

    recs = []
    for seed in range(3):
        for m, right in ((SCRATCH, 60 + 2 * seed), (FROZEN, 55 + seed)):
            items = [1 if (7 * i + seed) % 100 < right else 0 for i in range(100)]
            recs.append({"dataset": "toy", "method": m, "labels_per_class": 10, "seed": seed,
                         "test_accuracy": sum(items) / 100, "item_correct": items,
                         "test_set": "fixed", "train_accuracy": 1.0, "steps": 100,
                         "batch_size": 32, "n_test": 100, "n_classes": 10,
                         "input_size": 28 if m == SCRATCH else 64})
    chapter, ledger = lc.verdict(recs, FROZEN, 10), scratch_catches_up(recs).verdict
    assert chapter.items_counted and ledger.items_counted and chapter.n_items == 100
    assert (chapter.gap, chapter.low, chapter.high) == pytest.approx(
        (-ledger.gap, -ledger.high, -ledger.low))
    assert chapter.word.startswith("inconclusive") == ledger.word.startswith("inconclusive")


def test_plot_draws_every_arm_and_the_gap_to_scratch():
    from tlcourse.plots.scaling import data_scaling

    recs = _records({SCRATCH: {2: [0.5, 0.52], 10: [0.72, 0.7]},
                     FROZEN: {2: [0.55, 0.57], 10: [0.7, 0.69]},
                     FINETUNED: {2: [0.56, 0.58], 10: [0.71, 0.7]}})
    fig = data_scaling(recs)
    acc, gap = fig.axes
    assert len(acc.get_lines()) == 4  # three arms and chance
    assert acc.get_xscale() == "log" and gap.get_xscale() == "log"
    frozen_gap = gap.get_lines()[0].get_ydata()
    assert frozen_gap[0] == pytest.approx(5.0) and frozen_gap[1] == pytest.approx(-1.5)
    assert "95 % interval" in gap.get_title() and "95 % interval" in acc.get_title()
    heads = [dict(r, method=lc.LINEAR, seed=s) for r in recs[:1] for s in range(20)]
    assert "up to 2 seeds" in data_scaling(recs + heads).axes[0].get_title()  # not claim 11's 20


# ---------------------------------------------------------------------------------------------
# The real quick-profile run (the one chapter 1 shows)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run():
    from tlcourse.experiments import run_experiment

    return run_experiment("data-scaling", "quick", progress=False)


def _mean(records, method, k):
    return statistics.fmean(r["test_accuracy"] for r in records
                            if r["method"] == method and r["labels_per_class"] == k)


@pytest.mark.slow
def test_records_cover_every_size_arm_and_seed_on_one_budget(run):
    cfg = lc.PROFILES["quick"]
    recs = run.records
    for seed in cfg.seeds:
        for k in cfg.labels_per_class:
            rows = {r["method"]: r for r in recs if r["seed"] == seed and r["labels_per_class"] == k
                    and r["method"] in lc.ARMS}
            assert {SCRATCH, FROZEN} <= set(rows)
            assert (FINETUNED in rows) == (k <= cfg.finetune_up_to)
            assert len({r["steps"] for r in rows.values()}) == 1  # the same budget for every arm
            assert rows[SCRATCH]["input_size"] == 28 and rows[FROZEN]["input_size"] == cfg.image_size
    assert len({r["n_test"] for r in recs}) == 1
    assert all(len(r["item_correct"]) == r["n_test"] and r["test_set"] == "fixed" for r in recs)


@pytest.mark.slow
def test_claim_11_heads_run_on_many_draws_and_the_chapter_says_the_ledgers_sentence(run):
    from tlcourse.claims.verdicts import few_labels_overfit

    k = min(lc.PROFILES["quick"].labels_per_class)
    for arm in (lc.LINEAR, lc.PROTOTYPE):
        rows = [r for r in run.records if r["method"] == arm]
        assert {r["labels_per_class"] for r in rows} == {k}
        assert {r["seed"] for r in rows} == set(range(lc.PROFILES["quick"].head_seeds))
    assert all(fitted(r["train_accuracy"]) for r in run.records if r["method"] == lc.LINEAR)
    found = few_labels_overfit(run.records)
    assert found.verdict.n_seeds == lc.PROFILES["quick"].head_seeds >= 40
    assert found.measured in " ".join(lc.findings(run.records))


@pytest.mark.slow
def test_the_scratch_cnn_fits_its_training_set(run):
    scratch = [r for r in run.records if r["method"] == SCRATCH]
    unfit = sorted({r["labels_per_class"] for r in scratch if not fitted(r["train_accuracy"])})
    said = " ".join(lc.findings(run.records))
    if unfit:  # the rule: fitted, or the sentence says it did not (issue 25 trains it longer)
        assert "The small CNN from scratch did not fit its training set at" in said, said
    else:
        assert "The small CNN from scratch fitted its training set at every size" in said
    assert all(r["train_accuracy"] > 0.9 for r in scratch)  # near: 0.949 at 100/class, 2 seeds
    # and it keeps improving with data: a wide margin from the smallest to the largest size
    ks = sorted({r["labels_per_class"] for r in scratch})
    assert _mean(scratch, SCRATCH, ks[-1]) - _mean(scratch, SCRATCH, ks[0]) > 0.2


@pytest.mark.slow
def test_imagenet_leads_with_few_labels_and_the_lead_shrinks_with_more(run):
    recs = run.records
    ks = sorted({r["labels_per_class"] for r in recs})
    for arm in (FROZEN, FINETUNED):
        # ahead at 2/class in every seed; at 2 seeds (t at 1 df) the judge may not yet decide it,
        # but it must never call it the other way
        small = [r for r in recs if r["labels_per_class"] == ks[0]]
        gaps = paired_gaps(by_seed(small, method=arm), by_seed(small, method=SCRATCH))
        assert gaps and all(g > 0 for g in gaps.values()), (arm, dict(gaps))
        assert lc.verdict(recs, arm, ks[0]).word != "does not hold here", arm
        arm_ks = sorted({r["labels_per_class"] for r in recs if r["method"] == arm})
        first, last = (lc.verdict(recs, arm, k).gap for k in (ks[0], arm_ks[-1]))
        assert last < first - 0.03, (arm, first, last)


@pytest.mark.slow
def test_the_crossing_sentence_matches_the_records(run):
    recs = run.records
    text = " ".join(lc.findings(recs))
    for arm, name in ((FROZEN, "the frozen ImageNet features"),
                      (FINETUNED, "the fine-tuned ImageNet network")):
        ks = sorted({r["labels_per_class"] for r in recs if r["method"] == arm})
        ahead = [_mean(recs, arm, k) > _mean(recs, SCRATCH, k) for k in ks]  # ImageNet arm leads
        led = ahead.index(False) if False in ahead else len(ks)  # sizes it led at, from the left
        if led == len(ks):
            assert f"scratch did not catch up with {name} up to {ks[-1]} labels per class" in text
        elif any(ahead[led:]):
            assert f"scratch and {name} changed hands more than once" in text
        elif led == 0:
            assert f"scratch was already level with or ahead of {name} at {ks[0]}" in text
        else:
            assert f"{name} between {ks[led - 1]} and {ks[led]} labels per class" in text


def _head_recs(proto_acc, linear_acc, seeds=range(10)):
    """Claim 11's two arms plus a frozen arm whose train-test gap shrinks with n."""
    recs = []
    for s in seeds:
        wob = 0.01 * ((s % 3) - 1)
        recs += [{"method": lc.PROTOTYPE, "labels_per_class": 2, "seed": s,
                  "test_accuracy": proto_acc + wob, "train_accuracy": 0.9},
                 {"method": lc.LINEAR, "labels_per_class": 2, "seed": s,
                  "test_accuracy": linear_acc + wob / 2, "train_accuracy": 1.0}]
        for k, test in ((2, 0.5), (100, 0.8)):  # train - test: 50 points at 2, 20 at 100
            recs.append({"method": FROZEN, "labels_per_class": k, "seed": s,
                         "train_accuracy": 1.0, "test_accuracy": test + wob})
    return recs


def test_claim_11_is_judged_by_a_comparison_that_can_fail():
    """The old test (train-test gap larger at few labels) holds by construction; the new one
    asks whether the trained head loses to class means, which has no head to overfit."""
    from tlcourse.claims.verdicts import few_labels_overfit

    no_overfit = few_labels_overfit(_head_recs(proto_acc=0.45, linear_acc=0.55))
    assert no_overfit.status == "does not hold here", no_overfit  # the old test said holds
    assert re.search(r"linear head beat class means \(nothing trained\) by 10(\.\d)? points",
                     no_overfit.measured), no_overfit.measured
    overfit = few_labels_overfit(_head_recs(proto_acc=0.60, linear_acc=0.55))
    assert overfit.status == "holds" and "100 % on its own training images" in overfit.measured
    heads = [r for r in _head_recs(0.6, 0.55) if r["method"] != FROZEN]
    chapter = " ".join(lc.findings(_records({SCRATCH: {2: [0.4] * 3}, FROZEN: {2: [0.5] * 3}})
                                   + heads))
    assert few_labels_overfit(heads).measured in chapter  # the ledger's sentence, word for word


def test_class_means_head_predicts_the_nearest_normalised_mean():
    from tlcourse.data import ImageData

    x = torch.tensor([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    head = lc._Prototypes(ImageData(x, torch.tensor([0, 0, 1, 1]), ["a", "b"], "toy"))
    assert head(torch.tensor([[5.0, 1.0], [0.2, 0.3]])).argmax(1).tolist() == [0, 1]
    assert not any(p.requires_grad for p in head.parameters())


def test_an_unfitted_scratch_cnn_is_said_with_the_digit_that_shows_it():
    recs = _records({SCRATCH: {2: [0.4] * 2}, FROZEN: {2: [0.5] * 2}})
    recs = [dict(r, train_accuracy=0.949) if r["method"] == SCRATCH else r for r in recs]
    assert "2 labels/class (94.9 % training accuracy)" in " ".join(lc.findings(recs))
