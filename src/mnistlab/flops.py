"""Floating-point work done in this session, and the machine's matmul peak: the FLOP floor.

Training, prediction and ensembles add what they compute (2 FLOP per multiply-add, forward;
3x that for a training step: forward, and backward through activations and weights). The
report divides the total by the measured float32 matmul peak: the time the same work would
take if every FLOP ran at the speed of one large matrix product, a floor no real run reaches.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from mnistlab import session


class Counter:
    """FLOP counted in one session (thread-safe: models train in threads)."""

    def __init__(self) -> None:
        self._lock, self._total = threading.Lock(), 0.0

    def add(self, flop: float) -> None:
        with self._lock:
            self._total += float(flop)

    def total(self) -> float:
        with self._lock:
            return self._total


def _counter() -> Counter:
    return session.part("flops", Counter)


def add(flop: float) -> None:
    """Count `flop` floating-point operations in the current session."""
    _counter().add(flop)


def total() -> float:
    """Every FLOP counted in this session so far (take differences around a piece of work)."""
    return _counter().total()


def forward(multiply_adds_per_image: int, images: int, members: int = 1) -> float:
    return 2.0 * multiply_adds_per_image * images * members


def training(multiply_adds_per_image: int, images: int, epochs: int) -> float:
    return 3 * forward(multiply_adds_per_image, images) * epochs


def matmul_peak(*, size: int = 2048, repeat: int = 5) -> float:
    """float32 GFLOP/s of a jitted square matrix product: the machine's yardstick. On an
    accelerator the product is 8192 wide at least: a smaller one is over before the GPU is busy."""
    import jax
    import jax.numpy as jnp

    if jax.default_backend() != "cpu":
        size = max(size, 8192)
    a = jnp.asarray(np.random.default_rng(0).random((size, size), dtype=np.float32))
    product = jax.jit(lambda x, y: x @ y)
    product(a, a).block_until_ready()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        product(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
