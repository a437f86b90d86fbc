"""Download a missing IDX file from the public mirrors, verify it, move it into place atomically.

MNISTLAB_MIRRORS (comma-separated base URLs) replaces the public mirrors, for a local mirror
or one reachable through a proxy: it must hold <base>/<dataset>/<stem>.gz, the layout of a
data directory (so a copy of one, served over HTTP, is a mirror).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from mnistlab import progress
from mnistlab.data.catalog import idx_size, info
from mnistlab.data.idx import parse_idx, read_bytes
from mnistlab.errors import DataError
from mnistlab.runs import atomic_path, check_writable, clean_temporaries

RETRIES_PER_MIRROR = 2  # a mirror that fails twice is skipped: the next one is tried
TIMEOUT_SECONDS = 20  # for connecting and for each read
CHUNK = 1 << 16
# Progress, not only connection: a mirror that sends less than this in a window is dropped
# (one that sent a byte every 5 seconds never timed out).
STALL_SECONDS, STALL_BYTES = 30.0, 16 << 10
# A gzip file is never much larger than what it holds: more than this is not the file.
GZIP_SLACK = 1 << 20


class _TooSlow(OSError):
    pass


def _fetch(url: str, destination: Path, description: str, limit: int) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "mnistlab"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > limit:
            raise _BadContent(f"{total:,} bytes offered, more than the file can be ({limit:,})")
        received, window_start, window_bytes = 0, time.monotonic(), 0
        with open(destination, "wb") as out, progress.task(description, total) as bar:
            while chunk := response.read1(CHUNK):  # what has arrived, not a full CHUNK
                out.write(chunk)
                bar.advance(len(chunk))
                received += len(chunk)
                window_bytes += len(chunk)
                if received > limit:
                    raise _BadContent(f"more than {limit:,} bytes sent: not the file")
                if time.monotonic() - window_start > STALL_SECONDS:
                    if window_bytes < STALL_BYTES:
                        raise _TooSlow(f"stalled: {window_bytes} bytes in {STALL_SECONDS:.0f} s")
                    window_start, window_bytes = time.monotonic(), 0


def mirrors_for(dataset: str) -> tuple[str, ...]:
    """Base URLs holding <stem>.gz of `dataset`: MNISTLAB_MIRRORS if set, else the public ones."""
    configured = [m.strip() for m in os.environ.get("MNISTLAB_MIRRORS", "").split(",")]
    if any(configured):
        return tuple(f"{m.rstrip('/')}/{dataset}/" for m in configured if m)
    return info(dataset).mirrors


def download_file(
    dataset: str, stem: str, data_dir: Path, *, mirrors=None, retry_delay: float = 0.5
) -> Path:
    """Fetch STEM.gz into DATA_DIR/DATASET/, trying each mirror twice; verify the SHA-256."""
    meta = info(dataset)
    mirrors = tuple(mirrors or mirrors_for(dataset))
    target = Path(data_dir) / dataset / f"{stem}.gz"
    # A folder that cannot take the file is the user's to fix, not a mirror's failure.
    check_writable(target.parent, "the data folder (--data-dir or MNISTLAB_DATA_DIR)")
    clean_temporaries(target.parent)  # halves of downloads killed earlier
    limit = idx_size(stem) + GZIP_SLACK
    failures: dict[str, str] = {}  # mirror -> its last error
    for base in mirrors:
        url = base.rstrip("/") + f"/{stem}.gz"
        for attempt in range(1, RETRIES_PER_MIRROR + 1):
            try:
                with atomic_path(target) as tmp:
                    _fetch(url, tmp, f"download {dataset}/{stem}.gz", limit)
                    data = read_bytes(tmp)
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != meta.sha256[stem]:
                        # A wrong file will not get better on retry: go to the next mirror.
                        raise _BadContent(f"SHA-256 mismatch ({digest[:12]}...)")
                    parse_idx(data, name=url)
                progress.say(f"downloaded {url} -> {target}")
                return target
            except (_BadContent, _TooSlow, DataError) as exc:  # no better on retry
                failures[base] = str(exc)[:80]
                break
            except (OSError, http.client.HTTPException, ValueError) as exc:
                # URLError and timeouts are OSErrors; a server that does not speak HTTP
                # raises HTTPException; a malformed mirror URL, ValueError: next mirror
                failures[base] = _reason(exc)
                if isinstance(exc, urllib.error.HTTPError) and exc.code == 404:
                    break
                if attempt < RETRIES_PER_MIRROR:
                    time.sleep(retry_delay * attempt)
    host, reason = next(reversed(failures.items()), ("", "no mirror given"))
    raise DataError(
        f"could not download {dataset}/{stem}.gz from {len(mirrors)} mirror(s) (last, "
        f"{urllib.parse.urlsplit(host).netloc}: {reason}); put the file in {target.parent}, "
        "or set MNISTLAB_DATA_DIR or MNISTLAB_MIRRORS"
    )


def _reason(exc: Exception) -> str:
    """Why a request failed, in a few words."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason = getattr(exc, "reason", exc)
    return (getattr(reason, "strerror", None) or str(reason))[:80]


class _BadContent(Exception):
    pass
