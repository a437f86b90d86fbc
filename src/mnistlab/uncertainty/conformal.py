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

APS and RAPS are computed as s - 1 = -(mass ranked below y) - (1 - u) p_y. That is the same
score shifted by a constant (the same sets), but it keeps its precision where s is near 1: a
confident float32 softmax rounds its top probability to exactly 1.0, so "mass above plus p_y"
is exactly 1.0 for every such image (18% of MNIST's calibration scores tied at 1.0, one q for
every a), while the mass below, summed from the smallest probability up, keeps each image's
own tail (1e-9, 1e-20, ...) in float64.

Class-conditional (Mondrian) sets calibrate one q per class, on the calibration images of that
class (Vovk 2012): the promise then holds for every class, not only on average over classes.

MAPIE computes the same sets (tests/uncertainty/test_conformal.py compares LAC and APS with it); here the
scores are plain array functions because every method of the scoreboard gives probabilities
already, and the studies need the scores of every class at once.

    >>> import numpy as np
    >>> from mnistlab.uncertainty.conformal import calibrate, lac_scores, prediction_sets
    >>> p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
    >>> q = calibrate(lac_scores(p), np.array([0, 1, 2]), alpha=0.5)
    >>> round(float(q), 2)  # a class is in the set when 1 - its probability is at most q
    0.3
    >>> prediction_sets(lac_scores(p), q).astype(int).tolist()  # the second: no class reaches 0.7
    [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
"""

from __future__ import annotations

import math

import numpy as np

SCORES = ("lac", "aps", "aps-randomized", "raps")
RAPS_LAMBDA, RAPS_K_REG = (
    0.01,
    2,
)  # Angelopoulos et al.'s defaults for ImageNet-sized C; fine at C = 10


def lac_scores(probabilities: np.ndarray) -> np.ndarray:
    """1 - p: (N, C)."""
    return 1.0 - np.asarray(probabilities, np.float64)


def _ranked_mass(probabilities: np.ndarray):
    """Per class: the probability mass of the classes ranked below it, and its 1-based rank.
    Ties are broken by class index, as a stable sort does. The mass below is summed from the
    smallest probability up, never as a difference of two sums near 1."""
    p = np.asarray(probabilities, np.float64)
    order = np.argsort(-p, axis=1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=1)
    tail_first = np.cumsum(sorted_p[:, ::-1], axis=1)
    below_sorted = np.zeros_like(sorted_p)
    below_sorted[:, :-1] = tail_first[:, -2::-1]
    below, rank = np.empty_like(p), np.empty(p.shape, np.int64)
    np.put_along_axis(below, order, below_sorted, axis=1)
    np.put_along_axis(rank, order, np.arange(1, p.shape[1] + 1)[None, :].repeat(len(p), 0), axis=1)
    return below, rank


def aps_scores(probabilities: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
    """APS's score minus 1 (see the module docstring): -(mass ranked below y) - (1 - u) p_y,
    (N, C). u: (N,) uniforms (randomized) or None (u = 1)."""
    p = np.asarray(probabilities, np.float64)
    below, _ = _ranked_mass(p)
    if u is None:
        return -below
    return -below - (1.0 - np.asarray(u, np.float64)[:, None]) * p


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


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def conformal_quantile(true_scores: np.ndarray, alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest of n true-label scores (inf when that rank
    exceeds n: the set must then hold every class)."""
    _check_alpha(alpha)
    true = np.asarray(true_scores)
    rank = math.ceil((len(true) + 1) * (1 - alpha))
    return math.inf if rank > len(true) else float(np.partition(true, rank - 1)[rank - 1])


def true_label_scores(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """s(x_i, y_i): (N,) from class scores (N, C) and labels (N,)."""
    return np.asarray(scores)[np.arange(len(labels)), np.asarray(labels)]


def calibrate(scores: np.ndarray, labels: np.ndarray, alpha: float) -> float:
    """q for marginal sets: the conformal quantile of the calibration set's true-label scores."""
    return conformal_quantile(true_label_scores(scores, labels), alpha)


def calibrate_by_class(scores: np.ndarray, labels: np.ndarray, alpha: float) -> np.ndarray:
    """q per class (C,) for class-conditional sets: the conformal quantile of the true-label
    scores of that class's calibration images (inf for a class with too few of them)."""
    _check_alpha(alpha)
    true, labels = true_label_scores(scores, labels), np.asarray(labels)
    return np.array(
        [conformal_quantile(true[labels == c], alpha) for c in range(np.shape(scores)[1])]
    )


def prediction_sets(scores: np.ndarray, q) -> np.ndarray:
    """Boolean (N, C): class y is in x's set when s(x, y) <= q (q: one number, or one per
    class). Calibration and test scores come from the same arithmetic, so no tolerance."""
    return np.asarray(scores) <= np.asarray(q)


SIZE_STRATUM_SHARE = 0.01  # a set size counts for size-stratified coverage from 1% of images


def set_summary(sets: np.ndarray, labels: np.ndarray) -> dict:
    """Marginal coverage, mean size, empty and singleton shares, coverage per set size, the
    worst class's coverage and the size-stratified coverage (the lowest coverage among the
    non-empty set sizes that hold at least SIZE_STRATUM_SHARE of the images: Angelopoulos &
    Bates' SSC, less the strata too small to estimate), for boolean sets (N, C), labels (N,)."""
    labels = np.asarray(labels)
    covered = sets[np.arange(len(labels)), labels]
    size = sets.sum(axis=1)
    by_size = {
        int(k): {"share": float(np.mean(size == k)), "coverage": float(covered[size == k].mean())}
        for k in np.unique(size)
    }
    per_class = [float(covered[labels == c].mean()) for c in np.unique(labels)]
    strata = [
        v["coverage"] for k, v in by_size.items() if k > 0 and v["share"] >= SIZE_STRATUM_SHARE
    ]
    return {
        "coverage": float(covered.mean()),
        "mean_size": float(size.mean()),
        "empty": float(np.mean(size == 0)),
        "singleton": float(np.mean(size == 1)),
        "worst_class_coverage": float(min(per_class)),
        "size_stratified_coverage": float(min(strata)) if strata else math.nan,
        "by_size": by_size,
    }


def random_splits(n: int, n_cal: int, splits: int, seed) -> np.ndarray:
    """(splits, n) booleans: each row marks n_cal of n images, drawn at random, to calibrate on."""
    if not 0 < n_cal < n:
        raise ValueError(f"n_cal must be in (0, {n}), got {n_cal}")
    rng = np.random.default_rng(seed)
    chosen = np.argsort(rng.random((splits, n)), axis=1)[:, :n_cal]
    masks = np.zeros((splits, n), bool)
    np.put_along_axis(masks, chosen, True, axis=1)
    return masks


def split_coverages(true_scores: np.ndarray, alphas, calibration: np.ndarray) -> dict:
    """The exchangeable control: calibrate on the images each row of `calibration` marks (from
    random_splits), measure coverage on the others. Returns {alpha: (splits,) coverages}.

    Ranks instead of sorting per split: with the scores sorted once, a split's q is its
    calibration part's k-th score, and the test images covered are those ranked at or below
    the last score equal to q (ties included), less the calibration images ranked there."""
    true = np.asarray(true_scores, np.float64)
    calibration = np.asarray(calibration, bool)
    splits, n = calibration.shape
    n_cal = int(calibration[0].sum())
    order = np.argsort(true, kind="stable")
    ordered = true[order]
    last_tied = np.searchsorted(ordered, ordered, side="right") - 1  # last index of each tie
    cal_up_to = np.cumsum(calibration[:, order], axis=1, dtype=np.int32)  # cal. ranks <= j
    out = {}
    for alpha in alphas:
        _check_alpha(alpha)
        rank = math.ceil((n_cal + 1) * (1 - alpha))
        if rank > n_cal:
            out[alpha] = np.ones(splits)
            continue
        # the rank-th calibration image's position in sorted order, then the end of its tie
        position = np.argmax(cal_up_to >= rank, axis=1)
        end = last_tied[position]
        covered_test = end + 1 - cal_up_to[np.arange(splits), end]
        out[alpha] = covered_test / (n - n_cal)
    return out
