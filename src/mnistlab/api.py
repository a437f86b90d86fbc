"""The Python API, for notebooks and scripts: train a model, run a study, write the report.

Everything the command line does, with the same defaults, files and numbers:

>>> import mnistlab
>>> model = mnistlab.train("mnist", quick=True)           # or loaded from the model cache
>>> model.meta["test/acc"] > 0.1                           # better than chance
True
>>> result = mnistlab.run_study("confidence", quick=True)  # a StudyResult, in mnistlab-out/
>>> [line.split(":")[0] for line in result.summary]        # the lines the CLI prints
['fashion-mnist', 'mnist']
>>> result                                                 # doctest: +SKIP
>>> mnistlab.write_report(quick=True)                      # doctest: +SKIP
PosixPath('mnistlab-out/report')

`result`, shown in a notebook, is the study's section of the report: text, tables, figures.
The tests run these examples (tests/test_docstring_examples.py), the report's last line aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mnistlab import settings
from mnistlab.config import ModelConfig, RunSpec, TrainConfig, profile
from mnistlab.errors import ConfigError

TRAIN_SETTINGS = ("seed", "quick", "data_dir", "cache_dir", "retrain", "executor", "ray_address")


@settings.api(only=TRAIN_SETTINGS)
def train(
    dataset: str = "fashion-mnist",
    *,
    model: ModelConfig | None = None,
    training: TrainConfig | None = None,
    settings: dict,
):
    """Train one model (or load it from the cache when the same thing was trained before).

    dataset: "fashion-mnist" or "mnist". model / training: a ModelConfig / TrainConfig
    (default: the Keras tutorial, Flatten -> Dense(128, relu) -> Dense(10), Adam 1e-3,
    10 epochs, batch 32). quick: 2,000 images and 1 epoch. Returns a TrainedModel:
    `.model` (a keras.Model giving logits for images of shape (N, 28, 28) in [0, 1]),
    `.meta` (train/acc, test/acc, per-epoch history, timings, versions, data checksums),
    `.spec`, `.path` (its cache folder). executor="ray" trains it as a Ray task (on the
    cluster at ray_address, default a local instance; needs `pip install 'mnistlab[ray]'`).

    >>> m = mnistlab.train("mnist", model=mnistlab.ModelConfig(activation="sigmoid"), quick=True)
    >>> m.spec.model.activation, m.meta["test/acc"] > 0.1
    ('sigmoid', True)
    """
    from mnistlab import settings as run_settings
    from mnistlab.training import train as train_spec

    run_settings.check(settings, run_settings.keyword)
    if training is not None and not isinstance(training, TrainConfig):
        raise ConfigError(f"training must be a mnistlab.TrainConfig, got {type(training).__name__}")
    spec = RunSpec(
        dataset=dataset,
        model=model or ModelConfig(),
        train=profile(settings.pop("quick")).apply(training or TrainConfig()),
        seed=settings.pop("seed"),
    )
    return train_spec(spec, **settings)


@dataclass
class StudyResult:
    """What a study computed: `results` (the dict saved as results.json), `summary` (the lines
    the CLI prints), `figures` (file name -> matplotlib Figure), `sections` (its part of the
    report). In a notebook the result displays as its report section: text, tables, figures.
    """

    name: str
    results: dict
    folder: Path
    _sections: list | None = field(default=None, repr=False)

    @property
    def summary(self) -> list[str]:
        return list(self.results["summary"])

    @property
    def figures(self) -> dict:
        """The study's figures as matplotlib Figures (drawn from the saved PNGs, so a reused
        result shows the same pictures)."""
        return {name: _figure_from_png(self.folder / name) for name in self.results["figures"]}

    @property
    def sections(self) -> list:
        if self._sections is None:
            from mnistlab.studies.registry import get

            self._sections = get(self.name).sections(self.results, self.folder)
        return self._sections

    def _repr_html_(self) -> str:
        from mnistlab.report.render import html_section

        return "\n".join(html_section(s) for s in self.sections)


def _figure_from_png(path: Path):
    import matplotlib.image
    import matplotlib.pyplot as plt

    pixels = matplotlib.image.imread(path)
    dpi = 110  # the dpi the studies save at: the figure shows at its saved size
    fig = plt.figure(figsize=(pixels.shape[1] / dpi, pixels.shape[0] / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(pixels)
    ax.set_axis_off()
    plt.close(fig)  # shown when displayed, not again at the end of the cell
    return fig


def register_method(method, *, replace_existing: bool = False):
    """Add an uncertainty method to every study that evaluates methods (scoreboard, shift,
    conformal) and to the report, for this Python process: a notebook's own method.

    method: a mnistlab.Method (key, display name, outputs function, kind, ...; see the README,
    "Add a method"). A key already registered is a ConfigError unless replace_existing=True.
    An installed package adds methods for every process, the CLI included, with an entry
    point in the group "mnistlab.methods". Returns the method.
    """
    from mnistlab.uncertainty import register_method as register

    return register(method, replace_existing=replace_existing)


def list_methods(p=(0.01, 0.03, 0.2, 0.6)) -> list[dict]:
    """Every registered method (one per weight-dropout fraction in p): key, name, kind, ..."""
    from mnistlab.uncertainty import MC_DROPOUT_RATE, registered
    from mnistlab.uncertainty.registry import expand

    sizes = {"members": "K", "ensemble_size": "M", "rate": MC_DROPOUT_RATE}
    return [{**m.describe(), "roles": list(m.roles)} for m in expand(registered(), sizes, tuple(p))]


def list_studies() -> list[str]:
    """The names of every study, in the order of the exercise."""
    from mnistlab.studies.registry import names

    return names()


@settings.api()
def run_study(name: str, *, reuse: bool = False, settings: dict, **options) -> StudyResult:
    """Run one study, as `mnistlab NAME` does, and return its StudyResult.

    name: one of studies(). options: the study's own options by field name (for example
    run_study("dropout", p=(0.2,), members=50) or run_study("morph", pairs=[(3, 4)])); a
    wrong name or value raises mnistlab.ConfigError naming it. seeds=N trains every model with
    seeds seed..seed+N-1 and reports each number as mean ± std (seed's own run stays shown).
    reuse=True returns the saved results when they were made from the same inputs. Files go
    to OUT/NAME/. executor="ray" trains the models as Ray tasks (see train()). arch: the
    network every model of the study is ("mlp", the tutorial's; "cnn"; "lenet5").

    >>> r = mnistlab.run_study("cross", quick=True)
    >>> 0 <= r.results["directions"]["mnist->fashion-mnist"]["cls/acc"] <= 1
    True
    >>> s = mnistlab.run_study("scoreboard", quick=True, methods=("temperature", "ensemble"))
    >>> [row["key"] for row in s.results["datasets"]["mnist"]["rows"]]
    ['msp', 'temperature', 'ensemble']
    """
    from mnistlab.runs import to_jsonable
    from mnistlab.studies.framework.context import StudyContext
    from mnistlab.studies.registry import get

    study = get(name)
    study_options = study.make_options(**options)
    ctx = StudyContext.checked(**settings, reuse=reuse)

    # As results.json holds it, so a fresh result and a reused one look the same.
    results = to_jsonable(study.run(ctx, study_options))
    return StudyResult(name, results, ctx.out / name)


@settings.api(seeds=3)
def write_report(*, settings: dict) -> Path:
    """Run (or reuse) every study and write the lab report, as `mnistlab report` does.

    Returns the report folder, OUT/report/, holding index.html (self-contained), report.md
    with figures/, and results.json. Studies already run with the same inputs are reused.
    seeds: replicates behind every number (default 3, as the command); seeds=1 is the
    exercise's single run, about a third of the time cold.
    arch: the network of every study ("mlp", "cnn" or "lenet5"; default: the tutorial's mlp).
    """
    from mnistlab import pipeline
    from mnistlab.studies.framework.context import StudyContext

    ctx = StudyContext.checked(**settings, reuse=True)
    return pipeline.run(ctx)["folder"]


def load_data(dataset: str, split: str = "test", *, data_dir=None, quick: bool = False):
    """(images, labels) of a split: float32 (N, 28, 28) in [0, 1] and int32 (N,), verified
    (downloaded first where missing). quick: the first 1,000 test images, as studies use."""
    from mnistlab.data import load_split

    images, labels = load_split(dataset, split, data_dir)
    size = profile(quick).test_size if split == "test" else None
    return (images[:size], labels[:size]) if size is not None else (images, labels)


def predict_proba(trained, images):
    """Class probabilities (N, 10) of a trained model (a TrainedModel or keras.Model). A
    TrainedModel MLP's come from the NumPy forward pass on its weights, as in the studies
    (the same numbers as theirs; no Keras for a cached one); a keras.Model's from Keras.
    images: (N, 28, 28) pixels in [0, 1]; anything else (another shape, NaN or infinite
    pixels, 0-255 bytes, text) is a ConfigError naming what is wrong."""
    from mnistlab.models.predict import checked_images, trained_proba
    from mnistlab.models.predict import predict_proba as predict
    from mnistlab.training import TrainedModel

    if not isinstance(trained, TrainedModel) and not callable(getattr(trained, "predict", None)):
        raise ConfigError(
            f"predict_proba needs a TrainedModel or a keras.Model, got {type(trained).__name__}"
        )
    images = checked_images(images)  # float32 (N, 28, 28), finite, in [0, 1]
    return (trained_proba if isinstance(trained, TrainedModel) else predict)(trained, images)
