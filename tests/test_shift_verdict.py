"""The shift study's verdicts on made-up methods whose behaviour under shift is known: each
statement must come out as built, and flip when the numbers flip."""

import numpy as np
import pytest

from mnistlab.studies.shift.verdict import combined, dataset_verdicts, short
from mnistlab.uncertainty.methods import MethodOutput

N, CLASSES = 600, 10
SHIFTED = {"rotation": ("rotation/45", "rotation/90"), "corruption": ("corruption/fog",)}


def _probabilities(labels, accuracy, confidence, rng):
    """Right with probability `accuracy`; `confidence` on the predicted class, the rest spread."""
    right = rng.random(len(labels)) < accuracy
    predicted = np.where(right, labels, (labels + rng.integers(1, CLASSES, len(labels))) % CLASSES)
    p = np.full((len(labels), CLASSES), (1 - confidence) / (CLASSES - 1))
    p[np.arange(len(labels)), predicted] = confidence
    return p


def _method(name, labels, rng, *, clean, shifted):
    """clean / shifted: (accuracy, confidence) on the clean set and on every shifted set."""
    probabilities = {"test": _probabilities(labels, *clean, rng)}
    for keys in SHIFTED.values():
        for key in keys:
            probabilities[key] = _probabilities(labels, *shifted, rng)
    score = {k: 1 - p.max(axis=1) for k, p in probabilities.items()}
    return MethodOutput(name, "test", probabilities, score)


def _replicates(ensemble_shifted=(0.6, 0.75), seeds=2):
    labels = np.random.default_rng(0).integers(0, CLASSES, N)
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed + 1)
        out.append(
            [
                _method("max softmax", labels, rng, clean=(0.9, 0.9), shifted=(0.5, 0.95)),
                _method("temperature scaling", labels, rng, clean=(0.9, 0.9), shifted=(0.5, 0.9)),
                # a little better than softmax under shift, far short of the ensemble
                _method(
                    "weight dropout p=0.03 mean prob",
                    labels,
                    rng,
                    clean=(0.9, 0.88),
                    shifted=(0.5, 0.8),
                ),
                # unsure of everything: well "calibrated" under shift for the wrong reason
                _method(
                    "weight dropout p=0.6 mean prob",
                    labels,
                    rng,
                    clean=(0.9, 0.3),
                    shifted=(0.5, 0.45),
                ),
                _method(
                    "deep ensemble (M=5) mean prob",
                    labels,
                    rng,
                    clean=(0.92, 0.92),
                    shifted=ensemble_shifted,
                ),
            ]
        )
    return out, labels


def test_each_statement_comes_out_as_built():
    replicates, labels = _replicates()
    result = dataset_verdicts(replicates, labels, SHIFTED, n_boot=200, seed=0)
    statements = result["statements"]
    assert result["excluded"] == ["weight dropout p=0.6 mean prob"]
    assert statements["calibration_degrades"]["verdict"] == "supported"
    assert statements["ensemble_best"]["verdict"] == "supported"
    assert statements["temperature_breaks"]["verdict"] == "supported"
    per_p = statements["weight_dropout_like_ensemble"]["per_p"]
    assert per_p["weight dropout p=0.03 mean prob"] == "mixed"  # helps, less than the ensemble
    assert per_p["weight dropout p=0.6 mean prob"].startswith("not supported (no contender")
    assert statements["weight_dropout_like_ensemble"]["verdict"] == "mixed"
    # The excluded method's own numbers would have refuted statement 1: its ECE falls under shift.
    assert (
        "weight dropout p=0.6 | rotation" not in statements["calibration_degrades"]["comparisons"]
    )
    rise = statements["calibration_degrades"]["comparisons"]["max softmax | rotation"]
    assert rise["difference"] == pytest.approx(0.45 - 0.0, abs=0.06) and rise["low"] > 0


def test_an_ensemble_that_does_worse_under_shift_refutes_statement_two():
    replicates, labels = _replicates(ensemble_shifted=(0.45, 0.97))
    statements = dataset_verdicts(replicates, labels, SHIFTED, n_boot=200, seed=0)["statements"]
    assert statements["ensemble_best"]["verdict"] == "not supported"
    # and weight dropout, better than softmax and now not short of the ensemble, is "like" one
    assert statements["weight_dropout_like_ensemble"]["verdict"] == "supported"


def test_verdicts_combine_over_data_sets():
    replicates, labels = _replicates()
    good = dataset_verdicts(replicates, labels, SHIFTED, n_boot=100, seed=0)
    bad_replicates, _ = _replicates(ensemble_shifted=(0.45, 0.97))
    bad = dataset_verdicts(bad_replicates, labels, SHIFTED, n_boot=100, seed=0)
    both = combined({"mnist": good, "fashion-mnist": bad})
    assert both["ensemble_best"]["verdict"] == "mixed"
    assert both["ensemble_best"]["per_dataset"] == {
        "mnist": "supported",
        "fashion-mnist": "not supported",
    }
    assert both["temperature_breaks"]["verdict"] == "supported"


def test_short_names():
    assert short("deep ensemble (M=5) mean prob") == "deep ensemble"
    assert short("MC dropout (rate 0.2, K=100) mean prob") == "MC dropout"
    assert short("weight dropout p=0.2 mean prob") == "weight dropout p=0.2"
