"""Numbers over seeds, and the exercise's claims judged from numbers built to give each verdict."""

import math

import pytest

from mnistlab.studies import claims
from mnistlab.studies.framework.replicates import over_seeds


def test_over_seeds_mean_std_and_each_seed():
    entry = over_seeds(
        [
            {"acc": 0.80, "n": 10, "name": "a", "hist": [1, 2]},
            {"acc": 0.90, "n": 14, "name": "b", "hist": [3, 4]},
        ]
    )
    assert entry["acc"] == pytest.approx(0.85) and entry["acc_std"] == pytest.approx(0.0707107)
    assert entry["acc_seeds"] == [0.80, 0.90] and entry["n"] == 12
    assert entry["name"] == "a" and entry["hist"] == [1, 2]  # not numbers: the first seed's


def test_over_seeds_one_seed_and_nan():
    assert over_seeds([{"x": 0.5}]) == {"x": 0.5, "x_std": 0.0, "x_seeds": [0.5]}
    entry = over_seeds([{"x": math.nan}, {"x": 0.2}, {"x": 0.4}])
    assert entry["x"] == pytest.approx(0.3) and math.isnan(entry["x_seeds"][0])
    assert math.isnan(over_seeds([{"x": math.nan}])["x"])
    with pytest.raises(ValueError):
        over_seeds([])


def _dropout(member, vote, auroc, std=0.001):
    rows = [
        over_seeds(
            [
                {
                    "p": p,
                    "member/cls/acc_mean": m + d,
                    "vote/cls/acc": v + d,
                    "vote/err/auroc": a + d,
                    "original/cls/acc": 0.88,
                    "original/err/auroc": 0.85,
                }
                for d in (-std, std)
            ]
        )
        for p, m, v, a in zip((0.01, 0.2, 0.6), member, vote, auroc, strict=True)
    ]
    return {"rows": rows, "options": {"members": 100}}


@pytest.mark.parametrize(
    "member, vote, verdict",
    [
        ((0.87, 0.80, 0.40), (0.88, 0.85, 0.70), "supported"),
        ((0.87, 0.80, 0.40), (0.88, 0.88, 0.885), "mixed"),
        ((0.87, 0.875, 0.88), (0.88, 0.88, 0.885), "not supported"),
    ],
)
def test_claim_accuracy_verdicts(member, vote, verdict):
    result = claims.claim_accuracy(_dropout(member, vote, (0.8, 0.8, 0.8)))
    assert result["verdict"] == verdict and "p=0.6" in result["evidence"]


@pytest.mark.parametrize(
    "auroc, verdict",
    [
        ((0.9, 0.8, 0.7), "supported"),
        ((0.6, 0.8, 0.9), "not supported"),
        ((0.6, 0.9, 0.7), "mixed"),
    ],
)
def test_claim_knows_wrong_verdicts(auroc, verdict):
    result = claims.claim_knows_wrong(_dropout((0.8,) * 3, (0.8,) * 3, auroc))
    assert result["verdict"] == verdict


def _cross(acc, conf_right, auroc):
    entry = {
        "cls/acc": acc,
        "mean_conf_right": conf_right,
        "mean_conf_wrong": 0.8,
        "err/auroc": auroc,
        "share_above_0.9": 0.6,
    }
    return {"directions": {"fashion-mnist->mnist": entry, "mnist->fashion-mnist": dict(entry)}}


@pytest.mark.parametrize(
    "acc, conf_right, auroc, verdict",
    [
        (0.1, 0.95, 0.9, "supported"),
        (0.1, 0.95, 0.55, "mixed"),
        (0.5, 0.6, 0.55, "not supported"),
    ],
)
def test_claim_wrong_data_verdicts(acc, conf_right, auroc, verdict):
    result = claims.claim_wrong_data(_cross(acc, conf_right, auroc))
    assert result["verdict"] == verdict
    # the evidence quotes the numbers it rests on (a renamed key would show "n/a")
    assert f"accuracy {acc:.4f}" in result["evidence"] and "n/a" not in result["evidence"]


@pytest.mark.parametrize(
    "share, verdict", [(0.8, "supported"), (0.3, "mixed"), (0.1, "not supported")]
)
def test_claim_unfamiliar_verdicts(share, verdict):
    morph = {
        "pairs": [{}, {}, {}],
        "numbers": {"blend/share_above_0.9": share, "blend/mean_top_probability": 0.9},
    }
    result = claims.claim_unfamiliar(morph, _cross(0.1, 0.9, 0.6))
    assert result["verdict"] == verdict and "300 blends" in result["evidence"]


def test_claim_with_undefined_numbers_is_undetermined():
    """On a tiny run with no wrong answers the AUROC is undefined (null in results.json)."""
    data = _dropout((0.8,) * 3, (0.8,) * 3, (0.8, 0.8, 0.8))
    for row in data["rows"]:
        row["vote/err/auroc"] = None
    assert claims.claim_knows_wrong(data)["verdict"].startswith("undetermined")
