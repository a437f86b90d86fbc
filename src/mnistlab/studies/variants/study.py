"""Study: train a grid of network variants (activation, hidden units, optimizer and learning
rate); one table of train and test accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab import plots
from mnistlab.errors import UserError
from mnistlab.models.predict import trained_proba
from mnistlab.report.document import seed_mean
from mnistlab.report.render import markdown_table
from mnistlab.runs import write_text
from mnistlab.seeds import stream
from mnistlab.studies.framework.context import (
    StudyContext,
    model_summary,
    test_set,
    trained_models,
    tutorial_specs,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, datasets_option, option
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.studies.variants.grid import DEFAULT_GRID, Variant, default_grid, load_grid
from mnistlab.studies.variants.views import (
    csv_table,
    dataset_verdict,
    difference_text,
    sections,
    table,
)
from mnistlab.uncertainty.paired import (
    accuracy_metric,
    cached,
    judgement,
    paired_difference,
    resample_weights,
)


@dataclass(frozen=True)
class VariantsOptions:
    datasets: tuple[str, ...] = datasets_option(
        tuple(DEFAULT_GRID), "only this data set's default grid (default: both)"
    )
    grid: str | None = option(
        None, "TOML file of [[variant]] tables (see the example that `mnistlab examples` writes)"
    )

    def variants(self) -> list[Variant]:
        return load_grid(self.grid) if self.grid else default_grid(self.datasets)


def _spec_groups(ctx: StudyContext, options: VariantsOptions, grid: list[Variant]) -> list[list]:
    """For each variant, its specs: one per seed."""
    groups = []
    for variant in grid:
        try:
            groups.append(tutorial_specs(ctx, variant.dataset, **variant.changes))
        except TypeError as exc:
            raise UserError(f"variant {variant.name!r}: {exc}") from None
    return groups


def model_specs(ctx: StudyContext, options: VariantsOptions) -> list:
    return [spec for group in _spec_groups(ctx, options, options.variants()) for spec in group]


def run(ctx: StudyContext, options: VariantsOptions) -> dict:
    grid, seeds = options.variants(), ctx.seeds
    datasets = tuple(dict.fromkeys(v.dataset for v in grid))
    writer = StudyWriter(ctx, "variants", {"grid": [v.__dict__ for v in grid]}, datasets)
    if (saved := writer.reusable()) is not None:
        return saved
    specs = _spec_groups(ctx, options, grid)
    # Every variant and seed in one call: what is not cached trains in parallel, one per core.
    trained = trained_models(ctx, dict(enumerate(specs)))
    rows, correct = [], []
    for i, variant in enumerate(grid):
        models = trained[i]
        images, labels = test_set(ctx, variant.dataset)
        # Per test image, right or wrong: what the paired comparison with the tutorial resamples.
        correct.append([trained_proba(m, images).argmax(axis=1) == labels for m in models])
        summaries = [model_summary(m) for m in models]
        rows.append(
            {
                "dataset": variant.dataset,
                "variant": variant.name,
                "describe": summaries[0]["describe"],
                "seeds": [spec.seed for spec in specs[i]],
                **over_seeds(
                    [
                        {k: m[k] for k in ("train/acc", "test/acc", "seconds_per_epoch")}
                        for m in summaries
                    ]
                ),
                "models": summaries,
            }
        )
    compare_with_reference(rows, correct, grid, n_boot=ctx.profile.bootstrap, seed=ctx.seed)
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
        f"{r['dataset']:14s} {r['variant']:32s} train {seed_mean(r, 'train/acc')}  "
        f"test {seed_mean(r, 'test/acc')}  {difference_text(r)}"
        for r in rows
    ]
    summary += [
        dataset_verdict(dataset, [r for r in rows if r["dataset"] == dataset], seeds)
        for dataset in datasets
    ]
    return writer.finish({"rows": rows}, summary)


def compare_with_reference(rows, correct, grid, *, n_boot: int, seed: int) -> None:
    """Each variant's test accuracy minus the tutorial model's (the variant with no changes, on
    the same data set), paired: same seeds, same test images resampled (paired.py)."""
    for dataset in dict.fromkeys(v.dataset for v in grid):
        indices = [i for i, v in enumerate(grid) if v.dataset == dataset]
        reference = next((i for i in indices if not grid[i].changes), None)
        if reference is None:
            continue
        rows[reference]["vs_tutorial"] = None
        base = [cached(accuracy_metric(c)) for c in correct[reference]]
        n_images = len(correct[reference][0])
        weights = resample_weights(n_images, n_boot, stream(seed, "variants/paired-resamples"))
        for i in indices:
            if i == reference:
                continue
            result = paired_difference(
                [accuracy_metric(c) for c in correct[i]],
                base,
                n_images,
                seed=seed,
                weights=weights,
            )
            rows[i]["vs_tutorial"] = {**result, "verdict": judgement(result)}


STUDY = Study(
    name="variants",
    help="train a grid of network variants; table of train/test accuracy",
    options=VariantsOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
)
