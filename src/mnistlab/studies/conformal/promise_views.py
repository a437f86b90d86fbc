"""What the conformal study shows about its promise: which calibration keeps it and why the
other does not (the exchangeable control and the two-sample test), what a promise per class
costs, and recalibration on a few shifted images. Text is written from the numbers, and each
sentence's wording follows from the values it states."""

from __future__ import annotations

import re

from mnistlab import plots
from mnistlab.report.document import Table, fmt, seed_mean
from mnistlab.studies.framework.method_study import keys_of_kind, labels_of
from mnistlab.uncertainty import PROBABILITIES

KEPT = 0.005  # a mean coverage within half a point of 1 - a keeps the promise
MISSED = 0.01  # more than a point below it misses the promise
REFERENCE = "msp"  # the method whose numbers the paragraph states


def _coverage_interval(cell: dict) -> str:
    """The mean coverage and its interval (which holds the seed-to-seed spread already)."""
    text = fmt(cell["coverage"], ".3f")
    if "coverage_low" in cell:
        text += f" [{fmt(cell['coverage_low'], '.3f')}, {fmt(cell['coverage_high'], '.3f')}]"
    return text


def promise_table(dataset: str, entry: dict, alphas: list[str], numbers: dict) -> Table:
    """Per method and a: LAC's coverage calibrated on the training tail (95% interval over
    seeds and images) beside the exchangeable control's (5th-95th percentile of the splits)."""
    header = [f"{dataset}, LAC: method"]
    for a in alphas:
        header += [f"a={a}: held-out tail", f"a={a}: exchangeable control"]
    table = Table(header, [])
    display = {m["key"]: m["name"] for m in entry["methods"]}
    for key, m in entry["numbers"].items():
        if "control" not in m:
            continue
        row = [display[key]]
        for a in alphas:
            tail, control = m["sets"]["lac"][a], m["control"]["lac"][a]
            row += [
                _coverage_interval(tail),
                f"{fmt(control['coverage'], '.3f')} "
                f"({fmt(control['coverage_p05'], '.3f')}-{fmt(control['coverage_p95'], '.3f')})",
            ]
            numbers[f"{dataset}/{key}/lac/{a}/control_coverage"] = control["coverage"]
        table.rows.append(row)
    return table


def class_table(dataset: str, entry: dict, alpha: str, numbers: dict) -> Table:
    """Marginal against class-conditional LAC sets at one a: coverage, worst class,
    size-stratified coverage, mean size."""
    columns = ("coverage", "worst_class_coverage", "size_stratified_coverage", "mean_size")
    names = ("coverage", "worst class", "size-stratified", "size")
    header = [f"{dataset}, LAC a={alpha}: method"]
    header += [f"marginal: {n}" for n in names] + [f"per class: {n}" for n in names]
    table = Table(header, [])
    display = {m["key"]: m["name"] for m in entry["methods"]}
    for key, m in entry["numbers"].items():
        if "class_sets" not in m:
            continue
        row = [display[key]]
        for kind in ("sets", "class_sets"):
            cell = m[kind]["lac"][alpha]
            row += [seed_mean(cell, c, ".2f" if c == "mean_size" else ".3f") for c in columns]
            for c in columns:
                numbers[f"{dataset}/{key}/lac/{alpha}/{kind}/{c}"] = cell[c]
        table.rows.append(row)
    return table


def recalibration_table(dataset: str, entry: dict, alpha: str) -> Table:
    """The reference method's coverage (and size) on rotated images per angle: clean
    calibration, then recalibrated on n rotated images."""
    recal = entry["numbers"][REFERENCE]["recalibration"]["lac"][alpha]
    sizes = _sizes(recal)
    header = [f"{dataset}, max softmax, LAC a={alpha}: rotation", "clean calibration"]
    header += [f"recalibrated on {n}" for n in sizes]
    rows = [
        [f"{angle}°"]
        + [
            f"{seed_mean(cell, f'coverage/{n}', '.3f')} ({fmt(cell[f'mean_size/{n}'], '.1f')})"
            for n in ("clean", *sizes)
        ]
        for angle, cell in recal.items()
    ]
    return Table(header, rows)


def _sizes(recal: dict) -> list[str]:
    """The recalibration sizes tried, from the keys "coverage/<n>" of the first angle."""
    first = next(iter(recal.values()))
    return [k.removeprefix("coverage/") for k in first if re.fullmatch(r"coverage/\d+", k)]


def recalibration_figure(writer, dataset: str, entry: dict, alpha: str) -> None:
    """Coverage on rotated images against the number of rotated images recalibrated on, one
    panel per angle, one line per method with probabilities; dotted: msp's clean calibration."""
    names, short = keys_of_kind(entry, PROBABILITIES), labels_of(entry).__getitem__
    recal = {n: entry["numbers"][n]["recalibration"]["lac"][alpha] for n in names}
    angles = list(recal[REFERENCE])
    sizes = _sizes(recal[REFERENCE])
    fig, axes = plots.panel_grid(len(angles), width=3.1, height=3.3)
    for ax, angle in zip(axes, angles, strict=True):
        series = {
            short(n): (
                [recal[n][angle][f"coverage/{k}"] for k in sizes],
                [recal[n][angle][f"coverage/{k}_std"] for k in sizes],
            )
            for n in names
        }
        plots.metric_lines(
            [int(k) for k in sizes],
            series,
            ax=ax,
            title=f"rotated {angle}°, a = {alpha}",
            xlabel="rotated images recalibrated on",
            ylabel="coverage" if ax is axes[0] else "",
            legend=ax is axes[0],
        )
        ax.set_xscale("log")
        ax.set_xticks([int(k) for k in sizes], sizes)  # the sizes tried, not powers of ten
        ax.minorticks_off()
        ax.axhline(1 - float(alpha), color="black", ls="--", lw=1)
        ax.axhline(recal[REFERENCE][angle]["coverage/clean"], color="grey", ls=":", lw=1.2)
    writer.figure(
        f"recalibration-{dataset}",
        fig,
        f"{dataset}: LAC coverage on rotated test images when the sets are recalibrated on a "
        f"few labelled rotated images and scored on the others, mean over draws and seeds "
        f"(dashed: the promise 1 - a; dotted: max softmax calibrated on clean images).",
    )


def promise_finding(datasets: dict, alpha: str) -> str:
    """Max softmax's LAC promise at a, per data set: held-out calibration against the control."""
    parts = []
    for dataset, entry in datasets.items():
        m = entry["numbers"].get(REFERENCE, {})
        if "control" not in m:
            continue
        tail, control = m["sets"]["lac"][alpha]["coverage"], m["control"]["lac"][alpha]["coverage"]
        parts.append(f"{dataset} **{tail:.3f}** (exchangeable control {control:.3f})")
    return (
        f"max softmax's LAC sets at a = {alpha} promise {1 - float(alpha):.2f}; calibrated on "
        f"held-out training data they cover " + ", ".join(parts)
        if parts
        else ""
    )


def promise_paragraph(dataset: str, entry: dict, alpha: str) -> str:
    """Which calibration keeps the promise at a, and why the other does not, in numbers."""
    m, x = entry["numbers"][REFERENCE], entry["exchangeability"]
    target = 1 - float(alpha)
    tail, control = m["sets"]["lac"][alpha]["coverage"], m["control"]["lac"][alpha]["coverage"]
    splits = entry.get("control_splits", 200)
    text = (
        f"**{dataset}, is the promise kept?** Max softmax's LAC sets at a = {alpha} promise "
        f"{target:.2f}. Calibrated on the held-out tail of the training split they cover "
        f"{tail:.3f} of the test images; calibrated on a random {entry['calibration_size']} "
        f"test images and scored on the rest ({splits} splits), {control:.3f}. "
    )
    control_kept = abs(control - target) <= KEPT
    text += (
        "The exchangeable control sits at its promise, so the code keeps it where the data allow. "
        if control_kept
        else f"Even the exchangeable control is {abs(control - target):.3f} from its promise "
        f"(more than {KEPT}): the sampling noise of {splits} splits of this test set. "
    )
    differ = x["ks_p_value"] < 0.05
    scores = (
        f"The true-label scores (1 - p_y) of the calibration images and of the test images "
        f"{'differ' if differ else 'do not differ detectably'} (Kolmogorov-Smirnov D = "
        f"{x['ks_statistic']:.3f}, p {_p(x['ks_p_value'])}, means over seeds); the model is right "
        f"on {x['calibration_accuracy']:.3f} of the calibration images and {x['test_accuracy']:.3f} "
        f"of the test images ({x['test_first_half_accuracy']:.3f} of the test set's first half, "
        f"{x['test_second_half_accuracy']:.3f} of its second)."
    )
    if tail < target - MISSED:
        text += f"The held-out calibration misses by {target - tail:.3f}. " + scores + " "
        if not differ:
            text += (
                f"With {entry['calibration_size']} calibration images the test cannot tell the "
                f"two apart, so this miss may be chance or a shift too small to detect here."
            )
        elif x["test_mean_score"] > x["calibration_mean_score"]:
            text += (
                f"The model is less sure of the right class on the test images than on the "
                f"training tail the threshold was fitted on (mean 1 - p_y "
                f"{x['test_mean_score']:.4f} against {x['calibration_mean_score']:.4f}), so the "
                f"threshold is too low for them. The promise assumes that calibration and test "
                f"images are exchangeable; here they are not, while the control, exchangeable by "
                f"construction, keeps it."
            )
        else:
            text += (
                "The test scores are not higher on average, so the gap is in the shape of their "
                "distribution, not in how sure the model is on average: the two are not "
                "exchangeable."
            )
    elif tail > target + MISSED:
        text += f"The held-out calibration over-covers by {tail - target:.3f}. " + scores
    else:
        text += "The held-out calibration keeps it too (within a point). " + scores
    return text


def class_paragraph(dataset: str, entry: dict, alpha: str) -> str:
    """What the promise per class buys (worst class) and costs (set size), for max softmax."""
    m = entry["numbers"][REFERENCE]
    marginal, per_class = m["sets"]["lac"][alpha], m["class_sets"]["lac"][alpha]
    gain = per_class["worst_class_coverage"] - marginal["worst_class_coverage"]
    cost = per_class["mean_size"] - marginal["mean_size"]
    return (
        f"**{dataset}, a promise per class**: marginal sets at a = {alpha} cover the worst class "
        f"{marginal['worst_class_coverage']:.3f}; class-conditional sets (one threshold per "
        f"class) {per_class['worst_class_coverage']:.3f} ({'+' if gain >= 0 else ''}{gain:.3f}), "
        f"with sets of {per_class['mean_size']:.2f} classes against {marginal['mean_size']:.2f} "
        f"({'+' if cost >= 0 else ''}{cost:.2f}). Both rest on the held-out calibration, so a "
        f"class-conditional promise is kept only as well as the data are exchangeable."
    )


def _p(value: float) -> str:
    return f"= {value:.2g}" if value >= 1e-4 else "< 1e-4"
