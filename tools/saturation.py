"""Max softmax on MNIST against Fashion-MNIST, three ways: 1 - max of the float32 softmax (the old
score), mnistlab's score now (the other classes' summed probability: scores.max_softmax), and the
float64 reference from the logits. Prints AUROC, both FPR95 conventions and the share of tied
scores, and writes the numbers as JSON.

    MNISTLAB_DATA_DIR=../shared/data .venv/bin/python tools/saturation.py [--seed 0] [--json F]

The model is the scoreboard's first replicate's base model (trained, or read from the cache).
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from mnistlab.models.predict import predict_logits, softmax
from mnistlab.runs import write_json
from mnistlab.studies.framework.context import (
    StudyContext,
    test_set,
    trained_models,
    tutorial_spec,
)
from mnistlab.studies.scoreboard.study import OOD_SIZE
from mnistlab.uncertainty import metrics, scores


def float64_reference(logits) -> np.ndarray:
    """Ranks as 1 - max p of the exact softmax: sum over the other classes of exp(l_j - l_top)
    in float64 (1 - p = s / (1 + s) is increasing in s), nothing rounded to 1."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    z[np.arange(len(z)), z.argmax(axis=1)] = -np.inf
    return np.exp(z).sum(axis=1)


def numbers(test_score, out_score) -> dict:
    is_out = np.r_[np.zeros(len(test_score), bool), np.ones(len(out_score), bool)]
    score = np.r_[test_score, out_score]
    return {
        "auroc": metrics.auroc(is_out, score),
        "fpr95_in": metrics.fpr95(is_out, score),  # in-distribution positive: what we report
        "fpr95_out_positive": metrics.fpr_at_tpr(is_out, score),  # the scoreboard's old one
        "tied_share_test": 1 - len(np.unique(test_score)) / len(test_score),
        "tied_share_ood": 1 - len(np.unique(out_score)) / len(out_score),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="saturation.json")
    args = parser.parse_args()
    ctx = StudyContext(out=tempfile.mkdtemp(), seed=args.seed)
    spec = tutorial_spec(ctx, "mnist", seed=args.seed, validation_size=ctx.profile.validation_size)
    model = trained_models(ctx, {"base": spec})["base"].model
    test_images, _ = test_set(ctx, "mnist")
    out_images = test_set(ctx, "fashion-mnist")[0][:OOD_SIZE]
    test_logits, out_logits = predict_logits(model, test_images), predict_logits(model, out_images)
    p_test, p_out = softmax(test_logits), softmax(out_logits)
    result = {
        "seed": args.seed,
        "top_probability_exactly_1": float(np.mean(p_test.max(axis=1) == 1.0)),
        "old: 1 - max float32 softmax": numbers(1 - p_test.max(axis=1), 1 - p_out.max(axis=1)),
        "now: scores.max_softmax": numbers(scores.max_softmax(p_test), scores.max_softmax(p_out)),
        "float64 reference": numbers(float64_reference(test_logits), float64_reference(out_logits)),
    }
    print(
        f"MNIST test images whose float32 top probability is 1.0: "
        f"{result['top_probability_exactly_1']:.1%}"
    )
    print(
        f"{'score':32s} {'AUROC':>8s} {'FPR95 in+':>10s} {'FPR95 out+':>11s} {'tied test':>10s} {'tied OOD':>9s}"
    )
    for name, row in result.items():
        if isinstance(row, dict):
            print(
                f"{name:32s} {row['auroc']:8.4f} {row['fpr95_in']:10.4f} "
                f"{row['fpr95_out_positive']:11.4f} {row['tied_share_test']:10.1%} "
                f"{row['tied_share_ood']:9.1%}"
            )
    write_json(args.json, result)
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
