"""Reading a learner's answer and grading it, with the explanation of what they chose.

Answers have one text form everywhere (terminal, ``--answers``, the progress store):
``B`` (single), ``AC`` (multiple), ``T``/``F`` (true/false), ``3.5`` (numeric),
``2-1-3-4-5`` (ordering: item keys in the order the learner puts them).

Example:
    >>> from tlcourse.quiz.bank import load_bank
    >>> q = load_bank("ch01").questions[0]
    >>> g = grade(q, parse_answer(q, answer_text(q, q.answer)))
    >>> g.correct
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tlcourse.quiz.bank import Question

#: A parsed answer: choice keys in the learner's order, or a number.
Response = tuple[str, ...] | float

_TRUE_WORDS = {"T", "TRUE", "Y", "YES"}
_FALSE_WORDS = {"F", "FALSE", "N", "NO"}


@dataclass(frozen=True)
class Feedback:
    """One line of feedback: an option, whether it was chosen / is correct, and why."""

    key: str
    text: str
    chosen: bool
    correct: bool
    why: str


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer.

    Attributes:
        correct: Whether the answer is right (exam-style, all or nothing).
        response: The parsed answer that was graded.
        feedback: Explanations of the options the learner chose (for ordering: of the items
            they misplaced; for numeric: the question's explanation and any matching
            tempting wrong value).
    """

    correct: bool
    response: Response
    feedback: tuple[Feedback, ...]

    @property
    def score(self) -> float:
        """1.0 when correct, else 0.0."""
        return 1.0 if self.correct else 0.0


def parse_answer(question: Question, text: str) -> Response:
    """Parse the text form of an answer for ``question``.

    Raises:
        ValueError: With a message saying what form is expected.

    Example:
        >>> from tlcourse.quiz.bank import Question, Choice
        >>> q = Question("x", "ch", "t", "easy", "multiple", "?", ("A", "C"),
        ...              (Choice("A", "a", "."), Choice("B", "b", "."), Choice("C", "c", ".")))
        >>> parse_answer(q, "ca")
        ('A', 'C')
    """
    raw = text.strip()
    keys = [c.key for c in question.choices]
    if question.type == "numeric":
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise ValueError(f"expected a number, e.g. 3.5, got {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {raw!r}")
        return value
    upper = raw.upper()
    if question.type == "truefalse":
        if upper in _TRUE_WORDS:
            return ("T",)
        if upper in _FALSE_WORDS:
            return ("F",)
        raise ValueError(f"expected T or F, got {raw!r}")
    if question.type == "ordering":
        parts = [p.strip() for p in upper.replace(",", "-").replace(" ", "-").split("-") if p]
        if sorted(parts) != sorted(keys):
            raise ValueError(f"expected every item once, e.g. {'-'.join(keys)}, got {raw!r}")
        return tuple(parts)
    letters = [ch for ch in upper if ch not in " ,;"]
    unknown = [ch for ch in letters if ch not in keys]
    if unknown or not letters:
        raise ValueError(f"expected one of {', '.join(keys)}, got {raw!r}")
    if question.type == "single":
        if len(letters) != 1:
            raise ValueError(f"pick exactly one of {', '.join(keys)}, got {raw!r}")
        return (letters[0],)
    return tuple(sorted(set(letters)))


def answer_text(question: Question, response: Response) -> str:
    """The text form of a response (inverse of :func:`parse_answer`)."""
    if question.type == "numeric":
        return f"{float(response):g}"  # type: ignore[arg-type]
    joiner = "-" if question.type == "ordering" else ""
    return joiner.join(response)  # type: ignore[arg-type]


def is_correct(question: Question, response: Response) -> bool:
    """Whether ``response`` answers ``question`` correctly."""
    if question.type == "numeric":
        # A small epsilon so that 0.1 + 0.2 style rounding never fails an exact answer.
        return abs(float(response) - float(question.answer)) <= question.tolerance + 1e-9  # type: ignore[arg-type]
    if question.type == "multiple":
        return tuple(sorted(set(response))) == question.answer  # type: ignore[arg-type]
    return tuple(response) == question.answer  # type: ignore[arg-type]


def grade(question: Question, response: Response) -> Grade:
    """Grade ``response`` and collect the explanations the learner should see now.

    Example:
        >>> from tlcourse.quiz.bank import load_bank
        >>> q = next(q for q in load_bank("ch01").questions if q.type == "single")
        >>> wrong = next(c.key for c in q.choices if (c.key,) != q.answer)
        >>> g = grade(q, (wrong,))
        >>> g.correct, g.feedback[0].key == wrong
        (False, True)
    """
    correct = is_correct(question, response)
    return Grade(correct, response, _feedback(question, response, correct))


def answer_feedback(question: Question) -> tuple[Feedback, ...]:
    """Every option with its explanation and whether it is correct (for reviews)."""
    if question.type == "numeric":
        unit = f" {question.unit}" if question.unit else ""
        text = f"{float(question.answer):g}{unit} (± {question.tolerance:g})"  # type: ignore[arg-type]
        return (Feedback("=", text, False, True, question.explanation),)
    if question.type == "ordering":
        pos = {k: i for i, k in enumerate(question.answer)}  # type: ignore[arg-type]
        items = sorted(question.choices, key=lambda c: pos[c.key])
        return tuple(Feedback(c.key, c.text, False, True, c.why) for c in items)
    return tuple(
        Feedback(c.key, c.text, False, c.key in question.answer, c.why)  # type: ignore[operator]
        for c in question.choices
    )


def _feedback(question: Question, response: Response, correct: bool) -> tuple[Feedback, ...]:
    if question.type == "numeric":
        value = float(response)  # type: ignore[arg-type]
        lines = [
            Feedback("=", f"{w.value:g}", True, False, w.why)
            for w in question.common_wrong
            if not correct and abs(value - w.value) <= max(question.tolerance, 1e-9)
        ]
        if correct:
            lines.append(Feedback("=", f"{value:g}", True, True, question.explanation))
        elif not lines:
            direction = "too high" if value > float(question.answer) else "too low"  # type: ignore[arg-type]
            lines.append(Feedback("=", f"{value:g}", True, False, f"Not quite: {direction}."))
        return tuple(lines)
    if question.type == "ordering":
        if correct:
            return answer_feedback(question)
        # Explain only the misplaced items: their reasons say where they belong.
        return tuple(
            Feedback(k, question.choice(k).text, True, False, question.choice(k).why)
            for k, right in zip(response, question.answer)  # type: ignore[arg-type]
            if k != right
        )
    chosen = set(response)  # type: ignore[arg-type]
    return tuple(
        Feedback(c.key, c.text, True, c.key in question.answer, c.why)  # type: ignore[operator]
        for c in question.choices
        if c.key in chosen
    )
