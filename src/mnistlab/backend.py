"""Keras' backend, chosen before anything imports Keras: JAX, unless KERAS_BACKEND names another.

A leaf: it imports nothing of mnistlab, so the package's __init__ and the Ray workers' modules
can import it first without pulling the rest of the package in.
"""

import os
import sys


def choose_keras_backend() -> None:
    """Use JAX unless the user chose a Keras backend with KERAS_BACKEND.

    ~/.keras/keras.json is not taken as a choice: Keras writes it with its own default
    (tensorflow) on first import. This must run before anything imports Keras; if Keras was
    imported first with another backend, say so in one line with the fix.
    """
    wanted = os.environ.get("KERAS_BACKEND") or "jax"
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            active = keras.backend.backend()
        except AttributeError:  # a half-imported or stand-in keras module
            active = None
        if active is not None and active != wanted:
            raise ImportError(
                f"keras was imported before mnistlab with the {active!r} backend, but mnistlab "
                f"uses {wanted!r}: restart Python and import mnistlab before keras (or set "
                f"KERAS_BACKEND={active} to use {active!r})"
            )
    os.environ.setdefault("KERAS_BACKEND", "jax")
    if keras is None and wanted == "jax":
        _write_keras_config(wanted)


KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "image_data_format": "channels_last"}


def _write_keras_config(backend: str) -> None:
    """Give Keras a keras.json naming `backend`, where it has none yet, or where it has the
    one Keras writes by itself on first import: its defaults naming "tensorflow" while
    TensorFlow is not installed, which makes every later plain `import keras` fail. Any
    other keras.json is the user's choice and left alone; a home that cannot be written is
    skipped, as Keras skips it."""
    import importlib.util
    import json

    home = os.path.expanduser("~")
    folder = os.environ.get("KERAS_HOME") or os.path.join(
        home if os.access(home, os.W_OK) else "/tmp", ".keras"
    )
    path = os.path.join(folder, "keras.json")
    if os.path.exists(path):
        try:
            with open(path) as handle:
                found = json.load(handle)
        except (OSError, ValueError):
            return  # not ours to judge
        written_by_keras = found == {**KERAS_DEFAULTS, "backend": "tensorflow"}
        if not written_by_keras or importlib.util.find_spec("tensorflow") is not None:
            return
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(temporary, "w") as handle:
            json.dump({**KERAS_DEFAULTS, "backend": backend}, handle, indent=4)
        os.replace(temporary, path)  # whole or not at all
    except OSError:
        if os.path.exists(temporary):
            os.unlink(temporary)


choose_keras_backend()
