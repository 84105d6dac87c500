"""How consistently a chapter quiz measures: KR-20 and the standard error of measurement.

KR-20 (Kuder & Richardson, 1937) is Cronbach's alpha for items scored 0/1: with k items,
item difficulties p_i and the variance s^2 of the learners' total scores,

    KR-20 = k / (k - 1) * (1 - sum(p_i (1 - p_i)) / s^2),

and the standard error of measurement SEM = s * sqrt(1 - KR-20), in items: a learner's total
would typically move by about that much on a parallel quiz. Both need a *complete*
learner-by-item matrix, so they are computed per chapter over the learners who answered every
non-grounded item of it, on first attempts. Drills draw a different subset for each learner
and leave no such matrix; for a chapter answered that way the report warns instead that rest
scores (a share of *different* items per learner) are not comparable between learners.
Rules of thumb (Nunnally & Bernstein, *Psychometric Theory*, 1994): .70 for a low-stakes
quiz, .80 and above for decisions about individuals.

Example:
    >>> rows = [dict(learner=l, chapter="ch01", item_id=i, grounded=False, correct=c)
    ...         for l, cs in [("a", (1, 1, 1)), ("b", (1, 1, 0)), ("c", (1, 0, 0)),
    ...                       ("d", (0, 0, 0))]
    ...         for i, c in zip(("q1", "q2", "q3"), cs)]
    >>> r = chapter_reliability(rows, min_learners=3)[0]
    >>> round(r.kr20, 2), r.n_learners, r.n_items
    (0.75, 4, 3)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Fewest learners with every item of a chapter for KR-20 to be shown.
MIN_COMPLETE = 10
#: Below this median share of a chapter's items per learner, it was answered as drills.
DRILL_SHARE = 0.5


@dataclass(frozen=True)
class Reliability:
    """KR-20 and SEM of one chapter quiz, or why they are missing (``kr20`` NaN)."""

    chapter: str
    n_items: int
    n_learners: int  # learners with every item (the complete matrix)
    kr20: float
    sem: float  # in items
    note: str = ""

    def text(self) -> str:
        """``ch01: KR-20 0.74, SEM 1.9 items of 20 (32 learners with every item)``."""
        if math.isnan(self.kr20):
            return f"{self.chapter}: no KR-20 ({self.note})"
        return (f"{self.chapter}: KR-20 {self.kr20:.2f}, SEM {self.sem:.1f} items of "
                f"{self.n_items} ({self.n_learners} learners with every item)")


def _matrix(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, bool]]]:
    """chapter -> learner -> item -> right, non-grounded rows only (first attempts given)."""
    out: dict[str, dict[str, dict[str, bool]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if not r.get("grounded"):
            out[str(r["chapter"])][str(r["learner"])][str(r["item_id"])] = bool(r["correct"])
    return out


def kr20(matrix: list[list[int]]) -> tuple[float, float]:
    """(KR-20, SEM in items) of a complete 0/1 matrix, rows = learners; NaN when undefined."""
    n = len(matrix)
    k = len(matrix[0]) if matrix else 0
    if n < 2 or k < 2:
        return math.nan, math.nan
    totals = [sum(row) for row in matrix]
    mean = sum(totals) / n
    var = sum((t - mean) ** 2 for t in totals) / n
    if var == 0:
        return math.nan, 0.0
    pq = sum(p * (1 - p) for p in (sum(row[j] for row in matrix) / n for j in range(k)))
    alpha = k / (k - 1) * (1 - pq / var)
    return alpha, math.sqrt(var * max(0.0, 1 - alpha))


def chapter_reliability(first: Iterable[Mapping[str, Any]],
                        min_learners: int = MIN_COMPLETE) -> list[Reliability]:
    """KR-20 and SEM per chapter from first attempts (see the module docstring)."""
    out = []
    for chapter, by_learner in sorted(_matrix(first).items()):
        items = sorted({i for answered in by_learner.values() for i in answered})
        complete = [ans for ans in by_learner.values() if len(ans) == len(items)]
        if len(complete) < min_learners or len(items) < 2:
            note = (f"{len(complete)} of {len(by_learner)} learners answered all {len(items)} "
                    f"items; it needs {min_learners}")
            out.append(Reliability(chapter, len(items), len(complete), math.nan, math.nan, note))
            continue
        alpha, sem = kr20([[int(ans[i]) for i in items] for ans in complete])
        note = "" if not math.isnan(alpha) else "every learner got the same total"
        out.append(Reliability(chapter, len(items), len(complete), alpha, sem, note))
    return out


def subset_warnings(first: Iterable[Mapping[str, Any]]) -> list[str]:
    """A warning for each chapter whose learners answered different subsets of its items."""
    out = []
    for chapter, by_learner in sorted(_matrix(first).items()):
        items = {i for answered in by_learner.values() for i in answered}
        shares = sorted(len(ans) / len(items) for ans in by_learner.values())
        if len(shares) > 1 and shares[len(shares) // 2] < DRILL_SHARE:
            out.append(
                f"{chapter}: the median learner answered {100 * shares[len(shares) // 2]:.0f} % "
                f"of its {len(items)} items, as drills draw them: each rest score is a share "
                "of different items, so they are not comparable between learners, and this "
                "chapter's item-rest r and D are rough. KR-20 needs a complete matrix; drills "
                "have none.")
    return out
