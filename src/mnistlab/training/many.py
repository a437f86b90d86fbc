"""Train one or many RunSpecs, each exactly as alone (same seed, batches and weights), in worker
threads; whatever is cached is loaded instead. Models of one architecture share one compiled epoch.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from mnistlab import progress
from mnistlab.config import RunSpec
from mnistlab.data import verify_split
from mnistlab.models.networks import build_model
from mnistlab.training.cache import TrainedModel, cache_folder, load, remember, store
from mnistlab.training.job import Job, finish, fit, prepare, test_arrays, training_arrays


def _train_on_ray(jobs: list, results: list, data_dir, address) -> None:
    """The jobs as Ray tasks; each model is cached as soon as it comes back."""
    from mnistlab.training.remote import train_remote

    def data(spec):
        return training_arrays(spec, data_dir), test_arrays(spec, data_dir)

    specs = [job.spec for _, job in jobs]
    with progress.task(f"train {len(jobs)} models on Ray (jobs done)", len(jobs)) as bar:
        for index, weights, meta in train_remote(specs, data, address=address):
            i, job = jobs[index]
            model = build_model(job.spec.model, seed=job.spec.seed)
            model.set_weights(weights)
            store(job.folder, model, meta)
            results[i] = remember(TrainedModel(job.spec, model, meta, job.folder, from_cache=False))
            bar.advance(1)


def train(
    spec: RunSpec,
    *,
    data_dir=None,
    cache_dir=None,
    retrain: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
) -> TrainedModel:
    """Train `spec`, or load it from the cache when the same spec was trained on the same data."""
    return train_many(
        [spec],
        data_dir=data_dir,
        cache_dir=cache_dir,
        retrain=retrain,
        executor=executor,
        ray_address=ray_address,
    )[0]


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
        futures, pending = {}, set()
        try:
            # tasks may be a generator doing work of its own between tasks (train_many builds
            # each model there): the first tasks run while it makes the next, and whatever
            # they finish (or raise) is passed on between two tasks, not after the last.
            for index, task in enumerate(tasks):
                future = pool.submit(task)
                futures[future] = index
                pending.add(future)
                yield from _take_finished(pending, futures)
            yield from _take_finished(pending, futures)
            for future in as_completed(pending):
                future.result()
                yield futures[future]
        finally:
            for future in futures:
                future.cancel()


def _take_finished(pending: set, futures: dict):
    """The indices of the pending futures that are done, in the order they were submitted;
    the first that failed raises, so none submitted after it is taken (a worker's interrupt
    keeps the models before it, not the ones a free worker went on to finish)."""
    for future in sorted((f for f in pending if f.done()), key=futures.get):
        pending.discard(future)
        future.result()
        yield futures[future]


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
    executor: str = "local",
    ray_address: str | None = None,
) -> list[TrainedModel]:
    """Train several specs, each exactly as train() would (same seed, same batches, same weights),
    in parallel worker threads; models of one architecture share one compiled epoch.
    executor="ray": each model is a task on the Ray cluster at ray_address (default: a
    local instance), see remote.py."""
    from mnistlab.training.compilation import enable_persistent_cache

    enable_persistent_cache(cache_dir)

    results: list[TrainedModel | None] = [None] * len(specs)
    jobs: list[tuple[int, Job]] = []
    for i, spec in enumerate(specs):
        # Verify the data even on a cache hit: the key promises a model of *this* data, and a
        # corrupt or missing data folder should be reported, not silently ignored. Files
        # verified before (same size and mtime) are not read again.
        for split in ("train", "test"):
            verify_split(spec.dataset, split, data_dir)
        folder = cache_folder(spec, cache_dir)
        cached = None if retrain else load(spec, folder)
        if cached is not None:
            results[i] = cached
        elif not any(job.folder == folder for _, job in jobs):
            jobs.append((i, Job(spec, folder)))
    if jobs and executor == "ray":
        _train_on_ray(jobs, results, data_dir, ray_address)
    elif jobs:
        import keras

        workers = min(workers or default_workers(), len(jobs))
        if keras.backend.backend() != "jax":
            workers = 1  # only the JAX path is known to be thread-safe
        label = (
            jobs[0][1].spec.describe()
            if len(jobs) == 1
            else f"{len(jobs)} models, {workers} at a time"
        )
        with progress.task(f"train {label}", sum(job.spec.train.epochs for _, job in jobs)) as bar:
            runners: dict = {}  # compiled epochs and predictors, one per architecture

            def prepared():
                # Models are built here, in this thread, one at a time (Keras' seeding is this
                # thread's state), while the workers train the ones built before: building a
                # model of a new shape compiles its initializers (0.2-0.7 s each).
                for _, job in jobs:
                    prepare(job, data_dir, runners)
                    yield lambda job=job: fit(job, bar)

            for index in completed_in_threads(prepared(), workers):
                i, job = jobs[index]
                meta = finish(job, data_dir, workers)
                # Cached as soon as it is trained: an interrupted run keeps its finished models.
                store(job.folder, job.model, meta)
                results[i] = remember(
                    TrainedModel(job.spec, job.model, meta, job.folder, from_cache=False)
                )
    for i, spec in enumerate(specs):  # duplicates of a spec trained in this call
        if results[i] is None:
            results[i] = train(spec, data_dir=data_dir, cache_dir=cache_dir)  # from the cache
    return results
