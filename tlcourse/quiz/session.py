"""One sitting of a chapter quiz: answers, retries, score, and saving each answer as it comes.

The widgets are a thin skin over :class:`QuizSession`, so everything they do can be tested
without a browser. Saving is lazy: the progress file is opened at the first answer, so merely
displaying a quiz (e.g. a notebook executed headless) writes nothing.

Choices are shuffled per showing (:mod:`tlcourse.quiz.shuffle`): :meth:`QuizSession.view`
gives the order a card displays, and :meth:`QuizSession.submit` takes the learner's answer in
that view's letters.

Example:
    >>> from tlcourse.quiz.bank import load_bank
    >>> s = QuizSession(list(load_bank("ch01").questions), bank="ch01", store=None, seed=0)
    >>> q = s.questions[0]
    >>> shown = s.view(q.id)
    >>> s.submit(q.id, shown.question.answer, shown).correct
    True
    >>> s.score().solved
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlcourse.quiz.bank import Question
from tlcourse.quiz.grading import Grade, Response
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError
from tlcourse.quiz.shuffle import Shown, as_stored, new_seed, show_question


@dataclass(frozen=True)
class Score:
    """Where the learner stands in this sitting."""

    total: int  # questions in the quiz
    answered: int  # questions tried at least once
    solved: int  # questions answered correctly at some attempt
    first_try: int  # questions right at the first attempt

    def __str__(self) -> str:
        return (f"Score: {self.solved}/{self.total} solved, {self.first_try} right first time, "
                f"{self.answered} tried")


@dataclass
class QuizSession:
    """Attempts and score for one sitting, saved answer by answer.

    Args:
        questions: The questions, in display order.
        bank: Bank name stored with each answer.
        store: Where answers go; ``None`` keeps nothing (e.g. a demo). Opening a broken store,
            or a write that fails (e.g. a full disk), is reported in ``save_error`` and the
            quiz still works, unsaved; ``save_error`` clears once an answer is saved again.
        store_factory: Opens the store lazily at the first answer (used by ``show()``).
        seed: Seeds the order of the choices (None: a fresh random seed for this sitting).
    """

    questions: list[Question]
    bank: str
    store: ProgressStore | None = None
    store_factory: object | None = None
    kind: str = "quiz"
    attempts: dict[str, list[Grade]] = field(default_factory=dict)
    save_error: str | None = None
    seed: int | None = None
    _session_id: int | None = None

    def __post_init__(self) -> None:
        if self.seed is None:
            self.seed = new_seed()

    def question(self, question_id: str) -> Question:
        """The question with ``question_id``."""
        return next(q for q in self.questions if q.id == question_id)

    def view(self, question_id: str, attempt: int = 0) -> Shown:
        """How ``question_id`` is displayed at its ``attempt``-th showing (0 = first)."""
        return show_question(self.question(question_id), self.seed, attempt)  # type: ignore[arg-type]

    def submit(self, question_id: str, response: Response, shown: Shown | None = None) -> Grade:
        """Grade an answer, remember it, and commit it to the store before returning.

        Args:
            question_id: The question answered.
            response: The answer, in the letters of ``shown``.
            shown: The view the learner answered (None: ``response`` is in the bank's keys).
        """
        shown = shown or as_stored(self.question(question_id))
        g = shown.grade(response)
        previous = self.attempts.setdefault(question_id, [])
        previous.append(g)
        self._save(shown, g, first=len(previous) == 1)
        return g

    def score(self) -> Score:
        """The current :class:`Score`."""
        tried = [gs for gs in self.attempts.values() if gs]
        return Score(
            total=len(self.questions),
            answered=len(tried),
            solved=sum(any(g.correct for g in gs) for gs in tried),
            first_try=sum(gs[0].correct for gs in tried),
        )

    def _ensure_store(self) -> ProgressStore | None:
        if self.store is None and self.store_factory is not None and self.save_error is None:
            try:
                self.store = self.store_factory()  # type: ignore[operator]
            except ProgressStoreError as e:
                self.save_error = str(e)
        return self.store

    def _save(self, shown: Shown, g: Grade, first: bool) -> None:
        store = self._ensure_store()
        if store is None:
            return
        try:
            if self._session_id is None:
                self._session_id = store.start_session(self.kind, self.bank)
            displayed, in_bank_keys = shown.answer_texts(g.response)
            store.record_answer(self.bank, shown.bank.id, in_bank_keys, g.correct,
                                session_id=self._session_id, update_leitner=first,
                                shown_answer=displayed, shown_order=shown.order_text)
            s = self.score()
            store.update_session(self._session_id, s.solved, s.total)
        except ProgressStoreError as e:
            self.save_error = str(e)
        else:
            self.save_error = None  # e.g. disk space was freed: stop saying "not saved"
