"""Smoke mode: run an experiment's *full* configuration in miniature, to prove it executes.

Inside :func:`smoke_mode`, every code path of the full profile runs (224-px inputs, all arms,
all label counts), but in miniature:

* :func:`~tlcourse.data.load_dataset` keeps :data:`PER_CLASS` images per class;
* :func:`~tlcourse.data.few_shot_split` clamps each label count to what that leaves (two test
  images per class, which a validation split can share) - whether the *real* data allows the full profile's label counts is
  checked separately, on the real data, by ``tests/test_objects_leak.py``;
* each :func:`~tlcourse.train.fit` takes one optimiser step on a batch of :data:`BATCH` images.

The numbers it produces mean nothing; a crash, a shape error or a missing key is what it is
for. ``tlcourse run NAME --smoke`` uses it; its results are never cached.

Example:
    >>> with smoke_mode():                                            # doctest: +SKIP
    ...     run_experiment("fine-tuning", "full", seeds=(0,), fresh=True)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Images kept per class: two to train on, two to test (or one to validate, one to test).
PER_CLASS = 4
#: Images in the one optimiser step of each fit (BatchNorm in train mode needs two).
BATCH = 2

_ACTIVE: ContextVar[bool] = ContextVar("tlcourse_smoke", default=False)


def active() -> bool:
    """True inside :func:`smoke_mode`."""
    return _ACTIVE.get()


@contextmanager
def smoke_mode() -> Iterator[None]:
    """Within the block: one step of ``BATCH`` images per fit, ``PER_CLASS`` images per class."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
