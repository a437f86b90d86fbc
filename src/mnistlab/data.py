"""Read and verify the IDX files; download missing ones. Returns float32 images in [0, 1].

Where the data lives: --data-dir, else $MNISTLAB_DATA_DIR, else a per-user cache directory.
Layout: DATA_DIR/<dataset>/<stem>.gz (or plain <stem>), as the original downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mnistlab.datasets import FILE_STEMS, info
from mnistlab.errors import DataError

IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels / 3-D images


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnistlab"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("MNISTLAB_DATA_DIR"):
        return Path(os.environ["MNISTLAB_DATA_DIR"]).expanduser()
    return default_cache_root() / "data"


def find_file(data_dir: Path, dataset: str, stem: str) -> Path | None:
    for candidate in (data_dir / dataset / f"{stem}.gz", data_dir / dataset / stem):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The decompressed bytes of an IDX file, gzip or plain."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: cannot be read or decompressed ({exc}); delete it and run 'mnistlab data --download'"
        ) from None


def parse_idx(data: bytes, *, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes (magic, dimensions, payload) into a uint8 array, checking the header."""
    if len(data) < 8:
        raise DataError(
            f"{name}: too short to be an IDX file; delete it and run 'mnistlab data --download'"
        )
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    if magic not in IDX_MAGIC.values():
        raise DataError(
            f"{name}: wrong IDX magic number 0x{magic:08x} (expected 0x00000801 or 0x00000803); "
            "the file is not an MNIST-style IDX file: replace it or run 'mnistlab data --download'"
        )
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(
            f"{name}: IDX header promises {expected} bytes for shape {dims} but the file has {len(data)}; "
            "it is truncated or corrupt: delete it and run 'mnistlab data --download'"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


@dataclass(frozen=True)
class FileStatus:
    dataset: str
    stem: str
    path: Path | None
    state: str  # ok | missing | corrupt
    detail: str = ""


def check_file(data_dir: Path, dataset: str, stem: str) -> FileStatus:
    path = find_file(data_dir, dataset, stem)
    if path is None:
        return FileStatus(dataset, stem, None, "missing", f"not found in {data_dir / dataset}")
    try:
        _verified_array(path, info(dataset).sha256[stem])
    except DataError as exc:
        return FileStatus(dataset, stem, path, "corrupt", str(exc))
    return FileStatus(dataset, stem, path, "ok")


@lru_cache(maxsize=16)
def _verified_array_cached(path: str, mtime_ns: int, size: int, sha256: str) -> np.ndarray:
    data = read_bytes(Path(path))
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DataError(
            f"{path}: SHA-256 {digest[:12]}... does not match the published {sha256[:12]}...; "
            "the file is corrupt or not the original: delete it and run 'mnistlab data --download'"
        )
    array = parse_idx(data, name=path)
    array.flags.writeable = False
    return array


def _verified_array(path: Path, sha256: str) -> np.ndarray:
    stat = path.stat()
    return _verified_array_cached(str(path), stat.st_mtime_ns, stat.st_size, sha256)


def ensure_file(data_dir: Path, dataset: str, stem: str, *, download: bool = True) -> Path:
    path = find_file(data_dir, dataset, stem)
    if path is not None:
        return path
    if not download:
        raise DataError(
            f"{data_dir / dataset / (stem + '.gz')} is missing: run 'mnistlab data --download' "
            "or point --data-dir / MNISTLAB_DATA_DIR at a folder that holds it"
        )
    from mnistlab.download import download_file

    return download_file(dataset, stem, data_dir)


def load_split(
    dataset: str, split: str, data_dir=None, *, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 (N, 28, 28) scaled to [0, 1] and labels as int32 (N,), verified.

    The arrays are shared between callers (read-only): studies ask for the same split often.
    """
    meta = info(dataset)
    root = resolve_data_dir(data_dir)
    paths = {}
    for kind in ("images", "labels"):
        stem = FILE_STEMS[(split, kind)]
        path = ensure_file(root, dataset, stem, download=download)
        paths[kind] = (str(path), path.stat().st_mtime_ns, path.stat().st_size, meta.sha256[stem])
    return _scaled_split(paths["images"], paths["labels"], f"{root / dataset}: {split}")


@lru_cache(maxsize=8)
def _scaled_split(images_key: tuple, labels_key: tuple, name: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _verified_array_cached(*images_key), _verified_array_cached(*labels_key)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{name} images {images.shape} and labels {labels.shape} do not match; "
            "replace the files or run 'mnistlab data --download'"
        )
    scaled, labels = images.astype(np.float32) / 255.0, labels.astype(np.int32)
    scaled.flags.writeable = False
    labels.flags.writeable = False
    return scaled, labels


def data_checksum(dataset: str) -> str:
    """One digest for a data set: the hash of its four published file hashes."""
    sums = info(dataset).sha256
    return hashlib.sha256("".join(sums[s] for s in sorted(sums)).encode()).hexdigest()[:16]


def file_checksums(dataset: str) -> dict[str, str]:
    return dict(info(dataset).sha256)
