"""Item analysis of a class's quiz answers: difficulty, discrimination, choice shares and flags.

Classical test theory, on **first attempts only** (a retry after seeing the explanation measures
the explanation, not the item). Each chapter's bank is one *analysis set*: an item's
discrimination is measured against the learner's score on the *other* items of its chapter.

* **Difficulty** ``p``: the share of learners right on their first attempt.
* **Item-rest correlation** ``r``: the Pearson (point-biserial) correlation between being right
  on the item (0/1) and the *rest score*, the learner's share correct on the other items of the
  analysis set. Learners skip items, so the rest score is a share of the items the learner
  *answered* (not a count, which would penalise skipping); a learner who answered no other item
  of the set has no rest score and is left out of ``r`` and of the groups below (but counts in
  ``p``).
* **Upper-lower index** ``D = p_upper - p_lower`` (Kelley's 27 % groups): the learners who
  answered the item are ranked by rest score; the top and bottom ``round(0.27 n)`` form the
  groups, cut from one ranking so no learner is in both. Ties are broken by pseudonym order
  (first in the upper group, last in the lower): arbitrary, but the same every run.
* **Choice shares**, overall and in each group: the share who chose each key (single, true/false)
  or who *selected* each key (multiple). Numeric and ordering items have no choice table.

Grounded items (computed from each learner's own results, so the key differs per learner) are
analysed apart: difficulty only, and they never enter a rest score.

Flags follow the usual rules of thumb of classical item analysis: Kelley (1939) for the 27 %
groups; Ebel & Frisbie, *Essentials of Educational Measurement* (1991), for discrimination bands
(r or D of .40 and above very good, below .20 poor, negative: revise or discard); Haladyna &
Downing (1993) and Haladyna & Rodriguez, *Developing and Validating Test Items* (2013), on
distractors (one chosen by under 5 % does no work; one chosen more by strong than by weak
learners, or preferred to the key by them, points to an ambiguity or a wrong key). A flag is a
reason to *read the item again*, not a verdict. "Beyond noise" means beyond what a zero
correlation gives 1 time in 20 (one-sided): ``|r| > 1.645 / sqrt(n)``. The thresholds are the
constants below:

* ``key-suspicious``: the upper group prefers a wrong choice to the key by ``KEY_MARGIN`` or
  more, and choosing it goes with a higher rest score than being right does;
* ``negative``: item-rest r below zero beyond noise, or below zero with ``D < 0`` too;
* ``strong-distractor``: a wrong choice picked ``STRONG_PICK_MARGIN`` more often by the upper
  group than by the lower, with a positive choice-rest correlation beyond noise;
* ``dead-distractor``: a wrong choice under ``DEAD_SHARE``, judged only when the wrong answers
  would give every distractor ``MIN_EXPECTED_PICKS`` at an even spread;
* ``too-hard``: ``p`` under ``TOO_HARD_P`` or under chance + ``CHANCE_MARGIN``;
* ``too-easy``: ``p`` over ``TOO_EASY_P``.

Items answered by fewer than ``MIN_ITEM_N`` learners get no flags, and a class under
``MIN_CLASS`` learners gets a warning (:func:`class_warnings`).

Example:
    >>> rows = [dict(learner=l, chapter="ch01", item_id=i, topic="t", type="truefalse",
    ...              grounded=False, attempt=1, bank_choice="T" if ok else "F", correct=ok,
    ...              time="2026-01-01T00:00:00") for l, i, ok in
    ...         [("a", "q1", True), ("a", "q2", True), ("b", "q1", False), ("b", "q2", True)]]
    >>> [round(s.p, 2) for s in analyse_items(rows)]
    [0.5, 1.0]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..quiz.bank import Bank, Question

Attempt = Mapping[str, Any]

#: Too easy: above 90 % right, an item can hardly separate those who understood.
TOO_EASY_P = 0.90
#: Too hard: fewer than 20 % right, or no better than guessing plus this margin.
TOO_HARD_P = 0.20
CHANCE_MARGIN = 0.05
#: Kelley's upper/lower group share.
GROUP_SHARE = 0.27
#: One-sided 5 % normal quantile: a correlation is "beyond noise" when |r| > NOISE_Z / sqrt(n).
NOISE_Z = 1.645
#: A distractor chosen by fewer than 2 % of learners does no work (Haladyna & Downing use 5 %;
#: with 40 learners 2 % means nobody).
DEAD_SHARE = 0.02
#: ... but only judged when the wrong answers would give each distractor at least this many
#: picks at an equal share (the chi-square "expected count >= 5" rule): an item nearly everyone
#: gets right cannot show that a distractor is dead.
MIN_EXPECTED_PICKS = 5
#: A distractor that the upper group picks this much more often than the lower group, with a
#: positive distractor-rest correlation beyond noise, attracts strong learners.
STRONG_PICK_MARGIN = 0.10
#: "Key suspicious": a wrong choice the upper group prefers to the key by at least this much
#: (three learners in a group of ten), and whose choice-rest correlation beats the key's.
KEY_MARGIN = 0.30
#: Below these, say the statistics mean little (and give an item no flags).
MIN_CLASS = 20
MIN_ITEM_N = 10

FLAG_NAMES = {
    "key-suspicious": "key suspicious",
    "negative": "negatively discriminating",
    "strong-distractor": "distractor strong learners pick",
    "dead-distractor": "distractor nobody picks",
    "too-hard": "too hard",
    "too-easy": "too easy",
}


@dataclass(frozen=True)
class ChoiceStats:
    """One choice's share of first attempts, overall and in the upper and lower groups."""

    key: str
    text: str
    correct: bool  # a key of the bank's answer
    count: int
    overall: float
    upper: float
    lower: float
    rest_r: float  # correlation of choosing it with the rest score (NaN if undefined)


@dataclass(frozen=True)
class Flag:
    """Why an item deserves a second look: a stable ``code`` and a sentence for the instructor."""

    code: str
    text: str


@dataclass
class ItemStats:
    """Statistics of one item on first attempts (see the module docstring for definitions)."""

    item_id: str
    chapter: str
    topic: str
    type: str
    grounded: bool
    n: int  # learners with a first attempt
    p: float  # difficulty: share right
    chance: float  # expected p from blind guessing
    rest_r: float = math.nan  # item-rest correlation
    d_index: float = math.nan  # upper-lower index
    n_group: int = 0  # size of each 27 % group
    n_rest: int = 0  # learners with a rest score
    key: str = ""
    prompt: str = ""
    choices: list[ChoiceStats] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    note: str = ""


@dataclass
class LearnerScores:
    """One learner's first-attempt scores and exercise results. Scores are shares (0-1)."""

    learner: str
    answered: int
    score: float
    by_chapter: dict[str, float]
    by_topic: dict[str, float]  # "ch01/recipe" -> share
    exercises_passed: int
    exercises_tried: int
    exercises_by_chapter: dict[str, int]  # chapter -> exercises passed


@dataclass
class ClassAnalysis:
    """Everything the class report shows."""

    items: list[ItemStats]
    learners: list[LearnerScores]
    warnings: list[str]

    @property
    def flagged(self) -> list[ItemStats]:
        """Flagged items, most serious flag first."""
        order = list(FLAG_NAMES)
        hits = [s for s in self.items if s.flags]
        return sorted(hits, key=lambda s: (min(order.index(f.code) for f in s.flags),
                                           s.chapter, s.item_id))


# --------------------------------------------------------------------------- public API
def first_attempts(attempts: Iterable[Attempt]) -> list[Attempt]:
    """Each learner's first attempt at each item (lowest ``attempt``, then earliest ``time``).

    Example:
        >>> a = dict(learner="a", item_id="q", attempt=2, time="2")
        >>> first_attempts([a, dict(a, attempt=1, time="1")])[0]["attempt"]
        1
    """
    best: dict[tuple[str, str], Attempt] = {}
    for a in attempts:
        k = (str(a["learner"]), str(a["item_id"]))
        if k not in best or (int(a["attempt"]), str(a["time"])) < (
                int(best[k]["attempt"]), str(best[k]["time"])):
            best[k] = a
    return list(best.values())


def analyse_class(attempts: Sequence[Attempt], exercises: Sequence[Mapping[str, Any]] = (),
                  banks: Sequence[Bank] | None = None) -> ClassAnalysis:
    """Item statistics, per-learner scores and the small-class warnings in one call.

    Args:
        attempts: Quiz attempt dicts (the gradebook's data contract; all attempts, any order).
        exercises: Exercise result dicts ``{learner, chapter, exercise_id, passed, time}``.
        banks: The question banks, for prompts, choice texts and keys; items not found in them
            (grounded ones, say) are described from the attempts alone.
    """
    items = analyse_items(attempts, banks)
    learners = learner_scores(attempts, exercises)
    return ClassAnalysis(items, learners, class_warnings(items, len(learners)))


def analyse_items(attempts: Sequence[Attempt],
                  banks: Sequence[Bank] | None = None) -> list[ItemStats]:
    """Per-item statistics and flags on first attempts, sorted by chapter and item id."""
    questions = {q.id: q for b in banks or () for q in b.questions}
    firsts = first_attempts(attempts)
    by_set: dict[str, list[Attempt]] = defaultdict(list)
    grounded: dict[str, list[Attempt]] = defaultdict(list)
    for a in firsts:
        (grounded if a.get("grounded") else by_set)[str(a["chapter"])].append(a)
    out: list[ItemStats] = []
    for chapter, rows in sorted(by_set.items()):
        out += _analyse_set(rows, questions)
    for chapter, rows in sorted(grounded.items()):
        out += _analyse_grounded(rows)
    return sorted(out, key=lambda s: (s.chapter, s.grounded, s.item_id))


def learner_scores(attempts: Sequence[Attempt],
                   exercises: Sequence[Mapping[str, Any]] = ()) -> list[LearnerScores]:
    """First-attempt scores per learner (overall, by chapter, by chapter/topic) and exercises.

    An exercise counts as passed when any of its recorded check runs passed.
    """
    per: dict[str, list[Attempt]] = defaultdict(list)
    for a in first_attempts(attempts):
        per[str(a["learner"])].append(a)
    passed: dict[str, dict[tuple[str, str], bool]] = defaultdict(dict)
    for e in exercises:
        k = (str(e["chapter"]), str(e["exercise_id"]))
        done = passed[str(e["learner"])]
        done[k] = done.get(k, False) or bool(e["passed"])
    out = []
    for learner in sorted(set(per) | set(passed)):
        rows = per.get(learner, [])
        chap: dict[str, list[bool]] = defaultdict(list)
        topic: dict[str, list[bool]] = defaultdict(list)
        for a in rows:
            chap[str(a["chapter"])].append(bool(a["correct"]))
            topic[f"{a['chapter']}/{_topic(a)}"].append(bool(a["correct"]))
        ex = passed.get(learner, {})
        ex_chap: dict[str, int] = defaultdict(int)
        for (c, _), ok in ex.items():
            ex_chap[c] += ok
        out.append(LearnerScores(
            learner, len(rows), _share([bool(a["correct"]) for a in rows]),
            {c: _share(v) for c, v in sorted(chap.items())},
            {t: _share(v) for t, v in sorted(topic.items())},
            sum(ex.values()), len(ex), dict(sorted(ex_chap.items()))))
    return out


def class_warnings(items: Sequence[ItemStats], n_learners: int) -> list[str]:
    """Sentences saying where the class is too small, or items too rarely answered, to trust."""
    out = []
    if n_learners < MIN_CLASS:
        half = 100 * 0.5 / math.sqrt(max(n_learners, 1))
        out.append(
            f"Only {n_learners} learner{'s' if n_learners != 1 else ''}: with fewer than "
            f"{MIN_CLASS}, an item's difficulty is uncertain by about ± {half:.0f} points "
            "(one standard error at p = 50 %) and its discrimination is mostly noise. Read the "
            "flags as hints, not findings.")
    thin = [s for s in items if s.n < MIN_ITEM_N]
    if thin:
        out.append(f"{len(thin)} item{'s' if len(thin) != 1 else ''} answered by fewer than "
                   f"{MIN_ITEM_N} learners: statistics shown, no flags given.")
    ground = [s for s in items if s.grounded]
    if ground:
        out.append(f"{len(ground)} grounded item{'s' if len(ground) != 1 else ''} (computed from "
                   "each learner's own results, so the key differs per learner): difficulty "
                   "only; excluded from discrimination and from every rest score.")
    return out


def chance_level(qtype: str, n_choices: int) -> float:
    """Expected share right from blind guessing: 1/k (single), 1/2 (true/false), one of the
    2^k - 1 non-empty subsets (multiple), one of k! orders (ordering), 0 (numeric)."""
    if qtype == "truefalse":
        return 0.5
    if n_choices <= 0 or qtype == "numeric":
        return 0.0
    if qtype == "multiple":
        return 1 / (2 ** n_choices - 1)
    if qtype == "ordering":
        return 1 / math.factorial(n_choices)
    return 1 / n_choices


# --------------------------------------------------------------------------- one analysis set
def _analyse_set(rows: list[Attempt], questions: Mapping[str, Question]) -> list[ItemStats]:
    learners = sorted({str(a["learner"]) for a in rows})
    item_ids = sorted({str(a["item_id"]) for a in rows})
    li = {name: i for i, name in enumerate(learners)}
    ii = {name: j for j, name in enumerate(item_ids)}
    right = np.full((len(learners), len(item_ids)), np.nan)  # learners x items, NaN = skipped
    chosen = np.full(right.shape, "", dtype=object)
    meta: dict[str, Attempt] = {}
    for a in rows:
        i, j = li[str(a["learner"])], ii[str(a["item_id"])]
        right[i, j] = float(bool(a["correct"]))
        chosen[i, j] = str(a["bank_choice"])
        meta.setdefault(str(a["item_id"]), a)
    answered = ~np.isnan(right)
    total = np.nansum(right, axis=1)
    count = answered.sum(axis=1)
    out = []
    for item, j in ii.items():
        a = answered[:, j]
        x = right[:, j]
        # Rest score: share correct on the *other* items this learner answered.
        others = count - a
        with np.errstate(invalid="ignore", divide="ignore"):
            rest = (total - np.nan_to_num(x)) / others
        has_rest = a & (others > 0)
        s = _base_stats(item, meta[item], questions.get(item), x[a])
        s.n_rest = int(has_rest.sum())
        s.rest_r = _pearson(x[has_rest], rest[has_rest])
        upper, lower = _groups(rest, has_rest)
        s.n_group = len(upper)
        if len(upper):
            s.d_index = float(x[upper].mean() - x[lower].mean())
        s.choices = _choice_stats(s, questions.get(item), chosen[:, j], a, rest, has_rest,
                                  upper, lower)
        s.flags = _flags(s) if s.n >= MIN_ITEM_N else []
        if s.n < MIN_ITEM_N:
            s.note = f"answered by {s.n} < {MIN_ITEM_N} learners: no flags"
        out.append(s)
    return out


def _analyse_grounded(rows: list[Attempt]) -> list[ItemStats]:
    per: dict[str, list[Attempt]] = defaultdict(list)
    for a in rows:
        per[str(a["item_id"])].append(a)
    out = []
    for item, rs in sorted(per.items()):
        s = _base_stats(item, rs[0], None, np.array([float(bool(a["correct"])) for a in rs]))
        s.grounded = True
        s.note = "grounded (key differs per learner): difficulty only"
        out.append(s)
    return out


def _base_stats(item: str, a: Attempt, q: Question | None, x: np.ndarray) -> ItemStats:
    qtype = q.type if q else str(a.get("type") or "unknown")
    n_choices = len(q.choices) if q else 0
    key = ""
    if q is not None and not isinstance(q.answer, float):
        key = "-".join(q.answer) if q.type == "ordering" else "".join(q.answer)
    elif q is not None:
        key = f"{q.answer:g}"
    return ItemStats(
        item_id=item, chapter=str(a["chapter"]), topic=q.topic if q else _topic(a),
        type=qtype, grounded=bool(a.get("grounded")), n=len(x),
        p=float(x.mean()) if len(x) else math.nan,
        chance=chance_level(qtype, n_choices),
        key=key, prompt=q.prompt if q else "")


def _groups(rest: np.ndarray, has_rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the upper and lower 27 % by rest score (ties: pseudonym order)."""
    idx = np.flatnonzero(has_rest)
    g = round(GROUP_SHARE * len(idx))
    g = max(min(g, len(idx) // 2), 1 if len(idx) >= 2 else 0)
    if g == 0:
        return idx[:0], idx[:0]
    # One ranking, cut at both ends: sorting twice put tied learners in both groups.
    ranked = idx[np.argsort(-rest[idx], kind="stable")]
    return ranked[:g], ranked[::-1][:g]


def _choice_stats(s: ItemStats, q: Question | None, chosen: np.ndarray, a: np.ndarray,
                  rest: np.ndarray, has_rest: np.ndarray, upper: np.ndarray,
                  lower: np.ndarray) -> list[ChoiceStats]:
    if s.type not in ("single", "truefalse", "multiple"):
        return []
    texts = {c.key: c.text for c in q.choices} if q else {}
    keys = list(texts) or sorted({k for c in chosen[a] for k in _keys_in(c, s.type, [])})
    answer = set(q.answer) if q and not isinstance(q.answer, float) else set()
    named = [_keys_in(c, s.type, keys) for c in chosen]  # per learner, the keys chosen
    extra = sorted(set().union(*named) - set(keys))
    out = []
    for key in keys + extra:
        # picked[i]: learner i chose (single, true/false) or selected (multiple) this key.
        picked = np.array([key in k for k in named], dtype=float)
        out.append(ChoiceStats(
            key=key, text=texts.get(key, ""), correct=key in answer,
            count=int(picked[a].sum()), overall=_mean(picked[a]),
            upper=_mean(picked[upper]), lower=_mean(picked[lower]),
            rest_r=_pearson(picked[has_rest], rest[has_rest])))
    return out


def _keys_in(choice: str, qtype: str, keys: Sequence[str]) -> set[str]:
    """The keys a stored bank choice names: ``"AC"`` -> {A, C} for multiple items."""
    if qtype != "multiple":
        return {choice} if choice else set()
    if "," in choice or any(len(k) > 1 for k in keys):
        return {k.strip() for k in choice.split(",") if k.strip()}
    return set(choice)


# --------------------------------------------------------------------------- flags
def _flags(s: ItemStats) -> list[Flag]:
    flags = []
    noise = NOISE_Z / math.sqrt(s.n_rest) if s.n_rest else math.inf
    r, d = s.rest_r, s.d_index
    keys = [c for c in s.choices if c.correct]
    wrong = [c for c in s.choices if not c.correct]
    if keys and wrong:
        best_key = min(keys, key=lambda c: c.upper)
        rival = max(wrong, key=lambda c: c.upper)
        # A miskeyed item: a "wrong" choice behaves more like a key than the key does: the top
        # group prefers it clearly, and choosing it goes with a higher rest score than being right.
        if (rival.upper >= best_key.upper + KEY_MARGIN
                and rival.rest_r > max(0.0, _nan_to(r, 0.0))):
            flags.append(Flag("key-suspicious", (
                f"key suspicious: in the top group {_pct(rival.upper)} chose {rival.key} and "
                f"only {_pct(best_key.upper)} the key {best_key.key}; choosing {rival.key} goes "
                f"with a high score elsewhere (choice-rest r = {rival.rest_r:+.2f}) and the key "
                f"less (item-rest r = {r:+.2f}). Check that the key is right.")))
    if not math.isnan(r) and (r < -noise or (r < 0 and not math.isnan(d) and d < 0)):
        how = (f"item-rest r = {r:+.2f}, beyond noise (± {noise:.2f}), D = {d:+.2f}"
               if r < -noise else
               f"item-rest r = {r:+.2f} (within noise, ± {noise:.2f}) and D = {d:+.2f} agree")
        flags.append(Flag("negative", (
            f"negatively discriminating: {how}; learners who do well elsewhere get it wrong "
            "more often. Look for an ambiguity or a second defensible answer")))
    for c in wrong:
        if (c.upper - c.lower >= STRONG_PICK_MARGIN and not math.isnan(c.rest_r)
                and c.rest_r > noise):
            flags.append(Flag("strong-distractor", (
                f"distractor {c.key} attracts strong learners: top group "
                f"{_pct(c.upper)} vs bottom {_pct(c.lower)} (choice-rest r = {c.rest_r:+.2f}, "
                f"noise ± {noise:.2f}); is it defensibly right, or ambiguous?")))
    n_wrong = round(s.n * (1 - s.p))
    if wrong and n_wrong / len(wrong) >= MIN_EXPECTED_PICKS:
        for c in wrong:
            if c.overall < DEAD_SHARE:
                flags.append(Flag("dead-distractor", (
                    f"distractor {c.key} chosen by {c.count} of {s.n} learners although "
                    f"{n_wrong} answered wrong; replace it with a misconception learners hold")))
    hard = max(TOO_HARD_P, s.chance + CHANCE_MARGIN)
    if s.p < hard:
        why = (f"no better than guessing (chance {_pct(s.chance)})"
               if s.p < s.chance + CHANCE_MARGIN else f"below {_pct(TOO_HARD_P)}")
        flags.append(Flag("too-hard", f"too hard: {_pct(s.p)} right, {why}"))
    if s.p > TOO_EASY_P:
        flags.append(Flag("too-easy", (
            f"too easy: {_pct(s.p)} right (above {_pct(TOO_EASY_P)}); it tells you little "
            "about who understood")))
    return flags


# --------------------------------------------------------------------------- helpers
def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant or fewer than 3 pairs."""
    if len(x) < 3:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx < 1e-12 or syy < 1e-12:
        return math.nan
    return float(dx @ dy) / math.sqrt(sxx * syy)


def _topic(a: Attempt) -> str:
    """The attempt's topic; "unknown" for an item no longer in any bank."""
    return str(a.get("topic") or "unknown")


def _nan_to(x: float, default: float) -> float:
    return default if math.isnan(x) else x


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else math.nan


def _share(v: Sequence[bool]) -> float:
    return sum(v) / len(v) if v else math.nan


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"
