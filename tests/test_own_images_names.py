"""File and folder names that are not UTF-8 (a camera card or an old archive: ``ni\\xf1o`` in
Latin-1) must not crash check, train or predict, even when the terminal only takes ASCII; the
model is saved and the CSV is whole."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlcourse.assets import SAMPLE_IMAGES, data_dir

NINO = b"ni\xf1o"  # "niño" in Latin-1: not valid UTF-8


@pytest.fixture(scope="module")
def latin1_folder(tmp_path_factory) -> Path:
    src = data_dir() / SAMPLE_IMAGES
    if not src.is_dir():
        pytest.skip(f"{src} is not provisioned: run tlcourse assets --provision")
    root = tmp_path_factory.mktemp("names") / "photos"
    for cls, name in ((NINO, "bird"), (b"vehicle", "vehicle")):
        d = os.path.join(os.fsencode(root), cls)
        os.makedirs(d)
        for i, f in enumerate(sorted((src / name).glob("*.jpg"))[:5]):
            shutil.copy(f, os.path.join(d, b"foto-%d-\xe9.jpg" % i))  # \xe9: Latin-1 "é"
    return root


def _run(*argv, cwd: Path) -> subprocess.CompletedProcess:
    """The real command, with a terminal that refuses anything but ASCII."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii:strict", "LC_ALL": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "tlcourse.cli", *argv], check=False, cwd=cwd,
                          env=env,
                          capture_output=True, timeout=600)


def test_check_train_and_predict_survive_latin1_names_and_an_ascii_terminal(latin1_folder,
                                                                            tmp_path):
    folder = os.fsencode(latin1_folder)
    r = _run("check", folder, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    report = json.loads(r.stdout)  # valid JSON, valid ASCII
    assert report["ok"] and report["counts"] == {"ni\\xf1o": 5, "vehicle": 5}
    r = _run("check", folder, cwd=tmp_path)
    assert r.returncode == 0 and b"ni\\xf1o" in r.stdout

    model = tmp_path / "model"
    r = _run("train", folder, "--out", str(model), "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    info = json.loads((model / "iteration-001" / "iteration.json").read_text(encoding="utf-8"))
    assert info["classes"] == [os.fsdecode(NINO), "vehicle"]  # the exact name, round-tripped

    out_csv = tmp_path / "pred.csv"
    r = _run("predict", str(model), os.path.join(folder, NINO), "--csv", str(out_csv),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    assert r.stdout.count(b"\n") == 5 and b"Traceback" not in r.stderr
    with out_csv.open(encoding="utf-8", newline="") as f:  # valid UTF-8, every row there
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and all(row["label"] and row["path"].endswith(".jpg") for row in rows)
    assert all("ni\\udcf1o" in row["path"] or "ni\\xf1o" in row["path"] for row in rows)
