"""Data files verified once per version, not on every call.

Hashing a file means reading all of it (the training images: 47 MB after gunzip). Once a
file's SHA-256 has matched the published one, a stamp records the file's identity: device,
inode, size, mtime and ctime. A later process that finds all unchanged trusts the file
without hashing it again (a cache hit, which loads no data). The ctime is what a copy cannot
forge: os.utime can restore an mtime, but any rename, copy or write sets the ctime to now, so a
swapped, edited or replaced file goes through the full check. Loading the data always hashes
it anyway (idx.py). A missing, unreadable or damaged stamp is a file not yet verified.

Stamps live in $MNISTLAB_CACHE_DIR/verified (else the per-user cache), never beside the
data, which may be read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnistlab"


_ROOT: list[Path] = []  # the cache chosen for this process (--cache-dir), if any


def use_cache_root(root: Path) -> None:
    """Keep stamps in this cache folder (--cache-dir), like the models."""
    _ROOT[:] = [Path(root)]


def _stamp_path(path: Path) -> Path:
    root = _ROOT[0] if _ROOT else Path(os.environ.get("MNISTLAB_CACHE_DIR") or default_cache_root())
    name = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:20]
    return root.expanduser() / "verified" / f"{name}.json"


def _version(path: Path, sha256: str) -> dict:
    stat = Path(path).stat()
    return {
        "path": str(Path(path).resolve()),
        "device": stat.st_dev,
        "inode": stat.st_ino,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "sha256": sha256,
    }


def is_stamped(path: Path, sha256: str) -> bool:
    """True when this very file (device, inode, size, mtime, ctime) was verified against sha256."""
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return stamp == _version(path, sha256)
    except (OSError, ValueError):
        return False


def stamp(path: Path, sha256: str) -> None:
    """Record that the file, as it is now, matched sha256. Best effort: a cache folder that
    cannot be written only means the next process hashes the file again."""
    from mnistlab.runs import write_json

    with contextlib.suppress(OSError):
        write_json(_stamp_path(path), _version(path, sha256))
