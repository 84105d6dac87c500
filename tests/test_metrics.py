"""Classifier metrics, plots and widgets, checked against hand-computed cases and sklearn."""

from __future__ import annotations

import datetime
import io
import json
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from tlcourse.custom import widgets as cw
from tlcourse.custom.metrics import choose_threshold, pr_curves, report, threshold_sweep, top_losses

matplotlib.use("Agg")

CLASSES = ["apple", "bus", "cat"]
# Six images, three classes. At 50 %: predictions a, a, b, a, c, b (image 3 is a bus called an
# apple at 55 %; image 5 a cat called a bus at 60 %). At 80 %: only images 0 and 4 keep a class.
PROBS = np.array([
    [0.90, 0.05, 0.05],  # apple, sure
    [0.60, 0.30, 0.10],  # apple, unsure
    [0.20, 0.70, 0.10],  # bus
    [0.55, 0.40, 0.05],  # bus, called apple
    [0.10, 0.05, 0.85],  # cat, sure
    [0.30, 0.60, 0.10],  # cat, called bus
])
Y = np.array([0, 0, 1, 1, 2, 2])


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a division by zero or an sklearn warning fails the test
        yield


def _prf(r):
    return [v for c in r.per_class for v in (c.precision, c.recall, c.f1)]


def test_hand_computed_at_50_percent():
    r = report(PROBS, Y, CLASSES)  # Custom Vision's default threshold
    assert _prf(r) == pytest.approx([2 / 3, 1.0, 0.8, 0.5, 0.5, 0.5, 1.0, 0.5, 2 / 3])
    assert [c.predicted for c in r.per_class] == [3, 2, 1]
    assert r.unknown_share == 0
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.balanced_accuracy == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert r.macro_precision == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert r.confusion == [[2, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0]]


def test_hand_computed_at_80_percent_unknown_is_a_miss_not_a_false_alarm():
    r = report(PROBS, Y, CLASSES, threshold=0.8)
    apple, bus, cat = r.per_class
    assert (apple.precision, apple.recall) == (1.0, 0.5)
    assert (cat.precision, cat.recall) == (1.0, 0.5)
    # bus: never predicted -> precision undefined (None, with a note); recall 0; F1 0
    assert (bus.precision, bus.recall, bus.f1) == (None, 0.0, 0.0)
    assert "'bus' never predicted at 80 %: precision undefined" in bus.note
    assert r.unknown_share == pytest.approx(4 / 6)
    assert r.confusion == [[1, 0, 0, 1], [0, 0, 0, 2], [0, 0, 1, 1]]
    assert r.accuracy == pytest.approx(4 / 6)  # top-1 accuracy does not depend on the threshold
    assert r.macro_precision == 1.0  # over the two classes predicted


def test_ap_equals_sklearn_and_hand_values():
    r = report(PROBS, Y, CLASSES)
    hand = [1.0, 0.5 * 1 + 0.5 * 2 / 3, 0.5 * 1 + 0.5 * 0.5]  # ranked scores, by hand
    sk = [average_precision_score(Y == c, PROBS[:, c]) for c in range(3)]
    assert [c.ap for c in r.per_class] == pytest.approx(hand)
    assert [c.ap for c in r.per_class] == pytest.approx(sk)
    assert r.mean_ap == pytest.approx(np.mean(hand))
    # AP is threshold-free
    assert report(PROBS, Y, CLASSES, 0.9).mean_ap == pytest.approx(r.mean_ap)


def test_perfect_classifier_scores_one_everywhere():
    probs = np.full((6, 3), 0.01)
    probs[np.arange(6), Y] = 0.98
    r = report(probs, Y, CLASSES)
    for c in r.per_class:
        assert (c.precision, c.recall, c.f1, c.ap) == (1.0, 1.0, 1.0, 1.0)
    assert (r.accuracy, r.balanced_accuracy, r.mean_ap, r.unknown_share) == (1.0, 1.0, 1.0, 0.0)
    assert r.notes == []


def test_class_absent_from_the_set_is_none_with_a_note_and_json_safe():
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6]])
    r = report(probs, [0, 1, 1], CLASSES)  # no cat in this set, one bus called cat
    cat = r.per_class[2]
    assert (cat.support, cat.recall, cat.ap, cat.precision, cat.f1) == (0, None, None, 0.0, 0.0)
    assert "no image of 'cat' in this set" in cat.note
    assert r.mean_ap == pytest.approx(1.0)  # mean over apple and bus only
    assert r.balanced_accuracy == pytest.approx((1 + 0.5) / 2)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["per_class"][2]["recall"] is None
    assert d["confusion"]["columns"] == [*CLASSES, "unknown"]
    assert "means over classes skip the undefined values" in d["notes"]


def test_format_reads_like_the_performance_tab():
    text = report(PROBS, Y, CLASSES, 0.8).format()
    assert "Probability threshold 80 % · 6 images · 3 classes" in text
    assert "Left unknown at 80 %: 4 of 6 images (66.7 %)" in text
    assert "vs chance 33.3 %, majority class 33.3 %" in text
    bus = next(line for line in text.splitlines() if line.startswith("bus"))
    # each figure with its count and Wilson interval: bus never predicted, 0 of its 2 recalled
    assert bus.split() == ["bus", "—", "(0", "of", "0)", "0", "%", "(0", "of", "2;", "0–66",
                           "%)", "0.0", "%", "83.3", "%"]
    apple = next(line for line in text.splitlines() if line.startswith("apple"))
    assert "100 % (1 of 1; 21–100 %)" in apple and "50 % (1 of 2; 9–91 %)" in apple
    # 2 images a class: the report says what one image is worth
    assert ("warning: fewer than 10 evaluation images of 'apple' (2: one image is 50 points of "
            "its recall), 'bus' (2: 50 points), 'cat' (2: 50 points)") in text


def test_no_small_class_warning_from_ten_images_a_class():
    y = np.repeat([0, 1], 10)
    probs = np.where(y[:, None] == [0, 1], 0.9, 0.1)
    assert "warning" not in report(probs, y, ["a", "b"]).format()
    text = report(probs[1:], y[1:], ["a", "b"]).format()  # 9 of 'a'
    assert "fewer than 10 evaluation images of 'a' (9: one image is 11 points" in text
    assert "'b'" not in text.split("warning:")[1]


@pytest.mark.parametrize("k, n", [(0, 1), (3, 3), (0, 10), (5, 10), (1, 7), (99, 100)])
def test_wilson_interval_equals_scipys(k, n):
    from scipy.stats import binomtest

    from tlcourse.stats_binomial import wilson

    ref = binomtest(k, n).proportion_ci(method="wilson")
    assert wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_wilson_refuses_impossible_counts():
    from tlcourse.stats_binomial import wilson

    for k, n, msg in [(4, 3, "between 0 and n"), (0, 0, "at least one"), (1.5, 3, "whole")]:
        with pytest.raises(ValueError, match=msg):
            wilson(k, n)


def test_interval_of_each_class_in_json():
    d = json.loads(json.dumps(report(PROBS, Y, CLASSES).to_dict(), allow_nan=False))
    from tlcourse.stats_binomial import wilson

    apple = d["per_class"][0]  # predicted 3, right 2; 2 of 2 recalled
    assert apple["precision_interval"] == pytest.approx(wilson(2, 3))
    assert apple["recall_interval"] == pytest.approx(wilson(2, 2))


# A negative ("none of these") class: images 6-8 belong to no class. Image 6 is called a cat at
# 70 % (a false positive of cat), image 7 has the negative class on top (unknown), image 8 is
# below the threshold (unknown).
NEG_CLASSES = ["apple", "bus", "cat", "negative"]
NEG_PROBS = np.vstack([np.hstack([PROBS, np.zeros((6, 1))]),
                       [[0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7], [0.3, 0.2, 0.1, 0.4]]])
NEG_Y = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3])


def test_negative_images_are_reported_apart_and_never_predicted():
    r = report(NEG_PROBS, NEG_Y, NEG_CLASSES, threshold=0.5)
    assert r.classes == CLASSES and [c.name for c in r.per_class] == CLASSES
    assert r.negative == {"name": "negative", "images": 3, "called": 1, "called_as": {"cat": 1}}
    cat = r.per_class[2]
    # the classes' recall and support are those of the six class images alone ...
    base = report(PROBS, Y, CLASSES, threshold=0.5)
    assert [c.recall for c in r.per_class] == [c.recall for c in base.per_class]
    # ... and the negative image called a cat is a false positive of cat
    assert (cat.predicted, cat.true_positives, cat.precision) == (2, 1, 0.5)
    assert r.confusion == base.confusion and r.n_images == 6
    assert r.unknown_share == 0 and r.accuracy == base.accuracy
    text = r.format()
    assert "(+ 3 negative images, reported apart)" in text
    assert "Negative images ('negative', none of these; not in the means)" in text
    assert "33 % (1 of 3; 6–79 %) — as cat 1" in text


def test_negative_class_moves_the_chosen_threshold_to_refuse_it():
    """Without the negative class the sweep ignores image 6 (70 % cat); with it, that image is a
    false positive below 0.75, so macro F1 prefers a threshold above it."""
    rows = {r["threshold"]: r for r in threshold_sweep(NEG_PROBS, NEG_Y, classes=NEG_CLASSES)}
    assert rows[0.5]["macro_precision"] == pytest.approx((2 / 3 + 0.5 + 0.5) / 3)
    assert rows[0.75]["unknown_share"] == pytest.approx(4 / 6)  # of the class images only
    assert rows[0.5]["classes_predicted"] == 3  # never "negative"


def test_two_negative_folders_are_refused():
    with pytest.raises(ValueError, match="one negative class at most"):
        report(NEG_PROBS, NEG_Y, ["apple", "negative", "cat", "_negative"])


@pytest.mark.parametrize("probs, y, t, message", [
    (PROBS * 3, Y, 0.5, "logits.softmax(1)"),
    (PROBS, Y[:4], 0.5, "one label per row"),
    (PROBS, Y + 1, 0.5, "class indices in 0..2"),
    (PROBS, Y, 1.5, "between 0 and 1"),
])
def test_bad_input_says_what_to_do(probs, y, t, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        report(probs, y, CLASSES, t)


def test_torch_inputs_are_accepted():
    r = report(torch.tensor(PROBS, requires_grad=True), torch.tensor(Y), CLASSES)
    assert r.accuracy == pytest.approx(4 / 6)


def test_pr_curves_match_sklearn_and_skip_absent_classes():
    curves = pr_curves(PROBS, Y)
    prec, rec, _ = curves[1]
    assert rec[0] == 1.0 and prec[-1] == 1.0
    assert sorted(pr_curves(PROBS[:4], Y[:4])) == [0, 1]  # no cat among the first four


def test_threshold_sweep_hand_values():
    at50, at80, at95 = threshold_sweep(PROBS, Y, [0.5, 0.8, 0.95])
    assert at50["macro_recall"] == pytest.approx(2 / 3) and at50["unknown_share"] == 0
    assert at80["macro_precision"] == 1.0 and at80["macro_recall"] == pytest.approx(1 / 3)
    assert at80["unknown_share"] == pytest.approx(4 / 6) and at80["classes_predicted"] == 2
    assert at95["macro_precision"] is None and at95["unknown_share"] == 1.0


def test_choose_threshold_known_answers():
    # 60 % turns the unsure wrong image 3 (55 %) into "unknown" and keeps the rest: macro F1 0.72
    assert choose_threshold(PROBS, Y) == 0.6
    # precision 100 % first reached at 65 % (image 5, a cat called bus at 60 %, becomes unknown)
    assert choose_threshold(PROBS, Y, min_precision=0.9) == 0.65
    # a flat F1 keeps Custom Vision's default
    perfect = np.full((6, 3), 0.01)
    perfect[np.arange(6), Y] = 0.98
    assert choose_threshold(perfect, Y) == 0.5


def test_choose_threshold_unreachable_precision_says_so():
    with pytest.raises(ValueError, match=r"best is 50.0 % at 5 %.*Lower min_precision"):
        choose_threshold([[0.9, 0.1], [0.95, 0.05]], [0, 1], min_precision=0.8)


def test_top_losses_sorted_by_cross_entropy():
    losses = top_losses(PROBS, Y, k=3)
    assert [loss.index for loss in losses] == [5, 3, 1]  # p(true) 0.1, 0.4, 0.6
    first = losses[0]
    assert (first.true, first.pred, first.prob_true, first.prob_pred) == (2, 1, 0.1, 0.6)
    assert len(top_losses(PROBS, Y, k=100)) == 6


# --------------------------------------------------------------------------------- plots
def test_plots_return_figures_without_warnings():
    import matplotlib.pyplot as plt

    from tlcourse.custom import plots as custom

    r = report(PROBS, Y, CLASSES)
    images = torch.randint(0, 256, (6, 3, 24, 24), dtype=torch.uint8)
    sweep = threshold_sweep(PROBS, Y)
    figs = [custom.pr_curves(r), custom.pr_curves(PROBS, Y, CLASSES, threshold=0.8),
            custom.confusion(report(PROBS, Y, CLASSES, 0.8)),
            custom.top_losses(images, PROBS, Y, CLASSES, k=4),
            custom.threshold_curve(sweep, choose_threshold(PROBS, Y))]
    for fig in figs:
        assert isinstance(fig, plt.Figure)
        fig.savefig(io.BytesIO(), format="png")  # draws everything: layout warnings surface here
    titles = [ax.get_title() for ax in figs[3].axes if ax.get_title()]
    assert titles[0] == "cat → bus (60%)\np(true) 10%"
    assert figs[3].axes[0].title.get_color() == "darkred"
    assert "apple (AP 100%)" in [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()]
    plt.close("all")


def test_top_losses_plot_needs_one_image_per_prediction():
    from tlcourse.custom import plots as custom

    with pytest.raises(ValueError, match="5 images for 6 predictions"):
        custom.top_losses(torch.zeros(5, 3, 8, 8, dtype=torch.uint8), PROBS, Y, CLASSES)


# --------------------------------------------------------------------------------- widgets
def test_threshold_table_text():
    html = cw._threshold_table(PROBS, Y, CLASSES, 0.8)
    assert "<b>4 of 6 images (66.7 %) left unknown</b>" in html
    assert "<td>bus</td><td>2</td><td>0</td><td>—</td><td>0.0 %</td>" in html
    assert "never predicted at 80 %" in html


def test_threshold_explorer_updates_live():
    box = cw.threshold_explorer(PROBS, Y, CLASSES, initial=0.5)
    slider, table = box.children
    assert "0 of 6 images (0.0 %) left unknown" in table.value
    slider.value = 0.8
    assert "4 of 6 images (66.7 %) left unknown" in table.value
    assert "Probability threshold 80 %" in box._repr_mimebundle_()["text/plain"]


def test_error_viewer_shows_missed_and_wrongly_called():
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
    paths = [f"data/{c}/img {i}.png" for i, c in enumerate(["apple"] * 2 + ["bus"] * 2 + ["cat"] * 2)]
    html = cw._errors_html(images, PROBS, Y, CLASSES, paths, 1)
    assert "Missed</b>: 1 of 2 images of bus" in html and "bus → apple (55%)" in html
    assert "Wrongly called bus</b>: 1 image of other classes" in html and "cat → bus (60%)" in html
    assert "img 3.png" in html and html.count("<img ") == 2
    assert "unknown (top apple)" in cw._errors_html(images, PROBS, Y, CLASSES, paths, 0, 0.8)
    box = cw.error_viewer(images, PROBS, Y, CLASSES, paths)
    pick, view = box.children
    assert [label for label, _ in pick.options][1] == "bus — 1 missed"
    pick.value = 0
    pick.value = 2
    assert "cat → bus (60%)" in view.value
    perfect = np.full((6, 3), 0.01)
    perfect[np.arange(6), Y] = 0.98
    assert "no errors at 50 %" in cw._errors_html(images, perfect, Y, CLASSES, paths, 0)


def _fake_predict(files: list[bytes]) -> list[list[tuple[str, float]]]:
    if not files[0].startswith(b"\x89PNG"):
        raise ValueError("not an image: PIL cannot read it; upload a JPEG or PNG")
    return [[("eel", 0.04), ("cat", 0.7), ("dog", 0.2), ("cow", 0.06)]]


def test_upload_html_top3_unknown_and_a_bad_file():
    good, bad = ("kitty.png", b"\x89PNG..."), ("notes.txt", b"hello")
    html = cw._upload_html([bad, good], _fake_predict, threshold=0.5)
    assert "notes.txt</b>: <span style='color:#cf222e'>not an image" in html
    assert "<b>cat</b>" in html and "cat: 70.0%" in html and "cow: 6.0%" in html
    assert "eel" not in html  # top 3 only
    assert "<b>unknown</b> (no class reaches 80 %)" in cw._upload_html([good], _fake_predict, 0.8)


def test_upload_widget_classifies_what_is_uploaded():
    box = cw.upload_classifier(_fake_predict, threshold=0.5)
    upload, result = box.children
    upload.value = ({"name": "kitty.png", "type": "image/png", "size": 7,
                     "last_modified": datetime.datetime(2026, 1, 1),
                     "content": memoryview(b"\x89PNG...")},)
    assert "kitty.png</b>: <b>cat</b>" in result.value


def test_per_image_thresholds_pool_the_counts_of_each_group():
    """Cross-validation scores each fold at its own threshold: the pooled report's confusion and
    per-class counts are the sums of the folds' reports; threshold-free numbers use every image."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=30)
    y = rng.integers(0, 3, size=30)
    fold = np.arange(30) % 3
    per_fold_t = np.array([0.4, 0.5, 0.6])
    pooled = report(probs, y, ["a", "b", "c"], threshold=per_fold_t[fold])
    parts = [report(probs[fold == f], y[fold == f], ["a", "b", "c"], t)
             for f, t in enumerate(per_fold_t)]
    assert np.array_equal(np.asarray(pooled.confusion), sum(np.asarray(r.confusion) for r in parts))
    for c in range(3):
        assert pooled.per_class[c].true_positives == sum(r.per_class[c].true_positives for r in parts)
        assert pooled.per_class[c].predicted == sum(r.per_class[c].predicted for r in parts)
    assert pooled.accuracy == report(probs, y, ["a", "b", "c"]).accuracy  # no threshold in it
    assert pooled.threshold is None and "40 % to 60 %" in pooled.format()
    assert json.loads(json.dumps(pooled.to_dict()))["thresholds"] == [0.4, 0.5, 0.6]
    from tlcourse.custom import plots as custom

    fig = custom.confusion(pooled)  # the plots name the thresholds instead of crashing
    assert "40 % to 60 %" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="one threshold per image"):
        report(probs, y, ["a", "b", "c"], threshold=[0.5, 0.5])


def test_a_count_of_one_reads_in_the_singular():
    r = report([[0.9, 0.1]], [0], ["cat", "dog"])
    text = r.format()
    assert "· 1 image ·" in text and "of 1 image (" in text and "1 images" not in text
    html_text = cw._threshold_table([[0.9, 0.1]], [0], ["cat", "dog"], 0.5)
    assert "of 1 image (" in html_text and "1 images" not in html_text


def test_pr_curves_plot_skips_a_negative_column_in_the_middle():
    """'negative' sorts between real classes: each real class keeps its own curve and AP."""
    from tlcourse.custom import plots

    order = [0, 1, 3, 2]  # apple, bus, negative, cat
    r = report(NEG_PROBS[:, order], np.array([0, 1, 3, 2])[NEG_Y], [NEG_CLASSES[i] for i in order])
    fig = plots.pr_curves(r)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:3] == [f"{c.name} (AP {c.ap:.0%})" for c in r.per_class]
    assert [c.name for c in r.per_class] == ["apple", "bus", "cat"]
    assert r.per_class[2].ap == report(NEG_PROBS, NEG_Y, NEG_CLASSES).per_class[2].ap


def test_iterations_table_warns_about_the_current_iterations_small_classes():
    from tlcourse.custom.model_folder import format_iterations

    def row(number, supports):
        m = report(PROBS, Y, CLASSES).to_dict()
        m["per_class"] = [{**c, "support": s} for c, s in zip(m["per_class"], supports)]
        return {"number": number, "created": "2026-12-07T10:00:00", "backbone": "lite0-imagenet",
                "method": "probe", "input_size": 224, "settings": {"seed": 0}, "n_train": 30,
                "n_eval": 9, "evaluation": "holdout", "threshold": 0.5, "metrics": m,
                "data_hash": "abcdef0123", "seconds": {"total": 3.0}, "features_cached": False}

    text = format_iterations([row(1, [3, 12, 12]), row(2, [12, 12, 12])], current=1)
    assert ("warning (iteration 1): fewer than 10 evaluation images of 'apple' (3: one image is "
            "33 points of its recall)") in text
    assert "iteration 2)" not in text
    assert "warning" not in format_iterations([row(1, [3, 12, 12]), row(2, [12, 12, 12])], 2)


def test_upload_verdict_is_unknown_when_the_negative_class_comes_first():
    def predict(files):
        return [[("cat", 0.1), ("negative", 0.85), ("dog", 0.05)] for _ in files]

    html = cw._upload_html([("astronaut.jpg", b"x")], predict, threshold=0.5)
    assert "<b>unknown</b> (its top answer is negative: none of these)" in html
