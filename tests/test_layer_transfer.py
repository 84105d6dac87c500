"""Chapter-4 layer transfer (Yosinski et al. 2014): the two effects as defined, the findings'
wording on synthetic records, and the science on the quick profile."""

import re
import statistics

import pytest

from tlcourse.experiments.layer_transfer import effects, findings, largest_depth, yosinski_effects
from tlcourse.stats import fitted, judge, paired_gaps


def _records(acc: dict[tuple[str, int], list[float]]) -> list[dict]:
    """Synthetic records: ``{(method, depth): [accuracy per seed]}``."""
    return [{"method": m, "depth": d, "seed": s, "test_accuracy": a, "train_accuracy": 1.0}
            for (m, d), accs in acc.items() for s, a in enumerate(accs)]


# baseB 0.95-0.97; AnB falls at the top (specificity), BnB dips a little at n=2 in one seed only
SYNTH = _records({
    ("scratch", 0): [0.95, 0.97, 0.96],
    ("AnB", 1): [0.95, 0.96, 0.96], ("AnB", 2): [0.93, 0.95, 0.94], ("AnB", 3): [0.70, 0.66, 0.68],
    ("AnB+", 1): [0.96, 0.98, 0.97], ("AnB+", 2): [0.97, 0.98, 0.97], ("AnB+", 3): [0.96, 0.97, 0.97],
    ("BnB", 1): [0.95, 0.97, 0.96], ("BnB", 2): [0.94, 0.97, 0.96], ("BnB", 3): [0.96, 0.96, 0.96],
})


def test_effects_follow_the_definitions_per_seed():
    fx = yosinski_effects(SYNTH)
    acc = {(r["method"], r["depth"], r["seed"]): r["test_accuracy"] for r in SYNTH}
    for n in (1, 2, 3):
        for s in (0, 1, 2):
            assert fx["specificity"][n][s] == pytest.approx(acc["BnB", n, s] - acc["AnB", n, s])
            assert fx["co-adaptation"][n][s] == pytest.approx(acc["scratch", 0, s] - acc["BnB", n, s])
            assert fx["boost"][n][s] == pytest.approx(acc["AnB+", n, s] - acc["scratch", 0, s])


def test_largest_depth_asks_the_judge():
    fx = yosinski_effects(SYNTH)
    assert largest_depth(fx["specificity"]) == (3, True)  # 28 points at the top, every seed
    n, real = largest_depth(fx["co-adaptation"])  # 0.3 points at n=2, one seed in three
    assert n == 2 and not real
    assert largest_depth({1: [0.30, 0.20], 2: [0.01, 0.02]}) == (1, False)  # 2 seeds: t(1 df)


def test_findings_name_the_depths_with_signs():
    text = "\n".join(findings(SYNTH))
    assert "Specificity (BnB - AnB" in text and "largest at n=3" in text
    assert "n=3: BnB beat AnB by 28 points (95 % interval 23 to 33; 3 seeds)" in text
    assert "Co-adaptation" in text and "-> it holds at no depth." in text
    assert "specificity largest at the top layers: specificity with 3 stages copied beat with 1" in text
    assert "co-adaptation largest in the middle layers: is inconclusive here" in text
    assert ("First stage (n=1), A's frozen vs B's own: BnB ahead by 0.3 points, inconclusive at "
            "3 seeds (−1.1 to 1.8; about 26 seeds would decide a gap this size)") in text
    assert "within" not in text and "±" not in text  # the judge's words only
    assert "-" + "0." not in text  # sign-aware: never a negative gap in the prose


def test_a_largest_depth_must_stand_out_from_the_others():
    """Co-adaptation of 2 points at n=1 and n=2 alike: present, but no single depth is largest."""
    recs = [{**r, "test_accuracy": r["test_accuracy"] - 0.02}
            if r["method"] == "BnB" and r["depth"] in (1, 2) else r for r in SYNTH]
    _, clear = largest_depth(yosinski_effects(recs)["co-adaptation"])
    assert not clear
    line = next(x for x in findings(recs) if x.startswith("Co-adaptation"))
    assert "it holds at n=2, but the judge cannot tell any depth from the others" in line


def test_findings_say_one_seed_decides_nothing():
    one = [r for r in SYNTH if r["seed"] == 0]
    text = "\n".join(findings(one))
    assert "BnB ahead by 26 points, inconclusive at 1 seed (one seed measures no spread" in text
    assert "-> largest at" not in text


def _with_items(items: bool = True) -> list[dict]:
    """SYNTH with per-digit outcomes on one fixed set of 100 test digits."""
    out = []
    for r in SYNTH:
        hit = [1] * round(100 * r["test_accuracy"]) + [0] * (100 - round(100 * r["test_accuracy"]))
        if r["method"] == "AnB":  # AnB misses other digits than BnB: discordant pairs
            hit = hit[::-1]
        out.append({**r, **({"item_correct": hit, "test_set": "fixed"} if items else {})})
    return out


def test_the_fixed_test_digits_count_in_the_interval():
    """Per-digit outcomes on one fixed test set: the same per-seed gaps give a wider interval
    than seeds alone would, and the sentence counts the digits."""
    recs = _with_items
    with_items = next(x for x in findings(recs(True)) if x.startswith("Specificity"))
    seeds_only = next(x for x in findings(recs(False)) if x.startswith("Specificity"))
    assert "3 seeds, 100 test digits)" in with_items and "test digits" not in seeds_only
    assert "n=2: BnB beat AnB by 1.7 points" in seeds_only
    assert "n=2: BnB ahead by 2 points, inconclusive at 3 seeds (−4 to 8; no number of seeds" in with_items
    assert "n=3: BnB beat AnB by 28 points (95 % interval 17 to 39; 3 seeds, 100 test digits)" in with_items


def test_findings_flag_a_baseline_that_does_not_fit():
    unfit = [{**r, "train_accuracy": 0.94} if r["method"] == "scratch" else r for r in SYNTH]
    assert "does not fit its training set" in findings(unfit)[0]
    assert "does not fit" not in findings(SYNTH)[0]


# --- the science on the quick profile (the same run notebook 04 makes) -----------------------
@pytest.fixture(scope="module")
def layer_transfer():
    from tlcourse.experiments import run_experiment

    return run_experiment("layer-transfer", "quick", progress=False).records


def _mean(records, metric, **match):
    return statistics.fmean(r[metric] for r in records if all(r[k] == v for k, v in match.items()))


@pytest.mark.slow
def test_baseline_fits_its_training_set(layer_transfer):
    assert all(fitted(r["train_accuracy"]) for r in layer_transfer if r["method"] == "scratch")


@pytest.mark.slow
def test_self_transfer_control_stays_near_baseline_at_shallow_depth(layer_transfer):
    base = _mean(layer_transfer, "test_accuracy", method="scratch")
    bnb1 = _mean(layer_transfer, "test_accuracy", method="BnB", depth=1)
    assert abs(bnb1 - base) < 0.05


@pytest.mark.slow
def test_specificity_is_largest_at_the_top(layer_transfer):
    """A's frozen top stage serves B far worse than B's own, on every seed, and far worse than
    A's first stage does (Yosinski et al.'s specificity growing with depth)."""
    spec = yosinski_effects(layer_transfer)["specificity"]
    top = max(spec)
    assert min(spec[top]) > 0.05
    fx = effects(layer_transfer)["specificity"]  # the judge, counting the fixed test digits
    grows = judge(paired_gaps(fx[top], fx[1]))
    assert grows.word == "holds" and grows.items_counted and grows.n_items == 750, grows


@pytest.mark.slow
def test_findings_match_the_records(layer_transfer):
    fx = yosinski_effects(layer_transfer)
    lines = findings(layer_transfer)
    for name, (a, b) in (("specificity", ("BnB", "AnB")), ("co-adaptation", ("baseB", "BnB"))):
        line = next(x for x in lines if x.lower().startswith(name))
        for n, gaps in fx[name].items():  # each clause's winner is the sign of the mean gap
            winner = a if statistics.fmean(gaps) >= 0 else b
            tied = rf"({re.escape(a)} and {re.escape(b)}|{re.escape(b)} and {re.escape(a)}) tied"
            assert re.search(rf"n={n}: ({re.escape(winner)} (beat|ahead)|{tied})", line), (n, line)
        n, real = largest_depth(fx[name])
        assert (f"largest at n={n}" in line) == real


def test_chapter_and_ledger_judge_claim_2_alike():
    """Claim 2 (specificity grows with depth) in the ledger and in the chapter's Yosinski line:
    the same verdict word and the same interval, from the same records."""
    from tlcourse.claims.verdicts import late_layers_more_specific

    recs = _with_items()
    finding = late_layers_more_specific(recs)
    fx = effects(recs)["specificity"]
    v = judge(paired_gaps(fx[3], fx[1]))
    assert finding.status == v.word == "holds" and v.items_counted
    assert (finding.verdict.low, finding.verdict.high) == (v.low, v.high)
    line = next(x for x in findings(recs) if x.startswith("Yosinski"))
    said = v.text("specificity with 3 stages copied", "with 1", "test digits")
    assert said in line and said[said.index("(95 % interval"):] in finding.measured
