"""The shift study's verdicts: Ovadia et al.'s three statements, and weight dropout against the
ensemble, each decided by paired intervals (uncertainty/paired.py).

All shift levels are transformations of the same test images, so a bootstrap resample of those
images is shared by every level, every method and every seed: "ECE under shift minus ECE on
clean images" and "ensemble minus softmax" are paired differences. A family's shifted value is
the mean over its levels other than the clean one.
"""

from __future__ import annotations

import numpy as np

from mnistlab.seeds import stream
from mnistlab.uncertainty import PROBABILITIES, MethodOutput
from mnistlab.uncertainty.paired import (
    cached,
    paired_difference,
    resample_weights,
    weighted_ece,
    weighted_mean,
)

REFERENCE, TEMPERATURE, ENSEMBLE = "msp", "temperature", "ensemble"  # method keys
CONTENDER_MARGIN = 0.10  # clean Brier more than 10% above max softmax's: no contender

STATEMENTS = {
    "calibration_degrades": (
        "Calibration gets worse under shift, for every method (Ovadia et al., finding 1).",
        "For every contender and every shift family, the ECE averaged over the shifted levels "
        "minus the clean ECE; the 95% paired interval must lie above 0.",
    ),
    "ensemble_best": (
        "Deep ensembles hold up best under shift (finding 2).",
        "Brier score averaged over each family's shifted levels: the deep ensemble minus every "
        "other contender; the interval must lie below 0 in every family, and above 0 nowhere.",
    ),
    "temperature_breaks": (
        "Temperature scaling, calibrated on clean data, does not stay calibrated under shift (finding 3).",
        "Temperature scaling's ECE averaged over the shifted levels minus its clean ECE must lie "
        "above 0 in every family; its clean ECE against max softmax's is given too.",
    ),
    "weight_dropout_like_ensemble": (
        "Post-training weight dropout behaves like an ensemble under shift.",
        "For some p that is a contender, the Brier score over the shifted levels of weight dropout "
        "(mean probability) minus max softmax's lies below 0 in every family, as the ensemble's "
        "does, and minus the deep ensemble's lies above 0 in none (else: mixed).",
    ),
}
CONTENDERS = (
    "A contender is a method whose clean Brier score is not clearly more than 10% above max "
    "softmax's (the paired interval's lower end decides): a method unsure of everything looks "
    "calibrated under shift for the wrong reason."
)


def probability_methods(methods: list[MethodOutput]) -> list[str]:
    """The keys of the methods with probabilities of their own (calibration is about
    probabilities; a score-only method has another method's, a vote share none)."""
    return [m.key for m in methods if m.kind == PROBABILITIES]


class ShiftedMetrics:
    """A method's ECE or Brier score averaged over a list of sets, as a function of image
    weights, per seed; each computed once per weight matrix (many comparisons share it)."""

    def __init__(self, replicates: list[list[MethodOutput]], labels: np.ndarray):
        self.replicates, self.labels = replicates, labels
        self._memo: dict = {}

    def _terms(self, method: MethodOutput, key: str):
        p = method.probabilities[key]
        onehot = np.eye(p.shape[1])[self.labels]
        return p.argmax(axis=1) == self.labels, p.max(axis=1), ((p - onehot) ** 2).sum(axis=1)

    def __call__(self, method_key: str, keys: tuple[str, ...], metric: str) -> list:
        memo_key = (method_key, keys, metric)
        if memo_key not in self._memo:
            per_seed = []
            for methods in self.replicates:
                method = next(m for m in methods if m.key == method_key)
                terms = [self._terms(method, k) for k in keys]
                per_seed.append(cached(_mean_over_sets(terms, metric)))
            self._memo[memo_key] = per_seed
        return self._memo[memo_key]


def _mean_over_sets(terms: list, metric: str):
    """weights (B, N) -> (B,): the metric averaged over the sets whose per-image terms
    (correct, confidence, Brier) are given."""

    def values(weights: np.ndarray) -> np.ndarray:
        if metric == "ece":
            per_set = [
                weighted_ece(correct, confidence, weights) for correct, confidence, _ in terms
            ]
        else:
            per_set = [weighted_mean(brier, weights) for *_, brier in terms]
        return np.mean(per_set, axis=0)

    return values


def _sign(result: dict) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it holds 0."""
    return 1 if result["low"] > 0 else -1 if result["high"] < 0 else 0


def _signs_of(comparisons: dict, label: str) -> list[int]:
    """The signs of the comparisons of the method labelled `label` (entries start with it)."""
    return [r["sign"] for entry, r in comparisons.items() if entry.startswith(f"{label} −")]


def _tally(signs: list[int], wanted: int) -> str:
    if signs and all(s == wanted for s in signs):
        return "supported"
    if any(s == wanted for s in signs):
        return "mixed"
    return "not supported"


def dataset_verdicts(
    replicates: list[list[MethodOutput]],
    labels: np.ndarray,
    families: dict[str, tuple[str, ...]],
    *,
    n_boot: int,
    seed: int,
) -> dict:
    """The four statements on one data set. families: {family: keys of its shifted sets};
    the clean set is "test". Returns {"statements": {key: {"verdict", "comparisons":
    {label: paired result}, ...}}, "excluded": [...], "clean_brier_vs_softmax": {...}}."""
    metric = ShiftedMetrics(replicates, labels)
    weights = resample_weights(len(labels), n_boot, stream(seed, "shift/paired-resamples"))
    names = probability_methods(replicates[0])
    short = {m.key: m.label or m.name for m in replicates[0]}.__getitem__
    ensemble = ENSEMBLE if ENSEMBLE in names else None

    def paired(a: list, b: list) -> dict:
        result = paired_difference(a, b, len(labels), seed=seed, weights=weights)
        result["sign"] = _sign(result)
        return result

    def compare(a: str, b: str, keys, measure: str) -> dict:  # method a minus method b
        return paired(metric(a, keys, measure), metric(b, keys, measure))

    def rise(name: str, keys) -> dict:  # one method's shifted ECE minus its clean ECE
        return paired(metric(name, keys, "ece"), metric(name, ("test",), "ece"))

    # A method clearly worse than the plain model on clean images (its Brier score more than
    # CONTENDER_MARGIN above, by the paired interval's lower end; heavy weight dropout, unsure of
    # everything) is no contender: under shift its low confidence is right for the wrong reason.
    # The statements are judged on the contenders; the others are listed with their numbers.
    full = np.ones((1, len(labels)))
    reference_brier = np.mean([f(full)[0] for f in metric(REFERENCE, ("test",), "brier")])
    clean_brier = {n: compare(n, REFERENCE, ("test",), "brier") for n in names if n != REFERENCE}
    margin = CONTENDER_MARGIN * reference_brier
    excluded = [n for n, result in clean_brier.items() if result["low"] > margin]
    contenders = [n for n in names if n not in excluded]
    statements = {}

    rises = {n: {f: rise(n, keys) for f, keys in families.items()} for n in names}
    statements["calibration_degrades"] = {
        "verdict": _tally([r["sign"] for n in contenders for r in rises[n].values()], +1),
        "comparisons": {f"{short(n)} | {f}": r for n in contenders for f, r in rises[n].items()},
    }

    if ensemble is None or ensemble in excluded:
        statements["ensemble_best"] = {
            "verdict": "undetermined (no deep ensemble among the contenders)",
            "comparisons": {},
        }
    else:
        versus = {
            f"{short(ensemble)} − {short(n)} | {f}": compare(ensemble, n, keys, "brier")
            for f, keys in families.items()
            for n in contenders
            if n != ensemble
        }
        signs = [r["sign"] for r in versus.values()]
        # Any contender clearly better somewhere refutes "holds up best".
        verdict = "not supported" if +1 in signs else _tally(signs, -1)
        statements["ensemble_best"] = {"verdict": verdict, "comparisons": versus}

    if TEMPERATURE in rises and REFERENCE in names:
        temperature = {f"{short(TEMPERATURE)} | {f}": r for f, r in rises[TEMPERATURE].items()}
        statements["temperature_breaks"] = {
            "verdict": _tally([r["sign"] for r in temperature.values()], +1),
            "comparisons": {
                **temperature,
                f"{short(TEMPERATURE)} − {short(REFERENCE)} | clean ECE": compare(
                    TEMPERATURE, REFERENCE, ("test",), "ece"
                ),
            },
        }
    else:
        statements["temperature_breaks"] = {
            "verdict": "undetermined (temperature scaling or max softmax not evaluated)",
            "comparisons": {},
        }

    by_family = {m.key: m.family for m in replicates[0]}
    dropout = [n for n in names if by_family[n] == "weight dropout"]
    versus_softmax, versus_ensemble, per_p = {}, {}, {}
    for name in dropout:
        if name in excluded:
            per_p[name] = "not supported (no contender: clearly worse on clean images)"
            continue
        for f, keys in families.items():
            versus_softmax[f"{short(name)} − {short(REFERENCE)} | {f}"] = compare(
                name, REFERENCE, keys, "brier"
            )
            if ensemble is not None:
                versus_ensemble[f"{short(name)} − {short(ensemble)} | {f}"] = compare(
                    name, ensemble, keys, "brier"
                )
        helps = _tally(_signs_of(versus_softmax, short(name)), -1)
        if helps == "supported" and +1 in _signs_of(versus_ensemble, short(name)):
            helps = "mixed"  # better than one model, clearly short of the ensemble
        per_p[name] = helps
    found = set(per_p.values())
    statements["weight_dropout_like_ensemble"] = {
        "verdict": (
            "undetermined (no weight dropout)"
            if not dropout
            else "supported"
            if "supported" in found
            else "mixed"
            if "mixed" in found
            else "not supported"
        ),
        "per_p": per_p,
        "comparisons": versus_softmax,
        "versus_ensemble": versus_ensemble,
    }
    return {"statements": statements, "excluded": excluded, "clean_brier_vs_softmax": clean_brier}


def combined(per_dataset: dict[str, dict]) -> dict:
    """One verdict per statement over the data sets: the same on all, else mixed."""
    out = {}
    for key, (statement, criterion) in STATEMENTS.items():
        verdicts = {d: v["statements"][key]["verdict"] for d, v in per_dataset.items()}
        values = set(verdicts.values())
        out[key] = {
            "statement": statement,
            "criterion": criterion,
            "verdict": values.pop() if len(values) == 1 else "mixed",
            "per_dataset": verdicts,
        }
    return out
