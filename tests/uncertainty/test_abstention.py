"""Abstention with an error bound: the Clopper-Pearson bound is exact, and the rule keeps its
promise over many calibration/test splits."""

import numpy as np
import pytest
from scipy import stats

from mnistlab.uncertainty.abstention import (
    apply_threshold,
    clopper_pearson_upper,
    threshold_for_error,
)


def test_clopper_pearson_matches_scipy_binomtest():
    for errors, n in [(0, 100), (3, 50), (20, 400), (7, 7)]:
        expected = stats.binomtest(errors, n).proportion_ci(0.90, method="exact").high
        assert clopper_pearson_upper(errors, n, delta=0.05) == pytest.approx(expected)
    assert clopper_pearson_upper(0, 0, delta=0.05) == 1.0


def _scores(rng, n):
    """A score that tells errors apart only partly: errors are 20% overall."""
    is_error = rng.random(n) < 0.2
    return rng.normal(size=n) + 1.5 * is_error, is_error


def test_the_error_bound_holds_with_probability_one_minus_delta():
    rng = np.random.default_rng(0)
    target, delta, broken, kept = 0.05, 0.1, 0, []
    for _ in range(300):
        score, is_error = _scores(rng, 2000)
        rule = threshold_for_error(score[:1000], is_error[:1000], target=target, delta=delta)
        result = apply_threshold(score[1000:], is_error[1000:], rule["threshold"])
        # The promise is about the kept population's error rate; the test half estimates it.
        broken += result["kept"] > 0 and result["error"] > target + 0.02
        kept.append(result["kept"])
    assert broken / 300 <= delta
    assert 0.2 < np.mean(kept) < 0.9  # it answers a useful share, not nothing


def test_no_threshold_passes_when_errors_are_everywhere():
    rng = np.random.default_rng(1)
    score, is_error = rng.random(500), rng.random(500) < 0.5
    rule = threshold_for_error(score, is_error, target=0.01, delta=0.05)
    assert rule["threshold"] == -np.inf and rule["kept"] == 0.0
    assert apply_threshold(score, is_error, rule["threshold"])["kept"] == 0.0
