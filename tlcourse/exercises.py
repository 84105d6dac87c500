"""Exercise checks a learner runs in a notebook, recorded in the progress store.

An exercise cell holds the learner's code (the instructor's copy has the worked solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``); the cell after it names a few checks and calls
:func:`check`. The result is printed and stored with the quiz answers, so ``tlcourse submit``
carries it to the instructor; the learner's code itself never leaves their machine.

Exercise ids read ``chNN-ex-<slug>`` (e.g. ``ch02-ex-freeze-backbone``); the chapter is the part
before the first ``-``.

Example:
    >>> import os, tempfile
    >>> os.environ["TLCOURSE_PROGRESS_DB"] = os.path.join(tempfile.mkdtemp(), "p.sqlite")
    >>> check("ch01-ex-demo", {"shape is [N, 6]": True, "accuracy above chance": False})
    ✗ ch01-ex-demo: not yet - accuracy above chance
    False
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tlcourse.quiz.progress import ProgressStore, ProgressStoreError

#: ``ch01-ex-freeze``, ``ch05b-ex-domain-gap``: chapter, ``-ex-``, a lowercase slug.
EXERCISE_ID = re.compile(r"^ch\d{2}[a-z]?-ex-[a-z0-9]+(-[a-z0-9]+)*$")


def check(exercise_id: str, checks: dict[str, bool], learner: str | None = None) -> bool:
    """Print whether every named check passes, record the run, and return that.

    A failed check is an answer, not an error: nothing is raised. A progress store that cannot
    be written is reported in one line and the result is still returned.

    Args:
        exercise_id: ``chNN-ex-<slug>``, e.g. ``"ch02-ex-freeze-backbone"``.
        checks: Check name (a sentence the learner understands) -> whether it passed.
        learner: Whose progress (default ``TLCOURSE_LEARNER`` or the OS user).

    Returns:
        True when every check passed.

    Raises:
        ValueError: For a malformed id or no checks: a mistake in the notebook, not the
            learner's answer.

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
    return passed
