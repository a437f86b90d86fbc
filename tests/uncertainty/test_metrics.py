"""Each metric: a known answer, and scikit-learn's value on random inputs where it has one."""

import numpy as np
import pytest
from sklearn import metrics as sk

from mnistlab.models.predict import softmax
from mnistlab.uncertainty import metrics, scores
from mnistlab.uncertainty.calibration import TemperatureScaler


def _random_probs(rng, n=500, c=10):
    # float64 rows: sklearn clips float32 inputs at float32 epsilon, which would differ from ours
    probs = softmax(rng.normal(size=(n, c)) * 3).astype(np.float64)
    return probs / probs.sum(axis=1, keepdims=True), rng.integers(0, c, n)


def test_accuracy_known_and_length_check():
    assert metrics.accuracy([0, 1, 2, 3], [0, 1, 0, 3]) == 0.75
    with pytest.raises(ValueError, match="different lengths"):
        metrics.accuracy([0, 1], [0])


def test_nll_known_and_sklearn():
    assert metrics.negative_log_likelihood([0, 1], [[0.5, 0.5], [0.25, 0.75]]) == pytest.approx(
        -(np.log(0.5) + np.log(0.75)) / 2
    )
    rng = np.random.default_rng(0)
    probs, labels = _random_probs(rng)
    assert metrics.negative_log_likelihood(labels, probs) == pytest.approx(
        sk.log_loss(labels, probs, labels=range(10)), rel=1e-5
    )


def test_brier_known_and_sklearn_binary():
    assert metrics.brier_score([0], [[1.0, 0.0]]) == 0.0
    assert metrics.brier_score([0], [[0.0, 1.0]]) == 2.0
    rng = np.random.default_rng(1)
    p1 = rng.random(300)
    y = rng.integers(0, 2, 300)
    # The two-class sum counts the error twice: it is 2x sklearn's binary Brier score.
    ours = metrics.brier_score(y, np.c_[1 - p1, p1])
    assert ours == pytest.approx(2 * sk.brier_score_loss(y, p1))


def test_ece_known_answers():
    # Perfectly calibrated: confidence 0.75 in one bin, 3 of 4 right.
    probs = np.array([[0.75, 0.25]] * 4)
    assert metrics.expected_calibration_error([0, 0, 0, 1], probs) == pytest.approx(0.0)
    # Always 0.9 confident, always right: gap 0.1.
    assert metrics.expected_calibration_error([0, 0], [[0.9, 0.1], [0.9, 0.1]]) == pytest.approx(
        0.1
    )
    # Two bins, hand computed: (2/4)*|1-0.95| + (2/4)*|0-0.55|
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    assert metrics.expected_calibration_error([0, 0, 1, 1], probs, n_bins=10) == pytest.approx(
        0.5 * 0.05 + 0.5 * 0.55
    )
    with pytest.raises(ValueError, match="n_bins"):
        metrics.expected_calibration_error([0], [[1.0, 0.0]], n_bins=0)


def test_reliability_curve_matches_sklearn_calibration_curve_binary():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(2)
    confidence = rng.uniform(0.5, 1.0, 2000)
    correct = rng.random(2000) < confidence
    probs = np.c_[confidence, 1 - confidence]
    labels = np.where(correct, 0, 1)
    curve = metrics.reliability_curve(labels, probs, n_bins=10)
    filled = curve["count"] > 0
    true_frac, mean_pred = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(curve["accuracy"][filled], true_frac, atol=1e-12)
    np.testing.assert_allclose(curve["confidence"][filled], mean_pred, atol=1e-12)


def test_auroc_known_answers_with_ties():
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert metrics.auroc([0, 1], [0.5, 0.5]) == 0.5
    # one positive ties one of two negatives and beats the other: (1 + 0.5) / 2
    assert metrics.auroc([1, 0, 0], [0.5, 0.5, 0.1]) == 0.75
    with pytest.raises(ValueError, match="both positives and negatives"):
        metrics.auroc([1, 1], [0.1, 0.2])


@pytest.mark.parametrize(
    "levels", [None, 11, 3]
)  # continuous scores, vote-like (K+1 values), heavy ties
def test_detection_metrics_match_sklearn(levels):
    rng = np.random.default_rng(3)
    positive = rng.random(1500) < 0.2
    score = rng.normal(size=1500) + positive
    if levels:
        score = np.round((score - score.min()) / np.ptp(score) * (levels - 1))
    assert metrics.auroc(positive, score) == pytest.approx(
        sk.roc_auc_score(positive, score), abs=1e-12
    )
    assert metrics.average_precision(positive, score) == pytest.approx(
        sk.average_precision_score(positive, score), abs=1e-12
    )
    fpr, tpr, _ = sk.roc_curve(positive, score)
    assert metrics.fpr_at_tpr(positive, score) == pytest.approx(
        fpr[np.searchsorted(tpr, 0.95)], abs=1e-12
    )
    ours_fpr, ours_tpr = metrics.roc_curve(positive, score)
    assert np.trapezoid(ours_tpr, ours_fpr) == pytest.approx(sk.roc_auc_score(positive, score))


def test_fpr95_known_answer():
    # Positives 0.9, 0.8, 0.7, 0.6 (four): 95% TPR needs all four -> threshold 0.6,
    # where negatives 0.65 and 0.95 are flagged: FPR 2/4.
    positive = [1, 1, 1, 1, 0, 0, 0, 0]
    score = [0.9, 0.8, 0.7, 0.6, 0.95, 0.65, 0.3, 0.1]
    assert metrics.fpr_at_tpr(positive, score) == 0.5


def test_fpr95_takes_the_trusted_side_as_positive():
    """metrics.fpr95: in-distribution (or right answers) positive, trust = -score. In 0.1-0.5,
    out 0.45, 0.6, 0.7, 0.8: trusting 95% of the in-images needs all five (score <= 0.5), which
    trusts one of four out-images. The other convention (out positive) reads 1/5 here."""
    is_out = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1], bool)
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.45, 0.6, 0.7, 0.8])
    assert metrics.fpr95(is_out, score) == 0.25
    assert metrics.fpr_at_tpr(is_out, score) == 0.2


def test_both_studies_report_one_fpr95():
    """The scoreboard's ood/<set>/fpr95_in and the OOD study's fpr95_in: the same number for the
    same model and score."""
    from mnistlab.studies.ood.numbers import detection
    from mnistlab.uncertainty.method import MethodOutput
    from mnistlab.uncertainty.summary import summarize

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 400)
    probabilities = rng.dirichlet(np.ones(10), 400).astype(np.float32)
    test_score, out_score = rng.random(400), rng.random(300) + 0.2
    row = summarize(labels, probabilities, test_score, ood_scores={"ood/x": out_score})
    output = MethodOutput("m", "m", "m", {}, {"test": test_score, "ood/x": out_score})
    assert row["ood/x/fpr95_in"] == detection(output, "ood/x")["fpr95_in"]
    is_out = np.r_[np.zeros(400, bool), np.ones(300, bool)]
    assert row["ood/x/fpr95_in"] == metrics.fpr95(is_out, np.r_[test_score, out_score])
    error = probabilities.argmax(axis=1) != labels
    assert row["err/fpr95_right"] == metrics.fpr95(error, test_score)


def test_aurc_known_answers():
    # Errors scored highest: kept first are all right. Risks at k=1..4: 0, 0, 1/3, 2/4.
    assert metrics.aurc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(
        (0 + 0 + 1 / 3 + 2 / 4) / 4
    )
    # Without ties it equals the mean over k of errors among the k most trusted / k.
    rng = np.random.default_rng(4)
    error, score = rng.random(200) < 0.3, rng.random(200)
    order = np.argsort(score)
    expected = np.mean(np.cumsum(error[order]) / np.arange(1, 201))
    assert metrics.aurc(error, score) == pytest.approx(expected)
    # All tied: one threshold, risk = overall error rate.
    assert metrics.aurc([0, 1, 0, 0], [0.5] * 4) == pytest.approx(0.25)
    coverage, risk = metrics.risk_coverage_curve([0, 1, 0, 0], [0.1, 0.9, 0.2, 0.3])
    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 0, 0, 0.25])


def test_bootstrap_intervals_cover_the_estimate_and_match_naive_resampling():
    rng = np.random.default_rng(5)
    positive = rng.random(800) < 0.3
    score = np.round(rng.normal(size=800) + positive, 1)
    low, high = metrics.bootstrap_auroc_interval(positive, score, n_boot=300, seed=0)
    assert low < metrics.auroc(positive, score) < high
    naive = []
    r = np.random.default_rng(0)
    for _ in range(300):
        idx = r.integers(0, 800, 800)
        naive.append(sk.roc_auc_score(positive[idx], score[idx]))
    assert (low, high) == pytest.approx(tuple(np.quantile(naive, [0.025, 0.975])), abs=1e-9)
    correct = rng.random(1000) < 0.9
    a_low, a_high = metrics.bootstrap_mean_interval(correct, n_boot=2000, seed=0)
    assert a_low < correct.mean() < a_high and a_high - a_low == pytest.approx(
        4 * np.sqrt(0.09 / 1000), rel=0.25
    )


def test_scores_sign_convention():
    confident = np.array([[0.98, 0.01, 0.01]])
    unsure = np.array([[0.4, 0.35, 0.25]])
    for fn in (scores.max_softmax, scores.entropy, scores.margin):
        assert fn(unsure)[0] > fn(confident)[0]
    assert (
        scores.energy(np.array([[1.0, 0.0, 0.0]]))[0]
        > scores.energy(np.array([[9.0, 0.0, 0.0]]))[0]
    )
    assert scores.energy(np.array([[0.0, 0.0]]))[0] == pytest.approx(-np.log(2))
    assert scores.vote_share([1.0, 0.6]).tolist() == pytest.approx([0.0, 0.4])


def test_temperature_scaler_recovers_a_known_temperature():
    rng = np.random.default_rng(6)
    true_logits = rng.normal(size=(5000, 10)) * 2
    labels = np.array([rng.choice(10, p=p) for p in softmax(true_logits)])
    scaler = TemperatureScaler().fit(true_logits * 3.0, labels)  # overconfident by 3x
    assert scaler.temperature_ == pytest.approx(3.0, rel=0.08)
    with pytest.raises(ValueError, match="fit"):
        TemperatureScaler().transform(true_logits)
