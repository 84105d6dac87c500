"""The mock exam in a notebook: :func:`show_exam` wraps :class:`MockExam` in widgets.

Each question takes one answer (no retries, no verdict until the end, as in a real exam);
"Finish exam" shows the per-topic report and the review of missed questions. The time left
is refreshed at every answer; once it is up, further answers are not counted. Like
:func:`~tlcourse.quiz.widgets.show`, the display falls back to plain text where widgets
cannot render, and nothing is written to the progress file until the first answer.

Example:
    >>> from tlcourse import quiz
    >>> quiz.show_exam(count=10, time_limit=10)   # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

from tlcourse.quiz.drill import ExamConfig, ExamReport, MockExam, load_pool
from tlcourse.quiz.drill_results import saved_results, with_results
from tlcourse.quiz.grading import Grade, Response, counted
from tlcourse.quiz.grounded_verdict import paired_seeds
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError, default_db_path
from tlcourse.quiz.shuffle import Shown
from tlcourse.quiz.widgets import QuestionCard, quiz_text

#: JupyterLab styles output ``<pre>`` with ``word-break: break-all``: a review line wider than the
#: page was cut mid-word ("automate|d ML"). The report is wrapped between words already; this
#: keeps any further wrap (a narrow window) between words too.
_REPORT_STYLE = "white-space:pre-wrap;word-break:normal;overflow-wrap:break-word"


class _ExamSession:
    """Adapts a MockExam to what QuestionCard expects of a session."""

    def __init__(self, exam: MockExam):
        self.exam, self.save_error = exam, None

    def view(self, question_id: str, attempt: int = 0) -> Shown:
        """The exam's one display of ``question_id`` (an exam has no retries)."""
        return self.exam.view(question_id)

    def submit(self, question_id: str, response: Response,
               shown: Shown | None = None) -> Grade | None:
        """Answer in displayed letters; a failed save goes to ``save_error``, the grade stands."""
        try:
            g = self.exam.answer(question_id, response)
        except ProgressStoreError as e:
            # The answer is graded before it is saved: keep going unsaved, the card says why.
            self.save_error = str(e)
            return self.exam.grades.get(question_id)
        self.save_error = None  # the next write may succeed again (e.g. disk space freed)
        return g


class ExamWidget:
    """Question cards, a clock line and a Finish button over one :class:`MockExam`.

    ``plots`` maps a comparison (a question's ``group``) to ``(a, b, {seed: (acc a, acc b)})``
    (:func:`~tlcourse.quiz.grounded_verdict.paired_seeds`): a question on the learner's run then
    shows its per-seed pairs as a small plot under the prompt.
    """

    def __init__(self, exam: MockExam, title: str = "Mock exam",
                 plots: dict[str, tuple[str, str, dict]] | None = None):
        import ipywidgets as w

        self.exam, self.title = exam, title
        self.status = w.HTML()
        self.report_view = w.HTML()
        self.finish_button = w.Button(description="Finish exam", button_style="warning")
        self.finish_button.on_click(self.finish)
        adapter = _ExamSession(exam)
        self.cards = [QuestionCard(q, i + 1, adapter, self._refresh, exam_mode=True)  # type: ignore[arg-type]
                      for i, q in enumerate(exam.questions)]
        for card in self.cards:  # a question on the learner's run: its per-seed pairs too
            pairs = (plots or {}).get(card.question.group)
            if pairs:
                card.box.children = (card.box.children[0],
                                     w.Image(value=_paired_png(*pairs), format="png", width=360),
                                     *card.box.children[1:])
        self.box = w.VBox([w.HTML(f"<h3>{html.escape(title)}</h3>"), self.status,
                           *[c.box for c in self.cards], self.finish_button, self.report_view])
        self.report: ExamReport | None = None
        self._refresh()

    def _refresh(self) -> None:
        left = self.exam.time_left()
        clock = "untimed" if left is None else f"{left / 60:.1f} min left"
        if left == 0:
            clock = "time is up: press Finish exam"
        self.status.value = (f"{len(self.exam.grades)}/{len(self.exam.questions)} answered, "
                             f"{clock}")

    def finish(self, _button: Any = None) -> ExamReport:
        """End the exam and show the report with the review of missed questions."""
        unsaved = ""
        try:
            self.report = self.exam.finish()
        except ProgressStoreError as e:
            unsaved = f"<p style='color:#cf222e'>Not saved: {html.escape(str(e))}</p>"
            self.report = self.exam.finish()  # ended already: builds the report, writes nothing
        for card in self.cards:
            card.check_button.disabled = True
        self.finish_button.disabled = True
        self.report_view.value = (f"{unsaved}<pre style='{_REPORT_STYLE}'>"
                                  f"{html.escape(self.report.render())}</pre>")
        self._refresh()
        return self.report

    def __repr__(self) -> str:
        return quiz_text(self.title, [s.question for s in self.exam.shown])

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle


def build_exam(count: int = 20, topics: list[str] | None = None,
               time_limit: float | None = None, seed: int | None = None,
               banks: list[str] | None = None, learner: str | None = None,
               store: ProgressStore | None = None, results: bool = True) -> ExamWidget:
    """Build (without displaying) a mock exam widget; see :func:`show_exam`.

    With ``results``, questions about the learner's own saved runs join the pool
    (:mod:`tlcourse.quiz.drill_results`).
    """
    pool, bank_of, weights = load_pool(banks)
    plots: dict = {}
    if results and not banks:  # a drill of chosen banks stays on them
        runs = saved_results()
        pool, weights = with_results(pool, weights, runs)
        plots = {k: v for name, recs in runs.items()
                 for k, v in paired_seeds(recs, chapter="drill", experiment=name).items()}
    minutes = count if time_limit is None else time_limit
    config = ExamConfig(count=count, topics=tuple(topics) if topics else None, weights=weights,
                        seed=seed, time_limit=minutes * 60 if minutes > 0 else None)
    factory = None
    if store is None:
        if default_db_path().exists():  # read the Leitner boxes; a new file waits for answers
            store = ProgressStore(learner=learner)
        else:
            def factory() -> ProgressStore:
                return ProgressStore(learner=learner)
    exam = MockExam(pool, config, store=store, bank_of=bank_of, store_factory=factory)
    return ExamWidget(exam, title=f"Mock exam: {counted(len(exam.questions), 'question')}",
                      plots=plots)


def _paired_png(a: str, b: str, pairs: dict[int, tuple[float, float]]) -> bytes:
    """A small PNG: each seed's accuracy of ``a`` and ``b``, joined by a line (the pairing)."""
    import io

    from matplotlib.figure import Figure  # no pyplot: no backend switched, no figure left open

    fig = Figure(figsize=(3.6, 2.4), dpi=100)
    ax = fig.add_subplot()
    for s, (x, y) in pairs.items():
        ax.plot([0, 1], [100 * x, 100 * y], "o-", color="#555", alpha=0.7, label=f"seed {s}")
    ax.set_xticks([0, 1], [a, b])
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("your run, one line per seed", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def show_exam(count: int = 20, topics: list[str] | None = None,
              time_limit: float | None = None, seed: int | None = None,
              banks: list[str] | None = None, learner: str | None = None) -> None:
    """Display a timed mock exam in the notebook.

    Args:
        count: Number of questions.
        topics: Only these topic tags (default: all, weighted by the banks' drill_weights).
        time_limit: Minutes (default one per question; 0 = untimed).
        seed: Seed for a repeatable draw.
        banks: Bank names to draw from (default: all).
        learner: Whose progress (default ``TLCOURSE_LEARNER`` or the OS user).

    Example:
        >>> show_exam(count=5, topics=["azure"])   # doctest: +SKIP
    """
    from IPython.display import display

    display(build_exam(count, topics, time_limit, seed, banks, learner))


def review_status(learner: str | None = None) -> str:
    """How many questions sit in each Leitner box for this learner (reads, never creates).

    Example:
        >>> isinstance(review_status(), str)
        True
    """
    path = default_db_path()
    if not path.exists():
        return f"No progress recorded yet (it will be kept in {path})."
    try:
        with ProgressStore(path, learner=learner) as store:
            boxes, due, who = store.boxes(), store.due(), store.learner
    except ProgressStoreError as e:
        return str(e)
    counts = [sum(1 for b in boxes.values() if b == k) for k in range(1, 6)]
    lines = [f"Progress of {who!r} in {path}:"]
    lines += [f"  box {k}: {n:>3} question{'' if n == 1 else 's'}"
              + ("  <- missed last time" if k == 1 else "")
              for k, n in zip(range(1, 6), counts)]
    lines.append(f"  due in your next drill: {len(due)}")
    return "\n".join(lines)
