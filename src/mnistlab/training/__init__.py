"""Training: the scanned fast path, the `fit` reference, many models at once, the model cache."""

from mnistlab.training.cache import (
    TrainedModel,
    cache_folder,
    export,
    is_cached,
    resolve_cache_dir,
)
from mnistlab.training.fast import fit_fast
from mnistlab.training.job import training_arrays
from mnistlab.training.many import (
    default_workers,
    run_in_threads,
    train,
    train_many,
)
from mnistlab.training.reference import accuracy_of, fit_keras

__all__ = [
    "TrainedModel",
    "accuracy_of",
    "cache_folder",
    "default_workers",
    "export",
    "fit_fast",
    "fit_keras",
    "is_cached",
    "resolve_cache_dir",
    "run_in_threads",
    "train",
    "train_many",
    "training_arrays",
]
