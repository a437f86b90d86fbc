"""MNIST-C's corruptions (Mu & Gilmer 2019), re-implemented as seeded array functions.

Each corruption takes float images (N, 28, 28) in [0, 1] and a numpy Generator, and returns
float32 images of the same shape in [0, 1]; the same seed gives the same images. Parameters are
the fixed severities MNIST-C published (github.com/google-research/mnist-c, corruptions.py);
each function's docstring states them. Two deliberate differences: scikit-image's warps and
filters are replaced by this package's `affine` (bilinear, zeros outside) and scipy.ndimage
(already installed with JAX), and motion blur follows ImageMagick's kernel instead of calling it.

Left out: canny_edges (needs the Canny detector, whose non-maximum suppression and hysteresis
would be a second implementation to validate for one corruption; scikit-image is not a
dependency); and the ImageNet-C extras MNIST-C dropped itself.
"""

from __future__ import annotations

import numpy as np

from mnistlab.data.shifts import affine, rotation_matrix
from mnistlab.seeds import stream


def _ndimage():
    """scipy.ndimage, imported when first used: it costs about 0.3 s at start-up otherwise."""
    from scipy import ndimage

    return ndimage


SIDE = 28


def _random_sign(rng, n: int, size: int = 1) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=(n, size))


def _gaussian(images, sigma: float) -> np.ndarray:
    """Per-image Gaussian blur, edges repeated (scikit-image's `gaussian` default)."""
    return _ndimage().gaussian_filter(images, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0)


def shot_noise(images, rng):
    """Poisson noise: Poisson(x * c) / c with c = 3 (MNIST-C severity 5)."""
    c = 3.0
    return rng.poisson(images * c) / c


def impulse_noise(images, rng):
    """Salt and pepper on 17% of the pixels, half each (severity 4)."""
    hit = rng.random(images.shape) < 0.17
    return np.where(hit, (rng.random(images.shape) < 0.5).astype(np.float64), images)


def glass_blur(images, rng):
    """Blur (sigma 0.7), 2 rounds of swapping each pixel with a neighbour up to 1 pixel away
    (MNIST-C draws offsets in [-1, 0]), blur again (severity 1)."""
    sigma, delta, rounds = 0.7, 1, 2
    x = np.floor(_gaussian(images, sigma) * 255) / 255  # MNIST-C goes through uint8 here
    n = len(x)
    for _ in range(rounds):
        for h in range(SIDE - delta, delta, -1):
            for w in range(SIDE - delta, delta, -1):
                who = np.flatnonzero(rng.random(n) < 0.5)
                dx, dy = rng.integers(-delta, delta, size=(2, len(who)))
                here, there = x[who, h, w], x[who, h + dy, w + dx]
                x[who, h, w], x[who, h + dy, w + dx] = there, here
    return _gaussian(x, sigma)


def motion_blur(images, rng):
    """ImageMagick's motion blur, radius 10, sigma 3, at an angle uniform in [-45, 45] degrees:
    a one-sided Gaussian-weighted average of 21 pixels along the angle (severity 1)."""
    width, sigma = 21, 3.0
    steps = np.arange(width)
    weights = np.exp(-(steps**2) / (2 * sigma**2))
    weights /= weights.sum()
    angle = np.deg2rad(rng.uniform(-45, 45, size=len(images)))[:, None]
    # ImageMagick rounds the offsets to whole pixels and repeats the edge pixels.
    dx = np.ceil(steps * np.cos(angle) - 0.5).astype(int)[:, :, None, None]  # (N, 21, 1, 1)
    dy = np.ceil(steps * np.sin(angle) - 0.5).astype(int)[:, :, None, None]
    grid = np.arange(SIDE)
    cols = np.clip(grid[None, None, None, :] + dx, 0, SIDE - 1)
    rows = np.clip(grid[None, None, :, None] + dy, 0, SIDE - 1)
    picked = images[np.arange(len(images))[:, None, None, None], rows, cols]  # (N, 21, 28, 28)
    return np.tensordot(picked, weights, axes=([1], [0]))


def shear(images, rng):
    """Shear by 0.4 rad, direction random (severity 2), about the centre."""
    c = 0.4 * _random_sign(rng, len(images))[:, 0]
    zero, one = np.zeros_like(c), np.ones_like(c)
    matrix = np.stack([np.stack([one, -np.sin(c)], -1), np.stack([zero, np.cos(c)], -1)], -2)
    return affine(images, matrix)


def scale(images, rng):
    """Shrink to 70% about the centre (severity 3)."""
    return affine(images, np.eye(2) / 0.7)


def rotate(images, rng):
    """Rotate by 0.4 rad (23 degrees), direction random (severity 2)."""
    return affine(images, rotation_matrix(0.4 * _random_sign(rng, len(images))[:, 0]))


def brightness(images, rng):
    """+0.5 on HSV value; for grey images that is clip(x + 0.5) (severity 5)."""
    return images + 0.5


def translate(images, rng):
    """Shift by 3 pixels along each axis, directions random, zeros enter (severity 3)."""
    return affine(images, np.eye(2), 3.0 * _random_sign(rng, len(images), 2))


def stripe(images, rng):
    """Invert the 7 leftmost and 7 rightmost columns."""
    x = np.array(images, np.float64)
    x[:, :, :7] = 1 - x[:, :, :7]
    x[:, :, 21:] = 1 - x[:, :, 21:]
    return x


def _plasma_fractal(rng, n: int, mapsize: int = 256, decay: float = 1.4) -> np.ndarray:
    """Diamond-square height maps in [0, 1], (n, mapsize, mapsize): MNIST-C's fog texture."""
    maps = np.zeros((n, mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled_mean(total):
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0:mapsize:step, 0:mapsize:step]
        square = corners + np.roll(corners, -1, axis=1)
        square += np.roll(square, -1, axis=2)
        maps[:, half:mapsize:step, half:mapsize:step] = wibbled_mean(square)
        centres = maps[:, half:mapsize:step, half:mapsize:step]
        corners = maps[:, 0:mapsize:step, 0:mapsize:step]
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maps[:, 0:mapsize:step, half:mapsize:step] = wibbled_mean(left)
        top = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maps[:, half:mapsize:step, 0:mapsize:step] = wibbled_mean(top)
        step, wibble = half, wibble / decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def fog(images, rng):
    """Add 3 x a plasma fractal (decay 1.4, top-left 28 x 28 of a 256 x 256 map), rescale by
    max / (max + 3) (severity 5)."""
    strength = 3.0
    chunks = np.array_split(np.arange(len(images)), max(1, len(images) // 32))  # 16 MB each
    texture = np.concatenate([_plasma_fractal(rng, len(c))[:, :SIDE, :SIDE] for c in chunks])
    peak = images.max(axis=(1, 2), keepdims=True)
    return (images + strength * texture) * peak / (peak + strength)


def spatter(images, rng):
    """Mud: Gaussian noise (0.65, 0.3) blurred (sigma 1) and thresholded at 0.65, its mask
    blurred (sigma 1.5) and kept above 0.8, painted grey 63/255 (severity 4)."""
    liquid = _gaussian(rng.normal(0.65, 0.3, images.shape), 1.0)
    mask = _gaussian((liquid > 0.65).astype(np.float64), 1.5)
    mask[mask < 0.8] = 0
    return images * (1 - mask) + 63 / 255 * mask


def _lines(c0, r0, c1, r1) -> np.ndarray:
    """MNIST-C's anti-aliased line from (c0, r0) to (c1, r1): intensity log(1 - d / 2.3) + 1
    at distance d (rows) from it, zero left of floor(c0) and from ceil(c1) on. Arguments are
    arrays (n,); returns (n, 28, 28)."""
    c0, r0, c1, r1 = (np.asarray(v, np.float64)[:, None, None] for v in (c0, r0, c1, r1))
    cols, rows = np.meshgrid(np.arange(SIDE), np.arange(SIDE))
    flat = c1 == c0
    slope = (r1 - r0) / np.where(flat, 1.0, c1 - c0)
    distance = np.clip(np.abs(rows - (slope * (cols - c0) + r0)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    line[(cols < np.floor(c0)) | (cols >= np.ceil(c1)) | flat] = 0
    return line


def dotted_line(images, rng):
    """A line across the image between random rows, every other 2-column block removed."""
    r0, r1 = rng.integers(0, 27, size=(2, len(images)))
    line = _lines(np.zeros(len(images)), r0, np.full(len(images), 27.0), r1)
    line[:, :, (np.arange(SIDE) // 2) % 2 == 0] = 0
    return images + line


def zigzag(images, rng):
    """A zigzag (teeth 2 long, 2 high) from column 2 to 25 at a random row and slope."""
    a, b, c0, c1 = 2.0, 2.0, 2, 25
    out = np.array(images, np.float64)
    for i in range(len(images)):
        r0 = rng.integers(0, 27)
        r1 = r0 + rng.integers(-5, 5)
        theta = np.arctan((r1 - r0) / (c1 - c0))
        length = (c1 - c0) / np.cos(theta)
        points = [(0.0, 0.0)]
        for k in range(int((length - a) // (2 * a)) + 1):
            points.append(((2 * k + 1) * a, (-1) ** k * b))
        last = (2 * a) * (length // (2 * a))
        if length != last:  # MNIST-C's end point, kept as published
            points.append((length, points[-1][1] / (2 * (length - last))))
        cols, rows = rotation_matrix(theta) @ np.array(points).T
        cols, rows = cols + c0, rows + r0
        out[i] += _lines(cols[:-1], rows[:-1], cols[1:], rows[1:]).sum(axis=0)
    return out


CORRUPTIONS = {
    f.__name__: f
    for f in (
        shot_noise,
        impulse_noise,
        glass_blur,
        motion_blur,
        shear,
        scale,
        rotate,
        brightness,
        translate,
        stripe,
        fog,
        spatter,
        dotted_line,
        zigzag,
    )
}


def corrupt(images, name: str, seed: int) -> np.ndarray:
    """MNIST-C corruption `name` of images (N, 28, 28) in [0, 1], seeded: float32, same shape,
    in [0, 1]. Names: CORRUPTIONS (14 of MNIST-C's 15; canny_edges is left out)."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}: choose one of {', '.join(CORRUPTIONS)}")
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"images must be (N, 28, 28), got shape {images.shape}")
    rng = stream(seed, "data/corruption", name)  # keyed by name, not by position
    return np.clip(CORRUPTIONS[name](images, rng), 0, 1).astype(np.float32)
