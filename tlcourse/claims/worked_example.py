"""Chapter 0's worked example of the verdict rule: the cheapest comparison the course runs.

Two heads trained on the same frozen ImageNet Lite0 features of the photos (computed once and
cached): a linear head and a small MLP head (one hidden layer), the same recipe otherwise
(:data:`tlcourse.features.HEAD_CONFIG`). Each seed draws other training photos (3 per class)
from a fixed pool and other head weights; every seed is scored on the same test photos (the ones
outside the pool), so the judge's interval counts both the seeds and the test photos. A head on
cached features trains in a fraction of a second, so 20 seeds take seconds; the run is stored in
the results cache like any experiment's.

Example:
    >>> records = run()                                        # doctest: +SKIP
    >>> judged(records).verdict.word                           # doctest: +SKIP
    'inconclusive at 20 seeds'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .. import stats

ARMS = {"linear-head": 0, "mlp-head": 256}  # method -> hidden units (0: linear)
NAMES = {"linear-head": "the linear head", "mlp-head": "the MLP head"}
A, B = "mlp-head", "linear-head"  # the gap is A - B
EXPERIMENT = "judge-example"  # its name in the results cache (not a registered experiment)


@dataclass(frozen=True)
class ExampleConfig:
    """Settings of the worked example (one profile: it is cheap everywhere)."""

    image_size: int = 96  # Lite0 input side, as in chapter 2's quick profile
    labels_per_class: int = 3  # training photos per class, drawn anew each seed
    pool_per_class: int = 8  # photos per class the draws come from; the rest is the test set
    seeds: tuple[int, ...] = tuple(range(20))  # heads cost milliseconds: many seeds


def run(seeds: int | Sequence[int] = 20, progress: bool = False) -> list[dict]:
    """The example's records (one per head and seed), from the results cache when stored.

    Args:
        seeds: how many seeds (0 .. N-1), or which.
        progress: show a progress bar over the seeds.

    Raises:
        ValueError: fewer than one seed.
    """
    import torch

    from .. import cache
    from ..experiments import Results
    from ..train import get_device

    chosen = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    if not chosen:
        raise ValueError(f"seeds={seeds!r}: give 1 or more seeds (20 decide more than 3)")
    cfg = ExampleConfig(seeds=chosen)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a head is tiny: a second thread only adds waiting on a busy CPU
    try:
        key = cache.results_key(EXPERIMENT, "quick", chosen, str(get_device()))
        hit = cache.load_results(key, any_threads=True) if cache.enabled() else None
        if hit is not None:
            return hit.records
        res = Results(EXPERIMENT, "quick", asdict(cfg), records=_train(cfg, progress))
        if cache.enabled():
            cache.save_results(key, res)
        return res.records
    finally:
        torch.set_num_threads(threads)


def _train(cfg: ExampleConfig, progress: bool) -> list[dict]:
    from dataclasses import replace

    from tqdm.auto import tqdm

    from ..backbones import create_backbone
    from ..data import few_shot_split, load_dataset, sample_per_class
    from ..features import HEAD_CONFIG, extract_features, train_head
    from ..train import evaluate

    photos = load_dataset("photo")
    net = create_backbone("lite0-imagenet", len(photos.classes),
                          input_size=cfg.image_size).freeze(0)
    pool, test = few_shot_split(extract_features(net, photos), cfg.pool_per_class, seed=0)
    records = []
    for seed in tqdm(cfg.seeds, desc="heads", disable=not progress):
        train = sample_per_class(pool, cfg.labels_per_class, seed)
        for method, hidden in ARMS.items():
            head, _ = train_head(train, replace(HEAD_CONFIG, seed=seed), hidden=hidden, seed=seed)
            ev = evaluate(head, test)
            records.append({
                "experiment": EXPERIMENT, "dataset": "photo", "method": method, "seed": seed,
                "labels_per_class": cfg.labels_per_class,
                "test_accuracy": round(ev["accuracy"], 4),
                "item_correct": (ev["preds"] == test.y).int().tolist(),
                "test_set": "fixed", "n_test": len(test)})
    return records


@dataclass(frozen=True)
class Judged:
    """The example judged: each arm's accuracy and the gap per seed, and the judge's verdict."""

    a: dict[int, float]  # seed -> the MLP head's test accuracy
    b: dict[int, float]  # seed -> the linear head's
    gaps: dict[int, float]  # seed -> a - b
    verdict: stats.Verdict
    sentence: str = field(default="")

    def table(self) -> str:
        """The per-seed numbers as a Markdown table (points for the gap)."""
        rows = [f"| {s} | {100 * self.a[s]:.1f} % | {100 * self.b[s]:.1f} % | "
                f"{_signed(self.gaps[s])} |" for s in self.gaps]
        return "\n".join(["| seed | MLP head | linear head | gap (points) |",
                          "|---:|---:|---:|---:|", *rows])

    def summary(self) -> str:
        """What the interval is made of, in words and numbers."""
        v = self.verdict
        parts = [f"mean gap {_signed(v.gap)} points over {v.n_seeds} seeds"]
        if math.isfinite(v.seed_sd):
            parts.append(f"seed-to-seed sd of the gaps {100 * v.seed_sd:.1f} points")
        if v.items_counted:
            parts.append(f"the {v.n_items} fixed test photos' own standard error "
                         f"{100 * v.item_se:.1f} points")
        if math.isfinite(v.low):
            parts.append(f"95 % interval {_signed(v.low)} to {_signed(v.high)} points")
        return "; ".join(parts) + f": **{v.word}**"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}".replace("-", "−")


def judged(records: list[dict], seeds: int | None = None) -> Judged:
    """The example's comparison (MLP head minus linear head), judged on its first ``seeds``
    seeds (None: all of them)."""
    a = stats.by_seed(records, "test_accuracy", method=A)
    b = stats.by_seed(records, "test_accuracy", method=B)
    if seeds is not None:
        keep = sorted(set(a) & set(b))[:seeds]
        a = _first(a, keep)
        b = _first(b, keep)
    gaps = stats.paired_gaps(a, b)
    v = stats.judge(gaps)
    return Judged(dict(a), dict(b), dict(gaps), v, v.text(NAMES[A], NAMES[B], "test photos"))


def _first(arm: stats.PerSeed, keep: list[int]) -> stats.PerSeed:
    return stats.PerSeed({s: arm[s] for s in keep}, {s: arm.outcomes[s] for s in keep
                                                    if s in arm.outcomes}, arm.test_set)


# ---------------------------------------------------------------------------------------------
# Chapter 0's exercise on the ledger: its text and its answer come from the learner's own rows
# ---------------------------------------------------------------------------------------------
def asked(rows: list) -> tuple[str, dict[int, int]]:
    """What the ledger exercise asks for: ``("inconclusive", {claim: seeds})`` when the ledger
    has inconclusive claims, else ``("any", {claim: seeds})`` over every row (a row not measured
    rests on 0 seeds). ``rows`` as :func:`tlcourse.claims.ledger` returns them."""
    seeds = {claim.number: finding.seeds for claim, finding in rows}
    open_ = {claim.number: finding.seeds for claim, finding in rows
             if finding.status.startswith(stats.INCONCLUSIVE)}
    return ("inconclusive", open_) if open_ else ("any", seeds)


def ledger_exercise(rows: list) -> str:
    """Exercise 1's text, written from the learner's ledger (Markdown)."""
    kind, claims = asked(rows)
    answer = "Set `claim` (its number) and `seeds` (the paired seeds its verdict rests on) below."
    if kind == "inconclusive":
        listed = ", ".join(map(str, claims))
        return (f"**Exercise 1.** Pick a claim that is *inconclusive* in your ledger (claim"
                f"{'s' if len(claims) > 1 else ''} {listed}). On how many paired seeds does its "
                "verdict rest, and what does its row say would decide it? Open its chapter: what "
                "would you change (seeds, test items, labels per class) to get there? " + answer)
    measured = sum(1 for _, f in rows if f.verdict is not None)
    state = ("every measured claim is decided" if measured else "nothing is measured yet")
    return ("**Exercise 1.** No claim in your ledger is *inconclusive* right now "
            f"({state}). Pick any claim and read its row: on how many paired seeds does its "
            "verdict rest (0 for a claim not measured yet)? For a decided one, would the worked "
            "example's first 3 seeds have decided a gap of that size and spread? " + answer)
