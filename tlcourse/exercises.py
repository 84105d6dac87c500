"""Exercise checks a learner runs in a notebook, recorded in the progress store.

An exercise cell holds the learner's code (the instructor's copy has the worked solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``); the cell after it hands the learner's answer to
:func:`check_answer`, which works out the expected answer from the run's results here, in the
library, so the notebook never prints the answer key. The result is printed and stored with the
quiz answers, so ``tlcourse submit`` carries it to the instructor; the learner's code itself
never leaves their machine. (This hides the key from view; it does not stop a learner who reads
this module. Submissions are self-reported, as the instructor's guide says.)

Exercise ids read ``chNN-ex-<slug>`` (e.g. ``ch02-ex-freeze-backbone``); the chapter is the part
before the first ``-``. :func:`list_exercises` names every exercise the course checks.

When ``TLCOURSE_STRICT_CHECKS=1`` (the test suite sets it for the notebooks it runs, which hold
the instructor's solutions), a check that fails raises :class:`ExerciseCheckFailed` instead of
only printing ✗, so a solution that fails its own check fails the suite.

Example:
    >>> import os, tempfile
    >>> os.environ["TLCOURSE_PROGRESS_DB"] = os.path.join(tempfile.mkdtemp(), "p.sqlite")
    >>> check("ch01-ex-demo", {"shape is [N, 6]": True, "accuracy above chance": False})
    ✗ ch01-ex-demo: not yet - accuracy above chance
    False
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

from tlcourse.answer_key import CHECKERS, EXERCISE_ID
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError

#: Set to 1 to make a failed check raise (the root conftest.py sets it for the notebook runs).
STRICT_ENV = "TLCOURSE_STRICT_CHECKS"
#: What a checker raises on an answer of the wrong form (a number where a dict was asked, a
#: missing key, an empty list): reported as a failed check, not a traceback.
_MALFORMED = (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError)


class ExerciseCheckFailed(AssertionError):
    """A check failed while ``TLCOURSE_STRICT_CHECKS`` is set: the solution does not pass."""


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def check(exercise_id: str, checks: dict[str, bool], learner: str | None = None) -> bool:
    """Print whether every named check passes, record the run, and return that.

    A failed check is an answer, not an error: nothing is raised (unless
    ``TLCOURSE_STRICT_CHECKS=1``, see the module). A progress store that cannot be written is
    reported in one line and the result is still returned.

    Args:
        exercise_id: ``chNN-ex-<slug>``, e.g. ``"ch02-ex-freeze-backbone"``.
        checks: Check name (a sentence the learner understands) -> whether it passed.
        learner: Whose progress (default ``TLCOURSE_LEARNER`` or the OS user).

    Returns:
        True when every check passed.

    Raises:
        ValueError: For a malformed id or no checks: a mistake in the notebook, not the
            learner's answer.
        ExerciseCheckFailed: A check failed and ``TLCOURSE_STRICT_CHECKS`` is set.

    Example:
        >>> check("ch01-ex-demo", {"three classes": len(["a", "b", "c"]) == 3})
        ✓ ch01-ex-demo: all 1 checks pass
        True
    """
    if not EXERCISE_ID.match(exercise_id):
        raise ValueError(f"exercise id {exercise_id!r} should read chNN-ex-<slug>, "
                         "e.g. 'ch02-ex-freeze-backbone' (lowercase letters, digits, '-')")
    if not isinstance(checks, Mapping) or not checks:
        raise ValueError(f"{exercise_id}: give the checks as a non-empty dict "
                         "{'what is checked': True/False}")
    results = {str(name): bool(ok) for name, ok in checks.items()}
    failing = [name for name, ok in results.items() if not ok]
    passed = not failing
    if passed:
        print(f"✓ {exercise_id}: all {len(results)} checks pass")
    else:
        print(f"✗ {exercise_id}: not yet - {', '.join(failing)}")
    try:
        with ProgressStore(learner=learner) as store:
            store.record_check(exercise_id, results)
    except ProgressStoreError as e:
        print(f"  (this result was not saved: {e})")
    if not passed and _strict():
        raise ExerciseCheckFailed(f"{exercise_id} failed: {', '.join(failing)} "
                                  f"({STRICT_ENV} is set: every solution must pass its check)")
    return passed


def check_answer(exercise_id: str, *given: Any, **answer: Any) -> bool:
    """Compare a learner's answer with the one the library computes, then :func:`check` it.

    The expected answers are worked out in :mod:`tlcourse.answer_key`, from ``given``.

    Args:
        exercise_id: One of :func:`list_exercises`.
        *given: What the exercise hands the learner (the run's results; a threshold).
        **answer: The learner's answer, by the names the exercise asks for.

    Returns:
        True when every check passed.

    Raises:
        ValueError: An unknown id, or answers missing or misnamed (a mistake in the notebook).
        ExerciseCheckFailed: A check failed and ``TLCOURSE_STRICT_CHECKS`` is set.

    Example:
        >>> check_answer("ch07-ex-read-threshold", it1, 0.8, unknown_share=0.24,
        ...              precision={...}, recall={...})  # doctest: +SKIP
        ✓ ch07-ex-read-threshold: all 4 checks pass
    """
    checker = CHECKERS.get(exercise_id)
    if checker is None:
        raise ValueError(f"no checker for exercise {exercise_id!r}; the course has: "
                         f"{', '.join(list_exercises())}")
    try:
        inspect.signature(checker).bind(*given, **answer)
    except TypeError as e:
        raise ValueError(f"{exercise_id}: {e}; it takes {inspect.signature(checker)}") from None
    error = None
    try:
        checks = checker(*given, **answer)
    except _MALFORMED as e:  # a list where a dict was asked, a missing key: an answer too
        error, checks = e, {"the answer has the form the exercise asks for": False}
    try:
        return check(exercise_id, checks)
    finally:
        if error is not None:
            print(f"  (your answer could not be compared: {type(error).__name__}: {error}; "
                  "check the type of each answer against the exercise's text)")


def list_exercises() -> list[str]:
    """Every exercise id :func:`check_answer` knows, in course order."""
    return list(CHECKERS)
