"""What each command does with its parsed arguments (the flags themselves are in cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from mnistlab.config import DATASETS

DATA_FIX = "run 'mnistlab data --download' (or set --data-dir)"


def _configs_from_args(args):
    """The model and training `train` is given, checked before anything is written."""
    from mnistlab.config import ModelConfig, TrainConfig
    from mnistlab.parse import parse_hidden

    model = ModelConfig(
        arch=args.arch,
        hidden_units=None if args.hidden is None else parse_hidden(args.hidden),
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
    return model, train


def flag(setting) -> str:
    """How the command line spells a run setting: its flag."""
    return setting.option


def context_from_args(args, *, reuse: bool = False):
    """The study context of a command, its values checked, errors naming the flags. A setting
    the command does not offer (`train` has no --seeds) takes its default."""
    from mnistlab import settings
    from mnistlab.studies.framework.context import StudyContext

    given = {s.name: getattr(args, s.name) for s in settings.RUN_SETTINGS if hasattr(args, s.name)}
    return StudyContext.checked(flag, **given, reuse=reuse)


def _options_from_args(study, args):
    from mnistlab.studies.framework.study import option_fields

    values = {}
    for f in option_fields(study.options):
        if hasattr(args, f.name):
            parse = f.metadata["option"]["parse"]
            value = getattr(args, f.name)
            values[f.name] = parse(value) if parse else value
    return study.options(**values)


def cmd_study(args) -> int:
    """Every study's handler: options checked first, then run (or its saved results reused,
    as the report does, when the same inputs made them), then its summary printed."""
    study = args.study
    options = _options_from_args(study, args)
    ctx = context_from_args(args, reuse=True)
    document = study.run(ctx, options)
    if document.get("reused"):
        print(
            f"{document['study']}: reused its results.json and {len(document['figures'])} "
            f"figure(s) in {ctx.folder(document['study'])}, made from the same inputs (remove "
            "that folder to compute them again; --retrain also trains the models again)"
        )
    else:
        print(
            f"{document['study']}: wrote {len(document['figures'])} figure(s) and results.json "
            f"in {document['seconds']:.1f} s"
        )
    for line in document["summary"]:
        print(f"  {line}")
    return 0


def cmd_methods(args) -> int:
    """The registry as a table: what --methods accepts, and what each method needs."""
    from mnistlab.parse import parse_floats
    from mnistlab.uncertainty import MC_DROPOUT_RATE, registered
    from mnistlab.uncertainty.registry import expand

    sizes = {"members": "K", "ensemble_size": "M", "rate": MC_DROPOUT_RATE}
    fractions = parse_floats(args.p)
    print(f"{'key':18s} {'kind':13s} {'models':22s} {'fits on held-out data':28s} name")
    for m in expand(registered(), sizes, fractions):
        print(f"{m.key:18s} {m.kind:13s} {', '.join(m.roles):22s} {m.fits or '-':28s} {m.name}")
    print("--methods takes these keys, or 'wdrop' for every weight-dropout variant")
    return 0


EXAMPLE_FILES = ("exercise.ipynb", "grid.toml")


def cmd_examples(args) -> int:
    """Copy the examples that come with the package into a folder: the notebook and a grid."""
    from importlib import resources

    from mnistlab.errors import UserError
    from mnistlab.runs import atomic_path

    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; give --out a folder to write the examples into")
    source = resources.files("mnistlab.examples")
    for name in EXAMPLE_FILES:
        target = folder / name
        if target.exists() and not args.force:
            print(f"kept     {target} (it exists; --force overwrites it)")
            continue
        with atomic_path(target) as temporary:
            temporary.write_bytes(source.joinpath(name).read_bytes())
        print(f"wrote    {target}")
    print(
        f"open the notebook with: jupyter lab {folder / 'exercise.ipynb'} "
        f"(or `make notebook` in a clone); use the grid with: mnistlab variants --grid "
        f"{folder / 'grid.toml'}"
    )
    return 0


def cmd_report(args) -> int:
    from mnistlab import pipeline

    result = pipeline.run(context_from_args(args, reuse=True))
    folder = result["folder"]
    print(
        f"report: wrote {folder}/index.html, report.md and results.json in {result['seconds']:.1f} s"
    )
    for name, seconds in result["meta"]["study_seconds"].items():
        reused = result["meta"]["reused"].get(name)
        print(f"  {name:11s} {seconds:6.1f} s{'  (reused)' if reused else ''}")
    from mnistlab.report.cost import cost_text, ray_text

    print(f"  cost: {cost_text(result['meta']['cost'])}")
    if result["meta"]["ray"] is not None:
        print(f"  ray: {ray_text(result['meta']['ray'])}")
    return 0


def cmd_explore(args) -> int:
    from mnistlab.explore import page, server

    path = page.write(context_from_args(args))
    size = path.stat().st_size / 2**20
    print(f"explore: wrote {path} ({size:.1f} MB; open it in a browser, no server needed)")
    if args.serve:
        server.serve(path)
    return 0


def cmd_bench(args) -> int:
    from mnistlab import bench

    return bench.main(
        context_from_args(args),
        with_report=not args.no_report,
        with_exercise=not args.no_exercise,
    )


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
        print(f"{bad} file(s) missing or corrupt: {DATA_FIX}", file=sys.stderr)
        return 2
    print("all files verified (SHA-256 of the decompressed IDX bytes matches the published value)")
    return 0


def cmd_train(args) -> int:
    from mnistlab.config import RunSpec
    from mnistlab.studies.framework.context import get_models
    from mnistlab.training import export

    model, train = _configs_from_args(args)
    ctx = context_from_args(args)  # --seed, --out and the cache checked before training
    spec = RunSpec(dataset=args.dataset, model=model, train=ctx.profile.apply(train), seed=ctx.seed)
    (trained,) = get_models(ctx, [spec])
    meta = trained.meta
    folder = export(trained, ctx.out / "train" / f"{spec.dataset}-{spec.cache_key('')[:10]}")
    source = "loaded from cache" if trained.from_cache else "trained"
    print(f"{spec.describe()} ({source})")
    print(
        f"  train accuracy {meta['train/acc']:.4f}   test accuracy {meta['test/acc']:.4f}   "
        f"{meta['seconds_per_epoch']:.2f} s/epoch"
    )
    print(f"  wrote {folder}/model.keras and results.json")
    return 0
