"""Probabilities in batches: the one place model outputs become NumPy arrays."""

from __future__ import annotations

import numpy as np

from mnistlab import flops

PREDICT_BATCH = 4096


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """float32 probabilities over the last axis, computed in float64. In place on one copy,
    and the maximum taken class by class: a reduction over a 10-long last axis costs NumPy
    more per row than the arithmetic, and ensembles call this on every member's outputs
    (the same bits as the plain version, a few times faster)."""
    z = np.array(logits, dtype=np.float64)
    if temperature != 1.0:
        z /= temperature
    z -= last_axis_max(z)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z.astype(np.float32)


def last_axis_max(values: np.ndarray) -> np.ndarray:
    """values.max(axis=-1, keepdims=True), the same numbers (NaN included), faster for a
    few classes: one elementwise maximum per class."""
    if values.shape[-1] > 32:
        return values.max(axis=-1, keepdims=True)
    top = values[..., 0].copy()
    for column in range(1, values.shape[-1]):
        np.maximum(top, values[..., column], out=top)
    return top[..., None]


def checked_images(images, name: str = "images") -> np.ndarray:
    """images as float32 (N, 28, 28), or a ConfigError naming `name` and what is wrong: the
    public API's inputs, where a NaN pixel would come back as NaN probabilities and a wrong
    shape would fail deep inside NumPy or Keras."""
    from mnistlab.errors import ConfigError

    try:
        array = np.asarray(images)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ConfigError(f"{name} must be an array of shape (N, 28, 28): {error}") from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise ConfigError(
            f"{name} must be real numbers (pixels in [0, 1]), got dtype {array.dtype}"
        )
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise ConfigError(
            f"{name} must have shape (N, 28, 28), got {array.shape}: one image is images[None]"
        )
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).reshape(len(array), -1).any(axis=1).sum())
        raise ConfigError(f"{name} must be finite: {bad} image(s) hold NaN or infinite pixels")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ConfigError(
            f"{name} must be pixels in [0, 1], got {array.min():g} to {array.max():g} "
            "(MNIST's 0-255 bytes: divide by 255)"
        )
    return array


def predict_logits(model, images: np.ndarray, *, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Logits (N, 10) of a model in inference mode (dropout off)."""
    from mnistlab.models.networks import multiply_adds

    flops.add(flops.forward(multiply_adds(model), len(images)))
    return np.asarray(
        model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0), np.float32
    )


def predict_proba(model, images: np.ndarray, *, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    return softmax(predict_logits(model, images, batch_size=batch_size))


def trained_logits(trained, images: np.ndarray, *, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Logits of a TrainedModel: an MLP's by the NumPy forward pass on its weights (a cached
    one's without Keras or JAX: models/numpy_forward.py), any other's by Keras' predict."""
    from mnistlab.models import numpy_forward

    if not numpy_forward.supports(trained.spec.model):
        return predict_logits(trained.model, images, batch_size=batch_size)
    weights = trained.weights()
    flops.add(flops.forward(numpy_forward.multiply_adds(weights), len(images)))
    activation = trained.spec.model.activation
    return numpy_forward.mlp_logits(weights, activation, images, batch_size=batch_size)


def trained_proba(trained, images: np.ndarray, *, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    return softmax(trained_logits(trained, images, batch_size=batch_size))


def penultimate_features(model, sets: dict) -> dict:
    """What the output layer sees, for every set of images: the model up to its last layer, in
    inference mode, run once over all sets stacked (one compiled predict, not one per set)."""
    import keras

    from mnistlab.models.networks import multiply_adds

    extractor = keras.Model(model.inputs, model.layers[-2].output)
    names, stacked = list(sets), np.concatenate([np.asarray(v, np.float32) for v in sets.values()])
    flops.add(flops.forward(multiply_adds(model), len(stacked)))  # about a full forward pass
    features = np.asarray(extractor.predict(stacked, batch_size=4096, verbose=0))
    bounds = np.cumsum([len(v) for v in sets.values()])[:-1]
    return dict(zip(names, np.split(features, bounds), strict=True))
