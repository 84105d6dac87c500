"""The learner's own saved runs as drill questions.

A mock exam asks about the learner's results too: the grounded templates of
:mod:`tlcourse.quiz.grounded` turn each saved run of an experiment the claims ledger reads
(``claims.yaml``) into questions whose answer is computed from that run's table; where a run
allows a paired comparison, :mod:`tlcourse.quiz.grounded_verdict` shows the learner's table
and asks for the judge's word or the next step instead of "which was best". They join the
pool under the topic ``your-results``, as interpretation items, so a drill's reasoning share
(:class:`tlcourse.quiz.drill.ExamConfig`) takes them first. No saved run: no such question, and
the share comes from written prediction and interpretation items.

Example:
    >>> pool, weights = with_results([], {}, {"scratch-vs-transfer": []})
    >>> pool, weights
    ([], {})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tlcourse.assets import data_dir
from tlcourse.quiz.grounded import TEMPLATES, grounded_questions
from tlcourse.quiz.grounded_verdict import next_step_items, verdict_items
from tlcourse.quiz.question import Question

#: Topic weight of the learner's own results in a drill (the Azure topic has 3).
RESULTS_WEIGHT = 3.0


def saved_results(profile: str = "quick") -> dict[str, list[dict]]:
    """Experiment -> records of the learner's saved runs (current code), for every experiment
    the claims ledger reads; experiments never run are left out. Reads the cache only.

    Looks for the results files first, so that a learner with none waits for nothing (reading
    a run needs the experiments' code, and with it torch).
    """
    from tlcourse.claims import experiments_needed, load_claims

    names = [n for n in experiments_needed(load_claims())
             if any(_results_dir().glob(f"{n}-{profile}-*.json"))]
    if not names:
        return {}
    from tlcourse.claims import cached_records

    out = {}
    for name in names:
        try:
            records = cached_records(name, profile)
        except (OSError, ValueError) as e:  # an unreadable saved run: skip it, say which
            print(f"drill: skipped the saved run of {name} ({e})")
            continue
        if records:
            out[name] = records
    return out


def _results_dir() -> Path:
    """Where :mod:`tlcourse.cache` keeps results (its path rule, without importing torch)."""
    env = os.environ.get("TLCOURSE_CACHE_DIR")
    return (Path(env).expanduser() if env else data_dir() / "cache") / "results"


def _questions(records: list[dict], experiment: str) -> list[Question]:
    """One saved run's questions. Where its records allow a paired comparison, the judge's
    verdict and next step (with the learner's table) take the place of "which was best"."""
    judged = (verdict_items(records, chapter="drill", experiment=experiment)
              + next_step_items(records, chapter="drill", experiment=experiment))
    names = [t for t in TEMPLATES if not (judged and t == "best_method")]
    return judged + grounded_questions(records, [{"template": t} for t in names],
                                       chapter="drill", experiment=experiment)


def with_results(pool: list[Question], weights: Mapping[str, float],
                 results: Mapping[str, list[dict]]) -> tuple[list[Question], dict[str, float]]:
    """``pool`` plus questions computed from ``results``, and the weights with their topic."""
    extra = [q for name, records in sorted(results.items())
             for q in _questions(records, name)]
    weights = dict(weights)
    if extra:
        weights.setdefault("your-results", RESULTS_WEIGHT)
    return list(pool) + extra, weights
