"""Time of the bootstrap AUROC that every paired comparison computes (uncertainty/paired.py).

    python benchmarks/paired_auroc.py [--resamples 1000] [--out mnistlab-out]

The case: 10,000 test images against 1,000 out-of-distribution images (the scoreboard's and
the OOD study's), B resamples at once; with distinct scores and with ties. Three ways, in
one run: ours (the smaller class cumulated, the larger binned by a sparse product), the
straightforward vectorized way (every row re-ordered, tied groups summed, a cumulative sum
over all items: what paired.py did before), and scikit-learn's roc_auc_score once per
resample. Prints a table and writes OUT/bench/paired_auroc.json; checks that all three agree.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mnistlab.uncertainty.paired import resample_weights, weighted_auroc


def straightforward(is_positive, score, weights, chunk: int = 128) -> np.ndarray:
    """Sort once, then per block of rows: order the weights, sum tied groups, cumulate."""
    _, group = np.unique(np.asarray(score, np.float64), return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
    positive = np.asarray(is_positive, bool)[order]
    out = np.empty(len(weights))
    for begin in range(0, len(weights), chunk):
        w = weights[begin : begin + chunk][:, order]
        pos, neg = np.where(positive, w, 0.0), np.where(positive, 0.0, w)
        if len(starts) < len(order):
            pos, neg = (np.add.reduceat(v, starts, axis=1) for v in (pos, neg))
        below = np.cumsum(neg, axis=1) - neg
        out[begin : begin + chunk] = (pos * (below + 0.5 * neg)).sum(axis=1) / (
            pos.sum(axis=1) * neg.sum(axis=1)
        )
    return out


def scikit_learn(is_positive, score, weights) -> np.ndarray:
    from sklearn.metrics import roc_auc_score

    return np.array([roc_auc_score(is_positive, score, sample_weight=w) for w in weights])


def best_of(function, repeats: int = 3) -> tuple[float, np.ndarray]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", default="mnistlab-out")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    is_out = np.r_[np.zeros(10_000, bool), np.ones(1_000, bool)]
    distinct = rng.normal(size=len(is_out)) + is_out
    weights = resample_weights(len(is_out), args.resamples, rng)
    weighted_auroc(is_out, distinct, weights[:2])  # imports (scipy.sparse) outside the timing
    rows = []
    for case, score in (("distinct scores", distinct), ("ties (1 decimal)", np.round(distinct, 1))):
        ours, a = best_of(lambda s=score: weighted_auroc(is_out, s, weights))
        plain, b = best_of(lambda s=score: straightforward(is_out, s, weights))
        sk, c = best_of(lambda s=score: scikit_learn(is_out, s, weights[:50]), repeats=1)
        sk *= len(weights) / 50  # 50 resamples timed, scaled to all
        assert np.allclose(a, b, atol=1e-6) and np.allclose(a[:50], c, atol=1e-6)
        rows.append({"case": case, "ours_s": ours, "straightforward_s": plain, "sklearn_s": sk})
    print(f"{args.resamples} resamples of 10,000 in vs 1,000 out (best of 3; sklearn: 50, scaled)")
    print(
        f"  {'case':18s} {'ours':>8s} {'vectorized':>11s} {'sklearn':>9s} {'x vect.':>8s} {'x sklearn':>10s}"
    )
    for r in rows:
        print(
            f"  {r['case']:18s} {r['ours_s']:7.3f}s {r['straightforward_s']:10.3f}s "
            f"{r['sklearn_s']:8.2f}s {r['straightforward_s'] / r['ours_s']:7.1f}x "
            f"{r['sklearn_s'] / r['ours_s']:9.0f}x"
        )
    folder = Path(args.out) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "paired_auroc.json").write_text(
        json.dumps({"resamples": args.resamples, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
