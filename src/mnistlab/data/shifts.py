"""Geometric shifts of a batch of images: pure functions of (images, parameters), no randomness.

Images are float (N, H, W) in [0, 1]. Coordinates follow scikit-image's convention: a point is
(x = column, y = row), and the image centre is ((W - 1) / 2, (H - 1) / 2), 13.5 for 28 x 28.
`affine` is the one resampler (bilinear, zeros outside the image) that rotations here, the
letters' jitter and MNIST-C's shear / scale / rotate / translate all use.

The dataset-shift levels are Ovadia et al. 2019's ("Can you trust your model's uncertainty?"):
rotations from 0 to 180 degrees in 15-degree steps, and translations (np.roll along the width,
pixels wrap around) by 2 to 26 pixels in steps of 2.

    >>> import numpy as np
    >>> from mnistlab.data.shifts import rotate, translate
    >>> x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    >>> np.allclose(rotate(x, 90), np.rot90(x, axes=(1, 2)))
    True
    >>> np.array_equal(translate(x, 28), x)
    True
"""

from __future__ import annotations

import numpy as np

ROTATION_DEGREES = tuple(range(0, 181, 15))  # Ovadia et al.: 0, 15, ..., 180
TRANSLATION_PIXELS = tuple(range(0, 27, 2))  # 0 (clean), then Ovadia's 2, 4, ..., 26


def _sample(images: np.ndarray, x: np.ndarray, y: np.ndarray, *, edge: str) -> np.ndarray:
    """Bilinear samples of each image at (x, y): arrays (N, H, W) of input coordinates.

    edge='zero': outside the image is 0 (scikit-image's warp, mode='constant');
    edge='nearest': the nearest edge pixel (ImageMagick's default virtual pixels)."""
    n, height, width = images.shape
    # Rounding absorbs float error (cos 90 degrees is 6e-17): grid-aligned turns stay exact.
    x, y = np.round(x, 9), np.round(y, 9)
    if edge == "nearest":
        x, y = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    flat = images.reshape(n, -1)
    out = np.zeros(x.shape, np.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            index = np.where(inside, yi * width + xi, 0).reshape(n, -1)
            values = np.take_along_axis(flat, index, axis=1).reshape(x.shape)
            out += np.where(inside, values, 0.0) * wx * wy
    return out


def affine(images, matrix, offset=(0.0, 0.0), *, edge: str = "zero") -> np.ndarray:
    """Each output pixel p samples the input at matrix @ (p - centre) + centre + offset.

    images: (N, H, W); matrix: (2, 2) or one per image (N, 2, 2), acting on (x, y);
    offset: (2,) or (N, 2), in pixels (x, y). This is scikit-image's warp with an inverse map
    that keeps the centre fixed. Returns float32 (N, H, W) in the input's range.
    """
    images = np.asarray(images, np.float64)
    n, height, width = images.shape
    matrix = np.broadcast_to(np.asarray(matrix, np.float64), (n, 2, 2))
    offset = np.broadcast_to(np.asarray(offset, np.float64), (n, 2))
    cy, cx = (height - 1) / 2, (width - 1) / 2
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = cols - cx, rows - cy  # (H, W), relative to the centre
    a = matrix[:, :, :, None, None]
    x = a[:, 0, 0] * u + a[:, 0, 1] * v + cx + offset[:, 0, None, None]
    y = a[:, 1, 0] * u + a[:, 1, 1] * v + cy + offset[:, 1, None, None]
    return _sample(images, x, y, edge=edge).astype(np.float32)


def rotation_matrix(radians) -> np.ndarray:
    """(2, 2), or (N, 2, 2) for an array of angles: scikit-image's rotation, on (x, y)."""
    radians = np.asarray(radians, np.float64)
    cos, sin = np.cos(radians), np.sin(radians)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)


def rotate(images, degrees) -> np.ndarray:
    """Rotate about the image centre by `degrees` (a number, or one per image), corners filled
    with 0. 90 degrees equals np.rot90(images, axes=(1, 2)): counter-clockwise as displayed."""
    return affine(images, rotation_matrix(np.deg2rad(degrees)))


def translate(images, pixels: int) -> np.ndarray:
    """Ovadia et al.'s translation: np.roll along the width (columns), pixels wrap around."""
    return np.roll(np.asarray(images, np.float32), int(pixels), axis=2)
