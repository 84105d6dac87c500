"""Reading one submission file for :func:`tlcourse.classroom.gradebook.collect`, trusting nothing.

A hand-in folder may hold anything: a half-copied file, a damaged one, or one made to break the
collect or to pass for another learner. :func:`load_submission` checks, in order, the size and
nesting depth (before parsing: Python's JSON parser recurses once per level), the JSON itself
(a cut anywhere, inside a string too, is reported as a truncated copy), the format, course and
checksum, then every field's type and range before anything reaches SQLite, and with a roster
the learner's token signature. Anything wrong raises :class:`Rejected` with one line saying why.

Example:
    >>> load_submission(Path("inbox/ada.json"))["learner"]  # doctest: +SKIP
    'learner-7f3a9c2e'
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tlcourse.classroom.submission import COURSE, FORMAT, checksum, signature
from tlcourse.exercises import EXERCISE_ID

_PSEUDONYM = re.compile(r"learner-[0-9a-f]{8}")  # always with fullmatch: "$" allows a "\n"
#: A submission of a whole course is a few hundred kB; anything far bigger is not one.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: A submission is 3 levels deep; JSON nested deeper is refused before it is parsed (Python's
#: parser recurses once per level and would crash on a file nested 200,000 deep).
MAX_DEPTH = 32
#: The learner's clock may run a little ahead of the instructor's; a ``created`` time further
#: in the future is refused (it would outrank every later genuine resubmission).
CLOCK_SKEW = timedelta(hours=1)
#: A learner's store numbers attempts 1, 2, ...; SQLite holds at most 2**63 - 1.
MAX_ATTEMPT = 100_000
_MAX_TEXT = 200  # characters in an id, a choice or a time


class Rejected(ValueError):
    """A submission file that cannot be imported, with the reason."""


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of learner-supplied data, cut to ``limit`` characters: one line, never a page."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


_AGAIN = "ask the learner to hand it in again"
# Tokens for the pre-parse scan: a whole string, a string that never closes, or a bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]', re.DOTALL)


def _shape(text: str) -> tuple[int, bool]:
    """How deep ``text``'s brackets nest (counting stops past :data:`MAX_DEPTH`), and whether it
    ends with a string or a bracket still open: a cut copy, wherever the cut fell."""
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        t = m.group()
        if t == '"':
            return deepest, True  # a string that runs to the end of the file
        if t in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif t in ("]", "}"):
            depth -= 1
    return deepest, depth > 0


def _no_constant(name: str) -> Any:
    raise Rejected(f"holds {name}, which is not a JSON number; {_AGAIN}")


def load_submission(path: Path, tokens: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The checked submission in ``path`` (``created`` made UTC ISO 8601).

    Args:
        path: The file.
        tokens: ``pseudonym -> token`` from the roster; given, the file must be signed with its
            learner's token.

    Raises:
        Rejected: The one-line reason the file cannot be imported.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Rejected(f"cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise Rejected(f"too large to be a submission (over {MAX_FILE_BYTES // 2**20} MB); "
                    "not read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not a text file (corrupt, or not a submission)") from None
    if not text.strip():
        raise Rejected("empty file")
    deepest, cut = _shape(text)
    if deepest > MAX_DEPTH:
        raise Rejected(f"nested more than {MAX_DEPTH} levels deep: not a submission; not read")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        if cut or e.pos >= len(text.rstrip()) - 1:
            raise Rejected("not valid JSON: the file ends early (truncated copy?); ask the "
                        "learner to hand it in again") from None
        raise Rejected(f"not valid JSON (corrupt at line {e.lineno}, column {e.colno}); "
                    f"{_AGAIN}") from None
    except Rejected:
        raise
    except (ValueError, RecursionError) as e:  # e.g. an integer of 5,000 digits
        raise Rejected(f"holds a value that cannot be read ({short(str(e))}); {_AGAIN}") from None
    if not isinstance(data, dict) or "format" not in data:
        raise Rejected("not a tlcourse submission (no 'format' field)")
    fmt = data["format"]
    if fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith("tlcourse-submission/"):
            raise Rejected(f"submission format {short(fmt)} is newer than this tlcourse reads "
                        f"({FORMAT}); upgrade tlcourse")
        raise Rejected(f"another kind of file (format {short(fmt)}, expected {FORMAT!r})")
    if data.get("course") != COURSE:
        raise Rejected(f"a submission for another course ({short(data.get('course'))}, "
                    f"not {COURSE!r})")
    try:
        intact = data.get("sha256") == checksum(data)
    except UnicodeEncodeError:  # a lone surrogate ("\\ud800") has no UTF-8 form
        raise Rejected(f"holds text that is not valid Unicode; {_AGAIN}") from None
    if not intact:
        raise Rejected("checksum mismatch: the file changed after `tlcourse submit` (corrupted "
                    "or edited); ask the learner to submit again")
    created = _check_fields(data)
    if tokens is not None:
        # Over the fields as handed in: once 'created' is normalised (to UTC, milliseconds), a
        # copy whose 'created' was edited to the same millisecond or to another time zone would
        # match the signature of the genuine file.
        _check_token(data, tokens)
    data["created"] = created
    return data


def _check_token(data: dict[str, Any], tokens: Mapping[str, str]) -> None:
    learner = data["learner"]
    if learner not in tokens:
        raise Rejected(f"{learner} has no token on the roster: add the row "
                    f"'{learner},NAME,TOKEN' (and give the learner the token), or collect "
                    "without --roster")
    sig = data.get("signature")
    if not isinstance(sig, str) or not hmac.compare_digest(sig, signature(data, tokens[learner])):
        if sig is None:
            raise Rejected(f"not signed with {learner}'s roster token: the learner ran `tlcourse "
                        "submit` without --token, or a forgery; ask them to submit again with "
                        "their token")
        raise Rejected(f"signed with another token than {learner}'s roster token: a forgery, or "
                    "a mistyped token; ask the learner to submit again with their token")


def _text(value: Any, what: str, limit: int = _MAX_TEXT, empty: bool = False) -> str:
    if not isinstance(value, str) or not (empty or value) or len(value) > limit \
            or not value.isprintable():
        raise Rejected(f"{what} is {short(value)}, not a line of text of at most {limit} "
                    f"characters; {_AGAIN}")
    return value


def _time(value: Any, what: str) -> datetime:
    text = _text(value, what, limit=40)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(f"{what} is {short(value)}, not a date and time (ISO 8601); "
                    f"{_AGAIN}") from None
    return when


def _check_fields(data: dict[str, Any]) -> str:
    """Check every field's type and range; return ``created`` as UTC ISO 8601."""
    learner = data.get("learner")
    if not isinstance(learner, str) or not _PSEUDONYM.fullmatch(learner):
        raise Rejected(f"the learner id {short(learner)} is not a tlcourse pseudonym "
                    "(learner- and 8 hex digits)")
    _text(data.get("course_version"), "'course_version'", limit=64)
    created = _time(data.get("created"), "'created'")
    if created.tzinfo is None:
        raise Rejected(f"'created' ({short(data['created'])}) has no time zone; {_AGAIN}")
    now = datetime.now(timezone.utc)
    if created > now + CLOCK_SKEW:
        raise Rejected(f"made in the future ({short(data['created'])}; it is now "
                    f"{now:%Y-%m-%d %H:%M} UTC here): forged, or the learner's clock is wrong; "
                    "ask them to set it and submit again")
    for name in ("attempts", "exercises"):
        if not isinstance(data.get(name), list):
            raise Rejected(f"missing or malformed {name!r} list")
    for i, a in enumerate(data["attempts"]):
        where = f"attempts[{i}]"
        if not isinstance(a, dict):
            raise Rejected(f"{where} is not an object; {_AGAIN}")
        for key in ("bank", "item_id", "bank_choice"):
            _text(a.get(key), f"{where}: {key!r}", empty=key == "bank_choice")
        for key in ("shown_choice", "shown_order"):
            if a.get(key) is not None:
                _text(a[key], f"{where}: {key!r}", empty=True)
        if not isinstance(a.get("correct"), bool):
            raise Rejected(f"{where} lacks or has a malformed 'correct'")
        n = a.get("attempt")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ATTEMPT:
            raise Rejected(f"{where}: 'attempt' is {short(n)}, not a whole number from 1 to "
                        f"{MAX_ATTEMPT}; {_AGAIN}")
        _time(a.get("time"), f"{where}: 'time'")
    for i, e in enumerate(data["exercises"]):
        where = f"exercises[{i}]"
        if not isinstance(e, dict):
            raise Rejected(f"{where} is not an object; {_AGAIN}")
        for key, kind in (("exercise_id", str), ("chapter", str), ("passed", bool),
                          ("checks", dict)):
            if not isinstance(e.get(key), kind):
                raise Rejected(f"{where} lacks or has a malformed {key!r}")
        eid = _text(e["exercise_id"], f"{where}: 'exercise_id'")
        if not EXERCISE_ID.match(eid) or e["chapter"] != eid.split("-", 1)[0]:
            raise Rejected(f"{where}: exercise {short(eid)} of chapter {short(e['chapter'])} "
                        f"is not a tlcourse exercise id; {_AGAIN}")
        for name, ok in e["checks"].items():
            _text(name, f"{where}: a check name", limit=500)
            if not isinstance(ok, bool):
                raise Rejected(f"{where}: check {short(name)} is {short(ok)}, not true/false")
        _time(e.get("time"), f"{where}: 'time'")
    return created.astimezone(timezone.utc).isoformat(timespec="milliseconds")
