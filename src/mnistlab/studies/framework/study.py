"""What a study is: one record that the CLI, the report, the API, the benchmark and the tests use.

A study module defines
- an options class: a frozen dataclass whose fields are the study's own options, each made with
  `option(...)` (default, help text, how the command line spells it); `__post_init__` checks the
  values, so an options object that exists is valid;
- `model_specs(ctx, options) -> list[RunSpec]`: the trained models it needs (the report trains
  every study's models in one parallel call before running any study);
- `run(ctx, options) -> dict`: computes, saves figures and OUT/<name>/results.json, returns them;
- `sections(results, folder) -> list[Section]`: its part of the lab report, from its own results;
and exports `STUDY = Study(...)`. Adding a study is that module plus one line in registry.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field


def option(default, help: str, *, flag: str | None = None, parse=None, **argparse_kwargs):
    """A study option: a dataclass field with what the command line needs to offer it.

    flag: the command-line spelling (default: --field-name); parse: turns the flag's text into
    the field's value (e.g. "0.01,0.2" -> (0.01, 0.2)); other keywords go to argparse as they are
    (choices, nargs, action, metavar, type).
    """
    metadata = {"help": help, "flag": flag, "parse": parse, "argparse": argparse_kwargs}
    return field(default=default, metadata={"option": metadata})


def datasets_option(
    default: tuple[str, ...] = ("fashion-mnist", "mnist"),
    help: str = "only this data set (default: both)",
):
    """The `--dataset NAME` option most studies share: both data sets, or the one named."""
    from mnistlab.data import DATASETS

    return option(
        tuple(default),
        help,
        flag="--dataset",
        parse=lambda name: (name,),
        choices=tuple(DATASETS),
    )


def option_fields(options_class) -> list[dataclasses.Field]:
    """The fields of an options class that are offered as command-line options."""
    return [f for f in dataclasses.fields(options_class) if "option" in f.metadata]


@dataclass(frozen=True)
class NoOptions:
    """For a study without options of its own."""


def no_models(ctx, options) -> list:
    return []


@dataclass(frozen=True)
class Study:
    """One study, as the registry lists it. See the module docstring for each part."""

    name: str  # subcommand, output folder OUT/<name>/, API name
    help: str  # one line for `mnistlab --help`
    run: Callable  # run(ctx, options) -> results (dict)
    sections: Callable  # sections(results, folder) -> list[report.document.Section]
    options: type = NoOptions
    model_specs: Callable = no_models  # model_specs(ctx, options) -> list[RunSpec]
    evaluates_ensembles: bool = False  # offers --memory-budget

    def make_options(self, **values):
        """The options object from keyword values (unknown names are a clear error)."""
        from mnistlab.errors import ConfigError

        known = {f.name for f in dataclasses.fields(self.options)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"study {self.name!r} has no option {', '.join(unknown)}; "
                f"its options: {', '.join(sorted(known)) or 'none'}"
            )
        defaults = {f.name: f.default for f in dataclasses.fields(self.options)}
        for name, value in values.items():
            # A field holding several values takes one as well: p=0.2 is (0.2,), as
            # datasets="mnist" is ("mnist",) (a string was taken letter by letter).
            if isinstance(defaults.get(name), tuple):
                values[name] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        return self.options(**values)
