"""Data files verified once per version, not on every call.

Hashing a file means reading all of it (the training images: 47 MB after gunzip). Once a
file's SHA-256 has matched the published one, a stamp records the file's size and mtime;
a later process that finds both unchanged trusts the file without hashing it again. A
change to either (a replaced, touched or truncated file) sends it through the full check.
A missing, unreadable or damaged stamp is simply a file not yet verified.

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


def _stamp_path(path: Path) -> Path:
    root = Path(os.environ.get("MNISTLAB_CACHE_DIR") or default_cache_root())
    name = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:20]
    return root.expanduser() / "verified" / f"{name}.json"


def _version(path: Path, sha256: str) -> dict:
    stat = Path(path).stat()
    return {
        "path": str(Path(path).resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": sha256,
    }


def is_stamped(path: Path, sha256: str) -> bool:
    """True when this very version of the file (size, mtime) was verified against sha256."""
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
