"""What every study shares: its context, the tutorial model, quick-mode subsets, result files."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mnistlab import __version__
from mnistlab.config import ModelConfig, RunSpec, TrainConfig
from mnistlab.data import data_checksum, file_checksums, load_split
from mnistlab.runs import environment, read_json, save_figure, write_json
from mnistlab.training import TrainedModel, train, train_many

QUICK_TRAIN_SIZE = 2000
QUICK_TEST_SIZE = 1000
QUICK_EPOCHS = 1


@dataclass(frozen=True)
class StudyContext:
    """Where data, cache and outputs are, the seed, and whether this is a --quick smoke run."""

    out: Path = Path("mnistlab-out")
    data_dir: str | None = None
    cache_dir: str | None = None
    seed: int = 0
    quick: bool = False
    retrain: bool = False
    reuse: bool = False  # return a study's saved results when they were made with the same inputs
    memory_budget: int = (
        1 << 30
    )  # bytes an ensemble evaluation may use per call (results do not depend on it)

    def folder(self, study: str) -> Path:
        path = Path(self.out) / study
        path.mkdir(parents=True, exist_ok=True)
        return path


def quick_train_config(config: TrainConfig, quick: bool) -> TrainConfig:
    if not quick:
        return config
    size = min(config.train_size or QUICK_TRAIN_SIZE, QUICK_TRAIN_SIZE)
    return replace(config, train_size=size, epochs=QUICK_EPOCHS)


def tutorial_spec(
    ctx: StudyContext, dataset: str, *, seed: int | None = None, **changes
) -> RunSpec:
    """The Keras tutorial MLP (or a variant of it, via ModelConfig/TrainConfig field changes)."""
    model_fields = {k: v for k, v in changes.items() if k in ModelConfig.__dataclass_fields__}
    train_fields = {k: v for k, v in changes.items() if k in TrainConfig.__dataclass_fields__}
    unknown = set(changes) - set(model_fields) - set(train_fields)
    if unknown:
        raise TypeError(f"unknown spec fields {sorted(unknown)}")
    return RunSpec(
        dataset=dataset,
        model=ModelConfig(**model_fields),
        train=quick_train_config(TrainConfig(**train_fields), ctx.quick),
        seed=ctx.seed if seed is None else seed,
    )


def get_model(ctx: StudyContext, spec: RunSpec) -> TrainedModel:
    return train(spec, data_dir=ctx.data_dir, cache_dir=ctx.cache_dir, retrain=ctx.retrain)


def get_models(ctx: StudyContext, specs: list[RunSpec]) -> list[TrainedModel]:
    """Several models at once: whatever is not cached trains in parallel, one per core."""
    return train_many(specs, data_dir=ctx.data_dir, cache_dir=ctx.cache_dir, retrain=ctx.retrain)


def test_set(ctx: StudyContext, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The test split (its first QUICK_TEST_SIZE images under --quick)."""
    images, labels = load_split(dataset, "test", ctx.data_dir)
    if ctx.quick:
        return images[:QUICK_TEST_SIZE], labels[:QUICK_TEST_SIZE]
    return images, labels


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


class StudyWriter:
    """Collects a study's figures and writes results.json with its provenance and wall time."""

    def __init__(self, ctx: StudyContext, study: str, options: dict, datasets: tuple[str, ...]):
        self.ctx, self.study, self.options, self.datasets = ctx, study, options, datasets
        self.folder = ctx.folder(study)
        self.figures: dict[str, str] = {}
        self.start = time.perf_counter()
        self.fingerprint = hashlib.sha256(
            json.dumps(
                [
                    study,
                    options,
                    ctx.seed,
                    ctx.quick,
                    __version__,
                    [data_checksum(d) for d in datasets],
                ],
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()[:16]

    def reusable(self) -> dict | None:
        """The saved results, if made from the same inputs and all figures are there (resume, warm runs)."""
        path = self.folder / "results.json"
        if not self.ctx.reuse or self.ctx.retrain or not path.is_file():
            return None
        try:
            document = read_json(path)
        except ValueError:
            return None
        if document.get("fingerprint") != self.fingerprint:
            return None
        if not all((self.folder / name).is_file() for name in document.get("figures", {})):
            return None
        document["reused"] = True
        return document

    def figure(self, name: str, fig, caption: str) -> None:
        save_figure(fig, self.folder / f"{name}.png")
        self.figures[f"{name}.png"] = caption

    def finish(self, results: dict, summary: list[str]) -> dict:
        document = {
            "study": self.study,
            "fingerprint": self.fingerprint,
            "reused": False,
            "options": self.options,
            "seed": self.ctx.seed,
            "quick": self.ctx.quick,
            **results,
            "summary": summary,
            "figures": self.figures,
            "seconds": time.perf_counter() - self.start,
            "data_sha256": {name: file_checksums(name) for name in self.datasets},
            "environment": environment(),
        }
        write_json(self.folder / "results.json", document)
        return document
