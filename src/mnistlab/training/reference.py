"""The straightforward way, Keras `compile` + `fit`: the reference for tests and benchmarks, and
the training path on backends other than JAX."""

from __future__ import annotations

import time

import numpy as np


def fit_keras(
    model, optimizer, x, y, *, epochs: int, batch_size: int, shuffle: bool = True, on_epoch=None
):
    """The straightforward way: compile + fit. Reference for tests and benchmarks."""
    import keras

    class _Report(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "acc": float(logs["accuracy"]),
                "seconds": time.perf_counter() - self.start,
            }
            history.append(row)
            if on_epoch:
                on_epoch(row)

    history = []
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=0,
        callbacks=[_Report()],
    )
    return history


def accuracy_of(model, images, labels) -> float:
    from mnistlab.models.predict import predict_logits

    if len(images) == 0:
        return float("nan")
    return float(np.mean(predict_logits(model, images).argmax(axis=1) == labels))
