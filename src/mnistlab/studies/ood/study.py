"""Study: the field's out-of-distribution detectors on MNIST's protocols, against max softmax.

Two protocols per data set, each over the seed replicates:
- standard: the tutorial models (the scoreboard's own) against the other data set, letters,
  noise and inverted images, grouped near and far (protocols.RULE);
- open set: models trained on classes 0-4 only, the test images of 5-9 out of distribution,
  for the run's architecture (--open-set mlp,lenet5: LeNet-5 too), beside oodeel's published
  numbers.
Detector hyperparameters are tuned on held-out images against a generated validation OOD set
(uncertainty/tuning.py), never on these sets; what was chosen is recorded per model.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab import progress
from mnistlab.config import ARCHITECTURES, check_at_least
from mnistlab.data import other
from mnistlab.errors import ConfigError
from mnistlab.seeds import replicate_seeds
from mnistlab.studies.framework.context import (
    StudyContext,
    plan_specs,
    test_set,
    trained_models,
    tutorial_spec,
)
from mnistlab.studies.framework.method_study import (
    bootstrap_option,
    checked_keys,
    evaluate_replicate,
    methods_option,
    outputs_shared,
    parse_keys,
)
from mnistlab.studies.framework.study import Study, datasets_option, option
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.studies.ood import numbers, protocols
from mnistlab.studies.ood import views as ood_views
from mnistlab.uncertainty import BASE, registry

STANDARD = "standard"


def parse_archs(text: str) -> tuple[str, ...]:
    """'mlp,lenet5' -> ('mlp', 'lenet5'); 'none' -> ()."""
    return () if str(text).strip() == "none" else parse_keys(text)


@dataclass(frozen=True)
class OODOptions:
    datasets: tuple[str, ...] = datasets_option(("mnist", "fashion-mnist"))
    open_set: tuple[str, ...] | None = option(
        None,
        "architectures trained on classes 0-4 for the open-set protocol, or 'none' (default: "
        "the run's --arch; mlp,lenet5 puts a convnet beside oodeel's)",
        parse=parse_archs,
        metavar="ARCH,...",
    )
    bootstrap: int | None = bootstrap_option()
    methods: tuple[str, ...] | None = methods_option(
        "method keys to compare, e.g. msp,knn,vim (default: every method that reads one "
        "network; 'mnistlab methods' lists them)"
    )

    def __post_init__(self):
        check_at_least(self.bootstrap, 10, "--bootstrap", 100_000)
        if self.open_set is not None:
            archs = parse_archs(self.open_set) if isinstance(self.open_set, str) else self.open_set
            object.__setattr__(self, "open_set", tuple(archs))
            unknown = [a for a in self.open_set if a not in ARCHITECTURES]
            if unknown:
                raise ConfigError(
                    f"--open-set: unknown architecture(s) {', '.join(unknown)}; choose from "
                    f"{', '.join(ARCHITECTURES)}, or 'none'"
                )
        object.__setattr__(self, "methods", checked_keys(self.methods, ()))

    def archs(self, ctx: StudyContext) -> tuple[str, ...]:
        return (ctx.arch,) if self.open_set is None else self.open_set

    def chosen(self, ctx: StudyContext) -> list:
        """The single-network method instances, max softmax first (the reference)."""
        sizes = {"members": ctx.profile.members, "ensemble_size": 1, "rate": 0.0}
        keys = None if self.methods is None else ("msp", *self.methods)
        methods = registry.selected(keys, sizes, ())
        return [m for m in methods if protocols.is_single_network(m)]


def model_plan(ctx: StudyContext, options: OODOptions) -> dict:
    """{(protocol, dataset, seed): RunSpec}: the scoreboard's base models (seeds.replicate_seeds,
    so they are the same models), and per open-set architecture the same seeds trained on
    classes 0-4."""
    plan = {}
    validation = {"validation_size": ctx.profile.validation_size}
    for dataset in options.datasets:
        for r, seed in enumerate(ctx.seed_list):
            first = replicate_seeds(ctx.seed, r, ensemble_size=1, stride=ctx.profile.ensemble_size)[
                0
            ]
            plan[STANDARD, dataset, seed] = tutorial_spec(ctx, dataset, seed=first, **validation)
            for arch in options.archs(ctx):
                plan[arch, dataset, seed] = tutorial_spec(
                    ctx,
                    dataset,
                    seed=first,
                    arch=arch,
                    classes=protocols.OPEN_SET_CLASSES,
                    **validation,
                )
    return plan


def model_specs(ctx: StudyContext, options: OODOptions) -> list:
    return plan_specs(model_plan(ctx, options))


def _protocol(ctx, dataset, sets, groups, models, methods, *, n_boot: int) -> tuple:
    """(numbers of one protocol over the seeds, the first seed's method outputs)."""
    replicates = [
        evaluate_replicate(
            ctx,
            dataset,
            {BASE: models[seed]},
            sets,
            methods,
            seed=seed,
            members=ctx.profile.members,
        )
        for seed in ctx.seed_list
    ]
    outputs = [rep["methods"] for rep in replicates]
    entry = {
        "sets": {key: len(images) for key, images in sets.items()},
        "groups": groups,
        "numbers": numbers.over_sets(outputs, groups),
        "comparisons": numbers.compare_with_softmax(outputs, groups, n_boot=n_boot, seed=ctx.seed),
        "tuned": [rep["tuned"] for rep in replicates],
        "models": [rep["models"] for rep in replicates],
        "outputs": outputs_shared(replicates),
    }
    return entry, outputs[0]


def run(ctx: StudyContext, options: OODOptions) -> dict:
    n_boot = options.bootstrap or ctx.profile.bootstrap
    methods, archs = options.chosen(ctx), options.archs(ctx)
    recorded = {
        "datasets": list(options.datasets),
        "open_set": list(archs),
        "bootstrap": n_boot,
        "methods": [m.describe() for m in methods],
        "validation_size": ctx.profile.validation_size,
        "ood_size": protocols.OOD_SIZE,
    }
    datasets = tuple(dict.fromkeys([*options.datasets, *map(other, options.datasets)]))
    writer = StudyWriter(ctx, "ood", recorded, datasets)
    if (saved := writer.reusable()) is not None:
        return saved
    plan = trained_models(ctx, model_plan(ctx, options))
    results = {}
    for dataset in options.datasets:
        by_seed = {
            name: {seed: plan[name, dataset, seed] for seed in ctx.seed_list}
            for name in (STANDARD, *archs)
        }
        images, _ = test_set(ctx, dataset)
        sets, groups = protocols.standard_sets(ctx, dataset, images)
        progress.say(f"ood: {dataset}, {len(methods)} methods on {len(groups)} sets")
        entry, first = _protocol(
            ctx, dataset, sets, groups, by_seed[STANDARD], methods, n_boot=n_boot
        )
        ood_views.histograms(writer, f"{dataset}-{STANDARD}", dataset, entry, first)
        results[dataset] = {STANDARD: entry}
        for arch in archs:
            sets, _ = protocols.open_set_sets(ctx, dataset)
            progress.say(f"ood: {dataset}, open set with {arch} (classes 0-4 in, 5-9 out)")
            groups = {protocols.OPEN_SET_KEY: protocols.OPEN}
            entry, first = _protocol(
                ctx, dataset, sets, groups, by_seed[arch], methods, n_boot=n_boot
            )
            ood_views.histograms(writer, f"{dataset}-open-set-{arch}", dataset, entry, first)
            results[dataset][f"open set {arch}"] = entry
    document = {"datasets": results, "rule": protocols.RULE}
    labels = {m.key: m.label or m.name for m in methods}
    return writer.finish(document, ood_views.summary_lines(document, labels))


STUDY = Study(
    name="ood",
    help="out-of-distribution detectors: near, far and open-set protocols against max softmax",
    options=OODOptions,
    model_specs=model_specs,
    run=run,
    sections=ood_views.sections,
)
