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
