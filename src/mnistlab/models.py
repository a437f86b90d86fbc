"""build_model(config) -> keras.Model. Outputs are logits; probabilities come from a softmax."""

from __future__ import annotations

import numpy as np

from mnistlab.config import ModelConfig

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


def build_model(config: ModelConfig, *, seed: int):
    """The same config and seed always give the same initial weights."""
    import keras

    keras.utils.set_random_seed(seed)
    if config.arch == "mlp":
        layers = [keras.layers.Flatten()]
        for units in config.hidden_units:
            layers.append(keras.layers.Dense(units, activation=config.activation))
            if config.dropout:
                layers.append(keras.layers.Dropout(config.dropout))
    else:  # a small CNN: two conv blocks, then the dense hidden layers
        layers = [
            keras.layers.Reshape((*IMAGE_SHAPE, 1)),
            keras.layers.Conv2D(32, 3, activation=config.activation),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation=config.activation),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
        ]
        for units in config.hidden_units:
            if config.dropout:
                layers.append(keras.layers.Dropout(config.dropout))
            layers.append(keras.layers.Dense(units, activation=config.activation))
    layers.append(keras.layers.Dense(NUM_CLASSES))
    return keras.Sequential([keras.Input(IMAGE_SHAPE), *layers], name=f"{config.arch}")


def make_optimizer(name: str, learning_rate: float):
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return classes[name](learning_rate=learning_rate)


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass for one image: Dense and Conv2D layers (the rest is
    negligible next to them). What the FLOP floor counts."""
    total = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        size = int(np.prod(kernel.shape))
        if len(kernel.shape) == 4:  # Conv2D: the kernel is applied at every output position
            _, height, width, _ = layer.output.shape
            size *= int(height) * int(width)
        total += size
    return total
