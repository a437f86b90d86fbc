"""The package's small foundations: its version, the backend it chooses, `python -m mnistlab`,
the examples it ships, and the parsers of the flags' text."""

import importlib.metadata
import subprocess
import sys
from importlib import resources

import keras
import pytest

import mnistlab.examples
from mnistlab import backend, version
from mnistlab.commands import EXAMPLE_FILES
from mnistlab.errors import ConfigError
from mnistlab.parse import parse_floats, parse_hidden


def test_the_version_is_the_installed_distributions():
    assert version.__version__ == importlib.metadata.version("mnistlab")


def test_the_backend_is_jax_and_choosing_it_again_changes_nothing(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    backend.choose_keras_backend()  # Keras is imported already, with JAX: no error
    assert keras.backend.backend() == "jax"


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "mnistlab", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == f"mnistlab {version.__version__}"


def test_the_package_ships_the_examples_it_copies():
    shipped = resources.files(mnistlab.examples)
    for name in EXAMPLE_FILES:
        assert shipped.joinpath(name).read_bytes()


def test_flag_text_parses_to_values_or_a_one_line_error():
    assert parse_floats("0.01, 0.2") == (0.01, 0.2)
    assert parse_hidden("256,128") == (256, 128)
    for bad in ("", "0.1,x"):
        with pytest.raises(ConfigError, match="--p"):
            parse_floats(bad)
    with pytest.raises(ConfigError):
        parse_hidden("12a")
