"""Every scoreboard method on one seed replicate's models: probabilities and scores per input set.

Shared by the scoreboard (clean test set and OOD sets) and the shift study (shifted test sets):
both run the same methods on the same models, so their numbers can be read side by side.
"""

from __future__ import annotations

import copy

import numpy as np

from mnistlab import flops, progress
from mnistlab.models.networks import multiply_adds
from mnistlab.models.predict import predict_logits
from mnistlab.studies.framework.context import StudyContext, model_summary
from mnistlab.training import training_arrays
from mnistlab.uncertainty import scores
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.laplace import LastLayerLaplace
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.methods import MethodOutput, ensemble_outputs, softmax_family
from mnistlab.uncertainty.weight_dropout import ensemble_logits

MC_DROPOUT_RATE = 0.2


def penultimate_features(model, sets: dict) -> dict:
    """What the output layer sees, for every set of images: the model up to its last layer, in
    inference mode, run once over all sets stacked (one compiled predict, not one per set)."""
    import keras

    extractor = keras.Model(model.inputs, model.layers[-2].output)
    names, stacked = list(sets), np.concatenate([np.asarray(v, np.float32) for v in sets.values()])
    flops.add(flops.forward(multiply_adds(model), len(stacked)))  # about a full forward pass
    features = np.asarray(extractor.predict(stacked, batch_size=4096, verbose=0))
    bounds = np.cumsum([len(v) for v in sets.values()])[:-1]
    return dict(zip(names, np.split(features, bounds), strict=True))


# Fitted curvatures by trained model: the scoreboard, shift and conformal studies use the same
# models (the report's 6 base models), and the curvature (every training image, then an
# eigendecomposition) is most of Laplace's cost. About 20 MB each; the oldest go first.
_CURVATURES: dict = {}
MAX_CURVATURES = 8


def last_layer_laplace(model, x_train, x_val, y_val, sets: dict):
    """(fitted LastLayerLaplace, its MethodOutput on every set): the curvature from the
    training images, the prior precision from the held-out validation images given."""
    key = (id(model), len(x_train))  # (the leading spaces below keep these keys apart from sets)
    features = penultimate_features(
        model, {" validation": x_val, **sets, **({} if key in _CURVATURES else {" train": x_train})}
    )
    if key not in _CURVATURES:
        kernel, bias = model.layers[-1].get_weights()
        while len(_CURVATURES) >= MAX_CURVATURES:
            _CURVATURES.pop(next(iter(_CURVATURES)))
        # The model is kept with its entry, so its id cannot be reused by another model.
        _CURVATURES[key] = (model, LastLayerLaplace().fit(features[" train"], kernel, bias))
    laplace = copy.copy(_CURVATURES[key][1])  # the prior is per call; the curvature is shared
    laplace.fit_prior(features[" validation"], y_val)
    probabilities = {k: laplace.predict_proba(features[k]).astype(np.float32) for k in sets}
    score = {k: scores.max_softmax(p) for k, p in probabilities.items()}
    return laplace, MethodOutput("last-layer Laplace", "Laplace", probabilities, score)


def method_outputs(
    ctx: StudyContext,
    dataset: str,
    models: list,
    sets: dict,
    *,
    seed: int,
    p: tuple[float, ...],
    members: int,
    ensemble_size: int,
    fit_size: int | None = None,
) -> dict:
    """Every method's outputs on every set of `sets` ({key: images (N, 28, 28)}).

    models: the replicate's deep ensemble (its first member is the base model), then the MC
    dropout model (scoreboard.dataset_specs lists them so). Returns {"methods": [MethodOutput],
    "temperature", "laplace_prior_precision", "validation_size", "models"}. The temperature
    and Laplace's prior precision are fitted on the validation split held out from training
    (its first fit_size images when given: the conformal study calibrates on the rest), never
    on these sets.
    """
    *ensemble, mc_model = models
    base = ensemble[0]
    x_train, _, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
    x_val, y_val = x_val[:fit_size], y_val[:fit_size]  # what the post-hoc fits may see
    scaler = TemperatureScaler().fit(predict_logits(base.model, x_val), y_val)
    logits = {k: predict_logits(base.model, v) for k, v in sets.items()}
    methods = softmax_family(logits, scaler.temperature_)
    laplace, laplace_method = last_layer_laplace(base.model, x_train, x_val, y_val, sets)
    methods.append(laplace_method)
    # Each ensemble runs once over all sets stacked together (fewer calls, one compiled shape),
    # streamed into a summary (memory independent of K), then split back per set; members do
    # not depend on how images are batched.
    names, stacked = list(sets), np.concatenate(list(sets.values()))
    bounds = np.cumsum([len(v) for v in sets.values()])[:-1]

    def per_set(summary: MemberSummary) -> dict:
        return dict(zip(names, summary.split(bounds), strict=True))

    run_options = {"memory_budget": ctx.memory_budget, "seed": seed}
    with progress.task(f"{dataset}: weight and MC dropout members", members * (len(p) + 1)) as bar:
        for fraction in p:
            member_logits = per_set(
                ensemble_logits(
                    base.model,
                    stacked,
                    p=fraction,
                    members=members,
                    progress_task=bar,
                    sink=MemberSummary(members, len(stacked)),
                    **run_options,
                )
            )
            methods += ensemble_outputs(
                f"weight dropout p={fraction:g}", "weight dropout", member_logits, with_vote=True
            )
        mc_logits = per_set(
            mc_dropout_logits(
                mc_model.model,
                stacked,
                passes=members,
                progress_task=bar,
                sink=MemberSummary(members, len(stacked)),
                **run_options,
            )
        )
    methods += ensemble_outputs(
        f"MC dropout (rate {MC_DROPOUT_RATE:g}, K={members})",
        "MC dropout",
        mc_logits,
        with_vote=False,
    )
    if ensemble_size > 1:
        deep = {
            k: MemberSummary.from_logits(np.stack([predict_logits(m.model, v) for m in ensemble]))
            for k, v in sets.items()
        }
        methods += ensemble_outputs(
            f"deep ensemble (M={ensemble_size})", "deep ensemble", deep, with_vote=False
        )
    return {
        "methods": methods,
        "temperature": scaler.temperature_,
        "laplace_prior_precision": laplace.prior_precision_,
        "validation_size": len(y_val),
        "models": {
            "base": model_summary(base),
            "mc_dropout": model_summary(mc_model),
            "ensemble": [model_summary(m) for m in ensemble],
        },
    }
