"""What a quiz is made of: a question, its choices, a bank, and the error for a bad bank.

The types only: loading and validating a bank's YAML is :mod:`tlcourse.quiz.bank`, grading an
answer is :mod:`tlcourse.quiz.grading`, questions generated from a learner's run are
:mod:`tlcourse.quiz.grounded`. Each imports these types from here, so none needs another
module just to describe a question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TlcourseError


class BankError(TlcourseError, ValueError):
    """A bank failed validation; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Choice:
    """One option of a question.

    Attributes:
        key: What the learner types: ``A``..``F`` for choices, ``T``/``F``, ``1``..``n`` for
            ordering items.
        text: What the learner reads.
        why: Why this option is right or wrong (or, for ordering, why the item sits where it
            does). Shown whenever the learner picks it, right or wrong.
    """

    key: str
    text: str
    why: str


@dataclass(frozen=True)
class WrongValue:
    """A tempting wrong number for a numeric question, with why it is tempting."""

    value: float
    why: str


@dataclass(frozen=True)
class Question:
    """One validated question.

    ``answer`` is normalised: a tuple of choice keys (one key for single/truefalse, a sorted
    set for multiple, the correct sequence for ordering) or a float for numeric questions.
    """

    id: str
    chapter: str
    topic: str
    difficulty: str
    type: str
    prompt: str
    answer: tuple[str, ...] | float
    choices: tuple[Choice, ...] = ()
    tolerance: float = 0.0
    unit: str = ""
    explanation: str = ""
    objective: str = ""
    common_wrong: tuple[WrongValue, ...] = ()
    misconceptions: tuple[str, ...] = ()
    claims: tuple[int, ...] = ()
    group: str = ""  # near-duplicates share a group; a drill shows at most one of them
    kind: str = ""  # recall, application, prediction or interpretation (see quizzes/README.md)

    def choice(self, key: str) -> Choice:
        """Return the choice with ``key`` (KeyError listing the valid keys otherwise)."""
        for c in self.choices:
            if c.key == key:
                return c
        raise KeyError(f"{self.id}: no choice {key!r}; valid: {[c.key for c in self.choices]}")


@dataclass(frozen=True)
class Bank:
    """A validated bank: one chapter's (or the exam's) questions plus its metadata."""

    chapter: str
    title: str
    topics: dict[str, str]
    questions: tuple[Question, ...]
    path: Path | None = None
    drill_weights: dict[str, float] = field(default_factory=dict)
    grounded: tuple[dict[str, Any], ...] | None = None

    def question(self, question_id: str) -> Question:
        """Return the question with ``question_id``."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"{self.chapter}: no question {question_id!r}")


def prompt_blocks(prompt: str) -> list[tuple[bool, str]]:
    """A prompt's paragraphs (split on blank lines) as ``(preformatted, text)``.

    A paragraph whose every line starts with four spaces is preformatted (a table of the
    learner's results): shown as it is, in monospace, never re-wrapped. Other paragraphs are
    prose, to wrap.

    Example:
        >>> prompt_blocks("Your run.\\n\\n    a  1\\n    b  2\\n\\nWhich?")
        [(False, 'Your run.'), (True, '    a  1\\n    b  2'), (False, 'Which?')]
    """
    out = []
    for block in prompt.split("\n\n"):
        lines = block.split("\n")
        pre = all(line.startswith("    ") for line in lines) and block.strip() != ""
        out.append((pre, block.rstrip() if pre else block))
    return out
