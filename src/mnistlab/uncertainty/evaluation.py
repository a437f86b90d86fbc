"""One seed replicate's evaluation: its trained models by role, the sets of images the methods
run on, and what the methods share (the base model's logits, the temperature and Laplace
posterior fitted on the held-out split, ensemble member summaries), each computed once.

Method outputs are also kept for the session (output_store.outputs()), keyed by the replicate's models,
the method, what it was fitted on and the images themselves: the shift and conformal studies
reuse what the scoreboard computed on the same models and images instead of running 100
weight-dropout members again. Every built-in method's outputs on an image depend on nothing
else in the batch, except MC dropout's (its per-image seeds follow the image's position),
whose outputs are reused only at the same position.
"""

from __future__ import annotations

import copy

import numpy as np

from mnistlab import progress, session
from mnistlab.models.predict import penultimate_features, predict_logits, softmax
from mnistlab.uncertainty import tuning
from mnistlab.uncertainty.calibration import TemperatureScaler
from mnistlab.uncertainty.laplace import LastLayerLaplace
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.method import BASE, ENSEMBLE, MC_DROPOUT, Method, MethodOutput
from mnistlab.uncertainty.method_outputs import method_outputs
from mnistlab.uncertainty.output_store import OutputStore, fingerprint, outputs
from mnistlab.uncertainty.remote_members import members_on_ray
from mnistlab.uncertainty.weight_dropout import ensemble_logits

# The training split's features and what is fitted on them (Laplace's curvature, the
# detectors' fits), by base model: the studies share them. About 50 MB each; oldest go first.
MAX_TRAINING = 8


class Evaluation:
    """The methods' common inputs for one seed replicate.

    models: {BASE: TrainedModel, MC_DROPOUT: TrainedModel, ENSEMBLE: [TrainedModel, ...]}
    (those the chosen methods need; the ensemble's first member is the base model).
    sets: {name: images (N, 28, 28)}; validation: (images, labels) held out from training,
    what fitted methods may see; train_images (and train_labels): for Laplace's curvature and
    the feature-space detectors; seed: the member
    streams of weight and MC dropout; members: K."""

    def __init__(
        self,
        models: dict,
        sets: dict,
        *,
        validation: tuple,
        train_images: np.ndarray,
        train_labels: np.ndarray | None = None,
        seed: int,
        members: int,
        memory_budget: int,
        label: str = "",
        store: OutputStore | None = None,
        executor: str = "local",
        ray_address: str | None = None,
    ):
        self.models, self.sets = models, sets
        self.validation, self.train_images = validation, train_images
        self.train_labels = train_labels
        self.seed, self.members, self.memory_budget = seed, members, memory_budget
        self.label, self.store = label, outputs() if store is None else store
        self.executor, self.ray_address = executor, ray_address  # ray: remote_outputs.py
        self._memo: dict = {}
        self._root = self
        self.computed = self.reused = 0  # (method, set) pairs computed here / from the store
        self.offsets = dict(zip(sets, np.cumsum([0, *map(len, sets.values())]), strict=False))

    # -- the inputs methods use -------------------------------------------------------------
    def model(self, role: str = BASE):
        """The keras model of a role (ENSEMBLE: the list of members' models)."""
        trained = self.models[role]
        return [m.model for m in trained] if role == ENSEMBLE else trained.model

    def once(self, key, compute, *, shared: bool = False):
        """compute() once per view (or once per replicate when shared: fits, not outputs)."""
        memo = self._root._memo if shared else self._memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def logits(self) -> dict:
        """The base model's logits on every set."""
        base = self.model(BASE)
        return self.once(
            "logits", lambda: {k: predict_logits(base, v) for k, v in self.sets.items()}
        )

    def probabilities(self) -> dict:
        return self.once("softmax", lambda: {k: softmax(v) for k, v in self.logits().items()})

    def temperature(self) -> float:
        """T fitted by NLL on the held-out images (never on the evaluated sets)."""
        x_val, y_val = self.validation

        def fit():
            return (
                TemperatureScaler().fit(predict_logits(self.model(BASE), x_val), y_val).temperature_
            )

        return self.once("temperature", fit, shared=True)

    def laplace(self) -> LastLayerLaplace:
        """The last layer's Laplace posterior: curvature from the training images, prior
        precision by NLL on the held-out images."""
        return self.once("laplace", self._fit_laplace, shared=True)

    def _fit_laplace(self) -> LastLayerLaplace:
        model, (x_val, y_val) = self.model(BASE), self.validation
        kernel, bias = model.layers[-1].get_weights()
        curvature = self.training_fit(
            "laplace curvature", lambda features, _: LastLayerLaplace().fit(features, kernel, bias)
        )
        laplace = copy.copy(curvature)  # the prior is per fit; the curvature is shared
        validation = penultimate_features(model, {" validation": x_val})[" validation"]
        return laplace.fit_prior(validation, y_val)

    def laplace_probabilities(self) -> dict:
        laplace = self.laplace()
        return {k: laplace.predict_proba(v).astype(np.float32) for k, v in self.features().items()}

    def features(self) -> dict:
        """The base model's penultimate features on every set (what its output layer sees)."""
        return self.once("features", lambda: penultimate_features(self.model(BASE), self.sets))

    def training_fit(self, name: str, fit):
        """fit(features, labels) of the training split's penultimate features: what the
        feature-space detectors and Laplace's curvature fit. Once per base model in this
        session: the scoreboard, shift and conformal studies evaluate the same models (a
        forward pass over 55,000 images, a covariance, an eigendecomposition)."""
        model = self.model(BASE)
        key = (id(model), len(self.train_images))
        fits = session.part("uncertainty/training-fits", dict)
        if key not in fits:
            while len(fits) >= MAX_TRAINING:
                fits.pop(next(iter(fits)))
            features = penultimate_features(model, {" train": self.train_images})[" train"]
            # The model is kept with its entry, so its id cannot be reused by another model.
            fits[key] = {" model": model, " data": (features, self.train_labels)}
        entry = fits[key]
        if name not in entry:
            entry[name] = fit(*entry[" data"])
        return entry[name]

    def tuning_features(self) -> dict:
        """The base model's features on the tuning sets (tuning.py: held-out images in, the
        generated validation OOD images out)."""

        def compute():
            sets = tuning.tuning_sets(self.validation[0], self.seed)
            return {"images": sets, "features": penultimate_features(self.model(BASE), sets)}

        return self.once("tuning", compute, shared=True)

    def tuned(self, name: str, search, default):
        """search() -> tuning.best's record, once per base model and held-out split in this
        session; its 'value' is returned (default when there is nothing held out)."""
        if not tuning.enough(self.tuning_features()["images"]):
            return default
        return tuning.remembered(self.model(BASE), self.held_out_print(), name, search)["value"]

    def tuned_values(self) -> dict:
        """{name: tuning.best's record} of everything tuned for this base model and split."""
        return tuning.records(self.model(BASE), self.held_out_print())

    def adopt_tuned(self, records: dict) -> None:
        """What a Ray job tuned for this replicate's base model, as if tuned here."""
        for name, found in records.items():
            tuning.keep(self.model(BASE), self.held_out_print(), name, found)

    def held_out_print(self) -> str:
        return self.once("fit data", lambda: fingerprint(self.validation[0]), shared=True)

    def _members(self, name: str, run) -> dict:
        """An implicit or explicit ensemble over every set stacked together (one compiled
        shape), streamed into a MemberSummary, split back per set."""
        names, stacked = list(self.sets), np.concatenate(list(self.sets.values()))
        bounds = np.cumsum([len(v) for v in self.sets.values()])[:-1]
        with progress.task(f"{self.label}: {name}", self.members) as bar:
            summary = run(stacked, bar)
        return dict(zip(names, summary.split(bounds), strict=True))

    def _run_options(self, n_images: int, bar) -> dict:
        options = {"memory_budget": self.memory_budget, "seed": self.seed, "progress_task": bar}
        return {**options, "sink": MemberSummary(self.members, n_images)}

    def _on_ray(self, role: str, stacked, bar, **kind) -> MemberSummary:
        """A role's K members (or passes) in parts, on the cluster's workers."""
        return members_on_ray(
            self.models[role].spec.model,
            self.model(role),
            stacked,
            members=self.members,
            seed=self.seed,
            address=self.ray_address,
            progress_task=bar,
            memory_budget=self.memory_budget,
            **kind,
        )

    def weight_dropout(self, p: float) -> dict:
        """{set: MemberSummary} of K copies of the base model with a fraction p of weights zeroed."""

        def run(stacked, bar):
            if self.executor == "ray":
                return self._on_ray(BASE, stacked, bar, p=p)
            return ensemble_logits(
                self.model(BASE),
                stacked,
                p=p,
                members=self.members,
                **self._run_options(len(stacked), bar),
            )

        return self.once(
            ("weight dropout", p), lambda: self._members(f"weight dropout p={p:g}", run)
        )

    def mc_dropout(self) -> dict:
        def run(stacked, bar):
            if self.executor == "ray":
                return self._on_ray(MC_DROPOUT, stacked, bar, p=0.0, mc_dropout=True)
            return mc_dropout_logits(
                self.model(MC_DROPOUT),
                stacked,
                passes=self.members,
                **self._run_options(len(stacked), bar),
            )

        return self.once("mc dropout", lambda: self._members("MC dropout passes", run))

    def deep_ensemble(self) -> dict:
        members = self.model(ENSEMBLE)

        def summaries():
            return {
                k: MemberSummary.from_logits(np.stack([predict_logits(m, v) for m in members]))
                for k, v in self.sets.items()
            }

        return self.once("deep ensemble", summaries)

    # -- outputs, computed once -------------------------------------------------------------
    def view(self, names: tuple[str, ...]) -> Evaluation:
        """This evaluation on some of its sets: the fits are shared, the outputs are not."""
        if names == tuple(self.sets):
            return self
        if ("view", names) not in self._memo:
            view = copy.copy(self)
            view.sets, view._memo = {k: self.sets[k] for k in names}, {}
            self._memo[("view", names)] = view
        return self._memo[("view", names)]

    def outputs(self, methods: list[Method]) -> list[MethodOutput]:
        """Every method's outputs on every set, taken from the session's store where it has
        them (method_outputs.py)."""
        return method_outputs(self, methods)
