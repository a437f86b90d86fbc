"""Conformal prediction sets: the same sets as MAPIE for the same scores, and the coverage
guarantee, on random probabilities here and on a real model's test predictions."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from mnistlab.uncertainty.conformal import (
    SCORES,
    aps_scores,
    calibrate,
    class_scores,
    lac_scores,
    prediction_sets,
    raps_scores,
    set_summary,
)

mapie_classification = pytest.importorskip("mapie.classification")


class _Lookup(ClassifierMixin, BaseEstimator):
    """A 'fitted' classifier whose probabilities are given: X holds row indices."""

    def __init__(self, probabilities=None):
        self.probabilities = probabilities

    def fit(self, X=None, y=None):
        self.classes_ = np.arange(self.probabilities.shape[1])
        return self

    def predict_proba(self, X):
        return self.probabilities[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def _problem(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(10, 0.4), n)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    return probabilities, labels


def _mapie_sets(probabilities, labels, n_cal, score, alpha, random_state, **predict):
    model = mapie_classification.SplitConformalClassifier(
        estimator=_Lookup(probabilities).fit(),
        confidence_level=1 - alpha,
        conformity_score=score,
        prefit=True,
        random_state=random_state,
    )
    index = np.arange(len(labels))[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.conformalize(index[:n_cal], labels[:n_cal])
        return model.predict_set(index[n_cal:], **predict)[1][:, :, 0]


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_lac_sets_equal_mapie(alpha):
    probabilities, labels = _problem()
    q = calibrate(lac_scores(probabilities[:1500]), labels[:1500], alpha)
    ours = prediction_sets(lac_scores(probabilities[1500:]), q)
    theirs = _mapie_sets(probabilities, labels, 1500, "lac", alpha, 0)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_randomized_aps_sets_equal_mapie(alpha):
    """MAPIE draws u from RandomState(seed) at calibration and again at prediction, and uses
    1 - u where we use u: the same draws give the same sets."""
    probabilities, labels = _problem(seed=1)
    seed, n_cal = 7, 1500
    u_cal = 1 - np.random.RandomState(seed).uniform(size=n_cal)
    u_test = 1 - np.random.RandomState(seed).uniform(size=len(labels) - n_cal)
    q = calibrate(aps_scores(probabilities[:n_cal], u_cal), labels[:n_cal], alpha)
    ours = prediction_sets(aps_scores(probabilities[n_cal:], u_test), q)
    theirs = _mapie_sets(
        probabilities,
        labels,
        n_cal,
        "aps",
        alpha,
        seed,
        conformity_score_params={"include_last_label": "randomized"},
    )
    assert (ours == theirs).all(axis=1).mean() > 0.999  # equal up to float ties at q
    np.testing.assert_allclose(ours.sum(axis=1).mean(), theirs.sum(axis=1).mean(), atol=0.01)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_coverage_guarantee_over_random_splits(score, alpha):
    """Mean coverage over many calibration/test splits lies in [1 - a, 1 - a + 1/(n + 1)],
    up to the sampling error of that mean."""
    probabilities, labels = _problem(n=2000, seed=2)
    rng = np.random.default_rng(3)
    n_cal, coverages = 1000, []
    for _ in range(300):
        order = rng.permutation(len(labels))
        cal, test = order[:n_cal], order[n_cal:]
        scores = class_scores(score, probabilities, rng)
        q = calibrate(scores[cal], labels[cal], alpha)
        coverages.append(set_summary(prediction_sets(scores[test], q), labels[test])["coverage"])
    mean, error = np.mean(coverages), 3 * np.std(coverages) / np.sqrt(len(coverages))
    assert 1 - alpha - error <= mean <= 1 - alpha + 1 / (n_cal + 1) + error, (mean, error)


def test_scores_and_sets_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    np.testing.assert_allclose(aps_scores(p), [[0.5, 0.8, 1.0], [1.0, 0.6, 0.9]])
    np.testing.assert_allclose(
        aps_scores(p, np.array([0.5, 0.0])), [[0.25, 0.65, 0.9], [0.9, 0.0, 0.6]]
    )
    # RAPS adds lam per rank above k_reg: the third-ranked class pays lam * 1
    np.testing.assert_allclose(raps_scores(p, lam=0.1, k_reg=2), [[0.5, 0.8, 1.1], [1.1, 0.6, 0.9]])
    assert calibrate(np.array([[0.1], [0.2], [0.3]]), np.zeros(3, int), 0.5) == 0.2
    assert calibrate(np.array([[0.1], [0.2], [0.3]]), np.zeros(3, int), 0.1) == np.inf
    summary = set_summary(np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0]], bool), np.array([0, 1, 2]))
    assert summary["coverage"] == pytest.approx(1 / 3) and summary["empty"] == pytest.approx(1 / 3)
    assert summary["mean_size"] == 1 and summary["singleton"] == pytest.approx(1 / 3)
    assert summary["by_size"][2] == {"share": pytest.approx(1 / 3), "coverage": 1.0}
    with pytest.raises(ValueError, match="alpha must be in"):
        calibrate(p, np.array([0, 1]), 0.0)
    with pytest.raises(ValueError, match="unknown conformal score"):
        class_scores("thr", p, np.random.default_rng(0))


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_coverage_guarantee_on_a_real_models_test_predictions(real_data_dir, tmp_path, alpha):
    """The issue's check: over many random calibration/test splits of a real MNIST model's test
    predictions, the mean coverage lies in [1 - a, 1 - a + 1/(n + 1)], up to its sampling error."""
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig
    from mnistlab.data import load_split
    from mnistlab.models.predict import predict_proba
    from mnistlab.training import train

    spec = RunSpec("mnist", ModelConfig(), TrainConfig(epochs=1, train_size=6000), seed=0)
    model = train(spec, data_dir=real_data_dir, cache_dir=tmp_path).model
    images, labels = load_split("mnist", "test", real_data_dir)
    probabilities = predict_proba(model, images)
    rng = np.random.default_rng(0)
    n_cal, coverages = 5000, {score: [] for score in SCORES}
    for _ in range(200):
        order = rng.permutation(len(labels))
        cal, test = order[:n_cal], order[n_cal:]
        for score in SCORES:
            scores = class_scores(score, probabilities, rng)
            q = calibrate(scores[cal], labels[cal], alpha)
            covered = prediction_sets(scores[test], q)[np.arange(len(test)), labels[test]]
            coverages[score].append(covered.mean())
    for score, values in coverages.items():
        mean, error = np.mean(values), 3 * np.std(values) / np.sqrt(len(values))
        assert 1 - alpha - error <= mean <= 1 - alpha + 1 / (n_cal + 1) + error, (
            score,
            mean,
            error,
        )
