"""The battery of bad values a hostile new user tries: every one is a clean exit 2, before any
work, with a message naming the problem (one line; argparse's own errors add its usage line)."""

import errno
import json

import pytest

from mnistlab.cli import main
from mnistlab.studies.registry import names

BAD_TRAIN = [
    ["--seed", "-1"],
    ["--seed", "4294967296"],
    ["--seed", "1099511627776"],
    ["--seed", "2**40"],
    ["--lr", "inf"],
    ["--lr", "nan"],
    ["--lr", "-1"],
    ["--lr", "0"],
    ["--lr", "abc"],
    ["--hidden", "128,"],
    ["--hidden", "128,,64"],
    ["--hidden", "0"],
    ["--hidden", "100000000"],
    ["--hidden", "a,b"],
    ["--hidden", ""],
    ["--hidden", "1.5"],
    ["--hidden", "-3"],
    ["--epochs", "0"],
    ["--epochs", "-3"],
    ["--epochs", "100000"],
    ["--epochs", "1.5"],
    ["--batch-size", "0"],
    ["--batch-size", "100000"],
    ["--batch-size", "2.5"],
    ["--train-size", "0"],
    ["--train-size", "-5"],
    ["--train-size", "100000"],
    ["--dropout", "1"],
    ["--dropout", "-0.1"],
    ["--dropout", "nan"],
    ["--activation", "nope"],
    ["--optimizer", "lbfgs"],
    ["--arch", "rnn"],
    ["--dataset", "letters"],
    ["--quick", "--epochs", "0"],
    ["--quick", "--batch-size", "5000"],
    ["--quick", "--lr", "inf"],
]

BAD_STUDY = [
    ["dropout", "--p", ""],
    ["dropout", "--p", "1"],
    ["dropout", "--p", "-0.1"],
    ["dropout", "--p", "nan"],
    ["dropout", "--p", "x"],
    ["dropout", "--p", "0.1,,0.2"],
    ["dropout", "--members", "0"],
    ["dropout", "--members", "-1"],
    ["dropout", "--members", "100000000"],
    ["dropout", "--memory-budget", "nan"],
    ["dropout", "--memory-budget", "inf"],
    ["dropout", "--memory-budget", "0"],
    ["dropout", "--memory-budget", "-1"],
    ["dropout", "--memory-budget", "abc"],
    ["dropout", "--arch", "rnn"],
    ["scoreboard", "--members", "0"],
    ["scoreboard", "--ensemble-size", "0"],
    ["scoreboard", "--ensemble-size", "1000"],
    ["scoreboard", "--bootstrap", "5"],
    ["scoreboard", "--bootstrap", "1000000000"],
    ["scoreboard", "--p", ""],
    ["scoreboard", "--p", "1.5"],
    ["scoreboard", "--memory-budget", "0"],
    ["scoreboard", "--dataset", "letters"],
    ["variants", "--seeds", "0"],
    ["variants", "--seeds", "1000"],
    ["variants", "--grid", "/no/such/grid.toml"],
    ["morph", "--pair", "0", "99999"],
    ["morph", "--pair", "-1", "3"],
    ["morph", "--pair", "1"],
    ["confidence", "--dataset", "letters"],
    ["report", "--seed", "-1"],
    ["report", "--memory-budget", "nan"],
    ["bench", "--seed", "-1"],
    *[[name, "--seed", "-1"] for name in names()],
    *[[name, "--seed", "4294967296"] for name in names()],
]

BAD_GRIDS = [
    '[[variant]]\ndataset = "mnist"\nhidden = 1.5\n',
    '[[variant]]\ndataset = "mnist"\nbatch_size = 2.5\n',
    '[[variant]]\ndataset = "mnist"\nhidden = {a = 1}\n',
    "variant = [1, 2]\n",
    '[[variant]]\ndataset = "mnist"\nlr = "abc"\n',
    '[[variant]]\ndataset = "mnist"\nlr = inf\n',
    '[[variant]]\ndataset = "mnist"\nlr = -1\n',
    '[[variant]]\ndataset = "mnist"\nepochs = 0\n',
    '[[variant]]\ndataset = "mnist"\nhidden = [128, "x"]\n',
    '[[variant]]\ndataset = "mnist"\nhidden = "128,"\n',
    '[[variant]]\ndataset = "mnist"\ncolour = "red"\n',
    '[[variant]]\nname = "no dataset"\n',
    '[[variant]]\ndataset = "letters"\n',
    '[[variant]]\ndataset = "mnist"\nactivation = "nope"\n',
    '[[variant]]\ndataset = "mnist"\nbatch_size = 100000\n',
    "[[variant]\n",
    "x = 1\n",
]


def run_bad(argv, out, capsys) -> str:
    """Run the CLI; assert a clean exit 2 and that nothing was computed; return stderr."""
    try:
        code = main([*argv, "--out", str(out)])
    except SystemExit as exit_info:  # argparse rejects the flag's type or choice itself
        code = exit_info.code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err and "--help" in err, err
    else:
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mnistlab: error: "), err
    assert code == 2, (argv, err)
    assert "Traceback" not in err
    assert not list(out.rglob("results.json")), f"{argv} computed something before failing"
    return err


@pytest.mark.parametrize("argv", BAD_TRAIN, ids=" ".join)
def test_bad_train_value(argv, synthetic_data, tmp_path, capsys):
    run_bad(["train", "--dataset", "mnist", *argv], tmp_path / "out", capsys)


@pytest.mark.parametrize("argv", BAD_STUDY, ids=" ".join)
def test_bad_study_value(argv, synthetic_data, tmp_path, capsys):
    run_bad([*argv, "--quick"] if argv[0] != "bench" else argv, tmp_path / "out", capsys)


@pytest.mark.parametrize("content", BAD_GRIDS)
def test_bad_grid_file(content, synthetic_data, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(content)
    run_bad(["variants", "--quick", "--grid", str(grid)], tmp_path / "out", capsys)


def test_binary_grid_file(synthetic_data, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_bytes(bytes(range(256)))
    run_bad(["variants", "--quick", "--grid", str(grid)], tmp_path / "out", capsys)


@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
def test_output_folder_that_is_a_file(option, synthetic_data, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = ["confidence", "--quick", option, str(blocker / "sub")]
    if option == "--cache-dir":
        argv += ["--out", str(tmp_path / "out")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and f"{blocker / 'sub'} cannot be written" in err and option in err
    assert err.count("\n") == 1


def test_full_disk_is_one_line_and_leaves_no_partial_file(
    synthetic_data, tmp_path, monkeypatch, capsys
):
    """A disk that fills up while results are written: one line, exit 2, nothing half-written."""
    from mnistlab import runs

    original = runs.write_text

    def full(path, text):
        if str(path).endswith("results.json"):
            with runs.atomic_path(path) as tmp:
                tmp.write_text(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        return original(path, text)

    monkeypatch.setattr(runs, "write_text", full)
    out = tmp_path / "out"
    assert main(["confidence", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert not list(out.rglob("results.json")) and not [
        p for p in out.rglob("*") if ".tmp" in p.name
    ]


def test_leftover_temporary_files_are_removed_on_the_next_run(synthetic_data, tmp_path):
    out = tmp_path / "out"
    folder = out / "confidence"
    folder.mkdir(parents=True)
    dead = folder / ".confidence.png.999999999.abcd1234.tmp.png"  # no such process
    dead.write_bytes(b"")
    live = folder / f".confidence.png.{__import__('os').getpid()}.abcd1234.tmp.png"
    live.write_bytes(b"")  # a file this (live) process is writing: kept
    assert main(["--quiet", "confidence", "--quick", "--out", str(out)]) == 0
    assert not dead.exists() and live.exists()
    assert json.loads((folder / "results.json").read_text())["study"] == "confidence"
