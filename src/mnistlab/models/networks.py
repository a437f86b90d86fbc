"""build_model(config) -> keras.Model. Outputs are logits; probabilities come from a softmax."""

from __future__ import annotations

import numpy as np

from mnistlab.config import ModelConfig

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)


def build_model(config: ModelConfig, *, seed: int, stock_layers: bool = False):
    """The same config and seed always give the same initial weights.

    stock_layers: keras.layers.Conv2D and MaxPooling2D instead of their scan-friendly
    subclasses in mnistlab.models.layers (same function, same initial weights): the straightforward
    model that tests and the benchmark compare with."""
    import keras

    keras.utils.set_random_seed(seed)
    if config.arch == "mlp":
        layers = [keras.layers.Flatten()]
        for units in config.hidden_units:
            layers.append(keras.layers.Dense(units, activation=config.activation))
            if config.dropout:
                layers.append(keras.layers.Dropout(config.dropout))
    else:
        layers = [keras.layers.Reshape((*IMAGE_SHAPE, 1)), *_conv_blocks(config, stock_layers)]
        layers.append(keras.layers.Flatten())
        for units in config.hidden_units:
            if config.dropout:
                layers.append(keras.layers.Dropout(config.dropout))
            layers.append(keras.layers.Dense(units, activation=config.activation))
    layers.append(keras.layers.Dense(NUM_CLASSES))
    return keras.Sequential([keras.Input(IMAGE_SHAPE), *layers], name=f"{config.arch}")


def _conv_blocks(config: ModelConfig, stock_layers: bool) -> list:
    """The convolutional part; the dense hidden layers (config.hidden_units) follow it.

    cnn: conv 32@3x3 -> pool -> conv 64@3x3 -> pool (valid padding), 5x5x64 features.
    lenet5: LeCun et al. (1998) on 28x28 images: conv 6@5x5 with 'same' padding (what the
    original's 32x32 input, the digit padded by 2 pixels, gives) -> pool -> conv 16@5x5 valid
    -> pool: 5x5x16 = 400 features, then Dense 120 -> 84 (its default hidden_units). Max
    pooling and the config's activation (ReLU by default) replace the original's trainable
    average subsampling and scaled tanh, as in uncertainty-baselines' LeNet-5.
    """
    import keras

    from mnistlab.models.layers import PatchConv2D, PatchMaxPool2D

    if stock_layers:
        PatchConv2D, PatchMaxPool2D = keras.layers.Conv2D, keras.layers.MaxPooling2D  # noqa: N806
    act = config.activation
    if config.arch == "lenet5":
        return [
            PatchConv2D(6, 5, padding="same", activation=act),
            PatchMaxPool2D(),
            PatchConv2D(16, 5, activation=act),
            PatchMaxPool2D(),
        ]
    return [
        PatchConv2D(32, 3, activation=act),
        PatchMaxPool2D(),
        PatchConv2D(64, 3, activation=act),
        PatchMaxPool2D(),
    ]


def has_convolutions(model) -> bool:
    """Whether the model has convolution layers (4-D kernels): the ensembles and MC dropout
    run those differently (see uncertainty/ensemble.py and mc_dropout.py)."""
    return any(len(v.shape) == 4 for v in model.trainable_variables)


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
