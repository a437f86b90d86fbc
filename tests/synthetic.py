"""Tiny synthetic IDX data sets: learnable (each class lights its own patch) and fast."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np

from mnistlab.data.catalog import DATASETS, FILE_STEMS


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x00000800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def make_images(labels: np.ndarray, rng: np.random.Generator, *, variant: int = 0) -> np.ndarray:
    """Noise plus a bright 7x7 patch whose position encodes the label (variant shifts the layout)."""
    images = rng.integers(0, 60, size=(len(labels), 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        k = (int(label) + 3 * variant) % 10
        row, col = 2 + (k // 5) * 12, 1 + (k % 5) * 5
        images[i, row : row + 7, col : col + 5] = 220
    return images


def write_dataset(
    root: Path,
    name: str,
    *,
    n_train: int = 600,
    n_test: int = 200,
    seed: int = 0,
    compress: bool = True,
) -> dict[str, str]:
    """Write the four IDX files of a fake `name` under root/name; return their SHA-256 sums."""
    rng = np.random.default_rng(seed)
    variant = 0 if name == "mnist" else 1
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        for kind, array in (
            ("images", make_images(labels, rng, variant=variant)),
            ("labels", labels),
        ):
            stem = FILE_STEMS[(split, kind)]
            raw = idx_bytes(array)
            sums[stem] = hashlib.sha256(raw).hexdigest()
            if compress:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / stem).write_bytes(raw)
    return sums


def patch_checksums(monkeypatch, name: str, sums: dict[str, str]) -> None:
    """Make mnistlab expect the synthetic files' checksums (verification still runs)."""
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], sha256=sums))
