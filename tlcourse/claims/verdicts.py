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

from .. import stats, timing
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
    """Claim 3: the recipe's linear head on frozen ImageNet features vs each alternative the
    records hold - the same head on random weights, and chapter 1's small CNN trained from
    scratch on the same photos (rate chosen on validation) - judged as chapter 2 judges them
    (:func:`~tlcourse.experiments.feature_extraction.recipe_verdicts`). The recipe must beat
    every alternative, so the weakest comparison decides the status."""
    from ..experiments.feature_extraction import SCRATCH, recipe_binding, recipe_verdicts

    judged = recipe_verdicts(records)
    v = recipe_binding(judged)
    said = " ".join(s for _, _, s in judged)
    if not any(m == SCRATCH for m, _, _ in judged):
        said += (" The scratch network is not in these records (a run from before it was added: "
                 "rerun the experiment).")
    if v is None:
        return _missing(said or "the records hold no paired runs for this comparison")
    return _finding(v, lambda v: said.rstrip("."), items="test photos")


def finetuning_beats_probe(records: list[dict]) -> Finding:
    """Claim 4: the top 2 stages fine-tuned after the head vs the linear probe, at the most
    labels per class measured; beside it, the same comparison at each smaller size."""
    from ..experiments.fine_tuning import PROBE, crossing_text, curve_verdicts

    curve = curve_verdicts(records)
    if not curve:
        return _missing("no top-2-stages and linear-probe runs at a common size")
    k = max(curve)
    at_k = [r for r in records if r.get("labels_per_class") == k]
    v = _judge(by_seed(at_k, "test_accuracy", method="top-2-stages"),
               by_seed(at_k, "test_accuracy", method=PROBE), _n_test(at_k))
    return _finding(v, lambda v: (
        f"{v.text('fine-tuning the top 2 stages', 'the linear probe', 'test photos')}, at {k} "
        "photos per class (the most measured)"
        + (f"; over labels per class: {crossing_text(curve)}" if len(curve) > 1 else "")),
        items="test photos")


def head_first_beats_random_head(records: list[dict]) -> Finding:
    """Claim 5: LP-FT vs the same steps from a random head (head phase last), on photos at the
    most labels per class both ran; beside it, the same models on clip art (out of
    distribution, where Kumar et al. 2022 found LP-FT's gain largest)."""
    from ..experiments.fine_tuning import KUMAR, LPFT, RANDOM_HEAD, clipart_verdict, order_k

    k = order_k(records)
    if k is None:
        return _missing("no LP-FT and random-head runs at a common size")
    at_k = [r for r in records if r.get("labels_per_class") == k]
    v = _judge(by_seed(at_k, "test_accuracy", method=LPFT),
               by_seed(at_k, "test_accuracy", method=RANDOM_HEAD), _n_test(at_k))
    clip = clipart_verdict(records, k)

    def versus(v: stats.Verdict) -> str:
        if clip is None:
            return ""
        word = ("reproduces" if clip.word == stats.HOLDS else "does not reproduce"
                if clip.word == stats.OPPOSITE else "is not decided")
        return f"{KUMAR}; out of distribution the direction {word} here"

    return _finding(v, lambda v: (
        f"{v.text('head first (LP-FT)', 'a random head', 'test photos')}, at {k} photos per "
        "class, the same steps at the same rate"
        + (f"; on clip art of the same classes: "
           f"{clip.text('head first', 'a random head', 'clip-art images')}" if clip else "")),
        versus, "test photos")


def low_rate_beats_scratch_rate(records: list[dict]) -> Finding:
    """Claim 6: the rate chosen on validation (among those below the from-scratch rate) vs the
    from-scratch rate itself, on test accuracy; beside it, where the chosen rate sits against
    the quoted 10-100x and whether the run can tell it from the rates next to it."""
    from ..experiments.lr_choice import rate_claim

    rc = rate_claim(records)
    if rc.verdict is None:
        return _missing(rc.verdict_text())
    return _finding(rc.verdict, lambda v: rc.verdict_text("test photos"),
                    lambda v: f"{rc.where_text()}. {rc.neighbours_text('test photos')}".strip(),
                    "test photos")


def normalisation_matters(records: list[dict]) -> Finding:
    """Claim 7: photos normalised as the weights were trained vs not normalised."""
    from ..experiments.mistakes import fit_note, versus_quote  # chapter 3b's words

    pre = [r for r in records
           if r.get("mistake") == "preprocessing" and r.get("dataset") == "photo"]
    v = _judge(by_seed(pre, "test_accuracy", correct=True),  # `correct`: the as-trained variant
               by_seed(pre, "test_accuracy", variant="no normalisation"))
    return _finding(v, lambda v: v.text("the as-trained normalisation", "no normalisation",
                                        "test photos") + fit_note(pre, "no normalisation"),
                    lambda v: versus_quote(v.gap),
                    "test photos")


def augmentation_helps_few_shot(records: list[dict]) -> Finding:
    """Claim 8, an interaction: augmentation's gain at the fewest labels per class minus its
    gain at the most, paired by seed; each gain beside it (chapter 3b prints the same)."""
    from ..experiments.mistakes import augmentation_interaction

    aug = [r for r in records if r.get("mistake") == "few-shot-augment"]
    if len({r["labels_per_class"] for r in aug}) < 2:
        return _missing("the few-shot-augment runs need two or more labels per class")
    v, said = augmentation_interaction(aug)
    return _finding(v, lambda _: said, items="test photos")


def weighting_fixes_imbalance(records: list[dict]) -> Finding:
    """Claim 9: balanced accuracy with a class-weighted loss vs the plain loss (the minority's
    recall alone rises by construction), with what it did to each class group's recall."""
    from ..experiments.mistakes import imbalance_sentence

    imb = [r for r in records if r.get("mistake") == "imbalance"]
    if not {"weighted loss", "plain loss"} <= {r["variant"] for r in imb}:
        return _missing("no weighted- and plain-loss imbalance runs in the records")
    v, said = imbalance_sentence(imb, "weighted loss")
    return _finding(v, lambda _: said, items="test images")


def early_stopping_helps(records: list[dict]) -> Finding:
    """Claim 10: early stopping's kept epoch vs the last, at the rate chosen on validation, runs
    that ended at or below chance left out (and named)."""
    from ..experiments.lr_choice import early_stopping

    es = early_stopping(records)
    return _finding(es.verdict, lambda v: es.text("test photos"), items="test photos")


def few_labels_overfit(records: list[dict]) -> Finding:
    """Claim 11: at the fewest labels, class means of the frozen features vs the trained linear
    head on them (a test that could fail: if the head overfits, the means beat it)."""
    from ..experiments.learning_curve import overfit_verdict

    found = overfit_verdict(records)
    if found is None:
        return _missing("the records need the linear and prototype heads (data-scaling, "
                        "issue 25)")
    v, sentence = found
    return _finding(v, lambda _: sentence, items="test images")


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


def _lite(records: list[dict], model: str, size: int, dataset: str) -> dict[int, float]:
    """Claim 14's arm: seed -> accuracy of ``model`` at ``size`` px on ``dataset`` (records that
    name no dataset are the photos)."""
    return by_seed([r for r in records if r.get("part") == "accuracy"
                    and r.get("dataset", "photo") == dataset], "test_accuracy",
                   model=model, input_size=size)


def larger_backbone_more_accurate(records: list[dict]) -> Finding:
    """Claim 14: Lite2 vs Lite0, each at its own pretrained input size, same training photos;
    the clip art's verdict and the speed it costs (median of repeated, paired timings with their
    spread, :mod:`tlcourse.timing`) are stated with it, and Kornblith et al.'s result beside."""
    size = {r["model"]: r for r in records if r.get("part") == "model"
            and r.get("size_setting") == "own"}
    if "lite0" not in size or "lite2" not in size:
        return _missing("no Lite0 and Lite2 runs in the records")
    big, small = size["lite2"], size["lite0"]
    v = _judge(_lite(records, "lite2", big["input_size"], "photo"),
               _lite(records, "lite0", small["input_size"], "photo"))
    word, speed = timing.compare({**small, "model": "Lite0"}, {**big, "model": "Lite2"})
    clip = _judge(_lite(records, "lite2", big["input_size"], "clipart"),
                  _lite(records, "lite0", small["input_size"], "clipart"))
    lite2, lite0 = f"Lite2 ({big['input_size']} px)", f"Lite0 ({small['input_size']} px)"
    return _finding(v, lambda v: (
        f"{v.text(lite2, lite0, 'test photos')}, frozen with a linear head"
        + (f"; on clip art: {clip.text(lite2, lite0, 'test drawings')}" if clip else "")
        + f"; {speed} on this CPU"),
        lambda v: ("the speed half holds" if word == timing.SLOWER else
                   "the speed half does not hold" if word == timing.FASTER else
                   "the speed half is undecided: about the same speed")
        + "; Kornblith et al. 2019 (ImageNet accuracy predicts transfer, r = 0.99 frozen, "
          "0.96 fine-tuned) predict Lite2 ahead: this run "
        + ("agrees" if v.word == stats.HOLDS else "disagrees" if v.word == stats.OPPOSITE
           else "cannot tell") + " on the photos",
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


def lora_matches_full(records: list[dict]) -> Finding:
    """Claim 16, an equivalence: LoRA minus full fine-tuning (both LP-FT from the same probe
    head, rates chosen on validation) at 20 labelled tweets per class, within +/- 2 points."""
    from ..experiments import lora_zero_shot as lz

    found = lz.lora_vs_full(records)
    if found is None:
        return _missing("no LoRA and full fine-tuning runs on common seeds")
    k, v = found
    return _finding(v, lambda _: lz.lora_text(records), lambda _: (
        "Hu et al. 2021: LoRA on RoBERTa-base matched full fine-tuning on GLUE with about "
        "0.3 M trainable parameters; here " + ("it reproduces" if v.word == stats.EQUIVALENT
                                               else "it does not reproduce" if v.decided
                                               else "the run cannot tell")
        + f" at {k} tweets per class"), "test tweets")


def zero_shot_then_labels(records: list[dict]) -> Finding:
    """Claim 17, two comparisons that must both hold: zero-shot minus the probe at 5 labels per
    class, and the probe at 20 minus zero-shot; the weaker (lower interval bound) decides the
    status, both are stated, with the crossover found on the whole curve."""
    from ..experiments import lora_zero_shot as lz

    judged = lz.claim17_verdicts(records)
    if len(judged) < 2:
        return _missing(f"the records need the probe at {lz.FEW} and {lz.MORE} labels per "
                        "class and zero-shot on common seeds")
    v = min(judged.values(), key=lambda v: v.low)
    cross, _ = lz.crossover(records)
    return _finding(v, lambda _: lz.claim17_text(records), lambda _: (
        "Radford et al. 2021: zero-shot CLIP matched a 4-shot linear probe on average over its "
        "evaluation sets; here the probe beats zero-shot "
        + (f"from {cross} labelled tweets per class" if cross is not None
           else "at no size measured")), "test tweets")


VERDICTS: dict[str, Callable[[list[dict]], Finding]] = {f.__name__: f for f in (
    pretrained_beats_scratch, late_layers_more_specific, pretrained_backbone_matters,
    finetuning_beats_probe, head_first_beats_random_head, low_rate_beats_scratch_rate,
    normalisation_matters, augmentation_helps_few_shot, weighting_fixes_imbalance,
    early_stopping_helps, few_labels_overfit, mismatch_shrinks_benefit,
    pretrained_text_encoder_beats_scratch, larger_backbone_more_accurate, scratch_catches_up,
    lora_matches_full, zero_shot_then_labels)}
