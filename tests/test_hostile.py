"""Hostile input, round two (issue 27): folders that are files, environment variables that
cannot work, and the one line each gets instead of a traceback. The battery that found these
is tools/hostile_trial.py; each kind of case it found is here."""

import numpy as np
import pytest

from mnistlab.cli import main
from mnistlab.envvars import check_environment
from mnistlab.errors import ConfigError, one_line


@pytest.mark.parametrize(
    "variable, value",
    [
        ("KERAS_BACKEND", "bogus"),
        ("JAX_PLATFORMS", "bogus"),
        ("JAX_PLATFORMS", "cpu,warp"),
        ("JAX_ENABLE_X64", "bogus"),
        ("JAX_DISABLE_JIT", "maybe"),
        ("XLA_FLAGS", "--not_a_flag=1"),  # XLA aborts the process on it
        ("MPLBACKEND", "bogus"),
    ],
)
def test_an_environment_variable_that_cannot_work_is_named(variable, value):
    with pytest.raises(ConfigError, match=f"^{variable}=") as error:
        check_environment({variable: value})
    assert "unset it" in str(error.value) and "\n" not in str(error.value)


def test_working_environment_values_pass():
    check_environment(
        {
            "KERAS_BACKEND": "jax",
            "JAX_PLATFORMS": "cpu",
            "JAX_ENABLE_X64": "0",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false --xla_force_host_platform_device_count=2",
            "MPLBACKEND": "Agg",
        }
    )


def test_a_backend_jax_cannot_start_is_one_line(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "gpu")
    message = one_line(RuntimeError("Unable to initialize backend 'cuda': no GPU\nmore detail"))
    assert "JAX_PLATFORMS='gpu'" in message and "set it to cpu" in message and "\n" not in message


@pytest.mark.parametrize(
    "error",
    [
        FileExistsError(17, "File exists", "/x/out"),
        NotADirectoryError(20, "Not a directory", "/x/out/a"),
    ],
)
def test_a_file_where_a_folder_should_be_is_one_line(error):
    assert "a file where a folder should be" in one_line(error)
    assert "a folder where a file" in one_line(IsADirectoryError(21, "Is a directory", "/x/f"))


@pytest.mark.parametrize(
    "blocked, argv",
    [
        ("out/tutorial", ["tutorial", "--quick"]),  # a study's own folder
        ("out/report", ["report", "--quick"]),  # refused before any study runs
        ("cache/models", ["train", "--quick"]),  # refused before the model is trained, not after
        ("out/train", ["train", "--quick"]),  # the model is cached; its copy cannot be written
    ],
)
def test_a_file_where_an_output_folder_goes_is_a_clear_error(
    blocked, argv, synthetic_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("not a folder")
    code = main(["--quiet", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(tmp_path / blocked) in err or str(tmp_path / blocked.split("/")[0]) in err


def test_the_cache_dir_holds_the_verification_stamps_too(synthetic_data, tmp_path):
    """Issue 27: --cache-dir did not hold all of the cache (stamps went to the home folder)."""
    cache = tmp_path / "elsewhere"
    assert (
        main(
            ["--quiet", "train", "--quick", "--out", str(tmp_path / "o"), "--cache-dir", str(cache)]
        )
        == 0
    )
    assert list((cache / "verified").glob("*.json")) and list((cache / "models").iterdir())
    assert not (tmp_path / "cache" / "verified").exists()  # MNISTLAB_CACHE_DIR's folder unused


API_CALLS = {
    "ModelConfig(hidden_units='128')": (
        lambda m: m.ModelConfig(hidden_units="128"),
        "hidden_units",
    ),
    "ModelConfig(hidden_units=(1.5,))": (
        lambda m: m.ModelConfig(hidden_units=(1.5,)),
        "hidden_units",
    ),
    "ModelConfig(dropout='0.2')": (lambda m: m.ModelConfig(dropout="0.2"), "dropout"),
    "TrainConfig(learning_rate='0.1')": (
        lambda m: m.TrainConfig(learning_rate="0.1"),
        "learning rate",
    ),
    "RunSpec(model={})": (
        lambda m: m.RunSpec("mnist", model={}),
        "model must be a mnistlab.ModelConfig",
    ),
    "train(model='mlp')": (lambda m: m.train("mnist", model="mlp", quick=True), "model must be"),
    "train(training='x')": (
        lambda m: m.train("mnist", training="x", quick=True),
        "training must be",
    ),
    "train(quick='yes')": (lambda m: m.train("mnist", quick="yes"), "quick must be True or False"),
    "run_study(out=3)": (
        lambda m: m.run_study("tutorial", out=3, quick=True),
        "out must be a folder",
    ),
    "load_data(split='val')": (lambda m: m.load_data("mnist", "val"), "split must be one of"),
    "predict_proba(None)": (lambda m: m.predict_proba(None, [[0.0]]), "needs a TrainedModel"),
}
# Issue 48: images the API took silently (NaN probabilities) or that failed inside NumPy.
IMAGE_CALLS = {
    "NaN pixel": (np.full((2, 28, 28), np.nan, np.float32), "must be finite: 2 image"),
    "infinite pixel": (np.where(np.eye(28) > 0, np.inf, 0.0)[None], "must be finite: 1 image"),
    "0-255 bytes": (np.full((1, 28, 28), 255, np.uint8), r"in \[0, 1\].*divide by 255"),
    "one image without N": (np.zeros((28, 28)), r"shape \(N, 28, 28\), got \(28, 28\)"),
    "flattened": (np.zeros((3, 784)), r"shape \(N, 28, 28\)"),
    "text": (np.array([["a"] * 28] * 28)[None], "must be real numbers"),
    "booleans": (np.zeros((1, 28, 28), bool), "must be real numbers"),
    "ragged lists": ([[0.0] * 28, [0.0]], "must be an array"),
}


@pytest.mark.parametrize("case", IMAGE_CALLS)
@pytest.mark.parametrize("keras_model", [False, True])
def test_predict_proba_refuses_images_that_mean_nothing(case, keras_model, trained_data):
    import mnistlab

    images, message = IMAGE_CALLS[case]
    model = mnistlab.train("mnist", quick=True)
    with pytest.raises(ConfigError, match=message):
        mnistlab.predict_proba(model.model if keras_model else model, images)


def test_predict_proba_takes_good_images_of_any_real_dtype(trained_data):
    import mnistlab

    model = mnistlab.train("mnist", quick=True)
    images = mnistlab.load_data("mnist", "test")[0][:4]
    as_float32 = mnistlab.predict_proba(model, images)
    np.testing.assert_array_equal(
        mnistlab.predict_proba(model, images.astype(np.float64)), as_float32
    )
    assert mnistlab.predict_proba(model, np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


@pytest.mark.parametrize("call", API_CALLS)
def test_a_wrong_api_call_is_a_config_error_naming_the_argument(call, synthetic_data):
    """Issue 27: 34 of 102 wrong calls ended in a TypeError, AttributeError or KeyError from
    deep inside, or did something else than asked (hidden_units='128': layers of 1, 2, 8)."""
    import mnistlab

    make, message = API_CALLS[call]
    with pytest.raises(ConfigError, match=message):
        make(mnistlab)


def test_one_value_where_several_are_expected_is_taken_as_one(synthetic_data, tmp_path):
    """run_study("dropout", p=0.2) failed with a TypeError; datasets="mnist" was read letter
    by letter. One value is now a sequence of one."""
    import mnistlab

    result = mnistlab.run_study("dropout", p=0.2, members=4, quick=True, out=tmp_path)
    assert [row["p"] for row in result.results["rows"]] == [0.2]
    assert mnistlab.ModelConfig(hidden_units=64).hidden_units == (64,)


def test_quiet_belongs_to_its_command(synthetic_data, tmp_path):
    from mnistlab import progress

    assert main(["--quiet", "cross", "--quick", "--out", str(tmp_path)]) == 0
    assert not progress._quiet  # a later command or API call in this process is not silenced
