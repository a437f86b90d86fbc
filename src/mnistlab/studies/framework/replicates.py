"""Numbers over several seeds: each study computes its numbers once per seed (one trained
model each), then `over_seeds` turns the list into one entry holding, for every number,
its mean, its sample standard deviation and the value of each seed.

For a number stored as entry[key]: entry[key] is the mean over seeds, entry[key + "_std"]
the standard deviation (0 for one seed) and entry[key + "_seeds"] the per-seed values, the
first being --seed's own run, the exercise's single-run number. Anything that is not a
number (histograms, lists, text) is kept from the first seed.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np


def _is_number(value) -> bool:
    return isinstance(value, (Real, np.floating, np.integer)) and not isinstance(value, bool)


def over_seeds(per_seed: list[dict]) -> dict:
    """One entry from one per seed (see the module docstring). NaN seeds are left out of the
    mean (a seed with no wrong answers has no 'confidence of wrong answers')."""
    if not per_seed:
        raise ValueError("over_seeds needs at least one seed's numbers")
    out = {}
    for key, first in per_seed[0].items():
        if not _is_number(first):
            out[key] = first
            continue
        values = np.array([float(entry[key]) for entry in per_seed])
        finite = values[np.isfinite(values)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[key] = float(finite.mean()) if len(finite) else math.nan
            out[f"{key}_std"] = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
        out[f"{key}_seeds"] = values.tolist()
    return out
