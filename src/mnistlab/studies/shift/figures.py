"""The shift study's figures: metrics against shift intensity (Ovadia et al.'s figures),
boxes over the corruptions, confidence histograms on rotated images, galleries."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.studies.shift.verdict import probability_methods
from mnistlab.studies.shift.views import ANGLES_SHOWN, METRICS

AXIS = {"rotation": "rotation (degrees)", "translation": "translation (pixels, np.roll)"}


def figures(writer, dataset, sets, labels, methods, numbers, families, levels) -> None:
    names = probability_methods(methods)
    short = {m.key: m.label or m.name for m in methods}.__getitem__
    for family in ("rotation", "translation"):
        keys = families[family]
        fig, axes = plots.panel_grid(len(METRICS), width=3.1, height=3.0)
        for ax, (metric, title) in zip(axes, METRICS, strict=True):
            series = {
                short(n): (
                    [numbers[n][k][metric] for k in keys],
                    [numbers[n][k][f"{metric}_std"] for k in keys],
                )
                for n in names
            }
            plots.metric_lines(
                levels[family],
                series,
                ax=ax,
                title=title,
                xlabel=AXIS[family],
                legend=ax is axes[0],
            )
        writer.figure(
            f"{family}-{dataset}",
            fig,
            f"{dataset}: each metric against the {family} of the test images, one line per method "
            f"(mean over seeds, band ± 1 std); Ovadia et al.'s figure, for our models.",
        )

    corruption_keys = families["corruption"]
    fig, axes = plots.panel_grid(3, width=4.2, height=3.6)
    for ax, (metric, title) in zip(axes, METRICS[:3], strict=True):
        plots.method_boxes(
            {short(n): [numbers[n][k][metric] for k in corruption_keys] for n in names},
            clean={short(n): numbers[n]["test"][metric] for n in names},
            ax=ax,
            title=f"{title} over {len(corruption_keys)} corruptions",
        )
    writer.figure(
        f"corruption-{dataset}",
        fig,
        f"{dataset}: each method's metric on the MNIST-C corruptions (one value per corruption, "
        f"mean over seeds); red diamond: clean test images.",
    )

    shown = [m for m in methods if m.key in (names[0], names[-1])]  # max softmax, the ensemble
    angles = [a for a in ANGLES_SHOWN if a in levels["rotation"]]
    fig, axes = plots.new_axes(len(angles), len(shown), width=3.0, height=2.6)
    for row, method in zip(axes, shown, strict=True):
        for ax, angle in zip(row, angles, strict=True):
            probabilities = method.probabilities[
                families["rotation"][levels["rotation"].index(angle)]
            ]
            error = probabilities.argmax(axis=1) != labels
            confidence = probabilities.max(axis=1)
            plots.confidence_histogram(
                confidence[~error],
                confidence[error],
                bins=np.linspace(0, 1, 21) + 1e-9,
                density=True,
                ax=ax,
                title=f"{short(method.key)}, {angle}°",
            )
    writer.figure(
        f"confidence-{dataset}",
        fig,
        f"{dataset}: confidence of right and wrong answers on rotated images (first seed).",
    )

    rows = [(f"rotation {levels['rotation'][0]}-{levels['rotation'][-1]}°", families["rotation"])]
    rows.append(
        (
            f"translation {levels['translation'][0]}-{levels['translation'][-1]} px",
            families["translation"],
        )
    )
    rows.append(("clean, then each corruption", ["test", *corruption_keys]))
    fig, axes = plots.new_axes(1, 2 * len(rows), width=11, height=1.25)
    for i, (title, keys) in enumerate(rows):
        for j in range(2):
            captions = (
                # whole names, two words on two lines ("shot noise" was cut to "shot nois")
                [k.split("/")[-1].replace("_", "\n") for k in keys] if j else [""] * len(keys)
            )
            plots.image_strip(
                [sets[k][j] for k in keys],
                captions,
                ax=axes[2 * i + j, 0],
                title="" if j else title,
            )
    writer.figure(f"gallery-{dataset}", fig, f"{dataset}: two test images under every shift level.")


def letters_gallery(writer, images: np.ndarray) -> None:
    rows = min(4, len(images) // 10)
    fig, axes = plots.new_axes(1, rows, width=9, height=1.25)
    for r in range(rows):
        plots.image_strip(images[10 * r : 10 * r + 10], list("ABCDEFGHIJ"), ax=axes[r, 0])
    writer.figure(
        "letters",
        fig,
        "Letters A-J from matplotlib's fonts, jittered and framed like MNIST digits: the "
        "notMNIST stand-in used as out-of-distribution images (first 40).",
    )
