"""Study: the winning class's probability on test examples the model got right and got wrong."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.experiments.common import (
    StudyContext,
    StudyWriter,
    get_model,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.predict import predict_proba

BINS = np.linspace(0.0, 1.0, 41)


def right_wrong_stats(confidence: np.ndarray, correct: np.ndarray) -> dict:
    right, wrong = confidence[correct], confidence[~correct]
    return {
        "n_right": int(correct.sum()),
        "n_wrong": int((~correct).sum()),
        "mean_conf_right": float(right.mean()) if len(right) else float("nan"),
        "mean_conf_wrong": float(wrong.mean()) if len(wrong) else float("nan"),
        "median_conf_wrong": float(np.median(wrong)) if len(wrong) else float("nan"),
        "share_wrong_above_0.9": float((wrong > 0.9).mean()) if len(wrong) else float("nan"),
        "share_right_above_0.9": float((right > 0.9).mean()) if len(right) else float("nan"),
    }


def run(ctx: StudyContext, *, datasets=("fashion-mnist", "mnist")) -> dict:
    writer = StudyWriter(ctx, "confidence", {"datasets": list(datasets)}, tuple(datasets))
    if (saved := writer.reusable()) is not None:
        return saved
    results, summary = {}, []
    fig, axes = plots.new_axes(2, len(datasets))
    for row, dataset in enumerate(datasets):
        trained = get_model(ctx, tutorial_spec(ctx, dataset))
        images, labels = test_set(ctx, dataset)
        probabilities = predict_proba(trained.model, images)
        confidence = probabilities.max(axis=1)
        correct = probabilities.argmax(axis=1) == labels
        stats = right_wrong_stats(confidence, correct)
        results[dataset] = {
            "model": model_summary(trained),
            "test/acc": float(correct.mean()),
            **stats,
            "histogram/bins": BINS,
            "histogram/right": np.histogram(confidence[correct], BINS)[0],
            "histogram/wrong": np.histogram(confidence[~correct], BINS)[0],
        }
        for col, density in enumerate((False, True)):
            plots.confidence_histogram(
                confidence[correct],
                confidence[~correct],
                bins=BINS,
                density=density,
                ax=axes[row, col],
                title=f"{dataset}: {'density' if density else 'counts (log scale)'}",
            )
        summary.append(
            f"{dataset}: {stats['n_wrong']} wrong of {len(labels)} (test acc {correct.mean():.4f}); "
            f"wrong answers: mean confidence {stats['mean_conf_wrong']:.3f} vs {stats['mean_conf_right']:.3f} "
            f"for right ones; {100 * stats['share_wrong_above_0.9']:.1f}% of wrong answers have confidence > 0.9"
        )
    writer.figure(
        "confidence",
        fig,
        "Probability of the predicted class on the test set, right vs wrong answers "
        "(same bins; left counts on a log scale, right densities).",
    )
    return writer.finish({"datasets": results}, summary)
