"""Timed mock exams: draw questions by topic weight, favour what the learner missed, report.

Drawing: each topic gets a share of the ``count`` questions proportional to its weight
(largest-remainder rounding, equal remainders ordered by ``seed``; a topic with too few
questions passes its surplus on). Within a topic, questions come in Leitner order: missed
last time (box 1) first, then never seen, then the others that are due, then the rest,
shuffled within each group by ``seed``; of near-duplicates (items sharing a bank ``group``)
an exam holds at most one. At least a quarter of the exam (``reasoning_share``) are
prediction or interpretation items: when the draw has fewer, the least due recall and
application items give way to them, the learner's own results (grounded items) first. The choices of each question are shuffled too
(:mod:`tlcourse.quiz.shuffle`), from the same seed: the learner answers in the letters
displayed, and the report reviews the questions as displayed.

Example:
    >>> from tlcourse.quiz.bank import load_banks
    >>> pool = [q for b in load_banks() for q in b.questions]
    >>> exam = MockExam(pool, ExamConfig(count=5, seed=1, time_limit=None))
    >>> len(exam.questions)
    5
    >>> report = exam.finish()
    >>> report.correct, report.total
    (0, 5)
"""

from __future__ import annotations

import random
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from tlcourse.quiz.bank import Question
from tlcourse.quiz.grading import Grade, Response, answer_feedback, answer_text, counted
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.question import prompt_blocks
from tlcourse.quiz.shuffle import Shown, new_seed, show_question


@dataclass(frozen=True)
class ExamConfig:
    """How a mock exam is drawn and timed."""

    count: int = 20  # questions in the exam
    time_limit: float | None = 20 * 60.0  # seconds; None = untimed
    topics: tuple[str, ...] | None = None  # only these topics (None = all)
    weights: Mapping[str, float] = field(default_factory=dict)  # topic -> weight (default 1)
    seed: int | None = None  # same seed + same progress = same exam (questions and letters)
    # Share of questions to pass. A rough target only: AI-900 reports a scaled score and passes
    # at 700 of 1,000, which is not 70 % of the questions correct.
    pass_mark: float = 0.7
    # At least this share of the exam asks for a prediction or an interpretation (the learner's
    # own results first, when the pool holds them), not only recall and application.
    reasoning_share: float = 0.25


#: Item kinds that ask the learner to foresee or read a result.
REASONING_KINDS = ("prediction", "interpretation")


@dataclass(frozen=True)
class TopicScore:
    """Score on one topic."""

    topic: str
    asked: int
    correct: int

    @property
    def percent(self) -> float:
        """Percent correct (0 when nothing was asked)."""
        return 100.0 * self.correct / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Missed:
    """A question answered wrongly or not at all, for the review."""

    question: Question
    answer: str | None  # the learner's answer in text form; None = unanswered


@dataclass(frozen=True)
class ExamReport:
    """Per-topic scores, the total, the time taken and the questions to review."""

    topics: tuple[TopicScore, ...]
    correct: int
    total: int
    elapsed: float
    timed_out: bool
    pass_mark: float
    missed: tuple[Missed, ...]

    @property
    def percent(self) -> float:
        """Overall percent correct; unanswered questions count as wrong."""
        return 100.0 * self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        """Whether the score reaches the pass mark."""
        return self.total > 0 and self.correct >= self.pass_mark * self.total - 1e-9

    def render(self, review: bool = True) -> str:
        """The report as text: a topic table, the verdict, and the review of missed questions."""
        width = max([len(t.topic) for t in self.topics] + [5])
        lines = ["", "Exam report", "-----------",
                 f"{'topic':<{width}}  correct  asked      %"]
        for t in self.topics:
            lines.append(f"{t.topic:<{width}}  {t.correct:>7}  {t.asked:>5}  {t.percent:5.1f}")
        lines.append(f"{'TOTAL':<{width}}  {self.correct:>7}  {self.total:>5}  {self.percent:5.1f}")
        verdict = "PASS" if self.passed else "not yet a pass"
        lines.append(f"\n{verdict} (pass mark {100 * self.pass_mark:.0f}% correct), "
                     f"time {self.elapsed / 60:.1f} min" + (", time ran out" if self.timed_out
                                                              else ""))
        if review and self.missed:
            lines += ["", "Review of missed questions", "--------------------------"]
            for i, m in enumerate(self.missed, 1):
                lines += _review_lines(i, m)
        return "\n".join(lines)


#: Characters per line of the review: fits a terminal and the exam widget at a common width.
REVIEW_WIDTH = 88


def _wrap(text: str, indent: str, hang: str) -> list[str]:
    """``text`` in lines of at most REVIEW_WIDTH, broken between words only (hyphens too)."""
    return textwrap.wrap(text, REVIEW_WIDTH, initial_indent=indent, subsequent_indent=hang,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _review_lines(number: int, m: Missed) -> list[str]:
    q = m.question
    given = "no answer" if m.answer is None else f"you answered {m.answer}"
    right = (f"{float(q.answer):g}" if q.type == "numeric"  # type: ignore[arg-type]
             else ("-" if q.type == "ordering" else "").join(q.answer))  # type: ignore[arg-type]
    lines: list[str] = []
    for pre, block in prompt_blocks(f"{number}. [{q.topic}] {q.prompt}"):
        lines += block.split("\n") if pre else _wrap(block, "" if not lines else "   ", "   ")
    lines += _wrap(f"{given}; correct: {right}", "   ", "   ")
    for f in answer_feedback(q):
        mark = "+" if f.correct else "-"
        lines += _wrap(f"{mark} {f.key}) {f.text}", "   ", "      ")
        lines += _wrap(f.why, "        ", "        ")
    return lines


def allocate(count: int, available: Mapping[str, int], weights: Mapping[str, float],
             rng: random.Random) -> dict[str, int]:
    """Split ``count`` questions over topics by weight, never exceeding what a topic has.

    Leftover seats go to the largest remainders; equal remainders are ordered by ``rng`` (the
    drill's seeded generator). Ordering them by name instead gave the seats of every short
    drill to the same few topics: in 200 ten-question drills, 20 of 30 topics never came up.

    Example:
        >>> allocate(10, {"a": 50, "b": 50, "c": 2}, {"a": 3, "b": 1, "c": 1}, random.Random(0))
        {'a': 6, 'b': 2, 'c': 2}
    """
    quota = {t: 0 for t in available}
    remaining = min(count, sum(available.values()))
    open_topics = [t for t in available if available[t] > 0 and weights.get(t, 1.0) > 0]
    while remaining > 0 and open_topics:
        total_w = sum(weights.get(t, 1.0) for t in open_topics)
        exact = {t: remaining * weights.get(t, 1.0) / total_w for t in open_topics}
        share = {t: int(exact[t]) for t in open_topics}
        left = remaining - sum(share.values())
        # Rounded so that remainders equal on paper tie; one draw per topic, in name order,
        # so the same seed gives the same exam.
        draw_of = {t: rng.random() for t in sorted(open_topics)}
        for t in sorted(open_topics, key=lambda t: (-round(exact[t] - share[t], 9), draw_of[t])
                        )[:left]:
            share[t] += 1
        for t in open_topics:
            take = min(share[t], available[t] - quota[t])
            quota[t] += take
            remaining -= take
        open_topics = [t for t in open_topics if quota[t] < available[t]]
    return {t: n for t, n in quota.items() if n}


def draw(
    pool: list[Question],
    config: ExamConfig,
    boxes: Mapping[str, int] | None = None,
    due: Mapping[str, int] | None = None,
) -> list[Question]:
    """Pick the exam's questions from ``pool`` (see the module docstring for the order).

    Raises:
        ValueError: If ``config.topics`` names a topic no question has (lists the valid ones).
    """
    by_topic: dict[str, list[Question]] = defaultdict(list)
    for q in pool:
        by_topic[q.topic].append(q)
    if config.topics:
        unknown = sorted(set(config.topics) - set(by_topic))
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; available: {sorted(by_topic)}")
        by_topic = defaultdict(list, {t: by_topic[t] for t in config.topics})
    rng = random.Random(config.seed)
    boxes, due = boxes or {}, due or {}

    def priority(q: Question) -> int:
        box = boxes.get(q.id, 0)
        if box == 1:
            return 0  # missed: back first
        if box == 0:
            return 1  # never seen
        return 2 if q.id in due else 3

    quota = allocate(config.count, {t: len(qs) for t, qs in sorted(by_topic.items())},
                     config.weights, rng)
    chosen: list[Question] = []
    groups: set[str] = set()  # near-duplicates (a bank's `group`): at most one per exam
    for topic, n in quota.items():
        qs = sorted(by_topic[topic], key=lambda q: q.id)
        rng.shuffle(qs)
        for q in sorted(qs, key=priority):
            if n and not (q.group and q.group in groups):
                chosen.append(q)
                groups.add(q.group)
                n -= 1
    short = sum(quota.values()) - len(chosen)  # a topic lost seats to a near-duplicate
    spare = [q for t in sorted(by_topic) for q in sorted(by_topic[t], key=lambda q: q.id)
             if q not in chosen and not (q.group and q.group in groups)]
    rng.shuffle(spare)
    for q in sorted(spare, key=priority)[:short]:
        if not (q.group and q.group in groups):
            chosen.append(q)
            groups.add(q.group)
    _ensure_reasoning(chosen, [q for t in sorted(by_topic) for q in by_topic[t]], groups,
                      config.reasoning_share, rng, priority)
    rng.shuffle(chosen)
    return chosen


def _ensure_reasoning(chosen: list[Question], pool: list[Question], groups: set[str],
                      share: float, rng: random.Random, priority: Callable[[Question], int]
                      ) -> None:
    """Swap recall/application items for prediction/interpretation ones until ``share`` is met.

    The learner's own results (topic ``your-results``) come first, then written items in
    Leitner order; the items given up are the least due ones. Changes ``chosen`` in place.
    """
    need = -int(-(share * len(chosen) - 1e-9) // 1) - sum(q.kind in REASONING_KINDS
                                                          for q in chosen)
    if need <= 0:
        return
    spare = sorted((q for q in pool if q.kind in REASONING_KINDS and q not in chosen),
                   key=lambda q: q.id)
    rng.shuffle(spare)
    spare.sort(key=lambda q: (q.topic != "your-results", priority(q)))
    givers = sorted((q for q in chosen if q.kind not in REASONING_KINDS), key=priority,
                    reverse=True)
    for q in spare:
        if need <= 0 or not givers:
            break
        if q.group and q.group in groups:
            continue
        out = givers.pop(0)
        chosen[chosen.index(out)] = q
        groups.discard(out.group)
        groups.add(q.group)
        need -= 1


class MockExam:
    """A timed exam: answer questions in order, then :meth:`finish` for the report.

    ``questions`` are the bank's questions as drawn; ``shown`` holds, in the same order, how
    each is displayed (choices shuffled and relabelled). Answers are given in displayed letters.

    Args:
        pool: Questions to draw from.
        config: Count, time limit, topics, weights, seed (None: a random seed, then kept in
            ``config.seed`` so the exam can be repeated).
        store: Progress store; answers and Leitner moves are committed one by one. ``None``
            keeps nothing and draws without spaced-review priorities.
        clock: Seconds-since-something function (tests pass a fake one).

    Example:
        >>> from tlcourse.quiz.bank import load_bank
        >>> exam = MockExam(list(load_bank("ch01").questions), ExamConfig(count=2, seed=0))
        >>> shown = exam.shown[0]
        >>> exam.answer(shown.bank.id, shown.question.answer).correct
        True
    """

    def __init__(self, pool: list[Question], config: ExamConfig | None = None,
                 store: ProgressStore | None = None, clock: Callable[[], float] = time.monotonic,
                 bank_of: Mapping[str, str] | None = None,
                 store_factory: Callable[[], ProgressStore] | None = None):
        config = config or ExamConfig()
        self.seed: int = new_seed() if config.seed is None else config.seed
        self.config = replace(config, seed=self.seed)
        self.store, self._clock, self._store_factory = store, clock, store_factory
        self._bank_of = dict(bank_of or {})
        boxes = store.boxes() if store else {}
        due = store.due() if store else {}
        self.questions = draw(pool, self.config, boxes, due)
        self.shown: list[Shown] = [show_question(q, self.seed) for q in self.questions]
        self.grades: dict[str, Grade] = {}
        self.started = clock()
        self._ended: float | None = None
        self._session: int | None = None  # started at the first answer: showing writes nothing

    def view(self, question_id: str) -> Shown:
        """How ``question_id`` is displayed in this exam."""
        return next(s for s in self.shown if s.bank.id == question_id)

    def _record(self, shown: Shown, g: Grade) -> None:
        if self.store is None and self._store_factory is not None:
            self.store, self._store_factory = self._store_factory(), None
        if self.store is None:
            return
        if self._session is None:
            self._session = self.store.start_session("drill", self._label())
        q = shown.bank
        displayed, in_bank_keys = shown.answer_texts(g.response)
        self.store.record_answer(self._bank_of.get(q.id, q.chapter), q.id, in_bank_keys,
                                 g.correct, session_id=self._session, shown_answer=displayed,
                                 shown_order=shown.order_text)
        self.store.update_session(self._session, self._correct(), len(self.questions))

    def _label(self) -> str:
        topics = ",".join(self.config.topics) if self.config.topics else "all topics"
        return f"{counted(self.config.count, 'question')}, {topics}, seed={self.config.seed}"

    def time_left(self) -> float | None:
        """Seconds left (None if untimed); never negative."""
        if self.config.time_limit is None:
            return None
        return max(0.0, self.config.time_limit - (self._clock() - self.started))

    @property
    def over(self) -> bool:
        """True once finished or out of time."""
        left = self.time_left()
        return self._ended is not None or (left is not None and left <= 0)

    def answer(self, question_id: str, response: Response) -> Grade | None:
        """Grade and record one answer; ``None`` (not counted) if the time is up.

        ``response`` is in the displayed letters (see :meth:`view`); it is mapped back to the
        bank's keys and graded against the bank's answer. The first answer to a question
        counts; answering it again returns the first grade.

        Raises:
            ProgressStoreError: If saving fails. The answer is graded first and counts all the
                same: its grade is in ``self.grades``.
        """
        if self.over:
            return None
        if question_id in self.grades:
            return self.grades[question_id]
        shown = self.view(question_id)
        g = shown.grade(response)
        self.grades[question_id] = g
        self._record(shown, g)
        return g

    def _correct(self) -> int:
        return sum(g.correct for g in self.grades.values())

    def finish(self) -> ExamReport:
        """End the exam (idempotent) and build the report.

        Raises:
            ProgressStoreError: If the final score cannot be saved. The exam has ended all the
                same, so calling ``finish()`` again returns the report without writing.
        """
        timed_out = self.time_left() == 0.0 and len(self.grades) < len(self.questions)
        if self._ended is None:
            self._ended = self._clock()  # first, so a failed save below still ends the exam
            if self.store is not None and self._session is not None:
                self.store.update_session(self._session, self._correct(), len(self.questions),
                                          finished=True)
        return build_report([s.question for s in self.shown], self.grades,
                            self._ended - self.started, self.config.pass_mark, timed_out)


def load_pool(banks: list[str] | None = None) -> tuple[list[Question], dict[str, str],
                                                      dict[str, float]]:
    """Questions of the given banks (all by default), each id's bank, and the topic weights.

    Example:
        >>> pool, bank_of, weights = load_pool(["exam"])
        >>> weights["azure"] > 1
        True
    """
    from tlcourse.quiz.bank import load_banks

    loaded = load_banks(banks)
    pool = [q for b in loaded for q in b.questions]
    bank_of = {q.id: b.chapter for b in loaded for q in b.questions}
    weights = {t: w for b in loaded for t, w in b.drill_weights.items()}
    return pool, bank_of, weights


def build_report(questions: list[Question], grades: Mapping[str, Grade], elapsed: float,
                 pass_mark: float = 0.7, timed_out: bool = False) -> ExamReport:
    """Score ``grades`` against ``questions``; unanswered questions count as wrong.

    ``questions`` are as displayed, so the review shows the letters the learner saw.

    Example:
        >>> build_report([], {}, 0.0).total
        0
    """
    asked: dict[str, int] = defaultdict(int)
    right: dict[str, int] = defaultdict(int)
    missed = []
    for q in questions:
        asked[q.topic] += 1
        g = grades.get(q.id)
        if g is not None and g.correct:
            right[q.topic] += 1
        else:
            missed.append(Missed(q, None if g is None else answer_text(q, g.response)))
    topics = tuple(TopicScore(t, asked[t], right[t]) for t in sorted(asked))
    return ExamReport(topics, sum(right.values()), len(questions), elapsed, timed_out,
                      pass_mark, tuple(missed))
