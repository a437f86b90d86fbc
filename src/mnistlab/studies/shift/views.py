"""What the shift study says: its report section (tables, verdicts) and its console lines.
The figures are drawn in figures.py."""

from __future__ import annotations

import re

import numpy as np

from mnistlab.report.document import Section, Table, better_by_words, figures_of, seed_mean
from mnistlab.studies.framework.method_study import keys_of_kind, labels_of
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.scoreboard.verdict import interval_text
from mnistlab.studies.shift.verdict import CONTENDERS
from mnistlab.uncertainty import PROBABILITIES

METRICS = (
    ("cls/acc", "accuracy"),
    ("cal/ece", "ECE"),
    ("cal/brier", "Brier score"),
    ("cal/nll", "NLL"),
    ("err/auroc", "misclassification AUROC"),
)
ANGLES_SHOWN = (0, 60, 90, 180)  # the levels the closing note asks for
LETTERS_KEY = "ood/letters"

SHIFT_BETTER = {"acc": "high", "ECE": "low", "Brier": "low"}  # the tables' best, marked


def family_mean(numbers: dict, keys, metric: str) -> dict:
    """A method's metric averaged over a family's shifted sets, per seed, then over seeds."""
    per_seed = np.mean([numbers[k][f"{metric}_seeds"] for k in keys], axis=0)
    return over_seeds([{metric: float(v)} for v in per_seed])


EXPECTED_SIGN = {  # the sign each statement's paired differences have when it holds
    "calibration_degrades": +1,
    "ensemble_best": -1,
    "temperature_breaks": +1,
    "weight_dropout_like_ensemble": -1,
}
LISTED = 6  # exceptions listed per statement and data set


def _interval(label: str, result: dict) -> str:
    return f"{label} {interval_text(result).replace(' points', '')}"


def _verdict_paragraphs(document: dict) -> list[str]:
    """Per statement: the verdict, then per data set how many paired intervals went the stated
    way, and the exceptions with their intervals (ECE and Brier × 100)."""
    lines = []
    for key, v in document["verdicts"].items():
        per = ", ".join(f"{d}: {x}" for d, x in v["per_dataset"].items())
        lines.append(f"**{v['statement']}** {v['criterion']} Verdict: **{v['verdict']}** ({per}).")
        for dataset, entry in document["datasets"].items():
            verdict = entry["verdicts"]["statements"][key]
            comparisons = verdict["comparisons"]
            wanted = EXPECTED_SIGN[key]
            held = [label for label, c in comparisons.items() if c["sign"] == wanted]
            others = [
                _interval(label, c) for label, c in comparisons.items() if c["sign"] != wanted
            ]
            text = f"{dataset}: {len(held)} of {len(comparisons)} intervals as stated"
            if others:
                text += f"; not: {'; '.join(others[:LISTED])}" + (
                    " …" if len(others) > LISTED else ""
                )
            short = labels_of(entry).__getitem__
            if "per_p" in verdict:
                text += ". Against the deep ensemble: " + "; ".join(
                    _interval(label, c) for label, c in verdict["versus_ensemble"].items()
                )
                text += ". Per p: " + "; ".join(
                    f"{short(p)}: {x}" for p, x in verdict["per_p"].items()
                )
            lines.append(text + ".")
    for dataset, entry in document["datasets"].items():
        excluded, short = entry["verdicts"]["excluded"], labels_of(entry).__getitem__
        if excluded:
            brier = entry["verdicts"]["clean_brier_vs_softmax"]
            lines.append(
                f"{dataset}: left out of the statements as no contender (clean Brier score clearly "
                f"more than 10% above max softmax's; difference × 100): "
                + "; ".join(_interval(short(n), brier[n]) for n in excluded)
                + "."
            )
    return lines


def sections(document: dict, folder) -> list[Section]:
    opts = document["options"]
    seeds = len(document.get("seeds", [])) or 1
    paragraphs = [
        f"The same {opts['images']} test images of each data set, rotated (0-180° in 15° steps), "
        f"translated (np.roll along the width, 0-26 pixels) and corrupted ({len(opts['levels']['corruption'])} "
        f"MNIST-C corruptions, one severity each), as in Ovadia et al. 2019; every scoreboard method on "
        f"the scoreboard's models (weight and MC dropout with {opts['members']} members, deep ensemble of "
        f"{opts['ensemble_size']}); temperature fitted on held-out training data. Numbers are mean ± std over "
        f"{seeds} seed replicate(s). The letters are {opts['images']} images of A-J drawn from matplotlib's fonts "
        f"(a notMNIST stand-in, no download): an out-of-distribution AUROC against the clean images.",
        f"Verdicts rest on paired intervals: one bootstrap resample of the images ({opts['bootstrap']} "
        f"resamples) serves every level, method and seed, and the seeds are resampled too. ECE and Brier "
        f"differences are × 100 below. {CONTENDERS} ECE measured on {opts['images']} images has a "
        f"sampling floor (a perfectly calibrated model scores above 0 on a finite sample), larger than "
        f"on the full test set: compare clean ECEs with the scoreboard's, not across sample sizes.",
    ]
    tables, numbers = [], {}
    for dataset, entry in document["datasets"].items():
        names, short = probability_methods_from(entry), labels_of(entry).__getitem__
        rotation = dict(
            zip(document["options"]["levels"]["rotation"], entry["sets"]["rotation"], strict=True)
        )
        angles = [a for a in ANGLES_SHOWN if a in rotation]
        table = Table(
            [f"{dataset}: method", *[f"acc {a}°" for a in angles], *[f"ECE {a}°" for a in angles]],
            [],
        )
        for n in names:
            cells = entry["numbers"][n]
            table.rows.append(
                [short(n)]
                + [seed_mean(cells[rotation[a]], "cls/acc") for a in angles]
                + [seed_mean(cells[rotation[a]], "cal/ece") for a in angles]
            )
            for a in angles:
                for metric in ("cls/acc", "cal/ece"):
                    numbers[f"{dataset}/{n}/rotation/{a}/{metric}"] = cells[rotation[a]][metric]
        table.better = better_by_words(table.header, SHIFT_BETTER)
        tables.append(table)
        means = Table(
            [
                f"{dataset}: method",
                *[
                    f"{f} {m}"
                    for f in ("rotation", "translation", "corruption")
                    for m in ("acc", "ECE", "Brier")
                ],
            ],
            [],
        )
        for n in names:
            row = [short(n)]
            for family in ("rotation", "translation", "corruption"):
                keys = [k for k in entry["sets"][family] if k != "test"]
                for metric in ("cls/acc", "cal/ece", "cal/brier"):
                    row.append(seed_mean(family_mean(entry["numbers"][n], keys, metric), metric))
            means.rows.append(row)
        means.better = better_by_words(means.header, SHIFT_BETTER)
        tables.append(means)
    letters = Table(
        [
            "method",
            *[f"letters OOD AUROC, {d} model" for d in document["datasets"]],
            *[f"Δ vs max softmax, {d}" for d in document["datasets"]],
        ],
        [],
    )
    letters.better = better_by_words(letters.header, {"letters OOD AUROC": "high"})
    first = next(iter(document["datasets"].values()))
    for n, method in {m["key"]: m for m in first["methods"]}.items():
        row = [method["name"]]
        for dataset, entry in document["datasets"].items():
            row.append(seed_mean(entry["letters_ood"][n], "auroc", ".1f", scale=100))
            numbers[f"{dataset}/{n}/letters/auroc"] = entry["letters_ood"][n]["auroc"]
        for entry in document["datasets"].values():
            result = entry["letters_vs_softmax"].get(n)
            row.append(interval_text(result).replace(" points", "") if result else "(reference)")
        letters.rows.append(row)
    tables.append(letters)
    verdict_table = Table(["statement", "verdict", *document["datasets"]], [])
    for key, v in document["verdicts"].items():
        verdict_table.rows.append([v["statement"], v["verdict"], *v["per_dataset"].values()])
        numbers[f"verdict/{key}"] = v["verdict"]
    tables.append(verdict_table)
    paragraphs += _verdict_paragraphs(document)
    return [
        Section(
            "shift",
            "Can the confidence be trusted when the data move?",
            paragraphs,
            tables,
            figures_of(document, folder),
            numbers,
            finding="; ".join(
                f"{re.sub(r' [(].*?[)]', '', v['statement']).rstrip('.')}: **{v['verdict']}**"
                for v in document["verdicts"].values()
            ),
        )
    ]


def summary_lines(results: dict, verdicts: dict, levels: dict) -> list[str]:
    lines = []
    for dataset, entry in results.items():
        rotation = dict(zip(levels["rotation"], entry["sets"]["rotation"], strict=True))
        angles = [a for a in ANGLES_SHOWN if a in rotation]
        lines.append(
            f"{dataset} ({entry['images_per_level']} images per level): accuracy / ECE at "
            + ", ".join(f"{a}°" for a in angles)
            + "; letters OOD AUROC"
        )
        short = labels_of(entry).__getitem__
        for n in probability_methods_from(entry):
            cells = entry["numbers"][n]
            acc = " ".join(f"{cells[rotation[a]]['cls/acc']:.3f}" for a in angles)
            ece = " ".join(f"{cells[rotation[a]]['cal/ece']:.3f}" for a in angles)
            lines.append(
                f"  {short(n):26s} {acc} / {ece} ; {100 * entry['letters_ood'][n]['auroc']:.1f}"
            )
    for v in verdicts.values():
        lines.append(f"{v['statement']} -> {v['verdict']}")
    return lines


def probability_methods_from(entry: dict) -> list[str]:
    """The keys of the methods with probabilities of their own, from saved results (the rule
    of verdict.probability_methods)."""
    return keys_of_kind(entry, PROBABILITIES)
