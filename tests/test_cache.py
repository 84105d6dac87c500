"""The results cache: one run per key, reused by notebooks, tests and the CLI; never trusted
when damaged or made by other code."""

import subprocess
import sys
import warnings

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
    (entry,) = (cache.cache_dir() / "results").glob("*.json")
    entry.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ignored the cached run"):
        assert not run_experiment("toy", progress=False).from_cache  # rerun, not a crash
    assert run_experiment("toy", progress=False).from_cache  # and rewritten
    assert len(CALLS) == 2


def test_code_hash_covers_the_library_but_not_the_quiz():
    assert len(cache.code_hash()) == 64
    sources = {p.name for p in cache._PACKAGE.rglob("*.py")}
    assert "train.py" in sources


def test_cli_cache_info_and_clear_count_runs_apart_from_feature_files(fake):
    import torch

    run_experiment("toy", progress=False)
    cache.save_features("0" * 32, torch.zeros(2, 3))
    cache.save_features("1" * 32, torch.zeros(2, 3))
    env = {"TLCOURSE_DATA_DIR": str(cache.data_dir()), "PATH": ""}
    info = subprocess.run([sys.executable, "-m", "tlcourse.cli", "cache", "info"],
                          capture_output=True, text=True, env=env, check=False)
    assert info.returncode == 0, info.stderr
    assert "1 run (1 from the current code, 0 stale)" in info.stdout
    assert "2 feature files" in info.stdout
    out = subprocess.run([sys.executable, "-m", "tlcourse.cli", "cache", "clear"],
                         capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0 and "removed 1 cached run and 2 feature files" in out.stdout
    assert not [p for p in cache.cache_dir().rglob("*") if p.is_file()]


def test_clear_removes_only_what_the_cache_wrote(fake, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(mine))  # a cache dir pointed at a used folder
    run_experiment("toy", progress=False)
    assert cache.clear().entries == 1
    assert (mine / "notes.txt").read_text() == "keep me"


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


# ---------------------------------------------------------------------------------------------
# A planted or damaged entry: never runs code, never trusted, kept as evidence
# ---------------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this object opens (so creates) ``marker``: proof that the pickle ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _toy_key():
    from tlcourse.train import get_device

    return cache.results_key("toy", "quick", None, str(get_device()))


def test_a_planted_pickle_runs_no_code_and_is_not_trusted(fake, tmp_path):
    import hashlib
    import json

    import torch

    marker = tmp_path / "pwned"
    key = _toy_key()
    entry = cache._path(key)
    planted = {}
    for suffix in (".pt", ".safetensors"):  # the old entry's name and the new tensor file's
        p = entry.with_suffix(suffix)
        p.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"key": key, "results": _Payload(marker)}, p)
        planted[suffix] = p.read_bytes()
    # A forged entry with the right key pointing at the pickle: only the loader stands between.
    sha = hashlib.sha256(planted[".safetensors"]).hexdigest()
    entry.with_suffix(".json").write_text(json.dumps({
        "format": cache.FORMAT, "key": key, "type": "Results", "fields": {},
        "artifacts": {}, "tensors": {"sha256": sha, "bytes": len(planted[".safetensors"])}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run_experiment("toy", progress=False)
    assert not marker.exists(), "loading the cache ran the planted pickle"
    assert any("ignored the cached run" in str(w.message) for w in caught)
    assert not res.from_cache and len(CALLS) == 1  # not trusted: trained again
    kept = [p.read_bytes() for p in cache.cache_dir().rglob("*") if p.is_file()]
    assert planted[".safetensors"] in kept  # the evidence is kept, not deleted
    assert run_experiment("toy", progress=False).from_cache  # the retrained entry is reused
    assert not marker.exists()


def test_an_entry_with_another_key_is_set_aside_with_a_warning(fake):
    import json

    run_experiment("toy", progress=False)
    path = cache._path(_toy_key())
    entry = json.loads(path.read_text())
    entry["key"]["seeds"] = [7]  # a foreign entry under this key's name
    path.write_text(json.dumps(entry))
    with pytest.warns(UserWarning, match="another run's key"):
        assert not run_experiment("toy", progress=False).from_cache
    assert len(CALLS) == 2
    aside = list((cache.cache_dir() / "quarantine").iterdir())
    assert any('"seeds": [7]' in p.read_text() or '"seeds":[7]' in p.read_text()
               for p in aside if p.suffix == ".json")


def test_a_tensor_file_that_does_not_match_its_entry_is_not_trusted(fake):
    run_experiment("toy", progress=False)
    tensors = cache._path(_toy_key()).with_suffix(".safetensors")
    tensors.write_bytes(tensors.read_bytes()[:-1] + b"\0")
    with pytest.warns(UserWarning, match="tensor file"):
        assert not run_experiment("toy", progress=False).from_cache


def test_the_key_covers_scikit_learn_and_the_thread_count(fake):
    import torch

    key = _toy_key()
    assert key["versions"]["scikit-learn"] and key["threads"] == torch.get_num_threads()
    before = torch.get_num_threads()
    first = run_experiment("toy", progress=False)
    assert first.threads == before and first.to_dict()["threads"] == before
    torch.set_num_threads(1 if before != 1 else 2)
    try:
        other = run_experiment("toy", progress=False)  # other threads: other numbers, rerun
        assert not other.from_cache and other.threads == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert run_experiment("toy", progress=False).from_cache and len(CALLS) == 2


def test_a_reader_of_records_finds_the_run_made_at_another_thread_count(fake):
    """The claims ledger's workers run on one thread; the ledger reads on the default count."""
    import torch

    from tlcourse.experiments import cached_results

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_experiment("toy", progress=False)
    finally:
        torch.set_num_threads(before)
    if before != 1:
        assert cached_results("toy") is None  # an exact lookup: another key
    hit = cached_results("toy", any_threads=True)
    assert hit is not None and hit.threads == 1 and hit.records == [{"seed": 0, "test_accuracy": 0.5}]
