"""Study: post-training weight dropout on the trained fashion model. Does the vote know when it is wrong?"""

from __future__ import annotations

import numpy as np

from mnistlab import plots, progress
from mnistlab.ensemble import vote
from mnistlab.errors import ConfigError
from mnistlab.experiments.common import (
    StudyContext,
    StudyWriter,
    get_model,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.experiments.confidence import right_wrong_stats
from mnistlab.predict import predict_logits, softmax
from mnistlab.weight_dropout import ensemble_logits

DEFAULT_P = (0.01, 0.03, 0.2, 0.6)
DEFAULT_MEMBERS = 100
QUICK_MEMBERS = 10
BINS = np.linspace(0.0, 1.0, 21) + 1e-9  # vote shares k/K sit inside bins, not on edges


def validate(ps, members: int) -> None:
    for p in ps:
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"--p values must be in [0, 1), got {p}")
    if members < 1:
        raise ConfigError(f"--members must be >= 1, got {members}")


def run(
    ctx: StudyContext,
    *,
    ps=DEFAULT_P,
    members: int | None = None,
    drop_biases: bool = False,
    dataset: str = "fashion-mnist",
    arch: str = "mlp",
) -> dict:
    members = (QUICK_MEMBERS if ctx.quick else DEFAULT_MEMBERS) if members is None else members
    validate(ps, members)
    options = {
        "p": list(ps),
        "members": members,
        "drop_biases": drop_biases,
        "dataset": dataset,
        "arch": arch,
    }
    writer = StudyWriter(ctx, "dropout", options, (dataset,))
    if (saved := writer.reusable()) is not None:
        return saved
    trained = get_model(ctx, tutorial_spec(ctx, dataset, arch=arch))
    images, labels = test_set(ctx, dataset)
    original = predict_logits(trained.model, images).argmax(axis=1) == labels
    rows, summary = [], []
    fig, axes = plots.new_axes(len(ps), 1, width=4.2, height=3.4)
    with progress.task(
        f"weight dropout, {members} members x {len(ps)} p", members * len(ps)
    ) as bar:
        for col, p in enumerate(ps):
            logits = ensemble_logits(
                trained.model,
                images,
                p=p,
                members=members,
                seed=ctx.seed,
                drop_biases=drop_biases,
                memory_budget=ctx.memory_budget,
                progress_task=bar,
            )
            majority, share = vote(logits)
            correct = majority == labels
            member_acc = (logits.argmax(axis=-1) == labels[None]).mean(axis=1)
            mean_probability = softmax(logits).mean(axis=0)
            stats = right_wrong_stats(share, correct)
            row = {
                "p": p,
                "original/acc": float(original.mean()),
                "vote/acc": float(correct.mean()),
                "member/acc_mean": float(member_acc.mean()),
                "member/acc_std": float(member_acc.std()),
                "mean_probability/acc": float((mean_probability.argmax(axis=1) == labels).mean()),
                "share_unanimous": float((share == 1.0).mean()),
                **stats,
                "histogram/right": np.histogram(share[correct], BINS)[0],
                "histogram/wrong": np.histogram(share[~correct], BINS)[0],
            }
            rows.append(row)
            plots.confidence_histogram(
                share[correct],
                share[~correct],
                bins=BINS,
                density=True,
                ax=axes[0, col],
                title=f"p = {p:g}: vote acc {row['vote/acc']:.3f}",
                xlabel=f"vote share of the majority class (K={members})",
            )
            summary.append(
                f"p={p:g}: accuracy {row['original/acc']:.4f} before, vote {row['vote/acc']:.4f}, single members "
                f"{row['member/acc_mean']:.4f} ± {row['member/acc_std']:.4f}; mean vote share {stats['mean_conf_wrong']:.3f} "
                f"on wrong answers vs {stats['mean_conf_right']:.3f} on right ones; "
                f"{100 * row['share_unanimous']:.1f}% unanimous"
            )
    writer.figure(
        "dropout",
        fig,
        "Vote share of the majority class for right and wrong answers, one panel per p.",
    )
    return writer.finish({"model": model_summary(trained), "rows": rows, "bins": BINS}, summary)
