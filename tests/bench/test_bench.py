"""The benchmark in quick mode: a smoke run that checks the table and JSON, never the timings."""

import json

import pytest

from mnistlab.bench import parts, timing, torch_peer
from mnistlab.bench.table import table as bench_table
from mnistlab.cli import main


@pytest.mark.slow
def test_bench_quick_smoke(trained_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["--quiet", "bench", "--quick", "--no-report", "--no-exercise", "--out", str(out)])
        == 0
    )
    results = json.loads((out / "bench" / "bench.json").read_text())
    assert results["matmul_peak_gflops"] > 0
    for key in ("fit_seconds", "fast_seconds", "limit_seconds", "fast_x_limit"):
        assert results["epoch"][key] > 0
    for key in ("in_turn_seconds", "together_seconds", "keras_fit_in_turn_seconds"):
        assert results["many"][key] > 0
    assert results["dropout"]["members"] == 10 and results["dropout"]["ours_share_of_peak"] > 0
    assert [c["arch"] for c in results["conv_epochs"]] == ["cnn", "lenet5"]
    for conv in results["conv_epochs"]:
        for key in ("limit_seconds", "keras_fit_seconds", "fast_seconds", "old_scan_seconds"):
            assert conv[key] > 0
        assert conv["products_seconds"] > 0 and conv["products_gflops"] > 0
    assert results["peak_memory_mib"] > 0 and "versions" in results["environment"]
    table = capsys.readouterr().out
    assert bench_table(results) in table  # the printed table is the saved numbers'
    for label in (
        "matmul peak",
        "Keras fit",
        "scanned",
        "together",
        "weight dropout",
        "lenet5 epoch, scanned (ours)",
        "lenet5 epoch, its step's 14 matrix products alone",
        "peak memory",
    ):
        assert label in table


def test_bench_stopped_part_way_keeps_what_it_measured(trained_data, tmp_path, monkeypatch):
    """bench.json is written after each part: a bench interrupted in its second part (the
    convolutional epochs) has the first part's rows on disk, and nothing it did not measure."""
    from mnistlab.bench import conv as bench_conv

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_conv, "conv_epochs", interrupted)
    out = tmp_path / "out"
    argv = ["--quiet", "bench", "--quick", "--no-report", "--no-exercise", "--out", str(out)]
    assert main(argv) == 130  # interrupted
    results = json.loads((out / "bench" / "bench.json").read_text())
    assert results["epoch"]["fast_seconds"] > 0 and results["matmul_peak_gflops"] > 0
    assert "conv_epochs" not in results and "many" not in results


def test_step_products_are_the_models_own_work():
    """The products a training step is made of: LeNet-5's, shape by shape, and for every
    architecture, the forward ones hold exactly the multiply-adds the FLOP floor counts."""
    from mnistlab.bench.conv import products_epoch_seconds, step_products
    from mnistlab.config import ModelConfig
    from mnistlab.models.networks import build_model, multiply_adds

    lenet = step_products(build_model(ModelConfig(arch="lenet5"), seed=0), 32)
    assert lenet[:5] == [  # conv 6@5x5 'same' on 28x28: its patches times the kernel
        (32 * 28 * 28, 25, 6),
        (25, 32 * 28 * 28, 6),
        (32 * 10 * 10, 150, 16),  # conv 16@5x5 on the pooled 14x14 (10x10 out)
        (150, 32 * 10 * 10, 16),
        (32 * 10 * 10, 16, 150),  # its input's gradient (the first layer has none)
    ]
    assert len(lenet) == 5 * 3 - 1  # 5 layers x (forward, kernel, input) - the first input
    for config in (ModelConfig(), ModelConfig(arch="cnn"), ModelConfig(arch="lenet5")):
        model = build_model(config, seed=0)
        products = [m * k * n for m, k, n in step_products(model, 7)]
        # Every layer's three products (the first layer's two) hold its multiply-adds.
        assert sum(products) == 3 * 7 * multiply_adds(model) - products[0]
    assert products_epoch_seconds([(64, 25, 6), (25, 64, 6)], steps=10, repeat=1) > 0


def test_memory_budget_bounds_chunks_without_changing_results():
    import numpy as np

    from mnistlab.config import ModelConfig
    from mnistlab.models.networks import build_model
    from mnistlab.uncertainty.ensemble import chunk_sizes
    from mnistlab.uncertainty.weight_dropout import ensemble_logits

    model = build_model(ModelConfig(), seed=0)
    roomy = chunk_sizes(model, 10_000, 100, 1 << 30)
    tight = chunk_sizes(model, 10_000, 100, 4 << 20)
    assert tight[0] * tight[1] < roomy[0] * roomy[1] and tight[0] >= 1
    images = np.random.default_rng(0).random((300, 28, 28), dtype=np.float32)
    a = ensemble_logits(model, images, p=0.1, members=6, seed=0, memory_budget=1 << 30)
    b = ensemble_logits(model, images, p=0.1, members=6, seed=0, memory_budget=1 << 20)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_exercise_rows_quick(real_data_dir, tmp_path, monkeypatch):
    """The exercise benchmark in quick mode, with one of its five commands: both ways run,
    the study's FLOPs come back from its results.json, the ratios are formed."""
    from mnistlab.bench import exercise as bench_exercise
    from mnistlab.studies.framework.context import StudyContext
    from mnistlab.studies.variants import grid

    monkeypatch.setattr(bench_exercise, "EXERCISE_STUDIES", ("morph",))
    # Each peer's loop over the grid, on three of its variants: each data set's tutorial
    # model (what the predicting parts use) and one with another activation (a third faster).
    three = [
        v
        for v in grid.default_grid(("mnist", "fashion-mnist"))
        if v.name.startswith("tutorial") or (v.dataset, v.name) == ("mnist", "sigmoid")
    ]
    assert len(three) == 3
    monkeypatch.setattr(grid, "default_grid", lambda datasets: three)
    ctx = StudyContext(out=tmp_path / "out", quick=True, data_dir=str(real_data_dir))
    saved = []
    result = bench_exercise.bench_exercise(ctx, peak=100.0, checkpoint=saved.append)
    assert [sorted(part) for part in saved[:2]] == [["ours"], ["notebook", "ours"]]
    assert result["ours"]["flop"]["morph"] > 0 and result["floor_seconds"] > 0
    assert set(result["notebook"]["seconds"]) == {
        "variants",
        "confidence",
        "cross",
        "morph",
        "dropout",
    }
    assert result["speedup_vs_notebook"] > 0
    peers = {"notebook", "pytorch"} & set(result)
    assert result["fastest_peer"] in peers
    fastest = min(result[name]["wall_seconds"] for name in peers)
    assert result["speedup_vs_fastest_peer"] == fastest / result["ours"]["wall_seconds"]
    rows = {row[0]: row for row in bench_exercise.rows({"exercise": result})}
    assert "exercise, 5 commands cold (ours)" in rows
    assert set(result["ours"]["warm"]) == {"confidence", "tutorial"}  # on the warm cache
    assert rows["  warm `tutorial` command"][2].endswith("[target < 1 s]")
    pytorch = rows["exercise, the plain PyTorch way (loop, copy and mask)"]
    if "pytorch" in result:  # installed: it ran the whole exercise, and learned
        assert set(result["pytorch"]["seconds"]) == set(result["notebook"]["seconds"])
        assert min(result["pytorch"]["test_acc"].values()) > 0.2  # chance: 0.1
    else:  # a row that says why
        assert pytorch[1:] == (
            "skipped",
            "PyTorch is not installed (pip install 'mnistlab[bench]')",
        )


def test_the_bench_parts_measure_what_the_studies_run():
    from mnistlab.studies.dropout import DropoutOptions

    assert DropoutOptions().p == parts.DROPOUT_FRACTIONS  # the dropout study's defaults
    assert torch_peer.missing() is None or "PyTorch" in torch_peer.missing()
    calls = []
    assert timing.best_time(lambda: calls.append(1), repeat=3) >= 0 and len(calls) == 3
