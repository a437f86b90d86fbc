"""One module per study; each is a subcommand. `register_commands` adds them to the CLI."""

from __future__ import annotations

from pathlib import Path


def context_from_args(args):
    from mnistlab.experiments.common import StudyContext

    return StudyContext(
        out=Path(args.out),
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        seed=args.seed,
        quick=args.quick,
        retrain=args.retrain,
        memory_budget=int(args.memory_budget * 2**20),
    )


def _print_summary(document: dict) -> int:
    print(
        f"{document['study']}: wrote {len(document['figures'])} figure(s) and results.json "
        f"in {document['seconds']:.1f} s"
    )
    for line in document["summary"]:
        print(f"  {line}")
    return 0


def _floats(text: str) -> list[float]:
    from mnistlab.errors import ConfigError

    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(
            f"--p takes numbers separated by commas (e.g. 0.01,0.2), got {text!r}"
        ) from None


def cmd_variants(args) -> int:
    from mnistlab.experiments import variants

    datasets = [args.dataset] if args.dataset else list(variants.DEFAULT_GRID)
    grid = variants.load_grid(args.grid) if args.grid else variants.default_grid(datasets)
    return _print_summary(variants.run(context_from_args(args), grid=grid, seeds=args.seeds))


def cmd_confidence(args) -> int:
    from mnistlab.experiments import confidence

    datasets = [args.dataset] if args.dataset else ["fashion-mnist", "mnist"]
    return _print_summary(confidence.run(context_from_args(args), datasets=datasets))


def cmd_cross(args) -> int:
    from mnistlab.experiments import cross

    return _print_summary(cross.run(context_from_args(args)))


def cmd_morph(args) -> int:
    from mnistlab.experiments import morph

    return _print_summary(morph.run(context_from_args(args), pairs=args.pair))


def cmd_dropout(args) -> int:
    from mnistlab.experiments import dropout

    ps = _floats(args.p)
    dropout.validate(ps, args.members if args.members is not None else 1)
    document = dropout.run(
        context_from_args(args),
        ps=ps,
        members=args.members,
        drop_biases=args.drop_biases,
        arch=args.arch,
    )
    return _print_summary(document)


def register_commands(subparsers, add_common) -> None:
    from mnistlab.config import DATASETS

    p = subparsers.add_parser(
        "variants", help="train a grid of network variants; table of train/test accuracy"
    )
    add_common(p)
    p.add_argument(
        "--dataset", choices=DATASETS, help="only this data set's default grid (default: both)"
    )
    p.add_argument("--grid", help="TOML file of [[variant]] tables (see examples/grid.toml)")
    p.add_argument(
        "--seeds", type=int, default=1, help="train every variant with N seeds; report mean ± std"
    )
    p.set_defaults(func=cmd_variants)

    p = subparsers.add_parser(
        "confidence", help="confidence histograms of right and wrong test answers"
    )
    add_common(p)
    p.add_argument("--dataset", choices=DATASETS, help="only this data set (default: both)")
    p.set_defaults(func=cmd_confidence)

    p = subparsers.add_parser(
        "cross", help="each model on the other data set: accuracy and confidence"
    )
    add_common(p)
    p.set_defaults(func=cmd_cross)

    p = subparsers.add_parser("morph", help="blend two test digits and follow the prediction")
    add_common(p)
    p.add_argument(
        "--pair",
        nargs=2,
        type=int,
        action="append",
        metavar=("I", "J"),
        help="test indices of I1 and I2 (repeatable; default: 3 pairs picked from the seed)",
    )
    p.set_defaults(func=cmd_morph)

    p = subparsers.add_parser(
        "dropout", help="post-training weight dropout ensembles of the fashion model"
    )
    add_common(p)
    p.add_argument(
        "--p",
        default="0.01,0.03,0.2,0.6",
        help="fractions of weights set to 0 (default: 0.01,0.03,0.2,0.6)",
    )
    p.add_argument(
        "--members",
        type=int,
        default=None,
        help="K perturbed models (default: 100; 10 with --quick)",
    )
    p.add_argument(
        "--drop-biases", action="store_true", help="drop biases too (default: weights only)"
    )
    p.add_argument(
        "--arch", choices=("mlp", "cnn"), default="mlp", help="which fashion model (default: mlp)"
    )
    p.set_defaults(func=cmd_dropout)

    p = subparsers.add_parser(
        "scoreboard", help="compare uncertainty methods: calibration, error and OOD detection"
    )
    add_common(p)
    p.add_argument("--dataset", choices=DATASETS, help="only this data set (default: both)")
    p.add_argument(
        "--members",
        type=int,
        default=None,
        help="weight/MC dropout members (default: 100; 10 with --quick)",
    )
    p.add_argument(
        "--ensemble-size",
        type=int,
        default=None,
        help="deep ensemble size M (default: 5; 2 with --quick)",
    )
    p.add_argument(
        "--p", default=None, help="weight dropout fractions (default: 0.01,0.03,0.2,0.6)"
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        help="bootstrap resamples for intervals (default: 1000)",
    )
    p.set_defaults(func=cmd_scoreboard)

    p = subparsers.add_parser(
        "bench", help="measure speed against this machine's matmul peak; print a table, write JSON"
    )
    add_common(p)
    p.add_argument(
        "--no-report", action="store_true", help="skip the cold lab report (the slowest part)"
    )
    p.set_defaults(func=_cmd_bench)

    p = subparsers.add_parser(
        "report", help="run (or reuse) every study and write the lab report (HTML + Markdown)"
    )
    add_common(p)
    p.set_defaults(func=cmd_report)


def cmd_scoreboard(args) -> int:
    from mnistlab.experiments import scoreboard

    datasets = [args.dataset] if args.dataset else ["mnist", "fashion-mnist"]
    ps = _floats(args.p) if args.p else None
    document = scoreboard.run(
        context_from_args(args),
        datasets=datasets,
        members=args.members,
        ensemble_size=args.ensemble_size,
        ps=ps,
        bootstrap=args.bootstrap,
    )
    print(scoreboard_table(document))
    return _print_summary(document)


def scoreboard_table(document: dict) -> str:
    lines = []
    for dataset, entry in document["datasets"].items():
        lines.append(f"{dataset} (T = {entry['temperature']:.2f}; AUROC in %)")
        ood = [k for k in entry["rows"][0] if k.startswith("ood/") and k.endswith("/auroc")]
        header = (
            f"  {'method':34s} {'acc':>7s} {'ECE':>7s} {'AUROC':>6s} {'FPR95':>6s} {'AURC':>7s} "
            + " ".join(f"{k.split('/')[1][:8]:>8s}" for k in ood)
        )
        lines.append(header)
        for r in entry["rows"]:
            auroc = r.get("misclassification/auroc", float("nan")) or float("nan")
            fpr = r.get("misclassification/fpr95", float("nan")) or float("nan")
            lines.append(
                f"  {r['method']:34s} {r['test/acc']:7.4f} {r['test/ece']:7.4f} {100 * auroc:6.1f} "
                f"{100 * fpr:6.1f} {r['test/aurc']:7.4f} "
                + " ".join(f"{100 * r[k]:8.1f}" for k in ood)
            )
    return "\n".join(lines)


def _cmd_bench(args) -> int:
    from mnistlab.bench import cmd_bench

    return cmd_bench(args)


def cmd_report(args) -> int:
    from dataclasses import replace

    from mnistlab import report

    result = report.run(replace(context_from_args(args), reuse=True))
    folder = result["folder"]
    print(
        f"report: wrote {folder}/index.html, report.md and results.json in {result['seconds']:.1f} s"
    )
    for name, seconds in result["meta"]["study_seconds"].items():
        print(
            f"  {name:11s} {seconds:6.1f} s{'  (reused)' if result['meta']['reused'].get(name) else ''}"
        )
    return 0
