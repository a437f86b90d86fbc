"""Study: answers with a promise. Conformal prediction sets and abstention with an error bound,
on the probabilities of every scoreboard method.

The validation split held out from training (5,000 images) is cut in two: the first half fits
what the methods fit (temperature, Laplace's prior precision), the second half calibrates the
conformal sets and the abstention thresholds. The test set is never used to fit anything. The
sets are then scored on the test set, and on rotated test images (issue 11's rotations): how
fast the guarantee breaks when the data move. Beside the marginal sets: class-conditional
sets (one q per class), and the checks of promise.py (the exchangeable control, the
two-sample test, recalibration on a few rotated images, bootstrap intervals on coverage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import progress
from mnistlab.config import check_at_least
from mnistlab.data.shifts import rotate
from mnistlab.errors import ConfigError
from mnistlab.parse import parse_floats
from mnistlab.studies.conformal import promise
from mnistlab.studies.conformal import sets as sets_numbers
from mnistlab.studies.conformal import views as conformal_views
from mnistlab.studies.conformal.views import ROTATIONS
from mnistlab.studies.framework.context import StudyContext, test_order, test_set
from mnistlab.studies.framework.method_study import (
    MethodStudyOptions,
    evaluate_replicate,
    model_specs,
    models_by_role,
    outputs_shared,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, option
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.training import training_arrays
from mnistlab.uncertainty import BASE, SCORE
from mnistlab.uncertainty.abstention import apply_threshold, threshold_for_error
from mnistlab.uncertainty.conformal import SCORES

ERROR_TARGETS = (0.01, 0.02, 0.05)
DELTA = 0.05  # the abstention bound holds with probability at least 95%


def _alphas(text) -> tuple[float, ...]:
    return parse_floats(text, "--alpha")


@dataclass(frozen=True)
class ConformalOptions(MethodStudyOptions):
    """The scoreboard's options (same methods, same models), plus the levels a."""

    alpha: tuple[float, ...] = option(
        (0.01, 0.05, 0.1),
        "miscoverage levels a: sets hold the label with probability 1-a (default: 0.01,0.05,0.1)",
        parse=_alphas,
    )
    images: int | None = option(
        None, "test images per rotation angle (default: 300; 100 with --quick)", type=int
    )

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "alpha", tuple(float(a) for a in self.alpha))
        if not self.alpha:
            raise ConfigError("--alpha needs at least one number, e.g. --alpha 0.05,0.1")
        for a in self.alpha:
            if not 0.0 < a < 1.0:  # NaN fails too
                raise ConfigError(f"--alpha values must be in (0, 1), got {a}")
        check_at_least(self.images, 10, "--images", 10_000)


def _abstention_numbers(method, labels, cal_labels, target) -> dict:
    cal_error = method.probabilities["calibration"].argmax(axis=1) != cal_labels
    rule = threshold_for_error(method.score["calibration"], cal_error, target=target, delta=DELTA)
    test_error = method.probabilities["test"].argmax(axis=1) != labels
    result = apply_threshold(method.score["test"], test_error, rule["threshold"])
    return {
        "kept": result["kept"],
        "error": result["error"],
        "kept_calibration": rule["kept"],
        "bound": rule["bound"],
    }


def replicate(ctx, dataset, models, images, labels, picks, *, seed, resolved) -> dict:
    """Every method's sets and abstention rule on one seed replicate: {method key: numbers}.
    models: the replicate's models by role; picks: the test images to rotate ("sample"). A score-only method gets an abstention rule (its score ranks
    the answers its own way) but no sets: its probabilities, hence its sets, are another
    method's."""
    _, _, x_val, y_val = training_arrays(models[BASE].spec, ctx.data_dir)
    half = len(y_val) // 2
    sample = picks["sample"]
    sets = {"calibration": x_val[half:], "test": images}
    sets.update({f"rotation/{a}": rotate(images[sample], a) for a in ROTATIONS})
    out = evaluate_replicate(
        ctx,
        dataset,
        models,
        sets,
        resolved.methods,
        seed=seed,
        members=resolved.members,
        fit_size=half,
    )
    numbers, covered = {}, {}
    with_sets = [m for m in out["methods"] if m.kind != SCORE]
    # one set of splits for every method and score: paired, and drawn once
    splits = promise.control_splits(len(labels), min(len(y_val) - half, len(labels) // 2), seed)
    for method in with_sets:
        numbers[method.key], method_covered = sets_numbers.method_numbers(
            method, labels, sample, y_val[half:], splits, seed=seed, alphas=resolved.options.alpha
        )
        covered.update({(method.key, *k): v for k, v in method_covered.items()})
    for method in out["methods"]:
        numbers.setdefault(method.key, {})["abstention"] = {
            f"{e:g}": _abstention_numbers(method, labels, y_val[half:], e) for e in ERROR_TARGETS
        }
    msp = next(m for m in out["methods"] if m.key == "msp")
    return {
        "outputs": out["outputs"],
        "numbers": {m.key: numbers[m.key] for m in out["methods"]},
        "methods": [m.describe() for m in out["methods"]],
        "exchangeability": promise.exchangeability(
            msp.probabilities["calibration"], y_val[half:], msp.probabilities["test"], labels
        ),
        "covered": covered,
        "calibration_size": len(y_val) - half,
        "fit_size": half,
    }


def _with_intervals(numbers: dict, replicates: list[dict], *, n_boot: int, seed: int) -> dict:
    """Adds coverage_low / coverage_high (95%, two-stage bootstrap over seeds and test images)
    to every marginal test coverage in numbers (over seeds)."""
    keys = replicates[0]["covered"]
    intervals = promise.coverage_intervals(
        {k: [rep["covered"][k] for rep in replicates] for k in keys}, n_boot=n_boot, seed=seed
    )
    for (key, score, alpha), (low, high) in intervals.items():
        entry = numbers[key]["sets"][score][alpha]
        entry["coverage_low"], entry["coverage_high"] = low, high
    return numbers


def _over_seeds_nested(per_seed: list[dict]) -> dict:
    """over_seeds applied at the leaves of equally shaped nested dicts."""
    first = per_seed[0]
    if all(not isinstance(v, dict) for v in first.values()) or "coverage" in first:
        return over_seeds(per_seed)
    return {k: _over_seeds_nested([entry[k] for entry in per_seed]) for k in first}


def run(ctx: StudyContext, options: ConformalOptions) -> dict:
    resolved = options.resolve(ctx)
    images_per_angle = ctx.profile.shift_images if options.images is None else options.images
    recorded = {
        **resolved.recorded(),
        "alpha": list(options.alpha),
        "scores": list(SCORES),
        "rotations": list(ROTATIONS),
        "images": images_per_angle,
        "control_splits": promise.CONTROL_SPLITS,
        "recalibration": {
            "angles": list(promise.RECALIBRATION_ANGLES),
            "sizes": list(promise.RECALIBRATION_SIZES),
            "draws": promise.RECALIBRATION_DRAWS,
            "scored_at_least": promise.MIN_SCORED,
        },
        "error_targets": list(ERROR_TARGETS),
        "delta": DELTA,
    }
    writer = StudyWriter(ctx, "conformal", recorded, tuple(options.datasets))
    if (saved := writer.reusable()) is not None:
        return saved
    models = models_by_role(ctx, resolved)
    results, every_replicate = {}, []
    for dataset in options.datasets:
        images, labels = test_set(ctx, dataset)
        # the shift study's rotated images: their outputs are computed once per report
        picks = {"sample": np.sort(test_order(ctx, len(labels))[:images_per_angle])}
        replicates = []
        for r, seed in enumerate(ctx.seed_list):
            progress.say(f"conformal: {dataset}, seed {seed} ({r + 1} of {ctx.seeds})")
            replicates.append(
                replicate(
                    ctx,
                    dataset,
                    models[dataset, seed],
                    images,
                    labels,
                    picks,
                    seed=seed,
                    resolved=resolved,
                )
            )
        every_replicate += replicates
        results[dataset] = {
            "calibration_size": replicates[0]["calibration_size"],
            "fit_size": replicates[0]["fit_size"],
            "test_size": len(labels),
            "rotation_images": len(picks["sample"]),
            "control_splits": promise.CONTROL_SPLITS,
            "methods": replicates[0]["methods"],
            "exchangeability": over_seeds([rep["exchangeability"] for rep in replicates]),
            "numbers": _with_intervals(
                _over_seeds_nested([rep["numbers"] for rep in replicates]),
                replicates,
                n_boot=resolved.bootstrap,
                seed=ctx.seed,
            ),
        }
        conformal_views.figures(writer, dataset, results[dataset], options.alpha)
    summary = conformal_views.summary_lines(results, options.alpha)
    document = {"datasets": results, "method_outputs": outputs_shared(every_replicate)}
    return writer.finish(document, summary)


STUDY = Study(
    name="conformal",
    help="prediction sets with a coverage guarantee, and abstention with an error bound",
    options=ConformalOptions,
    model_specs=model_specs,
    run=run,
    sections=conformal_views.sections,
    evaluates_ensembles=True,
)
