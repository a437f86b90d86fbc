"""The public Python API: the same numbers as the CLI, results that display in a notebook,
clear errors, and the Keras backend check."""

import json
import os
import subprocess
import sys
from pathlib import Path

import float32
import numpy as np
import pytest
from conftest import share_folder

import mnistlab
from mnistlab.cli import main
from mnistlab.studies.registry import STUDIES

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "mnistlab" / "examples"


def test_public_names_have_docstrings():
    for name in mnistlab.__all__:
        if name != "__version__":
            assert getattr(mnistlab, name).__doc__, name


def test_train_is_the_cli_model(trained_data, tmp_path):
    model = mnistlab.train("mnist", quick=True)
    assert main(["--quiet", "train", "--dataset", "mnist", "--quick", "--out", str(tmp_path)]) == 0
    (folder,) = (tmp_path / "train").iterdir()
    cli = json.loads((folder / "results.json").read_text())
    assert cli["test/acc"] == model.meta["test/acc"]
    assert cli["config"] == json.loads(json.dumps(model.spec.identity()))
    images = mnistlab.load_data("mnist", "test")[0][:5]
    probabilities = mnistlab.predict_proba(model, images)  # NumPy's forward pass, as the studies
    assert probabilities.shape == (5, 10)
    by_keras = mnistlab.predict_proba(model.model, images)  # a keras.Model: Keras' predict
    # NumPy's BLAS against XLA's kernels: the logits within float32's bound (tests/float32.py),
    # softmax moves no probability by more than half its largest logit change, and each is
    # rounded to float32 once more (u = 6e-8).
    bound = float32.relu_mlp_bound(model.model.get_weights(), images)
    float32.assert_within(probabilities, by_keras, 0.5 * bound.max(axis=1, keepdims=True) + 6e-8)
    apart = float32.separated(np.log(by_keras), bound)  # log p: the logits less a constant
    assert np.array_equal(probabilities.argmax(axis=1)[apart], by_keras.argmax(axis=1)[apart])


def test_run_study_equals_the_cli(trained_data, tmp_path):
    result = mnistlab.run_study(
        "dropout", quick=True, out=tmp_path / "api", p=(0.0, 0.5), members=3
    )
    argv = ["--quiet", "dropout", "--quick", "--p", "0,0.5", "--members", "3"]
    assert main([*argv, "--out", str(tmp_path / "cli")]) == 0
    cli = json.loads((tmp_path / "cli" / "dropout" / "results.json").read_text())
    assert cli["rows"] == result.results["rows"]
    assert result.summary == cli["summary"]


def test_study_result_shows_in_a_notebook(trained_data, tmp_path):
    import matplotlib.figure

    result = mnistlab.run_study("confidence", quick=True, out=tmp_path)
    (figure,) = result.figures.values()
    assert isinstance(figure, matplotlib.figure.Figure)
    html = result._repr_html_()
    assert '<section id="confidence">' in html and "data:image/png;base64," in html
    again = mnistlab.run_study("confidence", quick=True, out=tmp_path, reuse=True)
    assert again.results["reused"] and again.results["datasets"] == result.results["datasets"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mnistlab.run_study("nope"), "unknown study 'nope'"),
        (lambda: mnistlab.run_study("dropout", q=0.1), "has no option q"),
        (lambda: mnistlab.run_study("dropout", p=(1.5,)), "--p values must be in [0, 1)"),
        (lambda: mnistlab.train("letters"), "unknown dataset 'letters'"),
    ],
)
def test_bad_values_raise_config_error(call, message):
    with pytest.raises(mnistlab.ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        call()


def test_write_report(trained_data, copy_of_finished_report):
    """The API's write_report is the command's: into the folder of a finished `report --quick
    --seeds 1` (the test run's shared one, copied), it reuses every study and writes the report."""
    out = copy_of_finished_report
    (out / "report" / "index.html").unlink()
    folder = mnistlab.write_report(quick=True, seeds=1, out=out)
    assert (folder / "index.html").is_file() and folder == out / "report"
    markdown = (folder / "report.md").read_text()
    assert "| reused | " + ", ".join(s.name for s in STUDIES) in markdown


def _import_in_subprocess(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def _in_home(home, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(home)},
        timeout=120,
    )


def test_plain_import_keras_works_after_mnistlab_in_a_fresh_home(tmp_path):
    """Keras writes ~/.keras/keras.json naming TensorFlow on its first import; mnistlab gives it
    one naming JAX instead (and repairs the one Keras wrote when TensorFlow is not installed),
    so `import keras` works before or after mnistlab. A keras.json of the user's is left alone."""
    config = tmp_path / ".keras" / "keras.json"
    assert _in_home(tmp_path, "import mnistlab").returncode == 0
    assert json.loads(config.read_text())["backend"] == "jax"
    from mnistlab.runs import current_umask

    assert config.stat().st_mode & 0o777 == 0o666 & ~current_umask()  # as Keras would write it
    done = _in_home(tmp_path, "import keras; print(keras.backend.backend())")
    assert done.returncode == 0 and done.stdout.strip() == "jax", done.stderr[-300:]
    assert _in_home(tmp_path, "import keras, mnistlab").returncode == 0

    keras_default = {
        "floatx": "float32",
        "epsilon": 1e-07,
        "backend": "tensorflow",
        "image_data_format": "channels_last",
    }
    config.write_text(json.dumps(keras_default))  # what a first plain `import keras` writes
    assert _in_home(tmp_path, "import mnistlab").returncode == 0
    assert json.loads(config.read_text())["backend"] == "jax"

    config.write_text('{"backend": "torch", "floatx": "float16"}')  # the user's own choice
    assert _in_home(tmp_path, "import mnistlab").returncode == 0
    assert json.loads(config.read_text()) == {"backend": "torch", "floatx": "float16"}


def test_keras_imported_first_with_another_backend_is_one_clear_line():
    # A stand-in for Keras already imported on the TensorFlow backend (TensorFlow is not
    # installed here, and need not be to check the message).
    fake = (
        "import sys, types\n"
        "keras = types.ModuleType('keras'); keras.backend = types.SimpleNamespace(backend=lambda: 'tensorflow')\n"
        "sys.modules['keras'] = keras\n"
        "import mnistlab\n"
    )
    done = _import_in_subprocess(fake)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "keras was imported before mnistlab with the 'tensorflow' backend" in last
    assert "import mnistlab before keras" in last


def test_keras_imported_first_with_jax_is_fine():
    done = _import_in_subprocess(
        "import os; os.environ['KERAS_BACKEND'] = 'jax'\nimport keras, mnistlab\n"
        "print(keras.backend.backend())"
    )
    assert done.returncode == 0 and done.stdout.strip() == "jax"


@pytest.mark.slow
def test_notebook_runs_on_the_quick_profile(
    real_data_dir, real_cache_dir, real_report_folder, tmp_path, monkeypatch
):
    """The example notebook (mnistlab/examples/exercise.ipynb), executed cell by cell in a real Jupyter kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "exercise.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    monkeypatch.setenv("MNISTLAB_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MNISTLAB_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(real_cache_dir))
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    # Progress renders as HTML bars and plain status lines: nothing on stderr, which Jupyter
    # shows as an error-coloured block.
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], [
        o.text[:200] for o in outputs if o.output_type == "stream" and o.name == "stderr"
    ]
    bars = [o for o in outputs if "<progress" in o.get("data", {}).get("text/html", "")]
    assert bars, "no progress bar was shown"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    sections = [o for o in outputs if '<section id="' in o.get("data", {}).get("text/html", "")]
    assert images, "the histogram cell shows no inline figure"
    assert len(sections) >= 6, "study results do not display as report sections"
    assert (tmp_path / "out" / "report" / "index.html").is_file()
    share_folder(tmp_path / "out", real_report_folder)  # test_quick_report_on_real_data's start
