"""What the scoreboard shows: its figures, its report section, its console table."""

from __future__ import annotations

import textwrap

import numpy as np

from mnistlab import plots
from mnistlab.report.document import Section, Table, figures_of, fmt, num, seed_mean
from mnistlab.studies.scoreboard.verdict import REFERENCE, interval_text
from mnistlab.uncertainty import ECE_BINS, VOTE_SHARES, MethodOutput, is_builtin, metrics

MAIN_FAMILIES_SHOWN = 8
SYNTHETIC_OOD = ("ood/uniform", "ood/gaussian", "ood/inverted")


def _shown(methods: list[MethodOutput]) -> list[MethodOutput]:
    """The methods drawn in the comparison figures: one per idea, to keep them readable."""
    picked = [m for m in methods if m.key in ("msp", "temperature", "laplace")]
    votes = [m for m in methods if m.family == "weight dropout" and m.kind == VOTE_SHARES]
    if votes:
        picked.append(votes[len(votes) // 2])
    picked += [m for m in methods if m.key in ("mc-dropout", "ensemble")]
    # Methods added to the registry (a plugin, a notebook) are drawn too, after these.
    picked += [m for m in methods if not is_builtin(m.key)]
    return picked[:MAIN_FAMILIES_SHOWN]


def figures(writer, dataset: str, methods: list[MethodOutput], labels: np.ndarray) -> None:
    shown = _shown(methods)
    fig, axes = plots.panel_grid(len(shown), width=3.1, height=3.2)
    for ax, m in zip(axes, shown, strict=True):
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

    fig, axes = plots.panel_grid(len(shown), width=3.1, height=2.8)
    for ax, m in zip(axes, shown, strict=True):
        error = m.probabilities["test"].argmax(axis=1) != labels
        score = m.score["test"]
        # 1 - score where the score is a probability's complement; a score on another scale
        # (energy, a max logit) is drawn as its negation
        unit = score.min() >= 0.0 and score.max() <= 1.0
        trust = 1.0 - score if unit else -score
        # A max logit's trust lies far outside [0, 1]: its bins span its own range
        bins = np.linspace(0, 1, 21) + 1e-9 if unit else plots.spanning_bins(trust, 20)
        plots.confidence_histogram(
            np.clip(trust[~error], bins[0], bins[-1]),
            np.clip(trust[error], bins[0], bins[-1]),
            bins=bins,
            density=True,
            ax=ax,
            title=textwrap.fill(
                m.name, 30
            ),  # long method names on two lines, not over the next panel
            xlabel="confidence (1 - score)" if unit else "trust (- score)",
        )
    writer.figure(
        f"right-wrong-{dataset}",
        fig,
        f"{dataset}: confidence of right and wrong answers per method.",
    )


def _paired(entry: dict, method: str, key: str) -> str:
    """method: a method's key."""
    result = entry["comparisons"].get(method, {}).get(key)
    if result is None:
        return "(reference)" if method == REFERENCE else "n/a"
    return interval_text(result).replace(" points", "")


def sections(document: dict, folder) -> list[Section]:
    opts = document["options"]
    seeds = len(document.get("seeds", [])) or 1
    paragraphs = [
        f"Every method gives a score where higher means less trust. Misclassification columns: AUROC with wrong answers "
        f"as positives; FPR95, the share of wrong answers still trusted at the threshold that trusts 95% of the right "
        f"ones (right answers positive, as OpenOOD counts FPR95); the area under the risk-coverage curve; "
        f"out-of-distribution columns give the AUROC of telling {opts['ood_size']} images of each other set from "
        f"the test set. Weight dropout and MC dropout use {opts['members']} members; the deep ensemble "
        f"{opts['ensemble_size']} independently seeded models; the temperature is fitted on a validation split "
        f"held out from training. All scores in %, except ECE, NLL, AURC."
        + (
            f" Every number is the mean ± standard deviation over {seeds} seed replicates (each its own trained "
            f"models; deep ensembles of disjoint seeds)."
            if seeds > 1
            else ""
        ),
        f"The Δ columns compare each method with max softmax, paired: per seed, both are scored on the same "
        f"bootstrap resample of the test images ({opts['bootstrap']} resamples), and the seeds are resampled too; "
        f"the bracket is the 95% interval of the difference in AUROC points, and a method is called better or "
        f"worse only when it excludes 0.",
    ]
    tables, numbers = [], {}
    for dataset, entry in document["datasets"].items():
        rows = entry["rows"]
        ood = [k for k in rows[0] if k.startswith("ood/") and k.endswith("/auroc")]
        other_set = next(k for k in entry["ood_sets"] if k not in SYNTHETIC_OOD)
        header = ["method", "acc", "NLL", "ECE", "AUROC err", "Δ AUROC err [95%]", "FPR95 err"]
        header += ["AURC", *[f"OOD {k.split('/')[1]}" for k in ood]]
        header.append(f"Δ OOD {other_set.split('/')[1]} [95%]")
        better = {"acc": "high", "NLL": "low", "ECE": "low", "AUROC err": "high"}
        better |= {"FPR95 err": "low", "AURC": "low"} | {
            h: "high" for h in header if h.startswith("OOD ")
        }
        table = Table(header, [], better)
        for r in rows:
            table.rows.append(
                [
                    r["method"],
                    seed_mean(r, "cls/acc"),
                    fmt(r["cal/nll"], ".4f"),
                    fmt(r["cal/ece"], ".4f"),
                    seed_mean(r, "err/auroc", ".1f", scale=100),
                    _paired(entry, r["key"], "err/auroc"),
                    fmt(100 * num(r.get("err/fpr95_right")), ".1f"),
                    fmt(r["sc/aurc"], ".4f"),
                ]
                + [seed_mean(r, k, ".1f", scale=100) for k in ood]
                + [_paired(entry, r["key"], f"{other_set}/auroc")]
            )
            for key in ("cls/acc", "cal/ece", "err/auroc", "sc/aurc", *ood):
                numbers[f"{dataset}/{r['key']}/{key}"] = r.get(key)
                numbers[f"{dataset}/{r['key']}/{key}_std"] = r.get(f"{key}_std")
        for method, results in entry["comparisons"].items():
            for key, result in results.items():
                numbers[f"{dataset}/{method}/{key}_minus_softmax"] = [
                    result["difference"],
                    result["low"],
                    result["high"],
                ]
        tables.append(table)
        paragraphs.append(
            f"**{dataset}** (temperature T = {seed_mean(entry, 'temperature', '.2f')}): "
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
        finding="; ".join(_finding(d, entry) for d, entry in document["datasets"].items()),
    )
    return [section]


def _finding(dataset: str, entry: dict) -> str:
    """The best method at telling wrong answers apart, against max softmax, paired."""
    rows = entry["rows"]
    best = max(rows, key=lambda r: np.nan_to_num(num(r.get("err/auroc")), nan=-1.0))
    reference = next(r for r in rows if r["key"] == REFERENCE)
    text = (
        f"{dataset}: best at telling wrong answers apart: **{best['method']}**, AUROC "
        f"{seed_mean(best, 'err/auroc', '.1f', scale=100)}"
    )
    result = entry["comparisons"].get(best["key"], {}).get("err/auroc")
    if result is None:  # max softmax itself
        return text
    clearly = "" if result["low"] > 0 else "not clearly "
    return text + (
        f", {clearly}above max softmax's {seed_mean(reference, 'err/auroc', '.1f', scale=100)} "
        f"({interval_text(result)})"
    )


def console_table(datasets: dict) -> str:
    """The scoreboard as the command prints it: one block per data set, AUROC in %."""
    lines = []
    for dataset, entry in datasets.items():
        lines.append(f"{dataset} (T = {entry['temperature']:.2f}; AUROC in %, mean over seeds)")
        ood = [k for k in entry["rows"][0] if k.startswith("ood/") and k.endswith("/auroc")]
        header = (
            f"  {'method':34s} {'acc':>7s} {'ECE':>7s} {'AUROC':>6s} {'FPR95':>6s} {'AURC':>7s} "
            + " ".join(f"{k.split('/')[1][:8]:>8s}" for k in ood)
        )
        lines.append(header)
        for r in entry["rows"]:
            auroc = num(r.get("err/auroc"))
            fpr = num(r.get("err/fpr95_right"))
            lines.append(
                f"  {r['method']:34s} {r['cls/acc']:7.4f} {r['cal/ece']:7.4f} {100 * auroc:6.1f} "
                f"{100 * fpr:6.1f} {r['sc/aurc']:7.4f} "
                + " ".join(f"{100 * r[k]:8.1f}" for k in ood)
            )
    return "\n".join(lines)
