"""Findings' wording: sign first, then size, then noise (tlcourse.stats.compare)."""

import math

from tlcourse.stats import band, compare, mean_sd


def test_the_winner_is_named_whatever_the_sign():
    assert compare("frozen", "scratch", [0.40, 0.44]).startswith("frozen beat scratch by 42.0 ± 2.8")
    s = compare("frozen", "scratch", [-0.40, -0.44])
    assert s.startswith("scratch beat frozen by 42.0") and "-" not in s.split("by")[1].split("±")[0]


def test_a_gap_smaller_than_its_spread_is_within_noise():
    assert "within noise" in compare("a", "b", [0.05, -0.03, 0.04])
    assert "within noise" not in compare("a", "b", [0.05, 0.06, 0.04])


def test_one_seed_says_it_has_no_spread_and_a_rounded_zero_is_a_tie():
    assert "1 seed: no spread measured" in compare("a", "b", [0.03])
    assert compare("a", "b", [0.0004, -0.0002]).startswith("a and b tied")
    assert compare("a", "b", [0.0]).startswith("a and b tied")


def test_spread_is_nan_for_one_value_but_draws_nothing():
    m, s = mean_sd([0.7])
    assert m == 0.7 and math.isnan(s) and band([0.7]) == 0.0
