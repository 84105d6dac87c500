"""The results cache: one run per key, reused by notebooks, tests and the CLI; never trusted
when damaged or made by other code."""

import subprocess
import sys

import pytest

from tlcourse import cache
from tlcourse.experiments import _REGISTRY, Results, register, run_experiment

CALLS: list[tuple] = []


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered toy experiment that counts its runs, with its cache in a temp data dir."""
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TLCOURSE_CACHE", raising=False)
    monkeypatch.delenv("TLCOURSE_CACHE_DIR", raising=False)  # a learner's own cache stays out
    CALLS.clear()

    @register("toy", "counts its runs")
    def _toy(profile="quick", seeds=None, progress=True):
        CALLS.append((profile, seeds))
        res = Results("toy", profile, {"seeds": seeds})
        res.records = [{"seed": s, "test_accuracy": 0.5 + 0.1 * s} for s in (seeds or (0,))]
        res.artifacts["preds"] = {"m": [1, 2, 3]}
        return res

    yield
    _REGISTRY.pop("toy", None)


def test_second_run_of_the_same_key_is_reused(fake):
    first = run_experiment("toy", seeds=(0, 1), progress=False)
    again = run_experiment("toy", seeds=(0, 1), progress=False)
    assert len(CALLS) == 1 and not first.from_cache and again.from_cache
    assert again.records == first.records and again.artifacts == first.artifacts
    run_experiment("toy", seeds=(2,), progress=False)  # other seeds: another key
    run_experiment("toy", "full", seeds=(0, 1), progress=False)  # other profile: another key
    assert len(CALLS) == 3


def test_fresh_and_cache_off_rerun(fake, monkeypatch):
    run_experiment("toy", progress=False)
    run_experiment("toy", progress=False, fresh=True)
    monkeypatch.setenv("TLCOURSE_CACHE", "off")
    run_experiment("toy", progress=False)
    assert len(CALLS) == 3


def test_changed_code_invalidates(fake, monkeypatch):
    run_experiment("toy", progress=False)
    monkeypatch.setattr(cache, "code_hash", lambda: "other code")
    assert not run_experiment("toy", progress=False).from_cache
    assert len(CALLS) == 2


def test_corrupt_entry_is_ignored_and_rewritten(fake):
    run_experiment("toy", progress=False)
    (entry,) = (cache.cache_dir() / "results").glob("*.pt")
    entry.write_bytes(b"garbage")
    assert not run_experiment("toy", progress=False).from_cache  # rerun, not a crash
    assert run_experiment("toy", progress=False).from_cache  # and rewritten
    assert len(CALLS) == 2


def test_code_hash_covers_the_library_but_not_the_quiz():
    assert len(cache.code_hash()) == 64
    sources = {p.name for p in cache._PACKAGE.rglob("*.py")}
    assert "train.py" in sources


def test_cli_cache_info_and_clear(fake):
    run_experiment("toy", progress=False)
    env = {"TLCOURSE_DATA_DIR": str(cache.data_dir()), "PATH": ""}
    info = subprocess.run([sys.executable, "-m", "tlcourse.cli", "cache", "info"],
                          capture_output=True, text=True, env=env, check=False)
    assert info.returncode == 0 and "1 entries" in info.stdout and "1 from the current code" in info.stdout
    out = subprocess.run([sys.executable, "-m", "tlcourse.cli", "cache", "clear"],
                         capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0 and "removed 1 cached runs" in out.stdout
    assert not list(cache.cache_dir().rglob("*.pt"))


def test_features_are_reused_only_for_the_same_weights_preprocessing_and_images(tmp_path, monkeypatch):
    import torch

    from tlcourse.backbones import create_backbone
    from tlcourse.data import ImageData
    from tlcourse.features import extract_features

    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TLCOURSE_CACHE", raising=False)
    monkeypatch.delenv("TLCOURSE_CACHE_DIR", raising=False)
    data = ImageData(torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8),
                     torch.arange(6) % 3, ["a", "b", "c"], "tiny")
    torch.manual_seed(0)
    net = create_backbone("small-cnn", 3, input_size=32)
    first = extract_features(net, data)
    calls = []
    original = net.forward_features
    monkeypatch.setattr(net, "forward_features", lambda x: calls.append(1) or original(x))
    assert torch.equal(extract_features(net, data).x, first.x) and not calls  # reused
    torch.manual_seed(1)
    other_seed = create_backbone("small-cnn", 3, input_size=32)  # random init: other weights
    assert not torch.equal(extract_features(other_seed, data).x, first.x)
    other_images = ImageData(255 - data.x, data.y, data.classes, "tiny")
    extract_features(net, other_images)
    assert calls  # other content: computed, not reused
    (entry, *_) = (tmp_path / "cache" / "features").glob("*.pt")
    entry.write_bytes(b"garbage")  # a damaged entry is recomputed, not trusted
    for p in (tmp_path / "cache" / "features").glob("*.pt"):
        p.write_bytes(b"garbage")
    assert torch.equal(extract_features(net, data).x, first.x)
