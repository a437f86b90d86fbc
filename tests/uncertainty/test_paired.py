"""The paired comparison: weighted metrics against sklearn, and the paired test finding a
difference that two separate intervals cannot see."""

import time
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mnistlab.uncertainty import metrics
from mnistlab.uncertainty.paired import (
    auroc_metric,
    cached,
    judgement,
    mean_of_defined,
    paired_difference,
    resample_weights,
    weighted_accuracy,
    weighted_auroc,
    weighted_ece,
    weighted_mean,
)


def test_resample_weights_are_bootstrap_counts():
    weights = resample_weights(50, 7, np.random.default_rng(0))
    assert weights.shape == (7, 50) and (weights.sum(axis=1) == 50).all()
    assert (weights >= 0).all() and len({tuple(w) for w in weights}) == 7


def test_weighted_metrics_match_sklearn_and_plain_ones():
    rng = np.random.default_rng(1)
    positive = rng.random(300) < 0.3
    score = np.round(rng.normal(size=300) + positive, 1)  # many ties
    weights = resample_weights(300, 5, rng)
    got = weighted_auroc(positive, score, weights)
    for w, value in zip(weights, got, strict=True):
        assert value == pytest.approx(roc_auc_score(positive, score, sample_weight=w), abs=1e-6)
    assert weighted_auroc(positive, score, np.ones((1, 300)))[0] == pytest.approx(
        metrics.auroc(positive, score), abs=1e-6
    )
    # The same items as columns of a wider resample: read in place, same values
    wide = np.concatenate([resample_weights(40, 5, rng), weights[:, ::-1]], axis=1)
    columns = 40 + np.arange(300)[::-1]
    np.testing.assert_allclose(weighted_auroc(positive, score, wide, columns), got)
    flipped = weighted_auroc(~positive, -score, weights)  # the larger class cumulated
    np.testing.assert_allclose(flipped, got, rtol=1e-12)
    correct = rng.random(300) < 0.8
    assert weighted_accuracy(correct, weights) == pytest.approx(
        [np.average(correct, weights=w) for w in weights]
    )


def test_weighted_ece_and_mean_equal_the_metrics_on_the_resampled_images():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 400)
    probabilities = rng.dirichlet(np.full(10, 0.3), 400)
    correct = probabilities.argmax(axis=1) == labels
    confidence = probabilities.max(axis=1)
    weights = resample_weights(400, 4, rng)
    ece = weighted_ece(correct, confidence, weights, n_bins=15)
    brier = ((probabilities - np.eye(10)[labels]) ** 2).sum(axis=1)
    for w, got_ece, got_brier in zip(weights, ece, weighted_mean(brier, weights), strict=True):
        drawn = np.repeat(np.arange(400), w.astype(int))  # the resample, image by image
        assert got_ece == pytest.approx(
            metrics.expected_calibration_error(labels[drawn], probabilities[drawn], n_bins=15)
        )
        assert got_brier == pytest.approx(metrics.brier_score(labels[drawn], probabilities[drawn]))


def _two_detectors(rng, n=2000, gain=0.1):
    """Scores of two error detectors on the same images: both see each image's difficulty,
    B sees the errors a little better, by construction."""
    error = rng.random(n) < 0.15
    difficulty = rng.normal(size=n)  # shared by both: the pairing removes it
    score_a = difficulty + 1.0 * error + 0.1 * rng.normal(size=n)
    score_b = difficulty + (1.0 + gain) * error + 0.1 * rng.normal(size=n)
    return error, score_a, score_b


def test_paired_test_detects_a_difference_that_unpaired_intervals_miss():
    error, score_a, score_b = _two_detectors(np.random.default_rng(3))
    a_low, a_high = metrics.bootstrap_auroc_interval(error, score_a, n_boot=500, seed=0)
    b_low, b_high = metrics.bootstrap_auroc_interval(error, score_b, n_boot=500, seed=0)
    assert metrics.auroc(error, score_b) > metrics.auroc(error, score_a)
    assert b_low < a_high, "the separate intervals should overlap for this construction"
    result = paired_difference(
        [auroc_metric(error, score_b)], [auroc_metric(error, score_a)], len(error), n_boot=500
    )
    assert result["low"] > 0 and judgement(result) == "better"
    assert result["p_value"] < 0.05


def test_paired_test_finds_no_difference_between_equal_methods_over_seeds():
    rng = np.random.default_rng(4)
    a, b = [], []
    for _ in range(3):  # three "seeds": independent noise, same expected quality
        error, score, _ = _two_detectors(rng, gain=0.0)
        a.append(auroc_metric(error, score + 0.05 * rng.normal(size=len(score))))
        b.append(auroc_metric(error, score + 0.05 * rng.normal(size=len(score))))
    result = paired_difference(a, b, len(score), n_boot=300)
    assert result["low"] < 0 < result["high"] and judgement(result) == "no clear difference"
    assert len(result["per_seed"]) == 3 and result["seeds"] == 3


def test_seed_noise_widens_the_interval():
    """Two seeds that disagree in sign: the combined interval must include zero, though each
    seed's own paired interval excludes it."""
    rng = np.random.default_rng(5)
    error, score_a, score_b = _two_detectors(rng, gain=0.6)
    better = paired_difference([auroc_metric(error, score_b)], [auroc_metric(error, score_a)], 2000)
    worse = paired_difference([auroc_metric(error, score_a)], [auroc_metric(error, score_b)], 2000)
    assert better["low"] > 0 and worse["high"] < 0
    both = paired_difference(
        [auroc_metric(error, score_b), auroc_metric(error, score_a)],
        [auroc_metric(error, score_a), auroc_metric(error, score_b)],
        2000,
    )
    assert both["low"] < 0 < both["high"]


def test_a_metric_undefined_on_some_resamples_is_dropped_quietly():
    """One wrong answer in 12: an AUROC is undefined on every resample that leaves it out
    (about 1 in e), on all seeds at once. Those resamples are dropped, with no NumPy warning
    ('Mean of empty slice' was printed in the middle of the report)."""
    rng = np.random.default_rng(6)
    error = np.zeros(12, bool)
    error[3] = True
    a = [auroc_metric(error, rng.random(12)) for _ in range(3)]
    b = [auroc_metric(error, rng.random(12)) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_difference(a, b, 12, n_boot=200)
    assert np.isfinite([result["low"], result["high"]]).all()
    for dtype in (np.float64, np.float32):  # float32 metrics too: nanmean divides into them
        values = rng.random((500, 3)).astype(dtype)
        values[values < 0.4] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.nanmean(values, axis=1)
        assert np.isnan(expected).any()
        got = mean_of_defined(values)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_a_cached_reference_is_computed_once_for_all_its_comparisons():
    """Many methods against one reference on shared resamples: the reference's metric runs
    once on the resamples and once on the full set, not once per comparison (the OOD
    study computed 2,016 full-set AUROCs where 540 differ)."""
    rng = np.random.default_rng(7)
    error, score_a, score_b = _two_detectors(rng, gain=0.3)
    rows_seen = []

    def counted(weights):
        rows_seen.append(len(weights))
        return auroc_metric(error, score_a)(weights)

    reference = cached(counted)
    weights = resample_weights(len(error), 200, rng)
    results = [
        paired_difference(
            [auroc_metric(error, score_b + k)], [reference], len(error), weights=weights
        )
        for k in range(3)
    ]
    assert sorted(rows_seen) == [1, 200]
    assert all(r["difference"] == results[0]["difference"] for r in results)


def test_paired_difference_rejects_mismatched_seeds():
    with pytest.raises(ValueError, match="same, non-empty"):
        paired_difference([], [], 10)


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's; the child uses NumPy only
def test_the_threaded_blocks_survive_a_fork():
    """weighted_auroc runs its blocks of resamples on a thread pool; a child forked after it
    ran gets a pool of its own instead of waiting forever on threads it does not have."""
    import os

    from mnistlab.uncertainty.paired import resample_weights, weighted_auroc

    rng = np.random.default_rng(0)
    positive, score = rng.random(600) < 0.2, rng.random(600)
    weights = resample_weights(600, 300, rng)  # three blocks
    expected = weighted_auroc(positive, score, weights)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        os._exit(0 if np.array_equal(weighted_auroc(positive, score, weights), expected) else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(child, 9)
    raise AssertionError("the forked child hung on the bootstrap's thread pool")
