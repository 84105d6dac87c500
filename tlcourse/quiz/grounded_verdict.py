"""Drill items that show the learner's own table and ask for the judge's word or the next step.

For each setting of a saved run (dataset, labels per class) the two methods with the highest
mean test accuracy are compared, paired by seed, by the one judge (:func:`tlcourse.stats.judge`).
The question shows the learner's numbers as a small table (arm, mean accuracy, seeds; the paired
gap and its 95 % interval; what the gap's error is made of) and asks:

* ``verdict_items``: the judge's word on a claim ("A is more accurate than B"): *holds*, *does
  not hold here* or *inconclusive at N seeds*. Which of the two arms the claim names is fixed by
  a hash of the question's subject, so "does not hold here" is a key as often as "holds".
* ``next_step_items`` (inconclusive comparisons only): what would decide it, following the
  judge's plan: more seeds where seeds would decide it, more test items where the judge says
  no number of seeds would, a practical tie where neither is within reach.

Every key is the judge's own decision on the same records; nothing here decides another way.
A comparison and its next step share a ``group``, so one drill shows at most one of them (the
next-step question names the verdict). The table sits in the prompt as lines indented by four
spaces after a blank line: :func:`tlcourse.quiz.question.prompt_blocks` keeps them as they are
in the terminal and in a monospace block in the notebook.

Example:
    >>> recs = [{"method": m, "seed": s, "test_accuracy": a + s * len(m) / 500}
    ...         for m, a in [("scratch", 0.30), ("imagenet-frozen", 0.70)] for s in (0, 1, 2)]
    >>> (q,) = verdict_items(recs)
    >>> q.prompt.splitlines()[0], q.choice(q.answer[0]).text
    ('Your run. The claim: scratch is more accurate than imagenet-frozen.', 'does not hold here')
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from statistics import mean
from typing import Any

from tlcourse import stats
from tlcourse.quiz.grounded import MAX_PER_TEMPLATE, Record, _per_class, _qid
from tlcourse.quiz.question import Choice, Question

_TOPIC, _KIND = "your-results", "interpretation"

#: The next steps offered, in this order (keys A-D). Each is as long (44 characters) and
#: as plain as the others, so the wording does not point at the key (:mod:`tlcourse.quiz.cues`).
SEEDS, ITEMS, TIE, REPORT = (
    "Run both arms on more seeds, same test items",
    "Score both arms on more test items each seed",
    "Report a practical tie, the gap out of reach",
    "Report the arm ahead as better, as measured",
)
_STEP_WHY = {
    SEEDS: "More seeds shrink the seed-to-seed part of the interval.",
    ITEMS: "More test items shrink the test set's own error, which more seeds leave as it is.",
    TIE: "A gap this small would take more runs than a course affords to decide.",
    REPORT: "The interval spans 0: the run has not shown which arm is ahead.",
}


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _setting(r: Mapping[str, Any]) -> tuple:
    return (r.get("dataset"), r.get("labels_per_class"))


def _comparisons(records: Iterable[Record]) -> list[tuple[dict, str, str, dict, stats.Verdict]]:
    """``(filter, a, b, means, verdict)`` per setting: the claim "a beats b" on its two best
    methods, a and b in a hash-chosen order, judged by seed. Settings the judge cannot pair
    (no shared seed, two records of one seed) are skipped."""
    recs = []
    for r in records or ():
        if isinstance(r, Mapping) and r.get("method") is not None and "seed" in r:
            try:
                if math.isfinite(float(r["test_accuracy"])):
                    recs.append(r)
            except (KeyError, TypeError, ValueError):
                continue
    groups: dict[tuple, dict[str, list[Mapping]]] = defaultdict(lambda: defaultdict(list))
    for r in recs:
        groups[_setting(r)][str(r["method"])].append(r)
    out = []
    for (dataset, k), arms in sorted(groups.items(), key=lambda kv: str(kv[0])):
        means = {m: (mean(float(r["test_accuracy"]) for r in rs), len(rs))
                 for m, rs in sorted(arms.items())}
        if len(means) < 2:
            continue
        top = sorted(means, key=lambda m: -means[m][0])[:2]
        flip = hashlib.sha1(repr((dataset, k, sorted(top))).encode()).digest()[0] % 2
        a, b = (top[1], top[0]) if flip else (top[0], top[1])
        where = {"dataset": dataset, "labels_per_class": k}
        chosen = [r for r in recs if _setting(r) == (dataset, k)]
        try:
            v = stats.judge(stats.by_seed(chosen, "test_accuracy", method=a),
                            stats.by_seed(chosen, "test_accuracy", method=b))
        except ValueError:
            continue
        out.append((where, a, b, {m: means[m] for m in (a, b)}, v))
    return out


def paired_seeds(records: Iterable[Record], chapter: str = "results", experiment: str = ""
                 ) -> dict[str, tuple[str, str, dict[int, tuple[float, float]]]]:
    """Per comparison (the items' ``group``): ``(a, b, {seed: (accuracy a, accuracy b)})``,
    the per-seed pairs the judge read, for a plot next to the question."""
    recs = [r for r in records or () if isinstance(r, Mapping)]
    out = {}
    for where, a, b, _, _ in _comparisons(recs):
        chosen = [r for r in recs if _setting(r) == (where["dataset"], where["labels_per_class"])]
        va, vb = (stats.by_seed(chosen, "test_accuracy", method=m) for m in (a, b))
        out[_ids("compare", chapter, experiment, where, a, b)] = (
            a, b, {s: (va[s], vb[s]) for s in sorted(set(va) & set(vb))})
    return out


def table(a: str, b: str, means: Mapping[str, tuple[float, int]], v: stats.Verdict) -> str:
    """The learner's numbers as aligned lines, each indented by four spaces.

    Example:
        >>> v = stats.judge({0: 0.8, 1: 0.7}, {0: 0.5, 1: 0.45})
        >>> print(table("ft", "scratch", {"ft": (0.75, 2), "scratch": (0.475, 2)}, v))
            arm       mean accuracy   seeds
            ft               75.0 %       2
            scratch          47.5 %       2
            gap ft - scratch: +27.5 points, 95 % interval -4.3 to +59.3 (paired by seed)
            the gap's error: seeds sd 3.5 points
    """
    width = max(len("arm"), *(len(m) for m in means))
    lines = [f"{'arm':<{width}}   mean accuracy   seeds"]
    lines += [f"{m:<{width}}   {100 * acc:11.1f} %   {n:5d}" for m, (acc, n) in means.items()]
    span = (f"95 % interval {_pts(v.low)} to {_pts(v.high)}" if v.high - v.low > 1e-9
            else "95 % interval: none from one seed" if v.n_seeds < 2
            else "95 % interval: unmeasured, every seed gave the same gap")
    lines.append(f"gap {a} - {b}: {_pts(v.gap)} points, {span} (paired by seed)")
    parts = [f"seeds sd {100 * v.seed_sd:.1f} points"] if math.isfinite(v.seed_sd) else []
    if v.items_counted:
        items = f" ({v.n_items:,} items)" if v.n_items else ""
        parts.append(f"the test set's own error {100 * v.item_se:.1f} points{items}")
    if parts:
        lines.append("the gap's error: " + "; ".join(parts))
    return "\n".join("    " + line for line in lines)


def _about(where: Mapping[str, Any]) -> str:
    dataset, k = where["dataset"], where["labels_per_class"]
    bits = ([f"on {dataset}"] if dataset is not None else []) + (
        [f"with {_per_class(k)}"] if k is not None else [])
    return (" " + " ".join(bits)) if bits else ""


def next_step(v: stats.Verdict) -> str | None:
    """The next step the judge's plan points to (None once the verdict is decided)."""
    if v.decided:
        return None
    if v.items_needed:
        return ITEMS
    if v.seeds_needed or v.n_seeds < 2 or (v.seed_sd == 0 and not v.item_se):
        return SEEDS  # one seed, or every seed the same gap: the spread is still unmeasured
    return TIE


def _ids(kind: str, chapter: str, experiment: str, where: Mapping, a: str, b: str) -> str:
    return _qid(kind, chapter, experiment,
                (where["dataset"] or "", where["labels_per_class"] or "", a, b), [a, b])


def verdict_items(records: Iterable[Record], chapter: str = "results",
                  experiment: str = "") -> list[Question]:
    """Per setting: the learner's table, and "what is the judge's word on the claim?"."""
    out = []
    for where, a, b, means, v in _comparisons(records):
        words = (stats.HOLDS, stats.OPPOSITE,
                 f"{stats.INCONCLUSIVE} at {v.n_seeds} seed{'s' if v.n_seeds != 1 else ''}")
        why = f"The judge, from your records: {v.text(a, b)}."
        # each word with the reading it stands for: the longest is then "does not hold here",
        # the rarest key, so picking the longest choice does not find "inconclusive"
        shown = (f"{words[0]}: the interval lies wholly above 0",
                 f"{words[1]}: the interval lies wholly below 0", f"{words[2]}: the interval spans 0")
        choices = tuple(Choice(k, w, why) for k, w in zip("ABC", shown))
        out.append(Question(
            id=_ids("verdict", chapter, experiment, where, a, b), chapter=chapter,
            topic=_TOPIC, kind=_KIND, difficulty="medium", type="single",
            prompt=(f"Your run{_about(where)}. The claim: {a} is more accurate than {b}.\n\n"
                    f"{table(a, b, means, v)}\n\n"
                    "Reading the gap and its interval, what is the judge's word on the claim?"),
            answer=("ABC"[words.index(v.word)],), choices=choices,
            explanation=("Holds when the interval lies above 0, does not hold here when it lies "
                         "below, inconclusive when it spans 0. " + why),
            group=_ids("compare", chapter, experiment, where, a, b)))
    return out[:MAX_PER_TEMPLATE]


def next_step_items(records: Iterable[Record], chapter: str = "results",
                    experiment: str = "") -> list[Question]:
    """Per inconclusive setting: the learner's table, and "what would decide it?"."""
    out = []
    for where, a, b, means, v in _comparisons(records):
        step = next_step(v)
        if step is None:
            continue
        steps = (SEEDS, ITEMS, TIE, REPORT)
        plan = f"The judge, from your records: {v.text(a, b)}."
        choices = tuple(Choice(k, s, _STEP_WHY[s] + (" " + plan if s == step else ""))
                        for k, s in zip("ABCD", steps))
        out.append(Question(
            id=_ids("next", chapter, experiment, where, a, b), chapter=chapter,
            topic=_TOPIC, kind=_KIND, difficulty="hard", type="single",
            prompt=(f"Your run{_about(where)}: the judge calls the claim \"{a} is more accurate "
                    f"than {b}\" {v.word}.\n\n{table(a, b, means, v)}\n\n"
                    "What is the next step that would most likely decide it?"),
            answer=("ABCD"[steps.index(step)],), choices=choices,
            explanation=plan,
            group=_ids("compare", chapter, experiment, where, a, b)))
    return out[:MAX_PER_TEMPLATE]
