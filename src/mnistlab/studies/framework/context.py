"""What every study shares: its context (where things are, seed, profile), the tutorial model's
spec, the models it needs, the test set under the profile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab import settings
from mnistlab.config import MEMORY_BUDGET_MIB, ModelConfig, Profile, RunSpec, TrainConfig, profile
from mnistlab.data import load_split
from mnistlab.seeds import stream
from mnistlab.training import TrainedModel, train_many


@dataclass(frozen=True)
class StudyContext:
    """The run settings of one run (settings.py says what each is), checked by `checked`."""

    out: Path = Path("mnistlab-out")
    data_dir: str | None = None
    cache_dir: str | None = None
    seed: int = 0
    seeds: int = 1  # train every model with seeds seed, seed+1, ...; numbers as mean ± std
    quick: bool = False
    retrain: bool = False
    reuse: bool = False  # return a study's saved results when they were made with the same inputs
    memory_budget_mib: float = MEMORY_BUDGET_MIB  # what an ensemble evaluation may use per call
    executor: str = "local"  # where models train and methods run: "local", or "ray" tasks
    ray_address: str | None = None  # the Ray cluster; None starts a local instance
    arch: str = "mlp"  # the network every study trains: "mlp", "cnn" or "lenet5"

    @classmethod
    def checked(cls, spell=settings.keyword, **values) -> StudyContext:
        """A context whose values are checked before any work starts (each setting's own
        check, then that the output and cache folders take files). Settings not given take
        their defaults. `spell(setting)` is how the caller's users write one in an error
        message ('--seed' on the command line, 'seed' in Python)."""
        from mnistlab.runs import check_writable
        from mnistlab.training import resolve_cache_dir

        values = {**settings.defaults(reuse=False), **values}
        settings.check(values, spell)
        check_writable(values["out"], spell(settings.BY_NAME["out"]))
        cache_root = resolve_cache_dir(values["cache_dir"])
        for folder in (cache_root, cache_root / "models"):  # before a model is trained, not after
            check_writable(
                folder, f"{spell(settings.BY_NAME['cache_dir'])} (or $MNISTLAB_CACHE_DIR)"
            )
        from mnistlab.data import stamps
        from mnistlab.envvars import check_environment

        stamps.use_cache_root(cache_root)  # the whole cache where --cache-dir says
        check_environment()
        from mnistlab.training.compilation import enable_persistent_cache

        enable_persistent_cache(values["cache_dir"])  # before the study's first compile
        folders = {
            k: None if values[k] is None else str(values[k]) for k in ("data_dir", "cache_dir")
        }
        return cls(**{**values, **folders, "out": Path(values["out"])})

    @property
    def memory_budget(self) -> int:
        """Bytes an ensemble evaluation may use per call."""
        return int(self.memory_budget_mib * 2**20)

    @property
    def profile(self) -> Profile:
        """Sizes of this run: the full exercise, or the --quick smoke run."""
        return profile(self.quick)

    @property
    def seed_list(self) -> list[int]:
        """The seeds of the replicates; the first is --seed, the exercise's single run."""
        return [self.seed + i for i in range(self.seeds)]

    def folder(self, study: str) -> Path:
        from mnistlab.runs import check_writable

        return check_writable(Path(self.out) / study, "--out")


def tutorial_spec(
    ctx: StudyContext, dataset: str, *, seed: int | None = None, **changes
) -> RunSpec:
    """The Keras tutorial's model and training (or a variant of them, via ModelConfig /
    TrainConfig field changes), with the context's architecture unless `arch` is changed."""
    model_fields = {k: v for k, v in changes.items() if k in ModelConfig.__dataclass_fields__}
    train_fields = {k: v for k, v in changes.items() if k in TrainConfig.__dataclass_fields__}
    unknown = set(changes) - set(model_fields) - set(train_fields)
    if unknown:
        raise TypeError(f"unknown spec fields {sorted(unknown)}")
    model_fields.setdefault("arch", ctx.arch)
    return RunSpec(
        dataset=dataset,
        model=ModelConfig(**model_fields),
        train=ctx.profile.apply(TrainConfig(**train_fields)),
        seed=ctx.seed if seed is None else seed,
    )


def tutorial_specs(ctx: StudyContext, dataset: str, **changes) -> list[RunSpec]:
    """tutorial_spec once per seed of the context (ctx.seed_list), in that order."""
    return [tutorial_spec(ctx, dataset, seed=seed, **changes) for seed in ctx.seed_list]


def get_models(ctx: StudyContext, specs: list[RunSpec]) -> list[TrainedModel]:
    """Several models at once: whatever is not cached trains in parallel, one per core (or
    one Ray task each with --executor ray)."""
    return train_many(
        specs,
        data_dir=ctx.data_dir,
        cache_dir=ctx.cache_dir,
        retrain=ctx.retrain,
        executor=ctx.executor,
        ray_address=ctx.ray_address,
    )


def plan_specs(plan: dict) -> list[RunSpec]:
    """The specs of a model plan ({key: RunSpec, or a list of them}), each once, in order."""
    specs = [s for value in plan.values() for s in (value if isinstance(value, list) else [value])]
    return list(dict.fromkeys(specs))


def trained_models(ctx: StudyContext, plan: dict) -> dict:
    """{key: TrainedModel, or a list of them} for a plan {key: RunSpec, or a list of them}:
    models are found by what they are for (dataset, seed, role, ...), never counted off a
    list. Everything not cached trains in one parallel call."""
    specs = plan_specs(plan)
    trained = dict(zip(specs, get_models(ctx, specs), strict=True))
    return {
        key: [trained[s] for s in value] if isinstance(value, list) else trained[value]
        for key, value in plan.items()
    }


def seed_plan(ctx: StudyContext, datasets, **changes) -> dict:
    """{(dataset, seed): the tutorial's spec (with changes)} for every seed of the context."""
    return {
        (dataset, spec.seed): spec
        for dataset in datasets
        for spec in tutorial_specs(ctx, dataset, **changes)
    }


def test_set(ctx: StudyContext, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The test split (its first profile.test_size images under --quick)."""
    images, labels = load_split(dataset, "test", ctx.data_dir)
    size = ctx.profile.test_size
    return (images[:size], labels[:size]) if size is not None else (images, labels)


def test_order(ctx: StudyContext, n: int) -> np.ndarray:
    """A seeded order of the n test images, the same in every study: the shift study rotates
    its first images, and the conformal study the same ones (their outputs are then computed
    once per run). Seeded, because the test set's first images are not representative
    (MNIST's test set starts with the cleaner half of its writers)."""
    return stream(ctx.seed, "studies/test-order").permutation(n)


def model_summary(trained: TrainedModel) -> dict:
    meta = trained.meta
    return {
        "spec": trained.spec.to_dict(),
        "describe": trained.spec.describe(),
        "train/acc": meta["train/acc"],
        "test/acc": meta["test/acc"],
        "seconds_per_epoch": meta["seconds_per_epoch"],
        "from_cache": trained.from_cache,
        "cache_key": trained.path.name if trained.path else None,
    }
