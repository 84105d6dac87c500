"""Test-session set-up shared by ``tests/`` and the notebooks under nbval (``notebooks/``).

It lives at the root because it must see both. ``tests/conftest.py`` holds the rest.
"""

import os
import tempfile
from pathlib import Path

import pytest

# ------------------------------------------------------------------------------------------
# Parallel runs (``make test`` uses pytest-xdist, ``-n auto``): a chapter's
# science tests and its notebook run in one worker, one after the other, so the notebook reads
# the results the tests just cached instead of computing them a second time in another worker.
# Each worker runs torch on one thread: two single-threaded workers do more on 2 cores than one
# worker on two threads (small networks barely use a second thread).
# ------------------------------------------------------------------------------------------
CHAPTER_OF = {
    "test_scratch_vs_transfer": "ch01", "test_learning_curve": "ch01",
    "01_scratch_vs_transfer": "ch01",
    "test_feature_extraction": "ch02", "02_feature_extraction": "ch02",
    "test_fine_tuning": "ch03", "03_fine_tuning": "ch03",
    "test_mistakes": "ch03b", "03b_mistakes_lab": "ch03b",
    "test_forgetting": "ch04", "test_layer_transfer": "ch04", "04_forgetting": "ch04",
    "test_domain_shift": "ch05", "05_domain_shift": "ch05",
    "05b_negative_transfer": "ch05",  # its experiments run in test_domain_shift
    "test_backbone_choice": "ch07", "test_classifier": "ch07", "07_your_own_images": "ch07",
    "test_text": "ch08", "test_text_transfer": "ch08", "08_text_transfer": "ch08",
    "test_lora_zero_shot": "ch09", "09_lora_zero_shot": "ch09",
}


# Longest first (worker-seconds measured in a clean-clone `make test`, 2026-11-27): two workers
# take the heavy chapters in this order and the short test files fill the end, so neither
# worker idles while the other finishes a chapter. Other scopes follow in collection order.
HEAVY_FIRST = ["ch05", "ch01", "ch08", "ch07", "ch03b", "ch03", "ch04", "tests/test_smoke.py",
               "ch02", "ch09"]


def _scope(nodeid: str) -> str:
    """A test's scheduling unit: its chapter, else its file."""
    path = nodeid.split("::", 1)[0]
    return CHAPTER_OF.get(Path(path).stem, path)


def pytest_collection_modifyitems(config, items):
    """In a parallel run, put the heavy chapters first (a stable sort: a chapter's tests still
    run before its notebook, which then reads their cached results)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {scope: i for i, scope in enumerate(HEAVY_FIRST)}
        items.sort(key=lambda item: rank.get(_scope(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """Schedule whole chapters (tests and notebook), other files whole, across the workers.

    (xdist's own ``--dist loadgroup`` would do this with marks, but with pytest 9.2 it no
    longer groups: it renames node ids through an attribute pytest stopped reading.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ChapterScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    config.option.loadscopereorder = False  # keep HEAVY_FIRST (xdist would order by test count)
    return ChapterScheduling(config, log)


# Notebooks under nbval answer quizzes and run exercise checks: their kernels (started later,
# inheriting this environment) write to a throw-away progress store, never the developer's.
os.environ["TLCOURSE_PROGRESS_DB"] = os.path.join(
    tempfile.mkdtemp(prefix="tlcourse-test-progress-"), "progress.sqlite")
# The notebooks hold the instructor's solutions: every exercise check must pass. Strict checks
# raise on ✗ (tlcourse.exercises), so nbval's lax mode, which reads no output, fails the notebook.
os.environ["TLCOURSE_STRICT_CHECKS"] = "1"


@pytest.fixture(autouse=True)
def _lenient_checks_in_unit_tests(monkeypatch):
    """Unit tests play learners, whose ✗ is an answer, not an error; a test that wants strict
    checks sets the variable itself. (Notebook cells under nbval take no fixtures: they stay
    strict.)"""
    monkeypatch.delenv("TLCOURSE_STRICT_CHECKS", raising=False)

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"  # read by notebook kernels, started later

    import torch

    torch.set_num_threads(1)
