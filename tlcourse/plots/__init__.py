"""Plots a learner would rather look at than a table."""

from .curves import image_grid, learning_curve, method_bars, mistakes_grid, wall_time

__all__ = ["image_grid", "learning_curve", "method_bars", "mistakes_grid", "wall_time"]
