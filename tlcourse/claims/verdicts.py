"""One verdict function per claim: the records of its experiment -> a :class:`Finding`.

Each reads two arms from the records, paired by seed and oriented so that a positive gap is the
direction the claim states, and hands them to the one judge, :func:`tlcourse.stats.judge`.
Nothing here decides a verdict or computes a spread of gaps.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .. import stats
from ..stats import by_seed, paired_gaps

MISSING, FULL_ONLY = "not measured yet", "decided in the full profile only"


@dataclass(frozen=True)
class Finding:
    """A claim's line in the ledger: its status and the judge's numbers behind it."""

    status: str  # the judge's word (holds, does not hold here, inconclusive at N seeds),
    # MISSING or FULL_ONLY
    measured: str  # the finding in words; for MISSING, how to measure it
    verdict: stats.Verdict | None = None  # the judge's, on the gap in the claim's direction
    versus_quote: str = ""  # where the measured size falls against the quoted number
    items: str = "test items"  # what the test items are, for the counts ("test photos")

    @property
    def seeds(self) -> int:
        """Paired seeds the verdict rests on (0: nothing measured)."""
        return self.verdict.n_seeds if self.verdict else 0



def _judge(a: Mapping[int, float], b: Mapping[int, float],
           n_items: int | None = None) -> stats.Verdict | None:
    """The judge's verdict on ``a - b`` over the seeds both ran (None: none in common)."""
    gaps = paired_gaps(a, b)
    return stats.judge(gaps, n_items=n_items) if gaps else None


def _averaged(records: list[dict], metric: str, over: str, values: list) -> dict[int, float]:
    """An arm that averages: seed -> mean ``metric`` over the records whose ``over`` takes each
    of ``values`` (e.g. the sweep's rates), for the seeds that ran every one of them."""
    arms = [by_seed(records, metric, **{over: v}) for v in values]
    seeds = set.intersection(*(set(a) for a in arms))
    return {s: statistics.fmean(a[s] for a in arms) for s in sorted(seeds)}


def _n_test(records: list[dict]) -> int | None:
    """Test items per seed where the records say so (``n_test``, one value), else None."""
    sizes = {r.get("n_test") for r in records}
    return sizes.pop() if len(sizes) == 1 and None not in sizes else None


def _pct(values: Mapping[int, float], unit: str = "%") -> str:
    """An arm's mean over its seeds: '85 %' (or '12.0 points' for a gap)."""
    m = 100 * statistics.fmean(values.values())
    return f"{m:.0f} %" if unit == "%" else f"{m:.1f} {unit}"


_A, _B = "\x00a", "\x00b"  # stand-ins for the arms, replaced by the change's words


def _change(v: stats.Verdict, up: str, down: str, items: str = "test items") -> str:
    """The judge's sentence worded as a change, sign first: 'larger at the top by 3 points (95 %
    interval 1 to 5; 3 seeds)', 'smaller at the top by 1 point, inconclusive at 3 seeds (...)'."""
    said = re.sub(f"^{_A} and {_B} tied", "no change", v.text(_A, _B, items))
    return re.sub(f"^({_A}|{_B}) (beat ({_A}|{_B})|ahead)",
                  lambda m: up if m[1] == _A else down, said)


def _finding(v: stats.Verdict | None, measured: Callable[[stats.Verdict], str],
             versus: Callable[[stats.Verdict], str] | None = None,
             items: str = "test items") -> Finding:
    """The claim's finding from the judge's verdict (gaps oriented as the claim states)."""
    if v is None:
        return Finding(MISSING, "the records hold no paired runs for this comparison")
    return Finding(v.word, measured(v), v, versus(v) if versus else "", items)


def _missing(why: str) -> Finding:
    return Finding(MISSING, why)


# ---------------------------------------------------------------------------------------------
# One verdict function per claim: records of the claim's experiment -> Finding
# ---------------------------------------------------------------------------------------------
def pretrained_beats_scratch(records: list[dict]) -> Finding:
    """Claim 1: frozen ImageNet features + linear head vs the better from-scratch network, on
    photos at the most labels per class measured."""
    from ..experiments.scratch_vs_transfer import NAMES, SCRATCH

    photo = [r for r in records if r.get("dataset") == "photo"]
    if not photo:
        return _missing("no photo runs in the records")
    k = max(r["labels_per_class"] for r in photo)
    frozen = by_seed(photo, "test_accuracy", method="imagenet-frozen", labels_per_class=k)
    scratch = {m: by_seed(photo, "test_accuracy", method=m, labels_per_class=k) for m in SCRATCH}
    best = max((m for m in SCRATCH if scratch[m]),
               key=lambda m: statistics.fmean(scratch[m].values()))

    def where(v: stats.Verdict) -> str:
        return ("the opposite of the quoted gain" if v.gap < 0 else
                ("below" if v.gap < 0.10 else "inside" if v.gap <= 0.30 else "above")
                + " the quoted 10–30 range (read as points)")

    return _finding(_judge(frozen, scratch[best]), lambda v: (
        f"{v.text(NAMES['imagenet-frozen'], NAMES[best], 'test photos')}, at {k} photos per "
        "class"), where, "test photos")


def late_layers_more_specific(records: list[dict]) -> Finding:
    """Claim 2: specificity (BnB - AnB) when every stage is copied vs only the first."""
    depths = sorted({r["depth"] for r in records if r.get("method") == "BnB"})
    if len(depths) < 2:
        return _missing("the records need BnB and AnB at two depths or more")
    spec = {n: paired_gaps(by_seed(records, "test_accuracy", method="BnB", depth=n),
                           by_seed(records, "test_accuracy", method="AnB", depth=n))
            for n in (depths[0], depths[-1])}
    top, first = spec[depths[-1]], spec[depths[0]]
    v = _judge(top, first, _n_test(records))
    return _finding(v, lambda v: (
        f"specificity (BnB − AnB) {_pct(first, 'points')} with {depths[0]} stage copied, "
        f"{_pct(top, 'points')} with {depths[-1]}: "
        + _change(v, "larger at the top", "smaller at the top", "test digits")),
        items="test digits")


def pretrained_backbone_matters(records: list[dict]) -> Finding:
    """Claim 3: the recipe's linear head on ImageNet weights vs on random weights."""
    imagenet = by_seed(records, "test_accuracy", part="heads", method="linear-head")
    random = by_seed(records, "test_accuracy", part="heads", method="linear-head-random-weights")
    return _finding(_judge(imagenet, random), lambda v: (
        f"{v.text('ImageNet weights', 'random weights', 'test photos')}, the same linear head on "
        f"each ({_pct(imagenet)} vs {_pct(random)})"), items="test photos")


def _largest_k(records: list[dict]) -> int | None:
    return max((r["labels_per_class"] for r in records if "labels_per_class" in r), default=None)


def finetuning_beats_probe(records: list[dict]) -> Finding:
    """Claim 4: the top 2 stages fine-tuned after the head vs the linear probe."""
    from ..experiments.fine_tuning import PROBE

    k = _largest_k(records)
    at_k = [r for r in records if r.get("labels_per_class") == k]
    v = _judge(by_seed(at_k, "test_accuracy", method="top-2-stages"),
               by_seed(at_k, "test_accuracy", method=PROBE), _n_test(at_k))
    return _finding(v, lambda v: (
        f"{v.text('fine-tuning the top 2 stages', 'the linear probe', 'test photos')}, at {k} "
        "photos per class"), items="test photos")


def head_first_beats_random_head(records: list[dict]) -> Finding:
    """Claim 5: LP-FT vs the same steps from a random head (head phase last)."""
    from ..experiments.fine_tuning import LPFT, RANDOM_HEAD

    k = _largest_k(records)
    at_k = [r for r in records if r.get("labels_per_class") == k]
    v = _judge(by_seed(at_k, "test_accuracy", method=LPFT),
               by_seed(at_k, "test_accuracy", method=RANDOM_HEAD), _n_test(at_k))
    return _finding(v, lambda v: (
        f"{v.text('head first (LP-FT)', 'a random head', 'test photos')}, at {k} photos per "
        "class, the same steps at the same rate"), items="test photos")


def _rate(lr: float) -> str:
    """1e-4, 3e-3: a learning rate as the texts write it."""
    return f"{lr:.0e}".replace("e-0", "e-").replace("e+0", "e")


def low_rate_beats_scratch_rate(records: list[dict]) -> Finding:
    """Claim 6: mean accuracy at rates 10-100x below the from-scratch rate vs at it and above;
    the rate validation accuracy picks, against the quoted 10-100x."""
    from ..methods import SCRATCH_CONFIG

    scratch = SCRATCH_CONFIG.lr
    rates = sorted({r["lr"] for r in records})
    low = [lr for lr in rates if scratch / 100 <= lr <= scratch / 10 * (1 + 1e-9)]
    high = [lr for lr in rates if lr >= scratch]
    if not low or not high:
        return _missing(f"the sweep needs rates in {_rate(scratch / 100)}-{_rate(scratch / 10)} "
                        f"and >= {_rate(scratch)}")
    v = _judge(_averaged(records, "test_accuracy", "lr", low),
               _averaged(records, "test_accuracy", "lr", high))
    val = {lr: statistics.fmean(r["val_accuracy"] for r in records if r["lr"] == lr)
           for lr in rates}
    best = max(val, key=val.get)  # ties: the lowest rate
    ratio = scratch / best
    versus = (f"validation picked {_rate(best)}, " + (
        f"{ratio:.3g}× below the from-scratch {_rate(scratch)}: "
        + ("inside" if 10 <= ratio <= 100 else "outside") + " the quoted 10–100×"
        if ratio >= 1 else f"{1 / ratio:.3g}× above the from-scratch {_rate(scratch)}"))
    lo, hi = "/".join(map(_rate, low)), "/".join(map(_rate, high))
    return _finding(v, lambda v: v.text(f"rate {lo} (10–100× below scratch's)",
                                        f"rate {hi} (scratch's and above)", "test photos")
                    + ", mean test accuracy over the rates", lambda v: versus, "test photos")


def normalisation_matters(records: list[dict]) -> Finding:
    """Claim 7: photos normalised as the weights were trained vs not normalised."""
    from ..experiments.mistakes import versus_quote  # chapter 3b words it the same way

    pre = [r for r in records
           if r.get("mistake") == "preprocessing" and r.get("dataset") == "photo"]
    v = _judge(by_seed(pre, "test_accuracy", correct=True),  # `correct`: the as-trained variant
               by_seed(pre, "test_accuracy", variant="no normalisation"))
    return _finding(v, lambda v: v.text("the as-trained normalisation", "no normalisation",
                                        "test photos"), lambda v: versus_quote(v.gap),
                    "test photos")


def augmentation_helps_few_shot(records: list[dict]) -> Finding:
    """Claim 8: augmented copies vs none at the fewest labels per class (the most: beside it)."""
    aug = [r for r in records if r.get("mistake") == "few-shot-augment"]
    if not aug:
        return _missing("no few-shot-augment runs in the records")
    ks = sorted({r["labels_per_class"] for r in aug})
    v = {k: _judge(by_seed(aug, "test_accuracy", variant="augmentation", labels_per_class=k),
                   by_seed(aug, "test_accuracy", variant="no augmentation", labels_per_class=k))
         for k in (ks[0], ks[-1])}
    said = {k: v[k].text("augmentation", "no augmentation", "test photos") if v[k] else "no runs"
            for k in v}
    tail = f"; at {ks[-1]}: {said[ks[-1]]}" if len(ks) > 1 else ""
    return _finding(v[ks[0]], lambda _: (
        f"at {ks[0]} photo{'s' if ks[0] != 1 else ''} per class: {said[ks[0]]}{tail}"),
        items="test photos")


def weighting_fixes_imbalance(records: list[dict]) -> Finding:
    """Claim 9: the minority class's recall with a weighted loss vs the plain loss."""
    imb = [r for r in records if r.get("mistake") == "imbalance"]
    plain = by_seed(imb, "minority_recall", variant="plain loss")
    sampled = _judge(by_seed(imb, "minority_recall", variant="balanced sampling"), plain)
    tail = f"; {sampled.text('balanced sampling', 'plain loss')}" if sampled else ""
    return _finding(_judge(by_seed(imb, "minority_recall", variant="weighted loss"), plain),
                    lambda v: f"minority-class recall: {v.text('weighted loss', 'plain loss')}"
                    + tail)


def early_stopping_helps(records: list[dict]) -> Finding:
    """Claim 10: early stopping's kept epoch vs the last, test accuracy averaged over rates."""
    rates = sorted({r["lr"] for r in records})
    v = _judge(_averaged(records, "early_stop_test_accuracy", "lr", rates),
               _averaged(records, "test_accuracy", "lr", rates))
    return _finding(v, lambda v: (
        f"{v.text('early stopping', 'the last epoch', 'test photos')}, test accuracy averaged "
        f"over {len(rates)} rates"), items="test photos")


def few_labels_overfit(records: list[dict]) -> Finding:
    """Claim 11: the frozen probe's train - test gap at the fewest vs the most labels per class."""
    from ..experiments.learning_curve import FROZEN

    ks = sorted({r["labels_per_class"] for r in records if r.get("method") == FROZEN})
    if len(ks) < 2:
        return _missing("the records need the frozen arm at two sizes or more")
    gap = {k: paired_gaps(by_seed(records, "train_accuracy", method=FROZEN, labels_per_class=k),
                          by_seed(records, "test_accuracy", method=FROZEN, labels_per_class=k))
           for k in (ks[0], ks[-1])}
    return _finding(_judge(gap[ks[0]], gap[ks[-1]]), lambda v: (
        f"frozen ImageNet features + linear head, train − test accuracy: "
        f"{_pct(gap[ks[0]], 'points')} at {ks[0]} per class, {_pct(gap[ks[-1]], 'points')} at "
        f"{ks[-1]}: " + _change(v, f"larger at {ks[0]} per class", f"smaller at {ks[0]} per class",
                  "test images")),
        items="test images")


def mismatch_shrinks_benefit(records: list[dict]) -> Finding:
    """Claim 12: the benefit of frozen ImageNet features over raw pixels (same head, rate chosen
    on validation, same labels per class) on photos minus the same benefit on clip art."""
    from ..experiments.shift_benefit import benefit_sentence, benefit_verdict

    v, _ = benefit_verdict(records)
    return _finding(v, lambda v: benefit_sentence(records), items="test images")


def scratch_catches_up(records: list[dict]) -> Finding:
    """Claim 15: scratch vs frozen ImageNet features at the most labels per class measured."""
    from ..experiments.learning_curve import FROZEN, SCRATCH

    ks = sorted({r["labels_per_class"] for r in records if r.get("method") == SCRATCH})
    if not ks:
        return _missing("no scratch runs in the records")
    v = {k: _judge(by_seed(records, "test_accuracy", method=SCRATCH, labels_per_class=k),
                   by_seed(records, "test_accuracy", method=FROZEN, labels_per_class=k))
         for k in (ks[0], ks[-1])}
    said = {k: v[k].text("scratch", "frozen ImageNet features", "test images") if v[k]
            else "no paired runs" for k in v}
    return _finding(v[ks[-1]], lambda _: f"at {ks[-1]} labels per class: {said[ks[-1]]}"
                    + (f"; at {ks[0]}: {said[ks[0]]}" if len(ks) > 1 else ""),
                    items="test images")


def larger_backbone_more_accurate(records: list[dict]) -> Finding:
    """Claim 14: Lite2 vs Lite0, each at its own pretrained input size, same training photos;
    the speed it costs is stated with it."""
    size = {r["model"]: r for r in records if r.get("part") == "model"
            and r.get("size_setting") == "own"}
    if "lite0" not in size or "lite2" not in size:
        return _missing("no Lite0 and Lite2 runs in the records")
    big, small = size["lite2"], size["lite0"]
    v = _judge(by_seed(records, "test_accuracy", model="lite2", input_size=big["input_size"],
                       part="accuracy"),
               by_seed(records, "test_accuracy", model="lite0", input_size=small["input_size"],
                       part="accuracy"))
    slower = small["images_per_second"] / big["images_per_second"]
    speed = f"{slower:.1f}x slower" if slower >= 1 else f"{1 / slower:.1f}x faster"
    lite2, lite0 = f"Lite2 ({big['input_size']} px)", f"Lite0 ({small['input_size']} px)"
    return _finding(v, lambda v: (
        f"{v.text(lite2, lite0, 'test photos')}, frozen with a linear head; Lite2 ran "
        f"{speed} on this CPU"),
        lambda v: "the speed half holds" if slower > 1 else "the speed half does not hold",
        "test photos")


def pretrained_text_encoder_beats_scratch(records: list[dict]) -> Finding:
    """Claim 13: frozen MiniLM + LR vs TF-IDF + LR (learned from the labels alone), 20 labelled
    tweets per class, same test tweets."""
    base = {"part": "curve", "labels_per_class": 20}
    frozen = by_seed(records, "test_accuracy", method="minilm-frozen", **base)
    tfidf = by_seed(records, "test_accuracy", method="tfidf", **base)
    return _finding(_judge(frozen, tfidf), lambda v: (
        f"at 20 labelled tweets per class, a frozen MiniLM sentence encoder + logistic regression "
        f"scored {_pct(frozen)}, TF-IDF + logistic regression {_pct(tfidf)}: "
        + v.text("the MiniLM encoder", "TF-IDF", "test tweets")), items="test tweets")


VERDICTS: dict[str, Callable[[list[dict]], Finding]] = {f.__name__: f for f in (
    pretrained_beats_scratch, late_layers_more_specific, pretrained_backbone_matters,
    finetuning_beats_probe, head_first_beats_random_head, low_rate_beats_scratch_rate,
    normalisation_matters, augmentation_helps_few_shot, weighting_fixes_imbalance,
    early_stopping_helps, few_labels_overfit, mismatch_shrinks_benefit,
    pretrained_text_encoder_beats_scratch, larger_backbone_more_accurate, scratch_catches_up)}
