"""One training job: the data it trains on, the model it builds, its fit and evaluation, and
the metadata cached with it. Run in a thread of this process (many.py) or on a Ray worker
(remote.py), a job gives the same weights: same seed, same batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import flops
from mnistlab.config import RunSpec
from mnistlab.data import file_checksums, load_split
from mnistlab.errors import ConfigError
from mnistlab.models.networks import build_model, make_optimizer, multiply_adds
from mnistlab.runs import library_versions
from mnistlab.training.fast import accuracy_with, fit_fast, shared_predictor, shared_runner
from mnistlab.training.reference import accuracy_of, fit_keras


def _only_classes(spec: RunSpec, x: np.ndarray, y: np.ndarray) -> tuple:
    """The images of the spec's classes (all of them when it names none)."""
    if spec.train.classes is None:
        return x, y
    keep = np.isin(y, spec.train.classes)
    return x[keep], y[keep]


def training_arrays(spec: RunSpec, data_dir=None):
    """(x_train, y_train, x_val, y_val): the first train_size images, the last validation_size
    held out; of those, the spec's classes only."""
    x, y = load_split(spec.dataset, "train", data_dir)
    n = min(spec.train.train_size or len(x), len(x))
    x, y = x[:n], y[:n]
    v = spec.train.validation_size
    if v >= n:
        raise ConfigError(
            f"validation size {v} leaves no training images out of {n}: choose a smaller one"
        )
    train, held_out = (x[: n - v], y[: n - v]), (x[n - v :], y[n - v :])
    return (*_only_classes(spec, *train), *_only_classes(spec, *held_out))


def test_arrays(spec: RunSpec, data_dir=None) -> tuple:
    """The test split, of the spec's classes only: what its test accuracy is measured on."""
    return _only_classes(spec, *load_split(spec.dataset, "test", data_dir))


@dataclass
class Job:
    """One model to train: prepared in the main thread, fitted in a worker, finished in the main thread."""

    spec: RunSpec
    folder: Path
    model: object = None
    optimizer: object = None
    arrays: tuple = ()
    history: list = field(default_factory=list)
    seconds: float = 0.0
    runner: object = None  # the compiled epoch shared by models of this architecture
    predictor: object = None  # the compiled inference shared likewise
    test: tuple = ()
    accuracy: dict = field(default_factory=dict)
    trainer: str = ""


def prepare(job: Job, data_dir, runners: dict, data: tuple | None = None) -> None:
    """Data, model, optimizer and compiled functions of a job; data: (training arrays, test
    split) already loaded, else read from data_dir."""
    # Keras' seeding is global state: models are built here, one at a time, never in workers.
    job.arrays = training_arrays(job.spec, data_dir) if data is None else data[0]
    job.model = build_model(job.spec.model, seed=job.spec.seed)
    job.optimizer = make_optimizer(job.spec.train.optimizer, job.spec.train.learning_rate)
    # The learning rate is one of the optimizer's variables, so it is part of the state the
    # compiled epoch takes, not of the program: models that differ only in it share one compile.
    key = (job.spec.model, job.spec.train.optimizer)
    if key not in runners:
        runners[key] = shared_runner(*key)
    if job.spec.model not in runners:
        runners[job.spec.model] = shared_predictor(job.spec.model)
    job.runner, job.predictor = runners[key], runners[job.spec.model]
    job.test = test_arrays(job.spec, data_dir) if data is None else data[1]


def fit(job: Job, bar) -> None:
    import keras

    x, y, _, _ = job.arrays
    start = time.perf_counter()

    def on_epoch(row):
        bar.advance(1, loss=row["loss"], acc=row["acc"])

    if keras.backend.backend() == "jax":
        job.history = fit_fast(
            job.model,
            job.optimizer,
            x,
            y,
            epochs=job.spec.train.epochs,
            batch_size=job.spec.train.batch_size,
            seed=job.spec.seed,
            on_epoch=on_epoch,
            runner=job.runner,
        )
        job.trainer = "fit_fast"
    else:
        job.history = fit_keras(
            job.model,
            job.optimizer,
            x,
            y,
            epochs=job.spec.train.epochs,
            batch_size=job.spec.train.batch_size,
            on_epoch=on_epoch,
        )
        job.trainer = "fit_keras"
    job.seconds = time.perf_counter() - start
    # Evaluate here, in the worker, so that evaluation overlaps other models' training.
    _, _, x_val, y_val = job.arrays

    def accuracy(images, labels):
        if job.trainer == "fit_fast":
            return accuracy_with(job.predictor, job.model, images, labels)
        return accuracy_of(job.model, images, labels)

    job.accuracy = {
        "train/acc": accuracy(x, y),
        "val/acc": accuracy(x_val, y_val),
        "test/acc": accuracy(*job.test),
    }
    per_image = multiply_adds(job.model)
    flops.add(flops.training(per_image, len(x), job.spec.train.epochs))
    flops.add(flops.forward(per_image, len(x) + len(x_val) + len(job.test[0])))


def finish(job: Job, data_dir, parallel: int) -> dict:
    spec = job.spec
    x, _, _, _ = job.arrays
    epoch_seconds = [row["seconds"] for row in job.history]
    # The first epoch includes compilation; the steady state is what a user waits per epoch.
    steady = epoch_seconds[1:] or epoch_seconds
    return {
        "dataset": spec.dataset,
        "config": spec.identity(),
        "seed": spec.seed,
        **job.accuracy,
        "train/size": len(x),
        "seconds_per_epoch": float(np.median(steady)),
        "train_seconds": job.seconds,
        "trained_in_parallel_with": parallel - 1,  # epochs run slower per model, faster per group
        "history": job.history,
        "trainer": job.trainer,
        "versions": library_versions(),
        "data_sha256": file_checksums(spec.dataset),
    }


class _NoProgress:
    def advance(self, *args, **kwargs) -> None:
        pass


def fit_job(spec: RunSpec, arrays: tuple, test: tuple) -> tuple[object, dict]:
    """Build, train and evaluate one model from data already in memory, exactly as a local
    training does (same seed, same batches): what a Ray worker runs (remote.py)."""
    job = Job(spec, folder=None)
    prepare(job, None, {}, data=(arrays, test))
    fit(job, _NoProgress())
    return job.model, finish(job, None, 1)
