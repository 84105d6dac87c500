"""The class report: one HTML page that opens offline, plus CSV files for a spreadsheet.

``write_report`` writes into ``out_dir``:

* ``index.html``: class summary, warnings, flagged items first (the reason in words and the
  choice shares overall / top 27 % / bottom 27 %), a difficulty-vs-discrimination scatter, every
  item, and a per-learner table. Plots are inline PNGs; no JavaScript, nothing fetched.
* ``attempts_long.csv``: every quiz attempt, one row each (``first`` marks the ones analysed).
* ``exercises_long.csv``: every exercise check run.
* ``learners_wide.csv``: one row per learner: first-attempt score overall, per chapter and per
  chapter/topic, exercises passed.
* ``items.csv``: per item statistics and flags (see :mod:`tlcourse.classroom.items`).

**Names.** Learners submit under pseudonyms. With ``roster_csv`` (columns ``pseudonym,name``)
names appear in ``index.html`` and ``learners_wide.csv`` only: those two files are for the
instructor to keep. ``attempts_long.csv``, ``exercises_long.csv`` and ``items.csv`` never carry a
name, so they can be shared (with a colleague, or to improve the banks).

Example:
    >>> from tlcourse.classroom.simulate import simulate_class
    >>> import tempfile
    >>> sim = simulate_class(n_learners=12, seed=0)
    >>> write_report(sim.attempts, sim.exercises, sim.banks, tempfile.mkdtemp()).name
    'index.html'
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import TlcourseError
from ..quiz.bank import Bank, BankError, load_banks
from .gradebook import COURSE_EXERCISES, GROUNDED_ID, roster_rows
from .items import (
    FLAG_NAMES,
    GROUP_SHARE,
    TOO_EASY_P,
    TOO_HARD_P,
    ClassAnalysis,
    ItemStats,
    analyse_class,
    first_attempts,
)
from .reliability import Reliability, chapter_reliability, subset_warnings
from .submission import plural

ATTEMPT_COLUMNS = ["learner", "chapter", "item_id", "topic", "type", "grounded", "attempt",
                   "first", "bank_choice", "correct", "time"]
EXERCISE_COLUMNS = ["learner", "chapter", "exercise_id", "passed", "time"]
ITEM_COLUMNS = ["chapter", "item_id", "topic", "type", "grounded", "n", "p", "chance",
                "item_rest_r", "d_index", "n_group", "key", "flags", "reasons",
                "choices_overall", "choices_upper", "choices_lower", "note"]


class ReportError(TlcourseError, ValueError):
    """The report cannot be written; the message names the file and the fix."""


def write_report(attempts: Sequence[Mapping[str, Any]], exercises: Sequence[Mapping[str, Any]],
                 banks: Sequence[Bank] | None, out_dir: str | os.PathLike,
                 roster_csv: str | os.PathLike | None = None,
                 notes: Sequence[str] = ()) -> Path:
    """Analyse a class and write the HTML report and CSV files into ``out_dir``.

    Attempts at items no bank holds and runs of exercises not in the course are left out of
    every file (a forged or stale submission must not enter the statistics); the page says how
    many were ignored.

    Args:
        attempts: Quiz attempts in the gradebook's data contract (all attempts, any order).
        exercises: Exercise check runs ``{learner, chapter, exercise_id, passed, time}``.
        banks: The question banks (prompts, choice texts, keys); None loads every bank on disk.
        out_dir: Folder to write into (created if missing).
        roster_csv: Optional CSV ``pseudonym,name``; names go into the HTML and the wide CSV
            only.
        notes: Sentences shown with the warnings, e.g. the gradebook's
            :func:`~tlcourse.classroom.gradebook.disagreements`.

    Returns:
        The path of ``index.html``.

    Raises:
        ReportError: ``out_dir`` is a file, or the roster cannot be read.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out}: is a file; give a folder for the report (--out REPORT)")
    names = read_roster(roster_csv) if roster_csv is not None else {}
    if banks is None:
        try:
            banks = load_banks()
        except BankError:
            banks = []  # items are then described from the attempts alone
    attempts, exercises, ignored = course_only(attempts, exercises, banks)
    analysis = analyse_class(attempts, exercises, banks)
    first = first_attempts(attempts)
    analysis.warnings[:0] = [*notes, *ignored]
    analysis.warnings += subset_warnings(first)
    out.mkdir(parents=True, exist_ok=True)
    _write_attempts(out / "attempts_long.csv", attempts)
    _write_csv(out / "exercises_long.csv", EXERCISE_COLUMNS,
               [{k: e.get(k) for k in EXERCISE_COLUMNS} for e in exercises])
    _write_learners(out / "learners_wide.csv", analysis, names)
    _write_items(out / "items.csv", analysis.items)
    index = out / "index.html"
    index.write_text(render_html(analysis, names, n_attempts=len(attempts),
                                 reliability=chapter_reliability(first)), encoding="utf-8")
    return index


def course_only(attempts: Sequence[Mapping[str, Any]], exercises: Sequence[Mapping[str, Any]],
                banks: Sequence[Bank]) -> tuple[list[Mapping[str, Any]],
                                                 list[Mapping[str, Any]], list[str]]:
    """The attempts and exercise runs the course holds, and a sentence for each kind left out.

    An attempt counts when a bank holds its item, or it is a grounded item of a bank's chapter;
    with no banks at all, every attempt counts. An exercise run counts when its id is one of
    :data:`~tlcourse.classroom.gradebook.COURSE_EXERCISES`, in its own chapter.

    Example:
        >>> course_only([], [{"exercise_id": "ch99-ex-x", "chapter": "ch99"}], [])[2]
        ['1 exercise run of exercises not in the course was ignored (e.g. ch99-ex-x).']
    """
    questions = {q.id for b in banks for q in b.questions}
    chapters = {b.chapter for b in banks}

    def held(a: Mapping[str, Any]) -> bool:
        item = str(a["item_id"])
        return item in questions or bool(
            GROUNDED_ID.fullmatch(item) and str(a["chapter"]) in chapters)

    kept = [a for a in attempts if held(a)] if questions else list(attempts)
    runs = [e for e in exercises if str(e["exercise_id"]) in COURSE_EXERCISES
            and str(e["exercise_id"]).startswith(f"{e['chapter']}-")]
    notes = []
    if len(kept) < len(attempts):
        odd = sorted({str(a["item_id"]) for a in attempts if not held(a)})
        n = len(attempts) - len(kept)
        notes.append(f"{plural(n, 'attempt')} at {plural(len(odd), 'item id')} that no bank "
                     f"holds {'was' if n == 1 else 'were'} ignored (e.g. {odd[0][:60]}): "
                     "a forged submission, or items removed from the banks.")
    if len(runs) < len(exercises):
        odd = sorted({str(e["exercise_id"]) for e in exercises} - COURSE_EXERCISES)
        n = len(exercises) - len(runs)
        notes.append(f"{plural(n, 'exercise run')} of exercises not in the course "
                     f"{'was' if n == 1 else 'were'} ignored"
                     + (f" (e.g. {odd[0][:60]})." if odd else "."))
    return kept, runs, notes


def read_roster(path: str | os.PathLike) -> dict[str, str]:
    """``pseudonym -> name`` from a CSV with a ``pseudonym,name`` header.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "roster.csv"
        >>> _ = p.write_text("pseudonym,name\\nowl-42,Ada Lovelace\\n")
        >>> read_roster(p)
        {'owl-42': 'Ada Lovelace'}
    """
    rows = roster_rows(path, "name", ReportError,
                       "the roster needs a header line 'pseudonym,name' and one row per learner")
    return {str(r["pseudonym"]).strip(): str(r["name"] or "").strip()
            for r in rows if r.get("pseudonym")}


def flagged_lines(analysis: ClassAnalysis) -> list[str]:
    """The flagged items as the report lists them: one line per flag, most serious first.

    Example:
        >>> flagged_lines(ClassAnalysis([], [], []))
        []
    """
    return [f"{s.item_id}: {f.text}" for s in analysis.flagged for f in s.flags]


# --------------------------------------------------------------------------- CSV
def _write_csv(path: Path, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows({k: _cell(r.get(k)) for k in columns} for r in rows)


#: A cell a spreadsheet would run as a formula (OWASP, "CSV injection") ...
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: ... unless it is a plain number such as -2.5.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _cell(v: Any) -> Any:
    """A CSV cell: NaN blank, floats rounded, and text that a spreadsheet would run as a
    formula prefixed with ``'`` so it shows as the text it is (learner text is untrusted)."""
    if isinstance(v, float):
        return "" if math.isnan(v) else round(v, 4)
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(v):
        return "'" + v
    return "" if v is None else v


def _write_attempts(path: Path, attempts: Sequence[Mapping[str, Any]]) -> None:
    firsts = {id(a) for a in first_attempts(attempts)}
    rows = [dict(a, first=id(a) in firsts) for a in attempts]
    rows.sort(key=lambda r: (str(r["learner"]), str(r["time"]), str(r["item_id"])))
    _write_csv(path, ATTEMPT_COLUMNS, rows)


def _learner_columns(analysis: ClassAnalysis) -> tuple[list[str], list[str], list[str]]:
    chapters = sorted({c for s in analysis.learners for c in s.by_chapter})
    topics = sorted({t for s in analysis.learners for t in s.by_topic})
    ex = sorted({c for s in analysis.learners for c in s.exercises_by_chapter})
    return chapters, topics, ex


def _write_learners(path: Path, analysis: ClassAnalysis, names: Mapping[str, str]) -> None:
    chapters, topics, ex = _learner_columns(analysis)
    columns = (["learner"] + (["name"] if names else []) + ["answered", "score"]
               + [f"score:{c}" for c in chapters] + [f"score:{t}" for t in topics]
               + ["exercises_passed", "exercises_tried"] + [f"exercises_passed:{c}" for c in ex])
    rows = []
    for s in analysis.learners:
        row: dict[str, Any] = {"learner": s.learner, "name": names.get(s.learner, ""),
                               "answered": s.answered, "score": s.score,
                               "exercises_passed": s.exercises_passed,
                               "exercises_tried": s.exercises_tried}
        row.update({f"score:{c}": v for c, v in s.by_chapter.items()})
        row.update({f"score:{t}": v for t, v in s.by_topic.items()})
        row.update({f"exercises_passed:{c}": v for c, v in s.exercises_by_chapter.items()})
        rows.append(row)
    _write_csv(path, columns, rows)


def _shares(s: ItemStats, which: str) -> str:
    return " ".join(f"{c.key}:{getattr(c, which):.3f}" for c in s.choices
                    if not math.isnan(getattr(c, which)))


def _write_items(path: Path, items: Sequence[ItemStats]) -> None:
    rows = [{"chapter": s.chapter, "item_id": s.item_id, "topic": s.topic, "type": s.type,
             "grounded": s.grounded, "n": s.n, "p": s.p, "chance": s.chance,
             "item_rest_r": s.rest_r, "d_index": s.d_index, "n_group": s.n_group, "key": s.key,
             "flags": ";".join(f.code for f in s.flags),
             "reasons": " | ".join(f.text for f in s.flags),
             "choices_overall": _shares(s, "overall"), "choices_upper": _shares(s, "upper"),
             "choices_lower": _shares(s, "lower"), "note": s.note} for s in items]
    _write_csv(path, ITEM_COLUMNS, rows)


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}td.n{text-align:right}.warn{background:#fff4d6;border-left:4px solid #e0a800;
padding:.5em 1em;margin:.5em 0}.item{border:1px solid #ddd;padding:.5em 1em;margin:1em 0}
.flag{color:#a40000}.key{font-weight:bold}.small{color:#666;font-size:90%}
"""


def render_html(analysis: ClassAnalysis, names: Mapping[str, str] | None = None,
                n_attempts: int | None = None,
                reliability: Sequence[Reliability] = ()) -> str:
    """The report page as one self-contained HTML string (``reliability``: per chapter quiz,
    from :func:`~tlcourse.classroom.reliability.chapter_reliability`)."""
    names = names or {}
    e = html.escape
    written = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Class report</title>",
        f"<style>{_CSS}</style></head><body><h1>Class report</h1>",
        f"<p class='small'>Written {written}. Statistics use each learner's first attempt "
        + "at each item only.</p>",
        "<h2>Summary</h2>",
        _summary(analysis, n_attempts),
    ]
    if reliability:
        parts.append("<p>Reliability per chapter quiz (KR-20, Cronbach's alpha for right/wrong "
                     "items, over the learners with every item; SEM: how far a total would "
                     "typically move on a parallel quiz; .70 is enough for a low-stakes "
                     "quiz):</p><ul>" + "".join(f"<li>{e(r.text())}</li>" for r in reliability)
                     + "</ul>")
    for w in analysis.warnings:
        parts.append(f"<div class='warn'>{e(w)}</div>")
    flagged = analysis.flagged
    parts.append(f"<h2>Flagged items ({len(flagged)})</h2>")
    if flagged:
        parts.append("<p>Most serious first. A flag is a reason to read the item again, not a "
                     "verdict. Thresholds and the rules of thumb they come from are in "
                     "<code>tlcourse/classroom/items.py</code>.</p>")
        parts += [_item_block(s) for s in flagged]
    else:
        parts.append("<p>No item is flagged.</p>")
    parts.append("<h2>Difficulty and discrimination</h2>")
    parts.append(_scatter(analysis.items))
    parts.append(_items_table(analysis.items))
    parts.append("<h2>Learners</h2>")
    parts.append(_learners_table(analysis, names))
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(analysis: ClassAnalysis, n_attempts: int | None) -> str:
    items = [s for s in analysis.items if not s.grounded]
    chapters = sorted({s.chapter for s in analysis.items})
    scores = sorted(s.score for s in analysis.learners if not math.isnan(s.score))
    median = scores[len(scores) // 2] if len(scores) % 2 else (
        (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2 if scores else math.nan)
    lines = [f"{plural(len(analysis.learners), 'learner')}; {plural(len(items), 'item')} "
             f"analysed in {plural(len(chapters), 'chapter')} ({', '.join(chapters) or 'none'})"
             + (f" from {plural(n_attempts, 'attempt')}" if n_attempts is not None else "")
             + "."]
    if scores:
        lines.append(f"Median learner: {100 * median:.0f} % right on first attempts "
                     f"(range {100 * scores[0]:.0f}-{100 * scores[-1]:.0f} %).")
    ex = [s for s in analysis.learners if s.exercises_tried]
    if ex:
        lines.append(f"Exercises: {sum(s.exercises_passed for s in ex)} passed of "
                     f"{sum(s.exercises_tried for s in ex)} tried, by "
                     f"{plural(len(ex), 'learner')}.")
    flagged = analysis.flagged
    lines.append(f"{plural(len(flagged), 'item')} flagged.")
    return "<p>" + " ".join(html.escape(x) for x in lines) + "</p>"


def _pct(x: float) -> str:
    return "" if math.isnan(x) else f"{100 * x:.0f} %"


def _num(x: float) -> str:
    return "" if math.isnan(x) else f"{x:+.2f}"


def _item_block(s: ItemStats) -> str:
    e = html.escape
    head = (f"<div class='item'><h3>{e(s.item_id)}</h3><p class='small'>{e(s.chapter)} · "
            f"{e(s.type)} · topic {e(s.topic)}</p>")
    prompt = f"<p>{e(s.prompt)}</p>" if s.prompt else ""
    flags = "<ul>" + "".join(f"<li class='flag'>{e(f.text)}</li>" for f in s.flags) + "</ul>"
    stats = (f"<p class='small'>n = {s.n}, right {_pct(s.p)} (chance {_pct(s.chance)}), "
             f"item-rest r = {_num(s.rest_r)}, D = {_num(s.d_index)} "
             f"(groups of {s.n_group}, top and bottom {GROUP_SHARE:.0%} by rest score)</p>")
    return head + prompt + flags + stats + _choices_table(s) + "</div>"


def _choices_table(s: ItemStats) -> str:
    if not s.choices:
        return ""
    e = html.escape
    what = "selected" if s.type == "multiple" else "chose"
    group = f"{GROUP_SHARE:.0%}"
    rows = [f"<tr><th>choice</th><th>text</th><th>{what}: all</th><th>top {group}</th>"
            + f"<th>bottom {group}</th></tr>"]
    for c in s.choices:
        text = c.text if len(c.text) <= 110 else c.text[:107] + "..."
        mark = " (key)" if c.correct else ""
        cls = " class='key'" if c.correct else ""
        rows.append(f"<tr><td{cls}>{e(c.key)}{mark}</td><td>{e(text)}</td>"
                    f"<td class='n'>{_pct(c.overall)}</td><td class='n'>{_pct(c.upper)}</td>"
                    f"<td class='n'>{_pct(c.lower)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _items_table(items: Sequence[ItemStats]) -> str:
    e = html.escape
    head = ["chapter", "item", "type", "n", "right", "item-rest r", "D", "flags / note"]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for s in items:
        flags = ", ".join(FLAG_NAMES[f.code] for f in s.flags) or s.note
        rows.append(f"<tr><td>{e(s.chapter)}</td><td>{e(s.item_id)}</td><td>{e(s.type)}</td>"
                    f"<td class='n'>{s.n}</td><td class='n'>{_pct(s.p)}</td>"
                    f"<td class='n'>{_num(s.rest_r)}</td><td class='n'>{_num(s.d_index)}</td>"
                    f"<td>{e(flags)}</td></tr>")
    return "<h3>Every item</h3><table>" + "".join(rows) + "</table>"


def _learners_table(analysis: ClassAnalysis, names: Mapping[str, str]) -> str:
    e = html.escape
    chapters, _, _ = _learner_columns(analysis)
    head = ["learner"] + (["name"] if names else []) + ["answered", "score"] + chapters + [
        "exercises passed"]
    rows = ["<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for s in sorted(analysis.learners, key=lambda s: (names.get(s.learner, ""), s.learner)):
        cells = [e(s.learner)] + ([e(names.get(s.learner, ""))] if names else [])
        cells += [str(s.answered), _pct(s.score)]
        cells += [_pct(s.by_chapter.get(c, math.nan)) for c in chapters]
        cells.append(f"{s.exercises_passed} / {s.exercises_tried}")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ("<p class='small'>Scores: share right on first attempts. Topic scores are in "
            "<code>learners_wide.csv</code>.</p><table>" + "".join(rows) + "</table>")


def _scatter(items: Sequence[ItemStats]) -> str:
    """Difficulty (share right) against item-rest r, flagged items in red, as an inline PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    pts = [s for s in items if not s.grounded and not math.isnan(s.rest_r)]
    if not pts:
        return "<p>No item has a discrimination to plot.</p>"
    fig = Figure(figsize=(7, 4.6), dpi=110)
    ax = fig.add_subplot()
    ax.axvspan(0, TOO_HARD_P, color="#f6e0e0", lw=0)
    ax.axvspan(TOO_EASY_P, 1, color="#f6e0e0", lw=0)
    ax.axhline(0, color="#888", lw=0.8)
    difficulty_only = {"too-easy", "too-hard"}
    groups = [
        ([s for s in pts if not s.flags], "#3465a4", "not flagged"),
        ([s for s in pts if s.flags and {f.code for f in s.flags} <= difficulty_only],
         "#f0a030", "too easy / too hard only"),
        ([s for s in pts if {f.code for f in s.flags} - difficulty_only], "#cc0000",
         "key, discrimination or distractor flag"),
    ]
    for group, color, label in groups:
        ax.scatter([s.p for s in group], [s.rest_r for s in group], s=24, color=color,
                   label=label)
    for s in groups[2][0]:  # name only the items that need reading
        # parse_math off: an id is shown as written, never read as mathtext ("q$\foo$" crashed)
        ax.annotate(s.item_id, (s.p, s.rest_r), fontsize=7, xytext=(4, 2),
                    textcoords="offset points", parse_math=False)
    ax.set(xlim=(0, 1), xlabel="difficulty: share right on first attempt",
           ylabel="item-rest correlation r",
           title="One dot per item: right = easier, higher = separates strong from weak")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8,
              frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<img alt='difficulty against item-rest correlation, one dot per item' "
            f"src='data:image/png;base64,{data}'>")
