"""Abstention with an error bound: answer only when the score is at most t, with t chosen on
held-out data so that the error rate among the answers kept is at most `target` with
probability at least 1 - delta.

For a threshold t, the kept calibration answers are n_t Bernoulli trials with k_t errors; the
Clopper-Pearson upper bound U(k_t, n_t; delta) is an exact one-sided (1 - delta) bound on the
error rate among kept answers. Many thresholds are tried, so the bound must hold for the one
picked: we test them in a fixed sequence, from the most trusted answers outwards, and stop at
the first threshold whose bound exceeds the target (Learn then Test, Angelopoulos et al. 2021).
Fixed-sequence testing spends the whole delta at every step and still controls the chance of
any false acceptance at delta, because a threshold is only reached when all stricter ones
passed. Bonferroni (delta / number of thresholds) would need a much tighter bound at each of
the ~50 thresholds for no gain: the thresholds are ordered, and the error rate grows with t.
The sequence starts at the first threshold that keeps enough answers for a bound to pass at
all (a choice made from the scores alone, not the errors).

    >>> import numpy as np
    >>> from mnistlab.uncertainty.abstention import clopper_pearson_upper
    >>> round(clopper_pearson_upper(0, 100, delta=0.05), 4)  # 0 errors in 100: at most 3%
    0.0295
"""

from __future__ import annotations

import numpy as np

GRID = 50  # thresholds tried: quantiles of the calibration scores


def clopper_pearson_upper(errors: int, n: int, *, delta: float) -> float:
    """Exact upper (1 - delta) confidence bound on a binomial rate from `errors` of `n`."""
    if n == 0:
        return 1.0
    if errors >= n:
        return 1.0
    from scipy import stats  # here: importing scipy.stats takes about 0.4 s

    return float(stats.beta.ppf(1 - delta, errors + 1, n - errors))


def threshold_for_error(
    score: np.ndarray, is_error: np.ndarray, *, target: float, delta: float, grid: int = GRID
) -> dict:
    """The largest threshold t (keep the answers with score <= t) whose Clopper-Pearson bound
    on the kept error rate stays within `target`, testing from the strictest t outwards.

    score, is_error: (N,) on calibration data, higher score = less trust. Returns t (-inf
    when no threshold passes: abstain on everything), the kept share and errors on the
    calibration data, and the bound at t.
    """
    score, is_error = np.asarray(score, np.float64), np.asarray(is_error, bool)
    candidates = np.unique(np.quantile(score, np.linspace(1 / grid, 1.0, grid)))
    # The sequence starts where a bound could pass at all: with fewer than n_min answers kept,
    # even zero errors bound the rate above the target. That start depends on the scores only,
    # never on the errors, so the fixed-sequence guarantee stands.
    n_min = int(np.ceil(np.log(delta) / np.log1p(-target)))
    candidates = [t for t in candidates if (score <= t).sum() >= n_min]
    chosen = {"threshold": -np.inf, "kept": 0.0, "bound": 0.0, "errors": 0}
    for t in candidates:  # strictest first
        kept = score <= t
        bound = clopper_pearson_upper(int(is_error[kept].sum()), int(kept.sum()), delta=delta)
        if bound > target:
            break  # fixed sequence: stop at the first failure
        chosen = {
            "threshold": float(t),
            "kept": float(kept.mean()),
            "bound": bound,
            "errors": int(is_error[kept].sum()),
        }
    return chosen


def apply_threshold(score: np.ndarray, is_error: np.ndarray, threshold: float) -> dict:
    """On new data: the share of answers kept (score <= threshold) and their error rate."""
    kept = np.asarray(score) <= threshold
    return {
        "kept": float(kept.mean()),
        "error": float(np.asarray(is_error)[kept].mean()) if kept.any() else float("nan"),
    }
