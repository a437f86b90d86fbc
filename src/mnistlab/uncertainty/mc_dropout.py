"""Monte Carlo dropout (Gal & Ghahramani 2016): a model trained with dropout, dropout kept on
at test time, K stochastic passes. Pass k gets its own dropout seed, derived from (seed, k),
so the K passes are vectorized and chunked like any other implicit ensemble."""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ConfigError
from mnistlab.models.networks import has_convolutions
from mnistlab.uncertainty.ensemble import chunk_sizes, compiled, run_members


def _seed_state_indices(model) -> tuple[int, ...]:
    return tuple(
        i for i, v in enumerate(model.non_trainable_variables) if "seed_generator_state" in v.path
    )


def _split_at_first_dropout(model):
    """(trunk, head) of a convolutional model: the layers before its first Dropout layer,
    which give the same output in every pass, and the rest, sharing the model's weights.
    (None, model) for a model without convolutions: its passes are cheap as they are.

    With dropout only in the dense head (how models/networks.py builds the CNNs), K passes then cost
    one trunk pass plus K head passes: LeNet-5's passes were ~136 us per image each."""
    import keras

    layers = model.layers
    first = next(i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dropout))
    if first == 0 or not has_convolutions(model):
        return None, model
    trunk = keras.Sequential([keras.Input(model.input_shape[1:]), *layers[:first]])
    head = keras.Sequential([keras.Input(layers[first - 1].output.shape[1:]), *layers[first:]])
    return trunk, head


def _pass_state(frozen, indices, pass_key, image_id):
    """The non-trainable state of one (pass, image): each dropout layer's seed from
    (seed, pass, layer, image), so no result depends on how images or passes are batched."""
    import jax

    state = list(frozen)
    for n, i in enumerate(indices):
        key = jax.random.fold_in(jax.random.fold_in(pass_key, n), image_id)
        state[i] = jax.random.key_data(key).astype(frozen[i].dtype)
    return state


def _build(indices: tuple[int, ...]):
    def build(model):
        import jax
        import jax.numpy as jnp

        def prepare(weights, frozen, member, p, seed):
            return weights  # every pass uses the trained weights; the randomness is in apply

        def apply(weights, frozen, member, x, first, seed):
            pass_key = jax.random.fold_in(jax.random.key(seed), member)

            def one_image(image, image_id):
                state = _pass_state(frozen, indices, pass_key, image_id)
                return model.stateless_call(weights, state, image[None], training=True)[0][0]

            image_ids = first + jnp.arange(x.shape[0], dtype=jnp.uint32)
            return jax.vmap(one_image)(x, image_ids)

        return prepare, apply

    return build


def member_chunk(model, n_images: int, passes: int, memory_budget: int) -> int:
    """The passes per call that mc_dropout_logits makes (its network after the split): the
    chunks that parts of the passes must be made of to give one run's numbers."""
    trunk, head = _split_at_first_dropout(model)
    runner = head if trunk is not None else model
    return chunk_sizes(runner, n_images, passes, memory_budget)[0]


def mc_dropout_logits(
    model,
    images: np.ndarray,
    *,
    passes: int,
    seed: int,
    **run_options,
):
    """Logits of K stochastic passes: float32 (passes, N, 10); or, given
    sink=MemberSummary(passes, N), that summary, in memory independent of `passes`.
    run_options: memory_budget, member_chunk, image_batch, progress_task, sink, as
    ensemble.run_members takes them."""
    indices = _seed_state_indices(model)
    if not indices:
        raise ConfigError("MC dropout needs a model trained with dropout (e.g. --dropout 0.2)")
    trunk, head = _split_at_first_dropout(model)
    if trunk is not None:  # the deterministic layers once per image, not once per pass
        from mnistlab.models.predict import predict_logits

        model, images = head, predict_logits(trunk, images)
        indices = _seed_state_indices(model)
    functions = compiled(model, ("mc-dropout", indices), _build(indices))
    return run_members(
        model,
        functions,
        images,
        members=passes,
        p=0.0,
        seed=seed,
        **run_options,
    )


def mc_dropout_logits_loop(model, images: np.ndarray, *, passes: int, seed: int) -> np.ndarray:
    """The straightforward way, for tests: pass by pass and image by image, the model called
    in training mode with its dropout seeds set for that (pass, image). (passes, N, 10)."""
    import jax

    indices = _seed_state_indices(model)
    frozen = [v.value for v in model.non_trainable_variables]
    weights = [v.value for v in model.trainable_variables]
    out = np.empty((passes, len(images), 10), np.float32)
    for member in range(passes):
        pass_key = jax.random.fold_in(jax.random.key(seed), member)
        for i, image in enumerate(images):
            state = _pass_state(frozen, indices, pass_key, np.uint32(i))
            logits, _ = model.stateless_call(weights, state, image[None], training=True)
            out[member, i] = np.asarray(logits[0])
    return out
