"""Reading a learner's answer and grading it, with the explanation of what they chose.

Answers have one text form everywhere (terminal, ``--answers``, the progress store):
``B`` (single), ``AC`` (multiple), ``T``/``F`` (true/false), ``3.5`` (numeric),
``2-1-3-4-5`` (ordering: item keys in the order the learner puts them).

Numbers may group thousands (``8,967``, ``1,234,567``, ``20 490``, ``1.234.567``) or use a
decimal comma (``3,5``, ``1.234,5``). A single comma before exactly three digits (``1,500``)
is either; see :func:`parse_answer` for how that is settled.

Example:
    >>> from tlcourse.quiz.bank import load_bank
    >>> q = load_bank("ch01").questions[0]
    >>> g = grade(q, parse_answer(q, answer_text(q, q.answer)))
    >>> g.correct
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tlcourse.quiz.question import Question

#: A parsed answer: choice keys in the learner's order, or a number.
Response = tuple[str, ...] | float

_TRUE_WORDS = {"T", "TRUE", "Y", "YES"}
_FALSE_WORDS = {"F", "FALSE", "N", "NO"}

# No-break and thin spaces, as word processors and some keyboards write between thousands.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
#: Thousands separator -> a number grouped by it (with the other mark as decimal point).
_GROUPED = {
    ",": re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?"),
    " ": re.compile(r"[+-]?[1-9]\d{0,2}(?: \d{3})+(?:[.,]\d+)?"),
    ".": re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?"),
}
#: A number written with comma thousands, as in "1,000 classes".
_COMMA_THOUSANDS = re.compile(r"\d,\d{3}(?!\d)")


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



def counted(n: object, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for one: "1 question", "3 questions".

    Example:
        >>> counted(1, "question"), counted(3, "answer"), counted(1, "label per class",
        ...                                                         "labels per class")
        ('1 question', '3 answers', '1 label per class')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

def parse_answer(question: Question, text: str) -> Response:
    """Parse the text form of an answer for ``question``.

    Numbers accept thousands separators and decimal commas (see the module docstring). A
    single comma before exactly three digits, as in ``1,500``, reads as thousands when the
    question itself writes numbers that way (``8,967`` in its explanation); otherwise, if
    ``1500`` and ``1.5`` would grade differently, the learner is asked which they meant.

    Raises:
        ValueError: With a message saying what form is expected, or which of two readings
            of an ambiguous number to write.

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
        return _parse_number(question, raw)
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


def _parse_number(question: Question, raw: str) -> float:
    """The numeric answer ``raw``; see :func:`parse_answer`."""
    text = raw.translate(_SPACES)
    thousands, plain = _thousands_reading(text), _plain_reading(text)
    if thousands is None and plain is None:
        raise ValueError(f"expected a number, e.g. 3.5, got {raw!r}")
    if thousands is None or plain is None or thousands == plain:
        value = plain if thousands is None else thousands
    else:
        value = _settle(question, raw, thousands, plain)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {raw!r}")
    return value


def _thousands_reading(text: str) -> float | None:
    """``text`` read with grouped thousands ("1,234,567", "20 490"), or None."""
    for sep, pattern in _GROUPED.items():
        # One dot group ("8.967") is an ordinary decimal point, not a thousands separator.
        if sep == "." and text.count(".") < 2 and "," not in text:
            continue
        if pattern.fullmatch(text):
            return float(text.replace(sep, "").replace(",", "."))
    return None


def _plain_reading(text: str) -> float | None:
    """``text`` as a plain number, a comma read as the decimal point ("3,5"), or None."""
    if text.count(",") > 1 or ("," in text and "." in text):
        return None  # several marks: only a grouped reading can make sense of them
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _settle(question: Question, raw: str, thousands: float, decimal: float) -> float:
    """Choose between the two readings of e.g. "1,500", or ask which one is meant."""
    own_text = " ".join([question.prompt, question.explanation,
                         *(w.why for w in question.common_wrong)])
    if _COMMA_THOUSANDS.search(own_text):
        return thousands  # the question writes "8,967" for thousands: so does the learner
    if is_correct(question, thousands) != is_correct(question, decimal):
        raise ValueError(f"{raw!r} is ambiguous: write {_plain_number(thousands)} or "
                         f"{_plain_number(decimal)}")
    # The same verdict either way: the reading nearer the answer gets the fitting feedback.
    return min((thousands, decimal), key=lambda v: abs(v - float(question.answer)))  # type: ignore[arg-type]


def _plain_number(value: float) -> str:
    """``value`` without exponent or grouping, as the learner should type it."""
    return str(int(value)) if value.is_integer() else repr(value)


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
