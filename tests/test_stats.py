"""Descriptive spread: the sample sd, NaN for one value, and nothing drawn for it."""

import math

from tlcourse.stats import band, mean_sd


def test_spread_is_nan_for_one_value_but_draws_nothing():
    m, s = mean_sd([0.7])
    assert m == 0.7 and math.isnan(s) and band([0.7]) == 0.0
