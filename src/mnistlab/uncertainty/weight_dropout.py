"""Post-training weight dropout: K perturbed copies of a trained model, evaluated in batched passes.

Member k keeps each weight with probability 1-p and scales it by 1/(1-p) (so the expected
weight is unchanged). Its masks come from a key derived from (seed, k, variable index) alone,
so the result does not depend on how members are chunked. The trained model is never
mutated: perturbed weights go through Keras' stateless call, vectorized over members.
"""

from __future__ import annotations

import numpy as np

from mnistlab.uncertainty.ensemble import compiled, run_members


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


def _member_functions(drop: tuple[bool, ...]):
    def build(model):
        def prepare(weights, frozen, member, p, seed):
            return perturb(weights, member_key(seed, member), p, list(drop))

        def apply(perturbed, frozen, member, x, first, seed):
            return model.stateless_call(perturbed, frozen, x, training=False)[0]

        return prepare, apply

    return build


def ensemble_logits(
    model,
    images: np.ndarray,
    *,
    p: float,
    members: int,
    seed: int,
    drop_biases: bool = False,
    **run_options,
):
    """Logits of every member on every image: float32 (members, N, 10); or, given
    sink=MemberSummary(members, N, labels=...), that summary, filled chunk by chunk in
    memory independent of `members` (see members.py). run_options: memory_budget,
    member_chunk, image_batch, progress_task, sink, as ensemble.run_members takes them."""
    if not 0.0 <= p < 1.0:
        from mnistlab.errors import ConfigError

        raise ConfigError(f"dropout fraction p must be in [0, 1), got {p}")
    drop = tuple(droppable(model, drop_biases=drop_biases))
    functions = compiled(model, ("weight-dropout", drop), _member_functions(drop))
    return run_members(
        model,
        functions,
        images,
        members=members,
        p=p,
        seed=seed,
        **run_options,
    )


def ensemble_logits_loop(
    model, images: np.ndarray, *, p: float, members: int, seed: int, drop_biases: bool = False
) -> np.ndarray:
    """The straightforward way, for tests and benchmarks: clone, set masked weights, predict, K times."""
    import keras

    from mnistlab.models.predict import predict_logits

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
