"""Train one or many RunSpecs, each exactly as alone (same seed, batches and weights), in worker
threads; whatever is cached is loaded instead. Models of one architecture share one compiled epoch.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import flops, progress
from mnistlab.config import RunSpec
from mnistlab.data import file_checksums, load_split
from mnistlab.errors import ConfigError
from mnistlab.models import build_model, make_optimizer, multiply_adds
from mnistlab.runs import library_versions
from mnistlab.training.cache import TrainedModel, cache_folder, load, store
from mnistlab.training.fast import accuracy_with, fit_fast, shared_predictor, shared_runner
from mnistlab.training.reference import accuracy_of, fit_keras


def training_arrays(spec: RunSpec, data_dir=None):
    """(x_train, y_train, x_val, y_val): the first train_size images, the last validation_size held out."""
    x, y = load_split(spec.dataset, "train", data_dir)
    n = min(spec.train.train_size or len(x), len(x))
    x, y = x[:n], y[:n]
    v = spec.train.validation_size
    if v >= n:
        raise ConfigError(
            f"validation size {v} leaves no training images out of {n}: choose a smaller one"
        )
    if v:
        return x[: n - v], y[: n - v], x[n - v :], y[n - v :]
    return x, y, x[:0], y[:0]


@dataclass
class _Job:
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


def _prepare(job: _Job, data_dir, runners: dict) -> None:
    # Keras' seeding is global state: models are built here, one at a time, never in workers.
    job.arrays = training_arrays(job.spec, data_dir)
    job.model = build_model(job.spec.model, seed=job.spec.seed)
    job.optimizer = make_optimizer(job.spec.train.optimizer, job.spec.train.learning_rate)
    key = (job.spec.model, job.spec.train.optimizer, job.spec.train.learning_rate)
    if key not in runners:
        runners[key] = shared_runner(*key)
    if job.spec.model not in runners:
        runners[job.spec.model] = shared_predictor(job.spec.model)
    job.runner, job.predictor = runners[key], runners[job.spec.model]
    job.test = load_split(job.spec.dataset, "test", data_dir)


def _fit(job: _Job, bar) -> None:
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


def _finish(job: _Job, data_dir, parallel: int) -> dict:
    spec = job.spec
    x, _, _, _ = job.arrays
    epoch_seconds = [row["seconds"] for row in job.history]
    # The first epoch includes compilation; the steady state is what a user waits per epoch.
    steady = epoch_seconds[1:] or epoch_seconds
    return {
        "dataset": spec.dataset,
        "config": spec.to_dict(),
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


def train(spec: RunSpec, *, data_dir=None, cache_dir=None, retrain: bool = False) -> TrainedModel:
    """Train `spec`, or load it from the cache when the same spec was trained on the same data."""
    return train_many([spec], data_dir=data_dir, cache_dir=cache_dir, retrain=retrain)[0]


def default_workers() -> int:
    """One training per core: a single small-batch training keeps only about 1.2 of 2 cores busy."""
    return max(1, os.cpu_count() or 1)


def completed_in_threads(tasks, workers: int):
    """Run callables on `workers` threads (XLA releases the GIL while a compiled epoch runs)
    and yield each one's index as soon as it finishes; a worker's error is raised here.

    On Ctrl-C, tasks not started are cancelled and running ones stop at their next epoch
    (interrupt.check), so the pool is joined in about a second, never left running.
    """
    if workers <= 1:
        for index, task in enumerate(tasks):
            task()
            yield index
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(task): index for index, task in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                future.result()
                yield futures[future]
        finally:
            for future in futures:
                future.cancel()


def run_in_threads(tasks, workers: int) -> None:
    """Run callables on `workers` threads until all have finished."""
    for _ in completed_in_threads(tasks, workers):
        pass


def train_many(
    specs: list[RunSpec],
    *,
    data_dir=None,
    cache_dir=None,
    retrain: bool = False,
    workers: int | None = None,
) -> list[TrainedModel]:
    """Train several specs, each exactly as train() would (same seed, same batches, same weights),
    in parallel worker threads; models of one architecture share one compiled epoch."""
    import keras

    results: list[TrainedModel | None] = [None] * len(specs)
    jobs: list[tuple[int, _Job]] = []
    for i, spec in enumerate(specs):
        # Verify the data even on a cache hit: the key promises a model of *this* data, and a
        # corrupt or missing data folder should be reported, not silently ignored.
        training_arrays(spec, data_dir)
        load_split(spec.dataset, "test", data_dir)
        folder = cache_folder(spec, cache_dir)
        cached = None if retrain else load(spec, folder)
        if cached is not None:
            results[i] = cached
        elif not any(job.folder == folder for _, job in jobs):
            jobs.append((i, _Job(spec, folder)))
    if jobs:
        runners: dict = {}
        for _, job in jobs:
            _prepare(job, data_dir, runners)
        workers = min(workers or default_workers(), len(jobs))
        if keras.backend.backend() != "jax":
            workers = 1  # only the JAX path is known to be thread-safe
        label = (
            jobs[0][1].spec.describe()
            if len(jobs) == 1
            else f"{len(jobs)} models, {workers} at a time"
        )
        with progress.task(f"train {label}", sum(job.spec.train.epochs for _, job in jobs)) as bar:
            tasks = [lambda job=job: _fit(job, bar) for _, job in jobs]
            for index in completed_in_threads(tasks, workers):
                i, job = jobs[index]
                meta = _finish(job, data_dir, workers)
                # Cached as soon as it is trained: an interrupted run keeps its finished models.
                store(job.folder, job.model, meta)
                results[i] = TrainedModel(job.spec, job.model, meta, job.folder, from_cache=False)
    for i, spec in enumerate(specs):  # duplicates of a spec trained in this call
        if results[i] is None:
            results[i] = train(spec, data_dir=data_dir, cache_dir=cache_dir)
    return results
