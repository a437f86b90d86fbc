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

from mnistlab.seeds import stream
from mnistlab.uncertainty.conformal import (
    conformal_quantile,
    prediction_sets,
    random_splits,
    split_coverages,
    true_label_scores,
)
from mnistlab.uncertainty.paired import mean_intervals

CONTROL_SPLITS = 200  # random calibration/test splits of the test set
RECALIBRATION_ANGLES = (30, 60, 90)
# labelled rotated images to recalibrate on, each size while MIN_SCORED images remain to score
RECALIBRATION_SIZES = (25, 50, 100, 200, 500)
RECALIBRATION_DRAWS = 20  # random calibration/scored splits of the rotated images per size
MIN_SCORED = 50


def control(true_scores: np.ndarray, alphas, calibration: np.ndarray) -> dict:
    """The exchangeable control for one score: {a: coverage mean over the splits, and the 5th
    and 95th percentiles of the split coverages}. true_scores: the test set's (N,);
    calibration: the splits (random_splits), the same for every method and score."""
    coverages = split_coverages(true_scores, alphas, calibration)
    return {
        f"{a:g}": {
            "coverage": float(c.mean()),
            "coverage_p05": float(np.quantile(c, 0.05)),
            "coverage_p95": float(np.quantile(c, 0.95)),
        }
        for a, c in coverages.items()
    }


def control_splits(n: int, n_cal: int, seed) -> np.ndarray:
    """The control's CONTROL_SPLITS random calibration parts of n test images."""
    return random_splits(n, n_cal, CONTROL_SPLITS, stream(seed, "conformal/control-splits"))


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


def recalibration(scores, labels, clean_q, alpha, rng) -> dict:
    """Coverage and size on shifted images of sets calibrated on clean data (clean_q), and of
    sets recalibrated on n of the shifted images and scored on the others, n in
    RECALIBRATION_SIZES (while at least MIN_SCORED images remain to score), averaged over
    RECALIBRATION_DRAWS random draws. scores: (N, C) class scores of N labelled shifted images.
    Returns {"coverage/clean", "mean_size/clean", "coverage/<n>", "mean_size/<n>", ...}."""
    true = true_label_scores(scores, labels)
    out = {
        "coverage/clean": float(np.mean(true <= clean_q)),
        "mean_size/clean": float(prediction_sets(scores, clean_q).sum(axis=1).mean()),
    }
    for n in (n for n in RECALIBRATION_SIZES if n + MIN_SCORED <= len(true)):
        coverage, size = [], []
        for _ in range(RECALIBRATION_DRAWS):
            order = rng.permutation(len(true))
            q = conformal_quantile(true[order[:n]], alpha)
            scored = order[n:]
            coverage.append(np.mean(true[scored] <= q))
            size.append(prediction_sets(scores[scored], q).sum(axis=1).mean())
        out[f"coverage/{n}"] = float(np.mean(coverage))
        out[f"mean_size/{n}"] = float(np.mean(size))
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
