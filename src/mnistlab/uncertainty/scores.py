"""Uncertainty scores. Sign convention: HIGHER means LESS TRUST (more likely wrong or
out-of-distribution), as in pytorch-ood, so every score plugs into the same metrics."""

from __future__ import annotations

import numpy as np


def max_softmax(probabilities) -> np.ndarray:
    """1 - max_k p_k (Hendrycks & Gimpel 2017)."""
    return 1.0 - np.asarray(probabilities).max(axis=1)


def entropy(probabilities) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    return -np.sum(p * np.log(p), axis=1)


def margin(probabilities) -> np.ndarray:
    """1 - (p_top1 - p_top2)."""
    top2 = np.sort(np.asarray(probabilities), axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def energy(logits, *, temperature: float = 1.0) -> np.ndarray:
    """-T logsumexp(logits / T) (Liu et al. 2020): in-distribution inputs have lower energy."""
    z = np.asarray(logits, np.float64) / temperature
    top = z.max(axis=1, keepdims=True)
    return -temperature * (top[:, 0] + np.log(np.exp(z - top).sum(axis=1)))


def vote_share(share) -> np.ndarray:
    """1 - share of ensemble members voting for the majority class."""
    return 1.0 - np.asarray(share, np.float64)
