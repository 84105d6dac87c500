"""The one judge (tlcourse.stats.judge): records in, a verdict with its interval out, and the
calibration that makes its words trustworthy, by simulation (fast, no training, seeded)."""

import json
import math

import numpy as np
import pytest

from tlcourse.stats import (
    EQUIVALENT,
    FITTED,
    HOLDS,
    OPPOSITE,
    WORSE,
    Verdict,
    by_seed,
    fitted,
    interval,
    judge,
    paired_gaps,
)

# Monte Carlo error: a simulated rate whose true value is exactly 5 % lands above 5 % half the
# time, so the bounds allow two standard errors of the estimate over the draws (and say so).


def _mc_slack(p: float, draws: int) -> float:
    return 2 * math.sqrt(p * (1 - p) / draws)


def _decide_rate(verdicts: list[Verdict]) -> float:
    return sum(v.decided for v in verdicts) / len(verdicts)


# ---------------------------------------------------------------------------------------------
# Calibration: plain per-seed gaps (the test set redrawn each seed, or no per-item predictions)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_seeds", [2, 3, 5])
def test_with_no_true_effect_it_decides_in_at_most_5_percent_of_draws(n_seeds):
    draws = 6000
    gaps = np.random.default_rng(n_seeds).normal(0.0, 0.04, size=(draws, n_seeds))
    rate = _decide_rate([judge(list(g)) for g in gaps])
    print(f"no effect, {n_seeds} seeds: decided in {100 * rate:.2f} % of {draws} draws")
    assert rate <= 0.05 + _mc_slack(0.05, draws)
    # the rule it replaces (|mean| >= sd) decides in 39 / 22 / 9 % (issue 24)
    old = np.mean(np.abs(gaps.mean(1)) >= gaps.std(1, ddof=1))
    assert old > rate + 0.03


def test_calibrated_on_a_small_test_set_redrawn_each_seed():
    # claims 3 and 7: 126 test photos drawn anew each seed, so each seed's gap carries its own
    # sample's error (binomial, discrete) on top of the training randomness
    draws, rng = 1500, np.random.default_rng(4)
    verdicts = []
    for _ in range(draws):
        recs = {"a": [], "b": []}
        for s in range(3):
            p = np.clip(0.7 + rng.normal(0, 0.03), 0, 1)  # this seed's draw of training photos
            for arm in "ab":
                correct = (rng.random(126) < p).astype(int).tolist()
                recs[arm].append({"seed": s, "test_accuracy": float(np.mean(correct)),
                                  "item_correct": correct, "test_set": "resampled"})
        verdicts.append(judge(recs["a"], recs["b"]))
    rate = _decide_rate(verdicts)
    print(f"126 photos redrawn each seed, no effect, 3 seeds: decided in {100 * rate:.1f} % of "
          f"{draws} draws")
    assert rate <= 0.05 + _mc_slack(0.05, draws)
    assert not verdicts[0].items_counted and verdicts[0].n_items == 126


def test_a_true_effect_of_2_seed_sd_is_decided_in_at_least_80_percent_at_5_seeds():
    draws = 4000
    gaps = np.random.default_rng(7).normal(2 * 0.04, 0.04, size=(draws, 5))
    verdicts = [judge(list(g)) for g in gaps]
    rate = sum(v.word == HOLDS for v in verdicts) / draws
    print(f"effect of 2 seed sd, 5 seeds: holds in {100 * rate:.1f} % of {draws} draws")
    assert rate >= 0.80 and not any(v.word == OPPOSITE for v in verdicts)


def test_the_seeds_it_asks_for_would_decide_about_80_percent_of_reruns():
    # 3 seeds that measured exactly the true gap (2 points) and spread (sd 5 points)
    v = judge([0.02 - 0.05, 0.02, 0.02 + 0.05])
    assert not v.decided and 45 <= v.seeds_needed <= 60  # (1.96 + 0.84)^2 (5/2)^2 = 49, plus t
    rng = np.random.default_rng(3)
    reruns = rng.normal(0.02, 0.05, size=(1000, v.seeds_needed))
    rate = _decide_rate([judge(list(g)) for g in reruns])
    print(f"at the {v.seeds_needed} seeds asked for, {100 * rate:.1f} % of reruns decided")
    assert abs(rate - 0.80) <= 0.06


# ---------------------------------------------------------------------------------------------
# Calibration on a fixed test set, where its own sampling error dominates
# ---------------------------------------------------------------------------------------------
def _fixed_test_set_records(rng, n_seeds: int, n_items: int, effect: float = 0.0,
                            seed_shift: float = 0.02, item_noise: float = 0.15):
    """One draw: a test set of ``n_items`` sampled once from an item population in which arms
    a and b are equally good on average (``effect`` shifts a's logit), then ``n_seeds`` runs of
    each arm on it. Items have a shared difficulty and an arm-specific quirk, so each arm gets
    mostly the same items right in every seed: the test sample, not the seed, makes the gap."""
    difficulty = rng.normal(0.5, 1.5, n_items)
    quirk = {arm: rng.normal(0.0, 1.0, n_items) for arm in "ab"}
    recs = {"a": [], "b": []}
    for s in range(n_seeds):
        for arm in "ab":
            logit = (difficulty + quirk[arm] + (effect if arm == "a" else 0.0)
                     + rng.normal(0, seed_shift) + rng.normal(0, item_noise, n_items))
            correct = (logit > 0).astype(int).tolist()
            recs[arm].append({"seed": s, "arm": arm, "test_accuracy": float(np.mean(correct)),
                              "item_correct": correct, "test_set": "fixed"})
    return recs["a"], recs["b"]


@pytest.mark.parametrize("n_seeds", [2, 3, 5])
def test_on_a_fixed_test_set_it_stays_calibrated_where_a_seed_only_t_over_decides(n_seeds):
    draws, rng = 1000, np.random.default_rng(100 + n_seeds)
    judged, seed_only = [], []
    for _ in range(draws):
        a, b = _fixed_test_set_records(rng, n_seeds, 200)
        judged.append(judge(a, b))
        seed_only.append(judge(list(paired_gaps(by_seed(a), by_seed(b)).values())))
    rate, naive = _decide_rate(judged), _decide_rate(seed_only)
    print(f"fixed 200-item test set, no effect, {n_seeds} seeds: the judge decided in "
          f"{100 * rate:.1f} %, a seed-only t in {100 * naive:.1f} % of {draws} draws")
    assert rate <= 0.05 + _mc_slack(0.05, draws)
    assert naive > 0.08  # seeds alone cannot see the test sample's error: 10-60 %
    assert all(v.items_counted and v.n_items == 200 for v in judged)


@pytest.mark.parametrize("n_seeds", [2, 3, 5])
def test_calibrated_too_when_seeds_and_items_both_matter(n_seeds):
    draws, rng = 1000, np.random.default_rng(200 + n_seeds)
    rate = _decide_rate([judge(*_fixed_test_set_records(rng, n_seeds, 200, seed_shift=0.4,
                                                        item_noise=1.0))
                         for _ in range(draws)])
    print(f"fixed test set, seed and item noise mixed, {n_seeds} seeds: decided in "
          f"{100 * rate:.1f} % of {draws} draws")
    assert rate <= 0.05 + _mc_slack(0.05, draws)


def test_on_a_fixed_test_set_a_real_effect_is_still_found():
    rng = np.random.default_rng(5)
    verdicts = [judge(*_fixed_test_set_records(rng, 3, 400, effect=1.0)) for _ in range(200)]
    assert sum(v.word == HOLDS for v in verdicts) / len(verdicts) >= 0.9


def test_where_the_test_set_limits_it_says_no_number_of_seeds_suffices_and_how_many_items():
    rng = np.random.default_rng(11)
    v = next(v for v in (judge(*_fixed_test_set_records(rng, 3, 200, effect=0.08))
                         for _ in range(200)) if not v.decided and v.items_needed)
    assert v.seeds_needed is None or v.seeds_needed > 3
    assert v.items_needed > 200 and "no number of seeds" in v.need
    # the item term alone rules out a decision: 2.8 item standard errors exceed the gap
    assert abs(v.gap) < 2.8 * v.item_se
    assert "on these 200 test tweets; about" in v.text("MiniLM", "TF-IDF", "test tweets")


# ---------------------------------------------------------------------------------------------
# The verdict's words and rules
# ---------------------------------------------------------------------------------------------
def test_one_seed_is_never_a_verdict_even_with_items():
    v = judge([0.40])
    assert v.word == "inconclusive at 1 seed" and math.isnan(v.low) and "one seed" in v.need
    a = [{"seed": 0, "test_accuracy": 0.9, "item_correct": [1] * 9 + [0]}]
    b = [{"seed": 0, "test_accuracy": 0.1, "item_correct": [0] * 9 + [1]}]
    assert not judge(a, b).decided


def test_identical_gaps_in_every_seed_do_not_fake_a_zero_spread_win():
    same = judge([0.02, 0.02, 0.02])
    assert not same.decided and same.text("a", "b") == (
        "a ahead by 2.0 points, inconclusive at 3 seeds (every seed gave the same gap, so its "
        "spread is unmeasured)")


def test_sign_decides_the_word_and_the_winner_is_named_first():
    up, down = judge([0.40, 0.44, 0.41]), judge([-0.40, -0.44, -0.41])
    assert (up.word, up.sign, down.word, down.sign) == (HOLDS, 1, OPPOSITE, -1)
    assert up.low > 0 and down.high < 0 and up.n_seeds == 3
    assert down.text("frozen", "scratch").startswith("scratch beat frozen by 42 points (95 % "
                                                      "interval 36 to 47; 3 seeds)")


def test_the_sentences_follow_the_style_guide():
    v = judge({0: 0.45, 1: 0.39, 2: 0.41})
    assert v.text("ImageNet features", "scratch", "test photos") == (
        "ImageNet features beat scratch by 42 points (95 % interval 34 to 49; 3 seeds)")
    v = judge([-0.03, 0.05, -0.07])
    s = v.text("ImageNet features", "scratch")
    assert s.startswith("scratch ahead by 2 points, inconclusive at 3 seeds (−") and "−−" not in s
    assert s.endswith(f"about {v.seeds_needed} seeds would decide a gap this size)")
    small = judge([0.018, 0.01, 0.027, 0.022])  # a tight interval: one decimal
    assert small.text("a", "b") == "a beat b by 1.9 points (95 % interval 0.8 to 3.1; 4 seeds)"
    assert judge([0.0, 0.01, -0.01]).text("a", "b").startswith("a and b tied, inconclusive")
    assert "no gap measured" in judge([0.0, 0.01, -0.01]).need


def test_a_sentence_counts_the_test_items():
    a = [{"seed": s, "test_accuracy": 0.9} for s in range(3)]
    b = [{"seed": s, "test_accuracy": 0.5 + s / 100} for s in range(3)]
    assert "(95 % interval" in judge(a, b, n_items=126).text("x", "y", "test photos")
    assert judge(a, b, n_items=126).text("x", "y", "test photos").endswith(
        "3 seeds, 126 test photos)")


def test_verdict_to_dict_is_json():
    d = judge([0.4]).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["low"] is None
    d = judge({3: 0.1, 5: 0.12, 8: 0.11}).to_dict()
    assert d["seeds"] == [3, 5, 8] and d["word"] == HOLDS and d["decided"] and d["sign"] == 1


def test_judge_rejects_what_it_cannot_judge():
    with pytest.raises(ValueError, match="share no seed"):
        judge({0: 0.5}, {1: 0.4})
    with pytest.raises(ValueError, match="finite"):
        judge([0.1, float("nan")])
    with pytest.raises(ValueError, match="0.02 for 2 points"):
        judge([0.1, 0.2], margin=2)
    with pytest.raises(ValueError, match="two arms"):
        judge([{"seed": 0, "test_accuracy": 0.5}])


# ---------------------------------------------------------------------------------------------
# Equivalence within a margin (TOST, 90 % interval)
# ---------------------------------------------------------------------------------------------
def test_equivalence_within_a_margin():
    close = judge([0.004, -0.003, 0.001, 0.0, -0.002], margin=0.02)
    assert close.word == EQUIVALENT and close.level == 0.90 and -0.02 < close.low
    assert close.text("LoRA", "full fine-tuning").startswith(
        "LoRA and full fine-tuning equivalent within 2 points (tied; 90 % interval")
    worse = judge([-0.08, -0.07, -0.09], margin=0.02)
    assert worse.word == WORSE and worse.high < -0.02
    assert worse.text("LoRA", "full").startswith("LoRA worse than full by more than 2 points (full ahead by 8")
    assert judge([0.08, 0.07, 0.09], margin=0.02).word == "better"
    unsure = judge([0.03, -0.02, 0.01], margin=0.02)
    assert unsure.word == "inconclusive at 3 seeds" and unsure.seeds_needed
    assert "equivalence within 2 points inconclusive at 3 seeds" in unsure.text("a", "b")


def test_equivalence_is_calibrated_at_the_margin():
    # a true gap exactly at the margin must be called equivalent in at most 5 % of draws
    draws = 4000
    gaps = np.random.default_rng(9).normal(0.02, 0.01, size=(draws, 3))
    rate = sum(judge(list(g), margin=0.02).word == EQUIVALENT for g in gaps) / draws
    print(f"true gap at the margin, 3 seeds: 'equivalent' in {100 * rate:.2f} % of draws")
    assert rate <= 0.05 + _mc_slack(0.05, draws)


# ---------------------------------------------------------------------------------------------
# Records in: by_seed and paired_gaps
# ---------------------------------------------------------------------------------------------
RECS = [
    {"seed": 0, "method": "a", "lr": 0.1, "test_accuracy": 0.8, "item_correct": [1, 1, 1, 1, 0]},
    {"seed": 1, "method": "a", "lr": 0.1, "test_accuracy": 0.6, "item_correct": [1, 1, 0, 1, 0]},
    {"seed": 0, "method": "b", "lr": 0.1, "test_accuracy": 0.4, "item_correct": [1, 0, 0, 1, 0]},
    {"seed": 2, "method": "b", "lr": 0.1, "test_accuracy": 0.2, "item_correct": [0, 0, 0, 1, 0]},
    {"seed": 0, "method": "b", "lr": 0.01, "test_accuracy": 0.6},
    {"seed": 1, "method": "a", "lr": 0.1, "train_accuracy": 1.0},  # no test_accuracy: skipped
]


def test_by_seed_filters_and_keeps_the_per_item_outcomes():
    a = by_seed(RECS, "test_accuracy", method="a")
    assert a == {0: 0.8, 1: 0.6} and a.outcomes[1] == (1, 1, 0, 1, 0)
    assert by_seed(RECS, "test_accuracy", method="b", lr=0.01) == {0: 0.6}


def test_the_metric_passed_by_name_is_not_mistaken_for_a_filter():
    with pytest.raises(TypeError, match="positionally"):
        by_seed(RECS, metric="test_accuracy")


def test_two_records_for_one_seed_is_an_error_that_names_the_difference():
    with pytest.raises(ValueError, match=r"seed 0 has two records.*lr \(0.1 vs 0.01\)"):
        by_seed(RECS, "test_accuracy", method="b")


def test_per_item_outcomes_must_match_the_metric_and_be_0_or_1():
    bad = [{"seed": 0, "test_accuracy": 0.9, "item_correct": [1, 0, 0]}]
    with pytest.raises(ValueError, match="averages 0.3333 but test_accuracy is 0.9000"):
        by_seed(bad)
    with pytest.raises(ValueError, match="0/1"):
        by_seed([{"seed": 0, "test_accuracy": 0.5, "item_correct": [1, 2]}])
    with pytest.raises(ValueError, match="valid"):
        by_seed([{"seed": 0, "test_accuracy": 0.5, "test_set": "shuffled"}])
    assert by_seed([{"seed": 0, "test_accuracy": 0.5, "item_correct": True}]).outcomes == {}
    # chapter 3b flags its correct variant with `correct: True`; a `correct` list is not read
    flag = by_seed([{"seed": 0, "test_accuracy": 0.5, "correct": True, "item_correct": [1, 0]},
                    {"seed": 1, "test_accuracy": 0.5, "correct": [1, 2, 3]}])
    assert flag == {0: 0.5, 1: 0.5} and flag.outcomes == {0: (1, 0)}


def test_paired_gaps_use_the_shared_seeds_and_pair_the_items():
    g = paired_gaps(by_seed(RECS, "test_accuracy", method="a"),
                    by_seed(RECS, "test_accuracy", method="b", lr=0.1))
    assert g == {0: 0.4} and g.outcomes == {0: (0, 1, 1, 0, 0)}
    assert paired_gaps({0: 0.93, 1: 0.5}, {0: 0.93}) == {0: 0.0}


def test_a_fixed_test_set_scored_on_different_items_is_refused():
    a = [{"seed": s, "test_accuracy": 0.5, "item_correct": [1, 0] * (s + 1), "test_set": "fixed"}
         for s in range(2)]
    b = [{"seed": s, "test_accuracy": 0.5, "item_correct": [0, 1] * (s + 1), "test_set": "fixed"}
         for s in range(2)]
    with pytest.raises(ValueError, match="say 'resampled'"):
        judge(a, b)
    for r in a + b:
        r["test_set"] = "resampled"
    assert not judge(a, b).items_counted


def test_fitted_is_one_threshold():
    assert fitted(FITTED) and not fitted(FITTED - 0.01) and 0.9 < FITTED < 1


def test_gaps_of_gaps_keep_their_paired_items():
    # claim 2's shape: (BnB - AnB) at the top minus at the first stage, all on one test set
    def arm(acc_items):
        return by_seed([{"seed": s, "test_accuracy": sum(c) / len(c), "item_correct": c,
                         "test_set": "fixed"} for s, c in enumerate(acc_items)])

    top = paired_gaps(arm([[1, 1, 0, 1], [1, 1, 1, 1]]), arm([[0, 1, 0, 0], [1, 0, 0, 1]]))
    first = paired_gaps(arm([[1, 0, 0, 1], [1, 1, 0, 1]]), arm([[1, 0, 0, 1], [1, 0, 0, 1]]))
    g = paired_gaps(top, first)
    assert g == {0: 0.5, 1: 0.25} and g.outcomes[0] == (1, 0, 0, 1) and g.test_set == "fixed"
    assert judge(g).items_counted and judge(g).n_items == 4


def test_an_arms_own_interval_uses_the_same_method():
    mean, low, high = interval([0.70, 0.74, 0.72])
    assert low < mean < high and (low, high) == (judge([0.70, 0.74, 0.72]).low,
                                                 judge([0.70, 0.74, 0.72]).high)
    assert math.isnan(interval([0.7])[1])


def test_a_fixed_test_set_with_no_item_effect_gives_a_finite_interval():
    """Independent per-item noise (MS_items close to MS_residual) once gave the item term a
    degrees-of-freedom estimate near 0 and an interval of +-1e150 points."""
    for rng_seed in (133, 3):  # rng 133 gave an interval of +-3.9e150 points before the fix
        rng = np.random.default_rng(rng_seed)
        a, b = [], []
        for s in range(3):
            ca, cb = rng.random(138) < 0.6, rng.random(138) < 0.6
            a.append({"seed": s, "test_accuracy": ca.mean(), "item_correct": ca.astype(int).tolist(),
                      "test_set": "fixed"})
            b.append({"seed": s, "test_accuracy": cb.mean(), "item_correct": cb.astype(int).tolist(),
                      "test_set": "fixed"})
        v = judge(a, b)
        assert v.high - v.low < 0.5, (rng_seed, v.low, v.high)
        assert "interval ;" not in v.text("a", "b")


def test_a_bound_of_exactly_zero_prints_as_0_not_00():
    from tlcourse.stats import _pts

    assert [_pts(0.0, 0), _pts(-0.001, 0), _pts(-0.05, 0), _pts(0.0, 1)] == ["0", "0", "−5", "0.0"]


def test_a_tie_keeps_the_interval_s_own_digits():
    """A gap of ~0 once printed its interval to three decimals ('tied (−12.587 to 12.587)')."""
    v = judge([1e-9, 0.25, -0.25])
    said = v.text("a", "b")
    assert said.startswith("a and b tied") and "." not in said.split("(")[1].split(";")[0], said
