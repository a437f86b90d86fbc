"""Train a RunSpec with a seed; cache the result on disk under a key of spec + seed + data checksum.

On the JAX backend an epoch is one compiled `lax.scan` over the batches through Keras'
stateless API (3x faster than `fit` at batch 32, where `fit` is dominated by per-step
overhead). `fit_keras` is the straightforward reference and the path for other backends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import progress
from mnistlab.config import ModelConfig, RunSpec
from mnistlab.data import data_checksum, default_cache_root, file_checksums, load_split
from mnistlab.models import build_model, make_optimizer
from mnistlab.runs import library_versions, read_json, write_json


@dataclass
class TrainedModel:
    spec: RunSpec
    model: object  # keras.Model
    meta: dict = field(default_factory=dict)  # accuracies, history, timings, provenance
    path: Path | None = None  # cache folder
    from_cache: bool = False


def resolve_cache_dir(cache_dir=None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("MNISTLAB_CACHE_DIR"):
        return Path(os.environ["MNISTLAB_CACHE_DIR"]).expanduser()
    return default_cache_root()


def training_arrays(spec: RunSpec, data_dir=None):
    """(x_train, y_train, x_val, y_val): the first train_size images, the last validation_size held out."""
    x, y = load_split(spec.dataset, "train", data_dir)
    n = min(spec.train.train_size or len(x), len(x))
    x, y = x[:n], y[:n]
    v = spec.train.validation_size
    if v >= n:
        from mnistlab.errors import ConfigError

        raise ConfigError(
            f"validation size {v} leaves no training images out of {n}: choose a smaller one"
        )
    if v:
        return x[: n - v], y[: n - v], x[n - v :], y[n - v :]
    return x, y, x[:0], y[:0]


def epoch_order(n: int, *, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order of examples in an epoch: a permutation drawn from (seed, epoch) alone."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([seed, epoch]).permutation(n)


def make_train_step(model, optimizer):
    """A pure step (state, (x, y)) -> (state, (loss, n_correct)) over Keras' stateless API."""
    import jax
    import jax.numpy as jnp
    import keras

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def compute_loss(trainable, non_trainable, x, y):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, logits), (non_trainable, logits)

    value_and_grad = jax.value_and_grad(compute_loss, has_aux=True)

    def step(state, batch):
        trainable, non_trainable, opt_vars = state
        x, y = batch
        (loss, (non_trainable, logits)), grads = value_and_grad(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        correct = jnp.sum(jnp.argmax(logits, axis=-1) == y)
        return (trainable, non_trainable, opt_vars), (loss, correct)

    return step


def initial_state(model, optimizer):
    optimizer.build(model.trainable_variables)
    return (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    )


def assign_state(model, state) -> None:
    trainable, non_trainable, _ = state
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
        variable.assign(value)


def epoch_runner(model, optimizer):
    """A jitted run_batches(state, x, y, order) -> (state, (loss, correct)) scanning over batches.

    x and y are arguments, not constants, so one compiled runner serves every model with the
    same architecture and optimizer (the compile, about 1.5 s, is paid once per group).
    """
    import jax

    step = make_train_step(model, optimizer)

    def run_batches(state, x, y, order):  # order: (n_batches, batch) indices into x
        return jax.lax.scan(lambda s, idx: step(s, (x[idx], y[idx])), state, order)

    return jax.jit(run_batches)


def fit_fast(
    model,
    optimizer,
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    shuffle: bool = True,
    on_epoch=None,
    runner=None,
):
    """Train in place: each epoch is one jitted scan over full batches plus one step for the rest."""
    import jax.numpy as jnp

    runner = runner or epoch_runner(model, optimizer)
    x_dev, y_dev = jnp.asarray(x), jnp.asarray(y)
    state = initial_state(model, optimizer)
    n = len(x)
    n_full = n // batch_size
    history = []
    for epoch in range(epochs):
        start = time.perf_counter()
        order = epoch_order(n, seed=seed, epoch=epoch, shuffle=shuffle)
        losses, corrects = [], []
        if n_full:
            full = jnp.asarray(order[: n_full * batch_size].reshape(n_full, batch_size))
            state, (loss, correct) = runner(state, x_dev, y_dev, full)
            losses.append(loss * batch_size)
            corrects.append(correct)
        if n % batch_size:
            rest = jnp.asarray(order[n_full * batch_size :][None])
            state, (loss, correct) = runner(state, x_dev, y_dev, rest)
            losses.append(loss * (n % batch_size))
            corrects.append(correct)
        loss = float(sum(jnp.sum(v) for v in losses)) / n
        acc = float(sum(jnp.sum(c) for c in corrects)) / n
        history.append(
            {"epoch": epoch + 1, "loss": loss, "acc": acc, "seconds": time.perf_counter() - start}
        )
        if on_epoch:
            on_epoch(history[-1])
    assign_state(model, state)
    return history


def fit_keras(
    model, optimizer, x, y, *, epochs: int, batch_size: int, shuffle: bool = True, on_epoch=None
):
    """The straightforward way: compile + fit. Reference for tests and benchmarks."""
    import keras

    class _Report(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "acc": float(logs["accuracy"]),
                "seconds": time.perf_counter() - self.start,
            }
            history.append(row)
            if on_epoch:
                on_epoch(row)

    history = []
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=0,
        callbacks=[_Report()],
    )
    return history


def accuracy_of(model, images, labels) -> float:
    from mnistlab.predict import predict_logits

    if len(images) == 0:
        return float("nan")
    return float(np.mean(predict_logits(model, images).argmax(axis=1) == labels))


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


def run_in_threads(tasks, workers: int) -> None:
    """Run callables on `workers` threads (XLA releases the GIL while a compiled epoch runs)."""
    if workers <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()  # re-raise a worker's error here


def shared_predictor(config: ModelConfig):
    """A jitted (trainable, non_trainable, x) -> logits for every model with this architecture:
    pure JAX, so worker threads can evaluate the models they trained."""
    import jax

    template = build_model(config, seed=0)
    return jax.jit(
        lambda trainable, non_trainable, x: template.stateless_call(trainable, non_trainable, x)[0]
    )


def accuracy_with(predictor, model, images, labels, *, batch: int = 5000) -> float:
    """Accuracy through a shared predictor; batches padded to one shape (one compilation)."""
    import jax.numpy as jnp

    if len(images) == 0:
        return float("nan")
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    correct = 0
    for start in range(0, len(images), batch):
        x = images[start : start + batch]
        padded = (
            np.concatenate([x, np.zeros((batch - len(x), *x.shape[1:]), x.dtype)])
            if len(x) < batch
            else x
        )
        logits = np.asarray(predictor(trainable, non_trainable, jnp.asarray(padded)))[: len(x)]
        correct += int(np.sum(logits.argmax(axis=1) == labels[start : start + len(x)]))
    return correct / len(images)


def shared_runner(config: ModelConfig, optimizer: str, learning_rate: float):
    """One compiled epoch for every model with this architecture and optimizer."""
    template, template_optimizer = (
        build_model(config, seed=0),
        make_optimizer(optimizer, learning_rate),
    )
    template_optimizer.build(template.trainable_variables)
    return epoch_runner(template, template_optimizer)


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

    root = resolve_cache_dir(cache_dir)
    results: list[TrainedModel | None] = [None] * len(specs)
    jobs: list[tuple[int, _Job]] = []
    for i, spec in enumerate(specs):
        # Verify the data even on a cache hit: the key promises a model of *this* data, and a
        # corrupt or missing data folder should be reported, not silently ignored.
        training_arrays(spec, data_dir)
        load_split(spec.dataset, "test", data_dir)
        folder = root / "models" / spec.cache_key(data_checksum(spec.dataset))
        cached = None if retrain else _load(spec, folder)
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
            run_in_threads([lambda job=job: _fit(job, bar) for _, job in jobs], workers)
        for i, job in jobs:
            meta = _finish(job, data_dir, workers)
            _store(job.folder, job.model, meta)
            results[i] = TrainedModel(job.spec, job.model, meta, job.folder, from_cache=False)
    for i, spec in enumerate(specs):  # duplicates of a spec trained in this call
        if results[i] is None:
            results[i] = train(spec, data_dir=data_dir, cache_dir=cache_dir)
    return results


def is_cached(spec: RunSpec, *, cache_dir=None) -> bool:
    """Whether a trained model for `spec` is in the cache (without loading or verifying anything)."""
    folder = resolve_cache_dir(cache_dir) / "models" / spec.cache_key(data_checksum(spec.dataset))
    return (folder / "meta.json").is_file()


def _load(spec: RunSpec, folder: Path) -> TrainedModel | None:
    import keras

    if not (folder / "meta.json").is_file():
        return None
    try:
        model = keras.saving.load_model(folder / "model.keras", compile=False)
        return TrainedModel(spec, model, read_json(folder / "meta.json"), folder, from_cache=True)
    except Exception as exc:  # a damaged cache entry is retrained, not fatal
        progress.say(f"cache entry {folder} unreadable ({exc}); retraining")
        return None


def _store(folder: Path, model, meta: dict) -> None:
    """Write model + meta into a temporary folder, then rename it into place (atomic)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save(tmp / "model.keras")
        write_json(tmp / "meta.json", meta)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
