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
