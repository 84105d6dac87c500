"""The answer key to the notebooks' exercises: each checker recomputes the expected answer from
the run's results and compares the learner's answer with it, check by check.

A notebook calls them through :func:`tlcourse.exercises.check_answer`, which prints and records
the result, so the expected numbers are never shown in the learner's copy. One checker per
exercise id, in course order; each takes what the exercise hands the learner (the results, a
threshold) positionally and the learner's answer by keyword, and returns
``{check a learner understands: passed}``. Numbers are compared within :data:`TOLERANCE`.

Example:
    >>> sorted(CHECKERS)[:2]
    ['ch00-ex-ledger-pick', 'ch01-ex-balanced-from-recall']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from tlcourse import stats
from tlcourse.claims.worked_example import asked
from tlcourse.custom import metrics
from tlcourse.experiments import (
    backbone_choice,
    domain_shift,
    feature_extraction,
    forgetting,
    layer_transfer,
    lora_zero_shot,
    mistakes,
    negative_transfer,
    summarize,
)
from tlcourse.experiments import text_transfer as tt
from tlcourse.stats import judge

#: ``ch01-ex-freeze``, ``ch05b-ex-domain-gap``: chapter, ``-ex-``, a lowercase slug.
EXERCISE_ID = re.compile(r"^ch\d{2}[a-z]?-ex-[a-z0-9]+(-[a-z0-9]+)*$")
#: How close a learner's number must be to the reference. Learners compute in float32 (torch's
#: default) as often as in float64: float32 holds about 7 significant digits (9/37 is
#: 0.2432432175 there, 0.2432432432 in float64), so numbers of order 1 agree to 1e-6.
TOLERANCE = 1e-6
#: Records hold 4 decimals; a number recomputed from raw predictions lands within rounding.
RECORD_TOLERANCE = 1e-3

Checker = Callable[..., dict[str, bool]]
#: Exercise id -> checker. Filled by :func:`_checker` below, chapter by chapter.
CHECKERS: dict[str, Checker] = {}


def _checker(exercise_id: str) -> Callable[[Checker], Checker]:
    if not EXERCISE_ID.match(exercise_id):
        raise ValueError(f"exercise id {exercise_id!r} should read chNN-ex-<slug>")

    def register(fn: Checker) -> Checker:
        CHECKERS[exercise_id] = fn
        return fn
    return register


# ------------------------------------------------------------------------------ comparing
def _close(a: Any, b: Any, tol: float = TOLERANCE) -> bool:
    """``a`` equals ``b`` within ``tol`` (absolute or relative), or both are NaN; a value that
    is not a number (a list, a string) is simply not close."""
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _all_close(mine: Any, ref: Mapping, tol: float = TOLERANCE) -> bool:
    """A mapping with the keys of ``ref``, every value close to ``ref``'s."""
    return (isinstance(mine, Mapping) and set(mine) == set(ref)
            and all(_close(mine[k], v, tol) for k, v in ref.items()))


def _close_lists(mine: Any, ref: list, tol: float = TOLERANCE) -> bool:
    """A list as long as ``ref``, element by element close."""
    return (isinstance(mine, (list, tuple)) and len(mine) == len(ref)
            and all(_close(a, b, tol) for a, b in zip(mine, ref)))


def _is_top(ref: Mapping, pick: Any, lowest: bool = False) -> bool:
    """``pick`` has the largest (or smallest) value in ``ref``; a tie counts for either."""
    try:
        value = ref[pick]
    except (KeyError, TypeError):  # not one of the keys; unhashable
        return False
    if lowest:
        return value <= min(ref.values()) + 1e-9
    return value >= max(ref.values()) - 1e-9


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


# ------------------------------------------------------------------------------ chapter 0
@_checker("ch00-ex-ledger-pick")
def ledger_pick(rows, *, claim, seeds) -> dict[str, bool]:
    kind, allowed = asked(rows)
    return {
        ("claim: one the ledger calls inconclusive" if kind == "inconclusive"
         else "claim: a claim number in the ledger"): claim in allowed,
        "seeds: the paired seeds its verdict rests on": claim in allowed
        and seeds == allowed[claim],
    }


# ------------------------------------------------------------------------------ chapter 1
@_checker("ch01-ex-gap-vs-claim")
def gap_vs_claim(res, *, lead, low, high, holds, in_claimed_range) -> dict[str, bool]:
    photo = [r for r in res.records if r["dataset"] == "photo"]
    ks = sorted({r["labels_per_class"] for r in photo})
    ref = {k: judge(stats.by_seed(photo, "test_accuracy", method="imagenet-frozen",
                                  labels_per_class=k),
                    stats.by_seed(photo, "test_accuracy", method="small-cnn-scratch",
                                  labels_per_class=k)) for k in ks}
    return {
        "one entry per label count": set(lead) == set(low) == set(high) == set(holds) == set(ks),
        "lead = frozen minus the small CNN from scratch, averaged over the paired seeds":
            _all_close(lead, {k: v.gap for k, v in ref.items()}),
        "low, high = the judge's 95 % interval on the lead":
            _all_close(low, {k: v.low for k, v in ref.items()})
            and _all_close(high, {k: v.high for k, v in ref.items()}),
        "holds: the interval lies above 0 (the judge's 'holds'; never with one seed)":
            all(holds.get(k) == (v.word == stats.HOLDS) for k, v in ref.items()),
        "in_claimed_range: inside 10-30 points": all(
            in_claimed_range.get(k) == (0.10 <= v.gap <= 0.30)
            or min(abs(v.gap - 0.10), abs(v.gap - 0.30)) < TOLERANCE  # on the edge: either
            for k, v in ref.items()),
    }


@_checker("ch01-ex-balanced-from-recall")
def balanced_from_recall(res, *, balanced, accuracy, leans_most) -> dict[str, bool]:
    k_top, seed = max(res.config["labels_per_class"]), res.config["seeds"][0]
    first = {r["method"]: r for r in res.records  # the runs whose predictions were kept
             if r["dataset"] == "photo" and r["seed"] == seed and r["labels_per_class"] == k_top}
    lean = {m: r["test_accuracy"] - r["balanced_accuracy"] for m, r in first.items()}
    return {
        "one entry per method in the grid":
            set(balanced) == set(accuracy) == set(res.artifacts["photo_preds"]),
        "accuracy matches the recorded test accuracy": _all_close(
            accuracy, {m: r["test_accuracy"] for m, r in first.items()}, RECORD_TOLERANCE),
        "balanced matches the recorded balanced accuracy (mean per-class recall)": _all_close(
            balanced, {m: r["balanced_accuracy"] for m, r in first.items()}, RECORD_TOLERANCE),
        "leans_most has the largest accuracy - balanced accuracy":
            lean.get(leans_most, -9) >= max(lean.values()) - 2 * RECORD_TOLERANCE,
    }


# ------------------------------------------------------------------------------ chapter 2
@_checker("ch02-ex-head-or-weights")
def head_or_weights(res, *, head_gaps, head_gap, weight_gap, matters_more) -> dict[str, bool]:
    heads = [r for r in res.records if r["part"] == "heads"]
    mean = {row["method"]: row["test_accuracy_mean"] for row in summarize(heads, by=("method",))}
    head = mean["mlp-head"] - mean["linear-head"]
    weights = mean["linear-head"] - mean["linear-head-random-weights"]
    return {
        "one head gap per seed": len(head_gaps) == len({r["seed"] for r in heads}),
        "head_gap = mean over seeds of MLP minus linear head": _close(head_gap, head),
        "weight_gap = mean over seeds of ImageNet minus random weights":
            _close(weight_gap, weights),
        "matters_more names the larger gap":
            matters_more == ("weights" if abs(weights) > abs(head) else "head"),
    }


@_checker("ch02-ex-best-layer")
def best_layer(res, *, best_depth, early_share, far_keeps_more) -> dict[str, bool]:
    rel = feature_extraction.relative_depth_accuracy(res.records)  # dataset -> depth -> share
    early = {ds: by_depth[min(by_depth)] for ds, by_depth in rel.items()}
    return {
        "one entry per probed dataset": set(best_depth) == set(early_share) == set(rel),
        "best_depth has the highest mean accuracy":
            all(_is_top(rel[ds], best_depth.get(ds)) for ds in rel),
        "early_share = earliest stage / last stage": _all_close(early_share, early),
        "far_keeps_more compares the two shares":
            far_keeps_more == (early["fashion-mnist"] > early["photo"]),
    }


# ------------------------------------------------------------------------------ chapter 3
@_checker("ch03-ex-head-first-gap")
def head_first_gap(res, *, order_gaps, order_mean, order_verdict) -> dict[str, bool]:
    # the most labels per class LP-FT ran at (claim 4's curve goes further with two arms only)
    k_top = max(r["labels_per_class"] for r in res.records if r["method"] == "all-stages (LP-FT)")
    at_k = [r for r in res.records if r["labels_per_class"] == k_top]
    lp_ft, random_head = (stats.by_seed(at_k, "test_accuracy", method=m)
                          for m in ("all-stages (LP-FT)", "all-stages, random head"))
    v = stats.judge(lp_ft, random_head)
    return {
        "one gap per seed both arms ran": len(order_gaps) == v.n_seeds,
        "order_mean = LP-FT minus random head, averaged over seeds": _close(order_mean, v.gap),
        "order_verdict is the judge's word on the paired gap": order_verdict == v.word,
    }


@_checker("ch03-ex-choose-rate")
def choose_rate(sweep, *, chosen_lr, chosen_test, test_pick_lr, optimism, below_probe
                ) -> dict[str, bool]:
    rates = sorted({r["lr"] for r in sweep.records})
    val = {lr: _mean(r["val_accuracy"] for r in sweep.records if r["lr"] == lr) for lr in rates}
    test = {lr: _mean(r["test_accuracy"] for r in sweep.records if r["lr"] == lr) for lr in rates}
    vs_probe = {lr: _mean(r["test_accuracy"] - r["probe_accuracy"]
                          for r in sweep.records if r["lr"] == lr) for lr in rates}
    return {
        "chosen_lr has the best mean validation accuracy": _is_top(val, chosen_lr),
        "chosen_test is the chosen rate's mean test accuracy":
            chosen_lr in test and _close(chosen_test, test[chosen_lr]),
        "test_pick_lr has the best mean test accuracy": _is_top(test, test_pick_lr),
        "optimism = best test mean - chosen_test (>= 0)":
            _close(optimism, max(test.values()) - test.get(chosen_lr, 0)),
        "below_probe lists the rates that end below the probe, sorted":
            list(below_probe) == sorted(below_probe)
            and {lr for lr, gap in vs_probe.items() if gap < -1e-9} <= set(below_probe)
            <= {lr for lr, gap in vs_probe.items() if gap < 1e-9},  # a zero gap: either
    }


# ------------------------------------------------------------------------------ chapter 3b
@_checker("ch03b-ex-preprocessing-cost")
def preprocessing_cost(res, *, photo_costs, worst_mistake, real_cost) -> dict[str, bool]:
    pre = [r for r in res.records if r["mistake"] == "preprocessing" and r["dataset"] == "photo"]
    fixes = {r["variant"] for r in pre if r["correct"]}
    cost = {row["variant"]: -row["vs_correct"] for row in mistakes.costs(res.records)
            if row["mistake"] == "preprocessing" and row["setting"] == "photo"
            and row["variant"] not in fixes}
    right = stats.by_seed(pre, "test_accuracy", correct=True)
    judged = {v: stats.judge(right, stats.by_seed(pre, "test_accuracy", variant=v)) for v in cost}
    return {
        "one list of costs per photo mistake": set(photo_costs) == set(cost),
        "each mean cost = correct minus mistake, averaged over seeds": all(
            bool(photo_costs.get(v)) and _close(_mean(photo_costs[v]), c)
            for v, c in cost.items()),
        "worst_mistake has the largest mean cost": _is_top(cost, worst_mistake),
        "real_cost: the judge says the cost holds (its 95 % interval above 0)":
            all(real_cost.get(v) == (j.word == stats.HOLDS) for v, j in judged.items()),
    }


@_checker("ch03b-ex-minority-recall")
def minority_recall(res, *, balanced_acc, minority, best_for_minority, same_as_accuracy
                    ) -> dict[str, bool]:
    imb = [r for r in res.records if r["mistake"] == "imbalance"]
    variants = list(dict.fromkeys(r["variant"] for r in imb))
    runs = {v: [r for r in imb if r["variant"] == v] for v in variants}
    bal = {v: _mean(_mean(x for x in r["per_class_recall"] if not math.isnan(x)) for r in rs)
           for v, rs in runs.items()}
    mino = {v: _mean(r["minority_recall"] for r in rs) for v, rs in runs.items()}
    acc = {v: _mean(r["test_accuracy"] for r in rs) for v, rs in runs.items()}
    return {
        "balanced_acc = mean per-class recall, averaged over seeds": _all_close(balanced_acc, bal),
        "minority = the minority class's mean recall": _all_close(minority, mino),
        "best_for_minority has the highest minority recall": _is_top(mino, best_for_minority),
        "same_as_accuracy compares balanced accuracy with accuracy":
            same_as_accuracy == all(abs(bal[v] - acc[v]) < 0.001 for v in variants),
    }


# ------------------------------------------------------------------------------ chapter 4
@_checker("ch04-ex-specificity")
def specificity(lt, *, spec_by_depth, spec_mean, spec_grows, spec_call_top) -> dict[str, bool]:
    spec = layer_transfer.yosinski_effects(lt.records)["specificity"]  # depth -> per seed
    mean = {n: _mean(g) for n, g in spec.items()}
    growth = mean[max(mean)] - mean[1]
    return {
        "spec_by_depth holds every copied depth": set(spec_by_depth) == set(spec),
        "one specificity per seed, BnB minus AnB":  # records hold 4 decimals: 1e-5
            all(_close_lists(spec_by_depth.get(n), g, 1e-5) for n, g in spec.items()),
        "spec_mean is the mean over seeds": _all_close(spec_mean, mean, 1e-5),
        "spec_grows compares the deepest depth with depth 1":
            spec_grows == (growth > 0) or abs(growth) < 1e-9,  # an exact tie may go either way
        "spec_call_top is the judge's call on BnB vs AnB at the deepest depth":
            spec_call_top == forgetting.verdict(layer_transfer.effects(lt.records)
                                                ["specificity"][max(spec)]),
    }


@_checker("ch04-ex-mitigation-price")
def mitigation_price(fg, *, gain_a, gain_b, call_a, call_b, keeps_a_best, free_lunch
                     ) -> dict[str, bool]:
    naive = {"study": "mitigation", "method": "naive"}
    arms = sorted({r["method"] for r in fg.records if r["study"] == "mitigation"} - {"naive"})
    gaps = {(m, metric): forgetting.paired_gaps(fg.records, metric,
                                                {"study": "mitigation", "method": m}, naive)
            for m in arms for metric in ("acc_a", "acc_b")}
    mean_a = {m: _mean(gaps[m, "acc_a"]) for m in arms}
    mean_b = {m: _mean(gaps[m, "acc_b"]) for m in arms}
    verdict = {key: forgetting.verdict(g) for key, g in gaps.items()}
    return {
        "one entry per mitigation":
            set(gain_a) == set(gain_b) == set(call_a) == set(call_b) == set(arms),
        "gain_a and gain_b are mean paired gaps vs naive":
            _all_close(gain_a, mean_a, 1e-5) and _all_close(gain_b, mean_b, 1e-5),
        "call_a and call_b are the judge's calls": all(
            call_a.get(m) == verdict[m, "acc_a"] and call_b.get(m) == verdict[m, "acc_b"]
            for m in arms),
        "keeps_a_best has the largest gain on A":
            keeps_a_best in mean_a and mean_a[keeps_a_best] >= max(mean_a.values()) - 1e-5,
        "free_lunch: better on A (holds), no decided loss on B":
            list(free_lunch) == [m for m in arms
                                 if verdict[m, "acc_a"] == 1 and verdict[m, "acc_b"] >= 0],
    }


# ------------------------------------------------------------------------------ chapter 5
@_checker("ch05-ex-shift-cost")
def shift_cost(ds, *, shift_gaps, shift_cost, shift_cost_balanced, shift_holds
               ) -> dict[str, bool]:
    rows = [r for r in ds.records if r["study"] == "cross-domain" and r["source"] == "photo"]
    mean = {(row["target"], metric): row[f"{metric}_mean"]
            for metric in ("test_accuracy", "balanced_accuracy")
            for row in summarize(rows, by=("target",), metric=metric)}
    on_photo = {r["seed"]: r["test_accuracy"] for r in rows if r["target"] == "photo"}
    cost = domain_shift.verdict(rows, {"target": "photo"}, {"target": "clipart"}, items=False)
    return {
        "one gap per seed": len(shift_gaps) == len(on_photo),
        "shift_cost = accuracy on photos minus on clip art": _close(
            shift_cost, mean["photo", "test_accuracy"] - mean["clipart", "test_accuracy"]),
        "shift_cost_balanced, the same in balanced accuracy": _close(
            shift_cost_balanced,
            mean["photo", "balanced_accuracy"] - mean["clipart", "balanced_accuracy"]),
        "shift_holds: the judge says the cost holds (95 % interval above 0)":
            shift_holds == (cost.word == stats.HOLDS),
    }


@_checker("ch05-ex-best-adaptation")
def best_adaptation(ds, *, adapt_gain, best_adaptation, runner_up_gap, clear_winner
                    ) -> dict[str, bool]:
    rows = [r for r in ds.records if r["study"] == "adaptation"]
    k_most = max(r["k"] for r in rows)
    base = _mean(r["test_accuracy"] for r in rows if r["method"] == "source-only")
    at_k = {m: {r["seed"]: r["test_accuracy"] for r in rows if r["k"] == k_most
                and r["method"] == m} for m in dict.fromkeys(r["method"] for r in rows
                                                            if r["k"] == k_most)}
    gain = {m: _mean(accs.values()) - base for m, accs in at_k.items()}
    top = at_k.get(best_adaptation, {})
    others = {m: g for m, g in gain.items() if m != best_adaptation}

    def against(second: str) -> bool:  # the learner's gaps and call, vs this second-best
        gaps = [top.get(s, math.nan) - a for s, a in at_k[second].items()]
        return (len(runner_up_gap) == len(top) and _close(_mean(runner_up_gap), _mean(gaps))
                and clear_winner == (stats.judge(gaps).word == stats.HOLDS))

    return {
        "adapt_gain covers the methods at the largest k": set(adapt_gain) == set(gain),
        "adapt_gain = mean paired gain over source-only": _all_close(adapt_gain, gain),
        "best_adaptation has the largest gain": _is_top(gain, best_adaptation),
        "runner_up_gap (best minus second best, per seed) and clear_winner (the judge: holds)":
            bool(others) and any(against(m) for m in others if _is_top(others, m)),  # ties: any
    }


# ------------------------------------------------------------------------------ chapter 5b
@_checker("ch05b-ex-robust-or-accurate")
def robust_or_accurate(co, *, mean_drop, mean_corrupted, most_robust, most_accurate, same_model
                       ) -> dict[str, bool]:
    rows = [r for r in co.records if r["severity"] > 0]
    methods = dict.fromkeys(r["method"] for r in rows)
    drop = {m: _mean(r["drop_from_clean"] for r in rows if r["method"] == m) for m in methods}
    acc = {m: _mean(r["test_accuracy"] for r in rows if r["method"] == m) for m in methods}
    return {
        "one entry per method": set(mean_drop) == set(mean_corrupted) == set(drop),
        "mean_drop and mean_corrupted are means over the corrupted records":
            _all_close(mean_drop, drop) and _all_close(mean_corrupted, acc),
        "most_robust has the smallest mean drop": _is_top(drop, most_robust, lowest=True),
        "most_accurate has the highest corrupted accuracy": _is_top(acc, most_accurate),
        "same_model compares the two": same_model == (most_robust == most_accurate),
    }


@_checker("ch05b-ex-negative-call")
def negative_call(nt, *, same_budget, vs_scratch, negative) -> dict[str, bool]:
    gaps: dict[str, list[float]] = {}
    for r in nt.records:  # the experiment's own pairing, rounded to 4 decimals
        if r["method"] != "small-cnn-scratch":
            gaps.setdefault(r["method"], []).append(r["gap_vs_scratch"])
    lost = {m: domain_shift.verdict(nt.records, {"method": m}, {"method": "small-cnn-scratch"})
            .word == stats.OPPOSITE for m in gaps}  # the judge puts the arm below scratch
    budgets = {(r["steps"], r["input_size"]) for r in nt.records}
    return {
        "same_budget: one (steps, input size) for every record": same_budget == (len(budgets) == 1),
        "vs_scratch pairs each arm with scratch, seed by seed": set(vs_scratch) == set(gaps)
            and all(_close_lists(vs_scratch[m], g, RECORD_TOLERANCE) for m, g in gaps.items()),
        "negative is the judge's call (does not hold here)":
            all(negative.get(m) == c for m, c in lost.items()),
        "your calls agree with the verdict sentence (arms that fit)":
            any(negative.get(m, False) for m in negative_transfer.arms_that_fit(nt.records))
            == negative_transfer.negative_verdict(nt.records).startswith("Negative transfer here"),
    }


# ------------------------------------------------------------------------------ chapter 7
@_checker("ch07-ex-read-threshold")
def read_threshold(it, threshold, *, unknown_share, precision, recall) -> dict[str, bool]:
    ref = metrics.report(it.eval_probs, it.eval_y, it.classes, threshold)
    return {
        "unknown_share as the metrics module counts it": _close(unknown_share, ref.unknown_share),
        "precision of every class that was predicted": all(
            _close(precision.get(c.name), c.precision)
            for c in ref.per_class if c.precision is not None),
        "no precision for a class never predicted": set(precision) == {
            c.name for c in ref.per_class if c.precision is not None},
        "recall of every class, unknowns counted as misses": all(
            _close(recall.get(c.name), c.recall) for c in ref.per_class if c.recall is not None),
    }


@_checker("ch07-ex-backbone-gap")
def backbone_gap(bc, *, gaps, gap, verdict) -> dict[str, bool]:
    big = backbone_choice._by_seed(bc.records, "lite2", 260)
    small = backbone_choice._by_seed(bc.records, "lite0", 224)
    ref = [big[s] - small[s] for s in sorted(big.keys() & small.keys())]
    return {
        "one paired gap per seed, in seed order": _close_lists(gaps, ref),
        "gap is the mean paired gap": _close(gap, _mean(ref)),
        "verdict is the judge's word on these gaps": verdict == judge(ref).word,
    }


# ------------------------------------------------------------------------------ chapter 8
@_checker("ch08-ex-frozen-vs-tfidf")
def frozen_vs_tfidf(res, *, gaps_20, mean_gap_20, verdict_20) -> dict[str, bool]:
    frozen, tfidf = tt._acc(res.records, tt.FROZEN, 20), tt._acc(res.records, tt.TFIDF, 20)
    gaps = [frozen[s] - tfidf[s] for s in sorted(frozen.keys() & tfidf.keys())]
    return {
        "one gap per seed, frozen minus TF-IDF": _close_lists(gaps_20, gaps),
        "mean_gap_20 is their mean": _close(mean_gap_20, _mean(gaps)),
        "verdict_20 is the judge's word on the two arms' records (test texts counted)":
            verdict_20 == judge(frozen, tfidf).word,
    }


@_checker("ch08-ex-best-rate")
def best_rate(res, *, rate_means, best_lr, best_in_bert_range, high_rate_below_probe
              ) -> dict[str, bool]:
    sweep = [r for r in res.records if r["part"] == "lr-sweep"]  # chosen on validation texts
    means = {lr: _mean(r["val_accuracy"] for r in sweep if r["lr"] == lr)
             for lr in {r["lr"] for r in sweep}}
    best = best_lr if _is_top(means, best_lr) else tt.best_rate(res.records)  # ties: either
    return {
        "rate_means has one entry per rate swept": sorted(rate_means) == sorted(means),
        "best_lr is the rate with the highest mean validation accuracy": _is_top(means, best_lr),
        "best_in_bert_range":
            best_in_bert_range == (tt.BERT_RATES[0] <= best <= tt.BERT_RATES[1]),
        "high_rate_below_probe":
            high_rate_below_probe == (_mean(tt.sweep_gaps(res.records, 1e-3).values()) < 0),
    }



# ------------------------------------------------------------------------------ chapter 9
@_checker("ch09-ex-lora-share")
def lora_share(res, *, share, size_ratio, verdict) -> dict[str, bool]:
    lz = lora_zero_shot
    rows = {m: [r for r in res.records if r["method"] == m and r["labels_per_class"] == lz.MORE]
            for m in (lz.LORA, lz.FULL)}
    lora, full = rows[lz.LORA][0], rows[lz.FULL][0]
    return {
        "share is LoRA's trainable parameters / full fine-tuning's":
            _close(share, lora["trainable_params"] / full["trainable_params"]),
        "size_ratio is full fine-tuning's saved bytes / LoRA's":
            _close(size_ratio, full["saved_bytes"] / lora["saved_bytes"]),
        "verdict is the judge's equivalence word (margin 2 points)":
            verdict == judge(rows[lz.LORA], rows[lz.FULL], margin=lz.MARGIN).word,
    }


@_checker("ch09-ex-crossover")
def crossover(res, *, zero_acc, probe_means, first_above) -> dict[str, bool]:
    lz = lora_zero_shot
    zero = next(r["test_accuracy"] for r in res.records if r["method"] == lz.ZERO)
    means = {k: _mean(v.values()) for k in {r["labels_per_class"] for r in res.records
                                            if r["method"] == lz.PROBE}
             if (v := lz.acc(res.records, lz.PROBE, k))}
    above = min((k for k, m in means.items() if m > zero), default=None)
    return {
        "zero_acc is zero-shot's test accuracy": _close(zero_acc, zero),
        "probe_means: labels per class -> mean probe accuracy": _all_close(probe_means, means),
        "first_above is the fewest labels per class above zero-shot": first_above == above,
    }
