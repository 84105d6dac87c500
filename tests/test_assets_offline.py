"""Provisioning where learners are: no apt-get, dpkg-deb or npm, and no network.

``tlcourse assets --provision`` runs in a subprocess with a PATH that holds none of the Debian or
npm tools and with every socket refused, into a fresh data directory: the object set must come up
from the committed archive and verify; MNIST and Fashion-MNIST must fail with one line that says
what to do. The unpacked images must load as exactly the tensors the chapters load today.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tlcourse import assets, data
from tlcourse.assets import provisioning
from tlcourse.data import load_dataset

DATA = assets.data_dir()  # where the chapters load from today (read before any test changes it)
HIDDEN_TOOLS = ("apt-get", "dpkg-deb", "npm")
# Imported by Python at start-up (sitecustomize on PYTHONPATH): every connection attempt fails.
NO_NETWORK = '''import socket
def _refuse(*args, **kwargs):
    raise OSError("network disabled by tests/test_assets_offline.py")
socket.socket.connect = socket.socket.connect_ex = _refuse
socket.create_connection = socket.getaddrinfo = _refuse
'''


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory) -> dict:
    """Run ``tlcourse assets --provision`` hidden from tools and network; its output and data dir."""
    tmp = tmp_path_factory.mktemp("offline")
    (tmp / "bin").mkdir()
    (tmp / "site").mkdir()
    (tmp / "site" / "sitecustomize.py").write_text(NO_NETWORK)
    env = {**os.environ, "PATH": str(tmp / "bin"), "PYTHONPATH": str(tmp / "site"),
           "TLCOURSE_DATA_DIR": str(tmp / "data"), "OMP_NUM_THREADS": "1",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    assert not [t for t in HIDDEN_TOOLS if shutil.which(t, path=env["PATH"])]
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tlcourse.cli", "assets", "--provision"], env=env,
                       cwd=tmp, capture_output=True, text=True, timeout=300, check=False)
    return {"result": r, "seconds": time.perf_counter() - start, "data": tmp / "data"}


def test_objects_come_up_and_verify_without_tools_or_network(offline_run, monkeypatch):
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(offline_run["data"]))
    objects = {s.name: s for s in assets.status(deep=True)}["objects"]  # every sha256 recomputed
    assert objects.ok, objects.detail
    assert "186 photos, 353 clip art" in objects.detail
    assert (offline_run["data"] / "objects" / "LICENSES" / "GPL-2").is_file()
    assert offline_run["seconds"] < 60, f"provisioning took {offline_run['seconds']:.0f} s"


def test_mnist_family_fails_with_one_line_saying_what_to_do(offline_run):
    r = offline_run["result"]
    assert r.returncode == 1
    assert "Traceback" not in r.stderr + r.stdout
    problems = [ln for ln in r.stderr.splitlines() if not ln.startswith("provisioning ")]
    assert len(problems) == 1, r.stderr
    line = problems[0]
    assert line.startswith("tlcourse assets: FashionMNIST and MNIST not provisioned"), line
    assert "connect to the internet" in line and "tlcourse assets --provision" in line
    assert str(offline_run["data"] / "MNIST" / "raw") in line


def test_with_internet_the_mnist_family_comes_from_torchvision(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(provisioning, "_reachable", lambda url: True)
    downloaded = []
    monkeypatch.setattr(provisioning, "_torchvision_download", downloaded.append)
    assets.provision(["FashionMNIST", "MNIST"])
    assert downloaded == ["FashionMNIST", "MNIST"]


def test_a_corrupt_archive_names_the_fix(tmp_path, monkeypatch):
    bad = tmp_path / "objects-v2.zip"
    bad.write_bytes(b"not a zip")
    monkeypatch.setattr(provisioning, "OBJECTS_ARCHIVE", bad)
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(assets.AssetError, match="corrupt.*git checkout -- datasets/objects-v2.zip"):
        assets.provision(["objects"])


def test_manifests_are_compared_on_decoded_pixels_not_png_bytes():
    entry = {"path": "photo/bird/a.png", "domain": "photo", "label": "bird", "sha256": "png-1",
             "pixel_sha256": "pix-1"}
    committed = {"classes": ["bird"], "files": [entry], "dropped": []}
    re_encoded = {**committed, "files": [{**entry, "sha256": "png-2"}]}
    assert assets.manifest_differences(committed, re_encoded) == []
    repainted = {**committed, "files": [{**entry, "pixel_sha256": "pix-2"}]}
    assert assets.manifest_differences(committed, repainted)


def _load_objects(root: Path, monkeypatch) -> dict[str, data.ImageData]:
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(root))
    data._objects.cache_clear()
    out = {domain: load_dataset(domain) for domain in ("photo", "clipart")}
    data._objects.cache_clear()
    return out


def test_archive_gives_the_chapters_todays_tensors(offline_run, monkeypatch):
    today = DATA / "objects"
    if not (today / "manifest.json").is_file():
        pytest.skip(f"no Debian-provisioned object set in {today} to compare with")
    origin = today / assets.OBJECTS_ORIGIN
    if origin.is_file() and origin.read_text().startswith("unpacked"):
        pytest.skip(f"{today} was itself unpacked from the archive; build it from Debian first "
                    "(tlcourse assets --rebuild-objects) for a meaningful comparison")
    new = offline_run["data"] / "objects"
    # Same manifest bytes: the same images, order and labels, and the same results-cache key.
    assert (new / "manifest.json").read_bytes() == (today / "manifest.json").read_bytes()
    before, after = _load_objects(DATA, monkeypatch), _load_objects(offline_run["data"], monkeypatch)
    for domain in before:
        a, b = before[domain], after[domain]
        assert a.classes == b.classes and a.paths == b.paths
        assert torch.equal(a.y, b.y) and torch.equal(a.x, b.x), domain


def test_the_archive_lists_its_licences():
    import zipfile

    with zipfile.ZipFile(assets.OBJECTS_ARCHIVE) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("objects/manifest.json"))
    assert {"objects/LICENSES/GPL-2", "objects/LICENSES/tuxpaint-stamps-default.copyright",
            "objects/LICENSES/openclipart-png.copyright"} <= names
    assert manifest["packages"] == ["tuxpaint-stamps-default", "openclipart-png"]
