"""Benchmark: how close the fast paths come to this machine's limit, measured in one run.

Prints a table and writes bench.json. Ratios (ours vs the straightforward way, ours vs the
matmul peak) are taken in the same run, because absolute times on shared machines are noisy.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from mnistlab import progress
from mnistlab.bench.table import table
from mnistlab.config import ModelConfig
from mnistlab.flops import matmul_peak
from mnistlab.runs import environment, write_json

TUTORIAL_WEIGHTS = 784 * 128 + 128 * 10  # multiply-adds per image and layer pass: 101,632


def best_time(fn, *, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_epoch(x, y, *, peak: float) -> dict:
    """Seconds per epoch of the tutorial MLP at batch 32: Keras fit vs the scanned epoch."""
    from mnistlab.models.networks import build_model, make_optimizer
    from mnistlab.training import fit_fast, fit_keras

    limit = 6 * len(x) * TUTORIAL_WEIGHTS / (peak * 1e9)
    model = build_model(ModelConfig(), seed=0)
    fit_rows = fit_keras(model, make_optimizer("adam", 1e-3), x, y, epochs=2, batch_size=32)
    fast_model, fast_optimizer = build_model(ModelConfig(), seed=0), make_optimizer("adam", 1e-3)
    fast_rows = fit_fast(fast_model, fast_optimizer, x, y, epochs=3, batch_size=32, seed=0)
    fit_epoch = min(r["seconds"] for r in fit_rows[1:])
    fast_epoch = min(r["seconds"] for r in fast_rows[1:])  # epoch 1 includes compilation
    return {
        "images": len(x),
        "limit_seconds": limit,
        "fit_seconds": fit_epoch,
        "fast_seconds": fast_epoch,
        "fit_x_limit": fit_epoch / limit,
        "fast_x_limit": fast_epoch / limit,
        "fast_speedup_vs_fit": fit_epoch / fast_epoch,
    }


def bench_many(x, y, *, models: int, epochs: int) -> dict:
    """Training M tutorial models (seeds 0..M-1), training only: in turn vs together vs Keras fit."""
    from mnistlab.models.networks import build_model, make_optimizer
    from mnistlab.training import default_workers, fit_fast, fit_keras, run_in_threads
    from mnistlab.training.fast import shared_runner

    def fresh():
        return [
            (build_model(ModelConfig(), seed=s), make_optimizer("adam", 1e-3), s)
            for s in range(models)
        ]

    def timed(make_tasks, workers=1) -> float:
        start = time.perf_counter()
        run_in_threads(make_tasks(), workers)
        return time.perf_counter() - start

    fit = dict(epochs=epochs, batch_size=32)
    # In turn, as train() does for one model: each compiles its own epoch.
    in_turn = timed(
        lambda: [lambda m=m, o=o, s=s: fit_fast(m, o, x, y, seed=s, **fit) for m, o, s in fresh()]
    )

    # Together, as train_many() does: one compiled epoch (its compile counted), one thread per core.
    def together_tasks():
        runner = shared_runner(ModelConfig(), "adam")
        return [
            lambda m=m, o=o, s=s: fit_fast(m, o, x, y, seed=s, runner=runner, **fit)
            for m, o, s in fresh()
        ]

    together = timed(together_tasks, default_workers())
    keras_in_turn = timed(
        lambda: [lambda m=m, o=o: fit_keras(m, o, x, y, **fit) for m, o, _ in fresh()]
    )
    return {
        "models": models,
        "epochs": epochs,
        "images": len(x),
        "workers": default_workers(),
        "in_turn_seconds": in_turn,
        "together_seconds": together,
        "keras_fit_in_turn_seconds": keras_in_turn,
        "together_speedup_vs_in_turn": in_turn / together,
        "together_speedup_vs_keras_fit": keras_in_turn / together,
    }


def bench_dropout(model, images, *, members: int, loop_members: int, peak: float) -> dict:
    """K weight-dropout members on the test images: batched path vs clone-set-predict per member."""
    from mnistlab.uncertainty import ensemble_logits
    from mnistlab.uncertainty.weight_dropout import ensemble_logits_loop

    ensemble_logits(model, images, p=0.2, members=members, seed=0)  # compile
    ours = best_time(
        lambda: ensemble_logits(model, images, p=0.2, members=members, seed=0), repeat=3
    )
    start = time.perf_counter()
    ensemble_logits_loop(model, images, p=0.2, members=loop_members, seed=0)
    loop = (time.perf_counter() - start) * members / loop_members  # the loop is linear in K
    flop = 2 * members * len(images) * TUTORIAL_WEIGHTS
    return {
        "members": members,
        "images": len(images),
        "ours_seconds": ours,
        "loop_seconds": loop,
        "loop_members_measured": loop_members,
        "ours_gflops": flop / ours / 1e9,
        "ours_share_of_peak": flop / ours / 1e9 / peak,
        "speedup_vs_loop": loop / ours,
    }


def bench_report(ctx) -> dict:
    """The default lab report from an empty model cache and output folder (in this process)."""
    from mnistlab import pipeline

    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = pipeline.run(
            replace(ctx, out=Path(out), cache_dir=cache, reuse=True, retrain=False)
        )
        cold = time.perf_counter() - start
        start = time.perf_counter()
        pipeline.run(replace(ctx, out=Path(out), cache_dir=cache, reuse=True, retrain=False))
        warm = time.perf_counter() - start
    return {
        "cold_seconds": cold,
        "warm_seconds": warm,
        "seeds": ctx.seeds,
        "study_seconds": result["meta"]["study_seconds"],
        "cost": result["meta"]["cost"],
    }


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_results(results: dict, out) -> Path:
    return write_json(Path(out) / "bench" / "bench.json", results)


def run(ctx, *, with_report=True, with_exercise=True, checkpoint=lambda results: None) -> dict:
    """Every row's measurements; checkpoint(results) is called after each part, so that a
    bench stopped part-way keeps what it measured."""
    from mnistlab.bench import conv, exercise
    from mnistlab.data import load_split
    from mnistlab.studies.framework.context import get_models, tutorial_spec

    quick = ctx.quick
    results = {"quick": quick, "environment": environment()}
    progress.say("bench: matmul peak")
    peak = results["matmul_peak_gflops"] = matmul_peak(size=1024 if quick else 2048)
    x, y = load_split("fashion-mnist", "train", ctx.data_dir)
    if quick:
        x, y = x[:4000], y[:4000]
    progress.say("bench: one epoch, Keras fit vs scanned epoch")
    results["epoch"] = bench_epoch(x, y, peak=peak)
    checkpoint(results)
    progress.say("bench: CNN and LeNet-5 epochs, Keras fit vs scanned")
    results["conv_epochs"] = conv.conv_epochs(x, y, quick=quick, peak=peak)
    checkpoint(results)
    progress.say("bench: M models together vs one after another")
    results["many"] = bench_many(x, y, models=5, epochs=2 if quick else 3)
    checkpoint(results)
    progress.say("bench: weight dropout ensemble")
    (trained,) = get_models(ctx, [tutorial_spec(ctx, "fashion-mnist")])
    model = trained.model
    test_images, _ = load_split("fashion-mnist", "test", ctx.data_dir)
    if quick:
        test_images = test_images[:1000]
    results["dropout"] = bench_dropout(
        model, test_images, members=10 if quick else 100, loop_members=3 if quick else 10, peak=peak
    )
    checkpoint(results)
    if with_exercise:

        def partial_rows(part):
            checkpoint(results | {"exercise": part})

        results["exercise"] = exercise.bench_exercise(ctx, peak=peak, checkpoint=partial_rows)
        checkpoint(results)
    if with_report:
        progress.say("bench: the lab report, cold")
        results["report"] = bench_report(ctx)
    results["peak_memory_mib"] = peak_memory_mib()
    return results


def main(ctx, *, with_report: bool = True, with_exercise: bool = True) -> int:
    """Run, print the table, write OUT/bench/bench.json."""
    save = partial(write_results, out=ctx.out)
    results = run(ctx, with_report=with_report, with_exercise=with_exercise, checkpoint=save)
    path = write_results(results, ctx.out)
    print(table(results))
    print(f"wrote {path}")
    return 0
