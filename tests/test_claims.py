"""The claims ledger: the claims file, each verdict function on synthetic records (the verdict
must flip with the sign of the effect), the ledger on stored records (tests/fixtures) checked
against a textbook t interval, and ``tlcourse claims`` on a synthetic results cache.

No experiment runs here: every record is made up, so the tests take seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tlcourse import claims
from tlcourse.claims import FULL_ONLY, HOLDS, MISSING, OPPOSITE

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
JITTER = {0: 0.01, 1: -0.01, 2: 0.0, 3: 0.005, 4: -0.005}  # seed noise, well below the effects


def _rows(seeds, value: Callable[[int], float], metric: str = "test_accuracy",
          **fields) -> list[dict]:
    """One record per seed with ``metric = value(seed)`` and the given fields."""
    return [{**fields, "seed": s, metric: round(value(s), 4)} for s in seeds]


def _arms(seeds, e: float, field: str, better, worse, base: float = 0.6,
          metric: str = "test_accuracy", **common) -> list[dict]:
    """Two arms told apart by ``field``: ``better`` scores ``base + e`` (plus seed noise),
    ``worse`` scores ``base``; both carry ``common``."""
    return (_rows(seeds, lambda s: base + e + JITTER[s], metric, **common, **{field: better})
            + _rows(seeds, lambda s: base, metric, **common, **{field: worse}))


# Per verdict function: records in which the claim's effect is ``e`` (positive: as claimed).
def _scratch_vs_transfer(seeds, e):
    out = []
    for k in (1, 5):
        out += _arms(seeds, e, "method", "imagenet-frozen", "lite0-scratch", 0.5,
                     dataset="photo", labels_per_class=k)
        out += _rows(seeds, lambda s: 0.4, dataset="photo", method="small-cnn-scratch",
                     labels_per_class=k)
    return out


def _layer_transfer(seeds, e):
    out = []
    for n in (1, 2, 3):
        out += _rows(seeds, lambda s: 0.7, method="BnB", depth=n)
        cost = {1: 0.0, 2: e / 2, 3: e}[n]
        noise = n == 3
        out += _rows(seeds, lambda s, c=cost, j=noise: 0.7 - c - JITTER[s] * j,
                     method="AnB", depth=n)
    return out


def _lr_sweep(seeds, e):
    # validation picks 1e-4 (30x below the from-scratch 3e-3); its test accuracy is e above 3e-3's
    return [r for lr in (1e-5, 1e-4, 1e-3, 3e-3, 1e-2)
            for r in _rows(seeds, lambda s, lr=lr: 0.6 + (e + JITTER[s] if lr == 1e-4 else 0),
                           lr=lr, val_accuracy=0.7 if lr == 1e-4 else 0.6,
                           early_stop_test_accuracy=0.6)]


def _early_stopping(seeds, e):
    out = _rows(seeds, lambda s: 0.6, lr=1e-3, early_stop_epoch=2, epochs=5, val_accuracy=0.6)
    for r in out:
        r["early_stop_test_accuracy"] = round(0.6 + e + JITTER[r["seed"]], 4)
    return out


def _data_scaling_overfit(seeds, e):
    # claim 11 (issue 25): at 2/class the class means beat the trained linear head by e
    return [{**r, "train_accuracy": 1.0}
            for r in _arms(seeds, e, "method", "prototype-head", "linear-head",
                           labels_per_class=2)]


def _data_scaling_catch_up(seeds, e):
    return (_arms(seeds, e, "method", "small-cnn-scratch", "imagenet-frozen", labels_per_class=100)
            + _arms(seeds, 0.1, "method", "imagenet-frozen", "small-cnn-scratch",
                    labels_per_class=2))


def _augment(seeds, e):
    # claim 8 is an interaction: the gain at 1 photo per class is e (plus seed noise), at 5 none
    flat = [r for v in ("augmentation", "no augmentation")
            for r in _rows(seeds, lambda s: 0.8, variant=v, mistake="few-shot-augment",
                           labels_per_class=5)]
    return _arms(seeds, e, "variant", "augmentation", "no augmentation",
                 mistake="few-shot-augment", labels_per_class=1) + flat


def _preprocessing(seeds, e):
    out = _arms(seeds, e, "variant", "correct", "no normalisation",
                mistake="preprocessing", dataset="photo")
    return [{**r, "correct": r["variant"] == "correct"} for r in out]


def _text_transfer(seeds, e):
    return _arms(seeds, e, "method", "minilm-frozen", "tfidf", part="curve", labels_per_class=20)


def _backbone_choice(seeds, e):
    out = [{**r, "input_size": 260 if r["model"] == "lite2" else 224}
           for r in _arms(seeds, e, "model", "lite2", "lite0", part="accuracy")]
    return out + [{"part": "model", "model": m, "size_setting": "own", "input_size": size,
                   "images_per_second": ips}
                  for m, size, ips in (("lite0", 224, 30.0), ("lite2", 260, 10.0))]


def _lora(seeds, e):
    # claim 16: LoRA minus full fine-tuning is e (an equivalence within 2 points)
    sizes = {"lora": (74_498, 301_672), "full-finetune": (22_713_986, 90_868_736)}
    return [{**r, "trainable_params": sizes[r["method"]][0], "saved_bytes": sizes[r["method"]][1]}
            for r in _arms(seeds, e, "method", "lora", "full-finetune", labels_per_class=20)]


def _zero_shot(seeds, e):
    # claim 17: zero-shot beats the probe at 5/class by e, and the probe at 20 beats it by e
    return (_rows(seeds, lambda s: 0.6, method="probe", labels_per_class=5)
            + _rows(seeds, lambda s: 0.6 + e + JITTER[s], method="zero-shot", labels_per_class=0)
            + _rows(seeds, lambda s: 0.6 + 2 * e + 2 * JITTER[s], method="probe",
                    labels_per_class=20))


#: verdicts that test an equivalence (a margin): "holds" reads "equivalent within the margin"
EQUIVALENCE = {"lora_matches_full"}

CASES: dict[str, Callable[[tuple, float], list[dict]]] = {
    "pretrained_beats_scratch": _scratch_vs_transfer,
    "late_layers_more_specific": _layer_transfer,
    "pretrained_backbone_matters": lambda seeds, e: _arms(
        seeds, e, "method", "linear-head", "linear-head-random-weights", part="heads"),
    "finetuning_beats_probe": lambda seeds, e: _arms(
        seeds, e, "method", "top-2-stages", "linear-probe", labels_per_class=5),
    "head_first_beats_random_head": lambda seeds, e: _arms(
        seeds, e, "method", "all-stages (LP-FT)", "all-stages, random head", labels_per_class=5),
    "low_rate_beats_scratch_rate": _lr_sweep,
    "normalisation_matters": _preprocessing,
    "augmentation_helps_few_shot": _augment,
    "weighting_fixes_imbalance": lambda seeds, e: _arms(  # balanced accuracy (equal test classes)
        seeds, e, "variant", "weighted loss", "plain loss", mistake="imbalance",
        test_per_class=[50] * 10),
    "early_stopping_helps": _early_stopping,
    "few_labels_overfit": _data_scaling_overfit,
    "mismatch_shrinks_benefit": lambda seeds, e: (
        _arms(seeds, e, "method", "imagenet-frozen", "raw-pixels", metric="balanced_accuracy",
              study="benefit", target="photo", chance=1 / 6)
        + _rows(seeds, lambda s: 0.6, "balanced_accuracy", study="benefit", target="clipart",
                method="imagenet-frozen", chance=1 / 6)
        + _rows(seeds, lambda s: 0.6, "balanced_accuracy", study="benefit", target="clipart",
                method="raw-pixels", chance=1 / 6)),
    "scratch_catches_up": _data_scaling_catch_up,
    "larger_backbone_more_accurate": _backbone_choice,
    "pretrained_text_encoder_beats_scratch": _text_transfer,
    "lora_matches_full": _lora,
    "zero_shot_then_labels": _zero_shot,
}


def test_every_verdict_function_has_a_case():
    assert set(CASES) == set(claims.VERDICTS)


@pytest.mark.parametrize("name", sorted(set(CASES) - EQUIVALENCE))
def test_verdict_flips_with_the_sign_of_the_effect(name):
    fn, make = claims.VERDICTS[name], CASES[name]
    held, opposite = fn(make(SEEDS, 0.2)), fn(make(SEEDS, -0.2))
    assert (held.status, opposite.status) == (HOLDS, OPPOSITE), (held, opposite)
    assert held.seeds == opposite.seeds == len(SEEDS)
    assert held.verdict.low > 0 > opposite.verdict.high  # the judge's interval, as claimed
    assert "95 % interval" in held.measured  # the size comes with its interval


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_seed_never_holds(name):
    v = claims.VERDICTS[name](CASES[name]((0,), 0.2))
    assert v.status == "inconclusive at 1 seed" and v.seeds == 1
    assert "one seed measures no spread" in v.measured


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_effect_inside_the_noise_is_inconclusive(name):
    make = CASES[name]
    # the effect (0.1 point) is smaller than the seed noise (about 1 point either way)
    v = claims.VERDICTS[name](make((0, 1), 0.001))
    assert v.status == "inconclusive at 2 seeds" and not v.verdict.decided, v
    assert "seeds" in v.verdict.need  # what it would take


def test_claim_16_reads_equivalent_worse_or_better_against_the_2_point_margin():
    from tlcourse.stats import BETTER, EQUIVALENT, WORSE

    fn = claims.VERDICTS["lora_matches_full"]
    seeds = (0, 1, 2, 3, 4)
    same, worse, better = fn(_lora(seeds, 0.0)), fn(_lora(seeds, -0.2)), fn(_lora(seeds, 0.2))
    assert (same.status, worse.status, better.status) == (EQUIVALENT, WORSE, BETTER)
    assert -0.02 < same.verdict.low and same.verdict.high < 0.02  # its 90 % interval inside
    assert "LoRA and full fine-tuning equivalent within 2 points" in same.measured
    assert "90 % interval" in same.measured and "0.33 %" in same.measured
    assert "LoRA worse than full fine-tuning by more than 2 points" in worse.measured
    assert "reproduces" in same.versus_quote and "does not reproduce" in worse.versus_quote
    # a gap of 1 point whose interval reaches past the margin: not equivalent, not worse
    open_ = fn(_lora((0, 1), -0.01))
    assert open_.status == "inconclusive at 2 seeds" and "equivalence within 2 points" in \
        open_.measured


def test_claim_17_needs_both_comparisons_and_the_weaker_decides():
    fn = claims.VERDICTS["zero_shot_then_labels"]
    both = _zero_shot(SEEDS, 0.2)
    assert fn(both).status == HOLDS and "from 20 labelled tweets per class" in \
        fn(both).versus_quote
    # zero-shot far below 5 labels: the first half fails, so the claim does not hold
    first_fails = [{**r, "test_accuracy": 0.3 + 0.2 * r["test_accuracy"] - 0.12}
                   if r["method"] == "zero-shot" else r for r in both]
    assert fn(first_fails).status == OPPOSITE
    assert fn([r for r in both if r["labels_per_class"] != 20]).status == MISSING


def test_a_change_is_worded_sign_first_with_the_judges_numbers():
    v = claims.VERDICTS["mismatch_shrinks_benefit"](CASES["mismatch_shrinks_benefit"](SEEDS, 0.2))
    assert "photos beat clip art by 20 points (95 % interval" in v.measured
    v = claims.VERDICTS["mismatch_shrinks_benefit"](CASES["mismatch_shrinks_benefit"](SEEDS, -0.2))
    assert "clip art beat photos by 20 points" in v.measured and v.status == OPPOSITE
    v = claims.VERDICTS["late_layers_more_specific"](CASES["late_layers_more_specific"]((0, 1), 0.0))
    assert "no change" in v.measured and "\x00" not in v.measured


def test_quoted_range_is_reported_next_to_the_measurement():
    v = claims.VERDICTS["pretrained_beats_scratch"](_scratch_vs_transfer(SEEDS, 0.2))
    assert "inside the quoted 10–30 range" in v.versus_quote
    v = claims.VERDICTS["normalisation_matters"](_preprocessing(SEEDS, 0.02))
    assert "less than the quoted 10 points" in v.versus_quote


# ---------------------------------------------------------------------------------------------
# The claims file
# ---------------------------------------------------------------------------------------------
def test_claims_file_lists_seventeen_claims_each_measured_or_pending():
    from tlcourse.experiments import list_experiments

    listed = claims.load_claims()
    assert [c.number for c in listed] == list(range(1, 18))
    known = list_experiments()
    for c in listed:
        assert c.claim and c.short and c.sources
        if c.experiment:
            assert c.experiment in known, c
            assert (ROOT / "notebooks" / f"{c.notebook}.ipynb").is_file(), c
        else:
            assert c.pending, c
    assert all(c.experiment for c in listed)  # every claim is measured by a chapter
    assert {c.verdict for c in listed if c.verdict} == set(claims.VERDICTS)


def test_malformed_claims_file_names_every_problem(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n"
                   "  - {number: 1, short: s, claim: c, sources: [tweet], experiment: x,\n"
                   "     verdict: nope}\n"
                   "  - {number: 3, short: s, claim: c, sources: [blog]}\n"
                   "  - {number: 4, short: s, claim: c, sources: [blog], colour: red}\n")
    with pytest.raises(claims.ClaimsError) as err:
        claims.load_claims(bad)
    text = str(err.value)
    for fragment in ("unknown source kind 'tweet'", "unknown verdict function 'nope'",
                     "needs 'pending'", "unexpected keyword argument 'colour'", "numbered 1, 2, 3"):
        assert fragment in text
    with pytest.raises(claims.ClaimsError, match="not found"):
        claims.load_claims(tmp_path / "missing.yaml")


def test_quiz_validator_checks_claims_against_the_ledger(tmp_path, monkeypatch):
    from tlcourse.quiz.bank import validate_file

    small = tmp_path / "claims.yaml"
    small.write_text("claims:\n" + "".join(
        f"  - {{number: {n}, short: s, claim: c, sources: [blog], pending: later}}\n"
        for n in (1, 2, 3)))
    monkeypatch.setenv("TLCOURSE_CLAIMS", str(small))
    bank = tmp_path / "bank.yaml"
    question = ("  - {id: t-q1, topic: t, difficulty: easy, kind: recall, type: truefalse, prompt: p, answer: T,"
                " claims: [%d], choices: [{key: T, why: w}, {key: F, why: w}]}\n")
    head = "chapter: tst\ntitle: T\ntopics: {t: x}\nquestions:\n"
    bank.write_text(head + question % 3)
    assert validate_file(bank) == []
    bank.write_text(head + question % 5)
    problems = validate_file(bank)
    assert len(problems) == 1 and "claim numbers 1-3 from claims.yaml" in problems[0]


# ---------------------------------------------------------------------------------------------
# The ledger and the command
# ---------------------------------------------------------------------------------------------
def test_missing_and_malformed_records_read_not_measured_yet():
    listed = claims.load_claims()
    heads = CASES["pretrained_backbone_matters"](SEEDS, 0.2)
    rows = claims.ledger(listed, {"feature-extraction": heads, "fine-tuning": [{"seed": 0}]})
    by = {c.number: v for c, v in rows}
    assert by[3].status == HOLDS
    assert by[1].status == MISSING and "run: tlcourse run scratch-vs-transfer" in by[1].measured
    assert by[4].status == MISSING  # records of another shape: no guess
    assert by[13].status == MISSING and "tlcourse run text-transfer" in by[13].measured
    md = claims.to_markdown(rows, links="")
    assert "[ch. 2](02_feature_extraction.ipynb)" in md and md.count("\n| ") == 17


def _save(name: str, records: list[dict], seeds: int | None = None) -> None:
    from tlcourse import cache
    from tlcourse.experiments import Results
    from tlcourse.train import get_device

    key = cache.results_key(name, "quick", tuple(range(seeds)) if seeds else None,
                            str(get_device()))
    cache.save_results(key, Results(name, "quick", {}, records=records))


@pytest.fixture
def synthetic_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TLCOURSE_CACHE", raising=False)
    _save("feature-extraction", CASES["pretrained_backbone_matters"](SEEDS, 0.2))
    return tmp_path


def test_cli_prints_and_writes_the_ledger_from_the_cache(synthetic_cache, capsys):
    from tlcourse.cli import main

    out = synthetic_cache / "ledger"
    assert main(["claims", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3. The recipe: pretrained backbone, frozen, new head: HOLDS" in text
    assert "run: tlcourse run scratch-vs-transfer --profile quick" in text
    assert "tlcourse claims --run" in text
    data = json.loads((synthetic_cache / "ledger.json").read_text())
    assert [c["number"] for c in data["claims"]] == list(range(1, 18))
    assert data["claims"][2]["status"] == HOLDS and data["claims"][0]["status"] == MISSING
    assert "| 3 | The recipe" in (synthetic_cache / "ledger.md").read_text()


def test_cli_run_computes_only_the_missing_experiments(synthetic_cache, monkeypatch, capsys):
    import tlcourse.experiments as ex
    from tlcourse.cli import main

    ran = []

    def fake_run(name, profile="quick", **kw):
        ran.append(name)
        return ex.Results(name, profile, {}, records=[], seconds=0.0)

    monkeypatch.setattr(ex, "run_experiment", fake_run)
    assert main(["claims", "--run", "--json", "--no-progress", "--jobs", "1"]) == 0
    needed = claims.experiments_needed(claims.load_claims())
    assert ran == [n for n in needed if n != "feature-extraction"]  # the cached one is reused
    data = json.loads(capsys.readouterr().out)
    assert data["claims"][2]["status"] == HOLDS


def test_run_in_worker_processes(synthetic_cache, monkeypatch, capsys):
    import tlcourse.experiments as ex

    def fake_run(name, profile="quick", **kw):  # inherited by the forked workers
        records = CASES["finetuning_beats_probe"](SEEDS, 0.2) if name == "fine-tuning" else []
        return ex.Results(name, profile, {}, records=records, seconds=0.0)

    monkeypatch.setattr(ex, "run_experiment", fake_run)
    monkeypatch.setattr(ex, "_START_METHOD", "fork")  # spawned workers would not see the fake
    listed = claims.load_claims()
    records = claims.collect(listed, run=True, jobs=2)
    done = {line.split(":")[0].strip() for line in capsys.readouterr().err.splitlines()
            if line.startswith("  ")}
    assert done == set(claims.experiments_needed(listed)) - {"feature-extraction"}
    by = {c.number: v for c, v in claims.ledger(listed, records)}
    assert by[3].status == by[4].status == HOLDS  # one from the cache, one from a worker


def test_verdicts_read_names_the_experiments_record():
    """The verdicts match records by name: a renamed arm must fail here, not read 'missing'."""
    import inspect

    from tlcourse.experiments import (
        domain_shift,
        feature_extraction,
        fine_tuning,
        layer_transfer,
        mistakes,
    )

    names = {fine_tuning: ('"top-2-stages"', '"early_stop_test_accuracy"', '"val_accuracy"'),
             feature_extraction: ('"linear-head"', '"linear-head-random-weights"', '"heads"'),
             mistakes: ('"no normalisation"', '"few-shot-augment"', '"augmentation"',
                        '"no augmentation"', '"weighted loss"', '"plain loss"',
                        '"minority_items"', '"balanced_accuracy"'),
             layer_transfer: ('"AnB"', '"BnB"', '"depth"'),
             domain_shift: ('"cross-domain"', '"clipart"', '"source-only"')}
    for module, expected in names.items():
        source = inspect.getsource(module)
        assert [n for n in expected if n not in source] == [], module.__name__


# ---------------------------------------------------------------------------------------------
# The ledger on stored records: the judge's verdict, checked against a textbook t interval
# ---------------------------------------------------------------------------------------------
FIXTURE = ROOT / "tests" / "fixtures" / "claims_records.json"


@pytest.fixture(scope="module")
def stored():
    records = json.loads(FIXTURE.read_text())["records"]
    return records, {c.number: f for c, f in claims.ledger(claims.load_claims(), records)}


def _t_interval(gaps: list[float]) -> tuple[float, float]:
    """The textbook 95 % t interval over seeds (scipy's), the judge's reference where the
    records keep no fixed-test-set outcomes."""
    from scipy import stats as sp

    n = len(gaps)
    m, se = sum(gaps) / n, sp.sem(gaps)
    return sp.t.interval(0.95, n - 1, loc=m, scale=se)


def _arm(records, metric="test_accuracy", **match) -> dict[int, float]:
    return {r["seed"]: r[metric] for r in records
            if all(r.get(k) == v for k, v in match.items())}


def test_stored_pairwise_gap_holds_with_its_interval(stored):
    records, by = stored
    heads = records["feature-extraction"]
    a, b = _arm(heads, method="linear-head"), _arm(heads, method="linear-head-random-weights")
    gaps = [a[s] - b[s] for s in sorted(a)]
    v = by[3].verdict
    assert by[3].status == HOLDS and v.seeds == (0, 1, 2) and v.n_items == 126
    assert (v.low, v.high) == pytest.approx(_t_interval(gaps), abs=1e-9)  # redrawn test sets


def test_stored_gap_of_gaps_is_inconclusive_and_says_what_would_decide(stored):
    records, by = stored
    lt = records["layer-transfer"]
    spec = {n: (_arm(lt, method="BnB", depth=n), _arm(lt, method="AnB", depth=n)) for n in (1, 3)}
    gaps = [(spec[3][0][s] - spec[3][1][s]) - (spec[1][0][s] - spec[1][1][s]) for s in range(3)]
    f, v = by[2], by[2].verdict
    assert f.status == "inconclusive at 3 seeds" and v.n_seeds == 3 and v.n_items == 500
    assert (v.low, v.high) == pytest.approx(_t_interval(gaps), abs=1e-9)
    assert v.low < 0 < v.high and v.seeds_needed > 3
    text = claims.to_text([(c, f) for c in claims.load_claims() if c.number == 2])
    assert f"tlcourse run layer-transfer --seeds {v.seeds_needed}" in text
    assert "500 test digits (no per-item outcomes recorded" in text


def test_stored_sweep_is_judged_at_the_rate_chosen_on_validation(stored):
    """Claims 6 and 10 at the rate the validation photos chose (1e-4 in the stored records),
    not averaged over the sweep's rates (issue 25)."""
    records, by = stored
    sweep = records["lr-sweep"]
    at = {lr: _arm(sweep, lr=lr) for lr in (1e-4, 3e-3)}
    v = by[6].verdict
    assert by[6].status == HOLDS and v.seeds == (0, 1)
    assert (v.low, v.high) == pytest.approx(
        _t_interval([at[1e-4][s] - at[3e-3][s] for s in (0, 1)]), abs=1e-9)
    assert "validation picked 1e-4, 30× lower than from scratch" in by[6].versus_quote
    kept, last = _arm(sweep, "early_stop_test_accuracy", lr=1e-4), at[1e-4]
    v = by[10].verdict
    assert by[10].status == "inconclusive at 2 seeds"
    assert v.gap == pytest.approx(sum(kept[s] - last[s] for s in (0, 1)) / 2, abs=1e-12)
    assert (v.low, v.high) == pytest.approx(_t_interval([kept[s] - last[s] for s in (0, 1)]),
                                            abs=1e-9)
    assert "at the rate chosen on validation (1e-4)" in by[10].measured


def test_every_format_shows_gap_interval_seeds_items_and_what_would_decide(stored):
    records, by = stored
    rows = claims.ledger(claims.load_claims(), records)
    md = claims.to_markdown(rows, links="")
    row2 = next(line for line in md.splitlines() if line.startswith("| 2 |"))
    cells = [c.strip() for c in row2.split(" | ")]
    v = by[2].verdict
    assert cells[2].startswith("**inconclusive at 3 seeds** · about")
    assert cells[3] == (f"{v.gap * 100:+.1f} points (95 % interval {v.low * 100:.1f} to "
                        f"{v.high * 100:.1f})").replace("-", "−")
    assert cells[4].startswith("3 seeds (0–2), 500 test digits")
    data = claims.to_json(rows)["claims"]
    j = data[1]["judge"]
    assert data[1]["status"] == "inconclusive at 3 seeds" and j["seeds"] == [0, 1, 2]
    assert (j["low"], j["high"], j["n_items"]) == (v.low, v.high, 500)
    assert j["seeds_needed"] == v.seeds_needed and "--seeds" in data[1]["to_decide"]
    missing = next(c for c in data if c["judge"] is None)  # a claim the fixture lacks
    assert missing["status"] == MISSING
    text = claims.to_text(rows)
    assert "3. The recipe: pretrained backbone, frozen, new head: HOLDS" in text
    assert "within noise" not in text + md + json.dumps(data)


def test_a_claim_decided_in_the_full_profile_only(tmp_path, stored):
    records, _ = stored
    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n  - {number: 1, short: s, claim: c, sources: [blog], chapter: 2,\n"
                    "     notebook: n, experiment: feature-extraction, test: t,\n"
                    "     verdict: pretrained_backbone_matters,\n"
                    "     full_profile_only: the quick profile stops at 10 labels per class}\n")
    listed = claims.load_claims(path)
    quick = claims.ledger(listed, records, "quick")
    assert quick[0][1].status == FULL_ONLY and quick[0][1].verdict.word == HOLDS
    text = claims.to_text(quick)
    assert "DECIDED IN THE FULL PROFILE ONLY" in text and "measured here, no verdict" in text
    assert "stops at 10 labels per class" in text
    assert claims.ledger(listed, records, "full")[0][1].status == HOLDS
    empty = tmp_path / "empty-reason.yaml"
    empty.write_text(path.read_text().replace("the quick profile stops at 10 labels per class",
                                              "''"))
    with pytest.raises(claims.ClaimsError, match="full_profile_only' must say"):
        claims.load_claims(empty)


# ---------------------------------------------------------------------------------------------
# --seeds N: settle an inconclusive claim with more seeds
# ---------------------------------------------------------------------------------------------
def _fake_runs(monkeypatch):
    import tlcourse.experiments as ex

    asked = {}

    def fake_run(name, profile="quick", seeds=None, **kw):
        asked[name] = seeds
        records = CASES["finetuning_beats_probe"](seeds or SEEDS, 0.2) \
            if name == "fine-tuning" else []
        return ex.Results(name, profile, {}, records=records, seconds=0.0)

    monkeypatch.setattr(ex, "run_experiment", fake_run)
    return asked


def test_claims_run_with_seeds_runs_seeds_0_to_n_minus_1(synthetic_cache, monkeypatch, capsys):
    from tlcourse.cli import main

    asked = _fake_runs(monkeypatch)
    assert main(["claims", "--run", "--seeds", "4", "--json", "--no-progress", "--jobs", "1"]) == 0
    needed = claims.experiments_needed(claims.load_claims())
    # the cached feature-extraction run is at the profile's seeds, not 4: it runs again too
    assert asked == {n: (0, 1, 2, 3) for n in needed}
    data = json.loads(capsys.readouterr().out)
    assert data["claims"][3]["judge"]["seeds"] == [0, 1, 2, 3]


def test_claims_seeds_reads_n_seed_runs_and_falls_back_to_the_profiles(synthetic_cache):
    _save("fine-tuning", CASES["finetuning_beats_probe"]((0, 1, 2, 3, 4), 0.2), seeds=5)
    records = claims.collect(claims.load_claims(), seeds=5)
    assert {r["seed"] for r in records["fine-tuning"]} == set(range(5))
    assert records["feature-extraction"] is not None  # saved at the profile's seeds only
    assert claims.collect(claims.load_claims())["fine-tuning"] is None


@pytest.mark.parametrize("argv, says", [
    (["claims", "--seeds", "0"], "'0': give the number of seeds to run, 1 or more"),
    (["run", "fine-tuning", "--seeds", "-2"], "'-2': give the number of seeds to run"),
    (["run", "fine-tuning", "--seeds", "x"], "'x': give the number of seeds to run"),
    (["run", "fine-tuning", "--seed", "1", "--seeds", "3"], "not allowed with argument --seed")])
def test_bad_seed_counts_are_usage_errors(argv, says, capsys):
    from tlcourse.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and says in capsys.readouterr().err


def test_run_with_seeds_passes_seeds_0_to_n_minus_1(synthetic_cache, monkeypatch, capsys):
    from tlcourse.cli import main

    asked = _fake_runs(monkeypatch)
    assert main(["run", "fine-tuning", "--seeds", "3", "--no-progress"]) == 0
    assert asked == {"fine-tuning": (0, 1, 2)}


def test_a_verdict_on_resampled_test_sets_says_so_instead_of_not_recorded():
    """Claims 8 and 12 judge per-seed differences, each seed on its own test draw: the ledger
    said "test images not recorded" although every seed's test set counted."""
    from tlcourse.claims.report import _counts
    from tlcourse.claims.verdicts import Finding
    from tlcourse.experiments.shift_benefit import benefit_verdict
    from tlcourse.stats import PerSeed, judge

    v = judge(PerSeed({0: 0.1, 1: 0.2, 2: 0.15}, test_set="resampled"))
    said = _counts(Finding("holds", "x", v, items="test photos"))
    assert "not recorded" not in said and "each on its own draw of test photos" in said
    from tlcourse.experiments.shift_benefit import ARMS, FAR, METRIC, NEAR

    assert set(ARMS) == {"imagenet-frozen", "raw-pixels"} and {NEAR, FAR} == {"photo", "clipart"}
    rows = [{"study": "benefit", "target": t, "method": f, "seed": s, "k": 5, "chance": 1 / 6,
             METRIC: acc, "test_set": "resampled"}
            for s in range(3) for t, f, acc in (("photo", "imagenet-frozen", 0.9),
                                                 ("photo", "raw-pixels", 0.4 + s / 100),
                                                 ("clipart", "imagenet-frozen", 0.6),
                                                 ("clipart", "raw-pixels", 0.35))]
    verdict, _ = benefit_verdict(rows)
    assert verdict is not None and verdict.test_set == "resampled"
