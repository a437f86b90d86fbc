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

from mnistlab.version import __version__


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
