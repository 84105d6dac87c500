"""Drill items on the learner's own table: the judge's word and the next step (issue 28, item 5).

Records are built by hand in the shape experiments store (method, seed, test_accuracy,
item_correct, test_set); every key is checked against stats.judge on the same records."""

from __future__ import annotations

import random

from tlcourse import stats
from tlcourse.quiz.cues import answer_is_longest
from tlcourse.quiz.drill import ExamConfig, MockExam, build_report, load_pool
from tlcourse.quiz.drill_results import with_results
from tlcourse.quiz.grounded_verdict import (
    ITEMS,
    SEEDS,
    TIE,
    next_step,
    next_step_items,
    verdict_items,
)
from tlcourse.quiz.widgets import prompt_html, question_text


def _records(n_items: int, shift: float, seeds: int = 3, rng_seed: int = 0,
             test_set: str = "fixed") -> list[dict]:
    """Two arms scored on the same test items per seed; ``ft`` right on ``shift`` more items."""
    rng, out = random.Random(rng_seed), []
    for s in range(seeds):
        base = [rng.random() < 0.6 for _ in range(n_items)]
        for m, p in (("frozen", 0.0), ("ft", shift)):
            hits = [int(b or rng.random() < p) for b in base]
            out.append({"method": m, "seed": s, "test_accuracy": sum(hits) / n_items,
                        "item_correct": hits, "test_set": test_set, "dataset": "photo",
                        "labels_per_class": 5})
    return out


def _judge(recs: list[dict], a: str, b: str) -> stats.Verdict:
    return stats.judge(stats.by_seed(recs, "test_accuracy", method=a),
                       stats.by_seed(recs, "test_accuracy", method=b))


def _claim(q) -> tuple[str, str]:
    claim = q.prompt.split("The claim: ")[1].split(".\n")[0]
    a, b = claim.split(" is more accurate than ")
    return a, b


def test_the_verdict_item_shows_the_table_and_its_key_is_the_judges_word():
    words = set()
    for n_items, shift, seeds in [(400, 0.5, 3), (40, 0.05, 3), (400, 0.5, 1), (200, 0.2, 4)]:
        recs = _records(n_items, shift, seeds)
        (q,) = verdict_items(recs)
        a, b = _claim(q)
        v = _judge(recs, a, b)
        # the key is the judge's word, on the same records (with the reading it stands for)
        assert q.choice(q.answer[0]).text.split(":")[0] == v.word
        words.add(v.word)
        assert [c.text.split(":")[0] for c in q.choices] == [
            "holds", "does not hold here", f"inconclusive at {seeds} seed{'s' * (seeds > 1)}"]
        longest = max(q.choices, key=lambda c: len(c.text)).text  # no length cue to the common key
        assert longest.startswith("does not hold here")
        means = {m: stats.mean_sd(r["test_accuracy"] for r in recs if r["method"] == m)[0]
                 for m in (a, b)}
        text = question_text(q, 1)
        for m in (a, b):  # arm, mean accuracy, seeds: one aligned row each
            row = next(line for line in text.splitlines() if line.strip().startswith(m + " "))
            assert row.split()[1:] == [f"{100 * means[m]:.1f}", "%", str(seeds)]
        assert f"gap {a} - {b}: {100 * v.gap:+.1f} points" in text
        if seeds > 1:
            assert f"95 % interval {100 * v.low:+.1f} to {100 * v.high:+.1f}" in text
            assert f"({n_items:,} items)" in text  # the fixed test set's own error is named
        assert v.text(a, b) in q.choice(q.answer[0]).why
    assert words & {"holds", "does not hold here"}  # decided and undecided both asked
    assert any(w.startswith("inconclusive") for w in words)


def test_the_claim_names_either_arm_so_both_decided_words_are_keys():
    keys = set()
    for rng_seed in range(12):
        recs = _records(400, 0.5, 3, rng_seed)
        for r in recs:  # a new setting name each time: the hash picks the claim's direction
            r["dataset"] = f"photo{rng_seed}"
        (q,) = verdict_items(recs)
        keys.add(q.choice(q.answer[0]).text.split(":")[0])
    assert keys == {"holds", "does not hold here"}


def test_the_table_stays_a_block_in_the_terminal_and_the_notebook():
    (q,) = verdict_items(_records(400, 0.5))
    table = [line for line in q.prompt.splitlines() if line.startswith("    ")]
    assert len(table) == 5
    printed = question_text(q, 3).splitlines()
    start = printed.index(table[0])
    assert printed[start:start + 5] == table  # not re-wrapped into the prose
    review = build_report([q], {}, 1.0).render().splitlines()  # missed: the review shows it
    start = review.index(table[0])
    assert review[start:start + 5] == table
    html = prompt_html(q.prompt)
    assert html.count("<pre") == 1 and "frozen" in html.split("<pre")[1]


def _fixed_items(extra_ft: list[list[int]], extra_frozen: list[list[int]], m: int = 50):
    """The same ``m`` test items every seed: both arms right on the first half, plus the listed
    extra items per seed (the seeds barely differ, the items decide the spread)."""
    out = []
    for s, (ft, fr) in enumerate(zip(extra_ft, extra_frozen)):
        for arm, extra in (("ft", ft), ("frozen", fr)):
            hits = [int(i < m // 2 or i in extra) for i in range(m)]
            out.append({"method": arm, "seed": s, "test_accuracy": sum(hits) / m,
                        "item_correct": hits, "test_set": "fixed"})
    return out


def _plain(gaps: list[float]) -> list[dict]:
    """Per-seed accuracies only (no per-item outcomes): a - b = ``gaps``."""
    return [r for s, g in enumerate(gaps) for r in (
        {"method": "ft", "seed": s, "test_accuracy": 0.6 + g},
        {"method": "frozen", "seed": s, "test_accuracy": 0.6})]


def test_the_next_step_follows_the_judges_plan():
    seen = {}
    hand = [_fixed_items([[30, 31], [30, 31], [30, 31, 32]], [[40], [40], [40]]),  # items
            _plain([0.001, -0.0012, 0.0015, -0.0009]),  # a tiny gap: out of reach
            _plain([0.04, 0.01, 0.06]), _plain([0.05])]  # more seeds would decide it
    cases = [(40, 0.05, 3, "fixed"), (2000, 0.03, 3, "resampled"), (300, 0.04, 2, "fixed")]
    drawn = [_records(n, shift, seeds, 10 * i + k, test_set)
             for i, (n, shift, seeds, test_set) in enumerate(cases) for k in range(4)]
    for recs in hand + drawn:
        (v_item,) = verdict_items(recs)
        a, b = _claim(v_item)
        v = _judge(recs, a, b)
        items = next_step_items(recs)
        if v.decided:
            assert items == []
            continue
        (q,) = items
        key = q.choice(q.answer[0]).text
        # The judge's own plan, in its words: seeds would decide it, items would, or neither.
        expected = (ITEMS if "no number of seeds would decide" in v.need and v.items_needed
                    else SEEDS if v.seeds_needed
                    or v.need.startswith(("one seed", "every seed"))
                    else TIE)
        assert key == next_step(v) == expected, (v.need, key)
        assert v.word in q.prompt and q.group == v_item.group  # one of the two per drill
        assert not answer_is_longest(q)  # the wording does not point at the key
        seen[key] = v.need
    assert SEEDS in seen and ITEMS in seen and TIE in seen, seen


def test_saved_runs_with_seeds_reach_the_drill_as_verdict_items_instead_of_best_method():
    bank_pool, _, weights = load_pool()
    recs = [dict(r, experiment="scratch-vs-transfer") for r in _records(400, 0.5)]
    pool, weights = with_results(bank_pool, weights, {"scratch-vs-transfer": recs})
    ours = [q for q in pool if q.topic == "your-results"]
    assert any(q.id.startswith("grounded-verdict-") for q in ours)
    assert not any(q.id.startswith("grounded-best-") for q in ours)  # the verdict replaces it
    hits = 0
    for seed in range(20):
        drawn = MockExam(pool, ExamConfig(count=10, seed=seed, weights=weights)).shown
        hits += any(s.bank.id.startswith(("grounded-verdict-", "grounded-next-"))
                    for s in drawn)
        table = [s.question for s in drawn if s.bank.id.startswith("grounded-verdict-")]
        for q in table:  # shown with shuffled choices: the table is still in the text
            assert "mean accuracy   seeds" in question_text(q, 1)
    assert hits >= 10, hits


def test_the_notebook_drill_shows_the_runs_per_seed_plot_next_to_its_question(monkeypatch,
                                                                              tmp_path):
    from tlcourse.quiz import drill_widget

    recs = [dict(r, experiment="scratch-vs-transfer") for r in _records(400, 0.5)]
    monkeypatch.setattr(drill_widget, "saved_results", lambda: {"scratch-vs-transfer": recs})
    for seed in range(6):
        exam = drill_widget.build_exam(count=10, seed=seed, time_limit=0)
        ours = [c for c in exam.cards if c.question.id.startswith(("grounded-verdict-",
                                                                   "grounded-next-"))]
        if ours:
            break
    assert ours, "no drill drew a question on the run"
    image = ours[0].box.children[1]
    assert type(image).__name__ == "Image" and image.value[:8] == b"\x89PNG\r\n\x1a\n"
    others = [c for c in exam.cards if c.question.topic != "your-results"]
    assert all(type(c.box.children[1]).__name__ != "Image" for c in others)
    assert not (tmp_path / "progress.sqlite").exists()  # showing the drill wrote nothing (conftest)

