"""The claims ledger: every claim the course tests, where it is measured, and today's verdict.

The claims are data (``claims.yaml`` at the repository root, beside ``quizzes/``). Each names the
experiment that measures it and a verdict function (:mod:`.verdicts`) that reads its records
into two arms, paired by seed and oriented so that a positive gap is the direction the claim
states. The verdict is the one judge's, :func:`tlcourse.stats.judge` (its 95 % interval counts
the seeds and, where the records keep per-item outcomes, the test items), never typed in:

* **holds** - the interval lies above 0, the claim's direction;
* **does not hold here** - the interval lies below 0;
* **inconclusive at N seeds** - the interval spans 0 (or one seed: no spread measured); the
  ledger says how many seeds, or test items, would likely decide a gap of that size;
* **not measured yet** - no saved results of the experiment (or no experiment yet);
* **decided in the full profile only** - the claim sets ``full_profile_only`` (why the quick
  profile cannot reach its regime) and the ledger reads another profile's records.

Beside each verdict: the judge's sentence (sign first, then size, then the interval), the gap
and its interval, the seeds and test items it rests on, and the number the texts quote.

Example:
    >>> rows = ledger(load_claims(), collect(load_claims(), "quick"), "quick")  # doctest: +SKIP
    >>> print(to_text(rows))                                                    # doctest: +SKIP
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..stats import HOLDS, OPPOSITE
from .file import SOURCE_KINDS, Claim, ClaimsError, claim_numbers, claims_path, load_claims
from .report import to_json, to_markdown, to_text, write
from .verdicts import FULL_ONLY, MISSING, VERDICTS, Finding, _missing

__all__ = ["FULL_ONLY", "HOLDS", "MISSING", "OPPOSITE", "SOURCE_KINDS", "VERDICTS", "Claim",
           "ClaimsError", "Finding", "cached_records", "claim_numbers", "claims_path", "collect",
           "experiments_needed", "ledger", "load_claims", "to_json",
           "to_markdown", "to_text", "verdict_of", "write"]


def experiments_needed(claims: list[Claim]) -> list[str]:
    """The experiments the verdicts read, each once, in claim order."""
    return list(dict.fromkeys(c.experiment for c in claims if c.experiment))


def cached_records(name: str, profile: str, seeds: tuple[int, ...] | None = None
                   ) -> list[dict] | None:
    """The records of ``name``'s saved run for the current code, ``profile`` and ``seeds`` (None:
    the profile's own), or None."""
    from .. import cache
    from ..experiments import cached_results

    if not cache.enabled():
        return None
    hit = cached_results(name, profile, seeds, any_threads=True)  # the workers run on one thread
    return None if hit is None or hit.smoke else hit.records


def collect(claims: list[Claim], profile: str = "quick", run: bool = False, progress: bool = True,
            jobs: int | None = None, log: TextIO | None = None,
            seeds: int | None = None) -> dict[str, list[dict] | None]:
    """Experiment -> records: saved runs, and with ``run`` the missing ones computed (and saved)
    by :func:`tlcourse.experiments.run_many`, ``jobs`` (default
    :func:`tlcourse.experiments.default_jobs`) at a time in worker processes, progress lines to ``log`` (default
    stderr); None for a missing one otherwise.

    With ``seeds=N`` the runs at seeds 0 .. N-1 are read (and with ``run`` made); without
    ``run``, an experiment not saved at N seeds falls back to its run at the profile's seeds,
    so ``tlcourse run NAME --seeds N`` then ``tlcourse claims --seeds N`` shows that one claim
    settled beside the others (each verdict names its seeds).

    Example:
        >>> records = collect(load_claims(), "quick")          # doctest: +SKIP
        >>> records["data-scaling"] is None                    # doctest: +SKIP
        True
    """
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds={seeds!r}: give the number of seeds to run, 1 or more")
    wanted = tuple(range(seeds)) if seeds else None
    out = {}
    for name in experiments_needed(claims):
        out[name] = cached_records(name, profile, wanted)
        if out[name] is None and wanted and not run:
            out[name] = cached_records(name, profile)
    missing = [name for name, records in out.items() if records is None] if run else []
    if missing:
        from ..experiments import run_many

        for name, records, _ in run_many(missing, profile, progress, jobs, log or sys.stderr,
                                         wanted):
            out[name] = records
    return out


def verdict_of(claim: Claim, records: dict[str, list[dict] | None],
               profile: str = "quick") -> Finding:
    """``claim``'s finding from the records of its experiment (``not measured yet`` without)."""
    if not claim.experiment:
        return _missing(f"pending: {claim.pending}")
    recs = records.get(claim.experiment)
    if not recs:
        return _missing(f"run: tlcourse run {claim.experiment} --profile {profile}")
    rerun = f"rerun: tlcourse run {claim.experiment} --profile {profile} --fresh"
    try:
        found = VERDICTS[claim.verdict](recs)
    except KeyError as e:  # records of another shape: say so, do not guess
        return _missing(f"the records of {claim.experiment} lack the field {e}; {rerun}")
    except ValueError as e:
        return _missing(f"the records of {claim.experiment} cannot be judged ({e}); {rerun}")
    if claim.full_profile_only and profile != "full" and found.status != MISSING:
        return Finding(FULL_ONLY, found.measured, found.verdict, found.versus_quote, found.items)
    return found


def ledger(claims: list[Claim], records: dict[str, list[dict] | None],
           profile: str = "quick") -> list[tuple[Claim, Finding]]:
    """Every claim with its finding.

    Example:
        >>> rows = ledger(load_claims(), {"feature-extraction": records})  # doctest: +SKIP
        >>> rows[2][1].status                                              # doctest: +SKIP
        'holds'
    """
    return [(c, verdict_of(c, records, profile)) for c in claims]
