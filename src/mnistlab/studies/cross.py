"""Study: each model on the other data set (fashion model on digits and vice versa)."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.datasets import info, other
from mnistlab.predict import predict_proba
from mnistlab.report.document import Section, Table, figures_of, fmt, pct
from mnistlab.studies.context import (
    StudyContext,
    get_models,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.studies.study import NoOptions, Study
from mnistlab.studies.writer import StudyWriter

BINS = np.linspace(0.0, 1.0, 41)
THRESHOLDS = (0.9, 0.99)


DATASETS = ("fashion-mnist", "mnist")


def model_specs(ctx: StudyContext, options: NoOptions) -> list:
    return [tutorial_spec(ctx, dataset) for dataset in DATASETS]


def run(ctx: StudyContext, options: NoOptions) -> dict:
    datasets = DATASETS
    writer = StudyWriter(ctx, "cross", {"thresholds": THRESHOLDS}, datasets)
    if (saved := writer.reusable()) is not None:
        return saved
    tests = {name: test_set(ctx, name) for name in datasets}
    results, summary = {}, []
    fig, axes = plots.new_axes(2, 2, width=5.4)
    models = get_models(ctx, model_specs(ctx, options))
    for row, (source, trained) in enumerate(zip(datasets, models, strict=True)):
        target = other(source)
        in_conf = predict_proba(trained.model, tests[source][0]).max(axis=1)
        probabilities = predict_proba(trained.model, tests[target][0])
        predicted, out_conf = probabilities.argmax(axis=1), probabilities.max(axis=1)
        labels = tests[target][1]
        sent_to = np.bincount(predicted, minlength=10)
        key = f"{source}->{target}"
        entry = {
            "model": model_summary(trained),
            # Label index against label index, as the exercise asks: the classes mean different things.
            "acc": float(np.mean(predicted == labels)),
            "mean_conf_in_domain": float(in_conf.mean()),
            "mean_conf_other_domain": float(out_conf.mean()),
            "predicted_class_counts": sent_to,
            "most_common_class": int(sent_to.argmax()),
            "most_common_share": float(sent_to.max() / len(predicted)),
        }
        for t in THRESHOLDS:
            entry[f"share_above_{t}"] = float(np.mean(out_conf > t))
            entry[f"in_domain_share_above_{t}"] = float(np.mean(in_conf > t))
        results[key] = entry
        names = info(source).class_names
        plots.two_histograms(
            in_conf,
            out_conf,
            bins=BINS,
            labels=(f"{source} test (in domain)", f"{target} test"),
            ax=axes[row, 0],
            title=f"{source} model: confidence",
            xlabel="confidence of the predicted class",
        )
        plots.class_bars(
            sent_to, names, ax=axes[row, 1], title=f"{source} model on {target}: predicted classes"
        )
        summary.append(
            f"{source} model on {target}: accuracy {entry['acc']:.4f} (label index vs label index, chance 0.1); "
            f"mean confidence {entry['mean_conf_other_domain']:.3f} vs {entry['mean_conf_in_domain']:.3f} in domain; "
            f"{100 * entry['share_above_0.9']:.1f}% above 0.9 and {100 * entry['share_above_0.99']:.1f}% above 0.99; "
            f"{100 * entry['most_common_share']:.0f}% sent to '{names[entry['most_common_class']]}'"
        )
    writer.figure(
        "cross",
        fig,
        "Left: confidence on the model's own test set vs the other data set. "
        "Right: which classes the other data set's images are sent to.",
    )
    return writer.finish({"directions": results}, summary)


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
    paragraphs, numbers = [], {}
    for key, e in document["directions"].items():
        source, target = key.split("->")
        table.rows.append(
            [
                key,
                f"{fmt(e['acc'], '.4f')}",
                f"{fmt(e['mean_conf_other_domain'], '.3f')}",
                f"{fmt(e['mean_conf_in_domain'], '.3f')}",
                pct(e["share_above_0.9"]),
                pct(e["share_above_0.99"]),
                f"{class_name(source, e['most_common_class'])} ({pct(e['most_common_share'])})",
            ]
        )
        numbers.update(
            {
                f"{key}/{k}": e[k]
                for k in ("acc", "mean_conf_other_domain", "share_above_0.9", "share_above_0.99")
            }
        )
        paragraphs.append(
            f"The {source} model on {target}: accuracy {fmt(e['acc'], '.4f')} "
            f"({'about chance' if abs(e['acc'] - 0.1) < 0.05 else 'far from chance'}, as expected when label "
            f"indices mean different things), yet {pct(e['share_above_0.9'])} of the images get a confidence above 0.9 "
            f"and {pct(e['share_above_0.99'])} above 0.99; {pct(e['most_common_share'])} are sent to class "
            f"'{class_name(source, e['most_common_class'])}'. Softmax confidence does not reveal that the input is of the wrong kind."
        )
    section = Section(
        "cross",
        "Each model on the other data set",
        paragraphs,
        [table],
        figures_of(document, folder),
        numbers,
    )
    return [section]


STUDY = Study(
    name="cross",
    help="each model on the other data set: accuracy and confidence",
    model_specs=model_specs,
    run=run,
    sections=sections,
)
