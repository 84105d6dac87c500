"""Shared test set-up: no progress bars, no real home directory, a non-interactive backend."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_progress_db(tmp_path, monkeypatch):
    """Quiz progress written by any test goes to a temp file, never the learner's real store."""
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "progress.sqlite"))



@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test left open: a worker runs hundreds of tests, and
    pyplot's "more than 20 figures" warning would fail the tests that assert no warnings."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
