"""mnistlab: train MNIST / Fashion-MNIST classifiers and measure when their answers can be trusted.

The public API (see each function's docstring):

- ``train(dataset, *, model, training, seed, quick)``: one model, trained or from the cache;
- ``run_study(name, *, seed, quick, **options)``: one study; returns a StudyResult that a
  notebook shows as text, tables and figures;
- ``write_report(*, seed, quick)``: every study, then the lab report (HTML and Markdown);
- ``register_method(Method(...))``, ``list_methods()``: add an uncertainty method to the
  scoreboard, shift and conformal studies and the report (``Method``, ``PROBABILITIES``,
  ``VOTE_SHARES``, ``SCORE``: what a method is);
- ``list_studies()``, ``load_data(dataset, split)``, ``predict_proba(model, images)``;
- ``ModelConfig``, ``TrainConfig``, ``RunSpec``: the frozen configuration objects;
- ``UserError`` / ``ConfigError`` / ``DataError``: what bad input raises.

Import mnistlab before keras: it selects Keras' JAX backend unless KERAS_BACKEND is set.
"""

import os
import sys

if sys.argv[:1] == ["-m"] or os.path.basename(sys.argv[0] if sys.argv else "") == "mnistlab":
    # The mnistlab command (or python -m mnistlab): from here on, Ctrl-C is recorded rather
    # than raised mid-import, and the command exits 130 (interrupt.py).
    from mnistlab import interrupt

    interrupt.at_startup()

from mnistlab.version import __version__  # noqa: E402


def _choose_keras_backend() -> None:
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


_choose_keras_backend()

from mnistlab.api import (  # noqa: E402  (after the backend is chosen)
    StudyResult,
    list_methods,
    list_studies,
    load_data,
    predict_proba,
    register_method,
    run_study,
    train,
    write_report,
)
from mnistlab.config import ModelConfig, RunSpec, TrainConfig  # noqa: E402
from mnistlab.errors import ConfigError, DataError, UserError  # noqa: E402
from mnistlab.uncertainty.method import (  # noqa: E402
    PROBABILITIES,
    SCORE,
    VOTE_SHARES,
    Method,
)

__all__ = [
    "PROBABILITIES",
    "SCORE",
    "VOTE_SHARES",
    "Method",
    "register_method",
    "list_methods",
    "ConfigError",
    "DataError",
    "ModelConfig",
    "RunSpec",
    "StudyResult",
    "TrainConfig",
    "UserError",
    "__version__",
    "load_data",
    "predict_proba",
    "run_study",
    "list_studies",
    "train",
    "write_report",
]
