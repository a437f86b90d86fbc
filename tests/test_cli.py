import json

import pytest

from mnistlab.cli import main


def test_train_quick_writes_model_and_results(synthetic_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--quiet",
                "train",
                "--dataset",
                "mnist",
                "--quick",
                "--out",
                str(out),
                "--hidden",
                "32,16",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "test accuracy" in printed
    (folder,) = (out / "train").iterdir()
    assert (folder / "model.keras").is_file()
    results = json.loads((folder / "results.json").read_text())
    for key in (
        "dataset",
        "config",
        "seed",
        "train/acc",
        "test/acc",
        "seconds_per_epoch",
        "environment",
        "data_sha256",
    ):
        assert key in results
    assert results["config"]["model"]["hidden_units"] == [32, 16]
    assert results["environment"]["versions"]["keras"].startswith("3.")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--activation", "nope"], "unknown activation"),
        (["train", "--lr", "0"], "learning rate must be a finite number > 0"),
        (["train", "--epochs", "0"], "epochs must be between 1 and 1,000"),
        (["train", "--hidden", "0"], "hidden units must be >= 1"),
        (["train", "--hidden", "a,b"], "--hidden takes whole numbers"),
    ],
)
def test_invalid_options_give_one_line_and_exit_2(synthetic_data, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_data_file_gives_one_line_error(synthetic_data, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(synthetic_data, copy)
    target = copy / "mnist" / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-50])
    assert main(["train", "--dataset", "mnist", "--quick", "--data-dir", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "mnistlab data --download" in err
    assert err.count("\n") == 1


def test_data_command_lists_and_verifies(synthetic_data, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.count("  ok ") == 8 and str(synthetic_data) in out


def test_data_command_reports_missing(tmp_path, capsys):
    assert main(["data", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().out.count("missing") == 8


def test_quiet_before_or_after_the_command():
    from mnistlab.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["-q", "report"]).quiet
    assert parser.parse_args(["report", "-q"]).quiet
    assert parser.parse_args(["data", "--quiet"]).quiet
    assert not parser.parse_args(["report"]).quiet


def test_examples_are_copied_out_of_the_package(tmp_path, capsys):
    """A pip-installed user has no clone: `mnistlab examples` writes the notebook and the grid."""
    from importlib import resources

    from mnistlab.cli import main
    from mnistlab.studies.variants.grid import load_grid

    out = tmp_path / "examples"
    assert main(["examples", "--out", str(out)]) == 0
    packaged = resources.files("mnistlab.examples")
    for name in ("exercise.ipynb", "grid.toml"):
        assert (out / name).read_bytes() == packaged.joinpath(name).read_bytes()
    assert load_grid(out / "grid.toml")  # the copy is a grid the variants study reads
    (out / "grid.toml").write_text("# mine\n")
    assert main(["examples", "--out", str(out)]) == 0
    assert (out / "grid.toml").read_text() == "# mine\n"  # kept without --force
    assert "kept" in capsys.readouterr().out
    assert main(["examples", "--out", str(out), "--force"]) == 0
    assert (out / "grid.toml").read_bytes() == packaged.joinpath("grid.toml").read_bytes()
    (tmp_path / "file").write_text("")
    assert main(["examples", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
