"""Chapter-5 tests: fast ones on tiny synthetic data (cached fine-tuning, the sentences'
signs), and the science on the quick profile (orderings and gaps, never exact numbers)."""

import copy
import statistics

import pytest
import torch

from tlcourse.backbones import create_backbone
from tlcourse.data import ImageData, few_shot_split, load_dataset
from tlcourse.experiments.domain_shift import CachedTop, negative_verdict
from tlcourse.stats import by_seed, fitted, judge
from tlcourse.train import TrainConfig, evaluate, fit


def _mean(records, **match):
    vals = [r["test_accuracy"] for r in records if all(r.get(k) == v for k, v in match.items())]
    assert vals, match
    return statistics.fmean(vals)


def test_few_shot_split_of_images_and_features_agree():
    photos = load_dataset("photo")
    a_train, a_test = few_shot_split(photos, 5, seed=3)
    b_train, _ = few_shot_split(photos, 10, seed=3)
    assert len(a_train) == 5 * len(photos.classes)
    assert set(a_train.paths) <= set(b_train.paths)  # nested over k for a seed
    assert not set(a_train.paths) & set(a_test.paths)


def test_cached_top_fine_tunes_exactly_like_the_whole_network():
    """Fine-tuning the top stages on cached activations of the frozen ones is the same
    computation as fine-tuning the network on images: same weights, same predictions."""
    g = torch.Generator().manual_seed(0)
    data = ImageData(torch.randint(0, 256, (24, 1, 28, 28), dtype=torch.uint8, generator=g),
                     torch.arange(24) % 3, ["a", "b", "c"], "toy")
    torch.manual_seed(0)
    net = create_backbone("small-cnn", 3, input_size=28)
    whole, top = copy.deepcopy(net).freeze(1), CachedTop(copy.deepcopy(net), trainable_stages=1)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-2, progress=False)
    fit(whole, data, cfg)
    fit(top, top.activations(data), cfg)
    for (name, a), b in zip(whole.state_dict().items(), top.net.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name
    assert not torch.equal(whole.head.weight, net.head.weight)  # it did train
    assert torch.equal(evaluate(whole, data)["preds"], evaluate(top, top.activations(data))["preds"])


def _neg(gaps_by_arm):
    seeds = max(len(g) for g in gaps_by_arm.values())
    recs = [{"method": "small-cnn-scratch", "seed": s, "test_accuracy": 0.7, "gap_vs_scratch": 0.0,
             "steps": 105, "input_size": 28} for s in range(seeds)]
    for arm, gaps in gaps_by_arm.items():
        for seed, g in enumerate(gaps):
            recs.append({"method": arm, "seed": seed, "test_accuracy": 0.7 + g,
                         "gap_vs_scratch": g, "steps": 105, "input_size": 28})
    return recs


@pytest.mark.parametrize("gaps,opening", [
    ({"fashion-frozen": [-0.10, -0.12, -0.08], "fashion-finetuned": [0.02, 0.01, 0.03]},
     "Negative transfer here"),
    ({"fashion-frozen": [0.05, 0.04, 0.06]}, "No negative transfer here"),
    ({"fashion-frozen": [-0.05, 0.04, -0.02]}, "No clear negative transfer here"),  # inconclusive
    ({"fashion-frozen": [-0.10, -0.12]}, "No clear negative transfer here"),  # the old |mean| >=
    # sd rule called this negative; at 2 seeds the judge's t has 1 df
    ({"fashion-frozen": [-0.10]}, "No clear negative transfer here"),  # one seed decides nothing
])
def test_negative_verdict_asks_the_judge(gaps, opening):
    sentence = negative_verdict(_neg(gaps))
    assert sentence.startswith(opening + " at the same 105 optimiser steps and 28-px input")
    if opening == "Negative transfer here":
        assert ("scratch beat the frozen Fashion-MNIST network by 10 points (95 % interval 5 to "
                "15; 3 seeds)") in sentence
        assert "fine-tuned" not in sentence  # only the arm that lost is named
    elif len(gaps["fashion-frozen"]) == 2:
        assert "inconclusive at 2 seeds (−2 to 24; about 3 seeds would decide" in sentence


def test_records_carry_per_item_outcomes():
    """Every accuracy a chapter-5 verdict reads comes with its per-item outcomes, in the test
    set's order, and says whether the test set is the same every seed."""
    from tlcourse.experiments.domain_shift import _acc

    g = torch.Generator().manual_seed(0)
    data = ImageData(torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8, generator=g),
                     torch.arange(12) % 3, ["a", "b", "c"], "toy")
    net = create_backbone("small-cnn", 3, input_size=28)
    rec = _acc(net, data, "fixed")
    preds = evaluate(net, data)["preds"]
    assert rec["item_correct"] == (preds == data.y).int().tolist() and rec["n_test"] == 12
    assert rec["test_accuracy"] == pytest.approx(statistics.fmean(rec["item_correct"]), abs=5e-5)
    assert rec["test_set"] == "fixed"


# ---------------------------------------------------------------------------------------------
# The science, on the quick profile (the notebooks' runs, shared through the results cache)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shift():
    from tlcourse.experiments import run_experiment

    return run_experiment("domain-shift", "quick", progress=False).records


@pytest.fixture(scope="module")
def corruptions():
    from tlcourse.experiments import run_experiment

    return run_experiment("corruptions", "quick", progress=False).records


@pytest.fixture(scope="module")
def negative():
    from tlcourse.experiments import run_experiment

    return run_experiment("negative-transfer", "quick", progress=False).records


@pytest.mark.slow
def test_photo_to_clipart_well_below_photo_to_photo(shift):
    same = _mean(shift, study="cross-domain", source="photo", target="photo")
    cross = _mean(shift, study="cross-domain", source="photo", target="clipart")
    assert cross < same - 0.1


@pytest.mark.slow
def test_clipart_accuracy_rises_with_target_labels(shift):
    start = _mean(shift, study="adaptation", method="source-only")
    kmax = max(r["k"] for r in shift)
    assert _mean(shift, method="linear-probe", k=kmax) > start + 0.03
    assert _mean(shift, method="lp-ft", k=kmax) > start + 0.03


@pytest.mark.slow
def test_adabn_records_say_where_the_statistics_came_from(shift):
    from tlcourse.experiments.domain_shift import shift_findings

    adabn = [r for r in shift if r["method"] == "adabn"]
    assert {r["bn_stats"] for r in adabn} == {"target-test", "target-pool"}
    assert all(r["transductive"] == (r["bn_stats"] == "target-test") for r in adabn)
    seeds = {r["seed"] for r in shift}
    assert {r["seed"] for r in shift if r["method"] == "source-bn"} == seeds  # AdaBN's baseline
    text = "\n".join(shift_findings(shift))
    assert "transductive" in text and "not transductive" in text


@pytest.mark.slow
def test_accuracy_falls_with_severity(corruptions):
    by_sev = [_mean([r for r in corruptions if r["method"] != "adabn"], severity=s)
              for s in range(6)]
    assert by_sev[0] > by_sev[3] > by_sev[5], by_sev


@pytest.mark.slow
def test_adabn_from_a_corrupted_pool_improves_on_the_scratch_model(corruptions):
    """Re-estimating BN statistics on a separate pool of corrupted images (no labels, never
    the scored ones) beats the same model with its clean-data statistics, on average over
    corruptions and severities, in every seed."""
    shifted = [r for r in corruptions if r["severity"] > 0]
    assert {r["transductive"] for r in shifted if r["method"] == "adabn"} == {False}
    for seed in {r["seed"] for r in shifted}:
        assert _mean(shifted, method="adabn", seed=seed) > _mean(shifted, method="scratch", seed=seed) + 0.03


@pytest.mark.slow
def test_negative_transfer_arms_are_like_for_like(negative):
    for seed in {r["seed"] for r in negative}:
        arms = [r for r in negative if r["seed"] == seed]
        assert len(arms) == 3
        assert len({r["steps"] for r in arms}) == 1 and len({r["input_size"] for r in arms}) == 1
    scratch = [r for r in negative if r["method"] == "small-cnn-scratch"]
    assert all(fitted(r["train_accuracy"]) for r in scratch)  # the baseline fits its training set
    assert {r["test_set"] for r in negative} == {"fixed"}
    assert {len(r["item_correct"]) for r in negative} == {r["n_test"] for r in negative}


@pytest.mark.slow
def test_negative_transfer_sentence_matches_the_records(negative):
    from tlcourse.experiments.domain_shift import findings

    text = findings(negative=negative)[0]
    lost_clearly = False
    for arm in {r["method"] for r in negative} - {"small-cnn-scratch"}:
        v = judge(by_seed(negative, "test_accuracy", method=arm),
                  by_seed(negative, "test_accuracy", method="small-cnn-scratch"))
        lost_clearly |= v.word == "does not hold here"
        assert v.items_counted and v.n_seeds >= 3  # the fixed test digits count
    assert text.startswith("Negative transfer here") == lost_clearly, text
    assert text.startswith(("Negative transfer here", "No negative transfer here",
                            "No clear negative transfer here"))


def _cross_domain(seed: int, photo: float, clip: float) -> list[dict]:
    """Cross-domain records as domain-shift writes them: photos and clip art are different
    test items (50 and 40 here), drawn anew each seed."""
    def rec(target, acc, n):
        hit = [1] * round(acc * n) + [0] * (n - round(acc * n))
        return {"study": "cross-domain", "source": "photo", "target": target, "k": 0,
                "method": "source-only", "seed": seed, "test_accuracy": round(acc, 4),
                "item_correct": hit, "n_test": n, "test_set": "resampled"}
    return [rec("photo", photo, 50), rec("clipart", clip, 40)]


def test_chapter_and_ledger_judge_the_shift_alike():
    """Claim 12 in the ledger and the chapter's first sentence: one verdict, the same numbers,
    from records whose two arms were scored on different test items."""
    from tlcourse.claims.verdicts import shift_costs_accuracy
    from tlcourse.experiments.domain_shift import verdict

    recs = [r for s, (p, c) in enumerate([(0.9, 0.5), (0.88, 0.55), (0.92, 0.45)])
            for r in _cross_domain(s, p, c)]
    finding = shift_costs_accuracy(recs)
    v = verdict(recs, {"study": "cross-domain", "target": "photo"},
                {"study": "cross-domain", "target": "clipart"}, items=False)
    assert finding.status == v.word == "holds"
    assert finding.verdict.low == v.low and finding.verdict.high == v.high
    said = v.text("photos", "clip art")
    assert said.startswith("photos beat clip art by 40 points (95 % interval ")
    assert said[said.index("interval"):] in finding.measured


def test_negative_transfer_plot_draws_the_judges_interval():
    """The bar is the mean paired gap; its error bar is the judge's 95 % interval (here 5 to 15
    points below scratch), and the title says how many seeds it rests on."""
    from tlcourse.plots import shift

    fig = shift.negative_transfer(_neg({"fashion-frozen": [-0.10, -0.12, -0.08]}))
    ax = fig.axes[0]
    lines = [seg for c in ax.collections for seg in getattr(c, "get_segments", list)()]
    ends = sorted(round(float(y), 1) for seg in lines for _, y in seg)
    assert ends == pytest.approx([-15.0, -5.0], abs=0.1), ends
    assert "95 % interval over 3 seeds" in ax.get_title()
    one = shift.negative_transfer(_neg({"fashion-frozen": [-0.10]})).axes[0]
    assert "1 seed: no interval" in one.get_title()
