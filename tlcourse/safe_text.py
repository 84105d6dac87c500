"""Moved to :mod:`tlcourse.text.safe_display`; this old path works for one more release, with a warning."""

from ._moved import moved

__getattr__ = moved(__name__, "tlcourse.text.safe_display")
