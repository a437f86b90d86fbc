"""ODIN's input gradient against finite differences of a float64 forward pass written out from
the model's weights, and the direction and limits of its score."""

import numpy as np
import pytest

from mnistlab import session
from mnistlab.config import ModelConfig
from mnistlab.models.networks import build_model
from mnistlab.uncertainty import odin


@pytest.fixture(scope="module")
def model():
    return build_model(ModelConfig(hidden_units=(16,)), seed=0)


def _log_max_softmax(model, image: np.ndarray, temperature: float) -> float:
    """The MLP's forward pass in float64: Flatten -> Dense(relu) -> Dense, then log max softmax."""
    (w1, b1), (w2, b2) = (layer.get_weights() for layer in model.layers if layer.get_weights())
    hidden = np.maximum(image.reshape(-1).astype(np.float64) @ w1 + b1, 0.0)
    z = (hidden @ w2 + b2) / temperature
    return float(z.max() - z.max() - np.log(np.exp(z - z.max()).sum()))


@pytest.mark.parametrize("temperature", [1.0, 10.0])
def test_input_gradient_matches_finite_differences(model, temperature):
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28)).astype(np.float32)
    gradient = odin.input_gradient(model, images, temperature)
    h = 1e-5
    for i in range(3):
        for pixel in rng.choice(784, 6, replace=False):
            up, down = images[i].astype(np.float64).copy(), images[i].astype(np.float64).copy()
            up.flat[pixel] += h
            down.flat[pixel] -= h
            numeric = (
                _log_max_softmax(model, up, temperature)
                - _log_max_softmax(model, down, temperature)
            ) / (2 * h)
            assert gradient[i].flat[pixel] == pytest.approx(numeric, rel=2e-3, abs=1e-6)


def test_the_perturbation_raises_confidence_and_epsilon_zero_is_temperature_scaling(model):
    from mnistlab.models.predict import predict_logits, softmax

    images = np.random.default_rng(1).random((50, 28, 28)).astype(np.float32)
    plain = odin.odin_score(model, images, 1.0, 0.0)
    logits = predict_logits(model, images)
    np.testing.assert_allclose(plain, 1.0 - softmax(logits).max(axis=1), rtol=1e-6)
    hot = odin.odin_score(model, images, 10.0, 0.0)
    np.testing.assert_allclose(hot, 1.0 - softmax(logits, temperature=10.0).max(axis=1), rtol=1e-6)
    moved = odin.odin_score(model, images, 10.0, 0.01)
    assert (moved <= hot + 1e-7).mean() > 0.95  # the step raises the top class's probability
    assert moved.mean() < hot.mean()


def test_one_compiled_gradient_serves_every_model_of_an_architecture(model):
    """A second model of the same architecture (another seed) reuses the compiled gradient
    with its own weights: its gradient is its own, not the first model's."""
    other = build_model(ModelConfig(hidden_units=(16,)), seed=1)
    images = np.random.default_rng(2).random((2, 28, 28)).astype(np.float32)
    assert odin.architecture(other) == odin.architecture(model)
    first = odin.input_gradient(model, images, 1.0)
    before = len(session.part("uncertainty/compiled-odin", dict))
    second = odin.input_gradient(other, images, 1.0)
    assert len(session.part("uncertainty/compiled-odin", dict)) == before  # no new compilation
    h = 1e-5
    up, down = images[0].astype(np.float64).copy(), images[0].astype(np.float64).copy()
    up.flat[300] += h
    down.flat[300] -= h
    numeric = (_log_max_softmax(other, up, 1.0) - _log_max_softmax(other, down, 1.0)) / (2 * h)
    assert second[0].flat[300] == pytest.approx(numeric, rel=2e-3, abs=1e-6)
    assert not np.allclose(first, second)
    assert odin.architecture(build_model(ModelConfig(hidden_units=(8,)), seed=0)) != (
        odin.architecture(model)
    )
