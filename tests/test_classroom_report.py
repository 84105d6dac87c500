"""The class report (tlcourse.classroom.report): files, columns, flagged items, warnings, names."""

import csv

import pytest

from tlcourse.classroom.report import (
    ATTEMPT_COLUMNS,
    ITEM_COLUMNS,
    ReportError,
    read_roster,
    write_report,
)
from tlcourse.classroom.simulate import simulate_class


def _rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sim():
    return simulate_class(n_learners=40, seed=0)


def test_a_simulated_class_gives_every_file_with_its_columns(sim, tmp_path):
    index = write_report(sim.attempts, sim.exercises, sim.banks, tmp_path / "report")
    out = index.parent
    assert index.name == "index.html"
    assert {p.name for p in out.iterdir()} == {
        "index.html", "attempts_long.csv", "exercises_long.csv", "learners_wide.csv",
        "items.csv"}
    attempts = _rows(out / "attempts_long.csv")
    assert list(attempts[0]) == ATTEMPT_COLUMNS and len(attempts) == len(sim.attempts)
    firsts = {(a["learner"], a["item_id"]) for a in attempts if a["first"] == "True"}
    assert len(firsts) == sum(a["first"] == "True" for a in attempts)  # one first per item
    assert any(a["attempt"] == "2" for a in attempts)  # retries are kept, just not analysed

    items = _rows(out / "items.csv")
    assert list(items[0]) == ITEM_COLUMNS
    bank_items = {q.id for q in sim.banks[0].questions}
    assert bank_items <= {r["item_id"] for r in items}
    grounded = [r for r in items if r["grounded"] == "True"]
    assert grounded and all(r["item_rest_r"] == "" and r["d_index"] == "" for r in grounded)

    wide = _rows(out / "learners_wide.csv")
    assert len(wide) == 40 and "name" not in wide[0]
    assert {"learner", "answered", "score", "score:ch01", "score:ch01/recipe",
            "exercises_passed", "exercises_tried"} <= set(wide[0])
    assert all(0 <= float(r["score"]) <= 1 for r in wide)


def test_the_planted_problems_are_listed_as_flagged_in_the_html(sim, tmp_path):
    page = write_report(sim.attempts, sim.exercises, sim.banks, tmp_path).read_text("utf-8")
    flagged = page.split("<h2>Flagged items")[1].split("<h2>Difficulty and discrimination")[0]
    wrong_key, true_key = sim.wrong_key
    dead_item, dead_key = sim.dead_distractor
    block = flagged.split(f"<h3>{wrong_key}</h3>")[1].split("<h3>")[0]
    assert "key suspicious" in block and f"chose {true_key} and only" in block
    block = flagged.split(f"<h3>{dead_item}</h3>")[1].split("<h3>")[0]
    assert f"distractor {dead_key} chosen by 0 of" in block
    assert "<th>top 27%</th>" in block and "<th>bottom 27%</th>" in block  # the shares table
    assert "grounded items" in page and "difficulty only" in page
    # Opens offline: the plot is inline and nothing is fetched or run.
    assert "data:image/png;base64," in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_a_tiny_class_shows_the_warning(tmp_path):
    tiny = simulate_class(n_learners=5, seed=3)
    page = write_report(tiny.attempts, tiny.exercises, tiny.banks, tmp_path).read_text("utf-8")
    assert "Only 5 learners: with fewer than 20" in page
    assert "answered by fewer than 10 learners: statistics shown, no flags given" in page
    assert "No item is flagged." in page


def test_names_from_the_roster_stay_in_the_files_the_instructor_keeps(sim, tmp_path):
    roster = tmp_path / "roster.csv"
    first = min(sim.abilities)
    roster.write_text(f"pseudonym,name\n{first},Ada Lovelace\n", encoding="utf-8")
    out = write_report(sim.attempts, sim.exercises, sim.banks, tmp_path / "r", roster).parent
    assert "Ada Lovelace" in (out / "index.html").read_text("utf-8")
    wide = {r["learner"]: r["name"] for r in _rows(out / "learners_wide.csv")}
    assert wide[first] == "Ada Lovelace"
    for shared in ("attempts_long.csv", "exercises_long.csv", "items.csv"):
        assert "Ada" not in (out / shared).read_text("utf-8")


def test_bad_inputs_are_refused_with_the_fix(sim, tmp_path):
    bad = tmp_path / "roster.csv"
    bad.write_text("id;who\nx;y\n", encoding="utf-8")
    with pytest.raises(ReportError, match="needs a header line 'pseudonym,name'"):
        read_roster(bad)
    with pytest.raises(ReportError, match="cannot read the roster"):
        read_roster(tmp_path / "missing.csv")
    a_file = tmp_path / "report.txt"
    a_file.write_text("x")
    with pytest.raises(ReportError, match="is a file; give a folder"):
        write_report(sim.attempts, sim.exercises, sim.banks, a_file)


# ----------------------------------------------------------------------------- hostile text
FORMULAS = ['=HYPERLINK("http://x.example","open me")', "+SUM(A1:A9)", "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def test_learner_text_reaches_the_csvs_as_text_never_as_a_formula(sim, tmp_path):
    """OWASP's CSV-injection rule: a cell starting with = + - @ tab or CR gets a leading '."""
    base = next(a for a in sim.attempts if a["type"] == "single" and not a["grounded"])
    forged = [dict(base, learner="learner-0badf00d", bank_choice=f, attempt=n + 1,
                   time=f"2026-03-02T10:{n:02d}:00+00:00") for n, f in enumerate(FORMULAS)]
    forged.append(dict(base, learner="learner-0badf00d", bank_choice="-2.5", attempt=9,
                       time="2026-03-02T10:59:00+00:00"))
    roster = tmp_path / "roster.csv"
    roster.write_text("pseudonym,name\nlearner-0badf00d,=CMD()\n", encoding="utf-8")
    out = write_report(sim.attempts + forged, sim.exercises, sim.banks, tmp_path / "r",
                       roster).parent
    cells = [c for name in ("attempts_long.csv", "items.csv", "learners_wide.csv")
             for row in _rows(out / name) for c in row.values()]
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "-2.5" in risky  # a plain number stays a number (so do negative statistics) ...
    assert all(float(c) < 0 for c in risky)  # ... and nothing else starts like a formula
    choices = [r["bank_choice"] for r in _rows(out / "attempts_long.csv")
               if r["learner"] == "learner-0badf00d"]
    assert choices == ["'" + f for f in FORMULAS] + ["-2.5"]  # the text itself is kept
    assert "'=CMD()" in (out / "learners_wide.csv").read_text("utf-8")
    page = (out / "index.html").read_text("utf-8")
    assert "=CMD()" in page and "<td>=CMD()</td>" in page  # HTML: escaped, not prefixed


def test_an_item_id_with_dollar_signs_is_ignored_and_never_parsed_as_math(sim, tmp_path):
    """Twelve forged learners answering item `q$\\foo$` left the report without index.html."""
    forged = [dict(sim.attempts[0], learner=f"learner-{i:08x}", item_id="q$\\foo$",
                   correct=i % 2 == 0) for i in range(12)]
    index = write_report(sim.attempts + forged, sim.exercises, sim.banks, tmp_path / "r")
    page = index.read_text("utf-8")
    assert "12 attempts at 1 item id that no bank holds were ignored" in page
    assert "q$\\foo$" not in (index.parent / "items.csv").read_text("utf-8")
    # The plot itself takes any label literally (the grounded ids no bank holds, say).
    from tlcourse.classroom.items import Flag, ItemStats
    from tlcourse.classroom.report import _scatter

    items = [ItemStats(f"q$\\foo{i}$", "ch01", "t", "single", False, 20, 0.1 * i, 0.25,
                       rest_r=-0.3, flags=[Flag("negative", "x")]) for i in range(1, 9)]
    assert "data:image/png;base64," in _scatter(items)


def test_exercises_and_chapters_not_in_the_course_are_ignored_and_counted(sim, tmp_path):
    learner = sim.exercises[0]["learner"]
    forged = [{"learner": learner, "chapter": "ch99", "exercise_id": f"ch99-ex-fake{i}",
               "passed": True, "time": "2026-03-02T10:00:00+00:00"} for i in range(7)]
    ghost = [dict(sim.attempts[0], chapter="ch99", item_id="ch99-ghost", learner=learner)]
    clean = write_report(sim.attempts, sim.exercises, sim.banks, tmp_path / "a")
    dirty = write_report(sim.attempts + ghost, sim.exercises + forged, sim.banks,
                         tmp_path / "b")
    summary = dirty.read_text("utf-8").split("<h2>Summary</h2>")[1].split("</p>")[0]
    assert summary == clean.read_text("utf-8").split("<h2>Summary</h2>")[1].split("</p>")[0]
    assert "ch99" not in summary
    page = dirty.read_text("utf-8")
    assert "7 exercise runs of exercises not in the course were ignored" in page
    assert "1 attempt at 1 item id that no bank holds was ignored" in page
    assert "ch99" not in (dirty.parent / "exercises_long.csv").read_text("utf-8")


def test_simulated_exercises_are_the_course_exercises(sim):
    from tlcourse.classroom.gradebook import COURSE_EXERCISES

    assert {e["exercise_id"] for e in sim.exercises} <= COURSE_EXERCISES


def test_the_course_exercise_list_matches_the_notebooks():
    """COURSE_EXERCISES decides what the report counts: it must name every check in notebooks/."""
    import json
    import re
    from pathlib import Path

    from tlcourse.classroom.gradebook import COURSE_EXERCISES

    call = re.compile(r"""\bcheck(?:_answer)?\(\s*(["'])(?P<id>[^"']+)\1""")
    ids = set()
    for nb in (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            if cell["cell_type"] == "code":
                ids |= {m.group("id") for m in call.finditer(src)}
    assert ids == COURSE_EXERCISES
