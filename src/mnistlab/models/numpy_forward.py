"""The MLP's forward pass in NumPy, from its weights as arrays.

A command that only predicts with cached MLPs (confidence, cross, morph, variants on a warm
cache) then never imports Keras or JAX, most of its start-up. Cold or warm, those studies
predict this way, so the same seed gives the same numbers whether the model was just trained or
read from the cache. The tests hold it to Keras' predict (same classes; logits within float32
rounding) for every activation it takes. GELU (an erf, which NumPy lacks) and the convolutional
networks are left to Keras.
"""

from __future__ import annotations

import numpy as np

from mnistlab.config import ModelConfig

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # jax.nn.selu's


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) = inf for x << 0: 1 / inf = 0, as it should
        return 1.0 / (1.0 + np.exp(-x))


# Keras' activations by name (keras.activations, on JAX), in float32
ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "softplus": lambda x: np.logaddexp(x, np.float32(0.0)),
    "swish": lambda x: x * _sigmoid(x),
    "linear": lambda x: x,
}


def supports(config: ModelConfig) -> bool:
    """Whether a model of this config is predicted with NumPy (an MLP, any activation but GELU)."""
    return config.arch == "mlp" and config.activation in ACTIVATIONS


def multiply_adds(weights: list[np.ndarray]) -> int:
    """Multiply-adds of one image's forward pass: the Dense kernels (networks.multiply_adds)."""
    return sum(int(w.size) for w in weights[0::2])


def mlp_logits(
    weights: list[np.ndarray], activation: str, images: np.ndarray, *, batch_size: int = 4096
) -> np.ndarray:
    """Logits (N, 10) of Flatten -> Dense(activation) ... -> Dense, in inference mode (a dropout
    layer is the identity there). weights: kernel, bias, kernel, bias, ... (Keras' get_weights)."""
    act = ACTIVATIONS[activation]
    layers = list(zip(weights[0::2], weights[1::2], strict=True))
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    logits = np.empty((len(flat), layers[-1][1].shape[0]), np.float32)
    for start in range(0, len(flat), batch_size):  # bounded memory, as Keras' predict
        x = flat[start : start + batch_size]
        for depth, (kernel, bias) in enumerate(layers):
            x = x @ kernel + bias
            if depth < len(layers) - 1:
                x = act(x).astype(np.float32, copy=False)
        logits[start : start + batch_size] = x
    return logits
