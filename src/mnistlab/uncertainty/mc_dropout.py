"""Monte Carlo dropout (Gal & Ghahramani 2016): a model trained with dropout, dropout kept on
at test time, K stochastic passes. Pass k gets its own dropout seed, derived from (seed, k),
so the K passes are vectorized and chunked like any other implicit ensemble."""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ConfigError
from mnistlab.uncertainty.ensemble import compiled, run_members


def _seed_state_indices(model) -> tuple[int, ...]:
    return tuple(
        i for i, v in enumerate(model.non_trainable_variables) if "seed_generator_state" in v.path
    )


def _build(indices: tuple[int, ...]):
    def build(model):
        import jax
        import jax.numpy as jnp

        def prepare(weights, frozen, member, p, seed):
            return weights  # every pass uses the trained weights; the randomness is in apply

        def apply(weights, frozen, member, x, first, seed):
            pass_key = jax.random.fold_in(jax.random.key(seed), member)

            def one_image(image, image_id):
                # Dropout randomness per (seed, pass, layer, image): independent of how images are batched.
                state = list(frozen)
                for n, i in enumerate(indices):
                    key = jax.random.fold_in(jax.random.fold_in(pass_key, n), image_id)
                    state[i] = jax.random.key_data(key).astype(frozen[i].dtype)
                return model.stateless_call(weights, state, image[None], training=True)[0][0]

            image_ids = first + jnp.arange(x.shape[0], dtype=jnp.uint32)
            return jax.vmap(one_image)(x, image_ids)

        return prepare, apply

    return build


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
