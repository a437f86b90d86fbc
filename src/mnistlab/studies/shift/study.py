"""Study: can the confidence be trusted when the test images move away from the training images?

Ovadia et al. 2019's protocol on MNIST, applied to both data sets and every scoreboard method:
the same test images rotated (0-180 degrees, 15-degree steps), translated (np.roll by 0-26
pixels), and corrupted (14 MNIST-C corruptions); per level, accuracy, ECE, Brier, NLL and
misclassification AUROC, mean ± std over seed replicates. Letters A-J drawn from matplotlib's
fonts (a notMNIST stand-in) give an out-of-distribution AUROC. The models are the scoreboard's
(the report trains them once for both), and so is the temperature, fitted on held-out data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import progress
from mnistlab.config import check_at_least
from mnistlab.data.corruptions import CORRUPTIONS, corrupt
from mnistlab.data.letters import letters
from mnistlab.data.shifts import ROTATION_DEGREES, TRANSLATION_PIXELS, rotate, translate
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
from mnistlab.studies.scoreboard.verdict import compare_with_softmax
from mnistlab.studies.shift import figures as shift_figures
from mnistlab.studies.shift import views as shift_views
from mnistlab.studies.shift.verdict import combined, dataset_verdicts
from mnistlab.studies.shift.views import LETTERS_KEY
from mnistlab.uncertainty import ECE_BINS, metrics, summarize

FAMILIES = ("rotation", "translation", "corruption")


@dataclass(frozen=True)
class ShiftOptions(MethodStudyOptions):
    """The scoreboard's options (same methods, same models), plus the images per level."""

    images: int | None = option(
        None, "test images per shift level, and letters (default: 300; 100 with --quick)", type=int
    )

    def __post_init__(self):
        super().__post_init__()
        check_at_least(self.images, 10, "--images", 10_000)


def set_key(family: str, level) -> str:
    """The key of one shifted set; level 0 of rotation and translation is the clean set."""
    if family != "corruption" and level == 0:
        return "test"
    return f"{family}/{level}"


def family_levels() -> dict:
    return {
        "rotation": list(ROTATION_DEGREES),
        "translation": list(TRANSLATION_PIXELS),
        "corruption": list(CORRUPTIONS),
    }


def shifted_sets(images: np.ndarray, n_letters: int, seed: int) -> dict:
    """Every shifted version of `images`, keyed by set_key, the clean ones as "test", and the
    letters as "ood/letters". Seeded: every seed replicate sees the same images."""
    sets = {"test": images}
    for degrees in ROTATION_DEGREES[1:]:
        sets[set_key("rotation", degrees)] = rotate(images, degrees)
    for pixels in TRANSLATION_PIXELS[1:]:
        sets[set_key("translation", pixels)] = translate(images, pixels)
    for name in CORRUPTIONS:
        sets[set_key("corruption", name)] = corrupt(images, name, seed)
    sets[LETTERS_KEY] = letters(n_letters, seed)[0]
    return sets


def _letters_numbers(method) -> dict:
    test, ood = method.score["test"], method.score[LETTERS_KEY]
    is_ood = np.r_[np.zeros(len(test), bool), np.ones(len(ood), bool)]
    return {
        "auroc": metrics.auroc(is_ood, np.r_[test, ood]),
        "confidence": float(method.probabilities[LETTERS_KEY].max(axis=1).mean()),
    }


def numbers_over_seeds(outputs: list[list], labels, set_keys: list[str]) -> tuple[dict, dict]:
    """({method key: {set: summary numbers}}, {method key: letters numbers}), each mean ± std
    over the seed replicates (outputs[r]: replicate r's MethodOutputs)."""

    def over_replicates(method_key: str, numbers_of) -> dict:
        runs = [next(m for m in run if m.key == method_key) for run in outputs]
        return over_seeds([numbers_of(m) for m in runs])

    def on_set(key: str):
        return lambda out: summarize(
            labels, out.probabilities[key], out.score[key], proper=out.proper
        )

    keys = [k for k in set_keys if k != LETTERS_KEY]
    numbers = {m.key: {k: over_replicates(m.key, on_set(k)) for k in keys} for m in outputs[0]}
    letters = {m.key: over_replicates(m.key, _letters_numbers) for m in outputs[0]}
    return numbers, letters


def shifted_images(ctx: StudyContext, options: ShiftOptions, n_test: int) -> int:
    """Test images per shifted set: --images, else the profile's, at most the test set."""
    images = ctx.profile.shift_images if options.images is None else options.images
    return min(images, n_test)


def run(ctx: StudyContext, options: ShiftOptions) -> dict:
    datasets = options.datasets
    n_test = min(len(test_set(ctx, d)[1]) for d in datasets)
    resolved = options.resolve(ctx)
    n_images = shifted_images(ctx, options, n_test)
    recorded = {
        **resolved.recorded(),
        "images": n_images,
        "ece_bins": ECE_BINS,
        "levels": family_levels(),
    }
    writer = StudyWriter(ctx, "shift", recorded, tuple(datasets))
    if (saved := writer.reusable()) is not None:
        return saved
    models = models_by_role(ctx, resolved)
    families = {f: [set_key(f, level) for level in v] for f, v in family_levels().items()}
    shifted_keys = {f: tuple(k for k in keys if k != "test") for f, keys in families.items()}
    results, verdicts, every_replicate = {}, {}, []
    for dataset in datasets:
        images, labels = test_set(ctx, dataset)
        chosen = np.sort(test_order(ctx, len(labels))[:n_images])
        images, labels = images[chosen], labels[chosen]
        progress.say(
            f"shift: {dataset}, making {len(families['rotation']) + len(families['translation']) + len(CORRUPTIONS) - 1} shifted sets and {n_images} letters"
        )
        sets = shifted_sets(images, n_images, ctx.seed)
        replicates = []
        for r, seed in enumerate(ctx.seed_list):
            progress.say(f"shift: {dataset}, seed {seed} ({r + 1} of {ctx.seeds})")
            replicates.append(
                evaluate_replicate(
                    ctx,
                    dataset,
                    models[dataset, seed],
                    sets,
                    resolved.methods,
                    seed=seed,
                    members=resolved.members,
                )
            )
        every_replicate += replicates
        outputs = [rep["methods"] for rep in replicates]
        numbers, letters_numbers = numbers_over_seeds(outputs, labels, list(sets))
        progress.say(f"shift: {dataset}, paired comparisons")
        letters_vs_softmax = compare_with_softmax(
            outputs, labels, LETTERS_KEY, n_boot=resolved.bootstrap, seed=ctx.seed
        )
        verdicts[dataset] = dataset_verdicts(
            outputs, labels, shifted_keys, n_boot=resolved.bootstrap, seed=ctx.seed
        )
        shift_figures.figures(
            writer, dataset, sets, labels, outputs[0], numbers, families, family_levels()
        )
        results[dataset] = {
            "images_per_level": len(labels),
            "letters": len(sets[LETTERS_KEY]),
            "sets": families,
            "methods": [m.describe() for m in outputs[0]],
            "numbers": numbers,
            "letters_ood": letters_numbers,
            "letters_vs_softmax": {
                key: entry[f"{LETTERS_KEY}/auroc"] for key, entry in letters_vs_softmax.items()
            },
            **over_seeds([{"temperature": rep["temperature"]} for rep in replicates]),
            "verdicts": verdicts[dataset],
            "models": [rep["models"] for rep in replicates],
        }
    shift_figures.letters_gallery(writer, sets[LETTERS_KEY])
    summary_verdicts = combined(verdicts)
    summary = shift_views.summary_lines(results, summary_verdicts, family_levels())
    document = {
        "datasets": results,
        "verdicts": summary_verdicts,
        "method_outputs": outputs_shared(every_replicate),
    }
    return writer.finish(document, summary)


STUDY = Study(
    name="shift",
    help="trust under dataset shift: rotations, translations, corruptions, unseen letters",
    options=ShiftOptions,
    model_specs=model_specs,
    run=run,
    sections=shift_views.sections,
    evaluates_ensembles=True,
)
