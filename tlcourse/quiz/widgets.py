"""Chapter quizzes in a notebook: ipywidgets on top of :class:`QuizSession`, with a text fallback.

``show("ch01")`` displays one object whose MIME bundle carries both the widget view and a
``text/plain`` rendering of the questions and choices (never the answers). A live notebook
shows the widget; nbval, ``jupyter nbconvert`` or a plain Python prompt show the text, and
nothing waits for input.

Choices are shuffled every time an item is shown (and again at each Retry), and relabelled
A, B, C… in display order; the text rendering shows the same order as the widgets. A card's
``question`` is the bank's question, ``shown.question`` what the learner sees.

Example:
    >>> quiz = build_quiz("ch01")          # doctest: +SKIP
    >>> quiz.cards[0].select("A"); quiz.cards[0].check_button.click()  # doctest: +SKIP
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from tlcourse.quiz.bank import Question, load_bank
from tlcourse.quiz.grading import Feedback, Grade, Response, answer_feedback, parse_answer
from tlcourse.quiz.grounded import grounded_questions
from tlcourse.quiz.progress import ProgressStore
from tlcourse.quiz.question import prompt_blocks
from tlcourse.quiz.session import QuizSession
from tlcourse.quiz.shuffle import new_seed, show_question

#: An ordering slot before the learner picks: shown as a dash, its value no choice's key. (A
#: value of None would select no option at all, and the dropdown would show up blank.)
_NO_CHOICE = ("—", "")


def question_text(q: Question, number: int | None = None) -> str:
    """A question as plain text: prompt and options, no answer.

    Example:
        >>> from tlcourse.quiz.bank import load_bank
        >>> question_text(load_bank("ch01").questions[0], 1)[:4]
        'Q1. '
    """
    head = f"Q{number}. " if number is not None else ""
    lines: list[str] = []
    for pre, block in prompt_blocks(head + q.prompt):  # a results table stays as it is
        lines += block.split("\n") if pre else (textwrap.wrap(block, 88) or [""])
    lines = lines or [head]
    hint = {
        "single": "(pick one)",
        "multiple": "(select all that apply, e.g. AC)",
        "truefalse": "(T or F)",
        "numeric": f"(a number{', in ' + q.unit if q.unit else ''})",
        "ordering": "(put the items in order, e.g. " + "-".join(c.key for c in q.choices) + ")",
    }[q.type]
    lines.append(f"   {hint}  [{q.topic}, {q.difficulty}]")
    for c in q.choices:
        lines += textwrap.wrap(f"{c.key}) {c.text}", 86, initial_indent="   ",
                               subsequent_indent="      ")
    return "\n".join(lines)


def prompt_html(prompt: str) -> str:
    """A prompt as escaped HTML: prose as is, a results table in a monospace block.

    Example:
        >>> prompt_html("Your run.\\n\\n    a < b")
        'Your run.<pre style="margin:0.4em 0">    a &lt; b</pre>'
    """
    return "".join(f'<pre style="margin:0.4em 0">{html.escape(b)}</pre>' if pre
                   else html.escape(b) for pre, b in prompt_blocks(prompt))


def quiz_text(title: str, questions: Iterable[Question]) -> str:
    """All questions as text, for renderers without widgets."""
    parts = [title, "=" * len(title)]
    parts += [question_text(q, i + 1) + "\n" for i, q in enumerate(questions)]
    parts.append("(Run this notebook in Jupyter to answer interactively, or use "
                 "`tlcourse drill` in a terminal.)")
    return "\n".join(parts)


def feedback_html(grade: Grade, feedback: Iterable[Feedback]) -> str:
    """Verdict plus the explanation of each chosen option, as HTML."""
    verdict = ("<b style='color:#1a7f37'>✔ Correct.</b>" if grade.correct
               else "<b style='color:#cf222e'>✘ Not quite.</b> Read why, then retry.")
    rows = []
    for f in feedback:
        mark = "✔" if f.correct else "✘"
        rows.append(f"<li>{mark} <b>{html.escape(f.key)})</b> {html.escape(f.text)}<br>"
                    f"<i>{html.escape(f.why)}</i></li>")
    return f"{verdict}<ul>{''.join(rows)}</ul>"


class QuestionCard:
    """The widgets for one question: inputs, Check and Retry buttons, feedback.

    Drive it from Python (tests do): ``select(...)`` then ``check_button.click()``. The
    choices are shown in the order of ``shown`` (``session.view(id, attempt)``); a Retry is a
    new showing, in a new order.
    """

    def __init__(self, question: Question, number: int, session: QuizSession, on_change,
                 exam_mode: bool = False):
        import ipywidgets as w

        self.question, self.session, self._on_change = question, session, on_change
        # In a mock exam: one answer per question, verdicts only in the final report.
        self.exam_mode = exam_mode
        self.attempt = 0  # showings before this one: seeds the order of the choices
        self.shown = session.view(question.id, self.attempt)
        q = question
        self.prompt = w.HTML(f"<b>Q{number}.</b> {prompt_html(q.prompt)} "
                             f"<small>[{q.topic}, {q.difficulty}]</small>")
        if q.type in ("single", "truefalse"):
            self._input = w.RadioButtons(options=self._options(), value=None,
                                         layout=w.Layout(width="auto"))
            inputs: list = [self._input]
        elif q.type == "multiple":
            self._boxes = {key: w.Checkbox(description=text, value=False, indent=False,
                                           layout=w.Layout(width="auto"))
                           for text, key in self._options()}
            inputs = list(self._boxes.values())
        elif q.type == "numeric":
            self._input = w.Text(placeholder="a number" + (f" ({q.unit})" if q.unit else ""))
            inputs = [self._input]
        else:  # ordering: one dropdown per position
            self._slots = [w.Dropdown(options=[_NO_CHOICE, *self._options()],
                                      value=_NO_CHOICE[1], description=f"{i + 1}.",
                                      layout=w.Layout(width="95%"))
                           for i in range(len(q.choices))]
            inputs = list(self._slots)
        self.check_button = w.Button(description="Check", button_style="primary")
        self.retry_button = w.Button(description="Retry", disabled=True)
        self.feedback = w.HTML("")
        self.check_button.on_click(self.check)
        self.retry_button.on_click(self.retry)
        self._inputs = inputs
        self.box = w.VBox([self.prompt, *inputs,
                           w.HBox([self.check_button, self.retry_button]), self.feedback])

    def _options(self) -> list[tuple[str, str]]:
        """``(label, key)`` per choice, in display order, e.g. ``("B) fine-tune", "B")``."""
        return [(f"{c.key}) {c.text}", c.key) for c in self.shown.question.choices]

    def _reshuffle(self) -> None:
        """Show the choices again in this showing's order (the inputs are cleared first)."""
        self.shown = self.session.view(self.question.id, self.attempt)
        if self.question.type in ("single", "truefalse"):
            self._input.options = self._options()
        elif self.question.type == "multiple":
            for text, key in self._options():
                self._boxes[key].description = text
        elif self.question.type == "ordering":
            for slot in self._slots:
                slot.options = [_NO_CHOICE, *self._options()]
                slot.value = _NO_CHOICE[1]

    # ------------------------------------------------------------------ learner actions
    def select(self, answer: str | Response) -> None:
        """Set the inputs as a learner would; ``answer`` in displayed letters, text or parsed."""
        q = self.shown.question
        response = parse_answer(q, answer) if isinstance(answer, str) else answer
        if q.type in ("single", "truefalse"):
            self._input.value = response[0]  # type: ignore[index]
        elif q.type == "multiple":
            for key, box in self._boxes.items():
                box.value = key in response  # type: ignore[operator]
        elif q.type == "numeric":
            self._input.value = f"{float(response):g}"  # type: ignore[arg-type]
        else:
            for slot, key in zip(self._slots, response):  # type: ignore[arg-type]
                slot.value = key

    def response(self) -> Response:
        """Read the inputs, in displayed letters; ValueError for the learner if incomplete."""
        q = self.shown.question
        if q.type in ("single", "truefalse"):
            if self._input.value is None:
                raise ValueError("Pick an option first.")
            return (self._input.value,)
        if q.type == "multiple":
            chosen = tuple(k for k, b in self._boxes.items() if b.value)
            if not chosen:
                raise ValueError("Tick at least one option.")
            return chosen
        if q.type == "numeric":
            return parse_answer(q, self._input.value)
        order = [s.value for s in self._slots]
        if _NO_CHOICE[1] in order or len(set(order)) != len(order):
            raise ValueError("Use every item exactly once.")
        return tuple(order)

    def check(self, _button: Any = None) -> Grade | None:
        """Grade what is selected, show feedback, save the answer, update the score."""
        try:
            response = self.response()
        except ValueError as e:
            self.feedback.value = f"<span style='color:#9a6700'>{html.escape(str(e))}</span>"
            return None
        g = self.session.submit(self.question.id, response, self.shown)
        if g is None:  # a mock exam whose time is up
            self.feedback.value = "<b>Time is up</b>: this answer was not counted."
            self._on_change()
            return None
        if self.exam_mode:
            self.feedback.value = "<i>Answer recorded.</i>"
        else:
            lines = answer_feedback(self.shown.question) if g.correct else g.feedback
            self.feedback.value = feedback_html(g, lines)
        if self.session.save_error:
            self.feedback.value += (f"<p style='color:#cf222e'>Not saved: "
                                    f"{html.escape(self.session.save_error)}</p>")
        for i in self._inputs:
            i.disabled = True
        self.check_button.disabled = True
        self.retry_button.disabled = self.exam_mode
        self._on_change()
        return g

    def retry(self, _button: Any = None) -> None:
        """Clear the inputs and feedback, and show the choices in a new order."""
        q = self.question
        if q.type in ("single", "truefalse"):
            self._input.value = None
        elif q.type == "multiple":
            for b in self._boxes.values():
                b.value = False
        elif q.type == "numeric":
            self._input.value = ""
        else:
            for s in self._slots:
                s.value = _NO_CHOICE[1]
        self.attempt += 1
        self._reshuffle()
        for i in self._inputs:
            i.disabled = False
        self.feedback.value = ""
        self.check_button.disabled = False
        self.retry_button.disabled = True


#: ipywidgets draws a radio or checkbox label on one fixed-height line: a long choice overflows
#: onto the next one (its button drawn over the next choice's) or is cut off with "...". Let
#: labels wrap, with the button at the start of the first line (found by the browser test).
_CHOICE_CSS = ("<style>"
               ".widget-radio-box label{height:auto;display:flex;align-items:flex-start}"
               ".widget-radio-box label input{order:-1;float:none;flex:none}"
               ".widget-checkbox label{white-space:normal;height:auto;overflow:visible}"
               ".widget-checkbox{height:auto}"
               "</style>")


class QuizWidget:
    """A whole chapter quiz: a title, a score line and one card per question.

    Displaying it (``display(quiz)`` or leaving it last in a cell) shows the widgets where they
    can render and the plain-text questions elsewhere.
    """

    def __init__(self, title: str, session: QuizSession):
        import ipywidgets as w

        self.title, self.session = title, session
        self.score_label = w.HTML()
        self.cards = [QuestionCard(q, i + 1, session, self._refresh)
                      for i, q in enumerate(session.questions)]
        self.box = w.VBox([w.HTML(_CHOICE_CSS + f"<h3>{html.escape(title)}</h3>"), self.score_label,
                           *[c.box for c in self.cards]])
        self._refresh()

    def _refresh(self) -> None:
        self.score_label.value = f"<b>{html.escape(str(self.session.score()))}</b>"

    def card(self, question_id: str) -> QuestionCard:
        """The card showing ``question_id``."""
        return next(c for c in self.cards if c.question.id == question_id)

    def __repr__(self) -> str:
        return quiz_text(self.title, [c.shown.question for c in self.cards])

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle


class _TextQuiz:
    """What ``show`` displays when ipywidgets is not importable (choices shuffled by ``seed``)."""

    def __init__(self, title: str, questions: list[Question], seed: int | None = None):
        seed = new_seed() if seed is None else seed
        self.title = title
        self.questions = [show_question(q, seed).question for q in questions]

    def __repr__(self) -> str:
        return quiz_text(self.title, self.questions)


def _records_and_experiment(results: Any, experiment: str | None
                            ) -> tuple[list[Mapping[str, Any]] | None, str | None]:
    """Accept ``res.records`` or a whole ``Results`` (which also names its experiment)."""
    if hasattr(results, "records"):
        return results.records, experiment or getattr(results, "experiment", None)
    return results, experiment


def build_quiz(
    chapter: str,
    results: list[Mapping[str, Any]] | Any | None = None,
    learner: str | None = None,
    store: ProgressStore | None = None,
    experiment: str | None = None,
    seed: int | None = None,
) -> QuizWidget:
    """Build (without displaying) the quiz for ``chapter``; see :func:`show`."""
    bank = load_bank(chapter)
    questions = list(bank.questions)
    records, experiment = _records_and_experiment(results, experiment)
    if records:
        questions += grounded_questions(records, bank.grounded, chapter=bank.chapter,
                                        experiment=experiment)
    factory = None
    if store is None:
        def factory() -> ProgressStore:
            return ProgressStore(learner=learner)
    session = QuizSession(questions, bank=bank.chapter, store=store, store_factory=factory,
                          seed=seed)
    return QuizWidget(bank.title, session)


def show(
    chapter: str,
    results: list[Mapping[str, Any]] | Any | None = None,
    learner: str | None = None,
    experiment: str | None = None,
    seed: int | None = None,
) -> None:
    """Display a chapter's quiz in the notebook (use :func:`build_quiz` to keep a handle).

    Args:
        chapter: A bank name, e.g. ``"ch01"`` (or a path to a bank YAML file).
        results: Your experiment records (``res.records``, or ``res`` itself); adds questions
            computed from your own results.
        learner: Whose progress to record (default ``TLCOURSE_LEARNER`` or the OS user).
        experiment: The experiment the records come from, kept in the generated questions'
            ids (taken from ``res`` when given the whole results).
        seed: Seeds the order of the choices (default: a new order every time it is shown).

    Nothing is returned, so the quiz is not displayed twice when ``show`` ends a cell.

    Example:
        >>> from tlcourse import quiz
        >>> quiz.show("ch01")   # doctest: +SKIP
    """
    from IPython.display import display

    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        bank = load_bank(chapter)
        records, experiment = _records_and_experiment(results, experiment)
        text_quiz = _TextQuiz(bank.title, list(bank.questions) + grounded_questions(
            records, bank.grounded, bank.chapter, experiment), seed)
        display(text_quiz)
        return
    display(build_quiz(chapter, results=results, learner=learner, experiment=experiment,
                       seed=seed))
