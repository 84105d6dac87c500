"""Terminal commands: ``tlcourse class release|collect|report`` and ``tlcourse submit``.

``tlcourse/cli.py`` calls :func:`register` on its subparsers; ``python -m tlcourse.classroom.cli``
runs the same commands standalone. Exit 0 on success, 1 on a problem the user must fix, 2 on a
usage error.

Example:
    $ tlcourse class release --out student            # instructor: student copies
    $ tlcourse submit --out my-submission.json        # learner: hand in this file
    $ tlcourse class collect inbox/ --db gradebook.sqlite [--roster roster.csv]
    $ tlcourse class report --db gradebook.sqlite --out report --roster roster.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``class`` and ``submit`` subcommands, each with ``func(args) -> exit code``."""
    c = subparsers.add_parser("class", help="classroom kit: release, collect, report",
                              description="For instructors: student copies of the notebooks, "
                                          "a gradebook of submissions, a class report.")
    csub = c.add_subparsers(dest="class_command", required=True, metavar="COMMAND")
    r = csub.add_parser("release", help="write student copies of the notebooks",
                        description="Solutions become '# YOUR CODE HERE' + 'raise "
                                    "NotImplementedError()', hidden tests are removed, outputs "
                                    "cleared. Refused (exit 1, nothing written) when a marker is "
                                    "unbalanced or solution text would leak.")
    r.add_argument("--out", required=True, type=Path, help="folder for the student copies")
    r.add_argument("--src", default=Path("notebooks"), type=Path,
                   help="the instructor's notebooks (default: notebooks)")
    r.set_defaults(func=release_command)

    co = csub.add_parser("collect", help="import submission files into a gradebook",
                         description="Import submissions (files, or folders of *.json). "
                                     "Importing again changes nothing; every submission is "
                                     "kept and a learner's latest counts; bad files are listed "
                                     "with the reason and skipped (exit 1).")
    co.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                    help="submission files or folders")
    co.add_argument("--db", required=True, type=Path, help="the gradebook, e.g. gradebook.sqlite")
    co.add_argument("--roster", type=Path, default=None,
                    help="CSV 'pseudonym,name,token': accept only submissions signed with their "
                         "learner's token (tlcourse submit --token)")
    co.set_defaults(func=collect_command)

    rp = csub.add_parser("report", help="write the class report (HTML + CSV)",
                         description="An HTML page that opens offline, with item analysis and "
                                     "per-learner scores, plus CSV files.")
    rp.add_argument("--db", required=True, type=Path, help="the gradebook")
    rp.add_argument("--out", required=True, type=Path, help="folder for the report")
    rp.add_argument("--roster", type=Path, default=None,
                    help="CSV mapping pseudonym to name (kept by you, never shared)")
    rp.set_defaults(func=report_command)

    s = subparsers.add_parser("submit", help="write your progress to one file to hand in",
                              description="Your quiz answers and exercise checks, under a "
                                          "random pseudonym, with a checksum that detects "
                                          "corruption (not a determined forger).")
    s.add_argument("--out", required=True,  # a str: Path() would drop a trailing "/"
                   help="the file to write (or a folder to write it in, e.g. hand-in/)")
    s.add_argument("--learner", default=None, help="learner name (default TLCOURSE_LEARNER)")
    s.add_argument("--db", default=None, type=Path,
                   help="progress file (default TLCOURSE_PROGRESS_DB)")
    s.add_argument("--token", default=None,
                   help="the token your instructor gave you, if any: signs the file so no one "
                        "else can hand in under your pseudonym (the token is not written)")
    s.set_defaults(func=submit_command)


def release_command(args: argparse.Namespace) -> int:
    """``tlcourse class release --out DIR [--src notebooks]``."""
    from tlcourse.classroom.release import release

    written = release(args.src, args.out)  # a ReleaseError: one line from tlcourse.cli.main
    print(f"Wrote {len(written)} student notebook(s) to {args.out}:")
    for path in written:
        print(f"  {path.name}")
    return 0


def collect_command(args: argparse.Namespace) -> int:
    """``tlcourse class collect PATH... --db gradebook.sqlite``."""
    from tlcourse.classroom.gradebook import collect, read_tokens

    tokens = read_tokens(args.roster) if args.roster is not None else None
    report = collect(args.paths, args.db, tokens)
    summary, *problems = report.render().splitlines()
    print(summary)
    for line in problems:  # one line per skipped or doubtful file, and per flagged learner
        print(line.strip(), file=sys.stderr)
    return 1 if report.skipped else 0


def report_command(args: argparse.Namespace) -> int:
    """``tlcourse class report --db gradebook.sqlite --out REPORT [--roster roster.csv]``."""
    from tlcourse.classroom.gradebook import (
        disagreements,
        read_attempts,
        read_exercises,
    )
    from tlcourse.quiz.bank import load_banks

    if args.roster is not None and not args.roster.is_file():
        print(f"--roster {args.roster}: no such file; give the CSV mapping pseudonyms to names",
              file=sys.stderr)
        return 1
    attempts, exercises = read_attempts(args.db), read_exercises(args.db)
    notes = disagreements(args.db)
    if not attempts and not exercises:
        print(f"{args.db}: the gradebook is empty; collect submissions first", file=sys.stderr)
        return 1
    # pulls in plotting: import late
    from tlcourse.classroom.items import analyse_class
    from tlcourse.classroom.report import course_only, flagged_lines, write_report

    banks = load_banks()
    path = write_report(attempts, exercises, banks, args.out, roster_csv=args.roster, notes=notes)
    print(f"Wrote the class report: {path}")
    attempts, exercises, ignored = course_only(attempts, exercises, banks)
    for line in notes + ignored:  # worth a look before the flagged items
        print(line, file=sys.stderr)
    for line in flagged_lines(analyse_class(attempts, exercises, banks)):
        print(line)
    return 0


def submit_command(args: argparse.Namespace) -> int:
    """``tlcourse submit --out FILE``."""
    from tlcourse.classroom.submission import submit, summary

    try:
        path = submit(args.out, learner=args.learner, db=args.db, token=args.token)
    except OSError as e:
        print(f"Cannot write {args.out} ({e.strerror or e}); choose another --out",
              file=sys.stderr)
        return 1
    print(summary(path))
    return 0

