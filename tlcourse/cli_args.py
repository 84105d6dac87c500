"""Argument types of the ``tlcourse`` command line, shared by its image and text commands.

A bad value is a usage error (exit 2) naming the valid range, raised by argparse before any
work starts.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text}")
    return value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a probability in [0, 1), e.g. 0.5; not {text}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (exclusive), e.g. "
                                         f"0.2; not {text}")
    return value


def new_file(text: str) -> str:
    """A file to write: not a folder, and in a folder that exists (checked before the work, so a
    long run never ends in an error that loses its output)."""
    from pathlib import Path

    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name inside it, "
                                         f"e.g. {path / 'out'}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {path.parent} does not exist; create it "
                                         f"first or write elsewhere")
    return text


def onnx_file(text: str) -> str:
    from pathlib import Path

    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the .onnx file to write, "
                                         f"e.g. {path / 'model.onnx'}")
    return text
