"""Study: which confidence signal tells right from wrong, and in-distribution from out?

For each data set, every method gives probabilities and a score (higher = less trust) on the
test set and on out-of-distribution sets; one table compares them with the field's metrics.
The temperature is fitted on a validation split held out from training, never on test data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab import metrics, plots, progress, scores
from mnistlab.calibration import TemperatureScaler
from mnistlab.datasets import other
from mnistlab.ensemble import mean_probability, vote_counts
from mnistlab.errors import ConfigError
from mnistlab.experiments.common import (
    StudyContext,
    StudyWriter,
    get_models,
    model_summary,
    test_set,
    tutorial_spec,
)
from mnistlab.mc_dropout import mc_dropout_logits
from mnistlab.predict import predict_logits, softmax
from mnistlab.training import training_arrays
from mnistlab.weight_dropout import ensemble_logits

VALIDATION_SIZE = 5000
QUICK_VALIDATION_SIZE = 200  # --quick trains on at most 2,000 images
OOD_SIZE = 1000  # per out-of-distribution set: AUROC standard error about 0.005
MC_DROPOUT_RATE = 0.2
DEFAULTS = {"members": 100, "ensemble_size": 5, "bootstrap": 1000, "ps": (0.01, 0.03, 0.2, 0.6)}
QUICK = {"members": 10, "ensemble_size": 2, "bootstrap": 100}
ECE_BINS = 15


@dataclass
class MethodOutput:
    """A method's probabilities and scores on every input set ('test', 'ood/...')."""

    name: str
    family: str
    probabilities: dict
    score: dict
    proper: bool = True  # probabilities form a predictive distribution (NLL is meaningful)


def ood_sets(ctx: StudyContext, dataset: str, test_images: np.ndarray, size: int) -> dict:
    """Out-of-distribution inputs: the other data set, and three that need no download."""
    rng = np.random.default_rng([ctx.seed, 4242])
    shape = (min(size, len(test_images)), 28, 28)
    return {
        f"ood/{other(dataset)}": test_set(ctx, other(dataset))[0][: shape[0]],
        "ood/uniform": rng.random(shape, dtype=np.float32),
        "ood/gaussian": np.clip(rng.normal(0.5, 0.5, shape), 0, 1).astype(np.float32),
        "ood/inverted": 1.0 - test_images[: shape[0]],
    }


def _softmax_family(logits: dict, temperature: float) -> list[MethodOutput]:
    probs = {k: softmax(v) for k, v in logits.items()}
    scaled = {k: softmax(v, temperature=temperature) for k, v in logits.items()}
    return [
        MethodOutput(
            "max softmax",
            "single model",
            probs,
            {k: scores.max_softmax(p) for k, p in probs.items()},
        ),
        MethodOutput(
            "entropy", "single model", probs, {k: scores.entropy(p) for k, p in probs.items()}
        ),
        MethodOutput(
            "margin", "single model", probs, {k: scores.margin(p) for k, p in probs.items()}
        ),
        MethodOutput(
            "energy", "single model", probs, {k: scores.energy(v) for k, v in logits.items()}
        ),
        MethodOutput(
            f"temperature (T={temperature:.2f})",
            "single model",
            scaled,
            {k: scores.max_softmax(p) for k, p in scaled.items()},
        ),
    ]


def _ensemble_outputs(
    name: str, family: str, member_logits: dict, *, with_vote: bool
) -> list[MethodOutput]:
    mean = {k: mean_probability(v) for k, v in member_logits.items()}
    out = [
        MethodOutput(
            f"{name} mean prob", family, mean, {k: scores.max_softmax(p) for k, p in mean.items()}
        )
    ]
    if with_vote:
        shares = {k: vote_counts(v) / v.shape[0] for k, v in member_logits.items()}
        out.insert(
            0,
            MethodOutput(
                f"{name} vote",
                family,
                shares,
                {k: scores.vote_share(s.max(axis=1)) for k, s in shares.items()},
                proper=False,
            ),
        )
    return out


def evaluate(method: MethodOutput, labels: np.ndarray, *, n_boot: int, seed: int) -> dict:
    probs = method.probabilities["test"]
    predicted = probs.argmax(axis=1)
    error = predicted != labels
    score = method.score["test"]
    row = {
        "method": method.name,
        "family": method.family,
        "test/acc": metrics.accuracy(labels, predicted),
    }
    row["test/acc_ci"] = metrics.bootstrap_mean_interval(~error, n_boot=n_boot, seed=seed)
    row["test/nll"] = (
        metrics.negative_log_likelihood(labels, probs) if method.proper else float("nan")
    )
    row["test/brier"] = metrics.brier_score(labels, probs)
    row["test/ece"] = metrics.expected_calibration_error(labels, probs, n_bins=ECE_BINS)
    if 0 < error.sum() < len(error):
        row["misclassification/auroc"] = metrics.auroc(error, score)
        row["misclassification/auroc_ci"] = metrics.bootstrap_auroc_interval(
            error, score, n_boot=n_boot, seed=seed
        )
        row["misclassification/aupr_error"] = metrics.average_precision(error, score)
        row["misclassification/fpr95"] = metrics.fpr_at_tpr(error, score)
    row["test/aurc"] = metrics.aurc(error, score)
    for key in method.score:
        if key.startswith("ood/"):
            ood = np.r_[np.zeros(len(score), bool), np.ones(len(method.score[key]), bool)]
            both = np.r_[score, method.score[key]]
            row[f"{key}/auroc"] = metrics.auroc(ood, both)
            row[f"{key}/aupr"] = metrics.average_precision(ood, both)
            row[f"{key}/fpr95"] = metrics.fpr_at_tpr(ood, both)
    return row


def run(
    ctx: StudyContext,
    *,
    datasets=("mnist", "fashion-mnist"),
    members: int | None = None,
    ensemble_size: int | None = None,
    ps=None,
    bootstrap: int | None = None,
) -> dict:
    settings = {**DEFAULTS, **(QUICK if ctx.quick else {})}
    members = settings["members"] if members is None else members
    ensemble_size = settings["ensemble_size"] if ensemble_size is None else ensemble_size
    bootstrap = settings["bootstrap"] if bootstrap is None else bootstrap
    ps = tuple(ps or settings["ps"])
    if members < 1 or ensemble_size < 1 or bootstrap < 10:
        raise ConfigError("--members and --ensemble-size must be >= 1 and --bootstrap >= 10")
    for p in ps:
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"--p values must be in [0, 1), got {p}")
    options = {
        "datasets": list(datasets),
        "members": members,
        "ensemble_size": ensemble_size,
        "p": list(ps),
        "bootstrap": bootstrap,
        "validation_size": VALIDATION_SIZE,
        "ood_size": OOD_SIZE,
        "mc_dropout_rate": MC_DROPOUT_RATE,
        "ece_bins": ECE_BINS,
    }
    writer = StudyWriter(
        ctx, "scoreboard", options, tuple(dict.fromkeys([*datasets, *map(other, datasets)]))
    )
    if (saved := writer.reusable()) is not None:
        return saved
    # All models of both data sets in one call (they train in parallel), loaded once.
    per_dataset = ensemble_size + 1
    trained = get_models(
        ctx, [spec for d in datasets for spec in model_specs(ctx, d, ensemble_size)]
    )
    results, summary = {}, []
    for i, dataset in enumerate(datasets):
        progress.say(f"scoreboard: {dataset}")
        entry = _run_dataset(
            ctx,
            writer,
            dataset,
            trained[i * per_dataset : (i + 1) * per_dataset],
            members=members,
            ensemble_size=ensemble_size,
            ps=ps,
            bootstrap=bootstrap,
        )
        results[dataset] = entry
        summary += entry["verdict"]
    return writer.finish({"datasets": results}, summary)


def model_specs(ctx: StudyContext, dataset: str, ensemble_size: int) -> list:
    """The deep ensemble's members (the first is the base model), then the MC dropout model."""
    validation = {"validation_size": QUICK_VALIDATION_SIZE if ctx.quick else VALIDATION_SIZE}
    ensemble = [
        tutorial_spec(ctx, dataset, seed=ctx.seed + m, **validation) for m in range(ensemble_size)
    ]
    return [*ensemble, tutorial_spec(ctx, dataset, dropout=MC_DROPOUT_RATE, **validation)]


def _run_dataset(ctx, writer, dataset, models, *, members, ensemble_size, ps, bootstrap) -> dict:
    *ensemble, mc_model = models  # as model_specs() lists them
    base = ensemble[0]
    images, labels = test_set(ctx, dataset)
    sets = {"test": images, **ood_sets(ctx, dataset, images, OOD_SIZE)}
    _, _, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
    # The temperature sees only the held-out validation split of the training set.
    scaler = TemperatureScaler().fit(predict_logits(base.model, x_val), y_val)
    logits = {k: predict_logits(base.model, v) for k, v in sets.items()}
    methods = _softmax_family(logits, scaler.temperature_)
    # Each ensemble runs once over all sets stacked together (fewer calls, one compiled shape),
    # then its logits are split back per set; members do not depend on how images are batched.
    names, stacked = list(sets), np.concatenate(list(sets.values()))
    bounds = np.cumsum([len(v) for v in sets.values()])[:-1]

    def per_set(member_logits: np.ndarray) -> dict:
        return dict(zip(names, np.split(member_logits, bounds, axis=1), strict=True))

    budget = ctx.memory_budget
    with progress.task(f"{dataset}: weight and MC dropout members", members * (len(ps) + 1)) as bar:
        for p in ps:
            member_logits = per_set(
                ensemble_logits(
                    base.model,
                    stacked,
                    p=p,
                    members=members,
                    seed=ctx.seed,
                    memory_budget=budget,
                    progress_task=bar,
                )
            )
            methods += _ensemble_outputs(
                f"weight dropout p={p:g}", "weight dropout", member_logits, with_vote=True
            )
        mc_logits = per_set(
            mc_dropout_logits(
                mc_model.model,
                stacked,
                passes=members,
                seed=ctx.seed,
                memory_budget=budget,
                progress_task=bar,
            )
        )
    methods += _ensemble_outputs(
        f"MC dropout (rate {MC_DROPOUT_RATE:g}, K={members})",
        "MC dropout",
        mc_logits,
        with_vote=False,
    )
    if ensemble_size > 1:
        deep = {
            k: np.stack([predict_logits(m.model, v) for m in ensemble]) for k, v in sets.items()
        }
        methods += _ensemble_outputs(
            f"deep ensemble (M={ensemble_size})", "deep ensemble", deep, with_vote=False
        )
    rows = [evaluate(m, labels, n_boot=bootstrap, seed=ctx.seed) for m in methods]
    _figures(writer, dataset, methods, labels)
    curves = {
        m.name: metrics.reliability_curve(labels, m.probabilities["test"], n_bins=ECE_BINS)
        for m in methods
    }
    return {
        "models": {
            "base": model_summary(base),
            "mc_dropout": model_summary(mc_model),
            "ensemble": [model_summary(m) for m in ensemble],
        },
        "temperature": scaler.temperature_,
        "validation_size": len(y_val),
        "test_size": len(labels),
        "ood_sets": {k: len(v) for k, v in sets.items() if k.startswith("ood/")},
        "rows": rows,
        "reliability": curves,
        "verdict": verdict(dataset, rows),
    }


def _auroc_text(row: dict) -> str:
    low, high = row["misclassification/auroc_ci"]
    return f"{100 * row['misclassification/auroc']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def verdict(dataset: str, rows: list[dict]) -> list[str]:
    """A few sentences from the numbers: best signal, and weight dropout vs plain softmax."""
    softmax_row = next(r for r in rows if r["method"] == "max softmax")
    scored = [r for r in rows if "misclassification/auroc" in r]
    lines = []
    if "misclassification/auroc" not in softmax_row:
        lines.append(
            f"{dataset}: the base model has no wrong (or no right) test answers, so misclassification "
            f"detection is undefined for it"
        )
    else:
        best = max(scored, key=lambda r: r["misclassification/auroc"])
        lines.append(
            f"{dataset}: best misclassification AUROC {_auroc_text(best)} ({best['method']}); "
            f"max softmax {_auroc_text(softmax_row)}"
        )
        dropout_rows = [r for r in scored if r["family"] == "weight dropout"]
        if dropout_rows:
            top = max(dropout_rows, key=lambda r: r["misclassification/auroc"])
            low, high = top["misclassification/auroc_ci"]
            s_low, s_high = softmax_row["misclassification/auroc_ci"]
            if low > s_high:
                judgement = "beats plain softmax (95% intervals do not overlap)"
            elif high < s_low:
                judgement = "is worse than plain softmax (95% intervals do not overlap)"
            else:
                judgement = "does not clearly beat plain softmax (95% intervals overlap)"
            lines.append(
                f"{dataset}: post-training weight dropout, best variant {top['method']} at AUROC "
                f"{_auroc_text(top)}, {judgement}"
            )
    ood_keys = sorted({k for r in rows for k in r if k.startswith("ood/") and k.endswith("/auroc")})
    if ood_keys:
        best_ood = max(rows, key=lambda r: np.mean([r[k] for k in ood_keys]))
        mean_softmax = np.mean([softmax_row[k] for k in ood_keys])
        lines.append(
            f"{dataset}: best mean OOD AUROC over {len(ood_keys)} sets "
            f"{100 * np.mean([best_ood[k] for k in ood_keys]):.1f} ({best_ood['method']}) vs "
            f"{100 * mean_softmax:.1f} for max softmax"
        )
    return lines


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


def _figures(
    writer: StudyWriter, dataset: str, methods: list[MethodOutput], labels: np.ndarray
) -> None:
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
