"""The feature-space and activation-shaping detectors (issue 23), against scikit-learn where
it computes the same thing, and on small cases whose answer is known."""

import numpy as np
import pytest
from sklearn.covariance import EmpiricalCovariance
from sklearn.neighbors import NearestNeighbors

from mnistlab.uncertainty import detectors, scores


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=600)
    centres = rng.normal(0, 4, size=(3, 6))
    train = centres[labels] + rng.normal(0, 1, size=(600, 6)) @ rng.normal(0, 0.6, size=(6, 6))
    test = np.concatenate(
        [centres[rng.integers(0, 3, 50)] + rng.normal(0, 1, (50, 6)), rng.normal(0, 12, (50, 6))]
    )
    return train, labels, test


def test_mahalanobis_matches_scikit_learns_covariance(features):
    train, labels, test = features
    means, precision = detectors.class_gaussians(train, labels)
    centred = train - means[labels]
    oracle = EmpiricalCovariance(assume_centered=True).fit(centred)  # the tied covariance
    expected = np.stack([oracle.mahalanobis(test - m) for m in means]).min(axis=0)
    np.testing.assert_allclose(detectors.mahalanobis(test, means, precision), expected, rtol=1e-8)


def test_relative_mahalanobis_matches_scikit_learn(features):
    train, labels, test = features
    means, precision = detectors.class_gaussians(train, labels)
    tied = EmpiricalCovariance(assume_centered=True).fit(train - means[labels])
    background = EmpiricalCovariance().fit(train)  # all features, their own mean
    expected = (
        np.stack([tied.mahalanobis(test - m) for m in means]) - background.mahalanobis(test)
    ).min(axis=0)
    got = detectors.relative_mahalanobis(
        test, means, precision, detectors.background_gaussian(train)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("chunk", [7, 2048])  # blocks of images give the same distances
def test_knn_matches_scikit_learns_nearest_neighbours(features, chunk, monkeypatch):
    train, _, test = features
    monkeypatch.setattr(detectors, "CHUNK", chunk)
    search = NearestNeighbors(n_neighbors=10).fit(detectors.unit_rows(train))
    expected = search.kneighbors(detectors.unit_rows(test))[0][:, -1]
    np.testing.assert_allclose(detectors.knn_distance(test, train, k=10), expected, atol=1e-5)


def test_every_detector_scores_far_away_inputs_higher(features):
    """Higher = less trust: the 50 points drawn far from every class score above the 50 near."""
    train, labels, test = features
    means, precision = detectors.class_gaussians(train, labels)
    for score in (
        detectors.mahalanobis(test, means, precision),
        detectors.relative_mahalanobis(
            test, means, precision, detectors.background_gaussian(train)
        ),
        detectors.knn_distance(np.abs(test), np.abs(train), k=5),
    ):
        assert np.median(score[50:]) > np.median(score[:50])


def test_react_without_clipping_is_the_energy_and_clipping_lowers_large_activations():
    rng = np.random.default_rng(1)
    features, kernel, bias = (
        rng.uniform(0, 3, (20, 8)),
        rng.normal(size=(8, 10)),
        rng.normal(size=10),
    )
    logits = features @ kernel + bias
    np.testing.assert_allclose(
        detectors.react_energy(features, kernel, bias, np.inf), scores.energy(logits)
    )
    clipped = detectors.react_energy(features, kernel, bias, 1.0)
    np.testing.assert_allclose(clipped, scores.energy(np.minimum(features, 1.0) @ kernel + bias))


def test_generalized_entropy_on_known_cases():
    one_hot, uniform = np.eye(10)[:1], np.full((1, 10), 0.1)
    assert detectors.generalized_entropy(one_hot)[0] == pytest.approx(0.0)
    assert detectors.generalized_entropy(uniform)[0] == pytest.approx(10 * 0.1**0.1 * 0.9**0.1)
    two = np.array([[0.5, 0.5] + [0.0] * 8])
    assert detectors.generalized_entropy(two, m=2)[0] == pytest.approx(2 * 0.5**0.2)


def test_the_knn_bank_is_a_seeded_sample_with_k_at_the_same_quantile():
    features = np.random.default_rng(2).normal(size=(55_000, 4)).astype(np.float32)
    bank, k = detectors.knn_bank(features)
    assert bank.shape == (10_000, 4) and k == 9  # 50 of 55,000 is 9 of 10,000
    again, _ = detectors.knn_bank(features)
    np.testing.assert_array_equal(bank, again)  # the same sample every time
    small, k_small = detectors.knn_bank(features[:600])
    assert len(small) == 600 and k_small == 50  # a small training set is used whole
