"""Evaluate K members of an implicit ensemble in vectorized, chunked passes.

A member is defined by a pure function member_logits(weights, frozen, member_id, x, first, p, seed)
(`first` is the index of x's first image, for methods that draw randomness per image)
(weight dropout perturbs the weights, MC dropout changes the dropout seed). Members are
`jax.vmap`-ed in chunks sized to a memory budget; every call is padded to the same shape, so
it compiles once. Member k depends only on (seed, k), never on the chunking.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

DEFAULT_MEMORY_BUDGET = 2 << 30  # bytes of activations + weights per chunk

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def activation_floats_per_image(model) -> int:
    """Floats one image's forward pass keeps alive (sum of layer outputs): sizes the chunks."""
    total = 0
    for layer in model.layers:
        try:
            total += math.prod(d for d in layer.output.shape[1:] if d)
        except (AttributeError, ValueError):
            total += 1024
    return max(total, 1)


def chunk_sizes(model, n_images: int, members: int, memory_budget: int) -> tuple[int, int]:
    """(members per chunk, images per batch) so that one chunk's activations fit the budget."""
    per_image = 4 * activation_floats_per_image(model)
    params = 4 * sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    image_batch = max(1, min(n_images, 10_000, memory_budget // (2 * per_image)))
    member_chunk = max(1, min(members, memory_budget // (image_batch * per_image + 2 * params)))
    return member_chunk, image_batch


def _pad_to(array, size: int):
    if len(array) == size:
        return array
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)])


def compiled(model, key, build):
    """The jitted, member-vectorized function for (model, key), built once by build(model)."""
    import jax

    cache = _COMPILED.setdefault(model, {})
    if key not in cache:
        member_logits = build(model)

        def chunk_logits(weights, frozen, member_ids, x, first, p, seed):
            return jax.vmap(lambda m: member_logits(weights, frozen, m, x, first, p, seed))(
                member_ids
            )

        cache[key] = jax.jit(chunk_logits)
    return cache[key]


def run_members(
    model,
    chunk_logits,
    images: np.ndarray,
    *,
    members: int,
    p: float,
    seed: int,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    member_chunk: int | None = None,
    image_batch: int | None = None,
    progress_task=None,
) -> np.ndarray:
    """Logits of every member on every image: float32 (members, N, 10)."""
    import jax.numpy as jnp

    images = np.asarray(images, np.float32)
    auto_chunk, auto_batch = chunk_sizes(model, len(images), members, memory_budget)
    member_chunk, image_batch = member_chunk or auto_chunk, image_batch or auto_batch
    weights = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    out = np.empty((members, len(images), 10), np.float32)
    for start in range(0, members, member_chunk):
        ids = np.arange(start, min(start + member_chunk, members), dtype=np.int32)
        for begin in range(0, len(images), image_batch):
            x = images[begin : begin + image_batch]
            result = chunk_logits(
                weights,
                frozen,
                jnp.asarray(_pad_to(ids, member_chunk)),
                jnp.asarray(_pad_to(x, image_batch)),
                jnp.uint32(begin),
                jnp.float32(p),
                jnp.uint32(seed),
            )
            out[start : start + len(ids), begin : begin + len(x)] = np.asarray(result)[
                : len(ids), : len(x)
            ]
        if progress_task is not None:
            progress_task.advance(len(ids))
    return out


def vote(member_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority class and its vote share (the confidence), from (K, N, C) logits."""
    counts = vote_counts(member_logits)
    return counts.argmax(axis=1), counts.max(axis=1) / member_logits.shape[
        0
    ]  # ties -> lower class index


def vote_counts(member_logits: np.ndarray) -> np.ndarray:
    """(N, C) number of members voting for each class."""
    members, n, classes = member_logits.shape
    predictions = member_logits.argmax(axis=-1)
    counts = np.zeros((n, classes), np.int32)
    for k in range(members):
        counts[np.arange(n), predictions[k]] += 1
    return counts


def mean_probability(member_logits: np.ndarray) -> np.ndarray:
    """The ensemble's predictive distribution: the members' softmax probabilities averaged."""
    from mnistlab.predict import softmax

    return np.mean([softmax(logits) for logits in member_logits], axis=0)
