"""The results cache's file format: every artifact type an experiment stores comes back equal
(types included), anything else is refused by name, and records stay compact JSON."""

import json

import numpy as np
import pytest
import torch

from tlcourse import cache
from tlcourse.data import ImageData
from tlcourse.experiments import Results, list_experiments
from tlcourse.text import TextData


def _images(n=3, name="photo"):
    return ImageData(torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8), torch.arange(n) % 2,
                     ["a", "b"], name, [f"img{i}.jpg" for i in range(n)])


def _texts(n=4):
    return TextData([f"text {i}" for i in range(n)], torch.arange(n) % 2, ["negative", "positive"],
                    "tweets:test")


#: What each registered experiment puts in ``res.artifacts``, in the shapes it really stores
#: (``grep -n "artifacts" tlcourse/experiments/*.py``); an empty dict: it stores none.
ARTIFACTS = {
    "backbone-choice": {}, "digits-shift": {}, "negative-transfer": {}, "fine-tuning": {},
    "forgetting": {}, "layer-transfer": {}, "data-scaling": {}, "mistakes-lab": {},
    "domain-shift": {"examples": {"photo": _images(6), "clipart": _images(6, "clipart")},
                     "clip_test": _images(), "classes": ["a", "b"],
                     "preds": {"source-only": torch.tensor([0, 1, 1]),
                               "lp-ft": torch.tensor([1, 1, 0])}},
    "corruptions": {"examples": {("noise", 1): _images(1), ("blur", 5): _images(1)}},
    "feature-extraction": {"projection": {
        w: (np.random.default_rng(0).normal(size=(5, 2)), np.arange(5, dtype=np.int64), ["a", "b"])
        for w in ("imagenet", "random")}},
    "lr-sweep": {"curves": {(1e-3, 0): [{"epoch": 1, "val_acc": 0.5, "distance": 0.01},
                                        {"epoch": 2, "val_acc": 0.6, "test_acc": 0.55}]}},
    "representation-drift": {"original_top1": torch.tensor([3, 999, 0]),
                             "top1": {1e-4: torch.tensor([3, 998, 0]),
                                      0.01: torch.tensor([1, 2, 3])}},
    "scratch-vs-transfer": {"photo_test": _images(), "photo_train": _images(4),
                            "photo_preds": {"lite0-scratch": torch.tensor([0, 0, 1])}},
    "text-transfer": {"preds": {("tfidf", 8, 0): torch.tensor([0, 1, 0, 1])},
                      "tests": {"tweets": _texts(), "movies": _texts(2)}, "test": _texts(),
                      "part_seconds": {"load": 1.5}, "part_cpu_seconds": {"load": 3.0}},
    "lora-zero-shot": {"test": _texts(), "part_seconds": {"load": 1.5},
                       "part_cpu_seconds": {"load": 3.0}},
}


def _same(a, b) -> bool:
    """Equal values *and* types, all the way down (a tuple is not a list, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (ImageData, TextData)):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(k, k2) and _same(a[k], b[k2])
                                          for k, k2 in zip(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def test_every_registered_experiment_has_its_artifacts_listed_here():
    assert set(ARTIFACTS) == set(list_experiments())


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
def test_artifacts_round_trip_with_their_types(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(tmp_path))
    res = Results(name, "quick", {"seeds": (0, 1), "tune": {"lr": 1e-3}},
                  records=[{"seed": 0, "test_accuracy": 0.5, "lr_sweep": {"0.1": 0.4}}],
                  artifacts=ARTIFACTS[name])
    key = cache.results_key(name, "quick", (0, 1))
    cache.save_results(key, res)
    back = cache.load_results(key)
    assert _same(back.artifacts, res.artifacts)
    assert _same(back.config, res.config) and _same(back.records, res.records)
    assert (back.experiment, back.threads, back.versions) == (name, res.threads, res.versions)


def test_anything_else_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(tmp_path))
    res = Results("toy", "quick", {}, artifacts={"net": {"head": torch.nn.Linear(2, 2)}})
    with pytest.raises(TypeError, match=r"artifacts\['net'\]\['head'\].*Linear"):
        cache.save_results(cache.results_key("toy", "quick", None), res)
    assert not list(tmp_path.rglob("*.json"))  # nothing half-written


def test_records_are_compact_json_with_a_format_version(tmp_path, monkeypatch):
    """The next issue stores each record's per-item predictions (0/1 per test item)."""
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(tmp_path))
    key = cache.results_key("toy", "quick", None)
    plain = [{"seed": s, "test_accuracy": 0.5} for s in range(20)]
    cache.save_results(key, Results("toy", "quick", {}, records=plain))
    small = cache._path(key).stat().st_size
    with_preds = [{**r, "correct": [s % 2, 1] * 500} for s, r in enumerate(plain)]
    cache.save_results(key, Results("toy", "quick", {}, records=with_preds))
    per_item = (cache._path(key).stat().st_size - small) / (20 * 1000)
    assert per_item <= 2.05  # "0," per item: no indentation inside a record
    entry = json.loads(cache._path(key).read_text())
    assert entry["format"] == cache.FORMAT and entry["key"] == key
    assert entry["fields"]["records"][3]["correct"][:4] == [1, 1, 1, 1]
    assert cache.load_results(key).records == with_preds
