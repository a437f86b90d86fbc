"""What the conformal study shows: coverage against a, set sizes, coverage against rotation,
answers kept against the error bound; its report section and console lines."""

from __future__ import annotations

from mnistlab import plots
from mnistlab.report.document import Section, Table, better_by_words, figures_of, seed_mean
from mnistlab.studies.conformal import promise_views
from mnistlab.studies.framework.method_study import keys_of_kind, labels_of
from mnistlab.uncertainty import PROBABILITIES

ROTATIONS = (0, 30, 60, 90, 120, 150, 180)  # the angles the sets are checked at
SHOWN_SCORES = ("lac", "aps")  # the two the tables show; all four are in results.json


def figures(writer, dataset: str, entry: dict, alphas) -> None:
    """The lines: every method with probabilities of its own (vote shares: in the tables)."""
    methods, short = entry["numbers"], labels_of(entry).__getitem__
    names = keys_of_kind(entry, PROBABILITIES)
    alphas = sorted(alphas)
    fig, axes = plots.panel_grid(4, width=3.4, height=3.2)
    for ax, score in zip(axes, ("lac", "aps", "aps-randomized", "raps"), strict=True):
        series = {
            short(n): (
                [methods[n]["sets"][score][f"{a:g}"]["coverage"] for a in alphas],
                [methods[n]["sets"][score][f"{a:g}"]["coverage_std"] for a in alphas],
            )
            for n in names
        }
        plots.metric_lines(alphas, series, ax=ax, title=score, xlabel="a", legend=ax is axes[0])
        ax.plot(alphas, [1 - a for a in alphas], "k--", lw=1, label="1 - a")
    writer.figure(
        f"coverage-{dataset}",
        fig,
        f"{dataset}: test coverage against a, per score and method (dashed: the promised 1 - a).",
    )

    middle = f"{alphas[len(alphas) // 2]:g}"
    by_size = {n: methods[n]["sets"]["lac"][middle]["by_size"] for n in names}
    largest_size = max(int(k) for sizes in by_size.values() for k in sizes)
    shown_sizes = range(largest_size + 1)
    shares = {
        short(n): [
            by_size[n].get(str(k), by_size[n].get(k, {"share": 0.0}))["share"] for k in shown_sizes
        ]
        for n in names
    }
    fig, axes = plots.new_axes(1, 1, width=9.5, height=3.6)
    plots.grouped_bars(
        [str(k) for k in shown_sizes],
        shares,
        ax=axes[0, 0],
        ylabel="share of test images",
        title=f"{dataset}: LAC set sizes at a = {middle} (first seed)",
        bar_labels=False,  # a dozen bars per size: their numbers would run together
    )
    writer.figure(
        f"set-size-{dataset}",
        fig,
        f"{dataset}: how many classes the LAC sets hold at a = {middle}.",
    )

    largest = f"{alphas[-1]:g}"
    fig, axes = plots.new_axes(2, 1, width=4.6, height=3.6)
    for ax, score in zip(axes[0], SHOWN_SCORES, strict=True):
        series = {
            short(n): (
                [methods[n]["sets"][score][largest][f"rotation/{a}/coverage"] for a in ROTATIONS],
                [
                    methods[n]["sets"][score][largest][f"rotation/{a}/coverage_std"]
                    for a in ROTATIONS
                ],
            )
            for n in names
        }
        plots.metric_lines(
            list(ROTATIONS),
            series,
            ax=ax,
            title=f"{score}, a = {largest}",
            xlabel="rotation (degrees)",
            legend=ax is axes[0, 0],
        )
        ax.axhline(1 - float(largest), color="black", ls="--", lw=1)
    writer.figure(
        f"rotation-{dataset}",
        fig,
        f"{dataset}: coverage of sets calibrated on clean images, on rotated test images "
        f"(dashed: the promise, which holds only for data like the calibration data).",
    )

    targets = sorted(float(e) for e in methods[names[0]]["abstention"])
    fig, axes = plots.new_axes(2, 1, width=4.6, height=3.6)
    for ax, key, title in (
        (axes[0, 0], "kept", "share of answers kept"),
        (axes[0, 1], "error", "error among kept"),
    ):
        series = {
            short(n): (
                [methods[n]["abstention"][f"{e:g}"][key] for e in targets],
                [methods[n]["abstention"][f"{e:g}"][f"{key}_std"] for e in targets],
            )
            for n in names
        }
        plots.metric_lines(
            targets, series, ax=ax, title=title, xlabel="error bound e", legend=ax is axes[0, 0]
        )
    axes[0, 1].plot(targets, targets, "k--", lw=1)
    writer.figure(
        f"abstention-{dataset}",
        fig,
        f"{dataset}: answer only below a threshold fitted on held-out data so that the kept "
        f"error is at most e with 95% confidence: test share kept and test error (dashed: e).",
    )
    promise_views.recalibration_figure(writer, dataset, entry, largest)


def _cell(entry: dict, key: str) -> str:
    return seed_mean(entry, key, ".3f")


def sections(document: dict, folder) -> list[Section]:
    opts = document["options"]
    alphas = [f"{a:g}" for a in opts["alpha"]]
    seeds = len(document.get("seeds", [])) or 1
    first = next(iter(document["datasets"].values()))
    paragraphs = [
        f"Split conformal prediction: nonconformity scores LAC (1 - p_y), APS (the mass ranked above y, "
        f"plus p_y, or u p_y when randomized) and RAPS (APS + 0.01 per rank above 2); q is the "
        f"ceil((n + 1)(1 - a))-th smallest calibration score, and a test image's set holds every class "
        f"scoring at most q. Calibrated on {first['calibration_size']} images of the validation split "
        f"held out from training (its other {first['fit_size']} fit the temperature and Laplace's prior); "
        f"scored on {first['test_size']} test images and on {first['rotation_images']} rotated ones. "
        f"For exchangeable data the coverage is at least 1 - a. Mean ± std over {seeds} seed replicate(s).",
        f"Abstention: answer only when the method's score is at most t; t is the largest threshold, "
        f"tried in a fixed sequence from the most trusted answers outwards, whose Clopper-Pearson upper "
        f"bound on the kept error rate (from the calibration images) is at most e, at confidence "
        f"{1 - opts['delta']:.0%}. Shown: the share of test answers kept and their error rate.",
        f"Is the promise kept? Beside each coverage calibrated on the held-out tail: its 95% interval "
        f"(two-stage bootstrap over seeds and test images, {opts.get('bootstrap', 'n/a')} resamples), "
        f"and an exchangeable control: the same sets calibrated on {first['calibration_size']} random "
        f"test images and scored on the others, over {first.get('control_splits', 200)} splits "
        f"(mean, and 5th-95th percentile of the splits), which must cover 1 - a whatever the data. "
        f"Class-conditional sets calibrate one threshold per class, on that class's calibration images. "
        f"Recalibration: the sets' threshold refitted on n of the {first['rotation_images']} labelled "
        f"rotated test images and scored on the others, averaged over "
        f"{opts.get('recalibration', {}).get('draws', 'n/a')} random splits per n.",
    ]
    tables, numbers = [], {}
    for dataset, entry in document["datasets"].items():
        methods = entry["numbers"]
        display = {m["key"]: m["name"] for m in entry["methods"]}
        header = [f"{dataset}: method"]
        for score in SHOWN_SCORES:
            for a in alphas:
                header += [f"{score} a={a} coverage", "size"]
        table = Table(header, [])
        with_sets = {name: m for name, m in methods.items() if "sets" in m}
        for name, m in with_sets.items():
            row = [display[name]]
            for score in SHOWN_SCORES:
                for a in alphas:
                    cell = m["sets"][score][a]
                    row += [_cell(cell, "coverage"), seed_mean(cell, "mean_size", ".2f")]
                    numbers[f"{dataset}/{name}/{score}/{a}/coverage"] = cell["coverage"]
                    numbers[f"{dataset}/{name}/{score}/{a}/mean_size"] = cell["mean_size"]
            table.rows.append(row)
        tables.append(table)
        largest = alphas[-1]
        detail = Table(
            [
                f"{dataset}, LAC a={largest}: method",
                "empty",
                "singleton",
                "worst class coverage",
                f"coverage at {ROTATIONS[3]}°",
                f"coverage at {ROTATIONS[-1]}°",
                "RAPS size",
                "APS randomized size",
            ],
            [],
        )
        for name, m in with_sets.items():
            lac = m["sets"]["lac"][largest]
            detail.rows.append(
                [
                    display[name],
                    _cell(lac, "empty"),
                    _cell(lac, "singleton"),
                    _cell(lac, "worst_class_coverage"),
                    _cell(lac, f"rotation/{ROTATIONS[3]}/coverage"),
                    _cell(lac, f"rotation/{ROTATIONS[-1]}/coverage"),
                    seed_mean(m["sets"]["raps"][largest], "mean_size", ".2f"),
                    seed_mean(m["sets"]["aps-randomized"][largest], "mean_size", ".2f"),
                ]
            )
        tables.append(detail)
        targets = list(next(iter(methods.values()))["abstention"])
        abstain = Table([f"{dataset}: method", *[f"e={e}: kept / error" for e in targets]], [])
        abstain.better = better_by_words(abstain.header, {"kept": "high"})  # under the bound
        for name, m in methods.items():
            abstain.rows.append(
                [display[name]]
                + [
                    f"{_cell(m['abstention'][e], 'kept')} / {_cell(m['abstention'][e], 'error')}"
                    for e in targets
                ]
            )
            for e in targets:
                numbers[f"{dataset}/{name}/abstention/{e}/kept"] = m["abstention"][e]["kept"]
                numbers[f"{dataset}/{name}/abstention/{e}/error"] = m["abstention"][e]["error"]
        tables.append(abstain)
        tables.append(promise_views.promise_table(dataset, entry, alphas, numbers))
        tables.append(promise_views.class_table(dataset, entry, largest, numbers))
        tables.append(promise_views.recalibration_table(dataset, entry, largest))
        paragraphs.append(_findings(dataset, entry, alphas))
        paragraphs.append(promise_views.promise_paragraph(dataset, entry, largest))
        paragraphs.append(promise_views.class_paragraph(dataset, entry, largest))
    return [
        Section(
            "conformal",
            "Answers with a promise: conformal sets and abstention",
            paragraphs,
            tables,
            figures_of(document, folder),
            numbers,
            finding=promise_views.promise_finding(document["datasets"], alphas[-1]),
        )
    ]


def _findings(dataset: str, entry: dict, alphas: list[str]) -> str:
    """The findings in numbers: coverage held or not, smallest sets, where the promise breaks."""
    largest, short = alphas[-1], labels_of(entry).__getitem__
    lac = {n: m["sets"]["lac"][largest] for n, m in entry["numbers"].items() if "sets" in m}
    held = [n for n, c in lac.items() if c["coverage"] >= 1 - float(largest) - 0.01]
    smallest = min(lac, key=lambda n: lac[n]["mean_size"])
    broken = {
        n: next(
            (a for a in ROTATIONS if c[f"rotation/{a}/coverage"] < 1 - float(largest) - 0.05), None
        )
        for n, c in lac.items()
    }
    angles = sorted({a for a in broken.values() if a is not None})
    if not angles:
        rotation = "at no angle tried."
    elif len(angles) == 1:
        share = sum(a is not None for a in broken.values())
        rotation = f"at {angles[0]}° for {share} of {len(lac)} methods" + (
            "." if share == len(lac) else "; the others hold at every angle tried."
        )
    else:
        rotation = f"between {angles[0]}° and {angles[-1]}°, depending on the method."
    return (
        f"**{dataset}**: at a = {largest}, LAC's test coverage is within a point of {1 - float(largest):.2f} "
        f"or above for {len(held)} of {len(lac)} methods; the smallest sets are {short(smallest)}'s "
        f"({lac[smallest]['mean_size']:.2f} classes on average). On rotated images (0° is the "
        f"unrotated sample) the coverage first falls more than 5 points below the promise "
        + rotation
    )


def summary_lines(results: dict, alphas) -> list[str]:
    lines = []
    largest = f"{sorted(alphas)[-1]:g}"
    for dataset, entry in results.items():
        lines.append(
            f"{dataset}: LAC at a = {largest}: coverage, mean size; abstention e=0.02: kept, error"
        )
        short = labels_of(entry).__getitem__
        for name, m in entry["numbers"].items():
            if "sets" not in m:
                continue
            lac, keep = m["sets"]["lac"][largest], m["abstention"]["0.02"]
            lines.append(
                f"  {short(name):32s} {lac['coverage']:.3f} {lac['mean_size']:5.2f} ; {keep['kept']:.3f} {keep['error']:.4f}"
            )
    return lines
