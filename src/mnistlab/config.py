"""Frozen configuration: the model, its training, one trained model (RunSpec), the run profile.

Only cli.py parses flags; everything below receives these objects. Every check of a value
lives here, so the CLI, the API and grid files give the same one-line errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from os import PathLike

from mnistlab.data import DATASETS as _CATALOG
from mnistlab.errors import ConfigError

ARCHITECTURES = ("mlp", "cnn", "lenet5")
# Dense hidden layers when none are given: the tutorial's 128; LeNet-5's own 120 -> 84.
DEFAULT_HIDDEN = {"mlp": (128,), "cnn": (128,), "lenet5": (120, 84)}
ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "elu", "selu", "softplus", "swish", "linear")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DATASETS = tuple(_CATALOG)  # ("mnist", "fashion-mnist"), from the one catalog


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _is_number(value) -> bool:  # not a bool, which Python counts as an int
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value) -> bool:
    return _is_number(value) and isinstance(value, int)


# Ranges that make sense. Upper bounds keep a typo from becoming an allocation error or a
# week-long run: they are far above anything the studies need.
TRAIN_IMAGES = 60_000  # both data sets' training split
MAX_HIDDEN_UNITS = 65_536  # a 784 x 65,536 layer with Adam's state: about 0.8 GB
MAX_EPOCHS = 1000
MAX_MEMBERS = 1_000_000  # streamed, so memory does not grow with it; time does
MEMORY_BUDGET_MIB = 1024  # what an ensemble evaluation may use per call; no result depends on it
MAX_SEEDS = 100  # replicates per study (--seeds)
SEED_LIMIT = 2**32  # NumPy's and JAX's seeds are unsigned 32-bit


def check_fraction(values, name: str = "--p") -> None:
    """Dropout fractions: each in [0, 1) (p = 1 would drop every weight)."""
    for p in values:
        _check(0.0 <= p < 1.0, f"{name} values must be in [0, 1), got {p}")  # NaN fails too


def check_at_least(value, minimum: int, name: str, maximum: int | None = None) -> None:
    """A whole number option in [minimum, maximum] (None: not given, nothing to check)."""
    if value is None:
        return
    _check(
        isinstance(value, int) and not isinstance(value, bool),
        f"{name} must be a whole number, got {value!r}",
    )
    if maximum is None:
        _check(value >= minimum, f"{name} must be >= {minimum}, got {value}")
    else:
        _check(
            minimum <= value <= maximum,
            f"{name} must be between {minimum} and {maximum:,}, got {value:,}",
        )


def check_types(**values) -> None:
    """API keyword arguments: flags are True or False, folders are text or paths (or None)."""
    for name, value in values.items():
        flag = name in ("quick", "retrain", "reuse")
        ok = (
            isinstance(value, bool) if flag else value is None or isinstance(value, (str, PathLike))
        )
        wanted = "True or False" if flag else "a folder (text or a path)"
        _check(ok, f"{name} must be {wanted}, got {value!r}")


def check_seed(seed, name: str = "--seed") -> None:
    check_at_least(seed, 0, name, SEED_LIMIT - 1)


def check_memory_budget(mib, name: str = "--memory-budget") -> None:
    """MiB an ensemble call may use: a finite number, at least 1."""
    _check(
        isinstance(mib, (int, float)) and math.isfinite(mib) and mib >= 1,
        f"{name} is MiB, a number >= 1 (e.g. 1024), got {mib}",
    )


@dataclass(frozen=True)
class ModelConfig:
    """The network. The tutorial model is the default: Flatten -> Dense(128, relu) -> Dense(10).

    arch: "mlp" (the tutorial's), "cnn" (a small CNN) or "lenet5" (see models/networks.py); the dense
    hidden layers follow the convolutions, and default to the architecture's own
    (DEFAULT_HIDDEN) when hidden_units is None.
    """

    arch: str = "mlp"
    hidden_units: tuple[int, ...] | None = None
    activation: str = "relu"
    dropout: float = 0.0  # rate of a Dropout layer after each hidden layer (0 = none)

    def __post_init__(self):
        _check(
            self.arch in ARCHITECTURES,
            f"unknown architecture {self.arch!r}: choose one of {', '.join(ARCHITECTURES)}",
        )
        hidden = DEFAULT_HIDDEN[self.arch] if self.hidden_units is None else self.hidden_units
        hidden = (hidden,) if _whole(hidden) else hidden  # one layer's size
        _check(
            isinstance(hidden, (tuple, list)) and all(_whole(h) for h in hidden),
            f"hidden_units must be a whole number or a sequence of them, e.g. (256, 128), got "
            f"{self.hidden_units!r}",  # '128' made layers of 1, 2 and 8 units
        )
        object.__setattr__(self, "hidden_units", tuple(hidden))
        _check(
            self.activation in ACTIVATIONS,
            f"unknown activation {self.activation!r}: choose one of {', '.join(ACTIVATIONS)}",
        )
        _check(len(self.hidden_units) > 0, "give at least one hidden layer size, e.g. --hidden 128")
        _check(
            all(h >= 1 for h in self.hidden_units),
            f"hidden units must be >= 1, got {list(self.hidden_units)}",
        )
        _check(
            all(h <= MAX_HIDDEN_UNITS for h in self.hidden_units),
            f"hidden units must be at most {MAX_HIDDEN_UNITS:,}, got {list(self.hidden_units)}",
        )
        _check(
            _is_number(self.dropout) and 0.0 <= self.dropout < 1.0,
            f"dropout rate must be a number in [0, 1), got {self.dropout!r}",
        )

    def network(self) -> str:
        """The layers in one line, e.g. 'Flatten -> Dense(128, relu) -> Dense(10)'."""
        dense = " -> ".join(f"Dense({h}, {self.activation})" for h in self.hidden_units)
        head = {
            "mlp": "Flatten",
            "cnn": f"small CNN: conv 32@3x3 ({self.activation}) -> max pool -> conv 64@3x3 -> "
            "max pool -> Flatten",
            "lenet5": f"LeNet-5: conv 6@5x5 'same' ({self.activation}) -> max pool -> "
            "conv 16@5x5 -> max pool -> Flatten",
        }[self.arch]
        dropout = f" (dropout {self.dropout:g})" if self.dropout else ""
        return f"{head} -> {dense}{dropout} -> Dense(10)"


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. Defaults are the Keras tutorial's: Adam, lr 1e-3, 10 epochs, batch 32."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    epochs: int = 10
    batch_size: int = 32
    train_size: int | None = None  # use only the first N training images (None = all)
    validation_size: int = 0  # hold out the last N training images (never trained on)
    # Train (and hold out, and test) on these classes only: the open-set protocol's models
    # (digits 0-4; the rest are out of distribution). None: all ten.
    classes: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.classes is not None:
            _check(
                isinstance(self.classes, (tuple, list))
                and len(set(self.classes)) == len(self.classes) >= 2
                and all(isinstance(c, int) and 0 <= c < 10 for c in self.classes),
                f"classes must be at least two distinct class numbers 0-9, got {self.classes!r}",
            )
            object.__setattr__(self, "classes", tuple(sorted(self.classes)))
        _check(
            self.optimizer in OPTIMIZERS,
            f"unknown optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}",
        )
        _check(
            _is_number(self.learning_rate)
            and math.isfinite(self.learning_rate)
            and self.learning_rate > 0,
            f"learning rate must be a finite number > 0, got {self.learning_rate!r}",
        )
        check_at_least(self.epochs, 1, "epochs", MAX_EPOCHS)
        check_at_least(self.batch_size, 1, "batch size", TRAIN_IMAGES)
        check_at_least(self.train_size, 1, "train size", TRAIN_IMAGES)
        check_at_least(self.validation_size, 0, "validation size", TRAIN_IMAGES - 1)
        images = self.train_size or TRAIN_IMAGES
        _check(
            self.validation_size < images,
            f"validation size {self.validation_size} leaves no training images out of {images}",
        )
        _check(
            self.batch_size <= images - self.validation_size,
            f"batch size {self.batch_size} is larger than the {images - self.validation_size} "
            "training images: choose a smaller --batch-size",
        )


@dataclass(frozen=True)
class RunSpec:
    """One trained model: what, on which data, with which seed. Its key names the cache entry."""

    dataset: str
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0

    def __post_init__(self):
        _check(
            self.dataset in DATASETS,
            f"unknown dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}",
        )
        check_seed(self.seed, "seed")
        for name, kind in (("model", ModelConfig), ("train", TrainConfig)):
            value = getattr(self, name)
            _check(
                isinstance(value, kind),
                f"{name} must be a mnistlab.{kind.__name__}, got {type(value).__name__}",
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self) -> dict:
        """What makes this model this model: to_dict() without fields left at a default that
        older cache entries predate (classes=None), so their keys and records still match."""
        spec = self.to_dict()
        if spec["train"]["classes"] is None:
            del spec["train"]["classes"]
        return spec

    def cache_key(self, data_checksum: str) -> str:
        payload = {"spec": self.identity(), "data": data_checksum, "format": 1}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]

    def describe(self) -> str:
        m, t = self.model, self.train
        hidden = ",".join(map(str, m.hidden_units))
        text = f"{self.dataset} {m.arch} hidden={hidden} {m.activation} {t.optimizer} lr={t.learning_rate:g}"
        if m.dropout:
            text += f" dropout={m.dropout:g}"
        if t.classes is not None:
            text += " classes=" + ",".join(map(str, t.classes))
        return text + f" epochs={t.epochs} seed={self.seed}"


@dataclass(frozen=True)
class Profile:
    """How big a run is. FULL is the exercise; QUICK (--quick) is a smoke run of seconds.

    The one place quick mode is decided: studies read their sizes from the context's profile.
    """

    train_size: int | None = None  # cap on training images (None: the spec's own)
    epochs: int | None = None  # epochs for every model (None: the spec's own)
    test_size: int | None = None  # first N test images (None: all 10,000)
    members: int = 100  # weight / MC dropout members
    ensemble_size: int = 5  # deep ensemble size M
    bootstrap: int = 1000  # bootstrap resamples for intervals
    validation_size: int = 5000  # held out from training, for temperature scaling
    shift_images: int = 300  # test images per shift level, and letters (shift study)

    def apply(self, train: TrainConfig) -> TrainConfig:
        """The training config under this profile (validated before, so bad values never pass)."""
        changes = {}
        if self.train_size is not None:
            changes["train_size"] = min(train.train_size or self.train_size, self.train_size)
        if self.epochs is not None:
            changes["epochs"] = self.epochs
        return dataclasses.replace(train, **changes) if changes else train


FULL = Profile()
QUICK = Profile(
    train_size=2000,
    epochs=1,
    test_size=1000,
    members=10,
    ensemble_size=2,
    bootstrap=100,
    validation_size=200,
    shift_images=100,
)


def profile(quick: bool) -> Profile:
    return QUICK if quick else FULL
