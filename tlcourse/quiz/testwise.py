"""A test-wise learner who reads no subject plays the drill: how often does it pass?

The player sees what a learner sees (each question as displayed, choices shuffled) and answers
with the rules of :mod:`tlcourse.quiz.cues`, the best one per item type, falling back to a
guess a test-wise learner would make: F on true/false (the banks hold more false statements
than true ones), the first displayed choice, the first two of a select-all, the displayed order.
:func:`strategy_table` gives the figures the issue's table reports; the bank test and
``tlcourse quiz stats`` use them.

Example:
    >>> from tlcourse.quiz.drill import load_pool
    >>> pool, _, weights = load_pool(["exam"])
    >>> 0.0 <= drill_pass_rate(pool, weights, seeds=range(3)) <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tlcourse.quiz.cues import RULES, chance, cue_figures, upper_tail
from tlcourse.quiz.drill import ExamConfig, MockExam
from tlcourse.quiz.question import Question

#: Rules the player tries, in order, per item type (the first that applies answers). Not
#: odd-one-out: on these banks it does worse than chance, so a test-wise learner uses its
#: mirror, convergence.
_ORDER = {r.qtype: [x for x in RULES if x.qtype == r.qtype and x.name != "odd-one-out"]
          for r in RULES}


def testwise_answer(q: Question):
    """The test-wise player's response to ``q`` as displayed (in its displayed keys)."""
    for rule in _ORDER.get(q.type, []):
        response = rule.play(q)
        if response is not None:
            return response
    if q.type == "truefalse":
        return ("F",)
    if q.type == "single":
        return (q.choices[0].key,)
    if q.type == "multiple":
        return tuple(c.key for c in q.choices[:2])
    if q.type == "ordering":
        return tuple(c.key for c in q.choices)
    return 0.0


def _drill(pool: list[Question], weights: Mapping[str, float], count: int,
           seed: int) -> MockExam:
    return MockExam(pool, ExamConfig(count=count, seed=seed, weights=weights, time_limit=None))


def drill_pass_rate(pool: list[Question], weights: Mapping[str, float],
                    seeds: Iterable[int] = range(200), count: int = 10) -> float:
    """Share of ``count``-question drills (one per seed) the test-wise player passes."""
    passed = total = 0
    for seed in seeds:
        exam = _drill(pool, weights, count, seed)
        for shown in exam.shown:
            exam.answer(shown.bank.id, testwise_answer(shown.question))
        passed += exam.finish().passed
        total += 1
    return passed / total if total else 0.0


def guess_pass_rate(pool: list[Question], weights: Mapping[str, float],
                    seeds: Iterable[int] = range(200), count: int = 10,
                    pass_mark: float = 0.7) -> float:
    """Mean chance that a blind guesser passes the same drills (exact, per drill).

    A number or an ordering counts with its guessing chance from :func:`cues.chance`; a
    select-all with 1/(2^n - 1).
    """
    rates = []
    for seed in seeds:
        exam = _drill(pool, weights, count, seed)
        probs = [chance(s.bank) for s in exam.shown]
        need = -int(-(pass_mark * len(probs) - 1e-9) // 1)  # ceil
        rates.append(upper_tail(need, probs))
    return sum(rates) / len(rates) if rates else 0.0


def strategy_table(pool: Sequence[Question], weights: Mapping[str, float],
                   seeds: Iterable[int] = range(200), count: int = 10) -> str:
    """The audit's table: each rule right-where-it-applies vs chance, and the drill pass rate."""
    lines = [f"{'strategy (no subject knowledge)':<58} right where it applies   chance"]
    for f in cue_figures(list(pool)):
        share = f"{100 * f.right / f.applies:.0f} % of {f.applies}" if f.applies else "-"
        ch = f"{100 * f.expected / f.applies:.0f} %" if f.applies else "-"
        lines.append(f"{f.rule.describe:<58} {share:<24} {ch}")
    seeds = list(seeds)
    lines.append(f"{count}-question drills passed over {len(seeds)} seeds: test-wise "
                 f"{100 * drill_pass_rate(list(pool), weights, seeds, count):.1f} %, blind "
                 f"guessing {100 * guess_pass_rate(list(pool), weights, seeds, count):.1f} %")
    return "\n".join(lines)
