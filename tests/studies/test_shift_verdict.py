"""The shift study's verdicts on made-up methods whose behaviour under shift is known: each
statement must come out as built, and flip when the numbers flip."""

import numpy as np
import pytest

from mnistlab.studies.shift.verdict import combined, dataset_verdicts
from mnistlab.uncertainty.method import MethodOutput

N, CLASSES = 600, 10
SHIFTED = {"rotation": ("rotation/45", "rotation/90"), "corruption": ("corruption/fog",)}


def _probabilities(labels, accuracy, confidence, rng):
    """Right with probability `accuracy`; `confidence` on the predicted class, the rest spread."""
    right = rng.random(len(labels)) < accuracy
    predicted = np.where(right, labels, (labels + rng.integers(1, CLASSES, len(labels))) % CLASSES)
    p = np.full((len(labels), CLASSES), (1 - confidence) / (CLASSES - 1))
    p[np.arange(len(labels)), predicted] = confidence
    return p


FAMILIES = {"msp": "single model", "temperature": "single model", "ensemble": "deep ensemble"}
LABELS = {"msp": "max softmax", "temperature": "temperature scaling", "ensemble": "deep ensemble"}


def _method(key, labels, rng, *, clean, shifted):
    """clean / shifted: (accuracy, confidence) on the clean set and on every shifted set."""
    probabilities = {"test": _probabilities(labels, *clean, rng)}
    for set_keys in SHIFTED.values():
        for set_key in set_keys:
            probabilities[set_key] = _probabilities(labels, *shifted, rng)
    score = {k: 1 - p.max(axis=1) for k, p in probabilities.items()}
    family = FAMILIES.get(key, "weight dropout")
    label = LABELS[key] if key in LABELS else f"weight dropout p={key.split('-')[1]}"
    return MethodOutput(key, f"{label} (display)", family, probabilities, score, label=label)


def _replicates(ensemble_shifted=(0.6, 0.75), seeds=2):
    labels = np.random.default_rng(0).integers(0, CLASSES, N)
    out = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed + 1)
        out.append(
            [
                _method("msp", labels, rng, clean=(0.9, 0.9), shifted=(0.5, 0.95)),
                _method("temperature", labels, rng, clean=(0.9, 0.9), shifted=(0.5, 0.9)),
                # a little better than softmax under shift, far short of the ensemble
                _method(
                    "wdrop-0.03-mean",
                    labels,
                    rng,
                    clean=(0.9, 0.88),
                    shifted=(0.5, 0.8),
                ),
                # unsure of everything: well "calibrated" under shift for the wrong reason
                _method(
                    "wdrop-0.6-mean",
                    labels,
                    rng,
                    clean=(0.9, 0.3),
                    shifted=(0.5, 0.45),
                ),
                _method(
                    "ensemble",
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
    assert result["excluded"] == ["wdrop-0.6-mean"]
    assert statements["calibration_degrades"]["verdict"] == "supported"
    assert statements["ensemble_best"]["verdict"] == "supported"
    assert statements["temperature_breaks"]["verdict"] == "supported"
    per_p = statements["weight_dropout_like_ensemble"]["per_p"]
    assert per_p["wdrop-0.03-mean"] == "mixed"  # helps, less than the ensemble
    assert per_p["wdrop-0.6-mean"].startswith("not supported (no contender")
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


def test_verdicts_select_methods_by_key_not_display_name():
    """Renaming every method (display name and label) changes no verdict and no interval."""
    replicates, labels = _replicates()
    before = dataset_verdicts(replicates, labels, SHIFTED, n_boot=100, seed=0)
    for methods in replicates:
        for m in methods:
            m.name, m.label = f"renamed {m.key}", f"R{m.key}"
    after = dataset_verdicts(replicates, labels, SHIFTED, n_boot=100, seed=0)
    assert after["excluded"] == before["excluded"]
    for key, statement in before["statements"].items():
        renamed = after["statements"][key]
        assert renamed["verdict"] == statement["verdict"]
        assert [c["difference"] for c in renamed["comparisons"].values()] == [
            c["difference"] for c in statement["comparisons"].values()
        ]
