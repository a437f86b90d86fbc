"""Study: which confidence signal tells right from wrong, and in-distribution from out?

For each data set, every method gives probabilities and a score (higher = less trust) on the
test set and on out-of-distribution sets; one table compares them with the field's metrics.
The temperature is fitted on a validation split held out from training, never on test data.
"""

from __future__ import annotations

import numpy as np

from mnistlab import progress
from mnistlab.data import other
from mnistlab.seeds import stream
from mnistlab.studies.framework.context import StudyContext, test_set
from mnistlab.studies.framework.method_study import (
    MethodStudyOptions,
    evaluate_replicate,
    model_specs,
    models_by_role,
    outputs_shared,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.studies.scoreboard import views as scoreboard_views
from mnistlab.studies.scoreboard.verdict import compare_with_softmax, verdict
from mnistlab.uncertainty import ECE_BINS, metrics, summarize

OOD_SIZE = 1000  # per out-of-distribution set: AUROC standard error about 0.005


ScoreboardOptions = MethodStudyOptions  # shared by every study that evaluates methods


def ood_sets(ctx: StudyContext, dataset: str, test_images: np.ndarray, size: int) -> dict:
    """Out-of-distribution inputs: the other data set, and three that need no download."""
    rng = stream(ctx.seed, "scoreboard/ood-noise")
    shape = (min(size, len(test_images)), 28, 28)
    return {
        f"ood/{other(dataset)}": test_set(ctx, other(dataset))[0][: shape[0]],
        "ood/uniform": rng.random(shape, dtype=np.float32),
        "ood/gaussian": np.clip(rng.normal(0.5, 0.5, shape), 0, 1).astype(np.float32),
        "ood/inverted": 1.0 - test_images[: shape[0]],
    }


def run(ctx: StudyContext, options: ScoreboardOptions) -> dict:
    resolved = options.resolve(ctx)
    datasets = resolved.datasets
    recorded = {**resolved.recorded(), "ood_size": OOD_SIZE, "ece_bins": ECE_BINS}
    writer = StudyWriter(
        ctx, "scoreboard", recorded, tuple(dict.fromkeys([*datasets, *map(other, datasets)]))
    )
    if (saved := writer.reusable()) is not None:
        return saved
    # All models of both data sets in one call (they train in parallel), loaded once.
    models = models_by_role(ctx, resolved)
    results, summary, every_replicate = {}, [], []
    for dataset in datasets:
        images, labels = test_set(ctx, dataset)
        sets = {"test": images, **ood_sets(ctx, dataset, images, OOD_SIZE)}
        replicates = []
        for r, seed in enumerate(ctx.seed_list):
            progress.say(f"scoreboard: {dataset}, seed {seed} ({r + 1} of {ctx.seeds})")
            out = evaluate_replicate(
                ctx,
                dataset,
                models[dataset, seed],
                sets,
                resolved.methods,
                seed=seed,
                members=resolved.members,
            )
            out["rows"] = [
                row(m, labels, n_boot=resolved.bootstrap, seed=seed) for m in out["methods"]
            ]
            replicates.append(out)
        every_replicate += replicates
        outputs = [rep["methods"] for rep in replicates]
        scoreboard_views.figures(writer, dataset, outputs[0], labels)  # the first seed's
        rows = [
            over_seeds([rep["rows"][i] for rep in replicates])
            for i in range(len(replicates[0]["rows"]))
        ]
        progress.say(f"scoreboard: {dataset}, paired comparisons with max softmax")
        comparisons = compare_with_softmax(
            outputs, labels, f"ood/{other(dataset)}", n_boot=resolved.bootstrap, seed=ctx.seed
        )
        entry = {
            "models": [rep["models"] for rep in replicates],
            **over_seeds([{"temperature": rep["temperature"]} for rep in replicates]),
            "validation_size": replicates[0]["validation_size"],
            "tuned": [rep["tuned"] for rep in replicates],
            "test_size": len(labels),
            "ood_sets": {k: len(v) for k, v in sets.items() if k.startswith("ood/")},
            "rows": rows,
            "comparisons": comparisons,
            "reliability": {
                m.key: metrics.reliability_curve(labels, m.probabilities["test"], n_bins=ECE_BINS)
                for m in outputs[0]
            },
        }
        entry["verdict"] = verdict(dataset, rows, comparisons)
        results[dataset] = entry
        summary += entry["verdict"]
    table = scoreboard_views.console_table(results)
    document = {"datasets": results, "method_outputs": outputs_shared(every_replicate)}
    return writer.finish(document, [*summary, *table.splitlines()])


def row(method, labels, *, n_boot: int, seed: int) -> dict:
    """One table row: what the method is, then summary.summarize's numbers on the test set,
    with every ood/ set detected against it."""
    ood = {k: v for k, v in method.score.items() if k.startswith("ood/")}
    numbers = summarize(
        labels,
        method.probabilities["test"],
        method.score["test"],
        proper=method.proper,
        ood_scores=ood,
        n_boot=n_boot,
        seed=seed,
    )
    return {"method": method.name, **method.describe(), **numbers}


STUDY = Study(
    name="scoreboard",
    help="compare uncertainty methods: calibration, error and OOD detection",
    options=ScoreboardOptions,
    model_specs=model_specs,
    run=run,
    sections=scoreboard_views.sections,
    evaluates_ensembles=True,
)
