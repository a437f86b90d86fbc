"""Is method A better than method B? A paired bootstrap over test images, combined over seeds.

Two methods scored on the same test images share most of their noise: an image that is hard
for one is hard for the other. Comparing two separate intervals ignores that and misses real
differences; the paired difference does not. Training noise is a second source: each seed is a
new trained model. The two-stage bootstrap below takes both into account (the hierarchical
bootstrap of Bouthillier et al., "Accounting for variance in machine learning benchmarks",
MLSys 2021): each resample draws the seeds with replacement, and one resample of the test
images that every seed and both methods share; the statistic is the mean over the drawn seeds
of A's metric minus B's. With one seed it is the plain paired bootstrap over images.

Resamples are multinomial counts (weights) over images, so a metric is computed for many
resamples at once, with no re-sorting (weighted_accuracy, weighted_auroc).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from mnistlab.seeds import stream

CHUNK = 128  # resamples per vectorized block: (CHUNK, N) float64 arrays stay small


def resample_weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) counts: how often each of n items is drawn in each resample of size n."""
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    # float32 holds these counts, and their sums, exactly; half the memory traffic of float64.
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float32)


def weighted_accuracy(correct: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Accuracy under each row of weights: (B,) from correct (N,) and weights (B, N)."""
    return weights @ np.asarray(correct, weights.dtype) / weights.sum(axis=1)


def weighted_auroc(
    is_positive: np.ndarray, score: np.ndarray, weights: np.ndarray, columns=None
) -> np.ndarray:
    """AUROC (ties count 1/2) under each row of weights: (B,). Equal to sklearn's
    roc_auc_score(is_positive, score, sample_weight=w) for each row w (tested). columns: the
    items' columns of `weights` when it holds more (several sets resampled together).

    The pairs are counted from the smaller class: its weights are cumulated in score order
    (a (B, smaller class) cumulative sum), and the larger class's weights are binned by where
    each of its items falls in that order (half at the first small item above it, half past
    its ties): a sparse matrix product that reads the weights in place. Nothing is sorted or
    cumulated per row over all items: 1,000 OOD images against 10,000 test images cumulate
    1,000 numbers per resample.
    """
    from scipy import sparse

    is_positive = np.asarray(is_positive, bool)
    score = np.asarray(score, np.float64)
    columns = np.arange(len(score)) if columns is None else np.asarray(columns)
    small_is_positive = is_positive.sum() <= (~is_positive).sum()
    small = np.flatnonzero(is_positive == small_is_positive)
    large = np.flatnonzero(is_positive != small_is_positive)
    order = small[np.argsort(score[small], kind="stable")]
    ranked = score[order]
    at_most = np.searchsorted(ranked, score[large], side="right")  # small items <= each large
    below = np.searchsorted(ranked, score[large], side="left")  # small items < each large
    # bins[k, column of large item n] = 1/2 for k = below[n] and for k = at_most[n]:
    # binned[b, k] @ cumulative[b, k] is then the small weight below each large item, ties
    # counted half, summed over the large items with their weights. float32, as the weights
    # are: halves of counts sum exactly in it, and a float64 matrix made scipy convert every
    # block of weights first (1.7x the time of the whole AUROC).
    bins = sparse.csr_matrix(
        (
            np.full(2 * len(large), 0.5, np.float32),
            (np.r_[below, at_most], np.tile(columns[large], 2)),
        ),
        shape=(len(order) + 1, weights.shape[1]),
    )
    order = columns[order]
    out = np.empty(len(weights))

    def block(begin: int) -> None:
        w = weights[begin : begin + CHUNK]
        cumulative = np.zeros((len(w), len(order) + 1))
        np.cumsum(w[:, order], axis=1, out=cumulative[:, 1:])
        binned = np.asarray(bins @ w.T).T  # (rows, len(order) + 1)
        below_sum = (binned * cumulative).sum(axis=1)
        total, large_total = cumulative[:, -1], binned.sum(axis=1)
        # With positives small, each negative counts the positives above it, else each
        # positive counts the negatives below it
        numerator = total * large_total - below_sum if small_is_positive else below_sum
        with np.errstate(invalid="ignore", divide="ignore"):
            out[begin : begin + CHUNK] = numerator / (total * large_total)

    # Blocks of resamples are independent and NumPy and scipy release the GIL in their loops:
    # a thread per core (the report's bootstrap otherwise leaves the second core idle).
    list(_threads().map(block, range(0, len(weights), CHUNK)))
    return out


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="bootstrap")


os.register_at_fork(after_in_child=_threads.cache_clear)  # a forked child has no such threads


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of per-image values (N,) under each row of weights (B, N): (B,). Brier score and
    NLL are means of per-image terms."""
    return weights @ np.asarray(values, weights.dtype) / weights.sum(axis=1)


def weighted_ece(
    correct: np.ndarray, confidence: np.ndarray, weights: np.ndarray, *, n_bins: int = 15
) -> np.ndarray:
    """Expected calibration error (equal-width bins on the confidence) under each row of
    weights: (B,). Equal to metrics.expected_calibration_error on the resampled images:
    ECE = sum over bins of |sum_i w_i (correct_i - confidence_i)| / sum_i w_i."""
    confidence = np.asarray(confidence, np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    gap = np.zeros((len(confidence), n_bins))
    gap[np.arange(len(confidence)), index] = np.asarray(correct, np.float64) - confidence
    return np.abs(weights @ gap).sum(axis=1) / weights.sum(axis=1)


# A metric of one method on one seed, under each row of a (B, N) weight matrix: (B,) values.
Metric = Callable[[np.ndarray], np.ndarray]


@cache
def full_set_weights(n_items: int) -> np.ndarray:
    """(1, n_items) ones: the full test set as one "resample". One read-only array per size,
    so that a cached() metric (a reference method, each set of a group) is computed on the
    full set once for all its comparisons, not once per comparison (2,000 AUROCs of ~1.5 ms
    in the OOD study's comparisons, mostly of the same few metrics)."""
    ones = np.ones((1, n_items))
    ones.flags.writeable = False
    return ones


def mean_of_defined(values: np.ndarray) -> np.ndarray:
    """np.nanmean over the last axis, bit for bit and in the same dtype, NaN where a row has
    no defined value, without the warning nanmean prints then (a metric undefined on every
    seed a resample drew, e.g. an AUROC on a resample without one positive: that resample is
    dropped below). As nanmean: the sum in the values' dtype, divided by the count into it."""
    defined = ~np.isnan(values)
    total = np.where(defined, values, 0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(total, defined.sum(axis=-1), out=total, casting="unsafe")


def paired_difference(
    metrics_a: list[Metric],
    metrics_b: list[Metric],
    n_items: int,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    weights: np.ndarray | None = None,
) -> dict:
    """Mean over seeds of metric(A) - metric(B), with its two-stage paired bootstrap interval.

    metrics_a[s], metrics_b[s]: the two methods' metric on seed s, as functions of image
    weights (see Metric); all seeds are scored on the same n_items images. Returns the
    difference on the full test set, its interval, the per-seed differences, and the
    two-sided bootstrap p-value (twice the smaller share of resamples on either side of 0).
    weights: image resamples to use (from resample_weights), so that many comparisons share
    them (and a cached() metric is computed once for all of them); default: n_boot new ones.
    """
    if len(metrics_a) != len(metrics_b) or not metrics_a:
        raise ValueError("give both methods' metric for the same, non-empty list of seeds")
    rng = stream(seed, "paired/difference-resamples")
    seeds = len(metrics_a)
    full = full_set_weights(n_items)
    per_seed = [float(a(full)[0] - b(full)[0]) for a, b in zip(metrics_a, metrics_b, strict=True)]
    if weights is None:
        weights = resample_weights(n_items, n_boot, rng)
    n_boot = len(weights)
    # (seeds, B): every seed and both methods see the same image resample b.
    resampled = np.stack(
        [a(weights) - b(weights) for a, b in zip(metrics_a, metrics_b, strict=True)]
    )
    if seeds > 1:
        drawn = rng.integers(0, seeds, size=(n_boot, seeds))
        boot = mean_of_defined(resampled[drawn, np.arange(n_boot)[:, None]])
    else:
        boot = resampled[0]
    boot = boot[np.isfinite(boot)]
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    p_value = min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0)))
    return {
        "difference": float(np.mean(per_seed)),
        "low": float(low),
        "high": float(high),
        "per_seed": per_seed,
        "p_value": float(p_value),
        "seeds": seeds,
        "resamples": int(n_boot),
    }


def judgement(result: dict, *, better: str = "better", worse: str = "worse") -> str:
    """'better' / 'worse' only when the interval excludes zero, else 'no clear difference'."""
    if result["low"] > 0:
        return better
    if result["high"] < 0:
        return worse
    return "no clear difference"


def cached(metric: Metric) -> Metric:
    """The metric, computed once per weight matrix: the reference method of many comparisons."""
    memo: list = []  # [(weights, values)]: identity, not equality, so no copy is compared

    def values(weights: np.ndarray) -> np.ndarray:
        for seen, result in memo:
            if seen is weights:
                return result
        memo.append((weights, metric(weights)))
        return memo[-1][1]

    return values


def accuracy_metric(correct: np.ndarray) -> Metric:
    return lambda weights: weighted_accuracy(correct, weights)


def auroc_metric(is_positive: np.ndarray, score: np.ndarray) -> Metric:
    return lambda weights: weighted_auroc(is_positive, score, weights)


def mean_intervals(
    per_image: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Two-stage bootstrap intervals for K means at once (coverage of many sets, say).

    per_image: (seeds, N, K) values per seed, image and quantity; the statistic is the mean
    over seeds of each seed's mean over images. Each resample draws the seeds with replacement
    and one image resample shared by every seed and quantity, as paired_difference does.
    Returns (low, high), each (K,)."""
    per_image = np.asarray(per_image, np.float32)
    seeds, n_items, k = per_image.shape
    rng = stream(seed, "paired/intervals-resamples")
    weights = resample_weights(n_items, n_boot, rng)
    # (B, seeds, K): one matrix product for every seed and quantity
    resampled = (weights @ per_image.transpose(1, 0, 2).reshape(n_items, seeds * k)).reshape(
        n_boot, seeds, k
    ) / weights.sum(axis=1)[:, None, None]
    drawn = rng.integers(0, seeds, size=(n_boot, seeds))
    boot = resampled[np.arange(n_boot)[:, None], drawn].mean(axis=1)  # (B, K)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return low, high
