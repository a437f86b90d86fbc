"""Post-training weight dropout: K perturbed copies of a trained model, evaluated in batched passes.

Member k keeps each weight with probability 1-p and scales it by 1/(1-p) (so the expected
weight is unchanged). Its masks come from a key derived from (seed, k, variable index) alone,
so the result does not depend on how members are chunked. The trained model is never
mutated: perturbed weights go through Keras' stateless call, vectorized over members.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

DEFAULT_MEMORY_BUDGET = 2 << 30  # bytes of activations + weights per chunk


def is_bias(variable) -> bool:
    return variable.path.rsplit("/", 1)[-1] == "bias"


def droppable(model, *, drop_biases: bool) -> list[bool]:
    return [drop_biases or not is_bias(v) for v in model.trainable_variables]


def member_key(seed: int, member: int):
    import jax

    return jax.random.fold_in(jax.random.key(seed), member)


def perturb(weights, key, p, drop: list[bool]):
    """Weights of one member: each droppable weight zeroed with probability p, the rest / (1-p).

    p may be a traced value; p = 0 keeps every weight (uniform draws in [0, 1) are all < 1).
    """
    import jax
    import jax.numpy as jnp

    out = []
    for j, (w, d) in enumerate(zip(weights, drop, strict=True)):
        if d:
            keep = jax.random.bernoulli(jax.random.fold_in(key, j), 1.0 - p, w.shape)
            w = jnp.where(keep, w / (1.0 - p), jnp.zeros_like(w))
        out.append(w)
    return out


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
    pad = np.repeat(array[-1:], size - len(array), axis=0)
    return np.concatenate([array, pad])


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model, drop: tuple[bool, ...]):
    """One jitted (weights, frozen, members, x, p, seed) -> logits per model and drop pattern.

    p and seed are traced arguments, so a sweep over p compiles once per chunk shape.
    """
    import jax

    cache = _COMPILED.setdefault(model, {})
    if drop not in cache:

        def chunk_logits(weights, frozen, member_ids, x, p, seed):
            def one(member):
                perturbed = perturb(weights, member_key(seed, member), p, list(drop))
                return model.stateless_call(perturbed, frozen, x, training=False)[0]

            return jax.vmap(one)(member_ids)

        cache[drop] = jax.jit(chunk_logits)
    return cache[drop]


def ensemble_logits(
    model,
    images: np.ndarray,
    *,
    p: float,
    members: int,
    seed: int,
    drop_biases: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    member_chunk: int | None = None,
    image_batch: int | None = None,
    progress_task=None,
) -> np.ndarray:
    """Logits of every member on every image: float32 (members, N, 10)."""
    import jax.numpy as jnp

    if not 0.0 <= p < 1.0:
        from mnistlab.errors import ConfigError

        raise ConfigError(f"dropout fraction p must be in [0, 1), got {p}")
    images = np.asarray(images, np.float32)
    auto_chunk, auto_batch = chunk_sizes(model, len(images), members, memory_budget)
    member_chunk, image_batch = member_chunk or auto_chunk, image_batch or auto_batch
    weights = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    chunk_logits = _compiled(model, tuple(droppable(model, drop_biases=drop_biases)))

    out = np.empty((members, len(images), 10), np.float32)
    for start in range(0, members, member_chunk):
        ids = np.arange(start, min(start + member_chunk, members), dtype=np.int32)
        for begin in range(0, len(images), image_batch):
            x = images[begin : begin + image_batch]
            # Padding keeps every call the same shape: one compilation, not one per remainder.
            result = chunk_logits(
                weights,
                frozen,
                jnp.asarray(_pad_to(ids, member_chunk)),
                jnp.asarray(_pad_to(x, image_batch)),
                jnp.float32(p),
                jnp.uint32(seed),
            )
            out[start : start + len(ids), begin : begin + len(x)] = np.asarray(result)[
                : len(ids), : len(x)
            ]
        if progress_task is not None:
            progress_task.advance(len(ids))
    return out


def ensemble_logits_loop(
    model, images: np.ndarray, *, p: float, members: int, seed: int, drop_biases: bool = False
) -> np.ndarray:
    """The straightforward way, for tests and benchmarks: clone, set masked weights, predict, K times."""
    import keras

    from mnistlab.predict import predict_logits

    drop = droppable(model, drop_biases=drop_biases)
    weights = [v.value for v in model.trainable_variables]
    out = []
    for member in range(members):
        clone = keras.models.clone_model(model)
        # Assign NumPy copies: sharing the original's device buffers would let Keras' predict
        # donate (delete) them and break the trained model.
        for variable, value in zip(
            clone.trainable_variables,
            perturb(weights, member_key(seed, member), p, drop),
            strict=True,
        ):
            variable.assign(np.array(value))
        for variable, value in zip(
            clone.non_trainable_variables, model.non_trainable_variables, strict=True
        ):
            variable.assign(np.array(value.value))
        out.append(predict_logits(clone, images))
    return np.stack(out)


def vote(member_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority class and its vote share (the confidence), from (K, N, C) logits."""
    members, _, classes = member_logits.shape
    predictions = member_logits.argmax(axis=-1)  # (K, N)
    counts = np.zeros((predictions.shape[1], classes), np.int32)
    for k in range(members):
        counts[np.arange(predictions.shape[1]), predictions[k]] += 1
    majority = counts.argmax(axis=1)  # ties go to the lower class index
    return majority, counts.max(axis=1) / members
