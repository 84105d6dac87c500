"""The claims ledger: every claim the course tests, where it is measured, and today's verdict.

The claims are data (``claims.yaml`` at the repository root, beside ``quizzes/``). Each names the
experiment that measures it and a verdict function here that reads that experiment's records.
A verdict is computed from sign and noise, never typed in, always from paired gaps per seed
oriented so that a positive gap is the direction the claim states:

* **holds** - the claim's direction, beyond seed noise (|mean gap| >= its sd, two seeds or more);
* **does not hold here** - the opposite direction, beyond seed noise;
* **within noise** - a gap smaller than its spread, a tie, or a single seed (no spread measured);
* **not measured yet** - no saved results of the experiment (or no experiment yet).

The size sits beside the verdict, worded by :func:`tlcourse.stats.compare` (sign first, then
size, then noise), next to the number the popular texts quote.

Example:
    >>> rows = ledger(load_claims(), collect(load_claims(), "quick"), "quick")  # doctest: +SKIP
    >>> print(to_text(rows))                                                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

import yaml

from .stats import compare, mean_sd, mean_sd_text

HOLDS, OPPOSITE, NOISE, MISSING = "holds", "does not hold here", "within noise", "not measured yet"
SOURCE_KINDS = ("exam guide", "study guide", "blog", "paper")


class ClaimsError(ValueError):
    """``claims.yaml`` is missing or malformed; the message lists every problem."""


@dataclass(frozen=True)
class Claim:
    """One claim of the ledger (the fields of ``claims.yaml``)."""

    number: int
    short: str  # a few words, for the table
    claim: str  # as the popular texts state it
    sources: tuple[str, ...]  # kinds of text: SOURCE_KINDS
    quoted: str | None = None  # the number the texts quote
    chapter: str | None = None
    notebook: str | None = None  # the chapter notebook's stem
    experiment: str | None = None  # registered experiment whose records decide it
    verdict: str | None = None  # name of the verdict function in this module
    test: str | None = None  # what exactly the verdict compares
    pending: str | None = None  # no experiment yet: what will measure it


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict and the numbers behind it."""

    status: str  # HOLDS, OPPOSITE, NOISE or MISSING
    measured: str  # sign, size and noise in words
    seeds: int = 0  # paired gaps (seeds) the status rests on
    versus_quote: str = ""  # where the measured size falls against the quoted number


# ---------------------------------------------------------------------------------------------
# The claims file
# ---------------------------------------------------------------------------------------------
def claims_path() -> Path:
    """``$TLCOURSE_CLAIMS``, else ``claims.yaml`` at the repository root."""
    env = os.environ.get("TLCOURSE_CLAIMS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "claims.yaml"


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """The claims in ``path`` (default :func:`claims_path`), checked.

    Raises:
        ClaimsError: the file is missing or a claim is malformed (every problem listed).

    Example:
        >>> [c.number for c in load_claims()][:3]
        [1, 2, 3]
    """
    return list(_load(str(Path(path) if path else claims_path())))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[Claim, ...]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClaimsError(f"{path}: not found; it ships at the repository root "
                          "(or set TLCOURSE_CLAIMS to its path)") from None
    except yaml.YAMLError as e:
        raise ClaimsError(f"{path}: not valid YAML ({e})") from None
    entries = raw.get("claims") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ClaimsError(f"{path}: expected a top-level 'claims:' list")
    claims, problems = [], []
    for i, e in enumerate(entries, 1):
        try:
            c = Claim(**{**e, "sources": tuple(e.get("sources") or ()),
                         "chapter": None if e.get("chapter") is None else str(e["chapter"])})
        except TypeError as err:  # a missing or unknown field
            problems.append(f"{path}: claim #{i}: {err}")
            continue
        problems += [f"{path}: claim {c.number}: {p}" for p in _problems(c)]
        claims.append(c)
    numbers = [c.number for c in claims]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"{path}: claims must be numbered 1, 2, 3 ... in order; got {numbers}")
    if problems:
        raise ClaimsError("\n".join(problems))
    return tuple(claims)


def _problems(c: Claim) -> list[str]:
    out = [f"unknown source kind {s!r}; valid: {list(SOURCE_KINDS)}"
           for s in c.sources if s not in SOURCE_KINDS]
    if c.experiment and c.verdict not in VERDICTS:
        out.append(f"unknown verdict function {c.verdict!r}; valid: {sorted(VERDICTS)}")
    if c.experiment and not (c.notebook and c.test):
        out.append("a measured claim needs 'notebook' and 'test'")
    if not c.experiment and not c.pending:
        out.append("a claim without an experiment needs 'pending' (what will measure it)")
    return out


def claim_numbers(path: str | Path | None = None) -> list[int]:
    """The numbers quiz questions may cite (``claims: [...]``).

    Example:
        >>> claim_numbers()[-1]
        15
    """
    return [c.number for c in load_claims(path)]


# ---------------------------------------------------------------------------------------------
# Sign and noise
# ---------------------------------------------------------------------------------------------
def judge(gaps: list[float]) -> str:
    """The status of paired gaps oriented in the claim's direction (positive = as claimed).

    Example:
        >>> judge([0.40, 0.44]), judge([-0.40, -0.44]), judge([0.02, -0.01]), judge([0.4])
        ('holds', 'does not hold here', 'within noise', 'within noise')
    """
    if not gaps:
        return MISSING
    m, s = mean_sd(gaps)
    if len(gaps) < 2 or round(abs(m) * 100, 1) == 0 or abs(m) < s:  # 0.0 points: a tie
        return NOISE
    return HOLDS if m > 0 else OPPOSITE


def _per_seed(records: list[dict], metric: str = "test_accuracy", **match) -> dict[int, float]:
    """Seed -> mean ``metric`` over the records matching every ``key=value``."""
    out: dict[int, list[float]] = {}
    for r in records:
        if all(r.get(k) == v for k, v in match.items()) and r.get(metric) is not None:
            out.setdefault(r["seed"], []).append(r[metric])
    return {s: statistics.fmean(v) for s, v in sorted(out.items())}


def _diff(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    """Per seed ``a - b``, over the seeds both have (rounded: 0.93 - 0.93 is a tie)."""
    return {s: round(a[s] - b[s], 6) for s in a if s in b}


def _gaps(a: dict[int, float], b: dict[int, float]) -> list[float]:
    return list(_diff(a, b).values())


def _pct(by_seed: dict[int, float], unit: str = "%") -> str:
    """'85 ± 3 %' (or '12.0 ± 1.5 points'); the mean alone for one seed."""
    return mean_sd_text(by_seed.values(), unit, digits=0 if unit == "%" else 1)


def _delta(gaps: list[float], up: str, down: str) -> str:
    """A change in words, sign first: '<up> by 4.1 ± 1.2 points (3 seeds)'; ``down`` if negative."""
    m, s = mean_sd(gaps)
    n = f"{len(gaps)} seed{'s' if len(gaps) != 1 else ''}"
    word, size = (up if m >= 0 else down), abs(m) * 100
    if round(size, 1) == 0:
        return f"no change ({n})"
    if len(gaps) < 2:
        return f"{word} by {size:.1f} points ({n}: no spread measured)"
    if abs(m) < s:
        return f"{word} by {size:.1f} points, within noise (± {s * 100:.1f}, {n})"
    return f"{word} by {size:.1f} ± {s * 100:.1f} points ({n})"


def _verdict(gaps: list[float], measured: str, versus: str = "") -> Verdict:
    if not gaps:
        return Verdict(MISSING, "the records hold no paired runs for this comparison")
    return Verdict(judge(gaps), measured, len(gaps), versus)


def _missing(why: str) -> Verdict:
    return Verdict(MISSING, why)


# ---------------------------------------------------------------------------------------------
# One verdict function per claim: records of the claim's experiment -> Verdict
# ---------------------------------------------------------------------------------------------
def pretrained_beats_scratch(records: list[dict]) -> Verdict:
    """Claim 1: frozen ImageNet features + linear head vs the better from-scratch network, on
    photos at the most labels per class measured."""
    from .experiments.scratch_vs_transfer import NAMES, SCRATCH

    photo = [r for r in records if r.get("dataset") == "photo"]
    if not photo:
        return _missing("no photo runs in the records")
    k = max(r["labels_per_class"] for r in photo)
    frozen = _per_seed(photo, method="imagenet-frozen", labels_per_class=k)
    scratch = {m: _per_seed(photo, method=m, labels_per_class=k) for m in SCRATCH}
    best = max((m for m in SCRATCH if scratch[m]), key=lambda m: mean_sd(scratch[m].values())[0])
    gaps = _gaps(frozen, scratch[best])
    m = mean_sd(gaps)[0] if gaps else 0.0
    where = ("the opposite of the quoted gain" if m < 0 else
             ("below" if m < 0.10 else "inside" if m <= 0.30 else "above")
             + " the quoted 10–30 range (read as points)")
    return _verdict(gaps, f"{compare(NAMES['imagenet-frozen'], NAMES[best], gaps)}, at {k} photos "
                          f"per class", where)


def late_layers_more_specific(records: list[dict]) -> Verdict:
    """Claim 2: specificity (BnB - AnB) when every stage is copied vs only the first."""
    depths = sorted({r["depth"] for r in records if r.get("method") == "BnB"})
    if len(depths) < 2:
        return _missing("the records need BnB and AnB at two depths or more")
    spec = {n: _diff(_per_seed(records, method="BnB", depth=n),
                     _per_seed(records, method="AnB", depth=n)) for n in (depths[0], depths[-1])}
    top, first = spec[depths[-1]], spec[depths[0]]
    gaps = _gaps(top, first)
    return _verdict(gaps, f"specificity (BnB − AnB) {_pct(first, 'points')} with {depths[0]} "
                          f"stage copied, {_pct(top, 'points')} with {depths[-1]}: "
                          + _delta(gaps, "larger at the top", "smaller at the top"))


def pretrained_backbone_matters(records: list[dict]) -> Verdict:
    """Claim 3: the recipe's linear head on ImageNet weights vs on random weights."""
    imagenet = _per_seed(records, part="heads", method="linear-head")
    random = _per_seed(records, part="heads", method="linear-head-random-weights")
    gaps = _gaps(imagenet, random)
    return _verdict(gaps, f"{compare('ImageNet weights', 'random weights', gaps)}, the same "
                          f"linear head on each ({_pct(imagenet)} vs {_pct(random)})")


def _largest_k(records: list[dict]) -> int | None:
    return max((r["labels_per_class"] for r in records if "labels_per_class" in r), default=None)


def finetuning_beats_probe(records: list[dict]) -> Verdict:
    """Claim 4: the top 2 stages fine-tuned after the head vs the linear probe."""
    from .experiments.fine_tuning import PROBE

    k = _largest_k(records)
    tuned = _per_seed(records, method="top-2-stages", labels_per_class=k)
    probe = _per_seed(records, method=PROBE, labels_per_class=k)
    gaps = _gaps(tuned, probe)
    return _verdict(gaps, f"{compare('fine-tuning the top 2 stages', 'the linear probe', gaps)}, "
                          f"at {k} photos per class")


def head_first_beats_random_head(records: list[dict]) -> Verdict:
    """Claim 5: LP-FT vs the same steps from a random head (head phase last)."""
    from .experiments.fine_tuning import LPFT, RANDOM_HEAD

    k = _largest_k(records)
    gaps = _gaps(_per_seed(records, method=LPFT, labels_per_class=k),
                 _per_seed(records, method=RANDOM_HEAD, labels_per_class=k))
    return _verdict(gaps, f"{compare('head first (LP-FT)', 'a random head', gaps)}, at {k} "
                          f"photos per class, the same steps at the same rate")


def _rate(lr: float) -> str:
    """1e-4, 3e-3: a learning rate as the texts write it."""
    return f"{lr:.0e}".replace("e-0", "e-").replace("e+0", "e")


def low_rate_beats_scratch_rate(records: list[dict]) -> Verdict:
    """Claim 6: mean accuracy at rates 10-100x below the from-scratch rate vs at it and above;
    the rate validation accuracy picks, against the quoted 10-100x."""
    from .methods import SCRATCH_CONFIG

    scratch = SCRATCH_CONFIG.lr
    rates = sorted({r["lr"] for r in records})
    low = [lr for lr in rates if scratch / 100 <= lr <= scratch / 10 * (1 + 1e-9)]
    high = [lr for lr in rates if lr >= scratch]
    if not low or not high:
        return _missing(f"the sweep needs rates in {_rate(scratch / 100)}-{_rate(scratch / 10)} "
                        f"and >= {_rate(scratch)}")
    a = _per_seed([r for r in records if r["lr"] in low])
    b = _per_seed([r for r in records if r["lr"] in high])
    gaps = _gaps(a, b)
    val = {lr: statistics.fmean(r["val_accuracy"] for r in records if r["lr"] == lr)
           for lr in rates}
    best = max(val, key=val.get)  # ties: the lowest rate
    ratio = scratch / best
    versus = (f"validation picked {_rate(best)}, " + (
        f"{ratio:.3g}× below the from-scratch {_rate(scratch)}: "
        + ("inside" if 10 <= ratio <= 100 else "outside") + " the quoted 10–100×"
        if ratio >= 1 else f"{1 / ratio:.3g}× above the from-scratch {_rate(scratch)}"))
    lo, hi = "/".join(map(_rate, low)), "/".join(map(_rate, high))
    said = compare(f"rate {lo} (10–100× below scratch's)", f"rate {hi} (scratch's and above)", gaps)
    return _verdict(gaps, said + ", mean test accuracy", versus)


def normalisation_matters(records: list[dict]) -> Verdict:
    """Claim 7: photos normalised as the weights were trained vs not normalised."""
    from .experiments.mistakes import CLAIMED_NORMALISATION_COST as QUOTED

    pre = [r for r in records
           if r.get("mistake") == "preprocessing" and r.get("dataset") == "photo"]
    gaps = _gaps(_per_seed(pre, correct=True), _per_seed(pre, variant="no normalisation"))
    m = mean_sd(gaps)[0] if gaps else 0.0
    versus = ("about" if abs(m - QUOTED) <= 0.05 else "less than" if m < QUOTED else "more than")
    return _verdict(gaps, compare("the as-trained normalisation", "no normalisation", gaps),
                    f"{versus} the quoted {QUOTED * 100:.0f} points")


def augmentation_helps_few_shot(records: list[dict]) -> Verdict:
    """Claim 8: augmented copies vs none at the fewest labels per class (the most: beside it)."""
    aug = [r for r in records if r.get("mistake") == "few-shot-augment"]
    if not aug:
        return _missing("no few-shot-augment runs in the records")
    ks = sorted({r["labels_per_class"] for r in aug})

    def gaps_at(k: int) -> list[float]:
        return _gaps(_per_seed(aug, variant="augmentation", labels_per_class=k),
                     _per_seed(aug, variant="no augmentation", labels_per_class=k))

    gaps = gaps_at(ks[0])
    said = {k: compare("augmentation", "no augmentation", gaps_at(k)) for k in (ks[0], ks[-1])}
    tail = f"; at {ks[-1]}: {said[ks[-1]]}" if len(ks) > 1 else ""
    return _verdict(gaps, f"at {ks[0]} photo{'s' if ks[0] != 1 else ''} per class: "
                          f"{said[ks[0]]}{tail}")


def weighting_fixes_imbalance(records: list[dict]) -> Verdict:
    """Claim 9: the minority class's recall with a weighted loss vs the plain loss."""
    imb = [r for r in records if r.get("mistake") == "imbalance"]
    plain = _per_seed(imb, "minority_recall", variant="plain loss")
    gaps = _gaps(_per_seed(imb, "minority_recall", variant="weighted loss"), plain)
    sampled = _gaps(_per_seed(imb, "minority_recall", variant="balanced sampling"), plain)
    tail = f"; {compare('balanced sampling', 'plain loss', sampled)}" if sampled else ""
    return _verdict(gaps, f"minority-class recall: {compare('weighted loss', 'plain loss', gaps)}"
                          + tail)


def early_stopping_helps(records: list[dict]) -> Verdict:
    """Claim 10: early stopping's kept epoch vs the last, test accuracy averaged over rates."""
    by_seed: dict[int, list[float]] = {}
    for r in records:
        by_seed.setdefault(r["seed"], []).append(r["early_stop_test_accuracy"] - r["test_accuracy"])
    gaps = [round(statistics.fmean(v), 6) for _, v in sorted(by_seed.items())]
    n = len({r["lr"] for r in records})
    return _verdict(gaps, f"{compare('early stopping', 'the last epoch', gaps)}, test accuracy "
                          f"averaged over {n} rates")


def few_labels_overfit(records: list[dict]) -> Verdict:
    """Claim 11: the frozen probe's train - test gap at the fewest vs the most labels per class."""
    from .experiments.learning_curve import FROZEN

    ks = sorted({r["labels_per_class"] for r in records if r.get("method") == FROZEN})
    if len(ks) < 2:
        return _missing("the records need the frozen arm at two sizes or more")
    gap = {k: _diff(_per_seed(records, "train_accuracy", method=FROZEN, labels_per_class=k),
                    _per_seed(records, method=FROZEN, labels_per_class=k)) for k in (ks[0], ks[-1])}
    gaps = _gaps(gap[ks[0]], gap[ks[-1]])
    return _verdict(gaps, f"frozen ImageNet features + linear head, train − test accuracy: "
                          f"{_pct(gap[ks[0]], 'points')} at {ks[0]} per class, "
                          f"{_pct(gap[ks[-1]], 'points')} at {ks[-1]}: "
                          + _delta(gaps, f"larger at {ks[0]}", f"smaller at {ks[0]}"))


def shift_costs_accuracy(records: list[dict]) -> Verdict:
    """Claim 12: a photo-trained head on photos vs on clip art."""
    base = {"study": "cross-domain", "source": "photo", "method": "source-only"}
    same = _per_seed(records, target="photo", **base)
    shifted = _per_seed(records, target="clipart", **base)
    gaps = _gaps(same, shifted)
    return _verdict(gaps, f"a head trained on photos scored {_pct(same)} on photos, "
                          f"{_pct(shifted)} on clip art: "
                          + _delta(gaps, "lower on clip art", "higher on clip art"))


def scratch_catches_up(records: list[dict]) -> Verdict:
    """Claim 15: scratch vs frozen ImageNet features at the most labels per class measured."""
    from .experiments.learning_curve import FROZEN, SCRATCH

    ks = sorted({r["labels_per_class"] for r in records if r.get("method") == SCRATCH})
    if not ks:
        return _missing("no scratch runs in the records")

    def gaps_at(k: int) -> list[float]:
        return _gaps(_per_seed(records, method=SCRATCH, labels_per_class=k),
                     _per_seed(records, method=FROZEN, labels_per_class=k))

    said = {k: compare("scratch", "frozen ImageNet features", gaps_at(k)) for k in ks}
    return _verdict(gaps_at(ks[-1]), f"at {ks[-1]} labels per class: {said[ks[-1]]}"
                    + (f"; at {ks[0]}: {said[ks[0]]}" if len(ks) > 1 else ""))


def larger_backbone_more_accurate(records: list[dict]) -> Verdict:
    """Claim 14: Lite2 vs Lite0, each at its own pretrained input size, same training photos;
    the speed it costs is stated with it."""
    size = {r["model"]: r for r in records if r.get("part") == "model"
            and r.get("size_setting") == "own"}
    if "lite0" not in size or "lite2" not in size:
        return _missing("no Lite0 and Lite2 runs in the records")
    big, small = size["lite2"], size["lite0"]
    gaps = _gaps(_per_seed(records, model="lite2", input_size=big["input_size"], part="accuracy"),
                 _per_seed(records, model="lite0", input_size=small["input_size"],
                           part="accuracy"))
    slower = small["images_per_second"] / big["images_per_second"]
    said = compare(f"Lite2 ({big['input_size']} px)", f"Lite0 ({small['input_size']} px)", gaps)
    return _verdict(gaps, f"{said}, frozen with a linear head; Lite2 ran {slower:.1f}x slower "
                          f"on this CPU",
                    "the speed half holds" if slower > 1 else "the speed half does not hold")


def pretrained_text_encoder_beats_scratch(records: list[dict]) -> Verdict:
    """Claim 13: frozen MiniLM + LR vs TF-IDF + LR (learned from the labels alone), 20 labelled
    tweets per class, same test tweets."""
    base = {"part": "curve", "labels_per_class": 20}
    frozen = _per_seed(records, method="minilm-frozen", **base)
    tfidf = _per_seed(records, method="tfidf", **base)
    gaps = _gaps(frozen, tfidf)
    return _verdict(gaps, f"at 20 labelled tweets per class, a frozen MiniLM sentence encoder + "
                          f"logistic regression scored {_pct(frozen)}, TF-IDF + logistic "
                          f"regression {_pct(tfidf)}: "
                          + _delta(gaps, "higher with the pretrained encoder",
                                   "lower with the pretrained encoder"))


VERDICTS: dict[str, Callable[[list[dict]], Verdict]] = {f.__name__: f for f in (
    pretrained_beats_scratch, late_layers_more_specific, pretrained_backbone_matters,
    finetuning_beats_probe, head_first_beats_random_head, low_rate_beats_scratch_rate,
    normalisation_matters, augmentation_helps_few_shot, weighting_fixes_imbalance,
    early_stopping_helps, few_labels_overfit, shift_costs_accuracy,
    pretrained_text_encoder_beats_scratch, larger_backbone_more_accurate, scratch_catches_up)}


# ---------------------------------------------------------------------------------------------
# The ledger: results from the cache (or run), a verdict per claim, Markdown / text / JSON
# ---------------------------------------------------------------------------------------------
def experiments_needed(claims: list[Claim]) -> list[str]:
    """The experiments the verdicts read, each once, in claim order."""
    return list(dict.fromkeys(c.experiment for c in claims if c.experiment))


def cached_records(name: str, profile: str) -> list[dict] | None:
    """The records of ``name``'s saved run for the current code and ``profile``, or None."""
    from . import cache
    from .experiments import cached_results

    if not cache.enabled():
        return None
    hit = cached_results(name, profile, any_threads=True)  # the workers run on one thread
    return None if hit is None or hit.smoke else hit.records


def default_jobs() -> int:
    """Experiments run at once by :func:`collect`: one per CPU core this process may use (at most
    4), each on one thread (small networks barely use a second thread); one on a GPU."""
    import torch

    if torch.cuda.is_available():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4))


def _run(name: str, profile: str, progress: bool, threads: int | None) -> tuple[str, list[dict], float]:
    """Run (or reuse) one experiment; in a worker process ``threads`` caps torch's threads."""
    from .experiments import run_experiment

    if threads:
        import torch

        torch.set_num_threads(threads)
    res = run_experiment(name, profile=profile, progress=progress)
    return name, res.records, res.seconds


_START_METHOD = "spawn"  # fork after torch has started its thread pools can deadlock


def _run_all(names: list[str], profile: str, progress: bool, jobs: int,
             log: TextIO) -> Iterator[tuple[str, list[dict], float]]:
    """Each experiment's ``(name, records, seconds)``, in the order they finish."""
    if jobs <= 1 or len(names) <= 1:
        for name in names:
            print(f"running {name} ({profile} profile) ...", file=log, flush=True)
            done = _run(name, profile, progress, None)
            print(f"  {name}: {done[2]:.0f} s", file=log, flush=True)
            yield done
        return
    jobs = min(jobs, len(names))
    print(f"running {', '.join(names)} ({profile} profile), {jobs} at a time, one thread each ...",
          file=log, flush=True)
    ctx = multiprocessing.get_context(_START_METHOD)
    with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        for future in as_completed([pool.submit(_run, n, profile, False, 1) for n in names]):
            done = future.result()
            print(f"  {done[0]}: {done[2]:.0f} s", file=log, flush=True)
            yield done


def collect(claims: list[Claim], profile: str = "quick", run: bool = False, progress: bool = True,
            jobs: int | None = None, log: TextIO | None = None) -> dict[str, list[dict] | None]:
    """Experiment -> records: saved runs, and with ``run`` the missing ones computed (and saved)
    through :func:`tlcourse.experiments.run_experiment`, ``jobs`` (default
    :func:`default_jobs`) at a time in worker processes, progress lines to ``log`` (default
    stderr); None for a missing one otherwise.

    Example:
        >>> records = collect(load_claims(), "quick")          # doctest: +SKIP
        >>> records["data-scaling"] is None                    # doctest: +SKIP
        True
    """
    out = {name: cached_records(name, profile) for name in experiments_needed(claims)}
    missing = [name for name, records in out.items() if records is None] if run else []
    if missing and jobs is None:
        jobs = default_jobs()
    for name, records, _ in _run_all(missing, profile, progress, jobs or 1, log or sys.stderr):
        out[name] = records
    return out


def verdict_of(claim: Claim, records: dict[str, list[dict] | None],
               profile: str = "quick") -> Verdict:
    """``claim``'s verdict from the records of its experiment (``not measured yet`` without)."""
    if not claim.experiment:
        return _missing(f"pending: {claim.pending}")
    recs = records.get(claim.experiment)
    if not recs:
        return _missing(f"run: tlcourse run {claim.experiment} --profile {profile}")
    try:
        return VERDICTS[claim.verdict](recs)
    except (KeyError, ValueError) as e:  # records of another shape: say so, do not guess
        return _missing(f"the records of {claim.experiment} lack {e}; rerun: "
                        f"tlcourse run {claim.experiment} --profile {profile} --fresh")


def ledger(claims: list[Claim], records: dict[str, list[dict] | None],
           profile: str = "quick") -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict.

    Example:
        >>> rows = ledger(load_claims(), {"feature-extraction": records})  # doctest: +SKIP
        >>> rows[2][1].status                                              # doctest: +SKIP
        'holds'
    """
    return [(c, verdict_of(c, records, profile)) for c in claims]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _status(v: Verdict) -> str:
    return v.status + (" (1 seed)" if v.seeds == 1 else "")


def _measured(v: Verdict) -> str:
    """What was measured, beside the quote; for a missing one, how to measure it."""
    if v.status == MISSING:
        return v.measured
    return "measured: " + v.measured + (f" — {v.versus_quote}" if v.versus_quote else "")


def _to_fill(rows: list[tuple[Claim, Verdict]]) -> str:
    n = sum(v.status == MISSING and c.experiment is not None for c, v in rows)
    return (f"{n} claim{'s' if n != 1 else ''} not measured yet for want of saved results: "
            "`tlcourse claims --run` runs what they need." if n else "")


def to_markdown(rows: list[tuple[Claim, Verdict]], links: str = "notebooks/") -> str:
    """A Markdown table; notebook links are ``links + stem + ".ipynb"``."""
    lines = ["| # | claim | verdict | quoted · measured | measured in |", "|---|---|---|---|---|"]
    for c, v in rows:
        quoted = f"quoted {c.quoted} · " if c.quoted else ""
        where = (f"[ch. {c.chapter}]({links}{c.notebook}.ipynb) · `{c.experiment}`"
                 if c.experiment else "—")
        lines.append(f"| {c.number} | {_cell(c.short)} | **{_status(v)}** | "
                     f"{_cell(quoted + _measured(v))} | {where} |")
    fill = _to_fill(rows)
    return "\n".join(lines) + (f"\n\n{fill}" if fill else "")


def to_text(rows: list[tuple[Claim, Verdict]]) -> str:
    """The ledger for a terminal: one block per claim."""
    out = []
    for c, v in rows:
        out.append(f"{c.number:2d}. {c.short}: {_status(v).upper()}")
        if c.quoted:
            out.append(f"    quoted {c.quoted}")
        out.append(f"    {_measured(v)}")
        if c.experiment:
            out.append(f"    in {c.experiment}, chapter {c.chapter} (notebooks/{c.notebook}.ipynb)")
    fill = _to_fill(rows)
    return "\n".join(out) + (f"\n\n{fill.replace('`', '')}" if fill else "")


def to_json(rows: list[tuple[Claim, Verdict]], profile: str = "quick") -> dict:
    """The ledger as a JSON-ready dict: the profile and one entry per claim."""
    out = []
    for c, v in rows:
        entry = {**asdict(c), "sources": list(c.sources)}
        entry["verdict_function"] = entry.pop("verdict")
        out.append({**entry, **asdict(v)})
    return {"profile": profile, "claims": out}


def write(rows: list[tuple[Claim, Verdict]], out: str | Path, profile: str = "quick") -> list[Path]:
    """Write ``out`` as ``.md`` and ``.json`` (any suffix of ``out`` is replaced)."""
    base = Path(out)
    base = base.with_suffix("") if base.suffix in (".md", ".json") else base
    md, js = Path(f"{base}.md"), Path(f"{base}.json")
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(f"# Claims ledger ({profile} profile)\n\n{to_markdown(rows)}\n",
                  encoding="utf-8")
    js.write_text(json.dumps(to_json(rows, profile), indent=1, ensure_ascii=False),
                  encoding="utf-8")
    return [md, js]
