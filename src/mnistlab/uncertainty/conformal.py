"""Split conformal prediction sets for classification: LAC, APS (randomized or not) and RAPS.

Every score is a nonconformity score s(x, y), one per class (N, C): higher means "y fits x
worse". Calibration takes each held-out example's score of its true label; with n of them,
q is the ceil((n + 1)(1 - alpha))-th smallest, and the set of a new x is {y : s(x, y) <= q}.
For exchangeable data the set then holds the true label with probability at least 1 - alpha,
and (without ties) at most 1 - alpha + 1 / (n + 1) (Vovk et al. 2005; Angelopoulos & Bates,
"A gentle introduction to conformal prediction", 2021).

- LAC (Sadinle et al. 2019): s = 1 - p_y. Smallest sets on average; may be empty.
- APS (Romano et al. 2020): s = mass of the classes ranked above y, plus u * p_y; u ~ U(0, 1)
  when randomized (exact coverage), u = 1 otherwise (the whole cumulative mass, conservative).
- RAPS (Angelopoulos et al. 2021): APS + lambda * max(0, rank(y) - k_reg), which keeps the
  sets small when the tail of the probabilities is noisy.

MAPIE computes the same sets (tests/test_conformal.py compares LAC and APS with it); here the
scores are plain array functions because every method of the scoreboard gives probabilities
already, and the studies need the scores of every class at once.

    >>> import numpy as np
    >>> from mnistlab.uncertainty.conformal import calibrate, lac_scores, prediction_sets
    >>> p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
    >>> q = calibrate(lac_scores(p), np.array([0, 1, 2]), alpha=0.5)
    >>> prediction_sets(lac_scores(p), q).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
"""

from __future__ import annotations

import math

import numpy as np

SCORES = ("lac", "aps", "aps-randomized", "raps")
RAPS_LAMBDA, RAPS_K_REG = (
    0.01,
    2,
)  # Angelopoulos et al.'s defaults for ImageNet-sized C; fine at C = 10
TOLERANCE = 1e-9  # float noise in cumulative sums must not move a class in or out of a set


def lac_scores(probabilities: np.ndarray) -> np.ndarray:
    """1 - p: (N, C)."""
    return 1.0 - np.asarray(probabilities, np.float64)


def _ranked_mass(probabilities: np.ndarray):
    """Per class: the probability mass of the classes ranked above it, and its 1-based rank.
    Ties are broken by class index, as a stable sort does."""
    p = np.asarray(probabilities, np.float64)
    order = np.argsort(-p, axis=1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=1)
    above_sorted = np.cumsum(sorted_p, axis=1) - sorted_p
    above, rank = np.empty_like(p), np.empty(p.shape, np.int64)
    np.put_along_axis(above, order, above_sorted, axis=1)
    np.put_along_axis(rank, order, np.arange(1, p.shape[1] + 1)[None, :].repeat(len(p), 0), axis=1)
    return above, rank


def aps_scores(probabilities: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
    """Mass ranked above y plus u * p_y: (N, C). u: (N,) uniforms (randomized) or None (u = 1)."""
    p = np.asarray(probabilities, np.float64)
    above, _ = _ranked_mass(p)
    share = 1.0 if u is None else np.asarray(u, np.float64)[:, None]
    return above + share * p


def raps_scores(
    probabilities: np.ndarray,
    u: np.ndarray | None = None,
    *,
    lam: float = RAPS_LAMBDA,
    k_reg: int = RAPS_K_REG,
) -> np.ndarray:
    """APS plus lam * max(0, rank(y) - k_reg): (N, C)."""
    _, rank = _ranked_mass(probabilities)
    return aps_scores(probabilities, u) + lam * np.maximum(0, rank - k_reg)


def class_scores(name: str, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The (N, C) scores of one of SCORES; the randomized ones draw one uniform per example."""
    if name == "lac":
        return lac_scores(probabilities)
    if name == "aps":
        return aps_scores(probabilities)
    if name == "aps-randomized":
        return aps_scores(probabilities, rng.random(len(probabilities)))
    if name == "raps":
        return raps_scores(probabilities, rng.random(len(probabilities)))
    raise ValueError(f"unknown conformal score {name!r}: choose one of {', '.join(SCORES)}")


def calibrate(scores: np.ndarray, labels: np.ndarray, alpha: float) -> float:
    """q: the ceil((n + 1)(1 - alpha))-th smallest true-label score of the calibration set
    (inf when that exceeds n: the set must then hold every class)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    true = np.asarray(scores)[np.arange(len(labels)), np.asarray(labels)]
    rank = math.ceil((len(true) + 1) * (1 - alpha))
    return math.inf if rank > len(true) else float(np.sort(true)[rank - 1])


def prediction_sets(scores: np.ndarray, q: float) -> np.ndarray:
    """Boolean (N, C): class y is in x's set when s(x, y) <= q."""
    return np.asarray(scores) <= q + TOLERANCE


def set_summary(sets: np.ndarray, labels: np.ndarray) -> dict:
    """Marginal coverage, mean size, empty and singleton shares, coverage per set size and the
    worst class's coverage, for boolean sets (N, C) and true labels (N,)."""
    labels = np.asarray(labels)
    covered = sets[np.arange(len(labels)), labels]
    size = sets.sum(axis=1)
    by_size = {
        int(k): {"share": float(np.mean(size == k)), "coverage": float(covered[size == k].mean())}
        for k in np.unique(size)
    }
    per_class = [float(covered[labels == c].mean()) for c in np.unique(labels)]
    return {
        "coverage": float(covered.mean()),
        "mean_size": float(size.mean()),
        "empty": float(np.mean(size == 0)),
        "singleton": float(np.mean(size == 1)),
        "worst_class_coverage": float(min(per_class)),
        "by_size": by_size,
    }
