"""Several models of one architecture trained together against one after another (issue 29,
item 3: measure first).

    python benchmarks/train_together.py [--arch lenet5] [--models 4] [--images 12000] [--out mnistlab-out]

"In turn" is mnistlab's fast path: one jitted scan over an epoch's batches per model, the
compiled epoch shared by every model. "Together" is the same scan under jax.vmap over the
models' stacked states and batch orders: one program whose convolutions and products carry
M models at once (LeNet-5's 6 and 16 channels become 6M and 16M). Each model keeps its own
seed's initial weights and batch order. Both run the epoch twice and time the second (the
first compiles). Prints a table (seconds per model-epoch, against the FLOP limit at the
measured matmul peak) and how far the weights trained together are from the ones trained
alone, and writes OUT/bench/train_together.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="lenet5", choices=("mlp", "cnn", "lenet5"))
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--out", default="mnistlab-out")
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from mnistlab import flops
    from mnistlab.config import ModelConfig
    from mnistlab.data import load_split
    from mnistlab.models.networks import build_model, make_optimizer, multiply_adds
    from mnistlab.training import fast

    images, labels = load_split("mnist", "train")
    x, y = jnp.asarray(images[: args.images]), jnp.asarray(labels[: args.images])
    config, batch = ModelConfig(arch=args.arch), 32
    models = [build_model(config, seed=seed) for seed in range(args.models)]
    optimizers = [make_optimizer("adam", 1e-3) for _ in models]
    states = [fast.initial_state(m, o) for m, o in zip(models, optimizers, strict=True)]
    full = len(x) // batch
    orders = [
        jnp.asarray(
            fast.epoch_order(len(x), seed=seed, epoch=0)[: full * batch].reshape(full, batch)
        )
        for seed in range(args.models)
    ]
    runner = fast.epoch_runner(models[0], optimizers[0])  # shared by the models, as in mnistlab

    def in_turn():
        out = [runner(state, x, y, order)[0] for state, order in zip(states, orders, strict=True)]
        return jax.block_until_ready(out)

    together_runner = jax.jit(jax.vmap(runner, in_axes=(0, None, None, 0)))
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)
    stacked_orders = jnp.stack(orders)

    def together():
        return jax.block_until_ready(together_runner(stacked, x, y, stacked_orders)[0])

    timings = {}
    for name, run in (("in_turn", in_turn), ("together", together)):
        first, _ = _timed(run)  # compiles
        second, result = _timed(run)
        timings[name] = {"first_seconds": first, "seconds": second, "result": result}
    alone = [leaf for state in timings["in_turn"]["result"] for leaf in state[0]]
    joint = timings["together"]["result"][0]
    joint = [leaf[m] for m in range(args.models) for leaf in joint]
    drift = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(alone, joint, strict=True))
    identical = all(bool(jnp.array_equal(a, b)) for a, b in zip(alone, joint, strict=True))

    peak = flops.matmul_peak()
    limit = flops.training(multiply_adds(models[0]), full * batch, 1) / (peak * 1e9)
    result = {
        "arch": args.arch,
        "models": args.models,
        "images": full * batch,
        "matmul_peak_gflops": peak,
        "limit_seconds_per_model_epoch": limit,
        "in_turn_seconds_per_model_epoch": timings["in_turn"]["seconds"] / args.models,
        "together_seconds_per_model_epoch": timings["together"]["seconds"] / args.models,
        "compile_seconds": {k: v["first_seconds"] - v["seconds"] for k, v in timings.items()},
        "largest_weight_difference": drift,
        "weights_identical": identical,
    }
    per = result["in_turn_seconds_per_model_epoch"], result["together_seconds_per_model_epoch"]
    print(
        f"{args.arch}, {args.models} models, one epoch of {full * batch:,} images (peak {peak:.0f} GFLOP/s)"
    )
    print(f"| way | seconds per model-epoch | x the limit ({limit:.3f} s) |")
    print("|---|---|---|")
    for label, seconds in zip(
        ("in turn (mnistlab's fast path)", "together (vmap)"), per, strict=True
    ):
        print(f"| {label} | {seconds:.3f} | {seconds / limit:.1f}x |")
    print(
        f"together / in turn: {per[1] / per[0]:.2f}; weights identical: {identical} "
        f"(largest difference {drift:.2e})"
    )
    folder = Path(args.out) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train_together.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
