"""Claim 13: transfer works beyond vision - a pretrained sentence encoder vs learning from scratch.

Three parts, every record tagged with its ``part``; all tested on fixed, balanced test texts
(chance 50 %):

* ``curve`` - a learning curve on real tweets over labelled texts per class, five arms:

  - ``tfidf``: TF-IDF of words and word pairs + logistic regression, the strong classic learned
    from the labelled texts alone;
  - ``minilm-frozen``: logistic regression on frozen all-MiniLM-L6-v2 sentence vectors;
  - ``random-frozen``: the same on the same architecture with random weights (what the
    architecture alone gives);
  - ``minilm-finetuned``: LP-FT, the frozen arm's probe as the head, then every layer trained
    at BERT's recommended rate (2e-5..5e-5) for a few epochs;
  - ``random-trained``: the architecture from random weights trained end to end, at the rate
    chosen on validation texts, until it fits its training texts (or its step budget, at least
    five times the fine-tuned arm's, runs out: the record keeps its training accuracy).

* ``lr-sweep`` - LP-FT at one size over learning rates, from BERT's range up to 1e-3, against
  the probe it started from (chapter 3's "10-100x lower" lesson, on text). The rate called best
  is chosen on validation texts (:mod:`.text_validation`), never on the test texts.
* ``domain-shift`` - TF-IDF and the frozen-MiniLM probe trained on movie reviews and tested on
  tweets, and the reverse; then with a few labelled texts of the target domain added.

Sentence vectors are computed once per encoder (cached on disk), so the linear arms cost seconds;
a trained encoder costs ~1 s per step of 16 texts on a CPU core: the quick profile trains at one size.

Every record keeps its per-text outcomes (``item_correct``, in the test set's order),
``test_set="fixed"`` and ``n_test``, and every verdict is :func:`tlcourse.stats.judge`'s on the
seeds both arms ran. The test texts are the same for every seed, so the judge counts their own
sampling error too: with 200 test tweets it is often larger than the seed-to-seed spread, and
more seeds do not shrink it (an inconclusive verdict then says how many test texts would decide).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field, replace

import torch
from tqdm.auto import tqdm

from .. import text
from ..stats import PerSeed, Verdict, by_seed, interval, judge, paired_gaps
from ..timing import PartTimer
from . import Results, register
from .text_validation import accuracy as val_accuracy
from .text_validation import from_scratch, predict, scratch_findings, train_val_split

TFIDF, FROZEN, RANDOM_FROZEN = "tfidf", "minilm-frozen", "random-frozen"
FINETUNED, RANDOM_TRAINED = "minilm-finetuned", "random-trained"
ARMS = (TFIDF, FROZEN, RANDOM_FROZEN, FINETUNED, RANDOM_TRAINED)
NAMES = {TFIDF: "TF-IDF + LR", FROZEN: "frozen MiniLM + LR", RANDOM_FROZEN:
         "random-weight MiniLM + LR", FINETUNED: "fine-tuned MiniLM (LP-FT)",
         RANDOM_TRAINED: "MiniLM trained from random weights"}
CURVE, SWEEP, SHIFT = "curve", "lr-sweep", "domain-shift"
BERT_RATES = (2e-5, 5e-5)  # BERT's paper: fine-tune at 2e-5..5e-5 for 2-4 epochs
# Domain-shift training sets, each tested on the target domain's test texts:
SOURCE, MIXED, TARGET_FEW, TARGET = "source", "source+target", "target-few", "target"


@dataclass(frozen=True)
class TextTransferConfig:
    """Settings of one run; ``PROFILES`` holds the quick and full variants."""

    dataset: str = "tweets"  # the learning curve's and the sweep's corpus: "tweets" or "movies"
    per_class: tuple[int, ...] = (5, 20, 50, 200)  # x axis: labelled texts per class
    seeds: tuple[int, ...] = (0, 1, 2)  # each draws other training texts (the test set is
    # fixed); 3 is the fewest a fine-tuned arm's verdict may rest on
    test_per_class: int = 100  # balanced test set (chance 50 %), the same for every arm
    random_per_class: tuple[int, ...] | None = (5, 20, 50)  # sizes of random-frozen (None: all):
    # its gap to the pretrained vectors is the lesson at few labels; each size costs embedding
    tuned_per_class: tuple[int, ...] | None = (20,)  # sizes the encoders train at (None: all):
    # ~1 s per step of 16 texts on a CPU core, and the trained nets must be run on the test set
    tune: text.TuneConfig = field(default_factory=text.TuneConfig)  # fine-tuning recipe
    scratch_lrs: tuple[float, ...] = (3e-4, 1e-3)  # the random-weight encoder's rates: the one
    # that scores best on seed 0's validation texts trains every seed
    scratch_max_steps: int = 45  # it trains until it fits its texts or this many steps (5x
    # the fine-tuned arm's 9 at 20/class in the quick profile; it fitted in 21-36 at 3e-4)
    val_per_class: int = 50  # validation texts per class, from each seed's training pool: the
    # LP-FT rate called best and the random-weight encoder's rate are chosen on them
    sweep_per_class: int = 20  # the LP-FT learning-rate sweep runs at this size ...
    sweep_lrs: tuple[float, ...] = (3e-5, 3e-4, 1e-3)  # ... at these rates (tune.lr shared)
    shift_source_per_class: int = 100  # domain shift: labelled source texts per class ...
    shift_target_per_class: int = 20  # ... plus this many of the target domain


PROFILES = {
    # 3 epochs (BERT's recipe: 2-4) keep the fine-tuned arms cheap on a CPU core.
    "quick": TextTransferConfig(tune=text.TuneConfig(epochs=3, min_steps=9),
                                sweep_lrs=(3e-5, 1e-3)),  # 3e-4's runs paid the scratch steps
    # Every arm over the whole curve, 3 seeds, a 1,000-text test set: for a GPU.
    "full": TextTransferConfig(per_class=(5, 20, 50, 200, 1000), seeds=(0, 1, 2),
                               test_per_class=500, random_per_class=None, tuned_per_class=None,
                               tune=text.TuneConfig(max_length=128),
                               scratch_lrs=(1e-4, 3e-4, 1e-3), scratch_max_steps=600,
                               sweep_lrs=(1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 3e-4, 1e-3),
                               shift_source_per_class=1000),
}


class _Vectors:
    """Sentence vectors of one encoder, computed once for every text a run needs (one
    :func:`text.embed` call, cached on disk) and looked up by text."""

    def __init__(self, encoder: text.SentenceEncoder, texts: list[str], progress: bool):
        unique = list(dict.fromkeys(texts))
        start = time.perf_counter()
        emb = text.embed(unique, encoder, progress=progress)
        self.per_text = (time.perf_counter() - start) / max(len(unique), 1)  # 0 when cached
        self.row = {t: i for i, t in enumerate(unique)}
        self.emb = emb

    def __call__(self, data: text.TextData) -> torch.Tensor:
        return self.emb[[self.row[t] for t in data.texts]]


def _split(data: text.TextData, k: int, seed: int, cfg: TextTransferConfig):
    return text.split_texts(data, k, seed, test_per_class=cfg.test_per_class)


def _sizes(wanted: tuple[int, ...] | None, cfg: TextTransferConfig) -> list[int]:
    return [k for k in cfg.per_class if wanted is None or k in wanted]


@register("text-transfer", "Ch. 8: tweets - pretrained MiniLM vs TF-IDF vs MiniLM from scratch; "
                           "LP-FT learning rates; movies <-> tweets", PROFILES)
def run(cfg: TextTransferConfig, res: Results, progress: bool) -> Results:
    """The three parts (learning curve, LP-FT rate sweep, domain shift); ``res.artifacts``
    keeps the test sets, each part's seconds and every arm's test predictions.

    Example:
        >>> res = run_experiment("text-transfer", "quick")  # doctest: +SKIP
        >>> findings(res.records)                           # doctest: +SKIP
    """
    res.artifacts["preds"] = {}
    timer = PartTimer(res.artifacts)
    other = "movies" if cfg.dataset == "tweets" else "tweets"
    corpora = {name: text.load_text_dataset(name) for name in (cfg.dataset, other)}
    encoders = {FROZEN: text.load_encoder(), RANDOM_FROZEN: text.load_encoder(pretrained=False)}
    timer.lap("load")

    # Every text either encoder will see, embedded once per encoder.
    tests = {name: _split(d, 0, 0, cfg)[1] for name, d in corpora.items()}
    big = {cfg.dataset: max(*cfg.per_class, cfg.shift_source_per_class),
           other: cfg.shift_source_per_class}  # nested splits: the largest holds the rest
    pools = {(name, s): _split(d, big[name], s, cfg)[0] for name, d in corpora.items()
             for s in cfg.seeds}
    random_k = max(_sizes(cfg.random_per_class, cfg), default=0)
    vectors = {
        FROZEN: _Vectors(encoders[FROZEN], [t for d in [*tests.values(), *pools.values()]
                                            for t in d.texts], progress),
        RANDOM_FROZEN: _Vectors(encoders[RANDOM_FROZEN], tests[cfg.dataset].texts + [
            t for s in cfg.seeds for t in _split(corpora[cfg.dataset], random_k, s, cfg)[0].texts
        ] if random_k else [], progress),
    }
    timer.lap("embed")
    res.artifacts["tests"] = tests
    res.artifacts["test"] = tests[cfg.dataset]

    probes = _curve(res, cfg, corpora[cfg.dataset], vectors, progress)
    timer.lap("curve: linear arms")
    _trained(res, cfg, corpora[cfg.dataset], encoders, probes, progress)
    timer.lap("curve + sweep: trained encoders")
    _shift(res, cfg, corpora, vectors[FROZEN])
    timer.lap("domain shift")
    return res


def _add(res: Results, common: dict, method: str, accuracy: float, pred: torch.Tensor,
         seconds: float, y: torch.Tensor, **extra) -> None:
    """One record, with its per-text outcomes on the fixed test set ``y`` (for the judge), and
    its test predictions (for the mistake list)."""
    correct = (torch.as_tensor(pred).cpu() == torch.as_tensor(y).cpu()).int().tolist()
    res.records.append({**common, "method": method, "test_accuracy": round(accuracy, 4),
                        "seconds": round(seconds, 3), "item_correct": correct,
                        "test_set": "fixed", **extra})
    if common["part"] == CURVE:
        res.artifacts["preds"][(method, common["labels_per_class"], common["seed"])] = pred


def _curve(res: Results, cfg: TextTransferConfig, data: text.TextData,
           vectors: dict[str, _Vectors], progress: bool) -> dict:
    """The linear arms over the whole curve; returns the frozen probes (LP-FT's heads)."""
    test, probes = res.artifacts["test"], {}
    runs = [(k, s) for k in sorted(cfg.per_class) for s in cfg.seeds]
    for k, seed in tqdm(runs, desc="text-transfer: linear arms", disable=not progress):
        train, _ = _split(data, k, seed, cfg)
        common = {"part": CURVE, "dataset": cfg.dataset, "labels_per_class": k, "seed": seed,
                  "n_train": len(train), "n_test": len(test)}
        r = text.tfidf_baseline(train, test)
        _add(res, common, TFIDF, r.accuracy, r.pred, r.seconds, test.y, C=r.C)
        for arm, vec in vectors.items():
            if arm == RANDOM_FROZEN and k not in _sizes(cfg.random_per_class, cfg):
                continue
            r = text.probe(vec(train), train.y, vec(test), test.y)
            _add(res, common, arm, r.accuracy, r.pred, r.seconds + vec.per_text * len(train),
                 test.y, C=r.C)
            if arm == FROZEN:
                probes[(k, seed)] = r
    return probes


def _trained(res: Results, cfg: TextTransferConfig, data: text.TextData, encoders: dict,
             probes: dict, progress: bool) -> None:
    """LP-FT and the random-weight encoder on the curve's ``tuned_per_class`` sizes, and LP-FT
    over ``sweep_lrs`` at ``sweep_per_class``; a run both parts need is trained once. Every
    sweep run is also scored on its seed's validation texts (``val_accuracy``): the rate called
    best is chosen on them."""
    test, tuned = res.artifacts["test"], _sizes(cfg.tuned_per_class, cfg)
    jobs = [(k, s, cfg.tune.lr) for k in tuned for s in cfg.seeds]
    jobs += [(cfg.sweep_per_class, s, lr) for lr in cfg.sweep_lrs for s in cfg.seeds
             if (cfg.sweep_per_class, s, lr) not in jobs]
    for k, seed, lr in tqdm(jobs, desc="text-transfer: fine-tuned encoders",
                            disable=not progress):
        train, val = train_val_split(data, k, cfg.val_per_class, seed, cfg.test_per_class)
        common = {"dataset": cfg.dataset, "labels_per_class": k, "seed": seed,
                  "n_train": len(train), "n_test": len(test)}
        head = probes[(k, seed)]
        r = text.train_encoder(encoders[FROZEN], train, test, replace(cfg.tune, lr=lr), seed,
                               head=text.head_from_probe(head))
        extra = {"lr": lr, "steps": r.steps, "epochs": r.epochs,
                 "train_accuracy": round(r.train_accuracy, 4),
                 "probe_accuracy": round(head.accuracy, 4)}
        sweep = k == cfg.sweep_per_class and lr in cfg.sweep_lrs
        if sweep:
            extra["val_accuracy"] = round(val_accuracy(r.model, val, cfg.tune.max_length), 4)
            extra["n_val"] = len(val)
        parts = ([CURVE] if k in tuned and lr == cfg.tune.lr else []) + ([SWEEP] if sweep else [])
        for part in parts:
            _add(res, {"part": part, **common}, FINETUNED, r.accuracy, r.pred,
                 r.seconds + head.seconds, test.y, **extra)
    for k in tuned:  # the architecture from random weights, its rate chosen on validation
        lr, val_acc, runs = from_scratch(encoders[RANDOM_FROZEN], data, k, cfg.seeds, cfg.tune,
                                         cfg.scratch_lrs, cfg.scratch_max_steps,
                                         cfg.val_per_class, cfg.test_per_class, progress)
        for seed, (r, train, n_val) in runs.items():
            pred = predict(r.model, test, cfg.tune.max_length)
            _add(res, {"part": CURVE, "dataset": cfg.dataset, "labels_per_class": k,
                       "seed": seed, "n_train": len(train), "n_test": len(test)},
                 RANDOM_TRAINED, (pred == test.y).float().mean().item(), pred, r.seconds,
                 test.y, lr=lr, steps=r.steps, epochs=r.epochs, max_steps=cfg.scratch_max_steps,
                 train_accuracy=round(r.train_accuracy, 4), fitted=r.fitted, n_val=n_val,
                 lr_sweep={f"{a:g}": round(b, 4) for a, b in val_acc.items()})


def _shift(res: Results, cfg: TextTransferConfig, corpora: dict[str, text.TextData],
           vec: _Vectors) -> None:
    """TF-IDF and the frozen probe trained on one corpus and tested on the other, with and
    without a few target texts, and trained on the target alone (few and many)."""
    tests = res.artifacts["tests"]
    n_src, n_tgt = cfg.shift_source_per_class, cfg.shift_target_per_class
    for source, target in ((a, b) for a in corpora for b in corpora if a != b):
        for seed in cfg.seeds:
            src = _split(corpora[source], n_src, seed, cfg)[0]
            few = _split(corpora[target], n_tgt, seed, cfg)[0]
            sets = {SOURCE: src, MIXED: _concat(src, few), TARGET_FEW: few,
                    TARGET: _split(corpora[target], n_src, seed, cfg)[0]}
            test = tests[target]
            for condition, train in sets.items():
                common = {"part": SHIFT, "dataset": target, "train_on": source if condition ==
                          SOURCE else target if condition != MIXED else f"{source}+{target}",
                          "test_on": target, "source": source, "condition": condition,
                          "source_per_class": n_src if condition in (SOURCE, MIXED) else 0,
                          "target_per_class": {SOURCE: 0, MIXED: n_tgt, TARGET_FEW: n_tgt,
                                               TARGET: n_src}[condition],
                          "labels_per_class": len(train) // 2, "seed": seed,
                          "n_train": len(train), "n_test": len(test)}
                r = text.tfidf_baseline(train, test)
                _add(res, common, TFIDF, r.accuracy, r.pred, r.seconds, test.y, C=r.C)
                r = text.probe(vec(train), train.y, vec(test), test.y)
                _add(res, common, FROZEN, r.accuracy, r.pred, r.seconds, test.y, C=r.C)


def _concat(a: text.TextData, b: text.TextData) -> text.TextData:
    return text.TextData(a.texts + b.texts, torch.cat([a.y, b.y]), a.classes, f"{a.name}+{b.name}")


# ---------------------------------------------------------------------------------------------
# Tables and findings: computed from the records, every verdict from the one judge
# ---------------------------------------------------------------------------------------------
def _acc(records: list[dict], method: str, k: int, part: str = CURVE, **where) -> PerSeed:
    """Seed -> accuracy of ``method`` at ``k`` per class in ``part`` (and the ``where`` fields),
    with the per-text outcomes where the records keep them (:func:`tlcourse.stats.by_seed`)."""
    return by_seed([r for r in records if r.get("part", CURVE) == part], "test_accuracy",
                   method=method, labels_per_class=k, **where)


def _judged(a: PerSeed, b: PerSeed) -> Verdict | None:
    """The judge on ``a - b`` over the seeds both ran, or None when they share none."""
    return judge(a, b) if set(a) & set(b) else None


def verdict(records: list[dict], a: str, b: str, k: int) -> Verdict | None:
    """Learning curve: the judge's verdict on arm ``a`` minus arm ``b`` at ``k`` texts per class
    (paired by seed, the fixed test texts counted), or None when they share no seed."""
    return _judged(_acc(records, a, k), _acc(records, b, k))


def _cell(values: PerSeed) -> str:
    """An arm's mean accuracy and its 95 % interval, for a table: '71.0 % (66.1-75.9)'."""
    if not values:
        return "-"
    m, low, high = interval(values)
    if math.isnan(low):
        return f"{100 * m:.1f} % (1 seed)"
    return f"{100 * m:.1f} % ({100 * low:.1f}-{100 * high:.1f})"


def table(records: list[dict]) -> list[dict]:
    """The learning-curve table: one row per size, each arm's mean and 95 % interval over seeds
    (the fixed test texts counted; blank if not run)."""
    ks = sorted({r["labels_per_class"] for r in records if r.get("part", CURVE) == CURVE})
    return [{"per class": k, **{NAMES[m]: _cell(_acc(records, m, k)) for m in ARMS}}
            for k in ks]


def _sweep(records: list[dict]) -> dict[float, PerSeed]:
    """Learning rate -> seed -> LP-FT accuracy in the sweep (with per-text outcomes)."""
    sweep = [r for r in records if r.get("part") == SWEEP]
    return {lr: by_seed(sweep, "test_accuracy", lr=lr) for lr in sorted({r["lr"] for r in sweep})}


def _sweep_probe(records: list[dict]) -> PerSeed:
    """Seed -> accuracy of the probe each sweep run started from: the learning curve's frozen
    probe at the sweep's size (the same head, so its per-text outcomes pair), or, in records
    without it, the ``probe_accuracy`` the sweep records carry."""
    sweep = [r for r in records if r.get("part") == SWEEP]
    if not sweep:
        return PerSeed()
    probe = _acc(records, FROZEN, sweep[0]["labels_per_class"])
    return probe if probe else PerSeed({r["seed"]: r["probe_accuracy"] for r in sweep})


def sweep_gaps(records: list[dict], lr: float) -> PerSeed:
    """LP-FT at rate ``lr`` minus the probe it started from, per seed (:func:`stats.paired_gaps`
    with the paired per-text differences)."""
    return paired_gaps(_sweep(records).get(lr, PerSeed()), _sweep_probe(records))


def best_rate(records: list[dict]) -> float:
    """The sweep's rate with the highest mean *validation* accuracy over seeds (each seed's
    validation texts come from its training pool; the test texts never choose).

    Raises:
        ValueError: records without ``val_accuracy`` (made before the choice moved to
            validation): run the experiment again.
    """
    sweep = [r for r in records if r.get("part") == SWEEP]
    if not sweep or any("val_accuracy" not in r for r in sweep):
        raise ValueError("the sweep's records carry no validation accuracy, so no rate can be "
                         "chosen without looking at the test texts: run text-transfer again")
    return _chosen(sweep, sorted({r["lr"] for r in sweep}))


def _chosen(sweep: list[dict], rates: list[float]) -> float:
    """Of ``rates``, the one with the highest mean validation accuracy over seeds."""
    val = {lr: by_seed(sweep, "val_accuracy", lr=lr) for lr in rates}
    return max(rates, key=lambda lr: statistics.fmean(val[lr].values()))


def sweep_table(records: list[dict]) -> list[dict]:
    """One row per rate: LP-FT accuracy and the judge's verdict on its change vs the probe it
    started from."""
    probe = _sweep_probe(records)
    rows = [{"rate": "probe (no fine-tuning)", "accuracy": _cell(probe), "vs the probe": "-",
             "in BERT's range": "-"}]
    for lr, accs in _sweep(records).items():
        v = _judged(accs, probe)
        rows.append({"rate": f"{lr:g}", "accuracy": _cell(accs),
                     "vs the probe": f"{100 * v.gap:+.1f} points: {v.word}" if v else "-",
                     "in BERT's range": "yes" if BERT_RATES[0] <= lr <= BERT_RATES[1] else "no"})
    return rows


def _shift_acc(records: list[dict], method: str, target: str, condition: str) -> PerSeed:
    return by_seed([r for r in records if r.get("part") == SHIFT], "test_accuracy",
                   method=method, test_on=target, condition=condition)


def shift_verdict(records: list[dict], method: str, target: str, a: str, b: str
                  ) -> Verdict | None:
    """Domain shift: the judge on the accuracy on ``target`` of ``method`` trained as condition
    ``a`` minus as condition ``b`` (``"source"``, ``"source+target"``, ``"target-few"``,
    ``"target"``)."""
    return _judged(_shift_acc(records, method, target, a), _shift_acc(records, method, target, b))


def _shift_names(records: list[dict]) -> tuple[dict[str, str], list[str]]:
    rs = [r for r in records if r.get("part") == SHIFT]
    if not rs:
        return {}, []
    n_src, n_tgt = max(r["source_per_class"] for r in rs), max(
        r["target_per_class"] for r in rs if r["condition"] == TARGET_FEW)
    names = {SOURCE: f"{n_src}/class of the other corpus",
             MIXED: f"{n_src}/class of the other corpus + {n_tgt}/class of the target",
             TARGET_FEW: f"{n_tgt}/class of the target only",
             TARGET: f"{n_src}/class of the target (no shift)"}
    return names, list(dict.fromkeys(r["test_on"] for r in rs))


def shift_table(records: list[dict]) -> list[dict]:
    """The domain-shift table: one row per (test corpus, training set), each method's mean
    accuracy and 95 % interval."""
    names, targets = _shift_names(records)
    return [{"test on": t, "train on": names[c],
             **{NAMES[m]: _cell(_shift_acc(records, m, t, c)) for m in (TFIDF, FROZEN)}}
            for t in targets for c in (TARGET, SOURCE, MIXED, TARGET_FEW)]


def _said(v: Verdict | None, a: str, b: str) -> str:
    return v.text(a, b, "test texts") if v else f"{a} and {b} share no seed"


def findings(records: list[dict]) -> list[str]:
    """Sentences on claim 13 computed from ``records`` (one run of ``text-transfer``)."""
    return curve_findings(records) + sweep_findings(records) + shift_findings(records)


def curve_findings(records: list[dict]) -> list[str]:
    """The learning curve: each arm vs its comparison, per size, from the judge. The encoder
    trained from random weights is judged only where it ended above chance (50 %); its
    sentence says how it was trained and whether it fitted its training texts."""
    curve = [r for r in records if r.get("part", CURVE) == CURVE]
    first = curve[0]
    ks = sorted({r["labels_per_class"] for r in curve})
    out = [(f"{first['dataset']}, {first['n_test']:,} test texts, half of each class (chance "
            f"50 %), the same for every arm, size and seed.")]
    at_chance = {k for k in ks if (a := _acc(curve, RANDOM_TRAINED, k))
                 and statistics.fmean(a.values()) <= 0.5}
    for a, b in ((FROZEN, TFIDF), (FROZEN, RANDOM_FROZEN), (FINETUNED, FROZEN),
                 (FINETUNED, RANDOM_TRAINED), (RANDOM_TRAINED, TFIDF)):
        parts = [f"{k}/class: {v.text(NAMES[a], NAMES[b], 'test texts')}"
                 for k in ks if (v := verdict(curve, a, b, k)) is not None
                 and not (RANDOM_TRAINED in (a, b) and k in at_chance)]
        if parts:
            out.append("; ".join(parts) + ".")
    steps: dict[int, int] = {}  # the fine-tuned arm's steps, per size
    for r in (r for r in curve if r["method"] == FINETUNED and "steps" in r):
        steps[r["labels_per_class"]] = max(steps.get(r["labels_per_class"], 0), r["steps"])
    return out + scratch_findings([r for r in curve if r["method"] == RANDOM_TRAINED],
                                  NAMES[RANDOM_TRAINED], steps, at_chance)


def sweep_findings(records: list[dict]) -> list[str]:
    """The rate sweep: each rate vs the probe it started from, and which rate did best."""
    sweep, probe = _sweep(records), _sweep_probe(records)
    if not sweep:
        return []
    k = next(r["labels_per_class"] for r in records if r.get("part") == SWEEP)
    parts = []
    for lr in sweep:
        where = " (BERT's range)" if BERT_RATES[0] <= lr <= BERT_RATES[1] else ""
        parts.append(f"at {lr:g}{where}, "
                     + _said(_judged(sweep[lr], probe), "LP-FT", "the probe it started from"))
    best = best_rate(records)
    inside = [lr for lr in sweep if BERT_RATES[0] <= lr <= BERT_RATES[1]]
    val = [r for r in records if r.get("part") == SWEEP and r["lr"] == best]
    said = (f"The rate chosen on validation texts ({val[0]['n_val'] // 2} per class of each "
            f"seed's training pool, validation accuracy "
            f"{100 * statistics.fmean(r['val_accuracy'] for r in val):.0f} %) was {best:g}, "
            + ("inside" if best in inside else "outside") + f" BERT's recommended "
            f"{BERT_RATES[0]:g}..{BERT_RATES[1]:g}; on the test texts it scored {_cell(sweep[best])}")
    if inside and best not in inside:  # does it beat BERT's rate? the judge says, on test
        bert = _chosen([r for r in records if r.get("part") == SWEEP], inside)
        said += ": " + _said(_judged(sweep[best], sweep[bert]), f"LP-FT at {best:g}",
                             f"at {bert:g}")
    return [f"LP-FT at {k}/class, the frozen probe as the head: " + "; ".join(parts) + ".",
            said + "."]


def shift_findings(records: list[dict]) -> list[str]:
    """Domain shift: what the shift costs each method, and what a few target labels buy."""
    names, targets = _shift_names(records)
    out = []
    for t in targets:
        src = next(r["source"] for r in records if r.get("part") == SHIFT and r["test_on"] == t)
        cost = "; ".join(f"{NAMES[m]}: " + _said(shift_verdict(records, m, t, TARGET, SOURCE),
                                                 f"trained on {t}", f"trained on {src}")
                         for m in (TFIDF, FROZEN))
        n = names[TARGET].split("/")[0]
        out.append(f"Tested on {t}, {n} labelled texts per class of {t} vs of {src} (no shift "
                   f"vs shift): {cost}.")
        out.append(f"Tested on {t}, trained on {src}: " + _said(_judged(
            _shift_acc(records, FROZEN, t, SOURCE), _shift_acc(records, TFIDF, t, SOURCE)),
            NAMES[FROZEN], NAMES[TFIDF]) + ".")
        few = "; ".join(f"{NAMES[m]}: " + _said(
            shift_verdict(records, m, t, MIXED, SOURCE), "with them", "without")
            + ", and " + _said(shift_verdict(records, m, t, MIXED, TARGET_FEW),
                               "the mix", "the target texts alone")
            for m in (TFIDF, FROZEN))
        out.append(f"Adding {names[MIXED].split(' + ')[1]} to the {src} texts: {few}.")
    return out
