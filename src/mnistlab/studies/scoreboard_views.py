"""What the scoreboard shows: its figures, its report section, its console table."""

from __future__ import annotations

import numpy as np

from mnistlab import plots
from mnistlab.report.document import Section, Table, figures_of, fmt, num
from mnistlab.uncertainty import metrics
from mnistlab.uncertainty.methods import ECE_BINS, MethodOutput

MAIN_FAMILIES_SHOWN = 6


def _shown(methods: list[MethodOutput]) -> list[MethodOutput]:
    """The methods drawn in the comparison figures: one per idea, to keep them readable."""
    wanted = ["max softmax", "temperature"]
    picked = [m for m in methods if any(m.name.startswith(w) for w in wanted)]
    dropout = [m for m in methods if m.family == "weight dropout" and m.name.endswith("vote")]
    if dropout:
        picked.append(dropout[len(dropout) // 2])
    picked += [m for m in methods if m.family in ("MC dropout", "deep ensemble")]
    return picked[:MAIN_FAMILIES_SHOWN]


def figures(writer, dataset: str, methods: list[MethodOutput], labels: np.ndarray) -> None:
    shown = _shown(methods)
    fig, axes = plots.new_axes(len(shown), 1, width=3.4, height=3.4)
    for ax, m in zip(axes[0], shown, strict=True):
        curve = metrics.reliability_curve(labels, m.probabilities["test"], n_bins=ECE_BINS)
        ece = metrics.expected_calibration_error(labels, m.probabilities["test"], n_bins=ECE_BINS)
        plots.reliability_diagram(curve, ax=ax, title=f"{m.name}\nECE {ece:.4f}")
    writer.figure(
        f"reliability-{dataset}",
        fig,
        f"{dataset}: reliability diagrams (accuracy vs confidence per bin).",
    )

    fig, axes = plots.new_axes(1, 1, width=6.5, height=4.2)
    for m in shown:
        error = m.probabilities["test"].argmax(axis=1) != labels
        coverage, risk = metrics.risk_coverage_curve(error, m.score["test"])
        plots.risk_coverage(
            coverage,
            risk,
            label=f"{m.name} (AURC {metrics.aurc(error, m.score['test']):.4f})",
            ax=axes[0, 0],
        )
    axes[0, 0].set_title(f"{dataset}: risk-coverage (keep the most trusted answers first)")
    writer.figure(
        f"risk-coverage-{dataset}",
        fig,
        f"{dataset}: error rate among the answers kept, by coverage.",
    )

    fig, axes = plots.new_axes(len(shown), 1, width=3.4, height=3.0)
    for ax, m in zip(axes[0], shown, strict=True):
        error = m.probabilities["test"].argmax(axis=1) != labels
        trust = 1.0 - m.score["test"] if m.name != "energy" else -m.score["test"]
        plots.confidence_histogram(
            trust[~error],
            trust[error],
            bins=np.linspace(0, 1, 21) + 1e-9,
            density=True,
            ax=ax,
            title=m.name,
            xlabel="confidence (1 - score)",
        )
    writer.figure(
        f"right-wrong-{dataset}",
        fig,
        f"{dataset}: confidence of right and wrong answers per method.",
    )


def _ci(row: dict, key: str) -> str:
    if key not in row or row[key] is None:
        return "n/a"
    ci = row.get(f"{key}_ci")
    text = fmt(100 * num(row[key]), ".1f")
    return f"{text} [{fmt(100 * ci[0], '.1f')}, {fmt(100 * ci[1], '.1f')}]" if ci else text


def sections(document: dict, folder) -> list[Section]:
    opts = document["options"]
    paragraphs = [
        f"Every method gives a score where higher means less trust. Misclassification columns treat wrong answers as "
        f"positives (AUROC with a {opts['bootstrap']}-resample bootstrap 95% interval, AUPR with errors as positives, "
        f"FPR at 95% TPR, area under the risk-coverage curve); out-of-distribution columns give the AUROC of telling "
        f"{opts['ood_size']} images of each other set from the test set. Weight dropout and MC dropout use "
        f"{opts['members']} members; the deep ensemble {opts['ensemble_size']} independently seeded models; the "
        f"temperature is fitted on a validation split held out from training. All scores in %, except ECE, NLL, AURC.",
    ]
    tables, numbers = [], {}
    for dataset, entry in document["datasets"].items():
        rows = entry["rows"]
        ood = [k for k in rows[0] if k.startswith("ood/") and k.endswith("/auroc")]
        header = ["method", "acc", "NLL", "ECE", "AUROC err", "AUPR err", "FPR95 err", "AURC"]
        header += [f"OOD {k.split('/')[1]}" for k in ood]
        table = Table(header, [])
        for r in rows:
            table.rows.append(
                [
                    r["method"],
                    fmt(r["test/acc"], ".4f"),
                    fmt(r["test/nll"], ".4f"),
                    fmt(r["test/ece"], ".4f"),
                    _ci(r, "misclassification/auroc"),
                    fmt(100 * num(r.get("misclassification/aupr_error")), ".1f"),
                    fmt(100 * num(r.get("misclassification/fpr95")), ".1f"),
                    fmt(r["test/aurc"], ".4f"),
                ]
                + [fmt(100 * num(r[k]), ".1f") for k in ood]
            )
            for key in ("test/acc", "test/ece", "misclassification/auroc", "test/aurc", *ood):
                numbers[f"{dataset}/{r['method']}/{key}"] = r.get(key)
        tables.append(table)
        paragraphs.append(
            f"**{dataset}** (temperature T = {fmt(entry['temperature'], '.2f')}): "
            + "; ".join(line.split(": ", 1)[1] for line in entry["verdict"])
            + "."
        )
    section = Section(
        "scoreboard",
        "Which confidence signal tells right from wrong?",
        paragraphs,
        tables,
        figures_of(document, folder),
        numbers,
    )
    return [section]


def console_table(datasets: dict) -> str:
    """The scoreboard as the command prints it: one block per data set, AUROC in %."""
    lines = []
    for dataset, entry in datasets.items():
        lines.append(f"{dataset} (T = {entry['temperature']:.2f}; AUROC in %)")
        ood = [k for k in entry["rows"][0] if k.startswith("ood/") and k.endswith("/auroc")]
        header = (
            f"  {'method':34s} {'acc':>7s} {'ECE':>7s} {'AUROC':>6s} {'FPR95':>6s} {'AURC':>7s} "
            + " ".join(f"{k.split('/')[1][:8]:>8s}" for k in ood)
        )
        lines.append(header)
        for r in entry["rows"]:
            auroc = r.get("misclassification/auroc", float("nan")) or float("nan")
            fpr = r.get("misclassification/fpr95", float("nan")) or float("nan")
            lines.append(
                f"  {r['method']:34s} {r['test/acc']:7.4f} {r['test/ece']:7.4f} {100 * auroc:6.1f} "
                f"{100 * fpr:6.1f} {r['test/aurc']:7.4f} "
                + " ".join(f"{100 * r[k]:8.1f}" for k in ood)
            )
    return "\n".join(lines)
