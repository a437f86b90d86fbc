"""The command line: the only place that parses flags.

`data`, `train`, `bench` and `report` have their own handlers; every study in the registry
becomes a subcommand with its own options (from its options dataclass) and one generic handler.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mnistlab import progress
from mnistlab.config import ACTIVATIONS, ARCHITECTURES, DATASETS, OPTIMIZERS
from mnistlab.errors import UserError
from mnistlab.version import __version__

BACKEND_MODULES = {"jax", "jaxlib", "tensorflow", "torch"}  # what a Keras backend needs
DATA_DIR_HELP = (
    "folder with <dataset>/*.gz (default: $MNISTLAB_DATA_DIR, else ~/.cache/mnistlab/data)"
)


# ---------------------------------------------------------------- shared options
def _common(
    parser: argparse.ArgumentParser, *, dataset: bool = False, ensembles: bool = True
) -> None:
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument(
        "--cache-dir",
        help="trained-model cache (default: $MNISTLAB_CACHE_DIR, else ~/.cache/mnistlab)",
    )
    parser.add_argument(
        "--out", default="mnistlab-out", help="output folder (default: mnistlab-out)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny subset, 1 epoch, few members: a smoke run in seconds",
    )
    parser.add_argument(
        "--retrain", action="store_true", help="train again even if the model is cached"
    )
    if ensembles:
        parser.add_argument(
            "--memory-budget",
            type=float,
            default=1024,
            help="MiB an ensemble evaluation may use per call (default: 1024; results do not depend on it)",
        )
    if dataset:
        parser.add_argument(
            "--dataset", choices=DATASETS, default="fashion-mnist", help="default: fashion-mnist"
        )


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and training (defaults: the Keras tutorial)")
    group.add_argument("--arch", choices=ARCHITECTURES, default="mlp")
    group.add_argument(
        "--hidden", default="128", help="hidden layer sizes, e.g. 128 or 256,128 (default: 128)"
    )
    group.add_argument(
        "--activation", default="relu", help=f"one of {', '.join(ACTIVATIONS)} (default: relu)"
    )
    group.add_argument(
        "--dropout", type=float, default=0.0, help="dropout rate after hidden layers (default: 0)"
    )
    group.add_argument(
        "--optimizer", default="adam", help=f"one of {', '.join(OPTIMIZERS)} (default: adam)"
    )
    group.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 0.001)")
    group.add_argument("--epochs", type=int, default=10, help="default: 10")
    group.add_argument("--batch-size", type=int, default=32, help="default: 32")
    group.add_argument(
        "--train-size", type=int, default=None, help="train on the first N images only"
    )


def _spec_from_args(args):
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig, parse_hidden, profile

    model = ModelConfig(
        arch=args.arch,
        hidden_units=parse_hidden(args.hidden),
        activation=args.activation,
        dropout=args.dropout,
    )
    train = TrainConfig(  # checked as given, before --quick shrinks it
        optimizer=args.optimizer,
        learning_rate=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        train_size=args.train_size,
    )
    return RunSpec(
        dataset=args.dataset, model=model, train=profile(args.quick).apply(train), seed=args.seed
    )


def context_from_args(args):
    from mnistlab.studies.context import StudyContext

    return StudyContext(
        out=Path(args.out),
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        seed=args.seed,
        quick=args.quick,
        retrain=args.retrain,
        memory_budget=int(getattr(args, "memory_budget", 1024) * 2**20),
    )


def _add_study_options(parser: argparse.ArgumentParser, study) -> None:
    """One flag per option field of the study's options dataclass."""
    from mnistlab.studies.study import option_fields

    for f in option_fields(study.options):
        meta = f.metadata["option"]
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        # SUPPRESS: an option not given keeps the dataclass default, the one place defaults live.
        parser.add_argument(
            flag, dest=f.name, default=argparse.SUPPRESS, help=meta["help"], **meta["argparse"]
        )


def _options_from_args(study, args):
    from mnistlab.studies.study import option_fields

    values = {}
    for f in option_fields(study.options):
        if hasattr(args, f.name):
            parse = f.metadata["option"]["parse"]
            value = getattr(args, f.name)
            values[f.name] = parse(value) if parse else value
    return study.options(**values)


def cmd_study(args) -> int:
    """Every study's handler: options checked first, then run, then its summary printed."""
    study = args.study
    options = _options_from_args(study, args)
    document = study.run(context_from_args(args), options)
    print(
        f"{document['study']}: wrote {len(document['figures'])} figure(s) and results.json "
        f"in {document['seconds']:.1f} s"
    )
    for line in document["summary"]:
        print(f"  {line}")
    return 0


def cmd_report(args) -> int:
    from dataclasses import replace

    from mnistlab.report import pipeline

    result = pipeline.run(replace(context_from_args(args), reuse=True))
    folder = result["folder"]
    print(
        f"report: wrote {folder}/index.html, report.md and results.json in {result['seconds']:.1f} s"
    )
    for name, seconds in result["meta"]["study_seconds"].items():
        reused = result["meta"]["reused"].get(name)
        print(f"  {name:11s} {seconds:6.1f} s{'  (reused)' if reused else ''}")
    return 0


def cmd_bench(args) -> int:
    from mnistlab import bench

    results = bench.run(context_from_args(args), with_report=not args.no_report)
    path = bench.write_results(results, args.out)
    print(bench.table(results))
    print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- commands
def cmd_data(args) -> int:
    from mnistlab.data import check_all, resolve_data_dir

    root = resolve_data_dir(args.data_dir)
    print(f"data directory: {root}")
    statuses = check_all(root, [args.dataset] if args.dataset else DATASETS, args.download)
    for status in statuses:
        where = status.path or root / status.dataset / f"{status.stem}.gz"
        print(f"  {status.state:8s} {status.dataset}/{status.stem}  {where}")
        if status.state != "ok":
            print(f"           {status.detail}")
    if bad := sum(status.state != "ok" for status in statuses):
        print(
            f"{bad} file(s) missing or corrupt: run 'mnistlab data --download' (or set --data-dir)",
            file=sys.stderr,
        )
        return 2
    print("all files verified (SHA-256 of the decompressed IDX bytes matches the published value)")
    return 0


def cmd_train(args) -> int:
    from mnistlab.training import export, train

    spec = _spec_from_args(args)
    trained = train(spec, data_dir=args.data_dir, cache_dir=args.cache_dir, retrain=args.retrain)
    meta = trained.meta
    folder = export(trained, Path(args.out) / "train" / f"{spec.dataset}-{spec.cache_key('')[:10]}")
    source = "loaded from cache" if trained.from_cache else "trained"
    print(f"{spec.describe()} ({source})")
    print(
        f"  train accuracy {meta['train/acc']:.4f}   test accuracy {meta['test/acc']:.4f}   "
        f"{meta['seconds_per_epoch']:.2f} s/epoch"
    )
    print(f"  wrote {folder}/model.keras and results.json")
    return 0


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnistlab",
        description="Train MNIST / Fashion-MNIST classifiers and measure when their answers can be trusted.",
    )
    parser.add_argument("--version", action="version", version=f"mnistlab {__version__}")
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bars or status lines"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("data", help="list both data sets, verify them, say where they are")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--dataset", choices=DATASETS, help="only this data set")
    p.add_argument(
        "--download", action="store_true", help="download missing files from the public mirrors"
    )
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train one model; print and save train/test accuracy")
    _common(p, dataset=True, ensembles=False)
    _model_options(p)
    p.set_defaults(func=cmd_train)

    from mnistlab.studies.registry import STUDIES

    for study in STUDIES:
        p = sub.add_parser(study.name, help=study.help)
        _common(p, ensembles=study.evaluates_ensembles)
        _add_study_options(p, study)
        p.set_defaults(func=cmd_study, study=study)

    p = sub.add_parser(
        "bench", help="measure speed against this machine's matmul peak; print a table, write JSON"
    )
    _common(p)
    p.add_argument(
        "--no-report", action="store_true", help="skip the cold lab report (the slowest part)"
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "report", help="run (or reuse) every study and write the lab report (HTML + Markdown)"
    )
    _common(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.set_quiet(args.quiet)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"mnistlab: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name not in BACKEND_MODULES:
            raise  # a bug, not a missing backend: show it as one
        backend = os.environ.get("KERAS_BACKEND", "jax")
        message = f"cannot import {exc.name} for the Keras backend {backend!r}"
        print(f"mnistlab: error: {message}: install it, or unset KERAS_BACKEND", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "mnistlab: interrupted; finished work is saved, run the same command again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
