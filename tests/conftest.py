"""Shared test set-up: no progress bars, no real home directory, a non-interactive backend."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_progress_db(tmp_path, monkeypatch):
    """Quiz progress written by any test goes to a temp file, never the learner's real store."""
    monkeypatch.setenv("TLCOURSE_PROGRESS_DB", str(tmp_path / "progress.sqlite"))

