"""ODIN (Liang et al. 2018): temperature scaling plus a small input perturbation.

Each image is moved by epsilon against the gradient of its own loss: x' = x - epsilon *
sign(-grad_x log S_y(x; T)), with y the predicted class and S the softmax at temperature T.
In-distribution images gain more confidence from that step than out-of-distribution ones. The
score is 1 - max softmax of x' at T (higher = less trust). T and epsilon are tuned on held-out
data (tuning.py). The gradient is JAX's autodiff through the Keras model (tested against
finite differences).
"""

from __future__ import annotations

import numpy as np

from mnistlab import flops, session
from mnistlab.errors import ConfigError

TEMPERATURES = (1.0, 10.0, 100.0, 1000.0)  # Liang et al.'s grid
EPSILONS = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02)  # pixels in [0, 1]
TUNING_IN = 1000  # held-out images ODIN tunes on (every value is a gradient and a predict)
BATCH = 2048


def architecture(model) -> tuple:
    """What the forward pass depends on besides the weights: each layer's kind and settings
    (names and initializers differ between models of one architecture; they do not matter)."""
    return tuple(
        (
            type(layer).__name__,
            tuple(
                sorted(
                    (k, repr(v))
                    for k, v in layer.get_config().items()
                    if k != "name" and not k.endswith("_initializer")
                )
            ),
        )
        for layer in model.layers
    )


def _gradient_function(model):
    """jit(grad of the summed log max-softmax at T) for the model's architecture: compiled
    once, then reused by every model of that architecture (seeds, studies)."""
    import keras

    if keras.backend.backend() != "jax":
        raise ConfigError(
            f"ODIN needs Keras' JAX backend for its input gradient, not "
            f"{keras.backend.backend()!r}: unset KERAS_BACKEND or set it to jax"
        )
    key = architecture(model)
    # one compiled gradient per architecture and session (the weights are arguments)
    compiled = session.part("uncertainty/compiled-odin", dict)
    if key not in compiled:
        import jax
        import jax.numpy as jnp

        template = model  # any model of this architecture: the weights come as arguments

        def log_max_softmax(images, trainable, non_trainable, temperature):
            logits, _ = template.stateless_call(trainable, non_trainable, images, training=False)
            # Images are independent, so the gradient of the sum is each image's own gradient.
            return jnp.sum(jnp.max(jax.nn.log_softmax(logits / temperature, axis=1), axis=1))

        compiled[key] = jax.jit(jax.grad(log_max_softmax))
    return compiled[key]


def input_gradient(model, images: np.ndarray, temperature: float) -> np.ndarray:
    """d/dx of log max_c softmax(logits(x) / T)_c, per image: (N, 28, 28) float32."""
    from mnistlab.models.networks import multiply_adds

    gradient = _gradient_function(model)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    images = np.asarray(images, np.float32)
    out = np.empty_like(images)
    for start in range(0, len(images), BATCH):
        batch = images[start : start + BATCH]
        padded = np.zeros((BATCH, *images.shape[1:]), np.float32)  # one shape, one compile
        padded[: len(batch)] = batch
        out[start : start + len(batch)] = np.asarray(
            gradient(padded, trainable, non_trainable, np.float32(temperature))
        )[: len(batch)]
    flops.add(flops.training(multiply_adds(model), len(images), 1))  # a forward and a backward
    return out


def perturbed(images, gradient, epsilon: float) -> np.ndarray:
    """x + epsilon * sign(grad log S_y): the step that raises the predicted class's score."""
    return (np.asarray(images, np.float32) + epsilon * np.sign(gradient)).astype(np.float32)


def odin_score(model, images, temperature: float, epsilon: float, gradient=None) -> np.ndarray:
    """1 - max softmax(logits(x') / T), x' the perturbed images (gradient: reused if given)."""
    return odin_scores(model, images, temperature, (epsilon,), gradient)[epsilon]


def odin_scores(model, images, temperature: float, epsilons, gradient=None) -> dict:
    """{epsilon: odin_score} for several epsilons at one T: one gradient, one stacked predict
    (what tuning runs: a predict call per epsilon costs more in overhead than in arithmetic)."""
    from mnistlab.models.predict import predict_logits, softmax

    images = np.asarray(images, np.float32)
    if gradient is None and any(epsilons):
        gradient = input_gradient(model, images, temperature)
    moved = [perturbed(images, gradient, e) if e else images for e in epsilons]
    logits = predict_logits(model, np.concatenate(moved))
    top = softmax(logits, temperature=temperature).max(axis=1)
    return dict(zip(epsilons, np.split(1.0 - top, len(epsilons)), strict=True))
