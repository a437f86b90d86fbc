"""The field's out-of-distribution detectors as registered methods (score only: each borrows the
base model's probabilities and gives its own trust score, higher = less trust).

What they fit on the training split's penultimate features is fitted once per base model
(Evaluation.training_fit); what they tune (ODIN's T and epsilon, KNN's k, the shaping
percentiles) is chosen on held-out images against a validation out-of-distribution set
(tuning.py), recorded in the results ('tuned') and shown in the report.
"""

from __future__ import annotations

import itertools

import numpy as np

from mnistlab.uncertainty import detectors, odin, shaping, tuning
from mnistlab.uncertainty.method import SCORE, Method

# The grids; the papers' defaults first (a tie keeps the first).
KNN_KS = (1, 2, 5, 20, 50)  # after the bank's own k (Sun et al.'s share of the bank)
ODIN_GRID = tuple(itertools.product((1000.0, 1.0, 10.0, 100.0), (0.0014, *odin.EPSILONS)))
REACT_PERCENTILES = (shaping.REACT_PERCENTILE, 80.0, 85.0, 95.0, 99.0)
ASH_PERCENTILES = (shaping.ASH_PERCENTILE, 60.0, 70.0, 80.0, 85.0, 95.0)
SCALE_PERCENTILES = (shaping.SCALE_PERCENTILE, 60.0, 70.0, 80.0, 90.0, 95.0)
TUNED = tuning.RULE


def _scored(evaluation, score_of) -> tuple:
    """(the base model's probabilities, {set: score_of(features)})."""
    scores = {k: score_of(f) for k, f in evaluation.features().items()}
    return evaluation.probabilities(), scores


def _on_tuning_sets(evaluation, score_of):
    """score(value) for tuning.best: score_of(features, value) on the held-out 'in' and the
    generated 'out' features."""
    features = evaluation.tuning_features()["features"]
    return lambda value: (score_of(features["in"], value), score_of(features["out"], value))


def _output_layer(evaluation):
    return evaluation.model().layers[-1].get_weights()


def _gen(evaluation, method):
    probabilities = evaluation.probabilities()
    return probabilities, {k: detectors.generalized_entropy(p) for k, p in probabilities.items()}


def _odin(evaluation, method):
    model, images = evaluation.model(), evaluation.tuning_features()["images"]

    def search():
        inside = images["in"][: odin.TUNING_IN]
        stacked, n_in = np.concatenate([inside, images["out"]]), len(inside)
        found = {}
        for temperature in dict.fromkeys(t for t, _ in ODIN_GRID):
            epsilons = [e for t, e in ODIN_GRID if t == temperature]
            for eps, score in odin.odin_scores(model, stacked, temperature, epsilons).items():
                found[temperature, eps] = (score[:n_in], score[n_in:])
        return tuning.best(ODIN_GRID, found.__getitem__)

    temperature, eps = evaluation.tuned("odin", search, ODIN_GRID[0])
    return evaluation.probabilities(), {
        k: odin.odin_score(model, v, temperature, eps) for k, v in evaluation.sets.items()
    }


def _class_gaussians(evaluation):
    return evaluation.training_fit("class gaussians", detectors.class_gaussians)


def _mahalanobis(evaluation, method):
    means, precision = _class_gaussians(evaluation)
    return _scored(evaluation, lambda f: detectors.mahalanobis(f, means, precision))


def _rmds(evaluation, method):
    means, precision = _class_gaussians(evaluation)
    background = evaluation.training_fit(
        "background gaussian", lambda features, labels: detectors.background_gaussian(features)
    )
    return _scored(
        evaluation, lambda f: detectors.relative_mahalanobis(f, means, precision, background)
    )


def _knn(evaluation, method):
    bank, paper_k = evaluation.training_fit(
        "knn bank", lambda features, labels: detectors.knn_bank(features)
    )
    ks = tuple(dict.fromkeys(k for k in (paper_k, *KNN_KS) if k <= len(bank)))
    features = evaluation.tuning_features()["features"]

    def search():
        inside, outside = (detectors.knn_distances(features[s], bank, ks) for s in ("in", "out"))
        return tuning.best(ks, lambda k: (inside[k], outside[k]))

    k = evaluation.tuned("knn", search, ks[0])
    return _scored(evaluation, lambda f: detectors.knn_distance(f, bank, k))


def _vim(evaluation, method):
    kernel, bias = _output_layer(evaluation)
    fit = evaluation.training_fit(
        "vim", lambda features, labels: detectors.vim_fit(features, kernel, bias)
    )
    return _scored(evaluation, lambda f: detectors.vim(f, kernel, bias, fit))


def _react(evaluation, method):
    kernel, bias = _output_layer(evaluation)
    clips = evaluation.training_fit(
        "feature percentiles",
        lambda features, labels: dict(
            zip(REACT_PERCENTILES, np.percentile(features, REACT_PERCENTILES), strict=True)
        ),
    )

    def energy(features, percentile):
        return shaping.react_energy(features, kernel, bias, clips[percentile])

    def search():
        return tuning.best(REACT_PERCENTILES, _on_tuning_sets(evaluation, energy))

    percentile = evaluation.tuned("react", search, REACT_PERCENTILES[0])
    return _scored(evaluation, lambda f: energy(f, percentile))


def _shaped(name: str, grid: tuple, energy_of):
    """ASH or SCALE: the per-image percentile tuned on held-out data."""

    def outputs(evaluation, method):
        kernel, bias = _output_layer(evaluation)

        def energy(features, percentile):
            return energy_of(features, kernel, bias, percentile)

        def search():
            return tuning.best(grid, _on_tuning_sets(evaluation, energy))

        percentile = evaluation.tuned(name, search, grid[0])
        return _scored(evaluation, lambda f: energy(f, percentile))

    return outputs


def _detector(key, name, outputs, *, tuned: str = "", features: bool = True) -> Method:
    family = "feature space" if features else "single model"
    fits = f"{tuned}, {TUNED}" if tuned else ""
    return Method(key, name, outputs, kind=SCORE, family=family, fits=fits)


DETECTORS = [
    _detector("gen", "GEN", _gen, features=False),
    _detector("odin", "ODIN", _odin, tuned="T and epsilon", features=False),
    _detector("mahalanobis", "Mahalanobis", _mahalanobis),
    _detector("rmds", "relative Mahalanobis", _rmds),
    _detector("knn", "KNN", _knn, tuned="k"),
    _detector("vim", "ViM", _vim),
    _detector("react", "ReAct energy", _react, tuned="the clipping percentile"),
    _detector(
        "ash",
        "ASH-S energy",
        _shaped("ash", ASH_PERCENTILES, shaping.ash_energy),
        tuned="the pruning percentile",
    ),
    _detector(
        "scale",
        "SCALE energy",
        _shaped("scale", SCALE_PERCENTILES, shaping.scale_energy),
        tuned="the percentile",
    ),
]
