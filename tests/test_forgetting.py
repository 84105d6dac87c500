"""Chapter-4 tests: class splits, continual-learning losses (EWC against a hand-computed
reference), findings on synthetic records, and the science on the quick profile."""

import re
import statistics

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tlcourse import stats
from tlcourse.backbones import create_backbone
from tlcourse.continual import (
    TwoHeadNet,
    class_split,
    ewc_loss,
    fisher_diagonal,
    lwf_loss,
    rehearsal_loss,
)
from tlcourse.data import ImageData
from tlcourse.experiments import forgetting as fg_mod
from tlcourse.experiments.forgetting import (
    choose_ewc_weight,
    drift_findings,
    findings,
    learned_rates,
    paired_gaps,
    verdict,
)


def _toy(n_per_class: int = 4, n_classes: int = 10) -> ImageData:
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    x = (torch.rand(len(y), 1, 28, 28) * 255).to(torch.uint8)
    return ImageData(x, y, [f"c{i}" for i in range(n_classes)], "toy")


def test_class_split_is_disjoint_and_relabelled():
    d = _toy()
    a, b = class_split(d, [0, 1, 2, 3, 4])
    assert len(a) + len(b) == len(d)
    assert a.classes == ["c0", "c1", "c2", "c3", "c4"] and b.classes == ["c5", "c6", "c7", "c8", "c9"]
    assert set(a.y.tolist()) == set(range(5)) and set(b.y.tolist()) == set(range(5))
    # images stay with their labels: B's label 0 is original class 5
    assert torch.equal(b.x[b.y == 0], d.x[d.y == 5])


def test_class_split_rejects_empty_halves():
    with pytest.raises(ValueError):
        class_split(_toy(), range(10))


def test_two_head_net_keeps_head_a_and_losses_run():
    net = create_backbone("small-cnn", 5, input_size=28)
    two = TwoHeadNet(net, 5, frozen_stages=2)
    x = _toy(1).x[:5]
    assert two(x).shape == (5, 5) and two.task_a()(x).shape == (5, 5)
    assert not any(p.requires_grad for p in two.net._stages[0].parameters())
    mem = class_split(_toy(), range(5))[0]
    fisher = fisher_diagonal(net, mem)
    anchor = {k: p.detach().clone() for k, p in net.named_parameters()}
    for loss in (rehearsal_loss(mem, 4), lwf_loss(two), ewc_loss(two, fisher, anchor, 10.0)):
        value = loss(two, x, torch.zeros(5, dtype=torch.long), two(x))
        assert value.ndim == 0 and torch.isfinite(value)


def _features(n: int = 12, d: int = 4, k: int = 3, seed: int = 0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    return ImageData(torch.randn(n, d, generator=g), torch.arange(n) % k, [f"c{i}" for i in range(k)], "f")


def test_fisher_matches_the_closed_form_of_a_linear_softmax():
    """For logits W x + b, d log p(y|x) / dW = (onehot(y) - p) x^T: the Fisher's diagonal is the
    mean of its squares over images (per image, not the square of a batch mean)."""
    torch.manual_seed(0)
    lin, data = nn.Linear(4, 3), _features()
    fisher = fisher_diagonal(lin, data, labels="true")
    with torch.no_grad():
        r = F.one_hot(data.y, 3).float() - F.softmax(lin(data.x), dim=1)  # [N, 3]
    want_w = (r[:, :, None] * data.x[:, None, :]).pow(2).mean(0)
    torch.testing.assert_close(fisher["weight"], want_w)
    torch.testing.assert_close(fisher["bias"], r.pow(2).mean(0))


def test_fisher_skips_frozen_parameters_and_checks_its_labels():
    lin, data = nn.Linear(4, 3), _features()
    lin.bias.requires_grad_(False)
    assert set(fisher_diagonal(lin, data)) == {"weight"}
    with pytest.raises(ValueError, match="'true' or 'sampled'"):
        fisher_diagonal(lin, data, labels="model")


def test_ewc_penalty_is_the_weighted_squared_distance_and_pulls_back():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    anchor = {k: p.detach().clone() for k, p in lin.named_parameters()}
    fisher = {k: torch.rand_like(p) for k, p in lin.named_parameters()}
    loss = ewc_loss(lin, fisher, anchor, weight=6.0)
    x, y = torch.zeros(1, 4), torch.zeros(1, dtype=torch.long)
    assert loss(lin, x, y, lin(x)).item() == 0.0  # at the anchor: no penalty
    with torch.no_grad():
        lin.weight.add_(0.5)
    value = loss(lin, x, y, lin(x))
    torch.testing.assert_close(value, 3.0 * (fisher["weight"] * 0.25).sum())
    value.backward()  # the gradient points away from the anchor, so a step moves back to it
    assert (lin.weight.grad * 0.5 >= 0).all() and lin.weight.grad.abs().sum() > 0


def test_ewc_unwraps_a_two_head_net_and_rejects_foreign_names():
    net = create_backbone("small-cnn", 5, input_size=28)
    two = TwoHeadNet(net, 5, frozen_stages=1)
    fisher = {k: torch.ones_like(p) for k, p in net.named_parameters()}
    anchor = {k: p.detach().clone() for k, p in net.named_parameters()}
    x = _toy(1).x[:5]
    assert ewc_loss(two, fisher, anchor, 1.0)(two, x, None, two(x)).item() == 0.0
    with pytest.raises(KeyError, match="fisher names parameters"):
        ewc_loss(two, {"nope": torch.ones(1)}, anchor, 1.0)


# --- findings on synthetic records -----------------------------------------------------------
def _forgetting_records(acc: dict[tuple[str, str, object], list[tuple[float, float]]]) -> list[dict]:
    """``{(study, method, setting): [(acc_a, acc_b) per seed]}`` -> records (A before: 0.97)."""
    return [{"study": st, "method": m, "setting": se, "seed": s, "acc_a_before": 0.97,
             "acc_a": a, "acc_b": b, "forgetting": 0.97 - a, "ewc_weight": 0.0}
            for (st, m, se), rows in acc.items() for s, (a, b) in enumerate(rows)]


SYNTH = _forgetting_records({
    ("lr", "naive", 1e-4): [(0.95, 0.55), (0.96, 0.50), (0.95, 0.52)],
    ("lr", "naive", 1e-2): [(0.45, 0.80), (0.35, 0.90), (0.40, 0.85)],
    ("mitigation", "naive", None): [(0.85, 0.93), (0.75, 0.92), (0.80, 0.93)],
    ("mitigation", "ewc", None): [(0.96, 0.91), (0.97, 0.90), (0.96, 0.90)],  # A +16, B -2.3
    ("mitigation", "lwf", None): [(0.86, 0.95), (0.74, 0.90), (0.80, 0.92)],  # inconclusive
})


def test_paired_gaps_and_verdict():
    assert paired_gaps(SYNTH, "acc_a", {"method": "ewc"}, {"method": "naive",
                                                            "study": "mitigation"}) == \
        pytest.approx([0.11, 0.22, 0.16])
    assert verdict([0.11, 0.22, 0.16]) == 1 and verdict([-0.02, -0.03, -0.02]) == -1
    assert verdict([0.01, -0.01]) == 0
    assert verdict([0.11, 0.22]) == 0  # 2 seeds: t at 1 df, the old |mean| >= sd rule said +1
    assert verdict([-0.01]) == 0  # one seed never decides (the old rule counted its sign)


def test_forgetting_findings_are_sign_and_noise_aware():
    text = "\n".join(findings(SYNTH))
    assert "rate 0.0001 beat rate 0.01 by 55 points (95 % interval 42 to 69; 3 seeds)" in text
    assert "'a high rate destroys what was learned' reproduces (holds)" in text
    ewc = next(x for x in findings(SYNTH) if x.startswith("ewc"))
    assert "old task A: ewc beat naive by 16 points (95 % interval 3 to 30; 3 seeds)" in ewc
    assert "new task B: naive beat ewc by 2.3 points (95 % interval 0.9 to 3.8; 3 seeds)" in ewc
    assert ewc.endswith("EWC (lambda chosen on validation) reduces forgetting, at a cost on B.")
    lwf = next(x for x in findings(SYNTH) if x.startswith("lwf"))
    assert "inconclusive at 3 seeds" in lwf and "seeds would decide" in lwf
    assert "within" not in text and "±" not in text
    one = [r for r in SYNTH if r["seed"] == 0]
    assert "inconclusive at 1 seed (one seed measures no spread" in "\n".join(findings(one))


def _drift_records(rows, seeds=(0,)) -> list[dict]:
    """``rows``: (lr, top1 agreement, cosine, test accuracy) -> records, majority floor 35 %."""
    return [{"lr": lr, "seed": s, "top1_agreement": a - s * lr, "top1_agreement_heldout": a - 0.01,
             "feature_cosine": c, "test_accuracy": t + 0.01 * s, "n_probe": 186,
             "n_probe_heldout": 126, "probe_size": 224, "majority": 0.35}
            for s in seeds for lr, a, c, t in rows]


def test_drift_findings_name_the_probe_and_the_rates():
    recs = _drift_records(((1e-3, 0.95, 0.99, 0.6), (1e-2, 0.05, 0.2, 0.5)))
    floor, top1, cosine = drift_findings(recs)
    assert "0.001: 60.0 %, 0.01: 50.0 %, against 35.0 % for always answering" in floor
    assert "left out" not in floor and floor.endswith("(chance 16.7 %).")
    assert "on the 186 object photos (at 224 px): 95.0 % after fine-tuning at rate 0.001" in top1
    assert "126 photos fine-tuning never saw" in top1
    assert "inconclusive at 1 seed (one seed measures no spread" in top1
    assert "a high rate moves the backbone" not in top1  # one seed decides nothing
    assert "0.990 at rate 0.001 vs 0.200 at 0.01" in cosine
    three = _drift_records(((1e-3, 0.95, 0.99, 0.6), (1e-2, 0.05, 0.2, 0.5)), seeds=(0, 1, 2))
    assert "a high rate moves the backbone far from ImageNet" in drift_findings(three)[1]


def test_drift_leaves_out_rates_that_learnt_nothing():
    """A rate at or below the majority floor 'keeps ImageNet' because it learnt nothing: it is
    left out, and the comparison runs between the lowest and highest rates that learnt."""
    rows = ((1e-4, 0.99, 0.999, 0.30), (1e-3, 0.60, 0.85, 0.55), (3e-3, 0.20, 0.5, 0.50),
            (1e-2, 0.0, 0.2, 0.10))
    recs = _drift_records(rows, seeds=(0, 1, 2))
    assert learned_rates(recs) == ([1e-3, 3e-3], [1e-4, 1e-2])
    floor, top1, cosine = drift_findings(recs)
    assert "Rates 0.0001, 0.01 ended at or below that floor: left out" in floor
    assert "rate 0.001 beat rate 0.003" in top1 and "0.0001" not in top1
    assert "0.850 at rate 0.001 vs 0.500 at 0.003" in cosine
    # one rate above the floor: no comparison is made, and the sentence says so
    only = drift_findings(_drift_records(rows[:2] + rows[3:], seeds=(0, 1, 2)))
    assert len(only) == 1 and "only rate 0.001 above the floor" in only[0]
    assert "not tested here" in only[0]


def test_task_a_trains_until_it_fits(monkeypatch):
    """Task A gets more epochs (2 at a time) until its training accuracy reaches FITTED, and
    stops at a_max_epochs when it never does."""
    cfg = fg_mod.PROFILES["quick"]
    epochs = []
    monkeypatch.setattr(fg_mod, "fit", lambda net, data, tc: epochs.append(tc.epochs))
    accs = iter([0.80, 0.90, stats.FITTED + 0.01])
    monkeypatch.setattr(fg_mod, "evaluate", lambda net, data: {"accuracy": next(accs)})
    assert fg_mod._fit_a(None, None, cfg, 0) == (cfg.a_epochs + 4, stats.FITTED + 0.01)
    assert epochs == [cfg.a_epochs, 2, 2]
    monkeypatch.setattr(fg_mod, "evaluate", lambda net, data: {"accuracy": 0.5})
    assert fg_mod._fit_a(None, None, cfg, 0) == (cfg.a_max_epochs, 0.5)


def test_findings_say_whether_task_a_fitted():
    fitted = [{**r, "a_train_accuracy": 0.99, "a_epochs": 6} for r in SYNTH]
    assert "It fits its training set on every seed" in findings(fitted)[0]
    unfit = [{**r, "a_train_accuracy": 0.99 if r["seed"] else 0.90, "a_epochs": 24} for r in SYNTH]
    head = findings(unfit)[0]
    assert "did NOT fit its training set on seed 0 (training accuracy 90.0 % after 24 epochs)" in head
    assert "seed 1" not in head


class _Net:
    def __init__(self, a: float, b: float) -> None:
        self.acc = {"a": a, "b": b}

    def task_a(self):
        return ("a", self)


def test_choose_ewc_weight_takes_the_best_mean_validation_accuracy(monkeypatch):
    seen = []

    def evaluate(net, data):
        seen.append(data)
        task, owner = net if isinstance(net, tuple) else ("b", net)
        return {"accuracy": owner.acc[task]}

    monkeypatch.setattr(fg_mod, "evaluate", evaluate)
    nets = {100.0: _Net(0.70, 0.95), 1000.0: _Net(0.90, 0.90), 10000.0: _Net(0.97, 0.70)}
    chosen, scores = choose_ewc_weight(nets, "A-val", "B-val")
    assert chosen == 1000.0 and scores[100.0] == (0.70, 0.95)
    assert set(seen) == {"A-val", "B-val"}  # it reads the validation sets it is given, only
    tie = {10.0: _Net(0.9, 0.9), 1.0: _Net(0.9, 0.9)}
    assert choose_ewc_weight(tie, "A-val", "B-val")[0] == 1.0  # a tie goes to the smaller lambda


def test_ewc_lambda_is_chosen_on_validation_images_never_test(monkeypatch):
    """Runs the quick profile in smoke mode (one step per fit) with a spy on the choice: it gets
    images from MNIST's training split that no training set and no test set holds."""
    from tlcourse.data import load_dataset, sample_per_class
    from tlcourse.smoke import smoke_mode

    calls = []
    real = fg_mod.choose_ewc_weight

    def spy(nets, a_val, b_val):
        calls.append((sorted(nets), a_val, b_val))
        return real(nets, a_val, b_val)

    monkeypatch.setattr(fg_mod, "choose_ewc_weight", spy)
    with smoke_mode():
        recs = fg_mod.run("quick", seeds=(0,), progress=False).records
    cfg = fg_mod.PROFILES["quick"]
    assert len(calls) == 1 and calls[0][0] == sorted(cfg.ewc_weights)

    def rows(d):
        return {bytes(x.flatten().tolist()) for x in d.x}

    a_val, b_val = calls[0][1], calls[0][2]
    val = rows(a_val) | rows(b_val)
    assert len(a_val) == len(b_val) == 5 * cfg.val_per_class
    assert not val & rows(load_dataset(cfg.dataset, "test"))  # no test image, of any class
    a_pool, b_pool = fg_mod.class_split(load_dataset(cfg.dataset, "train"), cfg.classes_a)
    for pool in (a_pool, b_pool):
        assert not val & rows(sample_per_class(pool, cfg.train_per_class, 0))
    ewc = [r for r in recs if r["study"] == "mitigation" and r["method"] == "ewc"]
    chosen = [r["setting"] for r in recs if r["study"] == "ewc" and r["ewc_chosen"]]
    assert len(ewc) == 1 and chosen == [ewc[0]["ewc_weight"]]
    assert all("val_acc_a" in r for r in recs if r["study"] == "ewc")


@pytest.fixture(scope="module")
def forgetting():
    from tlcourse.experiments import run_experiment

    return run_experiment("forgetting", "quick", progress=False).records


@pytest.fixture(scope="module")
def drift():
    from tlcourse.experiments import run_experiment

    return run_experiment("representation-drift", "quick", progress=False).records


def _mean(records, metric, **match):
    return statistics.fmean(r[metric] for r in records if all(r[k] == v for k, v in match.items()))


@pytest.mark.slow
def test_forgetting_grows_with_learning_rate(forgetting):
    lrs = sorted({r["setting"] for r in forgetting if r["study"] == "lr"})
    f = [_mean(forgetting, "forgetting", study="lr", setting=lr) for lr in lrs]
    assert f[-1] > f[0] + 0.2, f  # the highest rate forgets far more than the lowest
    for seed in {r["seed"] for r in forgetting}:  # and does so in every seed
        lo = _mean(forgetting, "forgetting", study="lr", setting=lrs[0], seed=seed)
        hi = _mean(forgetting, "forgetting", study="lr", setting=lrs[-1], seed=seed)
        assert hi > lo


@pytest.mark.slow
def test_rehearsal_reduces_forgetting(forgetting):
    naive = _mean(forgetting, "forgetting", study="mitigation", method="naive")
    replay = _mean(forgetting, "forgetting", study="mitigation", method="rehearsal")
    assert replay < naive - 0.03
    # ... without giving up task B
    assert _mean(forgetting, "acc_b", study="mitigation", method="rehearsal") > 0.8


@pytest.mark.slow
def test_ewc_reduces_forgetting_against_naive_fine_tuning(forgetting):
    """EWC keeps more of A than naive fine-tuning with the same B steps, on every seed."""
    naive = {"study": "mitigation", "method": "naive"}
    gaps = paired_gaps(forgetting, "acc_a", {"study": "mitigation", "method": "ewc"}, naive)
    assert len(gaps) >= 2 and min(gaps) > 0, gaps
    # the price on B is small: it still learns B (chance is 20 %)
    assert _mean(forgetting, "acc_b", study="mitigation", method="ewc") > 0.8


@pytest.mark.slow
def test_forgetting_findings_match_the_records(forgetting):
    naive = {"study": "mitigation", "method": "naive"}
    lines = findings(forgetting)
    for meth in ("freeze", "low-lr", "rehearsal", "lwf", "ewc"):
        line = next(x for x in lines if x.startswith(meth + " vs naive"))
        arm = {"study": "mitigation", "method": meth}
        for task, metric in (("old task A", "acc_a"), ("new task B", "acc_b")):
            m = statistics.fmean(paired_gaps(forgetting, metric, arm, naive))
            winner = meth if m >= 0 else "naive"
            assert re.search(rf"{task}: {re.escape(winner)} (beat|ahead|and)", line), (task, line)


@pytest.mark.slow
def test_task_a_fits_before_b_and_lambda_comes_from_validation(forgetting):
    for r in forgetting:
        assert stats.fitted(r["a_train_accuracy"]), r  # forgetting starts from a learnt task
    assert "It fits its training set on every seed" in findings(forgetting)[0]
    assert "chosen per seed from" in "\n".join(findings(forgetting))


@pytest.mark.slow
def test_drift_is_measured_on_the_186_photos(drift):
    from tlcourse.data import load_dataset
    from tlcourse.experiments.forgetting import PROFILES_DRIFT

    cfg = PROFILES_DRIFT["quick"]
    n = len(load_dataset("photo"))
    assert n == 186 and all(r["n_probe"] == n for r in drift)
    assert all(r["n_probe_heldout"] == n - 6 * cfg.labels_per_class for r in drift)
    assert all(r["probe_size"] == cfg.probe_size >= 160 for r in drift)  # near ImageNet's 224


@pytest.mark.slow
def test_a_high_rate_drifts_further_from_imagenet(drift):
    learned, _ = learned_rates(drift)
    assert len(learned) >= 2, learned  # the comparison needs two rates that learnt the task
    lo, hi = ({"lr": learned[0]}, {"lr": learned[-1]})
    assert min(paired_gaps(drift, "top1_agreement", lo, hi)) > 0.1
    assert min(paired_gaps(drift, "feature_cosine", lo, hi)) > 0.05
    assert "a high rate moves the backbone far from ImageNet" in drift_findings(drift)[1]
