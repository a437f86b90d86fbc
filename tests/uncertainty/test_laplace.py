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


@pytest.mark.parametrize("prior", [1e-2, 1.0, 30.0])
def test_the_predictive_equals_the_probit_of_the_full_posterior(prior):
    """predict_proba (each class's covariance block) against the textbook computation: the
    posterior covariance (H + tau I)^-1 in full, each logit's variance J Sigma J^T from the
    Jacobian; and against the eigen-coordinates that fit_prior uses for its grid."""
    features, kernel, bias = _problem(n=60, d=6, c=4)
    laplace = LastLayerLaplace().fit(features, kernel, bias)
    sigma = np.linalg.inv(laplace.hessian_ + prior * np.eye(len(laplace.hessian_)))
    expected = []
    for x in features:
        jacobian = np.kron(np.r_[x, 1.0], np.eye(4))  # (C, P): d logit_c / d theta[d, c]
        variance = np.diag(jacobian @ sigma @ jacobian.T)
        mean = x @ kernel + bias
        z = mean / np.sqrt(1 + np.pi / 8 * variance)
        expected.append(np.exp(z - z.max()) / np.exp(z - z.max()).sum())
    found = laplace.predict_proba(features, prior)
    # 1e-4: H is summed partly in float32 and its eigenvalues below 0 (rounding) are set to
    # 0, which the plain inverse does not do; at the weakest prior that moves ~2e-5.
    np.testing.assert_allclose(found, np.array(expected), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(found, laplace._predict(features, [prior])[0], atol=1e-6)
