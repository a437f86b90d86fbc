"""Study: train a grid of network variants; one table of train and test accuracy."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from mnistlab import plots
from mnistlab.config import parse_hidden
from mnistlab.errors import ConfigError, UserError
from mnistlab.experiments.common import (
    StudyContext,
    StudyWriter,
    get_models,
    model_summary,
    tutorial_spec,
)
from mnistlab.runs import write_text

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


@dataclass(frozen=True)
class Variant:
    dataset: str
    name: str
    changes: dict


def default_grid(datasets) -> list[Variant]:
    return [Variant(ds, name, changes) for ds in datasets for name, changes in DEFAULT_GRID[ds]]


def load_grid(path) -> list[Variant]:
    """Read a TOML grid: [[variant]] tables with name, dataset and any of GRID_KEYS."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise UserError(f"cannot read grid file {path}: {exc.strerror}; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"grid file {path} is not valid TOML ({exc}); see examples/grid.toml"
        ) from None
    entries = document.get("variant")
    if not isinstance(entries, list) or not entries:
        raise UserError(f"grid file {path} has no [[variant]] tables; see examples/grid.toml")
    variants = []
    for i, entry in enumerate(entries, 1):
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
        changes = {GRID_KEYS[k]: v for k, v in entry.items() if k in GRID_KEYS}
        if "hidden_units" in changes:
            hidden = changes["hidden_units"]
            changes["hidden_units"] = (
                parse_hidden(hidden)
                if isinstance(hidden, str)
                else tuple([hidden] if isinstance(hidden, int) else hidden)
            )
        variants.append(Variant(entry["dataset"], str(entry.get("name", f"variant {i}")), changes))
    return variants


def run(ctx: StudyContext, *, grid: list[Variant], seeds: int = 1) -> dict:
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    datasets = tuple(dict.fromkeys(v.dataset for v in grid))
    writer = StudyWriter(
        ctx, "variants", {"seeds": seeds, "grid": [v.__dict__ for v in grid]}, datasets
    )
    if (saved := writer.reusable()) is not None:
        return saved
    specs = []
    for variant in grid:
        try:
            specs.append(
                [
                    tutorial_spec(ctx, variant.dataset, seed=ctx.seed + s, **variant.changes)
                    for s in range(seeds)
                ]
            )
        except TypeError as exc:
            raise UserError(f"variant {variant.name!r}: {exc}") from None
    # Every variant and seed in one call: what is not cached trains in parallel, one per core.
    trained = iter(get_models(ctx, [spec for group in specs for spec in group]))
    rows = []
    for variant, group in zip(grid, specs, strict=True):
        models = [model_summary(next(trained)) for _ in group]
        train_acc = np.array([m["train/acc"] for m in models])
        test_acc = np.array([m["test/acc"] for m in models])
        rows.append(
            {
                "dataset": variant.dataset,
                "variant": variant.name,
                "describe": models[0]["describe"],
                "seeds": [spec.seed for spec in group],
                "train/acc": float(train_acc.mean()),
                "train/acc_std": float(train_acc.std(ddof=1)) if seeds > 1 else 0.0,
                "test/acc": float(test_acc.mean()),
                "test/acc_std": float(test_acc.std(ddof=1)) if seeds > 1 else 0.0,
                "seconds_per_epoch": float(np.mean([m["seconds_per_epoch"] for m in models])),
                "models": models,
            }
        )
    write_text(writer.folder / "table.md", markdown_table(rows, seeds))
    write_text(writer.folder / "table.csv", csv_table(rows))
    for dataset in datasets:
        subset = [r for r in rows if r["dataset"] == dataset]
        fig, axes = plots.new_axes(width=max(5.0, 1.3 * len(subset) + 2), height=4.0)
        errors = (
            {
                "train": [r["train/acc_std"] for r in subset],
                "test": [r["test/acc_std"] for r in subset],
            }
            if seeds > 1
            else None
        )
        low = min(min(r["test/acc"], r["train/acc"]) for r in subset)
        plots.grouped_bars(
            [r["variant"] for r in subset],
            {"train": [r["train/acc"] for r in subset], "test": [r["test/acc"] for r in subset]},
            errors=errors,
            ax=axes[0, 0],
            ylabel="accuracy",
            ylim=(max(0.0, low - 0.05), 1.0),
            title=f"{dataset}: accuracy per variant"
            + (f" (mean of {seeds} seeds)" if seeds > 1 else ""),
        )
        writer.figure(
            f"accuracy-{dataset}", fig, f"Train and test accuracy of each variant on {dataset}."
        )
    summary = [
        f"{r['dataset']:14s} {r['variant']:32s} train {r['train/acc']:.4f}  test {r['test/acc']:.4f}"
        for r in rows
    ]
    for dataset in datasets:
        subset = [r for r in rows if r["dataset"] == dataset]
        best = max(subset, key=lambda r: r["test/acc"])
        gap = max(subset, key=lambda r: r["train/acc"] - r["test/acc"])
        summary.append(
            f"{dataset}: best test accuracy {best['test/acc']:.4f} ({best['variant']}); "
            f"largest train-test gap {gap['train/acc'] - gap['test/acc']:.4f} ({gap['variant']})"
        )
    return writer.finish({"rows": rows}, summary)


def _cell(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def markdown_table(rows, seeds: int) -> str:
    lines = ["| data set | variant | train acc | test acc | s/epoch |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['variant']} | {_cell(r['train/acc'], r['train/acc_std'], seeds)} | "
            f"{_cell(r['test/acc'], r['test/acc_std'], seeds)} | {r['seconds_per_epoch']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def csv_table(rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "dataset",
            "variant",
            "description",
            "seeds",
            "train_acc",
            "train_acc_std",
            "test_acc",
            "test_acc_std",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r["dataset"],
                r["variant"],
                r["describe"],
                len(r["seeds"]),
                f"{r['train/acc']:.6f}",
                f"{r['train/acc_std']:.6f}",
                f"{r['test/acc']:.6f}",
                f"{r['test/acc_std']:.6f}",
            ]
        )
    return buffer.getvalue()
