"""Uncertainty methods as outputs: each method's probabilities and trust score on every input set,
and the field's metrics computed from them (one row per method).

Scores follow the project's convention: higher means less trust (scores.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.models.predict import softmax
from mnistlab.uncertainty import metrics, scores

ECE_BINS = 15


@dataclass
class MethodOutput:
    """A method's probabilities and scores on every input set ('test', 'ood/...')."""

    name: str
    family: str
    probabilities: dict
    score: dict
    proper: bool = True  # probabilities form a predictive distribution (NLL is meaningful)


def softmax_family(logits: dict, temperature: float) -> list[MethodOutput]:
    probs = {k: softmax(v) for k, v in logits.items()}
    scaled = {k: softmax(v, temperature=temperature) for k, v in logits.items()}
    return [
        MethodOutput(
            "max softmax",
            "single model",
            probs,
            {k: scores.max_softmax(p) for k, p in probs.items()},
        ),
        MethodOutput(
            "entropy", "single model", probs, {k: scores.entropy(p) for k, p in probs.items()}
        ),
        MethodOutput(
            "margin", "single model", probs, {k: scores.margin(p) for k, p in probs.items()}
        ),
        MethodOutput(
            "energy", "single model", probs, {k: scores.energy(v) for k, v in logits.items()}
        ),
        MethodOutput(
            "temperature scaling",  # T is in the results; the name stays the same across seeds
            "single model",
            scaled,
            {k: scores.max_softmax(p) for k, p in scaled.items()},
        ),
    ]


def ensemble_outputs(
    name: str, family: str, summaries: dict, *, with_vote: bool
) -> list[MethodOutput]:
    """The ensemble's mean probability (and, with_vote, its vote share) as methods, from a
    MemberSummary per input set."""
    mean = {k: v.mean_probability() for k, v in summaries.items()}
    out = [
        MethodOutput(
            f"{name} mean prob", family, mean, {k: scores.max_softmax(p) for k, p in mean.items()}
        )
    ]
    if with_vote:
        shares = {k: v.vote_shares() for k, v in summaries.items()}
        out.insert(
            0,
            MethodOutput(
                f"{name} vote",
                family,
                shares,
                {k: scores.vote_share(s.max(axis=1)) for k, s in shares.items()},
                proper=False,
            ),
        )
    return out


def evaluate(
    method: MethodOutput, labels: np.ndarray, *, n_boot: int, seed: int, ece_bins: int = ECE_BINS
) -> dict:
    """Accuracy, NLL, Brier, ECE, misclassification and OOD detection metrics of one method."""
    probs = method.probabilities["test"]
    predicted = probs.argmax(axis=1)
    error = predicted != labels
    score = method.score["test"]
    row = {
        "method": method.name,
        "family": method.family,
        "test/acc": metrics.accuracy(labels, predicted),
    }
    row["test/acc_ci"] = metrics.bootstrap_mean_interval(~error, n_boot=n_boot, seed=seed)
    # Misclassification AUROC has no interval here: over seeds it is mean ± std, and the
    # comparison with max softmax is the paired interval of the difference (paired.py).
    row["test/nll"] = (
        metrics.negative_log_likelihood(labels, probs) if method.proper else float("nan")
    )
    row["test/brier"] = metrics.brier_score(labels, probs)
    row["test/ece"] = metrics.expected_calibration_error(labels, probs, n_bins=ece_bins)
    if 0 < error.sum() < len(error):
        row["misclassification/auroc"] = metrics.auroc(error, score)
        row["misclassification/aupr_error"] = metrics.average_precision(error, score)
        row["misclassification/fpr95"] = metrics.fpr_at_tpr(error, score)
    row["test/aurc"] = metrics.aurc(error, score)
    for key in method.score:
        if key.startswith("ood/"):
            ood = np.r_[np.zeros(len(score), bool), np.ones(len(method.score[key]), bool)]
            both = np.r_[score, method.score[key]]
            row[f"{key}/auroc"] = metrics.auroc(ood, both)
            row[f"{key}/aupr"] = metrics.average_precision(ood, both)
            row[f"{key}/fpr95"] = metrics.fpr_at_tpr(ood, both)
    return row
