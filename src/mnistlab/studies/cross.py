"""Study: each model on the other data set (fashion model on digits and vice versa)."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.data import info, other
from mnistlab.models.predict import trained_proba
from mnistlab.report.document import (
    Section,
    Table,
    figures_of,
    fmt,
    pct,
    seed_mean,
    seed_mean_first,
)
from mnistlab.studies.confidence import right_wrong_cells, right_wrong_stats
from mnistlab.studies.framework.context import (
    StudyContext,
    model_summary,
    plan_specs,
    seed_plan,
    test_set,
    trained_models,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import NoOptions, Study
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.uncertainty import metrics

BINS = np.linspace(0.0, 1.0, 41)
THRESHOLDS = (0.9, 0.99)


DATASETS = ("fashion-mnist", "mnist")


def model_specs(ctx: StudyContext, options: NoOptions) -> list:
    return plan_specs(seed_plan(ctx, DATASETS))


def direction_numbers(in_conf, probabilities, labels) -> dict:
    """One model on the other data set: accuracy (label index vs label index, as the exercise
    asks: the classes mean different things), confidence, and right vs wrong answers."""
    predicted, out_conf = probabilities.argmax(axis=1), probabilities.max(axis=1)
    correct = predicted == labels
    entry = {
        "cls/acc": float(correct.mean()),
        "in_domain/cls/confidence": float(in_conf.mean()),
        "cls/confidence": float(out_conf.mean()),
        **right_wrong_stats(out_conf, correct),
        # Does its confidence tell its (label-index) right answers from its wrong ones?
        "err/auroc": (metrics.auroc_or_nan(~correct, -out_conf)),
    }
    for t in THRESHOLDS:
        entry[f"share_above_{t}"] = float(np.mean(out_conf > t))
        entry[f"in_domain_share_above_{t}"] = float(np.mean(in_conf > t))
    return entry


def run(ctx: StudyContext, options: NoOptions) -> dict:
    datasets = DATASETS
    writer = StudyWriter(ctx, "cross", {"thresholds": THRESHOLDS}, datasets)
    if (saved := writer.reusable()) is not None:
        return saved
    tests = {name: test_set(ctx, name) for name in datasets}
    results, summary = {}, []
    # One column per direction, one row per view: two columns fit the report's page width.
    fig, axes = plots.new_axes(2, 3, width=4.6, height=3.4)
    models = trained_models(ctx, seed_plan(ctx, datasets))
    for column, source in enumerate(datasets):
        target = other(source)
        labels = tests[target][1]
        per_seed = []
        for trained in [models[source, seed] for seed in ctx.seed_list]:
            in_conf = trained_proba(trained, tests[source][0]).max(axis=1)
            probabilities = trained_proba(trained, tests[target][0])
            per_seed.append(direction_numbers(in_conf, probabilities, labels))
            if len(per_seed) == 1:  # figures and class counts: --seed's own model
                sent_to = np.bincount(probabilities.argmax(axis=1), minlength=10)
                first = {
                    "model": model_summary(trained),
                    "predicted_class_counts": sent_to,
                    # which class is a category: from this seed, not averaged
                    "most_common_class": int(sent_to.argmax()),
                    "most_common_share": float(sent_to.max() / len(labels)),
                }
                _draw(axes[:, column], source, in_conf, probabilities, labels, per_seed[0])
        entry = results[f"{source}->{target}"] = {**over_seeds(per_seed), **first}
        names = info(source).class_names
        summary.append(
            f"{source} model on {target}: accuracy {seed_mean(entry, 'cls/acc')} (label index vs label "
            f"index, chance 0.1); mean confidence {seed_mean(entry, 'cls/confidence', '.3f')} vs "
            f"{seed_mean(entry, 'in_domain/cls/confidence', '.3f')} in domain; "
            f"{seed_mean(entry, 'share_above_0.9', '.1f', scale=100)}% above 0.9; right answers "
            f"{seed_mean(entry, 'mean_conf_right', '.3f')} vs wrong {seed_mean(entry, 'mean_conf_wrong', '.3f')}; "
            f"{100 * entry['most_common_share']:.0f}% sent to '{names[entry['most_common_class']]}'"
        )
    writer.figure(
        "cross",
        fig,
        "One column per model. Top: confidence on the model's own test set vs the other data "
        "set. Middle: which classes the other data set's images are sent to. Bottom: on the "
        "other data set, the confidence of the answers whose label index is right vs wrong "
        "(the first seed's model).",
    )
    return writer.finish({"directions": results}, summary)


def _draw(axes, source, in_conf, probabilities, labels, numbers) -> None:
    target = other(source)
    out_conf = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    plots.two_histograms(
        in_conf,
        out_conf,
        bins=BINS,
        labels=(f"{source} test (in domain)", f"{target} test"),
        ax=axes[0],
        title=f"{source} model: confidence",
        xlabel="confidence of the predicted class",
    )
    plots.class_bars(
        np.bincount(probabilities.argmax(axis=1), minlength=10),
        info(source).class_names,
        ax=axes[1],
        title=f"{source} model on {target}: predicted classes",
    )
    plots.confidence_histogram(
        out_conf[correct],
        out_conf[~correct],
        bins=BINS,
        density=True,
        ax=axes[2],
        title=f"{source} model on {target}: right vs wrong",
        # The means beside the colours, with the counts that the legend adds (a title
        # holding them passed the canvas, and the figure was drawn twice to show it).
        labels=[f"{kind}, mean {numbers[f'mean_conf_{kind}']:.3f}" for kind in ("right", "wrong")],
    )


def class_name(dataset: str, index: int) -> str:
    return info(dataset).class_names[int(index)]


def sections(document: dict, folder) -> list[Section]:
    table = Table(
        [
            "model -> data",
            "accuracy",
            "mean conf. other data",
            "mean conf. own data",
            "> 0.9",
            "> 0.99",
            "most common class",
        ],
        [],
    )
    right_wrong = Table(
        ["model -> data", "right", "wrong", "mean conf. right", "mean conf. wrong", "AUROC wrong"],
        [],
    )
    paragraphs, numbers = [], {}
    for key, e in document["directions"].items():
        source, target = key.split("->")
        table.rows.append(
            [
                key,
                seed_mean_first(e, "cls/acc"),
                seed_mean(e, "cls/confidence", ".3f"),
                seed_mean(e, "in_domain/cls/confidence", ".3f"),
                seed_mean(e, "share_above_0.9", ".1f", scale=100) + "%",
                seed_mean(e, "share_above_0.99", ".1f", scale=100) + "%",
                f"{class_name(source, e['most_common_class'])} ({pct(e['most_common_share'])})",
            ]
        )
        right_wrong.rows.append(
            [
                key,
                *right_wrong_cells(e),
                seed_mean(e, "err/auroc", ".1f", scale=100),
            ]
        )
        keys = ("cls/acc", "cls/confidence", "share_above_0.9", "share_above_0.99")
        keys += ("n_right", "n_wrong", "mean_conf_right", "mean_conf_wrong")
        numbers.update({f"{key}/{k}": e[k] for k in (*keys, "err/auroc")})
        numbers.update({f"{key}/{k}_std": e.get(f"{k}_std") for k in keys})
        paragraphs.append(
            f"The {source} model on {target}: accuracy {seed_mean(e, 'cls/acc')} "
            f"({'about chance' if abs(e['cls/acc'] - 0.1) < 0.05 else 'far from chance'}, as expected when label "
            f"indices mean different things), yet {seed_mean(e, 'share_above_0.9', '.1f', scale=100)}% of the "
            f"images get a confidence above 0.9 and {seed_mean(e, 'share_above_0.99', '.1f', scale=100)}% above "
            f"0.99; {pct(e['most_common_share'])} are sent to class "
            f"'{class_name(source, e['most_common_class'])}'. Softmax confidence does not reveal that the "
            f"input is of the wrong kind. Its {fmt(e['n_right'], '.0f')} label-index-right answers have a mean "
            f"confidence of {seed_mean(e, 'mean_conf_right', '.3f')} and its wrong ones "
            f"{seed_mean(e, 'mean_conf_wrong', '.3f')}; confidence tells them apart with an AUROC of "
            f"{seed_mean(e, 'err/auroc', '.1f', scale=100)}% (50% is a coin toss)."
        )
    seeds = len(next(iter(document["directions"].values())).get("cls/acc_seeds", []))
    if seeds > 1:
        paragraphs.append(
            f"Numbers are mean ± standard deviation over {seeds} trained models (seeds)."
        )
    section = Section(
        "cross",
        "Each model on the other data set",
        paragraphs,
        [table, right_wrong],
        figures_of(document, folder),
        numbers,
        finding="; ".join(
            f"the {direction.replace('->', ' model on ')}: accuracy {seed_mean(e, 'cls/acc', '.3f')} "
            f"(chance 0.1), yet **{seed_mean(e, 'share_above_0.9', '.1f', scale=100)}%** of "
            f"its answers above 0.9"
            for direction, e in document["directions"].items()
        ),
    )
    return [section]


STUDY = Study(
    name="cross",
    help="each model on the other data set: accuracy and confidence",
    model_specs=model_specs,
    run=run,
    sections=sections,
)
