"""The scan-friendly layers equal Keras' own Conv2D and MaxPooling2D: values and gradients."""

import keras  # conftest imported mnistlab first, which chose the JAX backend
import numpy as np
import pytest

from mnistlab.config import ModelConfig
from mnistlab.models.layers import PatchConv2D, PatchMaxPool2D
from mnistlab.models.networks import build_model, multiply_adds


def _pair(ours, oracle, shape, seed=0):
    """Both layers built on `shape`, the oracle given our weights."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    ours.build(shape)
    oracle.build(shape)
    if ours.weights:
        oracle.set_weights(ours.get_weights())
    return x


def _grads(layer, x):
    import jax
    import jax.numpy as jnp

    weights = [v.value for v in layer.trainable_variables]
    cotangent = jnp.asarray(np.random.default_rng(1).standard_normal(layer(x).shape), jnp.float32)

    def loss(weights, x):
        out, _ = layer.stateless_call(weights, [], x)
        return jnp.sum(out * cotangent)

    return jax.grad(loss, argnums=(0, 1))(weights, jnp.asarray(x))


@pytest.mark.parametrize(
    "filters, kernel, padding, channels, size",
    [
        (32, 3, "valid", 1, 28),
        (64, 3, "valid", 32, 13),
        (6, 5, "same", 1, 28),
        (16, 5, "valid", 6, 14),
        (4, 4, "same", 3, 9),
    ],
)
def test_patch_convolution_equals_keras_conv2d(filters, kernel, padding, channels, size):
    ours = PatchConv2D(filters, kernel, padding=padding, activation="tanh")
    oracle = keras.layers.Conv2D(filters, kernel, padding=padding, activation="tanh")
    x = _pair(ours, oracle, (5, size, size, channels))
    np.testing.assert_allclose(ours(x), oracle(x), rtol=1e-5, atol=1e-5)
    (w_ours, x_ours), (w_oracle, x_oracle) = _grads(ours, x), _grads(oracle, x)
    for a, b in zip(w_ours, w_oracle, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x_ours, x_oracle, rtol=1e-4, atol=1e-4)


def test_strided_convolution_falls_back_to_keras():
    ours = PatchConv2D(3, 3, strides=2)
    oracle = keras.layers.Conv2D(3, 3, strides=2)
    x = _pair(ours, oracle, (2, 9, 9, 2))
    np.testing.assert_allclose(ours(x), oracle(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [26, 11, 10])
def test_patch_max_pool_equals_keras_max_pooling(size):
    ours, oracle = PatchMaxPool2D(), keras.layers.MaxPooling2D()
    x = _pair(ours, oracle, (3, size, size, 4))
    np.testing.assert_array_equal(ours(x), oracle(x))
    import jax

    def summed(layer):
        return jax.grad(lambda x: (layer(x) ** 2).sum())(x)

    # No ties in Gaussian inputs, so the gradient goes to the same single element of each window.
    np.testing.assert_allclose(summed(ours), summed(oracle), rtol=1e-6)


def test_lenet5_has_the_published_shapes_and_saves(tmp_path):
    model = build_model(ModelConfig(arch="lenet5"), seed=0)
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [
        (28, 28, 1),
        (28, 28, 6),
        (14, 14, 6),
        (10, 10, 16),
        (5, 5, 16),
        (400,),
        (120,),
        (84,),
        (10,),
    ]
    # Kernel size x output positions in the convolutions (5*5*1*6 at 28x28, 5*5*6*16 at 10x10),
    # then 400*120 + 120*84 + 84*10 in the dense layers: 416,520 multiply-adds per image.
    assert multiply_adds(model) == 150 * 28 * 28 + 2400 * 10 * 10 + 400 * 120 + 120 * 84 + 840
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert [type(layer).__name__ for layer in loaded.layers][1:5] == [
        "PatchConv2D",
        "PatchMaxPool2D",
        "PatchConv2D",
        "PatchMaxPool2D",
    ]
    x = np.random.default_rng(0).random((4, 28, 28), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
