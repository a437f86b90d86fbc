"""Whether the conformal promise is kept, and why not: the exchangeable control, the
two-sample test, recalibration under shift, bootstrap intervals on coverage, and the text the
report writes from them (each sentence's wording follows its numbers)."""

import numpy as np
import pytest

from mnistlab.studies.conformal import promise, promise_views
from mnistlab.studies.conformal.views import ROTATIONS, _findings
from mnistlab.uncertainty.conformal import calibrate, lac_scores
from mnistlab.uncertainty.paired import mean_intervals, resample_weights


def _probabilities(n, seed, sharpness=0.4):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(10, sharpness), n)
    labels = np.array([rng.choice(10, p=row) for row in p])
    return p, labels


def test_mean_intervals_equal_the_straightforward_two_stage_bootstrap():
    rng = np.random.default_rng(0)
    values = (rng.random((3, 500, 4)) < [0.9, 0.5, 0.99, 0.2]).astype(np.float32)
    low, high = mean_intervals(values, n_boot=200, seed=7)
    draws = np.random.default_rng([7, 3141])
    weights = resample_weights(500, 200, draws)
    seeds = draws.integers(0, 3, size=(200, 3))
    boot = np.array(
        [
            [
                np.mean([weights[b] @ values[s, :, k] / weights[b].sum() for s in seeds[b]])
                for k in range(4)
            ]
            for b in range(200)
        ]
    )
    np.testing.assert_allclose(low, np.quantile(boot, 0.025, axis=0), rtol=1e-5)
    np.testing.assert_allclose(high, np.quantile(boot, 0.975, axis=0), rtol=1e-5)
    assert (low < values.mean(axis=(0, 1))).all() and (values.mean(axis=(0, 1)) < high).all()


def test_control_sits_at_its_promise_on_exchangeable_scores():
    p, labels = _probabilities(4000, 1)
    true = lac_scores(p)[np.arange(len(labels)), labels]
    out = promise.control(true, [0.05, 0.1], promise.control_splits(len(true), 2000, seed=0))
    for a in ("0.05", "0.1"):
        target = 1 - float(a)
        assert abs(out[a]["coverage"] - target) < 0.005
        assert out[a]["coverage_p05"] < out[a]["coverage"] < out[a]["coverage_p95"]


def test_exchangeability_tells_a_harder_test_set_from_an_exchangeable_one():
    cal, cal_labels = _probabilities(2000, 2, sharpness=0.2)
    same, same_labels = _probabilities(4000, 3, sharpness=0.2)
    harder, harder_labels = _probabilities(4000, 4, sharpness=0.6)  # flatter: less sure, more wrong
    alike = promise.exchangeability(cal, cal_labels, same, same_labels)
    differ = promise.exchangeability(cal, cal_labels, harder, harder_labels)
    assert alike["ks_p_value"] > 0.01 and differ["ks_p_value"] < 1e-6
    assert differ["test_mean_score"] > differ["calibration_mean_score"]
    assert differ["test_accuracy"] < differ["calibration_accuracy"]
    right = harder.argmax(axis=1) == harder_labels
    assert differ["test_first_half_accuracy"] == pytest.approx(right[:2000].mean())


def test_recalibration_on_shifted_images_restores_the_promise():
    """Sets calibrated on clean data under-cover shifted (flatter) data; recalibrated on n of
    the shifted images and scored on the others, they cover 1 - a on average, at every n."""
    clean, clean_labels = _probabilities(2000, 5, sharpness=0.2)
    shifted, shifted_labels = _probabilities(300, 6, sharpness=2.0)
    q = calibrate(lac_scores(clean), clean_labels, 0.1)
    rng = np.random.default_rng(0)
    runs = [
        promise.recalibration(lac_scores(shifted), shifted_labels, q, 0.1, rng) for _ in range(5)
    ]
    assert runs[0]["coverage/clean"] < 0.8
    sizes = [n for n in promise.RECALIBRATION_SIZES if n <= 300 - promise.MIN_SCORED]
    mean = np.mean([[r[f"coverage/{n}"] for n in sizes] for r in runs], axis=0)
    # small n: the guarantee is [1 - a, 1 - a + 1 / (n + 1)]; 25 images give 24/26 = 0.923
    upper = 0.9 + 1 / (np.array(sizes) + 1)
    assert np.all(mean > 0.9 - 0.01) and np.all(mean < upper + 0.01), mean
    assert runs[0]["mean_size/200"] > runs[0]["mean_size/clean"]  # the promise costs sizes
    assert "coverage/500" not in runs[0]  # 300 images: 500 would leave none to score


def _entry(tail, control, *, p_value, cal_score=0.02, test_score=0.03, angles=None):
    """A conformal results entry holding what the paragraphs read, for max softmax at a=0.1."""
    held = {a: 0.89 for a in ROTATIONS}  # every angle tried, holding unless given
    rotation = {f"rotation/{a}/coverage": c for a, c in {**held, **(angles or {})}.items()}
    sets = {"coverage": tail, "mean_size": 1.1, "worst_class_coverage": 0.79, **rotation}
    return {
        "calibration_size": 2500,
        "control_splits": 200,
        "methods": [{"key": "msp", "name": "max softmax", "label": "max softmax"}],
        "exchangeability": {
            "ks_p_value": p_value,
            "ks_statistic": 0.05,
            "calibration_accuracy": 0.985,
            "test_accuracy": 0.978,
            "test_first_half_accuracy": 0.973,
            "test_second_half_accuracy": 0.983,
            "calibration_mean_score": cal_score,
            "test_mean_score": test_score,
        },
        "numbers": {
            "msp": {
                "sets": {"lac": {"0.1": sets}},
                "class_sets": {"lac": {"0.1": {"worst_class_coverage": 0.86, "mean_size": 1.3}}},
                "control": {"lac": {"0.1": {"coverage": control}}},
            }
        },
    }


def test_the_promise_paragraph_follows_its_numbers():
    missed = promise_views.promise_paragraph("mnist", _entry(0.876, 0.9006, p_value=1e-9), "0.1")
    assert "sits at its promise" in missed and "misses by 0.024" in missed
    assert "less sure of the right class" in missed and "here they are not" in missed
    assert "0.0300 against 0.0200" in missed
    assert "p < 1e-4" in missed
    undetected = promise_views.promise_paragraph("mnist", _entry(0.876, 0.90, p_value=0.4), "0.1")
    assert "cannot tell the two apart" in undetected and "less sure" not in undetected
    kept = promise_views.promise_paragraph("fashion", _entry(0.895, 0.901, p_value=0.3), "0.1")
    assert "keeps it too" in kept and "misses" not in kept
    noisy = promise_views.promise_paragraph("fashion", _entry(0.895, 0.92, p_value=0.3), "0.1")
    assert "Even the exchangeable control" in noisy and "sits at its promise" not in noisy
    over = promise_views.promise_paragraph("fashion", _entry(0.95, 0.90, p_value=0.3), "0.1")
    assert "over-covers by 0.050" in over


def test_the_class_paragraph_states_gain_and_cost():
    text = promise_views.class_paragraph("mnist", _entry(0.876, 0.90, p_value=0.3), "0.1")
    assert (
        "0.790" in text and "0.860 (+0.070)" in text and "1.30 classes against 1.10 (+0.20)" in text
    )


def test_the_rotation_sentence_never_names_one_angle_twice():
    """The issue's sentence read 'from 30° (earliest) to 30° (latest)'."""
    one = _findings("mnist", _entry(0.89, 0.9, p_value=0.3, angles={0: 0.89, 30: 0.7}), ["0.1"])
    assert "at 30° for 1 of 1 methods." in one and "(earliest)" not in one
    none = _findings("mnist", _entry(0.89, 0.9, p_value=0.3, angles={0: 0.89, 30: 0.88}), ["0.1"])
    assert none.endswith("at no angle tried.")
    entry = _entry(0.89, 0.9, p_value=0.3, angles={30: 0.7, **{a: 0.5 for a in ROTATIONS[2:]}})
    entry["numbers"]["temperature"] = {
        "sets": {
            "lac": {
                "0.1": {
                    **entry["numbers"]["msp"]["sets"]["lac"]["0.1"],
                    "rotation/30/coverage": 0.88,
                }
            }
        }
    }
    entry["methods"].append({"key": "temperature", "name": "temperature", "label": "temperature"})
    two = _findings("mnist", entry, ["0.1"])
    assert "between 30° and 60°, depending on the method." in two
