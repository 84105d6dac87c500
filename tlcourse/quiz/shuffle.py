"""Shuffled display of a question: the learner's letters in, the bank's keys out.

A bank stores its choices in a fixed order (and, often, with the correct one first); showing
them that way lets a learner pass by position. So every time a single, multiple or ordering
item is shown, its choices are put in a random order and relabelled by position: ``A, B, C…``
(``1, 2, 3…`` for ordering items). True/false keeps ``T``/``F`` and numeric items have no
choices; both are shown as they are.

The order comes from a per-item random generator seeded with ``(seed, item id, attempt)``, so
the same drill seed shows the same letters, in any process, while each item and each retry
gets its own order. The learner answers in displayed letters; :meth:`Shown.grade` maps the
answer back to the bank's keys and grades it against the bank's own answer.

Example:
    >>> from tlcourse.quiz.bank import Choice, Question
    >>> q = Question("x", "ch", "t", "easy", "single", "?", ("A",),
    ...              (Choice("A", "right", "."), Choice("B", "wrong", "."), Choice("C", "no", ".")))
    >>> shown = show_question(q, seed=1)
    >>> [c.text for c in shown.question.choices]
    ['wrong', 'right', 'no']
    >>> shown.to_bank(("B",)), shown.grade(("B",)).correct
    (('A',), True)
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from tlcourse.quiz.bank import Choice, Question
from tlcourse.quiz.grading import Grade, Response, answer_text, grade

#: Item types whose choices are shuffled; the others are shown as stored.
SHUFFLED_TYPES = ("single", "multiple", "ordering")


def new_seed() -> int:
    """A fresh random seed, for a sitting the learner did not seed."""
    return secrets.randbits(32)


def item_rng(seed: int, question_id: str, attempt: int = 0) -> random.Random:
    """The generator for one showing of one item.

    A string seed is hashed with SHA-512 by :class:`random.Random`, so the order is the same
    in every process (unlike ``hash()``).
    """
    return random.Random(f"{seed}:{question_id}:{attempt}")


@dataclass(frozen=True)
class Shown:
    """A question as the learner sees it.

    Attributes:
        bank: The question as stored in the bank (grading uses its answer).
        question: The same question with its choices in display order, relabelled, and its
            answer written in the displayed labels (renderers and reviews use this).
        to_bank_key: Displayed label -> bank key.
    """

    bank: Question
    question: Question
    to_bank_key: Mapping[str, str]

    @property
    def order(self) -> tuple[str, ...]:
        """The bank's keys in display order (empty for numeric items)."""
        return tuple(self.to_bank_key[c.key] for c in self.question.choices)

    @property
    def order_text(self) -> str | None:
        """:attr:`order` as stored in the progress file, e.g. ``"C-A-D-B"`` (None: numeric)."""
        return "-".join(self.order) or None

    def to_bank(self, response: Response) -> Response:
        """A response in displayed labels, in the bank's keys (numbers pass through)."""
        return _relabel(response, self.to_bank_key, self.question.type)

    def to_shown(self, response: Response) -> Response:
        """A response in the bank's keys, in displayed labels (inverse of :meth:`to_bank`)."""
        return _relabel(response, self._to_label(), self.question.type)

    def _to_label(self) -> dict[str, str]:
        return {bank_key: label for label, bank_key in self.to_bank_key.items()}

    def grade(self, response: Response) -> Grade:
        """Grade a response given in displayed labels against the bank's answer.

        The verdict comes from the bank question; the returned grade keeps the displayed
        response, and its feedback names options by their displayed labels, in display order.
        """
        verdict = grade(self.bank, self.to_bank(response))
        to_label = self._to_label()
        feedback = tuple(replace(f, key=to_label.get(f.key, f.key)) for f in verdict.feedback)
        if self.question.type in ("single", "multiple"):
            feedback = tuple(sorted(feedback, key=lambda f: f.key))  # display order
        return Grade(verdict.correct, response, feedback)

    def answer_texts(self, response: Response) -> tuple[str, str]:
        """The text forms of a displayed response: ``(as displayed, in bank keys)``."""
        return answer_text(self.question, response), answer_text(self.bank, self.to_bank(response))


def as_stored(question: Question) -> Shown:
    """``question`` shown in the bank's own order and keys (for answers given in bank keys)."""
    return Shown(question, question, MappingProxyType({c.key: c.key for c in question.choices}))


def show_question(question: Question, seed: int, attempt: int = 0) -> Shown:
    """Shuffle and relabel ``question`` for one showing (see the module docstring).

    Args:
        question: The bank's question.
        seed: The sitting's seed (a drill's ``--seed``).
        attempt: How many times this item was shown before in the sitting (a retry is a new
            showing, with a new order).

    Ordering items are never shown already in the correct order when they have three items
    or more (with two, that rule would give the answer away).
    """
    if question.type not in SHUFFLED_TYPES:
        return as_stored(question)
    rng = item_rng(seed, question.id, attempt)
    order = list(question.choices)
    rng.shuffle(order)
    correct_order = list(question.answer) if question.type == "ordering" else None
    while correct_order and len(order) >= 3 and [c.key for c in order] == correct_order:
        rng.shuffle(order)
    labels = [_label(question.type, i) for i in range(len(order))]
    to_bank = MappingProxyType({label: c.key for label, c in zip(labels, order)})
    to_label = {c.key: label for label, c in zip(labels, order)}
    shown = replace(question, choices=tuple(Choice(label, c.text, c.why)
                                            for label, c in zip(labels, order)),
                    answer=_relabel(question.answer, to_label, question.type))
    return Shown(question, shown, to_bank)


def _relabel(response: Response, mapping: Mapping[str, str], qtype: str) -> Response:
    """Translate the keys of ``response``; ordering keeps its sequence, choices are sorted."""
    if not isinstance(response, tuple):
        return response  # a number
    keys = tuple(mapping[k] for k in response)
    return keys if qtype == "ordering" else tuple(sorted(keys))


def _label(qtype: str, index: int) -> str:
    """The displayed label of position ``index``: A, B, C… or 1, 2, 3… for ordering."""
    return str(index + 1) if qtype == "ordering" else string.ascii_uppercase[index]
