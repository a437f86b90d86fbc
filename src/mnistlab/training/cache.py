"""The trained-model cache: one folder per (spec, seed, data checksum), written atomically.

A damaged entry (unreadable model or meta) is reported and retrained, never fatal.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mnistlab import progress, session
from mnistlab.config import RunSpec
from mnistlab.data import data_checksum, default_cache_root
from mnistlab.errors import UserError
from mnistlab.runs import (
    atomic_path,
    clean_temporaries,
    current_umask,
    environment,
    read_json,
    temporary_prefix,
    to_jsonable,
    write_json,
)


@dataclass
class TrainedModel:
    """A trained model and what its training recorded. `stored` is the keras.Model, or for a
    model found in the cache a StoredModel that reads it on first use of .model: a study that
    needs only the recorded numbers (the tutorial, the variants) never imports Keras."""

    spec: RunSpec
    stored: object  # keras.Model, or StoredModel
    meta: dict = field(default_factory=dict)  # accuracies, history, timings, provenance
    path: Path | None = None  # cache folder
    from_cache: bool = False

    @property
    def model(self):
        """The keras.Model (the same object for every copy of this record)."""
        return self.stored.read() if isinstance(self.stored, StoredModel) else self.stored

    def weights(self) -> list[np.ndarray]:
        """Every weight as a NumPy array, in Keras' get_weights order: a cached model's from
        its entry's weights.npz, without Keras (models/numpy_forward.py predicts with them)."""
        if isinstance(self.stored, StoredModel):
            return self.stored.weights()
        return [np.asarray(w) for w in self.stored.get_weights()]


class StoredModel:
    """A cache entry's model file, verified by its SHA-256 when found, read by Keras once;
    and its weights as arrays (weights.npz beside it, checked against the weights' SHA-256
    that training recorded), read with NumPy alone."""

    def __init__(self, path: Path, sha256: str, weights_sha256: str | None = None):
        self.path, self.sha256, self._model = path, sha256, None
        self.weights_sha256, self._weights = weights_sha256, None

    def weights(self) -> list[np.ndarray]:
        if self._weights is None:
            self._weights = self._saved_weights()
        if self._weights is None:  # an entry from before weights.npz, or a damaged one
            self._weights = [np.asarray(w) for w in self.read().get_weights()]
            if arrays_sha256(self._weights) == self.weights_sha256:
                with contextlib.suppress(OSError):  # read-only: read by Keras each time
                    write_weights(self.path.with_name(WEIGHTS_FILE), self._weights)
        return self._weights

    def _saved_weights(self) -> list[np.ndarray] | None:
        try:
            with np.load(self.path.with_name(WEIGHTS_FILE), allow_pickle=False) as saved:
                arrays = [saved[f"w{i}"] for i in range(len(saved.files))]
        except Exception:  # missing, truncated, not an npz: the model file has them too
            return None
        return arrays if arrays_sha256(arrays) == self.weights_sha256 else None

    def read(self):
        if self._model is None:
            import keras

            import mnistlab.models.layers  # noqa: F401  (registers the layers files name)

            if file_sha256(self.path) != self.sha256:  # replaced since it was found
                raise UserError(
                    f"the cached model {self.path} changed while this run used it; run again"
                )
            self._model = keras.saving.load_model(self.path, compile=False)
        return self._model


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve_cache_dir(cache_dir=None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("MNISTLAB_CACHE_DIR"):
        return Path(os.environ["MNISTLAB_CACHE_DIR"]).expanduser()
    return default_cache_root()


def cache_folder(spec: RunSpec, cache_dir=None) -> Path:
    return resolve_cache_dir(cache_dir) / "models" / spec.cache_key(data_checksum(spec.dataset))


def is_cached(spec: RunSpec, *, cache_dir=None) -> bool:
    """Whether a trained model for `spec` is in the cache (without loading or verifying anything)."""
    return (cache_folder(spec, cache_dir) / "meta.json").is_file()


def weights_sha256(model) -> str:
    """A checksum of every weight of a model, in layer order."""
    return arrays_sha256(model.get_weights())


def arrays_sha256(arrays) -> str:
    digest = hashlib.sha256()
    for weights in arrays:
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


WEIGHTS_FILE = "weights.npz"  # the model's weights as arrays: w0, w1, ... in get_weights order


def write_weights(path: Path, arrays) -> None:
    """The arrays as an .npz, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **{f"w{i}": np.asarray(a) for i, a in enumerate(arrays)})


# Models read in this session, by cache folder, with the stamp of their files when read. A
# report asks for the same model in several studies (the scoreboard and the shift study share
# 36): each is read and verified once. A file that changed since is read and verified again.
MAX_LOADED = 256


def _loaded() -> dict[Path, tuple[tuple, TrainedModel]]:
    return session.part("training/loaded-models", dict)


def _stamp(folder: Path) -> tuple | None:
    try:
        return tuple(
            (p.stat().st_size, p.stat().st_mtime_ns)
            for p in (folder / "meta.json", folder / "model.keras")
        )
    except OSError:
        return None


def remember(trained: TrainedModel) -> TrainedModel:
    """Keep a model just read or stored for the next load() of its folder in this process."""
    stamp = _stamp(trained.path)
    if stamp is not None:
        loaded = _loaded()
        loaded.pop(trained.path, None)
        loaded[trained.path] = (stamp, trained)
        while len(loaded) > MAX_LOADED:
            loaded.pop(next(iter(loaded)))  # the oldest
    return trained


def load(spec: RunSpec, folder: Path) -> TrainedModel | None:
    """The cached model of `spec`, or None (after one line saying why) if the entry is missing,
    damaged, made for another spec, or its weights are not the ones it recorded. An entry
    whose model file has the SHA-256 its meta recorded is returned without reading the model
    (StoredModel reads it when it is used); an older entry is read and its weights checked,
    and its file's SHA-256 recorded for the next time."""
    if not (folder / "meta.json").is_file():
        return None
    seen = _loaded().get(folder)
    if seen is not None and seen[0] == _stamp(folder) and seen[1].spec == spec:
        return replace(seen[1], from_cache=True)
    model_file = folder / "model.keras"
    try:
        meta = read_json(folder / "meta.json")
        actual = file_sha256(model_file)
        ours = isinstance(meta, dict) and meta.get("config") == to_jsonable(spec.identity())
        if ours and meta.get("file_sha256") == actual:
            stored = StoredModel(model_file, actual, meta.get("weights_sha256"))
            return remember(TrainedModel(spec, stored, meta, folder, from_cache=True))
        import keras

        import mnistlab.models.layers  # noqa: F401  (registers the layers model files name)

        model = keras.saving.load_model(model_file, compile=False)
    except Exception as exc:  # a damaged cache entry is retrained, not fatal
        progress.say(f"cache entry {folder} cannot be read ({type(exc).__name__}); retraining")
        return None
    if not isinstance(meta, dict) or meta.get("config") != to_jsonable(spec.identity()):
        problem = "was made for another model or seed"
    elif meta.get("weights_sha256") != weights_sha256(model):
        problem = "holds weights other than the ones it recorded (replaced or damaged)"
    else:
        if meta.get("file_sha256") != actual:  # an entry from before file checksums
            meta = {**meta, "file_sha256": actual}
            with contextlib.suppress(OSError):  # read-only: checked the old way each time
                write_weights(folder / WEIGHTS_FILE, model.get_weights())
                write_json(folder / "meta.json", meta)
        return remember(TrainedModel(spec, model, meta, folder, from_cache=True))
    progress.say(f"cache entry {folder} {problem}; retraining")
    return None


def store(folder: Path, model, meta: dict) -> None:
    """Write model + meta into a temporary folder, then rename it into place (atomic)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_temporaries(folder.parent)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(folder.name), dir=folder.parent))
    weights = model.get_weights()
    meta["weights_sha256"] = arrays_sha256(weights)  # checked on every load
    try:
        model.save(tmp / "model.keras")
        write_weights(tmp / WEIGHTS_FILE, weights)  # read without Keras (StoredModel.weights)
        meta["file_sha256"] = file_sha256(tmp / "model.keras")  # found by it, unread
        write_json(tmp / "meta.json", meta)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's folder is private (0700)
        _put_in_place(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _put_in_place(tmp: Path, folder: Path, attempts: int = 20) -> None:
    """Rename the finished entry onto `folder`, replacing what is there: an older entry, or
    one another process stored a moment ago (two runs training the same spec). A rename onto
    a non-empty folder fails, and removing it first raced with the other process (21 of 300
    concurrent saves failed): the old entry is renamed aside, atomically, then removed."""
    for _ in range(attempts):
        try:
            os.replace(tmp, folder)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        aside = Path(tempfile.mkdtemp(prefix=temporary_prefix(folder.name), dir=folder.parent))
        try:
            os.replace(folder, aside)  # onto an empty folder of ours: allowed
        except FileNotFoundError:
            pass  # the other process moved it first: try again
        finally:
            shutil.rmtree(aside, ignore_errors=True)
    raise OSError(errno.EBUSY, "another process keeps replacing this cache entry", str(folder))


def export(trained: TrainedModel, folder: Path) -> Path:
    """Copy a cached model and its results (with provenance) into `folder`, each file atomically."""
    clean_temporaries(Path(folder))
    target = Path(folder) / "model.keras"
    with atomic_path(target) as tmp:
        try:
            shutil.copyfile(trained.path / "model.keras", tmp)
        except OSError as exc:  # name the file that could not be written, not the source
            raise OSError(exc.errno, exc.strerror, str(target)) from None
    results = {**trained.meta, "environment": environment(), "cache": str(trained.path)}
    write_json(Path(folder) / "results.json", results)
    return Path(folder)
