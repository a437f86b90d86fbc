"""Study: which confidence signal tells right from wrong, and in-distribution from out?

For each data set, every method gives probabilities and a score (higher = less trust) on the
test set and on out-of-distribution sets; one table compares them with the field's metrics.
The temperature is fitted on a validation split held out from training, never on test data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import progress
from mnistlab.config import MAX_MEMBERS, check_at_least, check_fraction, parse_floats
from mnistlab.data.catalog import other
from mnistlab.studies.framework.context import StudyContext, get_models, test_set, tutorial_spec
from mnistlab.studies.framework.method_outputs import MC_DROPOUT_RATE, method_outputs
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, datasets_option, option
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.studies.scoreboard import views as scoreboard_views
from mnistlab.studies.scoreboard.verdict import compare_with_softmax, verdict
from mnistlab.uncertainty import metrics
from mnistlab.uncertainty.methods import ECE_BINS, evaluate

OOD_SIZE = 1000  # per out-of-distribution set: AUROC standard error about 0.005


@dataclass(frozen=True)
class ScoreboardOptions:
    datasets: tuple[str, ...] = datasets_option(("mnist", "fashion-mnist"))
    members: int | None = option(
        None, "weight/MC dropout members (default: 100; 10 with --quick)", type=int
    )
    ensemble_size: int | None = option(
        None, "deep ensemble size M (default: 5; 2 with --quick)", type=int
    )
    p: tuple[float, ...] = option(
        (0.01, 0.03, 0.2, 0.6),
        "weight dropout fractions (default: 0.01,0.03,0.2,0.6)",
        parse=parse_floats,
    )
    bootstrap: int | None = option(
        None, "bootstrap resamples for intervals (default: 1000; 100 with --quick)", type=int
    )

    def __post_init__(self):
        object.__setattr__(self, "p", tuple(float(p) for p in self.p))
        check_fraction(self.p)
        check_at_least(self.members, 1, "--members", MAX_MEMBERS)
        check_at_least(self.ensemble_size, 1, "--ensemble-size", 100)
        check_at_least(self.bootstrap, 10, "--bootstrap", 100_000)

    def resolved(self, ctx: StudyContext) -> dict:
        """Every size, with the profile's where the user gave none."""
        profile = ctx.profile
        return {
            "members": profile.members if self.members is None else self.members,
            "ensemble_size": (
                profile.ensemble_size if self.ensemble_size is None else self.ensemble_size
            ),
            "bootstrap": profile.bootstrap if self.bootstrap is None else self.bootstrap,
        }


def ood_sets(ctx: StudyContext, dataset: str, test_images: np.ndarray, size: int) -> dict:
    """Out-of-distribution inputs: the other data set, and three that need no download."""
    rng = np.random.default_rng([ctx.seed, 4242])
    shape = (min(size, len(test_images)), 28, 28)
    return {
        f"ood/{other(dataset)}": test_set(ctx, other(dataset))[0][: shape[0]],
        "ood/uniform": rng.random(shape, dtype=np.float32),
        "ood/gaussian": np.clip(rng.normal(0.5, 0.5, shape), 0, 1).astype(np.float32),
        "ood/inverted": 1.0 - test_images[: shape[0]],
    }


def run(ctx: StudyContext, options: ScoreboardOptions) -> dict:
    sizes = options.resolved(ctx)
    datasets = options.datasets
    recorded = {
        "datasets": list(datasets),
        **sizes,
        "p": list(options.p),
        "validation_size": ctx.profile.validation_size,
        "ood_size": OOD_SIZE,
        "mc_dropout_rate": MC_DROPOUT_RATE,
        "ece_bins": ECE_BINS,
    }
    writer = StudyWriter(
        ctx, "scoreboard", recorded, tuple(dict.fromkeys([*datasets, *map(other, datasets)]))
    )
    if (saved := writer.reusable()) is not None:
        return saved
    # All models of both data sets in one call (they train in parallel), loaded once.
    trained = iter(get_models(ctx, model_specs(ctx, options)))
    per_replicate = sizes["ensemble_size"] + 1
    results, summary = {}, []
    for dataset in datasets:
        images, labels = test_set(ctx, dataset)
        sets = {"test": images, **ood_sets(ctx, dataset, images, OOD_SIZE)}
        replicates = []
        for r, seed in enumerate(ctx.seed_list):
            progress.say(f"scoreboard: {dataset}, seed {seed} ({r + 1} of {ctx.seeds})")
            models = [next(trained) for _ in range(per_replicate)]
            replicates.append(
                replicate(ctx, dataset, models, sets, labels, seed=seed, p=options.p, **sizes)
            )
        methods = [rep["methods"] for rep in replicates]
        scoreboard_views.figures(writer, dataset, methods[0], labels)  # the first seed's
        rows = [
            over_seeds([rep["rows"][i] for rep in replicates])
            for i in range(len(replicates[0]["rows"]))
        ]
        progress.say(f"scoreboard: {dataset}, paired comparisons with max softmax")
        comparisons = compare_with_softmax(
            methods, labels, f"ood/{other(dataset)}", n_boot=sizes["bootstrap"], seed=ctx.seed
        )
        entry = {
            "models": [rep["models"] for rep in replicates],
            **over_seeds([{"temperature": rep["temperature"]} for rep in replicates]),
            "validation_size": replicates[0]["validation_size"],
            "test_size": len(labels),
            "ood_sets": {k: len(v) for k, v in sets.items() if k.startswith("ood/")},
            "rows": rows,
            "comparisons": comparisons,
            "reliability": {
                m.name: metrics.reliability_curve(labels, m.probabilities["test"], n_bins=ECE_BINS)
                for m in methods[0]
            },
        }
        entry["verdict"] = verdict(dataset, rows, comparisons)
        results[dataset] = entry
        summary += entry["verdict"]
    table = scoreboard_views.console_table(results)
    return writer.finish({"datasets": results}, [*summary, *table.splitlines()])


def dataset_specs(ctx: StudyContext, dataset: str, ensemble_size: int) -> list:
    """Per seed replicate r: a deep ensemble (its first member is the replicate's base model),
    then the MC dropout model. Ensembles use disjoint seeds (seed + r*M ... seed + r*M + M-1),
    so the replicates are independent; with one seed this is seeds seed ... seed + M-1."""
    validation = {"validation_size": ctx.profile.validation_size}
    specs = []
    for r, seed in enumerate(ctx.seed_list):
        first = ctx.seed + r * ensemble_size
        specs += [
            tutorial_spec(ctx, dataset, seed=first + m, **validation) for m in range(ensemble_size)
        ]
        specs.append(tutorial_spec(ctx, dataset, seed=seed, dropout=MC_DROPOUT_RATE, **validation))
    return specs


def model_specs(ctx: StudyContext, options: ScoreboardOptions) -> list:
    size = options.resolved(ctx)["ensemble_size"]
    return [spec for d in options.datasets for spec in dataset_specs(ctx, d, size)]


def replicate(
    ctx, dataset, models, sets, labels, *, seed, p, members, ensemble_size, bootstrap
) -> dict:
    """Every method on one seed replicate: its outputs (probabilities, scores) and table rows."""
    out = method_outputs(
        ctx, dataset, models, sets, seed=seed, p=p, members=members, ensemble_size=ensemble_size
    )
    out["rows"] = [evaluate(m, labels, n_boot=bootstrap, seed=seed) for m in out["methods"]]
    return out


STUDY = Study(
    name="scoreboard",
    help="compare uncertainty methods: calibration, error and OOD detection",
    options=ScoreboardOptions,
    model_specs=model_specs,
    run=run,
    sections=scoreboard_views.sections,
    evaluates_ensembles=True,
)
