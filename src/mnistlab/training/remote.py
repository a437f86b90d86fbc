"""Training jobs on a Ray cluster (`--executor ray`): each model is one Ray task.

The driver puts each data set's arrays into Ray's object store once, so the data travel with
the jobs and workers need no data folder and no shared file system. A worker builds, trains
and evaluates its model exactly as a local training would (same seed, same batches) and
sends back the weights and the metadata; the driver rebuilds the model and writes the model
cache atomically, each model as soon as it arrives, so finished models survive a lost worker
or a Ctrl-C. A task that raises (or whose worker dies) is retried by Ray.

Workers need mnistlab installed in the same version (on one machine: the same environment).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator

import numpy as np

from mnistlab import (
    backend,  # noqa: F401  (first: a Ray worker unpickles a task into Keras)
    interrupt,
)
from mnistlab.config import RunSpec
from mnistlab.errors import UserError

RETRIES = 3  # per task, for errors raised in the task and for workers that die
INSTALL_HINT = "install it with: pip install 'mnistlab[ray]'"


def worker_env() -> dict:
    """The workers' environment: Keras on the JAX backend, and BLAS with the driver's thread
    count. Ray would give each worker one BLAS thread; reductions then run in another order
    than on the driver, and Laplace's eigendecomposition or the KNN distances differ from a
    local run's in the last bits. With the same count a local instance gives its numbers
    exactly (XLA, which does most of the work, uses every core either way)."""
    threads = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count() or 1)
    return {"KERAS_BACKEND": "jax", "OMP_NUM_THREADS": threads}


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(
            f"--executor ray needs Ray, which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


def check_reachable(address: str, seconds: float = 5.0) -> None:
    """A clear error at once when nothing listens at HOST:PORT (Ray itself keeps retrying for
    minutes). 'auto' and other forms without a port are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise UserError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
            "'ray start --head' on that machine, or check --ray-address"
        ) from None


def connect(address: str | None):
    """Ray, connected: to the cluster at `address`, or to a local instance started here."""
    ray = import_ray()
    if address and not ray.is_initialized():
        check_reachable(address)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,  # Ray's own INFO and WARNING lines stay out
                runtime_env={"env_vars": worker_env()},
            )
        except ConnectionError as exc:
            raise UserError(
                f"cannot reach the Ray cluster at {address!r} ({exc}); start it with "
                "'ray start --head' or check --ray-address"
            ) from None
    return ray


def fit_on_worker(spec: RunSpec, arrays: tuple, test: tuple) -> tuple[list[np.ndarray], dict]:
    """The Ray task: train and evaluate one model; return its weights and metadata."""
    from mnistlab.training.job import fit_job

    model, meta = fit_job(spec, arrays, test)
    return [np.asarray(w) for w in model.get_weights()], {**meta, "executor": "ray"}


def train_remote(
    specs: list[RunSpec],
    data: Callable[[RunSpec], tuple[tuple, tuple]],
    *,
    address: str | None = None,
    retries: int = RETRIES,
    task: Callable | None = None,
) -> Iterator[tuple[int, list[np.ndarray], dict]]:
    """Train every spec as a Ray task; yield (index, weights, meta) as each one finishes.

    data(spec) -> (training arrays, test split): read on the driver, shared through the
    object store (one copy per data set and split, whatever the number of jobs). task: the
    function a worker runs (default fit_on_worker; tests use one that fails once).
    """
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(
        task or fit_on_worker
    )
    refs: dict = {}
    pending = {}
    for index, spec in enumerate(specs):
        key = (spec.dataset, spec.train.train_size, spec.train.validation_size, spec.train.classes)
        if key not in refs:
            arrays, test = data(spec)
            refs[key] = (ray.put(arrays), ray.put(test))
        pending[remote.remote(spec, *refs[key])] = index
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            interrupt.check()
            for ref in done:
                index = pending.pop(ref)
                weights, meta = ray.get(ref)
                yield index, weights, meta
    finally:
        for ref in pending:  # interrupted or failed: do not leave jobs running
            ray.cancel(ref, force=True)
