"""Uncertainty scores. Sign convention: HIGHER means LESS TRUST (more likely wrong or
out-of-distribution), as in pytorch-ood, so every score plugs into the same metrics."""

from __future__ import annotations

import numpy as np


def top_complement(probabilities) -> tuple[np.ndarray, np.ndarray]:
    """(...,) index of the top class and (...,) 1 - its probability, in float64, computed as
    the sum of the other classes' probabilities (the classes are the last axis).

    Why not 1 - max: float32 rounds a top probability within 6e-8 of 1 to exactly 1.0 (14-17%
    of MNIST's test images under the tutorial MLP), so 1 - max ties all of them at 0, while
    the other classes' probabilities keep their size in float32 (down to 1e-45). Their sum
    ranks those answers as the float64 softmax of the logits does. The probabilities handed to
    calibration and conformal sets are left as they are."""
    p = np.asarray(probabilities, np.float64)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise ValueError(f"probabilities must be (..., C), got shape {p.shape}")
    top = p.argmax(axis=-1)
    others = p.copy()
    np.put_along_axis(others, top[..., None], 0.0, axis=-1)
    return top, others.sum(axis=-1)


def max_softmax(probabilities) -> np.ndarray:  # (N, C) -> (N,)
    """1 - max_k p_k (Hendrycks & Gimpel 2017), as the other classes' summed probability
    (top_complement: no ties where float32 rounded the top probability to 1)."""
    return top_complement(probabilities)[1]


def entropy(probabilities) -> np.ndarray:
    """-sum_k p_k log p_k in float64 (0 log 0 = 0), the top class's log p as log1p(-(1 - p))
    from top_complement, so an answer whose top probability float32 rounded to 1 keeps its
    entropy instead of tying at 0."""
    p = np.asarray(probabilities, np.float64)
    top, complement = top_complement(p)
    log_p = np.log(p, out=np.zeros_like(p), where=p > 0)
    np.put_along_axis(log_p, top[..., None], np.log1p(-complement)[..., None], axis=-1)
    return -np.sum(p * log_p, axis=-1)


def margin(probabilities) -> np.ndarray:
    """1 - (p_top1 - p_top2), as (1 - p_top1) + p_top2 (top_complement: no ties at 0)."""
    p = np.asarray(probabilities, np.float64)
    _, complement = top_complement(p)
    second = np.sort(p, axis=1)[:, -2]
    return complement + second


def energy(logits, *, temperature: float = 1.0) -> np.ndarray:
    """-T logsumexp(logits / T) (Liu et al. 2020): in-distribution inputs have lower energy."""
    z = np.asarray(logits, np.float64) / temperature
    top = z.max(axis=1, keepdims=True)
    return -temperature * (top[:, 0] + np.log(np.exp(z - top).sum(axis=1)))


def vote_share(share) -> np.ndarray:
    """1 - share of ensemble members voting for the majority class."""
    return 1.0 - np.asarray(share, np.float64)
