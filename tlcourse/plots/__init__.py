"""Plots a learner would rather look at than a table."""

from . import backbones, custom, text
from .curves import (
                     image_grid,
                     learning_curve,
                     method_bars,
                     mistakes_grid,
                     train_test_curves,
                     wall_time,
)
from .scaling import data_scaling

__all__ = ["backbones", "custom", "data_scaling", "text", "image_grid", "learning_curve", "method_bars", "mistakes_grid",
           "train_test_curves", "wall_time"]
