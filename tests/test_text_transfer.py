"""Chapter-8 tests: fast ones on synthetic records (plots, the mistake list's filter, the
sentences' signs), and the science on the quick profile run once (orderings and gaps, never
exact numbers)."""

import random

import matplotlib
import pytest
import torch

from tlcourse.claims.verdicts import pretrained_text_encoder_beats_scratch
from tlcourse.experiments import Results
from tlcourse.experiments import text_transfer as tt
from tlcourse.plots import text as text_plots
from tlcourse.stats import HOLDS, by_seed, judge

matplotlib.use("Agg")


N_TEST = 200


def _rec(rng: random.Random, acc: float, **fields) -> dict:
    """A record whose per-text outcomes (200 fixed test texts) average its accuracy, give or
    take two texts (so no two seeds give exactly the same gap)."""
    correct = round(acc * N_TEST) + rng.randint(-2, 2)
    outcomes = [1] * correct + [0] * (N_TEST - correct)
    rng.shuffle(outcomes)
    return {"dataset": "tweets", "n_test": N_TEST, "n_train": 0, **fields,
            "test_accuracy": correct / N_TEST, "item_correct": outcomes, "test_set": "fixed"}


def _records(frozen_lead: float = 0.10) -> list[dict]:
    """A run's worth of records: curve, sweep and shift, three seeds, made-up accuracies."""
    rng, recs = random.Random(0), []
    for seed, wobble in ((0, 0.01), (1, -0.01), (2, 0.0)):
        for k in (5, 20, 50):
            for method, acc in ((tt.TFIDF, 0.60), (tt.FROZEN, 0.60 + frozen_lead),
                                (tt.RANDOM_FROZEN, 0.55)):
                recs.append(_rec(rng, acc + wobble + k / 1000, part=tt.CURVE, method=method,
                                 labels_per_class=k, seed=seed))
        probe = next(r["test_accuracy"] for r in recs if r["method"] == tt.FROZEN
                     and r["labels_per_class"] == 20 and r["seed"] == seed)
        recs.append(_rec(rng, 0.71 + wobble, part=tt.CURVE, method=tt.FINETUNED,
                         labels_per_class=20, seed=seed, lr=3e-5))
        # validation ranks 3e-4 first, the test texts 3e-5: the choice must follow validation
        for lr, acc, val in ((3e-5, 0.71, 0.70), (3e-4, 0.66, 0.74), (1e-3, 0.52, 0.50)):
            recs.append(_rec(rng, acc + wobble, part=tt.SWEEP, method=tt.FINETUNED, lr=lr,
                             labels_per_class=20, seed=seed, probe_accuracy=probe,
                             val_accuracy=val + wobble, n_val=100))
        for source, target in (("movies", "tweets"), ("tweets", "movies")):
            for cond, acc in ((tt.SOURCE, 0.62), (tt.MIXED, 0.70), (tt.TARGET_FEW, 0.66),
                              (tt.TARGET, 0.78)):
                for method, bonus in ((tt.TFIDF, -0.05), (tt.FROZEN, 0.0)):
                    recs.append(_rec(
                        rng, acc + bonus + wobble, part=tt.SHIFT, method=method, seed=seed,
                        dataset=target, source=source, test_on=target, condition=cond,
                        labels_per_class=0,
                        source_per_class=200 if cond in (tt.SOURCE, tt.MIXED) else 0,
                        target_per_class={tt.SOURCE: 0, tt.MIXED: 20, tt.TARGET_FEW: 20,
                                          tt.TARGET: 200}[cond]))
    return recs


# ---------------------------------------------------------------------------------------------
# Fast: tables, findings, plots, mistakes
# ---------------------------------------------------------------------------------------------
def test_every_record_keeps_its_per_text_outcomes_on_the_fixed_test_set():
    res = Results("text-transfer", "quick", {})
    res.artifacts["preds"] = {}
    common = {"part": tt.CURVE, "labels_per_class": 5, "seed": 0, "n_test": 4}
    tt._add(res, common, tt.TFIDF, 0.5, torch.tensor([0, 1, 1, 0]), 0.1, torch.tensor([0, 0, 1, 1]))
    r = res.records[0]
    assert r["item_correct"] == [1, 0, 1, 0] and r["test_set"] == "fixed" and r["n_test"] == 4
    assert by_seed(res.records).outcomes == {0: (1, 0, 1, 0)}


def test_findings_give_the_judges_sentence_with_the_test_texts_counted():
    recs = _records(0.10)
    ahead = " ".join(tt.curve_findings(recs))
    v = tt.verdict(recs, tt.FROZEN, tt.TFIDF, 20)
    assert v.items_counted and v.n_items == N_TEST and v.seeds == (0, 1, 2)
    assert v.text(tt.NAMES[tt.FROZEN], tt.NAMES[tt.TFIDF], "test texts") in ahead
    assert "frozen MiniLM + LR beat TF-IDF + LR by " in ahead and "3 seeds, 200 test texts" in ahead
    behind = " ".join(tt.curve_findings(_records(-0.10)))
    assert "TF-IDF + LR beat frozen MiniLM + LR by " in behind
    assert "frozen MiniLM + LR beat TF-IDF" not in behind
    assert "within noise" not in ahead + behind and "±" not in ahead + behind


def test_the_ledger_and_the_chapter_print_the_same_verdict_for_claim_13():
    recs = _records(0.03)
    f = pretrained_text_encoder_beats_scratch(recs)
    v = tt.verdict(recs, tt.FROZEN, tt.TFIDF, 20)
    assert f.verdict == v
    chapter = next(s for s in tt.curve_findings(recs) if s.startswith("5/class: frozen"))
    said = v.text(tt.NAMES[tt.FROZEN], tt.NAMES[tt.TFIDF], "test texts")
    assert said in chapter and said[said.index(" by "):] in f.measured.replace("test tweets",
                                                                             "test texts")


def test_sweep_table_and_findings_name_the_best_rate_and_the_damage():
    recs = _records()
    rows = tt.sweep_table(recs)
    assert [r["rate"] for r in rows] == ["probe (no fine-tuning)", "3e-05", "0.0003", "0.001"]
    assert rows[1]["in BERT's range"] == "yes" and rows[3]["in BERT's range"] == "no"
    assert rows[3]["vs the probe"].startswith("-")
    assert rows[3]["vs the probe"].endswith(" points: does not hold here")
    assert list(tt.sweep_gaps(recs, 1e-3).values()) == pytest.approx([-0.20] * 3, abs=0.021)
    said = " ".join(tt.sweep_findings(recs))
    assert "at 0.001, the probe it started from beat LP-FT by " in said


def test_the_best_rate_is_chosen_on_validation_texts_never_on_the_test_texts():
    recs = _records()  # the test texts rank 3e-5 first, the validation texts 3e-4
    assert tt.best_rate(recs) == 3e-4
    said = " ".join(tt.sweep_findings(recs))
    assert "The rate chosen on validation texts (50 per class of each seed's training pool, " \
           "validation accuracy 74 %) was 0.0003, outside BERT's" in said
    assert "LP-FT at 0.0003" in said and "at 3e-05" in said  # judged against BERT's, on test
    with pytest.raises(ValueError, match="no validation accuracy"):
        tt.best_rate([{k: v for k, v in r.items() if k != "val_accuracy"} for r in recs])


def test_validation_texts_are_drawn_from_the_training_pool_never_from_the_test_texts():
    from tlcourse.experiments.text_validation import train_val_split
    from tlcourse.text import TextData, split_texts

    data = TextData([f"text {i}" for i in range(400)], torch.arange(400) % 2, ["neg", "pos"],
                    "toy")
    train, val = train_val_split(data, 20, 50, seed=3, test_per_class=100)
    test = split_texts(data, 20, seed=3, test_per_class=100)[1]
    assert train.texts == split_texts(data, 20, seed=3, test_per_class=100)[0].texts
    assert len(val) == 100 and val.counts() == [50, 50]
    assert not set(val.texts) & set(train.texts) and not set(val.texts) & set(test.texts)


def _scratch(accs: dict[int, tuple[float, float]]) -> list[dict]:
    """Records of the random-weight encoder at 20/class: seed -> (test, training accuracy)."""
    rng = random.Random(1)
    return [_rec(rng, test, part=tt.CURVE, method=tt.RANDOM_TRAINED, labels_per_class=20,
                 seed=s, lr=3e-4, steps=90 if train < 0.95 else 30, epochs=30, max_steps=90,
                 train_accuracy=train, lr_sweep={"0.0003": 0.61, "0.001": 0.55}, n_val=100)
            for s, (test, train) in accs.items()]


def test_the_scratch_baseline_says_how_it_was_trained_and_whether_it_fitted():
    recs = _records() + _scratch({0: (0.62, 1.0), 1: (0.60, 0.97), 2: (0.61, 0.98)})
    said = " ".join(tt.curve_findings(recs))
    assert ("MiniLM trained from random weights at 20/class: the rate 0.0003 chosen on "
            "validation texts (validation accuracy 61 % at 0.0003, 55 % at 0.001)") in said
    assert "on seeds 0, 1, 2 it took 30, 30, 30 steps" in said
    assert "it fitted its training texts on every seed (training accuracy at least 97 %)" in said
    assert "fine-tuned MiniLM (LP-FT) beat MiniLM trained from random weights by" in said
    unfit = tt.curve_findings(_records() + _scratch({0: (0.6, 1.0), 1: (0.6, 0.5),
                                                     2: (0.6, 0.97)}))
    assert "did not fit its training texts on seed 1 (training accuracy 50 % after 90 steps)" \
        in " ".join(unfit)


def test_a_scratch_baseline_at_chance_is_left_out_of_the_verdicts_and_the_sentence_says_so():
    said = " ".join(tt.curve_findings(_records() + _scratch(
        {0: (0.50, 0.6), 1: (0.49, 0.55), 2: (0.51, 0.5)})))
    assert "At 20/class it ended at or below chance (" in said
    assert " % on the test texts), so it is left out of the verdicts above." in said
    assert "beat MiniLM trained from random weights" not in said
    assert "MiniLM trained from random weights beat" not in said


def test_shift_table_and_findings_compare_like_with_like():
    recs = _records()
    rows = tt.shift_table(recs)
    assert [(r["test on"], r["train on"]) for r in rows[:2]] == [
        ("tweets", "200/class of the target (no shift)"),
        ("tweets", "200/class of the other corpus")]
    assert rows[1]["frozen MiniLM + LR"].startswith("6") and "% (" in rows[1]["frozen MiniLM + LR"]
    said = " ".join(tt.shift_findings(recs))
    assert "frozen MiniLM + LR: trained on tweets beat trained on movies by 1" in said
    assert "with them beat without by " in said


def test_table_leaves_arms_that_did_not_run_blank():
    rows = tt.table(_records())
    assert [r["per class"] for r in rows] == [5, 20, 50]
    assert rows[0][tt.NAMES[tt.FINETUNED]] == "-" and rows[1][tt.NAMES[tt.FINETUNED]] != "-"


def test_the_three_plots_draw_every_arm_and_the_references():
    recs = _records()
    fig = text_plots.learning_curve(recs)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {tt.NAMES[m] for m in (tt.TFIDF, tt.FROZEN, tt.RANDOM_FROZEN, tt.FINETUNED)} < set(
        labels) and text_plots.CHANCE in labels
    fig = text_plots.lr_sweep(recs)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "BERT's range (2e-5..5e-5)" in labels
    assert any(lab.startswith("the probe it started from (72%") for lab in labels)
    assert "3 seeds, 95 % interval" in fig.axes[0].get_title()
    fig = text_plots.domain_shift(recs)
    assert [ax.get_title() for ax in fig.axes] == ["tested on tweets", "tested on movies"]
    assert fig.axes[0].get_ylim()[0] == 0  # bars start at 0
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert text_plots.CHANCE in labels and "chance = majority class (50 %" in labels[0]
    assert "frozen MiniLM + LR (bar: 95 % interval)" in labels
    fig = text_plots.learning_curve([r for r in recs if r["seed"] == 0])
    assert "1 seed: no interval" in fig.axes[0].get_title()


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
def test_every_quick_record_keeps_per_text_outcomes_and_fine_tuning_runs_3_seeds(quick):
    for r in quick.records:
        assert r["test_set"] == "fixed" and len(r["item_correct"]) == r["n_test"]
    assert len(tt._sweep(quick.records)[1e-3]) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("k", [20, 50])
def test_the_frozen_encoder_beats_random_weights(quick, k):
    v = tt.verdict(quick.records, tt.FROZEN, tt.RANDOM_FROZEN, k)
    assert v.word == HOLDS and v.items_counted, v


@pytest.mark.slow
def test_fine_tuning_at_1e3_ends_below_the_probe_it_started_from(quick):
    gaps = tt.sweep_gaps(quick.records, 1e-3)
    assert len(gaps) >= 3 and judge(gaps).gap < 0, gaps


@pytest.mark.slow
def test_the_scratch_baseline_had_a_fair_chance(quick):
    scratch = [r for r in quick.records if r["method"] == tt.RANDOM_TRAINED]
    tuned = [r for r in quick.records if r["method"] == tt.FINETUNED and r["part"] == tt.CURVE]
    assert len({r["seed"] for r in scratch}) >= 3
    tried = scratch[0]["lr_sweep"]
    assert len(tried) >= 2 and f"{scratch[0]['lr']:g}" == max(tried, key=tried.get)
    assert min(r["max_steps"] for r in scratch) >= max(r["steps"] for r in tuned)
    said = " ".join(tt.curve_findings(quick.records))
    for r in scratch:  # fitted, or the sentence says it did not, with its training accuracy
        assert r["train_accuracy"] >= 0.95 or (
            f"{r['seed']} (training accuracy {100 * r['train_accuracy']:.0f} %" in said), r


@pytest.mark.slow
def test_the_findings_sentences_are_the_judges(quick):
    recs, said = quick.records, " ".join(tt.findings(quick.records))
    for a, b in ((tt.FROZEN, tt.TFIDF), (tt.FROZEN, tt.RANDOM_FROZEN)):
        for k in (20, 50):
            v = tt.verdict(recs, a, b, k)
            assert f"{k}/class: {v.text(tt.NAMES[a], tt.NAMES[b], 'test texts')}" in said
    assert quick.records and {r["part"] for r in recs} == {tt.CURVE, tt.SWEEP, tt.SHIFT}
