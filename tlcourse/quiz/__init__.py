"""Quizzes and exam drills for tlcourse.

Banks are YAML data in ``quizzes/`` (schema in ``quizzes/README.md``), checked by
:func:`validate_bank`; :func:`show` renders a chapter's quiz in a notebook; :class:`MockExam`
runs a timed drill; :class:`ProgressStore` keeps each learner's answers and Leitner boxes.
Choices are shuffled whenever an item is shown (:func:`show_question`); answers are given in
the displayed letters and graded against the bank's keys.

Example:
    >>> from tlcourse import quiz
    >>> quiz.validate_bank("ch01")
    []
"""

from tlcourse.quiz.bank import (
    Bank,
    BankError,
    Choice,
    Question,
    answer_is_longest,
    bank_summary,
    length_giveaways,
    list_banks,
    load_bank,
    load_banks,
    validate_bank,
    validate_file,
    validate_files,
)
from tlcourse.quiz.drill import ExamConfig, ExamReport, MockExam, build_report, load_pool
from tlcourse.quiz.drill_widget import build_exam, review_status, show_exam
from tlcourse.quiz.grading import Grade, grade, parse_answer
from tlcourse.quiz.grounded import grounded_questions
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError, default_db_path
from tlcourse.quiz.session import QuizSession, Score
from tlcourse.quiz.shuffle import Shown, show_question
from tlcourse.quiz.widgets import build_quiz, show

__all__ = [
    "Bank",
    "BankError",
    "Choice",
    "ExamConfig",
    "ExamReport",
    "Grade",
    "MockExam",
    "ProgressStore",
    "ProgressStoreError",
    "Question",
    "QuizSession",
    "Score",
    "Shown",
    "answer_is_longest",
    "bank_summary",
    "build_exam",
    "build_quiz",
    "build_report",
    "default_db_path",
    "grade",
    "grounded_questions",
    "length_giveaways",
    "list_banks",
    "load_bank",
    "load_banks",
    "load_pool",
    "parse_answer",
    "review_status",
    "show",
    "show_exam",
    "show_question",
    "validate_bank",
    "validate_file",
    "validate_files",
]
