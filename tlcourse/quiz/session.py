"""One sitting of a chapter quiz: answers, retries, score, and saving each answer as it comes.

The widgets are a thin skin over :class:`QuizSession`, so everything they do can be tested
without a browser. Saving is lazy: the progress file is opened at the first answer, so merely
displaying a quiz (e.g. a notebook executed headless) writes nothing.

Example:
    >>> from tlcourse.quiz.bank import load_bank
    >>> s = QuizSession(list(load_bank("ch01").questions), bank="ch01", store=None)
    >>> q = s.questions[0]
    >>> s.submit(q.id, q.answer).correct
    True
    >>> s.score().solved
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlcourse.quiz.bank import Question
from tlcourse.quiz.grading import Grade, Response, answer_text, grade
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError


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
    """

    questions: list[Question]
    bank: str
    store: ProgressStore | None = None
    store_factory: object | None = None
    kind: str = "quiz"
    attempts: dict[str, list[Grade]] = field(default_factory=dict)
    save_error: str | None = None
    _session_id: int | None = None

    def question(self, question_id: str) -> Question:
        """The question with ``question_id``."""
        return next(q for q in self.questions if q.id == question_id)

    def submit(self, question_id: str, response: Response) -> Grade:
        """Grade an answer, remember it, and commit it to the store before returning."""
        q = self.question(question_id)
        g = grade(q, response)
        previous = self.attempts.setdefault(question_id, [])
        previous.append(g)
        self._save(q, g, first=len(previous) == 1)
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

    def _save(self, q: Question, g: Grade, first: bool) -> None:
        store = self._ensure_store()
        if store is None:
            return
        try:
            if self._session_id is None:
                self._session_id = store.start_session(self.kind, self.bank)
            store.record_answer(self.bank, q.id, answer_text(q, g.response), g.correct,
                                session_id=self._session_id, update_leitner=first)
            s = self.score()
            store.update_session(self._session_id, s.solved, s.total)
        except ProgressStoreError as e:
            self.save_error = str(e)
        else:
            self.save_error = None  # e.g. disk space was freed: stop saying "not saved"
