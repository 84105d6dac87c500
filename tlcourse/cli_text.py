"""``tlcourse text check|train|iterations|predict|export``: chapter 7's workflow for a CSV of texts.

Examples:
    tlcourse text check reviews.csv --text-col review --label-col stars
    tlcourse text train reviews.csv --text-col review --label-col stars --out review-model
    tlcourse text predict review-model "A joy from start to finish." new.csv --csv answers.csv
    tlcourse text export review-model --format onnx

Only argparse is imported here: torch and transformers load when a command runs.
"""

from __future__ import annotations

import argparse
import sys

from .cli_args import fraction, new_file, positive_int, probability


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from .text.csv_input import check_csv

    report = check_csv(args.csv, args.text_col, args.label_col)
    print(json.dumps(report.to_json(), indent=1, ensure_ascii=False) if args.json
          else report.format())
    return 0 if report.ok else 1


def _cmd_train(args: argparse.Namespace) -> int:
    from .text.csv_input import CsvError
    from .text.workflow import TextSettings, train_text_model

    settings = TextSettings(method=args.method, seed=args.seed, holdout=args.holdout,
                            threshold=args.threshold, text_col=args.text_col,
                            label_col=args.label_col)
    try:
        it = train_text_model(args.csv, args.out, settings, progress=not args.no_progress)
    except CsvError as e:  # every problem of the CSV, with the counts
        print(e.report.format(), file=sys.stderr)
        return 1
    print(it.report.format())
    print(f"\niteration {it.number} of {args.out}: {it.method} on {it.encoder} "
          f"({it.method_reason}); {it.trainable_parameters:,} trainable parameters; fit on "
          f"{it.n_train} texts, scored on {it.n_eval} by {it.evaluation}; threshold "
          f"{it.threshold:.2f} ({it.threshold_reason}).\ntime: {it.timing()}")
    return 0


def _cmd_iterations(args: argparse.Namespace) -> int:
    import json

    from .custom.model_folder import current_iteration, format_iterations, iterations

    rows = iterations(args.model)
    print(json.dumps(rows, indent=1, ensure_ascii=False) if args.json
          else format_iterations(rows, current_iteration(args.model), unit="texts"))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .text.text_model import load_text_model, read_texts, summary, write_text_predictions

    texts, sources, errors = [], [], {}
    for item in args.inputs:  # a CSV file, or a sentence
        path = Path(item).expanduser()
        if item.lower().endswith(".csv") or path.is_file():
            t, s, e = read_texts(path, args.text_col)
            errors.update({len(texts) + i: why for i, why in e.items()})
            texts += t
            sources += s
        else:
            texts.append(item)
            sources.append(item if len(item) <= 60 else item[:57] + "...")
    model = load_text_model(args.model, args.iteration)
    rows = model.predict(texts, sources, top_k=args.top, threshold=args.threshold, errors=errors)
    for r in rows:
        print(r.format(), file=sys.stderr if r.error else sys.stdout)
    t = model.threshold if args.threshold is None else args.threshold
    print(summary(rows, t), file=sys.stderr)
    if args.csv:
        print(f"wrote {write_text_predictions(rows, texts, args.csv)}", file=sys.stderr)
    return 1 if not rows or any(r.error for r in rows) else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .text.onnx_export import export_text_onnx
    from .text.text_model import load_text_model

    model = load_text_model(args.model, args.iteration)
    out = Path(args.out) if args.out else Path(args.model) / "onnx"
    print(export_text_onnx(model, out).format())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``text`` and its subcommands, each with ``func(args) -> exit code``."""
    p = subparsers.add_parser("text", help="your own texts: check, train, predict and export a "
                                           "classifier on a CSV (a text and a label column)")
    sub = p.add_subparsers(dest="text_command", metavar="COMMAND", required=True)

    def columns(q: argparse.ArgumentParser, label: bool = True) -> None:
        q.add_argument("--text-col", default="text", metavar="NAME",
                       help="the column holding the texts (default: text)")
        if label:
            q.add_argument("--label-col", default="label", metavar="NAME",
                           help="the column holding the labels (default: label)")

    ck = sub.add_parser("check", help="check a CSV before training on it (only reads it)")
    ck.add_argument("csv", help="FILE.csv, UTF-8, a header line naming the columns")
    columns(ck)
    ck.add_argument("--json", action="store_true", help="print the report as JSON")
    ck.set_defaults(func=_cmd_check)

    t = sub.add_parser("train", help="train on a CSV; each train is a new iteration of the "
                                     "model folder")
    t.add_argument("csv", help="FILE.csv, UTF-8, a header line naming the columns")
    columns(t)
    t.add_argument("--out", required=True, metavar="MODEL", help="the model folder")
    t.add_argument("--method", choices=["probe", "lora", "auto"], default="auto",
                   help="probe: linear head on frozen MiniLM sentence vectors (seconds); lora: "
                        "LoRA adapters + head (minutes); auto: lora only with >= 50 training "
                        "rows in every label")
    t.add_argument("--seed", type=int, default=0, help="seeds the split and the training")
    t.add_argument("--holdout", type=fraction, default=0.2,
                   help="share of each label held out for scoring (cross-validation when a "
                        "label is too small to spare rows)")
    t.add_argument("--threshold", type=probability,
                   help="probability below which a prediction is 'unknown' (default: chosen "
                        "on training rows the model did not see)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train)

    it = sub.add_parser("iterations", help="compare a text model folder's iterations")
    it.add_argument("model", help="the model folder")
    it.add_argument("--json", action="store_true", help="print every iteration's record as JSON")
    it.set_defaults(func=_cmd_iterations)

    pr = sub.add_parser("predict", help="classify sentences or the texts of CSV files")
    pr.add_argument("model", help="the model folder")
    pr.add_argument("inputs", nargs="+", metavar="TEXT_OR_CSV",
                    help="a sentence in quotes, or FILE.csv (its text column is read)")
    columns(pr, label=False)
    pr.add_argument("--threshold", type=probability,
                    help="override the model's threshold (a probability in [0, 1))")
    pr.add_argument("--top", type=positive_int, default=3, help="labels shown per text (default 3)")
    pr.add_argument("--iteration", type=positive_int, help="use this iteration (default: the latest)")
    pr.add_argument("--csv", metavar="FILE", type=new_file, help="also write the predictions as CSV")
    pr.set_defaults(func=_cmd_predict)

    ex = sub.add_parser("export", help="export to ONNX (LoRA merged) with the tokenizer and a "
                                       "README, checked against PyTorch on real rows")
    ex.add_argument("model", help="the model folder")
    ex.add_argument("--format", choices=["onnx"], default="onnx", help="only ONNX for now")
    ex.add_argument("--out", metavar="FOLDER", help="the export folder (default MODEL/onnx)")
    ex.add_argument("--iteration", type=positive_int, help="export this iteration (default: the latest)")
    ex.set_defaults(func=_cmd_export)
