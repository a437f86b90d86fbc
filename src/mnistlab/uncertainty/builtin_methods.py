"""The methods mnistlab ships, in the order the tables list them. Each is one Method record and
one small function of an Evaluation (uncertainty/evaluation.py), which holds what methods share:
the base model's logits, the fitted temperature and Laplace posterior, ensemble summaries.

A new method is written the same way, outside mnistlab (README, "Add a method").
"""

from __future__ import annotations

import re

from mnistlab.models.predict import softmax
from mnistlab.uncertainty import scores
from mnistlab.uncertainty.detector_methods import DETECTORS
from mnistlab.uncertainty.method import (
    ENSEMBLE,
    MC_DROPOUT,
    SCORE,
    VOTE_SHARES,
    Method,
)

MC_DROPOUT_RATE = 0.2


def _per_set(function, values: dict) -> dict:
    return {k: function(v) for k, v in values.items()}


def _max_softmax(evaluation, method):
    probabilities = evaluation.probabilities()
    return probabilities, _per_set(scores.max_softmax, probabilities)


def _entropy(evaluation, method):
    probabilities = evaluation.probabilities()
    return probabilities, _per_set(scores.entropy, probabilities)


def _margin(evaluation, method):
    probabilities = evaluation.probabilities()
    return probabilities, _per_set(scores.margin, probabilities)


def _energy(evaluation, method):
    return evaluation.probabilities(), _per_set(scores.energy, evaluation.logits())


def _temperature(evaluation, method):
    t = evaluation.temperature()
    scaled = {k: softmax(v, temperature=t) for k, v in evaluation.logits().items()}
    return scaled, _per_set(scores.max_softmax, scaled)


def _laplace(evaluation, method):
    probabilities = evaluation.laplace_probabilities()
    return probabilities, _per_set(scores.max_softmax, probabilities)


def _vote(summaries: dict):
    shares = {k: v.vote_shares() for k, v in summaries.items()}
    return shares, {k: scores.vote_share(s.max(axis=1)) for k, s in shares.items()}


def _mean(summaries: dict):
    mean = {k: v.mean_probability() for k, v in summaries.items()}
    return mean, _per_set(scores.max_softmax, mean)


def _weight_dropout_vote(evaluation, method):
    return _vote(evaluation.weight_dropout(method.p))


def _weight_dropout_mean(evaluation, method):
    return _mean(evaluation.weight_dropout(method.p))


def _mc_dropout(evaluation, method):
    return _mean(evaluation.mc_dropout())


def _deep_ensemble(evaluation, method):
    return _mean(evaluation.deep_ensemble())


def _split(summaries_of, part: str):
    """A score from the members' uncertainty split: 'total' (entropy of the mean), 'expected'
    (mean entropy: aleatoric) or 'mutual' (their difference: epistemic)."""

    def outputs(evaluation, method):
        summaries = summaries_of(evaluation)
        mean = {k: v.mean_probability() for k, v in summaries.items()}
        if part == "total":
            return mean, _per_set(scores.entropy, mean)
        pick = "expected_entropy" if part == "expected" else "mutual_information"
        return mean, {k: getattr(v, pick)() for k, v in summaries.items()}

    return outputs


def _uncertainty_split(key: str, name: str, summaries_of, **fields) -> list[Method]:
    """Total, expected entropy and mutual information of one ensemble, as score methods."""
    parts = (("entropy", "total entropy", "total"), ("ee", "expected entropy", "expected"))
    parts += (("mi", "mutual information", "mutual"),)
    return [
        Method(
            f"{key}-{suffix}", f"{name} {words}", _split(summaries_of, part), kind=SCORE, **fields
        )
        for suffix, words, part in parts
    ]


TEMPERATURE_FIT = "temperature T, by NLL"
BUILTIN = [
    Method("msp", "max softmax", _max_softmax),
    Method("entropy", "entropy", _entropy, kind=SCORE),
    Method("margin", "margin", _margin, kind=SCORE),
    Method("energy", "energy", _energy, kind=SCORE),
    *DETECTORS,
    # T is in the results; the name stays the same across seeds
    Method("temperature", "temperature scaling", _temperature, fits=TEMPERATURE_FIT),
    Method(
        "laplace",
        "last-layer Laplace",
        _laplace,
        family="Laplace",
        fits="prior precision, by NLL",
    ),
    Method(
        "wdrop-{p:g}-vote",
        "weight dropout p={p:g} vote",
        _weight_dropout_vote,
        kind=VOTE_SHARES,
        family="weight dropout",
        per_fraction=True,
    ),
    Method(
        "wdrop-{p:g}-mean",
        "weight dropout p={p:g} mean prob",
        _weight_dropout_mean,
        family="weight dropout",
        per_fraction=True,
        label="weight dropout p={p:g}",
    ),
    Method(
        "mc-dropout",
        "MC dropout (rate {rate:g}, K={members}) mean prob",
        _mc_dropout,
        family="MC dropout",
        roles=(MC_DROPOUT,),
        label="MC dropout",
        position_dependent=True,
    ),
    Method(
        "ensemble",
        "deep ensemble (M={ensemble_size}) mean prob",
        _deep_ensemble,
        family="deep ensemble",
        roles=(ENSEMBLE,),
        label="deep ensemble",
    ),
    *_uncertainty_split(
        "mc-dropout",
        "MC dropout",
        lambda evaluation: evaluation.mc_dropout(),
        family="MC dropout",
        roles=(MC_DROPOUT,),
        position_dependent=True,
    ),
    *_uncertainty_split(
        "ensemble",
        "deep ensemble",
        lambda evaluation: evaluation.deep_ensemble(),
        family="deep ensemble",
        roles=(ENSEMBLE,),
    ),
]


def is_builtin(key: str) -> bool:
    """Whether a method instance's key is one of these (a weight-dropout key for any p)."""
    fixed = {m.key for m in BUILTIN if not m.per_fraction}
    return key in fixed or re.fullmatch(r"wdrop-[0-9.e+-]+-(vote|mean)", key) is not None
