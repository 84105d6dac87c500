"""Student copies: nbgrader's stripping, refusals that name the cell, and a searched-for leak."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tlcourse import __version__
from tlcourse.classroom import release as release_module
from tlcourse.classroom.release import ReleaseError, release
from tlcourse.cli import main

REPO = Path(__file__).resolve().parents[1]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

EXERCISE = """\
def accuracy(pred, target):
    \"\"\"Share of matching labels.\"\"\"
    ### BEGIN SOLUTION
    hits = (pred == target).float()
    return hits.mean().item()
    ### END SOLUTION

print("defined")
"""
HIDDEN = """\
check("ch01-ex-accuracy", {"one right": accuracy(a, b) == 0.5})
### BEGIN HIDDEN TESTS
assert accuracy_of_secret_model(secret_split) > 0.9
### END HIDDEN TESTS
"""
MARKDOWN = """\
Why does a frozen backbone train faster?

### BEGIN SOLUTION
Only the head's weights receive gradients, so each step is cheaper.
### END SOLUTION
"""


def _cell(kind: str, text: str) -> dict:
    lines = text.splitlines(keepends=True)
    cell = {"cell_type": kind, "metadata": {"execution": {"iopub.execute_input": "x"}},
            "source": lines}
    if kind == "code":
        cell |= {"execution_count": 3, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["0.5\n"]}]}
    return cell


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _write(path: Path, nb: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def _sources(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


def _secret_lines(path: Path) -> set[str]:
    """Lines between markers in an instructor notebook, found independently of release.py."""
    secret, inside = set(), False
    for text in _sources(path):
        for line in text.splitlines():
            if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 10:
                secret.add(line.strip())
    return secret


@pytest.fixture
def src(tmp_path) -> Path:
    """The course's real notebooks plus one with every kind of marker."""
    folder = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_*"))
    _write(folder / "99_markers.ipynb", _notebook(
        _cell("markdown", MARKDOWN), _cell("code", EXERCISE), _cell("code", HIDDEN)))
    return folder


def test_solutions_are_replaced_the_nbgrader_way_and_hidden_tests_removed(src, tmp_path):
    written = release(src, tmp_path / "student")
    copy = tmp_path / "student" / "99_markers.ipynb"
    assert copy in written
    markdown, code, hidden = _sources(copy)
    assert markdown == "Why does a frozen backbone train faster?\n\nYOUR ANSWER HERE\n"
    assert code == ('def accuracy(pred, target):\n    """Share of matching labels."""\n'
                    "    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(\"defined\")\n")
    assert hidden == 'check("ch01-ex-accuracy", {"one right": accuracy(a, b) == 0.5})\n'
    cells = json.loads(copy.read_text())["cells"]
    assert [c.get("outputs") for c in cells] == [None, [], []]
    assert [c.get("execution_count") for c in cells] == [None, None, None]
    assert all("execution" not in c["metadata"] for c in cells)


def test_real_notebooks_release_without_any_secret_text_and_stay_unchanged(src, tmp_path):
    before = {p.name: p.read_bytes() for p in src.glob("*.ipynb")}
    written = release(src, tmp_path / "student")
    assert sorted(p.name for p in written) == sorted(before)
    assert {p.name: p.read_bytes() for p in src.glob("*.ipynb")} == before  # only read
    secrets = set().union(*(_secret_lines(src / name) for name in before))
    assert "hits = (pred == target).float()" in secrets  # the search has something to find
    for path in written:
        text = path.read_text()
        assert not [m for m in MARKERS if m in text], path.name
        shown_openly = "\n".join(_sources(src / path.name))
        for secret in secrets:
            # every occurrence in the copy must be one the instructor also shows openly
            openly = shown_openly.count(secret) - sum(
                line.count(secret) for line in _secret_block_lines(src / path.name))
            assert "\n".join(_sources(path)).count(secret) <= openly, (path.name, secret)
        meta = json.loads(text)["metadata"]["tlcourse"]
        assert meta["version"] == __version__
        assert meta["source_sha256"] == hashlib.sha256(before[path.name]).hexdigest()
        assert meta["released"].endswith("+00:00")
        assert all(c.get("outputs", []) == [] for c in json.loads(text)["cells"])


def _secret_block_lines(path: Path) -> list[str]:
    out, inside = [], False
    for text in _sources(path):
        for line in text.splitlines():
            if any(m in line for m in MARKERS):
                inside = "BEGIN" in line
            elif inside:
                out.append(line)
    return out


@pytest.mark.parametrize(("source", "cell_line"), [
    ("x = 1\n### BEGIN SOLUTION\ny = 2\n", "is never closed"),
    ("x = 1\ny = 2\n### END SOLUTION\n", "line 3"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION\n",
     "line 2"),
    ("### BEGIN HIDDEN TESTS\nassert x\n### END SOLUTION\n", "line 3"),
    ("## begin solutions\nsecret = 42\n## end solutions\n", "looks like a marker"),
])
def test_bad_markers_are_refused_naming_notebook_cell_and_line(tmp_path, source, cell_line):
    src = tmp_path / "nb"
    _write(src / "01_bad.ipynb", _notebook(_cell("markdown", "intro"), _cell("code", source)))
    with pytest.raises(ReleaseError) as err:
        release(src, tmp_path / "student")
    assert "01_bad.ipynb: cell 1" in str(err.value) and cell_line in str(err.value)
    assert not (tmp_path / "student").exists()  # nothing written


def test_a_stripping_bug_is_caught_by_the_search(src, tmp_path, monkeypatch):
    real = release_module._strip_source

    def leaky(text, cell_type, where):  # forgets to drop the last solution line
        kept, secret = real(text, cell_type, where)
        return kept + secret[-1:], secret

    monkeypatch.setattr(release_module, "_strip_source", leaky)
    with pytest.raises(ReleaseError, match=r"\.ipynb: cell \d+: solution text"):
        release(src, tmp_path / "student")
    assert not (tmp_path / "student").exists()


def test_a_solution_line_also_shown_openly_is_not_a_leak(tmp_path):
    src = tmp_path / "nb"
    line = "model = create_backbone('lite0-imagenet', 6)"
    _write(src / "01.ipynb", _notebook(
        _cell("code", f"{line}\n"),
        _cell("code", f"### BEGIN SOLUTION\n{line}\nmodel.freeze_everything()\n"
                      "### END SOLUTION\n")))
    (copy,) = release(src, tmp_path / "student")
    assert _sources(copy) == [f"{line}\n", "# YOUR CODE HERE\nraise NotImplementedError()\n"]


def test_the_output_folder_may_not_be_the_notebooks_folder(src):
    with pytest.raises(ReleaseError, match="inside the notebooks folder"):
        release(src, src / "student")
    with pytest.raises(ReleaseError, match="no such folder"):
        release(src / "missing", src.parent / "student")


def test_cli_release_exit_codes(src, tmp_path, capsys):
    assert main(["class", "release", "--src", str(src), "--out", str(tmp_path / "s")]) == 0
    assert "99_markers.ipynb" in capsys.readouterr().out
    _write(src / "98_bad.ipynb", _notebook(_cell("code", "### BEGIN SOLUTION\nx = 1\n")))
    assert main(["class", "release", "--src", str(src), "--out", str(tmp_path / "t")]) == 1
    assert "98_bad.ipynb: cell 0" in capsys.readouterr().err


def test_saved_widget_state_is_stripped_at_notebook_and_cell_level(tmp_path):
    # Jupyter saves widget models (including a quiz's output text) under metadata.widgets when
    # "save widget state" is on; a student copy must not carry the instructor's run.
    state = {"application/vnd.jupyter.widget-state+json": {
        "state": {"abc": {"model_name": "OutputModel",
                          "state": {"outputs": [{"text": "✓ ch01-ex-accuracy: the answer 0.5"}]}}},
        "version_major": 2, "version_minor": 0}}
    nb = _notebook(_cell("code", "quiz.show('ch01')\n"), _cell("markdown", "text"))
    nb["metadata"]["widgets"] = state
    for cell in nb["cells"]:
        cell["metadata"]["widgets"] = state
        cell["metadata"]["tags"] = ["keep-me"]
    src = tmp_path / "nb"
    _write(src / "01_widgets.ipynb", nb)
    (copy,) = release(src, tmp_path / "student")
    text = copy.read_text()
    assert "widget-state" not in text and "the answer 0.5" not in text
    saved = json.loads(text)
    assert "widgets" not in saved["metadata"]
    assert saved["metadata"]["kernelspec"] == {"name": "python3"}  # other metadata is kept
    assert [c["metadata"] for c in saved["cells"]] == [{"tags": ["keep-me"]}] * 2
