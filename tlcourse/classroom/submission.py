"""A learner's progress as one JSON file to hand in: ``tlcourse submit --out FILE``.

The file holds a pseudonym (a random id made on the learner's machine, e.g.
``learner-7f3a9c2e``; never their name or OS user), the course version, every quiz attempt
(item id, the letter displayed and the bank's key, the display order, correct, time, attempt
number), every exercise check run, and a SHA-256 checksum over all of that.

The checksum detects corruption (a truncated copy, a damaged USB stick), not a determined
forger: anyone can edit the file and recompute it. With a token from the instructor's roster
(``tlcourse submit --token``) the file also carries an HMAC signature keyed with it, which only
someone who knows the token can make; the token itself is never written into the file. Nothing leaves the machine except this file,
and only when the learner hands it in.

Example:
    >>> path = submit("my-submission.json")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlcourse.classroom.release import write_text_atomic
from tlcourse.quiz.progress import ProgressStore

FORMAT = "tlcourse-submission/1"
COURSE = "tlcourse"


def canonical_json(data: Any) -> bytes:
    """The bytes the checksum covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(submission: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything but the ``sha256`` field itself."""
    body = {k: v for k, v in submission.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def signature(submission: dict[str, Any], token: str) -> str:
    """HMAC-SHA256, keyed with the learner's roster token, of everything but ``sha256`` and
    ``signature``: proof that whoever made the file knew the token (which the file never holds).
    """
    body = {k: v for k, v in submission.items() if k not in ("sha256", "signature")}
    return hmac.new(token.encode(), canonical_json(body), hashlib.sha256).hexdigest()


def plural(n: int, noun: str) -> str:
    """``"1 exercise"``, ``"2 exercises"``: the count with the noun agreeing."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def build_submission(store: ProgressStore, token: str | None = None) -> dict[str, Any]:
    """The submission of ``store``'s learner, checksum included (nothing is written).

    With ``token`` (from the instructor's roster) it is also signed (:func:`signature`).
    """
    from tlcourse import __version__

    attempts = [
        {"bank": a.bank, "item_id": a.question_id, "shown_choice": a.shown_answer,
         "shown_order": a.shown_order, "bank_choice": a.answer, "correct": a.correct,
         "attempt": a.attempt, "time": a.answered_at}
        for a in store.answers()
    ]
    exercises = [
        {"exercise_id": c.exercise_id, "chapter": c.chapter, "passed": c.passed,
         "checks": c.details, "time": c.checked_at}
        for c in store.checks()
    ]
    submission: dict[str, Any] = {
        "format": FORMAT,
        "course": COURSE,
        "course_version": __version__,
        "learner": store.pseudonym(),
        "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "attempts": attempts,
        "exercises": exercises,
    }
    if token:
        submission["signature"] = signature(submission, token)
    submission["sha256"] = checksum(submission)
    return submission


def submit(out: str | os.PathLike, learner: str | None = None,
           db: str | os.PathLike | None = None, token: str | None = None) -> Path:
    """Write the learner's progress to ``out`` as one submission file.

    Args:
        out: The file to write; if it is a folder (existing, or ending in ``/``), the file
            ``tlcourse-submission-<pseudonym>.json`` inside it.
        learner: Whose progress (default ``TLCOURSE_LEARNER`` or the OS user).
        db: The progress file (default ``TLCOURSE_PROGRESS_DB`` or the standard place).
        token: The learner's token from the instructor's roster, if the class uses tokens:
            the file is then signed with it, so no one else can hand in under this pseudonym.

    Returns:
        The file written.

    Raises:
        ProgressStoreError: The progress file cannot be read (the message says what to do).
        OSError: ``out`` cannot be written.

    Example:
        >>> submit("submission.json")  # doctest: +SKIP
        PosixPath('submission.json')
    """
    with ProgressStore(db, learner=learner) as store:
        submission = build_submission(store, token)
    path = Path(out).expanduser()
    if path.is_dir() or str(out).endswith(("/", os.sep)):
        path = path / f"tlcourse-submission-{submission['learner']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(submission, indent=1, ensure_ascii=False) + "\n")


class SubmitButton:
    """A "Make my submission file" button for a notebook, with a plain-text fallback.

    Building it writes nothing; each click writes the submission and shows where it went.
    Where widgets do not render (a static page, an editor without the widget manager), the
    text says how to make the file instead.
    """

    def __init__(self, out: str | os.PathLike | None = None, learner: str | None = None):
        import ipywidgets as w

        self.out = Path(out).expanduser() if out is not None else Path.home()
        self.learner = learner
        self.button = w.Button(description="Make my submission file", icon="file-export",
                               layout=w.Layout(width="auto"))
        self.status = w.HTML("")
        self.button.on_click(lambda _: self.click())
        self.box = w.VBox([self.button, self.status])

    def click(self) -> Path | None:
        """Write the submission (what the button does); return its path, None on failure."""
        from html import escape

        from tlcourse.quiz.progress import ProgressStoreError

        try:
            path = submit(self.out, learner=self.learner)
        except (ProgressStoreError, OSError) as e:
            self.status.value = f"<b>Not written:</b> {escape(str(e))}"
            return None
        self.status.value = f"Written: <code>{escape(summary(path))}</code>"
        return path

    def __repr__(self) -> str:
        return (f"[Make my submission file] (the button needs ipywidgets). Instead run "
                f"`tlcourse submit --out {self.out}` in a terminal, or in a cell: "
                "from tlcourse.classroom.submission import submit; submit('my-submission.json')")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle


def submit_button(out: str | os.PathLike | None = None,
                  learner: str | None = None) -> SubmitButton:
    """The notebook button that makes the submission file (in your home folder by default).

    Example:
        >>> submit_button()  # doctest: +SKIP
    """
    return SubmitButton(out, learner)


def summary(path: str | os.PathLike) -> str:
    """One line about a written submission, e.g. for the CLI and the notebook button."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    passed = len({e["exercise_id"] for e in data["exercises"] if e["passed"]})
    signed = " Signed with your token." if "signature" in data else ""
    return (f"{path}: {plural(len(data['attempts']), 'quiz answer')} and "
            f"{plural(len(data['exercises']), 'exercise check run')} "
            f"({plural(passed, 'exercise')} passed), as {data['learner']}.{signed} "
            "Hand in this file.")
