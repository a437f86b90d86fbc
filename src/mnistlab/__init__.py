"""mnistlab: train MNIST / Fashion-MNIST classifiers and measure when their answers can be trusted."""

import os

__version__ = "0.1.0"


def _choose_keras_backend() -> None:
    """Use JAX unless the user chose a Keras backend with KERAS_BACKEND.

    ~/.keras/keras.json is not taken as a choice: Keras writes it with its own default
    (tensorflow) on first import. This must run before anything imports Keras.
    """
    os.environ.setdefault("KERAS_BACKEND", "jax")


_choose_keras_backend()
