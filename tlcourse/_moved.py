"""Old import paths that keep working for one release, with a warning (issue 26's move).

A learner's saved notebook may still say ``from tlcourse.folder import check_folder``; the old
module is now three lines that call :func:`moved`, which warns once and forwards every name
(private ones too) to the new home.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved(old: str, new: str, renamed: dict[str, str] | None = None) -> Callable[[str], Any]:
    """Warn that module ``old`` is now ``new``; return the ``__getattr__`` that forwards to it.

    Example:
        >>> __getattr__ = moved("tlcourse.folder", "tlcourse.custom.folder")  # doctest: +SKIP
    """
    warnings.warn(f"{old} moved to {new}; the old path goes in the next release",
                  DeprecationWarning, stacklevel=3)
    renamed = renamed or {}

    def __getattr__(name: str) -> Any:
        return getattr(importlib.import_module(new), renamed.get(name, name))

    return __getattr__
