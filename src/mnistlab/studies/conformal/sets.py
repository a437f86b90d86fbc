"""Every conformal number of one method on one seed replicate: its marginal sets (test and
rotated images), class-conditional sets, the exchangeable control and the recalibration on
rotated images, for every score and level a."""

from __future__ import annotations

import numpy as np

from mnistlab.seeds import stream
from mnistlab.studies.conformal import promise
from mnistlab.studies.conformal.views import ROTATIONS
from mnistlab.uncertainty.conformal import (
    SCORES,
    calibrate,
    calibrate_by_class,
    class_scores,
    prediction_sets,
    set_summary,
    true_label_scores,
)


def _marginal_numbers(scores: dict, labels, rotated_labels, cal_labels, alpha):
    """One method, one score's class scores per set, one a: the test summary and the coverage
    per rotation angle, and which test images the sets cover (for the bootstrap intervals)."""
    q = calibrate(scores["calibration"], cal_labels, alpha)
    sets = prediction_sets(scores["test"], q)
    out = set_summary(sets, labels)
    out["q"] = q
    for angle in ROTATIONS:
        rotated = set_summary(prediction_sets(scores[f"rotation/{angle}"], q), rotated_labels)
        out[f"rotation/{angle}/coverage"] = rotated["coverage"]
        out[f"rotation/{angle}/mean_size"] = rotated["mean_size"]
    return out, sets[np.arange(len(labels)), labels]


def method_numbers(method, labels, sample, cal_labels, control_splits, *, seed, alphas) -> tuple:
    """Every conformal number of one method with probabilities on one replicate, and the
    test images each (score, a) covers. sample: the test images rotated for the shift check
    and the recalibration; control_splits: the exchangeable control's calibration parts of
    the test set (promise.control_splits)."""
    rotated_labels = labels[sample]
    # The randomized scores' uniforms and the recalibration's splits are the method's own
    # streams (keyed by its key): its numbers do not depend on which other methods run.
    rng = stream(seed, "conformal/randomized-scores", method.key)
    # Each score once per set, shared by every a: the sets of one image are then nested
    # across a (the same uniform draws), and nothing is sorted three times.
    scores = {
        score: {k: class_scores(score, p, rng) for k, p in method.probabilities.items()}
        for score in SCORES
    }
    numbers = {"sets": {}, "class_sets": {}, "control": {}, "recalibration": {}}
    covered = {}
    for score in SCORES:
        numbers["sets"][score] = {}
        for alpha in alphas:
            entry, covered[score, f"{alpha:g}"] = _marginal_numbers(
                scores[score], labels, rotated_labels, cal_labels, alpha
            )
            numbers["sets"][score][f"{alpha:g}"] = entry
        numbers["class_sets"][score] = {
            f"{alpha:g}": set_summary(
                prediction_sets(
                    scores[score]["test"],
                    calibrate_by_class(scores[score]["calibration"], cal_labels, alpha),
                ),
                labels,
            )
            for alpha in alphas
        }
        numbers["control"][score] = promise.control(
            true_label_scores(scores[score]["test"], labels), alphas, control_splits
        )
    lac, recal_rng = scores["lac"], stream(seed, "conformal/recalibration", method.key)
    numbers["recalibration"]["lac"] = {
        f"{alpha:g}": {
            f"{angle}": promise.recalibration(
                lac[f"rotation/{angle}"],
                rotated_labels,
                numbers["sets"]["lac"][f"{alpha:g}"]["q"],
                alpha,
                recal_rng,
            )
            for angle in promise.RECALIBRATION_ANGLES
        }
        for alpha in alphas
    }
    return numbers, covered
