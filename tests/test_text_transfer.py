"""Chapter-8 tests: fast ones on synthetic records (plots, the mistake list's filter, the
sentences' signs), and the science on the quick profile run once (orderings and gaps, never
exact numbers)."""

import matplotlib
import pytest
import torch

from tlcourse.experiments import text_transfer as tt
from tlcourse.plots import text as text_plots

matplotlib.use("Agg")


def _records(frozen_lead: float = 0.10) -> list[dict]:
    """A run's worth of records: curve, sweep and shift, two seeds, made-up accuracies."""
    recs = []
    base = {"dataset": "tweets", "n_test": 200, "n_train": 0}
    for seed, wobble in ((0, 0.01), (1, -0.01)):
        for k in (5, 20, 50):
            for method, acc in ((tt.TFIDF, 0.60), (tt.FROZEN, 0.60 + frozen_lead),
                                (tt.RANDOM_FROZEN, 0.55)):
                recs.append({**base, "part": tt.CURVE, "method": method, "labels_per_class": k,
                             "seed": seed, "test_accuracy": acc + wobble + k / 1000})
        recs.append({**base, "part": tt.CURVE, "method": tt.FINETUNED, "labels_per_class": 20,
                     "seed": seed, "test_accuracy": 0.71 + wobble, "lr": 3e-5})
        for lr, acc in ((3e-5, 0.71), (3e-4, 0.66), (1e-3, 0.52)):
            recs.append({**base, "part": tt.SWEEP, "method": tt.FINETUNED, "lr": lr,
                         "labels_per_class": 20, "seed": seed, "test_accuracy": acc + wobble,
                         "probe_accuracy": 0.70 + wobble})
        for source, target in (("movies", "tweets"), ("tweets", "movies")):
            for cond, acc in ((tt.SOURCE, 0.62), (tt.MIXED, 0.70), (tt.TARGET_FEW, 0.66),
                              (tt.TARGET, 0.78)):
                for method, bonus in ((tt.TFIDF, -0.05), (tt.FROZEN, 0.0)):
                    recs.append({**base, "part": tt.SHIFT, "method": method, "seed": seed,
                                 "dataset": target, "source": source, "test_on": target,
                                 "condition": cond, "labels_per_class": 0,
                                 "source_per_class": 200 if cond in (tt.SOURCE, tt.MIXED) else 0,
                                 "target_per_class": {tt.SOURCE: 0, tt.MIXED: 20,
                                                      tt.TARGET_FEW: 20, tt.TARGET: 200}[cond],
                                 "test_accuracy": acc + bonus + wobble})
    return recs


# ---------------------------------------------------------------------------------------------
# Fast: tables, findings, plots, mistakes
# ---------------------------------------------------------------------------------------------
def test_findings_follow_the_sign_and_the_noise_of_the_records():
    ahead = " ".join(tt.curve_findings(_records(0.10)))
    assert "frozen MiniLM + LR beat TF-IDF + LR by 10.0 ± 0.0 points (2 seeds)" in ahead
    behind = " ".join(tt.curve_findings(_records(-0.10)))
    assert "TF-IDF + LR beat frozen MiniLM + LR by 10.0" in behind
    assert "frozen MiniLM + LR beat TF-IDF" not in behind


def test_sweep_table_and_findings_name_the_best_rate_and_the_damage():
    recs = _records()
    rows = tt.sweep_table(recs)
    assert [r["rate"] for r in rows] == ["probe (no fine-tuning)", "3e-05", "0.0003", "0.001"]
    assert rows[1]["in BERT's range"] == "yes" and rows[3]["in BERT's range"] == "no"
    assert tt.best_rate(recs) == 3e-5
    assert tt.sweep_gaps(recs, 1e-3) == pytest.approx([-0.18, -0.18])
    said = " ".join(tt.sweep_findings(recs))
    assert "at 0.001, the probe it started from beat LP-FT by 18.0 ± 0.0 points" in said
    assert "The best rate swept was 3e-05 (71.0 ± 1.4 %), inside BERT's" in said


def test_shift_table_and_findings_compare_like_with_like():
    recs = _records()
    rows = tt.shift_table(recs)
    assert [(r["test on"], r["train on"]) for r in rows[:2]] == [
        ("tweets", "200/class of the target (no shift)"),
        ("tweets", "200/class of the other corpus")]
    assert rows[1]["frozen MiniLM + LR"] == "62.0 ± 1.4 %"
    said = " ".join(tt.shift_findings(recs))
    assert "frozen MiniLM + LR: trained on tweets beat trained on movies by 16.0 ± 0.0" in said
    assert "with them beat without by 8.0" in said


def test_table_leaves_arms_that_did_not_run_blank():
    rows = tt.table(_records())
    assert [r["per class"] for r in rows] == [5, 20, 50]
    assert rows[0][tt.NAMES[tt.FINETUNED]] == "-" and rows[1][tt.NAMES[tt.FINETUNED]] != "-"


def test_the_three_plots_draw_every_arm_and_the_references():
    recs = _records()
    fig = text_plots.learning_curve(recs)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {tt.NAMES[m] for m in (tt.TFIDF, tt.FROZEN, tt.RANDOM_FROZEN, tt.FINETUNED)} < set(
        labels) and "chance (50 %)" in labels
    fig = text_plots.lr_sweep(recs)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "BERT's range (2e-5..5e-5)" in labels
    assert any(lab.startswith("the probe it started from (70%") for lab in labels)
    fig = text_plots.domain_shift(recs)
    assert [ax.get_title() for ax in fig.axes] == ["tested on tweets", "tested on movies"]


def test_mistakes_shows_only_errors_alternating_classes_and_never_a_blocked_tweet():
    texts = ["what a slut", "@bob loved the hell out of it http://t.co/x", "fine flight",
             "great crew", "awful delay", "lost my bag"]
    y = torch.tensor([0, 1, 1, 1, 0, 0])
    pred = torch.tensor([1, 0, 1, 0, 1, 1])
    shown = text_plots.mistakes(texts, y, pred, ["negative", "positive"], k=3)
    assert shown == ["[negative -> positive] awful delay",
                     "[positive -> negative] @user loved the h*** out of it <link>",
                     "[negative -> positive] lost my bag"]
    assert not any("slut" in s for s in text_plots.mistakes(texts, y, pred, ["n", "p"], k=10))


# ---------------------------------------------------------------------------------------------
# Slow: the science on the quick profile, run once for this module
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick():
    from tlcourse.experiments import run_experiment

    return run_experiment("text-transfer", "quick", progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("k", [20, 50])
@pytest.mark.parametrize("other", [tt.TFIDF, tt.RANDOM_FROZEN])
def test_the_frozen_encoder_beats_tfidf_and_random_weights_over_seeds(quick, k, other):
    from tlcourse.stats import mean_sd

    gaps = tt.paired_gaps(quick.records, tt.FROZEN, other, k)
    m, s = mean_sd(gaps)
    assert len(gaps) == 2 and m > 0 and m > s, (k, other, gaps)


@pytest.mark.slow
def test_fine_tuning_at_1e3_ends_below_the_probe_it_started_from(quick):
    gaps = tt.sweep_gaps(quick.records, 1e-3)
    assert len(gaps) == 2 and sum(gaps) / 2 < 0, gaps


@pytest.mark.slow
def test_the_findings_sentences_match_the_records_signs(quick):
    recs, said = quick.records, " ".join(tt.findings(quick.records))
    for a, b in ((tt.FROZEN, tt.TFIDF), (tt.FROZEN, tt.RANDOM_FROZEN)):
        for k in (20, 50):
            gaps = tt.paired_gaps(recs, a, b, k)
            winner, loser = (a, b) if sum(gaps) >= 0 else (b, a)
            assert f"{k}/class: {tt.NAMES[winner]} beat {tt.NAMES[loser]}" in said
    for lr in tt.PROFILES["quick"].sweep_lrs:
        gaps = tt.sweep_gaps(recs, lr)
        first = "LP-FT" if sum(gaps) >= 0 else "the probe it started from"
        assert f"at {lr:g}" in said and f"{first} beat" in said
    assert quick.records and {r["part"] for r in recs} == {tt.CURVE, tt.SWEEP, tt.SHIFT}
