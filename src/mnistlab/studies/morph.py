"""Study: blend two test digits, I(a) = a*I1 + (1-a)*I2, and follow the digit model's answer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import plots
from mnistlab.errors import ConfigError
from mnistlab.models.predict import trained_proba
from mnistlab.report.document import Section, Table, figures_of, fmt, seed_mean
from mnistlab.seeds import stream
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

STEPS = 100
DEFAULT_PAIRS = 3
STRIP_SAMPLES = 9


def pick_pairs(labels: np.ndarray, *, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` pairs of test indices with different labels, the same for the same seed."""
    rng = stream(seed, "morph/pairs")
    pairs = []
    while len(pairs) < count:
        i, j = (int(v) for v in rng.choice(len(labels), size=2, replace=False))
        if labels[i] != labels[j]:
            pairs.append((i, j))
    return pairs


def blend(first: np.ndarray, second: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """I(a) = a*I1 + (1-a)*I2 for every a: shape (len(alphas), 28, 28)."""
    a = alphas[:, None, None]
    return (a * first[None] + (1.0 - a) * second[None]).astype(np.float32)


def analyse_path(alphas: np.ndarray, probabilities: np.ndarray) -> dict:
    predicted = probabilities.argmax(axis=1)
    top = probabilities.max(axis=1)
    changes = np.flatnonzero(predicted[1:] != predicted[:-1])
    interior = slice(1, len(alphas) - 1)
    lowest = 1 + int(np.argmin(top[interior]))
    return {
        "switches": [
            {
                "a": float((alphas[k] + alphas[k + 1]) / 2),
                "from": int(predicted[k]),
                "to": int(predicted[k + 1]),
            }
            for k in changes
        ],
        "classes_visited": [int(c) for c in dict.fromkeys(predicted.tolist())],
        "min_top_probability": float(top[lowest]),
        "a_at_min": float(alphas[lowest]),
        "top_probability_ends": [float(top[0]), float(top[-1])],
    }


@dataclass(frozen=True)
class MorphOptions:
    pairs: tuple[tuple[int, int], ...] = option(
        (),
        "test indices of I1 and I2 (repeatable; default: 3 pairs picked from the seed)",
        flag="--pair",
        parse=lambda pairs: tuple(tuple(p) for p in pairs),
        nargs=2,
        type=int,
        action="append",
        metavar=("I", "J"),
    )
    dataset: str = "mnist"

    def __post_init__(self):
        object.__setattr__(self, "pairs", tuple(tuple(int(i) for i in p) for p in self.pairs))
        for pair in self.pairs:
            if len(pair) != 2:
                raise ConfigError(f"a pair is two test indices (I1, I2), got {pair}")


def model_specs(ctx: StudyContext, options: MorphOptions) -> list:
    return tutorial_specs(ctx, options.dataset)


def blend_numbers(probabilities: list[np.ndarray]) -> dict:
    """How sure the model is on the blends of every pair (one (STEPS, 10) array per pair)."""
    top = np.concatenate([p.max(axis=1) for p in probabilities])
    return {
        "blend/mean_top_probability": float(top.mean()),
        "blend/share_above_0.9": float((top > 0.9).mean()),
        "blend/share_above_0.99": float((top > 0.99).mean()),
        **{
            f"pair{n}/min_top_probability": float(p.max(axis=1)[1:-1].min())
            for n, p in enumerate(probabilities, 1)
        },
    }


def run(ctx: StudyContext, options: MorphOptions) -> dict:
    pairs, dataset = options.pairs, options.dataset
    images, labels = test_set(ctx, dataset)
    for i, j in pairs or []:
        for index in (i, j):
            if not 0 <= index < len(images):
                raise ConfigError(
                    f"--pair index {index} is outside the test set (0..{len(images) - 1})"
                )
    pairs = (
        [tuple(p) for p in pairs]
        if pairs
        else pick_pairs(labels, count=DEFAULT_PAIRS, seed=ctx.seed)
    )
    writer = StudyWriter(
        ctx, "morph", {"pairs": pairs, "steps": STEPS, "dataset": dataset}, (dataset,)
    )
    if (saved := writer.reusable()) is not None:
        return saved
    trained, *others = get_models(ctx, model_specs(ctx, options))
    alphas = np.linspace(0.0, 1.0, STEPS)
    paths = [blend(images[i], images[j], alphas) for i, j in pairs]
    # Every seed's model on the same blends: how sure it is does not rest on one training run.
    numbers = over_seeds(
        [blend_numbers([trained_proba(m, path) for path in paths]) for m in [trained, *others]]
    )
    rows, summary = [], []
    for n, (i, j) in enumerate(pairs, 1):
        path = paths[n - 1]
        probabilities = trained_proba(trained, path)
        analysis = analyse_path(alphas, probabilities)
        rows.append(
            {
                "pair": [i, j],
                "labels": [int(labels[i]), int(labels[j])],
                **analysis,
                "probabilities": probabilities.round(5),
            }
        )
        fig, axes = plots.new_axes(
            1, 3, width=8.5, height=2.4, gridspec_kw={"height_ratios": [0.8, 1.2, 1.4]}
        )
        shown = np.linspace(0, STEPS - 1, STRIP_SAMPLES).round().astype(int)
        plots.image_strip(
            path[shown],
            [f"a={alphas[k]:.2f}" for k in shown],
            ax=axes[0, 0],
            title=f"I1 = test #{i} (label {labels[i]}), I2 = test #{j} (label {labels[j]})",
        )
        predicted = probabilities.argmax(axis=1)
        plots.predicted_class_steps(
            alphas,
            predicted,
            probabilities.max(axis=1),
            ax=axes[1, 0],
            title="predicted class along a",
        )
        plots.class_probability_curves(
            alphas,
            probabilities,
            [str(d) for d in range(10)],
            ax=axes[2, 0],
            highlight=(int(labels[i]), int(labels[j])),
            title="probability of every class",
        )
        writer.figure(
            f"morph-{n}", fig, f"Blend of test digits #{i} ({labels[i]}) and #{j} ({labels[j]})."
        )
        switch_text = (
            ", ".join(f"{s['from']}->{s['to']} at a={s['a']:.3f}" for s in analysis["switches"])
            or "none"
        )
        summary.append(
            f"pair #{i} ({labels[i]}) / #{j} ({labels[j]}): switches {switch_text}; top probability falls to "
            f"{analysis['min_top_probability']:.3f} at a={analysis['a_at_min']:.2f} "
            f"(at the ends: {analysis['top_probability_ends'][1]:.3f} on I1, {analysis['top_probability_ends'][0]:.3f} on I2)"
        )
    summary.append(
        f"all blends: {seed_mean(numbers, 'blend/share_above_0.9', '.1f', scale=100)}% of the "
        f"{len(pairs) * STEPS} images get a top probability above 0.9 (mean top probability "
        f"{seed_mean(numbers, 'blend/mean_top_probability', '.3f')})"
    )
    return writer.finish(
        {"model": model_summary(trained), "pairs": rows, "alphas": alphas, "numbers": numbers},
        summary,
    )


def sections(document: dict, folder) -> list[Section]:
    numbers = document["numbers"]
    seeds = len(numbers["blend/share_above_0.9_seeds"])
    header = ["I1 (a=1)", "I2 (a=0)", "switches", "lowest top probability", "at a"]
    if seeds > 1:
        header.append(f"lowest, {seeds} seeds")
    table = Table(header, [])
    lows = []
    for n, p in enumerate(document["pairs"], 1):
        switches = (
            ", ".join(f"{s['from']}->{s['to']} at {fmt(s['a'], '.3f')}" for s in p["switches"])
            or "none"
        )
        table.rows.append(
            [
                f"#{p['pair'][0]} ({p['labels'][0]})",
                f"#{p['pair'][1]} ({p['labels'][1]})",
                switches,
                f"{fmt(p['min_top_probability'], '.3f')}",
                f"{fmt(p['a_at_min'], '.2f')}",
            ]
            + ([seed_mean(numbers, f"pair{n}/min_top_probability", ".3f")] if seeds > 1 else [])
        )
        lows.append(p["min_top_probability"])
    text = _morph_text(document, lows, seeds)
    shown = {
        f"pair{n}/min_top_probability": p["min_top_probability"]
        for n, p in enumerate(document["pairs"], 1)
    }
    shown |= {k: v for k, v in numbers.items() if k.startswith("blend/") and "_seeds" not in k}
    section = Section(
        "morph",
        "Morphing one digit into another",
        [text],
        [table],
        figures_of(document, folder),
        shown,
        finding=f"**{seed_mean(numbers, 'blend/share_above_0.9', '.1f', scale=100)}%** of the "
        f"blend images get a top probability above 0.9; it dips to "
        f"{fmt(min(lows, default=None), '.2f')}-{fmt(max(lows, default=None), '.2f')} near the switch",
    )
    return [section]


STUDY = Study(
    name="morph",
    help="blend two test digits and follow the prediction",
    options=MorphOptions,
    model_specs=model_specs,
    run=run,
    sections=sections,
)


def _morph_text(document: dict, lows: list, seeds: int) -> str:
    """What the blends show, each clause worded by the numbers it states."""
    numbers, pairs = document["numbers"], document["pairs"]
    switching = sum(bool(p["switches"]) for p in pairs)
    ends = [v for p in pairs for v in p["top_probability_ends"]]
    extra = sum(len(p["classes_visited"]) > 2 for p in pairs)
    sure = numbers["blend/share_above_0.9"]
    text = (
        f"Along each of the {len(pairs)} blends (100 values of a), "
        + (
            "the prediction switches between the two digits"
            if switching == len(pairs)
            else f"the prediction switches in {switching} of the {len(pairs)} blends"
        )
        + f" and the top probability dips to between {fmt(min(lows), '.3f')} and "
        f"{fmt(max(lows), '.3f')} near the switch; "
        + (
            f"it is near 1 at both ends (the original images: {fmt(min(ends), '.3f')} or more)."
            if min(ends) >= 0.9
            else f"at the ends (the original images) it is between {fmt(min(ends), '.3f')} and "
            f"{fmt(max(ends), '.3f')}, so the model is unsure even of some original images."
        )
        + (
            " The model is sure (top probability above 0.9) about most of the path, images that "
            "are half one digit and half another included"
            if sure >= 0.5
            else " The top probability is above 0.9 for less than half of the path"
        )
        + (f"; {extra} blend(s) pass through a third class on the way" if extra else "")
        + f". Over all {len(pairs) * 100} blend images, "
        f"{seed_mean(numbers, 'blend/share_above_0.9', '.1f', scale=100)}% get a top probability above 0.9 "
        f"and {seed_mean(numbers, 'blend/share_above_0.99', '.1f', scale=100)}% above 0.99"
        + (f" (mean ± std over {seeds} trained models)" if seeds > 1 else "")
        + "."
    )
    return text
