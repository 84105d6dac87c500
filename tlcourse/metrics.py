"""Moved to :mod:`tlcourse.custom.metrics`; this old path works for one more release, with a warning."""

from ._moved import moved

__getattr__ = moved(__name__, "tlcourse.custom.metrics")
