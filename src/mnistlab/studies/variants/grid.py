"""The variants study's grid: the exercise's default variants, and TOML grid files."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.errors import UserError, check_printable
from mnistlab.parse import parse_hidden

# The exercise's grid: field changes from the tutorial model, per data set.
DEFAULT_GRID = {
    "mnist": [
        ("tutorial (128 relu, adam 1e-3)", {}),
        ("sigmoid", {"activation": "sigmoid"}),
        ("100 hidden units", {"hidden_units": (100,)}),
        ("adam lr 0.01", {"learning_rate": 0.01}),
        ("20 hidden units", {"hidden_units": (20,)}),
    ],
    "fashion-mnist": [
        ("tutorial (128 relu, adam 1e-3)", {}),
        ("sigmoid", {"activation": "sigmoid"}),
        ("20 hidden units", {"hidden_units": (20,)}),
    ],
}

# Keys a grid file may set, mapped to spec fields.
GRID_KEYS = {
    "arch": "arch",
    "hidden": "hidden_units",
    "activation": "activation",
    "dropout": "dropout",
    "optimizer": "optimizer",
    "lr": "learning_rate",
    "epochs": "epochs",
    "batch_size": "batch_size",
}


# What each key's value must be (TOML types); a wrong one is a one-line error, not a traceback.
VALUE_TYPES = {"hidden": (int, str, list), "dropout": (int, float), "lr": (int, float)}
VALUE_TYPES |= {"epochs": int, "batch_size": int}
TYPE_NAMES = {k: "text" for k in ("name", "dataset", "arch", "activation", "optimizer")} | {
    "hidden": "whole number, list of them or text like '256,128'",
    "dropout": "number",
    "lr": "number",
    "epochs": "whole number",
    "batch_size": "whole number",
}


@dataclass(frozen=True)
class Variant:
    dataset: str
    name: str
    changes: dict


def default_grid(datasets) -> list[Variant]:
    return [Variant(ds, name, changes) for ds in datasets for name, changes in DEFAULT_GRID[ds]]


def load_grid(path) -> list[Variant]:
    """Read a TOML grid: [[variant]] tables with name, dataset and any of GRID_KEYS."""
    import tomllib

    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise UserError(f"cannot read grid file {path}: {exc.strerror}; check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"grid file {path} is not valid TOML ({exc}); see the example that `mnistlab examples` writes"
        ) from None
    entries = document.get("variant")
    if not isinstance(entries, list) or not entries:
        raise UserError(
            f"grid file {path} has no [[variant]] tables; see the example that `mnistlab examples` writes"
        )
    variants = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise UserError(f"grid file {path}: variant {i} is not a [[variant]] table")
        unknown = set(entry) - set(GRID_KEYS) - {"name", "dataset"}
        if unknown:
            raise UserError(
                f"grid file {path}, variant {i}: unknown key(s) {sorted(unknown)}; "
                f"allowed: name, dataset, {', '.join(GRID_KEYS)}"
            )
        if "dataset" not in entry:
            raise UserError(
                f"grid file {path}, variant {i}: give a dataset (mnist or fashion-mnist)"
            )
        for key, value in entry.items():
            if not isinstance(value, VALUE_TYPES.get(key, str)) or isinstance(value, bool):
                raise UserError(
                    f"grid file {path}, variant {i}: {key} = {value!r} is not a {TYPE_NAMES[key]}"
                )
        changes = {GRID_KEYS[k]: v for k, v in entry.items() if k in GRID_KEYS}
        if "hidden_units" in changes:
            hidden = changes["hidden_units"]
            if isinstance(hidden, list) and not all(
                isinstance(h, int) and not isinstance(h, bool) for h in hidden
            ):
                raise UserError(
                    f"grid file {path}, variant {i}: hidden = {hidden!r} is not a {TYPE_NAMES['hidden']}"
                )
            changes["hidden_units"] = (
                parse_hidden(hidden)
                if isinstance(hidden, str)
                else tuple([hidden] if isinstance(hidden, int) else hidden)
            )
        name = str(entry.get("name", f"variant {i}"))
        check_printable(name, f"grid file {path}, variant {i}: name")
        variants.append(Variant(entry["dataset"], name, changes))
    return variants
