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
- ``UserError`` / ``ConfigError`` / ``DataError``: what bad input raises;
- ``current_session()``, ``clear_session()``: what this process keeps between calls (loaded
  models, method outputs, fits, compiled functions, counters), and freeing all of it.

Import mnistlab before keras: it selects Keras' JAX backend unless KERAS_BACKEND is set.
"""

import os
import sys

if sys.argv[:1] == ["-m"] or os.path.basename(sys.argv[0] if sys.argv else "") == "mnistlab":
    # The mnistlab command (or python -m mnistlab): from here on, Ctrl-C is recorded rather
    # than raised mid-import, and the command exits 130 (interrupt.py).
    from mnistlab import interrupt

    interrupt.at_startup()

from mnistlab import backend  # noqa: E402, F401  (chooses the backend: before anything imports Keras)
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
from mnistlab.session import clear as clear_session  # noqa: E402
from mnistlab.session import current as current_session  # noqa: E402
from mnistlab.uncertainty import (  # noqa: E402
    PROBABILITIES,
    SCORE,
    VOTE_SHARES,
    Method,
)
from mnistlab.version import __version__  # noqa: E402

__all__ = [
    "PROBABILITIES",
    "SCORE",
    "VOTE_SHARES",
    "Method",
    "register_method",
    "clear_session",
    "current_session",
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
