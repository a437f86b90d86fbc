"""Every scoreboard method on one seed replicate's models: probabilities and scores per input set.

Shared by the scoreboard (clean test set and OOD sets) and the shift study (shifted test sets):
both run the same methods on the same models, so their numbers can be read side by side.
"""

from __future__ import annotations

import numpy as np

from mnistlab import flops, progress
from mnistlab.models import multiply_adds
from mnistlab.predict import predict_logits
from mnistlab.studies.context import StudyContext, model_summary
from mnistlab.training import training_arrays
from mnistlab.uncertainty import scores
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.laplace import LastLayerLaplace
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.methods import MethodOutput, ensemble_outputs, softmax_family
from mnistlab.uncertainty.weight_dropout import ensemble_logits

MC_DROPOUT_RATE = 0.2


def penultimate_features(model, images: np.ndarray) -> np.ndarray:
    """What the output layer sees: the model up to its last layer, in inference mode."""
    import keras

    extractor = keras.Model(model.inputs, model.layers[-2].output)
    flops.add(flops.forward(multiply_adds(model), len(images)))  # about a full forward pass
    return np.asarray(extractor.predict(np.asarray(images, np.float32), batch_size=4096, verbose=0))


def last_layer_laplace(model, x_train, x_val, y_val, sets: dict):
    """(fitted LastLayerLaplace, its MethodOutput on every set): the curvature from the
    training images, the prior precision from the held-out validation split."""
    kernel, bias = model.layers[-1].get_weights()
    laplace = LastLayerLaplace().fit(penultimate_features(model, x_train), kernel, bias)
    laplace.fit_prior(penultimate_features(model, x_val), y_val)
    probabilities = {
        k: laplace.predict_proba(penultimate_features(model, v)).astype(np.float32)
        for k, v in sets.items()
    }
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
