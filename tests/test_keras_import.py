"""The `mnistlab` command imports Keras without scikit-learn; everyone else still gets it."""

import subprocess
import sys

import pytest

pytest.importorskip("sklearn")  # installed with the dev tools: what the finder must skip

PROBE = """
import sys
from mnistlab.keras_import import skip_scikit_learn_for_keras
if sys.argv[1] == "skip":
    skip_scikit_learn_for_keras()
    skip_scikit_learn_for_keras()  # once is enough: no second finder
import keras
print("sklearn" in sys.modules)
import sklearn.base  # anyone but Keras still imports it
print(sum(type(f).__name__ == "KerasWithoutScikitLearn" for f in sys.meta_path))
print(keras.layers.Dense(3)(keras.ops.ones((1, 2))).shape)
"""


def probe(mode: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return done.stdout.split("\n")[:3]


def test_keras_is_imported_without_scikit_learn_in_the_command():
    assert probe("skip") == ["False", "1", "(1, 3)"]


def test_without_the_finder_keras_imports_scikit_learn():
    """The control: what the finder removes is really there (else the test above proves nothing)."""
    assert probe("plain") == ["True", "0", "(1, 3)"]


def test_only_keras_own_imports_are_refused():
    """The importer decides, not who is further up the stack: code that Keras calls (a user's
    callback) still imports scikit-learn."""
    from mnistlab.keras_import import KerasWithoutScikitLearn

    finder, keras_module = KerasWithoutScikitLearn(), {"__name__": "keras.src.fake"}
    exec("def ask(finder): return finder.find_spec('sklearn')", keras_module)
    exec("def call(function): return function()", keras_module)
    with pytest.raises(ImportError):
        keras_module["ask"](finder)  # Keras' own import
    assert keras_module["call"](lambda: finder.find_spec("sklearn")) is None  # a callback's
    assert finder.find_spec("numpy") is None


def test_the_command_installs_the_finder(monkeypatch):
    from mnistlab import cli

    installed = []
    monkeypatch.setattr(cli, "skip_scikit_learn_for_keras", lambda: installed.append(True))
    monkeypatch.setattr(cli, "main", lambda: 0)
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == 0 and installed == [True]
