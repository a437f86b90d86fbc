"""Convolution and max pooling that train fast inside a jitted `lax.scan` on XLA's CPU backend.

Why not keras.layers.Conv2D and MaxPooling2D as they are: inside a while loop (our scanned
epoch), XLA:CPU leaves the backward convolutions (weight and input gradients, dim labels
f01b_i01o->01bf and b01f_01oi->b01f) in their raw layout, so they miss the Eigen fast path
and run as naive loops; the small CNN's scanned epoch was several times
slower than Keras' own `fit` (docs/measurements.md). Max pooling's gradient
(select-and-scatter) is ~4x slower than that of a reshape followed by a max.

So these layers compute the same functions from ops that stay fast in a scan:
- PatchConv2D: the k x k shifted views of the input, concatenated on the channel axis
  (im2col), times the kernel reshaped to (k*k*in, out): one matrix product forward, and
  two in the backward pass; the patches' transpose is a sum of padded slices. (For one
  input channel, k*k broadcast multiply-adds were faster for the layer alone but slower in
  the whole model's step: measured, not used.)
- PatchMaxPool2D: 2x2 windows as a reshape, then a max over the two window axes.
Both are Keras layers (subclasses, same config), saved and loaded like the originals, and
equal to them within float32 rounding (tests/models/test_layers.py uses Keras' own layers as the
oracle). Configurations they do not cover (strides, dilation, channels_first, overlapping
or padded pools) fall back to the parent's code.
"""

from __future__ import annotations

import keras
from keras import ops

# Above this many images per call (prediction, ensembles), XLA's own convolution and pooling
# are faster: the patches of a large batch no longer fit in cache. Training batches (32 here) take the patches.
PATCH_BATCH_LIMIT = 256


@keras.saving.register_keras_serializable(package="mnistlab")
class PatchConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D, computed as patches times the reshaped kernel (stride 1)."""

    def _patch_path(self) -> bool:
        return (
            tuple(self.strides) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and self.data_format == "channels_last"
            and self.groups == 1
        )

    def convolution_op(self, inputs, kernel):
        kh, kw, channels_in, channels_out = kernel.shape
        small_batch = bool(inputs.shape[0]) and inputs.shape[0] <= PATCH_BATCH_LIMIT
        if not self._patch_path() or not small_batch:
            return super().convolution_op(inputs, kernel)
        if self.padding == "same":  # Keras' split: the odd pixel goes after
            inputs = ops.pad(
                inputs,
                [[0, 0], [(kh - 1) // 2, kh // 2], [(kw - 1) // 2, kw // 2], [0, 0]],
            )
        height, width = inputs.shape[1] - kh + 1, inputs.shape[2] - kw + 1
        views = [inputs[:, i : i + height, j : j + width, :] for i in range(kh) for j in range(kw)]
        # Patch channel index (i * kw + j) * in + c matches the kernel's row-major reshape.
        rows = ops.reshape(kernel, (kh * kw * channels_in, channels_out))
        return ops.matmul(ops.concatenate(views, axis=-1), rows)


@keras.saving.register_keras_serializable(package="mnistlab")
class PatchMaxPool2D(keras.layers.MaxPooling2D):
    """keras.layers.MaxPooling2D, non-overlapping windows done as reshape + max."""

    def call(self, inputs):
        size, strides = tuple(self.pool_size), tuple(self.strides)
        if (
            size != strides
            or self.padding != "valid"
            or self.data_format != "channels_last"
            or not inputs.shape[0]
            or inputs.shape[0] > PATCH_BATCH_LIMIT  # large batches: reduce_window is faster
        ):
            return super().call(inputs)
        _, height, width, channels = inputs.shape
        rows, cols = height // size[0], width // size[1]  # a ragged edge is dropped, as Keras does
        inputs = inputs[:, : rows * size[0], : cols * size[1], :]
        windows = ops.reshape(inputs, (-1, rows, size[0], cols, size[1], channels))
        return ops.max(windows, axis=(2, 4))
