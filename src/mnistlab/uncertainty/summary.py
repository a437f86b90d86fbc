"""One result vocabulary for every study that evaluates methods: flat, namespaced keys.

    cls/acc, cls/acc_ci, cls/confidence    classification (accuracy, its bootstrap interval,
                                           mean top probability)
    cal/ece, cal/nll, cal/brier            calibration (NLL: NaN unless a distribution)
    err/auroc, err/aupr                    telling wrong answers apart (errors are positives)
    err/fpr95_right                        FPR at 95% TPR, right answers positive (metrics.fpr95):
                                           the share of wrong answers still trusted
    sc/aurc                                selective classification: area under risk-coverage
    ood/<set>/auroc, /aupr                 telling <set> apart from the in-distribution images
    ood/<set>/fpr95_in                     FPR at 95% TPR, in-distribution positive (OpenOOD's)

Detection metrics are NaN where undefined (no wrong answers, say): metrics.is_defined decides.
"""

from __future__ import annotations

import math

import numpy as np

from mnistlab.seeds import stream
from mnistlab.uncertainty import metrics

ECE_BINS = 15


def _detection(prefix: str, is_positive: np.ndarray, score: np.ndarray, fpr_key: str) -> dict:
    """AUROC and AUPR with the untrusted side (is_positive) as positives; FPR95 as
    metrics.fpr95 has it, the trusted side positive (fpr_key names that side)."""
    if not metrics.is_defined(is_positive):
        return {f"{prefix}/auroc": math.nan, f"{prefix}/aupr": math.nan, fpr_key: math.nan}
    return {
        f"{prefix}/auroc": metrics.auroc(is_positive, score),
        f"{prefix}/aupr": metrics.average_precision(is_positive, score),
        fpr_key: metrics.fpr95(is_positive, score),
    }


def summarize(
    labels: np.ndarray,
    probabilities: np.ndarray,
    score: np.ndarray,
    *,
    proper: bool = True,
    ood_scores: dict | None = None,
    n_boot: int = 0,
    seed: int = 0,
    ece_bins: int = ECE_BINS,
) -> dict:
    """Every number of one method on one set of labelled images (keys: module docstring).

    probabilities (N, C), score (N,) higher = less trust; proper: the probabilities are a
    predictive distribution (else NLL is NaN); ood_scores: {"ood/<set>": scores of another set
    of images}, each detected against `score`; n_boot > 0 adds cls/acc_ci (95%, seeded)."""
    labels = np.asarray(labels)
    error = probabilities.argmax(axis=1) != labels
    row = {"cls/acc": metrics.accuracy(labels, probabilities.argmax(axis=1))}
    if n_boot:
        row["cls/acc_ci"] = metrics.bootstrap_mean_interval(
            ~error, n_boot=n_boot, seed=stream(seed, "summary/accuracy-interval")
        )
    row["cls/confidence"] = float(probabilities.max(axis=1).mean())
    row["cal/ece"] = metrics.expected_calibration_error(labels, probabilities, n_bins=ece_bins)
    row["cal/nll"] = metrics.negative_log_likelihood(labels, probabilities) if proper else math.nan
    row["cal/brier"] = metrics.brier_score(labels, probabilities)
    row.update(_detection("err", error, score, "err/fpr95_right"))
    row["sc/aurc"] = metrics.aurc(error, score)
    for key, ood in (ood_scores or {}).items():
        is_ood = np.r_[np.zeros(len(score), bool), np.ones(len(ood), bool)]
        row.update(_detection(key, is_ood, np.r_[score, ood], f"{key}/fpr95_in"))
    return row
