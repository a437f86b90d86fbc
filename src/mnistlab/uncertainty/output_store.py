"""Method outputs kept for the session, keyed by the replicate's models, the method, what
it was fitted on and the images themselves (see evaluation.py)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from mnistlab import session


def fingerprint(images: np.ndarray) -> str:
    """The identity of a set of images: its shape and bytes (BLAKE2, ~1 GB/s)."""
    images = np.ascontiguousarray(images, np.float32)
    return f"{images.shape}:{hashlib.blake2b(images.data, digest_size=16).hexdigest()}"


class OutputStore:
    """Method outputs per (replicate, method, fit, image set), oldest dropped past max_bytes.
    Entries hold a reference to their models, so a model's id is never reused while cached."""

    def __init__(self, max_bytes: int = 2 << 30):
        self.max_bytes, self.bytes = max_bytes, 0
        self.entries: OrderedDict = OrderedDict()
        self.reused = self.computed = 0  # (method, set) pairs, for the studies' records

    def get(self, key):
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return None if entry is None else entry[:2]

    def put(self, key, probabilities, score, models) -> None:
        size = probabilities.nbytes + np.asarray(score).nbytes
        if key in self.entries:
            self.bytes -= self.entries[key][3]
        self.entries[key] = (probabilities, score, models, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self.entries) > 1:
            self.bytes -= self.entries.popitem(last=False)[1][3]

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = self.reused = self.computed = 0


def outputs() -> OutputStore:
    """The current session's method outputs (see evaluation.py)."""
    return session.part("uncertainty/outputs", OutputStore)
