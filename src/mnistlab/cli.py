"""The command line: the only place that parses flags. One function per subcommand."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mnistlab import __version__, progress
from mnistlab.config import ACTIVATIONS, ARCHITECTURES, DATASETS, OPTIMIZERS
from mnistlab.errors import UserError

QUICK_TRAIN_SIZE = 2000


# ---------------------------------------------------------------- shared options
def _common(
    parser: argparse.ArgumentParser, *, dataset: bool = False, ensembles: bool = True
) -> None:
    parser.add_argument(
        "--data-dir",
        help="folder with <dataset>/*.gz (default: $MNISTLAB_DATA_DIR, else ~/.cache/mnistlab/data)",
    )
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
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig, parse_hidden

    model = ModelConfig(
        arch=args.arch,
        hidden_units=parse_hidden(args.hidden),
        activation=args.activation,
        dropout=args.dropout,
    )
    train_size = args.train_size
    epochs = args.epochs
    if args.quick:
        train_size, epochs = min(train_size or QUICK_TRAIN_SIZE, QUICK_TRAIN_SIZE), 1
    train = TrainConfig(
        optimizer=args.optimizer,
        learning_rate=args.lr,
        epochs=epochs,
        batch_size=args.batch_size,
        train_size=train_size,
    )
    return RunSpec(dataset=args.dataset, model=model, train=train, seed=args.seed)


# ---------------------------------------------------------------- commands
def cmd_data(args) -> int:
    from mnistlab.data import check_file, ensure_file, resolve_data_dir
    from mnistlab.datasets import DATASETS as INFO
    from mnistlab.datasets import FILE_STEMS

    root = resolve_data_dir(args.data_dir)
    names = [args.dataset] if args.dataset else list(INFO)
    print(f"data directory: {root}")
    bad = 0
    for name in names:
        for stem in FILE_STEMS.values():
            if args.download:
                ensure_file(root, name, stem, download=True)
            status = check_file(root, name, stem)
            where = status.path or root / name / f"{stem}.gz"
            line = f"  {status.state:8s} {name}/{stem}  {where}"
            if status.state != "ok":
                bad += 1
                line += f"\n           {status.detail}"
            print(line)
    if bad:
        print(
            f"{bad} file(s) missing or corrupt: run 'mnistlab data --download' (or set --data-dir)",
            file=sys.stderr,
        )
        return 2
    print("all files verified (SHA-256 of the decompressed IDX bytes matches the published value)")
    return 0


def cmd_train(args) -> int:
    from mnistlab.runs import environment, write_json
    from mnistlab.training import train

    spec = _spec_from_args(args)
    trained = train(spec, data_dir=args.data_dir, cache_dir=args.cache_dir, retrain=args.retrain)
    meta = trained.meta
    folder = Path(args.out) / "train" / f"{spec.dataset}-{spec.cache_key('')[:10]}"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(trained.path / "model.keras", folder / "model.keras")
    write_json(
        folder / "results.json", {**meta, "environment": environment(), "cache": str(trained.path)}
    )
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
    p.add_argument(
        "--data-dir",
        help="folder with <dataset>/*.gz (default: $MNISTLAB_DATA_DIR, else ~/.cache/mnistlab/data)",
    )
    p.add_argument("--dataset", choices=DATASETS, help="only this data set")
    p.add_argument(
        "--download", action="store_true", help="download missing files from the public mirrors"
    )
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train one model; print and save train/test accuracy")
    _common(p, dataset=True, ensembles=False)
    _model_options(p)
    p.set_defaults(func=cmd_train)

    from mnistlab.experiments import register_commands

    register_commands(sub, _common)
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
    except ImportError as exc:
        import os

        backend = os.environ.get("KERAS_BACKEND", "jax")
        print(
            f"mnistlab: error: cannot import {exc.name or exc} for the Keras backend {backend!r}: "
            "install it, or unset KERAS_BACKEND to use JAX",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "mnistlab: interrupted; finished work is saved, run the same command again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
