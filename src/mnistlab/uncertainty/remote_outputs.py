"""Method outputs on a Ray cluster (`--executor ray`): the evaluation jobs of one seed replicate
as Ray tasks; the driver keeps the statistics, figures and report.

A job is a group of methods that share their expensive part, computed on the sets the output
store does not already hold: one per family (the feature-space detectors share the training
features, the deep-ensemble scores its members). Weight dropout's and MC dropout's methods
stay on the driver, whose Evaluation sends their K members (passes) to the cluster in parts
(remote_members.py), so one ensemble spreads over several workers.

What travels: each network (config and weights) and each image array goes into Ray's object
store once per run, whatever the number of jobs and replicates that use it; a worker keeps
the networks it rebuilt, so its fits (training features, Laplace's curvature, tuned
hyperparameters) are shared between the jobs it runs. A job returns the methods' outputs,
the hyperparameters it tuned and the FLOPs it did. A worker runs the same code on the same
arrays as the driver would, so the outputs are the local run's, bit for bit. Failed jobs and
lost workers are retried by Ray; finished jobs go into the output store as they arrive; on
Ctrl-C or an error the pending jobs are cancelled.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from mnistlab import (
    backend,  # noqa: F401  (first: a Ray worker unpickles a task into Keras)
    flops,
    interrupt,
    progress,
    session,
)
from mnistlab.training.remote import RETRIES, connect
from mnistlab.uncertainty.method import ENSEMBLE, MC_DROPOUT
from mnistlab.uncertainty.output_store import fingerprint

# Arrays and networks kept in the object store for this run, the oldest freed first past
# these bounds (a default report puts 961 MiB of distinct arrays and networks)
MAX_REFS, MAX_BYTES = 256, 4 << 30


class Traffic(dict):
    """What this session sent to Ray: tasks, parts of ensembles, and objects put (the report
    prints it)."""

    def __init__(self) -> None:
        super().__init__(jobs=0, parts=0, objects=0, bytes=0)


def traffic() -> Traffic:
    return session.part("ray/traffic", Traffic)


class ObjectRefs:
    """driver: what this session put into Ray's object store, for the job it was put in."""

    def __init__(self) -> None:
        self.job = None
        # identity -> (object kept alive, [ObjectRef], bytes)
        self.entries: OrderedDict = OrderedDict()

    def kept_bytes(self) -> int:
        return sum(entry[2] for entry in self.entries.values())


def _networks() -> OrderedDict:
    """worker: ObjectRef hex -> TrainedModel."""
    return session.part("ray/worker-networks", OrderedDict)


def remember(key, keep, make):
    """[ObjectRef] of make()'s value, put into the object store once (a list, so a worker
    receives the reference itself and can recognize a network it has already rebuilt)."""
    import ray

    job = ray.get_runtime_context().get_job_id()
    refs = session.part("ray/object-refs", ObjectRefs)
    if refs.job != job:  # connected again (ray.init): the old references are void
        refs.entries.clear()
        refs.job = job
    entries = refs.entries
    if key not in entries:
        value = make()
        size = sum(np.asarray(a).nbytes for a in _arrays(value))
        while entries and (len(entries) >= MAX_REFS or refs.kept_bytes() + size > MAX_BYTES):
            entries.popitem(last=False)
        traffic()["objects"] += 1
        traffic()["bytes"] += size
        entries[key] = (keep, [ray.put(value)], size)
    entries.move_to_end(key)
    return entries[key][1]


def _arrays(value):
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _arrays(item)]
    return [value] if isinstance(value, np.ndarray) else []


def put_images(images: np.ndarray) -> list:
    images = np.ascontiguousarray(images, np.float32)
    return remember(("images", fingerprint(images)), None, lambda: images)


def put_network(trained) -> list:
    """A trained model's spec and weights; keyed by the keras model, kept alive with its ref."""
    weights = [np.asarray(w) for w in trained.model.get_weights()]
    return remember(("network", id(trained.model)), trained.model, lambda: (trained.spec, weights))


def _network(ray, ref: list):
    """The worker's TrainedModel for a network reference, rebuilt once per worker process."""
    from mnistlab.models.networks import build_model
    from mnistlab.training import TrainedModel

    key = ref[0].hex()
    networks = _networks()
    if key not in networks:
        while len(networks) >= MAX_REFS:
            networks.popitem(last=False)
        spec, weights = ray.get(ref[0])
        model = build_model(spec.model, seed=0)
        model.set_weights(weights)
        networks[key] = TrainedModel(spec, model)
    return networks[key]


def group_key(method) -> tuple:
    """Methods evaluated in one job: those of a family (and fraction) share their costly part."""
    return (method.family, method.p)


def grouped(todo: list) -> dict:
    """{group: [(method, missing sets)]}: the jobs, weight dropout's methods left out."""
    groups: dict = {}
    for method, missing in todo:
        if not on_driver(method):
            groups.setdefault(group_key(method), []).append((method, missing))
    return groups


def on_driver(method) -> bool:
    """Weight dropout's and MC dropout's methods: their members (passes) go to the cluster
    in parts instead."""
    return method.per_fraction or MC_DROPOUT in method.roles


def job_on_worker(job: dict, methods: list, missing: list) -> dict:
    """The Ray task: the methods' outputs on their missing sets, in a worker's Evaluation."""
    import ray

    def images(ref):
        return ray.get(ref[0])

    roles = {
        role: [_network(ray, r) for r in ref] if role == ENSEMBLE else _network(ray, ref)
        for role, ref in job["models"].items()
    }
    names = sorted({name for sets in missing for name in sets}, key=job["order"].index)
    start = flops.total()
    evaluation = job["evaluation"](  # the driver's Evaluation class, imported here by name
        roles,
        {name: images(job["sets"][name]) for name in names},
        validation=(images(job["validation"][0]), images(job["validation"][1])),
        train_images=images(job["train"][0]),
        train_labels=images(job["train"][1]),
        seed=job["seed"],
        members=job["members"],
        memory_budget=job["memory_budget"],
        label=job["label"],
    )
    outputs = [
        method.outputs(evaluation.view(tuple(sets)), method)
        for method, sets in zip(methods, missing, strict=True)
    ]
    return {"outputs": outputs, "tuned": evaluation.tuned_values(), "flops": flops.total() - start}


def outputs_on_ray(evaluation, todo: list, *, retries: int = RETRIES, task=None):
    """Yield (method, missing sets, (probabilities, score)) for every (method, missing) of
    `todo`. The jobs are submitted first; while they run, the driver's own methods (weight
    and MC dropout) send their parts to the cluster beside them; then the jobs' outputs are
    collected as they finish."""
    ray = connect(evaluation.ray_address)
    remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(
        task or job_on_worker
    )
    groups = grouped(todo)
    pending = {}
    if groups:
        needed = {name for group in groups.values() for _, missing in group for name in missing}
        job = _job(evaluation, needed)
        for group in groups.values():
            methods, missing = [m for m, _ in group], [list(s) for _, s in group]
            pending[remote.remote(job, methods, missing)] = group
        traffic()["jobs"] += len(pending)
    try:
        for method, missing in todo:  # the parts queue beside the jobs already submitted
            if on_driver(method):
                yield method, missing, method.outputs(evaluation.view(missing), method)
        with progress.task(f"{evaluation.label}: evaluation jobs on Ray", len(pending)) as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                interrupt.check()
                for ref in done:
                    group, result = pending.pop(ref), ray.get(ref)
                    flops.add(result["flops"])  # the workers' arithmetic, in the FLOP floor
                    evaluation.adopt_tuned(result["tuned"])
                    bar.advance(1)
                    for (method, missing), outputs in zip(group, result["outputs"], strict=True):
                        yield method, missing, outputs
    finally:
        for ref in pending:  # interrupted or failed: do not leave jobs running
            ray.cancel(ref, force=True)


def _job(evaluation, needed: set) -> dict:
    """What every job of this replicate reads: references to its networks and arrays (of the
    image sets, those some job computes outputs on)."""
    models = {
        role: [put_network(m) for m in value] if role == ENSEMBLE else put_network(value)
        for role, value in evaluation.models.items()
    }
    x_val, y_val = evaluation.validation
    labels = evaluation.train_labels
    return {
        "evaluation": type(evaluation),
        "models": models,
        "sets": {k: put_images(v) for k, v in evaluation.sets.items() if k in needed},
        "order": list(evaluation.sets),
        "validation": (put_images(x_val), _put_labels(y_val)),
        "train": (put_images(evaluation.train_images), _put_labels(labels)),
        "seed": evaluation.seed,
        "members": evaluation.members,
        "memory_budget": evaluation.memory_budget,
        "label": evaluation.label,
    }


def _put_labels(labels) -> list:
    if labels is None:
        return remember(("labels", None), None, lambda: None)
    labels = np.ascontiguousarray(labels)
    return remember(
        ("labels", labels.shape, fingerprint(labels.astype(np.float32))),
        None,
        lambda: labels,
    )
