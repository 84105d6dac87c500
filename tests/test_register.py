"""register(...) with profiles: the profile/seeds/Results boilerplate every runner repeated."""

import inspect
from dataclasses import dataclass

import pytest

from tlcourse.experiments import _REGISTRY, Results, register, run_experiment


@dataclass(frozen=True)
class ToyConfig:
    seeds: tuple[int, ...] = (0, 1)
    head_seeds: tuple[int, ...] = (0, 1, 2, 3)
    width: int = 4


PROFILES = {"quick": ToyConfig(), "full": ToyConfig(seeds=(0, 1, 2), width=64)}


@pytest.fixture
def toy():
    seen = {}

    @register("toy-profiles", "a toy", PROFILES, seeds_into=("seeds", "head_seeds"))
    def run(cfg: ToyConfig, res: Results, progress: bool) -> None:
        seen["cfg"], seen["progress"] = cfg, progress
        res.records += [{"seed": s, "test_accuracy": 1.0} for s in cfg.seeds]

    yield run, seen
    _REGISTRY.pop("toy-profiles")


def test_the_runner_keeps_the_public_signature_and_gets_its_profile(toy):
    run, seen = toy
    assert list(inspect.signature(run).parameters) == ["profile", "seeds", "progress"]
    res = run("full", progress=False)
    assert (res.experiment, res.profile, res.config["width"]) == ("toy-profiles", "full", 64)
    assert seen["cfg"] == PROFILES["full"] and seen["progress"] is False
    assert [r["seed"] for r in res.records] == [0, 1, 2]


def test_seeds_go_into_every_named_field_and_into_the_recorded_config(toy):
    run, seen = toy
    res = run("quick", seeds=[5, 6, 7])
    assert seen["cfg"].seeds == seen["cfg"].head_seeds == (5, 6, 7)
    assert res.config["seeds"] == res.config["head_seeds"] == (5, 6, 7)
    assert PROFILES["quick"].seeds == (0, 1), "the profile itself must not change"


def test_a_function_can_place_the_seeds_itself():
    @register("toy-fn", "a toy", PROFILES,
              seeds_into=lambda cfg, s: ToyConfig(seeds=s, head_seeds=cfg.head_seeds + s))
    def run(cfg, res, progress):
        res.records.append({"head": cfg.head_seeds})
    try:
        assert run(seeds=(9,)).records == [{"head": (0, 1, 2, 3, 9)}]
    finally:
        _REGISTRY.pop("toy-fn")


def test_an_unknown_profile_says_which_exist(toy):
    run, _ = toy
    with pytest.raises(ValueError, match="toy-profiles has no profile 'medium'; it has 'quick', 'full'"):
        run("medium")


def test_run_experiment_runs_a_registered_runner_by_name(toy, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE", "off")
    res = run_experiment("toy-profiles", "quick", seeds=(3,), progress=False)
    assert [r["seed"] for r in res.records] == [3]
