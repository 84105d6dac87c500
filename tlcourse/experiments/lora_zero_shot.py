"""Claims 16 and 17: transfer as it is done today - LoRA adapters, and zero-shot from words.

Four arms on real tweets (negative / positive), all tested on the same balanced test tweets
(chance 50 %), at several labelled tweets per class:

* ``zero-shot``: no labels. Each class is described in words, in several wordings
  (:data:`tlcourse.text.zero_shot.WORDINGS`); a tweet gets the class whose description is
  closest to it in MiniLM's sentence space. The arm is the *prompt ensemble* (each class's
  descriptions averaged over every wording), chosen before any label is seen; each wording alone
  is recorded too (``zero-shot-one-wording``), for the spread.
* ``probe``: logistic regression on frozen MiniLM sentence vectors (chapter 8's), its strength
  chosen by cross-validation on its own training tweets (those labels are the budget).
* ``lora``: LoRA adapters (rank 8 on the attention's query and value) and the head, trained
  from the probe as the head (LP-FT, chapter 8's recipe, into LoRA) for a few epochs.
* ``full-finetune``: every weight of MiniLM and the head, the same recipe (chapter 8's LP-FT).

Where the labels come from: a fixed *pool* of labelled tweets (``pool_per_class`` per class,
disjoint from the test tweets); each seed draws its ``k`` training tweets per class from it
(nested: a seed's 5 are among its 20), so the 20 seeds of the cheap arms cost one embedding of
the pool. The trained arms' learning rates are chosen on *validation* tweets: for each seed, the
``val_per_class`` pool tweets per class after its largest training draw (never training or test
tweets). These validation labels are NOT counted in the labels-per-class budget; the findings
say so. The rate is chosen on seed 0's validation tweets among a small grid, then every seed
trains at it.

Each trained run records: accuracy, trainable parameters, the bytes it must save (the LoRA
adapter and head vs a full copy, as safetensors), seconds per optimiser step (its training wall
time divided by its steps, on this machine), and its peak memory (the process's resident
memory above its level at the start of the run, sampled every 10 ms: :class:`tlcourse.memory.PeakRSS`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import text
from ..memory import PeakRSS
from ..stats import HOLDS, PerSeed, Verdict, by_seed, fitted, interval, judge
from ..text import lora as _lora
from ..text import zero_shot as zs
from ..timing import PartTimer
from . import Results, register
from .text_validation import predict

ZERO, ZERO_ONE, PROBE, LORA, FULL = ("zero-shot", "zero-shot-one-wording", "probe", "lora",
                                     "full-finetune")
ARMS = (ZERO, PROBE, LORA, FULL)
NAMES = {ZERO: "zero-shot (descriptions, no labels)", PROBE: "frozen MiniLM + LR (probe)",
         LORA: "LoRA (r = 8, query/value)", FULL: "full fine-tuning"}
MARGIN = 0.02  # claim 16: "matches" = within 2 points (equivalence, the judge's TOST)
FEW, MORE = 5, 20  # claim 17: zero-shot vs 5 labels per class (Radford et al.: ~4-shot), vs 20


@dataclass(frozen=True)
class LoraZeroShotConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    dataset: str = "tweets"
    per_class: tuple[int, ...] = (2, 5, 10, 20)  # the probe's sizes (cheap: cached vectors)
    trained_per_class: tuple[int, ...] = (20,)  # sizes LoRA and full fine-tuning train at
    probe_seeds: int = 20  # head-only arm on cached vectors: many seeds
    seeds: tuple[int, ...] = (0, 1, 2)  # the trained arms' seeds (>= 3 for a verdict)
    test_per_class: int = 100  # fixed balanced test set: 200 tweets, chance 50 %
    pool_per_class: int = 100  # the labelled pool every draw comes from
    val_per_class: int = 25  # validation tweets per class (not counted in the budget)
    tune: text.TuneConfig = field(default_factory=lambda: text.TuneConfig(epochs=3, min_steps=9))
    # LP-FT's recipe as in chapter 8's quick profile: 3 epochs (BERT's 2-4), batch 16, 64 tokens
    full_lrs: tuple[float, ...] = (3e-5, 1e-4)  # full fine-tuning's rate grid (BERT: 2e-5..5e-5)
    lora_lrs: tuple[float, ...] = (3e-4, 1e-3)  # LoRA's: adapters start at zero and need ~10x
    # (Hu et al. 2021 used 4e-4..5e-4 on RoBERTa-base)
    rank: int = 8
    alpha: float = 16


PROFILES = {
    "quick": LoraZeroShotConfig(),
    "full": LoraZeroShotConfig(per_class=(2, 5, 10, 20, 50, 200), trained_per_class=(5, 20, 200),
                               seeds=(0, 1, 2, 3, 4), test_per_class=500, pool_per_class=300,
                               tune=text.TuneConfig(max_length=128), full_lrs=(2e-5, 5e-5, 1e-4),
                               lora_lrs=(3e-4, 1e-3, 3e-3)),
}


def draw(pool: text.TextData, k: int, seed: int, val_per_class: int, skip: int
         ) -> tuple[text.TextData, text.TextData]:
    """Seed ``seed``'s ``k`` training tweets per class from ``pool`` (nested in ``k``) and its
    ``val_per_class`` validation tweets per class: the ones after the first ``skip`` of the same
    seeded order (``skip`` = the largest ``k`` drawn), so never a training tweet of any size."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in range(len(pool.classes)):
        order = rng.permutation(np.flatnonzero(pool.y.numpy() == c))
        train_idx.extend(order[:k])
        val_idx.extend(order[skip:skip + val_per_class])
    return pool.subset(train_idx), pool.subset(val_idx)


def _head_bytes(result: text.LinearResult) -> int:
    from safetensors.torch import save

    head = text.head_from_probe(result)
    return len(save({k: v.contiguous() for k, v in head.state_dict().items()}))


@register("lora-zero-shot", "Ch. 9: tweets - zero-shot from class descriptions vs a probe vs "
                            "LoRA vs full fine-tuning: accuracy, parameters, bytes, time, memory")
def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
        progress: bool = True) -> Results:
    """Every arm; ``res.artifacts`` keeps the test tweets and each part's seconds.

    ``seeds`` sets the trained arms' seeds; the probe runs ``probe_seeds`` seeds, at least as
    many as those (so that every trained seed has its probe).

    Example:
        >>> res = run_experiment("lora-zero-shot", "quick")   # doctest: +SKIP
        >>> findings(res.records)                              # doctest: +SKIP
    """
    cfg = PROFILES[profile]
    if seeds is not None:
        cfg = replace(cfg, seeds=tuple(seeds), probe_seeds=max(cfg.probe_seeds, max(seeds) + 1))
    res = Results("lora-zero-shot", profile, asdict(cfg))
    timer = PartTimer(res.artifacts)
    data = text.load_text_dataset(cfg.dataset)
    encoder = text.load_encoder()
    pool, test = text.split_texts(data, cfg.pool_per_class, 0, cfg.test_per_class)
    res.artifacts["test"] = test
    timer.lap("load")
    vec = text.embed(test.texts + pool.texts, encoder, max_length=cfg.tune.max_length,
                     progress=progress)
    test_vec, pool_vec = vec[:len(test)], vec[len(test):]
    timer.lap("embed")
    common = {"dataset": cfg.dataset, "n_test": len(test), "test_set": "fixed"}
    _zero_shot(res, cfg, encoder, test, test_vec, common)
    probes = _probes(res, cfg, pool, pool_vec, test, test_vec, common, progress)
    timer.lap("zero-shot + probe")
    _trained(res, cfg, encoder, pool, test, common, probes, progress)
    timer.lap("LoRA + full fine-tuning")
    return res


def _add(res: Results, common: dict, method: str, pred: torch.Tensor, y: torch.Tensor,
         **extra) -> None:
    correct = (pred.cpu() == y.cpu()).int()
    res.records.append({**common, "method": method,
                        "test_accuracy": round(correct.float().mean().item(), 4),
                        "item_correct": correct.tolist(), **extra})


def _zero_shot(res, cfg, encoder, test, test_vec, common) -> None:
    """The prompt ensemble (one record per probe seed, all equal: no labels, nothing random,
    so it pairs with every seed of the probe) and each wording alone (seed 0)."""
    classes = zs.class_vectors(encoder, zs.WORDINGS, cfg.tune.max_length)
    pred = zs.predict(test_vec, classes)
    saved = classes.numel() * 4  # the class vectors, float32
    for seed in range(cfg.probe_seeds):
        _add(res, {**common, "labels_per_class": 0, "seed": seed}, ZERO, pred, test.y,
             wording="ensemble of all", trainable_params=0, saved_bytes=saved)
    for i, words in enumerate(zs.WORDINGS):
        one = zs.predict(test_vec, zs.class_vectors(encoder, [words], cfg.tune.max_length))
        _add(res, {**common, "labels_per_class": 0, "seed": 0}, ZERO_ONE, one, test.y,
             wording=" / ".join(words), wording_index=i)


def _probes(res, cfg, pool, pool_vec, test, test_vec, common, progress) -> dict:
    """The probe at every size and seed; returns them by ``(k, seed)`` (LP-FT's heads)."""
    out = {}
    row = {t: i for i, t in enumerate(pool.texts)}
    skip = max(cfg.per_class + cfg.trained_per_class)
    runs = [(k, s) for k in sorted(cfg.per_class) for s in range(cfg.probe_seeds)]
    for k, seed in tqdm(runs, desc="lora-zero-shot: probes", disable=not progress):
        train, _ = draw(pool, k, seed, cfg.val_per_class, skip)
        x = pool_vec[[row[t] for t in train.texts]]
        with PeakRSS() as mem:
            r = text.probe(x, train.y, test_vec, test.y)
        train_acc = round(float((torch.as_tensor(r.model.predict(x.numpy())) == train.y).double().mean()), 4)
        _add(res, {**common, "labels_per_class": k, "seed": seed, "n_train": len(train)},
             PROBE, r.pred, test.y, C=r.C, seconds=round(r.seconds, 3),
             train_accuracy=train_acc, fitted=fitted(train_acc),
             trainable_params=int(x.shape[1]) + 1, saved_bytes=_head_bytes(r),
             peak_mb=mem.peak_mb)
        out[(k, seed)] = r
    return out


def _train(cfg, encoder, train, score_on, head, lr, seed, arm):
    """LP-FT or LP-LoRA: the probe's head, then ``cfg.tune``'s epochs at rate ``lr``; scored on
    ``score_on`` (validation tweets) by :func:`tlcourse.text.train_encoder`."""
    prepare = (lambda m: _lora.add_lora(m, r=cfg.rank, alpha=cfg.alpha)) if arm == LORA else None
    with PeakRSS() as mem:
        r = text.train_encoder(encoder, train, score_on, replace(cfg.tune, lr=lr), seed,
                               head=text.head_from_probe(head), prepare=prepare)
    return r, mem.peak_mb


def _trained(res, cfg, encoder, pool, test, common, probes, progress) -> None:
    """LoRA and full fine-tuning at each trained size, each from its seed's probe as the head
    (LP-FT): the rate chosen on seed 0's validation tweets among the arm's grid, then every
    seed at that rate (seed 0's run reused)."""
    skip = max(cfg.per_class + cfg.trained_per_class)
    jobs = [(k, arm) for k in cfg.trained_per_class for arm in (LORA, FULL)]
    bar = tqdm(total=len(jobs) * (len(cfg.lora_lrs) + len(cfg.seeds) - 1),
               desc="lora-zero-shot: trained arms", disable=not progress)
    for k, arm in jobs:
        lrs = cfg.lora_lrs if arm == LORA else cfg.full_lrs
        seed0 = cfg.seeds[0]
        train0, val0 = draw(pool, k, seed0, cfg.val_per_class, skip)
        tried = {}
        for lr in lrs:
            tried[lr] = _train(cfg, encoder, train0, val0, probes[(k, seed0)], lr, seed0, arm)
            bar.update()
        val_acc = {lr: r.accuracy for lr, (r, _) in tried.items()}
        lr = max(lrs, key=lambda x: val_acc[x])  # ties: the first listed
        saved = None
        for seed in cfg.seeds:
            train, val = draw(pool, k, seed, cfg.val_per_class, skip)
            if seed == seed0:
                r, peak = tried[lr]
            else:
                r, peak = _train(cfg, encoder, train, val, probes[(k, seed)], lr, seed, arm)
                bar.update()
            if saved is None:  # the same for every seed
                saved = (_lora.adapter_bytes(r.model) if arm == LORA
                         else _lora.full_bytes(r.model))
            _add(res, {**common, "labels_per_class": k, "seed": seed, "n_train": len(train)},
                 arm, predict(r.model, test, cfg.tune.max_length), test.y, lr=lr,
                 lr_val={f"{a:g}": round(b, 4) for a, b in val_acc.items()}, n_val=len(val),
                 steps=r.steps, epochs=r.epochs, train_accuracy=round(r.train_accuracy, 4),
                 fitted=fitted(round(r.train_accuracy, 4)), seconds=round(r.seconds, 2),
                 seconds_per_step=round(r.seconds / r.steps, 3),
                 trainable_params=_lora.trainable_parameters(r.model), saved_bytes=saved,
                 peak_mb=peak, probe_accuracy=round(probes[(k, seed)].accuracy, 4))
    bar.close()


# ---------------------------------------------------------------------------------------------
# Tables and findings: computed from the records, every verdict from the one judge
# ---------------------------------------------------------------------------------------------
def acc(records: list[dict], method: str, k: int) -> PerSeed:
    """Seed -> test accuracy of ``method`` at ``k`` labels per class (zero-shot: any ``k``,
    it uses none), with the per-tweet outcomes (:func:`tlcourse.stats.by_seed`)."""
    return by_seed(records, "test_accuracy", method=method,
                   **({} if method == ZERO else {"labels_per_class": k}))


def _judged(a: PerSeed, b: PerSeed, margin: float | None = None) -> Verdict | None:
    return judge(a, b, margin=margin) if set(a) & set(b) else None


def zero_vs_probe(records: list[dict], k: int) -> Verdict | None:
    """The judge on the probe at ``k`` labels per class minus zero-shot, paired by seed."""
    return _judged(acc(records, PROBE, k), acc(records, ZERO, 0))


def lora_vs_full(records: list[dict]) -> tuple[int, Verdict] | None:
    """``(k, verdict)``: LoRA minus full fine-tuning at ``MORE`` labels per class (else the
    largest size both trained at), judged for equivalence within :data:`MARGIN`."""
    ks = sorted({r["labels_per_class"] for r in records if r["method"] == LORA}
                & {r["labels_per_class"] for r in records if r["method"] == FULL})
    if not ks:
        return None
    k = MORE if MORE in ks else ks[-1]
    v = _judged(acc(records, LORA, k), acc(records, FULL, k), MARGIN)
    return (k, v) if v else None


def crossover(records: list[dict]) -> tuple[int | None, dict[int, Verdict]]:
    """``(k, verdicts)``: the fewest labels per class from which the probe beats zero-shot at
    every larger size measured (the judge's *holds*), or None; and the verdict at each size."""
    ks = sorted({r["labels_per_class"] for r in records if r["method"] == PROBE})
    found = {k: v for k in ks if (v := zero_vs_probe(records, k)) is not None}
    cross = None
    for k in reversed(ks):
        if k in found and found[k].word == HOLDS:
            cross = k
        else:
            break
    return cross, found


def crossover_text(records: list[dict]) -> str:
    """The crossover in words, with the judge's sentence at each size."""
    k, found = crossover(records)
    if not found:
        return "no probe and zero-shot runs on common seeds"
    per = "; ".join(f"{n}/class: {v.text(NAMES[PROBE], NAMES[ZERO], 'test tweets')}"
                    for n, v in found.items())
    said = (f"the probe beats zero-shot from {k} labelled tweets per class on (every size "
            f"from there up, the judge's holds)" if k is not None else
            "the probe does not beat zero-shot at the largest size measured, so no crossover "
            "is found within these sizes")
    return f"{said}. Per size: {per}"


def _cell(values: PerSeed) -> str:
    if not values:
        return "-"
    m, low, high = interval(values)
    if math.isnan(low):
        return f"{100 * m:.1f} % (1 seed)"
    return f"{100 * m:.1f} % ({100 * low:.1f}-{100 * high:.1f})"


def size_text(n: float) -> str:
    """Bytes for people: '3.1 KB', '302 KB', '90.9 MB'."""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}" if n < 100 * scale else f"{n / scale:.0f} {unit}"
    return f"{n:.0f} B"


def table(records: list[dict]) -> list[dict]:
    """The arms table: one row per arm and size; accuracy as mean and 95 % interval over seeds
    (the fixed test tweets counted), trainable parameters, what must be saved, seconds per
    step, peak memory, and whether the arm fitted its training tweets on every seed."""
    rows = []
    for method in ARMS:
        for k in sorted({r["labels_per_class"] for r in records if r["method"] == method}):
            rs = [r for r in records if r["method"] == method and r["labels_per_class"] == k]
            step = [r["seconds_per_step"] for r in rs if "seconds_per_step" in r]
            peak = [r["peak_mb"] for r in rs if r.get("peak_mb") is not None]
            rows.append({
                "arm": NAMES[method], "labels/class": k,
                "accuracy (95 % interval)": _cell(acc(records, method, k)),
                "seeds": len({r["seed"] for r in rs}),
                "trainable params": f"{rs[0]['trainable_params']:,}",
                "saved": size_text(rs[0]["saved_bytes"]),
                "s/step": f"{statistics.median(step):.2f}" if step else "-",
                "peak MB": f"{max(peak):.0f}" if peak else "-",
                "fitted": "-" if method == ZERO else
                ("yes" if all(r["fitted"] for r in rs) else
                 f"no ({sum(not r['fitted'] for r in rs)} of {len(rs)} seeds)")})
    return rows


def wording_text(records: list[dict]) -> str:
    """Zero-shot's dependence on the words: the ensemble and each wording alone."""
    ones = sorted((r for r in records if r["method"] == ZERO_ONE), key=lambda r: r["test_accuracy"])
    ens = [r for r in records if r["method"] == ZERO]
    if not ones or not ens:
        return ""
    lo, hi = ones[0], ones[-1]
    return (f"Zero-shot, no labels: the ensemble of {len(ones)} wordings scored "
            f"{100 * ens[0]['test_accuracy']:.1f} %; each wording alone scored from "
            f"{100 * lo['test_accuracy']:.1f} % (\"{lo['wording']}\") to "
            f"{100 * hi['test_accuracy']:.1f} % (\"{hi['wording']}\"), a spread of "
            f"{100 * (hi['test_accuracy'] - lo['test_accuracy']):.1f} points from the words alone "
            f"(nothing was chosen on these test tweets: the ensemble was fixed beforehand)")


def fit_text(records: list[dict]) -> list[str]:
    """How each trained arm was trained: the rate chosen on validation, the steps, and whether
    it fitted its training tweets (with the training accuracy where it did not); the probe's fit."""
    out = []
    for method in (LORA, FULL):
        for k in sorted({r["labels_per_class"] for r in records if r["method"] == method}):
            rs = sorted((r for r in records if r["method"] == method
                         and r["labels_per_class"] == k), key=lambda r: r["seed"])
            tried = ", ".join(f"{100 * a:.0f} % at {lr}" for lr, a in rs[0]["lr_val"].items())
            unfit = [r for r in rs if not r["fitted"]]
            said = ("it fitted its training tweets on every seed (training accuracy at least "
                    f"{100 * min(r['train_accuracy'] for r in rs):.0f} %)" if not unfit else
                    "it did not fit its training tweets on seed" + ("s" if len(unfit) > 1 else "")
                    + " " + ", ".join(f"{r['seed']} (training accuracy "
                                      f"{100 * r['train_accuracy']:.0f} % after {r['steps']} "
                                      "steps)" for r in unfit))
            out.append(f"{NAMES[method]} at {k}/class: rate {rs[0]['lr']:g} chosen on "
                       f"{rs[0]['n_val']} validation tweets of seed {rs[0]['seed']} (not counted "
                       f"in the {k} labels per class; validation accuracy {tried}), from its "
                       f"seed's probe as the head, {rs[0]['steps']} steps ({rs[0]['epochs']} "
                       f"epochs); {said}.")
    probe = [r for r in records if r["method"] == PROBE]
    unfit = sorted({r["labels_per_class"] for r in probe if not r["fitted"]})
    if probe:
        out.append("The probe (its strength chosen by cross-validation on its own training "
                   "tweets) fitted its training tweets on every seed at every size." if not unfit
                   else "The probe did not fit its training tweets on every seed at "
                   + ", ".join(f"{k}/class (lowest training accuracy "
                               f"{100 * min(r['train_accuracy'] for r in probe if r['labels_per_class'] == k):.0f} %)"
                               for k in unfit)
                   + ": its strength, chosen by cross-validation, regularises it.")
    return out


def claim17_verdicts(records: list[dict]) -> dict[str, Verdict]:
    """Claim 17's two comparisons, each oriented the way the claim states: zero-shot minus the
    probe at :data:`FEW` per class, and the probe at :data:`MORE` minus zero-shot."""
    out = {}
    few = zero_vs_probe(records, FEW)
    if few is not None:
        out[f"zero-shot vs {FEW}/class"] = _judged(acc(records, ZERO, 0), acc(records, PROBE, FEW))
    more = zero_vs_probe(records, MORE)
    if more is not None:
        out[f"{MORE}/class vs zero-shot"] = more
    return out


def claim17_text(records: list[dict]) -> str:
    v = claim17_verdicts(records)
    parts = []
    if f"zero-shot vs {FEW}/class" in v:
        parts.append(f"at {FEW}/class: " + v[f"zero-shot vs {FEW}/class"].text(
            NAMES[ZERO], NAMES[PROBE], "test tweets"))
    if f"{MORE}/class vs zero-shot" in v:
        parts.append(f"at {MORE}/class: " + v[f"{MORE}/class vs zero-shot"].text(
            NAMES[PROBE], NAMES[ZERO], "test tweets"))
    return "; ".join(parts)


def lora_text(records: list[dict]) -> str:
    """Claim 16's sentence: the equivalence verdict with what each arm trains, saves and costs."""
    found = lora_vs_full(records)
    if found is None:
        return "LoRA and full fine-tuning share no size and seed in these records"
    k, v = found
    row = {m: next(r for r in records if r["method"] == m and r["labels_per_class"] == k)
           for m in (LORA, FULL)}
    share = row[LORA]["trainable_params"] / row[FULL]["trainable_params"]
    return (f"at {k}/class, judged for equivalence within {100 * MARGIN:.0f} points: "
            + v.text("LoRA", "full fine-tuning", "test tweets")
            + f". LoRA trained {row[LORA]['trainable_params']:,} parameters "
            f"({100 * share:.2f} % of full fine-tuning's {row[FULL]['trainable_params']:,}) and "
            f"saves {size_text(row[LORA]['saved_bytes'])} against "
            f"{size_text(row[FULL]['saved_bytes'])}")


def findings(records: list[dict]) -> list[str]:
    """Sentences on claims 16 and 17, computed from ``records`` (one run of lora-zero-shot)."""
    n = next((r["n_test"] for r in records), 0)
    out = [(f"{records[0]['dataset']}, {n:,} test tweets, half of each class (chance 50 %), "
            "the same for every arm, size and seed.")]
    words = wording_text(records)
    if words:
        out.append(words + ".")
    out.append("Zero-shot vs the probe: " + crossover_text(records) + ".")
    c17 = claim17_text(records)
    if c17:
        out.append(f"Claim 17 (zero-shot beats {FEW} labels per class, {MORE} beat zero-shot): "
                   + c17 + ".")
    out.append("Claim 16, LoRA vs full fine-tuning: " + lora_text(records) + ".")
    return out + fit_text(records)
