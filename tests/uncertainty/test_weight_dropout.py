import numpy as np
import pytest

from mnistlab.config import ModelConfig
from mnistlab.errors import ConfigError
from mnistlab.models.networks import build_model
from mnistlab.models.predict import predict_logits
from mnistlab.uncertainty.ensemble import vote
from mnistlab.uncertainty.weight_dropout import droppable, ensemble_logits, ensemble_logits_loop


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((37, 28, 28), dtype=np.float32)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(hidden_units=(24, 12)),
        ModelConfig(arch="cnn", hidden_units=(8,)),
        ModelConfig(arch="lenet5"),
    ],
)
@pytest.mark.parametrize("drop_biases", [False, True])
def test_vectorized_equals_plain_loop(config, drop_biases, images):
    model = build_model(config, seed=0)
    fast = ensemble_logits(
        model, images, p=0.3, members=6, seed=5, drop_biases=drop_biases, member_chunk=4
    )
    slow = ensemble_logits_loop(model, images, p=0.3, members=6, seed=5, drop_biases=drop_biases)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)


def test_result_does_not_depend_on_chunking(images):
    model = build_model(ModelConfig(hidden_units=(32,)), seed=0)
    reference = ensemble_logits(
        model, images, p=0.2, members=7, seed=1, member_chunk=7, image_batch=37
    )
    for member_chunk, image_batch in ((1, 5), (3, 16), (5, 37)):
        other = ensemble_logits(
            model,
            images,
            p=0.2,
            members=7,
            seed=1,
            member_chunk=member_chunk,
            image_batch=image_batch,
        )
        np.testing.assert_allclose(
            other, reference, rtol=1e-4, atol=1e-5
        )  # batch shape changes rounding only
        np.testing.assert_array_equal(vote(other)[0], vote(reference)[0])


def test_p_zero_gives_the_original_model_with_confidence_one(images):
    model = build_model(ModelConfig(hidden_units=(32,)), seed=0)
    logits = ensemble_logits(model, images, p=0.0, members=5, seed=0)
    majority, share = vote(logits)
    np.testing.assert_array_equal(majority, predict_logits(model, images).argmax(axis=1))
    np.testing.assert_array_equal(share, np.ones(len(images)))


def test_masks_drop_about_p_of_weights_and_rescale_the_rest():
    model = build_model(ModelConfig(hidden_units=(256,)), seed=0)
    from mnistlab.uncertainty.weight_dropout import member_key, perturb

    weights = [v.value for v in model.trainable_variables]
    perturbed = perturb(weights, member_key(0, 0), 0.25, droppable(model, drop_biases=False))
    kernel, new_kernel = np.asarray(weights[0]), np.asarray(perturbed[0])
    zeroed = (new_kernel == 0) & (kernel != 0)
    assert abs(zeroed.mean() - 0.25) < 0.01
    kept = ~zeroed
    np.testing.assert_allclose(new_kernel[kept], kernel[kept] / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(
        np.asarray(perturbed[1]), np.asarray(weights[1])
    )  # bias untouched


def test_members_differ_and_seed_reproduces(images):
    model = build_model(ModelConfig(hidden_units=(32,)), seed=0)
    a = ensemble_logits(model, images, p=0.5, members=3, seed=2)
    b = ensemble_logits(model, images, p=0.5, members=3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_vote_share_and_ties():
    logits = np.zeros((4, 2, 3), np.float32)
    logits[[0, 1, 2], 0, 2] = 1  # image 0: three votes for class 2, one for class 0
    logits[[0, 1], 1, 1] = 1  # image 1: two votes for class 1, two for class 0 -> tie to class 0
    majority, share = vote(logits)
    np.testing.assert_array_equal(majority, [2, 0])
    np.testing.assert_allclose(share, [0.75, 0.5])


def test_bad_p_is_rejected(images):
    model = build_model(ModelConfig(hidden_units=(8,)), seed=0)
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        ensemble_logits(model, images, p=1.0, members=2, seed=0)


def test_members_run_in_parts_merge_into_one_pass(images):
    """An ensemble of 11 in chunks of 3 run as three parts of whole chunks (as workers do:
    members 0-2, 3-8, 9-10) gives the same members' logits, and their summaries merge into
    the one-pass summary, bit for bit."""
    from mnistlab.uncertainty.members import MemberSummary

    model = build_model(ModelConfig(hidden_units=(24,)), seed=0)
    labels = np.arange(len(images)) % 10
    run = {"p": 0.3, "seed": 5, "member_chunk": 3}
    whole = ensemble_logits(model, images, members=11, **run)
    summary = ensemble_logits(
        model, images, members=11, sink=MemberSummary(11, 37, labels=labels), **run
    )
    parts = []
    for first, count in ((0, 3), (3, 6), (9, 2)):
        logits = ensemble_logits(model, images, members=count, first_member=first, **run)
        np.testing.assert_array_equal(logits, whole[first : first + count])
        sink = MemberSummary(count, 37, labels=labels)
        parts.append(
            ensemble_logits(model, images, members=count, first_member=first, sink=sink, **run)
        )
    merged = MemberSummary.merged(parts)
    np.testing.assert_array_equal(merged.counts, summary.counts)
    np.testing.assert_array_equal(merged.member_accuracy(), summary.member_accuracy())
    np.testing.assert_array_equal(merged.mean_probability(), summary.mean_probability())
