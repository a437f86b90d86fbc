"""Benchmark rows for the convolutional models' epochs, and what bounds them.

Against the FLOP limit at the matmul peak, a convolutional epoch at batch 32 looks far off.
The peak is measured on large square products; the products a training step of these
models is made of are not: LeNet-5's first convolution is a (25,088 x 25) by (25 x 6)
product of its image patches with the kernel. So next to the limit this times the step's
products themselves, at their own shapes, in a scanned epoch: what the model's epoch would
take if it were nothing but its matrix products (each operand freshly written every step, as
it is in training). The distance between that and the real epoch is the rest of the step:
building the patches and summing their gradients back, pooling, activations, Adam.
"""

from __future__ import annotations

import time

from mnistlab.config import ModelConfig, TrainConfig

TARGET_X_LIMIT = {"lenet5": 4.0}  # issue 29's target for LeNet-5; the CNN has none


def step_products(model, batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step of `batch` images: each Dense
    and convolution layer's forward product (a convolution as its patches times the reshaped
    kernel), its kernel's gradient and, past the first layer, its input's gradient."""
    shapes = []
    for index, layer in enumerate(layer for layer in model.layers if hasattr(layer, "kernel")):
        kernel_shape = tuple(int(d) for d in layer.kernel.shape)
        if len(kernel_shape) == 4:  # (kh, kw, in, out), applied at every output position
            kh, kw, channels_in, channels_out = kernel_shape
            _, height, width, _ = layer.output.shape
            m, k, n = batch * int(height) * int(width), kh * kw * channels_in, channels_out
        else:
            (k, n), m = kernel_shape, batch
        shapes += [(m, k, n), (k, m, n)]  # forward; the kernel's gradient
        if index:  # the input's gradient (the first layer's input is the data: none)
            shapes.append((m, n, k))
    return shapes


def products_epoch_seconds(shapes, steps: int, *, repeat: int = 3) -> float:
    """Seconds for `steps` scanned steps of nothing but these products (best of `repeat`)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    operands = [
        (rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32))
        for m, k, n in shapes
    ]

    @jax.jit
    def epoch(operands):
        def step(carry, _):
            # `a + carry` writes each left operand anew every step, as training does, and
            # keeps XLA from hoisting a product out of the loop; `* 0` keeps the carry 0.
            total = sum(jnp.sum((a + carry) @ b) for a, b in operands)
            return carry + total * 0, None

        return jax.lax.scan(step, jnp.float32(0), None, length=steps)[0]

    operands = jax.device_put(operands)
    epoch(operands).block_until_ready()  # compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        epoch(operands).block_until_ready()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_conv_epoch(x, y, *, arch: str, peak: float, old_images: int) -> dict:
    """Seconds per epoch of a convolutional model at batch 32: Keras fit on the stock-layer
    model, our scanned epoch, the scanned epoch with the stock layers (the path before
    mnistlab.models.layers, timed on `old_images` images and scaled: it is ~10x slower), and
    the step's matrix products alone at their own shapes."""
    from mnistlab.models.networks import build_model, make_optimizer, multiply_adds
    from mnistlab.training import fit_fast, fit_keras

    config = ModelConfig(arch=arch)
    train = TrainConfig()

    def fresh(stock=False):
        model = build_model(config, seed=0, stock_layers=stock)
        return model, make_optimizer(train.optimizer, train.learning_rate)

    model, _ = fresh()
    work, shapes = multiply_adds(model), step_products(model, 32)
    limit = 6 * len(x) * work / (peak * 1e9)
    fit_rows = fit_keras(*fresh(stock=True), x, y, epochs=2, batch_size=32)
    fast_rows = fit_fast(*fresh(), x, y, epochs=2, batch_size=32, seed=0)
    old_rows = fit_fast(
        *fresh(stock=True), x[:old_images], y[:old_images], epochs=2, batch_size=32, seed=0
    )
    fit, fast = fit_rows[-1]["seconds"], fast_rows[-1]["seconds"]  # epoch 1 compiles
    old = old_rows[-1]["seconds"] * len(x) / old_images
    products = products_epoch_seconds(shapes, len(x) // 32)
    product_flop = 2 * sum(m * k * n for m, k, n in shapes) * (len(x) // 32)
    return {
        "arch": arch,
        "images": len(x),
        "multiply_adds": work,
        "limit_seconds": limit,
        "keras_fit_seconds": fit,
        "fast_seconds": fast,
        "old_scan_seconds": old,
        "step_products": shapes,
        "products_seconds": products,
        "products_gflops": product_flop / products / 1e9,
        "fast_x_limit": fast / limit,
        "fast_x_products": fast / products,
        "products_x_limit": products / limit,
        "fit_x_limit": fit / limit,
        "speedup_vs_fit": fit / fast,
        "speedup_vs_old_scan": old / fast,
    }


def conv_epochs(x, y, *, quick: bool, peak: float) -> list[dict]:
    """The CNN's and LeNet-5's epochs (--quick: on 640 images, a smoke run)."""
    old_images = len(x) // 20  # the old path is ~10x slower: timed on 1/20 of the images
    if quick:
        x, y, old_images = x[:640], y[:640], 200
    return [
        bench_conv_epoch(x, y, arch=arch, peak=peak, old_images=old_images)
        for arch in ("cnn", "lenet5")
    ]


def rows(r: dict) -> list[tuple[str, str, str]]:
    """The table rows of these benchmarks (bench.table adds them to its own)."""
    out = []
    for c in r.get("conv_epochs", []):
        target = TARGET_X_LIMIT.get(c["arch"])
        out += [
            (
                f"{c['arch']} epoch limit at peak ({c['images']} images)",
                f"{c['limit_seconds']:.2f} s",
                f"6 x N x {c['multiply_adds']:,} FLOP / peak",
            ),
            (
                f"{c['arch']} epoch, Keras fit (Keras' layers)",
                f"{c['keras_fit_seconds']:.2f} s",
                f"{c['fit_x_limit']:.1f}x the limit",
            ),
            (
                f"{c['arch']} epoch, scanned, Keras' layers (before)",
                f"{c['old_scan_seconds']:.1f} s",
                "scaled from a subset",
            ),
            (
                f"{c['arch']} epoch, scanned (ours)",
                f"{c['fast_seconds']:.2f} s",
                f"{c['fast_x_limit']:.1f}x the limit"
                + (f"  [target <= {target:g}x]" if target else "")
                + f"; {c['speedup_vs_fit']:.1f}x faster than fit, "
                f"{c['speedup_vs_old_scan']:.0f}x than before",
            ),
        ]
        if "products_seconds" in c:
            out.append(
                (
                    f"{c['arch']} epoch, its step's {len(c['step_products'])} matrix products alone",
                    f"{c['products_seconds']:.2f} s",
                    f"{c['products_x_limit']:.1f}x the limit ({c['products_gflops']:.0f} GFLOP/s "
                    f"at their shapes); the epoch is {c['fast_x_products']:.1f}x this",
                )
            )
    return out
