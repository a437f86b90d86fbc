"""The OOD study's numbers: AUROC and FPR at 95% TPR per method and set over seeds, and each
method's paired difference to max softmax, per set and per group of sets (near, far).

FPR at 95% TPR (fpr95_in) is OpenOOD's, the one every study reports (metrics.fpr95): the share
of out-of-distribution images still trusted when the threshold keeps 95% of the
in-distribution ones (in-distribution positive). A group's AUROC is the mean of its sets'
AUROCs (OpenOOD's near and far numbers); its paired interval resamples every set's images and
the test images together, one resample shared by every method and seed (uncertainty/paired.py).
"""

from __future__ import annotations

import numpy as np

from mnistlab.seeds import stream
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.scoreboard.verdict import REFERENCE
from mnistlab.uncertainty import MethodOutput, metrics
from mnistlab.uncertainty.paired import (
    cached,
    judgement,
    paired_difference,
    resample_weights,
    weighted_auroc,
)


def _in_out(method: MethodOutput, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(is out of distribution, score) of the test images followed by set `key`'s."""
    test, out = method.score["test"], method.score[key]
    return np.r_[np.zeros(len(test), bool), np.ones(len(out), bool)], np.r_[test, out]


def detection(method: MethodOutput, key: str) -> dict:
    """AUROC (out = positive) and FPR at 95% TPR (in = positive: metrics.fpr95)."""
    is_out, score = _in_out(method, key)
    return {
        "auroc": metrics.auroc(is_out, score),
        "fpr95_in": metrics.fpr95(is_out, score),
    }


def over_sets(replicates: list[list[MethodOutput]], groups: dict) -> dict:
    """{method key: {set key or group name: numbers over seeds}}; groups: {set key: group}."""
    out = {}
    for i, method in enumerate(replicates[0]):
        per_set = {key: [detection(methods[i], key) for methods in replicates] for key in groups}
        entry = {key: over_seeds(values) for key, values in per_set.items()}
        for group in dict.fromkeys(groups.values()):
            members = [key for key, g in groups.items() if g == group]
            entry[group] = over_seeds(
                [
                    {
                        k: float(np.mean([per_set[key][r][k] for key in members]))
                        for k in ("auroc", "fpr95_in")
                    }
                    for r in range(len(replicates))
                ]
            )
        out[method.key] = entry
    return out


def compare_with_softmax(
    replicates: list[list[MethodOutput]], groups: dict, *, n_boot: int, seed: int
) -> dict:
    """{method key: {set key or group: paired AUROC difference to max softmax}}: the mean over
    seeds, its 95% two-stage bootstrap interval and 'verdict'."""
    keys = list(groups)
    n_test = len(replicates[0][0].score["test"])
    sizes = [len(replicates[0][0].score[key]) for key in keys]
    starts = n_test + np.cumsum([0, *sizes[:-1]])
    rng = stream(seed, "ood/paired-resamples")
    weights = np.concatenate([resample_weights(n, n_boot, rng) for n in (n_test, *sizes)], axis=1)
    n_items = weights.shape[1]

    def set_metric(method: MethodOutput, k: int):
        is_out, score = _in_out(method, keys[k])
        columns = np.r_[np.arange(n_test), np.arange(starts[k], starts[k] + sizes[k])]
        return cached(lambda w: weighted_auroc(is_out, score, w, columns))

    def metrics_of(method: MethodOutput) -> dict:
        per_set = {key: set_metric(method, k) for k, key in enumerate(keys)}
        out = dict(per_set)
        for group in dict.fromkeys(groups.values()):
            members = [per_set[key] for key, g in groups.items() if g == group]
            out[group] = lambda w, members=members: np.mean([m(w) for m in members], axis=0)
        return out

    by_method = [{m.key: metrics_of(m) for m in methods} for methods in replicates]
    result = {}
    for method in replicates[0]:
        if method.key == REFERENCE:
            continue
        entry = {}
        for name in by_method[0][method.key]:
            entry[name] = paired_difference(
                [seed_metrics[method.key][name] for seed_metrics in by_method],
                [seed_metrics[REFERENCE][name] for seed_metrics in by_method],
                n_items,
                seed=seed,
                weights=weights,
            )
            entry[name]["verdict"] = judgement(entry[name])
        result[method.key] = entry
    return result
