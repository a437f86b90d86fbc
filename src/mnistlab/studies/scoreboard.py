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
from mnistlab.datasets import other
from mnistlab.predict import predict_logits
from mnistlab.studies import scoreboard_views
from mnistlab.studies.context import (
    StudyContext,
    get_models,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.studies.study import Study, datasets_option, option
from mnistlab.studies.writer import StudyWriter
from mnistlab.training import training_arrays
from mnistlab.uncertainty import metrics
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.methods import ECE_BINS, ensemble_outputs, evaluate, softmax_family
from mnistlab.uncertainty.weight_dropout import ensemble_logits

OOD_SIZE = 1000  # per out-of-distribution set: AUROC standard error about 0.005
MC_DROPOUT_RATE = 0.2


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
    members, ensemble_size, bootstrap = (
        sizes["members"],
        sizes["ensemble_size"],
        sizes["bootstrap"],
    )
    datasets, ps = options.datasets, options.p
    recorded = {
        "datasets": list(datasets),
        "members": members,
        "ensemble_size": ensemble_size,
        "p": list(ps),
        "bootstrap": bootstrap,
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
    per_dataset = ensemble_size + 1
    trained = get_models(ctx, model_specs(ctx, options))
    results, summary = {}, []
    for i, dataset in enumerate(datasets):
        progress.say(f"scoreboard: {dataset}")
        entry = _run_dataset(
            ctx,
            writer,
            dataset,
            trained[i * per_dataset : (i + 1) * per_dataset],
            members=members,
            ensemble_size=ensemble_size,
            ps=ps,
            bootstrap=bootstrap,
        )
        results[dataset] = entry
        summary += entry["verdict"]
    table = scoreboard_views.console_table(results)
    return writer.finish({"datasets": results}, [*summary, *table.splitlines()])


def dataset_specs(ctx: StudyContext, dataset: str, ensemble_size: int) -> list:
    """The deep ensemble's members (the first is the base model), then the MC dropout model."""
    validation = {"validation_size": ctx.profile.validation_size}
    ensemble = [
        tutorial_spec(ctx, dataset, seed=ctx.seed + m, **validation) for m in range(ensemble_size)
    ]
    return [*ensemble, tutorial_spec(ctx, dataset, dropout=MC_DROPOUT_RATE, **validation)]


def model_specs(ctx: StudyContext, options: ScoreboardOptions) -> list:
    size = options.resolved(ctx)["ensemble_size"]
    return [spec for d in options.datasets for spec in dataset_specs(ctx, d, size)]


def _run_dataset(ctx, writer, dataset, models, *, members, ensemble_size, ps, bootstrap) -> dict:
    *ensemble, mc_model = models  # as model_specs() lists them
    base = ensemble[0]
    images, labels = test_set(ctx, dataset)
    sets = {"test": images, **ood_sets(ctx, dataset, images, OOD_SIZE)}
    _, _, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
    # The temperature sees only the held-out validation split of the training set.
    scaler = TemperatureScaler().fit(predict_logits(base.model, x_val), y_val)
    logits = {k: predict_logits(base.model, v) for k, v in sets.items()}
    methods = softmax_family(logits, scaler.temperature_)
    # Each ensemble runs once over all sets stacked together (fewer calls, one compiled shape),
    # streamed into a summary (memory independent of K), then split back per set; members do
    # not depend on how images are batched.
    names, stacked = list(sets), np.concatenate(list(sets.values()))
    bounds = np.cumsum([len(v) for v in sets.values()])[:-1]

    def per_set(summary: MemberSummary) -> dict:
        return dict(zip(names, summary.split(bounds), strict=True))

    budget = ctx.memory_budget
    with progress.task(f"{dataset}: weight and MC dropout members", members * (len(ps) + 1)) as bar:
        for p in ps:
            member_logits = per_set(
                ensemble_logits(
                    base.model,
                    stacked,
                    p=p,
                    members=members,
                    seed=ctx.seed,
                    memory_budget=budget,
                    progress_task=bar,
                    sink=MemberSummary(members, len(stacked)),
                )
            )
            methods += ensemble_outputs(
                f"weight dropout p={p:g}", "weight dropout", member_logits, with_vote=True
            )
        mc_logits = per_set(
            mc_dropout_logits(
                mc_model.model,
                stacked,
                passes=members,
                seed=ctx.seed,
                memory_budget=budget,
                progress_task=bar,
                sink=MemberSummary(members, len(stacked)),
            )
        )
    methods += ensemble_outputs(
        f"MC dropout (rate {MC_DROPOUT_RATE:g}, K={members})",
        "MC dropout",
        mc_logits,
        with_vote=False,
    )
    if ensemble_size > 1:
        deep = {
            k: MemberSummary.from_logits(np.stack([predict_logits(m.model, v) for m in ensemble]))
            for k, v in sets.items()
        }
        methods += ensemble_outputs(
            f"deep ensemble (M={ensemble_size})", "deep ensemble", deep, with_vote=False
        )
    rows = [evaluate(m, labels, n_boot=bootstrap, seed=ctx.seed) for m in methods]
    scoreboard_views.figures(writer, dataset, methods, labels)
    curves = {
        m.name: metrics.reliability_curve(labels, m.probabilities["test"], n_bins=ECE_BINS)
        for m in methods
    }
    return {
        "models": {
            "base": model_summary(base),
            "mc_dropout": model_summary(mc_model),
            "ensemble": [model_summary(m) for m in ensemble],
        },
        "temperature": scaler.temperature_,
        "validation_size": len(y_val),
        "test_size": len(labels),
        "ood_sets": {k: len(v) for k, v in sets.items() if k.startswith("ood/")},
        "rows": rows,
        "reliability": curves,
        "verdict": verdict(dataset, rows),
    }


def _auroc_text(row: dict) -> str:
    low, high = row["misclassification/auroc_ci"]
    return f"{100 * row['misclassification/auroc']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def verdict(dataset: str, rows: list[dict]) -> list[str]:
    """A few sentences from the numbers: best signal, and weight dropout vs plain softmax."""
    softmax_row = next(r for r in rows if r["method"] == "max softmax")
    scored = [r for r in rows if "misclassification/auroc" in r]
    lines = []
    if "misclassification/auroc" not in softmax_row:
        lines.append(
            f"{dataset}: the base model has no wrong (or no right) test answers, so misclassification "
            f"detection is undefined for it"
        )
    else:
        best = max(scored, key=lambda r: r["misclassification/auroc"])
        lines.append(
            f"{dataset}: best misclassification AUROC {_auroc_text(best)} ({best['method']}); "
            f"max softmax {_auroc_text(softmax_row)}"
        )
        dropout_rows = [r for r in scored if r["family"] == "weight dropout"]
        if dropout_rows:
            top = max(dropout_rows, key=lambda r: r["misclassification/auroc"])
            low, high = top["misclassification/auroc_ci"]
            s_low, s_high = softmax_row["misclassification/auroc_ci"]
            if low > s_high:
                judgement = "beats plain softmax (95% intervals do not overlap)"
            elif high < s_low:
                judgement = "is worse than plain softmax (95% intervals do not overlap)"
            else:
                judgement = "does not clearly beat plain softmax (95% intervals overlap)"
            lines.append(
                f"{dataset}: post-training weight dropout, best variant {top['method']} at AUROC "
                f"{_auroc_text(top)}, {judgement}"
            )
    ood_keys = sorted({k for r in rows for k in r if k.startswith("ood/") and k.endswith("/auroc")})
    if ood_keys:
        best_ood = max(rows, key=lambda r: np.mean([r[k] for k in ood_keys]))
        mean_softmax = np.mean([softmax_row[k] for k in ood_keys])
        lines.append(
            f"{dataset}: best mean OOD AUROC over {len(ood_keys)} sets "
            f"{100 * np.mean([best_ood[k] for k in ood_keys]):.1f} ({best_ood['method']}) vs "
            f"{100 * mean_softmax:.1f} for max softmax"
        )
    return lines


STUDY = Study(
    name="scoreboard",
    help="compare uncertainty methods: calibration, error and OOD detection",
    options=ScoreboardOptions,
    model_specs=model_specs,
    run=run,
    sections=scoreboard_views.sections,
    evaluates_ensembles=True,
)
