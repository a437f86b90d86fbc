"""Study: the Keras "basic classification" tutorial model on Fashion-MNIST, and the same on digits.

Flatten -> Dense(128, relu) -> Dense(10), Adam (lr 0.001), batch 32, 10 epochs: train and test
accuracy, and the training curves per epoch. With --arch cnn or lenet5, that network, trained
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnistlab import plots
from mnistlab.config import ModelConfig
from mnistlab.report.document import Section, figures_of, fmt, seed_mean
from mnistlab.studies.framework.context import (
    StudyContext,
    model_summary,
    plan_specs,
    seed_plan,
    trained_models,
)
from mnistlab.studies.framework.replicates import over_seeds
from mnistlab.studies.framework.study import Study, datasets_option
from mnistlab.studies.framework.writer import StudyWriter

REFERENCE = {  # published / tutorial numbers the text compares against
    "fashion-mnist": "about 0.88 (Keras tutorial); 0.871 (Xiao et al. 2017, sklearn MLP)",
    "mnist": "about 0.975-0.98 (tutorial MLP); 0.972 (Xiao et al. 2017)",
}
REFERENCE_BY_ARCH = {
    "mlp": REFERENCE,
    "lenet5": {  # uncertainty-baselines' LeNet-5 (25 epochs at batch 256 on 50,000 images)
        "fashion-mnist": "0.910 (uncertainty-baselines' LeNet-5)",
        "mnist": "0.991 (uncertainty-baselines' LeNet-5)",
    },
}
TITLES = {
    "fashion-mnist": "The tutorial model on Fashion-MNIST",
    "mnist": "The same model on MNIST digits",
}
ARCH_TITLES = {"cnn": "The small CNN", "lenet5": "LeNet-5"}
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST digits"}


def _title(dataset: str, arch: str) -> str:
    if arch == "mlp":
        return TITLES[dataset]
    return f"{ARCH_TITLES[arch]} on {DATASET_NAMES[dataset]}, trained as the tutorial trains"


@dataclass(frozen=True)
class TutorialOptions:
    datasets: tuple[str, ...] = datasets_option(("fashion-mnist", "mnist"))


def model_specs(ctx: StudyContext, options: TutorialOptions) -> list:
    return plan_specs(seed_plan(ctx, options.datasets))


def run(ctx: StudyContext, options: TutorialOptions) -> dict:
    writer = StudyWriter(ctx, "tutorial", {"datasets": list(options.datasets)}, options.datasets)
    if (saved := writer.reusable()) is not None:
        return saved
    trained = trained_models(ctx, seed_plan(ctx, options.datasets))
    results, summary = {}, []
    fig, axes = plots.new_axes(2, 1, width=4.6, height=3.4)
    for dataset in options.datasets:
        models = [trained[dataset, seed] for seed in ctx.seed_list]
        model = models[0]  # --seed's own run: the exercise's numbers and curves
        history = model.meta["history"]
        numbers = over_seeds(
            [{k: m.meta[k] for k in ("train/acc", "test/acc", "seconds_per_epoch")} for m in models]
        )
        results[dataset] = {"model": model_summary(model), "history": history, **numbers}
        epochs = [row["epoch"] for row in history]
        axes[0, 0].plot(epochs, [row["loss"] for row in history], marker="o", label=dataset)
        axes[0, 1].plot(epochs, [row["acc"] for row in history], marker="o", label=dataset)
        summary.append(
            f"{dataset}: train accuracy {model.meta['train/acc']:.4f}, test accuracy "
            f"{model.meta['test/acc']:.4f}, {model.meta['seconds_per_epoch']:.2f} s/epoch"
            + (
                f"; over {len(models)} seeds: train {seed_mean(numbers, 'train/acc')}, "
                f"test {seed_mean(numbers, 'test/acc')}"
                if len(models) > 1
                else ""
            )
        )
    axes[0, 0].set(title="training loss per epoch", xlabel="epoch", ylabel="cross-entropy")
    axes[0, 1].set(title="training accuracy per epoch", xlabel="epoch", ylabel="accuracy")
    for ax in axes[0]:
        ax.legend()
    writer.figure(
        "training-curves",
        fig,
        "Training loss and accuracy of the tutorial model per epoch (on the training images; "
        "the first seed's run).",
    )
    return writer.finish({"datasets": results}, summary)


def sections(results: dict, folder) -> list[Section]:
    out = []
    for dataset, entry in results["datasets"].items():
        model = entry["model"]
        gap = model["train/acc"] - model["test/acc"]
        config = ModelConfig(**model["spec"]["model"])
        reference = REFERENCE_BY_ARCH.get(config.arch, {}).get(dataset, "none published")
        text = (
            f"{config.network()}, Adam (lr 0.001), batch 32, "
            f"{model['spec']['train']['epochs']} epochs, seed {model['spec']['seed']}: train accuracy "
            f"**{fmt(model['train/acc'], '.4f')}**, test accuracy **{fmt(model['test/acc'], '.4f')}** "
            f"(reference: {reference}). The train-test gap is {fmt(gap, '.4f')}: the model "
            f"{'fits the training set noticeably better than unseen images' if gap > 0.02 else 'generalises with little overfitting'}."
            f" Training took {fmt(model['seconds_per_epoch'], '.2f')} s per epoch."
        )
        seeds = entry.get("test/acc_seeds", [])
        if len(seeds) > 1:
            text += (
                f" Over {len(seeds)} seeds ({_seed_range(model['spec']['seed'], len(seeds))}), "
                f"train accuracy is {seed_mean(entry, 'train/acc')} and test accuracy "
                f"**{seed_mean(entry, 'test/acc')}** (mean ± standard deviation): the seed alone "
                f"moves test accuracy by {fmt(100 * (max(seeds) - min(seeds)), '.2f')} points."
            )
        numbers = {k: model[k] for k in ("train/acc", "test/acc", "seconds_per_epoch")}
        numbers |= {f"{k}_mean": entry.get(k) for k in ("train/acc", "test/acc")}
        numbers |= {f"{k}_std": entry.get(f"{k}_std") for k in ("train/acc", "test/acc")}
        title = _title(dataset, config.arch)
        finding = f"test accuracy **{seed_mean(entry, 'test/acc')}**" + (
            f" over {len(seeds)} seeds" if len(seeds) > 1 else ""
        )
        finding += f" (reference: {reference})"
        out.append(Section(f"tutorial-{dataset}", title, [text], numbers=numbers, finding=finding))
    if out:  # the training curves of both data sets, under the last of them
        out[-1].figures = figures_of(results, folder)
    return out


def _seed_range(first: int, count: int) -> str:
    return f"seeds {first}-{first + count - 1}"


STUDY = Study(
    name="tutorial",
    help="the Keras tutorial model on Fashion-MNIST and on MNIST: train and test accuracy",
    options=TutorialOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
)
