"""What the OOD study shows: score histograms of the best three methods, the tables per
protocol, the open-set table beside oodeel's numbers, the tuned values and the verdicts."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.report.document import Section, Table, figures_of, fmt, seed_mean
from mnistlab.studies.ood.protocols import FAR, NEAR, OODEEL, OPEN, OPEN_SET_KEY, RULE
from mnistlab.studies.scoreboard.verdict import REFERENCE, interval_text
from mnistlab.uncertainty.tuning import RULE as TUNING_RULE

SHOWN = 3  # methods drawn per protocol: the best by mean AUROC over its groups
GROUP_COLOURS = {NEAR: plots.OTHER, FAR: plots.WRONG, OPEN: plots.OTHER}


def best_methods(entry: dict, count: int = SHOWN) -> list[str]:
    """The keys of the methods with the highest mean AUROC over the protocol's groups."""
    groups = list(dict.fromkeys(entry["groups"].values()))
    mean = {k: np.mean([v[g]["auroc"] for g in groups]) for k, v in entry["numbers"].items()}
    return sorted(mean, key=mean.get, reverse=True)[:count]


def histograms(writer, name: str, dataset: str, entry: dict, outputs: list) -> None:
    """In-distribution scores against each group's, for the best three (the first seed)."""
    by_key = {m.key: m for m in outputs}
    shown = [by_key[k] for k in best_methods(entry)]
    fig, axes = plots.panel_grid(len(shown), width=3.1, height=2.8)
    for ax, method in zip(axes, shown, strict=True):
        values = {"in distribution": method.score["test"]}
        for group in dict.fromkeys(entry["groups"].values()):
            keys = [k for k, g in entry["groups"].items() if g == group]
            values[group] = np.concatenate([method.score[k] for k in keys])
        bins = plots.spanning_bins(np.concatenate(list(values.values())), 40)
        for (label, v), colour in zip(
            values.items(),
            [plots.RIGHT, *(GROUP_COLOURS[g] for g in list(values)[1:])],
            strict=True,
        ):
            plots.filled_histogram(
                ax,
                np.clip(v, bins[0], bins[-1]),
                bins,
                density=True,
                alpha=0.55,
                color=colour,
                label=label,
            )
        auroc = "; ".join(
            f"{g} {100 * entry['numbers'][method.key][g]['auroc']:.1f}" for g in list(values)[1:]
        )
        ax.set_title(plots.plain(f"{method.label}\nAUROC {auroc}"))
        ax.set_xlabel("score (higher = less trust)")
        ax.set_ylabel("density")
        ax.legend(loc="best", fontsize="small")
    writer.figure(
        f"scores-{name}",
        fig,
        f"{dataset}, {name.split(dataset + '-', 1)[1].replace('-', ' ')}: scores of the test "
        f"images against the out-of-distribution images, for the three best methods (first seed).",
    )


def _delta(entry: dict, key: str, name: str) -> str:
    result = entry["comparisons"].get(key, {}).get(name)
    return "reference" if result is None else interval_text(result).replace(" points", "")


def protocol_table(entry: dict, labels: dict, columns: list[str], title: str) -> Table:
    """One row per method: AUROC (%) and its paired difference to max softmax per column (a
    group or a set), then FPR95 (%) per group. title: what the table is about, in its first
    header cell (several follow one another)."""
    groups = list(dict.fromkeys(entry["groups"].values()))
    short = {c: c.split("/", 1)[-1] for c in columns}
    header = [f"{title}: method"]
    for c in columns:
        header += [f"AUROC {short[c]}", f"Δ {short[c]} [95%]"]
    header += [f"FPR95 {g}" for g in groups]
    better = {f"AUROC {short[c]}": "high" for c in columns} | {f"FPR95 {g}": "low" for g in groups}
    table = Table(header, [], better)
    for key, numbers in entry["numbers"].items():
        row = [labels.get(key, key)]
        for c in columns:
            row += [seed_mean(numbers[c], "auroc", ".1f", scale=100), _delta(entry, key, c)]
        row += [seed_mean(numbers[g], "fpr95_in", ".1f", scale=100) for g in groups]
        table.rows.append(row)
    return table


def open_set_table(datasets: dict, labels: dict) -> Table | None:
    """Open-set AUROC per architecture and data set, with oodeel's MNIST numbers."""
    columns = [(d, p) for d, entry in datasets.items() for p in entry if p.startswith("open set")]
    if not columns:
        return None
    header = ["open set AUROC: method"]
    header += [f"{d} {p.removeprefix('open set ')}" for d, p in columns]
    header += ["oodeel TF (mnist)", "oodeel PyTorch (mnist)"]
    table = Table(header, [])  # shown whole, unranked: a comparison with published numbers
    first = datasets[columns[0][0]][columns[0][1]]["numbers"]
    for key in first:
        cells = [
            seed_mean(datasets[d][p]["numbers"][key][OPEN], "auroc", ".3f") for d, p in columns
        ]
        reference = OODEEL.get(key)
        cells += [fmt(v, ".3f") for v in reference] if reference else ["", ""]
        table.rows.append([labels.get(key, key), *cells])
    return table


def spearman(a, b) -> float:
    """Spearman's rank correlation (ties take their average rank), as scipy.stats.spearmanr
    computes it (tested against it): a few values, not worth importing scipy.stats for in a
    report that reuses everything."""
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _ranks(values) -> np.ndarray:
    values = np.asarray(values, np.float64)
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def open_set_agreement(datasets: dict) -> str:
    """Where our open-set MNIST ranking agrees with oodeel's TensorFlow numbers, and where not:
    the rank correlation over the methods both report, and the leaders of each."""
    entries = {p: e for p, e in datasets.get("mnist", {}).items() if p.startswith("open set")}
    lines = []
    for protocol, entry in entries.items():
        shared = [k for k in OODEEL if k in entry["numbers"]]
        if len(shared) < 3:
            continue
        ours = [entry["numbers"][k][OPEN]["auroc"] for k in shared]
        theirs = [OODEEL[k][0] for k in shared]
        rho = spearman(ours, theirs)
        common = _top_two(shared, ours) & _top_two(shared, theirs)
        gap = np.mean(ours) - np.mean(theirs)
        lines.append(
            f"{protocol.removeprefix('open set ')}: rank correlation with oodeel (TF) over "
            f"{len(shared)} methods {rho:+.2f}; the two best agree on "
            f"{', '.join(sorted(common)) or 'none'}; our AUROCs are {abs(gap):.3f} "
            f"{'higher' if gap > 0 else 'lower'} on average"
        )
    return "; ".join(lines)


def _top_two(keys: list[str], values: list[float]) -> set[str]:
    return {keys[i] for i in np.argsort(values)[-2:]}


def _value_text(value) -> str:
    """85.0 -> '85'; [1000.0, 0.0014] -> 'T 1000, eps 0.0014' (ODIN's pair)."""
    if isinstance(value, (list, tuple)):
        return f"T {value[0]:g}, eps {value[1]:g}"
    return f"{value:g}"


def _tuned_table(datasets: dict, labels: dict) -> Table:
    """The detector hyperparameters chosen per protocol: every seed's value, and the held-out
    AUROC that chose it."""
    header = ["tuned: data set", "protocol", "method", "chosen (per seed)", "validation AUROC"]
    table = Table(header, [])
    for dataset, entry in datasets.items():
        for protocol, numbers in entry.items():
            names = dict.fromkeys(n for seed in numbers["tuned"] for n in seed)
            for name in names:
                found = [seed[name] for seed in numbers["tuned"] if name in seed]
                values = "; ".join(_value_text(f["value"]) for f in found)
                aurocs = "; ".join(f"{100 * f['auroc']:.1f}" for f in found)
                table.rows.append([dataset, protocol, labels.get(name, name), values, aurocs])
    return table


def verdict(dataset: str, protocol: str, entry: dict, labels: dict) -> list[str]:
    """One line per group: the best method, max softmax, and who beats it (paired)."""
    lines = []
    for group in dict.fromkeys(entry["groups"].values()):
        numbers = {k: v[group] for k, v in entry["numbers"].items()}
        best = max(numbers, key=lambda k: numbers[k]["auroc"])
        judged = {k: c[group]["verdict"] for k, c in entry["comparisons"].items()}
        better = [labels.get(k, k) for k, v in judged.items() if v == "better"]
        worse = sum(v == "worse" for v in judged.values())
        result = entry["comparisons"].get(best, {}).get(group)
        lines.append(
            f"{dataset}, {protocol}, {group}: best {labels.get(best, best)} at AUROC "
            f"{seed_mean(numbers[best], 'auroc', '.1f', scale=100)}"
            + (f" ({interval_text(result)} over max softmax)" if result else "")
            + f", max softmax {seed_mean(numbers[REFERENCE], 'auroc', '.1f', scale=100)}; "
            f"{len(better)} of {len(judged)} beat max softmax (paired 95% interval above 0), "
            f"{worse} {'is' if worse == 1 else 'are'} worse"
        )
    return lines


def _finding(dataset: str, entry: dict, labels: dict) -> str:
    """The best method on near OOD and on each open set, against max softmax."""
    parts = []
    for protocol, numbers in entry.items():
        group = NEAR if protocol == "standard" else OPEN
        by_method = {k: v[group] for k, v in numbers["numbers"].items()}
        best = max(by_method, key=lambda k: by_method[k]["auroc"])
        where = "near OOD" if group == NEAR else protocol
        parts.append(
            f"{where}: **{labels.get(best, best)}** AUROC "
            f"{seed_mean(by_method[best], 'auroc', '.1f', scale=100)} (max softmax "
            f"{seed_mean(by_method[REFERENCE], 'auroc', '.1f', scale=100)})"
        )
    return f"{dataset}: " + ", ".join(parts)


def _labels(document: dict) -> dict:
    return {m["key"]: m["label"] for m in document["options"]["methods"]}


def summary_lines(document: dict, labels: dict) -> list[str]:
    """The verdicts as the command prints them (labels: {method key: its display label})."""
    return [
        line
        for dataset, entry in document["datasets"].items()
        for protocol, numbers in entry.items()
        for line in verdict(dataset, protocol, numbers, labels)
    ]


def sections(document: dict, folder) -> list[Section]:
    labels, datasets = _labels(document), document["datasets"]
    opts = document["options"]
    seeds = len(document["seeds"])
    paragraphs = [
        f"Each method's score tells the test images (in distribution) from images of another "
        f"kind, over {seeds} seed replicate(s) of each model. Near and far, the rule: {RULE}. "
        f"The near and far numbers are the mean over their sets (OpenOOD's). FPR95 is the share "
        f"of out-of-distribution images still trusted at the threshold that keeps 95% of the "
        f"test images (in-distribution positive: OpenOOD's definition, and the scoreboard's). Δ is the paired difference in AUROC points to max "
        f"softmax: seeds and images resampled together ({opts['bootstrap']} resamples), 95% "
        f"interval; better or worse only when it excludes 0.",
        f"Hyperparameters (ODIN's T and epsilon, KNN's k, the ReAct, ASH and SCALE percentiles) "
        f"are {TUNING_RULE}; the values chosen are in the last table. Ensembles and weight dropout "
        f"are compared in the scoreboard.",
        f"Open set: models trained on classes 0-4 only (the same recipe), the test images of 5-9 "
        f"out of distribution, beside oodeel's published numbers for MNIST (a small convnet, one "
        f"run). {open_set_agreement(datasets)}.",
    ]
    tables, lines = [], []
    for dataset, entry in datasets.items():
        for protocol, numbers in entry.items():
            groups = list(dict.fromkeys(numbers["groups"].values()))
            near_sets = [k for k, g in numbers["groups"].items() if g == NEAR]
            columns = groups + near_sets if protocol == "standard" else [OPEN_SET_KEY]
            title = f"{dataset} model, {'near and far' if protocol == 'standard' else protocol}"
            tables.append(protocol_table(numbers, labels, columns, title))
            lines += verdict(dataset, protocol, numbers, labels)
    if (table := open_set_table(datasets, labels)) is not None:
        tables.append(table)
    tables.append(_tuned_table(datasets, labels))
    paragraphs += [f"**{line.split(': ', 1)[0]}**: {line.split(': ', 1)[1]}." for line in lines]
    numbers = {
        f"{d}/{p}/{k}/{g}": [v[g]["auroc"], v[g]["fpr95_in"]]
        for d, entry in datasets.items()
        for p, protocol in entry.items()
        for k, v in protocol["numbers"].items()
        for g in dict.fromkeys(protocol["groups"].values())
    }
    finding = "; ".join(_finding(d, entry, labels) for d, entry in datasets.items())
    return [
        Section(
            "ood",
            "Which detector tells in-distribution images from the rest?",
            paragraphs,
            tables,
            figures_of(document, folder),
            numbers,
            finding=finding,
        )
    ]
