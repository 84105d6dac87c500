"""Chapter 0's worked example of the judge and its ledger exercise (fast: no training)."""

from __future__ import annotations

import numpy as np
import pytest

from tlcourse import stats
from tlcourse.answer_key import CHECKERS
from tlcourse.claims import MISSING, Finding, load_claims
from tlcourse.claims.worked_example import judged, ledger_exercise

CHECK = CHECKERS["ch00-ex-ledger-pick"]


def _records(gain: int, seeds: int = 20, items: int = 200) -> list[dict]:
    """Two heads scored on ``items`` test items per seed (marked resampled: with a fixed set and
    these made-up outcomes the judge's item term hits a known bug, a near-zero df): the MLP head gets ``gain`` items
    right, plus 0-4 (other ones each seed), that the linear head got wrong."""
    rng = np.random.default_rng(0)
    out = []
    for s in range(seeds):
        base = (rng.random(items) < 0.7).astype(int)
        better = base.copy()
        better[rng.choice(np.flatnonzero(base == 0), gain + s % 5, replace=False)] = 1
        for method, hits in (("linear-head", base), ("mlp-head", better)):
            out.append({"method": method, "seed": s, "test_accuracy": hits.mean(),
                        "item_correct": hits.tolist(), "test_set": "resampled"})
    return out


def test_a_consistent_gain_holds_and_the_table_shows_every_seed():
    ex = judged(_records(gain=40))
    assert ex.verdict.word == stats.HOLDS and ex.verdict.n_seeds == 20
    assert ex.sentence.startswith("the MLP head beat the linear head by 21.0 points (95 % interval 20.7 to "
                               "21.3; 20 seeds, 200 test photos)")
    assert ex.table().count("\n") == 21 and "| 19 |" in ex.table() and "+20.0" in ex.table()
    assert ex.summary().endswith("**holds**") and "over 20 seeds" in ex.summary()


def test_gains_that_change_sign_are_not_decided():
    flip = {"linear-head": "mlp-head", "mlp-head": "linear-head"}
    records = [{**r, "method": flip[r["method"]]} if r["seed"] % 2 else r
               for r in _records(gain=0)]
    ex = judged(records)
    assert ex.verdict.word == "inconclusive at 20 seeds" and "would" in ex.sentence


def test_judged_on_the_first_seeds_rests_on_those_seeds_only():
    ex = judged(_records(gain=40), seeds=3)
    assert ex.verdict.seeds == (0, 1, 2) and list(ex.gaps) == [0, 1, 2]


def _rows(statuses: dict[int, tuple[str, int]]) -> list:
    rows = []
    for c in load_claims():
        word, seeds = statuses.get(c.number, (MISSING, 0))
        if word == MISSING:
            rows.append((c, Finding(MISSING, "run: tlcourse run x")))
            continue
        gaps = [0.02, -0.01, 0.03, 0.0, 0.01][:seeds] if word != stats.HOLDS else [0.3, 0.32, 0.31][:seeds]
        v = stats.judge(dict(enumerate(gaps)))
        assert v.word.startswith(word)
        rows.append((c, Finding(v.word, "measured", v)))
    return rows


def test_the_exercise_asks_for_an_inconclusive_claim_when_the_ledger_has_one():
    rows = _rows({3: (stats.HOLDS, 3), 7: (stats.INCONCLUSIVE, 5)})
    text = ledger_exercise(rows)
    assert "*inconclusive* in your ledger (claim 7)" in text
    assert all(CHECK(rows, claim=7, seeds=5).values())
    assert not all(CHECK(rows, claim=3, seeds=3).values())  # decided: not what was asked
    assert not all(CHECK(rows, claim=7, seeds=3).values())


def test_without_an_inconclusive_claim_it_asks_for_any_claims_seeds():
    rows = _rows({3: (stats.HOLDS, 3)})
    assert "No claim in your ledger is *inconclusive*" in ledger_exercise(rows)
    assert "every measured claim is decided" in ledger_exercise(rows)
    assert all(CHECK(rows, claim=3, seeds=3).values())
    assert all(CHECK(rows, claim=1, seeds=0).values())  # not measured: 0 seeds
    assert not all(CHECK(rows, claim=3, seeds=2).values())
    assert "nothing is measured yet" in ledger_exercise(_rows({}))


@pytest.mark.parametrize("claim", [99, "7", None])
def test_a_claim_not_in_the_ledger_fails(claim):
    assert not any(CHECK(_rows({7: (stats.INCONCLUSIVE, 5)}), claim=claim, seeds=5).values())
