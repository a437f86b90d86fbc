"""The run settings, declared once: where data, cache and outputs are, the seeds, the profile,
the executor, the network. Each is a name, a default, a help text, how the command line offers
it and a check; the CLI's shared flags (cli.py), the API's keywords (api.py) and the study
context's checks (studies/framework/context.py) are all made from RUN_SETTINGS.

A check takes the value and the name the user wrote it by ('--seed' on the command line,
'seed' in Python), so its one-line error names what to fix where the user typed it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from mnistlab.config import (
    ARCHITECTURES,
    MAX_SEEDS,
    MEMORY_BUDGET_MIB,
    check_at_least,
    check_memory_budget,
    check_seed,
    check_types,
)
from mnistlab.errors import ConfigError

EXECUTORS = ("local", "ray")
DATA_DIR_HELP = (
    "folder with <dataset>/*.gz (default: $MNISTLAB_DATA_DIR, else ~/.cache/mnistlab/data)"
)


def _folder(value, name: str) -> None:
    check_types(**{name: value})


def _switch(value, name: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")


def _seeds(value, name: str) -> None:
    check_at_least(value, 1, name, MAX_SEEDS)


def _one_of(choices: tuple[str, ...]) -> Callable:
    def check(value, name: str) -> None:
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    return check


def _executor(value, name: str) -> None:
    """'local' or 'ray'; 'ray' also needs Ray installed (checked now, before any work)."""
    _one_of(EXECUTORS)(value, name)
    if value == "ray":
        from mnistlab.training.remote import import_ray

        import_ray()


def _address(value, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name} must be a Ray address like 10.0.0.5:6379, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One run setting. `flag` is its command-line spelling (default: --name-with-dashes);
    `argparse` holds what the flag needs besides its help and default (type, action, ...)."""

    name: str
    default: object
    help: str
    check: Callable[[object, str], None]
    flag: str | None = None
    argparse: dict = field(default_factory=dict)

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def flag_help(self, default) -> str:
        """The help text with the command's default (a command may change it: report's seeds)."""
        return self.help.replace("{default}", str(default))


RUN_SETTINGS = (
    Setting("out", "mnistlab-out", "output folder (default: {default})", _folder),
    Setting("data_dir", None, DATA_DIR_HELP, _folder),
    Setting(
        "cache_dir",
        None,
        "trained-model cache (default: $MNISTLAB_CACHE_DIR, else ~/.cache/mnistlab)",
        _folder,
    ),
    Setting(
        "seed", 0, "random seed, 0 to 2**32-1 (default: {default})", check_seed, None, {"type": int}
    ),
    Setting(
        "seeds",
        1,
        "replicates with seeds SEED..SEED+N-1: every number as mean ± std, paired intervals "
        "over seeds and test images (default: {default})",
        _seeds,
        argparse={"type": int, "metavar": "N"},
    ),
    Setting(
        "quick",
        False,
        "tiny subset, 1 epoch, few members: seconds",
        _switch,
        argparse={"action": "store_true"},
    ),
    Setting(
        "retrain",
        False,
        "train again even if the model is cached, and compute again what --out holds",
        _switch,
        argparse={"action": "store_true"},
    ),
    Setting(
        "memory_budget_mib",
        MEMORY_BUDGET_MIB,
        "MiB an ensemble evaluation may use per call (default: {default}; results do not "
        "depend on it)",
        check_memory_budget,
        flag="--memory-budget",
        argparse={"type": float, "metavar": "MIB"},
    ),
    Setting(
        "executor",
        "local",
        "where models train and methods are evaluated: local threads, or Ray tasks (one per "
        "model, per family of methods, per part of an ensemble; needs mnistlab[ray]; default: "
        "{default})",
        _executor,
        argparse={"choices": EXECUTORS},
    ),
    Setting(
        "ray_address",
        None,
        "Ray cluster to use with --executor ray, e.g. 10.0.0.5:6379 (default: start a local "
        "Ray instance)",
        _address,
        argparse={"metavar": "ADDRESS"},
    ),
    Setting(
        "arch",
        "mlp",
        "the network: mlp (the Keras tutorial's), cnn (conv32-conv64-dense128) or lenet5 "
        "(conv6-conv16-dense120-84) (default: {default})",
        _one_of(ARCHITECTURES),
        argparse={"choices": ARCHITECTURES},
    ),
)
BY_NAME = {s.name: s for s in RUN_SETTINGS}
# Not a flag: whether a study returns its saved results (the CLI and the report always do).
REUSE = Setting("reuse", False, "return saved results made from the same inputs", _switch)


def defaults(**changes) -> dict:
    """{name: default} of every run setting, with a command's own defaults changed."""
    values = {s.name: s.default for s in RUN_SETTINGS}
    values.update(changes)
    return values


def check(values: dict, spell: Callable[[Setting], str]) -> None:
    """Every given setting's own check, then what holds between them (the last seed's range)."""
    for name, value in values.items():
        setting = REUSE if name == "reuse" else BY_NAME[name]
        setting.check(value, spell(setting))
    if "seeds" in values:
        seed, seeds = values.get("seed", 0), values["seeds"]
        check_seed(seed + seeds - 1, f"{spell(BY_NAME['seed'])} + {spell(BY_NAME['seeds'])} - 1")


def keyword(setting: Setting) -> str:
    """How the API spells a setting: its name."""
    return setting.name


def _described(chosen: list[Setting], changed_defaults: dict) -> str:
    """The docstring's part on the run settings, from their help texts."""
    lines = ["", "", "    Run settings (the same as the command's flags):"]
    for s in chosen:
        default = changed_defaults.get(s.name, s.default)
        lines.append(f"    - {s.name}={default!r}: {s.flag_help(default)}")
    return "\n".join(lines) + "\n"


def api(*, only: tuple[str, ...] | None = None, **changed_defaults):
    """Give an API function the run settings as keyword-only parameters (all of them, or
    `only` those), with the command's defaults (`changed_defaults`). The function is written
    `def f(..., *, settings: dict, **rest)`: it receives every setting, defaults filled in, in
    `settings`; the signature help() and Jupyter show lists the settings themselves. A keyword
    that is neither a setting nor one of the function's own is a ConfigError naming them."""
    chosen = [s for s in RUN_SETTINGS if only is None or s.name in only]
    names = {s.name for s in chosen}

    def decorate(function):
        signature = inspect.signature(function)
        params = [p for p in signature.parameters.values() if p.name != "settings"]
        takes_rest = any(p.kind == p.VAR_KEYWORD for p in params)
        own = {p.name for p in params if p.kind != p.VAR_KEYWORD}

        @functools.wraps(function)
        def wrapper(*args, **keywords):
            settings = {s.name: changed_defaults.get(s.name, s.default) for s in chosen}
            settings.update({k: keywords.pop(k) for k in list(keywords) if k in names})
            unknown = sorted(set(keywords) - own)
            if unknown and not takes_rest:
                raise ConfigError(
                    f"{function.__name__}() has no keyword {', '.join(unknown)}; its run "
                    f"settings: {', '.join(s.name for s in chosen)}"
                )
            return function(*args, settings=settings, **keywords)

        added = [
            inspect.Parameter(
                s.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=changed_defaults.get(s.name, s.default),
            )
            for s in chosen
        ]
        ordered = [p for p in params if p.kind != p.VAR_KEYWORD]
        tail = [p for p in params if p.kind == p.VAR_KEYWORD]
        wrapper.__signature__ = signature.replace(parameters=[*ordered, *added, *tail])
        wrapper.__doc__ = (function.__doc__ or "").rstrip() + _described(chosen, changed_defaults)
        return wrapper

    return decorate
