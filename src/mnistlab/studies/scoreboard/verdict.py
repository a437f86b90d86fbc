"""The scoreboard's verdicts: every method against max softmax, paired over test images and
combined over seeds (uncertainty/paired.py), and the sentences written from those intervals."""

from __future__ import annotations

import numpy as np

from mnistlab.report.document import seed_mean
from mnistlab.seeds import stream
from mnistlab.uncertainty import MethodOutput, metrics
from mnistlab.uncertainty.paired import (
    auroc_metric,
    cached,
    judgement,
    paired_difference,
    resample_weights,
)

REFERENCE = "msp"  # the key of max softmax, the reference every method is compared with


def _misclassification(method: MethodOutput, labels: np.ndarray):
    error = method.probabilities["test"].argmax(axis=1) != labels
    if not metrics.is_defined(error):
        return None
    return auroc_metric(error, method.score["test"])


def _ood(method: MethodOutput, ood_key: str):
    test, ood = method.score["test"], method.score[ood_key]
    return auroc_metric(np.r_[np.zeros(len(test), bool), np.ones(len(ood), bool)], np.r_[test, ood])


def compare_with_softmax(
    replicates: list[list[MethodOutput]],
    labels: np.ndarray,
    ood_key: str,
    *,
    n_boot: int,
    seed: int,
) -> dict:
    """For each method, AUROC(method) - AUROC(max softmax) for telling wrong answers (and the
    images of `ood_key`) apart: mean over seeds, 95% two-stage paired bootstrap interval.

    replicates[r]: every method's outputs on seed replicate r (same order in each). One
    resample of the test images (and, separately, of the OOD images) serves every method and
    every seed: the comparison is paired.
    """
    rng = stream(seed, "scoreboard/paired-resamples")
    n_test, n_ood = len(labels), len(replicates[0][0].score[ood_key])
    test_weights = resample_weights(n_test, n_boot, rng)
    ood_weights = np.concatenate([test_weights, resample_weights(n_ood, n_boot, rng)], axis=1)
    reference = [next(m for m in methods if m.key == REFERENCE) for methods in replicates]
    base_error = [_misclassification(m, labels) for m in reference]
    base_error = None if None in base_error else [cached(m) for m in base_error]
    base_ood = [cached(_ood(m, ood_key)) for m in reference]
    out = {}
    for method in replicates[0]:
        if method.key == REFERENCE:
            continue
        runs = [next(m for m in methods if m.key == method.key) for methods in replicates]
        entry = {}
        error = [_misclassification(m, labels) for m in runs]
        if base_error is not None and None not in error:
            entry["err/auroc"] = paired_difference(
                error, base_error, n_test, seed=seed, weights=test_weights
            )
        entry[f"{ood_key}/auroc"] = paired_difference(
            [_ood(m, ood_key) for m in runs],
            base_ood,
            n_test + n_ood,
            seed=seed,
            weights=ood_weights,
        )
        for result in entry.values():
            result["verdict"] = judgement(result)
        out[method.key] = entry
    return out


def interval_text(result: dict) -> str:
    """'+1.21 [+0.40, +2.03] points' (AUROC difference in percentage points)."""
    return (
        f"{100 * result['difference']:+.2f} [{100 * result['low']:+.2f}, "
        f"{100 * result['high']:+.2f}] points"
    )


SAYS = {
    "better": "beats plain softmax",
    "worse": "is worse than plain softmax",
    "no clear difference": "does not clearly differ from plain softmax (the interval includes 0)",
}


def verdict(dataset: str, rows: list[dict], comparisons: dict) -> list[str]:
    """A few sentences from the numbers: best signal, and weight dropout vs plain softmax."""
    softmax_row = next(r for r in rows if r["key"] == REFERENCE)
    key = "err/auroc"
    scored = [r for r in rows if r.get(key) is not None and np.isfinite(r[key])]
    seeds = len(softmax_row.get("cls/acc_seeds", [])) or 1
    lines = []
    if softmax_row not in scored:
        lines.append(
            f"{dataset}: the base model has no wrong (or no right) test answers, so misclassification "
            f"detection is undefined for it"
        )
    else:
        best = max(scored, key=lambda r: r[key])
        lines.append(
            f"{dataset}: best misclassification AUROC {seed_mean(best, key, '.1f', scale=100)} ({best['method']}); "
            f"max softmax {seed_mean(softmax_row, key, '.1f', scale=100)}"
            + (f" (mean ± std over {seeds} seeds)" if seeds > 1 else "")
        )
        dropout_rows = [r for r in scored if r["family"] == "weight dropout"]
        compared = [r for r in dropout_rows if key in comparisons.get(r["key"], {})]
        if compared:
            top = max(compared, key=lambda r: r[key])
            result = comparisons[top["key"]][key]
            lines.append(
                f"{dataset}: post-training weight dropout, best variant {top['method']} at AUROC "
                f"{seed_mean(top, key, '.1f', scale=100)}, {SAYS[result['verdict']]}: paired difference "
                f"{interval_text(result)} (95%, {seeds} seed(s) x test images)"
            )
            verdicts = {r["method"]: comparisons[r["key"]][key] for r in compared}
            ahead = [
                f"{m} {interval_text(v)}" for m, v in verdicts.items() if v["verdict"] == "better"
            ]
            behind = sum(v["verdict"] == "worse" for v in verdicts.values())
            lines.append(
                f"{dataset}: of {len(verdicts)} weight-dropout variants, {len(ahead)} beat plain softmax"
                + (f" ({'; '.join(ahead)})" if ahead else "")
                + f", {behind} are worse and {len(verdicts) - len(ahead) - behind} do not clearly differ"
            )
        names = {r["key"]: r["method"] for r in rows}
        better = [
            names[k] for k, c in comparisons.items() if c.get(key, {}).get("verdict") == "better"
        ]
        lines.append(
            f"{dataset}: methods that tell wrong answers apart better than max softmax (paired "
            f"interval above 0): {', '.join(better) or 'none'}"
        )
    ood_keys = sorted({k for r in rows for k in r if k.startswith("ood/") and k.endswith("/auroc")})
    if ood_keys:
        best_ood = max(rows, key=lambda r: np.mean([r[k] for k in ood_keys]))
        mean_softmax = np.mean([softmax_row[k] for k in ood_keys])
        lines.append(
            f"{dataset}: best mean OOD AUROC over {len(ood_keys)} sets "
            f"{100 * np.mean([best_ood[k] for k in ood_keys]):.1f} ({best_ood['method']}) vs "
            f"{100 * mean_softmax:.1f} for max softmax"
        )
    return lines
