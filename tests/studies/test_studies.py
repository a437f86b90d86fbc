"""Every study in --quick mode on synthetic data, through the CLI as a user runs it."""

import json

import numpy as np
import pytest

from mnistlab.cli import main
from mnistlab.studies.morph import analyse_path, blend


def _run(tmp_path, *argv):
    out = tmp_path / "out"
    code = main(["--quiet", *argv, "--quick", "--out", str(out)])
    return code, out


def _results(out, study):
    return json.loads((out / study / "results.json").read_text())


def _assert_figures(out, study, document):
    assert document["figures"]
    for name in document["figures"]:
        assert (out / study / name).stat().st_size > 5000


def test_variants_default_grid(synthetic_data, tmp_path, capsys):
    code, out = _run(tmp_path, "variants")
    assert code == 0
    document = _results(out, "variants")
    rows = document["rows"]
    assert [r["dataset"] for r in rows].count("mnist") == 5 and [r["dataset"] for r in rows].count(
        "fashion-mnist"
    ) == 3
    assert all(0 <= r["train/acc"] <= 1 and 0 <= r["test/acc"] <= 1 for r in rows)
    table = (out / "variants" / "table.md").read_text()
    assert table.count("\n") == 2 + 8 and "sigmoid" in table
    assert (out / "variants" / "table.csv").read_text().count("\n") == 9
    _assert_figures(out, "variants", document)
    printed = capsys.readouterr().out
    assert "highest mean test accuracy" in printed and "Against the tutorial model" in printed
    tutorial, sigmoid = rows[0], rows[1]
    assert tutorial["vs_tutorial"] is None  # the reference
    d = sigmoid["vs_tutorial"]
    assert d["low"] <= d["difference"] <= d["high"]
    assert d["difference"] == pytest.approx(sigmoid["test/acc"] - tutorial["test/acc"])
    assert d["verdict"] in ("better", "worse", "no clear difference")


def test_variants_grid_file_and_seeds(synthetic_data, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        '[[variant]]\nname = "a"\ndataset = "mnist"\nhidden = "16,8"\n'
        '[[variant]]\nname = "b"\ndataset = "mnist"\nactivation = "tanh"\nlr = 0.01\n'
    )
    code, out = _run(tmp_path, "variants", "--grid", str(grid), "--seeds", "2")
    assert code == 0
    rows = _results(out, "variants")["rows"]
    assert [r["variant"] for r in rows] == ["a", "b"]
    assert rows[0]["models"][0]["spec"]["model"]["hidden_units"] == [16, 8]
    assert rows[1]["seeds"] == [0, 1] and "±" in (out / "variants" / "table.md").read_text()
    assert rows[1]["test/acc_seeds"] == [m["test/acc"] for m in rows[1]["models"]]
    assert "vs_tutorial" not in rows[1]  # no tutorial model in this grid: nothing to compare


def test_example_grid_file_parses():
    from pathlib import Path

    from mnistlab.studies.variants.study import load_grid

    grid = load_grid(
        Path(__file__).resolve().parents[2] / "src" / "mnistlab" / "examples" / "grid.toml"
    )
    assert len(grid) == 5 and grid[2].changes["hidden_units"] == (256, 128)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read grid file"),
        ("[[variant]\n", "not valid TOML"),
        ("x = 1\n", "no [[variant]]"),
        ('[[variant]]\ndataset = "mnist"\ncolour = "red"\n', "unknown key"),
        ('[[variant]]\ndataset = "mnist"\nname = "a\\nb"\n', "control character"),
        ('[[variant]]\ndataset = "mnist"\nname = "\\u001b[2J"\n', "control character"),
        ('[[variant]]\ndataset = "mnist"\nname = "' + "x" * 81 + '"\n', "1 to 80 characters"),
    ],
)
def test_bad_grid_file_is_one_line_error(synthetic_data, tmp_path, capsys, content, message):
    grid = tmp_path / "grid.toml"
    if content is not None:
        grid.write_text(content)
    code, _ = _run(tmp_path, "variants", "--grid", str(grid))
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_hostile_variant_names_stay_text_everywhere(synthetic_data, tmp_path, capsys):
    """Issue 27: a '|' added a Markdown column, raw HTML reached table.md, '=' became a
    spreadsheet formula, and '$^$' crashed matplotlib's math parser after training."""
    names = ["a|b", "<script>alert(1)</script>", "=HYPERLINK(1)", "cost $^$ x"]
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "".join(
            f'[[variant]]\nname = "{n}"\ndataset = "mnist"\nhidden = {8 + i}\n'
            for i, n in enumerate(names)
        )
    )
    code, out = _run(tmp_path, "variants", "--grid", str(grid))
    assert code == 0, capsys.readouterr().err
    table = (out / "variants" / "table.md").read_text().splitlines()
    columns = table[0].count("|") - table[0].count("\\|")
    assert all(line.count("|") - line.count("\\|") == columns for line in table)
    assert "<script" not in "\n".join(table) and "a\\|b" in table[2]
    rows = list(__import__("csv").reader((out / "variants" / "table.csv").open()))
    assert [r[1] for r in rows[1:]] == [
        "a|b",
        "<script>alert(1)</script>",
        "'=HYPERLINK(1)",
        "cost $^$ x",
    ]
    assert (out / "variants" / "accuracy-mnist.png").stat().st_size > 1000  # drawn, with the '$'


def test_confidence(synthetic_data, tmp_path):
    code, out = _run(tmp_path, "confidence")
    assert code == 0
    document = _results(out, "confidence")
    for name in ("mnist", "fashion-mnist"):
        entry = document["datasets"][name]
        assert entry["n_right"] + entry["n_wrong"] == 200
        assert sum(entry["histogram/right"]) == entry["n_right"]
    _assert_figures(out, "confidence", document)


def test_cross(synthetic_data, tmp_path):
    code, out = _run(tmp_path, "cross")
    assert code == 0
    directions = _results(out, "cross")["directions"]
    assert set(directions) == {"fashion-mnist->mnist", "mnist->fashion-mnist"}
    for entry in directions.values():
        assert sum(entry["predicted_class_counts"]) == 200
        assert entry["share_above_0.99"] <= entry["share_above_0.9"]


def test_morph_with_pairs(synthetic_data, tmp_path):
    code, out = _run(tmp_path, "morph", "--pair", "3", "4", "--pair", "5", "6")
    assert code == 0
    document = _results(out, "morph")
    assert [p["pair"] for p in document["pairs"]] == [[3, 4], [5, 6]]
    assert len(document["alphas"]) == 100 and len(document["pairs"][0]["probabilities"]) == 100
    _assert_figures(out, "morph", document)


def test_morph_index_outside_test_set(synthetic_data, tmp_path, capsys):
    code, _ = _run(tmp_path, "morph", "--pair", "0", "200")
    assert code == 2 and "outside the test set (0..199)" in capsys.readouterr().err


def test_morph_path_analysis():
    first, second = np.ones((28, 28), np.float32), np.zeros((28, 28), np.float32)
    path = blend(first, second, np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(path[:, 0, 0], [0.0, 0.25, 1.0])
    alphas = np.linspace(0, 1, 5)
    probabilities = np.array([[0.9, 0.1], [0.7, 0.3], [0.45, 0.55], [0.2, 0.8], [0.05, 0.95]])
    analysis = analyse_path(alphas, probabilities)
    assert analysis["switches"] == [{"a": 0.375, "from": 0, "to": 1}]
    assert analysis["min_top_probability"] == 0.55 and analysis["a_at_min"] == 0.5


def test_dropout(synthetic_data, tmp_path, capsys):
    code, out = _run(tmp_path, "dropout", "--p", "0,0.5", "--members", "4")
    assert code == 0
    document = _results(out, "dropout")
    zero, half = document["rows"]
    assert zero["vote/cls/acc"] == zero["original/cls/acc"] and zero["mean_conf_right"] == 1.0
    assert half["share_unanimous"] <= 1.0 and half["n_right"] + half["n_wrong"] == 200
    _assert_figures(out, "dropout", document)
    assert "p=0.5" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--p", "1.0"], "--p values must be in [0, 1)"),
        (["--p", "-0.1"], "--p values must be in [0, 1)"),
        (["--members", "0"], "--members must be between 1 and 1,000,000"),
        (["--p", "x"], "--p takes numbers"),
    ],
)
def test_dropout_bad_values(synthetic_data, tmp_path, capsys, argv, message):
    code, _ = _run(tmp_path, "dropout", *argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_arch_reaches_every_model_of_a_study(synthetic_data, tmp_path, capsys):
    """--arch lenet5: the study's models are LeNet-5s, its section says so, and the saved
    results of the MLP run are not reused for it (the architecture is part of the inputs)."""
    from mnistlab.studies.registry import get

    code, out = _run(tmp_path, "tutorial", "--dataset", "mnist")
    assert (
        code == 0
        and _results(out, "tutorial")["datasets"]["mnist"]["model"]["spec"]["model"]["arch"]
        == "mlp"
    )
    code, out = _run(tmp_path, "tutorial", "--dataset", "mnist", "--arch", "lenet5")
    assert code == 0
    document = _results(out, "tutorial")
    assert not document["reused"]
    spec = document["datasets"]["mnist"]["model"]["spec"]["model"]
    assert spec["arch"] == "lenet5" and spec["hidden_units"] == [120, 84]
    (section,) = get("tutorial").sections(document, out / "tutorial")
    assert section.title.startswith("LeNet-5 on MNIST") and "conv 6@5x5" in section.paragraphs[0]
    code, out = _run(tmp_path, "dropout", "--arch", "cnn", "--members", "3", "--p", "0.1")
    assert code == 0 and _results(out, "dropout")["options"]["arch"] == "cnn"


def test_unknown_arch_is_a_one_line_error(synthetic_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse's exit, as the command line sees it
        _run(tmp_path, "cross", "--arch", "resnet")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'resnet'" in err and "Traceback" not in err


def test_unknown_arch_in_the_api_names_the_keyword(synthetic_data, tmp_path):
    import mnistlab

    with pytest.raises(mnistlab.ConfigError, match="arch must be one of mlp, cnn, lenet5"):
        mnistlab.run_study("cross", arch="resnet", quick=True, out=tmp_path / "out")


def test_a_cached_conv_model_loads_in_a_new_process(real_data_dir, tmp_path):
    """A process that builds no model must still read a cached LeNet-5 (its layers are
    mnistlab's own classes): the second command (which predicts, so it reads the model
    file) loads it instead of training again."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MNISTLAB_DATA_DIR": str(real_data_dir)}
    env["MNISTLAB_CACHE_DIR"] = str(tmp_path / "cache")
    command = [sys.executable, "-m", "mnistlab", "-q", "confidence", "--arch", "lenet5"]
    command += ["--quick", "--dataset", "mnist"]
    for expected, out in ((False, tmp_path / "first"), (True, tmp_path / "second")):
        # another folder the second time: in the same one the command reuses its results
        done = subprocess.run(
            [*command, "--out", str(out)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "retraining" not in done.stderr
        model = _results(out, "confidence")["datasets"]["mnist"]["model"]
        assert model["from_cache"] is expected


def test_a_study_command_reuses_what_the_same_inputs_made(trained_data, tmp_path, capsys):
    """The same command into the same folder reuses its results and figures (as the report
    does); other options compute again, and so does --retrain."""
    out = tmp_path / "out"
    argv = ["dropout", "--quick", "--p", "0.1", "--out", str(out)]
    assert main(argv) == 0
    written = (out / "dropout" / "results.json").stat().st_mtime_ns
    assert "wrote" in capsys.readouterr().out
    assert main(argv) == 0
    assert "dropout: reused its results.json and 1 figure(s)" in capsys.readouterr().out
    assert (out / "dropout" / "results.json").stat().st_mtime_ns == written  # not written again
    assert main([*argv[:-4], "--p", "0.2", "--out", str(out)]) == 0  # other inputs
    assert "wrote" in capsys.readouterr().out
    assert main([*argv[:-4], "--p", "0.2", "--retrain", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
