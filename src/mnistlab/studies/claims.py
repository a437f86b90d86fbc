"""Study: the exercise write-up's four conclusions, each checked against our numbers.

Each claim gets the evidence from the studies that measure it (dropout, cross, morph; their
numbers over every seed), a criterion stated in advance, and a verdict computed from the
numbers with that criterion: supported, not supported, or mixed. The studies it reads are run
first, or reused when their saved results were made from the same inputs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mnistlab.report.document import Section, Table, fmt, num, seed_mean
from mnistlab.studies import cross, dropout, morph
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.study import NoOptions, Study
from mnistlab.studies.framework.writer import StudyWriter

SOURCES = (dropout.STUDY, cross.STUDY, morph.STUDY)
FEW_RIGHT = 0.2  # accuracy below this on the other data set is "very few right" (chance: 0.1)
VERY_SURE = 0.9  # mean confidence at or above this is "very high probability"
KNOWS_MISTAKES = 0.8  # misclassification AUROC at or above this is "knows when it is wrong"
MOSTLY = 0.5  # share of blends above VERY_SURE from which the model is sure on most of them
UNDETERMINED = "undetermined (a number it rests on is undefined: no wrong or no right answers)"


def model_specs(ctx: StudyContext, options: NoOptions) -> list:
    return [spec for study in SOURCES for spec in study.model_specs(ctx, study.options())]


def _clear(a: dict, b: dict, key: str) -> int:
    """+1 if b[key] is clearly above a[key], -1 clearly below, 0 within noise: the change must
    exceed twice the larger seed standard deviation of the two (and 0.001). NaN: 0."""
    change = num(b[key]) - num(a[key])
    noise = max(2 * num(a.get(f"{key}_std", 0.0)), 2 * num(b.get(f"{key}_std", 0.0)), 0.001)
    return 0 if not abs(change) > noise else int(np.sign(change))


def _trend(rows: list[dict], key: str) -> dict:
    """How a number moves as p grows: any clear rise or fall from one p to the next, and the
    clear change from the smallest p to the largest."""
    steps = [_clear(a, b, key) for a, b in zip(rows, rows[1:], strict=False)]
    return {"rises": 1 in steps, "falls": -1 in steps, "overall": _clear(rows[0], rows[-1], key)}


def _falls_steadily(trend: dict) -> bool:
    return not trend["rises"] and trend["overall"] == -1


def _path(rows: list[dict], key: str, spec: str, scale: float = 1.0) -> str:
    return ", ".join(f"p={fmt(r['p'], 'g')}: {seed_mean(r, key, spec, scale=scale)}" for r in rows)


def claim_accuracy(dropout_results: dict) -> dict:
    rows = dropout_results["rows"]
    member_ok = _falls_steadily(_trend(rows, "member/cls/acc_mean"))
    vote_ok = _falls_steadily(_trend(rows, "vote/cls/acc"))
    verdict = (
        "supported"
        if member_ok and vote_ok
        else "mixed"
        if member_ok or vote_ok
        else "not supported"
    )
    evidence = (
        f"single perturbed copies: {_path(rows, 'member/cls/acc_mean', '.4f')}; majority vote of "
        f"{dropout_results['options']['members']}: {_path(rows, 'vote/cls/acc', '.4f')}; original model "
        f"{seed_mean(rows[0], 'original/cls/acc')}. Single copies "
        f"{'lose accuracy at every step' if member_ok else 'do not lose accuracy steadily'}; the vote "
        f"{'loses accuracy steadily too' if vote_ok else 'does not (it holds up where single copies fail)'}."
    )
    return {
        "id": "a",
        "claim": "The more dropout (larger p), the less accuracy.",
        "criterion": "accuracy falls steadily: from the smallest p to the largest it falls clearly, "
        "and from one p to the next it never rises clearly (clearly: by more than twice the seed "
        "standard deviation); single copies and vote both: supported, one of them: mixed, neither: "
        "not supported",
        "evidence": evidence,
        "verdict": verdict,
    }


def claim_knows_wrong(dropout_results: dict) -> dict:
    rows = dropout_results["rows"]
    key = "vote/err/auroc"
    trend = _trend(rows, key)
    verdict = (
        "supported"
        if _falls_steadily(trend)
        else "not supported"
        if not trend["falls"] and trend["overall"] >= 0
        else "mixed"
    )
    if not all(np.isfinite(num(r[key])) for r in rows):
        verdict = UNDETERMINED
    best = max(rows, key=lambda r: np.nan_to_num(num(r[key]), nan=-1.0))
    evidence = (
        f"misclassification AUROC of the vote share (how well it ranks wrong answers below right "
        f"ones, %): {_path(rows, key, '.1f', 100)}; highest at p={fmt(best['p'], 'g')}. The plain softmax "
        f"of the same model: {seed_mean(rows[0], 'original/err/auroc', '.1f', scale=100)}."
    )
    return {
        "id": "b",
        "claim": "More dropout confuses the classifier: it is less likely to know when it is wrong.",
        "criterion": "the AUROC falls steadily as p grows (as for (a)): supported; it never falls "
        "clearly from one p to the next: not supported; it clearly rises at some step and falls at "
        "another: mixed",
        "evidence": evidence,
        "verdict": verdict,
    }


def claim_wrong_data(cross_results: dict) -> dict:
    parts, checks = [], []
    for key, e in cross_results["directions"].items():
        few = num(e["cls/acc"]) < FEW_RIGHT
        sure = num(e["mean_conf_right"]) >= VERY_SURE
        knows = num(e["err/auroc"]) >= KNOWS_MISTAKES
        checks.append((few, sure, knows))
        parts.append(
            f"{key}: accuracy {seed_mean(e, 'cls/acc')}; right answers' mean confidence "
            f"{seed_mean(e, 'mean_conf_right', '.3f')}, wrong answers' {seed_mean(e, 'mean_conf_wrong', '.3f')}; "
            f"confidence tells right from wrong with AUROC {seed_mean(e, 'err/auroc', '.1f', scale=100)}%"
        )
    held = [all(c[i] for c in checks) for i in range(3)]
    verdict = "supported" if all(held) else "not supported" if not any(held) else "mixed"
    names = ("very few right", "right ones with very high probability", "knows its mistakes")
    evidence = (
        "; ".join(parts)
        + f". Holds in both directions: {', '.join(n for n, h in zip(names, held, strict=True) if h) or 'none'}"
        + f"; does not: {', '.join(n for n, h in zip(names, held, strict=True) if not h) or 'none'}."
    )
    return {
        "id": "c",
        "claim": "On the wrong kind of data the classifier gets very few images right, but with very "
        "high probability, and it knows with very high probability when it makes a mistake.",
        "criterion": f"read literally, three parts, each in both directions: accuracy below {FEW_RIGHT}; "
        f"right answers' mean confidence at least {VERY_SURE}; confidence separates (label-index) wrong "
        f"answers from right ones with AUROC at least {KNOWS_MISTAKES}. All three: supported; none: "
        "not supported; some: mixed",
        "evidence": evidence,
        "verdict": verdict,
    }


def claim_unfamiliar(morph_results: dict, cross_results: dict) -> dict:
    numbers = morph_results["numbers"]
    share = numbers["blend/share_above_0.9"]
    other = [e["share_above_0.9"] for e in cross_results["directions"].values()]
    verdict = (
        "supported" if share >= MOSTLY else "mixed" if share >= MOSTLY / 2 else "not supported"
    )
    evidence = (
        f"on {len(morph_results['pairs']) * 100} blends of two digits, images that are neither digit, "
        f"{seed_mean(numbers, 'blend/share_above_0.9', '.1f', scale=100)}% get a top probability above "
        f"0.9 (mean top probability {seed_mean(numbers, 'blend/mean_top_probability', '.3f')}); on the "
        f"other data set {', '.join(f'{100 * s:.1f}%' for s in other)} of the images do."
    )
    return {
        "id": "d",
        "claim": "The classifier does not do well on what it is not familiar with.",
        "criterion": "doing well on an unfamiliar input means saying it is unsure; supported if at least "
        f"{100 * MOSTLY:.0f}% of the blend images still get a top probability above {VERY_SURE}, "
        f"mixed from {100 * MOSTLY / 2:.0f}%, else not supported",
        "evidence": evidence,
        "verdict": verdict,
    }


def run(ctx: StudyContext, options: NoOptions) -> dict:
    writer = StudyWriter(ctx, "claims", {}, ("fashion-mnist", "mnist"))
    if (saved := writer.reusable()) is not None:
        return saved
    # The studies that hold the evidence: reused when already run with the same inputs (as in
    # the report, which runs them just before), else run now.
    source_ctx = replace(ctx, reuse=not ctx.retrain)
    results = {study.name: study.run(source_ctx, study.options()) for study in SOURCES}
    claims = [
        claim_accuracy(results["dropout"]),
        claim_knows_wrong(results["dropout"]),
        claim_wrong_data(results["cross"]),
        claim_unfamiliar(results["morph"], results["cross"]),
    ]
    summary = [f"({c['id']}) {c['verdict'].upper()}: {c['claim']} {c['evidence']}" for c in claims]
    return writer.finish({"claims": claims, "seeds_used": ctx.seeds}, summary)


def sections(results: dict, folder) -> list[Section]:
    claims = results["claims"]
    seeds = results.get("seeds_used", 1)
    table = Table(
        ["", "the exercise concluded", "our evidence", "verdict"],
        [[c["id"], c["claim"], c["evidence"], f"**{c['verdict']}**"] for c in claims],
    )
    paragraphs = [
        "The original exercise write-up ends with four conclusions. Here each is checked against the "
        f"numbers of the studies above ({seeds} trained model(s) per number, mean ± std where several), "
        "with a criterion fixed before looking at the numbers:",
        *[f"({c['id']}) {c['criterion']}." for c in claims],
    ]
    numbers = {f"claim_{c['id']}/verdict": c["verdict"] for c in claims}
    finding = "; ".join(
        f"({c['id']}) {SHORT.get(c['id'], c['claim'])}: **{c['verdict']}**" for c in claims
    )
    title = "The exercise's own claims, checked"
    return [Section("claims", title, paragraphs, [table], [], numbers, finding=finding)]


# Each claim in a few words, for the report's opening summary.
SHORT = {
    "a": "more dropout, less accuracy",
    "b": "more dropout, less aware of its mistakes",
    "c": "on the wrong data set few right, very sure, aware of its mistakes",
    "d": "not good at what it does not know",
}


STUDY = Study(
    name="claims",
    help="the exercise's four conclusions, checked against the numbers (runs dropout, cross, morph)",
    model_specs=model_specs,
    run=run,
    sections=sections,
    evaluates_ensembles=True,
)
