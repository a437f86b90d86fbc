"""Streamed ensembles: a MemberSummary built chunk by chunk equals the computations on every
member's logits held at once, bit for bit, and never holds them."""

import json

import numpy as np
import pytest

from mnistlab.config import ModelConfig
from mnistlab.errors import ConfigError
from mnistlab.models.networks import build_model
from mnistlab.models.predict import softmax
from mnistlab.uncertainty import members as members_module
from mnistlab.uncertainty.members import MemberLogits, MemberSummary
from mnistlab.uncertainty.weight_dropout import ensemble_logits


def reference(logits: np.ndarray, labels: np.ndarray) -> dict:
    """What the studies computed from the full (K, N, C) array before streaming."""
    k, n, c = logits.shape
    predictions = logits.argmax(axis=-1)
    counts = np.zeros((n, c), np.int32)
    for member in range(k):
        counts[np.arange(n), predictions[member]] += 1
    return {
        "counts": counts,
        "mean": np.mean([softmax(member) for member in logits], axis=0, dtype=np.float64),
        "mean_all_at_once": softmax(logits).mean(axis=0, dtype=np.float64),
        "member_accuracy": (predictions == labels[None]).mean(axis=1),
    }


def test_summary_equals_the_full_array_bit_for_bit():
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(37, 53, 10)) * 3).astype(np.float32)
    labels = rng.integers(0, 10, 53)
    want = reference(logits, labels)
    # Fed in uneven chunks of members and images, as the runner does.
    summary = MemberSummary(37, 53, labels=labels)
    for first_member in range(0, 37, 8):
        for first_image in range(0, 53, 20):
            chunk = logits[first_member : first_member + 8, first_image : first_image + 20]
            summary.add(first_member, chunk, first_image)
    np.testing.assert_array_equal(summary.counts, want["counts"])
    np.testing.assert_array_equal(summary.mean_probability(), want["mean"].astype(np.float32))
    np.testing.assert_array_equal(
        summary.mean_probability(), want["mean_all_at_once"].astype(np.float32)
    )
    np.testing.assert_array_equal(summary.member_accuracy(), want["member_accuracy"])
    majority, share = summary.vote()
    np.testing.assert_array_equal(majority, want["counts"].argmax(axis=1))
    np.testing.assert_array_equal(share, want["counts"].max(axis=1) / 37)


def test_split_gives_each_set_its_own_summary():
    logits = np.random.default_rng(1).normal(size=(5, 30, 10)).astype(np.float32)
    first, second = MemberSummary.from_logits(logits).split([12])
    np.testing.assert_array_equal(
        first.mean_probability(), MemberSummary.from_logits(logits[:, :12]).mean_probability()
    )
    np.testing.assert_array_equal(
        second.vote_shares(), reference(logits[:, 12:], np.zeros(18))["counts"] / 5
    )


def test_an_incomplete_summary_is_an_error():
    summary = MemberSummary(3, 4)
    summary.add(0, np.zeros((2, 4, 10), np.float32), 0)
    with pytest.raises(RuntimeError, match="missing members"):
        summary.mean_probability()


def test_streamed_runner_equals_full_logits_and_never_holds_them(monkeypatch):
    model = build_model(ModelConfig(hidden_units=(16,)), seed=0)
    images = np.random.default_rng(2).random((45, 28, 28), dtype=np.float32)
    labels = np.arange(45) % 10
    full = ensemble_logits(model, images, p=0.3, members=11, seed=4, member_chunk=11)
    want = reference(full, labels)

    def no_full_array(*args, **kwargs):
        raise AssertionError("a streamed run allocated every member's logits")

    monkeypatch.setattr(members_module.MemberLogits, "__init__", no_full_array)
    summary = ensemble_logits(
        model,
        images,
        p=0.3,
        members=11,
        seed=4,
        member_chunk=4,
        image_batch=16,
        sink=MemberSummary(11, 45, labels=labels),
    )
    np.testing.assert_array_equal(summary.counts, want["counts"])
    np.testing.assert_allclose(summary.mean_probability(), want["mean"], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(summary.member_accuracy(), want["member_accuracy"])


def test_keeping_every_member_is_checked_against_the_budget():
    with pytest.raises(ConfigError, match=r"needs 381 MiB, over the memory budget of 64 MiB"):
        MemberLogits(10_000, 1000, memory_budget=64 << 20)
    MemberLogits(100, 1000, memory_budget=64 << 20)  # 3.8 MiB fits


def test_dropout_study_with_100_members_is_unchanged(synthetic_data, tmp_path):
    """The study's rows equal what the full (K, N, C) logits give, as before streaming."""
    from mnistlab.cli import main
    from mnistlab.studies.confidence import right_wrong_stats
    from mnistlab.studies.framework.context import StudyContext, get_models, test_set, tutorial_spec

    out = tmp_path / "out"
    argv = ["--quiet", "dropout", "--quick", "--p", "0.2,0.6", "--members", "100"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = json.loads((out / "dropout" / "results.json").read_text())["rows"]
    ctx = StudyContext(out=out, quick=True)
    (trained,) = get_models(ctx, [tutorial_spec(ctx, "fashion-mnist")])
    images, labels = test_set(ctx, "fashion-mnist")
    for row, p in zip(rows, (0.2, 0.6), strict=True):
        full = ensemble_logits(trained.model, images, p=p, members=100, seed=0)
        want = reference(full, labels)
        majority = want["counts"].argmax(axis=1)
        share = want["counts"].max(axis=1) / 100
        correct = majority == labels
        assert row["vote/cls/acc"] == float(correct.mean())
        assert row["member/cls/acc_mean"] == float(want["member_accuracy"].mean())
        assert row["member/cls/acc_spread"] == float(want["member_accuracy"].std())
        assert row["mean/cls/acc"] == float((want["mean"].argmax(1) == labels).mean())
        stats = json.loads(json.dumps(right_wrong_stats(share, correct), allow_nan=True))
        for key, value in stats.items():
            assert row[key] == (None if value != value else value), key


def test_the_uncertainty_split_of_an_ensemble():
    """Total entropy = expected entropy (aleatoric) + mutual information (epistemic), from the
    streamed summary, equal to the stacked computation; split sets keep theirs."""
    logits = np.random.default_rng(3).normal(scale=3, size=(7, 40, 10)).astype(np.float32)
    summary = MemberSummary(7, 40)
    for first in range(0, 7, 3):  # members arriving in chunks
        summary.add(first, logits[first : first + 3], 0)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p = (p / p.sum(-1, keepdims=True)).astype(np.float64)
    member_entropy = -(p * np.log(p)).sum(-1)  # (K, N)
    mean = p.mean(0)
    total = -(mean * np.log(mean)).sum(-1)
    np.testing.assert_allclose(summary.expected_entropy(), member_entropy.mean(0), rtol=1e-5)
    np.testing.assert_allclose(
        summary.mutual_information(), total - member_entropy.mean(0), atol=1e-5
    )
    agree = MemberSummary.from_logits(np.repeat(logits[:1], 5, axis=0))
    np.testing.assert_allclose(agree.mutual_information(), 0.0, atol=1e-6)  # no disagreement
    first, second = summary.split([25])
    np.testing.assert_array_equal(second.expected_entropy(), summary.expected_entropy()[25:])


def test_parts_evaluated_apart_merge_into_one_pass():
    """K members summarized in three parts (as workers would) merge into the summary of one
    pass: counts, votes, member accuracies and the float32 mean probability exactly (its
    float64 sums are exact here, saturated probabilities included); the uncertainty split
    within float64 rounding."""
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(23, 41, 10)) * 3
    logits[:, 20:] += rng.normal(size=(21, 10)) * 30  # members that agree, near-certain
    logits = logits.astype(np.float32)
    labels = rng.integers(0, 10, 41)
    whole = MemberSummary.from_logits(logits, labels=labels)
    parts = [
        MemberSummary.from_logits(logits[a:b], labels=labels)
        for a, b in ((0, 5), (5, 17), (17, 23))
    ]
    merged = MemberSummary.merged(parts)
    assert merged.members == 23
    np.testing.assert_array_equal(merged.counts, whole.counts)
    np.testing.assert_array_equal(merged.vote()[0], whole.vote()[0])
    np.testing.assert_array_equal(merged.vote_shares(), whole.vote_shares())
    np.testing.assert_array_equal(merged.member_accuracy(), whole.member_accuracy())
    np.testing.assert_array_equal(merged.mean_probability(), whole.mean_probability())
    assert (whole.mean_probability()[20:].max(axis=1) > 0.999).mean() > 0.3  # saturated
    np.testing.assert_allclose(merged.expected_entropy(), whole.expected_entropy(), rtol=1e-12)
    np.testing.assert_allclose(merged.mutual_information(), whole.mutual_information(), atol=1e-6)
    with pytest.raises(RuntimeError, match="missing members"):
        MemberSummary.merged([MemberSummary(3, 41)])
    with pytest.raises(ValueError, match="same images"):
        MemberSummary.merged([parts[0], MemberSummary.from_logits(logits[:2, :40])])
