"""The MLP's NumPy forward pass against Keras' predict, and the cached weights it runs on."""

import json

import float32
import numpy as np
import pytest

from mnistlab import session
from mnistlab.config import ACTIVATIONS, ModelConfig, RunSpec, TrainConfig
from mnistlab.models import numpy_forward
from mnistlab.models.networks import build_model, multiply_adds
from mnistlab.models.predict import predict_logits, trained_logits
from mnistlab.training.cache import WEIGHTS_FILE, TrainedModel


def _images(n=300, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


def _spread(model, scale=3.0, seed=1):
    """Weights far from their initial ones (saturating sigmoid and tanh, negative ELU inputs)."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            w + scale * rng.standard_normal(w.shape).astype(np.float32) * w.std()
            for w in model.get_weights()
        ]
    )
    return model


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if a != "gelu"])
def test_every_activation_gives_keras_logits(activation):
    config = ModelConfig(hidden_units=(48, 24), activation=activation, dropout=0.3)
    model = _spread(build_model(config, seed=3))
    images = _images()
    ours = numpy_forward.mlp_logits(model.get_weights(), activation, images, batch_size=128)
    keras_logits = predict_logits(model, images)
    np.testing.assert_allclose(
        ours, keras_logits, rtol=2e-5, atol=2e-5 * np.abs(keras_logits).max()
    )
    assert np.array_equal(ours.argmax(axis=1), keras_logits.argmax(axis=1))
    assert numpy_forward.multiply_adds(model.get_weights()) == multiply_adds(model)


def test_a_batch_is_computed_as_the_whole():
    model = build_model(ModelConfig(), seed=0)
    images = _images(500)
    weights = model.get_weights()
    whole = numpy_forward.mlp_logits(weights, "relu", images, batch_size=4096)
    batched = numpy_forward.mlp_logits(weights, "relu", images, batch_size=7)
    # Not the same bits: a BLAS kernel may sum a product of 7 rows in another order than one of
    # 4,096 (OpenBLAS's AVX-512 kernel does: 5 of 5,000 logits 1.5e-6 apart). Float32's bound
    # for these sums (tests/float32.py), and the same answer wherever it cannot flip.
    bound = float32.relu_mlp_bound(weights, images)
    float32.assert_within(batched, whole, bound, what="logits")
    apart = float32.separated(whole, bound)
    assert apart.mean() > 0.8  # the bound is the worst case: most answers are far from it
    assert np.array_equal(batched.argmax(axis=1)[apart], whole.argmax(axis=1)[apart])


@pytest.mark.parametrize(
    "config", [ModelConfig(activation="gelu"), ModelConfig(arch="cnn", hidden_units=(16,))]
)
def test_gelu_and_convolutions_stay_with_keras(config):
    model = build_model(config, seed=0)
    spec = RunSpec("mnist", config, TrainConfig(), seed=0)
    images = _images(50)
    assert not numpy_forward.supports(config)
    np.testing.assert_array_equal(
        trained_logits(TrainedModel(spec, model), images), predict_logits(model, images)
    )


@pytest.fixture
def cached(synthetic_data):
    """An MLP trained on the synthetic data: as training returned it, and as the cache has it."""
    from mnistlab.training import train
    from mnistlab.training.cache import load

    spec = RunSpec("mnist", ModelConfig(hidden_units=(16,)), TrainConfig(epochs=1), seed=0)
    fresh = train(spec)
    session.clear()
    return fresh, load(spec, fresh.path)


def test_a_cached_mlp_predicts_from_its_weights_file_without_keras(cached):
    fresh, found = cached
    images = _images(100)
    assert (found.path / WEIGHTS_FILE).is_file()
    warm = trained_logits(found, images)
    assert found.stored._model is None  # the model file was never read
    np.testing.assert_array_equal(warm, trained_logits(fresh, images))  # just trained: the same


@pytest.mark.parametrize("damage", ["missing", "truncated", "other weights"])
def test_a_missing_or_damaged_weights_file_is_read_from_the_model_and_written_again(cached, damage):
    from mnistlab.training.cache import load, write_weights

    fresh, found = cached
    path = found.path / WEIGHTS_FILE
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        write_weights(path, [w + 1 for w in fresh.weights()])
    images = _images(100)
    np.testing.assert_array_equal(trained_logits(found, images), trained_logits(fresh, images))
    assert found.stored._model is not None  # read by Keras this time
    session.clear()
    again = load(fresh.spec, fresh.path)
    for a, b in zip(again.stored._saved_weights(), fresh.weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the file is whole again
    assert json.loads((found.path / "meta.json").read_text())["weights_sha256"]
