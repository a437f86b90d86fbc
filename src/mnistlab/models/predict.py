"""Probabilities in batches: the one place model outputs become NumPy arrays."""

from __future__ import annotations

import numpy as np

from mnistlab import flops

PREDICT_BATCH = 4096


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


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
