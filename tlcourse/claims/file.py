"""The claims file, ``claims.yaml``: the claims, checked, with what measures each."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import TlcourseError
from .verdicts import VERDICTS

SOURCE_KINDS = ("exam guide", "study guide", "blog", "paper")


class ClaimsError(TlcourseError, ValueError):
    """``claims.yaml`` is missing or malformed; the message lists every problem."""


@dataclass(frozen=True)
class Claim:
    """One claim of the ledger (the fields of ``claims.yaml``)."""

    number: int
    short: str  # a few words, for the table
    claim: str  # as the popular texts state it
    sources: tuple[str, ...]  # kinds of text: SOURCE_KINDS
    quoted: str | None = None  # the number the texts quote
    chapter: str | None = None
    notebook: str | None = None  # the chapter notebook's stem
    experiment: str | None = None  # registered experiment whose records decide it
    verdict: str | None = None  # name of the verdict function in this module
    test: str | None = None  # what exactly the verdict compares
    pending: str | None = None  # no experiment yet: what will measure it
    full_profile_only: str | None = None  # why only the full profile's sizes can decide it



def claims_path() -> Path:
    """``$TLCOURSE_CLAIMS``, else ``claims.yaml`` at the repository root."""
    env = os.environ.get("TLCOURSE_CLAIMS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "claims.yaml"


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """The claims in ``path`` (default :func:`claims_path`), checked.

    Raises:
        ClaimsError: the file is missing or a claim is malformed (every problem listed).

    Example:
        >>> [c.number for c in load_claims()][:3]
        [1, 2, 3]
    """
    return list(_load(str(Path(path) if path else claims_path())))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[Claim, ...]:
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise ClaimsError(f"{path}: not found; it ships at the repository root "
                          "(or set TLCOURSE_CLAIMS to its path)") from None
    except yaml.YAMLError as e:
        raise ClaimsError(f"{path}: not valid YAML ({e})") from None
    entries = raw.get("claims") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ClaimsError(f"{path}: expected a top-level 'claims:' list")
    claims, problems = [], []
    for i, e in enumerate(entries, 1):
        try:
            c = Claim(**{**e, "sources": tuple(e.get("sources") or ()),
                         "chapter": None if e.get("chapter") is None else str(e["chapter"])})
        except TypeError as err:  # a missing or unknown field
            problems.append(f"{path}: claim #{i}: {err}")
            continue
        problems += [f"{path}: claim {c.number}: {p}" for p in _problems(c)]
        claims.append(c)
    numbers = [c.number for c in claims]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"{path}: claims must be numbered 1, 2, 3 ... in order; got {numbers}")
    if problems:
        raise ClaimsError("\n".join(problems))
    return tuple(claims)


def _problems(c: Claim) -> list[str]:
    out = [f"unknown source kind {s!r}; valid: {list(SOURCE_KINDS)}"
           for s in c.sources if s not in SOURCE_KINDS]
    if c.experiment and c.verdict not in VERDICTS:
        out.append(f"unknown verdict function {c.verdict!r}; valid: {sorted(VERDICTS)}")
    if c.experiment and not (c.notebook and c.test):
        out.append("a measured claim needs 'notebook' and 'test'")
    if not c.experiment and not c.pending:
        out.append("a claim without an experiment needs 'pending' (what will measure it)")
    if c.full_profile_only is not None and not (isinstance(c.full_profile_only, str)
                                                and c.full_profile_only.strip()):
        out.append("'full_profile_only' must say in words why the quick profile cannot decide "
                   f"the claim; got {c.full_profile_only!r}")
    return out


def claim_numbers(path: str | Path | None = None) -> list[int]:
    """The numbers quiz questions may cite (``claims: [...]``).

    Example:
        >>> claim_numbers()[-1]
        17
    """
    return [c.number for c in load_claims(path)]
