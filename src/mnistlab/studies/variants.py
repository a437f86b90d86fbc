"""Study: train a grid of network variants (activation, hidden units, optimizer and learning
rate); one table of train and test accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import plots
from mnistlab.config import check_at_least
from mnistlab.errors import UserError
from mnistlab.report.document import Section, Table, figures_of, fmt, mean_std
from mnistlab.report.render import markdown_table
from mnistlab.runs import write_text
from mnistlab.studies.context import StudyContext, get_models, model_summary, tutorial_spec
from mnistlab.studies.study import Study, datasets_option, option
from mnistlab.studies.variant_grid import DEFAULT_GRID, Variant, default_grid, load_grid
from mnistlab.studies.writer import StudyWriter


@dataclass(frozen=True)
class VariantsOptions:
    datasets: tuple[str, ...] = datasets_option(
        tuple(DEFAULT_GRID), "only this data set's default grid (default: both)"
    )
    grid: str | None = option(None, "TOML file of [[variant]] tables (see examples/grid.toml)")
    seeds: int = option(1, "train every variant with N seeds; report mean ± std", type=int)

    def __post_init__(self):
        check_at_least(self.seeds, 1, "--seeds", 100)

    def variants(self) -> list[Variant]:
        return load_grid(self.grid) if self.grid else default_grid(self.datasets)


def _spec_groups(ctx: StudyContext, options: VariantsOptions, grid: list[Variant]) -> list[list]:
    """For each variant, its specs: one per seed."""
    groups = []
    for variant in grid:
        try:
            groups.append(
                [
                    tutorial_spec(ctx, variant.dataset, seed=ctx.seed + s, **variant.changes)
                    for s in range(options.seeds)
                ]
            )
        except TypeError as exc:
            raise UserError(f"variant {variant.name!r}: {exc}") from None
    return groups


def model_specs(ctx: StudyContext, options: VariantsOptions) -> list:
    return [spec for group in _spec_groups(ctx, options, options.variants()) for spec in group]


def run(ctx: StudyContext, options: VariantsOptions) -> dict:
    grid, seeds = options.variants(), options.seeds
    datasets = tuple(dict.fromkeys(v.dataset for v in grid))
    writer = StudyWriter(
        ctx, "variants", {"seeds": seeds, "grid": [v.__dict__ for v in grid]}, datasets
    )
    if (saved := writer.reusable()) is not None:
        return saved
    specs = _spec_groups(ctx, options, grid)
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
    write_text(writer.folder / "table.md", markdown_table(table(rows, seeds)) + "\n")
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


def table(rows: list[dict], seeds: int) -> Table:
    """The variants table: the study's table.md and its report section show this one table."""
    return Table(
        ["data set", "variant", "train acc", "test acc", "s/epoch"],
        [
            [
                r["dataset"],
                r["variant"],
                mean_std(r["train/acc"], r["train/acc_std"], show_std=seeds > 1),
                mean_std(r["test/acc"], r["test/acc_std"], show_std=seeds > 1),
                fmt(r["seconds_per_epoch"], ".2f"),
            ]
            for r in rows
        ],
    )


def sections(results: dict, folder) -> list[Section]:
    rows = results["rows"]
    seeds = results["options"]["seeds"]
    paragraphs = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        subset = [r for r in rows if r["dataset"] == dataset]
        best = max(subset, key=lambda r: r["test/acc"])
        worst = min(subset, key=lambda r: r["test/acc"])
        spread = best["test/acc"] - worst["test/acc"]
        paragraphs.append(
            f"On {dataset}, the best test accuracy is {fmt(best['test/acc'], '.4f')} ({best['variant']}) and the lowest "
            f"{fmt(worst['test/acc'], '.4f')} ({worst['variant']}), a spread of {fmt(100 * spread, '.2f')} points"
            + (
                " (these differences are within what a change of seed alone can move; run with --seeds N to see)"
                if seeds == 1 and spread < 0.005
                else ""
            )
            + "."
        )
    numbers = {
        f"{r['dataset']}/{r['variant']}/{k}": r[k] for r in rows for k in ("train/acc", "test/acc")
    }
    return [
        Section(
            "variants",
            "Network variants",
            paragraphs,
            [table(rows, seeds)],
            figures_of(results, folder),
            numbers,
        )
    ]


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


STUDY = Study(
    name="variants",
    help="train a grid of network variants; table of train/test accuracy",
    options=VariantsOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
)
