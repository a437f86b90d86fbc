"""What float32 promises when two code paths compute the same sums in another order.

A BLAS kernel splits and orders a dot product by the shapes it is given and the instructions the
CPU has (OpenBLAS's AVX-512 kernel rounds a product of 7 rows unlike one of 4,096), so two
evaluations of `a @ b` agree only to a bound that grows with the length of the sum K and the
size of its terms: each lies within gamma_K * (|a| @ |b|) of the exact product, gamma_K =
K u / (1 - K u), u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 2002,
section 3.5), so two of them lie within twice that of each other. Fused multiply-adds only
round less. Tests compare float32 results of different shapes or kernels against these bounds,
and what must not move (argmax, votes, counts) exactly where the bound cannot flip it.
"""

from __future__ import annotations

import numpy as np

UNIT_ROUNDOFF = 2.0**-24  # float32


def gamma(k: int) -> float:
    """Higham's gamma_k: the relative error bound of a sum of k float32 terms, in any order."""
    return k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF)


def dense_bound(inputs, kernel, bias=None, input_error=None) -> tuple[np.ndarray, np.ndarray]:
    """(value, error bound) of inputs @ kernel + bias in float64, the bound of a float32
    evaluation's distance from the exact result: its own rounding (K products and the bias, K + 1
    terms) plus the error it was handed (input_error, through |kernel|)."""
    x, w = np.abs(np.asarray(inputs, np.float64)), np.abs(np.asarray(kernel, np.float64))
    magnitude = x @ w + (0.0 if bias is None else np.abs(np.asarray(bias, np.float64)))
    error = gamma(w.shape[0] + 1) * magnitude
    if input_error is not None:
        error = error + (1 + gamma(w.shape[0] + 1)) * (input_error @ w)
    value = np.asarray(inputs, np.float64) @ np.asarray(kernel, np.float64)
    return value + (0.0 if bias is None else np.asarray(bias, np.float64)), error


def relu_mlp_bound(weights, images) -> np.ndarray:
    """(N, classes): how far apart two float32 evaluations of a ReLU MLP's logits may be
    (weights as Keras lists them: kernel, bias, kernel, bias, ...). ReLU moves no error up."""
    h = np.asarray(images, np.float64).reshape(len(images), -1)
    error = None
    layers = list(zip(weights[::2], weights[1::2], strict=True))
    for i, (kernel, bias) in enumerate(layers):
        h, error = dense_bound(h, kernel, bias, error)
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return 2 * error


def assert_within(a, b, bound, *, what: str = "values") -> None:
    """|a - b| <= bound elementwise (with room for the bound's own float64 rounding)."""
    gap = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    over = gap > bound * (1 + 1e-6) + np.finfo(np.float32).tiny
    assert not over.any(), (
        f"{int(over.sum())} of {over.size} {what} differ by more than float32 promises: "
        f"largest gap {gap.max():.3g}, its bound {np.asarray(bound).flat[np.argmax(gap)]:.3g}"
    )


def separated(values, bound) -> np.ndarray:
    """(N,) True where the top two of each row are further apart than the bound allows two
    evaluations to move them: there the argmax cannot differ."""
    top2 = np.sort(np.asarray(values, np.float64), axis=1)[:, -2:]
    return (top2[:, 1] - top2[:, 0]) > 2 * np.asarray(bound).max(axis=1)
