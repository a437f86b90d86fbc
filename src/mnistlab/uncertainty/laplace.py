"""A Laplace approximation of the last layer: a Gaussian posterior over the output layer's
weights and biases around the trained values, and the predictive it implies.

With phi(x) the features entering the output layer (plus a constant 1 for the bias) and
p(x) = softmax(logits), the generalized Gauss-Newton matrix of the cross-entropy is
    H = sum_i (phi_i phi_i^T) kron (diag(p_i) - p_i p_i^T),
exact for the last layer of a softmax classifier (the loss is convex in its logits). The
posterior covariance is (H + tau I)^-1, tau the prior precision, chosen by the negative
log-likelihood on data held out from training (never the test set), as laplace-torch's
`optimize_prior_precision(method="gridsearch")` does. The predictive uses the probit
approximation (MacKay 1992; laplace-torch's link_approx="probit"): each logit is divided by
sqrt(1 + pi/8 * its variance) before the softmax.

Written here rather than taken from laplace-torch or laplax: those need PyTorch or a Flax
model; for one dense layer the whole method is a 1,290 x 1,290 matrix, its eigenvectors,
and one product per class (Daxberger et al., "Laplace Redux", 2021, for the method).
"""

from __future__ import annotations

import numpy as np

from mnistlab import flops
from mnistlab.uncertainty import metrics

PRIOR_GRID = np.logspace(-4, 4, 33)


def _with_bias(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, np.float64)
    return np.concatenate([features, np.ones((len(features), 1))], axis=1)


def _softmax_last(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


_softmax = _softmax_last


class LastLayerLaplace:
    """fit(train features, W, b) -> self; fit_prior(validation features, labels) -> self;
    predict_proba(features) -> (N, C).

    Features are (N, D), the output layer's inputs; W is (D, C) and b (C,), its trained
    weights. Parameters are ordered (input d, class c), d = D meaning the bias."""

    def fit(self, features: np.ndarray, kernel: np.ndarray, bias: np.ndarray, *, chunk: int = 8192):
        self.weights_ = np.vstack([np.asarray(kernel, np.float64), np.asarray(bias, np.float64)])
        inputs, classes = self.weights_.shape
        size = inputs * classes
        hessian = np.zeros((size, size))
        for begin in range(0, len(features), chunk):
            phi = _with_bias(features[begin : begin + chunk])
            p = _softmax(phi @ self.weights_)
            # diag(p) - p p^T, kron phi phi^T: a block-diagonal part, minus z z^T summed over
            # images with z = phi kron p, one matrix product (float32: the GEMM runs at peak).
            for c in range(classes):
                block = (phi * p[:, c, None]).T @ phi
                hessian[c::classes, c::classes] += block
            phi32, p32 = phi.astype(np.float32), p.astype(np.float32)
            z = (phi32[:, :, None] * p32[:, None, :]).reshape(len(phi), size)
            hessian -= (z.T @ z).astype(np.float64)
            flops.add(2 * len(phi) * size * size + 2 * classes * len(phi) * inputs * inputs)
        self.hessian_ = hessian
        self.eigenvalues_, eigenvectors = np.linalg.eigh(hessian)
        self.eigenvalues_ = np.maximum(self.eigenvalues_, 0.0)  # PSD up to rounding
        # (inputs, classes * size): the product with phi gives, per class, the logit's
        # coordinates in the eigenbasis, so any prior precision costs one more product.
        self._basis = (
            eigenvectors.reshape(inputs, classes, size)
            .reshape(inputs, classes * size)
            .astype(np.float32)
        )
        self._eigenvectors = eigenvectors.reshape(inputs, classes, size)  # [d, c, p]
        self._blocks = {}  # prior precision -> each class's covariance block (_class_blocks)
        self.prior_precision_ = 1.0
        return self

    def _class_blocks(self, prior: float) -> np.ndarray:
        """(D+1, C * (D+1)): side by side, the posterior covariance of each class's weights,
        V_c diag(1 / (eigenvalues + prior)) V_c^T, V_c that class's rows of the eigenvectors.
        A logit's variance is phi^T (its block) phi: one (D+1)-wide product per class and
        image, a tenth of the work of squaring every eigen-coordinate (_projected_squares)."""
        if prior not in self._blocks:
            inputs, classes, _ = self._eigenvectors.shape
            scale = 1.0 / (self.eigenvalues_ + prior)
            blocks = [
                (self._eigenvectors[:, c, :] * scale) @ self._eigenvectors[:, c, :].T
                for c in range(classes)
            ]
            flops.add(2 * classes * inputs * inputs * len(scale))
            self._blocks[prior] = np.hstack(blocks)
        return self._blocks[prior]

    def _projected_squares(self, features: np.ndarray, chunk: int = 1024):
        """Per chunk of images: (n, C, P) squared eigen-coordinates of each class's logit."""
        inputs, classes = self.weights_.shape
        for begin in range(0, len(features), chunk):
            phi = _with_bias(features[begin : begin + chunk]).astype(np.float32)
            g = (phi @ self._basis).reshape(len(phi), classes, -1)
            flops.add(2 * g.size * inputs)
            yield phi.astype(np.float64) @ self.weights_, g * g

    def _predict(self, features: np.ndarray, priors: np.ndarray) -> np.ndarray:
        """Probit predictive for every prior precision at once: (T, N, C)."""
        scales = 1.0 / (self.eigenvalues_[:, None] + np.asarray(priors, np.float64)[None, :])
        out = []
        for mean, squares in self._projected_squares(features):
            variance = np.moveaxis(squares @ scales.astype(np.float32), -1, 0)  # (T, n, C)
            out.append(_softmax_last(mean[None] / np.sqrt(1.0 + np.pi / 8.0 * variance)))
        return np.concatenate(out, axis=1)

    def predict_proba(
        self, features: np.ndarray, prior_precision: float | None = None
    ) -> np.ndarray:
        """Probit-approximated predictive probabilities (N, C)."""
        tau = self.prior_precision_ if prior_precision is None else prior_precision
        blocks = self._class_blocks(float(tau))
        inputs, classes = self.weights_.shape
        out = []
        for begin in range(0, len(features), chunk := 4096):
            phi = _with_bias(features[begin : begin + chunk])
            spread = (phi @ blocks).reshape(len(phi), classes, inputs)  # [n, c, e]
            variance = np.einsum("nce,ne->nc", spread, phi)
            flops.add(2 * len(phi) * inputs * blocks.shape[1])
            out.append(_softmax_last((phi @ self.weights_) / np.sqrt(1.0 + np.pi / 8.0 * variance)))
        return np.concatenate(out)

    def fit_prior(self, features: np.ndarray, labels: np.ndarray, grid=PRIOR_GRID):
        """The prior precision with the lowest NLL on held-out (features, labels)."""
        nll = [metrics.negative_log_likelihood(labels, p) for p in self._predict(features, grid)]
        self.prior_precision_ = float(grid[int(np.argmin(nll))])
        self.validation_nll_ = dict(zip(map(float, grid), map(float, nll), strict=True))
        return self
