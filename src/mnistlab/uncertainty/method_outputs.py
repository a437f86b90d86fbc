"""An Evaluation's method outputs: each (method, image set) is looked up in the session's store
by what it depends on (the keras models, the seed, the members, the method, what it was fitted
on, the images themselves and, for MC dropout, their position) and computed only where missing,
here or as Ray jobs (remote_outputs.py)."""

from __future__ import annotations

import numpy as np

from mnistlab.uncertainty.method import BASE, ENSEMBLE, Method, MethodOutput
from mnistlab.uncertainty.output_store import fingerprint
from mnistlab.uncertainty.remote_outputs import outputs_on_ray


def networks(evaluation, method: Method) -> list:
    """The keras models a method's outputs depend on (the base model's and its roles')."""
    roles = [BASE, *(r for r in method.roles if r != BASE)]
    return [
        m for r in roles for m in (evaluation.model(r) if r == ENSEMBLE else [evaluation.model(r)])
    ]


def _identity(evaluation, method: Method) -> tuple:
    # The keras models themselves: the model cache hands every study the same objects
    # (TrainedModel records are copied per call). Store entries keep them alive.
    models = tuple(id(m) for m in networks(evaluation, method))
    fitted = evaluation.held_out_print() if method.fits else None
    return (models, evaluation.seed, evaluation.members, method.key, fitted)


def method_outputs(evaluation, methods: list[Method]) -> list[MethodOutput]:
    """Every method's outputs on every set; what is in the store is taken from it, the
    rest is computed on the missing sets only (all sets for position-dependent methods),
    here or, with the Ray executor, as jobs on the cluster (remote_outputs.py)."""
    prints = {k: fingerprint(v) for k, v in evaluation.sets.items()}
    keys, found, todo = {}, {}, []
    for method in methods:
        identity = _identity(evaluation, method)
        where = {
            k: int(evaluation.offsets[k]) if method.position_dependent else None for k in prints
        }
        keys[method.key] = {k: (identity, prints[k], where[k]) for k in prints}
        found[method.key] = {k: evaluation.store.get(key) for k, key in keys[method.key].items()}
        missing = tuple(k for k, entry in found[method.key].items() if entry is None)
        if missing and method.position_dependent:
            missing = tuple(evaluation.sets)
        if missing:
            todo.append((method, missing))
        for counts in (evaluation.store, evaluation):
            counts.computed += len(missing)
            counts.reused += len(evaluation.sets) - len(missing)
    computed = (
        outputs_on_ray(evaluation, todo)
        if evaluation.executor == "ray"
        else _computed(evaluation, todo)
    )
    for method, missing, (probabilities, score) in computed:
        for name in missing:  # stored as each arrives: finished work survives an error
            entry = (np.asarray(probabilities[name]), np.asarray(score[name]))
            found[method.key][name] = entry
            evaluation.store.put(keys[method.key][name], *entry, networks(evaluation, method))
    return [
        MethodOutput.of(
            method,
            {name: found[method.key][name][0] for name in evaluation.sets},
            {name: found[method.key][name][1] for name in evaluation.sets},
        )
        for method in methods
    ]


def _computed(evaluation, todo: list):
    for method, missing in todo:
        yield method, missing, method.outputs(evaluation.view(missing), method)
