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
# The largest file of either data set (60,000 images of 28 x 28 and a 16-byte header): a header
# that promises more is refused before anything is decompressed (a gzip "bomb").
MAX_IDX_BYTES = 60_000 * 28 * 28 + 16


def read_bytes(path: Path, *, limit: int = MAX_IDX_BYTES) -> bytes:
    """The decompressed bytes of an IDX file, gzip or plain, read header first: no more than
    the header promises (plus one byte, to tell a longer file), and never more than `limit`."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
            head = stream.read(4)
            magic = struct.unpack(">I", head)[0] if len(head) == 4 else None
            if magic not in IDX_MAGIC.values():
                return head + stream.read(8)  # enough for parse_idx to name the problem
            head += stream.read(4 * (magic & 0xFF))
            if len(head) < 4 + 4 * (magic & 0xFF):
                return head
            promised = len(head) + math.prod(struct.unpack(f">{magic & 0xFF}I", head[4:]))
            if promised > limit:
                raise DataError(
                    f"{path}: its IDX header promises {promised:,} bytes, more than any MNIST "
                    f"file ({limit:,}); it is not a data file: delete it and run 'mnistlab data --download'"
                )
            return head + stream.read(promised - len(head) + 1)
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
def verified_array_cached(path: str, identity: tuple, sha256: str) -> np.ndarray:
    """The file's array, read once per process and file version (identity: file_identity)."""
    data = read_bytes(Path(path))
    # The header first: a wrong magic number or a short file is named as what it is, not
    # reported as a hash mismatch. The hash then catches any change to the pixels or labels.
    array = parse_idx(data, name=path)
    # Always hashed when read (the bytes are in memory: cheap beside loading them), so a
    # model never trains on data other than its key says, whatever a stamp claims.
    _check_hash(data, path, sha256)
    stamp(Path(path), sha256)
    array.flags.writeable = False
    return array


def verified_array(path: Path, sha256: str) -> np.ndarray:
    return verified_array_cached(str(path), file_identity(path), sha256)


def file_identity(path: Path) -> tuple:
    """What changes when a file is replaced, edited or swapped, even with its mtime restored."""
    stat = Path(path).stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def verify_file(path: Path, sha256: str) -> None:
    """Raise DataError unless the file is the published one; reads it only when this version
    of it has not been verified before (see stamps.py)."""
    if not is_stamped(path, sha256):
        verified_array(path, sha256)  # hashed and stamped when read (or read earlier here:
        if not is_stamped(path, sha256):  # then stamped where this run's cache is)
            stamp(path, sha256)
