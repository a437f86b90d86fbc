"""Activation shaping: change the penultimate activations, then take the energy of the output
layer on them (-logsumexp of the logits: higher = less trust, as in scores.energy).

- ReAct (Sun et al. 2021): clip every activation at a percentile of the training activations;
  out-of-distribution inputs inflate a few activations, and clipping removes that.
- ASH-S (Djurisic et al. 2023): per image, zero the activations below its own p-th percentile
  and scale the rest by exp(sum before / sum after).
- SCALE (Xu et al. 2024): the same per-image scale, applied to every activation, none zeroed.

The percentiles are tuned on held-out data (tuning.py); these are the papers' defaults.
"""

from __future__ import annotations

import numpy as np

REACT_PERCENTILE = 90.0  # Sun et al. 2021
ASH_PERCENTILE = 90.0  # Djurisic et al. 2023 (ASH-S on ResNets: 90)
SCALE_PERCENTILE = 85.0  # Xu et al. 2024


def energy_of(features, kernel, bias) -> np.ndarray:
    """-logsumexp(features @ kernel + bias), in float64."""
    logits = np.asarray(features, np.float64) @ np.asarray(kernel, np.float64) + bias
    top = logits.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(logits - top).sum(axis=1)))


def react_energy(features, kernel, bias, clip: float) -> np.ndarray:
    """The energy of the features clipped at `clip` (a percentile of the training features)."""
    return energy_of(np.minimum(np.asarray(features, np.float64), clip), kernel, bias)


def _top_share(features, percentile: float):
    """(features, the mask of each row's activations above its percentile, the scale
    exp(sum of all / sum of those kept)): what ASH-S and SCALE share."""
    x = np.maximum(np.asarray(features, np.float64), 0.0)
    n = x.shape[1]
    keep = n - int(round(n * percentile / 100.0))  # OpenOOD's count of activations kept
    keep = min(max(keep, 1), n)
    threshold = np.partition(x, n - keep, axis=1)[:, n - keep : n - keep + 1]
    mask = x >= threshold
    kept = np.where(mask, x, 0.0).sum(axis=1, keepdims=True)
    # An all-zero row (every activation dead) stays as it is: nothing to scale.
    scale = np.exp(
        np.divide(x.sum(axis=1, keepdims=True), kept, out=np.ones_like(kept), where=kept > 0)
    )
    return x, mask, scale


def ash_energy(features, kernel, bias, percentile: float = ASH_PERCENTILE) -> np.ndarray:
    """ASH-S: the energy of the activations above each image's percentile, scaled."""
    x, mask, scale = _top_share(features, percentile)
    return energy_of(np.where(mask, x, 0.0) * scale, kernel, bias)


def scale_energy(features, kernel, bias, percentile: float = SCALE_PERCENTILE) -> np.ndarray:
    """SCALE: the energy of all activations, scaled as ASH-S scales the ones it keeps."""
    x, _, scale = _top_share(features, percentile)
    return energy_of(x * scale, kernel, bias)
