"""Every scoreboard method on one seed replicate's models: probabilities and scores per input set.

Shared by the scoreboard (clean test set and OOD sets) and the shift study (shifted test sets):
both run the same methods on the same models, so their numbers can be read side by side.
"""

from __future__ import annotations

import numpy as np

from mnistlab import progress
from mnistlab.predict import predict_logits
from mnistlab.studies.context import StudyContext, model_summary
from mnistlab.training import training_arrays
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.methods import ensemble_outputs, softmax_family
from mnistlab.uncertainty.weight_dropout import ensemble_logits

MC_DROPOUT_RATE = 0.2


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
) -> dict:
    """Every method's outputs on every set of `sets` ({key: images (N, 28, 28)}).

    models: the replicate's deep ensemble (its first member is the base model), then the MC
    dropout model (scoreboard.dataset_specs lists them so). Returns {"methods": [MethodOutput],
    "temperature", "validation_size", "models"}; the temperature is fitted on the validation
    split held out from training, never on these sets.
    """
    *ensemble, mc_model = models
    base = ensemble[0]
    _, _, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
    scaler = TemperatureScaler().fit(predict_logits(base.model, x_val), y_val)
    logits = {k: predict_logits(base.model, v) for k, v in sets.items()}
    methods = softmax_family(logits, scaler.temperature_)
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
        "validation_size": len(y_val),
        "models": {
            "base": model_summary(base),
            "mc_dropout": model_summary(mc_model),
            "ensemble": [model_summary(m) for m in ensemble],
        },
    }
