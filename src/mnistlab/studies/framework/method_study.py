"""What the studies that evaluate uncertainty methods share (scoreboard, shift, conformal): their
options, the models they need by role, and one seed replicate's method outputs.

Models are planned and handed over as a mapping keyed by (dataset, seed, role), so nothing
counts models off a list: the base model, the model trained with dropout for MC dropout, and
the deep ensemble of M (its first member is the base model). Only the roles the chosen methods
need are trained.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab.config import MAX_MEMBERS, check_at_least, check_fraction
from mnistlab.parse import parse_floats
from mnistlab.seeds import replicate_seeds
from mnistlab.studies.framework.context import (
    StudyContext,
    model_summary,
    plan_specs,
    trained_models,
    tutorial_spec,
)
from mnistlab.studies.framework.study import datasets_option, option
from mnistlab.training import training_arrays
from mnistlab.uncertainty import BASE, ENSEMBLE, MC_DROPOUT, MC_DROPOUT_RATE, Evaluation, registry


def parse_keys(text: str) -> tuple[str, ...]:
    """'msp,ensemble' -> ('msp', 'ensemble'); checked against the registry with the fractions."""
    return tuple(k.strip() for k in str(text).split(",") if k.strip())


def bootstrap_option():
    """--bootstrap, as every study with paired intervals offers it."""
    return option(
        None, "bootstrap resamples for intervals (default: 1000; 100 with --quick)", type=int
    )


def methods_option(what: str):
    """--methods KEY,... (what: the help text's e.g. and default)."""
    return option(None, what, parse=parse_keys, metavar="KEY,...")


def checked_keys(keys, fractions: tuple[float, ...]) -> tuple[str, ...] | None:
    """--methods' value as keys ('msp,ensemble' or a sequence), each known to the registry."""
    if keys is None:
        return None
    keys = parse_keys(keys) if isinstance(keys, str) else tuple(keys)
    registry.check_keys(keys, fractions)
    return keys


@dataclass(frozen=True)
class MethodStudyOptions:
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
    bootstrap: int | None = bootstrap_option()
    methods: tuple[str, ...] | None = methods_option(
        "method keys to evaluate, e.g. msp,temperature,wdrop,ensemble (default: every registered "
        "method; 'mnistlab methods' lists them)"
    )

    def __post_init__(self):
        object.__setattr__(self, "p", tuple(float(p) for p in self.p))
        check_fraction(self.p)
        check_at_least(self.members, 1, "--members", MAX_MEMBERS)
        check_at_least(self.ensemble_size, 1, "--ensemble-size", 100)
        check_at_least(self.bootstrap, 10, "--bootstrap", 100_000)
        object.__setattr__(self, "methods", checked_keys(self.methods, self.p))

    def resolve(self, ctx: StudyContext) -> MethodRun:
        """These options under the context's profile: the sizes the user left to it filled in,
        and the methods chosen. Worked out once per run, then passed on."""
        profile = ctx.profile
        sizes = {
            "members": profile.members if self.members is None else self.members,
            "ensemble_size": (
                profile.ensemble_size if self.ensemble_size is None else self.ensemble_size
            ),
            "bootstrap": profile.bootstrap if self.bootstrap is None else self.bootstrap,
        }
        # max softmax is the reference every verdict compares with: always evaluated
        keys = None if self.methods is None else ("msp", *self.methods)
        methods = registry.selected(keys, {**sizes, "rate": MC_DROPOUT_RATE}, self.p)
        # A deep ensemble of one model is the base model: it is left out.
        methods = [m for m in methods if ENSEMBLE not in m.roles or sizes["ensemble_size"] > 1]
        return MethodRun(
            self, **sizes, methods=tuple(methods), validation_size=profile.validation_size
        )


@dataclass(frozen=True)
class MethodRun:
    """A method study's options resolved for one run (MethodStudyOptions.resolve): every size,
    and the method instances it evaluates, in the registry's order."""

    options: MethodStudyOptions
    members: int
    ensemble_size: int
    bootstrap: int
    methods: tuple
    validation_size: int

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.options.datasets

    @property
    def roles(self) -> set[str]:
        """The model roles the chosen methods need (only those are trained)."""
        return {role for m in self.methods for role in m.roles}

    def recorded(self) -> dict:
        """What results.json records of these options (and what decides reuse)."""
        return {
            "datasets": list(self.datasets),
            "members": self.members,
            "ensemble_size": self.ensemble_size,
            "bootstrap": self.bootstrap,
            "p": list(self.options.p),
            "methods": [m.describe() for m in self.methods],
            "validation_size": self.validation_size,
            "mc_dropout_rate": MC_DROPOUT_RATE,
        }


def model_plan(ctx: StudyContext, run: MethodRun) -> dict:
    """{(dataset, seed, role): RunSpec, or a list of them for ENSEMBLE}. Replicate r's models
    have seeds.replicate_seeds (base model first, then the rest of its ensemble; disjoint, so
    replicates are independent, and the base model is the OOD study's and the explorer's);
    its MC dropout model has the replicate's seed."""
    size, roles = run.ensemble_size, run.roles
    validation = {"validation_size": run.validation_size}
    plan = {}
    for dataset in run.datasets:
        for r, seed in enumerate(ctx.seed_list):
            seeds = replicate_seeds(
                ctx.seed, r, ensemble_size=size, stride=ctx.profile.ensemble_size
            )
            plan[dataset, seed, BASE] = tutorial_spec(ctx, dataset, seed=seeds[0], **validation)
            if ENSEMBLE in roles:
                plan[dataset, seed, ENSEMBLE] = [
                    tutorial_spec(ctx, dataset, seed=s, **validation) for s in seeds
                ]
            if MC_DROPOUT in roles:
                plan[dataset, seed, MC_DROPOUT] = tutorial_spec(
                    ctx, dataset, seed=seed, dropout=MC_DROPOUT_RATE, **validation
                )
    return plan


def model_specs(ctx: StudyContext, options: MethodStudyOptions) -> list:
    """The plan's specs, each once, in plan order (what the report trains up front)."""
    return plan_specs(model_plan(ctx, options.resolve(ctx)))


def models_by_role(ctx: StudyContext, run: MethodRun) -> dict:
    """{(dataset, seed): {role: TrainedModel (a list for ENSEMBLE)}}, trained or loaded in one
    parallel call."""
    out: dict = {}
    for (dataset, seed, role), models in trained_models(ctx, model_plan(ctx, run)).items():
        out.setdefault((dataset, seed), {})[role] = models
    return out


def evaluate_replicate(
    ctx: StudyContext,
    dataset: str,
    models: dict,
    sets: dict,
    methods: list,
    *,
    seed: int,
    members: int,
    fit_size: int | None = None,
) -> dict:
    """Every method's outputs on every set of `sets` ({key: images (N, 28, 28)}) for one seed
    replicate's models by role. Returns {"methods": [MethodOutput], "temperature",
    "tuned" (detector hyperparameters chosen on held-out data), "validation_size", "outputs"
    (computed / reused counts), "models"}. What methods fit (the
    temperature, Laplace's prior precision) is fitted on the validation split held out from
    training (its first fit_size images when given: the conformal study calibrates on the
    rest), never on these sets."""
    base = models[BASE]
    x_train, y_train, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
    evaluation = Evaluation(
        models,
        sets,
        validation=(x_val[:fit_size], y_val[:fit_size]),
        train_images=x_train,
        train_labels=y_train,
        seed=seed,
        members=members,
        memory_budget=ctx.memory_budget,
        label=f"{dataset}, seed {seed}",
        executor=ctx.executor,
        ray_address=ctx.ray_address,
    )
    outputs = evaluation.outputs(methods)
    return {
        "methods": outputs,
        "temperature": evaluation.temperature(),
        "tuned": evaluation.tuned_values(),
        "validation_size": len(evaluation.validation[1]),
        "outputs": {"computed": evaluation.computed, "reused": evaluation.reused},
        "models": {
            role: [model_summary(m) for m in value]
            if isinstance(value, list)
            else model_summary(value)
            for role, value in models.items()
        },
    }


def labels_of(entry: dict) -> dict:
    """{key: label} of the methods a study's saved results list (entry["methods"])."""
    return {m["key"]: m["label"] for m in entry["methods"]}


def keys_of_kind(entry: dict, *kinds: str) -> list[str]:
    """The keys of the saved methods of these kinds (registry.PROBABILITIES, ...), in order."""
    return [m["key"] for m in entry["methods"] if m["kind"] in kinds]


def outputs_shared(replicates: list[dict]) -> dict:
    """How many (method, image set) outputs the replicates computed, and how many they took
    from an earlier study's (the same models and images): what sharing saved."""
    return {k: sum(rep["outputs"][k] for rep in replicates) for k in ("computed", "reused")}
