"""Is the conformal promise kept, and if not, why? The numbers behind the answer.

- The exchangeable control: the same sets calibrated on random parts of the test set itself,
  scored on the rest, over many splits. Calibration and test images are then exchangeable by
  construction, so the mean coverage must sit at 1 - a; if the study's sets (calibrated on the
  held-out training tail) miss while the control does not, the gap is the data, not the code.
- The two-sample test: do the calibration images' true-label scores come from the same
  distribution as the test images'? (Kolmogorov-Smirnov on max softmax's 1 - p_y.)
- Recalibration under shift: sets recalibrated on a small labelled sample of rotated images,
  against the clean calibration, as a curve over the sample size.
- Intervals on coverage: the two-stage bootstrap over seeds and test images (--bootstrap).
"""

from __future__ import annotations

import numpy as np

from mnistlab.uncertainty.conformal import (
    conformal_quantile,
    prediction_sets,
    split_coverages,
    true_label_scores,
)
from mnistlab.uncertainty.paired import mean_intervals

CONTROL_SPLITS = 200  # random calibration/test splits of the test set
RECALIBRATION_ANGLES = (30, 60, 90)
RECALIBRATION_SIZES = (50, 100, 200, 500)  # labelled rotated images to recalibrate on
RECALIBRATION_DRAWS = 20  # random samples of each size from the pool


def control(true_scores: np.ndarray, alphas, *, n_cal: int, seed) -> dict:
    """The exchangeable control for one score: {a: coverage mean over the splits, and the 5th
    and 95th percentiles of the split coverages}. true_scores: the test set's (N,)."""
    coverages = split_coverages(true_scores, alphas, n_cal=n_cal, splits=CONTROL_SPLITS, seed=seed)
    return {
        f"{a:g}": {
            "coverage": float(c.mean()),
            "coverage_p05": float(np.quantile(c, 0.05)),
            "coverage_p95": float(np.quantile(c, 0.95)),
        }
        for a, c in coverages.items()
    }


def exchangeability(cal_probabilities, cal_labels, test_probabilities, test_labels) -> dict:
    """How the calibration images differ from the test images, for one model's probabilities:
    accuracy on each (and on each half of the test set, which MNIST drew from different
    writers), and the Kolmogorov-Smirnov test of their true-label LAC scores (1 - p_y)."""
    from scipy import stats  # here: importing scipy.stats takes about 0.4 s

    cal_labels, test_labels = np.asarray(cal_labels), np.asarray(test_labels)
    cal = 1.0 - true_label_scores(np.asarray(cal_probabilities, np.float64), cal_labels)
    test = 1.0 - true_label_scores(np.asarray(test_probabilities, np.float64), test_labels)
    right = np.asarray(test_probabilities).argmax(axis=1) == test_labels
    half = len(test_labels) // 2
    ks = stats.ks_2samp(cal, test)
    return {
        "calibration_accuracy": float(
            np.mean(np.asarray(cal_probabilities).argmax(axis=1) == cal_labels)
        ),
        "test_accuracy": float(right.mean()),
        "test_first_half_accuracy": float(right[:half].mean()),
        "test_second_half_accuracy": float(right[half:].mean()),
        "calibration_mean_score": float(cal.mean()),
        "test_mean_score": float(test.mean()),
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
    }


def recalibration(pool_scores, pool_labels, eval_scores, eval_labels, clean_q, alpha, rng) -> dict:
    """Coverage and size on shifted images (eval_*) of sets calibrated on clean data (clean_q)
    and of sets recalibrated on n images of a labelled shifted pool (pool_*, disjoint from
    the evaluated images), n in RECALIBRATION_SIZES up to the pool's size, averaged over RECALIBRATION_DRAWS samples.
    Returns {"coverage/clean", "mean_size/clean", "coverage/<n>", "mean_size/<n>", ...}."""
    pool_true = true_label_scores(pool_scores, pool_labels)
    eval_true = true_label_scores(eval_scores, eval_labels)
    out = {
        "coverage/clean": float(np.mean(eval_true <= clean_q)),
        "mean_size/clean": float(prediction_sets(eval_scores, clean_q).sum(axis=1).mean()),
    }
    for n in (n for n in RECALIBRATION_SIZES if n <= len(pool_true)):
        draws = 1 if n == len(pool_true) else RECALIBRATION_DRAWS  # the whole pool: one draw
        qs = [
            conformal_quantile(pool_true[rng.choice(len(pool_true), n, replace=False)], alpha)
            for _ in range(draws)
        ]
        out[f"coverage/{n}"] = float(np.mean([np.mean(eval_true <= q) for q in qs]))
        out[f"mean_size/{n}"] = float(
            np.mean([prediction_sets(eval_scores, q).sum(axis=1).mean() for q in qs])
        )
    return out


def coverage_intervals(covered: dict, *, n_boot: int, seed: int) -> dict:
    """{key: (low, high)}: 95% two-stage bootstrap intervals of the mean coverage over seeds,
    from covered[key] = one (N,) boolean array per seed (every key over the same images)."""
    keys = list(covered)
    if not keys:
        return {}
    stacked = np.stack([np.stack(covered[k]) for k in keys], axis=-1)  # (seeds, N, K)
    low, high = mean_intervals(stacked, n_boot=n_boot, seed=seed)
    return {k: (float(lo), float(hi)) for k, lo, hi in zip(keys, low, high, strict=True)}
