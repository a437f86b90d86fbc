"""Study: blend two test digits, I(a) = a*I1 + (1-a)*I2, and follow the digit model's answer."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.errors import ConfigError
from mnistlab.experiments.common import (
    StudyContext,
    StudyWriter,
    get_model,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.predict import predict_proba

STEPS = 100
DEFAULT_PAIRS = 3
STRIP_SAMPLES = 9


def pick_pairs(labels: np.ndarray, *, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` pairs of test indices with different labels, the same for the same seed."""
    rng = np.random.default_rng([seed, 7919])
    pairs = []
    while len(pairs) < count:
        i, j = (int(v) for v in rng.choice(len(labels), size=2, replace=False))
        if labels[i] != labels[j]:
            pairs.append((i, j))
    return pairs


def blend(first: np.ndarray, second: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """I(a) = a*I1 + (1-a)*I2 for every a: shape (len(alphas), 28, 28)."""
    a = alphas[:, None, None]
    return (a * first[None] + (1.0 - a) * second[None]).astype(np.float32)


def analyse_path(alphas: np.ndarray, probabilities: np.ndarray) -> dict:
    predicted = probabilities.argmax(axis=1)
    top = probabilities.max(axis=1)
    changes = np.flatnonzero(predicted[1:] != predicted[:-1])
    interior = slice(1, len(alphas) - 1)
    lowest = 1 + int(np.argmin(top[interior]))
    return {
        "switches": [
            {
                "a": float((alphas[k] + alphas[k + 1]) / 2),
                "from": int(predicted[k]),
                "to": int(predicted[k + 1]),
            }
            for k in changes
        ],
        "classes_visited": [int(c) for c in dict.fromkeys(predicted.tolist())],
        "min_top_probability": float(top[lowest]),
        "a_at_min": float(alphas[lowest]),
        "top_probability_ends": [float(top[0]), float(top[-1])],
    }


def run(
    ctx: StudyContext, *, pairs: list[tuple[int, int]] | None = None, dataset: str = "mnist"
) -> dict:
    images, labels = test_set(ctx, dataset)
    for i, j in pairs or []:
        for index in (i, j):
            if not 0 <= index < len(images):
                raise ConfigError(
                    f"--pair index {index} is outside the test set (0..{len(images) - 1})"
                )
    pairs = (
        [tuple(p) for p in pairs]
        if pairs
        else pick_pairs(labels, count=DEFAULT_PAIRS, seed=ctx.seed)
    )
    writer = StudyWriter(
        ctx, "morph", {"pairs": pairs, "steps": STEPS, "dataset": dataset}, (dataset,)
    )
    if (saved := writer.reusable()) is not None:
        return saved
    trained = get_model(ctx, tutorial_spec(ctx, dataset))
    alphas = np.linspace(0.0, 1.0, STEPS)
    rows, summary = [], []
    for n, (i, j) in enumerate(pairs, 1):
        path = blend(images[i], images[j], alphas)
        probabilities = predict_proba(trained.model, path)
        analysis = analyse_path(alphas, probabilities)
        rows.append(
            {
                "pair": [i, j],
                "labels": [int(labels[i]), int(labels[j])],
                **analysis,
                "probabilities": probabilities.round(5),
            }
        )
        fig, axes = plots.new_axes(
            1, 3, width=8.5, height=2.4, gridspec_kw={"height_ratios": [0.8, 1.2, 1.4]}
        )
        shown = np.linspace(0, STEPS - 1, STRIP_SAMPLES).round().astype(int)
        plots.image_strip(
            path[shown],
            [f"a={alphas[k]:.2f}" for k in shown],
            ax=axes[0, 0],
            title=f"I1 = test #{i} (label {labels[i]}), I2 = test #{j} (label {labels[j]})",
        )
        predicted = probabilities.argmax(axis=1)
        plots.predicted_class_steps(
            alphas,
            predicted,
            probabilities.max(axis=1),
            ax=axes[1, 0],
            title="predicted class along a",
        )
        plots.class_probability_curves(
            alphas,
            probabilities,
            [str(d) for d in range(10)],
            ax=axes[2, 0],
            highlight=(int(labels[i]), int(labels[j])),
            title="probability of every class",
        )
        writer.figure(
            f"morph-{n}", fig, f"Blend of test digits #{i} ({labels[i]}) and #{j} ({labels[j]})."
        )
        switch_text = (
            ", ".join(f"{s['from']}->{s['to']} at a={s['a']:.3f}" for s in analysis["switches"])
            or "none"
        )
        summary.append(
            f"pair #{i} ({labels[i]}) / #{j} ({labels[j]}): switches {switch_text}; top probability falls to "
            f"{analysis['min_top_probability']:.3f} at a={analysis['a_at_min']:.2f} "
            f"(at the ends: {analysis['top_probability_ends'][1]:.3f} on I1, {analysis['top_probability_ends'][0]:.3f} on I2)"
        )
    return writer.finish(
        {"model": model_summary(trained), "pairs": rows, "alphas": alphas}, summary
    )
