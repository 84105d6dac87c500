"""The CLI end to end, and chapter 1's claim measured: one real quick-profile run serves both."""

import json
import subprocess
import sys

import pytest

TLCOURSE = [sys.executable, "-m", "tlcourse.cli"]


def _run(*args, **kw):
    return subprocess.run([*TLCOURSE, *args], capture_output=True, text=True, **kw)


def test_help_lists_the_commands():
    out = _run("--help")
    assert out.returncode == 0
    for cmd in ("assets", "run", "list", "drill", "quiz"):
        assert cmd in out.stdout


def test_unknown_experiment_is_a_clear_error():
    out = _run("run", "no-such-experiment")
    assert out.returncode == 2
    assert "unknown experiment 'no-such-experiment'" in out.stderr
    assert "scratch-vs-transfer" in out.stderr


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r.json"
    # The profile's own seeds (0 and 1 on photos): the same run chapter 1 makes, so the results
    # cache trains it once per suite.
    proc = _run("run", "scratch-vs-transfer", "--profile", "quick", "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_results_json_schema(results):
    assert results["experiment"] == "scratch-vs-transfer" and results["profile"] == "quick"
    assert results["device"] in ("cpu", "cuda", "mps")
    assert {"torch", "torchvision", "timm", "python"} <= set(results["versions"])
    for r in results["records"]:
        assert {"dataset", "method", "labels_per_class", "seed", "test_accuracy", "seconds",
                "trainable_params", "input_size"} <= set(r)
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["seconds"] > 0
    assert {r["seed"] for r in results["records"]} == {0, 1}


@pytest.mark.slow
def test_imagenet_features_beat_the_same_architecture_from_scratch(results):
    """Photo domain, 5 labels per class: frozen ImageNet Lite0 >> Lite0 from scratch, every seed."""
    def acc(method, seed):
        (r,) = [r for r in results["records"] if r["dataset"] == "photo" and r["method"] == method
                and r["labels_per_class"] == 5 and r["seed"] == seed]
        return r["test_accuracy"]

    gaps = [acc("imagenet-frozen", s) - acc("lite0-scratch", s) for s in (0, 1)]
    assert min(gaps) > 0.20, gaps


@pytest.mark.slow
def test_feature_extraction_is_the_cheapest_method(results):
    def secs(method):
        return sum(r["seconds"] for r in results["records"]
                   if r["dataset"] == "photo" and r["method"] == method)

    assert secs("imagenet-frozen") < secs("imagenet-finetuned") < secs("lite0-scratch")
