"""Study: post-training weight dropout on the trained fashion model. Does the vote know when it is wrong?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import plots, progress
from mnistlab.config import (
    MAX_MEMBERS,
    check_at_least,
    check_fraction,
)
from mnistlab.models.predict import predict_logits, softmax
from mnistlab.parse import parse_floats
from mnistlab.report.document import (
    Section,
    Table,
    figures_of,
    fmt,
    num,
    pct,
    seed_mean,
    seed_mean_first,
)
from mnistlab.studies.confidence import right_wrong_stats
from mnistlab.studies.framework.context import (
    StudyContext,
    get_models,
    model_summary,
    test_set,
    tutorial_specs,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, option
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.uncertainty import MemberSummary, ensemble_logits, metrics
from mnistlab.uncertainty.remote_members import members_on_ray

BINS = np.linspace(0.0, 1.0, 21) + 1e-9  # vote shares k/K sit inside bins, not on edges


@dataclass(frozen=True)
class DropoutOptions:
    p: tuple[float, ...] = option(
        (0.01, 0.03, 0.2, 0.6),
        "fractions of weights set to 0 (default: 0.01,0.03,0.2,0.6)",
        parse=parse_floats,
    )
    members: int | None = option(
        None, "K perturbed models (default: 100; 10 with --quick)", type=int
    )
    drop_biases: bool = option(
        False, "drop biases too (default: weights only)", action="store_true"
    )
    dataset: str = "fashion-mnist"

    def __post_init__(self):
        object.__setattr__(self, "p", tuple(float(p) for p in self.p))
        check_fraction(self.p)
        check_at_least(self.members, 1, "--members", MAX_MEMBERS)


def model_specs(ctx: StudyContext, options: DropoutOptions) -> list:
    return tutorial_specs(ctx, options.dataset)


def _auroc_of_errors(correct: np.ndarray, score: np.ndarray) -> float:
    """Misclassification AUROC (score: higher = less trust); NaN without both kinds of answer."""
    return metrics.auroc_or_nan(~correct, score)


def run(ctx: StudyContext, options: DropoutOptions) -> dict:
    ps, drop_biases, dataset, arch = options.p, options.drop_biases, options.dataset, ctx.arch
    members = ctx.profile.members if options.members is None else options.members
    recorded = {
        "p": list(ps),
        "members": members,
        "drop_biases": drop_biases,
        "dataset": dataset,
        "arch": arch,
    }
    writer = StudyWriter(ctx, "dropout", recorded, (dataset,))
    if (saved := writer.reusable()) is not None:
        return saved
    models = get_models(ctx, model_specs(ctx, options))
    images, labels = test_set(ctx, dataset)
    per_p: list[list[dict]] = [[] for _ in ps]  # one row per seed, for each p
    fig, axes = plots.panel_grid(len(ps), width=4.2, height=3.4)
    with progress.task(
        f"weight dropout, {members} members x {len(ps)} p x {len(models)} seed(s)",
        members * len(ps) * len(models),
    ) as bar:
        for trained in models:
            first = trained is models[0]  # figures and histograms: --seed's own model
            probabilities = softmax(predict_logits(trained.model, images))
            original = probabilities.argmax(axis=1) == labels
            softmax_auroc = _auroc_of_errors(original, -probabilities.max(axis=1))
            for col, p in enumerate(ps):
                # Streamed: memory stays O(images x classes) whatever the number of members.
                run = {"p": p, "members": members, "seed": trained.spec.seed}
                run.update(drop_biases=drop_biases, progress_task=bar)
                if ctx.executor == "ray":  # the members in parts, on the cluster's workers
                    members_seen = members_on_ray(
                        trained.spec.model,
                        trained.model,
                        images,
                        labels=labels,
                        address=ctx.ray_address,
                        memory_budget=ctx.memory_budget,
                        **run,
                    )
                else:
                    sink = MemberSummary(members, len(images), labels=labels)
                    members_seen = ensemble_logits(
                        trained.model, images, memory_budget=ctx.memory_budget, sink=sink, **run
                    )
                majority, share = members_seen.vote()
                correct = majority == labels
                member_acc = members_seen.member_accuracy()
                mean_probability = members_seen.mean_probability()
                row = {
                    "p": p,
                    "original/cls/acc": float(original.mean()),
                    "vote/cls/acc": float(correct.mean()),
                    "member/cls/acc_mean": float(member_acc.mean()),
                    "member/cls/acc_spread": float(member_acc.std()),
                    "mean/cls/acc": float((mean_probability.argmax(axis=1) == labels).mean()),
                    "share_unanimous": float((share == 1.0).mean()),
                    "vote/err/auroc": _auroc_of_errors(correct, -share),
                    "original/err/auroc": softmax_auroc,
                    **right_wrong_stats(share, correct),
                    "histogram/right": np.histogram(share[correct], BINS)[0],
                    "histogram/wrong": np.histogram(share[~correct], BINS)[0],
                }
                per_p[col].append(row)
                if first:
                    plots.confidence_histogram(
                        share[correct],
                        share[~correct],
                        bins=BINS,
                        density=True,
                        ax=axes[col],
                        title=f"p = {p:g}: vote acc {row['vote/cls/acc']:.3f}",
                        xlabel=f"vote share of the majority class (K={members})",
                    )
    rows = [over_seeds(seed_rows) for seed_rows in per_p]
    summary = [
        f"p={r['p']:g}: accuracy {seed_mean(r, 'original/cls/acc')} before, vote {seed_mean(r, 'vote/cls/acc')}, "
        f"single members {seed_mean(r, 'member/cls/acc_mean')}; mean vote share "
        f"{seed_mean(r, 'mean_conf_wrong', '.3f')} on wrong answers vs {seed_mean(r, 'mean_conf_right', '.3f')} "
        f"on right ones; misclassification AUROC of the vote share "
        f"{seed_mean(r, 'vote/err/auroc', '.1f', scale=100)}%; "
        f"{seed_mean(r, 'share_unanimous', '.1f', scale=100)}% unanimous"
        for r in rows
    ]
    writer.figure(
        "dropout",
        fig,
        "Vote share of the majority class for right and wrong answers, one panel per p.",
    )
    return writer.finish({"model": model_summary(models[0]), "rows": rows, "bins": BINS}, summary)


def sections(document: dict, folder) -> list[Section]:
    opts = document["options"]
    table = Table(
        [
            "p",
            "original acc",
            "vote acc",
            "single member acc",
            "mean share right",
            "mean share wrong",
            "AUROC wrong (vote)",
            "unanimous",
        ],
        [],
    )
    numbers = {}
    for r in document["rows"]:
        table.rows.append(
            [
                f"{fmt(r['p'], 'g')}",
                seed_mean_first(r, "original/cls/acc"),
                seed_mean_first(r, "vote/cls/acc"),
                seed_mean(r, "member/cls/acc_mean"),
                seed_mean(r, "mean_conf_right", ".3f"),
                seed_mean(r, "mean_conf_wrong", ".3f"),
                seed_mean(r, "vote/err/auroc", ".1f", scale=100),
                seed_mean(r, "share_unanimous", ".1f", scale=100) + "%",
            ]
        )
        numbers.update(
            {
                f"p={fmt(r['p'], 'g')}/{k}": r[k]
                for k in (
                    "original/cls/acc",
                    "vote/cls/acc",
                    "member/cls/acc_mean",
                    "mean_conf_right",
                    "mean_conf_wrong",
                    "vote/err/auroc",
                )
            }
        )
    rows = document["rows"]
    best = max(rows, key=lambda r: r["vote/cls/acc"])
    separation = max(
        rows,
        key=lambda r: np.nan_to_num(num(r["mean_conf_right"]) - num(r["mean_conf_wrong"]), nan=-1),
    )
    change = best["vote/cls/acc"] - best["original/cls/acc"]
    largest = rows[-1]
    paragraphs = [
        f"{opts['members']} perturbed copies of the trained {opts['dataset']} model per p "
        f"({'weights and biases' if opts['drop_biases'] else 'weights only; biases kept'}); the prediction is the "
        f"majority vote and the confidence the share of members voting for it.",
        f"Accuracy: the best vote ({fmt(best['vote/cls/acc'], '.4f')} at p={fmt(best['p'], 'g')}) is "
        + (
            f"{fmt(100 * change, '.2f')} points above"
            if change > 0.0005
            else f"{fmt(100 * -change, '.2f')} points below"
            if change < -0.0005
            else "the same as"
        )
        + f" the original model ({fmt(best['original/cls/acc'], '.4f')}); at p={fmt(largest['p'], 'g')} single members fall to "
        f"{fmt(largest['member/cls/acc_mean'], '.4f')} while the vote keeps {fmt(largest['vote/cls/acc'], '.4f')}.",
        f"Confidence: the vote share separates right from wrong answers best at p={fmt(separation['p'], 'g')}, where wrong "
        f"answers get a mean share of {fmt(separation['mean_conf_wrong'], '.3f')} against {fmt(separation['mean_conf_right'], '.3f')} "
        f"for right ones. With small p most votes are unanimous ({pct(rows[0]['share_unanimous'])} at "
        f"p={fmt(rows[0]['p'], 'g')}), so the share carries little information there. The scoreboard section "
        f"below measures whether it tells wrong answers apart better than plain softmax.",
    ]
    seeds = len(rows[0].get("vote/cls/acc_seeds", []))
    if seeds > 1:
        paragraphs.append(
            f"Every number is the mean over {seeds} trained models (seeds), each with its own "
            f"{opts['members']} perturbed copies; the table adds the standard deviation over seeds."
        )
    section = Section(
        "dropout",
        "Post-training weight dropout",
        paragraphs,
        [table],
        figures_of(document, folder),
        numbers,
        finding=f"at p={fmt(largest['p'], 'g')} single copies fall to "
        f"{fmt(largest['member/cls/acc_mean'], '.4f')} while the vote of {opts['members']} keeps "
        f"**{fmt(largest['vote/cls/acc'], '.4f')}** (original {fmt(largest['original/cls/acc'], '.4f')}); "
        f"its share separates right from wrong best at p={fmt(separation['p'], 'g')}",
    )
    return [section]


STUDY = Study(
    name="dropout",
    help="post-training weight dropout ensembles of the fashion model",
    options=DropoutOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
    evaluates_ensembles=True,
)
