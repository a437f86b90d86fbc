"""Scores from probabilities that do not saturate where float32 rounds the top probability to 1:
max softmax, margin, entropy and GEN rank a confident model's answers as the float64 logits do."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mnistlab.models.predict import softmax
from mnistlab.uncertainty import detectors, scores
from mnistlab.uncertainty.members import MemberSummary


def confident_logits(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a confident 10-class model (top logit 12-40 above the rest: float32's softmax
    rounds most top probabilities to exactly 1.0), and which images are 'out of distribution'
    (those get smaller gaps on average, so the scores can tell them apart)."""
    rng = np.random.default_rng(seed)
    is_out = rng.random(n) < 0.3
    logits = rng.normal(0, 1, (n, 10))
    gap = np.where(is_out, rng.uniform(12, 30, n), rng.uniform(16, 40, n))
    logits[np.arange(n), rng.integers(0, 10, n)] += gap
    return logits.astype(np.float32), is_out


def reference_max_softmax(logits) -> np.ndarray:
    """1 - max p ranked from the float64 logits: sum_{j != top} exp(l_j - l_top), which
    1 - p = s / (1 + s) is monotone in, with nothing rounded to 1."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    z[np.arange(len(z)), z.argmax(axis=1)] = -np.inf  # the top class left out of the sum
    return np.exp(z).sum(axis=1)


def test_a_confident_models_max_softmax_does_not_tie():
    logits, is_out = confident_logits()
    p = softmax(logits)
    assert np.mean(p.max(axis=1) == 1.0) > 0.5  # float32 saturates on most images
    old = 1.0 - p.max(axis=1)
    new = scores.max_softmax(p)
    tied = lambda s: 1 - len(np.unique(s)) / len(s)  # noqa: E731
    assert tied(old) > 0.5 and tied(new) < 0.001
    reference = roc_auc_score(is_out, reference_max_softmax(logits))
    assert roc_auc_score(is_out, new) == pytest.approx(reference, abs=1e-9)
    assert abs(roc_auc_score(is_out, old) - reference) > 1e-3


def test_scores_equal_the_textbook_formulas_where_nothing_saturates():
    rng = np.random.default_rng(1)
    p = softmax(rng.normal(0, 2, (500, 10)).astype(np.float32)).astype(np.float64)
    top2 = np.sort(p, axis=1)[:, -2:]
    # the probabilities sum to 1 within float32 rounding: 1 - max and the others' sum agree to that
    np.testing.assert_allclose(scores.max_softmax(p), 1 - p.max(axis=1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(scores.margin(p), 1 - (top2[:, 1] - top2[:, 0]), atol=1e-6)
    np.testing.assert_allclose(scores.entropy(p), -(p * np.log(p)).sum(axis=1), atol=1e-6)
    sorted_p = np.sort(p, axis=1)[:, -detectors.GEN_M :]
    gamma = detectors.GEN_GAMMA
    gen = (sorted_p**gamma * (1 - sorted_p) ** gamma).sum(axis=1)
    np.testing.assert_allclose(detectors.generalized_entropy(p), gen, rtol=1e-5)


def test_margin_entropy_and_gen_keep_confident_answers_apart():
    logits, is_out = confident_logits(seed=2)
    p = softmax(logits)
    for score in (scores.margin, scores.entropy, detectors.generalized_entropy):
        values = score(p)
        assert len(np.unique(values)) > 0.999 * len(values), score.__name__
        assert roc_auc_score(is_out, values) > 0.7
    assert np.all(scores.entropy(p) >= 0) and np.all(scores.margin(p) <= 1 + 1e-6)


def test_an_ensembles_entropies_do_not_tie_at_the_clip():
    logits = np.stack([confident_logits(500, seed=s)[0] for s in (3, 4, 5)])
    summary = MemberSummary.from_logits(logits)
    expected = summary.expected_entropy()
    assert len(np.unique(expected)) == len(expected)
    by_member = np.mean([scores.entropy(softmax(m)) for m in logits], axis=0)
    np.testing.assert_allclose(expected, by_member, rtol=1e-7)  # each rounded to float32
    assert np.all(summary.mutual_information() >= 0)


def test_scores_refuse_a_shape_without_classes():
    with pytest.raises(ValueError, match="probabilities must be"):
        scores.max_softmax(np.float32(0.5))
