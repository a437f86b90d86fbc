"""Detector hyperparameters chosen the honest way (OpenOOD's protocol): on a validation set of
out-of-distribution images that shares nothing with any test out-of-distribution set.

In distribution: the held-out validation images (never trained on, never tested on).
Out of distribution, generated from them and the seed, no download:
- scrambled: each held-out image cut into 7 x 7 tiles, the 16 tiles shuffled. Its strokes,
  ink and background are the data set's own; only the shape is gone (near).
- blobs: Gaussian noise smoothed to stroke-sized blobs and given the data set's contrast,
  white on black (far).
No test set is made like these: the test OOD sets are another data set's test split, letters,
uniform and Gaussian pixel noise, inverted test images and held-out classes.

A value is chosen by the AUROC of in vs out on these sets; ties go to the earlier grid value
(the grids list the papers' defaults first where that matters).
"""

from __future__ import annotations

import numpy as np

from mnistlab import session
from mnistlab.seeds import stream
from mnistlab.uncertainty import metrics

TUNING_IN = 2000  # held-out images used (AUROC standard error about 0.005 with 1,000 out)
TUNING_OUT = 1000  # generated out-of-distribution images, half of each kind
TILE = 7
# Values tuned, by (base model, held-out images, name): small records, kept for the session,
# so a study that reuses another's outputs still reports what they were computed with. Each
# entry keeps its model, so the model's id stays its own; the oldest go first.
MAX_TUNED = 64  # 5 tuned detectors of 12 models and more
RULE = (
    "chosen by AUROC on held-out images vs a validation OOD set generated from them "
    "(tile-scrambled images and smoothed-noise blobs), never a test set"
)


def scrambled(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image's 7 x 7 tiles in a random order of its own."""
    n, side = len(images), images.shape[1] // TILE
    tiles = images.reshape(n, side, TILE, side, TILE).transpose(0, 1, 3, 2, 4)
    tiles = tiles.reshape(n, side * side, TILE, TILE)
    order = np.argsort(rng.random((n, side * side)), axis=1)
    shuffled = np.take_along_axis(tiles, order[:, :, None, None], axis=1)
    shuffled = shuffled.reshape(n, side, side, TILE, TILE).transpose(0, 1, 3, 2, 4)
    return shuffled.reshape(images.shape).astype(np.float32)


def blobs(n: int, rng: np.random.Generator, ink: float = 0.19) -> np.ndarray:
    """Smoothed noise, its brightest `ink` share of pixels lit (MNIST's ink share is about
    0.19), ramped to white over a pixel or two: blobs on black."""
    from scipy import ndimage

    noise = rng.normal(size=(n, 28, 28))
    sigma = rng.uniform(1.5, 3.0, n)
    smooth = np.stack([ndimage.gaussian_filter(x, s) for x, s in zip(noise, sigma, strict=True)])
    flat = smooth.reshape(n, -1)
    level = np.quantile(flat, 1 - ink, axis=1)[:, None]
    spread = flat.std(axis=1, keepdims=True)
    lit = np.clip((flat - level) / (0.5 * spread) + 0.5, 0.0, 1.0)
    return lit.reshape(n, 28, 28).astype(np.float32)


def tuning_sets(held_out: np.ndarray, seed: int) -> dict:
    """{'in': up to TUNING_IN held-out images, 'out': TUNING_OUT generated ones}, seeded."""
    rng = stream(seed, "tuning/validation-ood")
    inside = np.asarray(held_out[:TUNING_IN], np.float32)
    half = TUNING_OUT // 2
    picked = inside[rng.integers(0, len(inside), half)] if len(inside) else inside
    return {"in": inside, "out": np.concatenate([scrambled(picked, rng), blobs(half, rng)])}


def enough(sets: dict) -> bool:
    """Whether there are held-out images to tune on (a model trained without a validation
    split keeps the papers' defaults)."""
    return len(sets["in"]) >= 10


def auroc_in_out(score_in: np.ndarray, score_out: np.ndarray) -> float:
    is_out = np.r_[np.zeros(len(score_in), bool), np.ones(len(score_out), bool)]
    return float(metrics.auroc(is_out, np.r_[score_in, score_out]))


def best(grid, score) -> dict:
    """{'value': the grid value with the highest AUROC, 'auroc': that AUROC, 'grid': every
    value's AUROC}; score(value) -> (scores in, scores out)."""
    results = [(value, auroc_in_out(*score(value))) for value in grid]
    value, auroc = max(results, key=lambda r: r[1])  # max keeps the first of equal ones
    return {"value": value, "auroc": auroc, "grid": [[v, a] for v, a in results]}


def _tuned() -> dict:
    return session.part("uncertainty/tuned", dict)


def keep(model, held_out: str, name: str, record: dict) -> None:
    """Remember what was tuned for a model (held_out: the fingerprint of its held-out images)."""
    tuned = _tuned()
    while len(tuned) >= MAX_TUNED:
        tuned.pop(next(iter(tuned)))
    tuned[(id(model), held_out, name)] = (model, record)


def remembered(model, held_out: str, name: str, search) -> dict:
    """search()'s record (best's), computed once per model, held-out split and name."""
    if (id(model), held_out, name) not in _tuned():
        keep(model, held_out, name, search())
    return _tuned()[(id(model), held_out, name)][1]


def records(model, held_out: str) -> dict:
    """{name: record} of everything tuned for a model and held-out split, by name (the same
    order however the tuning was spread over processes)."""
    mine = (id(model), held_out)
    found = {key[2]: record for key, (_, record) in _tuned().items() if key[:2] == mine}
    return dict(sorted(found.items()))
