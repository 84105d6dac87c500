"""Question banks: dataclasses, YAML loading and the schema check.

A bank is one YAML file in ``quizzes/`` (``ch01.yaml`` ... ``exam.yaml``). The schema is
documented in ``quizzes/README.md``; this module is its single source of truth. Validation
reports every problem as one line naming the file, the question id and what is wrong, and
:func:`load_bank` refuses a bank with any problem, so a malformed bank never reaches a learner.

Besides each question's schema, a bank must not give its answers away by length or wording:
see :mod:`tlcourse.quiz.cues`.

Example:
    >>> from tlcourse.quiz.bank import load_bank
    >>> bank = load_bank("ch01")
    >>> bank.chapter, len(bank.questions) > 0
    ('ch01', True)
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

#: libyaml's C parser where installed (the same safe subset, ~10x faster: `quiz stats` parses
#: every bank), else PyYAML's own.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from ..claims import claim_numbers, claims_path
from .cues import LONGEST_ANSWER_ONE_IN, answer_is_longest, cue_giveaways, length_giveaways
from .grounded import TEMPLATES
from .question import Bank, BankError, Choice, Question, WrongValue

#: Question types and what the learner gives as an answer.
QUESTION_TYPES = ("single", "multiple", "truefalse", "numeric", "ordering")
DIFFICULTIES = ("easy", "medium", "hard")
#: What an item asks the learner to do: remember, use, foresee an outcome, or read a result.
KINDS = ("recall", "application", "prediction", "interpretation")

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_BANK_KEYS = {"chapter", "title", "topics", "drill_weights", "grounded", "questions"}
_REQUIRED_BANK_KEYS = ("chapter", "title", "topics", "questions")
_QUESTION_KEYS = {
    "id", "chapter", "topic", "objective", "difficulty", "type", "prompt", "choices",
    "answer", "tolerance", "unit", "explanation", "common_wrong", "misconceptions", "claims",
    "group", "kind",
}
#: Ids of items taken out of the banks. Progress is stored by id, so none may come back as
#: another question (quizzes/README.md lists why each went).
RETIRED_IDS = frozenset({
    "ch01-recipe-order", "ch01-learning-curve", "ch02-efficientnet-variants",
    "ch01-imagenet-size", "exam-imagenet-full", "ch02-resnet-params", "ch01-recommended-per-class",
})
_REQUIRED_QUESTION_KEYS = ("id", "topic", "difficulty", "type", "prompt", "answer")
_CHOICE_KEYS = {"key", "text", "why"}
_TRUEFALSE_TEXT = {"T": "True", "F": "False"}


# --------------------------------------------------------------------------- locating banks
def quizzes_dir() -> Path:
    """Folder holding the bank YAML files (``TLCOURSE_QUIZZES`` overrides the repo's ``quizzes/``).

    Example:
        >>> quizzes_dir().name
        'quizzes'
    """
    override = os.environ.get("TLCOURSE_QUIZZES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "quizzes"


def list_banks() -> list[str]:
    """Names of the banks on disk, e.g. ``['ch01', ..., 'exam']``."""
    return sorted(p.stem for p in quizzes_dir().glob("*.yaml"))


def bank_path(name: str | os.PathLike) -> Path:
    """Resolve a bank name (``"ch01"``) or a path to the YAML file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    candidate = quizzes_dir() / f"{name}.yaml"
    if not candidate.exists():
        raise FileNotFoundError(f"No quiz bank {str(name)!r}; available: {list_banks()}")
    return candidate


# --------------------------------------------------------------------------- loading
def load_bank(name: str | os.PathLike) -> Bank:
    """Load and validate one bank; raise :class:`BankError` if anything is wrong.

    Args:
        name: A bank name such as ``"ch03"`` or a path to a YAML file.

    Returns:
        The validated :class:`Bank`.

    Example:
        >>> load_bank("exam").chapter
        'exam'
    """
    path = bank_path(name)
    bank, problems = _parse_file(path)
    if problems:
        raise BankError(problems)
    assert bank is not None
    return bank


def load_banks(names: list[str] | None = None) -> list[Bank]:
    """Load several banks (all on disk by default), checking ids are unique across them."""
    names = names or list_banks()
    paths = [bank_path(n) for n in names]
    problems = validate_files(paths)
    if problems:
        raise BankError(problems)
    return [load_bank(p) for p in paths]


def validate_file(path: str | os.PathLike) -> list[str]:
    """Check one bank file; return one message per problem (empty list when valid).

    Example:
        >>> validate_file(bank_path("ch01"))
        []
    """
    return _parse_file(Path(path))[1]


def validate_files(paths: list[str | os.PathLike]) -> list[str]:
    """Check several bank files: ids unique across files, and no wording cue over all of them."""
    problems: list[str] = []
    seen: dict[str, Path] = {}
    pool: list[Question] = []
    for p in map(Path, paths):
        bank, file_problems = _parse_file(p)
        problems += file_problems
        for q in bank.questions if bank else ():
            if q.id in seen and seen[q.id] != p:
                problems.append(f"{p}: {q.id}: duplicate id (also in {seen[q.id]})")
            seen.setdefault(q.id, p)
            pool.append(q)
    if len(paths) > 1:  # a cue too weak to show in one bank can still show over all of them
        problems += [f"{seen[qid]}: {qid}: over all banks, {what}"
                     for qid, what in cue_giveaways(pool)]
    return problems


def validate_bank(name: str | os.PathLike | None = None) -> list[str]:
    """Check one bank by name or path, or every bank on disk when ``name`` is None."""
    if name is None:
        return validate_files([bank_path(n) for n in list_banks()])
    try:
        return validate_file(bank_path(name))
    except FileNotFoundError as e:
        return [f"{name}: -: {e}"]


def bank_summary(banks: list[Bank] | None = None) -> str:
    """Question counts per bank, topic, type and difficulty, as a text table.

    Each bank's row also says in how many single-choice items the correct choice is the
    strictly longest, and in how many multiple-choice items the key is exactly the longest
    choices (see :func:`length_giveaways`). Without ``banks``, every bank on disk is read,
    invalid ones included (their valid questions are counted), so the numbers are there
    when they are most needed.

    Example:
        >>> bank_summary().splitlines()[0].endswith("banks")
        True
    """
    from collections import Counter

    banks = [b for b in (_parse_file(bank_path(n))[0] for n in list_banks()) if b] \
        if banks is None else banks
    qs = [q for b in banks for q in b.questions]
    lines = [f"{len(qs)} questions in {len(banks)} banks"]
    for title, counter in [("bank", Counter(q.chapter for q in qs)),
                           ("topic", Counter(q.topic for q in qs)),
                           ("type", Counter(q.type for q in qs)),
                           ("difficulty", Counter(q.difficulty for q in qs))]:
        lines.append(f"\nper {title}:")
        lines += [f"  {key:<24} {n:>4}" + (_longest_columns(banks, key) if title == "bank" else "")
                  for key, n in sorted(counter.items())]
        if title == "bank":
            lines.append(f"  (answer = longest choice(s): at most 1 in {LONGEST_ANSWER_ONE_IN} "
                         "of a bank's single-choice items, and of its multiple-choice items)")
    return "\n".join(lines)


def _longest_columns(banks: list[Bank], chapter: str) -> str:
    """``single: 3/11 longest correct (27 %), multiple: 1/4 key = longest (25 %)``."""
    qs = [q for b in banks if b.chapter == chapter for q in b.questions]
    parts = []
    for qtype, what in [("single", "longest correct"), ("multiple", "key = longest")]:
        items = [q for q in qs if q.type == qtype]
        hits = sum(answer_is_longest(q) for q in items)
        share = f"{100 * hits / len(items):.0f} %" if items else "-"
        parts.append(f"{qtype}: {hits}/{len(items)} {what} ({share})")
    return "   " + ", ".join(parts)


# --------------------------------------------------------------------------- parsing
def _parse_file(path: Path) -> tuple[Bank | None, list[str]]:
    """Parse and validate; return the bank (None if unusable) and the problems."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as e:
        return None, [f"{path}: -: cannot read file ({e.strerror or e})"]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        return None, [f"{path}: -: not valid YAML{where}: {getattr(e, 'problem', e)}"]
    if not isinstance(raw, dict):
        return None, [f"{path}: -: top level must be a mapping with {list(_REQUIRED_BANK_KEYS)}"]

    problems: list[str] = []

    def bad(qid: str, what: str) -> None:
        problems.append(f"{path}: {qid}: {what}")

    for key in _REQUIRED_BANK_KEYS:
        if key not in raw:
            bad("-", f"missing top-level key {key!r}")
    for key in sorted(set(raw) - _BANK_KEYS):
        bad("-", f"unknown top-level key {key!r}; allowed: {sorted(_BANK_KEYS)}")
    chapter = str(raw.get("chapter", path.stem))
    topics = raw.get("topics") or {}
    if not isinstance(topics, dict) or not all(isinstance(v, str) for v in topics.values()):
        bad("-", "topics must map each topic tag to a one-line description")
        topics = {}
    weights = raw.get("drill_weights") or {}
    if not isinstance(weights, dict) or not all(
        isinstance(v, (int, float)) and v > 0 for v in weights.values()
    ):
        bad("-", "drill_weights must map topic tags to positive numbers")
        weights = {}
    grounded = raw.get("grounded")
    if grounded is not None and not (
        isinstance(grounded, list) and all(isinstance(g, (str, dict)) for g in grounded)
    ):
        bad("-", "grounded must be a list of template names or {template: ..., ...} mappings")
        grounded = None
    entries = raw.get("questions") or []
    if not isinstance(entries, list):
        bad("-", "questions must be a list")
        entries = []

    questions: list[Question] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            bad(f"#{i + 1}", "question must be a mapping")
            continue
        qid = str(entry.get("id", f"#{i + 1}"))
        if qid in seen:
            bad(qid, "duplicate id")
            continue
        seen.add(qid)
        q_problems: list[str] = []
        q = _parse_question(entry, chapter, topics, q_problems)
        for what in q_problems:
            bad(qid, what)
        if q is not None and not q_problems:
            questions.append(q)

    for qid, what in length_giveaways(questions) + cue_giveaways(questions):
        bad(qid, what)

    if grounded is not None:
        for g in grounded:
            name = g if isinstance(g, str) else g.get("template")
            if name not in TEMPLATES:
                bad("-", f"unknown grounded template {name!r}; valid: {sorted(TEMPLATES)}")
        grounded = tuple({"template": g} if isinstance(g, str) else dict(g) for g in grounded)

    bank = Bank(
        chapter=chapter,
        title=str(raw.get("title", chapter)),
        topics=dict(topics),
        questions=tuple(questions),
        path=path,
        drill_weights={str(k): float(v) for k, v in weights.items()},
        grounded=grounded,
    )
    return bank, problems


def _parse_question(
    e: dict[str, Any], chapter: str, topics: dict[str, str], problems: list[str]
) -> Question | None:
    """Build one Question from its YAML mapping, appending problems as it goes."""
    for key in _REQUIRED_QUESTION_KEYS:
        if key not in e or e[key] in (None, ""):
            problems.append(f"missing {key!r}")
    for key in sorted(set(e) - _QUESTION_KEYS):
        problems.append(f"unknown field {key!r}; allowed: {sorted(_QUESTION_KEYS)}")
    if problems:
        return None
    qid, qtype = str(e["id"]), str(e["type"])
    if not _ID_PATTERN.match(qid):
        problems.append("id must be lower-case letters, digits and dashes")
    if qid in RETIRED_IDS:
        problems.append("this id was retired (progress may still hold it): pick a new id")
    kind = str(e.get("kind", ""))
    if kind not in KINDS:
        problems.append(
            f"unknown kind {kind!r}; valid: {list(KINDS)}" if kind else
            "missing 'kind': add a line `kind: recall` (or application, prediction, "
            "interpretation) under `type:`; see quizzes/README.md, 'A question'")
    group = str(e.get("group", ""))
    if group and not _ID_PATTERN.match(group):
        problems.append("group must be lower-case letters, digits and dashes")
    if qtype not in QUESTION_TYPES:
        problems.append(f"unknown type {qtype!r}; valid: {list(QUESTION_TYPES)}")
        return None
    if str(e.get("chapter", chapter)) != chapter:
        problems.append(f"chapter {e['chapter']!r} differs from the bank's {chapter!r}")
    if e["topic"] not in topics:
        problems.append(f"unknown topic {e['topic']!r}; declared: {sorted(topics)}")
    if e["difficulty"] not in DIFFICULTIES:
        problems.append(f"unknown difficulty {e['difficulty']!r}; valid: {list(DIFFICULTIES)}")
    misconceptions = e.get("misconceptions") or []
    if not isinstance(misconceptions, list) or not all(isinstance(m, str) for m in misconceptions):
        problems.append("misconceptions must be a list of tags")
        misconceptions = []
    claims = e.get("claims") or []
    known = claim_numbers()  # the claims ledger, claims.yaml
    if not isinstance(claims, list) or not all(c in known for c in claims):
        problems.append(f"claims must be a list of claim numbers {min(known)}-{max(known)} "
                        f"from {claims_path().name}")
        claims = []

    common: tuple[WrongValue, ...] = ()
    tolerance = 0.0
    if qtype == "numeric":
        choices: tuple[Choice, ...] = ()
        answer: tuple[str, ...] | float = _parse_numeric(e, problems)
        tolerance = _parse_tolerance(e, problems)
        common = _parse_common_wrong(e.get("common_wrong"), problems)
        if "choices" in e:
            problems.append("numeric questions take no choices (use common_wrong)")
        if not str(e.get("explanation", "")).strip():
            problems.append("missing explanation (numeric questions need one)")
    else:
        choices = _parse_choices(e.get("choices"), qtype, problems)
        answer = _parse_answer(e["answer"], qtype, choices, problems)
        for key in ("tolerance", "common_wrong"):
            if key in e:
                problems.append(f"{key!r} is only for numeric questions")

    return Question(
        id=qid, chapter=chapter, topic=str(e["topic"]), difficulty=str(e["difficulty"]),
        type=qtype, prompt=str(e["prompt"]).strip(), answer=answer, choices=choices,
        tolerance=tolerance, unit=str(e.get("unit", "")),
        explanation=str(e.get("explanation", "")).strip(), objective=str(e.get("objective", "")),
        common_wrong=common, misconceptions=tuple(misconceptions), claims=tuple(claims),
        group=group, kind=kind,
    )


def _default_key(qtype: str, index: int) -> str:
    if qtype == "ordering":
        return str(index + 1)
    if qtype == "truefalse":
        return "TF"[index] if index < 2 else str(index)
    return "ABCDEFGH"[index] if index < 8 else str(index)


def _parse_choices(raw: Any, qtype: str, problems: list[str]) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append("choices must be a list of at least two options")
        return ()
    choices: list[Choice] = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            problems.append(f"choice {i + 1} must be a mapping with text and why")
            continue
        for key in sorted(set(c) - _CHOICE_KEYS):
            problems.append(f"choice {i + 1}: unknown field {key!r}; allowed: {sorted(_CHOICE_KEYS)}")
        key = _key_text(c.get("key", _default_key(qtype, i)))
        text = str(c.get("text", _TRUEFALSE_TEXT.get(key, "") if qtype == "truefalse" else ""))
        why = str(c.get("why") or "").strip()
        if not text.strip():
            problems.append(f"choice {key}: missing text")
        if not why:
            problems.append(f"choice {key}: missing explanation ('why')")
        choices.append(Choice(key=key, text=text.strip(), why=why))
    keys = [c.key for c in choices]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"duplicate choice key {k!r}")
    if qtype == "truefalse" and sorted(keys) != ["F", "T"]:
        problems.append("truefalse questions need exactly the choices T and F")
    return tuple(choices)


def _key_text(value: Any) -> str:
    """YAML turns ``T``/``true``/``1`` into different types; keys are always strings."""
    if value is True:
        return "T"
    if value is False:
        return "F"
    return str(value).strip().upper()


def _parse_answer(
    raw: Any, qtype: str, choices: tuple[Choice, ...], problems: list[str]
) -> tuple[str, ...]:
    keys = [c.key for c in choices]
    if not choices:  # already reported as a choices problem
        return ()
    if isinstance(raw, list):
        answer = [_key_text(a) for a in raw]
    elif qtype == "ordering" and isinstance(raw, str):
        answer = [a.strip() for a in raw.split("-")]
    elif qtype == "multiple" and isinstance(raw, str) and "," not in raw:
        answer = list(raw.strip().upper())
    else:
        answer = [_key_text(a) for a in str(raw).split(",")] if isinstance(raw, str) else [
            _key_text(raw)
        ]
    missing = [a for a in answer if a not in keys]
    if missing:
        problems.append(f"answer {missing if len(missing) > 1 else missing[0]!r} "
                        f"not among choices {keys}")
    if qtype in ("single", "truefalse") and len(answer) != 1:
        problems.append(f"{qtype} questions need exactly one answer, got {answer}")
    if qtype == "multiple":
        if len(set(answer)) != len(answer):
            problems.append("answer repeats a choice")
        answer = sorted(set(answer))
    if qtype == "ordering" and sorted(answer) != sorted(keys):
        problems.append(f"ordering answer must list every item exactly once: {keys}")
    return tuple(answer)


def _parse_numeric(e: dict[str, Any], problems: list[str]) -> float:
    value = e["answer"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"numeric answer must be a number, got {value!r}")
        return math.nan
    return float(value)


def _parse_tolerance(e: dict[str, Any], problems: list[str]) -> float:
    tol = e.get("tolerance", 0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
        problems.append(f"tolerance must be a number >= 0, got {tol!r}")
        return 0.0
    return float(tol)


def _parse_common_wrong(raw: Any, problems: list[str]) -> tuple[WrongValue, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(w, dict) and isinstance(w.get("value"), (int, float)) and w.get("why")
        for w in raw
    ):
        problems.append("common_wrong must be a list of {value: number, why: text}")
        return ()
    return tuple(WrongValue(float(w["value"]), str(w["why"]).strip()) for w in raw)
