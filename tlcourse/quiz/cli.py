"""Terminal commands: ``tlcourse drill`` and ``tlcourse quiz validate|stats``.

``tlcourse/cli.py`` calls :func:`register` on its subparsers; ``python -m tlcourse.quiz.cli``
runs the same commands standalone.

Example:
    $ tlcourse drill --count 10 --topics azure,imagenet --seed 3
    $ tlcourse drill --count 3 --seed 0 --answers "B,AC,T"    # scripted, for tests
    $ printf 'B\\nAC\\n' | tlcourse drill --count 2           # answers piped on stdin
    $ tlcourse quiz validate quizzes/*.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TextIO

from tlcourse.quiz.bank import (
    BankError,
    bank_path,
    bank_summary,
    list_banks,
    validate_bank,
    validate_files,
)
from tlcourse.quiz.cues import cue_summary
from tlcourse.quiz.drill import ExamConfig, ExamReport, MockExam, load_pool
from tlcourse.quiz.drill_results import saved_results, with_results
from tlcourse.quiz.grading import Grade, Response, counted, parse_answer
from tlcourse.quiz.progress import ProgressStore, ProgressStoreError, resolve_db_path
from tlcourse.quiz.widgets import question_text

_QUIT = {"Q", "QUIT", "EXIT"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``drill`` and ``quiz`` subcommands, each with ``func(args) -> exit code``."""
    d = subparsers.add_parser(
        "drill", help="timed mock exam in the terminal",
        description="A timed mock exam drawn by topic weight; questions you missed come back "
                    "sooner. Choices are shuffled each time; answer with the letters shown: "
                    "B (one choice), AC (all that apply), T/F, 3.5 (number), 2-1-3-4-5 "
                    "(ordering). Empty line skips, q quits.")
    d.add_argument("--count", type=int, default=20, help="number of questions (default 20)")
    d.add_argument("--topics", type=_csv, default=None,
                   help="comma-separated topics to draw from (see --list-topics)")
    d.add_argument("--list-topics", action="store_true", help="list topics and exit")
    d.add_argument("--banks", type=_csv, default=None,
                   help="comma-separated banks, e.g. exam,ch03 (default: all)")
    d.add_argument("--weights", type=_weights, default={},
                   help="topic weights, e.g. azure=3,imagenet=1 (default: from the banks)")
    d.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                   help="time limit in minutes (default: one per question; 0 = untimed)")
    d.add_argument("--seed", type=int, default=None,
                   help="seed for a repeatable drill: same questions, same choice order "
                        "(default: random, printed at the start)")
    d.add_argument("--answers", default=None,
                   help='answers in order, comma-separated, in the letters as displayed, '
                        'e.g. "B,AC,T,3.5,2-1-3-4-5"')
    d.add_argument("--no-feedback", action="store_true",
                   help="no explanations until the end-of-exam review")
    d.add_argument("--learner", default=None, help="learner name (default TLCOURSE_LEARNER)")
    d.add_argument("--db", type=_db_path, default=None,
                   help="progress file (default TLCOURSE_PROGRESS_DB); ~ is expanded, a "
                        "relative path counts from the current directory")
    d.add_argument("--no-save", action="store_true", help="do not record progress")
    d.add_argument("--no-results", action="store_true",
                   help="no questions about your own saved runs (default: some, when there are and --banks is not given)")
    d.set_defaults(func=drill_command)

    q = subparsers.add_parser("quiz", help="quiz bank tools")
    qsub = q.add_subparsers(dest="quiz_command", required=True)
    v = qsub.add_parser("validate", help="check bank files against the schema",
                        description="Exit 0 when every bank is valid; otherwise print one line "
                                    "per problem (file: question id: what) and exit 1.")
    v.add_argument("files", nargs="*", help="bank YAML files (default: every bank)")
    v.set_defaults(func=validate_command)
    s = qsub.add_parser("stats", help="count questions per bank, topic, type and difficulty",
                        description="Counts per bank, topic, type and difficulty; per bank, "
                                    "also how often the answer is the longest choice(s) and how "
                                    "often test-wise wording rules find it. Exit "
                                    "1 if a bank has problems (see `tlcourse quiz validate`).")
    s.set_defaults(func=stats_command)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _db_path(text: str) -> str:
    """``--db``: ``~`` expanded, absolute (relative to the cwd, as for any CLI path)."""
    return str(resolve_db_path(text))


def _weights(text: str) -> dict[str, float]:
    out = {}
    for part in _csv(text):
        topic, _, value = part.partition("=")
        try:
            out[topic.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected topic=number, got {part!r}") from None
    return out


# ------------------------------------------------------------------------------ quiz validate
def validate_command(args: argparse.Namespace) -> int:
    """``tlcourse quiz validate [FILES...]``."""
    problems = validate_files(args.files) if args.files else validate_bank(None)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{counted(len(problems), 'problem')} found.", file=sys.stderr)
        return 1
    names = args.files or list_banks()
    print(f"OK: {counted(len(names), 'bank file')} valid.")
    return 0


def stats_command(args: argparse.Namespace) -> int:
    """``tlcourse quiz stats``: question counts per bank, topic, type and difficulty.

    Invalid banks are counted too (their valid questions); the problems are then summed up on
    stderr and the exit code is 1.
    """
    print(bank_summary())
    print("\n" + _cue_lines())
    problems = validate_bank(None)
    if problems:
        print(f"{counted(len(problems), 'problem')} in the banks: run `tlcourse quiz validate` "
              "to list them.", file=sys.stderr)
        return 1
    return 0


def _cue_lines() -> str:
    """The wording-cue figures per bank and over all banks (invalid banks' valid items too)."""
    from tlcourse.quiz.bank import _parse_file

    banks = [b for b in (_parse_file(bank_path(n))[0] for n in list_banks()) if b]
    groups = [(b.chapter, list(b.questions)) for b in banks]
    return cue_summary(groups + [("all banks", [q for _, qs in groups for q in qs])])


# ------------------------------------------------------------------------------ drill
def drill_command(args: argparse.Namespace, stdin: TextIO | None = None,
                  stdout: TextIO | None = None) -> int:
    """``tlcourse drill``: run a mock exam reading answers from ``--answers`` or stdin."""
    stdin, out = stdin or sys.stdin, stdout or sys.stdout
    try:
        pool, bank_of, weights = load_pool(list(args.banks) if args.banks else None)
    except (BankError, FileNotFoundError) as e:
        print(f"Cannot load the question banks:\n{e}", file=sys.stderr)
        return 2
    if args.list_topics:
        counts = Counter(q.topic for q in pool)
        for topic in sorted(counts):
            print(f"{topic:<24} {counts[topic]:>4} question{'' if counts[topic] == 1 else 's'}",
                  file=out)
        return 0
    if not getattr(args, "no_results", False) and not args.banks:  # chosen banks: only them
        pool, weights = with_results(pool, weights, saved_results())
    weights |= dict(args.weights)
    minutes = args.count if args.time_limit is None else args.time_limit
    config = ExamConfig(count=args.count, topics=args.topics, weights=weights, seed=args.seed,
                        time_limit=minutes * 60 if minutes > 0 else None)
    store = None
    if not args.no_save:
        try:
            store = ProgressStore(args.db, learner=args.learner)
        except ProgressStoreError as e:
            print(e, file=sys.stderr)
            return 2
    try:
        exam = MockExam(pool, config, store=store, bank_of=bank_of)
    except ValueError as e:
        print(f"drill: {e}", file=sys.stderr)
        return 2
    try:
        unsaved = _run(exam, args, stdin, out)
    finally:
        if store is not None:
            store.close()
    if unsaved:  # the drill ran and reported, but progress is missing: a store error, exit 2
        print(f"Some progress was not saved: {unsaved[-1]}", file=sys.stderr)
        return 2
    return 0


def _not_saved(error: ProgressStoreError, out: TextIO, unsaved: list[str]) -> None:
    """Say that a write failed (the full reason once) and note it for the exit code."""
    reason = str(error)
    print(f"   Not saved: {reason if reason not in unsaved else 'same reason as above.'}",
          file=out)
    unsaved.append(reason)


def _answer(exam: MockExam, question_id: str, response: Response, out: TextIO,
            unsaved: list[str]) -> Grade | None:
    """``exam.answer``, except that a failed save is reported and the answer still counts."""
    try:
        return exam.answer(question_id, response)
    except ProgressStoreError as e:
        _not_saved(e, out, unsaved)
        return exam.grades.get(question_id)  # graded before the save failed


def _finish(exam: MockExam, out: TextIO, unsaved: list[str]) -> ExamReport:
    """``exam.finish``, except that failing to save the final score still gives the report."""
    try:
        return exam.finish()
    except ProgressStoreError as e:
        _not_saved(e, out, unsaved)
        return exam.finish()  # ended already: builds the report, writes nothing


def _run(exam: MockExam, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> list[str]:
    """Ask every question, print the report; return the reasons of any failed saves."""
    unsaved: list[str] = []
    scripted = list(_csv_keep_empty(args.answers)) if args.answers is not None else None
    interactive = scripted is None and stdin.isatty()
    n = len(exam.questions)
    limit = exam.config.time_limit
    print(f"Mock exam: {counted(n, 'question')}"
          + (f", {limit / 60:g} minutes" if limit else ", untimed")
          + f", seed {exam.seed}" + (". Empty answer skips, q quits." if interactive else "."),
          file=out)
    for i, shown in enumerate(exam.shown, 1):
        q = shown.question  # as displayed: the learner answers in these letters
        if exam.over:
            print("\nTime is up.", file=out)
            break
        print("\n" + question_text(q, i), file=out)
        left = exam.time_left()
        if left is not None and interactive:
            print(f"   ({left / 60:.1f} min left)", file=out)
        response = None
        while True:
            if scripted is not None:
                text = scripted.pop(0) if scripted else None
            else:
                if interactive:
                    print("answer> ", end="", file=out, flush=True)
                line = stdin.readline()
                text = line.strip() if line else None
            if text is None:  # out of answers (EOF): the rest stay unanswered
                break
            if text.upper() in _QUIT:
                text = None
                break
            if not text:
                print("   (skipped)", file=out)
                break
            try:
                response = parse_answer(q, text)
                break
            except ValueError as e:
                print(f"   {e}", file=out)
                if not interactive:
                    print("   (counted as unanswered)", file=out)
                    break
        if text is None and response is None:
            break
        if response is None:
            continue
        g = _answer(exam, q.id, response, out, unsaved)
        if g is None:
            print("   Time is up: this answer was not counted.", file=out)
            break
        print("   Correct." if g.correct else "   Wrong.", file=out)
        if not args.no_feedback:
            for f in g.feedback:
                print(f"   {f.key}) {f.why}", file=out)
    if scripted:
        print(f"\n({counted(len(scripted), 'extra answer')} ignored)", file=out)
    print(_finish(exam, out, unsaved).render(), file=out)
    return unsaved


def _csv_keep_empty(text: str) -> list[str]:
    return [p.strip() for p in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m tlcourse.quiz.cli drill --help``."""
    parser = argparse.ArgumentParser(prog="tlcourse", description="tlcourse quizzes and drills")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
