"""The command line: the only place that defines and parses flags.

`data`, `train`, `bench` and `report` have their own handlers; every study in the registry
becomes a subcommand with its own options (from its options dataclass) and one generic handler,
`commands.cmd_study`. The handlers are in commands.py.
"""

from __future__ import annotations

import argparse
import os
import sys

from mnistlab import commands, interrupt, progress, session, settings
from mnistlab.config import ACTIVATIONS, DATASETS, OPTIMIZERS
from mnistlab.envvars import check_environment
from mnistlab.errors import one_line
from mnistlab.keras_import import skip_scikit_learn_for_keras
from mnistlab.version import __version__

REPORT_SEEDS = 3  # the report's verdicts rest on several trained models


def _common(
    parser: argparse.ArgumentParser,
    *,
    skip: tuple[str, ...] = (),
    seeds: int = 1,
    dataset: bool = False,
) -> None:
    """The run settings (settings.py) as flags, but those in `skip`; `seeds`: its default."""
    for setting in settings.RUN_SETTINGS:
        if setting.name not in skip:
            _add_setting(parser, setting, seeds if setting.name == "seeds" else setting.default)
    if dataset:
        parser.add_argument(
            "--dataset", choices=DATASETS, default="fashion-mnist", help="default: fashion-mnist"
        )


def _add_setting(parser, setting, default) -> None:
    parser.add_argument(
        setting.option,
        dest=setting.name,
        default=default,
        help=setting.flag_help(default),
        **setting.argparse,
    )


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and training (defaults: the Keras tutorial)")
    _add_setting(group, settings.BY_NAME["arch"], settings.BY_NAME["arch"].default)
    group.add_argument(
        "--hidden",
        default=None,
        help="dense hidden layer sizes, e.g. 128 or 256,128 (default: 128; lenet5: 120,84)",
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


def _add_study_options(parser: argparse.ArgumentParser, study) -> None:
    """One flag per option field of the study's options dataclass."""
    from mnistlab.studies.framework.study import option_fields

    for f in option_fields(study.options):
        meta = f.metadata["option"]
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        # SUPPRESS: an option not given keeps the dataclass default, the one place defaults live.
        parser.add_argument(
            flag, dest=f.name, default=argparse.SUPPRESS, help=meta["help"], **meta["argparse"]
        )


QUIET_HELP = "no progress bars or status lines"


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (the usage is one --help away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mnistlab",
        description="Train MNIST / Fashion-MNIST classifiers and measure when their answers can be trusted.",
    )
    parser.add_argument("--version", action="version", version=f"mnistlab {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help=QUIET_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("data", help="list both data sets, verify them, say where they are")
    p.add_argument("--data-dir", help=settings.DATA_DIR_HELP)
    p.add_argument("--dataset", choices=DATASETS, help="only this data set")
    p.add_argument(
        "--download", action="store_true", help="download missing files from the public mirrors"
    )
    p.set_defaults(func=commands.cmd_data)

    p = sub.add_parser("train", help="train one model; print and save train/test accuracy")
    _common(p, skip=("seeds", "memory_budget_mib", "arch"), dataset=True)  # arch: below
    _model_options(p)
    p.set_defaults(func=commands.cmd_train)

    p = sub.add_parser(
        "methods", help="list the uncertainty methods (built in and added), their keys and kinds"
    )
    p.add_argument(
        "--p",
        default="0.01,0.03,0.2,0.6",
        help="weight dropout fractions to list keys for (default: 0.01,0.03,0.2,0.6)",
    )
    p.set_defaults(func=commands.cmd_methods)

    p = sub.add_parser(
        "examples", help="copy the example notebook and variants grid into a folder of yours"
    )
    p.add_argument(
        "--out",
        default="mnistlab-examples",
        help="folder to write them to (default: mnistlab-examples)",
    )
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(func=commands.cmd_examples)

    from mnistlab.studies.registry import studies

    for study in studies():
        p = sub.add_parser(study.name, help=study.help)
        _common(p, skip=() if study.evaluates_ensembles else ("memory_budget_mib",))
        _add_study_options(p, study)
        p.set_defaults(func=commands.cmd_study, study=study)

    p = sub.add_parser(
        "bench", help="measure speed against this machine's matmul peak; print a table, write JSON"
    )
    _common(p, skip=("arch",), seeds=REPORT_SEEDS)  # its rows name their networks
    p.add_argument(
        "--no-report", action="store_true", help="skip the cold lab report (the slowest part)"
    )
    p.add_argument(
        "--no-exercise",
        action="store_true",
        help="skip the exercise against the notebook way (five cold commands, then Keras fit, "
        "predict and clone per member: minutes)",
    )
    p.set_defaults(func=commands.cmd_bench)

    p = sub.add_parser(
        "report", help="run (or reuse) every study and write the lab report (HTML + Markdown)"
    )
    _common(p, seeds=REPORT_SEEDS)
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser(
        "explore",
        help="write the trust explorer: one page where you draw a digit and watch every "
        "method's answer (OUT/explore/index.html)",
    )
    _common(p, skip=("seeds", "memory_budget_mib"))
    p.add_argument("--serve", action="store_true", help="serve the page on 127.0.0.1 and open it")
    p.set_defaults(func=commands.cmd_explore)
    for command in sub.choices.values():  # -q after the command too: mnistlab report -q
        command.add_argument(
            "--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP
        )
    return parser


INTERRUPTED = "mnistlab: interrupted; finished work is saved, run the same command again to resume"


def main(argv: list[str] | None = None) -> int:
    try:
        with interrupt.handled():  # first: building the parser imports every study
            interrupt.check()  # a Ctrl-C while the command started up
            check_environment()  # before any work: a wrong value is one line, not a crash later
            args = build_parser().parse_args(argv)
            progress.set_quiet(args.quiet)
            session.begin()  # this command's caches and counters: nothing from an earlier one
            code = args.func(args)
            interrupt.check()  # an interrupt swallowed somewhere still ends the run with 130
            return code
    except Exception as exc:
        message = one_line(exc)
        if message is None:
            raise  # a bug, not bad input or a full disk: show it as one
        print(f"mnistlab: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    finally:
        progress.set_quiet(False)  # --quiet belongs to this command, not to later ones


def entry() -> None:
    """The `mnistlab` console command. After Ctrl-C, everything finished is already on disk
    (every write is atomic), so the process ends at once: letting Python tear down while XLA
    still has work in flight can crash it (a segmentation fault after the message)."""
    skip_scikit_learn_for_keras()  # a faster start wherever a command imports Keras
    code = main()
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


if __name__ == "__main__":
    entry()
