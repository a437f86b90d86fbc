"""Evaluate K members of an implicit ensemble in vectorized, chunked passes.

A method defines a member by two pure functions: prepare(weights, frozen, member_id, p, seed) ->
member state (weight dropout: the perturbed weights), built once per chunk of members; and
apply(state, frozen, member_id, x, first, seed) -> logits, run on every image batch (`first`
is the index of x's first image, for methods that draw randomness per image)
(weight dropout perturbs the weights, MC dropout changes the dropout seed). Members are
`jax.vmap`-ed in chunks sized to a memory budget; every call is padded to the same shape, so
it compiles once. Member k depends only on (seed, k), never on the chunking.
"""

from __future__ import annotations

import json
import math

import numpy as np

from mnistlab import flops, interrupt, session
from mnistlab.config import MEMORY_BUDGET_MIB
from mnistlab.models.networks import has_convolutions, multiply_adds

DEFAULT_MEMORY_BUDGET = MEMORY_BUDGET_MIB << 20  # bytes of activations + weights per call


def _compiled() -> dict:
    """(structure, method key) -> jitted pair, for the session: a few architectures each."""
    return session.part("uncertainty/compiled-ensembles", dict)


def activation_floats_per_image(model) -> int:
    """Floats one image's forward pass keeps alive (sum of layer outputs): sizes the chunks."""
    total = 0
    for layer in model.layers:
        try:
            total += math.prod(d for d in layer.output.shape[1:] if d)
        except (AttributeError, ValueError):
            total += 1024
    return max(total, 1)


# Speed, measured on the 2-core machine (tutorial MLP, K=100 x 10,000 images): calls whose
# activations total about 46 MB ran at ~155 GFLOP/s (85% of the matmul peak); the whole test set
# in one call (~3.7 GB) ran at ~100. Smaller working sets stay in cache; fewer calls cost less.
FAST_WORKING_SET = 48 << 20
MAX_IMAGE_BATCH = 2500


def chunk_sizes(model, n_images: int, members: int, memory_budget: int) -> tuple[int, int]:
    """(members per call, images per call): near the fast working set, never above the budget."""
    per_image = 4 * activation_floats_per_image(model)
    params = 4 * sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    budget = min(memory_budget, FAST_WORKING_SET)
    image_batch = max(1, min(n_images, MAX_IMAGE_BATCH, budget // per_image))
    member_chunk = max(1, min(members, budget // (image_batch * per_image + 2 * params)))
    return member_chunk, image_batch


def _pad_to(array, size: int):
    if len(array) == size:
        return array
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)])


def structure_key(model) -> str:
    """What a compiled ensemble function depends on: the architecture (layer configs without
    their names) and the variables' shapes, not the trained values, which are arguments."""

    def nameless(value):
        if isinstance(value, dict):
            return {k: nameless(v) for k, v in value.items() if k != "name"}
        if isinstance(value, list | tuple):
            return [nameless(v) for v in value]
        return value

    shapes = [(tuple(v.shape), str(v.dtype)) for v in model.variables]
    return json.dumps([nameless(model.get_config()), shapes], sort_keys=True, default=str)


def compiled(model, key, build):
    """(prepare_chunk, apply_chunk): the member-vectorized, jitted pair for (model, key).

    Shared by every model of the same structure (the weights are arguments): the seed
    replicates of a study compile once, not once per trained model."""
    import jax

    cache_key = (structure_key(model), key)
    cache = _compiled()
    if cache_key not in cache:
        prepare, apply = build(model)
        # Dense members are vectorized: their shared input folds into one wide product. A
        # convolution with a kernel per member becomes a grouped convolution under vmap,
        # which XLA's CPU backend runs an order of magnitude slower than one member after another
        # (docs/measurements.md), so conv members go in turn.
        has_conv = has_convolutions(model)

        def members_of(f):
            return (
                (lambda xs: jax.lax.map(lambda a: f(*a), xs))
                if has_conv
                else (lambda xs: jax.vmap(f)(*xs))
            )

        def prepare_chunk(weights, frozen, member_ids, p, seed):
            return members_of(lambda m: prepare(weights, frozen, m, p, seed))((member_ids,))

        def apply_chunk(states, frozen, member_ids, x, first, seed):
            return members_of(lambda state, m: apply(state, frozen, m, x, first, seed))(
                (states, member_ids)
            )

        cache[cache_key] = (jax.jit(prepare_chunk), jax.jit(apply_chunk))
    return cache[cache_key]


def run_members(
    model,
    functions,
    images: np.ndarray,
    *,
    members: int,
    p: float,
    seed: int,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    member_chunk: int | None = None,
    image_batch: int | None = None,
    progress_task=None,
    sink=None,
    first_member: int = 0,
):
    """Run every member on every image, passing each chunk of outputs to `sink`.

    first_member: run members first_member ... first_member + members - 1 of a larger
    ensemble (a part, for a worker): member k is the same member whichever part runs it, so
    the parts' summaries merge into one pass's (MemberSummary.merged). The sink numbers the
    part's members from 0.

    sink: a MemberSummary (what studies use, memory independent of `members`), or None for
    every member's logits, float32 (members, N, 10), returned as an array (its size is
    checked against `memory_budget` first).
    """
    import jax.numpy as jnp

    from mnistlab.uncertainty.members import MemberLogits

    images = np.asarray(images, np.float32)
    auto_chunk, auto_batch = chunk_sizes(model, len(images), members, memory_budget)
    member_chunk, image_batch = member_chunk or auto_chunk, image_batch or auto_batch
    weights = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    prepare_chunk, apply_chunk = functions
    keep_all = sink is None
    if keep_all:
        sink = MemberLogits(members, len(images), memory_budget=memory_budget)
    starts = range(0, len(images), image_batch)
    # Each image batch as the padded device array every member chunk reads: converted once,
    # not once per chunk (100 members in chunks of 5 copied the test set 20 times, a tenth of
    # weight dropout's time), where the images are small beside the budget.
    batches = (
        [jnp.asarray(_pad_to(images[b : b + image_batch], image_batch)) for b in starts]
        if images.nbytes <= memory_budget // 4
        else None
    )
    waiting = None  # the last call's output, summarized while the next one computes
    for start in range(0, members, member_chunk):
        ids = np.arange(
            first_member + start, first_member + min(start + member_chunk, members), dtype=np.int32
        )
        # Padding keeps every call the same shape: one compilation, not one per remainder.
        padded_ids = jnp.asarray(_pad_to(ids, member_chunk))
        states = prepare_chunk(weights, frozen, padded_ids, jnp.float32(p), jnp.uint32(seed))
        for i, begin in enumerate(starts):
            x = images[begin : begin + image_batch]
            padded = batches[i] if batches is not None else jnp.asarray(_pad_to(x, image_batch))
            result = apply_chunk(
                states, frozen, padded_ids, padded, jnp.uint32(begin), jnp.uint32(seed)
            )  # dispatched: XLA computes it while the sink takes the previous output
            if waiting is not None:
                _summarize(sink, *waiting)
            waiting = (result, start, len(ids), len(x), begin)
        if progress_task is not None:
            progress_task.advance(len(ids))
        interrupt.check()
    if waiting is not None:
        _summarize(sink, *waiting)
    flops.add(flops.forward(multiply_adds(model), len(images), members))
    return sink.logits if keep_all else sink


def _summarize(sink, result, first_member: int, n_members: int, n_images: int, first_image: int):
    """The real members and images of a padded call's output, to the sink (a NumPy pass on
    one core: about a sixth of weight dropout's time, overlapped with the next call)."""
    sink.add(first_member, np.asarray(result)[:n_members, :n_images], first_image)


def vote(member_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority class (ties -> lower class index) and its vote share, from (K, N, C) logits."""
    from mnistlab.uncertainty.members import MemberSummary

    return MemberSummary.from_logits(member_logits).vote()
