"""The uncertainty layer: what a method is, the registry, and the parts methods are built from.

A method author needs the names below (docs in each module): a `Method` record with its kind
(PROBABILITIES, VOTE_SHARES or SCORE) and the roles of the models it needs (BASE, MC_DROPOUT,
ENSEMBLE); `register_method` to add it; the `Evaluation` its outputs function receives (models
by role, image sets, what is fitted on the held-out split); and the building blocks: `scores`,
`metrics`, `summarize`, member summaries, the weight- and MC-dropout ensembles, temperature
scaling, last-layer Laplace, conformal sets, paired statistics.

Modules of this package import each other by module path (`mnistlab.uncertainty.metrics`);
everything above this layer imports these names from here.
"""

from mnistlab.uncertainty import (
    abstention,
    conformal,
    detectors,
    metrics,
    paired,
    registry,
    scores,
)
from mnistlab.uncertainty.builtin_methods import MC_DROPOUT_RATE, is_builtin
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.evaluation import Evaluation
from mnistlab.uncertainty.laplace import LastLayerLaplace
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberLogits, MemberSummary
from mnistlab.uncertainty.method import (
    BASE,
    ENSEMBLE,
    MC_DROPOUT,
    PROBABILITIES,
    SCORE,
    VOTE_SHARES,
    Method,
    MethodOutput,
)
from mnistlab.uncertainty.registry import register_method, registered, selected
from mnistlab.uncertainty.summary import ECE_BINS, summarize
from mnistlab.uncertainty.weight_dropout import ensemble_logits

__all__ = [
    "BASE",
    "ECE_BINS",
    "ENSEMBLE",
    "MC_DROPOUT",
    "MC_DROPOUT_RATE",
    "PROBABILITIES",
    "SCORE",
    "VOTE_SHARES",
    "Evaluation",
    "LastLayerLaplace",
    "MemberLogits",
    "MemberSummary",
    "Method",
    "MethodOutput",
    "TemperatureScaler",
    "abstention",
    "conformal",
    "detectors",
    "ensemble_logits",
    "is_builtin",
    "mc_dropout_logits",
    "metrics",
    "paired",
    "register_method",
    "registry",
    "registered",
    "scores",
    "selected",
    "summarize",
]
