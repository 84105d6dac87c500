"""Mean, spread and verdicts over seeds, computed one way everywhere.

The spread is the *sample* standard deviation (``ddof = 1``): with the 2-5 seeds a CPU run
affords, the population formula understates it by up to 30 % (a factor sqrt((n-1)/n)). With a
single seed there is no spread to report, so it is NaN, never a reassuring 0.

**The judge.** :func:`judge` decides a paired comparison of two arms, a - b, from the seeds both
ran. Its 95 % interval is a t interval over seeds whose variance also counts the test items
when they are the same in every seed. Each seed's per-item outcomes pair into differences
d[s, i] = a - b in {-1, 0, +1} (McNemar's discordant pairs), a seeds x items table, and the
variance of the mean gap is estimated as in a two-way random-effects analysis:
var(per-seed gaps) / n + max(0, MS_items - MS_residual) / (n m), for n seeds and m items. The
first term is the seed-to-seed spread, which more seeds shrink; the second is the fixed test
set's own sampling error, which only more test items shrink (a seed-only t interval leaves it
out and decides too often). The half-width is sqrt(t^2 x seed term + z^2 x item term), with t
at n - 1 degrees of freedom (Banerjee's conservative rule for combining variances of different
degrees of freedom): the t interval over seeds where seeds dominate, the normal one where items
do, on the safe side in between (a Welch-Satterthwaite df decided 14 % of no-effect draws at 2
seeds there). On a test set redrawn each seed, every seed's gap already carries its own sample's
error, so the t interval over seeds counts both.
The verdict is *holds* when the interval lies above 0, *does not hold here* when below, and
*inconclusive at n seeds* otherwise, with the seeds (80 % power, from the measured spread) or
the test items that would likely decide a gap of the observed size. One seed never decides: the
item variance alone would leave out the training randomness only a second seed can measure.
With a ``margin`` the judge tests equivalence (TOST): *equivalent within the margin* when the
90 % interval lies inside (-margin, +margin), *worse* / *better* when it lies beyond the margin
on one side, each a one-sided test at 5 %. Calibration: simulated in ``tests/test_judge.py``.

Record fields the judge reads (experiments and the cache keep them):

* ``seed`` (int): the two arms of a comparison pair on it; one record per arm and seed.
* the metric, e.g. ``test_accuracy``: a fraction.
* ``item_correct`` (optional): the per-item outcomes behind ``test_accuracy``, a list of 0/1
  (or bools), one per test item, in one fixed item order: the same for both arms of a seed, and
  for every seed when the test set is fixed. Its mean is ``test_accuracy`` (up to rounding). A
  value that is not a list is not read. (Not ``correct``: chapter 3b's records use
  ``correct: true`` to flag the correct variant, and the claims ledger filters on it.)
* ``test_set`` (optional): ``"fixed"`` (the same items every seed) or ``"resampled"`` (drawn
  anew each seed). Without it, equal-length lists are read as fixed: on a redrawn set the item
  term then estimates about 0, so that reading costs little, while the other could mislead.

Example:
    >>> mean_sd([0.70, 0.74])
    (0.72, 0.028284271247461926)
    >>> judge([0.40, 0.44, 0.41]).text("ImageNet features", "scratch")
    'ImageNet features beat scratch by 42 points (95 % interval 36 to 47; 3 seeds)'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

#: A baseline fits its training set when its training accuracy is at least FITTED. Not 1.0: on
#: the smallest training sets (30 photos) one mislabelled or duplicated photo must not turn a
#: fitted baseline into an "unfitted" one; an under-trained one sits far lower.
FITTED = 0.95

HOLDS, OPPOSITE, INCONCLUSIVE = "holds", "does not hold here", "inconclusive"
EQUIVALENT, WORSE, BETTER = "equivalent within the margin", "worse", "better"
ITEMS = {"test_accuracy": "item_correct"}  # metric -> the record field of its per-item outcomes
TEST_SETS = ("fixed", "resampled")
POWER = 0.80  # "would likely decide": the seeds or items at which 80 % of reruns would decide
MAX_SEEDS = 200  # beyond this, "more than 200 seeds" is all a plan needs to know
_ROUNDING = 5e-4  # records round accuracies to 4 places (3 tolerated)


def fitted(train_accuracy: float) -> bool:
    """Whether a baseline fits its training set (training accuracy >= :data:`FITTED`)."""
    return train_accuracy >= FITTED


def sd(values: Iterable[float]) -> float:
    """Sample standard deviation (ddof = 1); NaN for fewer than two values."""
    v = list(values)
    return statistics.stdev(v) if len(v) >= 2 else math.nan


def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    """``(mean, sample sd)`` of ``values``; sd is NaN for a single value."""
    v = list(values)
    return statistics.fmean(v), sd(v)


def mean_sd_text(values: Iterable[float], unit: str = "%", digits: int = 1) -> str:
    """Fractions as '85.1 ± 2.0 %' (mean ± sample sd, x100), or '85.1 %' for a single value:
    no spread is invented. ``unit="points"`` for gaps."""
    v = list(values)
    m, s = mean_sd(v)
    spread = f" ± {100 * s:.{digits}f}" if len(v) > 1 else ""
    return f"{100 * m:.{digits}f}{spread} {unit}"


def band(values: Iterable[float]) -> float:
    """Half-width of a ±1 sd band or error bar to *draw*: the sample sd, 0 for a single value
    (nothing drawn, rather than a NaN that hides the point)."""
    s = sd(values)
    return 0.0 if math.isnan(s) else s


# ---------------------------------------------------------------------------------------------
# Per-seed values and paired gaps
# ---------------------------------------------------------------------------------------------
class PerSeed(dict):
    """Seed -> value (or paired gap), in seed order. ``outcomes`` holds each seed's per-item
    outcomes (or paired differences) where the records carry them; ``test_set`` how the items
    were drawn ("fixed", "resampled" or None: not said)."""

    def __init__(self, values: Mapping[int, float] | Iterable = (),
                 outcomes: Mapping[int, tuple[int, ...]] | None = None,
                 test_set: str | None = None):
        super().__init__(values)
        self.outcomes = dict(outcomes or {})
        self.test_set = test_set


def by_seed(records: Iterable[dict], metric: str = "test_accuracy", /, **match) -> PerSeed:
    """Seed -> ``metric`` over the records matching every ``key=value`` (records without the
    metric are skipped), with their per-item outcomes when the records carry them.

    Raises:
        ValueError: two matching records share a seed (the message names the fields that tell
            them apart: add one to the filter, or average them yourself), a record has no seed,
            or its per-item outcomes are malformed.

    Example:
        >>> recs = [dict(seed=0, method="a", test_accuracy=0.8, item_correct=[1, 1, 1, 0, 1]),
        ...         dict(seed=0, method="b", test_accuracy=0.6)]
        >>> v = by_seed(recs, "test_accuracy", method="a"); v, v.outcomes
        ({0: 0.8}, {0: (1, 1, 1, 0, 1)})
    """
    if "metric" in match:  # by_seed(recs, metric="x") would silently filter on a field
        raise TypeError(f"give the metric positionally: by_seed(records, {match['metric']!r}, "
                        "key=value, ...)")
    found: dict[int, dict] = {}
    for r in records:
        if r.get(metric) is None or not all(r.get(k) == v for k, v in match.items()):
            continue
        if "seed" not in r:
            raise ValueError(f"a record with {metric} matching {match or 'no filter'} has no "
                             "'seed'; every record needs the seed it ran with")
        if r["seed"] in found:
            raise ValueError(_duplicate(found[r["seed"]], r, metric, match))
        found[r["seed"]] = r
    field, values, outcomes, sets = ITEMS.get(metric), {}, {}, set()
    for s in sorted(found):
        r = found[s]
        values[s] = float(r[metric])
        if not math.isfinite(values[s]):
            raise ValueError(f"seed {s}: {metric} is {r[metric]!r}; expected a finite number")
        if field and isinstance(r.get(field), (list, tuple)):
            outcomes[s] = _outcomes(r[field], values[s], f"seed {s}: '{field}'", metric)
        if r.get("test_set") is not None:
            sets.add(r["test_set"])
    return PerSeed(values, outcomes, _one_test_set(sets, f"records matching {match}"))


def _duplicate(r1: dict, r2: dict, metric: str, match: dict) -> str:
    differ = [k for k in dict.fromkeys([*r1, *r2]) if k not in (metric, "seed", *ITEMS.values())
              and isinstance(r1.get(k), (str, int, float, bool, type(None)))
              and r1.get(k) != r2.get(k)]
    hint = ", ".join(f"{k} ({r1.get(k)!r} vs {r2.get(k)!r})" for k in differ[:4])
    return (f"seed {r1['seed']} has two records with {metric} matching {match or 'no filter'}"
            + (f"; they differ in {hint}: add one of these to the filter" if hint else "")
            + ", or average them yourself before judging")


def _outcomes(raw: Sequence, value: float, where: str, metric: str) -> tuple[int, ...]:
    arr = np.asarray(raw)
    if (arr.ndim != 1 or not arr.size or arr.dtype.kind not in "biuf"
            or ((arr != 0) & (arr != 1)).any()):
        raise ValueError(f"{where} must be a non-empty list of 0/1 (or true/false), one per test "
                         f"item; got {list(raw)[:5]}...")
    if abs(float(arr.mean()) - value) > _ROUNDING:
        raise ValueError(f"{where} averages {arr.mean():.4f} but {metric} is {value:.4f}: the "
                         "list belongs to another run or metric")
    return tuple(arr.astype(int).tolist())


def _one_test_set(sets: set, where: str) -> str | None:
    bad = [s for s in sets if s not in TEST_SETS]
    if bad:
        raise ValueError(f"{where}: test_set {bad[0]!r}; valid: {list(TEST_SETS)}")
    if len(sets) > 1:
        raise ValueError(f"{where}: test_set is both 'fixed' and 'resampled'; one comparison "
                         "needs one kind of test set")
    return next(iter(sets), None)


def paired_gaps(a: Mapping[int, float], b: Mapping[int, float]) -> PerSeed:
    """Per-seed gaps ``a - b`` on the seeds both share (its keys say which), with the paired
    per-item differences where both arms carry per-item outcomes. Gaps are rounded to 9 places,
    so that two equal accuracies computed two ways are a tie, not a 1e-17 win.

    Example:
        >>> paired_gaps({0: 0.8, 1: 0.7, 2: 0.9}, {1: 0.6, 2: 0.6, 3: 0.5})
        {1: 0.1, 2: 0.3}
    """
    oa, ob = getattr(a, "outcomes", {}), getattr(b, "outcomes", {})
    test_set = _one_test_set({t for t in (getattr(a, "test_set", None),
                                          getattr(b, "test_set", None)) if t}, "the two arms")
    gaps, diffs = {}, {}
    for s in sorted(set(a) & set(b)):
        gaps[s] = round(float(a[s]) - float(b[s]), 9)
        if s in oa and s in ob:
            if len(oa[s]) != len(ob[s]):
                raise ValueError(f"seed {s}: the arms were scored on {len(oa[s])} and "
                                 f"{len(ob[s])} test items; a paired gap needs the same items")
            diffs[s] = tuple((np.array(oa[s]) - np.array(ob[s])).tolist())
    return PerSeed(gaps, diffs, test_set)


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """The judge's decision on a paired gap a - b and the numbers behind it (fractions)."""

    word: str  # holds, does not hold here, inconclusive at 3 seeds; (margin) equivalent ..., worse
    gap: float  # mean paired gap a - b over the seeds
    low: float  # the interval on a - b (NaN with one seed)
    high: float
    n_seeds: int
    seeds: tuple[int, ...] | None  # the seeds it rests on (None: a plain list of gaps)
    n_items: int | None = None  # test items per seed (None: not known)
    test_set: str | None = None  # "fixed", "resampled" or None (not said)
    items_counted: bool = False  # the interval includes the fixed test set's sampling error
    level: float = 0.95  # of the interval (0.90 with a margin: TOST)
    margin: float | None = None
    seed_sd: float = math.nan  # sd of the per-seed gaps
    item_se: float = 0.0  # the fixed test set's own standard error of the gap
    df: float = math.nan  # degrees of freedom of the seed part's t quantile (seeds - 1)
    seeds_needed: int | None = None  # inconclusive: seeds that would likely decide this gap
    items_needed: int | None = None  # ... or test items, where no number of seeds would
    need: str = ""  # what it would take, in words ("" once decided)

    @property
    def sign(self) -> int:
        """+1 when a is ahead, -1 when b is, 0 for a gap of exactly 0."""
        return (self.gap > 0) - (self.gap < 0)

    @property
    def decided(self) -> bool:
        return not self.word.startswith(INCONCLUSIVE)

    def text(self, a: str, b: str, items: str = "test items") -> str:
        """The finding's sentence, sign first, then size, then the interval (STYLE.md).

        Example:
            >>> v = judge([-0.03, 0.05, -0.07, 0.0, -0.05])
            >>> v.text("ImageNet features", "scratch")  # doctest: +ELLIPSIS
            'scratch ahead by 2 points, inconclusive at 5 seeds (−4 to 8; about 46 seeds would...)'
        """
        flip = self.gap < 0
        win, lose = (b, a) if flip else (a, b)
        lo, hi = (-self.high, -self.low) if flip else (self.low, self.high)
        half = (hi - lo) * 50 if math.isfinite(lo) else math.inf  # in points
        span_d = d = 0 if half >= 2 else 1 if half >= 0.2 or not half else 2  # digits it vouches for
        while d < 3 and self.gap and round(abs(self.gap) * 100, d) == 0:
            d += 1  # a gap too small for them is shown to its first digit (or called a tie)
        size = _pts(abs(self.gap), d)
        pts = "point" if size == "1" else "points"
        tied = size.strip("0.") == ""
        counts = (f"{self.n_seeds} seed{'s' if self.n_seeds != 1 else ''}"
                  + (f", {self.n_items:,} {items}" if self.n_items else ""))
        span = f"{_pts(lo, span_d)} to {_pts(hi, span_d)}" if 0 < half < math.inf else ""
        interval = f"{round(self.level * 100)} % interval {span}; {counts}"
        lead = f"{a} and {b} tied" if tied else f"{win} ahead by {size} {pts}"
        m = _pts(self.margin, 0 if round(self.margin * 100, 6) % 1 == 0 else 1) \
            if self.margin is not None else ""
        if not self.decided:
            ask = ("; ".join(x for x in (span, self.need) if x)).replace(" items", f" {items}")
            if self.margin is None:
                return f"{lead}, {self.word} ({ask})"
            return f"{lead}; equivalence within {m} points {self.word} ({ask})"
        if self.margin is None:
            return f"{win} beat {lose} by {size} {pts} ({interval})"
        said = {EQUIVALENT: f"{a} and {b} equivalent within {m} points",
                WORSE: f"{a} worse than {b} by more than {m} points",
                BETTER: f"{a} better than {b} by more than {m} points"}[self.word]
        lead = "tied" if tied else lead
        return f"{said} ({lead}; {interval})"

    def to_dict(self) -> dict:
        """The verdict for JSON: plain types, NaN and infinity as null."""
        out = asdict(self)
        out.update(seeds=list(self.seeds) if self.seeds is not None else None,
                   sign=self.sign, decided=self.decided)
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in out.items()}


def _pts(x: float, digits: int) -> str:
    """A fraction in points, with a true minus sign and never '−0'."""
    s = f"{x * 100:.{digits}f}"
    return s.lstrip("-") if float(s) == 0 else s.replace("-", "−")


def judge(a: Sequence[float] | Mapping[int, float] | Sequence[dict],
          b: Mapping[int, float] | Sequence[dict] | None = None, /, *,
          metric: str = "test_accuracy", margin: float | None = None,
          n_items: int | None = None) -> Verdict:
    """The verdict on arm ``a`` vs arm ``b``, paired by seed (method: the module docstring).

    Args:
        a: with ``b``: one arm, as :func:`by_seed` values or as its records (one per seed).
            Alone: paired gaps a - b, per seed (a mapping seed -> gap, e.g. from
            :func:`paired_gaps`, or a plain list of fractions).
        b: the other arm, in the same form as ``a``.
        metric: what records are compared on.
        margin: test equivalence within +/- ``margin`` (a fraction: 0.02 is 2 points).
        n_items: test items per seed, to report when the records carry no per-item outcomes.

    Raises:
        ValueError: no seed in common, a gap that is not a finite number, a bad margin, or
            malformed per-item outcomes.

    Example:
        >>> v = judge({0: 0.85, 1: 0.80, 2: 0.83}, {0: 0.45, 1: 0.41, 2: 0.40})
        >>> v.word, round(v.gap, 3), v.seeds
        ('holds', 0.407, (0, 1, 2))
    """
    if margin is not None and not 0 < margin < 1:
        raise ValueError(f"margin={margin!r}: give a fraction between 0 and 1 (0.02 for 2 points)")
    gaps = _as_gaps(a, b, metric)
    if not gaps:
        raise ValueError("no paired seeds: the two arms share no seed (check the filters, "
                         "or run both arms on the same seeds)")
    seeds = None if getattr(gaps, "_unnamed", False) else tuple(gaps)
    level = 0.90 if margin is not None else 0.95
    g = np.array(list(gaps.values()), dtype=float)
    if not np.isfinite(g).all():
        raise ValueError(f"the gaps must be finite numbers; got {list(g)}")
    n, mean = len(g), float(g.mean())
    seed_var = float(g.var(ddof=1)) if n > 1 else math.nan
    items, m = _item_term(gaps, n)
    n_items = m or n_items or next((len(o) for o in gaps.outcomes.values()), None)
    base = {"gap": mean, "n_seeds": n, "seeds": seeds, "n_items": n_items,
            "test_set": gaps.test_set, "items_counted": items is not None, "level": level,
            "margin": margin, "seed_sd": math.sqrt(seed_var) if n > 1 else math.nan,
            "item_se": math.sqrt(items[0]) if items else 0.0}
    inconclusive = f"{INCONCLUSIVE} at {n} seed{'s' if n != 1 else ''}"
    if n < 2:
        return Verdict(inconclusive, low=math.nan, high=math.nan, **base,
                       need="one seed measures no spread: run more seeds")
    item_var, item_df = items or (0.0, math.inf)
    df = n - 1
    se2 = seed_var / n + item_var
    half = _half_width(level, seed_var / n, df, item_var, item_df)
    low, high = mean - half, mean + half
    if se2 == 0:
        return Verdict(inconclusive, low=low, high=high, df=df, **base,
                       need="every seed gave the same gap, so its spread is unmeasured")
    if margin is None:
        word = HOLDS if low > 0 else OPPOSITE if high < 0 else inconclusive
    else:
        word = (EQUIVALENT if -margin < low and high < margin else WORSE if high < -margin
                else BETTER if low > margin else inconclusive)
    if word != inconclusive:
        return Verdict(word, low=low, high=high, df=df, **base)
    dist = abs(mean) if margin is None else abs(margin - abs(mean))
    plan = _plan(dist, level, n, seed_var, item_var, item_df, m)
    return Verdict(word, low=low, high=high, df=df, **base, **plan)


def interval(values: Sequence[float] | Mapping[int, float]) -> tuple[float, float, float]:
    """``(mean, low, high)``: one arm's 95 % interval, the judge's method around its mean
    (per-seed values, with per-item outcomes from :func:`by_seed` where the test set is fixed),
    for error bars and "each arm's own interval". NaN bounds for one seed: draw no bar.

    Example:
        >>> [round(x, 3) for x in interval([0.70, 0.74, 0.72])]
        [0.72, 0.67, 0.77]
    """
    v = judge(values)
    return v.gap, v.low, v.high


def _as_gaps(a, b, metric: str) -> PerSeed:
    def arm(x):
        if isinstance(x, Mapping):
            return x
        x = list(x)
        if x and not all(isinstance(r, dict) for r in x):
            raise ValueError("with two arms, give each as by_seed(...) values or its records")
        return by_seed(x, metric)

    if b is not None:
        return paired_gaps(arm(a), arm(b))
    if isinstance(a, Mapping):
        return a if isinstance(a, PerSeed) else PerSeed(a)
    values = list(a)
    if any(isinstance(v, dict) for v in values):
        raise ValueError("records need two arms: judge(records_a, records_b)")
    out = PerSeed(enumerate(values))
    out._unnamed = True  # a plain list: its seeds are not known
    return out


def _item_term(gaps: PerSeed, n: int) -> tuple[tuple[float, float] | None, int | None]:
    """``((variance, df), items)`` of the fixed test set's own sampling error of the mean gap,
    or ``(None, None)`` where it is not measured or already in the seed spread."""
    o = gaps.outcomes
    if gaps.test_set == "resampled" or n < 2 or set(o) != set(gaps):
        return None, None
    lengths = {len(v) for v in o.values()}
    if len(lengths) > 1:
        if gaps.test_set == "fixed":
            raise ValueError(f"test_set is 'fixed' but the seeds were scored on {sorted(lengths)} "
                             "test items; say 'resampled' if each seed drew its own")
        return None, None  # different sizes: each seed drew its own items
    d = np.array([o[s] for s in gaps], dtype=float)  # (seeds, items): a - b per item
    m = d.shape[1]
    if m < 2:
        return None, None
    row, col = d.mean(1, keepdims=True), d.mean(0, keepdims=True)
    ms_item = n * float(col.var(ddof=1))
    ms_res = float(((d - row - col + d.mean()) ** 2).sum()) / ((n - 1) * (m - 1))
    var = max(0.0, ms_item - ms_res) / (n * m)
    # z, not t at a Satterthwaite df: that df nears 0 as MS_items - MS_res does (+-1e150 points)
    return (var, math.inf), m


def _half_width(level: float, seed_term: float, seed_df: float, item_term: float,
                item_df: float) -> float:
    """Half-width of the interval: each variance part times its own t quantile squared, summed
    (Banerjee's conservative answer to combining variances with different degrees of freedom)."""
    p = (1 + level) / 2
    return math.sqrt(_t(p, seed_df) ** 2 * seed_term + _t(p, item_df) ** 2 * item_term)


@lru_cache(maxsize=4096)  # the plans ask for the same few quantiles again and again
def _t(p: float, df: float) -> float:
    """Student's t quantile (the normal's for df = inf)."""
    from scipy.special import ndtri, stdtrit  # lazy: importing tlcourse.stats stays light

    return float(ndtri(p)) if math.isinf(df) else float(stdtrit(df, p))


def _plan(dist: float, level: float, n: int, seed_var: float, item_var: float,
          item_df: float, m: int | None) -> dict:
    """What would likely decide a gap ``dist`` from its decision boundary (80 % power): more
    seeds, or - when the fixed test set's own error alone is too large - more test items."""
    if dist < 1e-9:
        return {"need": "no gap measured, so no number of seeds would decide one"}

    def decides(seeds: int, var_items: float) -> bool:
        seed_term = seed_var / seeds
        return dist >= (_half_width(level, seed_term, seeds - 1, var_items, item_df)
                        + _t(POWER, seeds - 1) * math.sqrt(seed_term + var_items))

    if decides(MAX_SEEDS, item_var):  # more seeds only help: search for the fewest
        lo, hi = n, MAX_SEEDS  # decides(lo) is False (it is inconclusive now), decides(hi) True
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if decides(mid, item_var) else (mid, hi)
        return {"seeds_needed": hi, "need": f"about {hi} seeds would decide a gap this size"}
    budget = (dist / (_t((1 + level) / 2, math.inf) + _t(POWER, math.inf))) ** 2
    if not item_var or item_var < budget:
        return {"need": f"a gap this size would need more than {MAX_SEEDS} seeds"}
    seeds = max(n, math.ceil(2 * seed_var / budget))  # seeds take half the budget, items half
    if seeds > MAX_SEEDS:
        return {"need": f"a gap this size would need over {MAX_SEEDS} seeds and over {m:,} items"}
    items = math.ceil(item_var * m / (budget - seed_var / seeds))
    more = f" with {seeds} seeds" if seeds > n else ""
    return {"seeds_needed": seeds if seeds > n else None, "items_needed": items,
            "need": f"no number of seeds would decide a gap this size on these {m:,} items; "
                    f"about {items:,} items would{more}"}
