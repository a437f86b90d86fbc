"""Named random streams, and the one rule for the seeds of a replicate's models.

Every random stream that mnistlab derives from a run's seed comes from `stream(seed, name,
*keys)`: the name says what the stream is for ("conformal/randomized-scores"), and the keys
what it belongs to (a method's key, a corruption's name, an epoch). The same seed, name and
keys give the same stream on any machine and in any process: the words come from SHA-256 of
the text, not from Python's `hash` (salted per process) nor from a position in a list, so a
method's numbers do not depend on which other methods were chosen or registered before it.

>>> a = stream(0, "conformal/randomized-scores", "msp").random(3)
>>> b = stream(0, "conformal/randomized-scores", "msp").random(3)
>>> bool((a == b).all()), bool((a == stream(0, "conformal/randomized-scores", "temperature").random(3)).any())
(True, False)

Streams that existed before they had names keep the entropy they had (`LEGACY`): the
training shuffle of every cached model, the bootstrap resamples and the generated data sets
of every published report stay the same numbers. A new stream needs no entry there.
"""

from __future__ import annotations

import hashlib

import numpy as np

# name -> the words that followed the seed (and the keys) before streams had names. Frozen:
# changing one changes every number drawn from it (for the training shuffle: every model).
LEGACY = {
    "training/shuffle": (),  # keys: the epoch; [seed, epoch] as ever
    "studies/test-order": (7,),
    "scoreboard/ood-noise": (4242,),
    "scoreboard/paired-resamples": (1618,),
    "paired/difference-resamples": (2718,),
    "paired/intervals-resamples": (3141,),
    "shift/paired-resamples": (31415,),
    "variants/paired-resamples": (31337,),
    "ood/paired-resamples": (1414,),
    "tuning/validation-ood": (7177,),
    "morph/pairs": (7919,),
    "letters/jitter": (2019,),
    "conformal/control-splits": (),  # was the bare seed
    "summary/accuracy-interval": (),  # was the bare seed
}


def _words(value) -> list[int]:
    """An integer key as itself (it must be >= 0, as NumPy's seeds are); text as the first
    four 32-bit words of its SHA-256."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a stream key must be >= 0 or text, got {value}")
        return [int(value)]
    if not isinstance(value, str):
        raise TypeError(f"a stream key is an int or a str, got {type(value).__name__}")
    digest = hashlib.sha256(value.encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def entropy(seed: int, name: str, *keys) -> list[int]:
    """The words that seed stream(seed, name, *keys): [seed, *keys, *legacy words] for a
    LEGACY name, else [seed, *words(name), *words(key) for each key]."""
    words = _words(seed)
    if name in LEGACY:
        return words + [w for k in keys for w in _words(k)] + list(LEGACY[name])
    return words + _words(name) + [w for k in keys for w in _words(k)]


def stream(seed: int, name: str, *keys) -> np.random.Generator:
    """The random stream `name` of run seed `seed`, for `keys` (ints >= 0 or text)."""
    return np.random.default_rng(entropy(seed, name, *keys))


def replicate_seeds(seed: int, replicate: int, *, ensemble_size: int, stride: int) -> list[int]:
    """The seeds of seed replicate `replicate`'s models: its base model's first, then the rest
    of its deep ensemble's (ensemble_size in all). Replicate r's base model has seed
    SEED + r * stride, and its ensemble the seeds after it.

    stride is the run profile's ensemble size M: every study that trains a replicate's base
    model (the method studies, the OOD study, the explorer) gets the same model, whatever
    --ensemble-size a method study was given. An ensemble larger than the stride widens it,
    so that no two replicates share a model (then its base models are its own).

    >>> replicate_seeds(0, 1, ensemble_size=3, stride=5)
    [5, 6, 7]
    >>> replicate_seeds(0, 1, ensemble_size=7, stride=5)
    [7, 8, 9, 10, 11, 12, 13]
    """
    if ensemble_size < 1 or stride < 1 or replicate < 0:
        raise ValueError(
            f"need ensemble_size >= 1, stride >= 1 and replicate >= 0, got "
            f"{ensemble_size}, {stride} and {replicate}"
        )
    first = seed + replicate * max(stride, ensemble_size)
    return [first + m for m in range(ensemble_size)]
