"""Wording cues: do test-wise rules that never read the subject predict a bank's answers?

A learner who knows nothing can still score if the wording leaks the key. The rules measured
here are the ones an audit of the banks found working (issue 28), each seeing only what a
learner sees (a statement, or the choices in any order):

* ``hedge-absolute`` (true/false): answer T when the statement hedges ("usually", "can"), F
  when it has an absolute ("always", "only", "must"); applies when it has one kind and not the
  other.
* ``most-hedged`` (single choice): pick the choice with the most hedges minus absolutes, when
  one choice has strictly the most.
* ``all-but-absolute`` (multi-select): tick every choice except the one with strictly the most
  absolutes (at least one).
* ``odd-one-out`` (single choice): pick the choice sharing the fewest words with the others,
  when one shares strictly the fewest; ``convergence``, its mirror: the one sharing the most
  (distractors written as variations of the key give it away).
* ``stem-arithmetic`` (numeric): the difference of two numbers printed in the prompt.
* ``sorted-numbers`` (ordering): sort the items by the number each prints.

A rule's figure per bank is how often it is right where it applies, against chance for the same
items (1/choices; 1/(2^n - 1) for a select-all, whose number of keys the guesser does not
know; 2/n! for an ordering sorted one of two ways; 0 for a number). Whether that beats chance
is a one-sided exact test: the number right is a sum of independent Bernoulli draws with each
item's chance (a Poisson binomial, the binomial when every item has the same chance). A fixed
percentage would be noise: with 25 true/false items, chance alone moves the share right by
about 20 points either way. The test is not corrected for the several rules and banks, on
purpose: a false alarm costs a re-read, a missed cue costs every learner.

Example:
    >>> upper_tail(9, [0.5] * 10) == 11 / 1024
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb, factorial

from tlcourse.quiz.question import Question

#: A rule beats chance when the one-sided p-value is below this.
ALPHA = 0.05
#: A bank may have its answer be the longest choice(s) in at most 1/N of its single-choice
#: items, and separately of its multiple-choice items.
LONGEST_ANSWER_ONE_IN = 3

HEDGES = frozenset((
    "usually", "often", "can", "could", "may", "might", "typically", "generally", "sometimes",
    "likely", "probably", "mostly", "frequently", "tend", "tends", "rarely", "partly",
    "roughly", "some", "many",
))
ABSOLUTES = frozenset((
    "always", "never", "only", "must", "all", "every", "any", "none", "nothing", "everything",
    "guaranteed", "cannot", "impossible", "whatever", "regardless", "no",
))
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_STOP = frozenset((
    "the", "a", "an", "of", "to", "in", "on", "and", "or", "is", "are", "it", "its", "for",
    "with", "by", "as", "at", "be", "that", "this", "from", "than", "your", "you", "their",
    "they", "them", "which", "what", "when", "not",
))


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` ("can't" stays one word; "cannot" is an absolute)."""
    return _WORD.findall(text.lower().replace("can't", "cannot"))


def hedge_count(text: str) -> int:
    """How many hedging words ``text`` has ("usually", "can", "may", ...)."""
    return sum(w in HEDGES for w in words(text))


def absolute_count(text: str) -> int:
    """How many absolute words ``text`` has ("always", "never", "only", "must", ...)."""
    return sum(w in ABSOLUTES for w in words(text))


def stem_numbers(text: str) -> list[float]:
    """Numbers printed in ``text`` ("1,000" is one thousand)."""
    out = []
    for m in _NUMBER.findall(text):
        try:
            out.append(float(m.replace(",", "")))
        except ValueError:
            continue
    return out


def _unique_max(scores: Sequence[float]) -> int | None:
    best = max(scores)
    return scores.index(best) if list(scores).count(best) == 1 else None


# --------------------------------------------------------------------------- the rules
# Each takes a question (as stored or as displayed: only texts matter, order breaks no tie)
# and returns the response the rule gives, or None when it does not apply.
def hedge_absolute(q: Question):
    """T for a hedged statement, F for an absolute one; None when neither or both."""
    if q.type != "truefalse":
        return None
    hedged, absolute = hedge_count(q.prompt) > 0, absolute_count(q.prompt) > 0
    if hedged == absolute:
        return None
    return ("T",) if hedged else ("F",)


def most_hedged(q: Question):
    """The single choice with strictly the most hedges minus absolutes."""
    if q.type != "single":
        return None
    i = _unique_max([hedge_count(c.text) - absolute_count(c.text) for c in q.choices])
    return None if i is None else (q.choices[i].key,)


def all_but_absolute(q: Question):
    """Every choice of a select-all except the one with strictly the most absolutes."""
    if q.type != "multiple":
        return None
    counts = [absolute_count(c.text) for c in q.choices]
    i = _unique_max(counts)
    if i is None or counts[i] == 0:
        return None
    return tuple(sorted(c.key for j, c in enumerate(q.choices) if j != i))


def _shared_words(q: Question) -> list[float]:
    """Per choice: summed word overlap (Jaccard, content words) with the other choices."""
    sets = [set(words(c.text)) - _STOP for c in q.choices]
    return [sum(len(s & t) / max(1, len(s | t)) for j, t in enumerate(sets) if j != i)
            for i, s in enumerate(sets)]


def odd_one_out(q: Question):
    """The single choice sharing the fewest content words with the other choices."""
    if q.type != "single" or len(q.choices) < 3:
        return None
    i = _unique_max([-x for x in _shared_words(q)])
    return None if i is None else (q.choices[i].key,)


def convergence(q: Question):
    """The single choice sharing the most content words with the others (the "mean" choice)."""
    if q.type != "single" or len(q.choices) < 3:
        return None
    i = _unique_max(_shared_words(q))
    return None if i is None else (q.choices[i].key,)


def stem_arithmetic(q: Question):
    """The difference of two numbers in the prompt that lands on the answer, if any."""
    if q.type != "numeric":
        return None
    nums = stem_numbers(q.prompt)
    if len(nums) < 2:
        return None
    diffs = [abs(a - b) for a, b in combinations(nums, 2)]
    answer = float(q.answer)  # type: ignore[arg-type]
    return min(diffs, key=lambda d: abs(d - answer))


def sorted_numbers(q: Question):
    """An ordering's items sorted by the number each prints (the way that matches, if any)."""
    if q.type != "ordering":
        return None
    nums = [stem_numbers(c.text) for c in q.choices]
    if not all(nums):
        return None
    up = tuple(c.key for _, c in sorted(zip([n[0] for n in nums], q.choices),
                                       key=lambda p: p[0]))
    return up if up == q.answer else tuple(reversed(up))


@dataclass(frozen=True)
class Rule:
    """A test-wise rule, the item type it plays, and what it is called in reports."""

    name: str
    qtype: str
    describe: str
    play: Callable[[Question], object]


RULES = (
    Rule("hedge-absolute", "truefalse", "true/false: T if it hedges, F if it has an absolute",
         hedge_absolute),
    Rule("most-hedged", "single", "single: the most hedged, least absolute choice", most_hedged),
    Rule("odd-one-out", "single", "single: the choice sharing fewest words", odd_one_out),
    Rule("convergence", "single", "single: the choice sharing most words", convergence),
    Rule("all-but-absolute", "multiple", "multi-select: all but the most absolute choice",
         all_but_absolute),
    Rule("stem-arithmetic", "numeric", "numeric: a difference of two numbers in the stem",
         stem_arithmetic),
    Rule("sorted-numbers", "ordering", "ordering: sort by the numbers printed", sorted_numbers),
)


def chance(q: Question) -> float:
    """Probability that a blind guess of the rule's form is right on ``q``."""
    n = len(q.choices)
    if q.type == "truefalse":
        return 0.5
    if q.type == "single":
        return 1 / n
    if q.type == "multiple":
        return 1 / (2 ** n - 1)
    if q.type == "ordering":
        return min(1.0, 2 / factorial(n))
    return 0.0


def rule_is_right(rule: Rule, q: Question) -> bool | None:
    """Whether ``rule`` gets ``q`` right; None when it does not apply."""
    response = rule.play(q)
    if response is None:
        return None
    if q.type == "numeric":
        return abs(float(response) - float(q.answer)) <= q.tolerance + 1e-9  # type: ignore[arg-type]
    if q.type == "multiple":
        return tuple(sorted(response)) == q.answer  # type: ignore[arg-type]
    return tuple(response) == q.answer  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the test
def upper_tail(k: int, probs: Sequence[float]) -> float:
    """P(at least ``k`` successes) in independent trials with success chances ``probs``.

    The Poisson-binomial distribution, by the usual dynamic programme over trials; with equal
    chances it is the binomial tail, e.g. 9 or more heads in 10 fair tosses is 11/1024.

    Example:
        >>> round(upper_tail(2, [0.5, 0.5]), 3), upper_tail(0, [0.1]), upper_tail(1, [0.0])
        (0.25, 1.0, 0.0)
    """
    dist = [1.0]  # dist[j] = P(j successes so far)
    for p in probs:
        nxt = [0.0] * (len(dist) + 1)
        for j, mass in enumerate(dist):
            nxt[j] += mass * (1 - p)
            nxt[j + 1] += mass * p
        dist = nxt
    return min(1.0, max(0.0, sum(dist[k:])))


@dataclass(frozen=True)
class CueFigure:
    """How one rule did on a set of items."""

    rule: Rule
    applies: int  # items the rule answers
    right: int  # of those, answered right
    expected: float  # right answers chance alone would give on the same items
    p_value: float  # one-sided: P(at least `right` | chance)
    hits: tuple[str, ...]  # ids of the items it got right
    misses: tuple[str, ...] = ()  # ids of the items it got wrong
    p_reverse: float = 1.0  # true/false only: P(at most `right` | chance), for the reverse rule

    @property
    def beats_chance(self) -> bool:
        """Whether the rule does better than chance, by the test in the module docstring."""
        return self.applies > 0 and self.right > self.expected and self.p_value < ALPHA

    @property
    def reverse_beats_chance(self) -> bool:
        """True/false only: whether answering the opposite of the rule beats chance."""
        return self.applies > 0 and self.right < self.expected and self.p_reverse < ALPHA

    def text(self) -> str:
        """``hedge-absolute 6/9 right (chance 4.5, p = 0.25)``."""
        if not self.applies:
            return f"{self.rule.name} -"
        return (f"{self.rule.name} {self.right}/{self.applies} right "
                f"(chance {self.expected:.1f}, p = {self.p_value:.2g})")


def cue_figures(questions: Sequence[Question]) -> list[CueFigure]:
    """Each rule's figure on ``questions`` (one bank, or every bank together)."""
    out = []
    for rule in RULES:
        played = [(q, rule_is_right(rule, q)) for q in questions if q.type == rule.qtype]
        played = [(q, ok) for q, ok in played if ok is not None]
        hits = tuple(q.id for q, ok in played if ok)
        misses = tuple(q.id for q, ok in played if not ok)
        probs = [chance(q) for q, _ in played]
        # The reverse of a true/false rule is a rule too: right where it is wrong.
        reverse = upper_tail(len(misses), [1 - p for p in probs]) if rule.qtype == "truefalse" \
            else 1.0
        out.append(CueFigure(rule, len(played), len(hits), sum(probs),
                             upper_tail(len(hits), probs), hits, misses, reverse))
    return out


def cue_giveaways(questions: Sequence[Question]) -> list[tuple[str, str]]:
    """``(question id, what is wrong)`` for every item a rule gets right, when it beats chance.

    Rewording any of them brings the bank closer: a false statement without an absolute, a
    true one with one where it is true, a key worded as firmly as the distractors.
    """
    problems = []
    for f in cue_figures(questions):
        if f.beats_chance:
            why = (f"wording gives the key away: the test-wise rule '{f.rule.describe}' is "
                   f"right in {f.right} of the {f.applies} items it applies to here (chance "
                   f"{f.expected:.1f}; one-sided p = {f.p_value:.2g} < {ALPHA}): reword this "
                   "item so the rule misses it (see quizzes/README.md, 'Wording')")
            problems += [(qid, why) for qid in f.hits]
        if f.reverse_beats_chance:
            why = (f"wording gives the key away in reverse: the test-wise rule "
                   f"'{f.rule.describe}' is wrong in {f.applies - f.right} of the {f.applies} "
                   f"items it applies to here, so answering the opposite pays (one-sided p = "
                   f"{f.p_reverse:.2g} < {ALPHA}): reword this item so the rule gets it right")
            problems += [(qid, why) for qid in f.misses]
    return problems


def cue_summary(groups: Sequence[tuple[str, Sequence[Question]]]) -> str:
    """Per group (a bank, or "all banks"), each rule's figure, marked when it beats chance.

    Example:
        >>> cue_summary([("none", [])]).splitlines()[1].strip().startswith("none")
        True
    """
    lines = [(f"wording cues (a test-wise rule's right answers where it applies, vs chance; "
              f"'!' marks one that beats chance, one-sided p < {ALPHA}):")]
    for name, qs in groups:
        figs = [f.text() + ("!" if f.beats_chance or f.reverse_beats_chance else "")
                for f in cue_figures(qs) if f.applies]
        lines.append(f"  {name:<10} " + ("; ".join(figs) or "no rule applies"))
    return "\n".join(lines)


def pool_chance(probs: Sequence[float]) -> float:
    """Expected share right of a blind guesser with per-item chances ``probs``."""
    return sum(probs) / len(probs) if probs else 0.0


def binom_quantile(n: int, p: float, level: float) -> int:
    """Smallest k with P(Binomial(n, p) >= k+1) <= 1 - level: an upper bound on counts.

    Example:
        >>> binom_quantile(100, 0.05, 0.99)
        11
    """
    k = 0
    while k < n and sum(comb(n, j) * p ** j * (1 - p) ** (n - j)
                        for j in range(k + 1, n + 1)) > 1 - level:
        k += 1
    return k


# --------------------------------------------------------------------------- length
def answer_is_longest(q: Question) -> bool:
    """Whether a single/multiple item's answer is simply its longest choice(s).

    True when every correct choice is strictly longer, in characters, than every wrong one:
    for a single-choice item, the correct choice is the strictly longest; for a multiple-choice
    item with n correct choices, they are the n longest (ties with a wrong choice do not count).

    Example:
        >>> from tlcourse.quiz.question import Choice
        >>> q = Question("x", "ch", "t", "easy", "single", "?", ("A",),
        ...              (Choice("A", "a long answer", "."), Choice("B", "short", ".")))
        >>> answer_is_longest(q)
        True
    """
    if q.type not in ("single", "multiple"):
        return False
    right = [len(c.text) for c in q.choices if c.key in q.answer]
    wrong = [len(c.text) for c in q.choices if c.key not in q.answer]
    return bool(right and wrong) and min(right) > max(wrong)


def length_giveaways(questions: list[Question] | tuple[Question, ...]) -> list[tuple[str, str]]:
    """The items of one bank whose answer is given away by length, when there are too many.

    A learner who always picks the longest choice should score no better than chance. So in
    at most one in :data:`LONGEST_ANSWER_ONE_IN` of a bank's single-choice items may the
    correct choice be the strictly longest, and, counted separately, in at most one in
    :data:`LONGEST_ANSWER_ONE_IN` of its multiple-choice items may the key be exactly the
    longest choices (see :func:`answer_is_longest`). When a bank exceeds a limit, every item
    counted against it is reported: fixing any of them brings the bank closer.

    Returns:
        ``(question id, what is wrong)`` pairs; empty when the bank is within both limits.
    """
    problems = []
    for qtype, what, fix in [
        ("single", "the correct choice is the strictly longest",
         "lengthen a wrong choice or shorten the right one"),
        ("multiple", "the correct choices are exactly the longest ones",
         "make a wrong choice at least as long as the shortest right one"),
    ]:
        items = [q for q in questions if q.type == qtype]
        longest = [q for q in items if answer_is_longest(q)]
        allowed = len(items) // LONGEST_ANSWER_ONE_IN
        if len(longest) > allowed:
            why = (f"{what}, as in {len(longest)} of this bank's {len(items)} {qtype}-choice "
                   f"items (at most {allowed} may be): {fix}")
            problems += [(q.id, why) for q in longest]
    return problems
