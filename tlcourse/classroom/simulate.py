"""Simulated classes: learners answering the real banks under an item-response model.

For tests and demos of the class report, never for grading. Each learner has an ability
``theta ~ N(0, 1)``; each item a discrimination ``a``, a difficulty ``b`` and a guessing floor
``c`` at chance (three-parameter logistic model, 3PL):
``P(right) = c + (1 - c) / (1 + exp(-a (theta - b)))``, with ``c`` = 1/2 for true/false, 1/k
for k choices, and so on (:func:`tlcourse.classroom.items.chance_level`): a learner who knows
nothing still guesses right that often, so an item is not "too hard" merely for being true/false
(without the floor, the simulator flagged true/false items so). A learner who is wrong
picks a wrong choice with probability proportional to its *attractiveness* (a weight per
distractor, drawn once per item). Items draw ``log a ~ N(0.2, 0.25)`` (a about 0.75 to 2),
``b ~ N(-0.5, 0.8)`` (course quizzes lean easy) and weights uniform on 0.5-1.5, so every real
distractor draws a fair share of the wrong answers. Some learners skip items, some retry the
ones they missed, and each chapter has a few grounded items whose key differs per learner.

Two problems can be planted, both on four-choice single-answer items of the first bank:

* a **wrong key**: the key the bank records is really a distractor, and another choice is the
  truly right answer (the item most learners truly get right, ``b = -0.8``);
* a **dead distractor**: one wrong choice with attractiveness 0, on an item more than half the
  class gets wrong (``b = 1.0``: with the guessing floor of 1/4, about 55 % wrong). On an item
  nearly everyone gets right there are too few wrong answers for any statistic to tell a dead
  distractor from an unlucky one, so it is planted where it can be seen (at ``b = 0.5`` the
  floor left too few wrong answers: found in 88 of 100 classes).

Item parameters come from ``item_seed`` (the same "test" for every class); learners and their
answers from ``seed``.

Example:
    >>> sim = simulate_class(n_learners=5, seed=1)
    >>> sorted(sim.attempts[0])[:3], sim.wrong_key[0] != sim.dead_distractor[0]
    (['attempt', 'bank_choice', 'chapter'], True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from ..quiz.bank import Bank, Question, load_bank
from .gradebook import COURSE_EXERCISES
from .items import chance_level

_START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ItemParams:
    """One item's 2PL parameters, its true answer and its distractors' attractiveness."""

    a: float  # discrimination
    b: float  # difficulty (the ability with a 50 % chance of being right)
    truth: tuple[str, ...]  # the truly right key(s); differs from the bank's on a planted item
    weights: dict[str, float]  # wrong key -> attractiveness (0 = nobody picks it)


@dataclass
class SimulatedClass:
    """A simulated class in the gradebook's data contract, with what was planted."""

    attempts: list[dict[str, Any]]
    exercises: list[dict[str, Any]]
    banks: list[Bank]
    wrong_key: tuple[str, str] | None  # (item id, truly right key); the bank's key is wrong
    dead_distractor: tuple[str, str] | None  # (item id, key nobody finds attractive)
    abilities: dict[str, float] = field(default_factory=dict)
    params: dict[str, ItemParams] = field(default_factory=dict)


def simulate_class(n_learners: int = 40, seed: int = 0, banks: tuple[str | Bank, ...] = ("ch01",),
                   *, item_seed: int = 0, plant_wrong_key: bool = True,
                   plant_dead_distractor: bool = True, skip_rate: float = 0.05,
                   retry_rate: float = 0.5, grounded_per_chapter: int = 2,
                   exercises_per_chapter: int = 2) -> SimulatedClass:
    """Draw one class of ``n_learners`` answering ``banks`` (names or loaded banks).

    Args:
        n_learners: Class size.
        seed: Seeds the learners, their answers, skips and retries.
        banks: Banks the class answers; problems are planted in the first.
        item_seed: Seeds the item parameters (keep it fixed to compare classes on one test).
        plant_wrong_key: Plant one item whose recorded key is a distractor.
        plant_dead_distractor: Plant one distractor with attractiveness 0.
        skip_rate: Chance a learner skips an item.
        retry_rate: Chance a learner retries an item missed on the first attempt.
        grounded_per_chapter: Grounded items per chapter (key drawn per learner).
        exercises_per_chapter: Checked exercises per chapter.
    """
    loaded = [b if isinstance(b, Bank) else load_bank(b) for b in banks]
    params, wrong_key, dead = _item_params(loaded, item_seed, plant_wrong_key,
                                           plant_dead_distractor)
    rng = np.random.default_rng(seed)
    names = [f"learner-{seed:03d}-{i:03d}" for i in range(n_learners)]
    theta = rng.normal(0.0, 1.0, n_learners)
    attempts: list[dict[str, Any]] = []
    exercises: list[dict[str, Any]] = []
    minute = 0
    for bank in loaded:
        for q in bank.questions:
            minute += 1
            attempts += _answer(q, params[q.id], names, theta, rng, skip_rate, retry_rate, minute)
        for g in range(grounded_per_chapter):
            minute += 1
            attempts += _grounded(bank.chapter, g, names, theta, rng, minute)
        for e in range(exercises_per_chapter):
            minute += 1
            exercises += _exercise(bank.chapter, e, names, theta, rng, minute)
    return SimulatedClass(attempts, exercises, loaded, wrong_key, dead,
                          dict(zip(names, map(float, theta))), params)


# --------------------------------------------------------------------------- items
def _item_params(banks: list[Bank], item_seed: int, plant_wrong_key: bool, plant_dead: bool,
                 ) -> tuple[dict[str, ItemParams], tuple[str, str] | None,
                            tuple[str, str] | None]:
    rng = np.random.default_rng(item_seed)
    params: dict[str, ItemParams] = {}
    for bank in banks:
        for q in bank.questions:
            truth = q.answer if isinstance(q.answer, tuple) else ()
            wrong = [c.key for c in q.choices if c.key not in truth]
            params[q.id] = ItemParams(
                a=float(np.exp(rng.normal(0.2, 0.25))), b=float(rng.normal(-0.5, 0.8)),
                truth=truth, weights={k: float(rng.uniform(0.5, 1.5)) for k in wrong})
    candidates = [q for q in banks[0].questions if q.type == "single" and len(q.choices) == 4]
    picks = rng.permutation(len(candidates))
    wrong_key = dead = None
    if plant_wrong_key and len(candidates) >= 1:
        q = candidates[picks[0]]
        old = params[q.id]
        true_key = max(old.weights, key=old.weights.get)  # a distractor is the real answer
        weights = {k: w for k, w in old.weights.items() if k != true_key}
        weights[q.answer[0]] = float(rng.uniform(0.5, 1.5))  # the recorded key now misleads
        params[q.id] = ItemParams(1.5, -0.8, (true_key,), weights)
        wrong_key = (q.id, true_key)
    if plant_dead and len(candidates) >= 2:
        q = candidates[picks[1]]
        old = params[q.id]
        dead_key = sorted(old.weights)[int(rng.integers(len(old.weights)))]
        params[q.id] = ItemParams(1.2, 1.0, old.truth, dict(old.weights, **{dead_key: 0.0}))
        dead = (q.id, dead_key)
    return params, wrong_key, dead


def _answer(q: Question, p: ItemParams, names: list[str], theta: np.ndarray,
            rng: np.random.Generator, skip_rate: float, retry_rate: float,
            minute: int) -> list[dict[str, Any]]:
    n = len(names)
    c = chance_level(q.type, len(q.choices))  # the guessing floor
    right = rng.random(n) < c + (1 - c) / (1 + np.exp(-p.a * (theta - p.b)))
    skip = rng.random(n) < skip_rate
    retry = rng.random(n) < retry_rate
    retry_right = rng.random(n) < 0.8
    wrong = _weighted(p.weights, rng, 2 * n)  # a wrong choice ready for every response
    rows = []
    times = _time(minute), _time(minute + 1)
    for i in np.flatnonzero(~skip):
        choice = _response(q, p, bool(right[i]), rng, wrong[2 * i])
        rows.append(_row(names[i], q, 1, choice, times[0]))
        if not rows[-1]["correct"] and retry[i]:
            again = _response(q, p, bool(retry_right[i]), rng, wrong[2 * i + 1])
            rows.append(_row(names[i], q, 2, again, times[1]))
    return rows


def _response(q: Question, p: ItemParams, right: bool, rng: np.random.Generator,
              wrong: str) -> str:
    """The learner's answer in bank keys, as the progress store keeps it."""
    if q.type == "numeric":
        value = float(q.answer)  # type: ignore[arg-type]
        if right:
            return f"{value:g}"
        wrongs = [w.value for w in q.common_wrong] or [value * 2 + 1]
        return f"{wrongs[int(rng.integers(len(wrongs)))]:g}"
    if q.type == "ordering":
        order = list(q.answer)  # type: ignore[arg-type]
        if not right:
            i = int(rng.integers(len(order) - 1))
            order[i], order[i + 1] = order[i + 1], order[i]
        return "-".join(order)
    if q.type == "multiple":
        chosen = set(p.truth)
        for _ in range(0 if right else 50):  # until the answer differs from the truth
            if chosen != set(p.truth):
                break
            chosen = set(p.truth)
            if rng.random() < 0.6 and p.weights:
                chosen.add(_weighted(p.weights, rng, 1)[0])
            if rng.random() < 0.5 and len(chosen) > 1:
                chosen.discard(sorted(p.truth)[int(rng.integers(len(p.truth)))])
        return "".join(sorted(chosen))
    return p.truth[0] if right else wrong


def _weighted(weights: dict[str, float], rng: np.random.Generator, size: int) -> list[str]:
    """``size`` wrong keys drawn in proportion to their attractiveness ("" if none)."""
    keys = list(weights)
    if not keys:
        return [""] * size
    w = np.array([weights[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=size, p=w / w.sum())]


def _row(learner: str, q: Question, attempt: int, choice: str, time: str) -> dict[str, Any]:
    if q.type == "numeric":
        ok = abs(float(choice) - float(q.answer)) <= q.tolerance + 1e-12  # type: ignore[arg-type]
    elif q.type == "ordering":
        ok = choice == "-".join(q.answer)  # type: ignore[arg-type]
    else:
        ok = choice == "".join(q.answer)  # type: ignore[arg-type]
    return {"learner": learner, "chapter": q.chapter, "item_id": q.id, "topic": q.topic,
            "type": q.type, "grounded": False, "attempt": attempt, "bank_choice": choice,
            "correct": bool(ok), "time": time}


def _grounded(chapter: str, g: int, names: list[str], theta: np.ndarray,
              rng: np.random.Generator, minute: int) -> list[dict[str, Any]]:
    """A results-grounded single-choice item: each learner's key depends on their own run."""
    keys = ["A", "B", "C"]
    right = rng.random(len(names)) < 1 / (1 + np.exp(-(theta + 0.5)))
    rows, time = [], _time(minute)
    for i, name in enumerate(names):
        key = keys[int(rng.integers(3))]
        choice = key if right[i] else keys[(keys.index(key) + 1) % 3]
        rows.append({"learner": name, "chapter": chapter, "item_id": f"grounded-best-{chapter}-{g}",
                     "topic": "your-results", "type": "single", "grounded": True, "attempt": 1,
                     "bank_choice": choice, "correct": bool(right[i]), "time": time})
    return rows


def _exercise(chapter: str, e: int, names: list[str], theta: np.ndarray,
              rng: np.random.Generator, minute: int) -> list[dict[str, Any]]:
    """The runs of the chapter's ``e``-th course exercise (none if it has fewer)."""
    passed = rng.random(len(names)) < 1 / (1 + np.exp(-(theta + 1.0)))
    time = _time(minute)
    course = sorted(x for x in COURSE_EXERCISES if x.startswith(f"{chapter}-ex-"))
    if e >= len(course):
        return []
    return [{"learner": name, "chapter": chapter, "exercise_id": course[e],
             "passed": bool(passed[i]), "time": time} for i, name in enumerate(names)]


def _time(minute: int) -> str:
    return (_START + timedelta(minutes=minute)).isoformat()
