"""Pure metric functions shaped like sklearn.metrics.

Conventions: `y_true` are int class labels (N,); `y_prob` are probabilities (N, C) whose rows
sum to 1; for detection metrics `is_positive` is a boolean (N,) (errors, or out-of-distribution
inputs) and `score` a float (N,) where HIGHER means MORE LIKELY POSITIVE (less trust).
Ties in scores are handled exactly (vote shares take only K+1 values).
"""

from __future__ import annotations

import numpy as np


def _check_lengths(*arrays) -> None:
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"inputs have different lengths: {sorted(lengths)}")
    if 0 in lengths:
        raise ValueError("inputs are empty")


def _check_prob(y_true, y_prob):
    y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim != 2:
        raise ValueError(f"y_prob must be (N, C), got shape {y_prob.shape}")
    _check_lengths(y_true, y_prob)
    return y_true.astype(int), y_prob


def _check_detection(is_positive, score):
    is_positive, score = np.asarray(is_positive, dtype=bool), np.asarray(score, dtype=np.float64)
    _check_lengths(is_positive, score)
    n_pos = int(is_positive.sum())
    if n_pos == 0 or n_pos == len(is_positive):
        raise ValueError(
            f"need both positives and negatives, got {n_pos} positives of {len(is_positive)}"
        )
    return is_positive, score


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_lengths(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def negative_log_likelihood(y_true, y_prob, *, eps: float = 1e-12) -> float:
    """Mean -log p(true class); probabilities clipped at eps (as sklearn's log_loss)."""
    y_true, y_prob = _check_prob(y_true, y_prob)
    return float(-np.mean(np.log(np.clip(y_prob[np.arange(len(y_true)), y_true], eps, 1.0))))


def brier_score(y_true, y_prob) -> float:
    """Mean over examples of sum_k (p_k - [k == y])^2 (the multi-class Brier score, in [0, 2])."""
    y_true, y_prob = _check_prob(y_true, y_prob)
    onehot = np.zeros_like(y_prob)
    onehot[np.arange(len(y_true)), y_true] = 1.0
    return float(np.mean(np.sum((y_prob - onehot) ** 2, axis=1)))


def reliability_curve(y_true, y_prob, *, n_bins: int = 15) -> dict:
    """Per equal-width confidence bin: count, mean confidence, accuracy (NaN where empty)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    y_true, y_prob = _check_prob(y_true, y_prob)
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(index, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": acc}


def expected_calibration_error(y_true, y_prob, *, n_bins: int = 15) -> float:
    """sum over bins of |B|/N * |accuracy(B) - mean confidence(B)|, equal-width bins on max prob."""
    curve = reliability_curve(y_true, y_prob, n_bins=n_bins)
    filled = curve["count"] > 0
    weights = curve["count"][filled] / curve["count"].sum()
    return float(np.sum(weights * np.abs(curve["accuracy"][filled] - curve["confidence"][filled])))


# ---------------------------------------------------------------- detection (ties handled)
def _groups(score):
    """Unique scores ascending and each example's group index."""
    unique, inverse = np.unique(score, return_inverse=True)
    return unique, inverse


def _auroc_from_groups(pos_w, neg_w) -> float:
    # P(score_pos > score_neg) + 0.5 P(equal): a positive beats every negative in lower groups
    # and ties with half of those in its own group.
    neg_below = np.cumsum(neg_w) - neg_w
    return float(np.sum(pos_w * (neg_below + 0.5 * neg_w)) / (pos_w.sum() * neg_w.sum()))


def auroc(is_positive, score) -> float:
    """Area under the ROC curve: the probability that a positive scores above a negative (ties 1/2)."""
    is_positive, score = _check_detection(is_positive, score)
    _, group = _groups(score)
    pos_w = np.bincount(group, weights=is_positive.astype(float))
    neg_w = np.bincount(group, weights=(~is_positive).astype(float))
    return _auroc_from_groups(pos_w, neg_w)


def is_defined(is_positive) -> bool:
    """Detection metrics (AUROC, AUPR, FPR95) need both positives and negatives: the one rule
    every study uses (a model with no wrong answers has no misclassification AUROC)."""
    is_positive = np.asarray(is_positive, bool)
    return 0 < int(is_positive.sum()) < len(is_positive)


def auroc_or_nan(is_positive, score) -> float:
    """auroc, or NaN where it is undefined (is_defined: one class only)."""
    return auroc(is_positive, score) if is_defined(is_positive) else float("nan")


def _curve_at_thresholds(is_positive, score):
    """TP and FP counts when flagging score >= t, for each distinct t from high to low."""
    _, group = _groups(score)
    pos = np.bincount(group, weights=is_positive.astype(float))[::-1]
    neg = np.bincount(group, weights=(~is_positive).astype(float))[::-1]
    return np.cumsum(pos), np.cumsum(neg)


def roc_curve(is_positive, score) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) from (0, 0) to (1, 1), one point per distinct score."""
    is_positive, score = _check_detection(is_positive, score)
    tp, fp = _curve_at_thresholds(is_positive, score)
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def average_precision(is_positive, score) -> float:
    """AUPR as sklearn's average_precision_score: sum over thresholds of (R_n - R_n-1) * P_n."""
    is_positive, score = _check_detection(is_positive, score)
    tp, fp = _curve_at_thresholds(is_positive, score)
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fpr_at_tpr(is_positive, score, *, tpr: float = 0.95) -> float:
    """False positive rate at the first threshold whose true positive rate reaches `tpr` (FPR95)."""
    if not 0.0 < tpr <= 1.0:
        raise ValueError(f"tpr must be in (0, 1], got {tpr}")
    fpr_values, tpr_values = roc_curve(is_positive, score)
    return float(fpr_values[np.argmax(tpr_values >= tpr - 1e-12)])


def fpr95(is_out, score) -> float:
    """FPR at 95% TPR with the images to trust as the positives, the one FPR95 every study
    reports: the share of the images not to trust (is_out: out-of-distribution images, or
    wrong answers) still trusted when the threshold trusts 95% of the others. score: higher =
    less trust. This is OpenOOD's convention (in-distribution positive) and Hendrycks &
    Gimpel's; pytorch-ood's OODMetrics takes the outliers as positives instead (its FPR95TPR is
    the share of in-distribution images flagged when 95% of the outliers are)."""
    is_out = np.asarray(is_out, bool)
    return fpr_at_tpr(~is_out, -np.asarray(score, np.float64), tpr=0.95)


def risk_coverage_curve(is_error, score) -> tuple[np.ndarray, np.ndarray]:
    """Selective classification: keep the examples with the lowest scores first.

    Returns (coverage, risk) at each distinct score threshold: the share of examples kept and
    the error rate among them. Tied examples are kept or rejected together.
    """
    is_error, score = np.asarray(is_error, bool), np.asarray(score, np.float64)
    _check_lengths(is_error, score)
    _, group = _groups(score)
    errors = np.cumsum(np.bincount(group, weights=is_error.astype(float)))
    kept = np.cumsum(np.bincount(group))
    return kept / len(score), errors / kept


def aurc(is_error, score) -> float:
    """Area under the risk-coverage curve (step integral over coverage; lower is better).

    Without ties this is mean over k of (errors among the k most trusted) / k (Geifman et al. 2019).
    """
    coverage, risk = risk_coverage_curve(is_error, score)
    return float(np.sum(np.diff(np.r_[0.0, coverage]) * risk))


# ---------------------------------------------------------------- bootstrap intervals
def bootstrap_auroc_interval(
    is_positive, score, *, n_boot: int = 1000, seed=0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of AUROC. Each resample only reweights the tied-score
    groups (O(N) per resample, no re-sorting). seed: an int or a numpy Generator (a named
    stream, mnistlab.seeds.stream)."""
    is_positive, score = _check_detection(is_positive, score)
    _, group = _groups(score)
    rng = np.random.default_rng(seed)
    n, n_groups = len(score), group.max() + 1
    values = []
    for _ in range(n_boot):
        weight = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        pos_w = np.bincount(group, weights=weight * is_positive, minlength=n_groups)
        neg_w = np.bincount(group, weights=weight * ~is_positive, minlength=n_groups)
        if pos_w.sum() and neg_w.sum():
            values.append(_auroc_from_groups(pos_w, neg_w))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def bootstrap_mean_interval(
    values, *, n_boot: int = 1000, seed=0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (e.g. accuracy from 0/1 correctness). seed: an
    int or a numpy Generator (a named stream, mnistlab.seeds.stream)."""
    values = np.asarray(values, dtype=np.float64)
    _check_lengths(values)
    rng = np.random.default_rng(seed)
    n = len(values)
    if np.isin(values, (0.0, 1.0)).all():
        # The bootstrap mean of 0/1 values is exactly Binomial(n, mean) / n: no resampling needed.
        means = rng.binomial(n, values.mean(), size=n_boot) / n
    else:
        means = np.array([values[rng.integers(0, n, n)].mean() for _ in range(n_boot)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
