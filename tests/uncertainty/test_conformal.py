"""Conformal prediction sets: the same sets as MAPIE for the same scores, and the coverage
guarantee, on random probabilities here and on a real model's test predictions."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from mnistlab.uncertainty.conformal import (
    SCORES,
    aps_scores,
    calibrate,
    calibrate_by_class,
    class_scores,
    conformal_quantile,
    lac_scores,
    prediction_sets,
    random_splits,
    raps_scores,
    set_summary,
    split_coverages,
)

mapie_classification = pytest.importorskip("mapie.classification")


class _Lookup(ClassifierMixin, BaseEstimator):
    """A 'fitted' classifier whose probabilities are given: X holds row indices."""

    def __init__(self, probabilities=None):
        self.probabilities = probabilities

    def fit(self, X=None, y=None):
        self.classes_ = np.arange(self.probabilities.shape[1])
        return self

    def predict_proba(self, X):
        return self.probabilities[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def _problem(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(10, 0.4), n)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    return probabilities, labels


def _mapie_sets(probabilities, labels, n_cal, score, alpha, random_state, **predict):
    model = mapie_classification.SplitConformalClassifier(
        estimator=_Lookup(probabilities).fit(),
        confidence_level=1 - alpha,
        conformity_score=score,
        prefit=True,
        random_state=random_state,
    )
    index = np.arange(len(labels))[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.conformalize(index[:n_cal], labels[:n_cal])
        return model.predict_set(index[n_cal:], **predict)[1][:, :, 0]


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_lac_sets_equal_mapie(alpha):
    probabilities, labels = _problem()
    q = calibrate(lac_scores(probabilities[:1500]), labels[:1500], alpha)
    ours = prediction_sets(lac_scores(probabilities[1500:]), q)
    theirs = _mapie_sets(probabilities, labels, 1500, "lac", alpha, 0)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_randomized_aps_sets_equal_mapie(alpha):
    """MAPIE draws u from RandomState(seed) at calibration and again at prediction, and uses
    1 - u where we use u: the same draws give the same sets."""
    probabilities, labels = _problem(seed=1)
    seed, n_cal = 7, 1500
    u_cal = 1 - np.random.RandomState(seed).uniform(size=n_cal)
    u_test = 1 - np.random.RandomState(seed).uniform(size=len(labels) - n_cal)
    q = calibrate(aps_scores(probabilities[:n_cal], u_cal), labels[:n_cal], alpha)
    ours = prediction_sets(aps_scores(probabilities[n_cal:], u_test), q)
    theirs = _mapie_sets(
        probabilities,
        labels,
        n_cal,
        "aps",
        alpha,
        seed,
        conformity_score_params={"include_last_label": "randomized"},
    )
    assert (ours == theirs).all(axis=1).mean() > 0.999  # equal up to float ties at q
    np.testing.assert_allclose(ours.sum(axis=1).mean(), theirs.sum(axis=1).mean(), atol=0.01)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_coverage_guarantee_over_random_splits(score, alpha):
    """Mean coverage over many calibration/test splits lies in [1 - a, 1 - a + 1/(n + 1)],
    up to the sampling error of that mean."""
    probabilities, labels = _problem(n=2000, seed=2)
    rng = np.random.default_rng(3)
    n_cal, coverages = 1000, []
    for _ in range(300):
        order = rng.permutation(len(labels))
        cal, test = order[:n_cal], order[n_cal:]
        scores = class_scores(score, probabilities, rng)
        q = calibrate(scores[cal], labels[cal], alpha)
        coverages.append(set_summary(prediction_sets(scores[test], q), labels[test])["coverage"])
    mean, error = np.mean(coverages), 3 * np.std(coverages) / np.sqrt(len(coverages))
    assert 1 - alpha - error <= mean <= 1 - alpha + 1 / (n_cal + 1) + error, (mean, error)


def test_scores_and_sets_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    # APS's scores (cumulative mass up to y) less 1: the same sets, precise near the top
    np.testing.assert_allclose(aps_scores(p), np.array([[0.5, 0.8, 1.0], [1.0, 0.6, 0.9]]) - 1)
    np.testing.assert_allclose(
        aps_scores(p, np.array([0.5, 0.0])), np.array([[0.25, 0.65, 0.9], [0.9, 0.0, 0.6]]) - 1
    )
    # RAPS adds lam per rank above k_reg: the third-ranked class pays lam * 1
    np.testing.assert_allclose(
        raps_scores(p, lam=0.1, k_reg=2), np.array([[0.5, 0.8, 1.1], [1.1, 0.6, 0.9]]) - 1
    )
    assert calibrate(np.array([[0.1], [0.2], [0.3]]), np.zeros(3, int), 0.5) == 0.2
    assert calibrate(np.array([[0.1], [0.2], [0.3]]), np.zeros(3, int), 0.1) == np.inf
    summary = set_summary(np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0]], bool), np.array([0, 1, 2]))
    assert summary["coverage"] == pytest.approx(1 / 3) and summary["empty"] == pytest.approx(1 / 3)
    assert summary["mean_size"] == 1 and summary["singleton"] == pytest.approx(1 / 3)
    assert summary["by_size"][2] == {"share": pytest.approx(1 / 3), "coverage": 1.0}
    with pytest.raises(ValueError, match="alpha must be in"):
        calibrate(p, np.array([0, 1]), 0.0)
    with pytest.raises(ValueError, match="unknown conformal score"):
        class_scores("thr", p, np.random.default_rng(0))


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_coverage_guarantee_on_a_real_models_test_predictions(real_data_dir, tmp_path, alpha):
    """The issue's check: over many random calibration/test splits of a real MNIST model's test
    predictions, the mean coverage lies in [1 - a, 1 - a + 1/(n + 1)], up to its sampling error."""
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig
    from mnistlab.data import load_split
    from mnistlab.models.predict import predict_proba
    from mnistlab.training import train

    spec = RunSpec("mnist", ModelConfig(), TrainConfig(epochs=1, train_size=6000), seed=0)
    model = train(spec, data_dir=real_data_dir, cache_dir=tmp_path).model
    images, labels = load_split("mnist", "test", real_data_dir)
    probabilities = predict_proba(model, images)
    rng = np.random.default_rng(0)
    n_cal, coverages = 5000, {score: [] for score in SCORES}
    for _ in range(200):
        order = rng.permutation(len(labels))
        cal, test = order[:n_cal], order[n_cal:]
        for score in SCORES:
            scores = class_scores(score, probabilities, rng)
            q = calibrate(scores[cal], labels[cal], alpha)
            covered = prediction_sets(scores[test], q)[np.arange(len(test)), labels[test]]
            coverages[score].append(covered.mean())
    for score, values in coverages.items():
        mean, error = np.mean(values), 3 * np.std(values) / np.sqrt(len(values))
        assert 1 - alpha - error <= mean <= 1 - alpha + 1 / (n_cal + 1) + error, (
            score,
            mean,
            error,
        )


def _saturated_float32(n=4000, seed=5):
    """A confident float32 softmax, as a trained MNIST model gives: the top probability rounds
    to exactly 1.0 for a large share of images, while the tail classes keep tiny masses."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    logits = rng.normal(0, 2, (n, 10))
    logits[np.arange(n), labels] += rng.uniform(0, 45, n)  # some images wrong, many very sure
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32), labels


def test_plain_aps_is_well_defined_where_float32_ties_at_one():
    """The issue's case: computed as 'mass above plus p_y', over a tenth of the calibration
    scores are exactly 1.0 and every a gives the same threshold and the same sets. Our form
    gives sets that grow as a shrinks, and a coverage at its promise over random splits."""
    probabilities, labels = _saturated_float32()
    assert np.mean(probabilities.max(axis=1) == 1.0) > 0.3
    naive = np.cumsum(np.sort(probabilities, axis=1)[:, ::-1], axis=1)  # float32 cumulative mass
    rank_of_label = (probabilities > probabilities[np.arange(len(labels)), labels][:, None]).sum(1)
    assert np.mean(naive[np.arange(len(labels)), rank_of_label] == 1.0) > 0.1  # ties at 1.0
    scores = aps_scores(probabilities)
    sizes, coverages = [], []
    for alpha in (0.02, 0.05, 0.1):
        q = calibrate(scores[:2000], labels[:2000], alpha)
        sets = prediction_sets(scores[2000:], q)
        sizes.append(sets.sum(axis=1).mean())
        coverages.append(set_summary(sets, labels[2000:])["coverage"])
    assert sizes[0] > sizes[1] > sizes[2], sizes
    assert coverages[0] > coverages[1] > coverages[2], coverages
    for alpha in (0.05, 0.1):
        splits = random_splits(len(labels), 2000, 300, seed=0)
        mean = np.mean(
            split_coverages(scores[np.arange(len(labels)), labels], [alpha], splits)[alpha]
        )
        assert abs(mean - (1 - alpha)) < 0.005, (alpha, mean)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_class_conditional_sets_equal_mapie_per_class(alpha):
    """Class-conditional (Mondrian) sets are marginal sets calibrated on each class's images:
    MAPIE calibrated on the images of class c gives our sets' column c."""
    probabilities, labels = _problem(n=4000, seed=4)
    n_cal = 2000
    q = calibrate_by_class(lac_scores(probabilities[:n_cal]), labels[:n_cal], alpha)
    ours = prediction_sets(lac_scores(probabilities[n_cal:]), q)
    for c in range(10):
        rows = np.flatnonzero(labels[:n_cal] == c)
        order = np.r_[
            rows, np.arange(n_cal, len(labels))
        ]  # class c's calibration images, then test
        theirs = _mapie_sets(probabilities[order], labels[order], len(rows), "lac", alpha, 0)
        np.testing.assert_array_equal(ours[:, c], theirs[:, c])


def test_class_conditional_coverage_holds_for_every_class():
    """Over random splits, each class's mean coverage sits at 1 - a or above, which the
    marginal sets do not promise (and here do not give: one class is much harder)."""
    probabilities, labels = _problem(n=4000, seed=6)
    hard = labels == 3
    probabilities[hard, 3] *= 0.2  # class 3: its own label gets little probability
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(1)
    per_class, marginal = [], []
    for _ in range(100):
        order = rng.permutation(len(labels))
        cal, test = order[:2000], order[2000:]
        scores = lac_scores(probabilities)
        by_class = prediction_sets(scores[test], calibrate_by_class(scores[cal], labels[cal], 0.1))
        pooled = prediction_sets(scores[test], calibrate(scores[cal], labels[cal], 0.1))
        per_class.append([by_class[labels[test] == c, c].mean() for c in range(10)])
        marginal.append([pooled[labels[test] == c, c].mean() for c in range(10)])
    assert np.min(np.mean(per_class, axis=0)) >= 0.9 - 0.01
    assert np.min(np.mean(marginal, axis=0)) < 0.85


def test_class_thresholds_are_infinite_for_a_class_with_too_few_images():
    scores = lac_scores(np.full((12, 2), 0.5))
    labels = np.array([0] * 11 + [1])
    q = calibrate_by_class(scores, labels, 0.1)
    assert np.isfinite(q[0]) and q[1] == np.inf


def test_split_coverages_equal_the_straightforward_loop():
    """Ranks instead of a sort per split give each split's coverage exactly, ties included."""
    rng = np.random.default_rng(0)
    true = np.round(rng.random(600), 2)  # many ties
    splits = random_splits(len(true), 250, 40, seed=3)
    assert (splits.sum(axis=1) == 250).all() and len({row.tobytes() for row in splits}) == 40
    out = split_coverages(true, [0.001, 0.05, 0.1, 0.5], splits)
    for split, is_cal in enumerate(splits):
        for alpha, coverages in out.items():
            q = conformal_quantile(true[is_cal], alpha)
            assert coverages[split] == pytest.approx(np.mean(true[~is_cal] <= q), abs=1e-12)
    with pytest.raises(ValueError, match="n_cal must be in"):
        random_splits(len(true), 600, 2, seed=0)


def test_size_stratified_coverage_against_mapie():
    """Per set size, the coverage MAPIE's classification_ssc gives; the summary keeps the
    lowest over the non-empty sizes that hold at least 1% of the images."""
    from mapie.metrics.classification import classification_ssc

    probabilities, labels = _problem(n=3000, seed=8)
    q = calibrate(lac_scores(probabilities[:1500]), labels[:1500], 0.1)
    sets = prediction_sets(lac_scores(probabilities[1500:]), q)
    summary = set_summary(sets, labels[1500:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = classification_ssc(labels[1500:], sets)[0]
    for size, entry in summary["by_size"].items():
        assert entry["coverage"] == pytest.approx(theirs[size])
    kept = [theirs[k] for k, v in summary["by_size"].items() if k > 0 and v["share"] >= 0.01]
    assert summary["size_stratified_coverage"] == pytest.approx(min(kept))
