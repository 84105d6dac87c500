"""The ledger in words: text for a terminal, a Markdown table, JSON; each claim with the gap,
its 95 % interval, the seeds and test items it rests on, the verdict word and, for an
inconclusive one, what would decide it."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from .file import Claim
from .verdicts import FULL_ONLY, MISSING, Finding


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _points(x: float, sign: str = "") -> str:
    """A fraction in points, one decimal, with a true minus sign."""
    return f"{x * 100:{sign}.1f}".replace("-", "−")


def _gap(f: Finding) -> str:
    """'+3.0 points (95 % interval −1.2 to 7.3)': the gap in the claim's direction."""
    v = f.verdict
    span = (f"{_points(v.low)} to {_points(v.high)}" if math.isfinite(v.low)
            else "none: one seed")
    return f"{_points(v.gap, '+')} points ({round(v.level * 100)} % interval {span})"


def _seed_list(seeds: tuple[int, ...] | None) -> str:
    """'0–4' for consecutive seeds, else '0, 2, 5'."""
    if not seeds:
        return ""
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _counts(f: Finding) -> str:
    """'3 seeds (0–2), 126 test photos' and whether the interval counts the test items."""
    v = f.verdict
    said = f"{v.n_seeds} seed{'s' if v.n_seeds != 1 else ''}"
    said += f" ({_seed_list(v.seeds)})" if v.seeds else ""
    if not v.n_items and v.test_set == "resampled":
        return said + f", each on its own draw of {f.items} (the spread between seeds carries " \
            "their sampling error)"
    if not v.n_items:
        return said + f", {f.items} not recorded"
    said += f", {v.n_items:,} {f.items}"
    return said if v.items_counted or v.test_set == "resampled" else (
        said + " (no per-item outcomes recorded: the interval counts the seeds only)")


def _settle(c: Claim, f: Finding, profile: str) -> str:
    """What would decide an inconclusive claim, and the commands that run it."""
    v = f.verdict
    if f.status == FULL_ONLY:
        return f"the quick profile cannot decide it: {c.full_profile_only}; run: tlcourse " \
               f"claims --run --profile full"
    if v is None or v.decided:
        return ""
    full = " --profile full" if profile == "full" else ""
    run = (f"; run: tlcourse run {c.experiment}{full} --seeds {v.seeds_needed}, then tlcourse "
           f"claims{full} --seeds {v.seeds_needed}") if v.seeds_needed else ""
    return v.need.replace(" items", f" {f.items}") + run


def _measured(f: Finding) -> str:
    """What was measured, beside the quote; for a missing one, how to measure it."""
    if f.status == MISSING:
        return f.measured
    said = "measured here, no verdict: " if f.status == FULL_ONLY else "measured: "
    return said + f.measured + (f" — {f.versus_quote}" if f.versus_quote else "")


def _to_fill(rows: list[tuple[Claim, Finding]]) -> str:
    n = sum(f.status == MISSING and c.experiment is not None for c, f in rows)
    return (f"{n} claim{'s' if n != 1 else ''} not measured yet for want of saved results: "
            "`tlcourse claims --run` runs what they need." if n else "")


def to_markdown(rows: list[tuple[Claim, Finding]], links: str = "notebooks/",
                profile: str = "quick") -> str:
    """A Markdown table; notebook links are ``links + stem + ".ipynb"``."""
    head = ("| # | claim | verdict | gap as claimed, points (95 % interval) | seeds · test items "
            "| quoted · measured | measured in |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for c, f in rows:
        quoted = f"quoted {c.quoted} · " if c.quoted else ""
        where = (f"[ch. {c.chapter}]({links}{c.notebook}.ipynb) · `{c.experiment}`"
                 if c.experiment else "—")
        settle = _settle(c, f, profile)
        numbers = f"{_cell(_gap(f))} | {_cell(_counts(f))}" if f.verdict else "— | —"
        lines.append(f"| {c.number} | {_cell(c.short)} | **{f.status}**"
                     + (f" · {_cell(settle)}" if settle else "")
                     + f" | {numbers} | {_cell(quoted + _measured(f))} | {where} |")
    fill = _to_fill(rows)
    return "\n".join(lines) + (f"\n\n{fill}" if fill else "")


def to_text(rows: list[tuple[Claim, Finding]], profile: str = "quick") -> str:
    """The ledger for a terminal: one block per claim."""
    out = []
    for c, f in rows:
        out.append(f"{c.number:2d}. {c.short}: {f.status.upper()}")
        if c.quoted:
            out.append(f"    quoted {c.quoted}")
        out.append(f"    {_measured(f)}")
        if f.verdict:
            out.append(f"    gap as claimed {_gap(f)}; {_counts(f)}")
        settle = _settle(c, f, profile)
        if settle:
            out.append(f"    to decide it: {settle}")
        if c.experiment:
            out.append(f"    in {c.experiment}, chapter {c.chapter} (notebooks/{c.notebook}.ipynb)")
    fill = _to_fill(rows)
    return "\n".join(out) + (f"\n\n{fill.replace('`', '')}" if fill else "")


def to_json(rows: list[tuple[Claim, Finding]], profile: str = "quick") -> dict:
    """The ledger as a JSON-ready dict: the profile and one entry per claim, with the judge's
    verdict (gap, interval, seeds, test items, what would decide it) under ``judge``."""
    out = []
    for c, f in rows:
        entry = {**asdict(c), "sources": list(c.sources)}
        entry["verdict_function"] = entry.pop("verdict")
        out.append({**entry, "status": f.status, "measured": f.measured,
                    "versus_quote": f.versus_quote, "items": f.items,
                    "to_decide": _settle(c, f, profile),
                    "judge": f.verdict.to_dict() if f.verdict else None})
    return {"profile": profile, "claims": out}


def write(rows: list[tuple[Claim, Finding]], out: str | Path, profile: str = "quick") -> list[Path]:
    """Write ``out`` as ``.md`` and ``.json`` (any suffix of ``out`` is replaced)."""
    base = Path(out)
    base = base.with_suffix("") if base.suffix in (".md", ".json") else base
    md, js = Path(f"{base}.md"), Path(f"{base}.json")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(f"# Claims ledger ({profile} profile)\n\n{to_markdown(rows, profile=profile)}\n",
                  encoding="utf-8")
    js.write_text(json.dumps(to_json(rows, profile), indent=1, ensure_ascii=False),
                  encoding="utf-8")
    return [md, js]
