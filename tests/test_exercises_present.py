"""Every chapter notebook carries at least two checked exercises, in nbgrader's form.

An exercise is a code cell with the worked solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, followed by a check cell that calls ``check("chNN-ex-<slug>", {...})``
(:func:`tlcourse.exercises.check`). The chapter in the id must be the notebook's own (``ch03b``
for ``03b_mistakes_lab.ipynb``) and no id may be used twice in the course, or two exercises would
share one line of the learner's progress. Chapters 00 (the claims) and 06 (the exam drill) have
no exercises. These tests read the notebooks' JSON only: nothing is executed.
"""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from tlcourse.exercises import EXERCISE_ID

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WITHOUT_EXERCISES = {"00", "06"}  # the claims overview and the exam drill
MIN_EXERCISES = 2
CHECK_CALL = re.compile(r"""\bcheck(?:_answer)?\(\s*(["'])(?P<id>[^"']+)\1""")
MARKER = re.compile(r"^\s*###\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")


def _chapter(path: Path) -> str | None:
    """``"03b"`` for ``03b_mistakes_lab.ipynb``; None for an unnumbered notebook."""
    m = re.match(r"(\d{2}[a-z]?)_", path.name)
    return m.group(1) if m else None


CHAPTERS = sorted(p for p in NOTEBOOKS.glob("*.ipynb")
                  if _chapter(p) and _chapter(p)[:2] not in WITHOUT_EXERCISES)


def _code_cells(path: Path) -> list[tuple[int, str]]:
    """(cell index, source) of every code cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(cells) if c["cell_type"] == "code"]


def _check_ids(path: Path) -> list[tuple[int, str]]:
    """(cell index, exercise id) of every ``check("...")`` call."""
    return [(i, m.group("id")) for i, src in _code_cells(path) for m in CHECK_CALL.finditer(src)]


def _marker_problems(source: str) -> list[str]:
    """Unbalanced or nested BEGIN/END markers in one cell's source."""
    problems, open_block = [], None
    for number, line in enumerate(source.split("\n"), 1):
        m = MARKER.match(line)
        if not m:
            continue
        edge, kind = m.groups()
        if edge == "BEGIN":
            if open_block:
                problems.append(f"line {number}: BEGIN {kind} inside an open {open_block} block")
            open_block = kind
        elif open_block != kind:
            problems.append(f"line {number}: END {kind} without its BEGIN")
        else:
            open_block = None
    if open_block:
        problems.append(f"BEGIN {open_block} never closed")
    return problems


def test_the_chapters_are_found():
    names = {p.name for p in CHAPTERS}
    assert {"01_scratch_vs_transfer.ipynb", "03b_mistakes_lab.ipynb",
            "05b_negative_transfer.ipynb"} <= names
    assert not any(n.startswith(("00_", "06_")) for n in names)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_has_two_checked_exercises(path: Path):
    cells = _code_cells(path)
    solutions = [i for i, src in cells if "### BEGIN SOLUTION" in src]
    ids = _check_ids(path)
    assert len(solutions) >= MIN_EXERCISES and len(ids) >= MIN_EXERCISES, (
        f"{path.name}: {len(solutions)} solution cells and {len(ids)} check calls; every chapter "
        f"needs at least {MIN_EXERCISES} exercises (a solution cell, then a check cell)")
    previous = {idx: prev for (prev, _), (idx, _) in pairwise(cells)}
    for i, eid in ids:
        assert previous.get(i) in solutions, (
            f"{path.name}: cell {i} checks {eid!r} but the code cell before it holds no "
            "### BEGIN SOLUTION block for the learner to fill in")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_markers_are_balanced(path: Path):
    problems = [f"{path.name}: cell {i}: {p}" for i, src in _code_cells(path)
                for p in _marker_problems(src)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercise_ids_name_their_chapter(path: Path):
    want = f"ch{_chapter(path)}"
    for i, eid in _check_ids(path):
        assert EXERCISE_ID.match(eid), f"{path.name}: cell {i}: {eid!r} is not chNN-ex-<slug>"
        assert eid.split("-ex-")[0] == want, (
            f"{path.name}: cell {i}: exercise {eid!r} should start with {want}-ex-")


def test_exercise_ids_are_unique_across_the_course():
    seen: dict[str, str] = {}
    for path in CHAPTERS:
        for i, eid in _check_ids(path):
            where = f"{path.name} cell {i}"
            assert eid not in seen, f"exercise id {eid!r} is used in {seen[eid]} and {where}"
            seen[eid] = where


def test_marker_checker_catches_an_unbalanced_block():
    assert _marker_problems("### BEGIN SOLUTION\nx = 1\n### END SOLUTION") == []
    assert _marker_problems("### BEGIN SOLUTION\nx = 1") == ["BEGIN SOLUTION never closed"]
    assert _marker_problems("x = 1\n### END SOLUTION") == ["line 2: END SOLUTION without its BEGIN"]
    assert _marker_problems("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n"
                            "### END SOLUTION")[0].startswith("line 2: BEGIN HIDDEN TESTS inside")
