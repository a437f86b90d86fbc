"""The feature-space and activation-shaping detectors (issue 23), against scikit-learn where
it computes the same thing, and on small cases whose answer is known."""

import numpy as np
import pytest
from sklearn.covariance import EmpiricalCovariance
from sklearn.neighbors import NearestNeighbors

from mnistlab.uncertainty import detectors, scores, shaping, tuning


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
        shaping.react_energy(features, kernel, bias, np.inf), scores.energy(logits)
    )
    clipped = shaping.react_energy(features, kernel, bias, 1.0)
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


def test_knn_distances_for_several_k_match_one_at_a_time(features):
    train, _, test = features
    several = detectors.knn_distances(test, train, (1, 5, 20))
    for k in (1, 5, 20):
        search = NearestNeighbors(n_neighbors=k).fit(detectors.unit_rows(train))
        expected = search.kneighbors(detectors.unit_rows(test))[0][:, -1]
        np.testing.assert_allclose(several[k], expected, atol=1e-5)


def _output_layer(rng, d=6):
    return rng.normal(size=(d, 3)), rng.normal(size=3)


def test_vim_matches_openoods_computation_and_grows_off_the_principal_subspace():
    """Training features near 2 of 6 directions about ViM's origin. The oracle is OpenOOD's
    ViM postprocessor written out with scikit-learn's covariance and numpy's eig."""
    rng = np.random.default_rng(3)
    kernel, bias = _output_layer(rng)
    origin = -np.linalg.pinv(kernel.T) @ bias
    plane = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    train = origin + rng.normal(size=(500, 2)) * [5.0, 3.0] @ plane.T
    train += rng.normal(0, 0.1, size=train.shape)
    fit = detectors.vim_fit(train, kernel, bias, dim=2)
    # OpenOOD: u = -pinv(w) b; NS from the eigenvectors beyond `dim`; alpha from the training set
    u = -np.matmul(np.linalg.pinv(kernel.T), bias)
    covariance = EmpiricalCovariance(assume_centered=True).fit(train - u).covariance_
    values, vectors = np.linalg.eig(covariance)
    ns = np.ascontiguousarray((vectors.T[np.argsort(values * -1)[2:]]).T)
    train_logits = train @ kernel + bias
    alpha = train_logits.max(axis=-1).mean() / np.linalg.norm((train - u) @ ns, axis=-1).mean()
    test = origin + rng.normal(size=(40, 6)) * 2.0
    logits = test @ kernel + bias
    oracle = alpha * np.linalg.norm((test - u) @ ns, axis=-1) + scores.energy(logits)
    np.testing.assert_allclose(detectors.vim(test, kernel, bias, fit), oracle, rtol=1e-6)
    inside = origin + np.array([[1.0, -2.0]]) @ plane.T
    off = inside + 3.0 * np.linalg.qr(np.c_[plane, rng.normal(size=6)])[0][:, 2]
    assert detectors.vim(off, kernel, bias, fit)[0] > detectors.vim(inside, kernel, bias, fit)[0]
    assert fit["residual_space"].shape == (6, 4)


def test_ash_and_scale_on_a_known_case():
    """x = [1, 2, 3, 4] at the 50th percentile: ASH-S keeps [0, 0, 3, 4] and SCALE keeps all,
    both scaled by exp(10 / 7) (sum of all over sum of the top half)."""
    x, kernel, bias = np.array([[1.0, 2.0, 3.0, 4.0]]), np.eye(4), np.zeros(4)
    factor = np.exp(10.0 / 7.0)
    ash = shaping.ash_energy(x, kernel, bias, 50.0)
    np.testing.assert_allclose(ash, scores.energy(np.array([[0.0, 0.0, 3.0, 4.0]]) * factor))
    scale = shaping.scale_energy(x, kernel, bias, 50.0)
    np.testing.assert_allclose(scale, scores.energy(x * factor))
    dead = shaping.ash_energy(np.zeros((1, 4)), kernel, bias, 50.0)  # nothing to scale
    np.testing.assert_allclose(dead, scores.energy(np.zeros((1, 4))))


def test_the_tuning_sets_share_nothing_with_their_source_and_are_seeded():
    rng = np.random.default_rng(4)
    held_out = rng.random((30, 28, 28)).astype(np.float32)
    sets = tuning.tuning_sets(held_out, seed=0)
    again = tuning.tuning_sets(held_out, seed=0)
    np.testing.assert_array_equal(sets["out"], again["out"])
    assert sets["out"].shape == (tuning.TUNING_OUT, 28, 28)
    assert sets["out"].min() >= 0.0 and sets["out"].max() <= 1.0
    scrambled = sets["out"][: tuning.TUNING_OUT // 2]
    # Each scrambled image holds the same pixels as some held-out image, in another order.
    sums = np.sort(held_out.reshape(30, -1), axis=1)
    assert any(np.allclose(np.sort(scrambled[0].ravel()), row) for row in sums)
    assert not any(np.array_equal(scrambled[0], image) for image in held_out)


def test_best_picks_the_highest_auroc_and_keeps_the_first_of_a_tie():
    def score(value):
        return np.zeros(5), np.full(5, float(value > 1))  # AUROC 0.5, or 1.0 above 1

    found = tuning.best((3, 1, 2), score)
    assert found["value"] == 3 and found["auroc"] == 1.0
    assert [v for v, _ in found["grid"]] == [3, 1, 2]


def test_the_sign_of_every_energy_score_less_activation_is_less_trust():
    """Higher = less trust for every activation-shaping score: the same activations shrunk
    (a weaker response everywhere) score higher, as the plain energy does."""
    rng = np.random.default_rng(5)
    kernel = np.abs(rng.normal(size=(16, 10))) * np.eye(16, 10) * 4 + rng.normal(0, 0.1, (16, 10))
    strong = np.abs(rng.normal(1.0, 0.5, (30, 16)))
    weak = 0.2 * strong
    for score in (
        lambda f: shaping.react_energy(f, kernel, 0.0, np.inf),
        lambda f: shaping.ash_energy(f, kernel, 0.0, 50.0),
        lambda f: shaping.scale_energy(f, kernel, 0.0, 50.0),
    ):
        assert (score(weak) > score(strong)).all()


def test_tuned_values_are_listed_by_name_whatever_order_they_were_tuned_in():
    """Ray jobs finish in any order; the report's table of tuned values must not follow it."""
    from mnistlab.uncertainty import tuning

    model = object()
    for name in ("scale", "odin", "ash", "knn"):
        tuning.keep(model, "held-out print", name, {"value": name})
    assert list(tuning.records(model, "held-out print")) == ["ash", "knn", "odin", "scale"]
    assert tuning.remembered(model, "held-out print", "knn", lambda: {"value": 0}) == {
        "value": "knn"
    }  # remembered: the search does not run again
