"""Last-layer Laplace: the curvature equals the Gauss-Newton matrix JAX computes from the
Jacobian, the predictive falls back to the softmax when the prior is strong, and the prior
precision is the held-out NLL's minimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mnistlab.uncertainty import metrics
from mnistlab.uncertainty.laplace import LastLayerLaplace


def _problem(n=40, d=5, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(d, c)), rng.normal(size=c)


def test_curvature_equals_the_gauss_newton_matrix_from_jax():
    features, kernel, bias = _problem()
    laplace = LastLayerLaplace().fit(features, kernel, bias, chunk=16)  # chunks add up

    def logits(theta, x):  # theta: (d + 1) x c, ordered (input, class) as LastLayerLaplace's
        return x @ theta[:-1] + theta[-1]

    theta = jnp.vstack([kernel, bias[None]])
    expected = np.zeros_like(laplace.hessian_)
    for x in features:
        jacobian = np.asarray(jax.jacobian(logits)(theta, x)).reshape(3, -1)  # (C, P)
        p = np.asarray(jax.nn.softmax(logits(theta, x)))
        expected += jacobian.T @ (np.diag(p) - np.outer(p, p)) @ jacobian
    np.testing.assert_allclose(laplace.hessian_, expected, rtol=1e-5, atol=1e-5)  # JAX: float32


def test_a_strong_prior_gives_back_the_softmax_and_a_weak_one_softens_it():
    features, kernel, bias = _problem()
    laplace = LastLayerLaplace().fit(features, kernel, bias)
    softmax = np.asarray(jax.nn.softmax(features @ kernel + bias))
    np.testing.assert_allclose(laplace.predict_proba(features, 1e9), softmax, atol=1e-6)
    weak = laplace.predict_proba(features, 1e-2)
    assert weak.max(axis=1).mean() < softmax.max(axis=1).mean()  # less sure of every answer
    np.testing.assert_allclose(weak.sum(axis=1), 1.0)


def test_prior_precision_minimizes_the_held_out_nll():
    features, kernel, bias = _problem(n=200)
    labels = (features @ kernel + bias + np.random.default_rng(1).normal(size=(200, 3)) * 2).argmax(
        1
    )
    laplace = (
        LastLayerLaplace().fit(features[:100], kernel, bias).fit_prior(features[100:], labels[100:])
    )
    best = laplace.validation_nll_[laplace.prior_precision_]
    assert best == min(laplace.validation_nll_.values())
    assert best == pytest.approx(
        metrics.negative_log_likelihood(labels[100:], laplace.predict_proba(features[100:]))
    )
