"""The fine-tuning rate chosen on validation, and the two claims judged at it (chapter 3's sweep).

Claim 6 (fine-tune at a rate 10-100x below the from-scratch rate; a high rate destroys the
pretrained features) and claim 10 (early stopping helps) are each judged at the rate the
*validation* photos choose - never on an average over the sweep's rates. A run whose balanced
accuracy ended at or below chance (1 / classes: the network answers one class whatever it sees)
learned nothing: averaging such runs in measures the collapse, not the claim. Rates where every
run collapsed are never chosen; claim 10 leaves out the runs that collapsed, and the sentence
names them. Claim 6 keeps the from-scratch rate's runs whatever they scored - a collapse there
is what the claim predicts - and says how many ended at chance.

Chapter 3's sentences (:func:`sweep_findings`, :func:`early_stopping_findings`, re-exported by
:mod:`~tlcourse.experiments.fine_tuning`) and the claims ledger both call these functions, so
they print the same verdict and numbers from the same records.

Example:
    >>> rc = rate_claim(sweep.records)                                  # doctest: +SKIP
    >>> print(rc.verdict_text(), rc.neighbours_text(), sep="\\n")       # doctest: +SKIP
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from ..methods import SCRATCH_CONFIG
from ..stats import HOLDS, Verdict, by_seed, interval, judge
from ..stats import mean_sd_text as _pct

SCRATCH_LR = SCRATCH_CONFIG.lr  # the from-scratch recipe's rate, the claim's reference
QUOTED = (10, 100)  # "10-100x lower than from scratch"
ITEMS = "test photos"
_ROUNDING = 5e-4  # records round accuracies to 4 places


def rate_text(lr: float) -> str:
    """A learning rate as the sentences write it: 1e-4, 3e-3."""
    return f"{lr:.0e}".replace("e-0", "e-").replace("e+0", "e")


def ratio_text(lr: float, scratch: float = SCRATCH_LR) -> str:
    """How ``lr`` sits against the from-scratch rate: '30× lower', '3.33× higher'."""
    r = scratch / lr
    return f"{r:.3g}× lower" if r >= 1 else f"{1 / r:.3g}× higher"


def at_chance(record: dict) -> bool:
    """Whether a run ended at or below chance: its final balanced accuracy (mean per-class
    recall) is at most 1 / ``n_classes``, up to the records' rounding. A record that does not
    say (no ``balanced_accuracy`` or ``n_classes``) is not called collapsed."""
    bal, n = record.get("balanced_accuracy"), record.get("n_classes")
    return bal is not None and bool(n) and bal <= 1 / n + _ROUNDING


def collapsed_rates(records: list[dict]) -> list[float]:
    """The rates at which every run ended at or below chance."""
    rates = sorted({r["lr"] for r in records})
    return [lr for lr in rates if all(at_chance(r) for r in records if r["lr"] == lr)]


def chosen_rate(records: list[dict], below: float | None = None) -> float | None:
    """The rate with the best mean validation accuracy over seeds (a tie goes to the lowest
    rate: the cautious choice), among the rates where some run learned (above chance) and, with
    ``below``, lower than it. The test set never takes part. None: no rate qualifies."""
    dead = set(collapsed_rates(records))
    rates = [lr for lr in sorted({r["lr"] for r in records})
             if lr not in dead and (below is None or lr < below)]
    val = {lr: statistics.fmean(r["val_accuracy"] for r in records if r["lr"] == lr)
           for lr in rates}
    return max(rates, key=val.get) if rates else None


def dead_text(rates: list[float]) -> str:
    """'rates 1e-2, 1e-1: every run ended at or below chance (...)'."""
    return (f"rate{'s' if len(rates) > 1 else ''} {', '.join(map(rate_text, rates))}: every "
            "run ended at or below chance (balanced accuracy <= 1 / classes)")


# ---------------------------------------------------------------------------------------------
# Claim 6: the rate chosen on validation vs the from-scratch rate, and vs its neighbours
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateClaim:
    """Claim 6 on a sweep's records: ``verdict`` is the best rate below the from-scratch one
    (chosen on validation) minus the from-scratch rate, on test accuracy paired per seed;
    ``neighbours`` the rate chosen on validation minus each rate beside it in the sweep."""

    chosen: float | None  # on validation, over every rate where some run learned
    low: float | None  # on validation, over those below the from-scratch rate
    scratch: float
    verdict: Verdict | None  # low - scratch (None: the sweep lacks one of them)
    neighbours: tuple[tuple[float, Verdict], ...]
    scratch_at_chance: int  # runs at the from-scratch rate that ended at or below chance
    scratch_runs: int
    dead: tuple[float, ...]  # rates where every run ended at or below chance

    def verdict_text(self, items: str = ITEMS) -> str:
        """The claim's sentence: the judge's verdict, the arms named by their rates."""
        if self.verdict is None:
            return (f"no verdict: the sweep needs the from-scratch rate {rate_text(self.scratch)} "
                    "and a usable rate below it")
        low = f"the rate chosen on validation below it ({rate_text(self.low)})"
        said = self.verdict.text(low, f"the from-scratch rate {rate_text(self.scratch)}", items)
        if self.scratch_at_chance:
            said += (f"; {self.scratch_at_chance} of {self.scratch_runs} runs at "
                     f"{rate_text(self.scratch)} ended at or below chance")
        return said

    def where_text(self) -> str:
        """Where the rate validation chose sits against the quoted 10-100x."""
        if self.chosen is None:
            return "no rate learned anything (every run ended at or below chance)"
        r = self.scratch / self.chosen
        inside = QUOTED[0] <= r <= QUOTED[1] * (1 + 1e-9)
        return (f"validation picked {rate_text(self.chosen)}, {ratio_text(self.chosen, self.scratch)}"
                f" than from scratch: " + ("inside" if inside else "outside")
                + f" the quoted {QUOTED[0]}–{QUOTED[1]}×")

    def neighbours_text(self, items: str = ITEMS) -> str:
        """The chosen rate against the rates beside it, and what the run cannot tell apart."""
        if self.chosen is None or not self.neighbours:
            return ""
        c = rate_text(self.chosen)
        said = "; ".join(f"vs {rate_text(n)}: " + v.text(f"rate {c}", f"rate {rate_text(n)}", items)
                         for n, v in self.neighbours)
        open_ = [n for n, v in self.neighbours if not v.decided]
        if not open_:
            return (f"Beside it: {said}. The run tells the chosen rate from both neighbours "
                    f"({ratio_text(self.chosen, self.scratch)}).")
        others = " or ".join(f"{ratio_text(n, self.scratch)} ({rate_text(n)})" for n in open_)
        return (f"Beside it: {said}. So this run cannot tell {ratio_text(self.chosen, self.scratch)}"
                f" ({c}) from {others}: it does not pin the best rate down to the quoted "
                f"{QUOTED[0]}–{QUOTED[1]}×.")


def rate_claim(records: list[dict], scratch: float = SCRATCH_LR) -> RateClaim:
    """Claim 6's comparisons on a sweep's records (see :class:`RateClaim`)."""
    rates = sorted({r["lr"] for r in records})
    chosen, low = chosen_rate(records), chosen_rate(records, below=scratch)
    at_scratch = [r for r in records if abs(r["lr"] - scratch) <= 1e-12]
    v = None
    if low is not None and at_scratch:
        v = judge(by_seed(records, "test_accuracy", lr=low),
                  by_seed(at_scratch, "test_accuracy"))
    near = []
    if chosen is not None:
        i = rates.index(chosen)
        near = [(n, judge(by_seed(records, "test_accuracy", lr=chosen),
                          by_seed(records, "test_accuracy", lr=n)))
                for n in rates[max(i - 1, 0):i + 2] if n != chosen]
    return RateClaim(chosen, low, scratch, v, tuple(near), sum(map(at_chance, at_scratch)),
                     len(at_scratch), tuple(collapsed_rates(records)))


# ---------------------------------------------------------------------------------------------
# Claim 10: early stopping's kept epoch vs the last, at the rate chosen on validation
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EarlyStopping:
    """Claim 10 on a sweep's records: the test accuracy of the epoch early stopping keeps minus
    that of the last epoch, paired per seed, at the rate chosen on validation, over the runs
    that ended above chance."""

    rate: float | None
    verdict: Verdict | None
    kept: tuple[int, ...]  # the epochs early stopping kept, per seed judged
    epochs: int
    dropped_seeds: tuple[int, ...]  # runs at the chosen rate that ended at or below chance
    dead: tuple[float, ...]  # rates where every run ended at or below chance

    def text(self, items: str = ITEMS) -> str:
        """The claim's sentence, with what was left out and why."""
        out = []
        if self.verdict is None:
            out.append("no verdict: no rate has a run that ended above chance")
        else:
            kept = "/".join(map(str, sorted(set(self.kept))))
            same = ("it kept the last epoch on every seed, so there was nothing to gain or lose"
                    if set(self.kept) == {self.epochs} else f"it kept epoch {kept} of {self.epochs}")
            out.append(f"at the rate chosen on validation ({rate_text(self.rate)}) {same}: "
                       + self.verdict.text("early stopping", "the last epoch", items) + " on test")
        if self.dropped_seeds:
            out.append(f"left out: seed{'s' if len(self.dropped_seeds) > 1 else ''} "
                       f"{', '.join(map(str, self.dropped_seeds))} at {rate_text(self.rate)} "
                       "(ended at or below chance)")
        if self.dead:
            out.append(f"left out: {dead_text(list(self.dead))}")
        return "; ".join(out)


def early_stopping(records: list[dict]) -> EarlyStopping:
    """Claim 10's comparison on a sweep's records (see :class:`EarlyStopping`)."""
    rate, dead = chosen_rate(records), tuple(collapsed_rates(records))
    if rate is None:
        return EarlyStopping(None, None, (), 0, (), dead)
    at = [r for r in records if r["lr"] == rate]
    ok = [r for r in at if not at_chance(r)]
    v = judge(by_seed(ok, "early_stop_test_accuracy"), by_seed(ok, "test_accuracy"),
              n_items=ok[0].get("n_test"))
    return EarlyStopping(rate, v, tuple(r["early_stop_epoch"] for r in ok), ok[0]["epochs"],
                         tuple(sorted(r["seed"] for r in at if at_chance(r))), dead)


# ---------------------------------------------------------------------------------------------
# Chapter 3's table and sentences on the sweep
# ---------------------------------------------------------------------------------------------
def accuracy_text(records: list[dict], metric: str = "test_accuracy") -> str:
    """One arm's mean with its 95 % interval (the judge's method): '72 % (95 % interval 65 to
    79 %, 3 seeds)', or '72 % (1 seed)': no interval is invented."""
    m, lo, hi = interval(by_seed(records, metric))
    n = len({r["seed"] for r in records})
    if n < 2:
        return f"{m * 100:.0f} % (1 seed)"
    return f"{m * 100:.0f} % (95 % interval {lo * 100:.0f} to {hi * 100:.0f} %, {n} seeds)"


def sweep_table(records: list[dict]) -> list[dict]:
    """Per rate: validation, test and balanced test accuracy (mean ± sd over seeds), the probe
    each run started from, and how far the weights moved."""
    rates = sorted({r["lr"] for r in records})
    rows = []
    for lr in rates:
        rs = [r for r in records if r["lr"] == lr]
        rows.append({"lr": f"{lr:g}", "seeds": len(rs),
                     "validation": _pct([r["val_accuracy"] for r in rs]),
                     "test": _pct([r["test_accuracy"] for r in rs]),
                     "balanced_test": _pct([r["balanced_accuracy"] for r in rs]),
                     "probe_test": _pct([r["probe_accuracy"] for r in rs]),
                     "weight_distance": f"{np.mean([r['weight_distance'] for r in rs]):.3g}"})
    return rows


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def sweep_findings(records: list[dict], scratch_lr: float = SCRATCH_LR
                   ) -> list[str]:
    """Computed sentences: the rate chosen on *validation* accuracy (the test set never picks
    a model) and its test accuracy; claim 6 as the ledger judges it (the chosen rate vs the
    from-scratch rate, then vs the rates beside it: :func:`lr_choice.rate_claim`); then, for
    each higher rate, the linear probe the run started from against the fine-tuned network.
    Every comparison is the judge's, paired per seed."""
    rc = rate_claim(records, scratch_lr)
    n_seeds = len({r.get("seed") for r in records})
    lines = []
    if rc.chosen is not None:
        at = [r for r in records if r["lr"] == rc.chosen]
        val = statistics.fmean(r["val_accuracy"] for r in at)
        lines.append(f"Rate chosen on the validation photos ({_seeds(n_seeds)}): "
                     f"{rate_text(rc.chosen)} ({val * 100:.0f} % validation, "
                     f"{accuracy_text(at)} test accuracy); {rc.where_text()}.")
    if rc.dead:
        lines.append(f"Never chosen: {dead_text(list(rc.dead))}.")
    lines.append(f"Claim 6, a rate well below the from-scratch one: {rc.verdict_text(ITEMS)}.")
    if rc.neighbours:
        lines.append(rc.neighbours_text(ITEMS))
    if rc.chosen is not None:
        probe = by_seed(records, "probe_accuracy", lr=rc.chosen)
        for lr in (lr for lr in sorted({r["lr"] for r in records}) if lr > rc.chosen):
            v = judge(probe, by_seed(records, "test_accuracy", lr=lr))
            lines.append(f"At rate {rate_text(lr)}: "
                         + v.text("the linear probe it started from",
                                  f"fine-tuning at {rate_text(lr)}", ITEMS)
                         + (" - the pretrained features are being overwritten."
                            if v.word == HOLDS else "."))
    return lines


def early_stopping_findings(records: list[dict]) -> list[str]:
    """Claim 10 as the ledger judges it (:func:`lr_choice.early_stopping`: the epoch early
    stopping keeps vs the last, at the rate chosen on validation, runs that ended at chance
    left out), then the other rates where some run learned, for reference."""
    es = early_stopping(records)
    out = [f"Claim 10, early stopping: {es.text(ITEMS)}."]
    others = [lr for lr in sorted({r["lr"] for r in records})
              if lr != es.rate and lr not in es.dead]
    for lr in others:
        rs = [r for r in records if r["lr"] == lr and not at_chance(r)]
        kept = "/".join(map(str, sorted({r["early_stop_epoch"] for r in rs})))
        v = judge(by_seed(rs, "early_stop_test_accuracy"), by_seed(rs, "test_accuracy"),
                  n_items=rs[0].get("n_test"))
        out.append(f"  For reference, at {rate_text(lr)} (not the claim's test: validation did "
                   f"not choose it), early stopping kept epoch {kept} of {rs[0]['epochs']}: "
                   + v.text("early stopping", "the last epoch", ITEMS) + ".")
    return out
