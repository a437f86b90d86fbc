"""Study: the winning class's probability on test examples the model got right and got wrong."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import plots
from mnistlab.models.predict import trained_proba
from mnistlab.report.document import Section, Table, figures_of, seed_mean, seed_mean_first
from mnistlab.studies.framework.context import (
    StudyContext,
    model_summary,
    plan_specs,
    seed_plan,
    test_set,
    trained_models,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, datasets_option
from mnistlab.studies.framework.writer import StudyWriter

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


def right_wrong_cells(entry: dict) -> list[str]:
    """Table cells of right_wrong_stats over seeds: counts and mean confidence of each."""
    return [
        seed_mean(entry, "n_right", ".0f"),
        seed_mean_first(entry, "n_wrong", ".0f"),
        seed_mean(entry, "mean_conf_right", ".3f"),
        seed_mean(entry, "mean_conf_wrong", ".3f"),
    ]


@dataclass(frozen=True)
class ConfidenceOptions:
    datasets: tuple[str, ...] = datasets_option(("fashion-mnist", "mnist"))


def model_specs(ctx: StudyContext, options: ConfidenceOptions) -> list:
    return plan_specs(seed_plan(ctx, options.datasets))


def run(ctx: StudyContext, options: ConfidenceOptions) -> dict:
    datasets = options.datasets
    writer = StudyWriter(ctx, "confidence", {"datasets": list(datasets)}, tuple(datasets))
    if (saved := writer.reusable()) is not None:
        return saved
    results, summary = {}, []
    fig, axes = plots.new_axes(2, len(datasets))
    models = trained_models(ctx, seed_plan(ctx, datasets))
    for row, dataset in enumerate(datasets):
        images, labels = test_set(ctx, dataset)
        per_seed = []
        for trained in [models[dataset, seed] for seed in ctx.seed_list]:
            probabilities = trained_proba(trained, images)
            confidence = probabilities.max(axis=1)
            correct = probabilities.argmax(axis=1) == labels
            per_seed.append(
                {"test/acc": float(correct.mean()), **right_wrong_stats(confidence, correct)}
            )
            if len(per_seed) == 1:  # the figure and histograms: --seed's own model
                first = {
                    "model": model_summary(trained),
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
        stats = results[dataset] = {**first, **over_seeds(per_seed)}
        summary.append(
            f"{dataset}: {seed_mean(stats, 'n_wrong', '.0f')} wrong of {len(labels)} (test acc "
            f"{seed_mean(stats, 'test/acc')}); wrong answers: mean confidence "
            f"{seed_mean(stats, 'mean_conf_wrong', '.3f')} vs {seed_mean(stats, 'mean_conf_right', '.3f')} "
            f"for right ones; {seed_mean(stats, 'share_wrong_above_0.9', '.1f', scale=100)}% of wrong "
            f"answers have confidence > 0.9"
        )
    writer.figure(
        "confidence",
        fig,
        "Probability of the predicted class on the test set, right vs wrong answers "
        "(same bins; left counts on a log scale, right densities; the first seed's model).",
    )
    return writer.finish({"datasets": results}, summary)


def sections(document: dict, folder) -> list[Section]:
    table = Table(
        [
            "data set",
            "right",
            "wrong",
            "mean conf. right",
            "mean conf. wrong",
            "wrong with conf. > 0.9",
        ],
        [],
    )
    paragraphs, numbers = [], {}
    for dataset, e in document["datasets"].items():
        table.rows.append(
            [
                dataset,
                *right_wrong_cells(e),
                seed_mean(e, "share_wrong_above_0.9", ".1f", scale=100) + "%",
            ]
        )
        keys = ("n_right", "n_wrong", "mean_conf_right", "mean_conf_wrong", "share_wrong_above_0.9")
        numbers.update({f"{dataset}/{k}": e[k] for k in keys})
        numbers.update({f"{dataset}/{k}_std": e.get(f"{k}_std") for k in keys})
        paragraphs.append(_confidence_sentence(dataset, e))
    seeds = (
        len(next(iter(document["datasets"].values())).get("n_wrong_seeds", []))
        if document["datasets"]
        else 0
    )
    if seeds > 1:
        paragraphs.append(
            f"Numbers are mean ± standard deviation over {seeds} trained models (seeds)."
        )
    section = Section(
        "confidence",
        "Confidence of right and wrong answers",
        paragraphs,
        [table],
        figures_of(document, folder),
        numbers,
        finding="; ".join(_finding(d, e) for d, e in document["datasets"].items()),
    )
    return [section]


STUDY = Study(
    name="confidence",
    help="confidence histograms of right and wrong test answers",
    options=ConfidenceOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
)


def _finding(dataset: str, e: dict) -> str:
    if e["n_wrong"] == 0:
        return f"{dataset}: every test answer right, none wrong to compare"
    return (
        f"{dataset}: wrong answers {seed_mean(e, 'mean_conf_wrong', '.3f')} against right "
        f"{seed_mean(e, 'mean_conf_right', '.3f')} mean confidence, yet "
        f"**{seed_mean(e, 'share_wrong_above_0.9', '.1f', scale=100)}%** of the wrong ones above 0.9"
    )


def _confidence_sentence(dataset: str, e: dict) -> str:
    """Right against wrong answers' confidence, each clause worded by the numbers it states."""
    if e["n_wrong"] == 0:
        return f"On {dataset}, every test answer is right: there are no wrong answers to compare."
    lower = e["mean_conf_wrong"] < e["mean_conf_right"]
    text = (
        f"On {dataset}, wrong answers have a mean confidence of {seed_mean(e, 'mean_conf_wrong', '.3f')} "
        f"against {seed_mean(e, 'mean_conf_right', '.3f')} for right ones: "
        f"{'lower' if lower else 'not lower'} on average"
    )
    if e["share_wrong_above_0.9"] > 0:
        return text + (
            f", and {seed_mean(e, 'share_wrong_above_0.9', '.1f', scale=100)}% of the wrong answers "
            f"are still given with confidence above 0.9, so a high softmax probability alone does "
            f"not guarantee a right answer."
        )
    return text + (
        ", and none of the wrong answers is given with confidence above 0.9 here: on this model "
        "and test set, an answer above 0.9 was right (a small or undertrained model is seldom that "
        "sure; the full run tells more)."
    )
