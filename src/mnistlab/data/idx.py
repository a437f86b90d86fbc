"""IDX files: read (gzip or plain), parse with header checks, verify the published SHA-256."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from mnistlab.data.stamps import is_stamped, stamp
from mnistlab.errors import DataError

IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1-D labels / 3-D images


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
    if len(data) < header:
        raise DataError(
            f"{name}: the IDX header needs {header} bytes for {ndim} dimensions but the file has "
            f"{len(data)}; it is truncated: delete it and run 'mnistlab data --download'"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + math.prod(dims)  # Python integers: huge dimensions cannot overflow
    if len(data) != expected:
        raise DataError(
            f"{name}: IDX header promises {expected} bytes for shape {dims} but the file has {len(data)}; "
            "it is truncated or corrupt: delete it and run 'mnistlab data --download'"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _check_hash(data: bytes, path, sha256: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DataError(
            f"{path}: SHA-256 {digest[:12]}... does not match the published {sha256[:12]}...; "
            "the file is corrupt or not the original: delete it and run 'mnistlab data --download'"
        )


@lru_cache(maxsize=16)
def verified_array_cached(path: str, mtime_ns: int, size: int, sha256: str) -> np.ndarray:
    """The file's array, read once per process and file version (the arguments are the key)."""
    data = read_bytes(Path(path))
    # The header first: a wrong magic number or a short file is named as what it is, not
    # reported as a hash mismatch. The hash then catches any change to the pixels or labels.
    array = parse_idx(data, name=path)
    if not is_stamped(Path(path), sha256):  # this version not verified before: hash it
        _check_hash(data, path, sha256)
        stamp(Path(path), sha256)
    array.flags.writeable = False
    return array


def verified_array(path: Path, sha256: str) -> np.ndarray:
    stat = path.stat()
    return verified_array_cached(str(path), stat.st_mtime_ns, stat.st_size, sha256)


def verify_file(path: Path, sha256: str) -> None:
    """Raise DataError unless the file is the published one; reads it only when this version
    of it has not been verified before (see stamps.py)."""
    if not is_stamped(path, sha256):
        verified_array(path, sha256)
