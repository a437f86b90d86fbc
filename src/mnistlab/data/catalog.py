"""What the two data sets are: file names, published SHA-256 sums, mirrors, class names.

Pure facts, no I/O: the configuration layer validates dataset names against DATASETS."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mnistlab.errors import ConfigError

# (split, kind) -> file name stem; the stored file is STEM.gz or plain STEM.
FILE_STEMS = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}


def idx_size(stem: str) -> int:
    """The decompressed size of a data file, in bytes: its header and its uint8 payload."""
    (split, kind) = next(key for key, s in FILE_STEMS.items() if s == stem)
    n = SPLIT_SIZES[split]
    return 16 + n * 28 * 28 if kind == "images" else 8 + n


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    sha256: dict[str, str]  # file stem -> SHA-256 of the decompressed IDX bytes
    mirrors: tuple[str, ...]  # base URLs holding STEM.gz
    class_names: tuple[str, ...]


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        # The mirrors torchvision and TensorFlow Datasets download from.
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
}


def info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def other(name: str) -> str:
    """The other data set: the out-of-domain partner of `name`."""
    return "fashion-mnist" if name == "mnist" else "mnist"


def data_checksum(dataset: str) -> str:
    """One digest for a data set: the hash of its four published file hashes."""
    sums = info(dataset).sha256
    return hashlib.sha256("".join(sums[s] for s in sorted(sums)).encode()).hexdigest()[:16]


def file_checksums(dataset: str) -> dict[str, str]:
    return dict(info(dataset).sha256)
