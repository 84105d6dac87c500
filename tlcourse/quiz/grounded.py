"""Questions generated from the learner's own measured results.

The experiments produce records such as::

    {"experiment": "scratch-vs-transfer", "dataset": "photo", "method": "imagenet-frozen",
     "labels_per_class": 10, "seed": 0, "test_accuracy": 0.71, "seconds": 3.2}

Each template below turns such records into questions whose answer is *computed* from the
table (means over seeds), never typed in. Where the records name their seeds, the explanation
adds the one judge's sentence (:func:`tlcourse.stats.judge`) on the compared arms, paired by
seed: who is ahead, by how much, its 95 % interval and, when the interval spans 0,
"inconclusive at N seeds". A question never words a verdict itself. Records missing the keys a
template needs are skipped, and a template that finds nothing to ask returns no questions.

Progress is keyed by question id, so a generated id names everything its answer depends on:
the chapter, the experiment, the dataset, the label count and the compared methods. The same
results give the same ids every time; different experiments never share one.

Which templates a chapter uses: a bank may list them under ``grounded:`` (names, or mappings
``{template: name, experiment: ..., dataset: ...}`` that filter the records); a bank without a
``grounded:`` section gets every template when results are passed.

Example:
    >>> recs = [{"dataset": "photo", "method": m, "labels_per_class": 5, "seed": s,
    ...          "test_accuracy": a + s / 100, "seconds": t}
    ...         for m, a, t in [("scratch", 0.3, 9.0), ("imagenet-frozen", 0.7, 2.0)]
    ...         for s in (0, 1)]
    >>> [q.choice(q.answer[0]).text for q in best_method(recs)]
    ['imagenet-frozen']
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from statistics import mean
from typing import Any

from tlcourse import stats
from tlcourse.quiz.grading import counted
from tlcourse.quiz.question import Choice, Question

Record = Mapping[str, Any]

#: How many questions one template may contribute, so results never swamp the bank.
MAX_PER_TEMPLATE = 3
_TOPIC = "your-results"
_KIND = "interpretation"  # every generated question asks the learner to read their own table


def _qid(kind: str, chapter: str, experiment: str, subject: tuple, methods: Iterable[str]) -> str:
    """A stable question id: ``grounded-<kind>-<readable part>-<hash of everything>``.

    Args:
        kind: The template, e.g. ``"best"``.
        chapter: The chapter whose quiz shows the question.
        experiment: The experiment the records come from ("" if unknown).
        subject: What is asked about, e.g. ``(dataset, labels_per_class)``.
        methods: The methods compared (order does not matter).
    """
    key = json.dumps([chapter, experiment, [str(p) for p in subject], sorted(set(methods))])
    readable = "-".join(str(p) for p in (chapter, *subject))
    clean = "".join(ch if ch.isalnum() else "-" for ch in readable.lower()).strip("-")
    # sha1, not hash(): ids must be the same in every process, or progress is never found.
    return f"grounded-{kind}-{clean[:40]}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def _experiment_of(records: Iterable[Record]) -> str:
    """The ``experiment`` named in the records ("a+b" if several, "" if none)."""
    names = {str(r["experiment"]) for r in records
             if isinstance(r, Mapping) and r.get("experiment") is not None}
    return "+".join(sorted(names))


def _per_class(k: object) -> str:
    return counted(k, "label per class", "labels per class")


def _usable(records: Iterable[Record], *keys: str) -> list[Record]:
    out = []
    for r in records or ():
        if isinstance(r, Mapping) and all(r.get(k) is not None for k in keys):
            try:
                float(r.get("test_accuracy", 0))
                float(r.get("seconds", 0))
            except (TypeError, ValueError):
                continue
            out.append(r)
    return out


def _means(records: list[Record], value: str) -> dict[tuple, dict[str, tuple[float, int]]]:
    """(dataset, labels_per_class) -> method -> (mean value over seeds, number of runs)."""
    groups: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(str(r["dataset"]), r["labels_per_class"])][str(r["method"])].append(
            float(r[value]))
    return {
        k: {m: (mean(v), len(v)) for m, v in sorted(ms.items())}
        for k, ms in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))
    }


def _judged(records: list[Record], a: Mapping[str, Any], b: Mapping[str, Any],
            names: tuple[str, str]) -> str:
    """" Judged over seeds: <the judge's sentence on a - b>." for the records matching ``a``
    and ``b`` (paired by seed), or "" where they name no seeds, share none, or cannot be
    judged (a question still stands on its means)."""
    try:
        v = stats.judge(stats.by_seed(records, "test_accuracy", **a),
                        stats.by_seed(records, "test_accuracy", **b))
    except ValueError:
        return ""
    return f" Judged over seeds: {v.text(*names)}."


def _unique_extreme(values: dict[str, tuple[float, int]], highest: bool) -> str | None:
    ranked = sorted(values, key=lambda m: values[m][0], reverse=highest)
    if len(ranked) < 2 or abs(values[ranked[0]][0] - values[ranked[1]][0]) < 1e-9:
        return None  # a tie has no single right answer
    return ranked[0]


def _choice_question(qid: str, prompt: str, values: dict[str, tuple[float, int]], best: str,
                     describe: Callable[[float], str], chapter: str,
                     judged: str = "") -> Question:
    methods = list(values)[:6]
    if best not in methods:
        methods[-1] = best
    keys = "ABCDEF"
    choices = tuple(
        Choice(keys[i], m, f"In your run {m}: {describe(values[m][0])} "
                           f"(mean of {values[m][1]} run{'s' if values[m][1] > 1 else ''}).")
        for i, m in enumerate(methods)
    )
    return Question(
        id=qid, chapter=chapter, topic=_TOPIC, kind=_KIND, difficulty="medium", type="single",
        prompt=prompt, answer=(keys[methods.index(best)],), choices=choices,
        explanation="Computed from your results table (mean over seeds)." + judged,
    )


def best_method(records: Iterable[Record], chapter: str = "results",
                experiment: str = "") -> list[Question]:
    """Which method had the highest mean test accuracy with k labels per class on a dataset."""
    recs = _usable(records, "dataset", "method", "labels_per_class", "test_accuracy")
    out = []
    for (dataset, k), values in _means(recs, "test_accuracy").items():
        best = _unique_extreme(values, highest=True)
        if best is None:
            continue
        runner_up = sorted(values, key=lambda m: values[m][0])[-2]
        at = {"dataset": dataset, "labels_per_class": k}
        out.append(_choice_question(
            _qid("best", chapter, experiment, (dataset, k), values),
            f"In your run on {dataset} with {_per_class(k)}, which method reached the "
            "highest mean test accuracy?",
            values, best, lambda a: f"{100 * a:.1f}% test accuracy", chapter,
            _judged(recs, {**at, "method": best}, {**at, "method": runner_up},
                    (best, runner_up))))
    return out[-MAX_PER_TEMPLATE:]


def fastest_method(records: Iterable[Record], chapter: str = "results",
                   experiment: str = "") -> list[Question]:
    """Which method took the least wall time with k labels per class on a dataset."""
    recs = _usable(records, "dataset", "method", "labels_per_class", "seconds")
    out = []
    for (dataset, k), values in _means(recs, "seconds").items():
        fastest = _unique_extreme(values, highest=False)
        if fastest is None:
            continue
        out.append(_choice_question(
            _qid("fastest", chapter, experiment, (dataset, k), values),
            f"In your run on {dataset} with {_per_class(k)}, which method was fastest "
            "(least mean wall time)?",
            values, fastest, lambda s: f"{s:.2f} s", chapter))
    return out[-MAX_PER_TEMPLATE:]


def gap_points(records: Iterable[Record], chapter: str = "results",
               experiment: str = "") -> list[Question]:
    """By how many accuracy points did the best method beat the worst (numeric, ±1 point)."""
    recs = _usable(records, "dataset", "method", "labels_per_class", "test_accuracy")
    out = []
    for (dataset, k), values in _means(recs, "test_accuracy").items():
        best = _unique_extreme(values, highest=True)
        worst = _unique_extreme(values, highest=False)
        if best is None or worst is None:
            continue
        gap = round(100 * (values[best][0] - values[worst][0]), 1)
        out.append(Question(
            id=_qid("gap", chapter, experiment, (dataset, k), values), chapter=chapter,
            topic=_TOPIC, kind=_KIND,
            difficulty="hard", type="numeric",
            prompt=(f"In your run on {dataset} with {_per_class(k)}, by how many "
                    f"percentage points did {best} beat {worst} (mean test accuracy)?"),
            answer=gap, tolerance=1.0, unit="points",
            explanation=(f"{best}: {100 * values[best][0]:.1f}%, {worst}: "
                         f"{100 * values[worst][0]:.1f}%, so the gap is {gap:.1f} points "
                         "(means over seeds, from your results table)."
                         + _judged(recs, {"dataset": dataset, "labels_per_class": k,
                                          "method": best},
                                   {"dataset": dataset, "labels_per_class": k, "method": worst},
                                   (best, worst))),
        ))
    return out[-MAX_PER_TEMPLATE:]


def more_labels_help(records: Iterable[Record], chapter: str = "results",
                     experiment: str = "") -> list[Question]:
    """True/false: did a method's accuracy rise from the fewest to the most labels per class."""
    recs = _usable(records, "dataset", "method", "labels_per_class", "test_accuracy")
    per: dict[tuple[str, str], dict[Any, float]] = defaultdict(dict)
    for (dataset, k), values in _means(recs, "test_accuracy").items():
        for m, (acc, _) in values.items():
            per[(dataset, m)][k] = acc
    out = []
    for (dataset, method), by_k in sorted(per.items()):
        try:
            ks = sorted(by_k, key=float)
        except (TypeError, ValueError):
            continue
        if len(ks) < 2 or abs(by_k[ks[-1]] - by_k[ks[0]]) < 1e-9:
            continue
        lo, hi, rose = by_k[ks[0]], by_k[ks[-1]], by_k[ks[-1]] > by_k[ks[0]]
        fact = (f"In your run {method} on {dataset} went from {100 * lo:.1f}% with {ks[0]} "
                f"to {100 * hi:.1f}% with {_per_class(ks[-1])}.")
        arm = {"dataset": dataset, "method": method}
        judged = _judged(recs, {**arm, "labels_per_class": ks[-1]},
                         {**arm, "labels_per_class": ks[0]},
                         (_per_class(ks[-1]), _per_class(ks[0])))
        out.append(Question(
            id=_qid("trend", chapter, experiment, (dataset, method, ks[0], ks[-1]), [method]),
            chapter=chapter, topic=_TOPIC, kind=_KIND,
            difficulty="easy", type="truefalse",
            prompt=(f"True or false: in your run, {method} on {dataset} was more accurate with "
                    f"{_per_class(ks[-1])} than with {ks[0]}."),
            answer=("T" if rose else "F",),
            choices=(Choice("T", "True", fact), Choice("F", "False", fact)),
            explanation=fact + judged,
        ))
    return out[:MAX_PER_TEMPLATE]


TEMPLATES: dict[str, Callable[..., list[Question]]] = {
    "best_method": best_method,
    "fastest_method": fastest_method,
    "gap_points": gap_points,
    "more_labels_help": more_labels_help,
}


def grounded_questions(
    records: Iterable[Record] | None,
    templates: Iterable[Mapping[str, Any]] | None = None,
    chapter: str = "results",
    experiment: str | None = None,
) -> list[Question]:
    """Generate questions from ``records`` with the given templates (all when None).

    Args:
        records: Result records (dicts); ``None`` or ``[]`` gives no questions.
        templates: ``[{"template": name, <record key>: <required value>, ...}]``.
        chapter: Chapter stored on the generated questions and named in their ids.
        experiment: The experiment the records come from, named in the ids (default: the
            records' own ``experiment`` keys, if any). Two notebooks of one chapter that run
            different experiments should pass it.

    Example:
        >>> grounded_questions([])
        []
    """
    if not records:
        return []
    records = list(records)
    specs = list(templates) if templates is not None else [{"template": t} for t in TEMPLATES]
    out: list[Question] = []
    seen: set[str] = set()
    for spec in specs:
        filters = {k: v for k, v in spec.items() if k != "template"}
        chosen = [r for r in records
                  if isinstance(r, Mapping) and all(r.get(k) == v for k, v in filters.items())]
        source = experiment if experiment is not None else _experiment_of(chosen)
        for q in TEMPLATES[spec["template"]](chosen, chapter=chapter, experiment=source):
            if q.id not in seen:
                seen.add(q.id)
                out.append(q)
    return out
