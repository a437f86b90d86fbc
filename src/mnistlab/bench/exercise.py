"""Benchmark rows for the exercise end to end.

The exercise: train the variants, then confidence, cross, morph and dropout, as five
`mnistlab` commands from an empty cache (start-up included: that is what a student waits
for). Against it, in the same run, the same work the way a course notebook does it: Keras
`fit` for each of the 8 variants, `predict` for the confidence, cross and morph answers, and
for weight dropout `clone_model` + `set_weights` + `predict` for each of the K members and
each p. The notebook runs on the backend this process uses (JAX; TensorFlow is not a
dependency). And, when PyTorch is installed, the plain PyTorch way (torch_peer.py). Every
ratio is against the fastest of these peers.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnistlab import progress
from mnistlab.bench import torch_peer
from mnistlab.bench.parts import predicting_parts

EXERCISE_STUDIES = ("variants", "confidence", "cross", "morph", "dropout")


def exercise_ours(ctx) -> dict:
    """The five study commands in turn, each a fresh process, from an empty cache; then, on
    the cache they filled, two warm commands into a new folder: `confidence` (it predicts
    with the cached models and draws its figure) and `tutorial` (recorded numbers only)."""
    from mnistlab.runs import read_json

    seconds, flop, warm = {}, {}, {}
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:

        def command(name: str, folder) -> float:
            argv = [sys.executable, "-m", "mnistlab", "-q", name, "--out", str(folder)]
            argv += ["--cache-dir", cache, "--seed", str(ctx.seed)]
            if ctx.data_dir:
                argv += ["--data-dir", str(ctx.data_dir)]
            if ctx.quick:
                argv.append("--quick")
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        for name in EXERCISE_STUDIES:
            seconds[name] = command(name, out)
            flop[name] = read_json(Path(out) / name / "results.json")["flop"]
        for study in WARM_STUDIES:
            warm[study] = command(study, Path(out) / "warm")
    return {"seconds": seconds, "flop": flop, "wall_seconds": sum(seconds.values()), "warm": warm}


WARM_STUDIES = {  # a study command on a warm cache: what it does there
    "confidence": "predicts with the cached MLPs (NumPy), draws",
    "tutorial": "recorded numbers only, draws",
}


def exercise_notebook(ctx) -> dict:
    """The same exercise the straightforward Keras way, in this process; seconds per part."""
    import keras

    from mnistlab.models.networks import build_model, make_optimizer
    from mnistlab.models.predict import softmax
    from mnistlab.studies.framework.context import test_set, tutorial_spec
    from mnistlab.studies.variants.grid import default_grid
    from mnistlab.training import fit_keras, training_arrays
    from mnistlab.uncertainty.weight_dropout import ensemble_logits_loop

    seconds, models = {}, {}
    start = time.perf_counter()
    for variant in default_grid(("mnist", "fashion-mnist")):
        spec = tutorial_spec(ctx, variant.dataset, **variant.changes)
        x, y, _, _ = training_arrays(spec, ctx.data_dir)
        model = build_model(spec.model, seed=spec.seed, stock_layers=True)
        optimizer = make_optimizer(spec.train.optimizer, spec.train.learning_rate)
        fit_keras(model, optimizer, x, y, epochs=spec.train.epochs, batch_size=32)
        test_x, test_y = test_set(ctx, variant.dataset)
        model.evaluate(x, y, batch_size=32, verbose=0)
        model.evaluate(test_x, test_y, batch_size=32, verbose=0)
        models.setdefault(variant.dataset, model)  # the first of each grid is the tutorial's
    seconds["variants"] = time.perf_counter() - start

    seconds |= predicting_parts(
        ctx,
        models,
        lambda model, images: softmax(model.predict(images, verbose=0)),
        lambda model, images, p, members: ensemble_logits_loop(
            model, images, p=p, members=members, seed=0
        ),
    )
    keras.backend.clear_session()
    return {"seconds": seconds, "wall_seconds": sum(seconds.values())}


def bench_exercise(ctx, *, peak: float, checkpoint=lambda part: None) -> dict:
    """Ours against its peers (the Keras notebook way, and plain PyTorch when installed);
    every ratio against the fastest peer. checkpoint(part) gets the rows measured so far
    after each way (on a GPU the notebook way alone takes minutes)."""
    progress.say("bench: the exercise, five commands from an empty cache")
    ours = exercise_ours(ctx)
    checkpoint({"ours": ours})
    progress.say("bench: the exercise, the notebook way (Keras fit, predict, clone per member)")
    peers = {"notebook": exercise_notebook(ctx)}
    checkpoint({"ours": ours, **peers})
    skipped = torch_peer.missing()
    if skipped is None:
        progress.say("bench: the exercise, the plain PyTorch way (loop, copy and mask per member)")
        peers["pytorch"] = torch_peer.exercise_torch(ctx)
    fastest = min(peers, key=lambda name: peers[name]["wall_seconds"])
    floor = sum(ours["flop"].values()) / (peak * 1e9)
    return {
        "ours": ours,
        **peers,
        "pytorch_skipped": skipped,
        "fastest_peer": fastest,
        "floor_seconds": floor,
        "speedup_vs_notebook": peers["notebook"]["wall_seconds"] / ours["wall_seconds"],
        "speedup_vs_fastest_peer": peers[fastest]["wall_seconds"] / ours["wall_seconds"],
        "ours_x_floor": ours["wall_seconds"] / floor,
    }


def rows(r: dict) -> list[tuple[str, str, str]]:
    """The table rows of these benchmarks (bench.table adds them to its own)."""
    out = []
    if "exercise" in r:
        e = r["exercise"]
        parts = ", ".join(f"{k} {v:.1f}" for k, v in e["ours"]["seconds"].items())
        for key, label in PEER_LABELS.items():
            if key in e:
                seconds = ", ".join(f"{k} {v:.1f}" for k, v in e[key]["seconds"].items())
                out.append((label, f"{e[key]['wall_seconds']:.1f} s", seconds))
            elif key == "pytorch" and e.get("pytorch_skipped"):
                out.append((label, "skipped", e["pytorch_skipped"]))
        fastest = e.get("fastest_peer", "notebook")
        speedup = e.get("speedup_vs_fastest_peer", e["speedup_vs_notebook"])
        out += [
            ("exercise, 5 commands cold (ours)", f"{e['ours']['wall_seconds']:.1f} s", parts),
            *(
                (
                    f"  warm `{study}` command",
                    f"{seconds:.2f} s",
                    f"{WARM_STUDIES[study]} [target < 1 s]",
                )
                for study, seconds in e["ours"].get("warm", {}).items()
            ),
            (
                "  exercise: ours vs the fastest peer, vs floor",
                f"{speedup:.1f}x",
                f"faster than {PEER_NAMES[fastest]} [target >= 6x]; "
                f"{e['ours_x_floor']:.1f}x its FLOP floor of {e['floor_seconds']:.1f} s "
                "[target <= 1.5x]",
            ),
        ]
    return out


PEER_NAMES = {"notebook": "the Keras notebook way", "pytorch": "plain PyTorch"}
PEER_LABELS = {
    "notebook": "exercise, the Keras notebook way (fit, predict, clone)",
    "pytorch": "exercise, the plain PyTorch way (loop, copy and mask)",
}
