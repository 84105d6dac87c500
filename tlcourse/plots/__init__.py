"""Plots a learner would rather look at than a table."""

from . import backbones, text
from .curves import (
                     image_grid,
                     learning_curve,
                     method_bars,
                     mistakes_grid,
                     train_test_curves,
                     wall_time,
)
from .scaling import data_scaling

__all__ = [
                     "backbones",
                     "custom",
                     "data_scaling",
                     "image_grid",
                     "learning_curve",
                     "method_bars",
                     "mistakes_grid",
                     "text",
                     "train_test_curves",
                     "wall_time",
]
